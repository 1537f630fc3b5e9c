"""Correct-but-different: CG stopping on the relative residual norm ||r|| <= tol * ||g||."""

import numpy as np


def conjugate_gradient(fvp, g, iters=10, tol=1e-10):
    g = np.asarray(g, dtype=float)
    x = np.zeros_like(g)
    r = g.copy()
    p = r.copy()
    g_norm = np.linalg.norm(g)
    for _ in range(iters):
        if np.linalg.norm(r) <= tol * g_norm:
            break
        z = fvp(p)
        rr = r @ r
        alpha = rr / (p @ z)
        x = x + alpha * p
        r = r - alpha * z
        p = r + (r @ r) / rr * p
    return x
