"""What the terminal shows: tables that fit its width, in one unit for shares.

Shares are percentages (``24.7%``) and differences of shares are percentage points
(``+2.0 pp``), as in the report and the figures; every interval says what it covers
(:class:`sim.outputs.outcomes.Interval`). Tables are laid out by rich for the width given (the
terminal's), wrapping cells rather than overflowing; the text comes back as a string, which the
command line prints. Scenario text (names, titles) is shown as it is, never read as markup.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
from rich import box
from rich.console import Console, JustifyMethod, RenderableType
from rich.table import Table
from rich.text import Text

from sim.outputs.outcomes import NOISE_ONLY, Interval, fine_points, percent

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

    ``df`` is :func:`sim.outputs.outcomes.final_table`.
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


def _mid(d: Mapping[str, Any]) -> float:
    """The difference a headline leads with: its median over the pairs (the mean in a
    headline of an older layout, which kept no median)."""
    m = d.get("p50")
    return float(d["mean"] if m is None else m)


def _range(d: Mapping[str, Any]) -> str:
    return f"{fine_points(d['p5'])} to {fine_points(d['p95'])}"


def _holds(d: Mapping[str, Any]) -> str:
    """The share of replicates with the mean's sign; nothing to say where there is no sign."""
    if d.get("no_difference"):
        return "none differ"
    share = d.get("sign_holds")
    return "" if share is None else f"{100 * share:.0f}%"


#: What a power's share of the region is, by the scenario's weighting of the states.
WEIGHTING = {
    "equal": "the average over the states of their alignment with it",
    "gdp": "the states' alignment with it, averaged with GDP weights",
    "population": "the states' alignment with it, averaged with population weights",
}


def _value(v: Any) -> str:
    return "none" if v is None else f"{v:g}" if isinstance(v, int | float) else str(v)


def _change(c: Mapping[str, Any]) -> str:
    before = _value(c.get("a")) + (f" ({c['ref_a']})" if c.get("ref_a") else "")
    return f"{c['path']} from {before} to {_value(c.get('b'))}"


def headline(head: Mapping[str, Any], *, a: str, b: str, names: Names) -> list[str]:
    """The sentences a comparison leads with, in the terminal and in the report alike: what B
    changes, the focus power's share of the region from what to what and its paired change
    (median, interval and what it covers, and the mean where it differs), who gains and who
    loses. ``head`` is :func:`sim.outputs.outcomes.compare_headline`."""
    iv = Interval.from_json(head.get("interval"))
    when = _day(str(head["end"]))
    rows = list(head["powers"])
    by_code = {r["code"]: r for r in rows}
    focus = head.get("focus")
    over = ("over posterior draws and their replicates" if iv.covers != NOISE_ONLY
            else "over replicates")
    lines = []
    changed = list(head.get("changes", []))
    if 0 < len(changed) <= 3:
        lines.append(f"What {b} changes against {a}: {'; '.join(map(_change, changed))}.")
    elif changed:
        lines.append(f"What {b} changes against {a}: {len(changed)} values (the report lists "
                     f"them), among them {'; '.join(map(_change, changed[:2]))}.")
    if focus is not None:
        r = by_code[focus]
        what = WEIGHTING.get(str(head.get("weighting")), "")
        defined = f" ({what})" if what else ""
        step = abs(r.get("b", 0) - r.get("a", 0))
        digits = 1 if step >= 0.001 else 2 if step >= 0.0001 else 3
        levels = (f" goes from {percent(r['a'], digits)} to {percent(r['b'], digits)} (means),"
                  " a change of" if "a" in r and "b" in r else ":")
        if r.get("no_difference"):
            lines.append(f"By {when}, {names.power(focus)}'s share of the region's alignment"
                         f"{defined}: no difference in any replicate.")
        else:
            which = "mean" if r.get("p50") is None else "median"
            mean = (f"; mean {fine_points(r['mean'])} pp"
                    if fine_points(r["mean"]) != fine_points(_mid(r)) else "")
            lines.append(
                f"By {when}, {names.power(focus)}'s share of the region's alignment{defined}"
                f"{levels} {fine_points(_mid(r))} pp ({which} of the paired differences; "
                f"{iv.name} {_range(r)}, holding the middle {iv.name.split('%')[0]}% of them "
                f"{over}, covering {iv.covers}){mean}.")
    gain = [x for x in sorted(rows, key=lambda x: -_mid(x)) if _mid(x) > 0]
    lose = [x for x in sorted(rows, key=_mid) if _mid(x) < 0]
    lines.append("Who gains: " + ", ".join(f"{names.power(x['code'])} {fine_points(_mid(x))} pp"
                                           for x in gain) + "." if gain else
                 "No power's share of the region rises.")
    lines.append("Who loses: " + ", ".join(f"{names.power(x['code'])} {fine_points(_mid(x))} pp"
                                           for x in lose) + "." if lose else
                 "No power's share of the region falls.")
    return lines


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

    ``head`` is :func:`sim.outputs.outcomes.compare_headline`: :func:`headline`'s sentences, then
    every power's change in the region and, in each state, the focus power's change and the
    other power that moves most the other way.
    """
    iv = Interval.from_json(head.get("interval"))
    when = _day(str(head["end"]))
    focus = head.get("focus")
    lines = [f"{b} against {a}: {replicates:,} paired replicates on common random numbers.",
             *headline(head, a=a, b=b, names=names)]
    region = _table([("power", "left"), ("median", "right"), ("mean", "right"),
                     (iv.label, "right"), ("same sign", "right")])
    for r in sorted(head["powers"], key=lambda r: -_mid(r)):
        none = bool(r.get("no_difference"))
        region.add_row(Text(names.power(r["code"])),
                       Text("0.0" if none else fine_points(_mid(r))),
                       Text("0.0" if none else fine_points(r["mean"])),
                       Text("" if none else _range(r)),
                       Text(_holds(r)))
    parts: list[RenderableType | str] = [
        *(Text(x) for x in lines),
        *_titled(f"Each power's share of the region, {when}: change in percentage points "
                 f"({b} minus {a}, paired)", region)]
    if focus is not None and head.get("states"):
        falls = _mid(next(r for r in head["powers"] if r["code"] == focus)) < 0
        other = "gains" if falls else "loses"
        states = _table([("state", "left"), (f"{names.power(focus)}: change", "right"),
                         (iv.label, "right"), (f"{other} most", "left")])
        for r in head["states"]:
            mine, them = r["focus"], r.get(other)
            states.add_row(
                Text(names.state(r["code"])),
                Text("0.0" if mine.get("no_difference") else fine_points(_mid(mine))),
                Text("" if mine.get("no_difference") else _range(mine)),
                Text("none" if them is None else
                     f"{names.power(them['power'])} {fine_points(_mid(them))} "
                     f"({_range(them)})"))
        parts += _titled(f"Each state, {when}: the change in {names.power(focus)}'s share of "
                         f"its alignment (median, percentage points), and the other power that "
                         f"{other} most there", states)
    return render(*parts, width=width)


def effect_path(head: Mapping[str, Any], names: Names, width: int | None = None) -> str:
    """The focus power's effect at each year's end, past the answer's date to the run's end
    (median over the pairs and the 90% interval): does it last once the money stops? Empty
    when the run ends at the answer."""
    path = head.get("path")
    if not path:
        return ""
    focus = names.power(str(head["focus"]))
    covers = head.get("interval", {}).get("covers", "")
    rows = "; ".join(f"{date.fromisoformat(p['date']).year} {fine_points(p['median'])} "
                     f"({fine_points(p['p5'])} to {fine_points(p['p95'])})" for p in path)
    text = (f"{focus}'s effect at each year's end, pp (median, 90% interval, {covers}); the "
            f"answer above is read at {_day(head['end'])}: {rows}.")
    return textwrap.fill(text, width=max(40, width or WIDTH))


def agreement(head: Mapping[str, Any], names: Names, width: int | None = None) -> str:
    """Each state's predicted UN agreement with the focus power, without and with the offer,
    and the change, in points of agreement (empty without a prediction)."""
    pred = head.get("agreement")
    if not pred:
        return ""
    power = names.power(str(pred["power"]))
    covers = head.get("interval", {}).get("covers", "")
    t = _table([("state", "left"), ("without", "right"), ("with", "right"),
                (f"change, 90% interval ({covers})", "right")])
    for st in pred["states"]:
        a, b, c = st["a"], st["b"], st["change"]
        t.add_row(names.state(st["code"]), f"{a['p50']:.1f} ({a['p5']:.0f}-{a['p95']:.0f})",
                  f"{b['p50']:.1f} ({b['p5']:.0f}-{b['p95']:.0f})",
                  f"{c['p50']:+.2f} ({c['p5']:+.2f} to {c['p95']:+.2f})")
    title = (f"Predicted UN General Assembly agreement with {power}, {_day(head['end'])}: "
             f"percent of votes alike (median, 90% range), on the agenda of "
             f"{pred['year_of_agenda']}; a check anyone can make against future votes")
    return render(*_titled(textwrap.fill(title, width=max(40, width or WIDTH)), t), width=width)
