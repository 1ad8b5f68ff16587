"""The Python interface: run, compare and sweep from a script or a notebook.

::

    import sim

    r = sim.run("tokyo_initiative", replicates=200, set={"states.KAZ.weights.debt": 4})
    r.region            # each power's regional share per round (a DataFrame, datetime64 dates)
    c = sim.compare("no_japan", "tokyo_initiative")
    print(c.answer())   # what the command line prints
    c.effect            # the focus power's effect on its regional share, with its interval
    c.save("results/my_comparison")

Each function takes what its command takes (a scenario file or a shipped scenario's name,
overrides as a mapping of path to value) and returns its results in memory: pandas
DataFrames whose ``date`` columns are ``datetime64``, the headline numbers as plain data, and
``save(folder)``, which writes the folder the command line would have written (figures,
tables, manifest, report). Nothing is written until ``save`` is called, except by
:func:`sweep`, whose points are stored as they finish (in a temporary folder unless ``out`` is
given) so that a long sweep can be resumed.

Errors in the input raise :class:`sim.core.errors.SimError` with the one-line message the command
line prints.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from sim.calibration import posterior as posteriors
from sim.core.errors import SimError
from sim.experiments.compare import CompareRequest, Comparison, compute
from sim.experiments.run import RunRequest, Simulation, names_of, simulate
from sim.model.engines import Engine
from sim.outputs import outcomes, results, terminal
from sim.scenario.facts import load_registry
from sim.scenario.schema import Scenario, load

Values = Mapping[str, Any]


def overrides(values: Values | None) -> tuple[str, ...]:
    """``{path: value}`` as ``--set`` expressions (``path=value``); a bare number becomes an
    assumption set by the caller, as on the command line."""
    out = []
    for path, value in (values or {}).items():
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            text = yaml.safe_dump(value, default_flow_style=True, width=1 << 20).strip()
        else:
            text = repr(value) if isinstance(value, float) else str(value)
        out.append(f"{path}={text}")
    return tuple(out)


def _dates(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its ``date`` column as ``datetime64``."""
    if "date" in df.columns:
        df = df.assign(date=pd.to_datetime(df["date"]))
    return df


def _target(folder: Path | str) -> Path:
    path = Path(folder)
    if path.exists():
        raise SimError(f"{path}: already exists; results are never overwritten")
    return path


# --------------------------------------------------------------------------- run


@dataclass(frozen=True)
class RunResult:
    """A scenario's ensemble, in memory. See :func:`run`."""

    simulation: Simulation

    @property
    def scenario(self) -> Scenario:
        """The resolved scenario (after ``extends:`` and the overrides)."""
        return self.simulation.scenario

    @property
    def replicates(self) -> int:
        return int(self.simulation.spec["replicates"])

    @property
    def interval(self) -> outcomes.Interval:
        """What the ranges over replicates are and cover (noise only, or noise and parameters
        over a posterior)."""
        return outcomes.interval(parameters=self.simulation.spec.get("posterior") is not None)

    @property
    def final(self) -> pd.DataFrame:
        """Alignment at the end, per state and power: mean, p5, p50, p95 (shares)."""
        return self.simulation.final

    @property
    def region(self) -> pd.DataFrame:
        """Each power's share of the region per round: mean and percentiles (shares)."""
        s = self.simulation
        return _dates(outcomes.region_table(s.summary, s.params))

    @property
    def by_round(self) -> pd.DataFrame:
        """Alignment per round, state and power: mean and percentiles; mean debt and money."""
        s = self.simulation
        return _dates(outcomes.by_round_table(s.summary, s.params))

    @property
    def hedging(self) -> pd.DataFrame:
        """Each state's hedging index per round (0: one power only; 1: an even spread)."""
        s = self.simulation
        return _dates(outcomes.hedging_table(s.summary, s.params))

    @property
    def alignment(self) -> pd.DataFrame:
        """Every replicate's path: one row per replicate, round, state and power.

        Raises:
            SimError: the run kept summaries only (``trajectories=False``).
        """
        s = self.simulation
        if s.trajectories is None:
            raise SimError("alignment: this run kept summaries only; run with "
                           "trajectories=True for every replicate's path")
        table = results.tidy_table(s.trajectories, s.params, s.scenario.name)
        return _dates(table.to_pandas())

    @property
    def headline(self) -> dict[str, Any]:
        """The headline numbers the report shows (:func:`sim.outputs.outcomes.run_headline`)."""
        s = self.simulation
        return outcomes.run_headline(s.summary, s.params, s.scenario.blocs, s.trajectories)

    def table(self, width: int | None = None) -> str:
        """The final alignment as the command line prints it."""
        s = self.simulation
        return terminal.final_alignment(
            s.final, when=outcomes.end_date(s.scenario.time.end, s.params.dates),
            iv=self.interval, names=names_of(s.scenario), width=width)

    def save(self, folder: Path | str, *, plots: bool = True,
             formats: Sequence[str] = ("png",)) -> Path:
        """Write the results folder ``sim run`` writes, at ``folder`` (which must not exist)."""
        return self.simulation.save(_target(folder), plots=plots, formats=formats)

    def __repr__(self) -> str:
        return f"<RunResult {self.scenario.name}: {self.replicates} replicates>\n{self.table()}"


def run(
    scenario: Path | str,
    *,
    replicates: int | None = None,
    seed: int | None = None,
    rounds: int | None = None,
    set: Values | None = None,
    engine: str = "ensemble",
    trajectories: bool | None = None,
    facts: Path | str | None = None,
    posterior: Path | str | None = None,
    without_posterior: bool = False,
    draws: int = posteriors.DRAWS,
) -> RunResult:
    """Simulate a scenario's ensemble in memory (``sim run``).

    Args:
        scenario: a scenario file, or a shipped scenario's name (``"tokyo_initiative"``).
        replicates, seed, rounds: default to the scenario's own.
        set: overrides, ``{"states.KAZ.weights.debt": 4}`` (as ``--set``).
        engine: ``"ensemble"`` (vectorised) or ``"mesa"`` (agent by agent); same numbers.
        trajectories: keep every replicate's path (default: up to 20,000 replicates).
        facts: the facts registry folder (default: the one the scenario finds).
        posterior, without_posterior, draws: as on the command line: by default the shipped
            posterior where it was made for the scenario (each of ``draws`` draws a block of
            ``replicates``, intervals over noise and parameters); ``without_posterior`` for
            the scenario's own constants.
    """
    sets = overrides(set)
    registry = None if facts is None else Path(facts)
    post = None
    if engine == "ensemble" and rounds is None:
        post = _choose(posterior, without_posterior, [scenario], sets, registry)
    req = RunRequest(Path(scenario), replicates=replicates, seed=seed, rounds=rounds,
                     sets=sets, engine=Engine(engine), trajectories=trajectories,
                     facts=registry, posterior=post, draws=draws)
    return RunResult(simulate(req))


def _choose(given: Path | str | None, without: bool, scenarios: Sequence[Path | str | None],
            sets: Sequence[str], facts: Path | None) -> Path | None:
    """The posterior the command line would use (:func:`sim.calibration.posterior.choose`)."""
    if given is not None or without:
        return posteriors.choose(given, without, [])
    registry = None if facts is None else load_registry(facts)
    return posteriors.choose(None, False, [(load(s, sets, registry), s)
                                           for s in scenarios if s is not None])


# --------------------------------------------------------------------------- compare


@dataclass(frozen=True)
class CompareResult:
    """Two scenarios on common random numbers, and their paired differences. See
    :func:`compare`."""

    comparison: Comparison

    @property
    def headline(self) -> dict[str, Any]:
        """What B changes: the focus power, each power's change, who loses, each state
        (:func:`sim.outputs.outcomes.compare_headline`; shares, not percentage points)."""
        return self.comparison.headline

    @property
    def effect(self) -> dict[str, Any]:
        """The focus power's change in regional share at the end (B minus A, paired):
        ``power``, ``median`` (the number the answer leads with; also ``p50``), ``mean``,
        ``p5``, ``p95`` (shares), ``a`` and ``b`` (its share in A and in B, means) and
        ``interval`` (what the interval covers)."""
        head = self.headline
        row = next(r for r in head["powers"] if r["code"] == head["focus"])
        return {"power": head["focus"], **row, "median": row.get("p50"),
                "interval": head["interval"]["label"]}

    @property
    def differences(self) -> pd.DataFrame:
        """Each state and power at the end: both means and the paired difference."""
        return self.comparison.differences

    @property
    def region(self) -> pd.DataFrame:
        """Each power's paired difference in regional share, every round."""
        return _dates(self.comparison.region)

    @property
    def replicates(self) -> int:
        return self.comparison.replicates

    def answer(self, width: int | None = None) -> str:
        """The answer as the command line prints it (percentage points, with intervals)."""
        return self.comparison.answer(width)

    def save(self, folder: Path | str, *, plots: bool = True,
             formats: Sequence[str] = ("png",)) -> Path:
        """Write the folder ``sim compare`` writes, at ``folder`` (which must not exist)."""
        return self.comparison.save(_target(folder), plots=plots, formats=formats)

    def __repr__(self) -> str:
        c = self.comparison
        return f"<CompareResult {c.label_b} against {c.label_a}>\n{self.answer()}"


def compare(
    a: Path | str,
    b: Path | str | None = None,
    *,
    replicates: int | None = None,
    seed: int | None = None,
    rounds: int | None = None,
    set: Values | None = None,
    set_a: Values | None = None,
    set_b: Values | None = None,
    facts: Path | str | None = None,
    posterior: Path | str | None = None,
    without_posterior: bool = False,
    draws: int = posteriors.DRAWS,
) -> CompareResult:
    """Run two scenarios on common random numbers and pair their replicates (``sim compare``).

    Args:
        a: scenario A (e.g. the counterfactual): a file or a shipped scenario's name.
        b: scenario B (e.g. the policy); none: A itself, changed by ``set_b``.
        replicates: default the larger of the two scenarios' own.
        seed: the root seed both share (default: A's).
        set, set_a, set_b: overrides of both, of A only, of B only.
        facts: the facts registry folder for both (default: the one each finds).
        posterior, without_posterior, draws: as on the command line: by default the shipped
            posterior where it was made for both scenarios (each of ``draws`` draws a block of
            ``replicates`` paired replicates, intervals over noise and parameters);
            ``without_posterior`` for the scenarios' own constants.
    """
    sets = overrides(set)
    registry = None if facts is None else Path(facts)
    post = None
    if rounds is None:
        post = _choose(posterior, without_posterior, [a, b], sets, registry)
    req = CompareRequest(Path(a), None if b is None else Path(b), replicates=replicates,
                         seed=seed, rounds=rounds, sets=sets, sets_a=overrides(set_a),
                         sets_b=overrides(set_b), facts=registry, posterior=post, draws=draws)
    return CompareResult(compute(req))


# --------------------------------------------------------------------------- sweep


@dataclass(frozen=True)
class SweepResult:
    """A sweep's design and outcomes, and its analysis. See :func:`sweep`.

    Attributes:
        folder: where the sweep's points are stored (temporary unless ``out`` was given).
        outcomes: one row per point: its parameter values, seed and every outcome.
        sensitivity: Sobol' or Morris indices per outcome and parameter (None for grids and
            Latin hypercubes).
        report: the analysis as text (what ``sim sweep`` prints).
    """

    folder: Path
    outcomes: pd.DataFrame
    sensitivity: pd.DataFrame | None
    report: str

    def save(self, folder: Path | str) -> Path:
        """Copy the sweep's folder (design, outcomes, analysis, figures, report) to
        ``folder`` (which must not exist)."""
        target = _target(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".incomplete-{target.name}"
        shutil.copytree(self.folder, tmp)
        tmp.rename(target)
        return target


def sweep(
    source: Path | str,
    *,
    params: Mapping[str, Any] | None = None,
    method: str | None = None,
    samples: int | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    outcomes: Sequence[str] = (),
    set: Values | None = None,
    workers: int | None = 1,
    out: Path | str | None = None,
    facts: Path | str | None = None,
    counterfactual: Path | str | None = None,
    posterior: Path | str | None = None,
    draws: int = 20,
) -> SweepResult:
    """Sweep scenario values and analyse the outcomes (``sim sweep``).

    Args:
        source: a sweep file, or a scenario (file or shipped name) with ``params``.
        params: swept values, ``{path: (low, high)}`` or ``{path: (low, high, levels)}``
            (``*`` matches one path element).
        method: ``grid``, ``lhs``, ``sobol`` or ``morris`` (default as on the command line).
        samples, replicates, seed: as ``--samples``, ``--replicates``, ``--seed``.
        outcomes: outcomes to report (default: the sweep's own, or each power's regional
            share).
        set: overrides of the scenario.
        workers: local processes (default here: this one; ``None``: every core).
        out: folder under which ``<scenario>/sweeps/<id>/`` is made (default: a temporary
            folder, removed when the result is).
        facts: the facts registry folder.
        counterfactual: the scenario without the policy: each point runs it too, on the same
            seeds, and the outcomes ``<POWER>_effect`` are the paired differences.
        posterior: a calibration's posterior folder: every point runs ``draws`` of its draws
            (each a block of ``replicates``), so intervals cover noise and parameters; the
            swept values win where they set a calibrated field. Default: none (a sweep's
            points run the scenario's own constants).
    """
    from sim.experiments.sweep import SweepRequest, run_sweep

    expressions = []
    for path, spread in (params or {}).items():
        parts = [spread] if isinstance(spread, int | float) else list(spread)
        expressions.append(f"{path}={':'.join(str(x) for x in parts)}")
    temporary = out is None
    base = Path(tempfile.mkdtemp(prefix="sim-sweep-")) if out is None else Path(out)
    req = SweepRequest(source=Path(source), params=expressions, method=method, samples=samples,
                       replicates=replicates, seed=seed, report=list(outcomes),
                       sets=list(overrides(set)), workers=workers, out=base,
                       facts=None if facts is None else Path(facts),
                       counterfactual=None if counterfactual is None else Path(counterfactual),
                       posterior=None if posterior is None else Path(posterior), draws=draws)
    try:
        done = run_sweep(req)
    except BaseException:
        if temporary:
            shutil.rmtree(base, ignore_errors=True)
        raise
    table = pd.read_parquet(done.folder / "outcomes.parquet")
    sens_path = done.folder / "sensitivity.csv"
    sens = pd.read_csv(sens_path) if sens_path.is_file() else None
    result = SweepResult(done.folder, table, sens, done.report)
    if temporary:  # the temporary folder lives as long as the result
        weakref.finalize(result, shutil.rmtree, base, ignore_errors=True)
    return result
