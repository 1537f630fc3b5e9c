"""Red-team review of the grader: each test is an attack that broke a guarantee before its fix.

A submission talks to the grader over the protocol pipe, whose descriptors student code can find
(here through ``gc``, the ``_Channel`` object of the child), so it can write anything there or stop
reading. The grader must never block on it, never spend unbounded memory decoding what it sent,
and never raise: each attack costs only the attacked call.
"""

from __future__ import annotations

import ast
import json
import shutil
import textwrap
import threading
from pathlib import Path

import pytest

from autograder.demo.samples import SAMPLES, materialise
from autograder.engine import child as codec
from autograder.engine.isolation import (
    BubblewrapIsolation,
    Isolation,
    _bwrap_has_size,
    _python_paths,
    detect_isolation,
)
from autograder.engine.loader import load_submission
from autograder.engine.runner import _checkout_folder, grade_submission, mdp_source
from autograder.engine.sandbox import CallResult, Limits, Sandbox
from autograder.engine.zygote import close_zygotes, shared_zygote

ISOLATION = detect_isolation()
BWRAP = isinstance(ISOLATION, BubblewrapIsolation)
needs_bwrap = pytest.mark.skipif(not BWRAP, reason="bubblewrap is not usable here (CI installs it)")
LIMITS = Limits(call_seconds=2.0, submission_seconds=30.0)
MODES = [pytest.param(ISOLATION, id=ISOLATION.name), pytest.param(Isolation(), id="none")]

# Student code to reach the protocol pipe and write raw bytes to it.
CHANNEL = """
import gc, os, struct, time

def _channel():
    for o in gc.get_objects():
        if type(o).__name__ == "_Channel":
            return o

def _write_raw(data):
    view = memoryview(data)
    fd = _channel().write_fd
    while view:
        view = view[os.write(fd, view):]

def _send_raw(body):
    _write_raw(struct.pack(">I", len(body)) + body)
"""


def _sandbox(tmp_path: Path, source: str, isolation: Isolation = ISOLATION, reuse_worker: bool = False,
             name: str = "sub") -> Sandbox:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "kl.py").write_text(CHANNEL + textwrap.dedent(source))
    return Sandbox(load_submission(folder).sandbox_files(), mdp_source(), LIMITS, isolation,
                   reuse_worker=reuse_worker)


def _call(box: Sandbox, func: str, watchdog: float = 20.0) -> CallResult:
    """``box.call("kl", func)``, failing the test if the grader is still blocked after ``watchdog`` s."""
    out: list = []
    thread = threading.Thread(target=lambda: out.append(box.call("kl", func)), daemon=True)
    thread.start()
    thread.join(watchdog)
    if thread.is_alive():
        box.close()  # kills the child, which unblocks the grader's write or read
        thread.join(10)
        pytest.fail(f"the grader was blocked by {func} for more than {watchdog} s (limit {LIMITS.call_seconds} s)")
    return out[0]


@pytest.mark.parametrize("isolation", MODES)
def test_fvp_flood_without_reading_the_answers_is_a_timeout_not_a_hang(tmp_path: Path,
                                                                       isolation: Isolation) -> None:
    """Before: the grader served each fvp request with a blocking os.write into the child's stdin
    pipe; a child that never reads filled the pipe (64 KB) and the grader blocked forever.

    Sending the answers and waiting for the reply share one deadline, the call's; which of the two
    the grader is in when it expires depends on scheduling (under load, often the read), so either
    timeout message is right. What must hold is that the call ends as a timeout, not a hang."""
    source = """
        def flood():
            body = b'{"op": "fvp", "v": {"__nd__": ["<f8", [1], "AAAAAAAAAAA="]}}'
            for _ in range(100_000):
                _send_raw(body)
            time.sleep(1000)
    """
    with _sandbox(tmp_path, source, isolation) as box:
        result = _call(box, "flood")
    assert result.kind == "timeout", (result.kind, result.error)
    assert "stopped reading" in result.error or "did not finish within" in result.error, result.error


@pytest.mark.parametrize("isolation", MODES)
def test_half_a_message_then_silence_is_a_timeout_not_a_hang(tmp_path: Path, isolation: Isolation) -> None:
    """Before: once the length header arrived, the grader read the body with blocking reads and no
    deadline, so a child that sent half a reply and slept hung the grader forever."""
    source = """
        def half():
            _write_raw(struct.pack(">I", 1000) + b'{"ok": ')
            time.sleep(1000)
    """
    with _sandbox(tmp_path, source, isolation) as box:
        result = _call(box, "half")
    assert result.kind == "timeout", (result.kind, result.error)


def test_a_json_bomb_is_refused_before_it_is_decoded(tmp_path: Path) -> None:
    """Before: 60 MB of "[]," became 20 million Python lists in the grader (1.5 GB measured); now a
    message with more than MAX_ITEMS containers/items is refused unparsed, with a clear message."""
    source = f"""
        def bomb():
            _send_raw(b'{{"ok": true, "value": [' + b"[]," * {codec.MAX_ITEMS + 10} + b'[]]}}')
            time.sleep(1000)
    """
    with _sandbox(tmp_path, source) as box:
        result = _call(box, "bomb")
    assert result.kind == "crash", (result.kind, result.error)
    assert "more than the limit" in result.error


def test_deeply_nested_json_costs_the_call_not_the_check(tmp_path: Path) -> None:
    """Before: json.loads raised RecursionError (not a ValueError) out of Sandbox.call, so the runner
    reported "Autograder failed on this check (not your fault)" and flagged a grader error."""
    source = """
        def deep():
            _send_raw(b'{"ok": true, "value": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
            time.sleep(1000)
    """
    with _sandbox(tmp_path, source) as box:
        result = _call(box, "deep")
    assert result.kind == "crash", (result.kind, result.error)
    assert "nested too deeply" in result.error


def test_decode_refuses_sequences_nested_deeper_than_encode_makes() -> None:
    """Before: decode recursed without bound on a forged reply (encode refuses more than 8 levels)."""
    value: dict = {"__nd__": ["<f8", [], "AAAAAAAAAAA="]}
    for _ in range(codec.MAX_DEPTH + 5):
        value = {"__seq__": [value]}
    with pytest.raises(ValueError, match="nested too deeply"):
        codec.decode(value)
    honest = codec.encode([[1.0, [2.0, 3.0]], (4, 5)])
    assert codec.decode(honest)[1][1].item() == 5


def test_an_honest_long_python_list_still_passes() -> None:
    """The item limit leaves room for what honest code returns: 2 x 40 000 Python ints (a sampler
    that appends to lists) is about 480 000 items."""
    value = codec.encode(([1] * 40_000, [2] * 40_000))
    data = json.dumps(value).encode()
    codec.check_items(data)  # does not raise
    assert len(codec.decode(value)[0]) == 40_000


@needs_bwrap
def test_the_checkout_holding_the_grader_is_hidden_from_student_code(tmp_path: Path) -> None:
    """Before: only solutions/ was hidden; from a checkout the child read .git (whose objects hold the
    reference and the solution notebook), tests/submissions (correct submissions) and the suite."""
    checkout = _checkout_folder()
    assert checkout, "the tests run from a source checkout"
    root = checkout[0]
    folder = tmp_path / "sub"
    materialise(next(s for s in SAMPLES if s.name == "correct"), folder)
    spy = f"""

def kl_gaussian(mu1, mu2, sigma):
    import os
    try:
        listing = sorted(os.listdir({str(root)!r}))
    except FileNotFoundError:  # outside bubblewrap's allowlist: not there at all
        listing = []
    raise ValueError("LISTING=" + repr(listing))
"""
    (folder / "kl.py").write_text((folder / "kl.py").read_text() + spy)
    report = grade_submission(load_submission(folder), secret=b"review", isolation=ISOLATION)
    messages = [r.outcome.message for r in report.results if r.check.part == "kl_gaussian"]
    listing = ast.literal_eval(messages[0].rsplit("LISTING=", 1)[1].splitlines()[0])
    # Only a Python installation inside the checkout (the README's `.venv`) is bound back, read-only.
    python_inside = {Path(p).relative_to(root).parts[0] for p in _python_paths() if Path(p).is_relative_to(root)}
    assert set(listing) <= python_inside, (listing, python_inside)
    assert not {"solutions", ".git", "tests", "autograder"} & set(listing)
    score, max_score = report.part_scores()["kl_divergence"]
    assert score == pytest.approx(max_score, abs=1e-9)


@needs_bwrap
@pytest.mark.skipif(BWRAP and not _bwrap_has_size(ISOLATION.bwrap), reason="this bubblewrap has no --size")
def test_the_private_tmp_is_bounded(tmp_path: Path) -> None:
    """Before: /tmp was a tmpfs of half the machine's RAM; one call wrote 500 MB there (and could
    write gigabytes) in RAM the memory limit does not count."""
    source = """
        def fill():
            block = b"x" * (8 << 20)
            written = 0
            try:
                for i in range(64):
                    with open(f"/tmp/fill{i}", "wb") as fh:
                        fh.write(block)
                    written += len(block)
            except OSError as exc:
                raise ValueError(f"written={written} {exc.strerror}")
            raise ValueError(f"written={written}")
    """
    with _sandbox(tmp_path, source) as box:
        result = box.call("kl", "fill")
    assert result.kind == "exception", (result.kind, result.error)
    written = int(result.error.rsplit("written=", 1)[1].split()[0])
    assert written <= (256 << 20) and "No space left" in result.error


@needs_bwrap
def test_files_left_in_the_zygote_folder_do_not_reach_the_next_submission(tmp_path: Path) -> None:
    """Before: the zygote's folder (bound read-write, holding every scratch folder) kept whatever a
    submission wrote beside its own scratch folder: a channel to the next student's code."""
    close_zygotes()
    zygote = shared_zygote(ISOLATION, [], {})  # the one _sandbox's Sandbox(reuse_worker=True) uses
    assert zygote is not None
    plant = f"""
        def plant():
            root = {str(zygote.root)!r}
            try:
                open(os.path.join(root, "planted.txt"), "w").write("from a")
                os.makedirs(os.path.join(root, "locked", "inner"))
                os.chmod(os.path.join(root, "locked"), 0)
            except OSError as exc:
                raise ValueError(f"refused: {{exc.strerror}}")
            raise ValueError("planted")
    """
    look = f"""
        def look():
            raise ValueError("SEEN=" + repr(sorted(os.listdir({str(zygote.root)!r}))))
    """
    try:
        with _sandbox(tmp_path, plant, reuse_worker=True, name="a") as box:
            assert box.zygote is zygote
            error = box.call("kl", "plant").error
            assert "planted" in error or "refused" in error, error
        with _sandbox(tmp_path, look, reuse_worker=True, name="b") as box:
            seen = box.call("kl", "look").error
    finally:
        close_zygotes()
    assert "SEEN=" in seen and "planted.txt" not in seen and "locked" not in seen, seen


def test_results_still_valid_for_a_hostile_submission_graded_whole(tmp_path: Path) -> None:
    """End to end (the default isolation): the fvp flood in one part costs that part only."""
    folder = tmp_path / "sub"
    materialise(next(s for s in SAMPLES if s.name == "correct"), folder)
    flood = CHANNEL + textwrap.dedent("""
        def kl_gaussian(mu1, mu2, sigma):
            body = b'{"op": "fvp", "v": {"__nd__": ["<f8", [1], "AAAAAAAAAAA="]}}'
            for _ in range(100_000):
                _send_raw(body)
            time.sleep(1000)
    """)
    (folder / "kl.py").write_text((folder / "kl.py").read_text() + flood)
    out: list = []
    thread = threading.Thread(target=lambda: out.append(grade_submission(
        load_submission(folder), secret=b"review", limits=LIMITS)), daemon=True)
    thread.start()
    thread.join(40)
    assert not thread.is_alive(), "the grade hung"
    scores = out[0].part_scores()
    assert scores["kl_gaussian"][0] == pytest.approx(0.0, abs=1e-9)
    assert all(s == pytest.approx(m, abs=1e-9) for part, (s, m) in scores.items() if part != "kl_gaussian"), scores
    shutil.rmtree(folder)


@needs_bwrap
@pytest.mark.parametrize("reuse", [False, True], ids=["fresh", "zygote"])
def test_files_written_in_the_working_folder_never_reach_the_host_disk(tmp_path: Path, reuse: bool) -> None:
    """Before: the working folder was the host's scratch folder, bound read-write: only each file's
    size was limited, so a submission could fill the disk (and stop results.json being written)."""
    source = """
        def fill():
            block = b"x" * (4 << 20)
            for i in range(4):
                with open(f"fill{i}.bin", "wb") as fh:  # the working folder, as honest code may do
                    fh.write(block)
            raise ValueError(f"wrote in {os.getcwd()}: {sorted(n for n in os.listdir('.') if n.startswith('fill'))}")
    """
    with _sandbox(tmp_path, source, reuse_worker=reuse) as box:
        error = box.call("kl", "fill").error
        on_host = [p.name for p in box.scratch.rglob("fill*")]
    assert "fill3.bin" in error, error  # writing in the working folder still works...
    assert on_host == []  # ...in the sandbox's bounded /tmp, not on the host's disk


@needs_bwrap
def test_grade_hides_the_secret_file_from_student_code(tmp_path: Path) -> None:
    """Before: `autograder grade --secret-file S` hid the output folder but not S."""
    from autograder.grade import grade

    secret = tmp_path / "keep" / "course.secret"
    secret.parent.mkdir()
    secret.write_text("s3cr3t-value-for-the-hidden-cases\n")
    folder = tmp_path / "thief"
    folder.mkdir()
    (folder / "kl.py").write_text(textwrap.dedent(f"""
        def kl_divergence(p, q):
            try:
                text = open({str(secret)!r}).read()
            except OSError as exc:
                text = f"unreadable: {{exc.strerror}}"
            raise ValueError("SECRET=" + repr(text))
    """))
    report, results = grade(folder, secret_file=secret)
    text = json.dumps(results)
    assert "s3cr3t-value" not in text
    assert "SECRET=" in text  # the attempt ran, and saw nothing
