"""The explorer's figures (:mod:`sim.experiments.explore`), redrawn as the Mesa model steps:
the region's shares and each state's alignment so far, with the ensemble's band.

Built with the figures' style and frame (:mod:`sim.outputs.plots`).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from datetime import date

import numpy as np
from matplotlib.figure import Figure

from sim.outputs.plots import (
    MUTED,
    Look,
    _date_axis,
    _grid,
    _mark_events,
    _panels,
    _pct,
    _style,
)


def live_region(
    dates: Sequence[date], alignment: np.ndarray, region_w: np.ndarray, *, powers: Sequence[str],
    look: Look, band: np.ndarray | None = None, counterfactual: np.ndarray | None = None,
    counterfactual_name: str | None = None,
) -> Figure:
    """One replicate so far, over its ensemble: each power's regional share.

    ``alignment`` is ``(t, S, P)`` for the first ``t`` dates (the replicate, a thick line);
    ``band`` ``(3, T, P)`` the ensemble's 5th, 50th and 95th percentiles over the whole horizon
    (shaded, its median thin); ``counterfactual`` ``(T, P)`` the counterfactual's median
    (dashed). The x-axis spans the whole horizon.
    """
    x = np.array(dates, dtype="datetime64[D]")
    share = (region_w[None, :, None] * alignment).sum(1)
    top = float(share.max())
    with _style():
        fig = Figure(figsize=(8, 4.4), layout="constrained")
        ax = fig.subplots()
        for j, power in enumerate(powers):
            c = look.colours[power]
            if band is not None:
                ax.fill_between(x, band[0, :, j], band[2, :, j], color=c, alpha=0.18, linewidth=0)
                ax.plot(x, band[1, :, j], color=c, linewidth=1, alpha=0.8)
                top = max(top, float(band[2, :, j].max()))
            if counterfactual is not None:
                ax.plot(x, counterfactual[:, j], color=c, linewidth=1.4, linestyle="--")
            ax.plot(x[: len(share)], share[:, j], color=c, linewidth=2.5,
                    marker="o" if len(share) == 1 else None, label=look.power(power))
        ax.set_xlim(x[0], x[-1])
        ax.set_ylim(0, max(0.5, top * 1.15))
        _pct(ax)
        _date_axis(ax)
        _mark_events(ax, look)
        ax.grid(alpha=0.3)
        ax.set_ylabel("share of the region's alignment")
        ax.set_title(f"Regional share, {dates[len(share) - 1]:%b %Y}")
        fig.legend(*ax.get_legend_handles_labels(), loc="outside upper right", ncols=5,
                   frameon=False, fontsize=10)
        parts = ["Thick: this replicate so far"]
        if band is not None:
            parts.append(f"thin and shaded: the ensemble's median and {look.band}")
        if counterfactual is not None:
            parts.append(f"dashed: {counterfactual_name or 'the counterfactual'} (median)")
        fig.supxlabel(textwrap.fill("; ".join(parts) + ".", 110), x=0.01, ha="left", fontsize=9,
                      color=MUTED)
    return fig


def live_states(
    dates: Sequence[date], alignment: np.ndarray, *, states: Sequence[str],
    powers: Sequence[str], look: Look,
) -> Figure:
    """One replicate so far: each state's alignment stacked, one panel per state."""
    x = np.array(dates, dtype="datetime64[D]")
    t = len(alignment)
    rows, cols = _grid(len(states))
    with _style():
        fig = Figure(figsize=(3.3 * cols, 2.5 * rows), layout="constrained")
        axes, _ = _panels(fig, len(states), sharex=True, sharey=True)
        for k, (ax, state) in enumerate(zip(axes, states, strict=True)):
            if t > 1:
                ax.stackplot(x[:t], alignment[:, k, :].T, colors=[look.colours[c] for c in powers],
                             edgecolor="white", linewidth=0.3)
            else:
                ax.barh(0.5, 0)  # keep the axes drawn before the first step
            ax.set_xlim(x[0], x[-1])
            ax.set_ylim(0, 1)
            _pct(ax)
            _date_axis(ax)
            ax.tick_params(labelbottom=True, labelsize=9)
            ax.set_title(look.state(state), fontsize=11)
    return fig


# --------------------------------------------------------------------------- sets and saving
