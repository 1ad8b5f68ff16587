"""Interrupted runs keep their finished replicates; --resume finishes them without redoing any."""

from __future__ import annotations

import signal
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import sim.experiments.run
from sim.core.errors import MachineError, SimError
from sim.experiments.run import RunRequest, run_scenario
from sim.model import abm as model
from sim.model import engine, engines
from sim.runs import checkpoint

from .conftest import TINY, run_cli

REPLICATES, CHUNK = 50, 8  # 7 chunks, the last one short


class Advance:
    """A run's progress that calls ``on_chunk`` with each chunk's replicates."""

    def __init__(self, on_chunk: Callable[[int], None]) -> None:
        self.on_chunk = on_chunk

    def start(self, what: str, total: int) -> None:
        assert what and total > 0

    def advance(self, done: int) -> None:
        self.on_chunk(done)


def _interrupt_after(chunks: int) -> Advance:
    """A run's progress that sends this process a real SIGINT after ``chunks`` chunks."""
    seen: list[int] = []

    def progress(k: int) -> None:
        seen.append(k)
        if len(seen) == chunks:
            signal.raise_signal(signal.SIGINT)

    return Advance(progress)


def _files(folder: Path, keep: bool) -> dict[str, object]:
    out: dict[str, object] = {
        name: (folder / name).read_bytes() for name in ("summary.csv", "region.csv", "hedging.csv")
    }
    out["by_round"] = pq.read_table(folder / "summary_by_round.parquet")
    if keep:
        out["alignment"] = pq.read_table(folder / "alignment.parquet")
    return out


@pytest.mark.parametrize(
    "engine_name, keep",
    [("ensemble", True), ("ensemble", False), ("mesa", True)],  # Mesa always keeps paths
    ids=["trajectories", "summary-only", "mesa"],
)
def test_resumed_run_equals_an_uninterrupted_one(tmp_path, monkeypatch, engine_name, keep):
    monkeypatch.setitem(engines.CHUNK, engine_name, CHUNK)
    opts = dict(replicates=REPLICATES, trajectories=keep, engine=engines.Engine(engine_name),
                write_report=False)
    with pytest.raises(KeyboardInterrupt, match=r"24 of 50 replicates are saved in .*--resume"):
        run_scenario(RunRequest(TINY, out=tmp_path / "a", **opts), progress=_interrupt_after(3))
    (partial,) = (tmp_path / "a" / "tiny").iterdir()
    assert partial.name.startswith(checkpoint.PREFIX)

    calls: list[int] = []
    real_simulate, real_mesa = engine.simulate, model.run_replicates
    monkeypatch.setattr(engine, "simulate", lambda p, reps, seed=None: (
        calls.append(len(reps)), real_simulate(p, reps, seed))[1])
    monkeypatch.setattr(model, "run_replicates", lambda p, reps, seed: (
        calls.append(len(reps)), real_mesa(p, reps, seed))[1])
    done = run_scenario(RunRequest(resume=partial, write_report=False)).folder
    assert calls == [8, 8, 8, 2]  # only the four chunks that were not saved
    assert not partial.exists() and done.parent == partial.parent

    whole = run_scenario(RunRequest(TINY, out=tmp_path / "b", **opts)).folder
    assert _files(done, keep) == _files(whole, keep)


def test_second_interrupt_keeps_what_was_saved(tmp_path, monkeypatch):
    """Ctrl-C twice stops at once: the chunk in hand is lost, those saved before are kept."""
    monkeypatch.setitem(engines.CHUNK, "ensemble", CHUNK)
    monkeypatch.setattr(checkpoint, "SAVE_EVERY", 0.0)  # save after every chunk

    def progress(k: int, seen: list[int] = []) -> None:  # noqa: B006 - a counter
        seen.append(k)
        if len(seen) == 2:
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGINT)

    with pytest.raises(KeyboardInterrupt, match="8 of 50 replicates are saved"):
        run_scenario(RunRequest(TINY, replicates=REPLICATES, out=tmp_path, write_report=False),
                     progress=Advance(progress))
    (partial,) = (tmp_path / "tiny").iterdir()
    assert run_scenario(RunRequest(resume=partial, write_report=False)).folder.is_dir()


def test_interrupt_before_any_chunk_keeps_nothing(tmp_path, monkeypatch):
    def boom(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "simulate", boom)
    with pytest.raises(KeyboardInterrupt, match="nothing half-written was kept"):
        run_scenario(RunRequest(TINY, replicates=5, out=tmp_path, write_report=False))
    assert [p for p in tmp_path.rglob("*") if p.is_file() or p.name.startswith(".")] == []


def test_resume_refuses_a_changed_scenario(tmp_path, monkeypatch):
    monkeypatch.setitem(engines.CHUNK, "ensemble", CHUNK)
    copy = tmp_path / "tiny.yaml"
    copy.write_text(TINY.read_text(encoding="utf-8"), encoding="utf-8")
    for extra in TINY.parent.glob("*"):  # the scenario's facts and parents, beside it
        if extra.is_dir() and not (tmp_path / extra.name).exists():
            (tmp_path / extra.name).symlink_to(extra)
    with pytest.raises(KeyboardInterrupt):
        run_scenario(RunRequest(copy, replicates=REPLICATES, out=tmp_path / "r",
                                write_report=False), progress=_interrupt_after(1))
    (partial,) = (tmp_path / "r" / "tiny").iterdir()
    copy.write_text(copy.read_text(encoding="utf-8").replace("seed: ", "seed: 1", 1),
                    encoding="utf-8")
    with pytest.raises(SimError, match="changed since the run"):
        run_scenario(RunRequest(resume=partial, write_report=False))
    assert partial.is_dir()  # refused, and kept for a resume once the file is put back


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--resume", "nowhere"], "expected the folder of an interrupted run"),
        (["--resume", "scenarios"], "expected an interrupted run's run.json"),
        (["scenarios/no_japan.yaml", "--resume", "scenarios"], "expected no SCENARIO"),
        (["--resume", "scenarios", "--replicates", "3"], "expected no --replicates"),
        ([], "SCENARIO: expected a scenario file, or a run to resume"),
    ],
)
def test_bad_resume_gets_one_line_and_exit_2(args, expected):
    proc = run_cli("run", *args)
    assert proc.returncode == 2
    assert expected in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("worth_saving", [True, False])
def test_interrupt_while_writing(tmp_path, monkeypatch, worth_saving):
    """Ctrl-C while writing: a simulation worth saving is kept for --resume, a short one is not."""
    import sim.experiments.run

    monkeypatch.setattr(checkpoint, "SAVE_AT_END", 0.0 if worth_saving else float("inf"))
    real_write = sim.experiments.run._write

    def interrupted(*args: object, **kw: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(sim.run, "_write", interrupted)
    expected = "every replicate is saved" if worth_saving else "nothing half-written was kept"
    with pytest.raises(KeyboardInterrupt, match=expected):
        run_scenario(RunRequest(TINY, replicates=REPLICATES, out=tmp_path, write_report=False))
    left = list((tmp_path / "tiny").iterdir())
    if not worth_saving:
        assert left == []
        return
    (partial,) = left
    monkeypatch.setattr(sim.run, "_write", real_write)
    monkeypatch.setattr(engine, "simulate", lambda *a: pytest.fail("simulated again"))
    assert run_scenario(RunRequest(resume=partial, write_report=False)).folder.is_dir()


# --------------------------------------------------------------------------- the machine


def test_a_full_disk_keeps_the_saved_chunks_and_resume_finishes_the_run(
    tmp_path, monkeypatch, small_disk
):
    """The disk fills while chunk 3 is saved: one MachineError says what is kept; once space
    is freed, --resume gives the numbers of an uninterrupted run."""
    monkeypatch.setitem(engines.CHUNK, "ensemble", CHUNK)
    monkeypatch.setattr(checkpoint, "SAVE_EVERY", 0.0)  # save after every chunk
    opts = dict(replicates=REPLICATES, trajectories=True, write_report=False)

    def fill_at_third(k: int, seen: list[int] = []) -> None:  # noqa: B006 - a counter
        seen.append(k)
        if len(seen) == 3:
            small_disk.fill()

    with pytest.raises(MachineError) as err:
        run_scenario(RunRequest(TINY, out=small_disk.path, **opts), progress=Advance(fill_at_third))
    (partial,) = (small_disk.path / "tiny").iterdir()
    assert str(err.value) == (
        f"{small_disk.path / 'tiny'}: no space left on the device (the disk is full) (an "
        "environment failure, not a mistake in the input); 16 of 50 replicates are saved in "
        f"{partial}; once that is fixed, finish with: sim run --resume {partial}"
    )
    assert sorted(p.name for p in partial.iterdir()) == [
        "part-000000-000001.npz", "part-000001-000002.npz", "run.json"]  # no temporary file
    small_disk.free()
    done = run_scenario(RunRequest(resume=partial, write_report=False)).folder
    whole = run_scenario(RunRequest(TINY, out=tmp_path / "whole", **opts)).folder
    assert _files(done, True) == _files(whole, True)


def test_a_full_disk_before_anything_is_saved_leaves_nothing(monkeypatch, small_disk):
    monkeypatch.setattr(checkpoint, "SAVE_AT_END", float("inf"))  # a short run: not saved
    real_write = sim.experiments.run._write

    def write_on_a_full_disk(*args: object, **kw: object) -> Path:
        small_disk.fill()
        return real_write(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(sim.run, "_write", write_on_a_full_disk)
    with pytest.raises(MachineError, match=r"the disk is full.*; nothing was kept$"):
        run_scenario(RunRequest(TINY, replicates=REPLICATES, out=small_disk.path))
    assert list((small_disk.path / "tiny").iterdir()) == []  # no partial, no .incomplete-


def test_a_huge_run_makes_its_chunks_as_it_goes(tmp_path, tiny_params):
    """A run of many replicates starts at once, in little memory: its chunks of replicate
    indices are made one by one, not all before the first is simulated (200,000 chunks of 64
    indices would take 125 MB here; 2 ** 34 of them, all the memory there is)."""
    spec = {"replicates": 64 * 200_000, "seed": 1, "chunk": 64, "engine": "ensemble",
            "trajectories": False}

    class EnoughError(Exception):
        pass

    def stop_at_third(k: int, seen: list[int] = []) -> None:  # noqa: B006 - a counter
        seen.append(k)
        if len(seen) == 3:
            raise EnoughError

    tracemalloc.start()
    try:
        with pytest.raises(EnoughError):
            checkpoint.simulate(tmp_path, tiny_params, spec, stop_at_third)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40e6, peak  # the summary's histograms and three chunks
