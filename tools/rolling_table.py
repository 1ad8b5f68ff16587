"""Rewrite the `<!-- rolling -->` block of docs/calibration.md from the rolling-origin scores
kept in docs/rolling/ (each a `rolling_origin.csv` written by `sim hindcast --until YEAR`,
copied under a name that says what produced it: `<origin>_<constants>.csv`, constants being
`registry` for the scenario's own values or `posterior` for a posterior fitted to the origin).

    .venv/bin/python tools/rolling_table.py
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "calibration.md"
KEPT = ROOT / "docs" / "rolling"
#: the baseline the model has to beat (sim.calibration.rolling.TO_BEAT), and the short names of the
#: columns
TO_BEAT = "recent offset (2 years)"
MIXTURE = "vote mixture link"
WORLD = "world + AR(1) offset, no model"
CONSTANTS = {"registry": "the scenario's own constants",
             "posterior": "a posterior fitted to the origin"}


def _short(method: str) -> str:
    return "offsets link" if method.startswith("offsets link") else method


def overall(table: pd.DataFrame) -> list[str]:
    """Every method's scores over all cells, best RMSE first."""
    rows = table[table.group == "all"].sort_values("rmse")
    out = ["| method | RMSE | coverage of 90% | mean width | CRPS | parameters |",
           "|---|---|---|---|---|---|"]
    for r in rows.itertuples():
        name = f"**{r.method}**" if r.method == MIXTURE else r.method
        out.append(f"| {name} | {r.rmse:.4f} | {r.coverage90:.0%} | {r.width90:.3f} | "
                   f"{r.crps:.4f} | {int(r.parameters)} |")
    return out


def groups(table: pd.DataFrame) -> list[str]:
    """RMSE per state and per power: the mixture, the offsets link, the baseline to beat and
    the world's agenda with no model, and whether the mixture beats the baseline."""
    methods = [MIXTURE, *(m for m in table.method.unique() if m.startswith("offsets link")),
               TO_BEAT, WORLD]
    out = ["| cells | " + " | ".join(_short(m) for m in methods) + " | mixture beats "
           "the recent offset |", "|---|" + "---|" * (len(methods) + 1)]
    for g in [g for g in table.group.unique() if g != "all"]:
        sub = table[table.group == g].set_index("method")
        vals = [sub.rmse.get(m, float("nan")) for m in methods]
        beats = "yes" if vals[0] < sub.rmse.get(TO_BEAT, float("inf")) else "**no**"
        out.append(f"| {g} | " + " | ".join(f"{v:.3f}" for v in vals) + f" | {beats} |")
    return out


def block() -> str:
    lines: list[str] = []
    for path in sorted(KEPT.glob("*.csv")):
        origin, constants = path.stem.split("_", 1)
        table = pd.read_csv(path)
        cells = int(table[(table.group == "all") & (table.method == MIXTURE)].cells.iloc[0])
        lines += [f"**Fitted to {origin}, scored on {int(origin) + 1}-2012 ({cells} "
                  f"state-power-years), with {CONSTANTS.get(constants, constants)}** "
                  f"(`docs/rolling/{path.name}`)", "", *overall(table), "", *groups(table), ""]
    return "\n".join(lines).rstrip()


def main() -> None:
    text = DOC.read_text(encoding="utf-8")
    if "<!-- rolling -->" not in text:
        raise SystemExit(f"{DOC}: expected a <!-- rolling --> ... <!-- /rolling --> block")
    new = re.sub(r"<!-- rolling -->.*?<!-- /rolling -->",
                 lambda _: f"<!-- rolling -->\n{block()}\n<!-- /rolling -->", text, flags=re.S)
    DOC.write_text(new, encoding="utf-8")
    print(f"rewrote the rolling-origin tables in {DOC}")


if __name__ == "__main__":
    main()
