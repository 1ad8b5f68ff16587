"""Analysis of a finished sweep: Sobol' and Morris indices (SALib), scenario discovery (PRIM).

- Sobol' (Saltelli 2002; Saltelli et al. 2010, as implemented by SALib): first-order ``S1``
  (the share of the outcome's variance due to a parameter alone) and total ``ST`` (including
  all its interactions), with bootstrap confidence intervals.
- Morris elementary effects (Morris 1991; Campolongo et al. 2007): ``mu*`` (mean absolute
  effect, overall importance), ``sigma`` (spread: interactions or non-linearity).
- PRIM (Friedman & Fisher 1999, as implemented by the EMA Workbench; Bryant & Lempert 2010):
  boxes in parameter space where a stated condition holds, traded off between *coverage* (the
  share of all points meeting the condition that fall in the box) and *density* (the share of
  points in the box that meet it).

Outcomes here are per-point numbers (e.g. a mean over replicates); the analysis treats them as
a deterministic function of the parameters. Replicate noise left in them shows up as variance
no parameter explains (S1 summing to less than 1) and widens the intervals.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from SALib.analyze import morris as morris_analyze
from SALib.analyze import sobol as sobol_analyze

CONF_LEVEL = 0.95
SOBOL_RESAMPLES = 1000
MORRIS_RESAMPLES = 1000
_CASE = 1e-9
#: A box restriction whose quasi-p value (Bryant & Lempert 2010) is at least this is reported
#: as not significant: the condition would hold about as often without it.
SIGNIFICANT = 0.05


def _constant(y: np.ndarray) -> bool:
    return bool(np.ptp(y) <= 1e-12 * max(1.0, float(np.abs(y).max())))


#: Resamples for an outcome whose intervals are not asked for: SALib needs some, and its point
#: estimates do not depend on them; the intervals are then left empty (NaN).
_NO_INTERVAL_RESAMPLES = 2


def _indices(
    names: list[str],
    outputs: dict[str, np.ndarray],
    keys: tuple[str, ...],
    analyse: Any,
    constant_value: float,
    resamples: int,
    intervals: Collection[str] | None,
) -> pd.DataFrame:
    """One row per outcome and parameter with ``keys`` from ``analyse(y, resamples)`` (a SALib
    result); an outcome constant over the design gets ``constant_value`` instead.

    The bootstrap is most of SALib's time (a sweep has dozens of default outcomes and reports
    a few), so only the outcomes in ``intervals`` (every outcome if None) get it; the others
    get their indices with the ``*_conf`` columns empty.
    """
    rows = []
    for outcome, y in outputs.items():
        boot = intervals is None or outcome in intervals
        if _constant(y):
            res: dict[str, Any] = {k: np.full(len(names), constant_value) for k in keys}
        else:
            res = dict(analyse(np.asarray(y, dtype=float),
                               resamples if boot else _NO_INTERVAL_RESAMPLES))
        if not boot:
            res.update({k: np.full(len(names), np.nan) for k in keys if k.endswith("_conf")})
        for j, name in enumerate(names):
            rows.append(
                {"outcome": outcome, "parameter": name, **{k: float(res[k][j]) for k in keys}}
            )
    return pd.DataFrame(rows)


def sobol(
    problem: dict[str, Any],
    outputs: dict[str, np.ndarray],
    seed: int,
    intervals: Collection[str] | None = None,
) -> pd.DataFrame:
    """Sobol' indices of each outcome: one row per outcome and parameter.

    ``outputs`` maps an outcome to its values in the design's (SALib's) point order. Columns:
    ``outcome, parameter, S1, S1_conf, ST, ST_conf`` (``*_conf``: half-width of the
    ``CONF_LEVEL`` interval, bootstrapped for the outcomes in ``intervals``, every one if
    None, and empty for the rest). An outcome constant over the design has no indices (NaN).
    """
    return _indices(
        problem["names"],
        outputs,
        ("S1", "S1_conf", "ST", "ST_conf"),
        lambda y, resamples: sobol_analyze.analyze(
            problem,
            y,
            calc_second_order=False,
            num_resamples=resamples,
            conf_level=CONF_LEVEL,
            seed=seed,
        ),
        np.nan,
        SOBOL_RESAMPLES,
        intervals,
    )


def morris(
    problem: dict[str, Any],
    x: np.ndarray,
    outputs: dict[str, np.ndarray],
    seed: int,
    num_levels: int,
    intervals: Collection[str] | None = None,
) -> pd.DataFrame:
    """Morris screening of each outcome.

    Columns: ``outcome, parameter, mu, mu_star, mu_star_conf, sigma`` (``mu_star_conf``
    bootstrapped for the outcomes in ``intervals``, every one if None, empty for the rest). An
    outcome constant over the design has zero effects.
    """
    return _indices(
        problem["names"],
        outputs,
        ("mu", "mu_star", "mu_star_conf", "sigma"),
        lambda y, resamples: morris_analyze.analyze(
            problem,
            x,
            y,
            num_resamples=resamples,
            conf_level=CONF_LEVEL,
            num_levels=num_levels,
            seed=seed,
        ),
        0.0,
        MORRIS_RESAMPLES,
        intervals,
    )


# --------------------------------------------------------------------------- PRIM


@dataclass(frozen=True)
class Discovery:
    """PRIM's result for one condition.

    ``trajectory``: every box of the peeling/pasting trajectory (``coverage``, ``density``,
    ``mass``, ``res_dim``, ``n``, ``k``); ``chosen``: the reported box's row; ``box``: its limits,
    one row per parameter (``low``, ``high``, the design's ``min`` and ``max``, whether it is
    ``restricted``, and PRIM's quasi-p values of each restricted side).
    """

    condition: str
    points: int
    cases: int
    density_target: float
    trajectory: pd.DataFrame = field(repr=False)
    chosen: int | None
    box: pd.DataFrame = field(repr=False)
    note: str

    @property
    def stats(self) -> dict[str, float]:
        if self.chosen is None:
            return {}
        row = self.trajectory.iloc[self.chosen]
        return {k: float(row[k]) for k in ("coverage", "density", "mass", "res_dim")}


def _prim_module() -> Any:
    with warnings.catch_warnings():
        # the workbench announces at import that optional parallel back-ends are missing
        warnings.filterwarnings("ignore", message=r".*not installed.*", category=UserWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        from ema_workbench.analysis import prim
    return prim


def _prim(prim: Any, x: pd.DataFrame, y: np.ndarray) -> Any:
    """PRIM on the points ``x`` with cases of interest ``y`` (0/1), for EMA Workbench 2.5 or 3.

    Version 2.5 takes a ``threshold``: it marks the cases of interest (``y >= threshold``) and
    is the density a final box must reach to be kept. We choose the box from the whole
    peeling trajectory, so there the threshold only has to mark the points where the condition
    holds (``y = 1``) and keep every trajectory: any small positive number does both. Version 3
    dropped it: ``y`` itself (0/1) marks the cases of interest, and every box is kept.
    """
    kwargs: dict[str, Any] = {"peel_alpha": 0.05, "paste_alpha": 0.05, "mass_min": 0.05}
    if "threshold" in inspect.signature(prim.Prim).parameters:  # EMA Workbench 2.x
        kwargs["threshold"] = _CASE
    return prim.Prim(x, y.astype(float), **kwargs)


def discover(x: pd.DataFrame, y: np.ndarray, condition: str, density_target: float) -> Discovery:
    """Find the box of parameter space where ``y`` (bool per point) holds, with PRIM.

    The reported box is the one of largest coverage among those of density at least
    ``density_target`` (fewer restricted parameters on ties); if none reaches it, the densest.
    """
    y = np.asarray(y, dtype=bool)
    cases = int(y.sum())
    empty_traj = pd.DataFrame(columns=["coverage", "density", "mass", "res_dim", "n", "k"])
    empty_box = pd.DataFrame(
        columns=["parameter", "low", "high", "min", "max", "restricted", "qp_low", "qp_high"]
    )
    if cases == 0 or cases == len(y):
        where = "none" if cases == 0 else "all"
        return Discovery(
            condition,
            len(y),
            cases,
            density_target,
            empty_traj,
            None,
            empty_box,
            f"the condition holds at {where} of the {len(y)} points: there is no box to find",
        )
    prim = _prim_module()
    xf = x.reset_index(drop=True).astype(float)
    with warnings.catch_warnings():
        # the workbench 2.5 calls DataFrame.drop(inplace=True), deprecated in pandas 3
        warnings.filterwarnings("ignore", message=r".*inplace keyword.*")
        alg = _prim(prim, xf, y)
        box = alg.find_box()
    traj = box.peeling_trajectory[["coverage", "density", "mass", "res_dim", "n", "k"]].reset_index(
        drop=True
    )
    ok = traj.index[traj["density"] >= density_target - 1e-12]
    if len(ok):
        cand = traj.loc[ok]
        chosen = int(cand.sort_values(["coverage", "res_dim"], ascending=[False, True]).index[0])
        note = f"largest coverage among boxes of density >= {density_target:g}"
    else:
        chosen = int(traj["density"].idxmax())
        note = f"no box reaches density {density_target:g}; the densest is shown"
    lims = box.box_lims[chosen]
    init = alg.box_init
    # each box's quasi-p values, by parameter: "qp" in the EMA Workbench 2.5, "p_values" in 3
    qp = (box.p_values if hasattr(box, "p_values") else box.qp)[chosen]
    rows = []
    for name in xf.columns:
        lo, hi = float(lims[name].iloc[0]), float(lims[name].iloc[1])
        mn, mx = float(init[name].iloc[0]), float(init[name].iloc[1])
        q = qp.get(name, [-1, -1])
        rows.append(
            {
                "parameter": name,
                "low": lo,
                "high": hi,
                "min": mn,
                "max": mx,
                "restricted": bool(lo > mn or hi < mx),
                "qp_low": float(q[0]) if q[0] != -1 else np.nan,
                "qp_high": float(q[1]) if q[1] != -1 else np.nan,
            }
        )
    return Discovery(
        condition, len(y), cases, density_target, traj, chosen, pd.DataFrame(rows), note
    )


# --------------------------------------------------------------------------- text


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]

    def fmt(cells: list[str]) -> str:
        return "  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [fmt(header), *(fmt(r) for r in rows)]


def _g(x: float) -> str:
    return f"{x:.4g}"


def format_sobol(table: pd.DataFrame, outcome: str, label: str, y: np.ndarray,
                 fmt: Callable[[float], str] = _g) -> str:
    """Sobol' indices of one outcome, largest total effect first (``fmt`` writes its values)."""
    t = table[table["outcome"] == outcome].sort_values("ST", ascending=False, na_position="last")
    head = [
        f"Sobol' indices of {outcome}: {label}",
        f"  over the design: mean {fmt(np.mean(y))}, range {fmt(np.min(y))} to "
        f"{fmt(np.max(y))}; "
        f"{CONF_LEVEL:.0%} intervals from {SOBOL_RESAMPLES} bootstrap resamples",
    ]
    if t["ST"].isna().all():
        return "\n".join(
            [*head, "  the outcome is constant over the design: no parameter moves it"]
        )
    rows = [
        [str(r.parameter), f"{r.S1:.3f} ± {r.S1_conf:.3f}", f"{r.ST:.3f} ± {r.ST_conf:.3f}"]
        for r in t.itertuples()
    ]
    s1 = t["S1"].sum()
    return "\n".join(
        [
            *head,
            *_table(["parameter", "first-order S1", "total ST"], rows),
            f"  sum of S1 = {s1:.3f} (what 1 - sum leaves is interactions and replicate noise)",
        ]
    )


def format_morris(table: pd.DataFrame, outcome: str, label: str, y: np.ndarray,
                  fmt: Callable[[float], str] = _g,
                  change: Callable[[float, bool], str] | None = None) -> str:
    """Morris indices of one outcome, most influential first (``fmt`` writes its values,
    ``change`` the elementary effects: differences of them, e.g. in percentage points)."""
    t = table[table["outcome"] == outcome].sort_values("mu_star", ascending=False)

    def eff(x: Any, signed: bool = False) -> str:
        return change(float(x), signed) if change is not None else f"{float(x):.4g}"

    rows = [
        [str(r.parameter), f"{eff(r.mu_star)} ± {eff(r.mu_star_conf)}", eff(r.sigma),
         eff(r.mu, True)]
        for r in t.itertuples()
    ]
    return "\n".join(
        [
            f"Morris elementary effects on {outcome}: {label}",
            f"  over the design: mean {fmt(np.mean(y))}, range {fmt(np.min(y))} to "
            f"{fmt(np.max(y))}",
            *_table(["parameter", "mu*", "sigma", "mu"], rows),
        ]
    )


def format_range(outcome: str, label: str, y: np.ndarray,
                 fmt: Callable[[float], str] = _g) -> str:
    """The spread of one outcome over the design (for grid and LHS sweeps)."""
    return (
        f"{outcome}: {label}\n  over the design: mean {fmt(np.mean(y))}, "
        f"5-95% {fmt(np.quantile(y, 0.05))} to {fmt(np.quantile(y, 0.95))}, "
        f"range {fmt(np.min(y))} to {fmt(np.max(y))}"
    )


def format_response(t: pd.DataFrame, names: list[str], outcome: str,
                    fmt: Callable[[float], str] = _g, most: int = 40) -> str:
    """The outcome at each point of a small design, in the order of its inputs' values (the
    response per level of a grid): the mean and, where kept, the 5-95% range over replicates."""
    rows = t.sort_values(names)
    if len(rows) > most:
        return ""
    band = all(f"{outcome}.{b}" in t for b in ("p5", "p95"))
    table = []
    for r in rows.to_dict("records"):
        cells = [f"{r[n]:.4g}" for n in names] + [fmt(float(r[outcome]))]
        if band:
            cells.append(f"{fmt(float(r[f'{outcome}.p5']))} to {fmt(float(r[f'{outcome}.p95']))}")
        table.append(cells)
    head = [*names, outcome, *(["5-95% over replicates"] if band else [])]
    return "\n".join([f"  {outcome} at each point:", *_table(head, table)])


def format_discovery(d: Discovery, condition: str | None = None) -> str:
    """The discovered box in a few lines (``condition`` as the reader should see it; default
    the condition as given)."""
    head = (
        f"Scenario discovery (PRIM): {condition or d.condition} holds at {d.cases} of "
        f"{d.points} points "
        f"({d.cases / d.points:.1%})"
    )
    if d.chosen is None:
        return f"{head}\n  {d.note}"
    s = d.stats
    lines = [
        head,
        f"  box: coverage {s['coverage']:.2f}, density {s['density']:.2f}, "
        f"mass {s['mass']:.2f} ({d.note})",
    ]
    restricted = d.box[d.box["restricted"]]
    if restricted.empty:
        lines.append("  no parameter is restricted: the condition is spread over the whole space")
    quasi_p = restricted[["qp_low", "qp_high"]].to_numpy(float)
    for r, pair in zip(restricted.itertuples(), quasi_p, strict=True):
        qps = [float(v) for v in pair if not np.isnan(v)]
        qp = "/".join(f"{v:.2g}" for v in qps) or "n/a"
        weak = ", not significant" if qps and min(qps) >= SIGNIFICANT else ""
        lines.append(
            f"  {r.parameter} in [{r.low:.4g}, {r.high:.4g}] (design range {r.min:.4g} to "
            f"{r.max:.4g}; quasi-p {qp}{weak})"
        )
    return "\n".join(lines)
