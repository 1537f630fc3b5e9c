"""``autograder batch`` survives Ctrl-C and kill -9: a rerun continues and loses nothing graded."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.batch import run_batch
from autograder.batch.gradebook import GRADED, PENDING
from autograder.batch.progress import Progress, format_duration
from autograder.demo.samples import SAMPLES, materialise

SECRET = "resume-test-secret-0123456789abcdef"
KINDS = ("correct", "reversed-kl", "slide-gaussian", "syntax-error", "trpo-step", "mu0-sampler")


def make_class(folder: Path) -> None:
    samples = {s.name: s for s in SAMPLES}
    for i, kind in enumerate(KINDS):
        materialise(samples[kind], folder / f"s{i}-{kind}")


def cache_files(out: Path) -> set[str]:
    return {p.name for p in (out / "cache").glob("*.json")} if (out / "cache").is_dir() else set()


def start_batch(folder: Path, out: Path, secret_file: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "autograder", "batch", str(folder), "-o", str(out), "-j", "1",
           "--secret-file", str(secret_file)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, text=True)


def wait_for_cache(proc: subprocess.Popen, out: Path, count: int, timeout: float = 90.0) -> None:
    end = time.monotonic() + timeout
    while len(cache_files(out)) < count:
        assert proc.poll() is None, f"the batch ended early: {proc.communicate()}"
        assert time.monotonic() < end, "the batch graded nothing in time"
        time.sleep(0.05)


@pytest.mark.slow
def test_ctrl_c_then_kill_9_then_resume(tmp_path: Path) -> None:
    folder, out = tmp_path / "class", tmp_path / "out"
    make_class(folder)
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET)
    procs = []
    try:
        # Ctrl-C (SIGINT to the foreground process group): partial outputs, exit status 130.
        proc = start_batch(folder, out, secret_file)
        procs.append(proc)
        wait_for_cache(proc, out, 1)
        os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 130, (stdout, stderr)
        assert "run the same command again" in stderr
        rows = list(csv.DictReader(io.StringIO((out / "grades.csv").read_text())))
        statuses = [r["status"] for r in rows]
        assert len(rows) == len(KINDS) and GRADED in statuses and PENDING in statuses
        assert not (out / "canvas.csv").exists() and not (out / "gradescope_scores.csv").exists()
        assert "canvas.csv and gradescope_scores.csv not written" in stderr
        after_ctrl_c = cache_files(out)

        # kill -9 of the batch process itself: nothing is cleaned up, the cache keeps what was graded.
        proc = start_batch(folder, out, secret_file)
        procs.append(proc)
        wait_for_cache(proc, out, len(after_ctrl_c) + 1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
        after_kill = cache_files(out)
        assert after_ctrl_c < after_kill
        for name in after_kill:
            assert json.loads((out / "cache" / name).read_text())["key"] == name[:-5]  # whole files only
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the workers, should any be left
            except ProcessLookupError:
                pass

    # The rerun grades only what is missing and finishes the class.
    summary = run_batch(folder, out, 2, secret=SECRET.encode(), progress=None)
    assert summary.cached == len(after_kill)
    assert summary.graded == len(KINDS) - len(after_kill)
    assert [r.status for r in summary.rows] == [GRADED] * len(KINDS)
    totals = {r.entry.id.split("-", 1)[1]: r.total for r in summary.rows}
    assert abs(totals["correct"] - 100.0) < 1e-6
    assert all(totals[k] < 100.0 - 1.0 for k in KINDS if k != "correct")
    assert not list(out.rglob(".*.tmp"))
    assert (out / "canvas.csv").is_file() and (out / "gradescope_scores.csv").is_file()  # all graded now
    assert sorted(p.stem for p in (out / "results").glob("*.json")) == sorted(r.entry.id for r in summary.rows)


def test_progress_bar_on_a_tty_and_plain_lines_elsewhere() -> None:
    tty = io.StringIO()
    bar = Progress(4, tty, tty=True)
    bar.start -= 2.0  # two seconds in
    bar.advance()
    bar.advance()
    text = tty.getvalue()
    assert text.startswith("\r[") and "2/4" in text and "/s" in text and "ETA 0:02" in text
    assert "#" * 14 + "." * 14 in text  # half of the 28-character bar
    plain = io.StringIO()
    lines = Progress(3, plain, tty=False)
    for _ in range(3):
        lines.advance(failed=True)
    out = plain.getvalue().splitlines()
    assert out[0].startswith("graded 1/3") and out[-1].startswith("graded 3/3") and "3 failed" in out[-1]
    assert "\r" not in plain.getvalue()
    assert format_duration(3725) == "1:02:05" and format_duration(75) == "1:15"
