"""``sim bench``: the ensemble engine against ``mesa.batch_run`` on the same work.

Both paths run the flagship scenario for the same replicates and rounds in this process, one
after the other, on one core, and produce every replicate's alignment for every round. The
engine's time is the best of three passes (it is short, so one pass is at the mercy of other
load on the machine); ``batch_run`` runs once. Figures are replicate-rounds per second and
their ratio; peak memory is measured with tracemalloc in a separate pass (so tracing does not
slow the timed pass), and for the million-replicate summary run as the peak resident size of a
child process doing only that.
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mesa

from sim import engine
from sim.errors import SettingError
from sim.model import AlignmentModel
from sim.params import Params, build
from sim.scenario import load


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
        iterations=1,
        max_steps=p.rounds,
        number_processes=1,
        display_progress=False,
    )


def _million(path: str, replicates: int, queue: Any) -> None:
    p = build(load(Path(path)))
    t = _timed(lambda: engine.run(p, replicates, keep=False))
    queue.put((t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def bench(
    path: Path,
    *,
    replicates: int = 1000,
    scaling: tuple[int, ...] = (),
    million: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure both paths; returns figures as a dict (see README for their meaning).

    Raises:
        SettingError: a replicate count below 1 (``replicates``, ``scaling``) or a negative
            ``million``.
    """
    if replicates < 1:
        raise SettingError("replicates", f"expected at least 1, found {replicates}")
    if any(c < 1 for c in scaling):
        raise SettingError("scaling", f"expected positive replicate counts, found {list(scaling)}")
    if million < 0:
        raise SettingError("million", f"expected 0 or more replicates, found {million}")
    say = progress or (lambda _msg: None)
    engine.keep_freed_memory()  # the same allocator settings for both paths
    p = build(load(path))
    work = replicates * p.rounds
    say(f"mesa.batch_run: {replicates} replicates x {p.rounds} rounds")
    t_mesa = _timed(lambda: _batch_run(path, p, replicates))
    say("ensemble engine, same work")
    engine.trajectories(p, min(replicates, 64))  # warm-up (imports, caches)
    # best of three: the engine's run is short, so one pass is at the mercy of other load
    t_engine = min(_timed(lambda: engine.trajectories(p, replicates)) for _ in range(3))
    say("peak memory (traced pass)")
    mem_mesa = _traced_peak_mib(lambda: _batch_run(path, p, min(replicates, 200)))
    mem_engine = _traced_peak_mib(lambda: engine.trajectories(p, replicates))
    out: dict[str, Any] = {
        "scenario": str(path),
        "replicates": replicates,
        "rounds": p.rounds,
        "mesa_batch_run": {
            "seconds": t_mesa,
            "replicate_rounds_per_s": work / t_mesa,
            "traced_peak_mib": mem_mesa,
            "traced_on_replicates": min(replicates, 200),
        },
        "ensemble": {
            "seconds": t_engine,
            "replicate_rounds_per_s": work / t_engine,
            "traced_peak_mib": mem_engine,
        },
        "speedup": t_mesa / t_engine,
    }
    rows = []
    for n in scaling:
        for rounds in (p.rounds, 2 * p.rounds):
            say(f"scaling: {n} replicates x {rounds} rounds")
            q = p if rounds == p.rounds else build(load(path), rounds)
            t = _timed(lambda q=q, n=n: engine.run(q, n, keep=False))
            rows.append(
                {
                    "replicates": n,
                    "rounds": rounds,
                    "seconds": t,
                    "replicate_rounds_per_s": n * rounds / t,
                }
            )
    out["scaling"] = rows
    if million:
        say(f"summary-only run of {million} replicates in a child process")
        ctx = mp.get_context("spawn")
        queue = ctx.Queue()
        child = ctx.Process(target=_million, args=(str(path), million, queue))
        child.start()
        seconds, rss = queue.get()
        child.join()
        out["million"] = {"replicates": million, "seconds": seconds, "peak_rss_mib": rss}
    return out


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
    ]
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
    if "million" in b:
        mm = b["million"]
        lines.append(
            f"  {mm['replicates']:,} replicates, summary only: {mm['seconds']:.1f} s, "
            f"peak RSS {mm['peak_rss_mib']:.0f} MiB"
        )
    return "\n".join(lines)
