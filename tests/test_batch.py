"""Many parameter sets in one engine call: the same numbers as one scenario at a time.

Every check here is exact (bit for bit): a batch evaluates the same expressions as a single
scenario, element by element over its points, so nothing is allowed to differ.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from sim.core.errors import ScenarioError, SimError
from sim.experiments.sweep import SweepRequest, run_sweep
from sim.model import engine, rng
from sim.model.params import Params, build
from sim.model.rng import NOISE_CHANNELS, draw_block, noise_stream
from sim.outputs import outcomes
from sim.runs.batch import Block, Patch, materialise, simulate_batch, with_values
from sim.scenario.facts import find_registry, load_registry
from sim.scenario.schema import Scenario, load, read_raw, validate, values

from .conftest import CASES, FLAGSHIP, ROOT, TINY, run_cli

EVERY = CASES / "every_event.yaml"
ARCHIPELAGO = ROOT / "scenarios" / "examples" / "archipelago.yaml"
HISTORY = ROOT / "scenarios" / "history" / "central_asia_1992.yaml"

# one- and two-word seeds (sweep points' seeds are 64-bit), a repeated seed, a huge one
SEEDS = np.array([0, 20251220, 2**32, 2**63 + 5, 2**64 - 1, 20251220], dtype=np.uint64)
REPS = np.array([0, 64, 3, 2**32 - 1, 1, 5])


# --------------------------------------------------------------------------- seeds


def test_block_with_a_seed_per_replicate_equals_each_pairs_own_stream():
    block = draw_block(SEEDS, REPS, 3, 2, 4)
    for i, (s, k) in enumerate(zip(SEEDS.tolist(), REPS.tolist(), strict=True)):
        rows = noise_stream(s, k).standard_normal((3, 2, NOISE_CHANNELS, 4))
        np.testing.assert_array_equal(block[i], rows)


def test_block_with_a_seed_per_replicate_falls_back_to_numpys_own_seeding(monkeypatch):
    fast = draw_block(SEEDS, REPS, 2, 2, 3)
    monkeypatch.setattr(rng, "fast_seeding_agrees", lambda: False)
    monkeypatch.setattr(rng, "pcg64_states", lambda *a: pytest.fail("fast path used"))
    np.testing.assert_array_equal(rng.draw_block(SEEDS, REPS, 2, 2, 3), fast)


def test_seeds_must_match_the_replicates():
    with pytest.raises(ValueError, match="2 seeds for 3 replicates"):
        rng.pcg64_states(np.array([1, 2], dtype=np.uint64), np.arange(3))


# --------------------------------------------------------------------------- scenarios


def wide(tmp_path: Path) -> Scenario:
    """The tiny region grown to 10 states and 9 powers weighted by GDP: sums over states and
    powers then run over more than 8 terms, where numpy's order of summation has choices."""
    raw = read_raw(TINY)
    states: dict[str, object] = {}
    powers = dict(raw["powers"])
    for j in range(2, 9):
        powers[f"P{j}"] = {**raw["powers"]["PY"], "instruments": {}}
    for i in range(10):
        st = copy.deepcopy(raw["states"]["BB" if i % 2 else "AA"])
        st["gdp_usd_bn"] = {"value": 10.0 + 3.7 * i, "why": "a made-up size for a test state"}
        st["neutral"] = i % 3 == 0
        st["ties"] = {
            p: {
                "trade_usd_bn": {
                    "value": 0.3 + 0.11 * ((i * 7 + j) % 10),
                    "why": "a made-up tie for a test",
                }
            }
            for j, p in enumerate(powers)
        }
        states[f"S{i}"] = st
    raw.update(states=states, powers=powers, region_weighting="gdp", name="wide")
    raw["peers"] = {"leader": "S0", "leader_weight": raw["peers"]["leader_weight"]}
    raw["events"] = {
        "meeting": {**raw["events"]["meeting"], "attendance": {"S1": "half", "S4": "half"}}
    }
    path = tmp_path / "wide.yaml"
    path.write_text(yaml.safe_dump(raw))
    return load(path, registry=load_registry(find_registry(TINY)))


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Scenario]:
    return {
        "tiny": load(TINY),
        "every_event": load(EVERY),
        "flagship": load(FLAGSHIP),
        "archipelago": load(ARCHIPELAGO),  # gap allocation, population weights
        "wide": wide(tmp_path_factory.mktemp("wide")),
        "history": load(HISTORY),  # 84 rounds, events naming their sources
    }


#: Scenarios whose events name facts of their registry (a batch validates against it).
REGISTRIES = {"central_asia_1992": load_registry(find_registry(HISTORY))}


def nudged(v: float, k: int) -> float:
    """A value near ``v`` that every field's range still accepts (shares stay in [0, 1])."""
    return v * (1 - 0.03 * k) + 0.01 * k


def batchable(sc: Scenario) -> list[str]:
    return [p for p, _ in values(sc) if not p.endswith(".period_years")]


def assert_same_params(got: Params, want: Params, what: str) -> None:
    for f in dataclasses.fields(want):
        a, b = getattr(got, f.name), getattr(want, f.name)
        if isinstance(b, np.ndarray):
            assert a.shape == b.shape and a.dtype == b.dtype, f"{what}: {f.name}"
            assert np.array_equal(a, b), f"{what}: {f.name} differs by {np.abs(a - b).max()}"
        else:
            assert a == b, f"{what}: {f.name}"


def points(sc: Scenario, paths: list[str], n: int = 3) -> tuple[Patch, np.ndarray]:
    base = dict(values(sc))
    patch = Patch.bind(sc, {p: p for p in paths}, registry=REGISTRIES.get(sc.name))
    x = np.array([[nudged(base[p].value, k) for p in paths] for k in range(n)])
    return patch, x


# --------------------------------------------------------------------------- params


@pytest.mark.parametrize(
    "name", ["tiny", "every_event", "flagship", "archipelago", "wide", "history"]
)
def test_every_value_varied_at_once_builds_as_each_point_alone(scenarios, name):
    sc = scenarios[name]
    patch, x = points(sc, batchable(sc))
    batch = patch.params(x)
    assert batch.points == len(x)
    for i in range(len(x)):
        assert_same_params(batch.point(i), build(patch.scenario_at(x[i])), f"{name} point {i}")


@pytest.mark.parametrize("name", ["every_event", "flagship", "wide"])
def test_each_value_varied_alone_builds_as_each_point_alone(scenarios, name):
    sc = scenarios[name]
    for path in batchable(sc):
        patch, x = points(sc, [path], 2)
        batch = patch.params(x)
        for i in range(len(x)):
            assert_same_params(batch.point(i), build(patch.scenario_at(x[i])), f"{path} {i}")


def test_a_batch_with_nothing_varied_is_the_scenario(scenarios):
    sc = scenarios["every_event"]
    patch, x = points(sc, ["dynamics.sharpness"], 1)
    assert_same_params(patch.params(x).point(0), build(sc), "one point at the base")


# --------------------------------------------------------------------------- engine


def trajectories(block: Block) -> np.ndarray:
    assert block.debt is not None and block.delivered is not None
    return np.stack([block.alignment, block.debt, block.delivered], axis=2)


def one_by_one(patch: Patch, x: np.ndarray, seeds: np.ndarray, replicates: int) -> np.ndarray:
    """The per-point path: each point's own scenario, built and run alone."""
    out = []
    for xs, seed in zip(x, seeds.tolist(), strict=True):
        t = engine.simulate(build(patch.scenario_at(xs)), np.arange(replicates), seed)
        out.append(np.stack([t.alignment, t.debt, t.delivered], axis=1))
    return np.stack(out)


@pytest.mark.parametrize("name", ["every_event", "flagship", "archipelago", "wide", "history"])
def test_replicate_k_of_point_i_is_the_same_in_a_batch_as_alone(scenarios, name):
    sc = scenarios[name]
    patch, x = points(sc, batchable(sc), 4)
    seeds = np.array([5, 2**63 + 1, 5, 77], dtype=np.uint64)  # two points share a seed
    want = one_by_one(patch, x, seeds, 3)
    keep = ("alignment", "debt", "delivered")
    got = simulate_batch(patch, x, 3, seeds, reduce=trajectories, keep=keep)
    np.testing.assert_array_equal(got, want)
    # blocks of any size: points split across blocks, replicates split within a point
    for chunk in (1, 2, 5):
        got = simulate_batch(patch, x, 3, seeds, reduce=trajectories, keep=keep, chunk=chunk)
        np.testing.assert_array_equal(got, want)


def test_one_replicate_alone_equals_it_among_many(scenarios):
    """A block of one point and one replicate runs on the same arrays as any other."""
    sc = scenarios["archipelago"]  # gap-targeting money goes through a matrix product
    patch, x = points(sc, ["dynamics.sharpness", "states.BIG.inertia"], 3)
    seeds = np.array([1, 2, 3], dtype=np.uint64)
    alone = simulate_batch(patch, x, 1, seeds, chunk=1)
    among = simulate_batch(patch, x, 5, seeds)[:, :1]
    np.testing.assert_array_equal(alone, among)


def test_summaries_are_per_point_and_memory_is_bounded_by_the_chunk(scenarios):
    sc = scenarios["tiny"]
    patch, x = points(sc, ["dynamics.sharpness"], 7)
    seeds = np.arange(7, dtype=np.uint64)
    seen: list[int] = []

    def last(block: Block) -> np.ndarray:
        seen.append(block.alignment.shape[0] * block.alignment.shape[1])
        return block.alignment[:, :, -1]

    means = simulate_batch(patch, x, 10, seeds, reduce=last, summarise=lambda q: q.mean(0), chunk=8)
    full = simulate_batch(patch, x, 10, seeds)
    np.testing.assert_array_equal(means, full[:, :, -1].mean(1))
    assert max(seen) <= 8 and means.shape == (7, 2, 2)


def test_a_registry_entry_at_several_scales_on_common_random_numbers(scenarios):
    """As calibration varies a quantity: every field that uses a registry entry, each scaled
    by its own factor (one column per scale), every point on the same seed, and each point
    reduced to its replicates' mean yearly alignment."""
    from sim.calibration import observe

    sc = scenarios["history"]
    groups: dict[tuple[str, float], list[str]] = {}
    for path, v in values(sc):
        if v.ref in ("sharpness", "w_hedge", "kaz_nonfsu_trade_1992"):
            groups.setdefault((v.ref, v.scale), []).append(path)
    assert len(groups) == 5
    patch = Patch.bind(sc, {f"{q} x {s:g}": p for (q, s), p in groups.items()},
                       registry=REGISTRIES[sc.name])  # fmt: skip
    draws = {
        "sharpness": np.array([1.0, 2.5, 4.0]),
        "w_hedge": np.array([0.5, 1.0, 2.0]),
        "kaz_nonfsu_trade_1992": np.array([0.3, 0.5, 0.7]),  # used at three scales
    }
    x = np.column_stack([draws[q] * s for q, s in groups])
    seeds = np.full(3, sc.seed, dtype=np.uint64)
    dates = build(sc).dates
    years = observe.calendar_years(dates)

    def yearly(block: Block) -> np.ndarray:
        return observe.yearly(block.alignment, dates, years)

    got = simulate_batch(patch, x, 4, seeds, reduce=yearly, summarise=lambda q: q.mean(0))
    for i in range(3):
        t = engine.simulate(build(patch.scenario_at(x[i])), np.arange(4), sc.seed)
        np.testing.assert_array_equal(got[i], observe.yearly(t.alignment, dates, years).mean(0))


def test_a_period_is_structural_built_point_by_point_and_said_once(scenarios):
    sc = scenarios["tiny"]
    paths = ["powers.PX.instruments.grants.period_years", "dynamics.sharpness"]
    patch, x = points(sc, paths, 3)
    assert patch.structural is not None and "period_years" in patch.structural
    notes: list[str] = []
    seeds = np.array([4, 5, 6], dtype=np.uint64)
    got = simulate_batch(patch, x, 2, seeds, note=notes.append)
    assert len(notes) == 1 and "one by one" in notes[0]
    np.testing.assert_array_equal(got, one_by_one(patch, x, seeds, 2)[:, :, 0])
    # the periods really differ: they move when the money flows
    assert not np.array_equal(got[0], got[1])


# --------------------------------------------------------------------------- bad input


@pytest.fixture
def tiny_patch(scenarios) -> Patch:
    return Patch.bind(scenarios["tiny"], {"beta": "dynamics.sharpness", "w": "states.*.inertia"})


@pytest.mark.parametrize(
    ("x", "seeds", "words"),
    [
        (np.ones((3, 1)), np.arange(3), "expected an array (points, 2)"),
        (np.ones((3, 2)), np.arange(2), "one seed per point (3)"),
        (np.ones((3, 2)), np.array([1, -1, 2]), "non-negative integers"),
        (np.array([[1.0, 0.5], [2.0, 1.5]]), np.arange(2), "1.5 is outside what"),
        (np.array([[1.0, 0.5], [np.nan, 0.5]]), np.arange(2), "expected finite values"),
        (np.array([[-1.0, 0.5], [2.0, 0.5]]), np.arange(2), "-1 is outside what"),
    ],
)
def test_bad_batches_are_one_line_errors(tiny_patch, x, seeds, words):
    with pytest.raises(SimError) as err:
        simulate_batch(tiny_patch, x, 2, seeds)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_out_of_range_names_the_column_and_its_field(tiny_patch):
    with pytest.raises(ScenarioError) as err:
        tiny_patch.check(np.array([[1.0, 0.5], [2.0, 1.5]]))
    assert err.value.field == "w"
    assert "states.AA.inertia accepts: expected a value <= 1" in err.value.message


def test_two_columns_on_one_path_are_refused(scenarios):
    with pytest.raises(ScenarioError, match=r"both set states\.AA\.inertia"):
        Patch.bind(scenarios["tiny"], {"a": "states.*.inertia", "b": "states.AA.inertia"})
    with pytest.raises(ScenarioError, match="matches no scenario value"):
        Patch.bind(scenarios["tiny"], {"a": "states.*.greed"})


def test_two_sweep_parameters_on_one_path_exit_2_and_write_nothing(tmp_path: Path):
    out = tmp_path / "results"
    proc = run_cli(
        "sweep", str(TINY), "--param", "states.*.inertia=0.1:0.9",
        "--param", "states.BB.inertia=0.2:0.8", "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: --param: states.BB.inertia: 'states.*.inertia' and 'states.BB.inertia' both set "
        "states.BB.inertia; a value can vary with one parameter only"
    ]
    assert not out.exists()
    sweep_file = tmp_path / "two.yaml"
    sweep_file.write_text(
        f"scenario: {TINY}\nmethod: lhs\nsamples: 4\nparameters:\n"
        "  a: {path: dynamics.sharpness, range: [1, 3]}\n"
        "  b: {path: dynamics.sharpness, range: [2, 4]}\n"
    )
    with pytest.raises(ScenarioError) as err:
        run_sweep(SweepRequest(source=sweep_file, out=out))
    assert err.value.field == "parameters.b.path" and "both set dynamics.sharpness" in str(
        err.value
    )
    assert not out.exists()


# --------------------------------------------------------------------------- sweeps


def per_point_outcomes(folder: Path) -> pd.DataFrame:
    """A finished sweep's points recomputed one by one, as sweeps ran before batches: each
    point's scenario validated and built alone, its replicates run and measured; with a
    counterfactual, its own run at the point (the paths it has), subtracted for effects."""
    from sim.experiments.sweep import spec
    from sim.experiments.sweep.run import bind
    from sim.experiments.sweep.store import SweepStore
    from sim.scenario.schema import values

    sw = spec.read(folder / "sweep.yaml")
    raw = yaml.safe_load((folder / "scenario.yaml").read_text())
    registry = SweepStore(folder).sources()
    cf = None
    if sw.counterfactual is not None:
        cf = validate(yaml.safe_load((folder / sw.counterfactual).read_text()), registry, "cf")
    sweep = bind(sw, validate(raw, registry, "s"), folder / "sweep.yaml", cli=False,
                 defaults=False, registry=registry, counterfactual=cf)
    groups = [(j, f, paths) for j, p in enumerate(sweep.params) for f, paths in p.groups]
    design = pq.read_table(folder / "design.parquet").to_pandas()
    x = design[[p.name for p in sweep.params]].to_numpy(float)
    measures = list(sweep.measures)
    reps = np.arange(sweep.replicates)

    def run(sc: object, xs: np.ndarray, seed: int) -> tuple[object, object]:
        have = {path for path, _ in values(sc)}
        cols = [(tuple(q for q in paths if q in have), j, f) for j, f, paths in groups]
        cols = [c for c in cols if c[0]]
        p = build(validate(with_values(materialise(sc), [c[0] for c in cols],
                                       [xs[j] * f if f != 1.0 else xs[j] for _, j, f in cols]),
                           registry, "s"))
        return p, engine.simulate(p, reps, seed)

    rows = []
    for point, xs, seed in zip(design["point"], x, design["seed"].to_numpy(np.uint64), strict=True):
        p, traj = run(sweep.scenario, xs, int(seed))
        q = np.stack([outcomes.quantity(m, traj, p) for m in measures])
        if cf is not None:
            pc, tc = run(cf, xs, int(seed))
            for i, m in enumerate(measures):
                if m.effect:
                    q[i] = q[i] - outcomes.quantity(m, tc, pc)
        rows.append({"point": int(point), **outcomes.summarise(measures, q)})
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    "request_",
    [
        dict(source=TINY, params=["dynamics.sharpness=1:6", "states.*.weights.debt=0:3"],
             method="lhs", samples=12, replicates=9),
        dict(source=ROOT / "scenarios" / "sweeps" / "tokyo_drivers.yaml", method="lhs",
             samples=6, replicates=12),
    ],
    ids=["tiny", "flagship"],
)  # fmt: skip
def test_a_batched_sweep_equals_its_points_run_one_by_one(tmp_path: Path, request_):
    result = run_sweep(SweepRequest(out=tmp_path, workers=1, **request_))
    table = pq.read_table(result.folder / "outcomes.parquet").to_pandas()
    want = per_point_outcomes(result.folder)
    got = table[want.columns]
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_a_sweep_of_a_period_says_once_that_its_points_are_built_one_by_one(tmp_path: Path):
    period = "powers.PX.instruments.grants.period_years=1:3"
    result = run_sweep(
        SweepRequest(source=TINY, params=[period, "dynamics.sharpness=1:6"], method="lhs",
                     samples=6, replicates=4, out=tmp_path)
    )  # fmt: skip
    lines = result.summary().splitlines()
    notes = [line for line in lines if line.startswith("note: ")]
    assert len(notes) == 1 and "period_years" in notes[0] and "one by one" in notes[0]
    run = json.loads((result.folder / "manifest.json").read_text())["runs"][-1]
    assert run["batched"] is False and "one by one" in run["note"]
    table = pq.read_table(result.folder / "outcomes.parquet").to_pandas()
    want = per_point_outcomes(result.folder)
    pd.testing.assert_frame_equal(table[want.columns], want, check_exact=True)
