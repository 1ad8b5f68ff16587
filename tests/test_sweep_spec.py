"""Sweep definitions: bad input is one located line, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.core.errors import ScenarioError, SimError
from sim.experiments.sweep import SweepRequest, run_sweep
from sim.experiments.sweep.spec import parse_condition, parse_param

from .conftest import TINY, run_cli

GOOD_PARAM = "powers.PX.instruments.grants.delivery_rate"


def param(spread: str) -> str:
    """A sweep file's parameters: one, 'a', on a good path, with ``spread``."""
    return f"parameters: {{a: {{path: {GOOD_PARAM}, {spread}}}}}\n"


ONE = param("range: [0.1, 0.9]")


def sweep_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(f"scenario: {TINY}\n{body}", encoding="utf-8")
    return path


#: (sweep-file body after 'scenario:', expected field, expected words)
BAD_FILES = {
    "unknown_top_key": ("paramters: {}\n", "paramters", "did you mean 'parameters'?"),
    "no_parameters": ("method: lhs\n", "parameters", "required field is missing"),
    "unknown_method": (
        f"method: sobl\nparameters: {{a: {{path: {GOOD_PARAM}, range: [0.1, 0.9]}}}}\n",
        "method",
        "'grid', 'lhs', 'sobol' or 'morris'",
    ),
    "unknown_param_key": (
        f"parameters: {{a: {{path: {GOOD_PARAM}, rnage: [0.1, 0.9]}}}}\n",
        "parameters.a.rnage",
        "did you mean 'range'?",
    ),
    "low_above_high": (
        f"parameters: {{a: {{path: {GOOD_PARAM}, range: [0.9, 0.1]}}}}\n",
        "parameters.a",
        "low (0.9) must be below high (0.1)",
    ),
    "range_and_distribution": (
        param("range: [0.1, 0.9], distribution: {kind: uniform, low: 0, high: 1}"),
        "parameters.a",
        "exactly one of",
    ),
    "unknown_distribution": (
        param("distribution: {kind: normal, low: 0, high: 1}"),
        "parameters.a.distribution",
        "unknown distribution kind 'normal'",
    ),
    "mode_outside": (
        param("distribution: {kind: triangular, low: 0.1, mode: 2, high: 0.9}"),
        "parameters.a.distribution",
        "mode 2 must lie in",
    ),
    "sobol_not_power_of_two": (
        "method: sobol\nsamples: 100\n" + ONE,
        "samples",
        "power of 2 (e.g. 64 or 128)",
    ),
    "levels_without_grid": (
        f"method: lhs\nparameters: {{a: {{path: {GOOD_PARAM}, range: [0.1, 0.9], levels: 3}}}}\n",
        "parameters.a.levels",
        "only used by method grid",
    ),
    "bad_path": (
        "parameters: {a: {path: dynamics.sharpnes, range: [1, 5]}}\n",
        "parameters.a.path",
        "did you mean 'dynamics.sharpness'?",
    ),
    "wildcard_matches_nothing": (
        "parameters: {a: {path: 'states.*.weights.greed', range: [0, 1]}}\n",
        "parameters.a.path",
        "matches no scenario value",
    ),
    "not_a_value": (
        "parameters: {a: {path: time.months_per_round, range: [1, 6]}}\n",
        "parameters.a.path",
        "not a numeric scenario value",
    ),
    "bound_out_of_range": (
        f"parameters: {{a: {{path: {GOOD_PARAM}, range: [0.1, 1.5]}}}}\n",
        "parameters.a.range",
        f"1.5 is outside what {GOOD_PARAM} accepts: expected a value <= 1",
    ),
    "negative_money": (
        "parameters: {a: {path: powers.PX.instruments.grants.pledged_usd_bn, range: [-1, 5]}}\n",
        "parameters.a.range",
        "expected a value >= 0",
    ),
    "outcome_unknown_power": (
        f"parameters: {{a: {{path: {GOOD_PARAM}, range: [0.1, 0.9]}}}}\n"
        "outcomes: {o: {quantity: share, power: PZ}}\n",
        "outcomes.o.power",
        "unknown power 'PZ'",
    ),
    "outcome_after_end": (
        f"parameters: {{a: {{path: {GOOD_PARAM}, range: [0.1, 0.9]}}}}\n"
        "outcomes: {o: {quantity: share, power: PX, date: 2035-01-01}}\n",
        "outcomes.o.date",
        "after the last round ends",
    ),
    "outcome_threshold_missing": (
        f"parameters: {{a: {{path: {GOOD_PARAM}, range: [0.1, 0.9]}}}}\n"
        "outcomes: {o: {quantity: share, power: PX, stat: above}}\n",
        "outcomes.o",
        "needs a 'threshold'",
    ),
    "discover_unknown_outcome": (
        f"parameters: {{a: {{path: {GOOD_PARAM}, range: [0.1, 0.9]}}}}\n"
        "discover: {outcome: PX_regoin, above: 0.5}\n",
        "discover.outcome",
        "did you mean 'PX_region'?",
    ),
    "report_unknown_outcome": (
        f"parameters: {{a: {{path: {GOOD_PARAM}, range: [0.1, 0.9]}}}}\nreport: [nothing]\n",
        "report[0]",
        "unknown outcome 'nothing'",
    ),
    "default_name_taken": (
        f"parameters: {{a: {{path: {GOOD_PARAM}, range: [0.1, 0.9]}}}}\n"
        "outcomes: {PX_region: {quantity: hedging}}\n",
        "outcomes.PX_region",
        "default outcome's name",
    ),
    "reserved_name": (
        "parameters: {seed: {path: dynamics.sharpness, range: [1, 5]}}\n",
        "parameters.seed",
        "is a column of every sweep table",
    ),
    "duplicate_key": (
        "method: lhs\nmethod: grid\n" + ONE,
        "line 3",
        "duplicate key 'method'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_sweep_file_is_one_located_error_and_writes_nothing(case: str, tmp_path: Path):
    body, field, words = BAD_FILES[case]
    path = sweep_file(tmp_path, body)
    out = tmp_path / "results"
    with pytest.raises(ScenarioError) as err:
        run_sweep(SweepRequest(source=path, out=out))
    message = str(err.value)
    assert err.value.path == str(path), message
    assert err.value.field == field, message
    assert words in message
    assert "\n" not in message
    assert not out.exists()


#: (--param expressions and options, expected words)
BAD_OPTIONS = {
    "no_equals": (["dynamics.sharpness"], {}, "expected path=LOW:HIGH"),
    "not_numbers": (["dynamics.sharpness=a:b"], {}, "LOW and HIGH must be numbers"),
    "bad_levels": (["dynamics.sharpness=1:5:x"], {}, "LEVELS must be a whole number"),
    "bad_path": (["dynamics.sharpnes=1:5"], {}, "did you mean 'dynamics.sharpness'?"),
    "out_of_range": ([f"{GOOD_PARAM}=0.5:2"], {}, "2 is outside what"),
    "unknown_method": (["dynamics.sharpness=1:5"], {"method": "sobl"}, "did you mean 'sobol'?"),
    "levels_with_lhs": (
        ["dynamics.sharpness=1:5:3"],
        {"method": "lhs"},
        "only used by method grid",
    ),
    "bad_condition": (
        ["dynamics.sharpness=1:5"],
        {"discover": "PX_region=0.5"},
        "expected OUTCOME>VALUE",
    ),
    "twice": (["dynamics.sharpness=1:5", "dynamics.sharpness=2:3"], {}, "is given twice"),
    "zero_replicates": (["dynamics.sharpness=1:5"], {"replicates": 0}, "replicates"),
}


@pytest.mark.parametrize("case", sorted(BAD_OPTIONS))
def test_bad_options_are_one_line_errors(case: str, tmp_path: Path):
    params, opts, words = BAD_OPTIONS[case]
    out = tmp_path / "results"
    with pytest.raises(SimError) as err:
        run_sweep(SweepRequest(source=TINY, params=params, out=out, **opts))
    assert words in str(err.value) and "\n" not in str(err.value)
    assert not out.exists()


def test_resume_refuses_options_that_would_change_the_sweep(tmp_path: Path):
    with pytest.raises(SimError, match="--samples: not with --resume"):
        run_sweep(SweepRequest(resume=tmp_path, samples=8))
    with pytest.raises(SimError, match="not a sweep folder"):
        run_sweep(SweepRequest(resume=tmp_path))


def test_workers_and_scheduler_together_are_refused(tmp_path: Path):
    with pytest.raises(SimError, match=r"^workers: the cluster's workers run the points; not "
                       r"with scheduler$"):
        run_sweep(
            SweepRequest(
                source=TINY,
                params=["dynamics.sharpness=1:5:2"],
                workers=2,
                scheduler="tcp://127.0.0.1:1",
                out=tmp_path,
            )
        )
    assert list(tmp_path.iterdir()) == []


def test_setting_a_point_leaves_the_base_scenario_untouched():
    import copy

    from sim.experiments.sweep.spec import Parameter, bind_parameter
    from sim.runs.batch import materialise, with_values
    from sim.scenario.schema import load

    base = materialise(load(TINY))
    before = copy.deepcopy(base)
    sc = load(TINY)
    param = bind_parameter(
        "w", Parameter(path="states.*.weights.debt", range=(0.0, 3.0)), base, sc, "test"
    )
    assert param.paths == ("states.AA.weights.debt", "states.BB.weights.debt")
    raw = with_values(base, [param.paths], [2.5])
    assert base == before
    assert raw["states"]["AA"]["weights"]["debt"]["value"] == 2.5
    assert raw["states"]["BB"]["weights"]["debt"]["value"] == 2.5
    assert raw["states"]["AA"]["ties"] is base["states"]["AA"]["ties"]  # untouched parts are shared


def test_param_and_condition_parsing():
    assert parse_param("a.b=0.1:0.9") == ("a.b", {"path": "a.b", "range": [0.1, 0.9]})
    assert parse_param("a.*.c = 1:2:5") == (
        "a.*.c",
        {"path": "a.*.c", "range": [1.0, 2.0], "levels": 5},
    )
    assert parse_condition("JPN_region>0.15") == {"outcome": "JPN_region", "above": 0.15}
    assert parse_condition("hedging < 0.5") == {"outcome": "hedging", "below": 0.5}


@pytest.mark.parametrize(
    "args, words",
    [
        (["--param", "dynamics.sharpnes=1:5"], "did you mean 'dynamics.sharpness'?"),
        (["--param", f"{GOOD_PARAM}=0.5:1.5"], "expected a value <= 1"),
        (["--param", "dynamics.sharpness=1:5", "--method", "sobl"], "unknown method"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line_and_no_traceback(
    args: list[str], words: str, tmp_path: Path
):
    out = tmp_path / "results"
    proc = run_cli("sweep", str(TINY), *args, "--out", str(out))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_cli_bad_sweep_file_names_file_and_field(tmp_path: Path):
    path = sweep_file(tmp_path, "paramters: {}\n")
    proc = run_cli("sweep", str(path), "--out", str(tmp_path / "results"))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"error: {path}: paramters: unknown key; did you mean 'parameters'? "
        "(allowed: scenario, counterfactual, description, method, samples, replicates, seed, "
        "common_random_numbers, morris_levels, parameters, outcomes, report, discover) (+1 more)"
    )


def test_cli_sweep_file_not_in_utf_8_is_one_line(tmp_path: Path):
    path = tmp_path / "sweep.yaml"
    text = f"scenario: {TINY}\ndescription: Sensibilit\xe9\n{ONE}"
    path.write_bytes(text.encode("latin-1"))
    proc = run_cli("sweep", str(path), "--out", str(tmp_path / "results"))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"error: {path}: line 2: expected UTF-8 text, found byte 0xe9 (a binary file, or text "
        "saved in another encoding such as Latin-1: save it as UTF-8)"
    )
    assert not (tmp_path / "results").exists()
