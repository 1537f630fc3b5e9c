"""Run a mutation audit: grade every mutant with the real pipeline, in parallel, and classify it.

A mutant is graded exactly as ``autograder grade`` grades a submission (loader, sandbox, NPG
suite, scoring) with a fixed secret and identity. It is *killed* when at least one check fails,
*survived* when every check passes, and *probably equivalent* when it survives and every student
function also matches the reference on the extra probes of :mod:`autograder.audit.probes`.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Union

from ..errors import UserError
from .mutants import FAMILIES, OPERATORS, Mutant, generate_mutants, mutant_files

__all__ = ["AUDIT_IDENTITY", "AUDIT_SECRET", "AuditReport", "MutantResult", "run_audit", "extra_submissions"]

AUDIT_SECRET = b"autograder-audit: fixed secret so that audits are reproducible"
AUDIT_IDENTITY = "audit"
STATUSES = ("killed", "survived", "equivalent", "error")
FAMILY_TITLES = {"syntax": "syntax operators", "student": "student-mistake operators"}
SUBMISSION_SUFFIXES = (".zip", ".ipynb", ".py")


@dataclass
class MutantResult:
    """The verdict on one mutant (generated, or a hand-written wrong submission with ``operator="extra"``)."""

    id: str
    file: str
    function: str
    part: str
    operator: str
    description: str
    line: int
    original: str
    mutated: str
    status: str = "error"  # one of STATUSES
    killed_by: list[dict] = field(default_factory=list)  # [{part, check, kind, mistake}] of failed checks
    diagnostic: str = ""  # the first failing check's feedback, first lines
    passed_cases: list[str] = field(default_factory=list)  # checks of the mutated part it passed
    score: float = 0.0
    max_score: float = 0.0
    probes: int = 0  # equivalence probes run
    probe_difference: str = ""  # the first probe whose output differed
    seconds: float = 0.0
    error: str = ""

    @property
    def names_mistake(self) -> bool:
        """True when a failing check's feedback names a catalogued mistake."""
        return any(k.get("mistake") for k in self.killed_by)

    @property
    def diff(self) -> str:
        return f"- {self.original}\n+ {self.mutated}"

    @property
    def family(self) -> str:
        """The operator's family: "syntax" or "student" (see :data:`FAMILIES`); "extra" for hand-written ones."""
        return FAMILIES.get(self.operator, "extra")


@dataclass
class AuditReport:
    """Everything an audit found; ``score`` is the mutation score over non-equivalent generated mutants."""

    results: list[MutantResult]
    extras: list[MutantResult] = field(default_factory=list)
    seconds: float = 0.0
    jobs: int = 1
    isolation: str = ""
    operators: list[str] = field(default_factory=list)

    @staticmethod
    def _score(results: Sequence[MutantResult]) -> Optional[float]:
        killed = sum(r.status == "killed" for r in results)
        live = killed + sum(r.status == "survived" for r in results)
        return killed / live if live else None

    @property
    def score(self) -> Optional[float]:
        """killed / (killed + survived) over generated mutants (equivalent ones excluded); None if none."""
        return self._score(self.results)

    def family_scores(self) -> dict[str, dict[str, Any]]:
        """``summary`` per operator family ("syntax", "student"), for the families in this audit."""
        return {family: self.summary([r for r in self.results if r.family == family])
                for family in FAMILY_TITLES if any(r.family == family for r in self.results)}

    @property
    def survivors(self) -> list[MutantResult]:
        return [r for r in self.results if r.status == "survived"]

    @property
    def errors(self) -> list[MutantResult]:
        return [r for r in self.results + self.extras if r.status == "error"]

    def summary(self, results: Optional[Sequence[MutantResult]] = None) -> dict[str, Any]:
        """Counts, mutation score and named-mistake share of ``results`` (default: all generated)."""
        results = self.results if results is None else results
        counts = {s: sum(r.status == s for r in results) for s in STATUSES}
        killed = [r for r in results if r.status == "killed"]
        return {
            "mutants": len(results),
            **counts,
            "mutation_score": self._score(results),
            "named_mistake_share": (sum(r.names_mistake for r in killed) / len(killed)) if killed else None,
        }

    def by(self, key: str) -> dict[str, dict[str, Any]]:
        """``summary`` per value of ``key`` ("part" or "operator"), in first-seen order."""
        groups: dict[str, list[MutantResult]] = {}
        for r in self.results:
            groups.setdefault(getattr(r, key), []).append(r)
        return {name: self.summary(rs) for name, rs in groups.items()}

    def to_json(self) -> dict[str, Any]:
        """The JSON document written to ``audit.json``."""
        return {
            "format": "autograder-audit/1",
            "seconds": round(self.seconds, 2),
            "jobs": self.jobs,
            "isolation": self.isolation,
            "operators": {name: OPERATORS[name] for name in self.operators},
            "operator_families": {name: FAMILIES[name] for name in self.operators},
            "overall": self.summary(),
            "per_family": self.family_scores(),
            "per_part": self.by("part"),
            "per_operator": self.by("operator"),
            "extras": self.summary(self.extras) if self.extras else None,
            "mutants": [_result_json(r) for r in self.results],
            "extra_submissions": [_result_json(r) for r in self.extras],
        }


def _result_json(r: MutantResult) -> dict[str, Any]:
    out = asdict(r)
    out["family"] = r.family
    out["names_mistake"] = r.names_mistake
    out["seconds"] = round(r.seconds, 3)
    return out


# ----------------------------------------------------------------------------------------------
# grading one mutant (runs in a worker process)
# ----------------------------------------------------------------------------------------------
def _part_of(file: str, function: str, assignment: Any) -> str:
    """The part (from the manifest) that ``function`` of ``file`` implements."""
    for p in assignment.parts:
        if p.file == file and p.function == function:
            return p.function
    return function


def _grade_task(task: dict[str, Any]) -> dict[str, Any]:
    """Grade one submission (``files`` or ``path``) and, if it survives, probe it. Plain data out."""
    from ..engine.loader import load_submission
    from ..engine.runner import grade_submission
    from ..registry import get
    from .probes import ASSIGNMENT as PROBED
    from .probes import probe_submission

    start = time.monotonic()
    out: dict[str, Any] = {"id": task["id"]}
    try:
        if "files" in task:
            with tempfile.TemporaryDirectory(prefix="npg-audit-") as tmp:
                for name, text in task["files"].items():
                    (Path(tmp) / name).write_text(text, encoding="utf-8")
                submission = load_submission(Path(tmp), get(task["assignment"]))
        else:
            submission = load_submission(Path(task["path"]), get(task["assignment"]))
        report = grade_submission(submission, secret=AUDIT_SECRET, identity=AUDIT_IDENTITY, reuse_worker=True,
                                  suite_name=task["assignment"])
    except Exception as exc:  # a broken extra submission (UserError) or a grader failure: report it
        out.update(status="error", error=f"{type(exc).__name__}: {exc}", seconds=time.monotonic() - start)
        return out
    failed = [r for r in report.results if not r.outcome.passed]
    out["score"] = report.score
    out["max_score"] = float(report.max_score)
    out["isolation"] = report.isolation
    out["killed_by"] = [{"part": r.check.part, "check": r.check.name, "kind": r.check.kind,
                         "mistake": r.outcome.mistake} for r in failed]
    own = [r for r in report.results if r.check.part == task.get("part")]
    if failed:
        first = next((r for r in failed if r.check.part == task.get("part")), failed[0])
        lines = first.outcome.message.strip().splitlines()
        out["diagnostic"] = f"[{first.check.part}] {first.check.name}: " + " / ".join(lines[:3])
        out["status"] = "killed"
    else:
        out["passed_cases"] = [f"[{r.check.kind}] {r.check.name}" for r in own]
        if task["assignment"] == PROBED:
            equivalent, difference, probes = probe_submission(submission.sandbox_files())
        else:
            equivalent, difference, probes = False, "no equivalence probes are written for this assignment", 0
        out["status"] = "equivalent" if equivalent else "survived"
        out["probe_difference"] = difference
        out["probes"] = probes
    if report.error:
        out["error"] = report.error
    out["seconds"] = time.monotonic() - start
    return out


# ----------------------------------------------------------------------------------------------
# hand-written mutants
# ----------------------------------------------------------------------------------------------
def extra_submissions(folder: Union[str, Path]) -> list[Path]:
    """The wrong submissions in ``folder``: each subfolder, .zip, .ipynb or .py file is one submission."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: --extra needs a folder holding one subfolder (or .zip / .ipynb / .py) "
                        "per hand-written wrong submission")
    entries = sorted(p for p in folder.iterdir()
                     if not p.name.startswith((".", "__")) and (p.is_dir() or p.suffix.lower() in SUBMISSION_SUFFIXES))
    if not entries:
        raise UserError(f"{folder}: no submissions found; put one subfolder (or .zip / .ipynb / .py) per wrong "
                        "submission in it")
    return entries


# ----------------------------------------------------------------------------------------------
# the audit
# ----------------------------------------------------------------------------------------------
def run_audit(
    jobs: Optional[int] = None,
    output: Optional[Union[str, Path]] = None,
    extra: Optional[Union[str, Path]] = None,
    *,
    operators: Optional[Sequence[str]] = None,
    functions: Optional[Sequence[str]] = None,
    mutants: Optional[Sequence[Mutant]] = None,
    progress: Optional[Callable[[int, int, MutantResult], None]] = None,
    assignment: Optional[str] = None,
) -> AuditReport:
    """Generate the mutants of an assignment's reference (``assignment``, default:
    ``registry.default()``), grade each with the real pipeline, and classify them.

    Args:
        jobs: worker processes (default: the number of CPUs).
        output: a folder; ``audit.json`` and ``audit.html`` are written there atomically.
        extra: a folder of hand-written wrong submissions (one subfolder, .zip, .ipynb or .py each),
            graded and classified the same way; reported apart from the mutation score.
        operators, functions: restrict the generated mutants (see :data:`OPERATORS`).
        mutants: grade these instead of generating them (e.g. a sample).
        progress: called as ``progress(done, total, result)`` after each verdict.

    Returns:
        the :class:`AuditReport`.
    """
    start = time.monotonic()
    if operators:
        unknown = sorted(set(operators) - set(OPERATORS))
        if unknown:
            raise UserError(f"unknown mutation operator(s) {', '.join(unknown)}; choose from "
                            f"{', '.join(OPERATORS)}")
    from ..registry import default, get

    chosen = get(assignment) if assignment else default()
    jobs = max(1, int(jobs or os.cpu_count() or 1))
    if output is not None and Path(output).exists() and not Path(output).is_dir():
        raise UserError(f"{output} is a file; the output must be a folder for audit.json and audit.html")
    if mutants is None:
        mutants = generate_mutants(chosen.folder, chosen.files, operators=operators, functions=functions)
        if functions and not mutants:
            raise UserError(f"no mutants for function(s) {', '.join(functions)}; the student functions are "
                            f"those with a solution block in {', '.join(chosen.files)} of {chosen.folder}")
    extras = extra_submissions(extra) if extra is not None else []
    results: dict[str, MutantResult] = {}
    tasks: list[dict[str, Any]] = []
    for m in mutants:
        part = _part_of(m.file, m.function, chosen)
        results[m.id] = MutantResult(m.id, m.file, m.function, part, m.operator, m.description, m.line,
                                     m.original, m.mutated)
        tasks.append({"id": m.id, "files": mutant_files(m, chosen.folder, chosen.files), "part": part,
                      "assignment": chosen.name})
    extra_ids = []
    for path in extras:
        rid = f"extra:{path.name}"
        results[rid] = MutantResult(rid, path.name, "", "", "extra", f"hand-written: {path}", 0,
                                    "", _describe_extra(path, chosen))
        extra_ids.append(rid)
        tasks.append({"id": rid, "path": str(path), "assignment": chosen.name})
    isolation = ""
    total = len(tasks)
    context = multiprocessing.get_context("spawn")  # no fork of a process that may hold threads
    with ProcessPoolExecutor(max_workers=min(jobs, max(1, total)), mp_context=context) as pool:
        futures = [pool.submit(_grade_task, t) for t in tasks]
        for done, future in enumerate(as_completed(futures), start=1):
            data = future.result()
            r = results[data.pop("id")]
            isolation = data.pop("isolation", isolation)
            for key, value in data.items():
                setattr(r, key, value)
            if progress is not None:
                progress(done, total, r)
    generated = [results[m.id] for m in mutants]
    report = AuditReport(generated, [results[i] for i in extra_ids], time.monotonic() - start, jobs, isolation,
                         list(operators or OPERATORS))
    if output is not None:
        from .report import write_reports

        write_reports(report, Path(output))
    return report


def _describe_extra(path: Path, assignment: Any) -> str:
    """A one-line description of a hand-written submission: its diff against the reference, if small."""
    import difflib

    from ..demo.samples import student_source

    if not path.is_dir():
        return path.name
    changes = []
    for name in assignment.files:
        mine = path / name
        if not mine.is_file():
            continue
        ref = student_source((assignment.folder / name).read_text(encoding="utf-8")).splitlines()
        try:
            text = mine.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        for line in difflib.unified_diff(ref, text, lineterm="", n=0):
            if line.startswith(("+", "-")) and not line.startswith(("+++", "---")):
                changes.append(f"{name}: {line[0]} {line[1:].strip()}")
    if not changes:
        return path.name
    return " | ".join(changes[:6]) + (f" | ... {len(changes) - 6} more changed lines" if len(changes) > 6 else "")
