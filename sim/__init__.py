"""Scenario simulator of regional alignment.

Flow: YAML -> ``Scenario`` (validated, frozen) -> ``Params`` (arrays) -> Mesa model or
ensemble engine -> tidy tables -> summaries, plots.

From Python (:mod:`sim.api`; docs/api.md)::

    import sim

    c = sim.compare("no_japan", "tokyo_initiative")
    print(c.answer())
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from sim.api import CompareResult, RunResult, SweepResult, compare, run, sweep

__all__ = ["CompareResult", "RunResult", "SweepResult", "compare", "run", "sweep"]


def __getattr__(name: str) -> Any:
    """The Python interface's results (:mod:`sim.api`), imported on first use so that
    ``import sim`` (and the command line's start) stays light."""
    if name in __all__:
        from sim import api

        return getattr(api, name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def _function(name: str) -> property:
    """``sim.<name>`` as the interface's function, though a module of that name exists.

    Importing the module ``sim.<name>`` sets it as an attribute of the package; that setting is
    kept apart, so ``sim.run`` stays the function (the module is ``sys.modules['sim.run']``).
    """

    def get(module: types.ModuleType) -> Any:
        from sim import api

        return getattr(api, name)

    def keep(module: types.ModuleType, value: Any) -> None:
        module.__dict__[f"_{name}_module"] = value

    return property(get, keep, doc=f"sim.api.{name}")


class _Package(types.ModuleType):
    """The ``sim`` package, whose ``run``, ``compare`` and ``sweep`` are functions."""

    run = _function("run")
    compare = _function("compare")
    sweep = _function("sweep")


sys.modules[__name__].__class__ = _Package
