"""Drawing a results folder's figures: each drawn once, as PNG (SVG on request), in parallel.

A figure is a :class:`Job`: a figure function of :mod:`sim.plots` (arrays in, ``Figure``
out), its arguments and the file stem it is saved under. :class:`Drawing` draws a list of
jobs into a folder: in this process alone, or shared with worker processes, which take jobs as
they come free while this process draws too. Workers start from a server process that has
imported the figure code once (``forkserver``), so they inherit no threads or locks; start
them early (:meth:`Drawing.start`), and they get ready while the results are computed.

Saving a figure is most of its cost (laying it out and rasterising it), and does not change
with the process that does it: the files are the same bytes, whichever draws them.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from matplotlib.figure import Figure

from sim import plots
from sim.children import exit_with_parent
from sim.engine import Summary, Trajectories
from sim.errors import SettingError
from sim.params import Params
from sim.scenario import Scenario

if TYPE_CHECKING:
    from sim.compare import Comparison

#: The file formats a figure can be saved in; PNG always (the report embeds it).
FORMATS = ("png", "svg")
#: Jobs handed to each worker ahead of the one it is drawing, so that it never waits for
#: this process to finish its own figure before it gets its next one.
AHEAD = 2


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
    """One figure: ``make(*args, **kwargs)`` saved as ``<folder>/<stem>.<format>``.

    ``make`` must be a module-level function (workers import it by name); ``folder`` is
    relative to the drawing's root (``""`` or e.g. ``"states"``).
    """

    stem: str
    make: Callable[..., Figure]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    folder: str = ""


def draw_one(job: Job, root: Path, formats: tuple[str, ...]) -> list[Path]:
    """Build one figure and save it in every format; returns the files written."""
    fig = job.make(*job.args, **job.kwargs)
    return plots.save(fig, root / job.folder if job.folder else root, job.stem, formats)


def _ready() -> int:
    """A worker's first task: nothing (the server imported the figure code already)."""
    return os.getpid()


def default_workers() -> int:
    """Processes drawing figures at once, this one included: the cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class Drawing:
    """Figures drawn into one folder, by this process and ``workers - 1`` helper processes.

    Use as a context manager: the helpers stop when it ends, whatever happened. With
    ``workers`` 1 every figure is drawn here, one after the other.
    """

    def __init__(self, workers: int | None = None, formats: Sequence[str] = ("png",)) -> None:
        self.workers = max(1, default_workers() if workers is None else workers)
        self.formats = check_formats(formats)
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Drawing:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def start(self) -> None:
        """Start the helpers now, so they are ready when the figures are (no-op for one)."""
        if self.workers > 1 and self.pool is None:
            ctx = mp.get_context("forkserver")
            ctx.set_forkserver_preload(["sim.figures"])
            self.pool = ProcessPoolExecutor(self.workers - 1, mp_context=ctx,
                                            initializer=exit_with_parent)
            for _ in range(self.workers - 1):
                self.pool.submit(_ready)

    def close(self) -> None:
        """Stop the helpers (figures not yet begun are dropped)."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def draw(self, jobs: Iterable[Job], root: Path,
             done: Callable[[Job], None] | None = None) -> list[Path]:
        """Draw every job into ``root``; ``done`` is told of each figure as it is saved.

        Returns the files written, in the jobs' order.
        """
        todo = deque(enumerate(jobs))
        files: dict[int, list[Path]] = {}
        if self.workers > 1 and len(todo) > 1:
            self.start()
        pool = self.pool
        running: dict[Future[list[Path]], tuple[int, Job]] = {}

        def feed() -> None:
            assert pool is not None
            while todo and len(running) < AHEAD * (self.workers - 1):
                i, job = todo.pop()  # helpers take from the end, this process from the start
                running[pool.submit(draw_one, job, root, self.formats)] = (i, job)

        def collect(finished: Iterable[Future[list[Path]]]) -> None:
            for fut in finished:
                i, job = running.pop(fut)
                files[i] = fut.result()
                if done is not None:
                    done(job)

        while todo:
            if pool is not None:
                collect([f for f in running if f.done()])
                feed()
                if not todo:
                    break
            i, job = todo.popleft()
            files[i] = draw_one(job, root, self.formats)
            if done is not None:
                done(job)
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            collect(finished)
        return [path for i in sorted(files) for path in files[i]]


# --------------------------------------------------------------------------- what results draw


def run_jobs(s: Summary, p: Params, sc: Scenario, traj: Trajectories | None = None,
             look: plots.Look | None = None) -> list[Job]:
    """A run's figures (:func:`sim.plots.standard` and :func:`sim.plots.per_state`), as jobs.

    The most expensive come first (small multiples), so that the figures drawn last, in
    parallel, are short ones.
    """
    lk = look or plots.make_look(p, sc)
    common: dict[str, Any] = {"title": sc.title, "look": lk}
    jobs = [
        Job("alignment_by_state", plots.alignment_paths, (s, p), common),
        Job("alignment_composition", plots.composition_grid, (s, p), common),
        Job("hedging_index", plots.hedging, (s, p), common),
        Job("final_alignment_heatmap", plots.final_heatmap, (s, p), common),
        Job("regional_share", plots.regional_share, (s, p), common),
        Job("money_delivered", plots.money_delivered, (s, p), common),
    ]
    if lk.blocs:
        jobs.insert(3, Job("bloc_shares", plots.bloc_shares, (s, p), {**common, "traj": traj}))
    jobs += [Job(f"alignment_{c}", plots.state_composition, (s, p), {**common, "state": c},
                 folder="states") for c in p.states]
    return jobs


def compare_jobs(c: Comparison) -> list[Job]:
    """A comparison's figures: each state's difference at the end, each power's over time."""
    a, table, region = c.params_a, c.differences, c.region
    look = plots.make_look(a, c.scenario_a)  # both scenarios' events marked
    events = sorted(set(look.events) | set(plots.markers(c.scenario_b, a.dates)),
                    key=lambda m: (m.when, m.kind, m.power or ""))
    look = dataclasses.replace(look, events=tuple(events))
    shape = (len(a.states), len(a.powers))
    final = [table[k].to_numpy().reshape(shape) for k in ("diff_mean", "diff_p5", "diff_p95")]
    over_time = [region[k].to_numpy().reshape(len(a.dates), len(a.powers))
                 for k in ("diff_mean", "diff_p5", "diff_p95")]
    draws = (f" ({len(c.posterior.draws)} posterior draws x "
             f"{c.replicates // len(c.posterior.draws)})" if c.posterior is not None else "")
    common: dict[str, Any] = {"a": c.label_a, "b": c.label_b, "look": look,
                              "interval": c.interval.label,
                              "note": f"{c.replicates} paired replicates on common random "
                                      f"numbers{draws}."}
    return [
        Job("difference", plots.difference_final, (a.states, a.powers, *final),
            {**common, "when": c.end}),
        Job("regional_share_difference", plots.difference_paths, (a.dates, *over_time),
            {**common, "powers": a.powers,
             "answer": c.end if c.headline.get("path") else None}),
    ]
