"""``sim run``: simulate a scenario into a new results folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from sim.cli.common import (
    Bar,
    DrawsOpt,
    FactsOpt,
    PlotsOpt,
    PosteriorOpt,
    SetOpt,
    SvgOpt,
    WithoutPosteriorOpt,
    chosen_posterior,
    formats,
    interruptible,
    width,
)
from sim.cli.program import app
from sim.model.engines import Engine


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
        post = chosen_posterior(posterior, without_posterior, [scenario], set_, facts)
    req = RunRequest(scenario=scenario, replicates=replicates, seed=seed, rounds=rounds,
                     sets=tuple(set_ or ()), out=out, engine=engine, trajectories=trajectories,
                     resume=resume, posterior=post, draws=draws,
                     plots=plots, formats=formats(svg), facts=facts)
    with interruptible(), Bar("replicates") as bar:
        outcome = run_scenario(req, progress=bar)
    typer.echo(outcome.summary(width()))
