"""The 1992-2019 history scenario: generated from the shipped table, every event sourced,
no later figure in a starting value, and the shipped hindcast end to end."""

from __future__ import annotations

import re

import numpy as np
import pytest

from sim.calibration import hindcast, history
from sim.model.params import build
from sim.scenario.facts import find_registry, load_registry
from sim.scenario.schema import load, values

from .conftest import ROOT

BASE = ROOT / "scenarios" / "history" / "base_1992.yaml"
#: Fields that measure the state of 1992 (security levels are points of a stated scale).
MEASURES = ("trade_usd_bn", "remittances_usd_bn", "debt_usd_bn", "priority", "gdp_usd_bn")


@pytest.fixture(scope="module")
def scenario():
    return load(history.SCENARIO)


@pytest.fixture(scope="module")
def registry():
    return load_registry(find_registry(history.SCENARIO))


def test_generated_files_match_the_shipped_table():
    for path, text in history.texts().items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path}: run python -m sim.calibration.history")


def test_china_finance_is_every_recorded_commitment_of_2000_2019(scenario):
    from sim.calibration import datasets

    table = datasets.load_china_finance()
    table = table[(table.year >= 2000) & (table.year <= 2019)]
    flows = [c for c, _, _ in history.FLOWS]
    expected = sum(
        float(row[c]) * history.DEFLATOR[int(row.year)] / 1000
        for _, row in table.iterrows()
        for c in flows
    )
    aiddata = [ins for name, ins in scenario.powers["CHN"].instruments.items()
               if name.startswith("aiddata_")]
    assert sum(ins.pledged_usd_bn.value for ins in aiddata) == pytest.approx(expected, rel=1e-9)
    assert len(aiddata) == sum((table[c] > 0).sum() for c in flows)


def test_every_event_names_a_documented_fact(scenario, registry):
    for name, ev in scenario.events.items():
        assert ev.source is not None, name
        assert registry.get(ev.source).kind == "fact", name


def test_at_least_25_dated_events_besides_the_data_series(scenario):
    political = [ev for ev in scenario.events.values()
                 if ev.type != "gdp" and getattr(ev, "level_usd_bn", None) is None]
    assert len(political) >= 25
    assert {ev.type for ev in political} >= {"membership", "security_tie", "summit", "relation",
                                             "neutrality", "capacity"}


def test_starting_values_use_nothing_after_1992(scenario, registry):
    """A starting measurement refers only to facts of 1992 or before, and to assumptions whose
    reasons name no later fact (the anchor must not smuggle the outcome in)."""
    start = scenario.time.start.year

    def later_facts(text: str) -> list[str]:
        return [w for w in set(re.findall(r"[a-z][a-z0-9_]*", text))
                if w in registry and registry.get(w).kind == "fact"
                and (registry.get(w).year or 0) > start]

    checked = 0
    for path, v in values(scenario):
        if not path.startswith("states.") or path.split(".")[-1] not in MEASURES:
            continue
        checked += 1
        if v.ref is None:
            assert not later_facts(v.why or ""), path
            continue
        entry = registry.get(v.ref)
        if entry.kind == "fact":
            assert entry.year is not None and entry.year <= start, (path, v.ref)
        else:
            assert not later_facts(entry.why or ""), (path, v.ref, later_facts(entry.why or ""))
        assert not later_facts(v.why or ""), path
    assert checked >= 30


def test_the_base_scenario_is_the_history_without_chinas_recorded_finance(scenario):
    base = load(BASE)
    assert set(scenario.events) == set(base.events)
    assert not base.powers["CHN"].instruments
    assert set(scenario.powers["CHN"].instruments)


def test_the_timeline_moves_what_history_moved(scenario):
    p = build(scenario)
    uzb, tkm, kgz = (p.states.index(c) for c in ("UZB", "TKM", "KGZ"))
    rus, usa = p.powers.index("RUS"), p.powers.index("USA")
    at = {d.year * 10 + (d.month - 1) // 3: r for r, d in enumerate(p.dates)}
    # Uzbekistan leaves the treaty in 1999: its security tie with Russia drops, returns in 2005
    assert p.security[at[19990], uzb, rus] == pytest.approx(0.6)
    assert p.security[at[20000], uzb, rus] == pytest.approx(0.2)
    assert p.security[at[20060], uzb, rus] == pytest.approx(0.6)
    # a US base in Kyrgyzstan from December 2001
    assert p.security[at[20011], kgz, usa] < 0.5 <= p.security[at[20021], kgz, usa]
    # Turkmenistan neutral from December 1995
    assert p.neutral_factor[at[19950], tkm] == 1.0 and p.neutral_factor[at[19970], tkm] < 1.0
    # GDP: Kazakhstan's World Bank figure for 2012 is reached in mid-2012
    kaz = p.states.index("KAZ")
    assert p.gdp[at[20123], kaz] == pytest.approx(207.999, rel=0.02)
    # remittances from Russia: none in 1992, half of Tajikistan's GDP by 2008
    tjk = p.states.index("TJK")
    assert p.econ_ratio[0, tjk, rus] < p.econ_ratio[at[20083], tjk, rus]


def test_the_shipped_hindcast(tmp_path):
    h = hindcast.simulate(hindcast.HindcastRequest(replicates=8, draws=5, out=tmp_path))
    assert list(h.obs.years) == list(range(1992, 2020))
    table = h.predicted
    assert len(table) == 28 * 5 * 5
    # fitted up to 2003 (the default), scored on 2004-2012; nothing held out is shipped
    assert table[(table.year > 2003) & (table.year <= 2012)].observed.notna().any()
    assert table[table.year > 2012].observed.isna().all()
    assert h.fit.n_obs == 270
    assert np.isfinite(h.fit.log_ml)


def test_odd_lists_every_event_with_its_source():
    text = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")
    assert history.events_table() in text, "docs/ODD.md section 12: paste events_table() anew"
