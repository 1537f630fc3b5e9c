"""Remember what pure reference functions returned, per process, by the value of their arguments.

A batch or audit worker grades many submissions in a row, and every grade recomputes the same
reference values for the public cases (the lecture example, public random MDPs, edge cases): they do
not depend on the submission. :func:`remember` wraps a pure function so that a call with arguments
equal to an earlier call's (same types, dtypes, shapes and bytes; ``gamma`` by its exact bits)
returns a copy of the earlier result instead of computing it again. Hidden cases differ in every
grade, so they only miss; the memory is emptied when it holds ``max_entries`` results.

Arguments that have no value-key (callables, random generators, arbitrary objects) make the call
go straight to the function, as do exceptions (nothing is remembered for a call that raised).
Results are copied both ways (in and out), so no caller can change what another one gets.
"""

from __future__ import annotations

import copy
import functools
from typing import Any, Callable, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])

# Classes whose instances are keyed by their attributes (plain data: the MDP and the policy).
VALUE_MODULES = ("solutions.mdp",)


class _NoKey(Exception):
    """An argument that cannot be keyed by its value."""


def value_key(value: Any) -> Any:
    """A hashable key equal for two arguments exactly when they hold the same data.

    Arrays: dtype, shape and bytes (so ``-0.0`` and ``0.0`` differ); floats by their bits; tuples and
    lists element by element; instances of the classes of :data:`VALUE_MODULES` by class and
    attributes. Raises _NoKey for anything else."""
    if type(value) is np.ndarray:
        return ("nd", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, np.generic):
        return ("np", value.dtype.str, value.tobytes())
    if value is None or type(value) in (bool, int, str):
        return (type(value).__name__, value)
    if type(value) is float:
        return ("float", value.hex())
    if type(value) in (tuple, list):
        return (type(value).__name__, tuple(value_key(v) for v in value))
    if type(value).__module__ in VALUE_MODULES and hasattr(value, "__dict__"):
        return (type(value).__qualname__, tuple((k, value_key(v)) for k, v in sorted(vars(value).items())))
    raise _NoKey(type(value).__name__)


def _copy(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.copy()
    if type(value) in (tuple, list):
        return type(value)(_copy(v) for v in value)
    if value is None or isinstance(value, (bool, int, float, str, np.generic)):
        return value
    return copy.deepcopy(value)


def remember(fn: F, max_entries: int = 2048) -> F:
    """``fn`` (a pure function) with a per-process memory of its results, keyed by argument values."""
    results: dict[Any, Any] = {}

    @functools.wraps(fn)
    def remembered(*args: Any, **kwargs: Any) -> Any:
        try:
            key = (value_key(args), value_key(sorted(kwargs.items())))
        except _NoKey:
            return fn(*args, **kwargs)
        if key in results:
            return _copy(results[key])
        value = fn(*args, **kwargs)
        if len(results) >= max_entries:
            results.clear()
        results[key] = _copy(value)
        return value

    remembered.forget = results.clear  # type: ignore[attr-defined]
    return remembered  # type: ignore[return-value]


class RememberedModule:
    """A module's functions through :func:`remember` (``RememberedModule(solutions.npg).npg_direction``)."""

    def __init__(self, module: Any) -> None:
        self._module = module
        self._functions: dict[str, tuple[Any, Any]] = {}  # name -> (function, remembered)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._module, name)
        if not callable(value) or isinstance(value, type):
            return value
        known = self._functions.get(name)
        if known is None or known[0] is not value:  # first use, or the module's function was replaced
            known = self._functions[name] = (value, remember(value))
        return known[1]
