"""Correct-but-different: numpy's lstsq instead of pinv, and a solve with damping."""

import numpy as np


def npg_direction(F, g, damping=0.0):
    F = np.asarray(F, dtype=float)
    g = np.asarray(g, dtype=float)
    if damping > 0:
        F = F + damping * np.eye(len(g))
    v, *_ = np.linalg.lstsq(F, g, rcond=1e-10)
    return v
