"""The student environment: the packages (and versions) student code may import.

Declared once, in the assignment's manifest (``solutions/assignment.json``, key ``environment``)::

    "environment": {"python": "3.10 or newer", "packages": {"numpy": "2.2.6", "scipy": "1.15.3",
                    "matplotlib": "3.10.9"}, "use_instead": "numpy"}

The Gradescope bundle installs exactly these packages (plus the grader's own needs, see
``autograder/bundle/requirements.in``); the handout's README and ``check.py`` name them; the grader
turns an import of anything else into one clear line ("pandas is not available on the grading
server; use numpy") instead of a traceback, and ``grade``/``batch`` report where the machine they
run on differs from the declared environment.
"""

from __future__ import annotations

import ast
import contextlib
import contextvars
import functools
import json
import re
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Optional, TextIO

from .errors import UserError

__all__ = ["StudentEnvironment", "parse_environment", "report_differences", "student_environment"]

# Distribution name -> import name, where they differ (the names students would declare).
_IMPORT_NAMES = {"scikit-learn": "sklearn", "pyyaml": "yaml", "pillow": "PIL", "opencv-python": "cv2"}
_MISSING = re.compile(r"No module named '([A-Za-z0-9_.]+)'")


@dataclass(frozen=True)
class StudentEnvironment:
    """What student code may import besides the standard library and its own and the given files."""

    packages: tuple[tuple[str, str], ...]  # (distribution name, exact version), in manifest order
    python: str = "3.10 or newer"
    use_instead: str = "numpy"
    local: tuple[str, ...] = ()  # the assignment's own modules (student files, given files, notebook)

    @property
    def modules(self) -> frozenset[str]:
        """Top-level import names of the declared packages."""
        return frozenset(_IMPORT_NAMES.get(name.lower(), name.lower().replace("-", "_")) for name, _ in self.packages)

    def requirements(self) -> list[str]:
        """``name==version`` lines, for pip."""
        return [f"{name}=={version}" for name, version in self.packages]

    def describe(self) -> str:
        """One line for students: ``Python 3.10 or newer, its standard library, numpy 2.2.6 and scipy 1.15.3``."""
        names = [f"Python {self.python}", "its standard library"] + [f"{n} {v}" for n, v in self.packages]
        return ", ".join(names[:-1]) + " and " + names[-1]

    def outside(self, module: str) -> bool:
        """Whether importing ``module`` (dotted or not) reaches outside the environment."""
        top = module.split(".")[0]
        return top not in self.modules and top not in sys.stdlib_module_names

    def missing_module_message(self, error: str) -> Optional[str]:
        """One clear line for a ``ModuleNotFoundError`` in ``error`` (a traceback text), or None.

        A module outside the environment: "<m> is not available on the grading server; use numpy".
        A declared package missing on this machine: how to install the declared version.
        """
        found = _MISSING.search(error)
        if found is None:
            return None
        module = found.group(1)
        top = module.split(".")[0]
        for name, version in self.packages:
            if _IMPORT_NAMES.get(name.lower(), name.lower().replace("-", "_")) == top:
                return (f"{top} is available on the grading server ({name} {version}) but not installed on this "
                        f"machine: pip install {name}=={version}")
        if top in sys.stdlib_module_names or top in self.local:
            return None  # e.g. npg.py importing a kl.py that was not submitted: the traceback says it best
        return f"{top} is not available on the grading server; use {self.use_instead} (it has {self.describe()})"

    def undeclared_imports(self, sources: Mapping[str, str], local: Iterable[str] = ()) -> list[str]:
        """Top-level modules that ``sources`` (name -> Python text) import from outside the environment.

        ``local`` names modules that are not packages (the submission's own files, the given files).
        Found statically (``import x``, ``from x import y``; relative imports are local); text that
        does not parse is skipped (the grader reports the syntax error itself).
        """
        allowed = set(local) | set(self.local) | {Path(name).stem for name in sources}
        found: list[str] = []
        for text in sources.values():
            try:
                tree = ast.parse(text)
            except (SyntaxError, ValueError, RecursionError, MemoryError):  # absurd nesting: not ours to judge
                continue
            for node in ast.walk(tree):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                    names = [node.module]
                for name in names:
                    top = name.split(".")[0]
                    if top not in allowed and self.outside(top) and top not in found:
                        found.append(top)
        return found

    def local_differences(self) -> list[str]:
        """Where this interpreter differs from the declared environment, one line each."""
        lines = []
        for name, version in self.packages:
            try:
                here = metadata.version(name)
            except metadata.PackageNotFoundError:
                lines.append(f"{name} is not installed here (the grading server has {name} {version}): submissions "
                             f"that import it fail here only; pip install {name}=={version}")
                continue
            if here != version:
                lines.append(f"{name} {here} here, {version} on the grading server (results may differ in the "
                             "last digits)")
        return lines

    def as_dict(self) -> dict:
        """Plain data for the handout's ``public_cases.json`` (``check.py`` reads it)."""
        return {"python": self.python, "packages": dict(self.packages), "use_instead": self.use_instead,
                "modules": sorted(self.modules), "local": list(self.local), "description": self.describe()}


def parse_environment(raw: object, where: str = "assignment.json", local: Iterable[str] = ()) -> StudentEnvironment:
    """The ``environment`` entry of a manifest; raise UserError naming what is wrong.

    ``local``: the assignment's own module names (its student and given files)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("packages"), dict) or not raw["packages"]:
        raise UserError(f"{where}: 'environment' needs 'packages', e.g. {{\"numpy\": \"2.2.6\"}}")
    packages = []
    for name, version in raw["packages"].items():
        if not isinstance(version, str) or not re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", version):
            raise UserError(f"{where}: environment package {name!r} needs an exact version string, got {version!r}")
        packages.append((str(name), version))
    return StudentEnvironment(tuple(packages), python=str(raw.get("python", "3.10 or newer")),
                              use_instead=str(raw.get("use_instead", "numpy")),
                              local=tuple(sorted(set(local) | {"notebook"})))


# The manifest of the assignment being graded (set by the runner for a grade), for the messages
# made deep inside the checks; None: the reference package's own ``assignment.json``.
_CURRENT_MANIFEST: contextvars.ContextVar[Optional[Path]] = contextvars.ContextVar("manifest", default=None)


@contextlib.contextmanager
def grading_assignment(manifest: Path) -> Iterator[None]:
    """Within this block, ``student_environment()`` is the environment that ``manifest`` declares."""
    token = _CURRENT_MANIFEST.set(Path(manifest))
    try:
        yield
    finally:
        _CURRENT_MANIFEST.reset(token)


def student_environment(manifest: Optional[Path] = None) -> Optional[StudentEnvironment]:
    """The declared environment of the assignment (default: the one being graded, else the
    reference's ``assignment.json``), or None if its manifest declares none."""
    if manifest is None:
        manifest = _CURRENT_MANIFEST.get()
    if manifest is None:
        import solutions

        manifest = Path(solutions.__file__).parent / "assignment.json"
    return _environment_of(Path(manifest))


@functools.cache
def _environment_of(manifest: Path) -> Optional[StudentEnvironment]:
    raw = json.loads(Path(manifest).read_text(encoding="utf-8"))
    if "environment" not in raw:
        return None
    files = list(raw.get("given", [])) + [p.get("file", "") for p in raw.get("parts", []) if isinstance(p, dict)]
    return parse_environment(raw.get("environment"), str(manifest), [Path(f).stem for f in files if f])


def missing_module_line(error: str, manifest: Optional[Path] = None) -> Optional[str]:
    """The declared environment's one line for a ``ModuleNotFoundError`` traceback (e.g. "pandas is
    not available on the grading server; use numpy"), or None (no environment, or another error).
    ``manifest``: the assignment's (default: the reference's ``assignment.json``)."""
    environment = student_environment(manifest)
    return environment.missing_module_message(error) if environment is not None else None


def report_differences(stream: TextIO, manifest: Optional[Path] = None) -> list[str]:
    """Tell ``stream`` where this machine differs from the grading server (``grade`` and ``batch``
    grade with this machine's packages); returns the lines written. ``manifest``: the assignment's
    (default: see ``student_environment``)."""
    environment = student_environment(manifest)
    lines = [f"note: this machine differs from the grading server: {line}"
             for line in (environment.local_differences() if environment is not None else [])]
    for line in lines:
        print(line, file=stream)
    return lines
