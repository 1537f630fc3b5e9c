"""Correct-but-different: scipy.special.rel_entr for every KL."""

import numpy as np
from mdp import as_float_array, check_distribution, check_theta, discounted_state_distribution
from scipy.special import log_softmax, rel_entr


def kl_divergence(p, q):
    p = check_distribution(p, "p")
    q = check_distribution(q, "q")
    return rel_entr(p, q).sum(axis=-1)


def kl_bernoulli(p, q):
    p = as_float_array(p, "p")
    q = as_float_array(q, "q")
    return rel_entr(p, q) + rel_entr(1.0 - p, 1.0 - q)


def kl_gaussian(mu1, mu2, sigma):
    mu1 = as_float_array(mu1, "mu1")
    mu2 = as_float_array(mu2, "mu2")
    sigma = as_float_array(sigma, "sigma")
    return np.square(mu1 - mu2).sum(axis=-1) / (2.0 * np.square(sigma))


def policy_kl(mdp, policy, theta0, theta):
    theta0 = check_theta(theta0, policy.num_features, "theta0")
    theta = check_theta(theta, policy.num_features, "theta")
    log_pi0 = log_softmax(policy.logits(theta0), axis=1)  # -inf where masked
    log_pi = log_softmax(policy.logits(theta), axis=1)
    pi0 = np.exp(log_pi0)
    d0 = discounted_state_distribution(mdp, pi0)
    with np.errstate(invalid="ignore"):
        terms = np.where(pi0 > 0, pi0 * (log_pi0 - log_pi), 0.0)
    return float(d0 @ terms.sum(axis=1))
