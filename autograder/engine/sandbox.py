"""Run a student's functions in an isolated child process and get plain data back.

The grader never imports student code. A :class:`Sandbox` starts ``child.py`` in a scratch folder
holding the student's files and the grader's pristine provided files (the assignment's given files
and its suite's ``CHILD_FILES``), under resource limits and, as the
machine allows, inside bubblewrap (read-only filesystem, private /tmp, no network, own PID
namespace, the reference and secrets hidden) or as an unprivileged user. Each call has a wall-clock
limit; a call that times out, crashes or kills the child costs only that call: the next call starts
a fresh child. Values come back through :mod:`autograder.engine.child`'s codec and are plain
``numpy.ndarray`` / lists, never unpickled objects.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from . import child as codec
from .isolation import Isolation, child_command, detect_isolation, forget_bwrap_probe, options_through_pipe
from .zygote import ZygoteError, shared_zygote

CHILD_SCRIPT = Path(codec.__file__)


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission's child processes."""

    call_seconds: float = 10.0  # wall clock for one call (imports included)
    submission_seconds: float = 120.0  # wall clock for all calls of one submission
    memory_bytes: int = 1 << 30  # address space of the child
    cpu_seconds: int = 120  # CPU time of one child
    file_bytes: int = 16 << 20  # largest file the child may write
    processes: int = 64  # processes of the sandbox user (when running as another uid)
    output_bytes: int = 20_000  # student stdout/stderr kept for feedback


# Bounds on everything text-like taken from the child (a hostile child can send up to MAX_MESSAGE
# bytes per reply): a grade's results stay small whatever the student's code raises or sends.
MAX_NOTES = 20  # notes (e.g. failing notebook cells) kept per submission
MAX_NOTE_CHARS = 1_000  # one note
MAX_ERROR_CHARS = 4_000  # one exception text or traceback


def clip_text(text: object, limit: int) -> str:
    """``str(text)`` cut to ``limit`` characters, saying how much was cut."""
    text = text if isinstance(text, str) else str(text)
    if len(text) <= limit:
        return text
    return text[:limit] + f" [... {len(text) - limit} more characters cut]"


@dataclass
class CallResult:
    """What one call of a student function gave.

    ``kind`` is "ok", or why there is no value: "exception", "not-implemented", "missing",
    "import", "timeout", "crash", "bad-output", "budget" (the submission's time ran out).
    """

    kind: str
    value: Any = None
    error: str = ""
    seconds: float = 0.0
    fvp_calls: int = 0
    modified: tuple[str, ...] = ()  # arguments the call changed in place, as the child saw them
    # patched global -> what its object's report() returned (plain data from the child: untrusted)
    reports: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


@dataclass
class FVP:
    """Marks an argument that the child receives as a callable ``v -> F v``, served by the grader."""

    F: np.ndarray


@dataclass
class RNG:
    """Marks an argument that the child receives as ``numpy.random.default_rng(seed)``."""

    seed: int


@dataclass
class SubmissionFiles:
    """The files a child is given: ``{name: text}``; a notebook comes as its list of code cells."""

    files: dict[str, str] = field(default_factory=dict)
    notebook_cells: Optional[list[tuple[int, str]]] = None
    broken: dict[str, str] = field(default_factory=dict)  # module -> why it cannot be imported ("is missing")
    # import name -> the student's module it stands for (an accepted alias of an expected file, or back)
    aliases: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Codec:
    """How a grader-side object of ``type`` crosses to the child: as ``cls(**kwargs(obj))`` with
    ``cls`` imported from the provided ``module`` (a given file or a suite's ``CHILD_FILES`` file).

    ``kwargs`` maps the object to keyword arguments of plain data (arrays, numbers, nested lists,
    other codec objects). A suite declares its codecs in ``CODECS``.
    """

    type: type
    module: str
    cls: str
    kwargs: Callable[[Any], dict[str, Any]]


def encode_argument(value: Any, codecs: Sequence[Codec] = ()) -> Any:
    """Encode a grader-side argument for the child: arrays, numbers, nested lists and tuples of
    them, markers (``RNG``, ``FVP``), and objects of ``codecs`` as
    ``{"__obj__": {"module": m, "class": c, "kwargs": {name: encoded}}}``."""
    for c in codecs:
        if isinstance(value, c.type):
            return {"__obj__": {"module": c.module, "class": c.cls,
                                "kwargs": {k: encode_argument(v, codecs) for k, v in c.kwargs(value).items()}}}
    if isinstance(value, RNG):
        return {"__rng__": int(value.seed)}
    if isinstance(value, FVP):
        return {"__fvp__": True}
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and np.isfinite(value):
        return float(value)
    if isinstance(value, (list, tuple)):
        return {"__seq__": [encode_argument(v, codecs) for v in value]}
    return codec.encode(value)


class _OutputDrain(threading.Thread):
    """Reads the child's stdout/stderr, keeping the first ``limit`` bytes and counting the rest."""

    def __init__(self, stream: Any, limit: int) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.limit = limit
        self.kept = bytearray()
        self.total = 0
        self.stopping = threading.Event()

    def stop(self) -> None:
        """Stop once the pipe is quiet (a leftover process may hold it open forever)."""
        self.stopping.set()
        self.join(timeout=2.0)

    def run(self) -> None:
        fd = self.stream.fileno()
        try:
            while True:
                ready, _, _ = select.select([fd], [], [], 0.05)
                if not ready:
                    if self.stopping.is_set():
                        return
                    continue
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    return
                self.total += len(chunk)
                room = self.limit - len(self.kept)
                if room > 0:
                    self.kept += chunk[:room]
        except (OSError, ValueError):
            return


class Sandbox:
    """A student's code in a child process; ``call`` runs one function and returns a CallResult.

    Use as a context manager; ``close()`` kills every process the submission started.
    """

    def __init__(
        self,
        submission: SubmissionFiles,
        provided: Union[Path, Sequence[Path]] = (),
        limits: Optional[Limits] = None,
        isolation: Optional[Isolation] = None,
        hide: Sequence[Path] = (),
        reuse_worker: bool = False,
        codecs: Sequence[Codec] = (),
    ) -> None:
        """``provided``: the grader's files copied beside the student's (a student file of the same
        name is replaced; objects of their classes cross through ``codecs``). ``reuse_worker``: fork
        children from this process's pre-started worker (a zygote, see
        :mod:`autograder.engine.zygote`) where the isolation allows, instead of starting Python."""
        self.limits = limits = limits or Limits()
        self.isolation = isolation or detect_isolation()
        self.hide = [Path(p) for p in hide]
        verify_hidden = getattr(self.isolation, "verify_hidden", None)
        if verify_hidden is not None:
            verify_hidden(self.hide)  # user mode: refuse unless the sandbox user can open none of them
        self.zygote = shared_zygote(self.isolation, self.hide, _child_env(Path("/tmp"))) if reuse_worker else None
        root = str(self.zygote.root) if self.zygote is not None else None
        self.scratch = Path(tempfile.mkdtemp(prefix="npg-sandbox-", dir=root))
        self.workdir = self.scratch / "work"
        self.workdir.mkdir()
        for name, text in submission.files.items():
            (self.workdir / name).write_text(text, encoding="utf-8")
        # Files that do not compile or are missing: a sibling importing one gets a stand-in (the child's
        # _BrokenSiblings), so only the functions that really call into it fail.
        provided = [Path(provided)] if isinstance(provided, (str, Path)) else [Path(p) for p in provided]
        self.codecs = list(codecs)
        layout: dict[str, Any] = {"notebook": None, "broken": dict(submission.broken),
                                  "sandbox": self.isolation.sandbox_identity(limits),
                                  "provided": [p.stem for p in provided], "aliases": dict(submission.aliases)}
        if submission.notebook_cells is not None:
            (self.workdir / "notebook_cells.json").write_text(json.dumps(submission.notebook_cells))
            layout["notebook"] = "notebook_cells.json"
        for path in provided:
            shutil.copyfile(path, self.workdir / path.name)
        for name, target in submission.aliases.items():
            # An accepted file name: both import names are the same module, whichever the student's
            # other files import.
            if not (self.workdir / f"{name}.py").exists():
                (self.workdir / f"{name}.py").write_text(f"import sys\nimport {target}\n"
                                                         f"sys.modules[__name__] = {target}\n", encoding="utf-8")
        shutil.copyfile(CHILD_SCRIPT, self.workdir / "_grader_child.py")
        (self.workdir / "layout.json").write_text(json.dumps(layout))
        self.isolation.prepare_workdir(self.scratch)
        self.deadline = time.monotonic() + limits.submission_seconds
        self.proc: Optional[Any] = None  # a _PopenChild or a zygote's ForkedChild
        self.drain: Optional[_OutputDrain] = None
        self.output = bytearray()
        self.output_total = 0
        self.broken_modules: dict[str, CallResult] = {}
        self.imported: set[str] = set()
        self.notes: list[str] = []  # at most MAX_NOTES, each at most MAX_NOTE_CHARS
        self.awaiting_ready = False

    # -- process management ----------------------------------------------------------------------
    def _start(self) -> None:
        env = _child_env(self.workdir, self.isolation.private_tmp)
        self.proc = None
        if self.zygote is not None:
            try:
                self.proc = self.zygote.spawn(self.workdir, env, self.isolation.rlimits(self.limits))
            except ZygoteError:
                self.zygote = None  # fall back to fresh processes for the rest of this submission
        if self.proc is None:
            cmd = self.isolation.command(
                child_command(self.workdir / "_grader_child.py"),
                workdir=self.scratch,
                hide=self.hide,
            )
            cmd, fds = options_through_pipe(cmd)
            try:
                popen = subprocess.Popen(
                    cmd,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    cwd=str(self.workdir),
                    env=env,
                    start_new_session=True,
                    preexec_fn=self.isolation.preexec(self.limits),
                    pass_fds=fds,
                    **self.isolation.popen_kwargs(),
                )
            finally:
                for fd in fds:
                    os.close(fd)
            self.proc = _PopenChild(popen, self.isolation)
        # The grader never blocks on a child that stops reading: writes wait in select() with a deadline.
        os.set_blocking(self.proc.stdin.fileno(), False)
        self.drain = _OutputDrain(self.proc.stderr, max(0, self.limits.output_bytes - len(self.output)))
        self.drain.start()
        self.imported = set()
        self.awaiting_ready = True

    def start_early(self) -> None:
        """Start the child now, without waiting for it: it imports numpy while the grader prepares."""
        try:
            if self.proc is None:
                self._start()
        except (OSError, _ChildFailed):
            self._kill()  # the first call starts again and reports the problem

    def _await_ready(self) -> None:
        self.awaiting_ready = False
        ready = self._receive(min(self.limits.call_seconds * 3, self._remaining()))
        if ready is None or ready.get("op") != "ready":
            self._kill()
            forget_bwrap_probe()  # the machine changed since bubblewrap was last seen to work: probe again
            raise _ChildFailed("crash", "the sandbox could not start Python with numpy")

    def _remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _receive(self, timeout: float) -> Optional[dict]:
        """One message from the child, or None on timeout. Raises _ChildFailed if it died."""
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        end = time.monotonic() + max(0.0, timeout)
        while True:
            # Wait in short steps: a child that exits while a process it started keeps the pipe
            # open (a background fork) is noticed at once, not at the end of the time limit.
            ready, _, _ = select.select([fd], [], [], max(0.0, min(0.1, end - time.monotonic())))
            if ready:
                break
            code = self.proc.poll()
            if code is not None:
                self._kill()
                raise _ChildFailed("crash", _describe_exit(code))
            if self.proc.sandbox_tasks() > self.limits.processes:
                self._kill()
                raise _ChildFailed("crash", f"started more than {self.limits.processes} processes (a fork bomb?) "
                                            "and was stopped")
            if time.monotonic() >= end:
                return None
        try:
            # A deadline for the rest of the message too: a child that sends half a message and
            # stops would otherwise block the grader forever.
            return codec.read_message(fd, deadline=max(end, time.monotonic()) + 1.0)
        except TimeoutError:
            self._kill()
            raise _ChildFailed("timeout", "stopped in the middle of a reply and did not finish it") from None
        except (EOFError, ValueError, OSError, json.JSONDecodeError) as exc:
            code = self.proc.poll()
            if code is None:
                try:
                    code = self.proc.wait(timeout=1.0)
                except subprocess.TimeoutExpired:
                    code = None
            self._kill()
            if isinstance(exc, EOFError):
                raise _ChildFailed("crash", _describe_exit(code)) from None
            raise _ChildFailed("crash", f"the sandbox sent malformed data ({exc})") from None

    def _send(self, message: dict, deadline: float) -> None:
        """Write ``message`` to the child by ``deadline`` (time.monotonic()); a child that stops
        reading (e.g. floods fvp requests without reading the replies, filling the pipe) is stopped
        as a timeout instead of blocking the grader in write() forever."""
        assert self.proc is not None and self.proc.stdin is not None
        fd = self.proc.stdin.fileno()
        view = memoryview(codec.frame(message))
        while view:
            try:
                ready = select.select([], [fd], [], max(0.0, min(0.1, deadline - time.monotonic())))[1]
                written = os.write(fd, view) if ready else 0
            except BlockingIOError:
                written = 0
            except OSError:  # BrokenPipeError: the child is gone
                code = self.proc.poll()
                self._kill()
                raise _ChildFailed("crash", _describe_exit(code)) from None
            view = view[written:]
            if view and time.monotonic() >= deadline:
                self._kill()
                raise _ChildFailed("timeout", "stopped reading the grader's messages (is it flooding fvp "
                                              "requests without reading the answers?)")

    def _kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.kill_all()
        for stream in (proc.stdin, proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        if self.drain is not None:
            self.drain.stop()
            self._collect_output()
            self.drain = None
        if proc.stderr is not None:
            try:
                proc.stderr.close()
            except OSError:
                pass

    def _collect_output(self) -> None:
        if self.drain is not None:
            self.output += self.drain.kept
            self.output_total += self.drain.total
            self.drain.kept = bytearray()
            self.drain.total = 0

    def close(self) -> None:
        """Kill the child and every process it left; remove the scratch folder."""
        self._kill()
        if self.zygote is not None:
            try:
                self.zygote.reset()  # every process of this submission, and its /tmp, gone
            except ZygoteError:
                self.zygote.close()
        self.isolation.kill_leftovers()
        shutil.rmtree(self.scratch, ignore_errors=True)
        self.isolation.remove_leftovers()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def printed(self) -> str:
        """What the student's code printed (truncated), and how much there was."""
        text = bytes(self.output).decode("utf-8", "replace")
        total = self.output_total + (self.drain.total if self.drain else 0)
        if self.drain is not None:
            text += bytes(self.drain.kept).decode("utf-8", "replace")
        if total > len(text.encode()):
            text += f"\n[... output truncated: {total} bytes in all]"
        return text

    # -- calls ---------------------------------------------------------------------------------
    def _request(self, message: dict, timeout: float, fvp_matrix: Optional[np.ndarray]) -> tuple[dict, int]:
        if self.proc is None:
            self._start()
        if self.awaiting_ready:
            self._await_ready()
        end = time.monotonic() + timeout
        self._send(message, end)
        fvp_calls = 0
        while True:
            reply = self._receive(end - time.monotonic())
            if reply is None:
                self._kill()
                raise _ChildFailed("timeout", f"did not finish within {timeout:.3g} s")
            if reply.get("op") == "fvp":
                fvp_calls += 1
                self._send(_serve_fvp(fvp_matrix, reply.get("v")), end)
                continue
            return reply, fvp_calls

    def ensure_imported(self, module: str) -> Optional[CallResult]:
        """Import ``module`` in the child (with its own time limit); a failure is remembered."""
        if module in self.broken_modules:
            return self.broken_modules[module]
        if self.proc is not None and module in self.imported:
            return None
        timeout = min(self.limits.call_seconds, self._remaining())
        if timeout <= 0:
            return CallResult("budget", error="the time budget of this submission ran out")
        try:
            reply, _ = self._request({"op": "import", "module": module}, timeout, None)
        except _ChildFailed as exc:
            failure = CallResult(
                "import",
                error=f"importing your {module} code failed: it {exc.message}"
                + (" (does it run long code, or wait, at import time?)" if exc.kind == "timeout" else ""),
            )
            self.broken_modules[module] = failure
            return failure
        if not reply.get("ok"):
            failure = CallResult("import", error=clip_text(reply.get("error", "import failed"), MAX_ERROR_CHARS))
            self.broken_modules[module] = failure
            return failure
        self._add_notes(reply.get("notes"))
        self.imported.add(module)
        return None

    def _add_notes(self, notes: object) -> None:
        """Keep the child's notes within MAX_NOTES x MAX_NOTE_CHARS (a forged reply may hold a million)."""
        if not isinstance(notes, list):
            return
        seen = set(self.notes)
        for note in notes[:MAX_NOTES]:
            note = clip_text(note, MAX_NOTE_CHARS)
            if len(self.notes) < MAX_NOTES and note not in seen:
                seen.add(note)
                self.notes.append(note)

    def call(
        self,
        module: str,
        func: str,
        args: Sequence[Any] = (),
        kwargs: Optional[dict] = None,
        fvp_matrix: Optional[np.ndarray] = None,
        timeout: Optional[float] = None,
        seed: Optional[int] = None,
        patch: Optional[dict[str, Any]] = None,
    ) -> CallResult:
        """Call ``module.func(*args, **kwargs)`` in the child and return its plain-data result
        (``seed`` and ``patch``: see :meth:`autograder.engine.suite.Context.call`)."""
        if seed is not None and not 0 <= int(seed) < 2**32:
            raise ValueError(f"seed={seed}: numpy.random.seed needs 0 <= seed < 2**32")
        try:
            failure = self.ensure_imported(module)
            if failure is not None:
                return failure
            limit = min(timeout or self.limits.call_seconds, self._remaining())
            if limit <= 0:
                return CallResult("budget", error="the time budget of this submission ran out")
            message = {
                "op": "call",
                "module": module,
                "func": func,
                "args": [encode_argument(a, self.codecs) for a in args],
                "kwargs": {k: encode_argument(v, self.codecs) for k, v in (kwargs or {}).items()},
            }
            if seed is not None:
                message["seed"] = int(seed)
            if patch:
                message["patch"] = {str(k): encode_argument(v, self.codecs) for k, v in patch.items()}
            start = time.monotonic()
            reply, fvp_calls = self._request(message, limit, fvp_matrix)
        except _ChildFailed as exc:
            return CallResult(exc.kind, error=exc.message)
        if not reply.get("ok"):
            return CallResult(clip_text(reply.get("kind", "exception"), 40),
                              error=clip_text(reply.get("error", ""), MAX_ERROR_CHARS))
        try:
            value = codec.decode(reply.get("value"))
            raw_reports = reply.get("reports")
            reports = ({str(k)[:80]: codec.decode(v) for k, v in list(raw_reports.items())[:20]}
                       if isinstance(raw_reports, dict) else {})
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            return CallResult("bad-output", error=f"the returned value could not be read ({exc})")
        modified = reply.get("modified")
        modified = tuple(str(m)[:80] for m in modified[:20]) if isinstance(modified, list) else ()
        return CallResult("ok", value=value, seconds=time.monotonic() - start, fvp_calls=fvp_calls,
                          modified=modified, reports=reports)


def namespace_processes(bwrap_pid: int) -> int:
    """How many processes live in the PID namespace that bubblewrap process ``bwrap_pid`` created."""
    target = None
    entries = [e for e in os.listdir("/proc") if e.isdigit()]
    for entry in entries:  # bubblewrap's own child is the first process of the new namespace
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                if int(fh.read().rsplit(b")", 1)[1].split()[1]) == bwrap_pid:
                    target = os.readlink(f"/proc/{entry}/ns/pid")
                    break
        except (OSError, ValueError, IndexError):
            continue
    if target is None:
        return 0
    count = 0
    for entry in entries:
        try:
            count += os.readlink(f"/proc/{entry}/ns/pid") == target
        except OSError:
            continue
    return count


def _child_env(workdir: Path, private_tmp: bool = True) -> dict[str, str]:
    """The whole environment of a child: nothing of the grader's (no secrets) leaks into it."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(workdir),
        "TMPDIR": "/tmp" if private_tmp else str(workdir),
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(workdir / ".matplotlib"),
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONHASHSEED": "0",
    }
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # machine quirks numpy relies on
        if var in os.environ:
            env[var] = os.environ[var]
    return env


class _PopenChild:
    """A freshly started child process (the interface ForkedChild mirrors)."""

    def __init__(self, popen: subprocess.Popen, isolation: Isolation) -> None:
        self.popen = popen
        self.pid = popen.pid
        self.isolation = isolation
        self.stdin, self.stdout, self.stderr = popen.stdin, popen.stdout, popen.stderr

    def poll(self) -> Optional[int]:
        return self.popen.poll()

    def wait(self, timeout: Optional[float] = None) -> int:
        return self.popen.wait(timeout=timeout)

    def sandbox_tasks(self) -> int:
        """Processes in the child's PID namespace (bubblewrap), else 0: RLIMIT_NPROC does the job there,
        except for root, whom the kernel exempts from it."""
        return namespace_processes(self.popen.pid) if self.isolation.private_tmp else 0

    def kill_all(self) -> None:
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.popen.kill()
        except ProcessLookupError:
            pass
        self.popen.wait()
        self.isolation.kill_leftovers()


class _ChildFailed(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def _serve_fvp(F: Optional[np.ndarray], v_encoded: Any) -> dict:
    if F is None:
        return {"error": "no Fisher-vector product is available in this call"}
    try:
        v = np.asarray(codec.decode(v_encoded), dtype=float)
    except (ValueError, TypeError):
        return {"error": "fvp(v) needs a numeric vector"}
    if v.shape != (F.shape[0],):
        return {"error": f"fvp(v) needs a vector of shape ({F.shape[0]},), got {v.shape}"}
    if not np.all(np.isfinite(v)):
        return {"error": "fvp(v) got a vector with NaN or inf"}
    return {"value": codec.encode(F @ v)}


def _describe_exit(code: Optional[int]) -> str:
    if code is None:
        return "stopped responding"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hints = {
            "SIGKILL": " (killed: out of memory or CPU time?)",
            "SIGXCPU": " (CPU time limit)",
            "SIGXFSZ": " (wrote a file larger than the limit)",
            "SIGSEGV": " (crashed)",
        }
        return f"was killed by {name}{hints.get(name, '')}"
    return f"exited with status {code} (does your code call exit() or os._exit()?)"

