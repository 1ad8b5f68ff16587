"""``sim run``: simulate a scenario and write a results folder."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from sim import checkpoint, engine, outcomes, plots, report, results
from sim.errors import SimError
from sim.params import Params, build
from sim.scenario import Scenario, file_digest, load, parameters, to_yaml
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
    return checkpoint.mesa_chunk(p, np.arange(replicates), seed)


def run_scenario(
    path: Path | None = None,
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
    resume: Path | None = None,
) -> RunOutcome:
    """Validate, simulate and write ``out/<scenario>/<run-id>/``; see the README for files.

    Finished replicates are kept in ``out/<scenario>/.partial-<run-id>/`` while the run goes
    (:mod:`sim.checkpoint`); ``resume`` names such a folder to finish an interrupted run with
    its own saved settings, and gives the same results an uninterrupted run would have.

    Raises:
        KeyboardInterrupt: on Ctrl-C, with a one-line message saying what was kept and how to
            finish the run.
    """
    t0 = time.perf_counter()
    if resume is not None:
        spec = checkpoint.read_spec(resume)
        partial = resume
        path, sets = Path(spec["scenario_file"]), spec["overrides"]
        sc = load(path, sets)
        if scenario_digest(sc) != spec["resolved_scenario_sha256"]:
            raise SimError(
                f"{path}: the scenario (or a fact it uses) changed since the run in {resume} "
                "began; expected the same resolved scenario, start a new run instead"
            )
        p = build(sc, spec["rounds_asked"])
        spec["resumed"] = [*spec.get("resumed", []), {"at": results.now(),
                                                      "command": results.command_line()}]
    else:
        if path is None:
            raise SimError("give a scenario file, or --resume FOLDER")
        sc = load(path, sets)
        if rounds is not None and rounds < 1:
            raise SimError(f"--rounds: expected a positive number of rounds, found {rounds}")
        if replicates is not None and replicates < 1:
            raise SimError(f"--replicates: expected at least 1, found {replicates}")
        if seed is not None and seed < 0:
            raise SimError(f"--seed: expected a non-negative integer, found {seed}")
        p = build(sc, rounds)
        n = sc.replicates if replicates is None else replicates
        spec = {
            "run_id": results.new_run_id(),
            "scenario": sc.name,
            "scenario_file": str(path),
            "scenario_file_sha256": file_digest(path),
            "resolved_scenario_sha256": scenario_digest(sc),
            "overrides": list(sets),
            "replicates": n,
            "seed": sc.seed if seed is None else seed,
            "rounds_asked": rounds,
            "engine": engine_name,
            "trajectories": True
            if engine_name == "mesa"
            else (n <= AUTO_TRAJECTORY_LIMIT if trajectories is None else trajectories),
            "chunk": checkpoint.CHUNK[engine_name],
            "started": results.now(),
            "command": results.command_line(),
        }
        partial = checkpoint.create(out / sc.name, spec["run_id"], spec)
    n = int(spec["replicates"])
    finish = f"finish with: sim run --resume {partial}"
    try:
        traj, summary = checkpoint.simulate(partial, p, spec, progress)
    except KeyboardInterrupt:
        saved = checkpoint.saved_replicates(partial, spec)
        if saved == 0 and resume is None:
            shutil.rmtree(partial, ignore_errors=True)
            raise KeyboardInterrupt(
                "interrupted: the results folder was not created; nothing half-written was kept"
            ) from None
        raise KeyboardInterrupt(
            f"interrupted: {saved:,} of {n:,} replicates are saved in {partial}; {finish}"
        ) from None
    final = outcomes.final_table(summary, p)
    try:
        folder = _write(partial.parent / spec["run_id"], sc, p, spec, traj, summary, final,
                        t0=t0, write_report=write_report)
    except KeyboardInterrupt:
        if checkpoint.saved_replicates(partial, spec) < n:  # a short run: nothing worth keeping
            if resume is None:
                shutil.rmtree(partial, ignore_errors=True)
            raise KeyboardInterrupt(
                "interrupted: the results folder was not created; nothing half-written was kept"
            ) from None
        raise KeyboardInterrupt(
            f"interrupted while writing the results: every replicate is saved in {partial}; "
            f"{finish}"
        ) from None
    shutil.rmtree(partial, ignore_errors=True)
    return RunOutcome(folder, final, time.perf_counter() - t0)


def _write(
    folder: Path,
    sc: Scenario,
    p: Params,
    spec: dict[str, object],
    traj: engine.Trajectories | None,
    summary: engine.Summary,
    final: pd.DataFrame,
    *,
    t0: float,
    write_report: bool,
) -> Path:
    """Write the results folder atomically; returns it."""
    path, sets = Path(str(spec["scenario_file"])), list(spec["overrides"])  # type: ignore[call-overload]
    with results.atomic_folder(folder) as tmp:
        files: dict[str, int] = {}
        if traj is not None:
            table = results.tidy_table(traj, p, sc.name)
            results.write_parquet(table, tmp / "alignment.parquet")
            files["alignment.parquet"] = table.num_rows
        by_round = outcomes.by_round_table(summary, p)
        results.write_parquet(
            pa.Table.from_pandas(by_round, preserve_index=False),
            tmp / "summary_by_round.parquet",
        )
        files["summary_by_round.parquet"] = len(by_round)
        for name, df in (
            ("summary.csv", final),
            ("region.csv", outcomes.region_table(summary, p)),
            ("hedging.csv", outcomes.hedging_table(summary, p)),
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
            "scenario_file_sha256": spec["scenario_file_sha256"],
            "resolved_scenario_sha256": scenario_digest(sc),
            "overrides": sets,
            "seed": spec["seed"],
            "replicates": spec["replicates"],
            "rounds": p.rounds,
            "dates": [d.isoformat() for d in p.dates],
            "engine": spec["engine"],
            "trajectories_kept": traj is not None,
            "quantile_method": summary.method,
            "states": p.states,
            "powers": p.powers,
            "run_headline": outcomes.run_headline(summary, p, sc.blocs, traj),
            "parameters": parameters(sc),
            "derived": {
                "anchor": p.anchor.round(10).tolist(),
                "peers": p.peers.round(10).tolist(),
                "instruments": p.instruments,
            },
            "rows": files,
            "chunk": spec["chunk"],
            "command": spec["command"],
            "resumed": spec.get("resumed", []),
            "versions": results.versions(),
            "started": spec["started"],
            "finished": results.now(),
            "seconds": round(time.perf_counter() - t0, 3),
        }
        results.write_json(tmp / "manifest.json", manifest)
        if write_report:
            report.write_report(tmp, label=folder.name)
    return folder
