"""A sequential Monte Carlo sampler: from the prior to the posterior by likelihood tempering.

Particles start as draws from the prior. Each stage raises the likelihood's exponent ``phi``
from its last value toward 1 by as much as keeps the effective sample size of the reweighted
particles at ``target_ess`` of their number (found by bisection), resamples them
(systematically), and moves each by a few random-walk Metropolis steps that leave the tempered
posterior ``prior x likelihood^phi`` invariant, with a Gaussian proposal shaped by the
particles' own covariance. The last stage reaches ``phi = 1``: its particles are draws from
the posterior. (Del Moral, Doucet and Jasra 2006; Jasra, Stephens, Doucet and Tsagaris 2011
for the adaptive tempering; Chopin and Papaspiliopoulos 2020, ch. 17.)

Everything random in stage ``t`` comes from ``named_stream(seed, "smc", t)``: a run resumed
from any saved stage gives the same particles as one that never stopped. The likelihood is
called on whole arrays of particles, so the caller can batch, spread or cache the evaluations.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.calibration.priors import Prior
from sim.model.rng import named_stream

#: ``loglik(u)``: log-likelihood ``(n,)`` of particles ``u`` ``(n, D)`` (unconstrained scale).
LogLik = Callable[[np.ndarray], np.ndarray]
#: Metropolis acceptance the proposal scale is steered toward (Roberts and Rosenthal 2001).
TARGET_ACCEPTANCE = 0.234


@dataclass(frozen=True)
class Population:
    """The particles after a stage (stage 0: the prior draws), and how the stage went.

    Attributes:
        stage: 0 for the prior draws, then 1, 2, ...
        phi: the likelihood's exponent reached (1 at the posterior).
        u: ``(n, D)`` particles on the unconstrained scale, equally weighted.
        loglik: ``(n,)`` their log-likelihoods.
        logprior: ``(n,)`` their prior log-densities.
        ess: effective sample size of the reweighting, before resampling (n at stage 0).
        acceptance: share of Metropolis proposals accepted in the stage.
        scale: the proposal's scale factor for the next stage.
        evaluations: likelihood evaluations so far.
        log_evidence: running estimate of the log marginal likelihood ``log p(data)`` (the sum
            over stages of the log mean incremental weight; exact at ``phi = 1`` as the number
            of particles grows), for comparing models fitted to the same data.
    """

    stage: int
    phi: float
    u: np.ndarray
    loglik: np.ndarray
    logprior: np.ndarray
    ess: float
    acceptance: float
    scale: float
    evaluations: int
    log_evidence: float = 0.0

    @property
    def done(self) -> bool:
        return self.phi >= 1.0


def _finite(x: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(x), x, -np.inf)


def ess(log_w: np.ndarray) -> float:
    """Effective sample size of log-weights: ``(sum w)^2 / sum w^2``."""
    if not np.isfinite(log_w).any():
        return 0.0
    w = np.exp(log_w - np.max(log_w))
    return float(w.sum() ** 2 / (w * w).sum())


def next_phi(loglik: np.ndarray, phi: float, target: float) -> float:
    """The largest exponent up to 1 whose reweighting keeps an ESS of at least ``target``."""
    if ess((1.0 - phi) * loglik) >= target:
        return 1.0
    lo, hi = phi, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if ess((mid - phi) * loglik) >= target:
            lo = mid
        else:
            hi = mid
    return max(lo, phi + 1e-12)


def systematic(weights: np.ndarray, gen: np.random.Generator) -> np.ndarray:
    """Systematic resampling: indices ``(n,)`` drawn in proportion to ``weights``."""
    n = len(weights)
    cum = np.cumsum(weights / weights.sum())
    cum[-1] = 1.0
    return np.searchsorted(cum, (gen.uniform() + np.arange(n)) / n)


def start(loglik: LogLik, prior: Prior, n: int, seed: int) -> Population:
    """Stage 0: ``n`` draws from the prior and their likelihoods."""
    gen = named_stream(seed, "smc", 0)
    u = prior.sample(gen, n)
    d = u.shape[1]
    return Population(0, 0.0, u, _finite(loglik(u)), prior.logpdf(u), float(n), math.nan,
                      2.38 / math.sqrt(d), n)


def step(
    pop: Population, loglik: LogLik, prior: Prior, seed: int, *, target_ess: float = 0.5,
    moves: int = 5,
) -> Population:
    """One stage: temper, resample, move."""
    gen = named_stream(seed, "smc", pop.stage + 1)
    n, d = pop.u.shape
    phi = next_phi(pop.loglik, pop.phi, target_ess * n)
    log_w = (phi - pop.phi) * pop.loglik
    stage_ess = ess(log_w)
    top = float(np.max(log_w))
    w = np.exp(log_w - top)
    log_z = pop.log_evidence + top + math.log(float(w.mean()))
    idx = systematic(w, gen)
    u, ll, lp = pop.u[idx], pop.loglik[idx], pop.logprior[idx]
    # the proposal's shape: the reweighted particles' covariance (a ridge keeps it positive)
    cov = np.atleast_2d(np.cov(u, rowvar=False)) + 1e-10 * np.eye(d)
    chol = np.linalg.cholesky(cov)
    scale, accepted = pop.scale, 0
    for _ in range(moves):
        prop = u + scale * gen.standard_normal((n, d)) @ chol.T
        lp_new = prior.logpdf(prop)
        ll_new = _finite(loglik(prop))
        log_a = (lp_new + phi * ll_new) - (lp + phi * ll)
        take = np.log(gen.uniform(size=n)) < np.nan_to_num(log_a, nan=-np.inf)
        u = np.where(take[:, None], prop, u)
        ll, lp = np.where(take, ll_new, ll), np.where(take, lp_new, lp)
        rate = float(take.mean())
        accepted += int(take.sum())
        scale *= math.exp(rate - TARGET_ACCEPTANCE)
    return Population(pop.stage + 1, phi, u, ll, lp, stage_ess, accepted / (n * moves), scale,
                      pop.evaluations + n * moves, log_z)


def run(
    loglik: LogLik,
    prior: Prior,
    n: int,
    seed: int,
    *,
    target_ess: float = 0.5,
    moves: int = 5,
    resume: Population | None = None,
    on_stage: Callable[[Population], None] | None = None,
    max_stages: int = 200,
) -> Population:
    """Run stages until ``phi`` reaches 1; ``on_stage`` sees every finished stage (to save it).

    ``resume`` continues from a saved stage, with the same result as an uninterrupted run.
    """
    pop = resume if resume is not None else start(loglik, prior, n, seed)
    if resume is None and on_stage is not None:
        on_stage(pop)
    while not pop.done:
        if pop.stage >= max_stages:
            raise RuntimeError(f"tempering did not reach the posterior in {max_stages} stages")
        pop = step(pop, loglik, prior, seed, target_ess=target_ess, moves=moves)
        if on_stage is not None:
            on_stage(pop)
    return pop
