"""A plain (non-editable) install works: the wheel holds everything the command line reads.

Builds the project's wheel, installs it into a fresh virtual environment, and runs ``demo``,
``grade``, ``bundle``, ``batch`` and ``audit`` from a folder outside the checkout, with nothing of
the checkout on the path. Before, the wheel lacked ``solutions/``'s data (the manifest, the
executed notebook, the notebook's text) and ``autograder demo`` stopped with FileNotFoundError.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from autograder.demo.samples import SAMPLES, materialise

pytestmark = pytest.mark.slow  # a wheel build and an install with dependencies: about a minute

CHECKOUT = Path(__file__).resolve().parents[1]


def _run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{argv} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict[str, str], Path]:
    """(bin folder of a fresh venv holding the installed wheel, its environment, a work folder)."""
    base = tmp_path_factory.mktemp("install")
    wheels = base / "wheels"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(CHECKOUT)], base, env)
    (wheel,) = wheels.glob("npg_autograder-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "solutions/npg_solution.ipynb" in names and "solutions/assignment.json" in names
    target = base / "venv"
    venv.create(target, with_pip=True)
    bin_dir = target / "bin"
    _run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel)], base, env)
    env["PATH"] = os.pathsep.join([str(bin_dir), env.get("PATH", "")])
    work = base / "elsewhere"
    work.mkdir()
    return bin_dir, env, work


def test_the_installed_packages_come_from_the_venv_not_the_checkout(installed):
    bin_dir, env, work = installed
    probe = "import autograder, solutions; print(autograder.__file__); print(solutions.__file__)"
    out = _run([str(bin_dir / "python"), "-c", probe], work, env).stdout.split()
    for path in out:
        assert "site-packages" in path and not Path(path).resolve().is_relative_to(CHECKOUT), path


def test_demo_and_grade_run_from_any_folder(installed):
    bin_dir, env, work = installed
    demo = _run([str(bin_dir / "autograder"), "demo"], work, env).stdout
    # both assignments' correct samples get full marks from a plain install (the CartPole one needs
    # scikit-learn and gymnasium, dependencies of the project: without them its train lost 12 points)
    assert demo.count("correct            100.0/100") == 2, demo
    submission = materialise(SAMPLES[0], work / "correct")
    _run([str(bin_dir / "autograder"), "grade", str(submission), "-o", str(work / "results.json")], work, env)
    results = json.loads((work / "results.json").read_text())
    assert abs(results["score"] - 100.0) < 1e-6, results["output"]  # points are sums of fixed weights


def test_bundle_batch_and_audit_run_from_any_folder(installed):
    bin_dir, env, work = installed
    # two assignments are registered (npg and cartpole): bundle and audit need --assignment
    _run([str(bin_dir / "autograder"), "bundle", "--assignment", "npg", "-o", str(work / "autograder.zip")], work, env)
    with zipfile.ZipFile(work / "autograder.zip") as bundle:
        assert {"setup.sh", "run_autograder"} <= set(bundle.namelist())
    assert (work / "autograder.zip.secret").is_file()

    klass = work / "class"
    materialise(SAMPLES[0], klass / "alice")
    wrong = next(s for s in SAMPLES if s.name == "reversed-kl")
    materialise(wrong, klass / "bob")
    _run([str(bin_dir / "autograder"), "batch", str(klass), "-o", str(work / "out"), "-j", "1", "-q"], work, env)
    rows = {row["submission_id"]: row for row in csv.DictReader((work / "out" / "grades.csv").open())}
    assert abs(float(rows["alice"]["total"]) - 100.0) < 1e-6
    assert float(rows["bob"]["total"]) < 100.0 - 1.0

    out = _run([str(bin_dir / "autograder"), "audit", "--assignment", "npg", "--function", "kl_bernoulli", "-j", "1",
                "-o", str(work / "report")], work, env).stdout
    assert "Mutation score" in out
    audit = json.loads((work / "report" / "audit.json").read_text())
    assert audit["mutants"], "the audit found no mutant of kl_bernoulli"
