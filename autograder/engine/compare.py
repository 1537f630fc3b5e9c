"""Comparing a student's output with the reference, and feedback that teaches.

Every failure message names the input (small inputs in full, big ones by seed and shape), the
expected and the obtained values, the tolerance, and -- where the wrong value matches an entry of
the suite's catalogue of known mistakes -- the mistake, with what to fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from .sandbox import CallResult
from .stats import Tolerance
from .suite import Outcome

DEFAULT = Tolerance()


@dataclass(frozen=True)
class Mistake:
    """A known mistake: ``title`` names it; ``hint`` says what the maths wants instead."""

    key: str
    title: str
    hint: str


# format_value's texts of numeric arrays, by (dtype, shape, bytes, max_items): the inputs of public
# cases are formatted again by every grade of a batch worker (array2string is ~0.2 ms an array, a
# fifth of a grade's grader-side time). Arrays larger than _FORMAT_CACHE_SIZE entries are summarised
# cheaply and not kept; the cache is emptied when it holds _FORMAT_CACHE_ENTRIES texts (hidden cases
# differ in every grade).
_FORMAT_CACHE: dict[tuple, str] = {}
_FORMAT_CACHE_SIZE = 4096
_FORMAT_CACHE_ENTRIES = 20_000


def matrix_tolerance(expected: np.ndarray) -> Tolerance:
    """rtol 1e-5 and atol 1e-6 of the largest entry (at least 1e-8) for a matrix (a Fisher matrix, a score).

    An entry of F is a sum of products of O(|F|max) terms: in single precision its error is a few
    float32 ulps (eps = 6e-8) of |F|max, whatever the entry's own size (a correct float32 submission
    failed the former atol 1e-8 on entries near 0 in about 1 hidden case in 150). The catalogued
    mistakes change F by a factor or a whole term, far outside this.
    """
    return Tolerance(rtol=1e-5, atol=max(1e-8, 1e-6 * float(np.abs(expected).max(initial=0.0))))


def array_literal(x: np.ndarray) -> str:
    """``np.array([...])`` that rebuilds ``x`` exactly (Python's shortest round-trip repr of each
    number), on one line whatever its rank."""
    text = repr(np.asarray(x).tolist())
    return "np.array(" + re.sub(r"\b(inf|nan)\b", r"np.\1", text) + ")"


def format_value(x: Any, max_items: int = 12) -> str:
    """A short, readable rendering of a number or array (summarised when large)."""
    if type(x) is np.ndarray and x.dtype.kind in "biuf" and x.size <= _FORMAT_CACHE_SIZE:
        key = (x.dtype.str, x.shape, x.tobytes(), max_items)
        text = _FORMAT_CACHE.get(key)
        if text is None:
            if len(_FORMAT_CACHE) >= _FORMAT_CACHE_ENTRIES:
                _FORMAT_CACHE.clear()
            text = _FORMAT_CACHE[key] = _format_value(x, max_items)
        return text
    return _format_value(x, max_items)


def _format_value(x: Any, max_items: int) -> str:
    if x is None:
        return "None"
    if isinstance(x, list):
        shown = ", ".join(format_value(v, max_items) for v in x[:max_items])
        return "(" + shown + (f", ... {len(x)} items in all" if len(x) > max_items else "") + ")"
    arr = np.asarray(x)
    if arr.ndim == 0:
        return np.array2string(arr, precision=8)
    if arr.size <= max_items:
        return np.array2string(arr, precision=8, separator=", ", suppress_small=False, max_line_width=100)
    flat = arr.astype(float).ravel() if arr.dtype.kind in "biuf" else arr.ravel()
    head = ", ".join(f"{v:.6g}" for v in flat[:6])
    finite = np.isfinite(flat) if flat.dtype.kind == "f" else np.ones(flat.shape, bool)
    stats = ""
    if flat.dtype.kind in "biuf" and finite.any():
        stats = f"; min {flat[finite].min():.6g}, max {flat[finite].max():.6g}"
    return f"array of shape {arr.shape}: [{head}, ...]{stats}"


_FAILURES = {
    "exception": "raised an exception",
    "not-implemented": "is not implemented yet (it raises NotImplementedError)",
    "missing": "was not found",
    "import": "could not be imported",
    "timeout": "did not finish in time",
    "crash": "crashed the Python process",
    "bad-output": "returned something that is not a number or a numeric array",
    "budget": "was not run: the submission's time budget ran out",
}


def call_failure(result: CallResult, func: str, inputs: str, reproduce: Optional[str] = None) -> Outcome:
    """The feedback for a call that gave no value (with the snippet that makes the call, if any)."""
    what = _FAILURES.get(result.kind, "failed")
    message = f"Your {func} {what}.\nInput: {inputs}"
    error = result.error
    if result.kind == "import" and error:
        from ..environment import missing_module_line

        error = missing_module_line(error) or error  # one line, not a traceback
    if error:
        message += f"\n{error}"
    if reproduce:
        message += "\nReproduce it in your notebook:\n    " + reproduce.replace("\n", "\n    ")
    return Outcome(False, message)


def _failed(reproduce: Optional[str], message: str) -> Outcome:
    """A failed outcome whose message ends with the snippet that reproduces the call, if any."""
    if reproduce:
        message += "\nReproduce it in your notebook:\n    " + reproduce.replace("\n", "\n    ")
    return Outcome(False, message)


def numeric_value(
    result: CallResult, func: str, inputs: str, shape: Optional[tuple[int, ...]] = None, integer: bool = False,
    reproduce: Optional[str] = None,
) -> tuple[Optional[np.ndarray], Optional[Outcome]]:
    """The call's value as a float (or integer) array of the expected shape, or the failure to report.

    A scalar may come back as a 0-d array, a Python number or a 1-element array. NaN and inf are
    allowed here (they are compared with the expected value, which may itself be inf).
    """
    if not result.ok:
        return None, call_failure(result, func, inputs, reproduce)
    value = result.value
    if value is None:
        expected = "a number" if shape == () else "an array"
        return None, _failed(reproduce, f"Your {func} returned None; expected {expected}"
                             " (is a return statement missing?).\nInput: " + inputs)
    if isinstance(value, list):
        return None, _failed(reproduce, f"Your {func} returned a sequence of {len(value)} items; "
                             f"expected {'a number' if shape == () else 'an array'}.\nInput: {inputs}")
    arr = np.asarray(value)
    if integer:
        if arr.dtype.kind not in "iub":
            if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
                arr = arr.astype(np.int64)
            else:
                return None, _failed(reproduce, f"Your {func} returned dtype {arr.dtype}; expected integers.\n"
                                     f"Input: {inputs}")
        arr = arr.astype(np.int64)
    else:
        arr = arr.astype(float)
    if shape is not None and arr.shape != shape:
        if shape == () and arr.size == 1:
            arr = arr.reshape(())
        else:
            return None, _failed(reproduce, f"Your {func} returned shape {arr.shape}; expected shape {shape}.\n"
                                 f"Input: {inputs}")
    return arr, None


def diagnose(got: np.ndarray, candidates: Sequence[tuple[Mistake, Any]], tol: Tolerance) -> Optional[Mistake]:
    """The first catalogued mistake whose value the obtained value matches."""
    for mistake, wrong in candidates:
        if wrong is None:
            continue
        try:
            wrong = np.asarray(wrong, dtype=float)
        except (TypeError, ValueError):
            continue
        if wrong.shape == got.shape and tol.close(got, wrong, equal_nan=True):
            return mistake
    return None


def mismatch(
    func: str,
    inputs: str,
    expected: Any,
    got: Any,
    tol: Tolerance = DEFAULT,
    mistake: Optional[Mistake] = None,
    reproduce: Optional[str] = None,
    detail: str = "",
    tolerance_text: Optional[str] = None,
) -> Outcome:
    """The feedback for a value that differs from the reference (``tolerance_text`` replaces the
    description of ``tol`` when the check compares something else than the values themselves)."""
    lines = [
        f"Your {func} gave a wrong value.",
        f"Input: {inputs}",
        f"Expected: {format_value(expected)}",
        f"Got:      {format_value(got)}",
        f"Tolerance: {tolerance_text or tol}",
    ]
    if detail:
        lines.append(detail)
    if mistake is not None:
        lines.append(f"Likely mistake: {mistake.title}. {mistake.hint}")
    if reproduce:
        lines.append("Reproduce it in your notebook:\n    " + reproduce.replace("\n", "\n    "))
    return Outcome(False, "\n".join(lines), mistake.key if mistake else None)


def expect_close(
    result: CallResult,
    expected: Any,
    *,
    func: str,
    inputs: str,
    tol: Tolerance = DEFAULT,
    mistakes: Sequence[tuple[Mistake, Any]] = (),
    reproduce: Optional[str] = None,
) -> Outcome:
    """Pass when the call returned ``expected`` (same shape, within ``tol``; inf must match inf)."""
    expected = np.asarray(expected, dtype=float)
    got, failure = numeric_value(result, func, inputs, shape=expected.shape, reproduce=reproduce)
    if failure is not None:
        return failure
    assert got is not None
    if tol.close(got, expected, equal_nan=False):
        return Outcome(True)
    return mismatch(func, inputs, expected, got, tol, diagnose(got, mistakes, tol), reproduce)
