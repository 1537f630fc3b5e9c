"""Correct-but-different: single precision everywhere (inputs cast to float32, float32 results)."""

import numpy as np
from mdp import as_float_array, check_distribution, check_theta, discounted_state_distribution

f32 = np.float32


def kl_divergence(p, q):
    p = check_distribution(p, "p").astype(f32)
    q = check_distribution(q, "q").astype(f32)
    p, q = np.broadcast_arrays(p, q)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(p) - np.log(q)), f32(0))
    return terms.sum(axis=-1, dtype=f32)


def kl_bernoulli(p, q):
    p = as_float_array(p, "p").astype(f32)
    q = as_float_array(q, "q").astype(f32)
    return kl_divergence(np.stack([p, 1 - p], axis=-1), np.stack([q, 1 - q], axis=-1))


def kl_gaussian(mu1, mu2, sigma):
    mu1 = as_float_array(mu1, "mu1").astype(f32)
    mu2 = as_float_array(mu2, "mu2").astype(f32)
    sigma = as_float_array(sigma, "sigma").astype(f32)
    return np.sum((mu1 - mu2) ** 2, axis=-1) / (2 * sigma**2)


def policy_kl(mdp, policy, theta0, theta):
    theta0 = check_theta(theta0, policy.num_features, "theta0").astype(f32)
    theta = check_theta(theta, policy.num_features, "theta").astype(f32)
    z0, z = policy.logits(theta0).astype(f32), policy.logits(theta).astype(f32)
    log_pi0 = z0 - np.max(z0, axis=1, keepdims=True)
    log_pi0 = log_pi0 - np.log(np.sum(np.exp(log_pi0), axis=1, keepdims=True))
    log_pi = z - np.max(z, axis=1, keepdims=True)
    log_pi = log_pi - np.log(np.sum(np.exp(log_pi), axis=1, keepdims=True))
    pi0 = np.exp(log_pi0)
    d0 = discounted_state_distribution(mdp, pi0).astype(f32)
    with np.errstate(invalid="ignore"):
        terms = np.where(pi0 > 0, pi0 * (log_pi0 - log_pi), f32(0))
    return d0 @ terms.sum(axis=1)
