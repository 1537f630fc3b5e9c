"""Public cases of the CartPole assignment: inputs only; ``autograder assign`` computes the expected values.

The generator imports this module from the reference folder, evaluates the reference function of
each case, and stores inputs and outputs as data in ``assignments/cartpole/public_cases.json``
(format: ``autograder/assign/cases.py``). Random inputs are rounded so that the stored inputs are
the same on every machine. They cover the six functions of ``utils.py`` with inputs CartPole never
produces (several rows of logits, three actions, logits near +-1000, trajectories of different
lengths, non-constant rewards, a ridge other than 1e-3); ``sample`` and ``train`` need the
grader's environment and samples and are checked by the autograder only.
"""

from __future__ import annotations

import numpy as np

from .utils import extract_features

FIXTURES: dict = {}

_r = np.random.default_rng(2025)


def _normal(*shape: int, scale: float = 1.0) -> np.ndarray:
    return np.round(scale * _r.standard_normal(shape), 3)


def _trajectories(lengths: list[int], d: int, boost: float = 1.0) -> tuple[list, list]:
    grads = [[_normal(d, 1) for _ in range(H)] for H in lengths]
    grads[0] = [boost * g for g in grads[0]]
    rewards = [[float(x) for x in np.round(_r.uniform(-2.0, 3.0, size=H), 2)] for H in lengths]
    return grads, rewards


LOGITS_COLUMNS = np.round(_r.uniform(-20, 20, size=(3, 4)), 2)
LOGITS_ROWS = np.round(_r.uniform(-20, 20, size=(2, 3)), 2)
THETA_5, PHIS_5x2 = _normal(5, 1), _normal(5, 2)
THETA_4, PHIS_4x3 = _normal(4, 1), _normal(4, 3)
THETA_100 = np.round(_r.random((100, 1)), 3)
PHIS_CARTPOLE = extract_features(np.array([0.02, -0.1, 0.03, 0.2]), 2)
UNEQUAL = _trajectories([1, 3, 20], 4, boost=10.0)
LAMB_CASE = _trajectories([4, 9], 3)
REWARD_TO_GO = _trajectories([1, 12, 5], 4)
A6 = _normal(6, 10, scale=0.3)
FISHER_6 = A6 @ A6.T / 10 + 0.1 * np.eye(6)
G_6 = _normal(6, 1)

CASES = [
    # compute_softmax
    {"part": "compute_softmax", "description": "one row of logits, axis = 1",
     "args": [np.array([[0.5, -1.0, 2.0]]), 1]},
    {"part": "compute_softmax", "description": "3 x 4 logits over axis 0 (one distribution per column)",
     "args": [LOGITS_COLUMNS, 0]},
    {"part": "compute_softmax", "description": "2 x 3 logits over axis 1 (one distribution per row)",
     "args": [LOGITS_ROWS, 1]},
    {"part": "compute_softmax", "description": "logits near +-1000 (no overflow)",
     "args": [np.array([[1000.0, 999.0, -1000.0]]), 1]},
    {"part": "compute_softmax", "description": "logits near +-1000 over axis 0",
     "args": [np.array([[1000.0, -1000.0], [1001.0, -1002.0]]), 0]},
    {"part": "compute_softmax", "description": "a single logit", "args": [np.array([[3.7]]), 1]},
    # compute_action_distribution
    {"part": "compute_action_distribution", "description": "2 actions, d = 5", "args": [THETA_5, PHIS_5x2]},
    {"part": "compute_action_distribution", "description": "3 actions, d = 4", "args": [THETA_4, PHIS_4x3]},
    {"part": "compute_action_distribution", "description": "CartPole's features of one state, theta in [0, 1)",
     "args": [THETA_100, PHIS_CARTPOLE]},
    {"part": "compute_action_distribution", "description": "logits 1000 and 999.5 (no overflow)",
     "args": [np.array([[1000.0]]), np.array([[1.0, 0.9995]])]},
    # compute_log_softmax_grad
    {"part": "compute_log_softmax_grad", "description": "2 actions, d = 5, action 0", "args": [THETA_5, PHIS_5x2, 0]},
    {"part": "compute_log_softmax_grad", "description": "3 actions, d = 4, action 2", "args": [THETA_4, PHIS_4x3, 2]},
    {"part": "compute_log_softmax_grad", "description": "CartPole's features, action 1",
     "args": [THETA_100, PHIS_CARTPOLE, 1]},
    {"part": "compute_log_softmax_grad", "description": "a near-deterministic policy (logits 580 and -412)",
     "args": [np.array([[10.0], [-4.0]]), np.array([[60.0, -40.0], [5.0, 3.0]]), 1]},
    # compute_fisher_matrix
    {"part": "compute_fisher_matrix", "description": "one trajectory of one step",
     "args": [[[np.array([[1.0], [2.0], [-1.0]])]], 1e-3]},
    {"part": "compute_fisher_matrix", "description": "lengths 1, 3 and 20, the short one with large scores",
     "args": [UNEQUAL[0], 1e-3]},
    {"part": "compute_fisher_matrix", "description": "lamb = 0.25 (use the ridge you are given)",
     "args": [LAMB_CASE[0], 0.25]},
    # compute_value_gradient
    {"part": "compute_value_gradient", "description": "two trajectories of one step, rewards 2 and -1",
     "args": [[[np.array([[1.0], [0.0], [2.0]])], [np.array([[0.0], [1.0], [-1.0]])]], [[2.0], [-1.0]]]},
    {"part": "compute_value_gradient", "description": "lengths 1, 12 and 5, non-constant rewards",
     "args": list(REWARD_TO_GO)},
    {"part": "compute_value_gradient", "description": "lengths 1, 3 and 20 (1/H_i per trajectory)",
     "args": list(UNEQUAL)},
    # compute_eta
    {"part": "compute_eta", "description": "a diagonal Fisher far from the identity (g^T F^-1 g = 3, g^T F g = 16.5)",
     "args": [0.01, np.diag([0.5, 4.0]), np.array([[1.0], [2.0]])]},
    {"part": "compute_eta", "description": "d = 6, a full Fisher", "args": [0.05, FISHER_6, G_6]},
]
