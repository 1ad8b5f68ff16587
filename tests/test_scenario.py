"""Scenario loading: extends, overrides, provenance of numbers, units."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.core.errors import ScenarioError
from sim.model.params import build
from sim.scenario.schema import load, to_yaml, values

from .conftest import CASES, FLAGSHIP, TINY


def test_fact_in_yen_converts_to_dollars_through_the_registry_rate():
    sc = load(TINY)
    v = sc.powers["PY"].instruments["loans"].pledged_usd_bn
    assert v.ref == "pledge_yen" and v.value == pytest.approx(300 / 150)


def test_extends_merges_and_null_removes(tmp_path: Path):
    child = CASES / "child_tmp.yaml"
    try:
        child.write_text(
            "extends: tiny.yaml\nname: child\nevents: {meeting: null}\n"
            "states: {AA: {inertia: small}}\n"
        )
        sc = load(child)
        assert sc.name == "child" and sc.events == {}
        assert sc.states["AA"].inertia.value == 0.1
        assert sc.states["BB"].inertia.value == 0.5  # untouched
    finally:
        child.unlink()


def test_set_overrides_validate_and_record_their_reason():
    sc = load(TINY, ["states.AA.weights.econ=2.5"])
    v = sc.states["AA"].weights.econ
    assert v.value == 2.5 and v.ref is None and "command line" in (v.why or "")
    with pytest.raises(ScenarioError, match="did you mean 'econ'"):
        load(TINY, ["states.AA.weights.ecom=2"])


def test_every_value_has_provenance():
    for path, v in values(load(TINY)):
        assert v.ref is not None or (v.why and len(v.why) >= 10), path


def test_resolved_yaml_round_trips(tmp_path: Path):
    sc = load(TINY, ["dynamics.sharpness=4"])
    (tmp_path / "facts").symlink_to(CASES / "facts")
    path = tmp_path / "resolved.yaml"
    path.write_text(to_yaml(sc))
    again = load(path)
    assert again == sc


def test_rounds_follow_the_calendar():
    p = build(load(TINY))
    assert p.rounds == 8  # two years of quarterly rounds
    assert p.dates[0].isoformat() == "2026-01-01" and p.dates[-1].isoformat() == "2028-01-01"
    assert build(load(TINY), rounds=3).rounds == 3


def test_instrument_money_is_spread_over_its_period():
    p = build(load(TINY))
    i = p.instruments.index("PX.grants")
    assert p.amount[:, i].sum() == pytest.approx(5.0, rel=1e-3)
    assert p.amount[0, i] == 0.0


def test_events_null_removes_all_events():
    assert load(FLAGSHIP, ["events=null"]).events == {}
