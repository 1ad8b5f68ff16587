"""Arithmetic whose last bit is pinned: what the scenario's events and the model's rules share."""

from __future__ import annotations

import numpy as np


def power(base: float | np.ndarray, exponent: float) -> float | np.ndarray:
    """``base ** exponent`` with Python's own power, for a number or each number of an array.

    numpy's vectorised power may differ from Python's in the last bit. A scenario's numbers are
    raised to powers with Python's; so is each parameter set's in a batch (:mod:`sim.runs.batch`),
    which therefore gives the same bits as its scenario alone.
    """
    if isinstance(base, np.ndarray):
        return np.array([b**exponent for b in base.ravel().tolist()]).reshape(base.shape)
    return float(base**exponent)
