"""A pre-started sandbox worker: Python with numpy already imported, forking a child per submission.

Starting a sandboxed Python and importing numpy costs about 0.1 s of CPU per submission, a
quarter of a grade; a batch pays it hundreds of times. A :class:`Zygote` is started once per
grader process inside its own bubblewrap sandbox (read-only filesystem, reference and secrets
hidden, private /tmp, no network, own PID namespace, no capabilities). It imports numpy and
nothing else, makes itself undumpable (student processes of the same uid can neither ptrace it nor
read its /proc files), and forks one child per submission. The child closes every descriptor of
the zygote's, sets its resource limits and serves the grader exactly like a fresh child.

After each submission ``reset()`` kills every other process in the sandbox's PID namespace and
wipes its /tmp, /dev/shm and SysV and POSIX IPC, and the grader removes the submission's scratch
folder, so the next submission starts as clean as in a fresh sandbox. Under root the zygote stays
root while each child gives its submission its own IPC and mount namespaces and runs it as an
unprivileged uid (``child._isolate_submission``): it can neither signal the zygote nor leave
anything behind. Only the bubblewrap mode uses a zygote: without a PID
namespace leftover processes could not be found reliably, so the other modes keep fresh processes.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional, Sequence

from . import child as codec
from .isolation import BubblewrapIsolation, Isolation, child_command, options_through_pipe

CHILD_SCRIPT = Path(codec.__file__)


class ZygoteError(Exception):
    """The zygote did not answer; the caller falls back to a fresh process."""


class Zygote:
    """One pre-started worker in its own bubblewrap sandbox (see the module docstring)."""

    def __init__(self, isolation: BubblewrapIsolation, hide: Sequence[Path], env: dict[str, str]) -> None:
        self.hide = tuple(Path(p) for p in hide)
        self.root = Path(tempfile.mkdtemp(prefix="npg-zygote-"))
        os.chmod(self.root, 0o700)
        script = self.root / "_grader_zygote.py"
        shutil.copyfile(CHILD_SCRIPT, script)
        cmd = isolation.command(child_command(script, "--zygote"), workdir=self.root, hide=self.hide,
                                chdir=self.root)
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.lock = threading.Lock()
        cmd, fds = options_through_pipe(cmd)
        try:
            self.proc = subprocess.Popen(cmd, stdin=child.fileno(), stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, env=env, start_new_session=True, pass_fds=fds)
        finally:
            child.close()
            for fd in fds:
                os.close(fd)
        self.sock = parent
        self.sock.settimeout(30.0)
        try:
            ready = self._receive()
        except ZygoteError:
            self.close()
            raise
        if ready.get("op") != "ready":
            self.close()
            raise ZygoteError("the pre-started worker did not start")
        self.sock.settimeout(10.0)

    def _receive(self) -> dict:
        try:
            data = self.sock.recv(1 << 16)
        except OSError as exc:
            raise ZygoteError(f"the pre-started worker did not answer ({exc})") from None
        if not data:
            raise ZygoteError("the pre-started worker stopped")
        return json.loads(data)

    def _ask(self, message: dict, fds: Sequence[int] = ()) -> dict:
        with self.lock:
            try:
                if fds:
                    socket.send_fds(self.sock, [json.dumps(message).encode()], list(fds))
                else:
                    self.sock.send(json.dumps(message).encode())
            except OSError as exc:
                raise ZygoteError(f"the pre-started worker is gone ({exc})") from None
            return self._receive()

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def spawn(self, workdir: Path, env: dict[str, str], limits: dict[str, int]) -> ForkedChild:
        """Fork a child serving the submission in ``workdir`` (which must be under ``self.root``)."""
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        output_r, output_w = os.pipe()
        try:
            reply = self._ask({"op": "spawn", "workdir": str(workdir), "env": env, "limits": limits},
                              [to_child_r, from_child_w, output_w])
        except ZygoteError:
            for fd in (to_child_w, from_child_r, output_r):
                os.close(fd)
            raise
        finally:
            for fd in (to_child_r, from_child_w, output_w):
                os.close(fd)
        if "pid" not in reply:
            for fd in (to_child_w, from_child_r, output_r):
                os.close(fd)
            raise ZygoteError(str(reply.get("error", "spawn failed")))
        return ForkedChild(self, int(reply["pid"]), os.fdopen(to_child_w, "wb", buffering=0),
                           os.fdopen(from_child_r, "rb", buffering=0), os.fdopen(output_r, "rb", buffering=0))

    def reset(self) -> None:
        """Kill every process in the sandbox but the zygote and wipe its /tmp."""
        self._ask({"op": "reset"})

    def close(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, AttributeError):
            pass
        if hasattr(self, "proc"):
            self.proc.kill()
            self.proc.wait()
        if hasattr(self, "sock"):
            self.sock.close()
        shutil.rmtree(self.root, ignore_errors=True)


class ForkedChild:
    """A child forked by a zygote, with the interface the sandbox uses for a subprocess.Popen."""

    def __init__(self, zygote: Zygote, pid: int, stdin, stdout, stderr) -> None:  # noqa: ANN001
        self.zygote = zygote
        self.pid = pid  # in the zygote's PID namespace: never signal it from here
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr

    def poll(self) -> Optional[int]:
        try:
            return self.zygote._ask({"op": "status", "pid": self.pid}).get("code")
        except ZygoteError:
            return None

    def wait(self, timeout: Optional[float] = None) -> int:
        end = time.monotonic() + (timeout if timeout is not None else 1e9)
        while True:
            code = self.poll()
            if code is not None:
                return code
            if time.monotonic() > end or not self.zygote.alive:
                raise subprocess.TimeoutExpired("forked child", timeout or 0.0)
            time.sleep(0.005)

    def sandbox_tasks(self) -> int:
        """Processes in the zygote's PID namespace, less init and the zygote."""
        from .sandbox import namespace_processes

        return max(0, namespace_processes(self.zygote.proc.pid) - 2)

    def kill_all(self) -> None:
        try:
            self.zygote._ask({"op": "kill", "pid": self.pid})
        except ZygoteError:
            self.zygote.close()  # it cannot be trusted to clean up: the next grade starts a new one


_ZYGOTES: dict[tuple, Zygote] = {}


def shared_zygote(isolation: Isolation, hide: Sequence[Path], env: dict[str, str]) -> Optional[Zygote]:
    """This process's zygote for ``hide`` (started on first use), or None where zygotes don't apply
    (not bubblewrap, or ``AUTOGRADER_ZYGOTE=0``) or it cannot start."""
    if not isinstance(isolation, BubblewrapIsolation) or os.environ.get("AUTOGRADER_ZYGOTE", "1") == "0":
        return None
    key = (isolation.bwrap, tuple(sorted(str(Path(p).resolve()) for p in hide)))
    zygote = _ZYGOTES.get(key)
    if zygote is not None and zygote.alive:
        return zygote
    if zygote is not None:
        zygote.close()
    try:
        zygote = Zygote(isolation, hide, env)
    except (ZygoteError, OSError):
        _ZYGOTES.pop(key, None)
        return None
    _ZYGOTES[key] = zygote
    return zygote


@atexit.register
def close_zygotes() -> None:
    """Stop every zygote of this process (also run at exit)."""
    while _ZYGOTES:
        _, zygote = _ZYGOTES.popitem()
        zygote.close()
