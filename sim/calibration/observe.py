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

Pure functions of arrays (like :mod:`sim.model.rules`); leading axes (replicates, parameter sets)
are allowed wherever an array of the model's covariate is taken.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from sim.core.errors import SimError

#: Covariate links (a slope on the logit of alignment, with offsets) and the vote mixture
#: (:mod:`sim.calibration.mixture`: no slope, no free level).
LINKS = ("bloc", "power", "mixture")
OFFSETS = ("state", "power")
#: The interval of the predictive bands, and the quantiles written.
QUANTILES = (0.05, 0.5, 0.95)
#: Bounds of the profiled observation sd (logit units).
SIGMA_RANGE = (1e-3, 5.0)
#: Bounds of the state offsets' sd searched by :func:`empirical_bayes` (logit units).
TAU_RANGE = (1e-3, 5.0)
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
    _check_codes(agreement, world, st, pw, source, world_source)
    yi = {int(y): i for i, y in enumerate(years)}
    w_year = [int(v) for v in world["year"].to_numpy()]
    w_power = [str(v) for v in world["power"].to_numpy()]
    _check_world_years(w_year, w_power, years, pw, world_source)
    agree, n = _agreement_grid(agreement, yi, len(years), st, pw)
    alpha, rollcalls = _world_grid(world, w_year, w_power, yi, len(years), pw)
    training = np.array([int(y) <= until for y in years])
    seen = ~np.isnan(agree)
    if not (seen & training[:, None, None]).any():
        raise SimError(f"{source}: year: no observation in the training years up to {until}")
    return Observed(
        years=np.array([int(y) for y in years]),
        states=tuple(st),
        powers=tuple(pw),
        agree=agree,
        n=n,
        alpha=alpha,
        n_expected=_expected_votes(seen, n, rollcalls),
        training=training,
    )


def _check_codes(
    agreement: pd.DataFrame, world: pd.DataFrame, states: list[str], powers: list[str],
    source: str, world_source: str,
) -> None:
    """Refuse a state or power code in the tables that the scenario lacks."""
    for col, known, table, where in (
        ("state", states, agreement, source),
        ("power", powers, agreement, source),
        ("power", powers, world, world_source),
    ):
        unknown = sorted(set(table[col]) - set(known))
        if unknown:
            raise SimError(
                f"{where}: {col}: unknown {col} code '{unknown[0]}'; the scenario has "
                f"{', '.join(known)}"
            )


def _check_world_years(
    w_year: list[int], w_power: list[str], years: Sequence[int], powers: list[str],
    world_source: str,
) -> None:
    """Refuse a world table without the world's agreement with every power in every year."""
    have = set(zip(w_year, w_power, strict=True))
    for y in years:
        for p in powers:
            if (int(y), p) not in have:
                raise SimError(
                    f"{world_source}: year: no world agreement with {p} in {y}; the table "
                    f"covers {min(w_year)}-{max(w_year)}"
                )


def _agreement_grid(
    agreement: pd.DataFrame, yi: dict[int, int], n_years: int, states: list[str],
    powers: list[str],
) -> tuple[np.ndarray, np.ndarray]:
    """Observed agreement and its vote count ``(Y, S, P)`` (NaN and 0 where none)."""
    agree = np.full((n_years, len(states), len(powers)), np.nan)
    n = np.zeros((n_years, len(states), len(powers)))
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
            agree[t, states.index(str(state)), powers.index(str(power))] = share
            n[t, states.index(str(state)), powers.index(str(power))] = votes
    return agree, n


def _world_grid(
    world: pd.DataFrame, w_year: list[int], w_power: list[str], yi: dict[int, int],
    n_years: int, powers: list[str],
) -> tuple[np.ndarray, np.ndarray]:
    """The logit of the world's median agreement with each power, and the power's roll calls,
    ``(Y, P)``."""
    alpha = np.empty((n_years, len(powers)))
    rollcalls = np.empty((n_years, len(powers)))
    for year, power, calls, median in zip(
        w_year,
        w_power,
        world["n_rollcalls"].to_numpy(dtype=float),
        world["median_agree"].to_numpy(dtype=float),
        strict=True,
    ):
        t = yi.get(year)
        if t is not None:
            alpha[t, powers.index(power)] = logit(np.array(median))
            rollcalls[t, powers.index(power)] = calls
    return alpha, rollcalls


def _expected_votes(seen: np.ndarray, n: np.ndarray, rollcalls: np.ndarray) -> np.ndarray:
    """Votes each cell's observation rests on ``(Y, S, P)``: the observed count where there is
    one, else the power's roll calls that year times the state's average participation."""
    # average participation of each state: votes cast over the power's roll calls
    ratio = np.where(seen, n / rollcalls[:, None, :], np.nan)
    counted = seen.sum(axis=(0, 2))
    part = np.where(seen, ratio, 0.0).sum(axis=(0, 2)) / np.maximum(counted, 1)
    part = np.where(counted > 0, part, np.nanmean(ratio))
    out: np.ndarray = np.where(
        seen, n, np.maximum(1.0, np.round(part[None, :, None] * rollcalls[:, None, :]))
    )
    return out


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
    if link == "mixture":
        raise SimError("link: the vote mixture has no covariate; see sim.calibration.mixture")
    raise SimError(f"link: expected one of {', '.join(LINKS)}, found {link!r}")


# --------------------------------------------------------------------------- the link


@dataclass(frozen=True)
class Link:
    """How agreement follows alignment, and the priors of its coefficients.

    Attributes:
        covariate: ``bloc`` (the logit of the state's alignment with the power's bloc),
            ``power`` (with the power alone), or ``mixture``: the vote mixture of
            :mod:`sim.calibration.mixture`, which has no covariate, slope or offsets of this kind
            (its
            parameters are ``observation.own``, ``noise``, ``rho``, ``omega``, ``tau``).
        offsets: ``power`` (one offset per power, ``delta[p]``) or ``state`` (also an offset
            per state and power, ``eps[s, p] ~ Normal(0, tau^2)``, so that the model explains a
            pair's movements rather than its level).
        delta_sd, gamma_mean, gamma_sd: normal priors of the power offsets (mean 0) and of the
            slope on the covariate.
    """

    covariate: str = "bloc"
    offsets: str = "state"
    delta_sd: float = 2.0
    gamma_mean: float = 0.0
    gamma_sd: float = 2.0

    def __post_init__(self) -> None:
        if self.covariate not in LINKS:
            raise SimError(f"link: expected one of {', '.join(LINKS)}, found {self.covariate!r}")
        if self.offsets not in OFFSETS:
            raise SimError(
                f"offsets: expected one of {', '.join(OFFSETS)}, found {self.offsets!r}"
            )

    @property
    def mixture(self) -> bool:
        """The vote mixture rather than a covariate link."""
        return self.covariate == "mixture"

    def size(self, n_states: int, n_powers: int) -> int:
        """Number of coefficients: power offsets, state offsets if any, and the slope."""
        return n_powers + (n_states * n_powers if self.offsets == "state" else 0) + 1


@dataclass(frozen=True)
class LinkFit:
    """The link's coefficients given a covariate, ``sigma`` and ``tau``; leading axes follow
    the covariate's.

    The coefficients are ``(delta[P], eps[S, P] if offsets == "state", gamma)``; given the
    covariate their posterior is normal (conjugate): ``mean`` ``(..., k)``, ``cov``
    ``(..., k, k)``. ``log_ml`` is the log marginal likelihood of the training observations,
    the coefficients integrated out.
    """

    link: Link
    states: int
    powers: int
    mean: np.ndarray
    cov: np.ndarray
    log_ml: np.ndarray
    sigma: np.ndarray
    tau: np.ndarray
    n_obs: int

    @property
    def delta(self) -> np.ndarray:
        """Power offsets ``(..., P)`` (posterior mean)."""
        out: np.ndarray = self.mean[..., : self.powers]
        return out

    @property
    def gamma(self) -> np.ndarray:
        """Slope on the covariate ``(...)`` (posterior mean)."""
        out: np.ndarray = self.mean[..., -1]
        return out

    def offsets_of(self, beta: np.ndarray) -> np.ndarray:
        """Total offset ``delta[p] + eps[s, p]`` ``(..., S, P)`` of coefficients ``beta``."""
        S, P = self.states, self.powers
        total = np.broadcast_to(beta[..., None, :P], (*beta.shape[:-1], S, P)).copy()
        if self.link.offsets == "state":
            total += beta[..., P : P + S * P].reshape(*beta.shape[:-1], S, P)
        return total

    def draw(self, gen: np.random.Generator) -> np.ndarray:
        """One draw of the coefficients from their posterior, per leading index ``(..., k)``."""
        chol = np.linalg.cholesky(self.cov)
        z = gen.standard_normal(self.mean.shape)
        out: np.ndarray = self.mean + np.einsum("...ij,...j->...i", chol, z)
        return out


def _cells(obs: Observed) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Training cells as flat arrays: index into (Y,S,P), state-power cell, y - alpha, v."""
    mask = obs.fit_mask
    idx = np.flatnonzero(mask.ravel())
    S, P = len(obs.states), len(obs.powers)
    sp = np.broadcast_to(np.arange(S * P).reshape(S, P), mask.shape).ravel()[idx]
    alpha = np.broadcast_to(obs.alpha[:, None, :], mask.shape).ravel()[idx]
    y = obs.y.ravel()[idx] - alpha
    v = obs.v.ravel()[idx]
    return mask, idx, sp, y, v


def _prior(
    link: Link, n_states: int, n_powers: int, tau: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Prior mean ``(k,)`` and precision diagonal ``(..., k)`` of the coefficients."""
    S, P = n_states, n_powers
    k = link.size(S, P)
    mean = np.zeros(k)
    mean[-1] = link.gamma_mean
    prec = np.empty((*tau.shape, k))
    prec[..., :P] = 1.0 / link.delta_sd**2
    if link.offsets == "state":
        prec[..., P : P + S * P] = (1.0 / tau**2)[..., None]
    prec[..., -1] = 1.0 / link.gamma_sd**2
    return mean, prec


def posterior(
    x: np.ndarray,
    obs: Observed,
    link: Link,
    sigma: np.ndarray | float,
    tau: np.ndarray | float | None = None,
) -> LinkFit:
    """The conjugate posterior of the link's coefficients and the log marginal likelihood.

    With ``y_i = delta[p_i] (+ eps[s_i, p_i]) + gamma x_i + e_i`` on the training cells (``y``
    the empirical logit less the world's), ``e_i ~ Normal(0, sigma^2 + v_i)`` and normal priors
    on the coefficients (:class:`Link`; ``eps ~ Normal(0, tau^2)``), the posterior precision is
    ``X'WX + S0^-1`` and ``log p(y) = -1/2 [n log 2 pi - sum log w + y'Wy + m0'S0^-1 m0 -
    mu'(X'WX + S0^-1) mu - log det S0^-1 + log det(X'WX + S0^-1)]``.

    Shapes: ``x`` ``(..., Y, S, P)``; ``sigma`` and ``tau`` ``(...)`` or scalars.
    """
    _, idx, sp, y, v = _cells(obs)
    S, P = len(obs.states), len(obs.powers)
    xs = x.reshape(*x.shape[:-3], -1)[..., idx]  # (..., n)
    lead = xs.shape[:-1]
    sigma = np.broadcast_to(np.asarray(sigma, dtype=float), lead)
    tau_a = np.broadcast_to(np.asarray(1.0 if tau is None else tau, dtype=float), lead)
    k = link.size(S, P)
    w = 1.0 / (sigma[..., None] ** 2 + v)  # (..., n)
    g_sp = np.eye(S * P)[sp]  # (n, S*P) one-hot state-power cells
    g_p = g_sp.reshape(-1, S, P).sum(axis=1)  # (n, P) one-hot powers
    w_sp = w @ g_sp  # (..., S*P) weight per cell
    w_p = w @ g_p
    wx, wy = w * xs, w * y
    A = np.zeros((*lead, k, k))
    b = np.empty((*lead, k))
    diag = np.arange(P)
    A[..., diag, diag] = w_p
    b[..., :P] = wy @ g_p
    A[..., :P, -1] = A[..., -1, :P] = wx @ g_p
    if link.offsets == "state":
        e = P + np.arange(S * P)
        A[..., e, e] = w_sp
        power_of = np.tile(np.arange(P), S)
        A[..., power_of, e] = A[..., e, power_of] = w_sp
        b[..., P:-1] = wy @ g_sp
        A[..., P:-1, -1] = A[..., -1, P:-1] = wx @ g_sp
    A[..., -1, -1] = (wx * xs).sum(-1)
    b[..., -1] = (wy * xs).sum(-1)
    m0, prec0 = _prior(link, S, P, tau_a)
    lam = A + prec0[..., None] * np.eye(k)
    chol = np.linalg.cholesky(lam)
    cov = np.linalg.inv(lam)
    mean = np.einsum("...ij,...j->...i", cov, b + prec0 * m0)
    logdet = 2.0 * np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum(-1)
    quad = (wy * y).sum(-1) + (prec0 * m0 * m0).sum(-1) - np.einsum("...i,...i->...", mean,
                                                                    b + prec0 * m0)
    log_ml = -0.5 * (len(y) * LOG_2PI - np.log(w).sum(-1) + quad - np.log(prec0).sum(-1)
                     + logdet)
    return LinkFit(link, S, P, mean, cov, log_ml, sigma, tau_a, len(idx))


def empirical_bayes(x: np.ndarray, obs: Observed, link: Link, points: int = 41) -> LinkFit:
    """The posterior at the ``sigma`` (and ``tau``) that maximise the marginal likelihood.

    For one covariate ``(Y, S, P)`` (e.g. of the replicate-mean alignment): a search over a
    log-spaced grid of ``sigma`` in :data:`SIGMA_RANGE` (and ``tau`` in :data:`TAU_RANGE` with
    state offsets), refined once around the best point.
    """
    def grid(lo: float, hi: float) -> np.ndarray:
        return np.exp(np.linspace(np.log(lo), np.log(hi), points))

    sig, ta = grid(*SIGMA_RANGE), grid(*TAU_RANGE) if link.offsets == "state" else np.ones(1)
    for _ in range(2):
        S_, T_ = np.meshgrid(sig, ta, indexing="ij")
        fits = posterior(np.broadcast_to(x, (*S_.shape, *x.shape)), obs, link, S_, T_)
        i, j = np.unravel_index(int(np.argmax(fits.log_ml)), S_.shape)
        step_s = np.log(sig[1] / sig[0]) if len(sig) > 1 else 0.0
        step_t = np.log(ta[1] / ta[0]) if len(ta) > 1 else 0.0
        sig = np.exp(np.linspace(np.log(sig[i]) - step_s, np.log(sig[i]) + step_s, points))
        if link.offsets == "state":
            ta = np.exp(np.linspace(np.log(ta[j]) - step_t, np.log(ta[j]) + step_t, points))
    return posterior(x, obs, link, np.array(S_[i, j]), np.array(T_[i, j]))


def mean_logit(x: np.ndarray, obs: Observed, fit: LinkFit, beta: np.ndarray) -> np.ndarray:
    """``mu = alpha + delta[p] (+ eps[s, p]) + gamma * x`` for every cell ``(..., Y, S, P)``,
    with coefficients ``beta`` ``(..., k)`` (e.g. :attr:`LinkFit.mean` or a draw)."""
    out: np.ndarray = (
        obs.alpha[:, None, :]
        + fit.offsets_of(beta)[..., None, :, :]
        + beta[..., -1, None, None, None] * x
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
    out: np.ndarray = (k / n).reshape(N * draws, *mu.shape[1:])
    return out


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
