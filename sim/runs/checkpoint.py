"""Interruptible runs: keep finished replicates while a run goes, and pick them up again.

A run keeps its work in a hidden folder beside its destination,
``<out>/<scenario>/.partial-<run-id>/``: ``run.json`` (what was asked), then either
``part-<first>-<end>.npz`` files (the trajectories of chunks ``first .. end - 1``) or
``state.npz`` (the streaming summaries after the first ``chunks_done`` chunks). Work is saved
between chunks: every :data:`SAVE_EVERY` seconds, when the simulation ends (if the unsaved
part took :data:`SAVE_AT_END` seconds or more: short runs are not worth it), and at once when
Ctrl-C comes (the signal waits for the chunk in hand; a second Ctrl-C stops at once, keeping
what was saved before). Resuming loads the saved work and simulates only the chunks after it,
in the same order and with the same chunk size, so the result equals an uninterrupted run's
bit for bit. Every file is written under a temporary name and renamed, so a kill at any
moment leaves the saved work readable.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from sim.core.children import TERMINATED
from sim.core.errors import SimError
from sim.model import engine, engines
from sim.model.params import Params
from sim.outputs import results

#: Seconds of simulation between saves (besides the saves at the end and on Ctrl-C).
SAVE_EVERY = 20.0
#: Unsaved simulation (seconds) worth saving when the simulation ends, before the writing.
SAVE_AT_END = 1.0
SPEC = "run.json"
STATE = "state.npz"
PREFIX = ".partial-"


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run, after the finished chunks were saved."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__(f"{done} of {total} chunks saved")
        self.done, self.total = done, total


def create(parent: Path, run_id: str, spec: dict[str, Any]) -> Path:
    """Make the partial folder of a new run and write what was asked into it."""
    folder = parent / f"{PREFIX}{run_id}"
    folder.mkdir(parents=True)
    try:
        _write_json(folder / SPEC, spec)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def read_spec(folder: Path) -> dict[str, Any]:
    """What an interrupted run asked for; a clear error if ``folder`` is not one."""
    path = folder / SPEC
    if not folder.is_dir():
        raise SimError(f"{folder}: --resume: expected the folder of an interrupted run, found none")
    if not path.is_file():
        raise SimError(f"{folder}: --resume: expected an interrupted run's {SPEC}, found none")
    try:
        spec: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise SimError(f"{path}: expected JSON, found an error at line {err.lineno}") from None
    return spec


def saved_replicates(folder: Path, spec: dict[str, Any]) -> int:
    """How many replicates of the run are saved in ``folder``."""
    done = _saved_chunks(folder)
    return min(done * int(spec["chunk"]), int(spec["replicates"]))


def _saved_chunks(folder: Path) -> int:
    if (folder / STATE).is_file():
        with np.load(folder / STATE) as z:
            return int(z["chunks_done"])
    return _parts(folder)[1]


def _parts(folder: Path) -> tuple[list[Path], int]:
    """The part files in order and the number of chunks they cover from the start."""
    spans = []
    for path in folder.glob("part-*.npz"):
        first, end = (int(x) for x in path.stem.split("-")[1:3])
        spans.append((first, end, path))
    spans.sort()
    done, files = 0, []
    for first, end, path in spans:
        if first != done:
            break
        files.append(path)
        done = end
    return files, done


def _write_json(path: Path, data: Any) -> None:
    text = json.dumps(data, indent=2, default=str) + "\n"
    results.replace_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _write_npz(path: Path, arrays: dict[str, Any]) -> None:
    def write(tmp: Path) -> None:
        with tmp.open("wb") as fh:
            np.savez(fh, **arrays)

    results.replace_atomically(path, write)


@contextlib.contextmanager
def _held_sigint() -> Iterator[Callable[[], bool]]:
    """Hold Ctrl-C (and SIGTERM, which ``kill`` and timeouts send) until the caller asks
    (between chunks); a second one raises at once."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    seen = threading.Event()

    def handler(signum: int, frame: object) -> None:
        if signum == signal.SIGTERM:
            TERMINATED.set()
        if seen.is_set():
            raise KeyboardInterrupt
        seen.set()

    previous = signal.signal(signal.SIGINT, handler)
    term = signal.signal(signal.SIGTERM, handler)
    try:
        yield seen.is_set
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, term)


def simulate(
    folder: Path,
    p: Params,
    spec: dict[str, Any],
    progress: Callable[[int], None] | None = None,
) -> tuple[engine.Trajectories | None, engine.Summary]:
    """Run (or finish) the replicates ``spec`` asks for, saving finished chunks in ``folder``.

    Returns the trajectories (when kept) and the summary, exactly as an uninterrupted
    :func:`sim.model.engine.run` with the same chunk size gives them.

    Raises:
        Interrupted: on Ctrl-C, once the finished chunks are saved.
    """
    n, seed, size = int(spec["replicates"]), int(spec["seed"]), int(spec["chunk"])
    keep, how = bool(spec["trajectories"]), engines.Engine(spec["engine"])
    total = -(-n // size)  # chunks, each made when its turn comes (a run may have billions)

    def chunk(ci: int) -> np.ndarray:
        return np.arange(ci * size, min((ci + 1) * size, n))
    kept: list[engine.Trajectories] = []
    stream = None if keep else engine.StreamingSummary(p)
    if keep:
        files, done = _parts(folder)
        for path in files:
            with np.load(path) as z:
                kept.append(engine.Trajectories(*(z[k] for k in _TRAJ_KEYS)))
    elif (folder / STATE).is_file():
        with np.load(folder / STATE) as z:
            saved = {k: z[k] for k in z.files}
        done = int(saved.pop("chunks_done"))
        assert stream is not None
        stream.restore(saved)
    else:
        done = 0
    if progress is not None and done:
        progress(min(done * size, n))

    unsaved: list[engine.Trajectories] = []
    first_unsaved = done

    def save(upto: int) -> None:
        nonlocal unsaved, first_unsaved
        if keep and unsaved:
            joined = _join(unsaved)
            _write_npz(
                folder / f"part-{first_unsaved:06d}-{upto:06d}.npz",
                {k: getattr(joined, k) for k in _TRAJ_KEYS},
            )
            kept.extend(unsaved)
        elif not keep and upto > first_unsaved:
            assert stream is not None
            _write_npz(folder / STATE, {**stream.state(), "chunks_done": np.array(upto)})
        unsaved, first_unsaved = [], upto

    if how is engines.Engine.ENSEMBLE:
        engine.expect(p, max(0, n - done * size) * p.rounds)
    last = time.monotonic()
    with _held_sigint() as stop_asked:
        for ci in range(done, total):
            reps = chunk(ci)
            traj = engines.simulate(how, p, reps, seed)
            if keep:
                unsaved.append(traj)
            else:
                assert stream is not None
                stream.add(traj)
            if progress is not None:
                progress(len(reps))
            since = time.monotonic() - last
            end = ci + 1 == total
            if stop_asked() or since >= SAVE_EVERY or (end and since >= SAVE_AT_END):
                save(ci + 1)
                last = time.monotonic()
                if stop_asked():
                    raise Interrupted(ci + 1, total)
    if keep:
        full = _join(kept + unsaved)
        return full, engine.exact_summary(full, p)
    assert stream is not None
    return None, stream.result()


_TRAJ_KEYS = ("replicates", "alignment", "debt", "delivered")


def _join(parts: list[engine.Trajectories]) -> engine.Trajectories:
    if len(parts) == 1:
        return parts[0]
    joined = (np.concatenate([getattr(t, k) for t in parts]) for k in _TRAJ_KEYS)
    return engine.Trajectories(*joined)
