"""Correct-but-different: the pseudo-inverse from an eigendecomposition (np.linalg.eigh)."""

import numpy as np


def npg_direction(F, g, damping=0.0):
    F = np.asarray(F, dtype=float)
    g = np.asarray(g, dtype=float)
    eigenvalues, vectors = np.linalg.eigh(F + damping * np.eye(len(g)))
    keep = eigenvalues > 1e-9 * max(eigenvalues.max(), 0.0)
    coefficients = np.where(keep, vectors.T @ g / np.where(keep, eigenvalues, 1.0), 0.0)
    return vectors @ coefficients
