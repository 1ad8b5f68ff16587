"""Outcomes: named measures of one sweep point, computed over its replicates.

Per replicate an outcome's *quantity* is one of

- a share: power ``p``'s share of state ``s``'s alignment, ``a[s, p]``, or of the region,
  ``sum_s w[s] a[s, p]`` with the scenario's region weights ``w`` (the regional share of
  ``rules.regional_share``); for a bloc, the powers' shares summed;
- hedging: the normalised entropy of a state's alignment (``rules.hedging_index``, 1 = evenly
  spread over the powers), or its region-weighted mean over the states;

at a round boundary (a date: the last boundary on or before it), optionally minus the same
quantity at the start (``change``). The outcome reduces the replicates' quantities to one number
by its ``stat``; every outcome also records the 5th and 95th percentiles of the quantity over
the replicates (columns ``NAME.p5`` and ``NAME.p95``), the bands of response curves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from sim import rules
from sim.engine import Trajectories
from sim.errors import ScenarioError
from sim.params import Params
from sim.sweep.spec import Outcome

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


def defaults(states: list[str], powers: list[str]) -> dict[str, Outcome]:
    """Outcomes every sweep records: how much each power holds and gains, and where.

    ``P_region``: power P's regional share at the end; ``P_gain``: its change since the start;
    ``P_S``: its share of state S at the end; ``hedging``: the regional hedging index at the end.
    """
    out: dict[str, Outcome] = {}
    for p in powers:
        out[f"{p}_region"] = Outcome(quantity="share", power=p)
        out[f"{p}_gain"] = Outcome(quantity="share", power=p, change=True)
    for p in powers:
        for s in states:
            out[f"{p}_{s}"] = Outcome(quantity="share", power=p, state=s)
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


def _label(o: Outcome, states: list[str], powers: list[str], when: date) -> str:
    if o.description:
        return o.description
    who = "+".join(o.powers)
    where = "the region" if o.state == "region" else o.state
    what = f"{who}'s share of {where}" if o.quantity == "share" else f"hedging index of {where}"
    what += f" at {when.isoformat()}"
    if o.change:
        what += " minus at the start"
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
    return f"share of replicates with {what} {side} {o.threshold:g}"


def resolve(outcomes: Mapping[str, Outcome], p: Params, where: Path | str) -> list[Measure]:
    """Check outcomes against the scenario (codes, dates) and resolve them to indices.

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
                label=_label(o, p.states, p.powers, p.dates[r]),
            )
        )
    return out


def columns(measures: list[Measure]) -> list[str]:
    """The outcome columns of a sweep's table, in order."""
    return [c for m in measures for c in (m.name, *(f"{m.name}.{b}" for b in BANDS))]


def quantity(m: Measure, traj: Trajectories, p: Params) -> np.ndarray:
    """The measure's per-replicate quantity ``(replicate,)``."""

    def at(r: int) -> np.ndarray:
        a = traj.alignment[:, r]  # (n, S, P)
        x = a[..., list(m.powers)].sum(-1) if m.quantity == "share" else rules.hedging_index(a)
        return (x * p.region_w).sum(-1) if m.state is None else x[:, m.state]

    q = at(m.round)
    return q - at(0) if m.change else q


def reduce(m: Measure, q: np.ndarray) -> float:
    """The measure's statistic over replicates."""
    if m.stat == "mean":
        return float(q.mean())
    if m.stat == "median":
        return float(np.median(q))
    if m.stat == "sd":
        return float(q.std(ddof=1)) if q.size > 1 else 0.0
    if m.stat in ("p5", "p95"):
        return float(np.quantile(q, 0.05 if m.stat == "p5" else 0.95))
    assert m.threshold is not None
    return float(np.mean(q > m.threshold) if m.stat == "above" else np.mean(q < m.threshold))


def summarise(measures: list[Measure], q: np.ndarray) -> dict[str, float]:
    """Every measure's statistic and bands from quantities ``q`` of shape (measure, replicate)."""
    bands = np.quantile(q, [0.05, 0.95], axis=1)
    out: dict[str, float] = {}
    for i, m in enumerate(measures):
        out[m.name] = reduce(m, q[i])
        out[f"{m.name}.p5"], out[f"{m.name}.p95"] = float(bands[0, i]), float(bands[1, i])
    return out


def evaluate(measures: list[Measure], traj: Trajectories, p: Params) -> dict[str, float]:
    """Every measure of one point: ``{NAME: stat, NAME.p5: ..., NAME.p95: ...}``."""
    return summarise(measures, np.stack([quantity(m, traj, p) for m in measures]))
