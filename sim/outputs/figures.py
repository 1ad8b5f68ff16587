"""Drawing a results folder's figures: each drawn once, as PNG (SVG on request), in parallel.

A figure is a :class:`Job`: the name of a figure function of :mod:`sim.outputs.plots` (arrays in,
``Figure`` out), its arguments and the file stem it is saved under. :class:`Drawing` draws a
list of jobs into a folder: in this process alone, or in helper processes, one per core, while
this process goes on with the rest of the folder (the tables). Helpers start from a server
process that has imported the figure code once (``forkserver``), so they inherit no threads or
locks; start them early (:meth:`Drawing.start`, which returns at once), and they get ready
while the results are computed. This process then never imports the plotting library.

Saving a figure is most of its cost (laying it out and rasterising it), and does not change
with the process that does it: the files are the same bytes, whichever draws them.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing as mp
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from sim.core.children import exit_with_parent
from sim.core.errors import SettingError
from sim.model.engine import Summary, Trajectories
from sim.model.params import Params
from sim.outputs import look as looks
from sim.scenario.schema import Scenario

#: The file formats a figure can be saved in; PNG always (the report embeds it).
FORMATS = ("png", "svg")
#: What the helpers' server imports once, for every helper: the figure code and what saving a
#: PNG loads on first use, with Ctrl-C ignored meanwhile (the command handles it).
PRELOAD = ["sim.core.ignore_interrupts", "sim.outputs.plots", "matplotlib.backends.backend_agg",
           "PIL.PngImagePlugin", "sim.core.restore_interrupts"]


def check_formats(formats: Sequence[str]) -> tuple[str, ...]:
    """The formats asked for, PNG first; anything else is refused.

    Raises:
        SettingError: an unknown format, or a list without PNG.
    """
    out = tuple(dict.fromkeys(formats))
    bad = [f for f in out if f not in FORMATS]
    if bad or "png" not in out:
        raise SettingError("formats", f"expected png, optionally with svg; found {list(out)}")
    return ("png", *(f for f in out if f != "png"))


@dataclass(frozen=True)
class Job:
    """One figure: ``sim.outputs.plots.<make>(*args, **kwargs)`` saved as
    ``<folder>/<stem>.<format>``.

    ``make`` names a figure function of :mod:`sim.outputs.plots` (by name, so that neither this
    process nor the job needs the plotting library until the figure is drawn); ``folder`` is
    relative to the drawing's root (``""`` or e.g. ``"states"``).
    """

    stem: str
    make: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    folder: str = ""


def draw_one(job: Job, root: Path, formats: tuple[str, ...]) -> list[Path]:
    """Build one figure and save it in every format; returns the files written."""
    from sim.outputs import plots

    fig = getattr(plots, job.make)(*job.args, **job.kwargs)
    return plots.save(fig, root / job.folder if job.folder else root, job.stem, formats)


def _ready() -> int:
    """A helper's first task: load what its first figure would (fonts, the PNG writer), so
    that it is ready when the figures are. What is loaded by then (modules, fonts) lives as
    long as the helper: it is kept out of the garbage collector's scans, which otherwise
    revisit it every few figures (about a tenth of a figure's time)."""
    from sim.outputs import plots

    plots.warm_up()
    gc.freeze()
    return os.getpid()


def default_workers() -> int:
    """Processes drawing figures at once: the cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class Drawing:
    """Figures drawn into one folder: by this process with ``workers`` 1, one after the other;
    else by ``workers`` helper processes, while this process does something else.

    Use as a context manager: the helpers stop when it ends, whatever happened.
    """

    def __init__(self, workers: int | None = None, formats: Sequence[str] = ("png",)) -> None:
        self.workers = max(1, default_workers() if workers is None else workers)
        self.formats = check_formats(formats)
        self.pool: ProcessPoolExecutor | None = None
        self._starting: threading.Thread | None = None
        self._failed: BaseException | None = None
        self._todo: list[tuple[int, Job, Path]] = []  # begun, to be drawn here
        self._running: dict[Future[list[Path]], int] = {}  # begun, handed to the helpers
        self._jobs: dict[int, Job] = {}

    def __enter__(self) -> Drawing:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def start(self) -> None:
        """Start the helpers (no-op for one process). Returns at once: they are started from a
        thread, since starting the first one waits for the server to import the figure code,
        and this process has better things to do meanwhile."""
        if self.workers > 1 and self.pool is None and self._starting is None:
            self._starting = threading.Thread(target=self._start, name="figure-helpers",
                                              daemon=True)
            self._starting.start()

    def _start(self) -> None:
        try:
            ctx = mp.get_context("forkserver")
            ctx.set_forkserver_preload(PRELOAD)
            pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=exit_with_parent)
            self.pool = pool
            for _ in range(self.workers):
                pool.submit(_ready)
        except BaseException as err:  # told to the caller when it needs the helpers
            self._failed = err

    def _pool(self) -> ProcessPoolExecutor:
        """The helpers, once started."""
        self.start()
        if self._starting is not None:
            self._starting.join()
            self._starting = None
        if self._failed is not None:
            failed, self._failed = self._failed, None
            raise failed
        assert self.pool is not None
        return self.pool

    def close(self) -> None:
        """Stop the helpers (figures not yet begun are dropped)."""
        if self._starting is not None:
            self._starting.join()
            self._starting = None
        self._todo, self._running, self._jobs = [], {}, {}
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    @contextlib.contextmanager
    def stopped_on_error(self) -> Iterator[None]:
        """If the block fails, stop the helpers (waiting for the figures they are drawing)
        before whatever holds the figures' folder removes it."""
        try:
            yield
        except BaseException:
            self.close()
            raise

    def begin(self, jobs: Iterable[Job], root: Path) -> None:
        """Hand the jobs to the helpers, which draw them into ``root`` while this process goes
        on; :meth:`finish` waits for them. With one process, nothing is drawn until then.

        The helpers take the jobs in their order: give the most expensive first, so that the
        last ones drawn, side by side, are short.
        """
        todo = list(enumerate(jobs, len(self._jobs)))
        self._jobs.update(todo)
        if self.workers == 1 or len(todo) < 2:
            self._todo += [(i, job, root) for i, job in todo]
            return
        pool = self._pool()
        for i, job in todo:
            self._running[pool.submit(draw_one, job, root, self.formats)] = i

    def finish(self, done: Callable[[Job], None] | None = None) -> list[Path]:
        """Wait for every figure begun (drawing here those not handed to helpers); ``done`` is
        told of each figure as it is saved. Returns the files written, in the jobs' order."""
        files: dict[int, list[Path]] = {}
        while self._todo:
            i, job, root = self._todo.pop(0)
            files[i] = draw_one(job, root, self.formats)
            if done is not None:
                done(job)
        while self._running:
            finished, _ = wait(self._running, return_when=FIRST_COMPLETED)
            for fut in sorted(finished, key=self._running.__getitem__):
                i = self._running.pop(fut)
                files[i] = fut.result()
                if done is not None:
                    done(self._jobs[i])
        self._jobs = {}
        return [path for i in sorted(files) for path in files[i]]

    def draw(self, jobs: Iterable[Job], root: Path,
             done: Callable[[Job], None] | None = None) -> list[Path]:
        """Draw every job into ``root``; ``done`` is told of each figure as it is saved.

        Returns the files written, in the jobs' order.
        """
        self.begin(jobs, root)
        return self.finish(done)


# --------------------------------------------------------------------------- what results draw


def run_jobs(s: Summary, p: Params, sc: Scenario, traj: Trajectories | None = None,
             look: looks.Look | None = None) -> list[Job]:
    """A run's figures (:func:`sim.outputs.plots.standard` and
    :func:`sim.outputs.plots.per_state`), as jobs.

    The most expensive come first (small multiples), so that the figures drawn last, in
    parallel, are short ones.
    """
    lk = look or looks.make_look(p, sc)
    common: dict[str, Any] = {"title": sc.title, "look": lk}
    jobs = [
        Job("alignment_by_state", "alignment_paths", (s, p), common),
        Job("alignment_composition", "composition_grid", (s, p), common),
        Job("hedging_index", "hedging", (s, p), common),
        Job("final_alignment_heatmap", "final_heatmap", (s, p), common),
        Job("regional_share", "regional_share", (s, p), common),
        Job("money_delivered", "money_delivered", (s, p), common),
    ]
    if lk.blocs:
        jobs.insert(3, Job("bloc_shares", "bloc_shares", (s, p), {**common, "traj": traj}))
    jobs += [Job(f"alignment_{c}", "state_composition", (s, p), {**common, "state": c},
                 folder="states") for c in p.states]
    return jobs
