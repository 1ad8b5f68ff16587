"""The command-line program ``sim``: parse, call one library function, print.

Each command builds the library's request from its options, makes one call and prints what
comes back; the checks, the loading and the formatting are the library's. Library errors name
settings by their own names (``replicates``); :func:`main` names them as options
(``--replicates``).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Annotated, Any, Optional

import typer

from sim.core.errors import SettingError, SimError, machine_error
from sim.model.engines import Engine

app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # click's own help: flags as flags (--check, --plots / --no-plots), never a "<bool>" value,
    # and every option's name whole; wrapped to the terminal, at most HELP_WIDTH columns.
    rich_markup_mode=None,
    context_settings={"max_content_width": 120},
    help="Scenario simulator of regional alignment: run scenarios, check facts, compare, sweep.",
)

def _version(asked: bool) -> None:
    if asked:
        from sim.core.provenance import version_line

        typer.echo(version_line())
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version (and the git commit of a checkout) and exit.")] = False,
) -> None:
    """Scenario simulator of regional alignment: run scenarios, check facts, compare, sweep."""


ScenarioArg = Annotated[Path, typer.Argument(help="Scenario YAML file, or a shipped scenario's name (tokyo_initiative).", show_default=False)]
SetOpt = Annotated[
    Optional[list[str]],  # noqa: UP045 - typer needs Optional here
    typer.Option("--set", help="Override a field: path.to.field=value (repeatable).",
                 show_default=False),
]
FactsOpt = Annotated[
    Optional[Path],  # noqa: UP045 - typer needs Optional here
    typer.Option("--facts", help="The facts registry folder (default: the facts/ folder beside or above the scenario, or a file it extends).", show_default=False),
]
PlotsOpt = Annotated[bool, typer.Option("--plots/--no-plots", help="Draw the figures (plots/).")]
SvgOpt = Annotated[bool, typer.Option("--svg", help="Save each figure as SVG too (vector, for editing).")]
PosteriorOpt = Annotated[
    Optional[Path],  # noqa: UP045 - typer needs Optional here
    typer.Option(help="Run over a calibration's posterior: each draw a block of --replicates replicates (default: the shipped posterior for scenarios it was made for).", show_default=False),
]
WithoutPosteriorOpt = Annotated[bool, typer.Option("--without-posterior", help="Run the scenario's own constants only: intervals over noise only.")]
DrawsOpt = Annotated[int, typer.Option(help="Posterior draws used (spread evenly over the posterior).")]


def formats(svg: bool) -> tuple[str, ...]:
    """The figures' file formats: PNG, and SVG when asked."""
    return ("png", "svg") if svg else ("png",)
#: Settings whose option is not ``--<setting>``.
OPTION_NAMES = {"scenario": "SCENARIO", "sets": "--set", "sets_a": "--set-a",
                "sets_b": "--set-b/--vary", "scenario_b": "SCENARIO_B",
                "trajectories": "--trajectories/--summary-only"}


def width() -> int:
    """The terminal's width in columns (``$COLUMNS`` or 100 where there is no terminal)."""
    import shutil

    return shutil.get_terminal_size((100, 24)).columns


def option_name(setting: str) -> str:
    """The command line's name for a library setting (``replicates`` -> ``--replicates``)."""
    return OPTION_NAMES.get(setting, "--" + setting.replace("_", "-"))


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a timeout): handled as Ctrl-C is, so that what was finished is kept,
    helper processes are stopped and nothing is left behind; exit status 143."""


def _status(err: BaseException) -> int:
    from sim.core.children import TERMINATED

    return 143 if isinstance(err, Terminated) or TERMINATED.is_set() else 130


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """Ctrl-C or SIGTERM: one line on what was kept (the interruption's own message), exit
    130 (143 for SIGTERM)."""
    try:
        yield
    except KeyboardInterrupt as err:
        typer.echo(str(err) if str(err) else
                   "interrupted: the results folder was not created; nothing half-written was kept",
                   err=True)
        raise typer.Exit(_status(err)) from None


class _Bar:
    """Progress on stderr: the library's start line, then a bar while stderr is a terminal."""

    def __init__(self, label: str) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn(label), BarColumn(),
                            TextColumn("{task.completed}/{task.total}"), TimeRemainingColumn(),
                            transient=True, disable=not sys.stderr.isatty())
        self.task = self.bar.add_task(label, total=None)

    def __enter__(self) -> _Bar:
        self.bar.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.bar.__exit__(kind, err, tb)

    def start(self, what: str, total: int) -> None:
        typer.echo(what, err=True)
        self.bar.update(self.task, total=total)

    def advance(self, done: int) -> None:
        self.bar.advance(self.task, done)

    def points(self, done: int, total: int) -> None:
        self.bar.update(self.task, completed=done, total=total)


@app.command()
def run(
    scenario: Annotated[Optional[Path], typer.Argument(help="Scenario YAML file, or a shipped scenario's name (none with --resume).", show_default=False)] = None,  # noqa: UP045
    replicates: Annotated[Optional[int], typer.Option(help="Replicates (default: the scenario's).")] = None,  # noqa: UP045
    seed: Annotated[Optional[int], typer.Option(help="Root seed (default: the scenario's).")] = None,  # noqa: UP045
    rounds: Annotated[Optional[int], typer.Option(help="Rounds (default: the scenario's calendar).")] = None,  # noqa: UP045
    set_: SetOpt = None,
    out: Annotated[Path, typer.Option(help="Folder under which results/<scenario>/<run-id>/ is made.")] = Path("results"),
    engine: Annotated[Engine, typer.Option(help="ensemble (vectorised) or mesa (agent by agent).")] = Engine.ENSEMBLE,
    trajectories: Annotated[Optional[bool], typer.Option("--trajectories/--summary-only", help="Keep every replicate's path (default: yes up to 20,000 replicates).", show_default=False)] = None,  # noqa: UP045
    resume: Annotated[Optional[Path], typer.Option(help="Finish an interrupted run kept in this folder (results/<scenario>/.partial-<run-id>), with its own settings.", show_default=False)] = None,  # noqa: UP045
    posterior: PosteriorOpt = None,
    without_posterior: WithoutPosteriorOpt = False,
    draws: DrawsOpt = 200,  # sim.calibration.posterior.DRAWS
    plots: PlotsOpt = True,
    svg: SvgOpt = False,
    facts: FactsOpt = None,
) -> None:
    """Simulate a scenario and write data, summary tables and plots to a new results folder.

    Ctrl-C keeps the finished replicates; --resume finishes the run without redoing them.
    """
    from sim.experiments.run import RunRequest, run_scenario

    post = None
    if resume is None and scenario is not None and engine == Engine.ENSEMBLE and rounds is None:
        post = _posterior(posterior, without_posterior, [scenario], set_, facts)
    req = RunRequest(scenario=scenario, replicates=replicates, seed=seed, rounds=rounds,
                     sets=tuple(set_ or ()), out=out, engine=engine, trajectories=trajectories,
                     resume=resume, posterior=post, draws=draws,
                     plots=plots, formats=formats(svg), facts=facts)
    with _interruptible(), _Bar("replicates") as bar:
        outcome = run_scenario(req, progress=bar)
    typer.echo(outcome.summary(width()))


@app.command()
def validate(
    scenario: Annotated[list[Path], typer.Argument(help="Scenario YAML file(s).", show_default=False)],
    set_: SetOpt = None,
    facts: FactsOpt = None,
) -> None:
    """Check scenario files against the schema and the facts registry, without running them."""
    from sim.scenario.schema import check_files

    typer.echo(check_files(scenario, set_ or [], facts))


@app.command()
def facts(
    entry: Annotated[Optional[str], typer.Argument(help="Show this registry entry in full (its source as published, its uses).", show_default=False)] = None,  # noqa: UP045
    grep: Annotated[Optional[str], typer.Option("--grep", help="List the entries that mention WORD (in id, source, quote, reason or note).", show_default=False)] = None,  # noqa: UP045
    scenarios: Annotated[Optional[Path], typer.Option(help="Folder of scenario files to scan (default: ./scenarios if there is one, else the shipped library).", show_default=False)] = None,  # noqa: UP045
    check: Annotated[bool, typer.Option("--check", help="Fail if any scenario is invalid or a number lacks provenance.")] = False,
) -> None:
    """List the facts and assumptions with the fields that use each; or one entry; or a search.

    sim facts ID shows one entry in full; sim facts --grep WORD lists the entries mentioning it.
    """
    from sim.scenario import factcheck

    scenarios = scenarios or factcheck.default_folder()
    if entry is not None:
        typer.echo(factcheck.show(scenarios, entry))
        return
    if grep is not None:
        typer.echo(factcheck.grep(scenarios, grep))
        return
    if not check:
        typer.echo(factcheck.listing(scenarios))
        return
    problems, summary = factcheck.check_all(scenarios)
    typer.echo(summary)
    for line in problems:
        typer.echo(f"problem: {line}", err=True)
    if problems:
        raise typer.Exit(1)


@app.command()
def compare(
    scenario_a: Annotated[Path, typer.Argument(help="Scenario A (e.g. the counterfactual).", show_default=False)],
    scenario_b: Annotated[Optional[Path], typer.Argument(help="Scenario B (e.g. the policy); none: A itself, changed by --vary.", show_default=False)] = None,  # noqa: UP045
    replicates: Annotated[Optional[int], typer.Option(help="Replicates (default: the larger of the two scenarios').")] = None,  # noqa: UP045
    seed: Annotated[Optional[int], typer.Option(help="Root seed shared by both (default: A's).")] = None,  # noqa: UP045
    rounds: Annotated[Optional[int], typer.Option(help="Rounds (default: the calendar).")] = None,  # noqa: UP045
    set_: SetOpt = None,
    set_a: Annotated[Optional[list[str]], typer.Option("--set-a", help="Override a field of A only: path=value (repeatable).", show_default=False)] = None,  # noqa: UP045
    set_b: Annotated[Optional[list[str]], typer.Option("--set-b", "--vary", help="Override a field of B only (repeatable); with no SCENARIO_B, B is A with these changes.", show_default=False)] = None,  # noqa: UP045
    out: Annotated[Path, typer.Option(help="Folder under which compare/<A>_vs_<B>/<run-id>/ is made.")] = Path("results"),
    posterior: PosteriorOpt = None,
    without_posterior: WithoutPosteriorOpt = False,
    draws: DrawsOpt = 200,  # sim.calibration.posterior.DRAWS
    plots: PlotsOpt = True,
    svg: SvgOpt = False,
    facts: FactsOpt = None,
) -> None:
    """Run two scenarios on common random numbers and report what B changes against A.

    sim compare A B compares two files; sim compare A --vary path=value compares A with
    itself changed (a what-if against its own base).
    """
    from sim.experiments.compare import CompareRequest, compare_scenarios

    both = [scenario_a] if scenario_b is None else [scenario_a, scenario_b]
    post = None if rounds is not None else _posterior(posterior, without_posterior, both, set_,
                                                      facts, say=False)
    req = CompareRequest(scenario_a, scenario_b, replicates=replicates, seed=seed, rounds=rounds,
                         sets=tuple(set_ or ()), sets_a=tuple(set_a or ()),
                         sets_b=tuple(set_b or ()), out=out, posterior=post, draws=draws,
                         plots=plots, formats=formats(svg), facts=facts)
    with _interruptible(), _Bar("paired replicates") as bar:
        outcome = compare_scenarios(req, progress=bar)
    typer.echo(outcome.summary(width()))


def _posterior(given: Path | None, without: bool, scenarios: list[Path],
               sets: list[str] | None, facts: Path | None = None, *,
               say: bool = True) -> Path | None:
    """The posterior a run or comparison uses (:func:`sim.calibration.posterior.choose`); the shipped one
    chosen by default is said on stderr (``say``; a comparison says it in its answer)."""
    from sim.calibration.posterior import choose
    from sim.scenario.facts import load_registry
    from sim.scenario.schema import load

    if given is not None or without:
        return choose(given, without, [])
    registry = None if facts is None else load_registry(facts)
    found = choose(None, False, [(load(p, sets or [], registry), p) for p in scenarios])
    if found is not None and say:
        typer.echo(f"over the shipped posterior {found} (intervals cover noise and "
                   "parameters; --without-posterior for the scenario's own constants)", err=True)
    return found


def _counts(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise SettingError("scaling", f"expected comma-separated integers, found {text!r}") from None


@app.command()
def bench(
    scenario: Annotated[Path, typer.Argument(help="Scenario to time.")] = Path("scenarios/tokyo_initiative.yaml"),
    replicates: Annotated[int, typer.Option(help="Replicates for the head-to-head timing.")] = 1000,
    scaling: Annotated[str, typer.Option(help="Comma-separated replicate counts for the scaling table ('' to skip).")] = "1000,10000,100000",
    million: Annotated[int, typer.Option(help="Replicates of a summary-only run whose peak memory is measured (0 to skip).")] = 0,
    batch: Annotated[int, typer.Option(help="Points of the batched figures: a sweep of that many points x 5 replicates (0 to skip).")] = 1000,
    calibration: Annotated[int, typer.Option(help="Points of a calibration-sized batch x 10 replicates, timed with its peak memory (0 to skip).")] = 10000,
    figures: Annotated[int, typer.Option(help="Runs of 'sim run SCENARIO' with figures and as many with --no-plots, in turns, for the cost of the figures (0 to skip).")] = 2,
    json_: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Time the engine against mesa.batch_run, the batched path against the engine, and the figures' cost."""
    import json

    from sim.experiments.bench import bench as run_bench
    from sim.experiments.bench import format_bench

    found = run_bench(scenario, replicates=replicates, scaling=_counts(scaling), million=million,
                      batch=batch, calibration=calibration, figures=figures,
                      progress=None if json_ else lambda msg: typer.echo(f"... {msg}", err=True))
    typer.echo(json.dumps(found, indent=2) if json_ else format_bench(found))


@app.command()
def sweep(
    source: Annotated[Optional[Path], typer.Argument(help="Scenario file, or a sweep file that names its scenario.", show_default=False)] = None,  # noqa: UP045
    param: Annotated[Optional[list[str]], typer.Option("--param", help="Swept value: path=LOW:HIGH[:LEVELS] (repeatable; '*' matches one path element; a registry entry's id sweeps every field that uses it).", show_default=False)] = None,  # noqa: UP045
    method: Annotated[Optional[str], typer.Option(help="grid, lhs, sobol or morris (default: grid if every --param has LEVELS, else sobol).", show_default=False)] = None,  # noqa: UP045
    samples: Annotated[Optional[int], typer.Option(help="N: grid levels per parameter, LHS points, Sobol' base samples (a power of 2), Morris trajectories.", show_default=False)] = None,  # noqa: UP045
    replicates: Annotated[Optional[int], typer.Option(help="Replicates per point (default: the scenario's).", show_default=False)] = None,  # noqa: UP045
    seed: Annotated[Optional[int], typer.Option(help="Sweep seed (default: the scenario's).", show_default=False)] = None,  # noqa: UP045
    crn: Annotated[Optional[bool], typer.Option("--common-random-numbers/--independent-seeds", help="Same random numbers at every point (default: each point its own seed).", show_default=False)] = None,  # noqa: UP045
    outcome: Annotated[Optional[list[str]], typer.Option("--outcome", help="Outcome to report (repeatable; default: the scenario's own powers' regional share).", show_default=False)] = None,  # noqa: UP045
    discover: Annotated[Optional[str], typer.Option(help="Scenario discovery (PRIM) for OUTCOME>VALUE or OUTCOME<VALUE.", show_default=False)] = None,  # noqa: UP045
    workers: Annotated[Optional[int], typer.Option(help="Local worker processes (default: all cores).", show_default=False)] = None,  # noqa: UP045
    scheduler: Annotated[Optional[str], typer.Option(help="Run the points on a Dask cluster at tcp://HOST:PORT.", show_default=False)] = None,  # noqa: UP045
    resume: Annotated[Optional[Path], typer.Option(help="Finish an interrupted sweep in this folder.", show_default=False)] = None,  # noqa: UP045
    set_: SetOpt = None,
    out: Annotated[Path, typer.Option(help="Folder under which <scenario>/sweeps/<id>/ is made.")] = Path("results"),
    facts: FactsOpt = None,
    counterfactual: Annotated[Optional[Path], typer.Option(help="The scenario without the policy: each point runs it too, on the same seeds, and outcomes <POWER>_effect are the paired differences.", show_default=False)] = None,  # noqa: UP045
    posterior: Annotated[Optional[Path], typer.Option(help="Run every point over a calibration's posterior: each draw a block of --replicates replicates, the swept values winning where they set a calibrated field (intervals then cover noise and parameters).", show_default=False)] = None,  # noqa: UP045
    draws: Annotated[int, typer.Option(help="Posterior draws per point (spread evenly over the posterior).")] = 20,
) -> None:
    """Sweep scenario values (grid, LHS, Sobol', Morris), analyse sensitivity, find boxes (PRIM)."""
    from sim.experiments.sweep import SweepRequest, run_sweep

    req = SweepRequest(source=source, resume=resume, params=param or [], method=method, samples=samples,
                       replicates=replicates, seed=seed, common_random_numbers=crn, report=outcome or [],
                       discover=discover, sets=set_ or [], workers=workers, scheduler=scheduler, out=out,
                       facts=facts, counterfactual=counterfactual, posterior=posterior, draws=draws)
    with _interruptible(), _Bar("points") as bar:
        result = run_sweep(req, progress=bar.points)
    typer.echo(result.summary())


@app.command()
def policy(
    file: Annotated[Path, typer.Argument(help="Policy file (scenarios/policies/japan_budget.yaml), or a shipped one's name (policies/japan_budget).", show_default=False)],
    budget: Annotated[Optional[float], typer.Option(help="Budget in $bn pledged (default: the file's; 'announced' there is the announced package's cost).", show_default=False)] = None,  # noqa: UP045
    population: Annotated[Optional[int], typer.Option(help="Packages per generation (default: the file's).", show_default=False)] = None,  # noqa: UP045
    generations: Annotated[Optional[int], typer.Option(help="Generations of the search (default: the file's).", show_default=False)] = None,  # noqa: UP045
    draws: Annotated[Optional[int], typer.Option(help="Posterior draws every package runs over (default: the file's).", show_default=False)] = None,  # noqa: UP045
    replicates: Annotated[Optional[int], typer.Option(help="Replicates per draw (default: the file's).", show_default=False)] = None,  # noqa: UP045
    seed: Annotated[Optional[int], typer.Option(help="The search's seed, and the uncertainties' points' (default: the file's; the simulation's random numbers are always the scenario's).", show_default=False)] = None,  # noqa: UP045
    out: Annotated[Path, typer.Option(help="Folder under which policy/<file>-<settings>/ is made (a re-run of the same command continues there).")] = Path("results"),
    plots: PlotsOpt = True,
) -> None:
    """Search a power's packages (NSGA-II) for the most robust gain within a budget, over the posterior."""
    from sim.experiments.policy import PolicyRequest, run_policy

    req = PolicyRequest(file=file, budget=budget, population=population, generations=generations,
                        draws=draws, replicates=replicates, seed=seed, out=out, plots=plots)
    with _interruptible(), _Bar("generations") as bar:
        outcome = run_policy(req, progress=bar)
    typer.echo(outcome.summary())


@app.command()
def calibrate(
    priors: Annotated[Optional[Path], typer.Argument(help="Priors file (default: scenarios/priors/central_asia.yaml); it names the history scenario.", show_default=False)] = None,  # noqa: UP045
    until: Annotated[Optional[int], typer.Option(help="Last training year (default: the priors file's).", show_default=False)] = None,  # noqa: UP045
    method: Annotated[str, typer.Option(help="Sampler: smc (sequential Monte Carlo with likelihood tempering).")] = "smc",
    draws: Annotated[int, typer.Option(help="Posterior draws (particles).")] = 2000,
    replicates: Annotated[int, typer.Option(help="Replicates per draw, on common random numbers: enough that the posterior does not learn one noise path (docs/calibration.md).")] = 16,
    seed: Annotated[Optional[int], typer.Option(help="Seed (default: the scenario's).", show_default=False)] = None,  # noqa: UP045
    select: Annotated[Optional[list[str]], typer.Option("--select", help="Calibrate these quantities instead of the screen's choice (repeatable).", show_default=False)] = None,  # noqa: UP045
    resume: Annotated[Optional[Path], typer.Option(help="Finish an interrupted calibration kept in this folder.", show_default=False)] = None,  # noqa: UP045
    workers: Annotated[Optional[int], typer.Option(help="Local worker processes (default: all cores).", show_default=False)] = None,  # noqa: UP045
    scheduler: Annotated[Optional[str], typer.Option(help="Evaluate the draws on a Dask cluster at tcp://HOST:PORT.", show_default=False)] = None,  # noqa: UP045
    out: Annotated[Path, typer.Option(help="Folder under which <scenario>/calibrations/<id>/ is made.")] = Path("results"),
) -> None:
    """Fit the behavioural constants to the training years' UN votes: a posterior folder."""
    from sim.calibration.calibrate import (
        DEFAULT_PRIORS,
        CalibrateRequest,
        Interrupted,
        format_summary,
    )
    from sim.calibration.calibrate import calibrate as run_calibration

    if method != "smc":
        raise SimError(f"--method: expected 'smc', found {method!r}")
    req = CalibrateRequest(priors=priors or DEFAULT_PRIORS, until=until, draws=draws,
                           replicates=replicates, seed=seed, select=tuple(select or ()),
                           out=out, resume=resume, workers=workers, scheduler=scheduler)
    try:
        # sequential Monte Carlo tempers the likelihood: it raises it to a power that grows
        # from 0 (the prior) to 1 (the posterior); the bar counts that power in thousandths
        with _Bar("tempering: the likelihood's weight, from 0 (prior) to 1000 (posterior)"
                  ) as bar:
            outcome = run_calibration(req, progress=bar)
    except Interrupted as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(130) from None
    typer.echo(format_summary(outcome))


@app.command()
def hindcast(
    scenario: Annotated[Optional[Path], typer.Argument(help="History scenario (default: the shipped 1992-2012 Central Asia scenario).", show_default=False)] = None,  # noqa: UP045
    replicates: Annotated[Optional[int], typer.Option(help="Replicates (default: the scenario's).", show_default=False)] = None,  # noqa: UP045
    seed: Annotated[Optional[int], typer.Option(help="Root seed (default: the scenario's).", show_default=False)] = None,  # noqa: UP045
    until: Annotated[Optional[int], typer.Option(help="Last year used for fitting; later years are predicted only, and scored where observed (default: the last year the posterior was fitted on; 2003 with --without-posterior or another scenario).", show_default=False)] = None,  # noqa: UP045
    link: Annotated[str, typer.Option(help="Observation link without a posterior: 'mixture' (a state votes as the powers it follows, plus an own-way share, with a decaying offset per pair), 'power' (agreement's logit follows the logit of the state's alignment with the power, with offsets) or 'bloc' (with the power's bloc). Every hindcast also scores the others beside it.")] = "mixture",
    offsets: Annotated[str, typer.Option(help="Offsets of the link: 'state' (each state and power its own, shrunk toward the power's) or 'power'.")] = "state",
    posterior: Annotated[Optional[Path], typer.Option(help="Run over a calibration's posterior folder (default for the shipped scenario: the shipped posterior, calibrated on 1992-2012).", show_default=False)] = None,  # noqa: UP045
    without_posterior: Annotated[bool, typer.Option("--without-posterior", help="Use the scenario's own constants, with no parameter uncertainty.")] = False,
    agreement: Annotated[Optional[Path], typer.Option(help="Observed agreement table (default: the shipped UN votes, 1992-2012).", show_default=False)] = None,  # noqa: UP045
    world: Annotated[Optional[Path], typer.Option(help="The world's agreement with each power (default: the shipped table).", show_default=False)] = None,  # noqa: UP045
    powers: Annotated[Optional[Path], typer.Option(help="The powers' agreement with each other (default: the shipped table, 1992-2019).", show_default=False)] = None,  # noqa: UP045
    set_: SetOpt = None,
    out: Annotated[Path, typer.Option(help="Folder under which <scenario>/hindcasts/<run-id>/ is made.")] = Path("results"),
) -> None:
    """Run a history scenario and score it against UN General Assembly votes (fitted up to --until)."""
    from sim.calibration.hindcast import (
        DEFAULT_SCENARIO,
        HindcastRequest,
        format_outcome,
        run_hindcast,
    )
    from sim.calibration.posterior import SHIPPED, posterior_last_year

    if posterior is not None and without_posterior:
        raise SimError("--posterior: not with --without-posterior")
    if posterior is None and scenario is None and not without_posterior:
        posterior = SHIPPED
    if until is None:
        until = (posterior_last_year(posterior) if posterior is not None else None) or 2003
    data: dict[str, Any] = {k: v for k, v in (("agreement", agreement), ("world", world),
                                              ("powers", powers)) if v is not None}
    req = HindcastRequest(scenario=scenario or DEFAULT_SCENARIO, sets=tuple(set_ or ()),
                          posterior=posterior,
                          replicates=replicates, seed=seed, until=until, link=link,
                          offsets=offsets, out=out, **data)
    with _interruptible(), _Bar("replicates") as bar:
        outcome = run_hindcast(req, progress=bar.advance)
    typer.echo(format_outcome(outcome))


FolderArg = Annotated[Path, typer.Argument(help="A results folder (run, comparison or sweep).",
                                           show_default=False)]


@app.command()
def report(folder: FolderArg) -> None:
    """Write report.html for a results folder: question, headline, figures, tables, facts."""
    from sim.outputs.report import write_report

    typer.echo(write_report(folder))


@app.command()
def view(folder: FolderArg) -> None:
    """Open a results folder's report.html in the web browser (writing it first if needed)."""
    from sim.outputs.report import view as view_report

    path, opened = view_report(folder)
    typer.echo(path)
    if not opened:
        typer.echo("no web browser found here: open the file above in one", err=True)


@app.command()
def explore(
    scenario: ScenarioArg,
    counterfactual: Annotated[Optional[Path], typer.Option(help="The scenario without the policy (e.g. no_japan): charts show it, and the readout the effect against it.", show_default=False)] = None,  # noqa: UP045
    posterior: Annotated[Optional[Path], typer.Option(help="Run the ensemble over a calibration's posterior (default: the shipped posterior for scenarios it was made for, as sim compare).", show_default=False)] = None,  # noqa: UP045
    without_posterior: WithoutPosteriorOpt = False,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 to listen on.")] = 8765,
    open_browser: Annotated[bool, typer.Option("--open/--no-open", help="Open the page in the web browser.")] = True,
) -> None:
    """Explore a scenario in the browser (Mesa's SolaraViz): sliders, step and run, live charts."""
    from sim.experiments.explore import HOST, serve

    typer.echo(f"explorer: http://{HOST}:{port}/  (Ctrl-C to stop)")
    raise typer.Exit(serve(scenario, counterfactual=counterfactual, posterior=posterior,
                           without_posterior=without_posterior, port=port,
                           open_browser=open_browser))


@app.command()
def explain(
    scenario: ScenarioArg,
    against: Annotated[Optional[Path], typer.Option(help="A scenario to compare with (e.g. baseline_2025): the paired effect on regional shares split by channel (money, summits, ties, other events) and the peers' amplification.", show_default=False)] = None,  # noqa: UP045
    when: Annotated[Optional[str], typer.Option("--date", help="The date, YYYY-MM-DD (default: the calendar's end): the round ending on or before it.", show_default=False)] = None,  # noqa: UP045
    csv: Annotated[bool, typer.Option("--csv", help="Write the term table tidy (state, power, term, value) to standard output, the rest to standard error.")] = False,
    replicates: Annotated[int, typer.Option(help="Paired replicates of the channel split (with --against).")] = 400,
    posterior: PosteriorOpt = None,
    without_posterior: WithoutPosteriorOpt = False,
    set_: SetOpt = None,
) -> None:
    """Why the answer is what it is: each state's terms toward each power at a date, without noise."""
    import datetime as dt

    from sim.calibration.posterior import choose
    from sim.experiments import explain as ex
    from sim.scenario.schema import load, locate

    day = None
    if when is not None:
        try:
            day = dt.date.fromisoformat(when)
        except ValueError:
            raise SettingError("date", f"expected YYYY-MM-DD, found {when!r}") from None
    path = locate(scenario)
    pair = [path] + ([locate(against)] if against is not None else [])
    post = choose(posterior, without_posterior, [(load(q, set_ or []), q) for q in pair])
    const = ex.constants(post)
    p, r, rows = ex.terms(path, day, const, tuple(set_ or ()))
    rows = ex.tidy(p, rows)
    text: list[str] = []
    if csv:
        typer.echo("state,power,term,value")
        for s, q, term, v in rows:
            typer.echo(f"{s},{q},{term},{v:.6g}")
    else:
        text.append(ex.format_terms(p, r, rows, const))
    if against is not None:
        sc = load(path)
        names = {q: pw.name for q, pw in sc.powers.items()}
        ch = ex.channels(locate(against), path, day, const, replicates)
        text.append(ex.format_channels(ch, names))
    if text:
        typer.echo("\n\n".join(text), err=csv)


def main() -> None:
    """Entry point: user errors (ours and the parser's) become one line on stderr, exit 2;
    what the machine refused (a full disk, a read-only folder, no memory left) one line
    saying so, exit 1."""
    import signal

    from sim.core.children import TERMINATED

    def terminated(signum: int, frame: object) -> None:
        TERMINATED.set()
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: the clean-up is under way
        raise Terminated

    signal.signal(signal.SIGTERM, terminated)
    try:
        code: Any = app(standalone_mode=False)
    except SettingError as err:
        typer.echo(f"error: {err.describe(option_name)}", err=True)
        raise SystemExit(err.exit_code) from None
    except SimError as err:
        typer.echo(f"error: {err}", err=True)
        raise SystemExit(err.exit_code) from None
    except (OSError, MemoryError) as err:
        failure = machine_error(err)
        if failure is None:  # not the machine's doing: a bug, with its traceback
            raise
        typer.echo(f"error: {failure}", err=True)
        raise SystemExit(failure.exit_code) from None
    except (typer.Abort, KeyboardInterrupt) as err:
        typer.echo("interrupted: nothing half-written was kept", err=True)
        raise SystemExit(_status(err)) from None
    except typer.TyperException as err:  # the parser's: a bad option value, a missing argument
        text = err.format_message() if hasattr(err, "format_message") else str(err)
        typer.echo(f"error: {text}", err=True)
        raise SystemExit(getattr(err, "exit_code", 2)) from None
    raise SystemExit(code if isinstance(code, int) else 0)
