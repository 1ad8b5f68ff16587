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


def build(sc: Scenario, rounds: int | None = None) -> Params:
    """Arrays for a scenario; ``rounds`` overrides the number of rounds the calendar gives (at
    most :func:`sim.core.calendar.max_rounds`: a SettingError beyond).

    A batch scenario (values holding one number per point) builds into a batch (see the module
    docstring). Its instruments' periods must be numbers: a period moves an end date, which
    changes which rounds carry money (:mod:`sim.runs.batch` builds such points one by one).
    """
    N = points_of(sc)
    S, P = len(sc.states), len(sc.powers)
    states, powers = sc.state_codes, sc.power_codes
    si = {c: i for i, c in enumerate(states)}
    pi = {c: i for i, c in enumerate(powers)}
    t = sc.time
    most = max_rounds(t.start, t.months_per_round)
    if rounds is not None and rounds > most:
        raise SettingError(
            "rounds",
            f"expected at most {most:,} rounds of {t.months_per_round} months from {t.start} "
            f"(the calendar ends with the year 9999), found {rounds:,}",
        )
    dates = round_dates(t.start, t.end, t.months_per_round, rounds)
    R = len(dates) - 1
    rpy = 12.0 / t.months_per_round
    d = sc.dynamics

    # Leaves and timeline. In a batch every array here has the points as its last axis, of
    # length N where a value it depends on varies (1 elsewhere), so that a value over points
    # meets each array it changes element by element, in the events' code too.
    B: tuple[int, ...] = () if N is None else (1,)  # the points' axis of a constant

    def width(xs: Sequence[Number]) -> tuple[int, ...]:
        if N is None:
            return ()
        return (N,) if any(isinstance(x, np.ndarray) for x in xs) else (1,)

    def stack(xs: Sequence[Number]) -> np.ndarray:
        """Numbers (or arrays over points) as one array ``(len(xs), *points)``."""
        if N is None:
            return np.array([float(x) for x in xs])
        out = np.empty((len(xs), *width(xs)))
        for i, x in enumerate(xs):
            out[i] = x
        return out

    def per_state(fn: Callable[[Any], Number]) -> np.ndarray:
        return stack([fn(sc.states[c]) for c in states])

    years = np.array([years_between(t.start, d) for d in dates]).reshape(-1, *B)
    gdp0 = per_state(lambda s: s.gdp_usd_bn.value)
    growth = per_state(lambda s: s.growth_per_year.value)

    def tie(field_name: str) -> np.ndarray:
        cells: dict[tuple[int, int], Number] = {}
        for s, st in sc.states.items():
            for p, tie_ in st.ties.items():
                v = getattr(tie_, field_name)
                if v is not None:
                    cells[si[s], pi[p]] = v.value
        out = np.zeros((S, P, *width(list(cells.values()))))
        for cell, v in cells.items():
            out[cell] = v
        return out

    trade, remit = tie("trade_usd_bn"), tie("remittances_usd_bn")
    sec0, debt0, prio = tie("security"), tie("debt_usd_bn"), tie("priority")

    # Timeline: every row at its starting value, then the events' changes (sim.scenario.events).
    # In a batch its arrays are as wide as the widest of what it starts from and what events set.
    read = [v.value for _, v in values(sc.events)] + [d.summit_decay.value]
    Tl = width(read + [x for x in (gdp0, growth, sec0) if x.shape[-1:] != (1,)])
    members = {c: set(sc.states[c].memberships) for c in states}
    neutral0 = np.array([[sc.states[c].neutral for c in states]])
    tl = events.Timeline(
        dates=dates,
        months_per_round=t.months_per_round,
        states=states,
        powers=powers,
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
    gdp = tl.gdp
    # (R+1, S): the share of security and binding ties each state weighs (less when neutral)
    discount = d.neutral_discount.value
    neutral_factor = np.where(tl.neutral.reshape(R + 1, S, *B), 1.0 - discount, 1.0)
    trend = stack([sc.powers[p].capacity_trend_per_year.value for p in powers])
    capacity = tl.capacity * (1.0 + trend[None, :]) ** years[:, None]
    # ties after events: the starting tie, or the level an event set, times later factors
    trade_t = np.where(np.isnan(tl.trade_level), trade[None], tl.trade_level)
    remit_t = np.where(np.isnan(tl.remittance_level), remit[None], tl.remittance_level)
    econ_ratio = (trade_t * tl.trade + remit_t * tl.remittances) / gdp0[None, :, None]

    institutions = _institutions(sc, tl.memberships, neutral_factor, B)

    lw: Number = 0.0
    if sc.peers.leader_weight is not None:
        lw = sc.peers.leader_weight.value
    peers = np.zeros((S, S, *width([lw])))
    if S > 1:
        leader = sc.peers.leader
        for s in states:
            others = [q for q in states if q != s]
            for q in others:
                if leader is not None and s != leader:
                    peers[si[s], si[q]] = lw if q == leader else (1 - lw) / max(len(others) - 1, 1)
                else:
                    peers[si[s], si[q]] = 1.0 / len(others)

    # instruments
    names: list[str] = []
    inst_power: list[int] = []
    amount_cols: list[np.ndarray] = []
    delivery: list[Number] = []
    value_factor: list[Number] = []
    is_loan: list[float] = []
    is_gap: list[bool] = []
    static: list[np.ndarray] = []
    vf: dict[str, Number] = {
        "grant": 1.0,
        "loan": d.grant_element_loan.value,
        "investment": d.value_investment.value,
        "corridor": d.value_corridor.value * d.corridor_efficiency.value,
    }
    for p, pw in sc.powers.items():
        for name, ins in pw.instruments.items():
            alloc = ins.allocation or pw.allocation
            names.append(f"{p}.{name}")
            inst_power.append(pi[p])
            period = ins.period_years.value
            if isinstance(period, np.ndarray):
                raise ValueError(
                    f"powers.{p}.instruments.{name}.period_years moves an end date: "
                    "build each point's scenario on its own"
                )
            end = ins.start + timedelta(days=period * 365.25)
            col = np.zeros((R + 1, *width([ins.pledged_usd_bn.value])))
            for r in range(1, R + 1):
                lo, hi = max(dates[r - 1], ins.start), min(dates[r], end)
                if hi > lo:
                    share = years_between(lo, hi)
                    col[r] = ins.pledged_usd_bn.value * share / period
            amount_cols.append(col)
            delivery.append(ins.delivery_rate.value)
            value_factor.append(vf[ins.kind] if ins.grant_element is None
                                else ins.grant_element.value)
            is_loan.append(1.0 if ins.kind == "loan" else 0.0)
            is_gap.append(alloc.strategy == "gap")
            static.append(stack(_weights(alloc, sc)))
    n_inst = len(names)
    inst_power_a = np.array(inst_power, dtype=np.intp)
    onehot = np.zeros((n_inst, P))
    onehot[np.arange(n_inst), inst_power_a] = 1.0
    w_names = ("econ", "security", "institutions", "debt", "hedge", "peers")
    w = {k: per_state(attrgetter(f"weights.{k}.value")) for k in w_names}
    pop = per_state(lambda s: s.population_m.value if s.population_m is not None else 0.0)
    amount = (
        np.stack(np.broadcast_arrays(*amount_cols), axis=1) if n_inst else np.zeros((R + 1, 0, *B))
    )

    # Derived arrays. A batch's points now move in front of the entity axes (after the axis
    # over rounds), so the rules see the shapes they are written for, with leading axes; the
    # arrays are C-ordered here, so that every sum runs in the order of a single scenario's.
    def lead(x: np.ndarray, over_rounds: bool = False) -> np.ndarray:
        if N is None:
            return x
        return np.ascontiguousarray(np.moveaxis(x, -1, 1 if over_rounds else 0))

    def lead_number(x: Number) -> Number:
        if N is None:
            return x
        return np.asarray(x, dtype=float).reshape(-1, 1, 1).copy()

    gdp0, trade, remit, sec0, debt0, prio, pop, peers = (
        lead(x) for x in (gdp0, trade, remit, sec0, debt0, prio, pop, peers)
    )
    gdp, econ_ratio, neutral_factor, capacity, amount = (
        lead(x, True) for x in (gdp, econ_ratio, neutral_factor, capacity, amount)
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
        region_w = np.full((*B, S), 1.0 / S)

    splits = np.broadcast_arrays(*(_split(lead(c)) for c in static))
    static_alloc = np.stack(splits, axis=-1) if n_inst else np.zeros((*B, S, 0))
    delivery_a, value_factor_a = lead(stack(delivery)), lead(stack(value_factor))
    is_loan_a = np.array(is_loan)
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
    params = Params(
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
        lam=lead(per_state(lambda s: s.inertia.value)),
        theta=lead(per_state(lambda s: s.stubbornness.value)),
        sec_salience=sec_sal,
        debt_salience=debt_sal,
        boost=boost,
        anchor=anchor,
        log_anchor=log_anchor,
        peers=peers,
        region_w=region_w,
        capacity=capacity,
        reactivity=lead(stack([sc.powers[p].reactivity.value for p in powers])),
        share0=rules.regional_share(anchor, region_w),
        instruments=names,
        inst_power=inst_power_a,
        onehot=onehot,
        routing=routing,
        amount=amount,
        delivery=delivery_a,
        value_factor=value_factor_a,
        is_loan=is_loan_a,
        is_gap=np.array(is_gap, dtype=bool),
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
        points=N,
    )
    return params if N is None else _points_fastest(params)


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
