"""NPG (variant: geometric-stopping rollouts, eigh pseudo-inverse with own cutoff, step normalised by sqrt(v^T F v))."""

from __future__ import annotations

from typing import Callable

import numpy as np

from fisher import fisher_information
from mdp import (
    ArrayLike,
    LogLinearPolicy,
    TabularMDP,
    as_float_array,
    check_theta,
    discounted_state_distribution,
    policy_gradient,
)

__all__ = [
    "sample_state_actions",
    "npg_direction",
    "trust_region_step",
    "conjugate_gradient",
    "natural_policy_gradient",
]


def _draw_rows(prob_rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One categorical draw per row of prob_rows (m, K), by inverse CDF."""
    cdf = np.cumsum(prob_rows, axis=1)
    u = rng.random(prob_rows.shape[0]) * cdf[:, -1]
    idx = np.sum(cdf <= u[:, None], axis=1)
    K = prob_rows.shape[1]
    last_pos = K - 1 - np.argmax((prob_rows > 0)[:, ::-1], axis=1)
    return np.minimum(idx, last_pos)


def sample_state_actions(
    mdp: TabularMDP, policy: LogLinearPolicy, theta: ArrayLike, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    theta = check_theta(theta, policy.num_features)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    n = int(n)
    pi = policy.probs(theta)
    # stopping time T on {0, 1, ...} with P(T = t) = (1 - gamma) gamma^t
    T = rng.geometric(1.0 - mdp.gamma, size=n) - 1
    s = _draw_rows(np.broadcast_to(mdp.mu0, (n, mdp.num_states)), rng)
    t = 0
    active = np.flatnonzero(T > t)
    while active.size:
        sa = s[active]
        a = _draw_rows(pi[sa], rng)
        s[active] = _draw_rows(mdp.P[sa, a], rng)
        t += 1
        active = active[T[active] > t]
    actions = _draw_rows(pi[s], rng)
    return s.astype(np.int64), actions.astype(np.int64)


def _check_system(F: ArrayLike, g: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    F = as_float_array(F, "F", ndim=2)
    g = as_float_array(g, "g", ndim=1)
    if F.shape != (g.size, g.size):
        raise ValueError(f"F must have shape (k, k) = ({g.size}, {g.size}) to match g, got {F.shape}")
    return F, g


def _pinv_apply(F: np.ndarray, g: np.ndarray) -> np.ndarray:
    """F^+ g through the eigendecomposition of the (symmetric) F, cutting |w| <= k eps max|w|."""
    fs = np.abs(F).max() if F.size else 0.0
    gs = np.abs(g).max() if g.size else 0.0
    if fs == 0.0 or gs == 0.0:
        return np.zeros_like(g)
    # work with F / fs and g / gs (scale-free), undo at the end
    return (gs / fs) * _pinv_apply_unit(F / fs, g / gs)


def _pinv_apply_unit(F: np.ndarray, g: np.ndarray) -> np.ndarray:
    w, U = np.linalg.eigh(0.5 * (F + F.T))
    wmax = np.abs(w).max()
    keep = np.abs(w) > g.size * np.finfo(float).eps * wmax
    c = U.T @ g
    coef = np.zeros_like(c)
    coef[keep] = c[keep] / w[keep]
    return U @ coef


def npg_direction(F: ArrayLike, g: ArrayLike, damping: float = 0.0) -> np.ndarray:
    F, g = _check_system(F, g)
    if not damping >= 0:
        raise ValueError(f"damping must be >= 0, got {damping}")
    if damping > 0:
        Fd = F + damping * np.eye(g.size)
        return np.linalg.solve(Fd, g)
    return _pinv_apply(F, g)


def trust_region_step(F: ArrayLike, g: ArrayLike, delta: float) -> np.ndarray:
    F, g = _check_system(F, g)
    if not delta > 0:
        raise ValueError(f"delta must be > 0, got {delta}")
    v = _pinv_apply(F, g)
    curv = float(v @ (F @ v))  # = g^T F^+ g
    if not curv > 0:
        return np.zeros_like(g)
    return v * (np.sqrt(delta) / np.sqrt(curv))


def conjugate_gradient(
    fvp: Callable[[np.ndarray], np.ndarray], g: ArrayLike, iters: int = 10, tol: float = 1e-10
) -> np.ndarray:
    g = as_float_array(g, "g", ndim=1)
    if isinstance(iters, bool) or not isinstance(iters, (int, np.integer)) or iters < 1:
        raise ValueError(f"iters must be an integer >= 1, got {iters!r}")
    if not callable(fvp):
        raise TypeError("fvp must be a callable v -> F v")
    x = np.zeros(g.shape)
    r = np.array(g, dtype=float, copy=True)
    p = r.copy()
    rr = np.dot(r, r)
    calls = 0
    while calls < iters and rr != 0.0:
        z = np.asarray(fvp(p), dtype=float).reshape(g.shape)
        calls += 1
        pz = np.dot(p, z)
        if pz == 0.0:
            break
        alpha = rr / pz
        x += alpha * p
        r -= alpha * z
        rr_new = np.dot(r, r)
        p = r + (rr_new / rr) * p
        rr = rr_new
        if rr < tol:
            break
    return x


def natural_policy_gradient(
    mdp: TabularMDP,
    policy: LogLinearPolicy,
    theta0: ArrayLike,
    delta: float,
    iterations: int,
) -> np.ndarray:
    theta0 = check_theta(theta0, policy.num_features, "theta0")
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or iterations < 0:
        raise ValueError(f"iterations must be an integer >= 0, got {iterations!r}")
    if not delta > 0:
        raise ValueError(f"delta must be > 0, got {delta}")
    rows = [np.array(theta0, dtype=float, copy=True)]
    for _ in range(int(iterations)):
        th = rows[-1]
        step = trust_region_step(fisher_information(mdp, policy, th), policy_gradient(mdp, policy, th), delta)
        rows.append(th + step)
    return np.vstack(rows)
