"""The benchmarks run and print their figures (quick modes; no timings are asserted: they
depend on the machine)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from .conftest import ROOT


def test_sweep_bench_runs_every_executor_and_prints_its_figures():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p))
    proc = subprocess.run([sys.executable, "benchmarks/sweep_bench.py", "--quick", "--json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(proc.stdout)
    assert (figures["points"], figures["replicates"], figures["repeat"]) == (8, 5, 1)
    assert figures["work_ms_per_point"] > 0
    runs = figures["runs"]
    assert [r["slots"] for r in runs] == [1, 2, 2]  # this process, 2 processes, 2 Dask workers
    assert "Dask" in runs[2]["executor"]
    for r in runs:
        assert r["points"] == 8 and r["seconds"] > 0 and r["points_per_second"] > 0
        assert isinstance(r["overhead_ms_per_point"], float)
