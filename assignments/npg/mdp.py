"""Tabular MDPs and log-linear policies: the code students are given.

Conventions (the same throughout the homework):

* ``P[s, a, s']`` has shape (S, A, S) and each row ``P[s, a, :]`` sums to 1;
  ``r[s, a]`` has shape (S, A); ``gamma`` is in [0, 1); ``mu0[s]`` has shape (S,).
* A log-linear policy has features ``phi[s, a, :]`` of shape (S, A, k) and a boolean mask
  ``mask[s, a]`` of allowed actions:
  ``pi_theta(a|s) = exp(theta . phi(s, a)) / sum_{a' allowed} exp(theta . phi(s, a'))``,
  and 0 where ``a`` is not allowed. Tabular softmax is ``phi = one-hot(s, a)``, k = S * A.
* ``d(s) = (1 - gamma) sum_t gamma^t Pr(s_t = s | s_0 ~ mu0)`` is normalised (it sums to 1).
* ``J(theta) = V^pi(mu0) = E[sum_t gamma^t r(s_t, a_t)]`` is not normalised.

This file is identical in ``solutions/`` and in the students' folder; the autograder always uses
its own pristine copy, so editing it changes nothing in a grade.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Union

import numpy as np

ArrayLike = Union[np.ndarray, Sequence[float], float]

__all__ = [
    "TabularMDP",
    "LogLinearPolicy",
    "example_mdp",
    "random_mdp",
    "discounted_state_distribution",
    "state_values",
    "q_values",
    "objective",
    "policy_gradient",
    "gradient_ascent",
    "as_float_array",
    "check_distribution",
    "check_theta",
]

# Probabilities must sum to 1 within this absolute tolerance.
PROB_ATOL = 1e-6


# ----------------------------------------------------------------------------------------------
# Input checks shared by every public function (they name the argument that is wrong).
# ----------------------------------------------------------------------------------------------
def as_float_array(x: ArrayLike, name: str, ndim: Optional[int] = None) -> np.ndarray:
    """Return ``x`` as a float array, checking that it is numeric, finite and of rank ``ndim``."""
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}") from exc
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if not np.isfinite(arr).all():  # ndarray methods: these checks run on every call, keep them cheap
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def check_distribution(p: ArrayLike, name: str, axis: int = -1) -> np.ndarray:
    """Return ``p`` as a float array after checking it is non-negative and sums to 1 over ``axis``."""
    arr = as_float_array(p, name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension, got a scalar")
    if (arr < 0).any():
        raise ValueError(f"{name} has negative probabilities (min {arr.min():.3g})")
    error = np.abs(arr.sum(axis=axis) - 1.0)
    if error.size and error.max() > PROB_ATOL:
        worst = arr.sum(axis=axis).flat[np.argmax(error)]
        raise ValueError(f"{name} must sum to 1 along axis {axis}, found a sum of {worst:.6g}")
    return arr


def check_theta(theta: ArrayLike, num_features: int, name: str = "theta") -> np.ndarray:
    """Return ``theta`` as a finite float vector of shape (k,)."""
    arr = as_float_array(theta, name)
    if arr.ndim == 0 and num_features == 1:
        arr = arr.reshape(1)
    if arr.shape != (num_features,):
        raise ValueError(f"{name} must have shape ({num_features},), got {arr.shape}")
    return arr


# ----------------------------------------------------------------------------------------------
# The MDP and the policy class.
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TabularMDP:
    """A finite discounted MDP.

    Attributes:
        P: transition probabilities ``P[s, a, s']``, shape (S, A, S), rows sum to 1.
        r: rewards ``r[s, a]``, shape (S, A).
        gamma: discount factor in [0, 1).
        mu0: initial state distribution, shape (S,).
    """

    P: np.ndarray
    r: np.ndarray
    gamma: float
    mu0: np.ndarray

    def __post_init__(self) -> None:
        P = check_distribution(self.P, "P")
        if P.ndim != 3 or P.shape[0] != P.shape[2]:
            raise ValueError(f"P must have shape (S, A, S), got {P.shape}")
        S, A, _ = P.shape
        r = as_float_array(self.r, "r", ndim=2)
        if r.shape != (S, A):
            raise ValueError(f"r must have shape (S, A) = ({S}, {A}), got {r.shape}")
        gamma = float(self.gamma)
        if not 0.0 <= gamma < 1.0:
            raise ValueError(f"gamma must be in [0, 1), got {self.gamma}")
        mu0 = check_distribution(self.mu0, "mu0")
        if mu0.shape != (S,):
            raise ValueError(f"mu0 must have shape (S,) = ({S},), got {mu0.shape}")
        object.__setattr__(self, "P", P)
        object.__setattr__(self, "r", r)
        object.__setattr__(self, "gamma", gamma)
        object.__setattr__(self, "mu0", mu0)

    @property
    def num_states(self) -> int:
        return self.P.shape[0]

    @property
    def num_actions(self) -> int:
        return self.P.shape[1]


class LogLinearPolicy:
    """``pi_theta(a|s) proportional to exp(theta . phi(s, a))`` over the allowed actions.

    Args:
        phi: features, shape (S, A, k).
        mask: allowed actions, shape (S, A) bool; every state needs at least one. Default: all.
    """

    def __init__(self, phi: ArrayLike, mask: Optional[ArrayLike] = None) -> None:
        self.phi = as_float_array(phi, "phi", ndim=3)
        S, A, _ = self.phi.shape
        if mask is None:
            mask = np.ones((S, A), dtype=bool)
        mask = np.asarray(mask)
        if mask.shape != (S, A):
            raise ValueError(f"mask must have shape (S, A) = ({S}, {A}), got {mask.shape}")
        if mask.dtype != bool:
            raise TypeError(f"mask must be boolean, got dtype {mask.dtype}")
        if not np.all(mask.any(axis=1)):
            raise ValueError("mask must allow at least one action in every state")
        self.mask = mask

    @property
    def num_states(self) -> int:
        return self.phi.shape[0]

    @property
    def num_actions(self) -> int:
        return self.phi.shape[1]

    @property
    def num_features(self) -> int:
        return self.phi.shape[2]

    def logits(self, theta: ArrayLike) -> np.ndarray:
        """``theta . phi(s, a)``, shape (S, A), with ``-inf`` where the action is not allowed."""
        theta = check_theta(theta, self.num_features)
        z = self.phi @ theta
        return np.where(self.mask, z, -np.inf)

    def probs(self, theta: ArrayLike) -> np.ndarray:
        """``pi_theta(a|s)``, shape (S, A); rows sum to 1; 0 where not allowed.

        Computed with a max-shift, so |theta| = 1e3 neither overflows nor gives NaN.
        """
        z = self.logits(theta)
        z = z - z.max(axis=1, keepdims=True)  # max-shift: the largest allowed logit becomes 0
        e = np.where(self.mask, np.exp(z), 0.0)
        return e / e.sum(axis=1, keepdims=True)


# ----------------------------------------------------------------------------------------------
# Constructors.
# ----------------------------------------------------------------------------------------------
def example_mdp(
    p1: float = 0.8,
    p2: float = 0.9,
    gamma: float = 0.9,
    mu0: ArrayLike = (0.5, 0.5),
) -> tuple[TabularMDP, LogLinearPolicy]:
    """The lecture's two-state example.

    States {0, 1}; actions {0 = stay, 1 = switch}. From 0: stay -> 0, switch -> 1. From 1: stay -> 1
    w.p. p1 (-> 0 w.p. 1 - p1); switch -> 0 w.p. p2 (-> 1 w.p. 1 - p2). Reward +1 in state 0 and
    -1/2 for switching: ``r = [[1, 1/2], [0, -1/2]]``. The policy always stays in state 0 (switch is
    masked out) and ``pi(stay|1) = sigmoid(theta)``: k = 1, ``phi(1, stay) = 1``, other features 0.
    """
    for name, value in (("p1", p1), ("p2", p2)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be a probability in [0, 1], got {value}")
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = 1.0  # stay in 0
    P[0, 1, 1] = 1.0  # switch 0 -> 1 (masked out by the policy)
    P[1, 0] = [1.0 - p1, p1]  # stay in 1 w.p. p1
    P[1, 1] = [p2, 1.0 - p2]  # switch 1 -> 0 w.p. p2
    r = np.array([[1.0, 0.5], [0.0, -0.5]])
    phi = np.zeros((2, 2, 1))
    phi[1, 0, 0] = 1.0
    mask = np.array([[True, False], [True, True]])
    return TabularMDP(P, r, gamma, np.asarray(mu0, dtype=float)), LogLinearPolicy(phi, mask)


def random_mdp(
    rng: np.random.Generator,
    num_states: int,
    num_actions: int,
    num_features: Optional[int] = None,
    gamma: float = 0.9,
) -> tuple[TabularMDP, LogLinearPolicy]:
    """A random MDP with Dirichlet(1) transitions and mu0, and rewards uniform in [0, 1).

    ``num_features=None`` gives tabular softmax (``phi`` one-hot in (s, a), k = S * A); otherwise
    ``phi`` has i.i.d. standard normal entries, shape (S, A, num_features). All actions are allowed.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if num_states < 1 or num_actions < 1:
        raise ValueError(f"num_states and num_actions must be >= 1, got {num_states}, {num_actions}")
    S, A = int(num_states), int(num_actions)
    P = rng.dirichlet(np.ones(S), size=(S, A))
    r = rng.random((S, A))
    mu0 = rng.dirichlet(np.ones(S))
    if num_features is None:
        phi = np.eye(S * A).reshape(S, A, S * A)
    else:
        if num_features < 1:
            raise ValueError(f"num_features must be >= 1 or None, got {num_features}")
        phi = rng.standard_normal((S, A, int(num_features)))
    return TabularMDP(P, r, gamma, mu0), LogLinearPolicy(phi)


# ----------------------------------------------------------------------------------------------
# Exact policy evaluation.
# ----------------------------------------------------------------------------------------------
def _check_pi(mdp: TabularMDP, pi: ArrayLike) -> np.ndarray:
    pi = check_distribution(pi, "pi")
    if pi.shape != (mdp.num_states, mdp.num_actions):
        raise ValueError(
            f"pi must have shape (S, A) = ({mdp.num_states}, {mdp.num_actions}), got {pi.shape}"
        )
    return pi


def discounted_state_distribution(mdp: TabularMDP, pi: ArrayLike) -> np.ndarray:
    """``d(s) = (1 - gamma) sum_t gamma^t Pr(s_t = s)``, shape (S,), sums to 1.

    Solves ``d^T (I - gamma P_pi) = (1 - gamma) mu0^T`` with ``P_pi[s, s'] = sum_a pi(a|s) P[s, a, s']``.
    ``pi`` has shape (S, A).
    """
    pi = _check_pi(mdp, pi)
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)
    S = mdp.num_states
    d = np.linalg.solve(np.eye(S) - mdp.gamma * P_pi.T, (1.0 - mdp.gamma) * mdp.mu0)
    d = np.clip(d, 0.0, None)  # remove round-off below zero for unreachable states
    return d / d.sum()


def state_values(mdp: TabularMDP, pi: ArrayLike) -> np.ndarray:
    """``V^pi = (I - gamma P_pi)^{-1} r_pi``, shape (S,), with ``r_pi(s) = sum_a pi(a|s) r(s, a)``."""
    pi = _check_pi(mdp, pi)
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)
    r_pi = np.sum(pi * mdp.r, axis=1)
    return np.linalg.solve(np.eye(mdp.num_states) - mdp.gamma * P_pi, r_pi)


def q_values(mdp: TabularMDP, pi: ArrayLike) -> np.ndarray:
    """``Q^pi(s, a) = r(s, a) + gamma sum_s' P[s, a, s'] V^pi(s')``, shape (S, A)."""
    V = state_values(mdp, pi)
    return mdp.r + mdp.gamma * mdp.P @ V


def objective(mdp: TabularMDP, policy: LogLinearPolicy, theta: ArrayLike) -> float:
    """``J(theta) = sum_s mu0(s) V^{pi_theta}(s)`` (not normalised by 1 - gamma)."""
    return float(mdp.mu0 @ state_values(mdp, policy.probs(theta)))


def policy_gradient(mdp: TabularMDP, policy: LogLinearPolicy, theta: ArrayLike) -> np.ndarray:
    """Exact ``grad J(theta)``, shape (k,).

    Policy gradient theorem in advantage form:
    ``grad J = 1/(1-gamma) sum_s d(s) sum_a pi(a|s) A(s, a) phi(s, a)`` with ``A = Q - V``,
    which equals ``1/(1-gamma) E_{s~d, a~pi}[grad log pi(a|s) Q(s, a)]`` because
    ``sum_a pi(a|s) A(s, a) = 0``.
    """
    pi = policy.probs(theta)
    d = discounted_state_distribution(mdp, pi)
    Q = q_values(mdp, pi)
    adv = Q - np.sum(pi * Q, axis=1, keepdims=True)  # A(s, a) = Q(s, a) - V(s)
    weights = d[:, None] * pi * adv  # d(s) pi(a|s) A(s, a)
    return np.einsum("sa,sak->k", weights, policy.phi) / (1.0 - mdp.gamma)


def gradient_ascent(
    mdp: TabularMDP,
    policy: LogLinearPolicy,
    theta0: ArrayLike,
    step_size: float,
    iterations: int,
    gradient: Optional[Callable[[TabularMDP, LogLinearPolicy, np.ndarray], np.ndarray]] = None,
) -> np.ndarray:
    """Vanilla policy-gradient ascent ``theta_{i+1} = theta_i + step_size * grad J(theta_i)``.

    Returns the iterates, shape (iterations + 1, k), starting with ``theta0``. The notebook
    compares it with natural policy gradient.
    """
    gradient = policy_gradient if gradient is None else gradient
    theta = check_theta(theta0, policy.num_features, "theta0")
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    thetas = np.empty((iterations + 1, theta.size))
    thetas[0] = theta
    for i in range(iterations):
        thetas[i + 1] = thetas[i] + step_size * gradient(mdp, policy, thetas[i])
    return thetas
