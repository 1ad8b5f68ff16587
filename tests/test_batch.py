"""Many parameter sets in one engine call: the same numbers as one scenario at a time."""

from __future__ import annotations

import numpy as np
import pytest

from sim import rng
from sim.rng import NOISE_CHANNELS, draw_block, noise_stream

# one- and two-word seeds (sweep points' seeds are 64-bit), a repeated seed, a huge one
SEEDS = np.array([0, 20251220, 2**32, 2**63 + 5, 2**64 - 1, 20251220], dtype=np.uint64)
REPS = np.array([0, 64, 3, 2**32 - 1, 1, 5])


def test_block_with_a_seed_per_replicate_equals_each_pairs_own_stream():
    block = draw_block(SEEDS, REPS, 3, 2, 4)
    for i, (s, k) in enumerate(zip(SEEDS.tolist(), REPS.tolist(), strict=True)):
        rows = noise_stream(s, k).standard_normal((3, 2, NOISE_CHANNELS, 4))
        np.testing.assert_array_equal(block[i], rows)


def test_block_with_a_seed_per_replicate_falls_back_to_numpys_own_seeding(monkeypatch):
    fast = draw_block(SEEDS, REPS, 2, 2, 3)
    monkeypatch.setattr(rng, "fast_seeding_agrees", lambda: False)
    monkeypatch.setattr(rng, "pcg64_states", lambda *a: pytest.fail("fast path used"))
    np.testing.assert_array_equal(rng.draw_block(SEEDS, REPS, 2, 2, 3), fast)


def test_seeds_must_match_the_replicates():
    with pytest.raises(ValueError, match="2 seeds for 3 replicates"):
        rng.pcg64_states(np.array([1, 2], dtype=np.uint64), np.arange(3))
