"""The only place that makes random generators.

One root seed per run. Replicate ``k`` owns the child ``SeedSequence(seed, spawn_key=(k,))``,
which is exactly ``SeedSequence(seed).spawn(k + 1)[k]``; within a replicate each power owns
the grandchild keyed by a hash of its code, so draws are keyed by name rather than position:
adding or removing a power leaves every other power's draws unchanged, and two scenarios with
the same seed share their random numbers (common random numbers for paired comparisons).

Each round a power's stream yields a ``(NOISE_CHANNELS, n_states)`` block of standard normals:
channel 0 shocks the states' utility of that power, channel 1 the delivery of its money.
"""

from __future__ import annotations

import zlib

import numpy as np

NOISE_CHANNELS = 2
UTILITY, DELIVERY = 0, 1


def power_key(code: str) -> int:
    """Stable 32-bit key of a power's code."""
    return zlib.crc32(code.encode("utf-8"))


def replicate_sequence(seed: int, replicate: int) -> np.random.SeedSequence:
    """The seed sequence of one replicate: the root's ``replicate``-th spawned child."""
    return np.random.SeedSequence(seed, spawn_key=(replicate,))


def power_stream(seed: int, replicate: int, power: str) -> np.random.Generator:
    """The noise generator of one power in one replicate."""
    seq = np.random.SeedSequence(seed, spawn_key=(replicate, power_key(power)))
    return np.random.Generator(np.random.PCG64(seq))


def draw_block(
    seed: int, replicates: np.ndarray, powers: list[str], rounds: int, n_states: int
) -> np.ndarray:
    """Standard normals for many replicates at once.

    Returns an array of shape ``(len(replicates), rounds, n_powers, NOISE_CHANNELS, n_states)``
    equal, replicate by replicate, to what :func:`power_stream` yields round by round.
    """
    out = np.empty((len(replicates), rounds, len(powers), NOISE_CHANNELS, n_states))
    for i, rep in enumerate(replicates):
        for j, code in enumerate(powers):
            out[i, :, j] = power_stream(seed, int(rep), code).standard_normal(
                (rounds, NOISE_CHANNELS, n_states)
            )
    return out
