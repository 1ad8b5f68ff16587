"""Running sweep points: in this process, on local worker processes, or on a Dask cluster.

A *task* turns a batch of points (index, parameter values, root seed) into columns of outcomes,
one row per point. Its result depends only on the batch, so the executor (how many workers, which
machine, in which order) never changes a number. Executors keep a bounded number of batches in
flight and hand each finished batch to ``on_done`` at once, which writes it to disk: a killed
sweep loses at most the batches in flight.

Local workers are started with the ``forkserver`` method: a clean server process forks them,
so they inherit no threads or locks from the parent (progress bars, Dask clients). A worker
watches its parent and exits as soon as it is gone, even killed with ``kill -9`` (which runs no
clean-up): a worker waiting for its next batch would otherwise wait forever, and keep the fork
server and the resource tracker alive with it.
"""

from __future__ import annotations

import contextlib
import functools
import math
import multiprocessing as mp
import os
import signal
import socket
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from sim.core.calendar import round_dates
from sim.core.children import exit_with_parent
from sim.core.errors import ScenarioError, SettingError, SimError
from sim.outputs import outcomes
from sim.runs.batch import Block, Patch, empty_registry, simulate_batch
from sim.runs.draws import draw_seeds
from sim.scenario.facts import Registry
from sim.scenario.schema import validate, values


class Swept(Protocol):
    """What a task needs of a swept parameter (:class:`sim.experiments.sweep.spec.BoundParameter`
    is one): its name, and its paths grouped by factor, one batch column each."""

    @property
    def name(self) -> str: ...

    @property
    def groups(self) -> list[tuple[float, tuple[str, ...]]]: ...


#: A finished batch: ``point`` (int64) and one float64 column per outcome, one row per point.
Columns = dict[str, np.ndarray]
#: Replicate-rounds a batch of points aims at: enough work to make its fixed costs (building
#: the batch, writing its chunk, handing it to a worker) small, little enough to lose on a kill.
BATCH_WORK = 200_000
#: Batches in flight per worker slot: enough to keep every slot busy, few enough to lose little.
IN_FLIGHT_PER_SLOT = 2
#: Batches per worker slot at least, when that leaves each enough work: they balance the load.
BATCHES_PER_SLOT = 4
#: Replicate-rounds below which a sweep runs in this process unless told otherwise: starting
#: worker processes takes a second or two, about what a million replicate-rounds take.
SMALL_WORK = 1_000_000


@dataclass(frozen=True)
class Batch:
    """Points to run together: indices ``(k,)``, parameter values ``(k, D)`` and root seeds
    ``(k,)`` (uint64)."""

    points: np.ndarray
    values: np.ndarray
    seeds: np.ndarray


class Task(Protocol):
    """Anything that turns a batch into columns with one row per point (and ``point``).

    ``work`` is a point's cost in replicate-rounds (what batches are sized by).
    """

    @property
    def work(self) -> int: ...

    def __call__(self, batch: Batch) -> Columns: ...


#: A posterior quantity's batch column: (quantity's index, the fields' scale, their paths).
DrawColumn = tuple[int, float, tuple[str, ...]]


@dataclass(frozen=True)
class PosteriorDraws:
    """Posterior draws every point of a sweep runs over (each a block of its replicates).

    Attributes:
        values: ``(draws, quantities)``, the draws' natural-scale values.
        quantities: the calibrated quantities (registry ids), in ``values``' order.
        columns: the scenario's fields each quantity sets, grouped by scale (the fields a
            swept parameter sets are left out: the sweep's value wins there).
        counterfactual_columns: the same for the counterfactual, if the sweep has one.
        folder: the posterior folder the draws came from (for the record).
    """

    values: np.ndarray
    quantities: tuple[str, ...]
    columns: tuple[DrawColumn, ...]
    counterfactual_columns: tuple[DrawColumn, ...] = ()
    folder: str = ""

    def __len__(self) -> int:
        return len(self.values)

    def block(self, columns: tuple[DrawColumn, ...]) -> np.ndarray:
        """``(draws, len(columns))``: each column's field values (quantity x scale)."""
        out = np.empty((len(self.values), len(columns)))
        for c, (q, scale, _) in enumerate(columns):
            out[:, c] = self.values[:, q] * scale
        return out

    def to_json(self) -> dict[str, Any]:
        """Everything a resumed sweep needs (JSON floats read back exactly)."""
        def cols(cs: tuple[DrawColumn, ...]) -> list[dict[str, Any]]:
            return [{"quantity": self.quantities[q], "scale": f, "paths": list(paths)}
                    for q, f, paths in cs]
        return {"folder": self.folder, "quantities": list(self.quantities),
                "values": [[float(v) for v in row] for row in self.values],
                "columns": cols(self.columns),
                "counterfactual_columns": cols(self.counterfactual_columns)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PosteriorDraws:
        quantities = tuple(data["quantities"])

        def cols(cs: list[dict[str, Any]]) -> tuple[DrawColumn, ...]:
            return tuple((quantities.index(c["quantity"]), float(c["scale"]), tuple(c["paths"]))
                         for c in cs)
        return cls(np.asarray(data["values"], dtype=float).reshape(-1, len(quantities)),
                   quantities, cols(data["columns"]), cols(data["counterfactual_columns"]),
                   str(data.get("folder", "")))


@dataclass(frozen=True)
class ScenarioTask:
    """Simulate a scenario at a batch of points at once and measure each point.

    The points' values vary the scenario through a :class:`sim.runs.batch.Patch`: one engine call
    runs every replicate of every point (:func:`sim.runs.batch.simulate_batch`), with the numbers
    of each point run alone. The sweep's bounds were checked against every field's range when
    it was defined, so every point of the design is a valid scenario. A parameter whose paths
    take its value by different factors (a registry entry's fields) is one column of the
    batch per factor, set to the value times the factor.

    With a ``counterfactual`` (the scenario without the policy, as raw data), every point also
    runs it on the same seeds, with the parameters' values where it has their paths (the
    uncertainties; paths only the policy has are its levers), and an outcome with ``effect``
    is the difference of the two replicate by replicate.

    With ``posterior`` draws, every point runs each draw's block of ``replicates`` replicates
    (the draw's values in the fields its quantities set, the point's in the swept ones; the
    block's root seed is :func:`sim.runs.draws.draw_seeds` of the point's seed), and its
    outcomes are taken over all draws' replicates: intervals of noise and parameters.
    """

    base_raw: dict[str, Any]
    params: tuple[Swept, ...]
    measures: tuple[outcomes.Measure, ...]
    replicates: int
    where: str
    counterfactual: dict[str, Any] | None = None
    sources: Registry | None = None  # the facts the scenario's events cite (sim.runs.batch.cited)
    posterior: PosteriorDraws | None = None

    @functools.cached_property
    def registry(self) -> Registry:
        """The facts the scenarios' events cite, or none."""
        return self.sources or empty_registry(Path(self.where))

    def _columns(self, raw: dict[str, Any] | None) -> list[tuple[int, float, tuple[str, ...]]]:
        """The batch's columns for a scenario: (parameter, factor, paths it has)."""
        have = None
        if raw is not None:
            sc = validate(raw, self.registry, self.where)
            have = {path for path, _ in values(sc)}
        out = []
        for j, p in enumerate(self.params):
            for factor, paths in p.groups:
                kept = paths if have is None else tuple(x for x in paths if x in have)
                if kept:
                    out.append((j, factor, kept))
        return out

    def _patch(self, raw: dict[str, Any], columns: list[tuple[int, float, tuple[str, ...]]],
               drawn: tuple[DrawColumn, ...] = ()) -> Patch:
        registry = self.registry
        sc = validate(raw, registry, self.where)
        names = tuple(f"{self.params[j].name}" + (f" x{f:g}" if f != 1.0 else "")
                      for j, f, _ in columns)
        if self.posterior is not None:
            names += tuple(f"posterior {self.posterior.quantities[q]} x{f:g}"
                           for q, f, _ in drawn)
        return Patch(raw, sc, names,
                     tuple(paths for _, _, paths in columns) + tuple(p for _, _, p in drawn),
                     self.where, registry)

    @functools.cached_property
    def columns(self) -> list[tuple[int, float, tuple[str, ...]]]:
        """The policy's batch columns: (parameter, factor, paths)."""
        return self._columns(None)

    @functools.cached_property
    def patch(self) -> Patch:
        """The base scenario and the parameters' paths (made once per worker)."""
        drawn = self.posterior.columns if self.posterior is not None else ()
        return self._patch(self.base_raw, self.columns, drawn)

    @functools.cached_property
    def counterfactual_columns(self) -> list[tuple[int, float, tuple[str, ...]]]:
        """The counterfactual's batch columns: the parameters' paths it has."""
        return self._columns(self.counterfactual)

    @functools.cached_property
    def counterfactual_patch(self) -> Patch | None:
        """The counterfactual and the paths of it the parameters set, if there is one."""
        if self.counterfactual is None:
            return None
        drawn = self.posterior.counterfactual_columns if self.posterior is not None else ()
        return self._patch(self.counterfactual, self.counterfactual_columns, drawn)

    @property
    def work(self) -> int:
        t = self.patch.scenario.time
        rounds = len(round_dates(t.start, t.end, t.months_per_round)) - 1
        draws = 1 if self.posterior is None else len(self.posterior)
        return self.replicates * draws * rounds * (1 if self.counterfactual is None else 2)

    def _rows(self, batch: Batch, x: np.ndarray, drawn: tuple[DrawColumn, ...]
              ) -> tuple[np.ndarray, np.ndarray]:
        """A batch's rows for the engine, and their root seeds: one per point, or with a
        posterior one per point and draw (point-major), the draw's values beside the point's."""
        post = self.posterior
        if post is None:
            return x, batch.seeds
        k, d = len(x), len(post)
        rows = np.concatenate([np.repeat(x, d, axis=0), np.tile(post.block(drawn), (k, 1))],
                              axis=1)
        seeds = np.concatenate([draw_seeds(int(s), d) for s in batch.seeds])
        return rows, seeds

    def _pooled(self, q: np.ndarray, k: int) -> np.ndarray:
        """``(rows, replicate, measure)`` as ``(point, replicate, measure)``: with a posterior,
        each point's draws' replicates pooled (draw-major)."""
        return q.reshape(k, -1, q.shape[-1])

    @staticmethod
    def expand(x: np.ndarray, columns: list[tuple[int, float, tuple[str, ...]]]) -> np.ndarray:
        """Design values ``(k, parameters)`` as a batch's ``(k, columns)``: value x factor."""
        x = np.asarray(x, dtype=float).reshape(len(x), -1)
        out = np.empty((len(x), len(columns)))
        for c, (j, factor, _) in enumerate(columns):
            out[:, c] = x[:, j] if factor == 1.0 else x[:, j] * factor
        return out

    def __call__(self, batch: Batch) -> Columns:
        measures = list(self.measures)

        def quantities_of(chosen: list[outcomes.Measure]) -> Callable[[Block], np.ndarray]:
            def reduce(block: Block) -> np.ndarray:  # (replicate, point, measure)
                return np.stack([outcomes.quantity(m, block, block.params) for m in chosen], -1)
            return reduce

        def summarise(q: np.ndarray) -> np.ndarray:  # (point, measure, 3)
            return outcomes.statistics(measures, np.moveaxis(q, 0, -1))

        effects = [i for i, m in enumerate(measures) if m.effect]
        k, post = len(batch.points), self.posterior
        x, seeds = self._rows(batch, self.expand(batch.values, self.columns),
                              post.columns if post is not None else ())
        try:
            if not effects and post is None:
                stats = simulate_batch(self.patch, x, self.replicates, seeds,
                                       reduce=quantities_of(measures), summarise=summarise)
            else:
                q = self._pooled(simulate_batch(self.patch, x, self.replicates, seeds,
                                                reduce=quantities_of(measures)), k)
                if effects:  # q: (point, replicate, measure)
                    cf = self.counterfactual_patch
                    assert cf is not None  # outcomes with effects were checked to have one
                    x_cf, _ = self._rows(
                        batch, self.expand(batch.values, self.counterfactual_columns),
                        post.counterfactual_columns if post is not None else ())
                    q[..., effects] -= self._pooled(simulate_batch(
                        cf, x_cf, self.replicates, seeds,
                        reduce=quantities_of([measures[i] for i in effects])), k)
                stats = outcomes.statistics(measures, np.moveaxis(q, 1, -1))
        except ScenarioError as err:
            raise SimError(f"points {batch.points[0]}-{batch.points[-1]}: {err}") from None
        out: Columns = {"point": np.asarray(batch.points, dtype=np.int64)}
        for i, name in enumerate(outcomes.columns(measures)):
            out[name] = stats.reshape(len(stats), -1)[:, i]
        return out


@dataclass(frozen=True)
class FunctionTask:
    """Evaluate a vectorised function of the design, ``f(X (k, D)) -> (k,)``.

    Known cases (e.g. SALib's Ishigami function) run through the same executors, store and
    analysis as a scenario, so the pipeline can be checked against analytical answers. The
    function must be importable by name in the workers.
    """

    func: Callable[[np.ndarray], np.ndarray]
    name: str
    work: int = 1

    def __call__(self, batch: Batch) -> Columns:
        y = np.asarray(self.func(np.asarray(batch.values, dtype=float)), dtype=float)
        if y.shape != (len(batch.points),):
            raise ValueError(f"{self.name}: expected one value per point, found shape {y.shape}")
        return {
            "point": np.asarray(batch.points, dtype=np.int64),
            self.name: y,
            f"{self.name}.p5": y,
            f"{self.name}.p95": y,
        }


@dataclass(frozen=True)
class Execution:
    """How a sweep ran: the executor and its number of worker slots."""

    executor: str
    slots: int


def make_batches(
    points: np.ndarray, values: np.ndarray, seeds: np.ndarray, slots: int, work: int = 1
) -> list[Batch]:
    """Points cut into batches of about :data:`BATCH_WORK` replicate-rounds (``work``: a point's).

    With several worker slots a batch is made smaller if that leaves each slot
    :data:`BATCHES_PER_SLOT` batches to balance the load.
    """
    n = len(points)
    size = max(1, math.ceil(BATCH_WORK / max(work, 1)))
    if slots > 1:
        size = max(1, min(size, math.ceil(n / (slots * BATCHES_PER_SLOT))))
    pts = np.asarray(points, dtype=np.int64)
    vals = np.asarray(values, dtype=float).reshape(n, -1)
    sds = np.asarray(seeds, dtype=np.uint64)
    return [Batch(pts[lo : lo + size], vals[lo : lo + size], sds[lo : lo + size])
            for lo in range(0, n, size)]  # fmt: skip


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
    on_done: Callable[[Columns], None],
) -> Execution:
    """Run every point and pass each finished batch's columns to ``on_done`` as it completes.

    ``scheduler`` (``tcp://HOST:PORT``) runs on an existing Dask cluster; otherwise ``workers``
    local processes (1 runs in this process). By default: all cores, or this process alone if
    the whole sweep is less work (:data:`SMALL_WORK`) than starting workers would save.

    Raises:
        SettingError: bad ``workers`` or ``scheduler`` (:func:`check_executor`).
        SimError: a point's scenario fails validation, the cluster cannot be reached, or a
            worker process dies.
    """
    check_executor(workers, scheduler, reach=False)
    if scheduler is not None:
        return _dask(task, points, values, seeds, scheduler, on_done)
    n = workers if workers is not None else default_workers()
    if workers is None and len(points) * task.work < SMALL_WORK:
        n = 1
    if n == 1 or len(points) <= 1:
        for batch in make_batches(points, values, seeds, 1, task.work):
            on_done(task(batch))
        return Execution("this process", 1)
    return _local(task, make_batches(points, values, seeds, n, task.work), n, on_done)


_TASK: Task | None = None


def _install(task: Task) -> None:
    global _TASK
    _TASK = task
    exit_with_parent()
    # one BLAS thread per worker, as Dask's nannies set: N workers x N BLAS threads would
    # oversubscribe the cores the workers already share out
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    # Ctrl-C reaches the whole process group: the parent stops the sweep, workers stay quiet
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_installed(batch: Batch) -> Columns:
    assert _TASK is not None, "worker started without a task"
    return _TASK(batch)


@contextlib.contextmanager
def worker_pool(task: Task, workers: int) -> Iterator[ProcessPoolExecutor]:
    """``workers`` local processes, each with ``task`` installed once; shut down on exit.

    Submit batches with :func:`submit`. Workers are forked by a clean ``forkserver``, use one
    BLAS thread each and ignore Ctrl-C (the parent handles it).
    """
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["sim.runs.execute"])
    with ProcessPoolExecutor(
        workers, mp_context=ctx, initializer=_install, initargs=(task,)
    ) as pool:
        yield pool


def submit(pool: ProcessPoolExecutor, batch: Batch) -> Future[Columns]:
    """Run a batch on a :func:`worker_pool`'s installed task."""
    return pool.submit(_run_installed, batch)


def _local(
    task: Task, batches: list[Batch], workers: int, on_done: Callable[[Columns], None]
) -> Execution:
    limit = workers * IN_FLIGHT_PER_SLOT
    queue = iter(batches)
    with worker_pool(task, workers) as pool:
        inflight: set[Future[Columns]] = set()
        try:
            for batch in queue:
                inflight.add(submit(pool, batch))
                if len(inflight) >= limit:
                    break
            while inflight:
                done, inflight = wait(inflight, return_when=FIRST_COMPLETED)
                for fut in done:
                    on_done(fut.result())
                    nxt = next(queue, None)
                    if nxt is not None:
                        inflight.add(submit(pool, nxt))
        except BrokenProcessPool:
            raise SimError(
                "a worker process died (out of memory?); the points finished so far are kept"
            ) from None
        finally:
            for fut in inflight:
                fut.cancel()
    return Execution(f"{workers} local processes", workers)


def check_executor(workers: int | None, scheduler: str | None, *, reach: bool = True) -> None:
    """Refuse local ``workers`` or a Dask ``scheduler`` address that cannot run points, before
    anything is written: workers below 1, both at once, an address not of the form
    ``tcp://HOST:PORT`` and (``reach``) one where nothing listens.

    Raises:
        SettingError: naming ``workers`` or ``scheduler``.
    """
    if scheduler is not None:
        if workers is not None:
            raise SettingError(
                "workers", "the cluster's workers run the points; not with", others=("scheduler",)
            )
        _probe(scheduler, reach=reach)
    elif workers is not None and workers < 1:
        raise SettingError("workers", f"expected at least 1, found {workers}")


def _probe(scheduler: str, *, reach: bool = True) -> None:
    """Fail fast, in one line, if the address is malformed or (``reach``) nothing listens."""
    proto, _, rest = scheduler.partition("://")
    host, _, port = rest.rpartition(":")
    if proto not in ("tcp", "tls") or not host or not port.isdigit() or int(port) > 65535:
        raise SettingError(
            "scheduler", f"expected an address like tcp://HOST:PORT, found {scheduler!r}"
        )
    if not reach:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
    except OSError as err:
        raise SettingError(
            "scheduler", f"cannot reach {scheduler} ({err.strerror or type(err).__name__})"
        ) from None


def _apply(task: Task, batch: Batch) -> Columns:
    return task(batch)


def _dask(
    task: Task,
    points: np.ndarray,
    values: np.ndarray,
    seeds: np.ndarray,
    scheduler: str,
    on_done: Callable[[Columns], None],
) -> Execution:
    _probe(scheduler)
    from distributed import Client, as_completed

    try:
        client = Client(scheduler, timeout="15s", set_as_default=False)
    except (OSError, TimeoutError) as err:
        raise SettingError(
            "scheduler", f"cannot reach {scheduler} ({type(err).__name__})"
        ) from None
    with client:
        try:
            client.wait_for_workers(1, timeout=60)
        except TimeoutError:
            raise SettingError(
                "scheduler", f"{scheduler} has no workers (waited 60 s)"
            ) from None
        slots = max(1, sum(client.nthreads().values()))
        batches = make_batches(points, values, seeds, slots, task.work)
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
