"""Correct-but-different: the NPG loop calls the student's own helpers (npg_direction through
trust_region_step, and fisher_information), with the step written out instead of calling
trust_region_step."""

import numpy as np
from fisher import fisher_information, score_function
from mdp import check_theta, discounted_state_distribution, q_values


def _gradient(mdp, policy, theta):
    """grad J = 1/(1 - gamma) E_{s~d, a~pi}[psi(s, a) Q(s, a)], from the student's own score."""
    pi = policy.probs(theta)
    d = discounted_state_distribution(mdp, pi)
    Q = q_values(mdp, pi)
    psi = score_function(policy, theta)
    return np.einsum("s,sa,sa,sak->k", d, pi, Q, psi) / (1.0 - mdp.gamma)


def natural_policy_gradient(mdp, policy, theta0, delta, iterations):
    theta = check_theta(theta0, policy.num_features, "theta0")
    out = [theta]
    for _ in range(iterations):
        F = fisher_information(mdp, policy, theta)
        g = _gradient(mdp, policy, theta)
        v = npg_direction(F, g)  # noqa: F821  (the student's own, defined in the same npg.py)
        size = g @ v
        theta = theta + (np.sqrt(delta / size) * v if size > 0 else 0.0 * v)
        out.append(theta)
    return np.stack(out)
