"""The observation model: known answers, recovery of known parameters, baselines."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from sim import observe
from sim.errors import SimError
from sim.params import round_dates

STATES = ["AAA", "BBB", "CCC", "DDD"]
POWERS = ["EAS", "WES", "NOR"]
YEARS = list(range(1990, 2010))


def synthetic(delta, gamma, sigma, *, votes=400, seed=7, until=2003):
    """Observations drawn from the observation model itself around a known covariate."""
    gen = np.random.Generator(np.random.PCG64(seed))
    Y, S, P = len(YEARS), len(STATES), len(POWERS)
    x = gen.normal(0.0, 1.0, (Y, S, P))
    world = gen.uniform(0.2, 0.8, (Y, P))
    mu = observe.logit(world)[:, None, :] + np.asarray(delta)[None, None, :] + gamma * x
    prob = observe.expit(mu + gen.normal(0.0, sigma, mu.shape))
    k = gen.binomial(votes, prob)
    agreement = pd.DataFrame(
        [
            {"year": y, "state": s, "power": p, "n_votes": votes, "agree": k[t, i, j] / votes}
            for t, y in enumerate(YEARS)
            for i, s in enumerate(STATES)
            for j, p in enumerate(POWERS)
        ]
    )
    world_df = pd.DataFrame(
        [
            {"year": y, "power": p, "n_rollcalls": votes, "countries": 150,
             "median_agree": world[t, j], "p25_agree": 0.0, "p75_agree": 1.0}
            for t, y in enumerate(YEARS)
            for j, p in enumerate(POWERS)
        ]
    )
    obs = observe.observed(agreement, world_df, years=YEARS, states=STATES, powers=POWERS,
                           until=until)
    return obs, x


def test_known_parameters_are_recovered():
    delta, gamma, sigma = [0.4, -0.3, 0.1], 0.8, 0.25
    obs, x = synthetic(delta, gamma, sigma)
    fit = observe.fit(x, obs)
    err = np.sqrt(np.diag(fit.cov))
    assert fit.n_obs == 14 * len(STATES) * len(POWERS)
    assert np.all(np.abs(fit.delta - delta) < 4 * err[:3])
    assert abs(fit.gamma - gamma) < 4 * err[3]
    assert abs(fit.gamma - gamma) < 0.1
    assert abs(fit.sigma - sigma) < 0.06


def test_fit_uses_training_years_only():
    obs, x = synthetic([0.0, 0.0, 0.0], 1.0, 0.1)
    late = obs.agree.copy()
    late[~obs.training] = 1.0 - late[~obs.training]  # scramble the held-out years
    scrambled = observe.Observed(obs.years, obs.states, obs.powers, late, obs.n, obs.alpha,
                                 obs.n_expected, obs.training)
    a, b = observe.fit(x, obs), observe.fit(x, scrambled)
    assert a.gamma == b.gamma and a.sigma == b.sigma and np.array_equal(a.delta, b.delta)


def test_fit_is_the_maximum_of_the_likelihood():
    obs, x = synthetic([0.2, 0.0, -0.2], 0.5, 0.3, votes=60)
    fit = observe.fit(x, obs)
    best = observe.loglik(x, obs, fit.delta, fit.gamma, fit.sigma)
    assert best == pytest.approx(fit.loglik, rel=1e-9)
    gen = np.random.Generator(np.random.PCG64(1))
    for _ in range(20):
        d = fit.delta + gen.normal(0, 0.05, 3)
        g = fit.gamma + gen.normal(0, 0.05)
        s = fit.sigma * np.exp(gen.normal(0, 0.1))
        assert observe.loglik(x, obs, d, np.array(g), np.array(s)) <= best + 1e-9


def test_fit_vectorises_over_leading_axes():
    obs, x = synthetic([0.2, 0.0, -0.2], 0.5, 0.3)
    stacked = np.stack([x, 2.0 * x, x + 1.0])
    many = observe.fit(stacked, obs)
    for i in range(3):
        one = observe.fit(stacked[i], obs)
        assert many.gamma[i] == pytest.approx(float(one.gamma), rel=1e-9)
        assert many.sigma[i] == pytest.approx(float(one.sigma), rel=1e-9)
    # doubling the covariate halves the slope; shifting it moves only the offsets
    assert many.gamma[1] == pytest.approx(many.gamma[0] / 2, rel=1e-6)
    assert many.gamma[2] == pytest.approx(many.gamma[0], rel=1e-6)
    assert np.allclose(many.delta[2], many.delta[0] - many.gamma[0], atol=1e-6)


def test_predictive_band_covers_about_nine_in_ten():
    delta, gamma, sigma = [0.1, -0.1, 0.0], 0.6, 0.2
    obs, x = synthetic(delta, gamma, sigma, votes=80, seed=11)
    mu = observe.mean_logit(x[None], obs, np.array(delta)[None], np.array([gamma]))
    gen = np.random.Generator(np.random.PCG64(5))
    draws = observe.predictive(mu, np.array([sigma]), obs, gen, draws=400)
    q = observe.quantiles(draws)
    inside = (obs.agree >= q[0]) & (obs.agree <= q[2])
    assert 0.83 < inside.mean() < 0.97


def test_bloc_covariate():
    M = observe.bloc_index(POWERS, {"east": ["EAS"], "west": ["WES", "NOR"]})
    a = np.array([[0.5, 0.3, 0.2]])
    x = observe.covariate(a, "bloc", M)
    assert x[0, 0] == pytest.approx(0.0)  # east holds half
    assert x[0, 1] == pytest.approx(0.0) and x[0, 2] == pytest.approx(0.0)
    assert observe.covariate(a, "power", M)[0, 2] == pytest.approx(np.log(0.2 / 0.8))
    with pytest.raises(SimError, match="link"):
        observe.covariate(a, "vote", M)


def test_yearly_means_follow_the_calendar():
    dates = round_dates(date(1992, 1, 1), date(1993, 12, 31), 3)
    R = len(dates) - 1
    a = np.arange(R + 1, dtype=float)[:, None, None] * np.ones((R + 1, 2, 2))
    out = observe.yearly(a, dates, [1992, 1993])
    assert out[0, 0, 0] == pytest.approx(np.mean([1, 2, 3, 4]))
    assert out[1, 0, 0] == pytest.approx(np.mean([5, 6, 7, 8]))
    with pytest.raises(SimError, match="no round in 1995"):
        observe.yearly(a, dates, [1995])


def test_baselines():
    obs, _ = synthetic([0.0, 0.0, 0.0], 0.0, 0.0)
    persist = observe.baseline_persistence(obs)
    assert np.all(np.isnan(persist[0]))
    assert np.array_equal(persist[1], obs.agree[0])
    last = int(np.flatnonzero(obs.training)[-1])
    assert np.array_equal(persist[-1], obs.agree[last])  # frozen after the training years
    offset = observe.baseline_offset(obs)
    # with no state effect at all, the offset baseline is close to the world series
    assert np.abs(observe.logit(offset) - obs.alpha[:, None, :]).max() < 0.3


def test_unknown_codes_and_missing_years_are_refused():
    agreement = pd.DataFrame([{"year": 1990, "state": "ZZZ", "power": "EAS", "n_votes": 5,
                               "agree": 0.5}])
    world = pd.DataFrame([{"year": 1990, "power": "EAS", "n_rollcalls": 5, "countries": 5,
                           "median_agree": 0.5, "p25_agree": 0.4, "p75_agree": 0.6}])
    with pytest.raises(SimError, match="unknown state code 'ZZZ'"):
        observe.observed(agreement, world, years=[1990], states=STATES, powers=POWERS, until=2000)
    agreement = agreement.assign(state="AAA")
    with pytest.raises(SimError, match="no world agreement with WES in 1990"):
        observe.observed(agreement, world, years=[1990], states=STATES, powers=POWERS, until=2000)
