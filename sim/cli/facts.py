"""``sim facts``: the facts registry, the fields that use each entry, and its check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from sim.cli.program import app


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
