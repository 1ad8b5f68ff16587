"""From a validated :class:`~sim.scenario.schema.Scenario` to frozen arrays the rules work on.

Everything the timeline decides in advance (GDP paths, money scheduled per round, capacity,
salience, summit boosts, memberships, security ties) is precomputed here as arrays over
rounds, so the round itself only does what depends on the state and on chance.

Shapes: ``S`` states, ``P`` powers, ``I`` instruments, ``R`` rounds; arrays over time have
``R + 1`` rows (row 0 is the starting point, row ``r`` the end of round ``r``).

Batches. A scenario whose varied values hold one number per parameter set ("point") instead of
a number (:func:`sim.runs.batch.patched`) builds into one :class:`Params` for ``N`` points at once.
Every array but the structural ones (:data:`STRUCTURAL`) gains an axis over the points, after
its axis over rounds if it has one and before the rest: ``(N, ...)`` or ``(R+1, N, ...)``, of
length 1 where it is the same for every point; every number of :data:`NUMBERS` becomes an
array ``(N, 1, 1)``. These broadcast against the engine's ``(replicate, point, state, power)``
arrays. The expressions are the same as for one scenario, evaluated element by element over the
points, sums run in the same order, and every power of a single number is taken with Python's
own ``**`` as for one scenario: :meth:`Params.point` is exactly ``build`` of point ``i``'s own
scenario (a test checks every field, bit for bit).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from operator import attrgetter
from typing import Any

import numpy as np

from sim.core.calendar import max_rounds, round_dates, years_between
from sim.core.errors import SettingError
from sim.model import rng, rules
from sim.scenario import events
from sim.scenario.schema import BINDING_KINDS, ORGANISATION_KINDS, Allocation, Scenario, values

KINDS = ("grant", "loan", "investment", "corridor")

#: Arrays over rounds (their first axis): in a batch ``(R+1, N, ...)``.
OVER_ROUNDS = frozenset(
    {
        "gdp", "econ_ratio", "security", "institutions", "neutral_factor", "sec_salience",
        "debt_salience", "boost", "capacity", "amount", "u_fixed", "planned",
    }
)  # fmt: skip
#: Numbers of the round: in a batch ``(N, 1, 1)`` arrays.
NUMBERS = frozenset(
    {"beta", "sd_utility", "sd_delivery", "memory", "econ_scale", "repay_per_round"}
)
#: Arrays fixed by the scenario's structure (codes, kinds, strategies): never batched.
STRUCTURAL = frozenset(
    {"inst_power", "onehot", "is_loan", "is_gap", "noise_power_pos", "noise_state_pos"}
)

Number = float | np.ndarray  # one number, or one per point of a batch


@dataclass(frozen=True)
class Params:
    """Arrays of one scenario, or of a batch of points (see module docstring for shapes)."""

    name: str
    seed: int
    states: list[str]
    powers: list[str]
    dates: list[date]
    rounds_per_year: float
    # states
    gdp: np.ndarray  # (R+1, S) USD bn
    econ0_ratio: np.ndarray  # (S, P) (trade + remittances) / GDP at start
    econ_ratio: np.ndarray  # (R+1, S, P) the same after trade and remittance events
    debt0_ratio: np.ndarray  # (S, P) debt / GDP at start
    debt0: np.ndarray  # (S, P) USD bn
    security: np.ndarray  # (R+1, S, P) security ties in [0, 1]
    institutions: np.ndarray  # (R+1, S, P) institutional index of shared ties (ODD 7.3)
    neutral_factor: np.ndarray  # (R+1, S) share of security and binding ties weighed
    w_econ: np.ndarray
    w_sec: np.ndarray
    w_inst: np.ndarray
    w_debt: np.ndarray
    w_hedge: np.ndarray
    kappa: np.ndarray  # (S,) peer weight
    lam: np.ndarray  # (S,) inertia
    theta: np.ndarray  # (S,) stubbornness
    sec_salience: np.ndarray  # (R+1, S)
    debt_salience: np.ndarray  # (R+1, S)
    boost: np.ndarray  # (R+1, S, P)
    anchor: np.ndarray  # (S, P)
    log_anchor: np.ndarray  # (S, P)
    peers: np.ndarray  # (S, S) rows sum to 1 (0 on the diagonal)
    region_w: np.ndarray  # (S,)
    # powers
    capacity: np.ndarray  # (R+1, P)
    reactivity: np.ndarray  # (P,)
    share0: np.ndarray  # (P,)
    # instruments
    instruments: list[str]  # "POWER.name"
    inst_power: np.ndarray  # (I,) int
    onehot: np.ndarray  # (I, P)
    routing: np.ndarray  # (I, 4P): money delivered, value, loans (face), loans' burden by power
    amount: np.ndarray  # (R+1, I) USD bn scheduled in each round (row 0 is zero)
    delivery: np.ndarray  # (I,)
    value_factor: np.ndarray  # (I,)
    is_loan: np.ndarray  # (I,) float 0/1
    is_gap: np.ndarray  # (I,) bool
    static_alloc: np.ndarray  # (S, I) each column sums to 1
    # dynamics (numbers; arrays (N, 1, 1) in a batch)
    beta: Number
    sd_utility: Number
    sd_delivery: Number
    memory: Number
    econ_scale: Number
    repay_per_round: Number
    u0: np.ndarray = field(repr=False)  # (S, P) utility at the start
    u_fixed: np.ndarray = field(
        repr=False
    )  # (R+1, S, P) utility terms fixed by the timeline, less u0
    noise_power_pos: np.ndarray = field(repr=False)  # (P,) rank of each power code
    noise_state_pos: np.ndarray = field(repr=False)  # (S,) rank of each state code
    #: number of points of a batch (None: one scenario)
    points: int | None = None
    # derived on construction (also after dataclasses.replace): planned money of the
    # instruments with a fixed split, by round, state and measure-power (delivered, value,
    # loans), before the delivery shock
    planned: np.ndarray = field(init=False, repr=False)  # (R+1, S, 3P)

    def __post_init__(self) -> None:
        capacity = self.capacity
        constant = self.points is not None and capacity.shape[1] > 1
        if constant and (capacity == capacity[:, :1]).all():
            # the same capacity at every point (nothing swept moves it): plan the money once,
            # with the same numbers each point would get, and let it broadcast over the points
            capacity = capacity[:, :1]
        budget = self.amount * self.delivery * capacity[..., self.inst_power]  # (R+1, I)
        fixed = budget[..., None, :] * self.static_alloc * ~self.is_gap
        object.__setattr__(self, "planned", fixed @ self.routing)

    @property
    def rounds(self) -> int:
        return len(self.dates) - 1

    def point(self, i: int) -> Params:
        """Point ``i`` of a batch as the arrays of one scenario (itself if not a batch)."""
        if self.points is None:
            return self
        if not 0 <= i < self.points:
            raise IndexError(f"point {i} of a batch of {self.points}")
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if not f.init:
                continue
            v = getattr(self, f.name)
            if f.name == "points":
                v = None
            elif f.name in NUMBERS:
                v = float(v.reshape(-1)[min(i, v.size - 1)])
            elif isinstance(v, np.ndarray) and f.name not in STRUCTURAL:
                axis = 1 if f.name in OVER_ROUNDS else 0
                v = np.ascontiguousarray(np.take(v, min(i, v.shape[axis] - 1), axis=axis))
            out[f.name] = v
        return Params(**out)

    def resolved(self) -> dict[str, Any]:
        """Every derived array as plain lists (for the manifest)."""
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            if isinstance(value, np.ndarray):
                out[key] = value.tolist()
            elif isinstance(value, list):
                out[key] = [str(v) for v in value]
            else:
                out[key] = value
        return out


def points_of(sc: Scenario) -> int | None:
    """The number of points of a batch scenario (None: every value is a number).

    Raises:
        ValueError: if two values hold different numbers of points.
    """
    found: set[int] = set()
    for _, v in values(sc):
        number: object = v.value  # an array over points in a batch (sim.runs.batch.patched)
        if isinstance(number, np.ndarray):
            found.add(len(number))
    if len(found) > 1:
        raise ValueError(f"values of a batch hold different numbers of points: {sorted(found)}")
    return found.pop() if found else None


def _weights(alloc: Allocation, sc: Scenario) -> list[Number]:
    """A static allocation's weights over the states, before they are scaled to sum to 1."""
    codes = sc.state_codes
    if alloc.strategy == "fixed":
        assert alloc.shares is not None  # checked by the schema
        return [alloc.shares[c].value if c in alloc.shares else 0.0 for c in codes]
    if alloc.strategy == "gdp":
        return [sc.states[c].gdp_usd_bn.value for c in codes]
    if alloc.strategy == "resources":
        return [sc.states[c].resources.value for c in codes]
    return [1.0] * len(codes)  # equal, and the starting point of gap


def _split(w: np.ndarray) -> np.ndarray:
    """Weights over the states ``(..., S)`` scaled to sum to 1 (equal shares if they are 0)."""
    total = w.sum(axis=-1, keepdims=True)
    even = np.ones(w.shape[-1])
    even = even / even.sum()
    out: np.ndarray = np.divide(
        w, total, out=np.broadcast_to(even, w.shape).copy(), where=total > 0
    )
    return out


@dataclass(frozen=True)
class _Points:
    """How a scenario's numbers become arrays. With ``N`` points (a batch) every array of the
    leaves and the timeline has the points as its last axis, of length ``N`` where a value it
    depends on varies (1 elsewhere), so that a value over points meets each array it changes
    element by element, in the events' code too; ``N`` None: one scenario, no such axis."""

    N: int | None

    @property
    def axis(self) -> tuple[int, ...]:
        """The points' axis of a constant."""
        return () if self.N is None else (1,)

    def width(self, xs: Sequence[Number]) -> tuple[int, ...]:
        if self.N is None:
            return ()
        return (self.N,) if any(isinstance(x, np.ndarray) for x in xs) else (1,)

    def stack(self, xs: Sequence[Number]) -> np.ndarray:
        """Numbers (or arrays over points) as one array ``(len(xs), *points)``."""
        if self.N is None:
            return np.array([float(x) for x in xs])
        out = np.empty((len(xs), *self.width(xs)))
        for i, x in enumerate(xs):
            out[i] = x
        return out

    def per_state(self, sc: Scenario, fn: Callable[[Any], Number]) -> np.ndarray:
        return self.stack([fn(sc.states[c]) for c in sc.state_codes])

    def tie(self, sc: Scenario, field_name: str) -> np.ndarray:
        """``(S, P, *points)``: one field of the states' ties to the powers (0 where none)."""
        si = {c: i for i, c in enumerate(sc.state_codes)}
        pi = {c: i for i, c in enumerate(sc.power_codes)}
        cells: dict[tuple[int, int], Number] = {}
        for s, st in sc.states.items():
            for p, tie_ in st.ties.items():
                v = getattr(tie_, field_name)
                if v is not None:
                    cells[si[s], pi[p]] = v.value
        out = np.zeros((len(sc.states), len(sc.powers), *self.width(list(cells.values()))))
        for cell, v in cells.items():
            out[cell] = v
        return out

    # Derived arrays. A batch's points move in front of the entity axes (after the axis over
    # rounds), so the rules see the shapes they are written for, with leading axes; the arrays
    # are C-ordered here, so that every sum runs in the order of a single scenario's.
    def lead(self, x: np.ndarray, over_rounds: bool = False) -> np.ndarray:
        if self.N is None:
            return x
        return np.ascontiguousarray(np.moveaxis(x, -1, 1 if over_rounds else 0))

    def lead_number(self, x: Number) -> Number:
        if self.N is None:
            return x
        return np.asarray(x, dtype=float).reshape(-1, 1, 1).copy()


@dataclass(frozen=True)
class _Instruments:
    """Every power's instruments, in order, before the points lead: names, owners, money
    scheduled ``(R+1, *points)`` each, and their terms."""

    names: list[str]
    power: np.ndarray
    amount_cols: list[np.ndarray]
    delivery: list[Number]
    value_factor: list[Number]
    is_loan: list[float]
    is_gap: list[bool]
    static: list[np.ndarray]


def build(sc: Scenario, rounds: int | None = None) -> Params:
    """Arrays for a scenario; ``rounds`` overrides the number of rounds the calendar gives (at
    most :func:`sim.core.calendar.max_rounds`: a SettingError beyond).

    A batch scenario (values holding one number per point) builds into a batch (see the module
    docstring). Its instruments' periods must be numbers: a period moves an end date, which
    changes which rounds carry money (:mod:`sim.runs.batch` builds such points one by one).

    In steps: the calendar (:func:`_dates`), the leaves and the events' timeline
    (:func:`_timeline`), the peers (:func:`_peers`) and instruments (:func:`_instruments`),
    then the derived arrays and the utility at the start (:func:`_derived`).
    """
    pts = _Points(points_of(sc))
    dates = _dates(sc, rounds)
    R = len(dates) - 1
    years = np.array([years_between(sc.time.start, d) for d in dates]).reshape(-1, *pts.axis)
    gdp0 = pts.per_state(sc, lambda s: s.gdp_usd_bn.value)
    growth = pts.per_state(sc, lambda s: s.growth_per_year.value)
    sec0 = pts.tie(sc, "security")
    tl = _timeline(sc, pts, dates, gdp0, growth, sec0, years)
    # (R+1, S): the share of security and binding ties each state weighs (less when neutral)
    discount = sc.dynamics.neutral_discount.value
    neutral_factor = np.where(tl.neutral.reshape(R + 1, len(sc.states), *pts.axis),
                              1.0 - discount, 1.0)
    trend = pts.stack([sc.powers[p].capacity_trend_per_year.value for p in sc.power_codes])
    capacity = tl.capacity * (1.0 + trend[None, :]) ** years[:, None]
    # ties after events: the starting tie, or the level an event set, times later factors
    trade, remit = pts.tie(sc, "trade_usd_bn"), pts.tie(sc, "remittances_usd_bn")
    trade_t = np.where(np.isnan(tl.trade_level), trade[None], tl.trade_level)
    remit_t = np.where(np.isnan(tl.remittance_level), remit[None], tl.remittance_level)
    econ_ratio = (trade_t * tl.trade + remit_t * tl.remittances) / gdp0[None, :, None]
    institutions = _institutions(sc, tl.memberships, neutral_factor, pts.axis)
    params = _derived(
        sc, pts, dates, tl, _instruments(sc, pts, dates), _peers(sc, pts),
        gdp0=gdp0, trade=trade, remit=remit, sec0=sec0, debt0=pts.tie(sc, "debt_usd_bn"),
        prio=pts.tie(sc, "priority"), econ_ratio=econ_ratio, neutral_factor=neutral_factor,
        capacity=capacity, institutions=institutions,
    )
    return params if pts.N is None else _points_fastest(params)


def _dates(sc: Scenario, rounds: int | None) -> list[date]:
    """The round boundaries: the calendar's, or ``rounds`` of them (at most the calendar's
    last possible round)."""
    t = sc.time
    most = max_rounds(t.start, t.months_per_round)
    if rounds is not None and rounds > most:
        raise SettingError(
            "rounds",
            f"expected at most {most:,} rounds of {t.months_per_round} months from {t.start} "
            f"(the calendar ends with the year 9999), found {rounds:,}",
        )
    return round_dates(t.start, t.end, t.months_per_round, rounds)


def _timeline(sc: Scenario, pts: _Points, dates: list[date], gdp0: np.ndarray,
              growth: np.ndarray, sec0: np.ndarray, years: np.ndarray) -> events.Timeline:
    """Every row at its starting value, then the events' changes (sim.scenario.events). In a
    batch its arrays are as wide as the widest of what it starts from and what events set."""
    t, d = sc.time, sc.dynamics
    R, S, P = len(dates) - 1, len(sc.states), len(sc.powers)
    states = sc.state_codes
    read = [v.value for _, v in values(sc.events)] + [d.summit_decay.value]
    Tl = pts.width(read + [x for x in (gdp0, growth, sec0) if x.shape[-1:] != (1,)])
    members = {c: set(sc.states[c].memberships) for c in states}
    neutral0 = np.array([[sc.states[c].neutral for c in states]])
    tl = events.Timeline(
        dates=dates,
        months_per_round=t.months_per_round,
        states=states,
        powers=sc.power_codes,
        summit_decay=d.summit_decay.value,
        capacity=np.ones((R + 1, P, *Tl)),
        security=np.repeat(np.broadcast_to(sec0, (S, P, *Tl))[None], R + 1, axis=0),
        sec_salience=np.ones((R + 1, S, *Tl)),
        debt_salience=np.ones((R + 1, S, *Tl)),
        boost=np.zeros((R + 1, S, P, *Tl)),
        trade=np.ones((R + 1, S, P, *Tl)),
        remittances=np.ones((R + 1, S, P, *Tl)),
        memberships=[{c: set(m) for c, m in members.items()} for _ in range(R + 1)],
        gdp=np.broadcast_to(
            gdp0[None, :] * (1.0 + growth[None, :]) ** years[:, None], (R + 1, S, *Tl)
        ).copy(),
        growth=growth,
        neutral=np.repeat(neutral0, R + 1, axis=0),
        points=Tl,
    )
    events.play(sc.events.values(), tl)
    return tl


def _peers(sc: Scenario, pts: _Points) -> np.ndarray:
    """``(S, S, *points)``: how much each state watches each other (the leader's weight, the
    rest shared evenly), before the rows are normalised."""
    states = sc.state_codes
    si = {c: i for i, c in enumerate(states)}
    S = len(states)
    lw: Number = 0.0
    if sc.peers.leader_weight is not None:
        lw = sc.peers.leader_weight.value
    peers = np.zeros((S, S, *pts.width([lw])))
    if S > 1:
        leader = sc.peers.leader
        for s in states:
            others = [q for q in states if q != s]
            for q in others:
                if leader is not None and s != leader:
                    peers[si[s], si[q]] = lw if q == leader else (1 - lw) / max(len(others) - 1, 1)
                else:
                    peers[si[s], si[q]] = 1.0 / len(others)
    return peers


def _instruments(sc: Scenario, pts: _Points, dates: list[date]) -> _Instruments:
    """Each instrument's money per round (its pledge spread evenly over its period), terms and
    static allocation."""
    d = sc.dynamics
    R = len(dates) - 1
    pi = {c: i for i, c in enumerate(sc.power_codes)}
    out = _Instruments([], np.zeros(0, dtype=np.intp), [], [], [], [], [], [])
    inst_power: list[int] = []  # the owners' indices, an array once all are read
    vf: dict[str, Number] = {
        "grant": 1.0,
        "loan": d.grant_element_loan.value,
        "investment": d.value_investment.value,
        "corridor": d.value_corridor.value * d.corridor_efficiency.value,
    }
    for p, pw in sc.powers.items():
        for name, ins in pw.instruments.items():
            alloc = ins.allocation or pw.allocation
            out.names.append(f"{p}.{name}")
            inst_power.append(pi[p])
            period = ins.period_years.value
            if isinstance(period, np.ndarray):
                raise ValueError(
                    f"powers.{p}.instruments.{name}.period_years moves an end date: "
                    "build each point's scenario on its own"
                )
            end = ins.start + timedelta(days=period * 365.25)
            col = np.zeros((R + 1, *pts.width([ins.pledged_usd_bn.value])))
            for r in range(1, R + 1):
                lo, hi = max(dates[r - 1], ins.start), min(dates[r], end)
                if hi > lo:
                    share = years_between(lo, hi)
                    col[r] = ins.pledged_usd_bn.value * share / period
            out.amount_cols.append(col)
            out.delivery.append(ins.delivery_rate.value)
            out.value_factor.append(vf[ins.kind] if ins.grant_element is None
                                    else ins.grant_element.value)
            out.is_loan.append(1.0 if ins.kind == "loan" else 0.0)
            out.is_gap.append(alloc.strategy == "gap")
            out.static.append(pts.stack(_weights(alloc, sc)))
    return dataclasses.replace(out, power=np.array(inst_power, dtype=np.intp))


def _derived(sc: Scenario, pts: _Points, dates: list[date], tl: events.Timeline,
             ins: _Instruments, peers: np.ndarray, *, gdp0: np.ndarray, trade: np.ndarray,
             remit: np.ndarray, sec0: np.ndarray, debt0: np.ndarray, prio: np.ndarray,
             econ_ratio: np.ndarray, neutral_factor: np.ndarray, capacity: np.ndarray,
             institutions: np.ndarray) -> Params:
    """The points led, then what the rules derive (the anchor, the region's weights, the
    instruments' routing, the utility at the start and its fixed terms), into :class:`Params`.

    Longer than most: it ends with the one call that names all of :class:`Params`' fields
    (about 60 lines); split, the arrays would travel between helpers field by field.
    """
    d = sc.dynamics
    S, P = len(sc.states), len(sc.powers)
    states, powers = sc.state_codes, sc.power_codes
    rpy = 12.0 / sc.time.months_per_round
    lead, lead_number = pts.lead, pts.lead_number
    n_inst = len(ins.names)
    onehot = np.zeros((n_inst, P))
    onehot[np.arange(n_inst), ins.power] = 1.0
    w_names = ("econ", "security", "institutions", "debt", "hedge", "peers")
    w = {k: pts.per_state(sc, attrgetter(f"weights.{k}.value")) for k in w_names}
    pop = pts.per_state(sc, lambda s: s.population_m.value if s.population_m is not None
                        else 0.0)
    amount = (np.stack(np.broadcast_arrays(*ins.amount_cols), axis=1) if n_inst
              else np.zeros((len(dates), 0, *pts.axis)))

    gdp0, trade, remit, sec0, debt0, prio, pop, peers = (
        lead(x) for x in (gdp0, trade, remit, sec0, debt0, prio, pop, peers)
    )
    gdp, econ_ratio, neutral_factor, capacity, amount = (
        lead(x, True) for x in (tl.gdp, econ_ratio, neutral_factor, capacity, amount)
    )
    security, sec_sal, debt_sal, boost = (
        lead(x, True) for x in (tl.security, tl.sec_salience, tl.debt_salience, tl.boost)
    )
    institutions = lead(institutions, True)
    w = {k: lead(v) for k, v in w.items()}
    if S > 1:
        peers = rules.normalise(peers)

    iw = {k: lead_number(v.value) for k, v in sc.initial.weights}
    anchor = rules.initial_alignment(
        trade, remit, sec0, institutions[0], prio, neutral_factor[0], iw
    )
    log_anchor = np.log(anchor)

    if sc.region_weighting == "gdp":
        region_w = gdp0 / gdp0.sum(axis=-1, keepdims=True)
    elif sc.region_weighting == "population":
        total = pop.sum(axis=-1, keepdims=True)
        region_w = np.divide(pop, total, out=np.full(pop.shape, 1.0 / S), where=total > 0)
    else:
        region_w = np.full((*pts.axis, S), 1.0 / S)

    splits = np.broadcast_arrays(*(_split(lead(c)) for c in ins.static))
    static_alloc = np.stack(splits, axis=-1) if n_inst else np.zeros((*pts.axis, S, 0))
    delivery_a, value_factor_a = lead(pts.stack(ins.delivery)), lead(pts.stack(ins.value_factor))
    is_loan_a = np.array(ins.is_loan)
    # a loan's value is its grant element; its burden the face less that gift (the present
    # value of the repayments), so terms decide how much a dollar of debt weighs
    burden = onehot * is_loan_a[:, None] * (1.0 - value_factor_a[..., None])
    parts = [onehot, onehot * value_factor_a[..., None], onehot * is_loan_a[:, None], burden]
    routing = np.concatenate(np.broadcast_arrays(*parts), axis=-1)

    econ_scale = lead_number(d.econ_scale.value)
    econ0_ratio = (trade + remit) / gdp0[..., None]
    debt0_ratio = debt0 / gdp0[..., None]
    u0 = rules.utility(
        anchor,
        econ0_ratio,
        security[0],
        institutions[0],
        debt0_ratio,
        np.zeros((S, P)),
        w_econ=w["econ"],
        w_sec=w["security"],
        w_inst=w["institutions"],
        w_debt=w["debt"],
        w_hedge=w["hedge"],
        neutral_factor=neutral_factor[0],
        sec_salience=np.ones(S),
        debt_salience=np.ones(S),
        capacity=np.ones(P),
        econ_scale=econ_scale,
    )
    # Utility terms the timeline fixes in advance (security, institutions, summits, start debt),
    # less the utility at the start: the round adds what depends on the state.
    u_fixed = (
        rules.utility_fixed(
            security,
            institutions,
            debt0_ratio,
            boost,
            w_sec=w["security"],
            w_inst=w["institutions"],
            w_debt=w["debt"],
            neutral_factor=neutral_factor,
            sec_salience=sec_sal,
            debt_salience=debt_sal,
            capacity=capacity,
        )
        - u0
    )
    repay = 1.0 - rules.power(1.0 - d.loan_repayment_per_year.value, 1.0 / rpy)
    return Params(
        name=sc.name,
        seed=sc.seed,
        states=states,
        powers=powers,
        dates=dates,
        rounds_per_year=rpy,
        gdp=gdp,
        econ0_ratio=econ0_ratio,
        econ_ratio=econ_ratio,
        debt0_ratio=debt0_ratio,
        debt0=debt0,
        security=security,
        institutions=institutions,
        neutral_factor=neutral_factor,
        w_econ=w["econ"],
        w_sec=w["security"],
        w_inst=w["institutions"],
        w_debt=w["debt"],
        w_hedge=w["hedge"],
        kappa=w["peers"],
        lam=lead(pts.per_state(sc, lambda s: s.inertia.value)),
        theta=lead(pts.per_state(sc, lambda s: s.stubbornness.value)),
        sec_salience=sec_sal,
        debt_salience=debt_sal,
        boost=boost,
        anchor=anchor,
        log_anchor=log_anchor,
        peers=peers,
        region_w=region_w,
        capacity=capacity,
        reactivity=lead(pts.stack([sc.powers[p].reactivity.value for p in powers])),
        share0=rules.regional_share(anchor, region_w),
        instruments=ins.names,
        inst_power=ins.power,
        onehot=onehot,
        routing=routing,
        amount=amount,
        delivery=delivery_a,
        value_factor=value_factor_a,
        is_loan=is_loan_a,
        is_gap=np.array(ins.is_gap, dtype=bool),
        static_alloc=static_alloc,
        beta=lead_number(d.sharpness.value),
        sd_utility=lead_number(d.utility_noise_sd.value),
        sd_delivery=lead_number(d.delivery_noise_sd.value),
        memory=lead_number(d.engagement_memory.value),
        econ_scale=econ_scale,
        repay_per_round=lead_number(repay),
        u0=u0,
        u_fixed=u_fixed,
        noise_power_pos=rng.canonical_positions(powers),
        noise_state_pos=rng.canonical_positions(states),
        points=pts.N,
    )


def _institutions(
    sc: Scenario,
    memberships: Sequence[dict[str, set[str]]],
    neutral_factor: np.ndarray,
    points: tuple[int, ...],
) -> np.ndarray:
    """The institutional index ``(R+1, S, P, *points)`` (ODD 7.3).

    ``INST[s, p] = sum over kinds k of c_k * g_k[s] * log2(1 + n_k[s, p])``, where ``n_k`` counts
    the organisations of kind ``k`` that state ``s`` and power ``p`` both belong to, ``c_k`` is
    the kind's weight (``dynamics.tie_weights``) and ``g_k`` the neutral factor for the binding
    kinds (alliances, bases) and 1 for the others. Ties add up, each further tie of a kind
    counting less than the one before; no tie of one power changes another power's index.
    """
    states, powers = sc.state_codes, sc.power_codes
    R1, S, P = len(memberships), len(states), len(powers)
    kind_of = sc.organisations
    k_index = {k: i for i, k in enumerate(ORGANISATION_KINDS)}
    counts = np.zeros((len(ORGANISATION_KINDS), R1, S, P))
    power_orgs = [set(sc.powers[p].memberships) for p in powers]
    for r, rows in enumerate(memberships):
        for i, s in enumerate(states):
            for j in range(P):
                for org in rows[s] & power_orgs[j]:
                    counts[k_index[kind_of[org]], r, i, j] += 1.0
    index = np.log2(1.0 + counts).reshape(len(ORGANISATION_KINDS), R1, S, P, *points)
    tw = sc.dynamics.tie_weights
    out: np.ndarray = np.zeros((R1, S, P, *points))
    for k, i in k_index.items():
        if not counts[i].any():
            continue
        term = index[i] * getattr(tw, k).value
        if k in BINDING_KINDS:
            term = term * neutral_factor[:, :, None]
        out = out + term
    return out


def _points_fastest(p: Params) -> Params:
    """The batch with each array laid out points-fastest in memory (same shapes and numbers).

    The engine's arrays are laid out with the points fastest
    (:func:`sim.model.kernel.initial_state`): a parameter laid out the same way meets them in
    long contiguous loops.
    """
    out = copy.copy(p)
    for f in dataclasses.fields(p):
        v = getattr(p, f.name)
        if not isinstance(v, np.ndarray) or f.name in STRUCTURAL or f.name in NUMBERS:
            continue
        axis = 1 if f.name in OVER_ROUNDS else 0
        if v.shape[axis] > 1:
            v = np.moveaxis(np.ascontiguousarray(np.moveaxis(v, axis, -1)), -1, axis)
        object.__setattr__(out, f.name, v)
    return out
