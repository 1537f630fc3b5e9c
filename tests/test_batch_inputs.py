"""Nobody is lost: every entry of a class folder is graded or listed with its reason; ids are unique,
stable and reversible; submissions that can never work are "not gradable" with what was found and
what was expected; a syntax error is shown once with its line and caret; an empty notebook gets one
clear line."""

from __future__ import annotations

import csv
import io
import json
import warnings
from pathlib import Path

import pytest

from autograder.batch import run_batch, snapshot
from autograder.batch.gradebook import GRADED, NOT_GRADABLE, SKIPPED
from autograder.batch.inputs import make_id, make_ids
from autograder.demo.samples import SAMPLES, materialise
from autograder.engine.loader import check_expected_files, load_submission, syntax_error
from autograder.engine.runner import expected_files
from autograder.engine.sandbox import Limits
from autograder.errors import UserError
from autograder.grade import grade
from autograder.registry import get

SAMPLE = {s.name: s for s in SAMPLES}
SECRET = b"inputs-test-secret-0123456789abcdef"
LIMITS = Limits(call_seconds=4.0, submission_seconds=60.0)


def wrong_names(dest: Path, tmp: Path) -> Path:
    """The correct code saved as KL.py, solution.py and npg_final.py."""
    materialise(SAMPLE["correct"], tmp)
    dest.mkdir(parents=True)
    for src, dst in (("kl.py", "KL.py"), ("fisher.py", "solution.py"), ("npg.py", "npg_final.py")):
        (dest / dst).write_text((tmp / src).read_text())
    return dest


def test_ids_are_unique_stable_and_keep_letters() -> None:
    a_space, a_underscore = make_ids(["a b", "a_b"])
    assert a_space != a_underscore and a_underscore == "a_b"
    assert make_id("a b") == a_space == "a_b~c8687a"  # the name alone decides (README's example)
    assert make_id("Chloé") == "Chloé"
    assert make_id("../etc").startswith("etc~")


def test_ids_that_clash_ignoring_case_all_get_a_hash_and_never_take_another_name() -> None:
    # Dan.json and dan.json are one file on macOS: both get a hash of their own name. No "-2"
    # suffix, which a real folder "eve-2" could hold, and an id never moves to another folder.
    with_eve = dict(zip(["Eve", "eve", "eve-2", "bob"], make_ids(["Eve", "eve", "eve-2", "bob"])))
    assert with_eve["eve-2"] == "eve-2" and with_eve["bob"] == "bob"
    assert with_eve["Eve"].startswith("Eve~") and with_eve["eve"].startswith("eve~")
    assert with_eve["Eve"].casefold() != with_eve["eve"].casefold()
    without = dict(zip(["eve", "eve-2", "bob"], make_ids(["eve", "eve-2", "bob"])))
    assert without == {"eve": "eve", "eve-2": "eve-2", "bob": "bob"}
    for name, entry_id in with_eve.items():  # an id is never given to another name in either run
        assert all(entry_id != other_id for other, other_id in without.items() if other != name)
    zipped = make_ids(["eve", "eve"], ["eve", "eve.zip"])  # a folder and a zip of the same student name
    assert zipped[0] != zipped[1] and all(i.startswith("eve~") for i in zipped)


def test_expected_files_come_from_the_manifest_and_agree_with_the_suite() -> None:
    from autograder.engine.runner import load_suite
    from autograder.engine.suite import Seeds

    assert expected_files() == ["kl.py", "fisher.py", "npg.py"]
    suite = load_suite("npg", Seeds(b"", "x"))
    assert expected_files() == list(dict.fromkeys(f"{p.module}.py" for p in suite.parts))


@pytest.mark.slow
def test_every_entry_is_graded_or_listed_with_its_reason(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    materialise(SAMPLE["correct"], folder / "a b")
    materialise(SAMPLE["reversed-kl"], folder / "a_b")
    materialise(SAMPLE["correct"], folder / "same-as-a-b")
    materialise(SAMPLE["syntax-error"], folder / "syntax")
    wrong_names(folder / "wrongnames", tmp_path / "scratch")
    (folder / "dan.py").write_text("x = 1\n")
    (folder / "notes.txt").write_text("remember\n")
    snap = snapshot(folder, expected_files())
    assert [e.name for e in snap.entries] == ["a b", "a_b", "dan.py", "notes.txt", "same-as-a-b", "syntax",
                                              "wrongnames"]
    by_name = {e.name: e for e in snap.entries}
    assert by_name["dan.py"].skipped and "loose file" in by_name["dan.py"].error
    assert by_name["wrongnames"].submission is None
    assert "found KL.py, npg_final.py, solution.py; expected kl.py, fisher.py, npg.py" in by_name["wrongnames"].error
    assert "KL.py -> kl.py" in by_name["wrongnames"].error and "npg_final.py -> npg.py" in by_name["wrongnames"].error

    out = tmp_path / "out"
    summary = run_batch(folder, out, 1, secret=SECRET, limits=LIMITS, progress=None)
    rows = list(csv.DictReader(io.StringIO((out / "grades.csv").read_text(encoding="utf-8"))))
    assert [r["input_name"] for r in rows] == [e.name for e in snap.entries]
    by_input = {r["input_name"]: r for r in rows}
    assert by_input["a b"]["submission_id"] != by_input["a_b"]["submission_id"]
    assert float(by_input["a b"]["total"]) > float(by_input["a_b"]["total"])  # reversed KL loses points
    assert by_input["notes.txt"]["status"] == SKIPPED and by_input["notes.txt"]["total"] == ""
    assert by_input["wrongnames"]["status"] == NOT_GRADABLE and "expected kl.py" in by_input["wrongnames"]["error"]
    assert summary.count(GRADED) == 4 and summary.duplicates == 1 and summary.graded == 3
    report = (out / "report.html").read_text()
    attention = report[report.index("Needs attention"):report.index("All submissions")]
    for name in ("dan.py", "notes.txt", "wrongnames", "syntax"):
        assert f"<td>{name}</td>" in attention
    assert "kl.py, line " in attention and "SyntaxError" in attention and "<td>a b</td>" not in attention
    assert "canvas.csv leaves out 5 student(s) without a grade or a sid" in report  # a folder has no SIDs
    assert "Code similarity" in report and (out / "similarity.html").is_file()


def test_grade_refuses_files_with_none_of_the_expected_names(tmp_path: Path) -> None:
    folder = wrong_names(tmp_path / "sub", tmp_path / "scratch")
    with pytest.raises(UserError, match="found KL.py, npg_final.py, solution.py; expected kl.py"):
        grade(folder, secret=SECRET)
    (tmp_path / "partly").mkdir()
    for src, dst in (("kl.py", "kl.py"), ("fisher.py", "Fisher.py"), ("npg.py", "npg.py")):
        (tmp_path / "partly" / dst).write_text((tmp_path / "scratch" / src).read_text())
    partly = load_submission(tmp_path / "partly")
    check_expected_files(partly, expected_files())  # one expected file is enough to grade
    assert partly.notes == ["fisher.py is missing (found Fisher.py: rename it fisher.py; file names are "
                            "case-sensitive): the checks of its functions score 0"]


def test_a_near_miss_file_name_costs_that_file_only_and_needs_attention(tmp_path: Path) -> None:
    # kl.py, Fisher.py, npg.py: fisher.py's parts score 0 with the rename hint; npg.py imports from
    # fisher and keeps the points of the functions that never call it.
    materialise(SAMPLE["correct"], tmp_path / "scratch")
    (tmp_path / "sub").mkdir()
    for src, dst in (("kl.py", "kl.py"), ("fisher.py", "Fisher.py"), ("npg.py", "npg.py")):
        (tmp_path / "sub" / dst).write_text((tmp_path / "scratch" / src).read_text())
    report, results = grade(tmp_path / "sub", secret=SECRET, limits=LIMITS)
    scores = report.part_scores()
    for part in ("kl_divergence", "sample_state_actions", "npg_direction", "trust_region_step", "conjugate_gradient"):
        assert abs(scores[part][0] - scores[part][1]) < 1e-9, part  # full points (a sum of check weights)
    for part in ("score_function", "fisher_information", "fisher_estimate"):
        assert abs(scores[part][0]) < 1e-9, part
    hint = "fisher.py is missing (found Fisher.py: rename it fisher.py; file names are case-sensitive)"
    assert report.import_failures == [hint]  # what the batch report lists under "Needs attention"
    assert hint in results["output"] and "No module named" not in results["output"]
    fisher_checks = [t["output"] for t in results["tests"] if t["name"].startswith("score_function:")]
    assert fisher_checks and all(hint in out for out in fisher_checks)


def test_syntax_error_shows_the_line_and_a_caret() -> None:
    text = "import numpy as np\n\ndef f(x):\n    return x +* 2\n"
    message = syntax_error("kl.py", text)
    lines = message.splitlines()
    assert lines[0].startswith("kl.py, line 4: SyntaxError")
    assert lines[1] == "    return x +* 2"
    assert lines[2].strip() == "^" and lines[2].index("^") == lines[1].index("*")
    assert syntax_error("kl.py", "x = 1\n") is None


def test_a_syntax_error_is_reported_once(tmp_path: Path) -> None:
    materialise(SAMPLE["syntax-error"], tmp_path / "sub")
    report, results = grade(tmp_path / "sub", secret=SECRET)
    line = (tmp_path / "sub" / "kl.py").read_text().splitlines().index(
        next(x for x in (tmp_path / "sub" / "kl.py").read_text().splitlines() if "def kl_gaussian(:" in x)) + 1
    headline = f"kl.py, line {line}: SyntaxError: invalid syntax"
    caret = "    def kl_gaussian(:mu1: ArrayLike, mu2: ArrayLike, sigma: ArrayLike) -> np.ndarray:\n" + " " * 20 + "^"
    assert results["output"].count("def kl_gaussian(:") == 1 and caret.replace("\n", "\n    ") in results["output"]
    failed = [t for t in results["tests"] if t["name"].startswith(("kl_divergence:", "policy_kl:"))]
    assert failed and not any("def kl_gaussian(:" in t["output"] or "Traceback" in t["output"] for t in failed)
    assert all(f"{headline} (the full error is in the notes at the top)" in t["output"] for t in failed)
    assert report.import_failures == [headline]


def test_an_empty_notebook_is_one_clear_line(tmp_path: Path) -> None:
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# my answers"}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "npg.ipynb"
    path.write_text(json.dumps(nb))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nbformat's schema warnings must not reach the TA
        with pytest.raises(UserError) as info:
            load_submission(path)
    assert "the notebook has no code to grade" in str(info.value) and "\n" not in str(info.value)


def test_a_syntax_error_costs_only_the_checks_that_need_that_file(tmp_path: Path) -> None:
    # npg.py does `from fisher import fisher_information`: a broken fisher.py must not zero npg.py's
    # functions that never call it; the one that does says which file to fix first.
    materialise(SAMPLE["correct"], tmp_path / "sub")
    fisher = tmp_path / "sub" / "fisher.py"
    fisher.write_text(fisher.read_text() + "\ndef broken(:\n    pass\n")
    report, results = grade(tmp_path / "sub", secret=SECRET, limits=LIMITS)
    scores = report.part_scores()
    for part in ("kl_divergence", "policy_kl", "sample_state_actions", "npg_direction", "trust_region_step",
                 "conjugate_gradient"):
        assert abs(scores[part][0] - scores[part][1]) < 1e-9, part  # full points (a sum of check weights)
    for part in ("score_function", "fisher_information", "natural_policy_gradient"):
        assert scores[part][0] < scores[part][1] - 1, part
    assert report.import_failures == [next(x for x in report.import_failures if x.startswith("fisher.py, line"))]
    npg_failures = [t["output"] for t in results["tests"]
                    if t["name"].startswith("natural_policy_gradient:") and t["score"] < t["max_score"]]
    assert npg_failures and any("fisher_information comes from fisher.py, which has a syntax error (see the notes): "
                                "fix fisher.py first" in out for out in npg_failures)


def test_a_file_in_another_encoding_costs_no_points_and_gets_a_note(tmp_path: Path) -> None:
    # kl.py saved as Latin-1 with an accented comment: read as Latin-1 with a note, graded in full.
    materialise(SAMPLE["correct"], tmp_path / "sub")
    kl = tmp_path / "sub" / "kl.py"
    kl.write_bytes(kl.read_bytes() + "# écrit par José\n".encode("latin-1"))
    line = kl.read_bytes().count(b"\n")
    submission = load_submission(tmp_path / "sub")
    assert "# écrit par José" in submission.files["kl.py"]
    assert submission.notes == [f"kl.py is not utf-8 text (line {line}): read as Latin-1; save it as UTF-8 "
                                "(your editor's encoding setting)"]
    declared = tmp_path / "declared.py"
    declared.write_bytes("# -*- coding: latin-1 -*-\nNAME = 'José'\n".encode("latin-1"))
    npg = get("npg")  # a lone declared.py fits no assignment's file names: say which
    assert "NAME = 'José'" in load_submission(declared, npg).files["declared.py"]
    report, _ = grade(tmp_path / "sub", secret=SECRET, limits=LIMITS)
    assert abs(report.score - report.max_score) < 1e-9  # full marks (a sum of check weights)


def test_a_finished_notebook_beside_the_stubs_is_graded_and_needs_attention(tmp_path: Path) -> None:
    # The solution notebook next to the handout's unchanged kl.py, fisher.py, npg.py: the notebook
    # implements the functions, the stubs none, so the notebook is graded; a TA is told.
    handout = Path(__file__).resolve().parents[1] / "assignments" / "npg"
    folder = tmp_path / "both"
    materialise(SAMPLE["notebook"], folder)
    for name in expected_files():
        (folder / name).write_text((handout / name).read_text())
    submission = load_submission(folder)
    assert submission.notebook == "npg.ipynb" and not submission.files
    assert len(submission.attention) == 1 and submission.attention[0].startswith("graded the notebook npg.ipynb (")
    assert submission.attention[0] in submission.notes
    alone = load_submission(folder / "npg.ipynb")  # the same notebook alone: the same code, not the same grade
    assert alone.notebook_cells == submission.notebook_cells and not alone.attention
    assert alone.digest != submission.digest  # so a batch does not share one grade (and its notes) between them
    stubs_only = tmp_path / "stubs"
    stubs_only.mkdir()
    for name in expected_files():
        (stubs_only / name).write_text((handout / name).read_text())
    (stubs_only / "npg.ipynb").write_text((handout / "npg.ipynb").read_text())
    both_stubs = load_submission(stubs_only)  # nothing implemented anywhere: the .py files, nothing to look at
    assert both_stubs.notebook is None and not both_stubs.attention


def test_implemented_functions_ignores_the_handouts_stubs() -> None:
    from autograder.engine.loader import implemented_functions

    stub = ('def f(x):\n    """Doc."""\n    if x < 0:\n        raise ValueError(x)\n'
            '    raise NotImplementedError("f")\n\ndef g():\n    ...\n')
    done = "def f(x):\n    return x\n\ndef g():\n    pass\n"
    assert implemented_functions([stub]) == 0
    assert implemented_functions([done, "def h(:"]) == 1
