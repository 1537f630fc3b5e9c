"""Correct-but-different: loops over states in the sampler, over eigenpairs in the pseudo-inverse."""

import numpy as np
from fisher import fisher_information
from mdp import check_theta, discounted_state_distribution, policy_gradient


def sample_state_actions(mdp, policy, theta, n, rng):
    theta = check_theta(theta, policy.num_features)
    pi = policy.probs(theta)
    d = discounted_state_distribution(mdp, pi)
    states = rng.choice(mdp.num_states, size=n, p=d)
    actions = np.zeros(n, dtype=np.int64)
    for s in range(mdp.num_states):
        where = np.flatnonzero(states == s)
        actions[where] = rng.choice(mdp.num_actions, size=where.size, p=pi[s])
    return states, actions


def npg_direction(F, g, damping=0.0):
    F = np.asarray(F, dtype=float)
    g = np.asarray(g, dtype=float)
    k = len(g)
    if damping > 0:
        return np.linalg.solve(F + damping * np.eye(k), g)
    eigenvalues, vectors = np.linalg.eigh(F)
    cutoff = 1e-10 * max(abs(eigenvalues).max(), 1e-300)
    v = np.zeros(k)
    for i in range(k):
        if eigenvalues[i] > cutoff:
            v += (vectors[:, i] @ g) / eigenvalues[i] * vectors[:, i]
    return v


def trust_region_step(F, g, delta):
    v = npg_direction(F, g)
    size = 0.0
    for i in range(len(g)):
        size += g[i] * v[i]
    if size <= 0.0:
        return np.zeros(len(g))
    return np.sqrt(delta / size) * v


def conjugate_gradient(fvp, g, iters=10, tol=1e-10):
    g = np.asarray(g, dtype=float)
    x = np.zeros_like(g)
    r = g.copy()
    p = g.copy()
    rr = float(r @ r)
    for _ in range(iters):
        if rr < tol:
            break
        z = fvp(p)
        alpha = rr / float(p @ z)
        x = x + alpha * p
        r = r - alpha * z
        rr_new = float(r @ r)
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x


def natural_policy_gradient(mdp, policy, theta0, delta, iterations):
    theta = check_theta(theta0, policy.num_features, "theta0")
    thetas = [theta]
    for _ in range(iterations):
        F = fisher_information(mdp, policy, theta)
        g = policy_gradient(mdp, policy, theta)
        theta = theta + trust_region_step(F, g, delta)
        thetas.append(theta)
    return np.array(thetas)
