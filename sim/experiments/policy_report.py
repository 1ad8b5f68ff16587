"""The results of ``sim policy``: the Pareto front, the figures, the manifest and the report.

``pareto.csv`` has one row per package no other package found dominates on the objectives
(within the budget), the best first, and the announced package as the last row (``reference``
true), each lever's value and each measure with its interval; ``evaluations.csv`` every
package the search ran. Shares are in percentage points (``_pp``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from sim.experiments.policy import (
    ROBUST_QUANTILE,
    BudgetRepair,
    Evaluation,
    Lever,
    Problem,
    State,
    measures,
    non_dominated,
    objective_matrix,
)
from sim.outputs import results
from sim.scenario.schema import file_digest

#: What each measure column means (percentage points of the power's regional share).
MEASURES = {
    "effect": "median effect on the power's regional share at the answer date (over draws and "
              "replicates)",
    "robust": f"{round(100 * ROBUST_QUANTILE)}th percentile over draws of the draw's mean effect",
    "regret": "median over draws of the shortfall from the best package found for that draw",
    "russia": "median loss of Russia's regional share",
    "china": "median loss of China's regional share",
    "rivals": "median loss of Russia's and China's combined regional share",
    "effect_if_coerced": "the effect (median) with every declared coercion happening in every "
                         "draw, on the same draws and random numbers",
    "effect_if_not_coerced": "the effect (median) with no declared coercion happening",
}


def _pp(x: float) -> str:
    return f"{100 * x:+.2f}"


def regret(per_draw: np.ndarray, best: np.ndarray) -> np.ndarray:
    """Each package's shortfall from the best per draw ``(n, draws)``."""
    out: np.ndarray = best[None] - per_draw
    return out


def _frame(problem: Problem, ev: Evaluation, best: np.ndarray) -> pd.DataFrame:
    """One row per package: levers, cost and every measure (pp) with its interval."""
    m = measures(ev)
    names = [n for n, _ in problem.levers]
    df = pd.DataFrame(ev.x, columns=names)
    for name, lv in problem.levers:
        if lv.whole:
            df[name] = df[name].round().astype(int)
    df["cost_usd_bn"] = problem.cost(ev.x)
    for key in ("effect", "robust", "russia", "china", "rivals"):
        for suffix in ("", "_p5", "_p95"):
            df[f"{key}{suffix}_pp"] = 100 * m[f"{key}{suffix}"]
    r = regret(ev.power.mean(axis=2), best)
    df["regret_pp"] = 100 * np.median(r, axis=1)
    df["regret_p5_pp"] = 100 * np.quantile(r, 0.05, axis=1)
    df["regret_p95_pp"] = 100 * np.quantile(r, 0.95, axis=1)
    return df


def describe(problem: Problem, best: np.ndarray, ref: np.ndarray, states: Mapping[str, str]
             ) -> str:
    """What the best package does differently from the announced one, in words (the largest
    changes first, relative to each lever's range)."""
    changes: list[tuple[float, str]] = []
    for j, (name, lv) in enumerate(problem.levers):
        b, a = float(best[j]), float(ref[j])
        lo, hi = lv.bounds
        size = abs(b - a) / (hi - lo)
        text = _change(name, lv, b, a, states)
        if text is not None:
            changes.append((size, text))
    changes.sort(key=lambda c: -c[0])
    words = [t for _, t in changes[:4]]
    if not words:
        return "keeping the announced package"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _change(name: str, lv: Lever, b: float, a: float, states: Mapping[str, str]) -> str | None:
    if lv.kind == "amount":
        if abs(b - a) < max(0.25, 0.2 * a):
            return None
        verb = "raising" if b > a else "cutting"
        return f"{verb} {name.replace('_', ' ')} to ${b:.1f}bn (announced ${a:.1f}bn)"
    if lv.kind == "state":
        if abs(math.log(max(b, 1e-9) / a)) < math.log(1.25):
            return None
        who = states.get(lv.state or "", lv.state or name)
        return f"giving {who} {'more' if b > a else 'less'} (weight x{b:.2f})"
    if lv.kind == "period":
        if round(b) == round(a):
            return None
        how = "front-loading" if b < a else "spreading"
        return f"{how} the money over {round(b)} years (announced {round(a)})"
    if round(b) == round(a):
        return None
    return f"holding {round(b)} leaders' summits after Tokyo (announced {round(a)})"


def sentence(problem: Problem, best_row: pd.Series, ref_row: pd.Series, doing: str) -> str:
    """The result's first sentence."""
    ref_cost = float(ref_row["cost_usd_bn"])
    if abs(problem.budget - ref_cost) < 1e-6:
        head = f"For the same budget (${problem.budget:.1f}bn)"
    else:
        head = (f"For a budget of ${problem.budget:.1f}bn (the announced package costs "
                f"${ref_cost:.1f}bn)")
    return (f"{head}, the best package found gains {best_row['effect_pp']:+.2f} pp "
            f"(90% interval {best_row['effect_p5_pp']:+.2f} to {best_row['effect_p95_pp']:+.2f} "
            f"over posterior draws, covers parameters and noise) against "
            f"{ref_row['effect_pp']:+.2f} pp for the announced one, by {doing}.")


def coerced_columns(problem: Problem, table: pd.DataFrame) -> pd.DataFrame:
    """The table with each package's effect (median and 5-95% interval, pp) with every declared
    coercion happening in every draw (``effect_if_coerced``) and in none
    (``effect_if_not_coerced``), on the same draws and random numbers."""
    x = table[[n for n, _ in problem.levers]].to_numpy(dtype=float)
    out = table.copy()
    modes: tuple[tuple[Literal["always", "never"], str], ...] = (
        ("always", "effect_if_coerced"), ("never", "effect_if_not_coerced"))
    for mode, label in modes:
        m = measures(problem.evaluate(x, coercion=mode))
        for suffix in ("", "_p5", "_p95"):
            out[f"{label}{suffix}_pp"] = 100 * m[f"effect{suffix}"]
    return out


def coerced_clause(problem: Problem, table: pd.DataFrame) -> str:
    """One clause: how the best package and the announced one fare if the rivals coerce."""
    front = table[~table["reference"]]
    best = front.iloc[0] if len(front) else table.iloc[-1]
    ref = table[table["reference"]].iloc[0]
    who = [problem.scenario.powers[c].name for c in dict.fromkeys(
        c.by for c in problem.spec.coercion.values())]
    one = len(who) == 1
    return (f"; if {' and '.join(who)} coerce{'s' if one else ''} in every draw "
            f"({', '.join(problem.spec.coercion)}), the best package gains "
            f"{best['effect_if_coerced_pp']:+.2f} pp ({best['effect_if_coerced_p5_pp']:+.2f} to "
            f"{best['effect_if_coerced_p95_pp']:+.2f}) and the announced one "
            f"{ref['effect_if_coerced_pp']:+.2f} pp ({ref['effect_if_coerced_p5_pp']:+.2f} to "
            f"{ref['effect_if_coerced_p95_pp']:+.2f}), against "
            f"{best['effect_if_not_coerced_pp']:+.2f} and {ref['effect_if_not_coerced_pp']:+.2f} "
            f"pp if {'it does' if one else 'they do'} not.")


def importance(df: pd.DataFrame, levers: list[str]) -> dict[str, float]:
    """Spearman's rank correlation of each lever with the effect over every package run."""
    from scipy.stats import spearmanr

    out = {}
    for name in levers:
        if df[name].nunique() < 2:
            out[name] = 0.0
            continue
        rho = spearmanr(df[name], df["effect_pp"]).statistic
        out[name] = 0.0 if not np.isfinite(rho) else float(rho)
    return out


def probe(problem: Problem, best: np.ndarray) -> pd.DataFrame:
    """At the best package, each lever moved to its lower and to its upper bound, the others
    held (the money re-scaled to the budget where it then exceeds it): the effect at each
    bound, the swing between them, and the most lost against the best package (a lever whose
    best value lies inside its range, like a period, loses at both bounds); the lever that
    matters most (the larger of the two) first."""
    fix = BudgetRepair(problem.bounds, problem.whole, problem.money, problem.unit,
                       problem.budget)
    rows = []
    for j in range(len(problem.levers)):
        for bound in problem.bounds[j]:
            x = best.copy()
            x[j] = bound
            rows.append(x)
    ev = problem.evaluate(fix.apply(np.array(rows)))
    effect = 100 * measures(ev)["effect"]
    out = pd.DataFrame({
        "lever": [n for n, _ in problem.levers],
        "best": best,
        "low": problem.bounds[:, 0], "effect_at_low_pp": effect[0::2],
        "high": problem.bounds[:, 1], "effect_at_high_pp": effect[1::2],
    })
    out["swing_pp"] = (out["effect_at_high_pp"] - out["effect_at_low_pp"]).abs()
    at_best = 100 * float(measures(problem.evaluate(best[None]))["effect"][0])
    out["largest_loss_pp"] = np.maximum(at_best - out[["effect_at_low_pp",
                                                       "effect_at_high_pp"]].min(axis=1), 0.0)
    out["matters_pp"] = out[["swing_pp", "largest_loss_pp"]].max(axis=1)
    return out.sort_values("matters_pp", ascending=False, ignore_index=True)


def write(folder: Path, problem: Problem, state: State, ref: Evaluation, *, started: str,
          settings: dict[str, Any], plots: bool = True, clock: float | None = None
          ) -> tuple[str, int]:
    """Write every result file into ``folder``; return the first sentence and the front's
    size."""
    ev = state.evaluation()
    every, front_df, ref_df, table = _tables(problem, state, ev, ref)
    table.to_csv(folder / "pareto.csv", index=False, float_format="%.6g")
    every.to_csv(folder / "evaluations.csv", index=False, float_format="%.6g")
    sc = problem.scenario
    states = {c: s.name for c, s in sc.states.items()}
    lever_names = [n for n, _ in problem.levers]
    best_i = int(np.argmax(front_df["effect_pp"].to_numpy())) if len(front_df) else None
    best_row = front_df.iloc[best_i] if best_i is not None else ref_df.iloc[0]
    best_x = best_row[lever_names].to_numpy(dtype=float)
    text = sentence(problem, best_row, ref_df.iloc[0],
                    describe(problem, best_x, problem.reference, states))
    if problem.spec.coercion:
        text = text[:-1] + coerced_clause(problem, table)
    weights = importance(every[every["within_budget"]], lever_names)
    swings = probe(problem, best_x)
    swings.to_csv(folder / "levers.csv", index=False, float_format="%.6g")
    if plots:
        from sim.experiments import policy_plots

        (folder / "plots").mkdir(exist_ok=True)
        policy_plots.pareto(table, every, problem.spec.objectives, folder / "plots" / "pareto.png",
                            problem.spec.power)
        policy_plots.parallel(table, problem, folder / "plots" / "parallel.png")
    manifest = _manifest(problem, state, ev, table, front=len(front_df), text=text,
                         weights=weights, swings=swings, started=started, settings=settings,
                         clock=clock)
    results.write_json(folder / "manifest.json", manifest)
    _report(folder, problem, table, text, weights, swings, plots)
    return text, len(front_df)


def _tables(
    problem: Problem, state: State, ev: Evaluation, ref: Evaluation
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Every package run (with its generation and whether it is within the budget), the Pareto
    front (the best first), the announced package, and the front with the announced package
    last (``pareto.csv``)."""
    cost = problem.cost(ev.x)
    feasible = cost <= problem.budget + 1e-6
    per_draw = ev.power.mean(axis=2)
    pool = np.vstack([per_draw[feasible], ref.power.mean(axis=2)])
    best = pool.max(axis=0)
    every = _frame(problem, ev, best)
    every.insert(0, "generation", state.born)
    every["within_budget"] = feasible
    ref_df = _frame(problem, ref, best)
    m = measures(ev)
    m["regret"] = np.median(regret(per_draw, best), axis=1)
    f = objective_matrix(m, cost, problem.spec.objectives)
    idx = np.flatnonzero(feasible)
    front = idx[non_dominated(f[idx])] if len(idx) else idx
    front_df = every.iloc[front].drop(columns=["generation", "within_budget"])
    lever_names = [n for n, _ in problem.levers]
    front_df = front_df.drop_duplicates(subset=lever_names).sort_values("effect_pp",
                                                                        ascending=False)
    front_df.insert(0, "package", [f"front-{i + 1}" for i in range(len(front_df))])
    front_df.insert(1, "reference", False)
    ref_df.insert(0, "package", "announced")
    ref_df.insert(1, "reference", True)
    table = pd.concat([front_df, ref_df], ignore_index=True)
    if problem.spec.coercion:
        table = coerced_columns(problem, table)
    return every, front_df, ref_df, table


def _manifest(
    problem: Problem, state: State, ev: Evaluation, table: pd.DataFrame, *, front: int,
    text: str, weights: dict[str, float], swings: pd.DataFrame, started: str,
    settings: dict[str, Any], clock: float | None,
) -> dict[str, Any]:
    """The search's ``manifest.json``: the question and its answer, the files, the posterior and
    uncertainties it ran over, the search and what the levers do."""
    post = problem.posterior
    return {
        "kind": "policy",
        "title": f"{problem.spec.power}'s package within ${problem.budget:.1f}bn: "
                 f"{problem.where.stem}",
        "question": text,
        "headline": _headline(table, problem),
        "figure_order": [
            {"stem": "pareto", "caption": "The effect against the other objectives: every "
             "package run (grey), the Pareto front with its 90% intervals, the announced "
             "package (star)"},
            {"stem": "parallel", "caption": "The levers of the Pareto front, each within its "
             "bounds, coloured by the effect; the announced package dashed"}],
        "policy_file": str(problem.where),
        "policy_file_sha256": file_digest(problem.where),
        "scenario_file": str(problem.scenario_path),
        "scenario_file_sha256": file_digest(problem.scenario_path),
        "counterfactual_file": str(problem.counterfactual_path),
        "counterfactual_file_sha256": file_digest(problem.counterfactual_path)
        if problem.counterfactual_path is not None else None,
        "power": problem.spec.power,
        "posterior": {"folder": str(post.folder), "draws_used": len(post.draws),
                      "replicates_per_draw": problem.replicates,
                      "draws_sha256": file_digest(post.folder / "draws.parquet"),
                      "quantities": post.applied(problem.scenario)},
        "uncertainties": {k: {"path": u.path, "prior": u.dist.model_dump()}
                          for k, u in problem.spec.uncertainties.items()},
        "coercion": {k: {**c.model_dump(mode="json"),
                         "draws_coerced": int((problem.coerced[:, i] != 1.0).sum())}
                     for i, (k, c) in enumerate(problem.spec.coercion.items())},
        "budget_usd_bn": problem.budget,
        "objectives": list(problem.spec.objectives),
        "settings": settings,
        "seed": problem.seed,
        "search_seed": settings.get("seed"),
        "answer_round": problem.at,
        "answer_date": problem.scenario.time.answer.isoformat()
        if problem.scenario.time.answer else None,
        "common_random_numbers": "every package, the announced one and the counterfactual run "
                                 "on the same posterior draws, uncertainty points and streams",
        "algorithm": "NSGA-II (pymoo), repaired to the budget",
        "generations_run": state.generation,
        "packages_evaluated": len(ev.x),
        "front_size": front,
        "sentence": text,
        "lever_effect_rank_correlation": weights,
        "lever_matters_at_best_pp": dict(zip(swings["lever"].astype(str),
                                             swings["matters_pp"].round(4).astype(float),
                                             strict=True)),
        "measures": MEASURES,
        "command": results.command_line(),
        "versions": {**results.versions(), "pymoo": _version("pymoo")},
        "started": started,
        "finished": results.now(),
        "search_seconds": round(state.seconds, 3),
        "seconds": round(time.perf_counter() - clock, 3) if clock is not None else None,
    }


def _headline(table: pd.DataFrame, problem: Problem) -> list[dict[str, str]]:
    """The report's headline rows: the best package found and the announced one."""
    front = table[~table["reference"]]
    ref = table[table["reference"]].iloc[0]
    out = []
    rows = [("best package found", front.iloc[0])] if len(front) else []
    for label, row in [*rows, ("announced package", ref)]:
        out.append({"label": f"{label}: effect (median)",
                    "value": f"{row['effect_pp']:+.2f} pp",
                    "note": f"90% interval {row['effect_p5_pp']:+.2f} to "
                            f"{row['effect_p95_pp']:+.2f} (noise and parameters); 10th "
                            f"percentile over draws {row['robust_pp']:+.2f} pp; regret "
                            f"{row['regret_pp']:.2f} pp; cost ${row['cost_usd_bn']:.1f}bn"
                            + (f"; {row['effect_if_coerced_pp']:+.2f} pp with the declared "
                               f"coercion in every draw, {row['effect_if_not_coerced_pp']:+.2f} "
                               "pp in none" if "effect_if_coerced_pp" in row else "")})
    out.append({"label": "Pareto front", "value": f"{len(front)} packages",
                "note": f"within ${problem.budget:.1f}bn, on {', '.join(problem.spec.objectives)}"})
    return out


def _version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _report(folder: Path, problem: Problem, table: pd.DataFrame, text: str,
            weights: dict[str, float], swings: pd.DataFrame, plots: bool) -> None:
    """``report.md``, ``about.txt`` (the levers, the uncertainties, the measures) and
    ``report.html`` (:func:`sim.outputs.report.write_report`, from the manifest: ``sim report``
    writes
    the same page again)."""
    spec = problem.spec
    cols = ["package", *[n for n, _ in problem.levers], "cost_usd_bn", "effect_pp",
            "effect_p5_pp", "effect_p95_pp", "robust_pp", "regret_pp", "rivals_pp"]
    if spec.coercion:
        cols += ["effect_if_coerced_pp", "effect_if_not_coerced_pp"]
    shown = table[cols].copy()
    order = sorted(weights, key=lambda k: -abs(weights[k]))
    lines = [f"# {problem.where.stem}: {spec.power}'s package", "", text, "",
             spec.description.strip(), "",
             f"Over {len(problem.posterior.draws)} posterior draws x {problem.replicates} "
             f"replicates ({problem.posterior.folder}), each draw paired with one point of the "
             f"declared uncertainties ({', '.join(spec.uncertainties) or 'none'}); effects in "
             "percentage points of the power's regional share at the answer date, paired "
             "against the counterfactual on the same random numbers. Budget "
             f"${problem.budget:.2f}bn.", "",
             "## The Pareto front (the announced package last)", "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in shown.itertuples(index=False):
        lines.append("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v)
                                       for v in row) + " |")
    lines += ["", "## Which levers matter at the best package", "",
              "Each lever moved to its lower and to its upper bound, the others as in the best "
              "package (the money re-scaled to the budget where it then exceeds it); the "
              "effect (median, pp) at each bound, the swing between them and the most lost "
              "against the best package; the lever that matters most first:", "",
              "| lever | best | low | effect at low | high | effect at high | swing | most lost |",
              "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r.lever} | {r.best:.3g} | {r.low:g} | {r.effect_at_low_pp:+.2f} | "
              f"{r.high:g} | {r.effect_at_high_pp:+.2f} | {r.swing_pp:.2f} | "
              f"{r.largest_loss_pp:.2f} |" for r in swings.itertuples()]
    lines += ["", "## Which levers go with the effect", "",
              "Spearman's rank correlation of each lever with the effect over every package "
              "run within the budget (near 0: the lever matters little, or only with others):",
              ""]
    lines += [f"- {k}: {weights[k]:+.2f}" for k in order]
    lines += ["", "## The levers and the uncertainties", ""]
    lines += [f"- lever {n} ({lv.kind}, {lv.bounds[0]:g} to {lv.bounds[1]:g}): {lv.description}"
              for n, lv in problem.levers]
    lines += [f"- uncertainty {n} ({', '.join(u.paths)}, {u.describe()}, one point per "
              f"posterior draw): {u.description}"
              for n, u in spec.uncertainties.items()]
    lines += [f"- coercion {n} ({c.by}, {c.instrument}, on "
              f"{', '.join(c.states) if c.states else f'the {c.favoured} states favoured most'}"
              f", factor {c.factor[0]:g} to {c.factor[1]:g} from {c.date}, probability "
              f"{c.probability:g} per posterior draw): {c.description}"
              for n, c in spec.coercion.items()]
    lines += ["", "## What the measures are", ""]
    lines += [f"- {k}: {v}" for k, v in MEASURES.items()
                if spec.coercion or not k.startswith("effect_if")]
    if plots:
        lines += ["", "![Pareto front](plots/pareto.png)", "",
                  "![Levers of the front](plots/parallel.png)"]
    (folder / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    about = [line for line in lines if line.startswith(("- lever ", "- uncertainty ",
                                                             "- coercion "))]
    about += ["", "Which levers go with the effect (Spearman's rank correlation over every "
              "package run within the budget):", *[f"- {k}: {weights[k]:+.2f}" for k in order],
              "", "What the measures are (percentage points of the power's regional share):",
              *[f"- {k}: {v}" for k, v in MEASURES.items()
                if spec.coercion or not k.startswith("effect_if")]]
    (folder / "about.txt").write_text("\n".join(about) + "\n", encoding="utf-8")
    from sim.outputs.report import write_report

    write_report(folder)
