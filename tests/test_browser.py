"""The report and the explorer in a real browser: headless Chromium driven by Playwright.

Chromium is Debian's (``make test`` installs it); Playwright only drives it and never
downloads a browser. Each browser test records console errors, uncaught page errors, dialogs
and any request that leaves the machine, and fails on any of them. The explorer's model is
also tested without a browser.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import CASES, TINY

CHROMIUM = Path(os.environ.get("SIM_CHROMIUM", "/usr/bin/chromium"))
#: Flags that keep Chromium off the network and out of any profile.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
SERVER_START_TIMEOUT = 60.0
HOSTILE = "<script>alert('title')</script> & <b>bold</b>"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if not CHROMIUM.is_file():
        pytest.fail(f"no Chromium at {CHROMIUM}: 'make test' installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield ctx
        finally:
            ctx.close()


class Watch:
    """What a page did that it should not: console errors, page errors, dialogs, remote requests."""

    def __init__(self, page: object, allowed_hosts: tuple[str, ...] = ()) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.remote: list[str] = []

        def on_console(msg: object) -> None:
            if msg.type == "error":  # type: ignore[attr-defined]
                self.errors.append(msg.text)  # type: ignore[attr-defined]

        def on_request(req: object) -> None:
            url = req.url  # type: ignore[attr-defined]
            if not url.startswith(("file:", "data:", "blob:", "about:")) and not any(
                    url.startswith(h) for h in allowed_hosts):
                self.remote.append(url)

        def on_dialog(dialog: object) -> None:
            self.dialogs.append(dialog.message)  # type: ignore[attr-defined]
            dialog.dismiss()  # type: ignore[attr-defined]

        page.on("console", on_console)  # type: ignore[attr-defined]
        page.on("pageerror", lambda err: self.errors.append(str(err)))  # type: ignore[attr-defined]
        page.on("request", on_request)  # type: ignore[attr-defined]
        page.on("dialog", on_dialog)  # type: ignore[attr-defined]

    def check(self) -> None:
        assert self.errors == [], f"console errors: {self.errors}"
        assert self.dialogs == [], f"dialogs opened: {self.dialogs}"
        assert self.remote == [], f"requests off the machine: {self.remote}"


def scenario_copy(tmp: Path, *, title: str | None = None, blocs: bool = False) -> Path:
    """The tiny test scenario in ``tmp`` (with its registry), optionally retitled and with blocs."""
    shutil.copytree(CASES / "facts", tmp / "facts")
    text = TINY.read_text(encoding="utf-8")
    if title is not None:
        quoted = '"' + title.replace("\\", "\\\\").replace('"', '\\"') + '"'
        text = re.sub(r"^title: .*$", lambda _: f"title: {quoted}", text, count=1, flags=re.M)
    if blocs:
        text += "\nblocs:\n  X side: [PX]\n  Y side: [PY]\n"
    path = tmp / "tiny.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the report


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sim.experiments.run import RunRequest, run_scenario

    tmp = tmp_path_factory.mktemp("report")
    path = scenario_copy(tmp, title=HOSTILE, blocs=True)
    return run_scenario(RunRequest(path, replicates=16, out=tmp / "results")).folder


@pytest.mark.browser
def test_report_renders_with_every_image_decoded_and_no_errors(browser: object, run_folder: Path):
    page = browser.new_page()  # type: ignore[attr-defined]
    watch = Watch(page)
    page.goto((run_folder / "report.html").as_uri())
    page.wait_for_load_state("load")
    images = page.eval_on_selector_all(
        "img", "els => els.map(e => ({ok: e.complete && e.naturalWidth > 0 && e.naturalHeight > 0,"
               " w: e.naturalWidth, alt: e.alt}))")
    pngs = sorted((run_folder / "plots").glob("*.png"))
    assert len(images) == len(pngs) >= 7
    assert all(img["ok"] for img in images), images
    assert all(img["w"] >= 1000 for img in images)  # full-resolution figures, not thumbnails
    # the scenario's title is shown as text, never run or parsed as markup
    assert page.inner_text("h1") == HOSTILE
    assert page.eval_on_selector_all("script", "els => els.length") == 0
    assert page.eval_on_selector_all("h1 b", "els => els.length") == 0
    # every section is there, in order
    ids = page.eval_on_selector_all("h2", "els => els.map(e => e.id)")
    assert ids == ["headline", "figures", "tables", "facts", "manifest"]
    cards = page.inner_text(".cards")
    assert "Power X" in cards and "Power Y" in cards
    assert "X side" in page.inner_text("#headline ~ table")
    facts = page.inner_text("table.facts")
    assert "A made-up public source for tests" in facts
    watch.check()
    page.close()


@pytest.mark.browser
def test_report_prints_to_pdf_without_navigation(browser: object, run_folder: Path):
    """Printing (what a colleague does with a briefing) hides the navigation and paginates."""
    page = browser.new_page()  # type: ignore[attr-defined]
    watch = Watch(page)
    page.goto((run_folder / "report.html").as_uri())
    page.emulate_media(media="print")
    assert page.eval_on_selector("nav", "e => getComputedStyle(e).display") == "none"
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) > 3
    watch.check()
    page.close()


# --------------------------------------------------------------------------- the explorer


@contextlib.contextmanager
def explorer_server(scenario: Path, counterfactual: Path | None = None) -> Iterator[str]:
    """``sim explore``'s server on a free local port; always stopped afterwards."""
    from sim.experiments import explore

    port = explore.free_port()
    env = {**os.environ, **explore.server_env(scenario, counterfactual)}
    log = scenario.parent / "explorer.log"
    with log.open("w") as out:
        proc = subprocess.Popen(explore.command(port), env=env, stdout=out,
                                stderr=subprocess.STDOUT, cwd=scenario.parent)
    url = f"http://{explore.HOST}:{port}/"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"explorer server exited ({proc.returncode}):\n{log.read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"explorer server not up after {SERVER_START_TIMEOUT:.0f} s:\n"
                            f"{log.read_text()}")
            time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _share(page: object, power: str) -> float:
    cell = page.locator(f"tr[data-power='{power}'] td.share")  # type: ignore[attr-defined]
    return float(cell.inner_text().rstrip("%"))


def _round(page: object, r: int, rounds: int) -> None:
    page.get_by_text(f"round {r} of {rounds}").wait_for(timeout=20_000)  # type: ignore[attr-defined]


def _steps(page: object, n: int, rounds: int) -> None:
    step = page.get_by_role("button", name="Step")  # type: ignore[attr-defined]
    for r in range(1, n + 1):
        step.click()
        _round(page, r, rounds)


def counterfactual_copy(tmp: Path) -> Path:
    """The tiny region without Power X's grants, beside :func:`scenario_copy`'s."""
    path = tmp / "tiny_no_grants.yaml"
    path.write_text("extends: tiny.yaml\nname: tiny_no_grants\n"
                    "powers: {PX: {instruments: null}}\n", encoding="utf-8")
    return path


@pytest.mark.browser
def test_explorer_shows_its_charts_and_reacts_to_a_slider(browser: object, tmp_path: Path):
    scenario = scenario_copy(tmp_path)
    rounds = 8  # tiny.yaml: 2026-2027 in quarters
    with explorer_server(scenario, counterfactual_copy(tmp_path)) as url:
        page = browser.new_page()  # type: ignore[attr-defined]
        watch = Watch(page, allowed_hosts=(url, url.replace("http", "ws")))
        page.goto(url)
        _round(page, 0, rounds)
        # the ensemble and the effect against the counterfactual, with what the interval covers
        page.get_by_text("effect at the end, against tiny_no_grants").wait_for(timeout=20_000)
        answer = page.locator("p.effect-answer").inner_text()
        assert answer.startswith("Power X: +") and "90% interval (noise only)" in answer
        # every slider shows its value without being touched
        labels = page.locator(".v-slider__thumb-label")
        assert labels.count() >= 2 + 6 and all(labels.nth(i).is_visible()
                                               for i in range(labels.count()))
        budget = page.locator(".v-input").filter(has_text="Budget \u00d7, Power X")
        assert budget.locator(".v-slider__thumb-label").inner_text().strip() in ("1", "1.0")
        charts = page.locator("img")
        charts.first.wait_for(timeout=20_000)
        # an <img> is in the page before its picture has loaded: wait for two to finish
        page.wait_for_function(
            "() => [...document.images].filter(e => e.complete && e.naturalWidth > 300)"
            ".length >= 2", timeout=20_000)
        first_chart = page.eval_on_selector("img", "e => e.src")

        _steps(page, 4, rounds)
        assert page.eval_on_selector("img", "e => e.src") != first_chart  # the chart redrew
        before = _share(page, "PX")

        # Power X's budget slider to its maximum, then Reset (SolaraViz applies sliders on reset)
        row = page.locator(".v-input").filter(has_text="Budget \u00d7, Power X")
        slider = row.locator(".v-slider")
        box = slider.bounding_box()
        page.mouse.click(box["x"] + box["width"] - 1, box["y"] + box["height"] / 2)
        thumb = row.locator(".v-slider__thumb-label")
        assert thumb.is_visible() and thumb.inner_text().strip() in ("3", "3.0")
        page.get_by_role("button", name="Reset").click()
        page.get_by_text("Power X budget \u00d73.0").wait_for(timeout=20_000)
        _round(page, 0, rounds)
        _steps(page, 4, rounds)
        after = _share(page, "PX")
        assert after > before + 0.5, (before, after)  # three times the money: a visible gain
        watch.check()
        page.close()


# --------------------------------------------------------------------------- the explorer's model


def test_explorer_model_scales_budgets_and_weights(tmp_path: Path):
    import numpy as np

    from sim.experiments.explore import ExploreModel

    path = str(scenario_copy(tmp_path))
    base = ExploreModel(scenario=path)
    more = ExploreModel(scenario=path, budget_PX=2.0, weight_econ=0.0, weight_peers=50.0)
    px = np.array([base.params.powers[i] == "PX" for i in base.params.inst_power])
    np.testing.assert_allclose(more.params.amount[:, px], 2 * base.params.amount[:, px])
    np.testing.assert_allclose(more.params.amount[:, ~px], base.params.amount[:, ~px])
    assert np.all(more.params.w_econ == 0) and np.all(base.params.w_econ > 0)
    assert np.all(more.params.kappa == 1.0)  # the peers' weight is a share: capped at 1
    assert more.settings == ["Power X budget \u00d72.0", "weight on economic gain \u00d70.0",
                             "weight on peers \u00d750.0"]


def test_explorer_model_with_no_change_is_the_mesa_model(tmp_path: Path):
    import numpy as np

    from sim.experiments.explore import ExploreModel
    from sim.model.abm import AlignmentModel

    path = str(scenario_copy(tmp_path))
    ex, plain = ExploreModel(scenario=path, budget_PX=1.0), AlignmentModel(scenario=path)
    for _ in range(3):
        ex.step()
        plain.step()
    np.testing.assert_allclose(ex.alignment_so_far(), plain.trajectories()["alignment"])
    assert len(ex.datacollector.get_model_vars_dataframe()) == 4  # the start, then 3 rounds


def test_explorer_rejects_unknown_or_negative_knobs(tmp_path: Path):
    from sim.core.errors import SimError
    from sim.experiments.explore import ExploreModel

    path = str(scenario_copy(tmp_path))
    with pytest.raises(SimError, match="unknown parameter 'budget_ZZ'"):
        ExploreModel(scenario=path, budget_ZZ=1.0)
    with pytest.raises(SimError, match="from 0 to 100"):
        ExploreModel(scenario=path, budget_PX=-1.0)


def test_explorer_parameters_are_what_solaraviz_expects(tmp_path: Path):
    from mesa.visualization import Slider
    from mesa.visualization.solara_viz import _check_model_params, split_model_params

    from sim.experiments.explore import WEIGHTS, ExploreModel, model_params

    path = str(scenario_copy(tmp_path))
    params = model_params(path)
    _check_model_params(ExploreModel.__init__, params)
    sliders, fixed = split_model_params(params)
    assert fixed == {"scenario_file": path}
    assert set(sliders) == {"budget_PX", "budget_PY"} | {f"weight_{k}" for k in WEIGHTS}
    assert all(isinstance(v, Slider) and v.value == 1.0 for v in sliders.values())
    # what SolaraViz does on Reset: the class called with every parameter's value (and, from
    # Mesa 3.5, a mesa scenario object of its own under 'scenario')
    values = {**fixed, **{k: v.value for k, v in sliders.items()}, "budget_PX": 2.0}
    model = ExploreModel(**values)
    assert model.settings == ["Power X budget \u00d72.0"]
    from mesa.visualization import solara_viz

    if hasattr(solara_viz, "_build_model_init_kwargs"):  # Mesa 3.5
        kwargs = solara_viz._build_model_init_kwargs(
            model, values, add_scenario_when_empty=True, require_model_accepts_scenario=True)
        again = type(model)(**kwargs)
        assert again.settings == model.settings and again.params.name == model.params.name


def test_explorer_readout_escapes_scenario_text(tmp_path: Path):
    from sim.experiments.explore import ExploreModel, readout

    path = scenario_copy(tmp_path)
    path.write_text(path.read_text().replace("name: Power X", 'name: "<i>X</i> & co"'))
    text = readout(ExploreModel(scenario=str(path)))
    assert "&lt;i&gt;X&lt;/i&gt; &amp; co" in text and "<i>" not in text


def test_explorer_listens_on_localhost_only():
    from sim.experiments.explore import command, server_env

    cmd = command(8765)
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert server_env(Path("x.yaml"))["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"


def test_the_explorer_gives_the_comparisons_number():
    """One question, one number: with the sliders at 1 the explorer's effect is `sim compare`'s
    (the demo's), to the last bit: over the shipped posterior, which both use by default for
    the flagship, and on the scenarios' own constants without it."""
    import sim
    from sim.core import shipped
    from sim.experiments.explore import ExploreModel

    flagship, cf = str(shipped.FLAGSHIP), str(shipped.SCENARIOS / "no_japan.yaml")
    posterior = shipped.SCENARIOS / "posteriors" / "central_asia"
    compared = sim.compare("no_japan", "tokyo_initiative")
    assert compared.comparison.posterior is not None  # the default, as on the command line
    explored = ExploreModel(scenario_file=flagship, counterfactual=cf, posterior=posterior)
    assert explored.ensemble.effect == compared.headline
    assert explored.ensemble.replicates == compared.replicates == 2000
    assert explored.ensemble.effect["interval"]["covers"] == "noise and parameters"
    plain = sim.compare("no_japan", "tokyo_initiative", without_posterior=True)
    explored = ExploreModel(scenario_file=flagship, counterfactual=cf)
    assert explored.ensemble.effect == plain.headline
    assert explored.ensemble.replicates == 1000
    assert explored.ensemble.counterfactual is not None
    assert explored.ensemble.region.shape == (3, explored.params.rounds + 1, 5)


def test_explorer_readout_without_a_counterfactual_shows_the_ensemble(tmp_path: Path):
    from sim.experiments.explore import ExploreModel, readout

    model = ExploreModel(scenario=str(scenario_copy(tmp_path)))
    text = readout(model)
    assert model.ensemble.effect is None and "effect at the end" not in text
    assert "ensemble median on 31 Dec 2027 (5-95% range (noise only))" in text
    assert "all 8 replicates with these settings" in text


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_stopping_sim_explore_stops_its_server(how: str, tmp_path: Path):
    """A plain `kill` (SIGTERM) of sim explore stops the server it started, and so does kill -9
    (the kernel stops the server when its parent dies): the port is free again."""
    import signal
    import sys

    from sim.experiments import explore

    scenario = scenario_copy(tmp_path)
    port = explore.free_port()
    log = (tmp_path / "explore.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "sim", "explore", str(scenario), "--port",
                             str(port), "--no-open"], stdout=log, stderr=subprocess.STDOUT,
                            cwd=tmp_path)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not _listening(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"explorer not up: {(tmp_path / 'explore.log').read_text()}")
            time.sleep(0.25)
        proc.send_signal(getattr(signal, how))
        proc.wait(timeout=30)
        if how == "SIGTERM":
            assert proc.returncode == 0
        deadline = time.monotonic() + 30
        while _listening(port) and time.monotonic() < deadline:
            time.sleep(0.25)
        assert not _listening(port), "the server outlived sim explore"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
