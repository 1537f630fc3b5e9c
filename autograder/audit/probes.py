"""Extra random probes: is a surviving mutant probably equivalent to the reference?

A survivor passed every check of the suite. It is *probably equivalent* when, in addition, every
student function gives the reference's output on the probes below: the suite's structures (the
lecture example, an unreachable state with a masked action, a sampler chain, singular and zero
Fisher matrices, zero gradients), small but non-zero gradients (|g| ~ 1e-6 and 1e-12 for the
scale-invariant trust-region step; |g| ~ 1e-5 with tol = 1e-30 for CG) and random MDPs with seeds
the suite does not use. The mutant's code runs in the same sandbox as a grade (never in this
process); the reference is called here.

Outputs are compared with a tight tolerance (rtol 1e-9, atol 1e-12 times the output's scale),
except where docs/conventions.md and the README
("How grading works") defines correctness through invariants: NPG
directions and steps through ``F v`` and ``g . v`` (``v`` is not unique when F is singular),
trajectories through the policies on reachable states and the objectives. The sampler must give
the reference's exact draws for the same seed, or draws that a G-test cannot tell from
``d^theta(s) pi_theta(a|s)`` (p > 0.01 on every probe with 20,000 draws).

A mutant must also leave its arguments alone: after each probe the same call runs again through a
small harness module placed next to the mutant's files in the sandbox, which compares every
argument (arrays by content, MDPs and policies by their arrays) before and after the call. A
mutant that returns the right values but changes the caller's ``g`` or ``policy.phi`` in place is
not equivalent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from solutions import fisher as ref_fisher
from solutions import kl as ref_kl
from solutions import npg as ref_npg
from solutions.mdp import (
    LogLinearPolicy,
    discounted_state_distribution,
    example_mdp,
    objective,
    policy_gradient,
    random_mdp,
)

from ..demo.samples import reference_folder
from ..engine.isolation import Isolation
from ..engine.runner import provided_files, suite_codecs
from ..engine.sandbox import FVP, RNG, Limits, Sandbox, SubmissionFiles
from ..engine.stats import (
    EQUIVALENCE_ATOL,
    EQUIVALENCE_RTOL,
    EQUIVALENT_P_VALUE,
    REACHABLE,
    Tolerance,
    g_test,
    joint_counts,
    scale_of,
)
from ..suites import npg as suite
from ..suites.npg import PARTS, cases

# The assignment these probes are written for (the audit probes the survivors of no other).
ASSIGNMENT = suite.ASSIGNMENT

__all__ = ["Probe", "build_probes", "probe_submission"]

EQUIVALENCE = Tolerance(EQUIVALENCE_RTOL, EQUIVALENCE_ATOL)  # atol in units of the output's scale
PROBE_SEEDS = (9001, 9002, 9003)
SAMPLES = 20_000


@dataclass
class Probe:
    """One call of a student function and how to judge its output against the reference."""

    part: str
    label: str
    args: tuple
    kwargs: dict
    expected: Any
    same: Callable[[Any, Any], bool]
    fvp: Optional[np.ndarray] = None


def _close(got: Any, want: Any) -> bool:
    """``got`` matches ``want`` within ``EQUIVALENCE``, its atol times ``max(1, scale_of(want))``; nan
    and inf where ``want`` has them (the same infinity)."""
    return EQUIVALENCE.scaled(max(1.0, scale_of(want))).close(got, want, equal_nan=True)


def _direction_same(F: np.ndarray, g: np.ndarray) -> Callable[[Any, Any], bool]:
    def same(got: Any, want: Any) -> bool:
        try:
            v = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            return False
        if v.shape != np.shape(want) or not np.all(np.isfinite(v)):
            return False
        return _close(np.concatenate([F @ v, [g @ v]]), np.concatenate([F @ want, [g @ want]]))

    return same


def _trajectory_same(mdp: Any, policy: Any) -> Callable[[Any, Any], bool]:
    def signature(thetas: np.ndarray, reach: list) -> np.ndarray:
        return np.concatenate([np.concatenate([policy.probs(th)[r].ravel(), [objective(mdp, policy, th)]])
                               for th, r in zip(thetas, reach)])

    def same(got: Any, want: Any) -> bool:
        try:
            thetas = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            return False
        if thetas.shape != want.shape or not np.all(np.isfinite(thetas)):
            return False
        reach = [discounted_state_distribution(mdp, policy.probs(th)) > REACHABLE for th in want]
        return _close(signature(thetas, reach), signature(want, reach))

    return same


def _sampler_same(mdp: Any, policy: Any, theta: np.ndarray) -> Callable[[Any, Any], bool]:
    def same(got: Any, want: Any) -> bool:
        if not (isinstance(got, (list, tuple)) and len(got) == 2):
            return False
        try:
            states, actions = (np.asarray(x) for x in got)
        except (TypeError, ValueError):
            return False
        if states.shape != want[0].shape or actions.shape != want[1].shape:
            return False
        if not (np.issubdtype(states.dtype, np.integer) and np.issubdtype(actions.dtype, np.integer)):
            return False
        if np.array_equal(states, want[0]) and np.array_equal(actions, want[1]):
            return True
        S, A = mdp.num_states, mdp.num_actions
        if states.min() < 0 or states.max() >= S or actions.min() < 0 or actions.max() >= A:
            return False
        pi = policy.probs(theta)
        counts = joint_counts((states, actions), (S, A))
        return g_test(counts, discounted_state_distribution(mdp, pi)[:, None] * pi).p_value > EQUIVALENT_P_VALUE

    return same


def _dirichlet(rng: np.random.Generator, shape: tuple, zeros: bool = False) -> np.ndarray:
    x = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    if zeros:
        x = np.where(rng.random(x.shape) < 0.3, 0.0, x)
        x[..., 0] += 1e-3
        x /= x.sum(axis=-1, keepdims=True)
    return x


def _spd(rng: np.random.Generator, k: int) -> np.ndarray:
    q, _ = np.linalg.qr(rng.standard_normal((k, k)))
    return (q * rng.uniform(0.3, 4.0, k)) @ q.T


def build_probes(seeds: tuple[int, ...] = PROBE_SEEDS) -> list[Probe]:
    """The probes: the suite's special structures and random MDPs with ``seeds``."""
    probes: list[Probe] = []

    def add(part: str, label: str, args: tuple, expected: Any, same: Callable = _close,
            kwargs: Optional[dict] = None, fvp: Optional[np.ndarray] = None) -> None:
        probes.append(Probe(part, label, args, kwargs or {}, expected, same, fvp))

    mdps: list[tuple[str, Any, Any, np.ndarray]] = []
    ex, ex_pol = example_mdp()
    mdps.append(("lecture example, theta = 0.4", ex, ex_pol, np.array([0.4])))
    ex1, ex1_pol = example_mdp(mu0=(1.0, 0.0))
    mdps.append(("lecture example, mu0 = (1, 0)", ex1, ex1_pol, np.array([0.3])))
    mdps.append(("unreachable state, masked action", *cases.unreachable_mdp()))
    mdps.append(("sampler chain", *cases.sampler_mdp()))
    for seed in seeds:
        rng = np.random.default_rng(seed)
        for k in (None, 4):
            mdp, policy = random_mdp(rng, 4, 3, k, gamma=0.85)
            mask = rng.random((4, 3)) < 0.7
            mask[np.arange(4), rng.integers(3, size=4)] = True
            policy = LogLinearPolicy(policy.phi, mask)
            theta = rng.standard_normal(policy.num_features)
            mdps.append((f"random MDP seed {seed}, {'tabular' if k is None else 'k = 4'}, masked", mdp, policy, theta))

    for seed in seeds:
        rng = np.random.default_rng(seed)
        p, q = _dirichlet(rng, (4, 5), zeros=True), _dirichlet(rng, (5,))
        add("kl_divergence", f"seed {seed}: batch with zeros", (p, q), ref_kl.kl_divergence(p, q))
        p2, q2 = _dirichlet(rng, (3, 6)), _dirichlet(rng, (3, 6), zeros=True)
        add("kl_divergence", f"seed {seed}: q with zeros (inf)", (p2, q2), ref_kl.kl_divergence(p2, q2))
        bp = np.concatenate([[0.0, 1.0], rng.uniform(0.0, 1.0, 6)])[:, None]
        bq = np.concatenate([[0.0, 1.0], rng.uniform(0.01, 0.99, 3)])[None, :]
        add("kl_bernoulli", f"seed {seed}: grid with 0 and 1", (bp, bq), ref_kl.kl_bernoulli(bp, bq))
        m1, m2 = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
        sig = rng.uniform(0.3, 3.0, 4)
        add("kl_gaussian", f"seed {seed}: sigma per row", (m1, m2, sig), ref_kl.kl_gaussian(m1, m2, sig))
        s0 = float(rng.uniform(0.3, 3.0))
        add("kl_gaussian", f"seed {seed}: scalar sigma", (m1, m2[0], s0), ref_kl.kl_gaussian(m1, m2[0], s0))
        F = _spd(rng, 5)
        g = rng.standard_normal(5)
        add("npg_direction", f"seed {seed}: damping 0.2", (F, g), ref_npg.npg_direction(F, g, 0.2),
            kwargs={"damping": 0.2})
        for iters in (2, 10):
            x = ref_npg.conjugate_gradient(lambda v, F=F: F @ v, g, iters=iters)
            add("conjugate_gradient", f"seed {seed}: iters = {iters}", (FVP(F), g), x, kwargs={"iters": iters}, fvp=F)
    zF = _spd(np.random.default_rng(1), 3)
    gs = 1e-5 * np.array([0.3, -0.2, 0.1])  # r^T r ~ 1e-11 from the start: only tol may stop CG
    add("conjugate_gradient", "|g| ~ 1e-5, tol = 1e-30", (FVP(zF), gs),
        ref_npg.conjugate_gradient(lambda v: zF @ v, gs, iters=3, tol=1e-30), kwargs={"iters": 3, "tol": 1e-30},
        fvp=zF)
    e1 = np.array([1.0, 0.0, 0.0])  # r^T r = 1 exactly at the start: a special value must not stop CG
    add("conjugate_gradient", "g = e1", (FVP(zF), e1), ref_npg.conjugate_gradient(lambda v: zF @ v, e1, iters=3),
        kwargs={"iters": 3}, fvp=zF)
    add("conjugate_gradient", "g = 0", (FVP(zF), np.zeros(3)), np.zeros(3), kwargs={"iters": 4}, fvp=zF)
    add("trust_region_step", "g = 0", (zF, np.zeros(3), 0.01), np.zeros(3))
    for scale in (1e-6, 1e-12):  # small but non-zero: the step is scale-invariant, a guard must not fire
        gs = scale * np.array([0.3, -0.2, 0.1])
        add("trust_region_step", f"|g| ~ {scale:g}", (zF, gs, 0.01), ref_npg.trust_region_step(zF, gs, 0.01),
            _direction_same(zF, gs))
    add("npg_direction", "F = 0, g = 0", (np.zeros((1, 1)), np.zeros(1)), np.zeros(1))

    for i, (label, mdp, policy, theta) in enumerate(mdps):
        theta2 = theta + 0.7 * np.random.default_rng(i).standard_normal(theta.shape)
        add("policy_kl", label, (mdp, policy, theta, theta2), ref_kl.policy_kl(mdp, policy, theta, theta2))
        add("score_function", label, (policy, theta), ref_fisher.score_function(policy, theta))
        add("score_function", label + ", |theta| ~ 500", (policy, 500 * theta),
            ref_fisher.score_function(policy, 500 * theta))
        F = ref_fisher.fisher_information(mdp, policy, theta)
        add("fisher_information", label, (mdp, policy, theta), F)
        seed = 7000 + i
        states, actions = ref_npg.sample_state_actions(mdp, policy, theta, SAMPLES, np.random.default_rng(seed))
        add("sample_state_actions", label, (mdp, policy, theta, SAMPLES, RNG(seed)), (states, actions),
            _sampler_same(mdp, policy, theta))
        add("fisher_estimate", label, (policy, theta, states[:300], actions[:300]),
            ref_fisher.fisher_estimate(policy, theta, states[:300], actions[:300]))
        g = policy_gradient(mdp, policy, theta)
        add("npg_direction", label, (F, g), ref_npg.npg_direction(F, g), _direction_same(F, g))
        if F.any():
            add("trust_region_step", label, (F, g, 0.03), ref_npg.trust_region_step(F, g, 0.03), _direction_same(F, g))
            k = len(g)
            x = ref_npg.conjugate_gradient(lambda v, F=F: F @ v, g, iters=k)
            add("conjugate_gradient", label, (FVP(F), g), x, kwargs={"iters": k}, fvp=F)
        add("natural_policy_gradient", label, (mdp, policy, theta, 0.03, 4),
            ref_npg.natural_policy_gradient(mdp, policy, theta, 0.03, 4), _trajectory_same(mdp, policy))
    return probes


_PROBES: Optional[list[Probe]] = None


def probe_submission(
    files: SubmissionFiles,
    *,
    limits: Optional[Limits] = None,
    isolation: Optional[Isolation] = None,
) -> tuple[bool, str, int]:
    """Run every probe against ``files`` in a sandbox.

    Returns ``(equivalent, first difference or "", number of probes run)``.
    """
    global _PROBES
    if _PROBES is None:
        _PROBES = build_probes()
    modules = {p.name: p.module for p in PARTS}
    functions = {p.name: p.func for p in PARTS}
    harness = INPUT_CHECK_SOURCE + f"\nFUNCTIONS = {[(p.module, p.func) for p in PARTS]!r}\n"
    files = SubmissionFiles({**files.files, f"{INPUT_CHECK_MODULE}.py": harness}, files.notebook_cells)
    with Sandbox(files, provided_files(ASSIGNMENT), limits or Limits(), isolation, [reference_folder()],
                 codecs=suite_codecs(ASSIGNMENT)) as box:
        for n, probe in enumerate(_PROBES, start=1):
            result = box.call(modules[probe.part], functions[probe.part], probe.args, probe.kwargs,
                              fvp_matrix=probe.fvp)
            if not result.ok:
                return False, f"{probe.part} ({probe.label}): {result.kind}: {result.error.splitlines()[-1:]}", n
            if not probe.same(result.value, probe.expected):
                return False, f"{probe.part} ({probe.label}): output differs from the reference", n
            # The same call again through the harness: did it change the caller's arguments?
            index = [p.name for p in PARTS].index(probe.part)
            flags = box.call(INPUT_CHECK_MODULE, "changed_arguments", (index, *probe.args), probe.kwargs,
                             fvp_matrix=probe.fvp)
            changed = _changed_names(probe, flags.value) if flags.ok else []
            if changed:
                return False, (f"{probe.part} ({probe.label}): modifies its argument(s) {', '.join(changed)} in "
                               "place (the output is right, the caller's data is not)"), n
    return True, "", len(_PROBES)


# A harness module added to the mutant's files for the probes. It runs in the sandbox next to the
# student's modules, calls one student function (by its index in PARTS: strings cannot be
# arguments) on the arguments as decoded in the child, and reports, per argument, whether the call
# changed it (arrays by content, MDPs and policies by their arrays). Generators (consumed on
# purpose) and callables (the Fisher-vector product) are skipped.
INPUT_CHECK_MODULE = "_audit_inputs"
INPUT_CHECK_SOURCE = '''"""Audit probe harness: which arguments does a call modify in place?"""
import copy
import importlib

import numpy as np


def _snapshot(value, depth=0):
    if isinstance(value, np.ndarray):
        return ("array", value.copy())
    if isinstance(value, (np.random.Generator, type(None))) or callable(value) or depth > 3:
        return ("skip", None)
    if isinstance(value, (list, tuple)):
        return ("seq", [_snapshot(v, depth + 1) for v in value])
    if hasattr(value, "__dict__"):
        return ("object", {k: _snapshot(v, depth + 1) for k, v in sorted(vars(value).items())})
    return ("value", copy.deepcopy(value))


def _same(value, snap, depth=0):
    kind, old = snap
    if kind == "skip":
        return True
    if kind == "array":
        return (isinstance(value, np.ndarray) and value.shape == old.shape and value.dtype == old.dtype
                and bool(np.array_equal(value, old, equal_nan=True)))
    if kind == "seq":
        return isinstance(value, (list, tuple)) and len(value) == len(old) and all(
            _same(v, s, depth + 1) for v, s in zip(value, old))
    if kind == "object":
        now = vars(value) if hasattr(value, "__dict__") else {}
        return set(now) == set(old) and all(_same(now[k], s, depth + 1) for k, s in old.items())
    try:
        return bool(value == old)
    except Exception:
        return False


def changed_arguments(index, *args, **kwargs):
    """1.0 for each positional then keyword argument (in order) that the call of FUNCTIONS[index]
    (module, function) changed, else 0.0."""
    module, func = FUNCTIONS[int(index)]
    function = getattr(importlib.import_module(module), func)
    values = list(args) + list(kwargs.values())
    snaps = [_snapshot(v) for v in values]
    function(*args, **kwargs)
    return np.array([0.0 if _same(v, s) else 1.0 for v, s in zip(values, snaps)])
'''


def _changed_names(probe: Probe, flags: Any) -> list[str]:
    """The names of the arguments that ``flags`` (from the harness) marks as changed."""
    import importlib
    import inspect

    from ..registry import get

    part = next(p for p in PARTS if p.name == probe.part)
    reference = importlib.import_module(f"{get(ASSIGNMENT).reference_module}.{part.module}")
    params = list(inspect.signature(getattr(reference, part.func)).parameters)
    names = params[:len(probe.args)] + list(probe.kwargs)
    values = np.asarray(flags, dtype=float).ravel()
    return [name for name, flag in zip(names, values) if flag > 0]
