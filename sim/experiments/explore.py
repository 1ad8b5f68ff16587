"""``sim explore``: the model in the browser, the Mesa way (SolaraViz).

One replicate of :class:`~sim.model.abm.AlignmentModel` runs step by step under Mesa's own
``SolaraViz`` controls (Reset, Play, Step), with sliders for the main parameters: each power's
budget (a multiplier on all the money it pledges) and the states' preference weights (a
multiplier on every state's weight of that kind). As in every SolaraViz app, a moved slider
takes effect when the model is reset; each slider shows its value.

Beside the replicate played step by step, each reset runs the scenario's whole ensemble (its
replicates, on its seed) with the same multipliers: the region chart shows its median and its
band over replicates. Given a counterfactual (``--counterfactual``), the ensemble is paired
with the counterfactual's, run on the same random numbers with the same multipliers: the chart
shows the counterfactual's median dashed, and the readout each power's effect at the end with
its interval, the numbers ``sim compare COUNTERFACTUAL SCENARIO`` gives with the sliders at 1.
Charts have dates on the time axis and the colours of the report's figures.

The server listens on 127.0.0.1 only. Run it with ``sim explore SCENARIO``, which starts
``solara run sim.experiments.explore`` with the scenario's path in ``$SIM_EXPLORE_SCENARIO`` (and
the
counterfactual's in ``$SIM_EXPLORE_COUNTERFACTUAL``); the server stops with ``sim explore``,
whether it is interrupted, terminated or killed.
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import html
import os
import signal
import socket
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from sim.calibration import posterior as posteriors
from sim.core.errors import SimError
from sim.experiments import live
from sim.model.abm import DEFAULT_SCENARIO, AlignmentModel, cached_params
from sim.model.params import Params
from sim.outputs import outcomes, plots
from sim.scenario.schema import Scenario, load, locate

ENV = "SIM_EXPLORE_SCENARIO"
ENV_COUNTERFACTUAL = "SIM_EXPLORE_COUNTERFACTUAL"
ENV_POSTERIOR = "SIM_EXPLORE_POSTERIOR"
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


def budget_overrides(sc: Scenario, factors: dict[str, float]) -> tuple[str, ...]:
    """``--set`` expressions multiplying each power's pledges by its factor (default 1)."""
    out = []
    for code, factor in sorted(factors.items()):
        if factor == 1.0:
            continue
        for name, ins in sc.powers[code].instruments.items():
            value = ins.pledged_usd_bn.value * factor
            out.append(f"powers.{code}.instruments.{name}.pledged_usd_bn={value!r}")
    return tuple(out)


@functools.lru_cache(maxsize=16)
def load_with(path: str, overrides: tuple[str, ...]) -> Scenario:
    """A scenario with the sliders' overrides (loaded once per process and setting)."""
    return load(Path(path), overrides)


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
        counterfactual: str | Path | None = None,
        posterior: str | Path | None = None,
        draws: int = posteriors.DRAWS,
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
        sets = weight_overrides(sc, weights) + budget_overrides(sc, budgets)
        p = cached_params(path, sets)
        super().__init__(params=p, replicate=replicate, seed=seed)
        self.title = sc.title
        # the chart's band says what it covers, as the readout's table does
        self.look = plots.make_look(p, sc, band=outcomes.interval(
            parameters=posterior is not None).band)
        self.scenario_name = sc.name
        #: The date the ensemble's final numbers describe.
        self.end = outcomes.end_date(sc.time.end, p.dates)
        self.counterfactual_name: str | None = None
        against = None
        if counterfactual:
            cf = load_scenario(str(counterfactual))
            against = (str(counterfactual),
                       weight_overrides(cf, weights) + budget_overrides(cf, budgets))
            self.counterfactual_name = cf.name
        #: The ensemble under the same multipliers: every replicate of the scenario (and of
        #: the counterfactual, paired), over the posterior if there is one, as ``sim compare``
        #: runs them.
        self.ensemble = Ensemble.run((path, sets), against,
                                     None if posterior is None else str(posterior), draws, seed)
        self.posterior = posterior
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


@dataclasses.dataclass(frozen=True)
class Ensemble:
    """A scenario's ensemble (and its counterfactual's, paired), summarised for the charts.

    Attributes:
        replicates: how many.
        region: each power's regional share ``(3, T, P)``: 5th, 50th and 95th percentiles.
        counterfactual: the counterfactual's median regional share ``(T, P)``, if any.
        effect: :func:`sim.outputs.outcomes.compare_headline` of the pair, if any.
    """

    replicates: int
    region: np.ndarray
    counterfactual: np.ndarray | None = None
    effect: dict[str, Any] | None = None

    @classmethod
    def run(cls, scenario: tuple[str, tuple[str, ...]],
            counterfactual: tuple[str, tuple[str, ...]] | None, posterior: str | None,
            draws: int, seed: int | None = None) -> Ensemble:
        """Simulate the scenario's ensemble (file and overrides), and the counterfactual's on
        the same random numbers: the scenario's replicates, or a block per posterior draw.

        The seed, the replicates and the pairing are those of ``sim compare COUNTERFACTUAL
        SCENARIO`` (A's seed; the larger replicate count, or ``REPLICATES_PER_DRAW`` a draw).
        """
        from sim.model import engine, rules

        sc_b = load_with(*scenario)
        b = cached_params(*scenario)
        sc_a = load_with(*counterfactual) if counterfactual is not None else None
        a = cached_params(*counterfactual) if counterfactual is not None else None
        root = (sc_a or sc_b).seed if seed is None else seed
        post = None if posterior is None else posteriors.load(posterior).thin(draws)

        def ensemble(sc: Scenario, p: Params, where: str) -> engine.Trajectories:
            if post is not None:
                traj, _ = posteriors.ensemble(post, sc, where, posteriors.REPLICATES_PER_DRAW,
                                              root, keep=("alignment",))
                out: engine.Trajectories = traj
                return out
            n = max(sc_b.replicates, sc_a.replicates) if sc_a is not None else sc_b.replicates
            return engine.trajectories(p, n, root)

        traj = ensemble(sc_b, b, scenario[0])
        share = rules.regional_share(traj.alignment, b.region_w)
        band = np.quantile(share, [0.05, 0.5, 0.95], axis=0)
        if sc_a is None or a is None or counterfactual is None:
            return cls(len(traj.alignment), band)
        base = ensemble(sc_a, a, counterfactual[0])
        from sim.experiments.compare import answer

        # B minus A, as sim compare A B pairs them, read at the same answer date
        pr = outcomes.paired(base, traj, a, b, outcomes.answer_round(sc_a.time.answer, a.dates))
        _, _, _, head = answer(sc_a, sc_b, a, b, pr, post, root)
        cf_share = rules.regional_share(base.alignment, a.region_w)
        return cls(len(traj.alignment), band, np.median(cf_share, axis=0), head)


def model_params(path: str, counterfactual: str | None = None,
                 posterior: str | None = None) -> dict[str, Any]:
    """SolaraViz's ``model_params``: the fixed scenario (counterfactual, posterior) paths, then
    one slider per knob."""
    from mesa.visualization import Slider

    sc = load_scenario(path)
    out: dict[str, Any] = {"scenario_file": path}
    if counterfactual:
        out["counterfactual"] = counterfactual
    if posterior:
        out["posterior"] = posterior
    for code, pw in sc.powers.items():
        out[budget_key(code)] = Slider(f"Budget {TIMES}, {pw.name}", 1.0, FACTOR_MIN,
                                       FACTOR_MAX, FACTOR_STEP)
    for name, label in WEIGHTS.items():
        out[weight_key(name)] = Slider(f"Weight {TIMES}, {label}", 1.0, FACTOR_MIN,
                                       FACTOR_MAX, FACTOR_STEP)
    return out


def readout(model: ExploreModel) -> str:
    """Each power's regional share now and its change since the start, the ensemble's median
    and range at the end, and with a counterfactual the effect at the end (an HTML table).

    Names come from the scenario file, so they are escaped.
    """
    p, ens = model.params, model.ensemble
    share = model.region_so_far()
    t = len(share) - 1
    iv = outcomes.interval(parameters=model.posterior is not None)
    effect = {r["code"]: r for r in ens.effect["powers"]} if ens.effect else {}

    def effect_cell(code: str) -> str:
        r = effect.get(code)
        if r is None:
            return ""
        if r.get("no_difference"):
            return "<td class='effect' style='text-align:right'>none</td>"
        return (f"<td class='effect' style='text-align:right'>{outcomes.points(r['mean'])} pp "
                f"<small>({outcomes.points(r['p5'])} to {outcomes.points(r['p95'])})</small></td>")

    rows = "".join(
        f"<tr data-power='{html.escape(code, quote=True)}'>"
        f"<td><span style='color:{model.look.colours[code]}'>&#9632;</span> "
        f"{html.escape(model.look.power(code))}</td>"
        f"<td class='share' style='text-align:right'>{100 * share[t, j]:.1f}%</td>"
        f"<td style='text-align:right'>{outcomes.points(share[t, j] - share[0, j])} pp</td>"
        f"<td class='ensemble' style='text-align:right'>{outcomes.percent(ens.region[1, -1, j])} "
        f"<small>({outcomes.percent(ens.region[0, -1, j], 0)}-"
        f"{outcomes.percent(ens.region[2, -1, j], 0)})</small></td>"
        f"{effect_cell(code)}</tr>"
        for j, code in enumerate(p.powers))
    settings = html.escape("; ".join(model.settings) or "as in the scenario")
    end = _day(model.end)
    head_effect = ""
    answer = ""
    over = " over the posterior's draws" if model.posterior is not None else ""
    if ens.effect is not None:
        cf = html.escape(str(model.counterfactual_name))
        head_effect = f"<th>effect at the end, against {cf}</th>"
        focus = ens.effect.get("focus")
        if isinstance(focus, str) and focus in effect and not effect[focus].get("no_difference"):
            r = effect[focus]
            median = r["mean"] if r.get("p50") is None else r["p50"]
            answer = (f"<p class='effect-answer'><b>{html.escape(model.look.power(focus))}: "
                      f"{outcomes.fine_points(median)} percentage points</b> (median) of the "
                      f"region's alignment against {cf} by {_day(model.end)} "
                      f"({html.escape(iv.label)}: {outcomes.fine_points(r['p5'])} to "
                      f"{outcomes.fine_points(r['p95'])}; mean {outcomes.fine_points(r['mean'])}; "
                      f"{ens.replicates:,} paired replicates{over})."
                      "</p>")
    return (f"<div class='sim-readout'><p><b>{p.dates[t]:%d %b %Y}</b>, round {t} of {p.rounds}"
            f"</p><p class='settings'>Settings: {settings}</p>{answer}"
            "<table style='border-spacing: 14px 2px'><thead><tr>"
            "<th style='text-align:left'>power</th>"
            "<th>regional share (this replicate)</th><th>change since start</th>"
            f"<th>ensemble median on {end} ({html.escape(iv.band)})</th>{head_effect}"
            f"</tr></thead><tbody>{rows}</tbody></table>"
            f"<p>The line is one replicate played round by round; the band and the ensemble "
            f"columns are all {ens.replicates:,} replicates with these settings. Move a slider, "
            "then press <b>Reset</b> to apply it; <b>Step</b> plays one round, <b>&#9654;</b> "
            "plays them all. Mesa's own controls: <b>Play Interval</b> is the pause between "
            "rounds while playing (milliseconds), <b>Render Interval</b> how many rounds are "
            "played between two redraws of the charts, and <b>Use Threads</b> plays the rounds "
            "in a background thread so that the page answers while they run; none of them "
            "changes a number.</p></div>")


def _day(d: date) -> str:
    return f"{d.day} {d:%b %Y}"


#: Sliders show their values (Vuetify shows a slider's value only while it is dragged); the
#: page's one tab, which Mesa labels "Page 0", is not shown.
SLIDER_CSS = """
.v-slider__thumb-label-container { display: block !important; }
.v-input__slider { padding-top: 1.6rem; }
.v-tabs { display: none !important; }
"""


def _components() -> list[tuple[Any, int]]:
    import solara

    def region_chart(model: ExploreModel) -> Any:
        ens = model.ensemble
        fig = live.live_region(model.params.dates, model.alignment_so_far(), model.params.region_w,
                                powers=model.params.powers, look=model.look, band=ens.region,
                                counterfactual=ens.counterfactual,
                                counterfactual_name=model.counterfactual_name)
        return solara.FigureMatplotlib(fig, format="png", dpi=100)

    def state_charts(model: ExploreModel) -> Any:
        fig = live.live_states(model.params.dates, model.alignment_so_far(),
                                states=model.params.states, powers=model.params.powers,
                                look=model.look)
        return solara.FigureMatplotlib(fig, format="png", dpi=100)

    def shares(model: ExploreModel) -> Any:
        return solara.Column(children=[solara.Style(SLIDER_CSS),
                                       solara.HTML(tag="div", unsafe_innerHTML=readout(model))])

    return [(region_chart, 0), (shares, 0), (state_charts, 0)]


def _page_component() -> Any:
    """Solara's entry point: a fresh model for each browser session, under SolaraViz."""
    import solara
    from mesa.visualization import SolaraViz

    @solara.component  # type: ignore[untyped-decorator]  # solara is read untyped
    def Page() -> None:  # noqa: N802 - the name solara looks for
        path = os.environ.get(ENV) or str(DEFAULT_SCENARIO)
        against = os.environ.get(ENV_COUNTERFACTUAL) or None
        over = os.environ.get(ENV_POSTERIOR) or None
        model = solara.use_memo(lambda: ExploreModel(scenario_file=path, counterfactual=against,
                                                     posterior=over), [])
        SolaraViz(model, components=_components(),
                  model_params=model_params(path, against, over),
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
    return [sys.executable, "-m", "solara", "run", "sim.experiments.explore:Page", "--host", HOST,
            "--port", str(port), "--production", "--no-open", "--log-level", "warning"]


def server_env(path: Path, counterfactual: Path | None = None,
               posterior: Path | None = None) -> dict[str, str]:
    """Environment of the server process: the scenario, and Solara kept offline and quiet.

    Solara's usage statistics are switched off (the explorer must not call out), and two
    warnings about Mesa's and Solara's own code that a user can do nothing about are hidden.
    """
    return {
        ENV: str(Path(path).resolve()),
        ENV_COUNTERFACTUAL: "" if counterfactual is None else str(Path(counterfactual).resolve()),
        ENV_POSTERIOR: "" if posterior is None else str(Path(posterior).resolve()),
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "PYTHONWARNINGS": "ignore::UserWarning:solara.validate_hooks,"
                          "ignore::UserWarning:solara.server.starlette",
    }


class Terminated(KeyboardInterrupt):
    """``sim explore`` was asked to stop (SIGTERM or SIGHUP), as Ctrl-C asks."""


def _stop(signum: int, frame: object) -> None:
    raise Terminated(signal.Signals(signum).name)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, between fork and exec
    """Have the kernel stop the server when ``sim explore`` dies, even by SIGKILL (Linux)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):
        return


def serve(path: Path, *, counterfactual: Path | None = None, posterior: Path | None = None,
          without_posterior: bool = False, port: int = 8765, open_browser: bool = True) -> int:
    """Run the explorer server for ``path`` (a file or a shipped scenario's name) until
    interrupted or terminated; returns its exit status.

    Ctrl-C, SIGTERM and SIGHUP stop the server too; on Linux the server also stops if this
    process is killed outright. The ensemble runs over ``posterior``, by default the shipped
    posterior where it was made for the scenarios (as ``sim compare`` chooses), so that the
    effect it shows is the comparison's.

    Raises:
        SimError: a bad scenario, or a counterfactual that cannot be paired with it.
    """
    path = locate(path)
    sc = load_scenario(str(path.resolve()))  # a bad scenario fails here, as one line
    cf_path = None
    if counterfactual is not None:
        cf_path = locate(counterfactual)
        cf = load_scenario(str(cf_path.resolve()))
        a, b = cached_params(str(cf_path.resolve())), cached_params(str(path.resolve()))
        if (a.states, a.powers, a.dates) != (b.states, b.powers, b.dates):
            raise SimError(f"{cf_path}: --counterfactual: {cf.name} must have the states, powers "
                           f"and calendar of {sc.name} to be paired with it")
    pairs = [(sc, path)] + ([(cf, cf_path)] if cf_path is not None else [])
    post = posteriors.choose(posterior, without_posterior, pairs)
    env = {**os.environ, **server_env(path, cf_path, post)}
    handled = (signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, _stop) for sig in handled}
    proc: subprocess.Popen[bytes] | None = None
    try:
        proc = subprocess.Popen(command(port), env=env,
                                preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        if open_browser:
            import webbrowser

            webbrowser.open(f"http://{HOST}:{port}/")
        return proc.wait()
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM, SIGHUP: stop the server and end normally
        return 0
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
