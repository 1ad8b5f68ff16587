"""A tour of the Python interface: the flagship question, a what-if, one ensemble, a sweep.

    python docs/examples/api_tour.py [FOLDER]

Prints what it finds and writes the comparison's results folder under FOLDER (default:
results/api_tour). It takes about half a minute; docs/api.md explains each step.
"""

from __future__ import annotations

import sys
from pathlib import Path

import sim

out = Path(sys.argv[1] if len(sys.argv) > 1 else "results/api_tour")

# 1. The flagship question: Japan's package against none, paired replicate by replicate, over
#    the shipped posterior of the behavioural constants (as `sim compare` runs it).
c = sim.compare("no_japan", "tokyo_initiative")
print(c.answer())
e = c.effect
print(f"\nJapan's effect on its share of the region: {100 * e['mean']:+.2f} percentage points "
      f"({e['interval']}: {100 * e['p5']:+.2f} to {100 * e['p95']:+.2f})")

# 2. The effect over time, as a DataFrame with real dates: its value each 1 January.
jpn = c.region[c.region["power"] == "JPN"].set_index("date")["diff_mean"]
print("\nJapan's effect on 1 January of each year (percentage points):")
print((100 * jpn[jpn.index.dayofyear == 1]).round(2).to_string())

# 3. Who loses, state by state (shares converted to percentage points).
d = c.differences
worst = d.loc[d.groupby("state")["diff_mean"].idxmin(), ["state", "power", "diff_mean"]]
print("\nThe power that loses most in each state (percentage points):")
print(worst.assign(diff_mean=100 * worst["diff_mean"]).round(2).to_string(index=False))

# 4. A what-if against its own base: the business target delivered at 90% instead of as
#    assumed, the same random numbers on both sides (here on the scenario's own constants).
w = sim.compare("tokyo_initiative", set_b={
    "powers.JPN.instruments.business_target.delivery_rate": 0.9}, without_posterior=True)
print(f"\nDelivering 90% of the business target moves Japan's regional share by "
      f"{100 * w.effect['mean']:+.2f} percentage points more.")

# 5. One scenario's ensemble: Japan's regional share, median and 5-95% range, each 1 January
#    (10 replicates for each of 200 posterior draws).
r = sim.run("tokyo_initiative")
share = r.region[r.region["power"] == "JPN"].set_index("date")[["p5", "p50", "p95"]]
print("\nJapan's share of the region on 1 January of each year (percent):")
print(f"({r.interval.band})")
print((100 * share[share.index.dayofyear == 1]).round(1).to_string())

# 6. A small sweep: how Japan's regional share responds to how sharply states choose.
s = sim.sweep("tokyo_initiative", params={"dynamics.sharpness": (0.5, 3.0, 5)},
              replicates=50, outcomes=["JPN_region"])
print("\n" + s.outcomes[["dynamics.sharpness", "JPN_region"]].round(4).to_string(index=False))

# 7. Write the comparison's folder, as `sim compare` would (figures, tables, report).
folder = c.save(out / "flagship")
print(f"\nreport: {folder / 'report.html'}")
