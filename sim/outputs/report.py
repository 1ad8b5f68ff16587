"""``report.html``: one self-contained page for a results folder (a run, comparison or sweep).

The page holds the question, headline numbers, every figure in ``plots/`` (embedded as
base64 PNG), every CSV table, the facts and assumptions behind the parameters with their
sources, and the manifest. It opens from disk with no network: no external scripts, fonts or
styles. The page is rendered by Jinja2 with autoescaping on, so text from scenario files
(titles, questions, names, reasons, quotes) can never become markup.

Folders are told apart by ``manifest.json``'s ``kind``. Anything a kind adds is picked up
generically: a ``headline`` entry in the manifest (a list of strings, or of
``{label, value, note}`` mappings, or a mapping of label to value) is shown first, then the
figures and tables the folder holds.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import yaml

from sim.core.errors import SimError
from sim.outputs import results, terminal
from sim.outputs.outcomes import Interval, fine_points, percent, points
from sim.scenario.facts import PublicSource, Registry, SeedSource, load_registry
from sim.scenario.schema import load, parameters, registry_folder

REPORT = "report.html"
#: Rows of a table shown in the page; the CSV beside it has them all.
MAX_ROWS = 200
#: Tables longer than this start folded.
OPEN_ROWS = 30

#: What each standard figure shows, by file stem (others get a caption from their name).
CAPTIONS = {
    "regional_share": "Each power's share of the region's alignment over time. Lines are "
    "medians over replicates, shaded bands the 5-95% range; labels give the median at the end.",
    "bloc_shares": "Blocs' shares of alignment (a bloc's share is the sum of its powers'). "
    "Left: the region over time; right: each state at the end.",
    "alignment_by_state": "Each state's alignment with each power over time (median and "
    "5-95% range): where the region's average comes from.",
    "alignment_composition": "The region as small multiples: how each state's alignment is "
    "divided among the powers (mean over replicates).",
    "final_alignment_heatmap": "Alignment at the end of the horizon, each state with each "
    "power (mean over replicates).",
    "hedging_index": "Hedging index (normalised entropy of a state's alignment): 0 means "
    "aligned with one power only, 1 an even spread over all of them.",
    "money_delivered": "Money each power's modelled pledges deliver to the region per "
    "calendar year, after delivery rates and noise (mean over replicates, USD bn): the "
    "scenario's instruments only, not all of a power's finance in the region.",
    "difference": "Each state's alignment with each power at the end: B minus A, paired "
    "replicate by replicate on common random numbers (mean change in percentage points, with "
    "its 90% interval).",
    "regional_share_difference": "Each power's share of the region's alignment over time: B "
    "minus A, paired replicate by replicate (mean change in percentage points, the band its "
    "90% interval); events of both scenarios marked.",
}
#: Figures in this order first; any others follow alphabetically.
ORDER = tuple(CAPTIONS)
KIND_NAMES = {"run": "Run", "compare": "Comparison", "sweep": "Sweep", "hindcast": "Hindcast"}
CLI_SET = "set on the command line"


@dataclass
class Figure:
    stem: str
    caption: str
    data_uri: str
    svg: str | None
    alt: str
    width: int | None  # CSS pixels at the figure's own size (its DPI against the web's 96)


@dataclass
class Table:
    name: str
    columns: list[str]
    rows: list[list[str]]
    total: int
    numeric: list[bool]
    open: bool


@dataclass
class Fact:
    """One registry entry (or inline value) and the scenario fields that use it."""

    id: str
    kind: str  # "fact", "assumption", "inline" or "unknown"
    value: str
    source: str = ""
    url: str | None = None
    quote: str | None = None
    why: str | None = None
    note: str | None = None
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # path, value, scale/why
    cli: bool = False


@dataclass
class FactGroup:
    title: str
    facts: list[Fact]
    registry: str | None
    counts: dict[str, int]
    parameters: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


# --------------------------------------------------------------------------- helpers


def _num(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return "" if v is None else str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        return f"{v:.4g}" if abs(v) < 1e6 else f"{v:,.0f}"
    return str(v)


def _pct(v: float, digits: int = 1) -> str:
    return percent(v, digits)


def _pp(v: float) -> str:
    return points(v)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SimError(f"{path.parent}: not a results folder (no manifest.json)") from None
    except json.JSONDecodeError as err:
        raise SimError(f"{path}: not valid JSON ({err.msg}, line {err.lineno})") from None
    if not isinstance(data, dict):
        raise SimError(f"{path}: expected a JSON object")
    return data


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def _scenario_names(raw: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    def names(section: Any) -> dict[str, str]:
        if not isinstance(section, dict):
            return {}
        return {str(k): str(v.get("name", k)) for k, v in section.items() if isinstance(v, dict)}

    return names(raw.get("powers")), names(raw.get("states"))


def _colours(manifest: Mapping[str, Any], raw: Mapping[str, Any]) -> dict[str, str]:
    from sim.outputs.look import palette

    powers = [str(c) for c in manifest.get("powers") or raw.get("powers") or []]
    fixed = {str(k): str(v["colour"]) for k, v in (raw.get("powers") or {}).items()
             if isinstance(v, dict) and v.get("colour")}
    return palette(powers, fixed)


# --------------------------------------------------------------------------- figures and tables


def png_css_width(data: bytes) -> int | None:
    """A PNG's width in CSS pixels (96 per inch) from its own resolution, if it states one."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    width: int = struct.unpack(">I", data[16:20])[0]
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"pHYs":
            ppm: int
            unit: int
            ppm, _, unit = struct.unpack(">IIB", data[pos + 8:pos + 17])
            return round(width * 96 / (ppm * 0.0254)) if unit == 1 and ppm else width
        if kind == b"IDAT":
            break
        pos += 12 + length
    return width


def figures(folder: Path, order: Sequence[Mapping[str, str]] = ()) -> list[Figure]:
    """Every ``plots/*.png`` of a folder, embedded as data URIs: in the ``order`` a manifest
    gives (``figure_order``: stems with captions, e.g. a sweep's, by the question), then the
    standard figures, then any others by name."""
    pngs = sorted((folder / "plots").glob("*.png"))
    given = {str(f["stem"]): (i, str(f.get("caption", ""))) for i, f in enumerate(order)}
    rank = {stem: len(given) + i for i, stem in enumerate(ORDER)}
    pngs.sort(key=lambda p: (given.get(p.stem, (rank.get(p.stem, len(given) + len(rank)),))[0],
                             p.stem))
    out = []
    for png in pngs:
        name = png.stem.replace("_", " ")
        caption = (given[png.stem][1] if png.stem in given and given[png.stem][1]
                   else CAPTIONS.get(png.stem, name[:1].upper() + name[1:] + "."))
        svg = png.with_suffix(".svg")
        data = png.read_bytes()
        out.append(Figure(
            stem=png.stem, caption=caption,
            data_uri="data:image/png;base64," + base64.b64encode(data).decode("ascii"),
            svg=f"plots/{svg.name}" if svg.is_file() else None,
            alt=caption, width=png_css_width(data),
        ))
    return out


#: Columns of the standard tables that hold shares (shown in percent) or differences of shares
#: (in percentage points); the CSV files keep them as fractions.
PERCENT = {"mean", "p5", "p25", "p50", "p75", "p95", "mean_a", "mean_b", "sign_holds"}
POINTS = {"diff_mean", "diff_p5", "diff_p95"}
#: The tables whose columns of those names are shares (hedging.csv holds an index).
SHARE_TABLES = ("summary", "region", "differences", "region_differences")


def _unit(table: str, column: str) -> str | None:
    """``%`` or ``pp`` for a column of a standard table shown in that unit, else None."""
    if column.endswith(("_pct", "_pp")):  # already in that unit (results.CSV_COLUMNS)
        return None
    if table.removesuffix("_noise_only") not in SHARE_TABLES:
        return None
    return "%" if column in PERCENT else "pp" if column in POINTS else None


def _table(path: Path) -> Table:
    df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    numeric = [pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]
    shown = df.head(MAX_ROWS)
    units = [_unit(path.stem, str(c)) if num else None
             for c, num in zip(df.columns, numeric, strict=True)]

    def cell(v: Any, unit: str | None) -> str:
        if unit is None or not isinstance(v, int | float) or math.isnan(float(v)):
            return _num(v)
        return f"{100 * float(v):.2f}" if unit == "%" else points(float(v), 2)

    rows = [[cell(v, u) for v, u in zip(row, units, strict=True)]
            for row in shown.itertuples(index=False, name=None)]
    columns = [f"{c} ({u})" if u else str(c) for c, u in zip(df.columns, units, strict=True)]
    return Table(path.name, columns, rows, len(df), numeric, open=len(df) <= OPEN_ROWS)


def tables(folder: Path, kind: str = "run") -> list[Table]:
    """Every CSV table of a folder, the summary first; Parquet tables too, except for a run.

    A run's Parquet files hold every replicate (its CSVs summarise them); other folders (a
    sweep's design and outcomes) may keep their tables only as Parquet.
    """
    paths = sorted(folder.glob("*.csv"), key=lambda p: (p.name != "summary.csv", p.name))
    if kind != "run":
        paths += sorted(folder.glob("*.parquet"))
    return [_table(p) for p in paths]


def texts(folder: Path) -> list[tuple[str, str]]:
    """Every text file of a folder (e.g. a sweep's analysis), by name."""
    return [(p.name, p.read_text(encoding="utf-8", errors="replace"))
            for p in sorted(folder.glob("*.txt"))]


# --------------------------------------------------------------------------- headline


def _headline_from_manifest(manifest: Mapping[str, Any]) -> list[dict[str, str]]:
    head = manifest.get("headline")
    if isinstance(head, Mapping):
        return [{"label": str(k), "value": _num(v), "note": ""} for k, v in head.items()]
    if isinstance(head, list):
        out = []
        for item in head:
            if isinstance(item, Mapping):
                out.append({"label": str(item.get("label", "")), "value": _num(item.get("value")),
                            "note": str(item.get("note", ""))})
            else:
                out.append({"label": "", "value": str(item), "note": ""})
        return out
    return []


@dataclass
class RunHeadline:
    """Headline numbers of a run, formatted for the page."""

    start: str
    end: str
    band: str
    powers: list[dict[str, Any]]
    blocs: list[dict[str, Any]]
    states: list[dict[str, Any]]
    sentences: list[str]
    other: str = "loses"


def run_headline(manifest: Mapping[str, Any], raw: Mapping[str, Any]) -> RunHeadline | None:
    """The run's headline numbers (``run_headline`` in its manifest; see
    :func:`sim.outputs.outcomes.run_headline`) with names, colours and sentences."""
    head = manifest.get("run_headline")
    if not isinstance(head, Mapping):
        return None
    power_names, state_names = _scenario_names(raw)
    colours = _colours(manifest, raw)
    band = Interval.from_json(manifest.get("interval")).band
    powers: list[dict[str, Any]] = []
    for r in head.get("powers", []):
        code = str(r["code"])
        change = r["end"] - r["start"]
        powers.append({
            "code": code, "name": power_names.get(code, code), "colour": colours.get(code, "#777"),
            "start": _pct(r["start"]), "end": _pct(r["end"]),
            "range": f"{_pct(r['p5'])} to {_pct(r['p95'])}",
            "change": _pp(change), "change_value": float(change), "end_value": float(r["end"]),
            "peak": (f"{_pp(r['peak'])} percentage points ({r['peak_date']})"
                     if abs(r["peak"]) >= 0.0005 else ""),
        })
    blocs = [{
        "name": str(b["name"]),
        "members": ", ".join(power_names.get(m, m) for m in b["members"]),
        "start": _pct(b["start"]), "end": _pct(b["end"]), "change": _pp(b["end"] - b["start"]),
        "statistic": str(b.get("statistic", "")),
    } for b in head.get("blocs", [])]
    states = [{
        "name": state_names.get(r["code"], r["code"]),
        "lead": power_names.get(r["lead"], r["lead"]),
        "colour": colours.get(r["lead"], "#777"),
        "share": _pct(r["share"]), "range": f"{_pct(r['p5'])} to {_pct(r['p95'])}",
        "hedging": f"{r['hedging']:.2f}",
    } for r in head.get("states", [])]
    sentences = []
    if powers:
        mover = max(powers, key=lambda r: abs(r["change_value"]))
        sentences.append(
            f"Largest change in regional share from start to end: {mover['name']}, "
            f"{mover['change']} percentage points ({mover['start']} to {mover['end']}; {band} "
            f"at the end {mover['range']}). This is a change within one scenario, not the "
            "effect of any offer in it: that is a comparison's (sim compare).")
        lead = max(powers, key=lambda r: r["end_value"])
        sentences.append(f"Largest regional share at the end: {lead['name']}, {lead['end']}.")
    return RunHeadline(start=str(head["start"]), end=str(head["end"]), band=band, powers=powers,
                       blocs=blocs, states=states, sentences=sentences)


@dataclass
class CompareHeadline:
    """Headline numbers of a comparison: paired differences B minus A, formatted.

    ``focus`` is the power B moves most (its card comes first); ``states`` give its change in
    each state and who loses most there; ``interval`` says what the intervals cover.
    """

    end: str
    interval: str
    focus: str
    powers: list[dict[str, Any]]
    states: list[dict[str, Any]]
    sentences: list[str]
    other: str = "loses"
    #: the focus power's effect at each year's end past the answer (``year, median, range``)
    path: list[dict[str, str]] = field(default_factory=list)
    path_covers: str = ""
    #: predicted UN agreement with the focus power per state (without, with, change)
    agreement: list[dict[str, str]] = field(default_factory=list)
    agreement_power: str = ""
    agreement_year: str = ""


def _holds(r: Mapping[str, Any]) -> str:
    """What a card says of the sign: nothing where no replicate differs or no sign holds."""
    if r.get("no_difference"):
        return "no difference in any replicate"
    share = r.get("sign_holds")
    return "" if share is None else f"same sign in {100 * share:.0f}% of replicates"


def compare_headline(folder: Path, manifest: Mapping[str, Any]) -> CompareHeadline | None:
    """The comparison's headline numbers (``compare_headline`` in its manifest; see
    :func:`sim.outputs.outcomes.compare_headline`) with names, colours and sentences."""
    head = manifest.get("compare_headline")
    if not isinstance(head, Mapping):
        return None
    raw = _read_yaml(folder / "scenario_b.yaml") or _read_yaml(folder / "scenario_a.yaml")
    power_names, state_names = _scenario_names(raw)
    colours = _colours(manifest, raw)
    iv = Interval.from_json(head.get("interval", manifest.get("interval")))
    rows = list(head.get("powers", []))
    focus = head.get("focus") or (max(rows, key=lambda r: abs(r["mean"]))["code"] if rows else "")
    rows.sort(key=lambda r: (r["code"] != focus, -r["mean"]))

    def name(code: str) -> str:
        return power_names.get(code, code)

    def with_range(r: Mapping[str, Any]) -> str:
        if r.get("no_difference"):
            return "no difference in any replicate"
        return f"{_pp(r['mean'])} pp ({iv.name} {_pp(r['p5'])} to {_pp(r['p95'])})"

    def mid(r: Mapping[str, Any]) -> float:
        return float(r["mean"] if r.get("p50") is None else r["p50"])

    powers = [{
        "name": name(r["code"]), "colour": colours.get(r["code"], "#777"),
        "big": f"{fine_points(mid(r))} pp", "value": mid(r),
        "mean": "" if r.get("p50") is None else f"mean {fine_points(r['mean'])} pp",
        "range": f"{fine_points(r['p5'])} to {fine_points(r['p95'])}", "holds": _holds(r),
        "focus": r["code"] == focus,
    } for r in rows]
    states = []
    falls = bool(rows) and focus in {r["code"] for r in rows} and mid(
        next(r for r in rows if r["code"] == focus)) < 0
    other = "gains" if falls else "loses"
    for r in head.get("states", []):
        mine, worst = r.get("focus"), r.get(other)
        if not isinstance(mine, Mapping):
            continue  # a headline of an older layout: no per-state change of the focus power
        states.append({
            "name": state_names.get(r["code"], r["code"]),
            "diff": "0.0" if mine.get("no_difference") else fine_points(mid(mine)),
            "range": "" if mine.get("no_difference") else
                     f"{fine_points(mine['p5'])} to {fine_points(mine['p95'])}",
            "loses": "none" if not worst else name(worst["power"]),
            "loses_colour": colours.get(worst["power"], "#777") if worst else "#777",
            "loses_diff": f"{fine_points(mid(worst))} ({fine_points(worst['p5'])} to "
                          f"{fine_points(worst['p95'])})" if worst else "",
        })
    a, b = _names(manifest) or ("A", "B")
    sentences = terminal.headline(head, a=a, b=b,
                                  names=terminal.Names(power_names, state_names))
    path = [{"year": str(dt.date.fromisoformat(str(r["date"])).year),
             "median": fine_points(r["median"]),
             "range": f"{fine_points(r['p5'])} to {fine_points(r['p95'])}"}
            for r in head.get("path") or []]
    pred = head.get("agreement") or {}
    agreement = [{
        "name": state_names.get(st["code"], st["code"]),
        "a": f"{st['a']['p50']:.1f} ({st['a']['p5']:.0f}-{st['a']['p95']:.0f})",
        "b": f"{st['b']['p50']:.1f} ({st['b']['p5']:.0f}-{st['b']['p95']:.0f})",
        "change": f"{st['change']['p50']:+.2f} ({st['change']['p5']:+.2f} to "
                  f"{st['change']['p95']:+.2f})",
    } for st in pred.get("states", [])]
    return CompareHeadline(end=str(head["end"]), interval=iv.label, focus=name(focus),
                           powers=powers, states=states, sentences=sentences, other=other,
                           path=path, path_covers=iv.covers, agreement=agreement,
                           agreement_power=name(str(pred.get("power", ""))),
                           agreement_year=str(pred.get("year_of_agenda", "")))


# --------------------------------------------------------------------------- facts


def _find_scenario(folder: Path, scenario_file: str | None) -> Path | None:
    """The scenario file a manifest names, from the working folder or a parent of ``folder``."""
    if not scenario_file:
        return None
    p = Path(scenario_file)
    if p.is_absolute():
        return p if p.is_file() else None
    for base in [Path.cwd(), *folder.resolve().parents]:
        if (base / p).is_file():
            return base / p
    return None


def _registry(folder: Path, scenario_file: str | None,
              registry: str | None = None) -> Registry | None:
    """The facts registry a results folder's scenario used: the one its manifest names, or
    else the one its scenario file finds (None if neither is at hand)."""
    try:
        if registry and Path(registry).is_dir():
            return load_registry(Path(registry))
        path = _find_scenario(folder, scenario_file)
        return None if path is None else load_registry(registry_folder(path))
    except SimError:
        return None


def facts_used(
    parameters: Mapping[str, Mapping[str, Any]], registry: Registry | None
) -> tuple[list[Fact], dict[str, int]]:
    """Group a manifest's parameters by registry entry, with sources; inline values apart."""
    by_ref: dict[str, Fact] = {}
    inline: list[Fact] = []
    for path, entry in parameters.items():
        value = entry.get("value")
        ref, why = entry.get("ref"), entry.get("why")
        scale = entry.get("scale")
        extra = f"x{_num(scale)}: {why}" if scale is not None else (str(why) if why else "")
        cli = bool(why) and CLI_SET in str(why)
        if ref is None:
            inline.append(Fact(id=path, kind="inline", value=_num(value), why=str(why or ""),
                               fields=[(path, _num(value), "")], cli=cli))
            continue
        fact = by_ref.get(ref)
        if fact is None:
            fact = Fact(id=str(ref), kind="unknown", value="")
            if registry is not None and ref in registry:
                e = registry.get(ref)
                fact.kind = e.kind
                fact.value = f"{e.value:g} {e.unit}" + (f" ({e.year})" if e.year else "")
                fact.why, fact.note = e.why, e.note
                if isinstance(e.source, SeedSource):
                    text = registry.texts.get(e.source.seed)
                    fact.source = text.cite() if text else f"source text {e.source.seed}"
                    fact.url, fact.quote = (text.url if text else None), e.source.quote
                elif isinstance(e.source, PublicSource):
                    fact.source = e.source.title + (f" ({e.source.side})" if e.source.side else "")
                    fact.url = e.source.url
            by_ref[ref] = fact
        fact.fields.append((path, _num(value), extra))
        fact.cli = fact.cli or cli
    rank = {"fact": 0, "assumption": 1, "unknown": 2}
    facts = sorted(by_ref.values(), key=lambda f: (rank[f.kind], f.id)) + inline
    counts = {
        "fields": len(parameters),
        "facts": sum(f.kind == "fact" for f in facts),
        "assumptions": sum(f.kind == "assumption" for f in facts),
        "inline": len(inline),
        "unknown": sum(f.kind == "unknown" for f in facts),
        "cli": sum(f.cli for f in facts),
    }
    return facts, counts


def fact_groups(folder: Path, manifest: Mapping[str, Any]) -> list[FactGroup]:
    """Facts tables: one for a run; one per scenario where a manifest nests several."""
    sources: list[tuple[str, Mapping[str, Any]]] = []
    if isinstance(manifest.get("parameters"), Mapping):
        sources.append((str(manifest.get("scenario", "")), manifest))
    for key, value in manifest.items():
        if isinstance(value, Mapping) and isinstance(value.get("parameters"), Mapping):
            sources.append((str(value.get("scenario", key)), value))
    groups = []
    for name, m in sources:
        registry = _registry(folder, m.get("scenario_file"), m.get("facts_registry"))
        facts, counts = facts_used(m["parameters"], registry)
        groups.append(FactGroup(name, facts, str(registry.folder) if registry else None, counts,
                                m["parameters"]))
    if sources:
        return groups
    # A folder holding resolved scenarios (e.g. scenario_a.yaml beside "scenario_a_file" in
    # the manifest): read each with the registry its original file used.
    for yml in sorted(folder.glob("*.yaml")):
        registry = _registry(folder, manifest.get(f"{yml.stem}_file"),
                             manifest.get(f"{yml.stem}_facts_registry"))
        if registry is None:
            continue
        try:
            sc = load(yml, registry=registry)
        except SimError:
            continue
        values = parameters(sc)
        facts, counts = facts_used(values, registry)
        groups.append(FactGroup(f"{yml.stem}: {sc.name}", facts, str(registry.folder), counts,
                                values))
    return groups


def _drawn(manifest: Mapping[str, Any]) -> list[str]:
    """The registry entries a folder's runs drew from a posterior (none without one)."""
    post = manifest.get("posterior")
    found = post.get("quantities") if isinstance(post, Mapping) else None
    return [str(q) for q in found] if isinstance(found, list) else []


def _describe(entry: Mapping[str, Any] | None) -> str:
    if entry is None:
        return "(absent)"
    text = _num(entry.get("value"))
    if entry.get("ref"):
        scale = f" x{_num(entry['scale'])}" if entry.get("scale") else ""
        text += f" ({entry['ref']}{scale})"
    elif entry.get("why"):
        text += " (inline)"
    return text


def differences(groups: list[FactGroup], drawn: Sequence[str] = ()) -> list[list[str]]:
    """Field paths whose value or source differs between the groups: path, then one per group.
    A value that refers to a registry entry in ``drawn`` (a posterior's calibrated quantities)
    says that its registry value is not what ran: the runs drew it from the posterior."""
    if len(groups) < 2:
        return []
    paths = list(dict.fromkeys(p for g in groups for p in g.parameters))
    rows = []
    for path in paths:
        entries = [g.parameters.get(path) for g in groups]
        keys = [None if e is None else (e.get("value"), e.get("ref"), e.get("scale"))
                for e in entries]
        if len(set(keys)) > 1:
            rows.append([path, *(_describe(e) + (
                "; drawn from the posterior in the runs" if e is not None and e.get("ref")
                in drawn else "") for e in entries)])
    return rows


# --------------------------------------------------------------------------- page


def _meta(manifest: Mapping[str, Any], label: str) -> list[tuple[str, str]]:
    """Short scalar facts about the folder, for the header."""
    out = [("results folder", label)]
    skip = {"kind", "title", "question", "headline", "command"}
    for key, value in manifest.items():
        if isinstance(value, list) and len(value) <= 12 and all(
                isinstance(v, str | int | float) for v in value):
            value = ", ".join(_num(v) for v in value) or "none"
        if key in skip or isinstance(value, dict | list) or value is None:
            continue
        text = _num(value)
        if len(text) <= 90 and not key.endswith("sha256"):
            out.append((key.replace("_", " "), text))
    return out


def _files(folder: Path) -> list[tuple[str, str]]:
    out = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name != REPORT and not path.name.startswith("."):
            size = path.stat().st_size
            human = f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.1f} kB"
            out.append((path.relative_to(folder).as_posix(), human))
    return out


def _names(manifest: Mapping[str, Any]) -> tuple[str, str] | None:
    """Names of the two scenarios of a comparison, wherever its manifest keeps them."""
    for ka, kb in (("label_a", "label_b"), ("a", "b"), ("A", "B"), ("scenario_a", "scenario_b"),
                   ("base", "policy")):
        a, b = manifest.get(ka), manifest.get(kb)
        if a is not None and b is not None:
            pick = [x.get("scenario") or x.get("name") or k if isinstance(x, Mapping) else x
                    for x, k in ((a, ka), (b, kb))]
            return str(pick[0]), str(pick[1])
    scen = manifest.get("scenarios")
    if isinstance(scen, list) and len(scen) == 2:
        return str(scen[0]), str(scen[1])
    return None


def _title(manifest: Mapping[str, Any], raw: Mapping[str, Any]) -> str:
    if manifest.get("title"):
        return str(manifest["title"])
    kind = manifest.get("kind", "run")
    if kind == "compare" and (ab := _names(manifest)):
        return f"Comparison: {ab[1]} against {ab[0]}"
    name = manifest.get("scenario") or raw.get("title") or raw.get("name") or ""
    return f"{KIND_NAMES.get(str(kind), str(kind).capitalize())}: {name}".rstrip(": ")


def _question(manifest: Mapping[str, Any], raw: Mapping[str, Any]) -> list[str]:
    if manifest.get("question"):
        return [str(manifest["question"])]
    out = []
    for key in ("a", "b", "A", "B"):
        value = manifest.get(key)
        if isinstance(value, Mapping) and value.get("question"):
            out.append(f"{value.get('scenario', key)}: {value['question']}")
    if not out and raw.get("question"):
        out.append(str(raw["question"]))
    return out


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("sim", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def render(folder: Path, *, label: str | None = None) -> str:
    """The report page of a results folder, as HTML text."""
    folder = Path(folder)
    manifest = _read_json(folder / "manifest.json")
    raw = _read_yaml(folder / "scenario.yaml")
    kind = str(manifest.get("kind", "run"))
    label = label or folder.name
    try:
        version = metadata.version("regional-alignment-sim")
    except metadata.PackageNotFoundError:
        version = "unknown"
    yaml_files = [(p.name, p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.yaml"))]
    groups = fact_groups(folder, manifest)
    page = _environment().get_template("report.html.j2").render(
        kind=kind,
        kind_name=KIND_NAMES.get(kind, kind.capitalize()),
        title=_title(manifest, raw),
        question=_question(manifest, raw),
        meta=_meta(manifest, label),
        command=str(manifest.get("command", "")),
        headline=_headline_from_manifest(manifest),
        run=run_headline(manifest, raw) if kind == "run" else None,
        compare=compare_headline(folder, manifest) if kind == "compare" else None,
        figures=figures(folder, manifest.get("figure_order") or ()),
        state_figures=sorted(p.relative_to(folder).as_posix()
                             for p in (folder / "plots" / "states").glob("*.png")),
        tables=tables(folder, kind),
        texts=texts(folder),
        fact_groups=groups,
        differences=differences(groups, _drawn(manifest)),
        drawn=_drawn(manifest),
        manifest_json=json.dumps(manifest, indent=2, ensure_ascii=False),
        yaml_files=yaml_files,
        files=_files(folder),
        version=version,
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    return page


def write_report(folder: Path, *, label: str | None = None) -> Path:
    """Write ``report.html`` into a results folder and return its path.

    Args:
        folder: a results folder with a ``manifest.json`` (kind ``run``, ``compare`` or
            ``sweep``; other kinds get the generic sections).
        label: the folder's name to show (default: the folder's own name; pass the final
            name when writing into a temporary folder that is renamed afterwards).
    """
    folder = Path(folder)
    html = render(folder, label=label)
    out = folder / REPORT
    results.replace_atomically(out, lambda tmp: tmp.write_text(html, encoding="utf-8"))
    return out



def ensure_report(folder: Path) -> Path:
    """The folder's ``report.html``, written first if it is missing."""
    folder = Path(folder)
    path = folder / REPORT
    return path if path.is_file() else write_report(folder)


def view(folder: Path) -> tuple[Path, bool]:
    """A folder's ``report.html`` (written first if missing), opened in the web browser;
    returns its path and whether a browser took it."""
    path = ensure_report(folder)
    return path, open_in_browser(path)


def open_in_browser(path: Path) -> bool:
    """Open a report in the user's web browser; False where there is none to open it."""
    import webbrowser

    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return False
    return bool(browser.open(Path(path).resolve().as_uri()))
