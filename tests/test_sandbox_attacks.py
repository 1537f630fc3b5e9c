"""Issue 12: a fresh red team's attacks on the sandbox, each reproduced, each class fixed.

1. root-only files readable inside bubblewrap (student code ran as uid 0 without capabilities);
2. user mode hiding nothing that file permissions don't (editable-install path hook, the parent's
   command line, a world-readable OUTDIR);
3. shared memory as a channel and a memory hole (/dev/shm, SysV IPC, memfd);
4. a grader made slow or huge (a million notes, huge exceptions and prints);
5. colliding batch identities (a digest of files joined without lengths);
6. links to files elsewhere read as a submission.

Tests that need root (a second uid, the bundle) skip otherwise; CI runs them as root.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

from autograder.batch import run_batch
from autograder.demo.samples import SAMPLES, materialise
from autograder.engine.loader import load_submission
from autograder.engine.sandbox import Limits
from autograder.errors import UserError

SECRET = b"issue-12-secret-0123456789abcdef"
LIMITS = Limits(call_seconds=4.0, submission_seconds=60.0)
CORRECT = next(s for s in SAMPLES if s.name == "correct")
SCORE_TOL = 1e-6  # scores are sums of rounded shares of 100 points


# ------------------------------------------------------------------------------------------------
# 6. Links
# ------------------------------------------------------------------------------------------------
def _root_only_zip(tmp_path: Path) -> Path:
    """A zip of the correct sample, outside every submission (a root-only file on Gradescope)."""
    folder = materialise(CORRECT, tmp_path / "elsewhere" / "correct")
    target = tmp_path / "elsewhere" / "reference.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.glob("*.py")):
            archive.write(path, path.name)
    os.chmod(target, 0o600)
    return target


def test_a_link_named_work_zip_inside_a_submission_is_refused(tmp_path: Path) -> None:
    target = _root_only_zip(tmp_path)
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "work.zip").symlink_to(target)
    with pytest.raises(UserError, match="symbolic link"):
        load_submission(submission)


@pytest.mark.parametrize("name", ["kl.py", "npg.ipynb"])
def test_a_linked_code_file_is_refused_not_skipped(tmp_path: Path, name: str) -> None:
    target = tmp_path / "elsewhere.py"
    target.write_text("def kl_divergence(p, q):\n    return 0.0\n")
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "fisher.py").write_text("x = 1\n")
    (submission / name).symlink_to(target)
    with pytest.raises(UserError, match="symbolic link"):
        load_submission(submission)


@pytest.mark.parametrize("kind", ["folder", "zip", "py"])
def test_a_submission_path_that_is_a_link_is_refused(tmp_path: Path, kind: str) -> None:
    target = _root_only_zip(tmp_path)
    if kind == "folder":
        target = target.parent / "correct"
    elif kind == "py":
        target = target.parent / "correct" / "kl.py"
    link = tmp_path / f"student-link{target.suffix}"
    link.symlink_to(target)
    with pytest.raises(UserError, match="symbolic link"):
        load_submission(link)


def test_batch_refuses_a_students_entry_that_is_a_link(tmp_path: Path) -> None:
    target = _root_only_zip(tmp_path)
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "mallory.zip").symlink_to(target)
    (batch / "eve").symlink_to(target.parent / "correct", target_is_directory=True)
    summary = run_batch(batch, tmp_path / "out", 1, secret=SECRET, limits=LIMITS, progress=None)
    rows = {row.entry.id: row for row in summary.rows}
    assert set(rows) == {"mallory", "eve"}
    for row in rows.values():
        assert row.total == pytest.approx(0.0, abs=SCORE_TOL)
        assert "symbolic link" in row.error


# ------------------------------------------------------------------------------------------------
# 5. Batch identities
# ------------------------------------------------------------------------------------------------
def _forged_fisher(files: dict[str, str]) -> str:
    """One fisher.py whose text is a classmate's three files joined as the old digest joined them."""
    names = sorted(files)
    assert names[0] == "fisher.py"
    text = files[names[0]]
    for name in names[1:]:
        text += "\0" + name + "\0" + files[name]
    return text


def test_the_digest_of_one_file_holding_three_joined_by_nul_differs(tmp_path: Path) -> None:
    victim = load_submission(materialise(CORRECT, tmp_path / "victim"))
    forged = tmp_path / "attacker"
    forged.mkdir()
    (forged / "fisher.py").write_text(_forged_fisher(victim.files), encoding="utf-8")
    attacker = load_submission(forged)
    assert not attacker.same_content(victim)
    assert attacker.digest != victim.digest


def test_a_notebook_and_files_of_the_same_text_have_different_digests(tmp_path: Path) -> None:
    from autograder.engine.loader import Submission

    files = Submission("a", files={"kl.py": "x = 1\n"})
    cells = Submission("b", notebook_cells=[(1, "x = 1\n")])
    empty_cells = Submission("c", files={"kl.py": "x = 1\n"}, notebook_cells=[])
    assert len({files.digest, cells.digest, empty_cells.digest}) == 3


def test_batch_grades_a_forged_collision_on_its_own(tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    victim = load_submission(materialise(CORRECT, batch / "victim"))
    (batch / "attacker").mkdir()
    (batch / "attacker" / "fisher.py").write_text(_forged_fisher(victim.files), encoding="utf-8")
    summary = run_batch(batch, tmp_path / "out", 1, secret=SECRET, limits=LIMITS, progress=None)
    rows = {row.entry.id: row for row in summary.rows}
    assert rows["victim"].total == pytest.approx(100.0, abs=SCORE_TOL)
    assert rows["attacker"].total == pytest.approx(0.0, abs=SCORE_TOL)
    results = json.loads((tmp_path / "out" / "results" / "attacker.json").read_text())
    assert results["score"] == pytest.approx(0.0, abs=SCORE_TOL)


# ------------------------------------------------------------------------------------------------
# 4. The grader made slow or huge
# ------------------------------------------------------------------------------------------------
def _notebook(cells: list[str]) -> str:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    return nbformat.writes(nb)


def test_notebook_cells_raising_huge_exceptions_give_a_small_results_json(tmp_path: Path) -> None:
    from autograder.engine.results import MAX_RESULTS_BYTES
    from autograder.grade import grade

    cells = [f"raise ValueError('{i}' + 'x' * 3_000_000)" for i in range(20)]
    path = tmp_path / "npg.ipynb"
    path.write_text(_notebook(cells))
    out = tmp_path / "results.json"
    report, results = grade(path, out, secret=SECRET, limits=LIMITS)
    assert len(report.notes) >= 1  # the failing cells are reported...
    assert out.stat().st_size < MAX_RESULTS_BYTES  # ...in a file far from the 60 MB of the attack
    assert "cell 1: ValueError" in results["output"]


def test_batch_cache_entry_of_huge_exceptions_stays_small(tmp_path: Path) -> None:
    """The same notebook in batch made a 60 MB cache entry."""
    from autograder.engine.results import MAX_RESULTS_BYTES

    batch = tmp_path / "batch"
    batch.mkdir()
    cells = [f"raise ValueError('{i}' + 'x' * 3_000_000)" for i in range(20)]
    (batch / "huge.ipynb").write_text(_notebook(cells))
    run_batch(batch, tmp_path / "out", 1, secret=SECRET, limits=LIMITS, progress=None)
    entries = list((tmp_path / "out" / "cache").glob("*.json"))
    assert len(entries) == 1
    assert entries[0].stat().st_size < MAX_RESULTS_BYTES + 10_000  # results plus a small summary
    assert (tmp_path / "out" / "results" / "huge.json").stat().st_size < MAX_RESULTS_BYTES


def test_a_forged_reply_with_many_notes_keeps_only_a_few(tmp_path: Path) -> None:
    from autograder.engine.sandbox import MAX_NOTE_CHARS, MAX_NOTES
    from autograder.grade import grade

    forge = (
        "import sys\n"
        "_main = sys.modules['__main__']\n"
        "_send = _main._Channel.send\n"
        "def _forged(self, message):\n"
        "    if message.get('ok') and 'seconds' in message and 'value' not in message:\n"
        "        message = dict(message, notes=[f'note {i} ' + 'y' * (5000 if i < 3 else 1) for i in range(20_000)])\n"
        "    _send(self, message)\n"
        "_main._Channel.send = _forged\n"
        "x = 1\n"
    )
    path = tmp_path / "npg.ipynb"
    path.write_text(_notebook([forge]))
    report, results = grade(path, tmp_path / "results.json", secret=SECRET, limits=LIMITS)
    notebook_notes = [n for n in report.notes if n.startswith("notebook ")]
    assert 1 <= len(notebook_notes) <= MAX_NOTES
    assert all(len(n) <= len("notebook ") + MAX_NOTE_CHARS + 40 for n in notebook_notes)


def test_clip_results_cuts_texts_keeps_scores_and_says_so() -> None:
    from autograder.engine.results import clip_results

    tests = [{"name": f"t{i}", "score": 1.0, "max_score": 2.0, "output": "z" * 8_000} for i in range(400)]
    data = {"score": 400.0, "output": "summary " + "w" * 2_000_000, "tests": tests}
    clipped = clip_results(data, limit=100_000)
    assert len(json.dumps(clipped).encode()) <= 100_000
    assert [t["score"] for t in clipped["tests"]] == pytest.approx([1.0] * 400, abs=0)  # copied, not computed
    assert clipped["output"].startswith("summary ")
    assert "Results clipped" in clipped["output"]
    small = {"score": 1.0, "output": "fine", "tests": []}
    assert clip_results(dict(small)) == small


# ------------------------------------------------------------------------------------------------
# 1 and 3. bubblewrap: student code as an unprivileged uid; its own bounded /dev/shm and IPC
# ------------------------------------------------------------------------------------------------
def _bwrap_or_skip():
    from autograder.engine.isolation import BubblewrapIsolation, detect_isolation

    try:
        isolation = detect_isolation("bwrap")
    except RuntimeError:
        pytest.skip("bubblewrap does not work here")
    assert isinstance(isolation, BubblewrapIsolation)
    return isolation


def _sandbox(source: str, isolation, reuse: bool = False, limits: Limits = LIMITS):
    import textwrap

    from autograder.engine.runner import mdp_source
    from autograder.engine.sandbox import Sandbox, SubmissionFiles

    files = SubmissionFiles(files={"kl.py": textwrap.dedent(source)})
    return Sandbox(files, mdp_source(), limits, isolation, [], reuse_worker=reuse)


def _value(result) -> list:
    assert result.ok, (result.kind, result.error)
    return [int(v) for v in result.value]


def test_student_code_in_bubblewrap_runs_unprivileged_and_finds_no_root_only_zip(tmp_path: Path) -> None:
    """The attack: an ``autograder.zip`` next to the course folder, with the bundle's secret in a
    0600 root file, was read by student code running as uid 0 without capabilities."""
    isolation = _bwrap_or_skip()
    course = tmp_path / "course"
    course.mkdir()
    secret = tmp_path / "autograder.zip.secret"
    secret.write_text("the-secret")
    os.chmod(secret, 0o600)
    os.chmod(tmp_path, 0o755)
    # A root-only file where the child can see it: in site-packages (bound into every sandbox).
    import site

    visible = Path(site.getsitepackages()[0]) / f"npg-root-only-{os.getpid()}.txt"
    visible.write_text("the-secret")
    os.chmod(visible, 0o600)
    source = f"""
        import os
        def probe():
            read = []
            for path in ({str(secret)!r}, {str(visible)!r}):
                try:
                    open(path).read()
                    read.append(1)
                except OSError:
                    read.append(0)
            with open("/proc/self/status") as fh:
                caps = [int(line.split()[1], 16) for line in fh if line.startswith(("CapEff", "CapPrm", "CapBnd"))]
            seen = [int(os.path.exists({str(tmp_path)!r})), len(os.listdir("/home")) if os.path.isdir("/home") else 0]
            return [os.getuid(), os.geteuid(), *read, *caps, *seen, int(os.path.exists({str(visible)!r}))]
    """
    try:
        with _sandbox(source, isolation) as box:
            uid, euid, read_hidden, read_visible, *rest = _value(box.call("kl", "probe"))
    finally:
        visible.unlink()
    *caps, tmp_seen, home_entries, visible_seen = rest
    assert (read_hidden, read_visible) == (0, 0)
    assert (tmp_seen, home_entries) == (0, 0)  # outside the allowlist: not there at all
    if os.geteuid() == 0:
        assert visible_seen == 1  # visible, and still unreadable: the child is not root
        assert uid != 0 and euid != 0
        assert caps == [0, 0, 0]


@pytest.mark.parametrize("reuse", [False, True], ids=["fresh", "zygote"])
def test_dev_shm_and_sysv_ipc_are_bounded_in_bubblewrap(reuse: bool) -> None:
    from autograder.engine.isolation import SHM_BYTES, SYSV_BYTES, _bwrap_has_size

    isolation = _bwrap_or_skip()
    if os.geteuid() != 0 and not _bwrap_has_size(isolation.bwrap):
        pytest.skip("an ordinary user's bubblewrap without --size cannot bound /dev/shm (README)")
    source = f"""
        import ctypes, os
        def probe():
            chunk = b"x" * (4 << 20)
            written = 0
            try:
                for i in range({2 * SHM_BYTES} // len(chunk)):
                    with open(f"/dev/shm/f{{i}}", "wb") as fh:
                        fh.write(chunk)
                    written += len(chunk)
            except OSError:
                pass
            libc = ctypes.CDLL(None, use_errno=True)
            libc.shmget.restype = ctypes.c_int
            big = libc.shmget(0, ctypes.c_size_t({2 * SYSV_BYTES}), 0o1600)  # IPC_PRIVATE | IPC_CREAT
            return [written, int(big >= 0)]
    """
    with _sandbox(source, isolation, reuse) as box:
        written, big_segment = _value(box.call("kl", "probe"))
    assert written <= SHM_BYTES
    if os.geteuid() == 0:
        assert big_segment == 0


def test_a_submissions_dev_shm_and_sysv_segments_do_not_reach_the_next_one(tmp_path: Path) -> None:
    """The attack: submission A left code in /dev/shm, submission B (same pre-started worker) ran it."""
    isolation = _bwrap_or_skip()
    plant = """
        import ctypes
        def plant():
            with open("/dev/shm/planted.py", "w") as fh:
                fh.write("def kl_divergence(p, q):\\n    return 'stolen'\\n")
            libc = ctypes.CDLL(None, use_errno=True)
            segment = libc.shmget(0x4e5047, 4096, 0o1666)  # a fixed key, IPC_CREAT
            return [segment]
    """
    find = """
        import ctypes, os
        def find():
            libc = ctypes.CDLL(None, use_errno=True)
            return [int(os.path.exists("/dev/shm/planted.py")), int(libc.shmget(0x4e5047, 0, 0o666) >= 0)]
    """
    with _sandbox(plant, isolation, reuse=True) as box:
        assert _value(box.call("kl", "plant"))[0] >= 0
    with _sandbox(find, isolation, reuse=True) as box:
        assert _value(box.call("kl", "find")) == [0, 0]


def test_memory_held_in_memfds_is_bounded_by_open_files_times_file_size() -> None:
    """memfd pages are outside RLIMIT_AS; each is bounded by RLIMIT_FSIZE and their number by
    RLIMIT_NOFILE (every mode sets both)."""
    from autograder.engine.isolation import OPEN_FILES, detect_isolation

    limits = Limits(call_seconds=10.0, submission_seconds=60.0, file_bytes=1 << 20)
    source = """
        import os
        def hold():
            held, fds = 0, []
            chunk = b"m" * (1 << 20)
            while held < (300 << 20):
                try:
                    fd = os.memfd_create("hold")
                    os.write(fd, chunk)
                except OSError:
                    break
                fds.append(fd)
                held += len(chunk)
            return [held]
    """
    with _sandbox(source, detect_isolation(), limits=limits) as box:
        (held,) = _value(box.call("kl", "hold"))
    assert 0 < held <= OPEN_FILES * limits.file_bytes


def test_without_bubblewrap_size_option_root_still_bounds_tmp_and_dev_shm(monkeypatch) -> None:
    """bubblewrap 0.6 (Ubuntu 22.04) has no ``--size``: under root the child mounts its own sized
    /tmp and /dev/shm, so nothing degrades (README: an ordinary user's /tmp and /dev/shm do)."""
    from autograder.engine import isolation as iso

    bwrap = _bwrap_or_skip()
    if os.geteuid() != 0:
        pytest.skip("needs root (an ordinary user's sandbox cannot mount)")
    real = iso._bwrap_has_option
    monkeypatch.setattr(iso, "_bwrap_has_option", lambda b, option: option != "--size" and real(b, option))
    assert "--size" not in bwrap.command(["true"], Path("/nonexistent"), [])
    source = f"""
        import os
        def fill():
            sizes = []
            for folder in ("/tmp", "/dev/shm"):
                written = 0
                try:
                    for i in range({2 * iso.TMP_BYTES} // (4 << 20)):
                        with open(os.path.join(folder, f"f{{i}}"), "wb") as fh:
                            fh.write(b"x" * (4 << 20))
                        written += 4 << 20
                except OSError:
                    pass
                sizes.append(written)
            return sizes
    """
    with _sandbox(source, bwrap, limits=Limits(call_seconds=10.0, submission_seconds=60.0)) as box:
        tmp, shm = _value(box.call("kl", "fill"))
    assert 0 < tmp <= iso.TMP_BYTES
    assert 0 < shm <= iso.SHM_BYTES


# ------------------------------------------------------------------------------------------------
# 2 and 3. User mode (root without bubblewrap, as on Gradescope): the bundle as root
# ------------------------------------------------------------------------------------------------
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="a second uid needs root; CI runs these as root")


@pytest.fixture(scope="module")
def machine():
    """A fake Gradescope machine of our own (tests/test_bundle_root.py's), so that changing its
    Python here cannot affect that module's tests."""
    if os.geteuid() != 0:
        pytest.skip("the bundle runs as root")
    import test_bundle_root

    yield from test_bundle_root.machine.__wrapped__()


def _bundle():
    import test_bundle_root

    return test_bundle_root


@needs_root
def test_user_mode_removes_dev_shm_tmp_files_and_sysv_objects_of_the_sandbox_user(machine) -> None:
    bundle = _bundle()
    files = bundle._honest_files()
    files["kl.py"] += (  # appended: the module starts with a __future__ import
        "\nimport ctypes\n"
        "open('/dev/shm/npg-left-behind', 'w').write('code for the next submission')\n"
        "open('/tmp/npg-left-behind', 'w').write('code for the next submission')\n"
        "_libc = ctypes.CDLL(None, use_errno=True)\n"
        "_libc.shmget(0, 1 << 20, 0o1600)  # IPC_PRIVATE | IPC_CREAT, never attached\n"
        "_libc.msgget(0, 0o1600)\n"
    )
    uid = bundle._user_uid(bundle.SANDBOX_USER)
    run = bundle.run_gradescope(machine, files, isolation="user")
    bundle.assert_safe(run)
    assert run.score == pytest.approx(100.0, abs=SCORE_TOL)
    for folder in ("/dev/shm", "/tmp"):
        assert not [e for e in os.listdir(folder) if os.lstat(os.path.join(folder, e)).st_uid == uid], folder
    for table, column in (("shm", 7), ("msg", 7)):
        with open(f"/proc/sysvipc/{table}") as fh:
            owners = [int(line.split()[column]) for line in fh.readlines()[1:]]
        assert uid not in owners, f"a SysV {table} object of the sandbox user survived"


@needs_root
def test_user_mode_child_runs_no_pth_file_of_site_packages(machine) -> None:
    """The attack: ``import solutions`` through an editable install's path hook (a .pth file in
    site-packages, run by ``site`` at start-up even under ``python -I``)."""
    import shutil
    import subprocess
    import uuid

    bundle = _bundle()
    site = subprocess.run([str(machine.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    hook_folder = machine.base / f"editable-{uuid.uuid4().hex[:8]}"
    (hook_folder / "solutions").mkdir(parents=True)
    (hook_folder / "solutions" / "__init__.py").write_text("REFERENCE = 'reached through a .pth file'\n")
    for path in (hook_folder, hook_folder / "solutions"):
        os.chmod(path, 0o755)
    os.chmod(hook_folder / "solutions" / "__init__.py", 0o644)
    pth = Path(site) / "zz_editable_hook.pth"
    pth.write_text(f"import sys; sys.path.append({str(hook_folder)!r})\n")
    os.chmod(pth, 0o644)
    files = bundle._honest_files()
    files["kl.py"] += (
        "\ntry:\n"
        "    import solutions\n"
        "    open('__MARKERS__/reached', 'w').write(solutions.REFERENCE)\n"
        "except ImportError:\n"
        "    pass\n"
    )
    try:
        run = bundle.run_gradescope(machine, files, isolation="user")
    finally:
        pth.unlink()
        shutil.rmtree(hook_folder)
    bundle.assert_safe(run)
    assert run.score == pytest.approx(100.0, abs=SCORE_TOL)
    assert not (run.markers / "reached").exists()


@needs_root
def test_the_grader_keeps_its_arguments_out_of_proc_cmdline(tmp_path: Path) -> None:
    """The attack: in ``batch``, a child read INPUT in the parent's /proc/PID/cmdline (readable by
    every uid) and graded a classmate's files as its own."""
    import subprocess
    import sys
    import time

    marker = f"input-{os.getpid()}-private"
    submission = tmp_path / marker
    submission.mkdir()
    started, go = tmp_path / "started", tmp_path / "go"
    (submission / "kl.py").write_text(
        "import os, time\n"
        f"open({str(started)!r}, 'w').write('')\n"
        f"while not os.path.exists({str(go)!r}):\n"
        "    time.sleep(0.05)\n"
    )
    env = {**os.environ, "AUTOGRADER_ISOLATION": "none"}  # the test must reach the student code
    grader = subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(submission)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            if started.exists() or grader.poll() is not None:
                break
            time.sleep(0.05)
        assert started.exists(), "the student code never ran"
        with open(f"/proc/{grader.pid}/cmdline", "rb") as fh:
            cmdline = fh.read().decode(errors="replace")
    finally:
        go.write_text("")
        grader.wait(timeout=120)
    assert "autograder" in cmdline
    assert marker not in cmdline


def test_batch_output_folder_is_private(tmp_path: Path) -> None:
    import stat

    batch = tmp_path / "batch"
    (batch / "empty").mkdir(parents=True)
    (batch / "empty" / "notes.txt").write_text("no code")
    out = tmp_path / "out"
    out.mkdir(mode=0o755)
    run_batch(batch, out, 1, secret=SECRET, limits=LIMITS, progress=None)
    assert stat.S_IMODE(out.stat().st_mode) == 0o700


# ------------------------------------------------------------------------------------------------
# Found by the independent red team (/tmp/redteam/FINDINGS.md, F2, F3, F8, F11, F12, F13)
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("reuse", [False, True], ids=["fresh", "zygote"])
def test_student_code_can_write_only_to_its_tmp_and_dev_shm_in_bubblewrap(reuse: bool) -> None:
    """F2, F8: /dev (a tmpfs of half the RAM) and the tmpfs hiding folders were writable, unbounded
    and kept by the pre-started worker for the next submission."""
    isolation = _bwrap_or_skip()
    source = """
        import os
        def probe():
            written = []
            for folder in ("/", "/dev", "/etc", "/usr", "/root", "/home", "/run", "/var/tmp", "/srv"):
                try:
                    with open(os.path.join(folder, "left-behind"), "w") as fh:
                        fh.write("x")
                    written.append(1)
                except OSError:
                    written.append(0)
            return written
    """
    with _sandbox(source, isolation, reuse) as box:
        assert _value(box.call("kl", "probe")) == [0] * 9


@pytest.mark.skipif(os.geteuid() != 0, reason="an ordinary user's pre-started worker shares one IPC namespace")
def test_posix_message_queues_do_not_reach_the_next_submission() -> None:
    """F3: a POSIX message queue left by one submission was read by the next (same worker)."""
    isolation = _bwrap_or_skip()
    source = """
        import ctypes
        _rt = ctypes.CDLL("librt.so.1", use_errno=True)
        def plant():
            return [_rt.mq_open(b"/npg-left-behind", 0o102, 0o666, None)]  # O_CREAT | O_RDWR
        def find():
            return [_rt.mq_open(b"/npg-left-behind", 0o2)]  # O_RDWR
    """
    with _sandbox(source, isolation, reuse=True) as box:
        assert _value(box.call("kl", "plant"))[0] >= 0
    with _sandbox(source, isolation, reuse=True) as box:
        assert _value(box.call("kl", "find")) == [-1]


@pytest.mark.skipif(os.geteuid() != 0, reason="an ordinary user's worker shares the uid of its children")
def test_student_code_cannot_signal_the_pre_started_worker() -> None:
    """F13: the child SIGSTOPped the pre-started worker (same uid, same PID namespace)."""
    isolation = _bwrap_or_skip()
    source = """
        import os, signal
        def probe():
            reached = 0
            for entry in os.listdir("/proc"):
                if entry.isdigit() and int(entry) != os.getpid():
                    try:
                        os.kill(int(entry), 0)
                        reached += 1
                    except OSError:
                        pass
            return [reached]
    """
    with _sandbox(source, isolation, reuse=True) as box:
        assert _value(box.call("kl", "probe")) == [0]


def test_a_reply_with_a_huge_list_is_refused_before_the_feedback_formats_it() -> None:
    """F11: a list of 140 000 arrays took 26 s of grader CPU per check to format. Lists of numbers
    (a sampler appending to lists) stay allowed, and feedback shows only their first items."""
    from autograder.engine.child import MAX_ARRAYS
    from autograder.engine.compare import format_value
    from autograder.engine.isolation import detect_isolation

    source = f"""
        import numpy as np
        def many():
            return [np.zeros(2)] * {MAX_ARRAYS + 1}
        def fine():
            return [np.zeros(2)] * {MAX_ARRAYS - 1}
        def numbers():
            return [1] * 40_000, [2] * 40_000
    """
    with _sandbox(source, detect_isolation()) as box:
        refused = box.call("kl", "many")
        kept = box.call("kl", "fine")
        numbers = box.call("kl", "numbers")
    assert refused.kind == "bad-output" and "numpy array" in refused.error
    assert kept.ok and len(kept.value) == MAX_ARRAYS - 1
    assert numbers.ok and [len(v) for v in numbers.value] == [40_000, 40_000]
    shown = format_value(numbers.value)
    assert "40000 items in all" in shown and len(shown) < 1_000


@pytest.mark.parametrize("kind", ["writable", "foreign", "link"])
def test_batch_refuses_an_output_folder_others_could_have_filled(tmp_path: Path, kind: str) -> None:
    """F12: student code (run earlier as the sandbox user) pre-created OUTDIR/cache/ with a forged
    entry; a later batch accepted the foreign folder and served the forged 100/100."""
    batch = tmp_path / "batch"
    materialise(CORRECT, batch / "alice")
    out = tmp_path / "out"
    (out / "cache").mkdir(parents=True)
    if kind == "writable":
        os.chmod(out / "cache", 0o777)
    elif kind == "foreign":
        if os.geteuid() != 0:
            pytest.skip("chown needs root")
        os.chown(out / "cache", 65534, 65534)  # another user's folder
    else:
        out = tmp_path / "out-link"
        out.symlink_to(tmp_path / "out", target_is_directory=True)
    with pytest.raises(UserError, match="refusing an output folder"):
        run_batch(batch, out, 1, secret=SECRET, limits=LIMITS, progress=None)


def test_an_exception_text_is_cut() -> None:
    from autograder.engine.isolation import detect_isolation
    from autograder.engine.sandbox import MAX_ERROR_CHARS

    source = """
        def huge():
            raise ValueError("x" * 3_000_000)
    """
    with _sandbox(source, detect_isolation()) as box:
        result = box.call("kl", "huge")
    assert result.kind == "exception"
    assert "ValueError" in result.error and len(result.error) <= MAX_ERROR_CHARS + 100


@needs_root
def test_an_ordinary_users_worker_empties_dev_shm_and_sysv_ipc_between_submissions(machine, tmp_path) -> None:
    """Class 3 as a TA without root: bubblewrap in a user namespace, the pre-started worker's
    submissions share its /dev/shm and IPC namespace, so its reset empties both (files, SysV
    segments, POSIX message queues: F3 of the red team)."""
    import subprocess
    import textwrap

    bundle = _bundle()
    checkout = Path(__file__).resolve().parents[1]
    readable = f"import os; os.listdir({str(checkout / 'autograder')!r})"
    if not bundle._runs_as(*_ids(bundle.SANDBOX_USER), [str(machine.python), "-c", readable]):
        pytest.skip("this checkout is not readable by another user")
    home = machine.base / f"home-{os.getpid()}"
    home.mkdir()
    os.chown(home, *_ids(bundle.SANDBOX_USER))
    script = textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(checkout)!r})
        from pathlib import Path
        from autograder.engine.isolation import detect_isolation
        from autograder.engine.sandbox import Limits, Sandbox, SubmissionFiles
        plant = '''
        import ctypes
        def go():
            open("/dev/shm/planted.py", "w").write("stolen = 1")
            queue = ctypes.CDLL("librt.so.1").mq_open(b"/planted", 0o102, 0o666, None)
            return [ctypes.CDLL(None).shmget(0x4e5048, 4096, 0o1666), queue]
        '''
        find = '''
        import ctypes, os
        def go():
            return [int(os.path.exists("/dev/shm/planted.py")), ctypes.CDLL(None).shmget(0x4e5048, 0, 0o666),
                    ctypes.CDLL("librt.so.1").mq_open(b"/planted", 0o2)]
        '''
        isolation = detect_isolation("bwrap")
        values = []
        for source in (plant, find):
            files = SubmissionFiles(files={{"kl.py": source}})
            with Sandbox(files, Path({str(checkout / "solutions" / "mdp.py")!r}), Limits(), isolation, [],
                         reuse_worker=True) as box:
                result = box.call("kl", "go")
                values.append([result.kind] + ([int(v) for v in result.value] if result.ok else [result.error]))
        print(json.dumps(values))
    """)
    uid, gid = _ids(bundle.SANDBOX_USER)
    done = subprocess.run([str(machine.python), "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=str(home), user=uid, group=gid, extra_groups=[],
                          env={"HOME": str(home), "PATH": "/usr/bin:/bin", "AUTOGRADER_PROBE_CACHE": "0"})
    if "bubblewrap does not work" in done.stderr:
        pytest.skip("bubblewrap does not work for an ordinary user here")
    assert done.returncode == 0, done.stderr[-2000:]
    planted, found = json.loads(done.stdout.strip().splitlines()[-1])
    assert planted[0] == "ok" and min(planted[1:]) >= 0
    assert found == ["ok", 0, -1, -1]


def _ids(user: str) -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


@pytest.mark.parametrize("reuse", [False, True], ids=["fresh", "zygote"])
def test_no_command_line_in_bubblewrap_names_a_hidden_folder(tmp_path: Path, reuse: bool) -> None:
    """bubblewrap's command line (the sandbox's process 1) named every hidden path (the class
    folder, the output folder, the secret): its options now go through a pipe."""
    from autograder.engine.runner import mdp_source
    from autograder.engine.sandbox import Sandbox, SubmissionFiles

    isolation = _bwrap_or_skip()
    hidden = tmp_path / f"class-folder-{os.getpid()}"
    hidden.mkdir()
    source = f"""
        import os
        def probe():
            found = 0
            for entry in os.listdir("/proc"):
                try:
                    with open(f"/proc/{{entry}}/cmdline", "rb") as fh:
                        found += {hidden.name.encode()!r} in fh.read()
                except OSError:
                    pass
            return [found, len(os.listdir("/proc"))]
    """
    import textwrap

    files = SubmissionFiles(files={"kl.py": textwrap.dedent(source)})
    with Sandbox(files, mdp_source(), LIMITS, isolation, [hidden], reuse_worker=reuse) as box:
        found, entries = _value(box.call("kl", "probe"))
    assert entries > 0 and found == 0


@needs_root
def test_a_shared_sandbox_user_loses_only_the_files_made_during_the_grade(tmp_path: Path) -> None:
    """F10 with ``nobody`` (shared with other services): what the grade made goes, older files stay."""
    import time

    from autograder.engine.isolation import UserIsolation

    older = Path("/tmp") / f"npg-older-{os.getpid()}"
    newer = Path("/tmp") / f"npg-newer-{os.getpid()}"
    older.write_text("a file of another service")
    os.chown(older, 65534, 65534)
    try:
        time.sleep(1.5)  # the removal spares files changed more than 1 s before the grade started
        isolation = UserIsolation("nobody")
        newer.write_text("left by the submission")
        os.chown(newer, 65534, 65534)
        isolation.remove_leftovers()
        assert older.exists() and not newer.exists()
    finally:
        older.unlink(missing_ok=True)
        newer.unlink(missing_ok=True)


@needs_root
@pytest.mark.parametrize("mode, refused", [(0o711, True), (0o755, True), (0o700, False)])
def test_user_mode_refuses_a_hidden_folder_the_sandbox_user_can_enter(machine, monkeypatch, tmp_path: Path,
                                                                      mode: int, refused: bool) -> None:
    """A folder that cannot be listed but can be entered (0711) hides nothing: a known name inside
    (solutions/kl.py) opens. The proof treats it as readable; a 0700 folder passes."""
    import sys

    from autograder.engine.isolation import UserIsolation

    bundle = _bundle()
    base = machine.base / f"hidden-{os.getpid()}-{mode:o}"
    (base / "solutions").mkdir(parents=True)
    (base / "solutions" / "kl.py").write_text("REFERENCE = 1\n")
    os.chmod(base / "solutions", 0o755)
    os.chmod(base / "solutions" / "kl.py", 0o644)
    os.chmod(base, mode)
    monkeypatch.setattr(sys, "executable", str(machine.python))  # a Python the sandbox user can run
    isolation = UserIsolation(bundle.SANDBOX_USER)
    if refused:
        with pytest.raises(UserError, match="refusing to run student code"):
            isolation.verify_hidden([base])
    else:
        isolation.verify_hidden([base])


@needs_root
def test_hiding_the_command_line_never_imports_a_package_from_the_current_folder(tmp_path: Path) -> None:
    """Executing itself again as ``python -m autograder`` would import an ``autograder`` package
    from the current folder (a student's folder, under root)."""
    import shutil
    import subprocess

    script = shutil.which("autograder")
    if script is None:
        pytest.skip("the autograder console script is not installed")
    marker = tmp_path / "ran"
    (tmp_path / "autograder").mkdir()
    (tmp_path / "autograder" / "__init__.py").write_text("")
    (tmp_path / "autograder" / "__main__.py").write_text(f"open({str(marker)!r}, 'w').write('ran as root')\n")
    done = subprocess.run([script, "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "grade" in done.stdout
    assert not marker.exists()


def test_batch_workers_import_nothing_from_the_current_folder(tmp_path: Path) -> None:
    """``python -m`` workers put the current folder first on sys.path: a numpy.py there (a TA
    grading from inside a student's folder) ran in every worker, with the grader's rights."""
    import shutil
    import subprocess

    script = shutil.which("autograder")
    if script is None:
        pytest.skip("the autograder console script is not installed")
    batch = tmp_path / "batch"
    materialise(CORRECT, batch / "alice")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    marker = tmp_path / "ran"
    (cwd / "numpy.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\nraise ImportError('not numpy')\n")
    done = subprocess.run([script, "batch", str(batch), "-o", str(tmp_path / "out"), "-j", "1", "-q"], cwd=cwd,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not marker.exists()
