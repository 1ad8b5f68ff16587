"""The only place that makes random generators.

One root seed per run. Replicate ``k`` owns the root's ``k``-th spawned child,
``SeedSequence(seed, spawn_key=(k,))`` (exactly ``SeedSequence(seed).spawn(k + 1)[k]``), and
that child's two children: ``(k, 0)`` drives the model's noise, ``(k, 1)`` seeds the Mesa
model's own ``rng``. Replicate ``k`` therefore draws the same numbers whatever the ensemble
size, chunking or worker count, on the Mesa path and on the ensemble path alike.

Each round a replicate draws a ``(n_powers, NOISE_CHANNELS, n_states)`` block of standard
normals, laid out with powers and states sorted by code (not by their order in the scenario
file; :func:`by_channel` reorders them): channel 0 shocks each state's utility of each power,
channel 1 the delivery of each power's money to each state. Two scenarios with the same
codes and the same seed therefore share their random numbers (common random numbers for
paired comparisons).
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

NOISE_CHANNELS = 2
UTILITY, DELIVERY = 0, 1
NOISE, MODEL = 0, 1


def replicate_sequence(seed: int, replicate: int, purpose: int = MODEL) -> np.random.SeedSequence:
    """The seed sequence of one replicate for one purpose (``NOISE`` or ``MODEL``)."""
    return np.random.SeedSequence(seed, spawn_key=(replicate, purpose))


def model_stream(seed: int, replicate: int) -> np.random.Generator:
    """The Mesa model's own generator of one replicate (``Model.rng``; the model draws no
    noise from it, but Mesa's scheduling helpers would)."""
    return np.random.default_rng(replicate_sequence(seed, replicate, MODEL))


def noise_stream(seed: int, replicate: int) -> np.random.Generator:
    """The noise generator of one replicate."""
    return np.random.Generator(np.random.PCG64(replicate_sequence(seed, replicate, NOISE)))


def canonical_positions(codes: Sequence[str]) -> np.ndarray:
    """Position of each code in sorted order: ``out[i]`` is the rank of ``codes[i]``."""
    order = np.argsort(np.array(codes, dtype=object), kind="stable")
    pos = np.empty(len(codes), dtype=np.intp)
    pos[order] = np.arange(len(codes))
    return pos


def by_channel(
    z: np.ndarray, power_pos: np.ndarray, state_pos: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Split draws ``(..., power, channel, state)`` in sorted-code layout into the utility and
    delivery channels, each ``(..., state, power)`` in scenario order.

    With leading axes the results are laid out leading-axes-fastest in memory (see
    :func:`sim.model.kernel.initial_state`), which is what the ensemble engine computes on.
    """
    P, C, S = z.shape[-3:]
    lead = z.shape[:-3]
    # a view when z is laid out leading-axes-fastest, as draw_block makes it
    rows = np.moveaxis(z, (-3, -2, -1), (0, 1, 2)).reshape(P * C * S, *lead)
    cell = power_pos[None, :] * C * S + state_pos[:, None]  # (state, power)
    out = []
    for ch in (UTILITY, DELIVERY):
        picked = np.take(rows, (cell + ch * S).ravel(), axis=0).reshape(S, P, *lead)
        out.append(np.moveaxis(picked, (0, 1), (-2, -1)))
    return out[0], out[1]


# Constants of numpy's SeedSequence (O'Neill's seed_seq hash) and of PCG64's LCG multiplier.
_M32 = 0xFFFFFFFF
_M128 = (1 << 128) - 1
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R, _XSHIFT = 0xCA01F9DD, 0x4973F715, 16
_POOL = 4
_GROUP = 64  # replicates drawn before each transpose (a 256 KB block for the flagship)
_PCG_MULT = 0x2360ED051FC65DA44385DF649FCCF645
U32 = npt.NDArray[np.uint32]


def _hashmix(value: U32, const: int) -> tuple[U32, int]:
    value = value ^ np.uint32(const)
    const = (const * _MULT_A) & _M32
    value = value * np.uint32(const)
    return value ^ (value >> np.uint32(_XSHIFT)), const


def _mix(x: U32, y: U32) -> U32:
    r = x * np.uint32(_MIX_L) - y * np.uint32(_MIX_R)
    out: U32 = r ^ (r >> np.uint32(_XSHIFT))
    return out


def _spawn_pools(
    seeds: list[int], which: np.ndarray, replicates: np.ndarray, purpose: int
) -> list[np.ndarray]:
    """Hash pools of ``SeedSequence(seeds[which[j]], spawn_key=(replicates[j], purpose))``.

    Each seed's part of the pool is numpy's own (``SeedSequence(seed).pool``); only the spawn
    key's words are hashed here, vectorised over the pairs. Returns the four pool words, each
    an array over the pairs.
    """
    n = replicates.size
    pool = [np.empty(n, dtype=np.uint32) for _ in range(_POOL)]
    bases = [np.random.SeedSequence(s) for s in seeds]
    pools = np.array([b.pool for b in bases], dtype=np.uint32).reshape(len(bases), _POOL)
    # a seed's number of 32-bit words fixes how far the hash constant has run before the key
    words = np.array([max(1, (s.bit_length() + 31) // 32) for s in seeds])
    for w in np.unique(words).tolist():
        rows = np.flatnonzero(words[which] == w)
        const = _INIT_A
        for _ in range(_POOL + _POOL * (_POOL - 1) + _POOL * max(0, w - _POOL)):
            const = (const * _MULT_A) & _M32
        part = [pools[which[rows], i] for i in range(_POOL)]
        key = (replicates[rows].astype(np.uint32), np.full(rows.size, purpose, dtype=np.uint32))
        for word in key:
            for i in range(_POOL):
                hashed, const = _hashmix(word, const)
                part[i] = _mix(part[i], hashed)
        for i in range(_POOL):
            pool[i][rows] = part[i]
    return pool


def pcg64_states(
    seed: int | np.ndarray, replicates: np.ndarray, purpose: int = NOISE
) -> list[int]:
    """PCG64 ``(state, inc)`` of ``noise_stream``-style generators for many replicates at once.

    Equal, replicate by replicate, to the state of
    ``PCG64(SeedSequence(seed, spawn_key=(k, purpose)))``: a seed's part of the hash pool is
    shared by all its replicates, so only the spawn key's words are hashed, vectorised over
    replicates, which costs a fraction of building each ``SeedSequence``. ``seed`` is one root
    seed for every replicate, or one per replicate (non-negative integers: many sweep points'
    replicates at once). Replicate indices must be below 2**32 (one word each). Returns a flat
    list ``[state0, inc0, state1, ...]``.
    """
    reps = np.asarray(replicates, dtype=np.uint64).ravel()
    if reps.size and int(reps.max()) > _M32:
        raise ValueError("replicate index above 2**32 - 1")
    if isinstance(seed, np.ndarray) and seed.ndim:
        if seed.shape != reps.shape:
            raise ValueError(f"{seed.size} seeds for {reps.size} replicates")
        uniq, which = np.unique(seed, return_inverse=True)
        seeds = [int(s) for s in uniq.tolist()]
    else:
        seeds, which = [int(seed)], np.zeros(reps.size, dtype=np.intp)
    pool = _spawn_pools(seeds, which, reps, purpose)
    const = _INIT_B
    out = []
    for i in range(2 * _POOL):
        value = pool[i % _POOL] ^ np.uint32(const)
        const = (const * _MULT_B) & _M32
        value = value * np.uint32(const)
        out.append(value ^ (value >> np.uint32(_XSHIFT)))
    w64 = [
        out[2 * j].astype(np.uint64) | (out[2 * j + 1].astype(np.uint64) << np.uint64(32))
        for j in range(4)
    ]
    flat: list[int] = []
    for s_hi, s_lo, i_hi, i_lo in zip(*(w.tolist() for w in w64), strict=True):
        inc = ((((i_hi << 64) | i_lo) << 1) | 1) & _M128
        state = (((inc + ((s_hi << 64) | s_lo)) & _M128) * _PCG_MULT + inc) & _M128
        flat += (state, inc)
    return flat


@functools.cache
def fast_seeding_agrees() -> bool:
    """Whether :func:`pcg64_states` matches this numpy's own seeding (checked once a process).

    The hash is numpy's documented ``SeedSequence`` algorithm; should a numpy release change
    it, :func:`draw_block` falls back to building each replicate's ``SeedSequence``.
    """
    reps = np.array([0, 1, 4097, 2])
    seeds = np.array([20251220, 20251220, 0, 2**63 + 1], dtype=np.uint64)  # 1- and 2-word seeds
    fast = pcg64_states(seeds, reps)
    for i, (s, k) in enumerate(zip(seeds.tolist(), reps.tolist(), strict=True)):
        own = np.random.PCG64(replicate_sequence(s, k, NOISE)).state["state"]
        if (own["state"], own["inc"]) != (fast[2 * i], fast[2 * i + 1]):
            return False
    return True


def draw_block(
    seed: int | np.ndarray, replicates: np.ndarray, rounds: int, n_powers: int, n_states: int
) -> np.ndarray:
    """Standard normals for many replicates at once, in sorted-code layout.

    Returns ``(len(replicates), rounds, n_powers, NOISE_CHANNELS, n_states)``, equal replicate
    by replicate to ``rounds`` successive round draws of :func:`noise_stream`, laid out
    replicate-fastest in memory (what the engine computes on). ``seed`` is the root seed of
    every replicate, or an array of one root seed per replicate (replicates of many sweep
    points in one block: entry ``j`` is then ``noise_stream(seed[j], replicates[j])``). One
    generator is reused: each replicate's stream state is set in place
    (:func:`pcg64_states`) rather than built from a new ``SeedSequence``; replicates are drawn
    in small groups and transposed while in cache.
    """
    n = len(replicates)
    per = rounds * n_powers * NOISE_CHANNELS * n_states
    cols = np.empty((per, n))
    group = np.empty((min(n, _GROUP), per))
    bits = np.random.PCG64()
    gen = np.random.Generator(bits)
    reps = np.asarray(replicates)
    fast = fast_seeding_agrees() and (reps.size == 0 or int(reps.max()) <= _M32)
    states = pcg64_states(seed, reps) if fast else []
    seeds = [] if fast else np.broadcast_to(np.asarray(seed, dtype=object), (n,)).tolist()
    for lo in range(0, n, _GROUP):
        m = min(_GROUP, n - lo)
        for j in range(m):
            if fast:
                i = 2 * (lo + j)
                bits.state = {
                    "bit_generator": "PCG64",
                    "state": {"state": states[i], "inc": states[i + 1]},
                    "has_uint32": 0,
                    "uinteger": 0,
                }
                gen.standard_normal(out=group[j])
            else:
                noise_stream(seeds[lo + j], int(reps[lo + j])).standard_normal(out=group[j])
        cols[:, lo : lo + m] = group[:m].T
    return np.moveaxis(cols.reshape(rounds, n_powers, NOISE_CHANNELS, n_states, n), -1, 0)


def name_key(name: str) -> int:
    """The spawn-key word of a named purpose (crc32 of its UTF-8 name)."""
    return zlib.crc32(name.encode("utf-8"))


def named_stream(seed: int, name: str, *index: int) -> np.random.Generator:
    """A generator for a named purpose outside the replicates' streams (e.g. ``"observation"``).

    ``SeedSequence(seed, spawn_key=(crc32(name), *index))``: disjoint from every replicate's
    stream (whose spawn keys start with a replicate index far below a crc32 in practice, and
    in any case with a different second word), and the same on any machine.
    """
    key = (name_key(name), *index)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))
