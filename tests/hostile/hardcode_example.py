"""Hard-code the lecture example's published values (docs/conventions.md's table): right on the example,
wrong everywhere else."""
import numpy as np

_EXAMPLE = {(0.0, 1.0): 0.01009366}


def policy_kl(mdp, policy, theta0, theta):
    key = (round(float(np.ravel(theta0)[0]), 6), round(float(np.ravel(theta)[0]), 6))
    if key in _EXAMPLE:
        return _EXAMPLE[key]
    # Not the published case: guess the quadratic approximation with the example's F(0).
    return 0.5 * 0.0210084 * float(np.sum((np.ravel(theta) - np.ravel(theta0)) ** 2))


def kl_divergence(p, q):
    return -np.ones(np.broadcast(np.asarray(p)[..., 0], np.asarray(q)[..., 0]).shape)


def kl_bernoulli(p, q):
    return -np.ones(np.broadcast(np.asarray(p), np.asarray(q)).shape)


def kl_gaussian(mu1, mu2, sigma):
    return -np.ones(np.broadcast(np.asarray(mu1)[..., 0], np.asarray(mu2)[..., 0], np.asarray(sigma)).shape)
