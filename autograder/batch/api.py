"""``run_batch``: grade a class, resumably, into a gradebook, per-submission results and a report.

Order of work, chosen so that no submission can affect another or the outputs:

1. read every submission of INPUT into memory (:mod:`.inputs`) before any student code runs;
2. look each one up in the cache (key: content digest, identity, secret fingerprint, suite,
   limits, grader code); only the missing ones are graded, in parallel workers (:mod:`.pool`),
   each in its own sandbox with INPUT, OUTDIR and the secret file hidden from student code;
3. each finished grade goes to ``OUTDIR/cache/`` and ``OUTDIR/results/<id>.json`` at once
   (atomically), so an interrupted batch loses nothing already graded;
4. at the end ``grades.csv``, the results files and ``report.html`` are (re)written from memory.
"""

from __future__ import annotations

import fcntl
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, TextIO, Union

from ..engine.isolation import detect_isolation
from ..engine.results import failure_results, not_gradable_results
from ..engine.runner import load_suite
from ..engine.sandbox import Limits
from ..engine.secret import resolve_secret
from ..engine.suite import Seeds
from ..errors import UserError
from ..fileio import write_json_atomic, write_text_atomic
from ..registry import get
from .cache import Cache, cache_key
from .exports import canvas_csv, duplicate_keys, gradescope_csv
from .feedback import write_feedback
from .gradebook import FAILED, GRADED, GRADER_ERROR, NOT_GRADABLE, PENDING, SKIPPED, Row, csv_text
from .inputs import Entry, snapshot
from .lateness import LatePolicy, apply_policy, parse_time
from .pool import GradingConfig, Job, run_pool
from .progress import Progress
from .report import PartInfo, ReportContext, write_report
from .similarity import PAGE as SIMILARITY_PAGE
from .similarity import start_similar_pairs, write_similarity

PathLike = Union[str, Path]


@dataclass
class BatchSummary:
    """What a batch did; ``rows`` holds one :class:`Row` per submission, in input order."""

    rows: list[Row]
    parts: list[PartInfo]
    outdir: Path
    isolation: str
    jobs: int
    graded: int = 0  # grades done by this run (the rest came from the cache)
    cached: int = 0
    grading_seconds: float = 0.0  # wall time of the grading phase
    seconds: float = 0.0  # wall time of the whole batch
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)
    duplicates: int = 0  # submissions with the same code (and identity) as an earlier one: graded once
    similar_pairs: Optional[list] = None  # the most similar pairs of code (similarity.Pair), when computed
    warnings: list[str] = field(default_factory=list)  # what may make a grade or an upload wrong (also in notes)
    uploads_written: bool = True  # canvas.csv and gradescope_scores.csv (not while submissions are pending)

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.rows)

    @property
    def rate(self) -> float:
        """Submissions graded per second of grading wall time (0 when nothing was graded)."""
        return self.graded / self.grading_seconds if self.graded and self.grading_seconds > 0 else 0.0

    @property
    def grades_csv(self) -> Path:
        return self.outdir / "grades.csv"

    @property
    def report_html(self) -> Path:
        return self.outdir / "report.html"

    @property
    def results_dir(self) -> Path:
        return self.outdir / "results"


def run_batch(
    input: PathLike,
    outdir: PathLike,
    jobs: Optional[int] = None,
    *,
    secret_file: Optional[PathLike] = None,
    secret: Optional[bytes] = None,
    suite: Optional[str] = None,
    limits: Optional[Limits] = None,
    isolation: Optional[str] = None,
    regrade: bool = False,
    progress: Optional[TextIO] = None,
    tty: Optional[bool] = None,
    late_policy: Optional[LatePolicy] = None,
    canvas_key: str = "sid",
    canvas_assignment: Optional[str] = None,
    similarity: bool = True,
) -> BatchSummary:
    """Grade every submission of ``input`` (a folder of submissions or a Gradescope export zip).

    Writes ``outdir/grades.csv``, ``outdir/results/<id>.json`` (Gradescope format, as
    ``autograder grade`` writes) and ``outdir/report.html`` with its plots in ``outdir/report/``.
    ``jobs`` worker processes grade in parallel (default: all cores). Results are cached in
    ``outdir/cache/``: a rerun grades only what is new or changed (``regrade=True`` grades all).
    Hidden cases are seeded by the Gradescope submission id for exports, else the content digest,
    so each grade equals ``autograder grade --id <identity>`` with the same secret. ``isolation``
    forces a sandbox mode ("bwrap", "user", "none"); ``progress`` is a stream for the progress bar
    and notes (default None: silent). ``late_policy`` (default: no penalty) turns each submission's
    ``created_at`` and the due dates into lateness and a penalised total (:mod:`.lateness`); the
    raw score stays in grades.csv. ``canvas.csv`` (students keyed by ``canvas_key``, "sid" or "email",
    the grade in column ``canvas_assignment``, default: the manifest's title; pages and report are
    titled by it too) and ``gradescope_scores.csv`` are for upload
    (:mod:`.exports`). With ``similarity``, ``similarity.html`` shows the most similar pairs of
    student code (:mod:`.similarity`). Feedback pages go to ``outdir/feedback/<id>.md|.html``. On Ctrl-C
    the outputs are written with the missing submissions marked pending and the summary says
    ``interrupted``. ``suite``: the assignment's name (``--assignment``); default: the only registered
    one, else the one the input's file names fit. Raises UserError when INPUT or OUTDIR is unusable.
    """
    started = time.monotonic()
    input_path = Path(input).resolve()
    out = Path(outdir).resolve()
    if input_path.is_dir() and (out == input_path or input_path in out.parents):
        raise UserError(f"the output folder {outdir} is inside INPUT {input}; choose an OUTDIR outside it")
    if out.exists() and not out.is_dir():
        raise UserError(f"{outdir} exists and is not a folder; choose another OUTDIR")
    if secret is None:
        secret, secret_note = resolve_secret(secret_file)
    else:
        secret_note = None
    assignment = _assignment_of(suite, input_path)
    suite = assignment.name
    limits = limits or assignment.make_limits(Limits())
    try:
        chosen = detect_isolation(isolation)
    except RuntimeError as exc:
        raise UserError(str(exc)) from None
    notes: list[str] = []
    if chosen.warning:
        notes.append(chosen.warning)
    jobs = max(1, jobs or _cpu_count())
    if chosen.name == "user" and jobs > 1:
        jobs = 1  # UserIsolation kills every process of the sandbox user after each grade
        notes.append("grading one submission at a time: running student code as another user (no bubblewrap) "
                     "cannot keep parallel grades apart; install bubblewrap for parallel grading")

    # 1. Every submission in memory before any student code runs.
    snap = snapshot(input_path, assignment.files, assignment)
    notes.extend(snap.notes)
    if not out.exists() and not out.parent.is_dir():  # a typo in -o should not create a tree of folders
        raise UserError(f"{out.parent} does not exist: create it first, or choose another OUTDIR")
    try:
        out.mkdir(exist_ok=True)
        _refuse_foreign_folder(Path(os.path.abspath(outdir)))  # as given (``out`` has links resolved)
        _refuse_foreign_folder(out)
        _refuse_foreign_folder(out / "cache")
        os.chmod(out, 0o700)  # grades and cached results are the TA's alone (and hidden from student code)
        lock = _lock(out)
    except OSError as exc:
        raise UserError(f"cannot write to {outdir} ({exc.strerror or exc}); choose another OUTDIR") from None
    try:
        owned = _owned_files(out, input_path, input)
        summary = _run(snap.entries, snap.kind, str(input), out, jobs, secret, secret_note, suite, limits,
                       chosen.name, regrade, progress, tty, notes, secret_file, input_path, late_policy or LatePolicy(),
                       (canvas_key, canvas_assignment), similarity, owned)
    finally:
        lock.close()
    summary.seconds = time.monotonic() - started
    return summary


def _assignment_of(name: Optional[str], input_path: Path) -> Any:
    """``--assignment NAME``, else the only registered assignment, else the one the file names
    in INPUT (a folder, or an export zip's members) fit (``registry.detect``); when no name fits
    any assignment, ``registry.default()`` (every entry is then not gradable, and says why)."""
    from ..registry import assignments, default, detect, file_names, get

    if name:
        return get(name)
    if len(assignments()) == 1:
        return next(iter(assignments().values()))
    names = file_names([input_path])
    try:
        return detect(names)
    except UserError:
        if any(a.accepted_names() & set(names) for a in assignments().values()):
            raise  # the files of several assignments: the TA must say which
        return default()  # nothing of any assignment: each entry says what it lacks


def _run(entries: list[Entry], kind: str, input_label: str, out: Path, jobs: int, secret: bytes,
         secret_note: Optional[str], suite: str, limits: Limits, isolation: str, regrade: bool,
         progress_stream: Optional[TextIO], tty: Optional[bool], notes: list[str],
         secret_file: Optional[PathLike], input_path: Path, late_policy: LatePolicy,
         canvas: tuple[str, str], similarity: bool, owned: set[str]) -> BatchSummary:
    parts = [PartInfo(p.name, p.points) for p in load_suite(suite, Seeds(secret, "batch")).parts]
    cache = Cache(out / "cache")
    for folder in (out / "cache", out / "results", out / "report", out):
        for leftover in folder.glob(".*.tmp"):  # a write cut short by kill -9 (we hold the lock)
            leftover.unlink(missing_ok=True)
    rows: list[Row] = []
    results: dict[str, dict] = {}  # entry id -> Gradescope results, as this run knows them
    todo: dict[str, list[int]] = {}  # cache key -> indices of the entries with that content
    keys: dict[int, str] = {}
    summary = BatchSummary(rows, parts, out, isolation, jobs, notes=notes)
    for index, entry in enumerate(entries):
        if entry.skipped:
            rows.append(Row(entry, SKIPPED, error=entry.error or "not a submission"))
            continue
        if entry.submission is None:
            rows.append(Row(entry, NOT_GRADABLE, error=entry.error or "not gradable"))
            results[entry.id] = not_gradable_results(rows[-1].error)
            continue
        key = cache_key(entry.submission.digest, entry.identity or "", secret, suite, limits)
        if key in todo and not entries[todo[key][0]].submission.same_content(entry.submission):
            # Same key, different files (a digest collision): never share a grade; grade it alone, uncached.
            key = f"{key}/{index}"
        keys[index] = key
        hit = None if regrade or "/" in key else cache.get(key)
        if hit is not None:
            rows.append(_graded_row(entry, hit, cached=True))
            results[entry.id] = hit["results"]
            summary.cached += 1
        else:
            rows.append(Row(entry, PENDING, error="not graded yet: run the same command again to continue"))
            todo.setdefault(key, []).append(index)
    summary.duplicates = len(keys) - len(set(keys.values()))

    hide = [str(input_path), str(out)]
    if secret_file or os.environ.get("AUTOGRADER_SECRET_FILE"):
        hide.append(str(Path(secret_file or os.environ["AUTOGRADER_SECRET_FILE"]).resolve()))
    config = GradingConfig(secret, secret_note, suite, limits, isolation, tuple(hide))
    job_list = [Job(i, entries[indices[0]].submission, entries[indices[0]].identity or "")
                for i, (key, indices) in enumerate(todo.items())]
    key_of_job = list(todo)
    progress = Progress(len(job_list), progress_stream, tty)
    if progress_stream is not None:
        for note in notes:
            progress.message(note)
        if summary.cached:
            progress.message(f"{summary.cached} of {sum(not e.skipped for e in entries)} submissions already graded "
                             "(cache); "
                             f"grading {sum(len(v) for v in todo.values())} with {jobs} job(s)")

    def on_result(job: Job, payload: Optional[dict], error: Optional[str]) -> None:
        key = key_of_job[job.index]
        entry_ids = []
        for index in todo[key]:
            entry = entries[index]
            entry_ids.append(entry.id)
            if payload is not None:
                rows[index] = _graded_row(entry, payload, cached=False)
                results[entry.id] = payload["results"]
            else:
                rows[index] = Row(entry, FAILED, error=error or "the grader failed")
                results[entry.id] = failure_results(rows[index].error)
        if payload is not None and "/" not in key:
            cache.put(key, payload)
            summary.graded += 1
        for entry_id in entry_ids:
            write_json_atomic(out / "results" / f"{entry_id}.json", results[entry_id])
        if payload is None:
            progress.message(f"{', '.join(entry_ids)}: {error.splitlines()[0] if error else 'failed'}")
        progress.advance(failed=payload is None)

    submitted = {e.id: e.submission for e in entries if e.submission is not None}
    pending_pairs = None
    if similarity:
        try:  # compared while the class is graded (it needs the code only)
            pending_pairs = start_similar_pairs(submitted, get(suite).folder)
        except Exception as exc:  # noqa: BLE001 - a similarity report is a courtesy
            notes.append(f"the similarity report could not be made ({type(exc).__name__}: {exc}); "
                         "rerun with --no-similarity to skip it")
    grading_start = time.monotonic()
    try:
        run_pool(job_list, jobs, config, on_result)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        progress.finish()
    summary.grading_seconds = time.monotonic() - grading_start

    # 4. Outputs from memory (whatever a submission may have written meanwhile is overwritten).
    if isolation == "none":
        for index, key in keys.items():
            if rows[index].summary is not None and rows[index].status != PENDING and "/" not in key:
                _restore(cache, key, {"results": results[entries[index].id], "summary": rows[index].summary})
    written = _write_results(out, results, {e.id for e in entries}, owned)
    _apply_lateness(rows, late_policy, sum(p.points for p in parts), summary.warnings)
    summary.warnings.extend(f"{clash}: one student, two grades in the upload files; keep one"
                            for clash in duplicate_keys(rows, "sid"))
    notes.extend(summary.warnings)
    write_text_atomic(out / "grades.csv", csv_text(rows, [p.name for p in parts]))
    canvas_text, left_out = canvas_csv(rows, canvas[1] or get(suite).title, sum(p.points for p in parts), canvas[0])
    pending = summary.count(PENDING)
    if pending:  # an upload of part of the class would look complete: no upload files until all is graded
        summary.uploads_written = False
        summary.warnings.append(f"canvas.csv and gradescope_scores.csv not written: {pending} submission(s) are "
                                "not graded yet; run the same command again to finish")
        notes.append(summary.warnings[-1])
    else:
        for name, text in ((UPLOAD_FILES[0], canvas_text), (UPLOAD_FILES[1], gradescope_csv(rows)[0])):
            write_text_atomic(out / name, text)
            written.add(name)
    if left_out and not pending:
        notes.append(f"canvas.csv leaves out {len(left_out)} student(s) without a grade or a {canvas[0]}: "
                     + "; ".join(left_out[:5]) + ("; ..." if len(left_out) > 5 else ""))
    title = get(suite).title
    written |= write_feedback(out, rows, results, title, notes)
    pairs = None
    if pending_pairs is not None:
        try:
            pairs = write_similarity(out, submitted, title, pairs=pending_pairs())
            summary.similar_pairs = pairs
            written.add(SIMILARITY_PAGE)
        except Exception as exc:  # a similarity report is a courtesy: the grades are written already
            notes.append(f"the similarity report could not be made ({type(exc).__name__}: {exc}); "
                         "rerun with --no-similarity to skip it")
    context = ReportContext(title=f"{title}: batch grading report", input=input_label, kind=kind,
                            isolation=isolation, notes=notes, suite=suite, duplicates=summary.duplicates,
                            late_policy=late_policy.describe() if any(r.late for r in rows) else "",
                            similar_pairs=pairs)
    write_report(out, rows, parts, context)
    for name in sorted(owned - written):  # what an earlier batch of this INPUT wrote and this one did not
        path = (out / name).resolve()
        if out in path.parents:
            path.unlink(missing_ok=True)
    _write_manifest(out, input_path, written)
    return summary


def _apply_lateness(rows: list[Row], policy: LatePolicy, max_score: float, warnings: list[str]) -> None:
    """Set each graded row's lateness from its submission time and the due dates (metadata or ``policy``);
    ``warnings`` gets what makes a lateness unknown or doubtful."""
    unknown = 0
    for row in rows:
        raw = row.raw_total
        entry = row.entry
        if raw is None:
            continue
        try:
            submitted = parse_time(entry.created_at, f"{entry.id}: created_at") if entry.created_at else None
            due = parse_time(entry.due_date, f"{entry.id}: due_date") if entry.due_date else None
            late_due = parse_time(entry.late_due_date, f"{entry.id}: late_due_date") if entry.late_due_date else None
        except UserError as exc:
            warnings.append(f"lateness not computed: {exc}")
            continue
        if submitted is None and (policy.due or due):
            unknown += 1
        if late_due is not None and late_due < (due or policy.due or late_due):
            due_text = entry.due_date or (policy.due.isoformat() if policy.due else "")
            warnings.append(f"{entry.id}: its late_due_date ({entry.late_due_date}) is before its due date "
                            f"({due_text}): not applied (an extension past the late due date?)")
        row.late = apply_policy(policy, raw, max_score, submitted, due, late_due)
    if unknown:
        warnings.append(f"{unknown} submission(s) have no submission time (created_at): lateness not computed, no "
                        "penalty (a folder of submissions has no times; a Gradescope export gives them)")


def _graded_row(entry: Entry, payload: dict, cached: bool) -> Row:
    summary = payload["summary"]
    status = GRADER_ERROR if summary.get("error") else GRADED
    return Row(entry, status, summary=summary, error=summary.get("error") or "", cached=cached)


def _restore(cache: Cache, key: str, entry: dict) -> None:
    """Rewrite a cache entry if it no longer holds what this run knows (tampered with)."""
    current = cache.get(key)
    if current is None or current.get("results") != entry["results"] or current.get("summary") != entry["summary"]:
        cache.put(key, entry)


def _write_results(out: Path, results: dict[str, dict], ids: set[str], owned: set[str]) -> set[str]:
    """Write each submission's results file as in ``results`` (``out/results/<id>.json``); return their
    names relative to ``out``. (Stale ones are removed at the end, if this OUTDIR's manifest owns them.)"""
    import json

    folder = out / "results"
    folder.mkdir(parents=True, exist_ok=True)
    written = set()
    for entry_id, data in results.items():
        if entry_id not in ids:
            continue
        path = folder / f"{entry_id}.json"
        try:
            current = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            current = None
        if current != data:
            write_json_atomic(path, data)
        written.add(f"results/{path.name}")
    return written


MANIFEST = ".autograder-manifest.json"  # in OUTDIR: the INPUT it was made from and the files a batch wrote
UPLOAD_FILES = ("canvas.csv", "gradescope_scores.csv")


def _owned_files(out: Path, input_path: Path, input_label: PathLike) -> set[str]:
    """The files (relative to ``out``) that the last batch into ``out`` wrote: the only ones a batch
    may delete, so a TA's own files in OUTDIR are never removed. Raises UserError when ``out`` was
    made from another INPUT (its results and pages would be replaced by this INPUT's)."""
    import json

    try:
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return set()
    except (OSError, ValueError):
        return set()  # unreadable: own nothing, delete nothing
    previous = str(manifest.get("input", ""))
    if previous and previous != str(input_path):
        raise UserError(f"{out} holds the results of another INPUT ({previous}); this batch of {input_label} "
                        "would replace them. Choose another OUTDIR (for the same class exported again, "
                        f"delete {out / MANIFEST} to reuse this one)")
    return {str(f) for f in manifest.get("files", []) if isinstance(f, str) and ".." not in f}


def _write_manifest(out: Path, input_path: Path, files: set[str]) -> None:
    write_json_atomic(out / MANIFEST, {"input": str(input_path), "files": sorted(files)})


def _refuse_foreign_folder(folder: Path) -> None:
    """Raise UserError if ``folder`` exists and is not this user's alone: another user (student code
    run earlier as the sandbox user, say) could have planted cached grades in it."""
    try:
        info = folder.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise UserError(f"{folder}: refusing an output folder that is a link, belongs to another user or that "
                        "others may write to (its cached grades could be forged); choose a new folder")


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _lock(out: Path) -> Any:
    """An exclusive lock on OUTDIR for this batch (released by the OS even after kill -9); close() frees it."""
    fh = open(out / ".lock", "a")
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        raise UserError(f"another `autograder batch` is writing to {out}; "
                        "wait for it or choose another OUTDIR") from None
    return fh
