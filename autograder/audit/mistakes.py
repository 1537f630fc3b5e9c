"""Mutation operators that model students' own mistakes, not syntax slips.

The operators of :mod:`autograder.audit.mutants` change one token (``+`` to ``-``, ``0`` to
``1``); students' real mistakes in numerical code are often about *state*: an alias of the
caller's array updated in place, a threshold guard that fires on small but valid inputs, a
``return`` one indentation level too deep, a loop one step short, a value from the previous
iteration, a parameter confused with its neighbour or ignored. Each operator below rewrites whole
lines of a student function's solution block (one mistake per mutant, at most two lines):

================  ==========================================================================
operator          what it writes
================  ==========================================================================
``alias``         an alias instead of a copy (``r = g.copy()`` -> ``r = g``), and an
                  in-place update of an argument (``psi = phi - m`` -> ``psi = phi; psi -= m``;
                  ``f(a - b)`` -> ``a -= b; f(a)``): the caller's array changes
``guard``         a threshold guard instead of an exact test (``x == 0`` ->
                  ``abs(x) < 1e-8``, ``x > 0`` -> ``x > 1e-8``), and an early exit on
                  ``np.allclose(g, 0)`` / ``np.linalg.norm(g) < 1e-8`` instead of its test
``early_return``  the function's final ``return`` inside the loop (after one iteration)
``loop_bounds``   ``range(n)`` -> ``range(n - 1)``, ``range(1, n)``, ``range(n + 1)``
                  (and the same for ``range(a, b)``); an index off by one in the loop
                  (``x[i]`` -> ``x[i - 1]``, ``x[i + 1]`` -> ``x[i]``)
``broadcast``     a new axis in the wrong place (``d[:, None] * pi`` -> ``d[None, :] * pi``):
                  right when the two axes have the same length, wrong otherwise
``stale``         a value from the previous iteration: two dependent statements swapped, a
                  loop-carried update (``rr = rr_new``) dropped, ``x[i]`` -> ``x[0]``
``confused_name`` a name read as its look-alike bound before it (``theta`` <-> ``theta0``,
                  ``pi`` <-> ``pi0``, ``rr`` <-> ``rr_new``)
``ignored_param`` a parameter with a default replaced by that default (``tol`` -> ``1e-10``)
================  ==========================================================================

An operator yields :class:`Edit` objects (lines ``first..last`` of the module replaced by
``lines``); :func:`autograder.audit.mutants.generate_mutants` keeps an edit only if the module
still parses and its AST changed, and deduplicates the results with the syntax operators'.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

__all__ = ["MISTAKE_OPERATORS", "Edit", "FunctionView", "mistake_edits"]

THRESHOLD = "1e-8"  # the tolerance students write in guards

MISTAKE_OPERATORS: dict[str, str] = {
    "alias": "an argument aliased or updated in place",
    "guard": "a threshold guard (allclose, < 1e-8) instead of an exact test",
    "early_return": "the final return inside the loop",
    "loop_bounds": "a loop bound or loop index off by one",
    "broadcast": "a new axis in the wrong place (broadcasting along the wrong axis)",
    "stale": "a stale value from the previous iteration",
    "confused_name": "a name confused with its look-alike",
    "ignored_param": "a parameter replaced by its default",
}


@dataclass(frozen=True)
class Edit:
    """Lines ``first..last`` (1-based, inclusive) of the module replaced by ``lines``."""

    description: str
    first: int
    last: int
    lines: tuple[str, ...]


class FunctionView:
    """One student function as the operators see it: its AST, its solution block, its source lines."""

    def __init__(self, fn: ast.FunctionDef, block: tuple[int, int], text: str) -> None:
        self.fn = fn
        self.lo, self.hi = block
        self.text = text
        self.lines = text.splitlines()
        args = fn.args.posonlyargs + fn.args.args
        self.params = [a.arg for a in args + fn.args.kwonlyargs]
        defaults = dict(zip([a.arg for a in args][len(args) - len(fn.args.defaults):], fn.args.defaults))
        defaults.update({a.arg: d for a, d in zip(fn.args.kwonlyargs, fn.args.kw_defaults) if d is not None})
        self.defaults: dict[str, ast.expr] = defaults
        self.nodes = [(n, p) for n, p in _walk_with_parents(fn) if self.inside(n)]

    def inside(self, node: ast.AST) -> bool:
        """True when ``node`` lies wholly within the solution block."""
        return hasattr(node, "lineno") and self.lo <= node.lineno and node.end_lineno <= self.hi  # type: ignore

    def seg(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.text, node) or ast.unparse(node)

    def indent(self, line: int) -> str:
        text = self.lines[line - 1]
        return text[: len(text) - len(text.lstrip())]

    def replace_span(self, node: ast.AST, new: str, description: str, prefix: str = "") -> Optional[Edit]:
        """An edit replacing ``node``'s text by ``new`` (``prefix`` goes before the line's statement);
        None if the node spans more than one line."""
        if node.lineno != node.end_lineno:  # type: ignore[attr-defined]
            return None
        line = self.lines[node.lineno - 1]  # type: ignore[attr-defined]
        raw = line.encode()
        head = raw[: node.col_offset].decode()  # type: ignore[attr-defined]
        tail = raw[node.end_col_offset:].decode()  # type: ignore[attr-defined]
        text = head + new + tail
        if prefix:
            indent = self.indent(node.lineno)  # type: ignore[attr-defined]
            text = indent + prefix + text[len(indent):]
        return Edit(description, node.lineno, node.lineno, (text,))  # type: ignore[attr-defined]

    def bound_before(self, line: int) -> set[str]:
        """Parameters and names assigned on a line before ``line`` in this function."""
        names = set(self.params)
        for node in ast.walk(self.fn):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.lineno < line:
                names.add(node.id)
        return names

    def statement_lists(self) -> Iterator[tuple[Optional[ast.stmt], list[ast.stmt]]]:
        """Every statement list of the function (body, loop and branch bodies) with its owner."""
        for node in ast.walk(self.fn):
            for name in ("body", "orelse"):
                body = getattr(node, name, None)
                if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                    yield (None if node is self.fn else node), body  # type: ignore[misc]


def _walk_with_parents(root: ast.AST) -> Iterator[tuple[ast.AST, Optional[ast.AST]]]:
    stack: list[tuple[ast.AST, Optional[ast.AST]]] = [(root, None)]
    while stack:
        node, parent = stack.pop()
        yield node, parent
        stack.extend((child, node) for child in reversed(list(ast.iter_child_nodes(node))))


def _root_name(node: ast.AST) -> Optional[str]:
    """``a`` for ``a``, ``a.b`` and ``a.b.c``; None otherwise."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _reads(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} | (
        {t.id for t in [node.target] if isinstance(t, ast.Name)} if isinstance(node, ast.AugAssign) else set())


def _writes(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


_SIMPLE = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.Return)
_INPLACE = {ast.Add: "+=", ast.Sub: "-=", ast.Mult: "*=", ast.Div: "/="}


# ----------------------------------------------------------------------------------------------
# operators
# ----------------------------------------------------------------------------------------------
def _array_like(view: FunctionView) -> set[str]:
    """Names and attributes (as source text) that are arrays: parameters annotated as arrays, and
    what the function subscripts, uses as an operand of ``@``, reads an array attribute of, or passes
    directly to a numpy call. Updating a scalar argument in place only rebinds it, so the alias
    operator skips those."""
    out = {a.arg for a in view.fn.args.args + view.fn.args.kwonlyargs
           if a.annotation is not None and any(t in ast.unparse(a.annotation) for t in ("ndarray", "ArrayLike"))}
    for node, _ in view.nodes:
        if isinstance(node, ast.Subscript):
            out.add(view.seg(node.value))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            out.update((view.seg(node.left), view.seg(node.right)))
        elif isinstance(node, ast.Attribute) and node.attr in ("T", "shape", "size", "copy", "reshape", "sum"):
            out.add(view.seg(node.value))
        elif isinstance(node, ast.Call) and _root_name(node.func) == "np":
            out.update(view.seg(a) for a in node.args if isinstance(a, (ast.Name, ast.Attribute)))
    return out


def _op_alias(view: FunctionView) -> Iterator[Edit]:
    arrays = _array_like(view)
    for node, _ in view.nodes:
        # r = g.copy() -> r = g ; np.copy(g) / np.array(g) -> g
        if isinstance(node, ast.Call) and not node.keywords:
            func = node.func
            if (isinstance(func, ast.Attribute) and func.attr == "copy" and not node.args
                    and _root_name(func.value) is not None):
                edit = view.replace_span(node, view.seg(func.value), f"alias instead of a copy: "
                                         f"{view.seg(node)} -> {view.seg(func.value)}")
                if edit:
                    yield edit
            elif (isinstance(func, ast.Attribute) and func.attr in ("copy", "array") and len(node.args) == 1
                  and _root_name(node.args[0]) is not None):
                edit = view.replace_span(node, view.seg(node.args[0]),
                                         f"alias instead of a copy: {view.seg(node)} -> {view.seg(node.args[0])}")
                if edit:
                    yield edit
        # an argument (or an array attribute of one) updated in place
        if not (isinstance(node, ast.BinOp) and type(node.op) in _INPLACE
                and _root_name(node.left) in view.params and view.seg(node.left) in arrays):
            continue
        statement = _statement_of(view, node)
        if statement is None or not isinstance(statement, _SIMPLE) or statement.lineno != statement.end_lineno:
            continue
        left, right, op = view.seg(node.left), view.seg(node.right), _INPLACE[type(node.op)]
        if (isinstance(statement, ast.Assign) and statement.value is node and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)):
            target = statement.targets[0].id
            edit = view.replace_span(node, f"{left}; {target} {op} {right}",
                                     f"in-place update of the argument: {target} = {left}; {target} {op} ...")
        else:
            edit = view.replace_span(node, left, f"in-place update of the argument: {left} {op} {right}",
                                     prefix=f"{left} {op} {right}; ")
        if edit:
            yield edit


def _statement_of(view: FunctionView, node: ast.AST) -> Optional[ast.stmt]:
    """The innermost statement containing ``node`` (None if it sits in a lambda or comprehension)."""
    parents = {id(child): parent for child, parent in _walk_with_parents(view.fn)}
    current: Optional[ast.AST] = node
    while current is not None and not isinstance(current, ast.stmt):
        if isinstance(current, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return None
        current = parents.get(id(current))
    return current  # type: ignore[return-value]


def _zero_compare(node: ast.Compare) -> Optional[str]:
    """The threshold version of ``x OP 0`` (None if ``node`` is not such a test)."""
    if len(node.ops) != 1:
        return None
    right = node.comparators[0]
    if not (isinstance(right, ast.Constant) and isinstance(right.value, (int, float))
            and not isinstance(right.value, bool) and right.value == 0):
        return None
    op = type(node.ops[0])
    left = ast.unparse(node.left)
    if op is ast.Eq:
        return f"abs({left}) < {THRESHOLD}"
    if op is ast.NotEq:
        return f"abs({left}) > {THRESHOLD}"
    symbol = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}.get(op)
    return f"{left} {symbol} {THRESHOLD}" if symbol else None


def _op_guard(view: FunctionView) -> Iterator[Edit]:
    zeros_of = {n.args[0].id for n, _ in view.nodes
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "zeros_like"
                and n.args and isinstance(n.args[0], ast.Name) and n.args[0].id in view.params}
    for node, parent in view.nodes:
        if isinstance(node, ast.Compare) and isinstance(parent, (ast.If, ast.While, ast.IfExp, ast.BoolOp,
                                                                 ast.UnaryOp)):
            new = _zero_compare(node)
            if new:
                edit = view.replace_span(node, new, f"threshold instead of an exact test: {view.seg(node)} -> {new}")
                if edit:
                    yield edit
        if isinstance(node, ast.If) and isinstance(node.body[0], (ast.Return, ast.Break, ast.Continue)):
            for name in sorted(zeros_of):
                for new in (f"np.allclose({name}, 0)", f"np.linalg.norm({name}) < {THRESHOLD}"):
                    edit = view.replace_span(node.test, new, f"early exit on {new} instead of {view.seg(node.test)}")
                    if edit:
                        yield edit


def _op_early_return(view: FunctionView) -> Iterator[Edit]:
    final = view.fn.body[-1]
    if not isinstance(final, ast.Return) or final.value is None or not view.inside(final):
        return
    value = view.seg(final.value)
    for node, _ in view.nodes:
        if isinstance(node, (ast.For, ast.While)):
            last = node.body[-1]
            line = view.lines[last.end_lineno - 1]  # type: ignore[operator]
            yield Edit(f"'return {value}' inside the loop: it stops after the first iteration",
                       last.end_lineno, last.end_lineno,  # type: ignore[arg-type]
                       (line, view.indent(last.lineno) + f"return {value}"))


def _op_loop_bounds(view: FunctionView) -> Iterator[Edit]:
    for node, _ in view.nodes:
        if not (isinstance(node, ast.For) and isinstance(node.iter, ast.Call) and isinstance(node.iter.func, ast.Name)
                and node.iter.func.id == "range" and not node.iter.keywords and 1 <= len(node.iter.args) <= 2):
            continue
        args = [view.seg(a) for a in node.iter.args]
        start, stop = ("0", args[0]) if len(args) == 1 else (args[0], args[1])
        options = [f"range({start}, {stop} - 1)" if len(args) == 2 else f"range({stop} - 1)",
                   f"range({start} + 1, {stop})" if len(args) == 2 else f"range(1, {stop})",
                   f"range({start}, {stop} + 1)" if len(args) == 2 else f"range({stop} + 1)"]
        for new in options:
            edit = view.replace_span(node.iter, new, f"loop bound off by one: {view.seg(node.iter)} -> {new}")
            if edit:
                yield edit
        if not isinstance(node.target, ast.Name):
            continue
        index = node.target.id
        for sub in ast.walk(node):  # an index off by one: x[i] -> x[i - 1], x[i + 1] -> x[i]
            if not (isinstance(sub, ast.Subscript) and view.inside(sub)):
                continue
            key = sub.slice
            if isinstance(key, ast.Name) and key.id == index:
                new = f"{index} - 1"
            elif (isinstance(key, ast.BinOp) and isinstance(key.op, (ast.Add, ast.Sub))
                  and isinstance(key.left, ast.Name) and key.left.id == index):
                new = index
            else:
                continue
            edit = view.replace_span(key, new, f"index off by one: {view.seg(sub)} -> {view.seg(sub.value)}[{new}]")
            if edit:
                yield edit


def _op_broadcast(view: FunctionView) -> Iterator[Edit]:
    for node, _ in view.nodes:
        if not (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Tuple)):
            continue
        items = [view.seg(e) for e in node.slice.elts]
        new_axes = [i for i, e in enumerate(node.slice.elts) if isinstance(e, ast.Constant) and e.value is None]
        if len(new_axes) != 1:
            continue
        axis = new_axes[0]
        for j in range(len(items)):  # the new axis in another place: broadcasting along the wrong axis
            if j == axis:
                continue
            moved = [x for i, x in enumerate(items) if i != axis]
            moved.insert(j, "None")
            new = f"{view.seg(node.value)}[{', '.join(moved)}]"
            edit = view.replace_span(node, new, f"new axis in the wrong place: {view.seg(node)} -> {new}")
            if edit:
                yield edit


def _op_stale(view: FunctionView) -> Iterator[Edit]:
    loops = [n for n, _ in view.nodes if isinstance(n, (ast.For, ast.While))]
    for owner, body in view.statement_lists():
        in_loop = any(owner is loop or (owner is not None and _contains(loop, owner)) for loop in loops)
        for s1, s2 in zip(body, body[1:]):
            if not (isinstance(s1, _SIMPLE) and isinstance(s2, _SIMPLE) and not isinstance(s2, ast.Return)
                    and view.inside(s1) and view.inside(s2)
                    and s1.lineno == s1.end_lineno and s2.lineno == s2.end_lineno):
                continue
            # s2 reads what s1 writes, and that name already holds an older value before s1
            stale = (_reads(s2) & _writes(s1)) & (view.bound_before(s1.lineno) | (_loop_names(loops, s1)
                                                                                   if in_loop else set()))
            if stale:
                yield Edit(f"statements swapped: {', '.join(sorted(stale))} read before it is updated",
                           s1.lineno, s2.lineno, (view.lines[s2.lineno - 1], view.lines[s1.lineno - 1]))
    for loop in loops:
        carried = _writes(loop)
        for node in ast.walk(loop):
            # a loop-carried update dropped: `rr = rr_new` never happens, later iterations reuse rr
            if (isinstance(node, ast.Assign) and view.inside(node) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name) and node.lineno == node.end_lineno
                    and node.targets[0].id in view.bound_before(loop.lineno)):
                yield Edit(f"update of {node.targets[0].id} in the loop dropped (the stale value is reused)",
                           node.lineno, node.lineno, (view.indent(node.lineno) + "pass",))
        if isinstance(loop, ast.For) and isinstance(loop.target, ast.Name):
            index = loop.target.id
            for node in ast.walk(loop):
                if (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and view.inside(node)
                        and isinstance(node.slice, ast.Name) and node.slice.id == index
                        and _root_name(node.value) not in carried - view.bound_before(loop.lineno)):
                    new = f"{view.seg(node.value)}[0]"
                    edit = view.replace_span(node, new, f"the first iterate instead of the current one: "
                                             f"{view.seg(node)} -> {new}")
                    if edit:
                        yield edit


def _contains(outer: ast.AST, inner: ast.AST) -> bool:
    return any(n is inner for n in ast.walk(outer))


def _loop_names(loops: list[ast.AST], statement: ast.stmt) -> set[str]:
    """Names assigned anywhere in the loops enclosing ``statement`` (their previous iteration's value)."""
    return set().union(*[_writes(loop) for loop in loops if _contains(loop, statement)])


def _op_confused_name(view: FunctionView) -> Iterator[Edit]:
    local = view.bound_before(view.hi + 1)  # parameters and the function's own variables, not modules
    for node, _ in view.nodes:
        if not (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in local):
            continue
        for other in sorted(view.bound_before(node.lineno)):
            if other != node.id and (other.startswith(node.id) or node.id.startswith(other)) and (
                    len(min(other, node.id, key=len)) >= 2 or abs(len(other) - len(node.id)) == 1):
                edit = view.replace_span(node, other, f"{node.id} -> {other}")
                if edit:
                    yield edit


def _op_ignored_param(view: FunctionView) -> Iterator[Edit]:
    for node, _ in view.nodes:
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in view.defaults:
            default = view.seg(view.defaults[node.id])
            edit = view.replace_span(node, default, f"parameter {node.id} ignored: its default {default} used")
            if edit:
                yield edit


_MISTAKE_FUNCTIONS: dict[str, Callable[[FunctionView], Iterator[Edit]]] = {
    "alias": _op_alias,
    "guard": _op_guard,
    "early_return": _op_early_return,
    "loop_bounds": _op_loop_bounds,
    "broadcast": _op_broadcast,
    "stale": _op_stale,
    "confused_name": _op_confused_name,
    "ignored_param": _op_ignored_param,
}


def mistake_edits(operator: str, view: FunctionView) -> Iterator[Edit]:
    """The edits of student-mistake ``operator`` (a key of :data:`MISTAKE_OPERATORS`) on ``view``."""
    return _MISTAKE_FUNCTIONS[operator](view)
