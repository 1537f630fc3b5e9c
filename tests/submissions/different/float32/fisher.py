"""Correct-but-different: single precision everywhere."""

import numpy as np
from mdp import check_theta, discounted_state_distribution

f32 = np.float32


def score_function(policy, theta):
    theta = check_theta(theta, policy.num_features).astype(f32)
    pi = policy.probs(theta).astype(f32)
    phi = policy.phi.astype(f32)
    mean_phi = np.einsum("sa,sak->sk", pi, phi)
    return np.where(policy.mask[:, :, None], phi - mean_phi[:, None, :], f32(0))


def fisher_information(mdp, policy, theta):
    theta = check_theta(theta, policy.num_features).astype(f32)
    pi = policy.probs(theta).astype(f32)
    d = discounted_state_distribution(mdp, pi).astype(f32)
    psi = score_function(policy, theta)
    return np.einsum("s,sa,sak,sal->kl", d, pi, psi, psi)


def fisher_estimate(policy, theta, states, actions):
    psi = score_function(policy, theta)[np.asarray(states), np.asarray(actions)]
    return psi.T @ psi / f32(len(psi))
