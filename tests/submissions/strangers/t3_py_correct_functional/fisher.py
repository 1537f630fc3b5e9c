"""The score function and the Fisher information matrix of a log-linear policy."""

from __future__ import annotations

import numpy as np

from mdp import (
    ArrayLike,
    LogLinearPolicy,
    TabularMDP,
    check_theta,
    discounted_state_distribution,
)

import functools


class _ScoreTable:
    """Everything about pi_theta that the score needs, computed once."""

    def __init__(self, policy: LogLinearPolicy, theta: np.ndarray) -> None:
        self.policy = policy
        self.pi = policy.probs(theta)

    @property
    def mean_feature(self) -> np.ndarray:
        return np.einsum("sa,sak->sk", self.pi, self.policy.phi)

    @property
    def psi(self) -> np.ndarray:
        centred = self.policy.phi - self.mean_feature[:, None, :]
        return centred * self.policy.mask[:, :, None]


__all__ = ["score_function", "fisher_information", "fisher_estimate"]


def score_function(policy: LogLinearPolicy, theta: ArrayLike) -> np.ndarray:
    """Score ``psi(s, a) = grad_theta log pi_theta(a|s)`` of a log-linear policy.

    ``psi(s, a) = phi(s, a) - sum_{a'} pi_theta(a'|s) phi(s, a')`` for allowed actions, and 0 for
    actions that are not allowed (they are never taken, so they have no score).

    Args:
        policy: features ``phi`` (S, A, k) and mask (S, A).
        theta: parameters, shape (k,).

    Returns:
        ``psi``, shape (S, A, k).
    """
    theta = check_theta(theta, policy.num_features)
    return _ScoreTable(policy, theta).psi


def fisher_information(mdp: TabularMDP, policy: LogLinearPolicy, theta: ArrayLike) -> np.ndarray:
    """Exact Fisher information matrix of the policy under its own state distribution.

    ``F(theta) = E_{s ~ d^theta, a ~ pi_theta(.|s)}[psi(s, a) psi(s, a)^T]
              = sum_s d^theta(s) sum_a pi_theta(a|s) psi(s, a) psi(s, a)^T``

    It is the Hessian of ``theta' -> d_KL(theta, theta')`` at ``theta' = theta``.
    Lecture erratum: the slide spells it "Fischer".

    Args:
        mdp: the MDP (S states, A actions).
        policy: features (S, A, k) and mask.
        theta: parameters, shape (k,).

    Returns:
        ``F``, shape (k, k), symmetric positive semi-definite (singular for tabular softmax).
    """
    theta = check_theta(theta, policy.num_features)
    table = _ScoreTable(policy, theta)
    d = discounted_state_distribution(mdp, table.pi)
    psi = table.psi
    k = policy.num_features
    pairs = ((s, a) for s in range(policy.num_states) for a in range(policy.num_actions))
    return functools.reduce(
        lambda F, sa: F + d[sa[0]] * table.pi[sa] * np.outer(psi[sa], psi[sa]), pairs, np.zeros((k, k))
    )


def fisher_estimate(
    policy: LogLinearPolicy, theta: ArrayLike, states: ArrayLike, actions: ArrayLike
) -> np.ndarray:
    """Sample estimate of the Fisher matrix from state-action pairs drawn from d^theta pi_theta.

    ``F_hat = 1/n sum_i psi(s_i, a_i) psi(s_i, a_i)^T`` (not centred, divided by n, not n - 1:
    the score already has mean zero under pi_theta).

    Args:
        policy: features (S, A, k) and mask.
        theta: parameters, shape (k,).
        states: integer array, shape (n,), values in [0, S).
        actions: integer array, shape (n,), values in [0, A), allowed in their state.

    Returns:
        ``F_hat``, shape (k, k).
    """
    theta = check_theta(theta, policy.num_features)
    states, actions = _check_samples(policy, states, actions)
    rows = _ScoreTable(policy, theta).psi[states, actions]
    return np.dot(rows.T, rows) / len(rows)


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
