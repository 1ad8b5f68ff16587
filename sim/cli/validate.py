"""``sim validate``: check scenario files without running them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sim.cli.common import FactsOpt, SetOpt
from sim.cli.program import app


@app.command()
def validate(
    scenario: Annotated[list[Path], typer.Argument(help="Scenario YAML file(s).", show_default=False)],
    set_: SetOpt = None,
    facts: FactsOpt = None,
) -> None:
    """Check scenario files against the schema and the facts registry, without running them."""
    from sim.scenario.schema import check_files

    typer.echo(check_files(scenario, set_ or [], facts))
