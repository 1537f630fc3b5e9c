"""Checks of ``utils.py``: the softmax, the policy, its score, the Fisher matrix, the value gradient, eta.

Each function is graded alone, on inputs CartPole itself never produces (docs/cartpole-design.md
section 1): multi-row logits for the softmax's axis, logits near +-1000, |A| = 3, trajectories of
1 to 200 steps with a short one carrying large scores, non-constant rewards, a ridge other than
1e-3, a Fisher matrix far from the identity. Expected values come from the reference
(``solutions/cartpole/utils.py``) on the same inputs; wrong values are matched against what the
catalogued mistakes give.

Tolerance: rtol 1e-5 and an atol of 1e-6 of the largest expected entry (``matrix_tolerance``, as
the tabular suite; for the score, of the largest feature, since phi(s, a) - E[phi] cancels): a
correct float32 implementation differs by a few float32 ulps (6e-8) of those, every catalogued
mistake by a factor or a whole term (measured: a float32 version of every function passes the
public cases and 30 ids of hidden cases). ``compute_eta`` is graded
only where g^T F^{-1} g >= 1: there the guard written 1e-5 instead of 1e-6 changes eta by less
than 4.5e-6 relative, inside rtol 1e-5, so it costs nothing (it is harmless on the assignment's
own data, where g^T F^{-1} g is large); for a tiny g the guard dominates and the two differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from solutions.cartpole import utils as ref

from ...engine.compare import call_failure, expect_close, format_value, matrix_tolerance
from ...engine.suite import Check, Context, Outcome, Seeds
from .cases import NUM_FEATURES, StandInSpec, Trajectories, array_literal, random_lengths
from .features import extract_features
from .mistakes import mistake

Make = Callable[[], tuple]


@dataclass(frozen=True)
class Case:
    """One call: ``make() -> args``; ``describe`` names the input for the feedback; ``snippet`` rebuilds
    it in a notebook (None for a hidden case)."""

    make: Make
    describe: str
    snippet: Optional[str]


def _value_check(part: str, case: Case, candidates: Callable[..., list]) -> Callable[[Context], Outcome]:
    """Compare the student's ``part(*args)`` with the reference's, naming a matching mistake.

    A part that builds on another (the distribution on softmax, the score on the distribution) runs
    with that function replaced by a stand-in holding the reference's value for the input a correct
    implementation passes (:func:`_stand_ins`): a wrong softmax costs points in its own part only,
    and no dependency, however wrong or however it changes between calls, earns the other's points.
    """
    def run(ctx: Context) -> Outcome:
        args = case.make()
        expected = np.asarray(getattr(ref, part)(*args), dtype=float)
        call = f"{part}({', '.join(_ARG_NAMES[part][:len(args)])})"
        # a score phi(s, a) - E[phi] cancels: its float32 error is relative to the features, not to itself
        tol = matrix_tolerance(np.abs(args[1]) if part == "compute_log_softmax_grad" else expected)
        result = ctx.call(part, *args, patch=_stand_ins(part, args))
        return expect_close(
            result, expected, func=part, inputs=case.describe, tol=tol,
            mistakes=candidates(*args), reproduce=None if case.snippet is None else f"{case.snippet}\n{call}",
        )

    return run


def _stand_ins(part: str, args: tuple) -> Optional[dict]:
    """The stand-in for the function ``part`` builds on, with the reference's value at the input a correct
    ``part`` passes it (any other input goes to the student's own function)."""
    if part == "compute_action_distribution":
        theta, phis = args
        logits = theta.T @ phis
        return {"compute_softmax": StandInSpec(("logits", "axis"), [
            ({"logits": [logits], "axis": [1, -1]}, ref.compute_softmax(logits, 1))])}
    if part == "compute_log_softmax_grad":
        theta, phis = args[:2]
        return {"compute_action_distribution": StandInSpec(("theta", "phis"), [
            ({"theta": [theta], "phis": [phis]}, ref.compute_action_distribution(theta, phis))])}
    return None


_ARG_NAMES = {
    "compute_softmax": ("logits", "axis"),
    "compute_action_distribution": ("theta", "phis"),
    "compute_log_softmax_grad": ("theta", "phis", "action_idx"),
    "compute_fisher_matrix": ("grads", "lamb"),
    "compute_value_gradient": ("grads", "rewards"),
    "compute_eta": ("delta", "fisher", "v_grad"),
}


# ----------------------------------------------------------------------------------------------
# compute_softmax
# ----------------------------------------------------------------------------------------------
def _softmax_unshifted(z: np.ndarray, axis: int) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(z)
        return e / np.sum(e, axis=axis, keepdims=True)


def _softmax_mistakes(logits: np.ndarray, axis: int) -> list:
    z = np.asarray(logits, dtype=float)
    out = [(mistake("softmax_no_max_shift"), _softmax_unshifted(z, axis))]
    if z.shape[0] == 1:  # max(z) and sum(e) of a one-row array return the row: exp(0) / exp(0)
        out.append((mistake("softmax_builtin_max"), np.ones_like(z)))
    if z.ndim == 2:
        other = 1 - (axis % 2)
        out.append((mistake("softmax_ignores_axis"), ref.compute_softmax(z, other)))
    return out


def _logits_case(logits: np.ndarray, axis: int, what: str) -> Case:
    z = np.asarray(logits, dtype=float)
    return Case(lambda: (z.copy(), axis), f"{what}: logits = {format_value(z)}, axis = {axis}",
                f"logits = {array_literal(z)}\naxis = {axis}")


def _random_logits_case(seed: int, shape: tuple[int, int], scale: float, axis: int, hidden: bool) -> Case:
    def make() -> tuple:
        return np.random.default_rng(seed).uniform(-scale, scale, size=shape), axis

    if hidden:
        return Case(make, f"a hidden case: logits of shape {shape} in [-{scale:g}, {scale:g}), axis = {axis}", None)
    return Case(make, f"logits of shape {shape} drawn uniformly in [-{scale:g}, {scale:g}) (seed {seed}), "
                      f"axis = {axis}",
                f"logits = np.random.default_rng({seed}).uniform(-{scale!r}, {scale!r}, size={shape})\naxis = {axis}")


def _softmax_checks(seeds: Seeds) -> list[Check]:
    part = "compute_softmax"
    checks = [
        Check(part, "one row of logits, axis = 1", _value_check(part, _logits_case(
            np.array([[0.5, -1.0, 2.0]]), 1, "one state, 3 actions"), _softmax_mistakes), kind="edge"),
        Check(part, "4 x 5 logits over axis 0 (one distribution per column)", _value_check(part, _random_logits_case(
            Seeds.public("softmax/columns") % 2**32, (4, 5), 20.0, 0, False), _softmax_mistakes), kind="random"),
        Check(part, "3 x 4 logits over axis 1 (one distribution per row)", _value_check(part, _random_logits_case(
            Seeds.public("softmax/rows") % 2**32, (3, 4), 20.0, 1, False), _softmax_mistakes), kind="random"),
        Check(part, "logits near +-1000 (no overflow)", _value_check(part, _logits_case(
            np.array([[1000.0, 999.0, -1000.0]]), 1, "one row"), _softmax_mistakes), kind="edge"),
        Check(part, "logits near +-1000 over axis 0", _value_check(part, _logits_case(
            np.array([[1000.0, -1000.0], [1001.0, -1002.0]]), 0, "two columns"), _softmax_mistakes), kind="edge"),
        Check(part, "a single logit (1 x 1)", _value_check(part, _logits_case(
            np.array([[3.7]]), 1, "one state, one action"), _softmax_mistakes), kind="edge", weight=0.5),
    ]
    for i, (scale, axis) in enumerate(((30.0, 0), (900.0, 1))):
        rng = np.random.default_rng(seeds.hidden(f"softmax/{i}"))
        shape = (int(rng.integers(2, 7)), int(rng.integers(2, 7)))
        checks.append(Check(part, f"hidden random logits {i + 1}", _value_check(part, _random_logits_case(
            int(rng.integers(2**32)), shape, scale, axis, True), _softmax_mistakes), kind="hidden"))
    return checks


# ----------------------------------------------------------------------------------------------
# compute_action_distribution and compute_log_softmax_grad
# ----------------------------------------------------------------------------------------------
def _distribution_mistakes(theta: np.ndarray, phis: np.ndarray) -> list:
    logits = theta.T @ phis
    return [
        (mistake("action_distribution_wrong_axis"), np.ones_like(logits)),
        (mistake("softmax_no_max_shift"), _softmax_unshifted(logits, 1)),
    ]


def _policy_case(seed: int, d: int, num_actions: int, hidden: bool = False, features: bool = False,
                 theta_scale: float = 1.0) -> Case:
    """theta ~ theta_scale N(0, I) (or U[0, 1) like train's start with ``features``) and phis from one seed:
    N(0, I) entries, or ``extract_features`` of a random state of 4 numbers."""
    def make() -> tuple:
        rng = np.random.default_rng(seed)
        if features:
            theta = theta_scale * rng.random((NUM_FEATURES, 1))
            return theta, extract_features(rng.normal(size=4), num_actions)
        return theta_scale * rng.standard_normal((d, 1)), rng.standard_normal((d, num_actions))

    dim = NUM_FEATURES if features else d
    kind = "features of a random state" if features else "N(0, 1) entries"
    shape = f"theta of shape ({dim}, 1), phis of shape ({dim}, {num_actions}) ({kind})"
    if hidden:
        return Case(make, f"a hidden case: {shape}", None)
    scale = "" if theta_scale == 1.0 else f"{theta_scale!r} * "
    if features:
        lines = [f"rng = np.random.default_rng({seed})", f"theta = {scale}rng.random(({NUM_FEATURES}, 1))",
                 f"phis = extract_features(rng.normal(size=4), {num_actions})"]
    else:
        lines = [f"rng = np.random.default_rng({seed})", f"theta = {scale}rng.standard_normal(({d}, 1))",
                 f"phis = rng.standard_normal(({d}, {num_actions}))"]
    return Case(make, f"seed {seed}: {shape}", "\n".join(lines))


def _literal_policy_case(theta: np.ndarray, phis: np.ndarray, what: str) -> Case:
    return Case(lambda: (theta.copy(), phis.copy()),
                f"{what}: theta = {format_value(theta)}, phis = {format_value(phis)}",
                f"theta = {array_literal(theta)}\nphis = {array_literal(phis)}")


def _distribution_checks(seeds: Seeds) -> list[Check]:
    part = "compute_action_distribution"
    p = Seeds.public
    checks = [
        Check(part, "2 actions, d = 7", _value_check(part, _policy_case(
            p("distribution/2") % 2**32, 7, 2), _distribution_mistakes), kind="random"),
        Check(part, "2 actions, CartPole's features (d = 100)", _value_check(part, _policy_case(
            p("distribution/features") % 2**32, 0, 2, features=True), _distribution_mistakes), kind="random"),
        Check(part, "3 actions, d = 5", _value_check(part, _policy_case(
            p("distribution/3") % 2**32, 5, 3), _distribution_mistakes), kind="random"),
        Check(part, "logits near 1000 (no overflow)", _value_check(part, _literal_policy_case(
            np.array([[1000.0]]), np.array([[1.0, 0.9995]]), "theta^T phis = [1000, 999.5]"),
            _distribution_mistakes), kind="edge"),
    ]
    for i in range(2):
        seed = seeds.hidden(f"distribution/{i}") % 2**32
        checks.append(Check(part, f"hidden case {i + 1}: 2 actions, CartPole's features", _value_check(
            part, _policy_case(seed, 0, 2, hidden=True, features=True, theta_scale=4.0 * (i + 1)),
            _distribution_mistakes), kind="hidden"))
    return checks


def _score_mistakes(theta: np.ndarray, phis: np.ndarray, action: int) -> list:
    score = ref.compute_log_softmax_grad(theta, phis, action)
    return [
        (mistake("score_without_expectation"), phis[:, [action]]),
        (mistake("score_sign_flipped"), -score),
        (mistake("score_uniform_expectation"), phis[:, [action]] - phis.mean(axis=1, keepdims=True)),
    ]


def _with_action(case: Case, action: int) -> Case:
    return Case(lambda: (*case.make(), action), f"{case.describe}, action_idx = {action}",
                None if case.snippet is None else f"{case.snippet}\naction_idx = {action}")


def _every_action_check(case: Case, num_actions: int) -> Callable[[Context], Outcome]:
    """The score of every action of one state: each must be right (|A| = 3 shows a 2-action shortcut)."""
    checks = [_value_check("compute_log_softmax_grad", _with_action(case, a), _score_mistakes)
              for a in range(num_actions)]

    def run(ctx: Context) -> Outcome:
        for check in checks:
            outcome = check(ctx)
            if not outcome.passed:
                return outcome
        return Outcome(True)

    return run


def _score_checks(seeds: Seeds) -> list[Check]:
    part = "compute_log_softmax_grad"
    p = Seeds.public
    sharp_theta = np.array([[10.0], [-4.0]])
    sharp_phis = np.array([[60.0, -40.0], [5.0, 3.0]])  # logits 580 and -412: pi = (1, e^-992)
    checks = [
        Check(part, "2 actions, d = 6, action 0", _value_check(part, _with_action(_policy_case(
            p("score/a0") % 2**32, 6, 2), 0), _score_mistakes), kind="random"),
        Check(part, "2 actions, d = 6, action 1", _value_check(part, _with_action(_policy_case(
            p("score/a1") % 2**32, 6, 2), 1), _score_mistakes), kind="random"),
        Check(part, "2 actions, CartPole's features (d = 100)", _value_check(part, _with_action(_policy_case(
            p("score/features") % 2**32, 0, 2, features=True), 1), _score_mistakes), kind="random"),
        Check(part, "3 actions, every action", _every_action_check(_policy_case(
            p("score/3") % 2**32, 5, 3), 3), kind="random", weight=1.5),
        Check(part, "a near-deterministic policy (logits 580 and -412)", _value_check(part, _with_action(
            _literal_policy_case(sharp_theta, sharp_phis, "d = 2, 2 actions"), 1), _score_mistakes), kind="edge"),
    ]
    for i in range(2):
        rng = np.random.default_rng(seeds.hidden(f"score/{i}"))
        case = _policy_case(int(rng.integers(2**32)), 0, 2, hidden=True, features=True, theta_scale=3.0)
        checks.append(Check(part, f"hidden case {i + 1}: 2 actions, CartPole's features", _value_check(
            part, _with_action(case, int(rng.integers(2))), _score_mistakes), kind="hidden"))
    return checks


# ----------------------------------------------------------------------------------------------
# compute_fisher_matrix, compute_value_gradient
# ----------------------------------------------------------------------------------------------
def _stack(grads: list) -> list[np.ndarray]:
    return [np.asarray(t, dtype=float).reshape(len(t), -1) for t in grads]


def _fisher_mistakes(grads: list, lamb: float) -> list:
    G = _stack(grads)
    d = G[0].shape[1]
    per_trajectory = [g.T @ g / len(g) for g in G]
    all_steps = np.concatenate(G)
    eye = np.eye(d)
    mean = np.mean(per_trajectory, axis=0)
    return [
        (mistake("fisher_per_step"), all_steps.T @ all_steps / len(all_steps) + lamb * eye),
        (mistake("fisher_ignores_lamb"), mean + 1e-3 * eye),
        (mistake("fisher_ignores_lamb"), mean),
        (mistake("fisher_no_mean_over_trajectories"), np.sum(per_trajectory, axis=0) + lamb * eye),
        (mistake("fisher_no_horizon"), np.mean([g.T @ g for g in G], axis=0) + lamb * eye),
    ]


def _trajectory_case(t: Trajectories, extra: tuple = (), extra_text: str = "", with_rewards: bool = False) -> Case:
    def make() -> tuple:
        grads, rewards = t.build()
        return (grads, rewards) if with_rewards else (grads, *extra)

    snippet = t.snippet()
    if snippet is not None and extra_text:
        snippet += "\n" + extra_text
    values = ", ".join(extra_text.splitlines())
    return Case(make, t.describe() + (f"; {values}" if values else ""), snippet)


def _fisher_checks(seeds: Seeds) -> list[Check]:
    part = "compute_fisher_matrix"
    p = Seeds.public
    one_step = np.array([[1.0], [2.0], [-1.0]])
    literal = Case(lambda: ([[one_step.copy()]], 1e-3), f"one trajectory of one step, g = {format_value(one_step)}; "
                   "lamb = 0.001", f"grads = [[{array_literal(one_step)}]]\nlamb = 0.001")
    checks = [
        Check(part, "one trajectory of one step", _value_check(part, literal, _fisher_mistakes), kind="edge",
              weight=0.5),
        Check(part, "trajectories of lengths 1, 3 and 200, the short one with large scores", _value_check(
            part, _trajectory_case(Trajectories(p("fisher/unequal") % 2**32, (1, 3, 200), 6, boost=10.0), (1e-3,),
                                   "lamb = 0.001"), _fisher_mistakes), kind="random", weight=1.5),
        Check(part, "lamb = 0.25 (the ridge you are given)", _value_check(
            part, _trajectory_case(Trajectories(p("fisher/lamb") % 2**32, (4, 9), 5), (0.25,), "lamb = 0.25"),
            _fisher_mistakes), kind="random"),
        Check(part, "d = 100 as in CartPole", _value_check(
            part, _trajectory_case(Trajectories(p("fisher/d100") % 2**32, (2, 50, 17), NUM_FEATURES, scale=0.1),
                                   (1e-3,), "lamb = 0.001"), _fisher_mistakes), kind="random"),
    ]
    for i, d in enumerate((8, NUM_FEATURES)):
        rng = np.random.default_rng(seeds.hidden(f"fisher/{i}"))
        t = Trajectories(int(rng.integers(2**32)), random_lengths(rng, int(rng.integers(3, 6))), d,
                         boost=5.0, scale=0.3, hidden=True)
        lamb = float(rng.uniform(0.01, 1.0))
        checks.append(Check(part, f"hidden case {i + 1}", _value_check(
            part, _trajectory_case(t, (lamb,), f"lamb = {lamb:.4g}"), _fisher_mistakes), kind="hidden"))
    return checks


def _value_gradient_mistakes(grads: list, rewards: list) -> list:
    G = _stack(grads)
    R = [np.asarray(r, dtype=float) for r in rewards]
    b = np.mean([r.sum() for r in R])

    def combine(weights: list[np.ndarray], per_trajectory: bool = True, baseline: float = b) -> np.ndarray:
        terms = [g.T @ (w - baseline) for g, w in zip(G, weights)]
        if per_trajectory:
            return np.mean([t / len(g) for t, g in zip(terms, G)], axis=0)
        return np.sum(terms, axis=0) / sum(len(g) for g in G)

    to_go = [np.cumsum(r[::-1])[::-1] for r in R]
    candidates = [
        (mistake("value_gradient_no_horizon"), np.mean([g.T @ (w - b) for g, w in zip(G, to_go)], axis=0)),
        (mistake("value_gradient_total_return"), combine([np.full(len(r), r.sum()) for r in R])),
        (mistake("value_gradient_no_baseline"), combine(to_go, baseline=0.0)),
        (mistake("value_gradient_future_only"), combine([w - r for w, r in zip(to_go, R)])),
        (mistake("value_gradient_per_step_mean"), combine(to_go, per_trajectory=False)),
    ]
    return [(m, value.reshape(-1, 1)) for m, value in candidates]  # (d, 1), as the gradient


def _value_gradient_checks(seeds: Seeds) -> list[Check]:
    part = "compute_value_gradient"
    p = Seeds.public
    g1, g2 = np.array([[1.0], [0.0], [2.0]]), np.array([[0.0], [1.0], [-1.0]])
    literal = Case(lambda: ([[g1.copy()], [g2.copy()]], [[2.0], [-1.0]]),
                   f"two trajectories of one step, scores {format_value(g1)} and {format_value(g2)}, rewards 2 and -1",
                   f"grads = [[{array_literal(g1)}], [{array_literal(g2)}]]\nrewards = [[2.0], [-1.0]]")
    checks = [
        Check(part, "two trajectories of one step", _value_check(part, literal, _value_gradient_mistakes),
              kind="edge", weight=0.5),
        Check(part, "lengths 1, 50 and 7, non-constant rewards", _value_check(part, _trajectory_case(
            Trajectories(p("value/horizon") % 2**32, (1, 50, 7), 5), with_rewards=True), _value_gradient_mistakes),
            kind="random", weight=1.5),
        Check(part, "lengths 4, 30 and 9 (reward-to-go)", _value_check(part, _trajectory_case(
            Trajectories(p("value/to-go") % 2**32, (4, 30, 9), 5), with_rewards=True), _value_gradient_mistakes),
            kind="random"),
        Check(part, "d = 100 as in CartPole, lengths 3, 120 and 40", _value_check(part, _trajectory_case(
            Trajectories(p("value/d100") % 2**32, (3, 120, 40), NUM_FEATURES, scale=0.1, low=0.0, high=1.5),
            with_rewards=True), _value_gradient_mistakes), kind="random"),
    ]
    for i, d in enumerate((6, NUM_FEATURES)):
        rng = np.random.default_rng(seeds.hidden(f"value/{i}"))
        t = Trajectories(int(rng.integers(2**32)), random_lengths(rng, int(rng.integers(3, 6))), d, hidden=True)
        checks.append(Check(part, f"hidden case {i + 1}", _value_check(
            part, _trajectory_case(t, with_rewards=True), _value_gradient_mistakes), kind="hidden"))
    return checks


# ----------------------------------------------------------------------------------------------
# compute_eta
# ----------------------------------------------------------------------------------------------
def _eta_mistakes(delta: float, fisher: np.ndarray, g: np.ndarray) -> list:
    solved = np.linalg.solve(fisher, g)
    q = (g.T @ solved).item()
    eps = ref.ETA_EPSILON
    return [
        (mistake("eta_fisher_not_inverse"), np.sqrt(delta / ((g.T @ fisher @ g).item() + eps))),
        (mistake("eta_missing_sqrt"), delta / (q + eps)),
        (mistake("eta_plain_norm"), np.sqrt(delta / ((g.T @ g).item() + eps))),
        (mistake("eta_two_delta"), np.sqrt(2.0 * delta / (q + eps))),
    ]


def _fisher_like_case(seed: int, d: int, samples: int, lamb: float, delta: float, hidden: bool) -> Case:
    """F = A A^T / n + lamb I with A of shape (d, n) ~ N(0, 0.3^2), g ~ N(0, I): F far from I, and
    g^T F^{-1} g >= d / (0.09 d + lamb) > 1 in expectation by far (checked in the tests)."""
    def make() -> tuple:
        rng = np.random.default_rng(seed)
        A = 0.3 * rng.standard_normal((d, samples))
        return delta, A @ A.T / samples + lamb * np.eye(d), rng.standard_normal((d, 1))

    shape = f"fisher of shape ({d}, {d}) = A A^T / {samples} + {lamb:g} I, v_grad of shape ({d}, 1), delta = {delta:g}"
    if hidden:
        return Case(make, f"a hidden case: {shape}", None)
    return Case(make, f"seed {seed}: {shape}", "\n".join([
        f"rng = np.random.default_rng({seed})", f"A = 0.3 * rng.standard_normal(({d}, {samples}))",
        f"delta = {delta!r}", f"fisher = A @ A.T / {samples} + {lamb!r} * np.eye({d})",
        f"v_grad = rng.standard_normal(({d}, 1))"]))


def _eta_zero_gradient(ctx: Context) -> Outcome:
    """compute_eta(0.01, diag(0.5, 4), 0): g^T F^{-1} g = 0, so only the guard keeps eta finite. Any guard
    eps > 0 passes (eta = sqrt(0.01 / eps) > 0 and finite); the value cases keep g^T F^{-1} g >= 1."""
    inputs = "delta = 0.01, fisher = [[0.5, 0], [0, 4]], v_grad = [[0], [0]] (g^T F^-1 g = 0)"
    result = ctx.call("compute_eta", 0.01, np.diag([0.5, 4.0]), np.zeros((2, 1)))
    m = mistake("eta_no_guard")
    hint = f"\nInput: {inputs}\nLikely mistake: {m.title}. {m.hint}"
    if not result.ok:
        if result.kind == "exception" and "ZeroDivision" in (result.error or ""):
            return Outcome(False, "Your compute_eta divided by zero." + hint, m.key)
        return call_failure(result, "compute_eta", inputs, reproduce="delta = 0.01\nfisher = np.diag([0.5, 4.0])\n"
                            "v_grad = np.zeros((2, 1))\ncompute_eta(delta, fisher, v_grad)")
    try:
        eta = float(np.asarray(result.value, dtype=float).reshape(()))
    except (TypeError, ValueError, OverflowError):
        return Outcome(False, f"Your compute_eta returned {format_value(result.value)}; expected a number or a "
                       f"1 x 1 array.\nInput: {inputs}")
    if np.isfinite(eta) and eta > 0:
        return Outcome(True)
    return Outcome(False, f"Your compute_eta returned {eta!r} for v_grad = 0; expected a finite eta > 0 "
                   "(sqrt(delta / 1e-6) = 100 with the handout's guard)." + hint, m.key)


def _eta_checks(seeds: Seeds) -> list[Check]:
    part = "compute_eta"
    p = Seeds.public
    F, g = np.diag([0.5, 4.0]), np.array([[1.0], [2.0]])
    literal = Case(lambda: (0.01, F.copy(), g.copy()),
                   f"delta = 0.01, fisher = {format_value(F)}, v_grad = {format_value(g)} "
                   "(g^T F^-1 g = 3, g^T F g = 16.5)",
                   f"delta = 0.01\nfisher = {array_literal(F)}\nv_grad = {array_literal(g)}")
    checks = [
        Check(part, "a diagonal Fisher far from the identity", _value_check(part, literal, _eta_mistakes), kind="edge"),
        Check(part, "d = 6, a full Fisher", _value_check(part, _fisher_like_case(
            p("eta/6") % 2**32, 6, 10, 0.1, 0.05, False), _eta_mistakes), kind="random"),
        Check(part, "d = 100 as in CartPole, lamb = 0.001", _value_check(part, _fisher_like_case(
            p("eta/100") % 2**32, NUM_FEATURES, 30, 1e-3, 0.01, False), _eta_mistakes), kind="random"),
    ]
    checks.append(Check(part, "v_grad = 0: eta is finite (the guard in the denominator)", _eta_zero_gradient,
                        kind="edge"))
    for i, (d, n, lamb) in enumerate(((7, 4, 0.05), (NUM_FEATURES, 40, 1e-3))):
        rng = np.random.default_rng(seeds.hidden(f"eta/{i}"))
        delta = float(rng.uniform(0.005, 0.1))
        checks.append(Check(part, f"hidden case {i + 1}", _value_check(part, _fisher_like_case(
            int(rng.integers(2**32)), d, n, lamb, delta, True), _eta_mistakes), kind="hidden"))
    return checks


def build(seeds: Seeds) -> list[Check]:
    """The checks of the six functions of ``utils.py`` (public and hidden cases)."""
    return (_softmax_checks(seeds) + _distribution_checks(seeds) + _score_checks(seeds) + _fisher_checks(seeds)
            + _value_gradient_checks(seeds) + _eta_checks(seeds))

