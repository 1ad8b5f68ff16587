"""sim.model.engine: many replicates at once, the same numbers however they are split."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sim.model import engine
from sim.model.params import build
from sim.scenario.schema import load

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


def test_engine_is_independent_of_batch_split(tiny_params):
    whole = engine.run(tiny_params, 10, chunk=10).trajectories
    split = engine.run(tiny_params, 10, chunk=3).trajectories
    assert whole is not None and split is not None
    np.testing.assert_array_equal(whole.alignment, split.alignment)
    alone = engine.simulate(tiny_params, np.array([7]))
    np.testing.assert_array_equal(alone.alignment[0], whole.alignment[7])


def test_streaming_summary_matches_exact_summary():
    from sim.model import engine

    p = build(load(TINY))
    exact = engine.run(p, 400, keep=True).summary
    stream = engine.run(p, 400, keep=False, chunk=64).summary
    np.testing.assert_allclose(stream.align_mean, exact.align_mean, atol=1e-12)
    np.testing.assert_allclose(stream.region_mean, exact.region_mean, atol=1e-12)
    # histogram quantiles: within a couple of bins of the exact ones
    np.testing.assert_allclose(stream.align_q, exact.align_q, atol=3 / engine.HIST_BINS + 2e-3)


def _dense_quantiles(counts: np.ndarray, bins: int, qs: tuple[float, ...]) -> np.ndarray:
    """Histogram quantiles by a pass over every bin of every cell (the reference)."""
    c = counts.reshape(-1, bins)
    cum = c.cumsum(axis=1)
    total = cum[:, -1]
    out = np.empty((len(qs), len(c)))
    for i, q in enumerate(qs):
        target = q * total
        b = np.minimum((cum < target[:, None]).sum(axis=1), bins - 1)
        before = np.where(b > 0, cum[np.arange(len(c)), np.maximum(b - 1, 0)], 0)
        inside = c[np.arange(len(c)), b]
        frac = np.divide(target - before, inside, out=np.zeros(len(c)), where=inside > 0)
        out[i] = (b + frac) / bins
    return out


@pytest.mark.parametrize("n", [0, 1, 3, 10, 50, 5000])  # 10: sparse, then dense
def test_histogram_quantiles_equal_a_pass_over_every_bin(n: int):
    rng = np.random.default_rng(n)
    bins, shape = 64, (7, 3)
    h = engine._Hist(shape, bins=bins)
    x = rng.beta(0.5, 2.0, size=(n, *shape))
    x[:, 0] = 0.0  # a cell all at the edge, ties
    x[:, 1, 0] = 1.0
    x[: n // 2, 2] = np.round(x[: n // 2, 2], 1)  # heavy ties
    if n:
        h.add(x[: n // 2 + 1])
        h.add(x[n // 2 + 1 :])
    qs = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)
    got = h.quantiles(qs)
    assert got.shape == (len(qs), *shape)
    assert np.array_equal(got.reshape(len(qs), -1), _dense_quantiles(h.counts, bins, qs))
    if n >= 50:  # and they are the samples' quantiles, to a bin
        assert np.abs(got[3] - np.quantile(x, 0.5, axis=0)).max() <= 1.0 / bins
