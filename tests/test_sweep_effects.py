"""Sweeps of an effect (a policy against its counterfactual, paired at every point) and sweeps of
a registry entry by its id (every field that uses it moves, each as it takes it)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.core.errors import ScenarioError
from sim.experiments.compare import paired_run
from sim.experiments.sweep import SweepRequest, run_sweep
from sim.experiments.sweep.spec import parse
from sim.model import engine, rules
from sim.model.params import build
from sim.scenario.schema import load

from .conftest import CASES, TINY, run_cli

#: The tiny region without Power X's grants: the counterfactual of its policy.
NO_GRANTS = """\
extends: tiny.yaml
name: tiny_no_grants
powers:
  PX:
    instruments: null
"""
GRANTS = "powers.PX.instruments.grants.delivery_rate"
#: Two fields that take one registry entry, at different scales and in different units.
TWO_SCALES = """\
extends: tiny.yaml
name: tiny_two_scales
powers:
  PX:
    instruments:
      grants: {pledged_usd_bn: {ref: pledge_yen, scale: 0.5, why: "half the yen pledge, as grants"}}
"""


@pytest.fixture
def region(tmp_path: Path) -> Path:
    """A folder holding the tiny region, its registry and the scenarios the tests add."""
    shutil.copytree(CASES / "facts", tmp_path / "facts")
    shutil.copy(TINY, tmp_path / "tiny.yaml")
    (tmp_path / "tiny_no_grants.yaml").write_text(NO_GRANTS)
    (tmp_path / "tiny_two_scales.yaml").write_text(TWO_SCALES)
    return tmp_path


def test_an_effect_is_the_paired_difference_at_each_point(region: Path):
    """Each point's PX_effect is what `sim compare` gives for that point's scenarios: the
    lever (the grants' delivery) moves the policy only, the uncertainty (sharpness) both."""
    result = run_sweep(SweepRequest(
        source=region / "tiny.yaml", counterfactual=region / "tiny_no_grants.yaml",
        params=[f"{GRANTS}=0.2:1:2", "dynamics.sharpness=1:5:2"], replicates=12,
        out=region / "out", workers=1))
    table = pd.read_parquet(result.folder / "outcomes.parquet")
    assert len(table) == 4 and {"PX_effect", "PX_AA_effect", "PY_effect"} <= set(table.columns)
    for row in table.to_dict("records"):
        sets = [f"dynamics.sharpness={row['dynamics.sharpness']!r}"]
        policy = build(load(region / "tiny.yaml", [*sets, f"{GRANTS}={row[GRANTS]!r}"]))
        cf = build(load(region / "tiny_no_grants.yaml", sets))
        pr = paired_run(cf, policy, 12, int(row["seed"]))
        px = policy.powers.index("PX")
        assert row["PX_effect"] == pytest.approx(pr.region[:, -1, px].mean(), abs=1e-12)
        assert row["PX_AA_effect"] == pytest.approx(pr.final[:, 0, px].mean(), abs=1e-12)
    assert (table["PX_effect"] > 0).all() and (table["PY_effect"] < 0).all()
    # the lever moves the effect: more of the grants delivered, a larger effect
    low, high = (table.sort_values(GRANTS).groupby(GRANTS)["PX_effect"].mean()).to_numpy()
    assert high > low
    assert "PX_effect" in result.report  # reported by default with a counterfactual


def test_an_effect_needs_a_counterfactual():
    raw = {"scenario": "s.yaml", "parameters": {"x": {"path": "a.b", "range": [0, 1]}},
           "outcomes": {"e": {"quantity": "share", "power": "PX", "effect": True}}}
    with pytest.raises(ScenarioError, match=r"outcomes\.e\.effect: an effect needs the sweep's "
                                            r"'counterfactual'"):
        parse(raw, "sweep.yaml")
    raw["counterfactual"] = "cf.yaml"
    assert parse(raw, "sweep.yaml").outcomes["e"].effect


def test_a_counterfactual_of_another_region_is_refused(region: Path):
    (region / "other.yaml").write_text("extends: tiny.yaml\nname: other\n"
                                       "time: {start: 2026-01-01, end: 2026-12-31}\n")
    proc = run_cli("sweep", str(region / "tiny.yaml"), "--param", "dynamics.sharpness=1:3:2",
                   "--counterfactual", str(region / "other.yaml"), "--out", str(region / "o"))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "--counterfactual" in proc.stderr and "calendar" in proc.stderr
    assert not (region / "o").exists()


def test_a_registry_entry_moves_every_field_that_uses_it(region: Path):
    """`pledge_yen` is PY's loan pledge (JPY bn, at 150 per USD) and, in this scenario, half of
    it PX's grants: sweeping the entry sets each field to the value in yen times its factor."""
    result = run_sweep(SweepRequest(
        source=region / "tiny_two_scales.yaml", params=["pledge_yen=150:600:2"], replicates=6,
        out=region / "out", workers=1))
    manifest = json.loads((result.folder / "manifest.json").read_text())
    (param,) = manifest["parameters"]
    assert param["ref"] == "pledge_yen"
    factors = dict(zip(param["paths"], param["factors"], strict=True))
    assert factors == pytest.approx({"powers.PX.instruments.grants.pledged_usd_bn": 0.5 / 150,
                                     "powers.PY.instruments.loans.pledged_usd_bn": 1 / 150})
    table = pd.read_parquet(result.folder / "outcomes.parquet")
    # each point equals the scenario with both fields set by hand to the value times the factor
    for row in table.to_dict("records"):
        sets = [f"{path}={row['pledge_yen'] * f!r}" for path, f in factors.items()]
        p = build(load(region / "tiny_two_scales.yaml", sets))
        traj = engine.simulate(p, np.arange(6), int(row["seed"]))
        share = rules.regional_share(traj.alignment[:, -1], p.region_w)
        assert row["PX_region"] == pytest.approx(share[:, 0].mean(), abs=1e-12)
    # stored by path, so that a resumed sweep needs no registry
    stored = (result.folder / "sweep.yaml").read_text()
    assert "ref:" not in stored and "powers.PY.instruments.loans.pledged_usd_bn:" in stored


def test_a_registry_entry_in_a_sweep_file_and_its_mistakes(region: Path):
    (region / "s.yaml").write_text(
        "scenario: tiny.yaml\nmethod: grid\nreplicates: 2\n"
        "parameters:\n  boost: {ref: tenth_index, range: [0.05, 0.2], levels: 2}\n")
    result = run_sweep(SweepRequest(source=region / "s.yaml", out=region / "out", workers=1))
    (param,) = json.loads((result.folder / "manifest.json").read_text())["parameters"]
    # every field that takes tenth_index: the noise levels, the floor and the summit's boost
    assert "events.meeting.boost" in param["paths"]
    assert "dynamics.utility_noise_sd" in param["paths"] and len(param["paths"]) == 4
    (region / "bad.yaml").write_text(
        "scenario: tiny.yaml\nparameters:\n  b: {ref: pledge_yn, range: [1, 2]}\n")
    with pytest.raises(ScenarioError, match=r"parameters\.b\.ref: .*did you mean 'pledge_yen'"):
        run_sweep(SweepRequest(source=region / "bad.yaml", out=region / "out"))
    (region / "unused.yaml").write_text(
        "scenario: tiny.yaml\nparameters:\n  b: {ref: calib_w_security, range: [1, 2]}\n")
    with pytest.raises(ScenarioError, match="no field of the scenario refers to registry entry"):
        run_sweep(SweepRequest(source=region / "unused.yaml", out=region / "out"))
    (region / "both.yaml").write_text(
        "scenario: tiny.yaml\nparameters:\n  b: {ref: one, path: a.b, range: [1, 2]}\n")
    with pytest.raises(ScenarioError, match="give exactly one of 'path'"):
        run_sweep(SweepRequest(source=region / "both.yaml", out=region / "out"))
