"""The vote-mixture link (sim.calibration.mixture) and the rolling-origin scores
(sim.calibration.rolling)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.calibration import mixture, rolling
from sim.calibration.observe import Observed, expit, logit
from sim.core.errors import SimError


def grid(Y=12, S=3, P=2, *, until_index=7, seed=0, agree=None, n=80):  # noqa: N803
    gen = np.random.Generator(np.random.PCG64(seed))
    years = np.arange(2000, 2000 + Y)
    if agree is None:
        agree = np.clip(gen.uniform(0.3, 0.8, (Y, S, P)), 0.05, 0.95)
    nn = np.full((Y, S, P), float(n))
    return Observed(
        years=years, states=tuple(f"S{i}" for i in range(S)),
        powers=tuple(f"P{j}" for j in range(P)), agree=agree, n=nn,
        alpha=np.full((Y, P), logit(np.array(0.55))), n_expected=nn,
        training=years <= years[until_index],
    )


def test_the_filter_is_the_exact_gaussian_likelihood():
    obs = grid(Y=9, S=1, P=1, until_index=8)
    obs.agree[3] = np.nan  # a missing year inside the span
    z = np.full(obs.agree.shape, 0.1)
    q = np.full(obs.agree.shape, 0.02)
    th = mixture.Theta(*map(np.array, (0.3, 1.4, 0.8, 0.2, 0.5)))
    got = float(mixture.kalman(obs, z, q, th).loglik)
    # brute force: y = z + d + e over the observed years, d an AR(1) started at N(0, tau^2)
    Y = len(obs.years)
    cov_d = np.empty((Y, Y))
    var = [th.tau**2]
    for _ in range(1, Y):
        var.append(th.rho**2 * var[-1] + th.omega**2)
    for i in range(Y):
        for j in range(Y):
            cov_d[i, j] = th.rho ** abs(i - j) * var[min(i, j)]
    keep = ~np.isnan(obs.agree[:, 0, 0])
    y = obs.y[keep, 0, 0]
    v = obs.v[keep, 0, 0]
    C = cov_d[np.ix_(keep, keep)] + np.diag(th.noise**2 * v + 0.02)
    r = y - 0.1
    _, logdet = np.linalg.slogdet(C)
    want = -0.5 * (len(y) * math.log(2 * math.pi) + logdet + r @ np.linalg.solve(C, r))
    assert got == pytest.approx(want, rel=1e-10)


def test_the_forecast_decays_toward_the_model_at_rho_per_year():
    obs = grid(until_index=5)
    z = np.zeros(obs.agree.shape)
    th = mixture.Theta(*map(np.array, (0.2, 1.0, 0.6, 0.1, 0.4)))
    f = mixture.kalman(obs, z, np.zeros_like(z), th)
    last = f.d_mean[..., 6, :, :]  # forecast for the first year after the origin
    for h in range(1, 5):
        np.testing.assert_allclose(f.d_mean[..., 6 + h, :, :], last * 0.6**h, rtol=1e-12)
    assert np.all(np.diff(f.d_var[7:, 0, 0]) > 0)  # uncertainty grows with the horizon


def test_held_out_years_do_not_move_the_fit_or_the_forecast():
    obs = grid(until_index=6)
    fm = np.full(obs.agree.shape, 0.5)
    fv = np.full(obs.agree.shape, 1e-4)
    W = mixture.world_share(obs)
    th, ll = mixture.fit(obs, fm, fv, W)
    changed = obs.agree.copy()
    changed[8:] = 0.01
    obs2 = Observed(obs.years, obs.states, obs.powers, changed, obs.n, obs.alpha,
                    obs.n_expected, obs.training)
    th2, ll2 = mixture.fit(obs2, fm, fv, W)
    assert ll == ll2 and np.array_equal(th.stack(), th2.stack())
    a = mixture.predictive_moments(obs, fm, fv, W, th)
    b = mixture.predictive_moments(obs2, fm, fv, W, th2)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_fit_recovers_the_own_way_share_and_persistence_of_synthetic_votes():
    gen = np.random.Generator(np.random.PCG64(11))
    Y, S, P = 40, 12, 4
    truth = mixture.Theta(*map(np.array, (0.35, 1.0, 0.8, 0.15, 0.3)))
    # the model's side varies across states and years, so the own-way share is identified
    f = gen.uniform(0.2, 0.9, (Y, S, P))
    W = np.full((Y, P), 0.6)
    m = mixture.share(f, W, truth.own)
    d = np.empty((Y, S, P))
    d[0] = gen.normal(0, truth.tau, (S, P))
    for t in range(1, Y):
        d[t] = truth.rho * d[t - 1] + gen.normal(0, truth.omega, (S, P))
    n = 2000
    k = gen.binomial(n, expit(logit(m) + d))
    nn = np.full((Y, S, P), float(n))
    obs = Observed(np.arange(1950, 1950 + Y), tuple(f"S{i}" for i in range(S)),
                   tuple(f"P{j}" for j in range(P)), k / n, nn,
                   np.full((Y, P), logit(np.array(0.6))), nn, np.ones(Y, dtype=bool))
    th, _ = mixture.fit(obs, f, np.zeros_like(f), W)
    assert abs(float(th.own) - 0.35) < 0.05
    assert abs(float(th.rho) - 0.8) < 0.1
    assert abs(float(th.omega) - 0.15) < 0.04
    # and a wrong own-way share is worse
    worse = mixture.Theta(np.array(0.8), th.noise, th.rho, th.omega, th.tau)
    assert mixture.loglik(obs, f, np.zeros_like(f), W, worse) < mixture.loglik(
        obs, f, np.zeros_like(f), W, th)


def test_a_state_following_one_power_votes_as_it_does():
    M = np.array([[[1.0, 0.3], [0.3, 1.0]]])
    abar = np.array([[[1.0, 0.0], [0.5, 0.5]]])  # (Y=1, S=2, P=2)
    f = mixture.follow(abar, M)
    np.testing.assert_allclose(f[0, 0], [1.0, 0.3])
    np.testing.assert_allclose(f[0, 1], [0.65, 0.65])
    W = np.array([[0.5, 0.5]])
    np.testing.assert_allclose(mixture.share(f, W, 0.2)[0, 0], [0.9, 0.34])


def test_powers_matrix_carries_the_last_year_and_names_a_missing_pair():
    table = pd.DataFrame({"year": [2000, 2001], "power_a": ["A", "B"], "power_b": ["B", "A"],
                          "n_votes": [9, 9], "agree": [0.4, 0.7]})
    M = mixture.powers_matrix(table, [2000, 2001, 2005], ["A", "B"], source="pw.csv")
    np.testing.assert_allclose(M[:, 0, 1], [0.4, 0.7, 0.7])
    np.testing.assert_allclose(M[:, 1, 0], M[:, 0, 1])
    assert np.all(M[:, [0, 1], [0, 1]] == 1.0)
    with pytest.raises(SimError, match=r"pw.csv: power_b: no agreement of A with C in 2000"):
        mixture.powers_matrix(table, [2000], ["A", "B", "C"], source="pw.csv")
    with pytest.raises(SimError, match=r"pw.csv: year: no agreement of the powers in 1999"):
        mixture.powers_matrix(table, [1999], ["A", "B"], source="pw.csv")


# --------------------------------------------------------------------------- rolling origin


def test_crps_of_draws_matches_the_normal_formula():
    gen = np.random.Generator(np.random.PCG64(2))
    draws = gen.standard_normal((200_000, 1))
    got = rolling.crps(draws, np.array([0.0]))[0]
    want = 2 / math.sqrt(2 * math.pi) - 1 / math.sqrt(math.pi)
    assert got == pytest.approx(want, abs=3e-3)
    assert rolling.crps(draws, np.array([2.0]))[0] > got  # further from the mass: worse


def test_recent_offset_carries_the_last_years_offset_with_the_world():
    Y, S, P = 10, 2, 2
    alpha = np.linspace(-0.5, 0.5, Y)[:, None] * np.ones((Y, P))
    off = np.zeros((Y, S, P))
    off[:4] = 0.2
    off[4:6] = 0.6  # the last two fitting years
    agree = expit(alpha[:, None, :] + off)
    n = np.full((Y, S, P), 1e7)  # empirical logits equal the truth
    obs = Observed(np.arange(1990, 2000), ("A", "B"), ("X", "Z"), agree, n, alpha, n,
                   np.arange(Y) <= 5)
    pred = rolling.RULES["recent offset (2 years)"](obs, 5)
    np.testing.assert_allclose(pred[8], np.broadcast_to(alpha[8] + 0.6, (S, P)), atol=1e-5)
    pred4 = rolling.RULES["recent offset (4 years)"](obs, 5)
    np.testing.assert_allclose(pred4[8], np.broadcast_to(alpha[8] + 0.4, (S, P)), atol=1e-5)
    persist = rolling.RULES["persistence"](obs, 5)
    np.testing.assert_allclose(persist[9], logit(agree[5]), atol=1e-5)


def test_scores_rank_the_truth_above_a_biased_forecast():
    obs = grid(Y=10, until_index=4, seed=5)
    gen = np.random.Generator(np.random.PCG64(3))
    truth = logit(obs.agree)
    good = rolling.from_normal("good", truth, np.full(truth.shape, 0.2), gen)
    bad = rolling.from_normal("bad", truth + 0.8, np.full(truth.shape, 0.2), gen)
    table = rolling.score([good, bad], obs, 2004)
    allrows = table[table.group == "all"].set_index("method")
    assert allrows.loc["good", "rmse"] < allrows.loc["bad", "rmse"]
    assert allrows.loc["good", "crps"] < allrows.loc["bad", "crps"]
    assert allrows.loc["good", "coverage90"] > 0.95 > allrows.loc["bad", "coverage90"]
    assert allrows.loc["good", "cells"] == 5 * 3 * 2
    assert set(table.group) == {"all", "state S0", "state S1", "state S2", "power P0",
                                "power P1"}
    assert "recent offset (2 years)" in {f.method for f in rolling.baselines(obs, gen)}
