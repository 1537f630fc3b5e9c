"""Print 300 MB at import (1 MB lines), then behave honestly: printing costs nothing but must not
flood results.json or the grader's memory."""
import sys

import numpy as np
from mdp import discounted_state_distribution

_line = "x" * (1 << 20)
for _ in range(300):
    sys.stdout.write(_line)
    sys.stdout.write("\n")
sys.stdout.flush()


def kl_divergence(p, q):
    p, q = np.broadcast_arrays(np.asarray(p, float), np.asarray(q, float))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p > 0, p * (np.log(p) - np.log(q)), 0.0).sum(axis=-1)


def kl_bernoulli(p, q):
    p, q = np.asarray(p, float), np.asarray(q, float)
    return kl_divergence(np.stack([p, 1 - p], -1), np.stack([q, 1 - q], -1))


def kl_gaussian(mu1, mu2, sigma):
    mu1, mu2, sigma = np.asarray(mu1, float), np.asarray(mu2, float), np.asarray(sigma, float)
    return np.sum((mu1 - mu2) ** 2, axis=-1) / (2.0 * sigma**2)


def policy_kl(mdp, policy, theta0, theta):
    pi0, pi = policy.probs(np.asarray(theta0, float)), policy.probs(np.asarray(theta, float))
    return float(discounted_state_distribution(mdp, pi0) @ kl_divergence(pi0, pi))
