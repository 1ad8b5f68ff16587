"""The observation model: known answers, recovery of known parameters, baselines."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from sim.calibration import observe
from sim.core.errors import SimError
from sim.model.params import round_dates

STATES = ["AAA", "BBB", "CCC", "DDD"]
POWERS = ["EAS", "WES", "NOR"]
YEARS = list(range(1990, 2010))


def synthetic(delta, gamma, sigma, *, votes=400, seed=7, until=2003, eps=None):
    """Observations drawn from the observation model itself around a known covariate."""
    gen = np.random.Generator(np.random.PCG64(seed))
    Y, S, P = len(YEARS), len(STATES), len(POWERS)
    x = gen.normal(0.0, 1.0, (Y, S, P))
    world = gen.uniform(0.2, 0.8, (Y, P))
    mu = observe.logit(world)[:, None, :] + np.asarray(delta)[None, None, :] + gamma * x
    if eps is not None:
        mu = mu + eps[None]
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


WEAK = observe.Link("power", "power", delta_sd=10.0, gamma_sd=10.0)


def test_known_parameters_are_recovered():
    delta, gamma, sigma = [0.4, -0.3, 0.1], 0.8, 0.25
    obs, x = synthetic(delta, gamma, sigma)
    fit = observe.empirical_bayes(x, obs, WEAK)
    err = np.sqrt(np.diag(fit.cov))
    assert fit.n_obs == 14 * len(STATES) * len(POWERS)
    assert np.all(np.abs(fit.delta - delta) < 4 * err[:3])
    assert abs(fit.gamma - gamma) < 4 * err[3]
    assert abs(fit.gamma - gamma) < 0.1
    assert abs(fit.sigma - sigma) < 0.06


def test_state_offsets_are_recovered_and_shrunk():
    gen = np.random.Generator(np.random.PCG64(2))
    eps = gen.normal(0.0, 0.5, (len(STATES), len(POWERS)))
    obs, x = synthetic([0.2, -0.2, 0.0], 0.6, 0.1, eps=eps)
    link = observe.Link("power", "state", delta_sd=10.0, gamma_sd=10.0)
    fit = observe.empirical_bayes(x, obs, link)
    total = fit.offsets_of(fit.mean)
    truth = np.array([0.2, -0.2, 0.0])[None, :] + eps
    assert np.abs(total - truth).max() < 0.15
    assert abs(fit.gamma - 0.6) < 0.05
    assert 0.3 < float(fit.tau) < 0.8
    # the same data, fitted with power offsets only, explain less: a lower evidence
    assert float(fit.log_ml) > float(observe.empirical_bayes(x, obs, WEAK).log_ml) + 10


def test_fit_uses_training_years_only():
    obs, x = synthetic([0.0, 0.0, 0.0], 1.0, 0.1)
    late = obs.agree.copy()
    late[~obs.training] = 1.0 - late[~obs.training]  # scramble the held-out years
    scrambled = observe.Observed(obs.years, obs.states, obs.powers, late, obs.n, obs.alpha,
                                 obs.n_expected, obs.training)
    link = observe.Link("power", "state")
    a, b = observe.empirical_bayes(x, obs, link), observe.empirical_bayes(x, scrambled, link)
    assert np.array_equal(a.mean, b.mean) and a.log_ml == b.log_ml


@pytest.mark.parametrize("offsets", ["power", "state"])
def test_marginal_likelihood_is_the_integral_over_the_coefficients(offsets):
    from scipy.stats import multivariate_normal

    obs, x = synthetic([0.3, -0.1, 0.2], 0.7, 0.3, votes=60)
    link = observe.Link("power", offsets, delta_sd=1.0, gamma_mean=0.5, gamma_sd=0.7)
    fit = observe.posterior(x, obs, link, np.array(0.3), np.array(0.4))
    # importance sampling from a widened posterior: prior x likelihood / proposal
    proposal = multivariate_normal(fit.mean, 2.0 * fit.cov)
    beta = proposal.rvs(200_000, random_state=3)
    mu = observe.mean_logit(x, obs, fit, beta)  # (n, Y, S, P)
    mask = obs.fit_mask
    var = 0.3**2 + obs.v[mask]
    resid = obs.y[mask] - mu[:, mask]
    loglik = -0.5 * (np.log(2 * np.pi * var).sum() + (resid**2 / var).sum(axis=1))
    k = link.size(len(STATES), len(POWERS))
    sd = np.full(k, 1.0)
    if offsets == "state":
        sd[len(POWERS):-1] = 0.4
    sd[-1] = 0.7
    prior_mean = np.zeros(k)
    prior_mean[-1] = 0.5
    lp = multivariate_normal(prior_mean, np.diag(sd**2)).logpdf(beta)
    w = loglik + lp - proposal.logpdf(beta)
    estimate = np.log(np.mean(np.exp(w - w.max()))) + w.max()
    assert float(fit.log_ml) == pytest.approx(estimate, abs=0.05)


def test_posterior_vectorises_over_leading_axes():
    obs, x = synthetic([0.2, 0.0, -0.2], 0.5, 0.3)
    stacked = np.stack([x, 2.0 * x, x + 1.0])
    link = observe.Link("power", "state")
    sig, tau = np.array([0.2, 0.3, 0.4]), np.array([0.5, 0.6, 0.7])
    many = observe.posterior(stacked, obs, link, sig, tau)
    for i in range(3):
        one = observe.posterior(stacked[i], obs, link, sig[i], tau[i])
        np.testing.assert_allclose(many.mean[i], one.mean, rtol=1e-9, atol=1e-12)
        assert many.log_ml[i] == pytest.approx(float(one.log_ml), rel=1e-12)


def test_predictive_band_covers_about_nine_in_ten():
    delta, gamma, sigma = [0.1, -0.1, 0.0], 0.6, 0.2
    obs, x = synthetic(delta, gamma, sigma, votes=80, seed=11)
    fit = observe.posterior(x, obs, WEAK, np.array(sigma))
    beta = np.append(delta, gamma)[None]
    mu = observe.mean_logit(x[None], obs, fit, beta)
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
