"""Goodness-of-fit tests for graded samplers, in numpy and the standard library only.

The grader must not depend on scipy (Gradescope installs stay small and fast), so the chi-square
tail probability is computed from the regularised incomplete gamma function (Numerical Recipes,
"gammq": a series below a + 1, a continued fraction above). ``tests/`` checks it against scipy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def chi2_sf(x: float, df: int) -> float:
    """``Pr(X >= x)`` for ``X ~ chi-square(df)``, accurate to about 1e-12 relative."""
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


def g_test(counts: np.ndarray, probs: np.ndarray, min_expected: float = 5.0) -> GTest:
    """G-test of observed ``counts`` against cell probabilities ``probs`` (same shape, any rank).

    ``G = 2 sum_i O_i log(O_i / E_i)``, asymptotically chi-square with (cells - 1) degrees of
    freedom. Cells with expected counts below ``min_expected`` are pooled into one cell so the
    asymptotics hold. Counts in cells of probability 0 make the p-value 0.
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
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(o > 0, o * np.log(o / e), 0.0)
    statistic = float(2.0 * terms.sum())
    df = max(1, len(o) - 1)
    return GTest(statistic, df, chi2_sf(statistic, df), len(o))
