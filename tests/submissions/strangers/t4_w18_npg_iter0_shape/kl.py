"""KL divergences (variant: np.log(p) - np.log(q) with where-masks, d by power iteration)."""

from __future__ import annotations

import numpy as np

from mdp import (
    ArrayLike,
    LogLinearPolicy,
    TabularMDP,
    as_float_array,
    check_distribution,
    check_theta,
    discounted_state_distribution,
)

__all__ = ["kl_divergence", "kl_bernoulli", "kl_gaussian", "policy_kl"]


def _state_distribution(mdp, pi):
    """Power iteration d <- (1 - gamma) mu0 + gamma d P_pi, run to convergence."""
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)
    base = (1.0 - mdp.gamma) * mdp.mu0
    d = mdp.mu0.copy()
    # stop once a sweep changes d by no more than round-off (error <= change / (1 - gamma))
    tol = 4.0 * mdp.num_states * np.finfo(float).eps
    for _ in range(10_000_000):
        new = base + mdp.gamma * (d @ P_pi)
        change = np.abs(new - d).sum()
        d = new
        if change <= tol:
            break
    d = np.clip(d, 0.0, None)
    return d / d.sum()


def kl_divergence(p: ArrayLike, q: ArrayLike) -> np.ndarray:
    p = check_distribution(p, "p")
    q = check_distribution(q, "q")
    if p.shape[-1] != q.shape[-1]:
        raise ValueError(f"p and q must have the same last axis, got {p.shape} and {q.shape}")
    shape = np.broadcast_shapes(p.shape, q.shape)
    P = np.broadcast_to(p, shape)
    Q = np.broadcast_to(q, shape)
    logp = np.log(P, out=np.zeros(shape), where=P > 0)
    logq = np.log(Q, out=np.full(shape, -np.inf), where=Q > 0)
    terms = np.zeros(shape)
    np.multiply(P, logp - logq, out=terms, where=P > 0)
    return np.asarray(terms.sum(axis=-1))


def kl_bernoulli(p: ArrayLike, q: ArrayLike) -> np.ndarray:
    p = as_float_array(p, "p")
    q = as_float_array(q, "q")
    for name, arr in (("p", p), ("q", q)):
        if np.any((arr < 0) | (arr > 1)):
            raise ValueError(f"{name} must be a probability in [0, 1]")
    P = np.stack(np.broadcast_arrays(p, 1.0 - p), axis=-1)
    Q = np.stack(np.broadcast_arrays(q, 1.0 - q), axis=-1)
    return kl_divergence(P, Q)


def kl_gaussian(mu1: ArrayLike, mu2: ArrayLike, sigma: ArrayLike) -> np.ndarray:
    mu1 = as_float_array(mu1, "mu1")
    mu2 = as_float_array(mu2, "mu2")
    sigma = as_float_array(sigma, "sigma")
    if mu1.ndim == 0 or mu2.ndim == 0:
        raise ValueError("mu1 and mu2 must have at least one dimension (the last axis is summed)")
    if np.any(sigma <= 0):
        raise ValueError("sigma must be > 0")
    sq = np.add.reduce(np.square(np.subtract(mu1, mu2)), axis=-1)
    return np.asarray(np.divide(sq, np.multiply(2.0, np.square(sigma))))


def policy_kl(
    mdp: TabularMDP, policy: LogLinearPolicy, theta0: ArrayLike, theta: ArrayLike
) -> float:
    theta0 = check_theta(theta0, policy.num_features, "theta0")
    theta = check_theta(theta, policy.num_features, "theta")
    pi0 = policy.probs(theta0)
    pi = policy.probs(theta)
    d = _state_distribution(mdp, pi0)
    total = 0.0
    for s in np.flatnonzero(d > 0):
        total += d[s] * float(kl_divergence(pi0[s], pi[s]))
    return float(total)
