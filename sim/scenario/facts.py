"""The facts registry: every substantive number's provenance.

A registry is a folder of YAML files, each a list of entries. An entry is either a *fact*
(value, unit, year and a source: a seed text's file name and its exact words, or a public
source's title and address) or an *assumption* (value, unit and the reason for it). Scenario
files refer to entries by id; see :mod:`sim.scenario.quantity` for how a field resolves a reference.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from sim.core.errors import ScenarioError
from sim.core.yamlio import read_yaml

#: Canonical units of scenario fields and the units a registry entry may be converted from.
#: Money is held in US dollars (billions); other currencies convert through an exchange-rate
#: entry in the registry whose unit is "<CUR> per USD".
CANONICAL_UNITS = ("USD bn", "share", "per year", "index", "years", "million persons", "count")
_SCALE = {
    ("USD bn", "USD bn"): 1.0,
    ("USD m", "USD bn"): 1e-3,
    ("USD tn", "USD bn"): 1e3,
    ("share", "share"): 1.0,
    ("percent", "share"): 0.01,
    ("per year", "per year"): 1.0,
    ("percent per year", "per year"): 0.01,
    ("index", "index"): 1.0,
    ("years", "years"): 1.0,
    ("million persons", "million persons"): 1.0,
    ("count", "count"): 1.0,
    ("count", "index"): 1.0,
}
_CURRENCY_SCALE = {"bn": 1.0, "m": 1e-3, "tn": 1e3}


class SeedSource(BaseModel):
    """A fact stated in one of the project's source texts, with the text's own words."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    seed: str = Field(min_length=1, description="file name of the source text")
    quote: str = Field(min_length=3, description="the exact words the value comes from")


class SourceText(BaseModel):
    """A source text facts quote, as it was published: enough for a reader to find it.

    Every field is what the text says of itself; ``date`` is as precise as the text allows
    (a text without one gives the month it describes, and says so); ``address`` is the web
    address the text names, if it names one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    outlet: str = Field(min_length=2, description="where it was published")
    kind: str = Field(min_length=3, description="news report, editorial, opinion article, ...")
    title: str = Field(min_length=3, description="its headline")
    date: str = Field(min_length=4)
    author: str | None = None
    address: str | None = Field(default=None, pattern=r"^\S+$")
    note: str | None = None

    def cite(self) -> str:
        """``Outlet, kind[ by author], date: "title" <address>``, in one line."""
        by = f" by {self.author}" if self.author else ""
        where = f" <{self.address}>" if self.address else ""
        return f'{self.outlet}, {self.kind}{by}, {self.date}: "{self.title}"{where}'

    @property
    def url(self) -> str | None:
        """The address as a link (``https://`` added where the text leaves the scheme out)."""
        if self.address is None:
            return None
        return self.address if "://" in self.address else f"https://{self.address}"


class PublicSource(BaseModel):
    """A fact from a public document."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    title: str = Field(min_length=3)
    url: str = Field(pattern=r"^https?://\S+$")
    side: str | None = Field(default=None, description="whose statistics, where it matters")


class Entry(BaseModel):
    """One registry entry: a fact with a source, or an assumption with a reason."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: Literal["fact", "assumption"]
    value: float = Field(allow_inf_nan=False)
    unit: str = Field(min_length=1)
    year: int | None = Field(default=None, ge=1900, le=2100)
    source: SeedSource | PublicSource | None = None
    why: str | None = Field(default=None, min_length=10)
    note: str | None = None

    @model_validator(mode="after")
    def _provenance(self) -> Entry:
        if self.kind == "fact":
            if self.source is None:
                raise ValueError("a fact needs a source (seed and quote, or title and url)")
            if self.year is None:
                raise ValueError("a fact needs the year it describes")
        elif self.why is None:
            raise ValueError("an assumption needs a 'why' saying where the value comes from")
        return self


_ENTRIES = TypeAdapter(list[Annotated[Entry, Field()]])
_TEXTS = TypeAdapter(dict[str, SourceText])
#: The registry file that describes the source texts facts quote (a mapping, not entries).
TEXTS = "source_texts.yaml"


@dataclass(frozen=True)
class Registry:
    """Entries by id, loaded from one folder."""

    folder: Path
    entries: dict[str, Entry]
    files: dict[str, Path]
    texts: dict[str, SourceText] = field(default_factory=dict)

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def get(self, key: str) -> Entry:
        """The entry with this id; KeyError if there is none."""
        return self.entries[key]

    def fx_per_usd(self, currency: str) -> float | None:
        """Units of ``currency`` per US dollar, from the registry's exchange-rate entry."""
        for entry in self.entries.values():
            if entry.unit == f"{currency} per USD":
                return entry.value
        return None

    def convert(self, entry: Entry, unit: str) -> float:
        """The entry's value in the canonical ``unit``; ValueError if it cannot be converted."""
        scale = _SCALE.get((entry.unit, unit))
        if scale is not None:
            return entry.value * scale
        parts = entry.unit.split()
        if unit == "USD bn" and len(parts) == 2 and parts[1] in _CURRENCY_SCALE:
            rate = self.fx_per_usd(parts[0])
            if rate is None:
                raise ValueError(
                    f"'{entry.id}' is in {entry.unit} and the registry has no "
                    f"'{parts[0]} per USD' exchange rate"
                )
            return entry.value * _CURRENCY_SCALE[parts[1]] / rate
        raise ValueError(f"'{entry.id}' is in '{entry.unit}', expected '{unit}'")

    def describe(self, key: str) -> str:
        """One line on an entry: value, unit, year and source (or reason)."""
        return describe(self.entries[key], self.texts)

    def suggest(self, key: str) -> str:
        """A did-you-mean hint for an unknown id ('' if nothing is close)."""
        from difflib import get_close_matches

        close = get_close_matches(key, list(self.entries), n=1)
        return f" (did you mean '{close[0]}'?)" if close else ""


def load_registry(folder: Path) -> Registry:
    """Load every ``*.yaml`` file of a registry folder; duplicates and bad entries are errors."""
    entries: dict[str, Entry] = {}
    files: dict[str, Path] = {}
    paths = sorted(p for p in folder.glob("*.yaml") if p.name != TEXTS)
    if not paths:
        raise ScenarioError(folder, "", "no facts files (*.yaml) in the registry folder")
    texts = _load_texts(folder / TEXTS)
    for path in paths:
        raw = read_yaml(path)
        if raw is None:
            continue
        try:
            items = _ENTRIES.validate_python(raw)
        except ValidationError as err:
            first = err.errors()[0]
            loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
            raise ScenarioError(path, loc.lstrip("."), first["msg"]) from None
        for i, item in enumerate(items):
            if item.id in entries:
                raise ScenarioError(
                    path, f"[{i}].id", f"'{item.id}' is already defined in {files[item.id].name}"
                )
            if not math.isfinite(item.value):
                raise ScenarioError(path, f"[{i}].value", "expected a finite number")
            if isinstance(item.source, SeedSource) and item.source.seed not in texts:
                raise ScenarioError(
                    path, f"[{i}].source.seed",
                    f"'{item.source.seed}' is not a source text described in {TEXTS} (its "
                    f"outlet, title and date); known: {', '.join(texts) or 'none'}")
            entries[item.id] = item
            files[item.id] = path
    return Registry(folder=folder, entries=entries, files=files, texts=texts)


def _load_texts(path: Path) -> dict[str, SourceText]:
    """The source texts a registry's facts quote (none if it has no :data:`TEXTS` file)."""
    if not path.is_file():
        return {}
    raw = read_yaml(path)
    try:
        return _TEXTS.validate_python(raw or {})
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ScenarioError(path, loc, first["msg"]) from None


def find_registry(scenario_path: Path) -> Path:
    """The nearest ``facts/`` folder at or above the scenario's folder."""
    for folder in [scenario_path.parent, *scenario_path.parent.parents]:
        candidate = folder / "facts"
        if candidate.is_dir():
            return candidate
    raise ScenarioError(
        scenario_path,
        "",
        "expected a facts/ folder (the registry) beside or above the scenario, found none; "
        "keep scenario files under a folder that has one, such as scenarios/",
    )


def describe(entry: Entry, texts: Mapping[str, SourceText] | None = None) -> str:
    """One line: value, unit, year and source (or reason).

    A fact from a source text cites the text as published (``texts``), then its words.
    """
    head = f"{entry.value:g} {entry.unit}" + (f" ({entry.year})" if entry.year else "")
    if isinstance(entry.source, SeedSource):
        text = (texts or {}).get(entry.source.seed)
        where = text.cite() if text is not None else f"source text {entry.source.seed}"
        return f'{head}; {where}, quoting: "{entry.source.quote}"'
    if isinstance(entry.source, PublicSource):
        return f"{head}; {entry.source.title} <{entry.source.url}>"
    return f"{head}; assumption: {entry.why}"


def unused(registry: Registry, used: Iterable[str]) -> list[str]:
    """Ids of entries that no scenario refers to."""
    seen = set(used)
    return sorted(k for k in registry.entries if k not in seen)
