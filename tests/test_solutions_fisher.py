"""Tests of ``solutions/fisher.py``: the score, the exact Fisher matrix and its sample estimate.

The Fisher matrix is checked four independent ways: the lecture's table (docs/conventions.md), the example's closed form
F = d(1) sigma (1 - sigma), the Hessian of the policy KL (central finite differences, step h = 5e-4:
truncation ~h^2 |d^4 KL| ~ 2e-7 (measured <= 2e-7 for entries up to 0.7), round-off
~1e-16 / h^2 ~ 4e-10; hence rtol 1e-4, atol 1e-6, far below F's entries ~1e-2 .. 1), and the
sample mean of psi psi^T (tolerance from the exact per-entry standard error).
"""

from __future__ import annotations

import numpy as np
import pytest

from solutions import (
    discounted_state_distribution,
    example_mdp,
    fisher_estimate,
    fisher_information,
    npg_direction,
    policy_gradient,
    policy_kl,
    random_mdp,
    sample_state_actions,
    score_function,
)

# docs/conventions.md, "The lecture's example MDP": theta, F, F^-1 g.
EXAMPLE_TABLE = [(-2.0, 0.0062878, -5.868951), (0.0, 0.0210084, -8.235294), (1.5, 0.0188827, -12.407322)]


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def kl_hessian(mdp, policy, theta0, h=5e-4):
    """Central-difference Hessian of theta -> policy_kl(mdp, policy, theta0, theta) at theta0."""
    theta0 = np.asarray(theta0, dtype=float)
    k = theta0.size
    eye = np.eye(k) * h
    H = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            f = [
                policy_kl(mdp, policy, theta0, theta0 + si * eye[i] + sj * eye[j])
                for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1))
            ]
            H[i, j] = (f[0] - f[1] - f[2] + f[3]) / (4 * h * h)
    return H


# ---------------------------------------------------------------------------------------------
# The lecture example.
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("theta, F, direction", EXAMPLE_TABLE)
def test_example_table_fisher_and_natural_gradient(theta, F, direction):
    mdp, policy = example_mdp()
    F_got = fisher_information(mdp, policy, [theta])
    assert F_got.shape == (1, 1)
    np.testing.assert_allclose(F_got, [[F]], rtol=0, atol=5e-8)
    g = policy_gradient(mdp, policy, [theta])
    np.testing.assert_allclose(npg_direction(F_got, g), [direction], rtol=0, atol=5e-7)
    np.testing.assert_allclose(g / F_got[0], [direction], rtol=0, atol=5e-7)


@pytest.mark.parametrize("theta", [-4.0, -2.0, 0.0, 0.3, 1.5, 3.0])
@pytest.mark.parametrize("p1, p2, gamma", [(0.8, 0.9, 0.9), (0.3, 0.6, 0.5)])
def test_example_fisher_closed_form(theta, p1, p2, gamma):
    """F = d(1) sigma (1 - sigma), with d(1) = (1-gamma) mu0(1) / (1 - gamma (1 - q)) derived by hand,
    q = Pr(1 -> 0) = sigma (1 - p1) + (1 - sigma) p2."""
    mdp, policy = example_mdp(p1=p1, p2=p2, gamma=gamma)
    s = sigmoid(theta)
    q = s * (1 - p1) + (1 - s) * p2
    d1 = (1 - gamma) * 0.5 / (1 - gamma * (1 - q))
    np.testing.assert_allclose(fisher_information(mdp, policy, [theta]), [[d1 * s * (1 - s)]], rtol=1e-10)


@pytest.mark.parametrize("theta", [-2.0, 0.0, 1.5])
def test_example_fisher_is_hessian_of_policy_kl(theta):
    mdp, policy = example_mdp()
    np.testing.assert_allclose(
        kl_hessian(mdp, policy, [theta]), fisher_information(mdp, policy, [theta]), rtol=1e-4, atol=1e-6
    )


def test_example_mu0_in_state_0_gives_zero_fisher():
    mdp, policy = example_mdp(mu0=(1.0, 0.0))
    for theta in (-2.0, 0.0, 1.5):
        np.testing.assert_allclose(fisher_information(mdp, policy, [theta]), [[0.0]], rtol=0, atol=1e-15)


# ---------------------------------------------------------------------------------------------
# Random MDPs.
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed, num_features", [(0, 3), (1, 4), (2, 3), (3, None)])
def test_fisher_is_hessian_of_policy_kl(seed, num_features):
    rng = np.random.default_rng(seed)
    num_states = 3 if num_features is None else 5
    mdp, policy = random_mdp(rng, num_states, 2, num_features)
    theta0 = rng.standard_normal(policy.num_features)
    F = fisher_information(mdp, policy, theta0)
    np.testing.assert_allclose(kl_hessian(mdp, policy, theta0), F, rtol=1e-4, atol=1e-6)


def test_fisher_is_hessian_of_policy_kl_with_masked_actions(masked_mdp):
    mdp, policy = masked_mdp(7, num_features=4)
    theta0 = np.random.default_rng(7).standard_normal(4)
    F = fisher_information(mdp, policy, theta0)
    np.testing.assert_allclose(kl_hessian(mdp, policy, theta0), F, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_fisher_is_symmetric_psd_and_tabular_nullspace(seed):
    rng = np.random.default_rng(seed)
    mdp, policy = random_mdp(rng, 4, 3)
    F = fisher_information(mdp, policy, rng.standard_normal(12))
    np.testing.assert_allclose(F, F.T, rtol=0, atol=1e-15)
    assert np.linalg.eigvalsh(F).min() > -1e-14
    # Tabular softmax: adding a constant to one state's logits changes nothing, so F 1_s = 0.
    for s in range(4):
        ones_s = np.zeros((4, 3))
        ones_s[s] = 1.0
        np.testing.assert_allclose(F @ ones_s.ravel(), 0.0, rtol=0, atol=1e-15)
    assert np.linalg.matrix_rank(F, tol=1e-10) == 4 * (3 - 1)


def test_fisher_of_unreachable_state_is_zero(unreachable_mdp):
    mdp, policy = unreachable_mdp(2)
    S, A = policy.mask.shape
    F = fisher_information(mdp, policy, np.random.default_rng(2).standard_normal(S * A))
    F4 = F.reshape(S, A, S, A)
    np.testing.assert_allclose(F4[-1], 0.0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(F4[:, :, -1], 0.0, rtol=0, atol=1e-15)


# ---------------------------------------------------------------------------------------------
# The score function.
# ---------------------------------------------------------------------------------------------
def test_score_is_gradient_of_log_policy(masked_mdp):
    mdp, policy = masked_mdp(8, num_features=3)
    theta = np.random.default_rng(8).standard_normal(3)
    psi = score_function(policy, theta)
    assert psi.shape == (*policy.mask.shape, 3)
    h = 1e-6
    fd = np.empty_like(psi)
    with np.errstate(divide="ignore", invalid="ignore"):  # log 0 at masked actions
        for i in range(3):
            e = np.zeros(3)
            e[i] = h
            fd[:, :, i] = (np.log(policy.probs(theta + e)) - np.log(policy.probs(theta - e))) / (2 * h)
    allowed = policy.mask
    np.testing.assert_allclose(psi[allowed], fd[allowed], rtol=1e-6, atol=1e-8)
    # Masked actions: zero score although their features are non-zero.
    assert np.all(np.abs(policy.phi[~allowed]) > 0)
    np.testing.assert_array_equal(psi[~allowed], 0.0)
    # E_{a ~ pi(.|s)}[psi(s, a)] = 0 in every state.
    np.testing.assert_allclose(np.einsum("sa,sak->sk", policy.probs(theta), psi), 0.0, rtol=0, atol=1e-14)


def test_score_example_hand_values():
    _, policy = example_mdp()
    psi = score_function(policy, [0.0])
    # State 1: psi(stay) = 1 - sigma(0) = 1/2, psi(switch) = -sigma(0) = -1/2; state 0 has no choice.
    np.testing.assert_allclose(psi[:, :, 0], [[0.0, 0.0], [0.5, -0.5]], rtol=1e-12, atol=0)


def test_score_finite_at_large_theta(masked_mdp):
    mdp, policy = masked_mdp(9)
    with np.errstate(over="raise", invalid="raise"):
        psi = score_function(policy, 1e3 * np.ones(3))
        F = fisher_information(mdp, policy, 1e3 * np.ones(3))
    assert np.all(np.isfinite(psi)) and np.all(np.isfinite(F))


# ---------------------------------------------------------------------------------------------
# The sample estimate.
# ---------------------------------------------------------------------------------------------
def test_fisher_estimate_hand_value():
    _, policy = example_mdp()
    # psi^2 = 1/4, 1/4, 0 for (1, stay), (1, switch), (0, stay): mean 1/6.
    F_hat = fisher_estimate(policy, [0.0], np.array([1, 1, 0]), np.array([0, 1, 0]))
    np.testing.assert_allclose(F_hat, [[1 / 6]], rtol=1e-12)


def test_fisher_estimate_converges_like_one_over_sqrt_n(masked_mdp):
    """|F_hat - F|_ij <= 6 se_ij with se_ij = sqrt(Var[psi_i psi_j] / n), the exact standard error.

    For 9 entries and 3 sample sizes, a Gaussian |Z| > 6 has probability < 27 * 2e-9 (the CLT is
    accurate at these n for bounded psi); a sampler or estimator with any bias of order 1e-2 fails
    at n = 1e5, where 6 se ~ 1e-3 .. 1e-2 of the entries.
    """
    mdp, policy = masked_mdp(10, num_features=3)
    rng = np.random.default_rng(10)
    theta = rng.standard_normal(3)
    F = fisher_information(mdp, policy, theta)
    pi = policy.probs(theta)
    w = discounted_state_distribution(mdp, pi)[:, None] * pi  # d(s) pi(a|s)
    psi = score_function(policy, theta)
    outer = np.einsum("sai,saj->saij", psi, psi)
    var = np.einsum("sa,saij->ij", w, outer**2) - F**2  # Var[psi_i psi_j] under d pi
    errors = {}
    for n in (10**3, 10**4, 10**5):
        states, actions = sample_state_actions(mdp, policy, theta, n, rng)
        F_hat = fisher_estimate(policy, theta, states, actions)
        z = np.abs(F_hat - F) / np.sqrt(var / n)
        assert z.max() < 6, f"n={n}: max |F_hat - F| / se = {z.max():.2f}"
        errors[n] = np.linalg.norm(F_hat - F)
    assert errors[10**5] < errors[10**3] / 3, errors


def test_fisher_estimate_validation():
    _, policy = example_mdp()
    with pytest.raises(ValueError, match=r"^states must be a 1-d"):
        fisher_estimate(policy, [0.0], np.zeros((2, 1), dtype=int), np.zeros(2, dtype=int))
    with pytest.raises(TypeError, match=r"^actions must hold integers"):
        fisher_estimate(policy, [0.0], np.zeros(2, dtype=int), np.zeros(2))
    with pytest.raises(ValueError, match=r"^states must lie in \[0, 2\)"):
        fisher_estimate(policy, [0.0], np.array([0, 2]), np.array([0, 0]))
    with pytest.raises(ValueError, match=r"^actions must lie in \[0, 2\)"):
        fisher_estimate(policy, [0.0], np.array([0, 1]), np.array([-1, 0]))
    with pytest.raises(ValueError, match=r"^states and actions must have the same shape"):
        fisher_estimate(policy, [0.0], np.array([0, 1]), np.array([0]))
    with pytest.raises(ValueError, match=r"n >= 1"):
        fisher_estimate(policy, [0.0], np.array([], dtype=int), np.array([], dtype=int))
    with pytest.raises(ValueError, match=r"^theta must be finite"):
        fisher_estimate(policy, [np.nan], np.array([0]), np.array([0]))


def test_score_and_fisher_validation():
    mdp, policy = example_mdp()
    with pytest.raises(ValueError, match=r"^theta must have shape"):
        score_function(policy, np.zeros(2))
    with pytest.raises(ValueError, match=r"^theta must be finite"):
        score_function(policy, [np.inf])
    with pytest.raises(ValueError, match=r"^theta must have shape"):
        fisher_information(mdp, policy, np.zeros((1, 1)))
    with pytest.raises(ValueError, match=r"^theta must be finite"):
        fisher_information(mdp, policy, [np.nan])
