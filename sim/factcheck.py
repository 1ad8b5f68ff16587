"""``sim facts``: which facts and assumptions exist, and which scenario fields use them."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from sim.errors import SimError
from sim.facts import describe, find_registry, load_registry
from sim.scenario import load, values


def scenario_files(folder: Path) -> list[Path]:
    """Every scenario YAML under ``folder`` (facts folders and sweep files excluded)."""
    if not folder.is_dir():
        raise SimError(f"{folder}: not a folder of scenarios")
    return sorted(
        p for p in folder.rglob("*.yaml")
        if "facts" not in p.parts and "sweeps" not in p.parts
    )


def usage(folder: Path) -> tuple[dict[Path, dict[str, list[str]]], list[str]]:
    """For each registry folder: entry id -> ['scenario: field', ...]; plus load problems."""
    used: dict[Path, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    problems: list[str] = []
    for path in scenario_files(folder):
        try:
            registry_dir = find_registry(path)
            sc = load(path)
        except SimError as err:
            problems.append(str(err))
            continue
        for field, v in values(sc):
            if v.ref is not None:
                used[registry_dir][v.ref].append(f"{sc.name}: {field}")
            elif v.why is None:
                problems.append(f"{path}: {field}: number with neither a source nor a reason")
    return used, problems


def listing(folder: Path) -> str:
    """Every registry entry with its value, source or reason, and the fields using it."""
    used, problems = usage(folder)
    registries = sorted({find_registry(p) for p in scenario_files(folder)} | set(used))
    lines: list[str] = []
    for reg_dir in registries:
        reg = load_registry(reg_dir)
        lines.append(f"# {reg_dir} ({len(reg.entries)} entries)")
        for key, entry in sorted(reg.entries.items(), key=lambda kv: (kv[1].kind, kv[0])):
            lines.append(f"{entry.kind:<10} {key}: {describe(entry)}")
            fields = used.get(reg_dir, {}).get(key, [])
            for f in fields[:6]:
                lines.append(f"           used by {f}")
            if len(fields) > 6:
                lines.append(f"           ... and {len(fields) - 6} more fields")
            if not fields:
                lines.append("           not used by any scenario")
    lines.extend(f"problem: {p}" for p in problems)
    return "\n".join(lines)


def check_all(folder: Path) -> tuple[list[str], str]:
    """Problems (empty when every scenario is valid and every number has provenance)."""
    used, problems = usage(folder)
    files = scenario_files(folder)
    n_refs = sum(len(v) for reg in used.values() for v in reg.values())
    for reg_dir in sorted({find_registry(p) for p in files}):
        reg = load_registry(reg_dir)
        for key, entry in reg.entries.items():
            if entry.kind == "fact" and entry.source is None:
                problems.append(f"{reg.files[key]}: {key}: a fact without a source")
    summary = (f"checked {len(files)} scenario files: {n_refs} fields refer to the registry; "
               f"{len(problems)} problems")
    return problems, summary
