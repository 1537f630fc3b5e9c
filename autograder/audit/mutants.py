"""Mutants of the reference solution, generated from its AST.

Only code inside the student functions' ``# BEGIN SOLUTION`` / ``# END SOLUTION`` blocks is
mutated, one change per mutant. Each operator below is small on purpose; together they model the
faults students really make (Clegg et al. 2021; Perretta et al. 2022):

==============  ===========================================================================
operator        what it changes
==============  ===========================================================================
``arith``       an arithmetic operator: ``+ <-> -``, ``* <-> /``, ``** -> *``, ``@ -> *``
                (also in ``+=`` / ``-=``)
``compare``     a comparison: ``< <-> <=``, ``> <-> >=``, ``< <-> >``, ``<= <-> >=``, ``== <-> !=``
``constant``    a number: ``0 -> 1``, ``1 -> 0`` and ``1 -> 2``, any other ``c -> 1`` (drops the
                factor) and ``c -> 2c`` (doubles it); ``True <-> False``
``swap_args``   two adjacent positional arguments of a call, or the operands of a non-commutative
                ``-``, ``/``, ``@``, ``**``
``drop_term``   a term or factor: ``a + b -> a`` / ``b``, ``a * b -> a`` / ``b``, ``a / b -> a``,
                ``a ** b -> a``; an update ``x += y`` / ``x -= y`` dropped
``axis``        a reduction axis (``axis=-1 -> 0``, ``0 -> -1``, ``1 -> 0``, or the keyword
                dropped), a transpose dropped (``X.T -> X``), an ``einsum`` output transposed
``negate``      a negation: ``-x -> x``, ``not c -> c``, an ``if`` test negated, a returned
                value negated
``library``     a library swap: ``pinv <-> inv``, ``solve(A, b) -> pinv(A) @ b``, ``sum <-> mean``,
                ``log -> log2``, ``minimum <-> maximum``, ``zeros_like <-> ones_like``,
                ``sqrt(x) -> x``, ``where(c, a, b) -> a``, ``side="right" <-> "left"``
==============  ===========================================================================

A mutant's source is the reference file with the mutated node's text replaced by
``ast.unparse`` of the new node (parenthesised when precedence needs it), so comments and layout
elsewhere are kept and the diff is one line. Mutants whose modules unparse identically are kept
once.

These are the *syntax* operators (family ``"syntax"``). The *student-mistake* operators of
:mod:`autograder.audit.mistakes` (family ``"student"``: aliasing and in-place updates, threshold
guards, early returns, loop bounds, stale values, confused names, ignored parameters) rewrite up
to two whole lines; the audit reports a mutation score for each family.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

from ..demo.samples import STUDENT_FILES, reference_folder, student_source
from .mistakes import MISTAKE_OPERATORS, FunctionView, mistake_edits

__all__ = ["FAMILIES", "OPERATORS", "Mutant", "generate_mutants", "mutant_files", "mutants_of_source",
           "solution_blocks"]

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"

OPERATORS: dict[str, str] = {
    "arith": "arithmetic operator replaced",
    "compare": "comparison operator replaced",
    "constant": "constant changed (0/1, factor dropped or doubled)",
    "swap_args": "arguments or operands swapped",
    "drop_term": "a term, factor or update dropped",
    "axis": "reduction axis changed or transpose dropped",
    "negate": "negation added or removed",
    "library": "library call swapped",
    **MISTAKE_OPERATORS,
}
# family of each operator: "syntax" (one token changed) or "student" (a student's own kind of mistake)
FAMILIES: dict[str, str] = {name: ("student" if name in MISTAKE_OPERATORS else "syntax") for name in OPERATORS}


@dataclass(frozen=True)
class Mutant:
    """One generated mutant: ``file`` with one change in ``function``.

    ``source`` is the whole mutated reference module (relative imports kept); ``original`` and
    ``mutated`` are the changed line(s), stripped, for the one-line diff.
    """

    id: str
    file: str
    function: str
    operator: str
    description: str
    line: int
    original: str
    mutated: str
    source: str

    @property
    def diff(self) -> str:
        """The change as a two-line diff."""
        return f"- {self.original}\n+ {self.mutated}"


# ----------------------------------------------------------------------------------------------
# solution blocks
# ----------------------------------------------------------------------------------------------
def solution_blocks(source: str, tree: Optional[ast.Module] = None) -> dict[str, tuple[int, int]]:
    """``{function: (first line, last line)}`` of each top-level function's solution block.

    The lines are 1-based and exclusive of the marker comments. Raises ValueError on a marker
    outside a function or on unbalanced markers.
    """
    tree = tree or ast.parse(source)
    lines = source.splitlines()
    begins = [i + 1 for i, text in enumerate(lines) if text.strip() == BEGIN]
    ends = [i + 1 for i, text in enumerate(lines) if text.strip() == END]
    if len(begins) != len(ends) or any(b >= e for b, e in zip(begins, ends)):
        raise ValueError("unbalanced # BEGIN SOLUTION / # END SOLUTION markers")
    blocks: dict[str, tuple[int, int]] = {}
    for b, e in zip(begins, ends):
        owner = [f for f in tree.body if isinstance(f, ast.FunctionDef) and f.lineno < b <= (f.end_lineno or 0)]
        if not owner:
            raise ValueError(f"solution block at line {b} is not inside a top-level function")
        if owner[0].name in blocks:
            raise ValueError(f"function {owner[0].name} has more than one solution block")
        blocks[owner[0].name] = (b + 1, e - 1)
    return blocks


# ----------------------------------------------------------------------------------------------
# operators: each yields replacements for one node of the reference
# ----------------------------------------------------------------------------------------------
# (description, replacement node, replacement text keeping the source's style, or None for ast.unparse)
Replacement = tuple[str, ast.AST, Optional[str]]


class _Source:
    """The reference text, for operators that keep its style: ``seg(node)`` is the node's source."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines()

    def __call__(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.text, node) or ast.unparse(node)

    def line(self, number: int) -> str:
        return self.lines[number - 1]


Segment = _Source

_ARITH = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.Pow: ast.Mult,
          ast.MatMult: ast.Mult}
_SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.MatMult: "@",
           ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_COMPARE = {ast.Lt: (ast.LtE, ast.Gt), ast.LtE: (ast.Lt, ast.GtE), ast.Gt: (ast.GtE, ast.Lt),
            ast.GtE: (ast.Gt, ast.LtE), ast.Eq: (ast.NotEq,), ast.NotEq: (ast.Eq,)}
_NON_COMMUTATIVE = (ast.Sub, ast.Div, ast.MatMult, ast.Pow)
# attribute name -> replacement attribute name (np.<name>(...), np.linalg.<name>(...), x.<name>(...))
_LIBRARY = {"sum": "mean", "mean": "sum", "log": "log2", "minimum": "maximum", "maximum": "minimum",
            "zeros_like": "ones_like", "ones_like": "zeros_like", "inv": "pinv"}


def _expr(text: str) -> ast.expr:
    return ast.parse(text, mode="eval").body


def _number(node: ast.AST) -> Optional[float]:
    """The value of a numeric literal (``2.0``, ``-1``), else None (bools are not numbers here)."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _number(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    return None


def _literal(value: float, like: float) -> str:
    if isinstance(like, int) and float(value).is_integer():
        return repr(int(value))
    return repr(float(value))


def _gap_swap(node: ast.AST, left: ast.AST, right: ast.AST, old: str, new: str, seg: Segment) -> Optional[str]:
    """``node``'s text with the operator ``old`` between ``left`` and ``right`` replaced by ``new``."""
    text = seg(node)
    start = _offset(node, left, end=True, seg=seg)
    stop = _offset(node, right, end=False, seg=seg)
    if start is None or stop is None or old not in text[start:stop]:
        return None
    return text[:start] + text[start:stop].replace(old, new, 1) + text[stop:]


def _offset(outer: ast.AST, inner: ast.AST, *, end: bool, seg: Segment) -> Optional[int]:
    """Character offset of ``inner``'s start (or end) inside ``seg(outer)``, for one-line nodes."""
    if outer.lineno != outer.end_lineno or inner.lineno != outer.lineno:  # type: ignore[attr-defined]
        return None
    line = seg.line(outer.lineno)  # type: ignore[attr-defined]
    col = inner.end_col_offset if end else inner.col_offset  # type: ignore[attr-defined]
    return len(line.encode()[:col].decode()) - len(line.encode()[: outer.col_offset].decode())  # type: ignore


def _swap_text(node: ast.AST, first: ast.AST, second: ast.AST, seg: Segment) -> Optional[str]:
    """``node``'s text with the source text of ``first`` and ``second`` exchanged."""
    text = seg(node)
    spans = [(_offset(node, n, end=False, seg=seg), _offset(node, n, end=True, seg=seg)) for n in (first, second)]
    (a0, a1), (b0, b1) = spans
    if None in (a0, a1, b0, b1):
        return None
    return text[:a0] + text[b0:b1] + text[a1:b0] + text[a0:a1] + text[b1:]  # type: ignore[index]


def _string_literal(value: str, original: str) -> str:
    """A string literal in the original's quote style."""
    quote = original[:1] if original[:1] in ("'", '"') else '"'
    return quote + value + quote if quote not in value and "\\" not in value else repr(value)


def _op_arith(node: ast.AST, parent: Optional[ast.AST], seg: Segment) -> Iterator[Replacement]:
    if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in _ARITH:
        old_op, new_op = type(node.op), _ARITH[type(node.op)]
        new = copy.deepcopy(node)
        new.op = new_op()
        left, right = (node.left, node.right) if isinstance(node, ast.BinOp) else (node.target, node.value)
        suffix = "=" if isinstance(node, ast.AugAssign) else ""
        hint = _gap_swap(node, left, right, _SYMBOL[old_op] + suffix, _SYMBOL[new_op] + suffix, seg)
        yield f"'{_SYMBOL[old_op]}{suffix}' -> '{_SYMBOL[new_op]}{suffix}'", new, hint


def _op_compare(node: ast.AST, parent: Optional[ast.AST], seg: Segment) -> Iterator[Replacement]:
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
        old = _SYMBOL[type(node.ops[0])]
        for new_op in _COMPARE[type(node.ops[0])]:
            new = copy.deepcopy(node)
            new.ops = [new_op()]
            hint = _gap_swap(node, node.left, node.comparators[0], old, _SYMBOL[new_op], seg)
            yield f"'{old}' -> '{_SYMBOL[new_op]}'", new, hint


def _op_constant(node: ast.AST, parent: Optional[ast.AST], seg: Segment) -> Iterator[Replacement]:
    if isinstance(parent, ast.keyword) and parent.arg == "axis":
        return  # the axis operator owns these
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        yield f"{node.value} -> {not node.value}", ast.Constant(not node.value), None
        return
    if isinstance(node, ast.Constant) and isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.USub):
        return  # -c is one literal: mutated at the UnaryOp
    value = _number(node)
    if value is None:
        return
    if value == 0:
        targets = [1]
    elif value == 1:
        targets = [0, 2]
    else:
        targets = [1, 2 * value]
    for t in targets:
        text = _literal(t, value)
        yield f"{seg(node)} -> {text}", _expr(text), text


def _op_swap_args(node: ast.AST, parent: Optional[ast.AST], seg: Segment) -> Iterator[Replacement]:
    if isinstance(node, ast.Call):
        args = node.args
        for i in range(len(args) - 1):
            if isinstance(args[i], ast.Starred) or isinstance(args[i + 1], ast.Starred):
                continue
            if ast.dump(args[i]) == ast.dump(args[i + 1]):
                continue
            new = copy.deepcopy(node)
            new.args[i], new.args[i + 1] = new.args[i + 1], new.args[i]
            yield (f"arguments {i + 1} and {i + 2} of {seg(node.func)}() swapped", new,
                   _swap_text(node, args[i], args[i + 1], seg))
    if isinstance(node, ast.BinOp) and isinstance(node.op, _NON_COMMUTATIVE):
        if ast.dump(node.left) != ast.dump(node.right):
            new = copy.deepcopy(node)
            new.left, new.right = new.right, new.left
            yield f"operands of '{_SYMBOL[type(node.op)]}' swapped", new, _swap_text(node, node.left, node.right, seg)


def _op_drop_term(node: ast.AST, parent: Optional[ast.AST], seg: Segment) -> Iterator[Replacement]:
    if isinstance(node, ast.BinOp):
        op = type(node.op)
        if op in (ast.Add, ast.Sub, ast.Mult):
            kind = "factor" if op is ast.Mult else "term"
            yield f"right {kind} dropped", copy.deepcopy(node.left), seg(node.left)
            yield f"left {kind} dropped", copy.deepcopy(node.right), seg(node.right)
        elif op is ast.Div:
            yield "divisor dropped", copy.deepcopy(node.left), seg(node.left)
        elif op is ast.Pow:
            yield "exponent dropped", copy.deepcopy(node.left), seg(node.left)
    if isinstance(node, ast.AugAssign) and isinstance(node.op, (ast.Add, ast.Sub)):
        yield "update dropped", ast.Pass(), None


def _op_axis(node: ast.AST, parent: Optional[ast.AST], seg: Segment) -> Iterator[Replacement]:
    if isinstance(parent, ast.keyword) and parent.arg == "axis" and _number(node) is not None:
        for t in {-1: [0], 0: [-1], 1: [0]}.get(_number(node), []):  # type: ignore[arg-type]
            yield f"axis={seg(node)} -> axis={t}", _expr(str(t)), str(t)
    if isinstance(node, ast.Call):
        for i, kw in enumerate(node.keywords):
            if kw.arg == "axis":
                new = copy.deepcopy(node)
                del new.keywords[i]
                yield f"axis={seg(kw.value)} dropped (reduce over everything)", new, None
    if (isinstance(node, ast.Constant) and isinstance(node.value, str) and "->" in node.value
            and isinstance(parent, ast.Call) and _call_name(parent) == "einsum" and parent.args[0] is node):
        inputs, output = node.value.split("->")
        if len(output) >= 2 and output[::-1] != output:
            spec = f"{inputs}->{output[::-1]}"
            yield (f"einsum output transposed ('{node.value}' -> '{spec}')", ast.Constant(spec),
                   _string_literal(spec, seg(node)))
    if isinstance(node, ast.Attribute) and node.attr == "T" and isinstance(node.ctx, ast.Load):
        yield "transpose dropped", copy.deepcopy(node.value), seg(node.value)


def _op_negate(node: ast.AST, parent: Optional[ast.AST], seg: Segment) -> Iterator[Replacement]:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)):
        if _number(node) is None:  # -1 is a constant, not a negation
            yield (f"'{'-' if isinstance(node.op, ast.USub) else 'not '}' removed", copy.deepcopy(node.operand),
                   None)
    if isinstance(parent, (ast.If, ast.IfExp, ast.While)) and parent.test is node:
        yield "condition negated", ast.UnaryOp(ast.Not(), copy.deepcopy(node)), None
    if isinstance(parent, ast.Return) and parent.value is node and not isinstance(node, (ast.Tuple, ast.Constant)):
        yield "returned value negated", ast.UnaryOp(ast.USub(), copy.deepcopy(node)), None


def _call_name(node: ast.Call) -> Optional[str]:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def _op_library(node: ast.AST, parent: Optional[ast.AST], seg: Segment) -> Iterator[Replacement]:
    if (isinstance(node, ast.Constant) and node.value in ("left", "right") and isinstance(parent, ast.keyword)
            and parent.arg == "side"):
        other = "left" if node.value == "right" else "right"
        yield f"side='{node.value}' -> side='{other}'", ast.Constant(other), _string_literal(other, seg(node))
    if not isinstance(node, ast.Call):
        return
    name = _call_name(node)
    if name == "pinv" and isinstance(node.func, ast.Attribute):
        new = copy.deepcopy(node)
        new.func.attr = "inv"  # type: ignore[attr-defined]
        new.keywords = []  # inv takes no rcond / hermitian
        yield "pinv -> inv", new, None
    elif name in _LIBRARY and isinstance(node.func, ast.Attribute):
        new = copy.deepcopy(node)
        new.func.attr = _LIBRARY[name]  # type: ignore[attr-defined]
        text = seg(node)
        head = seg(node.func)
        hint = head[: -len(name)] + _LIBRARY[name] + text[len(head):] if head.endswith(name) else None
        yield f"{name} -> {_LIBRARY[name]}", new, hint
    elif name == "solve" and isinstance(node.func, ast.Attribute) and len(node.args) == 2:
        prefix = seg(node.func.value)
        text = f"{prefix}.pinv({seg(node.args[0])}) @ {seg(node.args[1])}"
        yield "solve(A, b) -> pinv(A) @ b", _expr(text), text
    elif name == "sqrt" and len(node.args) == 1:
        yield "sqrt dropped", copy.deepcopy(node.args[0]), seg(node.args[0])
    elif name == "where" and len(node.args) == 3:
        yield "where(c, a, b) -> a (guard dropped)", copy.deepcopy(node.args[1]), seg(node.args[1])


_OPERATOR_FUNCTIONS: dict[str, Callable[[ast.AST, Optional[ast.AST], Segment], Iterator[Replacement]]] = {
    "arith": _op_arith,
    "compare": _op_compare,
    "constant": _op_constant,
    "swap_args": _op_swap_args,
    "drop_term": _op_drop_term,
    "axis": _op_axis,
    "negate": _op_negate,
    "library": _op_library,
}


# ----------------------------------------------------------------------------------------------
# generation
# ----------------------------------------------------------------------------------------------
def _preorder(tree: ast.AST) -> list[tuple[ast.AST, Optional[ast.AST]]]:
    """Every node with its parent, depth first, in a deterministic order."""
    out: list[tuple[ast.AST, Optional[ast.AST]]] = []

    def visit(node: ast.AST, parent: Optional[ast.AST]) -> None:
        out.append((node, parent))
        for child in ast.iter_child_nodes(node):
            visit(child, node)

    visit(tree, None)
    return out


def _replace_child(parent: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for field, value in ast.iter_fields(parent):
        if value is old:
            setattr(parent, field, new)
            return
        if isinstance(value, list):
            for i, item in enumerate(value):
                if item is old:
                    value[i] = new
                    return
    raise RuntimeError("node not found in its parent")


def _splice(source: str, node: ast.AST, text: str) -> str:
    """``source`` with ``node``'s span replaced by ``text`` (AST offsets are UTF-8 byte columns)."""
    lines = source.splitlines(keepends=True)
    first, last = node.lineno - 1, node.end_lineno - 1  # type: ignore[attr-defined, operator]
    head = lines[first].encode()[: node.col_offset].decode()  # type: ignore[attr-defined]
    tail = lines[last].encode()[node.end_col_offset:].decode()  # type: ignore[attr-defined]
    return "".join(lines[:first]) + head + text + tail + "".join(lines[last + 1:])


def _mutated_source(source: str, node: ast.AST, new: ast.AST, hint: Optional[str],
                    expected_dump: str) -> Optional[str]:
    """Splice ``hint`` (or ``ast.unparse(new)``) in place of ``node``, parenthesised when precedence
    needs it; the result must parse to ``expected_dump``. None if no candidate does."""
    candidates = [hint] if hint else []
    candidates.append(ast.unparse(new))
    if isinstance(new, ast.expr):
        candidates += [f"({c})" for c in candidates]
    for candidate in candidates:
        out = _splice(source, node, candidate)
        try:
            if ast.dump(ast.parse(out)) == expected_dump:
                return out
        except SyntaxError:
            continue
    return None


def _changed_lines(source: str, mutated: str, node: ast.AST) -> tuple[str, str]:
    """The original and mutated text of the lines ``node`` spans, each joined into one line."""
    old = source.splitlines()
    new = mutated.splitlines()
    first, last = node.lineno - 1, node.end_lineno  # type: ignore[attr-defined]
    last_new = last + len(new) - len(old)
    return " ".join(s.strip() for s in old[first:last]), " ".join(s.strip() for s in new[first:last_new])


def mutants_of_source(source: str, name: str, operators: Optional[Sequence[str]] = None) -> list[Mutant]:
    """The mutants of module ``name`` (e.g. ``"npg.py"``) whose text is ``source``, by ``operators``
    (default all), in operator-family, line and operator order; not yet deduplicated."""
    operators = list(operators or OPERATORS)
    path = Path(name)
    tree = ast.parse(source)
    blocks = solution_blocks(source, tree)
    out = _syntax_mutants(source, tree, blocks, path, [o for o in operators if FAMILIES[o] == "syntax"])
    out += _mistake_mutants(source, tree, blocks, path, [o for o in operators if FAMILIES[o] == "student"])
    return out


def _mistake_mutants(source: str, tree: ast.Module, blocks: dict[str, tuple[int, int]], path: Path,
                     operators: Sequence[str]) -> list[Mutant]:
    """Mutants of the student-mistake operators: whole lines of a solution block rewritten."""
    lines = source.splitlines(keepends=True)
    original_dump = ast.dump(tree)
    out: list[Mutant] = []
    for fn in tree.body:
        if not isinstance(fn, ast.FunctionDef) or fn.name not in blocks:
            continue
        view = FunctionView(fn, blocks[fn.name], source)
        for operator in operators:
            for k, edit in enumerate(mistake_edits(operator, view)):
                lo, hi = blocks[fn.name]
                if not (lo <= edit.first <= edit.last <= hi):
                    continue
                new_lines = lines[: edit.first - 1] + [t + "\n" for t in edit.lines] + lines[edit.last:]
                text = "".join(new_lines)
                try:
                    if ast.dump(ast.parse(text)) == original_dump:
                        continue
                except SyntaxError:
                    continue
                before = " | ".join(t.strip() for t in source.splitlines()[edit.first - 1: edit.last])
                after = " | ".join(t.strip() for t in edit.lines)
                out.append(Mutant(
                    id=f"{path.stem}.{fn.name}:{edit.first}:{operator}:{k}",
                    file=path.name, function=fn.name, operator=operator, description=edit.description,
                    line=edit.first, original=before, mutated=after, source=text,
                ))
    return out


def _syntax_mutants(source: str, tree: ast.Module, blocks: dict[str, tuple[int, int]], path: Path,
                    operators: Sequence[str]) -> list[Mutant]:
    """Mutants of the syntax operators: one AST node of a solution block replaced."""
    nodes = _preorder(tree)
    seg = _Source(source)
    original_dump = ast.dump(tree)
    out: list[Mutant] = []
    for index, (node, parent) in enumerate(nodes):
        if not hasattr(node, "lineno") or isinstance(node, (ast.FunctionDef, ast.arg)):
            continue
        owner = next((name for name, (lo, hi) in blocks.items()
                      if lo <= node.lineno and node.end_lineno <= hi), None)  # type: ignore[attr-defined]
        if owner is None:
            continue
        for operator in operators:
            for k, (description, replacement, hint) in enumerate(_OPERATOR_FUNCTIONS[operator](node, parent, seg)):
                mutated_tree = copy.deepcopy(tree)
                target, target_parent = _preorder(mutated_tree)[index]
                assert target_parent is not None
                _replace_child(target_parent, target, replacement)
                dump = ast.dump(mutated_tree)
                if dump == original_dump:
                    continue
                text = _mutated_source(source, node, replacement, hint, dump)
                if text is None:
                    continue
                before, after = _changed_lines(source, text, node)
                out.append(Mutant(
                    id=f"{path.stem}.{owner}:{node.lineno}:{operator}:{index}.{k}",
                    file=path.name, function=owner, operator=operator, description=description,
                    line=node.lineno, original=before, mutated=after, source=text,
                ))
    return out


def generate_mutants(
    folder: Optional[Path] = None,
    files: Sequence[str] = STUDENT_FILES,
    operators: Optional[Sequence[str]] = None,
    functions: Optional[Sequence[str]] = None,
) -> list[Mutant]:
    """All first-order mutants of the student functions of the reference in ``folder``.

    Args:
        folder: the reference package (default: ``solutions/``).
        files: the student files to mutate.
        operators: operator names (keys of :data:`OPERATORS`); default all.
        functions: restrict to these student functions; default all.

    Returns:
        mutants in file, line and operator order, deduplicated by the AST of the mutated module.
    """
    folder = folder or reference_folder()
    operators = list(operators or OPERATORS)
    unknown = [o for o in operators if o not in OPERATORS]
    if unknown:
        raise ValueError(f"unknown mutation operator(s) {unknown}; choose from {sorted(OPERATORS)}")
    seen: set[str] = set()
    out: list[Mutant] = []
    for name in files:
        for mutant in mutants_of_source((Path(folder) / name).read_text(encoding="utf-8"), name, operators):
            if functions and mutant.function not in functions:
                continue
            key = mutant.file + "\0" + ast.dump(ast.parse(mutant.source))
            if key in seen:
                continue
            seen.add(key)
            out.append(mutant)
    return out


def mutant_files(mutant: Mutant, folder: Optional[Path] = None,
                 files: Sequence[str] = STUDENT_FILES) -> dict[str, str]:
    """The mutant as a student's submission: ``{file name: text}``, one file changed."""
    folder = folder or reference_folder()
    out = {name: student_source((Path(folder) / name).read_text(encoding="utf-8")) for name in files}
    out[mutant.file] = student_source(mutant.source)
    return out
