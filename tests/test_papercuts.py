"""Papercuts new TAs and students tripped over, one test each: `demo --show nosuch`, `grade --json | head`,
audit progress in a log, `check /nonexistent`, the stub notebook's plot cells, and `pytest
test_public.py` on the stubs."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.cli import main
from autograder.demo.samples import SAMPLES, materialise

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = ROOT / "assignments" / "npg"


def test_demo_show_unknown_sample_grades_nothing(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import autograder.demo

    graded: list = []
    monkeypatch.setattr(autograder.demo, "run_demo", lambda names=None: graded.append(names) or [])
    assert main(["demo", "--show", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert "unknown sample(s) nosuch" in err and "reversed-kl" in err
    assert graded == []


def test_demo_show_grades_only_that_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    import autograder.demo

    asked: list = []

    def fake(names: object = None) -> list:
        asked.append(names)
        raise KeyboardInterrupt  # stop before printing rows; main turns it into status 130

    monkeypatch.setattr(autograder.demo, "run_demo", fake)
    assert main(["demo", "--show", "trpo-step"]) == 130
    assert asked == [["trpo-step"]]


def test_demo_show_a_name_two_assignments_share_asks_which(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # both assignments have a sample "correct": --show says which flag picks one, and grades nothing
    import autograder.demo

    graded: list = []
    monkeypatch.setattr(autograder.demo, "run_demo", lambda *a, **k: graded.append(a) or [])
    assert main(["demo", "--show", "correct"]) == 2
    assert "exists in cartpole and npg: add --assignment" in capsys.readouterr().err
    assert graded == []


def test_demo_samples_of_the_same_name_are_graded_apart() -> None:
    # two samples named "correct" must not share a folder (one would be graded with the other's files)
    from autograder.demo import run_demo

    rows = run_demo(["correct"], show=False)
    assert sorted(r.sample.assignment for r in rows) == ["cartpole", "npg"]
    for row in rows:
        files = set(row.report.submission.files)
        assert not ({"kl.py", "npg.py"} & files and {"utils.py", "train.py"} & files), files
        assert abs(row.report.score - row.report.max_score) < 1e-9


def test_grade_json_into_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    materialise(next(s for s in SAMPLES if s.name == "reversed-kl"), tmp_path / "sub")
    proc = subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(tmp_path / "sub"), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    proc.stdout.close()  # the reader (`| head`) is gone before the grade is written
    _, err = proc.communicate(timeout=120)
    assert "Traceback" not in err.decode() and "BrokenPipeError" not in err.decode()
    assert proc.returncode == 141


def test_check_of_a_missing_folder_says_so(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    assert main(["check", str(tmp_path / "nonexistent")]) == 2
    err = capsys.readouterr().err
    assert "nonexistent: no such folder" in err and "no check.py here" not in err


@pytest.mark.slow
def test_audit_prints_progress_lines_when_not_on_a_terminal(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "autograder", "audit", "--assignment", "npg", "--function",
                           "kl_bernoulli", "--operator", "constant", "-j", "1", "-o", str(tmp_path / "report")],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "graded 4/4" in proc.stderr  # stderr is a pipe here, as in CI logs


def test_stub_notebook_runs_top_to_bottom_and_plot_cells_say_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every code cell of the students' notebook, in order, as "Run All" does (without a kernel)."""
    monkeypatch.chdir(ASSIGNMENT)
    monkeypatch.syspath_prepend(str(ASSIGNMENT))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(ASSIGNMENT / "npg.ipynb", as_version=4)
    namespace: dict = {"__name__": "__main__"}
    out = io.StringIO()
    plots = 0
    with contextlib.redirect_stdout(out):
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            plots += "plot" in cell.metadata.get("tags", [])
            exec(compile(cell.source, f"cell {cell.id}", "exec"), namespace)  # noqa: S102 -- our generated notebook
    import matplotlib.pyplot as plt

    plt.close("all")
    assert plots == 3
    assert out.getvalue().count("Not plotted yet:") == plots
    assert "Not plotted yet: kl_bernoulli is not implemented yet" in out.getvalue()


def test_pytest_on_the_stubs_is_short(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_public.py"],
                          capture_output=True, text=True, timeout=300, cwd=ASSIGNMENT, env=env)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    failures = sum(line.startswith("FAILED ") for line in lines)
    assert failures >= 12  # every public case fails on the stubs
    assert len(lines) <= 3 * failures + 10  # a header, one message and one summary line per case
    assert "Traceback" not in proc.stdout and "raise NotImplementedError" not in proc.stdout
    assert "kl_divergence-1: kl_divergence is not implemented yet" in proc.stdout


def test_output_paths_that_cannot_work_are_clear_errors_not_tracebacks(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture) -> None:
    materialise(next(s for s in SAMPLES if s.name == "correct"), tmp_path / "class" / "ann")
    unwritable = tmp_path / "out"
    (unwritable / ".lock").mkdir(parents=True)  # the lock file cannot be opened: an OSError like EPERM/EROFS
    assert main(["batch", str(tmp_path / "class"), "-o", str(unwritable), "-q"]) == 2
    assert f"autograder batch: error: cannot write to {unwritable} (" in capsys.readouterr().err
    deep = tmp_path / "typo" / "out"
    assert main(["batch", str(tmp_path / "class"), "-o", str(deep), "-q"]) == 2
    assert "does not exist: create it first" in capsys.readouterr().err and not (tmp_path / "typo").exists()

    assert main(["grade", str(tmp_path / "class" / "ann"), "-o", str(tmp_path / "class")]) == 2
    assert "is a folder; give the results file" in capsys.readouterr().err
    assert main(["grade", str(tmp_path / "class" / "ann"), "-o", str(tmp_path / "nosuch" / "r.json")]) == 2
    assert "does not exist; create it first" in capsys.readouterr().err and not (tmp_path / "nosuch").exists()

    (tmp_path / "frank").mkdir()
    (tmp_path / "frank" / "KL.py").write_text("x = 1\n")
    assert main(["grade", str(tmp_path / "frank"), "-o", str(tmp_path / "frank.json")]) == 2
    written = json.loads((tmp_path / "frank.json").read_text())  # a refused submission still gets its results
    assert written["score"] == 0 and written["output"].startswith("Not graded: ") and "KL.py" in written["output"]


def test_grade_on_a_class_folder_points_to_batch(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    materialise(next(s for s in SAMPLES if s.name == "correct"), tmp_path / "class" / "ann")
    (tmp_path / "class" / "dan.py").write_text("x = 1\n")  # a loose file: once hinted "rename dan.py -> npg.py"
    assert main(["grade", str(tmp_path / "class")]) == 2
    err = capsys.readouterr().err
    assert "looks like a class: its subfolders (ann) hold submissions" in err and "autograder batch" in err
    assert "dan.py ->" not in err
