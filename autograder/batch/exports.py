"""Gradebook exports that an LMS accepts as they are, besides ``grades.csv``.

* ``OUTDIR/canvas.csv``: Canvas's gradebook import format (Grades > Import): the columns
  ``Student, ID, SIS User ID, SIS Login ID, Section`` then one column per assignment, named
  ``<assignment>`` (Canvas matches an existing column by its full header, e.g. ``NPG homework
  (1234)`` as Canvas exported it). Canvas matches students by ``SIS User ID`` (our SID) or ``SIS
  Login ID`` (our email): ``key`` says which one is filled; ``ID`` (Canvas's internal id) stays
  empty. A second row gives the points possible, as Canvas's own export does.
* ``OUTDIR/gradescope_scores.csv``: ``Name, SID, Email, Total Score`` (the column names of
  Gradescope's own grade export) for Gradescope's score upload, which matches students by email
  or SID.

Both hold one line per student with a grade (the late-penalised total); students without the key
(no SID or email: a folder of submissions rather than a Gradescope export) and submissions without
a grade (failed, pending) are left out and returned, so the caller can list them.
"""

from __future__ import annotations

import csv
import io
from typing import Sequence

from .gradebook import Row, _cell, _number
from .inputs import Submitter

KEYS = ("sid", "email")


def canvas_csv(rows: Sequence[Row], assignment: str, points: float, key: str = "sid") -> tuple[str, list[str]]:
    """The Canvas import CSV and the students left out (``"<id>: <why>"``)."""
    if key not in KEYS:
        raise ValueError(f"key must be one of {KEYS}")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment])
    writer.writerow(["    Points Possible", "", "", "", "", _number(points)])
    left_out: list[str] = []
    for row, person in _students(rows, key, left_out):
        writer.writerow([_cell(person.name), "", _cell(person.sid) if key == "sid" else "",
                         _cell(person.email) if key == "email" else "", "", _number(row.total)])
    return out.getvalue(), left_out


def gradescope_csv(rows: Sequence[Row]) -> tuple[str, list[str]]:
    """The Gradescope score-upload CSV and the students left out."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Name", "SID", "Email", "Total Score"])
    left_out: list[str] = []
    for row, person in _students(rows, "sid or email", left_out):
        writer.writerow([_cell(person.name), _cell(person.sid), _cell(person.email), _number(row.total)])
    return out.getvalue(), left_out


def duplicate_keys(rows: Sequence[Row], key: str = "sid") -> list[str]:
    """``"SID 3001: submissions 1001, 1002"`` for each SID (or email) held by more than one submission:
    an upload would post two grades for one student."""
    if key not in KEYS:
        raise ValueError(f"key must be one of {KEYS}")
    holders: dict[str, list[str]] = {}
    for row in rows:
        for person in row.entry.submitters:
            value = getattr(person, key).strip()
            if value and row.entry.id not in holders.setdefault(value.casefold(), []):
                holders[value.casefold()].append(row.entry.id)
    return [f"{key.upper() if key == 'sid' else key} {value}: submissions {', '.join(ids)}"
            for value, ids in holders.items() if len(ids) > 1]


def _students(rows: Sequence[Row], key: str, left_out: list[str]) -> list[tuple[Row, Submitter]]:
    """``(row, submitter)`` for every student with a grade and the key; the others go to ``left_out``."""
    chosen = []
    for row in rows:
        if row.total is None:
            if not row.entry.skipped:
                left_out.append(f"{row.entry.id}: no grade ({row.status})")
            continue
        for person in row.entry.submitters or [Submitter()]:
            value = person.sid or person.email if key == "sid or email" else getattr(person, key)
            if not value:
                who = person.name or "its student"
                left_out.append(f"{row.entry.id}: no {key} for {who}")
                continue
            chosen.append((row, person))
    return chosen
