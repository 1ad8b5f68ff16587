"""``sim sweep``: sweep scenario values, analyse sensitivity, find boxes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from sim.cli.common import Bar, FactsOpt, SetOpt, interruptible
from sim.cli.program import app


@app.command()
def sweep(
    source: Annotated[Optional[Path], typer.Argument(help="Scenario file, or a sweep file that names its scenario.", show_default=False)] = None,  # noqa: UP045
    param: Annotated[Optional[list[str]], typer.Option("--param", help="Swept value: path=LOW:HIGH[:LEVELS] (repeatable; '*' matches one path element; a registry entry's id sweeps every field that uses it).", show_default=False)] = None,  # noqa: UP045
    method: Annotated[Optional[str], typer.Option(help="grid, lhs, sobol or morris (default: grid if every --param has LEVELS, else sobol).", show_default=False)] = None,  # noqa: UP045
    samples: Annotated[Optional[int], typer.Option(help="N: grid levels per parameter, LHS points, Sobol' base samples (a power of 2), Morris trajectories.", show_default=False)] = None,  # noqa: UP045
    replicates: Annotated[Optional[int], typer.Option(help="Replicates per point (default: the scenario's).", show_default=False)] = None,  # noqa: UP045
    seed: Annotated[Optional[int], typer.Option(help="Sweep seed (default: the scenario's).", show_default=False)] = None,  # noqa: UP045
    crn: Annotated[Optional[bool], typer.Option("--common-random-numbers/--independent-seeds", help="Same random numbers at every point (default: each point its own seed).", show_default=False)] = None,  # noqa: UP045
    outcome: Annotated[Optional[list[str]], typer.Option("--outcome", help="Outcome to report (repeatable; default: the scenario's own powers' regional share).", show_default=False)] = None,  # noqa: UP045
    discover: Annotated[Optional[str], typer.Option(help="Scenario discovery (PRIM) for OUTCOME>VALUE or OUTCOME<VALUE.", show_default=False)] = None,  # noqa: UP045
    workers: Annotated[Optional[int], typer.Option(help="Local worker processes (default: all cores).", show_default=False)] = None,  # noqa: UP045
    scheduler: Annotated[Optional[str], typer.Option(help="Run the points on a Dask cluster at tcp://HOST:PORT.", show_default=False)] = None,  # noqa: UP045
    resume: Annotated[Optional[Path], typer.Option(help="Finish an interrupted sweep in this folder.", show_default=False)] = None,  # noqa: UP045
    set_: SetOpt = None,
    out: Annotated[Path, typer.Option(help="Folder under which <scenario>/sweeps/<id>/ is made.")] = Path("results"),
    facts: FactsOpt = None,
    counterfactual: Annotated[Optional[Path], typer.Option(help="The scenario without the policy: each point runs it too, on the same seeds, and outcomes <POWER>_effect are the paired differences.", show_default=False)] = None,  # noqa: UP045
    posterior: Annotated[Optional[Path], typer.Option(help="Run every point over a calibration's posterior: each draw a block of --replicates replicates, the swept values winning where they set a calibrated field (intervals then cover noise and parameters).", show_default=False)] = None,  # noqa: UP045
    draws: Annotated[int, typer.Option(help="Posterior draws per point (spread evenly over the posterior).")] = 20,
) -> None:
    """Sweep scenario values (grid, LHS, Sobol', Morris), analyse sensitivity, find boxes (PRIM)."""
    from sim.experiments.sweep import SweepRequest, run_sweep

    req = SweepRequest(source=source, resume=resume, params=param or [], method=method, samples=samples,
                       replicates=replicates, seed=seed, common_random_numbers=crn, report=outcome or [],
                       discover=discover, sets=set_ or [], workers=workers, scheduler=scheduler, out=out,
                       facts=facts, counterfactual=counterfactual, posterior=posterior, draws=draws)
    with interruptible(), Bar("points") as bar:
        result = run_sweep(req, progress=bar.points)
    typer.echo(result.summary())
