"""One round of the model, the same code for the Mesa model and the ensemble engine.

:func:`advance` reads like docs/ODD.md section 3, one line per process. Arrays may carry any
leading axes (the engine's replicate axis); the Mesa model passes none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim import rules
from sim.params import Params
from sim.rng import DELIVERY, UTILITY


@dataclass(frozen=True)
class State:
    """The model's state after a round; every array is ``(..., state, power)``.

    Attributes:
        alignment: share of each state's orientation held by each power (rows sum to 1).
        engagement: smoothed annual value of money delivered by each power (USD bn/yr).
        new_debt: debt owed to each power from loans made during the run (USD bn).
        delivered: money delivered in the round just ended (USD bn).
    """

    alignment: np.ndarray
    engagement: np.ndarray
    new_debt: np.ndarray
    delivered: np.ndarray


def initial_state(p: Params, lead: tuple[int, ...] = ()) -> State:
    """Round 0: every state at its anchor, no engagement, no new debt."""
    shape = (*lead, len(p.states), len(p.powers))
    return State(
        alignment=np.broadcast_to(p.anchor, shape).copy(),
        engagement=np.zeros(shape),
        new_debt=np.zeros(shape),
        delivered=np.zeros(shape),
    )


def debt(p: Params, state: State, r: int) -> np.ndarray:
    """Total debt owed to each power at the end of round ``r`` (USD bn).

    The starting stock is held at its share of GDP (rolled over); loans made during the run
    add to it and are repaid at the scenario's rate.
    """
    return p.debt0 * (p.gdp[r] / p.gdp[0])[:, None] + state.new_debt


def advance(p: Params, state: State, r: int, z: np.ndarray) -> State:
    """Play round ``r`` (1-based) from ``state``.

    Args:
        p: the scenario's arrays.
        state: the state at the end of round ``r - 1``.
        r: the round being played.
        z: standard normals ``(..., power, NOISE_CHANNELS, state)`` for this round.

    Returns:
        The state at the end of round ``r``.
    """
    a = state.alignment
    # 1. Events are precomputed by the timeline: capacity, salience, boosts, ties at row r.
    # 2. Offers: each power splits this round's money over the states.
    budget = p.amount[r] * p.delivery * p.capacity[r, p.inst_power]
    if p.reactivity.any():  # powers answering their rivals' gains
        share = rules.regional_share(a, p.region_w)
        budget = (
            budget * rules.reactive_multiplier(share, p.share0, p.reactivity)[..., p.inst_power]
        )
    split = rules.allocate(p.static_alloc, p.is_gap, a, p.inst_power)
    noise = rules.delivery_factor(z[..., :, DELIVERY, :], p.sd_delivery)  # (..., power, state)
    flows = budget[..., None, :] * split * np.swapaxes(noise, -1, -2)[..., p.inst_power]
    routed = rules.by_power(flows, p.routing)
    P = len(p.powers)
    delivered, value, loans = routed[..., :P], routed[..., P : 2 * P], routed[..., 2 * P :]
    engagement = rules.smooth(state.engagement, value * p.rounds_per_year, p.memory)
    new_debt = state.new_debt * (1.0 - p.repay_per_round) + loans
    # 3. Valuation: utility now against utility at the start, plus this round's shock.
    gdp = p.gdp[r][:, None]
    d_u = (
        p.u_fixed[r]
        + rules.utility_varying(
            a,
            p.econ_ratio[r] + engagement / gdp,
            new_debt / gdp,
            w_econ=p.w_econ,
            w_debt=p.w_debt * p.debt_salience[r],
            w_hedge=p.w_hedge,
            econ_scale=p.econ_scale,
        )
        + p.sd_utility * np.swapaxes(z[..., :, UTILITY, :], -1, -2)
    )
    # 4. Target orientation.
    target = rules.target_alignment(
        p.log_anchor, d_u, rules.peer_shift(a, p.log_anchor, p.peers), p.beta, p.kappa
    )
    # 5. Alignment moves toward the target, pulled back to the anchor.
    a_new = rules.step_alignment(a, target, p.anchor, p.theta, p.lam)
    return State(a_new, engagement, new_debt, delivered)
