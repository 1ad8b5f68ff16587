"""report.html: self-contained, escaped, complete for runs, comparisons and sweeps."""

from __future__ import annotations

import base64
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.core.errors import SimError
from sim.experiments.run import RunRequest, run_scenario
from sim.outputs import outcomes, plots, report
from tests.conftest import CASES, TINY, run_cli

EVIL = "<img src=x onerror=alert(1)> & \"quoted\" <script>alert('x')</script>"


class Page(HTMLParser):
    """Every tag with its attributes, and the page's text, from real HTML parsing."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag]


def hostile_scenario(tmp: Path) -> Path:
    """The tiny scenario with markup in every free-text field a report shows, and blocs."""
    shutil.copytree(CASES / "facts", tmp / "facts")
    quoted = json.dumps(EVIL)  # a JSON string is a valid YAML double-quoted scalar
    text = TINY.read_text(encoding="utf-8")
    text = re.sub(r"^title: .*$", lambda _: f"title: {quoted}", text, count=1, flags=re.M)
    text = re.sub(r"^question: .*$", lambda _: f"question: {json.dumps('Why? ' + EVIL)}", text,
                  count=1, flags=re.M)
    text = text.replace("name: Power X", f"name: {quoted}", 1)
    text = text.replace("name: State A", f"name: {quoted}", 1)
    text += f"\nblocs:\n  {quoted}: [PX]\n"
    path = tmp / "tiny.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("run")
    path = hostile_scenario(tmp)
    sets = ("dynamics.sharpness=2.5",)
    return run_scenario(RunRequest(path, replicates=12, sets=sets, out=tmp / "results")).folder


@pytest.fixture(scope="module")
def html(run: Path) -> str:
    return (run / "report.html").read_text(encoding="utf-8")


def test_a_run_writes_its_report_inside_the_finished_folder(run: Path, html: str):
    assert (run / "report.html").is_file()
    assert not list(run.parent.glob(".incomplete-*"))
    assert f"<dd>{run.name}</dd>" in html  # the final name, not the temporary one


def test_scenario_text_is_escaped_everywhere(html: str):
    page = Page(html)
    assert page.all("script") == []
    assert [a for a in page.all("img") if "onerror" in a] == []
    assert all((a.get("src") or "").startswith("data:image/png;base64,") for a in page.all("img"))
    text = "".join(page.text)
    assert EVIL in text  # shown, as text
    assert "&lt;script&gt;" in html and "<script>alert" not in html


def test_every_figure_is_embedded_byte_for_byte(run: Path, html: str):
    page = Page(html)
    embedded = [base64.b64decode(a["src"].split(",", 1)[1]) for a in page.all("img")]
    pngs = sorted((run / "plots").glob("*.png"))
    assert len(pngs) >= 7
    assert sorted(embedded) == sorted(p.read_bytes() for p in pngs)
    order = [a["alt"] for a in page.all("img")]
    assert order[0] == report.CAPTIONS["regional_share"]  # standard figures first
    # one figure per state is linked, not embedded, to keep the page light
    for state in ("AA", "BB"):
        assert f'href="plots/states/alignment_{state}.png"' in html


def test_the_page_needs_no_network(html: str):
    page = Page(html)
    assert page.all("link") == [] and page.all("script") == [] and page.all("iframe") == []
    assert "@import" not in html and "url(" not in html
    loaded = [a.get("src") for t, a in page.tags if a.get("src")]
    assert all(s.startswith("data:") for s in loaded)
    # links to sources are plain links (followed only if the reader clicks)
    remote = [a["href"] for a in page.all("a") if (a.get("href") or "").startswith("http")]
    assert remote == ["https://example.org/pledge"]


def test_headline_has_each_power_the_blocs_and_each_state(run: Path, html: str):
    text = " ".join(" ".join(Page(html).text).split())
    region = pd.read_csv(run / "region.csv")
    end = region[region["round"] == region["round"].max()].set_index("power")
    assert f"{end.loc['PY', 'share_p50_pct']:.1f}%" in text
    assert "Largest change in regional share" in text
    assert f"{EVIL} Power Y" not in text  # bloc members are listed by name
    assert "Each state at the end" in text and "hedging index" in text


def test_facts_show_sources_flag_assumptions_and_command_line_values(html: str):
    page = Page(html)
    text = " ".join(" ".join(page.text).split())
    assert "A made-up public source for tests" in text
    assert "300 JPY bn (2025)" in text
    rows = [a.get("class") for a in page.all("tr")]
    assert rows.count("fact") == 1  # pledge_yen is the registry's one fact
    assert rows.count("assumption") >= 10
    assert "inline" in rows  # the --set value, an assumption made on the command line
    assert "--set" in text and "were changed on the command line" in text


def test_tables_are_rendered_with_long_ones_folded(run: Path, html: str):
    page = Page(html)
    ids = [a.get("id") for t, a in page.tags if t == "details" and a.get("id")]
    assert ids[0] == "table-summary.csv"
    assert {f"table-{p.name}" for p in run.glob("*.csv")} == set(ids)
    opened = {a.get("id"): "open" in a for t, a in page.tags if t == "details" and a.get("id")}
    for path in run.glob("*.csv"):
        assert opened[f"table-{path.name}"] == (len(pd.read_csv(path)) <= report.OPEN_ROWS)


def test_the_report_can_be_rewritten_later_from_elsewhere(run: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch):
    moved = tmp_path / "moved"
    shutil.copytree(run, moved)
    monkeypatch.chdir(tmp_path)  # the scenario file's relative path no longer resolves
    (moved / "report.html").unlink()
    path = report.write_report(moved)
    text = path.read_text(encoding="utf-8")
    assert "registry was not found" in text or "Registry:" in text
    assert text.count("data:image/png;base64,") == len(list((moved / "plots").glob("*.png")))


def test_a_folder_without_a_manifest_is_a_one_line_error(tmp_path: Path):
    with pytest.raises(SimError, match="not a results folder"):
        report.write_report(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(SimError, match="not valid JSON"):
        report.write_report(tmp_path)


# --------------------------------------------------------------------------- other kinds


def _figure(folder: Path, stem: str) -> None:
    from datetime import date

    d = [date(2026, 1, 1), date(2027, 1, 1)]
    m = np.array([[0.0, 0.0], [0.01, -0.01]])
    plots.save(plots.difference_paths(d, m, m - 0.002, m + 0.002, powers=["PX", "PY"], a="A",
                                      b="B"), folder / "plots", stem)


def test_a_comparison_gets_paired_headlines_and_what_differs(tmp_path: Path):
    shutil.copytree(CASES / "facts", tmp_path / "facts")
    shutil.copy(TINY, tmp_path / "tiny.yaml")
    b_text = TINY.read_text(encoding="utf-8").replace("pledged_usd_bn: pledge\n",
                                                        "pledged_usd_bn: trade_big\n", 1)
    (tmp_path / "tiny_b.yaml").write_text(b_text, encoding="utf-8")
    folder = tmp_path / "cmp"
    folder.mkdir()
    from sim.scenario.schema import load, to_yaml

    (folder / "scenario_a.yaml").write_text(to_yaml(load(tmp_path / "tiny.yaml")))
    (folder / "scenario_b.yaml").write_text(to_yaml(load(tmp_path / "tiny_b.yaml")))
    region = pd.DataFrame({"round": [0, 0, 8, 8], "date": ["2026-01-01"] * 2 + ["2028-01-01"] * 2,
                           "power": ["PX", "PY"] * 2, "diff_mean": [0, 0, 0.03, -0.03],
                           "diff_p5": [0, 0, 0.02, -0.04], "diff_p95": [0, 0, 0.04, -0.02],
                           "sign_holds": [np.nan, np.nan, 1, 0.9]})
    region.to_csv(folder / "region_differences.csv", index=False)
    final = pd.DataFrame({"state": ["AA", "AA"], "power": ["PX", "PY"],
                          "diff_mean": [0.05, -0.05], "diff_p5": [0.04, -0.06],
                          "diff_p95": [0.06, -0.04]})
    final.to_csv(folder / "differences.csv", index=False)
    _figure(folder, "difference")
    (folder / "manifest.json").write_text(json.dumps({
        "kind": "compare", "scenario_a": "tiny", "scenario_b": "tiny_b",
        "scenario_a_file": str(tmp_path / "tiny.yaml"),
        "scenario_b_file": str(tmp_path / "tiny_b.yaml"),
        "interval": [0.05, 0.95], "powers": ["PX", "PY"], "states": ["AA", "BB"],
        "compare_headline": outcomes.compare_headline(region, final),
    }))
    text = " ".join(" ".join(Page(report.write_report(folder).read_text()).text).split())
    assert "Comparison: tiny_b against tiny" in text
    assert ("Power X's share of the region's alignment: +3.0 pp (mean of the paired "
            "differences; 90% interval +2.0 to +4.0") in text
    assert "Who gains: Power X +3.0 pp" in text
    assert "Who loses: Power Y -3.0 pp" in text and "90% interval (noise only)" in text
    assert "same sign in 100% of replicates" in text  # Power X's card: every replicate agrees
    assert "Where the scenarios differ" in text
    assert "powers.PX.instruments.grants.pledged_usd_bn 5 (pledge) 10 (trade_big)" in text
    assert "1 parameter values differ" in text


def test_a_sweep_shows_its_analysis_and_parquet_tables(tmp_path: Path):
    folder = tmp_path / "sweep"
    folder.mkdir()
    _figure(folder, "sobol_JPN_region")
    pd.DataFrame({"point": range(250), "x": np.linspace(0, 1, 250)}).to_parquet(
        folder / "design.parquet")
    (folder / "report.txt").write_text("JPN_region: mean 0.07 <b>not bold</b>\n")
    (folder / "manifest.json").write_text(json.dumps({"kind": "sweep", "scenario": "s",
                                                      "method": "sobol", "points": 250}))
    html = report.write_report(folder).read_text()
    text = " ".join(" ".join(Page(html).text).split())
    assert text.startswith("Sweep: s") or "Sweep: s" in text
    assert "JPN_region: mean 0.07 <b>not bold</b>" in text and "<b>not bold" not in html
    assert "design.parquet (250 rows, first 200 shown)" in text
    assert "Sobol JPN region." in text  # a caption from an unknown figure's name
    assert html.count("data:image/png;base64,") == 1


def test_a_manifest_headline_is_shown_first(tmp_path: Path):
    (tmp_path / "manifest.json").write_text(json.dumps({
        "kind": "sweep", "title": "T", "headline": [{"label": "Japan", "value": 0.1234567,
                                                      "note": "mean"}, "a plain line"]}))
    text = " ".join(" ".join(Page(report.write_report(tmp_path).read_text()).text).split())
    assert "Japan 0.1235 mean" in text and "a plain line" in text


def test_png_width_follows_its_resolution(tmp_path: Path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 5))
    fig.savefig(tmp_path / "a.png", dpi=150)
    assert report.png_css_width((tmp_path / "a.png").read_bytes()) == 960
    assert report.png_css_width(b"not a png") is None


# --------------------------------------------------------------------------- commands


def test_sim_report_and_sim_view(run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    folder = tmp_path / "copy"
    shutil.copytree(run, folder)
    (folder / "report.html").unlink()
    done = run_cli("report", str(folder))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(folder / "report.html")
    # 'sim view' opens the file in the browser $BROWSER names (here: a script that records it)
    opened = tmp_path / "opened.txt"
    script = tmp_path / "browser.sh"
    script.write_text(f"#!/bin/sh\necho \"$1\" > {opened}\n")
    script.chmod(0o755)
    monkeypatch.setenv("BROWSER", str(script))
    done = run_cli("view", str(folder))
    assert done.returncode == 0, done.stderr
    assert opened.read_text().strip() == (folder / "report.html").resolve().as_uri()
    # where no browser can be started, the path is printed and the user told so
    monkeypatch.setenv("BROWSER", str(tmp_path / "no-such-browser"))
    done = run_cli("view", str(folder))
    assert done.returncode == 0 and done.stdout.strip() == str(folder / "report.html")
    assert "no web browser found" in done.stderr
    bad = run_cli("report", str(tmp_path / "nowhere"))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_tables_show_shares_in_percent_and_differences_in_points(tmp_path: Path):
    pd.DataFrame({"state": ["AA"], "power": ["PX"], "mean": [0.2475], "p5": [0.2],
                  "p50": [0.25], "p95": [0.3]}).to_csv(tmp_path / "summary.csv", index=False)
    pd.DataFrame({"round": [0], "state": ["AA"], "mean": [0.41]}).to_csv(
        tmp_path / "hedging.csv", index=False)
    pd.DataFrame({"state": ["AA"], "power": ["PX"], "mean_a": [0.1], "mean_b": [0.12],
                  "diff_mean": [0.0198], "diff_p5": [-0.001], "diff_p95": [0.03],
                  "sign_holds": [0.95]}).to_csv(tmp_path / "differences.csv", index=False)
    summary, hedging = report._table(tmp_path / "summary.csv"), report._table(
        tmp_path / "hedging.csv")
    assert summary.columns[2:] == ["mean (%)", "p5 (%)", "p50 (%)", "p95 (%)"]
    assert summary.rows[0][2] == "24.75"
    assert hedging.columns[-1] == "mean" and hedging.rows[0][-1] == "0.41"  # an index
    diffs = report._table(tmp_path / "differences.csv")
    assert diffs.columns[4:] == ["diff_mean (pp)", "diff_p5 (pp)", "diff_p95 (pp)",
                                 "sign_holds (%)"]
    assert diffs.rows[0][4:] == ["+1.98", "-0.10", "+3.00", "95.00"]
