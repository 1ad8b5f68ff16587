"""Observed tables shipped with the package (``sim/data/``), read and checked.

Each loader reads one CSV table, checks its header, every row's field count and types, the
ranges of its values, its codes and the uniqueness of its keys, and returns a pandas
DataFrame. A malformed or truncated table is refused with one line naming the file, the row
and the field (:class:`DataError`); nothing is guessed or dropped silently. The tables and
their sources are described in ``sim/data/README.md``.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.core.errors import ScenarioError

DATA = Path(__file__).resolve().parents[1] / "data"
AGREEMENT = DATA / "unga" / "agreement_1992_2012.csv"
WORLD = DATA / "unga" / "world_agreement_1992_2019.csv"
POWERS = DATA / "unga" / "powers_agreement_1992_2019.csv"
#: The years of the five states' UN votes shipped with the package (the training years). Their
#: votes of 2013-2019 (:data:`HELD_OUT`) are held out for out-of-sample scoring: no table in the
#: project may hold them (``tests/test_held_out.py`` scans every data file).
TRAINING_YEARS = (1992, 2012)
HELD_OUT = (2013, 2019)
CHINA_FINANCE = DATA / "china_finance" / "chinese_official_finance_2000_2021.csv"

_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,5}$")
FIRST_YEAR, LAST_YEAR = 1946, 2100


class DataError(ScenarioError):
    """A problem in a data table, located by file, row and column."""


@dataclass(frozen=True)
class Column:
    """One column of a table: its name, how to read a cell, and what is allowed."""

    name: str
    read: Callable[[str], object]
    expected: str


def _integer(lo: int, hi: int) -> Callable[[str], object]:
    def read(text: str) -> object:
        value = int(text)
        if not lo <= value <= hi:
            raise ValueError
        return value

    return read


def _number(lo: float, hi: float) -> Callable[[str], object]:
    def read(text: str) -> object:
        value = float(text)
        if not math.isfinite(value) or not lo <= value <= hi:
            raise ValueError
        return value

    return read


def _code(text: str) -> object:
    if not _CODE.match(text):
        raise ValueError
    return text


YEAR = Column("year", _integer(FIRST_YEAR, LAST_YEAR), f"a year {FIRST_YEAR}-{LAST_YEAR}")
STATE = Column("state", _code, "a state code such as KAZ")
POWER = Column("power", _code, "a power code such as USA")


def share(name: str) -> Column:
    return Column(name, _number(0.0, 1.0), "a share in [0, 1]")


def count(name: str) -> Column:
    return Column(name, _integer(1, 10**6), "a whole number >= 1")


def money(name: str) -> Column:
    return Column(name, _number(0.0, 1e7), "an amount >= 0")


def sha256(path: Path) -> str:
    """sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_table(path: Path, columns: Sequence[Column], key: Sequence[str]) -> pd.DataFrame:
    """Read and check a CSV table with exactly ``columns``, unique on ``key``."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError:
        raise DataError(path, "", "file not found") from None
    except UnicodeDecodeError:
        raise DataError(path, "", "expected a UTF-8 text table, found other bytes") from None
    except OSError as err:
        raise DataError(path, "", f"cannot read file ({err.strerror})") from None
    except csv.Error as err:
        raise DataError(path, "", f"not a CSV table ({err})") from None
    names = [c.name for c in columns]
    if not rows:
        raise DataError(path, "header", f"expected columns {', '.join(names)}, found an empty file")
    if [h.strip() for h in rows[0]] != names:
        raise DataError(
            path, "header", f"expected columns {', '.join(names)}, found {', '.join(rows[0])}"
        )
    if len(rows) == 1:
        raise DataError(path, "", "expected rows of data after the header, found none")
    records: list[list[object]] = []
    seen: dict[tuple[object, ...], int] = {}
    where = [names.index(k) for k in key]
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(columns):
            raise DataError(
                path, f"line {line}", f"expected {len(columns)} fields, found {len(row)} "
                "(a truncated or malformed row)"
            )
        record: list[object] = []
        for col, cell in zip(columns, row, strict=True):
            try:
                record.append(col.read(cell.strip()))
            except ValueError:
                raise DataError(
                    path, f"line {line}: {col.name}", f"expected {col.expected}, found {cell!r}"
                ) from None
        ident = tuple(record[i] for i in where)
        if ident in seen:
            raise DataError(
                path, f"line {line}", f"duplicate {', '.join(key)} {ident} (first on line "
                f"{seen[ident]})"
            )
        seen[ident] = line
        records.append(record)
    return pd.DataFrame(records, columns=names)


def load_agreement(path: Path = AGREEMENT, until: int | None = None) -> pd.DataFrame:
    """UN agreement of states with powers: ``year, state, power, n_votes, agree``.

    With ``until``, only the rows of years up to ``until`` (to fit on an earlier span of the
    training years, e.g. 1992-2003, and score the years after it).
    """
    table = read_table(
        path, [YEAR, STATE, POWER, count("n_votes"), share("agree")], ("year", "state", "power")
    )
    if until is not None:
        table = table[table.year <= until].reset_index(drop=True)
    return table


def load_powers(path: Path = POWERS) -> pd.DataFrame:
    """The powers' UN agreement with each other: ``year, power_a, power_b, n_votes, agree``.

    Each unordered pair once a year (a power with itself is not a row: it agrees by definition).
    """
    table = read_table(
        path,
        [
            YEAR,
            Column("power_a", _code, "a power code such as CHN"),
            Column("power_b", _code, "a power code such as USA"),
            count("n_votes"),
            share("agree"),
        ],
        ("year", "power_a", "power_b"),
    )
    pairs: dict[tuple[object, frozenset[str]], int] = {}
    rows = zip(table.year, table.power_a, table.power_b, strict=True)
    for i, (year, a, b) in enumerate(rows, start=2):
        if str(a) == str(b):
            raise DataError(
                path, f"line {i}: power_b",
                f"expected a power other than power_a, found {b!r} twice",
            )
        pair = (year, frozenset((str(a), str(b))))
        if pair in pairs:
            raise DataError(
                path, f"line {i}",
                f"duplicate pair {a}-{b} in {year} (first on line {pairs[pair]}, in the other "
                "order)",
            )
        pairs[pair] = i
    return table


def load_world(path: Path = WORLD) -> pd.DataFrame:
    """The rest of the world's agreement with each power, per year (the agenda).

    Columns ``year, power, n_rollcalls, countries, median_agree, p25_agree, p75_agree``;
    the quartiles must be ordered.
    """
    table = read_table(
        path,
        [
            YEAR,
            POWER,
            count("n_rollcalls"),
            count("countries"),
            share("median_agree"),
            share("p25_agree"),
            share("p75_agree"),
        ],
        ("year", "power"),
    )
    bad = table[(table.p25_agree > table.median_agree) | (table.median_agree > table.p75_agree)]
    if len(bad):
        row = bad.iloc[0]
        raise DataError(
            path,
            f"year {row.year}, power {row.power}: median_agree",
            f"expected p25_agree <= median_agree <= p75_agree, found {row.p25_agree:g}, "
            f"{row.median_agree:g}, {row.p75_agree:g}",
        )
    return table


def load_china_finance(path: Path = CHINA_FINANCE) -> pd.DataFrame:
    """China's official finance commitments: ``state, year, oda_usd_m, oof_usd_m, vof_usd_m``."""
    return read_table(
        path, [STATE, YEAR, money("oda_usd_m"), money("oof_usd_m"), money("vof_usd_m")],
        ("state", "year"),
    )
