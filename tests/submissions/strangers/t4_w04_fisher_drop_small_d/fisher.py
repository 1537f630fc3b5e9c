"""Score and Fisher (variant: projection (I - 1 pi^T) Phi, F = X^T X with X = sqrt(d pi) psi)."""

from __future__ import annotations

import numpy as np
import scipy.linalg

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
    A = np.eye(mdp.num_states) - mdp.gamma * P_pi.T
    lu = scipy.linalg.lu_factor(A)
    d = scipy.linalg.lu_solve(lu, (1.0 - mdp.gamma) * mdp.mu0)
    d = np.maximum(d, 0.0)
    return d / d.sum()


def score_function(policy: LogLinearPolicy, theta: ArrayLike) -> np.ndarray:
    theta = check_theta(theta, policy.num_features)
    pi = policy.probs(theta)
    S, A, k = policy.phi.shape
    proj = np.eye(A)[None, :, :] - pi[:, None, :]  # (S, A, A): I - 1 pi_s^T
    psi = np.matmul(proj, policy.phi)
    psi[~policy.mask] = 0.0
    return psi


def fisher_information(mdp: TabularMDP, policy: LogLinearPolicy, theta: ArrayLike) -> np.ndarray:
    theta = check_theta(theta, policy.num_features)
    pi = policy.probs(theta)
    d = _state_distribution(mdp, pi)
    psi = score_function(policy, theta)
    d = np.where(d > 1e-3, d, 0.0)  # ignore (numerically) unvisited states
    X = (np.sqrt(d[:, None] * pi)[:, :, None] * psi).reshape(-1, policy.num_features)
    return X.T @ X


def fisher_estimate(
    policy: LogLinearPolicy, theta: ArrayLike, states: ArrayLike, actions: ArrayLike
) -> np.ndarray:
    theta = check_theta(theta, policy.num_features)
    states, actions = _check_samples(policy, states, actions)
    X = score_function(policy, theta)[states, actions]
    return np.einsum("ni,nj->ij", X, X) / len(states)


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
