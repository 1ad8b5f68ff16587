"""The Mesa model and the ensemble engine: reproducibility, invariants, monotonicity."""

from __future__ import annotations

from dataclasses import replace

import mesa
import numpy as np
import pytest

from sim import engine, kernel
from sim.model import AlignmentModel
from sim.params import build
from sim.rng import NOISE, NOISE_CHANNELS, draw_block, noise_stream, replicate_sequence
from sim.scenario import load

from .conftest import FLAGSHIP, TINY


def test_alignment_stays_on_the_simplex_every_round():
    p = build(load(FLAGSHIP))
    traj = engine.simulate(p, np.arange(64))
    assert np.all(traj.alignment > 0)
    np.testing.assert_allclose(traj.alignment.sum(-1), 1.0, atol=1e-12)


def test_same_seed_same_output_other_seed_differs(tiny_params):
    a = engine.simulate(tiny_params, np.arange(8), seed=11)
    b = engine.simulate(tiny_params, np.arange(8), seed=11)
    c = engine.simulate(tiny_params, np.arange(8), seed=12)
    np.testing.assert_array_equal(a.alignment, b.alignment)
    assert np.abs(a.alignment - c.alignment).max() > 1e-6


def test_replicates_differ_within_an_ensemble(tiny_params):
    traj = engine.simulate(tiny_params, np.arange(4))
    assert np.abs(traj.alignment[0, -1] - traj.alignment[1, -1]).max() > 1e-6


def test_no_offers_no_noise_no_events_stays_at_anchor():
    sc = load(FLAGSHIP)
    quiet = [
        "dynamics.utility_noise_sd=0",
        "dynamics.delivery_noise_sd=0",
        "events=null",
    ]
    sets = list(quiet)
    for code, power in sc.powers.items():
        for name in power.instruments:
            sets.append(f"powers.{code}.instruments.{name}.delivery_rate=0")
    p = build(load(FLAGSHIP, sets))
    traj = engine.simulate(p, np.arange(3))
    np.testing.assert_allclose(
        traj.alignment, np.broadcast_to(p.anchor, traj.alignment.shape), atol=1e-12
    )


def test_events_null_removes_all_events():
    assert load(FLAGSHIP, ["events=null"]).events == {}


@pytest.mark.parametrize("factor", [1.5, 3.0])
def test_bigger_offer_never_lowers_the_powers_expected_share(factor):
    """Scaling Japan's pledges up raises (never lowers) its mean share in every state."""
    sc = load(FLAGSHIP)
    base = build(sc)
    idx = [i for i, name in enumerate(base.instruments) if name.startswith("JPN.")]
    assert idx, "the flagship scenario has Japanese instruments"
    amount = base.amount.copy()
    amount[:, idx] *= factor
    bigger = replace(base, amount=amount)
    reps = np.arange(200)
    a0 = engine.simulate(base, reps).alignment[..., base.powers.index("JPN")]
    a1 = engine.simulate(bigger, reps).alignment[..., base.powers.index("JPN")]
    # common random numbers: compare replicate by replicate, then on average
    assert np.all(a1.mean(0) >= a0.mean(0) - 1e-12)
    assert a1[:, -1].mean() > a0[:, -1].mean()


def test_mesa_model_equals_engine_replicate_by_replicate():
    p = build(load(FLAGSHIP))
    traj = engine.simulate(p, np.array([0, 5, 17]))
    for i, k in enumerate([0, 5, 17]):
        model = AlignmentModel(params=p, replicate=k)
        model.run_model()
        got = model.trajectories()
        for key in ("alignment", "debt", "delivered"):
            np.testing.assert_allclose(got[key], getattr(traj, key)[i], rtol=0, atol=1e-12)


def test_engine_is_independent_of_batch_split(tiny_params):
    whole = engine.run(tiny_params, 10, chunk=10).trajectories
    split = engine.run(tiny_params, 10, chunk=3).trajectories
    assert whole is not None and split is not None
    np.testing.assert_array_equal(whole.alignment, split.alignment)
    alone = engine.simulate(tiny_params, np.array([7]))
    np.testing.assert_array_equal(alone.alignment[0], whole.alignment[7])


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
    from sim import rng

    assert rng.fast_seeding_agrees()
    monkeypatch.setattr(rng, "fast_seeding_agrees", lambda: False)
    monkeypatch.setattr(rng, "pcg64_states", lambda *a: pytest.fail("fast path used"))
    block = rng.draw_block(5, np.array([3, 2**33]), 2, 2, 3)
    for i, k in enumerate([3, 2**33]):
        rows = noise_stream(5, k).standard_normal((2, 2, NOISE_CHANNELS, 3))
        np.testing.assert_array_equal(block[i], rows)


def test_round_gives_the_same_numbers_in_any_memory_layout():
    """The engine computes on replicate-fastest arrays; C-ordered copies give the same bits."""
    p = build(load(FLAGSHIP))
    z = draw_block(p.seed, np.arange(40), p.rounds, len(p.powers), len(p.states))
    fast = kernel.initial_state(p, (40,))
    plain = kernel.State(*(np.ascontiguousarray(x) for x in vars(fast).values()))
    assert not fast.alignment.flags.c_contiguous and plain.alignment.flags.c_contiguous
    for r in range(1, p.rounds + 1):
        fast = kernel.advance(p, fast, r, kernel.shocks(p, z[:, r - 1]))
        plain = kernel.advance(p, plain, r, kernel.shocks(p, np.ascontiguousarray(z[:, r - 1])))
    for key in ("alignment", "engagement", "new_debt", "delivered"):
        np.testing.assert_array_equal(getattr(fast, key), getattr(plain, key))


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


def test_mesa_batch_run_runs_the_model():
    rows = mesa.batch_run(
        AlignmentModel,
        parameters={"scenario": str(TINY), "replicate": [0, 1, 2]},
        iterations=1,
        max_steps=100,
        number_processes=1,
        display_progress=False,
    )
    assert len(rows) == 3
    p = build(load(TINY))
    for row in rows:
        # batch_run labels rows by index into the collected values; the model collects at
        # the end of every round, so the last index (rounds - 1) holds the final state
        assert row["Step"] == p.rounds - 1
        shares = [row[f"share_{c}"] for c in p.powers]
        assert abs(sum(shares) - 1.0) < 1e-12
        # batch_run's final values are the engine's final values for that replicate
        traj = engine.simulate(p, np.array([row["replicate"]]))
        assert row["AA:PX"] == pytest.approx(traj.alignment[0, -1, 0, 0], abs=1e-12)


def test_model_agents_are_mesa_agents_with_read_only_views(tiny_params):
    model = AlignmentModel(params=tiny_params, replicate=0)
    assert len(model.agents) == len(tiny_params.states) + len(tiny_params.powers)
    model.step()
    view = model.state_agents[0].alignment
    with pytest.raises(ValueError):
        view[0] = 0.5
    assert 0.0 <= model.state_agents[0].hedging <= 1.0
    np.testing.assert_allclose(sum(pw.regional_share for pw in model.power_agents), 1.0)


def test_initial_state_and_debt_at_round_zero(tiny_params):
    s0 = kernel.initial_state(tiny_params, (2,))
    np.testing.assert_array_equal(kernel.debt(tiny_params, s0, 0)[0], tiny_params.debt0)
