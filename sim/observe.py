"""The observation model: from a run's alignment to agreement in UN General Assembly votes.

Alignment is a share on a simplex; agreement is the rate at which a state and a power cast the
same vote. The link takes the agenda out with the rest of the world's agreement with each power
(docs/ODD.md, section 11):

    y[t,s,p]  = logit of the observed agreement (empirical: (k + 1/2) / (n + 1), k = agree * n)
    mu[t,s,p] = alpha[t,p] + delta[p] + gamma * x[t,s,p]
    y ~ Normal(mu, sigma^2 + v[t,s,p])

where ``alpha[t,p]`` is the logit of the world's median agreement with power p in year t, ``x``
the model's covariate (the logit of the state's alignment with p's bloc, or with p alone,
averaged over the year's rounds), and ``v = 1/(k + 1/2) + 1/(n - k + 1/2)`` the sampling
variance of an empirical logit of ``n`` votes. ``delta`` (one per power), ``gamma`` and
``sigma`` are fitted on the training years only: for a fixed ``sigma`` the others are weighted
least squares, and ``sigma`` is profiled.

Pure functions of arrays (like :mod:`sim.rules`); leading axes (replicates, parameter sets)
are allowed wherever an array of the model's covariate is taken.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from sim.errors import SimError

LINKS = ("bloc", "power")
#: The interval of the predictive bands, and the quantiles written.
QUANTILES = (0.05, 0.5, 0.95)
#: Bounds of the profiled observation sd (logit units).
SIGMA_RANGE = (1e-3, 5.0)
_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0
LOG_2PI = float(np.log(2.0 * np.pi))


def logit(p: np.ndarray) -> np.ndarray:
    """``log(p / (1 - p))``, with p kept inside (1e-12, 1 - 1e-12)."""
    q = np.clip(p, 1e-12, 1.0 - 1e-12)
    out: np.ndarray = np.log(q) - np.log1p(-q)
    return out


def expit(x: np.ndarray) -> np.ndarray:
    """The inverse of :func:`logit`."""
    out: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * x))
    return out


@dataclass(frozen=True)
class Observed:
    """Observed agreement on the model's grid of years, states and powers.

    Attributes:
        years: ``(Y,)`` calendar years of the grid.
        states, powers: codes, in the scenario's order.
        agree: ``(Y, S, P)`` observed agreement; NaN where there is no observation.
        n: ``(Y, S, P)`` votes behind each observation (0 where none).
        alpha: ``(Y, P)`` logit of the world's median agreement with each power.
        n_expected: ``(Y, S, P)`` votes a year's observation would rest on: the observed count
            where there is one, else the power's roll calls that year times the state's
            average participation in the observed years.
        training: ``(Y,)`` True for the years the fit may use.
        logits, variances: observations given directly on the logit scale with their sampling
            variances (synthetic data); by default both come from ``agree`` and ``n``.
    """

    years: np.ndarray
    states: tuple[str, ...]
    powers: tuple[str, ...]
    agree: np.ndarray
    n: np.ndarray
    alpha: np.ndarray
    n_expected: np.ndarray
    training: np.ndarray
    logits: np.ndarray | None = None
    variances: np.ndarray | None = None

    @property
    def y(self) -> np.ndarray:
        """Empirical logits ``(Y, S, P)`` (NaN where there is no observation)."""
        if self.logits is not None:
            return self.logits
        k = np.round(self.agree * self.n)
        with np.errstate(invalid="ignore", divide="ignore"):
            out: np.ndarray = np.log((k + 0.5) / (self.n - k + 0.5))
        return out

    @property
    def v(self) -> np.ndarray:
        """Sampling variances of the empirical logits ``(Y, S, P)`` (NaN where none)."""
        if self.variances is not None:
            return self.variances
        k = np.round(self.agree * self.n)
        with np.errstate(invalid="ignore", divide="ignore"):
            out: np.ndarray = 1.0 / (k + 0.5) + 1.0 / (self.n - k + 0.5)
        return out

    @property
    def fit_mask(self) -> np.ndarray:
        """``(Y, S, P)``: observed cells of the training years."""
        out: np.ndarray = ~np.isnan(self.agree) & self.training[:, None, None]
        return out


def observed(
    agreement: pd.DataFrame,
    world: pd.DataFrame,
    *,
    years: Sequence[int],
    states: Sequence[str],
    powers: Sequence[str],
    until: int,
    source: str = "agreement table",
    world_source: str = "world table",
) -> Observed:
    """Put the observed tables on the model's grid; years after ``until`` are not for fitting.

    Raises:
        SimError: a code in the tables that the scenario lacks, a year of the grid the world
            table does not cover, or no training observation at all.
    """
    st, pw = list(states), list(powers)
    for col, known, table, where in (
        ("state", st, agreement, source),
        ("power", pw, agreement, source),
        ("power", pw, world, world_source),
    ):
        unknown = sorted(set(table[col]) - set(known))
        if unknown:
            raise SimError(
                f"{where}: {col}: unknown {col} code '{unknown[0]}'; the scenario has "
                f"{', '.join(known)}"
            )
    Y, S, P = len(years), len(st), len(pw)
    yi = {int(y): i for i, y in enumerate(years)}
    w_year = [int(v) for v in world["year"].to_numpy()]
    w_power = [str(v) for v in world["power"].to_numpy()]
    have = set(zip(w_year, w_power, strict=True))
    for y in years:
        for p in pw:
            if (int(y), p) not in have:
                raise SimError(
                    f"{world_source}: year: no world agreement with {p} in {y}; the table "
                    f"covers {min(w_year)}-{max(w_year)}"
                )
    agree = np.full((Y, S, P), np.nan)
    n = np.zeros((Y, S, P))
    for year, state, power, votes, share in zip(
        agreement["year"].to_numpy(),
        agreement["state"].to_numpy(),
        agreement["power"].to_numpy(),
        agreement["n_votes"].to_numpy(dtype=float),
        agreement["agree"].to_numpy(dtype=float),
        strict=True,
    ):
        t = yi.get(int(year))
        if t is not None:
            agree[t, st.index(str(state)), pw.index(str(power))] = share
            n[t, st.index(str(state)), pw.index(str(power))] = votes
    alpha = np.empty((Y, P))
    rollcalls = np.empty((Y, P))
    for year, power, calls, median in zip(
        w_year,
        w_power,
        world["n_rollcalls"].to_numpy(dtype=float),
        world["median_agree"].to_numpy(dtype=float),
        strict=True,
    ):
        t = yi.get(year)
        if t is not None:
            alpha[t, pw.index(power)] = logit(np.array(median))
            rollcalls[t, pw.index(power)] = calls
    training = np.array([int(y) <= until for y in years])
    seen = ~np.isnan(agree)
    if not (seen & training[:, None, None]).any():
        raise SimError(f"{source}: year: no observation in the training years up to {until}")
    # average participation of each state: votes cast over the power's roll calls
    ratio = np.where(seen, n / rollcalls[:, None, :], np.nan)
    counted = seen.sum(axis=(0, 2))
    part = np.where(seen, ratio, 0.0).sum(axis=(0, 2)) / np.maximum(counted, 1)
    part = np.where(counted > 0, part, np.nanmean(ratio))
    n_expected = np.where(
        seen, n, np.maximum(1.0, np.round(part[None, :, None] * rollcalls[:, None, :]))
    )
    return Observed(
        years=np.array([int(y) for y in years]),
        states=tuple(st),
        powers=tuple(pw),
        agree=agree,
        n=n,
        alpha=alpha,
        n_expected=n_expected,
        training=training,
    )


# --------------------------------------------------------------------------- model side


def year_rounds(dates: Sequence[date], years: Sequence[int]) -> list[np.ndarray]:
    """For each year, the rounds (1-based) that begin in it: ``dates[r - 1].year == year``."""
    begins = np.array([d.year for d in dates[:-1]])
    out = [np.flatnonzero(begins == y) + 1 for y in years]
    for y, rounds in zip(years, out, strict=True):
        if not len(rounds):
            raise SimError(f"time: the calendar has no round in {y}")
    return out


def calendar_years(dates: Sequence[date]) -> list[int]:
    """Every calendar year in which a round begins."""
    return sorted({d.year for d in dates[:-1]})


def yearly(alignment: np.ndarray, dates: Sequence[date], years: Sequence[int]) -> np.ndarray:
    """The alignment averaged over each year's rounds: ``(..., R+1, S, P)`` -> ``(..., Y, S, P)``.
    """
    groups = year_rounds(dates, years)
    return np.stack([alignment[..., g, :, :].mean(axis=-3) for g in groups], axis=-3)


def bloc_index(powers: Sequence[str], blocs: Mapping[str, Sequence[str]] | None) -> np.ndarray:
    """``(P, P)`` 0/1 matrix: ``M[p, q] = 1`` when q is in p's bloc (p alone if in none)."""
    P = len(powers)
    M = np.eye(P)
    for members in (blocs or {}).values():
        idx = [powers.index(q) for q in members if q in powers]
        for i in idx:
            M[i, idx] = 1.0
    return M


def covariate(abar: np.ndarray, link: str, bloc: np.ndarray) -> np.ndarray:
    """The model's side of the link, ``(..., Y, S, P)``.

    ``link='bloc'``: logit of the state's alignment with the bloc of p (``bloc`` from
    :func:`bloc_index`); ``link='power'``: logit of its alignment with p alone.
    """
    if link == "power":
        return logit(abar)
    if link == "bloc":
        return logit(abar @ bloc.T)
    raise SimError(f"link: expected one of {', '.join(LINKS)}, found {link!r}")


# --------------------------------------------------------------------------- fitting


@dataclass(frozen=True)
class Fit:
    """Fitted observation parameters; leading axes follow the covariate's.

    Attributes:
        delta: ``(..., P)`` power offsets (logit).
        gamma: ``(...)`` slope on the covariate.
        sigma: ``(...)`` sd of the year-to-year deviation beyond vote-count noise (logit).
        loglik: ``(...)`` log-likelihood of the training observations at the fit.
        cov: ``(..., P + 1, P + 1)`` asymptotic covariance of ``(delta, gamma)`` at ``sigma``.
        n_obs: number of training observations.
    """

    delta: np.ndarray
    gamma: np.ndarray
    sigma: np.ndarray
    loglik: np.ndarray
    cov: np.ndarray
    n_obs: int


def _cells(obs: Observed) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Training cells as flat arrays: index into (Y,S,P), power, y - alpha, v."""
    mask = obs.fit_mask
    idx = np.flatnonzero(mask.ravel())
    p = np.broadcast_to(np.arange(len(obs.powers)), mask.shape).ravel()[idx]
    alpha = np.broadcast_to(obs.alpha[:, None, :], mask.shape).ravel()[idx]
    y = obs.y.ravel()[idx] - alpha
    v = obs.v.ravel()[idx]
    return mask, idx, p, y, v


def _normal(
    x: np.ndarray, p: np.ndarray, y: np.ndarray, v: np.ndarray, sigma: np.ndarray, n_powers: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The weighted normal equations of ``y`` on power dummies and ``x``, per leading index.

    ``x`` ``(..., n)``; returns ``A = X'WX`` ``(..., k, k)``, ``b = X'Wy`` ``(..., k)``,
    ``y'Wy`` and ``sum(log w)`` ``(...)``, with ``k = P + 1`` and ``w = 1 / (sigma^2 + v)``.
    """
    P = n_powers
    w = 1.0 / (sigma[..., None] ** 2 + v)  # (..., n)
    onehot = np.eye(P)[p]  # (n, P)
    lead = x.shape[:-1]
    A = np.zeros((*lead, P + 1, P + 1))
    b = np.zeros((*lead, P + 1))
    A[..., :P, :P] = np.einsum("...n,np,nq->...pq", w, onehot, onehot)
    cross = np.einsum("...n,np->...p", w * x, onehot)
    A[..., :P, P] = cross
    A[..., P, :P] = cross
    A[..., P, P] = (w * x * x).sum(-1)
    b[..., :P] = np.einsum("...n,np->...p", w * y, onehot)
    b[..., P] = (w * x * y).sum(-1)
    return A, b, (w * y * y).sum(-1), np.log(w).sum(-1)


def _wls(
    x: np.ndarray, p: np.ndarray, y: np.ndarray, v: np.ndarray, sigma: np.ndarray, n_powers: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted least squares: coefficients ``(..., k)``, the log-likelihood at them ``(...)``
    and the inverse normal matrix ``(..., k, k)`` (see :func:`_normal`)."""
    A, b, ywy, logw = _normal(x, p, y, v, sigma, n_powers)
    # a covariate with no spread leaves gamma unidentified: a tiny ridge keeps it at 0
    A[..., -1, -1] += 1e-12
    inv = np.linalg.inv(A)
    coef = np.einsum("...ij,...j->...i", inv, b)
    quad = ywy - np.einsum("...i,...i->...", coef, b)
    loglik = -0.5 * (len(y) * LOG_2PI - logw + quad)
    return coef, loglik, inv


def fit(x: np.ndarray, obs: Observed, iterations: int = 60) -> Fit:
    """Maximum-likelihood ``delta, gamma, sigma`` on the training years.

    ``x``: the covariate ``(..., Y, S, P)`` (e.g. of the replicate-mean alignment, or one per
    parameter set). ``sigma`` is found by golden-section search on its logarithm (the profile
    log-likelihood is unimodal in practice), the rest in closed form at each ``sigma``.
    """
    _, idx, p, y, v = _cells(obs)
    P = len(obs.powers)
    xs = x.reshape(*x.shape[:-3], -1)[..., idx]
    lead = xs.shape[:-1]
    lo = np.full(lead, np.log(SIGMA_RANGE[0]))
    hi = np.full(lead, np.log(SIGMA_RANGE[1]))

    def profile(log_sigma: np.ndarray) -> np.ndarray:
        return _wls(xs, p, y, v, np.exp(log_sigma), P)[1]

    c = hi - _GOLDEN * (hi - lo)
    d = lo + _GOLDEN * (hi - lo)
    fc, fd = profile(c), profile(d)
    for _ in range(iterations):
        left = fc > fd  # the maximum lies in [lo, d]
        hi = np.where(left, d, hi)
        lo = np.where(left, lo, c)
        c_new = hi - _GOLDEN * (hi - lo)
        d_new = lo + _GOLDEN * (hi - lo)
        c, d = np.where(left, c_new, d), np.where(left, c, d_new)
        fc, fd = np.where(left, profile(c_new), fd), np.where(left, fc, profile(d_new))
    sigma = np.exp(0.5 * (lo + hi))
    coef, loglik, inv = _wls(xs, p, y, v, sigma, P)
    return Fit(
        delta=coef[..., :P],
        gamma=coef[..., P],
        sigma=sigma,
        loglik=loglik,
        cov=inv,
        n_obs=len(idx),
    )


def loglik(x: np.ndarray, obs: Observed, delta: np.ndarray, gamma: np.ndarray,
           sigma: np.ndarray) -> np.ndarray:
    """Log-likelihood of the training observations given the covariate and link parameters.

    Shapes: ``x`` ``(..., Y, S, P)``, ``delta`` ``(..., P)``, ``gamma`` and ``sigma`` ``(...)``.
    """
    _, idx, p, y, v = _cells(obs)
    xs = x.reshape(*x.shape[:-3], -1)[..., idx]
    var = sigma[..., None] ** 2 + v
    resid = y - delta[..., p] - gamma[..., None] * xs
    out: np.ndarray = -0.5 * (
        len(y) * LOG_2PI + np.log(var).sum(-1) + (resid * resid / var).sum(-1)
    )
    return out


def mean_logit(x: np.ndarray, obs: Observed, delta: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """``mu = alpha + delta + gamma * x``: ``(..., Y, S, P)``."""
    out: np.ndarray = (
        obs.alpha[:, None, :] + delta[..., None, None, :] + gamma[..., None, None, None] * x
    )
    return out


def predictive(
    mu: np.ndarray,
    sigma: np.ndarray,
    obs: Observed,
    gen: np.random.Generator,
    draws: int = 20,
) -> np.ndarray:
    """Draws of the observed share of identical votes, ``(M, Y, S, P)``.

    ``mu`` ``(N, Y, S, P)`` and ``sigma`` ``(N,)`` are one per replicate (or per posterior draw
    and replicate); each gets ``draws`` deviations ``Normal(0, sigma^2)`` on the logit scale
    and a binomial count of ``n_expected`` votes, so the spread covers the model's noise, the
    link's own deviation and the vote count's sampling noise.
    """
    N = mu.shape[0]
    e = gen.standard_normal((N, draws, *mu.shape[1:])) * sigma[:, None, None, None, None]
    prob = expit(mu[:, None] + e)
    n = np.broadcast_to(obs.n_expected, prob.shape).astype(np.int64)
    k = gen.binomial(n, prob)
    return (k / n).reshape(N * draws, *mu.shape[1:])


def quantiles(samples: np.ndarray, qs: Sequence[float] = QUANTILES) -> np.ndarray:
    """Quantiles over the first axis."""
    out: np.ndarray = np.quantile(samples, list(qs), axis=0)
    return out


# --------------------------------------------------------------------------- baselines


def baseline_offset(obs: Observed) -> np.ndarray:
    """"Each state keeps its average offset from the world": ``(Y, S, P)`` predicted agreement.

    The offset is the mean over the training years of the empirical logit less the world's
    logit; the prediction adds it to each year's world logit.
    """
    mask = obs.fit_mask
    diff = np.where(mask, obs.y - obs.alpha[:, None, :], 0.0)
    count = mask.sum(0)
    with np.errstate(invalid="ignore"):
        offset = np.where(count > 0, diff.sum(0) / np.maximum(count, 1), np.nan)
    return expit(obs.alpha[:, None, :] + offset[None])


def baseline_persistence(obs: Observed) -> np.ndarray:
    """"Last year carried forward": ``(Y, S, P)``; NaN before a pair's first observation.

    Each year predicts the most recent earlier observation of the training years; after
    them, the last training observation.
    """
    out = np.full(obs.agree.shape, np.nan)
    last = np.full(obs.agree.shape[1:], np.nan)
    for t in range(len(obs.years)):
        out[t] = last
        if obs.training[t]:
            seen = ~np.isnan(obs.agree[t])
            last = np.where(seen, obs.agree[t], last)
    return out


@dataclass(frozen=True)
class Score:
    """How well one method predicts the training observations."""

    method: str
    parameters: int
    loglik: float
    rmse: float
    cells: int


def _gaussian_loglik(pred: np.ndarray, obs: Observed, mask: np.ndarray) -> float:
    """Log-likelihood of the observed empirical logits around ``logit(pred)`` with the
    binomial variance plus an ML-fitted extra variance (as for the model)."""
    y, v = obs.y[mask], obs.v[mask]
    r = y - logit(pred[mask])
    best = -np.inf
    for s in np.exp(np.linspace(np.log(SIGMA_RANGE[0]), np.log(SIGMA_RANGE[1]), 400)):
        var = s * s + v
        best = max(best, float(-0.5 * (LOG_2PI * len(y) + np.log(var).sum() + (r * r / var).sum())))
    return best


def scores(model_point: np.ndarray, obs: Observed, parameters: int) -> list[Score]:
    """Training-years scores of the model's point prediction against the two naive baselines.

    Every method is scored on the same cells: the training observations that each of them
    predicts (a pair's first observed year has no "last year"). RMSE is in agreement (share
    of votes); the log-likelihood is of the empirical logits, each method with its own fitted
    extra variance beside the vote-count noise. ``parameters`` counts what the model's link
    fitted (its behavioural parameters are not counted).
    """
    offset, persist = baseline_offset(obs), baseline_persistence(obs)
    common = obs.fit_mask & ~np.isnan(persist)
    P, S = len(obs.powers), len(obs.states)
    cells = int(common.sum())
    rows = (
        ("model", parameters, model_point),
        ("offset from the world (baseline)", S * P + 1, offset),
        ("last year carried forward (baseline)", 1, persist),
    )
    return [
        Score(
            name,
            k,
            _gaussian_loglik(pred, obs, common),
            float(np.sqrt(np.mean((pred[common] - obs.agree[common]) ** 2))),
            cells,
        )
        for name, k, pred in rows
    ]


@dataclass(frozen=True)
class LinkPrior:
    """Independent normal priors on the link's offsets ``delta[p]`` and slope ``gamma``."""

    delta_mean: float
    delta_sd: float
    gamma_mean: float
    gamma_sd: float

    def arrays(self, n_powers: int) -> tuple[np.ndarray, np.ndarray]:
        """Prior mean ``(k,)`` and precision diagonal ``(k,)`` of ``(delta, gamma)``."""
        mean = np.append(np.full(n_powers, self.delta_mean), self.gamma_mean)
        sd = np.append(np.full(n_powers, self.delta_sd), self.gamma_sd)
        return mean, 1.0 / sd**2


def _posterior(
    x: np.ndarray, obs: Observed, sigma: np.ndarray, prior: LinkPrior
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Posterior mean ``(..., k)`` and covariance ``(..., k, k)`` of ``(delta, gamma)`` given
    the covariate and ``sigma``, and the log marginal likelihood ``(...)`` (conjugate normal)."""
    _, idx, p, y, v = _cells(obs)
    P = len(obs.powers)
    xs = x.reshape(*x.shape[:-3], -1)[..., idx]
    A, b, ywy, logw = _normal(xs, p, y, v, sigma, P)
    m0, prec0 = prior.arrays(P)
    lam = A + np.diag(prec0)
    cov = np.linalg.inv(lam)
    mean = np.einsum("...ij,...j->...i", cov, b + prec0 * m0)
    _, logdet_lam = np.linalg.slogdet(lam)
    quad = ywy + float((prec0 * m0 * m0).sum()) - np.einsum("...i,...ij,...j->...", mean, lam,
                                                             mean)
    log_ml = -0.5 * (len(y) * LOG_2PI - logw + quad - np.log(prec0).sum() + logdet_lam)
    return mean, cov, log_ml


def marginal_loglik(
    x: np.ndarray, obs: Observed, sigma: np.ndarray, prior: LinkPrior
) -> np.ndarray:
    """Log-likelihood of the training observations with ``delta`` and ``gamma`` integrated out
    under their normal priors (exact: the model is Gaussian in them).

    ``log p(y | x, sigma) = log Normal(y; X m0, W^-1 + X S0 X')``, computed through the
    posterior precision ``A + S0^-1``. Shapes: ``x`` ``(..., Y, S, P)``, ``sigma`` ``(...)``.
    """
    return _posterior(x, obs, sigma, prior)[2]


def link_posterior(
    x: np.ndarray, obs: Observed, sigma: np.ndarray, prior: LinkPrior,
    gen: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """One draw of ``(delta, gamma)`` from their posterior given ``x`` and ``sigma``, for each
    leading index: ``delta`` ``(..., P)``, ``gamma`` ``(...)``."""
    mean, cov, _ = _posterior(x, obs, sigma, prior)
    chol = np.linalg.cholesky(cov)
    draw = mean + np.einsum("...ij,...j->...i", chol, gen.standard_normal(mean.shape))
    P = len(obs.powers)
    return draw[..., :P], draw[..., P]
