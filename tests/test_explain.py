"""sim explain: the term table adds up to the kernel's target, and the channel split to the
paired effect."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.experiments import explain
from sim.model import rules

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
EVERY = ROOT / "tests/cases/every_event.yaml"


def _kernel_target(p, r):  # type: ignore[no-untyped-def]
    prev, after, _ = explain._noise_free(p, r)
    gdp = p.gdp[r][:, None]
    d_u = p.u_fixed[r] + rules.utility_varying(
        prev.alignment, p.econ_ratio[r] + after.engagement / gdp, after.burden / gdp,
        w_econ=p.w_econ, w_debt=p.w_debt, debt_salience=p.debt_salience[r],
        w_hedge=p.w_hedge, econ_scale=p.econ_scale)
    return rules.target_alignment(p.log_anchor, d_u,
                                  rules.peer_shift(prev.alignment, p.log_anchor, p.peers),
                                  p.beta, p.kappa), after


@pytest.mark.parametrize("path", [SCENARIOS / "tokyo_initiative.yaml",
                                  SCENARIOS / "great_power_race.yaml", EVERY])
@pytest.mark.parametrize("when", [None, "2027-06-30"])
def test_terms_add_up_to_the_kernels_target(path: Path, when: str | None) -> None:
    import datetime as dt

    day = None if when is None else dt.date.fromisoformat(when)
    p, r, rows = explain.terms(path, day)
    S, P = len(p.states), len(p.powers)
    logits = np.zeros((S, P))
    for s, q, _, v in rows:
        logits[p.states.index(s), p.powers.index(q)] += v
    target, after = _kernel_target(p, r)
    np.testing.assert_allclose(rules.softmax(logits), target, rtol=0, atol=1e-12)
    # the money terms split the kernel's engagement by instrument without loss
    _, _, engaged = explain._noise_free(p, r)
    by_power = np.zeros((S, P))
    for i in range(len(p.instruments)):
        by_power[:, p.inst_power[i]] += engaged[i]
    np.testing.assert_allclose(by_power, after.engagement, rtol=1e-12, atol=1e-12)


def test_the_tie_kinds_add_up_to_the_institutional_change() -> None:
    """Kinds isolated one at a time add up to the whole index (it is a sum over kinds)."""
    path = SCENARIOS / "history/base_1992.yaml"
    p, r, rows = explain.terms(path)
    ties = np.zeros((len(p.states), len(p.powers)))
    for s, q, term, v in rows:
        if term.startswith("ties: "):
            ties[p.states.index(s), p.powers.index(q)] += v
    whole = np.asarray(p.beta) * rules.institutions_term(p.institutions[r] - p.institutions[0],
                                                         p.w_inst)
    np.testing.assert_allclose(ties, whole, atol=1e-12)
    assert np.abs(whole).max() > 0.01  # the history's ties do change


def test_channels_add_up_and_find_the_channel_that_differs() -> None:
    base, tokyo = SCENARIOS / "baseline_2025.yaml", SCENARIOS / "tokyo_initiative.yaml"
    ch = explain.channels(base, tokyo, replicates=40)
    assert ch.channels == ["money", "summits"]
    np.testing.assert_allclose(ch.shapley.sum(axis=0) + ch.rest, ch.total, atol=1e-12)
    jpn = ch.powers.index("JPN")
    assert ch.total[jpn] > 0 and np.all(ch.shapley[:, jpn] > 0)
    # against itself with only the money taken away, no summit channel is left
    no_money = explain.channels(SCENARIOS / "no_japan.yaml", base, replicates=40)
    assert no_money.channels == []
    np.testing.assert_allclose(no_money.total, 0.0, atol=1e-12)


def _sim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)


def test_cli_writes_the_tidy_table_and_the_channels() -> None:
    out = _sim("explain", "tokyo_initiative", "--csv", "--without-posterior",
               "--against", "baseline_2025", "--replicates", "20")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "state,power,term,value"
    cells = [line.split(",") for line in lines[1:]]
    assert {c[0] for c in cells} == {"KAZ", "UZB", "TKM", "KGZ", "TJK"}
    assert ["TKM", "JPN", "money: business_target"] in [c[:3] for c in cells]
    assert not any(c[2] == "money: business_target" and c[1] != "JPN" for c in cells)
    assert "by channel" in out.stderr and "Peers:" in out.stderr


def test_cli_refuses_a_bad_date_in_one_line() -> None:
    out = _sim("explain", "tokyo_initiative", "--date", "01/01/2027", "--without-posterior")
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0
    assert "--date" in out.stderr and "YYYY-MM-DD" in out.stderr
