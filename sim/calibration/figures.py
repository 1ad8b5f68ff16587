"""Calibration's own figure: the posterior's draws against the prior, alone and in pairs.

Built with the figures' style and frame (:mod:`sim.outputs.plots`); it is calibration's because
it draws the prior's densities (:mod:`sim.calibration.priors`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim.outputs.plots import INK, MUTED, OKABE_ITO, _frame, _style

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
