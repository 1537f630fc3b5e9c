"""Attacks from the third red-team review (against the CartPole suite), reproduced on the NPG homework.

The review's log names them a03/a14/a15 (a lone surrogate in an exception message), a13 (terminal
control sequences in one) and a10 (a submitted ``numpy.py``). The classes and their fixes:

1. Text from the child that no UTF-8 encoder takes: it crashed ``autograder grade`` when printing,
   made the Gradescope entry point rewrite results.json from its checkpoint without the points
   the no-free-points rule withholds (78 -> 92 on CartPole), and stopped every feedback page of a
   batch. Every reply of the child is made printable where the sandbox reads it, printing never
   raises, the withheld points are recorded in results.json (``extra_data``) so that a rewrite keeps
   the same total, and each student's feedback page is written in its own try.
2. Control characters (ESC sequences that clear a TA's terminal and draw a fake score) are removed
   at the same boundary, and again from the terminal report and the feedback pages.
3. A submitted file named like a standard or installed module (``numpy.py``) is ignored with a
   note, and the child imports what its own checks use before the submission's folder is on
   ``sys.path`` (fresh child and pre-started worker alike).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from autograder.batch import run_batch
from autograder.batch.feedback import write_feedback
from autograder.batch.gradebook import GRADED, Row
from autograder.batch.inputs import Entry
from autograder.bundle import build_bundle, bundle_limits
from autograder.bundle.gradescope import Layout, _checkpoint, main
from autograder.demo.samples import SAMPLES, materialise
from autograder.engine import loader
from autograder.engine.loader import load_submission
from autograder.engine.results import WITHHELD, failure_results
from autograder.engine.runner import mdp_source
from autograder.engine.sandbox import Limits, Sandbox, SubmissionFiles, printable_text
from autograder.grade import grade

SECRET = b"red-team-3-secret-0123456789abcdef"
LIMITS = Limits(call_seconds=4.0, submission_seconds=60.0)
# A submission whose no-free-points rule withholds points (78 / 100; trust_region_step fails hidden checks).
TRPO = next(s for s in SAMPLES if s.name == "trpo-step")
CORRECT = next(s for s in SAMPLES if s.name == "correct")
FAKE_SCORE = "Score: 100.00 / 100.00 All checks passed."
# Appended to kl.py (ASCII source: the escapes are Python's): kl_gaussian raises with a lone
# surrogate, a clear-screen and cursor-home sequence, a fake score and a bell.
HOSTILE_KL = f'''

def kl_gaussian(mu1, mu2, sigma):
    raise ValueError("\\ud800\\x1b[2J\\x1b[H {FAKE_SCORE}\\x07\\x9b")
'''


def _hostile(dest: Path, sample=TRPO) -> Path:
    folder = materialise(sample, dest)
    with open(folder / "kl.py", "a", encoding="utf-8") as fh:
        fh.write(HOSTILE_KL)
    return folder


def _is_clean(text: str) -> bool:
    """Valid UTF-8 with no control character but newline and tab."""
    text.encode("utf-8")  # raises on a lone surrogate
    return not any((ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in text)


def test_printable_text_escapes_surrogates_and_drops_controls() -> None:
    assert printable_text("a\ud800b") == "a\\ud800b"
    assert printable_text("\x1b[2J\x1b[Hx\x07\x9b\r\x00y") == "[2J[Hxy"
    assert printable_text("tab\tand\nnewline, é, 漢") == "tab\tand\nnewline, é, 漢"


# -- 1 and 2: text from the child -------------------------------------------------------------------
def test_a03_a13_grade_prints_a_surrogate_and_no_terminal_sequence(tmp_path: Path) -> None:
    """``autograder grade`` exited 1 (UnicodeEncodeError in print) on ``ValueError("\\ud800")``, and an
    ESC sequence in an exception message cleared the TA's screen to show a fake full score."""
    folder = _hostile(tmp_path / "sub")
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", "--assignment", "npg", str(folder),
                           "-o", str(out)], capture_output=True, timeout=300,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    text = proc.stdout.decode("utf-8")  # strict: the terminal got valid UTF-8
    assert _is_clean(text)
    assert "\\ud800" in text  # the surrogate is shown as its escape
    results = json.loads(out.read_text(encoding="utf-8"))
    assert text.startswith(f"Score: {results['score']:.2f} / 100.00")  # the real score comes first
    assert results["score"] < 78.0  # kl_gaussian's points are lost on top of trpo-step's
    failed = [t["output"] for t in results["tests"] if t["name"].startswith("kl_gaussian")]
    assert failed and all(_is_clean(o) and "\\ud800" in o for o in failed)


def test_child_replies_are_printable_in_the_call_result(tmp_path: Path) -> None:
    """The boundary itself: the exception text of a call arrives escaped and without controls."""
    code = 'def kl_divergence(p, q):\n    raise ValueError("\\ud800\\x1b[2Jfake\\r\\x85")\n'
    with Sandbox(SubmissionFiles({"kl.py": code}), mdp_source(), LIMITS) as box:
        result = box.call("kl", "kl_divergence", [np.ones(2) / 2, np.ones(2) / 2])
    assert result.kind == "exception"
    assert "\\ud800[2Jfake" in result.error and _is_clean(result.error)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    return build_bundle(out, limits=bundle_limits(4.0, 60.0, 1024), hidden_visibility="visible")


def test_a14_gradescope_keeps_the_withheld_points_whatever_rewrites_results(built, tmp_path: Path,
                                                                              monkeypatch) -> None:
    """The entry point wrote results.json, then print() raised on the surrogate and its error handler
    rewrote results.json from the checkpoint, summing the checks' scores: the points withheld by the
    no-free-points rule came back (78 -> 92 on CartPole)."""
    root = tmp_path / "root"
    with zipfile.ZipFile(built.output) as archive:
        archive.extractall(root / "source")
    _hostile(root / "submission")
    (root / "submission_metadata.json").write_text(json.dumps({"id": 14, "assignment": {"due_date": None}}))
    monkeypatch.setenv("AUTOGRADER_ROOT", str(root))
    assert main() == 0
    path = Layout(root).results
    results = json.loads(path.read_text(encoding="utf-8"))
    assert not results["output"].startswith("Autograder failed")
    withheld = results["extra_data"][WITHHELD]
    assert withheld > 1.0  # trpo-step's trust_region_step and natural_policy_gradient points (3.8 of 100)
    total = sum(t["score"] for t in results["tests"])
    # Scores are rounded to 1e-4 per test (results.json): 1e-3 covers the sum of their rounding.
    assert results["score"] == pytest.approx(total - withheld, abs=1e-3)
    # Any rewrite from the checkpoint (the error path) gives the same total.
    rewritten = failure_results("test", _checkpoint(path))
    assert rewritten["score"] == pytest.approx(results["score"], abs=1e-3)


def test_a15_each_feedback_page_is_cleaned_and_written_in_its_own_try(tmp_path: Path) -> None:
    """Results cached by an older grader may hold a lone surrogate and ESC: the page shows them
    escaped and dropped; a results entry that cannot be rendered at all costs only its own page."""
    summary = {"score": 20.0, "max_score": 26.0, "parts": [["kl_divergence", 20.0, 26.0]], "checks": 2,
               "checks_passed": 1, "mistakes": [], "seconds": 0.1, "isolation": "bwrap", "error": None}
    rows = [Row(Entry(name, name), GRADED, summary) for name in ("ann", "bob", "zed")]
    hostile = {"output": "Score: 20.00 / 26.00", "tests": [
        {"name": "kl_divergence: example", "status": "failed", "max_score": 6.0, "visibility": "visible",
         "output": "ValueError: \ud800\x1b[2J\x1b[H" + FAKE_SCORE}]}
    results = {"ann": hostile, "bob": {"tests": 5}, "zed": {"output": "", "tests": []}}
    problems: list[str] = []
    written = write_feedback(tmp_path, rows, results, "NPG homework", problems)
    assert written == {f"feedback/{n}.{s}" for n in ("ann", "zed") for s in ("md", "html")}
    for name in written:
        assert _is_clean((tmp_path / name).read_bytes().decode("utf-8")), name
    assert "\\ud800[2J[H" + FAKE_SCORE in (tmp_path / "feedback" / "ann.md").read_text(encoding="utf-8")
    assert len(problems) == 1 and problems[0].startswith("bob: no feedback page (TypeError"), problems


@pytest.mark.slow  # a batch of three and its similarity report: 6-17 s on 2 shared cores
def test_a15_one_student_cannot_stop_the_others_feedback_pages(tmp_path: Path, monkeypatch) -> None:
    """One submission with ``\\ud800`` in an exception aborted the feedback pages, report.html and the
    similarity page of the whole batch, on every rerun. Here ann's text is cleaned onto her page, and
    bob's page, made to fail to render at all, costs only bob's page (and a note)."""
    import autograder.batch.feedback as feedback

    real = feedback.feedback_markdown

    def failing_for_bob(row, results, title):
        if row.entry.id == "bob":
            raise RuntimeError("cannot render")
        return real(row, results, title)

    monkeypatch.setattr(feedback, "feedback_markdown", failing_for_bob)
    batch = tmp_path / "class"
    _hostile(batch / "ann", CORRECT)
    materialise(CORRECT, batch / "bob")
    zed = materialise(CORRECT, batch / "zed")
    (zed / "kl.py").write_text((zed / "kl.py").read_text() + "\n# zed's own copy\n")
    out = tmp_path / "out"
    summary = run_batch(batch, out, 1, secret=SECRET, limits=LIMITS, progress=None)
    rows = {r.entry.id: r for r in summary.rows}
    assert rows["zed"].total == pytest.approx(100.0, abs=1e-6)
    for page in ("feedback/ann.md", "feedback/ann.html", "feedback/zed.md", "feedback/zed.html", "report.html",
                 "similarity.html"):
        assert _is_clean((out / page).read_bytes().decode("utf-8")), page
    ann = (out / "feedback" / "ann.md").read_text(encoding="utf-8")
    assert "\\ud800" in ann and FAKE_SCORE in ann  # shown, as plain text
    assert not (out / "feedback" / "bob.md").exists()
    assert any("bob: no feedback page (RuntimeError: cannot render)" in n for n in summary.notes), summary.notes


# -- 3: shadowing modules -----------------------------------------------------------------------------
# a10, on the NPG homework: real numpy loaded under the submission's numpy.py, whose ndarray nothing
# is an instance of, so the child's check that arguments are unchanged saw no array at all.
SHADOW_NUMPY = '''
import sys, os, types
_here = os.path.dirname(os.path.abspath(__file__))
_saved = list(sys.path)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
sys.modules.pop("numpy", None)
import numpy as _real
sys.path[:] = _saved

class _FakeNdarray:
    pass

_proxy = types.ModuleType("numpy")
_proxy.__dict__.update(_real.__dict__)
_proxy.ndarray = _FakeNdarray
sys.modules["numpy"] = _proxy
'''
# kl_divergence right, but it reverses p in place afterwards (the grader takes points for that).
IN_PLACE_KL = '''

def kl_divergence(p, q):
    import numpy as np
    value = np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1) / np.where(p > 0, q, 1)), 0.0), axis=-1)
    p[...] = p[..., ::-1].copy()
    return value
'''


def test_a10_files_named_like_standard_or_installed_modules_are_ignored(tmp_path: Path, monkeypatch) -> None:
    folder = materialise(CORRECT, tmp_path / "sub")
    for name in ("numpy.py", "os.py", "json.py"):
        (folder / name).write_text("raise SystemExit('shadowed')\n")
    (folder / "helpers.py").write_text("X = 1\n")
    sub = load_submission(folder)
    assert set(sub.files) == {"kl.py", "fisher.py", "npg.py", "helpers.py"}
    for name, kind in (("numpy.py", "installed package 'numpy'"), ("os.py", "standard library module 'os'"),
                       ("json.py", "standard library module 'json'")):
        assert any(n.startswith(f"{name} was ignored") and kind in n for n in sub.notes), (name, sub.notes)
    # The assignment's own file names are never refused, even where a package of that name is installed.
    monkeypatch.setattr(loader, "_installed_modules", lambda: frozenset({"kl", "numpy"}))
    assert "kl.py" in load_submission(folder).files


def test_a10_a_numpy_shadow_gains_nothing_in_a_grade(tmp_path: Path) -> None:
    """Control: the in-place write costs points. With numpy.py beside it, the same (the file is ignored)."""
    control = materialise(CORRECT, tmp_path / "control")
    with open(control / "kl.py", "a", encoding="utf-8") as fh:
        fh.write(IN_PLACE_KL)
    attack = materialise(CORRECT, tmp_path / "attack")
    (attack / "kl.py").write_text((control / "kl.py").read_text())
    (attack / "numpy.py").write_text(SHADOW_NUMPY)
    control_report, _ = grade(control, secret=SECRET, limits=LIMITS)
    attack_report, _ = grade(attack, secret=SECRET, limits=LIMITS)
    assert control_report.score < 99.0  # the in-place write is caught
    assert attack_report.score == pytest.approx(control_report.score, abs=1e-9)  # same code, same checks
    assert any(n.startswith("numpy.py was ignored") for n in attack_report.notes)


@pytest.mark.parametrize("reuse_worker", [False, True], ids=["fresh-child", "pre-started-worker"])
def test_a10_the_child_checks_with_the_real_ndarray_even_if_numpy_py_reaches_it(reuse_worker: bool) -> None:
    """Past the loader (a numpy.py handed straight to the sandbox), the child has imported numpy
    before the submission's folder is on sys.path: the in-place write is still seen."""
    files = SubmissionFiles({"kl.py": "import numpy as np\n" + IN_PLACE_KL, "numpy.py": SHADOW_NUMPY})
    with Sandbox(files, mdp_source(), LIMITS, reuse_worker=reuse_worker) as box:
        result = box.call("kl", "kl_divergence", [np.array([0.2, 0.8]), np.array([0.5, 0.5])])
    assert result.kind == "ok", result.error
    assert result.modified == ("p",)
