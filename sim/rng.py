"""The only place that makes random generators.

One root seed per run. Replicate ``k`` owns the root's ``k``-th spawned child,
``SeedSequence(seed, spawn_key=(k,))`` (exactly ``SeedSequence(seed).spawn(k + 1)[k]``), and
that child's two children: ``(k, 0)`` drives the model's noise, ``(k, 1)`` seeds the Mesa
model's own ``rng``. Replicate ``k`` therefore draws the same numbers whatever the ensemble
size, chunking or worker count, on the Mesa path and on the ensemble path alike.

Each round a replicate draws a ``(n_powers, NOISE_CHANNELS, n_states)`` block of standard
normals, laid out with powers and states sorted by code (not by their order in the scenario
file): channel 0 shocks each state's utility of each power, channel 1 the delivery of each
power's money to each state. Two scenarios with the same codes and the same seed therefore
share their random numbers (common random numbers for paired comparisons).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

NOISE_CHANNELS = 2
UTILITY, DELIVERY = 0, 1
NOISE, MODEL = 0, 1


def replicate_sequence(seed: int, replicate: int, purpose: int = MODEL) -> np.random.SeedSequence:
    """The seed sequence of one replicate for one purpose (``NOISE`` or ``MODEL``)."""
    return np.random.SeedSequence(seed, spawn_key=(replicate, purpose))


def noise_stream(seed: int, replicate: int) -> np.random.Generator:
    """The noise generator of one replicate."""
    return np.random.Generator(np.random.PCG64(replicate_sequence(seed, replicate, NOISE)))


def canonical_positions(codes: Sequence[str]) -> np.ndarray:
    """Position of each code in sorted order: ``out[i]`` is the rank of ``codes[i]``."""
    order = np.argsort(np.array(codes, dtype=object), kind="stable")
    pos = np.empty(len(codes), dtype=np.intp)
    pos[order] = np.arange(len(codes))
    return pos


def to_scenario_order(z: np.ndarray, power_pos: np.ndarray, state_pos: np.ndarray) -> np.ndarray:
    """Reindex ``(..., power, channel, state)`` noise from sorted-code to scenario order."""
    identity = np.array_equal(power_pos, np.arange(len(power_pos))) and np.array_equal(
        state_pos, np.arange(len(state_pos))
    )
    if identity:
        return z
    P, C, S = z.shape[-3:]
    flat = (
        power_pos[:, None, None] * C * S
        + np.arange(C)[None, :, None] * S
        + state_pos[None, None, :]
    ).ravel()
    return np.take(z.reshape(*z.shape[:-3], P * C * S), flat, axis=-1).reshape(z.shape)


def draw_block(
    seed: int, replicates: np.ndarray, rounds: int, n_powers: int, n_states: int
) -> np.ndarray:
    """Standard normals for many replicates at once, in sorted-code layout.

    Returns ``(len(replicates), rounds, n_powers, NOISE_CHANNELS, n_states)``, equal replicate
    by replicate to ``rounds`` successive round draws of :func:`noise_stream`.
    """
    out = np.empty((len(replicates), rounds, n_powers, NOISE_CHANNELS, n_states))
    for i, rep in enumerate(replicates.tolist()):
        noise_stream(seed, rep).standard_normal(out=out[i])
    return out
