"""sim policy: the policy file, the search, the announced package as the reference row."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.calibration.posterior import SHIPPED
from sim.core.errors import ScenarioError
from sim.experiments import policy
from sim.experiments.compare import CompareRequest, compute

from .conftest import ROOT, run_cli

SCENARIOS = ROOT / "scenarios"
SHIPPED_FILE = SCENARIOS / "policies" / "japan_budget.yaml"


def small_file(tmp_path: Path, **changes: object) -> Path:
    """The shipped policy file, with absolute scenario paths and small settings."""
    raw = yaml.safe_load(SHIPPED_FILE.read_text(encoding="utf-8"))
    raw["scenario"] = str(SCENARIOS / "tokyo_initiative.yaml")
    raw["counterfactual"] = str(SCENARIOS / "no_japan.yaml")
    raw["search"] = {"population": 6, "generations": 2, "draws": 4, "replicates": 2,
                     "seed": 7}
    raw.update(changes)
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


#: A rival's coercion as a policy file declares it (tests change one field at a time).
COERCE = {"by": "RUS", "instrument": "transit", "states": ["KGZ", "TJK"], "factor": [0.5, 0.5],
          "date": "2027-01-01", "probability": 1.0}


# --------------------------------------------------------------------------- the search


def toy_fix(budget: float = 1.0, whole: tuple[bool, ...] = (False, False, False),
            high: float = 1.0) -> policy.BudgetRepair:
    n = len(whole)
    bounds = np.array([[0.0, high]] * n)
    money = ~np.array(whole)
    return policy.BudgetRepair(bounds, np.array(whole), money, np.ones(n) * money, budget)


def test_only_the_lever_that_acts_is_bought_with_the_whole_budget():
    """Three money levers, one budget; only the first has an effect: the best package puts
    the whole budget there."""
    fix = toy_fix()

    def evaluate(state: policy.State, x: np.ndarray) -> np.ndarray:
        return np.stack([-x[:, 0], x.sum(axis=1)], axis=1)  # effect (max), cost (min)

    state = policy.search(evaluate, n_obj=2, fix=fix, reference=np.array([0.2, 0.4, 0.4]),
                          population=16, generations=25, seed=3)
    f = state.algorithm.opt.get("F")
    x = state.algorithm.opt.get("X")
    best = x[np.argmin(f[:, 0])]
    assert best[0] == pytest.approx(1.0, abs=0.02)
    assert best[1:].sum() == pytest.approx(0.0, abs=0.03)
    assert (x.sum(axis=1) <= 1.0 + 1e-9).all()  # every package within the budget


def test_a_whole_number_lever_finds_its_best_value():
    fix = toy_fix(budget=10.0, whole=(True, False, False), high=4.0)

    def evaluate(state: policy.State, x: np.ndarray) -> np.ndarray:
        return ((x[:, 0] - 3.0) ** 2 + 0.01 * x[:, 1])[:, None]

    state = policy.search(evaluate, n_obj=1, fix=fix, reference=np.zeros(3), population=8,
                          generations=10, seed=1)
    x = state.algorithm.opt.get("X")[0]
    assert x[0] == 3.0


def test_repair_scales_money_to_the_budget_and_rounds_whole_levers():
    bounds = np.array([[0.0, 10.0], [1.0, 5.0], [0.0, 4.0]])
    x = policy.repair(np.array([[8.0, 5.0, 2.6]]), bounds, np.array([False, False, True]),
                      np.array([True, True, False]), np.array([1.0, 1.0, 0.0]), 7.0)
    assert x[0, 2] == 3.0
    assert x[0, :2].sum() == pytest.approx(7.0)
    assert x[0, 1] >= 1.0


def test_an_interrupted_search_continues_to_the_same_result(tmp_path: Path):
    fix = toy_fix()
    calls = {"n": 0}

    def evaluate(state: policy.State, x: np.ndarray) -> np.ndarray:
        calls["n"] += 1
        if stop_at is not None and calls["n"] == stop_at:
            raise KeyboardInterrupt
        return np.stack([-x[:, 0] + 0.5 * x[:, 1] ** 2, x.sum(axis=1)], axis=1)

    settings = dict(n_obj=2, fix=fix, reference=np.array([0.2, 0.4, 0.4]), population=8,
                    generations=6, seed=5, digest="d")
    stop_at = None
    whole = policy.search(evaluate, checkpoint=tmp_path / "a.pkl", **settings)
    calls["n"], stop_at = 0, 4
    with pytest.raises(KeyboardInterrupt):
        policy.search(evaluate, checkpoint=tmp_path / "b.pkl", **settings)
    stop_at = None
    resumed = policy.search(evaluate, checkpoint=tmp_path / "b.pkl", **settings)
    assert resumed.generation == whole.generation == 6
    np.testing.assert_array_equal(resumed.algorithm.opt.get("X"), whole.algorithm.opt.get("X"))


# --------------------------------------------------------------------------- the problem


def test_the_announced_package_is_the_flagship_paired_effect_on_the_same_draws(tmp_path: Path):
    """With no declared uncertainties, the reference row's replicates are the flagship
    comparison's over the same posterior draws, number for number."""
    path = small_file(tmp_path, uncertainties={})
    problem = policy.bind(policy.PolicyRequest(path, draws=4, replicates=3))
    ev = problem.evaluate(problem.reference[None])
    c = compute(CompareRequest(SCENARIOS / "no_japan.yaml", SCENARIOS / "tokyo_initiative.yaml",
                               posterior=SHIPPED, draws=4, replicates=3, plots=False))
    at = problem.at
    j = c.params_a.powers.index("JPN")
    np.testing.assert_allclose(ev.power.reshape(-1), c.paired.region[:, at, j], rtol=0,
                               atol=1e-12)
    jpn = next(p for p in c.headline["powers"] if p["code"] == "JPN")
    m = policy.measures(ev)
    assert m["effect"][0] == pytest.approx(jpn["p50"], abs=1e-12)
    assert m["effect_p5"][0] == pytest.approx(jpn["p5"], abs=1e-12)
    assert problem.cost(problem.reference)[0] == pytest.approx(problem.budget)


def test_the_front_dominates_or_equals_the_announced_package(tmp_path: Path):
    path = small_file(tmp_path)
    out = policy.run_policy(policy.PolicyRequest(path, out=tmp_path / "out", plots=True))
    table = pd.read_csv(out.folder / "pareto.csv")
    ref = table[table["reference"]].iloc[0]
    front = table[~table["reference"]]
    assert len(front) == out.front >= 1
    covers = ((front["effect_pp"] >= ref["effect_pp"] - 1e-9)
              & (front["robust_pp"] >= ref["robust_pp"] - 1e-9)
              & (front["cost_usd_bn"] <= ref["cost_usd_bn"] + 1e-9))
    assert covers.any()
    assert out.sentence.startswith("For the same budget")
    for name in ("manifest.json", "report.html", "report.md", "evaluations.csv", "levers.csv",
                 "about.txt", "plots/pareto.png", "plots/parallel.png"):
        assert (out.folder / name).is_file(), name
    page = (out.folder / "report.html").read_text(encoding="utf-8")
    assert page.index(html.escape(out.sentence)) < page.index('id="headline"')
    # the same command again continues the finished search: the same front
    again = policy.run_policy(policy.PolicyRequest(path, out=tmp_path / "out", plots=False))
    assert again.folder == out.folder
    pd.testing.assert_frame_equal(pd.read_csv(again.folder / "pareto.csv"), table)


@pytest.mark.parametrize(
    ("change", "expect"),
    [
        ({"levers": {"x": {"kind": "amont", "instrument": "oda_grants", "range": [0, 1]}}},
         "levers.x.kind"),
        ({"levers": {"x": {"kind": "amount", "range": [0, 1]}}},
         "levers.x.instrument: a lever of kind 'amount' needs one"),
        ({"levers": {"x": {"kind": "amount", "instrument": "nope", "range": [0, 1]}}},
         "levers.x.instrument: 'nope' is not an instrument of JPN"),
        ({"objectives": ["effect", "gain"]}, "objectives.1"),
        ({"budjet": 3}, "unknown key; did you mean 'budget'?"),
        ({"uncertainties": {"u": {"path": "powers.RUS.capacity_trend", "range": [0, 1]}}},
         "uncertainties.u.path: 'powers.RUS.capacity_trend' is not a numeric value"),
        ({"levers": {"x": {"kind": "state", "state": "KAZ", "range": [2, 1]}}},
         "levers.x.range: low (2) must be below high (1)"),
        ({"levers": {"x": {"kind": "amount", "instrument": "oda_grants", "range": [-1, 2]}}},
         "levers.x.range: -1 is outside what powers.JPN.instruments.oda_grants.pledged_usd_bn"),
        ({"uncertainties": {"u": {"path": "powers.CHN.reactivity", "range": [-1, 2]}}},
         "uncertainties.u.range: -1 is outside what powers.CHN.reactivity accepts"),
        ({"coercion": {"c": {**COERCE, "factor": [0.9, 1.2]}}},
         "coercion.c.factor: expected 0 <= low <= high <= 1 (a cut), found [0.9, 1.2]"),
        ({"coercion": {"c": {**COERCE, "favoured": 2}}},
         "coercion.c.states: give exactly one of 'states: [codes]' or 'favoured: n'"),
        ({"coercion": {"c": {**COERCE, "by": "JPN"}}},
         "coercion.c.by: 'JPN' is not a rival power of JPN"),
        ({"coercion": {"c": {**COERCE, "states": ["KGZ", "XYZ"]}}},
         "coercion.c.states: 'XYZ' is not a state of"),
        ({"coercion": {"c": {**COERCE, "probability": 1.5}}}, "coercion.c.probability"),
        ({"coercion": {"c": {**COERCE, "instrument": "gas"}}}, "coercion.c.instrument"),
        ({"coercion": {"c": {**COERCE, "date": "2040-01-01"}}},
         "coercion.c.date: 2040-01-01 is outside"),
        ({"coercion": {"c": {**COERCE, "source": "no_such_fact"}}},
         "coercion.c.source: 'no_such_fact' is not in the registry"),
    ],
)
def test_a_malformed_policy_file_is_refused_in_one_line(tmp_path: Path, change: dict[str, object],
                                                         expect: str):
    path = small_file(tmp_path, **change)
    with pytest.raises(ScenarioError) as err:
        policy.bind(policy.PolicyRequest(path))
    assert str(err.value).startswith(str(path)) and expect in str(err.value), str(err.value)


def test_the_command_line_refuses_a_bad_file_in_one_line_with_status_2(tmp_path: Path):
    path = small_file(tmp_path, levers={"x": {"kind": "amount", "instrument": "oda_grants"}})
    proc = run_cli("policy", str(path), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert lines[0] == f"error: {path}: levers.x.range: required field is missing"
    assert not (tmp_path / "out").exists()


def test_a_smaller_budget_keeps_every_front_package_within_it(tmp_path: Path):
    path = small_file(tmp_path)
    out = policy.run_policy(policy.PolicyRequest(path, budget=8.0, out=tmp_path / "out",
                                                 plots=False))
    table = pd.read_csv(out.folder / "pareto.csv")
    front = table[~table["reference"]]
    assert (front["cost_usd_bn"] <= 8.0 + 1e-9).all()
    ref = table[table["reference"]].iloc[0]
    assert ref["cost_usd_bn"] > 8.0
    assert out.sentence.startswith("For a budget of $8.0bn (the announced package costs $21.4bn)")
    assert "lever summits" in (out.folder / "report.md").read_text(encoding="utf-8")


def test_regret_as_an_objective_keeps_the_least_regretted_package(tmp_path: Path):
    path = small_file(tmp_path, objectives=["effect", "regret"])
    out = policy.run_policy(policy.PolicyRequest(path, out=tmp_path / "out", plots=False))
    table = pd.read_csv(out.folder / "pareto.csv")
    every = pd.read_csv(out.folder / "evaluations.csv")
    front = table[~table["reference"]]
    least = every[every["within_budget"]]["regret_pp"].min()
    assert (every["regret_pp"] >= -1e-9).all()
    assert front["regret_pp"].min() == pytest.approx(least)


def test_with_one_lever_that_acts_the_model_spends_the_budget_on_it(tmp_path: Path):
    """Grants alone, $1bn to spend: in the model more grants (a gift, no debt) gain more, so the
    best package found is the whole budget in grants, and the best package's effect grows
    from the lever's lower bound to it."""
    path = small_file(tmp_path, levers={"grants": {"kind": "amount", "instrument": "oda_grants",
                                                   "range": [0, 3]}},
                      budget={"usd_bn": 1.0}, uncertainties={}, objectives=["effect"])
    out = policy.run_policy(policy.PolicyRequest(path, out=tmp_path / "out", plots=False))
    table = pd.read_csv(out.folder / "pareto.csv")
    best = table[~table["reference"]].iloc[0]
    assert best["grants"] == pytest.approx(1.0, abs=1e-9)
    levers = pd.read_csv(out.folder / "levers.csv")
    row = levers.iloc[0]
    assert row["effect_at_high_pp"] == pytest.approx(best["effect_pp"])  # repaired to $1bn
    assert row["effect_at_low_pp"] < best["effect_pp"]


def test_an_uncertainty_carries_its_prior(tmp_path: Path):
    """A triangular prior with its mode at the low end: the points lie within its bounds, one
    per draw, with their mean where the prior's is ((low + mode + high) / 3)."""
    spec = policy.read(small_file(tmp_path))
    tri = policy.Uncertainty(path="powers.CHN.reactivity",
                             distribution={"kind": "triangular", "low": 0, "mode": 0, "high": 2})
    flat = spec.uncertainties["russia_trend"]
    x = policy.prior_points([flat, tri], 400, seed=1)
    assert x.shape == (400, 2)
    assert (x[:, 1] >= 0).all() and (x[:, 1] <= 2).all()
    assert x[:, 1].mean() == pytest.approx(2 / 3, abs=0.02)
    assert x[:, 0].mean() == pytest.approx((flat.low + flat.high) / 2, abs=0.001)
    assert tri.describe() == "triangular on 0 to 2, mode 0"


# --------------------------------------------------------------------------- coercion


def coerced_problem(tmp_path: Path, **entry: object) -> policy.Problem:
    path = small_file(tmp_path, coercion={"c": {**COERCE, **entry}})
    return policy.bind(policy.PolicyRequest(path, draws=6))


def test_a_transit_cut_lowers_the_packages_effect_on_the_same_random_numbers(tmp_path: Path):
    """Russia cutting the trade it carries between Japan and the states hit: Japan's effect
    falls in every draw against no coercion on the same draws and streams; the states' trade
    with Russia is untouched, so Russia loses less to the package."""
    problem = coerced_problem(tmp_path)
    x = problem.reference[None]
    hit, free = problem.evaluate(x), problem.evaluate(x, coercion="never")
    assert (hit.power.mean(axis=2) < free.power.mean(axis=2)).all()
    assert hit.russia.mean() > free.russia.mean()
    np.testing.assert_array_equal(hit.power, problem.evaluate(x, coercion="always").power)


def test_a_cut_in_the_rivals_own_ties_costs_the_rival_in_the_model(tmp_path: Path):
    """An embargo or a remittance cut on the rival's own ties lowers the rival's pull: in the
    model it takes from Russia's share and adds to the package's effect (no deterrence)."""
    for instrument in ("trade", "remittances"):
        problem = coerced_problem(tmp_path, instrument=instrument)
        x = problem.reference[None]
        hit, free = problem.evaluate(x), problem.evaluate(x, coercion="never")
        assert hit.russia.mean() < free.russia.mean(), instrument
        assert hit.power.mean() > free.power.mean(), instrument


def test_the_favoured_states_follow_the_package(tmp_path: Path):
    """``favoured``: the states the package gives most money for the size of their economy;
    moving the weights moves the coercion."""
    problem = coerced_problem(tmp_path, states=None, favoured=1)
    x = np.vstack([problem.reference, problem.reference])
    names = [n for n, _ in problem.levers]
    x[1, names.index("TJK")] = 0.25
    x[1, names.index("KGZ")] = 0.25
    x[1, names.index("TKM")] = 3.0
    money = problem.favoured(x)
    states = list(problem.scenario.states)
    assert states[int(np.argmax(money[0]))] == "TJK"
    assert states[int(np.argmax(money[1]))] == "TKM"
    block = problem._coercion_block(x)  # (packages x draws, states): 1 off the state hit
    d = problem.draws
    assert (block[:d, states.index("TJK")] == 0.5).all()
    assert (block[:d, states.index("TKM")] == 1.0).all()
    assert (block[d:, states.index("TKM")] == 0.5).all()


def test_each_draw_coerces_the_same_way_for_every_package_and_probability():
    """The draws of a coercion are a seeded stream: the factor drawn does not move with the
    probability, and the draws coerced at a lower probability are coerced at a higher one."""
    low = policy.Coercion.model_validate({**COERCE, "factor": [0.6, 0.9], "probability": 0.3})
    high = low.model_copy(update={"probability": 0.6})
    a_low, f_low = policy.coercion_points([low], 200, 11)
    a_high, f_high = policy.coercion_points([high], 200, 11)
    np.testing.assert_array_equal(f_low, f_high)
    assert ((a_low != 1.0) <= (a_high != 1.0)).all()
    assert 0.2 < (a_low != 1.0).mean() < 0.4
    assert ((f_low >= 0.6) & (f_low <= 0.9)).all()


def test_a_coercion_of_probability_zero_changes_nothing(tmp_path: Path):
    """With probability 0 the search runs exactly as without the entry."""
    plain = policy.run_policy(policy.PolicyRequest(small_file(tmp_path, coercion={}),
                                                   out=tmp_path / "a",
                                                   plots=False))
    (tmp_path / "b").mkdir()
    path = small_file(tmp_path / "b", coercion={"c": {**COERCE, "probability": 0.0}})
    zero = policy.run_policy(policy.PolicyRequest(path, out=tmp_path / "b" / "out",
                                                  plots=False))
    for name in ("evaluations.csv", "pareto.csv"):
        a = pd.read_csv(plain.folder / name)
        b = pd.read_csv(zero.folder / name)
        pd.testing.assert_frame_equal(a, b[a.columns], check_exact=True)
    table = pd.read_csv(zero.folder / "pareto.csv")
    assert "effect_if_coerced_pp" in table
    assert zero.sentence.startswith(plain.sentence[:-1] + "; if Russia coerces")
