"""The model's maths: pure numpy functions, one per submodel of docs/ODD.md section 7.

Every array may carry leading axes (the ensemble engine uses a replicate axis); the last two
axes of an alignment-shaped array are ``(state, power)``. Parameters may carry leading axes too
(a parameter ``(state,)`` as ``(..., state)``, a number as an array ``(..., 1, 1)``), which
broadcast against the state's: many parameter sets then run at once (:mod:`sim.runs.batch`).
Nothing here draws random numbers or knows about Mesa: noise comes in as arrays. Imports numpy
only.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from sim.core.numeric import power as power

TINY = 1e-300


UNROLL = 16  # last axes up to this length are reduced column by column (much faster in numpy)


def row_sum(x: np.ndarray) -> np.ndarray:
    """Sum over the last axis, keeping it (columns added left to right)."""
    if x.shape[-1] > UNROLL or x.shape[-1] == 0:
        out: np.ndarray = x.sum(axis=-1, keepdims=True)
        return out
    total = np.copy(x[..., 0])  # keeps the memory order of x (see sim.model.engine)
    for j in range(1, x.shape[-1]):
        total += x[..., j]
    return total[..., None]


def row_max(x: np.ndarray) -> np.ndarray:
    """Maximum over the last axis, keeping it."""
    if x.shape[-1] > UNROLL:
        out: np.ndarray = x.max(axis=-1, keepdims=True)
        return out
    top = np.copy(x[..., 0])
    for j in range(1, x.shape[-1]):
        np.maximum(top, x[..., j], out=top)
    return top[..., None]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax over the last axis (numerically stable)."""
    e = np.exp(logits - row_max(logits))
    out: np.ndarray = e / row_sum(e)
    return out


def normalise(weights: np.ndarray) -> np.ndarray:
    """Rows of non-negative weights scaled to sum to 1 (all-zero rows stay zero)."""
    total = row_sum(weights)
    out: np.ndarray = np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)
    return out


def initial_alignment(
    trade: np.ndarray,
    remittances: np.ndarray,
    security: np.ndarray,
    institutions: np.ndarray,
    priority: np.ndarray,
    neutral_factor: np.ndarray,
    w: Mapping[str, float | np.ndarray],
) -> np.ndarray:
    """The anchor: each state's starting orientation from indicators (ODD 5).

    ``anchor[s] ∝ floor + w_trade·trade/F + w_remit·remittances/F
    + nf[s]·w_sec·security + w_inst·institutions + w_prio·priority``, where
    ``F[s] = sum_p (trade + remittances)`` is the state's economic flows with the modelled
    powers (so remittances weigh by their size against trade) and ``nf`` discounts the security
    ties of a neutral state (the institutional index already discounts its binding ties:
    :func:`sim.model.params._institutions`). All inputs are ``(..., state, power)``;
    ``neutral_factor`` is ``(..., state)`` and the weights are numbers or arrays that broadcast
    against ``(..., state, power)`` (one weight per parameter set).
    """
    nf = neutral_factor[..., None]
    flows = (trade + remittances).sum(axis=-1, keepdims=True)
    safe = np.where(flows > 0, flows, 1.0)
    score = (
        w["floor"]
        + w["trade"] * trade / safe
        + w["remittances"] * remittances / safe
        + nf * w["security"] * security
        + w["institutions"] * institutions
        + w["priority"] * priority
    )
    return normalise(score)


def regional_share(a: np.ndarray, region_w: np.ndarray) -> np.ndarray:
    """Each power's share of the region: ``sum_s region_w[s] a[..., s, p]`` -> ``(..., power)``."""
    weighted = np.swapaxes(a, -1, -2) * region_w[..., None, :]
    return np.swapaxes(row_sum(weighted), -1, -2)[..., 0, :]


def hedging_index(a: np.ndarray) -> np.ndarray:
    """Normalised entropy of each state's alignment in [0, 1] (1 = evenly hedged)."""
    n = a.shape[-1]
    safe = np.maximum(a, TINY)
    out: np.ndarray = -row_sum(a * np.log(safe))[..., 0] / np.log(n)
    return out


def reactive_multiplier(
    share: np.ndarray, share0: np.ndarray, reactivity: np.ndarray
) -> np.ndarray:
    """Budget multiplier of each power answering its rivals' regional gains.

    ``1 + reactivity[p] · sum_{q != p} max(0, share[q] - share0[q])``; shapes ``(..., power)``.
    """
    gain = np.maximum(share - share0, 0.0)
    rivals = row_sum(gain) - gain
    out: np.ndarray = 1.0 + reactivity * rivals
    return out


def allocate(
    static: np.ndarray, is_gap: np.ndarray, a: np.ndarray, inst_power: np.ndarray
) -> np.ndarray:
    """Each instrument's split over the states -> ``(..., state, instrument)``.

    Static strategies (fixed shares, equal, by GDP, by resources) come precomputed in
    ``static`` ``(state, instrument)``, each column summing to 1; gap-targeting instruments
    weigh state ``s`` by ``1 - a[s, p]``, the room left for their power ``p``.
    """
    if not is_gap.any():
        return static
    room = 1.0 - a[..., :, inst_power]
    total = room.sum(axis=-2, keepdims=True)
    gap = np.divide(room, total, out=np.zeros_like(room), where=total > 0)
    return np.where(is_gap[None, :], gap, static)


def delivery_factor(z: np.ndarray, sd: float | np.ndarray) -> np.ndarray:
    """Mean-one lognormal factor ``exp(sd·z - sd²/2)`` on planned money."""
    return np.exp(sd * z - 0.5 * sd * sd)


def by_power(flows: np.ndarray, routing: np.ndarray) -> np.ndarray:
    """Route instrument flows ``(..., state, instrument)`` to ``(..., state, k·power)``.

    ``routing`` ``(..., instrument, k·power)`` holds, for each of ``k`` measures, the
    instrument's weight in its own power's column (e.g. 1 for money delivered, the value factor
    for value, 1 for loans only). The instruments are added one by one in their order (not
    through a matrix product, whose order of summation is the BLAS library's), so the
    compiled engine adds them the same way to the same bits.
    """
    n = flows.shape[-1]
    if n == 0:
        return np.zeros((*flows.shape[:-1], routing.shape[-1]))
    total: np.ndarray = flows[..., 0:1] * routing[..., 0:1, :]
    for i in range(1, n):
        total = total + flows[..., i : i + 1] * routing[..., i : i + 1, :]
    return total


def smooth(stock: np.ndarray, inflow: np.ndarray, memory: float | np.ndarray) -> np.ndarray:
    """Exponential smoothing: ``(1 - memory)·stock + memory·inflow``."""
    return (1.0 - memory) * stock + memory * inflow


def econ_term(
    econ_ratio: np.ndarray, w_econ: np.ndarray, econ_scale: float | np.ndarray
) -> np.ndarray:
    """Economic pull ``w_econ·log1p(k·econ/GDP)`` -> ``(..., state, power)`` (ODD 7.3)."""
    return w_econ[..., None] * np.log1p(econ_scale * econ_ratio)


def security_term(
    security: np.ndarray,
    w_sec: np.ndarray,
    salience: np.ndarray,
    neutral_factor: np.ndarray,
    capacity: np.ndarray,
) -> np.ndarray:
    """Security pull ``w_sec·σ·nf·SEC·cap`` -> ``(..., state, power)`` (ODD 7.3).

    ``w_sec`` ``(state,)``; ``neutral_factor`` and ``salience`` ``(..., state)``; ``capacity``
    ``(..., power)``: a power's security tie counts as much as it can still deliver.
    """
    cap = capacity[..., None, :]
    out: np.ndarray = (w_sec * salience)[..., None] * neutral_factor[..., None] * security * cap
    return out


def institutions_term(institutions: np.ndarray, w_inst: np.ndarray) -> np.ndarray:
    """Institutional pull ``w_inst·INST`` -> ``(..., state, power)`` (ODD 7.3).

    ``INST`` is the index of shared ties by kind, in which a neutral state's binding ties
    (alliances, bases) are already discounted (:func:`sim.model.params._institutions`).
    """
    out: np.ndarray = w_inst[..., None] * institutions
    return out


def debt_term(debt_ratio: np.ndarray, w_debt: np.ndarray, salience: np.ndarray) -> np.ndarray:
    """Debt aversion ``w_debt·δ·DEBT/GDP`` (subtracted) -> ``(..., state, power)`` (ODD 7.3).

    ``w_debt`` ``(state,)``, ``salience`` ``(..., state)``.
    """
    out: np.ndarray = (w_debt * salience)[..., None] * debt_ratio
    return out


def hedge_term(a: np.ndarray, w_hedge: np.ndarray) -> np.ndarray:
    """Hedging ``w_hedge·a`` (subtracted): the more a power already holds, the less it adds."""
    out: np.ndarray = w_hedge[..., None] * a
    return out


def utility_sum(
    econ: np.ndarray | None = None,
    security: np.ndarray | None = None,
    institutions: np.ndarray | None = None,
    debt: np.ndarray | None = None,
    hedge: np.ndarray | None = None,
    boost: np.ndarray | None = None,
) -> np.ndarray:
    """The utility formula: ``econ + security + institutions − debt − hedge + boost``.

    Terms come from the ``*_term`` functions; absent terms are left out. The terms are added
    in this one order whichever are present, so every partial sum (the terms fixed by the
    timeline, the terms that vary with a run) adds up as the full formula does, bit for bit
    where the left-out terms are zero.
    """
    signed = (
        (1, econ),
        (1, security),
        (1, institutions),
        (-1, debt),
        (-1, hedge),
        (1, boost),
    )
    total: np.ndarray | None = None
    for sign, term in signed:
        if term is None:
            continue
        if total is None:
            total = term if sign > 0 else -term
        else:
            total = total + term if sign > 0 else total - term
    if total is None:
        raise ValueError("utility_sum needs at least one term")
    return total


def utility(
    a: np.ndarray,
    econ_ratio: np.ndarray,
    security: np.ndarray,
    institutions: np.ndarray,
    debt_ratio: np.ndarray,
    boost: np.ndarray,
    *,
    w_econ: np.ndarray,
    w_sec: np.ndarray,
    w_inst: np.ndarray,
    w_debt: np.ndarray,
    w_hedge: np.ndarray,
    neutral_factor: np.ndarray,
    sec_salience: np.ndarray,
    debt_salience: np.ndarray,
    capacity: np.ndarray,
    econ_scale: float | np.ndarray,
) -> np.ndarray:
    """Utility of each power to each state (ODD 7.3) -> ``(..., state, power)``.

    ``U = w_econ·log1p(k·econ/GDP) + w_sec·σ·nf·SEC·cap + w_inst·INST
    − w_debt·δ·DEBT/GDP − w_hedge·a + boost``. Weights, ``nf``, salience ``σ``, ``δ`` are per
    state; ``cap`` per power. :func:`utility_fixed` and :func:`utility_varying` split it into
    what the timeline fixes and what a run changes (the debt into starting and new debt).
    """
    return utility_sum(
        econ=econ_term(econ_ratio, w_econ, econ_scale),
        security=security_term(security, w_sec, sec_salience, neutral_factor, capacity),
        institutions=institutions_term(institutions, w_inst),
        debt=debt_term(debt_ratio, w_debt, debt_salience),
        hedge=hedge_term(a, w_hedge),
        boost=boost,
    )


def utility_fixed(
    security: np.ndarray,
    institutions: np.ndarray,
    debt_ratio: np.ndarray,
    boost: np.ndarray,
    *,
    w_sec: np.ndarray,
    w_inst: np.ndarray,
    w_debt: np.ndarray,
    neutral_factor: np.ndarray,
    sec_salience: np.ndarray,
    debt_salience: np.ndarray,
    capacity: np.ndarray,
) -> np.ndarray:
    """The terms of :func:`utility` the timeline fixes in advance -> ``(..., state, power)``.

    ``w_sec·σ·nf·SEC·cap + w_inst·INST − w_debt·δ·DEBT0/GDP + boost``, where ``DEBT0`` is
    the debt owed at the start; any leading axes (rounds) on every argument but the weights.
    """
    return utility_sum(
        security=security_term(security, w_sec, sec_salience, neutral_factor, capacity),
        institutions=institutions_term(institutions, w_inst),
        debt=debt_term(debt_ratio, w_debt, debt_salience),
        boost=boost,
    )


def utility_varying(
    a: np.ndarray,
    econ_ratio: np.ndarray,
    new_debt_ratio: np.ndarray,
    *,
    w_econ: np.ndarray,
    w_debt: np.ndarray,
    debt_salience: np.ndarray,
    w_hedge: np.ndarray,
    econ_scale: float | np.ndarray,
) -> np.ndarray:
    """The terms of :func:`utility` that change with the state of a run.

    ``w_econ·log1p(k·econ/GDP) − w_debt·δ·new_debt/GDP − w_hedge·a``. The remaining terms
    are fixed by the timeline (:func:`utility_fixed`, precomputed as ``Params.u_fixed``).
    """
    return utility_sum(
        econ=econ_term(econ_ratio, w_econ, econ_scale),
        debt=debt_term(new_debt_ratio, w_debt, debt_salience),
        hedge=hedge_term(a, w_hedge),
    )


def peer_shift(a: np.ndarray, log_anchor: np.ndarray, peers: np.ndarray) -> np.ndarray:
    """Peers' pull ``sum_r W[s, r] (log a[r, p] - log anchor[r, p])``: ``(..., state, power)``.
    """
    moved = np.log(np.maximum(a, TINY)) - log_anchor
    if peers.shape[-1] > UNROLL:
        product: np.ndarray = peers @ moved
        return product
    # added peer by peer: keeps the memory order of ``a`` (see sim.model.engine), same sum
    # everywhere
    total = peers[..., :, 0, None] * moved[..., 0:1, :]
    for r in range(1, peers.shape[-1]):
        total += peers[..., :, r, None] * moved[..., r : r + 1, :]
    out: np.ndarray = total
    return out


def target_alignment(
    log_anchor: np.ndarray,
    d_utility: np.ndarray,
    shift: np.ndarray,
    beta: float | np.ndarray,
    kappa: np.ndarray,
) -> np.ndarray:
    """Target orientation: ``softmax(log anchor + beta·ΔU + kappa·shift)`` (ODD 7.4).

    The anchor's logarithm acts as calibrated alternative-specific constants, so a state with
    no change in utility and unmoved peers targets its anchor exactly.
    """
    return softmax(log_anchor + beta * d_utility + kappa[..., None] * shift)


def step_alignment(
    a: np.ndarray, target: np.ndarray, anchor: np.ndarray, theta: np.ndarray, lam: np.ndarray
) -> np.ndarray:
    """Move each state's alignment part way to its target, pulled back to its anchor.

    ``a' = θ·anchor + (1 − θ)·((1 − λ)·a + λ·target)``: a convex combination of points of
    the simplex, so ``a'`` stays on it. Friedkin & Johnsen (1990); ODD 7.5.
    """
    th, la = theta[..., None], lam[..., None]
    out: np.ndarray = th * anchor + (1.0 - th) * ((1.0 - la) * a + la * target)
    return out
