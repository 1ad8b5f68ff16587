"""Event kinds of a scenario's timeline: each kind's schema, code checks and effect, together.

An event is a dated change the timeline knows in advance (a summit, a sanction, a base that
opens). Each kind is one class here, registered with :func:`event_kind`, and holds all there is
to know about it:

- its fields (a frozen pydantic model; ``type`` is the tag scenario files write, ``date`` when
  it happens; more than one tag may share a class, e.g. ``trade`` and ``remittances``);
- :meth:`EventKind.codes`: the state and power codes it names, which the scenario validator
  checks against the scenario's own (an unknown code is an error naming the field);
- :meth:`EventKind.apply`: its effect on the :class:`Timeline`, the arrays over rounds that
  :func:`sim.model.params.build` turns into the model's inputs.

The registry :data:`KINDS` (tag -> class) is what everything else reads: :data:`Event`, the
discriminated union that ``Scenario.events`` is typed with, :data:`TAGS`, which error
messages list, and :func:`play`, which applies a scenario's events in date order.

To add an event kind, write one class below, decorated with ``@event_kind``::

    @event_kind
    class Suspension(EventKind):
        \"\"\"A state's membership of an organisation is suspended (it stops counting).\"\"\"

        type: Literal["suspension"]
        date: date
        state: Code
        org: str

        def codes(self) -> list[CodeRef]:
            return [("state", [self.state], "state")]

        def apply(self, tl: Timeline, r0: int) -> None:
            for r in range(r0, tl.rounds + 1):
                tl.memberships[r][self.state].discard(self.org)

then describe it in docs/ODD.md (a test checks that every tag is documented). Nothing else
needs to change: the schema, the validator, error messages and the timeline pick it up.
"""

from __future__ import annotations

import datetime as dt
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal, Union

import numpy as np
from pydantic import Field, model_validator

from sim.core.calendar import add_months, years_between
from sim.core.numeric import power
from sim.scenario.quantity import (
    Code,
    Factor,
    Frozen,
    Money,
    PositiveMoney,
    Share,
    Shift,
    SourceId,
    Utility,
)

#: ``(field, codes, "state" | "power")``: codes an event names, for the scenario validator.
CodeRef = tuple[str, list[str], Literal["state", "power"]]


@dataclass
class Timeline:
    """What events change, as arrays over round boundaries (row ``r``: the end of round ``r``).

    Built by :func:`sim.model.params.build` with every row at its starting value; an event's
    :meth:`EventKind.apply` changes the rows from its first round on. ``S`` states, ``P``
    powers, ``R`` rounds.

    For a batch of parameter sets (:mod:`sim.runs.batch`) every array but ``neutral`` carries one
    more axis, last, over the points (``points``: its length, 1 or the batch's), and an event's
    values may be arrays over the points. An event then indexes the leading axes only, so its
    values apply point by point; a vector over rounds goes through :meth:`per_round` to meet
    them, and a number is raised to a power with :func:`sim.core.numeric.power`. Every event kind is
    checked this way (a batch must equal its points built one by one, bit for bit).

    Attributes:
        dates: the ``R + 1`` round boundaries.
        months_per_round: length of a round.
        states, powers: codes, in scenario order (the arrays' axes).
        summit_decay: share of a summit's boost lost each round (see :meth:`faded`).
        capacity: ``(R+1, P)`` multiplier on each power's capacity to deliver.
        security: ``(R+1, S, P)`` security ties in [0, 1].
        sec_salience, debt_salience: ``(R+1, S)`` multipliers on the security and debt weights.
        boost: ``(R+1, S, P)`` summit boosts and shifts in relations (utility points).
        trade, remittances: ``(R+1, S, P)`` multipliers on the ties (the starting ones, or
            the level last set by a ``level_usd_bn`` event).
        trade_level, remittance_level: ``(R+1, S, P)`` ties set by ``level_usd_bn`` events,
            in US dollars of the start's GDP (the level over the GDP when it was set, times
            the starting GDP); NaN where no level was set (the starting tie holds).
        memberships: per row, each state's set of organisations.
        gdp: ``(R+1, S)`` GDP in USD bn: the starting GDP grown at ``growth``, through the
            levels that ``gdp`` events set (geometric interpolation between them).
        growth: ``(S,)`` yearly growth of GDP after its last known level.
        neutral: ``(R+1, S)`` whether each state is neutral (``neutrality`` events).
        points: the axes over points of a batch (``()`` for one scenario, else ``(1,)`` or
            ``(N,)``).
    """

    dates: list[date]
    months_per_round: int
    states: list[str]
    powers: list[str]
    summit_decay: float | np.ndarray
    capacity: np.ndarray
    security: np.ndarray
    sec_salience: np.ndarray
    debt_salience: np.ndarray
    boost: np.ndarray
    trade: np.ndarray
    remittances: np.ndarray
    memberships: list[dict[str, set[str]]]
    gdp: np.ndarray
    growth: np.ndarray
    neutral: np.ndarray
    points: tuple[int, ...] = ()
    trade_level: np.ndarray = field(init=False)
    remittance_level: np.ndarray = field(init=False)
    #: per state, the last GDP level known: (years since the start, USD bn)
    gdp_known: list[tuple[float, float | np.ndarray]] = field(init=False)

    def __post_init__(self) -> None:
        S, P = len(self.states), len(self.powers)
        self.trade_level = np.full((self.rounds + 1, S, P, *self.points), np.nan)
        self.remittance_level = np.full((self.rounds + 1, S, P, *self.points), np.nan)
        self.gdp_known = [
            (0.0, self.gdp[0, s].copy() if self.points else float(self.gdp[0, s])) for s in range(S)
        ]

    def per_round(self, x: np.ndarray) -> np.ndarray:
        """A vector over rounds ``(k,)`` shaped to meet a batch's values: ``(k, 1)``."""
        return x.reshape(-1, *(1,) * len(self.points))

    @property
    def years(self) -> np.ndarray:
        """``(R+1,)`` years from the start to each round boundary."""
        return np.array([years_between(self.dates[0], d) for d in self.dates])

    @property
    def rounds(self) -> int:
        return len(self.dates) - 1

    def faded(self, rounds: int) -> float | np.ndarray:
        """Share of a summit's boost left after ``rounds`` rounds: ``(1 - decay) ** rounds``."""
        return power(1 - self.summit_decay, rounds)

    def state(self, code: str) -> int:
        """Index of a state code."""
        return self.states.index(code)

    def power(self, code: str) -> int:
        """Index of a power code."""
        return self.powers.index(code)

    def state_indices(self, codes: list[str] | Literal["all"]) -> list[int]:
        """Indices of the listed states, or of every state for ``"all"``."""
        return list(range(len(self.states))) if codes == "all" else [self.state(c) for c in codes]

    def first_round(self, when: date) -> int:
        """The first round whose end is after ``when`` (``R + 1``: after the horizon)."""
        for r in range(1, self.rounds + 1):
            if self.dates[r] > when:
                return r
        return self.rounds + 1

    def rounds_before_start(self, when: date) -> int:
        """Round boundaries between a date before the start and the start (0 after it)."""
        k = 0
        while when < add_months(self.dates[0], -self.months_per_round * k):
            k += 1
        return k


class EventKind(Frozen):
    """Base of every event kind: what the timeline and the validator ask of an event."""

    type: str
    date: date
    source: SourceId | None = Field(
        default=None, description="registry id of the fact (with its document) recording it"
    )
    #: Events play in order of (phase, date): the size of the economy (phase 0) first, so that
    #: events converting money to shares of GDP read the final GDP path.
    phase: ClassVar[int] = 1

    def codes(self) -> list[CodeRef]:
        """The state and power codes this event names, by field."""
        raise NotImplementedError

    def calendar_problem(self, start: dt.date, end: dt.date) -> str | None:
        """Why this event's date does not fit a calendar from ``start`` to ``end`` (or None).

        Any event may predate the start (it applies from the first round); none may come after
        the end.
        """
        if self.date > end:
            return (
                f"{self.date} is after the calendar's end ({end}); expected a date up to "
                "time.end (earlier dates apply from the first round)"
            )
        return None

    def apply(self, tl: Timeline, r0: int) -> None:
        """Change the timeline from round ``r0`` (its first round, ``1 <= r0 <= R``) on."""
        raise NotImplementedError


#: Every event kind by tag (the ``type`` written in scenario files).
KINDS: dict[str, type[EventKind]] = {}

_K = typing.TypeVar("_K", bound=EventKind)


def event_kind(cls: type[_K]) -> type[_K]:
    """Register an event kind under each tag its ``type`` field allows."""
    for tag in typing.get_args(cls.model_fields["type"].annotation):
        if tag in KINDS:
            raise ValueError(f"event type {tag!r} is registered twice")
        KINDS[tag] = cls
    return cls


@event_kind
class Summit(EventKind):
    """A summit: a diplomatic boost to the host for each attending state (decays).

    ``attendance`` weighs each attending state's boost by its level (a president, deputies);
    ``absent`` lists invited states that stayed away, each with the share of a full boost it
    loses instead (a cool signal, decaying like a boost). A state is in one of the two at most.
    """

    type: Literal["summit"]
    date: date
    host: Code
    attendance: dict[Code, Share]
    absent: dict[Code, Share] = Field(
        default_factory=dict,
        description="invited states that stayed away: state -> share of a boost lost",
    )
    boost: Utility

    @model_validator(mode="after")
    def _one_place(self) -> Summit:
        both = sorted(set(self.attendance) & set(self.absent))
        if both:
            raise ValueError(
                f"absent: {', '.join(both)} also in attendance; expected one or the other"
            )
        return self

    def codes(self) -> list[CodeRef]:
        return [
            ("host", [self.host], "power"),
            ("attendance", list(self.attendance), "state"),
            ("absent", list(self.absent), "state"),
        ]

    def apply(self, tl: Timeline, r0: int) -> None:
        age = tl.rounds_before_start(self.date)  # a summit before the start has already faded
        host = tl.power(self.host)
        signals = [(s, att.value) for s, att in self.attendance.items()]
        signals += [(s, -cool.value) for s, cool in self.absent.items()]
        for s, weight in signals:
            for r in range(r0, tl.rounds + 1):
                tl.boost[r, tl.state(s), host] += (
                    self.boost.value * weight * tl.faded(r - r0 + age)
                )


@event_kind
class CapacityShock(EventKind):
    """A lasting change in a power's capacity to deliver (sanctions, war, boom)."""

    type: Literal["capacity"]
    date: date
    power: Code
    factor: Factor

    def codes(self) -> list[CodeRef]:
        return [("power", [self.power], "power")]

    def apply(self, tl: Timeline, r0: int) -> None:
        tl.capacity[r0:, tl.power(self.power)] *= self.factor.value


@event_kind
class SalienceShock(EventKind):
    """A lasting change in how much states weigh security ties or debt."""

    type: Literal["security_salience", "debt_salience"]
    date: date
    states: list[Code] | Literal["all"] = "all"
    factor: Factor

    def codes(self) -> list[CodeRef]:
        return [] if self.states == "all" else [("states", self.states, "state")]

    def apply(self, tl: Timeline, r0: int) -> None:
        target = tl.sec_salience if self.type == "security_salience" else tl.debt_salience
        target[r0:, tl.state_indices(self.states)] *= self.factor.value


@event_kind
class MembershipChange(EventKind):
    """A state joins, leaves or suspends its membership of an organisation.

    A suspended membership stops counting among the state's memberships, as if it had left;
    ``join`` restores it.
    """

    type: Literal["membership"]
    date: date
    state: Code
    org: str
    action: Literal["join", "leave", "suspend"]

    def codes(self) -> list[CodeRef]:
        return [("state", [self.state], "state")]

    def apply(self, tl: Timeline, r0: int) -> None:
        for r in range(r0, tl.rounds + 1):
            orgs = tl.memberships[r][self.state]
            (orgs.add if self.action == "join" else orgs.discard)(self.org)


@event_kind
class SecurityTie(EventKind):
    """A state's security tie to a power is set to a new level (a base opens or closes)."""

    type: Literal["security_tie"]
    date: date
    state: Code
    power: Code
    level: Share

    def codes(self) -> list[CodeRef]:
        return [("state", [self.state], "state"), ("power", [self.power], "power")]

    def apply(self, tl: Timeline, r0: int) -> None:
        tl.security[r0:, tl.state(self.state), tl.power(self.power)] = self.level.value


@event_kind
class TiesShock(EventKind):
    """A lasting change in the states' trade or remittances with one power.

    Either a ``factor`` (a corridor opens, a rouble falls; factors of several shocks
    multiply) or a new ``level_usd_bn`` a year, observed at the event's date (a trade
    statistic of a later year). A level becomes a share of the GDP of the round it takes
    effect in, held at that share of GDP afterwards (as the starting ties are); later factors
    multiply it.
    """

    type: Literal["trade", "remittances"]
    date: date
    power: Code
    states: list[Code] | Literal["all"] = "all"
    factor: Factor | None = None
    level_usd_bn: Money | None = None

    @model_validator(mode="after")
    def _one_change(self) -> TiesShock:
        if (self.factor is None) == (self.level_usd_bn is None):
            raise ValueError("give either 'factor' (a multiplier) or 'level_usd_bn' (a new level)")
        if self.level_usd_bn is not None and (self.states == "all" or len(self.states) != 1):
            raise ValueError("'level_usd_bn' is one state's tie: expected 'states' with one code")
        return self

    def codes(self) -> list[CodeRef]:
        out: list[CodeRef] = [("power", [self.power], "power")]
        if self.states != "all":
            out.append(("states", self.states, "state"))
        return out

    def apply(self, tl: Timeline, r0: int) -> None:
        ties = tl.trade if self.type == "trade" else tl.remittances
        idx, p = tl.state_indices(self.states), tl.power(self.power)
        if self.factor is not None:
            ties[r0:, idx, p] *= self.factor.value
            return
        assert self.level_usd_bn is not None  # checked by the schema
        level = tl.trade_level if self.type == "trade" else tl.remittance_level
        s = idx[0]
        level[r0:, s, p] = self.level_usd_bn.value * tl.gdp[0, s] / tl.gdp[r0, s]
        ties[r0:, s, p] = 1.0


@event_kind
class Relation(EventKind):
    """A lasting shift in one state's relation with one power (sanctions, a crisis, a treaty).

    ``shift`` (log-odds, either sign) is added to the state's utility of the power from the
    event's first round; with ``decay`` it fades by that share each round, like a summit.
    """

    type: Literal["relation"]
    date: date
    state: Code
    power: Code
    shift: Shift
    decay: Share | None = None

    def codes(self) -> list[CodeRef]:
        return [("state", [self.state], "state"), ("power", [self.power], "power")]

    def apply(self, tl: Timeline, r0: int) -> None:
        fade = 0.0 if self.decay is None else self.decay.value
        age = tl.rounds_before_start(self.date)
        s, p = tl.state(self.state), tl.power(self.power)
        for r in range(r0, tl.rounds + 1):
            tl.boost[r, s, p] += self.shift.value * power(1.0 - fade, r - r0 + age)


@event_kind
class Neutrality(EventKind):
    """A state declares (or gives up) permanent neutrality: from then on it discounts the pull
    of security and bloc ties by ``dynamics.neutral_discount``."""

    type: Literal["neutrality"]
    date: date
    state: Code
    neutral: bool = True

    def codes(self) -> list[CodeRef]:
        return [("state", [self.state], "state")]

    def apply(self, tl: Timeline, r0: int) -> None:
        tl.neutral[r0:, tl.state(self.state)] = self.neutral


@event_kind
class GdpLevel(EventKind):
    """A state's GDP (USD bn) at a date after the start, from a statistic of that year.

    Between the start (or the previous level) and this one GDP moves geometrically; after the
    last level it grows at the state's ``growth_per_year``. GDP events play first, so that
    money and ties are measured against the final GDP path.
    """

    type: Literal["gdp"]
    date: date
    state: Code
    gdp_usd_bn: PositiveMoney
    phase: ClassVar[int] = 0

    def codes(self) -> list[CodeRef]:
        return [("state", [self.state], "state")]

    def calendar_problem(self, start: dt.date, end: dt.date) -> str | None:
        if self.date <= start:
            return (
                f"{self.date} is not after the start ({start}); the starting GDP is the state's "
                "gdp_usd_bn"
            )
        return super().calendar_problem(start, end)

    def apply(self, tl: Timeline, r0: int) -> None:
        s = tl.state(self.state)
        level = self.gdp_usd_bn.value
        t_prev, v_prev = tl.gdp_known[s]
        t_new = years_between(tl.dates[0], self.date)
        years = tl.years
        between = (years > t_prev) & (years < t_new)
        tl.gdp[between, s] = v_prev * (level / v_prev) ** tl.per_round(
            (years[between] - t_prev) / (t_new - t_prev)
        )
        after = years >= t_new
        tl.gdp[after, s] = level * (1.0 + tl.growth[s]) ** tl.per_round(years[after] - t_new)
        tl.gdp_known[s] = (t_new, level)


@event_kind
class LeaderChange(EventKind):
    """A state's leader changes: the shifts in relations the predecessor built up are partly
    reset, and the successor may open (or cool) toward some powers.

    ``carryover`` is the share of the state's accumulated summit boosts and relation shifts
    (every earlier ``summit``, ``relation`` and ``leader_change`` effect on it, with their
    fading tails) that the new leader keeps: 1 is full continuity, 0 a clean slate. ``shifts``
    then adds the successor's own stance toward listed powers (log-odds, either sign), fading
    by ``decay`` a round if given. Nothing else about the state changes: its inertia, weights,
    ties and memberships are its own, not its leader's.
    """

    type: Literal["leader_change"]
    date: date
    state: Code
    carryover: Share
    shifts: dict[Code, Shift] = Field(default_factory=dict)
    decay: Share | None = None

    def codes(self) -> list[CodeRef]:
        out: list[CodeRef] = [("state", [self.state], "state")]
        if self.shifts:
            out.append(("shifts", list(self.shifts), "power"))
        return out

    def apply(self, tl: Timeline, r0: int) -> None:
        s = tl.state(self.state)
        tl.boost[r0:, s] *= self.carryover.value
        fade = 0.0 if self.decay is None else self.decay.value
        age = tl.rounds_before_start(self.date)
        for code, shift in self.shifts.items():
            p = tl.power(code)
            for r in range(r0, tl.rounds + 1):
                tl.boost[r, s, p] += shift.value * power(1.0 - fade, r - r0 + age)


@event_kind
class RemittanceShock(EventKind):
    """Remittances from one power to a set of states scaled by a factor (a currency's fall, a
    recession, a migration rule), to ``end`` if given (then the factor is undone), else for
    good (until a later ``remittances`` level resets the tie).
    """

    type: Literal["remittance_shock"]
    date: date
    power: Code
    states: list[Code] | Literal["all"] = "all"
    factor: Factor
    end: dt.date | None = None

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> RemittanceShock:
        if self.end is not None and self.end <= self.date:
            raise ValueError(f"'end' ({self.end}) must be after 'date' ({self.date})")
        return self

    def codes(self) -> list[CodeRef]:
        out: list[CodeRef] = [("power", [self.power], "power")]
        if self.states != "all":
            out.append(("states", self.states, "state"))
        return out

    def apply(self, tl: Timeline, r0: int) -> None:
        stop = tl.rounds + 1 if self.end is None else tl.first_round(self.end)
        idx, p = tl.state_indices(self.states), tl.power(self.power)
        tl.remittances[r0:stop, idx, p] *= self.factor.value


@event_kind
class Sanctions(EventKind):
    """A sanctions regime on a power, imposed by others: its capacity to deliver and its trade
    with the listed states (every state by default) are scaled by factors, for good.

    Give ``capacity``, ``trade`` or both. The same kind expresses a power's own coercion of a
    state where it works through trade (an embargo, a gas or transit cut-off, a closed
    border): ``trade`` below one on the ties of the states it hits, with ``imposed_by`` naming
    the power the tie is with.
    """

    type: Literal["sanctions"]
    date: date
    power: Code
    imposed_by: list[Code] = Field(min_length=1)
    states: list[Code] | Literal["all"] = "all"
    capacity: Factor | None = None
    trade: Factor | None = None

    @model_validator(mode="after")
    def _some_effect(self) -> Sanctions:
        if self.capacity is None and self.trade is None:
            raise ValueError("give 'capacity', 'trade' or both (factors)")
        if self.power in self.imposed_by:
            raise ValueError(f"'imposed_by' names the sanctioned power {self.power} itself")
        return self

    def codes(self) -> list[CodeRef]:
        out: list[CodeRef] = [
            ("power", [self.power], "power"), ("imposed_by", self.imposed_by, "power")
        ]
        if self.states != "all":
            out.append(("states", self.states, "state"))
        return out

    def apply(self, tl: Timeline, r0: int) -> None:
        p = tl.power(self.power)
        if self.capacity is not None:
            tl.capacity[r0:, p] *= self.capacity.value
        if self.trade is not None:
            tl.trade[r0:, tl.state_indices(self.states), p] *= self.trade.value


#: Every event tag, sorted (for messages).
TAGS: tuple[str, ...] = tuple(sorted(KINDS))

if TYPE_CHECKING:
    Event = EventKind
else:
    #: One event of any registered kind, told apart by its ``type``.
    Event = Annotated[
        Union[tuple(dict.fromkeys(KINDS.values()))],  # noqa: UP007
        Field(discriminator="type"),
    ]


def play(events: Iterable[EventKind], tl: Timeline) -> None:
    """Apply events to the timeline in date order (events of one date in the order given).

    A dated change applies from the first round whose end is after its date; events dated
    after the horizon do nothing, and events before the start apply from the first round.
    Events that set the size of the economy (``phase`` 0) play before all others.
    """
    for ev in sorted(events, key=lambda e: (e.phase, e.date)):
        r0 = tl.first_round(ev.date)
        if r0 <= tl.rounds:
            ev.apply(tl, r0)
