"""``sim sweep``: define, run (or resume), store and analyse a parameter sweep.

Everything is checked before the sweep's folder exists: the sweep definition, the scenario,
every parameter path and bound, every outcome. The folder is then created in one rename with
the definition, the materialised base scenario and the whole design; outcomes are appended as
points finish (see :mod:`sim.sweep.store`); the analysis runs once every point is done.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sim import outcomes, results
from sim.batch import cited, materialise, overlap
from sim.errors import ScenarioError, SimError, machine_failures
from sim.facts import Registry, find_registry, load_registry
from sim.params import build
from sim.report import write_report
from sim.scenario import Scenario, digest, file_digest, load, validate, values
from sim.sweep import analyse, design, plots, spec
from sim.sweep.execute import Execution, ScenarioTask, check_executor, execute
from sim.sweep.spec import BoundParameter, SweepFile
from sim.sweep.store import SOURCES, SweepStore, json_bytes, parquet_bytes, sources_bytes
from sim.yamlio import dump_yaml, read_yaml

SWEEP_LIBRARIES = ("SALib", "dask", "distributed", "ema_workbench", "scipy")
Progress = Callable[[int, int], None]


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep: the finished points are on disk and the sweep can be resumed."""

    def __init__(self, folder: Path, done: int, total: int) -> None:
        super().__init__(
            f"interrupted: {done} of {total} points are saved; finish with "
            f"sim sweep --resume {folder}"
        )


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

    def check(self) -> None:
        """Refuse settings that cannot run, before anything is written or simulated: bad
        ``workers`` or ``scheduler`` (an address where nothing listens, too), or an ``out``
        (or ``resume``) folder that cannot take results.

        Raises:
            SettingError: naming the setting.
            MachineError: the folder is read-only.
        """
        check_executor(self.workers, self.scheduler)
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
) -> Sweep:
    """Check a sweep definition against its scenario (validated against ``registry``) and
    resolve it.

    The sweep keeps the scenario with every value a number and, of the registry, only the
    facts its events cite (:func:`sim.batch.cited`): what its folder stores to be resumed.

    Raises:
        ScenarioError: a bad path, bound, outcome or name, located in the sweep file.
    """
    base_raw = materialise(sc)
    sources = cited(sc, registry)
    try:
        mat = validate(base_raw, sources, "the sweep's copy of the scenario")
    except ScenarioError as err:  # the scenario itself validated: a bug, not the input
        raise AssertionError(f"materialised scenario does not validate: {err}") from None
    if [v.value for _, v in values(mat)] != [v.value for _, v in values(sc)]:
        raise AssertionError("materialised scenario differs from the scenario")
    params = tuple(
        spec.bind_parameter(name, p, base_raw, mat, where, cli=cli, registry=sources)
        for name, p in sw.parameters.items()
    )
    clash = overlap({p.name: p.paths for p in params})
    if clash is not None:
        _, second, message = clash
        field = ("--param", second) if cli else (str(where), f"parameters.{second}.path")
        raise ScenarioError(*field, message)
    p0 = build(mat)
    wanted = dict(outcomes.default_outcomes(p0.states, p0.powers)) if defaults else {}
    for name, o in sw.outcomes.items():
        if name in wanted and wanted[name] != o:
            raise ScenarioError(
                where, f"outcomes.{name}", "is a default outcome's name; choose another"
            )
        wanted[name] = o
    measures = tuple(outcomes.resolve(wanted, p0, where))
    spec.check_names(sw, [m.name for m in measures], where)
    method = sw.method_or_default
    report = tuple(
        sw.report or [f"{p}_region" for p in (focus or p0.powers) if f"{p}_region" in wanted]
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
    )


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
    raw["outcomes"] = {}
    wanted = {
        **outcomes.default_outcomes(list(s.scenario.states), list(s.scenario.powers)),
        **s.spec.outcomes,
    }
    for m in s.measures:
        raw["outcomes"][m.name] = wanted[m.name].model_dump(mode="json", exclude_none=True)
    return raw


def _from_request(req: SweepRequest) -> tuple[Sweep, Path]:
    if req.source is None:
        raise SimError("give a scenario or sweep file, or --resume FOLDER")
    source = req.source
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
    if spec.is_sweep_file(source):
        if req.params:
            raise SimError(f"--param: {source} is a sweep file; edit its 'parameters' instead")
        sw = spec.with_options(spec.read(source), source, **opts)
        scenario_path = source.parent / sw.scenario
        if not scenario_path.is_file():
            raise ScenarioError(source, "scenario", f"file not found: {scenario_path}")
        where: Path | str = source
    else:
        sw = spec.from_options(source, req.params, **opts)
        scenario_path, where = source, "--param"
    registry = load_registry(find_registry(scenario_path))
    sc = load(scenario_path, req.sets, registry)
    sweep = bind(
        sw,
        sc,
        where,
        cli=where == "--param",
        defaults=True,
        registry=registry,
        focus=_focus(scenario_path, sc),
    )
    return sweep, scenario_path


# --------------------------------------------------------------------------- running


def run_sweep(req: SweepRequest, progress: Progress | None = None) -> SweepOutcome:
    """Start a sweep (or resume one), run its points, analyse it; see the module docstring."""
    req.check()
    if req.resume is not None:
        return _resume(req, progress)
    started = results.now()
    sweep, scenario_path = _from_request(req)
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
    manifest = {
        "kind": "sweep",
        "status": "running",
        "scenario": sweep.scenario.name,
        "title": sweep.scenario.title,
        "scenario_file": str(scenario_path),
        "scenario_file_sha256": file_digest(scenario_path),
        "resolved_scenario_sha256": digest(sweep.scenario),
        "overrides": list(req.sets),
        "sweep_file": str(req.source) if req.source and req.source != scenario_path else None,
        "method": sweep.method,
        "samples": sweep.samples,
        "points": len(x),
        "replicates": sweep.replicates,
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
    folder = req.out / sweep.scenario.name / "sweeps" / results.new_run_id()
    with machine_failures(folder.parent, lambda: "nothing was written"):
        store = SweepStore.create(
            folder,
            {
                "sweep.yaml": dump_yaml(resolved_spec(sweep)).encode("utf-8"),
                "scenario.yaml": dump_yaml(sweep.base_raw).encode("utf-8"),
                "design.parquet": parquet_bytes(pa.table(cols)),
                "manifest.json": json_bytes(manifest),
                **({SOURCES: sources_bytes(sweep.sources)} if sweep.sources.entries else {}),
            },
        )
    return _run(store, sweep, req, progress)


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
    sweep = bind(
        sw, sc, store.folder / "sweep.yaml", cli=False, defaults=False, registry=sources
    )
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
        execution = None
        task: ScenarioTask | None = None
        if len(todo):
            manifest = store.read_manifest()
            run_info: dict[str, Any] = {
                "started": results.now(),
                "points_before": len(done),
                "command": results.command_line(),
                "finished": None,
            }
            manifest["runs"].append(run_info)
            store.write_manifest(manifest)
            finished = len(done)
            if progress:
                progress(finished, total)
            task = ScenarioTask(
                sweep.base_raw,
                sweep.params,
                sweep.measures,
                sweep.replicates,
                sweep.where,
                sweep.sources,
            )
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
        table = _table(store, d, sweep)
        report, files = analyse_sweep(store, sweep, table)
        manifest = store.read_manifest()
        manifest.update(
            status="complete",
            finished=results.now(),
            rows={"outcomes.parquet": len(table)},
            analysis=files,
        )
        store.write_manifest(manifest)
        write_report(store.folder)
    note = task.patch.structural if task is not None else None
    return SweepOutcome(
        store.folder, total, len(todo), time.perf_counter() - t0, execution, report, files, note
    )


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


def analyse_sweep(store: SweepStore, sweep: Sweep, table: pd.DataFrame) -> tuple[str, list[str]]:
    """Indices, discovery, plots and the report text of a complete sweep; returns (text, files)."""
    t = table.sort_values("point")
    names = [p.name for p in sweep.params]
    x = t[names].to_numpy(float)
    ys = {m.name: t[m.name].to_numpy(float) for m in sweep.measures}
    label = {m.name: m.label for m in sweep.measures}
    stat = {m.name: m.stat for m in sweep.measures}
    seed = design.analysis_seed(sweep.seed)
    files: list[str] = []
    lines = [
        f"sweep of {sweep.scenario.name}: {sweep.method}, {len(names)} parameters, {len(t)} points "
        f"x {sweep.replicates} replicates"
    ]

    def write_csv(name: str, df: pd.DataFrame) -> None:
        store.write_file(name, df.to_csv(index=False, float_format="%.6g").encode("utf-8"))
        files.append(name)

    def figure(fig: Any, stem: str) -> None:
        path = plots.save(fig, store.folder / "plots", stem)
        files.append(f"plots/{path.name}")

    if sweep.method == "sobol":
        sens = analyse.sobol(sweep.problem, ys, seed)
        write_csv("sensitivity.csv", sens)
        for name in sweep.report:
            lines.append(analyse.format_sobol(sens, name, label[name], ys[name]))
            if not sens[sens["outcome"] == name]["ST"].isna().all():
                figure(plots.sobol_bars(sens, name, label[name]), f"sobol_{name}")
    elif sweep.method == "morris":
        sens = analyse.morris(sweep.problem, x, ys, seed, sweep.spec.morris_levels)
        write_csv("sensitivity.csv", sens)
        for name in sweep.report:
            lines.append(analyse.format_morris(sens, name, label[name], ys[name]))
            figure(plots.morris_plot(sens, name, label[name]), f"morris_{name}")
    else:
        for name in sweep.report:
            lines.append(analyse.format_range(name, label[name], ys[name]))
    if len(names) == 1:
        for name in sweep.report:
            figure(
                plots.response(
                    t, names[0], name, label[name], band=stat[name] in ("mean", "median")
                ),
                f"response_{name}",
            )
    elif len(names) == 2:
        for name in sweep.report:
            figure(plots.heatmap(t, names[0], names[1], name, label[name]), f"heatmap_{name}")
    if sweep.spec.discover is not None:
        disc = sweep.spec.discover
        y = ys[disc.outcome]
        holds = y > disc.above if disc.above is not None else y < disc.below
        found = analyse.discover(t[names], holds, disc.describe(), disc.density)
        write_csv("prim_trajectory.csv", found.trajectory)
        write_csv("prim_box.csv", found.box)
        lines.append(analyse.format_discovery(found))
        if found.chosen is not None:
            figure(plots.prim_tradeoff(found), "prim_tradeoff")
            figure(plots.prim_box(found), "prim_box")
    text = "\n\n".join(lines)
    store.write_file("report.txt", (text + "\n").encode("utf-8"))
    files.append("report.txt")
    return text, files
