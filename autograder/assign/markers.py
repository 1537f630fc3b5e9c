"""Solution markers: turn a reference source file into a student template.

Syntax (one marker per line, the comment alone on its line, upper case):

``# BEGIN SOLUTION`` / ``# END SOLUTION``
    The lines between are the reference answer. The student template replaces the whole block
    with a stub at the marker's indentation that raises ``NotImplementedError`` naming the
    enclosing function. A block must sit inside a top-level function's body.

``# BEGIN PROMPT`` / ``# END PROMPT``
    Instructor-chosen starter lines, written as comments in the reference (so they do not run
    there). The template keeps them with one leading ``# `` removed; the solution drops them.
    Put a prompt block just before a solution block to give students a first line or two.

Nested, unbalanced or unknown markers (``# BEGIN ANSWER``, ``# END``) are errors that name the
file and line.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from autograder.errors import UserError

MARKER_RE = re.compile(r"^\s*#\s*(BEGIN|END)\b(.*)$")
KINDS = ("SOLUTION", "PROMPT")


@dataclass(frozen=True)
class Block:
    """A marked block: ``kind`` is SOLUTION or PROMPT; lines are 1-based, markers included."""

    kind: str
    begin: int
    end: int
    indent: str
    function: str | None


@dataclass
class MarkedSource:
    """A reference source file split into its marked blocks."""

    path: Path
    display: str
    lines: list[str]
    blocks: list[Block] = field(default_factory=list)

    @property
    def solution_functions(self) -> list[str]:
        """Names of the functions holding a solution block, in file order, without repeats."""
        names: list[str] = []
        for b in self.blocks:
            if b.kind == "SOLUTION" and b.function not in names:
                names.append(str(b.function))
        return names

    def solution_lines(self) -> list[str]:
        """The lines inside solution blocks (markers excluded)."""
        out: list[str] = []
        for b in self.blocks:
            if b.kind == "SOLUTION":
                out.extend(self.lines[b.begin : b.end - 1])
        return out


def parse_markers(path: Path, display: str | None = None) -> MarkedSource:
    """Read ``path`` and find its marked blocks, raising UserError ``file:line: ...`` on bad markers."""
    display = display or str(path)
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    src = MarkedSource(path=path, display=display, lines=lines)
    functions = _top_level_functions(text, display)
    open_kind: str | None = None
    open_line = 0
    open_indent = ""
    for lineno, line in enumerate(lines, start=1):
        m = MARKER_RE.match(line)
        if not m:
            continue
        which, rest = m.group(1), m.group(2).strip()
        if rest not in KINDS:
            raise UserError(
                f"{display}:{lineno}: unknown marker {line.strip()!r} "
                f"(expected '# {which} SOLUTION' or '# {which} PROMPT')"
            )
        if which == "BEGIN":
            if open_kind is not None:
                raise UserError(
                    f"{display}:{lineno}: nested BEGIN {rest} "
                    f"(the previous BEGIN {open_kind} opened at line {open_line})"
                )
            open_kind, open_line = rest, lineno
            open_indent = line[: len(line) - len(line.lstrip())]
            continue
        if open_kind is None:
            raise UserError(f"{display}:{lineno}: END {rest} without a matching BEGIN {rest}")
        if rest != open_kind:
            raise UserError(f"{display}:{lineno}: END {rest} closes BEGIN {open_kind} opened at line {open_line}")
        function = _enclosing(functions, open_line)
        if open_kind == "SOLUTION" and function is None:
            raise UserError(
                f"{display}:{open_line}: solution block outside a top-level function "
                "(the stub must live in a function body)"
            )
        if open_kind == "PROMPT":
            for k in range(open_line, lineno - 1):
                body = lines[k]
                if body.strip() and not body.lstrip().startswith("#"):
                    raise UserError(
                        f"{display}:{k + 1}: prompt lines must be comments in the reference "
                        "(write '# x = ...'; the template uncomments them)"
                    )
        src.blocks.append(Block(open_kind, open_line, lineno, open_indent, function))
        open_kind = None
    if open_kind is not None:
        raise UserError(f"{display}:{open_line}: BEGIN {open_kind} is never closed (no END {open_kind})")
    return src


def _top_level_functions(text: str, display: str) -> list[tuple[str, int, int]]:
    try:
        tree = ast.parse(text, filename=display)
    except SyntaxError as exc:
        raise UserError(f"{display}:{exc.lineno}: syntax error: {exc.msg}") from exc
    return [
        (node.name, node.lineno, int(node.end_lineno or node.lineno))
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]


def _enclosing(functions: list[tuple[str, int, int]], lineno: int) -> str | None:
    for name, start, end in functions:
        if start <= lineno <= end:
            return name
    return None


def stub_lines(indent: str, function: str) -> list[str]:
    """The stub that replaces a solution block in the student template."""
    return [
        f"{indent}# TODO: implement {function} (see its docstring).",
        f'{indent}raise NotImplementedError("{function} is not implemented yet")',
    ]


def render(
    src: MarkedSource,
    *,
    solution: bool,
    keep_markers: bool = False,
    start: int = 1,
    end: int | None = None,
) -> list[str]:
    """Lines ``start..end`` (1-based, inclusive) of the template (``solution=False``) or solution.

    The template replaces each solution block by a stub and uncomments prompt lines; the
    solution keeps solution blocks (with their markers if ``keep_markers``) and drops prompt blocks.
    """
    end = len(src.lines) if end is None else end
    by_begin = {b.begin: b for b in src.blocks}
    out: list[str] = []
    lineno = start
    while lineno <= end:
        block = by_begin.get(lineno)
        if block is None:
            out.append(src.lines[lineno - 1])
            lineno += 1
            continue
        inner = src.lines[block.begin : block.end - 1]
        if block.kind == "SOLUTION":
            if solution and keep_markers:
                out.extend(src.lines[block.begin - 1 : block.end])
            else:
                out.extend(inner if solution else stub_lines(block.indent, str(block.function)))
        elif not solution:
            out.extend(_uncomment(line) for line in inner)
        lineno = block.end + 1
    return out


def _uncomment(line: str) -> str:
    stripped = line.lstrip()
    indent = line[: len(line) - len(stripped)]
    if stripped.startswith("# "):
        return indent + stripped[2:]
    return indent + stripped[1:] if stripped.startswith("#") else line
