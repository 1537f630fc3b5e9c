"""The catalogue of test submissions, made from the reference so they stay in step with it.

A submission is a :class:`Spec`: the reference's student files (``kl.py``, ``fisher.py``,
``npg.py``, written by :func:`autograder.demo.samples.materialise`) with

* a folder of *partial* files under ``tests/submissions/<folder>/``: each top-level function there
  replaces the reference function of the same name (or is appended when new), and its imports and
  constants are added after the reference's imports. Correct-but-different submissions are written
  this way, as whole functions that are linted like the rest of the code;
* text patches ``(file, old, new)``, applied after the folder (a patch whose old text is gone
  fails loudly);
* whole files replaced or deleted (``files``);
* a *base* folder of whole student files (``base``) used instead of the reference's: the
  submissions that independent testers wrote from the handout alone (``strangers/``) are their
  correct files, verbatim, and their mistakes are text patches on them (or whole folders). A base
  holding a notebook is graded as that notebook alone.

A spec also states what the grade must show: the parts that lose points and the catalogue keys
their feedback must name (``lose``), the parts that fail only because they call a failing part
and whose feedback must say so (``dependent``), and text the feedback must contain (``mention``).
Every part not listed must keep full marks.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from autograder.demo.samples import Sample, materialise

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Spec:
    """One test submission and what its grade must show."""

    name: str
    description: str
    patches: tuple[tuple[str, str, str], ...] = ()  # (file, old text, new text)
    folder: Optional[str] = None  # partial files under tests/submissions/<folder>/
    files: tuple[tuple[str, Optional[str]], ...] = ()  # (file, whole new text or None to delete)
    lose: dict[str, tuple[str, ...]] = field(default_factory=dict)  # part -> catalogue keys it must name
    dependent: tuple[str, ...] = ()  # parts failing because a part they call fails: the note must say so
    mention: dict[str, tuple[str, ...]] = field(default_factory=dict)  # part -> text its feedback contains
    call_seconds: Optional[float] = None  # a short per-call limit (infinite loops)
    base: Optional[str] = None  # whole student files under tests/submissions/<base>/ replace the reference's


def merge_functions(reference: str, partial: str) -> str:
    """``reference`` with each top-level function of ``partial`` put in place of its namesake.

    New functions are appended; ``partial``'s imports and module-level assignments go after the
    reference's last top-level import (``from __future__`` imports are dropped).
    """
    ref_tree = ast.parse(reference)
    part_tree = ast.parse(partial)
    part_lines = partial.splitlines(keepends=True)

    def segment(node: ast.stmt) -> str:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        return "".join(part_lines[first - 1:node.end_lineno])

    functions = {n.name: segment(n) for n in part_tree.body if isinstance(n, ast.FunctionDef)}
    header = [
        segment(n) for n in part_tree.body
        if (isinstance(n, (ast.Import, ast.Assign, ast.AnnAssign))
            or (isinstance(n, ast.ImportFrom) and n.module != "__future__"))
    ]
    lines = reference.splitlines(keepends=True)
    spans = []
    for node in ref_tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in functions:
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            spans.append((first, node.end_lineno, functions.pop(node.name)))
    for first, last, text in sorted(spans, reverse=True):
        lines[first - 1:last] = [text]
    text = "".join(lines)
    if functions:
        text = text.rstrip("\n") + "\n\n\n" + "\n\n\n".join(functions.values())
    if header:
        imports = [n for n in ast.parse(text).body if isinstance(n, (ast.Import, ast.ImportFrom))]
        at = max(n.end_lineno for n in imports) if imports else 0
        lines = text.splitlines(keepends=True)
        lines[at:at] = ["\n"] + header + ["\n"]
        text = "".join(lines)
    ast.parse(text)  # a bad partial file fails here, not as a surprising grade
    return text


def build(spec: Spec, dest: Path) -> Path:
    """Write ``spec`` as a student's folder ``dest`` and return it."""
    materialise(Sample(spec.name, spec.description), dest)
    if spec.base is not None:
        notebooks = sorted((HERE / spec.base).glob("*.ipynb"))
        if notebooks:  # a notebook submission: the notebook alone, no .py files beside it
            for student_file in dest.glob("*.py"):
                student_file.unlink()
        for whole in sorted((HERE / spec.base).glob("*.py")) + notebooks:
            (dest / whole.name).write_text(whole.read_text(encoding="utf-8"), encoding="utf-8")
    if spec.folder is not None:
        folder = HERE / spec.folder
        partials = sorted(folder.glob("*.py"))
        if not partials:
            raise FileNotFoundError(f"{folder} holds no partial .py files")
        for partial in partials:
            target = dest / partial.name
            target.write_text(merge_functions(target.read_text(encoding="utf-8"),
                                              partial.read_text(encoding="utf-8")), encoding="utf-8")
    for name, old, new in spec.patches:  # after the folder, so patches can change its functions too
        target = dest / name
        text = target.read_text(encoding="utf-8")
        if old not in text:
            raise RuntimeError(f"submission {spec.name!r}: {old!r} no longer appears in {name}; update the spec")
        target.write_text(text.replace(old, new, 1), encoding="utf-8")
    for name, text in spec.files:
        if text is None:
            (dest / name).unlink()
        else:
            (dest / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return dest


class InProcessContext:
    """A stand-in for the sandbox's :class:`~autograder.engine.suite.Context` that imports a
    submission's modules into this process (tests only: it is fast, and our own code is trusted).

    Values still go through the sandbox's codec, so what a check sees is what it sees in a grade
    (e.g. float32 stays float32). Use it to run a suite's checks for many hidden-seed identities.
    """

    def __init__(self, folder: Path, suite: object) -> None:
        import importlib
        import shutil
        import sys

        import solutions.mdp

        shutil.copyfile(solutions.mdp.__file__, folder / "mdp.py")
        names = ("mdp", "kl", "fisher", "npg")
        saved = {n: sys.modules.pop(n) for n in names if n in sys.modules}
        sys.path.insert(0, str(folder))
        try:
            self.modules = {n: importlib.import_module(n) for n in names}
        finally:
            sys.path.remove(str(folder))
            for n in names:
                sys.modules.pop(n, None)
            sys.modules.update(saved)
        self.suite = suite

    def call(self, part: str, *args: object, fvp: object = None, timeout: object = None, **kwargs: object) -> object:
        import numpy as np

        from autograder.engine import child as codec
        from autograder.engine.sandbox import FVP, RNG, CallResult

        p = self.suite.part(part)
        calls = []

        def product(v: object) -> object:
            calls.append(1)
            return fvp @ np.asarray(codec.decode(codec.encode(v)), dtype=float)

        def convert(a: object) -> object:
            if isinstance(a, RNG):
                return np.random.default_rng(a.seed)
            if isinstance(a, FVP):
                return product
            return a

        func = getattr(self.modules[p.module], p.func, None)
        if func is None:
            return CallResult("missing", error=f"{p.func} is not defined")
        try:
            value = func(*[convert(a) for a in args], **{k: convert(v) for k, v in kwargs.items()})
            value = codec.decode(codec.encode(value))
        except Exception as exc:  # noqa: BLE001 - reported like the sandbox reports it
            return CallResult("exception", error=f"{type(exc).__name__}: {exc}")
        return CallResult("ok", value=value, fvp_calls=len(calls))


def run_in_process(folder: Path, secret: bytes, identity: str) -> list[tuple[str, str, object]]:
    """Run every check of the NPG suite for ``identity`` in-process; return the failures as
    ``(part, check name, outcome)``."""
    from autograder.engine.suite import Seeds
    from autograder.suites.npg import build as build_suite

    suite = build_suite(Seeds(secret, identity))
    context = InProcessContext(folder, suite)
    failures = []
    for check in suite.checks:
        outcome = check.run(context)
        if not outcome.passed:
            failures.append((check.part, check.name, outcome))
    return failures


def grade_all(specs: Sequence[Spec], root: Path, secret: bytes, workers: int = 4) -> dict[str, object]:
    """Grade ``specs`` concurrently (each grade mostly waits on its sandbox child); returns
    ``{name: (report, results)}``, or ``{name: exception}`` for a grade that raised."""
    from concurrent.futures import ThreadPoolExecutor

    from autograder.engine.sandbox import Limits
    from autograder.grade import grade

    def one(spec: Spec) -> object:
        try:
            limits = Limits(call_seconds=spec.call_seconds, submission_seconds=30) if spec.call_seconds else None
            return grade(build(spec, root / spec.name), secret=secret, limits=limits)
        except Exception as exc:  # noqa: BLE001 - re-raised by the test of this submission
            return exc

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(zip([s.name for s in specs], pool.map(one, specs)))
