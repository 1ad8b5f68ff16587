"""Sweep definitions: the sweep-file schema, ``--param`` parsing, and binding to a scenario.

A sweep is defined by a YAML file (closed schema, like a scenario file) or by command-line
options; both become the same :class:`SweepFile`. :func:`bind` then checks it against the
scenario it sweeps: every parameter path must name a numeric scenario value (did-you-mean
otherwise), every bound must pass the same range checks as the value in a scenario file, and
every outcome must name powers, states and dates the scenario has. Nothing is written before
all of this has passed.

A sweep file::

    scenario: ../tokyo_initiative.yaml        # relative to the sweep file
    method: sobol                             # grid | lhs | sobol | morris
    samples: 256                              # see design.py for what N means per method
    replicates: 100
    seed: 20251220
    parameters:
      jpn_delivery:
        path: powers.JPN.instruments.*.delivery_rate   # '*' matches one path element
        range: [0.2, 1.0]                               # uniform; or distribution: {...}
    outcomes:
      jpn_2030: {quantity: share, power: JPN, date: 2030-12-31}
    discover: {outcome: jpn_2030, above: 0.15}
"""

from __future__ import annotations

import difflib
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, ValidationError, model_validator

from sim.core.errors import ScenarioError
from sim.core.yamlio import read_yaml
from sim.outputs.outcome_spec import Closed as Closed
from sim.outputs.outcome_spec import Code as Code
from sim.outputs.outcome_spec import Finite as Finite
from sim.outputs.outcome_spec import Outcome as Outcome
from sim.outputs.outcome_spec import Stat as Stat
from sim.runs.batch import empty_registry, resolve_paths, with_values
from sim.scenario.facts import Registry
from sim.scenario.quantity import unit_of
from sim.scenario.schema import Scenario, annotation_at, validate, values

METHODS = ("grid", "lhs", "sobol", "morris")
#: Columns every sweep table has besides its parameters and outcomes.
RESERVED = ("point", "seed")
#: The ``why`` recorded on a swept value in each point's scenario.
SWEPT_WHY = "set by the sweep design for this point"

ParamName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_.*]*$", max_length=200)]
RefId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
OutcomeName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=100)]


# --------------------------------------------------------------------------- parameters


class Uniform(Closed):
    """Uniform on ``[low, high]``."""

    kind: Literal["uniform"]
    low: Finite
    high: Finite


class LogUniform(Closed):
    """Log-uniform on ``[low, high]``, ``low > 0`` (for factors spanning magnitudes)."""

    kind: Literal["loguniform"]
    low: Finite = Field(gt=0)
    high: Finite


class Triangular(Closed):
    """Triangular on ``[low, high]`` with its peak at ``mode``."""

    kind: Literal["triangular"]
    low: Finite
    mode: Finite
    high: Finite

    @model_validator(mode="after")
    def _mode(self) -> Triangular:
        if not self.low <= self.mode <= self.high:
            raise ValueError(
                f"mode {self.mode:g} must lie in [low, high] = [{self.low:g}, {self.high:g}]"
            )
        return self


class TruncNormal(Closed):
    """Normal(``mean``, ``sd``) truncated to ``[low, high]``."""

    kind: Literal["truncnormal"]
    low: Finite
    high: Finite
    mean: Finite
    sd: Finite = Field(gt=0)


Distribution = Annotated[
    Union[Uniform, LogUniform, Triangular, TruncNormal],  # noqa: UP007
    Field(discriminator="kind"),
]


class Parameter(Closed):
    """One swept input: scenario value path(s) or a registry entry, and a range or a bounded
    distribution.

    Several paths (or a ``*`` in a path) are set to the same value at each point, e.g. one
    debt-aversion weight for every state. A mapping of paths to factors sets each path to the
    value times its factor. ``ref`` sweeps a registry entry by its id: every field that refers
    to it moves, each as it takes the entry (its scale and unit conversion), and the range is
    in the entry's own unit.
    """

    path: str | list[str] | dict[str, Finite] | None = Field(
        default=None, description="dotted scenario path(s) ('*' matches one element), or "
                                  "path: factor")
    ref: RefId | None = Field(default=None, description="a registry entry's id")
    range: tuple[Finite, Finite] | None = Field(default=None, description="[low, high], uniform")
    distribution: Distribution | None = None
    levels: int | None = Field(default=None, ge=2, le=1000, description="grid levels")

    @model_validator(mode="after")
    def _one_spread(self) -> Parameter:
        if (self.path is None) == (self.ref is None):
            raise ValueError("give exactly one of 'path' (scenario paths) or 'ref' (a registry "
                             "entry's id)")
        if (self.range is None) == (self.distribution is None):
            raise ValueError("give exactly one of 'range: [low, high]' or 'distribution'")
        d = self.dist
        if not d.low < d.high:
            raise ValueError(f"low ({d.low:g}) must be below high ({d.high:g})")
        paths = self.paths
        if self.path is not None and (not paths or any(
                not p.strip() or any(not s for s in p.split(".")) for p in paths)):
            raise ValueError(f"expected dotted scenario path(s), found {self.path!r}")
        return self

    @property
    def dist(self) -> Uniform | LogUniform | Triangular | TruncNormal:
        """The parameter's distribution (a ``range`` is uniform)."""
        if self.distribution is not None:
            return self.distribution
        assert self.range is not None  # checked by the validator
        return Uniform(kind="uniform", low=self.range[0], high=self.range[1])

    @property
    def paths(self) -> list[str]:
        """The paths (patterns) given; none for a ``ref``."""
        if self.path is None:
            return []
        if isinstance(self.path, str):
            return [self.path]
        return list(self.path)

    @property
    def factors(self) -> dict[str, float]:
        """Each given path's factor (1 unless ``path`` maps paths to factors)."""
        if isinstance(self.path, dict):
            return dict(self.path)
        return dict.fromkeys(self.paths, 1.0)


# --------------------------------------------------------------------------- outcomes

class Discover(Closed):
    """Scenario discovery: where in the parameter space does ``outcome`` meet the condition?"""

    outcome: OutcomeName
    above: Finite | None = None
    below: Finite | None = None
    density: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="target share of points in the box meeting the condition",
    )

    @model_validator(mode="after")
    def _one_side(self) -> Discover:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of 'above' or 'below'")
        return self

    def describe(self) -> str:
        return (
            f"{self.outcome} > {self.above:g}"
            if self.above is not None
            else f"{self.outcome} < {self.below:g}"
        )


class SweepFile(Closed):
    """A whole sweep definition (the sweep-file schema)."""

    scenario: str = Field(min_length=1, description="scenario file, relative to the sweep file")
    counterfactual: str | None = Field(
        default=None,
        description="the scenario without the policy, relative to the sweep file: outcomes "
                    "with 'effect' are paired differences against it at each point")
    description: str | None = None
    method: Literal["grid", "lhs", "sobol", "morris"] | None = Field(
        default=None, description="default: grid if every parameter gives levels, else sobol"
    )
    samples: int | None = Field(default=None, ge=1, le=10_000_000)
    replicates: int | None = Field(default=None, ge=1, le=1_000_000)
    seed: int | None = Field(default=None, ge=0)
    common_random_numbers: bool = Field(
        default=False, description="every point uses the same random numbers (paired design)"
    )
    morris_levels: int = Field(default=4, ge=2, le=100)
    parameters: dict[ParamName, Parameter] = Field(min_length=1)
    outcomes: dict[OutcomeName, Outcome] = Field(default_factory=dict)
    report: list[OutcomeName] | None = Field(default=None, description="outcomes to print")
    discover: Discover | None = None

    @property
    def method_or_default(self) -> str:
        if self.method is not None:
            return self.method
        return "grid" if all(p.levels for p in self.parameters.values()) else "sobol"

    @model_validator(mode="after")
    def _effects(self) -> SweepFile:
        if self.counterfactual is None:
            for name, o in self.outcomes.items():
                if o.effect:
                    raise ValueError(f"outcomes.{name}.effect: an effect needs the sweep's "
                                     "'counterfactual' (the scenario without the policy)")
        return self

    @model_validator(mode="after")
    def _levels(self) -> SweepFile:
        if self.method not in (None, "grid"):
            for name, p in self.parameters.items():
                if p.levels is not None:
                    raise ValueError(
                        f"parameters.{name}.levels: levels are only used by method grid, "
                        f"not {self.method}"
                    )
        if self.method_or_default == "sobol" and self.samples is not None:
            n = self.samples
            if n & (n - 1):
                lower = 1 << (n.bit_length() - 1)
                raise ValueError(
                    f"samples: Sobol' sampling needs a power of 2 "
                    f"(e.g. {lower} or {lower * 2}), found {n}"
                )
        return self


# --------------------------------------------------------------------------- errors


def _allowed_at(loc: typing.Sequence[Any]) -> list[str]:
    """Field names of the schema model at an error location (for did-you-mean)."""
    current: list[Any] = [SweepFile]
    for key in loc:
        nxt: list[Any] = []
        for tp in current:
            for alt in _alternatives(tp):
                if isinstance(alt, type) and issubclass(alt, BaseModel):
                    if key in alt.model_fields:
                        nxt.append(alt.model_fields[key].annotation)
                    elif isinstance(key, str) and any(
                        typing.get_args(a.model_fields["kind"].annotation) == (key,)
                        for a in _alternatives(alt)
                        if "kind" in getattr(a, "model_fields", {})
                    ):
                        nxt.append(alt)
                elif typing.get_origin(alt) is dict:
                    nxt.append(typing.get_args(alt)[1])
                elif typing.get_origin(alt) is list:
                    nxt.append(typing.get_args(alt)[0])
        current = nxt
    names: list[str] = []
    for tp in current:
        for alt in _alternatives(tp):
            if isinstance(alt, type) and issubclass(alt, BaseModel):
                names.extend(alt.model_fields)
    return list(dict.fromkeys(names))


def _alternatives(tp: Any) -> list[Any]:
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return _alternatives(typing.get_args(tp)[0])
    if origin is Union or str(origin) == "<class 'types.UnionType'>":
        out: list[Any] = []
        for arg in typing.get_args(tp):
            out.extend(_alternatives(arg))
        return out
    return [tp]


_TAGS = {"uniform", "loguniform", "triangular", "truncnormal"}


def _explain(err: ValidationError) -> tuple[str, str]:
    """The first validation error as (field path, message), with did-you-mean for typos."""
    # an unknown key first: a misspelt key also makes the real one "missing"
    errors = sorted(err.errors(), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    loc = [
        p
        for p in first["loc"]
        if not (isinstance(p, str) and (p in _TAGS or "[" in p or p.startswith("function-")))
    ]
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    field = ".".join(str(p) for p in loc)
    kind = first["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_at(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return field, f"unknown key{hint} (allowed: {', '.join(allowed)}){more}"
    msg = str(first["msg"]).removeprefix("Value error, ")
    located = re.match(r"^([A-Za-z_][\w.*\[\]]*): (.+)$", msg)
    if kind == "value_error" and located:  # a check across fields names the field it is about
        field = ".".join(p for p in (field, located.group(1)) if p)
        msg = located.group(2)
    if kind == "missing":
        msg = "required field is missing"
    elif kind == "union_tag_invalid":
        found = first["input"].get("kind")
        msg = f"unknown distribution kind {found!r}; expected one of {sorted(_TAGS)}"
    elif kind == "literal_error" or (
        "input" in first and kind != "value_error" and not isinstance(first["input"], dict | list)
    ):
        msg = f"{msg}, found {first['input']!r}"
    return field, msg + more


def parse(raw: Any, where: Path | str) -> SweepFile:
    """Validate a raw mapping as a :class:`SweepFile`; errors name ``where`` and the field."""
    if not isinstance(raw, dict):
        found = "an empty file" if raw is None else type(raw).__name__
        raise ScenarioError(where, "", f"expected a mapping of sweep fields, found {found}")
    try:
        return SweepFile.model_validate(raw)
    except ValidationError as err:
        field, message = _explain(err)
        raise ScenarioError(where, field, message) from None


def is_sweep_file(path: Path) -> bool:
    """Whether a YAML file is a sweep definition (it names the scenario it sweeps)."""
    raw = read_yaml(path)
    return isinstance(raw, dict) and "scenario" in raw  # a scenario file has no such key


def read(path: Path) -> SweepFile:
    """Read and validate a sweep file."""
    return parse(read_yaml(path), path)


def parse_param(expr: str) -> tuple[str, dict[str, Any]]:
    """``path=LOW:HIGH[:LEVELS]`` -> (name, parameter mapping)."""
    where = "--param"
    if "=" not in expr:
        raise ScenarioError(where, expr, "expected path=LOW:HIGH or path=LOW:HIGH:LEVELS")
    path, spread = (s.strip() for s in expr.rsplit("=", 1))
    parts = spread.split(":")
    if not path or len(parts) not in (2, 3):
        raise ScenarioError(where, expr, "expected path=LOW:HIGH or path=LOW:HIGH:LEVELS")
    try:
        low, high = float(parts[0]), float(parts[1])
    except ValueError:
        raise ScenarioError(
            where, expr, f"LOW and HIGH must be numbers, found {parts[0]!r} and {parts[1]!r}"
        ) from None
    out: dict[str, Any] = {"path": path, "range": [low, high]}
    if len(parts) == 3:
        try:
            out["levels"] = int(parts[2])
        except ValueError:
            raise ScenarioError(
                where, expr, f"LEVELS must be a whole number, found {parts[2]!r}"
            ) from None
    return path, out


def from_options(
    scenario: Path,
    params: typing.Sequence[str],
    *,
    method: str | None = None,
    samples: int | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    common_random_numbers: bool | None = None,
    report: typing.Sequence[str] = (),
    discover: str | None = None,
) -> SweepFile:
    """A :class:`SweepFile` from command-line options (``--param`` expressions)."""
    if not params:
        raise ScenarioError(
            "--param", "", "give at least one --param path=LOW:HIGH[:LEVELS] (or a sweep file)"
        )
    raw: dict[str, Any] = {"scenario": str(scenario), "parameters": {}}
    for expr in params:
        name, entry = parse_param(expr)
        if name in raw["parameters"]:
            raise ScenarioError("--param", expr, f"'{name}' is given twice")
        raw["parameters"][name] = entry
    raw.update(
        _overrides(method, samples, replicates, seed, common_random_numbers, report, discover)
    )
    return parse(raw, "command line")


def with_options(
    spec: SweepFile,
    where: Path,
    *,
    method: str | None = None,
    samples: int | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    common_random_numbers: bool | None = None,
    report: typing.Sequence[str] = (),
    discover: str | None = None,
) -> SweepFile:
    """A sweep file with command-line options taking precedence over its fields."""
    raw = spec.model_dump(mode="json", exclude_none=True)
    over = _overrides(method, samples, replicates, seed, common_random_numbers, report, discover)
    if "method" in over and over["method"] != "grid":
        for p in raw["parameters"].values():
            p.pop("levels", None)  # a grid's levels do not apply to the method asked for
    raw.update(over)
    return parse(raw, where)


def _overrides(
    method: str | None,
    samples: int | None,
    replicates: int | None,
    seed: int | None,
    crn: bool | None,
    report: typing.Sequence[str],
    discover: str | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if method is not None:
        if method not in METHODS:
            close = difflib.get_close_matches(method, METHODS, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ScenarioError(
                "--method", method, f"unknown method; {hint}expected one of {', '.join(METHODS)}"
            )
        out["method"] = method
    for key, value in (
        ("samples", samples),
        ("replicates", replicates),
        ("seed", seed),
        ("common_random_numbers", crn),
    ):
        if value is not None:
            out[key] = value
    if report:
        out["report"] = list(report)
    if discover is not None:
        out["discover"] = parse_condition(discover)
    return out


def parse_condition(expr: str) -> dict[str, Any]:
    """``NAME>VALUE`` or ``NAME<VALUE`` -> a ``discover`` mapping."""
    for op, key in ((">", "above"), ("<", "below")):
        if op in expr:
            name, _, text = expr.partition(op)
            try:
                return {"outcome": name.strip(), key: float(text.strip().lstrip("="))}
            except ValueError:
                break
    raise ScenarioError(
        "--discover", expr, "expected OUTCOME>VALUE or OUTCOME<VALUE, e.g. JPN_region>0.15"
    )


# --------------------------------------------------------------------------- binding


@dataclass(frozen=True)
class BoundParameter:
    """A parameter resolved against its scenario: concrete paths and baseline values.

    At a point whose value is ``x``, path ``paths[i]`` is set to ``x * factors[i]`` (every
    factor is 1 unless the paths map to factors, or the parameter is a registry entry: then
    each field takes the entry as it does in the scenario, its scale and unit conversion).
    """

    name: str
    paths: tuple[str, ...]
    dist: Uniform | LogUniform | Triangular | TruncNormal
    levels: int | None
    baseline: tuple[float | None, ...]
    factors: tuple[float, ...] = ()
    ref: str | None = None

    @property
    def low(self) -> float:
        return self.dist.low

    @property
    def high(self) -> float:
        return self.dist.high

    @property
    def groups(self) -> list[tuple[float, tuple[str, ...]]]:
        """The paths grouped by factor, in order: one column of a batch each."""
        factors = self.factors or (1.0,) * len(self.paths)
        out: dict[float, list[str]] = {}
        for path, f in zip(self.paths, factors, strict=True):
            out.setdefault(f, []).append(path)
        return [(f, tuple(paths)) for f, paths in out.items()]

    def path_spec(self) -> str | list[str] | dict[str, float]:
        """The paths as a sweep file writes them (with their factors where any is not 1)."""
        if self.factors and any(f != 1.0 for f in self.factors):
            return dict(zip(self.paths, self.factors, strict=True))
        return self.paths[0] if len(self.paths) == 1 else list(self.paths)


def is_ref(param: Parameter, cli: bool) -> str | None:
    """The registry id a parameter sweeps, if it sweeps one: its ``ref``, or on the command
    line a ``--param`` whose path is a bare id (no scenario value's path lacks a dot)."""
    if param.ref is not None:
        return param.ref
    paths = param.paths
    if cli and len(paths) == 1 and "." not in paths[0] and "*" not in paths[0]:
        return paths[0]
    return None


def ref_fields(key: str, sc: Scenario, registry: Registry,
               fail: Callable[[str], ScenarioError]) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """The fields of ``sc`` that refer to registry entry ``key``, and the factor each takes it
    by: the field's value is the entry's value times its factor (unit conversion and scale).

    Raises:
        ScenarioError: (``fail``'s) no such entry, or no field refers to it.
    """
    if key not in registry:
        raise fail(f"'{key}' is neither a scenario value nor a registry entry"
                   f"{registry.suggest(key)}")
    used = [(path, v) for path, v in values(sc) if v.ref == key]
    if not used:
        refs = sorted({v.ref for _, v in values(sc) if v.ref})
        close = difflib.get_close_matches(key, refs, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise fail(f"no field of the scenario refers to registry entry '{key}'{hint}")
    one = registry.get(key).model_copy(update={"value": 1.0})
    paths, factors = [], []
    for path, v in used:
        units = {unit_of(a) for a in annotation_at(path.split("."))} - {None}
        if len(units) != 1:
            raise fail(f"{path}: cannot tell the unit this field takes '{key}' in")
        paths.append(path)
        factors.append(registry.convert(one, str(units.pop())) * v.scale)
    return tuple(paths), tuple(factors)


def bind_parameter(
    name: str,
    param: Parameter,
    raw: dict[str, Any],
    sc: Scenario,
    where: Path | str,
    *,
    cli: bool = False,
    source: Scenario | None = None,
    registry: Registry | None = None,
    sources: Registry | None = None,
) -> BoundParameter:
    """Resolve a parameter's paths against the (materialised) scenario and check its bounds.

    ``raw`` is the scenario from :func:`materialise`; a registry entry's fields are found in
    the scenario as loaded (``source``, whose values still name their entries) with its
    ``registry``. ``raw`` validates against ``sources`` (the facts its events cite,
    :func:`sim.runs.batch.cited`; by default none). Errors name the sweep file and the parameter's
    field, or for ``cli`` the ``--param`` expression.

    Raises:
        ScenarioError: a path that names no numeric value, an entry no field uses, or a bound
            the field refuses.
    """
    label = Path(str(where))
    empty = sources or empty_registry(label)

    def field(sub: str) -> tuple[str, str]:
        return ("--param", name) if cli else (str(where), f"parameters.{name}.{sub}")

    def fail(message: str) -> ScenarioError:
        return ScenarioError(*field("ref" if param.ref is not None else "path"), message)

    key = is_ref(param, cli)
    if param.ref is None and key is not None and (registry is None or key not in registry):
        key = None  # a bare name that names no entry: read as a path (which says what is wrong)
    if key is not None:
        if source is None or registry is None:
            raise fail(f"'{key}' names a registry entry; a stored sweep sets its fields by path")
        paths, factors = ref_fields(key, source, registry, fail)
    else:
        given = param.factors
        found: dict[str, float] = {}
        for pattern, f in given.items():
            for path in resolve_paths([pattern], raw, sc, param.dist.low * f, fail, empty):
                found.setdefault(path, f)
        paths, factors = tuple(found), tuple(found.values())
        key = None
    bound = BoundParameter(name, paths, param.dist, param.levels, (), factors, key)
    groups = bound.groups
    for x in sorted({param.dist.low, param.dist.high}):
        try:
            validate(with_values(raw, [g for _, g in groups], [x * f for f, _ in groups],
                                 SWEPT_WHY), empty, label)
        except ScenarioError as err:
            raise ScenarioError(
                *field("range" if param.range is not None else "distribution"),
                f"{x:g} is outside what {err.field or 'the scenario'} accepts: {err.message}",
            ) from None
    current = {p: v.value for p, v in values(sc)}
    return BoundParameter(name, paths, param.dist, param.levels,
                          tuple(current.get(p) for p in paths), factors, key)


def check_names(spec: SweepFile, outcome_names: typing.Iterable[str], where: Path | str) -> None:
    """Check that report and discover name outcomes, and that no column name is taken twice."""
    names = list(outcome_names)
    for i, name in enumerate(spec.report or []):
        if name not in names:
            raise ScenarioError(
                where, f"report[{i}]", f"unknown outcome '{name}'{_close(name, names)}"
            )
    if spec.discover is not None and spec.discover.outcome not in names:
        name = spec.discover.outcome
        raise ScenarioError(
            where, "discover.outcome", f"unknown outcome '{name}'{_close(name, names)}"
        )
    for name in names:
        for column in (name, f"{name}.p5", f"{name}.p95"):
            if column in spec.parameters:
                raise ScenarioError(
                    where, f"parameters.{column}", f"clashes with outcome column '{column}'"
                )
    for kind, given in (("parameters", spec.parameters), ("outcomes", names)):
        for name in given:
            if name in RESERVED:
                raise ScenarioError(
                    where,
                    f"{kind}.{name}",
                    f"'{name}' is a column of every sweep table; choose another name",
                )


def _close(name: str, names: list[str]) -> str:
    close = difflib.get_close_matches(name, names, n=1)
    return f"; did you mean '{close[0]}'?" if close else f"; known: {', '.join(names)}"
