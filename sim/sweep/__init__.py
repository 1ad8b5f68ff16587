"""Parameter sweeps and sensitivity analysis (``sim sweep``).

spec.py     sweep files and ``--param``: schema, parsing, binding paths to a scenario
design.py   grid / LHS / Sobol' / Morris designs (SALib) and per-point seeds
outcomes.py named measures of a point over its replicates
execute.py  running points: this process, local worker processes, or a Dask cluster
store.py    the sweep folder: design, manifest, outcome chunks, resume
analyse.py  Sobol' and Morris indices (SALib), scenario discovery (PRIM, EMA Workbench)
plots.py    response curves, heatmaps, Sobol' bars, Morris and PRIM figures
run.py      the whole sweep, start to report
"""

from sim.sweep.run import SweepOutcome, SweepRequest, run_sweep

__all__ = ["SweepOutcome", "SweepRequest", "run_sweep"]
