"""Write the flagship answer into README.md and docs/scenarios.md from one run.

    .venv/bin/python tools/flagship_numbers.py          (rewrites both; a few seconds)
    .venv/bin/python tools/flagship_numbers.py --check  (exit 1 if either is out of date)

The text between ``<!-- flagship -->`` and ``<!-- /flagship -->`` in each file is the
sentence ``sim compare no_japan tokyo_initiative`` leads with
(:func:`sim.outputs.terminal.headline`),
from one comparison at the shipped settings, and the same change at the registry's constants
(noise only), which the comparison computes beside it. ``make docs-numbers`` runs this;
tests/test_ux.py checks that the files say what the command prints.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FILES = (ROOT / "README.md", ROOT / "docs" / "scenarios.md")
BLOCK = re.compile(r"(<!-- flagship -->)(.*?)(<!-- /flagship -->)", re.S)


def block() -> str:
    """The flagship answer's lines, as the command line prints them, for the documents."""
    import sim
    from sim.outputs import outcomes, terminal

    c = sim.compare("no_japan", "tokyo_initiative").comparison
    names = c.names
    lead = next(line for line in terminal.headline(c.headline, a=c.label_a, b=c.label_b,
                                                   names=names) if line.startswith("By "))
    lines = [f"`sim compare no_japan tokyo_initiative` ({c.replicates:,} paired replicates"
             + (f", {c.posterior.plain()}" if c.posterior is not None else "") + "): " + lead]
    if c.noise is not None:
        iv = outcomes.interval()
        noise = outcomes.compare_headline(outcomes.region_differences_table(c.noise, c.params_a),
                                          outcomes.differences_table(c.noise, c.params_a), iv,
                                          at_round=outcomes.answer_round(
                                              c.scenario_a.time.answer, c.params_a.dates))
        row = next(r for r in noise["powers"] if r["code"] == c.headline["focus"])
        lines.append(f"At the registry's constants alone ({len(c.noise.final):,} paired "
                     f"replicates) the same change is {outcomes.fine_points(row['p50'])} pp "
                     f"(median; {iv.label} {outcomes.fine_points(row['p5'])} to "
                     f"{outcomes.fine_points(row['p95'])}): the parameters matter far more "
                     "than the noise.")
    return "\n".join(lines)


def rewrite(text: str, new: str) -> str:
    """``text`` with its flagship block replaced by ``new``."""
    if not BLOCK.search(text):
        raise SystemExit("no <!-- flagship --> block found")
    return BLOCK.sub(lambda m: f"{m.group(1)}\n{new}\n{m.group(3)}", text)


def main(argv: list[str]) -> int:
    new = block()
    stale = []
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        updated = rewrite(text, new)
        if updated != text:
            stale.append(path)
            if "--check" not in argv:
                path.write_text(updated, encoding="utf-8")
    for path in stale:
        print(f"{'out of date' if '--check' in argv else 'rewrote'}: {path}")
    return 1 if stale and "--check" in argv else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
