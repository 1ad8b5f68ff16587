"""Institutional ties are typed and additive (docs/ODD.md 7.3): joining an organisation can
only raise the institutional term of the powers in it, and never changes another power's."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.core.errors import ScenarioError
from sim.model.params import build
from sim.scenario.facts import load_registry
from sim.scenario.schema import (
    BINDING_KINDS,
    ORGANISATION_KINDS,
    Scenario,
    load,
    registry_folder,
    to_raw,
    validate,
)

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(
    [*ROOT.glob("scenarios/*.yaml"), *ROOT.glob("scenarios/history/*.yaml"),
     ROOT / "scenarios/examples/archipelago.yaml"]
)
TINY = ROOT / "tests/cases/tiny.yaml"


@cache
def shipped(path: Path) -> tuple[Scenario, dict[str, Any]]:
    sc = load(path)
    return sc, to_raw(sc)


def rebuilt(path: Path, raw: dict[str, Any]) -> Scenario:
    return validate(raw, load_registry(registry_folder(path)), path)


def with_tie(raw: dict[str, Any], power: str, org: str, kind: str | None,
             states: list[str]) -> dict[str, Any]:
    """The raw scenario with ``power`` in ``org`` (declared with ``kind`` if new), and
    ``states`` members of it from the start."""
    out: dict[str, Any] = to_copy(raw)
    if kind is not None:
        out.setdefault("organisations", {})[org] = kind
    members = out["powers"][power].setdefault("memberships", [])
    if org not in members:
        members.append(org)
    for s in states:
        mine = out["states"][s].setdefault("memberships", [])
        if org not in mine:
            mine.append(org)
    return out


def to_copy(raw: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(raw)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_adding_a_tie_changes_no_other_powers_term(data: st.DataObject) -> None:
    """For every shipped scenario and random ties: adding a tie for power X (X joins an
    organisation, or founds one that states join) leaves every other power's institutional
    index unchanged in every state and round, and X's own index does not fall anywhere."""
    path = data.draw(st.sampled_from(SHIPPED), label="scenario")
    sc, raw = shipped(path)
    powers, states = sc.power_codes, sc.state_codes
    # a random starting network: some extra ties for other powers first
    for _ in range(data.draw(st.integers(0, 3), label="extra ties")):
        raw = with_tie(
            raw,
            data.draw(st.sampled_from(powers)),
            f"X{data.draw(st.integers(0, 2))}",
            data.draw(st.sampled_from(ORGANISATION_KINDS)),
            data.draw(st.lists(st.sampled_from(states), unique=True)),
        )
    before = build(rebuilt(path, raw))
    power = data.draw(st.sampled_from(powers), label="power")
    known = sorted({o for o in raw.get("organisations", {}) if o not in
                    sc.powers[power].memberships})
    org = data.draw(st.sampled_from([*known, "NEW"]), label="org")
    kind = data.draw(st.sampled_from(ORGANISATION_KINDS)) if org == "NEW" else None
    # a new organisation is X's alone, so the states joining it tie to X only; an existing one
    # keeps its state members (states joining it would tie to its other powers too)
    joiners = data.draw(st.lists(st.sampled_from(states), unique=True, min_size=1),
                        label="states") if org == "NEW" else []
    after = build(rebuilt(path, with_tie(raw, power, org, kind, joiners)))
    x = powers.index(power)
    others = [q for q in range(len(powers)) if q != x]
    np.testing.assert_array_equal(after.institutions[..., others],
                                  before.institutions[..., others])
    assert np.all(after.institutions[..., x] >= before.institutions[..., x])


def test_a_tie_adds_its_kinds_weight_with_diminishing_returns() -> None:
    """One shared organisation of a kind adds the kind's weight; a second of the same kind
    adds less (log2(1 + n)); a neutral state's binding ties count at (1 - discount)."""
    sc, raw = shipped(TINY)
    aa, px = sc.state_codes.index("AA"), sc.power_codes.index("PX")
    base = build(sc).institutions[0, aa, px]
    one = with_tie(raw, "PX", "PACT", "alliance", ["AA"])
    one["dynamics"]["tie_weights"]["alliance"] = {"value": 0.4, "why": "test weight"}
    p1 = build(rebuilt(TINY, one)).institutions[0, aa, px]
    assert p1 - base == pytest.approx(0.4)
    two = with_tie(one, "PX", "PACT2", "alliance", ["AA"])
    p2 = build(rebuilt(TINY, two)).institutions[0, aa, px]
    assert p2 - base == pytest.approx(0.4 * np.log2(3))
    assert p2 - p1 < p1 - base
    neutral = to_copy(one)
    neutral["states"]["AA"]["neutral"] = True
    discount = sc.dynamics.neutral_discount.value
    pn = build(rebuilt(TINY, neutral)).institutions[0, aa, px]
    # tiny's ORG is regional (not discounted); the pact is binding (discounted)
    assert pn - base == pytest.approx(0.4 * (1 - discount))
    assert "alliance" in BINDING_KINDS and "dialogue" not in BINDING_KINDS


def test_neutrality_spares_dialogues_and_regional_ties() -> None:
    """A neutral state weighs a dialogue format in full (docs/ODD.md, Neutrality)."""
    sc, raw = shipped(TINY)
    aa, px = sc.state_codes.index("AA"), sc.power_codes.index("PX")
    talk = with_tie(raw, "PX", "TALKS", "dialogue", ["AA"])
    neutral = to_copy(talk)
    neutral["states"]["AA"]["neutral"] = True
    a, b = build(rebuilt(TINY, talk)), build(rebuilt(TINY, neutral))
    np.testing.assert_array_equal(a.institutions[:, aa, px], b.institutions[:, aa, px])


def test_an_undeclared_organisation_is_refused_with_a_hint() -> None:
    _, raw = shipped(TINY)
    bad = to_copy(raw)
    bad["states"]["AA"]["memberships"] = ["ORH"]
    with pytest.raises(ScenarioError, match=r"unknown organisation 'ORH' \(did you mean 'ORG'\?\)"):
        rebuilt(TINY, bad)
