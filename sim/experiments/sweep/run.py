"""``sim sweep``: define, run (or resume), store and analyse a parameter sweep.

Everything is checked before the sweep's folder exists: the sweep definition, the scenario,
every parameter path and bound, every outcome. The folder is then created in one rename with
the definition, the materialised base scenario and the whole design; outcomes are appended as
points finish (see :mod:`sim.experiments.sweep.store`); the analysis runs once every point is done.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.core import shipped
from sim.core.errors import ScenarioError, SettingError, SimError, machine_failures
from sim.core.yamlio import dump_yaml, read_yaml
from sim.experiments.sweep import analyse, design, plots, spec
from sim.experiments.sweep.spec import BoundParameter, SweepFile
from sim.experiments.sweep.store import (
    SOURCES,
    SweepStore,
    json_bytes,
    parquet_bytes,
    sources_bytes,
)
from sim.model.params import build
from sim.outputs import outcomes, results
from sim.outputs.report import write_report
from sim.runs.batch import cited, materialise, overlap
from sim.runs.execute import (
    DrawColumn,
    Execution,
    PosteriorDraws,
    ScenarioTask,
    check_executor,
    execute,
)
from sim.scenario.facts import Registry, load_registry
from sim.scenario.schema import (
    Scenario,
    digest,
    file_digest,
    load,
    locate,
    registry_folder,
    validate,
    values,
)

SWEEP_LIBRARIES = ("SALib", "dask", "distributed", "ema_workbench", "scipy")
#: Posterior draws each point of a sweep runs over by default (each a block of its replicates).
DRAWS = 20
#: The file in a sweep folder that keeps the posterior draws it runs over.
POSTERIOR = "posterior.json"
Progress = Callable[[int, int], None]


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep: the finished points are on disk and the sweep can be resumed."""

    def __init__(self, folder: Path, done: int, total: int) -> None:
        what = ("every point is saved, the analysis is not finished" if done == total
                else f"{done} of {total} points are saved")
        super().__init__(f"interrupted: {what}; finish with sim sweep --resume {folder}")


@dataclass(frozen=True)
class SweepRequest:
    """What the command line asks for (``None``: the sweep file's or the default value)."""

    source: Path | None = None
    resume: Path | None = None
    params: Sequence[str] = ()
    method: str | None = None
    samples: int | None = None
    replicates: int | None = None
    seed: int | None = None
    common_random_numbers: bool | None = None
    report: Sequence[str] = ()
    discover: str | None = None
    sets: Sequence[str] = ()
    workers: int | None = None
    scheduler: str | None = None
    out: Path = Path("results")
    facts: Path | None = None
    counterfactual: Path | None = None
    posterior: Path | None = None
    draws: int = DRAWS

    def check(self) -> None:
        """Refuse settings that cannot run, before anything is written or simulated: bad
        ``workers`` or ``scheduler`` (an address where nothing listens, too), or an ``out``
        (or ``resume``) folder that cannot take results.

        Raises:
            SettingError: naming the setting.
            MachineError: the folder is read-only.
        """
        check_executor(self.workers, self.scheduler)
        if self.draws < 1:
            raise SettingError("draws", f"expected at least 1, found {self.draws}")
        if self.resume is None:
            results.check_out(self.out)
        elif self.resume.is_dir():  # a missing folder is reported when it is opened
            results.check_out(self.resume, "resume")



@dataclass(frozen=True)
class Sweep:
    """A sweep bound to its scenario: everything needed to run and analyse it."""

    spec: SweepFile
    scenario: Scenario
    base_raw: dict[str, Any]
    params: tuple[BoundParameter, ...]
    measures: tuple[outcomes.Measure, ...]
    method: str
    samples: int
    replicates: int
    seed: int
    report: tuple[str, ...]
    where: str
    sources: Registry
    counterfactual: Scenario | None = None
    counterfactual_raw: dict[str, Any] | None = None
    posterior: PosteriorDraws | None = None

    @property
    def problem(self) -> dict[str, object]:
        return design.problem(self.params)


@dataclass(frozen=True)
class SweepOutcome:
    """What a sweep call did: where, how many points, how fast, and the analysis text."""

    folder: Path
    points: int
    ran: int
    seconds: float
    execution: Execution | None
    report: str
    files: list[str] = field(default_factory=list)
    note: str | None = None  # why the points were built one by one, if they were

    def summary(self) -> str:
        """The lines ``sim sweep`` prints."""
        rate = f" ({self.ran / self.seconds:.1f} points/s)" if self.ran and self.seconds > 0 else ""
        how = f" on {self.execution.executor}" if self.execution and self.ran else ""
        note = f"note: {self.note}\n" if self.note and self.ran else ""
        return (
            f"{self.report}\n"
            f"{note}"
            f"ran {self.ran} of {self.points} points in {self.seconds:.1f} s{rate}{how}\n"
            f"results: {self.folder}\n"
            f"report: {self.folder / 'report.html'}"
        )


# --------------------------------------------------------------------------- definition


def _focus(scenario_path: Path, sc: Scenario) -> list[str]:
    """Powers the scenario file itself defines or changes (all, if it names none)."""
    raw = read_yaml(scenario_path)
    own = raw.get("powers") if isinstance(raw, dict) else None
    named = [p for p in (own or {}) if p in sc.powers]
    return named or list(sc.powers)


def bind(
    sw: spec.SweepFile,
    sc: Scenario,
    where: Path | str,
    *,
    cli: bool,
    defaults: bool,
    registry: Registry,
    focus: list[str] | None = None,
    counterfactual: Scenario | None = None,
    counterfactual_registry: Registry | None = None,
) -> Sweep:
    """Check a sweep definition against its scenario (and its counterfactual) and resolve it.

    ``registry`` is the scenario's facts registry (``counterfactual_registry`` the
    counterfactual's, by default the same), which a parameter naming a registry entry needs
    (a stored sweep names paths instead). The sweep keeps the scenarios with every value a
    number and, of the registries, only the facts their events cite (:func:`sim.runs.batch.cited`):
    what its folder stores to be resumed.

    Raises:
        ScenarioError: a bad path, bound, outcome or name, located in the sweep file, or a
            counterfactual that cannot be paired with the scenario.
    """
    base_raw = materialise(sc)
    sources = cited(sc, registry)
    if counterfactual is not None:
        extra = cited(counterfactual, counterfactual_registry or registry)
        sources = Registry(folder=sources.folder, entries={**extra.entries, **sources.entries},
                           files={**extra.files, **sources.files})
    mat = _materialised(base_raw, sources, sc)
    params = tuple(
        spec.bind_parameter(name, p, base_raw, mat, where, cli=cli, source=sc, registry=registry,
                            sources=sources)
        for name, p in sw.parameters.items()
    )
    cf_raw = None
    if counterfactual is not None:
        cf_raw = _paired_counterfactual(counterfactual, sources, mat, where, cli)
    clash = overlap({p.name: p.paths for p in params})
    if clash is not None:
        _, second, message = clash
        field = ("--param", second) if cli else (str(where), f"parameters.{second}.path")
        raise ScenarioError(*field, message)
    p0 = build(mat)
    effects = counterfactual is not None
    wanted = _wanted(sw, p0.states, p0.powers, effects, defaults, where)
    measures = tuple(outcomes.resolve(wanted, p0, where, end=mat.time.end))
    spec.check_names(sw, [m.name for m in measures], where)
    method = sw.method_or_default
    kind = "effect" if effects else "region"
    report = tuple(
        sw.report or [f"{p}_{kind}" for p in (focus or p0.powers) if f"{p}_{kind}" in wanted]
    )
    return Sweep(
        spec=sw,
        scenario=mat,
        base_raw=base_raw,
        params=params,
        measures=measures,
        method=method,
        samples=sw.samples or design.DEFAULT_SAMPLES[method],
        replicates=sw.replicates or sc.replicates,
        seed=sw.seed if sw.seed is not None else sc.seed,
        report=report or (measures[0].name,),
        where=str(where),
        sources=sources,
        counterfactual=counterfactual,
        counterfactual_raw=cf_raw,
    )


def _materialised(base_raw: dict[str, Any], sources: Registry, sc: Scenario) -> Scenario:
    """The sweep's copy of the scenario, every value a number, validated again (and checked
    to hold the scenario's values)."""
    try:
        mat = validate(base_raw, sources, "the sweep's copy of the scenario")
    except ScenarioError as err:  # the scenario itself validated: a bug, not the input
        raise AssertionError(f"materialised scenario does not validate: {err}") from None
    if [v.value for _, v in values(mat)] != [v.value for _, v in values(sc)]:
        raise AssertionError("materialised scenario differs from the scenario")
    return mat


def _paired_counterfactual(
    counterfactual: Scenario, sources: Registry, mat: Scenario, where: Path | str, cli: bool
) -> dict[str, Any]:
    """The sweep's copy of the counterfactual, once it is checked to have the scenario's
    states, powers and calendar (to be paired with it replicate by replicate)."""
    cf_raw = materialise(counterfactual)
    cf = build(validate(cf_raw, sources, "the sweep's copy of the counterfactual"))
    p_sc = build(mat)
    if (cf.states, cf.powers, cf.dates) != (p_sc.states, p_sc.powers, p_sc.dates):
        named = "--counterfactual" if cli else "counterfactual"
        raise ScenarioError(where, named, f"'{counterfactual.name}' must have the states, "
                            "powers (in the same order) and calendar of the scenario, to "
                            "be paired with it replicate by replicate")
    return cf_raw


def _wanted(
    sw: spec.SweepFile, states: list[str], powers: list[str], effects: bool,
    defaults: bool, where: Path | str,
) -> dict[str, spec.Outcome]:
    """The outcomes a sweep measures: the default ones (if ``defaults``) and the sweep file's,
    which may not reuse a default's name for another outcome."""
    wanted = dict(outcomes.default_outcomes(states, powers, effects)) if defaults else {}
    for name, o in sw.outcomes.items():
        if name in wanted and wanted[name] != o:
            raise ScenarioError(
                where, f"outcomes.{name}", "is a default outcome's name; choose another"
            )
        wanted[name] = o
    return wanted


def resolved_spec(s: Sweep) -> dict[str, Any]:
    """The sweep as a sweep file with every field explicit (stored as ``sweep.yaml``)."""
    raw = s.spec.model_dump(mode="json", exclude_none=True)
    raw.update(
        scenario="scenario.yaml",
        method=s.method,
        samples=s.samples,
        replicates=s.replicates,
        seed=s.seed,
        report=list(s.report),
    )
    if s.counterfactual is not None:
        raw["counterfactual"] = "counterfactual.yaml"
    for p in s.params:  # a registry entry is stored as the fields it sets, with their factors
        if p.ref is not None:
            entry = raw["parameters"][p.name]
            entry.pop("ref", None)
            entry["path"] = p.path_spec()
    raw["outcomes"] = {}
    wanted = {
        **outcomes.default_outcomes(list(s.scenario.states), list(s.scenario.powers),
                                    s.counterfactual is not None),
        **s.spec.outcomes,
    }
    for m in s.measures:
        raw["outcomes"][m.name] = wanted[m.name].model_dump(mode="json", exclude_none=True)
    return raw


def _from_request(req: SweepRequest) -> tuple[Sweep, Path, Path | None]:
    if req.source is None:
        raise SimError("give a scenario or sweep file, or --resume FOLDER")
    source = shipped.locate(req.source)
    opts: dict[str, Any] = dict(
        method=req.method,
        samples=req.samples,
        replicates=req.replicates,
        seed=req.seed,
        common_random_numbers=req.common_random_numbers,
        report=req.report,
        discover=req.discover,
    )
    if not source.is_file():
        raise ScenarioError(source, "", "file not found")
    cf_path = None if req.counterfactual is None else locate(req.counterfactual)
    if spec.is_sweep_file(source):
        if req.params:
            raise SimError(f"--param: {source} is a sweep file; edit its 'parameters' instead")
        sw = spec.with_options(spec.read(source), source, **opts)
        scenario_path = _beside(source, sw.scenario, "scenario")
        if cf_path is None and sw.counterfactual is not None:
            cf_path = _beside(source, sw.counterfactual, "counterfactual")
        where: Path | str = source
    else:
        sw = spec.from_options(source, req.params, **opts)
        scenario_path, where = source, "--param"
    if cf_path is not None and sw.counterfactual is None:
        sw = sw.model_copy(update={"counterfactual": str(cf_path)})
    reg = load_registry(req.facts if req.facts is not None else registry_folder(scenario_path))
    sc = load(scenario_path, req.sets, reg)
    cf, cf_reg = None, None
    if cf_path is not None:
        cf_reg = load_registry(req.facts if req.facts is not None else registry_folder(cf_path))
        cf = load(cf_path, req.sets, cf_reg)
    sweep = bind(sw, sc, where, cli=where == "--param", defaults=True, registry=reg,
                 focus=_focus(scenario_path, sc), counterfactual=cf, counterfactual_registry=cf_reg)
    if req.posterior is not None:
        sweep = dataclasses.replace(sweep, posterior=posterior_draws(
            req.posterior, req.draws, sc, scenario_path, sweep.params, cf))
    return sweep, scenario_path, cf_path


def posterior_draws(folder: Path, draws: int, sc: Scenario, where: Path | str,
                    params: Sequence[BoundParameter], counterfactual: Scenario | None = None,
                    ) -> PosteriorDraws:
    """``draws`` draws of a posterior (spread evenly over it) and the fields of ``sc`` (and of
    the counterfactual) each calibrated quantity sets, but those a swept parameter sets.

    Raises:
        SimError: a posterior folder that is missing or bad, or made for another structure.
    """
    from sim.calibration import posterior as posteriors
    from sim.calibration.calibrate import columns_of

    post = posteriors.load(folder).thin(draws)
    posteriors.check_scenario(post, sc, where)
    swept = {path for p in params for path in p.paths}
    # every calibrated constant, and each carried one the scenario or its counterfactual uses
    # (as sim.calibration.posterior.ensemble sets them, so a point equals a run over the same draws)
    used = [*post.applied(sc), *(post.applied(counterfactual) if counterfactual else [])]
    names = tuple(dict.fromkeys(used))

    def columns(s: Scenario) -> tuple[DrawColumn, ...]:
        cols = ((names.index(c.quantity), c.scale, tuple(x for x in c.paths if x not in swept))
                for c in columns_of(s, names, every=False))
        return tuple(c for c in cols if c[2])

    return PosteriorDraws(post.values(list(names)), names, columns(sc),
                          columns(counterfactual) if counterfactual is not None else (),
                          str(post.folder))


def _posterior_record(sweep: Sweep) -> dict[str, Any]:
    """What a sweep's manifest says about the posterior it runs over, if any."""
    post = sweep.posterior
    if post is None:
        return {"covers": outcomes.interval().covers}
    set_by_draws = {post.quantities[q] for q, _, _ in post.columns}
    return {
        "covers": outcomes.interval(parameters=True).covers,
        "posterior": {
            "folder": post.folder,
            "file": POSTERIOR,
            "draws_used": len(post),
            "replicates_per_draw": sweep.replicates,
            "quantities": list(post.quantities),
            "set_by_the_sweep": sorted(set(post.quantities) - set_by_draws),
            "pooled": "each point's outcomes over all its draws' replicates",
            "seeds": "draw d of point i: "
                     "sim.calibration.posterior.draw_seeds(seed of point i, draws)[d]",
        },
    }


def _beside(sweep_file: Path, name: str, field: str) -> Path:
    """A file a sweep file names: beside it, else a shipped scenario of that name."""
    path = sweep_file.parent / name
    if path.is_file():
        return path
    found = shipped.locate(name)
    if found.is_file():
        return found
    raise ScenarioError(sweep_file, field, f"file not found: {path}")


# --------------------------------------------------------------------------- running


def run_sweep(req: SweepRequest, progress: Progress | None = None) -> SweepOutcome:
    """Start a sweep (or resume one), run its points, analyse it; see the module docstring."""
    req.check()
    if req.resume is not None:
        return _resume(req, progress)
    started = results.now()
    sweep, scenario_path, cf_path = _from_request(req)
    x = design.sample(
        sweep.method,
        sweep.params,
        sweep.samples,
        sweep.seed,
        morris_levels=sweep.spec.morris_levels,
    )
    seeds = design.point_seeds(sweep.seed, len(x), common=sweep.spec.common_random_numbers)
    cols: dict[str, Any] = {
        "point": pa.array(np.arange(len(x)), pa.int64()),
        "seed": pa.array(seeds, pa.uint64()),
    }
    for j, p in enumerate(sweep.params):
        cols[p.name] = pa.array(x[:, j], pa.float64())
    manifest = _manifest(req, sweep, scenario_path, cf_path, len(x), started)
    folder = req.out / sweep.scenario.name / "sweeps" / results.new_run_id()
    with machine_failures(folder.parent, lambda: "nothing was written"):
        store = SweepStore.create(
            folder,
            {
                "sweep.yaml": dump_yaml(resolved_spec(sweep)).encode("utf-8"),
                "scenario.yaml": dump_yaml(sweep.base_raw).encode("utf-8"),
                **({} if sweep.counterfactual_raw is None else {
                    "counterfactual.yaml": dump_yaml(sweep.counterfactual_raw).encode("utf-8")}),
                "design.parquet": parquet_bytes(pa.table(cols)),
                "manifest.json": json_bytes(manifest),
                **({SOURCES: sources_bytes(sweep.sources)} if sweep.sources.entries else {}),
                **({} if sweep.posterior is None else {
                    POSTERIOR: json.dumps(sweep.posterior.to_json(), indent=1).encode("utf-8")}),
            },
        )
    return _run(store, sweep, req, progress)


def _manifest(req: SweepRequest, sweep: Sweep, scenario_path: Path, cf_path: Path | None,
              points: int, started: str) -> dict[str, Any]:
    """A new sweep's ``manifest.json`` (status ``running``, no run yet): the scenario, the
    design, its seeds, the parameters and the outcomes."""
    return {
        "kind": "sweep",
        "status": "running",
        "scenario": sweep.scenario.name,
        "title": sweep.scenario.title,
        "question": sweep.spec.description or sweep.scenario.question,
        "scenario_file": str(scenario_path),
        "scenario_file_sha256": file_digest(scenario_path),
        "resolved_scenario_sha256": digest(sweep.scenario),
        **({} if sweep.counterfactual is None or cf_path is None else {
            "counterfactual": sweep.counterfactual.name,
            "counterfactual_file": str(cf_path),
            "counterfactual_file_sha256": file_digest(cf_path),
            "effects": "outcomes marked effect are the scenario minus the counterfactual, "
                       "paired: both run on the same seeds at every point, with the swept "
                       "values where the counterfactual has their paths",
        }),
        "overrides": list(req.sets),
        "sweep_file": str(req.source) if req.source and req.source != scenario_path else None,
        "method": sweep.method,
        "samples": sweep.samples,
        "points": points,
        "replicates": sweep.replicates,
        **_posterior_record(sweep),
        "seed": sweep.seed,
        "seeds": (
            "common random numbers: every point uses the sweep seed"
            if sweep.spec.common_random_numbers
            else "point i uses SeedSequence(seed, spawn_key=(crc32('sweep-point'), i))"
        ),
        "parameters": [
            {
                "name": p.name,
                "paths": list(p.paths),
                **({"factors": list(p.factors)} if any(f != 1.0 for f in p.factors) else {}),
                **({"ref": p.ref} if p.ref is not None else {}),
                "distribution": p.dist.model_dump(),
                "levels": p.levels,
                "baseline": list(p.baseline),
            }
            for p in sweep.params
        ],
        "outcomes": {m.name: m.label for m in sweep.measures},
        "report": list(sweep.report),
        "runs": [],
        "command": results.command_line(),
        "versions": {**results.versions(), **_versions()},
        "started": started,
    }


def _resume(req: SweepRequest, progress: Progress | None) -> SweepOutcome:
    given = [
        name
        for name, v in (
            ("--param", req.params),
            ("--method", req.method),
            ("--samples", req.samples),
            ("--replicates", req.replicates),
            ("--seed", req.seed),
            ("--common-random-numbers", req.common_random_numbers),
            ("--outcome", req.report),
            ("--discover", req.discover),
            ("--set", req.sets),
            ("--facts", req.facts),
            ("--counterfactual", req.counterfactual),
            ("--posterior", req.posterior),
            ("--draws", None if req.draws == DRAWS else req.draws),
        )
        if v not in (None, (), [])
    ]
    if req.source is not None:
        given.insert(0, "a scenario or sweep file")
    if given:
        raise SimError(
            f"{given[0]}: not with --resume; a sweep resumes as it was defined "
            "(only --workers and --scheduler apply)"
        )
    assert req.resume is not None
    store = SweepStore.open(req.resume)
    sw = spec.read(store.folder / "sweep.yaml")
    raw = read_yaml(store.folder / "scenario.yaml")
    sources = store.sources()
    sc = validate(raw, sources, store.folder / "scenario.yaml")
    cf = None
    if sw.counterfactual is not None:
        cf_file = store.folder / sw.counterfactual
        cf = validate(read_yaml(cf_file), sources, cf_file)
    sweep = bind(sw, sc, store.folder / "sweep.yaml", cli=False, defaults=False,
                 registry=sources, counterfactual=cf)
    if (store.folder / POSTERIOR).is_file():
        data = json.loads((store.folder / POSTERIOR).read_text(encoding="utf-8"))
        sweep = dataclasses.replace(sweep, posterior=PosteriorDraws.from_json(data))
    return _run(store, sweep, req, progress)


def _run(
    store: SweepStore, sweep: Sweep, req: SweepRequest, progress: Progress | None
) -> SweepOutcome:
    t0 = time.perf_counter()

    def kept() -> str:
        done, total = len(store.done_points()), len(store.read_design())
        return (f"{done} of {total} points are saved; once that is fixed, finish with: "
                f"sim sweep --resume {store.folder}")

    with machine_failures(store.folder, kept), store.lock():
        d = store.read_design()
        total = len(d)
        done = store.done_points()
        todo = np.setdiff1d(d["point"].to_numpy(), done)
        execution: Execution | None = None
        task: ScenarioTask | None = None
        if len(todo):
            execution, task = _run_points(store, sweep, req, d, todo, len(done), t0, progress)
        try:  # the last stage: every point is saved, and a resume redoes only this
            table = _table(store, d, sweep)
            report, files, order = analyse_sweep(store, sweep, table)
            manifest = store.read_manifest()
            manifest.update(
                status="complete",
                finished=results.now(),
                rows={"outcomes.parquet": len(table)},
                analysis=files,
                figure_order=order,
            )
            store.write_manifest(manifest)
            write_report(store.folder)
        except KeyboardInterrupt:
            raise Interrupted(store.folder, total, total) from None
    note = task.patch.structural if task is not None else None
    return SweepOutcome(
        store.folder, total, len(todo), time.perf_counter() - t0, execution, report, files, note
    )


def _run_points(
    store: SweepStore, sweep: Sweep, req: SweepRequest, d: pd.DataFrame, todo: np.ndarray,
    done: int, t0: float, progress: Progress | None,
) -> tuple[Execution, ScenarioTask]:
    """Run the points not yet saved (``todo``; ``done`` are), saving each chunk of outcomes as
    it finishes, with the run recorded in the manifest as it starts and ends.

    Raises:
        Interrupted: Ctrl-C, once the finished points are saved.
    """
    total = len(d)
    manifest = store.read_manifest()
    run_info: dict[str, Any] = {
        "started": results.now(),
        "points_before": done,
        "command": results.command_line(),
        "finished": None,
    }
    manifest["runs"].append(run_info)
    store.write_manifest(manifest)
    finished = done
    if progress:
        progress(finished, total)
    task = ScenarioTask(sweep.base_raw, sweep.params, sweep.measures, sweep.replicates,
                        sweep.where, sweep.counterfactual_raw, sweep.sources,
                        sweep.posterior)
    idx = todo.astype(np.int64)
    values_ = d.set_index("point").loc[idx, [p.name for p in sweep.params]].to_numpy(float)
    seeds = d.set_index("point").loc[idx, "seed"].to_numpy(np.uint64)

    def on_done(columns: dict[str, np.ndarray]) -> None:
        nonlocal finished
        store.write_chunk(columns)
        finished += len(columns["point"])
        if progress:
            progress(finished, total)

    try:
        execution = execute(
            task,
            idx,
            values_,
            seeds,
            workers=req.workers,
            scheduler=req.scheduler,
            on_done=on_done,
        )
    except KeyboardInterrupt:
        raise Interrupted(store.folder, len(store.done_points()), total) from None
    seconds = time.perf_counter() - t0
    run_info.update(
        finished=results.now(),
        points_run=len(todo),
        seconds=round(seconds, 3),
        points_per_second=round(len(todo) / seconds, 3),
        executor=execution.executor,
        slots=execution.slots,
        batched=task.patch.structural is None,
    )
    if task.patch.structural is not None:
        run_info["note"] = task.patch.structural
    store.write_manifest(manifest)
    return execution, task


def _table(store: SweepStore, d: pd.DataFrame, sweep: Sweep) -> pd.DataFrame:
    """The design joined with every point's outcomes, written as ``outcomes.parquet``."""
    if store.complete:
        return store.read_outcomes()
    out = store.read_outcomes()
    missing = np.setdiff1d(d["point"].to_numpy(), out["point"].to_numpy())
    if len(missing):
        raise SimError(f"{store.folder}: {len(missing)} points have no outcomes; resume the sweep")
    table = d.merge(out, on="point", how="left", validate="one_to_one").sort_values(
        "point", ignore_index=True
    )
    store.finish(table)
    return table


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for name in SWEEP_LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


# --------------------------------------------------------------------------- analysis


class _Written:
    """The files an analysis writes into a sweep's folder, and its figures in order with their
    captions."""

    def __init__(self, store: SweepStore) -> None:
        self.store = store
        self.files: list[str] = []
        self.order: list[dict[str, str]] = []

    def csv(self, name: str, df: pd.DataFrame) -> None:
        """Write a table."""
        self.store.write_file(name, df.to_csv(index=False, float_format="%.6g").encode("utf-8"))
        self.files.append(name)

    def figure(self, fig: Any, stem: str, caption: str) -> None:
        """Save a figure under ``plots/``, next in the report's order."""
        path = plots.save(fig, self.store.folder / "plots", stem)
        self.files.append(f"plots/{path.name}")
        self.order.append({"stem": stem, "caption": caption})


def analyse_sweep(
    store: SweepStore, sweep: Sweep, table: pd.DataFrame
) -> tuple[str, list[str], list[dict[str, str]]]:
    """Indices, discovery, plots and the report text of a complete sweep.

    Figures come in the order of the question: each reported outcome's (its indices, then its
    response to the parameters), in the order the sweep reports them, then scenario discovery;
    each is titled by what it answers. Returns the text, the files written and the figures in
    that order with their captions (``figure_order``, which the report follows).
    """
    t = table.sort_values("point")
    names = [p.name for p in sweep.params]
    x = t[names].to_numpy(float)
    ys = {m.name: t[m.name].to_numpy(float) for m in sweep.measures}
    by_name = {m.name: m for m in sweep.measures}
    seed = design.analysis_seed(sweep.seed)
    out = _Written(store)
    lines = [
        f"sweep of {sweep.scenario.name}: {sweep.method}, {len(names)} parameters, {len(t)} points "
        + (f"x {sweep.replicates} replicates" if sweep.posterior is None else
           f"x {len(sweep.posterior)} posterior draws x {sweep.replicates} replicates; intervals "
           f"cover {outcomes.interval(parameters=True).covers}")
        + (f"; outcomes marked effect are against {sweep.counterfactual.name}, paired"
           if sweep.counterfactual is not None else "")
    ]
    sens = None
    if sweep.method == "sobol":
        sens = analyse.sobol(sweep.problem, ys, seed, intervals=sweep.report)
        out.csv("sensitivity.csv", sens)
    elif sweep.method == "morris":
        sens = analyse.morris(sweep.problem, x, ys, seed, sweep.spec.morris_levels,
                              intervals=sweep.report)
        out.csv("sensitivity.csv", sens)
    for name in sweep.report:
        lines.append(_outcome(out, sweep, t, names, sens, by_name[name], ys[name]))
    if sweep.spec.discover is not None:
        lines.append(_discovery(out, sweep.spec.discover, t[names], ys, by_name))
    text = "\n\n".join(lines)
    store.write_file("report.txt", (text + "\n").encode("utf-8"))
    out.files.append("report.txt")
    return text, out.files, out.order


def _outcome(
    out: _Written, sweep: Sweep, t: pd.DataFrame, names: list[str], sens: pd.DataFrame | None,
    m: outcomes.Measure, y: np.ndarray,
) -> str:
    """A reported outcome's paragraph (its indices or range, and its response to the
    parameters), drawing its figures: the indices, then the response."""
    name, fmt, what = m.name, m.format, _question(m)
    if sweep.method == "sobol" and sens is not None:
        line = analyse.format_sobol(sens, name, m.label, y, fmt)
        if not sens[sens["outcome"] == name]["ST"].isna().all():
            out.figure(plots.sobol_bars(sens, name, f"Which inputs decide {what}?"),
                       f"sobol_{name}",
                       f"Which inputs decide {what}? First-order (S1) and total (ST) Sobol' "
                       f"indices of {name}, with 95% bootstrap intervals: ST is the share of "
                       "its variance over the design that the input accounts for, alone or "
                       "with others.")
    elif sweep.method == "morris" and sens is not None:
        line = analyse.format_morris(sens, name, m.label, y, fmt, m.format_change)
        out.figure(plots.morris_plot(sens, name, f"Which inputs matter for {what}?"),
                   f"morris_{name}",
                   f"Which inputs matter for {what}? Morris screening of {name}: mean absolute "
                   "elementary effect (mu*) against its spread (sigma).")
    else:
        line = analyse.format_range(name, m.label, y, fmt)
    if sweep.method == "grid" or len(names) == 1:
        response = analyse.format_response(t, names, name, fmt)
        if response:
            line += "\n" + response
    if len(names) == 1:
        band = m.stat in ("mean", "median")
        iv = outcomes.interval(parameters=sweep.posterior is not None).band
        out.figure(plots.response(t, names[0], name, f"How {what} responds to {names[0]}",
                                  band=band, band_label=iv, unit=m.unit),
                   f"response_{name}",
                   f"How {what} responds to {names[0]}: {m.label}"
                   + (f", with the {iv} of replicates." if band else "."))
    elif len(names) == 2:
        out.figure(plots.heatmap(t, names[0], names[1], name,
                                 f"How {what} responds to {names[0]} and {names[1]}",
                                 unit=m.unit),
                   f"heatmap_{name}",
                   f"How {what} responds to {names[0]} and {names[1]}: {m.label}.")
    return line


def _discovery(
    out: _Written, disc: spec.Discover, inputs: pd.DataFrame, ys: dict[str, np.ndarray],
    by_name: dict[str, outcomes.Measure],
) -> str:
    """Scenario discovery's paragraph: the box of the inputs PRIM finds where the outcome
    crosses its limit, with its tables and figures."""
    y = ys[disc.outcome]
    holds = y > disc.above if disc.above is not None else y < disc.below
    found = analyse.discover(inputs, holds, disc.describe(), disc.density)
    out.csv("prim_trajectory.csv", found.trajectory)
    out.csv("prim_box.csv", found.box)
    m = by_name[disc.outcome]
    limit = disc.above if disc.above is not None else disc.below
    shown = (f"{disc.outcome} {'>' if disc.above is not None else '<'} "
             f"{m.format(float(limit or 0.0))}")
    line = analyse.format_discovery(found, shown)
    if found.chosen is not None:
        side, value = ("above", disc.above) if disc.above is not None else ("below",
                                                                           disc.below)
        where = f"Where is {_question(m)} {side} {m.format(float(value or 0.0))}?"
        out.figure(plots.prim_box(found), "prim_box",
                   f"{where} The box of the input space PRIM finds: each input's limits "
                   "within its design range (restricted inputs in colour).")
        out.figure(plots.prim_tradeoff(found), "prim_tradeoff",
                   f"{where} PRIM's peeling trajectory: density against coverage of the "
                   "boxes it tried, the reported one circled.")
    return line


def _question(m: outcomes.Measure) -> str:
    """What an outcome measures, as the object of a question ("Japan's effect on ..."): its
    description or label without the parenthesis on how it is computed."""
    return m.label.split(" (")[0] if m.label else m.name
