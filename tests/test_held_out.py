"""The held-out years stay held out: no data file in the project holds the five states' UN votes
of 2013-2019.

The five Central Asian states' agreement with the powers in the UN General Assembly after 2012
is scored out of sample against the history scenario's predictions (sim/data/unga/README.md).
This guard scans every table of the project tree (CSV, TSV, Parquet, YAML, JSON) and fails if
one holds a vote, agreement, voting coincidence or ideal point of Kazakhstan, Uzbekistan,
Turkmenistan, Kyrgyzstan or Tajikistan for a year after 2012. It recognises

- long tables: a year (or date) column, a column naming one of the five (code or name) and a
  vote-like column with a value in that row;
- wide tables: a year column and a column per state, in a table whose file name or columns
  say it holds votes or agreement;
- records in YAML or JSON (registry entries, manifests): a mapping with a year after 2012 that
  names one of the five and either has a vote-like key or speaks of the General Assembly,
  voting coincidence or ideal points.

A predicted table (columns of the model's predictions, an empty ``observed`` after 2012) passes.
The tests at the end show the guard fails on such files.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from sim.calibration import datasets

ROOT = Path(__file__).resolve().parents[1]
LAST_TRAINING_YEAR = datasets.TRAINING_YEARS[1]
STATES = {"KAZ", "UZB", "TKM", "KGZ", "TJK"}
NAMES = {"kazakhstan", "uzbekistan", "turkmenistan", "kyrgyzstan", "kyrgyz republic", "tajikistan"}
SKIP_DIRS = {".git", ".venv", ".venv313", "__pycache__", "node_modules", ".mypy_cache",
             ".ruff_cache", ".pytest_cache", ".ci"}
TABLES = {".csv", ".tsv", ".parquet", ".yaml", ".yml", ".json"}
#: words of a column or key that hold an observed vote or agreement
VOTE_WORDS = {"agree", "agreement", "coincidence", "ideal", "idealpoint", "vote", "votes",
              "observed", "affinity", "s_score", "unga"}
#: words that mark a column as the model's own prediction, not an observation
MODEL_WORDS = {"predicted", "prediction", "pred", "model", "simulated", "sim", "lo", "hi",
               "median", "mean", "q05", "q95"}
YEAR_WORDS = {"year", "yr", "date", "session_year"}
TEXT = re.compile(r"general assembly|\bunga\b|ideal point|voting coincidence|"
                  r"roll[- ]call|vot(e|es|ing) (with|of)", re.IGNORECASE)


def _words(name: str) -> set[str]:
    name = str(name).lower()
    return set(re.split(r"[^a-z0-9]+", name)) | {name}


def _vote_column(name: str) -> bool:
    words = _words(name)
    return bool(words & VOTE_WORDS) and not words & MODEL_WORDS


def _state(value: object) -> bool:
    text = str(value).strip()
    return text.upper() in STATES or text.lower() in NAMES


def _year(value: object) -> int | None:
    match = re.match(r"\s*(\d{4})", str(value))
    return int(match.group(1)) if match else None


def _filled(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and value != value:
        return False
    return str(value).strip().lower() not in {"", "nan", "na", "none", "null"}


def _frame_findings(frame: pd.DataFrame, name: str) -> list[str]:
    cols = [str(c) for c in frame.columns]
    years = [c for c in cols if _words(c) & YEAR_WORDS]
    if not years:
        return []
    votes = [c for c in cols if _vote_column(c)]
    wide = [c for c in cols if _state(c)]
    voteish_file = bool(_words(name) & VOTE_WORDS) or bool(votes)
    found: list[str] = []
    for i, row in enumerate(frame.astype(object).itertuples(index=False), start=2):
        cells = dict(zip(cols, row, strict=True))
        year = next((y for c in years if (y := _year(cells[c])) is not None), None)
        if year is None or year <= LAST_TRAINING_YEAR:
            continue
        named = [c for c in cols if _state(cells[c])]
        if named and any(_filled(cells[c]) for c in votes):
            found.append(f"row {i}: {cells[named[0]]} in {year}")
        elif voteish_file and any(_filled(cells[c]) for c in wide):
            found.append(f"row {i}: a column per state in {year}")
    return found


def _records(obj: Any, seen: set[int] | None = None) -> Iterator[dict[str, Any]]:
    """Every mapping in a loaded document, each once (aliases are shared, not re-walked)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    if isinstance(obj, dict):
        seen.add(id(obj))
        yield obj
        for value in obj.values():
            yield from _records(value, seen)
    elif isinstance(obj, list):
        seen.add(id(obj))
        for value in obj:
            yield from _records(value, seen)


def _texts(obj: Any) -> Iterator[str]:
    """The keys and scalars of one record (its own, not those of nested records)."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield str(key)
            if not isinstance(value, dict | list):
                yield str(value)
            elif isinstance(value, dict):  # a nested mapping such as a source: one level
                yield from (str(v) for v in value.values() if not isinstance(v, dict | list))
            else:
                yield from (str(v) for v in value if not isinstance(v, dict | list))


def _record_findings(obj: Any) -> list[str]:
    found: list[str] = []
    for rec in _records(obj):
        year = next((y for k, v in rec.items() if str(k).lower() in YEAR_WORDS
                     and (y := _year(v)) is not None), None)
        if year is None or year <= LAST_TRAINING_YEAR:
            continue
        texts = list(_texts(rec))
        if not any(_state(t) or any(n in t.lower() for n in NAMES) or
                   set(re.findall(r"\b[A-Z]{3}\b", t)) & STATES for t in texts):
            continue
        keyed = any(_vote_column(k) and _filled(v) for k, v in rec.items()
                    if not isinstance(v, dict | list))
        if keyed or any(TEXT.search(t) for t in texts):
            found.append(f"a record of {year}: {str(rec.get('id', rec))[:80]}")
    return found


def findings(path: Path) -> list[str]:
    """What in one file looks like the five states' UN votes after the training years."""
    suffix = path.suffix.lower()
    try:
        if suffix in {".csv", ".tsv"}:
            with path.open(encoding="utf-8", newline="") as handle:
                rows = list(csv.reader(handle, delimiter="\t" if suffix == ".tsv" else ","))
            if not rows:
                return []
            width = len(rows[0])
            body = [r + [""] * (width - len(r)) for r in rows[1:]]
            frame = pd.DataFrame([r[:width] for r in body], columns=rows[0])
            return _frame_findings(frame, path.stem)
        if suffix == ".parquet":
            return _frame_findings(pd.read_parquet(path), path.stem)
        if suffix in {".yaml", ".yml", ".json"}:
            raw = path.read_bytes()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:  # a deliberately undecodable file: read it as lines
                return _line_findings(raw.decode("utf-8", errors="replace"))
            try:
                # every scalar as text: a malformed date in a test case is no obstacle
                obj = (json.loads(text) if suffix == ".json"
                       else yaml.load(text, Loader=yaml.BaseLoader))
            except (yaml.YAMLError, json.JSONDecodeError, RecursionError, ValueError):
                return _line_findings(text)  # a deliberately broken file: read it as lines
            return _record_findings(obj)
    except (UnicodeDecodeError, csv.Error, ValueError) as err:
        return [f"cannot be read to check it ({type(err).__name__})"]
    return []


def _line_findings(text: str) -> list[str]:
    found = []
    for i, line in enumerate(text.splitlines(), start=1):
        years = [int(y) for y in re.findall(r"\b(?:19|20)\d\d\b", line)]
        if (any(y > LAST_TRAINING_YEAR for y in years) and TEXT.search(line)
                and (set(re.findall(r"\b[A-Z]{3}\b", line)) & STATES
                     or any(n in line.lower() for n in NAMES))):
            found.append(f"line {i}")
    return found


def data_files(root: Path) -> Iterator[Path]:
    """Every table under ``root``, outside version control's and tools' own folders."""
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).parts
        if any(part in SKIP_DIRS for part in rel[:-1]):
            continue
        if path.is_file() and path.suffix.lower() in TABLES:
            yield path


def scan(root: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path in data_files(root):
        if found := findings(path):
            out[str(path.relative_to(root))] = found
    return out


def test_no_table_in_the_project_holds_held_out_votes():
    files = list(data_files(ROOT))
    assert any(p.name == datasets.AGREEMENT.name for p in files)  # the scan reaches sim/data
    assert len(files) > 20
    leaks = scan(ROOT)
    assert not leaks, (
        "the five states' UN votes after 2012 are held out (sim/data/unga/README.md); remove "
        f"them: {leaks}"
    )


def test_the_shipped_agreement_stops_at_the_last_training_year():
    assert datasets.load_agreement().year.max() == LAST_TRAINING_YEAR == 2012


# ---------------------------------------------------------------- the guard can fail

LONG = "year,state,power,n_votes,agree\n2012,KAZ,USA,70,0.3\n"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("agreement.csv", LONG + "2013,KAZ,USA,70,0.3\n"),
        ("votes.csv", "year,country,vote_share\n2016,Tajikistan,0.8\n"),
        ("coincidence.tsv", "date\tstate\tcoincidence\n2014-09-01\tUZB\t0.7\n"),
        ("wide_agreement.csv", "year,KAZ,UZB\n2019,0.5,0.4\n"),
        ("ideal.csv", "year,iso3,idealpoint\n2015,TKM,-0.2\n"),
        ("facts.yaml", "- {id: kgz_usa_2014, kind: fact, value: 0.3, year: 2014, "
                       "note: 'Kyrgyzstan agreed with the US on 30% of General Assembly votes'}\n"),
        ("facts.yaml", "- {id: x, year: 2017, state: KGZ, agree: 0.5}\n"),
        ("scores.json", '[{"year": 2018, "state": "KAZ", "power": "CHN", "observed": 0.8}]'),
    ],
)
def test_the_guard_finds_held_out_votes(tmp_path, name, text):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / name).write_text(text, encoding="utf-8")
    leaks = scan(tmp_path)
    assert list(leaks) == [f"data/{name}"], leaks


def test_the_guard_reads_parquet(tmp_path):
    frame = pd.DataFrame({"year": [2012, 2015], "state": ["KAZ", "UZB"], "agree": [0.5, 0.6]})
    frame.to_parquet(tmp_path / "t.parquet")
    assert scan(tmp_path) == {"t.parquet": ["row 3: UZB in 2015"]}


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("agreement.csv", LONG),  # the training years
        ("predicted_agreement.csv",  # the model's own predictions, nothing observed after 2012
         "year,state,power,predicted,lo,hi,observed\n2012,KAZ,USA,0.3,0.2,0.4,0.31\n"
         "2015,KAZ,USA,0.3,0.2,0.4,\n"),
        ("world.csv", "year,power,median_agree\n2019,USA,0.2\n"),  # no Central Asian vote
        ("powers.csv", "year,power_a,power_b,n_votes,agree\n2019,CHN,RUS,90,0.9\n"),
        ("events.yaml", "- {id: kgz_eaeu_2015, kind: fact, value: 2015, year: 2015, "
                        "note: 'Kyrgyzstan joins the Eurasian Economic Union'}\n"),
    ],
)
def test_the_guard_passes_what_is_not_a_held_out_vote(tmp_path, name, text):
    (tmp_path / name).write_text(text, encoding="utf-8")
    assert scan(tmp_path) == {}
