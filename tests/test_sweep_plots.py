"""Sweep figures."""

from __future__ import annotations

import pandas as pd

from sim.experiments.sweep import plots


def test_sweep_figures_show_shares_in_percent_and_effects_in_points():
    t = pd.DataFrame({"x": [1.0, 2.0], "y": [0.25, 0.30], "y.p5": [0.2, 0.25],
                      "y.p95": [0.3, 0.35]})
    share = plots.response(t, "x", "y", "share", unit="percent")
    share.canvas.draw()
    ax = share.axes[0]
    assert ax.get_ylabel() == "y (%)"
    assert all(label.get_text().endswith("%") for label in ax.get_yticklabels())
    effect = plots.heatmap(pd.DataFrame({"a": [1.0, 2.0], "b": [1.0, 2.0], "y": [0.01, 0.02]}),
                           "a", "b", "y", "effect", unit="points")
    effect.canvas.draw()
    bar = effect.axes[1]
    assert bar.get_ylabel() == "y (percentage points)"
    assert [lb.get_text() for lb in bar.get_yticklabels()][-1].startswith("+")
