"""Substantive numbers in scenario files: a registry id, or a value with its reason.

A field typed with :func:`quantity` accepts, in YAML:

- ``kaz_gdp_2024``: the id of a registry entry (fact or assumption), converted to the field's
  unit;
- ``{value: 0.3, why: "..."}``: an inline assumption in the field's unit, with its reason;
- ``{ref: jpn_loans_jpy, scale: 0.5, why: "..."}``: a registry entry scaled by a stated factor.

A bare number is refused: every substantive number says where it comes from. The registry is
passed in pydantic's validation context under the key ``"registry"``.

The schema's other building blocks live here too, below :mod:`sim.scenario.schema` and
:mod:`sim.scenario.events`, which both use them: the frozen, closed base model and the code type.
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, ValidationInfo

from sim.scenario.facts import Registry

#: A state's or power's code: an upper-case letter, then 1-5 upper-case letters or digits.
Code = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]{1,5}$")]


class Frozen(BaseModel):
    """Base for schema sections: immutable, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


FORMS = "a registry id, {value: X, why: REASON} or {ref: ID, scale: X, why: REASON}"


@dataclass(frozen=True)
class Value:
    """A resolved number with its provenance.

    Attributes:
        value: the number in the field's canonical unit.
        ref: registry id it came from, if any.
        why: the stated reason for an inline value or a scale factor.
        scale: factor applied to the registry value (1 when none).
    """

    value: float
    ref: str | None = None
    why: str | None = None
    scale: float = 1.0

    def __float__(self) -> float:
        return self.value

    def raw(self) -> Any:
        """The YAML form this value was written in (for the resolved scenario file)."""
        if self.ref is not None and self.scale == 1.0 and self.why is None:
            return self.ref
        if self.ref is not None:
            return {"ref": self.ref, "scale": self.scale, "why": self.why}
        return {"value": self.value, "why": self.why}


def _number(x: Any, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float):
        raise ValueError(f"{what} must be a number, found {x!r}")
    value = float(x)
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, found {x!r}")
    return value


def _why(raw: dict[str, Any]) -> str:
    why = raw.get("why")
    if not isinstance(why, str) or len(why.strip()) < 10:
        raise ValueError("an inline value needs 'why': a reason of at least a few words")
    return why.strip()


def _resolve(raw: Any, info: ValidationInfo, unit: str) -> Value:
    if isinstance(raw, Value):
        return raw
    registry: Registry | None = (info.context or {}).get("registry")
    if isinstance(raw, str):
        if registry is None:
            raise ValueError(f"no facts registry to look up '{raw}'")
        if raw not in registry:
            raise ValueError(f"unknown fact or assumption id '{raw}'{registry.suggest(raw)}")
        return Value(registry.convert(registry.get(raw), unit), ref=raw)
    if isinstance(raw, dict):
        keys = set(raw)
        if keys == {"value", "why"}:
            return Value(_number(raw["value"], "value"), why=_why(raw))
        if keys == {"ref", "scale", "why"}:
            if registry is None or not isinstance(raw["ref"], str) or raw["ref"] not in registry:
                hint = registry.suggest(str(raw["ref"])) if registry else ""
                raise ValueError(f"unknown fact or assumption id '{raw['ref']}'{hint}")
            scale = _number(raw["scale"], "scale")
            base = registry.convert(registry.get(raw["ref"]), unit)
            return Value(base * scale, ref=raw["ref"], why=_why(raw), scale=scale)
        raise ValueError(f"expected {FORMS}; found keys {sorted(keys)}")
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        raise ValueError(f"bare number {raw!r} has no source: expected {FORMS}")
    raise ValueError(f"expected {FORMS}; found {raw!r}")


@dataclass(frozen=True)
class Unit:
    """The canonical unit of a quantity field, kept in its type (see :func:`unit_of`)."""

    name: str


def unit_of(annotation: Any) -> str | None:
    """The canonical unit of a :func:`quantity` field's annotation (optional or not), or None
    for another type."""
    for meta in getattr(annotation, "__metadata__", ()):
        if isinstance(meta, Unit):
            return meta.name
    for arg in typing.get_args(annotation):
        found = unit_of(arg)
        if found is not None:
            return found
    return None


def quantity(
    unit: str,
    *,
    ge: float | None = None,
    le: float | None = None,
    gt: float | None = None,
) -> Any:
    """A scenario field type: resolves to :class:`Value` in ``unit`` and checks its range."""

    def validate(raw: Any, info: ValidationInfo) -> Value:
        v = _resolve(raw, info, unit)
        if ge is not None and v.value < ge:
            raise ValueError(f"expected a value >= {ge:g} {unit}, found {v.value:g}")
        if gt is not None and v.value <= gt:
            raise ValueError(f"expected a value > {gt:g} {unit}, found {v.value:g}")
        if le is not None and v.value > le:
            raise ValueError(f"expected a value <= {le:g} {unit}, found {v.value:g}")
        return v

    return Annotated[
        Value,
        BeforeValidator(validate),
        PlainSerializer(lambda v: v.raw(), return_type=Any),
        Unit(unit),
    ]


Money = quantity("USD bn", ge=0)
PositiveMoney = quantity("USD bn", gt=0)
Share = quantity("share", ge=0, le=1)
Weight = quantity("index", ge=0)
PerYear = quantity("per year", ge=-1, le=1)
Years = quantity("years", gt=0)
Persons = quantity("million persons", ge=0)
Utility = quantity("index", ge=0, le=50)
Sharpness = quantity("index", ge=0, le=100)
Noise = quantity("index", ge=0, le=10)
Fraction = quantity("share", gt=0, le=1)
EconScale = quantity("index", gt=0, le=1e6)
Factor = quantity("index", ge=0, le=100)
#: A signed change in utility (log-odds), e.g. a lasting shift in one relation.
Shift = quantity("index", ge=-50, le=50)


def _source_id(raw: Any, info: ValidationInfo) -> str:
    registry: Registry | None = (info.context or {}).get("registry")
    if not isinstance(raw, str):
        raise ValueError(f"expected the id of a fact in the registry, found {raw!r}")
    if registry is None:
        raise ValueError(f"no facts registry to look up '{raw}'")
    if raw not in registry:
        raise ValueError(f"unknown fact id '{raw}'{registry.suggest(raw)}")
    if registry.get(raw).kind != "fact":
        raise ValueError(f"'{raw}' is an assumption; a source must be a fact with its document")
    return raw


#: The registry id of the fact (with its document) that records an event.
SourceId = Annotated[str, BeforeValidator(_source_id)]
