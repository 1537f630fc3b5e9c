"""How strongly student code is isolated: bubblewrap, another uid, or resource limits only.

``detect_isolation()`` picks the strongest mode the machine allows (SPEC.md, "Running student
code"):

* ``bwrap``: bubblewrap gives a read-only view of the filesystem with home folders, the reference
  solution, secrets and output folders hidden, a private writable scratch folder and /tmp, no
  network, and a PID namespace so nothing outlives the grade;
* ``user``: under root without namespaces (Docker on Gradescope may refuse them), the child runs as
  an unprivileged uid and every process of that uid is killed after the grade;
* ``none``: as an ordinary user with neither, grade anyway but warn.

Every mode sets resource limits (address space, CPU time, file size, core dumps). Set
``AUTOGRADER_ISOLATION`` to ``bwrap``, ``user`` or ``none`` to force a mode.
"""

from __future__ import annotations

import functools
import os
import pwd
import resource
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

NO_ISOLATION_WARNING = (
    "WARNING: no sandbox is available, so student code runs with your own permissions and can "
    "write wherever you can. Install bubblewrap (Debian/Ubuntu: sudo apt-get install bubblewrap; "
    "Fedora: sudo dnf install bubblewrap) and grade again."
)


class Isolation:
    """Resource limits only (the base for the stronger modes)."""

    name = "none"
    private_tmp = False
    warning: Optional[str] = NO_ISOLATION_WARNING

    def command(self, argv: list[str], workdir: Path, hide: Sequence[Path]) -> list[str]:
        return argv

    def preexec(self, limits: Any) -> Callable[[], None]:
        memory, cpu, fsize, nproc = limits.memory_bytes, limits.cpu_seconds, limits.file_bytes, None
        if self.limit_processes:
            nproc = limits.processes

        def apply_limits() -> None:
            _set_limit(resource.RLIMIT_AS, memory)
            _set_limit(resource.RLIMIT_CPU, cpu)
            _set_limit(resource.RLIMIT_FSIZE, fsize)
            _set_limit(resource.RLIMIT_CORE, 0)
            if nproc is not None:
                _set_limit(resource.RLIMIT_NPROC, nproc)

        return apply_limits

    limit_processes = False

    def popen_kwargs(self) -> dict:
        return {}

    def prepare_workdir(self, scratch: Path) -> None:
        os.chmod(scratch, 0o700)

    def kill_leftovers(self) -> None:
        """Kill processes the submission may have left behind (the process group is always killed)."""


def _set_limit(which: int, value: int) -> None:
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value if hard == resource.RLIM_INFINITY else hard))


class UserIsolation(Isolation):
    """Run the child as an unprivileged user (needs root)."""

    name = "user"
    warning = None
    limit_processes = True

    def __init__(self, user: str) -> None:
        entry = pwd.getpwnam(user)
        self.user = user
        self.uid = entry.pw_uid
        self.gid = entry.pw_gid
        # A dedicated user may lose all its processes; a shared one (nobody) only those started by us.
        self.dedicated = user not in ("nobody", "daemon")
        self.started = time.time()

    def popen_kwargs(self) -> dict:
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def prepare_workdir(self, scratch: Path) -> None:
        os.chmod(scratch, 0o700)
        for root, _dirs, files in os.walk(scratch):
            os.chown(root, self.uid, self.gid)
            for name in files:
                os.chown(os.path.join(root, name), self.uid, self.gid)

    def kill_leftovers(self) -> None:
        kill_user_processes(self.uid, since=None if self.dedicated else self.started)


def kill_user_processes(uid: int, since: Optional[float] = None) -> int:
    """SIGKILL every process of ``uid`` (only those started after ``since``, if given), repeatedly
    until none is left (a fork bomb keeps forking). Returns how many were killed."""
    killed = 0
    boot = _boot_time()
    ticks = os.sysconf("SC_CLK_TCK")
    for _ in range(50):
        found = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            try:
                if os.stat(f"/proc/{pid}").st_uid != uid:
                    continue
                if since is not None:
                    with open(f"/proc/{pid}/stat", "rb") as fh:
                        fields = fh.read().rsplit(b")", 1)[1].split()
                    if boot + int(fields[19]) / ticks < since - 1.0:
                        continue
                os.kill(pid, signal.SIGKILL)
                found += 1
            except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError, ValueError):
                continue
        killed += found
        if not found:
            break
        time.sleep(0.01)
    return killed


def _boot_time() -> float:
    try:
        with open("/proc/stat") as fh:
            for line in fh:
                if line.startswith("btime"):
                    return float(line.split()[1])
    except OSError:
        pass
    return 0.0


class BubblewrapIsolation(Isolation):
    """Run the child inside bubblewrap."""

    name = "bwrap"
    warning = None
    private_tmp = True

    def __init__(self, bwrap: str) -> None:
        self.bwrap = bwrap

    def command(self, argv: list[str], workdir: Path, hide: Sequence[Path]) -> list[str]:
        cmd = [
            self.bwrap,
            "--die-with-parent",
            "--new-session",
            "--unshare-all",
            "--ro-bind", "/", "/",
            "--dev", "/dev",
            "--proc", "/proc",
            "--tmpfs", "/tmp",
        ]
        # Home folders are hidden; the Python installation is put back, read-only.
        for private in ("/home", "/root", "/run", "/var/tmp", "/srv", "/mnt", "/media"):
            if os.path.isdir(private):
                cmd += ["--tmpfs", private]
        for path in _python_paths():
            cmd += ["--ro-bind", path, path]
        cmd += ["--bind", str(workdir), str(workdir)]
        for path in hide:
            path = Path(path)
            if path.is_dir():
                cmd += ["--tmpfs", str(path.resolve())]
            elif path.exists():
                cmd += ["--ro-bind", "/dev/null", str(path.resolve())]
        if os.geteuid() == 0:
            cmd += ["--cap-drop", "ALL"]
        cmd += ["--chdir", str(workdir / "work"), "--"]
        return cmd + argv


@functools.cache
def _python_paths() -> tuple[str, ...]:
    """The folders a child Python needs: the interpreter, the stdlib and site-packages."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        value = sysconfig.get_paths().get(key)
        if value:
            paths.add(value)
    existing = sorted(p for p in paths if p and os.path.isdir(p))
    # Bind the outermost folders only (a nested bind after its parent is redundant).
    outer: list[str] = []
    for p in existing:
        if not any(p == o or p.startswith(o.rstrip("/") + "/") for o in outer):
            outer.append(p)
    return tuple(outer)


@functools.cache
def _bwrap_works(bwrap: str) -> bool:
    probe = BubblewrapIsolation(bwrap)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "work").mkdir()
        cmd = probe.command([sys.executable, "-I", "-c", "import numpy"], Path(tmp), [])
        try:
            result = subprocess.run(cmd, capture_output=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return False
    return result.returncode == 0


def sandbox_user() -> Optional[str]:
    """The unprivileged user to run student code as under root, if one exists."""
    for name in (os.environ.get("AUTOGRADER_SANDBOX_USER"), "autograder-sandbox", "student", "nobody"):
        if not name:
            continue
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    return None


def detect_isolation(preferred: Optional[str] = None) -> Isolation:
    """The strongest isolation this machine supports (or ``preferred`` / $AUTOGRADER_ISOLATION)."""
    choice = preferred or os.environ.get("AUTOGRADER_ISOLATION", "auto")
    bwrap = shutil.which("bwrap")
    if choice in ("auto", "bwrap") and bwrap and _bwrap_works(bwrap):
        return BubblewrapIsolation(bwrap)
    if choice == "bwrap":
        raise RuntimeError("AUTOGRADER_ISOLATION=bwrap but bubblewrap is not installed or does not work here")
    if choice in ("auto", "user") and os.geteuid() == 0:
        user = sandbox_user()
        if user is not None:
            return UserIsolation(user)
    if choice == "user":
        raise RuntimeError("AUTOGRADER_ISOLATION=user needs root and an unprivileged user")
    return Isolation()
