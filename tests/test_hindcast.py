"""sim hindcast: a history scenario against observed agreement, end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sim.calibration import hindcast
from sim.core.errors import SimError
from tests.conftest import TINY, run_cli

YEARS = range(2026, 2032)
LONGER = ("time.end=2031-12-31",)


def write_data(folder, *, states=("AA", "BB"), powers=("PX", "PY"), years=YEARS, seed=3):
    gen = np.random.Generator(np.random.PCG64(seed))
    agreement = pd.DataFrame(
        [
            {"year": y, "state": s, "power": p, "n_votes": 60,
             "agree": round(gen.uniform(0.3, 0.8), 4)}
            for y in years
            if y <= 2028
            for s in states
            for p in powers
        ]
    )
    world = pd.DataFrame(
        [{"year": y, "power": p, "n_rollcalls": 70, "countries": 150, "median_agree": 0.55,
          "p25_agree": 0.4, "p75_agree": 0.7} for y in years for p in powers]
    )
    pairs = pd.DataFrame(
        [{"year": y, "power_a": a, "power_b": b, "n_votes": 70, "agree": 0.6}
         for y in years for i, a in enumerate(powers) for b in powers[i + 1:]]
    )
    a, w, pw = folder / "agreement.csv", folder / "world.csv", folder / "powers.csv"
    agreement.to_csv(a, index=False)
    world.to_csv(w, index=False)
    pairs.to_csv(pw, index=False)
    return a, w


def request(tmp_path, **kw):
    a, w = write_data(tmp_path)
    base = dict(scenario=TINY, sets=LONGER, replicates=6, until=2028, agreement=a, world=w,
                powers=tmp_path / "powers.csv", out=tmp_path / "results")
    base.update(kw)
    return hindcast.HindcastRequest(**base)


def test_hindcast_predicts_every_year_and_fits_only_the_training_years(tmp_path):
    h = hindcast.simulate(request(tmp_path))
    table = h.predicted
    assert list(table.columns[:6]) == ["year", "state", "power", "p5", "p50", "p95"]
    assert sorted(table.year.unique()) == list(YEARS)
    assert len(table) == len(YEARS) * 2 * 2
    assert (table.p5 <= table.p50).all() and (table.p50 <= table.p95).all()
    assert table[table.year > 2028].observed.isna().all()
    assert table.training.tolist() == [y <= 2028 for y in table.year]
    assert h.fit.n_obs == 3 * 2 * 2
    assert [s.method.split()[0] for s in h.scores] == ["model", "offset", "last"]


def test_held_out_observations_change_nothing(tmp_path):
    req = request(tmp_path)
    first = hindcast.simulate(req)
    agreement = pd.read_csv(req.agreement)
    extra = agreement[agreement.year == 2028].assign(year=2030, agree=0.01)
    pd.concat([agreement, extra]).to_csv(req.agreement, index=False)
    second = hindcast.simulate(req)
    assert first.fit.gamma == second.fit.gamma
    cols = ["p5", "p50", "p95"]
    assert np.array_equal(first.predicted[cols].to_numpy(), second.predicted[cols].to_numpy())
    # the held-out year is shown beside the prediction, not used
    shown = second.predicted[(second.predicted.year == 2030)].observed
    assert (shown == 0.01).all()


def test_same_seed_same_numbers(tmp_path):
    req = request(tmp_path)
    a, b = hindcast.simulate(req), hindcast.simulate(req)
    assert a.predicted.equals(b.predicted)


def test_hindcast_folder(tmp_path):
    outcome = hindcast.run_hindcast(request(tmp_path))
    files = {p.name for p in outcome.folder.iterdir()}
    assert {"predicted_agreement.csv", "fit.csv", "scores.csv", "manifest.json",
            "scenario.yaml", "plots"} <= files
    manifest = json.loads((outcome.folder / "manifest.json").read_text())
    assert manifest["kind"] == "hindcast"
    assert manifest["training_years"] == [2026, 2028]
    assert len(manifest["data"]["agreement"]["sha256"]) == 64
    assert {p.name for p in (outcome.folder / "plots").glob("*.png")} == {
        "agreement_PX.png", "agreement_PY.png"}
    assert "fitted on 2026-2028" in hindcast.format_outcome(outcome)


@pytest.mark.parametrize(
    ("change", "expect"),
    [
        ({"until": 2031}, "until: "),
        ({"until": 2020}, "until: expected a year from 2026"),
        ({"link": "vote"}, "link: expected one of bloc, power"),
        ({"replicates": 0}, "replicates: expected at least 1"),
    ],
)
def test_bad_requests(tmp_path, change, expect):
    with pytest.raises(SimError, match=expect):
        hindcast.simulate(request(tmp_path, **change))


def test_unknown_code_in_the_data_is_one_line_and_writes_nothing(tmp_path):
    a, w = write_data(tmp_path, powers=("PX", "PZ"))
    out = tmp_path / "results"
    res = run_cli("hindcast", str(TINY), "--set", LONGER[0], "--replicates", "4",
                  "--until", "2028", "--agreement", str(a), "--world", str(w), "--out", str(out))
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert "unknown power code 'PZ'" in res.stderr and str(a) in res.stderr
    assert not out.exists()


def test_event_outside_the_calendar_is_refused(tmp_path):
    a, w = write_data(tmp_path)
    res = run_cli("hindcast", str(TINY), "--set", LONGER[0], "--set",
                  "events.meeting.date=2040-01-01", "--until", "2028", "--agreement", str(a),
                  "--world", str(w),
                  "--out", str(tmp_path / "results"))
    assert res.returncode == 2, res.stderr
    assert "events.meeting.date" in res.stderr and "Traceback" not in res.stderr
