"""Wrong and harmless-but-different student versions of the CartPole functions, against the reference.

``tests/fixtures/cartpole_mistakes/`` holds one file per real student mistake (its first line says
which); each test here feeds it the kind of input that exposes it and checks that it differs from
the reference by far more than any grading tolerance (rtol 1e-5), and, where it matters, that the
inputs CartPole itself produces would *not* have exposed it. ``tests/fixtures/cartpole_harmless/``
holds correct-but-different versions that must agree with the reference within rtol 1e-5 (the
tabular suite's default), which is what a grader of this assignment must accept.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from cartpole_helpers import (
    RecordingEnv,
    fisher_loops,
    g_test_p_value,
    random_trajectories,
    run_recorded_train,
    value_gradient_loops,
)

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

FIXTURES = Path(__file__).parent / "fixtures"
GRADING_RTOL = 1e-5  # the comparison a grader would use; every mistake must miss it by far


def load(folder: str, name: str) -> ModuleType:
    path = FIXTURES / folder / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"cartpole_{folder}_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def relative_difference(got, want) -> float:
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    if got.shape != want.shape or not np.isfinite(got).all():
        return np.inf
    return float(np.abs(got - want).max() / np.abs(want).max())


# ---------------------------------------------------------------------------------------------
# One check per mistake: the exposing input, and a verdict far beyond the grading tolerance.
# ---------------------------------------------------------------------------------------------
def check_softmax_builtin_max(m):
    z = np.array([[0.5, -1.0, 2.0]])
    got = m.compute_softmax(z, 1)
    np.testing.assert_array_equal(got, np.ones((1, 3)))  # all ones, not a distribution
    assert relative_difference(got, compute_softmax(z, 1)) > 1.0


def check_softmax_ignores_axis(m):
    row = np.array([[0.5, -1.0, 2.0]])  # a single row over axis 1: the mistake is invisible
    assert relative_difference(m.compute_softmax(row, 1), compute_softmax(row, 1)) < 1e-12
    z = np.random.default_rng(0).normal(size=(3, 4))  # multi-row logits over axis 0 expose it
    assert relative_difference(m.compute_softmax(z, 0), compute_softmax(z, 0)) > 0.1


def check_softmax_no_max_shift(m):
    small = np.array([[0.5, -1.0, 2.0]])
    assert relative_difference(m.compute_softmax(small, 1), compute_softmax(small, 1)) < 1e-12
    with np.errstate(over="ignore", invalid="ignore"):
        got = m.compute_softmax(np.array([[1000.0, 999.0]]), 1)
    assert np.isnan(got).any(), "overflow to inf / inf = nan at logits near 1000"


def check_action_distribution_wrong_axis(m):
    theta, phis = np.ones((3, 1)), np.random.default_rng(1).normal(size=(3, 2))
    got = m.compute_action_distribution(theta, phis)
    np.testing.assert_allclose(got, np.ones((1, 2)), rtol=1e-15)  # every probability is 1
    assert relative_difference(got, compute_action_distribution(theta, phis)) > 0.1


def check_score_without_expectation(m):
    rng = np.random.default_rng(2)
    theta, phis = rng.normal(size=(NUM_FEATURES, 1)), extract_features(rng.normal(size=4), 2)
    got = m.compute_log_softmax_grad(theta, phis, 1)
    assert relative_difference(got, compute_log_softmax_grad(theta, phis, 1)) > 0.1


def check_fisher_per_step(m):
    rng = np.random.default_rng(3)
    equal, _ = random_trajectories(rng, [20, 20, 20], d=6)  # equal lengths: the two averages coincide
    assert relative_difference(m.compute_fisher_matrix(equal, 1e-3), compute_fisher_matrix(equal, 1e-3)) < 1e-12
    unequal, _ = random_trajectories(rng, [1, 200, 3], d=6)
    unequal[0] = [10 * unequal[0][0]]  # a short trajectory with large scores weighs 1/N, not 1/sum H_i
    got = m.compute_fisher_matrix(unequal, 1e-3)
    assert relative_difference(got, compute_fisher_matrix(unequal, 1e-3)) > 0.1


def check_value_gradient_no_horizon(m):
    grads, rewards = random_trajectories(np.random.default_rng(4), [1, 50, 7], d=5)
    got = m.compute_value_gradient(grads, rewards)
    assert relative_difference(got, compute_value_gradient(grads, rewards)) > 0.1


def check_value_gradient_total_return(m):
    one_step, r1 = random_trajectories(np.random.default_rng(5), [1, 1, 1], d=5)  # H = 1: reward-to-go = total
    assert relative_difference(m.compute_value_gradient(one_step, r1), compute_value_gradient(one_step, r1)) < 1e-12
    grads, rewards = random_trajectories(np.random.default_rng(5), [4, 30, 9], d=5)  # non-constant rewards
    got = m.compute_value_gradient(grads, rewards)
    assert relative_difference(got, compute_value_gradient(grads, rewards)) > 0.1


def check_eta_fisher_not_inverse(m):
    fisher, g = np.diag([0.5, 4.0]), np.array([[1.0], [2.0]])  # F != I: g^T F g = 16.5, g^T F^-1 g = 3
    assert relative_difference(m.compute_eta(0.01, fisher, g), compute_eta(0.01, fisher, g)) > 0.1


def check_eta_no_guard(m):
    with np.errstate(divide="ignore", invalid="ignore"):  # g = 0: 0.01 / 0 is inf without the guard
        eta = np.asarray(m.compute_eta(0.01, np.diag([0.5, 4.0]), np.zeros((2, 1))), dtype=float)
    assert not np.all(np.isfinite(eta))
    assert np.isfinite(compute_eta(0.01, np.diag([0.5, 4.0]), np.zeros((2, 1))))  # the reference's guard


def check_sample_reseeds(m):
    theta = np.random.default_rng(3).normal(size=(NUM_FEATURES, 1))
    runs = []
    for seed in (1, 2):  # different seeds before the call: an honest sampler draws other actions
        env = RecordingEnv([None], num_actions=3)
        np.random.seed(seed)
        m.sample(theta, env, 2)
        runs.append(env.actions)
    assert runs[0] == runs[1]


def check_sample_post_step_score(m):
    env = RecordingEnv([30], num_actions=3)
    theta = np.random.default_rng(6).normal(size=(NUM_FEATURES, 1))
    np.random.seed(6)
    grads, _ = m.sample(theta, env, 2)
    state, action = env.states[0][0], env.actions[0][0]  # the state the first action was taken in
    want = compute_log_softmax_grad(theta, extract_features(state, 3), action)
    assert relative_difference(grads[0][0], want) > 0.01


def check_sample_ignores_truncated(m):
    env = RecordingEnv([12], num_actions=2, truncate=True)  # truncated at 12 steps, never terminated
    theta = np.zeros((NUM_FEATURES, 1))
    np.random.seed(7)
    with pytest.raises(AssertionError, match="finished episode"):
        m.sample(theta, env, 1)
    # with the truncation at CartPole-v0's 200 steps, the 200-step cap hides the mistake
    capped = RecordingEnv([200], num_actions=2, truncate=True)
    grads, _ = m.sample(theta, capped, 1)
    assert len(grads[0]) == 200


def check_sample_greedy_action(m):
    state = [0.02, -0.1, 0.03, 0.2]
    theta = np.random.default_rng(51).normal(size=(NUM_FEATURES, 1))
    pi = compute_action_distribution(theta, extract_features(state, 3)).ravel()
    env = RecordingEnv([None], num_actions=3, constant_state=state)
    np.random.seed(8)
    m.sample(theta, env, 5)  # 1000 draws
    counts = np.bincount(np.concatenate(env.actions), minlength=3)
    assert g_test_p_value(counts, pi) < 1e-6  # the G-test of test_solutions_cartpole rejects it


def check_sample_raw_observations(m):
    theta = np.random.default_rng(9).random((NUM_FEATURES, 1))  # the handout's theta: 100 x 1
    with pytest.raises(ValueError, match="theta must have shape"):
        m.sample(theta, RecordingEnv([5]), 1)  # 4-dimensional observations cannot meet 100 parameters


def _train_step_mismatch(monkeypatch, train_fn, lamb) -> float:
    """Largest relative gap between train_fn's updates and theta + eta F^{-1} g from its own samples."""
    delta = 0.01
    calls, theta, _ = run_recorded_train(monkeypatch, train_fn, 3, 2, delta, lamb, seed=11)
    thetas = [c["theta"] for c in calls] + [np.asarray(theta)]
    worst = 0.0
    for t, c in enumerate(calls):
        inverse = np.linalg.inv(fisher_loops(c["grads"], lamb))
        g = value_gradient_loops(c["grads"], c["rewards"])
        step = np.sqrt(delta / ((g.T @ inverse @ g).item() + 1e-6)) * inverse @ g
        worst = max(worst, relative_difference(thetas[t + 1] - thetas[t], step))
    return worst


def check_train_ignores_lamb(m, monkeypatch):
    assert _train_step_mismatch(monkeypatch, m.train, lamb=0.5) > 0.01  # lamb = 0.5 instead of the default


def check_train_without_eta(m, monkeypatch):
    assert _train_step_mismatch(monkeypatch, m.train, lamb=1e-3) > 0.1


MISTAKES = {
    "softmax_builtin_max": check_softmax_builtin_max,
    "softmax_ignores_axis": check_softmax_ignores_axis,
    "softmax_no_max_shift": check_softmax_no_max_shift,
    "action_distribution_wrong_axis": check_action_distribution_wrong_axis,
    "score_without_expectation": check_score_without_expectation,
    "fisher_per_step": check_fisher_per_step,
    "value_gradient_no_horizon": check_value_gradient_no_horizon,
    "value_gradient_total_return": check_value_gradient_total_return,
    "eta_fisher_not_inverse": check_eta_fisher_not_inverse,
    "eta_no_guard": check_eta_no_guard,
    "sample_reseeds": check_sample_reseeds,
    "sample_post_step_score": check_sample_post_step_score,
    "sample_ignores_truncated": check_sample_ignores_truncated,
    "sample_greedy_action": check_sample_greedy_action,
    "sample_raw_observations": check_sample_raw_observations,
}
TRAIN_MISTAKES = {
    "train_ignores_lamb": check_train_ignores_lamb,
    "train_without_eta": check_train_without_eta,
}


def _fixture_names(folder: str) -> set[str]:
    return {p.stem for p in (FIXTURES / folder).glob("*.py")}


def test_every_mistake_file_has_a_check_and_a_one_line_comment():
    assert _fixture_names("cartpole_mistakes") == set(MISTAKES) | set(TRAIN_MISTAKES)
    for name in _fixture_names("cartpole_mistakes") | _fixture_names("cartpole_harmless"):
        folder = "cartpole_mistakes" if name in MISTAKES or name in TRAIN_MISTAKES else "cartpole_harmless"
        first = (FIXTURES / folder / f"{name}.py").read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# ") and len(first) > 20, f"{name}: the first line must say what it does"


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_mistake_differs_from_the_reference(name):
    MISTAKES[name](load("cartpole_mistakes", name))


@pytest.mark.parametrize("name", sorted(TRAIN_MISTAKES))
def test_train_mistake_differs_from_the_reference(name, monkeypatch):
    TRAIN_MISTAKES[name](load("cartpole_mistakes", name), monkeypatch)


def test_the_reference_train_passes_the_same_step_check(monkeypatch):
    # the train checks above fail the mistakes, not any train: the reference is within 1e-8
    train_fn = importlib.import_module("solutions.cartpole.train").train
    assert _train_step_mismatch(monkeypatch, train_fn, lamb=0.5) < 1e-8


# ---------------------------------------------------------------------------------------------
# Harmless differences: a grader must accept them.
# ---------------------------------------------------------------------------------------------
def test_harmless_softmax_in_place_on_a_copy():
    m = load("cartpole_harmless", "softmax_inplace_copy")
    z = np.array([[1000.0, 999.0, -3.0], [0.1, 0.2, 0.3]])
    before = z.copy()
    for axis in (0, 1):
        np.testing.assert_allclose(m.compute_softmax(z, axis), compute_softmax(z, axis), rtol=GRADING_RTOL)
    np.testing.assert_array_equal(z, before)


@pytest.mark.parametrize("name", ["eta_inv_array", "eta_pinv", "eta_eps_1e5"])
def test_harmless_eta_variants(name):
    # On a realistic F (lamb = 1e-3, 100 features) and g with q = g^T F^-1 g >= 1: the 1e-5 guard
    # changes eta by a factor 1 - 4.5e-6 / q, inside rtol 1e-5; inv and pinv agree with solve to
    # cond(F) * 1e-16 ~ 1e-12. A 1 x 1 array result is compared by value.
    rng = np.random.default_rng(12)
    theta = rng.random((NUM_FEATURES, 1))
    grads = []
    for length in (3, 40, 200):
        trajectory = []
        for _ in range(length):
            phis = extract_features(rng.normal(size=4) * 0.1, 2)
            trajectory.append(compute_log_softmax_grad(theta, phis, int(rng.integers(2))))
        grads.append(trajectory)
    rewards = [list(np.ones(len(t))) for t in grads]
    fisher = compute_fisher_matrix(grads)
    g = compute_value_gradient(grads, rewards)
    q = (g.T @ np.linalg.solve(fisher, g)).item()
    assert q >= 1.0, f"the case must have g^T F^-1 g >= 1, got {q}"
    got = np.asarray(load("cartpole_harmless", name).compute_eta(0.01, fisher, g), dtype=float)
    assert got.size == 1
    np.testing.assert_allclose(got.item(), compute_eta(0.01, fisher, g), rtol=GRADING_RTOL)


def test_the_eps_variant_is_not_harmless_when_g_is_tiny():
    # the same 1e-5 guard with g^T F^-1 g = 1e-6: eta drops by sqrt(2e-6 / 1.1e-5), a factor 0.43
    m = load("cartpole_harmless", "eta_eps_1e5")
    g = np.array([[1e-3], [0.0]])
    assert relative_difference(m.compute_eta(0.01, np.eye(2), g), compute_eta(0.01, np.eye(2), g)) > 0.5


def test_harmless_fisher_einsum():
    grads, _ = random_trajectories(np.random.default_rng(13), [1, 17, 200], d=9)
    got = load("cartpole_harmless", "fisher_einsum").compute_fisher_matrix(grads, 0.2)
    np.testing.assert_allclose(got, compute_fisher_matrix(grads, 0.2), rtol=GRADING_RTOL)


def test_reference_sample_passes_what_the_sample_mistakes_fail():
    # the recording-environment checks used above accept the reference
    env = RecordingEnv([12], num_actions=2, truncate=True)
    theta = np.random.default_rng(14).normal(size=(NUM_FEATURES, 1))
    np.random.seed(14)
    grads, rewards = sample(theta, env, 2)
    assert [len(r) for r in rewards] == [12, 12]
    want = compute_log_softmax_grad(theta, extract_features(env.states[0][0], 2), env.actions[0][0])
    assert relative_difference(grads[0][0], want) < 1e-12
