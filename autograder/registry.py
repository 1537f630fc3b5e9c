"""The assignments this toolkit grades, found by their manifests (``assignment.json``).

An assignment is one *authored folder* holding its manifest, the reference modules with solution
markers, the notebook's text and the public cases, plus a *suite* package (see
``docs/assignments.md``). The manifest is the single source of the parts (function, file, points,
dependencies), the given files and the accepted file-name aliases; everything else derives from it.

Discovery: every ``assignment.json`` in the ``solutions`` package's folder and in its direct
subfolders, plus the folders listed in ``AUTOGRADER_ASSIGNMENTS`` (``os.pathsep``-separated). Only
JSON is read here (no reference code is imported), so ``autograder grade`` starts fast.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import importlib.util
import json
import os
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from .errors import UserError

MANIFEST_NAME = "assignment.json"
ENV_VAR = "AUTOGRADER_ASSIGNMENTS"
SUITES_PACKAGE = "autograder.suites"

__all__ = ["Assignment", "PartSpec", "assignments", "get", "detect", "resolve", "default", "selected",
           "load_assignment", "handout_folder", "file_names"]


@dataclass(frozen=True)
class PartSpec:
    """One function students implement, as the manifest declares it.

    ``depends_on``: the parts a typical solution calls (feedback says to fix those first).
    """

    function: str
    file: str
    points: float = 0.0
    depends_on: tuple[str, ...] = ()
    markdown: Optional[str] = None

    @property
    def module(self) -> str:
        """The import name of the part's file (``kl`` for ``kl.py``)."""
        return Path(self.file).stem


@dataclass
class Assignment:
    """One assignment: its authored folder and what its manifest says."""

    name: str
    title: str
    folder: Path
    # The suite package: a bare name is ``autograder.suites.<name>``; ``.sub`` a package in the authored
    # folder (imported as ``<folder name>.sub``, so a copy of the folder works under any name);
    # another dotted path is imported as is.
    suite: str
    reference: Optional[str]  # import path of the reference package ("." : the authored folder itself)
    given: list[str]
    aliases: dict[str, str]  # accepted file name -> the expected file it stands for
    parts: list[PartSpec]
    limits: dict[str, Any] = field(default_factory=dict)  # overrides of engine.sandbox.Limits
    notebook_file: Optional[str] = None
    raw: dict = field(default_factory=dict)
    import_root: Optional[Path] = None  # put on sys.path to import an external suite or reference

    @property
    def manifest_path(self) -> Path:
        return self.folder / MANIFEST_NAME

    @property
    def files(self) -> list[str]:
        """The student files, in the order their parts first appear."""
        return list(dict.fromkeys(p.file for p in self.parts))

    @property
    def suite_module(self) -> str:
        return self._absolute(self.suite) if "." in self.suite else f"{SUITES_PACKAGE}.{self.suite}"

    @property
    def reference_module(self) -> Optional[str]:
        return self._absolute(self.reference) if self.reference else None

    def _absolute(self, path: str) -> str:
        """``.sub`` -> ``<folder name>.sub``, ``.`` -> ``<folder name>``; other paths unchanged."""
        if not path.startswith("."):
            return path
        return self.folder.name + (path if path != "." else "")

    @property
    def handout(self) -> Path:
        """The generated student folder (``assignments/<name>``)."""
        return handout_folder(self.folder, self.name)

    def part(self, function: str) -> PartSpec:
        for p in self.parts:
            if p.function == function:
                return p
        raise KeyError(function)

    def aliases_of(self, file: str) -> list[str]:
        """The other names accepted for the expected file ``file``."""
        return [alias for alias, target in self.aliases.items() if target == file]

    def accepted_names(self) -> set[str]:
        """Every file name that marks a submission as one of this assignment."""
        names = set(self.files) | set(self.aliases)
        if self.notebook_file:
            names.add(self.notebook_file)
        return names

    def describe_files(self) -> str:
        """``"kl.py, fisher.py and npg.py (or npg.ipynb)"``: what students submit."""
        files = self.files
        text = files[0] if len(files) == 1 else ", ".join(files[:-1]) + " and " + files[-1]
        return text + (f" (or {self.notebook_file})" if self.notebook_file else "")

    def import_suite(self) -> types.ModuleType:
        """The suite package (it declares ``build(seeds)``, and optionally ``CODECS`` and ``CHILD_FILES``)."""
        self._importable()
        return importlib.import_module(self.suite_module)

    def import_reference(self) -> types.ModuleType:
        if not self.reference_module:
            raise UserError(f"{self.manifest_path}: no 'reference' package is declared")
        self._importable()
        return importlib.import_module(self.reference_module)

    def _importable(self) -> None:
        if self.import_root is not None and str(self.import_root) not in sys.path:
            sys.path.append(str(self.import_root))

    def make_limits(self, base: Any) -> Any:
        """``base`` (an ``engine.sandbox.Limits``) with the manifest's ``limits`` applied."""
        try:
            return dataclasses.replace(base, **self.limits)
        except TypeError as exc:
            names = ", ".join(f.name for f in dataclasses.fields(base))
            raise UserError(f"{self.manifest_path}: 'limits' holds an unknown key ({exc}); known: {names}") from None


def handout_folder(folder: Path, name: str) -> Path:
    """Where ``autograder assign`` writes the handout of the assignment authored in ``folder``:
    ``assignments/<name>`` beside the reference package (``solutions/`` and its subfolders give
    ``assignments/npg``, ``assignments/cartpole``); beside any other folder, ``../assignments/<name>``."""
    root = Path(folder).resolve().parent
    while (root / "__init__.py").is_file():  # a subfolder of the reference package
        root = root.parent
    return root / "assignments" / name


def _need(raw: dict, key: str, kind: type, where: Path) -> Any:
    if not isinstance(raw.get(key), kind):
        raise UserError(f"{where}: '{key}' must be a {kind.__name__}")
    return raw[key]


def load_assignment(folder: Path, import_root: Optional[Path] = None) -> Assignment:
    """Read and check ``folder/assignment.json``'s grading fields; raise UserError naming what is wrong.

    (``autograder.assign.manifest`` checks the fields that generating the handout needs.)"""
    folder = Path(folder).resolve()
    path = folder / MANIFEST_NAME
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"{path}: cannot read the assignment manifest ({exc.strerror or exc})") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    if not isinstance(raw, dict):
        raise UserError(f"{path}: the manifest must be a JSON object")
    name = str(_need(raw, "name", str, path))
    parts: list[PartSpec] = []
    for i, p in enumerate(_need(raw, "parts", list, path)):
        if not isinstance(p, dict) or not isinstance(p.get("function"), str) or not isinstance(p.get("file"), str):
            raise UserError(f"{path}: parts[{i}] needs 'function' and 'file' strings")
        points = p.get("points", 0)
        if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
            raise UserError(f"{path}: parts[{i}] ({p['function']}): 'points' must be a number >= 0")
        depends = p.get("depends_on", [])
        if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
            raise UserError(f"{path}: parts[{i}] ({p['function']}): 'depends_on' must be a list of part names")
        parts.append(PartSpec(p["function"], p["file"], points, tuple(depends), p.get("markdown")))
    functions = [p.function for p in parts]
    if len(set(functions)) != len(functions):
        raise UserError(f"{path}: a function is listed twice in 'parts'")
    for p in parts:
        unknown = [d for d in p.depends_on if d not in functions or d == p.function]
        if unknown:
            raise UserError(f"{path}: {p.function} depends on {', '.join(unknown)}, which is not another part")
    files = list(dict.fromkeys(p.file for p in parts))
    given = raw.get("given", [])
    if not isinstance(given, list) or not all(isinstance(g, str) for g in given):
        raise UserError(f"{path}: 'given' must be a list of file names")
    aliases = raw.get("aliases", {})
    if not isinstance(aliases, dict):
        raise UserError(f"{path}: 'aliases' must map accepted file names to expected ones")
    for alias, target in aliases.items():
        if target not in files or not alias.endswith(".py") or alias in files or alias in given:
            raise UserError(f"{path}: alias {alias!r} -> {target!r}: the target must be a student file and "
                            "the alias another .py name")
    limits = raw.get("limits", {})
    if not isinstance(limits, dict) or not all(isinstance(v, (int, float)) and v > 0 for v in limits.values()):
        raise UserError(f"{path}: 'limits' must map Limits fields to positive numbers")
    notebook = raw.get("notebook")
    suite = raw.get("suite", name)
    reference = raw.get("reference")
    if not isinstance(suite, str) or (reference is not None and not isinstance(reference, str)):
        raise UserError(f"{path}: 'suite' and 'reference' must be import paths")
    return Assignment(
        name=name,
        title=str(raw.get("title", name)),
        folder=folder,
        suite=suite,
        reference=reference,
        given=list(given),
        aliases=dict(aliases),
        parts=parts,
        limits=dict(limits),
        notebook_file=notebook.get("file") if isinstance(notebook, dict) else None,
        raw=raw,
        import_root=import_root,
    )


def _solutions_folder() -> Optional[Path]:
    """The folder of the ``solutions`` package, found without importing it."""
    try:
        spec = importlib.util.find_spec("solutions")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]).resolve()


def _manifest_folders() -> list[tuple[Path, Optional[Path]]]:
    """``(folder, import root)`` of every assignment: the reference package's, then the env var's."""
    found: list[tuple[Path, Optional[Path]]] = []
    solutions = _solutions_folder()
    if solutions is not None:
        if (solutions / MANIFEST_NAME).is_file():
            found.append((solutions, None))
        for sub in sorted(solutions.iterdir()):
            if sub.is_dir() and (sub / MANIFEST_NAME).is_file():
                found.append((sub.resolve(), None))
    for entry in os.environ.get(ENV_VAR, "").split(os.pathsep):
        if entry.strip():
            folder = Path(entry).resolve()
            if not (folder / MANIFEST_NAME).is_file():
                raise UserError(f"{ENV_VAR}: {folder} holds no {MANIFEST_NAME}")
            found.append((folder, folder.parent))
    return found


_CACHE: dict[tuple, dict[str, Assignment]] = {}


def assignments() -> dict[str, Assignment]:
    """Every registered assignment by name (manifests are read once per set of folders and mtimes)."""
    folders = _manifest_folders()
    key = tuple((str(f), str(r), (f / MANIFEST_NAME).stat().st_mtime_ns) for f, r in folders)
    if key not in _CACHE:
        found: dict[str, Assignment] = {}
        for folder, root in folders:
            assignment = load_assignment(folder, root)
            if assignment.name in found and found[assignment.name].folder != assignment.folder:
                raise UserError(f"two assignments are named {assignment.name!r}: {found[assignment.name].folder} "
                                f"and {folder}")
            found.setdefault(assignment.name, assignment)
        _CACHE[key] = found
    return _CACHE[key]


def _names(found: dict[str, Assignment]) -> str:
    return ", ".join(sorted(found)) or "none"


def get(name: str) -> Assignment:
    """The assignment called ``name``; UserError listing the registered ones otherwise."""
    found = assignments()
    if name not in found:
        raise UserError(f"no assignment named {name!r}; registered: {_names(found)}")
    return found[name]


def detect(file_names: Iterable[str]) -> Assignment:
    """The assignment whose expected files, their aliases or notebook the input holds.

    With none fitting exactly, names that differ only in case (``KL.py``), then names close to one
    (a typo), decide: the assignment most of the names are close to. With none fitting at all, the
    only registered assignment. Zero or several: UserError naming the choices.
    """
    found = assignments()
    names = {Path(n).name for n in file_names}
    fits = [a for a in found.values() if a.accepted_names() & names]
    if not fits:
        lowered = {n.lower() for n in names}
        fits = [a for a in found.values() if {x.lower() for x in a.accepted_names()} & lowered]
    if not fits:
        close = {a.name: sum(bool(difflib.get_close_matches(n.lower(), [x.lower() for x in a.accepted_names()],
                                                            n=1, cutoff=0.75)) for n in names)
                 for a in found.values()}
        best = max(close.values(), default=0)
        fits = [found[k] for k, v in close.items() if best and v == best]
    if len(fits) == 1:
        return fits[0]
    if not fits and len(found) == 1:
        return next(iter(found.values()))
    choices = "; ".join(f"--assignment {a.name} ({a.describe_files()})" for a in sorted(found.values(),
                                                                                           key=lambda a: a.name))
    which = "several assignments" if fits else "no assignment"
    shown = ", ".join(sorted(names)[:8]) or "no files"
    raise UserError(f"the input ({shown}) fits {which}; say which with one of: {choices or 'none registered'}")


def file_names(paths: Iterable[Path], limit: int = 100_000) -> list[str]:
    """The names of the files in ``paths`` (files, folders walked, zips' members), for ``detect``;
    at most ``limit`` (nothing is read but the listings)."""
    import zipfile

    names: list[str] = []
    for path in map(Path, paths):
        if path.is_file() and path.suffix.lower() == ".zip" and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                names += [Path(n).name for n in archive.namelist()[:limit]]
        elif path.is_dir():
            for _, _, files in os.walk(path):
                names += files
                if len(names) > limit:
                    break
        else:
            names.append(path.name)
    return names[:limit]


def default() -> Assignment:
    """The assignment a Python API call means when it names none: the only registered one, else the
    one authored in the reference package's own folder (``solutions/assignment.json``). The verbs
    ask for ``--assignment`` instead (see ``resolve``)."""
    found = assignments()
    if len(found) == 1:
        return next(iter(found.values()))
    solutions = _solutions_folder()
    for assignment in found.values():
        if assignment.folder == solutions:
            return assignment
    raise UserError(f"several assignments are registered; say which with --assignment NAME ({_names(found)})")


def resolve(name: Optional[str] = None, file_names: Optional[Iterable[str]] = None) -> Assignment:
    """``--assignment NAME`` if given; else the one the input's files fit (``detect``); else the only one."""
    if name:
        return get(name)
    if file_names is not None:
        return detect(file_names)
    found = assignments()
    if len(found) == 1:
        return next(iter(found.values()))
    raise UserError(f"several assignments are registered; say which with --assignment NAME ({_names(found)})")


def selected(name: Optional[str] = None) -> list[Assignment]:
    """``[get(name)]``, or every registered assignment (verbs that run for each: demo, assign)."""
    if name:
        return [get(name)]
    return list(assignments().values())
