"""Sweeps end to end: same numbers on any executor, resume after kill -9, Dask, the flagship."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from sim.core.errors import MachineError
from sim.experiments.sweep import SweepRequest, run_sweep
from sim.experiments.sweep.cluster import loopback_cluster
from sim.experiments.sweep.store import SweepStore
from sim.runs import execute

from .conftest import ROOT, TINY, kill_9_leaves_nothing, run_cli, session_processes

PARAMS = (
    "powers.PX.instruments.grants.delivery_rate=0.1:1",
    "dynamics.sharpness=1:6",
    "states.*.weights.debt=0:3",
)
DEADLINE = 120.0  # seconds any wait for a subprocess may take before the test fails
#: Replicates per point of the sweeps stopped part way: enough that each of their batches takes
#: a good fraction of a second, so a sweep is still running when the test stops it.
KILLED_REPLICATES = 256


def sweep(out: Path, progress=None, **kw) -> tuple[pd.DataFrame, Path]:
    """Run a tiny-region sweep and return its outcome table and folder."""
    opts = dict(source=TINY, params=PARAMS, method="lhs", samples=24, replicates=16, out=out)
    opts.update(kw)
    result = run_sweep(SweepRequest(**opts), progress=progress)
    return pq.read_table(result.folder / "outcomes.parquet").to_pandas(), result.folder


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> pd.DataFrame:
    """The reference sweep, run in this process."""
    table, _ = sweep(tmp_path_factory.mktemp("ref"), workers=1)
    return table


def test_one_row_per_point_with_design_and_outcomes(reference: pd.DataFrame):
    assert reference["point"].tolist() == list(range(24))
    for column in (
        "seed",
        "powers.PX.instruments.grants.delivery_rate",
        "dynamics.sharpness",
        "states.*.weights.debt",
        "PX_region",
        "PX_region.p5",
        "PX_region.p95",
        "hedging",
    ):
        assert column in reference.columns
    assert np.all(reference["PX_region.p5"] <= reference["PX_region"])
    assert np.all(reference["PX_region"] <= reference["PX_region.p95"])
    # regional shares of all powers add up to one at every point
    assert np.allclose(reference["PX_region"] + reference["PY_region"], 1.0)
    # the swept delivery rate moves PX's share: the outcome is not a constant
    assert reference["PX_region"].std() > 1e-4


def test_two_worker_processes_give_the_same_numbers(reference: pd.DataFrame, tmp_path: Path):
    table, folder = sweep(tmp_path, workers=2)
    pd.testing.assert_frame_equal(table, reference, check_exact=True)
    run = json.loads((folder / "manifest.json").read_text())["runs"][0]
    assert run["executor"] == "2 local processes" and run["points_run"] == 24


def test_another_seed_gives_other_numbers(reference: pd.DataFrame, tmp_path: Path):
    table, _ = sweep(tmp_path, workers=1, seed=99)
    assert not np.allclose(table["PX_region"], reference["PX_region"])


def test_common_random_numbers_share_noise_across_points(tmp_path: Path):
    # the tiny region has no corridor instrument: corridor efficiency changes nothing, so two
    # points differing only in it differ only by their random numbers
    param = ["dynamics.corridor_efficiency=0.5:2:2"]
    crn, folder = sweep(
        tmp_path / "crn", params=param, method="grid", common_random_numbers=True, workers=1
    )
    ind, _ = sweep(tmp_path / "ind", params=param, method="grid", workers=1)
    assert crn["seed"].nunique() == 1
    assert crn.loc[0, "PX_region"] == crn.loc[1, "PX_region"]
    assert ind.loc[0, "PX_region"] != ind.loc[1, "PX_region"]
    assert "common random numbers" in json.loads((folder / "manifest.json").read_text())["seeds"]


# --------------------------------------------------------------------------- kill -9 and resume


def wait_for(condition, proc: subprocess.Popen | None = None, what: str = "") -> None:
    """Poll ``condition`` until true; fail if ``proc`` ends first or the deadline passes."""
    end = time.monotonic() + DEADLINE
    while not condition():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process ended (status {proc.returncode}) before {what}")
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def long_sweep(out: Path, params: tuple[str, ...] = PARAMS) -> list[str]:
    """The command line of a sweep on two workers long enough to be stopped part way."""
    return ["sweep", str(TINY), *(f"--param={p}" for p in params), "--method", "lhs",
            "--samples", "300", "--replicates", str(KILLED_REPLICATES), "--workers", "2",
            "--out", str(out)]


def chunk_count(out: Path) -> int:
    return sum(1 for _ in out.glob("tiny/sweeps/*/chunks/points-*.parquet"))


def test_kill_9_then_resume_equals_an_uninterrupted_run(tmp_path: Path):
    out = tmp_path / "killed"
    args = long_sweep(out)
    with (tmp_path / "stderr.txt").open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sim", *args],
            cwd=ROOT,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        try:
            wait_for(lambda: chunk_count(out) >= 3, proc, "three chunks were written")
        finally:
            os.killpg(proc.pid, signal.SIGKILL)  # the sweep, its worker processes and their server
            proc.wait(timeout=DEADLINE)
    assert proc.returncode == -signal.SIGKILL
    (folder,) = out.glob("tiny/sweeps/*")
    assert not (folder / "outcomes.parquet").exists(), "the sweep finished before it was killed"
    before = SweepStore(folder).done_points()
    assert 0 < len(before) < 300
    # a chunk whose write the kill cut short exists only under its temporary name
    (folder / "chunks" / ".tmp-points-000000000-deadbeef.parquet").write_bytes(b"PAR1 cut short")

    resumed = run_cli("sweep", "--resume", str(folder), "--workers", "2", timeout=DEADLINE)
    assert resumed.returncode == 0, resumed.stderr
    table = pq.read_table(folder / "outcomes.parquet").to_pandas()
    assert table["point"].tolist() == list(range(300))  # every point once
    run = json.loads((folder / "manifest.json").read_text())["runs"][-1]
    assert run["points_before"] == len(before) and run["points_run"] == 300 - len(
        before
    )  # none redone
    assert not (folder / "chunks").exists()

    whole, _ = sweep(tmp_path / "whole", samples=300, replicates=KILLED_REPLICATES, workers=2)
    pd.testing.assert_frame_equal(table, whole, check_exact=True)


def test_kill_9_of_a_sweep_leaves_no_process_behind(tmp_path: Path):
    # only the sweep's own process is killed: its workers, their fork server and the resource
    # tracker must notice and end by themselves
    args = long_sweep(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", *args],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: chunk_count(tmp_path) >= 1, proc, "a chunk was written")
        workers = [p for p in session_processes(proc.pid) if "forkserver" in p]
        assert len(workers) >= 3, workers  # the fork server and two workers were running
    finally:
        left = kill_9_leaves_nothing(proc)
    assert left == []


def test_ctrl_c_says_how_to_resume_in_one_line(tmp_path: Path):
    out = tmp_path / "interrupted"
    args = long_sweep(out, PARAMS[1:2])
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", *args],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: chunk_count(out) >= 2, proc, "two chunks were written")
        os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C does: the whole foreground group
        _, err = proc.communicate(timeout=DEADLINE)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=DEADLINE)
    (folder,) = out.glob("tiny/sweeps/*")
    assert proc.returncode == 130
    assert err.splitlines() == [
        f"interrupted: {len(SweepStore(folder).done_points())} of 300 points are saved; "
        f"finish with sim sweep --resume {folder}"
    ]
    resumed = run_cli("sweep", "--resume", str(folder), "--workers", "1", timeout=DEADLINE)
    assert resumed.returncode == 0, resumed.stderr
    assert pq.read_table(folder / "outcomes.parquet").num_rows == 300


def test_resume_of_a_complete_sweep_runs_nothing(tmp_path: Path):
    _, folder = sweep(tmp_path, workers=1)
    again = run_sweep(SweepRequest(resume=folder))
    assert again.ran == 0 and again.points == 24


def test_a_sweep_of_a_scenario_whose_events_cite_facts_resumes_without_the_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # a scenario (like the history one) whose event names its source: a fact of the registry
    scenarios = tmp_path / "scenarios"
    (scenarios / "facts").mkdir(parents=True)
    shutil.copy(TINY, scenarios / "tiny.yaml")
    shutil.copy(TINY.parent / "facts" / "tiny.yaml", scenarios / "facts" / "tiny.yaml")
    (scenarios / "cited.yaml").write_text(
        "extends: tiny.yaml\nevents: {meeting: {source: pledge_yen}}\n", encoding="utf-8"
    )
    opts = dict(source=scenarios / "cited.yaml", params=PARAMS[:2], method="lhs", samples=12,
                replicates=16, workers=1)

    def stop_after_a_chunk(done: int, total: int) -> None:
        if done:
            raise KeyboardInterrupt

    whole, _ = sweep(tmp_path / "whole", **opts)
    monkeypatch.setattr(execute, "BATCH_WORK", 1)  # one point per batch, one chunk each
    with pytest.raises(KeyboardInterrupt, match="finish with sim sweep --resume"):
        run_sweep(SweepRequest(**opts, out=tmp_path / "cut"), progress=stop_after_a_chunk)
    (folder,) = (tmp_path / "cut").glob("tiny/sweeps/*")
    before = len(SweepStore(folder).done_points())
    assert 0 < before < 12
    shutil.rmtree(scenarios)  # neither the scenario nor its registry is needed to resume
    assert run_sweep(SweepRequest(resume=folder)).ran == 12 - before
    table = pq.read_table(folder / "outcomes.parquet").to_pandas()
    pd.testing.assert_frame_equal(table, whole, check_exact=True)
    stored = yaml.safe_load((folder / "facts" / "sources.yaml").read_text(encoding="utf-8"))
    assert [e["id"] for e in stored] == ["pledge_yen"]  # the cited fact, with its document
    assert stored[0]["source"]["url"] == "https://example.org/pledge"


def test_a_second_process_cannot_run_the_same_sweep(tmp_path: Path):
    _, folder = sweep(tmp_path, workers=1)
    store = SweepStore.open(folder)
    with store.lock():
        proc = run_cli("sweep", "--resume", str(folder))
    assert proc.returncode == 2 and "is being run by process" in proc.stderr


def test_a_full_disk_keeps_the_finished_chunks_and_the_sweep_resumes_once_space_is_freed(
    reference: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, small_disk
):
    monkeypatch.setattr(execute, "BATCH_WORK", 8 * 16 * 4)  # 4 points a batch: 6 chunks

    def fill_after_the_second(done: int, total: int) -> None:
        if done == 8:
            small_disk.fill()

    with pytest.raises(MachineError) as err:
        sweep(small_disk.path, workers=1, progress=fill_after_the_second)
    (folder,) = small_disk.path.glob("tiny/sweeps/*")
    assert str(err.value) == (
        f"{folder}: no space left on the device (the disk is full) (an environment failure, "
        "not a mistake in the input); 8 of 24 points are saved; once that is fixed, finish "
        f"with: sim sweep --resume {folder}"
    )
    assert sorted(p.name.split("-")[1] for p in (folder / "chunks").iterdir()) == [
        "000000000", "000000004"]  # two whole chunks, no temporary file
    assert json.loads((folder / "manifest.json").read_text())["status"] == "running"
    small_disk.free()
    resumed = run_sweep(SweepRequest(resume=folder, workers=1))
    assert resumed.ran == 16
    table = pq.read_table(folder / "outcomes.parquet").to_pandas()
    pd.testing.assert_frame_equal(table, reference, check_exact=True)


@pytest.mark.parametrize(
    ("option", "expect"),
    [
        (["--workers", "0"], "error: --workers: expected at least 1, found 0"),
        (["--workers", "-2"], "error: --workers: expected at least 1, found -2"),
        (["--scheduler", "localhost:8786"],
         "error: --scheduler: expected an address like tcp://HOST:PORT, found 'localhost:8786'"),
        (["--scheduler", "tcp://127.0.0.1:99999"],
         "error: --scheduler: expected an address like tcp://HOST:PORT, found "
         "'tcp://127.0.0.1:99999'"),
        (["--scheduler", "tcp://127.0.0.1:9"],
         "error: --scheduler: cannot reach tcp://127.0.0.1:9 (Connection refused)"),
        (["--scheduler", "tcp://127.0.0.1:9", "--workers", "2"],
         "error: --workers: the cluster's workers run the points; not with --scheduler"),
    ],
)
def test_bad_executor_options_are_refused_before_anything_is_written(
    option: list[str], expect: str, tmp_path: Path
):
    proc = run_cli("sweep", str(TINY), "--param", PARAMS[0], "--samples", "4", "--replicates",
                   "2", *option, "--out", str(tmp_path), timeout=DEADLINE)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [expect]
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- Dask


def test_dask_cluster_gives_the_same_numbers(reference: pd.DataFrame, tmp_path: Path):
    with loopback_cluster(tmp_path, workers=2, timeout=DEADLINE) as address:
        assert address.startswith("tcp://127.0.0.1:")
        table, folder = sweep(tmp_path / "dask", scheduler=address)
        # the command line reaches the cluster too
        proc = run_cli(
            "sweep",
            str(TINY),
            "--param",
            PARAMS[0],
            "--method",
            "lhs",
            "--samples",
            "8",
            "--replicates",
            "4",
            "--scheduler",
            address,
            "--out",
            str(tmp_path / "cli"),
            timeout=DEADLINE,
        )
    pd.testing.assert_frame_equal(table, reference, check_exact=True)
    run = json.loads((folder / "manifest.json").read_text())["runs"][0]
    assert run["executor"].startswith(f"Dask at {address}") and run["slots"] == 2
    assert proc.returncode == 0, proc.stderr
    assert "on Dask at" in proc.stdout


# --------------------------------------------------------------------------- analysis and plots


def test_one_parameter_grid_draws_a_response_curve(tmp_path: Path):
    result = run_sweep(
        SweepRequest(
            source=TINY,
            params=["powers.PX.instruments.grants.delivery_rate=0.1:1:4"],
            replicates=8,
            workers=1,
            out=tmp_path,
        )
    )
    assert (result.folder / "plots" / "response_PX_region.png").is_file()
    assert "grid, 1 parameters, 4 points" in result.report


def test_two_parameter_grid_draws_heatmaps_and_discovery(tmp_path: Path):
    result = run_sweep(
        SweepRequest(
            source=TINY,
            params=[
                "powers.PX.instruments.grants.delivery_rate=0.1:1:5",
                "dynamics.sharpness=1:6:5",
            ],
            replicates=8,
            workers=1,
            discover="PX_region>0.57",
            out=tmp_path,
        )
    )
    files = {p.name for p in (result.folder / "plots").iterdir()}
    assert {"heatmap_PX_region.png", "prim_tradeoff.png", "prim_box.png"} <= files
    box = pd.read_csv(result.folder / "prim_box.csv")
    assert set(box["parameter"]) == {
        "powers.PX.instruments.grants.delivery_rate",
        "dynamics.sharpness",
    }
    assert "Scenario discovery (PRIM): PX_region > 57.00% holds at" in result.report


def test_morris_screening_reports_mu_star(tmp_path: Path):
    result = run_sweep(
        SweepRequest(
            source=TINY,
            params=PARAMS,
            method="morris",
            samples=6,
            replicates=8,
            workers=1,
            out=tmp_path,
        )
    )
    sens = pd.read_csv(result.folder / "sensitivity.csv")
    assert len(sens) == 3 * 9  # parameters x default outcomes of the tiny region
    assert {"mu_star", "mu_star_conf", "sigma"} <= set(sens.columns)
    assert (result.folder / "plots" / "morris_PX_region.png").is_file()
    assert "Morris elementary effects on PX_region" in result.report


def test_flagship_sweep_file_prints_sobol_indices_and_writes_plots(tmp_path: Path):
    proc = run_cli(
        "sweep",
        "scenarios/sweeps/tokyo_drivers.yaml",
        "--samples",
        "8",
        "--replicates",
        "4",
        "--out",
        str(tmp_path),
        timeout=DEADLINE,
    )
    assert proc.returncode == 0, proc.stderr
    # the question comes first: the package's effect, paired against no_japan
    first = proc.stdout.index("Sobol' indices of jpn_effect_2030: Japan's effect on its share")
    assert first < proc.stdout.index("Sobol' indices of jpn_2030")
    assert "outcomes marked effect are against no_japan, paired" in proc.stdout
    for name in ("jpn_delivery", "summit_boost", "hedge_weight", "stubbornness"):
        assert name in proc.stdout
    assert "Scenario discovery (PRIM): jpn_effect_2030 > +5.00 pp" in proc.stdout
    (folder,) = tmp_path.glob("tokyo_initiative/sweeps/*")
    assert (folder / "plots" / "sobol_jpn_2030.png").is_file()
    assert (folder / "counterfactual.yaml").is_file()
    sens = pd.read_csv(folder / "sensitivity.csv")
    assert set(sens["parameter"]) == {
        "jpn_delivery",
        "value_investment",
        "summit_boost",
        "sharpness",
        "econ_weight",
        "hedge_weight",
        "debt_weight",
        "stubbornness",
    }
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["points"] == 8 * 10
    debt = next(p for p in manifest["parameters"] if p["name"] == "debt_weight")
    assert debt["paths"] == [
        f"states.{s}.weights.debt" for s in ("KAZ", "UZB", "TKM", "KGZ", "TJK")
    ]
    boost = next(p for p in manifest["parameters"] if p["name"] == "summit_boost")
    assert boost["paths"] == [f"events.{e}.boost" for e in (
        "tokyo_prep_meeting", "tokyo_summit", "japan_summit_kazakhstan_2027", "japan_summit_2029")]
    assert manifest["counterfactual"] == "no_japan"
    # the report's figures follow the question, each titled by what it answers
    order = [f["stem"] for f in manifest["figure_order"]]
    assert order[:2] == ["sobol_jpn_effect_2030", "sobol_china_russia_effect_2030"]
    assert manifest["figure_order"][0]["caption"].startswith(
        "Which inputs decide Japan's effect on its share of the region at the end of 2030?")
    page = (folder / "report.html").read_text()
    positions = [page.index(f'id="fig-{stem}"') for stem in order]
    assert positions == sorted(positions)
