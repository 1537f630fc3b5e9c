"""Score function and Fisher information (variant: eigenvector d, weighted outer products)."""

from __future__ import annotations

import numpy as np

from mdp import (
    ArrayLike,
    LogLinearPolicy,
    TabularMDP,
    check_theta,
    discounted_state_distribution,
)

__all__ = ["score_function", "fisher_information", "fisher_estimate"]


def _state_distribution(mdp, pi):
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)
    K = mdp.gamma * P_pi + (1.0 - mdp.gamma) * mdp.mu0[None, :]
    w, V = np.linalg.eig(K.T)
    i = int(np.argmin(np.abs(w - 1.0)))
    d = np.real(V[:, i])
    d = d / d.sum()
    d = np.clip(d, 0.0, None)
    return d / d.sum()


def score_function(policy: LogLinearPolicy, theta: ArrayLike) -> np.ndarray:
    theta = check_theta(theta, policy.num_features)
    pi = policy.probs(theta)
    mean = np.einsum("sa,sak->sk", pi, policy.phi)
    psi = policy.phi - mean[:, None, :]
    return np.where(policy.mask[:, :, None], psi, 0.0)


def fisher_information(mdp: TabularMDP, policy: LogLinearPolicy, theta: ArrayLike) -> np.ndarray:
    theta = check_theta(theta, policy.num_features)
    pi = policy.probs(theta)
    d = _state_distribution(mdp, pi)
    psi = score_function(policy, theta)
    F = np.einsum("s,sa,sai,saj->ij", d, pi, psi, psi)
    return 0.5 * (F + F.T)


def fisher_estimate(
    policy: LogLinearPolicy, theta: ArrayLike, states: ArrayLike, actions: ArrayLike
) -> np.ndarray:
    theta = check_theta(theta, policy.num_features)
    states, actions = _check_samples(policy, states, actions)
    X = score_function(policy, theta)[states, actions]
    return X.T @ X / states.size


def _check_samples(
    policy: LogLinearPolicy, states: ArrayLike, actions: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    states = np.asarray(states)
    actions = np.asarray(actions)
    for name, arr, bound in (
        ("states", states, policy.num_states),
        ("actions", actions, policy.num_actions),
    ):
        if arr.ndim != 1:
            raise ValueError(f"{name} must be a 1-d integer array, got shape {arr.shape}")
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
        if arr.size and (arr.min() < 0 or arr.max() >= bound):
            raise ValueError(f"{name} must lie in [0, {bound}), got [{arr.min()}, {arr.max()}]")
    if states.shape != actions.shape:
        raise ValueError(f"states and actions must have the same shape, got {states.shape}, {actions.shape}")
    if states.size < 1:
        raise ValueError("states and actions must hold at least one sample (n >= 1)")
    return states, actions
