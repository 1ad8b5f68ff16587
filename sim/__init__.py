"""Scenario simulator of regional alignment.

Flow: YAML -> ``Scenario`` (validated, frozen) -> ``Params`` (arrays) -> Mesa model or
ensemble engine -> tidy tables -> summaries, plots.

From Python (:mod:`sim.api`; docs/api.md)::

    import sim

    c = sim.compare("no_japan", "tokyo_initiative")
    print(c.answer())
"""

from __future__ import annotations

import importlib
import inspect
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


class _Interface(types.ModuleType):
    """A module of the package that is also the Python interface's function of its name:
    ``sim.run`` is the module ``sim/experiments/run.py``, and ``sim.run(...)`` calls
    :func:`sim.api.run`.

    Its signature (what ``inspect.signature``, ``help`` and editors show) is the function's.
    """

    def _function(self) -> Any:
        from sim import api

        return getattr(api, self.__name__.rsplit(".", 1)[1])

    @property
    def __signature__(self) -> inspect.Signature:
        return inspect.signature(self._function())

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._function()(*args, **kwargs)


def _interface(name: str) -> property:
    """``sim.<name>``: the module ``sim.experiments.<name>``, callable as the interface's
    function."""

    def get(package: types.ModuleType) -> Any:
        module = importlib.import_module(f"sim.experiments.{name}")
        if type(module) is types.ModuleType:
            module.__class__ = _Interface
        return module

    def keep(package: types.ModuleType, value: Any) -> None:
        """Importing the module sets it on the package: it is what ``get`` returns anyway."""

    return property(get, keep, doc=f"the module sim.experiments.{name}, callable as sim.api.{name}")


class _Package(types.ModuleType):
    """The ``sim`` package, whose ``run``, ``compare`` and ``sweep`` modules are callable."""

    run = _interface("run")
    compare = _interface("compare")
    sweep = _interface("sweep")


sys.modules[__name__].__class__ = _Package
