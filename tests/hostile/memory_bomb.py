"""kl_divergence tries to allocate 10 GB (three ways); the other functions are honest and must keep
their points (policy_kl does not call kl_divergence here)."""
import numpy as np
from mdp import discounted_state_distribution

_hoard = []


def kl_divergence(p, q):
    try:
        _hoard.append(bytearray(10 * 10**9))
    except MemoryError:
        pass
    try:
        _hoard.append([0] * (10**10 // 8))
    except MemoryError:
        pass
    return np.ones(10 * 10**9 // 8)  # raises MemoryError


def _kl(p, q):
    p, q = np.broadcast_arrays(np.asarray(p, float), np.asarray(q, float))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p > 0, p * (np.log(p) - np.log(q)), 0.0).sum(axis=-1)


def kl_bernoulli(p, q):
    p, q = np.asarray(p, float), np.asarray(q, float)
    return _kl(np.stack([p, 1 - p], -1), np.stack([q, 1 - q], -1))


def kl_gaussian(mu1, mu2, sigma):
    mu1, mu2, sigma = np.asarray(mu1, float), np.asarray(mu2, float), np.asarray(sigma, float)
    return np.sum((mu1 - mu2) ** 2, axis=-1) / (2.0 * sigma**2)


def _log_probs(policy, theta):
    """log pi_theta(a|s) by a max-shifted log-sum-exp over the allowed actions (-inf elsewhere)."""
    z = np.where(policy.mask, policy.phi @ np.asarray(theta, float), -np.inf)
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def policy_kl(mdp, policy, theta0, theta):
    log0, log1 = _log_probs(policy, theta0), _log_probs(policy, theta)
    pi0 = np.exp(log0)
    with np.errstate(invalid="ignore"):  # -inf - -inf on masked actions, where pi0 = 0
        per_state = np.where(pi0 > 0, pi0 * (log0 - log1), 0.0).sum(axis=1)
    return float(discounted_state_distribution(mdp, pi0) @ per_state)
