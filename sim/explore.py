"""``sim explore``: the model in the browser, the Mesa way (SolaraViz).

One replicate of :class:`~sim.model.AlignmentModel` runs step by step under Mesa's own
``SolaraViz`` controls (Reset, Play, Step), with sliders for the main parameters: each power's
budget (a multiplier on all the money it pledges) and the states' preference weights (a
multiplier on every state's weight of that kind). As in every SolaraViz app, a moved slider
takes effect when the model is reset. Charts show each power's share of the region and each
state's alignment, with dates on the time axis and the colours of the report's figures.

The server listens on 127.0.0.1 only. Run it with ``sim explore SCENARIO``, which starts
``solara run sim.explore`` with the scenario's path in ``$SIM_EXPLORE_SCENARIO``.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from sim import plots
from sim.errors import SimError
from sim.model import DEFAULT_SCENARIO, AlignmentModel, cached_params
from sim.params import Params
from sim.scenario import Scenario, load

ENV = "SIM_EXPLORE_SCENARIO"
HOST = "127.0.0.1"
#: State weights with a slider each: scenario field name and label.
WEIGHTS = {
    "econ": "economic gain",
    "security": "security ties",
    "institutions": "memberships",
    "debt": "debt aversion",
    "hedge": "hedging",
    "peers": "peers",
}
TIMES = "\u00d7"  # the multiplication sign, in slider labels and settings
#: Slider range of every multiplier.
FACTOR_MIN, FACTOR_MAX, FACTOR_STEP = 0.0, 3.0, 0.1


@functools.lru_cache(maxsize=8)
def load_scenario(path: str) -> Scenario:
    """The validated scenario at ``path`` (loaded once per process)."""
    return load(Path(path))


def budget_key(power: str) -> str:
    return f"budget_{power}"


def weight_key(name: str) -> str:
    return f"weight_{name}"


def weight_overrides(sc: Scenario, factors: dict[str, float]) -> tuple[str, ...]:
    """``--set`` expressions scaling each state's weights (peers' weight capped at 1)."""
    out = []
    for name, factor in sorted(factors.items()):
        if factor == 1.0:
            continue
        for code, st in sc.states.items():
            value = getattr(st.weights, name).value * factor
            if name == "peers":
                value = min(value, 1.0)
            out.append(f"states.{code}.weights.{name}={value:.10g}")
    return tuple(out)


def scaled_budgets(p: Params, factors: dict[str, float]) -> Params:
    """``p`` with each power's scheduled money multiplied by its factor (default 1)."""
    scale = np.array([factors.get(c, 1.0) for c in p.powers])
    if np.all(scale == 1.0):
        return p
    return dataclasses.replace(p, amount=p.amount * scale[p.inst_power][None, :])


class ExploreModel(AlignmentModel):
    """:class:`AlignmentModel` with multipliers on budgets and weights, as SolaraViz sets them.

    Args:
        scenario_file: path of the scenario file.
        replicate: which replicate's random numbers to use.
        seed: root seed (default: the scenario's).
        scenario: ignored unless a path. Mesa 3.5's SolaraViz passes a ``mesa`` scenario
            object of its own under this name on Reset; the replicate and seed alone decide
            the model's random numbers.
        **kwargs: ``budget_<POWER>`` and ``weight_<name>`` multipliers (default 1); SolaraViz
            passes its sliders by these names.
    """

    def __init__(
        self,
        scenario_file: str | Path = DEFAULT_SCENARIO,
        replicate: int = 0,
        seed: int | None = None,
        scenario: object = None,
        **kwargs: float,
    ) -> None:
        path = str(scenario if isinstance(scenario, str | Path) else scenario_file)
        sc = load_scenario(path)
        budgets, weights = {}, {}
        for key, value in kwargs.items():
            if key.startswith("budget_") and key[7:] in sc.powers:
                budgets[key[7:]] = float(value)
            elif key.startswith("weight_") and key[7:] in WEIGHTS:
                weights[key[7:]] = float(value)
            else:
                raise SimError(f"explore: unknown parameter {key!r}")
            if not FACTOR_MIN <= float(value) <= 100:
                raise SimError(f"explore: {key} must be a multiplier from 0 to 100, found {value}")
        p = scaled_budgets(cached_params(path, weight_overrides(sc, weights)), budgets)
        super().__init__(params=p, replicate=replicate, seed=seed)
        self.title = sc.title
        self.look = plots.make_look(p, sc)
        #: The multipliers this model was made with, as labels (those away from 1).
        self.settings = [
            *(f"{sc.powers[c].name} budget {TIMES}{v:.1f}" for c, v in budgets.items() if v != 1),
            *(f"weight on {WEIGHTS[k]} {TIMES}{v:.1f}" for k, v in weights.items() if v != 1),
        ]
        self.datacollector.collect(self)  # the starting point, so charts show it before a step

    def alignment_so_far(self) -> np.ndarray:
        """Alignment ``(t, state, power)`` from the start to the current round."""
        return np.stack([h[0] for h in self.history])

    def region_so_far(self) -> np.ndarray:
        """Each power's regional share ``(t, power)`` so far."""
        out: np.ndarray = (self.params.region_w[None, :, None] * self.alignment_so_far()).sum(1)
        return out


def model_params(path: str) -> dict[str, Any]:
    """SolaraViz's ``model_params``: the fixed scenario file, then one slider per knob."""
    from mesa.visualization import Slider

    sc = load_scenario(path)
    out: dict[str, Any] = {"scenario_file": path}
    for code, pw in sc.powers.items():
        out[budget_key(code)] = Slider(f"Budget {TIMES}, {pw.name}", 1.0, FACTOR_MIN,
                                       FACTOR_MAX, FACTOR_STEP)
    for name, label in WEIGHTS.items():
        out[weight_key(name)] = Slider(f"Weight {TIMES}, {label}", 1.0, FACTOR_MIN,
                                       FACTOR_MAX, FACTOR_STEP)
    return out


def readout(model: ExploreModel) -> str:
    """Each power's regional share now and its change since the start (an HTML table).

    Names come from the scenario file, so they are escaped.
    """
    p = model.params
    share = model.region_so_far()
    t = len(share) - 1
    rows = "".join(
        f"<tr data-power='{html.escape(code, quote=True)}'>"
        f"<td><span style='color:{model.look.colours[code]}'>&#9632;</span> "
        f"{html.escape(model.look.power(code))}</td>"
        f"<td class='share' style='text-align:right'>{100 * share[t, j]:.1f}%</td>"
        f"<td style='text-align:right'>{_points(share[t, j] - share[0, j])} points</td></tr>"
        for j, code in enumerate(p.powers))
    settings = html.escape("; ".join(model.settings) or "as in the scenario")
    return (f"<div class='sim-readout'><p><b>{p.dates[t]:%d %b %Y}</b>, round {t} of {p.rounds}"
            f"</p><p class='settings'>Settings: {settings}</p>"
            "<table style='border-spacing: 14px 2px'><thead><tr>"
            "<th style='text-align:left'>power</th>"
            f"<th>regional share</th><th>change since start</th></tr></thead><tbody>{rows}"
            "</tbody></table>"
            "<p>Move a slider, then press <b>Reset</b> to apply it; <b>Step</b> plays one "
            "round, <b>&#9654;</b> plays them all.</p></div>")


def _points(change: float) -> str:
    text = f"{100 * change:+.1f}"
    return "0.0" if text in ("+0.0", "-0.0") else text


def _components() -> list[tuple[Any, int]]:
    import solara

    def region_chart(model: ExploreModel) -> Any:
        fig = plots.live_region(model.params.dates, model.alignment_so_far(), model.params.region_w,
                                powers=model.params.powers, look=model.look)
        return solara.FigureMatplotlib(fig, format="png", dpi=100)

    def state_charts(model: ExploreModel) -> Any:
        fig = plots.live_states(model.params.dates, model.alignment_so_far(),
                                states=model.params.states, powers=model.params.powers,
                                look=model.look)
        return solara.FigureMatplotlib(fig, format="png", dpi=100)

    def shares(model: ExploreModel) -> Any:
        return solara.HTML(tag="div", unsafe_innerHTML=readout(model))

    return [(region_chart, 0), (shares, 0), (state_charts, 0)]


def _page_component() -> Any:
    """Solara's entry point: a fresh model for each browser session, under SolaraViz."""
    import solara
    from mesa.visualization import SolaraViz

    @solara.component  # type: ignore[untyped-decorator]  # solara is read untyped
    def Page() -> None:  # noqa: N802 - the name solara looks for
        path = os.environ.get(ENV) or str(DEFAULT_SCENARIO)
        model = solara.use_memo(lambda: ExploreModel(scenario_file=path), [])
        SolaraViz(model, components=_components(), model_params=model_params(path),
                  name=f"Explore: {model.title}")

    return Page


def __getattr__(name: str) -> Any:
    """``Page`` is built on first use, so importing this module does not import Solara."""
    if name == "Page":
        page = _page_component()
        globals()["Page"] = page
        return page
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def command(port: int) -> list[str]:
    """The server's command line (listening on 127.0.0.1 only)."""
    return [sys.executable, "-m", "solara", "run", "sim.explore:Page", "--host", HOST,
            "--port", str(port), "--production", "--no-open", "--log-level", "warning"]


def server_env(path: Path) -> dict[str, str]:
    """Environment of the server process: the scenario, and Solara kept offline and quiet.

    Solara's usage statistics are switched off (the explorer must not call out), and two
    warnings about Mesa's and Solara's own code that a user can do nothing about are hidden.
    """
    return {
        ENV: str(Path(path).resolve()),
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "PYTHONWARNINGS": "ignore::UserWarning:solara.validate_hooks,"
                          "ignore::UserWarning:solara.server.starlette",
    }


def serve(path: Path, *, port: int = 8765, open_browser: bool = True) -> int:
    """Run the explorer server for ``path`` until interrupted; returns its exit status."""
    load_scenario(str(path.resolve()))  # a bad scenario fails here, as one line, not in the browser
    env = {**os.environ, **server_env(path)}
    proc = subprocess.Popen(command(port), env=env)
    if open_browser:
        import webbrowser

        webbrowser.open(f"http://{HOST}:{port}/")
    try:
        return proc.wait()
    except KeyboardInterrupt:  # Ctrl-C: stop the server and end normally
        proc.terminate()
        proc.wait(timeout=10)
        return 0
