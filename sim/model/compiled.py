"""The engine's compiled path: the noise and every round of a replicate in one pass (numba).

The numpy path (:func:`sim.model.engine._run`) plays a round for all replicates at once, each
step an array operation that writes its result to memory; this path plays each replicate's
whole run in registers and a few small scratch arrays, replicates in parallel on the
machine's cores. It computes what :func:`sim.model.kernel.advance` computes, step by step in
the same order, so the paths agree to rounding (a test compares them on every scenario of the
library), and it draws the same noise bit for bit:

- the bit generator is numpy's PCG64 (a 128-bit LCG with numpy's multiplier and the XSL-RR
  output), carried as four 64-bit words and seeded with the states
  :func:`sim.model.rng.pcg64_states` computes for numpy;
- standard normals come from numpy's ziggurat (256 layers; the tables are those numba ships
  for its own port of numpy's generator), with the same rejection steps and the same
  ``log1p`` and ``exp`` of the C library;

so replicate ``k`` draws exactly ``noise_stream(seed, k).standard_normal(...)``.
:func:`agrees` checks that against numpy once a process; should a numpy release change its
algorithm, the engine falls back to the numpy path rather than give other numbers.

Nothing here is imported unless numba is installed and the backend is ``numba``
(:func:`sim.model.engine.backend`).
"""

from __future__ import annotations

import functools
import multiprocessing
import threading
from typing import Any

import numba
import numpy as np
from llvmlite import ir
from numba.core.types import uint64
from numba.core.types.containers import UniTuple
from numba.extending import intrinsic
from numba.np.random import _constants as ziggurat

from sim.model.params import Params
from sim.model.rng import NOISE_CHANNELS, noise_stream, pcg64_states
from sim.model.rules import TINY

_KI = np.ascontiguousarray(ziggurat.ki_double, dtype=np.uint64)
_WI = np.ascontiguousarray(ziggurat.wi_double, dtype=np.float64)
_FI = np.ascontiguousarray(ziggurat.fi_double, dtype=np.float64)
_NOR_R = float(ziggurat.ziggurat_nor_r)
_NOR_INV_R = float(ziggurat.ziggurat_nor_inv_r)

# numba types a Python int as int64 and mixes it with uint64 into float64: every constant
# of the bit arithmetic is a uint64 of its own
_S58, _S64M = np.uint64(58), np.uint64(63)
_S1, _S8, _S11 = np.uint64(1), np.uint64(8), np.uint64(11)
_MULT = 0x2360ED051FC65DA44385DF649FCCF645  # PCG64's multiplier (numpy's, 128 bits)
_MASK8, _MASK52 = np.uint64(0xFF), np.uint64(0x000FFFFFFFFFFFFF)
_ONE = np.uint64(1)
_TO_DOUBLE = 1.0 / 9007199254740992.0

_JIT: dict[str, Any] = {"cache": True, "nogil": True, "error_model": "numpy"}


@intrinsic  # type: ignore[untyped-decorator]
def _lcg(typingctx: Any, hi: Any, lo: Any, inc_hi: Any, inc_lo: Any) -> Any:
    """``state * M + inc`` modulo 2**128 on LLVM's own 128-bit integers (what numpy's C code
    does with ``__uint128_t``): returns the new state's high and low words."""
    sig = UniTuple(uint64, 2)(uint64, uint64, uint64, uint64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        i128, i64 = ir.IntType(128), ir.IntType(64)
        sixty_four = ir.Constant(i128, 64)

        def wide(high: Any, low: Any) -> Any:
            return builder.or_(builder.shl(builder.zext(high, i128), sixty_four),
                               builder.zext(low, i128))

        state = builder.add(builder.mul(wide(args[0], args[1]), ir.Constant(i128, _MULT)),
                            wide(args[2], args[3]))
        high = builder.trunc(builder.lshr(state, sixty_four), i64)
        return context.make_tuple(builder, signature.return_type,
                                  (high, builder.trunc(state, i64)))

    return sig, codegen


@numba.njit(inline="always", **_JIT)  # type: ignore[untyped-decorator]
def _step(hi: np.uint64, lo: np.uint64, inc_hi: np.uint64, inc_lo: np.uint64
          ) -> tuple[np.uint64, np.uint64, np.uint64]:
    """numpy's PCG64 step then output: ``state = state * M + inc`` (mod 2**128), then XSL-RR
    of the new state. The state and increment are carried as high and low 64-bit words;
    returns the output and the new state's words."""
    out_hi, out_lo = _lcg(hi, lo, inc_hi, inc_lo)
    x = out_hi ^ out_lo
    rot = out_hi >> _S58
    return (x >> rot) | (x << ((-rot) & _S64M)), out_hi, out_lo  # rotate right by top 6 bits


@numba.njit(inline="always", **_JIT)  # type: ignore[untyped-decorator]
def _layer(hi: np.uint64, lo: np.uint64, inc_hi: np.uint64, inc_lo: np.uint64
           ) -> tuple[float, np.intp, np.uint64, np.uint64, np.uint64]:
    """One 64-bit draw read as numpy's ziggurat reads it: a layer ``idx`` (8 bits), a sign,
    52 bits ``rabs`` and the point ``x`` they give; returns those and the new state words."""
    r, hi, lo = _step(hi, lo, inc_hi, inc_lo)
    idx = np.intp(r & _MASK8)
    r = r >> _S8
    rabs = (r >> _S1) & _MASK52
    x = float(np.int64(rabs)) * _WI[idx]  # below 2**52: a signed conversion is exact
    if r & _ONE:
        x = -x
    return x, idx, rabs, hi, lo


@numba.njit(inline="always", **_JIT)  # type: ignore[untyped-decorator]
def _normal(hi: np.uint64, lo: np.uint64, inc_hi: np.uint64, inc_lo: np.uint64
            ) -> tuple[float, np.uint64, np.uint64]:
    """One standard normal, as numpy's ``random_standard_normal`` draws it; returns it and
    the bit generator's new state words (see :func:`_step`). The layers' quick accept (99%
    of draws) is inlined where it is called; the rest is :func:`_normal_rest`."""
    x, idx, rabs, hi, lo = _layer(hi, lo, inc_hi, inc_lo)
    if rabs < _KI[idx]:
        return x, hi, lo
    rest: tuple[float, np.uint64, np.uint64] = _normal_rest(idx, rabs, x, hi, lo, inc_hi, inc_lo)
    return rest


@numba.njit(**_JIT)  # type: ignore[untyped-decorator]
def _normal_rest(idx: np.intp, rabs: np.uint64, x: float, hi: np.uint64, lo: np.uint64,
                 inc_hi: np.uint64, inc_lo: np.uint64) -> tuple[float, np.uint64, np.uint64]:
    """A draw the layers did not accept at once: the base layer's tail, a wedge's test, or,
    rejected, a new draw from the start (numpy's loop)."""
    while True:
        if idx == 0:
            while True:
                u, hi, lo = _step(hi, lo, inc_hi, inc_lo)
                xx = -_NOR_INV_R * np.log1p(-(float(u >> _S11) * _TO_DOUBLE))
                u, hi, lo = _step(hi, lo, inc_hi, inc_lo)
                yy = -np.log1p(-(float(u >> _S11) * _TO_DOUBLE))
                if yy + yy > xx * xx:
                    return (-(_NOR_R + xx) if (rabs >> _S8) & _ONE else _NOR_R + xx), hi, lo
        u, hi, lo = _step(hi, lo, inc_hi, inc_lo)
        if (_FI[idx - 1] - _FI[idx]) * (float(u >> _S11) * _TO_DOUBLE) + _FI[idx] < np.exp(
            -0.5 * x * x
        ):
            return x, hi, lo
        x, idx, rabs, hi, lo = _layer(hi, lo, inc_hi, inc_lo)  # rejected: numpy draws again
        if rabs < _KI[idx]:
            return x, hi, lo


@numba.njit(**_JIT)  # type: ignore[untyped-decorator]
def _normals(states: np.ndarray, count: int) -> np.ndarray:
    """``count`` standard normals from each row of PCG64 states ``(n, 4)`` -> ``(n, count)``."""
    n = states.shape[0]
    out = np.empty((n, count))
    for j in range(n):
        hi, lo, inc_hi, inc_lo = states[j, 0], states[j, 1], states[j, 2], states[j, 3]
        for i in range(count):
            out[j, i], hi, lo = _normal(hi, lo, inc_hi, inc_lo)
    return out


def words(flat: list[int]) -> np.ndarray:
    """PCG64 states as :func:`sim.model.rng.pcg64_states` gives them (``[state0, inc0, ...]``,
    128-bit integers) -> ``(n, 4)`` words: state high, state low, increment high, low."""
    mask = (1 << 64) - 1
    out = np.empty((len(flat) // 2, 4), dtype=np.uint64)
    out[:, 0] = [s >> 64 for s in flat[0::2]]
    out[:, 1] = [s & mask for s in flat[0::2]]
    out[:, 2] = [c >> 64 for c in flat[1::2]]
    out[:, 3] = [c & mask for c in flat[1::2]]
    return out


def normals(seed: int | np.ndarray, replicates: np.ndarray, count: int) -> np.ndarray:
    """``count`` standard normals of each replicate's noise stream ``(n, count)``."""
    states = words(pcg64_states(seed, np.asarray(replicates)))
    out: np.ndarray = _normals(states, count)
    return out


@numba.njit(**_JIT)  # type: ignore[untyped-decorator]
def _libm(x: np.ndarray) -> np.ndarray:
    """``exp``, ``log`` and ``log1p`` of each value, one at a time as the kernel calls them."""
    out = np.empty((3, x.size))
    for k in range(x.size):
        out[0, k], out[1, k], out[2, k] = np.exp(x[k]), np.log(x[k]), np.log1p(x[k])
    return out


@functools.cache
def agrees() -> bool:
    """Whether this path gives numpy's numbers on this machine (checked once a process).

    Its noise is numpy's bit for bit (enough draws that the ziggurat's rare branches, its
    wedges and its tail, are taken), and numpy's ``exp``, ``log`` and ``log1p`` over an
    array are the C library's one value at a time (numpy may use its own vectorised ones on
    some processors; then the paths agree only to rounding).
    """
    reps = np.array([0, 1, 7, 4097])
    count = 20_000
    ours = normals(20251220, reps, count)
    for j, k in enumerate(reps.tolist()):
        if not np.array_equal(ours[j], noise_stream(20251220, k).standard_normal(count)):
            return False
    x = np.random.default_rng(0).uniform(1e-6, 5.0, 4096)
    x = np.concatenate([x, -x[:1024] / 5.0, x * 1e-3])  # logits (below 0), small ratios
    with np.errstate(invalid="ignore", divide="ignore"):
        theirs = np.stack([np.exp(x), np.log(x), np.log1p(x)])
    return bool(np.array_equal(_libm(x), theirs, equal_nan=True))


# ------------------------------------------------------------------------------ the kernel
# One replicate's whole run is one function, 150 lines, kept whole on purpose: the compiler
# then holds every view and number it reads for the whole run, and each round is only loops
# over cells. Split into a function per step (inlined or not), the same arithmetic ran 14-30%
# slower, from the per-round views and the reference counting of the arrays passed down.
# Arrays of the scenario carry an axis of points (``i``), those over rounds one of rounds
# (``r``) before it; see :func:`arrays`.


@numba.njit(**_JIT)  # type: ignore[untyped-decorator]
def _replicate(  # one function, kept whole: see the comment above
    j: int,
    i: int,
    state: np.ndarray,
    rounds: int,
    args: tuple[Any, ...],
    keep: np.ndarray,
    out_align: np.ndarray,
    out_debt: np.ndarray,
    out_delivered: np.ndarray,
) -> None:
    """Replicate ``j`` of point ``i``, bit generator ``state``: every round from the anchor,
    recorded into row ``j`` of the outputs ``keep`` asks for.

    Each step is :func:`sim.model.kernel.advance`'s, with its operations in its order (the
    numbered comments are docs/ODD.md section 3's steps).
    """
    (rpy, gdp, econ_ratio, u_fixed, debt_sal, planned, amount, capacity, delivery, static,
     routing, per_state, per_cell, per_power, numbers, peers, is_gap, inst_power, power_pos,
     state_pos) = args
    S, P = per_cell.shape[2], per_cell.shape[3]
    hi, lo, inc_hi, inc_lo = state[0], state[1], state[2], state[3]
    n_inst = inst_power.shape[0]
    C = NOISE_CHANNELS
    w_econ, w_debt, w_hedge = per_state[i, 0], per_state[i, 1], per_state[i, 2]
    kappa, lam, theta, region_w = per_state[i, 3], per_state[i, 4], per_state[i, 5], per_state[i, 6]
    anchor, log_anchor, debt0 = per_cell[i, 0], per_cell[i, 1], per_cell[i, 2]
    reactivity, share0 = per_power[i, 0], per_power[i, 1]
    beta, sd_u, sd_d = numbers[i, 0], numbers[i, 1], numbers[i, 2]
    memory, econ_scale, repay = numbers[i, 3], numbers[i, 4], numbers[i, 5]
    reactive = False
    for q in range(P):
        reactive = reactive or reactivity[q] != 0.0
    gaps = False
    for ii in range(n_inst):
        gaps = gaps or is_gap[ii]

    a = anchor.copy()
    eng = np.zeros((S, P))
    new_debt = np.zeros((S, P))
    burden = np.zeros((S, P))
    z = np.empty(P * C * S)
    pl = np.empty((S, 4 * P))
    factor = np.empty((S, P))
    d_u = np.empty((S, P))
    moved = np.empty((S, P))
    budget = np.empty(n_inst)
    split = np.empty((S, n_inst))
    share = np.empty(P)
    gain = np.empty(P)
    a_new = np.empty((S, P))

    if keep[0]:
        out_align[j, 0] = a
    if keep[1]:
        for s in range(S):
            ratio = gdp[0, i, s] / gdp[0, i, s]
            for q in range(P):
                out_debt[j, 0, s, q] = debt0[s, q] * ratio + 0.0
    if keep[2]:
        out_delivered[j, 0] = 0.0

    for r in range(1, rounds + 1):
        for k in range(P * C * S):
            z[k], hi, lo = _normal(hi, lo, inc_hi, inc_lo)
        # 2. Offers: the money planned under fixed splits, plus gap-targeting money
        pl[:, :] = planned[r, i]
        if gaps:
            for ii in range(n_inst):
                budget[ii] = amount[r, i, ii] * delivery[i, ii] * capacity[r, i, inst_power[ii]]
                if is_gap[ii]:
                    total = 0.0
                    for s in range(S):
                        total += 1.0 - a[s, inst_power[ii]]
                    for s in range(S):
                        room = 1.0 - a[s, inst_power[ii]]
                        split[s, ii] = room / total if total > 0 else 0.0
                else:
                    for s in range(S):
                        split[s, ii] = static[i, s, ii]
            for s in range(S):
                for m in range(4 * P):
                    acc = budget[0] * split[s, 0] * is_gap[0] * routing[i, 0, m]
                    for ii in range(1, n_inst):  # rules.by_power: in the instruments' order
                        acc += budget[ii] * split[s, ii] * is_gap[ii] * routing[i, ii, m]
                    pl[s, m] = planned[r, i, s, m] + acc
        for s in range(S):
            for q in range(P):
                # a cell with no money has nothing to scale: its factor is never used
                if pl[s, q] == 0.0 and pl[s, P + q] == 0.0 and pl[s, 2 * P + q] == 0.0 and (
                    pl[s, 3 * P + q] == 0.0
                ):
                    factor[s, q] = 1.0
                    continue
                zd = z[power_pos[q] * C * S + S + state_pos[s]]
                factor[s, q] = np.exp(sd_d * zd - 0.5 * sd_d * sd_d)
        if reactive:  # powers answering their rivals' gains
            for q in range(P):
                acc = region_w[0] * a[0, q]
                for s in range(1, S):
                    acc += region_w[s] * a[s, q]
                share[q] = acc
                gain[q] = max(acc - share0[q], 0.0)
            total_gain = gain[0]
            for q in range(1, P):
                total_gain += gain[q]
            for q in range(P):
                mult = 1.0 + reactivity[q] * (total_gain - gain[q])
                for s in range(S):
                    factor[s, q] = factor[s, q] * mult
        # 3.-4. Engagement, debt and the utility change, cell by cell
        for s in range(S):
            g = gdp[r, i, s]
            debt_w = w_debt[s] * debt_sal[r, i, s]
            for q in range(P):
                f = factor[s, q]
                value = f * pl[s, P + q]
                eng[s, q] = (1.0 - memory) * eng[s, q] + memory * (value * rpy)
                new_debt[s, q] = new_debt[s, q] * (1.0 - repay) + f * pl[s, 2 * P + q]
                burden[s, q] = burden[s, q] * (1.0 - repay) + f * pl[s, 3 * P + q]
                econ = w_econ[s] * np.log1p(econ_scale * (econ_ratio[r, i, s, q] + eng[s, q] / g))
                varying = econ - debt_w * (burden[s, q] / g) - w_hedge[s] * a[s, q]
                zu = z[power_pos[q] * C * S + state_pos[s]]
                d_u[s, q] = u_fixed[r, i, s, q] + varying + sd_u * zu
                moved[s, q] = np.log(max(a[s, q], TINY)) - log_anchor[s, q]
                if keep[2]:
                    out_delivered[j, r, s, q] = f * pl[s, q]
        # 5.-6. Target (softmax with the peers' pull) and the step toward it
        for s in range(S):
            top = -np.inf
            for q in range(P):
                shift = peers[i, s, 0] * moved[0, q]
                for t in range(1, S):
                    shift += peers[i, s, t] * moved[t, q]
                logit = log_anchor[s, q] + beta * d_u[s, q] + kappa[s] * shift
                factor[s, q] = logit  # reused as the row's logits
                top = logit if q == 0 else max(top, logit)
            total = 0.0
            for q in range(P):
                e = np.exp(factor[s, q] - top)
                factor[s, q] = e
                total = e if q == 0 else total + e
            th, la = theta[s], lam[s]
            for q in range(P):
                target = factor[s, q] / total
                a_new[s, q] = th * anchor[s, q] + (1.0 - th) * ((1.0 - la) * a[s, q] + la * target)
        a[:, :] = a_new
        if keep[0]:
            out_align[j, r] = a
        if keep[1]:
            for s in range(S):
                ratio = gdp[r, i, s] / gdp[0, i, s]
                for q in range(P):
                    out_debt[j, r, s, q] = debt0[s, q] * ratio + new_debt[s, q]


@numba.njit(parallel=True, **_JIT)  # type: ignore[untyped-decorator]
def _run_parallel(states: np.ndarray, point_of: np.ndarray, rounds: int, args: tuple[Any, ...],
                  keep: np.ndarray, align: np.ndarray, debt: np.ndarray,
                  delivered: np.ndarray) -> None:
    for j in numba.prange(states.shape[0]):
        _replicate(j, point_of[j], states[j], rounds, args, keep, align, debt, delivered)


@numba.njit(**_JIT)  # type: ignore[untyped-decorator]
def _run_serial(states: np.ndarray, point_of: np.ndarray, rounds: int, args: tuple[Any, ...],
                keep: np.ndarray, align: np.ndarray, debt: np.ndarray,
                delivered: np.ndarray) -> None:
    for j in range(states.shape[0]):
        _replicate(j, point_of[j], states[j], rounds, args, keep, align, debt, delivered)


# ------------------------------------------------------------------------------ the driver


def _points(v: Any, n: int, batched: bool, over_rounds: bool) -> np.ndarray:
    """A parameter with an explicit axis of ``n`` points, broadcast and contiguous: ``(n, ...)``,
    or ``(R+1, n, ...)`` for an array over rounds (see :mod:`sim.model.params` for batches)."""
    arr = np.asarray(v, dtype=np.float64)
    if not batched:
        arr = arr[:, None] if over_rounds else arr[None]
    lead = (arr.shape[0], n) if over_rounds else (n,)
    tail = arr.shape[2:] if over_rounds else arr.shape[1:]
    return np.ascontiguousarray(np.broadcast_to(arr, (*lead, *tail)))


def arrays(p: Params) -> tuple[Any, ...]:
    """The scenario's arrays as the kernel reads them, every one with its axis of points."""
    n = p.points or 1
    b = p.points is not None

    def rows(name: str) -> np.ndarray:
        return _points(getattr(p, name), n, b, over_rounds=True)

    def each(*names: str) -> np.ndarray:
        return np.ascontiguousarray(np.stack([_points(getattr(p, k), n, b, False)
                                              for k in names], 1))

    names = ("beta", "sd_utility", "sd_delivery", "memory", "econ_scale", "repay_per_round")
    numbers = np.stack([np.broadcast_to(np.asarray(getattr(p, k), dtype=np.float64).reshape(-1),
                                        (n,)) for k in names], 1)
    return (
        float(p.rounds_per_year),
        rows("gdp"),
        rows("econ_ratio"),
        rows("u_fixed"),
        rows("debt_salience"),
        rows("planned"),
        rows("amount"),
        rows("capacity"),
        _points(p.delivery, n, b, False),
        _points(p.static_alloc, n, b, False),
        _points(p.routing, n, b, False),
        each("w_econ", "w_debt", "w_hedge", "kappa", "lam", "theta", "region_w"),
        each("anchor", "log_anchor", "debt0"),
        each("reactivity", "share0"),
        np.ascontiguousarray(numbers),
        _points(p.peers, n, b, False),
        np.ascontiguousarray(p.is_gap, dtype=np.bool_),
        np.ascontiguousarray(p.inst_power, dtype=np.int64),
        np.ascontiguousarray(p.noise_power_pos, dtype=np.int64),
        np.ascontiguousarray(p.noise_state_pos, dtype=np.int64),
    )


#: Below this many replicates a block runs on one thread (starting the threads costs more).
PARALLEL_FROM = 64
#: Set in a child process that stands for a command's own (``sim bench``'s timed children).
EVERY_CORE_IN_CHILDREN = False


def threaded() -> bool:
    """Whether blocks may run on every core: only from the main thread of the main process.

    Elsewhere (a worker process of a sweep, a thread of a server) the caller already runs
    work side by side, and numba's default thread pool must not be entered twice at once.
    """
    return threading.current_thread() is threading.main_thread() and (
        multiprocessing.parent_process() is None or EVERY_CORE_IN_CHILDREN
    )


def simulate(
    p: Params,
    seeds: int | np.ndarray,
    replicates: np.ndarray,
    points: np.ndarray,
    keep: tuple[str, ...],
) -> dict[str, np.ndarray]:
    """Replicate ``replicates[j]`` of point ``points[j]`` on its noise stream (root seed
    ``seeds`` or ``seeds[j]``), every round; returns the arrays named in ``keep``, each
    ``(len(replicates), R + 1, state, power)``."""
    reps = np.asarray(replicates, dtype=np.int64)
    n = reps.size
    S, P, R = len(p.states), len(p.powers), p.rounds
    states = words(pcg64_states(seeds, reps))
    names = ("alignment", "debt", "delivered")
    flags = np.array([k in keep for k in names])
    outs = [np.empty((n, R + 1, S, P)) if f else np.empty((1, 1, 1, 1)) for f in flags]
    run = _run_parallel if n >= PARALLEL_FROM and threaded() else _run_serial
    run(states, np.asarray(points, dtype=np.int64), R, arrays(p), flags, *outs)
    return {k: o for k, o, f in zip(names, outs, flags, strict=True) if f}
