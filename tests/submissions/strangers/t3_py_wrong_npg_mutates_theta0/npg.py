"""Natural policy gradient: sampling, the NPG direction, the trust-region step, CG, and the loop."""

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


def sample_state_actions(
    mdp: TabularMDP, policy: LogLinearPolicy, theta: ArrayLike, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw n i.i.d. pairs ``(s, a)`` from ``d^theta(s) pi_theta(a|s)``.

    ``d^theta(s) = (1 - gamma) sum_t gamma^t Pr(s_t = s)`` is the state of a rollout from
    ``s_0 ~ mu0`` stopped at a random time ``T ~ Geometric(1 - gamma)`` on {0, 1, 2, ...}
    (``Pr(T = t) = (1 - gamma) gamma^t``; note t starts at 0). Either simulate those rollouts,
    vectorised over the n samples, or draw directly from the exact ``d^theta``; both are correct.

    Lecture erratum: in the algorithm box samples come from ``d^{pi_theta_i}`` (the current
    policy), not from ``d^{pi_0}``.

    Args:
        mdp: the MDP (S states, A actions); policy: features (S, A, k); theta: shape (k,).
        n: number of samples, >= 1.
        rng: the ``numpy.random.Generator`` to draw from (use it, and nothing else).

    Returns:
        ``(states, actions)``: two integer arrays of shape (n,).
    """
    theta = check_theta(theta, policy.num_features)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    pi = policy.probs(theta)
    d = discounted_state_distribution(mdp, pi)
    states = rng.choice(policy.num_states, size=n, p=d)
    cdf = np.cumsum(pi[states], axis=1)
    u = rng.random(n)
    actions = (u[:, None] >= cdf).sum(axis=1)
    actions = np.minimum(actions, policy.num_actions - 1)
    # guard against round-off landing on a masked action
    bad = pi[states, actions] == 0
    if np.any(bad):
        actions[bad] = np.argmax(pi[states[bad]], axis=1)
    return states.astype(np.int64), actions.astype(np.int64)


def _check_system(F: ArrayLike, g: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    F = as_float_array(F, "F", ndim=2)
    g = as_float_array(g, "g", ndim=1)
    if F.shape != (g.size, g.size):
        raise ValueError(f"F must have shape (k, k) = ({g.size}, {g.size}) to match g, got {F.shape}")
    return F, g


def npg_direction(F: ArrayLike, g: ArrayLike, damping: float = 0.0) -> np.ndarray:
    """The natural gradient direction.

    ``v = F^+ g`` (Moore-Penrose pseudo-inverse: F is singular for tabular softmax, so do not use
    ``inv``); with ``damping > 0``, ``v = (F + damping I)^{-1} g``.

    Args:
        F: Fisher matrix, shape (k, k), symmetric positive semi-definite.
        g: policy gradient, shape (k,).
        damping: Tikhonov damping, >= 0.

    Returns:
        ``v``, shape (k,).
    """
    F, g = _check_system(F, g)
    if not damping >= 0:
        raise ValueError(f"damping must be >= 0, got {damping}")
    if not np.any(g):
        return np.zeros_like(g)  # F^+ 0 = 0 even if pinv(F) overflows
    if damping > 0:
        return np.linalg.solve(F + damping * np.eye(g.size), g)
    return np.linalg.pinv(F) @ g


def trust_region_step(F: ArrayLike, g: ArrayLike, delta: float) -> np.ndarray:
    """The NPG step with a trust region in the Fisher norm (lecture convention).

    Maximise ``g^T D`` subject to ``D^T F D <= delta``:
    ``D = sqrt(delta / (g^T F^+ g)) F^+ g``, and ``D = 0`` when ``g^T F^+ g = 0`` (zero gradient).
    Then ``D^T F D = delta``. (TRPO writes ``1/2 D^T F D <= delta``, which gives
    ``sqrt(2 delta / ...)``; this course does not use that convention.)

    Args:
        F: Fisher matrix, shape (k, k); g: gradient, shape (k,); delta: trust-region size, > 0.

    Returns:
        ``D``, shape (k,).
    """
    F, g = _check_system(F, g)
    if not delta > 0:
        raise ValueError(f"delta must be > 0, got {delta}")
    if not np.any(g):
        return np.zeros_like(g)
    v = np.linalg.pinv(F) @ g
    quad = float(g @ v)
    if not quad > 0:
        return np.zeros_like(g)
    return np.sqrt(delta / quad) * v


def conjugate_gradient(
    fvp: Callable[[np.ndarray], np.ndarray], g: ArrayLike, iters: int = 10, tol: float = 1e-10
) -> np.ndarray:
    """Solve ``F x = g`` by conjugate gradient, using only Fisher-vector products.

    Start from ``x = 0``, ``r = p = g``; each iteration calls ``z = fvp(p) = F p`` once, then
    ``alpha = r^T r / p^T z``, ``x += alpha p``, ``r -= alpha z``, ``p = r + (r_new^T r_new / r^T r) p``.
    Stop after ``iters`` calls of ``fvp`` or as soon as ``r^T r < tol``. For a k x k positive
    definite F, k iterations solve the system exactly (up to round-off).

    Args:
        fvp: callable ``v -> F v``, shapes (k,) -> (k,). It is the only access to F.
        g: right-hand side, shape (k,).
        iters: maximum number of ``fvp`` calls, >= 1.
        tol: stop when the squared residual ``r^T r`` is below this.

    Returns:
        ``x``, shape (k,).
    """
    g = as_float_array(g, "g", ndim=1)
    if isinstance(iters, bool) or not isinstance(iters, (int, np.integer)) or iters < 1:
        raise ValueError(f"iters must be an integer >= 1, got {iters!r}")
    if not callable(fvp):
        raise TypeError("fvp must be a callable v -> F v")
    x = np.zeros_like(g)
    r = g.copy()
    p = g.copy()
    rr = float(r @ r)
    for _ in range(iters):
        if rr < tol:
            break
        z = np.asarray(fvp(p), dtype=float)
        alpha = rr / float(p @ z)
        x = x + alpha * p
        r = r - alpha * z
        rr_new = float(r @ r)
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
    """Natural policy gradient with the trust-region step size.

    ``theta_{i+1} = theta_i + trust_region_step(F(theta_i), grad J(theta_i), delta)``, with the exact
    Fisher matrix and gradient recomputed at every iterate.

    Args:
        mdp: the MDP; policy: features (S, A, k); theta0: start, shape (k,).
        delta: trust-region size, > 0; iterations: number of updates, >= 0.

    Returns:
        the iterates ``theta_0, ..., theta_iterations``, shape (iterations + 1, k), row 0 is theta0.
    """
    theta0 = check_theta(theta0, policy.num_features, "theta0")
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or iterations < 0:
        raise ValueError(f"iterations must be an integer >= 0, got {iterations!r}")
    if not delta > 0:
        raise ValueError(f"delta must be > 0, got {delta}")
    thetas = np.zeros((iterations + 1, theta0.size))
    thetas[0] = theta0
    theta = theta0
    for i in range(iterations):
        F = fisher_information(mdp, policy, theta)
        g = policy_gradient(mdp, policy, theta)
        theta += trust_region_step(F, g, delta)
        thetas[i + 1] = theta
    return thetas
