"""Paired comparisons on common random numbers, and the benchmark command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.experiments.compare import CompareRequest, compare_scenarios, paired_run
from sim.model.params import build
from sim.scenario.schema import load

from .conftest import CASES, TINY, run_cli


def test_scenario_against_itself_gives_exactly_zero(tmp_path: Path):
    out = compare_scenarios(CompareRequest(TINY, TINY, replicates=20, out=tmp_path))
    assert (out.table["diff_mean"] == 0).all()
    assert (out.table["diff_p5"] == 0).all() and (out.table["diff_p95"] == 0).all()
    region = pd.read_csv(out.folder / "region_differences.csv")
    assert (region["effect_mean_pp"] == 0).all() and region["no_difference"].all()
    # no sign can hold where nothing differs: said so, never "same sign in 100%"
    page = (out.folder / "report.html").read_text()
    assert "no difference in any replicate" in page and "same sign in" not in page
    assert "100%" not in out.answer()
    manifest = json.loads((out.folder / "manifest.json").read_text())
    assert manifest["interval"]["covers"] == "noise only"
    assert manifest["compare_headline"]["interval"]["label"] == "90% interval (noise only)"


def test_paired_differences_are_tighter_than_independent_ones():
    a = build(load(TINY))
    b = build(load(TINY, ["powers.PX.instruments.grants.delivery_rate=0.9"]))
    pr = paired_run(a, b, 200, seed=1)
    px = a.powers.index("PX")
    paired_sd = pr.final[..., px].std(0)
    indep = (
        paired_run(a, b, 200, seed=1).final_b[..., px]
        - paired_run(a, a, 200, seed=2).final_a[..., px]
    )
    assert np.all(paired_sd < indep.std(0))
    assert np.all(pr.final[..., px].mean(0) > 0)  # a bigger delivered grant draws states to PX


def test_compare_cli_writes_table_plot_and_manifest(tmp_path: Path):
    proc = run_cli(
        "compare",
        str(TINY),
        str(TINY),
        "--replicates",
        "10",
        "--out",
        str(tmp_path),
        "--set",
        "states.AA.inertia=0.4",
    )
    assert proc.returncode == 0, proc.stderr
    assert "paired" in proc.stdout and "results:" in proc.stdout
    folder = next((tmp_path / "compare" / "tiny_vs_tiny").iterdir())
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == "compare" and manifest["replicates"] == 10
    df = pd.read_csv(folder / "differences.csv")
    assert len(df) == 4 and set(df.columns) >= {"effect_mean_pp", "effect_p5_pp", "effect_p95_pp",
                                                "sign_holds_pct", "share_a_pct", "share_b_pct"}
    assert (folder / "plots" / "difference.png").stat().st_size > 5_000


def test_compare_refuses_scenarios_of_different_regions(tmp_path: Path):
    other = CASES / "other_region_tmp.yaml"
    try:
        other.write_text(
            "extends: tiny.yaml\nname: other\npowers: {PY: null}\n"
            "states: {AA: {ties: {PY: null}}, BB: {ties: {PY: null}}}\n"
            "events: {meeting: null}\n"
        )
        proc = run_cli(
            "compare", str(TINY), str(other), "--replicates", "2", "--out", str(tmp_path)
        )
    finally:
        other.unlink()
    assert proc.returncode == 2 and "states and powers must match" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "compare").exists()


def test_bench_prints_both_paths_and_their_ratio():
    proc = run_cli(
        "bench", str(TINY), "--replicates", "5", "--scaling", "10,20",
        "--batch", "40", "--calibration", "20", "--figures", "1", "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(proc.stdout)
    cost = figures["figures"]  # sim run with figures over sim run --no-plots
    assert cost["runs"] == 1 and cost["with_figures_s"] > 0 and cost["no_plots_s"] > 0
    assert cost["ratio"] == pytest.approx(cost["with_figures_s"] / cost["no_plots_s"])
    assert figures["mesa_batch_run"]["replicate_rounds_per_s"] > 0
    assert figures["ensemble"]["replicate_rounds_per_s"] > 0
    assert figures["speedup"] == pytest.approx(
        figures["mesa_batch_run"]["seconds"] / figures["ensemble"]["seconds"]
    )
    assert [(r["replicates"], r["rounds"]) for r in figures["scaling"]] == [
        (10, 8),
        (10, 16),
        (20, 8),
        (20, 16),
    ]
    batched, engine_rate = figures["batched"], figures["ensemble"]["replicate_rounds_per_s"]
    assert batched["points"] == 40 and batched["replicates"] == 5
    for name in ("sweep", "simulate_batch"):
        r = batched[name]
        assert r["replicate_rounds_per_s"] == pytest.approx(40 * 5 * 8 / r["seconds"])
        assert r["of_engine"] == pytest.approx(r["replicate_rounds_per_s"] / engine_rate)
    assert [(r["points"], r["replicates"]) for r in figures["calibration"]] == [(2, 10), (20, 10)]
    assert all(r["peak_rss_mib"] > 0 for r in figures["calibration"])
    from sim.experiments.bench import format_bench

    paths = figures["paths"]  # the compiled path on every core and on one, and numpy's
    assert list(paths) == ["compiled", "compiled, one thread", "numpy"]
    for r in paths.values():
        assert r["of_numpy"] == pytest.approx(paths["numpy"]["seconds"] / r["seconds"])
    assert figures["ensemble"]["seconds"] == min(r["seconds"] for r in paths.values())
    assert figures["summary_only_small"]["replicates"] == 10
    text = format_bench(figures)  # the main figures first, side by side
    head = text.splitlines()[1:7]
    assert [line.split()[0] for line in head] == [
        "engine", "compiled", "compiled,", "calibration-sized", "summary-only,", "run"], text
    assert "x numpy" not in head[1] and "x)" in head[1]
    assert "x (" in head[5] and "fastest of 1 each" in head[5]


GRANTS = "powers.PX.instruments.grants.delivery_rate"


def test_vary_compares_a_scenario_against_itself_changed(tmp_path: Path):
    """`sim compare A --vary path=value`: B is A with the change; the same numbers as two files."""
    from sim.experiments.compare import compute

    varied = compute(CompareRequest(TINY, sets_b=(f"{GRANTS}=0.9",), replicates=30))
    direct = paired_run(build(load(TINY)), build(load(TINY, [f"{GRANTS}=0.9"])), 30, seed=7)
    np.testing.assert_array_equal(varied.paired.final, direct.final)
    assert varied.label_b == f"tiny with {GRANTS}=0.9" and varied.label_a == "tiny"
    assert varied.headline["focus"] == "PX" and varied.headline["losers"] == ["PY"]
    # --set-a and --set-b with the same change: no difference at all
    same = compute(CompareRequest(TINY, TINY, sets_a=(f"{GRANTS}=0.9",),
                                  sets_b=(f"{GRANTS}=0.9",), replicates=10))
    assert same.differences["no_difference"].all()
    # --set applies to both, then --set-b to B only
    both = compute(CompareRequest(TINY, sets=(f"{GRANTS}=0.9",), sets_b=(f"{GRANTS}=0.5",),
                                  replicates=10))
    assert both.scenario_a.powers["PX"].instruments["grants"].delivery_rate.value == 0.9
    assert both.scenario_b.powers["PX"].instruments["grants"].delivery_rate.value == 0.5


def test_compare_vary_on_the_command_line(tmp_path: Path):
    proc = run_cli("compare", str(TINY), "--vary", f"{GRANTS}=0.9", "--replicates", "8",
                   "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    folder = next((tmp_path / "compare" / "tiny_vs_tiny-varied").iterdir())
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["overrides_b"] == [f"{GRANTS}=0.9"] and manifest["overrides_a"] == []
    assert manifest["label_b"] == f"tiny with {GRANTS}=0.9"
    assert f"tiny with {GRANTS}=0.9 against tiny" in " ".join(proc.stdout.split())
    page = (folder / "report.html").read_text()
    assert f"What does tiny with {GRANTS}=0.9 change against tiny?" in page
    # one scenario and nothing to vary: one line naming what is missing, nothing written
    bare = run_cli("compare", str(TINY), "--out", str(tmp_path / "none"))
    assert bare.returncode == 2 and bare.stderr.count("\n") == 1
    assert "SCENARIO_B" in bare.stderr and "--set-b/--vary" in bare.stderr
    assert not (tmp_path / "none").exists()
