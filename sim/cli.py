"""The command-line program ``sim``: parse, call one library function, print."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Optional

import typer

from sim.errors import SimError

app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    help="Scenario simulator of regional alignment: run scenarios, check facts, compare, sweep.",
)

ScenarioArg = Annotated[Path, typer.Argument(help="Scenario YAML file.", show_default=False)]
SetOpt = Annotated[
    Optional[list[str]],  # noqa: UP045 - typer needs Optional here
    typer.Option("--set", help="Override a field: path.to.field=value (repeatable).",
                 show_default=False),
]


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """Ctrl-C: one line on what was kept (the interruption's own message), exit 130."""
    try:
        yield
    except KeyboardInterrupt as err:
        typer.echo(str(err) if str(err) else
                   "interrupted: the results folder was not created; nothing half-written was kept",
                   err=True)
        raise typer.Exit(130) from None


def _progress(total: int, label: str):  # type: ignore[no-untyped-def]
    """A progress bar on stderr, or a no-op when stderr is not a terminal."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn(label), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                   TimeRemainingColumn(), transient=True, disable=not sys.stderr.isatty())
    return bar, bar.add_task(label, total=total)


@app.command()
def run(
    scenario: Annotated[Optional[Path], typer.Argument(help="Scenario YAML file (none with --resume).", show_default=False)] = None,  # noqa: UP045
    replicates: Annotated[Optional[int], typer.Option(help="Replicates (default: the scenario's).")] = None,  # noqa: UP045
    seed: Annotated[Optional[int], typer.Option(help="Root seed (default: the scenario's).")] = None,  # noqa: UP045
    rounds: Annotated[Optional[int], typer.Option(help="Rounds (default: the scenario's calendar).")] = None,  # noqa: UP045
    set_: SetOpt = None,
    out: Annotated[Path, typer.Option(help="Folder under which results/<scenario>/<run-id>/ is made.")] = Path("results"),
    engine: Annotated[str, typer.Option(help="ensemble (vectorised) or mesa (agent by agent).")] = "ensemble",
    trajectories: Annotated[Optional[bool], typer.Option("--trajectories/--summary-only", help="Keep every replicate's path (default: yes up to 20,000 replicates).", show_default=False)] = None,  # noqa: UP045
    resume: Annotated[Optional[Path], typer.Option(help="Finish an interrupted run kept in this folder (results/<scenario>/.partial-<run-id>), with its own settings.", show_default=False)] = None,  # noqa: UP045
) -> None:
    """Simulate a scenario and write data, summary tables and plots to a new results folder.

    Ctrl-C keeps the finished replicates; --resume finishes the run without redoing them.
    """
    from sim.scenario import load

    if engine not in ("ensemble", "mesa"):
        raise SimError(f"--engine: expected 'ensemble' or 'mesa', found {engine!r}")
    if resume is not None:
        given = [name for name, v in (("SCENARIO", scenario), ("--replicates", replicates),
                                      ("--seed", seed), ("--rounds", rounds), ("--set", set_),
                                      ("--trajectories/--summary-only", trajectories))
                 if v]
        if engine != "ensemble":
            given.append("--engine")
        if given:
            raise SimError(f"--resume: the run's settings are saved with it; expected no "
                           f"{', '.join(given)}")
        from sim.checkpoint import read_spec, saved_replicates

        spec = read_spec(resume)
        total, saved = int(spec["replicates"]), saved_replicates(resume, spec)
        typer.echo(f"resuming {spec['scenario']}: {saved:,} of {total:,} replicates saved", err=True)
    elif scenario is None:
        raise SimError("give a scenario file, or --resume FOLDER")
    else:
        sc = load(scenario, set_ or [])  # validate before the heavy imports
        total = replicates if replicates is not None else sc.replicates
        if total >= 1:
            typer.echo(f"running {sc.name}: {total} replicates", err=True)

    from sim.outcomes import format_final
    from sim.run import run_scenario

    bar, task = _progress(total, "replicates")
    with _interruptible(), bar:
        outcome = run_scenario(
            scenario, replicates=replicates, seed=seed, rounds=rounds, sets=set_ or [], out=out,
            engine_name=engine,  # type: ignore[arg-type]
            trajectories=trajectories, progress=lambda k: bar.advance(task, k), resume=resume,
        )
    typer.echo(format_final(outcome.final))
    typer.echo(f"results: {outcome.folder}  ({outcome.seconds:.2f} s)")
    typer.echo(f"report: {outcome.folder / 'report.html'}")


@app.command()
def validate(
    scenario: Annotated[list[Path], typer.Argument(help="Scenario YAML file(s).", show_default=False)],
    set_: SetOpt = None,
) -> None:
    """Check scenario files against the schema and the facts registry, without running them."""
    from sim.scenario import load

    for path in scenario:
        sc = load(path, set_ or [])
        typer.echo(f"ok: {path} ({sc.name}: {len(sc.states)} states, {len(sc.powers)} powers, "
                   f"{len(sc.events)} events)")


@app.command()
def facts(
    scenarios: Annotated[Path, typer.Option(help="Folder of scenario files to scan.")] = Path("scenarios"),
    check: Annotated[bool, typer.Option("--check", help="Fail if any scenario is invalid or a number lacks provenance.")] = False,
) -> None:
    """List the facts and assumptions, with the scenario fields that use each."""
    from sim.factcheck import check_all, listing

    if check:
        problems, summary = check_all(scenarios)
        typer.echo(summary)
        for line in problems:
            typer.echo(f"problem: {line}", err=True)
        if problems:
            raise typer.Exit(1)
        return
    typer.echo(listing(scenarios))


@app.command()
def compare(
    scenario_a: Annotated[Path, typer.Argument(help="Scenario A (e.g. the counterfactual).", show_default=False)],
    scenario_b: Annotated[Path, typer.Argument(help="Scenario B (e.g. the policy).", show_default=False)],
    replicates: Annotated[Optional[int], typer.Option(help="Replicates (default: the larger of the two scenarios').")] = None,  # noqa: UP045
    seed: Annotated[Optional[int], typer.Option(help="Root seed shared by both (default: A's).")] = None,  # noqa: UP045
    rounds: Annotated[Optional[int], typer.Option(help="Rounds (default: the calendar).")] = None,  # noqa: UP045
    set_: SetOpt = None,
    out: Annotated[Path, typer.Option(help="Folder under which compare/<A>_vs_<B>/<run-id>/ is made.")] = Path("results"),
) -> None:
    """Run two scenarios on common random numbers and report their paired differences."""
    from sim.compare import compare_scenarios
    from sim.scenario import load

    sc_a, sc_b = load(scenario_a, set_ or []), load(scenario_b, set_ or [])
    total = replicates if replicates is not None else max(sc_a.replicates, sc_b.replicates)
    bar, task = _progress(total, "paired replicates")
    with _interruptible(), bar:
        outcome = compare_scenarios(scenario_a, scenario_b, replicates=replicates, seed=seed,
                                    rounds=rounds, out=out, sets=set_ or [],
                                    progress=lambda k: bar.advance(task, k))
    typer.echo(outcome.text)
    typer.echo(f"results: {outcome.folder}  ({outcome.seconds:.2f} s)")
    typer.echo(f"report: {outcome.folder / 'report.html'}")


@app.command()
def bench(
    scenario: Annotated[Path, typer.Argument(help="Scenario to time.")] = Path("scenarios/tokyo_initiative.yaml"),
    replicates: Annotated[int, typer.Option(help="Replicates for the head-to-head timing.")] = 1000,
    scaling: Annotated[str, typer.Option(help="Comma-separated replicate counts for the scaling table ('' to skip).")] = "1000,10000,100000",
    million: Annotated[int, typer.Option(help="Replicates of a summary-only run whose peak memory is measured (0 to skip).")] = 0,
    json_: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Time the ensemble engine against mesa.batch_run on the same work; print the figures."""
    import json

    from sim.bench import bench as run_bench
    from sim.bench import format_bench
    from sim.scenario import load

    load(scenario)
    try:
        counts = tuple(int(x) for x in scaling.split(",") if x.strip())
    except ValueError:
        raise SimError(f"--scaling: expected comma-separated integers, found {scaling!r}") from None
    if replicates < 1 or any(c < 1 for c in counts) or million < 0:
        raise SimError("--replicates and --scaling counts must be positive; --million non-negative")
    figures = run_bench(scenario, replicates=replicates, scaling=counts, million=million,
                        progress=None if json_ else lambda msg: typer.echo(f"... {msg}", err=True))
    typer.echo(json.dumps(figures, indent=2) if json_ else format_bench(figures))


@app.command()
def sweep(
    source: Annotated[Optional[Path], typer.Argument(help="Scenario file, or a sweep file that names its scenario.", show_default=False)] = None,  # noqa: UP045
    param: Annotated[Optional[list[str]], typer.Option("--param", help="Swept value: path=LOW:HIGH[:LEVELS] (repeatable; '*' matches one path element).", show_default=False)] = None,  # noqa: UP045
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
) -> None:
    """Sweep scenario values (grid, LHS, Sobol', Morris), analyse sensitivity, find boxes (PRIM)."""
    from sim.sweep import SweepRequest, run_sweep

    req = SweepRequest(source=source, resume=resume, params=param or [], method=method, samples=samples,
                       replicates=replicates, seed=seed, common_random_numbers=crn, report=outcome or [],
                       discover=discover, sets=set_ or [], workers=workers, scheduler=scheduler, out=out)
    bar, task = _progress(0, "points")
    try:
        with bar:
            result = run_sweep(req, progress=lambda done, total: bar.update(task, completed=done, total=total))
    except KeyboardInterrupt as err:
        typer.echo(str(err), err=True)  # where the saved points are and how to resume
        raise typer.Exit(130) from None
    typer.echo(result.summary())
    from sim.report import write_report

    typer.echo(f"report: {write_report(result.folder)}")


@app.command()
def hindcast(
    scenario: Annotated[Optional[Path], typer.Argument(help="History scenario (default: the shipped 1992-2012 Central Asia scenario).", show_default=False)] = None,  # noqa: UP045
    replicates: Annotated[Optional[int], typer.Option(help="Replicates (default: the scenario's).", show_default=False)] = None,  # noqa: UP045
    seed: Annotated[Optional[int], typer.Option(help="Root seed (default: the scenario's).", show_default=False)] = None,  # noqa: UP045
    until: Annotated[int, typer.Option(help="Last year used for fitting the observation model; later years are predicted only.")] = 2003,
    link: Annotated[str, typer.Option(help="Observation link: 'bloc' (agreement follows the state's alignment with the power's bloc) or 'power'.")] = "bloc",
    agreement: Annotated[Optional[Path], typer.Option(help="Observed agreement table (default: the shipped UN votes, 1992-2003).", show_default=False)] = None,  # noqa: UP045
    world: Annotated[Optional[Path], typer.Option(help="The world's agreement with each power (default: the shipped table).", show_default=False)] = None,  # noqa: UP045
    set_: SetOpt = None,
    out: Annotated[Path, typer.Option(help="Folder under which <scenario>/hindcasts/<run-id>/ is made.")] = Path("results"),
) -> None:
    """Run a history scenario and score it against UN General Assembly votes (fitted up to --until)."""
    from sim.hindcast import DEFAULT_SCENARIO, HindcastRequest, format_outcome, run_hindcast

    data = {k: v for k, v in (("agreement", agreement), ("world", world)) if v is not None}
    req = HindcastRequest(scenario=scenario or DEFAULT_SCENARIO, sets=tuple(set_ or ()),
                          replicates=replicates, seed=seed, until=until, link=link, out=out,
                          **data)
    bar, task = _progress(0, "replicates")
    with _interruptible(), bar:
        outcome = run_hindcast(req, progress=lambda k: bar.advance(task, k))
    typer.echo(format_outcome(outcome))


FolderArg = Annotated[Path, typer.Argument(help="A results folder (run, comparison or sweep).",
                                           show_default=False)]


@app.command()
def report(folder: FolderArg) -> None:
    """Write report.html for a results folder: question, headline, figures, tables, facts."""
    from sim.report import write_report

    typer.echo(write_report(folder))


@app.command()
def view(folder: FolderArg) -> None:
    """Open a results folder's report.html in the web browser (writing it first if needed)."""
    from sim.report import ensure_report, open_in_browser

    path = ensure_report(folder)
    typer.echo(path)
    if not open_in_browser(path):
        typer.echo("no web browser found here: open the file above in one", err=True)


@app.command()
def explore(
    scenario: ScenarioArg,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 to listen on.")] = 8765,
    open_browser: Annotated[bool, typer.Option("--open/--no-open", help="Open the page in the web browser.")] = True,
) -> None:
    """Explore a scenario in the browser (Mesa's SolaraViz): sliders, step and run, live charts."""
    from sim.explore import HOST, serve

    typer.echo(f"explorer: http://{HOST}:{port}/  (Ctrl-C to stop)")
    raise typer.Exit(serve(scenario, port=port, open_browser=open_browser))


def main() -> None:
    """Entry point: user errors become one line on stderr and exit status 2."""
    try:
        app()
    except SimError as err:
        typer.echo(f"error: {err}", err=True)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        typer.echo("interrupted: nothing half-written was kept", err=True)
        raise SystemExit(130) from None
