"""``sim run``: simulate a scenario and write a results folder."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from sim import engine, plots, report, results
from sim.errors import SimError
from sim.model import AlignmentModel
from sim.params import Params, build
from sim.scenario import Scenario, file_digest, load, to_yaml, values
from sim.scenario import digest as scenario_digest

Engine = Literal["ensemble", "mesa"]
#: Above this many replicates a run keeps streaming summaries, not full trajectories.
AUTO_TRAJECTORY_LIMIT = 20_000


@dataclass(frozen=True)
class RunOutcome:
    """Where a run wrote its results, and its final-alignment table."""

    folder: Path
    final: pd.DataFrame
    seconds: float


def mesa_trajectories(p: Params, replicates: int, seed: int) -> engine.Trajectories:
    """Run replicates one by one through the Mesa model (the agent-by-agent path)."""
    runs = []
    for k in range(replicates):
        model = AlignmentModel(params=p, replicate=k, seed=seed)
        model.run_model()
        runs.append(model.trajectories())
    return engine.Trajectories(
        np.arange(replicates),
        *(np.stack([r[key] for r in runs]) for key in ("alignment", "debt", "delivered")),
    )


def parameters(sc: Scenario) -> dict[str, dict[str, object]]:
    """Every resolved substantive value by field path, with its provenance."""
    out: dict[str, dict[str, object]] = {}
    for path, v in values(sc):
        entry: dict[str, object] = {"value": v.value}
        if v.ref is not None:
            entry["ref"] = v.ref
        if v.scale != 1.0:
            entry["scale"] = v.scale
        if v.why is not None:
            entry["why"] = v.why
        out[path] = entry
    return out


def run_scenario(
    path: Path,
    *,
    replicates: int | None = None,
    seed: int | None = None,
    rounds: int | None = None,
    sets: Sequence[str] = (),
    out: Path = Path("results"),
    engine_name: Engine = "ensemble",
    trajectories: bool | None = None,
    progress: Callable[[int], None] | None = None,
    write_report: bool = True,
) -> RunOutcome:
    """Validate, simulate and write ``out/<scenario>/<run-id>/``; see the README for files."""
    started, t0 = results.now(), time.perf_counter()
    sc = load(path, sets)
    if rounds is not None and rounds < 1:
        raise SimError(f"--rounds: expected a positive number of rounds, found {rounds}")
    if replicates is not None and replicates < 1:
        raise SimError(f"--replicates: expected at least 1, found {replicates}")
    if seed is not None and seed < 0:
        raise SimError(f"--seed: expected a non-negative integer, found {seed}")
    p = build(sc, rounds)
    n = sc.replicates if replicates is None else replicates
    root = sc.seed if seed is None else seed
    keep = n <= AUTO_TRAJECTORY_LIMIT if trajectories is None else trajectories
    if engine_name == "mesa":
        traj: engine.Trajectories | None = mesa_trajectories(p, n, root)
        summary = engine.exact_summary(traj, p)
        if progress:
            progress(n)
    else:
        res = engine.run(p, n, root, keep=keep, progress=progress)
        traj, summary = res.trajectories, res.summary
    final = results.final_table(summary, p)
    folder = out / sc.name / results.new_run_id()
    with results.atomic_folder(folder) as tmp:
        files: dict[str, int] = {}
        if traj is not None:
            table = results.tidy_table(traj, p, sc.name)
            results.write_parquet(table, tmp / "alignment.parquet")
            files["alignment.parquet"] = table.num_rows
        by_round = results.by_round_table(summary, p)
        results.write_parquet(
            pa.Table.from_pandas(by_round, preserve_index=False),
            tmp / "summary_by_round.parquet",
        )
        files["summary_by_round.parquet"] = len(by_round)
        for name, df in (
            ("summary.csv", final),
            ("region.csv", results.region_table(summary, p)),
            ("hedging.csv", results.hedging_table(summary, p)),
        ):
            df.to_csv(tmp / name, index=False, float_format="%.6g")
            files[name] = len(df)
        (tmp / "scenario.yaml").write_text(to_yaml(sc), encoding="utf-8")
        look = plots.make_look(p, sc)
        for stem, fig in plots.standard(summary, p, title=sc.title, look=look, traj=traj).items():
            plots.save(fig, tmp / "plots", stem)
        for stem, fig in plots.per_state(summary, p, title=sc.title, look=look).items():
            plots.save(fig, tmp / "plots" / "states", stem)
        manifest = {
            "kind": "run",
            "scenario": sc.name,
            "title": sc.title,
            "question": sc.question,
            "scenario_file": str(path),
            "scenario_file_sha256": file_digest(path),
            "resolved_scenario_sha256": scenario_digest(sc),
            "overrides": list(sets),
            "seed": root,
            "replicates": n,
            "rounds": p.rounds,
            "dates": [d.isoformat() for d in p.dates],
            "engine": engine_name,
            "trajectories_kept": traj is not None,
            "quantile_method": summary.method,
            "states": p.states,
            "powers": p.powers,
            "parameters": parameters(sc),
            "derived": {
                "anchor": p.anchor.round(10).tolist(),
                "peers": p.peers.round(10).tolist(),
                "instruments": p.instruments,
            },
            "rows": files,
            "command": results.command_line(),
            "versions": results.versions(),
            "started": started,
            "finished": results.now(),
            "seconds": round(time.perf_counter() - t0, 3),
        }
        results.write_json(tmp / "manifest.json", manifest)
        if write_report:
            report.write_report(tmp, label=folder.name)
    return RunOutcome(folder, final, time.perf_counter() - t0)
