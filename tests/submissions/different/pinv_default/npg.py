"""Correct-but-different: what most students write, np.linalg.pinv with numpy's default cut-off
(1e-15 relative), no hermitian flag, and numpy's solve for damping."""

import numpy as np


def npg_direction(F, g, damping=0.0):
    if damping > 0:
        return np.linalg.solve(F + damping * np.eye(len(g)), g)
    return np.linalg.pinv(F) @ g


def trust_region_step(F, g, delta):
    v = np.linalg.pinv(F) @ g
    if g @ v <= 0:
        return np.zeros_like(g)
    return np.sqrt(delta / (g @ v)) * v
