"""Outcomes: each measure worked by hand on made-up trajectories of the tiny region."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from sim.core.errors import ScenarioError
from sim.experiments.sweep.spec import Outcome
from sim.model import engine
from sim.model.engine import Trajectories
from sim.model.rng import named_stream
from sim.outputs import outcomes, terminal


def trajectories(p, final: np.ndarray) -> Trajectories:
    """Replicates that start even and end at ``final[k]`` (state, power) in the last round."""
    n, rounds = len(final), p.rounds + 1
    a = np.full((n, rounds, len(p.states), len(p.powers)), 1.0 / len(p.powers))
    a[:, -1] = final
    zeros = np.zeros_like(a)
    return Trajectories(np.arange(n), a, zeros, zeros)


@pytest.fixture
def case(tiny_params):
    p = tiny_params
    assert p.states == ["AA", "BB"] and p.powers == ["PX", "PY"]
    final = np.array(
        [
            [[0.8, 0.2], [0.4, 0.6]],
            [[0.6, 0.4], [0.2, 0.8]],
            [[0.5, 0.5], [1.0, 0.0]],
            [[0.9, 0.1], [0.3, 0.7]],
        ]
    )
    return p, trajectories(p, final), final


def value(p, traj, name: str, o: Outcome) -> float:
    (m,) = outcomes.resolve({name: o}, p, "test")
    return outcomes.evaluate([m], traj, p)[name]


def test_shares_of_a_state_and_of_the_region(case):
    p, traj, final = case
    w = p.region_w
    assert value(p, traj, "x", Outcome(quantity="share", power="PX", state="AA")) == pytest.approx(
        final[:, 0, 0].mean()
    )
    region = (final[:, :, 0] * w).sum(1)
    assert value(p, traj, "x", Outcome(quantity="share", power="PX")) == pytest.approx(
        region.mean()
    )
    assert value(
        p, traj, "x", Outcome(quantity="share", power="PX", stat="median")
    ) == pytest.approx(np.median(region))
    assert value(p, traj, "x", Outcome(quantity="share", power="PX", stat="sd")) == pytest.approx(
        region.std(ddof=1)
    )


def test_a_bloc_of_every_power_holds_everything(case):
    p, traj, _ = case
    assert value(p, traj, "x", Outcome(quantity="share", power=["PX", "PY"])) == pytest.approx(1.0)


def test_change_since_the_start(case):
    p, traj, final = case
    got = value(p, traj, "x", Outcome(quantity="share", power="PY", state="BB", change=True))
    assert got == pytest.approx((final[:, 1, 1] - 0.5).mean())


def test_hedging_index_is_one_when_even_and_zero_when_aligned(case):
    p, traj, _ = case
    start = value(p, traj, "x", Outcome(quantity="hedging", state="BB", date="start"))
    assert start == pytest.approx(1.0)
    # replicate 2 puts BB wholly with PX: its hedging index is 0
    (m,) = outcomes.resolve({"h": Outcome(quantity="hedging", state="BB")}, p, "test")
    assert outcomes.quantity(m, traj, p)[2] == pytest.approx(0.0)


def test_share_of_replicates_meeting_a_condition(case):
    p, traj, _ = case
    above = value(
        p,
        traj,
        "x",
        Outcome(quantity="share", power="PX", state="AA", stat="above", threshold=0.55),
    )
    assert above == pytest.approx(3 / 4)
    below = value(
        p,
        traj,
        "x",
        Outcome(quantity="share", power="PX", state="AA", stat="below", threshold=0.55),
    )
    assert below == pytest.approx(1 / 4)


def test_bands_are_the_replicate_percentiles(case):
    p, traj, final = case
    (m,) = outcomes.resolve({"x": Outcome(quantity="share", power="PX", state="AA")}, p, "test")
    row = outcomes.evaluate([m], traj, p)
    assert row["x.p5"] == pytest.approx(np.quantile(final[:, 0, 0], 0.05))
    assert row["x.p95"] == pytest.approx(np.quantile(final[:, 0, 0], 0.95))


def test_dates_resolve_to_the_last_round_boundary_on_or_before(tiny_params):
    dates = tiny_params.dates  # quarters from 2026-01-01 to 2028-01-01
    assert outcomes.round_at("end", dates) == len(dates) - 1
    assert outcomes.round_at(date(2027, 12, 31), dates) == len(dates) - 1  # end of 2027
    assert outcomes.round_at(date(2026, 5, 15), dates) == 1  # 2026-04-01
    assert outcomes.round_at(date(2026, 1, 1), dates) == 0
    with pytest.raises(ValueError, match="before the scenario starts"):
        outcomes.round_at(date(2025, 1, 1), dates)


def test_unknown_codes_are_located_errors(tiny_params):
    with pytest.raises(ScenarioError, match=r"outcomes\.bloc\.power: unknown power 'PZ'"):
        outcomes.resolve(
            {"bloc": Outcome(quantity="share", power=["PX", "PZ"])}, tiny_params, "f.yaml"
        )
    with pytest.raises(ScenarioError, match=r"outcomes\.s\.state: unknown state 'CC'"):
        outcomes.resolve({"s": Outcome(quantity="hedging", state="CC")}, tiny_params, "f.yaml")


def test_defaults_answer_how_much_and_where(tiny_params):
    names = list(outcomes.default_outcomes(tiny_params.states, tiny_params.powers))
    assert names == [
        "PX_region",
        "PX_gain",
        "PY_region",
        "PY_gain",
        "PX_AA",
        "PX_BB",
        "PY_AA",
        "PY_BB",
        "hedging",
    ]


# --------------------------------------------------------------------------- shares and blocs


def test_bloc_share_is_the_sum_of_its_powers_shares(case):
    p, _, final = case
    w = p.region_w
    both = outcomes.bloc_share(final, [0, 1], w)
    np.testing.assert_allclose(both, 1.0)  # every power: the whole region
    px = outcomes.bloc_share(final, [0], w)
    np.testing.assert_allclose(px, (final[..., 0] * w).sum(-1))
    assert outcomes.bloc_share(final, [1], w, state=1)[2] == 0.0


def test_bloc_statistics_follow_the_figure_whether_or_not_trajectories_are_kept(case):
    """One definition: the headline's bloc numbers are the figure's middle line."""
    p, traj, final = case
    s = engine.exact_summary(traj, p)
    blocs = {"X": ["PX"]}
    kept = outcomes.bloc_series(s, p, blocs, traj)
    assert list(kept) == ["X", "other"]
    np.testing.assert_allclose(kept["X"][1, -1],
                               np.median(outcomes.bloc_share(final, [0], p.region_w)))
    head = outcomes.run_headline(s, p, blocs, traj)
    (row,) = head["blocs"]
    assert row["statistic"] == "median" and row["end"] == kept["X"][1, -1]
    summary_only = outcomes.bloc_series(s, p, blocs)
    np.testing.assert_allclose(summary_only["X"][1, -1],
                               outcomes.bloc_share(final, [0], p.region_w).mean())
    assert outcomes.run_headline(s, p, blocs)["blocs"][0]["statistic"] == "mean"


# --------------------------------------------------------------------------- paired differences


def test_sign_share_counts_replicates_with_the_mean_sign():
    d = np.array([[0.1, -0.2, 0.0], [0.3, 0.1, 0.0], [-0.1, -0.1, 0.0], [0.2, -0.3, 0.0]])
    holds = outcomes.sign_share(d, d.mean(0))
    assert holds[0] == 0.75 and holds[1] == 0.75


def test_an_exactly_zero_difference_has_no_sign_share():
    """No difference at all is 'no change', not 'the same sign in 100% of replicates'."""
    d = np.zeros((5, 2))
    d[:, 1] = [0.1, -0.1, 0.1, -0.1, 0.0]  # a mean of exactly zero with nonzero differences
    holds = outcomes.sign_share(d, d.mean(0))
    assert np.isnan(holds).all()
    np.testing.assert_array_equal(outcomes.no_change(d), [True, False])


def test_a_scenario_against_itself_reads_as_no_change(tiny_params):
    p = tiny_params
    traj = engine.simulate(p, np.arange(6))
    pr = outcomes.paired(traj, traj, p, p)
    table = outcomes.differences_table(pr, p)
    assert table["sign_holds"].isna().all()
    assert table["no_difference"].all()
    head = outcomes.compare_headline(outcomes.region_differences_table(pr, p), table)
    assert all(r["sign_holds"] is None and r["no_difference"] for r in head["powers"])
    assert head["losers"] == [] and all(r["loses"] is None for r in head["states"])
    text = terminal.answer(head, a="a", b="a", replicates=6, names=terminal.Names())
    assert "100%" not in text and "same sign in" not in text
    assert "no difference in any replicate" in text and "none differ" in text
    assert "No power's share of the region falls." in text


def test_a_mean_of_exactly_zero_with_differences_claims_no_sign(tiny_params):
    """Differences that cancel to a mean of exactly zero: no sign share, and not 'none differ'."""
    p = tiny_params
    d = np.zeros((4, p.rounds + 1, len(p.powers)))
    d[:, -1, 0] = [0.01, -0.01, 0.02, -0.02]
    final = np.zeros((4, len(p.states), len(p.powers)))
    pr = outcomes.Paired(final=final, final_a=final, final_b=final, region=d)
    head = outcomes.compare_headline(outcomes.region_differences_table(pr, p),
                                     outcomes.differences_table(pr, p))
    px = next(r for r in head["powers"] if r["code"] == "PX")
    assert px["sign_holds"] is None and not px["no_difference"]
    text = terminal.answer(head, a="a", b="b", replicates=4, names=terminal.Names())
    row = next(line for line in text.splitlines() if line.startswith("PX"))
    assert "%" not in row and "none differ" not in row


def test_the_answer_names_the_mover_who_loses_and_what_intervals_cover(tiny_params):
    """B moves PX up and PY down: the answer leads with PX, names PY as the loser, in points."""
    p = tiny_params
    gen = named_stream(5, "test-data")
    final = np.zeros((50, len(p.states), len(p.powers)))
    final[..., 0] = 0.03 + 0.005 * gen.standard_normal((50, len(p.states)))
    final[..., 1] = -final[..., 0]
    region = np.zeros((50, p.rounds + 1, len(p.powers)))
    region[:, -1] = final.mean(1)
    pr = outcomes.Paired(final=final, final_a=np.zeros_like(final), final_b=final, region=region)
    iv = outcomes.interval(parameters=True)
    head = outcomes.compare_headline(outcomes.region_differences_table(pr, p),
                                     outcomes.differences_table(pr, p), iv)
    assert head["focus"] == "PX" and head["losers"] == ["PY"]
    assert head["interval"]["covers"] == "noise and parameters"
    assert [r["loses"]["power"] for r in head["states"]] == ["PY", "PY"]
    names = terminal.Names({"PX": "Power X", "PY": "Power Y"}, {"AA": "State A", "BB": "State B"})
    text = terminal.answer(head, a="a", b="b", replicates=50, names=names, width=120)
    assert "Power X's share of the region's alignment: +3.0 pp (median of the paired" in text
    assert "90% interval +2." in text and "Who gains: Power X +3.0 pp" in text
    assert "Who loses: Power Y -3.0 pp" in text
    assert "90% interval (noise and parameters)" in text
    assert "State A" in text and "Power Y -3." in text


def test_intervals_say_what_they_cover_in_one_place():
    assert outcomes.interval().label == "90% interval (noise only)"
    assert outcomes.interval().band == "5-95% range (noise only)"
    assert outcomes.interval(parameters=True).covers == "noise and parameters"
    iv = outcomes.interval(parameters=True)
    assert outcomes.Interval.from_json(iv.to_json()) == iv
    assert outcomes.Interval.from_json([0.05, 0.95]) == outcomes.interval()  # older folders


def test_points_and_percent():
    assert outcomes.points(0.02) == "+2.0" and outcomes.points(-0.0004) == "0.0"
    assert outcomes.points(-0.0123, 2) == "-1.23" and outcomes.percent(0.247) == "24.7%"
