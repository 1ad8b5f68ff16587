"""Running sweep points: in this process, on local worker processes, or on a Dask cluster.

A *task* turns a batch of points (index, parameter values, root seed) into one row of outcomes
per point. Its result depends only on the batch, so the executor (how many workers, which
machine, in which order) never changes a number. Executors keep a bounded number of batches in
flight and hand each finished batch to ``on_done`` at once, which writes it to disk: a killed
sweep loses at most the batches in flight.

Local workers are started with the ``forkserver`` method: a clean server process forks them,
so they inherit no threads or locks from the parent (progress bars, Dask clients).
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import signal
import socket
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from sim import engine, outcomes
from sim.errors import ScenarioError, SimError
from sim.params import build
from sim.scenario import validate
from sim.sweep.spec import BoundParameter, empty_registry, with_values

Row = dict[str, float]
#: Replicates simulated at once within a point (bounds memory for large ensembles).
REPLICATE_CHUNK = 1024
#: Batches in flight per worker slot: enough to keep every slot busy, few enough to lose little.
IN_FLIGHT_PER_SLOT = 2
MAX_BATCH = 16


@dataclass(frozen=True)
class Batch:
    """Points to run together: indices, parameter values ``(k, D)`` and root seeds."""

    points: tuple[int, ...]
    values: tuple[tuple[float, ...], ...]
    seeds: tuple[int, ...]


class Task(Protocol):
    """Anything that turns a batch into one row per point (with its ``point`` index)."""

    def __call__(self, batch: Batch) -> list[Row]: ...


@dataclass(frozen=True)
class ScenarioTask:
    """Simulate a scenario at each point: set the swept values, validate, build, run, measure.

    Each point goes through the same validation as a scenario file (``sim.scenario.validate``),
    so a swept value meets every range check a hand-written one does.
    """

    base_raw: dict[str, Any]
    params: tuple[BoundParameter, ...]
    measures: tuple[outcomes.Measure, ...]
    replicates: int
    where: str

    def __call__(self, batch: Batch) -> list[Row]:
        registry = empty_registry(Path(self.where))
        rows: list[Row] = []
        for point, xs, seed in zip(batch.points, batch.values, batch.seeds, strict=True):
            try:
                sc = validate(with_values(self.base_raw, self.params, xs), registry, self.where)
            except ScenarioError as err:
                raise SimError(f"point {point}: {err}") from None
            p = build(sc)
            qs: dict[str, list[np.ndarray]] = {m.name: [] for m in self.measures}
            for reps in engine.chunks(self.replicates, REPLICATE_CHUNK):
                traj = engine.simulate(p, reps, seed)
                for m in self.measures:
                    qs[m.name].append(outcomes.quantity(m, traj, p))
            q = np.stack(
                [np.concatenate(qs[m.name]) for m in self.measures]
            )  # (measure, replicate)
            rows.append({"point": point, **outcomes.summarise(list(self.measures), q)})
        return rows


@dataclass(frozen=True)
class FunctionTask:
    """Evaluate a vectorised function of the design, ``f(X (k, D)) -> (k,)``.

    Known cases (e.g. SALib's Ishigami function) run through the same executors, store and
    analysis as a scenario, so the pipeline can be checked against analytical answers. The
    function must be importable by name in the workers.
    """

    func: Callable[[np.ndarray], np.ndarray]
    name: str

    def __call__(self, batch: Batch) -> list[Row]:
        y = np.asarray(self.func(np.array(batch.values, dtype=float)), dtype=float)
        return [
            {
                "point": i,
                self.name: float(v),
                f"{self.name}.p5": float(v),
                f"{self.name}.p95": float(v),
            }
            for i, v in zip(batch.points, y, strict=True)
        ]


@dataclass(frozen=True)
class Execution:
    """How a sweep ran: the executor and its number of worker slots."""

    executor: str
    slots: int


def make_batches(
    points: np.ndarray, values: np.ndarray, seeds: np.ndarray, slots: int
) -> list[Batch]:
    """Points cut into batches: small enough to balance ``slots`` workers, at most 16 points."""
    n = len(points)
    size = max(1, min(MAX_BATCH, math.ceil(n / (slots * 8))))
    out = []
    for lo in range(0, n, size):
        sl = slice(lo, lo + size)
        out.append(
            Batch(
                tuple(int(i) for i in points[sl]),
                tuple(tuple(float(x) for x in row) for row in values[sl]),
                tuple(int(s) for s in seeds[sl]),
            )
        )
    return out


def default_workers() -> int:
    """All cores this process may use."""
    return (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    )


def execute(
    task: Task,
    points: np.ndarray,
    values: np.ndarray,
    seeds: np.ndarray,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    on_done: Callable[[list[Row]], None],
) -> Execution:
    """Run every point and pass each finished batch's rows to ``on_done`` as it completes.

    ``scheduler`` (``tcp://HOST:PORT``) runs on an existing Dask cluster; otherwise ``workers``
    local processes (default: all cores; 1 runs in this process).

    Raises:
        SimError: a point's scenario fails validation, the cluster cannot be reached, or a
            worker process dies.
    """
    if scheduler is not None:
        if workers is not None:
            raise SimError("--workers: not with --scheduler; the cluster's workers run the points")
        return _dask(task, points, values, seeds, scheduler, on_done)
    n = workers if workers is not None else default_workers()
    if n < 1:
        raise SimError(f"--workers: expected at least 1, found {n}")
    if n == 1 or len(points) <= 1:
        for batch in make_batches(points, values, seeds, 1):
            on_done(task(batch))
        return Execution("this process", 1)
    return _local(task, make_batches(points, values, seeds, n), n, on_done)


_TASK: Task | None = None


def _install(task: Task) -> None:
    global _TASK
    _TASK = task
    # one BLAS thread per worker, as Dask's nannies set: N workers x N BLAS threads would
    # oversubscribe the cores the workers already share out
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    # Ctrl-C reaches the whole process group: the parent stops the sweep, workers stay quiet
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_installed(batch: Batch) -> list[Row]:
    assert _TASK is not None, "worker started without a task"
    return _TASK(batch)


def _local(
    task: Task, batches: list[Batch], workers: int, on_done: Callable[[list[Row]], None]
) -> Execution:
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["sim.sweep.execute"])
    limit = workers * IN_FLIGHT_PER_SLOT
    queue = iter(batches)
    with ProcessPoolExecutor(
        workers, mp_context=ctx, initializer=_install, initargs=(task,)
    ) as pool:
        inflight: set[Future[list[Row]]] = set()
        try:
            for batch in queue:
                inflight.add(pool.submit(_run_installed, batch))
                if len(inflight) >= limit:
                    break
            while inflight:
                done, inflight = wait(inflight, return_when=FIRST_COMPLETED)
                for fut in done:
                    on_done(fut.result())
                    nxt = next(queue, None)
                    if nxt is not None:
                        inflight.add(pool.submit(_run_installed, nxt))
        except BrokenProcessPool:
            raise SimError(
                "a worker process died (out of memory?); the points finished so far are kept"
            ) from None
        finally:
            for fut in inflight:
                fut.cancel()
    return Execution(f"{workers} local processes", workers)


def _probe(scheduler: str) -> None:
    """Fail fast, in one line, if nothing listens at a ``tcp://HOST:PORT`` address."""
    proto, _, rest = scheduler.partition("://")
    host, _, port = rest.rpartition(":")
    if proto not in ("tcp", "tls") or not host or not port.isdigit():
        raise SimError(
            f"--scheduler: expected an address like tcp://HOST:PORT, found {scheduler!r}"
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
    except OSError as err:
        raise SimError(
            f"--scheduler: cannot reach {scheduler} ({err.strerror or type(err).__name__})"
        ) from None


def _apply(task: Task, batch: Batch) -> list[Row]:
    return task(batch)


def _dask(
    task: Task,
    points: np.ndarray,
    values: np.ndarray,
    seeds: np.ndarray,
    scheduler: str,
    on_done: Callable[[list[Row]], None],
) -> Execution:
    _probe(scheduler)
    from distributed import Client, as_completed

    try:
        client = Client(scheduler, timeout="15s", set_as_default=False)
    except (OSError, TimeoutError) as err:
        raise SimError(f"--scheduler: cannot reach {scheduler} ({type(err).__name__})") from None
    with client:
        try:
            client.wait_for_workers(1, timeout=60)
        except TimeoutError:
            raise SimError(f"--scheduler: {scheduler} has no workers (waited 60 s)") from None
        slots = max(1, sum(client.nthreads().values()))
        batches = make_batches(points, values, seeds, slots)
        shared = client.scatter(task, broadcast=True, hash=False)
        queue = iter(batches)
        running = as_completed(loop=client.loop)
        for batch in queue:
            running.add(client.submit(_apply, shared, batch, pure=False))
            if running.count() >= slots * IN_FLIGHT_PER_SLOT:
                break
        try:
            for fut in running:
                on_done(fut.result())
                nxt = next(queue, None)
                if nxt is not None:
                    running.add(client.submit(_apply, shared, nxt, pure=False))
        finally:
            running.clear()
    return Execution(f"Dask at {scheduler} ({slots} worker threads)", slots)
