"""Running a scenario. ``sim.run(scenario, ...)`` (:func:`sim.api.run`) simulates it in memory
and writes nothing (its result's ``save(folder)`` writes the folder); the command ``sim run``
also writes a results folder (:func:`run_scenario`). :func:`simulate` is the in-memory run."""

from __future__ import annotations

import dataclasses
import functools
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.calibration import posterior as posteriors
from sim.core.errors import SettingError, SimError, machine_failures
from sim.model import engine, engines, memory
from sim.model.engines import Engine, Progress, check_counts
from sim.model.params import Params, build
from sim.outputs import figures, outcomes, report, results, terminal
from sim.runs import batch, checkpoint
from sim.scenario.facts import load_registry
from sim.scenario.schema import (
    Scenario,
    file_digest,
    load,
    locate,
    parameters,
    registry_folder,
    to_yaml,
)
from sim.scenario.schema import digest as scenario_digest


@dataclass(frozen=True)
class RunRequest:
    """What a run asks for: a scenario and its settings, or an interrupted run to finish.

    Attributes:
        scenario: the scenario file (none when resuming).
        replicates, seed, rounds: default to the scenario's own (its calendar for rounds).
        sets: ``path=value`` overrides of scenario fields.
        out: folder under which ``<scenario>/<run-id>/`` is made.
        engine: which path simulates the replicates (:mod:`sim.model.engines`).
        trajectories: keep every replicate's path (default: see
            :func:`sim.model.engines.keeps_trajectories`).
        resume: an interrupted run's folder, finished with its own saved settings (then every
            other setting must be left at its default).
        write_report: write ``report.html`` into the folder.
        plots: draw the figures (``plots/``).
        formats: the figures' file formats: ``png``, and ``svg`` on request.
        workers: processes drawing the figures at once (default: every core).
        posterior: a calibration's posterior folder: each of ``draws`` draws runs a block of
            ``replicates`` replicates (default
            :data:`sim.calibration.posterior.REPLICATES_PER_DRAW`), so
            every interval covers noise and parameters.
        draws: posterior draws used (spread evenly over the posterior).
        facts: the facts registry folder (default: the one the scenario finds,
            :func:`sim.scenario.schema.registry_folder`).
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
    plots: bool = True
    formats: tuple[str, ...] = ("png",)
    workers: int | None = None
    posterior: Path | None = None
    draws: int = posteriors.DRAWS
    facts: Path | None = None

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
                ("facts", self.facts, None),
            ) if value != default)
            if given:
                raise SettingError("resume", "the run's settings are saved with it; expected no",
                                   others=given)
            return
        if self.scenario is None:
            raise SettingError("scenario", "expected a scenario file, or a run to resume")
        check_counts(self.replicates, self.seed, self.rounds)
        figures.check_formats(self.formats)
        if self.workers is not None and self.workers < 1:
            raise SettingError("workers", f"expected at least 1, found {self.workers}")
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
    """Where a run wrote its results, and its final-alignment table.

    Attributes:
        folder: the results folder.
        final: :func:`sim.outputs.outcomes.final_table`.
        seconds: wall time of the whole run.
        names: the scenario's names of its powers and states.
        end: the date of the last round.
        interval: what the ranges over replicates cover.
    """

    folder: Path
    final: pd.DataFrame
    seconds: float
    names: terminal.Names
    end: date
    interval: outcomes.Interval

    def summary(self, width: int | None = None) -> str:
        """What the command line prints: the final alignment and where the results are."""
        table = terminal.final_alignment(self.final, when=self.end, iv=self.interval,
                                         names=self.names, width=width)
        return (f"{table}\n"
                f"results: {self.folder}  ({self.seconds:.2f} s)\n"
                f"report: {self.folder / 'report.html'}")


def run_scenario(req: RunRequest, progress: Progress | None = None) -> RunOutcome:
    """Validate, simulate and write ``out/<scenario>/<run-id>/``; see the README for files.

    Finished replicates are kept in ``out/<scenario>/.partial-<run-id>/`` while the run goes
    (:mod:`sim.runs.checkpoint`); ``req.resume`` names such a folder to finish an interrupted run
    with its own saved settings, and gives the same results an uninterrupted run would have.

    Raises:
        SimError: bad settings or scenario, or a resumed scenario that changed.
        KeyboardInterrupt: on Ctrl-C, with a one-line message saying what was kept and how to
            finish the run.
    """
    req.check()
    if req.resume is not None:
        results.check_out(req.resume, "resume")
    else:
        results.check_out(req.out)
    with figures.Drawing(req.workers, req.formats) as drawing:
        if req.plots:
            drawing.start()  # the helpers get ready while the replicates are simulated
        if req.posterior is not None:
            return _run_posterior(req, drawing, progress)
        return _run(req, drawing, progress)


def _run_posterior(req: RunRequest, drawing: figures.Drawing,
                   progress: Progress | None) -> RunOutcome:
    """A run over a posterior: every draw's block of replicates, written as one ensemble."""
    sim = _simulate_posterior(req, progress)
    sc, p, spec = sim.scenario, sim.params, sim.spec
    with machine_failures(req.out / sc.name, lambda: "nothing was written"):
        folder = sim.save(req.out / sc.name / str(spec["run_id"]), plots=req.plots,
                          drawing=drawing, write_report=req.write_report, progress=progress)
    return RunOutcome(folder, sim.final, time.perf_counter() - sim.clock, names_of(sc),
                      outcomes.end_date(sc.time.end, p.dates), outcomes.interval(parameters=True))


def _simulate_posterior(req: RunRequest, progress: Progress | None) -> Simulation:
    """Every posterior draw's block of replicates of a scenario, as one ensemble, in memory."""
    assert req.scenario is not None and req.posterior is not None  # checked by req.check()
    t0 = time.perf_counter()
    path = locate(req.scenario)
    registry = req.facts if req.facts is not None else registry_folder(path)
    sc = load(path, req.sets, load_registry(registry))
    p = build(sc)
    post = posteriors.load(req.posterior).thin(req.draws)
    per = req.replicates if req.replicates is not None else posteriors.REPLICATES_PER_DRAW
    seed = sc.seed if req.seed is None else req.seed
    n = len(post.draws) * per
    keep = engines.keeps_trajectories(Engine.ENSEMBLE, n, req.trajectories)
    # summaries only: the draws run in slices of about a chunk of replicates, each slice
    # folded into the summaries and dropped, so memory holds one slice
    step = len(post.draws) if keep else max(1, engines.CHUNK[Engine.ENSEMBLE] // per)
    held = min(n, step * per)
    need = (memory.run_bytes(p, n if keep else held, keep=keep, chunk=batch.CHUNK)
            + memory.posterior_bytes(p, held, 3))
    if keep:
        memory.check(need, "replicates", f"keeping every path of {len(post.draws)} posterior "
                     f"draws x {per:,} replicates over {p.rounds + 1:,} round boundaries",
                     "fewer fit, or summaries only:", others=("trajectories",))
    else:
        memory.check(need, "replicates", f"summaries of {len(post.draws)} posterior draws x "
                     f"{per:,} replicates over {p.rounds + 1:,} round boundaries, run "
                     f"{held:,} at a time", "fewer fit, or fewer", others=("draws",))
    if progress is not None:
        progress.start(f"running {sc.name} over {len(post.draws)} posterior draws x {per} "
                       "replicates" + ("" if keep else " (summaries only)"), n)
    traj = None
    stream = engine.StreamingSummary(p)
    for first in range(0, len(post.draws), step):
        part = dataclasses.replace(post, draws=post.draws.iloc[first:first + step])
        got, _ = posteriors.ensemble(part, sc, path, per, seed, first=first)
        if keep:
            traj = got
        else:
            stream.add(got)
        if progress is not None:
            progress.advance(len(part.draws) * per)
    summary = engine.exact_summary(traj, p) if traj is not None else stream.result()
    spec = {
        **new_spec(sc, req, path, registry), "replicates": n, "seed": seed,
        "engine": str(Engine.ENSEMBLE), "trajectories": keep, "chunk": held,
        "posterior": {"folder": str(post.folder), "draws_used": len(post.draws),
                      "replicates_per_draw": per, "quantities": post.model_quantities,
                      "training_years": post.manifest.get("training_years"),
                      "replicate_index": "draw x replicates_per_draw + replicate"},
    }
    return Simulation(sc, p, spec, traj, summary, outcomes.final_table(summary, p), t0)


def new_spec(sc: Scenario, req: RunRequest, path: Path, registry: Path) -> dict[str, Any]:
    """What a new run of ``sc`` (from the file ``path``, with the facts ``registry``) records
    before it starts (saved with an interrupted run)."""
    n = sc.replicates if req.replicates is None else req.replicates
    return {
        "run_id": results.new_run_id(),
        "scenario": sc.name,
        "scenario_file": str(path),
        "scenario_file_sha256": file_digest(path),
        "facts_registry": str(registry),
        "resolved_scenario_sha256": scenario_digest(sc),
        "overrides": list(req.sets),
        "replicates": n,
        "seed": sc.seed if req.seed is None else req.seed,
        "rounds_asked": req.rounds,
        "engine": str(req.engine),
        "trajectories": engines.keeps_trajectories(req.engine, n, req.trajectories),
        "chunk": engines.CHUNK[req.engine],
        "started": results.now(),
        "command": results.command_line(),
    }


def _engine_ready(p: Params, spec: dict[str, Any], saved: int) -> None:
    """Load the engine's path for the replicates still to run before the run's folder is
    made, so that the folder's existence means the simulation is under way."""
    if spec["engine"] == Engine.ENSEMBLE:
        engine.expect(p, (int(spec["replicates"]) - saved) * p.rounds)


def simulate(req: RunRequest, progress: Progress | None = None) -> Simulation:
    """Validate and simulate a scenario in memory (nothing is written; see
    :meth:`Simulation.save`). The numbers are those :func:`run_scenario` writes.

    Raises:
        SimError: bad settings or scenario.
    """
    req.check()
    if req.resume is not None:
        raise SettingError("resume", "an interrupted run is finished by run_scenario, which "
                                     "writes its folder; expected none here")
    if req.posterior is not None:
        return _simulate_posterior(req, progress)
    t0 = time.perf_counter()
    sc, p, spec = _prepare(req)
    n, seed, keep = int(spec["replicates"]), int(spec["seed"]), bool(spec["trajectories"])
    if progress is not None:
        progress.start(f"running {sc.name}: {n} replicates", n)
    parts: list[engine.Trajectories] = []
    stream = engine.StreamingSummary(p)
    for reps in engine.chunks(n, int(spec["chunk"])):
        traj = engines.simulate(req.engine, p, reps, seed)
        if keep:
            parts.append(traj)
        else:
            stream.add(traj)
        if progress is not None:
            progress.advance(len(reps))
    full = _join(parts) if keep else None
    summary = engine.exact_summary(full, p) if full is not None else stream.result()
    return Simulation(sc, p, spec, full, summary, outcomes.final_table(summary, p), t0)


def _prepare(req: RunRequest) -> tuple[Scenario, Params, dict[str, Any]]:
    """A new run's scenario (with its facts registry), its arrays and what it records
    (:func:`new_spec`), refused before it starts if its output cannot fit in memory."""
    assert req.scenario is not None  # checked by req.check()
    path = locate(req.scenario)
    folder = req.facts if req.facts is not None else registry_folder(path)
    sc = load(path, req.sets, load_registry(folder))
    p = build(sc, req.rounds)
    spec = new_spec(sc, req, path, folder)
    _check_memory(p, spec)
    return sc, p, spec


def _join(parts: Sequence[engine.Trajectories]) -> engine.Trajectories:
    """Chunks of replicates' trajectories as one, in order."""
    if len(parts) == 1:
        return parts[0]
    keys = ("replicates", "alignment", "debt", "delivered")
    return engine.Trajectories(*(np.concatenate([getattr(t, k) for t in parts]) for k in keys))


def _run(req: RunRequest, drawing: figures.Drawing, progress: Progress | None) -> RunOutcome:
    resume, out = req.resume, req.out
    t0 = time.perf_counter()
    if resume is not None:
        spec = checkpoint.read_spec(resume)
        total, saved = int(spec["replicates"]), checkpoint.saved_replicates(resume, spec)
        partial = resume
        path, sets = Path(spec["scenario_file"]), spec["overrides"]
        registry = spec.get("facts_registry")
        sc = load(path, sets, load_registry(Path(registry)) if registry else None)
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
        _engine_ready(p, spec, saved)
    else:
        sc, p, spec = _prepare(req)
        _engine_ready(p, spec, 0)
        with machine_failures(out / sc.name, lambda: "nothing was written"):
            partial = checkpoint.create(out / sc.name, spec["run_id"], spec)
        what = f"running {sc.name}: {spec['replicates']} replicates"
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
    sim = Simulation(sc, p, spec, traj, summary, outcomes.final_table(summary, p), t0)
    try:
        with machine_failures(partial.parent, kept):
            folder = sim.save(partial.parent / spec["run_id"], plots=req.plots,
                              drawing=drawing, write_report=req.write_report, progress=progress)
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
    return RunOutcome(folder, sim.final, time.perf_counter() - t0, names_of(sc),
                      outcomes.end_date(sc.time.end, p.dates), outcomes.interval())


def names_of(sc: Scenario) -> terminal.Names:
    """The display names of a scenario's powers and states."""
    return terminal.Names({c: pw.name for c, pw in sc.powers.items()},
                          {c: st.name for c, st in sc.states.items()})


@dataclass(frozen=True)
class Simulation:
    """A scenario's replicates, simulated, in memory; :meth:`save` writes its results folder.

    Attributes:
        scenario: the resolved scenario.
        params: its arrays.
        spec: what the run asked for (:func:`new_spec`).
        trajectories: every replicate's path, if kept.
        summary: the ensemble's statistics per round.
        final: :func:`sim.outputs.outcomes.final_table`.
        clock: ``time.perf_counter()`` when the run began (for the manifest's seconds).
    """

    scenario: Scenario
    params: Params
    spec: dict[str, Any]
    trajectories: engine.Trajectories | None
    summary: engine.Summary
    final: pd.DataFrame
    clock: float

    def save(
        self,
        folder: Path,
        *,
        plots: bool = True,
        formats: Sequence[str] = ("png",),
        write_report: bool = True,
        drawing: figures.Drawing | None = None,
        progress: Progress | None = None,
    ) -> Path:
        """Write the results folder atomically (it must not exist yet); returns it.

        ``drawing`` draws the figures (default: this process and a helper per further core,
        in ``formats``); ``progress`` is told what is being written.
        """
        if drawing is None:
            with figures.Drawing(formats=formats) as own:
                return self.save(folder, plots=plots, write_report=write_report, drawing=own,
                                 progress=progress)
        return _write(folder, self, plots=plots, drawing=drawing, write_report=write_report,
                      progress=progress)


def _say(progress: Progress | None, what: str, total: int = 0) -> None:
    if progress is not None:
        progress.start(what, total)


def _check_memory(p: Params, spec: dict[str, Any]) -> None:
    """Refuse a run whose kept output cannot fit in memory (:mod:`sim.model.memory`), naming what to
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
    sim: Simulation,
    *,
    plots: bool,
    drawing: figures.Drawing,
    write_report: bool,
    progress: Progress | None,
) -> Path:
    """Write the results folder atomically; returns it."""
    sc, p, traj, summary = sim.scenario, sim.params, sim.trajectories, sim.summary
    iv = outcomes.interval(parameters=sim.spec.get("posterior") is not None)
    with results.atomic_folder(folder) as tmp, drawing.stopped_on_error():
        jobs = figures.run_jobs(summary, p, sc, traj) if plots else []
        drawing.begin(jobs, tmp / "plots")  # helpers draw while this process writes the tables
        _say(progress, "writing the tables" + (" and every replicate's path (alignment.parquet)"
                                               if traj is not None else ""))
        files = _write_tables(tmp, sim)
        (tmp / "scenario.yaml").write_text(to_yaml(sc), encoding="utf-8")
        if plots:
            how = (f" on {drawing.workers} processes" if drawing.workers > 1 else "")
            _say(progress, f"drawing {len(jobs)} figures "
                           f"({' and '.join(f.upper() for f in drawing.formats)}){how}",
                 len(jobs))
            drawing.finish(done=(lambda _: progress.advance(1)) if progress is not None else None)
        manifest = _manifest(sim, iv, files, list(drawing.formats) if plots else [])
        results.write_json(tmp / "manifest.json", manifest)
        if write_report:
            _say(progress, "writing report.html")
            report.write_report(tmp, label=folder.name)
    return folder


def _write_tables(tmp: Path, sim: Simulation) -> dict[str, int]:
    """Write every replicate's path (if kept), the summaries by round and at the end, the region
    and hedging tables; return each file's rows."""
    sc, p, traj, summary = sim.scenario, sim.params, sim.trajectories, sim.summary
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
        ("summary.csv", sim.final),
        ("region.csv", outcomes.region_table(summary, p)),
    ):
        results.write_share_csv(df, tmp / name)
        files[name] = len(df)
    hedging = outcomes.hedging_table(summary, p)  # an index from 0 to 1, not a share
    hedging.to_csv(tmp / "hedging.csv", index=False, float_format="%.6g")
    files["hedging.csv"] = len(hedging)
    return files


def _manifest(
    sim: Simulation, iv: outcomes.Interval, files: dict[str, int], formats: list[str]
) -> dict[str, Any]:
    """The run's ``manifest.json``: the scenario, the settings, the headline, the files' rows
    and the figures' ``formats``."""
    sc, p, spec, traj, summary = (sim.scenario, sim.params, sim.spec, sim.trajectories,
                                  sim.summary)
    return {
        "kind": "run",
        "scenario": sc.name,
        "title": sc.title,
        "question": sc.question,
        "scenario_file": str(Path(str(spec["scenario_file"]))),
        "scenario_file_sha256": spec["scenario_file_sha256"],
        "facts_registry": spec.get("facts_registry"),
        "resolved_scenario_sha256": scenario_digest(sc),
        "overrides": list(spec["overrides"]),
        "seed": spec["seed"],
        "replicates": spec["replicates"],
        "rounds": p.rounds,
        "dates": [d.isoformat() for d in p.dates],
        "engine": spec["engine"],
        "trajectories_kept": traj is not None,
        "quantile_method": summary.method,
        "states": p.states,
        "powers": p.powers,
        "interval": iv.to_json(),
        "run_headline": outcomes.run_headline(summary, p, sc.blocs, traj),
        "parameters": parameters(sc),
        "derived": {
            "anchor": p.anchor.round(10).tolist(),
            "peers": p.peers.round(10).tolist(),
            "instruments": p.instruments,
        },
        "rows": files,
        "figure_formats": formats,
        "chunk": spec["chunk"],
        "command": spec["command"],
        "resumed": spec.get("resumed", []),
        "covers": iv.covers,
        "posterior": spec.get("posterior"),
        "versions": results.versions(),
        "started": spec["started"],
        "finished": results.now(),
        "seconds": round(time.perf_counter() - sim.clock, 3),
    }
