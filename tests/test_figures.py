"""Drawing a folder's figures: once each, PNG by default, the same bytes on one process or two."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.core.errors import SettingError
from sim.model import engine
from sim.model.params import build
from sim.outputs import figures
from sim.scenario.schema import load

from .conftest import TINY, run_cli


@pytest.fixture(scope="module")
def jobs() -> list[figures.Job]:
    sc = load(TINY)
    p = build(sc)
    res = engine.run(p, 12)
    return figures.run_jobs(res.summary, p, sc, res.trajectories)


def test_a_run_draws_every_standard_and_state_figure(jobs: list[figures.Job]):
    stems = [j.stem for j in jobs]
    assert len(stems) == len(set(stems)) == 6 + 2  # tiny: no blocs, two states
    assert [j.stem for j in jobs if j.folder == "states"] == ["alignment_AA", "alignment_BB"]


def test_two_processes_draw_the_same_files_as_one(jobs: list[figures.Job], tmp_path: Path):
    done: list[str] = []
    with figures.Drawing(1) as one:
        serial = one.draw(jobs, tmp_path / "one")
    with figures.Drawing(2) as two:
        parallel = two.draw(jobs, tmp_path / "two", done=lambda job: done.append(job.stem))
    assert sorted(done) == sorted(j.stem for j in jobs)  # told of each figure once
    assert [p.relative_to(tmp_path / "one") for p in serial] == \
        [p.relative_to(tmp_path / "two") for p in parallel]
    assert all(p.suffix == ".png" for p in serial)  # PNG only unless SVG is asked for
    for a, b in zip(serial, parallel, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_svg_on_request_and_nothing_else(jobs: list[figures.Job], tmp_path: Path):
    with figures.Drawing(1, ("svg", "png")) as d:
        files = d.draw(jobs[:1], tmp_path)
    assert [f.suffix for f in files] == [".png", ".svg"]
    with pytest.raises(SettingError, match="expected png, optionally with svg"):
        figures.Drawing(1, ("pdf",))
    with pytest.raises(SettingError, match="formats"):
        figures.check_formats(("svg",))


def test_run_says_what_it_writes_and_skips_figures_on_request(tmp_path: Path):
    proc = run_cli("run", str(TINY), "--replicates", "4", "--no-plots", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "writing the tables" in proc.stderr and "writing report.html" in proc.stderr
    assert "drawing" not in proc.stderr
    folder = next((tmp_path / "tiny").iterdir())
    assert not (folder / "plots").exists()
    assert json.loads((folder / "manifest.json").read_text())["figure_formats"] == []
    assert "No figures in this folder." in (folder / "report.html").read_text()
    proc = run_cli("run", str(TINY), "--replicates", "4", "--svg", "--out", str(tmp_path / "s"))
    assert proc.returncode == 0, proc.stderr
    assert "drawing 8 figures (PNG and SVG)" in proc.stderr
    folder = next((tmp_path / "s" / "tiny").iterdir())
    plots = folder / "plots"
    assert len(list(plots.rglob("*.svg"))) == len(list(plots.rglob("*.png"))) == 8
    assert json.loads((folder / "manifest.json").read_text())["figure_formats"] == ["png", "svg"]
