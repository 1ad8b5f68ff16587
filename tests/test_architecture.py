"""The package's layers: every import of sim/ (at module level, inside a function, or for
types only) points down the order docs/ARCHITECTURE.md draws, so no two sub-packages import
each other, however late the import runs.

The checker reads the source with ``ast`` (nothing is imported); its own tests build small
graphs with a cycle and with an import against the order, and check it reports them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parent.parent / "sim"

#: The sub-packages from the bottom up: each may import those before it, never one after it.
LAYERS = ("core", "scenario", "model", "outputs", "runs", "calibration", "experiments")
#: The interface above every layer: the package itself, its Python API, the command line.
INTERFACE = ("sim", "sim.__main__", "sim.api", "sim.cli")
#: The interface's packages, every module of which is the interface too (a module per command).
INTERFACE_PACKAGES = ("sim.cli",)


@dataclass(frozen=True)
class Import:
    """``source`` imports ``target`` (both dotted module names) at ``line``; ``late`` when the
    statement sits inside a function (run when called) rather than at module level."""

    source: str
    target: str
    line: int
    late: bool


def module_name(path: Path, root: Path) -> str:
    """The dotted name of a module file under ``root`` (the folder ``sim`` is in)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, name: str, is_package: bool) -> list[Import]:
    """Every import of a ``sim`` module in one module's source, wherever it stands."""
    tree = ast.parse(source)
    package = name if is_package else name.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, late: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = late or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import):
                found.extend(Import(name, a.name, child.lineno, late) for a in child.names
                             if a.name == "sim" or a.name.startswith("sim."))
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - child.level + 1]
                    target = ".".join([*base, *([child.module] if child.module else [])])
                else:
                    target = child.module or ""
                if target == "sim" or target.startswith("sim."):
                    # `from sim.x import y` may name a module y: count it as sim.x.y
                    found.extend(Import(name, f"{target}.{a.name}", child.lineno, late)
                                 for a in child.names)
            visit(child, inner)

    visit(tree, False)
    return found


def scan(root: Path) -> list[Import]:
    """The imports of every module of the package at ``root / "sim"``."""
    out: list[Import] = []
    for path in sorted((root / "sim").rglob("*.py")):
        if "scenarios" in path.relative_to(root).parts:
            continue
        name = module_name(path, root)
        out.extend(imports_of(path.read_text(encoding="utf-8"), name, path.name == "__init__.py"))
    return out


def in_interface(module: str) -> bool:
    """Whether a module is the interface: one named in INTERFACE, or one of its packages'."""
    return module in INTERFACE or module.startswith(tuple(p + "." for p in INTERFACE_PACKAGES))


def layer_of(module: str) -> str:
    """The sub-package a module belongs to (``sim.model.engine``: ``model``); for any other,
    its name under ``sim`` (``sim.api.run``: ``sim.api``)."""
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in LAYERS:
        return parts[1]
    return ".".join(parts[:2])


def against_order(found: Iterable[Import], layers: tuple[str, ...] = LAYERS) -> list[str]:
    """Each import that points up the order, or from a layer into the interface."""
    rank = {layer: i for i, layer in enumerate(layers)}
    bad = []
    for imp in found:
        src, dst = layer_of(imp.source), layer_of(imp.target)
        if src not in rank or src == dst:
            continue
        where = f"{imp.source}:{imp.line} imports {imp.target}" + (" (in a function)" if imp.late
                                                                   else "")
        if dst not in rank:
            bad.append(f"{where}: a layer imports the interface")
        elif rank[dst] > rank[src]:
            bad.append(f"{where}: {src} is below {dst}")
    return bad


def package_graph(found: Iterable[Import]) -> dict[str, set[str]]:
    """Which sub-package imports which (an edge per pair, whatever the number of imports)."""
    graph: dict[str, set[str]] = {}
    for imp in found:
        src, dst = layer_of(imp.source), layer_of(imp.target)
        if src != dst:
            graph.setdefault(src, set()).add(dst)
            graph.setdefault(dst, set())
    return graph


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one node (Tarjan's algorithm), each sorted:
    every group is a set of packages that import one another, directly or not."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return sorted(out)


FOUND = scan(SIM.parent)


def test_every_module_is_in_a_layer_or_the_interface() -> None:
    names = {module_name(p, SIM.parent) for p in SIM.rglob("*.py")
             if "scenarios" not in p.relative_to(SIM).parts}
    stray = sorted(m for m in names if layer_of(m) not in LAYERS and not in_interface(m))
    assert not stray, f"modules in no layer (move them into one, or add one to LAYERS): {stray}"


def test_no_cycle_between_sub_packages() -> None:
    found = cycles(package_graph(FOUND))
    assert not found, f"sub-packages that import one another: {found}"


def test_every_import_points_down_the_layers() -> None:
    bad = against_order(FOUND)
    assert not bad, "\n".join(bad)


def test_the_scan_sees_imports_inside_functions_and_for_types() -> None:
    src = ("from typing import TYPE_CHECKING\n"
           "from sim.core import errors\n"
           "if TYPE_CHECKING:\n    from sim.model.params import Params\n"
           "def f():\n    from sim.outputs import plots\n    import sim.runs.batch\n")
    found = imports_of(src, "sim.scenario.x", False)
    assert [(i.target, i.late) for i in found] == [
        ("sim.core.errors", False), ("sim.model.params.Params", False),
        ("sim.outputs.plots", True), ("sim.runs.batch", True)]
    assert [i.target for i in imports_of("from ..model import rules\n", "sim.scenario.x",
                                         False)] == ["sim.model.rules"]


def test_the_checker_finds_a_cycle_and_an_import_up_the_order() -> None:
    found = [Import("sim.model.engine", "sim.scenario.schema", 3, False),
             Import("sim.scenario.events", "sim.model.rules", 9, True),
             Import("sim.model.engine", "sim.core.errors", 4, False),
             Import("sim.outputs.plots", "sim.cli", 7, True),
             Import("sim.runs.batch", "sim.cli.common", 5, False)]
    assert cycles(package_graph(found)) == [["model", "scenario"]]
    assert against_order(found) == [
        "sim.scenario.events:9 imports sim.model.rules (in a function): scenario is below model",
        "sim.outputs.plots:7 imports sim.cli (in a function): a layer imports the interface",
        "sim.runs.batch:5 imports sim.cli.common: a layer imports the interface"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_interface_is_its_modules_and_its_packages_modules_only() -> None:
    assert in_interface("sim.cli") and in_interface("sim.cli.run") and in_interface("sim.api")
    assert not in_interface("sim.client") and not in_interface("sim.api.run")
    assert not in_interface("sim.model.cli")


@pytest.mark.parametrize("layer", LAYERS)
def test_each_layer_is_a_package(layer: str) -> None:
    assert (SIM / layer / "__init__.py").is_file()
