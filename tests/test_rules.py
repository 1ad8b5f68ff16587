"""Properties of the rule functions (docs/ODD.md section 7)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim.model import rules


def simplex(n_states: int, n_powers: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(n_powers), size=n_states)


shape = st.tuples(st.integers(1, 6), st.integers(2, 6))
unit = st.floats(0, 1, allow_nan=False)


@given(shape, st.integers(0, 10_000), unit, unit)
def test_step_alignment_stays_on_simplex(dims, seed, theta, lam):
    s, p = dims
    a, target, anchor = (simplex(s, p, seed + k) for k in range(3))
    out = rules.step_alignment(a, target, anchor, np.full(s, theta), np.full(s, lam))
    assert np.all(out >= 0)
    np.testing.assert_allclose(out.sum(-1), 1.0, atol=1e-12)


@given(shape, st.integers(0, 10_000))
def test_theta_one_returns_anchor_and_lam_zero_changes_nothing(dims, seed):
    s, p = dims
    a, target, anchor = (simplex(s, p, seed + k) for k in range(3))
    np.testing.assert_allclose(
        rules.step_alignment(a, target, anchor, np.ones(s), np.full(s, 0.3)), anchor
    )
    np.testing.assert_allclose(rules.step_alignment(a, target, anchor, np.zeros(s), np.zeros(s)), a)


@settings(max_examples=50)
@given(arrays(np.float64, (3, 4), elements=st.floats(-50, 50)))
def test_softmax_is_a_distribution_and_order_preserving(logits):
    out = rules.softmax(logits)
    np.testing.assert_allclose(out.sum(-1), 1.0)
    for row_in, row_out in zip(logits, out, strict=True):
        order = np.argsort(row_in, kind="stable")
        assert np.all(np.diff(row_out[order]) >= -1e-15)


def test_target_with_no_change_is_the_anchor():
    anchor = simplex(3, 4, 1)
    target = rules.target_alignment(
        np.log(anchor), np.zeros((3, 4)), np.zeros((3, 4)), 5.0, np.full(3, 0.3)
    )
    np.testing.assert_allclose(target, anchor, rtol=1e-12)


def test_hedging_index_bounds():
    even = np.full((1, 4), 0.25)
    pure = np.array([[1.0, 0, 0, 0]])
    assert rules.hedging_index(even)[0] == 1.0
    assert abs(rules.hedging_index(pure)[0]) < 1e-12


def test_initial_alignment_worked_by_hand():
    """Two states, two powers: the anchor formula computed by hand."""
    trade = np.array([[3.0, 1.0], [0.0, 2.0]])
    zeros = np.zeros((2, 2))
    security = np.array([[1.0, 0.0], [0.0, 0.0]])
    w = {
        "trade": 1.0,
        "remittances": 1.0,
        "security": 2.0,
        "institutions": 1.0,
        "priority": 1.0,
        "floor": 0.5,
    }
    out = rules.initial_alignment(trade, zeros, security, zeros, zeros, np.array([1.0, 1.0]), w)
    # state 0: scores 0.5 + 0.75 + 2 = 3.25 and 0.5 + 0.25 = 0.75 -> 0.8125, 0.1875
    # state 1: scores 0.5 and 0.5 + 1 = 1.5 -> 0.25, 0.75
    np.testing.assert_allclose(out, [[0.8125, 0.1875], [0.25, 0.75]])
    neutral = rules.initial_alignment(trade, zeros, security, zeros, zeros, np.array([0.0, 1.0]), w)
    np.testing.assert_allclose(neutral[0], [1.25 / 2.0, 0.75 / 2.0])


def test_leading_replicate_axis_matches_single_rows():
    a = np.stack([simplex(3, 4, k) for k in range(5)])
    anchor = simplex(3, 4, 99)
    peers = rules.normalise(np.ones((3, 3)) - np.eye(3))
    batched = rules.peer_shift(a, np.log(anchor), peers)
    for k in range(5):
        np.testing.assert_array_equal(batched[k], rules.peer_shift(a[k], np.log(anchor), peers))


def test_reactive_multiplier_answers_rivals_gains_only():
    share0 = np.array([0.5, 0.3, 0.2])
    share = np.array([0.6, 0.2, 0.2])
    out = rules.reactive_multiplier(share, share0, np.array([1.0, 2.0, 0.0]))
    np.testing.assert_allclose(out, [1.0, 1.0 + 2.0 * 0.1, 1.0])


@pytest.mark.parametrize("case", ["tiny.yaml", "every_event.yaml"])
def test_fixed_plus_varying_utility_is_the_whole_utility(case):
    """Params.u_fixed + utility_varying == utility - u0, round by round."""
    from sim.model.params import build
    from sim.scenario.schema import load

    from .conftest import CASES

    p = build(load(CASES / case, ["states.AA.weights.debt=2"]))
    rng = np.random.default_rng(0)
    a = rng.dirichlet(np.ones(2), size=2)
    engagement, new_debt = rng.uniform(0, 3, (2, 2)), rng.uniform(0, 3, (2, 2))
    for r in range(p.rounds + 1):
        gdp = p.gdp[r][:, None]
        whole = (
            rules.utility(
                a,
                p.econ0_ratio + engagement / gdp,
                p.security[r],
                p.institutions[r],
                p.debt0_ratio + new_debt / gdp,
                p.boost[r],
                w_econ=p.w_econ,
                w_sec=p.w_sec,
                w_inst=p.w_inst,
                w_debt=p.w_debt,
                w_hedge=p.w_hedge,
                neutral_factor=p.neutral_factor[r],
                sec_salience=p.sec_salience[r],
                debt_salience=p.debt_salience[r],
                capacity=p.capacity[r],
                econ_scale=p.econ_scale,
            )
            - p.u0
        )
        parts = p.u_fixed[r] + rules.utility_varying(
            a,
            p.econ0_ratio + engagement / gdp,
            new_debt / gdp,
            w_econ=p.w_econ,
            w_debt=p.w_debt,
            debt_salience=p.debt_salience[r],
            w_hedge=p.w_hedge,
            econ_scale=p.econ_scale,
        )
        np.testing.assert_allclose(parts, whole, atol=1e-12)
