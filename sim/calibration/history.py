"""China's official finance in the history scenario, written from the shipped AidData table.

The history scenario spends every commitment of 2000-2019 in ``sim/data/china_finance/`` as an
instrument of China's: ODA-like flows as grants, OOF-like and vague flows as loans, each to the
one state it went to, spread over ``china_commitment_years`` from the start of its year and
converted from the table's constant 2021 dollars to the dollars of its year. The registry
entries (one fact per state, year and flow) and the scenario that adds the instruments to
``base_1992.yaml`` are generated here, so they cannot drift from the table: a test regenerates
them and compares. Run ``python -m sim.calibration.history`` after changing the table.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pandas as pd

from sim.calibration import datasets
from sim.core import shipped
from sim.core.yamlio import dump_yaml

FACTS = shipped.SCENARIOS / "facts" / "china_finance.yaml"
SCENARIO = shipped.SCENARIOS / "history" / "central_asia_1992.yaml"
YEARS = range(2000, 2020)
#: Flows of the table: column, instrument kind, what it is.
FLOWS = (
    ("oda_usd_m", "grant", "ODA-like (concessional) commitment"),
    ("oof_usd_m", "loan", "OOF-like commitment (loans at or near market terms)"),
    ("vof_usd_m", "loan", "vague official flow (terms unknown, counted as a loan)"),
)
#: The US GDP deflator of each year relative to 2021 (about 118 on a 2012 = 100 basis).
DEFLATOR = {
    2000: 0.66, 2001: 0.68, 2002: 0.69, 2003: 0.70, 2004: 0.72, 2005: 0.75, 2006: 0.77,
    2007: 0.79, 2008: 0.81, 2009: 0.82, 2010: 0.83, 2011: 0.85, 2012: 0.87, 2013: 0.88,
    2014: 0.89, 2015: 0.90, 2016: 0.91, 2017: 0.92, 2018: 0.94, 2019: 0.95,
}
SOURCE = {
    "title": "AidData's Global Chinese Development Finance Dataset, Version 3.0 (recipient-years "
    "via the odadata package; shipped in sim/data/china_finance/)",
    "url": "https://www.aiddata.org/data/aiddatas-global-chinese-development-finance-dataset-version-3-0",
}


def _flow_id(state: str, year: int, column: str) -> str:
    return f"chn_fin_{state.lower()}_{year}_{column.split('_')[0]}"


def _deflator_id(year: int) -> str:
    return f"usd2021_to_{year}"


def _rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The table's rows of 2000-2019 as plain dicts, by state and year."""
    rows = table.sort_values(["state", "year"]).to_dict(orient="records")
    return [{str(k): v for k, v in r.items()} for r in rows if int(r["year"]) in YEARS]


def entries(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Registry entries: the deflators, then one fact per state, year and non-zero flow."""
    out: list[dict[str, Any]] = [
        {
            "id": _deflator_id(y),
            "kind": "assumption",
            "value": v,
            "unit": "index",
            "why": f"Dollars of 2021 in dollars of {y}: the US GDP deflator of {y} over 2021's "
            "(the Bureau of Economic Analysis index, read as a judgement, not stored); AidData "
            "reports commitments in constant 2021 dollars, GDP is in current dollars.",
        }
        for y, v in DEFLATOR.items()
    ]
    for row in _rows(table):
        state, year = str(row["state"]), int(row["year"])
        for column, _, what in FLOWS:
            value = float(row[column])
            if value > 0:
                out.append(
                    {
                        "id": _flow_id(state, year, column),
                        "kind": "fact",
                        "value": value,
                        "unit": "USD m",
                        "year": year,
                        "note": f"China to {state}, {year}: {what}, constant 2021 dollars",
                        "source": SOURCE,
                    }
                )
    return out


def instruments(table: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """China's instruments, one per state, year and non-zero flow."""
    out: dict[str, dict[str, Any]] = {}
    for row in _rows(table):
        state, year = str(row["state"]), int(row["year"])
        for column, kind, _ in FLOWS:
            if float(row[column]) <= 0:
                continue
            out[f"aiddata_{state.lower()}_{year}_{column.split('_')[0]}"] = {
                "kind": kind,
                "pledged_usd_bn": {
                    "ref": _flow_id(state, year, column),
                    "scale": DEFLATOR[year],
                    "why": f"2021 dollars in {year} dollars ({_deflator_id(year)})",
                },
                "start": f"{year}-01-01",
                "period_years": "china_commitment_years",
                "delivery_rate": "delivery_budgeted_aid",
                "allocation": {"strategy": "fixed", "shares": {state: "alloc_all"}},
            }
    return out


FACTS_HEADER = """\
# China's official finance commitments to the five, 2000-2019, from the AidData table shipped in
# sim/data/china_finance/ (see its README), and the deflators that turn its constant 2021
# dollars into dollars of each year. Written by `python -m sim.calibration.history`; do not
# edit by hand.
"""

SCENARIO_HEADER = """\
# The 1992-2019 history of Central Asia with China's official finance: base_1992.yaml plus one
# instrument of China's per state, year and flow recorded by AidData (2000-2019; facts in
# scenarios/facts/china_finance.yaml). Written by `python -m sim.calibration.history`; do not
# edit by hand: change base_1992.yaml, or the table and rerun.
"""


def scenario(table: pd.DataFrame) -> dict[str, Any]:
    """The generated scenario: base_1992.yaml plus China's recorded finance."""
    return {
        "extends": "base_1992.yaml",
        "name": "central_asia_1992",
        "title": "Central Asia 1992-2019: the history the model is measured against",
        "question": (
            "Given the dated events and money flows of 1992-2019, how does the alignment of the "
            "five Central Asian states move under the model's rules, and how well does it "
            "predict their votes in the UN General Assembly (fitted on the votes of 1992-2012, "
            "or an earlier span of them; the votes of 2013-2019 are held out and predicted)?"
        ),
        "powers": {"CHN": {"instruments": instruments(table)}},
    }


def texts(table: pd.DataFrame | None = None) -> dict[Path, str]:
    """The two generated files' contents, by path."""
    table = datasets.load_china_finance() if table is None else table
    return {
        FACTS: FACTS_HEADER + "\n" + dump_yaml(entries(table)),
        SCENARIO: SCENARIO_HEADER + "\n" + dump_yaml(scenario(table)),
    }


def main() -> None:
    """Rewrite the generated registry file and scenario from the shipped table."""
    for path, text in texts().items():
        path.write_text(text, encoding="utf-8")
        sys.stdout.write(f"wrote {path}\n")


if __name__ == "__main__":
    main()


def events_table(path: Path = SCENARIO) -> str:
    """The history scenario's timeline as a Markdown table: date, event, kind, source.

    GDP, trade and remittance levels are summarised in one row each (they are data series,
    listed in the registry), every other event has its own row.
    """
    from sim.scenario.facts import PublicSource, find_registry, load_registry
    from sim.scenario.schema import load

    sc = load(path)
    reg = load_registry(find_registry(path))
    rows = ["| date | event | type | source |", "|---|---|---|---|"]
    series: dict[str, list[str]] = {}
    for name, ev in sorted(sc.events.items(), key=lambda kv: (kv[1].date, kv[0])):
        if ev.type == "gdp" or getattr(ev, "level_usd_bn", None) is not None:
            series.setdefault(ev.type, []).append(name)
            continue
        src = reg.get(ev.source) if ev.source else None
        if src is not None and isinstance(src.source, PublicSource):
            cite = f"[{src.source.title}]({src.source.url})"
        else:
            cite = "none"
        rows.append(f"| {ev.date.isoformat()} | `{name}` | {ev.type} | {cite} |")
    for kind, names in series.items():
        rows.append(
            f"| levels | {', '.join(f'`{n}`' for n in names)} | {kind} | the registry entry "
            "named by each event's `source` |"
        )
    return "\n".join(rows) + "\n"
