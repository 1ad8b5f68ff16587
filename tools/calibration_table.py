"""Rewrite the `<!-- posterior -->` block of docs/calibration.md from the shipped posterior:
each constant's prior and posterior median and 90% range, their width ratio, and the ridges
(pairs of constants whose draws trade off: rank correlation of 0.4 or more in size).

    .venv/bin/python tools/calibration_table.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.calibration import posterior  # noqa: E402

DOC = ROOT / "docs" / "calibration.md"
RIDGE = 0.4


def block() -> str:
    post = posterior.load(posterior.SHIPPED)
    table = pd.read_csv(posterior.SHIPPED / "posterior.csv")
    lines = [
        "| constant | prior median [90%] | posterior median [90%] | width ratio | |",
        "|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        width_prior = r.prior_p95 - r.prior_p5
        ratio = (r.post_p95 - r.post_p5) / width_prior if width_prior > 0 else np.nan
        kind = ("carried (no vote informs it)" if r.quantity in post.carried
                else "link" if str(r.quantity).startswith("observation.") else "fitted")
        lines.append(f"| `{r.quantity}` | {r.prior_median:.3g} [{r.prior_p5:.3g}, "
                     f"{r.prior_p95:.3g}] | {r.post_median:.3g} [{r.post_p5:.3g}, "
                     f"{r.post_p95:.3g}] | {ratio:.2f} | {kind} |")
    names = [*post.model_quantities, *(q for q in post.quantities
                                       if q.startswith("observation."))]
    ranks = post.draws[names].rank().to_numpy()
    corr = np.corrcoef(ranks, rowvar=False)
    pairs = sorted(((abs(corr[i, j]), names[i], names[j], corr[i, j])
                    for i in range(len(names)) for j in range(i + 1, len(names))
                    if abs(corr[i, j]) >= RIDGE), reverse=True)
    lines += ["", f"Ridges (rank correlation of the draws, {RIDGE} or more in size): "
              + ("; ".join(f"`{a}` with `{b}` {c:+.2f}" for _, a, b, c in pairs)
                 if pairs else "none") + "."]
    return "\n".join(lines)


def main() -> None:
    text = DOC.read_text(encoding="utf-8")
    new = re.sub(r"<!-- posterior -->.*?<!-- /posterior -->",
                 lambda _: f"<!-- posterior -->\n{block()}\n<!-- /posterior -->", text,
                 flags=re.S)
    DOC.write_text(new, encoding="utf-8")
    print(f"rewrote the posterior table in {DOC}")


if __name__ == "__main__":
    main()
