"""Generate the student assignment from the reference, and check that it is up to date.

``solutions/`` (reference with ``# BEGIN SOLUTION`` markers and ``assignment.json``) ->
``assignments/<name>/``: the templates, the given code, ``check.py`` with ``public_cases.json``,
``test_public.py``, ``README.md`` and the notebook; plus the instructors' solution notebook,
written back into the reference folder and executed.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Optional, Union

import nbformat
from nbformat.notebooknode import NotebookNode

from autograder.assign.cases import build_public_cases, import_source_module, load_source_package
from autograder.assign.manifest import Manifest, load_manifest
from autograder.assign.markers import MarkedSource, parse_markers, render
from autograder.assign.notebook import (
    build_notebook,
    execute_notebook,
    rewrite_relative_imports,
    strip_outputs,
)
from autograder.errors import UserError
from autograder.fileio import write_text_atomic

PathLike = Union[str, "os.PathLike[str]"]
DEFAULT_SOURCE = "solutions"
TEMPLATE_FILES = ("check.py", "test_public.py")
IGNORED = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache"}
# public_cases.json is compared numerically: the last bits of a float may differ between BLAS builds.
JSON_RTOL = 1e-8
JSON_ATOL = 1e-10


@dataclass
class Rendered:
    """Everything ``generate_assignment`` writes, in memory."""

    manifest: Manifest
    out_dir: Path
    files: dict[str, str] = field(default_factory=dict)
    solution_path: Optional[Path] = None
    solution_notebook: Optional[NotebookNode] = None


@dataclass
class GenerationResult:
    """Where the assignment went, and whether the solution notebook was executed."""

    out_dir: Path
    files: list[str]
    solution_notebook: Optional[Path]
    executed: bool


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def default_out_dir(source_dir: PathLike, manifest: Optional[Manifest] = None) -> Path:
    """``assignments/<name>`` beside the reference package (``assignments/npg`` next to
    ``solutions/``; see :func:`autograder.registry.handout_folder`)."""
    from autograder.registry import handout_folder

    manifest = manifest or load_manifest(Path(source_dir))
    return handout_folder(Path(source_dir), manifest.name)


def render_assignment(source_dir: PathLike = DEFAULT_SOURCE, out_dir: Optional[PathLike] = None) -> Rendered:
    """Build every generated file in memory (nothing is written)."""
    source = Path(source_dir)
    manifest = load_manifest(source)
    out = Path(out_dir) if out_dir is not None else default_out_dir(source, manifest)
    rendered = Rendered(manifest=manifest, out_dir=out)

    sources: dict[str, MarkedSource] = {}
    for file in manifest.given + manifest.modules:
        sources[file] = parse_markers(source / file, _display(source / file))
    for file in manifest.given:
        if sources[file].blocks:
            block = sources[file].blocks[0]
            raise UserError(f"{sources[file].display}:{block.begin}: a given file must not hold {block.kind} markers")
    listed = {p.function for p in manifest.parts}
    for file in manifest.modules:
        found = sources[file].solution_functions
        for name in found:
            if name not in listed:
                raise UserError(
                    f"{sources[file].display}: {name} has a solution block but is not a part in assignment.json"
                )
        for p in manifest.parts:
            if p.file == file and p.function not in found:
                raise UserError(f"{sources[file].display}: part {p.function} has no solution block in this file")

    for file in manifest.given:
        rendered.files[file] = rewrite_relative_imports((source / file).read_text(encoding="utf-8"))
    for file in manifest.modules:
        rendered.files[file] = rewrite_relative_imports("\n".join(render(sources[file], solution=False)) + "\n")

    package = load_source_package(source)
    given_all: dict[str, list[str]] = {}
    for file in manifest.given:
        module = import_source_module(package, Path(file).stem)
        given_all[Path(file).stem] = list(getattr(module, "__all__", []))
    public = build_public_cases(manifest, package)
    if manifest.environment is not None:  # check.py names it and explains imports outside it
        public["environment"] = manifest.environment.as_dict()
    aliases = manifest.raw.get("aliases") or {}  # accepted file name -> the expected file it stands for
    if aliases:  # check.py imports a module under either accepted name (npg_utils for utils)
        public["aliases"] = {Path(target).stem: sorted(Path(a).stem for a, t in aliases.items() if t == target)
                             for target in sorted(set(aliases.values()))}
    rendered.files["public_cases.json"] = json.dumps(public, indent=1, allow_nan=False) + "\n"
    templates = resources.files("autograder.assign.templates")
    for name in TEMPLATE_FILES:
        rendered.files[name] = templates.joinpath(name).read_text(encoding="utf-8")

    if manifest.readme:
        table = "\n".join(
            ["| part (function) | file |", "| --- | --- |"]
            + [f"| `{p.function}` | `{p.file}` |" for p in manifest.parts]
        )
        text = manifest.path(manifest.readme).read_text(encoding="utf-8")
        text = text.replace("{{parts}}", table)
        if manifest.environment is not None:
            text = text.replace("{{environment}}", manifest.environment.describe())
        rendered.files["README.md"] = text

    if manifest.notebook is not None:
        nb = build_notebook(manifest, sources, given_all, solution=False, out_dir=out)
        rendered.files[manifest.notebook["file"]] = nbformat.writes(nb) + "\n"
        if manifest.notebook.get("solution"):
            rendered.solution_path = manifest.path(manifest.notebook["solution"])
            rendered.solution_notebook = build_notebook(manifest, sources, given_all, solution=True, out_dir=out)
    return rendered


def generate_assignment(
    source_dir: PathLike = DEFAULT_SOURCE,
    out_dir: Optional[PathLike] = None,
    *,
    execute: bool = True,
) -> GenerationResult:
    """Regenerate the assignment folder (``assignments/<name>`` by default) from the reference.

    Files are generated into a temporary folder next to ``out_dir``, which then replaces it: any
    failure (bad markers, a reference error, a failing solution notebook) leaves the old folder
    as it was. With ``execute`` (and nbclient/ipykernel installed), the solution notebook is run
    top to bottom inside the new folder before the swap, and written with its outputs.
    """
    rendered = render_assignment(source_dir, out_dir)
    out = rendered.out_dir.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private; the folder is for sharing
    executed = False
    try:
        for rel, text in rendered.files.items():
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        solution = rendered.solution_notebook
        if solution is not None and execute:
            executed = _execute_solution(solution, tmp)
        _swap_in(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    if rendered.solution_path is not None and rendered.solution_notebook is not None:
        write_text_atomic(rendered.solution_path, nbformat.writes(rendered.solution_notebook) + "\n")
    return GenerationResult(out, sorted(rendered.files), rendered.solution_path, executed)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _execute_solution(nb: NotebookNode, cwd: Path) -> bool:
    try:
        import nbclient  # noqa: F401  (only checks that it is installed)
    except ImportError:
        warnings.warn(
            "nbclient is not installed: the solution notebook is written without outputs "
            "(pip install -e '.[test]' and rerun autograder assign)",
            stacklevel=3,
        )
        return False
    from nbclient.exceptions import CellExecutionError

    try:
        execute_notebook(nb, cwd)
    except CellExecutionError as exc:
        raise UserError(f"the solution notebook failed while running (nothing was written):\n{exc}") from exc
    return True


def _swap_in(new: Path, target: Path) -> None:
    """Replace ``target`` by the folder ``new``; on failure the old ``target`` is put back."""
    if not target.exists():
        os.replace(new, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.rmdir(old)
    os.replace(target, old)
    try:
        os.replace(new, target)
    except BaseException:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


# ----------------------------------------------------------------------------------------------
# Staleness check.
# ----------------------------------------------------------------------------------------------
def check_assignment(
    source_dir: PathLike = DEFAULT_SOURCE,
    out_dir: Optional[PathLike] = None,
    *,
    require_executed: bool = True,
) -> list[str]:
    """Compare the generated files on disk with a fresh rendering; return the differences (empty = fresh).

    ``public_cases.json`` is compared numerically (rtol 1e-8), since BLAS builds may differ in
    the last bits; the solution notebook is compared without its outputs (plots are not
    byte-reproducible) but, with ``require_executed``, must have been executed.
    """
    rendered = render_assignment(source_dir, out_dir)
    out = rendered.out_dir
    problems: list[str] = []
    if not out.is_dir():
        return [f"{_display(out)}: missing (run `autograder assign`)"]
    on_disk = {
        str(p.relative_to(out)).replace(os.sep, "/")
        for p in out.rglob("*")
        if p.is_file() and not (set(p.relative_to(out).parts) & IGNORED)
    }
    for rel in sorted(on_disk - set(rendered.files)):
        problems.append(f"{_display(out / rel)}: not generated from the reference (remove it)")
    for rel, text in sorted(rendered.files.items()):
        path = out / rel
        if rel not in on_disk:
            problems.append(f"{_display(path)}: missing")
            continue
        current = path.read_text(encoding="utf-8")
        if rel.endswith(".json"):
            where = _json_difference(json.loads(current), json.loads(text), "")
            if where is not None:
                problems.append(f"{_display(path)}: stale data at {where or 'top level'}")
        elif current != text:
            problems.append(f"{_display(path)}: stale\n" + _diff_summary(current, text, rel))
    if rendered.solution_path is not None and rendered.solution_notebook is not None:
        path = rendered.solution_path
        if not path.is_file():
            problems.append(f"{_display(path)}: missing")
        else:
            disk_nb = nbformat.read(path, as_version=4)
            current = nbformat.writes(strip_outputs(disk_nb))
            fresh = nbformat.writes(strip_outputs(rendered.solution_notebook))
            if current != fresh:
                problems.append(f"{_display(path)}: stale\n" + _diff_summary(current, fresh, path.name))
            elif require_executed and any(c.cell_type == "code" and c.execution_count is None for c in disk_nb.cells):
                problems.append(f"{_display(path)}: not executed (needs nbclient and ipykernel)")
    return problems


def _diff_summary(old: str, new: str, name: str, limit: int = 12) -> str:
    diff = list(
        difflib.unified_diff(
            old.splitlines(), new.splitlines(), f"{name} (on disk)", f"{name} (fresh)", n=0, lineterm=""
        )
    )
    added = sum(1 for d in diff if d.startswith("+") and not d.startswith("+++"))
    removed = sum(1 for d in diff if d.startswith("-") and not d.startswith("---"))
    shown = ["    " + d for d in diff[:limit]]
    if len(diff) > limit:
        shown.append(f"    ... ({len(diff) - limit} more diff lines)")
    return f"  {added} line(s) to add, {removed} to remove:\n" + "\n".join(shown)


def _json_difference(a: Any, b: Any, where: str) -> Optional[str]:
    """The path of the first difference between two JSON values (floats within tolerance), or None."""
    if isinstance(a, bool) or isinstance(b, bool) or not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
        if type(a) is not type(b):
            return where
        if isinstance(a, dict):
            if list(a) != list(b):
                return where
            for k in a:
                sub = _json_difference(a[k], b[k], f"{where}.{k}" if where else k)
                if sub is not None:
                    return sub
            return None
        if isinstance(a, list):
            if len(a) != len(b):
                return where
            for i, (x, y) in enumerate(zip(a, b)):
                sub = _json_difference(x, y, f"{where}[{i}]")
                if sub is not None:
                    return sub
            return None
        return None if a == b else where
    return None if math.isclose(a, b, rel_tol=JSON_RTOL, abs_tol=JSON_ATOL) else where
