"""The SMC sampler against known posteriors, and simulation-based calibration on a toy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sim.calibration import smc
from sim.calibration.priors import Dimension, Prior


def normal_prior(d: int) -> Prior:
    return Prior(tuple(Dimension(f"x{j}", "lognormal", 0.0, 1.0, math.nan, math.nan, 1.0,
                                 "a standard normal on the log scale")
                       for j in range(d)))


def gaussian_loglik(y: np.ndarray, s: float):
    """Observations y (m, D) ~ Normal(u, s^2) independently."""
    def ll(u: np.ndarray) -> np.ndarray:
        return -0.5 * (((y[None, :, :] - u[:, None, :]) / s) ** 2).sum(axis=(1, 2))
    return ll


def test_conjugate_gaussian_posterior_is_recovered():
    gen = np.random.Generator(np.random.PCG64(3))
    d, m, s = 2, 30, 1.5
    true = np.array([0.7, -1.2])
    y = true + s * gen.standard_normal((m, d))
    post_var = 1.0 / (1.0 + m / s**2)
    post_mean = post_var * y.sum(0) / s**2
    pop = smc.run(gaussian_loglik(y, s), normal_prior(d), 2000, seed=11)
    assert pop.phi == 1.0 and pop.stage >= 2
    np.testing.assert_allclose(pop.u.mean(0), post_mean, atol=0.03)
    np.testing.assert_allclose(pop.u.var(0), post_var, rtol=0.15)


def test_resuming_from_any_stage_gives_the_same_particles():
    y = np.array([[0.5, 0.1], [0.3, -0.2], [1.1, 0.4]])
    ll, prior = gaussian_loglik(y, 0.3), normal_prior(2)
    stages: list[smc.Population] = []
    full = smc.run(ll, prior, 300, seed=5, on_stage=stages.append)
    for saved in stages[:-1]:
        again = smc.run(ll, prior, 300, seed=5, resume=saved)
        np.testing.assert_array_equal(again.u, full.u)
    assert [p.stage for p in stages] == list(range(len(stages)))


def test_tempering_keeps_the_target_ess():
    y = np.zeros((50, 1))
    stages: list[smc.Population] = []
    smc.run(gaussian_loglik(y, 0.2), normal_prior(1), 1000, seed=2, target_ess=0.5,
            on_stage=stages.append)
    for p in stages[1:-1]:  # every stage but the last stops where the ESS hits its target
        assert p.ess == pytest.approx(500, rel=0.01)
    assert 0.05 < np.mean([p.acceptance for p in stages[1:]]) < 0.8


def test_simulation_based_calibration_on_a_toy():
    """Draw the truth from the prior, data from the truth, calibrate: the truth's rank among
    posterior draws is uniform (Talts et al. 2018) when the sampler is right."""
    gen = np.random.Generator(np.random.PCG64(17))
    prior, draws, ranks = normal_prior(1), 19, []
    for k in range(60):
        true = gen.standard_normal(1)
        y = true + 0.8 * gen.standard_normal((5, 1))
        pop = smc.run(gaussian_loglik(y, 0.8), prior, 400, seed=100 + k)
        thin = pop.u[:: len(pop.u) // draws][:draws, 0]
        ranks.append(int((thin < true[0]).sum()))
    counts = np.bincount(np.array(ranks) // 5, minlength=4)  # 4 bins of 5 ranks each
    assert stats.chisquare(counts).pvalue > 0.001, counts


def test_the_evidence_of_a_conjugate_model():
    """log p(y) of y_i ~ Normal(u, s^2), u ~ Normal(0, 1), is known in closed form."""
    gen = np.random.Generator(np.random.PCG64(8))
    m, s = 10, 0.7
    y = 0.4 + s * gen.standard_normal((m, 1))
    cov = s**2 * np.eye(m) + np.ones((m, m))
    exact = stats.multivariate_normal(np.zeros(m), cov).logpdf(y[:, 0])
    const = -0.5 * m * math.log(2 * math.pi * s**2)  # the toy likelihood leaves this out
    pop = smc.run(gaussian_loglik(y, s), normal_prior(1), 4000, seed=4)
    assert pop.log_evidence + const == pytest.approx(exact, abs=0.05)
