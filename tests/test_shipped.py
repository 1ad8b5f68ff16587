"""The shipped scenario library: by name, from outside the repository, and from a plain install."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim.core import shipped
from sim.core.errors import ScenarioError
from sim.scenario.schema import load, locate, registry_folder

from .conftest import CASES, ROOT, run_cli

MINE = """\
extends: tokyo_initiative.yaml
name: my_tokyo
title: "Mine: Japan's package, delivered in full"
powers:
  JPN:
    instruments:
      business_target: {delivery_rate: {value: 1.0, why: "what if every project is built"}}
"""


def test_a_shipped_scenario_is_found_by_name_from_anywhere(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    assert locate("tokyo_initiative") == shipped.FLAGSHIP
    assert locate("history/central_asia_1992.yaml").parent.name == "history"
    assert load("no_japan").name == "no_japan"
    with pytest.raises(ScenarioError, match=r"nor a shipped scenario of that name .*tokyo_init"):
        locate("tokyo_initiativ")
    (tmp_path / "tokyo_initiative.yaml").write_text("not: a scenario\n")
    assert locate("tokyo_initiative.yaml") == Path("tokyo_initiative.yaml")  # a file comes first


def test_a_scenario_kept_elsewhere_extends_a_shipped_one(tmp_path: Path):
    mine = tmp_path / "mine" / "my_tokyo.yaml"
    mine.parent.mkdir()
    mine.write_text(MINE)
    # the registry is found through the chain it extends: the shipped one
    assert registry_folder(mine) == shipped.SCENARIOS / "facts"
    sc = load(mine)
    assert sc.powers["JPN"].instruments["business_target"].delivery_rate.value == 1.0
    assert sc.powers["JPN"].instruments["business_target"].pledged_usd_bn.ref == \
        "jpn_business_target_jpy"
    proc = run_cli("run", str(mine), "--replicates", "3", "--no-plots", "--out",
                   str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    folder = next((tmp_path / "out" / "my_tokyo").iterdir())
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["facts_registry"] == str(shipped.SCENARIOS / "facts")
    page = (folder / "report.html").read_text()
    assert "MNTV, news report by Akhtar Pathan" in page  # the report finds the sources too


def test_a_registry_named_with_facts(tmp_path: Path):
    alone = tmp_path / "alone.yaml"
    alone.write_text((CASES / "tiny.yaml").read_text())
    with pytest.raises(ScenarioError, match="name a registry with --facts DIR"):
        registry_folder(alone)
    proc = run_cli("validate", str(alone), cwd=tmp_path)
    assert proc.returncode == 2 and "--facts DIR" in proc.stderr
    proc = run_cli("validate", str(alone), "--facts", str(CASES / "facts"), cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith(f"ok: {alone}")
    proc = run_cli("compare", str(alone), "--vary", "states.AA.inertia=0.4", "--replicates", "2",
                   "--no-plots", "--facts", str(CASES / "facts"), "--out", str(tmp_path / "o"),
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_a_plain_install_carries_the_library(tmp_path: Path):
    """Build the wheel as pip does (offline), install it alone, and use it from another folder:
    a scenario by name, the registry, history, priors and the sweep file, and the data."""
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, symlinks=True, ignore=shutil.ignore_patterns(
        ".venv*", "results", ".git", "build", "*.egg-info", "__pycache__", ".*_cache",
        ".hypothesis"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "-w", str(tmp_path / "dist"), str(src)], check=True, timeout=600)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    site = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", str(site),
                    str(wheel)], check=True, timeout=600)
    lib = site / "sim" / "scenarios"
    for name in ("tokyo_initiative.yaml", "no_japan.yaml", "facts/seeds.yaml",
                 "facts/source_texts.yaml", "history/central_asia_1992.yaml",
                 "priors/central_asia.yaml", "posteriors/central_asia/draws.parquet",
                 "posteriors/central_asia/manifest.json", "sweeps/tokyo_drivers.yaml",
                 "examples/facts/archipelago.yaml"):
        assert (lib / name).is_file() and not (lib / name).is_symlink(), name
    assert list((site / "sim" / "data").rglob("*.csv"))
    away = tmp_path / "elsewhere"
    away.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "COLUMNS": "200"}

    def sim(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "sim", *args], cwd=away, env=env,
                              capture_output=True, text=True, timeout=300, check=False)

    where = subprocess.run([sys.executable, "-c", "import sim; print(sim.__file__)"], cwd=away,
                           env=env, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(site))  # the installed copy, not the checkout
    done = sim("run", "tokyo_initiative", "--replicates", "3", "--no-plots", "--out", "out")
    assert done.returncode == 0, done.stderr
    assert sim("validate", "history/central_asia_1992").returncode == 0
    assert "Yomiuri" in sim("facts", "jpn_dialogue_since").stdout
    version = sim("--version")
    assert version.returncode == 0 and version.stdout.strip() == "sim 0.1.0"  # no checkout
