"""Attacks from the second independent red-team review (against the hardened sandbox), reproduced.

Each test names the finding (G1-G7). The classes: grader-side decoding with an attacker-chosen codec
(quadratic punycode, lone surrogates from unicode_escape, plain UnicodeError aborting a batch);
grader-side parsing without bounds (a helper file nested too deep for ``ast.parse``; megabytes of
legal code compiled, parsed and fingerprinted outside every limit); Markdown feedback whose fence a
student's text can close; the arguments-unchanged check evaluated with functions student code can
monkeypatch.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from autograder.batch import run_batch
from autograder.batch.feedback import feedback_markdown
from autograder.demo.samples import SAMPLES, materialise
from autograder.engine.loader import MAX_SOURCE_CHARS, load_submission
from autograder.engine.sandbox import Limits
from autograder.errors import UserError
from autograder.grade import grade

SECRET = b"red-team-2-secret-0123456789abcdef"
LIMITS = Limits(call_seconds=4.0, submission_seconds=60.0)
CORRECT = next(s for s in SAMPLES if s.name == "correct")


def _correct(dest: Path) -> Path:
    return materialise(CORRECT, dest)


def test_g6_g7_a_coding_line_naming_an_odd_codec_is_read_as_latin1_with_a_note(tmp_path: Path) -> None:
    """punycode: its decoder is quadratic (250 kB took 80 s in the grader) and raises a plain
    UnicodeError that aborted a whole batch. Only text encodings are honoured now."""
    folder = _correct(tmp_path / "sub")
    payload = ("é" * 2000).encode("punycode")
    (folder / "helper.py").write_bytes(b"# coding: punycode\nx = 1\n" + payload)
    sub = load_submission(folder)
    assert any("helper.py declares the encoding 'punycode'" in n for n in sub.notes), sub.notes
    assert sub.files["helper.py"].startswith("# coding: punycode")  # Latin-1 reads any bytes as they are


def test_g6_one_unreadable_entry_never_stops_the_batch(tmp_path: Path) -> None:
    """A 28-byte file with ``# coding: punycode`` and an incomplete punycode text made the batch exit
    with a traceback and no grades for anyone."""
    batch = tmp_path / "class"
    ann = _correct(batch / "ann")
    (ann / "helper.py").write_bytes(b"# coding: punycode\nx=1\n-9")
    _correct(batch / "zed")
    summary = run_batch(batch, tmp_path / "out", 1, secret=SECRET, limits=LIMITS, progress=None)
    rows = {r.entry.id: r for r in summary.rows}
    assert rows["zed"].total == pytest.approx(100.0, abs=1e-6)  # the classmate is graded
    assert rows["ann"].total == pytest.approx(100.0, abs=1e-6)  # and so is ann: helper.py is never imported
    assert (tmp_path / "out" / "grades.csv").exists()


def test_g1_a_unicode_escape_surrogate_cannot_crash_the_grade(tmp_path: Path) -> None:
    """``# coding: unicode_escape`` + ``\\ud834`` decoded to a lone surrogate, which the grader could
    not write back as UTF-8: no results.json at all."""
    folder = _correct(tmp_path / "sub")
    (folder / "kl.py").write_bytes(b"# coding: unicode_escape\nx = '\\ud834'\n" + (folder / "kl.py").read_bytes())
    out = tmp_path / "results.json"
    report, results = grade(folder, out, secret=SECRET, limits=LIMITS)
    assert json.loads(out.read_text())["score"] == pytest.approx(report.score)
    assert any("unicode_escape" in n for n in report.notes)


def test_g4_a_helper_nested_too_deep_for_the_parser_costs_nothing(tmp_path: Path) -> None:
    """``x = ----...1`` (20,000 signs) made ``ast.parse`` raise MemoryError in the grader's import
    scan: a traceback and no results.json."""
    folder = _correct(tmp_path / "sub")
    (folder / "helper.py").write_text("x = " + "-" * 20_000 + "1\n")
    out = tmp_path / "results.json"
    report, _ = grade(folder, out, secret=SECRET, limits=LIMITS)
    assert report.score == pytest.approx(100.0, abs=1e-6)
    assert out.exists()


def test_g5_megabytes_of_python_are_refused_before_the_grader_parses_them(tmp_path: Path) -> None:
    """2 MiB of AST-dense code cost 1.5 GB and minutes of grader CPU (compile, parse, fingerprints)."""
    folder = _correct(tmp_path / "sub")
    (folder / "helper.py").write_text("x = [" + "a.b," * (MAX_SOURCE_CHARS // 4 + 1) + "]\n")
    with pytest.raises(UserError, match="characters of Python"):
        load_submission(folder)


def test_g3_student_text_cannot_close_the_markdown_fence_or_add_html() -> None:
    """A message holding both ``` and ~~~~ closed the page's fence early; what followed was live
    Markdown (raw HTML, phishing links)."""
    from autograder.batch import feedback

    evil = "x\n```\n~~~~\n<img src=x onerror=alert(1)> [regrade](http://example.invalid)\n````\n"
    sections = [("h1", "Feedback for <b>Mallory</b> [x](http://example.invalid)"), ("pre", evil)]
    original = feedback._sections
    feedback._sections = lambda *_a: sections  # the page's layout, with hostile content
    try:
        page = feedback_markdown(None, {}, "t")  # type: ignore[arg-type]
    finally:
        feedback._sections = original
    head, _, rest = page.partition("\n\n")
    assert not re.search(r"(?<!\\)[<\[\]]", head)  # every < [ ] of the title is escaped: literal text
    fence = rest.split("text\n", 1)[0]
    assert set(fence) == {"`"} and len(fence) > 4  # longer than any backtick run in the content
    body = rest[len(fence) + len("text\n"):]
    assert body.index(evil.rstrip("\n")) < body.index("\n" + fence)  # everything stays inside the block


def test_g2_patching_numpy_cannot_hide_an_argument_changed_in_place(tmp_path: Path) -> None:
    """``np.array_equal = lambda *a, **k: True`` at import made the child's own check report the
    caller's array as unchanged."""
    folder = _correct(tmp_path / "sub")
    (folder / "kl.py").rename(folder / "kl_right.py")
    (folder / "kl.py").write_text(
        "import numpy as np\n"
        "from kl_right import *  # noqa\n"
        "from kl_right import kl_divergence as _right\n"
        "np.array_equal = lambda *a, **k: True  # the attack: hide the write below from the check\n\n\n"
        "def kl_divergence(p, q):\n"
        "    result = _right(p, q)\n"
        "    if isinstance(p, np.ndarray) and p.flags.writeable:\n"
        "        p[...] = 0.0  # right answer, corrupted caller\n"
        "    return result\n")
    report, _ = grade(folder, tmp_path / "results.json", secret=SECRET, limits=LIMITS)
    kl_checks = [r for r in report.results if r.check.part == "kl_divergence"]
    assert any("changed its argument `p` in place" in r.outcome.message for r in kl_checks)
    assert report.part_scores()["kl_divergence"][0] < report.part_scores()["kl_divergence"][1] - 1e-6
