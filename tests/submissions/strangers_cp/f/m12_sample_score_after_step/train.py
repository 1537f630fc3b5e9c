"""Sampling trajectories and the natural-policy-gradient training loop on CartPole.

The course's API: ``sample(theta, env, N) -> (grads, rewards)`` and
``train(N, T, delta, lamb=1e-3) -> (theta, average return per iteration)``. Randomness comes from
numpy's global generator (``np.random.seed`` makes a run reproducible), as in the course.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from utils import (
    NUM_FEATURES,
    compute_action_distribution,
    compute_eta,
    compute_fisher_matrix,
    compute_log_softmax_grad,
    compute_value_gradient,
    extract_features,
)

__all__ = ["MAX_STEPS", "ENV_ID", "ENV_SEED", "make_env", "sample", "train"]

MAX_STEPS = 200  # at most 200 steps per trajectory (CartPole-v0's own time limit too)
ENV_ID = "CartPole-v0"
ENV_SEED = 12345  # seeds the environment's start states once, in train


def make_env() -> Any:
    """gymnasium's ``CartPole-v0`` (2 actions, 4-dimensional states, truncated after 200 steps).

    gymnasium warns that v0 is out of date (v1 allows 500 steps); the course uses v0 on purpose.
    gymnasium is imported here, not with the module, so that importing this module stays light.
    """
    import gymnasium as gym

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return gym.make(ENV_ID)


def sample(theta: np.ndarray, env: Any, N: int) -> tuple[list[list[np.ndarray]], list[list[float]]]:
    """Roll out N trajectories of the policy pi_theta and record scores and rewards.

    For each trajectory i: ``s_0 = env.reset()``; at step h, ``phis = extract_features(s_h, |A|)``,
    ``a_h ~ pi_theta(.|s_h)`` drawn with ``np.random.choice``, ``g_{i,h} = grad log pi(a_h|s_h)``
    (at the pre-step state, for the action taken), then ``s_{h+1}, r_{i,h} = env.step(a_h)``. A
    trajectory stops when the environment says terminated or truncated, or after 200 steps.

    Args:
        theta: parameters, shape (d, 1).
        env: a gymnasium environment with a discrete action space of |A| = ``env.action_space.n``
            actions (``reset() -> (state, info)``, ``step(a) -> (state, r, terminated, truncated, info)``).
        N: number of trajectories, >= 1.

    Returns:
        (grads, rewards): N lists; ``grads[i]`` holds H_i scores of shape (d, 1), ``rewards[i]`` the
        H_i rewards in order, 1 <= H_i <= 200.
    """
    if int(N) != N or N < 1:
        raise ValueError(f"N must be a positive integer, got {N!r}")
    num_actions = int(env.action_space.n)
    grads, rewards = [], []
    for _ in range(N):
        state, _ = env.reset()
        traj_grads, traj_rewards = [], []
        for _h in range(MAX_STEPS):
            phis = extract_features(state, num_actions)
            pi = compute_action_distribution(theta, phis)
            action = np.random.choice(num_actions, p=pi.ravel())
            state, reward, terminated, truncated, _ = env.step(action)
            phis = extract_features(state, num_actions)
            traj_grads.append(compute_log_softmax_grad(theta, phis, action))
            traj_rewards.append(reward)
            if terminated or truncated:
                break
        grads.append(traj_grads)
        rewards.append(traj_rewards)
    return grads, rewards


def train(N: int, T: int, delta: float, lamb: float = 1e-3) -> tuple[np.ndarray, list[float]]:
    """Natural policy gradient on CartPole-v0 with a trust-region step size.

    ``theta_0 = np.random.rand(100, 1)``; for t = 0 .. T-1: sample N trajectories with theta_t,
    ``F = compute_fisher_matrix(grads, lamb)``, ``g = compute_value_gradient(grads, rewards)``,
    ``eta = compute_eta(delta, F, g)``, ``theta_{t+1} = theta_t + eta F^{-1} g``.

    Args:
        N: trajectories per iteration, >= 1.
        T: iterations, >= 1.
        delta: trust-region size, > 0.
        lamb: ridge of the Fisher matrix.

    Returns:
        (theta_T of shape (100, 1), the average total reward of the N trajectories of each
        iteration t = 0 .. T-1: a list of T floats, sampled with theta_t).
    """
    if int(T) != T or T < 1:
        raise ValueError(f"T must be a positive integer, got {T!r}")
    theta = np.random.rand(NUM_FEATURES, 1)
    env = make_env()
    env.reset(seed=ENV_SEED)
    episode_rewards = []
    for _t in range(T):
        grads, rewards = sample(theta, env, N)
        F = compute_fisher_matrix(grads, lamb)
        g = compute_value_gradient(grads, rewards)
        eta = compute_eta(delta, F, g)
        theta = theta + eta * np.linalg.solve(F, g)
        episode_rewards.append(float(np.mean([np.sum(r) for r in rewards])))
    return theta, episode_rewards
