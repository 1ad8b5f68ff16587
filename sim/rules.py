"""The model's maths: pure numpy functions, one per submodel of docs/ODD.md section 7.

Every array may carry leading axes (the ensemble engine uses a replicate axis); the last two
axes of an alignment-shaped array are ``(state, power)``. Nothing here draws random numbers or
knows about Mesa: noise comes in as arrays. Imports numpy only.
"""

from __future__ import annotations

import numpy as np

TINY = 1e-300


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax over the last axis (numerically stable)."""
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def normalise(weights: np.ndarray) -> np.ndarray:
    """Rows of non-negative weights scaled to sum to 1 (all-zero rows stay zero)."""
    total = weights.sum(axis=-1, keepdims=True)
    return np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)


def initial_alignment(
    trade: np.ndarray,
    remittances: np.ndarray,
    security: np.ndarray,
    institutions: np.ndarray,
    priority: np.ndarray,
    neutral_factor: np.ndarray,
    w: dict[str, float],
) -> np.ndarray:
    """The anchor: each state's starting orientation from indicators (ODD 5).

    ``anchor[s] ∝ floor + w_trade·trade_share + w_remit·remittance_share
    + nf[s]·(w_sec·security + w_inst·institutions) + w_prio·priority``, where the shares are
    over the modelled powers and ``nf`` discounts security and bloc ties of a neutral state.
    All inputs are ``(state, power)``; ``neutral_factor`` is ``(state,)``.
    """
    nf = neutral_factor[:, None]
    score = (
        w["floor"]
        + w["trade"] * normalise(trade)
        + w["remittances"] * normalise(remittances)
        + nf * (w["security"] * security + w["institutions"] * institutions)
        + w["priority"] * priority
    )
    return normalise(score)


def regional_share(a: np.ndarray, region_w: np.ndarray) -> np.ndarray:
    """Each power's share of the region: ``sum_s region_w[s] a[..., s, p]`` -> ``(..., power)``."""
    return (region_w[:, None] * a).sum(axis=-2)


def hedging_index(a: np.ndarray) -> np.ndarray:
    """Normalised entropy of each state's alignment in [0, 1] (1 = evenly hedged)."""
    n = a.shape[-1]
    safe = np.maximum(a, TINY)
    return -(a * np.log(safe)).sum(axis=-1) / np.log(n)


def reactive_multiplier(share: np.ndarray, share0: np.ndarray, reactivity: np.ndarray) -> np.ndarray:
    """Budget multiplier of each power answering its rivals' regional gains.

    ``1 + reactivity[p] · sum_{q != p} max(0, share[q] - share0[q])``; shapes ``(..., power)``.
    """
    gain = np.maximum(share - share0, 0.0)
    rivals = gain.sum(axis=-1, keepdims=True) - gain
    return 1.0 + reactivity * rivals


def allocate(
    static: np.ndarray, is_gap: np.ndarray, a: np.ndarray, inst_power: np.ndarray
) -> np.ndarray:
    """Each instrument's split over the states -> ``(..., instrument, state)``.

    Static strategies (fixed shares, equal, by GDP, by resources) come precomputed in
    ``static`` ``(instrument, state)``; gap-targeting instruments weigh state ``s`` by
    ``1 - a[s, p]``, the room left for their power ``p``.
    """
    gap = normalise(np.swapaxes(1.0 - a[..., :, inst_power], -1, -2))
    return np.where(is_gap[:, None], gap, static)


def delivery_factor(z: np.ndarray, sd: float) -> np.ndarray:
    """Mean-one lognormal factor ``exp(sd·z - sd²/2)`` on planned money."""
    return np.exp(sd * z - 0.5 * sd * sd)


def by_power(flows: np.ndarray, onehot: np.ndarray) -> np.ndarray:
    """Sum instrument flows ``(..., instrument, state)`` into ``(..., state, power)``."""
    return (flows[..., :, :, None] * onehot[:, None, :]).sum(axis=-3)


def smooth(stock: np.ndarray, inflow: np.ndarray, memory: float) -> np.ndarray:
    """Exponential smoothing: ``(1 - memory)·stock + memory·inflow``."""
    return (1.0 - memory) * stock + memory * inflow


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
    econ_scale: float,
) -> np.ndarray:
    """Utility of each power to each state (ODD 7.3) -> ``(..., state, power)``.

    ``U = w_econ·log1p(k·econ/GDP) + w_sec·σ·nf·SEC·cap + w_inst·nf·INST
    − w_debt·δ·DEBT/GDP − w_hedge·a + boost``. Weights, ``nf``, salience ``σ``, ``δ`` are per
    state; ``cap`` per power.
    """
    nf = neutral_factor[:, None]
    return (
        w_econ[:, None] * np.log1p(econ_scale * econ_ratio)
        + (w_sec * sec_salience)[:, None] * nf * security * capacity[None, :]
        + w_inst[:, None] * nf * institutions
        - (w_debt * debt_salience)[:, None] * debt_ratio
        - w_hedge[:, None] * a
        + boost
    )


def peer_shift(a: np.ndarray, log_anchor: np.ndarray, peers: np.ndarray) -> np.ndarray:
    """Peers' pull: ``sum_r W[s, r] (log a[r, p] - log anchor[r, p])`` -> ``(..., state, power)``."""
    moved = np.log(np.maximum(a, TINY)) - log_anchor
    return (peers[:, :, None] * moved[..., None, :, :]).sum(axis=-2)


def target_alignment(
    log_anchor: np.ndarray, d_utility: np.ndarray, shift: np.ndarray, beta: float,
    kappa: np.ndarray,
) -> np.ndarray:
    """Target orientation: ``softmax(log anchor + beta·ΔU + kappa·shift)`` (ODD 7.4).

    The anchor's logarithm acts as calibrated alternative-specific constants, so a state with
    no change in utility and unmoved peers targets its anchor exactly.
    """
    return softmax(log_anchor + beta * d_utility + kappa[:, None] * shift)


def step_alignment(
    a: np.ndarray, target: np.ndarray, anchor: np.ndarray, theta: np.ndarray, lam: np.ndarray
) -> np.ndarray:
    """Move each state's alignment part way to its target, pulled back to its anchor.

    ``a' = θ·anchor + (1 − θ)·((1 − λ)·a + λ·target)``: a convex combination of points of
    the simplex, so ``a'`` stays on it. Friedkin & Johnsen (1990); ODD 7.5.
    """
    th, la = theta[:, None], lam[:, None]
    return th * anchor + (1.0 - th) * ((1.0 - la) * a + la * target)
