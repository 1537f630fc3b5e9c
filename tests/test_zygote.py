"""The pre-started worker (zygote): as safe as a fresh sandboxed process, and faster.

Each test grades hostile code twice in a row through the same zygote and checks that nothing of
the first submission (processes, /tmp files, the zygote's own descriptors or memory) is reachable
from the second.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from autograder.engine.isolation import BubblewrapIsolation, detect_isolation
from autograder.engine.loader import load_submission
from autograder.engine.runner import mdp_source
from autograder.engine.sandbox import Limits, Sandbox
from autograder.engine.zygote import close_zygotes, shared_zygote

ISOLATION = detect_isolation()
pytestmark = pytest.mark.skipif(
    not isinstance(ISOLATION, BubblewrapIsolation),
    reason="the zygote is used only inside bubblewrap (CI installs it)",
)
LIMITS = Limits(call_seconds=3.0, submission_seconds=30.0)


def _sandbox(tmp_path: Path, name: str, source: str) -> Sandbox:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "kl.py").write_text(textwrap.dedent(source))
    submission = load_submission(folder)
    return Sandbox(submission.sandbox_files(), mdp_source(), LIMITS, ISOLATION, reuse_worker=True)


def _value(box: Sandbox, func: str) -> str:
    result = box.call("kl", func)
    assert result.kind == "exception", (result.kind, result.error)
    return result.error.splitlines()[-1]


@pytest.fixture(autouse=True)
def _fresh_zygotes():
    close_zygotes()
    yield
    close_zygotes()


def test_children_come_from_one_zygote_and_start_faster(tmp_path: Path) -> None:
    source = """
        import os
        def pid():
            raise ValueError(f"ppid={os.getppid()}")
    """
    with _sandbox(tmp_path, "a", source) as box:
        assert box.zygote is not None
        first = _value(box, "pid")
        zygote = box.zygote
    with _sandbox(tmp_path, "b", source) as box:
        assert box.zygote is zygote, "the second submission must reuse the pre-started worker"
        second = _value(box, "pid")
    assert first == second, "both children are forked by the same zygote"


def test_leftover_processes_and_tmp_files_do_not_reach_the_next_submission(tmp_path: Path) -> None:
    hostile = """
        import os, time
        open("/tmp/planted.txt", "w").write("from submission a")
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                while True:
                    time.sleep(0.05)
            os._exit(0)
        def look():
            raise ValueError("ok")
    """
    spy = """
        import os
        def look():
            pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
            raise ValueError(f"pids={len(pids)} tmp={sorted(os.listdir('/tmp'))}")
    """
    with _sandbox(tmp_path, "a", hostile) as box:
        assert _value(box, "look") == "ValueError: ok"
    with _sandbox(tmp_path, "b", spy) as box:
        seen = _value(box, "look")
    # init, the zygote and the spy itself: the daemon of submission a is gone, and so is its file
    assert "pids=3 " in seen, seen
    assert "planted.txt" not in seen, seen


def test_student_cannot_reach_the_zygote(tmp_path: Path) -> None:
    spy = """
        import os
        def fds():
            raise ValueError("fds=" + ",".join(sorted(os.listdir("/proc/self/fd"))))
        def zygote_memory():
            zygote = os.getppid()
            for name in ("environ", "mem", "fd/0", "fd/3"):
                target = f"/proc/{zygote}/{name}"
                try:
                    os.readlink(target) if name.startswith("fd") else open(target, "rb").read(16)
                except (PermissionError, FileNotFoundError):
                    continue
                try:
                    open(target, "rb").close()
                except (PermissionError, FileNotFoundError, OSError):
                    continue
                raise ValueError(f"read {name}")
            raise ValueError("denied")
    """
    with _sandbox(tmp_path, "a", spy) as box:
        fds = _value(box, "fds").split("=", 1)[1].split(",")
        denied = _value(box, "zygote_memory")
    # 0-2 are the child's channel and output; the rest are the child's own (dups, the listing)
    assert len(fds) <= 8, fds
    assert denied == "ValueError: denied", denied


def test_a_killed_zygote_is_replaced(tmp_path: Path) -> None:
    killer = """
        import os, signal
        def kill_parent():
            os.kill(os.getppid(), signal.SIGKILL)
            raise ValueError("after")
    """
    with _sandbox(tmp_path, "a", killer) as box:
        result = box.call("kl", "kill_parent")
        assert not result.ok
    zygote = shared_zygote(ISOLATION, [], {})
    assert zygote is not None and zygote.alive
    with _sandbox(tmp_path, "b", "def f():\n    raise ValueError('fine')\n") as box:
        assert _value(box, "f") == "ValueError: fine"


def test_zygote_grades_equal_fresh_grades(tmp_path: Path) -> None:
    from autograder.demo.samples import SAMPLES, materialise
    from autograder.engine.runner import grade_submission

    for sample in SAMPLES[:3]:
        path = materialise(sample, tmp_path / sample.name)
        submission = load_submission(path)
        fresh = grade_submission(submission, secret=b"zygote-test", isolation=ISOLATION, reuse_worker=False)
        reused = grade_submission(submission, secret=b"zygote-test", isolation=ISOLATION, reuse_worker=True)
        assert [r.outcome.passed for r in fresh.results] == [r.outcome.passed for r in reused.results]
        assert abs(fresh.score - reused.score) < 1e-9
        shutil.rmtree(path if path.is_dir() else path.parent)


@pytest.mark.parametrize("reuse", [False, True], ids=["fresh", "zygote"])
def test_a_fork_bomb_is_stopped_quickly(tmp_path: Path, reuse: bool) -> None:
    """Root is exempt from RLIMIT_NPROC, so the sandbox also counts its PID namespace's processes."""
    bomb = """
        import os, time
        def bomb():
            children = 0
            for _ in range(1000):  # bounded, so a failing guard cannot take the machine down
                if os.fork() == 0:
                    time.sleep(5)
                    os._exit(0)
                children += 1
            raise ValueError(f"forked {children} processes")
    """
    folder = tmp_path / "bomb"
    folder.mkdir()
    (folder / "kl.py").write_text(textwrap.dedent(bomb))
    files = load_submission(folder).sandbox_files()
    with Sandbox(files, mdp_source(), Limits(call_seconds=5.0, processes=64), ISOLATION, reuse_worker=reuse) as box:
        # Stopped by the namespace count (a crash), or by RLIMIT_NPROC, which applies since student
        # code runs as an unprivileged uid (fork fails: an exception); never 1000 processes.
        for _ in range(2):  # the next call gets a fresh child, and is stopped again
            result = box.call("kl", "bomb")
            assert (result.kind == "crash" and "fork bomb" in result.error) or (
                result.kind == "exception" and "Resource temporarily unavailable" in result.error), result


def test_reset_wipes_around_mount_points_without_entering_them(tmp_path: Path) -> None:
    """The worker's reset empties its /tmp but leaves what bubblewrap mounted there (a virtualenv under
    /tmp, bound read-only) and the folders above it; a student's files beside either are removed.
    Here the mount point is simulated by naming a folder in ``mounts``."""
    from autograder.engine.child import _mount_points, _wipe

    assert "/" in _mount_points()  # read from /proc/self/mountinfo
    kept = tmp_path / "tmp.X" / "venv"
    (kept / "lib").mkdir(parents=True)
    (kept / "lib" / "numpy.py").write_text("# the Python installation\n")
    (tmp_path / "tmp.X" / "planted.txt").write_text("beside the installation")
    (tmp_path / "tmp.X" / "hidden" / "deeper").mkdir(parents=True)
    (tmp_path / "tmp.X" / "hidden").chmod(0)
    (tmp_path / "planted.txt").write_text("in /tmp")
    (tmp_path / "zygote.py").write_text("# the worker's own script\n")
    _wipe(str(tmp_path), keep=str(tmp_path / "zygote.py"), mounts={str(kept)})
    remaining = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert remaining == ["tmp.X", "tmp.X/venv", "tmp.X/venv/lib", "tmp.X/venv/lib/numpy.py", "zygote.py"]
