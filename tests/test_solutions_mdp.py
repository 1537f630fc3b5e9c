"""Tests of ``solutions/mdp.py``: the lecture example, policy evaluation, the policy gradient, inputs.

Tolerances: the lecture's table (docs/conventions.md) is checked to half a unit of its last printed
digit; finite differences use central differences with step h (truncation ~h^2 J''', round-off
~eps |J| / h), so with h = 1e-5 and |J| <= 10 the error is below ~1e-9 and atol = 1e-7 leaves a
wide margin while staying far below the size of the gradients (~1e-2 .. 1).
"""

from __future__ import annotations

import numpy as np
import pytest

from solutions import (
    LogLinearPolicy,
    TabularMDP,
    discounted_state_distribution,
    example_mdp,
    gradient_ascent,
    objective,
    policy_gradient,
    q_values,
    random_mdp,
    state_values,
)

# docs/conventions.md, "The lecture's example MDP": theta, J, dJ/dtheta, d(1) at p1 = 0.8, p2 = 0.9, gamma = 0.9.
EXAMPLE_TABLE = [
    (-2.0, 9.137385, -0.03690266, 0.059887),
    (0.0, 8.949580, -0.17301038, 0.084034),
    (1.5, 8.618466, -0.23428419, 0.126605),
]


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def example_closed_form(theta, p1=0.8, p2=0.9, gamma=0.9, mu0=(0.5, 0.5)):
    """Hand-derived J and d(1) of the example (independent of the general code).

    V(0) = 1/(1-gamma) (state 0 always stays, reward 1). With sigma = pi(stay|1):
    V(1) = [sigma gamma (1-p1) V0 + (1-sigma)(-1/2 + gamma p2 V0)]
           / [1 - sigma gamma p1 - (1-sigma) gamma (1-p2)].
    With q = Pr(1 -> 0) = sigma (1-p1) + (1-sigma) p2 and state 0 absorbing,
    d(1) = (1-gamma) mu0(1) / (1 - gamma (1 - q)).
    """
    s = sigmoid(theta)
    v0 = 1.0 / (1.0 - gamma)
    v1 = (s * gamma * (1 - p1) * v0 + (1 - s) * (-0.5 + gamma * p2 * v0)) / (
        1 - s * gamma * p1 - (1 - s) * gamma * (1 - p2)
    )
    q = s * (1 - p1) + (1 - s) * p2
    d1 = (1 - gamma) * mu0[1] / (1 - gamma * (1 - q))
    return mu0[0] * v0 + mu0[1] * v1, d1


def finite_difference_gradient(f, theta, h=1e-5):
    theta = np.asarray(theta, dtype=float)
    grad = np.empty_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h
        grad[i] = (f(theta + e) - f(theta - e)) / (2 * h)
    return grad


# ---------------------------------------------------------------------------------------------
# The lecture example.
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("theta, J, dJ, d1", EXAMPLE_TABLE)
def test_example_table_objective_gradient_state_distribution(theta, J, dJ, d1):
    mdp, policy = example_mdp()
    t = np.array([theta])
    np.testing.assert_allclose(objective(mdp, policy, t), J, rtol=0, atol=5e-7)
    np.testing.assert_allclose(policy_gradient(mdp, policy, t), [dJ], rtol=0, atol=5e-9)
    d = discounted_state_distribution(mdp, policy.probs(t))
    np.testing.assert_allclose(d[1], d1, rtol=0, atol=5e-7)


@pytest.mark.parametrize("theta", [-5.0, -2.0, 0.0, 0.7, 1.5, 4.0])
@pytest.mark.parametrize("p1, p2, gamma", [(0.8, 0.9, 0.9), (0.3, 0.6, 0.5), (0.95, 0.1, 0.99)])
def test_example_matches_hand_derived_closed_form(theta, p1, p2, gamma):
    mdp, policy = example_mdp(p1=p1, p2=p2, gamma=gamma)
    J, d1 = example_closed_form(theta, p1, p2, gamma)
    t = np.array([theta])
    np.testing.assert_allclose(objective(mdp, policy, t), J, rtol=1e-10, atol=0)
    d = discounted_state_distribution(mdp, policy.probs(t))
    np.testing.assert_allclose(d, [1 - d1, d1], rtol=1e-10, atol=1e-14)


def test_example_policy_is_sigmoid_and_never_switches_in_state_0():
    _, policy = example_mdp()
    for theta in (-3.0, 0.0, 2.5):
        pi = policy.probs([theta])
        np.testing.assert_allclose(pi, [[1, 0], [sigmoid(theta), 1 - sigmoid(theta)]], rtol=1e-12, atol=0)


# (p1, p2, gamma, expected sign of theta*): chosen by hand on both sides of 1 + 2g = g (3 p1 + 2 p2),
# at least 0.1 away from the boundary.
SIGN_RULE_CASES = [
    (0.8, 0.9, 0.9, -1),  # the lecture's defaults: 2.8 < 3.78
    (0.9, 0.9, 0.95, -1),  # 2.9 < 4.275
    (1.0, 1.0, 0.5, -1),  # 2.0 < 2.5
    (0.95, 0.2, 0.9, -1),  # 2.8 < 2.925
    (0.2, 0.3, 0.9, +1),  # 2.8 > 1.08
    (0.5, 0.5, 0.5, +1),  # 2.0 > 1.25
    (0.0, 1.0, 0.9, +1),  # 2.8 > 1.8
    (0.6, 0.6, 0.9, +1),  # 2.8 > 2.7
]


@pytest.mark.parametrize("p1, p2, gamma, sign", SIGN_RULE_CASES)
def test_example_sign_rule_for_optimal_theta(p1, p2, gamma, sign):
    margin = (1 + 2 * gamma) - gamma * (3 * p1 + 2 * p2)
    assert sign * margin > 0.05, "the hand-chosen side disagrees with the rule in docs/conventions.md"
    mdp, policy = example_mdp(p1=p1, p2=p2, gamma=gamma)
    thetas = np.linspace(-8.0, 8.0, 33)
    J = np.array([objective(mdp, policy, [t]) for t in thetas])
    # V(1) is a ratio of affine functions of sigma, hence monotone: J must move one way only.
    assert np.all(sign * np.diff(J) > 0), f"J is not monotone in the direction {sign:+d}"
    for theta in (-10.0, 10.0):
        g = policy_gradient(mdp, policy, [theta])[0]
        assert sign * g > 0, f"dJ/dtheta at theta={theta} has the wrong sign: {g}"


def test_example_sign_rule_limit_formula():
    """At sigma = 1, Q(1,stay) - Q(1,switch) = 1/2 - gamma (p1 + p2 - 1) / (1 - gamma p1) (by hand);
    its sign is the rule's. Compare with q_values of the always-stay policy on a grid of parameters."""
    for p1 in np.linspace(0, 1, 6):
        for p2 in np.linspace(0, 1, 6):
            for gamma in (0.3, 0.9, 0.99):
                mdp, _ = example_mdp(p1=p1, p2=p2, gamma=gamma)
                Q = q_values(mdp, np.array([[1.0, 0.0], [1.0, 0.0]]))
                expected = 0.5 - gamma * (p1 + p2 - 1) / (1 - gamma * p1)
                np.testing.assert_allclose(Q[1, 0] - Q[1, 1], expected, rtol=1e-9, atol=1e-12)
                rule = (1 + 2 * gamma) - gamma * (3 * p1 + 2 * p2)
                if abs(rule) > 1e-9:
                    assert np.sign(expected) == np.sign(rule)


def test_example_mu0_in_state_0_never_reaches_state_1():
    mdp, policy = example_mdp(mu0=(1.0, 0.0))
    for theta in (-2.0, 0.0, 1.5):
        d = discounted_state_distribution(mdp, policy.probs([theta]))
        np.testing.assert_allclose(d, [1.0, 0.0], rtol=0, atol=1e-15)
        np.testing.assert_allclose(policy_gradient(mdp, policy, [theta]), [0.0], rtol=0, atol=1e-15)
        np.testing.assert_allclose(objective(mdp, policy, [theta]), 10.0, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# Policy evaluation on random MDPs: two independent computations agree.
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_discounted_state_distribution_matches_power_series(seed):
    rng = np.random.default_rng(seed)
    mdp, policy = random_mdp(rng, 6, 3, 2, gamma=0.8)
    pi = policy.probs(rng.standard_normal(2))
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)
    # (1 - gamma) sum_t gamma^t mu0 P_pi^t, truncated where gamma^t < 1e-16.
    expected, row = np.zeros(6), mdp.mu0.copy()
    for t in range(200):
        expected += (1 - mdp.gamma) * mdp.gamma**t * row
        row = row @ P_pi
    d = discounted_state_distribution(mdp, pi)
    np.testing.assert_allclose(d.sum(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(d, expected, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("seed", [0, 1])
def test_values_satisfy_bellman_and_iterative_evaluation(seed):
    rng = np.random.default_rng(seed)
    mdp, policy = random_mdp(rng, 5, 4, gamma=0.9)
    pi = policy.probs(rng.standard_normal(20))
    V, Q = state_values(mdp, pi), q_values(mdp, pi)
    V_iter = np.zeros(5)
    for _ in range(500):  # 0.9^500 ~ 1e-23
        V_iter = np.sum(pi * (mdp.r + mdp.gamma * mdp.P @ V_iter), axis=1)
    np.testing.assert_allclose(V, V_iter, rtol=1e-10)
    np.testing.assert_allclose(np.sum(pi * Q, axis=1), V, rtol=1e-10)


# ---------------------------------------------------------------------------------------------
# Finite-difference gradients of J vs policy_gradient.
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("num_features", [None, 3])
def test_policy_gradient_matches_finite_differences(seed, num_features):
    rng = np.random.default_rng(seed)
    mdp, policy = random_mdp(rng, 4, 3, num_features, gamma=0.9)
    theta = rng.standard_normal(policy.num_features)
    fd = finite_difference_gradient(lambda t: objective(mdp, policy, t), theta)
    np.testing.assert_allclose(policy_gradient(mdp, policy, theta), fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("num_features", [None, 4])
def test_policy_gradient_matches_finite_differences_with_masked_actions(masked_mdp, seed, num_features):
    mdp, policy = masked_mdp(seed, num_features=num_features)
    theta = np.random.default_rng(seed + 100).standard_normal(policy.num_features)
    fd = finite_difference_gradient(lambda t: objective(mdp, policy, t), theta)
    g = policy_gradient(mdp, policy, theta)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-7)
    if num_features is None:  # tabular: parameters of masked actions have no effect at all
        np.testing.assert_allclose(g.reshape(policy.mask.shape)[~policy.mask], 0.0, rtol=0, atol=1e-15)


@pytest.mark.parametrize("theta", [-2.0, 0.0, 1.5])
def test_example_gradient_matches_finite_differences(theta):
    mdp, policy = example_mdp()
    fd = finite_difference_gradient(lambda t: objective(mdp, policy, t), [theta])
    np.testing.assert_allclose(policy_gradient(mdp, policy, [theta]), fd, rtol=1e-6, atol=1e-9)


def test_gradient_ascent_iterates_and_improves():
    mdp, policy = example_mdp()
    thetas = gradient_ascent(mdp, policy, [0.0], step_size=5.0, iterations=10)
    assert thetas.shape == (11, 1)
    np.testing.assert_allclose(thetas[0], [0.0], rtol=0, atol=0)
    np.testing.assert_allclose(thetas[1], 5.0 * policy_gradient(mdp, policy, [0.0]), rtol=1e-12)
    J = [objective(mdp, policy, t) for t in thetas]
    assert np.all(np.diff(J) > 0)


# ---------------------------------------------------------------------------------------------
# The policy class.
# ---------------------------------------------------------------------------------------------
def test_probs_match_naive_softmax_at_moderate_theta(masked_mdp):
    mdp, policy = masked_mdp(3)
    theta = np.random.default_rng(3).standard_normal(policy.num_features)
    logits = policy.phi @ theta
    naive = np.where(policy.mask, np.exp(logits), 0.0)
    naive /= naive.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(policy.probs(theta), naive, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("scale", [1e3, -1e3])
def test_probs_overflow_safe_at_large_theta(masked_mdp, scale):
    mdp, policy = masked_mdp(4)
    theta = scale * np.random.default_rng(4).standard_normal(policy.num_features)
    with np.errstate(over="raise", invalid="raise"):
        pi = policy.probs(theta)
    assert np.all(np.isfinite(pi))
    np.testing.assert_allclose(pi.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    # Masked actions are exactly impossible, not merely tiny.
    np.testing.assert_array_equal(pi[~policy.mask], 0.0)
    _, example = example_mdp()
    with np.errstate(over="raise", invalid="raise"):
        np.testing.assert_allclose(example.probs([scale]), [[1, 0], [scale > 0, scale < 0]], atol=1e-300)


def test_masked_action_with_nonzero_features_has_zero_probability_and_no_influence(masked_mdp):
    mdp, policy = masked_mdp(5)
    assert np.all(np.abs(policy.phi[~policy.mask]) > 0)
    theta = np.random.default_rng(5).standard_normal(policy.num_features)
    np.testing.assert_array_equal(policy.probs(theta)[~policy.mask], 0.0)
    # Changing the features of forbidden actions changes nothing.
    phi2 = policy.phi.copy()
    phi2[~policy.mask] += 7.0
    other = LogLinearPolicy(phi2, policy.mask)
    np.testing.assert_allclose(other.probs(theta), policy.probs(theta), rtol=1e-12, atol=0)
    np.testing.assert_allclose(objective(mdp, other, theta), objective(mdp, policy, theta), rtol=1e-12)
    np.testing.assert_allclose(
        policy_gradient(mdp, other, theta), policy_gradient(mdp, policy, theta), rtol=1e-9, atol=1e-13
    )


def test_unreachable_state_has_zero_weight(unreachable_mdp):
    mdp, policy = unreachable_mdp(0)
    S, A = policy.mask.shape
    theta = np.random.default_rng(0).standard_normal(S * A)
    d = discounted_state_distribution(mdp, policy.probs(theta))
    np.testing.assert_allclose(d[-1], 0.0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(d.sum(), 1.0, rtol=1e-12)
    g = policy_gradient(mdp, policy, theta).reshape(S, A)
    np.testing.assert_allclose(g[-1], 0.0, rtol=0, atol=1e-15)
    # The parameters of the unreachable state do not change J.
    theta2 = theta.reshape(S, A).copy()
    theta2[-1] += np.array([3.0, -2.0, 5.0])
    np.testing.assert_allclose(
        objective(mdp, policy, theta2.ravel()), objective(mdp, policy, theta), rtol=1e-12
    )


# ---------------------------------------------------------------------------------------------
# Input validation: the message names the argument.
# ---------------------------------------------------------------------------------------------
def _good():
    mdp, _ = example_mdp()
    return mdp.P, mdp.r, mdp.mu0


def test_tabular_mdp_validation():
    P, r, mu0 = _good()
    with pytest.raises(ValueError, match=r"^P must have shape"):
        TabularMDP(np.full((2, 2, 3), 1 / 3), r, 0.9, mu0)
    P_neg = P.copy()
    P_neg[1, 0] = [1.5, -0.5]
    with pytest.raises(ValueError, match=r"^P has negative"):
        TabularMDP(P_neg, r, 0.9, mu0)
    with pytest.raises(ValueError, match=r"^P must sum to 1"):
        TabularMDP(P * 0.9, r, 0.9, mu0)
    with pytest.raises(ValueError, match=r"^r must have shape"):
        TabularMDP(P, r[:, :1], 0.9, mu0)
    for gamma in (1.0, -0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"^gamma must be in \[0, 1\)"):
            TabularMDP(P, r, gamma, mu0)
    with pytest.raises(ValueError, match=r"^mu0 must sum to 1"):
        TabularMDP(P, r, 0.9, [0.5, 0.6])
    with pytest.raises(ValueError, match=r"^mu0 has negative"):
        TabularMDP(P, r, 0.9, [1.5, -0.5])
    with pytest.raises(ValueError, match=r"^mu0 must have shape"):
        TabularMDP(P, r, 0.9, [0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match=r"^r must be finite"):
        TabularMDP(P, np.full((2, 2), np.inf), 0.9, mu0)


def test_policy_validation():
    with pytest.raises(ValueError, match=r"^phi must have 3"):
        LogLinearPolicy(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"^mask must have shape"):
        LogLinearPolicy(np.zeros((2, 2, 1)), np.ones((2, 3), dtype=bool))
    with pytest.raises(TypeError, match=r"^mask must be boolean"):
        LogLinearPolicy(np.zeros((2, 2, 1)), np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"^mask must allow"):
        LogLinearPolicy(np.zeros((2, 2, 1)), np.array([[True, True], [False, False]]))
    _, policy = example_mdp()
    with pytest.raises(ValueError, match=r"^theta must have shape"):
        policy.probs([0.0, 1.0])
    for bad in (np.nan, np.inf, -np.inf):
        with pytest.raises(ValueError, match=r"^theta must be finite"):
            policy.probs([bad])


def test_constructor_validation():
    with pytest.raises(ValueError, match=r"^p1 must be a probability"):
        example_mdp(p1=1.5)
    with pytest.raises(ValueError, match=r"^p2 must be a probability"):
        example_mdp(p2=-0.1)
    with pytest.raises(ValueError, match=r"^gamma must be in"):
        example_mdp(gamma=1.0)
    with pytest.raises(ValueError, match=r"^mu0 must sum to 1"):
        example_mdp(mu0=(0.5, 0.4))
    with pytest.raises(TypeError, match=r"^rng must be"):
        random_mdp(0, 3, 2)
    with pytest.raises(ValueError, match=r"^num_states and num_actions"):
        random_mdp(np.random.default_rng(0), 0, 2)
    with pytest.raises(ValueError, match=r"^num_features must be"):
        random_mdp(np.random.default_rng(0), 3, 2, 0)
    with pytest.raises(ValueError, match=r"^gamma must be in"):
        random_mdp(np.random.default_rng(0), 3, 2, gamma=1.0)


def test_evaluation_validation():
    mdp, policy = example_mdp()
    for fn in (discounted_state_distribution, state_values, q_values):
        with pytest.raises(ValueError, match=r"^pi must have shape"):
            fn(mdp, np.full((3, 2), 0.5))
        with pytest.raises(ValueError, match=r"^pi has negative"):
            fn(mdp, np.array([[1.5, -0.5], [0.5, 0.5]]))
        with pytest.raises(ValueError, match=r"^pi must sum to 1"):
            fn(mdp, np.full((2, 2), 0.4))
    for fn in (objective, policy_gradient):
        with pytest.raises(ValueError, match=r"^theta must have shape"):
            fn(mdp, policy, [0.0, 0.0])
        with pytest.raises(ValueError, match=r"^theta must be finite"):
            fn(mdp, policy, [np.nan])
    with pytest.raises(ValueError, match=r"^iterations must be"):
        gradient_ascent(mdp, policy, [0.0], 1.0, -1)
    with pytest.raises(ValueError, match=r"^theta0 must be finite"):
        gradient_ascent(mdp, policy, [np.inf], 1.0, 1)


@pytest.mark.parametrize("document", ["docs/conventions.md", "README.md"])
def test_the_documented_example_table_matches_the_reference(document):
    """Every number of the example table in the repository's docs, to half a unit of its last digit."""
    from pathlib import Path

    from solutions import fisher_information, npg_direction

    text = (Path(__file__).resolve().parents[1] / document).read_text()
    rows = [line.strip("| ").split(" | ") for line in text.splitlines()
            if line.startswith("| ") and line.count("|") == 7 and line[2:3] in "-0123456789" and "---" not in line]
    assert [r[0].strip() for r in rows] == ["-2", "0", "1.5"], rows
    mdp, policy = example_mdp()
    for row in rows:
        theta = [float(row[0])]
        F, g = fisher_information(mdp, policy, theta), policy_gradient(mdp, policy, theta)
        values = [objective(mdp, policy, theta), g[0], discounted_state_distribution(mdp, policy.probs(theta))[1],
                  F[0, 0], npg_direction(F, g)[0]]
        for printed, value in zip(row[1:], values):
            printed = printed.strip()
            half_unit = 0.5 * 10.0 ** -len(printed.split(".")[1])
            assert abs(value - float(printed)) <= half_unit, (document, theta, printed, value)
