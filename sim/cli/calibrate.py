"""``sim calibrate``: fit the behavioural constants to the training years' UN votes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from sim.cli.common import Bar
from sim.cli.program import app
from sim.core.errors import SimError


@app.command()
def calibrate(
    priors: Annotated[Optional[Path], typer.Argument(help="Priors file (default: scenarios/priors/central_asia.yaml); it names the history scenario.", show_default=False)] = None,  # noqa: UP045
    until: Annotated[Optional[int], typer.Option(help="Last training year (default: the priors file's).", show_default=False)] = None,  # noqa: UP045
    method: Annotated[str, typer.Option(help="Sampler: smc (sequential Monte Carlo with likelihood tempering).")] = "smc",
    draws: Annotated[int, typer.Option(help="Posterior draws (particles).")] = 2000,
    replicates: Annotated[int, typer.Option(help="Replicates per draw, on common random numbers: enough that the posterior does not learn one noise path (docs/calibration.md).")] = 16,
    seed: Annotated[Optional[int], typer.Option(help="Seed (default: the scenario's).", show_default=False)] = None,  # noqa: UP045
    select: Annotated[Optional[list[str]], typer.Option("--select", help="Calibrate these quantities instead of the screen's choice (repeatable).", show_default=False)] = None,  # noqa: UP045
    resume: Annotated[Optional[Path], typer.Option(help="Finish an interrupted calibration kept in this folder.", show_default=False)] = None,  # noqa: UP045
    workers: Annotated[Optional[int], typer.Option(help="Local worker processes (default: all cores).", show_default=False)] = None,  # noqa: UP045
    scheduler: Annotated[Optional[str], typer.Option(help="Evaluate the draws on a Dask cluster at tcp://HOST:PORT.", show_default=False)] = None,  # noqa: UP045
    out: Annotated[Path, typer.Option(help="Folder under which <scenario>/calibrations/<id>/ is made.")] = Path("results"),
) -> None:
    """Fit the behavioural constants to the training years' UN votes: a posterior folder."""
    from sim.calibration.calibrate import (
        DEFAULT_PRIORS,
        CalibrateRequest,
        Interrupted,
        format_summary,
    )
    from sim.calibration.calibrate import calibrate as run_calibration

    if method != "smc":
        raise SimError(f"--method: expected 'smc', found {method!r}")
    req = CalibrateRequest(priors=priors or DEFAULT_PRIORS, until=until, draws=draws,
                           replicates=replicates, seed=seed, select=tuple(select or ()),
                           out=out, resume=resume, workers=workers, scheduler=scheduler)
    try:
        # sequential Monte Carlo tempers the likelihood: it raises it to a power that grows
        # from 0 (the prior) to 1 (the posterior); the bar counts that power in thousandths
        with Bar("tempering: the likelihood's weight, from 0 (prior) to 1000 (posterior)"
                  ) as bar:
            outcome = run_calibration(req, progress=bar)
    except Interrupted as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(130) from None
    typer.echo(format_summary(outcome))
