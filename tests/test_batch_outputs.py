"""What a course posts after a batch: lateness under a command-line policy (raw score kept), the
Canvas and Gradescope upload CSVs, and one feedback page per student (Markdown and HTML) linked
from the report."""

from __future__ import annotations

import csv
import io
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from autograder.batch.exports import canvas_csv, gradescope_csv
from autograder.batch.feedback import feedback_html, feedback_markdown
from autograder.batch.gradebook import FAILED, GRADED, NOT_GRADABLE, Row
from autograder.batch.inputs import Entry, Submitter
from autograder.batch.lateness import LatePolicy, apply_policy, parse_time
from autograder.demo.samples import SAMPLES, materialise
from autograder.errors import UserError

SAMPLE = {s.name: s for s in SAMPLES}
SECRET = "outputs-test-secret-0123456789abcdef"
POINT_TOL = 1e-9  # penalties are products of small decimals and the maximum points: exact up to rounding
DUE = "2026-11-20T23:59:00-08:00"


def test_times_parse_with_their_offset_and_refuse_naive_ones() -> None:
    gradescope = parse_time("2026-11-21 00:29:00.123456789 -08:00")
    iso = parse_time("2026-11-21T08:29:00Z")
    assert abs((gradescope - iso).total_seconds() - 0.123456) < 1e-6
    with pytest.raises(UserError, match="time zone"):
        parse_time("2026-11-20 23:59")
    with pytest.raises(UserError, match="not a date"):
        parse_time("tomorrow")


@pytest.mark.parametrize(("submitted", "penalty", "late_hours"), [
    ("2026-11-20T23:00:00-08:00", 0.0, 0.0),  # on time
    ("2026-11-21T00:09:00-08:00", 0.0, 10 / 60),  # 10 minutes late, within the 15-minute grace
    ("2026-11-21T00:29:00-08:00", 10.0, 0.5),  # one started day
    ("2026-11-22T12:00:00-08:00", 20.0, 36 + 1 / 60),  # two started days
    ("2026-11-26T00:00:00-08:00", 30.0, 5 * 24 + 1 / 60),  # six days would be 60: capped at 30%
])
def test_late_policy_per_started_day_with_cap_and_grace(submitted: str, penalty: float, late_hours: float) -> None:
    policy = LatePolicy.parse("10%/day", "30%", 15, DUE, "2026-11-27T23:59:00-08:00")
    late = apply_policy(policy, raw=80.0, max_score=100.0, submitted=parse_time(submitted))
    assert abs(late.penalty - penalty) < POINT_TOL
    assert abs(late.total - (80.0 - penalty)) < POINT_TOL
    assert abs(late.hours_late - late_hours) < 1e-9


def test_after_the_late_due_date_no_credit_and_per_hour_penalties() -> None:
    policy = LatePolicy.parse("2%/hour", None, 0, DUE, "2026-11-21T23:59:00-08:00")
    too_late = apply_policy(policy, 90.0, 100.0, parse_time("2026-11-22T00:00:00-08:00"))
    assert too_late.after_late_due and too_late.total == 0.0 and "no credit" in too_late.describe()
    hours = apply_policy(policy, 90.0, 100.0, parse_time("2026-11-21T02:30:00-08:00"))
    assert hours.units == 3 and abs(hours.penalty - 6.0) < POINT_TOL
    small = apply_policy(policy, 1.0, 100.0, parse_time("2026-11-21T02:30:00-08:00"))
    assert small.total == 0.0  # the penalty never makes a total negative
    assert apply_policy(policy, 90.0, 100.0, None) is None  # no submission time: lateness unknown
    extension = apply_policy(policy, 90.0, 100.0, parse_time("2026-11-22T00:00:00-08:00"),
                             due=parse_time("2026-11-23T23:59:00-08:00"),
                             late_due=parse_time("2026-11-24T23:59:00-08:00"))
    assert extension.seconds_late == 0.0 and extension.total == 90.0  # a submission's own dates override
    for bad in ("10", "10%/week", "ten%/day"):
        with pytest.raises(UserError, match="--late-penalty"):
            LatePolicy.parse(bad)


def summary(score: float) -> dict:
    return {"score": score, "max_score": 26.0, "parts": [["kl_divergence", score, 26.0]], "checks": 2,
            "checks_passed": 1, "mistakes": [], "seconds": 0.1, "isolation": "bwrap", "error": None}


def graded_rows() -> list[Row]:
    return [
        Row(Entry("1", "x", [Submitter("Ada", "s1", "ada@x.edu"), Submitter("Bob", "", "bob@x.edu")]), GRADED,
            summary(20.0)),
        Row(Entry("2", "x", [Submitter("=cmd", "s3", "c@x.edu")]), NOT_GRADABLE, error="no code"),
        Row(Entry("3", "x", [Submitter("Dan", "s4", "d@x.edu")]), FAILED, error="worker died"),
    ]


def test_canvas_and_gradescope_csvs_key_students_and_list_who_is_left_out() -> None:
    text, left_out = canvas_csv(graded_rows(), "NPG homework (1234)", 26.0, key="sid")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "NPG homework (1234)"]
    assert lines[1][0].strip() == "Points Possible" and lines[1][-1] == "26"
    assert lines[2] == ["Ada", "", "s1", "", "", "20"]
    assert lines[3] == ["'=cmd", "", "s3", "", "", "0"]  # spreadsheet formulas neutralised
    assert len(lines) == 4
    assert any("no sid for Bob" in x for x in left_out) and any("3: no grade (failed)" in x for x in left_out)
    by_email, _ = canvas_csv(graded_rows(), "NPG", 26.0, key="email")
    assert list(csv.reader(io.StringIO(by_email)))[3] == ["Bob", "", "", "bob@x.edu", "", "20"]
    scores = list(csv.reader(io.StringIO(gradescope_csv(graded_rows())[0])))
    assert scores[0] == ["Name", "SID", "Email", "Total Score"]
    assert ["Bob", "", "bob@x.edu", "20"] in scores and len(scores) == 4


def test_feedback_pages_show_failed_visible_checks_and_count_hidden_ones() -> None:
    row = graded_rows()[0]
    results = {"output": "Score: 20\n\nNotes:\n  - kl.py could not be imported:\n    kl.py, line 3: SyntaxError\n",
               "tests": [
                   {"name": "kl_divergence: two <b>", "status": "failed", "max_score": 1.5, "visibility": "visible",
                    "output": "Expected: 1\nGot: 2\nReproduce it in your notebook:\n    kl_divergence(p, q)"},
                   {"name": "kl_divergence: hidden 1", "status": "failed", "max_score": 1.5,
                    "visibility": "after_due_date", "output": "SECRET-SHAPES"},
                   {"name": "kl_divergence: ok", "status": "passed", "max_score": 1.5, "visibility": "visible"}]}
    md = feedback_markdown(row, results, "NPG homework")
    assert "Students: Ada (s1), Bob" in md and "| kl_divergence | 20.00 / 26 | 1 / 3 |" in md
    assert "```text\nExpected: 1\nGot: 2\nReproduce it in your notebook:\n    kl_divergence(p, q)\n```" in md
    assert "kl.py could not be imported:\nkl.py, line 3: SyntaxError" in md
    assert "SECRET-SHAPES" not in md and "1 failed check(s) on hidden cases are not shown" in md
    page = feedback_html(row, results, "NPG homework")
    assert "two &lt;b&gt;" in page and "<b>" not in page.replace("<body>", "")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "a":
            self.links.append(dict(attrs)["href"])


@pytest.mark.slow
def test_batch_cli_writes_lateness_exports_and_linked_feedback(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from autograder.cli import main

    times = {"11": "2026-11-20 23:00:00.000000000 -08:00", "12": "2026-11-22 12:00:00.000000000 -08:00",
             "13": "2026-11-28 09:00:00.000000000 -08:00", "14": "2026-11-28 09:00:00.000000000 -08:00"}
    extension = "  :due_date: 2026-11-30 23:59:00.000000000 -08:00\n  :late_due_date: 2026-12-01 23:59:00 -08:00\n"
    zip_path = tmp_path / "export.zip"
    materialise(SAMPLE["correct"], tmp_path / "code")
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.writestr("e/submission_metadata.yml", "".join(
            f"submission_{i}:\n  :submitters:\n  - :name: Student {i}\n    :sid: 's{i}'\n    :email: s{i}@x.edu\n"
            f"  :created_at: {t}\n" + (extension if i == "14" else "") for i, t in times.items()))
        for i in times:
            for path in (tmp_path / "code").glob("*.py"):
                zf.write(path, f"e/submission_{i}/{path.name}")
    (tmp_path / "secret").write_text(SECRET)
    out = tmp_path / "out"
    code = main(["batch", str(zip_path), "-o", str(out), "-j", "2", "-q", "--secret-file", str(tmp_path / "secret"),
                 "--due", DUE, "--late-due", "2026-11-27T23:59-08:00", "--late-penalty", "10%/day",
                 "--canvas-assignment", "NPG homework (1234)"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Most similar code: 11 (also 13, 14: the same code) and 12 (100%)" in printed  # the same code
    assert "not proof of copying" in printed
    assert "2 late submission(s) (10% of the points per started day late)" in printed  # 14 has an extension
    rows = {r["submission_id"]: r for r in csv.DictReader(io.StringIO((out / "grades.csv").read_text()))}
    assert [rows[i]["raw_total"] for i in times] == ["100", "100", "100", "100"]
    assert [rows[i]["total"] for i in times] == ["100", "80", "0", "100"]  # 14 has an extension in the metadata
    assert [rows[i]["late_penalty"] for i in times] == ["0", "20", "100", "0"]
    canvas = list(csv.reader(io.StringIO((out / "canvas.csv").read_text())))
    assert canvas[0][-1] == "NPG homework (1234)" and [r[2] for r in canvas[2:]] == ["s11", "s12", "s13", "s14"]
    assert [r[-1] for r in canvas[2:]] == ["100", "80", "0", "100"]
    parser = _Links()
    parser.feed((out / "report.html").read_text())
    for i in times:
        assert f"feedback/{i}.html" in parser.links
        assert (out / "feedback" / f"{i}.md").is_file()
    page = (out / "feedback" / "12.md").read_text()
    assert ("Score: 80.00 / 100 after the late penalty (100.00 before; 36.02 hours late: 2 day(s) at 10% = -20 points)"
            in page)


def test_a_failing_similarity_report_loses_no_grade(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import autograder.batch.api as api
    from autograder.batch import run_batch

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("no fingerprints today")

    monkeypatch.setattr(api, "write_similarity", broken)
    folder = tmp_path / "class"
    (folder / "ann").mkdir(parents=True)
    (folder / "ann" / "answers.py").write_text("x = 1\n")  # not gradable: nothing is graded, no sandbox needed
    summary = run_batch(folder, tmp_path / "out", 1, secret=SECRET.encode(), progress=None)
    assert summary.count(NOT_GRADABLE) == 1
    report = (tmp_path / "out" / "report.html").read_text()
    assert "the similarity report could not be made (RuntimeError: no fingerprints today)" in report
    assert (tmp_path / "out" / "grades.csv").read_text().count("\n") == 2


@pytest.mark.parametrize("options", [
    {"late_due": "2026-11-27T23:59:00-08:00"},
    {"penalty": "10%/day"},
    {"cap": "50%"},
    {"grace_minutes": 15},
])
def test_late_options_without_a_due_date_are_refused(options: dict) -> None:
    # Without --due no submission is late: accepting them would keep a late student's full marks silently.
    with pytest.raises(UserError, match="need.*--due"):
        LatePolicy.parse(**options)


@pytest.mark.parametrize("cap", ["0.5", "50", "50/day", "150%"])
def test_late_cap_needs_a_percent_sign_as_the_penalty_does(cap: str) -> None:
    # A bare 0.5 could mean 0.5% or a fraction (50%): refused rather than guessed.
    with pytest.raises(UserError, match="--late-cap.*with its %"):
        LatePolicy.parse("10%/day", cap, due=DUE)
    with pytest.raises(UserError, match="--late-penalty"):
        LatePolicy.parse("10/day", due=DUE)
    assert abs(LatePolicy.parse("10%/day", "50%", due=DUE).cap_percent - 50.0) < POINT_TOL


def test_a_negative_penalty_on_the_command_line_gets_the_policy_message(capsys: pytest.CaptureFixture) -> None:
    from autograder.cli import main

    assert main(["batch", "nosuch-input", "-o", "nosuch-out", "--due", DUE, "--late-penalty", "-10%/day"]) == 2
    err = capsys.readouterr().err
    assert "--late-penalty '-10%/day'" in err and "expected one argument" not in err


def test_grades_csv_says_why_a_graded_row_needs_attention() -> None:
    from autograder.batch.gradebook import csv_text

    hint = "fisher.py is missing (found Fisher.py: rename it fisher.py; file names are case-sensitive)"
    row = Row(Entry("oscar", "oscar"), GRADED, {**summary(20.0), "import_failures": [hint]})
    line = list(csv.DictReader(io.StringIO(csv_text([row], ["kl_divergence"]))))[0]
    assert line["status"] == GRADED and line["error"] == hint
    choice = "graded the notebook npg.ipynb (14 implemented functions), not the .py files beside it (0: ...)"
    both = Row(Entry("both", "both"), GRADED, {**summary(20.0), "attention": [choice]})
    assert both.attention == [choice]  # the report's "Needs attention" lists rows with an attention
    assert list(csv.DictReader(io.StringIO(csv_text([both], ["kl_divergence"]))))[0]["error"] == choice


def test_metadata_scalars_stay_the_text_gradescope_wrote() -> None:
    from autograder.batch.inputs import parse_metadata

    meta = parse_metadata("submission_1:\n  :submitters:\n  - :name: No\n    :sid: 003003\n    :email: a@x\n"
                          "  :created_at: 2026-11-20 23:00:00 -08:00\n", "m.yml")
    person = meta["submission_1"]["submitters"][0]
    assert person == {"name": "No", "sid": "003003", "email": "a@x"}  # not the octal 1539, not False
    assert meta["submission_1"]["created_at"] == "2026-11-20 23:00:00 -08:00"


def test_duplicate_sids_and_a_late_due_date_before_the_due_date_are_warned() -> None:
    from autograder.batch.api import _apply_lateness
    from autograder.batch.exports import duplicate_keys

    rows = [Row(Entry("1001", "x", [Submitter("Ann", "3001", "a@x")], created_at="2026-11-22T12:00:00-08:00",
                      due_date="2026-11-23T23:59:00-08:00", late_due_date="2026-11-21T23:59:00-08:00"),
                GRADED, summary(20.0)),
            Row(Entry("1002", "x", [Submitter("Ann", "3001", "a@x")]), GRADED, summary(26.0))]
    assert duplicate_keys(rows, "sid") == ["SID 3001: submissions 1001, 1002"]
    assert duplicate_keys(rows[:1], "email") == []
    warnings: list[str] = []
    _apply_lateness(rows, LatePolicy.parse("10%/day", due=DUE), 26.0, warnings)
    assert warnings[0].startswith("1001: its late_due_date (2026-11-21T23:59:00-08:00) is before its due date")
    assert abs(rows[0].total - 20.0) < POINT_TOL  # before its own (extended) due date: on time, not "no credit"
    assert warnings[1].startswith("1 submission(s) have no submission time")


def test_a_folder_graded_with_a_due_date_warns_in_the_terminal(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from autograder.cli import main

    materialise(SAMPLE["correct"], tmp_path / "class" / "ann")
    (tmp_path / "secret").write_text(SECRET)
    code = main(["batch", str(tmp_path / "class"), "-o", str(tmp_path / "out"), "-j", "1", "-q", "--no-similarity",
                 "--secret-file", str(tmp_path / "secret"), "--due", DUE, "--late-penalty", "10%/day"])
    assert code == 0
    err = capsys.readouterr().err
    assert "Warning: 1 submission(s) have no submission time (created_at): lateness not computed, no penalty" in err


def test_a_batch_deletes_only_what_it_wrote_and_refuses_another_inputs_outdir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from autograder.batch import run_batch

    section = tmp_path / "section1"
    for name in ("ann", "bob"):
        materialise(SAMPLE["correct"], section / name)
    out = tmp_path / "out"
    (out / "feedback").mkdir(parents=True)
    (out / "feedback" / "important.md").write_text("a TA's notes")
    (out / "results").mkdir()
    (out / "results" / "keep.json").write_text("{}")
    options = {"secret": SECRET.encode(), "similarity": False}
    run_batch(section, out, 1, **options)
    assert (out / "feedback" / "bob.md").is_file() and (out / "canvas.csv").is_file()
    import shutil

    shutil.rmtree(section / "bob")  # bob withdrew: his pages and results (the batch's own) go, the TA's stay
    run_batch(section, out, 1, **options)
    assert not (out / "feedback" / "bob.md").exists() and not (out / "results" / "bob.json").exists()
    assert (out / "feedback" / "important.md").read_text() == "a TA's notes"
    assert (out / "results" / "keep.json").read_text() == "{}"
    materialise(SAMPLE["correct"], tmp_path / "section2" / "cy")
    with pytest.raises(UserError, match="holds the results of another INPUT"):
        run_batch(tmp_path / "section2", out, 1, **options)
    assert (out / "feedback" / "ann.md").is_file()  # section 1's pages untouched

    # Interrupted before anything was graded: no upload files (the old ones go: they would be stale).
    import autograder.batch.api as api

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "run_pool", interrupted)
    summary = run_batch(section, out, 1, regrade=True, **options)
    assert summary.interrupted and not summary.uploads_written
    assert not (out / "canvas.csv").exists() and not (out / "gradescope_scores.csv").exists()
    assert any("not written: 1 submission(s) are not graded yet" in w for w in summary.warnings)


def test_feedback_pages_carry_nothing_meant_for_staff(tmp_path: Path) -> None:
    from autograder.batch import snapshot
    from autograder.engine.runner import expected_files
    from autograder.engine.secret import resolve_secret

    _secret, staff_note = resolve_secret(None)
    row = Row(Entry("Dan_Smith~cf2d39", "x", name="Dan Smith"), GRADED, summary(20.0))
    results = {"output": f"Score: 20\n\nNotes:\n  - {staff_note}\n  - kl.py: read as Latin-1\n", "tests": []}
    md = feedback_markdown(row, results, "NPG homework")
    assert md.startswith("# NPG homework: feedback for Dan Smith\n") and "~cf2d39" not in md
    assert staff_note not in md and "kl.py: read as Latin-1" in md
    (tmp_path / "class" / "frank").mkdir(parents=True)
    (tmp_path / "class" / "frank" / "KL.py").write_text("x = 1\n")
    (tmp_path / "class" / "corrupt.zip").write_bytes(b"not a zip")
    snap = snapshot(tmp_path / "class", expected_files())
    errors = {e.name: e.error for e in snap.entries}
    assert errors["frank"].startswith("frank: found KL.py; expected kl.py")  # no TA-side absolute path
    assert errors["corrupt.zip"].startswith("corrupt.zip: ") and str(tmp_path) not in errors["corrupt.zip"]
