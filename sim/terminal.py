"""What the terminal shows: tables that fit its width, in one unit for shares.

Shares are percentages (``24.7%``) and differences of shares are percentage points
(``+2.0 pp``), as in the report and the figures; every interval says what it covers
(:class:`sim.outcomes.Interval`). Tables are laid out by rich for the width given (the
terminal's), wrapping cells rather than overflowing; the text comes back as a string, which the
command line prints. Scenario text (names, titles) is shown as it is, never read as markup.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
from rich import box
from rich.console import Console, JustifyMethod, RenderableType
from rich.table import Table
from rich.text import Text

from sim.outcomes import NOISE_ONLY, Interval, percent, points

#: Width used where none is given (not a terminal).
WIDTH = 100


@dataclass(frozen=True)
class Names:
    """Display names of a scenario's powers and states (codes where a name is missing)."""

    powers: Mapping[str, str] = field(default_factory=dict)
    states: Mapping[str, str] = field(default_factory=dict)

    def power(self, code: str) -> str:
        return self.powers.get(code, code)

    def state(self, code: str) -> str:
        return self.states.get(code, code)


def render(*parts: RenderableType | str, width: int | None = None) -> str:
    """Lay out text and tables for a terminal ``width`` columns wide; returns plain text."""
    console = Console(file=io.StringIO(), width=max(40, width or WIDTH), color_system=None,
                      markup=False, highlight=False, emoji=False, soft_wrap=False)
    for part in parts:
        console.print(part)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in str(out).rstrip().splitlines())


def _table(columns: Sequence[tuple[str, JustifyMethod]]) -> Table:
    """A table whose ``columns`` are (header, justify); cells wrap to fit the width, except
    the first column's (the names the rows are read by)."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for i, (header, justify) in enumerate(columns):
        table.add_column(Text(header), justify=justify, overflow="fold", no_wrap=i == 0)
    return table


def _titled(title: str, table: Table) -> list[RenderableType]:
    """A table under its title, after a blank line."""
    return [Text(""), Text(title), table]


def _day(when: date | str) -> str:
    d = date.fromisoformat(when) if isinstance(when, str) else when
    return f"{d.day} {d:%b %Y}"


# --------------------------------------------------------------------------- a run


def final_alignment(
    df: pd.DataFrame, *, when: date | str, iv: Interval, names: Names, width: int | None = None
) -> str:
    """A run's final alignment: states by powers, mean share and its range over replicates.

    ``df`` is :func:`sim.outcomes.final_table`.
    """
    powers = list(dict.fromkeys(df["power"]))
    states = list(dict.fromkeys(df["state"]))
    cell = {(str(r["state"]), str(r["power"])):
            f"{percent(r['mean'])}\n{percent(r['p5'], 0)}-{percent(r['p95'], 0)}"
            for r in df.to_dict("records")}
    table = _table([("state", "left"), *((names.power(p), "right") for p in powers)])
    for s in states:
        table.add_row(Text(names.state(s)), *(Text(cell[(s, p)]) for p in powers))
    return render(*_titled(f"Alignment on {_day(when)}: mean share, and below it the "
                           f"{iv.band}", table)[1:], width=width)


# --------------------------------------------------------------------------- a comparison


def _with_interval(d: Mapping[str, Any], iv: Interval) -> str:
    """``+2.0 pp (90% interval +1.7 to +2.3)``, or that there is no difference at all."""
    if d.get("no_difference"):
        return "no difference in any replicate"
    return f"{points(d['mean'])} pp ({iv.name} {points(d['p5'])} to {points(d['p95'])})"


def _holds(d: Mapping[str, Any]) -> str:
    """The share of replicates with the mean's sign; nothing to say where there is no sign."""
    if d.get("no_difference"):
        return "none differ"
    share = d.get("sign_holds")
    return "" if share is None else f"{100 * share:.0f}%"


def answer(
    head: Mapping[str, Any],
    *,
    a: str,
    b: str,
    replicates: int,
    names: Names,
    width: int | None = None,
) -> str:
    """The answer a comparison gives: what B changes against A, in percentage points.

    ``head`` is :func:`sim.outcomes.compare_headline`: the power B moves most (its change in
    the region and in each state), who loses, each with its interval, then every power's
    change in the region.
    """
    iv = Interval.from_json(head.get("interval"))
    when = _day(str(head["end"]))
    by_code = {r["code"]: r for r in head["powers"]}
    focus = head.get("focus")
    over = ("over posterior draws and their replicates" if iv.covers != NOISE_ONLY
            else "over replicates")
    lines = [f"{b} against {a}: {replicates:,} paired replicates on common random numbers; "
             f"each interval is the {iv.label}, {over}."]
    if focus is not None:
        lines.append(f"By {when}, {names.power(focus)}'s share of the region's alignment: "
                     f"{_with_interval(by_code[focus], iv)}.")
    losers = [c for c in head.get("losers", []) if c != focus]
    if losers:
        lines.append("Who loses: " + "; ".join(
            f"{names.power(c)} {_with_interval(by_code[c], iv)}" for c in losers) + ".")
    else:
        lines.append("No power's share of the region falls.")
    region = _table([("power", "left"), ("difference", "right"), (iv.label, "right"),
                     ("same sign", "right")])
    for r in sorted(head["powers"], key=lambda r: -r["mean"]):
        region.add_row(Text(names.power(r["code"])),
                       Text("0.0" if r.get("no_difference") else points(r["mean"])),
                       Text("" if r.get("no_difference") else
                            f"{points(r['p5'])} to {points(r['p95'])}"),
                       Text(_holds(r)))
    parts: list[RenderableType | str] = [
        *(Text(x) for x in lines),
        *_titled(f"Each power's share of the region, {when}: difference in percentage points "
                 f"({b} minus {a})", region)]
    if focus is not None and head.get("states"):
        states = _table([("state", "left"), (names.power(focus), "right"),
                         (iv.label, "right"), ("loses most", "left")])
        for r in head["states"]:
            mine, worst = r["focus"], r.get("loses")
            states.add_row(
                Text(names.state(r["code"])),
                Text("0.0" if mine.get("no_difference") else points(mine["mean"])),
                Text("" if mine.get("no_difference") else
                     f"{points(mine['p5'])} to {points(mine['p95'])}"),
                Text("none" if worst is None else
                     f"{names.power(worst['power'])} {points(worst['mean'])} "
                     f"({points(worst['p5'])} to {points(worst['p95'])})"))
        parts += _titled(f"Each state, {when}: {names.power(focus)}'s share of its alignment, "
                         "and the power that loses most there (percentage points)", states)
    return render(*parts, width=width)
