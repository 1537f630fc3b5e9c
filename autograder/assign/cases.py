"""Public cases: evaluate the reference on the authored inputs and store everything as JSON.

The reference folder's cases module (``public_cases.py``, named by the manifest) defines:

* ``FIXTURES``: ``name -> {"module": "mdp", "function": "example_mdp", "args": [...],
  "kwargs": {...}, "names": ["mdp", "policy"]}``, objects built by the *given* code (both the
  generator and the students' ``check.py`` build them the same way);
* ``CASES``: a list of ``{"part": function, "description": str, "args": [...], "kwargs": {...},
  "compare": {"kind": "allclose"}, "rtol": 1e-5, "atol": 1e-8}``. Inputs may hold numpy arrays,
  floats (``inf`` too), tuples, and the references ``{"$fixture": name, "item": i}``,
  ``{"$rng": seed}``, ``{"$matvec": matrix, "max_calls": n}``. A case may give ``"expected"``
  itself; otherwise the reference function computes it. Comparison kinds are those of the
  students' ``check.py``: ``allclose``, ``direction``, ``policy_trajectory``, ``categorical``.

The stored JSON holds inputs, expected values, readable input summaries and a snippet that
reproduces the call; it never holds reference code.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import json
import math
import sys
import types
from pathlib import Path
from typing import Any, Callable

import numpy as np

from autograder.assign.manifest import Manifest
from autograder.assign.templates import check as check_template
from autograder.errors import UserError

DEFAULT_RTOL = 1e-5
DEFAULT_ATOL = 1e-8


def load_source_package(source_dir: Path) -> str:
    """Make ``source_dir`` importable as a fresh package (its ``__init__`` is not run); return its name.

    Relative imports between the reference modules (``from .mdp import ...``) work as in the real
    package; earlier loads of the same folder are discarded, so edits are always seen.
    """
    source_dir = Path(source_dir).resolve()
    name = "_assign_src_" + hashlib.sha1(str(source_dir).encode()).hexdigest()[:12]
    for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
        del sys.modules[key]
    package = types.ModuleType(name)
    package.__path__ = [str(source_dir)]  # type: ignore[attr-defined]
    package.__package__ = name
    sys.modules[name] = package
    importlib.invalidate_caches()
    return name


def import_source_module(package: str, stem: str) -> types.ModuleType:
    """Import ``stem`` from the package made by :func:`load_source_package`."""
    try:
        return importlib.import_module(f"{package}.{stem}")
    except Exception as exc:
        raise UserError(f"could not import the reference module {stem}.py: {type(exc).__name__}: {exc}") from exc


# ----------------------------------------------------------------------------------------------
# JSON encoding (the inverse of check.decode).
# ----------------------------------------------------------------------------------------------
def _plain_float(x: float) -> Any:
    return x if math.isfinite(x) else str(x)  # "inf", "-inf", "nan"


def encode(value: Any) -> Any:
    """Encode inputs/outputs as JSON-able data that ``check.decode`` turns back into them."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            flat = [_plain_float(float(v)) for v in value.ravel()]
            data = np.array(flat, dtype=object).reshape(value.shape).tolist() if value.ndim else flat[0]
            dtype = "float64"
        elif value.dtype.kind in "iu":
            data, dtype = value.astype(np.int64).tolist(), "int64"
        elif value.dtype.kind == "b":
            data, dtype = value.tolist(), "bool"
        else:
            raise UserError(f"cannot store an array of dtype {value.dtype} in the public cases")
        return {"$array": data, "dtype": dtype, "shape": list(value.shape)}
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else {"$float": str(value)}
    if isinstance(value, tuple):
        return {"$tuple": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if value is None or isinstance(value, str):
        return value
    raise UserError(f"cannot store a {type(value).__name__} in the public cases")


# ----------------------------------------------------------------------------------------------
# Readable renderings: a short summary for feedback, and Python source for the snippet.
# ----------------------------------------------------------------------------------------------
def _src_number(x: Any) -> str:
    if isinstance(x, float) and not math.isfinite(x):
        return "np.nan" if math.isnan(x) else ("np.inf" if x > 0 else "-np.inf")
    return repr(x)


def _src_nested(x: Any) -> str:
    if isinstance(x, list):
        return "[" + ", ".join(_src_nested(v) for v in x) + "]"
    return _src_number(x)


def _fixture_call(spec: dict, fixtures: dict) -> str:
    args = [source(a, fixtures) for a in spec.get("args", [])]
    args += [f"{k}={source(v, fixtures)}" for k, v in spec.get("kwargs", {}).items()]
    return f"{spec['function']}({', '.join(args)})"


def source(value: Any, fixtures: dict) -> str:
    """Python source that rebuilds a decoded-JSON ``value`` in a notebook (``np`` and mdp imported)."""
    if isinstance(value, dict):
        if "$array" in value:
            arr = check_template.decode(value, fixtures)
            body = _src_nested(arr.tolist())
            return f"np.array({body}, dtype=bool)" if value["dtype"] == "bool" else f"np.array({body})"
        if "$float" in value:
            return _src_number(float(value["$float"]))
        if "$tuple" in value:
            items = [source(v, fixtures) for v in value["$tuple"]]
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        if "$rng" in value:
            return f"np.random.default_rng({value['$rng']})"
        if "$matvec" in value:
            return f"(lambda v: {source(value['$matvec'], fixtures)} @ v)"
        if "$fixture" in value:
            spec = fixtures[value["$fixture"]]
            names = spec.get("names")
            item = value.get("item")
            if names and item is not None:
                return names[item]
            call = _fixture_call(spec, fixtures)
            return call if item is None else f"{call}[{item}]"
        return "{" + ", ".join(f"{k!r}: {source(v, fixtures)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(source(v, fixtures) for v in value) + "]"
    return _src_number(value)


def summary(value: Any, fixtures: dict) -> str:
    """A short description of an input for feedback: small arrays in full, big ones by shape."""
    if isinstance(value, dict):
        if "$array" in value and int(np.prod(value["shape"])) > 12:
            return f"array of shape {tuple(value['shape'])}, dtype {value['dtype']}"
        if "$matvec" in value:
            return f"v -> M @ v with M {summary(value['$matvec'], fixtures)}"
        if "$fixture" in value:
            spec = fixtures[value["$fixture"]]
            call = _fixture_call(spec, fixtures)
            item = value.get("item")
            return call if item is None else f"{call}[{item}]"
    text = source(value, fixtures)
    return text.removeprefix("np.array(").removesuffix(")") if text.startswith("np.array([") else text


def snippet(part: str, args: list, kwargs: dict, fixtures: dict) -> str:
    """Lines that rebuild the inputs and call ``part``, to paste into the notebook."""
    lines: list[str] = []
    used: list[str] = []

    def collect(v: Any) -> None:
        if isinstance(v, dict):
            if "$fixture" in v and v["$fixture"] not in used:
                used.append(v["$fixture"])
            for w in v.values():
                collect(w)
        elif isinstance(v, list):
            for w in v:
                collect(w)

    collect(args)
    collect(kwargs)
    for name in used:
        spec = fixtures[name]
        if spec.get("names"):
            lines.append(f"{', '.join(spec['names'])} = {_fixture_call(spec, fixtures)}")
    call_args = [source(a, fixtures) for a in args] + [f"{k}={source(v, fixtures)}" for k, v in kwargs.items()]
    lines.append(f"{part}({', '.join(call_args)})")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# Building public_cases.json.
# ----------------------------------------------------------------------------------------------
def build_public_cases(manifest: Manifest, package: str) -> dict:
    """Evaluate the reference on every authored case and return the JSON-able public data."""
    stem = Path(manifest.public_cases).stem
    authored = import_source_module(package, stem)
    fixtures = encode(getattr(authored, "FIXTURES", {}))
    raw_cases = getattr(authored, "CASES", None)
    where = manifest.path(manifest.public_cases)
    if not isinstance(raw_cases, list) or not raw_cases:
        raise UserError(f"{where}: define CASES, a non-empty list of case dicts")

    def import_given(name: str) -> types.ModuleType:
        return import_source_module(package, name)

    known = {p.function: p for p in manifest.parts}
    counters: dict[str, int] = {}
    cases = []
    for i, raw in enumerate(raw_cases):
        part = raw.get("part")
        if part not in known:
            raise UserError(f"{where}: CASES[{i}] names an unknown part {part!r}")
        counters[part] = counters.get(part, 0) + 1
        case_id = f"{part}-{counters[part]}"
        args = json.loads(json.dumps(encode(list(raw.get("args", [])))))
        kwargs = json.loads(json.dumps(encode(dict(raw.get("kwargs", {})))))
        compare = encode(raw.get("compare", {"kind": "allclose"}))
        if compare.get("kind") not in check_template.COMPARATORS:
            raise UserError(f"{where}: CASES[{i}] ({case_id}): unknown comparison {compare.get('kind')!r}")
        reference: Callable = getattr(import_source_module(package, known[part].module), part)
        decoded_args = check_template.decode(args, fixtures, import_given)
        decoded_kwargs = check_template.decode(kwargs, fixtures, import_given)
        if "expected" in raw:
            expected = raw["expected"]
        else:
            try:
                expected = reference(*decoded_args, **decoded_kwargs)
            except Exception as exc:
                raise UserError(
                    f"{where}: CASES[{i}] ({case_id}): the reference raised {type(exc).__name__}: {exc}"
                ) from exc
        try:
            bound = inspect.signature(reference).bind(*args, **kwargs)
        except TypeError as exc:
            raise UserError(f"{where}: CASES[{i}] ({case_id}): arguments do not fit {part}: {exc}") from exc
        case = {
            "id": case_id,
            "part": part,
            "description": str(raw.get("description", case_id)),
            "args": args,
            "kwargs": kwargs,
            "inputs": [[name, summary(v, fixtures)] for name, v in bound.arguments.items()],
            "expected": json.loads(json.dumps(encode(expected))),
            "compare": compare,
            "rtol": float(raw.get("rtol", DEFAULT_RTOL)),
            "atol": float(raw.get("atol", DEFAULT_ATOL)),
            "snippet": snippet(part, args, kwargs, fixtures),
        }
        _self_check(case, reference, fixtures, import_given, where)
        cases.append(case)
    return {
        "assignment": manifest.name,
        "generated_by": "autograder assign (from the instructors' reference; do not edit)",
        "parts": {p.function: {"module": p.module} for p in manifest.parts},
        "fixtures": fixtures,
        "cases": cases,
    }


def _self_check(case: dict, reference: Callable, fixtures: dict, import_given: Callable, where: Path) -> None:
    """The reference must pass its own public case (this catches a wrong stored pmf, say)."""
    args = check_template.decode(case["args"], fixtures, import_given)
    kwargs = check_template.decode(case["kwargs"], fixtures, import_given)
    got = reference(*args, **kwargs)
    expected = check_template.decode(case["expected"], fixtures, import_given)
    compare = check_template.COMPARATORS[case["compare"]["kind"]]
    ok, lines = compare(case, expected, got, args)
    if not ok:
        raise UserError(f"{where}: {case['id']}: the reference fails its own public case:\n" + "\n".join(lines))
