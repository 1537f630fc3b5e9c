"""Policy, Fisher matrix, value gradient and step size of the CartPole NPG assignment.

The course's API, kept exactly so that students' code for its handout runs unchanged. Column
vectors throughout: ``theta`` (d, 1), features ``phis`` (d, |A|) (one column phi(s, a) per action),
action distribution (1, |A|), score ``grad log pi(a|s)`` (d, 1). d = 100 random Fourier features.

A trajectory i of length H_i (1 <= H_i <= 200) gives H_i scores ``g_{i,h}`` (d, 1) and rewards
``r_{i,h}``; ``grads`` and ``rewards`` are lists of N such lists, trajectories of different lengths.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import numpy as np

__all__ = [
    "NUM_FEATURES",
    "extract_features",
    "compute_softmax",
    "compute_action_distribution",
    "compute_log_softmax_grad",
    "compute_fisher_matrix",
    "compute_value_gradient",
    "compute_eta",
]

NUM_FEATURES = 100  # d: RBFSampler's default n_components
ETA_EPSILON = 1e-6  # the course's guard in compute_eta's denominator


# ----------------------------------------------------------------------------------------------
# Input checks (private: they name the argument; shapes are the handout's contract).
# ----------------------------------------------------------------------------------------------
def _as_matrix(x: object, name: str, rows: int | None = None, cols: int | None = None) -> np.ndarray:
    """Return ``x`` as a finite 2-D float array, checking its rows and columns when given."""
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}") from exc
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {arr.shape}")
    if (rows is not None and arr.shape[0] != rows) or (cols is not None and arr.shape[1] != cols):
        want = f"({'d' if rows is None else rows}, {'n' if cols is None else cols})"
        raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def _check_policy_inputs(theta: np.ndarray, phis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    phis = _as_matrix(phis, "phis")
    theta = _as_matrix(theta, "theta", rows=phis.shape[0], cols=1)
    return theta, phis


def _score_matrices(grads: Sequence[Sequence[np.ndarray]], name: str = "grads") -> list[np.ndarray]:
    """Stack each trajectory's scores: one (H_i, d) array per trajectory i, checked."""
    if len(grads) == 0:
        raise ValueError(f"{name} must hold at least one trajectory")
    stacked: list[np.ndarray] = []
    d: int | None = None
    for i, trajectory in enumerate(grads):
        if len(trajectory) == 0:
            raise ValueError(f"{name}[{i}] is an empty trajectory (every trajectory has H_i >= 1 steps)")
        g = np.asarray(trajectory, dtype=float)
        if g.ndim == 2:  # scores given as (d,) rows: accept, they are the same numbers
            g = g[:, :, None]
        if g.ndim != 3 or g.shape[2] != 1 or (d is not None and g.shape[1] != d):
            raise ValueError(
                f"{name}[{i}] must be a list of (d, 1) score vectors with one d for all, got shape {g.shape[1:]}"
            )
        if not np.isfinite(g).all():
            raise ValueError(f"{name}[{i}] must be finite (no NaN or inf)")
        d = g.shape[1]
        stacked.append(g[:, :, 0])
    return stacked


# ----------------------------------------------------------------------------------------------
# Features (given to students).
# ----------------------------------------------------------------------------------------------
@functools.cache
def _fitted_rbf_sampler(num_columns: int) -> Any:
    """The course's ``RBFSampler(gamma=1, random_state=12345)`` fitted to rows of width ``num_columns``.

    ``fit`` draws the random weights (num_columns, 100) and offsets (100,) from ``random_state``
    and looks at nothing but the width of its input, so one fit per width gives exactly what the
    course's ``fit_transform`` on every call gives, without refitting 200 times per rollout.
    scikit-learn is imported here, on the first call, not with the module (importing it costs about
    2 s and 120 MB, which code that does not need the features, such as the grader, is spared).
    """
    from sklearn.kernel_approximation import RBFSampler

    return RBFSampler(gamma=1, random_state=12345).fit(np.zeros((1, num_columns)))


def extract_features(state: np.ndarray, num_actions: int) -> np.ndarray:
    """Random Fourier features phi(s, a) of one state for every action, one column per action.

    ``phi(s, a) = sqrt(2 / d) cos(W^T [s, a] + b)``, W ~ N(0, 2 gamma I) (gamma = 1), b ~ U[0, 2 pi),
    drawn by scikit-learn's ``RBFSampler(gamma=1, random_state=12345)``; the action enters as the
    number a = 0 .. |A|-1 appended to the state.

    Args:
        state: the state s, shape (|S|,) or (|S|, 1) (CartPole: |S| = 4).
        num_actions: |A| >= 1.

    Returns:
        phis, shape (d, |A|) with d = 100: column a is phi(s, a).
    """
    s = np.asarray(state, dtype=float).reshape(1, -1)
    if int(num_actions) != num_actions or num_actions < 1:
        raise ValueError(f"num_actions must be a positive integer, got {num_actions!r}")
    num_actions = int(num_actions)
    sa = np.concatenate([np.repeat(s, num_actions, axis=0), np.arange(num_actions).reshape(-1, 1)], axis=1)
    sampler = _fitted_rbf_sampler(sa.shape[1])
    # RBFSampler.transform's own operations, in its order, without its per-call input validation.
    projection = sa @ sampler.random_weights_
    projection += sampler.random_offset_
    np.cos(projection, out=projection)
    projection *= np.sqrt(2.0) / np.sqrt(sampler.n_components)
    return projection.T


# ----------------------------------------------------------------------------------------------
# The policy.
# ----------------------------------------------------------------------------------------------
def compute_softmax(logits: np.ndarray, axis: int) -> np.ndarray:
    """Numerically stable softmax along ``axis``.

    ``softmax(z)_j = exp(z_j - max_k z_k) / sum_k exp(z_k - max_k z_k)`` (the max-shift leaves the
    result unchanged and keeps exp from overflowing at logits of +-1000).

    Args:
        logits: any shape, e.g. (1, |A|) for one state or (n, |A|) for n states.
        axis: the axis to normalise over.

    Returns:
        same shape as ``logits``, non-negative, summing to 1 along ``axis``.
    """
    try:
        z = np.asarray(logits, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"logits must be an array of numbers, got {type(logits).__name__}") from exc
    if z.ndim == 0:
        raise ValueError("logits must have at least one dimension, got a scalar")
    if not np.isfinite(z).all():
        raise ValueError("logits must be finite (no NaN or inf)")
    shifted = z - np.max(z, axis=axis, keepdims=True)
    exps = np.exp(shifted)
    sums = np.sum(exps, axis=axis, keepdims=True)
    return exps / sums


def compute_action_distribution(theta: np.ndarray, phis: np.ndarray) -> np.ndarray:
    """The log-linear policy's action distribution in one state.

    ``pi(a|s) = exp(theta^T phi(s, a)) / sum_a' exp(theta^T phi(s, a'))``

    Args:
        theta: parameters, shape (d, 1).
        phis: features of the state for every action, shape (d, |A|).

    Returns:
        pi(.|s), shape (1, |A|).
    """
    theta, phis = _check_policy_inputs(theta, phis)
    num_actions = phis.shape[1]
    logits = np.zeros((1, num_actions))
    for a in range(num_actions):
        logits[0, a] = np.dot(theta[:, 0], phis[:, a])
    return compute_softmax(logits, 1)


def compute_log_softmax_grad(theta: np.ndarray, phis: np.ndarray, action_idx: int) -> np.ndarray:
    """Score of the log-linear policy: the gradient of log pi(a|s) in theta.

    ``grad_theta log pi(a|s) = phi(s, a) - sum_a' pi(a'|s) phi(s, a')``

    Args:
        theta: parameters, shape (d, 1).
        phis: features of the state for every action, shape (d, |A|).
        action_idx: the action a, an integer in 0 .. |A|-1.

    Returns:
        the score, shape (d, 1).
    """
    theta, phis = _check_policy_inputs(theta, phis)
    if int(action_idx) != action_idx or not 0 <= action_idx < phis.shape[1]:
        raise ValueError(f"action_idx must be an integer in 0..{phis.shape[1] - 1}, got {action_idx!r}")
    action_idx = int(action_idx)
    pi = compute_action_distribution(theta, phis)
    d, num_actions = phis.shape
    mean_phi = np.zeros((d, 1))
    for a in range(num_actions):
        mean_phi += pi[0, a] * phis[:, a].reshape(d, 1)
    return phis[:, action_idx].reshape(d, 1) - mean_phi


# ----------------------------------------------------------------------------------------------
# Fisher matrix, value gradient, step size.
# ----------------------------------------------------------------------------------------------
def compute_fisher_matrix(grads: Sequence[Sequence[np.ndarray]], lamb: float = 1e-3) -> np.ndarray:
    """Sampled Fisher information matrix, averaged per trajectory, with a ridge.

    ``F = (1/N) sum_i (1/H_i) sum_h g_{i,h} g_{i,h}^T + lamb I``

    Each trajectory weighs 1/N whatever its length (not 1 / sum_i H_i per step).

    Args:
        grads: N lists of scores g_{i,h}, each of shape (d, 1); trajectory i has H_i >= 1 of them.
        lamb: ridge lamb >= 0 added to the diagonal (keeps F invertible).

    Returns:
        F, shape (d, d), symmetric, positive definite when lamb > 0.
    """
    scores = _score_matrices(grads)
    if not np.isfinite(lamb) or lamb < 0:
        raise ValueError(f"lamb must be a finite number >= 0, got {lamb!r}")
    N = len(scores)
    d = scores[0].shape[1]
    F = np.zeros((d, d))
    for G in scores:
        H = G.shape[0]
        F_i = np.zeros((d, d))
        for h in range(H):
            g = G[h].reshape(d, 1)
            F_i += g @ g.T
        F += F_i / H
    F = F / N
    F += 1e-3 * np.identity(d)
    return F


def compute_value_gradient(
    grads: Sequence[Sequence[np.ndarray]], rewards: Sequence[Sequence[float]]
) -> np.ndarray:
    """Policy-gradient estimate with reward-to-go and a constant baseline, averaged per trajectory.

    ``grad = (1/N) sum_i (1/H_i) sum_h g_{i,h} (sum_{t >= h} r_{i,t} - b)``,
    ``b = (1/N) sum_i sum_t r_{i,t}`` (the mean total reward of the N trajectories).

    Args:
        grads: N lists of scores g_{i,h}, each of shape (d, 1); trajectory i has H_i of them.
        rewards: N lists of rewards r_{i,h}; ``len(rewards[i]) == len(grads[i])``.

    Returns:
        the gradient estimate, shape (d, 1).
    """
    scores = _score_matrices(grads)
    if len(rewards) != len(scores):
        raise ValueError(f"rewards must hold one list per trajectory: {len(rewards)} lists for {len(scores)}")
    reward_arrays = []
    for i, (G, r) in enumerate(zip(scores, rewards)):
        r = np.asarray(r, dtype=float)
        if r.shape != (G.shape[0],):
            raise ValueError(f"rewards[{i}] must hold {G.shape[0]} numbers (one per step of grads[{i}]), got {r.shape}")
        if not np.isfinite(r).all():
            raise ValueError(f"rewards[{i}] must be finite (no NaN or inf)")
        reward_arrays.append(r)
    N = len(scores)
    d = scores[0].shape[1]
    total = 0.0
    for r in reward_arrays:
        total += np.sum(r)
    b = total / N
    grad = np.zeros((d, 1))
    for G, r in zip(scores, reward_arrays):
        H = len(r)
        grad_i = np.zeros((d, 1))
        for h in range(H):
            reward_to_go = np.sum(r[h:])
            grad_i += G[h].reshape(d, 1) * (reward_to_go - b)
        grad += grad_i / H
    return grad / N


def compute_eta(delta: float, fisher: np.ndarray, v_grad: np.ndarray) -> float:
    """Trust-region step size of natural policy gradient.

    ``eta = sqrt(delta / (g^T F^{-1} g + 1e-6))``, so the step D = eta F^{-1} g satisfies
    ``D^T F D = delta (g^T F^{-1} g) / (g^T F^{-1} g + 1e-6) <= delta``.

    Args:
        delta: trust-region size, > 0.
        fisher: F, shape (d, d), symmetric positive definite.
        v_grad: g, shape (d, 1).

    Returns:
        eta, a float > 0.
    """
    if not np.isfinite(delta) or delta <= 0:
        raise ValueError(f"delta must be a finite number > 0, got {delta!r}")
    fisher = _as_matrix(fisher, "fisher")
    v_grad = _as_matrix(v_grad, "v_grad", rows=fisher.shape[0], cols=1)
    if fisher.shape[0] != fisher.shape[1]:
        raise ValueError(f"fisher must be square, got shape {fisher.shape}")
    F_inv = np.linalg.inv(fisher)
    quad = float((v_grad.T @ F_inv @ v_grad)[0, 0])
    return np.sqrt(delta / (quad + 1e-6))
