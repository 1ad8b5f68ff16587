"""Shared test helpers."""

from __future__ import annotations

import os
import subprocess
import sys
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


@pytest.fixture
def tiny_params():
    from sim.params import build
    from sim.scenario import load

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
