"""The bundle's optional rate limit (at most K graded submissions per rolling window, from
Gradescope's ``previous_submissions``), and submissions with no expected file name on Gradescope."""

from __future__ import annotations

import json
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from autograder.bundle import build_bundle, bundle_limits
from autograder.bundle.gradescope import RATE_LIMITED, Layout, main, rate_limit_results, read_metadata
from autograder.errors import UserError

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def metadata(tmp_path: Path, previous: list[tuple[float, float, bool]]) -> Path:
    """submission_metadata.json made now, with earlier submissions (hours ago, score, refused?)."""
    items = []
    for hours, score, refused in previous:
        results = {"score": score, "tests": [{"name": f"kl_divergence: case at {score}", "score": score}]}
        if refused:
            results["extra_data"] = {RATE_LIMITED: True}
        items.append({"submission_time": (NOW - timedelta(hours=hours)).isoformat(), "score": score,
                      "results": results})
    path = tmp_path / "submission_metadata.json"
    path.write_text(json.dumps({"id": 77, "created_at": NOW.isoformat(), "assignment": {"due_date": None},
                                "previous_submissions": items}))
    return path


def test_over_the_limit_keeps_the_best_earlier_score_and_says_when(tmp_path: Path) -> None:
    meta = read_metadata(metadata(tmp_path, [(30.0, 95.0, False), (20.0, 60.0, False), (5.0, 80.0, False),
                                             (1.0, 70.0, False)]))
    results = rate_limit_results(meta, max_graded=3, window_hours=24)
    assert results is not None and results["extra_data"] == {RATE_LIMITED: True}
    assert results["score"] == 95.0  # the best earlier score, even from outside the window
    assert results["tests"] == [{"name": "kl_divergence: case at 95.0", "score": 95.0}]
    assert "at most 3 submissions are graded in any 24 hours" in results["output"]
    # the window holds the submissions of 20 h, 5 h and 1 h ago: the one of 20 h ago leaves it in 4 h
    assert "after 2026-11-20 16:00 UTC" in results["output"]


def test_under_the_limit_refused_and_old_submissions_do_not_count(tmp_path: Path) -> None:
    meta = read_metadata(metadata(tmp_path, [(30.0, 95.0, False), (5.0, 80.0, True), (1.0, 70.0, False)]))
    assert rate_limit_results(meta, max_graded=2, window_hours=24) is None
    assert rate_limit_results(meta, max_graded=1, window_hours=24) is not None
    assert rate_limit_results(meta, max_graded=2, window_hours=48) is not None


def test_bundle_refuses_bad_limits(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="rate limit"):
        build_bundle(tmp_path / "a.zip", rate_limit=(0, 24))


def _root(tmp_path: Path, rate_limit: object) -> Path:
    built = build_bundle(tmp_path / "autograder.zip", limits=bundle_limits(3.0, 30.0, 512), rate_limit=rate_limit)
    root = tmp_path / "root"
    with zipfile.ZipFile(built.output) as archive:
        archive.extractall(root / "source")
    (root / "submission").mkdir()
    return root


def test_bundle_with_a_rate_limit_does_not_grade_a_submission_over_it(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    root = _root(tmp_path, (2, 24.0))
    (root / "submission" / "kl.py").write_text("raise SystemExit('must not run')\n")
    metadata(root, [(3.0, 40.0, False), (2.0, 55.0, False)])
    monkeypatch.setenv("AUTOGRADER_ROOT", str(root))
    assert main() == 0
    results = json.loads(Layout(root).results.read_text())
    assert results["score"] == 55.0 and results["extra_data"] == {RATE_LIMITED: True}
    assert results["output"].startswith("Not graded: at most 2 submissions")


def test_bundle_refuses_files_with_no_expected_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _root(tmp_path, None)
    (root / "submission" / "KL.py").write_text("x = 1\n")
    (root / "submission" / "solution.py").write_text("x = 1\n")
    metadata(root, [(3.0, 40.0, False), (2.0, 55.0, False), (1.0, 50.0, False)])  # no limit: ignored
    monkeypatch.setenv("AUTOGRADER_ROOT", str(root))
    assert main() == 0
    results = json.loads(Layout(root).results.read_text())
    assert results["score"] == 0.0 and "extra_data" not in results
    assert "found KL.py, solution.py; expected kl.py, fisher.py, npg.py" in results["output"]
    assert "KL.py -> kl.py" in results["output"]
