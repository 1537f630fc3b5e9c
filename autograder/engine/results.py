"""Gradescope results.json and the terminal summary of a grade.

The JSON is produced by gradescope-utils' ``JSONTestRunner`` with its ``weight``/``visibility``/
``number``/``tags`` decorators, guarded against the pitfalls in docs/conventions.md ("Gradescope
facts"): every check has already run in the sandbox before the unittest run (no ``setUpClass``
that could crash the runner, no ``subTest``, no output buffering, which is not thread-safe), each
grade builds fresh test functions (no ``partial_credit`` state kept between runs), and test names
come from docstrings (``str(test)`` differs between Python 3.10 and 3.11).
"""

from __future__ import annotations

import io
import json
import unittest
from typing import Any, Callable, Optional

from gradescope_utils.autograder_utils.decorators import number, tags, visibility, weight
from gradescope_utils.autograder_utils.json_test_runner import JSONTestRunner

from .runner import CheckResult, GradeReport
from .sandbox import printable_text

MAX_OUTPUT_CHARS = 8_000  # per test: Gradescope pages stay readable
# Whole results.json (Gradescope refuses big files, and batch caches each one): see clip_results.
MAX_RESULTS_BYTES = 500_000
WITHHELD = "withheld_points"  # key in results["extra_data"]: see gradescope_results


def _test_method(result: CheckResult, index: str) -> Callable[[Any], None]:
    def test(self: unittest.TestCase) -> None:
        if not result.outcome.passed:
            raise AssertionError(_clip(result.outcome.message))

    test.__doc__ = f"{result.check.part}: {result.check.name}"
    test_tags = [result.check.part, result.check.kind] + ([result.outcome.mistake] if result.outcome.mistake else [])
    test = weight(round(result.max_score, 6))(test)
    test.__score__ = round(result.score, 6)  # fresh function per grade: nothing persists
    test = visibility(result.check.effective_visibility)(test)
    test = number(index)(test)
    test = tags(*test_tags)(test)
    return test


def _clip(text: str) -> str:
    if len(text) <= MAX_OUTPUT_CHARS:
        return text
    return text[:MAX_OUTPUT_CHARS] + "\n[... truncated]"


def gradescope_results(report: GradeReport, stdout_visibility: str = "hidden", hidden_shown: bool = False) -> dict:
    """The Gradescope results dictionary (docs/conventions.md, "Gradescope facts") for a grade.

    ``hidden_shown``: whether students can see the hidden-case checks now; until then the visible
    summary says nothing that comes from them (see ``summary_text``).
    """
    methods = {}
    part_index = {p.name: i for i, p in enumerate(report.suite.parts, start=1)}
    counters: dict[str, int] = {}
    for order, r in enumerate(report.results):
        counters[r.check.part] = counters.get(r.check.part, 0) + 1
        index = f"{part_index[r.check.part]}.{counters[r.check.part]}"
        methods[f"test_{order:04d}"] = _test_method(r, index)
    case_class = type("GradedChecks", (unittest.TestCase,), methods)
    tests = unittest.defaultTestLoader.loadTestsFromTestCase(case_class)
    stream = io.StringIO()
    # buffer=False: the replayed tests print nothing, and unittest's buffering swaps sys.stdout for the
    # whole process, which breaks when two grades run in threads of one process.
    JSONTestRunner(stream=stream, visibility="visible", stdout_visibility=stdout_visibility,
                   failure_prefix="", buffer=False).run(tests)
    data = json.loads(stream.getvalue())
    for test in data["tests"]:
        test["output_format"] = "text"
        test.setdefault("output", "")  # JSONTestRunner omits it for passed tests; every test carries one
        test["score"] = round(float(test.get("score", 0.0)), 4)
        test["max_score"] = round(float(test.get("max_score", 0.0)), 4)
    data["score"] = round(report.score, 4)
    # The points the no-free-points rule withheld (GradeReport.score is the checks' sum less these):
    # recorded so that results rewritten from these (failure_results) keep the same total.
    data["extra_data"] = {WITHHELD: round(sum(report.withheld.values()), 4)}
    data["execution_time"] = round(report.seconds, 2)
    data["output"] = summary_text(report, hidden_shown=hidden_shown)
    data["output_format"] = "text"
    data.setdefault("leaderboard", [])
    return clip_results(data)


def _size(data: dict) -> int:
    return len(json.dumps(data).encode())


def clip_results(data: dict, limit: int = MAX_RESULTS_BYTES) -> dict:
    """Cut ``data``'s texts (each test's output, then the summary) until its JSON is at most ``limit``
    bytes, saying so in the summary; scores and tests are kept. Returns ``data`` (changed in place)."""
    size = _size(data)
    if size <= limit:
        return data
    note = (f"\n[Results clipped: the full text was {size} bytes, more than the {limit} byte limit; "
            "long messages were cut.]")
    tests = [t for t in data.get("tests", []) if isinstance(t, dict)]
    for per_test in (2_000, 500, 100, 0):
        for test in tests:
            for key in ("output", "name"):
                if isinstance(test.get(key), str) and len(test[key]) > max(per_test, 200 if key == "name" else 0):
                    test[key] = test[key][:per_test] + " [... cut]"
        if _size(data) + len(note) <= limit:
            break
    output = str(data.get("output", ""))
    room = max(0, limit - len(note) - _size({**data, "output": ""}) - 64)
    if len(output.encode()) > room:
        output = output.encode()[:room].decode("utf-8", "ignore") + " [... cut]"
    data["output"] = output + note
    return data


def failure_results(message: str, partial: Optional[dict] = None) -> dict:
    """A valid results dictionary when grading itself failed: visible message, parts kept.

    ``score = sum(tests' scores) - extra_data["withheld_points"]``: the same total as the results
    ``partial`` was taken from (``gradescope_results``), never more."""
    data = partial or {"tests": [], "leaderboard": []}
    extra = data.get("extra_data")
    withheld = extra.get(WITHHELD, 0.0) if isinstance(extra, dict) else 0.0
    data["score"] = round(sum(float(t.get("score", 0.0)) for t in data.get("tests", [])) - float(withheld), 4)
    data["output"] = f"Autograder failed: {message}\nThe course staff have been told; your submission is kept."
    data["output_format"] = "text"
    data["visibility"] = "visible"
    data.setdefault("stdout_visibility", "hidden")
    data.setdefault("execution_time", 0)
    return clip_results(data)


def not_gradable_results(message: str) -> dict:
    """Gradescope results for a submission with nothing to grade (score 0, the reason visible)."""
    return {
        "score": 0.0,
        "execution_time": 0,
        "output": f"Not graded: {message}",
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [],
        "leaderboard": [],
    }


def summary_text(report: GradeReport, hidden_shown: bool = True) -> str:
    """The readable summary: points per part, diagnosed mistakes (by their student-facing names),
    notes, printed output.

    With ``hidden_shown=False`` (what students read before hidden checks are shown) it counts and
    diagnoses from the public checks only and says of the hidden ones only how many ran.
    """
    lines = [f"Score: {report.score:.2f} / {report.max_score:.2f}", ""]
    width = max(len(p) for p in report.part_scores())
    shown = [r for r in report.results if hidden_shown or r.check.kind != "hidden"]
    for part, (score, max_score) in report.part_scores().items():
        checks = [r for r in shown if r.check.part == part]
        passed = sum(r.outcome.passed for r in checks)
        if hidden_shown:
            lines.append(f"  {part:<{width}}  {score:6.2f} / {max_score:5.2f}   {passed}/{len(checks)} checks passed")
        else:
            lines.append(f"  {part:<{width}}  {passed}/{len(checks)} public checks passed")
    mistakes = sorted({report.suite.mistake_title(r.outcome.mistake) for r in shown if r.outcome.mistake})
    if mistakes:
        lines += ["", "Diagnosed mistakes: " + "; ".join(mistakes)]
    hidden = sum(r.check.kind == "hidden" for r in report.results)
    if hidden and not hidden_shown:
        lines += ["", f"{hidden} hidden checks run; shown after the due date. A part's public checks count in "
                  "your score only in proportion to its hidden checks that pass."]
    if report.notes:
        lines += ["", "Notes:"] + ["  - " + n.replace("\n", "\n    ") for n in report.notes]
    if report.error:
        lines += ["", f"Autograder problem: {report.error} (your other results are kept)."]
    return printable_text("\n".join(lines))


def terminal_report(report: GradeReport, verbose: bool = False) -> str:
    """The grade as a terminal reads it: the summary, then each failed check's feedback."""
    lines = [summary_text(report)]
    failed = [r for r in report.results if not r.outcome.passed]
    if failed:
        lines.append("")
        lines.append(f"Failed checks ({len(failed)}):")
        for r in failed:
            lines.append(f"\n[{r.check.part}] {r.check.name}  (0 / {r.max_score:.2f})")
            message = r.outcome.message if verbose else _clip_lines(r.outcome.message, 14)
            lines.append("    " + message.replace("\n", "\n    "))
    if report.printed.strip():
        lines += ["", "Your code printed (first lines):", _clip_lines(report.printed, 10)]
    # The sandbox made the child's texts printable already; file names and notes come from the loader.
    return printable_text("\n".join(lines))


def _clip_lines(text: str, n: int) -> str:
    lines = text.splitlines()
    return "\n".join(lines[:n] + ([f"[... {len(lines) - n} more lines]"] if len(lines) > n else []))
