"""The README's test command and CI: plain ``pytest`` leaves the slow tests out, ``.ci/run`` runs them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_plain_pytest_deselects_slow_tests_and_ci_runs_them():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r"""^addopts = ".*-m 'not slow'.*"$""", pyproject, re.M)
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pytest -m slow || status=$?" in ci
    assert '[ "$status" -ne 5 ]' in ci  # pytest's "no tests collected" is not a failure


def test_slow_tests_are_collected_only_with_minus_m_slow():
    def collected(*args: str) -> set[str]:
        done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-p", "no:cacheprovider",
                               *args, "tests/test_install.py", "tests/test_solutions_kl.py"],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)
        return {line.split("::")[0] for line in done.stdout.splitlines() if "::" in line}

    assert collected() == {"tests/test_solutions_kl.py"}
    assert collected("-m", "slow") == {"tests/test_install.py"}
