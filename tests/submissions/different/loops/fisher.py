"""Correct-but-different: score and Fisher with loops over states, actions and samples."""

import numpy as np
from mdp import check_theta, discounted_state_distribution


def score_function(policy, theta):
    theta = check_theta(theta, policy.num_features)
    pi = policy.probs(theta)
    S, A, k = policy.phi.shape
    psi = np.zeros((S, A, k))
    for s in range(S):
        mean = np.zeros(k)
        for a in range(A):
            mean += pi[s, a] * policy.phi[s, a]
        for a in range(A):
            if policy.mask[s, a]:
                psi[s, a] = policy.phi[s, a] - mean
    return psi


def fisher_information(mdp, policy, theta):
    theta = check_theta(theta, policy.num_features)
    pi = policy.probs(theta)
    d = discounted_state_distribution(mdp, pi)
    psi = score_function(policy, theta)
    k = policy.num_features
    F = np.zeros((k, k))
    for s in range(mdp.num_states):
        for a in range(mdp.num_actions):
            F += d[s] * pi[s, a] * np.outer(psi[s, a], psi[s, a])
    return F


def fisher_estimate(policy, theta, states, actions):
    theta = check_theta(theta, policy.num_features)
    psi = score_function(policy, theta)
    k = policy.num_features
    F = np.zeros((k, k))
    for s, a in zip(states, actions):
        F += np.outer(psi[s, a], psi[s, a])
    return F / len(states)
