"""Tests of ``solutions/kl.py``: discrete, Bernoulli and Gaussian KL, and the policy KL.

Hand-checked values are exact up to round-off (rtol 1e-12); the Monte-Carlo check states its
standard error; the second-order expansion error is O(|dtheta|) relative, checked at |dtheta| = 1e-3
with rtol 1e-2 (an expansion without the 1/2 would be off by a factor 2).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from solutions import (
    discounted_state_distribution,
    example_mdp,
    fisher_information,
    kl_bernoulli,
    kl_divergence,
    kl_gaussian,
    policy_kl,
    random_mdp,
)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# ---------------------------------------------------------------------------------------------
# kl_divergence
# ---------------------------------------------------------------------------------------------
def test_kl_divergence_hand_values():
    # 1/2 log(1/2 / 1/4) * 2 = log 2; the p = 0 term contributes 0 even though q > 0 there.
    np.testing.assert_allclose(kl_divergence([0.5, 0.5, 0.0], [0.25, 0.25, 0.5]), np.log(2), rtol=1e-12)
    # Not symmetric: KL(q || p) = inf here, since q > 0 = p in the last entry.
    assert np.isposinf(kl_divergence([0.25, 0.25, 0.5], [0.5, 0.5, 0.0]))
    # 0.9 log(0.9/0.5) + 0.1 log(0.1/0.5) = log 2 + 0.9 log 0.9 + 0.1 log 0.1 = 0.368064207168...
    np.testing.assert_allclose(kl_divergence([0.9, 0.1], [0.5, 0.5]), 0.3680642071684971, rtol=1e-12)


def test_kl_divergence_zeros_in_p_and_q():
    # 0 log 0 = 0: a zero where both vanish contributes nothing.
    np.testing.assert_allclose(kl_divergence([1.0, 0.0], [1.0, 0.0]), 0.0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(kl_divergence([0.0, 1.0], [0.5, 0.5]), np.log(2), rtol=1e-12)
    # p > 0 = q gives +inf, without NaN and without a warning escaping.
    with np.errstate(all="raise"):
        value = kl_divergence([0.5, 0.5], [1.0, 0.0])
    assert np.isposinf(value)


def test_kl_divergence_broadcasts_over_leading_axes():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(3), size=(4, 1))  # (4, 1, 3)
    q = rng.dirichlet(np.ones(3), size=5)  # (5, 3)
    out = kl_divergence(p, q)
    assert out.shape == (4, 5)
    loop = np.array([[np.sum(p[i, 0] * np.log(p[i, 0] / q[j])) for j in range(5)] for i in range(4)])
    np.testing.assert_allclose(out, loop, rtol=1e-12)
    assert np.shape(kl_divergence(p[0, 0], q[0])) == ()


def test_kl_divergence_gibbs_inequality():
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.full(6, 0.3), size=1000)
    q = rng.dirichlet(np.full(6, 0.3), size=1000)
    assert np.all(kl_divergence(p, q) >= 0)
    np.testing.assert_allclose(kl_divergence(p, p), 0.0, rtol=0, atol=1e-14)


def test_kl_divergence_validation():
    with pytest.raises(ValueError, match=r"^p has negative"):
        kl_divergence([1.5, -0.5], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"^q must sum to 1"):
        kl_divergence([0.5, 0.5], [0.5, 0.6])
    with pytest.raises(ValueError, match=r"^p must sum to 1"):
        kl_divergence([[0.5, 0.5], [0.2, 0.2]], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"^p and q must have the same last axis"):
        kl_divergence([0.5, 0.5], [0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match=r"^q must be finite"):
        kl_divergence([0.5, 0.5], [np.nan, 0.5])
    with pytest.raises(ValueError, match=r"^p must have at least one dimension"):
        kl_divergence(1.0, [1.0])


# ---------------------------------------------------------------------------------------------
# kl_bernoulli
# ---------------------------------------------------------------------------------------------
def test_kl_bernoulli_hand_values():
    # 1/2 log 2 + 1/2 log(2/3) = 1/2 log(4/3)
    np.testing.assert_allclose(kl_bernoulli(0.5, 0.25), 0.5 * np.log(4 / 3), rtol=1e-12)
    np.testing.assert_allclose(kl_bernoulli(0.0, 0.5), np.log(2), rtol=1e-12)
    np.testing.assert_allclose(kl_bernoulli([0.0, 1.0], [0.0, 1.0]), [0.0, 0.0], rtol=0, atol=1e-15)
    assert np.all(np.isposinf(kl_bernoulli([1.0, 0.0, 0.3], [0.0, 1.0, 1.0])))


def test_kl_bernoulli_agrees_with_kl_divergence_and_broadcasts():
    rng = np.random.default_rng(2)
    p = rng.random((3, 1))
    q = rng.random(4)
    out = kl_bernoulli(p, q)
    assert out.shape == (3, 4)
    P = np.stack(np.broadcast_arrays(p, 1 - p), axis=-1)
    Q = np.stack([q, 1 - q], axis=-1)
    np.testing.assert_allclose(out, kl_divergence(P, Q), rtol=1e-12)


def test_kl_bernoulli_validation():
    with pytest.raises(ValueError, match=r"^p must be a probability"):
        kl_bernoulli(1.5, 0.5)
    with pytest.raises(ValueError, match=r"^q must be a probability"):
        kl_bernoulli(0.5, -0.1)
    with pytest.raises(ValueError, match=r"^q must be finite"):
        kl_bernoulli(0.5, np.nan)


# ---------------------------------------------------------------------------------------------
# kl_gaussian (erratum 1: the 1/2)
# ---------------------------------------------------------------------------------------------
def test_kl_gaussian_closed_form_includes_one_half():
    # ||(0,0) - (3,4)||^2 / (2 * 2^2) = 25 / 8; the slide's formula would give 25 / 4.
    np.testing.assert_allclose(kl_gaussian([0.0, 0.0], [3.0, 4.0], 2.0), 25 / 8, rtol=1e-12)
    out = kl_gaussian(np.zeros((2, 1, 3)), np.ones((4, 3)), np.array([[1.0], [2.0]]))
    np.testing.assert_allclose(out, np.array([[1.5] * 4, [3 / 8] * 4]), rtol=1e-12)


def test_kl_gaussian_matches_monte_carlo():
    rng = np.random.default_rng(3)
    mu1, mu2, sigma, n = np.array([0.0, 1.0]), np.array([1.0, -1.0]), 1.5, 10**6
    x = mu1 + sigma * rng.standard_normal((n, 2))
    log_ratio = stats.norm.logpdf(x, mu1, sigma).sum(1) - stats.norm.logpdf(x, mu2, sigma).sum(1)
    # Exact KL = 5 / 4.5 = 1.111; the log ratio has variance ||mu1-mu2||^2 / sigma^2 = 2.22, so the
    # standard error is 1.5e-3 and 6 standard errors (false failure < 1e-8) is ~9e-3, far below
    # the factor-2 slide error (2.22).
    se = np.sqrt(np.sum((mu1 - mu2) ** 2) / sigma**2 / n)
    np.testing.assert_allclose(kl_gaussian(mu1, mu2, sigma), log_ratio.mean(), rtol=0, atol=6 * se)


def test_kl_gaussian_validation():
    with pytest.raises(ValueError, match=r"^sigma must be > 0"):
        kl_gaussian([0.0], [1.0], 0.0)
    with pytest.raises(ValueError, match=r"^mu1 and mu2 must have at least one dimension"):
        kl_gaussian(0.0, [1.0], 1.0)
    with pytest.raises(ValueError, match=r"^mu2 must be finite"):
        kl_gaussian([0.0], [np.inf], 1.0)


# ---------------------------------------------------------------------------------------------
# policy_kl (erratum 2 and 3)
# ---------------------------------------------------------------------------------------------
def test_policy_kl_example_value_from_spec():
    mdp, policy = example_mdp()
    np.testing.assert_allclose(policy_kl(mdp, policy, [0.0], [1.0]), 0.01009366, rtol=0, atol=5e-9)


@pytest.mark.parametrize("theta0, theta", [(0.0, 1.0), (-2.0, 1.5), (1.5, -2.0), (3.0, 3.1), (0.5, 0.5)])
def test_policy_kl_example_closed_form(theta0, theta):
    """Erratum 3: d^{theta0}(1) [sigma(theta0)(theta0 - theta) + log(1+e^theta) - log(1+e^theta0)]."""
    mdp, policy = example_mdp()
    d1 = discounted_state_distribution(mdp, policy.probs([theta0]))[1]
    per_state = sigmoid(theta0) * (theta0 - theta) + np.logaddexp(0, theta) - np.logaddexp(0, theta0)
    np.testing.assert_allclose(
        policy_kl(mdp, policy, [theta0], [theta]), d1 * per_state, rtol=1e-10, atol=1e-16
    )
    # The same number through the Bernoulli KL of pi(stay|1).
    np.testing.assert_allclose(
        per_state, kl_bernoulli(sigmoid(theta0), sigmoid(theta)), rtol=1e-10, atol=1e-16
    )


def test_policy_kl_weights_by_old_state_distribution():
    """d^{theta0}, not d^{theta}: the two weightings differ on the example, and only one matches."""
    mdp, policy = example_mdp()
    kl_state_1 = kl_bernoulli(sigmoid(-2.0), sigmoid(1.5))
    d_old = discounted_state_distribution(mdp, policy.probs([-2.0]))[1]
    d_new = discounted_state_distribution(mdp, policy.probs([1.5]))[1]
    value = policy_kl(mdp, policy, [-2.0], [1.5])
    np.testing.assert_allclose(value, d_old * kl_state_1, rtol=1e-10)
    assert abs(value - d_new * kl_state_1) > 0.1 * value


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_policy_kl_nonnegative_and_zero_at_equal_parameters(seed):
    rng = np.random.default_rng(seed)
    mdp, policy = random_mdp(rng, 5, 3, 4)
    theta0 = rng.standard_normal(4)
    np.testing.assert_allclose(policy_kl(mdp, policy, theta0, theta0), 0.0, rtol=0, atol=1e-15)
    for _ in range(20):
        assert policy_kl(mdp, policy, theta0, theta0 + rng.standard_normal(4)) >= 0


@pytest.mark.parametrize("seed, num_features", [(0, 3), (1, 4), (2, None)])
def test_second_order_expansion_has_one_half(seed, num_features):
    """Erratum 2: d_KL(theta0, theta0 + eps u) = 1/2 eps^2 u^T F u + O(eps^3)."""
    rng = np.random.default_rng(seed)
    mdp, policy = random_mdp(rng, 4, 3, num_features)
    k = policy.num_features
    theta0, u = rng.standard_normal(k), rng.standard_normal(k)
    quad = u @ fisher_information(mdp, policy, theta0) @ u
    errors = []
    for eps in (1e-2, 1e-3):
        kl = policy_kl(mdp, policy, theta0, theta0 + eps * u)
        np.testing.assert_allclose(kl, 0.5 * eps**2 * quad, rtol=2e-2)
        errors.append(abs(kl / (0.5 * eps**2 * quad) - 1))
    assert errors[1] < 0.2 * errors[0], "the relative error should shrink ~linearly in eps"


def test_second_order_expansion_on_example():
    mdp, policy = example_mdp()
    F = fisher_information(mdp, policy, [0.0])[0, 0]
    np.testing.assert_allclose(policy_kl(mdp, policy, [0.0], [1e-3]), 0.5e-6 * F, rtol=1e-3)


def test_policy_kl_ignores_unreachable_state(unreachable_mdp):
    mdp, policy = unreachable_mdp(1)
    S, A = policy.mask.shape
    theta0 = np.random.default_rng(1).standard_normal(S * A)
    theta = theta0.reshape(S, A).copy()
    theta[-1] += [5.0, -5.0, 1.0]  # only the unreachable state's policy changes
    np.testing.assert_allclose(policy_kl(mdp, policy, theta0, theta.ravel()), 0.0, rtol=0, atol=1e-15)


def test_policy_kl_validation():
    mdp, policy = example_mdp()
    with pytest.raises(ValueError, match=r"^theta0 must have shape"):
        policy_kl(mdp, policy, [0.0, 1.0], [0.0])
    with pytest.raises(ValueError, match=r"^theta must be finite"):
        policy_kl(mdp, policy, [0.0], [np.nan])
    with pytest.raises(ValueError, match=r"^theta0 must be finite"):
        policy_kl(mdp, policy, [np.inf], [0.0])


@pytest.mark.parametrize("theta0, theta", [(800.0, -900.0), (-700.0, 650.0), (1000.0, 990.0), (-40.0, 760.0)])
def test_policy_kl_near_deterministic_example_closed_form(theta0, theta):
    """|theta| ~ 1e3: sigma(theta) underflows to 0, yet the KL is finite and given by the closed form
    d^{theta0}(1) [sigma(theta0)(theta0 - theta) + log(1+e^theta) - log(1+e^theta0)] (logaddexp keeps
    it exact). rtol 1e-12: the closed form and the log-softmax both lose only a few ulps of terms of
    size ~1e3, whatever the machine."""
    mdp, policy = example_mdp()
    d1 = discounted_state_distribution(mdp, policy.probs([theta0]))[1]
    per_state = sigmoid(theta0) * (theta0 - theta) + np.logaddexp(0, theta) - np.logaddexp(0, theta0)
    value = policy_kl(mdp, policy, [theta0], [theta])
    assert np.isfinite(value)
    np.testing.assert_allclose(value, d1 * per_state, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("seed", [0, 1])
def test_policy_kl_near_deterministic_matches_high_precision(seed):
    """A random MDP with features and a masked action at |theta| ~ 1e3, against the same sum in
    60-digit decimal arithmetic (log-softmax and KL terms; d^{theta0} from the float solve, which is
    not what underflows). rtol 1e-10: float64 log-softmax of logits ~1e3 is exact to ~1e-13
    relative, far inside it on any IEEE machine."""
    from decimal import Decimal, getcontext

    getcontext().prec = 60
    rng = np.random.default_rng(seed)
    mdp, policy = random_mdp(rng, 4, 3, 3)
    mask = np.ones((4, 3), bool)
    mask[1, 2] = False
    policy = type(policy)(policy.phi, mask)
    theta0 = 1000.0 * rng.standard_normal(3)
    theta = 1000.0 * rng.standard_normal(3)  # other greedy actions: log pi_theta ~ -1e3 where pi_theta0 ~ 1

    def log_probs(th: np.ndarray) -> list:
        rows = []
        for s in range(4):
            z = [sum(Decimal(float(policy.phi[s, a, j])) * Decimal(float(th[j])) for j in range(3))
                 for a in range(3) if mask[s, a]]
            top = max(z)
            log_norm = top + sum((x - top).exp() for x in z).ln()
            rows.append([x - log_norm for x in z])
        return rows

    lp0, lp = log_probs(theta0), log_probs(theta)
    d0 = discounted_state_distribution(mdp, policy.probs(theta0))
    exact = sum(Decimal(float(d0[s])) * sum(a.exp() * (a - b) for a, b in zip(lp0[s], lp[s])) for s in range(4))
    value = policy_kl(mdp, policy, theta0, theta)
    assert np.isfinite(value) and float(exact) > 1.0  # large, finite: the regime where probabilities underflow
    np.testing.assert_allclose(value, float(exact), rtol=1e-10)
