"""Correct-but-different: scipy.linalg for the pseudo-inverse, the damped solve and the step."""

import numpy as np
import scipy.linalg


def npg_direction(F, g, damping=0.0):
    F = np.asarray(F, dtype=float)
    g = np.asarray(g, dtype=float)
    if damping > 0:
        return scipy.linalg.solve(F + damping * np.eye(len(g)), g, assume_a="pos")
    return scipy.linalg.pinvh(F, rtol=1e-10) @ g


def trust_region_step(F, g, delta):
    F = np.asarray(F, dtype=float)
    g = np.asarray(g, dtype=float)
    v, *_ = scipy.linalg.lstsq(F, g, cond=1e-10)
    size = float(g @ v)
    if size <= 0.0:
        return np.zeros_like(g)
    return np.sqrt(delta / size) * v
