"""Sweeps over a posterior: every point runs each draw's block of replicates."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from sim.calibration import posterior as posteriors
from sim.core.errors import SettingError, SimError
from sim.experiments.sweep import SweepRequest, run_sweep
from sim.experiments.sweep.store import SweepStore
from sim.model.params import build
from sim.outputs import outcomes
from sim.runs import execute
from sim.scenario.schema import load

from .conftest import FLAGSHIP, TINY

NO_JAPAN = FLAGSHIP.parent / "no_japan.yaml"
DRAWS = 3
REPLICATES = 2


def sweep(out: Path, progress=None, **kw) -> tuple[pd.DataFrame, Path]:
    opts = dict(source=FLAGSHIP, params=["dynamics.sharpness=1:3:2"], replicates=REPLICATES,
                posterior=posteriors.SHIPPED, draws=DRAWS, workers=1, out=out)
    done = run_sweep(SweepRequest(**{**opts, **kw}), progress=progress)
    return pq.read_table(done.folder / "outcomes.parquet").to_pandas(), done.folder


def test_each_point_pools_the_draws_a_run_over_the_posterior_would(tmp_path: Path):
    """Point i at sharpness s equals the scenario set to s run over the same draws with the
    point's seed (:func:`sim.calibration.posterior.ensemble`, the code path of sim run and
    compare)."""
    table, folder = sweep(tmp_path)
    design = pq.read_table(folder / "design.parquet").to_pandas()
    post = posteriors.load(posteriors.SHIPPED).thin(DRAWS)
    seeds = design["seed"].to_numpy(np.uint64)  # (a row of mixed columns would be floats)
    for point, value, seed in zip(design["point"], design["dynamics.sharpness"], seeds,
                                  strict=True):
        sc = load(FLAGSHIP, [f"dynamics.sharpness={float(value)!r}"])
        p = build(sc)
        traj, _ = posteriors.ensemble(post, sc, FLAGSHIP, REPLICATES, int(seed))
        (measure,) = outcomes.resolve({"JPN_region": outcomes.default_outcomes(
            p.states, p.powers)["JPN_region"]}, p, "test")
        want = outcomes.quantity(measure, traj, p)
        got = table.set_index("point").loc[int(point)]
        assert want.shape == (DRAWS * REPLICATES,)
        assert got["JPN_region"] == pytest.approx(want.mean(), abs=1e-12)
        assert got["JPN_region.p5"] == pytest.approx(np.percentile(want, 5), abs=1e-12)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["covers"] == "noise and parameters"
    assert manifest["posterior"]["draws_used"] == DRAWS
    assert manifest["posterior"]["replicates_per_draw"] == REPLICATES
    assert "posterior draws" in (folder / "report.txt").read_text()


def test_a_swept_calibrated_quantity_takes_the_sweeps_value_not_the_draws(tmp_path: Path):
    # on common random numbers the two points differ only by the swept summit boost
    table, folder = sweep(tmp_path, params=["summit_boost=0:1:2"], common_random_numbers=True)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["posterior"]["set_by_the_sweep"] == ["summit_boost"]
    stored = json.loads((folder / "posterior.json").read_text())
    assert all(c["quantity"] != "summit_boost" for c in stored["columns"])
    low, high = table.sort_values("summit_boost")["JPN_region"]
    assert high > low


def test_one_worker_two_workers_and_a_resume_give_the_same_effects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    opts = dict(params=["dynamics.sharpness=1:3", "powers.JPN.instruments.*.delivery_rate=0.3:1"],
                method="lhs", samples=6, counterfactual=NO_JAPAN)
    one, _ = sweep(tmp_path / "one", **opts)
    two, _ = sweep(tmp_path / "two", **{**opts, "workers": 2})
    pd.testing.assert_frame_equal(one, two, check_exact=True)
    assert (one["JPN_effect"] != 0).all()

    def stop_after_a_chunk(done: int, total: int) -> None:
        if done:
            raise KeyboardInterrupt

    monkeypatch.setattr(execute, "BATCH_WORK", 1)  # one point per batch, one chunk each
    with pytest.raises(KeyboardInterrupt):
        sweep(tmp_path / "cut", progress=stop_after_a_chunk, **opts)
    (folder,) = (tmp_path / "cut").glob("*/sweeps/*")
    before = len(SweepStore(folder).done_points())
    assert 0 < before < 6
    data = json.loads((folder / "posterior.json").read_text())
    data["folder"] = str(tmp_path / "gone")  # the draws are kept: no posterior folder needed
    (folder / "posterior.json").write_text(json.dumps(data))
    assert run_sweep(SweepRequest(resume=folder)).ran == 6 - before
    pd.testing.assert_frame_equal(pq.read_table(folder / "outcomes.parquet").to_pandas(), one,
                                  check_exact=True)


def test_bad_posterior_settings_are_refused_before_anything_is_written(tmp_path: Path):
    with pytest.raises(SettingError, match="draws"):
        sweep(tmp_path, draws=0)
    with pytest.raises(SimError, match="posterior"):
        sweep(tmp_path, source=TINY, params=["dynamics.sharpness=1:3:2"])  # another structure
    with pytest.raises(SimError):
        sweep(tmp_path, posterior=tmp_path / "missing")
    assert not any(tmp_path.rglob("manifest.json"))

