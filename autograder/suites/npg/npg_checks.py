"""Checks of the NPG part: the sampler, the NPG direction, the trust-region step, CG, and the loop.

Where F is singular (tabular softmax) a direction is graded by what the maths defines: the same
``F v`` and the same ``g . v`` as the reference (any solution of ``F v = g`` projected the same
way passes, minimum-norm or not). NPG trajectories are graded by their policies on reachable
states and their objectives, not by theta. The sampler is graded by a G-test against the exact
``d^theta(s) pi_theta(a|s)`` with a false-failure probability of 1e-6.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from solutions import npg as ref
from solutions.fisher import fisher_information
from solutions.mdp import TabularMDP, discounted_state_distribution, objective, policy_gradient

from ...engine.compare import Tolerance, call_failure, diagnose, format_value, mismatch, numeric_value
from ...engine.memo import RememberedModule, remember
from ...engine.sandbox import FVP, RNG
from ...engine.stats import DIAGNOSIS_P_VALUE, FALSE_FAILURE, g_test, joint_counts, scale_of
from ...engine.suite import Check, Context, Outcome, Seeds
from . import cases
from .mistakes import mistake

# The reference values of public cases are computed once per process (batch workers grade many
# submissions; hidden cases differ in each): engine.memo.
ref = RememberedModule(ref)
fisher_information = remember(fisher_information)
discounted_state_distribution = remember(discounted_state_distribution)
objective = remember(objective)
policy_gradient = remember(policy_gradient)

Builder = Callable[[], tuple]
# NPG trajectories compound round-off over the iterations, and near-deterministic iterates make F
# ill-conditioned: a correct float32 implementation drifts up to ~3e-4 in pi_theta_t and J(theta_t)
# over 5-10 iterations (measured over 300 hidden-case identities; the former rtol 1e-5 / atol 1e-7
# failed it on every case with features). The catalogued mistakes (F once, TRPO's 2 delta, no
# square root, Euclidean norm, plain gradient) move the policies by > 1e-2 within a few iterations.
NPG_TOL = Tolerance(rtol=1e-3, atol=5e-4)
# Relative backward error allowed in a direction or a step: the answer must be the exact one for a
# Fisher matrix within ETA ||F|| of the given one. Single precision gives ~1e-7 (k-term sums of
# float32 entries, eps = 6e-8); 1e-5 keeps a margin of ~100 and is independent of the machine (IEEE
# arithmetic). Every catalogued mistake has a backward error or a constraint error of order 1.
ETA = 1e-5
# The same for the steps of an NPG trajectory, where the submission computes F and g itself, in its
# own precision: at near-deterministic iterates psi = phi - E[phi] cancels, and a correct float32 F is
# off by up to ~4e-4 of ||F|| (measured: D^T F D = 1.00036 delta on a hidden case of the catalogue's
# float32 submission). 1e-3 matches the 1e-3 the former end-to-end comparison allowed; the
# catalogued loop mistakes are still far outside it (TRPO's 2 delta and a missing square root change
# D^T F D by a factor, F computed once leaves a backward error of ||F_t - F_0|| / ||F|| >= 1e-2).
STEP_ETA = 1e-3
# Unit round-off of single precision: a trajectory stored in float32 rounds each theta_t by up to
# this much relative to |theta_t|, so a step read as theta_{t+1} - theta_t carries that error.
FLOAT32_EPS = float(np.finfo(np.float32).eps)
SAMPLES = 40_000


# ----------------------------------------------------------------------------------------------
# sample_state_actions
# ----------------------------------------------------------------------------------------------
def _discounted(mdp: Any, P_pi: np.ndarray, discount: float) -> np.ndarray:
    """``(1 - discount) sum_t discount^t mu_t``: the state at a Geometric(1 - discount) stopping time."""
    S = mdp.num_states
    d = np.linalg.solve(np.eye(S) - discount * P_pi.T, (1.0 - discount) * mdp.mu0)
    d = np.clip(d, 0.0, None)
    return d / d.sum()


def _sampler_alternatives(mdp: Any, policy: Any, theta: np.ndarray) -> list:
    """What classic wrong samplers draw, as (mistake, probabilities of (s, a)).

    Horizons: 1 / (1 - gamma) (the "effective horizon" students reach for), its double, and
    long ones (20, 50, 100 steps: the last state of a long rollout is close to stationary).
    """
    pi = policy.probs(theta)
    d = discounted_state_distribution(mdp, pi)
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)
    effective = max(1, int(round(1.0 / (1.0 - mdp.gamma))))
    horizons = sorted({effective, 2 * effective, 20, 50, 100})
    rows = [mdp.mu0]  # mu_t, the state distribution at step t
    for _ in range(max(horizons)):
        rows.append(rows[-1] @ P_pi)
    uniform_actions = policy.mask / policy.mask.sum(axis=1, keepdims=True)
    states = [
        (mistake("sampler_t_starts_at_1"), d @ P_pi),
        (mistake("sampler_mu0_only"), mdp.mu0),
    ]
    states += [(mistake("sampler_no_discount"), rows[h]) for h in horizons]  # fixed horizon h
    states += [(mistake("sampler_no_discount"), np.mean(rows[:h], axis=0)) for h in horizons]  # t ~ U{0..h-1}
    states += [(mistake("sampler_no_discount"), np.mean(rows[:h + 1], axis=0)) for h in horizons]  # t ~ U{0..h}
    if 0.0 < mdp.gamma < 1.0:  # T ~ Geometric(gamma) instead of Geometric(1 - gamma), on {0, ..} or {1, ..}
        swapped = _discounted(mdp, P_pi, 1.0 - mdp.gamma)
        states += [(mistake("sampler_wrong_horizon"), swapped), (mistake("sampler_wrong_horizon"), swapped @ P_pi)]
    for other in (0.5, 0.8, 0.9, 0.95, 0.99):  # a discount of its own (a notebook global, a default)
        if abs(other - mdp.gamma) > 1e-9:
            states.append((mistake("sampler_other_gamma"), _discounted(mdp, P_pi, other)))
    out = [(m, s[:, None] * pi) for m, s in states]
    out.append((mistake("sampler_uniform_actions"), d[:, None] * uniform_actions))
    return out


def _likeliest(counts: np.ndarray, alternatives: list, threshold: float = DIAGNOSIS_P_VALUE) -> Any:
    """The alternative the counts fit best (largest G-test p-value), if its p-value exceeds ``threshold``.

    Taking the best fit rather than the first acceptable one matters when alternatives are close
    (e.g. a long fixed horizon and t starting at 1 on a fast-mixing MDP).
    """
    best, best_p = None, threshold
    for candidate, probs in alternatives:
        p = g_test(counts, probs).p_value
        if p > best_p:
            best, best_p = candidate, p
    return best


def _check_sampler(build: Builder, n: int, seed: int, label: str, snippet: Optional[str]) -> Callable:
    def run(ctx: Context) -> Outcome:
        mdp, policy, theta = build()
        inputs = f"{label}; theta = {format_value(theta)}; n = {n}; rng = np.random.default_rng({seed})"
        if snippet is None:
            inputs = f"{label}; n = {n}"
        result = ctx.call("sample_state_actions", mdp, policy, theta, n, RNG(seed), timeout=20.0)
        if not result.ok:
            return call_failure(result, "sample_state_actions", inputs, snippet)
        value = result.value
        if not (isinstance(value, list) and len(value) == 2):
            return Outcome(False, "Your sample_state_actions must return a pair (states, actions) of integer "
                           f"arrays; it returned {format_value(value)}.\nInput: {inputs}")
        arrays = []
        for name, item in zip(("states", "actions"), value):
            sub = type(result)("ok", value=item)
            arr, failure = numeric_value(sub, f"sample_state_actions ({name})", inputs, shape=(n,), integer=True)
            if failure is not None:
                return failure
            arrays.append(arr)
        states, actions = arrays
        S, A = mdp.num_states, mdp.num_actions
        if states.min() < 0 or states.max() >= S or actions.min() < 0 or actions.max() >= A:
            return Outcome(False, f"Your sample_state_actions returned states or actions out of range "
                           f"(states in [{states.min()}, {states.max()}], actions in [{actions.min()}, "
                           f"{actions.max()}]; S = {S}, A = {A}).\nInput: {inputs}")
        if not np.all(policy.mask[states, actions]):
            bad = int(np.sum(~policy.mask[states, actions]))
            return Outcome(False, f"Your sample_state_actions drew a disallowed (masked) action {bad} times; "
                           f"pi_theta gives them probability 0.\nInput: {inputs}")
        pi = policy.probs(theta)
        exact = discounted_state_distribution(mdp, pi)[:, None] * pi
        counts = joint_counts((states, actions), (S, A))
        test = g_test(counts, exact)
        if test.passes(FALSE_FAILURE):
            return Outcome(True)
        found = _likeliest(counts, _sampler_alternatives(mdp, policy, theta))
        detail = (f"G-test against the exact d^theta(s) pi_theta(a|s): G = {test.statistic:.1f} with {test.df} "
                  f"degrees of freedom, p = {test.p_value:.2e} < {FALSE_FAILURE:g} (a correct sampler fails this "
                  f"test with probability at most {FALSE_FAILURE:g}).")
        message = _sampler_message(inputs, exact, counts / n, detail, found, snippet)
        return Outcome(False, message, found.key if found else None)

    return run


def _check_sampler_reproducible(build: Builder, n: int, seed: int, label: str, snippet: Optional[str]) -> Callable:
    """Two calls with generators of the same seed must return the same samples, and a call with the
    next seed other samples: every random number comes from the ``rng`` argument (np.random's global
    state breaks the first; a generator of the submission's own, e.g. ``default_rng(0)``, the second).
    Two correct draws of ``n`` pairs from the same non-degenerate distribution coincide with
    probability far below 1e-100 (every pair has probability < 0.99), so the second test cannot
    fail a correct sampler."""
    def run(ctx: Context) -> Outcome:
        mdp, policy, theta = build()
        inputs = (f"{label}; theta = {format_value(theta)}; n = {n}; rng = np.random.default_rng({seed}) twice, "
                  f"then np.random.default_rng({seed + 1})")
        values = []
        for s in (seed, seed, seed + 1):
            result = ctx.call("sample_state_actions", mdp, policy, theta, n, RNG(s), timeout=20.0)
            if not result.ok:
                return call_failure(result, "sample_state_actions", inputs, snippet)
            if not (isinstance(result.value, list) and len(result.value) == 2):
                return Outcome(False, "Your sample_state_actions must return a pair (states, actions); it returned "
                               f"{format_value(result.value)}.\nInput: {inputs}")
            values.append([np.asarray(v) for v in result.value])

        def same(x: list, y: list) -> bool:
            return all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(x, y))

        if not same(values[0], values[1]):
            message = (f"Your sample_state_actions returned different samples for two generators with the same "
                       f"seed.\nInput: {inputs}\nDraw every random number from the rng argument (rng.random, "
                       "rng.choice, rng.geometric), not from np.random or a new generator: the grader and your "
                       "notebook must be able to reproduce the samples.")
        elif same(values[0], values[2]):
            message = (f"Your sample_state_actions returned the same samples for generators with different seeds "
                       f"({seed} and {seed + 1}).\nInput: {inputs}\nThe samples do not come from the rng argument: "
                       "a generator of your own (such as rng = np.random.default_rng(0) inside the function) replaces "
                       "the caller's, so every call returns the same draw and the caller's rng never advances. Draw "
                       "from the rng you are given.")
        else:
            return Outcome(True)
        if snippet:
            message += "\nReproduce it in your notebook:\n    " + snippet.replace("\n", "\n    ")
        return Outcome(False, message)

    return run


def _check_sampler_one(build: Builder, seed: int, label: str, snippet: Optional[str]) -> Callable:
    """n = 1: still two integer arrays of shape (1,) (np.squeeze would give 0-d arrays)."""
    def run(ctx: Context) -> Outcome:
        mdp, policy, theta = build()
        inputs = f"{label}; theta = {format_value(theta)}; n = 1; rng = np.random.default_rng({seed})"
        result = ctx.call("sample_state_actions", mdp, policy, theta, 1, RNG(seed), timeout=20.0)
        if not result.ok:
            return call_failure(result, "sample_state_actions", inputs, snippet)
        if not (isinstance(result.value, list) and len(result.value) == 2):
            return Outcome(False, "Your sample_state_actions must return a pair (states, actions); it returned "
                           f"{format_value(result.value)}.\nInput: {inputs}")
        for name, item in zip(("states", "actions"), result.value):
            sub = type(result)("ok", value=item)
            _, failure = numeric_value(sub, f"sample_state_actions ({name})", inputs, shape=(1,), integer=True,
                                       reproduce=snippet)
            if failure is not None:
                return failure
        return Outcome(True)

    return run


def _sampler_message(inputs: str, exact: np.ndarray, freq: np.ndarray, detail: str, found: Any,
                     snippet: Optional[str]) -> str:
    lines = [
        "Your sample_state_actions does not draw from d^theta(s) pi_theta(a|s).",
        f"Input: {inputs}",
        f"Expected probabilities of (s, a):\n{np.array2string(exact, precision=4)}",
        f"Your frequencies:\n{np.array2string(freq, precision=4)}",
        detail,
    ]
    if found is not None:
        lines.append(f"Likely mistake: {found.title}. {found.hint}")
    if snippet:
        lines.append("Reproduce it in your notebook:\n    " + snippet.replace("\n", "\n    "))
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# npg_direction and trust_region_step: graded through F v and g . v
# ----------------------------------------------------------------------------------------------
def _invariants(F: np.ndarray, g: np.ndarray, v: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.concatenate([F @ v, [g @ v]])


def _norm2(F: np.ndarray) -> float:
    """The spectral norm ||F||_2 (largest singular value); 0 for an empty or zero matrix."""
    return float(np.linalg.norm(F, 2)) if F.size else 0.0


def _pinv(F: np.ndarray) -> np.ndarray:
    return np.linalg.pinv(F, rcond=1e-10, hermitian=True)


def _singular(F: np.ndarray) -> bool:
    eig = np.linalg.eigvalsh(F)
    return bool(eig.min() <= 1e-10 * max(eig.max(), 1e-300))


def _expect_direction(result: Any, F: np.ndarray, g: np.ndarray, expected: np.ndarray, *, func: str,
                      inputs: str, alternatives: list, reproduce: Optional[str],
                      constraint: Optional[float] = None) -> Outcome:
    if not result.ok and result.kind == "exception":
        m = None
        if "singular" in result.error.lower():
            m = mistake("inv_on_singular")
        elif not np.any(g) and "division" in result.error.lower():  # e.g. ZeroDivisionError for g = 0
            m = mistake("no_zero_guard")
        if m is not None:
            out = call_failure(result, func, inputs, reproduce)
            return Outcome(False, out.message + f"\nLikely mistake: {m.title}. {m.hint}", m.key)
    got, failure = numeric_value(result, func, inputs, shape=expected.shape, reproduce=reproduce)
    if failure is not None:
        return failure
    assert got is not None
    want = _invariants(F, g, expected)
    have = _invariants(F, g, got)
    # Backward-error tolerance: a computed v is the exact answer for F + E with ||E|| <= ETA ||F||, so
    # F v carries an error up to ETA ||F|| ||v|| and g . v up to ETA ||g|| ||v|| whatever the entries'
    # sizes (a fixed atol failed a correct float32 step on small entries of F v). Each invariant is
    # divided by its norm (||F||, ||g||) so that one tolerance, ETA ||v||, serves both at any scale.
    size = float(np.linalg.norm(expected))
    norms = np.concatenate([np.full(len(g), max(_norm2(F), 1e-300)), [max(float(np.linalg.norm(g)), 1e-300)]])
    tol = Tolerance(rtol=1e-5, atol=max(ETA * size, 1e-300))
    detail = ""
    ok = bool(np.all(np.isfinite(got))) and tol.close(have / norms, want / norms)
    if ok and constraint is not None:
        quad = float(got @ F @ got)
        if not np.isclose(quad, constraint, rtol=1e-5, atol=ETA * _norm2(F) * size**2):
            ok = False
            detail = f"D^T F D = {quad:.8g}, but the trust region needs D^T F D = delta = {constraint:g}."
    if ok:
        return Outcome(True)
    found = diagnose(have / norms, [(m, _invariants(F, g, np.asarray(alt, float)) / norms) for m, alt in alternatives],
                     tol)
    if found is None and _singular(F) and np.all(np.isfinite(got)) and _inverted_round_off(F, got, expected):
        found = mistake("inv_on_singular")
    if found is None and not np.all(np.isfinite(got)) and not np.any(g):
        found = mistake("no_zero_guard")
    if found is None and not np.any(got) and np.any(expected) and func == "trust_region_step" and not _singular(F):
        found = mistake("small_gradient_no_step")
    tol = Tolerance(rtol=1e-5, atol=float(tol.atol * norms.max()))  # as printed: on the invariants themselves
    singular_note = (" F is singular here, so directions are compared through F v and g . v (any v with the same "
                     "F v and g . v changes the policy the same way).") if _singular(F) else ""
    lines = (f"Compared: F v and g . v. Expected [F v, g . v] = {format_value(want)}; got {format_value(have)}."
             + singular_note)
    return mismatch(func, inputs, expected, got, tol, found, reproduce, (detail + "\n" + lines).strip())


def _inverted_round_off(F: np.ndarray, got: np.ndarray, expected: np.ndarray) -> bool:
    """Whether a wrong ``got`` looks like ``inv(F) @ g`` on a singular F: inverting round-off
    eigenvalues leaves a null-space component of F larger than the whole right answer.
    (Correct answers with a null-space component never get here: they pass on F v and g . v.)"""
    eigenvalues, vectors = np.linalg.eigh(F)
    null = vectors[:, eigenvalues <= 1e-10 * max(float(eigenvalues.max()), 1e-300)]
    size = np.linalg.norm(null.T @ got)
    return bool(size > max(np.linalg.norm(expected), 1e-12))


def _spd(rng: np.random.Generator, k: int, low: float = 0.5, high: float = 5.0) -> np.ndarray:
    q, _ = np.linalg.qr(rng.standard_normal((k, k)))
    return (q * rng.uniform(low, high, k)) @ q.T


def _mdp_system(build: Builder) -> tuple[np.ndarray, np.ndarray]:
    mdp, policy, theta = build()
    return fisher_information(mdp, policy, theta), policy_gradient(mdp, policy, theta)


def _check_direction(system: Callable[[], tuple], damping: float, label: str, snippet: Optional[str]) -> Callable:
    def run(ctx: Context) -> Outcome:
        F, g = system()
        expected = ref.npg_direction(F, g, damping)
        alternatives = [(mistake("plain_gradient"), g)]
        if damping > 0:
            alternatives.append((mistake("ignores_damping"), _pinv(F) @ g))
        inputs = f"{label}; F {format_value(F)}, g {format_value(g)}, damping = {damping:g}"
        kwargs = {"damping": damping} if damping else {}
        if damping > 0:
            # with damping the answer is unique: compare v itself as well as the invariants
            Fd = F + damping * np.eye(len(g))
            return _expect_direction(ctx.call("npg_direction", F, g, **kwargs), Fd, g, expected,
                                     func="npg_direction", inputs=inputs, reproduce=snippet,
                                     alternatives=alternatives)
        return _expect_direction(ctx.call("npg_direction", F, g, **kwargs), F, g, expected, func="npg_direction",
                                 inputs=inputs, alternatives=alternatives, reproduce=snippet)

    return run


def _step_alternatives(F: np.ndarray, g: np.ndarray, delta: float) -> list:
    v = _pinv(F) @ g
    gv = float(g @ v)
    if gv <= 0:
        return []
    gFg = float(g @ F @ g)
    out = [
        (mistake("trpo_two_delta"), np.sqrt(2.0 * delta / gv) * v),
        (mistake("missing_sqrt"), (delta / gv) * v),
        (mistake("euclidean_norm"), np.sqrt(delta) * v / np.linalg.norm(v)),
        (mistake("euclidean_norm"), np.sqrt(delta / float(g @ g)) * v),
        (mistake("plain_gradient"), np.sqrt(delta / float(g @ g)) * g),
    ]
    if gFg > 0:
        out.append((mistake("plain_gradient"), np.sqrt(delta / gFg) * g))
    eye = np.eye(len(g))
    for eps in (1e-12, 1e-10, 1e-8, 1e-6):  # a ridge "for stability" at the sizes students pick
        w = np.linalg.solve(F + eps * eye, g)
        gw = float(g @ w)
        if gw > 0:
            out.append((mistake("fixed_ridge"), np.sqrt(delta / gw) * w))
    return out


def _check_step(system: Callable[[], tuple], delta: float, label: str, snippet: Optional[str]) -> Callable:
    def run(ctx: Context) -> Outcome:
        F, g = system()
        expected = ref.trust_region_step(F, g, delta)
        inputs = f"{label}; F {format_value(F)}, g {format_value(g)}, delta = {delta:g}"
        constraint = delta if np.any(expected) else None
        return _expect_direction(ctx.call("trust_region_step", F, g, delta), F, g, expected,
                                 func="trust_region_step", inputs=inputs,
                                 alternatives=_step_alternatives(F, g, delta), reproduce=snippet,
                                 constraint=constraint)

    return run


SCALES = (1e-12, 1e-6, 1e6, 1e12)


def _check_scaled(part: str, system: Callable[[], tuple], delta: float, label: str, snippet: str) -> Callable:
    """Metamorphic check: for every c > 0, ``trust_region_step(F, c g, delta)`` is the same step (its
    scale sqrt(delta / g^T F^+ g) absorbs c) and ``trust_region_step(c F, g, delta)`` is that step over
    sqrt(c); ``npg_direction(F, c g) = c F^+ g`` and ``npg_direction(c F, g) = F^+ g / c``. No fixed
    threshold on the size of g or F survives c from 1e-12 to 1e12 (``np.allclose(g, 0)``, ``solve(F +
    1e-10 I, g)``, ``if g^T F^+ g < 1e-8``)."""
    def run(ctx: Context) -> Outcome:
        F, g = system()
        for cF, cg in [(1.0, c) for c in SCALES] + [(c, 1.0) for c in (1e-12, 1e12)]:
            Fc, gc = cF * F, cg * g
            scaled = f"g scaled by c = {cg:g}" if cF == 1.0 else f"F scaled by c = {cF:g}"
            inputs = f"{label}, with {scaled}; F {format_value(Fc)}, g {format_value(gc)}"
            F_text, g_text = ("F" if cF == 1.0 else f"{cF:g} * F"), ("g" if cg == 1.0 else f"{cg:g} * g")
            if part == "trust_region_step":
                reproduce = snippet + f"trust_region_step({F_text}, {g_text}, {delta:g})"
                expected = ref.trust_region_step(Fc, gc, delta)
                outcome = _expect_direction(ctx.call(part, Fc, gc, delta), Fc, gc, expected, func=part,
                                            inputs=inputs, alternatives=_step_alternatives(Fc, gc, delta),
                                            reproduce=reproduce, constraint=delta)
            else:
                reproduce = snippet + f"npg_direction({F_text}, {g_text})"
                expected = ref.npg_direction(Fc, gc)
                outcome = _expect_direction(ctx.call(part, Fc, gc), Fc, gc, expected, func=part, inputs=inputs,
                                            alternatives=[(mistake("plain_gradient"), gc)], reproduce=reproduce)
            if not outcome.passed:
                relation = ("the step does not depend on the size of g, and scales as 1/sqrt(c) with F: "
                            "trust_region_step(c F, g, delta) = trust_region_step(F, g, delta) / sqrt(c)"
                            if part == "trust_region_step" else
                            "the direction is linear in g and in 1/F: npg_direction(F, c g) = c npg_direction(F, g)"
                            " and npg_direction(c F, g) = npg_direction(F, g) / c")
                outcome.message += f"\nWhy this case: {relation}, for every c > 0 (no threshold on sizes)."
                return outcome
        return Outcome(True)

    return run


# ----------------------------------------------------------------------------------------------
# conjugate_gradient
# ----------------------------------------------------------------------------------------------
def _steepest_descent(F: np.ndarray, g: np.ndarray, iters: int) -> np.ndarray:
    x = np.zeros_like(g)
    r = g.copy()
    for _ in range(iters):
        z = F @ r
        denom = r @ z
        if denom <= 0:
            break
        alpha = (r @ r) / denom
        x = x + alpha * r
        r = r - alpha * z
    return x


def _check_cg(system: Callable[[], tuple], iters: int, label: str, snippet: Optional[str],
              rtol: float = 1e-5, stop_tol: Optional[float] = None, public: bool = True) -> Callable:
    def run(ctx: Context) -> Outcome:
        F, g = system()
        calls = []

        def counted(v: np.ndarray) -> np.ndarray:
            calls.append(1)
            return F @ v

        extra = {} if stop_tol is None else {"tol": stop_tol}
        expected = ref.conjugate_gradient(counted, g, iters=iters, **extra)
        inputs = (f"{label}; F {format_value(F)} (reached only through fvp), g {format_value(g)}, iters = {iters}"
                  + ("" if stop_tol is None else f", tol = {stop_tol:g} (stop as soon as r^T r < tol)"))
        result = ctx.call("conjugate_gradient", FVP(F), g, iters=iters, fvp=F, **extra)
        reproduce = snippet
        if public and reproduce is None:
            reproduce = cases.system_snippet(F, g, f"conjugate_gradient(lambda v: F @ v, g, iters={iters}"
                                             + ("" if stop_tol is None else f", tol={stop_tol:g}") + ")")
        got, failure = numeric_value(result, "conjugate_gradient", inputs, shape=g.shape, reproduce=reproduce)
        if failure is not None:
            return failure
        if result.fvp_calls > iters:
            return Outcome(False, f"Your conjugate_gradient called fvp {result.fvp_calls} times; at most iters = "
                           f"{iters} calls are allowed (one Fisher-vector product per iteration).\nInput: {inputs}")
        # atol 1e-6 of the largest entry: CG in single precision accumulates ~1e-7 relative round-off
        # in every entry (measured), which failed the former rtol 1e-6 / atol 1e-9 on small entries.
        # Steepest descent and the plain gradient differ from the CG iterate by > 1e-2.
        tol = Tolerance(rtol=rtol, atol=1e-6).scaled(max(1.0, scale_of(expected)))
        if tol.close(got, expected):
            return Outcome(True)
        found = diagnose(got, [(mistake("steepest_descent"), _steepest_descent(F, g, iters)),
                               (mistake("plain_gradient"), g)], tol)
        return mismatch("conjugate_gradient", inputs, expected, got, tol, found, reproduce,
                        f"Your code made {result.fvp_calls} Fisher-vector products (the reference {len(calls)}).")

    return run


# ----------------------------------------------------------------------------------------------
# natural_policy_gradient
# ----------------------------------------------------------------------------------------------
def _trajectory(mdp: Any, policy: Any, theta0: np.ndarray, delta: float, iterations: int,
                step: Callable[[np.ndarray, np.ndarray, float], np.ndarray], fixed_F: bool = False,
                fixed_g: bool = False) -> np.ndarray:
    thetas = [np.asarray(theta0, float)]
    F0 = fisher_information(mdp, policy, theta0)
    g0 = policy_gradient(mdp, policy, theta0)
    for _ in range(iterations):
        th = thetas[-1]
        F = F0 if fixed_F else fisher_information(mdp, policy, th)
        g = g0 if fixed_g else policy_gradient(mdp, policy, th)
        with np.errstate(all="ignore"):
            thetas.append(th + step(F, g, delta))
        if not np.all(np.isfinite(thetas[-1])):
            break
    while len(thetas) < iterations + 1:
        thetas.append(np.full_like(thetas[0], np.nan))
    return np.array(thetas)


def _signature(mdp: Any, policy: Any, thetas: np.ndarray, reach: list) -> np.ndarray:
    """Policies on the reference's reachable states and objectives, iterate by iterate."""
    parts = []
    for t, theta in enumerate(thetas):
        if not np.all(np.isfinite(theta)):
            parts.append(np.full(int(reach[t].sum()) * mdp.num_actions + 1, np.nan))
            continue
        pi = policy.probs(theta)
        parts.append(np.concatenate([pi[reach[t]].ravel(), [objective(mdp, policy, theta)]]))
    return np.concatenate(parts)


def _variant_step(kind: str) -> Callable:
    def step(F: np.ndarray, g: np.ndarray, delta: float) -> np.ndarray:
        v = _pinv(F) @ g
        gv = float(g @ v)
        if gv <= 0:
            return np.zeros_like(g)
        if kind == "trpo":
            return np.sqrt(2 * delta / gv) * v
        if kind == "nosqrt":
            return (delta / gv) * v
        if kind == "euclid":
            return np.sqrt(delta) * v / np.linalg.norm(v)
        if kind == "gradient":
            return np.sqrt(delta / float(g @ g)) * g
        raise ValueError(kind)

    return step


def _judge_step(F: np.ndarray, g: np.ndarray, delta: float, D: np.ndarray, rounding: float) -> Optional[str]:
    """Why ``D`` is not a trust-region step for (F, g, delta), or None when it is one.

    The maths: D is the step iff ``F D = s g`` for some ``s > 0`` and ``D^T F D = delta`` (or D = 0
    when ``g^T F^+ g = 0``). Taking ``s = D^T F D / g . D`` (the multiplier these imply), D passes
    when its backward error ``||F D - s g|| <= STEP_ETA ||F|| ||D||`` and ``|D^T F D - delta| <= STEP_ETA
    delta + STEP_ETA ||F|| ||D||^2``, each plus what ``rounding`` (the error of D itself, ||.||_2) can
    cause. These bounds hold however ill-conditioned F is, so round-off that the reference and a
    correct submission handle differently (e.g. pinv cut-offs near a deterministic policy) passes,
    while every catalogued mistake breaks one of the two equations by order 1.
    """
    if not np.all(np.isfinite(D)):
        return "the step is not finite"
    norm_F = _norm2(F)
    size = float(np.linalg.norm(D))
    gv = float(g @ _pinv(F) @ g)
    if not gv > 0:
        if size <= rounding:
            return None
        return f"g^T F^+ g = 0 (zero gradient), so the step must be 0; got |D| = {size:.3g}"
    quad = float(D @ F @ D)
    gd = float(g @ D)
    if not gd > 0:
        if size == 0:
            return f"D = 0 although g^T F^+ g = {gv:.3g} > 0 (only a zero gradient gives no step)"
        return f"g . D = {gd:.6g}: the step must go uphill (g . D > 0)"
    residual = float(np.linalg.norm(F @ D - (quad / gd) * g))
    allowed = STEP_ETA * norm_F * size + norm_F * rounding
    if residual > allowed:
        return (f"F D is not parallel to g: ||F D - s g|| = {residual:.3g} with s = D^T F D / g . D, allowed "
                f"{allowed:.3g} (= {STEP_ETA:g} ||F|| ||D|| plus round-off of theta)")
    allowed = STEP_ETA * delta + STEP_ETA * norm_F * size**2 + 2.0 * norm_F * size * rounding
    if abs(quad - delta) > allowed:
        return (f"D^T F D = {quad:.8g}, but the trust region needs D^T F D = delta = {delta:g} "
                f"(allowed error {allowed:.3g})")
    return None


def _check_npg(build: Callable[[], tuple], delta: float, iterations: int, label: str,
               snippet: Optional[str]) -> Callable:
    """Each step of the submission's trajectory is judged where it is taken: theta_{t+1} - theta_t
    must be the trust-region step at the submission's own theta_t (``_judge_step``, with the exact F
    and gradient there). End-to-end agreement with the reference's trajectory is not required: round-off
    grows along a trajectory (near-deterministic iterates make F ill-conditioned), so a correct
    submission may drift from the reference while every one of its steps is right."""
    def run(ctx: Context) -> Outcome:
        mdp, policy, theta0 = build()
        expected = ref.natural_policy_gradient(mdp, policy, theta0, delta, iterations)
        reach = [cases.reachable(mdp, policy, th) for th in expected]
        inputs = f"{label}; theta0 = {format_value(theta0)}, delta = {delta:g}, iterations = {iterations}"
        result = ctx.call("natural_policy_gradient", mdp, policy, theta0, delta, iterations, timeout=20.0)
        if result.ok and iterations > 0 and np.shape(result.value) == (iterations, len(theta0)):
            got_short = np.asarray(result.value, float)
            if np.allclose(_signature(mdp, policy, got_short, reach[1:]), _signature(mdp, policy, expected[1:],
                                                                                    reach[1:]), rtol=1e-4):
                m = mistake("trajectory_without_theta0")
                message = (f"Your natural_policy_gradient returned {iterations} rows; expected iterations + 1 = "
                           f"{iterations + 1}.\nInput: {inputs}\nLikely mistake: {m.title}. {m.hint}")
                if snippet:
                    message += "\nReproduce it in your notebook:\n    " + snippet.replace("\n", "\n    ")
                return Outcome(False, message, m.key)
        got, failure = numeric_value(result, "natural_policy_gradient", inputs, shape=expected.shape,
                                     reproduce=snippet)
        if failure is not None:
            return failure
        assert got is not None
        bad_t, why, step_found = None, "", None
        start_error = np.abs(got[0] - theta0)
        if not np.all(start_error <= 2.0 * FLOAT32_EPS * max(1.0, float(np.abs(theta0).max()))):
            bad_t, why = 0, "row 0 must be theta0 itself"
        for t in range(iterations if bad_t is None else 0):
            th, nxt = got[t], got[t + 1]
            if not (np.all(np.isfinite(th)) and np.all(np.isfinite(nxt))):
                bad_t, why = t, "theta is not finite"
                break
            F = fisher_information(mdp, policy, th)
            g = policy_gradient(mdp, policy, th)
            rounding = FLOAT32_EPS * (float(np.linalg.norm(th)) + float(np.linalg.norm(nxt)))
            why = _judge_step(F, g, delta, nxt - th, rounding) or ""
            if why:
                bad_t = t
                step_found = _step_mistake(F, g, delta, nxt - th)
                break
        if bad_t is None:
            return Outcome(True)
        found = step_found or _trajectory_mistake(mdp, policy, theta0, delta, iterations, got, expected, reach)
        detail = (f"Each step theta_(t+1) - theta_t is checked as the trust-region step at your own theta_t "
                  f"(with the exact F(theta_t) and grad J(theta_t)). First wrong step: t = {bad_t} -> {bad_t + 1}, "
                  f"at theta_t = {format_value(got[bad_t])}: {why}.")
        if bad_t == 0 and why.startswith("row 0"):
            detail = f"Row 0 of the trajectory must be theta0 = {format_value(theta0)}; got {format_value(got[0])}."
        return mismatch("natural_policy_gradient", inputs, expected, got, NPG_TOL, found, snippet, detail,
                        tolerance_text=f"each step's backward error <= {STEP_ETA:g} (relative to ||F||), "
                                       f"D^T F D = delta within {STEP_ETA:g} relative")

    return run


def _step_mistake(F: np.ndarray, g: np.ndarray, delta: float, D: np.ndarray) -> Any:
    """The catalogued step mistake that ``D`` matches at (F, g), if any."""
    if not np.any(D) and np.any(g) and not _singular(F):
        return mistake("small_gradient_no_step")
    alternatives = _step_alternatives(F, g, delta)
    have = _invariants(F, g, D)
    # The absolute part scales with the invariants themselves (F D and g . D), not with D: where F is
    # tiny (near-deterministic iterates) an atol in units of D would let every alternative match.
    scale = float(np.abs(have).max()) if np.all(np.isfinite(have)) else 0.0
    tol = Tolerance(rtol=1e-4, atol=1e-6 * max(1e-300, scale))
    return diagnose(have, [(m, _invariants(F, g, np.asarray(a, float))) for m, a in alternatives], tol)


def _trajectory_mistake(mdp: Any, policy: Any, theta0: np.ndarray, delta: float, iterations: int,
                        got: np.ndarray, expected: np.ndarray, reach: list) -> Any:
    """The catalogued whole-loop mistake (F or g computed once, ...) whose trajectory ``got`` follows."""
    reference_step = ref.trust_region_step
    variants = [
        (mistake("fisher_computed_once"), _trajectory(mdp, policy, theta0, delta, iterations, reference_step,
                                                      fixed_F=True)),
        (mistake("gradient_computed_once"), _trajectory(mdp, policy, theta0, delta, iterations, reference_step,
                                                        fixed_g=True)),
        (mistake("trpo_two_delta"), _trajectory(mdp, policy, theta0, delta, iterations, _variant_step("trpo"))),
        (mistake("missing_sqrt"), _trajectory(mdp, policy, theta0, delta, iterations, _variant_step("nosqrt"))),
        (mistake("euclidean_norm"), _trajectory(mdp, policy, theta0, delta, iterations, _variant_step("euclid"))),
        (mistake("plain_gradient"), _trajectory(mdp, policy, theta0, delta, iterations, _variant_step("gradient"))),
    ]
    have = _signature(mdp, policy, got, reach)
    return diagnose(have, [(m, _signature(mdp, policy, traj, reach)) for m, traj in variants], NPG_TOL)


# ----------------------------------------------------------------------------------------------
# The checks
# ----------------------------------------------------------------------------------------------
def _example(theta: float, mu0: tuple = (0.5, 0.5)) -> Builder:
    def build() -> tuple:
        mdp, policy = cases.example(mu0)
        return mdp, policy, np.array([theta])

    return build


def _scaled_rewards(build: Callable[[], tuple], c: float) -> Callable[[], tuple]:
    """The case of ``build`` with rewards times ``c`` > 0: g scales by c, F does not, so every
    trust-region step, hence the trajectory, is unchanged (a size threshold on g shows here)."""
    def scaled() -> tuple:
        mdp, policy, theta = build()
        return TabularMDP(mdp.P, c * mdp.r, mdp.gamma, mdp.mu0), policy, theta

    return scaled


def _fixed(F: np.ndarray, g: np.ndarray) -> Callable[[], tuple]:
    return lambda: (F, g)


def _spd_system(seed: int, k: int) -> Callable[[], tuple]:
    def system() -> tuple:
        rng = np.random.default_rng(seed)
        return _spd(rng, k), rng.standard_normal(k)

    return system


def build(seeds: Seeds) -> list[Check]:
    checks: list[Check] = []
    add = checks.append
    ex = cases.EXAMPLE_SNIPPET

    def hidden(name: str) -> int:
        return seeds.hidden(name) % 2**62

    # sample_state_actions
    add(Check("sample_state_actions", "lecture example, theta = 0", _check_sampler(
        _example(0.0), SAMPLES, 401, "the lecture's example MDP",
        ex + f"states, actions = sample_state_actions(mdp, policy, np.array([0.0]), {SAMPLES}, "
             "np.random.default_rng(401))"), kind="example"))
    add(Check("sample_state_actions", "a chain where t = 0, the discount and the horizon matter", _check_sampler(
        cases.sampler_mdp, SAMPLES, 402, "a 4-state chain from state 0, gamma = 0.8", cases.literal_snippet(
            cases.sampler_mdp, f"states, actions = sample_state_actions(mdp, policy, theta, {SAMPLES}, "
                               "np.random.default_rng(402))")), kind="edge", weight=2.0))
    add(Check("sample_state_actions", "a line of states from state 0: the stopping time matters", _check_sampler(
        cases.line_mdp, SAMPLES, 406, "6 states in a line from state 0, gamma = 0.9", cases.literal_snippet(
            cases.line_mdp, f"states, actions = sample_state_actions(mdp, policy, theta, {SAMPLES}, "
                            "np.random.default_rng(406))")), kind="edge", weight=2.0))
    add(Check("sample_state_actions", "gamma = 0.99, a slow chain: rollouts need their whole length", _check_sampler(
        cases.slow_mdp, SAMPLES, 408, "3 states, gamma = 0.99, state 2 reached after ~40 steps",
        cases.literal_snippet(cases.slow_mdp, f"states, actions = sample_state_actions(mdp, policy, theta, {SAMPLES}, "
                                              "np.random.default_rng(408))")), kind="edge"))
    add(Check("sample_state_actions", "an unreachable state and a masked action", _check_sampler(
        cases.unreachable_mdp, SAMPLES, 403, "3 states, state 2 unreachable, action 1 masked in state 0",
        cases.literal_snippet(cases.unreachable_mdp, f"states, actions = sample_state_actions(mdp, policy, theta, "
                                                     f"{SAMPLES}, np.random.default_rng(403))")), kind="edge"))
    public_sampler = cases.MDPCase(404, 4, 3, num_features=3, gamma=0.8)
    add(Check("sample_state_actions", "random MDP with features", _check_sampler(
        public_sampler.build, SAMPLES, 405, public_sampler.describe(),
        public_sampler.snippet(f"states, actions = sample_state_actions(mdp, policy, theta, {SAMPLES}, "
                               "np.random.default_rng(405))")), kind="random"))
    add(Check("sample_state_actions", "the same rng seed gives the same samples, another seed others",
              _check_sampler_reproducible(
        public_sampler.build, 2000, 407, public_sampler.describe(),
        public_sampler.snippet("a = sample_state_actions(mdp, policy, theta, 2000, np.random.default_rng(407))\n"
                               "b = sample_state_actions(mdp, policy, theta, 2000, np.random.default_rng(407))\n"
                               "c = sample_state_actions(mdp, policy, theta, 2000, np.random.default_rng(408))\n"
                               "print(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]))  # True\n"
                               "print(np.array_equal(a[0], c[0]) and np.array_equal(a[1], c[1]))  # False")),
        kind="random", weight=0.5))
    add(Check("sample_state_actions", "n = 1: arrays of shape (1,)", _check_sampler_one(
        public_sampler.build, 409, public_sampler.describe(),
        public_sampler.snippet("sample_state_actions(mdp, policy, theta, 1, np.random.default_rng(409))")),
        kind="edge", weight=0.5))
    hidden_sampler = cases.MDPCase(hidden("sampler/0"), 4, 3, num_features=3, gamma=0.85, hidden=True)
    add(Check("sample_state_actions", "hidden random MDP", _check_sampler(
        hidden_sampler.build, SAMPLES, hidden("sampler/rng") % 2**31, hidden_sampler.describe(), None),
        kind="hidden"))

    # npg_direction
    F_ex, g_ex = _mdp_system(_example(0.0))
    add(Check("npg_direction", "lecture example, theta = 0 (F^-1 g = -8.235294)", _check_direction(
        _fixed(F_ex, g_ex), 0.0, "the lecture's example at theta = 0",
        ex + "F = fisher_information(mdp, policy, np.array([0.0]))\n"
             "g = policy_gradient(mdp, policy, np.array([0.0]))\nnpg_direction(F, g)"), kind="example"))
    tab = cases.MDPCase(411, 3, 3)
    add(Check("npg_direction", "random tabular MDP: singular F (use the pseudo-inverse)", _check_direction(
        lambda: _mdp_system(tab.build), 0.0, tab.describe(),
        tab.snippet("F = fisher_information(mdp, policy, theta)\ng = policy_gradient(mdp, policy, theta)\n"
                    "npg_direction(F, g)")), kind="random", weight=2.0))
    feat = cases.MDPCase(412, 4, 3, num_features=4)
    add(Check("npg_direction", "random MDP with features", _check_direction(
        lambda: _mdp_system(feat.build), 0.0, feat.describe(),
        feat.snippet("F = fisher_information(mdp, policy, theta)\ng = policy_gradient(mdp, policy, theta)\n"
                     "npg_direction(F, g)")), kind="random"))
    add(Check("npg_direction", "damping = 0.1", _check_direction(
        _spd_system(413, 4), 0.1, "random SPD F (seed 413)",
        cases.system_snippet(*_spd_system(413, 4)(), "npg_direction(F, g, damping=0.1)")), kind="random"))
    add(Check("npg_direction", "F = 0 and g = 0 (example with mu0 = (1, 0)): direction 0", _check_direction(
        _fixed(np.zeros((1, 1)), np.zeros(1)), 0.0, "F = [[0]], g = [0]",
        "npg_direction(np.zeros((1, 1)), np.zeros(1))"),
        kind="edge"))
    add(Check("npg_direction", "g or F scaled by c = 1e-12 ... 1e12: the direction scales with c (1/c for F)",
              _check_scaled(
        "npg_direction", lambda: _mdp_system(feat.build), 0.0, feat.describe(),
        feat.snippet("F = fisher_information(mdp, policy, theta)\ng = policy_gradient(mdp, policy, theta)\n") or ""),
        kind="random"))
    over = cases.MDPCase(415, 2, 2, num_features=6)
    add(Check("npg_direction", "more features than state-action pairs: F singular without exact zeros",
              _check_direction(lambda: _mdp_system(over.build), 0.0, over.describe(), over.snippet(
                  "F = fisher_information(mdp, policy, theta)\ng = policy_gradient(mdp, policy, theta)\n"
                  "npg_direction(F, g)")), kind="random"))
    htab = cases.MDPCase(hidden("npg_direction/0"), 4, 3, hidden=True)
    add(Check("npg_direction", "hidden random tabular MDP (singular F)", _check_direction(
        lambda: _mdp_system(htab.build), 0.0, htab.describe(), None), kind="hidden"))

    # trust_region_step
    add(Check("trust_region_step", "lecture example, theta = 0, delta = 0.01", _check_step(
        _fixed(F_ex, g_ex), 0.01, "the lecture's example at theta = 0",
        ex + "F = fisher_information(mdp, policy, np.array([0.0]))\n"
             "g = policy_gradient(mdp, policy, np.array([0.0]))\ntrust_region_step(F, g, 0.01)"), kind="example"))
    add(Check("trust_region_step", "random MDP with features, delta = 0.05", _check_step(
        lambda: _mdp_system(feat.build), 0.05, feat.describe(),
        feat.snippet("F = fisher_information(mdp, policy, theta)\ng = policy_gradient(mdp, policy, theta)\n"
                     "trust_region_step(F, g, 0.05)")), kind="random"))
    add(Check("trust_region_step", "random tabular MDP: singular F, delta = 0.02", _check_step(
        lambda: _mdp_system(tab.build), 0.02, tab.describe(),
        tab.snippet("F = fisher_information(mdp, policy, theta)\ng = policy_gradient(mdp, policy, theta)\n"
                    "trust_region_step(F, g, 0.02)")), kind="random"))
    zero_F, _ = _spd_system(414, 3)()
    add(Check("trust_region_step", "zero gradient: no step", _check_step(
        _fixed(zero_F, np.zeros(3)), 0.01, "random SPD F (seed 414), g = 0",
        cases.system_snippet(zero_F, np.zeros(3), "trust_region_step(F, g, 0.01)")), kind="edge"))
    step_snippet = feat.snippet("F = fisher_information(mdp, policy, theta)\ng = policy_gradient(mdp, policy, theta)\n")
    add(Check("trust_region_step", "g or F scaled by c = 1e-12 ... 1e12: the same step (over sqrt(c) for F)",
              _check_scaled(
        "trust_region_step", lambda: _mdp_system(feat.build), 0.05, feat.describe(), step_snippet or ""),
        kind="random", weight=2.0))
    hfeat = cases.MDPCase(hidden("trust_region_step/0"), 5, 3, num_features=4, hidden=True)
    add(Check("trust_region_step", "hidden random MDP", _check_step(
        lambda: _mdp_system(hfeat.build), 0.03, hfeat.describe(), None), kind="hidden"))

    # conjugate_gradient
    add(Check("conjugate_gradient", "k = 6, iters = 10: converges to F^-1 g", _check_cg(
        _spd_system(421, 6), 10, "random SPD F (seed 421), k = 6", None), kind="random"))
    add(Check("conjugate_gradient", "k = 8, iters = 3: the CG iterate after 3 products", _check_cg(
        _spd_system(422, 8), 3, "random SPD F (seed 422), k = 8", None), kind="random", weight=2.0))
    add(Check("conjugate_gradient", "g = 0: x = 0 (no division by zero)", _check_cg(
        _fixed(_spd_system(423, 4)()[0], np.zeros(4)), 5, "random SPD F (seed 423), g = 0", None), kind="edge"))
    add(Check("conjugate_gradient", "g = e1 (r^T r = 1 at the start), k = 5, iters = 3", _check_cg(
        lambda: (_spd_system(424, 5)()[0], np.eye(5)[0]), 3, "random SPD F (seed 424), g = e1", None),
        kind="random"))
    add(Check("conjugate_gradient", "k = 6, tol = 0.5: stops as soon as r^T r < tol", _check_cg(
        _spd_system(425, 6), 10, "random SPD F (seed 425), k = 6", None, stop_tol=0.5), kind="random"))
    add(Check("conjugate_gradient", "the Fisher matrix of a random MDP with features", _check_cg(
        lambda: _mdp_system(feat.build), 4, feat.describe(), None, rtol=1e-5), kind="random"))
    add(Check("conjugate_gradient", "hidden SPD system", _check_cg(
        _spd_system(hidden("conjugate_gradient/0"), 7), 4, "a hidden random SPD F, k = 7", None, public=False),
        kind="hidden"))

    # natural_policy_gradient
    add(Check("natural_policy_gradient", "lecture example from theta = 0, delta = 0.01, 10 iterations", _check_npg(
        _example(0.0), 0.01, 10, "the lecture's example MDP",
        ex + "natural_policy_gradient(mdp, policy, np.array([0.0]), 0.01, 10)"), kind="example"))
    add(Check("natural_policy_gradient", "iterations = 0: theta0 alone, shape (1, k)", _check_npg(
        _example(0.7), 0.01, 0, "the lecture's example MDP",
        ex + "natural_policy_gradient(mdp, policy, np.array([0.7]), 0.01, 0)  # shape (1, 1)"), kind="edge"))
    add(Check("natural_policy_gradient", "example with mu0 = (1, 0): zero gradient, theta stays", _check_npg(
        _example(0.5, (1.0, 0.0)), 0.01, 3, "the example MDP with mu0 = (1, 0)",
        "mdp, policy = example_mdp(mu0=(1.0, 0.0))\nnatural_policy_gradient(mdp, policy, np.array([0.5]), 0.01, 3)"),
        kind="edge"))
    add(Check("natural_policy_gradient", "an unreachable state and a masked action", _check_npg(
        cases.unreachable_mdp, 0.02, 5, "3 states, state 2 unreachable, action 1 masked in state 0",
        cases.literal_snippet(cases.unreachable_mdp, "natural_policy_gradient(mdp, policy, theta, 0.02, 5)")),
        kind="edge"))
    add(Check("natural_policy_gradient", "random tabular MDP (singular F), 6 iterations", _check_npg(
        tab.build, 0.05, 6, tab.describe(),
        tab.snippet("natural_policy_gradient(mdp, policy, theta, 0.05, 6)")), kind="random"))
    add(Check("natural_policy_gradient", "random MDP with features, 6 iterations", _check_npg(
        feat.build, 0.05, 6, feat.describe(),
        feat.snippet("natural_policy_gradient(mdp, policy, theta, 0.05, 6)")), kind="random"))
    big = cases.MDPCase(428, 4, 3, num_features=3)  # the full step lowers J at iterations 3 and 5
    add(Check("natural_policy_gradient", "delta = 0.5: the full trust-region step, even where J drops", _check_npg(
        big.build, 0.5, 6, big.describe(),
        big.snippet("natural_policy_gradient(mdp, policy, theta, 0.5, 6)")), kind="random"))
    add(Check("natural_policy_gradient", "rewards scaled by 1e-9: the same trajectory", _check_npg(
        _scaled_rewards(feat.build, 1e-9), 0.05, 4, feat.describe() + ", rewards r scaled by 1e-9",
        feat.snippet("mdp = TabularMDP(mdp.P, 1e-9 * mdp.r, mdp.gamma, mdp.mu0)\n"
                     "natural_policy_gradient(mdp, policy, theta, 0.05, 4)")), kind="random"))
    hnpg = cases.MDPCase(hidden("natural_policy_gradient/0"), 4, 3, num_features=5, hidden=True)
    add(Check("natural_policy_gradient", "hidden random MDP", _check_npg(
        hnpg.build, 0.04, 5, hnpg.describe(), None), kind="hidden"))
    htab2 = cases.MDPCase(hidden("natural_policy_gradient/1"), 3, 2, hidden=True)
    add(Check("natural_policy_gradient", "hidden random tabular MDP", _check_npg(
        htab2.build, 0.04, 5, htab2.describe(), None), kind="hidden"))
    return checks
