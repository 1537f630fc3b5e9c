"""Correct-but-different: a solution of F v = g that is not the minimum-norm one (a null-space
component of F is added), so theta wanders along directions that do not change the policy."""

import numpy as np


def npg_direction(F, g, damping=0.0):
    F = np.asarray(F, dtype=float)
    g = np.asarray(g, dtype=float)
    if damping > 0:
        return np.linalg.solve(F + damping * np.eye(len(g)), g)
    v = np.linalg.pinv(F, rcond=1e-10, hermitian=True) @ g
    eigenvalues, vectors = np.linalg.eigh(F)
    null = vectors[:, eigenvalues <= 1e-10 * max(eigenvalues.max(), 1e-300)]
    return v + null @ np.linspace(1.0, 2.0, null.shape[1])  # any null-space vector will do
