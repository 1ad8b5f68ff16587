"""Posterior folders: the shipped one, a fresh one, and the ways a folder can be wrong; the
hindcast over a posterior."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from sim.calibration import calibrate, hindcast, posterior
from sim.core.errors import SimError
from sim.scenario.schema import load

from .conftest import CASES, FLAGSHIP, ROOT, TINY


@pytest.fixture(scope="module")
def tiny_posterior(tmp_path_factory):
    out = tmp_path_factory.mktemp("calibration")
    req = calibrate.CalibrateRequest(priors=CASES / "calib" / "priors.yaml", draws=60,
                                     replicates=2, select=("calib_w_security",), out=out)
    return calibrate.calibrate(req).folder


def test_the_shipped_posterior_fits_the_history_and_the_flagship():
    post = posterior.load(posterior.SHIPPED)
    assert len(post.draws) >= 1000
    assert post.manifest["training_years"] == [1992, 2012]
    assert post.link.mixture
    assert {"observation.own", "observation.rho", "observation.omega"} <= set(post.quantities)
    # every constant the flagship screen found to move the answer is fitted or carried
    screen = pd.read_csv(posterior.SHIPPED / "flagship_screen.csv")
    moving = set(screen[screen.moves_answer].quantity)
    assert moving and moving <= set(post.model_quantities) | set(post.carried)
    assert "delivery_business_target" in post.carried
    for path in (ROOT / "scenarios" / "history" / "central_asia_1992.yaml", FLAGSHIP):
        posterior.check_scenario(post, load(path), path)
    # every shipped draw is inside its prior's support
    for d in post.prior.dims:
        assert all(d.contains(float(v)) for v in post.draws[d.name])


def test_thinning_keeps_the_ends_and_spreads_evenly():
    post = posterior.load(posterior.SHIPPED)
    few = post.thin(5)
    assert len(few.draws) == 5
    assert few.draws["draw"].iloc[0] == post.draws["draw"].iloc[0]
    assert few.draws["draw"].iloc[-1] == post.draws["draw"].iloc[-1]


def copy(src, tmp_path):
    dst = tmp_path / "post"
    shutil.copytree(src, dst)
    return dst


def test_a_missing_or_unfinished_folder(tmp_path):
    with pytest.raises(SimError, match="expected a posterior folder"):
        posterior.load(tmp_path / "none")
    (tmp_path / "half").mkdir()
    with pytest.raises(SimError, match=r"expected manifest\.json, found none"):
        posterior.load(tmp_path / "half")


def test_a_truncated_draws_file(tmp_path, tiny_posterior):
    folder = copy(tiny_posterior, tmp_path)
    data = (folder / "draws.parquet").read_bytes()
    (folder / "draws.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(SimError, match=r"draws\.parquet cannot be read"):
        posterior.load(folder)


def test_fewer_draws_than_the_manifest_says(tmp_path, tiny_posterior):
    folder = copy(tiny_posterior, tmp_path)
    draws = pd.read_parquet(folder / "draws.parquet")
    draws.iloc[:10].to_parquet(folder / "draws.parquet")
    with pytest.raises(SimError, match="expected 60 draws, found 10"):
        posterior.load(folder)


def test_a_draw_outside_its_prior(tmp_path, tiny_posterior):
    folder = copy(tiny_posterior, tmp_path)
    draws = pd.read_parquet(folder / "draws.parquet")
    draws.loc[3, "calib_w_security"] = -1.0
    draws.to_parquet(folder / "draws.parquet")
    with pytest.raises(SimError, match="draw 3: calib_w_security = -1 is outside"):
        posterior.load(folder)


def test_a_manifest_of_another_kind(tmp_path, tiny_posterior):
    folder = copy(tiny_posterior, tmp_path)
    m = json.loads((folder / "manifest.json").read_text())
    m["kind"] = "run"
    (folder / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(SimError, match="expected the manifest of a calibration"):
        posterior.load(folder)


def test_a_scenario_of_another_structure(tiny_posterior):
    post = posterior.load(tiny_posterior)
    with pytest.raises(SimError, match="was made for states"):
        posterior.check_scenario(post, load(FLAGSHIP), FLAGSHIP)
    with pytest.raises(SimError, match="calibrates 'calib_w_security', which no field"):
        posterior.check_scenario(post, load(TINY), TINY)


def test_the_hindcast_over_a_posterior(tmp_path, tiny_posterior):
    calib = CASES / "calib"
    req = hindcast.HindcastRequest(
        scenario=calib / "history.yaml", until=2031, agreement=calib / "agreement.csv",
        world=calib / "world.csv", powers=calib / "powers.csv", posterior=tiny_posterior,
        posterior_draws=30,
        out=tmp_path / "r",
    )
    h = hindcast.simulate(req)
    assert h.posterior is not None and len(h.posterior.draws) == 30
    assert h.fit.mean.shape[0] == 30  # one link posterior per draw
    q = h.predicted[["p5", "p50", "p95"]].to_numpy()
    assert np.all(q[:, 0] <= q[:, 1]) and np.all(q[:, 1] <= q[:, 2])
    out = hindcast.run_hindcast(req)
    manifest = json.loads((out.folder / "manifest.json").read_text())
    assert manifest["posterior"]["draws_used"] == 30
    assert "posterior" in manifest["interval"]


def test_a_comparison_over_a_posterior_is_paired_within_each_draw(tmp_path, tiny_posterior):
    from sim.experiments.compare import CompareRequest, compare_scenarios

    calib = CASES / "calib"
    same = compare_scenarios(CompareRequest(calib / "history.yaml", calib / "history.yaml",
                                            replicates=3, posterior=tiny_posterior, draws=12,
                                            out=tmp_path))
    assert (same.table.diff_mean == 0).all() and (same.table.diff_p95 == 0).all()
    out = compare_scenarios(CompareRequest(calib / "history.yaml", calib / "policy.yaml",
                                           replicates=3, posterior=tiny_posterior, draws=12,
                                           out=tmp_path))
    manifest = json.loads((out.folder / "manifest.json").read_text())
    assert manifest["covers"] == "noise and parameters"
    assert manifest["replicates"] == 36 and manifest["posterior"]["draws_used"] == 12
    assert (out.folder / "differences_noise_only.csv").is_file()
    px = out.table[out.table.power == "PX"]
    assert (px.diff_mean > 0).all()  # the grant raises PX's share in both states
    # parameters widen the interval beyond the noise-only one
    noise = pd.read_csv(out.folder / "differences_noise_only.csv")
    wide = (px.diff_p95 - px.diff_p5).to_numpy()
    narrow = (noise[noise.power == "PX"].effect_p95_pp
              - noise[noise.power == "PX"].effect_p5_pp).to_numpy() / 100  # CSV: points
    assert np.all(wide > narrow)


def test_a_run_over_a_posterior(tmp_path, tiny_posterior):
    from sim.experiments.run import RunRequest, run_scenario

    req = RunRequest(CASES / "calib" / "history.yaml", replicates=2, posterior=tiny_posterior,
                     draws=5, out=tmp_path)
    out = run_scenario(req)
    manifest = json.loads((out.folder / "manifest.json").read_text())
    assert manifest["replicates"] == 10 and manifest["covers"] == "noise and parameters"
    table = pd.read_parquet(out.folder / "alignment.parquet")
    assert table.replicate.nunique() == 10
    with pytest.raises(SimError, match="rounds: not with a posterior"):
        run_scenario(RunRequest(CASES / "calib" / "history.yaml", rounds=4,
                                posterior=tiny_posterior, out=tmp_path))


def test_a_hindcast_refuses_to_score_years_the_posterior_was_fitted_on(tmp_path, tiny_posterior):
    """An origin before the posterior's last training year would score fitted votes as unseen."""
    calib = CASES / "calib"
    last = posterior.posterior_last_year(tiny_posterior)
    assert last is not None
    req = hindcast.HindcastRequest(
        scenario=calib / "history.yaml", until=last - 1, agreement=calib / "agreement.csv",
        world=calib / "world.csv", powers=calib / "powers.csv", posterior=tiny_posterior,
        posterior_draws=10, out=tmp_path / "r",
    )
    expect = rf"fitted on the votes of \d+-{last}, later than {last - 1}"
    with pytest.raises(SimError, match=expect):
        hindcast.simulate(req)
    assert not (tmp_path / "r").exists()
