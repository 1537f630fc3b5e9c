"""The CartPole assignment graded end to end: ``autograder grade --assignment cartpole`` in the sandbox.

Submissions are the reference's ``utils.py`` and ``train.py`` with fixture functions swapped in
(``cartpole_submissions.submission_files``). The default run grades the reference and the course's
2025 file names; ``-m slow`` grades every harmless variant and the reference under several
submission ids, every mistake fixture, the 2-action-only submission and the solution notebook.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cartpole_submissions import ROOT, submission_files
from test_cartpole_suite import HARMLESS, MISTAKES, part_of

from autograder.grade import grade
from autograder.suites import cartpole

SECRET = b"cartpole-grade-tests"


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def graded(path: Path, identity: str):
    report, results = grade(path, path.parent / f"{path.name}.json", secret=SECRET, identity=identity,
                            assignment="cartpole")
    return report, results


def failures(report) -> list[tuple[str, str]]:
    return [(r.check.name, r.outcome.message) for r in report.results if not r.outcome.passed]


def test_the_reference_gets_full_marks_in_the_sandbox(tmp_path):
    report, results = graded(write(tmp_path / "ref", submission_files()), "e2e-reference")
    assert not failures(report)
    assert results["score"] == pytest.approx(100.0, abs=1e-9)
    assert any(r.check.kind == "hidden" for r in report.results)


def test_the_2025_file_names_get_full_marks(tmp_path):
    # npg_utils.py and train_npg.py; train_npg.py imports the other file by its 2025 name
    files = submission_files()
    folder = write(tmp_path / "names2025", {
        "npg_utils.py": files["utils.py"],
        "train_npg.py": files["train.py"].replace("from utils import", "from npg_utils import"),
    })
    report, results = graded(folder, "e2e-2025")
    assert not failures(report)
    assert results["score"] == pytest.approx(100.0, abs=1e-9)


@pytest.mark.slow
def test_the_2025_file_names_work_with_either_import_name(tmp_path):
    files = submission_files()  # train_npg.py still says `from utils import ...`
    folder = write(tmp_path / "mixed", {"npg_utils.py": files["utils.py"], "train_npg.py": files["train.py"]})
    report, _ = graded(folder, "e2e-mixed")
    assert not failures(report)


@pytest.mark.slow
@pytest.mark.parametrize("identity", ["id-1", "id-2", "id-3"])
def test_the_reference_gets_full_marks_under_several_ids(tmp_path, identity):
    report, _ = graded(write(tmp_path / "ref", submission_files()), identity)
    assert not failures(report)


@pytest.mark.slow
@pytest.mark.parametrize("name", HARMLESS)
@pytest.mark.parametrize("identity", ["h-1", "h-2"])
def test_every_harmless_variant_gets_full_marks(tmp_path, name, identity):
    report, _ = graded(write(tmp_path / name, submission_files([name])), identity)
    assert not failures(report)
    assert report.score == pytest.approx(100.0, abs=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("name", MISTAKES)
def test_every_mistake_loses_points_in_its_part_with_its_name(tmp_path, name):
    report, _ = graded(write(tmp_path / name, submission_files([name])), "m-1")
    part = part_of(name)
    got, full = report.part_scores()[part]
    assert got < full - 1.0
    assert name in report.mistakes()
    assert report.score < 100.0 - 1.0
    named = next(r.outcome.message for r in report.results if r.outcome.mistake == name)
    assert "Traceback" not in named  # the diagnosis, not a traceback (raw observations: the shape)


@pytest.mark.slow
def test_a_two_action_only_submission_loses_at_most_the_stated_share(tmp_path):
    report, _ = graded(write(tmp_path / "two", submission_files(["only_two_actions"])), "two")
    assert 1.0 < 100.0 - report.score <= cartpole.TWO_ACTION_SHARE


@pytest.mark.slow
def test_the_solution_notebook_gets_full_marks(tmp_path):
    notebook = ROOT / "solutions" / "cartpole" / "cartpole_solution.ipynb"
    target = tmp_path / "cartpole.ipynb"
    target.write_text(notebook.read_text(encoding="utf-8"), encoding="utf-8")
    report, _ = graded(target, "notebook")
    assert not failures(report)
