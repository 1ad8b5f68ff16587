"""Sweep designs and analysis against known answers.

The Ishigami function's Sobol' indices are known analytically (Ishigami & Homma 1990;
Sobol' & Levitan 1999); a linear function's Morris effects are its coefficients; a box-shaped
condition is the box PRIM must find. Each case runs through the sweep's own design, executor,
store and analysis, so a mistake in any of them (say, outcomes matched to the wrong points)
fails a test.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from SALib.test_functions import Ishigami

from sim.experiments.sweep import analyse, design
from sim.experiments.sweep.spec import BoundParameter, LogUniform, Triangular, TruncNormal, Uniform
from sim.experiments.sweep.store import SweepStore, parquet_bytes
from sim.runs.execute import FunctionTask, execute


def uniform(name: str, low: float, high: float, levels: int | None = None) -> BoundParameter:
    return BoundParameter(
        name, (name,), Uniform(kind="uniform", low=low, high=high), levels, (None,)
    )


def ishigami_indices(a: float = 7.0, b: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Analytical first-order and total Sobol' indices of the Ishigami function."""
    pi4, pi8 = math.pi**4, math.pi**8
    v1 = 0.5 * (1 + b * pi4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v


def linear(x: np.ndarray) -> np.ndarray:
    """10 x1 + x2 + 0 x3: Morris effects 10, 1, 0 with no spread."""
    return 10 * x[:, 0] + x[:, 1]


def run_through_store(
    tmp_path: Path, params: list[BoundParameter], x: np.ndarray, func, workers: int
) -> pd.DataFrame:
    """Run a known function over a design through the executor and the store; read it back."""
    cols = {"point": pa.array(np.arange(len(x)), pa.int64())}
    for j, p in enumerate(params):
        cols[p.name] = pa.array(x[:, j])
    store = SweepStore.create(tmp_path / "sweep", {"design.parquet": parquet_bytes(pa.table(cols))})
    execute(
        FunctionTask(func, "y"),
        np.arange(len(x)),
        x,
        np.zeros(len(x), np.uint64),
        workers=workers,
        on_done=store.write_chunk,
    )
    out = store.read_outcomes()
    assert out["point"].tolist() == list(range(len(x)))  # every point once, in design order
    return out


def test_analytical_ishigami_indices_are_the_published_values():
    s1, st = ishigami_indices()
    assert s1 == pytest.approx([0.3139, 0.4424, 0.0], abs=1e-4)
    assert st == pytest.approx([0.5576, 0.4424, 0.2437], abs=1e-4)


def test_sobol_pipeline_recovers_ishigami_indices(tmp_path: Path):
    params = [uniform(n, -math.pi, math.pi) for n in ("x1", "x2", "x3")]
    x = design.sample("sobol", params, 1024, seed=11)
    assert x.shape == (1024 * 5, 3)
    out = run_through_store(tmp_path, params, x, Ishigami.evaluate, workers=2)
    table = analyse.sobol(
        design.problem(params), {"y": out["y"].to_numpy()}, seed=design.analysis_seed(11)
    )
    s1, st = ishigami_indices()
    assert table["S1"].to_numpy() == pytest.approx(s1, abs=0.03)
    assert table["ST"].to_numpy() == pytest.approx(st, abs=0.03)
    # the intervals are honest: each covers the true value
    assert np.all(np.abs(table["S1"] - s1) <= table["S1_conf"])
    assert np.all(np.abs(table["ST"] - st) <= table["ST_conf"])
    # and the check has teeth: outcomes matched to the wrong points give other indices
    shuffled = np.random.default_rng(0).permutation(out["y"].to_numpy())
    wrong = analyse.sobol(design.problem(params), {"y": shuffled}, seed=1)
    assert not np.allclose(wrong["S1"].to_numpy(), s1, atol=0.1)


def test_morris_pipeline_recovers_linear_effects(tmp_path: Path):
    params = [uniform(n, 0.0, 1.0) for n in ("x1", "x2", "x3")]
    x = design.sample("morris", params, 20, seed=3, morris_levels=4)
    assert x.shape == (20 * 4, 3)
    out = run_through_store(tmp_path, params, x, linear, workers=1)
    table = analyse.morris(
        design.problem(params), x, {"y": out["y"].to_numpy()}, seed=5, num_levels=4
    )
    assert table["mu_star"].to_numpy() == pytest.approx([10.0, 1.0, 0.0], abs=1e-9)
    assert table["sigma"].to_numpy() == pytest.approx([0.0, 0.0, 0.0], abs=1e-9)


def test_prim_finds_the_box_where_a_condition_holds():
    params = [uniform(n, 0.0, 1.0) for n in ("a", "b", "c")]
    x = pd.DataFrame(design.sample("lhs", params, 2000, seed=4), columns=["a", "b", "c"])
    holds = ((x["a"] > 0.6) & (x["b"] < 0.3)).to_numpy()
    found = analyse.discover(x, holds, "a > 0.6 and b < 0.3", density_target=0.8)
    box = found.box.set_index("parameter")
    assert box.loc["a", "low"] == pytest.approx(0.6, abs=0.05)
    assert box.loc["b", "high"] == pytest.approx(0.3, abs=0.05)
    assert list(box.index[box["restricted"]]) == ["a", "b"]
    assert found.stats["density"] >= 0.8 and found.stats["coverage"] > 0.9
    assert found.cases == int(holds.sum())
    assert "coverage" in analyse.format_discovery(found)


def test_prim_reports_a_condition_that_never_holds_without_a_box():
    x = pd.DataFrame({"a": np.linspace(0, 1, 50)})
    found = analyse.discover(x, np.zeros(50, bool), "never", density_target=0.8)
    assert found.chosen is None and "none of the 50 points" in analyse.format_discovery(found)


def test_constant_outcome_has_no_indices_rather_than_a_warning():
    params = [uniform(n, 0.0, 1.0) for n in ("a", "b")]
    table = analyse.sobol(design.problem(params), {"flat": np.ones(8 * 4)}, seed=1)
    assert table["ST"].isna().all()
    assert "constant" in analyse.format_sobol(table, "flat", "flat", np.ones(32))


# --------------------------------------------------------------------------- designs


def test_grid_is_the_product_of_levels_with_exact_bounds():
    params = [uniform("a", 0.2, 1.0, levels=5), uniform("b", 1.0, 3.0, levels=3)]
    x = design.sample("grid", params, 99, seed=0)
    assert x.shape == (15, 2)
    assert sorted(set(x[:, 0])) == [0.2, 0.4, 0.6000000000000001, 0.8, 1.0] or np.allclose(
        sorted(set(x[:, 0])), [0.2, 0.4, 0.6, 0.8, 1.0]
    )
    assert x[:, 0].min() == 0.2 and x[:, 0].max() == 1.0 and sorted(set(x[:, 1])) == [1.0, 2.0, 3.0]
    assert len({tuple(r) for r in x}) == 15


def test_lhs_puts_one_point_in_each_stratum():
    params = [uniform("a", 0.0, 1.0), uniform("b", 10.0, 20.0)]
    x = design.sample("lhs", params, 50, seed=2)
    assert sorted(np.floor(x[:, 0] * 50).astype(int)) == list(range(50))
    assert sorted(np.floor((x[:, 1] - 10) / 10 * 50).astype(int)) == list(range(50))


def test_distributions_stay_within_their_bounds():
    params = [
        BoundParameter(
            "t", ("t",), Triangular(kind="triangular", low=1, mode=2, high=5), None, (None,)
        ),
        BoundParameter(
            "n",
            ("n",),
            TruncNormal(kind="truncnormal", low=0, high=1, mean=0.3, sd=0.2),
            None,
            (None,),
        ),
        BoundParameter(
            "l", ("l",), LogUniform(kind="loguniform", low=0.01, high=10), None, (None,)
        ),
    ]
    for method in ("lhs", "sobol", "morris", "grid"):
        x = design.sample(method, params, 64 if method == "sobol" else 4, seed=1)
        assert np.all(x[:, 0] >= 1) and np.all(x[:, 0] <= 5)
        assert np.all(x[:, 1] >= 0) and np.all(x[:, 1] <= 1)
        assert np.all(x[:, 2] >= 0.01 - 1e-12) and np.all(x[:, 2] <= 10 + 1e-9)
    big = design.sample("lhs", params, 4000, seed=1)
    assert np.median(big[:, 2]) == pytest.approx(math.sqrt(0.01 * 10), rel=0.05)  # log-uniform
    assert np.mean(big[:, 0]) == pytest.approx((1 + 2 + 5) / 3, rel=0.02)  # triangular


def test_designs_and_seeds_depend_on_the_sweep_seed_only():
    params = [uniform("a", 0.0, 1.0), uniform("b", 0.0, 1.0)]
    assert np.array_equal(
        design.sample("sobol", params, 16, seed=5), design.sample("sobol", params, 16, seed=5)
    )
    assert not np.array_equal(
        design.sample("sobol", params, 16, seed=5), design.sample("sobol", params, 16, seed=6)
    )
    seeds = design.point_seeds(5, 100)
    assert len(set(seeds.tolist())) == 100 and np.array_equal(seeds[:10], design.point_seeds(5, 10))
    assert np.array_equal(design.point_seeds(5, 3, common=True), [5, 5, 5])
    assert design.analysis_seed(0) > 0  # SALib treats seed 0 as "no seed"


def test_point_counts_per_method():
    params = [uniform(n, 0.0, 1.0) for n in "abcd"]
    assert design.n_points("sobol", 256, params) == 256 * 6
    assert design.n_points("morris", 10, params) == 50
    assert design.n_points("lhs", 70, params) == 70
    assert design.n_points("grid", 3, params) == 81


def test_only_the_asked_outcomes_are_bootstrapped_and_the_indices_do_not_change(tmp_path: Path):
    params = [uniform(n, -math.pi, math.pi) for n in ("x1", "x2", "x3")]
    x = design.sample("sobol", params, 256, seed=5)
    y = run_through_store(tmp_path, params, x, Ishigami.evaluate, workers=1)["y"].to_numpy()
    outputs = {"reported": y, "other": y}
    problem, seed = design.problem(params), design.analysis_seed(5)
    every = analyse.sobol(problem, outputs, seed)
    asked = analyse.sobol(problem, outputs, seed, intervals=("reported",))
    for key in ("S1", "ST"):
        assert asked[key].to_numpy() == pytest.approx(every[key].to_numpy(), abs=1e-12)
        conf = asked.set_index("outcome")[f"{key}_conf"]
        assert conf.loc["reported"].notna().all() and conf.loc["reported"].gt(0).all()
        assert conf.loc["other"].isna().all()
    xm = design.sample("morris", params, 10, seed=3, morris_levels=4)
    ym = np.array([float(np.sum(row)) + row[0] * row[1] for row in xm])
    m = analyse.morris(problem, xm, {"reported": ym, "other": ym}, seed, 4, intervals=["reported"])
    conf = m.set_index("outcome")["mu_star_conf"]
    assert conf.loc["reported"].notna().all() and conf.loc["other"].isna().all()
    assert m.set_index("outcome")["mu_star"].loc["other"].to_numpy() == pytest.approx(
        m.set_index("outcome")["mu_star"].loc["reported"].to_numpy())
