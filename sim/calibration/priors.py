"""Priors of calibrated quantities: a file of distributions, each with its reason.

A priors file (``scenarios/priors/*.yaml``) names the history scenario it calibrates, the
training years, and one entry per candidate quantity::

    scenario: ../history/central_asia_1992.yaml
    until: 2003
    select: 6
    quantities:
      w_econ: {distribution: lognormal, median: w_econ, factor: 3, why: "..."}
      inertia: {distribution: logitnormal, median: inertia, factor: 3, why: "..."}
      observation.sigma: {distribution: lognormal, median: {value: 0.2, why: "..."}, ...}

A quantity's name is the registry id it moves (every scenario field that refers to the id
moves with it, scaled as the field scales it) or ``observation.sigma``, the observation
model's yearly deviation. Distributions:

- ``lognormal``: positive; ``median`` and ``factor``: 90% of the mass lies within
  ``median / factor`` and ``median * factor``;
- ``logitnormal``: a share in (0, 1); the same on the odds ``x / (1 - x)``;
- ``uniform`` and ``loguniform``: ``low`` and ``high``.

Sampling happens on an unconstrained scale ``u`` (log, logit, or the logit of the position
within the bounds), where every prior has a closed-form density (:meth:`Prior.logpdf`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.calibration.observe import Link
from sim.core.errors import ScenarioError
from sim.core.yamlio import read_yaml
from sim.scenario.facts import Registry, find_registry, load_registry

#: z of the 95th percentile of a standard normal: ``factor`` spans the central 90%.
Z90 = 1.6448536269514722
#: The link's own quantities: the covariate link's variances, and the vote mixture's five.
OBSERVATION = ("observation.sigma", "observation.tau", "observation.own", "observation.noise",
               "observation.rho", "observation.omega")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Number(_Frozen):
    """An inline number with its reason."""

    value: float
    why: str = Field(min_length=10)


class Quantity(_Frozen):
    """One calibrated quantity's prior."""

    distribution: Literal["lognormal", "logitnormal", "uniform", "loguniform"]
    median: str | Number | None = None
    factor: float | None = Field(default=None, gt=1, description="5-95% range: median/f..median*f")
    low: float | None = None
    high: float | None = None
    why: str = Field(min_length=10, description="the reason for this prior")

    @model_validator(mode="after")
    def _shape(self) -> Quantity:
        if self.distribution in ("lognormal", "logitnormal"):
            if self.median is None or self.factor is None:
                raise ValueError(f"{self.distribution} needs 'median' and 'factor'")
            if self.low is not None or self.high is not None:
                raise ValueError(f"{self.distribution} takes 'median' and 'factor', not bounds")
        else:
            if self.low is None or self.high is None:
                raise ValueError(f"{self.distribution} needs 'low' and 'high'")
            if not self.low < self.high:
                raise ValueError(f"expected low < high, found {self.low:g} and {self.high:g}")
            if self.distribution == "loguniform" and self.low <= 0:
                raise ValueError(f"loguniform needs low > 0, found {self.low:g}")
            if self.median is not None or self.factor is not None:
                raise ValueError(f"{self.distribution} takes 'low' and 'high', not a median")
        return self


class Normal(_Frozen):
    """A normal prior: mean and standard deviation."""

    mean: float
    sd: float = Field(gt=0)


class LinkPriors(_Frozen):
    """The observation link (docs/ODD.md, section 11). A covariate link (``bloc``, ``power``)
    takes the normal priors of its offsets and slope, which are integrated out exactly; the
    vote mixture (``mixture``) has neither, and its five parameters are quantities
    (``observation.own``, ``.noise``, ``.rho``, ``.omega``, ``.tau``) with priors like any."""

    covariate: Literal["bloc", "power", "mixture"] = "bloc"
    offsets: Literal["state", "power"] = "state"
    delta_sd: float = Field(default=2.0, gt=0, description="sd of the power offsets' prior "
                            "(mean 0)")
    gamma: Normal = Normal(mean=0.0, sd=2.0)
    why: str = Field(min_length=10)


class Data(_Frozen):
    """The observed tables a calibration fits, relative to the priors file (default: shipped)."""

    agreement: str | None = None
    world: str | None = None
    powers: str | None = None


class Flagship(_Frozen):
    """The answer a calibration is screened on beside the likelihood: a power's regional share
    in one scenario against its counterfactual, paired, at a date (docs/ODD.md section 8)."""

    scenario: str = Field(description="the scenario with the offer, relative to this file")
    counterfactual: str = Field(description="the same world without it")
    power: str
    date: str = Field(description="the date the effect is read at (YYYY-MM-DD)")
    threshold: float = Field(gt=0, description="percentage points: a quantity whose Morris "
                             "effect on the answer reaches this is calibrated or carried")
    replicates: int = Field(default=20, ge=1)
    why: str = Field(min_length=10)


class Patterns(_Frozen):
    """Patterns of today's region every draw must reproduce (pattern-oriented modelling):
    the prior is restricted to constants under which a scenario of the present shows them in
    every replicate, up to its answer date (docs/ODD.md section 8)."""

    scenario: str = Field(description="the scenario of the present, relative to this file")
    replicates: int = Field(default=8, ge=1)
    max_share: float = Field(gt=0, le=1, description="no state gives one power more")
    min_hedging: float = Field(ge=0, lt=1, description="every state's hedging index stays above")
    max_drift: float = Field(gt=0, le=1, description="no power's regional share moves more")
    order: dict[str, list[str]] = Field(
        default_factory=dict, description="a state's leading powers, in order (e.g. KAZ: "
        "[RUS, CHN]: Russia first, China second, every round)")
    why: str = Field(min_length=10)


class PriorsFile(_Frozen):
    """A priors file: what it calibrates, on which years, and the candidate quantities."""

    scenario: str = Field(description="history scenario, relative to this file")
    data: Data = Data()
    until: int = Field(ge=1900, le=2100, description="last year of the training data")
    select: int = Field(ge=1, description="how many screened quantities to calibrate")
    quantities: dict[str, Quantity] = Field(min_length=1)
    carried: dict[str, Quantity] = Field(
        default_factory=dict, description="constants the history cannot inform (no field of "
        "the history uses them): drawn from these priors into every posterior draw")
    flagship: Flagship | None = None
    patterns: Patterns | None = None
    observation: LinkPriors


@dataclass(frozen=True)
class Dimension:
    """One calibrated quantity on its unconstrained scale.

    Attributes:
        name: registry id or ``observation.sigma``.
        distribution: as in the file.
        loc, scale: of the normal prior on ``u`` (log/logit scales), or
        low, high: the bounds (uniform and loguniform).
        median: the prior's median on the natural scale.
        why: the reason.
    """

    name: str
    distribution: str
    loc: float
    scale: float
    low: float
    high: float
    median: float
    why: str

    def to_natural(self, u: np.ndarray) -> np.ndarray:
        """From the unconstrained scale to the quantity's own."""
        out: np.ndarray
        if self.distribution == "lognormal":
            out = np.exp(u)
            return out
        t: np.ndarray = 1.0 / (1.0 + np.exp(-u))
        if self.distribution == "logitnormal":
            return t
        if self.distribution == "uniform":
            out = self.low + (self.high - self.low) * t
        else:
            out = np.exp(np.log(self.low) + (np.log(self.high) - np.log(self.low)) * t)
        return out

    def to_unconstrained(self, x: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`to_natural`."""
        x = np.asarray(x, dtype=float)
        out: np.ndarray
        if self.distribution == "lognormal":
            out = np.log(x)
            return out
        if self.distribution == "logitnormal":
            t = x
        elif self.distribution == "uniform":
            t = (x - self.low) / (self.high - self.low)
        else:
            t = (np.log(x) - np.log(self.low)) / (np.log(self.high) - np.log(self.low))
        out = np.log(t) - np.log1p(-t)
        return out

    def logpdf(self, u: np.ndarray) -> np.ndarray:
        """The prior's log-density on the unconstrained scale."""
        if self.distribution in ("lognormal", "logitnormal"):
            z = (u - self.loc) / self.scale
            out: np.ndarray = -0.5 * z * z - math.log(self.scale) - 0.5 * math.log(2 * math.pi)
            return out
        # a uniform position t in (0, 1) has logistic density on u = logit(t)
        out = -np.abs(u) - 2.0 * np.log1p(np.exp(-np.abs(u)))
        return out

    def sample(self, gen: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws on the unconstrained scale."""
        out: np.ndarray
        if self.distribution in ("lognormal", "logitnormal"):
            out = self.loc + self.scale * gen.standard_normal(n)
            return out
        t = gen.uniform(size=n)
        out = np.log(t) - np.log1p(-t)
        return out

    def contains(self, x: float) -> bool:
        """Whether a natural-scale value lies in the prior's support."""
        if not math.isfinite(x):
            return False
        if self.distribution == "lognormal":
            return x > 0
        if self.distribution == "logitnormal":
            return 0 < x < 1
        return self.low <= x <= self.high


@dataclass(frozen=True)
class Prior:
    """The priors of a calibration, in a fixed order."""

    dims: tuple[Dimension, ...]

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.dims]

    def subset(self, names: list[str]) -> Prior:
        """The priors of some quantities, in the order given."""
        by = {d.name: d for d in self.dims}
        return Prior(tuple(by[n] for n in names))

    def logpdf(self, u: np.ndarray) -> np.ndarray:
        """Joint log-density ``(n,)`` of points ``u`` ``(n, D)`` (independent priors)."""
        out: np.ndarray = np.sum([d.logpdf(u[:, j]) for j, d in enumerate(self.dims)], axis=0)
        return out

    def sample(self, gen: np.random.Generator, n: int) -> np.ndarray:
        """``(n, D)`` draws on the unconstrained scale."""
        return np.stack([d.sample(gen, n) for d in self.dims], axis=1)

    def to_natural(self, u: np.ndarray) -> np.ndarray:
        """``(n, D)`` natural-scale values."""
        return np.stack([d.to_natural(u[:, j]) for j, d in enumerate(self.dims)], axis=1)

    def to_unconstrained(self, x: np.ndarray) -> np.ndarray:
        return np.stack([d.to_unconstrained(x[:, j]) for j, d in enumerate(self.dims)], axis=1)


@dataclass(frozen=True)
class Priors:
    """A loaded priors file: its settings, and every candidate's prior."""

    path: Path
    spec: PriorsFile
    prior: Prior
    carried: Prior = Prior(())

    @property
    def scenario_path(self) -> Path:
        return (self.path.parent / self.spec.scenario).resolve()

    def data_path(self, which: str) -> Path:
        """The agreement, world or powers table this file names, or the shipped one."""
        from sim.calibration import datasets

        given: str | None = getattr(self.spec.data, which)
        if given is None:
            return {"agreement": datasets.AGREEMENT, "world": datasets.WORLD,
                    "powers": datasets.POWERS}[which]
        return (self.path.parent / given).resolve()

    @property
    def link(self) -> Link:
        o = self.spec.observation
        return Link(o.covariate, o.offsets, o.delta_sd, o.gamma.mean, o.gamma.sd)


def _median(q: Quantity, name: str, registry: Registry, path: Path) -> float:
    m = q.median
    if isinstance(m, Number):
        return m.value
    assert m is not None  # checked by the schema
    if m not in registry:
        raise ScenarioError(path, f"quantities.{name}.median",
                            f"unknown registry id '{m}'{registry.suggest(m)}")
    return registry.get(m).value


def load(path: Path | str, registry: Registry | None = None) -> Priors:
    """Read and check a priors file; every problem is one line naming the file and field."""
    path = Path(path)
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ScenarioError(path, "", "expected a mapping with scenario, until, select, quantities")
    try:
        spec = PriorsFile.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"] if not str(p).startswith("function-"))
        more = f" (+{len(err.errors()) - 1} more)" if len(err.errors()) > 1 else ""
        msg = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            msg = "unknown key"
        elif first["type"] == "missing":
            msg = "required field is missing"
        raise ScenarioError(path, where, msg + more) from None
    scenario = (path.parent / spec.scenario)
    if not scenario.is_file():
        raise ScenarioError(path, "scenario", f"file not found: {scenario}")
    for which in ("agreement", "world", "powers"):
        given = getattr(spec.data, which)
        if given is not None and not (path.parent / given).is_file():
            raise ScenarioError(path, f"data.{which}", f"file not found: {path.parent / given}")
    registry = registry or load_registry(find_registry(scenario))
    dims = _dims(spec.quantities, "quantities", registry, path, observation=True)
    carried = _dims(spec.carried, "carried", registry, path, observation=False)
    both = sorted(set(spec.quantities) & set(spec.carried))
    if both:
        raise ScenarioError(path, f"carried.{both[0]}", "already a quantity to calibrate; "
                            "expected it in one section only")
    if spec.patterns is not None and not (path.parent / spec.patterns.scenario).is_file():
        raise ScenarioError(path, "patterns.scenario",
                            f"file not found: {path.parent / spec.patterns.scenario}")
    if spec.flagship is not None:
        for which in ("scenario", "counterfactual"):
            f = path.parent / getattr(spec.flagship, which)
            if not f.is_file():
                raise ScenarioError(path, f"flagship.{which}", f"file not found: {f}")
    if spec.select > len(dims):
        raise ScenarioError(path, "select", f"expected at most {len(dims)} (the quantities "
                            f"listed), found {spec.select}")
    return Priors(path=path, spec=spec, prior=Prior(tuple(dims)), carried=Prior(tuple(carried)))


def _dims(quantities: dict[str, Quantity], section: str, registry: Registry, path: Path, *,
          observation: bool) -> list[Dimension]:
    """The dimensions of a section of quantities (each a registry id, or a link quantity
    where ``observation``)."""
    dims = []
    for name, q in quantities.items():
        where = f"{section}.{name}"
        if not (observation and name in OBSERVATION) and name not in registry:
            expected = (f"a registry id or {', '.join(OBSERVATION)}" if observation
                        else "a registry id")
            raise ScenarioError(path, where, f"unknown quantity: expected {expected}"
                                f"{registry.suggest(name)}")
        if q.distribution in ("lognormal", "logitnormal"):
            median = _median(q, name, registry, path)
            assert q.factor is not None  # checked by the schema
            if q.distribution == "lognormal" and not median > 0:
                raise ScenarioError(path, f"{where}.median",
                                    f"lognormal needs a positive median, found {median:g}")
            if q.distribution == "logitnormal" and not 0 < median < 1:
                raise ScenarioError(path, f"{where}.median",
                                    f"logitnormal needs a median in (0, 1), found {median:g}")
            loc = math.log(median) if q.distribution == "lognormal" else math.log(
                median / (1 - median))
            dims.append(Dimension(name, q.distribution, loc, math.log(q.factor) / Z90,
                                  math.nan, math.nan, median, q.why))
        else:
            assert q.low is not None and q.high is not None  # checked by the schema
            middle = (q.low + q.high) / 2 if q.distribution == "uniform" else math.sqrt(
                q.low * q.high)
            dims.append(Dimension(name, q.distribution, 0.0, 1.0, q.low, q.high, middle, q.why))
    return dims


def describe(d: Dimension) -> str:
    """One line: the prior's shape and its 90% range on the natural scale."""
    if d.distribution in ("lognormal", "logitnormal"):
        lo, hi = d.to_natural(np.array([d.loc - Z90 * d.scale, d.loc + Z90 * d.scale]))
        return f"{d.distribution}, median {d.median:.3g}, 90% in [{lo:.3g}, {hi:.3g}]"
    return f"{d.distribution} on [{d.low:.3g}, {d.high:.3g}]"


def as_dict(d: Dimension) -> dict[str, Any]:
    """A dimension as plain data (for manifests)."""
    return {k: getattr(d, k) for k in ("name", "distribution", "loc", "scale", "low", "high",
                                        "median", "why")}
