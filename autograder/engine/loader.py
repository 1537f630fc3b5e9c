"""Read a submission (folder, .py files, notebook, or .zip of either) into plain text files.

Nothing is executed here: the loader only reads. Symbolic links are refused wherever a submission
is read (the path given, anything inside a folder, members of a zip): a link could point at any
file the grader can read, such as a root-only zip. Zips are read member by member in memory with
path-traversal, link and zip-bomb checks; notebooks are parsed with nbformat and their code cells
kept (except cells tagged "check" or "plot"), with IPython magics and shell lines dropped.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import os
import stat
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Optional, Sequence, Union

from ..errors import UserError
from .sandbox import SubmissionFiles

SKIPPED_TAGS = frozenset({"check", "plot"})

MAX_FILE_BYTES = 2 << 20  # one source file or notebook
MAX_TOTAL_BYTES = 20 << 20  # all files read from one submission
MAX_ZIP_MEMBERS = 2000
# Python source the grader compiles, parses (imports, syntax errors) and fingerprints (similarity) in
# its own process: a homework file is a few kB; these bounds keep that work to a fraction of a second.
MAX_SOURCE_CHARS = 256 << 10  # one .py file, or one notebook's code cells together
MAX_SOURCE_TOTAL_CHARS = 1 << 20  # all the .py files of a submission
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
    # expected file name -> why it is absent ("is missing (found Fisher.py: ...)"), see check_expected_files
    missing: dict[str, str] = field(default_factory=dict)
    attention: list[str] = field(default_factory=list)  # what a TA should look at, though it was graded
    # import name -> the student's module it stands for: an accepted file name (``npg_utils.py`` for
    # ``utils.py``) makes both names import the student's file, whichever the other files use
    aliases: dict[str, str] = field(default_factory=dict)
    assignment: Optional[str] = None  # the name of the assignment it was loaded for

    @property
    def digest(self) -> str:
        """SHA-256 of the content and the loader's notes: a stable identity for a submission without a
        Gradescope id (a notebook graded instead of the stubs beside it is not the bare notebook).

        Every field is length-prefixed (``_field``), so no two different contents share an encoding:
        one file holding a classmate's files joined by separators does not hash like those files.
        """
        h = hashlib.sha256(b"npg-submission/2")
        h.update(_field(str(len(self.files))))
        for name in sorted(self.files):
            h.update(_field(name) + _field(self.files[name]))
        cells = self.notebook_cells
        h.update(_field("notebook" if cells is not None else "files"))
        for index, code in cells or []:
            h.update(_field(str(index)) + _field(code))
        h.update(_field(str(len(self.notes))))
        for note in self.notes:  # what the loader chose or changed is part of the grade (the batch shares
            h.update(_field(note))  # one grade between equal digests)
        return h.hexdigest()

    def same_content(self, other: Submission) -> bool:
        """Whether ``other`` holds exactly these files, notebook cells and notes (the digest's preimage)."""
        return (self.files == other.files and self.notebook_cells == other.notebook_cells
                and self.notes == other.notes)

    def sandbox_files(self) -> SubmissionFiles:
        """What the sandbox gets; ``broken`` says why a module the files may import cannot be used."""
        broken = {name[:-3]: "has a syntax error (see the notes)" for name in self.syntax_errors
                  if name.endswith(".py")}
        broken.update({name[:-3]: reason for name, reason in self.missing.items() if name.endswith(".py")})
        broken.update({alias: broken[target] for alias, target in self.aliases.items() if target in broken})
        return SubmissionFiles(files=dict(self.files), notebook_cells=self.notebook_cells, broken=broken,
                               aliases=dict(self.aliases))

    def student_file(self, module: str) -> str:
        """The student's own file name for import name ``module`` (an accepted alias's, if used)."""
        return f"{self.aliases.get(module, module)}.py"


def _field(text: str) -> bytes:
    """``text`` as UTF-8 after its length in bytes (8 bytes, big-endian): an unambiguous encoding."""
    data = text.encode("utf-8", "surrogatepass")
    return len(data).to_bytes(8, "big") + data


def refuse_link(path: Path) -> None:
    """Raise UserError if ``path`` itself is a symbolic link (it could point anywhere on the machine)."""
    if path.is_symlink():
        raise UserError(f"{path}: refused a symbolic link; submit the file itself, not a link to it")


def load_submission(paths: Union[str, Path, Sequence[Union[str, Path]]], assignment: Optional[Any] = None
                    ) -> Submission:
    """Load a submission of ``assignment`` (an ``autograder.registry.Assignment``; default: the
    one its file names fit, see ``registry.detect``, else ``registry.default()``) from a folder,
    one or more .py files, a notebook, or a .zip. The assignment's given files are replaced by the
    grader's copies, its accepted file-name aliases recorded (``Submission.aliases``).

    Raises UserError (with what to do) when nothing gradable is found or the input is unsafe.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    if not paths:
        raise UserError("no submission given: pass a folder, .py files, a .ipynb notebook or a .zip")
    for p in paths:
        refuse_link(p)
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
    if assignment is None:
        from ..registry import default, detect

        try:
            assignment = detect(entries)
        except UserError:  # no assignment's file names (or several's): ``check_expected_files`` of the
            assignment = default()  # reference package's own says what is expected
    return _build(source, entries, assignment)


def _open_regular(path: Path) -> BinaryIO:
    """Open a regular file without following a link (O_NOFOLLOW: no race between a check and the read)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        refuse_link(path)
        raise
    fh = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        fh.close()
        raise UserError(f"{path}: not a regular file")
    return fh


def _read_limited(path: Path) -> bytes:
    with _open_regular(path) as fh:
        info = os.fstat(fh.fileno())
        if info.st_size > MAX_FILE_BYTES:
            raise UserError(f"{path}: {info.st_size} bytes is larger than the {MAX_FILE_BYTES} byte limit for one file")
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise UserError(f"{path}: larger than the {MAX_FILE_BYTES} byte limit for one file")
    return data


def _read_folder(folder: Path) -> dict[str, bytes]:
    """Top-level .py/.ipynb files of ``folder``, descending into a lone subfolder (e.g. from a zip)."""
    for _ in range(3):
        children = [c for c in folder.iterdir() if not c.name.startswith((".", "__MACOSX"))]
        links = sorted(c.name for c in children if c.is_symlink())
        if links:
            raise UserError(f"{folder}: refused symbolic link(s) {', '.join(links[:5])}; submit the files "
                            "themselves, not links to them")
        code = [c for c in children if c.is_file() and c.suffix.lower() in (".py", ".ipynb")]
        dirs = [c for c in children if c.is_dir()]
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
        data = _read_limited(c)
        total += len(data)
        if total > MAX_TOTAL_BYTES:
            raise UserError(f"{folder}: the submission's files add up to more than {MAX_TOTAL_BYTES} bytes")
        entries[c.name] = data
    return entries


def _read_zip(path: Path) -> dict[str, bytes]:
    """Read .py/.ipynb members of a zip safely (no traversal, links or bombs), in memory."""
    try:
        archive = zipfile.ZipFile(_open_regular(path))
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


# Encodings a ``# coding:`` line may choose. Any other codec is refused: Python's codec registry
# holds codecs that are quadratic (punycode: 250 kB took 80 s), raise plain UnicodeError, or decode
# to lone surrogates that cannot be written back as UTF-8 (unicode_escape), all in the grader.
TEXT_ENCODINGS = frozenset({"utf-8", "utf-8-sig", "latin-1", "iso-8859-1", "iso8859-1", "cp1252", "windows-1252",
                            "iso-8859-15", "ascii"})


def _decode_python(name: str, data: bytes, notes: list[str]) -> str:
    """A .py file's text: UTF-8, or the text encoding its ``# -*- coding: ... -*-`` line declares
    (PEP 263; one of ``TEXT_ENCODINGS``); else Latin-1 with a note. An editor's encoding
    (``# écrit par José`` saved as Latin-1) must not cost the points of correct code; Latin-1
    decodes any bytes, and mostly as the author wrote them. The result always encodes as UTF-8."""
    import codecs
    import io
    import tokenize

    declared = "utf-8"
    try:
        declared, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        codec = codecs.lookup(declared).name
        if codec not in TEXT_ENCODINGS and declared not in TEXT_ENCODINGS:
            notes.append(f"{name} declares the encoding {declared[:40]!r}, which the grader does not read: read as "
                         "Latin-1; save it as UTF-8 and remove the coding line")
            return data.decode("latin-1")
        text = data.decode("utf-8-sig" if codec in ("utf-8", "utf-8-sig") else codec)
        text.encode("utf-8")  # no lone surrogates: the sandbox gets the file as UTF-8
        return text
    except (SyntaxError, LookupError, ValueError) as exc:  # UnicodeError is a ValueError
        where = ""
        if isinstance(exc, UnicodeDecodeError):
            line = data.count(b"\n", 0, exc.start) + 1
            where = f" (line {line})"
        notes.append(f"{name} is not {declared[:40]} text{where}: read as Latin-1; save it as UTF-8 (your editor's "
                     "encoding setting)")
        return data.decode("latin-1")


def _build(source: str, entries: dict[str, bytes], assignment: Any) -> Submission:
    sub = Submission(source=source, assignment=assignment.name)
    notebooks = {n: d for n, d in entries.items() if n.lower().endswith(".ipynb")}
    for name, data in entries.items():
        if not name.endswith(".py"):
            continue
        if name in assignment.given:
            sub.notes.append(f"{name} is provided: your copy was ignored and the original used instead")
            continue
        sub.files[name] = _decode_python(name, data, sub.notes)
        if len(sub.files[name]) > MAX_SOURCE_CHARS:
            raise UserError(f"{name}: {len(sub.files[name])} characters of Python; a file of this homework needs a "
                            f"few thousand, and at most {MAX_SOURCE_CHARS} are accepted")
        if sum(map(len, sub.files.values())) > MAX_SOURCE_TOTAL_CHARS:
            raise UserError(f"{source}: the .py files hold more than {MAX_SOURCE_TOTAL_CHARS} characters of Python; "
                            "submit only the homework's files")
        problem = syntax_error(name, sub.files[name])
        if problem:
            sub.syntax_errors[name] = problem
    if notebooks and not sub.files:
        _use_notebook(sub, source, notebooks, assignment.notebook_file)
    elif notebooks:
        _notebook_or_files(sub, source, notebooks, assignment.notebook_file)
    if not sub.files and sub.notebook is None:
        raise UserError(f"{source}: no .py files or notebook found; submit {assignment.describe_files()}")
    for alias, target in assignment.aliases.items():  # both import names work, whichever was submitted
        if alias in sub.files and target not in sub.files:
            sub.aliases[target[:-3]] = alias[:-3]
        elif target in sub.files and alias not in sub.files:
            sub.aliases[alias[:-3]] = target[:-3]
    return sub


def _use_notebook(sub: Submission, source: str, notebooks: dict[str, bytes], preferred_name: Optional[str]) -> None:
    """Grade ``sub`` from its notebook (the handout's, ``preferred_name``, when there are several).
    Raises UserError."""
    if len(notebooks) > 1:
        preferred = [n for n in notebooks if preferred_name and n.lower() == preferred_name.lower()]
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
    code = sum(len(c) for _, c in sub.notebook_cells)
    if code > MAX_SOURCE_CHARS:
        raise UserError(f"{name}: its code cells hold {code} characters of Python; this homework needs a few "
                        f"thousand, and at most {MAX_SOURCE_CHARS} are accepted")


def _notebook_or_files(sub: Submission, source: str, notebooks: dict[str, bytes],
                       preferred_name: Optional[str]) -> None:
    """Both .py files and a notebook: grade whichever implements more functions (the .py files on a
    tie), so a finished notebook beside the handout's unchanged stubs is not graded 0; either way the
    choice is a note and something for a TA to look at (``sub.attention``)."""
    candidate = Submission(source=source)
    try:
        _use_notebook(candidate, source, notebooks, preferred_name)
    except UserError:
        sub.notes.append(f"graded the .py files; the notebook(s) {', '.join(sorted(notebooks))} were ignored")
        return
    in_files = implemented_functions(list(sub.files.values()))
    in_notebook = implemented_functions([code for _index, code in candidate.notebook_cells or []])
    if in_notebook > in_files:
        choice = (f"graded the notebook {candidate.notebook} ({in_notebook} implemented functions), not the .py "
                  f"files beside it ({in_files}: unchanged stubs?); submit one or the other")
        sub.files.clear()
        sub.syntax_errors.clear()
        sub.notebook, sub.notebook_cells = candidate.notebook, candidate.notebook_cells
    else:
        choice = (f"graded the .py files ({in_files} implemented functions); the notebook(s) "
                  f"{', '.join(sorted(notebooks))} ({in_notebook}) were ignored")
    sub.notes.append(choice)
    if in_notebook:  # two versions of the work: a person should check the right one was graded
        sub.attention.append(choice)


def implemented_functions(sources: Sequence[str]) -> int:
    """How many public top-level functions in ``sources`` are not stubs (see ``_is_stub``: the
    handout's functions raise NotImplementedError). A source that does not parse counts 0."""
    count = 0
    for text in sources:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        for node in tree.body:
            if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_")
                    and not _is_stub(node.body)):  # private helpers come with the handout
                count += 1
    return count


def _is_stub(body: list[ast.stmt]) -> bool:
    """A body that only documents (docstring, ``pass``, ``...``) or that unconditionally raises
    NotImplementedError (the handout keeps its argument checks before the ``raise``)."""
    trivial = True
    for statement in body:
        if isinstance(statement, ast.Raise) and statement.exc is not None:
            exc = statement.exc.func if isinstance(statement.exc, ast.Call) else statement.exc
            if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                return True
        if not (isinstance(statement, ast.Pass)
                or (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))):
            trivial = False
    return trivial


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

    Such a submission can never earn a point: the grader imports the expected modules by name (an
    accepted alias, recorded in ``submission.aliases`` by the loader, counts as its expected file).
    The message lists what was found and what is expected, with a case-insensitive near-match hint.
    When some files are named as expected, each missing one is recorded in ``submission.missing``
    with its reason, a near miss named (``fisher.py is missing (found Fisher.py: rename it ...)``):
    that file's checks score 0 and say why, while the others run (a sibling importing it gets a
    stand-in). A near miss is not graded under the expected name: the names are the assignment's
    contract, the same on Gradescope, where the student reads the hint at once and resubmits.
    Notebooks are exempt (their cells define the functions). Raises UserError.
    """
    if submission.notebook is not None or not submission.files:
        return
    found = sorted(submission.files)
    present = set(submission.files) | {f"{name}.py" for name, own in submission.aliases.items()
                                       if f"{own}.py" in submission.files}
    missing = [e for e in expected if e not in present]
    hints = _near_misses([f for f in found if f not in expected], missing)
    if len(missing) < len(expected):
        near = {hint.split(" -> ")[1]: hint.split(" -> ")[0] for hint in hints}
        for name in missing:
            if name in near:
                submission.missing[name] = (f"is missing (found {near[name]}: rename it {name}; file names are "
                                            "case-sensitive)")
            else:
                submission.missing[name] = "is missing (it was not submitted)"
            submission.notes.append(f"{name} {submission.missing[name]}: the checks of its functions score 0")
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

