"""The grader inside the Gradescope bundle: ``run_autograder`` runs :func:`main`.

Layout (``$AUTOGRADER_ROOT``, default ``/autograder``, as on Gradescope)::

    source/                  the unzipped bundle (root only)
      grader/                autograder/, solutions/, secret, bundle.json (this code runs from here)
    submission/              what the student uploaded (read into memory before any student code runs)
    submission_metadata.json Gradescope's metadata: the submission id seeds the hidden cases
    results/results.json     what we write (atomically; a placeholder first, so a crash leaves a valid file)

Under root, student code runs as an unprivileged user (or in bubblewrap); the bundle, the
reference, the secret, the metadata and the results folder are root-only and hidden from the
sandbox, and every process of the sandbox user is killed before the results are written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Optional

from ..engine.isolation import Isolation, UserIsolation, detect_isolation, kill_user_processes, remove_user_leftovers
from ..engine.results import clip_results, failure_results, gradescope_results, summary_text, terminal_report
from ..engine.sandbox import Limits
from ..errors import UserError
from ..fileio import write_json_atomic

CONFIG_NAME = "bundle.json"
SECRET_NAME = "secret"
PRIVATE_DIR = "grader"
UNFINISHED = ("grading did not finish (the grader was stopped by its time limit, or crashed); "
              "resubmit, and tell the course staff if this happens again")


@dataclass(frozen=True)
class Layout:
    """Where things are under the autograder root."""

    root: Path

    @property
    def source(self) -> Path:
        return self.root / "source"

    @property
    def private(self) -> Path:
        return self.source / PRIVATE_DIR

    @property
    def submission(self) -> Path:
        return self.root / "submission"

    @property
    def metadata(self) -> Path:
        return self.root / "submission_metadata.json"

    @property
    def results_dir(self) -> Path:
        return self.root / "results"

    @property
    def results(self) -> Path:
        return self.results_dir / "results.json"


@dataclass(frozen=True)
class Metadata:
    """What the grader uses from ``submission_metadata.json``."""

    submission_id: Optional[str] = None
    due_date: Optional[datetime] = None
    late_due_date: Optional[datetime] = None
    created_at: Optional[datetime] = None
    note: Optional[str] = None  # a problem reading the file
    previous: tuple[Previous, ...] = ()  # the student's earlier submissions to this assignment

    @property
    def last_due_date(self) -> Optional[datetime]:
        """When ``after_due_date`` tests appear: the late due date when one is set (Gradescope's rule)."""
        return self.late_due_date or self.due_date


@dataclass(frozen=True)
class Previous:
    """One of ``previous_submissions``: when, its score, and whether this grader graded it (a
    submission refused by the rate limit is marked so in its results' ``extra_data``)."""

    submitted: datetime
    score: Optional[float]
    graded: bool
    results: Optional[dict] = None


def parse_time(value: Any) -> Optional[datetime]:
    """An ISO 8601 time as Gradescope writes it (``2024-03-01T23:59:00.000000-08:00``), or None.

    A time without a zone is taken as UTC; ``Z`` is accepted (Python 3.10's ``fromisoformat`` is not).
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace(" ", "T", 1)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def read_metadata(path: Path) -> Metadata:
    """Read Gradescope's submission metadata; a missing or broken file gives empty metadata and a note."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Metadata(note=f"no {path.name}: hidden cases are seeded by the submission's content")
    except (OSError, ValueError) as exc:
        return Metadata(note=f"could not read {path.name} ({exc}): hidden cases are seeded by the submission's content")
    if not isinstance(data, dict):
        return Metadata(note=f"{path.name} is not a JSON object")
    assignment = data.get("assignment") if isinstance(data.get("assignment"), dict) else {}
    ident = data.get("id")
    return Metadata(
        submission_id=str(ident) if isinstance(ident, (int, str)) and str(ident).strip() else None,
        due_date=parse_time(assignment.get("due_date")),
        late_due_date=parse_time(assignment.get("late_due_date")),
        created_at=parse_time(data.get("created_at")),
        previous=_previous(data.get("previous_submissions")),
    )


def _previous(items: Any) -> tuple[Previous, ...]:
    out = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        when = parse_time(item.get("submission_time"))
        if when is None:
            continue
        results = item.get("results") if isinstance(item.get("results"), dict) else None
        extra = results.get("extra_data") if results and isinstance(results.get("extra_data"), dict) else {}
        score = item.get("score")
        try:
            score = float(score) if score is not None else None
        except (TypeError, ValueError):
            score = None
        out.append(Previous(when, score, not extra.get(RATE_LIMITED), results))
    return tuple(sorted(out, key=lambda p: p.submitted))


RATE_LIMITED = "rate_limited"  # key in results.extra_data of a submission the rate limit refused


def rate_limit_results(metadata: Metadata, max_graded: int, window_hours: float,
                       now: Optional[datetime] = None) -> Optional[dict]:
    """Results for a submission over the rate limit, or None when it may be graded.

    At most ``max_graded`` submissions are graded in any window of ``window_hours`` hours: the
    earlier submissions that were graded (refused ones do not count) with a submission time in
    ``(t - window, t]``, t this submission's ``created_at`` (else ``now``), are counted. A refused
    submission keeps the best earlier score (with that submission's tests, so its feedback stays
    visible) and says when the next one will be graded.
    """
    moment = metadata.created_at or now or datetime.now(timezone.utc)
    window = timedelta(hours=window_hours)
    recent = [p for p in metadata.previous if p.graded and moment - window < p.submitted <= moment]
    if len(recent) < max_graded:
        return None
    graded = [p for p in metadata.previous if p.graded and p.score is not None]
    best = max(graded, key=lambda p: p.score, default=None)
    reopen = (recent[-max_graded].submitted + window).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    kept = (f"Your best earlier score, {best.score:g}, is kept (its feedback is below)." if best is not None
            else "No earlier submission has a score.")
    tests = list(best.results.get("tests", [])) if best is not None and best.results else []
    return {
        "score": best.score if best is not None else 0.0,
        "execution_time": 0, "output_format": "text", "visibility": "visible", "stdout_visibility": "hidden",
        "tests": tests, "leaderboard": [], "extra_data": {RATE_LIMITED: True},
        "output": (f"Not graded: at most {max_graded} submissions are graded in any {window_hours:g} hours, and you "
                   f"have had {len(recent)} graded since "
                   f"{(moment - window).astimezone(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}. {kept} "
                   f"Your next submission will be graded if made after {reopen}."),
    }


def load_config(private: Path) -> dict:
    """The bundle's settings (limits, visibility, sandbox user), written by ``build_bundle``."""
    return json.loads((private / CONFIG_NAME).read_text(encoding="utf-8"))


def lock_down(layout: Layout) -> None:
    """Under root: make the bundle, the results folder, the submission and the metadata root-only."""
    if os.geteuid() != 0:
        return
    layout.results_dir.mkdir(parents=True, exist_ok=True)
    for folder in (layout.source, layout.results_dir):
        for dirpath, dirnames, filenames in os.walk(folder):
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                if not os.path.islink(path):
                    os.chmod(path, os.stat(path).st_mode & 0o700)
        os.chmod(folder, 0o700)
    if layout.submission.is_dir():
        os.chmod(layout.submission, 0o700)
    if layout.metadata.is_file():
        os.chmod(layout.metadata, 0o600)


def check_isolation(isolation: Isolation) -> None:
    """Refuse to run student code as root, and check that the sandbox user can run Python with numpy."""
    if os.geteuid() != 0:
        return
    if isolation.name == "none":
        raise RuntimeError("no unprivileged user or bubblewrap to run student code; run setup.sh first")
    if isinstance(isolation, UserIsolation):
        probe = subprocess.run(
            [sys.executable, "-I", "-c", "import numpy"], capture_output=True, timeout=60, cwd="/",
            user=isolation.uid, group=isolation.gid, extra_groups=[],
        )
        if probe.returncode != 0:
            raise RuntimeError(
                f"the sandbox user {isolation.user} cannot run {sys.executable} with numpy "
                f"({probe.stderr.decode(errors='replace').strip()[-300:]}); install the packages for all "
                "users (setup.sh) and make the interpreter readable"
            )


def kill_sandbox_processes(isolation: Optional[Isolation], started: float) -> None:
    """SIGKILL every process of the sandbox user (only those started during this grade for a shared user);
    a dedicated user also loses what it left in /tmp, /var/tmp, /dev/shm and SysV IPC."""
    if isinstance(isolation, UserIsolation):
        kill_user_processes(isolation.uid, since=None if isolation.dedicated else started)
        if isolation.dedicated:
            remove_user_leftovers(isolation.uid)  # its files in /tmp and /dev/shm, its SysV IPC objects


def apply_visibility(results: dict, hidden_visibility: str) -> int:
    """Give hidden-case tests the bundle's visibility; returns how many there are."""
    count = 0
    for test in results.get("tests", []):
        if "hidden" in test.get("tags", []):
            test["visibility"] = hidden_visibility
            count += 1
    return count


def visibility_note(hidden: int, hidden_visibility: str, due: Optional[datetime], now: datetime) -> str:
    """One line telling students when hidden-case results appear (``due``: the late due date when
    the assignment has one, since Gradescope shows ``after_due_date`` tests only after it)."""
    if not hidden:
        return ""
    if hidden_visibility == "after_due_date":
        if due is None:
            return f"The {hidden} hidden-case checks are shown after the due date."
        when = due.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        if now >= due:
            return f"The due date ({when}) has passed: the {hidden} hidden-case checks are shown."
        return f"The {hidden} hidden-case checks (random MDPs you have not seen) are shown after the due date ({when})."
    if hidden_visibility == "after_published":
        return f"The {hidden} hidden-case checks are shown when the grades are published."
    if hidden_visibility == "hidden":
        return f"The {hidden} hidden-case checks are never shown; they count in your score."
    return ""


def grade_gradescope(layout: Layout) -> tuple[dict, Any]:
    """Grade ``layout.submission`` and return ``(results, report)``; raises only for grader failures
    (a submission that cannot be graded at all gives results with its message)."""
    from ..engine.loader import check_expected_files, load_submission
    from ..engine.runner import expected_files, grade_submission
    from ..engine.secret import resolve_secret

    started = time.time()
    config = load_config(layout.private)
    limits = Limits(**config.get("limits", {}))
    metadata = read_metadata(layout.metadata)
    secret, _ = resolve_secret(layout.private / SECRET_NAME)
    limit = config.get("rate_limit")
    if limit:
        refused = rate_limit_results(metadata, int(limit["max_graded"]), float(limit["window_hours"]))
        if refused is not None:
            return refused, None
    from ..registry import get

    name = config.get("suite")  # the bundled assignment's name (a bundle holds one)
    try:
        submission = load_submission(layout.submission, get(name) if name else None)
        check_expected_files(submission, expected_files(submission.assignment))
    except UserError as exc:
        return _unreadable_results(str(exc)), None
    isolation = detect_isolation()
    check_isolation(isolation)
    hide = [layout.source, layout.results_dir, layout.metadata, layout.submission]
    hidden_visibility = config.get("hidden_visibility", "after_due_date")

    def checkpoint(partial: Any) -> None:
        """Keep the parts graded so far, should the grader be killed before it finishes."""
        data = gradescope_results(partial)
        apply_visibility(data, hidden_visibility)
        write_json_atomic(layout.results, failure_results(UNFINISHED, data))

    report = None
    try:
        report = grade_submission(submission, secret=secret, identity=metadata.submission_id,
                                  suite_name=submission.assignment, limits=limits,
                                  isolation=isolation, hide=hide, on_part_done=checkpoint)
    finally:
        kill_sandbox_processes(isolation, started)
    if metadata.note:
        report.notes.append(metadata.note)
    now = datetime.now(timezone.utc)
    due = metadata.last_due_date
    shown = hidden_visibility == "visible" or (hidden_visibility == "after_due_date" and due is not None and now >= due)
    results = gradescope_results(report, hidden_shown=shown)
    count = apply_visibility(results, hidden_visibility)
    note = visibility_note(count, hidden_visibility, due, now)
    if note:
        results["output"] = summary_text(report, hidden_shown=shown) + "\n\n" + note
    results["stdout_visibility"] = "hidden"
    return clip_results(results), report


def _checkpoint(path: Path) -> Optional[dict]:
    """The parts graded before a failure (the last checkpoint written to results.json), if any."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and isinstance(data.get("tests"), list) and data["tests"]:
        return {"tests": data["tests"], "leaderboard": []}
    return None


def _unreadable_results(message: str) -> dict:
    return {
        "score": 0.0, "execution_time": 0, "output_format": "text", "visibility": "visible",
        "stdout_visibility": "hidden", "tests": [], "leaderboard": [],
        "output": f"Your submission could not be graded: {message}",
    }


def main(argv: Optional[list[str]] = None) -> int:
    """Grade the Gradescope submission under ``$AUTOGRADER_ROOT`` and write results.json.

    Returns 0 when results were written (also for a failed grade, which the results explain).
    """
    layout = Layout(Path(os.environ.get("AUTOGRADER_ROOT", "/autograder")))
    start = time.monotonic()
    try:
        lock_down(layout)
        write_json_atomic(layout.results, failure_results(UNFINISHED))
        results, report = grade_gradescope(layout)
        results["execution_time"] = round(time.monotonic() - start, 2)
        write_json_atomic(layout.results, results)
        if report is not None:
            print(terminal_report(report))
            print(f"\nGraded in {report.seconds:.1f} s (sandbox: {report.isolation}).")
        else:
            print(results["output"])
        return 0
    except BaseException as exc:  # whatever happens, results.json stays valid
        traceback.print_exc()
        message = f"{type(exc).__name__}: {exc}"
        try:
            data = failure_results(message[:2000], _checkpoint(layout.results))
            data["execution_time"] = round(time.monotonic() - start, 2)
            write_json_atomic(layout.results, data)
        except OSError:
            return 1
        return 1


if __name__ == "__main__":
    sys.exit(main())
