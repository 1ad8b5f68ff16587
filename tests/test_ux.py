"""What a reader sees: the command line's help, answers, messages and files, read as a user."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from .conftest import ROOT, run_cli

COMMANDS = ("run", "validate", "facts", "compare", "bench", "sweep", "calibrate", "hindcast",
            "report", "view", "explore", "policy")


@pytest.fixture(scope="module")
def flagship(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, Path]:
    """``sim compare no_japan tokyo_initiative`` at its shipped settings: stdout, stderr and
    the folder it wrote."""
    out = tmp_path_factory.mktemp("flagship")
    proc = run_cli("compare", "no_japan", "tokyo_initiative", "--no-plots", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    folder = next((out / "compare").glob("*/*"))
    return proc.stdout, proc.stderr, folder


def test_a_posterior_comparison_says_once_in_plain_words_what_it_ran_over(flagship):
    stdout, stderr, folder = flagship
    first = stdout.splitlines()[0]
    quantities = json.loads((folder / "manifest.json").read_text())["posterior"]["quantities"]
    assert quantities and not any(q in first for q in quantities), first
    assert "posterior" in first and "noise and parameters" in first
    assert "over the shipped posterior" not in stderr, stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_flags_as_flags_and_every_option_whole(command: str):
    import typer

    from sim.cli import app

    proc = run_cli(command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "<bool>" not in proc.stdout and "…" not in proc.stdout
    cmd = typer.main.get_command(app)
    for param in cmd.commands[command].params:  # type: ignore[attr-defined]
        if param.param_type_name == "option":
            for name in (*param.opts, *param.secondary_opts):
                assert name in proc.stdout, (name, proc.stdout)


@pytest.mark.parametrize(("option", "value", "expect"), [
    ("--vary", "abc", "unknown fact or assumption id 'abc'"),
    ("--vary", "-4", "expected a value >= 0"),
    ("--set", "-4", "expected a value >= 0"),
])
def test_a_bad_changed_value_names_its_option_not_the_shipped_file(option, value, expect,
                                                                   tmp_path: Path):
    named = {"--vary": "--set-b/--vary"}.get(option, option)
    proc = run_cli("compare", "tokyo_initiative", option, f"states.KAZ.weights.debt={value}",
                   *(("--vary", "states.UZB.weights.debt=2") if option == "--set" else ()),
                   "--without-posterior", "--out", str(tmp_path))
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert line.startswith(f"error: {named}: states.KAZ.weights.debt: "), line
    assert expect in line and "tokyo_initiative.yaml" not in line, line


def test_make_install_keeps_pip_and_setuptools_output_in_a_log(tmp_path: Path):
    """``make demo`` installs first: what pip and setuptools print (setuptools' boxed
    "editable installation" notice) must not stand before the answer; a failure shows it."""
    import shutil
    import subprocess

    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").write_text("")
    fake = tmp_path / "fake-python"
    # a Python whose venv's pip prints what setuptools does, then succeeds (or fails on ask)
    fake.write_text(
        "#!/bin/sh\n"
        'mkdir -p "$3/bin"\n'
        'printf \'#!/bin/sh\\necho "!! editable installation warning box"\\n'
        'echo "!! more of it" >&2\\nexit ${FAIL:-0}\\n\' > "$3/bin/python"\n'
        'chmod +x "$3/bin/python"\n')
    fake.chmod(0o755)
    for fail, shown in (("0", False), ("1", True)):
        shutil.rmtree(tmp_path / ".venv", ignore_errors=True)
        proc = subprocess.run(["make", "--no-print-directory", "install", f"PYTHON={fake}"],
                              cwd=tmp_path, capture_output=True, text=True, check=False,
                              env={"PATH": "/usr/bin:/bin", "FAIL": fail})
        assert (proc.returncode != 0) == shown, proc.stderr
        both = proc.stdout + proc.stderr
        assert ("editable installation" in both) == shown, both


@pytest.mark.parametrize("name", ["run", "compare", "sweep"])
def test_the_callable_modules_show_their_function_s_signature_and_a_true_docstring(name: str):
    import inspect

    import sim
    from sim import api

    module, function = getattr(sim, name), getattr(api, name)
    assert inspect.signature(module) == inspect.signature(function)
    assert "args" not in str(inspect.signature(module))
    opening = " ".join((module.__doc__ or "").split("\n\n")[:2])
    assert f"sim.{name}(" in opening, opening
    if name != "sweep":  # sim.run and sim.compare write nothing until save(folder)
        assert "writes nothing" in opening, opening


def test_ctrl_c_in_a_resumed_sweep_s_last_stage_says_how_to_resume(tmp_path: Path,
                                                                    monkeypatch):
    from sim.experiments.sweep import SweepRequest, run_sweep
    from sim.experiments.sweep import run as sweep_run

    from .conftest import TINY

    done = run_sweep(SweepRequest(source=TINY, params=["dynamics.sharpness=1:6"], method="lhs",
                                  samples=4, replicates=2, out=tmp_path, workers=1))

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(sweep_run, "analyse_sweep", interrupted)
        with pytest.raises(KeyboardInterrupt) as err:
            run_sweep(SweepRequest(resume=done.folder, workers=1))
    assert f"sim sweep --resume {done.folder}" in str(err.value)
    assert run_sweep(SweepRequest(resume=done.folder, workers=1)).ran == 0


def test_csv_files_name_their_unit_and_hold_values_in_it(flagship, tmp_path: Path):
    import pandas as pd

    _, _, folder = flagship
    manifest = json.loads((folder / "manifest.json").read_text())
    focus = manifest["compare_headline"]["focus"]
    region = pd.read_csv(folder / "region_differences.csv")
    # the headline is read at the answer date (31 Dec 2030: the boundary of 1 January 2031)
    boundary = date.fromisoformat(manifest["compare_headline"]["end"]) + timedelta(days=1)
    end = region[region["date"] == boundary.isoformat()].set_index("power")
    assert region["date"].max() > boundary.isoformat()  # the path goes on past the answer
    shown = next(r for r in manifest["compare_headline"]["powers"] if r["code"] == focus)
    assert end.loc[focus, "effect_mean_pp"] == pytest.approx(100 * shown["mean"], rel=1e-5)
    diffs = pd.read_csv(folder / "differences.csv")
    assert {"share_a_pct", "share_b_pct", "effect_mean_pp", "sign_holds_pct"} <= set(diffs)
    assert diffs["share_a_pct"].between(0, 100).all() and diffs["share_a_pct"].max() > 1
    proc = run_cli("run", "tests/cases/tiny.yaml", "--no-plots", "--replicates", "4",
                   "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    (run,) = (tmp_path / "tiny").iterdir()
    for name in ("summary.csv", "region.csv"):
        table = pd.read_csv(run / name)
        assert "share_mean_pct" in table and table["share_mean_pct"].max() > 1, name


def test_facts_start_with_the_central_asian_registry_and_cite_the_source_texts():
    import yaml

    proc = run_cli("facts")
    assert proc.returncode == 0, proc.stderr
    headers = [line for line in proc.stdout.splitlines() if line.startswith("# ")]
    assert "examples" not in headers[0] and "examples" in headers[-1], headers
    texts = yaml.safe_load((ROOT / "scenarios" / "facts" / "source_texts.yaml").read_text())
    head = proc.stdout[: proc.stdout.index(headers[1])] if len(headers) > 1 else proc.stdout
    for name, text in texts.items():
        assert text["title"].split()[0] in head and text["outlet"] in head, name
        assert str(text["date"]) in head


def _joined(text: str) -> str:
    return " ".join(text.split())


def _page(path: Path) -> str:
    """A report's text, its markup taken out."""
    import html
    import re

    return _joined(html.unescape(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8"))))


def _lead(stdout: str) -> str:
    """The answer's sentence on the focus power: from "By " to its full stop."""
    text = _joined(stdout)
    start = text.index("By ")
    return text[start:text.index(". ", start) + 1]


def test_readme_and_docs_say_what_the_flagship_command_prints(flagship):
    """The README's and docs/scenarios.md's flagship block is written by
    tools/flagship_numbers.py from one run; it must still be what the command prints."""
    stdout, _, _ = flagship
    lead = _lead(stdout)
    for doc in (ROOT / "README.md", ROOT / "docs" / "scenarios.md"):
        text = doc.read_text(encoding="utf-8")
        block = text[text.index("<!-- flagship -->"):text.index("<!-- /flagship -->")]
        assert lead in _joined(block), (doc.name, lead, block)


def test_the_headline_is_the_median_with_levels_interval_and_mean_everywhere(flagship):
    from sim.outputs import outcomes
    from sim.outputs.report import write_report

    stdout, _, folder = flagship
    head = json.loads((folder / "manifest.json").read_text())["compare_headline"]
    row = next(r for r in head["powers"] if r["code"] == head["focus"])
    lead = _lead(stdout)
    median, mean = outcomes.fine_points(row["p50"]), outcomes.fine_points(row["mean"])
    assert f"a change of {median} pp (median" in lead
    assert f"{outcomes.fine_points(row['p5'])} to {outcomes.fine_points(row['p95'])}" in lead
    assert f"goes from {outcomes.percent(row['a'])} to {outcomes.percent(row['b'])}" in lead
    assert "average over the states" in lead and "covering noise and parameters" in lead
    assert (median == mean) or f"mean {mean} pp" in lead
    page = _page(folder / "report.html")
    assert lead.split(", ", 1)[1] in page
    # the state table's heading says its numbers are changes
    heading = next(line for line in stdout.splitlines() if line.startswith("state "))
    assert "change" in heading, heading
    write_report(folder)  # rewritten from the folder alone: the same sentences
    assert lead.split(", ", 1)[1] in _page(folder / "report.html")


def test_the_python_interface_gives_the_command_s_headline(flagship):
    import sim

    _, _, folder = flagship
    head = json.loads((folder / "manifest.json").read_text())["compare_headline"]
    row = next(r for r in head["powers"] if r["code"] == head["focus"])
    effect = sim.compare("no_japan", "tokyo_initiative").effect
    assert effect["median"] == pytest.approx(row["p50"], abs=1e-12)


def test_one_run_time_and_the_posterior_s_constants_said_drawn(flagship):
    stdout, _, folder = flagship
    manifest = json.loads((folder / "manifest.json").read_text())
    assert f"({manifest['seconds']:.2f} s)" in stdout
    page = _page(folder / "report.html")
    assert "Where the scenarios differ" in page
    assert "drawn from the posterior" in page


def test_compare_figures_have_real_captions(tmp_path: Path):
    from sim.experiments.compare import CompareRequest, compare_jobs, compute
    from sim.outputs import report

    from .conftest import TINY

    c = compute(CompareRequest(TINY, TINY, replicates=4, sets_b=("states.AA.inertia=0.4",)))
    for job in compare_jobs(c):
        assert len(report.CAPTIONS.get(job.stem, "")) > 40, job.stem


def test_who_gains_and_who_loses_is_always_true_also_when_the_focus_power_loses():
    """A cut that hurts Russia: Russia leads and is among the losers; the gainers are named."""
    from sim.outputs import terminal

    def row(code: str, median: float) -> dict:
        return {"code": code, "mean": median, "p50": median, "p5": median - 0.001,
                "p95": median + 0.001, "sign_holds": 1.0, "no_difference": False}

    head = {"end": "2030-12-31", "interval": {"covers": "noise only"}, "focus": "RUS",
            "powers": [row("RUS", -0.008), row("CHN", 0.005), row("EU", 0.002),
                       row("JPN", 0.0009), row("USA", -0.0004)], "states": []}
    lines = terminal.headline(head, a="a", b="b", names=terminal.Names())
    gains = next(line for line in lines if line.startswith("Who gains"))
    loses = next(line for line in lines if line.startswith("Who loses"))
    assert [c for c in ("CHN", "EU", "JPN") if c in gains] == ["CHN", "EU", "JPN"]
    assert "RUS -0.80 pp" in loses and "USA -0.040 pp" in loses
    assert "RUS" not in gains and "CHN" not in loses
    assert "No power" not in " ".join(lines)


def test_a_varied_value_says_what_it_was_and_small_effects_show_their_digits(tmp_path: Path):
    from sim.outputs.outcomes import fine_points
    from sim.scenario.schema import load

    before = load("tokyo_initiative").states["KAZ"].weights.debt
    proc = run_cli("compare", "tokyo_initiative", "--vary", "states.KAZ.weights.debt=4",
                   "--no-plots", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    text = _joined(proc.stdout)
    assert (f"changes against tokyo_initiative: states.KAZ.weights.debt from "
            f"{before.value:g} ({before.ref}) to 4.") in text
    assert "0.0 to 0.0" not in text
    (folder,) = (tmp_path / "compare").glob("*/*")
    head = json.loads((folder / "manifest.json").read_text())["compare_headline"]
    assert [c["path"] for c in head["changes"]] == ["states.KAZ.weights.debt"]
    # the state table: the focus power, then another power, never the same one twice
    focus = next(r for r in head["powers"] if r["code"] == head["focus"])
    other = "gains" if focus["p50"] < 0 else "loses"
    assert all(s[other] is None or s[other]["power"] != head["focus"] for s in head["states"])
    assert fine_points(0.00042) == "+0.042" and fine_points(-0.0042) == "-0.42"
    assert fine_points(0.06) == "+6.0" and fine_points(1e-6) == "+<0.01"


def test_the_explorer_says_what_its_band_covers_and_what_mesa_s_controls_do():
    from sim.core import shipped
    from sim.experiments.explore import SLIDER_CSS, ExploreModel, readout

    posterior = shipped.SCENARIOS / "posteriors" / "central_asia"
    model = ExploreModel(scenario_file=str(shipped.FLAGSHIP), posterior=posterior, draws=4)
    text = readout(model)
    assert "noise and parameters" in model.look.band and "noise and parameters" in text
    for control in ("Play Interval", "Render Interval", "Use Threads"):
        assert f"<b>{control}</b>" in text
    assert ".v-tabs { display: none" in SLIDER_CSS  # Mesa's one tab, labelled "Page 0"


def test_a_sweep_gives_the_response_per_level_in_one_unit_and_one_date_convention(
        tmp_path: Path):
    from sim.experiments.sweep import SweepRequest, run_sweep

    from .conftest import TINY

    done = run_sweep(SweepRequest(source=TINY, params=["dynamics.sharpness=1:5:3"],
                                  replicates=4, out=tmp_path, workers=1, report=["PX_region"],
                                  discover="PX_region>0.05"))
    text = (done.folder / "report.txt").read_text()
    assert "31 Dec 2027" in text and "2028-01-01" not in text  # the calendar's end, as compare
    table = [line.split() for line in text.splitlines() if line.strip().startswith(("1 ", "3 ",
                                                                                   "5 "))]
    assert [row[0] for row in table] == ["1", "3", "5"]  # one row per level, with its outcome
    assert all(row[1].endswith("%") for row in table)
    assert "PX_region > 5.00%" in text and "> 0.05" not in text
    morris = run_sweep(SweepRequest(source=TINY, params=["dynamics.sharpness=1:5"],
                                    method="morris", samples=4, replicates=2, workers=1,
                                    out=tmp_path / "m", report=["PX_region"])).report
    row = next(line for line in morris.splitlines() if "dynamics.sharpness" in line)
    assert " pp" in row  # mu*, sigma and mu in percentage points, as the rest


def test_response_axes_label_ticks_apart():
    from matplotlib.figure import Figure

    from sim.experiments.sweep.plots import _unit_axis

    for unit, low, high in (("percent", 0.07, 0.0735), ("points", 0.001, 0.0025)):
        fig = Figure()
        ax = fig.add_subplot()
        ax.plot([0, 1], [low, high])
        _unit_axis(ax.yaxis, unit)
        fig.canvas.draw()
        labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
        assert len(labels) > 2 and len(set(labels)) == len(labels), labels


def test_hindcast_compares_the_model_with_the_baselines_in_words():
    from sim.calibration.hindcast import _against_baselines
    from sim.calibration.observe import Score

    line = _against_baselines([Score("model", 33, -71.5, 0.08, 270),
                               Score("offset from the world (baseline)", 26, -83.0, 0.10, 270),
                               Score("last year carried forward (baseline)", 1, -189.0, 0.05,
                                     270)])
    assert "20% lower than offset from the world's (0.1000)" in line
    assert "60% higher than last year carried forward's (0.0500)" in line


def test_calibrate_says_what_contraction_means_and_how_to_use_the_posterior(tmp_path: Path):
    from types import SimpleNamespace

    import pandas as pd

    from sim.calibration.calibrate import format_summary

    summary = pd.DataFrame({"quantity": ["w_peers"], "post_median": [1.2], "post_p5": [0.8],
                            "post_p95": [1.6], "prior": ["lognormal(0, 0.5)"],
                            "contraction": [0.3]})
    text = format_summary(SimpleNamespace(summary=summary, folder=tmp_path, seconds=3.0))
    assert "contraction: how much narrower the posterior is than the prior" in text
    assert f"--posterior {tmp_path}" in text
    proc = run_cli("calibrate", "--help")
    assert "tempering" not in proc.stdout or "likelihood" in proc.stdout


def test_summary_only_over_the_posterior_runs_the_draws_in_slices_with_the_same_numbers():
    import numpy as np

    import sim

    kept = sim.run("tokyo_initiative", replicates=1024, draws=4, trajectories=True)
    sliced = sim.run("tokyo_initiative", replicates=1024, draws=4, trajectories=False)
    assert sliced.simulation.trajectories is None and kept.simulation.trajectories is not None
    assert sliced.replicates == kept.replicates == 4096
    np.testing.assert_allclose(sliced.final["mean"], kept.final["mean"], rtol=0, atol=1e-12)


def test_a_big_summary_only_run_over_the_posterior_is_not_refused(tmp_path: Path):
    import os
    import signal
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "sim", "run", "tokyo_initiative",
                             "--replicates", "100000", "--summary-only", "--no-plots",
                             "--out", str(tmp_path)], cwd=ROOT, env=env,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            start_new_session=True)
    try:
        assert proc.stderr is not None
        lines = []
        for line in proc.stderr:
            lines.append(line)
            if line.startswith(("running", "error")):
                break
        assert lines[-1].startswith("running") and "summaries only" in lines[-1], lines
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.communicate(timeout=60)


@pytest.mark.parametrize(("sig", "status"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_ctrl_c_or_sigterm_to_a_big_run_s_group_gives_one_line_and_keeps_its_replicates(
        sig: str, status: int, tmp_path: Path):
    import os
    import signal
    import subprocess
    import sys
    import time

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "sim", "run", "tokyo_initiative",
                             "--without-posterior", "--replicates", "1000000", "--summary-only",
                             "--out", str(tmp_path)], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    assert proc.stderr is not None
    assert proc.stderr.readline().startswith("running ")
    time.sleep(3)  # figure helpers started, chunks under way
    os.killpg(proc.pid, getattr(signal, sig))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == status, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err and "leaked" not in err, err
    assert "replicates are saved in" in lines[0] and "--resume" in lines[0]
    time.sleep(1)
    from .conftest import session_processes

    assert session_processes(proc.pid) == []  # no helper, fork server or tracker left


def test_docs_schema_md_is_what_the_models_give():
    from sim.scenario import schema_doc
    from sim.scenario.events import KINDS

    text = schema_doc.render()
    assert (ROOT / "docs" / "schema.md").read_text(encoding="utf-8") == text, (
        "docs/schema.md is out of step with the models: python -m sim.scenario.schema_doc")
    for tag, kind in KINDS.items():
        assert f"### `type: {tag}`" in text
        for field in kind.model_fields:
            assert f"| `{field}` |" in text
    assert text.count("Example (from") == len(schema_doc.examples())


def test_the_flagship_reads_its_answer_at_2030_and_shows_the_path_and_the_votes_everywhere(
        flagship):
    """The path to 2035 and the predicted UN agreement are in the terminal, the manifest and
    the report, with the same numbers."""
    stdout, _, folder = flagship
    head = json.loads((folder / "manifest.json").read_text())["compare_headline"]
    assert head["end"] == "2030-12-31"
    path = head["path"]
    assert [p["date"][:4] for p in path] == [str(y) for y in range(2026, 2036)]
    at_answer = next(p for p in path if p["date"] == head["end"])
    focus = next(r for r in head["powers"] if r["code"] == head["focus"])
    assert at_answer["median"] == pytest.approx(focus["p50"])
    html = (folder / "report.html").read_text()
    flat = _joined(stdout)
    from sim.outputs.outcomes import fine_points

    for p in path:
        cell = f"<td>{p['date'][:4]}</td><td class=\"num\">{fine_points(p['median'])}</td>"
        assert cell in html, cell
        assert f"{p['date'][:4]} {fine_points(p['median'])} (" in flat
    pred = head["agreement"]
    assert pred["power"] == "JPN" and len(pred["states"]) == 5
    for st in pred["states"]:
        change = f"{st['change']['p50']:+.2f} ({st['change']['p5']:+.2f} to"
        assert change in html and change in flat, change
