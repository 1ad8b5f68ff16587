"""``sim hindcast``: run a history scenario and score it against UN votes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from sim.cli.common import Bar, SetOpt, interruptible
from sim.cli.program import app
from sim.core.errors import SimError


@app.command()
def hindcast(
    scenario: Annotated[Optional[Path], typer.Argument(help="History scenario (default: the shipped 1992-2012 Central Asia scenario).", show_default=False)] = None,  # noqa: UP045
    replicates: Annotated[Optional[int], typer.Option(help="Replicates (default: the scenario's).", show_default=False)] = None,  # noqa: UP045
    seed: Annotated[Optional[int], typer.Option(help="Root seed (default: the scenario's).", show_default=False)] = None,  # noqa: UP045
    until: Annotated[Optional[int], typer.Option(help="Last year used for fitting; later years are predicted only, and scored where observed (default: the last year the posterior was fitted on; 2003 with --without-posterior or another scenario).", show_default=False)] = None,  # noqa: UP045
    link: Annotated[str, typer.Option(help="Observation link without a posterior: 'mixture' (a state votes as the powers it follows, plus an own-way share, with a decaying offset per pair), 'power' (agreement's logit follows the logit of the state's alignment with the power, with offsets) or 'bloc' (with the power's bloc). Every hindcast also scores the others beside it.")] = "mixture",
    offsets: Annotated[str, typer.Option(help="Offsets of the link: 'state' (each state and power its own, shrunk toward the power's) or 'power'.")] = "state",
    posterior: Annotated[Optional[Path], typer.Option(help="Run over a calibration's posterior folder (default for the shipped scenario: the shipped posterior, calibrated on 1992-2012).", show_default=False)] = None,  # noqa: UP045
    without_posterior: Annotated[bool, typer.Option("--without-posterior", help="Use the scenario's own constants, with no parameter uncertainty.")] = False,
    agreement: Annotated[Optional[Path], typer.Option(help="Observed agreement table (default: the shipped UN votes, 1992-2012).", show_default=False)] = None,  # noqa: UP045
    world: Annotated[Optional[Path], typer.Option(help="The world's agreement with each power (default: the shipped table).", show_default=False)] = None,  # noqa: UP045
    powers: Annotated[Optional[Path], typer.Option(help="The powers' agreement with each other (default: the shipped table, 1992-2019).", show_default=False)] = None,  # noqa: UP045
    set_: SetOpt = None,
    out: Annotated[Path, typer.Option(help="Folder under which <scenario>/hindcasts/<run-id>/ is made.")] = Path("results"),
) -> None:
    """Run a history scenario and score it against UN General Assembly votes (fitted up to --until)."""
    from sim.calibration.hindcast import (
        DEFAULT_SCENARIO,
        HindcastRequest,
        format_outcome,
        run_hindcast,
    )
    from sim.calibration.posterior import SHIPPED, posterior_last_year

    if posterior is not None and without_posterior:
        raise SimError("--posterior: not with --without-posterior")
    if posterior is None and scenario is None and not without_posterior:
        posterior = SHIPPED
    if until is None:
        until = (posterior_last_year(posterior) if posterior is not None else None) or 2003
    data: dict[str, Any] = {k: v for k, v in (("agreement", agreement), ("world", world),
                                              ("powers", powers)) if v is not None}
    req = HindcastRequest(scenario=scenario or DEFAULT_SCENARIO, sets=tuple(set_ or ()),
                          posterior=posterior,
                          replicates=replicates, seed=seed, until=until, link=link,
                          offsets=offsets, out=out, **data)
    with interruptible(), Bar("replicates") as bar:
        outcome = run_hindcast(req, progress=bar.advance)
    typer.echo(format_outcome(outcome))
