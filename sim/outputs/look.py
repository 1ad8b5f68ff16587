"""How a scenario's powers and states look in figures: colours, names, blocs, event markers.

Colours: each power has one colour from the Okabe-Ito colour-blind-safe palette, the same in
every figure of every run. A scenario may name it (``colour:`` on a power); otherwise it is
chosen from the power's code alone (:func:`palette`), so adding or removing a power elsewhere
never repaints the others. This module draws nothing and needs no plotting library: what
decides a figure's look is known before anything is drawn (and by the report, which draws
nothing).
"""

from __future__ import annotations

import re
import textwrap
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from sim.outputs import outcomes

if TYPE_CHECKING:
    from sim.model.params import Params
    from sim.scenario.schema import Scenario

#: The Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"), by name.
OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "black": "#000000",
}
#: Colours a power gets from its code, in a fixed order: the palette without black, which is
#: kept for text and reference lines (a scenario may still choose it explicitly).
PALETTE = tuple(OKABE_ITO[k] for k in ("bluish_green", "sky_blue", "vermillion", "yellow", "orange",
                                       "reddish_purple", "blue"))
#: The band of replicates every figure shades, and what it covers (:mod:`sim.outputs.outcomes`); a
#: :class:`Look` may carry another (e.g. over draws of the parameters).
BAND = outcomes.interval().band
#: Longest name a figure shows (longer: shortened, "...").
NAME_CHARS = 24


def palette(codes: Sequence[str], fixed: Mapping[str, str] | None = None) -> dict[str, str]:
    """A colour for each power code: stable by code, distinct within ``codes``.

    A code's colour is ``PALETTE[crc32(code) % len(PALETTE)]`` unless ``fixed`` names one
    (an Okabe-Ito name or a hex colour). Where two codes would share a colour, the one later
    in alphabetical order takes the next free colour, so the result depends on the codes, not
    on their order in the scenario.
    """
    out = {c: OKABE_ITO.get(v, v) for c, v in (fixed or {}).items() if c in codes}
    out = {c: v for c, v in out.items() if re.fullmatch(r"#[0-9A-Fa-f]{6}", v)}
    taken = set(out.values())
    for code in sorted(c for c in codes if c not in out):
        k = zlib.crc32(code.encode()) % len(PALETTE)
        for step in range(len(PALETTE)):
            candidate = PALETTE[(k + step) % len(PALETTE)]
            if candidate not in taken:
                break
        else:  # more powers than colours: reuse, from the code's own slot
            candidate = PALETTE[k]
        out[code] = candidate
        taken.add(candidate)
    return {c: out[c] for c in codes}


@dataclass(frozen=True)
class Marker:
    """An event drawn on time axes: its date, its kind (the event's type) and, for a summit,
    its host (whose colour it takes)."""

    when: date
    kind: str
    power: str | None = None


@dataclass(frozen=True)
class Look:
    """How a scenario's powers and states appear: colours, names, blocs and the events marked
    on time axes."""

    colours: Mapping[str, str]
    power_names: Mapping[str, str] = field(default_factory=dict)
    state_names: Mapping[str, str] = field(default_factory=dict)
    blocs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    band: str = BAND
    events: tuple[Marker, ...] = ()

    def power(self, code: str) -> str:
        """A power's name as figures show it (shortened past :data:`NAME_CHARS`)."""
        return _short(self.power_names.get(code, code))

    def state(self, code: str) -> str:
        """A state's name as figures show it (shortened past :data:`NAME_CHARS`)."""
        return _short(self.state_names.get(code, code))


def _short(name: str) -> str:
    return textwrap.shorten(name, NAME_CHARS, placeholder="...") if len(name) > NAME_CHARS else name


def make_look(p: Params, sc: Scenario | None = None, *, band: str = BAND) -> Look:
    """The look of a scenario; without the scenario, codes stand for names and no blocs.

    ``band`` names the shaded band over replicates and what it covers
    (:attr:`sim.outputs.outcomes.Interval.band`).
    """
    if sc is None:
        return Look(palette(p.powers), band=band)
    return Look(
        colours=palette(p.powers, {c: pw.colour for c, pw in sc.powers.items() if pw.colour}),
        power_names={c: pw.name for c, pw in sc.powers.items()},
        state_names={c: st.name for c, st in sc.states.items()},
        blocs={k: tuple(v) for k, v in (sc.blocs or {}).items()},
        band=band,
        events=markers(sc, p.dates),
    )


def markers(sc: Scenario, dates: Sequence[date]) -> tuple[Marker, ...]:
    """The scenario's events within its calendar, as markers (one per date, kind and host)."""
    out = {Marker(ev.date, ev.type, getattr(ev, "host", None))
           for ev in sc.events.values() if dates[0] <= ev.date <= dates[-1]}
    return tuple(sorted(out, key=lambda m: (m.when, m.kind, m.power or "")))

