"""Why an answer is what it is: the target's terms, and a paired effect split by channel.

:func:`terms` plays a scenario without noise (no utility shock, money delivered as planned) to
a date and splits each state's log-odds toward each power into the terms of docs/ODD.md 7.3-7.4:
the anchor, each money instrument, the economic ties, security, each kind of institutional tie,
summits and relations, debt, hedging and the peers' pull. The terms add up to the log-odds of
the target the state moves toward in that round (a test checks it against the kernel).

:func:`channels` splits the paired effect of scenario B against scenario A on each power's
regional share by channel (money, summits, institutional ties, other events) with Shapley
values over the channels' subsets, all on common random numbers, and says how much the peers'
pull amplifies it.

Both run at one set of constants: the medians of the posterior that applies (the shipped one
for the scenarios it was made for), or the scenario's own values.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from sim.core.errors import SettingError
from sim.model import engine, kernel, rules
from sim.model.params import Params, build
from sim.scenario.facts import Registry, load_registry
from sim.scenario.schema import ORGANISATION_KINDS, Scenario, read_raw, registry_folder, validate

#: Reasons recorded on the values a decomposition switches off.
ALONE = "every other kind of tie switched off to isolate one kind"
NO_PEERS = "the peers' pull switched off to measure how much it amplifies the effect"
#: Channels a difference between two scenarios is split into, in the order printed.
CHANNELS = ("money", "summits", "ties", "other events")


@dataclass(frozen=True)
class Constants:
    """Where the constants come from: a posterior's medians, or the scenario's own values."""

    values: dict[str, float] = field(default_factory=dict)
    source: str = "the scenario's own constants"


def constants(posterior: Path | None) -> Constants:
    """The medians of ``posterior``'s draws (or none: the scenario's own values)."""
    if posterior is None:
        return Constants()
    from sim.calibration.posterior import load as load_posterior

    post = load_posterior(posterior)
    med = {q: float(np.median(post.draws[q])) for q in (*post.model_quantities, *post.carried)}
    return Constants(med, f"the medians of the posterior {post.describe()}")


def _registry(path: Path, values: dict[str, float]) -> Registry:
    reg = load_registry(registry_folder(path))
    entries = dict(reg.entries)
    for key, value in values.items():
        if key in entries:
            entries[key] = entries[key].model_copy(update={"value": float(value)})
    return dataclasses.replace(reg, entries=entries)


def _load(path: Path, raw: dict[str, Any], const: Constants) -> Scenario:
    return validate(raw, _registry(path, const.values), path)


def _round_of(p: Params, when: date | None) -> int:
    """The last round ending on or before ``when`` (default: the last round)."""
    if when is None:
        return p.rounds
    if when < p.dates[1]:
        raise SettingError("date", f"expected a date from {p.dates[1]} (the first round's end) "
                                   f"to {p.dates[-1]}, found {when}")
    return max(r for r in range(1, p.rounds + 1) if p.dates[r] <= when)


def _noise_free(p: Params, r_end: int) -> tuple[kernel.State, kernel.State, list[np.ndarray]]:
    """Play rounds 1..r_end without noise; the states after ``r_end - 1`` and ``r_end`` and each
    instrument's smoothed engagement ``(state,)`` at ``r_end``."""
    S, P, n = len(p.states), len(p.powers), len(p.instruments)
    calm = kernel.Shocks(utility=np.zeros((S, P)), delivery=np.ones((S, P)))
    state = kernel.initial_state(p)
    before = state
    engaged = np.zeros((S, n))
    for r in range(1, r_end + 1):
        before = state
        # each instrument's value to each state this round, as the kernel plans it
        split = rules.allocate(p.static_alloc, p.is_gap, state.alignment, p.inst_power)
        budget = p.amount[r] * p.delivery * p.capacity[r][p.inst_power]
        value = budget[None, :] * split * p.value_factor[None, :]
        if p.reactivity.any():
            share = rules.regional_share(state.alignment, p.region_w)
            mult = rules.reactive_multiplier(share, p.share0, p.reactivity)
            value = value * mult[p.inst_power][None, :]
        engaged = rules.smooth(engaged, value * p.rounds_per_year, p.memory)
        state = kernel.advance(p, state, r, calm)
    return before, state, [engaged[:, i] for i in range(n)]


def terms(
    path: Path | str,
    when: date | None = None,
    const: Constants | None = None,
    sets: Sequence[str] = (),
) -> tuple[Params, int, list[tuple[str, str, str, float]]]:
    """The target's log-odds of each state toward each power at the round ending by ``when``,
    term by term: rows ``(state, power, term, value)``; the terms of a state and power add up
    to ``log target`` up to a constant per state (the softmax's normaliser)."""
    from sim.scenario.schema import apply_override, parse_set

    path = Path(path)
    const = const or Constants()
    raw = read_raw(path)
    for expr in sets:
        parts, value = parse_set(expr)
        apply_override(raw, parts, value, why="set on the command line with --set")
    sc = _load(path, raw, const)
    p = build(sc)
    r = _round_of(p, when)
    prev, after, engaged = _noise_free(p, r)
    a = prev.alignment  # the alignment the round's target is computed from
    beta = float(np.asarray(p.beta))
    gdp = p.gdp[r][:, None]
    engagement = after.engagement  # the round's money enters before it is valued
    cap = p.capacity[r]
    out: dict[str, np.ndarray] = {"anchor": p.log_anchor}
    econ0 = rules.econ_term(p.econ0_ratio, p.w_econ, p.econ_scale)
    ties_now = rules.econ_term(p.econ_ratio[r], p.w_econ, p.econ_scale)
    with_money = rules.econ_term(p.econ_ratio[r] + engagement / gdp, p.w_econ, p.econ_scale)
    out["economic ties"] = beta * (ties_now - econ0)
    money = beta * (with_money - ties_now)
    total_inst = np.zeros_like(money)
    for i in range(len(p.instruments)):
        total_inst[:, p.inst_power[i]] += engaged[i]
    for i, name in enumerate(p.instruments):
        j = p.inst_power[i]
        part = np.zeros_like(money)
        share = np.divide(engaged[i], total_inst[:, j], out=np.zeros(len(p.states)),
                          where=total_inst[:, j] > 0)
        part[:, j] = money[:, j] * share
        key = f"money: {name.split('.', 1)[1]}"  # powers' instruments may share a name
        out[key] = out[key] + part if key in out else part
    sec = rules.security_term(p.security[r], p.w_sec, p.sec_salience[r], p.neutral_factor[r], cap)
    sec0 = rules.security_term(p.security[0], p.w_sec, np.ones(len(p.states)),
                               p.neutral_factor[0], np.ones(len(p.powers)))
    out["security"] = beta * (sec - sec0)
    for kind, index in _institutions_by_kind(path, raw, const).items():
        out[f"ties: {kind}"] = beta * rules.institutions_term(index[r] - index[0], p.w_inst)
    out["summits and relations"] = beta * p.boost[r]
    debt_now = rules.debt_term(p.debt0_ratio, p.w_debt, p.debt_salience[r]) + rules.debt_term(
        after.burden / gdp, p.w_debt, p.debt_salience[r])
    debt0 = rules.debt_term(p.debt0_ratio, p.w_debt, np.ones(len(p.states)))
    out["debt"] = -beta * (debt_now - debt0)
    hedge = rules.hedge_term(a, p.w_hedge) - rules.hedge_term(p.anchor, p.w_hedge)
    out["hedging"] = -beta * hedge
    out["peers"] = np.asarray(p.kappa)[:, None] * rules.peer_shift(a, p.log_anchor, p.peers)
    rows = [
        (s, q, term, float(v[i, j]))
        for i, s in enumerate(p.states)
        for j, q in enumerate(p.powers)
        for term, v in out.items()
    ]
    return p, r, rows


def _institutions_by_kind(path: Path, raw: dict[str, Any],
                          const: Constants) -> dict[str, np.ndarray]:
    """Each kind's part of the institutional index ``(R+1, S, P)``: the scenario built with
    every other kind's weight at zero (the index is a sum over kinds)."""
    out: dict[str, np.ndarray] = {}
    kinds = set(raw.get("organisations", {}).values())
    for kind in ORGANISATION_KINDS:
        if kind not in kinds:
            continue
        alone = copy.deepcopy(raw)
        for other in ORGANISATION_KINDS:
            if other != kind:
                alone["dynamics"]["tie_weights"][other] = {"value": 0.0, "why": ALONE}
        out[kind] = build(_load(path, alone, const)).institutions
    return out


# --------------------------------------------------------------------------- channels


def _channel_of(key: tuple[str, ...], raw_a: dict[str, Any], raw_b: dict[str, Any]) -> str:
    if key[0] == "instruments":
        return "money"
    if key[0] in ("organisations", "memberships"):
        return "ties"
    ev = raw_b.get("events", {}).get(key[1]) or raw_a.get("events", {}).get(key[1]) or {}
    kind = ev.get("type")
    if kind == "summit":
        return "summits"
    if kind == "membership":
        return "ties"
    return "other events"


def _differences(raw_a: dict[str, Any], raw_b: dict[str, Any]) -> dict[tuple[str, ...], str]:
    """Every decomposable difference (an instrument, an event, an organisation's kind, a
    membership list) between two raw scenarios, with its channel."""
    keys: list[tuple[str, ...]] = []
    for code in set(raw_a.get("powers", {})) | set(raw_b.get("powers", {})):
        ia = raw_a.get("powers", {}).get(code, {}).get("instruments", {}) or {}
        ib = raw_b.get("powers", {}).get(code, {}).get("instruments", {}) or {}
        keys += [("instruments", code, k) for k in set(ia) | set(ib) if ia.get(k) != ib.get(k)]
        ma = raw_a.get("powers", {}).get(code, {}).get("memberships")
        mb = raw_b.get("powers", {}).get(code, {}).get("memberships")
        if ma != mb:
            keys.append(("memberships", "powers", code))
    for code in set(raw_a.get("states", {})) | set(raw_b.get("states", {})):
        ma = raw_a.get("states", {}).get(code, {}).get("memberships")
        mb = raw_b.get("states", {}).get(code, {}).get("memberships")
        if ma != mb:
            keys.append(("memberships", "states", code))
    ea, eb = raw_a.get("events", {}) or {}, raw_b.get("events", {}) or {}
    keys += [("events", k) for k in set(ea) | set(eb) if ea.get(k) != eb.get(k)]
    oa, ob = raw_a.get("organisations", {}) or {}, raw_b.get("organisations", {}) or {}
    keys += [("organisations", k) for k in set(oa) | set(ob) if oa.get(k) != ob.get(k)]
    return {k: _channel_of(k, raw_a, raw_b) for k in sorted(keys)}


def _set(raw: dict[str, Any], key: tuple[str, ...], source: dict[str, Any]) -> None:
    """Set ``key`` in ``raw`` to its value in ``source`` (absent there: removed)."""
    if key[0] == "instruments":
        _, code, name = key
        node = raw.setdefault("powers", {}).setdefault(code, {}).setdefault("instruments", {})
        value = (source.get("powers", {}).get(code, {}).get("instruments") or {}).get(name)
        if value is None:
            node.pop(name, None)
        else:
            node[name] = copy.deepcopy(value)
    elif key[0] == "memberships":
        _, where, code = key
        value = source.get(where, {}).get(code, {}).get("memberships")
        entity = raw.setdefault(where, {}).setdefault(code, {})
        if value is None:
            entity.pop("memberships", None)
        else:
            entity["memberships"] = list(value)
    else:
        section, name = key
        node = raw.setdefault(section, {})
        value = (source.get(section) or {}).get(name)
        if value is None:
            node.pop(name, None)
        else:
            node[name] = copy.deepcopy(value)


@dataclass(frozen=True)
class Channels:
    """A paired effect on each power's regional share split by channel (Shapley values)."""

    powers: list[str]
    channels: list[str]
    shapley: np.ndarray  # (channel, power)
    total: np.ndarray  # (power,)
    rest: np.ndarray  # (power,) what no channel holds (other fields that differ)
    without_peers: np.ndarray  # (power,) the total with the peers' pull switched off
    replicates: int
    date: date
    source: str


def channels(
    path_a: Path | str,
    path_b: Path | str,
    when: date | None = None,
    const: Constants | None = None,
    replicates: int = 400,
) -> Channels:
    """Split B's paired effect against A on regional shares by channel, at ``when``."""
    path_a, path_b = Path(path_a), Path(path_b)
    const = const or Constants()
    raw_a, raw_b = read_raw(path_a), read_raw(path_b)
    diffs = _differences(raw_a, raw_b)
    present = [c for c in CHANNELS if c in diffs.values()]
    base_b = copy.deepcopy(raw_b)
    for key in diffs:  # B with every decomposable difference taken back to A's
        _set(base_b, key, raw_a)
    reps = np.arange(replicates)

    def share(raw: dict[str, Any], peers: bool = True) -> tuple[np.ndarray, Params]:
        if not peers:
            raw = copy.deepcopy(raw)
            for st in raw.get("states", {}).values():
                st.setdefault("weights", {})["peers"] = {"value": 0.0, "why": NO_PEERS}
        p = build(_load(path_b, raw, const))
        r = _round_of(p, when)
        traj = engine.simulate(p, reps)
        return engine.region_share(traj, p)[:, r].mean(axis=0), p

    cache: dict[frozenset[str], np.ndarray] = {}

    def value(subset: frozenset[str]) -> np.ndarray:
        if subset not in cache:
            raw = copy.deepcopy(base_b)
            for key, ch in diffs.items():
                if ch in subset:
                    _set(raw, key, raw_b)
            cache[subset] = share(raw)[0]
        return cache[subset]

    a_share, p = share(raw_a)
    r = _round_of(p, when)
    k = len(present)
    phi = np.zeros((k, len(p.powers)))
    for i, ch in enumerate(present):
        others = [c for c in present if c != ch]
        for m in range(k):
            weight = math.factorial(m) * math.factorial(k - m - 1) / math.factorial(k)
            for sub in itertools.combinations(others, m):
                s = frozenset(sub)
                phi[i] += weight * (value(s | {ch}) - value(s))
    b_share = value(frozenset(present))
    total = b_share - a_share
    rest = value(frozenset()) - a_share
    no_peers = share(raw_b, peers=False)[0] - share(raw_a, peers=False)[0]
    return Channels(list(p.powers), present, phi, total, rest, no_peers, replicates,
                    p.dates[r], const.source)


# --------------------------------------------------------------------------- text


Row = tuple[str, str, str, float]


def tidy(p: Params, rows: Sequence[Row]) -> list[Row]:
    """The rows a reader needs: money terms only for the instrument's own power."""
    owners = {(name.split(".", 1)[0], name.split(".", 1)[1]) for name in p.instruments}
    return [row for row in rows
            if not row[2].startswith("money: ") or (row[1], row[2][7:]) in owners]


#: Order of the terms' groups in a table.
_GROUPS = ("anchor", "economic ties", "money", "security", "ties", "summits", "debt", "hedging",
           "peers")


def _rank(term: str) -> int:
    return next(i for i, g in enumerate(_GROUPS) if term.startswith(g))


def day(d: date) -> str:
    """A round's end as the day it closes: the boundary 1 Jan 2031 ends 31 Dec 2030."""
    return f"{(d - dt.timedelta(days=1)):%d %b %Y}".lstrip("0")


def format_terms(p: Params, r: int, rows: Sequence[tuple[str, str, str, float]],
                 const: Constants) -> str:
    """Each state's table of terms (rows) by power (columns), with its target and alignment."""
    powers = list(p.powers)
    lines = [
        f"{p.name}, the round ending {day(p.dates[r])}: each state's log-odds toward each power,",
        "term by term, without noise. The anchor is the log of the starting share; every other",
        "term is its change since the start, times the sharpness (docs/ODD.md 7.3-7.4); they",
        "add up to the log-odds of the target each state moves toward. Constants: "
        + const.source + ".",
    ]
    rows = sorted(rows, key=lambda row: _rank(row[2]))
    by_state: dict[str, dict[str, dict[str, float]]] = {}
    for s, q, term, v in rows:
        by_state.setdefault(s, {}).setdefault(term, {})[q] = v
    width = max(len(t) for t in {row[2] for row in rows}) + 2
    _, after, _ = _noise_free(p, r)
    for i, s in enumerate(p.states):
        lines += ["", f"{s}".ljust(width) + "".join(f"{q:>9}" for q in powers)]
        total = np.zeros(len(powers))
        for term, cells in by_state[s].items():
            vals = [cells.get(q, 0.0) for q in powers]
            total += vals
            if term != "anchor" and all(abs(v) < 5e-5 for v in vals):
                continue
            lines.append(term.ljust(width) + "".join(
                f"{v:>+9.3f}" if q in cells else f"{'':>9}" for q, v in zip(powers, vals,
                                                                            strict=True)))
        target = rules.softmax(total)
        lines.append("target share (%)".ljust(width) + "".join(f"{100 * v:>9.1f}" for v in target))
        lines.append("alignment (%)".ljust(width)
                     + "".join(f"{100 * v:>9.1f}" for v in after.alignment[i]))
    return "\n".join(lines)


def format_channels(ch: Channels, names: dict[str, str]) -> str:
    """The channel table in percentage points of each power's regional share."""
    lead = int(np.argmax(np.abs(ch.total)))
    width = max(len(c) for c in (*ch.channels, "not split by channel", "total")) + 2
    head = "".join(f"{q:>9}" for q in ch.powers)
    lines = [
        f"The paired effect on each power's share of the region by {day(ch.date)}, by channel, "
        "in percentage points:",
        f"Shapley values over the channels, {ch.replicates:,} paired replicates on common random "
        "numbers (noise only), constants: " + ch.source + ".",
        "",
        "channel".ljust(width) + head,
    ]
    for c, row in zip(ch.channels, ch.shapley, strict=True):
        lines.append(c.ljust(width) + "".join(f"{100 * v:>+9.2f}" for v in row))
    if np.any(np.abs(ch.rest) >= 5e-5):
        lines.append("not split by channel".ljust(width)
                     + "".join(f"{100 * v:>+9.2f}" for v in ch.rest))
    lines.append("total".ljust(width) + "".join(f"{100 * v:>+9.2f}" for v in ch.total))
    q = ch.powers[lead]
    if abs(ch.without_peers[lead]) > 1e-9:
        ratio = ch.total[lead] / ch.without_peers[lead]
        lines += ["", f"Peers: {names.get(q, q)}'s effect is {100 * ch.total[lead]:+.2f} pp "
                      f"with the states' pull on each other and {100 * ch.without_peers[lead]:+.2f}"
                      f" pp without it: the peers amplify it {ratio:.2f} times."]
    return "\n".join(lines)
