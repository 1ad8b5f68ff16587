"""From a validated :class:`~sim.scenario.Scenario` to frozen arrays the rules work on.

Everything the timeline decides in advance (GDP paths, money scheduled per round, capacity,
salience, summit boosts, memberships, security ties) is precomputed here as arrays over
rounds, so the round itself only does what depends on the state and on chance.

Shapes: ``S`` states, ``P`` powers, ``I`` instruments, ``R`` rounds; arrays over time have
``R + 1`` rows (row 0 is the starting point, row ``r`` the end of round ``r``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from sim import events, rng, rules
from sim.calendar import round_dates, years_between
from sim.scenario import Allocation, Scenario

KINDS = ("grant", "loan", "investment", "corridor")


@dataclass(frozen=True)
class Params:
    """Arrays of one scenario (see module docstring for shapes)."""

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
    institutions: np.ndarray  # (R+1, S, P) share of the state's memberships shared with p
    neutral_factor: np.ndarray  # (R+1, S) share of security and bloc ties weighed
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
    routing: np.ndarray  # (I, 3P): columns route money delivered, value, loans to powers
    amount: np.ndarray  # (R+1, I) USD bn scheduled in each round (row 0 is zero)
    delivery: np.ndarray  # (I,)
    value_factor: np.ndarray  # (I,)
    is_loan: np.ndarray  # (I,) float 0/1
    is_gap: np.ndarray  # (I,) bool
    static_alloc: np.ndarray  # (S, I) each column sums to 1
    # dynamics
    beta: float
    sd_utility: float
    sd_delivery: float
    memory: float
    econ_scale: float
    repay_per_round: float
    u0: np.ndarray = field(repr=False)  # (S, P) utility at the start
    u_fixed: np.ndarray = field(
        repr=False
    )  # (R+1, S, P) utility terms fixed by the timeline, less u0
    noise_power_pos: np.ndarray = field(repr=False)  # (P,) rank of each power code
    noise_state_pos: np.ndarray = field(repr=False)  # (S,) rank of each state code
    # derived on construction (also after dataclasses.replace): planned money of the
    # instruments with a fixed split, by round, state and measure-power (delivered, value,
    # loans), before the delivery shock
    planned: np.ndarray = field(init=False, repr=False)  # (R+1, S, 3P)

    def __post_init__(self) -> None:
        budget = self.amount * self.delivery * self.capacity[:, self.inst_power]  # (R+1, I)
        fixed = budget[:, None, :] * self.static_alloc * ~self.is_gap
        object.__setattr__(self, "planned", fixed @ self.routing)

    @property
    def rounds(self) -> int:
        return len(self.dates) - 1

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


def _static_alloc(alloc: Allocation, sc: Scenario) -> np.ndarray:
    codes = sc.state_codes
    if alloc.strategy == "fixed":
        assert alloc.shares is not None  # checked by the schema
        w = np.array([alloc.shares[c].value if c in alloc.shares else 0.0 for c in codes])
    elif alloc.strategy == "gdp":
        w = np.array([sc.states[c].gdp_usd_bn.value for c in codes])
    elif alloc.strategy == "resources":
        w = np.array([sc.states[c].resources.value for c in codes])
    else:  # equal, and the starting point of gap
        w = np.ones(len(codes))
    if w.sum() <= 0:
        w = np.ones(len(codes))
    return w / w.sum()


def build(sc: Scenario, rounds: int | None = None) -> Params:
    """Arrays for a scenario; ``rounds`` overrides the number of rounds the calendar gives."""
    S, P = len(sc.states), len(sc.powers)
    states, powers = sc.state_codes, sc.power_codes
    si = {c: i for i, c in enumerate(states)}
    pi = {c: i for i, c in enumerate(powers)}
    t = sc.time
    dates = round_dates(t.start, t.end, t.months_per_round, rounds)
    R = len(dates) - 1
    rpy = 12.0 / t.months_per_round
    years = np.array([years_between(t.start, d) for d in dates])
    d = sc.dynamics

    def per_state(fn: Any) -> np.ndarray:
        return np.array([float(fn(sc.states[c])) for c in states])

    gdp0 = per_state(lambda s: s.gdp_usd_bn.value)
    growth = per_state(lambda s: s.growth_per_year.value)

    def tie(field_name: str) -> np.ndarray:
        out = np.zeros((S, P))
        for s, st in sc.states.items():
            for p, tie_ in st.ties.items():
                v = getattr(tie_, field_name)
                if v is not None:
                    out[si[s], pi[p]] = v.value
        return out

    trade, remit = tie("trade_usd_bn"), tie("remittances_usd_bn")
    sec0, debt0, prio = tie("security"), tie("debt_usd_bn"), tie("priority")

    # Timeline: every row at its starting value, then the events' changes (sim.events).
    members = {c: set(sc.states[c].memberships) for c in states}
    tl = events.Timeline(
        dates=dates,
        months_per_round=t.months_per_round,
        states=states,
        powers=powers,
        summit_decay=d.summit_decay.value,
        capacity=np.ones((R + 1, P)),
        security=np.repeat(sec0[None], R + 1, axis=0),
        sec_salience=np.ones((R + 1, S)),
        debt_salience=np.ones((R + 1, S)),
        boost=np.zeros((R + 1, S, P)),
        trade=np.ones((R + 1, S, P)),
        remittances=np.ones((R + 1, S, P)),
        memberships=[{c: set(m) for c, m in members.items()} for _ in range(R + 1)],
        gdp=gdp0[None, :] * (1.0 + growth[None, :]) ** years[:, None],
        growth=growth,
        neutral=np.repeat(np.array([[sc.states[c].neutral for c in states]]), R + 1, axis=0),
    )
    events.play(sc.events.values(), tl)
    gdp = tl.gdp
    # (R+1, S): the share of security and bloc ties each state weighs (less when neutral)
    neutral_factor = np.where(tl.neutral, 1.0 - d.neutral_discount.value, 1.0)
    security, sec_sal, debt_sal, boost = tl.security, tl.sec_salience, tl.debt_salience, tl.boost
    capacity = tl.capacity
    trend = np.array([sc.powers[p].capacity_trend_per_year.value for p in powers])
    capacity *= (1.0 + trend[None, :]) ** years[:, None]

    institutions = np.zeros((R + 1, S, P))
    for r in range(R + 1):
        for s in states:
            mine = tl.memberships[r][s]
            if not mine:
                continue
            for p in powers:
                shared = mine & set(sc.powers[p].memberships)
                institutions[r, si[s], pi[p]] = len(shared) / len(mine)

    iw = {k: v.value for k, v in sc.initial.weights}
    anchor = rules.initial_alignment(
        trade, remit, sec0, institutions[0], prio, neutral_factor[0], iw
    )
    log_anchor = np.log(anchor)

    peers = np.zeros((S, S))
    if S > 1:
        leader = sc.peers.leader
        lw = sc.peers.leader_weight.value if sc.peers.leader_weight is not None else 0.0
        for s in states:
            others = [r for r in states if r != s]
            for r in others:
                if leader is not None and s != leader:
                    peers[si[s], si[r]] = lw if r == leader else (1 - lw) / max(len(others) - 1, 1)
                else:
                    peers[si[s], si[r]] = 1.0 / len(others)
        peers = rules.normalise(peers)

    if sc.region_weighting == "gdp":
        region_w = gdp0 / gdp0.sum()
    elif sc.region_weighting == "population":
        pop = per_state(lambda s: s.population_m.value if s.population_m is not None else 0.0)
        region_w = pop / pop.sum() if pop.sum() > 0 else np.full(S, 1.0 / S)
    else:
        region_w = np.full(S, 1.0 / S)

    # instruments
    names: list[str] = []
    inst_power: list[int] = []
    amount_cols: list[np.ndarray] = []
    delivery: list[float] = []
    value_factor: list[float] = []
    is_loan: list[float] = []
    is_gap: list[bool] = []
    static: list[np.ndarray] = []
    vf = {
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
            end = ins.start + timedelta(days=ins.period_years.value * 365.25)
            col = np.zeros(R + 1)
            for r in range(1, R + 1):
                lo, hi = max(dates[r - 1], ins.start), min(dates[r], end)
                if hi > lo:
                    share = years_between(lo, hi)
                    col[r] = ins.pledged_usd_bn.value * share / ins.period_years.value
            amount_cols.append(col)
            delivery.append(ins.delivery_rate.value)
            value_factor.append(vf[ins.kind])
            is_loan.append(1.0 if ins.kind == "loan" else 0.0)
            is_gap.append(alloc.strategy == "gap")
            static.append(_static_alloc(alloc, sc))
    n_inst = len(names)
    inst_power_a = np.array(inst_power, dtype=np.intp)
    onehot = np.zeros((n_inst, P))
    onehot[np.arange(n_inst), inst_power_a] = 1.0

    w = {
        k: per_state(lambda s, k=k: getattr(s.weights, k).value)
        for k in ("econ", "security", "institutions", "debt", "hedge", "peers")
    }
    econ0_ratio = (trade + remit) / gdp0[:, None]
    # ties after events: the starting tie, or the level an event set, times later factors
    trade_t = np.where(np.isnan(tl.trade_level), trade[None], tl.trade_level)
    remit_t = np.where(np.isnan(tl.remittance_level), remit[None], tl.remittance_level)
    econ_ratio = (trade_t * tl.trade + remit_t * tl.remittances) / gdp0[None, :, None]
    debt0_ratio = debt0 / gdp0[:, None]
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
        econ_scale=d.econ_scale.value,
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
        lam=per_state(lambda s: s.inertia.value),
        theta=per_state(lambda s: s.stubbornness.value),
        sec_salience=sec_sal,
        debt_salience=debt_sal,
        boost=boost,
        anchor=anchor,
        log_anchor=log_anchor,
        peers=peers,
        region_w=region_w,
        capacity=capacity,
        reactivity=np.array([sc.powers[p].reactivity.value for p in powers]),
        share0=rules.regional_share(anchor, region_w),
        instruments=names,
        inst_power=inst_power_a,
        onehot=onehot,
        routing=np.concatenate(
            [onehot, onehot * np.array(value_factor)[:, None], onehot * np.array(is_loan)[:, None]],
            axis=1,
        ),
        amount=np.stack(amount_cols, axis=1) if n_inst else np.zeros((R + 1, 0)),
        delivery=np.array(delivery),
        value_factor=np.array(value_factor),
        is_loan=np.array(is_loan),
        is_gap=np.array(is_gap, dtype=bool),
        static_alloc=np.stack(static, axis=1) if n_inst else np.zeros((S, 0)),
        beta=d.sharpness.value,
        sd_utility=d.utility_noise_sd.value,
        sd_delivery=d.delivery_noise_sd.value,
        memory=d.engagement_memory.value,
        econ_scale=d.econ_scale.value,
        repay_per_round=1.0 - (1.0 - d.loan_repayment_per_year.value) ** (1.0 / rpy),
        u0=u0,
        u_fixed=u_fixed,
        noise_power_pos=rng.canonical_positions(powers),
        noise_state_pos=rng.canonical_positions(states),
    )
