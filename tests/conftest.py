"""Shared test helpers."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CASES = Path(__file__).resolve().parent / "cases"
TINY = CASES / "tiny.yaml"
FLAGSHIP = ROOT / "scenarios" / "tokyo_initiative.yaml"


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m sim ARGS`` in a real subprocess, on this tree's ``sim`` from any folder."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, COLUMNS="200", PYTHONPATH=path)
    return subprocess.run(
        [sys.executable, "-m", "sim", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        timeout=timeout,
        env=env,
        check=False,
    )


def session_processes(session: int) -> list[str]:
    """The processes (``pid command``) of a session, from ``/proc`` (Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        if int(fields[3]) == session and fields[0] != "Z":  # session id; zombies are gone
            found.append(f"{entry.name} {command.strip()}")
    return found


def kill_9_leaves_nothing(proc: subprocess.Popen[bytes], grace: float = 10.0) -> list[str]:
    """``kill -9`` a process started in its own session (its children are left alone, as
    when the machine's OOM killer or a user kills it), then wait ``grace`` seconds for the rest
    of its session to end; returns what is still running (then killed)."""
    if not Path("/proc/self/stat").is_file():
        pytest.skip("needs /proc to list a session's processes (Linux)")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    end = time.monotonic() + grace
    while (left := session_processes(proc.pid)) and time.monotonic() < end:
        time.sleep(0.1)
    if left:
        os.killpg(proc.pid, signal.SIGKILL)  # the session's process group: clean up after a failure
    return left


class SmallDisk:
    """A small file system of its own (a tmpfs), to fill up or make read-only."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fill(self) -> None:
        """Take every byte left (a file of zeros), as another program filling the disk would."""
        with (self.path / ".filler").open("ab", buffering=0) as fh:
            for size in (1 << 16, 1 << 12, 1):
                block = bytes(size)
                try:
                    while True:
                        fh.write(block)
                except OSError as err:
                    if err.errno != errno.ENOSPC:
                        raise

    def free(self) -> None:
        """Give the space back (as after deleting files elsewhere)."""
        (self.path / ".filler").unlink(missing_ok=True)

    def read_only(self) -> None:
        subprocess.run(["mount", "-o", "remount,ro", str(self.path)], check=True)


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 4 MB tmpfs mounted at ``tmp_path / "disk"`` (needs root and a kernel that allows it;
    skipped with the reason otherwise), unmounted afterwards."""
    path = tmp_path / "disk"
    path.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill up needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(path)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield SmallDisk(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.fixture
def tiny_params():
    from sim.model.params import build
    from sim.scenario.schema import load

    return build(load(TINY))


def _source_files() -> dict[str, tuple[int, int]]:
    """Every file of the source tree (not caches, virtual environments or git): path ->
    (size, modification time)."""
    out: dict[str, tuple[int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "__pycache__"
                       and not d.endswith(".egg-info")]
        for name in filenames:
            path = Path(dirpath) / name
            stat = path.stat()
            out[str(path.relative_to(ROOT))] = (stat.st_size, stat.st_mtime_ns)
    return out


@pytest.fixture(scope="session", autouse=True)
def source_tree_untouched():
    """No test writes into the source tree: results and scratch files go under tmp_path."""
    before = _source_files()
    yield
    after = _source_files()
    changed = sorted(k for k in after if before.get(k) != after[k])
    gone = sorted(set(before) - set(after))
    assert not changed and not gone, f"tests changed the source tree: {changed + gone}"
