"""Score and Fisher (variant: Fisher as 1/2 sum_{a,b} pi_a pi_b (phi_a - phi_b)(phi_a - phi_b)^T, the logit-Hessian chain rule)."""

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
    M = mdp.gamma * np.einsum("sa,sat->st", pi, mdp.P)
    d = (1.0 - mdp.gamma) * mdp.mu0.copy()
    for _ in range(200):
        if not np.any(M):
            break
        d = d + d @ M
        M = M @ M
        if np.abs(M).max() < 1e-300:
            break
    d = np.clip(d, 0.0, None)
    return d / d.sum()


def score_function(policy: LogLinearPolicy, theta: ArrayLike) -> np.ndarray:
    theta = check_theta(theta, policy.num_features)
    pi = policy.probs(theta)
    phi = policy.phi
    psi = phi - np.sum(pi[:, :, None] * phi, axis=1, keepdims=True)
    return psi


def fisher_information(mdp: TabularMDP, policy: LogLinearPolicy, theta: ArrayLike) -> np.ndarray:
    theta = check_theta(theta, policy.num_features)
    pi = policy.probs(theta)
    d = _state_distribution(mdp, pi)
    phi = policy.phi
    # Hessian of log-sum-exp in pairwise form (no cancellation):
    # Phi_s^T (diag p - p p^T) Phi_s = 1/2 sum_{a,b} p_a p_b (phi_a - phi_b)(phi_a - phi_b)^T
    diff = phi[:, :, None, :] - phi[:, None, :, :]  # (S, A, A, k)
    w = d[:, None, None] * pi[:, :, None] * pi[:, None, :]
    F = 0.5 * np.einsum("sab,sabi,sabj->ij", w, diff, diff)
    return 0.5 * (F + F.T)


def fisher_estimate(
    policy: LogLinearPolicy, theta: ArrayLike, states: ArrayLike, actions: ArrayLike
) -> np.ndarray:
    theta = check_theta(theta, policy.num_features)
    states, actions = _check_samples(policy, states, actions)
    counts = np.zeros((policy.num_states, policy.num_actions))
    np.add.at(counts, (states, actions), 1.0)
    psi = score_function(policy, theta)
    return np.einsum("sa,sai,saj->ij", counts, psi, psi) / states.size


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
