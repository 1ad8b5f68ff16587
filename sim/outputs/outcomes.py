"""Every measure of the model's results, in one place.

- shares: a bloc's share of a state or of the region (:func:`bloc_share`, one definition for
  the figures, the report and the sweeps; a power alone is a bloc of one); the regional share
  and the hedging index themselves are formulas of :mod:`sim.model.rules`;
- the summary tables of a run (final alignment, by round, regional shares, hedging index);
- paired differences of a comparison and the share of replicates whose sign holds;
- intervals and what they cover (:class:`Interval`; noise only, or noise and parameters);
- headline numbers of a run and of a comparison (written into the manifest; the report and
  the terminal only render them);
- a sweep's named outcomes of one point over its replicates.

Sweep outcomes. Per replicate an outcome's *quantity* is one of

- a share: power ``p``'s share of state ``s``'s alignment, ``a[s, p]``, or of the region,
  ``sum_s w[s] a[s, p]`` with the scenario's region weights ``w``; for a bloc, the powers'
  shares summed (:func:`bloc_share`);
- hedging: the normalised entropy of a state's alignment (``rules.hedging_index``, 1 = evenly
  spread over the powers), or its region-weighted mean over the states;

at a round boundary (a date: the last boundary on or before it), optionally minus the same
quantity at the start (``change``). The outcome reduces the replicates' quantities to one number
by its ``stat``; every outcome also records the 5th and 95th percentiles of the quantity over
the replicates (columns ``NAME.p5`` and ``NAME.p95``), the bands of response curves.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from sim.core.errors import ScenarioError
from sim.model import rules
from sim.model.engine import QUANTILES, Summary, Trajectories
from sim.model.params import Params
from sim.outputs.outcome_spec import Outcome

#: Interval of paired differences (5th and 95th percentiles over replicates).
INTERVAL = (0.05, 0.95)
QCOLS = tuple(f"p{round(q * 100)}" for q in QUANTILES)


# --------------------------------------------------------------------------- intervals

#: What an interval's spread covers while every parameter is held at its value: the model's
#: own randomness (utility and delivery shocks), replicate by replicate.
NOISE_ONLY = "noise only"
#: What it covers when blocks of replicates run on draws of the parameters (a posterior).
NOISE_AND_PARAMETERS = "noise and parameters"


@dataclass(frozen=True)
class Interval:
    """The interval reported around a number: percentiles over replicates, and what they cover.

    Every interval a result shows (terminal, tables, figures, report, manifest) is labelled
    through this one class, so a reader always knows whether the spread is the model's noise
    alone or also the uncertainty of its parameters. Made by :func:`interval`.

    Attributes:
        low, high: the percentiles, as fractions (0.05 and 0.95).
        covers: :data:`NOISE_ONLY` or :data:`NOISE_AND_PARAMETERS`.
    """

    low: float = INTERVAL[0]
    high: float = INTERVAL[1]
    covers: str = NOISE_ONLY

    @property
    def name(self) -> str:
        """``90% interval``: the interval of a difference."""
        return f"{round(100 * (self.high - self.low))}% interval"

    @property
    def label(self) -> str:
        """``90% interval (noise only)``."""
        return f"{self.name} ({self.covers})"

    @property
    def band(self) -> str:
        """``5-95% range (noise only)``: the spread of a level over replicates."""
        return f"{round(100 * self.low)}-{round(100 * self.high)}% range ({self.covers})"

    def to_json(self) -> dict[str, Any]:
        """As plain data for a manifest (read back by :meth:`from_json`)."""
        return {"low": self.low, "high": self.high, "covers": self.covers, "label": self.label}

    @classmethod
    def from_json(cls, data: Any) -> Interval:
        """From a manifest: a mapping, or ``[low, high]`` as older folders wrote it (their
        intervals covered noise only)."""
        if isinstance(data, Mapping):
            return cls(float(data.get("low", INTERVAL[0])), float(data.get("high", INTERVAL[1])),
                       str(data.get("covers", NOISE_ONLY)))
        if isinstance(data, Sequence) and not isinstance(data, str) and len(data) == 2:
            return cls(float(data[0]), float(data[1]))
        return cls()


def interval(parameters: bool = False) -> Interval:
    """The interval every result reports: the 5th to 95th percentiles over replicates.

    It covers the model's noise only, unless the replicates ran on draws of the parameters
    (``parameters``), when it covers both.
    """
    return Interval(covers=NOISE_AND_PARAMETERS if parameters else NOISE_ONLY)


def end_date(calendar_end: date, dates: Sequence[date]) -> date:
    """The date a result's final numbers describe: the calendar's end (its last round boundary
    may fall a day later), or the last boundary if fewer rounds were run."""
    return min(calendar_end, dates[-1])


def answer_round(answer: date | None, dates: Sequence[date]) -> int:
    """The round boundary a comparison's answer is read at: the scenario's ``time.answer``
    (:func:`round_at`), or the last one."""
    if answer is None or answer >= dates[-1]:
        return len(dates) - 1
    return round_at(answer, list(dates))


def answer_date(calendar_end: date, answer: date | None, dates: Sequence[date]) -> date:
    """The date a comparison's answer describes: ``time.answer`` if given (and run to), else
    :func:`end_date`."""
    if answer is not None and answer < dates[-1]:
        return answer
    return end_date(calendar_end, dates)


def percent(x: float, digits: int = 1) -> str:
    """A share as a percentage: ``0.247`` -> ``24.7%``."""
    return f"{100 * x:.{digits}f}%"


def fine_points(x: float) -> str:
    """A difference of shares in percentage points, signed, with the digits its size needs:
    ``0.06`` -> ``+6.0``, ``0.0042`` -> ``+0.42``, ``0.00042`` -> ``+0.042``; below a
    hundredth of a point ``+<0.01``; exactly zero ``0.0``."""
    v = 100 * float(x)
    size = abs(v)
    if size == 0:
        return "0.0"
    if size < 0.00995:
        return f"{'+' if v > 0 else '-'}<0.01"
    digits = 1 if size >= 0.995 else 2 if size >= 0.0995 else 3
    return f"{v:+.{digits}f}"


def points(x: float, digits: int = 1) -> str:
    """A difference of shares in percentage points, signed: ``0.02`` -> ``+2.0``; a difference
    that rounds to zero is ``0.0`` (no sign)."""
    text = f"{100 * x:+.{digits}f}"
    return text[1:] if float(text) == 0 else text


# --------------------------------------------------------------------------- shares


def bloc_groups(powers: Sequence[str], blocs: Mapping[str, Sequence[str]]) -> dict[str, list[int]]:
    """Indices of each bloc's powers, plus ``"other"`` for powers in no bloc (if any)."""
    groups = {name: [powers.index(c) for c in members if c in powers]
              for name, members in blocs.items()}
    rest = [j for j, c in enumerate(powers) if not any(c in m for m in blocs.values())]
    if rest:
        groups["other"] = rest
    return groups


def bloc_share(
    alignment: np.ndarray, powers: Sequence[int], region_w: np.ndarray, state: int | None = None
) -> np.ndarray:
    """A bloc's share: its powers' shares of alignment added, of one state or of the region.

    ``alignment`` ``(..., state, power)``; ``powers`` the bloc's power indices (one power is a
    bloc of one). Of the region (``state=None``) the states are weighted by ``region_w`` as in
    :func:`sim.model.rules.regional_share`. Returns ``(...)``. Linear in ``alignment``, so the bloc
    share of a mean alignment is the mean of the bloc shares.
    """
    x = alignment[..., list(powers)].sum(-1)
    out: np.ndarray = (x * region_w).sum(-1) if state is None else x[..., state]
    return out


def bloc_series(
    s: Summary, p: Params, blocs: Mapping[str, Sequence[str]], traj: Trajectories | None = None
) -> dict[str, np.ndarray]:
    """Each bloc's regional share ``(3, R+1)`` as (low, middle, high), plus ``other``.

    With trajectories the rows are the 5th, 50th and 95th percentiles over replicates of
    :func:`bloc_share`; without them (summary-only runs) all three rows are its mean (the bloc
    share of the mean alignment). Powers in no bloc form ``"other"`` (omitted when every power
    is in a bloc).
    """
    out: dict[str, np.ndarray] = {}
    for name, idx in bloc_groups(p.powers, blocs).items():
        if traj is not None:
            share = bloc_share(traj.alignment, idx, p.region_w)
            out[name] = np.quantile(share, [0.05, 0.5, 0.95], axis=0)
        else:
            out[name] = np.repeat(bloc_share(s.align_mean, idx, p.region_w)[None], 3, axis=0)
    return out


def bloc_statistic(traj: Trajectories | None) -> str:
    """What the middle row of :func:`bloc_series` is: ``median`` or ``mean``."""
    return "median" if traj is not None else "mean"


# --------------------------------------------------------------------------- run tables


def final_table(s: Summary, p: Params) -> pd.DataFrame:
    """Final alignment per state and power: mean and the 5th, 50th and 95th percentiles."""
    rows = []
    qi = {q: i for i, q in enumerate(QUANTILES)}
    for i, st in enumerate(p.states):
        for j, pw in enumerate(p.powers):
            rows.append(
                {
                    "state": st,
                    "power": pw,
                    "mean": s.align_mean[-1, i, j],
                    "p5": s.align_q[qi[0.05], -1, i, j],
                    "p50": s.align_q[qi[0.5], -1, i, j],
                    "p95": s.align_q[qi[0.95], -1, i, j],
                }
            )
    return pd.DataFrame(rows)


def by_round_table(s: Summary, p: Params) -> pd.DataFrame:
    """Alignment statistics for every round, state and power."""
    R1 = s.align_mean.shape[0]
    idx = pd.MultiIndex.from_product(
        [range(R1), p.states, p.powers], names=["round", "state", "power"]
    )
    df = pd.DataFrame({"mean": s.align_mean.ravel()}, index=idx).reset_index()
    for k, col in enumerate(QCOLS):
        df[col] = s.align_q[k].ravel()
    df["debt_usd_bn_mean"] = s.debt_mean.ravel()
    df["delivered_usd_bn_mean"] = s.delivered_mean.ravel()
    df.insert(1, "date", [p.dates[r].isoformat() for r in df["round"]])
    return df


def region_table(s: Summary, p: Params) -> pd.DataFrame:
    """Each power's regional share for every round."""
    R1 = s.region_mean.shape[0]
    idx = pd.MultiIndex.from_product([range(R1), p.powers], names=["round", "power"])
    df = pd.DataFrame({"mean": s.region_mean.ravel()}, index=idx).reset_index()
    for k, col in enumerate(QCOLS):
        df[col] = s.region_q[k].ravel()
    df.insert(1, "date", [p.dates[r].isoformat() for r in df["round"]])
    return df


def hedging_table(s: Summary, p: Params) -> pd.DataFrame:
    """Each state's hedging index for every round."""
    R1 = s.hedging_mean.shape[0]
    idx = pd.MultiIndex.from_product([range(R1), p.states], names=["round", "state"])
    df = pd.DataFrame({"mean": s.hedging_mean.ravel()}, index=idx).reset_index()
    for k, col in enumerate(QCOLS):
        df[col] = s.hedging_q[k].ravel()
    df.insert(1, "date", [p.dates[r].isoformat() for r in df["round"]])
    return df


# --------------------------------------------------------------------------- paired differences


@dataclass(frozen=True)
class Paired:
    """Paired differences ``B - A`` per replicate.

    Attributes:
        final: final alignment differences ``(replicate, state, power)``.
        final_a, final_b: the two final alignments ``(replicate, state, power)``.
        region: regional-share differences per round ``(replicate, round, power)``.
        region_end_a, region_end_b: each power's regional share at the end in A and in B
            ``(replicate, power)`` (the levels the differences are of), if kept.
    """

    final: np.ndarray
    final_a: np.ndarray
    final_b: np.ndarray
    region: np.ndarray
    region_end_a: np.ndarray | None = None
    region_end_b: np.ndarray | None = None


def _reorder(x: np.ndarray, src: Params, dst: Params) -> np.ndarray:
    si = [src.states.index(s) for s in dst.states]
    pi = [src.powers.index(p) for p in dst.powers]
    return x[..., si, :][..., pi]


def paired(ta: Trajectories, tb: Trajectories, a: Params, b: Params, at: int = -1) -> Paired:
    """Paired differences ``B - A`` of the same replicates, in A's order of states and powers:
    the alignment at round boundary ``at`` (the answer's; default the last), the regional
    shares at every one."""
    fa = ta.alignment[:, at]
    fb = _reorder(tb.alignment[:, at], b, a)
    ra = rules.regional_share(ta.alignment, a.region_w)
    order = [b.powers.index(p) for p in a.powers]
    rb = rules.regional_share(tb.alignment, b.region_w)[..., order]
    return Paired(final=fb - fa, final_a=fa, final_b=fb, region=rb - ra,
                  region_end_a=ra[:, at], region_end_b=rb[:, at])


def join_paired(parts: Sequence[Paired]) -> Paired:
    """Chunks of paired replicates as one."""
    fa = np.concatenate([x.final_a for x in parts])
    fb = np.concatenate([x.final_b for x in parts])
    ends = {}
    for side in ("region_end_a", "region_end_b"):
        got = [getattr(x, side) for x in parts]
        ends[side] = None if any(g is None for g in got) else np.concatenate(got)
    return Paired(final=fb - fa, final_a=fa, final_b=fb,
                  region=np.concatenate([x.region for x in parts]), **ends)


def region_levels(pr: Paired, a: Params) -> dict[str, dict[str, float]]:
    """Each power's regional share at the end in A and in B (means over replicates), where
    the pairs kept them."""
    if pr.region_end_a is None or pr.region_end_b is None:
        return {}
    ma, mb = pr.region_end_a.mean(0), pr.region_end_b.mean(0)
    return {p: {"a": float(ma[j]), "b": float(mb[j])} for j, p in enumerate(a.powers)}


def sign_share(d: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Share of replicates whose difference ``d`` has the sign of the ``mean`` difference.

    Where the mean is exactly zero there is no sign to hold: the share is NaN (not
    applicable; with every difference zero, the scenarios do not differ there at all), never
    "the same sign in 100% of replicates". Reductions are over the first (replicate) axis.
    """
    sign = np.sign(mean)
    holds = (np.sign(d) == sign).mean(0)
    return np.where(sign == 0, np.nan, holds)


def no_change(d: np.ndarray) -> np.ndarray:
    """Where every replicate's difference is exactly zero (the scenarios do not differ)."""
    out: np.ndarray = np.all(d == 0, axis=0)
    return out


def differences_table(pr: Paired, a: Params) -> pd.DataFrame:
    """Per state and power: both means and the paired difference's mean, interval, sign share."""
    mean = pr.final.mean(0)
    lo, mid, hi = np.quantile(pr.final, (INTERVAL[0], 0.5, INTERVAL[1]), axis=0)
    holds = sign_share(pr.final, mean)
    same = no_change(pr.final)
    rows = []
    for i, s in enumerate(a.states):
        for j, p in enumerate(a.powers):
            rows.append(
                {
                    "state": s,
                    "power": p,
                    "mean_a": pr.final_a[:, i, j].mean(),
                    "mean_b": pr.final_b[:, i, j].mean(),
                    "diff_mean": mean[i, j],
                    "diff_p50": mid[i, j],
                    "diff_p5": lo[i, j],
                    "diff_p95": hi[i, j],
                    "sign_holds": holds[i, j],
                    "no_difference": bool(same[i, j]),
                }
            )
    return pd.DataFrame(rows)


def region_differences_table(pr: Paired, a: Params) -> pd.DataFrame:
    """Per round and power: the paired difference of regional share (mean, 90% interval)."""
    mean = pr.region.mean(0)
    lo, mid, hi = np.quantile(pr.region, (INTERVAL[0], 0.5, INTERVAL[1]), axis=0)
    holds = sign_share(pr.region, mean)
    same = no_change(pr.region)
    rows = []
    for r, d in enumerate(a.dates):
        for j, p in enumerate(a.powers):
            rows.append(
                {
                    "round": r,
                    "date": d.isoformat(),
                    "power": p,
                    "diff_mean": mean[r, j],
                    "diff_p50": mid[r, j],
                    "diff_p5": lo[r, j],
                    "diff_p95": hi[r, j],
                    "sign_holds": holds[r, j],
                    "no_difference": bool(same[r, j]),
                }
            )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- headlines


def _num(x: Any) -> float | None:
    """A float for JSON (NaN becomes None)."""
    v = float(x)
    return None if math.isnan(v) else v


def run_headline(
    s: Summary, p: Params, blocs: Mapping[str, Sequence[str]] | None = None,
    traj: Trajectories | None = None,
) -> dict[str, Any]:
    """Headline numbers of a run, as plain data for its manifest.

    Each power's regional share (median over replicates) at the start and the end, with the
    5-95% range at the end and its largest move from the start (``peak``, at ``peak_date``);
    each bloc's regional share at the start and the end (:func:`bloc_series`: the median, or
    the mean where trajectories were not kept); each state's leading power at the end (mean
    share and its 5-95% range) and hedging index (mean).
    """
    lo, mid, hi = (QUANTILES.index(q) for q in (0.05, 0.5, 0.95))
    med = s.region_q[mid]  # (R+1, P)
    powers = []
    for j, code in enumerate(p.powers):
        dev = med[:, j] - med[0, j]
        k = int(np.abs(dev).argmax())
        powers.append({
            "code": code, "start": float(med[0, j]), "end": float(med[-1, j]),
            "p5": float(s.region_q[lo, -1, j]), "p95": float(s.region_q[hi, -1, j]),
            "peak": float(dev[k]), "peak_date": p.dates[k].isoformat(),
        })
    series = bloc_series(s, p, blocs, traj) if blocs else {}
    stat = bloc_statistic(traj)
    bloc_rows = [
        {"name": name, "members": list(blocs[name]), "start": float(v[1, 0]),
         "end": float(v[1, -1]), "statistic": stat}
        for name, v in series.items() if blocs and name in blocs
    ]
    states = []
    final_mean = s.align_mean[-1]
    for i, code in enumerate(p.states):
        j = int(np.argmax(final_mean[i]))
        states.append({
            "code": code, "lead": p.powers[j], "share": float(final_mean[i, j]),
            "p5": float(s.align_q[lo, -1, i, j]), "p95": float(s.align_q[hi, -1, i, j]),
            "hedging": float(s.hedging_mean[-1, i]),
        })
    return {"start": p.dates[0].isoformat(), "end": p.dates[-1].isoformat(), "powers": powers,
            "blocs": bloc_rows, "states": states}


def _difference(r: Any) -> dict[str, Any]:
    """One row of a differences table as plain data (``sign_holds`` None where no sign can
    hold: the mean is exactly zero)."""
    none = bool(getattr(r, "no_difference", False))
    median = getattr(r, "diff_p50", None)
    return {"mean": float(r.diff_mean), "p50": None if median is None else float(median),
            "p5": float(r.diff_p5), "p95": float(r.diff_p95),
            "sign_holds": None if none else _num(getattr(r, "sign_holds", math.nan)),
            "no_difference": none}


def compare_headline(
    region: pd.DataFrame, final: pd.DataFrame, iv: Interval | None = None,
    end: date | None = None, *, levels: Mapping[str, Mapping[str, float]] | None = None,
    changes: Sequence[Mapping[str, Any]] = (), weighting: str | None = None,
    at_round: int | None = None,
) -> dict[str, Any]:
    """Headline numbers of a comparison (B minus A, paired), as plain data for its manifest.

    ``region`` and ``final`` are :func:`region_differences_table` and
    :func:`differences_table`. At the end of the horizon:

    - ``focus``: the power whose regional share B moves most (largest absolute mean
      difference; of two equal moves, the gain): what the comparison is about, e.g. the power
      whose offer B adds;
    - ``powers``: each power's difference in regional share (mean, interval, share of
      replicates with the mean's sign: ``None`` where the mean is exactly zero;
      ``no_difference`` where every replicate's difference is exactly zero);
    - ``gainers``, ``losers``: the powers whose regional share rises (the largest rise first)
      and falls (the largest fall first), by their mean difference, the focus power among them;
    - ``states``: in each state, the focus power's difference, and the other power that gains
      most (``gains``) and loses most (``loses``) there (``None`` where none does);
    - ``levels``: each power's regional share at the end in A and B (means), if given;
    - ``changes``: what B changes (field paths with A's and B's values), if given;
    - ``weighting``: how the states are weighted in a power's share of the region;
    - ``interval``: what the intervals are and what they cover (:class:`Interval`);
    - ``end``: the date the numbers describe (default: the last round boundary's, or that
      of ``at_round``, the answer's);
    - ``path``: where the run goes on past the answer, the focus power's difference at every
      year's end from the first to the last (median and interval): does the effect last?
    """
    iv = iv or interval()
    last = region[region["round"] == (region["round"].max() if at_round is None else at_round)]
    powers = [{"code": str(r.power), **_difference(r)} for r in last.itertuples()]
    # the largest move; between equal moves (two powers' shares mirror each other), the gain
    focus = (max(powers, key=lambda r: (round(abs(r["mean"]), 12), r["mean"] > 0))["code"]
             if powers else None)
    losers = [r["code"] for r in sorted(powers, key=lambda r: r["mean"]) if r["mean"] < 0]
    gainers = [r["code"] for r in sorted(powers, key=lambda r: -r["mean"]) if r["mean"] > 0]
    states = []
    for code in dict.fromkeys(final["state"]):
        rows = final[final["state"] == code]
        mine = next(r for r in rows.itertuples() if r.power == focus)
        others = [r for r in rows.itertuples() if r.power != focus]
        worst = min(others, key=lambda r: r.diff_mean, default=None)
        best = max(others, key=lambda r: r.diff_mean, default=None)
        loses = ({"power": str(worst.power), **_difference(worst)}
                 if worst is not None and worst.diff_mean < 0 else None)
        gains = ({"power": str(best.power), **_difference(best)}
                 if best is not None and best.diff_mean > 0 else None)
        states.append({"code": str(code), "focus": _difference(mine), "loses": loses,
                       "gains": gains})
    when = end.isoformat() if end is not None else str(last["date"].iloc[0])
    out = {"end": when, "interval": iv.to_json(), "focus": focus, "powers": powers,
           "gainers": gainers, "losers": losers, "states": states}
    if at_round is not None and at_round < region["round"].max() and focus is not None:
        out["path"] = year_ends(region[region["power"] == focus])
    if levels:
        for r in powers:
            if r["code"] in levels:
                r["a"], r["b"] = levels[r["code"]]["a"], levels[r["code"]]["b"]
    if changes:
        out["changes"] = [dict(c) for c in changes]
    if weighting:
        out["weighting"] = weighting
    return out


def year_ends(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """One power's rows of :func:`region_differences_table` at each year's end (the boundary
    on 1 January, labelled 31 December of the year before): ``date, median, p5, p95, mean``."""
    out = []
    cols = [rows[c].to_numpy() for c in ("round", "date", "diff_p50", "diff_p5", "diff_p95",
                                         "diff_mean")]
    for rnd, day_, mid, lo, hi, mean in zip(*cols, strict=True):
        d = date.fromisoformat(str(day_))
        if d.month == 1 and d.day == 1 and int(rnd) > 0:
            out.append({"date": date(d.year - 1, 12, 31).isoformat(), "median": float(mid),
                        "p5": float(lo), "p95": float(hi), "mean": float(mean)})
    return out


# --------------------------------------------------------------------------- sweep outcomes

BANDS = ("p5", "p95")


@dataclass(frozen=True)
class Measure:
    """An outcome resolved against a scenario: indices instead of codes and dates."""

    name: str
    quantity: str
    powers: tuple[int, ...]
    state: int | None  # None: the region
    round: int
    change: bool
    stat: str
    threshold: float | None
    label: str
    effect: bool = False

    @property
    def unit(self) -> str:
        """What the statistic is in: ``percent`` (a share), ``points`` (a difference of
        shares, in percentage points), ``index`` (hedging) or ``replicates`` (the percent of
        replicates meeting a threshold)."""
        if self.stat in ("above", "below"):
            return "replicates"
        if self.quantity == "hedging":
            return "index"
        return "points" if self.change or self.effect or self.stat == "sd" else "percent"

    def format_change(self, x: float, signed: bool = True) -> str:
        """A difference of this measure's values (an elementary effect, a step between two
        levels): shares and their differences in percentage points (``+2.00 pp``), a share of
        replicates in points of replicates, the hedging index as it is."""
        if math.isnan(x):
            return "n/a"
        text = f"{100 * x:+.2f}" if signed else f"{100 * x:.2f}"
        if self.unit in ("percent", "points"):
            return f"{text} pp"
        if self.unit == "replicates":
            return f"{text} pp of replicates"
        return f"{x:+.3g}" if signed else f"{x:.3g}"

    def format(self, x: float) -> str:
        """A value of this measure as prose shows it: ``24.7%``, ``+2.0 pp``, ``0.41``."""
        if math.isnan(x):
            return "n/a"
        if self.unit == "percent":
            return percent(x, 2)
        if self.unit == "points":
            return f"{points(x, 2)} pp"
        if self.unit == "replicates":
            return f"{percent(x, 1)} of replicates"
        return f"{x:.3g}"


def default_outcomes(
    states: list[str], powers: list[str], effects: bool = False
) -> dict[str, Outcome]:
    """Outcomes every sweep records: how much each power holds and gains, and where.

    ``P_region``: power P's regional share at the end; ``P_gain``: its change since the start;
    ``P_S``: its share of state S at the end; ``hedging``: the regional hedging index at the end.
    With ``effects`` (a sweep with a counterfactual), also ``P_effect`` and ``P_S_effect``: the
    same shares at the end minus the counterfactual's, paired replicate by replicate.
    """
    out: dict[str, Outcome] = {}
    for p in powers:
        out[f"{p}_region"] = Outcome(quantity="share", power=p)
        out[f"{p}_gain"] = Outcome(quantity="share", power=p, change=True)
    if effects:
        for p in powers:
            out[f"{p}_effect"] = Outcome(quantity="share", power=p, effect=True)
    for p in powers:
        for s in states:
            out[f"{p}_{s}"] = Outcome(quantity="share", power=p, state=s)
    if effects:
        for p in powers:
            for s in states:
                out[f"{p}_{s}_effect"] = Outcome(quantity="share", power=p, state=s, effect=True)
    out["hedging"] = Outcome(quantity="hedging")
    return out


def round_at(when: date | str, dates: list[date]) -> int:
    """The index of the last round boundary on or before ``when`` (``start``/``end`` allowed).

    Raises:
        ValueError: if the date is before the start or after the last round.
    """
    if when == "start":
        return 0
    if when == "end":
        return len(dates) - 1
    assert isinstance(when, date)
    if when < dates[0]:
        raise ValueError(f"{when} is before the scenario starts ({dates[0]})")
    if when > dates[-1]:
        raise ValueError(f"{when} is after the last round ends ({dates[-1]})")
    # one day's grace: a calendar ending on 31 December has its last boundary on 1 January
    limit = when + timedelta(days=1)
    return max(i for i, d in enumerate(dates) if d <= limit)


def day(when: date) -> str:
    """A date as every result writes it: ``31 Dec 2030``."""
    return f"{when.day} {when:%b %Y}"


def _label(o: Outcome, states: list[str], powers: list[str], when: date) -> str:
    if o.description:
        return o.description
    who = "+".join(o.powers)
    where = "the region" if o.state == "region" else o.state
    what = f"{who}'s share of {where}" if o.quantity == "share" else f"hedging index of {where}"
    what += f" on {day(when)}"
    if o.change:
        what += " minus at the start"
    if o.effect:
        what += ", minus the counterfactual's (paired)"
    stat = {
        "mean": "mean",
        "median": "median",
        "sd": "sd",
        "p5": "5th percentile",
        "p95": "95th percentile",
    }.get(o.stat)
    if stat is not None:
        return f"{what} ({stat} over replicates)"
    side = ">" if o.stat == "above" else "<"
    t = float(o.threshold or 0.0)
    limit = (f"{t:g}" if o.quantity == "hedging" else f"{points(t, 2)} pp"
             if o.change or o.effect else percent(t, 2))
    return f"share of replicates with {what} {side} {limit}"


def resolve(outcomes: Mapping[str, Outcome], p: Params, where: Path | str,
            end: date | None = None) -> list[Measure]:
    """Check outcomes against the scenario (codes, dates) and resolve them to indices.

    Labels date an outcome at the last round boundary by the calendar's ``end`` if given
    (:func:`end_date`: ``31 Dec 2030``, not the boundary on 1 January), as comparisons do.

    Raises:
        ScenarioError: naming ``where`` and ``outcomes.NAME.field``.
    """
    si = {c: i for i, c in enumerate(p.states)}
    pi = {c: i for i, c in enumerate(p.powers)}
    out: list[Measure] = []
    for name, o in outcomes.items():
        for code in o.powers:
            if code not in pi:
                raise ScenarioError(
                    where,
                    f"outcomes.{name}.power",
                    f"unknown power '{code}'; the scenario has {', '.join(p.powers)}",
                )
        if o.state != "region" and o.state not in si:
            raise ScenarioError(
                where,
                f"outcomes.{name}.state",
                f"unknown state '{o.state}'; the scenario has {', '.join(p.states)} or 'region'",
            )
        try:
            r = round_at(o.date, p.dates)
        except ValueError as err:
            raise ScenarioError(where, f"outcomes.{name}.date", str(err)) from None
        out.append(
            Measure(
                name=name,
                quantity=o.quantity,
                powers=tuple(pi[c] for c in o.powers),
                state=None if o.state == "region" else si[o.state],
                round=r,
                change=o.change,
                stat=o.stat,
                threshold=o.threshold,
                label=_label(o, p.states, p.powers,
                             end_date(end, p.dates) if end is not None and r == len(p.dates) - 1
                             else p.dates[r]),
                effect=o.effect,
            )
        )
    return out


def columns(measures: list[Measure]) -> list[str]:
    """The outcome columns of a sweep's table, in order."""
    return [c for m in measures for c in (m.name, *(f"{m.name}.{b}" for b in BANDS))]


class HasAlignment(Protocol):
    """Trajectories of a run, or a block of a batch (:class:`sim.runs.batch.Block`)."""

    @property
    def alignment(self) -> np.ndarray: ...


def quantity(m: Measure, traj: HasAlignment, p: Params) -> np.ndarray:
    """The measure's quantity per replicate.

    ``traj.alignment`` is ``(..., round, state, power)``: a run's ``(replicate, ...)``, or a
    batch block's ``(replicate, point, ...)`` with its batch ``p``; returns ``(...)``.
    """
    w = np.ascontiguousarray(p.region_w)  # sums below run along contiguous rows, in one order

    def at(r: int) -> np.ndarray:
        a = traj.alignment[..., r, :, :]
        if m.quantity == "share":
            return bloc_share(a, m.powers, w, m.state)
        x = rules.hedging_index(a)
        return (x * w).sum(-1) if m.state is None else x[..., m.state]

    q = at(m.round)
    return q - at(0) if m.change else q


def reduce(m: Measure, q: np.ndarray) -> np.ndarray:
    """The measure's statistic over replicates: ``q`` ``(..., replicate)`` -> ``(...)``."""
    if m.stat == "mean":
        return np.asarray(q.mean(axis=-1))
    if m.stat == "median":
        return np.asarray(np.median(q, axis=-1))
    if m.stat == "sd":
        if q.shape[-1] > 1:
            return np.asarray(q.std(ddof=1, axis=-1))
        return np.zeros(q.shape[:-1])
    if m.stat in ("p5", "p95"):
        return np.asarray(np.quantile(q, 0.05 if m.stat == "p5" else 0.95, axis=-1))
    assert m.threshold is not None
    above = q > m.threshold if m.stat == "above" else q < m.threshold
    return np.asarray(np.mean(above, axis=-1))


def statistics(measures: list[Measure], q: np.ndarray) -> np.ndarray:
    """Each measure's statistic and bands (p5, p95) over the replicates.

    ``q`` ``(..., measure, replicate)`` -> ``(..., measure, 3)``; with leading axes (the points
    of a batch) each point's numbers are those of its quantities alone.
    """
    q = np.ascontiguousarray(q)  # every statistic runs along contiguous rows, in one order
    bands = np.quantile(q, [0.05, 0.95], axis=-1)
    out = np.empty((*q.shape[:-1], 3))
    for i, m in enumerate(measures):
        out[..., i, 0] = reduce(m, q[..., i, :])
    out[..., 1], out[..., 2] = bands[0], bands[1]
    return out


def summarise(measures: list[Measure], q: np.ndarray) -> dict[str, float]:
    """Every measure's statistic and bands from quantities ``q`` of shape (measure, replicate)."""
    stats = statistics(measures, q)
    out: dict[str, float] = {}
    for i, m in enumerate(measures):
        out[m.name] = float(stats[i, 0])
        out[f"{m.name}.p5"], out[f"{m.name}.p95"] = float(stats[i, 1]), float(stats[i, 2])
    return out


def evaluate(measures: list[Measure], traj: Trajectories, p: Params) -> dict[str, float]:
    """Every measure of one point: ``{NAME: stat, NAME.p5: ..., NAME.p95: ...}``."""
    return summarise(measures, np.stack([quantity(m, traj, p) for m in measures]))
