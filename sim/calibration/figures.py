"""Calibration's figures: a hindcast's UN agreement, observed against the predictive bands
(:func:`agreement_bands`), and the posterior's draws against the prior, alone and in pairs.

Built with the figures' style and frame (:mod:`sim.outputs.plots`); they are calibration's
because they draw its quantities: the vote link's predictions, the prior's densities
(:mod:`sim.calibration.priors`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from sim.outputs.plots import (
    INK,
    MUTED,
    OKABE_ITO,
    Look,
    _date_axis,
    _frame,
    _grid,
    _legend,
    _panels,
    _pct,
    _style,
    palette,
)

if TYPE_CHECKING:
    from sim.calibration.priors import Dimension, Prior


def posterior_pairs(draws: np.ndarray, prior: Prior, *, title: str) -> Figure:
    """Posterior draws of every calibrated quantity, alone and in pairs, against the prior.

    ``draws`` ``(n, D)`` on the natural scale. Diagonal: the posterior's histogram with the
    prior's density over the same axis; below it: each pair's draws (their correlation in the
    corner). Quantities on log scales are drawn on log axes.
    """
    d = draws.shape[1]
    names = prior.names
    logs = [dim.distribution in ("lognormal", "loguniform") for dim in prior.dims]
    # at most 800 draws in the scatter plots (the histograms use them all)
    few = draws[np.linspace(0, len(draws) - 1, min(len(draws), 800)).round().astype(int)]
    size = max(1.7, min(2.4, 13.0 / d))
    with _style():
        fig = Figure(figsize=(size * d + 0.6, size * d + 1.2), layout="constrained")
        axes = fig.subplots(d, d, squeeze=False)
        for i in range(d):
            for j in range(d):
                ax = axes[i][j]
                if j > i:
                    ax.set_visible(False)
                    continue
                if i == j:
                    _marginal(ax, draws[:, i], prior.dims[i], logs[i])
                else:
                    ax.plot(few[:, j], few[:, i], ".", color=OKABE_ITO["blue"],
                            markersize=1.5, alpha=0.35, rasterized=True)
                    if logs[j]:
                        _log_axis(ax.xaxis, ax.set_xscale)
                    if logs[i]:
                        _log_axis(ax.yaxis, ax.set_yscale)
                    r = np.corrcoef(draws[:, j], draws[:, i])[0, 1]
                    ax.text(0.03, 0.92, f"r = {r:+.2f}", transform=ax.transAxes, fontsize=9,
                            color=MUTED, va="top")
                ax.tick_params(labelsize=8)
                if i == d - 1:
                    ax.set_xlabel(names[j], fontsize=10)
                if j == 0 and i > 0:
                    ax.set_ylabel(names[i], fontsize=10)
        _frame(fig, "Posterior of the calibrated quantities, alone and in pairs",
               f"Scenario: {title}. {len(draws)} posterior draws. Diagonal: posterior histogram "
               "(bars) and prior density (line); below: pairs of draws.")
    return fig


def _marginal(ax: Axes, x: np.ndarray, dim: Dimension, log: bool) -> None:
    lo_u = dim.loc - 3.0 * dim.scale if dim.distribution in ("lognormal", "logitnormal") else -5.0
    hi_u = dim.loc + 3.0 * dim.scale if dim.distribution in ("lognormal", "logitnormal") else 5.0
    u = np.linspace(min(lo_u, float(dim.to_unconstrained(x).min())),
                    max(hi_u, float(dim.to_unconstrained(x).max())), 300)
    nat = dim.to_natural(u)
    if log:
        edges = np.exp(np.linspace(np.log(nat[0]), np.log(nat[-1]), 40))
    else:
        edges = np.linspace(nat[0], nat[-1], 40)
    ax.hist(x, bins=edges.tolist(), density=True, color=OKABE_ITO["sky_blue"], alpha=0.8)
    # the prior's density on the natural scale: p(u) / |dx/du|
    dxdu = np.gradient(nat, u)
    ax.plot(nat, np.exp(dim.logpdf(u)) / np.abs(dxdu), color=INK, linewidth=1.4)
    if log:
        _log_axis(ax.xaxis, ax.set_xscale)
    ax.set_yticks([])
    ax.set_title(dim.name, fontsize=10)


def _log_axis(axis: object, set_scale: object) -> None:
    """A log-scaled axis labelled with plain numbers (0.1, 0.3, 1), no minor labels."""
    from matplotlib.axis import Axis
    from matplotlib.ticker import LogLocator, NullFormatter

    assert isinstance(axis, Axis) and callable(set_scale)
    set_scale("log")
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 3.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _days(d: np.datetime64) -> float:
    """A date in matplotlib's units (days since its default epoch, 1970-01-01)."""
    return float(d.astype("datetime64[D]").astype(np.int64))


def agreement_bands(
    years: Sequence[int],
    q: np.ndarray,
    observed: np.ndarray,
    *,
    states: Sequence[str],
    power: str,
    until: int,
    world: np.ndarray | None = None,
    events: Sequence[date] = (),
    look: Look | None = None,
    title: str = "",
    note: str = "",
) -> Figure:
    """Observed UN agreement of each state with one power against the model's predictive band.

    Args:
        years: the ``Y`` calendar years.
        q: ``(3, Y, S)`` 5th, 50th and 95th percentiles of the predicted share of identical votes.
        observed: ``(Y, S)`` observed agreement (NaN where none).
        states: the ``S`` state codes (one panel each).
        power: the power's code.
        until: the last year used for fitting (later years are shaded as held out).
        world: ``(Y,)`` the rest of the world's median agreement with the power, for context.
        events: dates of the scenario's events, marked as ticks on the time axis.
    """
    lk = look or Look(palette([power]))
    c = lk.colours.get(power, INK)
    x = np.array([np.datetime64(f"{y}-07-01") for y in years])
    cut = np.datetime64(f"{until + 1}-01-01")
    rows, cols = _grid(len(states) + 1)  # the last panel holds the legend
    with _style():
        fig = Figure(figsize=(4.3 * cols, 3.0 * rows + 1.6), layout="constrained")
        panels, _ = _panels(fig, len(states) + 1, cols, sharex=True, sharey=True)
        axes, spare = panels[:-1], panels[-1]
        for k, (ax, state) in enumerate(zip(axes, states, strict=True)):
            ax.axvspan(_days(cut), _days(x[-1] + np.timedelta64(183, "D")), color="#F2F2F2",
                       linewidth=0)
            for d in events:
                ax.axvline(_days(np.datetime64(d, "D")), ymin=0, ymax=0.04, color=MUTED,
                           linewidth=0.8)
            if world is not None:
                ax.plot(x, world, color=MUTED, linewidth=1.2, linestyle="--")
            ax.fill_between(x, q[0, :, k], q[2, :, k], color=c, alpha=0.25, linewidth=0)
            ax.plot(x, q[1, :, k], color=c, linewidth=2)
            seen = ~np.isnan(observed[:, k])
            ax.plot(x[seen], observed[seen, k], "o", color=INK, markersize=4.5)
            ax.set_title(lk.state(state), fontweight="bold")
            ax.set_ylim(0, 1)
            ax.grid(alpha=0.3)
            _pct(ax)
            _date_axis(ax)
            ax.tick_params(labelbottom=True)
            if k % cols == 0:
                ax.set_ylabel("votes cast alike")
        from matplotlib.lines import Line2D

        handles = [
            Line2D([], [], color=INK, marker="o", linestyle="none"),
            Line2D([], [], color=c, linewidth=2),
            Patch(color=c, alpha=0.25),
            Line2D([], [], color=MUTED, linestyle="--"),
            Patch(color="#F2F2F2"),
        ]
        labels = ["observed", "predicted median", "5-95% predictive band",
                  "rest of the world (median)", f"held out (after {until})"]
        if world is None:
            del handles[3], labels[3]
        _legend(fig, handles, labels, spare=spare)
        _frame(fig, f"UN General Assembly votes cast alike with {lk.power(power)}, "
                    f"{years[0]}-{years[-1]}: observed and predicted",
               f"Scenario: {title}. Fitted on {years[0]}-{until} only; ticks on the time axis "
               f"mark the scenario's events. {note}".strip())
    return fig
