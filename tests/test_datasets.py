"""The shipped data tables load, and bad tables are refused in one line."""

from __future__ import annotations

import pytest

from sim.calibration import datasets
from sim.core.errors import SimError


def test_shipped_tables_load_and_hold_what_their_readme_says():
    agreement = datasets.load_agreement()
    world = datasets.load_world()
    finance = datasets.load_china_finance()
    powers = datasets.load_powers()
    assert len(agreement) == 495 and len(world) == 140 and len(finance) == 98
    assert len(powers) == 280
    assert agreement.year.min() == 1992 and agreement.year.max() == 2012
    assert (agreement.year.min(), agreement.year.max()) == datasets.TRAINING_YEARS
    assert set(agreement.state) == {"KAZ", "UZB", "TKM", "KGZ", "TJK"}
    assert set(agreement.power) == {"CHN", "RUS", "EU", "USA", "JPN"}
    assert agreement[agreement.state == "UZB"].year.min() == 1994
    assert world.year.min() == 1992 and world.year.max() == 2019
    assert set(world.power) == set(agreement.power)
    assert finance.year.min() == 2000 and finance.year.max() == 2021
    assert powers.year.min() == 1992 and powers.year.max() == 2019
    pairs = {frozenset(p) for p in zip(powers.power_a, powers.power_b, strict=True)}
    assert len(pairs) == 10 and set().union(*pairs) == set(agreement.power)
    assert (powers.groupby("year").size() == 10).all()


def test_no_held_out_votes_are_shipped():
    assert datasets.load_agreement().year.max() <= datasets.TRAINING_YEARS[1] == 2012
    assert datasets.HELD_OUT == (2013, 2019)


def test_agreement_can_be_cut_at_an_earlier_year():
    early = datasets.load_agreement(until=2003)
    assert len(early) == 270 and early.year.max() == 2003
    full = datasets.load_agreement()
    assert early.equals(full[full.year <= 2003].reset_index(drop=True))


POWERS_GOOD = "year,power_a,power_b,n_votes,agree\n1992,CHN,EU,71,0.4648\n"


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        (POWERS_GOOD + "1992,EU,CHN,71,0.4\n", "line 3: duplicate pair EU-CHN in 1992"),
        (POWERS_GOOD + "1992,USA,USA,71,1.0\n", "line 3: power_b: expected a power other"),
        (POWERS_GOOD + "1992,CHN,EU,71,0.4\n", "line 3: duplicate year, power_a, power_b"),
        (POWERS_GOOD + "1993,CHN,EU,71,1.2\n", "line 3: agree: expected a share"),
        ("year,power,n_votes,agree\n", "header: expected columns year, power_a, power_b"),
    ],
)
def test_bad_powers_tables(tmp_path, text, expect):
    path = tmp_path / "powers.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SimError) as err:
        datasets.load_powers(path)
    assert expect in str(err.value)
    assert "\n" not in str(err.value)


GOOD = "year,state,power,n_votes,agree\n1992,KAZ,CHN,61,0.623\n"


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("", "header: expected columns year, state, power, n_votes, agree, found an empty file"),
        ("year,state,power,agree\n", "header: expected columns"),
        ("year,state,power,n_votes,agree\n", "expected rows of data"),
        (GOOD + "1993,KAZ,CHN,61\n", "line 3: expected 5 fields, found 4"),
        (GOOD + "1993,KAZ,CHN,61,1.5\n", "line 3: agree: expected a share in [0, 1], found '1.5'"),
        (GOOD + "1993,KAZ,CHN,61,nan\n", "line 3: agree: expected a share"),
        (GOOD + "19x3,KAZ,CHN,61,0.5\n", "line 3: year: expected a year"),
        (GOOD + "1993,kaz,CHN,61,0.5\n", "line 3: state: expected a state code"),
        (GOOD + "1993,KAZ,CHN,0,0.5\n", "line 3: n_votes: expected a whole number >= 1"),
        (GOOD + "1992,KAZ,CHN,50,0.5\n", "line 3: duplicate year, state, power"),
    ],
)
def test_bad_agreement_tables(tmp_path, text, expect):
    path = tmp_path / "agreement.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SimError) as err:
        datasets.load_agreement(path)
    assert str(err.value).startswith(str(path))
    assert expect in str(err.value)
    assert "\n" not in str(err.value)


def test_binary_and_missing_tables(tmp_path):
    path = tmp_path / "agreement.csv"
    path.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(SimError, match="expected a UTF-8 text table"):
        datasets.load_agreement(path)
    with pytest.raises(SimError, match="file not found"):
        datasets.load_agreement(tmp_path / "none.csv")


def test_world_quartiles_must_be_ordered(tmp_path):
    path = tmp_path / "world.csv"
    path.write_text(
        "year,power,n_rollcalls,countries,median_agree,p25_agree,p75_agree\n"
        "1992,CHN,71,167,0.5,0.6,0.9\n",
        encoding="utf-8",
    )
    with pytest.raises(SimError, match="expected p25_agree <= median_agree <= p75_agree"):
        datasets.load_world(path)
