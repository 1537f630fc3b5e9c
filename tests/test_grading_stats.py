"""One comparison/statistics module (``autograder/engine/stats.py``) for the grading suite, the audit
and the students' ``check.py``, which imports the handout's generated copy ``grading_stats.py``."""

from __future__ import annotations

import ast
import importlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as scipy_stats

from autograder.assign.api import STATS_FILE, STATS_HEADER, grading_stats_source
from autograder.assign.templates import check as check_module
from autograder.engine import stats
from autograder.engine.compare import expect_close
from autograder.engine.sandbox import CallResult
from autograder.suites.npg.npg_checks import _check_sampler

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = REPO / "assignments" / "npg"
SOURCE = REPO / "autograder" / "engine" / "stats.py"


# ----------------------------------------------------------------------------------------------
# The handout's copy
# ----------------------------------------------------------------------------------------------
def test_the_handout_copy_is_the_header_then_the_module_byte_for_byte() -> None:
    copy = (ASSIGNMENT / STATS_FILE).read_bytes()
    assert copy.startswith(STATS_HEADER.encode()) and "do not edit" in STATS_HEADER
    assert copy[len(STATS_HEADER.encode()):] == SOURCE.read_bytes()
    assert grading_stats_source().encode() == copy


def test_the_module_imports_only_numpy_and_the_standard_library() -> None:
    tree = ast.parse(SOURCE.read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and not node.level}
    assert not any(isinstance(node, ast.ImportFrom) and node.level for node in ast.walk(tree))
    assert imported <= {"__future__", "math", "dataclasses", "typing", "numpy"}, imported


def test_no_other_module_of_the_toolkit_defines_its_own_statistics_or_tolerance() -> None:
    """The chi-square tail, the G-test and the tolerance exist once: the suite, the audit and the
    check.py template import them (a second copy would drift, as check.py's unpooled G-test had)."""
    shared = {"chi2_sf", "g_test", "GTest", "Tolerance", "scale_of", "joint_counts"}
    defined = {}
    for path in sorted((REPO / "autograder").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in shared:
                defined.setdefault(node.name, []).append(str(path.relative_to(REPO)))
    assert defined == {name: ["autograder/engine/stats.py"] for name in shared}
    users = ["autograder/engine/compare.py", "autograder/suites/npg/npg_checks.py", "autograder/audit/probes.py",
             "autograder/assign/templates/check.py"]
    for user in users:
        text = (REPO / user).read_text(encoding="utf-8")
        assert re.search(r"^\s*from (\.|\.\.+engine\.|autograder\.engine\.)stats import", text, re.M), user
    assert "from grading_stats import" in (REPO / users[-1]).read_text(encoding="utf-8")


def test_check_py_uses_the_copy_in_a_folder_where_the_autograder_cannot_be_imported(tmp_path: Path) -> None:
    folder = tmp_path / "npg"
    shutil.copytree(ASSIGNMENT, folder, ignore=shutil.ignore_patterns("__pycache__"))
    script = ("import sys\nsys.modules['autograder'] = None  # any import of the autograder now fails\n"
              "import check, grading_stats\n"
              "print(check.g_test.__module__, check.g_test is grading_stats.g_test, check.Tolerance.__module__)\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=folder, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["grading_stats", "True", "grading_stats"]


# ----------------------------------------------------------------------------------------------
# check.py and the suite agree near the thresholds
# ----------------------------------------------------------------------------------------------
class _Answer:
    """A stand-in context whose student sampler returns the given (states, actions)."""

    def __init__(self, states: np.ndarray, actions: np.ndarray) -> None:
        self.value = [states, actions]

    def call(self, part: str, *args: object, **kwargs: object) -> CallResult:
        return CallResult("ok", value=self.value)


def _draws(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cells = np.repeat(np.arange(counts.size), counts.ravel().astype(int))
    return cells // counts.shape[1], cells % counts.shape[1]


def _scipy_p(counts: np.ndarray, pmf: np.ndarray) -> float:
    support = pmf.ravel() > 0
    n = counts.sum()
    return float(scipy_stats.power_divergence(counts.ravel()[support], n * pmf.ravel()[support],
                                              lambda_="log-likelihood").pvalue)


@pytest.mark.parametrize("case_id", ["sample_state_actions-1", "sample_state_actions-2"])
def test_check_py_and_the_suite_give_the_same_sampler_verdict_around_p_1e_6(case_id: str) -> None:
    data = json.loads((ASSIGNMENT / "public_cases.json").read_text(encoding="utf-8"))
    case = next(c for c in data["cases"] if c["id"] == case_id)
    mdp, policy, theta, n, _ = check_module.decode(case["args"], data["fixtures"],
                                                   lambda name: importlib.import_module(f"solutions.{name}"))
    pmf = np.asarray(check_module.decode(case["compare"]["pmf"], {}), dtype=float)
    suite_check = _check_sampler(lambda: (mdp, policy, theta), n, 0, "public case", None)
    # Exact expected counts, then k draws moved from the likeliest cell to the next: the p-value falls
    # through 1e-6 as k grows; take the k on both sides of the crossing.
    base = np.floor(n * pmf)
    base.ravel()[np.argmax(pmf)] += n - base.sum()
    order = np.argsort(pmf.ravel())[::-1]

    def moved(k: int) -> np.ndarray:
        counts = base.copy().ravel()
        counts[order[0]] -= k
        counts[order[1]] += k
        return counts.reshape(pmf.shape)

    crossing = next(k for k in range(n) if _scipy_p(moved(k), pmf) < stats.FALSE_FAILURE)
    verdicts = []
    for k in (crossing - 2, crossing - 1, crossing, crossing + 1):
        counts = moved(k)
        p = _scipy_p(counts, pmf)
        assert abs(p / stats.FALSE_FAILURE - 1) > 1e-6  # not so close that round-off could decide
        ok_check, lines = check_module._compare_categorical(case, None, _draws(counts), [])
        outcome = suite_check(_Answer(*_draws(counts)))
        assert ok_check == outcome.passed == (p >= stats.FALSE_FAILURE), (k, p, lines, outcome.message)
        verdicts.append(ok_check)
    assert verdicts == [True, True, False, False]


def test_check_py_pools_small_cells_as_the_suite_does() -> None:
    """Two cells expected 2 times each are pooled into one (``MIN_EXPECTED``) by both. Unpooled (as
    check.py's own G-test did), 13 to 18 draws in one of them gave p < 1e-6 while the suite passed."""
    pmf = np.array([[0.5, 0.4998], [1e-4, 1e-4]])
    n = 20000
    verdicts = []
    for drawn in range(0, 25):  # one rare cell drawn 0..24 times, the other never, the rest split evenly
        counts = np.array([[(n - drawn) // 2, (n - drawn) - (n - drawn) // 2], [drawn, 0]])
        case = {"compare": {"kind": "categorical", "pmf": pmf.tolist(), "n": n, "seed": 0}}
        ok, lines = check_module._compare_categorical(case, None, _draws(counts), [])
        assert ok == stats.g_test(counts, pmf).passes(), (drawn, lines)
        verdicts.append(ok)
    assert verdicts == [True] * 19 + [False] * 6


def test_check_py_and_the_suite_agree_on_closeness_at_the_tolerance_bound() -> None:
    """Values just inside and just outside ``atol + rtol |expected|`` (a margin of 1e-3 of the bound,
    2e-8 here, far above double round-off of 4e-16 at 2.0)."""
    tol = stats.Tolerance()
    case = {"rtol": tol.rtol, "atol": tol.atol}
    expected = np.array([2.0, -0.5])
    bound = tol.atol + tol.rtol * np.abs(expected)
    for factor, want in ((1 - 1e-3, True), (1 + 1e-3, False)):
        got = expected + factor * bound * np.array([1.0, 0.0])
        ok_check, _ = check_module._compare_allclose(case, expected, got, [])
        outcome = expect_close(CallResult("ok", value=got), expected, func="f", inputs="x", tol=tol)
        assert ok_check == outcome.passed == want, factor


# ----------------------------------------------------------------------------------------------
# The statistics against scipy
# ----------------------------------------------------------------------------------------------
def test_g_test_matches_scipy_when_no_cell_is_pooled() -> None:
    """Statistic and p-value to 1e-9 relative: both sum the same terms in double precision (~1e-15
    apart) and ``chi2_sf`` is within 1e-10 of scipy (``tests/test_engine_units.py``)."""
    rng = np.random.default_rng(5)
    for cells in (2, 3, 6, 12, 40):
        probs = rng.dirichlet(np.ones(cells))
        probs = 0.5 * probs + 0.5 / cells  # every cell expected >= 5 times at n = 5000
        for shift in (0.0, 0.02, 0.05):
            law = probs + shift * (np.arange(cells) == 0)
            counts = rng.multinomial(5000, law / law.sum())
            ours = stats.g_test(counts, probs)
            theirs = scipy_stats.power_divergence(counts, 5000 * probs, lambda_="log-likelihood")
            assert ours.cells == cells and ours.df == cells - 1
            np.testing.assert_allclose(ours.statistic, theirs.statistic, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(ours.p_value, theirs.pvalue, rtol=1e-9, atol=1e-300)


def test_g_test_with_pooled_cells_matches_scipy_on_the_pooled_table() -> None:
    probs = np.array([0.6, 0.3, 0.0996, 2e-4, 2e-4])  # at n = 10000 the last two are expected 2 times each
    counts = np.array([6100, 2950, 945, 3, 2])
    ours = stats.g_test(counts, probs)
    pooled_counts = np.array([6100, 2950, 945, 5])
    pooled_expected = 10000 * np.array([0.6, 0.3, 0.0996, 4e-4])
    theirs = scipy_stats.power_divergence(pooled_counts, pooled_expected, lambda_="log-likelihood")
    assert ours.cells == 4 and ours.df == 3
    np.testing.assert_allclose(ours.statistic, theirs.statistic, rtol=1e-9)
    np.testing.assert_allclose(ours.p_value, theirs.pvalue, rtol=1e-9)


def test_chi2_sf_matches_scipy_in_the_tail_where_the_verdicts_are_made() -> None:
    """Around p = 1e-6, 1e-3 and 1e-2 (the module's thresholds), to 1e-10 relative."""
    for df in (1, 2, 3, 5, 11, 39):
        for p in (stats.FALSE_FAILURE, stats.DIAGNOSIS_P_VALUE, stats.EQUIVALENT_P_VALUE):
            x = float(scipy_stats.chi2.isf(p, df))
            np.testing.assert_allclose(stats.chi2_sf(x, df), scipy_stats.chi2.sf(x, df), rtol=1e-10, atol=0)


# ----------------------------------------------------------------------------------------------
# Closeness
# ----------------------------------------------------------------------------------------------
def test_tolerance_matches_infinities_and_nans_only_with_their_kind() -> None:
    tol = stats.Tolerance(rtol=1e-9, atol=1e-12)
    want = np.array([1.0, np.inf, np.nan])
    assert tol.close([1.0, np.inf, np.nan], want, equal_nan=True)
    assert not tol.close([1.0, np.inf, np.nan], want)  # nan only with equal_nan
    assert not tol.close([1.0, -np.inf, np.nan], want, equal_nan=True)
    assert not tol.close([1.0, 1e300, np.nan], want, equal_nan=True)
    assert not tol.close([1.0, np.inf], want, equal_nan=True)  # shape
    assert not tol.close(["a", "b", "c"], want)  # not numeric: False, not an error


def test_scaled_tolerance_and_scale_of() -> None:
    want = np.array([1e6, -3e6, np.inf, np.nan])
    assert stats.scale_of(want) == pytest.approx(3e6, rel=1e-15)
    assert stats.scale_of([np.nan, np.inf]) == 0.0
    tol = stats.Tolerance(rtol=0.0, atol=1e-12).scaled(stats.scale_of(want))
    assert tol.atol == pytest.approx(3e-6, rel=1e-12)
    assert tol.close(want + np.array([2e-6, 2e-6, 0.0, 0.0]), want, equal_nan=True)
    assert not tol.close(want + np.array([4e-6, 0.0, 0.0, 0.0]), want, equal_nan=True)


def test_joint_counts_counts_each_drawn_cell() -> None:
    counts = stats.joint_counts((np.array([0, 1, 1, 2, 1]), np.array([1, 0, 0, 1, 1])), (3, 2))
    np.testing.assert_array_equal(counts, [[0, 1], [2, 1], [0, 1]])
