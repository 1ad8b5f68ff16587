"""``sim compare``: two scenarios on common random numbers, and their paired differences.

Both scenarios run with the same root seed. Replicate ``k`` of each draws its noise from the
same stream (keyed by the seed and ``k`` only; see :mod:`sim.rng`), one block per round laid
out by sorted power and state codes; the two must have the same codes and calendar (checked),
so every state and power gets the same utility and delivery shocks, round by round, in A and
in B. The difference ``B - A`` of replicate ``k`` is then due to the scenarios alone, and its
spread is far narrower than that of two independent ensembles. The measures (paired
differences, sign shares, the headline) are :mod:`sim.outcomes`'.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim import engine, memory, outcomes, plots, report, results
from sim import posterior as posteriors
from sim.engines import Progress, check_counts
from sim.errors import SimError, machine_failures
from sim.params import Params, build
from sim.scenario import digest as scenario_digest
from sim.scenario import file_digest, load, to_yaml

#: Paired replicates simulated at once.
CHUNK = 2048


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


def paired_run(
    a: Params,
    b: Params,
    replicates: int,
    seed: int,
    *,
    chunk: int = CHUNK,
    progress: Callable[[int], None] | None = None,
) -> outcomes.Paired:
    """Run both scenarios replicate by replicate on the same streams; keep the differences."""
    parts = []
    for reps in engine.chunks(replicates, chunk):
        parts.append(outcomes.paired(engine.simulate(a, reps, seed), engine.simulate(b, reps, seed),
                                     a, b))
        if progress is not None:
            progress(len(reps))
    return outcomes.join_paired(parts)


@dataclass(frozen=True)
class CompareRequest:
    """What a comparison asks for.

    Attributes:
        scenario_a, scenario_b: the two scenario files (A, e.g. the counterfactual; B the policy).
        replicates: default the larger of the two scenarios' own.
        seed: the root seed both share (default: A's).
        rounds: default the calendar (the two must have the same).
        sets: ``path=value`` overrides applied to both.
        out: folder under which ``compare/<A>_vs_<B>/<run-id>/`` is made.
        posterior: a calibration's posterior folder: each of ``draws`` draws runs a block of
            ``replicates`` paired replicates (default :data:`sim.posterior.REPLICATES_PER_DRAW`),
            so the intervals cover noise and parameters; a noise-only comparison at the
            registry's values is written beside it.
        draws: posterior draws used (spread evenly over the posterior).
    """

    scenario_a: Path
    scenario_b: Path
    replicates: int | None = None
    seed: int | None = None
    rounds: int | None = None
    sets: tuple[str, ...] = ()
    out: Path = Path("results")
    posterior: Path | None = None
    draws: int = posteriors.DRAWS


@dataclass(frozen=True)
class CompareOutcome:
    """Where a comparison wrote its results, and its table."""

    folder: Path
    table: pd.DataFrame
    text: str
    seconds: float

    def summary(self) -> str:
        """What the command line prints: the paired differences and where the results are."""
        return (f"{self.text}\nresults: {self.folder}  ({self.seconds:.2f} s)\n"
                f"report: {self.folder / 'report.html'}")


def compare_scenarios(req: CompareRequest, progress: Progress | None = None) -> CompareOutcome:
    """Run A and B on common random numbers and write ``out/compare/<A>_vs_<B>/<run-id>/``."""
    started, t0 = results.now(), time.perf_counter()
    check_counts(req.replicates, req.seed, req.rounds)
    results.check_out(req.out)
    path_a, path_b, sets, rounds, out = (req.scenario_a, req.scenario_b, list(req.sets),
                                         req.rounds, req.out)
    sc_a, sc_b = load(path_a, sets), load(path_b, sets)
    a, b = build(sc_a, rounds), build(sc_b, rounds)
    _check_compatible(a, b, path_a, path_b)
    root = sc_a.seed if req.seed is None else req.seed
    post = None
    if req.posterior is not None:
        if req.draws < 1:
            raise SimError(f"draws: expected at least 1, found {req.draws}")
        if rounds is not None:
            raise SimError("rounds: not with a posterior; it runs each scenario's own calendar")
        post = posteriors.load(req.posterior).thin(req.draws)
        per = req.replicates if req.replicates is not None else posteriors.REPLICATES_PER_DRAW
        n = len(post.draws) * per
        memory.check(memory.paired_bytes(a, n, chunk=CHUNK)
                     + memory.posterior_bytes(a, n, 1) + memory.posterior_bytes(b, n, 1),
                     "replicates", f"{len(post.draws)} posterior draws x {per:,} paired "
                     f"replicates over {a.rounds + 1:,} round boundaries", "fewer fit, or fewer",
                     others=("draws",))
        if progress is not None:
            progress.start(f"comparing {sc_b.name} against {sc_a.name}: {len(post.draws)} "
                           f"posterior draws x {per} paired replicates", n)
        ta, _ = posteriors.ensemble(post, sc_a, path_a, per, root, keep=("alignment",))
        tb, _ = posteriors.ensemble(post, sc_b, path_b, per, root, keep=("alignment",))
        pr = outcomes.paired(ta, tb, a, b)
        if progress is not None:
            progress.advance(n)
        n_noise = max(sc_a.replicates, sc_b.replicates)
        noise = paired_run(a, b, n_noise, root)
    else:
        n = req.replicates if req.replicates is not None else max(sc_a.replicates,
                                                                  sc_b.replicates)
        memory.check(memory.paired_bytes(a, n, chunk=CHUNK), "replicates",
                     f"{n:,} paired replicates over {a.rounds + 1:,} round boundaries",
                     "fewer fit")
        if progress is not None:
            progress.start(f"comparing {sc_b.name} against {sc_a.name}: {n} paired replicates",
                           n)
        pr = paired_run(a, b, n, root,
                        progress=progress.advance if progress is not None else None)
        noise = None
    table = outcomes.differences_table(pr, a)
    covers = posteriors.COVERS if post is not None else "noise only"
    text = outcomes.format_differences(table, sc_a.name, sc_b.name)
    if post is not None:
        text = f"over {post.describe()}; intervals cover {covers}\n{text}"
    folder = out / "compare" / f"{sc_a.name}_vs_{sc_b.name}" / results.new_run_id()
    with (
        machine_failures(folder.parent, lambda: "nothing was written"),
        results.atomic_folder(folder) as tmp,
    ):
        table.to_csv(tmp / "differences.csv", index=False, float_format="%.6g")
        region = outcomes.region_differences_table(pr, a)
        region.to_csv(tmp / "region_differences.csv", index=False, float_format="%.6g")
        extra: dict[str, object] = {"covers": covers}
        if noise is not None and post is not None:
            t0n = outcomes.differences_table(noise, a)
            r0n = outcomes.region_differences_table(noise, a)
            t0n.to_csv(tmp / "differences_noise_only.csv", index=False, float_format="%.6g")
            r0n.to_csv(tmp / "region_differences_noise_only.csv", index=False,
                       float_format="%.6g")
            extra.update(
                posterior={"folder": str(post.folder), "draws_used": len(post.draws),
                           "replicates_per_draw": n // len(post.draws),
                           "quantities": post.model_quantities,
                           "training_years": post.manifest.get("training_years")},
                compare_headline_noise_only=outcomes.compare_headline(r0n, t0n),
                noise_only_replicates=len(noise.final),
            )
        (tmp / "scenario_a.yaml").write_text(to_yaml(sc_a), encoding="utf-8")
        (tmp / "scenario_b.yaml").write_text(to_yaml(sc_b), encoding="utf-8")
        title = f"{sc_b.title} against {sc_a.title}"
        look = plots.make_look(a, sc_a)
        mean = table["diff_mean"].to_numpy().reshape(len(a.states), len(a.powers))
        lo = table["diff_p5"].to_numpy().reshape(mean.shape)
        hi = table["diff_p95"].to_numpy().reshape(mean.shape)
        note = (f"{n} paired replicates on common random numbers" + (
            f" ({len(post.draws)} posterior draws x {n // len(post.draws)}); intervals cover "
            "noise and parameters." if post is not None else "; intervals cover noise only."))
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
                "interval": list(outcomes.INTERVAL),
                "compare_headline": outcomes.compare_headline(region, table),
                **extra,
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
