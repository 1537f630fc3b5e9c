"""The Gradescope bundle end to end, as root (as Gradescope and CI run it).

Each test builds a fake Gradescope root (``$AUTOGRADER_ROOT/{source,submission,results}`` and
``submission_metadata.json``), unzips the bundle into ``source/``, creates the sandbox user with the
bundle's own ``setup.sh user``, and runs ``run_autograder``. The grader's Python is a fresh virtual
environment holding only the bundle's third-party packages (as ``setup.sh`` installs them on
Gradescope): the project is not importable from it.

Every run must: write a valid results.json, leak neither the reference (a canary is planted in the
bundle's copy) nor the secret into it, leave no process of the sandbox user, and finish quickly.
The hostile catalogue (``tests/hostile/``) states what each attack may earn.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Optional

import pytest

from autograder.bundle import build_bundle, bundle_limits
from autograder.demo.samples import SAMPLES, materialise, reference_folder, student_source

pytestmark = [
    pytest.mark.root,
    pytest.mark.slow,  # each run starts a bundle (~2-5 s); the module takes minutes: .ci/run runs it
    pytest.mark.skipif(os.geteuid() != 0, reason="Gradescope runs the bundle as root; CI runs these as root"),
]

HOSTILE = Path(__file__).parent / "hostile"
# A user of our own (not autograder-sandbox), so that killing its processes touches nothing else,
# and unique to this run: run_autograder kills every process of its sandbox user, so two runs of
# this module sharing one name (two checkouts' suites at once) would kill each other's processes.
# The fixture deletes it at the end. useradd allows 32 characters.
SANDBOX_USER = f"npg-sbx-{uuid.uuid4().hex[:12]}"
CALL_SECONDS = 2.0
SUBMISSION_SECONDS = 20.0
RUN_BOUND_SECONDS = 75.0  # generous for a loaded 2-core machine; Gradescope allows 600
HONEST_REST = 74.0  # points of fisher.py + npg.py (everything but the 26 points of kl.py)
REQUIREMENTS = ("numpy", "scipy", "gradescope-utils", "nbformat", "matplotlib", "pyyaml")  # requirements.in

# hostile kl.py -> (fewest, most points it may have): what its honest parts earn, and nothing more.
CATALOGUE: dict[str, tuple[float, float]] = {
    "monkeypatch_numpy.py": (HONEST_REST, HONEST_REST),
    "monkeypatch_protocol.py": (0.0, HONEST_REST),  # breaks its own child's replies: loses, never gains
    "write_results_exit.py": (HONEST_REST, HONEST_REST),
    "steal_reference_import.py": (HONEST_REST, HONEST_REST),
    "steal_reference_walk.py": (HONEST_REST, HONEST_REST),
    "steal_reference_proc.py": (HONEST_REST, HONEST_REST),
    "sleep_at_import.py": (HONEST_REST, HONEST_REST),
    "loop_ignore_sigterm.py": (HONEST_REST, HONEST_REST),
    "memory_bomb.py": (92.0, 92.0),  # only kl_divergence's 8 points are lost
    "detached_rewriter.py": (HONEST_REST, HONEST_REST),
    "print_300mb.py": (HONEST_REST, 100.0),  # honest code: printing is allowed, flooding is not
    "always_equal.py": (HONEST_REST, HONEST_REST),
    "pickle_object_array.py": (HONEST_REST, HONEST_REST),
    "hardcode_example.py": (HONEST_REST, HONEST_REST),
    "kill_everything.py": (HONEST_REST, HONEST_REST),
    "huge_exceptions.py": (HONEST_REST, HONEST_REST),
    "leave_shared_memory.py": (HONEST_REST, HONEST_REST),
    "steal_reference_by_path.py": (HONEST_REST, HONEST_REST),
    "terminal_text.py": (HONEST_REST, HONEST_REST),
}
# A subset also runs inside bubblewrap (the mode a TA's machine uses; Gradescope may refuse it).
BWRAP_CASES = ("write_results_exit.py", "steal_reference_walk.py", "detached_rewriter.py",
               "steal_reference_by_path.py", "leave_shared_memory.py")


# ------------------------------------------------------------------------------------------------
# The fake Gradescope machine
# ------------------------------------------------------------------------------------------------
@dataclass
class Machine:
    base: Path  # world-traversable scratch folder (pytest's own tmp folders are root-only)
    python: Path  # the grader's interpreter: a venv with the bundle's third-party packages only
    bundle: Path
    secret: str
    counter: int = 0


@dataclass
class Run:
    root: Path
    results: dict
    text: str  # results.json as written
    stdout: str  # run_autograder's output (instructors see it on Gradescope)
    seconds: float
    markers: Path
    canary: str
    secret: str

    @property
    def score(self) -> float:
        return float(self.results["score"])


def _user_uid(name: str) -> Optional[int]:
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def _user_processes(uid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    pids.append(int(entry))
            except FileNotFoundError:
                continue
    return pids


def _extract(bundle: Path, dest: Path) -> None:
    """Unzip like Gradescope's unzip: keep the modes stored in the zip."""
    with zipfile.ZipFile(bundle) as archive:
        for info in archive.infolist():
            target = dest / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(target, mode)


def _runs_as(uid: int, gid: int, argv: list[str]) -> bool:
    try:
        done = subprocess.run(argv, capture_output=True, timeout=60, cwd="/", user=uid, group=gid, extra_groups=[])
    except OSError:
        return False
    return done.returncode == 0


def _dependency_closure(names: tuple[str, ...]) -> list[importlib_metadata.Distribution]:
    from packaging.requirements import Requirement

    seen: dict[str, importlib_metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        dist = importlib_metadata.distribution(name)
        seen[name] = dist
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return list(seen.values())


def _gradescope_python(base: Path, uid: int, gid: int) -> Path:
    """A venv the sandbox user can run, with the bundle's packages and without this project.

    Its interpreter is this Python's own binary if the sandbox user can run it (as on Gradescope,
    /usr/bin/python3), or else a system Python of the same version (this machine's Python lives
    under /root, which other users cannot enter).
    """
    minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    probe = f"import sys; assert sys.version_info[:2] == {tuple(sys.version_info[:2])}"
    candidates = [os.path.realpath(sys.executable), getattr(sys, "_base_executable", ""),
                  f"/usr/bin/python{minor}", f"/usr/local/bin/python{minor}"]
    interpreter = next((c for c in candidates if c and os.path.isfile(c)
                        and _runs_as(uid, gid, [c, "-I", "-c", probe])), None)
    if interpreter is None:
        pytest.fail(f"no Python {minor} that {SANDBOX_USER} can run: tried {candidates}")
    venv = base / "python"
    subprocess.run([interpreter, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python*/site-packages"))
    for dist in _dependency_closure(REQUIREMENTS):
        for file in dist.files or []:
            if ".." in file.parts:
                continue  # console scripts outside site-packages
            source = Path(dist.locate_file(file))
            target = site / file
            if not source.is_file() or target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, target)
            except OSError:
                shutil.copy2(source, target)
    python = venv / "bin" / "python"
    assert _runs_as(uid, gid, [str(python), "-I", "-c", "import numpy, nbformat, gradescope_utils, yaml"])
    assert not _runs_as(uid, gid, [str(python), "-I", "-c", "import solutions"]), "the reference is importable"
    return python


@pytest.fixture(scope="module")
def machine():
    base = Path(tempfile.mkdtemp(prefix="npg-bundle-test-"))
    os.chmod(base, 0o755)
    try:
        bundle = base / "autograder.zip"
        info = build_bundle(bundle, limits=bundle_limits(CALL_SECONDS, SUBMISSION_SECONDS),
                            sandbox_user=SANDBOX_USER)
        secret = info.secret_file.read_text().strip()
        # The bundle's own setup.sh creates the sandbox user (idempotent).
        setup_dir = base / "setup"
        setup_dir.mkdir()
        _extract(bundle, setup_dir)
        for _ in range(2):
            subprocess.run(["bash", str(setup_dir / "setup.sh"), "user"], check=True, capture_output=True,
                           env={**os.environ, "AUTOGRADER_SANDBOX_USER": SANDBOX_USER})
        entry = pwd.getpwnam(SANDBOX_USER)
        assert entry.pw_uid != 0
        python = _gradescope_python(base, entry.pw_uid, entry.pw_gid)
        yield Machine(base, python, bundle, secret)
    finally:
        shutil.rmtree(base, ignore_errors=True)
        _delete_user(SANDBOX_USER)


def _delete_user(name: str) -> None:
    """Remove the test's sandbox user (and its group), killing what it still runs."""
    uid = _user_uid(name)
    if uid is None:
        return
    for pid in _user_processes(uid):
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    subprocess.run(["userdel", name], capture_output=True, timeout=60)
    subprocess.run(["groupdel", name], capture_output=True, timeout=60)  # absent if userdel removed it


def _honest_files() -> dict[str, str]:
    ref = reference_folder()
    return {name: student_source((ref / name).read_text()) for name in ("kl.py", "fisher.py", "npg.py")}


def run_gradescope(
    machine: Machine,
    files: Optional[dict[str, str]] = None,
    *,
    folder: Optional[Path] = None,
    isolation: str = "user",
    metadata: Optional[dict] = None,
    prepare=None,
) -> Run:
    """Lay out a fake /autograder, run the bundle's run_autograder there, and collect the results."""
    machine.counter += 1
    root = machine.base / f"root{machine.counter}"
    (root / "submission").mkdir(parents=True)
    (root / "results").mkdir()
    os.chmod(root, 0o755)
    markers = root / "markers"
    markers.mkdir()
    os.chmod(markers, 0o1777)
    _extract(machine.bundle, root / "source")
    canary = f"CANARY-{uuid.uuid4().hex}"
    for name in ("kl.py", "npg.py", "fisher.py"):  # first line: any leak of the file shows it
        path = root / "source" / "grader" / "solutions" / name
        path.write_text(f"# {canary}\n" + path.read_text())
    for name, text in (files or {}).items():
        text = text.replace("__ROOT__", str(root)).replace("__MARKERS__", str(markers))
        (root / "submission" / name).write_text(text)
    if folder is not None:
        shutil.copytree(folder, root / "submission", dirs_exist_ok=True)
    if metadata is None:
        metadata = {"id": 123456789, "created_at": "2024-03-01T10:00:00.000000-08:00",
                    "assignment": {"due_date": "2099-03-08T23:59:00.000000-08:00", "title": "NPG"},
                    "users": [{"email": "student@example.edu", "id": 1, "name": "Student"}]}
    (root / "submission_metadata.json").write_text(json.dumps(metadata))
    if prepare is not None:
        prepare(root)
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "AUTOGRADER_ROOT": str(root),
        "AUTOGRADER_PYTHON": str(machine.python),
        "AUTOGRADER_ISOLATION": isolation,
        "AUTOGRADER_SANDBOX_USER": SANDBOX_USER,
        "LANG": "C.UTF-8",
    }
    start = time.monotonic()
    done = subprocess.run([str(root / "source" / "run_autograder")], env=env, capture_output=True,
                          timeout=300, cwd=str(root))
    seconds = time.monotonic() - start
    text = (root / "results" / "results.json").read_text()
    return Run(root, json.loads(text), text, (done.stdout + done.stderr).decode(errors="replace"), seconds,
               markers, canary, machine.secret)


def assert_safe(run: Run) -> None:
    """What every run must guarantee, whatever the submission did."""
    data = run.results
    assert isinstance(data["score"], (int, float)) and data["score"] >= 0
    assert isinstance(data["tests"], list) and isinstance(data["output"], str)
    for test in data["tests"]:
        assert test["visibility"] in ("visible", "after_due_date", "after_published", "hidden")
        assert -1e-9 <= test["score"] <= test["max_score"] + 1e-9
    assert abs(sum(t["score"] for t in data["tests"]) - data["score"]) < 1e-3
    assert len(run.text) < 1_000_000, f"results.json is {len(run.text)} bytes"
    for secret_text in (run.canary, run.secret):
        assert secret_text not in run.text, "results.json leaks the bundle's reference or secret"
        assert secret_text not in run.stdout, "the grader's output leaks the bundle's reference or secret"
    assert run.seconds < RUN_BOUND_SECONDS, f"grading took {run.seconds:.1f} s"
    uid = _user_uid(SANDBOX_USER)
    assert uid is not None and not _user_processes(uid), "processes of the sandbox user survived the grade"
    for folder in ("source", "results"):
        assert stat.S_IMODE(os.stat(run.root / folder).st_mode) == 0o700, f"{folder} is not root-only"
    assert not list(run.markers.glob("unpickled-*")), "the grader unpickled a returned object"


# ------------------------------------------------------------------------------------------------
# Honest submissions
# ------------------------------------------------------------------------------------------------
def test_correct_submission_gets_full_marks_as_user(machine):
    run = run_gradescope(machine, _honest_files())
    assert_safe(run)
    assert run.score == pytest.approx(100.0, abs=1e-6), run.results["output"]
    assert "Autograder failed" not in run.results["output"]
    assert "sandbox: user" in run.stdout
    hidden = [t for t in run.results["tests"] if "hidden" in t["tags"]]
    assert hidden and all(t["visibility"] == "after_due_date" for t in hidden)
    assert all(t["visibility"] == "visible" for t in run.results["tests"] if "hidden" not in t["tags"])
    assert "shown after the due date (2099-03-09 07:59 UTC)" in run.results["output"]
    # The submission id seeds the hidden cases: the instructor's secret reproduces them locally.
    from autograder.grade import grade

    secret_file = machine.bundle.with_name(machine.bundle.name + ".secret")
    _, local = grade(materialise(SAMPLES[0], machine.base / "local-correct"), secret_file=secret_file,
                     identity="123456789")
    assert [t["name"] for t in local["tests"]] == [t["name"] for t in run.results["tests"]]


def test_notebook_submission_after_the_due_date(machine):
    folder = machine.base / "nb"
    materialise(next(s for s in SAMPLES if s.notebook), folder)
    past_due = {"id": 42, "assignment": {"due_date": "2020-01-01T00:00:00Z"}}
    run = run_gradescope(machine, folder=folder, metadata=past_due)
    assert_safe(run)
    assert run.score == pytest.approx(100.0, abs=1e-6), run.results["output"]
    assert "The due date (2020-01-01 00:00 UTC) has passed" in run.results["output"]


def test_correct_submission_in_bubblewrap(machine):
    if shutil.which("bwrap") is None:
        pytest.fail("bubblewrap is not installed (CI installs it: apt-get install bubblewrap)")
    run = run_gradescope(machine, _honest_files(), isolation="bwrap")
    assert_safe(run)
    assert "sandbox: bwrap" in run.stdout
    assert run.score == pytest.approx(100.0, abs=1e-6), run.results["output"]


# ------------------------------------------------------------------------------------------------
# Failures of the grader itself
# ------------------------------------------------------------------------------------------------
def test_python_that_cannot_start_still_gives_results(machine):
    def break_grader(root: Path) -> None:
        (root / "source" / "grader" / "autograder" / "engine" / "runner.py").write_text("raise SystemExit(3)\n")

    run = run_gradescope(machine, _honest_files(), prepare=break_grader)
    assert_safe(run)
    assert run.results["output"].startswith("Autograder failed")
    assert run.results["visibility"] == "visible" and run.score == 0

    def remove_grader(root: Path) -> None:
        shutil.rmtree(root / "source" / "grader" / "autograder")

    run = run_gradescope(machine, _honest_files(), prepare=remove_grader)
    assert_safe(run)
    assert "Autograder failed: the grader could not run (exit status 1)" in run.results["output"]


def test_unreadable_submission_is_explained(machine):
    run = run_gradescope(machine, {"notes.txt": "I could not finish"})
    assert_safe(run)
    assert run.score == 0 and run.results["output"].startswith("Your submission could not be graded")


# ------------------------------------------------------------------------------------------------
# Hostile submissions
# ------------------------------------------------------------------------------------------------
def _hostile_files(name: str) -> dict[str, str]:
    files = _honest_files()
    files["kl.py"] = (HOSTILE / name).read_text()
    return files


def _check_hostile(run: Run, name: str) -> None:
    assert_safe(run)
    low, high = CATALOGUE[name]
    assert low - 1e-6 <= run.score <= high + 1e-6, f"{name}: {run.score} points\n{run.results['output']}"
    assert "PWNED" not in run.text
    assert "Autograder failed" not in run.results["output"], run.results["output"]
    if name == "leave_shared_memory.py":
        assert not _sandbox_user_leftovers(), "the sandbox user's files or SysV objects survived the grade"


def _sandbox_user_leftovers() -> list[str]:
    """Files of the sandbox user in the shared folders, and its SysV objects."""
    uid = _user_uid(SANDBOX_USER)
    found = []
    for folder in ("/tmp", "/var/tmp", "/dev/shm", "/dev/mqueue"):
        try:
            found += [f"{folder}/{e}" for e in os.listdir(folder) if os.lstat(f"{folder}/{e}").st_uid == uid]
        except OSError:
            continue
    for table, column in (("shm", 7), ("msg", 7), ("sem", 4)):
        with open(f"/proc/sysvipc/{table}") as fh:
            rows = [line.split() for line in fh.readlines()[1:]]
        found += [f"SysV {table} {row[1]}" for row in rows if int(row[column]) == uid]
    return found


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_hostile_submission_as_user(machine, name):
    run = run_gradescope(machine, _hostile_files(name))
    _check_hostile(run, name)
    if name == "detached_rewriter.py":
        _check_rewriter_is_dead(run, expect_heartbeat=True)
    if name == "print_300mb.py":
        # 300 lines of 1 MB were counted, not kept
        assert re.search(r"output truncated: 3\d{8} bytes in all", run.stdout), run.stdout[-500:]
    if name == "terminal_text.py":  # the log shows the surrogate as its escape, and no control sequence
        assert "\\ud800" in run.stdout and "\x1b" not in run.stdout, run.stdout[-500:]


@pytest.mark.parametrize("name", BWRAP_CASES)
def test_hostile_submission_in_bubblewrap(machine, name):
    if shutil.which("bwrap") is None:
        pytest.fail("bubblewrap is not installed (CI installs it: apt-get install bubblewrap)")
    run = run_gradescope(machine, _hostile_files(name), isolation="bwrap")
    _check_hostile(run, name)
    if name == "detached_rewriter.py":
        _check_rewriter_is_dead(run, expect_heartbeat=False)


def _check_rewriter_is_dead(run: Run, expect_heartbeat: bool) -> None:
    """The background process ran (it left a heartbeat, where it could) and died with the grade."""
    time.sleep(1.0)
    assert (run.root / "results" / "results.json").read_text() == run.text
    heartbeat = run.markers / "heartbeat"
    assert heartbeat.exists() == expect_heartbeat  # bubblewrap's private /tmp hides the markers folder
    if expect_heartbeat:
        last = heartbeat.stat().st_mtime
        time.sleep(0.5)
        assert heartbeat.stat().st_mtime == last, "the detached process is still running"


def test_symlinks_to_the_secret_are_refused_with_a_message(machine):
    def link(root: Path) -> None:
        (root / "submission" / "kl.py").symlink_to(root / "source" / "grader" / "secret")
        (root / "submission" / "extra.py").symlink_to(root / "source" / "grader" / "solutions" / "kl.py")

    files = _honest_files()
    del files["kl.py"]
    run = run_gradescope(machine, files, prepare=link)
    assert_safe(run)
    assert run.score == pytest.approx(0.0, abs=1e-6)
    assert "symbolic link" in run.results["output"]


def test_an_exposed_reference_makes_the_grader_refuse(machine):
    """User mode proves, as the sandbox user, that the reference cannot be opened: with the lock-down
    disabled and the reference world-readable, it refuses to run student code, with a message."""
    def expose(root: Path) -> None:
        for sub in ("source", "source/grader", "source/grader/solutions"):
            os.chmod(root / sub, 0o755)
        os.chmod(root / "source" / "grader" / "solutions" / "kl.py", 0o644)

    leaky = _honest_files()
    leaky["kl.py"] = (HOSTILE / "steal_reference_import.py").read_text()
    # run_autograder locks the folders down again; stop it by making the lock-down a no-op for this run.
    run = run_gradescope(machine, leaky, prepare=lambda root: (expose(root), _disable_lockdown(root)))
    assert run.score == pytest.approx(0.0, abs=1e-6)
    assert "refusing to run student code" in run.results["output"]
    assert "solutions" in run.results["output"]  # it names what the sandbox user could read
    assert run.canary not in run.text


def test_leaks_are_detected_by_these_tests(machine):
    """The canary check can fail: results that show the reference's text are caught."""
    def echo_canary(root: Path) -> None:
        canary = (root / "source" / "grader" / "solutions" / "kl.py").read_text().splitlines()[0]
        (root / "submission" / "kl.py").write_text(f"raise ValueError({canary!r})\n")

    run = run_gradescope(machine, _honest_files(), prepare=echo_canary)
    with pytest.raises(AssertionError, match="leaks"):
        assert_safe(run)


def _disable_lockdown(root: Path) -> None:
    script = root / "source" / "run_autograder"
    text = script.read_text()
    text = re.sub(r'chmod -R go-rwx "\$SOURCE" "\$RESULTS"\n\s*chmod 0700 "\$SOURCE" "\$RESULTS"',
                  'chmod 0700 "$RESULTS"', text)
    script.write_text(text)
    module = root / "source" / "grader" / "autograder" / "bundle" / "gradescope.py"
    module.write_text(module.read_text().replace("    if os.geteuid() != 0:\n        return\n    layout.results_dir",
                                                 "    return\n    layout.results_dir"))
