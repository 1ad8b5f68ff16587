"""Questions put to the model: runs, comparisons, sweeps, policy search, explanations, the
explorer. Imports sim.calibration and below.
"""
