"""What a run keeps in memory, and what the machine has: a run that cannot fit is refused
before it starts, with the figure, rather than failing (or thrashing) part way.

A run holds either every replicate's trajectories (to write the tidy table and take exact
quantiles) or, summaries only, streaming histograms whose size grows with the rounds but not
with the replicates; a comparison holds each replicate's paired differences; over a posterior,
both also hold every draw's block of trajectories as it is made. The figures per
value are measured peaks of those paths (resident size over a baseline, in one run of each at
two sizes), rounded up; they are estimates, so only a run that clearly cannot fit is refused.
"""

from __future__ import annotations

import os
from pathlib import Path

from sim.core.errors import SettingError
from sim.model.engine import HIST_BINS
from sim.model.params import Params

#: Bytes per kept value (replicate x round boundary x state x power) of a run that keeps its
#: trajectories: the three arrays, their exact quantiles, and the tidy table written from them
#: (measured: 85 on the flagship scenario at 10,000 and 20,000 replicates of 80 rounds).
KEPT_VALUE = 100
#: Copies of the streaming histograms a summary-only run holds at its peak: the counts, a
#: chunk's counts before they are added, the cumulative counts of the quantiles (measured: 3.5
#: on the flagship scenario at 500 and 1,000 rounds).
HISTOGRAM_COPIES = 4
#: Bytes per value a chunk of replicates holds while it is simulated and reduced.
CHUNK_VALUE = 48
#: Bytes per kept value (replicate x (round boundary x power + 3 x state x power)) of a
#: comparison: both final alignments, their difference, the regional-share differences and
#: the copies that join them (measured: 51 at 20,000 and 60,000 paired replicates).
PAIRED_VALUE = 64


def available() -> int:
    """Bytes of memory this process may still take: the machine's available memory (Linux's
    ``MemAvailable``; all physical memory elsewhere), or less if a control group limits it."""
    free = _meminfo_available()
    if free is None:
        free = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    room = _cgroup_room()
    return min(free, room) if room is not None else free


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_room() -> int | None:
    """Bytes left under this process's cgroup v2 memory limit, if it has one."""
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit == "max":
            return None
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        return max(int(limit) - used, 0)
    except (OSError, ValueError):
        return None


def size(n: float) -> str:
    """Bytes in a short human form: ``1.2 GB`` (powers of 1,000)."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def run_bytes(p: Params, replicates: int, *, keep: bool, chunk: int) -> int:
    """Peak bytes of a run of ``replicates`` replicates of ``p``: keeping every trajectory, or
    (``keep`` false) streaming summaries; ``chunk`` replicates are simulated at once."""
    R1, S, P = p.rounds + 1, len(p.states), len(p.powers)
    working = min(chunk, replicates) * R1 * S * P * CHUNK_VALUE
    if keep:
        return replicates * R1 * S * P * KEPT_VALUE + working
    cells = R1 * (S * P + P + S)  # alignment, regional share, hedging index
    return HISTOGRAM_COPIES * cells * HIST_BINS * 8 + working


def paired_bytes(p: Params, replicates: int, *, chunk: int) -> int:
    """Peak bytes of a comparison of ``replicates`` paired replicates over ``p``'s calendar."""
    R1, S, P = p.rounds + 1, len(p.states), len(p.powers)
    working = 2 * min(chunk, replicates) * R1 * S * P * CHUNK_VALUE
    return replicates * (R1 * P + 3 * S * P) * PAIRED_VALUE + working


def posterior_bytes(p: Params, replicates: int, kept: int) -> int:
    """Bytes of the ``kept`` trajectory arrays a posterior ensemble of ``replicates`` replicates
    (every draw's block) holds as it is made (:func:`sim.calibration.posterior.ensemble`): each
    array over
    draws and replicates, and the copy that joins their two axes."""
    R1, S, P = p.rounds + 1, len(p.states), len(p.powers)
    return 2 * kept * replicates * R1 * S * P * 8


def check(need: int, setting: str, what: str, advice: str, others: tuple[str, ...] = ()) -> None:
    """Refuse (naming ``setting``) work that needs more memory than the machine has.

    Raises:
        SettingError: ``need`` bytes exceed :func:`available`; the message says ``what``
            needs how much, what there is, and ``advice`` (ending with ``others``' names).
    """
    have = available()
    if need > have:
        raise SettingError(
            setting,
            f"{what} would need about {size(need)} of memory; this machine has {size(have)} "
            f"available; {advice}",
            others=others,
        )
