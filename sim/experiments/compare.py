"""Two scenarios on common random numbers, and their paired differences.

``sim.compare(a, b, ...)`` (:func:`sim.api.compare`) runs them in memory and writes nothing
(its result's ``save(folder)`` writes the folder); the command ``sim compare`` also writes a
results folder (:func:`compare_scenarios`).

Both scenarios run with the same root seed. Replicate ``k`` of each draws its noise from the
same stream (keyed by the seed and ``k`` only; see :mod:`sim.model.rng`), one block per round laid
out by sorted power and state codes; the two must have the same codes and calendar (checked),
so every state and power gets the same utility and delivery shocks, round by round, in A and
in B. The difference ``B - A`` of replicate ``k`` is then due to the scenarios alone, and its
spread is far narrower than that of two independent ensembles. The measures (paired
differences, sign shares, the headline) are :mod:`sim.outputs.outcomes`'.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from sim.calibration import posterior as posteriors
from sim.core.errors import SettingError, SimError, machine_failures
from sim.model import engine, memory
from sim.model.engines import Progress, check_counts
from sim.model.params import Params, build
from sim.outputs import figures, outcomes, report, results, terminal
from sim.outputs import look as looks
from sim.scenario.facts import load_registry
from sim.scenario.schema import (
    Scenario,
    file_digest,
    load,
    locate,
    parameters,
    registry_folder,
    to_yaml,
)
from sim.scenario.schema import digest as scenario_digest

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
    at: int = -1,
) -> outcomes.Paired:
    """Run both scenarios replicate by replicate on the same streams; keep the differences
    (the alignment at round boundary ``at``, the regional shares at every one)."""
    engine.expect(a, 2 * replicates * a.rounds)
    parts = []
    for reps in engine.chunks(replicates, chunk):
        parts.append(outcomes.paired(engine.simulate(a, reps, seed), engine.simulate(b, reps, seed),
                                     a, b, at))
        if progress is not None:
            progress(len(reps))
    return outcomes.join_paired(parts)


@dataclass(frozen=True)
class CompareRequest:
    """What a comparison asks for.

    Attributes:
        scenario_a: scenario A's file (e.g. the counterfactual).
        scenario_b: scenario B's file (e.g. the policy); none: A's own file, changed by
            ``sets_b`` (a what-if against its own base).
        replicates: default the larger of the two scenarios' own.
        seed: the root seed both share (default: A's).
        rounds: default the calendar (the two must have the same).
        sets: ``path=value`` overrides applied to both.
        sets_a, sets_b: overrides applied to A only, or to B only (after ``sets``).
        out: folder under which ``compare/<A>_vs_<B>/<run-id>/`` is made.
        write_report: write ``report.html`` into the folder.
        plots: draw the figures (``plots/``).
        formats: the figures' file formats: ``png``, and ``svg`` on request.
        posterior: a calibration's posterior folder: each of ``draws`` draws runs a block of
            ``replicates`` paired replicates (default
            :data:`sim.calibration.posterior.REPLICATES_PER_DRAW`),
            so the intervals cover noise and parameters; a noise-only comparison at the
            registry's values is written beside it.
        draws: posterior draws used (spread evenly over the posterior).
        facts: the facts registry folder for both (default: the one each scenario finds).
    """

    scenario_a: Path
    scenario_b: Path | None = None
    replicates: int | None = None
    seed: int | None = None
    rounds: int | None = None
    sets: tuple[str, ...] = ()
    sets_a: tuple[str, ...] = ()
    sets_b: tuple[str, ...] = ()
    out: Path = Path("results")
    write_report: bool = True
    plots: bool = True
    formats: tuple[str, ...] = ("png",)
    posterior: Path | None = None
    draws: int = posteriors.DRAWS
    facts: Path | None = None

    def check(self) -> None:
        """Refuse settings that cannot be compared, naming them.

        Raises:
            SettingError: a bad count, or one scenario with nothing to vary.
        """
        check_counts(self.replicates, self.seed, self.rounds)
        figures.check_formats(self.formats)
        if self.posterior is not None:
            if self.draws < 1:
                raise SettingError("draws", f"expected at least 1, found {self.draws}")
            if self.rounds is not None:
                raise SettingError("rounds", "not with a posterior; it runs each scenario's own "
                                   "calendar")
        if self.scenario_b is None and not self.sets_b:
            raise SettingError("scenario_b", "expected a second scenario, or changes to A's own "
                               "(path=value) to compare A against; give one of", others=("sets_b",))


def changes(sc_a: Scenario, sc_b: Scenario) -> list[dict[str, Any]]:
    """The substantive values B changes against A, by field path: A's value and B's (None
    where a scenario lacks the field), each with the registry entry it comes from, if any."""
    pa, pb = parameters(sc_a), parameters(sc_b)
    out = []
    for path in dict.fromkeys([*pa, *pb]):
        ea, eb = pa.get(path), pb.get(path)
        if ea is not None and eb is not None and ea.get("value") == eb.get("value"):
            continue
        out.append({"path": path,
                    "a": None if ea is None else ea.get("value"),
                    "b": None if eb is None else eb.get("value"),
                    "ref_a": None if ea is None else ea.get("ref"),
                    "ref_b": None if eb is None else eb.get("ref")})
    return out


def label(name: str, sets: Sequence[str]) -> str:
    """A scenario's name, with the changes made to it for this comparison if any."""
    return f"{name} with {', '.join(sets)}" if sets else name


@dataclass(frozen=True)
class Comparison:
    """Two scenarios run on common random numbers, and their paired differences, in memory.

    Attributes:
        scenario_a, scenario_b: the resolved scenarios.
        params_a, params_b: their arrays.
        paired: every replicate's differences B minus A (:class:`sim.outputs.outcomes.Paired`).
        differences: each state and power at the end
            (:func:`sim.outputs.outcomes.differences_table`).
        region: each power's regional share, every round
            (:func:`sim.outputs.outcomes.region_differences_table`).
        headline: :func:`sim.outputs.outcomes.compare_headline` (what B changes, who loses).
        interval: what the intervals are and cover.
        replicates, seed: paired replicates, and the root seed both used.
        label_a, label_b: the scenarios' names with their own changes, if any.
        files: the scenario files (A's, B's).
        registries: the facts registry folders they used.
        sets, sets_a, sets_b: the overrides applied (to both, to A, to B).
        started: when the comparison began (UTC, ISO 8601).
        seconds: how long the simulation took.
        clock: ``time.perf_counter()`` when it began: a saved folder's ``seconds`` run from
            there to its manifest (what its report and the command line show).
        posterior: the posterior the replicates ran over (each draw a block), if any.
        noise: the noise-only comparison at the registry's values, beside a posterior's.
    """

    scenario_a: Scenario
    scenario_b: Scenario
    params_a: Params
    params_b: Params
    paired: outcomes.Paired
    differences: pd.DataFrame
    region: pd.DataFrame
    headline: dict[str, Any]
    interval: outcomes.Interval
    replicates: int
    seed: int
    label_a: str
    label_b: str
    files: tuple[Path, Path]
    registries: tuple[Path, Path]
    sets: tuple[str, ...]
    sets_a: tuple[str, ...]
    sets_b: tuple[str, ...]
    started: str
    seconds: float
    posterior: posteriors.Posterior | None = None
    noise: outcomes.Paired | None = None
    clock: float | None = None

    @property
    def end(self) -> date:
        """The date the answer describes (:func:`sim.outputs.outcomes.answer_date`)."""
        t = self.scenario_a.time
        return outcomes.answer_date(t.end, t.answer, self.params_a.dates)

    @property
    def names(self) -> terminal.Names:
        """Display names of the powers and states."""
        a, b = self.scenario_a, self.scenario_b
        return terminal.Names({**{c: pw.name for c, pw in a.powers.items()},
                               **{c: pw.name for c, pw in b.powers.items()}},
                              {c: st.name for c, st in b.states.items()})

    def answer(self, width: int | None = None) -> str:
        """The comparison's answer as text (:func:`sim.outputs.terminal.answer`)."""
        text = terminal.answer(self.headline, a=self.label_a, b=self.label_b,
                               replicates=self.replicates, names=self.names, width=width)
        for extra in (terminal.effect_path(self.headline, self.names, width),
                      terminal.agreement(self.headline, self.names, width)):
            if extra:
                text = f"{text}\n{extra}"
        if self.posterior is None:
            return text
        return (f"Over {self.posterior.plain()}; intervals cover noise and parameters "
                f"(--without-posterior: the scenarios' own constants, noise only).\n{text}")

    def default_folder(self, out: Path) -> Path:
        """``out/compare/<A>_vs_<B>/<run-id>`` (``<B>-varied`` when B is A changed)."""
        a, b = self.scenario_a.name, self.scenario_b.name
        if a == b and (self.sets_a or self.sets_b):
            b += "-varied"
        return out / "compare" / f"{a}_vs_{b}" / results.new_run_id()

    def save(self, folder: Path, *, plots: bool = True, formats: Sequence[str] = ("png",),
             write_report: bool = True, progress: Progress | None = None) -> Path:
        """Write the comparison's results folder (atomically; it must not exist yet).

        ``progress`` is told what is being written.
        """
        with (
            machine_failures(folder.parent, lambda: "nothing was written"),
            results.atomic_folder(folder) as tmp,
        ):
            if progress is not None:
                progress.start("writing the tables", 0)
            extra = self._write_tables(tmp)
            (tmp / "scenario_a.yaml").write_text(to_yaml(self.scenario_a), encoding="utf-8")
            (tmp / "scenario_b.yaml").write_text(to_yaml(self.scenario_b), encoding="utf-8")
            if plots:
                jobs = compare_jobs(self)
                if progress is not None:
                    progress.start(f"drawing {len(jobs)} figures", len(jobs))
                with figures.Drawing(1, formats) as drawing:  # two figures: not worth a helper
                    drawing.draw(jobs, tmp / "plots", done=(lambda _: progress.advance(1))
                                 if progress is not None else None)
            results.write_json(tmp / "manifest.json", self._manifest(extra))
            if write_report:
                if progress is not None:
                    progress.start("writing report.html", 0)
                report.write_report(tmp, label=folder.name)
        return folder

    def _write_tables(self, tmp: Path) -> dict[str, object]:
        """Write the differences (and, over a posterior, the noise-only ones); return what the
        manifest says of the interval and the posterior."""
        a, iv = self.params_a, self.interval
        results.write_share_csv(self.differences, tmp / "differences.csv")
        results.write_share_csv(self.region, tmp / "region_differences.csv")
        if "agreement" in self.headline:
            from sim.experiments import agreement

            agreement.table(self.headline["agreement"]).to_csv(
                tmp / "agreement.csv", index=False, float_format="%.4g")
        post, n = self.posterior, self.replicates
        extra: dict[str, object] = {"covers": iv.covers}
        if self.noise is not None and post is not None:
            t0n = outcomes.differences_table(self.noise, a)
            r0n = outcomes.region_differences_table(self.noise, a)
            results.write_share_csv(t0n, tmp / "differences_noise_only.csv")
            results.write_share_csv(r0n, tmp / "region_differences_noise_only.csv")
            extra.update(
                posterior={"folder": str(post.folder), "draws_used": len(post.draws),
                           "replicates_per_draw": n // len(post.draws),
                           "quantities": post.model_quantities,
                           "carried_from_priors": post.carried,
                           "patterns": post.manifest.get("patterns"),
                           "training_years": post.manifest.get("training_years")},
                compare_headline_noise_only=outcomes.compare_headline(
                    r0n, t0n, outcomes.interval(), self.end,
                    at_round=outcomes.answer_round(self.scenario_a.time.answer, a.dates)),
                noise_only_replicates=len(self.noise.final),
            )
        return extra

    def _manifest(self, extra: dict[str, object]) -> dict[str, object]:
        """The comparison's ``manifest.json``: the two scenarios, the settings, the headline
        and ``extra`` (from :meth:`_write_tables`)."""
        sc_a, sc_b, a = self.scenario_a, self.scenario_b, self.params_a
        path_a, path_b = self.files
        if sc_a.name == sc_b.name:
            title = f"{sc_b.title}: {self.label_b} against {self.label_a}"
        else:
            title = f"{sc_b.title} against {sc_a.title}"
        return {
            "kind": "compare",
            "scenario_a": sc_a.name,
            "scenario_b": sc_b.name,
            "label_a": self.label_a,
            "label_b": self.label_b,
            "title": title,
            "question": f"What does {self.label_b} change against {self.label_a}? "
                        f"{sc_b.question}",
            "scenario_a_file": str(path_a),
            "scenario_b_file": str(path_b),
            "scenario_a_file_sha256": file_digest(path_a),
            "scenario_b_file_sha256": file_digest(path_b),
            "scenario_a_facts_registry": str(self.registries[0]),
            "scenario_b_facts_registry": str(self.registries[1]),
            "resolved_a_sha256": scenario_digest(sc_a),
            "resolved_b_sha256": scenario_digest(sc_b),
            "overrides": list(self.sets),
            "overrides_a": list(self.sets_a),
            "overrides_b": list(self.sets_b),
            "seed": self.seed,
            "replicates": self.replicates,
            "rounds": a.rounds,
            "dates": [d.isoformat() for d in a.dates],
            "common_random_numbers": (
                "same root seed: one stream per replicate, laid out by sorted codes"
            ),
            "interval": self.interval.to_json(),
            "compare_headline": self.headline,
            **extra,
            "states": a.states,
            "powers": a.powers,
            "rows": {"differences.csv": len(self.differences),
                     "region_differences.csv": len(self.region)},
            "command": results.command_line(),
            "versions": results.versions(),
            "started": self.started,
            "finished": results.now(),
            "simulation_seconds": round(self.seconds, 3),
            "seconds": round(time.perf_counter() - self.clock if self.clock is not None
                             else self.seconds, 3),
        }


@dataclass(frozen=True)
class CompareOutcome:
    """Where a comparison wrote its results, and the comparison itself."""

    folder: Path
    comparison: Comparison
    seconds: float

    @property
    def table(self) -> pd.DataFrame:
        """Each state and power at the end (:func:`sim.outputs.outcomes.differences_table`)."""
        return self.comparison.differences

    def answer(self, width: int | None = None) -> str:
        """The comparison's answer as text."""
        return self.comparison.answer(width)

    def summary(self, width: int | None = None) -> str:
        """What the command line prints: the answer and where the results are."""
        return (f"{self.answer(width)}\nresults: {self.folder}  ({self.seconds:.2f} s)\n"
                f"report: {self.folder / 'report.html'}")


def compute(req: CompareRequest, progress: Progress | None = None) -> Comparison:
    """Load, check and run both scenarios on common random numbers, in memory.

    Raises:
        SimError: bad settings, a bad scenario, or scenarios that cannot be paired.
    """
    started, t0 = results.now(), time.perf_counter()
    req.check()
    path_a = locate(req.scenario_a)
    path_b = locate(req.scenario_b) if req.scenario_b is not None else path_a
    facts_a = req.facts if req.facts is not None else registry_folder(path_a)
    facts_b = req.facts if req.facts is not None else registry_folder(path_b)
    sc_a = load(path_a, [*req.sets, *req.sets_a], load_registry(facts_a),
                options=["--set"] * len(req.sets) + ["--set-a"] * len(req.sets_a))
    sc_b = load(path_b, [*req.sets, *req.sets_b], load_registry(facts_b),
                options=["--set"] * len(req.sets) + ["--set-b/--vary"] * len(req.sets_b))
    a, b = build(sc_a, req.rounds), build(sc_b, req.rounds)
    _check_compatible(a, b, path_a, path_b)
    root = sc_a.seed if req.seed is None else req.seed
    label_a, label_b = label(sc_a.name, req.sets_a), label(sc_b.name, req.sets_b)
    at = outcomes.answer_round(sc_a.time.answer, a.dates)
    post, noise = None, None
    if req.posterior is not None:
        post = posteriors.load(req.posterior).thin(req.draws)
        per = req.replicates if req.replicates is not None else posteriors.REPLICATES_PER_DRAW
        n = len(post.draws) * per
        memory.check(memory.paired_bytes(a, n, chunk=CHUNK)
                     + memory.posterior_bytes(a, n, 1) + memory.posterior_bytes(b, n, 1),
                     "replicates", f"{len(post.draws)} posterior draws x {per:,} paired "
                     f"replicates over {a.rounds + 1:,} round boundaries", "fewer fit, or fewer",
                     others=("draws",))
        if progress is not None:
            progress.start(f"comparing {label_b} against {label_a}: {len(post.draws)} "
                           f"posterior draws x {per} paired replicates", n)
        ta, _ = posteriors.ensemble(post, sc_a, path_a, per, root, keep=("alignment",))
        tb, _ = posteriors.ensemble(post, sc_b, path_b, per, root, keep=("alignment",))
        pr = outcomes.paired(ta, tb, a, b, at)
        if progress is not None:
            progress.advance(n)
        noise = paired_run(a, b, max(sc_a.replicates, sc_b.replicates), root, at=at)
    else:
        n = req.replicates if req.replicates is not None else max(sc_a.replicates,
                                                                  sc_b.replicates)
        memory.check(memory.paired_bytes(a, n, chunk=CHUNK), "replicates",
                     f"{n:,} paired replicates over {a.rounds + 1:,} round boundaries",
                     "fewer fit")
        if progress is not None:
            progress.start(f"comparing {label_b} against {label_a}: {n} paired replicates", n)
        pr = paired_run(a, b, n, root,
                        progress=progress.advance if progress is not None else None, at=at)
    table, region, iv, headline = answer(sc_a, sc_b, a, b, pr, post, root)
    return Comparison(sc_a, sc_b, a, b, pr, table, region, headline, iv, n, root, label_a,
                      label_b, (path_a, path_b), (facts_a, facts_b), tuple(req.sets),
                      tuple(req.sets_a), tuple(req.sets_b), started, time.perf_counter() - t0,
                      post, noise, t0)


def answer(
    sc_a: Scenario, sc_b: Scenario, a: Params, b: Params, pr: outcomes.Paired,
    post: posteriors.Posterior | None, root: int,
) -> tuple[pd.DataFrame, pd.DataFrame, outcomes.Interval, dict[str, Any]]:
    """What a paired comparison answers (B minus A, read at A's ``time.answer``): the
    differences by state and power, each power's regional difference every round, the
    interval's description and the headline (with the focus power's predicted UN agreement
    over a posterior fitted with the vote mixture). ``sim compare``, the API and the
    explorer all answer through here, so they give the same number."""
    at = outcomes.answer_round(sc_a.time.answer, a.dates)
    table = outcomes.differences_table(pr, a)
    region = outcomes.region_differences_table(pr, a)
    iv = outcomes.interval(parameters=post is not None)
    end = outcomes.answer_date(sc_a.time.end, sc_a.time.answer, a.dates)
    headline = outcomes.compare_headline(region, table, iv, end,
                                         levels=outcomes.region_levels(pr, a),
                                         changes=changes(sc_a, sc_b),
                                         weighting=sc_a.region_weighting,
                                         at_round=at if at < a.rounds else None)
    if post is not None and post.link.mixture and headline.get("focus") is not None:
        from sim.experiments import agreement

        headline["agreement"] = agreement.predicted(post, pr, a, str(headline["focus"]), root)
    return table, region, iv, headline


def compare_scenarios(req: CompareRequest, progress: Progress | None = None) -> CompareOutcome:
    """Run A and B on common random numbers and write ``out/compare/<A>_vs_<B>/<run-id>/``.

    The outcome's ``seconds`` are the manifest's (from the start to the folder's manifest), as
    the report shows them."""
    results.check_out(req.out)
    c = compute(req, progress)
    folder = c.save(c.default_folder(req.out), plots=req.plots, formats=req.formats,
                    write_report=req.write_report, progress=progress)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return CompareOutcome(folder, c, float(manifest["seconds"]))


def compare_jobs(c: Comparison) -> list[figures.Job]:
    """A comparison's figures: each state's difference at the end, each power's over time."""
    a, table, region = c.params_a, c.differences, c.region
    look = looks.make_look(a, c.scenario_a)  # both scenarios' events marked
    events = sorted(set(look.events) | set(looks.markers(c.scenario_b, a.dates)),
                    key=lambda m: (m.when, m.kind, m.power or ""))
    look = dataclasses.replace(look, events=tuple(events))
    shape = (len(a.states), len(a.powers))
    final = [table[k].to_numpy().reshape(shape) for k in ("diff_mean", "diff_p5", "diff_p95")]
    over_time = [region[k].to_numpy().reshape(len(a.dates), len(a.powers))
                 for k in ("diff_mean", "diff_p5", "diff_p95")]
    draws = (f" ({len(c.posterior.draws)} posterior draws x "
             f"{c.replicates // len(c.posterior.draws)})" if c.posterior is not None else "")
    common: dict[str, Any] = {"a": c.label_a, "b": c.label_b, "look": look,
                              "interval": c.interval.label,
                              "note": f"{c.replicates} paired replicates on common random "
                                      f"numbers{draws}."}
    return [
        figures.Job("difference", "difference_final", (a.states, a.powers, *final),
            {**common, "when": c.end}),
        figures.Job("regional_share_difference", "difference_paths", (a.dates, *over_time),
            {**common, "powers": a.powers,
             "answer": c.end if c.headline.get("path") else None}),
    ]
