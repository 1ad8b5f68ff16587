"""Figures: stable colour-blind-safe colours, briefing-ready text, blocs, differences, files."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image

from sim.core.errors import ScenarioError
from sim.experiments import live
from sim.model import engine
from sim.model.params import build
from sim.outputs import outcomes, plots
from sim.scenario.schema import load
from tests.conftest import FLAGSHIP, TINY

OKABE_ITO = set(plots.OKABE_ITO.values())


@pytest.fixture(scope="module")
def tiny():
    sc = load(TINY)
    p = build(sc)
    res = engine.run(p, 24, sc.seed)
    return sc, p, res


@pytest.fixture(scope="module")
def flagship():
    sc = load(FLAGSHIP)
    p = build(sc)
    res = engine.run(p, 12, sc.seed)
    return sc, p, res


def _texts(fig: Figure) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def _inside(fig: Figure) -> None:
    """Everything drawn lies inside the canvas: nothing is cut off at an edge."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    w, h = fig.bbox.width, fig.bbox.height
    parts = [(ax.get_title() or "axes", ax.get_tightbbox(renderer)) for ax in fig.axes
             if ax.get_visible()]
    parts += [(t.get_text(), t.get_window_extent(renderer))
              for t in [*fig.texts, fig._suptitle, fig._supxlabel] if t and t.get_text()]
    parts += [("legend", leg.get_window_extent(renderer)) for leg in fig.legends]
    for name, bb in parts:
        assert bb.x0 >= -1 and bb.y0 >= -1 and bb.x1 <= w + 1 and bb.y1 <= h + 1, name


# --------------------------------------------------------------------------- colours


def test_palette_is_okabe_ito_distinct_and_independent_of_order():
    codes = ["CHN", "RUS", "EU", "USA", "JPN"]
    colours = plots.palette(codes)
    assert set(colours.values()) <= OKABE_ITO
    assert len(set(colours.values())) == len(codes)
    assert plots.palette(list(reversed(codes))) == colours
    assert "#000000" not in colours.values()  # black is kept for text and reference lines


def test_a_power_keeps_its_colour_when_others_come_and_go():
    full = plots.palette(["CHN", "RUS", "EU", "USA", "JPN"])
    for drop in full:
        fewer = plots.palette([c for c in full if c != drop])
        assert all(fewer[c] == full[c] for c in fewer)
    assert plots.palette(["JPN"])["JPN"] == full["JPN"]


def test_clashing_codes_still_get_distinct_colours():
    codes = [f"P{i}" for i in range(7)]
    assert len(set(plots.palette(codes).values())) == 7
    assert len(plots.palette([f"P{i}" for i in range(9)])) == 9  # more than the palette: reuse


def test_a_scenario_can_name_a_colour_and_bad_values_are_ignored():
    got = plots.palette(["AA", "BB", "CC"], {"AA": "vermillion", "BB": "red; url(x)"})
    assert got["AA"] == plots.OKABE_ITO["vermillion"]
    assert got["BB"] in OKABE_ITO and got["BB"] != got["AA"]
    assert plots.palette(["AA"], {"ZZ": "blue"}) == plots.palette(["AA"])


def test_colour_keeps_its_old_signature(tiny):
    _, p, _ = tiny
    assert plots.colour(p, p.powers[0]) == plots.palette(p.powers)[p.powers[0]]


def test_schema_colour_names_match_the_palette():
    from typing import get_args

    from sim.scenario.schema import ColourName

    assert set(get_args(ColourName)) == set(plots.OKABE_ITO)


# --------------------------------------------------------------------------- blocs in the schema


def _tiny_text(extra: str) -> str:
    return TINY.read_text(encoding="utf-8") + "\n" + extra + "\n"


@pytest.mark.parametrize(("blocs", "message"), [
    ("blocs: {X: [PX, PZ]}", "unknown power code 'PZ'"),
    ("blocs: {X: [PX], Y: [PX, PY]}", "already in bloc 'X'"),
    ("blocs: {X: []}", "at least one power"),
])
def test_blocs_are_checked_against_the_powers(tmp_path: Path, blocs: str, message: str):
    (tmp_path / "facts").symlink_to(TINY.parent / "facts")
    path = tmp_path / "tiny.yaml"
    path.write_text(_tiny_text(blocs), encoding="utf-8")
    with pytest.raises(ScenarioError, match=message):
        load(path)


def test_look_reads_names_colours_and_blocs(tmp_path: Path):
    (tmp_path / "facts").symlink_to(TINY.parent / "facts")
    path = tmp_path / "tiny.yaml"
    text = _tiny_text("blocs: {X side: [PX]}").replace(
        "  PY:\n    name: Power Y\n", "  PY:\n    name: Power Y\n    colour: black\n")
    path.write_text(text, encoding="utf-8")
    sc = load(path)
    lk = plots.make_look(build(sc), sc)
    assert lk.power("PX") == "Power X" and lk.state("AA") == "State A"
    assert lk.colours["PY"] == "#000000"
    assert dict(lk.blocs) == {"X side": ("PX",)}


# --------------------------------------------------------------------------- run figures


def test_standard_figures_read_well(flagship):
    sc, p, res = flagship
    lk = plots.make_look(p, sc)
    figs = plots.standard(res.summary, p, title=sc.title, look=lk, traj=res.trajectories)
    expected = {"regional_share", "alignment_by_state", "alignment_composition",
                "final_alignment_heatmap", "hedging_index", "money_delivered"}
    assert expected <= set(figs)
    assert ("bloc_shares" in figs) == bool(sc.blocs)
    for stem, fig in figs.items():
        heading = fig._suptitle.get_text().replace("\n", " ")  # what is shown, and when
        assert str(p.dates[-1].year) in heading or "per year" in heading, stem
        note = fig._supxlabel.get_text()
        assert f"{res.summary.n} replicates" in note, stem
        sizes = [t.get_fontsize() for t in _texts(fig)]
        assert min(sizes) >= 10, (stem, min(sizes))  # legible on a slide
        _inside(fig)


def test_time_axes_carry_real_dates(tiny):
    sc, p, res = tiny
    fig = plots.regional_share(res.summary, p, title=sc.title)
    ax = fig.axes[0]
    assert isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter)
    x = mdates.num2date(ax.lines[0].get_xdata(orig=False)[[0, -1]])
    assert (x[0].date(), x[1].date()) == (p.dates[0], p.dates[-1])
    assert "%" in ax.yaxis.get_major_formatter()(0.25, 0)


def test_each_power_has_the_same_colour_in_every_figure(flagship):
    sc, p, res = flagship
    lk = plots.make_look(p, sc)
    want = [lk.colours[c] for c in p.powers]
    share = plots.regional_share(res.summary, p, title="t", look=lk)
    assert [ln.get_color() for ln in share.axes[0].lines] == want
    paths = plots.alignment_paths(res.summary, p, title="t", look=lk)
    assert [ln.get_color() for ln in paths.axes[0].lines] == want
    grid = plots.composition_grid(res.summary, p, title="t", look=lk)
    fills = [c for c in grid.axes[0].collections if isinstance(c, PolyCollection)]
    from matplotlib.colors import to_hex

    assert [to_hex(c.get_facecolor()[0]) for c in fills] == [w.lower() for w in want]


def test_state_figures_label_every_band_with_its_final_share(tiny):
    sc, p, res = tiny
    lk = plots.make_look(p, sc)
    figs = plots.per_state(res.summary, p, title=sc.title, look=lk)
    assert set(figs) == {f"alignment_{c}" for c in p.states}
    fig = figs[f"alignment_{p.states[0]}"]
    labels = [t.get_text() for t in fig.axes[0].texts]
    final = res.summary.align_mean[-1, 0]
    assert labels == [f"{lk.power(c)} {100 * v:.0f}%" for c, v in zip(p.powers, final, strict=True)]
    _inside(fig)


def test_end_labels_are_kept_apart_in_order():
    ys = [0.50, 0.51, 0.515, 0.9, 0.0]
    out = plots._spread(ys, 0.06, 0.0, 1.0)
    order = np.argsort(ys)
    assert list(np.argsort(out)) == list(order)
    srt = np.sort(out)
    assert np.all(np.diff(srt) >= 0.06 - 1e-9)
    assert min(out) >= 0 and max(out) <= 1


# --------------------------------------------------------------------------- blocs


def test_bloc_series_sum_powers_and_gather_the_rest(flagship):
    _, p, res = flagship
    blocs = {"East": ["CHN", "RUS"], "West": ["EU", "USA"]}
    exact = outcomes.bloc_series(res.summary, p, blocs, res.trajectories)
    assert list(exact) == ["East", "West", "other"]  # JPN is in no bloc
    means = outcomes.bloc_series(res.summary, p, blocs)
    idx = [p.powers.index(c) for c in blocs["East"]]
    np.testing.assert_allclose(means["East"][1], res.summary.region_mean[:, idx].sum(1))
    total = sum(means[n][1] for n in means)
    np.testing.assert_allclose(total, 1.0)
    lo, mid, hi = exact["East"]
    assert np.all(lo <= mid + 1e-12) and np.all(mid <= hi + 1e-12)
    assert np.any(hi > lo)  # replicates differ: a real band
    fig = plots.bloc_shares(res.summary, p, title="t", traj=res.trajectories,
                            look=plots.Look(plots.palette(p.powers), blocs={
                                k: tuple(v) for k, v in blocs.items()}))
    labels = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "East" in labels and "West" in labels and "other: JPN" in labels
    _inside(fig)


# --------------------------------------------------------------------------- comparisons


def test_difference_figures_show_each_power_with_its_interval():
    dates = [date(2026, 1, 1), date(2026, 7, 1), date(2027, 1, 1)]
    powers = ["AA", "BB", "CC"]
    mean = np.array([[0, 0, 0], [0.01, -0.005, -0.005], [0.02, -0.01, -0.01]])
    fig = plots.difference_paths(dates, mean, mean - 0.003, mean + 0.003, powers=powers,
                                 a="base", b="policy")
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 3
    assert "policy minus base" in fig._suptitle.get_text().replace("\n", " ")
    ax = fig.axes[0]
    assert ax.yaxis.get_major_formatter()(0.02, 0) == "+2.0"  # percentage points
    assert any(np.allclose(ln.get_ydata(), 0) for ln in ax.lines)  # the zero line
    _inside(fig)
    states = ["S1", "S2"]
    m = np.array([[0.01, -0.01, 0.0], [0.02, -0.02, 0.0]])
    fig = plots.difference_final(states, powers, m, m - 0.004, m + 0.004, a="base",
                                 b="policy", when=dates[-1])
    assert "1 Jan 2027" in fig._suptitle.get_text()
    _inside(fig)


# --------------------------------------------------------------------------- explorer figures


def test_live_figures_span_the_whole_horizon_from_the_first_round(tiny):
    sc, p, res = tiny
    lk = plots.make_look(p, sc)
    a = res.trajectories.alignment[0, :3]
    fig = live.live_region(p.dates, a, p.region_w, powers=p.powers, look=lk)
    lo, hi = fig.axes[0].get_xlim()
    assert mdates.num2date(lo).date() == p.dates[0] and mdates.num2date(hi).date() == p.dates[-1]
    assert len(fig.axes[0].lines[0].get_xdata()) == 3
    fig = live.live_states(p.dates, a[:1], states=p.states, powers=p.powers, look=lk)
    assert len(fig.axes) == len(p.states)


# --------------------------------------------------------------------------- files


def test_save_writes_a_slide_sized_png_and_a_reproducible_svg(tiny, tmp_path: Path):
    sc, p, res = tiny
    lk = plots.make_look(p, sc)
    fig = plots.regional_share(res.summary, p, title=sc.title, look=lk)
    png_only = plots.regional_share(res.summary, p, title=sc.title, look=lk)
    assert plots.save(png_only, tmp_path / "png", "share") == [tmp_path / "png" / "share.png"]
    png, svg = plots.save(fig, tmp_path / "a", "share", ("png", "svg"))
    with Image.open(png) as im:
        assert im.size[0] >= 1400 and im.size[1] >= 700
    root = ET.parse(svg).getroot()
    texts = [el.text for el in root.iter("{http://www.w3.org/2000/svg}text") if el.text]
    assert any("Power X" in t for t in texts)  # text stays text: editable in a slide tool
    again = plots.save(plots.regional_share(res.summary, p, title=sc.title, look=lk),
                       tmp_path / "b", "share", ("png", "svg"))[1]
    assert svg.read_bytes() == again.read_bytes()


def test_a_date_axis_reaching_the_year_9999_is_drawn(tmp_path: Path):
    """The calendar holds dates up to the year 9999; an axis' margins must not ask matplotlib
    for dates it cannot draw."""
    fig = Figure(layout="constrained")
    ax = fig.add_subplot()
    ax.plot([date(2026, 1, 1), date(9999, 10, 1)], [0.2, 0.8])
    plots._date_axis(ax)
    paths = plots.save(fig, tmp_path, "far", formats=("png", "svg"))
    assert [p.name for p in paths] == ["far.png", "far.svg"]
    assert all(p.stat().st_size for p in paths)
