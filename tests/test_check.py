"""The students' check module (generated check.py) and ``autograder check``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from autograder.assign.templates import check as check_module
from autograder.check import run_public_checks
from autograder.cli import main
from autograder.errors import UserError

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = REPO / "assignments" / "npg"


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 8, 11, 30])
def test_chi2_sf_matches_scipy(df: int) -> None:
    for x in [0.01, 0.5, 1.0, df, 2.0 * df, 25.0, 60.0]:
        np.testing.assert_allclose(check_module.chi2_sf(x, df), stats.chi2.sf(x, df), rtol=1e-9, atol=1e-300)


def _categorical_case(pmf: np.ndarray, n: int) -> dict:
    return {"compare": {"kind": "categorical", "pmf": pmf.tolist(), "alpha": 1e-6, "n": n, "seed": 0}}


def test_g_test_accepts_exact_draws_and_rejects_a_small_bias() -> None:
    pmf = np.array([[0.5, 0.0], [0.3, 0.2]])
    n = 20000
    rng = np.random.default_rng(0)
    for _ in range(20):  # a correct sampler fails with probability 1e-6 per check
        cells = rng.choice(4, size=n, p=pmf.ravel())
        ok, lines = check_module._compare_categorical(_categorical_case(pmf, n), None, (cells // 2, cells % 2), [])
        assert ok, lines
    biased = np.array([0.5, 0.0, 0.27, 0.23])  # 3 points of probability moved between two cells
    cells = rng.choice(4, size=n, p=biased)
    ok, lines = check_module._compare_categorical(_categorical_case(pmf, n), None, (cells // 2, cells % 2), [])
    assert not ok and "p-value" in "\n".join(lines)
    ok, lines = check_module._compare_categorical(
        _categorical_case(pmf, n), None, (np.zeros(n, dtype=int), np.ones(n, dtype=int)), []
    )
    assert not ok and "has probability 0" in lines[0]
    ok, lines = check_module._compare_categorical(_categorical_case(pmf, n), None, (np.zeros(n), np.zeros(n)), [])
    assert not ok and "integer array" in lines[0]


def test_direction_comparison_accepts_any_solution_of_a_singular_system() -> None:
    F = np.array([[1.0, 1.0, 0.0], [1.0, 2.0, 1.0], [0.0, 1.0, 1.0]])
    g = F @ np.array([1.0, 2.0, 0.0])
    v = np.linalg.pinv(F) @ g
    case = {"compare": {"kind": "direction", "F": 0, "g": 1}, "rtol": 1e-5, "atol": 1e-8}
    null = np.array([1.0, -1.0, 1.0])
    assert check_module._compare_direction(case, v, v + 3.0 * null, [F, g])[0]
    ok, lines = check_module._compare_direction(case, v, g, [F, g])
    assert not ok and "F v differs:" in lines


def _run(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=folder, capture_output=True, text=True, timeout=300)


def test_check_run_in_notebook_mode_uses_the_given_namespace(tmp_path: Path) -> None:
    folder = tmp_path / "npg"
    shutil.copytree(ASSIGNMENT, folder, ignore=shutil.ignore_patterns("__pycache__"))
    script = (
        "import numpy as np, check\n"
        "def kl_bernoulli(p, q):\n"
        "    p, q = np.asarray(p, float), np.asarray(q, float)\n"
        "    with np.errstate(divide='ignore', invalid='ignore'):\n"
        "        t1 = np.where(p > 0, p * np.log(p / q), 0.0)\n"
        "        t2 = np.where(p < 1, (1 - p) * np.log((1 - p) / (1 - q)), 0.0)\n"
        "    return t1 + t2\n"
        "s = check.run('kl_bernoulli', globals())\n"
        "print(s.ok, repr(s))\n"
        "print(check.run(kl_bernoulli).ok)\n"
        "print(check.run('kl_divergence', {}, verbose=False).outcomes[0].status)\n"
    )
    proc = _run(folder, "-c", script)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "kl_bernoulli: 2/2 public cases passed [ok]" in lines[0]
    assert lines[1] == "True <check: 2/2 public cases passed>"
    assert lines[-2:] == ["True", "not implemented"]


def test_check_cli_runs_the_folder_check_py(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    folder = tmp_path / "npg"
    shutil.copytree(ASSIGNMENT, folder, ignore=shutil.ignore_patterns("__pycache__"))
    assert run_public_checks(folder) == 1
    assert "not implemented yet" in capfd.readouterr().out
    assert main(["check", str(folder), "kl_divergence"]) == 1
    out = capfd.readouterr().out
    assert "kl_divergence: not implemented yet" in out and "policy_kl" not in out
    assert main(["check", str(folder), "no_such_part"]) == 2
    with pytest.raises(UserError, match="no check.py here"):
        run_public_checks(tmp_path)
    assert main(["check", str(tmp_path)]) == 2


def test_check_py_list_and_unknown_part() -> None:
    proc = _run(ASSIGNMENT, "check.py", "--list")
    assert proc.returncode == 0 and proc.stdout.startswith("kl_divergence: kl_divergence-1")
    proc = _run(ASSIGNMENT, "check.py", "nope")
    assert proc.returncode == 2 and "unknown part 'nope'" in proc.stderr
