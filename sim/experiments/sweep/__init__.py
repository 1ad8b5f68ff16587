"""Parameter sweeps and sensitivity analysis (``sim sweep``).

``sim.sweep(source, ...)`` (:func:`sim.api.sweep`) runs one from Python and returns its
outcomes and analysis; its points are stored as they finish (in a temporary folder unless
``out`` is given) so that it can be resumed.

spec.py     sweep files and ``--param``: schema, parsing, binding paths to a scenario
design.py   grid / LHS / Sobol' / Morris designs (SALib) and per-point seeds
execute.py  running points: this process, local worker processes, or a Dask cluster
store.py    the sweep folder: design, manifest, outcome chunks, resume
analyse.py  Sobol' and Morris indices (SALib), scenario discovery (PRIM, EMA Workbench)
plots.py    response curves, heatmaps, Sobol' bars, Morris and PRIM figures
run.py      the whole sweep, start to report


(A point's outcomes are measures of :mod:`sim.outputs.outcomes`.) The entry points are imported on
first use, so that importing a submodule (``sim.experiments.sweep.spec``) does not import them all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.experiments.sweep.run import SweepOutcome, SweepRequest, run_sweep

__all__ = ["SweepOutcome", "SweepRequest", "run_sweep"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from sim.experiments.sweep import run

        return getattr(run, name)
    raise AttributeError(f"module 'sim.sweep' has no attribute {name!r}")
