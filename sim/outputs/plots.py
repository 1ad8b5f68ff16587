"""Figures: one function per figure, arrays in, ``Figure`` out (no pyplot state).

Every figure is meant to be put in a briefing as it is: a heading that says what is shown and
over which dates, units on the axes, real dates on time axes, a footnote with the scenario and
the ensemble behind it, and fonts legible on a slide.

Colours, names, blocs and event markers are decided in :mod:`sim.outputs.look` (re-exported here).
Nothing here knows about any particular region.
"""

from __future__ import annotations

import contextlib
import textwrap
import typing
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.dates as mdates
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, PercentFormatter

from sim.model.engine import QUANTILES, Summary, Trajectories
from sim.model.params import Params
from sim.outputs import outcomes
from sim.outputs.look import BAND as BAND
from sim.outputs.look import NAME_CHARS as NAME_CHARS
from sim.outputs.look import OKABE_ITO as OKABE_ITO
from sim.outputs.look import PALETTE as PALETTE
from sim.outputs.look import Look as Look
from sim.outputs.look import Marker as Marker
from sim.outputs.look import make_look as make_look
from sim.outputs.look import markers as markers
from sim.outputs.look import palette as palette

#: Blocs are drawn in shades of grey, darkest first, so they never read as one of the powers;
#: powers in no bloc ("other") take the lightest.
BLOC_SHADES = ("#1F1F1F", "#8C8C8C", "#4D4D4D", "#B3B3B3")
OTHER = "#D0D0D0"
INK, MUTED = "#222222", "#5A5A5A"
LO, MID, HI = QUANTILES.index(0.05), QUANTILES.index(0.5), QUANTILES.index(0.95)
DPI = 150
#: How PNGs are compressed: zlib's fastest level (files about a tenth larger than at its
#: default, written in less time; the same bytes for the same figure).
PNG: dict[str, Any] = {"compress_level": 1}
#: Longest label at a line's end (longer: shortened, "...").
LABEL_CHARS = 30

#: Slide-legible defaults, applied while a figure is built (never globally).
RC = {
    "font.size": 12,
    "axes.titlesize": 13,
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "figure.titlesize": 16,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#444444",
    "axes.titlelocation": "left",
    "svg.fonttype": "none",
    "svg.hashsalt": "sim",
}


# --------------------------------------------------------------------------- look


def _mark_events(ax: Axes, lk: Look) -> None:
    """Events on a time axis: a triangle in the host's colour for a summit, a grey bar for any
    other event, along the bottom edge (as collections: the lines stay the data's)."""
    at = ax.get_xaxis_transform()  # x in dates, y as a fraction of the axes
    summits = [m for m in lk.events if m.kind == "summit"]
    others = [np.datetime64(m.when, "D") for m in lk.events if m.kind != "summit"]
    if summits:
        ax.scatter([np.datetime64(m.when, "D") for m in summits], [0.0] * len(summits),
                   marker="^", s=50, c=[lk.colours.get(m.power or "", MUTED) for m in summits],
                   edgecolors="white", linewidths=0.6, transform=at, clip_on=False, zorder=5)
    if others:
        ax.vlines(others, 0.0, 0.05, colors=MUTED, linewidth=1.2, transform=at, clip_on=False,
                  zorder=5)


def _events_note(lk: Look) -> str:
    """The footnote's sentence on event markers (nothing if there are none)."""
    if not lk.events:
        return ""
    kinds = {m.kind == "summit" for m in lk.events}
    parts = (["triangles: summits, in the host's colour"] if True in kinds else []) + \
        (["grey bars: other events"] if False in kinds else [])
    return " On the time axis, " + "; ".join(parts) + "."


def colour(p: Params, power: str) -> str:
    """The colour of a power (by its code; see :func:`palette`)."""
    return palette(p.powers)[power]


# --------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def _style() -> Iterator[None]:
    with matplotlib.rc_context(typing.cast(Any, RC)):  # keys are checked by matplotlib
        yield


def _dates(p: Params) -> np.ndarray:
    return np.array(p.dates, dtype="datetime64[D]")


def _period(dates: Sequence[date]) -> str:
    return f"{dates[0]:%b %Y} to {dates[-1]:%b %Y}"


def _day(d: date) -> str:
    return f"{d.day} {d:%b %Y}"


#: The first and last days matplotlib's dates can show (years 1 to 9999).
_FIRST_DAY = float(mdates.date2num(date(1, 1, 2)))
_LAST_DAY = float(mdates.date2num(date(9999, 12, 30)))


class _DateLocator(mdates.AutoDateLocator):
    """Matplotlib's automatic date ticks, found once per view interval: laying a figure out
    and drawing it asks for an axis' ticks dozens of times, always for the same dates."""

    def __init__(self, **kw: Any) -> None:
        mdates.AutoDateLocator.__init__(self, **kw)
        self._found: dict[tuple[float, float], Any] = {}

    def __call__(self) -> Any:
        if self.axis is None:
            return mdates.AutoDateLocator.__call__(self)
        key = (float(self.axis.get_view_interval()[0]), float(self.axis.get_view_interval()[1]))
        if key not in self._found:
            self._found[key] = mdates.AutoDateLocator.__call__(self)
        return np.array(self._found[key])


class _DateFormatter(mdates.ConciseDateFormatter):
    """Matplotlib's concise date labels (no offset), written once per set of ticks."""

    def __init__(self, locator: mdates.AutoDateLocator) -> None:
        mdates.ConciseDateFormatter.__init__(self, locator, show_offset=False)
        self._written: dict[tuple[float, ...], list[str]] = {}

    def format_ticks(self, values: Any) -> list[str]:
        key = tuple(float(v) for v in values)
        if key not in self._written:
            self._written[key] = list(mdates.ConciseDateFormatter.format_ticks(self, values))
        return list(self._written[key])


def _date_axis(ax: Axes) -> None:
    locator = _DateLocator(minticks=3, maxticks=7)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(_DateFormatter(locator))


def _pct(ax: Axes, decimals: int = 0) -> None:
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=decimals))


def _pp(ax: Axes) -> None:
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{100 * v:+.1f}".replace("+0.0", "0")))


def _frame(fig: Figure, heading: str, note: str) -> None:
    """Heading (what is shown) at the top left, a source-style note at the bottom left."""
    width = max(40, int(fig.get_figwidth() * 7.2))
    fig.suptitle(textwrap.fill(heading, width), x=0.01, ha="left", fontweight="bold", color=INK)
    fig.supxlabel(textwrap.fill(note, int(fig.get_figwidth() * 12)), x=0.01, ha="left", fontsize=10,
                  color=MUTED)


def _note(title: str, s: Summary | None = None, extra: str = "") -> str:
    parts = [f"Scenario: {title}."]
    if s is not None:
        parts.append(f"{s.n} replicates.")
    if extra:
        parts.append(extra)
    return " ".join(parts)


def _grid(n: int, cols: int = 3) -> tuple[int, int]:
    cols = max(1, min(cols, n))
    return int(np.ceil(n / cols)), cols


def _panels(fig: Figure, n: int, cols: int = 3, **kw: Any) -> tuple[list[Axes], Axes | None]:
    """``n`` panels in rows of ``cols``; also the first unused slot (for the legend), if any."""
    rows, cols = _grid(n, cols)
    axes = fig.subplots(rows, cols, squeeze=False, **kw)
    flat = [ax for row in axes for ax in row]
    for ax in flat[n:]:
        ax.set_visible(False)
    return flat[:n], (flat[n] if len(flat) > n else None)


def _legend(
    fig: Figure, handles: list[Artist], labels: list[str], spare: Axes | None = None,
    ax: Axes | None = None,
) -> None:
    """The legend in an unused panel, else above ``ax`` (under the heading), else at the right."""
    if spare is not None:
        spare.set_visible(True)
        spare.set_axis_off()
        spare.legend(handles, labels, loc="center", frameon=False, fontsize=13)
    elif ax is not None:
        ax.legend(handles, labels, loc="lower left", bbox_to_anchor=(0, 1.01),
                  ncols=min(len(labels), 6), frameon=False, borderaxespad=0, handlelength=1.5,
                  columnspacing=1.2)
    else:
        fig.legend(handles, labels, loc="outside right center", frameon=False)


def _spread(ys: Sequence[float], gap: float, lo: float, hi: float) -> list[float]:
    """Positions near ``ys`` at least ``gap`` apart within [lo, hi] (order kept)."""
    order = np.argsort(ys)
    pos = np.array(ys, dtype=float)[order]
    for _ in range(50):
        moved = False
        for i in range(1, len(pos)):
            if pos[i] - pos[i - 1] < gap:
                mid = (pos[i] + pos[i - 1]) / 2
                pos[i - 1], pos[i] = mid - gap / 2, mid + gap / 2
                moved = True
        pos = np.clip(pos, lo, hi)
        if not moved:
            break
    out = np.empty(len(pos))
    out[order] = pos
    return out.tolist()


def _end_labels(ax: Axes, ys: Sequence[float], texts: Sequence[str], colours: Sequence[str],
                *, gap: float = 0.065) -> None:
    """Label lines or bands at the right edge, at ``ys`` (data units), kept ``gap`` apart.

    A label moved away from its line is joined to it by a thin leader.
    """
    y0, y1 = ax.get_ylim()
    frac = [(y - y0) / (y1 - y0) for y in ys]
    texts = [textwrap.shorten(t, LABEL_CHARS, placeholder="...") for t in texts]
    for f_true, f_pos, text, c in zip(frac, _spread(frac, gap, 0.0, 1.0), texts, colours,
                                      strict=True):
        moved = abs(f_pos - f_true) > gap / 4
        ax.annotate(text, (1.0, f_true), xycoords="axes fraction", xytext=(1.035, f_pos),
                    textcoords="axes fraction", va="center", ha="left", color=c,
                    fontweight="bold", annotation_clip=False,
                    arrowprops={"arrowstyle": "-", "color": c, "linewidth": 0.8, "shrinkA": 1,
                                "shrinkB": 0} if moved else None)


def _handles(
    lk: Look, powers: Sequence[str], patch: bool = False
) -> tuple[list[Artist], list[str]]:
    from matplotlib.lines import Line2D

    handles: list[Artist] = [
        Patch(color=lk.colours[c]) if patch else Line2D([], [], color=lk.colours[c], lw=2.5)
        for c in powers
    ]
    return handles, [lk.power(c) for c in powers]


# --------------------------------------------------------------------------- run figures


def regional_share(s: Summary, p: Params, *, title: str, look: Look | None = None) -> Figure:
    """Each power's share of the region's alignment over time: median and 5-95% band."""
    lk = look or make_look(p)
    with _style():
        fig = Figure(figsize=(10, 5.6), layout="constrained")
        ax = fig.subplots()
        x = _dates(p)
        for j, power in enumerate(p.powers):
            c = lk.colours[power]
            ax.fill_between(x, s.region_q[LO, :, j], s.region_q[HI, :, j], color=c, alpha=0.22,
                            linewidth=0)
            ax.plot(x, s.region_q[MID, :, j], color=c, linewidth=2.5)
        ax.set_ylabel("share of the region's alignment")
        ax.set_ylim(0, None)
        _pct(ax)
        ax.grid(alpha=0.3)
        _date_axis(ax)
        _mark_events(ax, lk)
        _end_labels(ax, s.region_q[MID, -1], [f"{lk.power(c)} {100 * v:.0f}%" for c, v in
                                              zip(p.powers, s.region_q[MID, -1], strict=True)],
                    [lk.colours[c] for c in p.powers])
        _frame(fig, f"Each power's share of the region's alignment, {_period(p.dates)}",
               _note(title, s, f"Lines: median; shaded: {lk.band} of replicates. "
                               "Region = states weighted as the scenario says."
                               + _events_note(lk)))
    return fig


def _bloc_colours(names: Sequence[str]) -> dict[str, str]:
    named = [n for n in names if n != "other"]
    out = {n: BLOC_SHADES[i % len(BLOC_SHADES)] for i, n in enumerate(named)}
    if "other" in names:
        out["other"] = OTHER
    return out


def bloc_shares(
    s: Summary, p: Params, *, title: str, look: Look, traj: Trajectories | None = None
) -> Figure:
    """Blocs' shares of the region over time, and of each state at the end.

    Blocs are shades of grey (:data:`BLOC_SHADES`), labelled at the end of their lines.
    """
    series = outcomes.bloc_series(s, p, look.blocs, traj)
    names = list(series)
    cols = _bloc_colours(names)
    with _style():
        fig = Figure(figsize=(12, 5.6), layout="constrained")
        ax, bx = fig.subplots(1, 2, width_ratios=(1.6, 1))
        x = _dates(p)
        for n in names:
            lo, mid, hi = series[n]
            if traj is not None:
                ax.fill_between(x, lo, hi, color=cols[n], alpha=0.22, linewidth=0)
            ax.plot(x, mid, color=cols[n], linewidth=2.5)
        ax.set_ylim(0, 1)
        _pct(ax)
        ax.grid(alpha=0.3)
        _date_axis(ax)
        _mark_events(ax, look)
        ax.set_title("The region")
        ax.set_ylabel("share of the region's alignment")
        # per state at the end: mean shares, stacked
        final = s.align_mean[-1]
        groups = outcomes.bloc_groups(p.powers, look.blocs)
        y = np.arange(len(p.states))[::-1]
        left = np.zeros(len(p.states))
        for n in names:
            v = np.array([outcomes.bloc_share(final, groups[n], p.region_w, state=k)
                          for k in range(len(p.states))])
            bx.barh(y, v, left=left, color=cols[n], height=0.7, edgecolor="white")
            for yi, li, vi in zip(y, left, v, strict=True):
                if vi >= 0.12:
                    bx.text(li + vi / 2, yi, f"{100 * vi:.0f}%", ha="center", va="center",
                            color="white" if cols[n] in BLOC_SHADES[:3] else INK, fontsize=11,
                            fontweight="bold")
            left += v
        bx.set_yticks(y, [look.state(c) for c in p.states])
        bx.set_xlim(0, 1)
        bx.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        bx.set_title(f"Each state, {p.dates[-1]:%b %Y} (mean)")
        bx.spines["left"].set_visible(False)
        bx.tick_params(axis="y", length=0)
        ends = [series[n][1, -1] for n in names]
        labels = [("other: " + ", ".join(look.power(p.powers[j]) for j in groups[n])
                   if n == "other" else n)
                  + f" {100 * v:.0f}%" for n, v in zip(names, ends, strict=True)]
        _end_labels(ax, ends, labels, [cols[n] if n != "other" else MUTED for n in names])
        band = (f"line: {outcomes.bloc_statistic(traj)}, shaded: {look.band} of replicates"
                if traj is not None else "mean over replicates (trajectories not kept)")
        _frame(fig, f"Bloc shares of alignment, {_period(p.dates)}",
               _note(title, s, f"A bloc's share is the sum of its powers' shares; {band}."
                               + _events_note(look)))
    return fig


def alignment_paths(s: Summary, p: Params, *, title: str, look: Look | None = None) -> Figure:
    """Each state's alignment over time: median line and 5-95% band per power, one panel each."""
    lk = look or make_look(p)
    rows, cols = _grid(len(p.states))
    with _style():
        fig = Figure(figsize=(4.3 * cols, 3.1 * rows + 1.4), layout="constrained")
        axes, spare = _panels(fig, len(p.states), sharex=True, sharey=True)
        x = _dates(p)
        for k, (ax, state) in enumerate(zip(axes, p.states, strict=True)):
            for j, power in enumerate(p.powers):
                c = lk.colours[power]
                ax.fill_between(x, s.align_q[LO, :, k, j], s.align_q[HI, :, k, j], color=c,
                                alpha=0.22, linewidth=0)
                ax.plot(x, s.align_q[MID, :, k, j], color=c, linewidth=2)
            ax.set_title(lk.state(state))
            ax.set_ylim(0, 1)
            _pct(ax)
            ax.grid(alpha=0.3)
            _date_axis(ax)
            _mark_events(ax, lk)
            if k % cols == 0:
                ax.set_ylabel("share of alignment")
            ax.tick_params(labelbottom=True)
        _legend(fig, *_handles(lk, p.powers), spare=spare)
        _frame(fig, f"Alignment of each state with each power, {_period(p.dates)}",
               _note(title, s, f"Lines: median; shaded: {lk.band} of replicates."
                               + _events_note(lk)))
    return fig


def _stack(ax: Axes, x: np.ndarray, shares: np.ndarray, p: Params, lk: Look) -> None:
    ax.stackplot(x, shares.T, colors=[lk.colours[c] for c in p.powers], edgecolor="white",
                 linewidth=0.4)
    ax.set_ylim(0, 1)
    ax.set_xlim(x[0], x[-1])
    ax.margins(x=0)
    _pct(ax)
    _date_axis(ax)
    _mark_events(ax, lk)


def composition_grid(s: Summary, p: Params, *, title: str, look: Look | None = None) -> Figure:
    """The region as small multiples: one panel per state, its mean alignment stacked."""
    lk = look or make_look(p)
    rows, cols = _grid(len(p.states))
    with _style():
        fig = Figure(figsize=(4.3 * cols, 3.1 * rows + 1.4), layout="constrained")
        axes, spare = _panels(fig, len(p.states), sharex=True, sharey=True)
        x = _dates(p)
        for k, (ax, state) in enumerate(zip(axes, p.states, strict=True)):
            _stack(ax, x, s.align_mean[:, k, :], p, lk)
            ax.set_title(lk.state(state))
            if k % cols == 0:
                ax.set_ylabel("share of alignment")
            ax.tick_params(labelbottom=True)
        _legend(fig, *_handles(lk, p.powers, patch=True), spare=spare)
        _frame(fig, f"How each state's alignment is divided among the powers, {_period(p.dates)}",
               _note(title, s, "Mean over replicates (means of shares add up to 100%)."
                               + _events_note(lk)))
    return fig


def state_composition(
    s: Summary, p: Params, *, state: str, title: str, look: Look | None = None
) -> Figure:
    """One state's mean alignment as a stacked area, each band labelled at the end."""
    lk = look or make_look(p)
    k = p.states.index(state)
    with _style():
        fig = Figure(figsize=(10, 5.6), layout="constrained")
        ax = fig.subplots()
        x = _dates(p)
        shares = s.align_mean[:, k, :]
        _stack(ax, x, shares, p, lk)
        ax.set_ylabel("share of alignment")
        mids = np.cumsum(shares[-1]) - shares[-1] / 2
        _end_labels(ax, mids, [f"{lk.power(c)} {100 * v:.0f}%" for c, v in
                               zip(p.powers, shares[-1], strict=True)],
                    [lk.colours[c] for c in p.powers])
        _frame(fig, f"{lk.state(state)}: alignment with each power, {_period(p.dates)}",
               _note(title, s, "Mean over replicates; labels give the shares at the end."
                               + _events_note(lk)))
    return fig


def final_heatmap(s: Summary, p: Params, *, title: str, look: Look | None = None) -> Figure:
    """Mean final alignment, states by powers, with the values written in."""
    lk = look or make_look(p)
    data = s.align_mean[-1]
    with _style():
        fig = Figure(figsize=(1.5 * len(p.powers) + 4.2, 0.75 * len(p.states) + 2.6),
                     layout="constrained")
        ax = fig.subplots()
        vmax = max(0.5, float(data.max()))
        im = ax.imshow(data, cmap="viridis", vmin=0, vmax=vmax, aspect="auto")
        ax.set_xticks(range(len(p.powers)), [lk.power(c) for c in p.powers],
                      rotation=20 if len(p.powers) > 4 else 0, ha="right" if len(p.powers) > 4
                      else "center")
        ax.set_yticks(range(len(p.states)), [lk.state(c) for c in p.states])
        ax.spines[:].set_visible(False)
        ax.tick_params(length=0)
        for i in range(len(p.states)):
            for j in range(len(p.powers)):
                v = data[i, j]
                ax.text(j, i, f"{100 * v:.0f}%", ha="center", va="center", fontsize=12,
                        color="black" if v > 0.55 * vmax else "white")
        bar = fig.colorbar(im, ax=ax, shrink=0.9)
        bar.set_label("mean share of alignment")
        bar.ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        _frame(fig, f"Alignment at the end, {_day(p.dates[-1])}: each state with each power",
               _note(title, s, "Mean over replicates; each row adds up to 100%."))
    return fig


def hedging(s: Summary, p: Params, *, title: str, look: Look | None = None) -> Figure:
    """Each state's hedging index over time, one panel each, the other states in grey."""
    lk = look or make_look(p)
    rows, cols = _grid(len(p.states))
    with _style():
        fig = Figure(figsize=(4.3 * cols, 3.0 * rows + 1.2), layout="constrained")
        axes, _ = _panels(fig, len(p.states), sharex=True, sharey=True)
        x = _dates(p)
        for k, (ax, state) in enumerate(zip(axes, p.states, strict=True)):
            for other in range(len(p.states)):
                if other != k:
                    ax.plot(x, s.hedging_q[MID, :, other], color="#C8C8C8", linewidth=1)
            ax.fill_between(x, s.hedging_q[LO, :, k], s.hedging_q[HI, :, k], color=INK,
                            alpha=0.18, linewidth=0)
            ax.plot(x, s.hedging_q[MID, :, k], color=INK, linewidth=2.2)
            ax.set_title(lk.state(state))
            ax.set_ylim(0, 1)
            ax.grid(alpha=0.3)
            _date_axis(ax)
            _mark_events(ax, lk)
            ax.tick_params(labelbottom=True)
            if k % cols == 0:
                ax.set_ylabel("hedging index")
        _frame(fig, f"Hedging: how evenly each state spreads its alignment, {_period(p.dates)}",
               _note(title, s, f"Index = normalised entropy: 0 = aligned with one power, 1 = an "
                               f"even spread over all {len(p.powers)}. Black: median, shaded: "
                               f"{lk.band}; grey: the other states." + _events_note(lk)))
    return fig


def money_delivered(s: Summary, p: Params, *, title: str, look: Look | None = None) -> Figure:
    """Money each power delivers to the region per calendar year (USD bn), stacked."""
    lk = look or make_look(p)
    per_round = s.delivered_mean[1:].sum(axis=1)  # (R, P): summed over states
    years = np.array([d.year for d in p.dates[:-1]])
    labels = sorted(set(years))
    totals = np.array([per_round[years == y].sum(0) for y in labels])  # (Y, P)
    with _style():
        fig = Figure(figsize=(10, 5.6), layout="constrained")
        ax = fig.subplots()
        bottom = np.zeros(len(labels))
        for j, power in enumerate(p.powers):
            ax.bar(labels, totals[:, j], bottom=bottom, color=lk.colours[power], width=0.7,
                   edgecolor="white", linewidth=0.5)
            bottom += totals[:, j]
        for xi, t in zip(labels, bottom, strict=True):
            ax.text(xi, t, f"{t:.1f}", ha="center", va="bottom", fontsize=11, color=INK)
        ax.set_xticks(labels, [str(y) for y in labels])
        ax.set_ylabel("USD bn per year")
        ax.grid(alpha=0.3, axis="y")
        ax.set_axisbelow(True)
        _legend(fig, *_handles(lk, p.powers, patch=True), ax=ax)
        _frame(fig, "Money delivered to the region by each power's modelled pledges, per year "
                    "(USD bn)",
               _note(title, s, "Modelled pledges only: the money of the scenario's instruments, "
                               "not all of a power's finance, trade or investment in the region. "
                               "Mean over replicates, after delivery rates and delivery noise; "
                               "rounds counted in the year they start. Loans at face value."))
    return fig


# --------------------------------------------------------------------------- comparisons


def difference_paths(
    dates: Sequence[date],
    mean: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    *,
    powers: Sequence[str],
    a: str,
    b: str,
    look: Look | None = None,
    what: str = "share of the region's alignment",
    interval: str = outcomes.interval().label,
    note: str = "",
    answer: date | None = None,
) -> Figure:
    """Difference B minus A over time, one panel per power, with its interval; with
    ``answer`` (a date before the run's end) a dotted line where the answer is read, so the
    path after it shows whether the effect lasts.

    Args:
        dates: round boundaries, ``T`` of them.
        mean, lo, hi: ``(T, P)`` difference (B minus A, as a share) and its interval bounds.
        powers: the ``P`` power codes.
        a, b: labels of the two scenarios.
        what: the quantity compared (for the heading).
        interval: how the interval was made (for the footnote).
    """
    lk = look or Look(palette(list(powers)))
    x = np.array(dates, dtype="datetime64[D]")
    rows, cols = _grid(len(powers))
    with _style():
        fig = Figure(figsize=(4.3 * cols, 3.0 * rows + 1.4), layout="constrained")
        axes, _ = _panels(fig, len(powers), sharex=True, sharey=True)
        for j, (ax, power) in enumerate(zip(axes, powers, strict=True)):
            c = lk.colours[power]
            ax.axhline(0, color=INK, linewidth=1)
            ax.fill_between(x, lo[:, j], hi[:, j], color=c, alpha=0.25, linewidth=0)
            ax.plot(x, mean[:, j], color=c, linewidth=2.2)
            if answer is not None:
                ax.axvline(float(mdates.date2num(answer + timedelta(days=1))), color=INK,
                           linestyle=":", linewidth=1.2)
            ax.set_title(lk.power(power), color=c, fontweight="bold")
            ax.grid(alpha=0.3)
            _pp(ax)
            _date_axis(ax)
            _mark_events(ax, lk)
            ax.tick_params(labelbottom=True)
            if j % cols == 0:
                ax.set_ylabel("difference (points)")
        _frame(fig, f"{b} minus {a}: difference in each power's {what}, {_period(dates)}",
               f"Percentage points; line: mean difference, shaded: {interval}. {note}".strip()
               + (f" Dotted: the answer's date, {_day(answer)}." if answer is not None else "")
               + _events_note(lk))
    return fig


def difference_final(
    states: Sequence[str],
    powers: Sequence[str],
    mean: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    *,
    a: str,
    b: str,
    when: date,
    look: Look | None = None,
    interval: str = outcomes.interval().label,
    note: str = "",
) -> Figure:
    """Difference B minus A at one date, per state and power: dots with interval whiskers.

    ``mean``, ``lo`` and ``hi`` are ``(S, P)`` shares; the figure shows percentage points.
    """
    lk = look or Look(palette(list(powers)))
    n_p = len(powers)
    with _style():
        fig = Figure(figsize=(10, 0.9 * len(states) * max(1, n_p / 4) + 2.4), layout="constrained")
        ax = fig.subplots()
        ax.axvline(0, color=INK, linewidth=1)
        offsets = np.linspace(-0.3, 0.3, n_p) if n_p > 1 else np.zeros(1)
        y0 = np.arange(len(states))[::-1]
        for j, power in enumerate(powers):
            y = y0 + offsets[::-1][j]
            c = lk.colours[power]
            ax.errorbar(mean[:, j], y, xerr=[mean[:, j] - lo[:, j], hi[:, j] - mean[:, j]],
                        fmt="o", color=c, ecolor=c, elinewidth=2, capsize=0, markersize=7)
        ax.set_yticks(y0, [lk.state(c) for c in states])
        ax.xaxis.set_major_formatter(
            FuncFormatter(lambda v, _: f"{100 * v:+.1f}".replace("+0.0", "0")))
        ax.set_xlabel("difference in share of alignment (percentage points)")
        ax.grid(alpha=0.3, axis="x")
        ax.tick_params(axis="y", length=0)
        for k in range(len(states) - 1):
            ax.axhline(k + 0.5, color="#E5E5E5", linewidth=1)
        _legend(fig, *_handles(lk, powers), ax=ax)
        _frame(fig, f"{b} minus {a}: alignment of each state on {_day(when)}",
               f"Dot: mean difference; whisker: {interval}. {note}".strip())
    return fig


def standard(
    s: Summary,
    p: Params,
    *,
    title: str,
    look: Look | None = None,
    traj: Trajectories | None = None,
) -> dict[str, Figure]:
    """The figures every run writes, by file stem, in the order a report shows them."""
    lk = look or make_look(p)
    figs = {"regional_share": regional_share(s, p, title=title, look=lk)}
    if lk.blocs:
        figs["bloc_shares"] = bloc_shares(s, p, title=title, look=lk, traj=traj)
    figs["alignment_by_state"] = alignment_paths(s, p, title=title, look=lk)
    figs["alignment_composition"] = composition_grid(s, p, title=title, look=lk)
    figs["final_alignment_heatmap"] = final_heatmap(s, p, title=title, look=lk)
    figs["hedging_index"] = hedging(s, p, title=title, look=lk)
    figs["money_delivered"] = money_delivered(s, p, title=title, look=lk)
    return figs


def per_state(s: Summary, p: Params, *, title: str, look: Look | None = None) -> dict[str, Figure]:
    """One stacked-area figure per state (for slides), by file stem."""
    lk = look or make_look(p)
    return {f"alignment_{c}": state_composition(s, p, state=c, title=title, look=lk)
            for c in p.states}


def warm_up() -> None:
    """Load what the first figure saved in a process would (fonts, the PNG writer), by saving a
    small one in memory; a process that draws figures for another does it while it waits."""
    import io

    with _style():
        fig = Figure(figsize=(2, 1), layout="constrained")
        ax = fig.subplots()
        ax.plot(np.array(["2025-01-01", "2030-01-01"], dtype="datetime64[D]"), [0.0, 1.0])
        _date_axis(ax)
        _pct(ax)
        _frame(fig, "warm-up", "warm-up")
        fig.savefig(io.BytesIO(), format="png", dpi=DPI, facecolor="white")


def save(fig: Figure, folder: Path, stem: str, formats: Sequence[str] = ("png",)) -> list[Path]:
    """Save a figure as PNG, and as SVG too if ``formats`` asks; returns the paths written.

    The layout is solved once, for the PNG, and kept for the SVG (solving it is most of the
    time a save takes).
    """
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / f"{stem}.png"
    for ax in fig.axes:  # margins must not reach past the dates matplotlib can draw
        if isinstance(ax.xaxis.get_major_locator(), mdates.AutoDateLocator):
            lo, hi = ax.get_xlim()
            if lo < _FIRST_DAY or hi > _LAST_DAY:
                ax.set_xlim(max(lo, _FIRST_DAY), min(hi, _LAST_DAY))
    with _style():
        # the layout solved here, at the PNG's resolution, and kept: saving with a layout
        # engine would first draw the whole figure once more (without rasterising) to solve it
        engine = fig.get_layout_engine()
        fig.set_dpi(DPI)
        if engine is not None:
            engine.execute(fig)
        fig.set_layout_engine("none")
        try:
            fig.savefig(png, dpi=DPI, facecolor="white", pil_kwargs=PNG)
            if "svg" not in formats:
                return [png]
            svg = folder / f"{stem}.svg"
            fig.savefig(svg, facecolor="white", metadata={"Date": None})
        finally:
            fig.set_layout_engine(engine)
    return [png, svg]
