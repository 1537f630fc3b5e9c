"""Read a submission (folder, .py files, notebook, or .zip of either) into plain text files.

Nothing is executed here: the loader only reads. Zips are read member by member in memory with
path-traversal, link and zip-bomb checks; notebooks are parsed with nbformat and their code cells
kept (except cells tagged "check" or "plot"), with IPython magics and shell lines dropped.
"""

from __future__ import annotations

import difflib
import hashlib
import stat
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Optional, Sequence, Union

from ..errors import UserError
from .sandbox import SubmissionFiles

# The grader's own pristine copy is always used instead of a submitted file of this name.
PROVIDED_FILES = frozenset({"mdp.py"})
SKIPPED_TAGS = frozenset({"check", "plot"})

MAX_FILE_BYTES = 2 << 20  # one source file or notebook
MAX_TOTAL_BYTES = 20 << 20  # all files read from one submission
MAX_ZIP_MEMBERS = 2000
MAX_ZIP_RATIO = 100  # uncompressed / compressed size of a member larger than 1 MB


@dataclass
class Submission:
    """A submission's code, as text, ready for the sandbox."""

    source: str  # where it came from (for messages)
    files: dict[str, str] = field(default_factory=dict)  # top-level .py files: name -> text
    notebook: Optional[str] = None  # the notebook's file name, when graded from a notebook
    notebook_cells: Optional[list[tuple[int, str]]] = None  # (cell number, code)
    notes: list[str] = field(default_factory=list)  # what the loader ignored or changed
    syntax_errors: dict[str, str] = field(default_factory=dict)  # file name -> the error, with line and caret

    @property
    def digest(self) -> str:
        """SHA-256 of the content: a stable identity for a submission without a Gradescope id."""
        h = hashlib.sha256()
        for name in sorted(self.files):
            h.update(name.encode() + b"\0" + self.files[name].encode() + b"\0")
        for index, code in self.notebook_cells or []:
            h.update(f"cell{index}".encode() + b"\0" + code.encode() + b"\0")
        return h.hexdigest()

    def sandbox_files(self) -> SubmissionFiles:
        return SubmissionFiles(files=dict(self.files), notebook_cells=self.notebook_cells)


def load_submission(paths: Union[str, Path, Sequence[Union[str, Path]]]) -> Submission:
    """Load a submission from a folder, one or more .py files, a notebook, or a .zip.

    Raises UserError (with what to do) when nothing gradable is found or the input is unsafe.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    if not paths:
        raise UserError("no submission given: pass a folder, .py files, a .ipynb notebook or a .zip")
    for p in paths:
        if not p.exists():
            raise UserError(f"{p}: no such file or folder")
    entries: dict[str, bytes] = {}
    source = ", ".join(str(p) for p in paths)
    if len(paths) == 1 and paths[0].is_dir():
        entries = _read_folder(paths[0])
    elif len(paths) == 1 and paths[0].suffix.lower() == ".zip":
        entries = _read_zip(paths[0])
    else:
        for p in paths:
            if p.is_dir() or p.suffix.lower() not in (".py", ".ipynb"):
                raise UserError(f"{p}: expected .py or .ipynb files (or a single folder or .zip)")
            entries[p.name] = _read_limited(p)
    return _build(source, entries)


def _read_limited(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise UserError(f"{path}: {size} bytes is larger than the {MAX_FILE_BYTES} byte limit for one file")
    return path.read_bytes()


def _read_folder(folder: Path) -> dict[str, bytes]:
    """Top-level .py/.ipynb files of ``folder``, descending into a lone subfolder (e.g. from a zip)."""
    for _ in range(3):
        children = [c for c in folder.iterdir() if not c.name.startswith((".", "__MACOSX"))]
        code = [c for c in children if c.is_file() and c.suffix.lower() in (".py", ".ipynb")]
        dirs = [c for c in children if c.is_dir() and not c.is_symlink()]
        zips = [c for c in children if c.is_file() and c.suffix.lower() == ".zip"]
        if code:
            break
        if len(dirs) == 1:
            folder = dirs[0]
            continue
        if len(zips) == 1 and not dirs:
            return _read_zip(zips[0])
        break
    entries = {}
    total = 0
    for c in sorted(code):
        if c.is_symlink():
            continue  # a link could point anywhere on the grader's machine
        data = _read_limited(c)
        total += len(data)
        if total > MAX_TOTAL_BYTES:
            raise UserError(f"{folder}: the submission's files add up to more than {MAX_TOTAL_BYTES} bytes")
        entries[c.name] = data
    return entries


def _read_zip(path: Path) -> dict[str, bytes]:
    """Read .py/.ipynb members of a zip safely (no traversal, links or bombs), in memory."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UserError(f"{path}: not a valid zip file ({exc}); re-create it and submit again") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise UserError(f"{path}: {len(members)} files in the zip; at most {MAX_ZIP_MEMBERS} are accepted")
        wanted: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in members:
            name = PurePosixPath(info.filename.replace("\\", "/"))
            if name.is_absolute() or ".." in name.parts or (name.parts and ":" in name.parts[0]):
                raise UserError(f"{path}: refused unsafe path {info.filename!r} in the zip (path traversal)")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise UserError(f"{path}: refused symbolic link {info.filename!r} in the zip")
            total += info.file_size
            if total > MAX_TOTAL_BYTES:
                raise UserError(f"{path}: the zip expands to more than {MAX_TOTAL_BYTES} bytes (zip bomb?)")
            if info.file_size > (1 << 20) and info.file_size > MAX_ZIP_RATIO * max(1, info.compress_size):
                raise UserError(f"{path}: {info.filename!r} expands {info.file_size // max(1, info.compress_size)}x"
                                " (zip bomb?); submit the files themselves")
            if info.is_dir() or any(p.startswith(".") or p == "__MACOSX" for p in name.parts):
                continue
            if name.suffix.lower() in (".py", ".ipynb"):
                wanted["/".join(name.parts)] = info
        if not wanted:
            return {}
        # Keep the shallowest folder that holds code (a nested top folder is allowed).
        depth = min(len(PurePosixPath(n).parts) for n in wanted)
        entries = {}
        for name, info in sorted(wanted.items()):
            if len(PurePosixPath(name).parts) != depth:
                continue
            if info.file_size > MAX_FILE_BYTES:
                raise UserError(f"{path}: {name} is larger than the {MAX_FILE_BYTES} byte limit")
            with archive.open(info) as fh:
                data = fh.read(MAX_FILE_BYTES + 1)
            if len(data) > MAX_FILE_BYTES:
                raise UserError(f"{path}: {name} is larger than the {MAX_FILE_BYTES} byte limit")
            entries[PurePosixPath(name).name] = data
        return entries


def _decode(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"{name}: not UTF-8 text; save the file as UTF-8 and submit again") from None


def _build(source: str, entries: dict[str, bytes]) -> Submission:
    sub = Submission(source=source)
    notebooks = {n: d for n, d in entries.items() if n.lower().endswith(".ipynb")}
    for name, data in entries.items():
        if not name.endswith(".py"):
            continue
        if name in PROVIDED_FILES:
            sub.notes.append(f"{name} is provided: your copy was ignored and the original used instead")
            continue
        sub.files[name] = _decode(name, data)
        problem = syntax_error(name, sub.files[name])
        if problem:
            sub.syntax_errors[name] = problem
    if notebooks and not sub.files:
        if len(notebooks) > 1:
            preferred = [n for n in notebooks if n.lower() == "npg.ipynb"]
            if not preferred:
                raise UserError(f"{source}: found {len(notebooks)} notebooks ({', '.join(sorted(notebooks))}); "
                                "submit one notebook, or the .py files")
            name = preferred[0]
        else:
            name = next(iter(notebooks))
        sub.notebook = name
        sub.notebook_cells = notebook_code_cells(_decode(name, notebooks[name]), name)
        if not sub.notebook_cells:
            raise UserError(f"{name}: the notebook has no code to grade (no code cells outside those tagged "
                            f"{' or '.join(sorted(SKIPPED_TAGS))}); write your functions in its code cells, "
                            "save it, and submit again")
        sub.notes += skipped_cell_definitions(_decode(name, notebooks[name]), sub.notebook_cells)
    elif notebooks:
        sub.notes.append(f"graded the .py files; the notebook(s) {', '.join(sorted(notebooks))} were ignored")
    if not sub.files and sub.notebook is None:
        raise UserError(f"{source}: no .py files or notebook found; submit kl.py, fisher.py and npg.py "
                        "(or npg.ipynb)")
    return sub


def syntax_error(name: str, text: str) -> Optional[str]:
    """The syntax error of a Python file as Python shows it (file, line, the line and a caret), or None.

    The text is only compiled, never run.
    """
    try:
        compile(text, name, "exec", dont_inherit=True)
    except SyntaxError as exc:
        where = f"{name}, line {exc.lineno}" if exc.lineno else name
        lines = [f"{where}: {type(exc).__name__}: {exc.msg}"]
        if exc.text:
            code = exc.text.rstrip("\n")
            stripped = code.lstrip()
            lines.append("    " + stripped)
            if exc.offset:
                column = max(0, exc.offset - 1 - (len(code) - len(stripped)))
                width = 1
                if exc.end_lineno == exc.lineno and exc.end_offset and exc.end_offset > exc.offset:
                    width = exc.end_offset - exc.offset
                lines.append("    " + " " * column + "^" * width)
        return "\n".join(lines)
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, absurd nesting
        return f"{name}: cannot be compiled ({type(exc).__name__}: {exc})"
    return None


def check_expected_files(submission: Submission, expected: Sequence[str]) -> None:
    """Refuse a submission of .py files none of which has an expected name (e.g. ``KL.py``, ``solution.py``).

    Such a submission can never earn a point: the grader imports ``kl``, ``fisher``, ... by name.
    The message lists what was found and what is expected, with a case-insensitive near-match hint.
    When some files are named as expected, a near miss among the others (``Fisher.py`` while
    ``fisher.py`` is missing) becomes a note of the grade instead. Notebooks are exempt (their cells
    define the functions). Raises UserError.
    """
    if submission.notebook is not None or not submission.files:
        return
    found = sorted(submission.files)
    missing = [e for e in expected if e not in submission.files]
    hints = _near_misses([f for f in found if f not in expected], missing)
    if len(missing) < len(expected):
        for hint in hints:
            submission.notes.append(f"{hint.split(' -> ')[0]} is not one of the expected files "
                                    f"({', '.join(expected)}) and was not graded as one: rename it "
                                    f"{hint.split(' -> ')[1]} (file names are case-sensitive)")
        return
    message = (f"{submission.source}: found {', '.join(found)}; expected {', '.join(expected)} "
               "(none of the files has an expected name, so nothing can be graded)")
    if hints:
        message += f". Rename them as expected (file names are case-sensitive): {', '.join(hints)}"
    raise UserError(message)


def _near_misses(names: Sequence[str], wanted: Sequence[str]) -> list[str]:
    """``"KL.py -> kl.py"`` for each of ``names`` close to one of ``wanted``, ignoring case."""
    lowered = {w.lower(): w for w in wanted}
    hints = []
    for name in names:
        close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
        if close:
            hints.append(f"{name} -> {lowered[close[0]]}")
    return hints


def notebook_code_cells(text: str, name: str = "notebook") -> list[tuple[int, str]]:
    """The code cells to run from a notebook, with magics and shell lines removed.

    Cells tagged "check" or "plot" are skipped (they need the public tests or draw figures).
    Returns ``(cell number, code)`` pairs, numbered from 1 as Jupyter shows them.
    """
    import nbformat

    try:
        with warnings.catch_warnings():  # nbformat's schema warnings say nothing a student can act on
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types
        raise UserError(
            f"{name}: not a readable Jupyter notebook ({exc}); save it from Jupyter and submit again"
        ) from None
    cells = []
    for index, cell in enumerate(nb.cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        tags = set(cell.get("metadata", {}).get("tags", []) or [])
        if tags & SKIPPED_TAGS:
            continue
        code = strip_magics(cell.get("source", ""))
        if code.strip():
            cells.append((index, code))
    return cells


def _top_level_names(code: str) -> set[str]:
    """Names a cell defines at top level (functions, classes, assignments, imports); empty if it
    does not parse."""
    import ast

    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def _global_references(code: str) -> set[str]:
    """Global names a cell's code reads: at top level, or free in its functions (not their locals)."""
    import symtable

    try:
        table = symtable.symtable(code, "cell", "exec")
    except SyntaxError:
        return set()
    names: set[str] = set()
    stack = [table]
    while stack:
        t = stack.pop()
        stack.extend(t.get_children())
        for sym in t.get_symbols():
            if sym.is_referenced() and (t.get_type() == "module" or sym.is_global()):
                names.add(sym.get_name())
    return names


def skipped_cell_definitions(text: str, graded: Sequence[tuple[int, str]]) -> list[str]:
    """A note for each name that a skipped cell (tagged "check" or "plot") defines and the graded
    cells use without defining: in Jupyter it exists when the cells run top to bottom, for the
    grader (which skips those cells) it does not, so the graded code raises NameError."""
    import nbformat

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nb = nbformat.reads(text, as_version=4)
    defined: set[str] = set()
    used: set[str] = set()
    for _, code in graded:
        defined |= _top_level_names(code)
        used |= _global_references(code)
    notes = []
    for index, cell in enumerate(nb.cells, start=1):
        tags = set(cell.get("metadata", {}).get("tags", []) or []) & SKIPPED_TAGS
        if cell.get("cell_type") != "code" or not tags:
            continue
        missing = sorted((_top_level_names(strip_magics(cell.get("source", ""))) & used) - defined)
        if missing:
            notes.append(f"cell {index} is tagged {'/'.join(sorted(tags))}, so the grader skips it, yet it defines "
                         f"{', '.join(missing)}, which your graded code uses: move "
                         f"{'it' if len(missing) == 1 else 'them'} to an untagged cell (in the grader, "
                         "using it raises NameError)")
    return notes


def strip_magics(source: str) -> str:
    """Drop IPython magics (``%...``, ``%%...`` cells) and shell escapes (``!...``).

    Dropped lines become ``pass`` at the same indentation so the cell's line numbers and blocks
    stay intact.
    """
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].split()[0]
        if magic not in ("%%time", "%%timeit", "%%capture"):
            return ""  # %%bash, %%writefile, ...: not Python
        lines = ["pass"] + lines[1:]
    out = []
    for line in lines:
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        if stripped.startswith(("%", "!")) or _is_shell_assignment(stripped):
            out.append(indent + "pass")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def _is_shell_assignment(stripped: str) -> bool:
    """``files = !ls`` or ``x = %timeit f()``."""
    head, sep, tail = stripped.partition("=")
    return bool(sep) and head.strip().isidentifier() and tail.lstrip().startswith(("!", "%"))

