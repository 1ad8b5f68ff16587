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
    """Run ``python -m sim ARGS`` in a real subprocess."""
    env = dict(os.environ, COLUMNS="200")
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
