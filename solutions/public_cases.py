"""Public cases of the NPG assignment: inputs only; ``autograder assign`` computes the expected values.

The generator imports this module from the reference package, evaluates the reference function of
each case, and stores inputs and outputs as data in ``assignments/npg/public_cases.json``. Students
see the inputs (and a snippet to reproduce each call), never this file. The format is documented in
``autograder/assign/cases.py``. Random inputs are rounded so that the stored inputs are the same on
every machine.
"""

from __future__ import annotations

import numpy as np

from .mdp import discounted_state_distribution, example_mdp, random_mdp


def fixture(name: str, item: int) -> dict:
    """Item ``item`` of the fixture ``name`` (0: the MDP, 1: the policy)."""
    return {"$fixture": name, "item": item}


def rng(seed: int) -> dict:
    """A fresh ``np.random.default_rng(seed)`` for the student's function."""
    return {"$rng": seed}


def matvec(matrix: np.ndarray, max_calls: int) -> dict:
    """A callable ``v -> matrix @ v`` that fails after ``max_calls`` calls."""
    return {"$matvec": np.asarray(matrix, dtype=float), "max_calls": max_calls}


FIXTURES = {
    "example": {"module": "mdp", "function": "example_mdp", "names": ["mdp", "policy"]},
    "example_stuck": {
        "module": "mdp",
        "function": "example_mdp",
        "kwargs": {"mu0": [1.0, 0.0]},  # never leaves state 0: d(1) = 0 and F = 0
        "names": ["mdp", "policy"],
    },
    "random_tabular": {
        "module": "mdp",
        "function": "random_mdp",
        "args": [rng(0), 3, 2],  # tabular softmax, k = 6: F is singular
        "names": ["mdp", "policy"],
    },
    "random_features": {
        "module": "mdp",
        "function": "random_mdp",
        "args": [rng(1), 4, 3],
        "kwargs": {"num_features": 2},
        "names": ["mdp", "policy"],
    },
}
EXAMPLE = (fixture("example", 0), fixture("example", 1))
STUCK = (fixture("example_stuck", 0), fixture("example_stuck", 1))
TABULAR = (fixture("random_tabular", 0), fixture("random_tabular", 1))
FEATURES = (fixture("random_features", 0), fixture("random_features", 1))

_r = np.random.default_rng(2024)
THETA_FEATURES = np.round(_r.standard_normal(2), 3)
THETA_FEATURES_B = np.round(_r.standard_normal(2), 3)
THETA_TABULAR = np.round(_r.standard_normal(6), 3)
STATES = _r.integers(0, 4, size=40)
ACTIONS = _r.integers(0, 3, size=40)

# A singular Fisher-like matrix with exact entries: F = A A^T, A = [[1, 0], [1, 1], [0, 1]] (rank 2).
F_SINGULAR = np.array([[1.0, 1.0, 0.0], [1.0, 2.0, 1.0], [0.0, 1.0, 1.0]])
G_IN_RANGE = np.array([3.0, 5.0, 2.0])  # F @ [1, 2, 0]
F_EXAMPLE = np.array([[0.0210084]])  # the lecture example at theta = 0 (the lecture's table)
G_EXAMPLE = np.array([-0.17301038])
B = np.array([[2.0, 1.0, 0.0, 0.0], [1.0, 3.0, 1.0, 0.0], [0.0, 1.0, 2.0, 1.0], [1.0, 0.0, 1.0, 2.0]])
M_SPD = B.T @ B + np.eye(4)  # symmetric positive definite, integer entries


def _exact_pmf(mdp, policy, theta) -> np.ndarray:
    """``d^theta(s) pi_theta(a|s)``, shape (S, A): what the sampler must draw from."""
    pi = policy.probs(theta)
    return discounted_state_distribution(mdp, pi)[:, None] * pi


def _sampler_case(description: str, fixture_name: str, made: tuple, theta: np.ndarray, seed: int) -> dict:
    n = 20000
    return {
        "part": "sample_state_actions",
        "description": description,
        "args": [fixture(fixture_name, 0), fixture(fixture_name, 1), theta, n, rng(seed)],
        "expected": None,
        "compare": {"kind": "categorical", "pmf": _exact_pmf(*made, theta), "n": n, "seed": seed},
    }


DIRECTION = {"kind": "direction", "F": 0, "g": 1}
TRAJECTORY = {"kind": "policy_trajectory", "mdp": 0, "policy": 1}

CASES = [
    # ---- kl.py ---------------------------------------------------------------------------------
    {"part": "kl_divergence", "description": "two distributions", "args": [np.array([0.5, 0.5]), np.array([0.9, 0.1])]},
    {
        "part": "kl_divergence",
        "description": "p(x) = 0 contributes 0 (0 log 0 = 0)",
        "args": [np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.25, 0.5])],
    },
    {
        "part": "kl_divergence",
        "description": "p(x) > 0 where q(x) = 0 gives inf",
        "args": [np.array([0.5, 0.5]), np.array([1.0, 0.0])],
    },
    {
        "part": "kl_divergence",
        "description": "a batch of p (3, 4) against one q (4,): broadcast over leading axes",
        "args": [
            np.array([[0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25], [0.7, 0.1, 0.1, 0.1]]),
            np.array([0.4, 0.3, 0.2, 0.1]),
        ],
    },
    {
        "part": "kl_divergence",
        "description": "KL(p || p) = 0",
        "args": [np.array([0.2, 0.3, 0.5]), np.array([0.2, 0.3, 0.5])],
    },
    {"part": "kl_bernoulli", "description": "scalars", "args": [0.3, 0.6]},
    {
        "part": "kl_bernoulli",
        "description": "broadcast (3, 1) against (4,), with p and q at 0 and 1",
        "args": [np.array([[0.0], [0.5], [1.0]]), np.array([0.0, 0.25, 0.75, 1.0])],
    },
    {
        "part": "kl_gaussian",
        "description": "the lecture's formula with its missing 1/2 restored",
        "args": [np.array([0.0, 0.0]), np.array([1.0, 2.0]), 1.0],
    },
    {
        "part": "kl_gaussian",
        "description": "a batch of means (3, 2) against one mean, sigma = 0.5 (a standard deviation)",
        "args": [np.array([[0.0, 1.0], [2.0, -1.0], [0.5, 0.5]]), np.array([1.0, 1.0]), 0.5],
    },
    {
        "part": "kl_gaussian",
        "description": "one sigma per batch element",
        "args": [np.array([[0.0, 1.0], [2.0, -1.0], [0.5, 0.5]]), np.zeros((3, 2)), np.array([1.0, 2.0, 0.1])],
    },
    {
        "part": "policy_kl",
        "description": "lecture example, theta0 = 0, theta = 1",
        "args": [*EXAMPLE, np.array([0.0]), np.array([1.0])],
    },
    {
        "part": "policy_kl",
        "description": "lecture example, theta0 = 1, theta = 0 (the KL is not symmetric)",
        "args": [*EXAMPLE, np.array([1.0]), np.array([0.0])],
    },
    {
        "part": "policy_kl",
        "description": "state 1 unreachable (mu0 = (1, 0)): the policy KL is 0",
        "args": [*STUCK, np.array([0.0]), np.array([3.0])],
    },
    {
        "part": "policy_kl",
        "description": "random MDP with 2 features",
        "args": [*FEATURES, THETA_FEATURES, THETA_FEATURES_B],
    },
    # ---- fisher.py ------------------------------------------------------------------------------
    {"part": "score_function", "description": "lecture example, theta = 0.5", "args": [EXAMPLE[1], np.array([0.5])]},
    {
        "part": "score_function",
        "description": "lecture example, theta = 1000 (no overflow)",
        "args": [EXAMPLE[1], np.array([1000.0])],
    },
    {"part": "score_function", "description": "random MDP with 2 features", "args": [FEATURES[1], THETA_FEATURES]},
    {"part": "fisher_information", "description": "lecture example, theta = -2", "args": [*EXAMPLE, np.array([-2.0])]},
    {"part": "fisher_information", "description": "lecture example, theta = 0", "args": [*EXAMPLE, np.array([0.0])]},
    {"part": "fisher_information", "description": "lecture example, theta = 1.5", "args": [*EXAMPLE, np.array([1.5])]},
    {"part": "fisher_information", "description": "state 1 unreachable: F = 0", "args": [*STUCK, np.array([0.0])]},
    {"part": "fisher_information", "description": "tabular softmax (singular F)", "args": [*TABULAR, THETA_TABULAR]},
    {"part": "fisher_information", "description": "random MDP with 2 features", "args": [*FEATURES, THETA_FEATURES]},
    {
        "part": "fisher_estimate",
        "description": "lecture example, five samples",
        "args": [EXAMPLE[1], np.array([0.0]), np.array([0, 1, 1, 1, 0]), np.array([0, 0, 1, 1, 0])],
    },
    {
        "part": "fisher_estimate",
        "description": "random MDP, 40 samples",
        "args": [FEATURES[1], THETA_FEATURES, STATES, ACTIONS],
    },
    # ---- npg.py ---------------------------------------------------------------------------------
    _sampler_case("lecture example, theta = 0", "example", example_mdp(), np.array([0.0]), 7),
    _sampler_case("tabular random MDP", "random_tabular", random_mdp(np.random.default_rng(0), 3, 2), THETA_TABULAR, 8),
    {
        "part": "npg_direction",
        "description": "lecture example at theta = 0 (the lecture's table)",
        "args": [F_EXAMPLE, G_EXAMPLE],
    },
    {
        "part": "npg_direction",
        "description": "singular F, g in its range",
        "args": [F_SINGULAR, G_IN_RANGE],
        "compare": DIRECTION,
    },
    {
        "part": "npg_direction",
        "description": "singular F, damping = 0.1",
        "args": [F_SINGULAR, G_IN_RANGE],
        "kwargs": {"damping": 0.1},
    },
    {"part": "npg_direction", "description": "zero gradient", "args": [F_SINGULAR, np.zeros(3)], "compare": DIRECTION},
    {
        "part": "trust_region_step",
        "description": "lecture example at theta = 0, delta = 0.01",
        "args": [F_EXAMPLE, G_EXAMPLE, 0.01],
    },
    {
        "part": "trust_region_step",
        "description": "singular F, delta = 0.05",
        "args": [F_SINGULAR, G_IN_RANGE, 0.05],
        "compare": DIRECTION,
    },
    {"part": "trust_region_step", "description": "zero gradient: no step", "args": [F_SINGULAR, np.zeros(3), 0.05]},
    {
        "part": "conjugate_gradient",
        "description": "4 x 4 positive definite system, up to 10 iterations",
        "args": [matvec(M_SPD, 10), np.array([1.0, 2.0, 3.0, 4.0])],
        "kwargs": {"iters": 10},
    },
    {
        "part": "conjugate_gradient",
        "description": "the same system stopped after 2 iterations",
        "args": [matvec(M_SPD, 2), np.array([1.0, 2.0, 3.0, 4.0])],
        "kwargs": {"iters": 2},
    },
    {
        "part": "conjugate_gradient",
        "description": "diagonal system, 3 iterations",
        "args": [matvec(np.diag([1.0, 10.0, 100.0]), 3), np.array([1.0, 1.0, 1.0])],
        "kwargs": {"iters": 3},
    },
    {
        "part": "natural_policy_gradient",
        "description": "lecture example from theta = 0, delta = 0.01, 5 iterations",
        "args": [*EXAMPLE, np.array([0.0]), 0.01, 5],
        "compare": TRAJECTORY,
    },
    {
        "part": "natural_policy_gradient",
        "description": "tabular random MDP, delta = 0.01, 3 iterations",
        "args": [*TABULAR, np.zeros(6), 0.01, 3],
        "compare": TRAJECTORY,
    },
    {
        "part": "natural_policy_gradient",
        "description": "random MDP with 2 features, delta = 0.05, 4 iterations",
        "args": [*FEATURES, np.zeros(2), 0.05, 4],
        "compare": TRAJECTORY,
    },
]
