"""sim calibrate end to end on the tiny region's history: the posterior folder, resume after
an interruption, and bad requests."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sim import calibrate, priors
from sim.errors import SimError

from .conftest import CASES, run_cli

PRIORS = CASES / "calib" / "priors.yaml"


def request(tmp_path, **kw):
    base = dict(priors=PRIORS, draws=60, replicates=2, out=tmp_path / "results")
    base.update(kw)
    return calibrate.CalibrateRequest(**base)


def test_the_posterior_folder(tmp_path):
    out = calibrate.calibrate(request(tmp_path))
    files = {p.name for p in out.folder.iterdir()}
    assert {"draws.parquet", "posterior.csv", "stages.csv", "screen.csv", "manifest.json",
            "calibration.json", "report.html", "plots"} <= files
    assert not list(out.folder.parent.glob(".partial-*"))
    draws = pd.read_parquet(out.folder / "draws.parquet")
    screen = pd.read_csv(out.folder / "screen.csv")
    chosen = screen[screen.selected].quantity.tolist()
    assert len(chosen) == 1  # select: 1 in the priors file
    assert list(draws.columns) == ["draw", *chosen, "observation.sigma", "loglik"]
    assert len(draws) == 60
    prior = priors.load(PRIORS).prior
    for name in [*chosen, "observation.sigma"]:
        dim = prior.subset([name]).dims[0]
        assert all(dim.contains(float(v)) for v in draws[name])
    manifest = json.loads((out.folder / "manifest.json").read_text())
    assert manifest["kind"] == "calibration"
    assert manifest["training_years"] == [2026, 2031]
    assert len(manifest["data"]["agreement"]["sha256"]) == 64
    assert np.isfinite(manifest["log_evidence"])
    stages = pd.read_csv(out.folder / "stages.csv")
    assert stages.phi.iloc[-1] == 1.0 and stages.stage.tolist() == list(range(len(stages)))
    assert (out.folder / "plots" / "posterior_pairs.png").is_file()


def test_a_resumed_calibration_equals_an_uninterrupted_one(tmp_path):
    full = calibrate.calibrate(request(tmp_path / "a", select=("calib_w_security",)))

    def stop(msg: str) -> None:
        if msg.startswith("stage 1:"):
            raise KeyboardInterrupt

    with pytest.raises(calibrate.Interrupted, match="finish with sim calibrate --resume"):
        calibrate.calibrate(request(tmp_path / "b", select=("calib_w_security",)), progress=stop)
    folder = tmp_path / "b" / "results" / "tiny_history" / "calibrations"
    partial = next(folder.glob(".partial-*"))
    assert not (partial / "manifest.json").exists()  # nothing looks complete
    resumed = calibrate.calibrate(request(tmp_path / "b", resume=partial))
    a = pd.read_parquet(full.folder / "draws.parquet")
    b = pd.read_parquet(resumed.folder / "draws.parquet")
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(
    ("change", "expect"),
    [
        ({"draws": 10}, "draws: expected at least 50"),
        ({"replicates": 0}, "replicates: expected at least 1"),
        ({"until": 2033}, "until: the observations end in 2031"),
        ({"select": ("nosuch",)}, "select: 'nosuch' is not a model quantity"),
    ],
)
def test_bad_requests(tmp_path, change, expect):
    with pytest.raises(SimError, match=expect):
        calibrate.calibrate(request(tmp_path, **change))
    assert not (tmp_path / "results").exists()


def test_a_missing_priors_file_is_one_line(tmp_path):
    res = run_cli("calibrate", str(tmp_path / "none.yaml"), "--out", str(tmp_path / "r"))
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert "none.yaml" in res.stderr and "file not found" in res.stderr
