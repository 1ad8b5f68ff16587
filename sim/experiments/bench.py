"""``sim bench``: the ensemble engine against ``mesa.batch_run`` on the same work, and the
batched path (many parameter sets at once) against the engine.

Both paths run the flagship scenario for the same replicates and rounds in this process, one
after the other, on one core, and produce every replicate's alignment for every round. The
engine's time is the best of three passes (it is short, so one pass is at the mercy of other
load on the machine); ``batch_run`` runs once. Figures are replicate-rounds per second and
their ratio; peak memory is measured with tracemalloc in a separate pass (so tracing does not
slow the timed pass), and for the million-replicate summary run as the peak resident size of a
child process doing only that.

The batched figures vary two values of the scenario (:data:`BATCH_PARAMS`) over a Latin
hypercube of many points with few replicates each (:data:`BATCH_REPLICATES`): the whole
``sim sweep`` in this process (its points' run, as its manifest records it: reading the design,
simulating, measuring, writing the outcomes) and :func:`sim.runs.batch.simulate_batch` alone on the
same points. They are timed in turns with the engine's passes, best of three each, so the
ratios compare like with like. A calibration-sized batch (points x 10 replicates, each point
reduced to its mean final alignment) runs in child processes, at a tenth of the size and at
full size, so that their peak resident sizes show memory bounded by the block, not the batch.

The cost of the figures is the wall time of ``sim run SCENARIO`` over that of ``sim run
SCENARIO --no-plots``, each the whole command in a fresh process (start, simulation, tables,
figures, report), run in turns, best of :data:`FIGURE_RUNS` each.
"""

from __future__ import annotations

import contextlib
import functools
import json
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from sim.core.errors import SettingError
from sim.core.yamlio import read_yaml
from sim.model import engine
from sim.model.abm import AlignmentModel
from sim.model.params import Params, build
from sim.runs.batch import Block, Patch, empty_registry, simulate_batch
from sim.scenario.schema import load, validate

#: The values a batched figure varies (``--param`` expressions of ``sim sweep``).
BATCH_PARAMS = ("dynamics.sharpness=0.5:3", "states.*.weights.econ=0.2:1")
#: Replicates per point of the batched figures.
BATCH_REPLICATES = 5
#: Replicates per point of the calibration-sized batch.
CALIBRATION_REPLICATES = 10
#: Runs of ``sim run`` with and without figures, in turns (the fastest of each is kept).
FIGURE_RUNS = 2
#: Replicates of the small summary-only run (its fixed cost).
SMALL = 10


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _traced_peak_mib(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _batch_run(path: Path, p: Params, replicates: int) -> None:
    mesa.batch_run(
        AlignmentModel,
        parameters={"scenario": str(path), "replicate": range(replicates), "rounds": p.rounds},
        max_steps=p.rounds,
        number_processes=1,
        display_progress=False,
    )


def _as_parent(backend: str) -> None:
    """In a child process timed for a figure: the backend the engine's figure used, on every
    core as in a command's own process (a sweep's workers would run one thread each)."""
    os.environ[engine.BACKEND_VARIABLE] = "numba" if backend.startswith("compiled") else "numpy"
    if engine.numba_installed():
        from sim.model import compiled

        compiled.EVERY_CORE_IN_CHILDREN = True


def _million(path: str, replicates: int, backend: str, queue: Any) -> None:
    _as_parent(backend)
    p = build(load(Path(path)))
    t = _timed(lambda: engine.run(p, replicates, keep=False))
    queue.put((t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def _sweep(path: Path, points: int, out: Path) -> tuple[float, Path]:
    """``sim sweep`` of :data:`BATCH_PARAMS` in this process: its points' run time and folder."""
    from sim.experiments.sweep import SweepRequest, run_sweep

    result = run_sweep(
        SweepRequest(
            source=path,
            params=BATCH_PARAMS,
            method="lhs",
            samples=points,
            replicates=BATCH_REPLICATES,
            workers=1,
            out=out,
        )
    )
    manifest = json.loads((result.folder / "manifest.json").read_text())
    return float(manifest["runs"][-1]["seconds"]), result.folder


def _design(folder: Path) -> tuple[Patch, np.ndarray, np.ndarray]:
    """A sweep's patch, values and seeds (to run its points through the batch alone)."""
    import pyarrow.parquet as pq

    from sim.experiments.sweep.spec import parse_param

    where = folder / "scenario.yaml"
    sc = validate(read_yaml(where), empty_registry(folder), where)
    names = [parse_param(expr)[0] for expr in BATCH_PARAMS]
    patch = Patch.bind(sc, {name: name for name in names})
    design = pq.read_table(folder / "design.parquet").to_pandas()
    return patch, design[names].to_numpy(float), design["seed"].to_numpy(np.uint64)


def _final(block: Block) -> np.ndarray:
    return np.asarray(block.alignment[:, :, -1])


def _calibration(path: str, points: int, backend: str, queue: Any) -> None:
    """A calibration-sized batch in a child process: seconds and peak resident size."""
    _as_parent(backend)
    from sim.experiments.sweep import design, spec

    sc = load(Path(path))
    sw = spec.from_options(Path(path), BATCH_PARAMS, method="lhs", samples=points)
    names = list(sw.parameters)
    patch = Patch.bind(sc, {name: name for name in names})
    lows = [sw.parameters[n].dist.low for n in names]
    highs = [sw.parameters[n].dist.high for n in names]
    u = design.generator(sc.seed, "design").random((points, len(names)))
    x = np.asarray(lows) + u * (np.asarray(highs) - np.asarray(lows))
    seeds = design.point_seeds(sc.seed, points)
    t = _timed(
        lambda: simulate_batch(
            patch, x, CALIBRATION_REPLICATES, seeds, reduce=_final, summarise=_mean
        )
    )
    queue.put((t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def _mean(q: np.ndarray) -> np.ndarray:
    return np.asarray(q.mean(axis=0))


def _child(target: Callable[..., None], *args: Any) -> tuple[float, float]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=target, args=(*args, queue))
    child.start()
    seconds, rss = queue.get()
    child.join()
    return float(seconds), float(rss)


def _sim_run(path: Path, out: Path, *options: str) -> float:
    """Wall time of the command ``sim run path`` (with ``options``) in a fresh process."""
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p))
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sim", "run", str(path), "--out", str(out), *options],
                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    return time.perf_counter() - t0


def _figures_cost(path: Path, runs: int) -> dict[str, Any]:
    """``sim run`` with figures and with ``--no-plots``, in turns: the fastest of each."""
    with_figures: list[float] = []
    without: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            with_figures.append(_sim_run(path, Path(tmp) / f"plots-{i}"))
            without.append(_sim_run(path, Path(tmp) / f"no-plots-{i}", "--no-plots"))
    return {"runs": runs, "with_figures_s": min(with_figures), "no_plots_s": min(without),
            "ratio": min(with_figures) / min(without)}


@contextlib.contextmanager
def _backend(name: str, threads: int | None = None) -> Iterator[None]:
    """Run the block on one engine backend (and, compiled, on ``threads`` threads)."""
    before = os.environ.get(engine.BACKEND_VARIABLE)
    os.environ[engine.BACKEND_VARIABLE] = name
    count = None
    if threads is not None:
        import numba

        count = numba.get_num_threads()
        numba.set_num_threads(threads)
    try:
        yield
    finally:
        if count is not None:
            import numba

            numba.set_num_threads(count)
        if before is None:
            os.environ.pop(engine.BACKEND_VARIABLE, None)
        else:
            os.environ[engine.BACKEND_VARIABLE] = before


def _paths() -> dict[str, tuple[str, int | None]]:
    """The engine's paths to time: compiled on every core and on one, and numpy."""
    if not engine.numba_installed():
        return {"numpy": ("numpy", None)}
    import numba

    return {"compiled": ("numba", numba.config.NUMBA_NUM_THREADS),
            "compiled, one thread": ("numba", 1), "numpy": ("numpy", None)}


def _engine_and_batched(
    path: Path, p: Params, replicates: int, batch: int, say: Callable[[str], None]
) -> tuple[dict[str, float], float, float]:
    """Best of three of each engine path, and of the batched figures timed in turns with them
    (the engine's run is short, so one pass is at the mercy of other load): seconds of each
    path, of the sweep and of ``simulate_batch`` (``inf`` when ``batch`` is 0)."""
    paths = _paths()
    for name, threads in paths.values():  # warm-up: imports, compiled code, caches
        with _backend(name, threads):
            engine.trajectories(p, min(replicates, 64))
    times: dict[str, list[float]] = {k: [] for k in paths}
    sweep_times, batch_times = [float("inf")], [float("inf")]
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(3):
            for key, (name, threads) in paths.items():
                with _backend(name, threads):
                    times[key].append(_timed(lambda: engine.trajectories(p, replicates)))
            if not batch:
                continue
            if i == 0:
                say(f"batched: sim sweep of {batch} LHS points x {BATCH_REPLICATES} replicates")
                _sweep(path, min(batch, 50), Path(tmp) / "warm-up")
            seconds, folder = _sweep(path, batch, Path(tmp) / str(i))
            sweep_times.append(seconds)
            patch, x, seeds = _design(folder)
            t0 = time.perf_counter()
            simulate_batch(patch, x, BATCH_REPLICATES, seeds, reduce=_final)
            batch_times.append(time.perf_counter() - t0)
    return {k: min(v) for k, v in times.items()}, min(sweep_times), min(batch_times)


def _rate(seconds: float, work: int, **more: Any) -> dict[str, Any]:
    return {"seconds": seconds, "replicate_rounds_per_s": work / seconds, **more}


def _calibration_rows(path: Path, p: Params, calibration: int, backend: str,
                      say: Callable[[str], None]) -> list[dict[str, Any]]:
    rows = []
    for n in sorted({max(1, calibration // 10), calibration}):
        say(f"calibration-sized batch: {n} points x {CALIBRATION_REPLICATES} replicates")
        seconds, rss = _child(_calibration, str(path), n, backend)
        rows.append({"points": n, "replicates": CALIBRATION_REPLICATES,
                     **_rate(seconds, n * CALIBRATION_REPLICATES * p.rounds),
                     "peak_rss_mib": rss})
    return rows


def _scaling_rows(path: Path, p: Params, scaling: tuple[int, ...],
                  say: Callable[[str], None]) -> list[dict[str, Any]]:
    rows = []
    for n in scaling:
        for rounds in (p.rounds, 2 * p.rounds):
            say(f"scaling: {n} replicates x {rounds} rounds")
            q = p if rounds == p.rounds else build(load(path), rounds)
            t = _timed(functools.partial(engine.run, q, n, keep=False))
            rows.append({"replicates": n, "rounds": rounds, **_rate(t, n * rounds)})
    return rows


def _small_summary(p: Params) -> float:
    """Seconds of a summary-only run of :data:`SMALL` replicates (best of five)."""
    return min(_timed(lambda: engine.run(p, SMALL, keep=False)) for _ in range(5))


def _checked(replicates: int, scaling: tuple[int, ...], counts: dict[str, int]) -> None:
    if replicates < 1:
        raise SettingError("replicates", f"expected at least 1, found {replicates}")
    if any(c < 1 for c in scaling):
        raise SettingError("scaling", f"expected positive replicate counts, found {list(scaling)}")
    for name, count in counts.items():
        if count < 0:
            raise SettingError(name, f"expected 0 or more, found {count}")


def bench(
    path: Path,
    *,
    replicates: int = 1000,
    scaling: tuple[int, ...] = (),
    million: int = 0,
    batch: int = 1000,
    calibration: int = 0,
    figures: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure every path; returns figures as a dict (see README for their meaning).

    ``figures`` runs of ``sim run`` with figures and as many without time what the figures
    cost (0 to skip).

    Raises:
        SettingError: a replicate count below 1 (``replicates``, ``scaling``) or a negative
            ``million``, ``batch``, ``calibration`` or ``figures``.
    """
    _checked(replicates, scaling, {"million": million, "batch": batch,
                                   "calibration": calibration, "figures": figures})
    say = progress or (lambda _msg: None)
    engine.keep_freed_memory()  # the same allocator settings for every path
    p = build(load(path))
    work = replicates * p.rounds
    say(f"mesa.batch_run: {replicates} replicates x {p.rounds} rounds")
    t_mesa = _timed(lambda: _batch_run(path, p, replicates))
    say("ensemble engine, same work, on each of its paths")
    paths, t_sweep, t_batch = _engine_and_batched(path, p, replicates, batch, say)
    t_engine = min(paths.values())
    say("peak memory (traced pass)")
    traced = min(replicates, 200)
    out: dict[str, Any] = {
        "scenario": str(path), "replicates": replicates, "rounds": p.rounds,
        "mesa_batch_run": _rate(t_mesa, work, traced_on_replicates=traced, traced_peak_mib=(
            _traced_peak_mib(lambda: _batch_run(path, p, traced)))),
        "ensemble": _rate(t_engine, work, path=min(paths, key=paths.__getitem__),
                          traced_peak_mib=_traced_peak_mib(
                              lambda: engine.trajectories(p, replicates))),
        "paths": {k: _rate(t, work, of_numpy=paths["numpy"] / t) for k, t in paths.items()},
        "speedup": t_mesa / t_engine,
        "summary_only_small": {"replicates": SMALL, "seconds": _small_summary(p)},
    }
    if batch:
        batch_work = batch * BATCH_REPLICATES * p.rounds
        out["batched"] = {
            "points": batch, "replicates": BATCH_REPLICATES, "parameters": list(BATCH_PARAMS),
            **{name: _rate(t, batch_work, of_engine=t_engine / t * batch_work / work)
               for name, t in (("sweep", t_sweep), ("simulate_batch", t_batch))},
        }
    if calibration:
        out["calibration"] = _calibration_rows(path, p, calibration, out["ensemble"]["path"],
                                               say)
    out["scaling"] = _scaling_rows(path, p, scaling, say)
    if million:
        say(f"summary-only run of {million} replicates in a child process")
        seconds, rss = _child(_million, str(path), million, out["ensemble"]["path"])
        out["million"] = {"replicates": million, "seconds": seconds, "peak_rss_mib": rss}
    if figures:
        say(f"sim run with figures and with --no-plots, {figures} of each in turns")
        out["figures"] = _figures_cost(path, figures)
    return out


def headline(b: dict[str, Any]) -> list[str]:
    """The main figures side by side: the engine against Mesa and against its numpy path, the
    calibration-sized batch against the engine, and what drawing the figures adds to a run."""
    e = b["ensemble"]["replicate_rounds_per_s"]
    lines = [f"  engine vs mesa.batch_run      {e:12,.0f} vs "
             f"{b['mesa_batch_run']['replicate_rounds_per_s']:,.0f} replicate-rounds/s "
             f"({b['speedup']:.0f}x; {b['ensemble']['path']} path)"]
    for name, r in b.get("paths", {}).items():
        if name != "numpy":
            lines.append(f"  {name + ' vs numpy':<29} {r['replicate_rounds_per_s']:12,.0f}"
                         f" vs {b['paths']['numpy']['replicate_rounds_per_s']:,.0f} "
                         f"replicate-rounds/s ({r['of_numpy']:.2f}x)")
    if b.get("calibration"):
        c = b["calibration"][-1]
        lines.append(f"  calibration-sized batch       {c['replicate_rounds_per_s']:12,.0f} "
                     f"replicate-rounds/s ({c['points']:,} points x {c['replicates']}; "
                     f"{c['replicate_rounds_per_s'] / e:.2f} of the engine's)")
    if "summary_only_small" in b:
        s = b["summary_only_small"]
        lines.append(f"  summary-only, {s['replicates']} replicates    "
                     f"{s['seconds'] * 1e3:12.1f} ms")
    if "figures" in b:
        f = b["figures"]
        lines.append(f"  run with figures / --no-plots {f['ratio']:12.2f}x "
                     f"({f['with_figures_s']:.2f} s vs {f['no_plots_s']:.2f} s, "
                     f"fastest of {f['runs']} each)")
    return lines


def format_bench(b: dict[str, Any]) -> str:
    """Human-readable figures."""
    m, e = b["mesa_batch_run"], b["ensemble"]
    lines = [
        f"{b['scenario']}: {b['replicates']} replicates x {b['rounds']} rounds",
        f"  mesa.batch_run   {m['seconds']:8.3f} s  "
        f"{m['replicate_rounds_per_s']:12,.0f} replicate-rounds/s"
        f"  traced peak {m['traced_peak_mib']:.1f} MiB ({m['traced_on_replicates']} replicates)",
        f"  ensemble engine  {e['seconds']:8.3f} s  "
        f"{e['replicate_rounds_per_s']:12,.0f} replicate-rounds/s"
        f"  traced peak {e['traced_peak_mib']:.1f} MiB",
        f"  speed-up: {b['speedup']:.0f}x",
        *(f"    {name + ' path':<26} {r['seconds']:8.3f} s  {r['replicate_rounds_per_s']:12,.0f}"
          f" replicate-rounds/s  {r['of_numpy']:.2f}x numpy's"
          for name, r in b.get("paths", {}).items()),
    ]
    top = [lines[0], *headline(b), "  details:"]
    lines = top + lines[1:]
    if "batched" in b:
        bb = b["batched"]
        lines.append(
            f"  batched: {bb['points']:,} LHS points x {bb['replicates']} replicates "
            f"({', '.join(bb['parameters'])}), in this process:"
        )
        for name, label in (
            ("sweep", "sim sweep (points' run)"),
            ("simulate_batch", "simulate_batch"),
        ):
            r = bb[name]
            lines.append(
                f"    {label:<24} {r['seconds']:8.3f} s  {r['replicate_rounds_per_s']:12,.0f} "
                f"replicate-rounds/s  {r['of_engine']:.2f} of the ensemble engine's"
            )
    if b["scaling"]:
        lines.append("  scaling (summary-only runs):")
        base = b["scaling"][0]
        for r in b["scaling"]:
            rel = (r["seconds"] / base["seconds"]) / (
                r["replicates"] * r["rounds"] / (base["replicates"] * base["rounds"])
            )
            lines.append(
                f"    {r['replicates']:>9,} x {r['rounds']:>3} rounds  {r['seconds']:8.3f} s  "
                f"{r['replicate_rounds_per_s']:12,.0f} /s  "
                f"time per unit of work vs first: {rel:.2f}"
            )
    for r in b.get("calibration", []):
        lines.append(
            f"  calibration-sized batch: {r['points']:,} points x {r['replicates']} replicates "
            f"in {r['seconds']:.1f} s ({r['replicate_rounds_per_s']:,.0f} replicate-rounds/s), "
            f"peak RSS {r['peak_rss_mib']:.0f} MiB"
        )
    if "million" in b:
        mm = b["million"]
        lines.append(
            f"  {mm['replicates']:,} replicates, summary only: {mm['seconds']:.1f} s, "
            f"peak RSS {mm['peak_rss_mib']:.0f} MiB"
        )
    return "\n".join(lines)
