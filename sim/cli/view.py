"""``sim view``: open a results folder's report.html in the web browser."""

from __future__ import annotations

import typer

from sim.cli.common import FolderArg
from sim.cli.program import app


@app.command()
def view(folder: FolderArg) -> None:
    """Open a results folder's report.html in the web browser (writing it first if needed)."""
    from sim.outputs.report import view as view_report

    path, opened = view_report(folder)
    typer.echo(path)
    if not opened:
        typer.echo("no web browser found here: open the file above in one", err=True)
