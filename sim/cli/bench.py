"""``sim bench``: time the engine, the batched path and the figures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sim.cli.program import app
from sim.core.errors import SettingError


@app.command()
def bench(
    scenario: Annotated[Path, typer.Argument(help="Scenario to time.")] = Path("scenarios/tokyo_initiative.yaml"),
    replicates: Annotated[int, typer.Option(help="Replicates for the head-to-head timing.")] = 1000,
    scaling: Annotated[str, typer.Option(help="Comma-separated replicate counts for the scaling table ('' to skip).")] = "1000,10000,100000",
    million: Annotated[int, typer.Option(help="Replicates of a summary-only run whose peak memory is measured (0 to skip).")] = 0,
    batch: Annotated[int, typer.Option(help="Points of the batched figures: a sweep of that many points x 5 replicates (0 to skip).")] = 1000,
    calibration: Annotated[int, typer.Option(help="Points of a calibration-sized batch x 10 replicates, timed with its peak memory (0 to skip).")] = 10000,
    figures: Annotated[int, typer.Option(help="Runs of 'sim run SCENARIO' with figures and as many with --no-plots, in turns, for the cost of the figures (0 to skip).")] = 2,
    json_: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Time the engine on each path (compiled, numpy) against mesa.batch_run, the batched path against the engine, and the figures' cost."""
    import json

    from sim.experiments.bench import bench as run_bench
    from sim.experiments.bench import format_bench

    found = run_bench(scenario, replicates=replicates, scaling=_counts(scaling), million=million,
                      batch=batch, calibration=calibration, figures=figures,
                      progress=None if json_ else lambda msg: typer.echo(f"... {msg}", err=True))
    typer.echo(json.dumps(found, indent=2) if json_ else format_bench(found))


def _counts(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise SettingError("scaling", f"expected comma-separated integers, found {text!r}") from None
