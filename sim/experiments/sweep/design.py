"""Sweep designs: which parameter values each point takes, and each point's seed.

Sampling is SALib's (Herman & Usher 2017), except the full-factorial grid, which is a product
of evenly spaced levels (NetLogo BehaviorSpace's ``[min step max]``). What ``samples`` (N)
means depends on the method:

========  ===================================================  ====================
method    points                                               analysis
========  ===================================================  ====================
grid      product of each parameter's levels (default N each)  response curves, maps
lhs       N (Latin hypercube, McKay et al. 1979)               scenario discovery
sobol     N (D + 2) (Saltelli 2002 with Sobol' sequences)      Sobol' S1 and ST
morris    N (D + 1) (N trajectories, Morris 1991)              mu*, sigma
========  ===================================================  ====================

Seeds. Everything random in a sweep derives from its one seed through
``numpy.random.SeedSequence(seed, spawn_key=(KEY, ...))``: the design (LHS, scrambled
Sobol', Morris trajectories), the bootstrap of the analysis, and the root seed of each point,
``SeedSequence(seed, spawn_key=(POINT_KEY, i))`` for point ``i``. A point's numbers therefore
depend only on the sweep seed and its index, never on which worker runs it or when. With
*common random numbers* every point instead uses the sweep seed itself as its root, so
replicate ``k`` sees the same noise at every point (a paired design: differences between
points are then due to the parameters alone, with less noise, at the cost of conditioning all
points on one set of draws).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from SALib.sample import latin, morris, sobol
from SALib.util import scale_samples

from sim.core.errors import SimError
from sim.experiments.sweep.spec import BoundParameter, LogUniform, Triangular, TruncNormal, Uniform
from sim.model import rng

DEFAULT_SAMPLES = {"grid": 5, "lhs": 100, "sobol": 256, "morris": 10}
MAX_POINTS = 2_000_000


#: The spawn-key word of every point's root seed.
POINT_KEY = rng.name_key("sweep-point")


def generator(seed: int, purpose: str) -> np.random.Generator:
    """The generator of one purpose of a sweep (``design`` or ``analysis``), from
    :func:`sim.model.rng.named_stream` (spawn key ``crc32("sweep-design")`` or
    ``"sweep-analysis"``)."""
    name = {"design": "sweep-design", "analysis": "sweep-analysis"}[purpose]
    return rng.named_stream(seed, name)


def analysis_seed(seed: int) -> int:
    """A positive integer seed for SALib's bootstrap (SALib treats ``seed=0`` as no seed)."""
    return int(generator(seed, "analysis").integers(1, 2**31 - 1))


def point_seeds(seed: int, n: int, *, common: bool = False) -> np.ndarray:
    """Root seeds of points ``0 .. n-1`` as uint64 (see the module docstring)."""
    if common:
        return np.full(n, seed, dtype=np.uint64)
    return np.array(
        [
            np.random.SeedSequence(seed, spawn_key=(POINT_KEY, i)).generate_state(1, np.uint64)[0]
            for i in range(n)
        ],
        dtype=np.uint64,
    )


def problem(params: Sequence[BoundParameter]) -> dict[str, object]:
    """SALib's problem definition: names, bounds and distributions."""
    bounds: list[list[float]] = []
    dists: list[str] = []
    for p in params:
        d = p.dist
        if isinstance(d, Uniform):
            dists.append("unif")
            bounds.append([d.low, d.high])
        elif isinstance(d, LogUniform):
            dists.append("logunif")
            bounds.append([d.low, d.high])
        elif isinstance(d, Triangular):
            dists.append("triang")
            bounds.append([d.low, d.high, (d.mode - d.low) / (d.high - d.low)])
        elif isinstance(d, TruncNormal):
            dists.append("truncnorm")
            bounds.append([d.low, d.high, d.mean, d.sd])
        else:  # pragma: no cover - the schema admits no other kind
            raise TypeError(d)
    return {
        "num_vars": len(params),
        "names": [p.name for p in params],
        "bounds": bounds,
        "dists": dists,
    }


def n_points(method: str, samples: int, params: Sequence[BoundParameter]) -> int:
    """How many points a design has."""
    d = len(params)
    if method == "grid":
        return int(np.prod([p.levels or samples for p in params]))
    return {"lhs": samples, "sobol": samples * (d + 2), "morris": samples * (d + 1)}[method]


def sample(
    method: str,
    params: Sequence[BoundParameter],
    samples: int,
    seed: int,
    *,
    morris_levels: int = 4,
) -> np.ndarray:
    """The design matrix ``(points, parameters)`` in SALib's order (Sobol' and Morris rely on it).

    Raises:
        SimError: if the design would be too large to be a sensible sweep.
    """
    total = n_points(method, samples, params)
    if total > MAX_POINTS:
        raise SimError(
            f"the {method} design has {total:,} points (limit {MAX_POINTS:,}); "
            "lower samples or levels"
        )
    prob = problem(params)
    gen = generator(seed, "design")
    if method == "grid":
        levels = [p.levels or samples for p in params]
        idx = np.array(list(itertools.product(*[range(n) for n in levels])), dtype=np.int64)
        x = np.asarray(scale_samples(idx / (np.array(levels) - 1.0), prob))
        for j, p in enumerate(params):  # uniform levels exactly at the bounds
            if isinstance(p.dist, Uniform):
                x[:, j] = np.linspace(p.low, p.high, levels[j])[idx[:, j]]
        return x
    if method == "lhs":
        return np.asarray(latin.sample(prob, samples, seed=gen))
    if method == "sobol":
        return np.asarray(
            sobol.sample(prob, samples, calc_second_order=False, scramble=True, seed=gen)
        )
    if method == "morris":
        return np.asarray(morris.sample(prob, samples, num_levels=morris_levels, seed=gen))
    raise SimError(f"unknown method '{method}'")
