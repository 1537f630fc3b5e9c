"""KL divergences (variant: scipy.special.rel_entr, log-space policy KL, d by doubling)."""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp, rel_entr

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
    """d^T = (1 - gamma) mu0^T sum_t (gamma P_pi)^t, the series summed by repeated squaring."""
    M = mdp.gamma * np.einsum("sa,sat->st", pi, mdp.P)
    d = (1.0 - mdp.gamma) * mdp.mu0.copy()
    # invariant: d = (1-gamma) mu0^T (I + M + ... + M^(2^j - 1)), M = (gamma P)^(2^j)
    for _ in range(200):
        if not np.any(M):
            break
        d = d + d @ M
        M = M @ M
        if np.abs(M).max() < 1e-300:
            break
    d = np.clip(d, 0.0, None)
    return d / d.sum()


def kl_divergence(p: ArrayLike, q: ArrayLike) -> np.ndarray:
    p = check_distribution(p, "p")
    q = check_distribution(q, "q")
    if p.shape[-1] != q.shape[-1]:
        raise ValueError(f"p and q must have the same last axis, got {p.shape} and {q.shape}")
    return np.asarray(np.sum(rel_entr(p, q), axis=-1))


def kl_bernoulli(p: ArrayLike, q: ArrayLike) -> np.ndarray:
    p = as_float_array(p, "p")
    q = as_float_array(q, "q")
    for name, arr in (("p", p), ("q", q)):
        if np.any((arr < 0) | (arr > 1)):
            raise ValueError(f"{name} must be a probability in [0, 1]")
    return np.asarray(rel_entr(p, q) + rel_entr(1.0 - p, 1.0 - q))


def kl_gaussian(mu1: ArrayLike, mu2: ArrayLike, sigma: ArrayLike) -> np.ndarray:
    mu1 = as_float_array(mu1, "mu1")
    mu2 = as_float_array(mu2, "mu2")
    sigma = as_float_array(sigma, "sigma")
    if mu1.ndim == 0 or mu2.ndim == 0:
        raise ValueError("mu1 and mu2 must have at least one dimension (the last axis is summed)")
    if np.any(sigma <= 0):
        raise ValueError("sigma must be > 0")
    z = (mu1 - mu2) / sigma[..., None]
    return np.asarray(0.5 * np.sum(z * z, axis=-1))


def _log_probs(policy, theta):
    z = policy.logits(theta)  # -inf where masked
    return z - logsumexp(z, axis=1, keepdims=True)


def policy_kl(
    mdp: TabularMDP, policy: LogLinearPolicy, theta0: ArrayLike, theta: ArrayLike
) -> float:
    theta0 = check_theta(theta0, policy.num_features, "theta0")
    theta = check_theta(theta, policy.num_features, "theta")
    lp0 = _log_probs(policy, theta0)
    lp = _log_probs(policy, theta)
    pi0 = np.exp(lp0)
    d = _state_distribution(mdp, policy.probs(theta0))
    diff = np.where(policy.mask, lp0 - np.where(policy.mask, lp, 0.0), 0.0)
    per_state = np.sum(np.where(policy.mask, pi0 * diff, 0.0), axis=1)
    return float(max(d @ per_state, 0.0))
