"""Correct-but-different: every KL function as plain Python loops over the entries."""

import math

import numpy as np
from mdp import as_float_array, check_distribution, check_theta, discounted_state_distribution


def kl_divergence(p, q):
    p = check_distribution(p, "p")
    q = check_distribution(q, "q")
    p, q = np.broadcast_arrays(p, q)
    out = np.zeros(p.shape[:-1])
    for index in np.ndindex(*p.shape[:-1]):
        total = 0.0
        for x in range(p.shape[-1]):
            px, qx = float(p[index + (x,)]), float(q[index + (x,)])
            if px == 0.0:
                continue
            if qx == 0.0:
                total = math.inf
                break
            total += px * math.log(px / qx)
        out[index] = total
    return out


def _bernoulli(p, q):
    total = 0.0
    for a, b in ((p, q), (1.0 - p, 1.0 - q)):
        if a > 0.0:
            if b == 0.0:
                return math.inf
            total += a * math.log(a / b)
    return total


def kl_bernoulli(p, q):
    p = as_float_array(p, "p")
    q = as_float_array(q, "q")
    p, q = np.broadcast_arrays(p, q)
    out = np.zeros(p.shape)
    for index in np.ndindex(*p.shape):
        out[index] = _bernoulli(float(p[index]), float(q[index]))
    return out


def kl_gaussian(mu1, mu2, sigma):
    mu1 = as_float_array(mu1, "mu1")
    mu2 = as_float_array(mu2, "mu2")
    mu1, mu2 = np.broadcast_arrays(mu1, mu2)
    sigma = np.broadcast_to(as_float_array(sigma, "sigma"), mu1.shape[:-1])
    out = np.zeros(mu1.shape[:-1])
    for index in np.ndindex(*mu1.shape[:-1]):
        squared = 0.0
        for i in range(mu1.shape[-1]):
            squared += (mu1[index + (i,)] - mu2[index + (i,)]) ** 2
        out[index] = squared / (2.0 * sigma[index] * sigma[index])
    return out


def policy_kl(mdp, policy, theta0, theta):
    theta0 = check_theta(theta0, policy.num_features, "theta0")
    theta = check_theta(theta, policy.num_features, "theta")
    pi0 = policy.probs(theta0)
    d0 = discounted_state_distribution(mdp, pi0)
    z0, z = policy.logits(theta0), policy.logits(theta)
    total = 0.0
    for s in range(mdp.num_states):
        allowed = [a for a in range(mdp.num_actions) if policy.mask[s, a]]
        m0 = max(z0[s, a] for a in allowed)
        m = max(z[s, a] for a in allowed)
        log_norm0 = m0 + math.log(sum(math.exp(z0[s, a] - m0) for a in allowed))
        log_norm = m + math.log(sum(math.exp(z[s, a] - m) for a in allowed))
        for a in allowed:
            log_p0 = z0[s, a] - log_norm0
            p0 = math.exp(log_p0)
            if p0 > 0:
                total += d0[s] * p0 * (log_p0 - (z[s, a] - log_norm))
    return total
