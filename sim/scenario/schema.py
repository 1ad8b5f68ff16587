"""Scenario files: schema, loading, ``extends:`` and ``--set`` overrides.

A scenario is a YAML mapping validated against :class:`Scenario` (closed: unknown keys are
errors with a did-you-mean). States, powers, instruments and events are mappings keyed by
code or id, so a scenario that ``extends:`` another overrides any part by its path and a
``null`` removes an entry. Substantive numbers are :mod:`sim.scenario.quantity` values.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import types
import typing
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, ValidationError, model_validator

from sim.core import shipped
from sim.core.errors import ScenarioError
from sim.core.yamlio import dump_yaml, read_value, read_yaml
from sim.scenario.events import TAGS, Event, MembershipChange
from sim.scenario.facts import Registry, find_registry, load_registry
from sim.scenario.quantity import (
    Code,
    EconScale,
    Factor,
    Fraction,
    Frozen,
    Money,
    Noise,
    Persons,
    PerYear,
    PositiveMoney,
    Share,
    Sharpness,
    Value,
    Weight,
    Years,
    quantity,
)

#: Names of the Okabe-Ito colour-blind-safe palette (hex values in
#: :data:`sim.outputs.look.OKABE_ITO`).
ColourName = Literal[
    "orange", "sky_blue", "bluish_green", "yellow", "blue", "vermillion", "reddish_purple", "black"
]


class Time(Frozen):
    """The simulated calendar: rounds of ``months_per_round`` months from ``start`` to ``end``."""

    start: date
    end: date
    months_per_round: int = Field(default=3, ge=1, le=12)
    answer: date | None = Field(
        default=None, description="the date a comparison's answer is read at (default: end); "
        "the run goes on to end, so the answer's path shows whether an effect lasts")

    @model_validator(mode="after")
    def _order(self) -> Time:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        if self.answer is not None and not self.start < self.answer <= self.end:
            raise ValueError(f"answer ({self.answer}) must be after start ({self.start}) and "
                             f"no later than end ({self.end})")
        return self


#: The kinds of institutional tie (ODD 7.3). Each kind has its own weight
#: (``dynamics.tie_weights``); a neutral state discounts only the binding kinds
#: (:data:`BINDING_KINDS`).
OrganisationKind = Literal["alliance", "economic_union", "regional", "dialogue", "base"]
ORGANISATION_KINDS: tuple[str, ...] = typing.get_args(OrganisationKind)
#: Kinds that bind a member to a bloc: the ones permanent neutrality forswears.
BINDING_KINDS: frozenset[str] = frozenset({"alliance", "base"})


class TieWeights(Frozen):
    """Weight of one shared organisation of each kind in the institutional index (ODD 7.3)."""

    alliance: Weight = Field(description="a mutual-defence treaty or alliance (CSTO)")
    economic_union: Weight = Field(description="a customs or economic union (EurAsEC, EAEU)")
    regional: Weight = Field(description="a regional organisation (SCO, CIS, Turkic Council)")
    dialogue: Weight = Field(description="a dialogue format (C5+Japan, C5+1, EU-Central Asia)")
    base: Weight = Field(description="a military base or facility of the power in the state")


class Dynamics(Frozen):
    """Behavioural constants of the round (ODD section 7)."""

    sharpness: Sharpness = Field(description="beta: how sharply a target follows utility")
    utility_noise_sd: Noise = Field(description="sd of the per-round utility shock")
    delivery_noise_sd: Noise = Field(description="sd of log delivered/planned money")
    engagement_memory: Fraction = Field(description="weight of this round's money in the stock")
    econ_scale: EconScale = Field(description="multiplier inside log1p of ties/GDP")
    neutral_discount: Share = Field(
        description="share of security and binding ties (alliances, bases) a neutral state ignores"
    )
    summit_decay: Share = Field(description="share of a summit boost lost each round")
    loan_repayment_per_year: Share = Field(description="share of new debt repaid each year")
    grant_element_loan: Share = Field(description="value of a loan dollar to the borrower")
    value_investment: Share = Field(
        description="value to the host of a dollar of business projects"
    )
    value_corridor: Share = Field(description="value to the host of a dollar of corridor works")
    corridor_efficiency: Factor = Field(
        description="multiplier on corridor value (customs, bridges)"
    )
    tie_weights: TieWeights = Field(
        description="weight of a shared organisation by kind in the institutional index"
    )


class IndicatorWeights(Frozen):
    """Weights of the initial-alignment formula (ODD section 5)."""

    trade: Weight
    remittances: Weight
    security: Weight
    institutions: Weight
    priority: Weight
    floor: quantity("index", gt=0)  # type: ignore[valid-type]


class Initial(Frozen):
    """How the initial alignment (the anchor) is derived from indicators."""

    method: Literal["indicators"] = "indicators"
    weights: IndicatorWeights


class Peers(Frozen):
    """Peer network: each state listens to the others, more to the leader."""

    leader: Code | None = None
    leader_weight: Share | None = None


class StateWeights(Frozen):
    """A state's preference weights (utility points per unit)."""

    econ: Weight
    security: Weight
    institutions: Weight
    debt: Weight
    hedge: Weight
    peers: Share


class Tie(Frozen):
    """A state's ties to one power at the start. An absent field means no recorded tie."""

    trade_usd_bn: Money | None = None
    remittances_usd_bn: Money | None = None
    security: Share | None = None
    debt_usd_bn: Money | None = None
    priority: Share | None = None


class State(Frozen):
    """A state agent's attributes."""

    name: str
    gdp_usd_bn: PositiveMoney
    population_m: Persons | None = None
    growth_per_year: PerYear
    resources: Share = Field(description="resource endowment index, for resource-seeking powers")
    memberships: list[str] = Field(default_factory=list)
    neutral: bool = False
    weights: StateWeights
    inertia: Share = Field(description="lambda: share of the way to the target moved per round")
    stubbornness: Share = Field(description="theta: pull back to the anchor per round")
    ties: dict[Code, Tie] = Field(default_factory=dict)


class Allocation(Frozen):
    """How a power splits a round's money over the states."""

    strategy: Literal["fixed", "equal", "gdp", "resources", "gap"]
    shares: dict[Code, Share] | None = None

    @model_validator(mode="after")
    def _shares(self) -> Allocation:
        if self.strategy == "fixed":
            if not self.shares:
                raise ValueError("strategy 'fixed' needs 'shares' (state code: share)")
            if sum(v.value for v in self.shares.values()) <= 0:
                raise ValueError("'shares' must not all be zero")
        elif self.shares is not None:
            raise ValueError(f"'shares' is only used by strategy 'fixed', not '{self.strategy}'")
        return self


class Instrument(Frozen):
    """A pledge: money of one kind over a period, starting at a date."""

    kind: Literal["grant", "loan", "investment", "corridor"]
    pledged_usd_bn: Money
    start: date
    period_years: Years
    delivery_rate: Share = Field(description="share of the pledge that materialises")
    allocation: Allocation | None = None
    grant_element: Share | None = Field(
        default=None,
        description="a loan's gift at its terms: its value per dollar, and one less it the "
        "burden of its debt per dollar (default: dynamics.grant_element_loan)",
    )

    @model_validator(mode="after")
    def _loan_terms(self) -> Instrument:
        if self.grant_element is not None and self.kind != "loan":
            raise ValueError(f"grant_element: only a loan has one; this is a {self.kind}")
        return self


class Power(Frozen):
    """A power agent's attributes."""

    name: str
    memberships: list[str] = Field(default_factory=list)
    capacity_trend_per_year: PerYear
    reactivity: Weight = Field(description="budget response to rivals' regional gains")
    allocation: Allocation
    instruments: dict[str, Instrument] = Field(default_factory=dict)
    colour: ColourName | None = Field(
        default=None,
        description="Okabe-Ito colour of this power in figures (default: from its code)",
    )


class Scenario(Frozen):
    """A whole scenario: the region, the powers, their offers and the timeline."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    title: str
    question: str = Field(min_length=10, description="what the scenario asks")
    seed: int = Field(ge=0)
    replicates: int = Field(default=100, ge=1)
    time: Time
    region_weighting: Literal["equal", "gdp", "population"] = "equal"
    dynamics: Dynamics
    initial: Initial
    peers: Peers = Peers()
    states: dict[Code, State] = Field(min_length=1)
    powers: dict[Code, Power] = Field(min_length=1)
    organisations: dict[str, OrganisationKind] = Field(
        default_factory=dict,
        description="every organisation a state or power belongs to, with its kind of tie",
    )
    events: dict[str, Event] = Field(default_factory=dict)
    blocs: dict[str, list[Code]] | None = Field(
        default=None, description="named groups of powers for bloc-share figures (disjoint)"
    )

    @model_validator(mode="after")
    def _codes(self) -> Scenario:
        states, powers = set(self.states), set(self.powers)

        def need(codes: typing.Iterable[str], known: set[str], where: str, what: str) -> None:
            for code in codes:
                if code not in known:
                    close = difflib.get_close_matches(code, sorted(known), n=1)
                    hint = f" (did you mean '{close[0]}'?)" if close else ""
                    raise ValueError(
                        f"{where}: unknown {what} code '{code}'{hint}; known: {sorted(known)}"
                    )

        for s, st in self.states.items():
            need(st.ties, powers, f"states.{s}.ties", "power")
        for p, pw in self.powers.items():
            allocs = [("allocation", pw.allocation)] + [
                (f"instruments.{i}.allocation", ins.allocation) for i, ins in pw.instruments.items()
            ]
            for where, alloc in allocs:
                if alloc is not None and alloc.shares:
                    need(alloc.shares, states, f"powers.{p}.{where}.shares", "state")
        known = {"state": states, "power": powers}
        for e, ev in self.events.items():
            for field, codes, what in ev.codes():
                need(codes, known[what], f"events.{e}.{field}", what)
        orgs = set(self.organisations)
        for where, names in [
            *((f"states.{s}.memberships", st.memberships) for s, st in self.states.items()),
            *((f"powers.{p}.memberships", pw.memberships) for p, pw in self.powers.items()),
            *((f"events.{e}.org", [ev.org]) for e, ev in self.events.items()
              if isinstance(ev, MembershipChange)),
        ]:
            for name in names:
                if name not in orgs:
                    close = difflib.get_close_matches(name, sorted(orgs), n=1)
                    hint = f" (did you mean '{close[0]}'?)" if close else ""
                    raise ValueError(
                        f"{where}: unknown organisation '{name}'{hint}; declare it under "
                        f"organisations: with its kind (one of {', '.join(ORGANISATION_KINDS)})"
                    )
        if self.peers.leader is not None:
            need([self.peers.leader], states, "peers.leader", "state")
            if self.peers.leader_weight is None:
                raise ValueError("peers.leader_weight: needed when peers.leader is set")
        seen: dict[str, str] = {}
        for bloc, members in (self.blocs or {}).items():
            if not bloc.strip() or not members:
                raise ValueError(f"blocs.{bloc}: a bloc needs a name and at least one power")
            need(members, powers, f"blocs.{bloc}", "power")
            for code in members:
                if code in seen:
                    raise ValueError(
                        f"blocs.{bloc}: power '{code}' is already in bloc '{seen[code]}'"
                    )
                seen[code] = bloc
        return self

    @model_validator(mode="after")
    def _events_in_calendar(self) -> Scenario:
        for e, ev in self.events.items():
            problem = ev.calendar_problem(self.time.start, self.time.end)
            if problem is not None:
                raise ValueError(f"events.{e}.date: {problem}")
        return self

    @property
    def state_codes(self) -> list[str]:
        return list(self.states)

    @property
    def power_codes(self) -> list[str]:
        return list(self.powers)


# --------------------------------------------------------------------------- loading


def _merge(base: Any, over: Any) -> Any:
    """Deep-merge ``over`` into ``base``: mappings merge key by key, ``null`` deletes a key."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            if value is None:
                out.pop(key, None)
            elif key in out:
                out[key] = _merge(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
        return out
    return copy.deepcopy(over)


def read_raw(path: Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a scenario file and the chain of files it ``extends:``, merged into one mapping."""
    path = path.resolve() if path.is_absolute() else path
    if path.resolve() in _seen:
        chain = " -> ".join(p.name for p in (*_seen, path.resolve()))
        raise ScenarioError(path, "extends", f"circular extends: {chain}")
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        found = "an empty file" if raw is None else type(raw).__name__
        raise ScenarioError(path, "", f"expected a mapping of scenario fields, found {found}")
    for key in [k for k in raw if isinstance(k, str) and k.startswith(".")]:
        del raw[key]  # ".name:" keys only hold YAML anchors for reuse
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    if not isinstance(parent, str):
        raise ScenarioError(path, "extends", f"expected a file name, found {parent!r}")
    parent_path = parent_file(path, parent)
    base = read_raw(parent_path, (*_seen, path.resolve()))
    return typing.cast(dict[str, Any], _merge(base, raw))


def parent_file(path: Path, parent: str) -> Path:
    """The file a scenario ``extends:``: beside it, or else a shipped scenario of that name
    (so a scenario kept anywhere can start from one of the library's).

    Raises:
        ScenarioError: neither exists.
    """
    beside = path.parent / parent
    if beside.is_file():
        return beside
    for candidate in shipped.candidates(parent):
        if candidate.is_file():
            return candidate
    raise ScenarioError(path, "extends", f"file not found: {beside} (nor a shipped scenario "
                                         f"'{parent}'; shipped: {', '.join(shipped.names())})")


def extends_chain(path: Path) -> list[Path]:
    """The file and every file it extends, nearest first (cycles stop the walk; reading the
    scenario reports them)."""
    chain = [path]
    while len(chain) < 100:
        raw = read_yaml(chain[-1])
        parent = raw.get("extends") if isinstance(raw, dict) else None
        if not isinstance(parent, str):
            break
        nxt = parent_file(chain[-1], parent)
        if nxt.resolve() in {p.resolve() for p in chain}:
            break
        chain.append(nxt)
    return chain


def registry_folder(path: Path) -> Path:
    """The facts registry a scenario file uses: the nearest ``facts/`` folder at or above it,
    or else at or above the files it extends, nearest first (a scenario kept elsewhere that
    extends a shipped one uses the shipped registry).

    Raises:
        ScenarioError: no file of the chain has a registry (naming the scenario).
    """
    try:
        return find_registry(path)  # the usual case, without reading any file
    except ScenarioError:
        pass
    for file in extends_chain(path)[1:]:
        try:
            return find_registry(file)
        except ScenarioError:
            continue
    raise ScenarioError(
        path, "",
        "expected a facts/ folder (the registry) beside or above the scenario or a file it "
        "extends, found none; keep it under a folder that has one, extend a shipped scenario, "
        "or name a registry with --facts DIR",
    )


def locate(path: Path | str) -> Path:
    """A scenario file given on the command line or to the API: the file, or a shipped
    scenario of that name (``tokyo_initiative``).

    Raises:
        ScenarioError: neither exists.
    """
    found = shipped.locate(path)
    if not found.is_file():
        what = "not a file" if found.exists() else "file not found"
        raise ScenarioError(path, "", f"{what}, nor a shipped scenario of that name (shipped: "
                                      f"{', '.join(shipped.names())})")
    return found


# --------------------------------------------------------------------------- schema walking


def _unwrap(tp: Any) -> list[Any]:
    """The concrete alternatives of an annotation (Annotated, Optional and Union removed)."""
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(tp):
            if arg is not type(None):
                out.extend(_unwrap(arg))
        return out
    return [tp]


def _is_value(tp: Any) -> bool:
    return any(alt is Value for alt in _unwrap(tp))


def _step(tp: Any, key: str | int) -> list[Any]:
    """Annotations reachable from ``tp`` by one path element."""
    out: list[Any] = []
    for alt in _unwrap(tp):
        origin = typing.get_origin(alt)
        if isinstance(alt, type) and issubclass(alt, BaseModel):
            field = alt.model_fields.get(str(key))
            if field is not None:
                out.append(
                    field.annotation
                    if not field.metadata
                    else Annotated[field.annotation, *field.metadata]
                )
        elif origin is dict:
            out.append(typing.get_args(alt)[1])
        elif origin is list and isinstance(key, int):
            out.append(typing.get_args(alt)[0])
    return out


def _fields_of(tp: Any) -> list[str]:
    names: list[str] = []
    for alt in _unwrap(tp):
        if isinstance(alt, type) and issubclass(alt, BaseModel):
            names.extend(alt.model_fields)
    return names


def annotation_at(loc: typing.Sequence[str | int]) -> list[Any]:
    """Schema annotations at a path of keys (several where a union leaves it open)."""
    current: list[Any] = [Scenario]
    for key in loc:
        nxt: list[Any] = []
        for tp in current:
            nxt.extend(_step(tp, key))
        if not nxt:
            return []
        current = nxt
    return current


def _format_loc(loc: typing.Sequence[str | int]) -> str:
    return ".".join(str(p) for p in loc)


def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop pydantic's union tags (e.g. the event type) from an error location."""
    out: list[Any] = []
    for i, part in enumerate(loc):
        if i >= 2 and loc[0] == "events" and i == 2 and part in TAGS:
            continue
        if isinstance(part, str) and ("[" in part or part.startswith("function-")):
            continue
        out.append(part)
    return tuple(out)


def _explain(err: ValidationError, raw: dict[str, Any]) -> tuple[str, str]:
    """First error as (field path, message), with a did-you-mean for unknown keys."""
    errors = err.errors()
    # a misspelt key comes first: it is the cause of the "required field is missing" beside it
    errors.sort(key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    loc = _clean_loc(tuple(first["loc"]))
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    kind = first["type"]
    if kind == "missing":
        misspelt = _misspelt_entry(loc, raw, len(errors))
        if misspelt is not None:
            return misspelt
    if kind == "extra_forbidden":
        allowed: list[str] = []
        for tp in annotation_at(loc[:-1]):
            allowed.extend(_fields_of(tp))
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return _format_loc(loc), f"unknown key{hint} (allowed: {', '.join(allowed)}){more}"
    msg = str(first["msg"])
    msg = msg.removeprefix("Value error, ")
    if kind == "missing":
        msg = "required field is missing"
    elif kind.startswith(("date_", "datetime_")):
        why = msg.split(", ", 1)[1] if ", " in msg else ""
        msg = f"expected a date as YYYY-MM-DD, found {first.get('input')!r}" + (
            f" ({why})" if why else "")
        return _format_loc(loc), msg + more
    elif kind == "union_tag_invalid":
        found = first["input"].get("type")
        msg = f"unknown event type {found!r}; expected one of {list(TAGS)}"
    elif (
        "input" in first
        and kind not in ("value_error",)
        and not isinstance(first["input"], dict | list)
    ):
        msg = f"{msg}, found {first['input']!r}"
    return _format_loc(loc), msg + more


def _misspelt_entry(loc: tuple[Any, ...], raw: dict[str, Any],
                    errors: int) -> tuple[str, str] | None:
    """A new entry of a mapping keyed by code or name (a power, a state, an instrument) that
    lacks a required field and whose key is close to an existing entry's: most likely that
    entry's key misspelt (``JAP`` for ``JPN``), said as an unknown key with a did-you-mean."""
    for depth in range(len(loc) - 1, 0, -1):
        parent, key = loc[: depth - 1], loc[depth - 1]
        if not isinstance(key, str) or any(_fields_of(tp) for tp in annotation_at(
                [str(x) for x in parent])) or not annotation_at([str(x) for x in parent]):
            continue
        siblings = [k for k in _keys_at(raw, [str(x) for x in parent]) if k != key]
        close = difflib.get_close_matches(key, siblings, n=1)
        if not close:
            return None
        lacks = f"'{loc[depth]}'" + (f" and {errors - 1} more" if errors > 1 else "")
        return (_format_loc(loc[:depth]),
                f"unknown key; did you mean '{close[0]}'? (as a new entry it lacks {lacks})")
    return None


# --------------------------------------------------------------------------- overrides


def parse_set(expr: str, option: str = "--set") -> tuple[list[str], Any]:
    """Split ``path.to.field=value``; the value is read as YAML (numbers, ids, lists).
    Errors name the ``option`` that gave it."""
    if "=" not in expr:
        raise ScenarioError(option, expr, "expected path.to.field=value")
    path, text = expr.split("=", 1)
    parts = [p for p in path.strip().split(".")]
    if not path.strip() or any(not p for p in parts):
        raise ScenarioError(option, expr, "expected path.to.field=value")
    try:
        value = read_value(text)
    except ValueError as err:
        raise ScenarioError(option, path, f"cannot read value {text!r}: {err}") from None
    return parts, value


def apply_override(raw: dict[str, Any], parts: list[str], value: Any, why: str,
                   option: str = "--set") -> None:
    """Set one field of a raw scenario mapping; a bare number on a value field is an assumption.

    The path must name a field the schema knows (did-you-mean otherwise); the new value is
    validated later with the whole scenario.
    """
    target = annotation_at(parts)
    if not target:
        # find the deepest valid prefix for a helpful message
        for depth in range(len(parts), 0, -1):
            if annotation_at(parts[: depth - 1]):
                allowed: list[str] = []
                for tp in annotation_at(parts[: depth - 1]):
                    allowed.extend(_fields_of(tp))
                    origin_keys = _keys_at(raw, parts[: depth - 1])
                    allowed.extend(origin_keys)
                close = difflib.get_close_matches(parts[depth - 1], allowed, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise ScenarioError(
                    option, ".".join(parts), f"unknown field '{parts[depth - 1]}'{hint}"
                )
        raise ScenarioError(option, ".".join(parts), "unknown field")
    if (
        any(_is_value(tp) for tp in target)
        and isinstance(value, int | float)
        and not isinstance(value, bool)
    ):
        value = {"value": value, "why": why}
    node: Any = raw
    for i, key in enumerate(parts[:-1]):
        where = annotation_at(parts[:i])
        if not isinstance(node, dict):
            raise ScenarioError(
                option, ".".join(parts), f"'{'.'.join(parts[:i])}' is not a mapping"
            )
        if key not in node:
            if where and not any(_fields_of(tp) for tp in where):
                keys = [str(k) for k in node]
                close = difflib.get_close_matches(key, keys, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else f"; known: {', '.join(keys)}"
                raise ScenarioError(option, ".".join(parts), f"no entry '{key}'{hint}")
            node[key] = {}
        node = node[key]
    if not isinstance(node, dict):
        raise ScenarioError(option, ".".join(parts), "parent is not a mapping")
    if value is None:
        node.pop(parts[-1], None)  # as in extends: null removes the entry
    else:
        node[parts[-1]] = value


def _unshared(node: Any) -> Any:
    """A copy of a raw mapping in which no two places share a mapping or a list. YAML anchors
    and merge keys (``<<: *behaviour``) leave the same object in every state that uses them;
    an override of one state's field must change that state only."""
    if isinstance(node, dict):
        return {k: _unshared(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_unshared(v) for v in node]
    return node


def _keys_at(raw: dict[str, Any], parts: typing.Sequence[str]) -> list[str]:
    node: Any = raw
    for key in parts:
        if not isinstance(node, dict) or key not in node:
            return []
        node = node[key]
    return [str(k) for k in node] if isinstance(node, dict) else []


# --------------------------------------------------------------------------- entry points


def validate(raw: dict[str, Any], registry: Registry, path: Path | str) -> Scenario:
    """Validate a merged raw mapping into a :class:`Scenario`; errors name file and field."""
    try:
        return Scenario.model_validate(raw, context={"registry": registry})
    except ValidationError as err:
        field, message = _explain(err, raw)
        raise ScenarioError(path, field, message) from None


def load(
    path: Path | str,
    overrides: typing.Sequence[str] = (),
    registry: Registry | None = None,
    *,
    options: typing.Sequence[str] = (),
) -> Scenario:
    """Load, merge, override and validate a scenario file (or a shipped scenario by name,
    :func:`locate`), against ``registry`` (default: :func:`registry_folder`'s).

    ``options`` names the option that gave each override (default ``--set``): an error in a
    field an override set names that option, not the file.
    """
    path = locate(path)
    raw = _unshared(read_raw(path)) if overrides else read_raw(path)
    given = [(expr, options[i] if i < len(options) else "--set")
             for i, expr in enumerate(overrides)]
    set_paths = []
    for expr, option in given:
        parts, value = parse_set(expr, option)
        apply_override(raw, parts, value, why=f"set on the command line with {option}",
                       option=option)
        set_paths.append((".".join(parts), option))
    registry = registry or load_registry(registry_folder(path))
    try:
        return validate(raw, registry, path)
    except ScenarioError as err:
        for where, option in reversed(set_paths):
            if err.field == where or err.field.startswith(where + "."):
                raise ScenarioError(option, err.field, err.message) from None
        raise


def to_raw(scenario: Scenario) -> dict[str, Any]:
    """The scenario as plain data (values back in their YAML forms)."""
    return scenario.model_dump(mode="json", exclude_none=True)


def to_yaml(scenario: Scenario) -> str:
    """The resolved scenario as YAML (no ``extends:``; every override applied)."""
    return dump_yaml(to_raw(scenario))


def digest(scenario: Scenario) -> str:
    """sha256 of the resolved scenario's canonical YAML."""
    return hashlib.sha256(to_yaml(scenario).encode()).hexdigest()


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def values(obj: Any, prefix: str = "") -> typing.Iterator[tuple[str, Value]]:
    """Every :class:`Value` in a validated scenario, with its dotted path."""
    if isinstance(obj, Value):
        yield prefix, obj
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from values(getattr(obj, name), f"{prefix}.{name}" if prefix else name)
    elif isinstance(obj, dict):
        for key, item in obj.items():
            yield from values(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            yield from values(item, f"{prefix}[{i}]")


def parameters(sc: Scenario) -> dict[str, dict[str, object]]:
    """Every resolved substantive value by field path, with its provenance."""
    out: dict[str, dict[str, object]] = {}
    for path, v in values(sc):
        entry: dict[str, object] = {"value": v.value}
        if v.ref is not None:
            entry["ref"] = v.ref
        if v.scale != 1.0:
            entry["scale"] = v.scale
        if v.why is not None:
            entry["why"] = v.why
        out[path] = entry
    return out


def check_files(paths: typing.Sequence[Path], overrides: typing.Sequence[str] = (),
                facts: Path | None = None) -> str:
    """Validate scenario files (with overrides) without running them: one ``ok:`` line each.

    ``facts`` names the registry folder (default: the one each file finds).

    Raises:
        ScenarioError: at the first invalid file, naming it and the field.
    """
    registry = load_registry(facts) if facts is not None else None
    lines = []
    for path in paths:
        sc = load(path, overrides, registry)
        lines.append(f"ok: {path} ({sc.name}: {len(sc.states)} states, {len(sc.powers)} powers, "
                     f"{len(sc.events)} events)")
    return "\n".join(lines)
