"""sim.model.rng: named streams per replicate, block draws equal to each stream, codes not order."""

from __future__ import annotations

import numpy as np
import pytest

from sim.model import engine
from sim.model.params import build
from sim.model.rng import NOISE, NOISE_CHANNELS, draw_block, noise_stream, replicate_sequence
from sim.scenario.schema import load

from .conftest import TINY


def test_streams_are_spawned_grandchildren_of_the_root_seed():
    child = np.random.SeedSequence(42).spawn(4)[3]
    grandchild = child.spawn(2)[NOISE]
    assert (
        grandchild.generate_state(4).tolist()
        == replicate_sequence(42, 3, NOISE).generate_state(4).tolist()
    )
    a = noise_stream(42, 3).standard_normal(5)
    np.testing.assert_array_equal(a, noise_stream(42, 3).standard_normal(5))
    assert not np.allclose(a, noise_stream(42, 4).standard_normal(5))


def test_round_by_round_draws_equal_one_block_draw():
    block = draw_block(1, np.array([4]), 6, 3, 5)[0]
    g = noise_stream(1, 4)
    rows = np.stack([g.standard_normal((3, NOISE_CHANNELS, 5)) for _ in range(6)])
    np.testing.assert_array_equal(block, rows)


@pytest.mark.parametrize("seed", [0, 1, 2**32, 2**130 + 7])
def test_block_draws_equal_each_replicates_own_stream(seed):
    """The engine's fast seeding gives each replicate exactly its SeedSequence stream."""
    reps = np.array([0, 1, 63, 64, 65, 1000, 2**32 - 1])  # across a draw group's edge
    block = draw_block(seed, reps, 3, 2, 4)
    for i, k in enumerate(reps.tolist()):
        rows = noise_stream(seed, k).standard_normal((3, 2, NOISE_CHANNELS, 4))
        np.testing.assert_array_equal(block[i], rows)


def test_block_draws_fall_back_to_numpys_own_seeding(monkeypatch):
    """If numpy's seeding ever differs from the fast hash, blocks still equal the streams."""
    from sim.model import rng

    assert rng.fast_seeding_agrees()
    monkeypatch.setattr(rng, "fast_seeding_agrees", lambda: False)
    monkeypatch.setattr(rng, "pcg64_states", lambda *a: pytest.fail("fast path used"))
    block = rng.draw_block(5, np.array([3, 2**33]), 2, 2, 3)
    for i, k in enumerate([3, 2**33]):
        rows = noise_stream(5, k).standard_normal((2, 2, NOISE_CHANNELS, 3))
        np.testing.assert_array_equal(block[i], rows)


def test_noise_follows_codes_not_file_order(tmp_path):
    """Listing powers and states in another order gives each code the same draws."""
    import yaml

    from .conftest import CASES

    raw = yaml.safe_load(TINY.read_text())
    raw["powers"] = dict(reversed(list(raw["powers"].items())))
    raw["states"] = dict(reversed(list(raw["states"].items())))
    swapped = CASES / "swapped_tmp.yaml"
    try:
        swapped.write_text(yaml.safe_dump(raw, sort_keys=False))
        p1, p2 = build(load(TINY)), build(load(swapped))
    finally:
        swapped.unlink()
    assert p2.powers == ["PY", "PX"] and p2.states == ["BB", "AA"]
    t1 = engine.simulate(p1, np.arange(3)).alignment
    t2 = engine.simulate(p2, np.arange(3)).alignment
    np.testing.assert_allclose(t2[..., ::-1, ::-1], t1, atol=1e-12)
