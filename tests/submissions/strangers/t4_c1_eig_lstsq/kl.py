"""KL divergences (variant: masked log differences, eigenvector state distribution)."""

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
    """d as the stationary distribution of the 'restart' chain gamma P_pi + (1 - gamma) 1 mu0^T."""
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)
    K = mdp.gamma * P_pi + (1.0 - mdp.gamma) * mdp.mu0[None, :]
    w, V = np.linalg.eig(K.T)
    i = int(np.argmin(np.abs(w - 1.0)))
    d = np.real(V[:, i])
    d = d / d.sum()
    d = np.clip(d, 0.0, None)
    return d / d.sum()


def kl_divergence(p: ArrayLike, q: ArrayLike) -> np.ndarray:
    p = check_distribution(p, "p")
    q = check_distribution(q, "q")
    if p.shape[-1] != q.shape[-1]:
        raise ValueError(f"p and q must have the same last axis, got {p.shape} and {q.shape}")
    pb, qb = np.broadcast_arrays(p, q)
    pos = pb > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        logratio = np.log(np.where(pos, pb, 1.0)) - np.log(np.where(pos, qb, 1.0))
        terms = np.where(pos, pb * logratio, 0.0)
    return np.asarray(terms.sum(axis=-1))


def kl_bernoulli(p: ArrayLike, q: ArrayLike) -> np.ndarray:
    p = as_float_array(p, "p")
    q = as_float_array(q, "q")
    for name, arr in (("p", p), ("q", q)):
        if np.any((arr < 0) | (arr > 1)):
            raise ValueError(f"{name} must be a probability in [0, 1]")
    P2 = np.stack([p, 1.0 - p], axis=-1)
    Q2 = np.stack([q, 1.0 - q], axis=-1)
    return kl_divergence(P2, Q2)


def kl_gaussian(mu1: ArrayLike, mu2: ArrayLike, sigma: ArrayLike) -> np.ndarray:
    mu1 = as_float_array(mu1, "mu1")
    mu2 = as_float_array(mu2, "mu2")
    sigma = as_float_array(sigma, "sigma")
    if mu1.ndim == 0 or mu2.ndim == 0:
        raise ValueError("mu1 and mu2 must have at least one dimension (the last axis is summed)")
    if np.any(sigma <= 0):
        raise ValueError("sigma must be > 0")
    diff = mu1 - mu2
    sq = np.einsum("...i,...i->...", diff, diff)
    return np.asarray(sq / (2.0 * sigma * sigma))


def policy_kl(
    mdp: TabularMDP, policy: LogLinearPolicy, theta0: ArrayLike, theta: ArrayLike
) -> float:
    theta0 = check_theta(theta0, policy.num_features, "theta0")
    theta = check_theta(theta, policy.num_features, "theta")
    pi0 = policy.probs(theta0)
    pi = policy.probs(theta)
    d = _state_distribution(mdp, pi0)
    per_state = kl_divergence(pi0, pi)
    with np.errstate(invalid="ignore"):
        weighted = np.where(d > 0, d * per_state, 0.0)
    return float(weighted.sum())
