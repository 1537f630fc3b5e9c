"""Numeric comparisons and statistical tests: one module for the grader, the audit and check.py.

numpy and the standard library only, and no import of the autograder: ``autograder assign`` copies
this file into every handout as ``grading_stats.py`` (with a header saying it is generated), and the
students' ``check.py`` imports that copy. So the public checks, the grading suite and the mutation
audit judge with the same code and the same thresholds, which are named once, below.

* Closeness: ``|got - expected| <= atol + rtol * |expected|`` elementwise (numpy's ``isclose``), an
  infinity matching only the same infinity; ``Tolerance.scaled`` multiplies ``atol`` by the size of
  the values compared, for outputs whose scale depends on the input.
* Goodness of fit: the G-test of observed counts against exact cell probabilities, with its
  chi-square tail probability computed from the regularised incomplete gamma function (Numerical
  Recipes' "gammq": a series below a + 1, a continued fraction above), since the grader must not
  depend on scipy (Gradescope installs stay small and fast). ``tests/`` checks both against scipy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

__all__ = [
    "DEFAULT_RTOL",
    "DEFAULT_ATOL",
    "FALSE_FAILURE",
    "DIAGNOSIS_P_VALUE",
    "EQUIVALENT_P_VALUE",
    "EQUIVALENCE_RTOL",
    "EQUIVALENCE_ATOL",
    "MIN_EXPECTED",
    "REACHABLE",
    "Tolerance",
    "scale_of",
    "joint_counts",
    "chi2_sf",
    "GTest",
    "g_test",
]

# ----------------------------------------------------------------------------------------------
# The thresholds, each defined here only.
# ----------------------------------------------------------------------------------------------
# Default tolerance of a value check (a check that needs another one states it, with the reason).
DEFAULT_RTOL = 1e-5
DEFAULT_ATOL = 1e-8
# A sampler check fails when its G-test's p-value is below this: a correct sampler fails a check
# with probability at most 1e-6 (the README's "Students" section states it).
FALSE_FAILURE = 1e-6
# A failing sampler is named as the catalogued wrong sampler whose distribution its counts fit best,
# provided that fit has a p-value above this.
DIAGNOSIS_P_VALUE = 1e-3
# The audit: a surviving mutant's sampler is "probably equivalent" when its draws fit the exact
# distribution with a p-value above this on every probe (a stricter bar than the grading's).
EQUIVALENT_P_VALUE = 0.01
# The audit: a surviving mutant's outputs must match the reference's to rtol 1e-9 and atol 1e-12
# times the output's scale (see ``scale_of``) to count as probably equivalent.
EQUIVALENCE_RTOL = 1e-9
EQUIVALENCE_ATOL = 1e-12
# G-test cells expected fewer times than this are pooled, so that the chi-square asymptotics hold.
MIN_EXPECTED = 5.0
# A state is reachable when its discounted visiting probability d(s) exceeds this; unreachable
# states carry no weight in J, F or the policy KL, so policies are compared on reachable states only.
REACHABLE = 1e-12


# ----------------------------------------------------------------------------------------------
# Closeness.
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tolerance:
    """``|got - expected| <= atol + rtol * |expected|``, elementwise (numpy's allclose)."""

    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL

    def __str__(self) -> str:
        return f"|got - expected| <= atol + rtol * |expected| with rtol={self.rtol:g}, atol={self.atol:g}"

    def within(self, got: Any, expected: Any, equal_nan: bool = False) -> np.ndarray:
        """Which entries are close: a boolean array of the broadcast shape of ``got`` and ``expected``.

        ``inf`` is close only to the same ``inf``; ``nan`` only to ``nan``, and only with ``equal_nan``.
        """
        with np.errstate(invalid="ignore", over="ignore"):
            return np.isclose(np.asarray(got, dtype=float), np.asarray(expected, dtype=float),
                              rtol=self.rtol, atol=self.atol, equal_nan=equal_nan)

    def close(self, got: Any, expected: Any, equal_nan: bool = False) -> bool:
        """True when ``got`` has the shape of ``expected`` and every entry is ``within`` tolerance
        (False, not an error, when ``got`` is not numeric)."""
        try:
            got = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            return False
        expected = np.asarray(expected, dtype=float)
        if got.shape != expected.shape:
            return False
        return bool(np.all(self.within(got, expected, equal_nan)))

    def scaled(self, scale: float) -> Tolerance:
        """The same ``rtol`` with ``atol`` multiplied by ``scale`` (e.g. the largest entry expected)."""
        return Tolerance(self.rtol, self.atol * scale)


def scale_of(x: Any) -> float:
    """``max_i |x_i|`` over the finite entries of ``x`` (any shape); 0.0 when there is none."""
    arr = np.asarray(x, dtype=float)
    finite = np.isfinite(arr)
    return float(np.abs(arr[finite]).max()) if finite.any() else 0.0


def joint_counts(indices: Sequence[Any], shape: tuple[int, ...]) -> np.ndarray:
    """How often each cell was drawn: ``counts[i_1, ..., i_r] = #{n : indices[k][n] = i_k for all k}``.

    ``indices`` holds r integer arrays of one length N (draw n is the cell ``(indices[0][n], ...)``),
    each within ``shape``; the result is a float array of ``shape`` (rank r) summing to N.
    """
    counts = np.zeros(shape)
    np.add.at(counts, tuple(np.asarray(i) for i in indices), 1.0)
    return counts


# ----------------------------------------------------------------------------------------------
# Goodness of fit.
# ----------------------------------------------------------------------------------------------
def chi2_sf(x: float, df: int) -> float:
    """``Pr(X >= x)`` for ``X ~ chi-square(df)``, accurate to about 1e-12 relative.

    ``Q(df / 2, x / 2)``, the regularised upper incomplete gamma function.
    """
    if df < 1:
        raise ValueError("df must be >= 1")
    if x <= 0:
        return 1.0
    a, z = 0.5 * df, 0.5 * x
    if z < a + 1.0:
        return 1.0 - _lower_series(a, z)
    return _upper_fraction(a, z)


def _lower_series(a: float, x: float) -> float:
    term = total = 1.0 / a
    ap = a
    for _ in range(10_000):
        ap += 1.0
        term *= x / ap
        total += term
        if abs(term) < abs(total) * 1e-16:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _upper_fraction(a: float, x: float) -> float:
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


@dataclass(frozen=True)
class GTest:
    """The result of a G-test (likelihood-ratio goodness of fit)."""

    statistic: float
    df: int
    p_value: float
    cells: int

    def passes(self, alpha: float = FALSE_FAILURE) -> bool:
        """The sampler check's verdict: ``p_value >= alpha`` (draws from the exact distribution fail
        with probability at most ``alpha``)."""
        return self.p_value >= alpha


def g_test(counts: np.ndarray, probs: np.ndarray, min_expected: float = MIN_EXPECTED) -> GTest:
    """G-test of observed ``counts`` against cell probabilities ``probs`` (same shape, any rank).

    ``G = 2 sum_i O_i log(O_i / E_i)`` with ``E_i = n p_i``, asymptotically chi-square with
    (cells - 1) degrees of freedom. Cells with expected counts below ``min_expected`` are pooled
    into one cell so the asymptotics hold. Counts in cells of probability 0 make the p-value 0.
    """
    counts = np.asarray(counts, dtype=float).ravel()
    probs = np.asarray(probs, dtype=float).ravel()
    n = counts.sum()
    if n <= 0:
        raise ValueError("no samples")
    if np.any(counts[probs <= 0] > 0):
        return GTest(math.inf, 0, 0.0, int(probs.size))
    expected = probs * n
    keep = expected >= min_expected
    obs = list(counts[keep])
    exp = list(expected[keep])
    pooled_exp = expected[~keep & (probs > 0)].sum()
    if pooled_exp > 0:
        obs.append(counts[~keep & (probs > 0)].sum())
        exp.append(pooled_exp)
    o = np.asarray(obs)
    e = np.asarray(exp)
    with np.errstate(all="ignore"):  # log(0) in the cells never drawn, discarded by the where
        terms = np.where(o > 0, o * np.log(o / e), 0.0)
    statistic = float(2.0 * terms.sum())
    df = max(1, len(o) - 1)
    return GTest(statistic, df, chi2_sf(statistic, df), len(o))
