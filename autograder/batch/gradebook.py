"""The gradebook: one row per student in ``OUTDIR/grades.csv``.

A Gradescope group submission gives one row per submitter, each with the group's scores and the
same submission id. Text cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``,
``@`` first) are prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from .inputs import Entry, Submitter
from .lateness import Late

# Row statuses
GRADED = "graded"
GRADER_ERROR = "grader error"  # graded, but a check of the suite itself failed (partial results)
NOT_GRADABLE = "not gradable"  # nothing to grade: no code, unsafe zip, not UTF-8, ... (scores 0)
FAILED = "failed"  # the grader could not finish (worker died or hung); rerun to retry
PENDING = "pending"  # not graded yet (the batch was interrupted); rerun to continue
SKIPPED = "skipped"  # not a submission (a loose file in INPUT): listed with the reason, no score

MAX_ERROR_CHARS = 500


@dataclass
class Row:
    """The outcome of one submission."""

    entry: Entry
    status: str
    summary: Optional[dict[str, Any]] = None  # from pool.summarise(), when graded
    error: str = ""
    cached: bool = False
    late: Optional[Late] = None  # lateness and penalty, when the submission time and a due date are known

    @property
    def raw_total(self) -> Optional[float]:
        """Points earned by the code, before any late penalty; None when there is no grade (failed, pending)."""
        if self.summary is not None:
            return float(self.summary["score"])
        return 0.0 if self.status == NOT_GRADABLE else None

    @property
    def total(self) -> Optional[float]:
        """The grade: ``raw_total`` after the late penalty, if any."""
        raw = self.raw_total
        return self.late.total if raw is not None and self.late is not None else raw

    @property
    def seconds(self) -> Optional[float]:
        return float(self.summary["seconds"]) if self.summary is not None else None

    @property
    def mistakes(self) -> list[str]:
        return list(self.summary.get("mistakes", [])) if self.summary is not None else []

    @property
    def attention(self) -> list[str]:
        """Why a TA should look at this row even if it was graded (a file that could not be imported,
        a notebook beside .py files)."""
        if self.summary is None:
            return []
        return [*(self.summary.get("import_failures") or []), *(self.summary.get("attention") or [])]

    def part_scores(self) -> dict[str, float]:
        if self.summary is None:
            return {}
        return {name: float(score) for name, score, _max in self.summary["parts"]}


def csv_columns(parts: Sequence[str]) -> list[str]:
    """The header of grades.csv."""
    return ["submission_id", "input_name", "name", "sid", "email", "total", "raw_total", "late_hours", "late_penalty",
            *parts, "status", "error", "mistakes", "seconds"]


def csv_text(rows: Sequence[Row], parts: Sequence[str]) -> str:
    """grades.csv as text: one line per submitter (a submission without names gets one line)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(csv_columns(parts))
    for row in rows:
        total = row.total
        scores = row.part_scores()
        late = row.late
        numbers = [_number(total), _number(row.raw_total), "" if late is None else f"{late.hours_late:.2f}",
                   "" if late is None else _number(late.penalty)]
        for part in parts:
            numbers.append(_number(scores.get(part, 0.0 if row.status == NOT_GRADABLE else None)))
        # A graded row with a file that could not be imported says so here too (a TA filtering grades.csv sees it).
        error = " ".join((row.error or "; ".join(row.attention)).split())
        if len(error) > MAX_ERROR_CHARS:
            error = error[:MAX_ERROR_CHARS] + " [...]"
        tail = [row.status, _cell(error), _cell(";".join(row.mistakes)),
                "" if row.seconds is None else f"{row.seconds:.2f}"]
        for person in row.entry.submitters or [Submitter()]:
            writer.writerow([_cell(row.entry.id), _cell(row.entry.name), _cell(person.name), _cell(person.sid),
                             _cell(person.email), *numbers, *tail])
    return out.getvalue()


def _number(value: Optional[float]) -> str:
    if value is None:
        return ""
    return f"{value:.4f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"


def _cell(text: str) -> str:
    """Neutralise spreadsheet formulas in a text cell."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


