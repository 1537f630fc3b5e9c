"""Grade many submissions in parallel worker processes, surviving crashes and hangs.

Each worker is a fresh Python process (``python -m autograder.batch.worker``) that grades one
submission at a time exactly as ``autograder grade`` does: the engine's :func:`grade_submission`
runs the student's code in its own sandbox child. The parent hands out jobs, collects plain
results, and watches every worker: a worker that dies (a grader bug, or a signal from outside) is
replaced and its submission retried once; a worker that exceeds the outer time limit is killed and
its submission recorded as failed. One submission can therefore never stop the batch.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Callable, Optional

from ..engine.loader import Submission
from ..engine.sandbox import Limits

# Threads for the grader's own numpy in each worker: the workers are the parallelism.
_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
WATCHDOG_MARGIN_SECONDS = 60.0  # on top of Limits.submission_seconds: reference work, start-up
MAX_ATTEMPTS = 2  # a submission whose worker dies is retried once in a fresh worker


@dataclass(frozen=True)
class GradingConfig:
    """What every grade of the batch shares."""

    secret: bytes
    secret_note: Optional[str]
    suite: str
    limits: Limits
    isolation: str  # a detect_isolation() choice: "bwrap", "user" or "none"
    hide: tuple[str, ...] = ()


@dataclass
class Job:
    index: int
    submission: Submission
    identity: str
    attempts: int = 0


def summarise(report: Any) -> dict[str, Any]:
    """The numbers the gradebook and the report need from a GradeReport (plain JSON data)."""
    return {
        "score": round(report.score, 6),
        "max_score": round(report.max_score, 6),
        "parts": [[name, round(score, 6), round(max_score, 6)] for name, (score, max_score)
                  in report.part_scores().items()],
        "checks": len(report.results),
        "checks_passed": sum(r.outcome.passed for r in report.results),
        "mistakes": sorted(set(report.mistakes())),
        "seconds": round(report.seconds, 4),
        "isolation": report.isolation,
        "error": report.error,
        "import_failures": list(report.import_failures),
        "attention": list(report.submission.attention),
    }


def grade_one(submission: Submission, identity: str, config: GradingConfig, isolation: Any = None) -> dict[str, Any]:
    """Grade one submission as ``autograder grade`` does; returns ``{"results", "summary"}``."""
    from ..engine.results import gradescope_results
    from ..engine.runner import grade_submission

    report = grade_submission(
        submission, secret=config.secret, identity=identity, suite_name=config.suite, limits=config.limits,
        isolation=isolation, hide=[Path(p) for p in config.hide], reuse_worker=True,
    )
    if config.secret_note:
        report.notes.append(config.secret_note)
    return {"results": gradescope_results(report), "summary": summarise(report)}


def worker_main(fd: int) -> None:
    """A worker's loop on the connection ``fd``: first the GradingConfig, then jobs
    ``(index, submission, identity)``, each answered with ``(index, payload, error)``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C does

    def _terminate(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)  # unwinds the sandbox, which kills the student's processes

    signal.signal(signal.SIGTERM, _terminate)
    conn = Connection(fd)
    try:
        config = conn.recv()
    except (EOFError, OSError):
        return
    from ..engine.isolation import detect_isolation

    isolation = detect_isolation(config.isolation)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if message is None:
            return
        index, submission, identity = message
        try:
            reply = (index, grade_one(submission, identity, config, isolation), None)
        except Exception:
            reply = (index, None, "the grader failed on this submission:\n" + traceback.format_exc(limit=6))
        try:
            conn.send(reply)
        except (OSError, ValueError):
            return


@dataclass
class _Worker:
    process: subprocess.Popen
    conn: Connection
    job: Optional[Job] = None
    started: float = field(default=0.0)

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.process.terminate()  # SIGTERM: the worker closes its sandbox
            try:
                self.process.wait(2.0)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.conn.close()


def _start_worker(config: GradingConfig) -> _Worker:
    """A fresh worker process (``python -m autograder.batch.worker``) connected by a socket pair.

    A plain subprocess, not multiprocessing's spawn: that would re-run the caller's ``__main__``
    (a script, a notebook, stdin) in every worker.
    """
    ours, theirs = socket.socketpair()
    env = dict(os.environ)
    env.update({v: "1" for v in _THREAD_VARIABLES})
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    try:
        # cwd: ``-m`` puts the current folder first on sys.path; the TA's (a student's folder,
        # perhaps, with a numpy.py) must not be imported from, least of all as root.
        process = subprocess.Popen(
            [sys.executable, "-m", "autograder.batch.worker", str(theirs.fileno())],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, env=env, cwd=package_root,
        )
    finally:
        theirs.close()
    conn = Connection(ours.detach())
    conn.send(config)
    return _Worker(process, conn)


ResultCallback = Callable[[Job, Optional[dict], Optional[str]], None]


def run_pool(
    jobs: list[Job],
    workers: int,
    config: GradingConfig,
    on_result: ResultCallback,
    *,
    watchdog_seconds: Optional[float] = None,
    on_tick: Optional[Callable[[], None]] = None,
) -> None:
    """Grade ``jobs`` on ``workers`` processes, calling ``on_result(job, payload, error)`` for each.

    Exactly one of ``payload`` and ``error`` is None. Returns when every job has a result; on
    KeyboardInterrupt every worker is stopped (with its sandbox) and the exception propagates.
    """
    if not jobs:
        return
    watchdog = watchdog_seconds or config.limits.submission_seconds + WATCHDOG_MARGIN_SECONDS
    queue: deque[Job] = deque(jobs)
    pool: list[_Worker] = []

    def start() -> _Worker:
        return _start_worker(config)

    def failed(worker: _Worker, why: str, retry: bool) -> None:
        job = worker.job
        assert job is not None
        worker.job = None
        worker.kill()
        pool[pool.index(worker)] = start()
        if retry and job.attempts < MAX_ATTEMPTS:
            queue.appendleft(job)
        else:
            on_result(job, None, why)

    def refill() -> None:
        for worker in pool:
            if worker.job is None and queue:
                job = queue.popleft()
                job.attempts += 1
                worker.job, worker.started = job, time.monotonic()
                try:
                    worker.conn.send((job.index, job.submission, job.identity))
                except (OSError, ValueError):
                    failed(worker, "the grader's worker process could not be reached", retry=True)

    try:
        pool.extend(start() for _ in range(max(1, min(workers, len(jobs)))))
        while True:
            refill()
            busy = [w for w in pool if w.job is not None]
            if not busy:
                return
            wait([w.conn for w in busy], timeout=0.5)  # a result, or EOF from a dead worker
            finished = []
            for worker in busy:
                if worker.conn.poll():
                    try:
                        index, payload, error = worker.conn.recv()
                    except (EOFError, OSError):
                        failed(worker, _death(worker), retry=True)
                        continue
                    job, worker.job = worker.job, None
                    assert job is not None and job.index == index
                    finished.append((job, payload, error))
                elif not worker.alive():
                    failed(worker, _death(worker), retry=True)
                elif time.monotonic() - worker.started > watchdog:
                    failed(worker, f"grading took longer than {watchdog:.0f} s and was stopped", retry=False)
            refill()  # idle workers get their next job before the results are written
            for job, payload, error in finished:
                on_result(job, payload, error)
            if on_tick is not None:
                on_tick()
    finally:
        for worker in pool:
            try:
                if worker.job is None and worker.alive():
                    worker.conn.send(None)
            except (OSError, ValueError):
                pass
        for worker in pool:
            if worker.job is None:
                try:
                    worker.process.wait(1.0)
                except subprocess.TimeoutExpired:
                    pass
            worker.kill()


def _death(worker: _Worker) -> str:
    try:
        code = worker.process.wait(1.0)
    except subprocess.TimeoutExpired:
        code = None
    if code is not None and code < 0:
        try:
            how = f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"was killed by signal {-code}"
    else:
        how = f"exited with status {code}"
    return f"the grader's worker process {how} while grading this submission (twice)"
