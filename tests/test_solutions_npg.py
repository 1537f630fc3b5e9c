"""Tests of ``solutions/npg.py``: the sampler, the NPG direction, the trust-region step, CG, the loop.

Statistical checks use fixed seeds (so the suite is deterministic) and thresholds whose
false-failure probability for a *correct* implementation under a fresh seed is stated per test.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from solutions import (
    discounted_state_distribution,
    example_mdp,
    fisher_information,
    natural_policy_gradient,
    npg_direction,
    objective,
    policy_gradient,
    q_values,
    random_mdp,
    sample_state_actions,
    trust_region_step,
)

P_VALUE_THRESHOLD = 1e-6  # false-failure probability of one chi-square check of a correct sampler


def chi_square_p_value(mdp, policy, theta, states, actions, weights=None):
    """p-value of Pearson's chi-square test of the (s, a) counts against d(s) pi(a|s).

    Cells with zero probability (masked actions, unreachable states) must be empty: a single draw
    there gives p = 0. Under the null the statistic is asymptotically chi-square with
    (#positive cells - 1) degrees of freedom, so Pr(p < 1e-6) ~ 1e-6 (every expected count is
    checked to be >= 5, the usual condition for the approximation).
    """
    pi = policy.probs(theta)
    if weights is None:
        weights = discounted_state_distribution(mdp, pi)[:, None] * pi
    n = states.size
    counts = np.zeros(weights.shape)
    np.add.at(counts, (states, actions), 1)
    positive = weights > 1e-15
    if counts[~positive].sum() > 0:
        return 0.0
    expected = n * weights[positive] / weights[positive].sum()
    assert expected.min() >= 5, "too few samples for the chi-square approximation"
    return stats.chisquare(counts[positive], expected).pvalue


# ---------------------------------------------------------------------------------------------
# sample_state_actions
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("gamma", [0.5, 0.9, 0.99])
def test_sampler_chi_square_masked_features(masked_mdp, gamma):
    mdp, policy = masked_mdp(11, num_states=6, num_actions=4, num_features=3, gamma=gamma)
    rng = np.random.default_rng(12345)  # fixed seed: the verdict is reproducible
    theta = np.random.default_rng(11).standard_normal(3)
    states, actions = sample_state_actions(mdp, policy, theta, 200_000, rng)
    assert chi_square_p_value(mdp, policy, theta, states, actions) > P_VALUE_THRESHOLD


def test_sampler_chi_square_unreachable_state(unreachable_mdp):
    mdp, policy = unreachable_mdp(13)
    S, A = policy.mask.shape
    theta = np.random.default_rng(13).standard_normal(S * A)
    states, actions = sample_state_actions(mdp, policy, theta, 200_000, np.random.default_rng(2024))
    assert not np.any(states == S - 1), "the unreachable state was drawn"
    assert chi_square_p_value(mdp, policy, theta, states, actions) > P_VALUE_THRESHOLD


def test_sampler_chi_square_example():
    mdp, policy = example_mdp()
    states, actions = sample_state_actions(mdp, policy, [1.5], 100_000, np.random.default_rng(7))
    assert not np.any((states == 0) & (actions == 1)), "the masked switch in state 0 was drawn"
    assert chi_square_p_value(mdp, policy, [1.5], states, actions) > P_VALUE_THRESHOLD


def test_chi_square_check_rejects_known_wrong_samplers(masked_mdp):
    """The check has power: samples from mu0 instead of d^theta, or from the wrong policy, fail."""
    mdp, policy = masked_mdp(11, num_states=6, num_actions=4, num_features=3, gamma=0.9)
    theta = np.random.default_rng(11).standard_normal(3)
    pi = policy.probs(theta)
    rng = np.random.default_rng(99)
    n = 200_000
    states = rng.choice(6, size=n, p=mdp.mu0)  # mistake: s ~ mu0
    actions = (rng.random(n)[:, None] > np.cumsum(pi, axis=1)[states]).sum(axis=1)  # a ~ pi(.|s), right
    assert chi_square_p_value(mdp, policy, theta, states, actions) < P_VALUE_THRESHOLD
    # mistake: d and pi of theta = 0 (e.g. the initial policy, lecture erratum 4)
    s0, a0 = sample_state_actions(mdp, policy, np.zeros(3), n, rng)
    assert chi_square_p_value(mdp, policy, theta, s0, a0) < P_VALUE_THRESHOLD


def test_sampler_output_types_and_reproducibility():
    mdp, policy = random_mdp(np.random.default_rng(0), 4, 3, 2)
    s1, a1 = sample_state_actions(mdp, policy, [0.1, -0.2], 1000, np.random.default_rng(5))
    s2, a2 = sample_state_actions(mdp, policy, [0.1, -0.2], 1000, np.random.default_rng(5))
    assert s1.shape == a1.shape == (1000,)
    assert np.issubdtype(s1.dtype, np.integer) and np.issubdtype(a1.dtype, np.integer)
    assert s1.min() >= 0 and s1.max() < 4 and a1.min() >= 0 and a1.max() < 3
    np.testing.assert_array_equal(s1, s2)
    np.testing.assert_array_equal(a1, a2)
    s, a = sample_state_actions(mdp, policy, [0.1, -0.2], 1, np.random.default_rng(5))
    assert s.shape == a.shape == (1,)


def test_sampler_validation():
    mdp, policy = example_mdp()
    rng = np.random.default_rng(0)
    for n in (0, -3, 1.5, True, "10"):
        with pytest.raises(ValueError, match=r"^n must be an integer >= 1"):
            sample_state_actions(mdp, policy, [0.0], n, rng)
    with pytest.raises(TypeError, match=r"^rng must be"):
        sample_state_actions(mdp, policy, [0.0], 10, 0)
    with pytest.raises(ValueError, match=r"^theta must be finite"):
        sample_state_actions(mdp, policy, [np.nan], 10, rng)
    with pytest.raises(ValueError, match=r"^theta must have shape"):
        sample_state_actions(mdp, policy, [0.0, 0.0], 10, rng)


# ---------------------------------------------------------------------------------------------
# npg_direction: Agarwal, Kakade, Lee, Mahajan (2021), Lemma 5.1, and damping.
# ---------------------------------------------------------------------------------------------
def _advantage(mdp, pi):
    Q = q_values(mdp, pi)
    return Q - np.sum(pi * Q, axis=1, keepdims=True)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tabular_npg_direction_is_advantage_over_one_minus_gamma(seed):
    """Lemma 5.1: F^+ grad J = A(s, a) / (1 - gamma) + c(s) on states with d(s) > 0."""
    rng = np.random.default_rng(seed)
    mdp, policy = random_mdp(rng, 5, 3, gamma=0.8)
    theta = rng.standard_normal(15)
    F, g = fisher_information(mdp, policy, theta), policy_gradient(mdp, policy, theta)
    v = npg_direction(F, g).reshape(5, 3)
    adv = _advantage(mdp, policy.probs(theta)) / (1 - mdp.gamma)
    centred = lambda x: x - x.mean(axis=1, keepdims=True)  # noqa: E731 - removes the per-state constant
    np.testing.assert_allclose(centred(v), centred(adv), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(F @ v.ravel(), g, rtol=1e-8, atol=1e-12)


def test_tabular_npg_direction_with_unreachable_state(unreachable_mdp):
    mdp, policy = unreachable_mdp(3)
    S, A = policy.mask.shape
    theta = np.random.default_rng(3).standard_normal(S * A)
    F, g = fisher_information(mdp, policy, theta), policy_gradient(mdp, policy, theta)
    v = npg_direction(F, g).reshape(S, A)
    adv = _advantage(mdp, policy.probs(theta)) / (1 - mdp.gamma)
    reach = discounted_state_distribution(mdp, policy.probs(theta)) > 0
    assert not reach[-1] and reach[:-1].all()
    centred = lambda x: x - x.mean(axis=1, keepdims=True)  # noqa: E731
    np.testing.assert_allclose(centred(v)[reach], centred(adv)[reach], rtol=1e-6, atol=1e-8)
    # Minimum-norm solution: nothing moves where d(s) = 0.
    np.testing.assert_allclose(v[-1], 0.0, rtol=0, atol=1e-12)


def test_npg_direction_damping_and_invertible_case():
    rng = np.random.default_rng(4)
    B = rng.standard_normal((4, 4))
    F = B @ B.T + 0.1 * np.eye(4)
    g = rng.standard_normal(4)
    np.testing.assert_allclose(npg_direction(F, g), np.linalg.solve(F, g), rtol=1e-9)
    np.testing.assert_allclose(
        npg_direction(F, g, damping=0.5), np.linalg.solve(F + 0.5 * np.eye(4), g), rtol=1e-12
    )
    # Singular F: the damped direction solves (F + lambda I) v = g, not F^+ g.
    F0 = np.diag([1.0, 0.0])
    np.testing.assert_allclose(npg_direction(F0, [2.0, 3.0]), [2.0, 0.0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(npg_direction(F0, [2.0, 3.0], damping=1.0), [1.0, 3.0], rtol=1e-12)


def test_npg_direction_validation():
    with pytest.raises(ValueError, match=r"^F must have shape \(k, k\)"):
        npg_direction(np.eye(3), np.ones(2))
    with pytest.raises(ValueError, match=r"^F must have 2"):
        npg_direction(np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match=r"^g must have 1"):
        npg_direction(np.eye(2), np.ones((2, 1)))
    with pytest.raises(ValueError, match=r"^F must be finite"):
        npg_direction(np.array([[np.nan, 0], [0, 1]]), np.ones(2))
    with pytest.raises(ValueError, match=r"^damping must be >= 0"):
        npg_direction(np.eye(2), np.ones(2), damping=-1.0)


# ---------------------------------------------------------------------------------------------
# NPG with a constant step: Agarwal et al. (2021), Theorem 5.3.
# ---------------------------------------------------------------------------------------------
def optimal_values(mdp, tol=1e-13):
    V = np.zeros(mdp.num_states)
    while True:
        V_new = np.max(mdp.r + mdp.gamma * mdp.P @ V, axis=1)
        if np.max(np.abs(V_new - V)) < tol:
            return V_new
        V = V_new


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("gamma, eta", [(0.5, 0.5), (0.5, 5.0), (0.9, 1.0), (0.9, 0.1)])
def test_constant_step_npg_satisfies_theorem_5_3(seed, gamma, eta):
    """V*(rho) - V^T(rho) <= log|A| / (eta T) + 1 / ((1-gamma)^2 T), rho = mu0, theta_0 = 0,
    theta_{t+1} = theta_t + eta F^+ grad J (exact F and gradient). Also V^t is non-decreasing
    (their Lemma 5.2) and V^T reaches V* when T is large.

    Stopping rule: the iteration stops once the gap V* - V^T is at round-off level (<= 1e-9).
    Beyond that point F and g are themselves round-off sized (|g| ~ 1e-13 at a gap of 1e-13),
    so pinv(F) amplifies noise into steps of |theta| ~ 1e4 whose effect on V depends on the BLAS
    build: that is floating point, not the theorem. Stopping there keeps the test's claim intact,
    since a converged V^T also satisfies the bound at every later T (the bound is at least
    1 / ((1-gamma)^2 T_max) >= 0.016 here, far above 1e-9)."""
    rng = np.random.default_rng(seed)
    S, A = 5, 3
    mdp, policy = random_mdp(rng, S, A, gamma=gamma)
    V_star = float(mdp.mu0 @ optimal_values(mdp))
    theta = np.zeros(S * A)
    values = [objective(mdp, policy, theta)]
    T_max = 60
    converged_gap = 1e-9  # V is O(1 / (1 - gamma)) <= 10; 1e-9 is ~1e5 ulps of it, far below every bound
    for T in range(1, T_max + 1):
        if V_star - values[-1] <= converged_gap:
            break
        F, g = fisher_information(mdp, policy, theta), policy_gradient(mdp, policy, theta)
        theta = theta + eta * npg_direction(F, g)
        values.append(objective(mdp, policy, theta))
        bound = np.log(A) / (eta * T) + 1.0 / ((1 - gamma) ** 2 * T)
        assert V_star - values[-1] <= bound, f"T={T}: gap {V_star - values[-1]:.3g} > bound {bound:.3g}"
    values = np.array(values)
    assert np.all(values <= V_star + 1e-9)
    assert np.all(np.diff(values) >= -1e-12), "exact NPG must not decrease V(rho)"
    assert V_star - values[-1] < 0.05 * (V_star - values[0])


# ---------------------------------------------------------------------------------------------
# trust_region_step
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed, num_features", [(0, None), (1, 3), (2, None)])
def test_trust_region_step_saturates_constraint(seed, num_features):
    rng = np.random.default_rng(seed)
    mdp, policy = random_mdp(rng, 4, 3, num_features)
    theta = rng.standard_normal(policy.num_features)
    F, g = fisher_information(mdp, policy, theta), policy_gradient(mdp, policy, theta)
    for delta in (1e-3, 0.05, 1.0):
        D = trust_region_step(F, g, delta)
        np.testing.assert_allclose(D @ F @ D, delta, rtol=1e-8)
        # Lecture convention, not TRPO's: 1/2 D^T F D <= delta would give D^T F D = 2 delta.
        assert abs(D @ F @ D - 2 * delta) > 0.5 * delta
        v = np.linalg.pinv(F, hermitian=True) @ g
        D_trpo = np.sqrt(2 * delta / (g @ v)) * v
        np.testing.assert_allclose(D * np.sqrt(2), D_trpo, rtol=1e-6, atol=1e-12)
        assert not np.allclose(D, D_trpo, rtol=1e-2)
        # D maximises g^T D over the ellipsoid: random feasible directions do no better.
        for _ in range(50):
            u = rng.standard_normal(g.size)
            u *= np.sqrt(delta / (u @ F @ u))
            assert g @ u <= g @ D * (1 + 1e-9)


def test_trust_region_step_example_hand_value():
    """1-d: D = sign(g) sqrt(delta / F); at theta = 0, F = 0.0210084 (docs/conventions.md table), g < 0."""
    mdp, policy = example_mdp()
    F, g = fisher_information(mdp, policy, [0.0]), policy_gradient(mdp, policy, [0.0])
    np.testing.assert_allclose(trust_region_step(F, g, 0.01), [-np.sqrt(0.01 / 0.0210084)], rtol=1e-5)


def test_trust_region_step_zero_gradient():
    F = np.diag([2.0, 1.0, 0.0])
    np.testing.assert_array_equal(trust_region_step(F, np.zeros(3), 0.1), 0.0)
    # A gradient in the null space of F: g^T F^+ g = 0, no step either.
    np.testing.assert_array_equal(trust_region_step(F, np.array([0.0, 0.0, 1.0]), 0.1), 0.0)
    mdp, policy = example_mdp(mu0=(1.0, 0.0))
    F, g = fisher_information(mdp, policy, [0.0]), policy_gradient(mdp, policy, [0.0])
    D = trust_region_step(F, g, 0.1)
    assert np.all(np.isfinite(D))
    np.testing.assert_allclose(D, [0.0], rtol=0, atol=1e-15)


def test_trust_region_step_validation():
    for delta in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match=r"^delta must be > 0"):
            trust_region_step(np.eye(2), np.ones(2), delta)
    with pytest.raises(ValueError, match=r"^F must have shape"):
        trust_region_step(np.eye(3), np.ones(2), 0.1)
    with pytest.raises(ValueError, match=r"^g must be finite"):
        trust_region_step(np.eye(2), [np.inf, 0.0], 0.1)


# ---------------------------------------------------------------------------------------------
# conjugate_gradient
# ---------------------------------------------------------------------------------------------
class CountingFvp:
    """``v -> F v`` that counts its calls."""

    def __init__(self, F):
        self.F = F
        self.calls = 0

    def __call__(self, v):
        self.calls += 1
        return self.F @ v


def random_spd(rng, k, condition=10.0):
    Q, _ = np.linalg.qr(rng.standard_normal((k, k)))
    return Q @ np.diag(np.geomspace(1.0, condition, k)) @ Q.T


@pytest.mark.parametrize("seed, k", [(0, 4), (1, 8), (2, 12)])
def test_conjugate_gradient_solves_spd_within_k_calls(seed, k):
    from solutions import conjugate_gradient

    rng = np.random.default_rng(seed)
    F, g = random_spd(rng, k), rng.standard_normal(k)
    fvp = CountingFvp(F)
    x = conjugate_gradient(fvp, g, iters=k, tol=0.0)
    assert fvp.calls == k
    np.testing.assert_allclose(x, np.linalg.solve(F, g), rtol=1e-9, atol=1e-12)
    # With the default tol it may stop earlier, but never later than k, and r^T r < 1e-10 then
    # bounds the error by ||F^-1|| 1e-5 <= 1e-5.
    fvp = CountingFvp(F)
    x = conjugate_gradient(fvp, g, iters=3 * k)
    assert fvp.calls <= k
    np.testing.assert_allclose(x, np.linalg.solve(F, g), rtol=0, atol=1e-5)


def test_conjugate_gradient_never_exceeds_iters():
    from solutions import conjugate_gradient

    rng = np.random.default_rng(3)
    F, g = random_spd(rng, 10, condition=1e3), rng.standard_normal(10)
    for iters in (1, 2, 5):
        fvp = CountingFvp(F)
        x = conjugate_gradient(fvp, g, iters=iters, tol=0.0)
        assert fvp.calls == iters
        assert np.all(np.isfinite(x))
    # One call: x = (g^T g / g^T F g) g, the exact line minimiser along g.
    x = conjugate_gradient(CountingFvp(F), g, iters=1)
    np.testing.assert_allclose(x, (g @ g) / (g @ F @ g) * g, rtol=1e-12)


def test_conjugate_gradient_stops_early_on_small_residual():
    from solutions import conjugate_gradient

    # F = 2 I: one step solves the system exactly, then r^T r = 0 < tol stops it.
    fvp = CountingFvp(2.0 * np.eye(5))
    x = conjugate_gradient(fvp, np.arange(5.0), iters=10)
    assert fvp.calls == 1
    np.testing.assert_allclose(x, np.arange(5.0) / 2, rtol=1e-12)
    # Zero right-hand side: no call at all, x = 0 (also with tol = 0: no 0/0).
    for tol in (1e-10, 0.0):
        fvp = CountingFvp(np.eye(3))
        np.testing.assert_array_equal(conjugate_gradient(fvp, np.zeros(3), tol=tol), 0.0)
        assert fvp.calls == 0
    # tol above g^T g: stops before the first call.
    fvp = CountingFvp(np.eye(3))
    np.testing.assert_array_equal(conjugate_gradient(fvp, np.ones(3), tol=3.5), 0.0)
    assert fvp.calls == 0
    # The stopping point: after m < iters calls r^T r < tol, and after m - 1 calls it was not.
    rng = np.random.default_rng(4)
    F, g = random_spd(rng, 20, condition=100.0), rng.standard_normal(20)
    tol = 1e-4
    fvp = CountingFvp(F)
    x = conjugate_gradient(fvp, g, iters=50, tol=tol)
    m = fvp.calls
    assert 1 < m < 20
    assert np.sum((g - F @ x) ** 2) < tol * 1.01
    x_prev = conjugate_gradient(CountingFvp(F), g, iters=m - 1, tol=tol)
    assert np.sum((g - F @ x_prev) ** 2) >= tol * 0.99


def test_conjugate_gradient_validation():
    from solutions import conjugate_gradient

    for iters in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match=r"^iters must be an integer >= 1"):
            conjugate_gradient(lambda v: v, np.ones(2), iters=iters)
    with pytest.raises(TypeError, match=r"^fvp must be a callable"):
        conjugate_gradient(np.eye(2), np.ones(2))
    with pytest.raises(ValueError, match=r"^g must have 1"):
        conjugate_gradient(lambda v: v, np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"^g must be finite"):
        conjugate_gradient(lambda v: v, [np.nan, 1.0])


# ---------------------------------------------------------------------------------------------
# natural_policy_gradient
# ---------------------------------------------------------------------------------------------
def _check_trajectory(mdp, policy, thetas, delta):
    J = np.array([objective(mdp, policy, t) for t in thetas])
    assert np.all(np.diff(J) > 0), f"J did not increase: {np.diff(J)}"
    for t0, t1 in zip(thetas[:-1], thetas[1:]):
        F = fisher_information(mdp, policy, t0)
        D = t1 - t0
        np.testing.assert_allclose(D @ F @ D, delta, rtol=1e-7)
        np.testing.assert_allclose(
            D, trust_region_step(F, policy_gradient(mdp, policy, t0), delta), rtol=1e-10
        )


def test_natural_policy_gradient_example():
    mdp, policy = example_mdp()
    thetas = natural_policy_gradient(mdp, policy, [0.0], delta=0.01, iterations=5)
    assert thetas.shape == (6, 1)
    np.testing.assert_array_equal(thetas[0], [0.0])
    # First step by hand: -sqrt(delta / F(0)) with F(0) = 0.0210084 (docs/conventions.md table).
    np.testing.assert_allclose(thetas[1], [-np.sqrt(0.01 / 0.0210084)], rtol=1e-5)
    assert np.all(np.diff(thetas[:, 0]) < 0), "theta* = -inf at the defaults: theta must decrease"
    _check_trajectory(mdp, policy, thetas, 0.01)


def test_natural_policy_gradient_example_long_run_stays_finite():
    """F(theta) ~ e^theta as theta -> -inf, so the trust-region step sqrt(delta / F) grows until
    sigma(theta) underflows to 0; then F = g = 0 and the iterates stop, finite, at J(-inf)."""
    mdp, policy = example_mdp()
    thetas = natural_policy_gradient(mdp, policy, [0.0], delta=0.01, iterations=15)
    assert np.all(np.isfinite(thetas))
    J = np.array([objective(mdp, policy, t) for t in thetas])
    assert np.all(np.diff(J) >= -1e-12)
    # J(-inf): state 1 always switches, V(1) = (-1/2 + gamma p2 V0) / (1 - gamma (1 - p2)), V0 = 10.
    np.testing.assert_allclose(J[-1], 0.5 * 10 + 0.5 * (-0.5 + 0.81 * 10) / (1 - 0.09), rtol=1e-9)


@pytest.mark.parametrize("seed, num_features", [(0, None), (1, None), (2, 3), (3, 4)])
def test_natural_policy_gradient_random_mdps(seed, num_features):
    rng = np.random.default_rng(seed)
    mdp, policy = random_mdp(rng, 5, 3, num_features)
    theta0 = rng.standard_normal(policy.num_features)
    thetas = natural_policy_gradient(mdp, policy, theta0, delta=1e-3, iterations=10)
    assert thetas.shape == (11, policy.num_features)
    np.testing.assert_array_equal(thetas[0], theta0)
    _check_trajectory(mdp, policy, thetas, 1e-3)


def test_natural_policy_gradient_edge_cases():
    mdp, policy = example_mdp()
    np.testing.assert_array_equal(natural_policy_gradient(mdp, policy, [0.5], 0.1, 0), [[0.5]])
    # mu0 = (1, 0): F = 0 and g = 0 everywhere, so theta never moves.
    mdp0, policy0 = example_mdp(mu0=(1.0, 0.0))
    thetas = natural_policy_gradient(mdp0, policy0, [0.5], 0.1, 3)
    np.testing.assert_allclose(thetas, np.full((4, 1), 0.5), rtol=0, atol=1e-15)


def test_natural_policy_gradient_validation():
    mdp, policy = example_mdp()
    for iterations in (-1, 1.5, True):
        with pytest.raises(ValueError, match=r"^iterations must be an integer >= 0"):
            natural_policy_gradient(mdp, policy, [0.0], 0.1, iterations)
    for delta in (0.0, -0.1):
        with pytest.raises(ValueError, match=r"^delta must be > 0"):
            natural_policy_gradient(mdp, policy, [0.0], delta, 2)
    with pytest.raises(ValueError, match=r"^theta0 must have shape"):
        natural_policy_gradient(mdp, policy, [0.0, 0.0], 0.1, 2)
    with pytest.raises(ValueError, match=r"^theta0 must be finite"):
        natural_policy_gradient(mdp, policy, [np.nan], 0.1, 2)


def test_handout_random_mdp_plot_stays_out_of_the_round_off_regime():
    """The handout's random-MDP plot cell runs NPG at the (delta, iterations) it shows: each run must
    stay where NPG means something (|theta| < 100, so probabilities ~e^-100 neither underflow nor
    make F^+ overflow), for the reference and for other pseudo-inverses a student may use
    (lstsq, numpy's default pinv cut-off). At delta = 0.05 for 30 iterations theta passed 1e80."""
    import re
    from pathlib import Path

    from solutions import natural_policy_gradient, random_mdp
    from solutions.fisher import fisher_information
    from solutions.mdp import policy_gradient

    source = (Path(__file__).resolve().parents[1] / "solutions" / "notebook" / "plot_random_mdp.py").read_text()
    iterations = int(re.search(r"^iterations = (\d+)$", source, re.M).group(1))
    call = r"natural_policy_gradient\(mdp_r, policy_r, theta_start, ([0-9.]+), "
    deltas = [float(d) for d in re.findall(call, source)]
    assert deltas and "default_rng(5), 5, 3)" in source
    mdp, policy = random_mdp(np.random.default_rng(5), 5, 3)
    solvers = {"lstsq": lambda F, g: np.linalg.lstsq(F, g, rcond=None)[0],
               "pinv": lambda F, g: np.linalg.pinv(F) @ g}
    for delta in deltas:
        thetas = natural_policy_gradient(mdp, policy, np.zeros(policy.num_features), delta, iterations)
        assert np.all(np.isfinite(thetas)) and np.abs(thetas).max() < 100.0, (delta, np.abs(thetas).max())
        for name, solve in solvers.items():
            theta = np.zeros(policy.num_features)
            for _ in range(iterations):
                g = policy_gradient(mdp, policy, theta)
                v = solve(fisher_information(mdp, policy, theta), g)
                theta = theta + np.sqrt(delta / (g @ v)) * v
            assert np.all(np.isfinite(theta)) and np.abs(theta).max() < 100.0, (name, delta, np.abs(theta).max())
