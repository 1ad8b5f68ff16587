"""Sweep figures: one function per figure, tables in, ``Figure`` out (no pyplot state)."""

from __future__ import annotations

import itertools
import math
import os
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axis import Axis
from matplotlib.collections import Collection
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim.experiments.sweep.analyse import Discovery
from sim.outputs.outcomes import interval

BLUE, ORANGE, GREY = "#0072B2", "#D55E00", "#999999"
#: What a response curve's band covers (:func:`sim.outputs.outcomes.interval`).
BAND = interval().band


def _unit_axis(axis: Axis, unit: str | None) -> str:
    """Show an outcome's values in its unit (shares in percent, differences in percentage
    points, as the text and the tables do); returns the suffix for the axis label."""
    def decimals() -> int:
        """As many decimals as tell the ticks apart (7.2, 7.4, ... not 7, 7, 7)."""
        locs = sorted(set(axis.get_majorticklocs()))
        step = min((b - a for a, b in itertools.pairwise(locs)), default=1.0)
        return max(0, math.ceil(-math.log10(100 * step) + 1e-9)) if step > 0 else 1

    if unit in ("percent", "replicates"):
        axis.set_major_formatter(FuncFormatter(lambda x, _: f"{100 * x:.{decimals()}f}%"))
        return " (%)"
    if unit == "points":
        axis.set_major_formatter(FuncFormatter(
            lambda x, _: f"{100 * x:+.{decimals()}f}" if x else "0"))
        return " (percentage points)"
    return ""


def _wrap(text: str, width: int = 75) -> str:
    """A title on as many lines as it needs."""
    return textwrap.fill(text, width)


def save(fig: Figure, folder: Path, stem: str) -> Path:
    """Save a figure as PNG (under a temporary name, then renamed); returns the path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.png"
    tmp = folder / f".tmp-{stem}.png"
    fig.savefig(tmp, dpi=150, format="png")
    os.replace(tmp, path)
    return path


def response(
    table: pd.DataFrame, param: str, outcome: str, label: str, *, band: bool = True,
    band_label: str = BAND, unit: str | None = None,
) -> Figure:
    """A one-parameter sweep: the outcome against the parameter, with its band over replicates
    (``band_label`` says what it covers); values in the outcome's ``unit``
    (:attr:`sim.outputs.outcomes.Measure.unit`)."""
    t = table.sort_values(param)
    fig = Figure(figsize=(6.5, 4), layout="constrained")
    ax = fig.add_subplot()
    if band:
        ax.fill_between(
            t[param],
            t[f"{outcome}.p5"],
            t[f"{outcome}.p95"],
            color=BLUE,
            alpha=0.2,
            linewidth=0,
            label=f"{band_label} of replicates",
        )
    ax.plot(t[param], t[outcome], color=BLUE, marker="o", markersize=3, label=outcome)
    ax.set_xlabel(param)
    ax.set_ylabel(outcome + _unit_axis(ax.yaxis, unit))
    ax.set_title(_wrap(label, 70), fontsize=10, loc="left")
    ax.legend(fontsize=8)
    return fig


def heatmap(table: pd.DataFrame, px: str, py: str, outcome: str, label: str,
            unit: str | None = None) -> Figure:
    """A two-parameter sweep: the outcome over both (a grid as cells, other designs as dots)."""
    fig = Figure(figsize=(6.5, 5), layout="constrained")
    ax = fig.add_subplot()
    xs, ys = np.unique(table[px]), np.unique(table[py])
    mesh: Collection
    if len(xs) * len(ys) == len(table):
        grid = table.pivot_table(index=py, columns=px, values=outcome, aggfunc="mean")
        mesh = ax.pcolormesh(
            _edges(grid.columns.to_numpy(float)),
            _edges(grid.index.to_numpy(float)),
            grid.to_numpy(),
            cmap="viridis",
            shading="flat",
        )
    else:
        mesh = ax.scatter(table[px], table[py], c=table[outcome], cmap="viridis", s=14)
    bar = fig.colorbar(mesh, ax=ax)
    bar.set_label(outcome + _unit_axis(bar.ax.yaxis, unit))
    ax.set_xlabel(px)
    ax.set_ylabel(py)
    ax.set_title(_wrap(label, 70), fontsize=10, loc="left")
    return fig


def _edges(centres: np.ndarray) -> np.ndarray:
    if len(centres) == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    mid = (centres[1:] + centres[:-1]) / 2
    return np.concatenate(
        [[centres[0] - (mid[0] - centres[0])], mid, [centres[-1] + (centres[-1] - mid[-1])]]
    )


def sobol_bars(table: pd.DataFrame, outcome: str, label: str) -> Figure:
    """First-order and total Sobol' indices of one outcome, with their intervals."""
    t = table[table["outcome"] == outcome].sort_values("ST", ascending=True)
    fig = Figure(figsize=(7, 1.2 + 0.45 * len(t)), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(t))
    ax.barh(
        y + 0.2,
        t["S1"],
        height=0.4,
        xerr=t["S1_conf"],
        color=BLUE,
        label="first-order S1",
        error_kw={"capsize": 2},
    )
    ax.barh(
        y - 0.2,
        t["ST"],
        height=0.4,
        xerr=t["ST_conf"],
        color=ORANGE,
        label="total ST",
        error_kw={"capsize": 2},
    )
    ax.set_yticks(y, t["parameter"], fontsize=8)
    ax.axvline(0, color=GREY, linewidth=0.8)
    ax.set_xlabel("Sobol' index (95% interval)")
    ax.set_title(_wrap(label), fontsize=10, loc="left")
    ax.legend(fontsize=8, loc="lower right")
    return fig


def morris_plot(table: pd.DataFrame, outcome: str, label: str) -> Figure:
    """Morris mu* against sigma for one outcome (mu* interval as horizontal bars)."""
    t = table[table["outcome"] == outcome]
    fig = Figure(figsize=(6.5, 5), layout="constrained")
    ax = fig.add_subplot()
    ax.errorbar(t["mu_star"], t["sigma"], xerr=t["mu_star_conf"], fmt="o", color=BLUE, capsize=2)
    for r in t.itertuples():
        ax.annotate(
            str(r.parameter), (r.mu_star, r.sigma), fontsize=7, xytext=(4, 3),
            textcoords="offset points",
        )
    top = float(max(t["mu_star"].max(), t["sigma"].max(), 1e-12)) * 1.1
    ax.plot([0, top], [0, top], color=GREY, linewidth=0.8, linestyle="--", label="sigma = mu*")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("mu* (mean absolute elementary effect)")
    ax.set_ylabel("sigma (spread of effects)")
    ax.set_title(_wrap(label), fontsize=10, loc="left")
    ax.legend(fontsize=8)
    return fig


def prim_tradeoff(d: Discovery) -> Figure:
    """PRIM's peeling trajectory: density against coverage, coloured by restricted parameters."""
    fig = Figure(figsize=(6.5, 5), layout="constrained")
    ax = fig.add_subplot()
    t = d.trajectory
    sc = ax.scatter(t["coverage"], t["density"], c=t["res_dim"], cmap="viridis", s=16)
    fig.colorbar(sc, ax=ax, label="restricted parameters")
    if d.chosen is not None:
        row = t.iloc[d.chosen]
        ax.scatter(
            [row["coverage"]],
            [row["density"]],
            s=120,
            facecolors="none",
            edgecolors=ORANGE,
            linewidths=1.5,
            label="reported box",
        )
        ax.legend(fontsize=8)
    ax.set_xlabel("coverage")
    ax.set_ylabel("density")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_title(f"PRIM trade-off: {d.condition}", fontsize=9)
    return fig


def prim_box(d: Discovery) -> Figure:
    """The reported box: each parameter's limits within its design range (0 = min, 1 = max)."""
    b = d.box
    fig = Figure(figsize=(7, 1.4 + 0.45 * max(len(b), 1)), layout="constrained")
    ax = fig.add_subplot()
    span = (b["max"] - b["min"]).replace(0, 1.0)
    lo, hi = (b["low"] - b["min"]) / span, (b["high"] - b["min"]) / span
    y = np.arange(len(b))
    ax.barh(y, np.ones(len(b)), color="#EEEEEE", height=0.6)
    ax.barh(y, hi - lo, left=lo, height=0.6, color=np.where(b["restricted"], ORANGE, GREY))
    for i, r in enumerate(b.itertuples()):
        ax.text(1.01, i, f"[{r.low:.3g}, {r.high:.3g}]", va="center", fontsize=7)
    ax.set_yticks(y, b["parameter"], fontsize=8)
    ax.set_xlim(0, 1.25)
    ax.set_xlabel("position within the design range")
    s = d.stats
    stats = f"coverage {s['coverage']:.2f}, density {s['density']:.2f}" if s else "no box"
    ax.set_title(f"PRIM box for {d.condition}: {stats}", fontsize=9)
    return fig
