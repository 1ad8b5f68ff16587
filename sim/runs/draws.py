"""Root seeds of a posterior's draws: one block of replicates per draw, the same for every
scenario run with the same root (the executors and the posterior's ensembles share them)."""

from __future__ import annotations

import numpy as np


def draw_seeds(root: int, n: int) -> np.ndarray:
    """Root seed of each draw's block of replicates: ``SeedSequence(root, spawn_key=(crc32(
    "posterior-draw"), d))``. Two scenarios run with the same root share them, so their
    replicates are paired within a draw."""
    from sim.model.rng import name_key

    key = name_key("posterior-draw")
    return np.array(
        [np.random.SeedSequence(root, spawn_key=(key, d)).generate_state(1, np.uint64)[0]
         for d in range(n)],
        dtype=np.uint64,
    )
