"""Broken submissions (issue 4): whatever a submission does, the grade is a valid Gradescope result
with a clear message for the broken part, and every other part keeps its points."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from submissions import Spec, build, grade_all
from submissions.broken import BROKEN

from autograder.engine.loader import load_submission
from autograder.engine.results import failure_results, gradescope_results
from autograder.engine.runner import grade_submission
from autograder.engine.sandbox import Limits

SECRET = b"test-secret"
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}


def validate_results(data: dict) -> None:
    """Gradescope's results.json schema (docs/conventions.md, "Gradescope facts"), as far as the grader uses it."""
    json.dumps(data, allow_nan=False)  # strict JSON: no NaN or inf anywhere
    assert isinstance(data["score"], (int, float))
    assert isinstance(data["tests"], list) and data["tests"]
    assert data.get("output_format", "text") in ("text", "html", "simple_format", "md", "ansi")
    assert data.get("visibility", "visible") in VISIBILITIES
    assert data.get("stdout_visibility", "hidden") in VISIBILITIES
    total = 0.0
    for test in data["tests"]:
        for key in ("score", "max_score"):
            assert isinstance(test[key], (int, float)) and test[key] >= 0
        assert test["score"] <= test["max_score"] + 1e-6
        assert test["status"] in ("passed", "failed")
        assert (test["status"] == "passed") == (test["score"] >= test["max_score"] - 1e-6)
        assert isinstance(test["name"], str) and test["name"]
        assert isinstance(test["output"], str)
        assert test["visibility"] in VISIBILITIES
        total += test["score"]
    assert data["score"] == pytest.approx(total, abs=1e-3)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return grade_all(BROKEN, tmp_path_factory.mktemp("broken"), SECRET)


@pytest.mark.parametrize("spec", BROKEN, ids=[s.name for s in BROKEN])
def test_broken_submission_gives_valid_results_and_keeps_other_parts(spec: Spec, graded: dict) -> None:
    outcome = graded[spec.name]
    if isinstance(outcome, Exception):
        raise outcome
    report, results = outcome
    assert report.error is None, report.error
    validate_results(results)
    assert len(json.dumps(results)) < 200_000  # a huge print or traceback never floods the page
    scores = report.part_scores()
    for part, (score, max_score) in scores.items():
        if part in spec.lose:
            assert score < max_score - 1e-9, f"{part} kept its points"
        else:
            assert score == pytest.approx(max_score, abs=1e-9), f"{part} lost points: {score}/{max_score}"
    for part, words in spec.mention.items():
        text = "\n".join(r.outcome.message for r in report.results if r.check.part == part and not r.outcome.passed)
        for w in words:
            assert w in text, f"{part}: {w!r} missing from the feedback:\n{text[:1500]}"
        shown = "\n".join(t["output"] for t in results["tests"] if t["name"].startswith(part + ":"))
        assert words[0] in shown  # what the report says is what the student reads


def test_huge_output_is_truncated_and_counted(graded: dict) -> None:
    report, results = graded["huge-output"]
    assert len(report.printed) < 30_000
    assert "output truncated" in report.printed and "bytes in all" in report.printed


def test_a_submission_with_nothing_working_still_gives_valid_results(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "kl.py").write_text("raise SystemExit('nothing here')\n")
    report = grade_submission(load_submission(folder), secret=SECRET, limits=Limits(call_seconds=5))
    results = gradescope_results(report)
    validate_results(results)
    assert report.score == 0.0
    assert all(t["status"] == "failed" for t in results["tests"])


def test_failure_results_keep_the_partial_tests() -> None:
    partial = {"tests": [{"score": 3.0, "max_score": 4.0, "status": "failed", "name": "a", "output": "",
                          "visibility": "visible"}]}
    data = failure_results("the sandbox could not start", partial)
    validate_results(data)
    assert data["score"] == pytest.approx(3.0, abs=1e-9)
    assert "sandbox could not start" in data["output"]


def test_build_refuses_a_stale_patch(tmp_path: Path) -> None:
    stale = Spec("stale", "patch text that is not in the reference", (("kl.py", "no such text", "x"),))
    with pytest.raises(RuntimeError, match="no longer appears"):
        build(stale, tmp_path / "stale")
