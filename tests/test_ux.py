"""What a reader sees: the command line's help, answers, messages and files, read as a user."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import FLAGSHIP, ROOT, run_cli

COMMANDS = ("run", "validate", "facts", "compare", "bench", "sweep", "calibrate", "hindcast",
            "report", "view", "explore")


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
    from sim.sweep import SweepRequest, run_sweep
    from sim.sweep import run as sweep_run

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
    end = region[region["round"] == region["round"].max()].set_index("power")
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
