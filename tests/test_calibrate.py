"""sim calibrate end to end on the tiny region's history: the posterior folder, resume after
an interruption, and bad requests."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from sim.calibration import calibrate, priors
from sim.core.errors import SimError

from .conftest import CASES, ROOT, kill_9_leaves_nothing, run_cli, session_processes

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

    class Stop:
        def start(self, what: str, total: int) -> None:
            if what.startswith("stage 1:"):
                raise KeyboardInterrupt

        def advance(self, done: int) -> None:
            pass

    with pytest.raises(calibrate.Interrupted, match="finish with sim calibrate --resume"):
        calibrate.calibrate(request(tmp_path / "b", select=("calib_w_security",)),
                            progress=Stop())
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
        ({"workers": 0}, "workers: expected at least 1, found 0"),
        ({"scheduler": "nowhere"}, "scheduler: expected an address like tcp://HOST:PORT"),
        ({"scheduler": "tcp://127.0.0.1:9"}, r"scheduler: cannot reach tcp://127.0.0.1:9"),
        ({"workers": 2, "scheduler": "tcp://127.0.0.1:9"}, "workers: the cluster's workers"),
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


def test_simulation_based_calibration_recovers_known_parameters():
    """Simulation-based calibration (Talts, Betancourt, Simpson, Vehtari and Gelman 2018) on the
    tiny region: draw the security weight and sigma from their priors and the link's
    coefficients from theirs, simulate "observed" agreement from the model and the observation
    model, calibrate, and rank the truth among posterior draws. With a correct likelihood and
    sampler the ranks are uniform; a biased or overconfident posterior piles them at the ends
    or in the middle, which the chi-square test below detects."""
    import dataclasses

    from scipy import stats

    from sim.calibration import smc

    pri = priors.load(PRIORS)
    names = ["calib_w_security", "observation.sigma"]
    pr = calibrate.problem(pri, pri.prior.subset(names), until=2031, replicates=2, seed=7)
    link, obs = pr.link, pr.obs
    S, P = len(obs.states), len(obs.powers)
    v0 = np.full(obs.agree.shape, 0.04)  # each year's vote-count variance, on the logit scale
    datasets, thin = 40, 19
    ranks = np.zeros((datasets, len(names)), dtype=int)
    for k in range(datasets):
        gen = np.random.Generator(np.random.PCG64(1000 + k))
        u_true = pr.prior.sample(gen, 1)
        model, sigma, _ = pr.split(u_true)
        x = pr.covariates(model)[0]
        delta = gen.normal(0.0, link.delta_sd, P)
        gamma = gen.normal(link.gamma_mean, link.gamma_sd)
        mu = obs.alpha[:, None, :] + delta[None, None, :] + gamma * x
        y = mu + gen.standard_normal(mu.shape) * np.sqrt(sigma[0] ** 2 + v0)
        seen = np.where(obs.training[:, None, None], 0.5, np.nan) * np.ones((1, S, P))
        synthetic = dataclasses.replace(obs, agree=seen, logits=y, variances=v0)
        problem_k = dataclasses.replace(pr, obs=synthetic)
        post = smc.run(problem_k.loglik, problem_k.prior, 200, seed=k)
        draws = post.u[:: len(post.u) // thin][:thin]
        ranks[k] = (draws < u_true).sum(axis=0)
    for j, name in enumerate(names):
        counts = np.bincount(ranks[:, j] * 4 // (thin + 1), minlength=4)
        assert stats.chisquare(counts).pvalue > 0.001, (name, counts)


def test_simulation_based_calibration_of_the_vote_mixture():
    """The same check for the vote mixture: the truth (the security weight, the own-way share,
    the offsets' persistence and yearly sd) drawn from the prior, the pairs' offsets from
    their AR(1), "observed" logits from the mixture with a known vote-count variance; the
    ranks of the truth among the posterior's draws must be uniform."""
    import dataclasses

    from scipy import stats

    from sim.calibration import mixture, smc

    pri = priors.load(CASES / "calib" / "priors_mixture.yaml")
    names = ["calib_w_security", "observation.own", "observation.rho", "observation.omega"]
    pr = calibrate.problem(pri, pri.prior.subset(names), until=2031, replicates=2, seed=7)
    obs = pr.obs
    assert pr.link.mixture and pr.M is not None and pr.W is not None
    v0 = np.full(obs.agree.shape, 0.04)
    datasets, thin = 40, 19
    ranks = np.zeros((datasets, len(names)), dtype=int)
    for k in range(datasets):
        gen = np.random.Generator(np.random.PCG64(2000 + k))
        u_true = pr.prior.sample(gen, 1)
        th = pr.theta(u_true)
        model = pr.prior.to_natural(u_true)[:, [pr.prior.names.index(n)
                                                for n in pr.model_quantities]]
        _, fm, fv = pr.moments(model)
        z, q = mixture.model_side(fm, fv, pr.W, th.own)
        d = np.empty(obs.agree.shape)
        d[0] = gen.normal(0.0, float(th.tau[0]), d.shape[1:])
        for t in range(1, len(d)):
            d[t] = float(th.rho[0]) * d[t - 1] + gen.normal(0.0, float(th.omega[0]),
                                                            d.shape[1:])
        e = gen.standard_normal(d.shape) * np.sqrt(float(th.noise[0]) ** 2 * v0 + q[0])
        y = z[0] + d + e
        seen = np.where(obs.training[:, None, None], 0.5, np.nan) * np.ones(d.shape[1:])
        synthetic = dataclasses.replace(obs, agree=seen, logits=y, variances=v0)
        problem_k = dataclasses.replace(pr, obs=synthetic)
        post = smc.run(problem_k.loglik, problem_k.prior, 200, seed=k)
        draws = post.u[:: len(post.u) // thin][:thin]
        ranks[k] = (draws < u_true).sum(axis=0)
    for j, name in enumerate(names):
        counts = np.bincount(ranks[:, j] * 4 // (thin + 1), minlength=4)
        assert stats.chisquare(counts).pvalue > 0.001, (name, counts)


def test_the_same_posterior_in_one_process_on_workers_and_on_dask(tmp_path):
    from sim.experiments.sweep.cluster import loopback_cluster

    one = calibrate.calibrate(request(tmp_path / "one", select=("calib_w_security",), workers=1))
    two = calibrate.calibrate(request(tmp_path / "two", select=("calib_w_security",), workers=2))
    with loopback_cluster(tmp_path, workers=2) as address:
        dask = calibrate.calibrate(request(tmp_path / "dask", select=("calib_w_security",),
                                           scheduler=address))
    a = pd.read_parquet(one.folder / "draws.parquet")
    for other in (two, dask):
        pd.testing.assert_frame_equal(a, pd.read_parquet(other.folder / "draws.parquet"))


def test_kill_9_of_a_calibration_leaves_no_process_behind(tmp_path):
    """Only the calibration's own process is killed; its worker processes, their fork server
    and the resource tracker must notice and end by themselves."""
    args = ["calibrate", str(PRIORS), "--draws", "3000", "--replicates", "2", "--workers", "2",
            "--out", str(tmp_path)]
    proc = subprocess.Popen([sys.executable, "-m", "sim", *args], cwd=ROOT,
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        end = time.monotonic() + 120
        while len([p for p in session_processes(proc.pid) if "forkserver" in p]) < 3:
            assert proc.poll() is None, "the calibration ended before its workers were seen"
            assert time.monotonic() < end, "no worker processes within two minutes"
            time.sleep(0.05)
    finally:
        left = kill_9_leaves_nothing(proc)
    assert left == []
