"""Checks of the KL part: kl_divergence, kl_bernoulli, kl_gaussian, policy_kl."""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from solutions import kl as ref
from solutions.mdp import discounted_state_distribution

from ...engine.compare import Tolerance, expect_close, format_value
from ...engine.memo import RememberedModule, remember
from ...engine.suite import Check, Context, Outcome, Seeds
from . import cases
from .cases import array_literal
from .mistakes import mistake

# The reference values of public cases are computed once per process (batch workers grade many
# submissions; hidden cases differ in each): engine.memo.
ref = RememberedModule(ref)
discounted_state_distribution = remember(discounted_state_distribution)

# KL of nearby distributions is a sum of terms of size ~0.1 that nearly cancel: single precision
# leaves ~3e-8 absolute error (measured: a correct float32 kl_bernoulli failed atol 1e-8 on half
# of the hidden cases). atol 1e-6 keeps a 30x margin; every catalogued mistake changes a KL by a
# factor (log base 2: 1.44) or gives nan, far outside it.
KL_TOL = Tolerance(rtol=1e-5, atol=1e-6)


def _kl_rows(p: np.ndarray, q: np.ndarray, log: Callable = np.log, guard_zeros: bool = True) -> np.ndarray:
    """KL over the last axis with variations used to recognise mistakes."""
    p, q = np.broadcast_arrays(np.asarray(p, float), np.asarray(q, float))
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = p * (log(p) - log(q))
        if guard_zeros:
            terms = np.where(p > 0, terms, 0.0)
    return terms.sum(axis=-1)


def _discrete_mistakes(p: np.ndarray, q: np.ndarray) -> list:
    return [
        (mistake("reversed_kl"), _kl_rows(q, p)),
        (mistake("log_base_2"), _kl_rows(p, q, log=np.log2)),
        (mistake("no_zero_log_zero"), _kl_rows(p, q, guard_zeros=False)),
    ]


def _check_kl_divergence(p: np.ndarray, q: np.ndarray, label: str, hidden: bool = False) -> Callable:
    def run(ctx: Context) -> Outcome:
        expected = ref.kl_divergence(p, q)
        if hidden:
            inputs = f"{label}: p of shape {p.shape}, q of shape {q.shape}"
            reproduce = None
        else:
            inputs = f"p = {format_value(p)}, q = {format_value(q)}"
            reproduce = f"kl_divergence({array_literal(p)}, {array_literal(q)})"
        return expect_close(
            ctx.call("kl_divergence", p, q), expected, func="kl_divergence", inputs=inputs,
            mistakes=_discrete_mistakes(p, q), reproduce=reproduce, tol=KL_TOL,
        )

    return run


def _bernoulli_mistakes(p: np.ndarray, q: np.ndarray) -> list:
    def stack(x: np.ndarray) -> np.ndarray:
        return np.stack([x, 1.0 - x], axis=-1)

    pp, qq = np.broadcast_arrays(p, q)
    return _discrete_mistakes(stack(pp), stack(qq))


def _check_kl_bernoulli(p: Any, q: Any, label: str, hidden: bool = False) -> Callable:
    p = np.asarray(p, float)
    q = np.asarray(q, float)

    def run(ctx: Context) -> Outcome:
        expected = ref.kl_bernoulli(p, q)
        if hidden:
            inputs, reproduce = f"{label}: p of shape {p.shape}, q of shape {q.shape}", None
        else:
            inputs = f"p = {format_value(p)}, q = {format_value(q)}"
            reproduce = f"kl_bernoulli({array_literal(p)}, {array_literal(q)})"
        return expect_close(
            ctx.call("kl_bernoulli", p, q), expected, func="kl_bernoulli", inputs=inputs,
            mistakes=_bernoulli_mistakes(p, q), reproduce=reproduce, tol=KL_TOL,
        )

    return run


def _check_kl_gaussian(mu1: Any, mu2: Any, sigma: Any, label: str, hidden: bool = False) -> Callable:
    mu1 = np.asarray(mu1, float)
    mu2 = np.asarray(mu2, float)
    sigma_arg = float(sigma) if np.ndim(sigma) == 0 else np.asarray(sigma, float)

    def run(ctx: Context) -> Outcome:
        expected = ref.kl_gaussian(mu1, mu2, sigma_arg)
        squared = np.sum((mu1 - mu2) ** 2, axis=-1)
        s = np.asarray(sigma_arg)
        candidates = [
            (mistake("gaussian_missing_half"), 2.0 * expected),
            (mistake("sigma_not_squared"), squared / (2.0 * s)),
            (mistake("sigma_not_squared"), squared / s),
        ]
        if hidden:
            inputs, reproduce = f"{label}: mu1 {mu1.shape}, mu2 {mu2.shape}, sigma {np.shape(sigma_arg)}", None
        else:
            inputs = f"mu1 = {format_value(mu1)}, mu2 = {format_value(mu2)}, sigma = {format_value(sigma_arg)}"
            sig = repr(sigma_arg) if isinstance(sigma_arg, float) else array_literal(sigma_arg)
            reproduce = f"kl_gaussian({array_literal(mu1)}, {array_literal(mu2)}, {sig})"
        return expect_close(
            ctx.call("kl_gaussian", mu1, mu2, sigma_arg), expected, func="kl_gaussian", inputs=inputs,
            mistakes=candidates, reproduce=reproduce,
        )

    return run


def _policy_kl_mistakes(mdp: Any, policy: Any, theta0: np.ndarray, theta: np.ndarray) -> list:
    pi0, pi = policy.probs(theta0), policy.probs(theta)
    d0 = discounted_state_distribution(mdp, pi0)
    d = discounted_state_distribution(mdp, pi)
    per_state = ref.kl_divergence(pi0, pi)
    with np.errstate(all="ignore"):
        from_probs = float(d0 @ per_state)  # pi_theta underflowing to 0 makes this inf
    underflow = [(mistake("kl_from_underflowing_probs"), from_probs)] if np.isinf(from_probs) else []
    return underflow + [
        (mistake("kl_weighted_by_new_policy"), d0 @ ref.kl_divergence(pi, pi0)),
        (mistake("weighted_by_d_theta"), d @ per_state),
        (mistake("uniform_state_weights"), per_state.mean()),
        (mistake("mu0_state_weights"), mdp.mu0 @ per_state),
        (mistake("missing_one_minus_gamma"), d0 @ per_state / (1.0 - mdp.gamma)),
        (mistake("log_base_2"), d0 @ per_state / np.log(2.0)),
    ]


def _check_policy_kl(build: Callable, label: str, snippet: Any = None,
                     expected: Optional[Callable[[], float]] = None) -> Callable:
    """``expected`` (default: the reference on the same input) gives the value a metamorphic case
    must reproduce, e.g. the KL of the MDP before its states were renamed."""
    def run(ctx: Context) -> Outcome:
        mdp, policy, theta0, theta = build()
        value = ref.policy_kl(mdp, policy, theta0, theta) if expected is None else expected()
        inputs = f"{label}; theta0 = {format_value(theta0)}, theta = {format_value(theta)}"
        return expect_close(
            ctx.call("policy_kl", mdp, policy, theta0, theta), value, func="policy_kl", inputs=inputs,
            mistakes=_policy_kl_mistakes(mdp, policy, theta0, theta),
            reproduce=snippet, tol=KL_TOL,
        )

    return run


def _dirichlet(rng: np.random.Generator, shape: tuple[int, ...], zeros: bool = False) -> np.ndarray:
    x = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    if zeros:
        x = np.where(rng.random(x.shape) < 0.25, 0.0, x)
        x[..., 0] += 1e-3  # every row keeps some mass
        x /= x.sum(axis=-1, keepdims=True)
    return x


def _hidden_batch(rng: np.random.Generator, swap: bool) -> tuple[np.ndarray, np.ndarray]:
    """p of shape (4, 2, 5) with zeros against q of shape (2, 5); ``swap``: q has the extra axis instead
    (broadcasting goes both ways: neither argument is "the batch")."""
    if swap:
        return _dirichlet(rng, (2, 5), zeros=True), _dirichlet(rng, (4, 2, 5))
    return _dirichlet(rng, (4, 2, 5), zeros=True), _dirichlet(rng, (2, 5))


def build(seeds: Seeds) -> list[Check]:
    checks: list[Check] = []
    add = checks.append

    # kl_divergence
    add(Check("kl_divergence", "two distributions", _check_kl_divergence(
        np.array([0.2, 0.5, 0.3]), np.array([0.1, 0.6, 0.3]), "hand-made"), kind="edge"))
    add(Check("kl_divergence", "zeros in p (0 log 0 = 0)", _check_kl_divergence(
        np.array([0.5, 0.0, 0.5]), np.array([0.25, 0.5, 0.25]), "hand-made"), kind="edge"))
    add(Check("kl_divergence", "p = q = 0 in the same entry: that term is 0", _check_kl_divergence(
        np.array([0.5, 0.0, 0.5]), np.array([0.25, 0.0, 0.75]), "hand-made"), kind="edge"))
    add(Check("kl_divergence", "q = 0 where p > 0 gives inf", _check_kl_divergence(
        np.array([0.5, 0.5]), np.array([1.0, 0.0]), "hand-made"), kind="edge"))
    rng = np.random.default_rng(101)
    add(Check("kl_divergence", "a batch of distributions against one q (broadcasting)", _check_kl_divergence(
        _dirichlet(rng, (3, 4)), _dirichlet(rng, (4,)), "random"), kind="random"))
    add(Check("kl_divergence", "one p against a batch of q (broadcasting the other way)", _check_kl_divergence(
        _dirichlet(rng, (4,)), _dirichlet(rng, (3, 4)), "random"), kind="random"))
    add(Check("kl_divergence", "random distributions with zeros, shape (5, 6)", _check_kl_divergence(
        _dirichlet(rng, (5, 6), zeros=True), _dirichlet(rng, (5, 6)), "random"), kind="random"))
    p_zeros, q_full = _dirichlet(rng, (3, 5), zeros=True), _dirichlet(rng, (3, 5))
    perm = rng.permutation(5)
    add(Check("kl_divergence", "outcomes permuted: the same KL (the order of outcomes carries no meaning)",
              _check_kl_divergence(p_zeros[:, perm], q_full[:, perm], "random, outcomes permuted"), kind="random"))
    for i in range(2):
        hrng = np.random.default_rng(seeds.hidden(f"kl_divergence/{i}"))
        add(Check("kl_divergence", f"hidden random batch {i + 1}", _check_kl_divergence(
            *_hidden_batch(hrng, swap=i == 1), "hidden random batch", True),
            kind="hidden"))

    # kl_bernoulli
    add(Check("kl_bernoulli", "a grid of (p, q), as in the lecture's plot", _check_kl_bernoulli(
        np.linspace(0.05, 0.95, 7)[:, None], np.linspace(0.1, 0.9, 5)[None, :], "grid"), kind="random"))
    add(Check("kl_bernoulli", "p = 0 and p = 1 (0 log 0 = 0)", _check_kl_bernoulli(
        [0.0, 1.0, 0.0, 1.0], [0.3, 0.3, 0.9, 0.2], "edges"), kind="edge"))
    add(Check("kl_bernoulli", "q = 0 with p > 0 gives inf", _check_kl_bernoulli(
        [0.3, 0.0], [0.0, 0.0], "edges"), kind="edge"))
    hrng = np.random.default_rng(seeds.hidden("kl_bernoulli/0"))
    add(Check("kl_bernoulli", "hidden random arrays", _check_kl_bernoulli(
        hrng.uniform(0.01, 0.99, (6, 1)), hrng.uniform(0.01, 0.99, (1, 4)), "hidden random", True), kind="hidden"))

    # kl_gaussian
    add(Check("kl_gaussian", "two means, scalar sigma", _check_kl_gaussian(
        [1.0, 0.0, -1.0], [0.5, 0.5, 0.0], 0.5, "hand-made"), kind="edge"))
    rng = np.random.default_rng(102)
    add(Check("kl_gaussian", "a batch of means, sigma = 2", _check_kl_gaussian(
        rng.standard_normal((4, 3)), rng.standard_normal(3), 2.0, "random"), kind="random"))
    add(Check("kl_gaussian", "a batch of one: shape (1,), not a scalar", _check_kl_gaussian(
        [[1.0, -0.5]], [[0.0, 0.5]], 0.8, "hand-made"), kind="edge"))
    add(Check("kl_gaussian", "a sigma per row (broadcasting)", _check_kl_gaussian(
        rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.uniform(0.5, 2.0, 4), "random"),
        kind="random"))
    hrng = np.random.default_rng(seeds.hidden("kl_gaussian/0"))
    add(Check("kl_gaussian", "hidden random batch", _check_kl_gaussian(
        hrng.standard_normal((5, 2)), hrng.standard_normal((5, 2)), float(hrng.uniform(0.3, 3.0)),
        "hidden random", True), kind="hidden"))

    # policy_kl
    def example_case(theta0: float, theta: float, mu0: tuple = (0.5, 0.5)) -> Callable:
        def build_case() -> tuple:
            mdp, policy = cases.example(mu0)
            return mdp, policy, np.array([theta0]), np.array([theta])

        return build_case

    add(Check("policy_kl", "lecture example, theta0 = 0, theta = 1 (0.01009366)", _check_policy_kl(
        example_case(0.0, 1.0), "the lecture's example MDP",
        cases.EXAMPLE_SNIPPET + "policy_kl(mdp, policy, np.array([0.0]), np.array([1.0]))"), kind="example"))
    add(Check("policy_kl", "lecture example, theta0 = 1.5, theta = -2", _check_policy_kl(
        example_case(1.5, -2.0), "the lecture's example MDP",
        cases.EXAMPLE_SNIPPET + "policy_kl(mdp, policy, np.array([1.5]), np.array([-2.0]))"), kind="example"))
    add(Check("policy_kl", "lecture example with mu0 = (1, 0): state 1 unreachable, d_KL = 0", _check_policy_kl(
        example_case(0.0, 3.0, (1.0, 0.0)), "the lecture's example MDP with mu0 = (1, 0)",
        "mdp, policy = example_mdp(mu0=(1.0, 0.0))\npolicy_kl(mdp, policy, np.array([0.0]), np.array([3.0]))"),
        kind="edge"))

    def unreachable_case() -> tuple:
        mdp, policy, theta = cases.unreachable_mdp()
        return mdp, policy, theta, theta + np.array([1.0, -2.0, 0.5])

    add(Check("policy_kl", "an unreachable state and a masked action", _check_policy_kl(
        unreachable_case, "3 states, state 2 unreachable (d(2) = 0), action 1 masked in state 0",
        cases.literal_snippet(cases.unreachable_mdp, "theta2 = theta + np.array([1.0, -2.0, 0.5])\n"
                                                     "policy_kl(mdp, policy, theta, theta2)")), kind="edge"))
    for name, case in (
        ("random MDP with features", cases.MDPCase(201, 4, 3, num_features=5)),
        ("random tabular MDP", cases.MDPCase(202, 3, 3)),
        ("hidden random MDP with features", cases.MDPCase(seeds.hidden("policy_kl/0"), 5, 3, 4, hidden=True)),
        ("hidden random tabular MDP", cases.MDPCase(seeds.hidden("policy_kl/1"), 4, 2, hidden=True)),
    ):
        def random_case(case: cases.MDPCase = case) -> tuple:
            mdp, policy, theta0 = case.build()
            return mdp, policy, theta0, case.second_theta()

        snippet = case.snippet(
            f"theta2 = theta + 0.5 * np.random.default_rng({case.seed + 1}).standard_normal(policy.num_features)\n"
            "policy_kl(mdp, policy, theta, theta2)"
        )
        add(Check("policy_kl", name, _check_policy_kl(random_case, case.describe(), snippet),
                  kind="hidden" if case.hidden else "random"))

    relabel = cases.MDPCase(204, 4, 3, num_features=4)
    renamed = cases.relabelled(relabel.build, 205)

    def renamed_case() -> tuple:
        mdp, policy, theta0 = renamed()
        return mdp, policy, theta0, relabel.second_theta()

    def original_value() -> float:
        mdp, policy, theta0 = relabel.build()
        return float(ref.policy_kl(mdp, policy, theta0, relabel.second_theta()))

    add(Check("policy_kl", "states and actions renamed: the same value", _check_policy_kl(
        renamed_case, relabel.describe() + ", states and actions renamed by permutations",
        cases.literal_snippet(renamed, f"theta2 = {cases.array_literal(relabel.second_theta())}\n"
                                       "policy_kl(mdp, policy, theta, theta2)"), expected=original_value),
        kind="random"))
    sharp = cases.MDPCase(203, 3, 3, num_features=4, theta_scale=1000.0)

    def sharp_case() -> tuple:
        mdp, policy, theta0 = sharp.build()
        return mdp, policy, theta0, sharp.second_theta()

    add(Check("policy_kl", "near-deterministic policies (|theta| ~ 1000): no overflow", _check_policy_kl(
        sharp_case, sharp.describe() + ", theta of size ~1000", sharp.snippet(
            f"theta2 = theta + 0.5 * np.random.default_rng({sharp.seed + 1}).standard_normal(policy.num_features)\n"
            "policy_kl(mdp, policy, theta, theta2)")), kind="edge"))

    def far_case() -> tuple:
        mdp, policy, theta0 = sharp.build()
        return mdp, policy, theta0, -theta0

    add(Check("policy_kl", "near-deterministic policies far apart: probabilities underflow, the KL is finite",
              _check_policy_kl(far_case, sharp.describe() + ", theta of size ~1000, theta2 = -theta", sharp.snippet(
                  "policy_kl(mdp, policy, theta, -theta)")), kind="edge"))
    return checks
