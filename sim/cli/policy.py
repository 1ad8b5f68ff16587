"""``sim policy``: search a power's packages for the most robust gain within a budget."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from sim.cli.common import Bar, PlotsOpt, interruptible
from sim.cli.program import app


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
    with interruptible(), Bar("generations") as bar:
        outcome = run_policy(req, progress=bar)
    typer.echo(outcome.summary())
