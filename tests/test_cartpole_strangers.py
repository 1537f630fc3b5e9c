"""Submissions strangers wrote for the CartPole handout, graded end to end in the sandbox.

``tests/submissions/strangers_cp/{e,f}/`` holds them as written (``.py`` pairs under either file
name, or a notebook), each folder's ``catalogue.json`` says which are correct and, for the others,
the function the mistake is in. Correct ones, and the harmless 1 x 1 eta, must get 100; every
mistake must lose points in its own part. Before issue 13's fixes, reseeding numpy in ``sample``
and an eta without its guard got 100.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograder.grade import grade

STRANGERS = Path(__file__).parent / "submissions" / "strangers_cp"
HARMLESS = {"m12_eta_1x1_array", "m11_eta_1x1_array"}  # eta as a 1 x 1 array: the handout allows it
CATALOGUE = [(group.name, entry) for group in sorted(STRANGERS.iterdir()) if group.is_dir()
             for entry in json.loads((group / "catalogue.json").read_text(encoding="utf-8"))]


@pytest.mark.slow  # about 10 s a submission in the sandbox
@pytest.mark.parametrize(("group", "entry"), CATALOGUE, ids=[f"{g}/{e['name']}" for g, e in CATALOGUE])
def test_each_stranger_submission_gets_its_expected_outcome(tmp_path, group, entry):
    folder = STRANGERS / group / entry["name"]
    report, _ = grade(folder, tmp_path / "results.json", secret=b"strangers-cp", identity=entry["name"],
                      assignment="cartpole")
    scores = report.part_scores()
    total = sum(got for got, _ in scores.values())
    if entry["correct"] or entry["name"] in HARMLESS:
        assert total == pytest.approx(100.0, abs=1e-6), [r.check.name for r in report.results if not r.outcome.passed]
        return
    got, full = scores[entry["function"]]
    assert got < full, f"{entry['name']} must lose points in {entry['function']}"
