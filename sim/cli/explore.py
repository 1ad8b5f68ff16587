"""``sim explore``: explore a scenario in the browser."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from sim.cli.common import ScenarioArg, WithoutPosteriorOpt
from sim.cli.program import app


@app.command()
def explore(
    scenario: ScenarioArg,
    counterfactual: Annotated[Optional[Path], typer.Option(help="The scenario without the policy (e.g. no_japan): charts show it, and the readout the effect against it.", show_default=False)] = None,  # noqa: UP045
    posterior: Annotated[Optional[Path], typer.Option(help="Run the ensemble over a calibration's posterior (default: the shipped posterior for scenarios it was made for, as sim compare).", show_default=False)] = None,  # noqa: UP045
    without_posterior: WithoutPosteriorOpt = False,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 to listen on.")] = 8765,
    open_browser: Annotated[bool, typer.Option("--open/--no-open", help="Open the page in the web browser.")] = True,
) -> None:
    """Explore a scenario in the browser (Mesa's SolaraViz): sliders, step and run, live charts."""
    from sim.experiments.explore import HOST, serve

    typer.echo(f"explorer: http://{HOST}:{port}/  (Ctrl-C to stop)")
    raise typer.Exit(serve(scenario, counterfactual=counterfactual, posterior=posterior,
                           without_posterior=without_posterior, port=port,
                           open_browser=open_browser))
