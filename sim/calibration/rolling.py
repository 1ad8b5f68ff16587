"""Rolling-origin scoring: forecasts made from the training years up to an origin, scored on
the observed years after it, against the naive baselines of a forecaster who has no model.

Every method gives a predictive distribution of each year's observed agreement (draws, or a
normal on the logit scale); the scores are in agreement (share of identical votes):

- RMSE of the predictive median;
- coverage: the share of observations inside the central 90% interval (about 0.9 when the
  interval says what it covers);
- width: the interval's mean width;
- CRPS: the continuous ranked probability score (``E|X - y| - E|X - X'| / 2``), which rewards
  a sharp distribution in the right place and punishes a wide or a wrong one.

The baselines (docs/ODD.md, section 11), each built from the years up to the origin only:

- ``persistence``: last observed year's agreement carried forward;
- ``offset (all years)``: the pair's mean logit offset from the world's median over all
  fitting years, added to each later year's world logit;
- ``recent offset (k years)``: the same over the last k fitting years (k = 2 and 4): the one a
  model has to beat, since it carries a pair's recent habit with the world's agenda.

A baseline's spread is what its own errors were inside the fitting years: for each horizon h,
the root mean square logit error of the same rule applied from every earlier origin with h
years still inside the fitting years (the longest such horizon's for longer ones).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.calibration.observe import Observed, expit

#: The central interval scored.
LEVEL = 0.9
#: Draws of a normal predictive per cell.
DRAWS = 400
#: Methods named as the baseline to beat.
TO_BEAT = "recent offset (2 years)"


@dataclass(frozen=True)
class Forecast:
    """One method's predictive distribution of every cell ``(Y, S, P)``: ``draws`` ``(K, Y, S,
    P)`` of the observed agreement."""

    method: str
    draws: np.ndarray
    parameters: int | None = None

    def quantiles(self) -> np.ndarray:
        lo = (1 - LEVEL) / 2
        out: np.ndarray = np.quantile(self.draws, [lo, 0.5, 1 - lo], axis=0)
        return out


def from_normal(method: str, mean: np.ndarray, sd: np.ndarray, gen: np.random.Generator,
                parameters: int | None = None, draws: int = DRAWS) -> Forecast:
    """A forecast whose logit is normal with ``mean`` and ``sd`` ``(Y, S, P)``."""
    e = gen.standard_normal((draws, *mean.shape))
    return Forecast(method, expit(mean[None] + sd[None] * e), parameters)


# --------------------------------------------------------------------------- baselines


def _logit_obs(obs: Observed) -> np.ndarray:
    """Observed empirical logits (NaN where none)."""
    return np.where(np.isnan(obs.agree), np.nan, obs.y)


def _rule_offset(k: int | None) -> Callable[[Observed, int], np.ndarray]:
    """Predictor of logits from origin index ``u``: mean offset of the last ``k`` years up to
    ``u`` (all of them if ``k`` is None) plus each year's world logit."""

    def predict(obs: Observed, u: int) -> np.ndarray:
        off = _logit_obs(obs) - obs.alpha[:, None, :]
        lo = 0 if k is None else max(0, u - k + 1)
        window = off[lo : u + 1]
        with warnings.catch_warnings():  # a pair with no observation yet: NaN, no warning
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(window, axis=0)
            allmean = np.nanmean(off[: u + 1], axis=0)
        if k is not None:  # a pair not seen in the window keeps its mean over every year
            mean = np.where(np.isnan(mean), allmean, mean)
        out: np.ndarray = obs.alpha[:, None, :] + mean[None]
        return out

    return predict


def _rule_persistence(obs: Observed, u: int) -> np.ndarray:
    ylog = _logit_obs(obs)
    last = np.full(ylog.shape[1:], np.nan)
    for t in range(u + 1):
        last = np.where(np.isnan(ylog[t]), last, ylog[t])
    return np.broadcast_to(last, ylog.shape).copy()


RULES: Mapping[str, Callable[[Observed, int], np.ndarray]] = {
    "persistence": _rule_persistence,
    "offset (all years)": _rule_offset(None),
    "recent offset (2 years)": _rule_offset(2),
    "recent offset (4 years)": _rule_offset(4),
}
#: Values each baseline estimates per pair (for the table).
RULE_PARAMETERS = {"persistence": 25, "offset (all years)": 25, "recent offset (2 years)": 25,
                   "recent offset (4 years)": 25}


def origin_index(obs: Observed) -> int:
    """Index of the last training year."""
    return int(np.flatnonzero(obs.training)[-1])


def horizon_sd(obs: Observed, rule: Callable[[Observed, int], np.ndarray],
               horizons: int, first: int = 4) -> np.ndarray:
    """``(horizons + 1,)``: the rule's root mean square logit error at each horizon (index h),
    from every origin ``first .. origin - h`` inside the training years."""
    ylog = _logit_obs(obs)
    u_end = origin_index(obs)
    sq = np.zeros(horizons + 1)
    cnt = np.zeros(horizons + 1)
    for u in range(first, u_end):
        pred = rule(obs, u)
        for h in range(1, min(horizons, u_end - u) + 1):
            e = ylog[u + h] - pred[u + h]
            ok = ~np.isnan(e)
            sq[h] += float((e[ok] ** 2).sum())
            cnt[h] += int(ok.sum())
    sd = np.full(horizons + 1, np.nan)
    have = cnt > 0
    sd[have] = np.sqrt(sq[have] / cnt[have])
    last = float(sd[have][-1]) if have.any() else 1.0
    for h in range(1, horizons + 1):
        if not have[h]:
            sd[h] = last
        else:
            last = float(sd[h])
    return sd


def baselines(obs: Observed, gen: np.random.Generator) -> list[Forecast]:
    """Every baseline's forecast from the last training year, with its own spread."""
    u = origin_index(obs)
    Y = len(obs.years)
    horizons = max(1, Y - 1 - u)
    out = []
    for name, rule in RULES.items():
        mean = rule(obs, u)
        sd_h = horizon_sd(obs, rule, horizons)
        h = np.clip(np.arange(Y) - u, 1, horizons)
        sd = np.broadcast_to(sd_h[h][:, None, None], mean.shape)
        mean = np.where(np.isnan(mean), obs.alpha[:, None, :], mean)
        out.append(from_normal(name, mean, sd, gen, RULE_PARAMETERS[name]))
    return out


# --------------------------------------------------------------------------- scores


def crps(draws: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sample CRPS per cell: ``draws`` ``(K, n)``, ``y`` ``(n,)`` -> ``(n,)``.

    ``E|X - y| - E|X - X'| / 2`` with the second term from the sorted draws
    (``sum_i (2i - K - 1) x_(i) / K^2``).
    """
    k = draws.shape[0]
    first = np.abs(draws - y[None]).mean(axis=0)
    xs = np.sort(draws, axis=0)
    w = (2 * np.arange(1, k + 1) - k - 1)[:, None]
    second = (w * xs).sum(axis=0) / (k * k)
    out: np.ndarray = first - second
    return out


def held_mask(obs: Observed) -> np.ndarray:
    """``(Y, S, P)``: observed cells after the origin (the years a rolling origin scores)."""
    out: np.ndarray = ~np.isnan(obs.agree) & ~obs.training[:, None, None]
    return out


def score(forecasts: list[Forecast], obs: Observed, origin: int) -> pd.DataFrame:
    """One row per method and group (``all``, each state, each power): RMSE, coverage, width,
    CRPS and the cells scored. Empty when no year after the origin is observed."""
    mask = held_mask(obs)
    rows = []
    if not mask.any():
        return pd.DataFrame(columns=["origin", "method", "group", "rmse", "coverage90",
                                     "width90", "crps", "cells", "parameters"])
    groups: list[tuple[str, np.ndarray]] = [("all", mask)]
    for i, s in enumerate(obs.states):
        g = np.zeros_like(mask)
        g[:, i, :] = mask[:, i, :]
        groups.append((f"state {s}", g))
    for j, p in enumerate(obs.powers):
        g = np.zeros_like(mask)
        g[:, :, j] = mask[:, :, j]
        groups.append((f"power {p}", g))
    for fc in forecasts:
        q = fc.quantiles()
        c = crps(fc.draws[:, mask], obs.agree[mask])
        cell_crps = np.full(mask.shape, np.nan)
        cell_crps[mask] = c
        for name, g in groups:
            yv = obs.agree[g]
            rows.append({
                "origin": origin, "method": fc.method, "group": name,
                "rmse": float(np.sqrt(np.mean((q[1][g] - yv) ** 2))),
                "coverage90": float(np.mean((yv >= q[0][g]) & (yv <= q[2][g]))),
                "width90": float(np.mean(q[2][g] - q[0][g])),
                "crps": float(np.mean(cell_crps[g])),
                "cells": int(g.sum()),
                "parameters": fc.parameters,
            })
    return pd.DataFrame(rows)


def format_table(table: pd.DataFrame, groups: tuple[str, ...] = ("all",)) -> str:
    """The scores as aligned text, one block per group (best RMSE first within a block)."""
    if table.empty:
        return "no observed year after the origin: nothing to score"
    width = max(len(m) for m in table.method)
    lines = []
    for g in groups:
        part = table[table.group == g].sort_values("rmse")
        if part.empty:
            continue
        lines.append(f"{g} ({int(part.cells.iloc[0])} observations after "
                     f"{int(part.origin.iloc[0])}):")
        lines.append(f"  {'method':<{width}}    RMSE  in 90%   width    CRPS")
        for r in part.itertuples():
            lines.append(f"  {r.method:<{width}}  {r.rmse:.4f}  {r.coverage90:5.0%}  "
                         f"{r.width90:.4f}  {r.crps:.4f}")
    return "\n".join(lines)
