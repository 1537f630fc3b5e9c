"""Shared by the CartPole tests: independent loop implementations, a recording environment, a G-test.

Nothing here calls the reference's maths except where named (``run_recorded_train`` wraps the
reference's ``sample`` to record what ``train`` is given).
"""

from __future__ import annotations

import importlib

import numpy as np
from scipy import stats

from solutions.cartpole import extract_features

# the module, not the function of the same name that solutions.cartpole exports
train_module = importlib.import_module("solutions.cartpole.train")

P_VALUE_THRESHOLD = 1e-6  # false-failure probability of one G-test of a correct sampler


# ---------------------------------------------------------------------------------------------
def softmax_long(z: np.ndarray, axis: int) -> np.ndarray:
    """exp(z) / sum exp(z) in extended precision, without a max-shift (for |z| < 50 only)."""
    e = np.exp(np.asarray(z, dtype=np.longdouble))
    return (e / e.sum(axis=axis, keepdims=True)).astype(float)


def log_pi_long(theta: np.ndarray, phis: np.ndarray, a: int) -> float:
    """log pi(a|s) = theta^T phi_a - log sum_a' exp(theta^T phi_a'), extended precision, by loops."""
    logits = [sum(np.longdouble(theta[k, 0]) * phis[k, b] for k in range(phis.shape[0])) for b in range(phis.shape[1])]
    m = max(logits)
    return float(logits[a] - m - np.log(sum(np.exp(x - m) for x in logits)))


def fisher_loops(grads: list[list[np.ndarray]], lamb: float) -> np.ndarray:
    d = grads[0][0].shape[0]
    total = np.zeros((d, d))
    for trajectory in grads:
        inner = np.zeros((d, d))
        for g in trajectory:
            inner += np.outer(g[:, 0], g[:, 0])
        total += inner / len(trajectory)
    return total / len(grads) + lamb * np.eye(d)


def value_gradient_loops(grads: list[list[np.ndarray]], rewards: list[list[float]]) -> np.ndarray:
    baseline = sum(sum(r) for r in rewards) / len(rewards)
    total = np.zeros_like(grads[0][0], dtype=float)
    for g_traj, r_traj in zip(grads, rewards):
        inner = np.zeros_like(total)
        for h, g in enumerate(g_traj):
            inner += g * (sum(r_traj[h:]) - baseline)
        total += inner / len(g_traj)
    return total / len(grads)


def random_trajectories(rng, lengths, d):
    """Scores and non-constant rewards for trajectories of the given lengths."""
    grads = [[rng.standard_normal((d, 1)) for _ in range(H)] for H in lengths]
    rewards = [list(rng.uniform(-2.0, 3.0, size=H)) for H in lengths]
    return grads, rewards


class _Discrete:
    def __init__(self, n: int) -> None:
        self.n = n


class RecordingEnv:
    """A fake environment that records every state it shows and every action it receives.

    Episode i lasts ``lengths[i % len(lengths)]`` steps, then says ``terminated`` (or ``truncated``
    when ``truncate`` is set); ``None`` never ends. States are deterministic functions of
    (episode, step) unless ``constant_state`` is given; the reward at step h of episode i is
    ``1 + 0.5 h - 0.25 i``, so rewards are non-constant and their order is visible. Stepping a
    finished episode fails the test.
    """

    def __init__(self, lengths, num_actions=2, truncate=False, constant_state=None):
        self.lengths = lengths
        self.action_space = _Discrete(num_actions)
        self.truncate = truncate
        self.constant_state = constant_state
        self.episode = -1
        self.states: list[list[np.ndarray]] = []  # per episode: the states shown, in order
        self.actions: list[list[int]] = []
        self.rewards: list[list[float]] = []
        self.done = True

    def _state(self, h: int) -> np.ndarray:
        if self.constant_state is not None:
            return np.array(self.constant_state, dtype=float)
        i = self.episode
        return np.array([0.1 * i, 0.01 * h, np.sin(0.3 * h + i), np.cos(0.2 * h)])

    def reset(self, seed=None, options=None):
        self.episode += 1
        self.done = False
        first = self._state(0)
        self.states.append([first])
        self.actions.append([])
        self.rewards.append([])
        return first.copy(), {}

    def step(self, action):
        assert not self.done, "step() called on a finished episode (after terminated/truncated)"
        assert 0 <= action < self.action_space.n and int(action) == action, f"invalid action {action!r}"
        h = len(self.actions[-1])
        self.actions[-1].append(int(action))
        reward = 1.0 + 0.5 * h - 0.25 * self.episode
        self.rewards[-1].append(reward)
        length = self.lengths[self.episode % len(self.lengths)]
        finished = length is not None and h + 1 >= length
        self.done = finished
        state = self._state(h + 1)
        self.states[-1].append(state)
        terminated, truncated = (False, finished) if self.truncate else (finished, False)
        return state.copy(), reward, terminated, truncated, {}


def expected_score(theta, state, num_actions, action):
    """phi(s, a) - sum_a' pi(a'|s) phi(s, a'), pi computed in float128 by loops (independent)."""
    phis = extract_features(state, num_actions)
    pi = np.array([np.exp(log_pi_long(theta, phis, b)) for b in range(num_actions)])
    return phis[:, [action]] - phis @ pi.reshape(-1, 1)


def g_test_p_value(counts: np.ndarray, probs: np.ndarray) -> float:
    """p-value of the G-test (likelihood ratio) of counts against probabilities.

    Under the null, G is asymptotically chi-square with |A| - 1 degrees of freedom (every expected
    count is checked >= 5), so a correct sampler fails ``p < 1e-6`` with probability ~1e-6.
    """
    expected = counts.sum() * probs
    assert expected.min() >= 5, "too few draws for the chi-square approximation"
    return stats.power_divergence(counts, expected, lambda_="log-likelihood").pvalue


def run_recorded_train(monkeypatch, train_fn, N, T, delta, lamb, seed):
    """Run ``train_fn`` with the module's ``sample`` wrapped to record theta and each iteration's samples."""
    calls = []
    real_sample = train_module.sample

    def recording_sample(theta, env, n):
        grads, rewards = real_sample(theta, env, n)
        calls.append({"theta": np.array(theta, dtype=float, copy=True), "env": env, "grads": grads, "rewards": rewards})
        return grads, rewards

    monkeypatch.setattr(train_module, "sample", recording_sample)
    np.random.seed(seed)
    theta, returns = train_fn(N, T, delta, lamb)
    return calls, theta, returns
