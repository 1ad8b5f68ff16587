"""The vote-mixture link: from a run's alignment to UN agreement, with a fixed scale.

A state that follows power q with weight ``a[s, q]`` votes as q does, and keeps a share ``o``
of its votes to its own way, which agrees with each power as the rest of the world's median
member does (docs/ODD.md, section 11):

    m[t, s, p] = (1 - o) * sum_q a[t, s, q] * M[t, q, p] + o * W[t, p]
    y[t, s, p] = logit m[t, s, p] + d[t, s, p] + e[t, s, p]
    d[t]       = rho * d[t - 1] + eta,   eta ~ Normal(0, omega^2),   d[first] ~ Normal(0, tau^2)
    e          ~ Normal(0, c^2 * v[t, s, p] + q[t, s, p])

``M[t, q, p]`` is the agreement of power q with power p in year t (1 on the diagonal; the
powers' own table), ``W[t, p]`` the world's median agreement with p, ``a`` the model's
alignment averaged over the year's rounds (and over replicates), ``y`` the empirical logit of
the observed agreement with its binomial variance ``v`` (scaled by ``c``: votes on related
resolutions are not independent), and ``q`` the model's own spread over replicates on the
logit scale. The offset ``d`` is each pair's habit beyond the model: it starts near zero and
decays toward it at rate ``rho`` a year, so the model's levels are tested and a pair's recent
departures are carried forward only as long as the training years say they last. Each pair is
a scalar Kalman filter; the log-likelihood is the sum of its one-step prediction errors.

There is no free slope and no free level: the five link parameters ``(o, c, rho, omega,
tau)`` are the same for every pair. Russia and China, who vote together, are close in ``M``, so
a state moving from one to the other barely changes its predicted votes; the EU and Japan, who
also vote together, are hard to tell apart by votes at all.

Pure functions of arrays; leading axes (parameter sets, posterior draws) are allowed wherever
the model's side is taken.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.calibration.observe import LOG_2PI, Observed, expit, logit
from sim.core.errors import SimError

#: The link's parameters, in the order of :class:`Theta`'s fields.
NAMES = ("own", "noise", "rho", "omega", "tau")
#: Their registry-style names in a priors file and a posterior.
QUANTITIES = tuple(f"observation.{n}" for n in NAMES)
#: Values of the parameters a priors file leaves out: held fixed (each with its reason in
#: docs/ODD.md section 11): no own way, votes as independent draws, no offset at all.
FIXED = {"own": 0.0, "noise": 1.0, "rho": 0.0, "omega": 1e-3, "tau": 1e-3}
#: Bounds searched by :func:`fit` on each natural scale.
BOUNDS = {"own": (1e-3, 0.95), "noise": (0.3, 6.0), "rho": (1e-3, 0.999),
          "omega": (1e-3, 2.0), "tau": (1e-3, 3.0)}


@dataclass(frozen=True)
class Theta:
    """The link's parameters; each an array broadcastable to the leading axes (or a float).

    Attributes:
        own: share of a state's votes cast its own way (like the world's median member).
        noise: scale ``c`` of the vote count's sampling sd (1: votes as independent draws).
        rho: yearly persistence of a pair's offset (0: none carried; 1: a random walk).
        omega: sd of a year's new offset (logit units).
        tau: sd of a pair's offset in its first year.
    """

    own: np.ndarray
    noise: np.ndarray
    rho: np.ndarray
    omega: np.ndarray
    tau: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray) -> Theta:
        """From an array ``(..., 5)`` in the order of :data:`NAMES`."""
        v = np.asarray(values, dtype=float)
        return cls(*(v[..., i] for i in range(len(NAMES))))

    def stack(self) -> np.ndarray:
        """``(..., 5)`` in the order of :data:`NAMES`."""
        parts = np.broadcast_arrays(*(np.asarray(getattr(self, n), dtype=float) for n in NAMES))
        return np.stack(parts, axis=-1)

    def check(self) -> None:
        for name in NAMES:
            lo, hi = (0.0, 1.0) if name in ("own", "rho") else (0.0, np.inf)
            x = np.asarray(getattr(self, name), dtype=float)
            if not np.all(np.isfinite(x)) or np.any(x < lo) or np.any(x > hi):
                raise SimError(f"observation.{name}: expected a value in [{lo:g}, {hi:g}]")


def theta_of(draws: pd.DataFrame) -> Theta:
    """The parameters of every row of a posterior's draws (:data:`FIXED` where a column is
    missing: not calibrated)."""
    n = len(draws)
    return Theta(**{
        name: (draws[q].to_numpy(dtype=float) if q in draws else np.full(n, FIXED[name]))
        for name, q in zip(NAMES, QUANTITIES, strict=True)
    })


# --------------------------------------------------------------------------- the data side


def powers_matrix(
    table: pd.DataFrame, years: Sequence[int], powers: Sequence[str], *, source: str
) -> np.ndarray:
    """``M`` ``(Y, P, P)``: the powers' agreement with each other (1 on the diagonal).

    Years of the grid after the table's last are given its last year (stated wherever an
    answer uses them); a missing pair inside it is refused.

    Raises:
        SimError: a year of the grid before the table, or a pair the table lacks.
    """
    pw = list(powers)
    first, last = int(table["year"].min()), int(table["year"].max())
    lookup = {(int(y), str(a), str(b)): float(g) for y, a, b, g in zip(
        table["year"], table["power_a"], table["power_b"], table["agree"], strict=True)}
    out = np.empty((len(years), len(pw), len(pw)))
    for t, year in enumerate(years):
        y = min(int(year), last)
        if y < first:
            raise SimError(f"{source}: year: no agreement of the powers in {year}; the table "
                           f"covers {first}-{last}")
        for i, a in enumerate(pw):
            out[t, i, i] = 1.0
            for j in range(i + 1, len(pw)):
                b = pw[j]
                g = lookup.get((y, a, b), lookup.get((y, b, a)))
                if g is None:
                    raise SimError(f"{source}: power_b: no agreement of {a} with {b} in {y}")
                out[t, i, j] = out[t, j, i] = g
    return out


def world_share(obs: Observed) -> np.ndarray:
    """``W`` ``(Y, P)``: the world's median agreement with each power (the own-way voter)."""
    return expit(obs.alpha)


# --------------------------------------------------------------------------- the model side


def follow(abar: np.ndarray, mutual: np.ndarray) -> np.ndarray:
    """``sum_q a[..., t, s, q] * M[t, q, p]``: agreement of a state voting as the powers it
    follows, ``(..., Y, S, P)``."""
    out: np.ndarray = np.einsum("...tsq,tqp->...tsp", abar, mutual)
    return out


def share(f: np.ndarray, world: np.ndarray, own: np.ndarray | float) -> np.ndarray:
    """``m = (1 - o) f + o W``, ``(..., Y, S, P)``; ``own`` ``(...)`` or a float."""
    o = np.asarray(own, dtype=float)[..., None, None, None]
    out: np.ndarray = (1.0 - o) * f + o * world[:, None, :]
    return out


def model_side(
    f_mean: np.ndarray, f_var: np.ndarray, world: np.ndarray, own: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """The model's logit ``z`` and its spread ``q`` over replicates, ``(..., Y, S, P)``.

    ``f_mean``, ``f_var``: mean and variance over replicates of :func:`follow`; ``q`` is the
    delta-method variance of ``logit m``: ``(1 - o)^2 var f / (m (1 - m))^2``.
    """
    m = np.clip(share(f_mean, world, own), 1e-6, 1 - 1e-6)
    o = np.asarray(own, dtype=float)[..., None, None, None]
    q: np.ndarray = (1.0 - o) ** 2 * f_var / (m * (1.0 - m)) ** 2
    return logit(m), q


def moments(abar: np.ndarray, mutual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance over the first axis (replicates) of :func:`follow`."""
    f = follow(abar, mutual)
    return f.mean(axis=0), f.var(axis=0)


# --------------------------------------------------------------------------- the filter


@dataclass(frozen=True)
class Filtered:
    """The filter's output; leading axes follow the model side's.

    Attributes:
        loglik: ``(...)`` log-likelihood of the training observations.
        d_mean, d_var: ``(..., Y, S, P)`` the offset's distribution in each year given the
            training observations of the years before it (after the training years: the
            forecast from the last of them).
    """

    loglik: np.ndarray
    d_mean: np.ndarray
    d_var: np.ndarray


def kalman(obs: Observed, z: np.ndarray, q: np.ndarray, th: Theta) -> Filtered:
    """Run every pair's filter over the grid's years (see the module docstring)."""
    mask = obs.fit_mask
    y = np.where(mask, obs.y, 0.0)
    v = np.where(mask, obs.v, 0.0)
    lead = z.shape[:-3]
    Y, S, P = mask.shape

    def col(x: np.ndarray) -> np.ndarray:
        return np.broadcast_to(np.asarray(x, dtype=float), lead)[..., None, None]

    rho, om2, c2, tau2 = col(th.rho), col(th.omega) ** 2, col(th.noise) ** 2, col(th.tau) ** 2
    m = np.zeros((*lead, S, P))
    var = np.broadcast_to(tau2, (*lead, S, P)).copy()
    ll = np.zeros(lead)
    d_mean = np.empty((*lead, Y, S, P))
    d_var = np.empty((*lead, Y, S, P))
    for t in range(Y):
        if t:
            m = rho * m
            var = rho * rho * var + om2
        d_mean[..., t, :, :] = m
        d_var[..., t, :, :] = var
        seen = mask[t]
        if not seen.any():
            continue
        R = c2 * v[t] + q[..., t, :, :]
        s_ = var + R
        r = y[t] - z[..., t, :, :] - m
        ll += np.where(seen, -0.5 * (LOG_2PI + np.log(s_) + r * r / s_), 0.0).sum((-1, -2))
        k = var / s_
        m = np.where(seen, m + k * r, m)
        var = np.where(seen, var * (1.0 - k), var)
    return Filtered(ll, d_mean, d_var)


def loglik(obs: Observed, f_mean: np.ndarray, f_var: np.ndarray, world: np.ndarray,
           th: Theta) -> np.ndarray:
    """Log-likelihood ``(...)`` of the training observations given the model side."""
    z, q = model_side(f_mean, f_var, world, th.own)
    return kalman(obs, z, q, th).loglik


# --------------------------------------------------------------------------- prediction


def predictive_moments(
    obs: Observed, f_mean: np.ndarray, f_var: np.ndarray, world: np.ndarray, th: Theta
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance ``(..., Y, S, P)`` of each year's observed empirical logit, given the
    training observations before it: the model's logit plus the offset's forecast, with the
    offset's, the model's and the vote count's variances (counts: ``obs.n_expected``)."""
    z, q = model_side(f_mean, f_var, world, th.own)
    flt = kalman(obs, z, q, th)
    mean = z + flt.d_mean
    a = np.clip(expit(mean), 1e-4, 1 - 1e-4)
    c2 = np.asarray(th.noise, dtype=float)[..., None, None, None] ** 2
    var: np.ndarray = flt.d_var + q + c2 / (obs.n_expected * a * (1.0 - a))
    return mean, var


def sample(mean: np.ndarray, var: np.ndarray, gen: np.random.Generator, draws: int) -> np.ndarray:
    """Draws of the observed agreement ``(N * draws, Y, S, P)`` from normal logits, with the
    leading axis of ``mean`` (``(N, Y, S, P)`` or ``(Y, S, P)``) pooled."""
    mu = mean.reshape(-1, *mean.shape[-3:])
    sd = np.sqrt(var).reshape(mu.shape)
    e = gen.standard_normal((mu.shape[0], draws, *mu.shape[1:]))
    out: np.ndarray = expit(mu[:, None] + sd[:, None] * e).reshape(-1, *mu.shape[1:])
    return out


# --------------------------------------------------------------------------- fitting


def _natural(u: np.ndarray) -> Theta:
    """From the search's unbounded scale (logit inside each bound) to :class:`Theta`."""
    cols = []
    for i, name in enumerate(NAMES):
        lo, hi = BOUNDS[name]
        cols.append(lo + (hi - lo) * expit(u[..., i]))
    return Theta(*cols)


def _unbounded(th: Theta) -> np.ndarray:
    cols = []
    for name in NAMES:
        lo, hi = BOUNDS[name]
        x = np.asarray(getattr(th, name), dtype=float)
        cols.append(logit((x - lo) / (hi - lo)))
    return np.stack(np.broadcast_arrays(*cols), axis=-1)


#: Where the search starts (inside every bound).
START = Theta(np.array(0.25), np.array(1.5), np.array(0.7), np.array(0.1), np.array(0.3))


def fit(
    obs: Observed, f_mean: np.ndarray, f_var: np.ndarray, world: np.ndarray,
    *, fixed: dict[str, float] | None = None, start: Theta = START,
) -> tuple[Theta, float]:
    """The link parameters that maximise the training log-likelihood, for one model side
    ``(Y, S, P)``; ``fixed`` holds some at given values (e.g. ``own = 1``: no model at all)."""
    from scipy.optimize import minimize

    fixed = dict(fixed or {})
    unknown = [k for k in fixed if k not in NAMES]
    if unknown:
        raise SimError(f"fixed: unknown link parameter '{unknown[0]}'; expected one of "
                       f"{', '.join(NAMES)}")
    free = [i for i, n in enumerate(NAMES) if n not in fixed]
    u0 = _unbounded(start)

    def theta(uf: np.ndarray) -> Theta:
        u = np.broadcast_to(u0, (*uf.shape[:-1], len(NAMES))).copy()
        u[..., free] = uf
        th = _natural(u)
        vals = {n: getattr(th, n) for n in NAMES}
        for k, val in fixed.items():
            vals[k] = np.full(uf.shape[:-1], float(val))
        return Theta(**vals)

    def nll(uf: np.ndarray) -> float:
        return -float(loglik(obs, f_mean, f_var, world, theta(uf)))

    best = None
    for shift in (0.0, -1.0, 1.0):
        res = minimize(nll, u0[free] + shift, method="Nelder-Mead",
                       options={"maxiter": 4000, "xatol": 1e-6, "fatol": 1e-8})
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    return theta(np.asarray(best.x)), -float(best.fun)
