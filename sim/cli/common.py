"""What the commands share: option types, the progress bar, interruption, names of options."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Annotated, Optional

import typer

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
FolderArg = Annotated[Path, typer.Argument(help="A results folder (run, comparison or sweep).",
                                           show_default=False)]


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


def exit_status(err: BaseException) -> int:
    """The exit status of an interruption: 143 for SIGTERM, 130 for Ctrl-C."""
    from sim.core.children import TERMINATED

    return 143 if isinstance(err, Terminated) or TERMINATED.is_set() else 130


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Ctrl-C or SIGTERM: one line on what was kept (the interruption's own message), exit
    130 (143 for SIGTERM)."""
    try:
        yield
    except KeyboardInterrupt as err:
        typer.echo(str(err) if str(err) else
                   "interrupted: the results folder was not created; nothing half-written was kept",
                   err=True)
        raise typer.Exit(exit_status(err)) from None


class Bar:
    """Progress on stderr: the library's start line, then a bar while stderr is a terminal."""

    def __init__(self, label: str) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn(label), BarColumn(),
                            TextColumn("{task.completed}/{task.total}"), TimeRemainingColumn(),
                            transient=True, disable=not sys.stderr.isatty())
        self.task = self.bar.add_task(label, total=None)

    def __enter__(self) -> Bar:
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


def chosen_posterior(given: Path | None, without: bool, scenarios: list[Path],
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
