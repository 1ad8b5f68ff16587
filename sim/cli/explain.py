"""``sim explain``: each state's terms toward each power at a date."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from sim.cli.common import PosteriorOpt, ScenarioArg, SetOpt, WithoutPosteriorOpt
from sim.cli.program import app
from sim.core.errors import SettingError


@app.command()
def explain(
    scenario: ScenarioArg,
    against: Annotated[Optional[Path], typer.Option(help="A scenario to compare with (e.g. baseline_2025): the paired effect on regional shares split by channel (money, summits, ties, other events) and the peers' amplification.", show_default=False)] = None,  # noqa: UP045
    when: Annotated[Optional[str], typer.Option("--date", help="The date, YYYY-MM-DD (default: the calendar's end): the round ending on or before it.", show_default=False)] = None,  # noqa: UP045
    csv: Annotated[bool, typer.Option("--csv", help="Write the term table tidy (state, power, term, value) to standard output, the rest to standard error.")] = False,
    replicates: Annotated[int, typer.Option(help="Paired replicates of the channel split (with --against).")] = 400,
    posterior: PosteriorOpt = None,
    without_posterior: WithoutPosteriorOpt = False,
    set_: SetOpt = None,
) -> None:
    """Why the answer is what it is: each state's terms toward each power at a date, without noise."""
    import datetime as dt

    from sim.calibration.posterior import choose
    from sim.experiments import explain as ex
    from sim.scenario.schema import load, locate

    day = None
    if when is not None:
        try:
            day = dt.date.fromisoformat(when)
        except ValueError:
            raise SettingError("date", f"expected YYYY-MM-DD, found {when!r}") from None
    path = locate(scenario)
    pair = [path] + ([locate(against)] if against is not None else [])
    post = choose(posterior, without_posterior, [(load(q, set_ or []), q) for q in pair])
    const = ex.constants(post)
    p, r, rows = ex.terms(path, day, const, tuple(set_ or ()))
    rows = ex.tidy(p, rows)
    text: list[str] = []
    if csv:
        typer.echo("state,power,term,value")
        for s, q, term, v in rows:
            typer.echo(f"{s},{q},{term},{v:.6g}")
    else:
        text.append(ex.format_terms(p, r, rows, const))
    if against is not None:
        sc = load(path)
        names = {q: pw.name for q, pw in sc.powers.items()}
        ch = ex.channels(locate(against), path, day, const, replicates)
        text.append(ex.format_channels(ch, names))
    if text:
        typer.echo("\n\n".join(text), err=csv)
