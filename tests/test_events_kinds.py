"""The event kinds leader_change, remittance_shock and sanctions: schema, codes and effects.

Each effect is checked on a timeline of two states (AA, BB) and two powers (PX, PY), quarterly
from 2026-01-01 (boundary r is 3r months later), built as sim.model.params.build builds it; and each
kind is checked through a scenario file (the validator, unknown codes) and the model's inputs.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from sim.core.calendar import add_months
from sim.core.errors import ScenarioError
from sim.model.params import build
from sim.scenario import events
from sim.scenario.schema import load
from tests.conftest import CASES

EVERY = CASES / "every_event.yaml"
EVENT: TypeAdapter[events.EventKind] = TypeAdapter(events.Event)
ROUNDS = 8


def why(value: float) -> dict[str, object]:
    return {"value": value, "why": "a test value"}


def timeline() -> events.Timeline:
    S, P, R = 2, 2, ROUNDS
    return events.Timeline(
        dates=[add_months(date(2026, 1, 1), 3 * r) for r in range(R + 1)],
        months_per_round=3, states=["AA", "BB"], powers=["PX", "PY"], summit_decay=0.5,
        capacity=np.ones((R + 1, P)), security=np.zeros((R + 1, S, P)),
        sec_salience=np.ones((R + 1, S)), debt_salience=np.ones((R + 1, S)),
        boost=np.zeros((R + 1, S, P)), trade=np.ones((R + 1, S, P)),
        remittances=np.ones((R + 1, S, P)),
        memberships=[{"AA": set(), "BB": set()} for _ in range(R + 1)],
        gdp=np.full((R + 1, S), 10.0), growth=np.zeros(S), neutral=np.zeros((R + 1, S), bool),
    )


def event(**raw: object) -> events.EventKind:
    return EVENT.validate_python(raw)


def played(*evs: events.EventKind) -> events.Timeline:
    tl = timeline()
    events.play(evs, tl)
    return tl


def test_the_new_kinds_are_registered():
    assert {"leader_change", "remittance_shock", "sanctions"} <= set(events.TAGS)


# ---------------------------------------------------------------- leader_change


def test_a_leader_change_keeps_a_share_of_the_shifts_built_up_before_it():
    strain = event(type="relation", date="2026-02-01", state="AA", power="PX", shift=why(-1.0))
    summit = event(type="summit", date="2026-02-01", host="PY", attendance={"AA": why(1.0)},
                   boost=why(0.4))
    change = event(type="leader_change", date="2026-07-15", state="AA", carryover=why(0.25))
    later = event(type="relation", date="2026-11-01", state="AA", power="PX", shift=why(0.5))
    tl = played(later, change, strain, summit)  # play sorts by date
    r = np.arange(ROUNDS + 1)
    # 2026-07-15: first round ending after it is 3; from then a quarter of the strain is left
    want_px = np.where(r >= 1, -1.0, 0.0) * np.where(r >= 3, 0.25, 1.0) + np.where(r >= 4, 0.5, 0)
    np.testing.assert_allclose(tl.boost[:, 0, 0], want_px, rtol=1e-15)
    # the summit's fading boost, a quarter of it after the change
    want_py = np.where(r >= 1, 0.4 * 0.5 ** (r - 1), 0.0) * np.where(r >= 3, 0.25, 1.0)
    np.testing.assert_allclose(tl.boost[:, 0, 1], want_py, rtol=1e-15)
    np.testing.assert_array_equal(tl.boost[:, 1], 0.0)  # the other state is untouched


def test_a_leader_change_with_full_carryover_and_a_fading_opening():
    strain = event(type="relation", date="2026-02-01", state="BB", power="PX", shift=why(-1.0))
    change = event(type="leader_change", date="2026-04-15", state="BB", carryover=why(1.0),
                   shifts={"PX": why(0.8)}, decay=why(0.5))
    tl = played(strain, change)
    r = np.arange(ROUNDS + 1)
    want = np.where(r >= 1, -1.0, 0.0) + np.where(r >= 2, 0.8 * 0.5 ** (r - 2), 0.0)
    np.testing.assert_allclose(tl.boost[:, 1, 0], want, rtol=1e-15)
    np.testing.assert_array_equal(tl.boost[:, 1, 1], 0.0)


def test_leader_change_schema():
    with pytest.raises(ValidationError, match="carryover"):
        event(type="leader_change", date="2026-04-15", state="BB")
    with pytest.raises(ValidationError):
        event(type="leader_change", date="2026-04-15", state="BB", carryover=why(1.5))
    ev = event(type="leader_change", date="2026-04-15", state="BB", carryover=why(0.5),
               shifts={"PY": why(0.2)})
    assert ev.codes() == [("state", ["BB"], "state"), ("shifts", ["PY"], "power")]


# ---------------------------------------------------------------- remittance_shock


def test_a_remittance_shock_scales_the_listed_states_to_its_end():
    shock = event(type="remittance_shock", date="2026-03-15", power="PY", states=["BB"],
                  factor=why(0.6), end="2026-12-15")
    tl = played(shock)
    # first round ending after 2026-03-15 is 1; after 2026-12-15 it is 4: undone from round 4
    np.testing.assert_allclose(tl.remittances[:, 1, 1], [1, 0.6, 0.6, 0.6, 1, 1, 1, 1, 1])
    np.testing.assert_array_equal(tl.remittances[:, 0], 1.0)
    np.testing.assert_array_equal(tl.remittances[:, 1, 0], 1.0)
    np.testing.assert_array_equal(tl.trade, 1.0)


def test_a_lasting_remittance_shock_for_every_state_multiplies_with_others():
    a = event(type="remittance_shock", date="2026-03-15", power="PX", factor=why(0.5))
    b = event(type="remittances", date="2026-06-15", power="PX", factor=why(0.5))
    tl = played(a, b)
    np.testing.assert_allclose(tl.remittances[:, :, 0].T, [[1, 0.5, 0.25, *[0.25] * 6]] * 2)


def test_remittance_shock_schema():
    with pytest.raises(ValidationError, match="must be after 'date'"):
        event(type="remittance_shock", date="2026-03-15", power="PY", factor=why(0.6),
              end="2026-03-15")
    with pytest.raises(ValidationError):
        event(type="remittance_shock", date="2026-03-15", power="PY")
    ev = event(type="remittance_shock", date="2026-03-15", power="PY", factor=why(0.6))
    assert ev.codes() == [("power", ["PY"], "power")]


# ---------------------------------------------------------------- sanctions


def test_sanctions_scale_capacity_and_trade_with_the_listed_states():
    regime = event(type="sanctions", date="2026-05-01", power="PY", imposed_by=["PX"],
                   states=["AA"], capacity=why(0.8), trade=why(0.7))
    tl = played(regime)
    np.testing.assert_allclose(tl.capacity[:, 1], [1, 1, 0.8, *[0.8] * 6])
    np.testing.assert_array_equal(tl.capacity[:, 0], 1.0)
    np.testing.assert_allclose(tl.trade[:, 0, 1], [1, 1, 0.7, *[0.7] * 6])
    np.testing.assert_array_equal(tl.trade[:, 1, 1], 1.0)
    np.testing.assert_array_equal(tl.trade[:, :, 0], 1.0)


def test_sanctions_with_capacity_only_leave_trade_alone():
    tl = played(event(type="sanctions", date="2026-05-01", power="PX", imposed_by=["PY"],
                      capacity=why(0.9)))
    np.testing.assert_array_equal(tl.trade, 1.0)
    assert tl.capacity[-1, 0] == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("raw", "expect"),
    [
        ({"imposed_by": ["PX"]}, "give 'capacity', 'trade' or both"),
        ({"imposed_by": ["PY"], "trade": why(0.5)}, "names the sanctioned power PY itself"),
        ({"imposed_by": [], "trade": why(0.5)}, "imposed_by"),
        ({"trade": why(0.5)}, "imposed_by"),
    ],
)
def test_sanctions_schema(raw, expect):
    with pytest.raises(ValidationError, match=expect):
        event(type="sanctions", date="2026-05-01", power="PY", **raw)


# ---------------------------------------------------------------- through a scenario file


def test_the_new_kinds_reach_the_model_inputs():
    p = build(load(EVERY))
    aa, py = p.states.index("AA"), p.powers.index("PY")
    base = build(load(EVERY, ["events.embargo.trade=1"]))
    # the embargo halves AA's trade with PY from round 2 (the first ending after 2026-06-15)
    assert p.econ_ratio[1, aa, py] == base.econ_ratio[1, aa, py]
    assert p.econ_ratio[2, aa, py] == pytest.approx(0.5 * base.econ_ratio[2, aa, py])


@pytest.mark.parametrize(
    ("override", "expect"),
    [
        ("events.embargo.imposed_by=[QQ]", "events.embargo.imposed_by"),
        ("events.new_leader.shifts={QQ: {value: 0.1, why: x}}", "events.new_leader.shifts"),
        ("events.remit_cut.states=[QQ]", "events.remit_cut.states"),
    ],
)
def test_unknown_codes_in_the_new_kinds_are_refused(override, expect):
    with pytest.raises(ScenarioError, match=expect.replace(".", r"\.")):
        load(Path(EVERY), [override])
