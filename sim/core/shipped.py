"""The scenarios shipped with the package, and finding a scenario by its name.

The package carries the scenario library (``scenarios/``: the scenario files, the facts
registry, ``history/``, ``priors/``, ``posteriors/``, ``sweeps/``, ``examples/``) as package
data under ``sim/scenarios``; in a checkout that is a link to the repository's own
``scenarios/``, so the files edited there are the files used. A scenario argument that names
no file is looked up there by name: ``tokyo_initiative``, ``history/central_asia_1992`` or
``sweeps/tokyo_drivers.yaml`` work from any folder, installed or not.
"""

from __future__ import annotations

from pathlib import Path

#: The shipped scenario library (resolved: in a checkout, the repository's ``scenarios/``).
SCENARIOS = (Path(__file__).parents[1] / "scenarios").resolve()
#: The flagship scenario.
FLAGSHIP = SCENARIOS / "tokyo_initiative.yaml"


def candidates(name: Path | str) -> list[Path]:
    """Where a shipped scenario called ``name`` would be (with ``.yaml`` added if missing)."""
    rel = Path(name)
    if rel.is_absolute() or ".." in rel.parts:
        return []
    out = [SCENARIOS / rel]
    if rel.suffix not in (".yaml", ".yml"):
        out.append(SCENARIOS / rel.with_name(rel.name + ".yaml"))
    return out


def locate(path: Path | str) -> Path:
    """A scenario (or sweep, or priors) file: ``path`` itself if it exists, else the shipped
    file of that name; ``path`` unchanged if neither exists (reading it then says so)."""
    given = Path(path)
    if given.exists():
        return given
    for candidate in candidates(given):
        if candidate.is_file():
            return candidate
    return given


def names() -> list[str]:
    """The shipped scenarios' names (top-level files), for messages."""
    return sorted(p.stem for p in SCENARIOS.glob("*.yaml"))
