"""The command-line program ``sim``: parse, call one library function, print."""

from __future__ import annotations

import sys
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


def _progress(total: int, label: str):  # type: ignore[no-untyped-def]
    """A progress bar on stderr, or a no-op when stderr is not a terminal."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn(label), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                   TimeRemainingColumn(), transient=True, disable=not sys.stderr.isatty())
    return bar, bar.add_task(label, total=total)


@app.command()
def run(
    scenario: ScenarioArg,
    replicates: Annotated[Optional[int], typer.Option(help="Replicates (default: the scenario's).")] = None,  # noqa: UP045
    seed: Annotated[Optional[int], typer.Option(help="Root seed (default: the scenario's).")] = None,  # noqa: UP045
    rounds: Annotated[Optional[int], typer.Option(help="Rounds (default: the scenario's calendar).")] = None,  # noqa: UP045
    set_: SetOpt = None,
    out: Annotated[Path, typer.Option(help="Folder under which results/<scenario>/<run-id>/ is made.")] = Path("results"),
    engine: Annotated[str, typer.Option(help="ensemble (vectorised) or mesa (agent by agent).")] = "ensemble",
    trajectories: Annotated[Optional[bool], typer.Option("--trajectories/--summary-only", help="Keep every replicate's path (default: yes up to 20,000 replicates).", show_default=False)] = None,  # noqa: UP045
) -> None:
    """Simulate a scenario and write data, summary tables and plots to a new results folder."""
    from sim.results import format_final
    from sim.run import run_scenario

    if engine not in ("ensemble", "mesa"):
        raise SimError(f"--engine: expected 'ensemble' or 'mesa', found {engine!r}")
    from sim.scenario import load

    total = replicates if replicates is not None else load(scenario, set_ or []).replicates
    bar, task = _progress(total, "replicates")
    with bar:
        outcome = run_scenario(
            scenario, replicates=replicates, seed=seed, rounds=rounds, sets=set_ or [], out=out,
            engine_name=engine,  # type: ignore[arg-type]
            trajectories=trajectories, progress=lambda k: bar.advance(task, k),
        )
    typer.echo(format_final(outcome.final))
    typer.echo(f"results: {outcome.folder}  ({outcome.seconds:.2f} s)")


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
