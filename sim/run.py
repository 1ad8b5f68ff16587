"""``sim run``: simulate a scenario and write a results folder."""

from __future__ import annotations

import functools
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from sim import batch, checkpoint, engine, engines, memory, outcomes, plots, report, results
from sim import posterior as posteriors
from sim.engines import Engine, Progress, check_counts
from sim.errors import SettingError, SimError, machine_failures
from sim.params import Params, build
from sim.scenario import Scenario, file_digest, load, parameters, to_yaml
from sim.scenario import digest as scenario_digest


@dataclass(frozen=True)
class RunRequest:
    """What a run asks for: a scenario and its settings, or an interrupted run to finish.

    Attributes:
        scenario: the scenario file (none when resuming).
        replicates, seed, rounds: default to the scenario's own (its calendar for rounds).
        sets: ``path=value`` overrides of scenario fields.
        out: folder under which ``<scenario>/<run-id>/`` is made.
        engine: which path simulates the replicates (:mod:`sim.engines`).
        trajectories: keep every replicate's path (default: see
            :func:`sim.engines.keeps_trajectories`).
        resume: an interrupted run's folder, finished with its own saved settings (then every
            other setting must be left at its default).
        write_report: write ``report.html`` into the folder.
        posterior: a calibration's posterior folder: each of ``draws`` draws runs a block of
            ``replicates`` replicates (default :data:`sim.posterior.REPLICATES_PER_DRAW`), so
            every interval covers noise and parameters.
        draws: posterior draws used (spread evenly over the posterior).
    """

    scenario: Path | None = None
    replicates: int | None = None
    seed: int | None = None
    rounds: int | None = None
    sets: tuple[str, ...] = ()
    out: Path = Path("results")
    engine: Engine = Engine.ENSEMBLE
    trajectories: bool | None = None
    resume: Path | None = None
    write_report: bool = True
    posterior: Path | None = None
    draws: int = posteriors.DRAWS

    def check(self) -> None:
        """Refuse settings that cannot be run, naming them.

        Raises:
            SettingError: a bad value, settings given beside ``resume``, or no scenario.
        """
        if self.resume is not None:
            given = tuple(name for name, value, default in (
                ("scenario", self.scenario, None), ("replicates", self.replicates, None),
                ("seed", self.seed, None), ("rounds", self.rounds, None), ("sets", self.sets, ()),
                ("trajectories", self.trajectories, None), ("engine", self.engine, Engine.ENSEMBLE),
            ) if value != default)
            if given:
                raise SettingError("resume", "the run's settings are saved with it; expected no",
                                   others=given)
            return
        if self.scenario is None:
            raise SettingError("scenario", "expected a scenario file, or a run to resume")
        check_counts(self.replicates, self.seed, self.rounds)
        if self.posterior is not None:
            if self.draws < 1:
                raise SettingError("draws", f"expected at least 1, found {self.draws}")
            for name, value, default in (("rounds", self.rounds, None),
                                         ("engine", self.engine, Engine.ENSEMBLE)):
                if value != default:
                    raise SettingError(name, "not with a posterior; it runs the ensemble engine "
                                       "over each scenario's own calendar")


@dataclass(frozen=True)
class RunOutcome:
    """Where a run wrote its results, and its final-alignment table."""

    folder: Path
    final: pd.DataFrame
    seconds: float

    def summary(self) -> str:
        """What the command line prints: the final alignment and where the results are."""
        return (f"{outcomes.format_final(self.final)}\n"
                f"results: {self.folder}  ({self.seconds:.2f} s)\n"
                f"report: {self.folder / 'report.html'}")


def run_scenario(req: RunRequest, progress: Progress | None = None) -> RunOutcome:
    """Validate, simulate and write ``out/<scenario>/<run-id>/``; see the README for files.

    Finished replicates are kept in ``out/<scenario>/.partial-<run-id>/`` while the run goes
    (:mod:`sim.checkpoint`); ``req.resume`` names such a folder to finish an interrupted run
    with its own saved settings, and gives the same results an uninterrupted run would have.

    Raises:
        SimError: bad settings or scenario, or a resumed scenario that changed.
        KeyboardInterrupt: on Ctrl-C, with a one-line message saying what was kept and how to
            finish the run.
    """
    req.check()
    if req.posterior is not None:
        return _run_posterior(req, progress)
    resume, out, write_report = req.resume, req.out, req.write_report
    t0 = time.perf_counter()
    if resume is not None:
        spec = checkpoint.read_spec(resume)
        results.check_out(resume, "resume")
        total, saved = int(spec["replicates"]), checkpoint.saved_replicates(resume, spec)
        partial = resume
        path, sets = Path(spec["scenario_file"]), spec["overrides"]
        sc = load(path, sets)
        if scenario_digest(sc) != spec["resolved_scenario_sha256"]:
            raise SimError(
                f"{path}: the scenario (or a fact it uses) changed since the run in {resume} "
                "began; expected the same resolved scenario, start a new run instead"
            )
        p = build(sc, spec["rounds_asked"])
        _check_memory(p, spec)
        spec["resumed"] = [*spec.get("resumed", []), {"at": results.now(),
                                                      "command": results.command_line()}]
        what = f"resuming {spec['scenario']}: {saved:,} of {total:,} replicates saved"
    else:
        assert req.scenario is not None  # checked by req.check()
        results.check_out(out)
        path, sets, rounds, seed = req.scenario, list(req.sets), req.rounds, req.seed
        sc = load(path, sets)
        p = build(sc, rounds)
        n = sc.replicates if req.replicates is None else req.replicates
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
            "engine": str(req.engine),
            "trajectories": engines.keeps_trajectories(req.engine, n, req.trajectories),
            "chunk": engines.CHUNK[req.engine],
            "started": results.now(),
            "command": results.command_line(),
        }
        _check_memory(p, spec)
        with machine_failures(out / sc.name, lambda: "nothing was written"):
            partial = checkpoint.create(out / sc.name, spec["run_id"], spec)
        what = f"running {sc.name}: {n} replicates"
    n = int(spec["replicates"])
    finish = f"finish with: sim run --resume {partial}"
    kept = functools.partial(_kept, partial, spec, resume)
    try:
        if progress is not None:
            progress.start(what, n)
        with machine_failures(partial.parent, kept):
            traj, summary = checkpoint.simulate(
                partial, p, spec, progress.advance if progress is not None else None
            )
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
        with machine_failures(partial.parent, kept):
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


def _run_posterior(req: RunRequest, progress: Progress | None) -> RunOutcome:
    """A run over a posterior: every draw's block of replicates, written as one ensemble."""
    assert req.scenario is not None and req.posterior is not None  # checked by req.check()
    t0 = time.perf_counter()
    results.check_out(req.out)
    path, sets = req.scenario, list(req.sets)
    sc = load(path, sets)
    p = build(sc)
    post = posteriors.load(req.posterior).thin(req.draws)
    per = req.replicates if req.replicates is not None else posteriors.REPLICATES_PER_DRAW
    seed = sc.seed if req.seed is None else req.seed
    n = len(post.draws) * per
    need = memory.run_bytes(p, n, keep=True, chunk=batch.CHUNK) + memory.posterior_bytes(p, n, 3)
    memory.check(need, "replicates", f"keeping every path of {len(post.draws)} posterior draws x "
                 f"{per:,} replicates over {p.rounds + 1:,} round boundaries",
                 "fewer fit, or fewer", others=("draws",))
    if progress is not None:
        progress.start(f"running {sc.name} over {len(post.draws)} posterior draws x {per} "
                       "replicates", n)
    traj, _ = posteriors.ensemble(post, sc, path, per, seed)
    if progress is not None:
        progress.advance(n)
    summary = engine.exact_summary(traj, p)
    final = outcomes.final_table(summary, p)
    spec: dict[str, object] = {
        "run_id": results.new_run_id(), "scenario": sc.name, "scenario_file": str(path),
        "scenario_file_sha256": file_digest(path),
        "resolved_scenario_sha256": scenario_digest(sc), "overrides": sets, "replicates": n,
        "seed": seed, "engine": str(Engine.ENSEMBLE), "chunk": n, "started": results.now(),
        "command": results.command_line(),
        "covers": posteriors.COVERS,
        "posterior": {"folder": str(post.folder), "draws_used": len(post.draws),
                      "replicates_per_draw": per, "quantities": post.model_quantities,
                      "training_years": post.manifest.get("training_years"),
                      "replicate_index": "draw x replicates_per_draw + replicate"},
    }
    with machine_failures(req.out / sc.name, lambda: "nothing was written"):
        folder = _write(req.out / sc.name / str(spec["run_id"]), sc, p, spec, traj, summary,
                        final, t0=t0, write_report=req.write_report)
    return RunOutcome(folder, final, time.perf_counter() - t0)


def _check_memory(p: Params, spec: dict[str, Any]) -> None:
    """Refuse a run whose kept output cannot fit in memory (:mod:`sim.memory`), naming what to
    change: the replicates when every path is kept, the rounds when only summaries are."""
    n, keep, path = int(spec["replicates"]), bool(spec["trajectories"]), Engine(spec["engine"])
    need = memory.run_bytes(p, n, keep=keep, chunk=int(spec["chunk"]))
    if not keep:
        memory.check(need, "rounds", f"summaries over {p.rounds + 1:,} round boundaries",
                     "fewer rounds fit")
    elif path is Engine.ENSEMBLE:
        memory.check(need, "replicates", f"keeping every path of {n:,} replicates over "
                     f"{p.rounds + 1:,} round boundaries", "fewer fit, or summaries only:",
                     others=("trajectories",))
    else:
        memory.check(need, "replicates", f"the {path} engine keeping every path of {n:,} "
                     f"replicates over {p.rounds + 1:,} round boundaries", "fewer fit")


def _kept(partial: Path, spec: dict[str, Any], resume: Path | None) -> str:
    """What a run the machine stopped part way keeps: its saved replicates and how to finish,
    or (a new run with none saved) nothing, its partial folder removed."""
    n = int(spec["replicates"])
    try:
        saved = checkpoint.saved_replicates(partial, spec)
    except (OSError, ValueError):
        saved = 0
    if saved == 0 and resume is None:
        shutil.rmtree(partial, ignore_errors=True)
        return "nothing was kept"
    return (f"{saved:,} of {n:,} replicates are saved in {partial}; once that is fixed, "
            f"finish with: sim run --resume {partial}")


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
            "covers": spec.get("covers", "noise only"),
            "posterior": spec.get("posterior"),
            "versions": results.versions(),
            "started": spec["started"],
            "finished": results.now(),
            "seconds": round(time.perf_counter() - t0, 3),
        }
        results.write_json(tmp / "manifest.json", manifest)
        if write_report:
            report.write_report(tmp, label=folder.name)
    return folder
