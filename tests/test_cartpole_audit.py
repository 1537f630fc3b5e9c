"""The CartPole suite audited like the tabular one (``autograder audit --assignment cartpole``).

Measured 2026-12-01 (README, "The CartPole assignment"): 136 mutants, 133 killed, 3 survivors, all
harmless by the issue's own list (``solve`` -> ``pinv`` on the positive definite F, twice) or
equivalent in numpy (``reshape(-2, 1)``, which numpy reads as ``reshape(-1, 1)``). This test audits
the functions where the strangers found the suite blind (``compute_eta`` without its guard,
``sample`` reseeding) plus ``compute_value_gradient``, and requires every survivor to be one of
those three.
"""

from __future__ import annotations

import pytest

from autograder.audit import run_audit

HARMLESS_SURVIVORS = (
    ("np.linalg.solve(fisher, v_grad)", "np.linalg.pinv(fisher) @ v_grad"),
    (".reshape(-1, 1)", ".reshape(-2, 1)"),
)


@pytest.mark.slow  # about 60 mutants, 2 to 3 s each in the sandbox
def test_the_cartpole_suite_kills_every_harmful_mutant_of_eta_sample_and_value_gradient(tmp_path):
    report = run_audit(jobs=2, output=tmp_path, assignment="cartpole",
                       functions=["compute_eta", "sample", "compute_value_gradient"])
    assert not report.errors, [(r.id, r.error) for r in report.errors]
    assert len(report.results) >= 30
    unexplained = [(r.id, r.original, r.mutated) for r in report.survivors
                   if not any(a in r.original and b in r.mutated for a, b in HARMLESS_SURVIVORS)]
    assert not unexplained
    guards = [r for r in report.results if "ETA_EPSILON" in r.original and "ETA_EPSILON" not in r.mutated
              or "+ ETA_EPSILON" in r.original and "- ETA_EPSILON" in r.mutated]
    assert guards and all(r.status == "killed" for r in guards)
