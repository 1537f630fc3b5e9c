"""NPG (variant: rollouts with per-step Bernoulli(1 - gamma) stopping, null-space-projector solve, generator CG)."""

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


def _categorical(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row-wise inverse-CDF draws; never returns a zero-probability column."""
    cdf = np.cumsum(probs, axis=-1)
    u = rng.random(probs.shape[0])[:, None] * cdf[:, -1:]
    idx = (u >= cdf).sum(axis=-1)
    K = probs.shape[-1]
    lastpos = K - 1 - np.argmax(probs[:, ::-1] > 0, axis=-1)
    return np.minimum(idx, lastpos)


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
    S = mdp.num_states
    state = _categorical(np.tile(mdp.mu0, (n, 1)), rng)
    running = np.arange(n)
    while running.size:
        # each running rollout stops here with probability 1 - gamma (T ~ Geometric on {0, 1, ...})
        go_on = rng.random(running.size) < mdp.gamma
        running = running[go_on]
        if not running.size:
            break
        s = state[running]
        a = _categorical(pi[s], rng)
        state[running] = _categorical(mdp.P[s, a].reshape(-1, S), rng)
    actions = _categorical(pi[state], rng)
    return state, actions


def _check_system(F: ArrayLike, g: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    F = as_float_array(F, "F", ndim=2)
    g = as_float_array(g, "g", ndim=1)
    if F.shape != (g.size, g.size):
        raise ValueError(f"F must have shape (k, k) = ({g.size}, {g.size}) to match g, got {F.shape}")
    return F, g


def _min_norm_solve(F: np.ndarray, g: np.ndarray) -> np.ndarray:
    """F^+ g = (F + c N)^{-1} g - N g / c, with N the projector on the (numerical) null space of F."""
    fs = np.abs(F).max() if F.size else 0.0
    if fs == 0.0:
        return np.zeros_like(g)
    Fs = 0.5 * (F + F.T) / fs
    gs = np.abs(g).max()
    if gs == 0.0:
        return np.zeros_like(g)
    return (gs / fs) * _min_norm_unit(Fs, g / gs)


def _min_norm_unit(Fs: np.ndarray, g: np.ndarray) -> np.ndarray:
    w, U = np.linalg.eigh(Fs)
    c = np.abs(w).max() if w.size else 0.0
    if c == 0.0:
        return np.zeros_like(g)
    null = np.abs(w) <= g.size * np.finfo(float).eps * c
    Un = U[:, null]
    N = Un @ Un.T
    # zero out the numerically-null eigen-directions of F before adding c N
    Fr = U[:, ~null] @ np.diag(w[~null]) @ U[:, ~null].T
    x = np.linalg.solve(Fr + c * N, g)
    return x - (N @ g) / c


def npg_direction(F: ArrayLike, g: ArrayLike, damping: float = 0.0) -> np.ndarray:
    F, g = _check_system(F, g)
    if not damping >= 0:
        raise ValueError(f"damping must be >= 0, got {damping}")
    if damping > 0:
        return np.linalg.solve(F + np.diag(np.full(g.size, float(damping))), g)
    return _min_norm_solve(F, g)


def trust_region_step(F: ArrayLike, g: ArrayLike, delta: float) -> np.ndarray:
    F, g = _check_system(F, g)
    if not delta > 0:
        raise ValueError(f"delta must be > 0, got {delta}")
    v = _min_norm_solve(F, g)
    q = float(np.dot(g, v))
    if q <= 0.0:
        return np.zeros_like(g)
    return v * (np.sqrt(delta) / np.sqrt(q))


def _cg_steps(fvp, g, tol):
    x = np.zeros_like(g)
    r = np.copy(g)
    p = np.copy(g)
    rr = float(np.dot(r, r))
    while rr != 0.0:
        z = np.asarray(fvp(p), dtype=float)
        pz = float(np.dot(p, z))
        if pz == 0.0:
            return
        alpha = rr / pz
        x = x + alpha * p
        r = r - alpha * z
        rr_new = float(np.dot(r, r))
        p = r + (rr_new / rr) * p
        rr = rr_new
        yield x, rr < tol


def conjugate_gradient(
    fvp: Callable[[np.ndarray], np.ndarray], g: ArrayLike, iters: int = 10, tol: float = 1e-10
) -> np.ndarray:
    g = as_float_array(g, "g", ndim=1)
    if isinstance(iters, bool) or not isinstance(iters, (int, np.integer)) or iters < 1:
        raise ValueError(f"iters must be an integer >= 1, got {iters!r}")
    if not callable(fvp):
        raise TypeError("fvp must be a callable v -> F v")
    x = np.zeros_like(g)
    for count, (x, done) in enumerate(_cg_steps(fvp, g, tol), start=1):
        if done or count >= iters:
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
    steps = [np.zeros_like(theta0)]
    theta = np.array(theta0, copy=True)
    for _ in range(int(iterations)):
        D = trust_region_step(fisher_information(mdp, policy, theta), policy_gradient(mdp, policy, theta), delta)
        steps.append(D)
        theta = theta + D
    # rows: theta0 + cumulative steps, recomputed exactly as the iterates used above
    out = np.empty((len(steps), theta0.size))
    acc = np.array(theta0, copy=True)
    for i, D in enumerate(steps):
        acc = acc + D
        out[i] = acc
    return out
