"""Many parameter sets of one scenario in one engine call (sweeps, calibration).

A :class:`Patch` binds a scenario and, for each column of a matrix of values (one row per
*point*), the scenario values that column sets: dotted paths as ``--set`` writes them, ``*``
matching one path element (``states.*.weights.econ`` sets every state's weight). The scenario is
checked and built once for a block of points: the varied values become arrays over the points
(:func:`patched`), and :func:`sim.model.params.build` evaluates its expressions element by element
over them, so point ``i``'s arrays are those of point ``i``'s own scenario, bit for bit. The
engine then runs points x replicates together (:func:`sim.model.engine.simulate_points`), replicate
``k`` of point ``i`` on the stream ``noise_stream(seeds[i], k)``: the numbers are those of
running each point alone, whatever the block.

:func:`simulate_batch` is the one entry point, used by ``sim sweep`` and by calibration::

    patch = Patch.bind(load("scenarios/tokyo_initiative.yaml"),
                       {"beta": "dynamics.sharpness", "econ": "states.*.weights.econ"})
    x = np.array([[1.0, 0.4], [2.0, 0.6], [3.0, 0.8]])          # 3 points
    yearly = simulate_batch(
        patch, x, replicates=10, seeds=np.array([1, 2, 3]),
        reduce=lambda b: observe.yearly(b.alignment, b.params.dates, years),
        summarise=lambda q: q.mean(axis=1),                   # (3, Y, S, P)
    )

Memory is bounded by the block size (``chunk`` point-replicates), not by the batch: each
block's trajectories are reduced as soon as they are made.

A value whose change alters the structure a scenario builds into (an instrument's period moves
its end date, and with it the rounds that carry money) cannot be an array over points: such a
batch is built and run point by point (:attr:`Patch.structural` says why, once), with the same
numbers and the same results, only slower.
"""

from __future__ import annotations

import copy
import difflib
import fnmatch
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
from pydantic import BaseModel

from sim.core.errors import ScenarioError, SimError
from sim.model import engine
from sim.model.params import Params, build
from sim.scenario.facts import Registry
from sim.scenario.quantity import Value
from sim.scenario.schema import Scenario, apply_override, to_raw, validate, values

#: Point-replicates simulated at once (bounds memory: a block's trajectories are about
#: ``CHUNK x rounds x states x powers x 8`` bytes for each array kept, 34 MB for the flagship).
#: Each block builds its points' arrays once; on the compiled engine that build, not the
#: simulation, was a third of a calibration-sized batch's time at 1,024.
CHUNK = 4096
#: Paths whose value moves a date (see the module docstring): batches are built point by point.
STRUCTURAL = {
    "powers.*.instruments.*.period_years": "an instrument's period moves its end date, and "
    "with it the rounds that carry money",
}
SET_WHY = "set for this point of a batch"


# --------------------------------------------------------------------------- raw scenarios


def provenance(v: Value) -> str:
    """A ``why`` for a value written out as a plain number, keeping where it came from."""
    if v.ref is None:
        return v.why or "inline value"
    text = f"registry entry '{v.ref}'"
    if v.scale != 1.0:
        text += f" x {v.scale:g}"
    return f"{text}: {v.why}" if v.why else text


def materialise(sc: Scenario) -> dict[str, Any]:
    """The scenario as raw data with every value a plain number (``{value, why}``).

    The result validates with no facts but those its events name as their sources
    (:func:`cited`; none for most scenarios: :func:`empty_registry`), so a sweep folder that
    stores them holds all it needs to resume even if the scenario or its facts change later;
    the ``why`` keeps the provenance.
    """
    raw = to_raw(sc)
    for path, v in values(sc):
        if "[" in path:
            raise AssertionError(f"value inside a list at {path}: not addressable by path")
        node = raw
        *parents, last = path.split(".")
        for key in parents:
            node = node[key]
        node[last] = {"value": v.value, "why": provenance(v)}
    return raw


def empty_registry(where: Path) -> Registry:
    """A registry with no entries (for materialised scenarios whose events cite no facts)."""
    return Registry(folder=where, entries={}, files={})


def cited(sc: Scenario, registry: Registry) -> Registry:
    """The entries of ``registry`` that ``sc`` still names once materialised: its events'
    sources (the facts, with their documents, that record each event).

    Raises:
        KeyError: a source the registry lacks (``sc`` was validated against another one).
    """
    ids = sorted({ev.source for ev in sc.events.values() if ev.source is not None})
    return Registry(
        folder=registry.folder,
        entries={i: registry.get(i) for i in ids},
        files={i: registry.files[i] for i in ids if i in registry.files},
    )


def with_values(
    base: dict[str, Any],
    columns: Sequence[Sequence[str]],
    xs: Sequence[float],
    why: str = SET_WHY,
) -> dict[str, Any]:
    """A copy of ``base`` with each column's paths set to its value in ``xs``.

    Only the mappings along the paths are copied (the rest is shared with ``base``, which
    validation only reads), so a point costs a few small copies, not a deep copy.
    """
    raw = dict(base)
    for paths in columns:
        for path in paths:
            node = raw
            for key in path.split(".")[:-1]:
                child = node.get(key)
                if not isinstance(child, dict):
                    break
                node[key] = node = dict(child)
    for paths, x in zip(columns, xs, strict=True):
        for path in paths:
            apply_override(raw, path.split("."), float(x), why=why)
    return raw


def expand(pattern: str, known: Sequence[str]) -> list[str]:
    """The paths among ``known`` that a pattern matches (``*``: any one path element)."""
    parts = pattern.split(".")
    return [
        k
        for k in known
        if len(k.split(".")) == len(parts)
        and all(fnmatch.fnmatchcase(a, b) for a, b in zip(k.split("."), parts, strict=True))
    ]


def hint(path: str, known: Sequence[str]) -> str:
    """A did-you-mean for a path, or nothing."""
    close = difflib.get_close_matches(path, list(known), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _exists(raw: dict[str, Any], path: str) -> bool:
    node: Any = raw
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


def resolve_paths(
    patterns: Sequence[str],
    raw: dict[str, Any],
    sc: Scenario,
    trial: float,
    fail: Callable[[str], SimError],
    registry: Registry | None = None,
) -> tuple[str, ...]:
    """Concrete value paths of some patterns, checked against the (materialised) scenario.

    A path the schema has but the scenario leaves out (e.g. a tie's debt) is accepted if the
    scenario validates with it set to ``trial`` (against ``registry``, by default an empty
    one). ``fail(message)`` makes the error to raise.
    """
    known = [p for p, _ in values(sc)]  # in the scenario's order
    current = set(known)
    registry = registry or empty_registry(Path("batch"))
    paths: list[str] = []
    for pattern in patterns:
        if "*" in pattern:
            matched = expand(pattern, known)
            if not matched:
                raise fail(f"'{pattern}' matches no scenario value{hint(pattern, known)}")
            paths.extend(matched)
            continue
        if pattern not in current:
            try:
                given = copy.deepcopy(raw)
                apply_override(given, pattern.split("."), trial, why=SET_WHY)
                ok = pattern in dict(values(validate(given, registry, "batch")))
            except ScenarioError:
                ok = False
            if not ok:
                what = (
                    "is not a numeric scenario value (only quantities vary: fields given as a "
                    "fact id or {value, why})"
                    if _exists(raw, pattern)
                    else "is not a scenario value"
                )
                raise fail(f"'{pattern}' {what}{hint(pattern, known)}")
        paths.append(pattern)
    return tuple(dict.fromkeys(paths))


def overlap(columns: Mapping[str, Sequence[str]]) -> tuple[str, str, str] | None:
    """The first path two columns both set, as ``(earlier, later, message)``, or None.

    Two columns on one path cannot vary together: one of them would never be simulated.
    """
    owner: dict[str, str] = {}
    for name, paths in columns.items():
        for path in paths:
            if path in owner:
                message = (
                    f"'{owner[path]}' and '{name}' both set {path}; a value can vary with one "
                    "parameter only"
                )
                return owner[path], name, message
            owner[path] = name
    return None


# --------------------------------------------------------------------------- patch


@dataclass(frozen=True)
class Patch:
    """A scenario and the value paths each column of a batch's values sets.

    Attributes:
        raw: the scenario with its values as plain numbers (:func:`materialise`).
        scenario: ``raw`` validated.
        names: one name per column (for messages).
        columns: the concrete paths each column sets.
        where: what error messages name (a file, an option, or ``batch``).
        registry: what ``raw`` is validated against: empty (every value is a number), or the
            scenario's own where it names facts beyond its values (events' sources).
    """

    raw: dict[str, Any]
    scenario: Scenario
    names: tuple[str, ...]
    columns: tuple[tuple[str, ...], ...]
    where: str = "batch"
    registry: Registry | None = None

    @classmethod
    def bind(
        cls,
        sc: Scenario,
        columns: Mapping[str, str | Sequence[str]],
        where: str = "batch",
        registry: Registry | None = None,
    ) -> Patch:
        """Resolve each column's paths (patterns allowed) against a scenario.

        A scenario whose events name their sources (facts of the registry) needs its
        ``registry`` (:func:`sim.scenario.facts.load_registry`); its values need none.

        Raises:
            ScenarioError: a path that names no numeric value, or two columns on one path.
        """
        raw = materialise(sc)
        mat = validate(raw, registry or empty_registry(Path(where)), where)
        bound: dict[str, tuple[str, ...]] = {}
        for name, given in columns.items():
            patterns = [given] if isinstance(given, str) else list(given)

            def fail(message: str, name: str = name) -> SimError:
                return ScenarioError(where, name, message)

            bound[name] = resolve_paths(patterns, raw, mat, 0.0, fail, registry)
        clash = overlap(bound)
        if clash is not None:
            raise ScenarioError(where, clash[1], clash[2])
        return cls(raw, mat, tuple(bound), tuple(bound.values()), where, registry)

    @property
    def structural(self) -> str | None:
        """Why this batch is built point by point, or None (see the module docstring)."""
        for paths in self.columns:
            for path in paths:
                for pattern, why in STRUCTURAL.items():
                    if expand(pattern, [path]):
                        return f"{path}: {why}; its points are built one by one"
        return None

    def check(self, x: np.ndarray) -> np.ndarray:
        """The values as a float array ``(points, columns)``, checked against the fields.

        Every value must be finite and in the range its fields accept; a value between two
        accepted values is accepted too (ranges are intervals), so the smallest and the
        largest of each column are what is checked, each set of them validated as a scenario.

        Raises:
            ScenarioError: naming the column, its field and what it expects.
        """
        arr = np.asarray(x, dtype=float)
        if arr.ndim != 2 or arr.shape[1] != len(self.columns):
            raise ScenarioError(
                self.where,
                "values",
                f"expected an array (points, {len(self.columns)}) with one column per "
                f"parameter ({', '.join(self.names)}), found shape {arr.shape}",
            )
        bad = ~np.isfinite(arr)
        if bad.any():
            i, j = (int(v) for v in np.argwhere(bad)[0])
            raise ScenarioError(
                self.where, self.names[j], f"expected finite values, found {arr[i, j]} at point {i}"
            )
        if len(arr):
            for xs in (arr.min(axis=0), arr.max(axis=0)):
                try:
                    self.scenario_at(xs.tolist())
                except ScenarioError as err:
                    col = next(
                        (j for j, paths in enumerate(self.columns) if err.field in paths), None
                    )
                    name = self.names[col] if col is not None else "values"
                    value = f"{xs[col]:g} " if col is not None else ""
                    raise ScenarioError(
                        self.where,
                        name,
                        f"{value}is outside what {err.field or 'the scenario'} accepts: "
                        f"{err.message}",
                    ) from None
        return arr

    def scenario_at(self, xs: Sequence[float]) -> Scenario:
        """One point's own scenario (validated: the per-point path)."""
        registry = self.registry or empty_registry(Path(self.where))
        return validate(with_values(self.raw, self.columns, xs), registry, self.where)

    def params(self, x: np.ndarray) -> Params:
        """A batch of points ``x`` ``(points, columns)`` built at once (not checked: see
        :meth:`check`)."""
        if self.structural is not None:
            raise ValueError(self.structural)
        return build(patched(self.scenario_at(x[0]), self.columns, np.asarray(x, dtype=float)))


def patched(sc: Scenario, columns: Sequence[Sequence[str]], x: np.ndarray) -> Scenario:
    """``sc`` with each column's values set to its column of ``x``: arrays over the points.

    ``sc`` must already hold every path (e.g. validated at one of the points); the result is not
    validated again (its values hold arrays), and builds into a batch (:mod:`sim.model.params`).
    """
    out = sc
    for j, paths in enumerate(columns):
        column = np.ascontiguousarray(x[:, j], dtype=float)
        for path in paths:
            out = _replace(out, path.split("."), Value(cast(float, column), why=SET_WHY))
    return out


def _replace(node: Any, parts: Sequence[str], leaf: Value) -> Any:
    key, rest = parts[0], parts[1:]
    if isinstance(node, BaseModel):
        child = getattr(node, key)
        return node.model_copy(update={key: _replace(child, rest, leaf) if rest else leaf})
    if isinstance(node, dict):
        return {**node, key: _replace(node[key], rest, leaf) if rest else leaf}
    raise KeyError(".".join(parts))


# --------------------------------------------------------------------------- simulation


@dataclass(frozen=True)
class Block:
    """Replicates x points simulated at once, handed to a reducer.

    Attributes:
        points: the points' rows in the batch's values.
        replicates: the replicate indices (the same for every point of the block).
        params: the points' arrays: a batch of ``len(points)`` whose parameters ``(point, ...)``
            broadcast against the trajectories' ``(replicate, point)`` axes (e.g.
            ``params.region_w`` against ``alignment[:, :, r]``), or one scenario's when the
            batch is built point by point.
        alignment: ``(replicate, point, round, state, power)``.
        debt, delivered: the same shape, if asked for (``keep``), else None.
    """

    points: np.ndarray
    replicates: np.ndarray
    params: Params
    alignment: np.ndarray
    debt: np.ndarray | None = None
    delivered: np.ndarray | None = None


Reduce = Callable[[Block], np.ndarray]
Summarise = Callable[[np.ndarray], np.ndarray]


def alignment(block: Block) -> np.ndarray:
    """The default reduction: every replicate's alignment trajectory."""
    return block.alignment


def simulate_batch(
    patch: Patch,
    x: np.ndarray,
    replicates: int,
    seeds: np.ndarray,
    *,
    reduce: Reduce = alignment,
    summarise: Summarise | None = None,
    keep: Sequence[str] = ("alignment",),
    chunk: int = CHUNK,
    note: Callable[[str], None] | None = None,
) -> np.ndarray:
    """Run ``replicates`` replicates of every point and reduce them.

    Args:
        patch: the scenario and the paths each column of ``x`` sets.
        x: values ``(points, columns)``; checked (:meth:`Patch.check`).
        replicates: replicates per point (indices ``0 .. replicates - 1``).
        seeds: root seed of each point (non-negative integers), ``(points,)``.
        reduce: turns a :class:`Block` into one array ``(replicate, point, ...)``.
        summarise: turns the reduced replicates of a group of points, ``(replicates, point,
            ...)`` with every replicate, into ``(point, ...)`` (e.g. ``q.mean(axis=0)``); None
            keeps every replicate.
        keep: the trajectories a block holds (``alignment``, ``debt``, ``delivered``).
        chunk: replicates x points simulated at once (bounds memory; a group of points holds
            its reduced replicates until it is summarised).
        note: called once with the reason if the batch is built point by point.

    Returns:
        ``(points, ...)`` summaries, or ``(points, replicates, ...)`` without ``summarise``.

    Raises:
        ScenarioError: values of the wrong shape, not finite, or outside a field's range.
        SimError: seeds that do not match the points, or no replicates.
    """
    arr = patch.check(x)
    n = len(arr)
    seeds_a = np.asarray(seeds)
    if seeds_a.shape != (n,):
        raise SimError(f"seeds: expected one seed per point ({n}), found shape {seeds_a.shape}")
    if n and (not np.issubdtype(seeds_a.dtype, np.integer) or int(seeds_a.min()) < 0):
        raise SimError("seeds: expected non-negative integers")
    if replicates < 1 or chunk < 1:
        raise SimError(f"replicates and chunk: expected at least 1, found {replicates}, {chunk}")
    structural = patch.structural
    if structural is not None and note is not None:
        note(structural)
    skeleton = patch.scenario_at(arr[0]) if n and structural is None else None
    group = max(1, chunk // replicates)  # points per group
    out: np.ndarray | None = None
    for lo in range(0, n, group):
        rows = np.arange(lo, min(lo + group, n))
        if skeleton is not None:
            parts = [(rows, build(patched(skeleton, patch.columns, arr[rows])))]
        else:
            parts = [(rows[i : i + 1], build(patch.scenario_at(arr[i]))) for i in range(len(rows))]
        if lo == 0:
            engine.expect(parts[0][1], n * replicates * parts[0][1].rounds)
        for pts, p in parts:
            per = _replicates(p, pts, seeds_a[pts], replicates, chunk, reduce, keep)
            result = summarise(per) if summarise is not None else np.swapaxes(per, 0, 1)
            if out is None:
                out = np.empty((n, *result.shape[1:]), dtype=result.dtype)
            out[pts] = result
    if out is None:  # no points
        return np.empty((0,))
    return out


def _replicates(
    p: Params,
    points: np.ndarray,
    seeds: np.ndarray,
    replicates: int,
    chunk: int,
    reduce: Reduce,
    keep: Sequence[str],
) -> np.ndarray:
    """Every replicate of some points ``(replicate, point, ...)``, simulated in blocks of at
    most ``chunk`` replicates x points."""
    per: np.ndarray | None = None
    kept = tuple(dict.fromkeys(("alignment", *keep)))
    step = max(1, chunk // len(points))
    for lo in range(0, replicates, step):
        reps = np.arange(lo, min(lo + step, replicates))
        traj = engine.simulate_points(p, seeds, reps, kept)
        part = reduce(Block(points, reps, p, **traj))
        if part.shape[:2] != (len(reps), len(points)):
            raise ValueError(
                f"reduce returned shape {part.shape}; expected (replicate, point, ...) = "
                f"({len(reps)}, {len(points)}, ...)"
            )
        if per is None:
            per = np.empty((replicates, len(points), *part.shape[2:]), dtype=part.dtype)
        per[reps] = part
    assert per is not None
    return per
