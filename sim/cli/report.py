"""``sim report``: write a results folder's report.html."""

from __future__ import annotations

import typer

from sim.cli.common import FolderArg
from sim.cli.program import app


@app.command()
def report(folder: FolderArg) -> None:
    """Write report.html for a results folder: question, headline, figures, tables, facts."""
    from sim.outputs.report import write_report

    typer.echo(write_report(folder))
