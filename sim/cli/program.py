"""The typer application every command registers on, with its own option, ``--version``."""

from __future__ import annotations

from typing import Annotated

import typer

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
