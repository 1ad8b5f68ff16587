"""``sim facts``: which facts and assumptions exist, and which scenario fields use them."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from sim.core import shipped
from sim.core.errors import SimError
from sim.scenario.facts import TEXTS, Entry, Registry, SeedSource, describe, load_registry
from sim.scenario.schema import load, registry_folder, values


def default_folder() -> Path:
    """The scenarios ``sim facts`` scans by default: ``./scenarios`` where there is one (a
    checkout, or a user's own library), else the shipped library."""
    here = Path("scenarios")
    return here if here.is_dir() else shipped.SCENARIOS


def scenario_files(folder: Path) -> list[Path]:
    """Every scenario YAML under ``folder`` (the registry, sweep and policy files, priors and
    posteriors excluded)."""
    if not folder.is_dir():
        raise SimError(f"{folder}: not a folder of scenarios")
    return sorted(
        p
        for p in folder.rglob("*.yaml")
        if not {"facts", "sweeps", "policies", "priors", "posteriors"} & set(p.parts)
    )


def policy_files(folder: Path) -> list[Path]:
    """Every policy file under ``folder`` (``policies/``): not scenarios, but their sources
    and comments cite registry entries too."""
    return sorted(p for p in folder.rglob("*.yaml") if "policies" in p.parts)


def _policy_sources(path: Path) -> list[tuple[str, str]]:
    """``(entry id, field)`` for each registry entry a policy file names as a source."""
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []  # sim policy reports a bad file when it is run
    out: list[tuple[str, str]] = []
    for section in ("coercion", "uncertainties", "levers"):
        entries = raw.get(section) if isinstance(raw, dict) else None
        if isinstance(entries, dict):
            out += [(str(e["source"]), f"{section}.{name}.source") for name, e in entries.items()
                    if isinstance(e, dict) and e.get("source")]
    return out


def usage(folder: Path) -> tuple[dict[Path, dict[str, list[str]]], list[str]]:
    """For each registry folder: entry id -> ['scenario: field', ...]; plus load problems."""
    used: dict[Path, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    problems: list[str] = []
    for path in scenario_files(folder):
        try:
            registry_dir = registry_folder(path)
            sc = load(path)
        except SimError as err:
            problems.append(str(err))
            continue
        for field, v in values(sc):
            if v.ref is not None:
                used[registry_dir][v.ref].append(f"{sc.name}: {field}")
            elif v.why is None:
                problems.append(f"{path}: {field}: number with neither a source nor a reason")
        for name, ev in sc.events.items():
            if ev.source is not None:
                used[registry_dir][ev.source].append(f"{sc.name}: events.{name}.source")
    for path in policy_files(folder):
        for key, field in _policy_sources(path):
            used[registry_folder(path)][key].append(f"policy {path.stem}: {field}")
    return used, problems


_WORD = re.compile(r"[a-z][a-z0-9_]*")


def citations(
    folder: Path, used: dict[Path, dict[str, list[str]]]
) -> dict[Path, dict[str, set[str]]]:
    """Registry ids named in the reasons behind used numbers: entry id -> {who cites it}.

    A reason cites an entry by its id (``remit_tjk_rus`` derives from ``tjk_gdp_2024``; a
    ``{ref, scale, why}`` field names the assumption its scale comes from; a scenario file's
    comments name the facts behind its dates and memberships). An amount in another currency
    cites its exchange rate. Citations are followed from every used entry, inline reason and
    scenario file, to closure.
    """
    cited: dict[Path, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for reg_dir in {registry_folder(p) for p in scenario_files(folder)}:
        reg = load_registry(reg_dir)
        todo: list[tuple[str, str]] = []  # (text, who)
        for path in scenario_files(folder):
            if registry_folder(path) != reg_dir:
                continue
            try:
                sc = load(path)
            except SimError:
                continue
            todo += [(v.why, f"{sc.name}: {field}") for field, v in values(sc) if v.why]
            todo.append((path.read_text(), path.name))
        todo += [(path.read_text(), path.name) for path in policy_files(folder)
                 if registry_folder(path) == reg_dir]
        todo += [
            (f"{e.why or ''} {e.note or ''}", key)
            for key, e in reg.entries.items()
            if key in used.get(reg_dir, {})
        ]
        rates = {
            e.unit.split()[0]: key for key, e in reg.entries.items() if e.unit.endswith(" per USD")
        }
        for key in used.get(reg_dir, {}):
            currency = reg.entries[key].unit.split()[0]
            if currency in rates and currency != "USD":
                cited[reg_dir][rates[currency]].add(key)
        seen: set[str] = set(used.get(reg_dir, {}))
        while todo:
            text, who = todo.pop()
            for word in set(_WORD.findall(text)):
                if word in reg.entries and word != who:
                    cited[reg_dir][word].add(who)
                    if word not in seen:
                        seen.add(word)
                        e = reg.entries[word]
                        todo.append((f"{e.why or ''} {e.note or ''}", word))
    return cited


def listing(folder: Path) -> str:
    """Every registry entry with its value, source or reason, and the fields using it."""
    used, problems = usage(folder)
    cited = citations(folder, used)
    # the registry most fields use first (the Central Asian one in the shipped library), a
    # made-up example region's last
    registries = sorted({registry_folder(p) for p in scenario_files(folder)} | set(used),
                        key=lambda r: (-sum(len(v) for v in used.get(r, {}).values()), str(r)))
    lines: list[str] = []
    for reg_dir in registries:
        reg = load_registry(reg_dir)
        lines.append(f"# {reg_dir} ({len(reg.entries)} entries)")
        if reg.texts:
            lines.append(f"source texts the facts quote ({TEXTS}; the texts themselves are "
                         "not shipped, cited here as published):")
            lines.extend(f"  {name}: {text.cite()}" for name, text in sorted(reg.texts.items()))
        for key, entry in sorted(reg.entries.items(), key=lambda kv: (kv[1].kind, kv[0])):
            lines.append(f"{entry.kind:<10} {key}: {describe(entry, reg.texts)}")
            fields = used.get(reg_dir, {}).get(key, [])
            for f in fields[:6]:
                lines.append(f"           used by {f}")
            if len(fields) > 6:
                lines.append(f"           ... and {len(fields) - 6} more fields")
            by = sorted(cited.get(reg_dir, {}).get(key, set()))
            if by and not fields:
                shown = ", ".join(by[:4]) + (f" and {len(by) - 4} more" if len(by) > 4 else "")
                lines.append(f"           cited in the reason of {shown}")
            if not fields and not by:
                lines.append("           not used by any scenario")
    lines.extend(f"problem: {p}" for p in problems)
    return "\n".join(lines)


def check_all(folder: Path) -> tuple[list[str], str]:
    """Problems (empty when every scenario is valid and every number has provenance)."""
    used, problems = usage(folder)
    files = scenario_files(folder)
    n_refs = sum(len(v) for reg in used.values() for v in reg.values())
    for reg_dir in sorted({registry_folder(p) for p in files}):
        reg = load_registry(reg_dir)
        for key, entry in reg.entries.items():
            if entry.kind == "fact" and entry.source is None:
                problems.append(f"{reg.files[key]}: {key}: a fact without a source")
    summary = (
        f"checked {len(files)} scenario files: {n_refs} fields refer to the registry; "
        f"{len(problems)} problems"
    )
    return problems, summary


def _registries(folder: Path) -> list[Registry]:
    """Every registry the scenarios under ``folder`` use."""
    return [load_registry(d) for d in sorted({registry_folder(p) for p in scenario_files(folder)})]


def _text(entry: Entry, reg: Registry) -> str:
    """Everything a search looks in: id, unit, source (the text's citation and its words), reason
    and note."""
    parts = [entry.id, entry.unit, describe(entry, reg.texts), entry.why or "", entry.note or ""]
    return " ".join(parts).lower()


def show(folder: Path, key: str) -> str:
    """One entry in full: its value, its source as published (or its reason), its note, and every
    scenario field that uses it or reason that cites it.

    Raises:
        SimError: no registry entry has this id (with a did-you-mean).
    """
    used, _ = usage(folder)
    for reg in _registries(folder):
        if key not in reg:
            continue
        e = reg.get(key)
        lines = [f"{key} ({e.kind}, {reg.files[key]})",
                 f"  value:  {e.value:g} {e.unit}" + (f" ({e.year})" if e.year else "")]
        if isinstance(e.source, SeedSource):
            text = reg.texts.get(e.source.seed)
            lines.append(f"  source: {text.cite() if text else e.source.seed}")
            if text is not None and text.note:
                lines.append(f"          ({text.note})")
            lines.append(f"          source text {e.source.seed} in {TEXTS} (the text "
                         "itself is not shipped)")
            lines.append(f'  quote:  "{e.source.quote}"')
        elif e.source is not None:
            side = f" ({e.source.side})" if e.source.side else ""
            lines.append(f"  source: {e.source.title}{side} <{e.source.url}>")
        if e.why:
            lines.append(f"  reason: {e.why}")
        if e.note:
            lines.append(f"  note:   {e.note}")
        fields = used.get(reg.folder, {}).get(key, [])
        cited = sorted(citations(folder, used).get(reg.folder, {}).get(key, set()))
        lines += [f"  used by {f}" for f in fields]
        lines += [f"  cited in the reason of {c}" for c in cited]
        if not fields and not cited:
            lines.append("  not used by any scenario")
        return "\n".join(lines)
    known = [k for reg in _registries(folder) for k in reg.entries]
    from difflib import get_close_matches

    close = get_close_matches(key, known, n=3)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise SimError(f"{key}: no facts registry entry with this id under {folder}{hint}")


def grep(folder: Path, word: str) -> str:
    """Entries whose id, source, quote, reason or note contain ``word`` (any case), one line
    each; a line saying so if none does."""
    needle = word.lower().strip()
    if not needle:
        raise SimError("--grep: expected a word to look for")
    lines = []
    for reg in _registries(folder):
        for key, e in sorted(reg.entries.items()):
            if needle in _text(e, reg):
                lines.append(f"{e.kind:<10} {key}: {describe(e, reg.texts)}")
    return "\n".join(lines) or f"no facts registry entry mentions {word!r}"
