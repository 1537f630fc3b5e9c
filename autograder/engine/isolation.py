"""How strongly student code is isolated: bubblewrap, another uid, or resource limits only.

``detect_isolation()`` picks the strongest mode the machine allows (docs/conventions.md,
"Security model: terms"):

* ``bwrap``: bubblewrap shows an allowlist, read-only (system folders, the Python installation,
  the work folder), a private sized /tmp and /dev/shm, no network, and PID and IPC namespaces so
  nothing outlives the grade; under root the child runs student code as an unprivileged uid;
* ``user``: under root without namespaces (Docker on Gradescope may refuse them), the child runs as
  an unprivileged uid, after the grader proved that this uid can open none of the hidden paths;
  every process of that uid is killed after the grade and its files and IPC objects removed;
* ``none``: as an ordinary user with neither, grade anyway but warn.

Every mode sets resource limits (address space, CPU time, file size, open files, core dumps). Set
``AUTOGRADER_ISOLATION`` to ``bwrap``, ``user`` or ``none`` to force a mode. Whether bubblewrap
works is probed once and a success cached under ``~/.cache/npg-autograder`` (see ``_bwrap_works``).
"""

from __future__ import annotations

import functools
import json
import os
import pwd
import resource
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from ..errors import UserError

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

    def command(self, argv: list[str], workdir: Path, hide: Sequence[Path], chdir: Optional[Path] = None) -> list[str]:
        return argv

    def rlimits(self, limits: Any) -> dict[str, int]:
        """The resource limits of a child, by ``resource`` constant name."""
        values = {
            "RLIMIT_AS": limits.memory_bytes,
            "RLIMIT_CPU": limits.cpu_seconds,
            "RLIMIT_FSIZE": limits.file_bytes,
            "RLIMIT_CORE": 0,
            # Memory held in files outside the address space (memfd, open deleted files) is at most
            # OPEN_FILES x file_bytes: each file is bounded by RLIMIT_FSIZE, their number by this.
            "RLIMIT_NOFILE": OPEN_FILES,
        }
        # RLIMIT_NPROC counts every task (process or thread) of the child's uid. Sharing the grader's uid,
        # the child may have what the whole machine runs now plus limits.processes: a bound the uid's own
        # count cannot exceed, so a fork bomb fails with EAGAIN instead of filling the machine.
        values["RLIMIT_NPROC"] = limits.processes + (0 if self.limit_processes else machine_tasks())
        return values

    def preexec(self, limits: Any) -> Callable[[], None]:
        values = [(getattr(resource, name), value) for name, value in self.rlimits(limits).items()]

        def apply_limits() -> None:
            for which, value in values:
                _set_limit(which, value)
            try:
                with open("/proc/self/oom_score_adj", "w") as fh:
                    fh.write("1000")  # under memory pressure the kernel kills student code first
            except OSError:
                pass

        return apply_limits

    limit_processes = False  # True: the child has a uid of its own, so limits.processes is its whole budget

    def popen_kwargs(self) -> dict:
        return {}

    def sandbox_identity(self, limits: Any) -> Optional[dict[str, Any]]:
        """What the child needs to switch to an unprivileged uid itself (bubblewrap under root), or None."""
        return None

    def prepare_workdir(self, scratch: Path) -> None:
        os.chmod(scratch, 0o700)

    def kill_leftovers(self) -> None:
        """Kill processes the submission may have left behind (the process group is always killed)."""

    def remove_leftovers(self) -> None:
        """After a grade (processes killed, scratch folder removed): remove what the submission left
        in shared folders and SysV IPC, where this mode can tell what is the submission's."""


# Open files of a child (Python, numpy and the protocol need about 20).
OPEN_FILES = 64


def _set_limit(which: int, value: int) -> None:
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value if hard == resource.RLIM_INFINITY else hard))


class UserIsolation(Isolation):
    """Run the child as an unprivileged user (needs root).

    Nothing but file permissions hides anything from that user, so before the first child
    ``verify_hidden`` proves, as that user, that no path it must not see can be opened (and refuses
    to grade otherwise); after each grade ``remove_leftovers`` removes the user's files in /tmp,
    /var/tmp and /dev/shm and its SysV IPC objects (a dedicated user only).
    """

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
        self.verified: set[tuple[str, ...]] = set()

    def verify_hidden(self, paths: Sequence[Path]) -> None:
        """Raise UserError unless the sandbox user can open none of ``paths`` (checked as that user,
        once per set of paths): the grader refuses to run student code that could read them."""
        wanted = tuple(sorted({os.path.abspath(p) for p in paths if os.path.lexists(p)}))
        if wanted in self.verified:
            return
        # A folder counts as seen if it can be listed or entered (then any name in it can be opened).
        probe = ("import os, sys\n"
                 "for path in sys.argv[1:]:\n"
                 "    try:\n"
                 "        if os.path.isdir(path):\n"
                 "            try:\n"
                 "                os.listdir(path)\n"
                 "            except PermissionError:\n"
                 "                os.stat(os.path.join(path, '.npg-probe'))\n"
                 "        else:\n"
                 "            os.close(os.open(path, os.O_RDONLY))\n"
                 "        print(path)\n"
                 "    except FileNotFoundError:\n"
                 "        print(path)\n"
                 "    except OSError:\n"
                 "        pass\n")
        try:
            done = subprocess.run([sys.executable, "-I", "-S", "-c", probe, *wanted], capture_output=True,
                                  text=True, timeout=60, cwd="/", **self.popen_kwargs())
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RuntimeError(f"could not check what the sandbox user {self.user} can read ({exc})") from None
        readable = [line for line in done.stdout.splitlines() if line]
        if done.returncode != 0 or readable:
            what = ", ".join(readable) or done.stderr.strip()[-300:]
            raise UserError(
                f"refusing to run student code as {self.user}: it could read {what}. Make these root-only "
                f"(chmod 700 on the folders, 600 on the files), or install bubblewrap, and grade again")
        self.verified.add(wanted)

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

    def remove_leftovers(self) -> None:
        # A shared user (nobody) loses only what appeared since this grader started.
        remove_user_leftovers(self.uid, since=None if self.dedicated else self.started)


# Where a user without a home can leave files that outlive its processes.
SHARED_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm", "/dev/mqueue")


def remove_user_leftovers(uid: int, since: Optional[float] = None) -> int:
    """Remove what ``uid`` left in SHARED_FOLDERS (its own entries, never following links; only
    those changed after ``since``, if given) and, without ``since``, its SysV shared memory
    segments, message queues and semaphores. Returns how many were removed."""
    removed = 0
    for folder in SHARED_FOLDERS:
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for name in entries:
            path = os.path.join(folder, name)
            try:
                info = os.lstat(path)
                if info.st_uid != uid or (since is not None and info.st_ctime < since - 1.0):
                    continue
                if stat.S_ISDIR(info.st_mode):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.unlink(path)
                removed += 1
            except OSError:
                continue
    return removed + (_remove_sysv_objects(uid) if since is None else 0)


def _remove_sysv_objects(uid: int) -> int:
    """IPC_RMID on every SysV object owned by ``uid`` (read from /proc/sysvipc)."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return 0
    removed = 0
    # file, column of the id, column of the owner's uid, how to remove one (IPC_RMID = 0)
    kinds = (("shm", 1, 7, lambda i: libc.shmctl(i, 0, None)),
             ("msg", 1, 7, lambda i: libc.msgctl(i, 0, None)),
             ("sem", 1, 4, lambda i: libc.semctl(i, 0, 0)))
    for name, id_column, uid_column, remove in kinds:
        try:
            with open(f"/proc/sysvipc/{name}", encoding="ascii") as fh:
                rows = [line.split() for line in fh.readlines()[1:]]
        except OSError:
            continue
        for row in rows:
            try:
                if int(row[uid_column]) == uid and remove(int(row[id_column])) == 0:
                    removed += 1
            except (IndexError, ValueError):
                continue
    return removed


def _started_with(argv: list[str]) -> bool:
    """Whether this process was started with the arguments ``argv`` (its real command line ends
    with them): true for the ``autograder`` console script and ``python -m autograder``."""
    try:
        with open("/proc/self/cmdline", "rb") as fh:
            started = [a.decode(errors="surrogateescape") for a in fh.read().split(b"\0")[:-1]]
    except OSError:
        return False
    return len(started) > len(argv) and started[-len(argv):] == list(argv)


def child_command(script: Path, *options: str) -> list[str]:
    """The command starting ``child.py`` (as ``script``): isolated (-I), without site (-S: no .pth
    file of site-packages runs, such as an editable install's path hook to the reference), the
    folders of site-packages given as ``--path=`` options for the child to add itself."""
    import site

    paths = [p for p in site.getsitepackages() if os.path.isdir(p)]
    return [sys.executable, "-I", "-S", "-B", str(script), *options, *(f"--path={p}" for p in paths)]


def private_command_line(argv: list[str]) -> list[str]:
    """The command line ``argv``, kept out of /proc/PID/cmdline under root.

    /proc/PID/cmdline is readable by every user, so a student process running as another uid could
    read the grader's arguments (the class folder, the output folder). Under root this process is
    executed again (``python -I``, importing this same package), its arguments passed through an
    inherited pipe, and the new process reads them back (``AUTOGRADER_ARGV_FD``). Elsewhere
    ``argv`` is returned.
    """
    fd = os.environ.pop("AUTOGRADER_ARGV_FD", None)
    if fd is not None:
        with os.fdopen(int(fd), "rb") as fh:
            return list(json.loads(fh.read().decode()))
    if not argv or os.geteuid() != 0 or os.environ.get("AUTOGRADER_PRIVATE_ARGV", "1") == "0":
        return argv
    program = sys.argv[0] if sys.argv else ""
    ours = os.path.basename(program) == "autograder" or program.endswith(os.path.join("autograder", "__main__.py"))
    if not ours or not _started_with(argv):
        return argv  # called from Python (tests, a notebook): never replace that process
    data = json.dumps(argv).encode()
    read_end, write_end = os.pipe()
    if len(data) > 60_000:  # more than a pipe holds before a reader comes: keep the arguments visible
        os.close(read_end)
        os.close(write_end)
        return argv
    os.write(write_end, data)
    os.close(write_end)
    os.set_inheritable(read_end, True)
    os.environ["AUTOGRADER_ARGV_FD"] = str(read_end)
    sys.stdout.flush()
    sys.stderr.flush()
    # -I: the current folder (a student's, perhaps) is not searched for an ``autograder`` package;
    # this process's own package is imported from where it was found.
    package_root = str(Path(__file__).resolve().parents[2])
    code = "import sys; sys.path.insert(0, sys.argv[1]); from autograder.cli import main; sys.exit(main())"
    os.execv(sys.executable, [sys.executable, "-I", "-c", code, package_root])
    return argv  # not reached


def machine_tasks() -> int:
    """How many tasks (processes and threads) the machine runs now (/proc/loadavg), 4096 if unknown."""
    try:
        with open("/proc/loadavg", encoding="ascii") as fh:
            return int(fh.read().split()[3].split("/")[1])
    except (OSError, IndexError, ValueError):
        return 4096


def kill_user_processes(uid: int, since: Optional[float] = None) -> int:
    """SIGKILL every process of ``uid`` (only those started after ``since``, if given), repeatedly
    until none is left (a fork bomb keeps forking). Returns how many were killed."""
    if since is None and os.geteuid() == 0 and uid != 0:
        _kill_all_as(uid)  # one atomic sweep: a process that keeps forking cannot outrun it
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


def _kill_all_as(uid: int) -> None:
    """kill(-1, SIGKILL) from a process of ``uid``: the kernel signals every process of that uid
    in one pass over its task list (the /proc scan that follows finds stragglers)."""
    pid = os.fork()
    if pid == 0:  # only system calls until _exit: safe in a process with threads
        try:
            os.setresuid(uid, uid, uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


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
    """Run the child inside bubblewrap.

    The child sees an allowlist, read-only: the system folders Python and numpy need
    (``SYSTEM_FOLDERS``, a few files of /etc), the Python installation (``_python_paths``) and its
    work folder; not the whole filesystem. Under root it runs without a user namespace and keeps
    only ``ROOT_CAPABILITIES``, which ``child.py`` uses to give the submission its own IPC and mount
    namespaces with size-limited /tmp and /dev/shm, and then drops for good by switching to the
    unprivileged ``uid`` (see ``sandbox_identity``): root-only files stay unreadable to student code.
    """

    name = "bwrap"
    warning = None
    private_tmp = True

    def __init__(self, bwrap: str) -> None:
        self.bwrap = bwrap

    def command(self, argv: list[str], workdir: Path, hide: Sequence[Path], chdir: Optional[Path] = None) -> list[str]:
        root = os.geteuid() == 0
        cmd = [self.bwrap, "--die-with-parent", "--new-session"]
        if root:
            # No user namespace: a namespace's root would still own root's files. The child switches
            # to an unprivileged uid itself, with the capabilities below, before any student code.
            cmd += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        else:
            cmd += ["--unshare-all"]
        for folder in SYSTEM_FOLDERS:
            if os.path.islink(folder):
                cmd += ["--symlink", os.readlink(folder), folder]
            elif os.path.isdir(folder):
                cmd += ["--ro-bind", folder, folder]
        for name in SYSTEM_FILES:
            cmd += ["--ro-bind-try", name, name]
        cmd += ["--dev", "/dev", "--proc", "/proc"]
        # /tmp and /dev/shm are RAM: without a size a student could fill half the machine's memory.
        # (Under root the child mounts its own, sized, whatever bubblewrap's version.)
        sized = ["--size", str(TMP_BYTES)] if _bwrap_has_size(self.bwrap) else []
        cmd += sized + ["--tmpfs", "/tmp"]
        cmd += (["--size", str(SHM_BYTES)] if sized else []) + ["--tmpfs", "/dev/shm"]
        # The sandbox's POSIX message queues, listed (so the pre-started worker can remove them).
        cmd += (["--mqueue", "/dev/mqueue"] if _bwrap_has_option(self.bwrap, "--mqueue") else [])
        cmd += ["--remount-ro", "/dev"]
        python = _python_paths()
        made: set[str] = {"/", "/tmp", *SYSTEM_FOLDERS}
        for path in python:
            cmd += self._parents(path, made) + ["--ro-bind", path, path]
        # Hidden folders become empty read-only tmpfs (outermost ones only: one inside another is
        # hidden already), hidden files /dev/null; the Python installation, if inside one, is put back.
        # Only what lies inside a bound folder needs hiding: anything else is not there at all (and
        # hiding it would create its name in the sandbox).
        bound = [*SYSTEM_FOLDERS, *python, str(workdir)]
        folders = sorted({str(Path(p).resolve()) for p in hide if Path(p).is_dir()}, key=len)
        hidden: list[str] = []
        for folder in folders:
            if _inside(folder, bound) and not _inside(folder, hidden):
                hidden.append(folder)
                cmd += ["--tmpfs", folder]
        for path in hide:
            real = str(Path(path).resolve())
            if Path(real).is_file() and _inside(real, bound) and not _inside(real, hidden):
                cmd += ["--ro-bind", "/dev/null", real]
        for path in python:
            if _inside(path, hidden):
                cmd += ["--ro-bind", path, path]
        for folder in hidden:  # not a place to leave files for the next submission
            cmd += ["--remount-ro", folder]
        # Read-only: the child works in a copy in /tmp (bounded), so nothing it writes reaches the disk.
        cmd += ["--ro-bind", str(workdir), str(workdir)]
        if root:
            cmd += ["--cap-drop", "ALL"]
            for cap in ROOT_CAPABILITIES:
                cmd += ["--cap-add", cap]
        cmd += ["--chdir", str(chdir or workdir / "work"), "--"]
        return cmd + argv

    def _parents(self, path: str, made: set[str]) -> list[str]:
        """Options creating the folders above ``path`` traversable (0755): bubblewrap would copy the
        host's modes (/root is 0700), and the unprivileged child could not reach Python there."""
        perms = ["--perms", "0755"] if _bwrap_has_option(self.bwrap, "--perms") else []
        options: list[str] = []
        parents = [str(parent) for parent in reversed(Path(path).parents)]
        for parent in parents:
            if parent in made or any(parent.startswith(f.rstrip("/") + "/") for f in SYSTEM_FOLDERS):
                continue
            made.add(parent)
            options += perms + ["--dir", parent]
        return options

    def sandbox_identity(self, limits: Any) -> Optional[dict[str, Any]]:
        """What ``child.py`` needs to isolate a submission under root (None otherwise): the uid and
        gid to become, and the sizes of its private /tmp and /dev/shm and of its SysV IPC."""
        if os.geteuid() != 0:
            return None
        uid, gid = unprivileged_ids()
        return {"uid": uid, "gid": gid, "tmp_bytes": TMP_BYTES, "shm_bytes": SHM_BYTES,
                "sysv_bytes": SYSV_BYTES, "keep": [p for p in _python_paths() if p.startswith("/tmp/")]}


# What the child sees of the system, read-only (besides the Python installation and its work folder).
SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc/alternatives",
                  "/etc/fonts", "/etc/ld.so.conf.d")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime", "/etc/passwd", "/etc/group",
                "/etc/nsswitch.conf", "/etc/mime.types")
# Under root, the only capabilities bubblewrap leaves the child, which drops them all before any
# student code: switch uid and gid, drop the bounding set, set up namespaces and mounts, and (the
# pre-started worker) kill the submission's processes.
ROOT_CAPABILITIES = ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_SYS_ADMIN", "CAP_KILL")
# Size of the sandbox's /dev/shm, and of all SysV shared memory, per submission (RAM).
SHM_BYTES = 64 << 20
SYSV_BYTES = 64 << 20


def options_through_pipe(cmd: list[str]) -> tuple[list[str], list[int]]:
    """A bubblewrap command with its options moved into a pipe (``--args FD``), and the descriptors
    to pass: the sandbox's first process shows bubblewrap's command line to student code in
    /proc/1/cmdline, and the options name every hidden path. Other commands are returned as they are.
    The caller closes the descriptors once the process has started."""
    if not cmd or os.path.basename(cmd[0]) != "bwrap" or "--" not in cmd:
        return cmd, []
    split = cmd.index("--")
    data = ("\0".join(cmd[1:split]) + "\0").encode()
    if len(data) > 60_000:  # more than a pipe holds before bubblewrap reads it
        return cmd, []
    read_end, write_end = os.pipe()
    os.write(write_end, data)
    os.close(write_end)
    return [cmd[0], "--args", str(read_end), *cmd[split:]], [read_end]


def _inside(path: str, folders: Sequence[str]) -> bool:
    """Whether ``path`` is strictly inside one of ``folders``."""
    return any(path.startswith(f.rstrip("/") + "/") for f in folders)


def unprivileged_ids() -> tuple[int, int]:
    """The uid and gid student code runs as under root inside bubblewrap: the sandbox user's
    (``sandbox_user()``), else nobody's (65534)."""
    user = sandbox_user()
    if user is not None:
        entry = pwd.getpwnam(user)
        if entry.pw_uid != 0:
            return entry.pw_uid, entry.pw_gid
    return 65534, 65534


# Size of the sandbox's private /tmp (a tmpfs, so RAM), where bubblewrap supports --size (>= 0.7).
TMP_BYTES = 256 << 20


def _bwrap_has_size(bwrap: str) -> bool:
    """Whether this bubblewrap has ``--size`` (for a bounded tmpfs; bubblewrap >= 0.7)."""
    return _bwrap_has_option(bwrap, "--size")


@functools.cache
def _bwrap_has_option(bwrap: str, option: str) -> bool:
    """Whether this bubblewrap's ``--help`` lists ``option``."""
    try:
        result = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return option in result.stdout + result.stderr


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
    """Whether bubblewrap can start Python with numpy here (probed once, a success cached on disk)."""
    marker = _probe_marker(bwrap)
    if marker is not None and _fresh(marker):
        return True
    ok = _probe_bwrap(bwrap)
    if ok and marker is not None:
        _write_marker(marker)
    return ok


def _probe_bwrap(bwrap: str) -> bool:
    probe = BubblewrapIsolation(bwrap)
    import tempfile

    code = "import numpy"
    if os.geteuid() == 0:  # as the child will run student code: as an unprivileged uid
        uid, gid = unprivileged_ids()
        drop = f"os.setgroups([]); os.setresgid({gid}, {gid}, {gid}); os.setresuid({uid}, {uid}, {uid})"
        code = f"import os; {drop}; {code}"
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "work").mkdir()
        cmd = probe.command([sys.executable, "-I", "-c", code], Path(tmp), [])
        try:
            result = subprocess.run(cmd, capture_output=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return False
    return result.returncode == 0


# The probe starts Python with numpy inside bubblewrap, as long as the sandbox's own child
# (~0.2 s, a fifth of a grade), so a success is remembered in a marker file. The marker's name
# is a hash of everything the answer depends on: bubblewrap's and Python's files, the folders
# the sandbox binds, the uid, the kernel and its user-namespace settings, and the boot; it also
# expires after PROBE_CACHE_SECONDS. Only successes are cached: a stale or forged marker can
# make the grader try bubblewrap (and fail loudly), never fall back to a weaker sandbox.
# Set AUTOGRADER_PROBE_CACHE=0 to always probe.
PROBE_CACHE_SECONDS = 24 * 3600
_USERNS_SETTINGS = (
    "/proc/sys/user/max_user_namespaces",
    "/proc/sys/kernel/unprivileged_userns_clone",
    "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
    "/proc/sys/kernel/random/boot_id",
)


def probe_cache_folder() -> Path:
    """Where bubblewrap probe results are cached ($XDG_CACHE_HOME or ~/.cache, then npg-autograder)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "npg-autograder"


def _probe_marker(bwrap: str) -> Optional[Path]:
    """The marker file for this machine state, or None when caching is off or the state is unreadable."""
    if os.environ.get("AUTOGRADER_PROBE_CACHE", "1") == "0":
        return None
    import hashlib

    facts: list[str] = ["v2", str(os.geteuid()), os.uname().release, *_python_paths()]
    try:
        for path in (bwrap, sys.executable):
            real = os.path.realpath(path)
            st = os.stat(real)
            facts.append(f"{real}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_mode}")
    except OSError:
        return None
    for setting in _USERNS_SETTINGS:
        try:
            with open(setting, encoding="ascii") as fh:
                facts.append(f"{setting}={fh.read().strip()}")
        except OSError:
            facts.append(f"{setting}=?")
    digest = hashlib.sha256("\0".join(facts).encode()).hexdigest()[:32]
    return probe_cache_folder() / f"bwrap-ok-{digest}"


def _fresh(marker: Path) -> bool:
    try:
        st = marker.stat()
    except OSError:
        return False
    return st.st_uid == os.geteuid() and 0 <= time.time() - st.st_mtime < PROBE_CACHE_SECONDS


def _write_marker(marker: Path) -> None:
    try:
        marker.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = marker.with_name(f".{marker.name}.{os.getpid()}")
        tmp.write_text("bubblewrap started Python with numpy\n", encoding="ascii")
        os.replace(tmp, marker)
    except OSError:
        pass  # a read-only home only costs the probe next time


def forget_bwrap_probe() -> None:
    """Drop cached probe results (e.g. after bubblewrap failed to start a child)."""
    _bwrap_works.cache_clear()
    for marker in probe_cache_folder().glob("bwrap-ok-*"):
        try:
            marker.unlink()
        except OSError:
            pass


@functools.cache
def _user_can_run_python(user: str) -> bool:
    """Whether ``user`` can start this Python with numpy (not when it lives in root's home, say)."""
    entry = pwd.getpwnam(user)
    try:
        result = subprocess.run([sys.executable, "-I", "-c", "import numpy"], capture_output=True, timeout=30,
                                user=entry.pw_uid, group=entry.pw_gid, extra_groups=[], cwd="/")
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
        if user is not None and (choice == "user" or _user_can_run_python(user)):
            return UserIsolation(user)
    if choice == "user":
        raise RuntimeError("AUTOGRADER_ISOLATION=user needs root and an unprivileged user")
    return Isolation()
