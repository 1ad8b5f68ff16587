"""The command-line program end to end, through real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from .conftest import CASES, FLAGSHIP, ROOT, TINY, kill_9_leaves_nothing, run_cli

BAD = sorted((CASES / "bad").glob("*.yaml"))


def expectation(path: Path) -> str:
    first = path.read_bytes().split(b"\n")[0].decode("utf-8")  # the rest may not be UTF-8
    assert first.startswith("# expect: "), f"{path.name} lacks its '# expect:' line"
    return first.removeprefix("# expect: ")


@pytest.mark.parametrize("case", BAD, ids=[p.stem for p in BAD])
def test_bad_scenario_gives_one_line_exit_2_and_writes_nothing(case: Path, tmp_path: Path):
    out = tmp_path / "results"
    proc = run_cli("run", str(case), "--out", str(out))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert case.name in lines[0]
    assert expectation(case) in lines[0]
    assert not out.exists()


@pytest.mark.parametrize("case", BAD, ids=[p.stem for p in BAD])
def test_every_bad_case_is_caught_by_validate_too(case: Path):
    """What sim validate checks (sim.scenario.schema.check_files) refuses every bad case alike."""
    from sim.core.errors import SimError
    from sim.scenario.schema import check_files

    with pytest.raises(SimError) as err:
        check_files([case])
    assert case.name in str(err.value) and expectation(case) in str(err.value)


def test_validate_prints_one_error_line_and_exits_2():
    proc = run_cli("validate", str(TINY), str(BAD[0]))
    assert proc.returncode == 2 and proc.stderr.startswith("error: ")
    assert len(proc.stderr.strip().splitlines()) == 1 and BAD[0].name in proc.stderr


@pytest.mark.parametrize(
    ("override", "expect"),
    [
        ("states.AA.weights.ecom=2", "did you mean 'econ'"),
        ("states.CC.inertia=0.2", "no entry 'CC'"),
        ("states.AA.inertia=2", "states.AA.inertia: expected a value <= 1"),
        ("dynamics.sharpness=-1", "dynamics.sharpness: expected a value >= 0"),
        ("nonsense", "expected path.to.field=value"),
        ("seed=many", "seed: Input should be a valid integer"),
        ("time.end=2030-13-01",
         "time.end: expected a date as YYYY-MM-DD, found '2030-13-01' (month value"),
        ("name=" + "[" * 100 + "]" * 100, "nested at most 64 deep"),
    ],
)
def test_bad_override_gives_one_line_exit_2(override: str, expect: str, tmp_path: Path):
    proc = run_cli("run", str(TINY), "--set", override, "--out", str(tmp_path / "r"))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and expect in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "r").exists()


def test_bad_options_exit_2(tmp_path: Path):
    for args, expect in (
        (["--replicates", "0"], "error: --replicates: expected at least 1, found 0"),
        (["--rounds", "0"], "error: --rounds: expected a positive number of rounds"),
        (["--seed", "-1"], "error: --seed: expected a non-negative integer"),
        (["--engine", "fast"], "'fast' is not one of 'ensemble', 'mesa'"),
        (["--bogus"], "No such option: --bogus"),
    ):
        proc = run_cli("run", str(TINY), *args, "--out", str(tmp_path))
        assert proc.returncode == 2, args
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
        assert expect in proc.stderr, proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_run_end_to_end_writes_every_file(tmp_path: Path):
    proc = run_cli(
        "run",
        str(TINY),
        "--replicates",
        "6",
        "--seed",
        "3",
        "--out",
        str(tmp_path),
        "--set",
        "states.AA.inertia=0.4",
    )
    assert proc.returncode == 0, proc.stderr
    folders = list((tmp_path / "tiny").iterdir())
    assert len(folders) == 1
    run = folders[0]
    assert str(run) in proc.stdout and "Alignment on 31 Dec 2027: mean share" in proc.stdout
    assert "5-95% range (noise only)" in proc.stdout
    table = pq.read_table(run / "alignment.parquet").to_pandas()
    for col in (
        "replicate",
        "round",
        "date",
        "state",
        "power",
        "alignment",
        "debt_usd_bn",
        "delivered_usd_bn",
        "hedging",
    ):
        assert col in table.columns
    manifest = json.loads((run / "manifest.json").read_text())
    rounds = manifest["rounds"]
    assert len(table) == 6 * (rounds + 1) * 2 * 2
    assert manifest["replicates"] == 6 and manifest["seed"] == 3
    assert manifest["overrides"] == ["states.AA.inertia=0.4"]
    assert manifest["parameters"]["states.AA.inertia"]["value"] == 0.4
    assert len(manifest["scenario_file_sha256"]) == 64
    assert manifest["versions"]["mesa"].startswith("3.")
    sums = table.groupby(["replicate", "round", "state"])["alignment"].sum()
    assert (sums.sub(1.0).abs() < 1e-12).all()
    summary = (run / "summary.csv").read_text().splitlines()
    assert summary[0] == "state,power,share_mean_pct,share_p5_pct,share_p50_pct,share_p95_pct"
    assert len(summary) == 1 + 4
    for name in ("alignment_by_state", "final_alignment_heatmap", "regional_share"):
        assert (run / "plots" / f"{name}.png").stat().st_size > 10_000
    assert (
        "inertia: {value: 0.4" in (run / "scenario.yaml").read_text()
        or "value: 0.4" in (run / "scenario.yaml").read_text()
    )


def test_same_seed_same_numbers_through_the_cli(tmp_path: Path):
    for engine in ("ensemble", "ensemble", "mesa"):
        proc = run_cli(
            "run", str(TINY), "--replicates", "4", "--out", str(tmp_path), "--engine", engine
        )
        assert proc.returncode == 0, proc.stderr
    runs = sorted((tmp_path / "tiny").iterdir())
    tables = [pq.read_table(r / "alignment.parquet").to_pandas() for r in runs]
    for other in tables[1:]:
        assert (abs(other["alignment"] - tables[0]["alignment"]) < 1e-12).all()


def test_help_explains_every_command():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for command in ("run", "validate", "facts"):
        assert command in proc.stdout
        sub = run_cli(command, "--help")
        assert sub.returncode == 0 and "Usage" in sub.stdout


def test_validate_and_facts(tmp_path: Path):
    proc = run_cli("validate", str(TINY))
    assert proc.returncode == 0 and "ok:" in proc.stdout
    proc = run_cli("facts", "--scenarios", str(CASES.parent / "cases"))
    assert (
        "pledge_yen" in proc.stdout
        and "used by tiny: powers.PY.instruments.loans.pledged_usd_bn" in proc.stdout
    )


@pytest.mark.parametrize(
    "command",
    [["run", str(FLAGSHIP)], ["compare", str(FLAGSHIP.parent / "no_japan.yaml"), str(FLAGSHIP)]],
    ids=["run", "compare"],
)
def test_kill_9_mid_run_leaves_no_process_behind(command: list[str], tmp_path: Path):
    with subprocess.Popen(
        [sys.executable, "-m", "sim", *command, "--without-posterior", "--replicates", "100000",
         "--out", str(tmp_path)],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    ) as proc:
        try:
            assert proc.stderr is not None
            first = proc.stderr.readline().decode()
            assert first.startswith(("running", "comparing")), first  # simulating now
        finally:
            left = kill_9_leaves_nothing(proc)
    assert left == []


def test_ctrl_c_keeps_finished_replicates_and_resume_finishes_the_run(tmp_path: Path):
    """SIGINT mid-run: exit 130, one line saying what was kept; --resume gives the same files."""
    import signal
    import subprocess
    import sys
    import time

    from .conftest import FLAGSHIP, ROOT

    args = ["run", str(FLAGSHIP), "--replicates", "100000", "--summary-only",
            "--without-posterior"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", *args, "--out", str(tmp_path / "a")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    assert proc.stderr.readline().startswith("running tokyo_initiative")
    runs = tmp_path / "a" / "tokyo_initiative"
    deadline = time.monotonic() + 60
    while not runs.is_dir() and time.monotonic() < deadline:  # the run has begun simulating
        time.sleep(0.05)
    time.sleep(0.5)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "replicates are saved in" in err and "sim run --resume" in err
    (partial,) = runs.iterdir()
    assert partial.name.startswith(".partial-")  # nothing that looks like a finished run

    resumed = run_cli("run", "--resume", str(partial))
    assert resumed.returncode == 0, resumed.stderr
    saved = int(resumed.stderr.split(": ")[1].split(" of ")[0].replace(",", ""))
    assert 0 < saved < 100000
    (done,) = runs.iterdir()
    assert not done.name.startswith(".")
    whole = run_cli(*args, "--out", str(tmp_path / "b"))
    assert whole.returncode == 0
    (ref,) = (tmp_path / "b" / "tokyo_initiative").iterdir()
    for name in ("summary.csv", "region.csv", "hedging.csv"):
        assert (done / name).read_bytes() == (ref / name).read_bytes()
    name = "summary_by_round.parquet"
    assert pq.read_table(done / name).equals(pq.read_table(ref / name))
    manifest = json.loads((done / "manifest.json").read_text())
    assert manifest["resumed"] and "--summary-only" in manifest["command"]


def test_facts_shows_one_entry_and_finds_entries_by_word():
    one = run_cli("facts", "jpn_business_target_jpy")
    assert one.returncode == 0, one.stderr
    assert "MNTV, news report by Akhtar Pathan" in one.stdout and "December 2025" in one.stdout
    assert '"a target of 3 trillion yen' in one.stdout
    assert "used by tokyo_initiative: powers.JPN.instruments.business_target" in one.stdout
    found = run_cli("facts", "--grep", "Yomiuri")
    assert found.returncode == 0 and len(found.stdout.splitlines()) >= 5
    assert all("Yomiuri" in line for line in found.stdout.splitlines())
    none = run_cli("facts", "--grep", "zzzq")
    assert none.returncode == 0 and "no facts registry entry mentions 'zzzq'" in none.stdout
    bad = run_cli("facts", "jpn_business_target")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "did you mean" in bad.stderr and "'jpn_business_target_jpy'" in bad.stderr


def test_version_names_the_package_and_a_checkouts_commit(tmp_path: Path):
    import subprocess

    from sim.outputs import results

    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("sim 0.1.0")
    assert results.source_commit(tmp_path) is None  # not a checkout (an installed package)
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (tmp_path / "f.txt").write_text("a\n")
    subprocess.run([*git, "add", "f.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "m"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()
    results.source_commit.cache_clear()
    assert results.source_commit(tmp_path) == head
    (tmp_path / "f.txt").write_text("b\n")
    results.source_commit.cache_clear()
    assert results.source_commit(tmp_path) == f"{head} + uncommitted changes"
    results.source_commit.cache_clear()


def _imported(*args: str) -> set[str]:
    """The modules ``python -m sim ARGS`` imports (in its own process, not its helpers')."""
    code = ("import atexit, sys\n"
            "atexit.register(lambda: print(' '.join(sys.modules), file=sys.stderr))\n"
            f"sys.argv = ['sim', *{list(args)!r}]\n"
            "from sim.cli import main\nmain()\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p))
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return set(proc.stderr.strip().splitlines()[-1].split())


def test_version_and_runs_without_figures_import_only_what_they_use(tmp_path: Path):
    light = {"numpy", "pyarrow", "pandas", "matplotlib", "sim.model.engine"}
    assert not _imported("--version") & light
    mods = _imported("run", str(TINY), "--replicates", "4", "--no-plots", "--out", str(tmp_path))
    assert "sim.model.engine" in mods and "matplotlib" not in mods
    mods = _imported("run", str(TINY), "--replicates", "4", "--out", str(tmp_path / "plots"))
    assert "matplotlib" not in mods  # the figures are drawn by helper processes
    assert len(list((tmp_path / "plots").rglob("*.png"))) == 8


def test_a_run_from_a_checkout_records_its_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from sim.experiments.run import RunRequest, run_scenario
    from sim.outputs import results

    monkeypatch.setattr(results, "source_commit", lambda root=None: "abc123")
    folder = run_scenario(RunRequest(TINY, replicates=2, out=tmp_path, plots=False)).folder
    assert json.loads((folder / "manifest.json").read_text())["versions"]["git_commit"] == "abc123"


# --------------------------------------------------------------------------- the machine

#: One command of each kind that writes results, on the tiny region (the output folder last).
WRITERS = {
    "run": ["run", str(TINY), "--replicates", "4", "--out"],
    "compare": ["compare", str(TINY), str(TINY), "--replicates", "4", "--out"],
    "sweep": ["sweep", str(TINY), "--param", "dynamics.sharpness=1:5:2", "--replicates", "2",
              "--out"],
}


def one_line(proc: subprocess.CompletedProcess[str], status: int) -> str:
    """The single error line of a command that failed with ``status`` (after only the lines
    saying what it was doing)."""
    assert proc.returncode == status, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("error: "), proc.stderr
    said = ("running ", "comparing ", "over the shipped ", "writing ", "drawing ")
    assert all(line.startswith(said) for line in lines[:-1]), proc.stderr
    return lines[-1]


@pytest.mark.parametrize("command", WRITERS)
def test_an_output_folder_that_is_a_file_is_refused_before_anything_runs(command, tmp_path):
    afile = tmp_path / "results"
    afile.write_text("not a folder\n", encoding="utf-8")
    line = one_line(run_cli(*WRITERS[command], str(afile)), 2)
    assert line == f"error: --out: expected a folder to write results under, found a file, {afile}"
    assert list(tmp_path.iterdir()) == [afile]
    below = one_line(run_cli(*WRITERS[command], str(afile / "sub")), 2)
    assert below.endswith(f"found a file above it, {afile}"), below


@pytest.mark.parametrize("command", WRITERS)
def test_a_read_only_output_folder_is_an_environment_failure(command, small_disk):
    small_disk.read_only()
    line = one_line(run_cli(*WRITERS[command], str(small_disk.path / "results")), 1)
    assert line == (
        f"error: {small_disk.path}: the folder is on a read-only file system (an environment "
        "failure, not a mistake in the input); nothing was written"
    )


@pytest.mark.parametrize("command", WRITERS)
def test_a_full_disk_is_one_line_and_leaves_nothing_that_looks_complete(command, small_disk):
    small_disk.fill()
    line = one_line(run_cli(*WRITERS[command], str(small_disk.path)), 1)
    assert line.startswith("error: ") and line.endswith(
        ": no space left on the device (the disk is full) (an environment failure, not a "
        "mistake in the input); nothing was written"
    )
    assert sorted(p.name for p in small_disk.path.rglob("*") if p.is_file()) == [".filler"]


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["run", str(TINY), "--replicates", "10000000000", "--trajectories"],
         "error: --replicates: keeping every path of 10,000,000,000 replicates over 9 round "
         "boundaries would need about 36.0 TB of memory; this machine has "),
        (["run", str(TINY), "--engine", "mesa", "--replicates", "10000000000"],
         "error: --replicates: the mesa engine keeping every path of 10,000,000,000 "),
        (["run", str(FLAGSHIP), "--replicates", "10000000000", "--trajectories"],  # posterior
         "error: --replicates: keeping every path of 200 posterior draws x 10,000,000,000 "
         "replicates over 41 round boundaries would need about "),
        (["run", str(FLAGSHIP), "--replicates", "10000000000"],  # summaries: a draw at a time
         "error: --replicates: summaries of 200 posterior draws x 10,000,000,000 replicates "
         "over 41 round boundaries, run 10,000,000,000 at a time would need about "),
        (["compare", str(FLAGSHIP.parent / "no_japan.yaml"), str(FLAGSHIP), "--replicates",
          "100000000"],
         "error: --replicates: 200 posterior draws x 100,000,000 paired replicates over 41 "
         "round boundaries would need about "),
        (["compare", str(TINY), str(TINY), "--replicates", "10000000000"],
         "error: --replicates: 10,000,000,000 paired replicates over 9 round boundaries would "
         "need about "),
        (["run", str(TINY), "--rounds", "40000"],
         "error: --rounds: expected at most 31,895 rounds of 3 months from 2026-01-01 (the "
         "calendar ends with the year 9999), found 40,000"),
        (["compare", str(TINY), str(TINY), "--rounds", "40000"], "error: --rounds: expected at "
         "most 31,895 rounds"),
    ],
    ids=["trajectories", "mesa", "posterior", "posterior-summaries", "compare-posterior",
         "compare", "rounds",
         "compare-rounds"],
)
def test_work_that_cannot_fit_is_refused_before_it_starts(args, expect, tmp_path):
    line = one_line(run_cli(*args, "--out", str(tmp_path)), 2)
    assert line.startswith(expect)
    assert list(tmp_path.iterdir()) == []


def test_a_summary_that_cannot_fit_is_refused_naming_the_rounds(tmp_path, monkeypatch):
    from sim.core.errors import SettingError
    from sim.experiments.run import RunRequest, run_scenario
    from sim.model import memory

    monkeypatch.setattr(memory, "available", lambda: 10**9)  # a machine with 1 GB left
    with pytest.raises(SettingError) as err:
        run_scenario(RunRequest(TINY, rounds=2000, trajectories=False, out=tmp_path))
    assert err.value.setting == "rounds"
    assert err.value.message == (
        "summaries over 2,001 round boundaries would need about 2.1 GB of memory; this machine "
        "has 1.0 GB available; fewer rounds fit")
    assert list(tmp_path.iterdir()) == []
    run_scenario(RunRequest(TINY, rounds=200, trajectories=False, out=tmp_path))  # this fits


def test_ten_billion_replicates_start_at_once_in_bounded_memory(tmp_path):
    """Summaries of 10 ** 10 replicates fit in memory; the run must start simulating at once
    (in a process allowed 4 GB of address space) and keep its chunks on Ctrl-C."""
    import signal
    import time

    limited = ("import resource, runpy, sys; resource.setrlimit(resource.RLIMIT_AS, "
               "(4 << 30, 4 << 30)); sys.argv = ['sim', *sys.argv[1:]]; "
               "runpy.run_module('sim', run_name='__main__')")
    args = ["run", str(TINY), "--replicates", "10000000000", "--summary-only"]
    with subprocess.Popen(
        [sys.executable, "-c", limited, *args, "--out", str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stderr is not None
        assert proc.stderr.readline().startswith("running tiny: 10000000000 replicates")
        time.sleep(2)  # chunks are being simulated
        assert proc.poll() is None, proc.stderr.read()
        proc.send_signal(signal.SIGINT)
        err = proc.stderr.read()
        assert proc.wait(timeout=60) == 130, err
    assert "Traceback" not in err
    assert " of 10,000,000,000 replicates are saved in " in err
