"""NPG (variant: rng.choice on exact d + Gumbel-max actions, scipy pinvh, step in the eigenbasis, CG pre-check)."""

from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.linalg

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
    A = np.eye(mdp.num_states) - mdp.gamma * P_pi.T
    lu = scipy.linalg.lu_factor(A)
    d = scipy.linalg.lu_solve(lu, (1.0 - mdp.gamma) * mdp.mu0)
    d = np.maximum(d, 0.0)
    return d / d.sum()


def sample_state_actions(
    mdp: TabularMDP, policy: LogLinearPolicy, theta: ArrayLike, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    theta = check_theta(theta, policy.num_features)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    d = _state_distribution(mdp, policy.probs(theta))
    states = rng.choice(mdp.num_states, size=int(n), p=d)
    logits = policy.logits(theta)[states]  # -inf where masked
    noise = rng.gumbel(size=logits.shape)
    actions = np.argmax(logits + noise, axis=1)  # Gumbel-max: exact softmax draw
    return states.astype(np.int32), actions.astype(np.int32)


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
        return scipy.linalg.solve(F + damping * np.eye(g.size), g, assume_a="sym")
    fs = np.abs(F).max() if F.size else 0.0
    if fs == 0.0:
        return np.zeros(g.shape)
    return (scipy.linalg.pinvh(F / fs) @ g) / fs


def trust_region_step(F: ArrayLike, g: ArrayLike, delta: float) -> np.ndarray:
    F, g = _check_system(F, g)
    if not delta > 0:
        raise ValueError(f"delta must be > 0, got {delta}")
    fs = np.abs(F).max() if F.size else 0.0
    gs = np.abs(g).max() if g.size else 0.0
    if fs == 0.0 or gs == 0.0:
        return np.zeros(g.shape)
    # D is invariant to the scale of g; F / fs rescales D by sqrt(fs)
    w, U = scipy.linalg.eigh(F / fs)
    tiny = np.finfo(float).eps * g.size * np.abs(w).max()
    keep = np.abs(w) > tiny
    c = U[:, keep].T @ (g / gs)
    q = float(np.sum(c * c / w[keep]))  # g^T F^+ g, for the rescaled system
    if not q > 0:
        return np.zeros(g.shape)
    v = U[:, keep] @ (c / w[keep])
    return (np.sqrt(delta / q) / np.sqrt(fs)) * v


def conjugate_gradient(
    fvp: Callable[[np.ndarray], np.ndarray], g: ArrayLike, iters: int = 10, tol: float = 1e-10
) -> np.ndarray:
    g = as_float_array(g, "g", ndim=1)
    if isinstance(iters, bool) or not isinstance(iters, (int, np.integer)) or iters < 1:
        raise ValueError(f"iters must be an integer >= 1, got {iters!r}")
    if not callable(fvp):
        raise TypeError("fvp must be a callable v -> F v")
    x = np.zeros_like(g)
    r = g + 0.0
    p = g + 0.0
    rr = r @ r
    for _ in range(int(iters)):
        if rr < tol or rr == 0:  # "stop as soon as r^T r < tol", including before the first product
            break
        z = np.asarray(fvp(p), dtype=float)
        pz = p @ z
        if pz == 0:
            break
        alpha = rr / pz
        x = x + alpha * p
        r = r - alpha * z
        rr_new = r @ r
        p = r + (rr_new / rr) * p
        rr = rr_new
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
    out = np.zeros((int(iterations) + 1, policy.num_features))
    out[0] = theta0
    for i in range(int(iterations)):
        cur = out[i].copy()
        out[i + 1] = cur + trust_region_step(
            fisher_information(mdp, policy, cur), policy_gradient(mdp, policy, cur), delta
        )
    return out
