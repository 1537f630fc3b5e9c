"""Correct submissions get full marks whatever their submission id (issue 11: no false failures).

Hidden cases are seeded by the submission id, so a tolerance too tight for round-off fails a
correct submission for a few ids only (e.g. id 900035 with the development secret: numpy's
default ``pinv`` cut-off against the reference's, amplified over an NPG trajectory). The slow
test grades the reference and every correct-but-different submission of the catalogue under many
ids with ``benchmarks/bench_false_failures.py``; the script's default is 2,000 ids per variant.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "bench_false_failures.py"
# 11 variants x 200 ids = 2,200 grades: about 3 minutes with -j 2 on this 2-core machine (2,000
# ids for each variant took 44 minutes under load). --disjoint gives each variant its own 200 ids,
# so the test meets 2,200 different hidden-case draws. At the measured rate (1 id in 120
# for one variant) a variant with that problem shows it here with probability
# 1 - (119/120)^200 = 0.81; the full 2,000 ids per variant is the benchmark's default.
IDS_PER_VARIANT = 200
FIRST_ID = 900000


def _run(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    out = tmp_path / "false_failures.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), *args, "--json", str(out)], capture_output=True,
                          text=True, cwd=ROOT, timeout=1800)
    assert out.exists(), proc.stdout + proc.stderr
    return proc, json.loads(out.read_text())


@pytest.mark.slow
def test_script_reports_ids_and_failures(tmp_path: Path) -> None:
    # Two ids, two variants, one job per id: the table and the JSON carry what was graded.
    proc, data = _run(tmp_path, "-n", "2", "--start", "900000", "-j", "2", "--chunk", "1",
                      "--variant", "reference", "--variant", "lstsq")
    assert set(data["variants"]) == {"reference", "lstsq"}
    for name, result in data["variants"].items():
        assert result["graded"] == 2, name
        assert result["cross_checked"] == 2, name  # every chunk's first id was also graded in full
        assert result["errors"] == [], name
    assert "ids 900000..900001" in proc.stdout
    assert "4 grades" in proc.stdout
    assert proc.returncode == (1 if any(r["failures"] for r in data["variants"].values()) else 0)


@pytest.mark.slow
def test_correct_submissions_have_no_false_failures(tmp_path: Path) -> None:
    proc, data = _run(tmp_path, "-n", str(IDS_PER_VARIANT), "--start", str(FIRST_ID), "-j", "2", "--disjoint")
    from submissions.correct import DIFFERENT

    assert set(data["variants"]) == {spec.name for spec in DIFFERENT}
    ranges = sorted(tuple(result["ids"]) for result in data["variants"].values())
    assert all(a[1] < b[0] for a, b in zip(ranges, ranges[1:]))  # each variant its own ids
    for name, result in data["variants"].items():
        assert result["graded"] == IDS_PER_VARIANT == result["ids"][1] - result["ids"][0] + 1, name
        assert result["errors"] == [], (name, result["errors"])
    failures = {name: result["failures"] for name, result in data["variants"].items() if result["failures"]}
    assert not failures, "correct submissions below full marks (variant: {id: failed checks}):\n" + proc.stdout
    assert proc.returncode == 0
