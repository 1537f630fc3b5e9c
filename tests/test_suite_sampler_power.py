"""The sampler's G-test has real power against the classic wrong samplers and almost never fails a
correct one (issue 4). Grader-side, without the sandbox: each "sampler" below draws what a
student's sampler would draw, and the suite's own checks grade it through a stand-in context."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pytest

from autograder.engine.sandbox import CallResult
from autograder.engine.stats import g_test
from autograder.engine.suite import Seeds
from autograder.suites.npg import build as build_suite
from autograder.suites.npg import cases
from autograder.suites.npg.npg_checks import FALSE_FAILURE, SAMPLES
from solutions.mdp import discounted_state_distribution

StateLaw = Callable[[object, np.ndarray], np.ndarray]  # (mdp, P_pi) -> distribution of the sampled state


def _rows(mdp: object, P_pi: np.ndarray, steps: int) -> list:
    rows = [mdp.mu0]
    for _ in range(steps):
        rows.append(rows[-1] @ P_pi)
    return rows


def _exact(mdp: object, P_pi: np.ndarray) -> np.ndarray:
    S = mdp.num_states
    return np.linalg.solve(np.eye(S) - mdp.gamma * P_pi.T, (1 - mdp.gamma) * mdp.mu0)


def _geometric_gamma(mdp: object, P_pi: np.ndarray) -> np.ndarray:  # T ~ Geometric(gamma) on {0, 1, ...}
    S, q = mdp.num_states, 1.0 - mdp.gamma
    return np.linalg.solve(np.eye(S) - q * P_pi.T, (1 - q) * mdp.mu0)


def _horizon(mdp: object) -> int:
    return int(round(1.0 / (1.0 - mdp.gamma)))


WRONG_SAMPLERS: dict[str, tuple[StateLaw, str]] = {
    "t starting at 1": (lambda mdp, P: _exact(mdp, P) @ P, "sampler_t_starts_at_1"),
    "states from mu0": (lambda mdp, P: mdp.mu0, "sampler_mu0_only"),
    "fixed horizon 1/(1-gamma)": (lambda mdp, P: _rows(mdp, P, _horizon(mdp))[-1], "sampler_no_discount"),
    "uniform t on {0..H-1}": (lambda mdp, P: np.mean(_rows(mdp, P, _horizon(mdp))[:-1], axis=0),
                              "sampler_no_discount"),
    "T ~ Geometric(gamma)": (_geometric_gamma, "sampler_wrong_horizon"),
}


class _SamplerContext:
    """Answers ``sample_state_actions`` calls by drawing n pairs from ``state_law`` x pi_theta."""

    def __init__(self, suite: object, state_law: StateLaw, draw_seed: int) -> None:
        self.suite = suite
        self.state_law = state_law
        self.rng = np.random.default_rng(draw_seed)

    def call(self, part: str, mdp: object, policy: object, theta: np.ndarray, n: int, rng: object,
             **kwargs: object) -> CallResult:
        pi = policy.probs(theta)
        P_pi = np.einsum("sa,sat->st", pi, mdp.P)
        states_law = np.clip(self.state_law(mdp, P_pi), 0, None)
        joint = (states_law / states_law.sum())[:, None] * pi
        cells = self.rng.choice(joint.size, size=n, p=joint.ravel() / joint.sum())
        A = mdp.num_actions
        return CallResult("ok", value=[cells // A, cells % A])


def _sampler_checks(identity: str = "power") -> tuple[object, list]:
    """The sampler's distribution checks (not the one that calls it twice for reproducibility: these
    fake samplers draw from their own generator, and their power is about the law they draw from;
    nor the n = 1 check, which looks at shapes only)."""
    suite = build_suite(Seeds(b"test-secret", identity))
    return suite, [c for c in suite.checks if c.part == "sample_state_actions" and "same rng" not in c.name
                   and not c.name.startswith("n = 1")]


@pytest.mark.parametrize("name", list(WRONG_SAMPLERS))
def test_wrong_samplers_fail_the_designed_checks_and_are_named(name: str) -> None:
    law, key = WRONG_SAMPLERS[name]
    suite, checks = _sampler_checks()
    outcomes = {c.name: c.run(_SamplerContext(suite, law, 1)) for c in checks}
    designed = [n for n in outcomes if n.startswith(("a chain", "a line"))]
    assert len(designed) == 2
    for check_name in designed:
        outcome = outcomes[check_name]
        assert not outcome.passed, f"{name} passed {check_name!r}"
        assert outcome.mistake == key, f"{name} on {check_name!r}: named {outcome.mistake}"
        assert "G-test" in outcome.message and "Likely mistake" in outcome.message
    failed_weight = sum(c.weight for c in checks if not outcomes[c.name].passed)
    assert failed_weight >= 4.0, f"{name} keeps too many points: fails weight {failed_weight} of 7"


@pytest.mark.parametrize("name", ["t starting at 1", "states from mu0", "fixed horizon 1/(1-gamma)",
                                  "T ~ Geometric(gamma)"])
def test_gross_sampler_mistakes_fail_every_check(name: str) -> None:
    law, _ = WRONG_SAMPLERS[name]
    suite, checks = _sampler_checks()
    if name == "t starting at 1":  # on the gamma = 0.99 chain d P_pi and d differ by O(1 - gamma) only
        checks = [c for c in checks if not c.name.startswith("gamma = 0.99")]
    failed = [c.name for c in checks if not c.run(_SamplerContext(suite, law, 2)).passed]
    assert len(failed) == len(checks), f"{name} passed {set(c.name for c in checks) - set(failed)}"


def test_the_correct_sampler_passes_every_check_for_many_identities() -> None:
    for i in range(5):
        suite, checks = _sampler_checks(f"identity-{i}")
        for c in checks:
            outcome = c.run(_SamplerContext(suite, _exact, 100 + i))
            assert outcome.passed, outcome.message


@pytest.mark.slow
def test_g_test_false_failure_rate_is_below_the_bound_and_calibrated() -> None:
    """200 seeds per case of exact draws: none fails at p < 1e-6, and the p-values look uniform
    (about 5% below 0.05), so the test is neither broken nor blind."""
    builders = [cases.sampler_mdp, cases.line_mdp, cases.unreachable_mdp,
                lambda: (*cases.example(), np.array([0.0]))]
    p_values = []
    for build in builders:
        mdp, policy, theta = build()
        pi = policy.probs(theta)
        joint = discounted_state_distribution(mdp, pi)[:, None] * pi
        for seed in range(200):
            counts = np.random.default_rng(seed).multinomial(SAMPLES, joint.ravel() / joint.sum())
            p_values.append(g_test(counts.reshape(joint.shape), joint).p_value)
    p_values = np.array(p_values)
    assert p_values.min() >= FALSE_FAILURE
    below = float(np.mean(p_values < 0.05))
    assert 0.02 <= below <= 0.09, f"{below:.3f} of p-values below 0.05; expected about 0.05"
