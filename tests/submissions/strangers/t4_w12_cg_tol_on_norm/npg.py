"""NPG (variant: inverse-CDF sampler on exact d, lstsq direction, post-checked CG)."""

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


def _state_distribution(mdp, pi):
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)
    K = mdp.gamma * P_pi + (1.0 - mdp.gamma) * mdp.mu0[None, :]
    w, V = np.linalg.eig(K.T)
    i = int(np.argmin(np.abs(w - 1.0)))
    d = np.real(V[:, i])
    d = d / d.sum()
    d = np.clip(d, 0.0, None)
    return d / d.sum()


def sample_state_actions(
    mdp: TabularMDP, policy: LogLinearPolicy, theta: ArrayLike, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    theta = check_theta(theta, policy.num_features)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    pi = policy.probs(theta)
    d = _state_distribution(mdp, pi)
    joint = (d[:, None] * pi).ravel()
    cdf = np.cumsum(joint)
    u = rng.random(int(n)) * cdf[-1]
    idx = np.searchsorted(cdf, u, side="right")
    last = int(np.flatnonzero(joint > 0)[-1])
    idx = np.minimum(idx, last)
    A = policy.num_actions
    return (idx // A).astype(np.int64), (idx % A).astype(np.int64)


def _check_system(F: ArrayLike, g: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    F = as_float_array(F, "F", ndim=2)
    g = as_float_array(g, "g", ndim=1)
    if F.shape != (g.size, g.size):
        raise ValueError(f"F must have shape (k, k) = ({g.size}, {g.size}) to match g, got {F.shape}")
    return F, g


def npg_direction(F: ArrayLike, g: ArrayLike, damping: float = 0.0) -> np.ndarray:
    F, g = _check_system(F, g)
    if not damping >= 0:
        raise ValueError(f"damping must be >= 0, got {damping}")
    if damping > 0:
        return np.linalg.solve(F + damping * np.eye(g.size), g)
    return np.linalg.lstsq(F, g, rcond=None)[0]


def trust_region_step(F: ArrayLike, g: ArrayLike, delta: float) -> np.ndarray:
    F, g = _check_system(F, g)
    if not delta > 0:
        raise ValueError(f"delta must be > 0, got {delta}")
    v = np.linalg.lstsq(F, g, rcond=None)[0]
    q = float(g @ v)
    if not q > 0:
        return np.zeros_like(g)
    return np.sqrt(delta / q) * v


def conjugate_gradient(
    fvp: Callable[[np.ndarray], np.ndarray], g: ArrayLike, iters: int = 10, tol: float = 1e-10
) -> np.ndarray:
    g = as_float_array(g, "g", ndim=1)
    if isinstance(iters, bool) or not isinstance(iters, (int, np.integer)) or iters < 1:
        raise ValueError(f"iters must be an integer >= 1, got {iters!r}")
    if not callable(fvp):
        raise TypeError("fvp must be a callable v -> F v")
    x = np.zeros_like(g)
    r = g.copy()
    p = g.copy()
    rr = float(r @ r)
    if rr == 0.0:
        return x
    for _ in range(iters):
        z = np.asarray(fvp(p), dtype=float)
        pz = float(p @ z)
        if pz == 0.0:
            break
        alpha = rr / pz
        x = x + alpha * p
        r = r - alpha * z
        rr_new = float(r @ r)
        p = r + (rr_new / rr) * p
        rr = rr_new
        if np.sqrt(rr) < tol or rr == 0.0:
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
    thetas = np.empty((int(iterations) + 1, theta0.size))
    thetas[0] = theta0
    theta = theta0.copy()
    for i in range(int(iterations)):
        F = fisher_information(mdp, policy, theta)
        g = policy_gradient(mdp, policy, theta)
        theta = theta + trust_region_step(F, g, delta)
        thetas[i + 1] = theta
    return thetas
