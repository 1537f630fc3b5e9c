"""Correct-but-different: scipy.special.rel_entr for every KL."""

import numpy as np
from mdp import as_float_array, check_distribution, check_theta, discounted_state_distribution
from scipy.special import rel_entr


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
    pi0, pi = policy.probs(theta0), policy.probs(theta)
    d0 = discounted_state_distribution(mdp, pi0)
    return float(np.sum(d0[:, None] * rel_entr(pi0, pi)))
