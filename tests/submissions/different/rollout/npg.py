"""Correct-but-different: the sampler simulates rollouts stopped at T ~ Geometric(1 - gamma),
vectorised over the n samples, instead of drawing from the exact d^theta."""

import numpy as np
from mdp import check_theta


def _categorical(rng, probs):
    """One draw per row of ``probs`` (m, K) by the inverse CDF."""
    cdf = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cdf[:, -1]
    return np.minimum(np.sum(cdf <= u[:, None], axis=1), probs.shape[1] - 1)


def sample_state_actions(mdp, policy, theta, n, rng):
    theta = check_theta(theta, policy.num_features)
    pi = policy.probs(theta)
    stop = rng.geometric(1.0 - mdp.gamma, size=n) - 1  # T ~ Geometric(1 - gamma) on {0, 1, 2, ...}
    states = _categorical(rng, np.broadcast_to(mdp.mu0, (n, mdp.num_states)))
    active = np.arange(n)
    t = 0
    while True:
        active = active[stop[active] > t]  # rollouts still running at step t
        if active.size == 0:
            break
        s = states[active]
        a = _categorical(rng, pi[s])
        states[active] = _categorical(rng, mdp.P[s, a])
        t += 1
    actions = _categorical(rng, pi[states])
    return states.astype(np.int64), actions.astype(np.int64)
