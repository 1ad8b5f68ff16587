"""One round of the model, the same code for the Mesa model and the ensemble engine.

:func:`advance` reads like docs/ODD.md section 3, one line per process. Arrays may carry any
leading axes (the engine's replicate axis); the Mesa model passes none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model import rules
from sim.model.params import Params
from sim.model.rng import by_channel


@dataclass(frozen=True)
class State:
    """The model's state after a round; every array is ``(..., state, power)``.

    Attributes:
        alignment: share of each state's orientation held by each power (rows sum to 1).
        engagement: smoothed annual value of money delivered by each power (USD bn/yr).
        new_debt: debt owed to each power from loans made during the run (USD bn, face).
        delivered: money delivered in the round just ended (USD bn).
        burden: the present value of the repayments still owed on that debt (USD bn): each
            loan dollar adds one less its grant element, so a concessional loan weighs less
            than a commercial one of the same size; this is what a state weighs.
    """

    alignment: np.ndarray
    engagement: np.ndarray
    new_debt: np.ndarray
    delivered: np.ndarray
    burden: np.ndarray


@dataclass(frozen=True)
class Shocks:
    """A round's random shocks, each ``(..., state, power)``.

    Attributes:
        utility: added to each state's utility of each power (sd ``utility_noise_sd``).
        delivery: mean-one lognormal factor on the money each power delivers to each state.
    """

    utility: np.ndarray
    delivery: np.ndarray


def shocks(p: Params, z: np.ndarray) -> Shocks:
    """Shocks from standard normals ``(..., power, NOISE_CHANNELS, state)`` in the sorted-code
    layout of :mod:`sim.model.rng` (any leading axes: rounds, replicates)."""
    z_utility, z_delivery = by_channel(z, p.noise_power_pos, p.noise_state_pos)
    return Shocks(
        utility=p.sd_utility * z_utility,
        delivery=rules.delivery_factor(z_delivery, p.sd_delivery),
    )


def initial_state(p: Params, lead: tuple[int, ...] = ()) -> State:
    """Round 0: every state at its anchor, no engagement, no new debt.

    With leading axes (the engine's replicates) the arrays are laid out leading-axes-fastest
    in memory: shape ``(*lead, state, power)`` as everywhere, but numpy then runs each
    operation as long loops over replicates, and every result keeps that layout.
    """
    S, P = len(p.states), len(p.powers)

    def filled(value: np.ndarray | float) -> np.ndarray:
        out = np.moveaxis(np.empty((S, P, *lead)), (0, 1), (-2, -1))
        out[...] = value  # a parameter set's own value, or one shared by all
        return out

    return State(
        alignment=filled(p.anchor),
        engagement=filled(0.0),
        new_debt=filled(0.0),
        delivered=filled(0.0),
        burden=filled(0.0),
    )


def debt(p: Params, state: State, r: int) -> np.ndarray:
    """Total debt owed to each power at the end of round ``r`` (USD bn).

    The starting stock is held at its share of GDP (rolled over); loans made during the run
    add to it and are repaid at the scenario's rate.
    """
    out: np.ndarray = p.debt0 * (p.gdp[r] / p.gdp[0])[..., None] + state.new_debt
    return out


def advance(p: Params, state: State, r: int, shock: Shocks) -> State:
    """Play round ``r`` (1-based) from ``state``.

    The numbered comments are the steps of docs/ODD.md section 3; step 7 (record) is the
    caller's (the engine's arrays, the Mesa model's history).

    Args:
        p: the scenario's arrays.
        state: the state at the end of round ``r - 1``.
        r: the round being played.
        shock: this round's shocks (:func:`shocks`).

    Returns:
        The state at the end of round ``r``.
    """
    a = state.alignment
    # 1. Events: precomputed by the timeline (capacity, salience, boosts, ties at row r).
    # 2. Offers: each power's money to each state, by measure (delivered, value, loans).
    # Money under a fixed split is planned by the timeline; gap-targeting money follows the
    # room each state leaves its power. One delivery shock per power and state scales both.
    P = len(p.powers)
    planned = p.planned[r]
    if p.is_gap.any():
        budget = p.amount[r] * p.delivery * p.capacity[r][..., p.inst_power]
        split = rules.allocate(p.static_alloc, p.is_gap, a, p.inst_power)
        planned = planned + rules.by_power(budget[..., None, :] * split * p.is_gap, p.routing)
    factor = shock.delivery
    if p.reactivity.any():  # powers answering their rivals' gains
        share = rules.regional_share(a, p.region_w)
        factor = factor * rules.reactive_multiplier(share, p.share0, p.reactivity)[..., None, :]
    delivered = factor * planned[..., :P]
    value = factor * planned[..., P : 2 * P]
    loans = factor * planned[..., 2 * P : 3 * P]
    burden = factor * planned[..., 3 * P :]
    # 3. Engagement and debt: delivered value enters the smoothed engagement; loans add to
    # new debt (face) and to its burden (face less grant element), both repaid at one rate.
    engagement = rules.smooth(state.engagement, value * p.rounds_per_year, p.memory)
    new_debt = state.new_debt * (1.0 - p.repay_per_round) + loans
    new_burden = state.burden * (1.0 - p.repay_per_round) + burden
    # 4. Valuation: utility now against utility at the start, plus this round's shock.
    gdp = p.gdp[r][..., None]
    d_u = (
        p.u_fixed[r]
        + rules.utility_varying(
            a,
            p.econ_ratio[r] + engagement / gdp,
            new_burden / gdp,
            w_econ=p.w_econ,
            w_debt=p.w_debt,
            debt_salience=p.debt_salience[r],
            w_hedge=p.w_hedge,
            econ_scale=p.econ_scale,
        )
        + shock.utility
    )
    # 5. Target: softmax of log-anchor, sharpness x utility change and the peers' pull.
    target = rules.target_alignment(
        p.log_anchor, d_u, rules.peer_shift(a, p.log_anchor, p.peers), p.beta, p.kappa
    )
    # 6. Update: alignment moves toward the target, pulled back to the anchor.
    a_new = rules.step_alignment(a, target, p.anchor, p.theta, p.lam)
    return State(a_new, engagement, new_debt, delivered, new_burden)
