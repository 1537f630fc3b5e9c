"""The audit's student-mistake operators (autograder/audit/mistakes.py): each writes the intended
mistake on a small snippet, and nothing else; on the reference every mutant is valid Python that
changes only its own function's solution block."""

from __future__ import annotations

import ast
import difflib
import textwrap
from collections import Counter

import pytest

from autograder.audit import OPERATORS, generate_mutants
from autograder.audit.mistakes import MISTAKE_OPERATORS
from autograder.audit.mutants import FAMILIES, mutants_of_source, solution_blocks
from autograder.demo.samples import reference_folder


def _mutants(source: str, operator: str):
    return mutants_of_source(textwrap.dedent(source).lstrip(), "snippet.py", [operator])


def _pairs(source: str, operator: str) -> set[tuple[str, str]]:
    return {(m.original, m.mutated) for m in _mutants(source, operator)}


def _run(mutant, name: str, *args):
    namespace: dict = {}
    exec(compile(mutant.source, "snippet.py", "exec"), namespace)  # our own generated snippet, not user input
    return namespace[name](*args)


def test_families_split_the_operators():
    assert set(MISTAKE_OPERATORS) == {"alias", "guard", "early_return", "loop_bounds", "broadcast", "stale",
                                      "confused_name", "ignored_param"}
    assert {o for o, f in FAMILIES.items() if f == "student"} == set(MISTAKE_OPERATORS)
    assert set(FAMILIES) == set(OPERATORS)
    assert Counter(FAMILIES.values())["syntax"] == 8


ALIAS = """
import numpy as np


def f(policy, g: np.ndarray, a: np.ndarray, b: np.ndarray, delta: float):
    # BEGIN SOLUTION
    r = g.copy()
    m = np.mean(policy.phi, axis=1)
    psi = policy.phi - m
    s = np.sum((a - b) ** 2)
    step = delta / 2.0
    return r, psi, s, step
    # END SOLUTION
"""


def test_alias_writes_aliases_and_in_place_updates_of_arrays_only():
    pairs = _pairs(ALIAS, "alias")
    assert ("r = g.copy()", "r = g") in pairs
    assert ("psi = policy.phi - m", "psi = policy.phi; psi -= m") in pairs
    assert ("s = np.sum((a - b) ** 2)", "a -= b; s = np.sum((a) ** 2)") in pairs
    assert len(pairs) == 3  # delta is a float: `delta /= 2.0` would only rebind it, so no mutant


def test_alias_mutant_changes_the_callers_array():
    import numpy as np

    mutant = next(m for m in _mutants(ALIAS, "alias") if m.mutated == "a -= b; s = np.sum((a) ** 2)")
    a, b = np.array([3.0, 4.0]), np.array([1.0, 1.0])
    policy = type("P", (), {"phi": np.ones((2, 2, 1))})()
    _, _, s, _ = _run(mutant, "f", policy, np.zeros(2), a, b, 1.0)
    np.testing.assert_allclose(s, 13.0, rtol=1e-12)  # the returned value is right (exact small integers)
    np.testing.assert_array_equal(a, [2.0, 3.0])  # ... and the caller's array is not


GUARD = """
import numpy as np


def step(F, g, delta):
    # BEGIN SOLUTION
    v = F @ g
    total = float(g @ v)
    if not total > 0:
        return np.zeros_like(g)
    if total == 0.0:
        v = v * 2
    return np.sqrt(delta / total) * v
    # END SOLUTION
"""


def test_guard_writes_threshold_guards():
    pairs = _pairs(GUARD, "guard")
    assert pairs == {
        ("if not total > 0:", "if not total > 1e-8:"),
        ("if not total > 0:", "if np.allclose(g, 0):"),
        ("if not total > 0:", "if np.linalg.norm(g) < 1e-8:"),
        ("if total == 0.0:", "if abs(total) < 1e-8:"),
    }


def test_guard_mutant_zeroes_a_small_nonzero_step():
    import numpy as np

    mutant = next(m for m in _mutants(GUARD, "guard") if m.mutated == "if np.allclose(g, 0):")
    F, g = np.eye(2), np.array([1e-9, 0.0])
    np.testing.assert_array_equal(_run(mutant, "step", F, g, 0.01), [0.0, 0.0])
    assert _run(mutant, "step", F, 1e6 * g, 0.01)[0] > 0.09  # scale-invariant for larger g: 0.1 exactly


LOOP = """
def total(xs, n, start=0):
    # BEGIN SOLUTION
    s = 0.0
    for i in range(n):
        s = s + xs[i]
    for j in range(start, n):
        s = s + 0.0
    return s
    # END SOLUTION
"""


def test_early_return_puts_the_final_return_inside_each_loop():
    mutants = _mutants(LOOP, "early_return")
    assert [(m.original, m.mutated) for m in mutants] == [
        ("s = s + xs[i]", "s = s + xs[i] | return s"),
        ("s = s + 0.0", "s = s + 0.0 | return s"),
    ]
    assert _run(mutants[0], "total", [1.0, 2.0, 4.0], 3) == 1.0  # stops after the first iteration
    assert "        return s\n" in mutants[0].source  # indented as the loop body


def test_loop_bounds_are_off_by_one_both_ways():
    pairs = _pairs(LOOP, "loop_bounds")
    assert ("s = s + xs[i]", "s = s + xs[i - 1]") in pairs  # the loop index, see below
    assert {(o, n) for o, n in pairs if "range" in n} == {
        ("for i in range(n):", "for i in range(n - 1):"),
        ("for i in range(n):", "for i in range(1, n):"),
        ("for i in range(n):", "for i in range(n + 1):"),
        ("for j in range(start, n):", "for j in range(start, n - 1):"),
        ("for j in range(start, n):", "for j in range(start + 1, n):"),
        ("for j in range(start, n):", "for j in range(start, n + 1):"),
    }


def test_loop_index_off_by_one():
    source = """
    def trajectory(x0, steps):
        # BEGIN SOLUTION
        xs = [x0] * (steps + 1)
        for i in range(steps):
            xs[i + 1] = xs[i] + 1
        return xs
        # END SOLUTION
    """
    pairs = {(o, n) for o, n in _pairs(source, "loop_bounds") if "range" not in n}
    assert pairs == {("xs[i + 1] = xs[i] + 1", "xs[i] = xs[i] + 1"),
                     ("xs[i + 1] = xs[i] + 1", "xs[i + 1] = xs[i - 1] + 1")}


def test_broadcast_moves_the_new_axis():
    import numpy as np

    source = """
    def weights(d, pi):
        # BEGIN SOLUTION
        return d[:, None] * pi
        # END SOLUTION
    """
    (mutant,) = _mutants(source, "broadcast")
    assert mutant.mutated == "return d[None, :] * pi"
    d, square = np.array([0.25, 0.75]), np.full((2, 2), 0.5)
    assert not np.allclose(_run(mutant, "weights", d, square), d[:, None] * square)  # silently wrong if S == A
    with pytest.raises(ValueError):
        _run(mutant, "weights", d, np.full((2, 3), 1 / 3))  # and a shape error otherwise


STALE = """
def cg(fvp, g, iters: int = 10, tol: float = 1e-10):
    # BEGIN SOLUTION
    x = 0.0 * g
    r = 1.0 * g
    rr = r @ r
    for i in range(iters):
        z = fvp(r)
        r = r - z
        rr_new = r @ r
        x = x + r * (rr_new / rr) + g[i]
        rr = rr_new
    return x
    # END SOLUTION
"""


def test_stale_swaps_dependent_statements_drops_carried_updates_and_freezes_the_index():
    pairs = _pairs(STALE, "stale")
    assert ("r = r - z | rr_new = r @ r", "rr_new = r @ r | r = r - z") in pairs  # rr_new from the old r
    assert ("rr = rr_new", "pass") in pairs  # rr never updated
    assert ("r = r - z", "pass") in pairs
    assert ("x = x + r * (rr_new / rr) + g[i]", "x = x + r * (rr_new / rr) + g[0]") in pairs
    # z = fvp(r) then r = r - z: z is bound only in the loop, so its swap reads the previous z
    assert ("z = fvp(r) | r = r - z", "r = r - z | z = fvp(r)") in pairs
    for m in _mutants(STALE, "stale"):
        ast.parse(m.source)


def test_confused_name_uses_look_alike_locals_only():
    pairs = _pairs(STALE, "confused_name")
    assert ("rr = rr_new", "rr = rr") in pairs
    assert ("rr_new = r @ r", "rr_new = rr @ r") in pairs
    policy_kl = """
    import numpy as np


    def kl(policy, theta0, theta):
        # BEGIN SOLUTION
        pi0 = policy.probs(theta0)
        pi = policy.probs(theta)
        return np.sum(pi0 * np.log(pi0 / pi))
        # END SOLUTION
    """
    pairs = _pairs(policy_kl, "confused_name")
    assert ("pi0 = policy.probs(theta0)", "pi0 = policy.probs(theta)") in pairs
    assert ("pi = policy.probs(theta)", "pi = policy.probs(theta0)") in pairs
    assert not any("np" in new.replace("np.", "") for _, new in pairs)  # never a module or a global
    assert all("= pi" not in new.split("=")[0] for _, new in pairs)


def test_ignored_param_uses_the_default():
    pairs = _pairs(STALE, "ignored_param")
    assert pairs == {("for i in range(iters):", "for i in range(10):")}  # tol is never read in STALE


@pytest.fixture(scope="module")
def reference_mutants():
    return generate_mutants(operators=list(MISTAKE_OPERATORS))


def test_every_student_operator_mutates_the_reference(reference_mutants):
    assert set(Counter(m.operator for m in reference_mutants)) == set(MISTAKE_OPERATORS)
    ids = [m.id for m in reference_mutants]
    assert len(ids) == len(set(ids))
    # the examples are among them
    described = {(m.function, m.mutated.split("  #")[0].strip()) for m in reference_mutants}
    assert ("trust_region_step", "if np.allclose(g, 0):") in described
    assert ("conjugate_gradient", "r = g") in described
    assert ("natural_policy_gradient", "for i in range(iterations - 1):") in described


def test_student_mutants_are_valid_and_stay_in_their_solution_block(reference_mutants):
    for m in reference_mutants:
        ref = (reference_folder() / m.file).read_text()
        lo, hi = solution_blocks(ref)[m.function]
        old, new = ref.splitlines(), m.source.splitlines()
        assert 0 <= len(new) - len(old) <= 1, m.id  # at most one line inserted (early return)
        # (tag, i1, i2): old lines i1+1..i2 (1-based) replaced, or an insertion before old line i1+1
        changes = [(i1, i2) for tag, i1, i2, _, _ in difflib.SequenceMatcher(a=old, b=new).get_opcodes()
                   if tag != "equal"]
        assert 1 <= len(changes) <= 2, (m.id, changes)  # one line, two swapped lines, or one insertion
        assert all(lo - 1 <= i1 and i2 <= hi for i1, i2 in changes), (m.id, changes, (lo, hi))
        assert sum(i2 - i1 for i1, i2 in changes) <= 2, m.id
        assert ast.dump(ast.parse(m.source)) != ast.dump(ast.parse(ref)), m.id


def test_mutant_counts_per_family_match_the_readme():
    # README ("Audit the grading suite"): 275 syntax and 62 student-mistake mutants of the reference
    # (a student mutant identical to a syntax one is kept once, as the syntax one)
    counts = Counter(FAMILIES[m.operator] for m in generate_mutants())
    assert counts == {"syntax": 275, "student": 62}


def test_probes_include_small_nonzero_gradients():
    from autograder.audit.probes import build_probes

    probes = build_probes()
    assert len(probes) == 129  # the README's figure
    labels = {(p.part, p.label) for p in probes}
    assert {("trust_region_step", "|g| ~ 1e-06"), ("trust_region_step", "|g| ~ 1e-12"),
            ("conjugate_gradient", "|g| ~ 1e-5, tol = 1e-30")} <= labels
