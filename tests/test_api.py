"""The Python interface: results in memory, the numbers of the command line, the example script."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.core.errors import SimError
from sim.experiments.compare import CompareRequest, compute
from sim.experiments.run import RunRequest, run_scenario
from sim.outputs.outcomes import fine_points

from .conftest import ROOT, TINY

GRANTS = "powers.PX.instruments.grants.delivery_rate"


def _datetimes(df: pd.DataFrame) -> bool:
    return pd.api.types.is_datetime64_any_dtype(df["date"])


def test_run_in_memory_has_the_numbers_of_sim_run(tmp_path: Path):
    r = sim.run(TINY, replicates=9, set={"states.AA.inertia": 0.4})
    assert r.scenario.states["AA"].inertia.value == 0.4
    assert "set on the command line" in str(r.scenario.states["AA"].inertia.why)
    written = run_scenario(RunRequest(TINY, replicates=9, sets=("states.AA.inertia=0.4",),
                                      out=tmp_path / "cli", plots=False))
    pd.testing.assert_frame_equal(r.final, written.final)
    for table in (r.region, r.by_round, r.hedging, r.alignment):
        assert _datetimes(table)
    assert len(r.alignment) == 9 * 9 * 2 * 2  # replicates x round boundaries x states x powers
    assert r.region["date"].iloc[0] == pd.Timestamp("2026-01-01")
    assert r.headline["powers"][0]["code"] == "PX"
    folder = r.save(tmp_path / "saved")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == "run" and manifest["replicates"] == 9
    assert (folder / "report.html").is_file()
    assert (folder / "plots" / "regional_share.png").is_file()
    with pytest.raises(SimError, match="already exists"):
        r.save(folder)
    assert not sim.run(TINY, replicates=3, trajectories=False).simulation.trajectories
    with pytest.raises(SimError, match="summaries only"):
        _ = sim.run(TINY, replicates=3, trajectories=False).alignment


def test_compare_in_memory_pairs_like_sim_compare(tmp_path: Path):
    c = sim.compare(TINY, set_b={GRANTS: 0.9}, replicates=20)
    direct = compute(CompareRequest(TINY, sets_b=(f"{GRANTS}=0.9",), replicates=20))
    np.testing.assert_array_equal(c.comparison.paired.final, direct.paired.final)
    assert c.effect["power"] == "PX" and c.effect["mean"] > 0
    assert c.effect["interval"] == "90% interval (noise only)"
    assert _datetimes(c.region) and len(c.differences) == 4
    assert "Power X's share of the region's alignment" in c.answer()
    assert f"a change of {fine_points(c.effect['median'])} pp (median" in c.answer()
    folder = c.save(tmp_path / "cmp", plots=False)
    assert json.loads((folder / "manifest.json").read_text())["overrides_b"] == [f"{GRANTS}=0.9"]
    assert not (folder / "plots").exists()


def test_overrides_take_numbers_ids_and_mappings():
    from sim.api import overrides

    assert overrides({"a.b": 0.25, "c": 3, "d": "kaz_gdp_2024",
                      "e": {"value": 0.3, "why": "a reason"}}) == (
        "a.b=0.25", "c=3", "d=kaz_gdp_2024", "e={value: 0.3, why: a reason}")


def test_sweep_in_memory_keeps_its_folder_as_long_as_its_result(tmp_path: Path):
    s = sim.sweep(TINY, params={"dynamics.sharpness": (1.0, 3.0, 3)}, replicates=4)
    assert list(s.outcomes["dynamics.sharpness"]) == [1.0, 2.0, 3.0]
    assert s.sensitivity is None and "PX_region" in s.outcomes.columns
    assert s.outcomes["PX_region"].is_monotonic_increasing or \
        s.outcomes["PX_region"].is_monotonic_decreasing
    copy = s.save(tmp_path / "copy")
    assert (copy / "outcomes.parquet").is_file() and (copy / "report.html").is_file()
    temporary = s.folder
    assert temporary.is_dir()
    del s
    gc.collect()
    assert not temporary.exists()  # the temporary folder went with the result
    kept = sim.sweep(TINY, params={"dynamics.sharpness": (1.0, 3.0, 2)}, replicates=2,
                     out=tmp_path / "mine")
    assert kept.folder.is_relative_to(tmp_path / "mine")


def test_sim_run_is_both_the_module_and_the_function():
    """`sim.run(...)` calls the interface; `sim.run` is still the module `sim/experiments/run.py`,
    however it is reached (so `from sim import run; run._write` and monkeypatching keep working)."""
    import sim.experiments.run as module
    from sim import run as imported

    assert module is imported is sim.run is sys.modules["sim.experiments.run"]
    assert sim.run.RunRequest is RunRequest and callable(sim.compare) and callable(sim.sweep)
    assert isinstance(sim.run(TINY, replicates=2), sim.RunResult)


def test_the_documented_example_runs(tmp_path: Path):
    script = ROOT / "docs" / "examples" / "api_tour.py"
    proc = subprocess.run([sys.executable, str(script), str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=900, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Japan's effect on its share of the region: +" in proc.stdout
    assert "90% interval (noise and parameters)" in proc.stdout  # the shipped posterior
    assert (tmp_path / "out" / "flagship" / "report.html").is_file()
    doc = (ROOT / "docs" / "api.md").read_text()
    assert "examples/api_tour.py" in doc
