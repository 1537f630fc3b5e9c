"""Kullback-Leibler divergences: discrete, Bernoulli, Gaussian, and the policy KL.

All logs are natural logs. A term with ``p = 0`` contributes 0 (the convention ``0 log 0 = 0``);
a term with ``p > 0`` and ``q = 0`` makes the divergence ``+inf``.
"""

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


def kl_divergence(p: ArrayLike, q: ArrayLike) -> np.ndarray:
    """Discrete KL divergence over the last axis.

    ``KL(p || q) = sum_x p(x) log(p(x) / q(x))``

    Args:
        p: probabilities, shape (..., n); non-negative, sums to 1 over the last axis.
        q: probabilities, shape broadcastable with ``p``, same last axis n.

    Returns:
        ``KL(p || q)``, shape ``broadcast(p, q).shape[:-1]`` (a 0-d array for single distributions).
        Terms with ``p(x) = 0`` count 0; ``p(x) > 0`` with ``q(x) = 0`` gives ``inf``.
    """
    p = check_distribution(p, "p")
    q = check_distribution(q, "q")
    if p.shape[-1] != q.shape[-1]:
        raise ValueError(f"p and q must have the same last axis, got {p.shape} and {q.shape}")
    p, q = np.broadcast_arrays(p, q)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(p) - np.log(q)), 0.0)
    return np.sum(terms, axis=-1)


def kl_bernoulli(p: ArrayLike, q: ArrayLike) -> np.ndarray:
    """KL divergence between Bernoulli(p) and Bernoulli(q), elementwise with broadcasting.

    ``KL(p || q) = p log(p / q) + (1 - p) log((1 - p) / (1 - q))``

    Args:
        p, q: success probabilities in [0, 1], any broadcastable shapes.

    Returns:
        shape ``broadcast(p, q).shape``; ``inf`` where ``q`` is 0 or 1 and ``p`` differs from it.
    """
    p = as_float_array(p, "p")
    q = as_float_array(q, "q")
    for name, arr in (("p", p), ("q", q)):
        if np.any((arr < 0) | (arr > 1)):
            raise ValueError(f"{name} must be a probability in [0, 1]")
    P = np.stack([p, 1.0 - p], axis=-1)
    Q = np.stack([q, 1.0 - q], axis=-1)
    return kl_divergence(P, Q)


def kl_gaussian(mu1: ArrayLike, mu2: ArrayLike, sigma: ArrayLike) -> np.ndarray:
    """KL divergence between N(mu1, sigma^2 I) and N(mu2, sigma^2 I), over the last axis.

    ``KL = ||mu1 - mu2||^2 / (2 sigma^2)``

    Lecture erratum: the slide writes ``||mu1 - mu2||^2 / sigma^2`` and drops the 1/2.

    Args:
        mu1, mu2: means, shape (..., n), broadcastable.
        sigma: standard deviation (not the variance), > 0, scalar or broadcastable with the
            leading shape ``(...)``.

    Returns:
        shape ``broadcast(mu1, mu2).shape[:-1]`` broadcast with ``sigma``.
    """
    mu1 = as_float_array(mu1, "mu1")
    mu2 = as_float_array(mu2, "mu2")
    sigma = as_float_array(sigma, "sigma")
    if mu1.ndim == 0 or mu2.ndim == 0:
        raise ValueError("mu1 and mu2 must have at least one dimension (the last axis is summed)")
    if np.any(sigma <= 0):
        raise ValueError("sigma must be > 0")
    sq = np.sum((mu1 - mu2) ** 2, axis=-1)
    return sq / (2.0 * sigma**2)


def policy_kl(
    mdp: TabularMDP, policy: LogLinearPolicy, theta0: ArrayLike, theta: ArrayLike
) -> float:
    """Policy KL averaged over the discounted state distribution of the *old* policy.

    ``d_KL(theta0, theta) = sum_s d^{theta0}(s) KL(pi_theta0(.|s) || pi_theta(.|s))``

    Lecture errata: in the worked example the per-state KL is weighted by ``pi_theta0`` (the first
    argument of the KL), not by ``pi_theta``; and the second-order expansion is
    ``d_KL(theta0, theta) ~ 1/2 (theta - theta0)^T F(theta0) (theta - theta0)`` (the slide drops 1/2).

    Args:
        mdp: the MDP (S states, A actions).
        policy: the policy class, features (S, A, k).
        theta0, theta: parameters, shape (k,).

    Returns:
        ``d_KL`` as a float, >= 0.
    """
    theta0 = check_theta(theta0, policy.num_features, "theta0")
    theta = check_theta(theta, policy.num_features, "theta")
    pi0 = policy.probs(theta0)
    pi = policy.probs(theta)
    d0 = discounted_state_distribution(mdp, pi0)
    per_state = kl_divergence(pi0, pi)
    reach = d0 > 0
    return float(np.sum(d0[reach] * per_state[reach]))
