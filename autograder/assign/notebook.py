"""Build the student notebook and the instructors' solution notebook from the manifest.

Cell tags (the grader relies on them):

* ``setup``: the first code cell (imports; ``from mdp import *``);
* ``given``: helper functions of a module that students do not write (private checks);
* ``solution``: one per part, the function's full ``def`` (docstring, stub or reference body);
  its metadata also holds ``{"autograder": {"part": name}}``;
* ``check``: runs a part's public tests, ``check.run(name, globals())``;
* ``plot``: matplotlib figures.

The grader executes every code cell except those tagged ``check`` or ``plot``.
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path
from typing import Optional

import nbformat
from nbformat.notebooknode import NotebookNode

from autograder.assign.manifest import Manifest
from autograder.assign.markers import MarkedSource, render

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
RELATIVE_IMPORT_RE = re.compile(r"^(\s*)from \.(\w+) import ", re.MULTILINE)
LINT_PRAGMA_RE = re.compile(r"^#\s*(ruff|noqa|type):.*\n", re.MULTILINE)


def rewrite_relative_imports(text: str) -> str:
    """``from .mdp import X`` -> ``from mdp import X``: student files sit side by side, not in a package."""
    return RELATIVE_IMPORT_RE.sub(r"\1from \2 import ", text)


def _read_cell_source(path: Path) -> str:
    """A cell's source file, without leading lint pragmas (``# ruff: noqa``) and trailing newlines."""
    text = path.read_text(encoding="utf-8")
    while LINT_PRAGMA_RE.match(text):
        text = LINT_PRAGMA_RE.sub("", text, count=1)
    return text.strip("\n")


def guard_plot(code: str) -> str:
    """A plot cell for the student notebook: until the functions it draws are implemented, it prints one
    line saying so instead of stopping "Run All" with the stub's NotImplementedError."""
    body = "\n".join("    " + line if line.strip() else "" for line in code.splitlines())
    return ("try:  # the plot calls your functions above\n" + body + "\n"
            "except NotImplementedError as exc:\n"
            '    print(f"Not plotted yet: {exc}. Implement it above, then run this cell again.")')


class _Cells:
    """Collects cells with deterministic ids (nbformat 4.5 wants ids; random ones would make diffs)."""

    def __init__(self) -> None:
        self.cells: list[NotebookNode] = []
        self.ids: set[str] = set()

    def _id(self, base: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_-]", "-", base)[:60]
        cid, n = base, 1
        while cid in self.ids:
            n += 1
            cid = f"{base}-{n}"
        self.ids.add(cid)
        return cid

    def markdown(self, text: str, name: str) -> None:
        self.cells.append(nbformat.v4.new_markdown_cell(text.strip("\n"), id=self._id(f"md-{name}")))

    def code(self, text: str, name: str, tag: Optional[str], part: Optional[str] = None) -> None:
        metadata: dict = {"tags": [tag]} if tag else {}
        if part:
            metadata["autograder"] = {"part": part}
        cell = nbformat.v4.new_code_cell(text.strip("\n"), id=self._id(f"{tag or 'code'}-{name}"))
        cell.metadata = metadata
        self.cells.append(cell)


def _module_layout(text: str, solution_functions: set[str]) -> tuple[list[ast.stmt], list[ast.stmt], dict]:
    """Split a module into its imports, its helper statements, and its functions by name."""
    tree = ast.parse(text)
    imports: list[ast.stmt] = []
    helpers: list[ast.stmt] = []
    functions: dict[str, ast.stmt] = {}
    for i, node in enumerate(tree.body):
        if i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # module docstring
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(node)
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            continue
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in solution_functions:
            functions[node.name] = node
        else:
            helpers.append(node)
    return imports, helpers, functions


def _span(node: ast.stmt) -> tuple[int, int]:
    decorators = getattr(node, "decorator_list", [])
    start = min([node.lineno] + [d.lineno for d in decorators])
    return start, int(node.end_lineno or node.lineno)


def setup_source(manifest: Manifest, sources: dict[str, MarkedSource], given_all: dict[str, list[str]]) -> str:
    """The setup cell: the student modules' imports, with given modules star-imported."""
    student_stems = {Path(f).stem for f in manifest.modules}
    plain: list[str] = []
    from_given: dict[str, list[str]] = {}
    for file in manifest.modules:
        src = sources[file]
        imports, _, _ = _module_layout("\n".join(src.lines), set())
        for node in imports:
            if isinstance(node, ast.ImportFrom):
                if node.module == "__future__":
                    continue
                if node.level and node.module in student_stems:
                    continue  # the notebook defines these functions itself
                if node.level:
                    names = from_given.setdefault(str(node.module), [])
                    names += [a.name for a in node.names if a.name not in names]
                    continue
            segment = ast.get_source_segment("\n".join(src.lines), node) or ""
            if segment not in plain:
                plain.append(segment)
    lines = plain[:]
    for module, names in from_given.items():
        lines.append(f"from {module} import *")
        extra = [n for n in names if n not in given_all.get(module, [])]
        if extra:
            lines.append(f"from {module} import {', '.join(extra)}")
    for file in manifest.given:
        stem = Path(file).stem
        if stem not in from_given:
            lines.append(f"from {stem} import *")
    return "\n".join(lines)


def build_notebook(
    manifest: Manifest,
    sources: dict[str, MarkedSource],
    given_all: dict[str, list[str]],
    *,
    solution: bool,
    out_dir: Path,
) -> NotebookNode:
    """The student notebook (stubs) or, with ``solution=True``, the instructors' filled-in one."""
    assert manifest.notebook is not None
    cells = _Cells()
    setup = setup_source(manifest, sources, given_all)
    if solution:
        solution_path = manifest.path(manifest.notebook.get("solution", "solution.ipynb"))
        rel = os.path.relpath(out_dir, solution_path.parent).replace(os.sep, "/")
        setup = (
            "# Instructors: check.py and the public cases live in the generated assignment folder.\n"
            f"import sys\nsys.path.append({rel!r})\n" + setup
        )
    first_code = True  # the setup cell goes after the opening markdown cell (or first, if there is none)
    helpers_done: set[str] = set()
    for index, entry in enumerate(manifest.notebook["cells"]):
        opening_markdown = index == 0 and set(entry) == {"markdown"}
        if first_code and not opening_markdown:
            cells.code(setup, "setup", "setup")
            first_code = False
        if "markdown" in entry:
            cells.markdown(_read_cell_source(manifest.path(entry["markdown"])), Path(entry["markdown"]).stem)
        if "part" in entry:
            part = manifest.part(entry["part"])
            src = sources[part.file]
            text = "\n".join(src.lines)
            _, helpers, functions = _module_layout(text, set(src.solution_functions))
            if part.file not in helpers_done and helpers:
                helpers_done.add(part.file)
                body = "\n\n\n".join(
                    "\n".join(render(src, solution=solution, start=_span(h)[0], end=_span(h)[1])) for h in helpers
                )
                cells.code(rewrite_relative_imports(body), part.module, "given")
            if part.markdown:
                cells.markdown(_read_cell_source(manifest.path(part.markdown)), part.function)
            start, end = _span(functions[part.function])
            body = "\n".join(render(src, solution=solution, keep_markers=solution, start=start, end=end))
            cells.code(body, part.function, "solution", part=part.function)
            cells.code(f'import check\n\ncheck.run("{part.function}", globals());', part.function, "check")
        if "plot" in entry:
            plot = _read_cell_source(manifest.path(entry["plot"]))
            cells.code(plot if solution else guard_plot(plot), Path(entry["plot"]).stem, "plot")
    if first_code:
        cells.code(setup, "setup", "setup")
    nb = nbformat.v4.new_notebook(cells=cells.cells)
    nb.metadata = {
        "kernelspec": KERNELSPEC,
        "language_info": {"name": "python"},
        "autograder": {"assignment": manifest.name, "solution": solution},
    }
    nbformat.validate(nb)
    return nb


def execute_notebook(nb: NotebookNode, cwd: Path, timeout: int = 600) -> NotebookNode:
    """Run every cell top to bottom in a fresh ``python3`` kernel (needs nbclient and ipykernel)."""
    import nbclient  # test/instructor extra: imported only when a notebook is executed

    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=timeout,
        record_timing=False,
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute()
    return nb


def strip_outputs(nb: NotebookNode) -> NotebookNode:
    """A copy without outputs and execution counts (what ``assign --check`` compares)."""
    copy = nbformat.from_dict(nb)
    copy.metadata.pop("language_info", None)  # the kernel fills in its version details
    copy.metadata.pop("widgets", None)
    for cell in copy.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
    return copy
