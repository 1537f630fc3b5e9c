"""``autograder bundle``: what the zip holds, the secret's handling, and the in-bundle grader's
metadata and visibility rules. The end-to-end runs as root are in test_bundle_root.py."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from autograder.bundle import build_bundle, bundle_limits
from autograder.bundle.gradescope import (
    Layout,
    apply_visibility,
    main,
    parse_time,
    read_metadata,
    visibility_note,
)
from autograder.cli import main as cli_main
from autograder.demo.samples import SAMPLES, materialise
from autograder.errors import UserError


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    info = build_bundle(out, limits=bundle_limits(3.0, 30.0, 512), hidden_visibility="after_published")
    return info


def test_zip_layout_and_modes(built):
    with zipfile.ZipFile(built.output) as archive:
        infos = {i.filename: i for i in archive.infolist()}
        config = json.loads(archive.read("grader/bundle.json"))
        secret = archive.read("grader/secret").decode().strip()
        run_script = archive.read("run_autograder").decode()
        requirements = archive.read("requirements.in").decode()
        locks = [n for n in archive.namelist() if re.fullmatch(r"requirements-py3\.\d+\.txt", n)]
    for name in ("setup.sh", "run_autograder"):
        assert stat.S_IMODE(infos[name].external_attr >> 16) == 0o755
        assert infos[name].filename.count("/") == 0  # at the zip's root
    assert all(stat.S_IMODE(i.external_attr >> 16) == 0o600 for n, i in infos.items() if n.startswith("grader/"))
    assert "grader/solutions/kl.py" in infos and "grader/autograder/engine/runner.py" in infos
    assert "grader/autograder/bundle/gradescope.py" in infos
    assert not any(n.endswith((".ipynb", ".pyc")) or "__pycache__" in n for n in infos)
    assert not any(n.startswith(("tests/", "assignments/", "grader/tests/")) for n in infos)
    # settings and secret
    assert config["limits"]["call_seconds"] == pytest.approx(3.0, abs=1e-12)
    assert config["limits"]["memory_bytes"] == 512 << 20
    assert config["hidden_visibility"] == "after_published"
    assert config["total_seconds"] == 30 + 3 * 3 + 60
    assert secret == built.secret_file.read_text().strip() and len(secret) == 64
    assert stat.S_IMODE(built.secret_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(built.output.stat().st_mode) == 0o600
    # the scripts are filled in and honour AUTOGRADER_ROOT
    assert 'ROOT="${AUTOGRADER_ROOT:-/autograder}"' in run_script
    assert "TOTAL_SECONDS:-99}" in run_script
    # pinned third-party requirements only (the student environment + the grader's): never the project itself
    pins = [line for line in requirements.splitlines() if line and not line.startswith("#")]
    names = {line.split("==")[0].lower() for line in pins}
    assert names == {"numpy", "scipy", "gradescope-utils", "nbformat", "matplotlib", "pyyaml"}
    assert all("==" in line for line in pins)
    assert "npg-autograder" not in requirements and "-e" not in pins
    assert sorted(locks) == ["requirements-py3.10.txt", "requirements-py3.11.txt", "requirements-py3.12.txt"]
    assert "grader/solutions/assignment.json" in infos  # the declared student environment


def test_scripts_are_valid_shell(built, tmp_path):
    with zipfile.ZipFile(built.output) as archive:
        archive.extractall(tmp_path)
    for name in ("setup.sh", "run_autograder"):
        done = subprocess.run(["bash", "-n", str(tmp_path / name)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    usage = subprocess.run(["bash", str(tmp_path / "setup.sh"), "nonsense"], capture_output=True, text=True)
    assert usage.returncode == 2 and "usage" in usage.stderr


def test_secret_is_fresh_and_never_overwritten(tmp_path):
    first = build_bundle(tmp_path / "a.zip")
    second = build_bundle(tmp_path / "b.zip")
    assert first.secret_file.read_text() != second.secret_file.read_text()
    assert first.secret_fingerprint != second.secret_fingerprint
    with pytest.raises(UserError, match="--secret-file"):
        build_bundle(tmp_path / "a.zip")  # a.zip.secret exists: refuse to lose it
    # Reusing the secret keeps the hidden cases, and the bundle is byte-identical.
    again = build_bundle(tmp_path / "c.zip", secret_file=first.secret_file)
    assert again.secret_reused and again.secret_fingerprint == first.secret_fingerprint
    assert (tmp_path / "c.zip").read_bytes() == (tmp_path / "a.zip").read_bytes()
    assert not (tmp_path / "c.zip.secret").exists()


def test_secret_is_refused_inside_a_git_work_tree_that_does_not_ignore_it(tmp_path):
    """`git add -A` must not be able to commit the secret: in a work tree, the bundle and its secret
    are written only where git ignores them."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    with pytest.raises(UserError, match=r"does not ignore it.*\.gitignore"):
        build_bundle(tmp_path / "autograder.zip")
    assert not list(tmp_path.glob("autograder.zip*")), "nothing may be written before the refusal"
    (tmp_path / ".gitignore").write_text("*.secret\n")  # the secret alone is not enough: the zip holds it
    with pytest.raises(UserError, match="autograder.zip"):
        build_bundle(tmp_path / "out" / "autograder.zip")
    (tmp_path / ".gitignore").write_text("*.secret\n/out/\n")
    info = build_bundle(tmp_path / "out" / "autograder.zip")
    assert info.secret_file.is_file()
    status = subprocess.run(["git", "-C", str(tmp_path), "status", "--porcelain", "--untracked-files=all"],
                            capture_output=True, text=True, check=True).stdout
    assert "secret" not in status and ".zip" not in status, status


def test_the_repository_ignores_secrets_venvs_and_reports():
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        pytest.fail(f"{root} is not a git checkout")  # CI and developers run from a clone
    paths = ["autograder.zip", "autograder.zip.secret", "elsewhere/x.secret", ".venv/bin/python",
             "venv/bin/python", "report/audit.html", "grading-output/grades.csv"]
    done = subprocess.run(["git", "-C", str(root), "check-ignore", "--no-index", *paths],
                          capture_output=True, text=True)
    assert sorted(done.stdout.split()) == sorted(paths)


@pytest.mark.parametrize("kwargs, message", [
    ({"hidden_visibility": "soon"}, "hidden visibility"),
    ({"sandbox_user": "root"}, "sandbox user"),
    ({"sandbox_user": "a b; rm"}, "sandbox user"),
    ({"limits": bundle_limits(10.0, 5.0)}, "time limits"),
])
def test_bad_options_are_user_errors(tmp_path, kwargs, message):
    with pytest.raises(UserError, match=message):
        build_bundle(tmp_path / "x.zip", **kwargs)
    with pytest.raises(UserError, match=r"\.zip"):
        build_bundle(tmp_path / "x.tar")


def test_cli_writes_bundle_and_explains_the_secret(tmp_path, capsys):
    out = tmp_path / "autograder.zip"
    assert cli_main(["bundle", "-o", str(out), "--call-seconds", "5", "--assignment", "npg"]) == 0
    text = capsys.readouterr().out
    assert out.is_file() and f"{out}.secret" in text and "--secret-file" in text
    # the secret exists: a clear error, no traceback
    assert cli_main(["bundle", "-o", str(out), "--assignment", "npg"]) == 2
    assert "already exists" in capsys.readouterr().err


def test_parse_time_accepts_gradescope_formats():
    assert parse_time("2024-03-01T23:59:00.000000-08:00") == datetime(2024, 3, 2, 7, 59, tzinfo=timezone.utc)
    assert parse_time("2024-03-01T23:59:00Z") == datetime(2024, 3, 1, 23, 59, tzinfo=timezone.utc)
    assert parse_time("2024-03-01 23:59:00") == datetime(2024, 3, 1, 23, 59, tzinfo=timezone.utc)
    assert parse_time("next friday") is None and parse_time(None) is None


def test_read_metadata(tmp_path):
    path = tmp_path / "submission_metadata.json"
    assert read_metadata(path).note and read_metadata(path).submission_id is None
    path.write_text(json.dumps({"id": 987, "created_at": "2024-03-01T10:00:00Z",
                                "assignment": {"due_date": "2024-03-08T23:59:00.000000-08:00"}}))
    meta = read_metadata(path)
    assert meta.submission_id == "987" and meta.note is None
    assert meta.due_date == datetime(2024, 3, 9, 7, 59, tzinfo=timezone.utc)
    path.write_text("{not json")
    assert "could not read" in read_metadata(path).note


def test_visibility_rules():
    results = {"tests": [{"tags": ["kl_divergence", "hidden"], "visibility": "after_due_date"},
                         {"tags": ["kl_divergence", "random"], "visibility": "visible"}]}
    assert apply_visibility(results, "hidden") == 1
    assert [t["visibility"] for t in results["tests"]] == ["hidden", "visible"]
    due = datetime(2024, 3, 9, 7, 59, tzinfo=timezone.utc)
    before, after = datetime(2024, 3, 1, tzinfo=timezone.utc), datetime(2024, 4, 1, tzinfo=timezone.utc)
    assert "shown after the due date (2024-03-09 07:59 UTC)" in visibility_note(3, "after_due_date", due, before)
    assert "has passed" in visibility_note(3, "after_due_date", due, after)
    assert "published" in visibility_note(3, "after_published", due, before)
    assert visibility_note(0, "after_due_date", due, before) == ""


def test_main_grades_off_gradescope(built, tmp_path, monkeypatch):
    """``main`` with AUTOGRADER_ROOT: grades the submission and writes a valid results.json."""
    root = tmp_path / "root"
    with zipfile.ZipFile(built.output) as archive:
        archive.extractall(root / "source")
    materialise(SAMPLES[0], root / "submission")
    (root / "submission_metadata.json").write_text(json.dumps({"id": 5, "assignment": {"due_date": None}}))
    monkeypatch.setenv("AUTOGRADER_ROOT", str(root))
    assert main() == 0
    results = json.loads(Layout(root).results.read_text())
    assert results["score"] == pytest.approx(100.0, abs=1e-6)
    hidden = [t for t in results["tests"] if "hidden" in t["tags"]]
    assert hidden and {t["visibility"] for t in hidden} == {"after_published"}
    assert "shown when the grades are published" in results["output"]
    if os.geteuid() == 0:
        assert stat.S_IMODE((root / "source").stat().st_mode) == 0o700


def test_main_writes_failure_results_when_the_bundle_is_broken(tmp_path, monkeypatch, capsys):
    root = tmp_path / "root"
    (root / "submission").mkdir(parents=True)
    (root / "source" / "grader").mkdir(parents=True)  # no bundle.json: the grader cannot start
    monkeypatch.setenv("AUTOGRADER_ROOT", str(root))
    assert main() == 1
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["output"].startswith("Autograder failed") and results["visibility"] == "visible"
    assert results["score"] == 0 and results["tests"] == []
    assert "FileNotFoundError" in capsys.readouterr().err


def test_a_grader_failure_after_some_parts_keeps_them(built, tmp_path, monkeypatch):
    """The grader dies after the KL parts: results.json says "Autograder failed" and keeps their points."""
    import autograder.engine.runner as runner

    root = tmp_path / "root"
    with zipfile.ZipFile(built.output) as archive:
        archive.extractall(root / "source")
    materialise(SAMPLES[0], root / "submission")
    (root / "submission_metadata.json").write_text(json.dumps({"id": 6, "assignment": {"due_date": None}}))
    monkeypatch.setenv("AUTOGRADER_ROOT", str(root))
    real_partial = runner._partial

    def dying_partial(report):
        partial = real_partial(report)
        if any(p.name == "score_function" for p in partial.suite.parts):
            raise MemoryError("the grader ran out of memory")  # as if killed after the KL parts
        return partial

    monkeypatch.setattr(runner, "_partial", dying_partial)
    assert main() == 1
    results = json.loads(Layout(root).results.read_text())
    assert results["output"].startswith("Autograder failed") and results["visibility"] == "visible"
    parts = {t["tags"][0] for t in results["tests"]}
    assert parts == {"kl_divergence", "kl_bernoulli", "kl_gaussian", "policy_kl"}
    # 8 + 4 + 4 + 10 points, all earned; each test's score is rounded to 4 decimals in the JSON
    assert results["score"] == pytest.approx(26.0, abs=1e-3)


def test_checkpoints_grow_part_by_part_and_end_at_the_final_score(tmp_path):
    from autograder.engine.loader import load_submission
    from autograder.engine.runner import grade_submission

    path = materialise(SAMPLES[2], tmp_path / "sample")  # reversed KL: some parts lose points
    seen = []
    report = grade_submission(load_submission(path), secret=b"checkpoint-test",
                              on_part_done=lambda partial: seen.append(partial))
    assert [len(p.suite.parts) for p in seen] == list(range(1, len(report.suite.parts) + 1))
    assert all(a.score <= b.score + 1e-9 for a, b in zip(seen, seen[1:]))
    assert seen[-1].score == pytest.approx(report.score, abs=1e-9)
    final = report.part_scores()
    for part, (score, max_score) in seen[-1].part_scores().items():
        assert score == pytest.approx(final[part][0], abs=1e-9) and max_score == final[part][1]
