"""``sim compare``: two scenarios on common random numbers, and their paired differences.

Both scenarios run with the same root seed, so replicate ``k`` of each draws the same random
numbers for every power they share (streams are keyed by replicate and power code; see
:mod:`sim.rng`). The difference ``B - A`` of replicate ``k`` is then due to the scenarios
alone, and its spread is far narrower than that of two independent ensembles.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim import engine, plots, report, results, rules
from sim.errors import SimError
from sim.params import Params, build
from sim.scenario import digest as scenario_digest
from sim.scenario import file_digest, load, to_yaml

INTERVAL = (0.05, 0.95)


@dataclass(frozen=True)
class Paired:
    """Paired differences ``B - A`` per replicate.

    Attributes:
        final: final alignment differences ``(replicate, state, power)``.
        final_a, final_b: the two final alignments ``(replicate, state, power)``.
        region: regional-share differences per round ``(replicate, round, power)``.
    """

    final: np.ndarray
    final_a: np.ndarray
    final_b: np.ndarray
    region: np.ndarray


def _check_compatible(a: Params, b: Params, path_a: Path, path_b: Path) -> None:
    if sorted(a.states) != sorted(b.states) or sorted(a.powers) != sorted(b.powers):
        raise SimError(
            f"{path_b}: states and powers must match {path_a} to compare "
            f"(found {sorted(b.states)} x {sorted(b.powers)} against "
            f"{sorted(a.states)} x {sorted(a.powers)})"
        )
    if a.dates != b.dates:
        raise SimError(
            f"{path_b}: time: calendar differs from {path_a}; use --rounds or the same time:"
        )


def _reorder(x: np.ndarray, src: Params, dst: Params) -> np.ndarray:
    si = [src.states.index(s) for s in dst.states]
    pi = [src.powers.index(p) for p in dst.powers]
    return x[..., si, :][..., pi]


def paired_run(
    a: Params,
    b: Params,
    replicates: int,
    seed: int,
    *,
    chunk: int = 2048,
    progress: Callable[[int], None] | None = None,
) -> Paired:
    """Run both scenarios replicate by replicate on the same streams; keep the differences."""
    finals_a, finals_b, regions = [], [], []
    for reps in engine.chunks(replicates, chunk):
        ta = engine.simulate(a, reps, seed)
        tb = engine.simulate(b, reps, seed)
        fa = ta.alignment[:, -1]
        fb = _reorder(tb.alignment[:, -1], b, a)
        finals_a.append(fa)
        finals_b.append(fb)
        ra = rules.regional_share(ta.alignment, a.region_w)
        order = [b.powers.index(p) for p in a.powers]
        rb = rules.regional_share(tb.alignment, b.region_w)[..., order]
        regions.append(rb - ra)
        if progress is not None:
            progress(len(reps))
    fa, fb = np.concatenate(finals_a), np.concatenate(finals_b)
    return Paired(final=fb - fa, final_a=fa, final_b=fb, region=np.concatenate(regions))


def sign_share(d: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Share of replicates whose difference has the sign of the mean (ties count as holding)."""
    sign = np.sign(mean)
    return np.where(sign == 0, (d == 0).mean(0), (np.sign(d) == sign).mean(0))


def differences_table(pr: Paired, a: Params) -> pd.DataFrame:
    """Per state and power: both means and the paired difference's mean, interval, sign share."""
    mean = pr.final.mean(0)
    lo, hi = np.quantile(pr.final, INTERVAL, axis=0)
    holds = sign_share(pr.final, mean)
    rows = []
    for i, s in enumerate(a.states):
        for j, p in enumerate(a.powers):
            rows.append(
                {
                    "state": s,
                    "power": p,
                    "mean_a": pr.final_a[:, i, j].mean(),
                    "mean_b": pr.final_b[:, i, j].mean(),
                    "diff_mean": mean[i, j],
                    "diff_p5": lo[i, j],
                    "diff_p95": hi[i, j],
                    "sign_holds": holds[i, j],
                }
            )
    return pd.DataFrame(rows)


def region_table(pr: Paired, a: Params) -> pd.DataFrame:
    """Per round and power: the paired difference of regional share (mean, 90% interval)."""
    mean = pr.region.mean(0)
    lo, hi = np.quantile(pr.region, INTERVAL, axis=0)
    holds = sign_share(pr.region, mean)
    rows = []
    for r, d in enumerate(a.dates):
        for j, p in enumerate(a.powers):
            rows.append(
                {
                    "round": r,
                    "date": d.isoformat(),
                    "power": p,
                    "diff_mean": mean[r, j],
                    "diff_p5": lo[r, j],
                    "diff_p95": hi[r, j],
                    "sign_holds": holds[r, j],
                }
            )
    return pd.DataFrame(rows)


def format_differences(df: pd.DataFrame, name_a: str, name_b: str) -> str:
    """Text table: states by powers, paired difference mean [90% interval] and sign share."""
    powers = list(dict.fromkeys(df["power"]))
    states = list(dict.fromkeys(df["state"]))
    cell = {
        (
            r.state,
            r.power,
        ): f"{r.diff_mean:+.4f} [{r.diff_p5:+.4f},{r.diff_p95:+.4f}] {r.sign_holds:.0%}"
        for r in df.itertuples()
    }
    width = max(len(v) for v in cell.values())
    lines = [
        f"final alignment, {name_b} minus {name_a} (paired): mean [5%, 95%] share of "
        "replicates with the mean's sign",
        "state  " + "  ".join(p.ljust(width) for p in powers),
    ]
    lines += [f"{s:<6} " + "  ".join(cell[(s, p)].ljust(width) for p in powers) for s in states]
    return "\n".join(lines)


@dataclass(frozen=True)
class CompareOutcome:
    """Where a comparison wrote its results, and its table."""

    folder: Path
    table: pd.DataFrame
    text: str
    seconds: float


def compare_scenarios(
    path_a: Path,
    path_b: Path,
    *,
    replicates: int | None = None,
    seed: int | None = None,
    rounds: int | None = None,
    out: Path = Path("results"),
    progress: Callable[[int], None] | None = None,
    sets: Sequence[str] = (),
) -> CompareOutcome:
    """Run A and B on common random numbers and write ``out/compare/<A>_vs_<B>/<run-id>/``."""
    started, t0 = results.now(), time.perf_counter()
    sc_a, sc_b = load(path_a, sets), load(path_b, sets)
    if replicates is not None and replicates < 1:
        raise SimError(f"--replicates: expected at least 1, found {replicates}")
    if seed is not None and seed < 0:
        raise SimError(f"--seed: expected a non-negative integer, found {seed}")
    a, b = build(sc_a, rounds), build(sc_b, rounds)
    _check_compatible(a, b, path_a, path_b)
    n = replicates if replicates is not None else max(sc_a.replicates, sc_b.replicates)
    root = sc_a.seed if seed is None else seed
    pr = paired_run(a, b, n, root, progress=progress)
    table = differences_table(pr, a)
    text = format_differences(table, sc_a.name, sc_b.name)
    folder = out / "compare" / f"{sc_a.name}_vs_{sc_b.name}" / results.new_run_id()
    with results.atomic_folder(folder) as tmp:
        table.to_csv(tmp / "differences.csv", index=False, float_format="%.6g")
        region = region_table(pr, a)
        region.to_csv(tmp / "region_differences.csv", index=False, float_format="%.6g")
        (tmp / "scenario_a.yaml").write_text(to_yaml(sc_a), encoding="utf-8")
        (tmp / "scenario_b.yaml").write_text(to_yaml(sc_b), encoding="utf-8")
        title = f"{sc_b.title} against {sc_a.title}"
        look = plots.make_look(a, sc_a)
        mean = table["diff_mean"].to_numpy().reshape(len(a.states), len(a.powers))
        lo = table["diff_p5"].to_numpy().reshape(mean.shape)
        hi = table["diff_p95"].to_numpy().reshape(mean.shape)
        note = f"{n} paired replicates on common random numbers."
        plots.save(
            plots.difference_final(
                a.states,
                a.powers,
                mean,
                lo,
                hi,
                a=sc_a.name,
                b=sc_b.name,
                when=a.dates[-1],
                look=look,
                note=note,
            ),
            tmp / "plots",
            "difference",
        )
        shape = (len(a.dates), len(a.powers))
        plots.save(
            plots.difference_paths(
                a.dates,
                *(
                    region[c].to_numpy().reshape(shape)
                    for c in ("diff_mean", "diff_p5", "diff_p95")
                ),
                powers=a.powers,
                a=sc_a.name,
                b=sc_b.name,
                look=look,
                note=note,
            ),
            tmp / "plots",
            "regional_share_difference",
        )
        results.write_json(
            tmp / "manifest.json",
            {
                "kind": "compare",
                "scenario_a": sc_a.name,
                "scenario_b": sc_b.name,
                "title": title,
                "question": f"What does {sc_b.name} change against {sc_a.name}? {sc_b.question}",
                "scenario_a_file": str(path_a),
                "scenario_b_file": str(path_b),
                "scenario_a_file_sha256": file_digest(path_a),
                "scenario_b_file_sha256": file_digest(path_b),
                "resolved_a_sha256": scenario_digest(sc_a),
                "resolved_b_sha256": scenario_digest(sc_b),
                "overrides": list(sets),
                "seed": root,
                "replicates": n,
                "rounds": a.rounds,
                "dates": [d.isoformat() for d in a.dates],
                "common_random_numbers": (
                    "same root seed: one stream per replicate, laid out by sorted codes"
                ),
                "interval": list(INTERVAL),
                "states": a.states,
                "powers": a.powers,
                "rows": {"differences.csv": len(table), "region_differences.csv": len(region)},
                "command": results.command_line(),
                "versions": results.versions(),
                "started": started,
                "finished": results.now(),
                "seconds": round(time.perf_counter() - t0, 3),
            },
        )
        report.write_report(tmp, label=folder.name)
    return CompareOutcome(folder, table, text, time.perf_counter() - t0)
