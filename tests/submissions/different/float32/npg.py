"""Correct-but-different: single precision everywhere.

The pseudo-inverse's cut-off scales with float32's epsilon (numpy's default 1e-15 is below float32
round-off, so it would invert noise: wrong in any precision, and graded as such; see the wrong
submission "float32-tiny-cutoff")."""

import numpy as np
from fisher import fisher_information
from mdp import check_theta, discounted_state_distribution, policy_gradient

f32 = np.float32


def sample_state_actions(mdp, policy, theta, n, rng):
    pi = policy.probs(theta).astype(f32)
    d = discounted_state_distribution(mdp, pi).astype(f32)
    joint = (d[:, None] * pi).ravel()
    cdf = np.cumsum(joint, dtype=f32)
    cells = np.searchsorted(cdf, rng.random(n, dtype=f32) * cdf[-1], side="right")
    cells = np.minimum(cells, joint.size - 1)
    return cells // mdp.num_actions, cells % mdp.num_actions


def npg_direction(F, g, damping=0.0):
    F = np.asarray(F, dtype=f32)
    g = np.asarray(g, dtype=f32)
    if damping > 0:
        return np.linalg.solve(F + f32(damping) * np.eye(len(g), dtype=f32), g)
    return np.linalg.pinv(F, rcond=len(g) * np.finfo(f32).eps, hermitian=True) @ g


def trust_region_step(F, g, delta):
    g = np.asarray(g, dtype=f32)
    v = npg_direction(F, g)
    size = g @ v
    if not size > 0:
        return np.zeros_like(g)
    return np.sqrt(f32(delta) / size) * v


def conjugate_gradient(fvp, g, iters=10, tol=1e-10):
    g = np.asarray(g, dtype=f32)
    x = np.zeros_like(g)
    r = g.copy()
    p = g.copy()
    rr = r @ r
    for _ in range(iters):
        if rr < tol or rr == 0:
            break
        z = np.asarray(fvp(p), dtype=f32)
        alpha = rr / (p @ z)
        x += alpha * p
        r -= alpha * z
        rr_new = r @ r
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x


def natural_policy_gradient(mdp, policy, theta0, delta, iterations):
    theta = check_theta(theta0, policy.num_features, "theta0").astype(f32)
    thetas = [theta]
    for _ in range(iterations):
        F = fisher_information(mdp, policy, theta)
        g = policy_gradient(mdp, policy, theta).astype(f32)
        theta = theta + trust_region_step(F, g, delta)
        thetas.append(theta)
    return np.array(thetas, dtype=f32)
