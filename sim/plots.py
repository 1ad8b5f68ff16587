"""Figures: one function per figure, arrays in, ``Figure`` out (no pyplot state).

Colours are the Okabe-Ito colour-blind-safe palette, assigned to powers in scenario order,
so every figure of a scenario family shows each power in the same colour.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from sim.engine import QUANTILES, Summary  # noqa: E402
from sim.params import Params  # noqa: E402

PALETTE = ("#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
LO, MID, HI = QUANTILES.index(0.05), QUANTILES.index(0.5), QUANTILES.index(0.95)


def colour(p: Params, power: str) -> str:
    """The colour of a power (stable within a scenario family)."""
    return PALETTE[p.powers.index(power) % len(PALETTE)]


def _dates(p: Params) -> np.ndarray:
    return np.array(p.dates, dtype="datetime64[D]")


def _date_axis(ax: matplotlib.axes.Axes) -> None:
    ax.xaxis.set_major_locator(mdates.YearLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))


def alignment_paths(s: Summary, p: Params, *, title: str) -> Figure:
    """Each state's alignment over time: median line and 5-95% band per power, one panel each."""
    n = len(p.states)
    cols = min(3, n)
    rows = int(np.ceil(n / cols))
    fig = Figure(figsize=(4.2 * cols, 3.2 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)
    x = _dates(p)
    for k, state in enumerate(p.states):
        ax = axes[k // cols][k % cols]
        for j, power in enumerate(p.powers):
            c = colour(p, power)
            ax.fill_between(x, s.align_q[LO, :, k, j], s.align_q[HI, :, k, j], color=c, alpha=0.2,
                            linewidth=0)
            ax.plot(x, s.align_q[MID, :, k, j], color=c, label=power, linewidth=1.8)
        ax.set_title(state)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        _date_axis(ax)
        if k % cols == 0:
            ax.set_ylabel("alignment share")
    for k in range(n, rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(p.powers), frameon=False)
    fig.suptitle(f"{title}: alignment by state (median, 5-95% band over {s.n} replicates)")
    return fig


def final_heatmap(s: Summary, p: Params, *, title: str) -> Figure:
    """Mean final alignment, states by powers, with the values written in."""
    data = s.align_mean[-1]
    fig = Figure(figsize=(1.3 * len(p.powers) + 2.5, 0.7 * len(p.states) + 1.8), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(data, cmap="viridis", vmin=0, vmax=max(0.5, float(data.max())))
    ax.set_xticks(range(len(p.powers)), p.powers)
    ax.set_yticks(range(len(p.states)), p.states)
    for i in range(len(p.states)):
        for j in range(len(p.powers)):
            v = data[i, j]
            ax.text(j, i, f"{v:.2f}", ha="center", va="center",
                    color="black" if v > 0.5 * im.norm.vmax else "white", fontsize=10)
    fig.colorbar(im, ax=ax, label="mean alignment share")
    ax.set_title(f"{title}: final alignment ({p.dates[-1].isoformat()})")
    return fig


def regional_share(s: Summary, p: Params, *, title: str) -> Figure:
    """Each power's share of the region over time: median and 5-95% band."""
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.subplots()
    x = _dates(p)
    for j, power in enumerate(p.powers):
        c = colour(p, power)
        ax.fill_between(x, s.region_q[LO, :, j], s.region_q[HI, :, j], color=c, alpha=0.2, linewidth=0)
        ax.plot(x, s.region_q[MID, :, j], color=c, label=power, linewidth=2)
    ax.set_ylabel("regional share (mean over states)")
    ax.set_ylim(0, None)
    ax.grid(alpha=0.3)
    _date_axis(ax)
    ax.legend(ncols=len(p.powers), loc="upper center", frameon=False)
    ax.set_title(f"{title}: each power's regional share (median, 5-95% band)")
    return fig


def standard(s: Summary, p: Params, *, title: str) -> dict[str, Figure]:
    """The figures every run writes, by file stem."""
    return {
        "alignment_by_state": alignment_paths(s, p, title=title),
        "final_alignment_heatmap": final_heatmap(s, p, title=title),
        "regional_share": regional_share(s, p, title=title),
    }


def save(fig: Figure, folder: Path, stem: str) -> list[Path]:
    """Save a figure as PNG and SVG; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for ext in ("png", "svg"):
        path = folder / f"{stem}.{ext}"
        fig.savefig(path, dpi=150 if ext == "png" else None)
        out.append(path)
    return out
