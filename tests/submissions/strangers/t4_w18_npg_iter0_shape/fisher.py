"""Score and Fisher (variant: Fisher as the closed-form Hessian of the policy KL, E[phi phi^T] - mu mu^T per state)."""

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
    base = (1.0 - mdp.gamma) * mdp.mu0
    d = mdp.mu0.copy()
    # stop once a sweep changes d by no more than round-off (error <= change / (1 - gamma))
    tol = 4.0 * mdp.num_states * np.finfo(float).eps
    for _ in range(10_000_000):
        new = base + mdp.gamma * (d @ P_pi)
        change = np.abs(new - d).sum()
        d = new
        if change <= tol:
            break
    d = np.clip(d, 0.0, None)
    return d / d.sum()


def score_function(policy: LogLinearPolicy, theta: ArrayLike) -> np.ndarray:
    theta = check_theta(theta, policy.num_features)
    pi = policy.probs(theta)
    S, A, k = policy.phi.shape
    psi = np.zeros((S, A, k))
    for s in range(S):
        allowed = policy.mask[s]
        mean = pi[s, allowed] @ policy.phi[s, allowed]
        psi[s, allowed] = policy.phi[s, allowed] - mean
    return psi


def fisher_information(mdp: TabularMDP, policy: LogLinearPolicy, theta: ArrayLike) -> np.ndarray:
    """Hessian of theta' -> sum_s d(s) KL(pi_theta(.|s) || pi_theta'(.|s)) at theta' = theta:
    sum_s d(s) Cov_{a ~ pi(.|s)}[phi(s, a)] (log-sum-exp curvature)."""
    theta = check_theta(theta, policy.num_features)
    pi = policy.probs(theta)
    d = _state_distribution(mdp, pi)
    # Cov[phi] = E[(phi - c)(phi - c)^T] - (mu - c)(mu - c)^T with c = phi of the most likely action:
    # both terms are small when the policy is nearly deterministic, so there is no cancellation.
    ref = np.argmax(pi, axis=1)
    shifted = policy.phi - policy.phi[np.arange(policy.num_states), ref][:, None, :]
    second = np.einsum("s,sa,sai,saj->ij", d, pi, shifted, shifted)
    mean = np.einsum("sa,sak->sk", pi, shifted)
    first = np.einsum("s,si,sj->ij", d, mean, mean)
    F = second - first
    return 0.5 * (F + F.T)


def fisher_estimate(
    policy: LogLinearPolicy, theta: ArrayLike, states: ArrayLike, actions: ArrayLike
) -> np.ndarray:
    theta = check_theta(theta, policy.num_features)
    states, actions = _check_samples(policy, states, actions)
    X = score_function(policy, theta)[states, actions]
    return np.tensordot(X, X, axes=([0], [0])) / float(states.shape[0])


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
