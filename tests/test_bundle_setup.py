"""The bundle's ``setup.sh`` end to end, as root, against this machine's system Python.

Gradescope runs ``setup.sh`` once as root on Ubuntu 22.04; newer images (Debian 12, Ubuntu 24.04)
mark the system Python as externally managed (PEP 668), and ``pip install`` into it is refused.
``setup.sh`` must therefore never touch the system Python: it creates a virtual environment in
``$AUTOGRADER_ROOT/venv`` from the lock file of its Python version (hashes required), readable by
the sandbox user, and ``run_autograder`` uses it by default. This machine's ``/usr/bin/python3``
is Debian 12's, externally managed: the test runs the real thing against it.

It also checks the declared student environment end to end: the catalogue's scipy submission gets
the same full marks from the bundle as from ``autograder grade``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from cartpole_submissions import submission_files
from submissions import build
from submissions.correct import DIFFERENT
from test_bundle_root import _delete_user, _extract, _honest_files

from autograder import registry
from autograder.bundle import build_bundle, bundle_limits
from autograder.environment import student_environment
from autograder.grade import grade

pytestmark = [
    pytest.mark.root,
    pytest.mark.slow,  # pip installs the locked packages into a fresh venv: a minute or more
    pytest.mark.skipif(os.geteuid() != 0, reason="Gradescope runs setup.sh as root; CI runs this as root"),
]

SYSTEM_PYTHON = Path("/usr/bin/python3")


def _system_site_listing() -> dict[str, float]:
    """Modification times of the system Python's package folders: setup.sh must change none."""
    probe = "import site, json; print(json.dumps(site.getsitepackages()))"
    done = subprocess.run([str(SYSTEM_PYTHON), "-I", "-c", probe], capture_output=True, text=True, check=True)
    listing = {}
    for folder in json.loads(done.stdout):
        if os.path.isdir(folder):
            for entry in os.scandir(folder):
                listing[entry.path] = entry.stat().st_mtime
    return listing


def _install(assignment: str):
    """Build ``assignment``'s bundle, run its setup.sh as root against the system Python; yield
    (root, env, bundle, setup's output, the system site listing before)."""
    if not SYSTEM_PYTHON.is_file():
        pytest.fail(f"{SYSTEM_PYTHON} is missing (CI runs on Debian 12, which has it)")
    user = f"npg-setup-{uuid.uuid4().hex[:12]}"
    base = Path(tempfile.mkdtemp(prefix="npg-setup-test-"))
    os.chmod(base, 0o755)
    try:
        bundle = build_bundle(base / "autograder.zip", limits=bundle_limits(2.0, 20.0), sandbox_user=user,
                              suite=assignment)
        root = base / "autograder"
        (root / "source").mkdir(parents=True)
        os.chmod(root, 0o755)
        _extract(bundle.output, root / "source")
        before = _system_site_listing()
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
               "AUTOGRADER_ROOT": str(root), "AUTOGRADER_BASE_PYTHON": str(SYSTEM_PYTHON),
               "AUTOGRADER_SANDBOX_USER": user}
        for key in ("PIP_CONFIG_FILE", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CERT"):
            if key in os.environ:  # the machine's package mirrors, as a Gradescope image would have its own
                env[key] = os.environ[key]
        done = subprocess.run(["bash", str(root / "source" / "setup.sh")], env=env, capture_output=True, text=True,
                              timeout=900)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        yield root, env, bundle, done.stdout + done.stderr, before
    finally:
        shutil.rmtree(base, ignore_errors=True)
        _delete_user(user)


@pytest.fixture(scope="module")
def installed():
    yield from _install("npg")


@pytest.fixture(scope="module")
def installed_cartpole():
    yield from _install("cartpole")


def test_setup_installs_the_lock_into_a_venv_and_leaves_the_system_python_alone(installed):
    root, env, _, output, before = installed
    venv_python = root / "venv" / "bin" / "python"
    assert venv_python.exists(), output
    assert _system_site_listing() == before, "setup.sh changed the system Python's packages"
    version = subprocess.run([str(venv_python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    lock = root / "source" / f"requirements-py{version}.txt"
    pins = dict(line.split(" ")[0].split("==") for line in lock.read_text().splitlines() if line[:1].isalpha())
    freeze = subprocess.run([str(venv_python), "-m", "pip", "freeze", "--all"], capture_output=True, text=True,
                            check=True).stdout
    installed_versions = {name.lower().replace("_", "-"): v for name, v in
                          (line.split("==") for line in freeze.splitlines() if "==" in line)}
    for name, pinned in pins.items():
        assert installed_versions.get(name.lower().replace("_", "-")) == pinned, (name, pinned, freeze)
    for name, pinned in student_environment().packages:  # the student environment, exactly
        assert installed_versions[name.lower()] == pinned
    # setup.sh's own self-test ran as the sandbox user (it exits non-zero otherwise) and said so:
    assert "locked packages for Python" in output and "setup.sh: done" in output
    stdlib = subprocess.run([str(SYSTEM_PYTHON), "-I", "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
                            capture_output=True, text=True, check=True).stdout.strip()
    if (Path(stdlib) / "EXTERNALLY-MANAGED").exists():  # Debian 12 here: pip would refuse the system Python
        refused = subprocess.run([str(SYSTEM_PYTHON), "-m", "pip", "install", "--dry-run", "six"],
                                 capture_output=True, text=True)
        assert refused.returncode != 0 and "externally-managed" in refused.stderr


def _run_bundle(root: Path, env: dict, files: dict[str, str] | None = None, folder: Path | None = None) -> dict:
    """run_autograder with its default Python (the venv), on a fresh submission; the results."""
    submission = root / "submission"
    shutil.rmtree(submission, ignore_errors=True)
    shutil.rmtree(root / "results", ignore_errors=True)
    submission.mkdir()
    for name, text in (files or {}).items():
        (submission / name).write_text(text)
    if folder is not None:
        shutil.copytree(folder, submission, dirs_exist_ok=True)
    (root / "submission_metadata.json").write_text(json.dumps({"id": 7, "assignment": {}}))
    run_env = {**env, "AUTOGRADER_ISOLATION": "user"}
    done = subprocess.run([str(root / "source" / "run_autograder")], env=run_env, capture_output=True, text=True,
                          timeout=300, cwd=str(root))
    results = json.loads((root / "results" / "results.json").read_text())
    results["_stdout"] = done.stdout + done.stderr
    return results


def test_the_bundle_grades_with_the_venv_and_the_declared_environment(installed):
    root, env, bundle, _, _ = installed
    scipy_submission = build(next(spec for spec in DIFFERENT if spec.name == "scipy"), root.parent / "scipy")
    correct = _run_bundle(root, env, files=_honest_files())
    assert abs(correct["score"] - 100.0) < 1e-6, correct["output"] + correct["_stdout"][-2000:]
    # The catalogue's correct scipy submission: scipy is in the student environment, so the bundle
    # grades it as `autograder grade` does (before: 26/100 and ModuleNotFoundError on Gradescope).
    on_gradescope = _run_bundle(root, env, folder=scipy_submission)
    _, local = grade(scipy_submission, secret_file=bundle.secret_file, identity="7")
    assert abs(on_gradescope["score"] - local["score"]) < 1e-6
    assert abs(on_gradescope["score"] - 100.0) < 1e-6, on_gradescope["output"]
    # An import outside the environment is one clear line, not a traceback.
    files = _honest_files()
    files["kl.py"] += "\nimport pandas\n"
    outside = _run_bundle(root, env, files=files)
    text = json.dumps(outside["tests"]) + outside["output"]
    assert "pandas is not available on the grading server; use numpy" in text
    assert "Traceback" not in text and "ModuleNotFoundError" not in text


def test_the_cartpole_bundle_installs_its_environment_and_grades_like_autograder_grade(installed_cartpole):
    """The CartPole bundle installs its own lock (scikit-learn, gymnasium) and grades the reference
    100/100 and a mistake (per-step Fisher averaging) below, each equal to ``autograder grade``."""
    root, env, bundle, output, before = installed_cartpole
    assert _system_site_listing() == before, "setup.sh changed the system Python's packages"
    venv_python = root / "venv" / "bin" / "python"
    freeze = subprocess.run([str(venv_python), "-m", "pip", "freeze", "--all"], capture_output=True, text=True,
                            check=True).stdout.lower()
    for name, pinned in student_environment(registry.get("cartpole").manifest_path).packages:
        assert f"{name.lower()}=={pinned}" in freeze, (name, pinned)
    for fixtures, full in (((), True), (("fisher_per_step",), False)):
        files = submission_files(fixtures)
        on_gradescope = _run_bundle(root, env, files=files)
        folder = root.parent / ("cp-" + "-".join(fixtures or ("reference",)))
        folder.mkdir()
        for name, text in files.items():
            (folder / name).write_text(text)
        _, local = grade(folder, secret_file=bundle.secret_file, identity="7", assignment="cartpole")
        assert abs(on_gradescope["score"] - local["score"]) < 1e-6, on_gradescope["output"]
        if full:
            assert abs(on_gradescope["score"] - 100.0) < 1e-6, on_gradescope["output"]
        else:
            assert on_gradescope["score"] < 100.0 - 1.0
