"""The ensemble engine: many replicates at once over the same round as the Mesa model.

Replicates run in chunks along a leading axis through :func:`sim.model.kernel.advance`; each
replicate's noise comes from its own named streams (:mod:`sim.model.rng`), so replicate ``k`` is the
same whatever the ensemble size or chunking, and equals ``AlignmentModel(replicate=k)``.
Summaries stream: memory is bounded by the chunk size, not the number of replicates, unless
full trajectories are asked for.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from sim.core.errors import SimError
from sim.model import kernel, rules
from sim.model.params import Params
from sim.model.rng import draw_block

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
HIST_BINS = 4000


@dataclass(frozen=True)
class Trajectories:
    """Per-replicate arrays ``(replicate, round, state, power)`` for a set of replicates."""

    replicates: np.ndarray
    alignment: np.ndarray
    debt: np.ndarray
    delivered: np.ndarray


def region_share(traj: Trajectories, p: Params) -> np.ndarray:
    """Each power's regional share ``(replicate, round, power)``."""
    return rules.regional_share(traj.alignment, p.region_w)


@functools.cache
def keep_freed_memory() -> bool:
    """Ask the C library to reuse freed memory rather than hand it back (glibc only, once).

    A chunk's temporaries are a few hundred KiB each, around glibc's default mmap threshold,
    so by default many of them are fresh mappings whose pages fault in on first touch; on a
    virtual machine that was about a sixth of the engine's time. With a 64 MiB mmap threshold
    and a 512 MiB trim threshold freed blocks are reused instead. Numbers are unaffected.
    Returns whether the setting took.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        return bool(
            libc.mallopt(m_mmap_threshold, 64 << 20) and libc.mallopt(m_trim_threshold, 512 << 20)
        )
    except (OSError, AttributeError):
        return False


#: The environment variable that chooses the backend: ``auto`` (the default), ``numba`` or
#: ``numpy``.
BACKEND_VARIABLE = "SIM_ENGINE_BACKEND"
BACKENDS = ("auto", "numba", "numpy")
#: ``auto`` compiles for a job (a run, a comparison, a batch of parameter sets) of this many
#: replicate-rounds (points x replicates x rounds) in a process: below it numpy is done
#: before numba would have loaded (about a second, once a process).
COMPILED_FROM = 1_000_000


def asked_backend() -> str:
    """The backend :data:`BACKEND_VARIABLE` asks for.

    Raises:
        SimError: a value not in :data:`BACKENDS`, or ``numba`` where numba is missing.
    """
    asked = os.environ.get(BACKEND_VARIABLE, "auto").strip().lower() or "auto"
    if asked not in BACKENDS:
        raise SimError(f"environment variable {BACKEND_VARIABLE}: expected one of "
                       f"{', '.join(BACKENDS)}, found {os.environ.get(BACKEND_VARIABLE)!r}")
    if asked == "numba" and not numba_installed():
        raise SimError(f"environment variable {BACKEND_VARIABLE}: numba was asked for, but it "
                       "is not installed (pip install numba, or set it to numpy or auto)")
    return asked


@functools.cache
def numba_installed() -> bool:
    return importlib.util.find_spec("numba") is not None


def compiled_fits(p: Params) -> bool:
    """Whether the compiled path plays this scenario with numpy's own operations in numpy's
    order, hence the same numbers bit for bit: states and powers up to :data:`rules.UNROLL`
    (beyond it numpy sums rows and peers pairwise or through BLAS)."""
    return len(p.states) <= rules.UNROLL and len(p.powers) <= rules.UNROLL


def backend(p: Params, work: int) -> str:
    """The path that plays ``work`` replicate-rounds of ``p``: ``"numba"`` or ``"numpy"``.

    ``auto`` compiles where numba is installed, its noise and libm's are numpy's on this
    machine (:func:`sim.model.compiled.agrees`), the scenario fits (:func:`compiled_fits`),
    and the work is large enough to pay for loading it (:data:`COMPILED_FROM`) or it is
    loaded already (:func:`expect`); the two paths then give the same numbers, so the choice
    changes only the time. ``numba`` compiles wherever the scenario fits (agreeing with numpy
    to rounding if this machine's numpy and libm differ); ``numpy`` never does.
    """
    asked = asked_backend()
    if asked == "numpy" or not numba_installed() or not compiled_fits(p):
        return "numpy"
    loaded = "sim.model.compiled" in sys.modules
    if asked == "auto" and work < COMPILED_FROM and not loaded:
        return "numpy"
    from sim.model import compiled

    if asked == "numba" or compiled.agrees():
        return "numba"
    return "numpy"


def expect(p: Params, work: int) -> None:
    """A job is about to play ``work`` replicate-rounds of ``p`` in this process, in calls
    (chunks, blocks) of any size: if the job is large enough for ``auto`` to compile, the
    compiled path is loaded now, so that every call of the job runs on it."""
    backend(p, work)


def simulate(p: Params, replicates: np.ndarray, seed: int | None = None) -> Trajectories:
    """Run the given replicates (indices) of a scenario at once; returns full trajectories."""
    keep_freed_memory()
    seed = p.seed if seed is None else seed
    reps = np.asarray(replicates, dtype=np.int64)
    if backend(p, reps.size * p.rounds) == "numba":
        from sim.model import compiled

        out = compiled.simulate(p, seed, reps, np.zeros(reps.size, np.int64), TRAJECTORIES)
    else:
        z = draw_block(seed, reps, p.rounds, len(p.powers), len(p.states))
        out = _run(p, z, (len(reps),), TRAJECTORIES)
    return Trajectories(reps, out["alignment"], out["debt"], out["delivered"])


#: What a run can record each round.
TRAJECTORIES = ("alignment", "debt", "delivered")


def simulate_points(
    p: Params,
    seeds: np.ndarray,
    replicates: np.ndarray,
    keep: Sequence[str] = TRAJECTORIES,
) -> dict[str, np.ndarray]:
    """Replicates of many points at once: point ``i``'s replicate ``k`` on its own seed.

    ``p`` is a batch of ``len(seeds)`` points (:mod:`sim.runs.batch`), or one scenario shared by
    every point. Point ``i`` draws ``noise_stream(seeds[i], k)`` for replicate ``k``, so each
    (replicate, point) equals ``simulate(p.point(i), [k], seeds[i])`` bit for bit, whatever
    else is in the block. Returns the arrays named in ``keep``, each
    ``(replicate, point, round, state, power)``: replicates lead and the points come last
    among the leading axes, where a batch's parameters ``(point, ...)`` broadcast against
    them; in memory the points are fastest (:func:`sim.model.kernel.initial_state`).
    """
    keep_freed_memory()
    seeds = np.asarray(seeds, dtype=np.uint64)
    reps = np.asarray(replicates, dtype=np.int64)
    n, k = len(seeds), len(reps)
    if p.points is not None and p.points != n:
        raise ValueError(f"{n} seeds for a batch of {p.points} points")
    if backend(p, n * k * p.rounds) == "numba":
        from sim.model import compiled

        _check_keep(keep)
        point = np.tile(np.arange(n, dtype=np.int64), k) if p.points is not None else (
            np.zeros(n * k, np.int64))
        flat = compiled.simulate(p, np.tile(seeds, k), np.repeat(reps, n), point, tuple(keep))
        return {name: v.reshape(k, n, *v.shape[1:]) for name, v in flat.items()}
    z = draw_block(np.tile(seeds, k), np.repeat(reps, n), p.rounds, len(p.powers), len(p.states))
    return _run(p, z.reshape(k, n, *z.shape[1:]), (k, n), keep)


def _check_keep(keep: Sequence[str]) -> None:
    unknown = set(keep) - set(TRAJECTORIES)
    if unknown:
        raise ValueError(f"cannot record {sorted(unknown)}; expected some of {TRAJECTORIES}")


def _run(
    p: Params, z: np.ndarray, lead: tuple[int, ...], keep: Sequence[str]
) -> dict[str, np.ndarray]:
    """Play every round from the anchor on draws ``z`` ``(*lead, round, ...)``; record ``keep``."""
    _check_keep(keep)
    R = p.rounds
    state = kernel.initial_state(p, lead)
    shape = (*lead, R + 1, len(p.states), len(p.powers))
    out = {name: np.empty(shape) for name in keep}

    def record(r: int, state: kernel.State) -> None:
        if "alignment" in out:
            out["alignment"][..., r, :, :] = state.alignment
        if "debt" in out:
            out["debt"][..., r, :, :] = kernel.debt(p, state, r)
        if "delivered" in out:
            out["delivered"][..., r, :, :] = state.delivered

    record(0, state)
    for r in range(1, R + 1):
        state = kernel.advance(p, state, r, kernel.shocks(p, z[..., r - 1, :, :, :]))
        record(r, state)
    return out


class _Hist:
    """Streaming histogram quantiles of values in [0, 1], per cell of a fixed shape."""

    def __init__(self, shape: tuple[int, ...], bins: int = HIST_BINS) -> None:
        self.shape, self.bins = shape, bins
        self.cells = int(np.prod(shape))
        self.counts = np.zeros(self.cells * bins, dtype=np.int64)
        # The bins samples fell in, while they are few: a small ensemble then never passes
        # over all the (mostly empty) bins; None once they are many, or after a restore.
        self._seen: list[np.ndarray] | None = []

    def add(self, x: np.ndarray) -> None:
        """Add samples ``x`` of shape ``(n, *shape)``."""
        flat = x.reshape(x.shape[0], self.cells)
        cell_bin = np.clip((flat * self.bins).astype(np.int64), 0, self.bins - 1)
        idx = (cell_bin + np.arange(self.cells)[None, :] * self.bins).ravel()
        if self._seen is not None and idx.size * (len(self._seen) + 1) < self.counts.size // 8:
            np.add.at(self.counts, idx, 1)
            self._seen.append(idx)
        else:
            self.counts += np.bincount(idx, minlength=self.counts.size)
            self._seen = None

    def occupied(self) -> np.ndarray:
        """The flat indices of the bins holding any sample, in order."""
        if self._seen is None:
            return np.flatnonzero(self.counts)
        return np.unique(np.concatenate([np.empty(0, np.int64), *self._seen]))

    def quantiles(self, qs: tuple[float, ...]) -> np.ndarray:
        """Quantiles ``(len(qs), *shape)`` by linear interpolation inside bins.

        Quantile ``q`` of a cell lies in the first bin whose cumulative count reaches ``q``
        times the cell's total; only occupied bins can be that bin, so the search runs over
        the occupied bins alone (a few per cell for a small ensemble, where a pass over every
        cell's 4,000 bins was most of a short run's time) and gives the numbers a pass over
        every bin gives.
        """
        out = np.zeros((len(qs), self.cells))
        occupied = self.occupied()
        if not occupied.size:
            return out.reshape((len(qs), *self.shape))
        cell, bin_ = np.divmod(occupied, self.bins)
        count = self.counts[occupied]
        upto = np.concatenate(([0], np.cumsum(count)))  # counts before each occupied bin
        per_cell = np.bincount(cell, minlength=self.cells)  # occupied bins of each cell
        first = np.cumsum(per_cell) - per_cell  # each cell's first occupied bin, in order
        local = upto[1:] - upto[first][cell]  # cumulative count within the cell
        total = upto[first + per_cell] - upto[first]
        last = occupied.size - 1
        for i, q in enumerate(qs):
            target = q * total
            below = np.bincount(cell, weights=local < target[cell], minlength=self.cells)
            at = np.minimum(first + np.minimum(below.astype(np.int64), per_cell - 1), last)
            inside = count[at]
            before = local[at] - inside
            found = (per_cell > 0) & (target > 0)
            frac = np.divide(target - before, inside, out=np.zeros(self.cells), where=found)
            out[i] = np.where(found, (bin_[at] + frac) / self.bins, 0.0)
        return out.reshape((len(qs), *self.shape))


@dataclass
class Summary:
    """Ensemble statistics per round: means and quantiles of alignment, region, hedging.

    Attributes hold arrays with a leading quantile axis where named ``*_q`` (see
    :data:`QUANTILES`). ``method`` says whether quantiles are exact or from histograms.
    """

    n: int
    method: str
    align_mean: np.ndarray  # (R+1, S, P)
    align_q: np.ndarray  # (Q, R+1, S, P)
    debt_mean: np.ndarray  # (R+1, S, P)
    delivered_mean: np.ndarray  # (R+1, S, P)
    region_mean: np.ndarray  # (R+1, P)
    region_q: np.ndarray  # (Q, R+1, P)
    hedging_mean: np.ndarray  # (R+1, S)
    hedging_q: np.ndarray  # (Q, R+1, S)
    final: np.ndarray | None = field(default=None, repr=False)  # (N, S, P) if kept


def exact_summary(traj: Trajectories, p: Params) -> Summary:
    """Summary with exact quantiles from full trajectories."""
    region = region_share(traj, p)
    hedging = rules.hedging_index(traj.alignment)
    q = np.array(QUANTILES)
    return Summary(
        n=len(traj.replicates),
        method="exact",
        align_mean=traj.alignment.mean(0),
        align_q=np.quantile(traj.alignment, q, axis=0),
        debt_mean=traj.debt.mean(0),
        delivered_mean=traj.delivered.mean(0),
        region_mean=region.mean(0),
        region_q=np.quantile(region, q, axis=0),
        hedging_mean=hedging.mean(0),
        hedging_q=np.quantile(hedging, q, axis=0),
        final=traj.alignment[:, -1],
    )


class StreamingSummary:
    """Accumulates a :class:`Summary` chunk by chunk in bounded memory."""

    def __init__(self, p: Params) -> None:
        R1, S, P = p.rounds + 1, len(p.states), len(p.powers)
        self.p = p
        self.n = 0
        self.sums = {k: np.zeros((R1, S, P)) for k in ("align", "debt", "delivered")}
        self.region_sum = np.zeros((R1, P))
        self.hedging_sum = np.zeros((R1, S))
        self.h_align = _Hist((R1, S, P))
        self.h_region = _Hist((R1, P))
        self.h_hedging = _Hist((R1, S))

    def add(self, traj: Trajectories) -> None:
        region = region_share(traj, self.p)
        hedging = rules.hedging_index(traj.alignment)
        self.n += len(traj.replicates)
        self.sums["align"] += traj.alignment.sum(0)
        self.sums["debt"] += traj.debt.sum(0)
        self.sums["delivered"] += traj.delivered.sum(0)
        self.region_sum += region.sum(0)
        self.hedging_sum += hedging.sum(0)
        self.h_align.add(traj.alignment)
        self.h_region.add(region)
        self.h_hedging.add(hedging)

    def state(self) -> dict[str, np.ndarray]:
        """Everything accumulated so far, as arrays to save (see :meth:`restore`)."""
        return {
            "n": np.array(self.n),
            **{f"sum_{k}": v for k, v in self.sums.items()},
            "sum_region": self.region_sum,
            "sum_hedging": self.hedging_sum,
            "h_align": self.h_align.counts,
            "h_region": self.h_region.counts,
            "h_hedging": self.h_hedging.counts,
        }

    def restore(self, saved: dict[str, np.ndarray]) -> None:
        """Continue from a saved :meth:`state`: later chunks add up to the same bits."""
        self.n = int(saved["n"])
        self.sums = {k: np.array(saved[f"sum_{k}"]) for k in self.sums}
        self.region_sum = np.array(saved["sum_region"])
        self.hedging_sum = np.array(saved["sum_hedging"])
        for name in ("h_align", "h_region", "h_hedging"):
            hist = getattr(self, name)
            hist.counts, hist._seen = np.array(saved[name]), None

    def result(self) -> Summary:
        n = max(self.n, 1)
        return Summary(
            n=self.n,
            method=f"histogram ({HIST_BINS} bins on [0, 1])",
            align_mean=self.sums["align"] / n,
            align_q=self.h_align.quantiles(QUANTILES),
            debt_mean=self.sums["debt"] / n,
            delivered_mean=self.sums["delivered"] / n,
            region_mean=self.region_sum / n,
            region_q=self.h_region.quantiles(QUANTILES),
            hedging_mean=self.hedging_sum / n,
            hedging_q=self.h_hedging.quantiles(QUANTILES),
        )


def chunks(n: int, size: int, start: int = 0) -> Iterator[np.ndarray]:
    """Replicate indices ``start .. start + n`` in chunks of at most ``size``."""
    for lo in range(start, start + n, size):
        yield np.arange(lo, min(lo + size, start + n))


@dataclass(frozen=True)
class EnsembleResult:
    """What an ensemble run returns: its summary, and trajectories if they were kept."""

    summary: Summary
    trajectories: Trajectories | None


def trajectories(
    p: Params,
    replicates: int,
    seed: int | None = None,
    *,
    chunk: int = 2048,
    progress: Callable[[int], None] | None = None,
) -> Trajectories:
    """Full trajectories of replicates ``0 .. replicates - 1``, simulated in chunks."""
    expect(p, replicates * p.rounds)
    parts = []
    for reps in chunks(replicates, chunk):
        parts.append(simulate(p, reps, seed))
        if progress is not None:
            progress(len(reps))
    if len(parts) == 1:
        return parts[0]
    return Trajectories(
        np.concatenate([t.replicates for t in parts]),
        *(
            np.concatenate([getattr(t, k) for t in parts])
            for k in ("alignment", "debt", "delivered")
        ),
    )


def run(
    p: Params,
    replicates: int,
    seed: int | None = None,
    *,
    chunk: int = 2048,
    keep: bool = True,
    progress: Callable[[int], None] | None = None,
) -> EnsembleResult:
    """Run ``replicates`` replicates in chunks.

    With ``keep`` the full trajectories are returned and quantiles are exact; without it only
    streaming summaries are kept, in memory bounded by ``chunk``.
    """
    if keep:
        full = trajectories(p, replicates, seed, chunk=chunk, progress=progress)
        return EnsembleResult(exact_summary(full, p), full)
    expect(p, replicates * p.rounds)
    stream = StreamingSummary(p)
    for reps in chunks(replicates, chunk):
        stream.add(simulate(p, reps, seed))
        if progress is not None:
            progress(len(reps))
    return EnsembleResult(stream.result(), None)
