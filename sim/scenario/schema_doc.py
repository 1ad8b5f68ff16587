"""Write docs/schema.md from the scenario schema's pydantic models.

    python -m sim.scenario.schema_doc           (rewrites docs/schema.md)
    python -m sim.scenario.schema_doc --check   (exit 1 if docs/schema.md is out of step)

Every section of a scenario file and every event kind gets a table of its fields (type, unit,
required or default, description), read from the models themselves
(:mod:`sim.scenario.schema`, :mod:`sim.scenario.events`), and each event kind an example taken
from the shipped scenarios, so the document cannot drift from the code: tests/test_ux.py checks
it is what this module writes.
"""

from __future__ import annotations

import datetime as dt
import sys
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from sim.core import shipped
from sim.core.errors import SimError
from sim.scenario.events import KINDS
from sim.scenario.quantity import Unit, Value

OUT = Path(__file__).resolve().parents[2] / "docs" / "schema.md"


def _unit(meta: typing.Iterable[Any]) -> str:
    units = [m.name for m in meta if isinstance(m, Unit)]
    return f" ({units[0]})" if units else ""


def type_name(tp: Any, meta: typing.Iterable[Any] = ()) -> str:
    """A field's type as a reader of scenario files sees it."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        return type_name(args[0], tp.__metadata__)
    if origin is typing.Literal:
        return " or ".join(f"`{a}`" for a in args)
    if origin is typing.Union or type(tp).__name__ == "UnionType":
        shown = [type_name(a) for a in args if a is not type(None)]
        return " or ".join(shown) + (" or null" if type(None) in args else "")
    if origin is dict:
        return f"mapping of {type_name(args[0])} to {type_name(args[1])}"
    if origin in (list, tuple):
        return f"list of {type_name(args[0])}"
    if tp is Value:
        return "number with provenance" + _unit(meta)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return f"[{tp.__name__}](#{tp.__name__.lower()})"
    if tp is dt.date:
        return "date (YYYY-MM-DD)"
    if tp is str:
        return "code" if any("A-Z" in str(m) for m in meta) else "text"
    return {int: "integer", float: "number", bool: "true or false"}.get(tp, str(tp))


def _models() -> list[type[BaseModel]]:
    """Every model a scenario file is made of, from the top down (events apart)."""
    from sim.scenario.schema import Scenario

    seen: list[type[BaseModel]] = []

    def walk(tp: Any) -> None:
        for arg in (tp, *typing.get_args(tp)):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                if arg not in seen and arg.__module__ != "sim.scenario.events":
                    seen.append(arg)
                    for f in arg.model_fields.values():
                        walk(f.annotation)
            elif typing.get_args(arg) and arg is not tp:
                walk(arg)

    walk(Scenario)
    return seen


def _table(model: type[BaseModel]) -> list[str]:
    lines = ["| field | type | required | description |", "|---|---|---|---|"]
    for name, f in model.model_fields.items():
        default = "empty" if f.default_factory is not None else f"`{f.default!r}`"
        required = "yes" if f.is_required() else f"no (default {default})"
        what = (f.description or "").replace("|", "\\|")
        lines.append(f"| `{name}` | {type_name(f.annotation, f.metadata)} | {required} | {what} |")
    return lines


def _doc(model: type[Any]) -> str:
    return " ".join((model.__doc__ or "").split("\n\n")[0].split())


def examples() -> dict[str, tuple[str, dict[str, Any]]]:
    """For each event kind, its first event in the shipped scenarios (by file name): the file
    and the event as written there."""
    from sim.scenario.schema import read_raw

    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for path in sorted(shipped.SCENARIOS.rglob("*.yaml")):
        if path.parent.name in ("facts", "priors", "sweeps") or "posteriors" in path.parts:
            continue
        try:
            raw = read_raw(path)
        except SimError:  # a file that is not a scenario (none is expected)
            continue
        events = raw.get("events") if isinstance(raw, dict) else None
        for key, ev in (events or {}).items():
            if isinstance(ev, dict) and ev.get("type") in KINDS and ev["type"] not in found:
                found[ev["type"]] = (path.relative_to(shipped.SCENARIOS).as_posix(),
                                     {str(key): ev})
    return found


def render() -> str:
    """docs/schema.md's text."""
    lines = [
        "# Scenario file schema",
        "",
        "Written by `python -m sim.scenario.schema_doc` from the models in "
        "`sim/scenario/schema.py` and "
        "`sim/scenario/events.py`; do not edit by hand (a test checks it matches the code).",
        "",
        "A *number with provenance* is the id of a facts-registry entry (`kaz_gdp_2024`), "
        "`{value: 0.3, why: \"reason\"}` or `{ref: id, scale: 0.25, why: \"reason\"}`; its "
        "unit is in brackets. A *code* is an actor's code (`KAZ`, `JPN`). Mappings keyed by "
        "code or name (states, powers, instruments, events) may be changed by `extends:` "
        "entry by entry, and `null` removes an entry.",
        "",
        "## Sections",
        "",
    ]
    for model in _models():
        lines += [f"### {model.__name__}", "", _doc(model), "", *_table(model), ""]
    lines += ["## Events", "",
              "`events:` maps a name to an event; its `type` says which kind it is. Events "
              "dated before the start take effect in the first round.", ""]
    found = examples()
    for tag in sorted(KINDS):
        kind = KINDS[tag]
        lines += [f"### `type: {tag}`", "", _doc(kind), "", *_table(kind), ""]
        if tag in found:
            where, ev = found[tag]
            text = yaml.safe_dump({"events": ev}, sort_keys=False, allow_unicode=True,
                                  default_flow_style=None, width=96).rstrip()
            lines += [f"Example (from `scenarios/{where}`):", "", "```yaml", text, "```", ""]
        else:
            lines += ["No shipped scenario uses this kind yet.", ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        same = OUT.is_file() and OUT.read_text(encoding="utf-8") == text
        if not same:
            print(f"out of date: {OUT} (python -m sim.scenario.schema_doc rewrites it)")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
