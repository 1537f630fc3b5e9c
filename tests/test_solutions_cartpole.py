"""Tests of ``solutions/cartpole``: the reference of the course's CartPole NPG assignment.

Every function is checked two independent ways: against a closed form or an explicit loop written
here (float128 where the reference uses float64), and against a property of the maths (finite
differences, sum_a pi(a) score(a) = 0, D^T F D = delta q / (q + 1e-6), ...). Inputs are the kind
CartPole never produces: |A| = 1, 2, 3, 5, trajectories of 1 to 200 steps, non-constant rewards,
logits near +-1000, multi-row logits.

Tolerances. float64 results of sums of n terms carry a relative error of at most about n * 2^-53
(1e-16 per term; n <= 200 * 100 here), so rtol 1e-10 on loop-vs-vectorised comparisons leaves a
margin of 1e3 and holds on any IEEE-754 machine. Where a linear solve enters (F^{-1} g), the error
grows with cond(F) <= (||F|| + lamb) / lamb, which the tests bound (stated per test).
"""

from __future__ import annotations

import numpy as np
import pytest
from cartpole_helpers import (
    P_VALUE_THRESHOLD,
    RecordingEnv,
    expected_score,
    fisher_loops,
    g_test_p_value,
    log_pi_long,
    random_trajectories,
    run_recorded_train,
    softmax_long,
    train_module,
    value_gradient_loops,
)
from sklearn.kernel_approximation import RBFSampler

from solutions.cartpole import (
    NUM_FEATURES,
    compute_action_distribution,
    compute_eta,
    compute_fisher_matrix,
    compute_log_softmax_grad,
    compute_softmax,
    compute_value_gradient,
    extract_features,
    sample,
)


# ---------------------------------------------------------------------------------------------
# extract_features (given)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("num_actions", [1, 2, 3])
def test_features_equal_the_course_fit_transform(num_actions):
    # The course refits RBFSampler(gamma=1, random_state=12345) on every call; the reference fits
    # once per width. Same float operations in the same order: agreement to 1e-14 (features are
    # bounded by sqrt(2/100) ~ 0.14, so this is a few ulps; BLAS kernels may differ in the last bit).
    rng = np.random.default_rng(num_actions)
    for _ in range(5):
        state = rng.normal(size=4) * [2.4, 3.0, 0.2, 3.0]
        sa = np.c_[np.repeat(state[None, :], num_actions, axis=0), np.arange(num_actions)]
        expected = RBFSampler(gamma=1, random_state=12345).fit_transform(sa).T
        phis = extract_features(state, num_actions)
        assert phis.shape == (NUM_FEATURES, num_actions)
        np.testing.assert_allclose(phis, expected, rtol=0, atol=1e-14)
        # and the closed form sqrt(2/d) cos(W^T [s, a] + b) with the sampler's own W, b
        sampler = RBFSampler(gamma=1, random_state=12345).fit(sa)
        closed = np.sqrt(2.0 / NUM_FEATURES) * np.cos(sa @ sampler.random_weights_ + sampler.random_offset_)
        np.testing.assert_allclose(phis, closed.T, rtol=0, atol=1e-14)


def test_features_are_the_same_numbers_on_every_supported_scikit_learn():
    # Rows 0, 1, 50, 99 of extract_features([0.01, -0.02, 0.03, 0.04], 3), identical to the last bit
    # under scikit-learn 1.3.2 (numpy 1.26, Python 3.10) and 1.9.1 (numpy 2.4, Python 3.11): the
    # sampler's draws from random_state=12345 did not change. A future release that changes them
    # would give students different features from the handout's; atol 1e-15 allows BLAS rounding.
    expected = [
        [-0.09151258168051661, -0.12643397926884498, 0.03159839374289736],
        [0.11373045219224345, 0.025322855420457528, -0.07682200815699328],
        [-0.08807017450038251, -0.13085116818965867, 0.01495027202840575],
        [-0.03012967575062751, 0.14142093902763628, -0.030800580711669193],
    ]
    phis = extract_features(np.array([0.01, -0.02, 0.03, 0.04]), 3)
    np.testing.assert_allclose(phis[[0, 1, 50, 99], :], expected, rtol=0, atol=1e-15)


def test_features_accept_a_column_state_and_differ_per_action():
    state = np.array([0.01, -0.02, 0.03, 0.04])
    np.testing.assert_allclose(extract_features(state.reshape(4, 1), 2), extract_features(state, 2), rtol=0, atol=0)
    phis = extract_features(state, 3)
    assert np.abs(phis[:, 0] - phis[:, 1]).max() > 1e-3, "the action must enter the features"


# ---------------------------------------------------------------------------------------------
# compute_softmax
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_matches_extended_precision_on_multi_row_logits(axis):
    # rtol 1e-12: each entry is one exp and one division of a 5-term sum, a few ulps in float64.
    z = np.random.default_rng(0).uniform(-20, 20, size=(4, 5))
    got = compute_softmax(z, axis)
    np.testing.assert_allclose(got, softmax_long(z, axis), rtol=1e-12)
    np.testing.assert_allclose(got.sum(axis=axis), 1.0, rtol=1e-14)


def test_softmax_axis_matters_on_multi_row_logits():
    z = np.random.default_rng(1).normal(size=(3, 4))
    by_column, by_row = compute_softmax(z, 0), compute_softmax(z, 1)
    np.testing.assert_allclose(by_column, compute_softmax(z.T, 1).T, rtol=1e-14)
    assert np.abs(by_column - by_row).max() > 0.05, "the two axes must give different results here"


def test_softmax_stable_at_logits_near_plus_minus_1000():
    # Closed forms: softmax([1000, 999, -1000]) = [1, e^-1, e^-2000] / (1 + e^-1 + e^-2000),
    # and e^-2000 underflows to exactly 0 in float64.
    one_over = 1.0 / (1.0 + np.exp(-1.0))
    z = np.array([[1000.0, 999.0, -1000.0]])
    np.testing.assert_allclose(compute_softmax(z, 1), [[one_over, np.exp(-1.0) * one_over, 0.0]], rtol=1e-14, atol=0)
    for value in (1000.0, -1000.0):
        np.testing.assert_allclose(compute_softmax(np.full((1, 2), value), 1), [[0.5, 0.5]], rtol=1e-15)
    # two rows, one near +1000, one near -1000, over axis 1; and a column over axis 0
    z2 = np.array([[1000.0, 1001.0], [-1000.0, -1002.0]])
    expected = np.array([[1 / (1 + np.e), np.e / (1 + np.e)], [1 / (1 + np.exp(-2)), np.exp(-2) / (1 + np.exp(-2))]])
    np.testing.assert_allclose(compute_softmax(z2, 1), expected, rtol=1e-14)
    np.testing.assert_allclose(compute_softmax(z2.T, 0), expected.T, rtol=1e-14)


def test_softmax_leaves_its_input_unchanged():
    z = np.array([[3.0, 1.0, 2.0]])
    copy = z.copy()
    compute_softmax(z, 1)
    np.testing.assert_array_equal(z, copy)


# ---------------------------------------------------------------------------------------------
# compute_action_distribution
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("num_actions", [1, 2, 3, 5])
def test_action_distribution_matches_loops(num_actions):
    rng = np.random.default_rng(10 + num_actions)
    theta = rng.normal(size=(7, 1))
    phis = rng.normal(size=(7, num_actions))
    expected = [[np.exp(log_pi_long(theta, phis, a)) for a in range(num_actions)]]
    got = compute_action_distribution(theta, phis)
    assert got.shape == (1, num_actions)
    np.testing.assert_allclose(got, expected, rtol=1e-12)  # a few ulps per entry, as for the softmax


def test_action_distribution_stable_for_logits_near_1000():
    # theta^T phi = [1000, 999.5, 1000] exactly (d = 1): closed form as in the softmax test.
    theta = np.array([[1000.0]])
    phis = np.array([[1.0, 0.9995, 1.0]])
    w = np.exp(-0.5)
    np.testing.assert_allclose(compute_action_distribution(theta, phis), [[1, w, 1]] / (2 + w), rtol=1e-12)


def test_action_distribution_names_the_wrong_argument():
    with pytest.raises(ValueError, match="theta"):
        compute_action_distribution(np.ones(5), np.ones((5, 2)))  # theta (d,) instead of (d, 1)
    with pytest.raises(ValueError, match="theta"):
        compute_action_distribution(np.ones((4, 1)), np.ones((5, 2)))
    with pytest.raises(ValueError, match="phis"):
        compute_action_distribution(np.ones((5, 1)), np.ones(5))


# ---------------------------------------------------------------------------------------------
# compute_log_softmax_grad
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("num_actions", [2, 3])
def test_score_matches_central_finite_differences(num_actions):
    # Central differences with h = 1e-5 on log pi computed in float128: truncation error
    # h^2/6 |f'''| < 1e-10 (|f'''| <= |phi|^3 ~ 10 here), rounding ~ 1e-19 / h. atol 1e-8.
    rng = np.random.default_rng(20 + num_actions)
    d = 6
    theta = rng.normal(size=(d, 1))
    phis = rng.normal(size=(d, num_actions))
    h = 1e-5
    for a in range(num_actions):
        fd = np.zeros((d, 1))
        for k in range(d):
            step = np.zeros((d, 1))
            step[k] = h
            fd[k] = (log_pi_long(theta + step, phis, a) - log_pi_long(theta - step, phis, a)) / (2 * h)
        got = compute_log_softmax_grad(theta, phis, a)
        assert got.shape == (d, 1)
        np.testing.assert_allclose(got, fd, rtol=0, atol=1e-8)


def test_score_has_zero_mean_under_pi_on_cartpole_features():
    # E_{a ~ pi}[grad log pi(a|s)] = 0 exactly; in float64 the sum of |A| = 3 columns of size
    # <= 0.3 cancels to ~1e-16, atol 1e-13.
    rng = np.random.default_rng(3)
    theta = rng.random((NUM_FEATURES, 1)) * 5
    phis = extract_features(rng.normal(size=4), 3)
    pi = compute_action_distribution(theta, phis)
    mean_score = sum(pi[0, a] * compute_log_softmax_grad(theta, phis, a) for a in range(3))
    np.testing.assert_allclose(mean_score, np.zeros((NUM_FEATURES, 1)), rtol=0, atol=1e-13)
    # closed form phi_a - phis pi^T, entry by entry
    for a in range(3):
        expected = [[phis[k, a] - sum(phis[k, b] * pi[0, b] for b in range(3))] for k in range(NUM_FEATURES)]
        np.testing.assert_allclose(compute_log_softmax_grad(theta, phis, a), expected, rtol=0, atol=1e-15)


def test_score_with_one_action_is_zero_and_action_checked():
    phis = np.arange(4.0).reshape(4, 1)
    np.testing.assert_array_equal(compute_log_softmax_grad(np.ones((4, 1)), phis, 0), np.zeros((4, 1)))
    with pytest.raises(ValueError, match="action_idx"):
        compute_log_softmax_grad(np.ones((4, 1)), np.ones((4, 2)), 2)


# ---------------------------------------------------------------------------------------------
# compute_fisher_matrix
# ---------------------------------------------------------------------------------------------
def test_fisher_matches_double_loop_on_unequal_lengths():
    rng = np.random.default_rng(30)
    grads, _ = random_trajectories(rng, [1, 7, 200, 3], d=5)
    got = compute_fisher_matrix(grads, lamb=0.01)
    np.testing.assert_allclose(got, fisher_loops(grads, 0.01), rtol=1e-10, atol=1e-12)  # sums of <= 200 terms


def test_fisher_averages_per_trajectory_hand_checked():
    # Trajectory 1: one step, g = (10, 0). Trajectory 2: 100 steps, g = (0, 1).
    # Per trajectory: F = 1/2 (diag(100, 0) + diag(0, 1)) + lamb I = diag(50 + lamb, 0.5 + lamb).
    # (Averaging all 101 steps would give diag(100/101, 100/101) + lamb I instead.)
    grads = [[np.array([[10.0], [0.0]])], [np.array([[0.0], [1.0]])] * 100]
    np.testing.assert_allclose(compute_fisher_matrix(grads, lamb=0.25), np.diag([50.25, 0.75]), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(compute_fisher_matrix(grads), np.diag([50.001, 0.501]), rtol=1e-14, atol=1e-15)


def test_fisher_adds_lamb_identity_and_is_symmetric_positive_definite():
    rng = np.random.default_rng(31)
    grads, _ = random_trajectories(rng, [2, 3], d=20)  # 5 scores in 20 dimensions: rank <= 5
    f0 = compute_fisher_matrix(grads, lamb=0.0)
    f = compute_fisher_matrix(grads, lamb=0.3)
    np.testing.assert_allclose(f - f0, 0.3 * np.eye(20), rtol=0, atol=1e-13)
    # symmetric to rounding: a BLAS may sum G^T G's (i, j) and (j, i) entries in different orders, so
    # atol 1e-13 (entries sum 2 or 3 products of N(0, 1) numbers, < 50 in size; rounding ~1e-14)
    np.testing.assert_allclose(f, f.T, rtol=0, atol=1e-13)
    eigenvalues = np.linalg.eigvalsh(f)
    # F - lamb I is PSD of rank <= 5: 15 eigenvalues equal lamb, all >= lamb (atol 1e-12: eigvalsh
    # is backward stable, error ~ eps ||F|| with ||F|| ~ 20).
    assert eigenvalues.min() >= 0.3 - 1e-12
    assert np.sum(np.abs(eigenvalues - 0.3) < 1e-12) >= 15


def test_fisher_names_the_bad_trajectory():
    with pytest.raises(ValueError, match=r"grads\[1\]"):
        compute_fisher_matrix([[np.ones((3, 1))], []])
    with pytest.raises(ValueError, match=r"grads\[1\]"):
        compute_fisher_matrix([[np.ones((3, 1))], [np.ones((4, 1))]])
    with pytest.raises(ValueError, match="lamb"):
        compute_fisher_matrix([[np.ones((3, 1))]], lamb=-1.0)


# ---------------------------------------------------------------------------------------------
# compute_value_gradient
# ---------------------------------------------------------------------------------------------
def test_value_gradient_hand_checked():
    # Trajectory 1: g = 1, 2; r = 1, 2 (total 3). Trajectory 2: g = 3; r = 5 (total 5). b = 4.
    # Trajectory 1: reward-to-go (3, 2) - b = (-1, -2); (1 * -1 + 2 * -2) / 2 = -2.5.
    # Trajectory 2: (5 - 4) * 3 / 1 = 3. Mean: 0.25.
    grads = [[np.array([[1.0]]), np.array([[2.0]])], [np.array([[3.0]])]]
    got = compute_value_gradient(grads, [[1.0, 2.0], [5.0]])
    assert got.shape == (1, 1)
    np.testing.assert_allclose(got, [[0.25]], rtol=1e-14)


@pytest.mark.parametrize("lengths", [[1], [1, 200], [5, 17, 1, 64, 200]])
def test_value_gradient_matches_loops(lengths):
    rng = np.random.default_rng(len(lengths))
    grads, rewards = random_trajectories(rng, lengths, d=8)
    got = compute_value_gradient(grads, rewards)
    assert got.shape == (8, 1)
    # rewards-to-go are sums of <= 200 terms of size <= 3, multiplied and summed again: rtol 1e-10
    # relative to the scale of the terms (atol 1e-10 * 200 * 3 * max|g|).
    scale = 600 * max(np.abs(g).max() for traj in grads for g in traj)
    np.testing.assert_allclose(got, value_gradient_loops(grads, rewards), rtol=1e-10, atol=1e-10 * scale)


def test_value_gradient_checks_rewards_per_trajectory():
    grads = [[np.ones((2, 1))] * 3]
    with pytest.raises(ValueError, match=r"rewards\[0\]"):
        compute_value_gradient(grads, [[1.0, 1.0]])
    with pytest.raises(ValueError, match="rewards"):
        compute_value_gradient(grads, [[1.0] * 3, [1.0]])


# ---------------------------------------------------------------------------------------------
# compute_eta
# ---------------------------------------------------------------------------------------------
def test_eta_hand_checked():
    # F = diag(2, 8), g = (2, 4): g^T F^-1 g = 4/2 + 16/8 = 4; eta = sqrt(0.01 / (4 + 1e-6)).
    eta = compute_eta(0.01, np.diag([2.0, 8.0]), np.array([[2.0], [4.0]]))
    np.testing.assert_allclose(eta, np.sqrt(0.01 / 4.000001), rtol=1e-14)
    # g = 0: only the 1e-6 guard remains, eta = sqrt(delta / 1e-6)
    np.testing.assert_allclose(compute_eta(0.04, np.eye(3), np.zeros((3, 1))), 200.0, rtol=1e-14)


@pytest.mark.parametrize("scale", [1e-4, 1.0, 100.0])
def test_eta_step_meets_the_trust_region(scale):
    # D = eta F^{-1} g satisfies D^T F D = delta q / (q + 1e-6) with q = g^T F^{-1} g, computed
    # here with an explicit inverse. cond(F) <= 1 + 10 / 0.5 = 21 here, so rtol 1e-10.
    rng = np.random.default_rng(40)
    grads, rewards = random_trajectories(rng, [3, 9], d=10)
    fisher = compute_fisher_matrix(grads, lamb=0.5)
    g = scale * compute_value_gradient(grads, rewards)
    delta = 0.02
    eta = compute_eta(delta, fisher, g)
    direction = eta * (np.linalg.inv(fisher) @ g)
    q = (g.T @ np.linalg.inv(fisher) @ g).item()
    np.testing.assert_allclose((direction.T @ fisher @ direction).item(), delta * q / (q + 1e-6), rtol=1e-10)
    assert (direction.T @ fisher @ direction).item() <= delta * (1 + 1e-12)


def test_eta_names_the_wrong_argument():
    with pytest.raises(ValueError, match="delta"):
        compute_eta(0.0, np.eye(2), np.ones((2, 1)))
    with pytest.raises(ValueError, match="v_grad"):
        compute_eta(0.1, np.eye(2), np.ones(2))
    with pytest.raises(ValueError, match="fisher"):
        compute_eta(0.1, np.ones((2, 3)), np.ones((2, 1)))


# ---------------------------------------------------------------------------------------------
# sample: a deterministic recording environment with gymnasium's reset/step API
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("num_actions", "truncate"), [(2, False), (3, True)])
def test_sample_records_scores_at_pre_step_states_and_rewards_in_order(num_actions, truncate):
    lengths = [1, 5, None, 200, 37]  # None never ends: the 200-step cap must stop it
    env = RecordingEnv(lengths, num_actions=num_actions, truncate=truncate)
    theta = np.random.default_rng(50).normal(size=(NUM_FEATURES, 1))
    np.random.seed(50)
    grads, rewards = sample(theta, env, 5)
    assert len(grads) == len(rewards) == 5
    assert len(env.states) == 5, "one reset per trajectory"
    assert [len(r) for r in rewards] == [1, 5, 200, 200, 37]
    for i in range(5):
        assert len(grads[i]) == len(rewards[i]) == len(env.actions[i])
        np.testing.assert_allclose(rewards[i], env.rewards[i], rtol=0, atol=0)  # the env's rewards, in order
        for h in (0, len(grads[i]) // 2, len(grads[i]) - 1):  # first, middle, last step
            assert grads[i][h].shape == (NUM_FEATURES, 1)
            # at the state *before* step h, for the action actually taken; atol 1e-12 (entries <= 0.3)
            want = expected_score(theta, env.states[i][h], num_actions, env.actions[i][h])
            np.testing.assert_allclose(grads[i][h], want, rtol=0, atol=1e-12)


def test_sample_draws_actions_from_pi():
    state = [0.02, -0.1, 0.03, 0.2]
    theta = np.random.default_rng(51).normal(size=(NUM_FEATURES, 1))
    pi = compute_action_distribution(theta, extract_features(state, 3)).ravel()
    assert pi.min() > 0.05 and pi.max() < 0.9, f"pick a theta with a non-trivial policy, got {pi}"
    env = RecordingEnv([None], num_actions=3, constant_state=state)
    np.random.seed(51)  # fixed seed: the verdict is reproducible
    sample(theta, env, 30)  # 6000 draws from one pi
    counts = np.bincount(np.concatenate(env.actions), minlength=3)
    assert counts.sum() == 6000
    assert g_test_p_value(counts, pi) > P_VALUE_THRESHOLD
    # the test has power: the same number of uniform or greedy draws is rejected
    assert g_test_p_value(np.full(3, 2000), pi) < P_VALUE_THRESHOLD
    greedy = np.zeros(3)
    greedy[np.argmax(pi)] = 6000
    assert g_test_p_value(greedy, pi) < P_VALUE_THRESHOLD


def test_sample_checks_n():
    with pytest.raises(ValueError, match="N"):
        sample(np.ones((NUM_FEATURES, 1)), RecordingEnv([3]), 0)


# ---------------------------------------------------------------------------------------------
# train: step by step on the real CartPole-v0
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lamb", [1e-3, 0.5])
def test_train_updates_theta_step_by_step(monkeypatch, lamb):
    N, T, delta, seed = 4, 3, 0.01, 7
    calls, theta, returns = run_recorded_train(monkeypatch, train_module.train, N, T, delta, lamb, seed)
    assert len(calls) == T
    np.testing.assert_array_equal(calls[0]["theta"], np.random.RandomState(seed).rand(NUM_FEATURES, 1))
    env = calls[0]["env"]
    assert env.spec.id == "CartPole-v0" and env.spec.max_episode_steps == 200
    thetas = [c["theta"] for c in calls] + [np.asarray(theta)]
    assert thetas[-1].shape == (NUM_FEATURES, 1)
    assert isinstance(returns, list) and len(returns) == T
    for t, c in enumerate(calls):
        assert len(c["grads"]) == N
        # expected update from this iteration's samples, by loops and an explicit inverse. The scores
        # span <= N * 200 directions of 100; cond(F) <= (||F|| + lamb) / lamb <= 1e4 (features have
        # entries <= sqrt(2/100), so ||phi|| <= 1.42, ||score|| <= 2.83, ||F|| <= 8): the solve's
        # relative error is <= cond * 1e-15 * d ~ 1e-9 at worst, so rtol 1e-8 on the step, atol 1e-10
        # times its norm.
        fisher = fisher_loops(c["grads"], lamb)
        g = value_gradient_loops(c["grads"], c["rewards"])
        inverse = np.linalg.inv(fisher)
        eta = np.sqrt(delta / ((g.T @ inverse @ g).item() + 1e-6))
        step = eta * inverse @ g
        np.testing.assert_allclose(thetas[t + 1] - thetas[t], step, rtol=1e-8, atol=1e-10 * np.linalg.norm(step))
        mean_return = np.mean([sum(r) for r in c["rewards"]])
        np.testing.assert_allclose(returns[t], mean_return, rtol=1e-14)
