"""``sim compare``: two scenarios on common random numbers, B against A."""

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


@app.command()
def compare(
    scenario_a: Annotated[Path, typer.Argument(help="Scenario A (e.g. the counterfactual).", show_default=False)],
    scenario_b: Annotated[Optional[Path], typer.Argument(help="Scenario B (e.g. the policy); none: A itself, changed by --vary.", show_default=False)] = None,  # noqa: UP045
    replicates: Annotated[Optional[int], typer.Option(help="Replicates (default: the larger of the two scenarios').")] = None,  # noqa: UP045
    seed: Annotated[Optional[int], typer.Option(help="Root seed shared by both (default: A's).")] = None,  # noqa: UP045
    rounds: Annotated[Optional[int], typer.Option(help="Rounds (default: the calendar).")] = None,  # noqa: UP045
    set_: SetOpt = None,
    set_a: Annotated[Optional[list[str]], typer.Option("--set-a", help="Override a field of A only: path=value (repeatable).", show_default=False)] = None,  # noqa: UP045
    set_b: Annotated[Optional[list[str]], typer.Option("--set-b", "--vary", help="Override a field of B only (repeatable); with no SCENARIO_B, B is A with these changes.", show_default=False)] = None,  # noqa: UP045
    out: Annotated[Path, typer.Option(help="Folder under which compare/<A>_vs_<B>/<run-id>/ is made.")] = Path("results"),
    posterior: PosteriorOpt = None,
    without_posterior: WithoutPosteriorOpt = False,
    draws: DrawsOpt = 200,  # sim.calibration.posterior.DRAWS
    plots: PlotsOpt = True,
    svg: SvgOpt = False,
    facts: FactsOpt = None,
) -> None:
    """Run two scenarios on common random numbers and report what B changes against A.

    sim compare A B compares two files; sim compare A --vary path=value compares A with
    itself changed (a what-if against its own base).
    """
    from sim.experiments.compare import CompareRequest, compare_scenarios

    both = [scenario_a] if scenario_b is None else [scenario_a, scenario_b]
    post = None if rounds is not None else chosen_posterior(posterior, without_posterior, both,
                                                             set_, facts, say=False)
    req = CompareRequest(scenario_a, scenario_b, replicates=replicates, seed=seed, rounds=rounds,
                         sets=tuple(set_ or ()), sets_a=tuple(set_a or ()),
                         sets_b=tuple(set_b or ()), out=out, posterior=post, draws=draws,
                         plots=plots, formats=formats(svg), facts=facts)
    with interruptible(), Bar("paired replicates") as bar:
        outcome = compare_scenarios(req, progress=bar)
    typer.echo(outcome.summary(width()))
