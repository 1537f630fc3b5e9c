"""``autograder batch``: a synthetic Gradescope export with correct, wrong, broken and hostile
submissions; grades equal ``autograder grade``; hostile writes change nothing; resume and cache."""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from autograder.batch import run_batch, snapshot
from autograder.batch.gradebook import FAILED, GRADED, NOT_GRADABLE
from autograder.batch.inputs import make_id, parse_metadata
from autograder.demo.samples import SAMPLES, materialise
from autograder.engine.isolation import Isolation
from autograder.engine.sandbox import Limits
from autograder.errors import UserError
from autograder.grade import grade

SECRET = b"batch-test-secret-0123456789abcdef"
# Short call limit: the hanging submission costs one call limit, not the default 10 s.
LIMITS = Limits(call_seconds=4.0, submission_seconds=60.0)
SAMPLE = {s.name: s for s in SAMPLES}
SCORE_TOL = 1e-6  # scores are sums of rounded shares of 100 points


def hostile_prefix(targets: list[Path], sentinel: Path) -> str:
    """Import-time code that overwrites every file under ``targets`` (siblings, the export, the
    output folder) and leaves ``sentinel`` to prove it ran."""
    return (
        "import os as _os\n"
        f"for _root in {[str(t) for t in targets]!r}:\n"
        "    _walk = [(_root, [], [''])] if _os.path.isfile(_root) else _os.walk(_root)\n"
        "    for _dir, _dirs, _files in _walk:\n"
        "        for _f in _files:\n"
        "            _p = _os.path.join(_dir, _f) if _f else _dir\n"
        "            try:\n"
        "                with open(_p, 'w') as _fh:\n"
        "                    _fh.write('def kl_divergence(p, q):\\n    return 0.0\\n')\n"
        "            except OSError:\n"
        "                pass\n"
        "    try:\n"
        "        with open(_os.path.join(_root, 'grades.csv'), 'w') as _fh:\n"
        "            _fh.write('submission_id,total\\nhostile,1000\\n')\n"
        "    except OSError:\n"
        "        pass\n"
        "try:\n"
        f"    open({str(sentinel)!r}, 'w').write('ran')\n"
        "except OSError:\n"
        "    pass\n"
    )


def write_submission(dest: Path, kind: str, hostile: str = "") -> Path:
    """One submission folder: a demo sample, a hanging one, a hostile one, or one with no code."""
    dest.mkdir(parents=True, exist_ok=True)
    if kind == "hang":
        materialise(SAMPLE["correct"], dest)
        kl = dest / "kl.py"
        kl.write_text(kl.read_text() + "\nwhile True:\n    pass\n")
    elif kind == "hostile":
        materialise(SAMPLE["correct"], dest)
        kl = dest / "kl.py"
        kl.write_text(kl.read_text() + "\n" + hostile)
    elif kind == "no-code":
        (dest / "report.pdf").write_bytes(b"%PDF-1.4 not code")
    else:
        materialise(SAMPLE[kind], dest)
    return dest


# id -> (kind, submitters); 1001 is a group submission of two students.
EXPORT = {
    "1001": ("correct", [("Ada Lovelace", "s1001", "ada@example.edu"), ("Bob Byron", "s1002", "bob@example.edu")]),
    "1002": ("reversed-kl", [("Carol <b>Bold</b> & Co", "=1+1", "carol@example.edu")]),
    "1003": ("syntax-error", [("Dan Broken", "s1003", "dan@example.edu")]),
    "1004": ("notebook", [("Eve Notebook", "s1004", "eve@example.edu")]),
    "1005": ("hostile", [("Mallory Hostile", "s1005", "mallory@example.edu")]),
    "1006": ("no-code", [("Nina NoCode", "s1006", "nina@example.edu")]),
    "1007": ("hang", [("Hugo Hang", "s1007", "hugo@example.edu")]),
}


def metadata_yaml() -> str:
    """submission_metadata.yml as Gradescope writes it (Ruby-style keys with colons)."""
    lines = []
    for sid, (_kind, people) in EXPORT.items():
        lines += [f"submission_{sid}:", "  :submitters:"]
        for name, student_id, email in people:
            lines += [f"  - :name: {json.dumps(name)}", f"    :sid: '{student_id}'", f"    :email: {email}"]
        lines += ["  :created_at: 2024-03-01 12:00:00.000000000 -08:00", "  :score: 0.0", "  :status: processed",
                  "  :history: []"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A Gradescope export zip, the same submissions as folders (to grade one by one), and OUTDIR."""
    base = tmp_path_factory.mktemp("export")
    zip_path = base / "assignment_42_export.zip"
    outdir = base / "out"
    sentinel = base / "hostile-ran"
    folders = base / "folders"
    for sid, (kind, _people) in EXPORT.items():
        write_submission(folders / sid, kind, hostile_prefix([zip_path, outdir], sentinel))
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.writestr("assignment_42_export/submission_metadata.yml", metadata_yaml())
        for sid in EXPORT:
            for path in sorted((folders / sid).rglob("*")):
                zf.write(path, f"assignment_42_export/submission_{sid}/{path.relative_to(folders / sid)}")
    summary = run_batch(zip_path, outdir, 2, secret=SECRET, limits=LIMITS, progress=None)
    return {"zip": zip_path, "out": outdir, "folders": folders, "summary": summary, "sentinel": sentinel}


def read_csv(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def comparable(results: dict) -> dict:
    """Results without the wall-clock field."""
    return {k: v for k, v in results.items() if k != "execution_time"}


def test_export_gradebook_has_one_row_per_student(export: dict) -> None:
    rows = read_csv(export["out"] / "grades.csv")
    by_name = {r["name"]: r for r in rows}
    assert len(rows) == 8  # 7 submissions, one of them by a group of two
    assert {r["submission_id"] for r in rows} == set(EXPORT)
    ada, bob = by_name["Ada Lovelace"], by_name["Bob Byron"]
    assert ada["submission_id"] == bob["submission_id"] == "1001"
    assert (ada["sid"], ada["email"]) == ("s1001", "ada@example.edu")
    assert abs(float(ada["total"]) - 100.0) < SCORE_TOL
    assert ada["total"] == bob["total"] and ada["kl_divergence"] == bob["kl_divergence"]
    carol = by_name["Carol <b>Bold</b> & Co"]
    assert carol["sid"] == "'=1+1"  # a formula is neutralised for spreadsheets
    assert float(carol["total"]) < 100.0 - 1.0 and "reversed_kl" in carol["mistakes"]
    assert float(carol["kl_divergence"]) < 8.0 - 1.0 and abs(float(carol["npg_direction"]) - 8.0) < SCORE_TOL
    dan = by_name["Dan Broken"]
    assert dan["status"] == GRADED and abs(float(dan["kl_divergence"])) < SCORE_TOL
    assert float(dan["fisher_information"]) > 0.0  # the other files still earn their points
    assert abs(float(by_name["Eve Notebook"]["total"]) - 100.0) < SCORE_TOL
    nina = by_name["Nina NoCode"]
    assert nina["status"] == NOT_GRADABLE and float(nina["total"]) == 0.0 and "no .py" in nina["error"]
    hugo = by_name["Hugo Hang"]
    assert hugo["status"] == GRADED and abs(float(hugo["kl_divergence"])) < SCORE_TOL
    assert float(hugo["npg_direction"]) > 0.0  # the hang cost only kl.py's parts
    assert {r["status"] for r in rows} <= {GRADED, NOT_GRADABLE}


def test_export_results_equal_autograder_grade(export: dict) -> None:
    """Batch results/<id>.json == `autograder grade --id <id>` with the same secret and limits."""
    for sid in ("1001", "1002", "1004", "1005"):
        batch = json.loads((export["out"] / "results" / f"{sid}.json").read_text())
        _report, single = grade(export["folders"] / sid, secret=SECRET, identity=sid, limits=LIMITS)
        assert comparable(batch) == comparable(single), sid
    not_gradable = json.loads((export["out"] / "results" / "1006.json").read_text())
    assert not_gradable["score"] == 0.0 and "no .py" in not_gradable["output"]
    assert sorted(p.stem for p in (export["out"] / "results").glob("*.json")) == sorted(EXPORT)


def test_hostile_submission_under_the_sandbox_changes_nothing(export: dict) -> None:
    """In the sandbox the export and OUTDIR are hidden: the writes fail and the outputs are ours."""
    assert not export["sentinel"].exists()  # the sandbox hid the test's folder
    with zipfile.ZipFile(export["zip"]) as zf:  # the export is intact
        assert zf.testzip() is None
    rows = read_csv(export["out"] / "grades.csv")
    assert "hostile" not in {r["submission_id"] for r in rows}
    assert abs(float(next(r for r in rows if r["name"] == "Mallory Hostile")["total"]) - 100.0) < SCORE_TOL


def test_rerun_on_unchanged_export_grades_nothing(export: dict) -> None:
    before = (export["out"] / "grades.csv").read_bytes()
    again = run_batch(export["zip"], export["out"], 2, secret=SECRET, limits=LIMITS, progress=None)
    assert again.graded == 0
    assert again.cached == len(EXPORT) - 1  # all but the one with no code
    assert (export["out"] / "grades.csv").read_bytes() == before
    assert export["summary"].graded == len(EXPORT) - 1  # the first run graded every gradable one


def test_changed_secret_invalidates_the_cache(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    write_submission(folder / "alice", "correct")
    first = run_batch(folder, tmp_path / "out", 1, secret=SECRET, limits=LIMITS, progress=None)
    second = run_batch(folder, tmp_path / "out", 1, secret=SECRET + b"2", limits=LIMITS, progress=None)
    changed = folder / "alice" / "kl.py"
    changed.write_text(changed.read_text() + "\n# edited\n")
    third = run_batch(folder, tmp_path / "out", 1, secret=SECRET + b"2", limits=LIMITS, progress=None)
    assert (first.graded, second.graded, second.cached, third.graded) == (1, 1, 0, 1)


@pytest.mark.slow
def test_hostile_submission_without_a_sandbox_changes_nothing(tmp_path: Path) -> None:
    """With no sandbox the hostile code really overwrites its siblings, the input and OUTDIR, and
    kills its grader process: the snapshot, the worker restart and the final rewrite undo it all."""
    folder, out, sentinel = tmp_path / "class", tmp_path / "out", tmp_path / "hostile-ran"
    for name in ("alice", "bob"):
        write_submission(folder / name, "correct" if name == "alice" else "reversed-kl")
    write_submission(folder / "mallory", "hostile", hostile_prefix([folder, out], sentinel))
    killer = write_submission(folder / "zed-killer", "correct")
    (killer / "kl.py").write_text((killer / "kl.py").read_text() + "\nimport os\nos.kill(os.getppid(), 9)\n")
    clean = {name: grade(folder / name, secret=SECRET, limits=LIMITS, isolation=Isolation())[1]
             for name in ("alice", "bob")}

    summary = run_batch(folder, out, 2, secret=SECRET, limits=LIMITS, isolation="none", progress=None)

    assert sentinel.read_text() == "ran"  # the attack happened...
    assert "return 0.0" in (folder / "alice" / "kl.py").read_text()
    rows = {r.entry.id: r for r in summary.rows}  # ...and changed nothing
    for name in ("alice", "bob"):
        batch = json.loads((out / "results" / f"{name}.json").read_text())
        assert comparable(batch) == comparable(clean[name]), name
    assert rows["zed-killer"].status == FAILED and "worker process" in rows["zed-killer"].error
    csv_rows = {r["submission_id"]: r for r in read_csv(out / "grades.csv")}
    assert set(csv_rows) == {"alice", "bob", "mallory", "zed-killer"}
    assert abs(float(csv_rows["alice"]["total"]) - 100.0) < SCORE_TOL
    for path in (out / "cache").glob("*.json"):
        assert json.loads(path.read_text())["key"] == path.stem  # tampered entries were restored
    # The input was destroyed after the snapshot; a rerun of the same command then sees the damage,
    # so check the cache from a pristine copy of the same content instead.
    for name in ("alice", "bob"):
        write_submission(folder / name, "correct" if name == "alice" else "reversed-kl")
    (folder / "mallory").rename(tmp_path / "mallory")
    (folder / "zed-killer").rename(tmp_path / "zed-killer")
    again = run_batch(folder, out, 2, secret=SECRET, limits=LIMITS, isolation="none", progress=None)
    assert (again.graded, again.cached) == (0, 2)


def test_snapshot_of_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    write_submission(folder / "a b", "correct")
    materialise(SAMPLE["notebook"], tmp_path / "nb")
    (tmp_path / "nb" / "npg.ipynb").rename(folder / "carol.ipynb")
    with zipfile.ZipFile(folder / "dave.zip", "w") as zf:
        for path in (folder / "a b").glob("*.py"):
            zf.write(path, f"dave/{path.name}")
    (folder / "erin.zip").write_bytes(b"not a zip")
    (folder / "notes.txt").write_text("ignored")
    snap = snapshot(folder)
    ids = [e.id for e in snap.entries]
    assert ids == [make_id("a b"), "carol", "dave", "erin", "notes.txt"]
    assert ids[0].startswith("a_b~")
    by_id = {e.id: e for e in snap.entries}
    by_id["a_b"] = by_id[ids[0]]
    assert by_id["notes.txt"].skipped and "not a submission" in by_id["notes.txt"].error
    assert by_id["carol"].submission.notebook == "carol.ipynb"
    assert by_id["dave"].submission.digest == by_id["a_b"].submission.digest
    assert by_id["a_b"].identity == by_id["a_b"].submission.digest
    assert by_id["erin"].submission is None and "not a valid zip" in by_id["erin"].error


def test_export_zip_with_path_traversal_is_refused_per_submission(tmp_path: Path) -> None:
    zip_path = tmp_path / "export.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.writestr("e/submission_metadata.yml", "submission_1:\n  :submitters: []\nsubmission_2:\n  :submitters: []\n")
        zf.writestr("e/submission_1/../../evil.py", "x = 1\n")
        zf.writestr("e/submission_2/kl.py", "x = 1\n")
    snap = snapshot(zip_path)
    by_id = {e.id: e for e in snap.entries}
    assert "path traversal" in by_id["1"].error
    assert by_id["2"].submission is not None and by_id["2"].identity == "2"
    assert not (tmp_path.parent / "evil.py").exists()


def test_metadata_keys_lose_their_colons_and_ruby_tags_are_read() -> None:
    meta = parse_metadata(
        "submission_7:\n  :submitters:\n  - :name: A\n    :sid: '7'\n    :email: a@x\n"
        "  :score: !ruby/object:BigDecimal 18:0.5e1\n  :created_at: 2024-01-02 03:04:05.0 -08:00\n", "m.yml")
    assert meta["submission_7"]["submitters"] == [{"name": "A", "sid": "7", "email": "a@x"}]
    assert meta["submission_7"]["score"] == "18:0.5e1"


def test_unusable_input_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file"):
        run_batch(tmp_path / "missing", tmp_path / "out", progress=None)
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "kl.py").write_text("x = 1\n")
    with pytest.raises(UserError, match="autograder grade"):
        run_batch(tmp_path / "one", tmp_path / "out", progress=None)
    with pytest.raises(UserError, match="inside INPUT"):
        run_batch(tmp_path / "one", tmp_path / "one" / "out", progress=None)
    (tmp_path / "bad.zip").write_bytes(b"PK no")
    with pytest.raises(UserError, match="not a valid zip"):
        run_batch(tmp_path / "bad.zip", tmp_path / "out", progress=None)


def test_cli_reports_and_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from autograder.cli import main

    folder = tmp_path / "class"
    write_submission(folder / "alice", "correct")
    write_submission(folder / "nobody", "no-code")
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET.decode())
    code = main(["batch", str(folder), "-o", str(tmp_path / "out"), "-j", "1", "--secret-file", str(secret_file)])
    captured = capsys.readouterr()
    assert code == 0, captured
    assert "2 entries in INPUT, 2 of them submissions; 2 of 2 done: 1 graded now, 0 from the cache" in captured.out
    assert "1 not gradable" in captured.out
    assert "graded 1/1" in captured.err  # plain progress lines when not a TTY
    assert main(["batch", str(folder), "-o", str(tmp_path / "out"), "-j", "0"]) == 2
    assert os.path.exists(tmp_path / "out" / "report.html")
