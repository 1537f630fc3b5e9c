"""Checks of the Fisher part: score_function, fisher_information, fisher_estimate."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from solutions import fisher as ref
from solutions.mdp import discounted_state_distribution
from solutions.npg import sample_state_actions

from ...engine.compare import Tolerance, expect_close, format_value, matrix_tolerance
from ...engine.memo import RememberedModule, remember
from ...engine.suite import Check, Context, Outcome, Seeds
from . import cases
from .mistakes import mistake

Builder = Callable[[], tuple]
# psi = phi - E_pi[phi] cancels features of size ~1: single precision leaves ~4e-8 absolute error
# (measured on the hidden cases of a correct float32 submission); atol 1e-6 keeps a margin, and the
# catalogued mistakes (no baseline, masked scores) change psi by O(1).
SCORE_TOL = Tolerance(rtol=1e-5, atol=1e-6)

# The reference values of public cases are computed once per process (batch workers grade many
# submissions; hidden cases differ in each): engine.memo.
ref = RememberedModule(ref)
discounted_state_distribution = remember(discounted_state_distribution)


def _score_mistakes(policy: Any, theta: np.ndarray) -> list:
    pi = policy.probs(theta)
    mean_phi = np.einsum("sa,sak->sk", pi, policy.phi)
    unmasked = policy.phi - mean_phi[:, None, :]
    masked = policy.mask[:, :, None]
    return [
        (mistake("score_without_baseline"), np.where(masked, policy.phi, 0.0)),
        (mistake("score_without_baseline"), policy.phi),
        (mistake("score_nonzero_masked"), unmasked),
    ]


def _check_score(build: Builder, label: str, snippet: Any) -> Callable:
    def run(ctx: Context) -> Outcome:
        mdp, policy, theta = build()
        return expect_close(
            ctx.call("score_function", policy, theta), ref.score_function(policy, theta),
            func="score_function", inputs=f"{label}; theta = {format_value(theta)}", tol=SCORE_TOL,
            mistakes=_score_mistakes(policy, theta), reproduce=snippet,
        )

    return run


def _fisher_mistakes(mdp: Any, policy: Any, theta: np.ndarray) -> list:
    pi = policy.probs(theta)
    d = discounted_state_distribution(mdp, pi)
    psi = ref.score_function(policy, theta)
    F = ref.fisher_information(mdp, policy, theta)

    def weighted(w_sa: np.ndarray, scores: np.ndarray = psi) -> np.ndarray:
        return np.einsum("sa,sak,sal->kl", w_sa, scores, scores)

    allowed = policy.mask.astype(float)
    S = mdp.num_states
    return [
        (mistake("score_without_baseline"),
         weighted(d[:, None] * pi, np.where(policy.mask[:, :, None], policy.phi, 0.0))),
        (mistake("fisher_not_weighted_by_pi"), weighted(d[:, None] * allowed)),
        (mistake("uniform_state_weights"), weighted(np.full(S, 1.0 / S)[:, None] * pi)),
        (mistake("mu0_state_weights"), weighted(mdp.mu0[:, None] * pi)),
        (mistake("missing_one_minus_gamma"), F / (1.0 - mdp.gamma)),
    ]


def _check_fisher(build: Builder, label: str, snippet: Any, expected: Any = None) -> Callable:
    """``expected`` (default: the reference on the same input) gives the matrix a metamorphic case
    must reproduce, e.g. F of the MDP before its states and actions were renamed."""
    def run(ctx: Context) -> Outcome:
        mdp, policy, theta = build()
        F = ref.fisher_information(mdp, policy, theta) if expected is None else expected()
        return expect_close(
            ctx.call("fisher_information", mdp, policy, theta), F,
            func="fisher_information", inputs=f"{label}; theta = {format_value(theta)}",
            tol=matrix_tolerance(F),
            mistakes=_fisher_mistakes(mdp, policy, theta), reproduce=snippet,
        )

    return run


def _check_estimate(build: Builder, n: int, sample_seed: int, label: str, snippet: Any) -> Callable:
    def run(ctx: Context) -> Outcome:
        mdp, policy, theta = build()
        rng = np.random.default_rng(sample_seed)
        states, actions = sample_state_actions(mdp, policy, theta, n, rng)
        expected = ref.fisher_estimate(policy, theta, states, actions)
        psi = ref.score_function(policy, theta)[states, actions]
        centred = psi - psi.mean(axis=0)
        mistakes = [
            (mistake("fisher_centred"), centred.T @ centred / n),
            (mistake("fisher_n_minus_1"), psi.T @ psi / (n - 1)),
            (mistake("fisher_centred"), centred.T @ centred / (n - 1)),
        ]
        phi = policy.phi[states, actions]
        mistakes.append((mistake("score_without_baseline"), phi.T @ phi / n))
        return expect_close(
            ctx.call("fisher_estimate", policy, theta, states, actions), expected,
            func="fisher_estimate",
            inputs=f"{label}; theta = {format_value(theta)}; {n} samples (states {format_value(states)}, "
                   f"actions {format_value(actions)})",
            mistakes=mistakes, tol=matrix_tolerance(expected),
            reproduce=snippet and snippet + (
                f"\nstates, actions = sample_state_actions(mdp, policy, theta, {n}, "
                f"np.random.default_rng({sample_seed}))"
                "  # or the reference's samples shown above"
                "\nfisher_estimate(policy, theta, states, actions)"
            ),
        )

    return run


def _example(theta: float, mu0: tuple = (0.5, 0.5)) -> Builder:
    def build() -> tuple:
        mdp, policy = cases.example(mu0)
        return mdp, policy, np.array([theta])

    return build


def _random(case: cases.MDPCase) -> Builder:
    return case.build


def build(seeds: Seeds) -> list[Check]:
    checks: list[Check] = []
    add = checks.append
    ex = cases.EXAMPLE_SNIPPET

    # score_function
    add(Check("score_function", "lecture example, theta = 0.7", _check_score(
        _example(0.7), "the lecture's example MDP", ex + "score_function(policy, np.array([0.7]))"), kind="example"))
    add(Check("score_function", "a masked action with non-zero features", _check_score(
        cases.unreachable_mdp, "3 states, action 1 masked in state 0 (its features are not zero)",
        cases.literal_snippet(cases.unreachable_mdp, "score_function(policy, theta)")), kind="edge"))
    add(Check("score_function", "near-deterministic policy (|theta| ~ 1000)", _check_score(
        _random(cases.MDPCase(301, 3, 3, num_features=4, theta_scale=1000.0)),
        "random MDP, seed 301, theta of size ~1000",
        cases.MDPCase(301, 3, 3, num_features=4, theta_scale=1000.0).snippet("score_function(policy, theta)")),
        kind="edge"))
    public_score = cases.MDPCase(302, 4, 3, num_features=5)
    add(Check("score_function", "random MDP with features", _check_score(
        public_score.build, public_score.describe(), public_score.snippet("score_function(policy, theta)")),
        kind="random"))
    hidden_score = cases.MDPCase(seeds.hidden("score_function/0"), 5, 4, num_features=3, hidden=True)
    add(Check("score_function", "hidden random MDP", _check_score(hidden_score.build, hidden_score.describe(), None),
              kind="hidden"))

    # fisher_information
    for theta in (-2.0, 0.0, 1.5):
        add(Check("fisher_information", f"lecture example, theta = {theta:g}", _check_fisher(
            _example(theta), "the lecture's example MDP", ex + f"fisher_information(mdp, policy, np.array([{theta}]))"),
            kind="example"))
    add(Check("fisher_information", "lecture example with mu0 = (1, 0): F = 0", _check_fisher(
        _example(0.0, (1.0, 0.0)), "the example MDP with mu0 = (1, 0)",
        "mdp, policy = example_mdp(mu0=(1.0, 0.0))\nfisher_information(mdp, policy, np.array([0.0]))"), kind="edge"))
    add(Check("fisher_information", "an unreachable state and a masked action", _check_fisher(
        cases.unreachable_mdp, "3 states, state 2 unreachable, action 1 masked in state 0",
        cases.literal_snippet(cases.unreachable_mdp, "fisher_information(mdp, policy, theta)")), kind="edge"))
    add(Check("fisher_information", "a state visited rarely (d ~ 4e-4) still counts", _check_fisher(
        cases.rare_state_mdp, "2 states, tabular softmax, state 1 entered with probability 2e-4 a step",
        cases.literal_snippet(cases.rare_state_mdp, "fisher_information(mdp, policy, theta)")), kind="edge"))
    add(Check("fisher_information", "gamma = 0.99, a slow chain: d needs the whole horizon", _check_fisher(
        cases.slow_mdp, "3 states, gamma = 0.99, state 2 reached after ~40 steps",
        cases.literal_snippet(cases.slow_mdp, "fisher_information(mdp, policy, theta)")), kind="edge"))
    for case, name in (
        (cases.MDPCase(311, 4, 3, num_features=5), "random MDP with features"),
        (cases.MDPCase(312, 3, 2), "random tabular MDP (singular F)"),
        (cases.MDPCase(seeds.hidden("fisher_information/0"), 5, 3, num_features=4, hidden=True), "hidden random MDP"),
        (cases.MDPCase(seeds.hidden("fisher_information/1"), 4, 3, hidden=True), "hidden random tabular MDP"),
    ):
        add(Check("fisher_information", name, _check_fisher(
            case.build, case.describe(), case.snippet("fisher_information(mdp, policy, theta)")),
            kind="hidden" if case.hidden else "random"))

    relabel = cases.MDPCase(313, 4, 3, num_features=4)
    renamed = cases.relabelled(relabel.build, 314)
    add(Check("fisher_information", "states and actions renamed: the same F", _check_fisher(
        renamed, relabel.describe() + ", states and actions renamed by permutations",
        cases.literal_snippet(renamed, "fisher_information(mdp, policy, theta)"),
        expected=lambda: ref.fisher_information(*relabel.build())), kind="random"))

    # fisher_estimate
    add(Check("fisher_estimate", "lecture example, 40 samples", _check_estimate(
        _example(0.3), 40, 321, "the lecture's example MDP", ex + "theta = np.array([0.3])"), kind="example"))
    public_est = cases.MDPCase(322, 4, 3, num_features=5)
    add(Check("fisher_estimate", "random MDP with features, 200 samples", _check_estimate(
        public_est.build, 200, 323, public_est.describe(), public_est.snippet("")), kind="random"))
    add(Check("fisher_estimate", "a masked action, 100 samples", _check_estimate(
        cases.unreachable_mdp, 100, 324, "3 states, action 1 masked in state 0",
        cases.literal_snippet(cases.unreachable_mdp, "")), kind="edge"))
    hidden_est = cases.MDPCase(seeds.hidden("fisher_estimate/0"), 5, 3, num_features=4, hidden=True)
    add(Check("fisher_estimate", "hidden random MDP, 300 samples", _check_estimate(
        hidden_est.build, 300, seeds.hidden("fisher_estimate/samples") % 2**31, hidden_est.describe(), None),
        kind="hidden"))
    return checks
