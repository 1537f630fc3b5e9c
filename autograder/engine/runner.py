"""Grade one submission: run every check of a suite against it in a sandbox, then score.

Scoring rules, on top of pass/fail per check:

* a part's points are shared among its checks by weight;
* anti-hard-coding: points for the lecture-example checks of a part count only if the part also
  passes at least one random or hidden case (an implementation that only knows the example's
  published values earns nothing for them);
* no free points: the public checks of a part (example, edge and public random cases, whose
  expected values the feedback prints) count in the score in proportion to the part's hidden
  checks that pass (by weight). A submission that replays the values printed to earlier
  submissions passes the public checks and no hidden one, so it scores 0; a correct one loses
  nothing. The withheld points are recorded on the part's failing hidden checks (whose output
  students see after the due date), and the public checks keep their own verdicts;
* a failed check of a part whose dependencies also fail says to fix the dependency first.
"""

from __future__ import annotations

import copy
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from .isolation import Isolation, detect_isolation
from .loader import Submission
from .sandbox import Limits, Sandbox
from .suite import Check, Context, Outcome, Seeds, Suite, transitive_dependencies

# The assignment graded when none is named: the one the submission's files fit (the loader records
# it), else the only registered one (``autograder.registry.resolve``).
DEFAULT_SUITE: Optional[str] = None

@dataclass
class CheckResult:
    check: Check
    outcome: Outcome
    score: float
    max_score: float
    seconds: float


@dataclass
class GradeReport:
    """Everything a grade produced: per-check results, notes and what the student's code printed."""

    suite: Suite
    results: list[CheckResult]
    submission: Submission
    identity: str
    isolation: str
    notes: list[str] = field(default_factory=list)
    printed: str = ""
    seconds: float = 0.0
    error: Optional[str] = None  # the grader itself failed (results are partial)
    import_failures: list[str] = field(default_factory=list)  # "kl.py, line 3: SyntaxError: ..." (first line each)

    withheld: dict[str, float] = field(default_factory=dict)  # part -> public points withheld (no free points)

    @property
    def score(self) -> float:
        return sum(r.score for r in self.results) - sum(self.withheld.values())

    @property
    def max_score(self) -> float:
        return sum(p.points for p in self.suite.parts)

    def part_scores(self) -> dict[str, tuple[float, float]]:
        """``{part: (score, max_score)}`` in suite order."""
        scores = {p.name: [0.0, p.points] for p in self.suite.parts}
        for r in self.results:
            scores[r.check.part][0] += r.score
        for part, points in self.withheld.items():
            scores[part][0] -= points
        return {k: (v[0], v[1]) for k, v in scores.items()}

    def mistakes(self) -> list[str]:
        """Diagnosed mistakes (catalogue keys), one per failing check that matched one."""
        return [r.outcome.mistake for r in self.results if r.outcome.mistake]


def _assignment(name: Optional[str]) -> Any:
    """Assignment ``name``; None: ``registry.default()`` (the only one, else the reference package's own)."""
    from ..registry import default, get

    return get(name) if name else default()


def load_suite(name: Optional[str], seeds: Seeds) -> Suite:
    """Build the suite of assignment ``name`` (its manifest's ``suite`` package, with
    ``build(seeds) -> Suite``; default: ``registry.default()``)."""
    suite = _assignment(name).import_suite().build(seeds)
    suite.validate()
    return suite


def expected_files(suite_name: Optional[str] = DEFAULT_SUITE) -> list[str]:
    """The .py files a submission of assignment ``suite_name`` must hold, in the parts' order
    (``["kl.py", "fisher.py", "npg.py"]`` for NPG): read from its manifest, which costs a JSON read,
    where building the suite imports its checks before the sandbox starts (``autograder grade``
    checks the names first)."""
    return _assignment(suite_name).files


def provided_files(suite_name: Optional[str] = DEFAULT_SUITE) -> list[Path]:
    """The grader's pristine files copied into the sandbox: the assignment's given files (from its
    authored folder) and its suite's ``CHILD_FILES``."""
    assignment = _assignment(suite_name)
    module = assignment.import_suite()
    return [assignment.folder / name for name in assignment.given] + [Path(p) for p in
                                                                     getattr(module, "CHILD_FILES", ())]


def suite_codecs(suite_name: Optional[str] = DEFAULT_SUITE) -> list:
    """How the assignment's domain objects cross to the sandbox child: its suite's ``CODECS``."""
    return list(getattr(_assignment(suite_name).import_suite(), "CODECS", ()))


mdp_source = provided_files  # the name earlier versions (and tests) use


def grade_submission(
    submission: Submission,
    *,
    secret: bytes,
    identity: Optional[str] = None,
    suite_name: str = DEFAULT_SUITE,
    limits: Optional[Limits] = None,
    isolation: Optional[Isolation] = None,
    hide: Sequence[Path] = (),
    reuse_worker: bool = False,
    on_part_done: Optional[Callable[[GradeReport], None]] = None,
) -> GradeReport:
    """Grade ``submission`` with the suite of assignment ``suite_name`` (default: the one its loader
    detected); never raises for anything the student did.

    ``identity`` (the Gradescope submission id, or the content digest) seeds the hidden cases
    together with ``secret``. ``reuse_worker`` forks the student's process from a pre-started
    worker kept by this process (batch and audit workers grade many submissions in a row).
    ``on_part_done`` receives a scored copy of the report so far after each part's last check
    (the Gradescope bundle writes it as a checkpoint, so a grader killed later keeps those parts).
    """
    start = time.monotonic()
    identity = identity or submission.digest
    isolation = isolation or detect_isolation()
    assignment = _assignment(suite_name or submission.assignment)
    hidden_paths = list(hide) + _reference_folders() + _checkout_folder()
    limits = limits or assignment.make_limits(Limits())
    from ..environment import grading_assignment  # messages name this assignment's student environment

    with grading_assignment(assignment.manifest_path), \
            Sandbox(submission.sandbox_files(), provided_files(assignment.name), limits, isolation, hidden_paths,
                    reuse_worker=reuse_worker) as box:
        box.start_early()  # the child imports numpy while the suite is built
        suite = load_suite(assignment.name, Seeds(secret, identity))
        box.codecs = suite_codecs(assignment.name)
        results: list[CheckResult] = []
        report = GradeReport(suite, results, submission, identity, isolation.name, notes=list(submission.notes))
        try:
            report.notes.extend(_environment_notes(submission, assignment.manifest_path))
        except Exception as exc:  # noqa: BLE001 - a courtesy note must never cost the grade
            report.notes.append(f"(could not list the modules your files import: {type(exc).__name__})")
        if isolation.warning:
            report.notes.append(isolation.warning)
        context = Context(box, suite)
        # Hidden checks run after every visible one: a value a hidden case hands the student's code can
        # no longer come back in a visible check's feedback. Results keep the suite's order.
        for check in sorted(suite.checks, key=lambda c: c.kind == "hidden"):
            t0 = time.monotonic()
            context.modified.clear()
            try:
                outcome = check.run(context)
            except Exception:  # a bug in the suite must not lose the other checks
                outcome = Outcome(False, "Autograder failed on this check (not your fault; tell the course staff):\n"
                                  + traceback.format_exc(limit=3))
                report.error = "a check of the suite failed"
            if context.modified:
                outcome = modified_inputs(outcome, context.modified)
            results.append(CheckResult(check, outcome, 0.0, 0.0, time.monotonic() - t0))
            if on_part_done is not None and _last_check_of_part(suite, results):
                on_part_done(_partial(report))
        order = {id(c): i for i, c in enumerate(suite.checks)}
        results.sort(key=lambda r: order[id(r.check)])
        report.notes.extend(f"notebook {n}" for n in box.notes)
        _fold_import_failures(report, box.broken_modules, assignment.manifest_path)
        report.printed = box.printed
    _score(report)
    report.seconds = time.monotonic() - start
    return report


def _fold_import_failures(report: GradeReport, broken: dict, manifest: Optional[Path] = None) -> None:
    """Say once, in the notes, why a module could not be imported (a syntax error with its line and
    caret, or the traceback), and shorten each check that failed on that import to one line naming
    the error and pointing to the note, instead of repeating the traceback in every check."""
    for module, failure in broken.items():
        error = getattr(failure, "error", "") or ""
        name = report.submission.student_file(module)
        syntax = report.submission.syntax_errors.get(name)
        outside = _one_line_import_error(error, manifest) if error and not syntax else None
        detail = syntax or outside or error  # a module outside the student environment: one line, no traceback
        if not detail.strip():
            continue
        # "kl.py, line 70: SyntaxError: invalid syntax", or the traceback's last line
        missing = report.submission.missing.get(name)
        if missing:  # the loader's note already says so
            headline = f"{name} {missing}"
        else:
            headline = syntax.splitlines()[0] if syntax else outside or f"{name}: {detail.strip().splitlines()[-1]}"
            report.notes.append(f"{name} could not be imported, so none of its functions ran:\n{detail}")
        report.import_failures.append(headline)
        if not error:
            continue
        for r in report.results:
            if not r.outcome.passed and error in r.outcome.message:
                r.outcome.message = r.outcome.message.replace(error, f"{headline} (the full error is in the notes "
                                                                     "at the top)")


def _one_line_import_error(error: str, manifest: Optional[Path] = None) -> Optional[str]:
    from ..environment import missing_module_line  # imported when needed: grade start-up stays light

    return missing_module_line(error, manifest)


def _environment_notes(submission: Submission, manifest: Optional[Path] = None) -> list[str]:
    """One line per module the submission imports from outside the declared student environment."""
    from ..environment import student_environment

    environment = student_environment(manifest)
    if environment is None:
        return []
    sources = dict(submission.files)
    for index, code in submission.notebook_cells or []:
        sources[f"cell {index}"] = code
    return [f"{module} is not available on the grading server; use {environment.use_instead} "
            f"(it has {environment.describe()})" for module in environment.undeclared_imports(sources)]


MODIFIES_INPUT = "modifies_input"  # its student-facing name is in suite.ENGINE_MISTAKES


def modified_inputs(outcome: Outcome, modified: Sequence[tuple[str, str]]) -> Outcome:
    """``outcome`` failed (or its message extended) because calls changed their arguments in place.

    The values returned may be right, but the caller's arrays are corrupted (a notebook that plots a
    second run from ``theta0`` starts from the wrong point): the rule is stated in the handout.
    """
    lines = []
    for func, name in modified:
        if "." in name:  # an attribute of the MDP or the policy
            lines.append(f"Your {func} changed `{name}` (an attribute of an argument). Never write into the MDP or "
                         "the policy you are given; work on copies.")
        else:
            lines.append(f"Your {func} changed its argument `{name}` in place: the caller's array is now different. "
                         f"`x = {name}` makes an alias, not a copy, so `x += ...` or `x[i] = ...` writes into "
                         f"{name} itself; use `x = {name}.copy()` (or `x = x + ...`).")
    message = "\n".join(lines) + "\nArguments must be unchanged after the call (see the handout's rules)."
    if outcome.passed:
        return Outcome(False, "Your result is right, but:\n" + message, MODIFIES_INPUT)
    return Outcome(False, outcome.message + "\n" + message, outcome.mistake or MODIFIES_INPUT)


def _last_check_of_part(suite: Suite, results: list) -> bool:
    """Whether the check just run (``results[-1]``) was the last of its part to run."""
    ran = {id(r.check) for r in results}
    part = results[-1].check.part
    return all(id(c) in ran for c in suite.checks if c.part == part)


def _partial(report: GradeReport) -> GradeReport:
    """A scored copy of ``report`` restricted to the parts whose checks have all run."""
    ran = {id(r.check) for r in report.results}
    done = {r.check.part for r in report.results} - {c.part for c in report.suite.checks if id(c) not in ran}
    suite = Suite(report.suite.name, [p for p in report.suite.parts if p.name in done],
                  [c for c in report.suite.checks if c.part in done], report.suite.mistake_titles)
    results = [copy.deepcopy(r) for r in report.results if r.check.part in done]
    partial = GradeReport(suite, results, report.submission, report.identity, report.isolation,
                          notes=list(report.notes))
    _score(partial)
    return partial


def _reference_folders() -> list[Path]:
    """Every registered assignment's authored folder (references, manifests): hidden from student code."""
    from ..registry import assignments

    return [a.folder for a in assignments().values()]


def _checkout_folder() -> list[Path]:
    """The folder holding the ``autograder`` package, when it is a source checkout or a bundle's source
    folder rather than an installed site-packages: it holds more than the reference folder (git
    history, tests with correct submissions, the suite), so the sandbox hides all of it. The child
    needs none of it (its script and the provided files are copied into its scratch folder)."""
    import autograder

    from .isolation import _python_paths

    root = Path(autograder.__file__).resolve().parent.parent
    if root == Path(root.anchor):
        return []
    for path in _python_paths():  # installed into site-packages: hiding it would hide numpy
        if root == Path(path) or Path(path) in root.parents:
            return []
    return [root]


def _score(report: GradeReport) -> None:
    suite = report.suite
    report.withheld.clear()
    weights: dict[str, float] = {}
    for r in report.results:
        weights[r.check.part] = weights.get(r.check.part, 0.0) + r.check.weight
    # Failures and checks per part: all of them, and the public ones only (what visible messages may cite).
    failures: dict[tuple[str, str], int] = {}
    totals: dict[tuple[str, str], int] = {}
    for r in report.results:
        part = suite.part(r.check.part)
        r.max_score = part.points * r.check.weight / weights[part.name]
        r.score = r.max_score if r.outcome.passed else 0.0
        for key in [(part.name, "all")] + ([] if r.check.kind == "hidden" else [(part.name, "public")]):
            totals[key] = totals.get(key, 0) + 1
            if not r.outcome.passed:
                failures[key] = failures.get(key, 0) + 1
    for part in suite.parts:
        mine = [r for r in report.results if r.check.part == part.name]
        general = [r for r in mine if r.check.kind == "random"]  # public: the message below is visible
        if general and not any(r.outcome.passed for r in general):
            for r in mine:
                if r.check.kind == "example" and r.outcome.passed:
                    r.score = 0.0
                    r.outcome = Outcome(
                        False,
                        "Passes the lecture example, but fails every public random case: points for the "
                        "example count only when the implementation is general. Fix the failing cases below "
                        "(if the example's values are hard-coded, that is why).",
                    )
                    for key in [(part.name, "all"), (part.name, "public")]:
                        failures[key] = failures.get(key, 0) + 1
        _withhold_public_points(report, part.name, mine)
        for r in mine:
            if r.outcome.passed:
                continue
            # a visible check's note counts public checks only (hidden results stay hidden until shown)
            for dep in transitive_dependencies(suite, part.name):
                key = (dep, "all" if r.check.kind == "hidden" else "public")
                if failures.get(key):
                    scope = "checks" if r.check.kind == "hidden" else "public checks"
                    r.outcome.message += (
                        f"\nNote: your {dep} also fails {failures[key]} of {totals[key]} {scope}; "
                        f"if {part.name} calls it, fix {dep} first."
                    )
                    break


def _withhold_public_points(report: GradeReport, part: str, mine: list[CheckResult]) -> None:
    """No free points: the part's public points count in proportion to its hidden checks that pass.

    ``withheld = public points x (failed hidden weight / hidden weight)``; the explanation goes on
    the failing hidden checks only, so the visible output says nothing that comes from hidden cases.
    """
    hidden = [r for r in mine if r.check.kind == "hidden"]
    weight = sum(r.check.weight for r in hidden)
    failed = [r for r in hidden if not r.outcome.passed]
    if not weight or not failed:
        return
    public = sum(r.score for r in mine if r.check.kind != "hidden")
    points = public * sum(r.check.weight for r in failed) / weight
    if points <= 0:
        return
    report.withheld[part] = points
    for r in failed:
        r.outcome.message += (
            f"\nNo free points: {part}'s public checks count only in proportion to its hidden checks that pass; "
            f"{points:.2f} of their points were withheld because hidden checks like this one fail."
        )
