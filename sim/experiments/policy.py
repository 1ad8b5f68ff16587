"""What should a power offer, and to whom: a robust search over packages (``sim policy FILE``).

A policy file (``scenarios/policies/*.yaml``, :class:`PolicyFile`) names a scenario with a
power's package (the announced one, e.g. ``tokyo_initiative``) and the same world without it
(``no_japan``), the package's *levers* with their bounds, a budget, the *uncertainties* a
package is judged over, the objectives and the search's settings.

Levers:

- ``amount``: an instrument's pledge ($bn over its period);
- ``state``: a state's weight in every instrument whose allocation reaches it, as a multiple
  of its announced share (1: as announced; the shares are normalised by the model);
- ``period``: the years over which every instrument of the power delivers (whole years; fewer
  front-load the same money);
- ``summits``: how many leaders' summits follow, by a schedule of dates for each number (the
  announced number keeps the announced events).

Uncertainties are the posterior's draws (the shipped calibration by default), each paired with
one point of the declared ranges (a Latin hypercube, the same for every package). Every package
runs on the same draws, the same points and the same random numbers (replicate ``k`` of draw
``d`` on :func:`sim.calibration.posterior.draw_seeds`' stream ``d`` of the scenario's seed) as the
announced
package and the counterfactual, so that package's effect is exactly the paired effect
``sim compare`` reports over the same draws (when no ranges are declared), and two packages
differ only by what they do.

A rival's coercive answer to the package (``coercion``, :class:`Coercion`) is a declared
uncertainty of its own: in each posterior draw it happens or not (a seeded Bernoulli with the
declared probability) with its own factor, the same for every package, as an event added to the
package's scenario (a ``trade`` cut of the rival's own ties, a ``sanctions`` cut of the
package power's trade ``imposed_by`` the rival, or a ``remittance_shock``), never to the
counterfactual's (the coercion answers the package). With probability 0 the events keep factor
1 and every number is as without the entry.

Objectives (any subset): ``effect``, the median of the power's regional-share effect over
draws and replicates at the answer date (``time.answer``), with its 5-95% interval; ``robust``,
the 10th percentile over draws of each draw's mean effect; ``cost``, the money pledged;
``russia``, ``china``, ``rivals``: how much the package takes from Russia's, China's or their
combined share (median); ``regret``, the median over draws of how far a package falls short
of the best package found for that draw (minimised; during the search measured against every
package run so far, the current generation's survivors measured again each generation; in the
result against every package run). Regret is reported for every package of the result.

The search is NSGA-II (pymoo) over the levers, every package repaired to the budget (the
money levers scaled down together when they exceed it) and its whole-number levers rounded.
The announced package is in the first generation. The state of the search is saved into the
output folder after every generation, so a re-run of the same command continues from there.
"""

from __future__ import annotations

import copy
import difflib
import functools
import hashlib
import json
import math
import pickle
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.core.evaluator import Evaluator
from pymoo.core.problem import Problem as PymooProblem
from pymoo.core.repair import Repair
from pymoo.problems.static import StaticProblem

from sim.calibration import posterior as posteriors
from sim.core.errors import ScenarioError, SettingError
from sim.core.shipped import locate
from sim.core.yamlio import read_yaml
from sim.experiments.sweep.spec import Distribution, LogUniform, Triangular, TruncNormal, Uniform
from sim.model import rules
from sim.model.engines import Progress
from sim.outputs import outcomes, results
from sim.runs.batch import Block, Patch, expand, simulate_batch
from sim.scenario.facts import Registry, load_registry
from sim.scenario.schema import Scenario, file_digest, registry_folder, to_raw, validate, values
from sim.scenario.schema import load as load_scenario

Code = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]{1,5}$")]
Name = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=60)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Objective = Literal["effect", "robust", "cost", "russia", "china", "rivals", "regret"]
#: Objectives to maximise (the others are minimised).
MAXIMISED = ("effect", "robust", "russia", "china", "rivals")
#: The percentile over draws that ``robust`` reads.
ROBUST_QUANTILE = 0.10
WHY = "set by sim policy for this package"


class Closed(BaseModel):
    """Base of the policy schema: immutable, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Lever(Closed):
    """One lever of the package and its bounds (see the module docstring for the kinds)."""

    kind: Literal["amount", "state", "period", "summits"]
    range: tuple[Finite, Finite] | None = Field(
        default=None, description="[low, high]; summits: from the schedules")
    instrument: Name | None = Field(default=None, description="amount: the instrument")
    state: Code | None = Field(default=None, description="state: the state's code")
    replace: list[Name] = Field(default_factory=list,
                                description="summits: the announced events the lever schedules")
    schedules: list[list[date]] = Field(default_factory=list,
                                        description="summits: the dates for 0, 1, 2... summits")
    cost_usd_bn: Finite | None = Field(
        default=None, ge=0, description="cost per unit (amount: 1 per $bn; others: 0)")
    description: str = ""

    @model_validator(mode="after")
    def _kind(self) -> Lever:
        need = {"amount": "instrument", "state": "state"}.get(self.kind)
        if need is not None and getattr(self, need) is None:
            raise ValueError(f"{need}: a lever of kind '{self.kind}' needs one")
        if self.kind == "summits":
            if not self.schedules or not self.replace:
                raise ValueError("schedules: a lever of kind 'summits' needs 'replace' (the "
                                 "announced events) and 'schedules' (dates for 0, 1, 2... "
                                 "summits)")
            for i, dates in enumerate(self.schedules):
                if len(dates) != i:
                    raise ValueError(f"schedules: entry {i} must list {i} dates (the schedule "
                                     f"for {i} summits), found {len(dates)}")
            if len(self.replace) >= len(self.schedules):
                raise ValueError(f"schedules: expected one for the announced number "
                                 f"({len(self.replace)}), found {len(self.schedules)}")
        elif self.range is None:
            raise ValueError("range: required field is missing")
        if self.range is not None and not self.range[0] < self.range[1]:
            raise ValueError(f"range: low ({self.range[0]:g}) must be below high "
                             f"({self.range[1]:g})")
        if self.kind == "period" and self.range is not None and self.range[0] < 1:
            raise ValueError("range: a period is at least 1 year")
        return self

    @property
    def bounds(self) -> tuple[float, float]:
        if self.kind == "summits":
            return 0.0, float(len(self.schedules) - 1)
        assert self.range is not None
        return float(self.range[0]), float(self.range[1])

    @property
    def whole(self) -> bool:
        """Whether the lever takes whole numbers only (it changes the scenario's structure)."""
        return self.kind in ("period", "summits")

    @property
    def unit_cost(self) -> float:
        if self.cost_usd_bn is not None:
            return float(self.cost_usd_bn)
        return 1.0 if self.kind == "amount" else 0.0


class Uncertainty(Closed):
    """An assumption the posterior does not fit: scenario value path(s) and its prior, a
    uniform ``range`` or a bounded ``distribution`` (as in a sweep file: uniform, loguniform,
    triangular, truncnormal)."""

    path: str | list[str]
    range: tuple[Finite, Finite] | None = None
    distribution: Distribution | None = None
    description: str = ""

    @model_validator(mode="after")
    def _range(self) -> Uncertainty:
        if (self.range is None) == (self.distribution is None):
            raise ValueError("range: give exactly one of 'range: [low, high]' or "
                             "'distribution'")
        if not self.low < self.high:
            raise ValueError(f"range: low ({self.low:g}) must be below high ({self.high:g})")
        return self

    @property
    def dist(self) -> Uniform | LogUniform | Triangular | TruncNormal:
        """The prior (a ``range`` is uniform)."""
        if self.distribution is not None:
            return self.distribution
        assert self.range is not None
        return Uniform(kind="uniform", low=self.range[0], high=self.range[1])

    @property
    def low(self) -> float:
        return float(self.dist.low)

    @property
    def high(self) -> float:
        return float(self.dist.high)

    def describe(self) -> str:
        """The prior in words: ``uniform on 0 to 2``, ``triangular on 0 to 2, mode 0``."""
        d = self.dist
        text = f"{d.kind} on {d.low:g} to {d.high:g}"
        if isinstance(d, Triangular):
            text += f", mode {d.mode:g}"
        elif isinstance(d, TruncNormal):
            text += f", mean {d.mean:g}, sd {d.sd:g}"
        return text

    @property
    def paths(self) -> list[str]:
        return [self.path] if isinstance(self.path, str) else list(self.path)


class Coercion(Closed):
    """A rival's coercive answer to the package, declared as an uncertainty: in each posterior
    draw it happens with ``probability`` (one draw of a seeded stream, the same for every
    package), with a factor drawn uniformly on ``factor``, from ``date`` on, for good.

    ``instrument``: ``trade`` (the rival cuts its own trade with the states hit: an embargo, a
    cut in its purchases of their gas, a closed border; a ``trade`` event on the rival's ties),
    ``transit`` (the rival cuts the states' trade with the package's power where it runs
    through the rival's territory: a ``sanctions`` event on the power's ties, ``imposed_by``
    the rival) or ``remittances`` (a ``remittance_shock`` on the rival's remittances: migrant
    re-entry bans, work-permit rules). The states hit are ``states`` or the ``favoured`` ones:
    the given number of states the package gives most money for the size of their economy."""

    by: Code = Field(description="the rival that coerces")
    instrument: Literal["trade", "transit", "remittances"]
    states: list[Code] | None = Field(default=None, min_length=1,
                                      description="the states hit (or give 'favoured')")
    favoured: int | None = Field(default=None, ge=1,
                                 description="the states hit: this many the package favours most")
    factor: tuple[Finite, Finite] = Field(description="[low, high] multiplier on the tie")
    date: date
    probability: Finite = Field(ge=0, le=1, description="chance it happens in a draw")
    source: str | None = Field(default=None, description="registry id of the assumption")
    description: str = ""

    @model_validator(mode="after")
    def _coercion(self) -> Coercion:
        if (self.states is None) == (self.favoured is None):
            raise ValueError("states: give exactly one of 'states: [codes]' or 'favoured: n'")
        lo, hi = self.factor
        if not 0 <= lo <= hi <= 1:
            raise ValueError(f"factor: expected 0 <= low <= high <= 1 (a cut), found "
                             f"[{lo:g}, {hi:g}]")
        return self


class Budget(Closed):
    """The money a package may pledge: a number ($bn) or ``announced`` (the announced
    package's own cost)."""

    usd_bn: Finite | Literal["announced"] = "announced"
    why: str = ""


class Search(Closed):
    """The search's settings (each overridable on the command line)."""

    population: int = Field(default=40, ge=4, le=1000)
    generations: int = Field(default=50, ge=1, le=1000)
    draws: int = Field(default=64, ge=1, le=10_000)
    replicates: int = Field(default=4, ge=1, le=10_000)
    seed: int = Field(default=20251220, ge=0)


class PolicyFile(Closed):
    """A policy file: what is searched, over what, for what."""

    scenario: str = Field(description="the scenario with the announced package")
    counterfactual: str = Field(description="the same world without the package")
    power: Code
    description: str = ""
    posterior: str | None = Field(
        default=None, description="a calibration's posterior folder (default: the shipped one)")
    budget: Budget = Budget()
    levers: dict[Name, Lever] = Field(min_length=1)
    uncertainties: dict[Name, Uncertainty] = Field(default_factory=dict)
    coercion: dict[Name, Coercion] = Field(default_factory=dict)
    objectives: list[Objective] = Field(default=["effect", "robust", "cost"], min_length=1)
    search: Search = Search()

    @model_validator(mode="after")
    def _objectives(self) -> PolicyFile:
        if len(set(self.objectives)) != len(self.objectives):
            raise ValueError("objectives: each objective at most once")
        if sum(lv.kind == "summits" for lv in self.levers.values()) > 1:
            raise ValueError("levers: at most one lever of kind 'summits'")
        if sum(lv.kind == "period" for lv in self.levers.values()) > 1:
            raise ValueError("levers: at most one lever of kind 'period'")
        return self


def _explain(err: ValidationError) -> tuple[str, str]:
    """The first validation error as (field path, message)."""
    errors = sorted(err.errors(), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    loc = [str(p) for p in first["loc"]]
    field_ = ".".join(loc)
    msg = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        model: Any = PolicyFile
        for key in loc[:-1]:
            sub = getattr(model, "model_fields", {}).get(key)
            if sub is None:
                break
            model = _model_of(sub.annotation)
        allowed = list(getattr(model, "model_fields", {}))
        close = difflib.get_close_matches(loc[-1], allowed, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return field_, f"unknown key{hint} (allowed: {', '.join(allowed)})"
    if first["type"] == "missing":
        return field_, "required field is missing"
    located = msg.split(": ", 1)
    if first["type"] == "value_error" and len(located) == 2 and located[0].isidentifier():
        return ".".join(p for p in (field_, located[0]) if p), located[1]
    if "input" in first and not isinstance(first["input"], dict | list):
        msg = f"{msg}, found {first['input']!r}"
    return field_, msg


def _model_of(annotation: Any) -> Any:
    import typing

    for arg in (annotation, *typing.get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        for inner in typing.get_args(arg):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return None


def parse(raw: Any, where: Path | str) -> PolicyFile:
    """Validate a raw mapping as a :class:`PolicyFile`; errors name ``where`` and the field."""
    if not isinstance(raw, dict):
        found = "an empty file" if raw is None else type(raw).__name__
        raise ScenarioError(where, "", f"expected a mapping of policy fields, found {found}")
    try:
        return PolicyFile.model_validate(raw)
    except ValidationError as err:
        f, message = _explain(err)
        raise ScenarioError(where, f, message) from None


def read(path: Path) -> PolicyFile:
    """Read and validate a policy file."""
    return parse(read_yaml(path), path)


# --------------------------------------------------------------------------- the problem


@dataclass(frozen=True)
class PolicyRequest:
    """What ``sim policy`` asks for (None: the file's own setting)."""

    file: Path
    budget: float | None = None
    population: int | None = None
    generations: int | None = None
    draws: int | None = None
    replicates: int | None = None
    seed: int | None = None
    out: Path = Path("results")
    plots: bool = True

    def check(self) -> None:
        for name in ("population", "generations", "draws", "replicates"):
            v = getattr(self, name)
            low = 4 if name == "population" else 1
            if v is not None and v < low:
                raise SettingError(name, f"expected at least {low}, found {v}")
        if self.seed is not None and self.seed < 0:
            raise SettingError("seed", f"expected a non-negative integer, found {self.seed}")
        if self.budget is not None and not (math.isfinite(self.budget) and self.budget > 0):
            raise SettingError("budget", f"expected a positive amount ($bn), found {self.budget}")


@dataclass
class Evaluation:
    """Packages' effects over the draws: ``(package, draw, replicate)`` for the power and
    for each rival's share (Russia, China)."""

    x: np.ndarray
    power: np.ndarray
    russia: np.ndarray
    china: np.ndarray


@dataclass
class Problem:
    """A policy file bound to its scenarios, posterior draws and uncertainties."""

    spec: PolicyFile
    where: Path
    scenario: Scenario
    scenario_path: Path
    registry: Registry
    posterior: posteriors.Posterior
    uncertain: np.ndarray  # (draws, uncertainties)
    replicates: int
    seed: int
    at: int
    counterfactual: np.ndarray  # (draws, replicates, power)
    powers: list[str]
    reference: np.ndarray
    budget: float
    counterfactual_path: Path | None = None
    #: ``(draws, coercions)``: each declared coercion's factor in each draw (1: it does not
    #: happen there) and the factor it would have if it did
    coerced: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    coercion_factor: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    #: which factors the coercion events take: ``drawn`` (as declared), ``always``, ``never``
    coercion_mode: Literal["drawn", "always", "never"] = "drawn"
    _patches: dict[tuple[float, ...], tuple[Patch, list[Callable[[np.ndarray], np.ndarray]]]] = (
        field(default_factory=dict))

    @property
    def levers(self) -> list[tuple[str, Lever]]:
        return list(self.spec.levers.items())

    @property
    def draws(self) -> int:
        return len(self.posterior.draws)

    def cost(self, x: np.ndarray) -> np.ndarray:
        """Each package's cost ($bn): the levers' values times their unit costs."""
        unit = np.array([lv.unit_cost for _, lv in self.levers])
        out: np.ndarray = np.atleast_2d(x) @ unit
        return out

    @property
    def bounds(self) -> np.ndarray:
        return np.array([lv.bounds for _, lv in self.levers])

    @property
    def whole(self) -> np.ndarray:
        return np.array([lv.whole for _, lv in self.levers])

    @property
    def money(self) -> np.ndarray:
        """The levers the repair scales to the budget: the amounts."""
        return np.array([lv.kind == "amount" for _, lv in self.levers])

    @property
    def unit(self) -> np.ndarray:
        return np.array([lv.unit_cost for _, lv in self.levers])

    def evaluate(self, x: np.ndarray, progress: Callable[[int], None] | None = None,
                 coercion: Literal["drawn", "always", "never"] = "drawn") -> Evaluation:
        """Run packages ``x`` ``(n, levers)`` over every draw, paired with the counterfactual
        (which no coercion touches: it answers the package); ``coercion``: the declared
        coercions as drawn, in every draw (``always``) or in none (``never``)."""
        self.coercion_mode = coercion
        try:
            return self._evaluate(x, progress)
        finally:
            self.coercion_mode = "drawn"

    def _evaluate(self, x: np.ndarray, progress: Callable[[int], None] | None = None
                  ) -> Evaluation:
        x = np.atleast_2d(np.asarray(x, dtype=float))
        n, d, r = len(x), self.draws, self.replicates
        shares = np.empty((n, d, r, len(self.powers)))
        whole = [j for j, (_, lv) in enumerate(self.levers) if lv.whole]
        keys = [tuple(float(v) for v in row[whole]) for row in x]
        seeds = posteriors.draw_seeds(self.seed, d)
        for key in dict.fromkeys(keys):
            rows = np.array([i for i, k in enumerate(keys) if k == key])
            patch, makers = self._patch(key)
            block = np.concatenate([m(x[rows]) for m in makers], axis=1)
            out = simulate_batch(patch, block, r, np.tile(seeds, len(rows)), reduce=self._reduce)
            shares[rows] = out.reshape(len(rows), d, r, -1)
            if progress is not None:
                progress(len(rows))
        eff = shares - self.counterfactual[None]
        rus = self.powers.index("RUS") if "RUS" in self.powers else None
        chn = self.powers.index("CHN") if "CHN" in self.powers else None
        zero = np.zeros((n, d, r))
        return Evaluation(x, eff[..., self.powers.index(self.spec.power)],
                          eff[..., rus] if rus is not None else zero,
                          eff[..., chn] if chn is not None else zero)

    def _reduce(self, block: Block) -> np.ndarray:
        out: np.ndarray = rules.regional_share(block.alignment[:, :, self.at],
                                               block.params.region_w)
        return out

    def _patch(self, key: tuple[float, ...]
               ) -> tuple[Patch, list[Callable[[np.ndarray], np.ndarray]]]:
        """The scenario at some whole-number levers' values, bound to every other lever, the
        uncertainties and the posterior's quantities; and what makes each column block."""
        if key in self._patches:
            return self._patches[key]
        levers = self.levers
        whole = [(name, lv) for name, lv in levers if lv.whole]
        sc = variant(self.scenario, self.spec.power, dict(zip([n for n, _ in whole], key,
                                                              strict=True)),
                     dict(whole), self.registry, self.where, self.spec.coercion)
        known = dict(values(sc))
        columns: dict[str, list[str]] = {}
        makers: list[Callable[[np.ndarray], np.ndarray]] = []
        lever_cols: list[tuple[int, float]] = []
        for j, (name, lv) in enumerate(levers):
            if lv.kind == "amount":
                path = f"powers.{self.spec.power}.instruments.{lv.instrument}.pledged_usd_bn"
                columns[name] = [path]
                lever_cols.append((j, 1.0))
        # a state's weight multiplies its announced share in every instrument that reaches
        # it; the model normalises the shares, so every share of those instruments is divided
        # by a power of two at least the largest weight (exactly: the same normalised shares
        # at the announced weights) to stay within [0, 1]
        by_state = {lv.state: j for j, (_, lv) in enumerate(levers) if lv.kind == "state"}
        if by_state:
            top = max(levers[j][1].bounds[1] for j in by_state.values())
            scale = 2.0 ** math.ceil(math.log2(max(top, 1.0)))
            pattern = f"powers.{self.spec.power}.instruments.*.allocation.shares.*"
            for path in expand(pattern, list(known)):
                j = by_state.get(path.rsplit(".", 1)[1], -1)
                columns[f"{levers[j][0] if j >= 0 else 'share'}@{path}"] = [path]
                lever_cols.append((j, float(known[path].value) / scale))
        makers.append(functools.partial(_lever_block, cols=tuple(lever_cols), draws=self.draws))
        taken = {p for ps in columns.values() for p in ps}
        unc_cols = []
        for k, (name, u) in enumerate(self.spec.uncertainties.items()):
            paths = [p for pat in u.paths for p in (expand(pat, list(known)) if "*" in pat
                                                    else [pat] if pat in known else [])]
            paths = [p for p in paths if p not in taken]
            if paths:
                columns[f"uncertainty {name}"] = paths
                taken.update(paths)
                unc_cols.append(k)
        makers.append(functools.partial(_tiled, block=self.uncertain[:, unc_cols]))
        for name, hit in coercion_events(self.spec.coercion, self.scenario):
            for state, ev, path in hit:
                columns[f"coercion {name}@{state}"] = [f"events.{ev}.{path}"]
                taken.add(f"events.{ev}.{path}")
        if self.spec.coercion:
            makers.append(self._coercion_block)
        post_block, post_cols = posterior_columns(self.posterior, sc, taken)
        columns.update(post_cols)
        makers.append(functools.partial(_tiled, block=post_block))
        patch = Patch.bind(sc, columns, where=str(self.where), registry=self.registry)
        self._patches[key] = (patch, makers)
        return patch, makers


    def favoured(self, x: np.ndarray) -> np.ndarray:
        """Each package's money for each state over the state's GDP ``(n, states)`` (the
        scenario's order of states): every instrument whose allocation reaches the states,
        its pledge split by the states' weighted, normalised shares."""
        known = dict(values(self.scenario))
        states = list(self.scenario.states)
        amount = {lv.instrument: j for j, (_, lv) in enumerate(self.levers) if lv.kind == "amount"}
        weight = {lv.state: j for j, (_, lv) in enumerate(self.levers) if lv.kind == "state"}
        x = np.atleast_2d(x)
        w = np.stack([x[:, weight[c]] if c in weight else np.ones(len(x)) for c in states], 1)
        gdp = np.array([float(known[f"states.{c}.gdp_usd_bn"].value) for c in states])
        out = np.zeros((len(x), len(states)))
        base = f"powers.{self.spec.power}.instruments."
        for inst in self.scenario.powers[self.spec.power].instruments:
            shares = np.array([float(known[f"{base}{inst}.allocation.shares.{c}"].value)
                               if f"{base}{inst}.allocation.shares.{c}" in known else 0.0
                               for c in states])
            if not shares.any():
                continue
            pledge = (x[:, amount[inst]] if inst in amount
                      else np.full(len(x), float(known[f"{base}{inst}.pledged_usd_bn"].value)))
            split = w * shares
            total = split.sum(axis=1, keepdims=True)
            out += pledge[:, None] * np.divide(split, total, out=np.zeros_like(split),
                                               where=total > 0)
        result: np.ndarray = out / gdp
        return result

    def _coercion_block(self, x: np.ndarray) -> np.ndarray:
        """Each (package, draw)'s factor on each coercion event ``(n * draws, events)``: the
        draw's factor on the states the coercion hits in that package, 1 elsewhere."""
        n, d = len(x), self.draws
        states = list(self.scenario.states)
        money = self.favoured(x) if any(c.favoured for c in self.spec.coercion.values()) else None
        cols = []
        for k, c in enumerate(self.spec.coercion.values()):
            if self.coercion_mode == "never":
                factor = np.ones(d)
            elif self.coercion_mode == "always":
                factor = self.coercion_factor[:, k]
            else:
                factor = self.coerced[:, k]
            hit_states = c.states if c.states is not None else states
            if c.favoured is not None:
                assert money is not None
                top = np.argsort(-money, axis=1, kind="stable")[:, : c.favoured]
                hit = np.zeros((n, len(states)), dtype=bool)
                np.put_along_axis(hit, top, True, axis=1)
            else:
                hit = np.ones((n, len(hit_states)), dtype=bool)
            for j in range(len(hit_states)):
                cols.append(np.where(np.repeat(hit[:, j], d), np.tile(factor, n), 1.0))
        out: np.ndarray = np.stack(cols, axis=1)
        return out


def coercion_events(coercion: dict[str, Coercion], sc: Scenario
                    ) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """Per declared coercion, its events: ``(state, event name, factor field)`` for each state
    it may hit (every state of the scenario for ``favoured``)."""
    out = []
    for name, c in coercion.items():
        states = c.states if c.states is not None else list(sc.states)
        path = "trade" if c.instrument == "transit" else "factor"
        out.append((name, [(s, f"policy_coercion_{name}_{s}", path) for s in states]))
    return out


def coercion_points(coercion: Sequence[Coercion], n: int, seed: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per draw and coercion ``(n, coercions)``: the factor applied (1 where the coercion does
    not happen) and the factor drawn. Each coercion has its own stream of the search's seed,
    a uniform for whether it happens and one for its factor, so a change of probability moves
    no factor and no other draw."""
    applied = np.ones((n, len(coercion)))
    drawn = np.ones((n, len(coercion)))
    for k, c in enumerate(coercion):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0x636F65, k)))
        u = rng.random((n, 2))
        lo, hi = c.factor
        drawn[:, k] = lo + u[:, 1] * (hi - lo)
        applied[:, k] = np.where(u[:, 0] < c.probability, drawn[:, k], 1.0)
    return applied, drawn


def _tiled(x: np.ndarray, block: np.ndarray) -> np.ndarray:
    """The draws' columns ``block`` ``(draws, k)`` repeated for each package of ``x``."""
    out: np.ndarray = np.tile(block, (len(x), 1))
    return out


def _lever_block(x: np.ndarray, cols: Sequence[tuple[int, float]], draws: int) -> np.ndarray:
    """Each package's lever columns (value x factor), repeated for each draw."""
    out = np.empty((len(x), len(cols)))
    for c, (j, factor) in enumerate(cols):
        out[:, c] = x[:, j] * factor if j >= 0 else factor  # -1: a share no lever moves
    return np.repeat(out, draws, axis=0)


def posterior_columns(post: posteriors.Posterior, sc: Scenario, taken: set[str]
                      ) -> tuple[np.ndarray, dict[str, list[str]]]:
    """The draws' values ``(draws, columns)`` in the fields of a scenario their quantities set
    (those another column sets left out), and the columns' paths by name."""
    from sim.calibration.calibrate import columns_of

    names = post.applied(sc)
    cols = [c for c in columns_of(sc, names)]
    x = post.values(names)
    out_cols: dict[str, list[str]] = {}
    blocks = []
    for c in cols:
        paths = [p for p in c.paths if p not in taken]
        if paths:
            out_cols[f"posterior {c.quantity}*{c.scale:g}"] = paths
            blocks.append(x[:, names.index(c.quantity)] * c.scale)
    block = np.stack(blocks, axis=1) if blocks else np.empty((len(x), 0))
    return block, out_cols


def variant(sc: Scenario, power: str, at: dict[str, float], levers: dict[str, Lever],
            registry: Registry, where: Path, coercion: dict[str, Coercion] | None = None
            ) -> Scenario:
    """The scenario with its whole-number levers set: every instrument's period, the summits'
    schedule (the announced number keeps the announced events); and each declared coercion's
    events, one per state it may hit, at factor 1 (the draws set them)."""
    raw = copy.deepcopy(to_raw(sc))
    for name, hits in coercion_events(coercion or {}, sc):
        c = (coercion or {})[name]
        for state, ev_name, _ in hits:
            one = {"value": 1.0, "why": WHY}
            ev: dict[str, Any] = {"date": c.date.isoformat(), "states": [state]}
            if c.instrument == "transit":
                ev.update(type="sanctions", power=power, imposed_by=[c.by], trade=one)
            else:
                ev.update(type="trade" if c.instrument == "trade" else "remittance_shock",
                          power=c.by, factor=one)
            raw.setdefault("events", {})[ev_name] = ev
    for name, value in at.items():
        lv = levers[name]
        if lv.kind == "period":
            for inst in raw["powers"][power].get("instruments", {}).values():
                inst["period_years"] = {"value": float(value), "why": WHY}
        elif lv.kind == "summits":
            k = round(value)
            if k == len(lv.replace):
                continue
            events = raw.get("events", {})
            template = events[lv.replace[-1]]
            for old in lv.replace:
                events.pop(old, None)
            for i, when in enumerate(lv.schedules[k]):
                ev = copy.deepcopy(template)
                ev["date"] = when.isoformat()
                events[f"policy_summit_{i + 1}"] = ev
            raw["events"] = events
    return validate(raw, registry, where)


def repair(x: np.ndarray, bounds: np.ndarray, whole: np.ndarray, money: np.ndarray,
           unit: np.ndarray, budget: float) -> np.ndarray:
    """Packages clipped to the bounds, whole-number levers rounded, and the money levers
    scaled down together (never below their lower bounds) where the cost exceeds the budget."""
    out: np.ndarray = np.clip(np.atleast_2d(np.asarray(x, dtype=float)), bounds[:, 0],
                              bounds[:, 1])
    out[:, whole] = np.round(out[:, whole])
    fixed = out[:, ~money] @ unit[~money]
    low = bounds[money, 0] @ unit[money]
    spend = out[:, money] @ unit[money]
    room = np.maximum(budget - fixed, low)
    over = spend > room + 1e-12
    if over.any():
        base = bounds[money, 0]
        excess = spend[over] - low
        scale = np.where(excess > 0, (room[over] - low) / np.where(excess > 0, excess, 1), 0.0)
        out[np.ix_(over, money)] = base + (out[np.ix_(over, money)] - base) * scale[:, None]
    return out


def announced(spec: PolicyFile, sc: Scenario) -> np.ndarray:
    """The announced package's lever values (states' weights 1, the announced summits)."""
    known = dict(values(sc))
    row = []
    for name, lv in spec.levers.items():
        if lv.kind == "amount":
            path = f"powers.{spec.power}.instruments.{lv.instrument}.pledged_usd_bn"
            if path not in known:
                have = sorted(sc.powers[spec.power].instruments) if spec.power in sc.powers else []
                raise ScenarioError("policy", f"levers.{name}.instrument",
                                    f"'{lv.instrument}' is not an instrument of {spec.power} in "
                                    f"{sc.name} (it has {', '.join(have) or 'none'})")
            row.append(float(known[path].value))
        elif lv.kind == "state":
            if lv.state not in sc.states:
                raise ScenarioError("policy", f"levers.{name}.state",
                                    f"'{lv.state}' is not a state of {sc.name}")
            row.append(1.0)
        elif lv.kind == "period":
            periods = {float(v.value) for p, v in known.items()
                       if p.startswith(f"powers.{spec.power}.instruments.")
                       and p.endswith(".period_years")}
            if len(periods) != 1:
                raise ScenarioError("policy", f"levers.{name}",
                                    f"expected every instrument of {spec.power} to share one "
                                    f"period, found {sorted(periods)}")
            row.append(periods.pop())
        else:
            missing = [e for e in lv.replace if e not in sc.events]
            if missing:
                raise ScenarioError("policy", f"levers.{name}.replace",
                                    f"'{missing[0]}' is not an event of {sc.name}")
            row.append(float(len(lv.replace)))
    return np.array(row)


def latin(ranges: Sequence[tuple[float, float]], n: int, seed: int) -> np.ndarray:
    """``n`` points of a Latin hypercube over the ranges ``(n, len(ranges))``."""
    if not ranges:
        return np.empty((n, 0))
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0x706F6C,)))
    u = (np.argsort(rng.random((len(ranges), n)), axis=1).T + rng.random((n, len(ranges)))) / n
    lo = np.array([r[0] for r in ranges])
    hi = np.array([r[1] for r in ranges])
    out: np.ndarray = lo + u * (hi - lo)
    return out


def prior_points(uncertainties: Sequence[Uncertainty], n: int, seed: int) -> np.ndarray:
    """``n`` points of the uncertainties' priors ``(n, len(uncertainties))``: a Latin
    hypercube, each column through its prior's quantile function (SALib's)."""
    from SALib.util import scale_samples

    unit = latin([(0.0, 1.0)] * len(uncertainties), n, seed)
    if not uncertainties:
        return unit
    bounds: list[list[float]] = []
    dists: list[str] = []
    for u in uncertainties:
        d = u.dist
        if isinstance(d, Triangular):
            dists.append("triang")
            bounds.append([d.low, d.high, (d.mode - d.low) / (d.high - d.low)])
        elif isinstance(d, TruncNormal):
            dists.append("truncnorm")
            bounds.append([d.low, d.high, d.mean, d.sd])
        else:
            dists.append("logunif" if isinstance(d, LogUniform) else "unif")
            bounds.append([d.low, d.high])
    out: np.ndarray = np.asarray(scale_samples(unit.copy(), {
        "num_vars": len(uncertainties), "bounds": bounds, "dists": dists}), dtype=float)
    return out


def bind(req: PolicyRequest) -> Problem:
    """Read a policy file and bind it: its scenarios, the draws, the counterfactual's run."""
    req.check()
    where = locate(req.file)
    spec = read(where)
    s = spec.search
    base = where.parent
    path_b = locate(base / spec.scenario)
    path_a = locate(base / spec.counterfactual)
    registry = load_registry(registry_folder(path_b))
    sc_b = load_scenario(path_b, [], registry)
    sc_a = load_scenario(path_a, [], load_registry(registry_folder(path_a)))
    if spec.power not in sc_b.powers:
        raise ScenarioError(where, "power", f"'{spec.power}' is not a power of {sc_b.name} "
                            f"(it has {', '.join(sc_b.powers)})")
    known_b = [p for p, _ in values(sc_b)]
    for name, u in spec.uncertainties.items():
        for pat in u.paths:
            hit = expand(pat, known_b) if "*" in pat else [pat] if pat in known_b else []
            if not hit:
                close = difflib.get_close_matches(pat, known_b, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise ScenarioError(where, f"uncertainties.{name}.path",
                                    f"'{pat}' is not a numeric value of {sc_b.name}{hint}")
    try:
        reference = announced(spec, sc_b)
    except ScenarioError as err:
        raise ScenarioError(where, err.field, err.message) from None
    check_ranges(spec, where, [(sc_b, registry), (sc_a, load_registry(registry_folder(path_a)))])
    check_coercion(spec, where, sc_b, registry)
    folder = (base / spec.posterior) if spec.posterior is not None else posteriors.SHIPPED
    draws = req.draws if req.draws is not None else s.draws
    post = posteriors.load(folder).thin(draws)
    posteriors.check_scenario(post, sc_b, path_b)
    seed = sc_b.seed
    replicates = req.replicates if req.replicates is not None else s.replicates
    uncertain = prior_points(list(spec.uncertainties.values()), len(post.draws),
                             req.seed if req.seed is not None else s.seed)
    from sim.model.params import build

    params = build(sc_b)
    at = outcomes.answer_round(sc_b.time.answer, params.dates)
    powers = list(params.powers)
    problem = Problem(spec, where, sc_b, path_b, registry, post, uncertain, replicates, seed,
                      at, np.zeros(0), powers, reference, 0.0)
    unit = problem.unit
    problem.budget = (float(reference @ unit) if req.budget is None and spec.budget.usd_bn ==
                      "announced" else float(req.budget if req.budget is not None
                                             else spec.budget.usd_bn))
    problem.coerced, problem.coercion_factor = coercion_points(
        list(spec.coercion.values()), len(post.draws), req.seed if req.seed is not None
        else s.seed)
    problem.counterfactual = _counterfactual(problem, sc_a, path_a)
    problem.counterfactual_path = path_a
    try:  # every lever's bounds and the uncertainties' ranges, checked against the fields
        patch, makers = problem._patch(tuple(reference[problem.whole]))
        for xs in (problem.bounds[:, 0], problem.bounds[:, 1]):
            row = reference.copy()
            row[~problem.whole] = xs[~problem.whole]
            patch.check(np.concatenate([m(row[None]) for m in makers], axis=1))
    except ScenarioError as err:
        lever = err.field.split("@", 1)[0]
        named = f"levers.{lever}.range" if lever in spec.levers else err.field
        raise ScenarioError(where, named, err.message) from None
    return problem


def check_coercion(spec: PolicyFile, where: Path, sc: Scenario, registry: Registry) -> None:
    """Refuse a coercion whose rival, states, date or source the scenario does not know (one
    line naming the policy file and the field)."""
    for name, c in spec.coercion.items():
        at = f"coercion.{name}"
        if c.by not in sc.powers or c.by == spec.power:
            raise ScenarioError(where, f"{at}.by", f"'{c.by}' is not a rival power of "
                                f"{spec.power} in {sc.name} (it has {', '.join(sc.powers)})")
        for state in c.states or []:
            if state not in sc.states:
                raise ScenarioError(where, f"{at}.states", f"'{state}' is not a state of "
                                    f"{sc.name} (it has {', '.join(sc.states)})")
        if c.favoured is not None and c.favoured > len(sc.states):
            raise ScenarioError(where, f"{at}.favoured", f"expected at most {len(sc.states)} "
                                f"states, found {c.favoured}")
        if not sc.time.start <= c.date <= sc.time.end:
            raise ScenarioError(where, f"{at}.date", f"{c.date} is outside {sc.name}'s "
                                f"calendar ({sc.time.start} to {sc.time.end})")
        if c.source is not None and c.source not in registry:
            raise ScenarioError(where, f"{at}.source", f"'{c.source}' is not in the registry")


def check_ranges(spec: PolicyFile, where: Path, scenarios: Sequence[tuple[Scenario, Registry]]
                 ) -> None:
    """Refuse an uncertainty whose range goes outside what its fields accept, in either
    scenario (one line naming the policy file and the uncertainty)."""
    if not spec.uncertainties:
        return
    for sc, registry in scenarios:
        known = [p for p, _ in values(sc)]
        cols: dict[str, list[str]] = {}
        bounds = []
        for name, u in spec.uncertainties.items():
            paths = [p for pat in u.paths for p in (expand(pat, known) if "*" in pat
                                                    else [pat] if pat in known else [])]
            if paths:
                cols[f"uncertainties.{name}.range"] = paths
                bounds.append((u.low, u.high))
        if cols:
            patch = Patch.bind(sc, cols, where=str(where), registry=registry)
            patch.check(np.array(bounds, dtype=float).T)


def _counterfactual(problem: Problem, sc: Scenario, path: Path) -> np.ndarray:
    """The counterfactual's regional shares ``(draws, replicates, power)`` in the package
    scenario's order of powers, on the same draws, uncertainties and streams."""
    registry = load_registry(registry_folder(path))
    known = dict(values(sc))
    columns: dict[str, list[str]] = {}
    unc = []
    for k, (name, u) in enumerate(problem.spec.uncertainties.items()):
        paths = [p for pat in u.paths for p in (expand(pat, list(known)) if "*" in pat
                                                else [pat] if pat in known else [])]
        if paths:
            columns[f"uncertainty {name}"] = paths
            unc.append(k)
    block, post_cols = posterior_columns(problem.posterior, sc, {p for v in columns.values()
                                                                 for p in v})
    columns.update(post_cols)
    patch = Patch.bind(sc, columns, where=str(path), registry=registry)
    x = np.concatenate([problem.uncertain[:, unc], block], axis=1)
    d, r = problem.draws, problem.replicates
    out = simulate_batch(patch, x, r, posteriors.draw_seeds(problem.seed, d),
                         reduce=problem._reduce)
    from sim.model.params import build

    order = [build(sc).powers.index(p) for p in problem.powers]
    shares: np.ndarray = out.reshape(d, r, -1)[..., order]
    return shares


# --------------------------------------------------------------------------- measures


def measures(ev: Evaluation) -> dict[str, np.ndarray]:
    """Each package's objectives and intervals (fractions; pooled over draws and replicates
    unless said): ``effect`` (median) with ``effect_p5``/``effect_p95``, ``robust`` (10th
    percentile over draws of the draw's mean), the rivals' losses."""
    n = len(ev.x)
    pooled = ev.power.reshape(n, -1)
    lo, mid, hi = np.quantile(pooled, (0.05, 0.5, 0.95), axis=1)
    per_draw = ev.power.mean(axis=2)
    out = {"effect": mid, "effect_p5": lo, "effect_p95": hi, "effect_mean": pooled.mean(1),
           "robust": np.quantile(per_draw, ROBUST_QUANTILE, axis=1),
           "robust_p5": np.quantile(per_draw, 0.05, axis=1),
           "robust_p95": np.quantile(per_draw, 0.95, axis=1)}
    for name, arr in (("russia", -ev.russia), ("china", -ev.china),
                      ("rivals", -(ev.russia + ev.china))):
        q = np.quantile(arr.reshape(n, -1), (0.05, 0.5, 0.95), axis=1)
        out[name], out[f"{name}_p5"], out[f"{name}_p95"] = q[1], q[0], q[2]
    return out


def objective_matrix(m: dict[str, np.ndarray], cost: np.ndarray, names: Sequence[str]
                     ) -> np.ndarray:
    """The objectives to minimise ``(n, objectives)``: maximised ones negated."""
    cols = [cost if k == "cost" else (-m[k] if k in MAXIMISED else m[k]) for k in names]
    return np.stack(cols, axis=1)


def non_dominated(f: np.ndarray) -> np.ndarray:
    """Indices of the rows no other row dominates (all objectives minimised)."""
    keep = []
    for i in range(len(f)):
        le = np.all(f <= f[i], axis=1)
        lt = np.any(f < f[i], axis=1)
        if not np.any(le & lt):
            keep.append(i)
    return np.array(keep, dtype=int)


# --------------------------------------------------------------------------- search


@dataclass
class State:
    """What a search has done: the algorithm and every package it has evaluated."""

    digest: str
    algorithm: Any
    x: list[np.ndarray] = field(default_factory=list)
    power: list[np.ndarray] = field(default_factory=list)
    russia: list[np.ndarray] = field(default_factory=list)
    china: list[np.ndarray] = field(default_factory=list)
    born: list[int] = field(default_factory=list)  # the generation of each package
    generation: int = 0
    seconds: float = 0.0

    def evaluation(self) -> Evaluation:
        return Evaluation(np.array(self.x), np.array(self.power), np.array(self.russia),
                          np.array(self.china))


class BudgetRepair(Repair):  # type: ignore[misc]
    """pymoo's repair step: :func:`repair` with a problem's bounds, levers and budget (plain
    arrays, so that a saved search holds no scenario)."""

    def __init__(self, bounds: np.ndarray, whole: np.ndarray, money: np.ndarray,
                 unit: np.ndarray, budget: float) -> None:
        super().__init__()
        self.bounds, self.whole, self.money, self.unit = bounds, whole, money, unit
        self.budget = budget

    def apply(self, x: np.ndarray) -> np.ndarray:
        """The packages repaired (:func:`repair`)."""
        return repair(x, self.bounds, self.whole, self.money, self.unit, self.budget)

    def _do(self, problem: Any, x: np.ndarray, **kwargs: Any) -> np.ndarray:
        return self.apply(x)


def nsga2(n_obj: int, population: int, generations: int, seed: int, first: np.ndarray,
          fix: BudgetRepair) -> Any:
    """A pymoo NSGA-II set up for ask and tell, its first generation ``first`` (repaired)."""
    problem = PymooProblem(n_var=len(fix.bounds), n_obj=n_obj, n_ieq_constr=0,
                           xl=fix.bounds[:, 0], xu=fix.bounds[:, 1])
    algorithm = NSGA2(pop_size=population, sampling=fix.apply(first), repair=fix,
                      eliminate_duplicates=True)
    algorithm.setup(problem, termination=("n_gen", generations), seed=seed, verbose=False)
    return algorithm


def first_generation(reference: np.ndarray, bounds: np.ndarray, population: int, seed: int
                     ) -> np.ndarray:
    """The announced package and ``population - 1`` packages spread over the bounds."""
    rest = latin([tuple(b) for b in bounds], population - 1, seed + 1)
    return np.vstack([reference[None], rest])


def search(
    evaluate: Callable[[State, np.ndarray], np.ndarray],
    *,
    n_obj: int,
    fix: BudgetRepair,
    reference: np.ndarray,
    population: int,
    generations: int,
    seed: int,
    checkpoint: Path | None = None,
    digest: str = "",
    progress: Progress | None = None,
    record: Callable[[State, np.ndarray], None] | None = None,
    refresh: Callable[[State, np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> State:
    """NSGA-II by ask and tell: ``evaluate(state, x)`` gives the objectives to minimise ``(n,
    n_obj)`` (``record(state, x)`` is called after it); ``refresh(state, x, f)`` may give the
    current population's objectives anew before the next generation's survivors are chosen
    (objectives that depend on every package run so far). The state is saved to ``checkpoint``
    after every generation and read back from it (same ``digest``) to continue."""
    state = None
    if checkpoint is not None and checkpoint.is_file():
        try:
            saved = pickle.loads(checkpoint.read_bytes())
        except Exception:  # a damaged checkpoint: start again
            saved = None
        if isinstance(saved, State) and saved.digest == digest:
            state = saved
    if state is None:
        state = State(digest, nsga2(n_obj, population, generations, seed,
                                    first_generation(reference, fix.bounds, population, seed),
                                    fix))
    if progress is not None:
        if state.generation >= generations:
            what = f"the search is finished ({state.generation} generations): its results"
        else:
            what = (f"searching: {generations} generations of {population} packages"
                    + (f", continuing after generation {state.generation}"
                       if state.generation else ""))
        progress.start(what, generations)
        progress.advance(state.generation)
    algorithm = state.algorithm
    while algorithm.has_next():
        t0 = time.perf_counter()
        pop = algorithm.ask()
        x = pop.get("X")
        f = evaluate(state, x)
        if record is not None:
            record(state, x)
        Evaluator().eval(StaticProblem(algorithm.problem, F=f), pop)
        if refresh is not None and algorithm.pop is not None and len(algorithm.pop):
            algorithm.pop.set("F", refresh(state, algorithm.pop.get("X"),
                                           algorithm.pop.get("F")))
        algorithm.tell(infills=pop)
        state.generation += 1
        state.seconds += time.perf_counter() - t0
        if checkpoint is not None:
            results.replace_atomically(checkpoint, functools.partial(_save, state=state))
        if progress is not None:
            progress.advance(1)
    return state


def _save(path: Path, state: State) -> None:
    path.write_bytes(pickle.dumps(state))


def settings_digest(problem: Problem, req: PolicyRequest, population: int, generations: int,
                    seed: int) -> str:
    """What decides a search's numbers: the files, the draws, the settings."""
    cf = problem.counterfactual_path
    data = {"policy": file_digest(problem.where), "scenario": file_digest(problem.scenario_path),
            "counterfactual": file_digest(cf) if cf is not None else None,
            "posterior_draws": file_digest(problem.posterior.folder / "draws.parquet"),
            "draws": len(problem.posterior.draws), "replicates": problem.replicates,
            "budget": problem.budget, "population": population, "generations": generations,
            "seed": seed, "posterior": str(problem.posterior.folder)}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class PolicyOutcome:
    """Where ``sim policy`` wrote its results, and the sentence it leads with."""

    folder: Path
    sentence: str
    seconds: float
    front: int

    def summary(self) -> str:
        return (f"{self.sentence}\nPareto front: {self.front} packages; results: {self.folder}"
                f"  ({self.seconds:.0f} s)\nreport: {self.folder / 'report.html'}")


def run_policy(req: PolicyRequest, progress: Progress | None = None) -> PolicyOutcome:
    """Bind, search (continuing a saved search of the same settings) and write the folder
    ``out/policy/<file>-<digest>/``."""
    started, t0 = results.now(), time.perf_counter()
    results.check_out(req.out)
    problem = bind(req)
    s = problem.spec.search
    population = req.population or s.population
    generations = req.generations or s.generations
    seed = req.seed if req.seed is not None else s.seed
    digest = settings_digest(problem, req, population, generations, seed)
    folder = req.out / "policy" / f"{problem.where.stem}-{digest[:8]}"
    folder.mkdir(parents=True, exist_ok=True)
    names = problem.spec.objectives

    def best_so_far(state: State, ev: Evaluation | None = None) -> np.ndarray:
        """Per draw, the best mean effect of every package run within the budget."""
        rows = [np.array(state.power).reshape(-1, problem.draws, problem.replicates)
                [problem.cost(np.array(state.x)) <= problem.budget + 1e-6]] if state.x else []
        if ev is not None:
            rows.append(ev.power[problem.cost(ev.x) <= problem.budget + 1e-6])
        per = np.concatenate([r.mean(axis=2) for r in rows]) if rows else np.zeros((0, 1))
        out: np.ndarray = (per.max(axis=0) if len(per)
                           else np.full(problem.draws, -np.inf))
        return out

    def evaluate(state: State, x: np.ndarray) -> np.ndarray:
        ev = problem.evaluate(x)
        cache.append(ev)
        m = measures(ev)
        if "regret" in names:
            m["regret"] = np.median(best_so_far(state, ev)[None] - ev.power.mean(axis=2),
                                    axis=1)
        return objective_matrix(m, problem.cost(x), names)

    def refresh(state: State, x: np.ndarray, f: np.ndarray) -> np.ndarray:
        best = best_so_far(state)
        per = {row.tobytes(): p.mean(axis=1) for row, p in zip(state.x, state.power,
                                                                strict=True)}
        out = f.copy()
        col = names.index("regret")
        for i, row in enumerate(np.asarray(x, dtype=float)):
            got = per.get(row.tobytes())
            if got is not None:
                out[i, col] = np.median(best - got)
        return out

    cache: list[Evaluation] = []

    def record(state: State, x: np.ndarray) -> None:
        ev = cache.pop()
        state.x.extend(ev.x)
        state.power.extend(ev.power)
        state.russia.extend(ev.russia)
        state.china.extend(ev.china)
        state.born.extend([state.generation + 1] * len(ev.x))

    fix = BudgetRepair(problem.bounds, problem.whole, problem.money, problem.unit,
                       problem.budget)
    try:
        state = search(evaluate, n_obj=len(names), fix=fix,
                       reference=problem.reference, population=population,
                       generations=generations, seed=seed, checkpoint=folder / "checkpoint.pkl",
                       digest=digest, progress=progress, record=record,
                       refresh=refresh if "regret" in names else None)
    except KeyboardInterrupt as err:
        raise type(err)(f"interrupted: the search's finished generations are kept in {folder}; "
                        "the same command continues it") from None
    ref = problem.evaluate(problem.reference[None])
    if progress is not None:
        progress.start("writing pareto.csv, the figures and the report", 0)
    from sim.experiments import policy_report

    sentence, front = policy_report.write(folder, problem, state, ref, started=started,
                                          settings={"population": population,
                                                    "generations": generations, "seed": seed,
                                                    "digest": digest},
                                          plots=req.plots, clock=t0)
    return PolicyOutcome(folder, sentence, time.perf_counter() - t0, front)
