"""Write docs/scenarios.md and docs/img/*.png from the shipped scenarios.

    .venv/bin/python docs/make_scenarios.py            (about 15 s on one core)

Every number in docs/scenarios.md comes from this script, so the document matches the code:
the starting alignment and what it is made of, each scenario's question and its differences
from its parent file (read from the resolved scenarios), headline results of 1000-replicate
ensembles, one figure per scenario, and the face-validity claims of
tests/test_face_validity.py evaluated under alternative assumptions. Runs are seeded, so the
output is the same each time; tests/test_scenarios_library.py checks the key tables.
"""
# ruff: noqa: E501  (markdown tables and prose are written as long lines)

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.model import rules  # noqa: E402
from sim.model.params import Params, build  # noqa: E402
from sim.scenario.schema import Scenario, load, to_raw  # noqa: E402
from tests.test_face_validity import CLAIMS, Ensemble, ensemble  # noqa: E402

SCENARIOS = ROOT / "scenarios"
IMG = ROOT / "docs" / "img"
OUT = ROOT / "docs" / "scenarios.md"
N = 1000
FLAGSHIP = ""
N_VARIANT = 200
COLOURS = {"CHN": "#c0392b", "RUS": "#34495e", "EU": "#2e86c1", "USA": "#7d3c98", "JPN": "#d4ac0d"}

# Each scenario, the reference it is compared with, and what its question is about.
ORDER = [
    ("baseline_2025", None),
    ("tokyo_initiative", "no_japan"),
    ("no_japan", "tokyo_initiative"),
    ("great_power_race", "tokyo_initiative"),
    ("russia_weakened", "tokyo_initiative"),
    ("debt_backlash", "tokyo_initiative"),
    ("middle_corridor", "tokyo_initiative"),
]
PARENT = {"tokyo_initiative": "baseline_2025", "no_japan": "tokyo_initiative",
          "great_power_race": "tokyo_initiative", "russia_weakened": "tokyo_initiative",
          "debt_backlash": "tokyo_initiative", "middle_corridor": "tokyo_initiative"}


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    values: tuple[tuple[str, float], ...] = ()
    sets: tuple[str, ...] = ()


CUSTOMS = tuple(f"states.{s}.ties.CHN.trade_usd_bn=chn_trade_{s.lower()}_2024"
                for s in ("KAZ", "UZB", "KGZ", "TJK"))
VARIANTS = [
    Variant("calibrated", "as calibrated (scenarios/facts)"),
    Variant("no_dialogue", "dialogue formats weigh nothing (tie_dialogue 0)",
            (("tie_dialogue", 0.0),)),
    Variant("dialogue_regional", "a dialogue weighs as a regional organisation (tie_dialogue 0.1)",
            (("tie_dialogue", 0.1),)),
    Variant("customs", "China's customs figures for trade with China (re-exports included)",
            sets=CUSTOMS),
    Variant("security_half", "security ties weigh half in the anchor (iw_security 0.5)",
            (("iw_security", 0.5),)),
    Variant("econ_low", "half the response to economic ties (w_econ 0.1)", (("w_econ", 0.1),)),
    Variant("econ_high", "twice the response to economic ties (w_econ 0.4)", (("w_econ", 0.4),)),
    Variant("aid_value", "business projects valued like perceived gain (value_investment 0.3)",
            (("value_investment", 0.3),)),
    Variant("target_met", "Japan's business target fully met (delivery_business_target 1)",
            (("delivery_business_target", 1.0),)),
    Variant("no_summits", "summits carry no boost (summit_boost 0)", (("summit_boost", 0.0),)),
    Variant("sharp", "every utility twice as sharp (sharpness 2)", (("sharpness", 2.0),)),
    Variant("noisy", "twice the political noise (utility_noise_sd 0.3)",
            (("utility_noise_sd", 0.3),)),
    Variant("weak_hedge", "weak balancing (w_hedge 0.5)", (("w_hedge", 0.5),)),
    Variant("no_neutral_discount", "neutrality does not discount blocs and bases (neutral_discount 0)",
            (("neutral_discount", 0.0),)),
]


@lru_cache(maxsize=32)
def run(name: str, n: int = N) -> Ensemble:
    return ensemble(name, n=n)


def fmt(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}f}"


def signed(x: float, digits: int = 3) -> str:
    return f"{x:+.{digits}f}"


# --------------------------------------------------------------------------- anchor decomposition


def anchor_parts(sc: Scenario, p: Params) -> dict[str, np.ndarray]:
    """Score contributions of each indicator ``(state, power)``; their sum normalised is the anchor."""
    shape = (len(p.states), len(p.powers))
    trade, remit, prio = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for i, s in enumerate(p.states):
        for j, q in enumerate(p.powers):
            tie = sc.states[s].ties.get(q)
            if tie is None:
                continue
            trade[i, j] = tie.trade_usd_bn.value if tie.trade_usd_bn else 0.0
            remit[i, j] = tie.remittances_usd_bn.value if tie.remittances_usd_bn else 0.0
            prio[i, j] = tie.priority.value if tie.priority else 0.0
    w = {k: v.value for k, v in sc.initial.weights}
    flows = (trade + remit).sum(axis=1, keepdims=True)
    nf = p.neutral_factor[0][:, None]
    parts = {
        "floor": np.full(shape, w["floor"]),
        "trade": w["trade"] * trade / flows,
        "remittances": w["remittances"] * remit / flows,
        "security": nf * w["security"] * p.security[0],
        "institutions": w["institutions"] * p.institutions[0],  # binding ties discounted within
        "priority": w["priority"] * prio,
    }
    total = sum(parts.values())
    np.testing.assert_allclose(total / total.sum(axis=1, keepdims=True), p.anchor, atol=1e-12)
    return parts


def anchor_section(lines: list[str]) -> None:
    sc = load(SCENARIOS / "baseline_2025.yaml")
    p = build(sc)
    parts = anchor_parts(sc, p)
    hedge = rules.hedging_index(p.anchor)
    lines += [
        "## Where each state starts, and why",
        "",
        "The starting alignment (the anchor) is not typed in: `rules.initial_alignment` derives it",
        "from indicators in scenarios/facts (docs/ODD.md, Initialisation). Each power's score is",
        "floor + trade share + remittance share (both of the state's economic flows with the five",
        "powers) + security tie + shared memberships (both discounted for a neutral state) +",
        "stated priority, each times its weight; the anchor is the scores normalised.",
        "",
        "| state | " + " | ".join(p.powers) + " | hedging |",
        "|---|" + "---|" * (len(p.powers) + 1),
    ]
    for i, s in enumerate(p.states):
        lines.append(f"| {s} | " + " | ".join(fmt(x) for x in p.anchor[i]) + f" | {fmt(hedge[i], 2)} |")
    lines += ["", "What the scores are made of (before normalising; each row's sum divides it):", ""]
    for i, s in enumerate(p.states):
        lines += [f"**{sc.states[s].name}**", "",
                  "| indicator | " + " | ".join(p.powers) + " |",
                  "|---|" + "---|" * len(p.powers)]
        for key, arr in parts.items():
            if np.any(arr[i] > 0):
                lines.append(f"| {key} | " + " | ".join(fmt(x, 2) for x in arr[i]) + " |")
        total = sum(arr[i] for arr in parts.values())
        lines.append("| **score** | " + " | ".join(f"**{fmt(x, 2)}**" for x in total) + " |")
        lines.append("")
    lines += [
        "Kazakhstan starts with Russia first because Russia is in every one of its security and",
        "economic blocs (CSTO, EAEU, CIS, SCO) and in both organisations Kazakhstan names as its",
        "priority, although the EU is its largest trade partner; China is second on trade and the",
        "SCO. Turkmenistan's gas trade makes China its largest economic partner by far, and its",
        "neutrality, which discounts alliances and bases (it has neither), leaves that trade to",
        "decide: China starts with over half of its alignment, in line with its votes in the UN",
        "General Assembly, closest to China's of the five. Uzbekistan, out of the CSTO and the",
        "EAEU, is balanced between China (trade) and Russia (trade and remittances). Kyrgyzstan",
        "and Tajikistan host Russian bases and depend on remittances from Russia.",
        "",
    ]


# --------------------------------------------------------------------------- scenario sections


def differences(name: str) -> list[str]:
    """Fields whose resolved value differs from the parent scenario, as short lines."""
    parent = PARENT.get(name)
    if parent is None:
        return []

    def flat(obj: Any, prefix: str = "") -> dict[str, Any]:
        if isinstance(obj, dict):
            out: dict[str, Any] = {}
            for k, v in obj.items():
                out.update(flat(v, f"{prefix}.{k}" if prefix else str(k)))
            return out
        return {prefix: obj}

    a = flat(to_raw(load(SCENARIOS / f"{parent}.yaml")))
    b = flat(to_raw(load(SCENARIOS / f"{name}.yaml")))
    keys = sorted(k for k in a.keys() | b.keys()
                  if a.get(k) != b.get(k) and k not in ("name", "title", "question"))
    groups: dict[str, list[str]] = {}
    for k in keys:
        parts = k.split(".")
        depth = {"events": 2, "powers": 4 if parts[2:3] == ["instruments"] else 3}.get(parts[0], 2)
        head = ".".join(parts[:depth])
        groups.setdefault(head, []).append(k)
    out = []
    for head, ks in groups.items():
        kind = "added" if all(k not in a for k in ks) else "removed" if all(k not in b for k in ks) else "changed"
        if kind == "changed" and len(ks) == 1:
            k = ks[0]
            out.append(f"`{k}`: {short(a.get(k))} → {short(b.get(k))}")
        else:
            out.append(f"`{head}` {kind}")
    return out


def short(v: Any) -> str:
    if isinstance(v, dict):
        return v.get("ref", str(v.get("value", v)))
    return str(v)


def region_paths(e: Ensemble) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    reg = e.region
    return reg.mean(axis=0), np.quantile(reg, 0.05, axis=0), np.quantile(reg, 0.95, axis=0)


def figure(name: str, e: Ensemble, ref: Ensemble | None, ref_name: str | None) -> Figure:
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    ax, bx = fig.subplots(1, 2, width_ratios=[1.25, 1])
    # the ensembles stop at the answer date (the claims and tables are about the end of 2030)
    years = np.array([d.year + (d.timetuple().tm_yday - 1) / 365.25
                      for d in e.p.dates[: e.a.shape[1]]])
    mean, lo, hi = region_paths(e)
    for j, q in enumerate(e.p.powers):
        ax.plot(years, mean[:, j], color=COLOURS[q], label=q, lw=1.8)
        ax.fill_between(years, lo[:, j], hi[:, j], color=COLOURS[q], alpha=0.2, lw=0)
        if ref is not None:
            ax.plot(years, ref.region.mean(axis=0)[:, j], color=COLOURS[q], lw=1, ls="--")
    ax.set_ylabel("share of the region (equal weights)")
    ax.set_title(f"{name}: regional shares, mean and 5-95%"
                 + (f" (dashed: {ref_name})" if ref is not None else ""), fontsize=9)
    ax.legend(ncol=5, fontsize=8, loc="upper center", frameon=False)
    ax.set_ylim(0, max(0.6, float(hi.max()) + 0.08))
    x = np.arange(len(e.p.states))
    width = 0.16
    if ref is not None:
        diff = (e.final - ref.final).mean(axis=0)
        for j, q in enumerate(e.p.powers):
            bx.bar(x + (j - 2) * width, diff[:, j], width, color=COLOURS[q], label=q)
        bx.axhline(0, color="black", lw=0.6)
        bx.set_title(f"final alignment minus {ref_name} (paired means)", fontsize=9)
    else:
        for j, q in enumerate(e.p.powers):
            bx.bar(x + (j - 2) * width, e.final[..., j].mean(axis=0), width, color=COLOURS[q], label=q)
        bx.set_title("final alignment by state (means)", fontsize=9)
    bx.set_xticks(x, e.p.states)
    return fig


def scenario_section(lines: list[str], name: str, ref_name: str | None, headline: list[str]) -> None:
    sc = load(SCENARIOS / f"{name}.yaml")
    e = run(name)
    ref = run(ref_name) if ref_name else None
    IMG.mkdir(parents=True, exist_ok=True)
    figure(name, e, ref, ref_name).savefig(IMG / f"{name}.png", dpi=100)
    reg = e.region[:, -1]
    lo, hi = np.quantile(reg, 0.05, axis=0), np.quantile(reg, 0.95, axis=0)
    headline.append(f"| `{name}` | " + " | ".join(
        f"{fmt(m)} ({fmt(a, 2)}-{fmt(b, 2)})" for m, a, b in zip(reg.mean(axis=0), lo, hi, strict=True))
        + " |")
    lines += [f"### `{name}`: {sc.title}", "", f"**Question.** {sc.question}", ""]
    diffs = differences(name)
    if diffs:
        lines += [f"**Differences from `{PARENT[name]}`** (read from the resolved files):", ""]
        lines += [f"- {d}" for d in diffs] + [""]
    lines += [f"![{name}](img/{name}.png)", "",
              "Final alignment, end of 2030 (mean of 1000 replicates):", "",
              "| state | " + " | ".join(e.p.powers) + " | hedging |",
              "|---|" + "---|" * (len(e.p.powers) + 1)]
    h = rules.hedging_index(e.final).mean(axis=0)
    for i, s in enumerate(e.p.states):
        lines.append(f"| {s} | " + " | ".join(fmt(x) for x in e.final[:, i].mean(axis=0))
                     + f" | {fmt(h[i], 2)} |")
    lines.append("")
    if ref is not None:
        d = reg - ref.region[:, -1]
        lines += [f"Regional share minus `{ref_name}`, paired by replicate (mean; 5th-95th):", "",
                  "| " + " | ".join(e.p.powers) + " |", "|" + "---|" * len(e.p.powers),
                  "| " + " | ".join(f"{signed(m)} ({signed(a)} to {signed(b)})" for m, a, b in zip(
                      d.mean(axis=0), np.quantile(d, 0.05, axis=0), np.quantile(d, 0.95, axis=0),
                      strict=True)) + " |", ""]
    if name != "baseline_2025":
        base = run("baseline_2025")
        d = (reg - base.region[:, -1]).mean(axis=0)
        lines += ["Against `baseline_2025`: " + ", ".join(
            f"{q} {signed(x)}" for q, x in zip(e.p.powers, d, strict=True)), ""]
    lines += [NOTES[name], ""]


NOTES = {
    "baseline_2025": (
        "**Reading.** With only the 2023-2025 pledges and the leaders' summits on their cadence,"
        " the region is close to a status quo: Russia keeps about half of the region, China a"
        " quarter; the EU, the US and Japan share the rest. Shares move by less than a point in"
        " five years; the summits make small waves that fade within a year. Uzbekistan and"
        " Kazakhstan are the most hedged states; China leads Turkmenistan with over half of its"
        " alignment."),
    "tokyo_initiative": (
        "**Reading.** Japan's package raises Japan's share of the region by about a third"
        " (from 4.0% to 5.3%) and raises it in every state, most in Turkmenistan, Uzbekistan and"
        " Tajikistan, where Japan's money is large beside its small existing ties, least in"
        " Kazakhstan, where Japan already trades $2bn a year. The gain comes out of every other"
        " power's share, Russia's and China's most, but no state changes its leading power:"
        " China and Russia keep most of the alignment of every state. The gain builds up over"
        " 2026-2027 as money flows and the leaders' summits add to it; the decomposition below"
        " shows each part's share."),
    "no_japan": (
        "**Reading.** The counterfactual equals `baseline_2025` by construction (a test checks"
        " the arrays); it shares tokyo_initiative's seed and powers, so every difference between"
        " the two is the package's effect, replicate by replicate."),
    "great_power_race": (
        "**Reading.** A race changes little. The answers pledged in 2027 are small beside the"
        " powers' established trade and security ties, and rivals' gains (a few points at most)"
        " raise budgets by a few tens of percent. China's loan-financed answer even costs it a"
        " little, because the debt it leaves outweighs the money once disbursement ends. Japan"
        " keeps its gain."),
    "russia_weakened": (
        "**Reading.** Russia loses about two points of the region, most in Kyrgyzstan and Tajikistan"
        " (where its bases and remittances weigh most), least in neutral Turkmenistan. China"
        " picks up about half of what Russia loses; the EU, the US and Japan share the rest."
        " Russia still leads in the four states it led: erosion at this pace does not flip a"
        " state by 2030."),
    "debt_backlash": (
        "**Reading.** China loses a point of the region, most in Kyrgyzstan and Tajikistan,"
        " whose debt to China is largest relative to their economies. Russia, with little"
        " lending in the region, gains most of it. Japan gains a tenth of a point: its new yen"
        " loans are concessional, so each dollar of them leaves a third of a dollar of burden."),
    "middle_corridor": (
        "**Reading.** A working corridor moves the EU up by a third of a point of the region,"
        " concentrated in the three states it crosses (Turkmenistan, Kazakhstan, Uzbekistan)."
        " The effect is modest because the EU's ties with Kazakhstan are already large; trade"
        " growth of a quarter adds about 0.05 log-odds of appeal."),
}


# --------------------------------------------------------------------------- Japan's effect, decomposed


def japan_decomposition(lines: list[str]) -> None:
    tokyo = load(SCENARIOS / "tokyo_initiative.yaml")
    summits = [f"events.{k}=null" for k in tokyo.events if k.startswith(("tokyo_", "japan_summit_"))]
    money = ["powers.JPN.instruments=null"]
    parts = [
        ("whole package", ()),
        ("money only (no summits)", tuple(summits)),
        ("summits only (Tokyo, its preparatory meeting, 2027 and 2029)", tuple(money)),
    ]
    c = run("no_japan")
    j = c.q("JPN")
    lines += ["## Japan's effect, decomposed", "",
              "Over the shipped posterior (written by `make docs-numbers` from one run of the "
              "command):", "", "<!-- flagship -->", FLAGSHIP, "<!-- /flagship -->", "",
              "At the registry's constants:", "",
              "Japan's regional share at the end of 2030 minus the counterfactual's, paired by",
              "replicate (1000 replicates), with parts of the package removed:", "",
              "| what Japan does | gain in regional share | 2027 | gain by state (KAZ, UZB, TKM, KGZ, TJK) |",
              "|---|---|---|---|"]
    y27 = next(r for r, d in enumerate(c.p.dates) if d.year == 2028) - 1
    for label, sets in parts:
        e = ensemble("tokyo_initiative", sets=sets, n=N) if sets else run("tokyo_initiative")
        g = e.region[:, :, j] - c.region[:, :, j]
        by_state = (e.final[..., j] - c.final[..., j]).mean(axis=0)
        lines.append(f"| {label} | {signed(g[:, -1].mean())} | {signed(g[:, y27].mean())} | "
                     + ", ".join(signed(x) for x in by_state) + " |")
    lines += ["", "The parts do not add up exactly (the model is not linear). Money counts while it"
              " flows (business projects, loans and grants over 2026-2030); each summit gives a"
              " lift that fades within a year, so their part at a given date depends on how"
              " recently one was held (Tokyo in December 2025, then December 2027 and 2029). Raising"
              " the 2004 dialogue to leaders' level adds no tie (all five already belong to it);"
              " what it adds is the summits. No part alone is as large as the whole package.", ""]


# --------------------------------------------------------------------------- claims under assumptions


def claims_section(lines: list[str]) -> None:
    lines += ["## Face validity: which claims hold under which assumptions", "",
              "The claims below are what the source texts say (or imply) about the region;",
              "tests/test_face_validity.py asserts each on the scenarios as shipped (400",
              "replicates; 'holds' means in at least 95% of replicates, 99% for paired",
              "comparisons). Here each is re-checked (200 replicates) with one assumption",
              "changed at a time. ✓ holds, ✗ fails.", "",
              "| claim | basis |", "|---|---|"]
    lines += [f"| **{c.key}**: {c.text} | {c.basis} |" for c in CLAIMS]
    lines += ["", "| assumptions | " + " | ".join(c.key for c in CLAIMS) + " | Japan's gain |",
              "|---|" + "---|" * (len(CLAIMS) + 1)]
    details: list[str] = []
    for v in VARIANTS:
        cache: dict[str, Ensemble] = {}

        def runs(name: str, v: Variant = v, cache: dict[str, Ensemble] = cache) -> Ensemble:
            if name not in cache:
                cache[name] = ensemble(name, values=v.values, sets=v.sets, n=N_VARIANT)
            return cache[name]

        marks = []
        for c in CLAIMS:
            verdict = c.check(runs)
            marks.append("✓" if verdict.holds else "✗")
            if not verdict.holds:
                details.append(f"- *{v.label}*, **{c.key}**: {verdict.detail}")
        j = runs("tokyo_initiative").q("JPN")
        gain = (runs("tokyo_initiative").region[:, -1, j] - runs("no_japan").region[:, -1, j]).mean()
        lines.append(f"| {v.label} | " + " | ".join(marks) + f" | {signed(gain)} |")
    lines += ["", "Where a claim fails, the check's own numbers:", "", *details, ""]


# --------------------------------------------------------------------------- the document


HEAD = """# The Central Asia scenario library

*Generated by `docs/make_scenarios.py` from the shipped scenarios; do not edit by hand.*

Seven scenario files under `scenarios/` ask one question each about the five Central Asian
states (Kazakhstan, Uzbekistan, Turkmenistan, Kyrgyzstan, Tajikistan) and five powers (China,
Russia, the EU, the US, Japan), from January 2026 in quarterly rounds. Each answers its
question at the end of 2030 (20 rounds, `time.answer`) and runs on to the end of 2035, so that
a comparison shows whether an effect lasts once the money stops. All of them share one seed, so comparisons between them are paired replicate by
replicate. Every number they use is a fact (with its source) or an assumption (with its
reason) in `scenarios/facts/`; `sim facts` lists them and the fields that use each. The model
is described in [ODD.md](ODD.md).

| file | extends | question in brief |
|---|---|---|
| [baseline_2025](../scenarios/baseline_2025.yaml) | — | the region after the 2025 summits of the EU, China, Russia and the US, before Tokyo |
| [tokyo_initiative](../scenarios/tokyo_initiative.yaml) | baseline_2025 | Japan's December 2025 package, summit and new leaders' format |
| [no_japan](../scenarios/no_japan.yaml) | tokyo_initiative | the counterfactual: the package removed (equal to the baseline) |
| [great_power_race](../scenarios/great_power_race.yaml) | tokyo_initiative | every power pledges again in 2027 and answers its rivals' gains |
| [russia_weakened](../scenarios/russia_weakened.yaml) | tokyo_initiative | sanctions and war erode Russia's capacity; remittances from Russia fall |
| [debt_backlash](../scenarios/debt_backlash.yaml) | tokyo_initiative | debt (mostly owed to China) weighs three times as much |
| [middle_corridor](../scenarios/middle_corridor.yaml) | tokyo_initiative | the Trans-Caspian route rebuilt, customs sped up, EU trade up a quarter |
| [examples/archipelago](../scenarios/examples/archipelago.yaml) | — | an invented region, to show the engine knows nothing Central Asian |

The ensembles carry the model's own noise (quarterly political shocks, uneven delivery of
pledges), so the 5-95% ranges below are narrow: they say how much chance moves a result given
the assumptions. How much the assumptions themselves matter is what the last section and
`sim sweep` explore. Regional shares weight the five states equally.
"""


def main() -> None:
    global FLAGSHIP
    found = re.search(r"<!-- flagship -->(.*?)<!-- /flagship -->",
                      OUT.read_text(encoding="utf-8") if OUT.is_file() else "", re.S)
    FLAGSHIP = found.group(1).strip() if found else ""  # kept; tools/flagship_numbers.py rewrites it
    lines = [HEAD]
    anchor_section(lines)
    headline: list[str] = []
    body: list[str] = ["## The scenarios", ""]
    for name, ref in ORDER:
        scenario_section(body, name, ref, headline)
    p = run("baseline_2025").p
    lines += ["## Headline: each power's share of the region at the end of 2030", "",
              "Mean of 1000 replicates (5th-95th percentile):", "",
              "| scenario | " + " | ".join(p.powers) + " |", "|---|" + "---|" * len(p.powers)]
    lines += [*headline, ""]
    lines += body
    japan_decomposition(lines)
    claims_section(lines)
    OUT.write_text("\n".join(lines).rstrip() + "\n")
    print(f"wrote {OUT} and {len(ORDER)} figures in {IMG}")


if __name__ == "__main__":
    main()
