"""Feedback pages a TA can email or upload: ``OUTDIR/feedback/<id>.md`` and ``<id>.html`` per submission.

Each page holds the students' names, the total (and, with a late policy, the raw score and the
penalty), the points of every part, the notes of the grade (e.g. a file that could not be imported,
with its line and caret), and every failed *visible* check with its full feedback: input, expected
vs got, tolerance, the named mistake and the snippet that reproduces the call. Checks whose
visibility is not ``visible`` (hidden cases before the due date) are counted, never shown, so a
page can go to a student at any time. Everything from a submission is escaped in the HTML.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any, Optional, Sequence

from ..engine.sandbox import printable_text
from ..engine.secret import DEVELOPMENT_SECRET_NOTE
from ..fileio import write_text_atomic
from .gradebook import FAILED, NOT_GRADABLE, PENDING, SKIPPED, Row

FOLDER = "feedback"
STAFF_NOTES = frozenset({DEVELOPMENT_SECRET_NOTE})  # notes of a grade meant for course staff: not on the pages


def has_feedback(row: Row) -> bool:
    """Whether ``row`` gets a feedback page (graded or not gradable; not failed, pending or skipped)."""
    return row.status not in (FAILED, PENDING, SKIPPED)


def _sections(row: Row, results: dict[str, Any], title: str) -> list[tuple[str, Any]]:
    """The page as a list of (kind, content): kinds "h1", "h2", "p", "table" (rows of cells), "pre";
    every text made ``printable_text`` (results cached by an older grader may hold control characters)."""
    return [(kind, [[printable_text(str(c)) for c in r] for r in content] if kind == "table"
             else printable_text(str(content))) for kind, content in _raw_sections(row, results, title)]


def _raw_sections(row: Row, results: dict[str, Any], title: str) -> list[tuple[str, Any]]:
    people = [" ".join(x for x in (s.name, f"({s.sid})" if s.sid else "") if x) for s in row.entry.submitters]
    # Named as the students know it (their names, or the folder they handed in), not by the batch's id.
    whom = ", ".join(s.name for s in row.entry.submitters if s.name) or row.entry.name or row.entry.id
    out: list[tuple[str, Any]] = [("h1", f"{title}: feedback for {whom}")]
    if any(people):
        out.append(("p", "Students: " + ", ".join(p for p in people if p)))
    if row.status == NOT_GRADABLE:
        out.append(("p", "Score: 0 (not graded)."))
        out.append(("pre", row.error))
        return out
    summary = row.summary or {}
    score, max_score = float(summary.get("score", 0.0)), float(summary.get("max_score", 0.0))
    late = row.late
    if late is not None and late.penalty > 0:
        out.append(("p", f"Score: {late.total:.2f} / {max_score:g} after the late penalty "
                         f"({score:.2f} before; {late.describe()})."))
    else:
        out.append(("p", f"Score: {score:.2f} / {max_score:g}."))
        if late is not None and late.seconds_late > 0:
            out.append(("p", late.describe()))
    tests = results.get("tests", [])
    table = [["part", "points", "checks passed"]]
    for name, part_score, part_max in summary.get("parts", []):
        mine = [t for t in tests if t.get("name", "").startswith(f"{name}:")]
        passed = sum(t.get("status") == "passed" for t in mine)
        table.append([name, f"{part_score:.2f} / {part_max:g}", f"{passed} / {len(mine)}"])
    out.append(("h2", "Points per part"))
    out.append(("table", table))
    notes = [n for n in _notes(results.get("output", "")) if n not in STAFF_NOTES]
    if notes:
        out.append(("h2", "Notes"))
        out.extend(("pre", n) for n in notes)
    failed = [t for t in tests if t.get("status") != "passed"]
    shown = [t for t in failed if t.get("visibility", "visible") == "visible"]
    out.append(("h2", f"Failed checks ({len(failed)})"))
    if not failed:
        out.append(("p", "Every check passed."))
    for t in shown:
        out.append(("h3", f"{t.get('name', '')} (0 / {float(t.get('max_score', 0.0)):g})"))
        out.append(("pre", str(t.get("output", "")).rstrip()))
    if len(failed) > len(shown):
        out.append(("p", f"{len(failed) - len(shown)} failed check(s) on hidden cases are not shown here; "
                         "Gradescope shows them after the due date."))
    return out


def _notes(output: str) -> list[str]:
    """The ``Notes:`` items of a results summary (each ``  - `` item with its indented continuation)."""
    lines = output.splitlines()
    if "Notes:" not in lines:
        return []
    notes: list[str] = []
    for line in lines[lines.index("Notes:") + 1:]:
        if line.startswith("  - "):
            notes.append(line[4:])
        elif line.startswith("    ") and notes:
            notes[-1] += "\n" + line[4:]
        else:
            break
    return notes


def feedback_markdown(row: Row, results: dict[str, Any], title: str) -> str:
    """The feedback page in Markdown (failed checks' output in fenced ``text`` blocks)."""
    out = []
    for kind, content in _sections(row, results, title):
        if kind in ("h1", "h2", "h3"):
            out.append("#" * int(kind[1]) + " " + _md_text(content))
        elif kind == "p":
            out.append(_md_text(content))
        elif kind == "pre":
            # CommonMark closes a fence only with a run of the same character at least as long: one
            # backtick longer than any run in the content keeps student text inside the block.
            fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", content)), default=0))
            out.append(f"{fence}text\n{content}\n{fence}")
        elif kind == "table":
            head, *body = content
            out.append("\n".join(["| " + " | ".join(map(_md_text, head)) + " |", "|" + "---|" * len(head)]
                                 + ["| " + " | ".join(_md_text(c) for c in r) + " |" for r in body]))
    return "\n\n".join(out) + "\n"


def _md_text(text: str) -> str:
    """``text`` (names, messages: partly student-controlled) as Markdown that makes no HTML, link, code
    span or table cell of its own: ``\\ ` [ ] < |`` are escaped (emphasis is harmless and left alone)."""
    return re.sub(r"([\\`\[\]<|])", r"\\\1", " ".join(str(text).split()))


_CSS = ("body{font-family:system-ui,sans-serif;max-width:900px;margin:2em auto;padding:0 1em;color:#222}"
        "pre{background:#f6f6f6;padding:.6em;white-space:pre-wrap;border-left:3px solid #ccc}"
        "table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2em .6em;text-align:left}")


def feedback_html(row: Row, results: dict[str, Any], title: str) -> str:
    """The feedback page as a standalone HTML file (no scripts, no external resources)."""
    e = html.escape
    out = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
           f"<title>{e(title)}: {e(row.entry.id)}</title><style>{_CSS}</style></head><body>"]
    for kind, content in _sections(row, results, title):
        if kind in ("h1", "h2", "h3", "p"):
            out.append(f"<{kind}>{e(content)}</{kind}>")
        elif kind == "pre":
            out.append(f"<pre>{e(content)}</pre>")
        elif kind == "table":
            head, *body = content
            out.append("<table><tr>" + "".join(f"<th>{e(c)}</th>" for c in head) + "</tr>"
                       + "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in body)
                       + "</table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_feedback(outdir: Path, rows: Sequence[Row], results: dict[str, dict], title: str,
                   problems: Optional[list[str]] = None) -> set[str]:
    """Write ``outdir/feedback/<id>.md`` and ``.html`` for every row with a grade; return their names
    relative to ``outdir`` (the batch removes stale pages it wrote before, and only those).

    Each submission's pages are made in their own try: one that cannot be rendered is named in
    ``problems`` (the batch report's notes) and the others' pages are written all the same."""
    folder = Path(outdir) / FOLDER
    written = set()
    for row in rows:
        if not has_feedback(row) or row.entry.id not in results:
            continue
        try:
            pages = [(folder / f"{row.entry.id}{suffix}", render(row, results[row.entry.id], title))
                     for suffix, render in ((".md", feedback_markdown), (".html", feedback_html))]
            for path, text in pages:
                write_text_atomic(path, text)
                written.add(f"{FOLDER}/{path.name}")
        except Exception as exc:  # noqa: BLE001 -- a page is per student: the others' must still be written
            if problems is not None:
                problems.append(f"{row.entry.id}: no feedback page ({type(exc).__name__}: "
                                f"{printable_text(str(exc))[:200]})")
    return written
