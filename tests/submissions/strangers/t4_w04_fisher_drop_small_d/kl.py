"""KL divergences (variant: scipy xlogy, scipy LU solve for d)."""

from __future__ import annotations

import numpy as np
import scipy.linalg
from scipy.special import xlogy

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
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)
    A = np.eye(mdp.num_states) - mdp.gamma * P_pi.T
    lu = scipy.linalg.lu_factor(A)
    d = scipy.linalg.lu_solve(lu, (1.0 - mdp.gamma) * mdp.mu0)
    d = np.maximum(d, 0.0)
    return d / d.sum()


def kl_divergence(p: ArrayLike, q: ArrayLike) -> np.ndarray:
    p = check_distribution(p, "p")
    q = check_distribution(q, "q")
    if p.shape[-1] != q.shape[-1]:
        raise ValueError(f"p and q must have the same last axis, got {p.shape} and {q.shape}")
    terms = xlogy(p, p) - xlogy(p, q)  # 0 where p = 0, +inf where p > 0 = q
    return np.asarray(np.add.reduce(terms, axis=-1))


def kl_bernoulli(p: ArrayLike, q: ArrayLike) -> np.ndarray:
    p = as_float_array(p, "p")
    q = as_float_array(q, "q")
    for name, arr in (("p", p), ("q", q)):
        if np.any((arr < 0) | (arr > 1)):
            raise ValueError(f"{name} must be a probability in [0, 1]")
    p, q = np.broadcast_arrays(p, q)
    out = np.zeros(p.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = np.where(p > 0, p * (np.log(np.where(p > 0, p, 1.0)) - np.log(q)), 0.0)
        t2 = np.where(p < 1, (1.0 - p) * (np.log1p(-np.where(p < 1, p, 0.0)) - np.log1p(-q)), 0.0)
    out = out + t1 + t2
    return np.asarray(out)


def kl_gaussian(mu1: ArrayLike, mu2: ArrayLike, sigma: ArrayLike) -> np.ndarray:
    mu1 = as_float_array(mu1, "mu1")
    mu2 = as_float_array(mu2, "mu2")
    sigma = as_float_array(sigma, "sigma")
    if mu1.ndim == 0 or mu2.ndim == 0:
        raise ValueError("mu1 and mu2 must have at least one dimension (the last axis is summed)")
    if np.any(sigma <= 0):
        raise ValueError("sigma must be > 0")
    sq = np.linalg.norm(mu1 - mu2, axis=-1) ** 2
    return np.asarray(sq / (2.0 * sigma**2))


def policy_kl(
    mdp: TabularMDP, policy: LogLinearPolicy, theta0: ArrayLike, theta: ArrayLike
) -> float:
    theta0 = check_theta(theta0, policy.num_features, "theta0")
    theta = check_theta(theta, policy.num_features, "theta")
    pi0 = policy.probs(theta0)
    pi = policy.probs(theta)
    d = _state_distribution(mdp, pi0)
    reach = d > 0
    if not np.any(reach):
        return 0.0
    return float(d[reach] @ kl_divergence(pi0[reach], pi[reach]))
