"""CartPole submissions for the suite's tests: the reference with fixture functions swapped in, and an
in-process stand-in for the engine's ``Context`` (tests only; the real one runs a sandbox).

``submission_files(["fisher_per_step"])`` is the reference's ``utils.py`` and ``train.py`` as a
student submits them (``from utils import ...``), with each named fixture's functions appended to
the file that holds that function (``sample``, ``train``: ``train.py``; the others: ``utils.py``),
so they replace the reference's (a wrong ``compute_softmax`` is then
also what ``compute_action_distribution`` calls, as in a real submission).
"""

from __future__ import annotations

import ast
import random
import re
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from autograder.engine import child as codec
from autograder.suites import cartpole as suite_package

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "solutions" / "cartpole"
FIXTURES = Path(__file__).parent / "fixtures"
TRAIN_FUNCTIONS = {"sample", "train", "make_env"}


def fixture_path(name: str) -> Path:
    for folder in ("cartpole_mistakes", "cartpole_harmless", "cartpole_submissions"):
        path = FIXTURES / folder / f"{name}.py"
        if path.is_file():
            return path
    raise FileNotFoundError(name)


def _as_student_code(text: str) -> str:
    """A fixture's code as it reads inside a submission: its imports of the reference dropped (the
    names are defined in the same or the sibling file), ``solutions.cartpole.train`` -> this module."""
    text = re.sub(r"^from solutions\.cartpole\.(utils|train) import .*$", "", text, flags=re.M)
    return text.replace('importlib.import_module("solutions.cartpole.train")', '__import__("sys").modules[__name__]')


def submission_files(fixtures: tuple[str, ...] | list[str] = ()) -> dict[str, str]:
    """``{"utils.py": ..., "train.py": ...}``: the reference with the fixtures' functions appended."""
    files = {
        "utils.py": (REFERENCE / "utils.py").read_text(encoding="utf-8"),
        "train.py": (REFERENCE / "train.py").read_text(encoding="utf-8").replace("from .utils", "from utils"),
    }
    for name in fixtures:
        text = _as_student_code(fixture_path(name).read_text(encoding="utf-8"))
        tree = ast.parse(text)
        # imports and module-level names go with every function (``_train_module = ...``)
        shared = [ast.get_source_segment(text, n) for n in tree.body if not isinstance(n, ast.FunctionDef)]
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef):
                continue
            target = "train.py" if node.name in TRAIN_FUNCTIONS else "utils.py"
            body = "\n".join(s for s in shared if s) + "\n\n\n" + (ast.get_source_segment(text, node) or "")
            files[target] += f"\n\n# ---- {name}: {node.name} ----\n" + body + "\n"
    return files


# ---------------------------------------------------------------------------------------------
# An in-process Context (tests only).
# ---------------------------------------------------------------------------------------------
@dataclass
class FakeResult:
    kind: str
    value: Any = None
    error: str = ""
    reports: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


def _wire(value: Any) -> Any:
    """What the value becomes after crossing the sandbox boundary (tuples become lists, numbers arrays)."""
    return codec.decode(codec.encode(value))


class FakeContext:
    """``call(part, *args, seed=None, patch=None)`` as the engine's Context, run in this process.

    Codec objects (the suite's ``CODECS``) become ``grading_env`` objects, as the child builds them;
    results and reports go through the wire codec. ``calls`` counts the calls per part.
    """

    def __init__(self, files: dict[str, str]) -> None:
        self.modules: dict[str, types.ModuleType] = {}
        saved = sys.modules.get("utils")
        try:
            for name in ("utils.py", "train.py"):
                module = types.ModuleType(name[:-3])
                module.__file__ = name
                sys.modules[name[:-3]] = module
                exec(compile(files[name], name, "exec"), module.__dict__)  # noqa: S102 - our own fixtures
                self.modules[name[:-3]] = module
        finally:
            sys.modules.pop("train", None)
            if saved is not None:
                sys.modules["utils"] = saved
            else:
                sys.modules.pop("utils", None)
        self.suite = suite_package.build
        self.calls: dict[str, int] = {}
        from autograder.suites.cartpole import grading_env

        self.grading_env = grading_env
        self.codecs = {c.type: c for c in suite_package.CODECS}

    def _argument(self, value: Any) -> Any:
        c = self.codecs.get(type(value))
        if c is not None:
            kwargs = {k: self._argument(v) for k, v in c.kwargs(value).items()}
            return getattr(self.grading_env, c.cls)(**kwargs)
        if isinstance(value, np.ndarray):
            return value.copy()
        if isinstance(value, (list, tuple)):
            return [self._argument(v) for v in value]
        return value

    def call(self, part: str, *args: Any, seed: Optional[int] = None, patch: Optional[dict] = None,
             timeout: Optional[float] = None, **kwargs: Any) -> FakeResult:
        self.calls[part] = self.calls.get(part, 0) + 1
        module = self.modules["train" if part in TRAIN_FUNCTIONS else "utils"]
        fn = getattr(module, part, None)
        if fn is None:
            return FakeResult("missing", error=f"{part} was not found")
        patched = {name: self._argument(obj) for name, obj in (patch or {}).items()}
        saved = {name: module.__dict__.get(name) for name in patched}
        for name, obj in patched.items():  # as the sandbox child: a stand-in is given the function it replaces
            if saved[name] is not None and callable(getattr(obj, "wrap", None)):
                obj.wrap(saved[name])
        module.__dict__.update(patched)
        if seed is not None:
            np.random.seed(seed)
            random.seed(seed)
        try:
            with np.errstate(all="ignore"):
                value = fn(*[self._argument(a) for a in args], **{k: self._argument(v) for k, v in kwargs.items()})
            value = _wire(value)
        except NotImplementedError:
            return FakeResult("not-implemented")
        except Exception as exc:  # noqa: BLE001 - a student's exception is a result
            return FakeResult("exception", error=f"{type(exc).__name__}: {exc}")
        finally:
            module.__dict__.update(saved)
        reports = {name: _wire(obj.report()) for name, obj in patched.items() if hasattr(obj, "report")}
        return FakeResult("ok", value, reports=reports)


def grade_in_process(files: dict[str, str], identity: str = "test", parts: Optional[set[str]] = None) -> dict[str, Any]:
    """Run every check (of ``parts`` only, if given) on ``files`` with the FakeContext, scored by the
    engine's own rules (runner._score): ``{"report": GradeReport, "points": {part: score}, "context": ...}``."""
    from autograder.engine import runner
    from autograder.engine.suite import Seeds

    suite = suite_package.build(Seeds(b"cartpole-tests", identity))
    if parts is not None:
        suite.parts = [p for p in suite.parts if p.name in parts]
        suite.checks = [c for c in suite.checks if c.part in parts]
    ctx = FakeContext(files)
    results = []
    for check in suite.checks:
        outcome = check.run(ctx)
        results.append(runner.CheckResult(check, outcome, 0.0, 0.0, 0.0))
    report = runner.GradeReport(suite, results, submission=None, identity=identity, isolation="in-process")  # type: ignore[arg-type]
    runner._score(report)
    return {"report": report, "points": {k: v[0] for k, v in report.part_scores().items()}, "context": ctx}
