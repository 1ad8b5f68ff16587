"""The figures of ``sim policy``: the Pareto front, and the front's levers in parallel
coordinates (each lever scaled to its bounds), the announced package marked in both."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.outputs.plots import OKABE_ITO

if TYPE_CHECKING:
    from sim.experiments.policy import Problem

FRONT = OKABE_ITO["blue"]
ANNOUNCED = OKABE_ITO["vermillion"]
LABELS = {"effect_pp": "effect on the regional share, median (pp)",
          "robust_pp": "10th percentile over draws (pp)",
          "cost_usd_bn": "cost ($bn pledged)",
          "rivals_pp": "loss of Russia + China (pp)",
          "russia_pp": "loss of Russia (pp)", "china_pp": "loss of China (pp)"}


def _save(fig: Figure, path: Path) -> None:
    tmp = path.parent / f".tmp-{path.name}"
    fig.savefig(tmp, dpi=150, format="png")
    os.replace(tmp, path)


def pareto(table: pd.DataFrame, every: pd.DataFrame, objectives: Sequence[str], path: Path,
           power: str) -> None:
    """The effect against the other objectives (cost, robustness), every package run in grey,
    the front in blue with its 90% intervals, the announced package in vermillion."""
    others = [f"{o}_pp" if o != "cost" else "cost_usd_bn" for o in objectives if o != "effect"]
    others = others or ["cost_usd_bn"]
    fig = Figure(figsize=(5.5 * len(others), 4.5), layout="constrained")
    front = table[~table["reference"]]
    ref = table[table["reference"]]
    for k, xcol in enumerate(others):
        ax = fig.add_subplot(1, len(others), k + 1)
        ax.scatter(every[xcol], every["effect_pp"], s=8, color="#B3B3B3",
                   label="every package run")
        ax.errorbar(front[xcol], front["effect_pp"],
                    yerr=[front["effect_pp"] - front["effect_p5_pp"],
                          front["effect_p95_pp"] - front["effect_pp"]],
                    fmt="o", color=FRONT, ecolor=(0.0, 0.447, 0.698, 0.25), elinewidth=0.6, ms=4,
                    label="Pareto front (90% interval)")
        ax.errorbar(ref[xcol], ref["effect_pp"],
                    yerr=[ref["effect_pp"] - ref["effect_p5_pp"],
                          ref["effect_p95_pp"] - ref["effect_pp"]],
                    fmt="*", color=ANNOUNCED, ecolor=ANNOUNCED, ms=12, label="announced package")
        ax.set_xlabel(LABELS.get(xcol, xcol))
        ax.set_ylabel(f"{power}: " + LABELS["effect_pp"])
        ax.grid(alpha=0.3)
        if k == 0:
            ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(f"{power}'s packages: the effect and what it costs (intervals over posterior "
                 "draws, noise and parameters)", fontsize=10)
    _save(fig, path)


def parallel(table: pd.DataFrame, problem: Problem, path: Path) -> None:
    """Each package of the front as a line over its levers scaled to their bounds (0: the
    lower, 1: the upper), coloured by its effect; the announced package dashed."""
    names = [n for n, _ in problem.levers]
    bounds = problem.bounds
    scaled = (table[names].to_numpy(dtype=float) - bounds[:, 0]) / (bounds[:, 1] - bounds[:, 0])
    effect = table["effect_pp"].to_numpy(dtype=float)
    fig = Figure(figsize=(max(7.0, 0.8 * len(names) + 2), 4.5), layout="constrained")
    ax = fig.add_subplot()
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    front = ~table["reference"].to_numpy(dtype=bool)
    norm = Normalize(float(np.min(effect[front])) if front.any() else 0.0,
                     float(np.max(effect[front])) if front.any() else 1.0)
    cmap = colormaps["viridis"]
    xs = np.arange(len(names))
    for row, e, is_front in zip(scaled, effect, front, strict=True):
        if is_front:
            ax.plot(xs, row, color=cmap(norm(e)), alpha=0.8, lw=1.2)
    for row in scaled[~front]:
        ax.plot(xs, row, color=ANNOUNCED, lw=2.2, ls="--", label="announced package")
    ax.set_xticks(xs, names, rotation=30, ha="right")
    ax.set_ylim(-0.05, 1.05)
    ax.set_ylabel("lever within its bounds (0: low, 1: high)")
    for j, (lo, hi) in enumerate(bounds):
        ax.annotate(f"{lo:g}", (j, 0), textcoords="offset points", xytext=(3, -10), fontsize=7)
        ax.annotate(f"{hi:g}", (j, 1), textcoords="offset points", xytext=(3, 4), fontsize=7)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax,
                 label="effect on the regional share, median (pp)")
    ax.set_title(f"The levers of the Pareto front ({problem.spec.power})", fontsize=10)
    _save(fig, path)
