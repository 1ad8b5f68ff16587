"""sim.model.params and sim.scenario.events: the timeline's arrays, worked by hand for one event of
each kind."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from sim.core.calendar import max_rounds
from sim.core.errors import SettingError
from sim.model import rules
from sim.model.params import build
from sim.scenario import events
from sim.scenario.schema import load
from tests.conftest import CASES, TINY

EVERY = CASES / "every_event.yaml"


@pytest.fixture(scope="module")
def both():
    """Params of the tiny region with and without its extra events (states AA, BB; powers
    PX, PY; quarterly rounds from 2026-01-01, so boundary r is 3r months later)."""
    return build(load(TINY)), build(load(EVERY))


def test_every_event_kind_is_in_the_test_case():
    used = {ev.type for ev in load(EVERY).events.values()}
    assert used == set(events.TAGS)


def test_calendar_of_the_tiny_region(both):
    _, p = both
    assert p.dates[0] == date(2026, 1, 1) and p.dates[4] == date(2027, 1, 1)
    assert p.rounds == 8


def test_the_calendar_holds_rounds_up_to_the_year_9999_and_refuses_more():
    sc = load(TINY)  # quarterly from 2026-01-01: boundary r is 3r months later
    most = max_rounds(sc.time.start, sc.time.months_per_round)
    assert most == ((9999 - 2026) * 12 + 11) // 3 == 31_895
    assert build(sc, most).dates[-1] == date(9999, 10, 1)
    with pytest.raises(SettingError) as err:
        build(sc, most + 1)
    assert err.value.setting == "rounds" and err.value.message == (
        "expected at most 31,895 rounds of 3 months from 2026-01-01 (the calendar ends with "
        "the year 9999), found 31,896"
    )
    last = load(TINY, ["time.end=9999-12-31"])  # a calendar to the last day there is
    assert build(last).dates[-1] == date(9999, 10, 1)


def test_capacity_from_the_first_round_ending_after_the_date(both):
    _, p = both
    py, px = p.powers.index("PY"), p.powers.index("PX")
    # 2026-07-01 is boundary 2, not after it: the first round ending after it is round 3
    np.testing.assert_array_equal(p.capacity[:, py], [1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5])
    np.testing.assert_array_equal(p.capacity[:, px], np.ones(9))
    # a shorter horizon that ends before the event: nothing changes
    short = build(load(EVERY), rounds=2)
    np.testing.assert_array_equal(short.capacity[:, py], np.ones(3))


def test_salience_for_the_listed_states_or_all(both):
    _, p = both
    aa, bb = p.states.index("AA"), p.states.index("BB")
    np.testing.assert_array_equal(p.sec_salience[:, aa], np.ones(9))
    np.testing.assert_array_equal(p.sec_salience[:, bb], [1] + [2] * 8)
    np.testing.assert_array_equal(p.debt_salience, [[1, 1]] * 3 + [[1.5, 1.5]] * 6)


def test_memberships_change_institutions(both):
    base, p = both
    aa, bb, px = p.states.index("AA"), p.states.index("BB"), p.powers.index("PX")
    np.testing.assert_array_equal(base.institutions[:, aa, px], np.ones(9))
    np.testing.assert_array_equal(p.institutions[:, aa, px], [1, 1, 1, 1, 0, 0, 0, 0, 0])
    # joins from round 5 (after 2027-03-01), suspended from round 7 (after 2027-09-01)
    np.testing.assert_array_equal(p.institutions[:, bb, px], [0] * 5 + [1] * 2 + [0] * 2)


def test_security_tie_set_to_its_level(both):
    base, p = both
    bb, px = p.states.index("BB"), p.powers.index("PX")
    assert base.security[0, bb, px] == 0
    np.testing.assert_array_equal(p.security[:, bb, px], [0] * 5 + [0.5] * 4)


def test_trade_and_remittance_factors(both):
    base, p = both
    aa, bb, px = p.states.index("AA"), p.states.index("BB"), p.powers.index("PX")
    expected = np.where(np.arange(9) >= 2, 15.0, 10.0) / 100.0  # trade 10 x 1.5 over GDP 100
    np.testing.assert_allclose(p.econ_ratio[:, aa, px], expected, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(p.econ_ratio[:, bb, px], base.econ_ratio[:, bb, px])


def test_summits_decay_from_their_first_round_and_their_age(both):
    _, p = both
    aa, bb = p.states.index("AA"), p.states.index("BB")
    px, py = p.powers.index("PX"), p.powers.index("PY")
    r = np.arange(9)
    # held a quarter before the start: age 1, first round 1; boost 0.1, attendance 0.5, decay 0.5
    early = np.where(r >= 1, 0.1 * 0.5 * 0.5 ** (r - 1 + 1), 0.0)
    np.testing.assert_allclose(p.boost[:, aa, px], early, rtol=1e-15)
    # BB did not attend: its boost toward PX is only the relation shift (tested below)
    assert p.boost[1, bb, px] == 0
    # tiny's own summit on 2026-06-01: from round 2, for both states
    meeting = np.where(r >= 2, 0.1 * 0.5 * 0.5 ** (r - 2), 0.0)
    np.testing.assert_allclose(p.boost[:, aa, py], meeting, rtol=1e-15)
    np.testing.assert_allclose(p.boost[:, bb, py], meeting, rtol=1e-15)


def test_u0_is_the_utility_at_the_anchor(both):
    base, _ = both
    p = base
    u = rules.utility(
        p.anchor, p.econ0_ratio, p.security[0], p.institutions[0], p.debt0_ratio,
        np.zeros_like(p.anchor), w_econ=p.w_econ, w_sec=p.w_sec, w_inst=p.w_inst,
        w_debt=p.w_debt, w_hedge=p.w_hedge, neutral_factor=p.neutral_factor[0],
        sec_salience=np.ones(2), debt_salience=np.ones(2), capacity=np.ones(2),
        econ_scale=p.econ_scale,
    )
    np.testing.assert_array_equal(p.u0, u)


def test_utility_sum_leaves_out_absent_terms_exactly():
    x = np.array([0.25, -1.5, 3.0])
    y = np.array([1e-17, 2.0, -0.5])
    assert np.array_equal(rules.utility_sum(security=x, debt=y), x - y)
    assert np.array_equal(rules.utility_sum(econ=x, boost=y), x + y)
    with pytest.raises(ValueError):
        rules.utility_sum()


def test_each_kind_names_its_codes_for_the_validator():
    sc = load(EVERY)
    refs = {name: ev.codes() for name, ev in sc.events.items()}
    assert refs["base"] == [("state", ["BB"], "state"), ("power", ["PX"], "power")]
    assert refs["debt_worry"] == []  # every state
    assert refs["corridor"] == [("power", ["PX"], "power"), ("states", ["AA"], "state")]


def test_relation_shift_fades_from_its_first_round(both):
    _, p = both
    bb, px = p.states.index("BB"), p.powers.index("PX")
    r = np.arange(9)
    # 2026-04-15: first round ending after it is round 2; shift -0.2 losing half each round
    np.testing.assert_allclose(p.boost[:, bb, px], np.where(r >= 2, -0.2 * 0.5 ** (r - 2), 0.0),
                               rtol=1e-15)


def test_neutrality_discounts_security_and_blocs_from_its_date(both):
    base, p = both
    aa, bb = p.states.index("AA"), p.states.index("BB")
    # neutral_discount is half; BB is neutral from the start, AA from round 4 (after 2026-10-01)
    np.testing.assert_array_equal(p.neutral_factor[:, aa], [1.0] * 4 + [0.5] * 5)
    np.testing.assert_array_equal(p.neutral_factor[:, bb], [0.5] * 9)
    np.testing.assert_array_equal(base.neutral_factor[:, aa], [1.0] * 9)
    np.testing.assert_array_equal(p.anchor, base.anchor)  # the anchor is the start's


def test_gdp_level_interpolates_geometrically_then_grows(both):
    base, p = both
    bb = p.states.index("BB")
    years = np.array([(d - p.dates[0]).days / 365.25 for d in p.dates])
    t_new = (date(2027, 1, 1) - date(2026, 1, 1)).days / 365.25
    expected = np.where(years < t_new, 20.0 * 2.0 ** (years / t_new), 40.0)
    np.testing.assert_allclose(p.gdp[:, bb], expected, rtol=1e-14)
    np.testing.assert_array_equal(base.gdp[:, bb], np.full(9, 20.0))


def test_trade_level_becomes_a_share_of_gdp_when_it_is_set(both):
    base, p = both
    bb, py = p.states.index("BB"), p.powers.index("PY")
    # 10 of GDP 20 until round 4 (after 2026-11-01); then 6 of the GDP of round 4 (40)
    np.testing.assert_allclose(p.econ_ratio[:, bb, py], [0.5] * 4 + [6 / 40] * 5, rtol=1e-15)
    np.testing.assert_array_equal(base.econ_ratio[:, bb, py], [0.5] * 9)
