"""The NPG suite is tested by what it catches (issue 4): every catalogued mistake loses points in
the right parts and is named; correct-but-different submissions get full marks.

Submissions are built from the reference by ``tests/submissions`` (patches and partial files), so
they stay in step with it. One test grades one submission end to end in the sandbox.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from submissions import Spec, build, grade_all, run_in_process
from submissions.correct import DIFFERENT
from submissions.independent import STRANGERS_CORRECT, STRANGERS_DISPUTED, STRANGERS_WRONG
from submissions.wrong import WRONG

SECRET = b"test-secret"

# The issue's list of mistakes the feedback must name, as catalogue keys.
ISSUE_MISTAKES = {
    "reversed KL": "reversed_kl",
    "log base 2": "log_base_2",
    "no 0 log 0 convention": "no_zero_log_zero",
    "the slide's missing 1/2 in the Gaussian KL": "gaussian_missing_half",
    "sigma instead of sigma^2": "sigma_not_squared",
    "missing (1 - gamma)": "missing_one_minus_gamma",
    "weighting by d^theta instead of d^theta0": "weighted_by_d_theta",
    "uniform weighting instead of d": "uniform_state_weights",
    "mu0 weighting instead of d": "mu0_state_weights",
    "the score without its baseline term": "score_without_baseline",
    "a non-zero score for a disallowed action": "score_nonzero_masked",
    "Fisher not weighted by pi": "fisher_not_weighted_by_pi",
    "a centred sampled Fisher": "fisher_centred",
    "an n-1 sampled Fisher": "fisher_n_minus_1",
    "g instead of F^+ g": "plain_gradient",
    "inv instead of pinv on a singular F": "inv_on_singular",
    "ignoring damping": "ignores_damping",
    "TRPO's 2*delta": "trpo_two_delta",
    "a missing square root": "missing_sqrt",
    "the Euclidean norm instead of the F-norm": "euclidean_norm",
    "no guard for a zero gradient": "no_zero_guard",
    "steepest descent instead of CG": "steepest_descent",
    "F computed once instead of every iteration": "fisher_computed_once",
    "a trajectory without theta0": "trajectory_without_theta0",
    "sampler: missing discount (fixed or uniform horizon)": "sampler_no_discount",
    "sampler: t starting at 1": "sampler_t_starts_at_1",
    "sampler: a wrong horizon (Geometric(gamma))": "sampler_wrong_horizon",
    "sampler: states from mu0": "sampler_mu0_only",
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every submission of this module, graded once, four at a time (each grade mostly waits on
    its sandbox child, so this divides the wall time on a loaded machine)."""
    return grade_all(WRONG + DIFFERENT + STRANGERS_WRONG + STRANGERS_CORRECT + STRANGERS_DISPUTED,
                     tmp_path_factory.mktemp("catalogue"), SECRET)


def _grade(spec: Spec, graded: dict):
    outcome = graded[spec.name]
    if isinstance(outcome, Exception):
        raise outcome
    report, results = outcome
    assert report.error is None, report.error
    return report, results


def _failed(report, part: str) -> list:
    return [r for r in report.results if r.check.part == part and not r.outcome.passed]


def test_every_issue_mistake_has_a_wrong_submission() -> None:
    from autograder.suites.npg.mistakes import MISTAKES

    covered = {key for spec in WRONG for keys in spec.lose.values() for key in keys}
    for what, key in ISSUE_MISTAKES.items():
        assert key in MISTAKES, f"{key} ({what}) is not in the suite's catalogue"
        assert key in covered, f"no wrong submission exercises {what} ({key})"


@pytest.mark.parametrize("spec", WRONG + STRANGERS_WRONG, ids=[s.name for s in WRONG + STRANGERS_WRONG])
def test_wrong_submission_loses_points_and_names_the_mistake(spec: Spec, graded: dict) -> None:
    report, _ = _grade(spec, graded)
    scores = report.part_scores()
    for part, keys in spec.lose.items():
        score, max_score = scores[part]
        assert score < max_score - 1e-9, f"{part} kept all its points ({score}/{max_score})"
        named = {r.outcome.mistake for r in _failed(report, part)}
        for key in keys:
            assert key in named, f"{part}: expected the feedback to name {key}, it named {named}"
            assert key in report.mistakes()
    for part in spec.dependent:
        score, max_score = scores[part]
        assert score < max_score - 1e-9, f"{part} was expected to fail through a dependency"
        notes = [r.outcome.message for r in _failed(report, part) if "first." in r.outcome.message]
        assert notes, f"{part} fails but its feedback does not point to the failing part it calls"
    for part in spec.mention:
        text = "\n".join(r.outcome.message for r in _failed(report, part))
        for words in spec.mention[part]:
            assert words in text
    broken = set(spec.lose) | set(spec.dependent)
    for part, (score, max_score) in scores.items():
        if part not in broken:
            assert score == pytest.approx(max_score, abs=1e-9), f"{part} lost points: {score}/{max_score}"


def test_named_mistakes_explain_themselves(graded: dict) -> None:
    """A diagnosed mistake's feedback says what was expected, what came back, the tolerance and the fix."""
    spec = next(s for s in WRONG if s.name == "trpo-step")
    report, results = _grade(spec, graded)
    failure = _failed(report, "trust_region_step")[0]
    for words in ("Expected:", "Got:", "Tolerance:", "Likely mistake: TRPO's 2*delta", "sqrt(delta / (g^T F^+ g))",
                  "Reproduce it in your notebook"):
        assert words in failure.outcome.message
    outputs = [t["output"] for t in results["tests"] if "trpo_two_delta" in t.get("tags", [])]
    assert outputs and "Likely mistake" in outputs[0]


CORRECT = DIFFERENT + STRANGERS_CORRECT + STRANGERS_DISPUTED


@pytest.mark.parametrize("spec", CORRECT, ids=[s.name for s in CORRECT])
def test_correct_but_different_submission_gets_full_marks(spec: Spec, graded: dict) -> None:
    report, results = _grade(spec, graded)
    failures = [f"{r.check.part}: {r.check.name}\n{r.outcome.message}" for r in report.results if not r.outcome.passed]
    assert not failures, "\n\n".join(failures)
    assert report.score == pytest.approx(100.0, abs=1e-6)
    assert results["score"] == pytest.approx(100.0, abs=1e-4)


@pytest.mark.parametrize("name, identities", [("float32", 12), ("loops", 3), ("rollout-sampler", 3),
                                              ("null-space", 4), ("pinv-default", 4), ("cg-relative-stop", 4)])
def test_correct_but_different_passes_hidden_cases_of_other_identities(name: str, identities: int,
                                                                       tmp_path: Path) -> None:
    """Hidden cases change with the identity: run the checks of several identities in-process
    (no sandbox, for speed) so a tolerance that is only just wide enough shows up here."""
    spec = next(s for s in DIFFERENT if s.name == name)
    folder = build(spec, tmp_path / name)
    for i in range(identities):
        failures = run_in_process(folder, b"robustness", f"student-{i}")
        assert not failures, "\n".join(f"{part}: {check}\n{outcome.message}" for part, check, outcome in failures)


def test_every_failed_visible_check_gives_a_snippet_that_runs(graded: dict) -> None:
    """Issue 11: each failed public check (hand-built MDPs included, rebuilt from arrays) prints code
    the student can paste into the notebook; here it runs against the reference functions."""
    import numpy as np

    import solutions
    import solutions.mdp

    namespace = {"np": np, **{n: getattr(solutions.mdp, n) for n in solutions.mdp.__all__}}
    namespace.update({n: getattr(solutions, n) for n in solutions.__all__ if callable(getattr(solutions, n))})
    missing, broken, seen = [], [], set()
    for spec in WRONG:
        report, _ = _grade(spec, graded)
        for r in report.results:
            if r.outcome.passed or r.check.kind == "hidden" or r.outcome.mistake == "modifies_input":
                continue
            if "Passes the lecture example" in r.outcome.message:
                continue  # a scoring rule, not a call to reproduce
            if "Reproduce it in your notebook:" not in r.outcome.message:
                missing.append(f"{spec.name}: {r.check.part}: {r.check.name}")
                continue
            snippet = r.outcome.message.split("Reproduce it in your notebook:\n", 1)[1]
            code = "\n".join(line[4:] for line in snippet.splitlines() if line.startswith("    "))
            if code in seen:
                continue
            seen.add(code)
            try:
                exec(compile(code, "<snippet>", "exec"), dict(namespace))  # noqa: S102 - our own feedback text
            except Exception as exc:  # noqa: BLE001 - reported with the snippet
                broken.append(f"{spec.name}: {r.check.name}: {type(exc).__name__}: {exc}\n{code}")
    assert not missing, "\n".join(missing)
    assert not broken, "\n\n".join(broken)


@pytest.mark.parametrize("spec", STRANGERS_CORRECT, ids=[s.name for s in STRANGERS_CORRECT])
def test_testers_correct_submissions_pass_hidden_cases_of_other_identities(spec: Spec, tmp_path: Path) -> None:
    """The independent testers' correct submissions keep full marks whatever the submission id."""
    folder = build(spec, tmp_path / spec.name)
    for i in range(4):
        failures = run_in_process(folder, b"robustness", f"tester-{i}")
        assert not failures, "\n".join(f"{part}: {check}\n{outcome.message}" for part, check, outcome in failures)


def test_readme_counts_the_strangers_catalogue() -> None:
    """The README's figures for the testers' catalogue are the catalogue's."""
    import json
    import re

    root = Path(__file__).resolve().parents[1]
    entries = json.loads((root / "tests/submissions/strangers/catalogue.json").read_text())
    text = " ".join((root / "README.md").read_text().split())
    m = re.search(r"wrote (\d+) submissions, (\d+) of them notebooks \(graded as notebooks\)\. (\d+) are correct "
                  r".*?; (\d+) lose points .*?; (\d+) are correct by the handout's definitions .*? (\d+) of them "
                  r"compute `policy_kl` from probabilities", text)
    assert m, "README's strangers paragraph changed"
    notebooks = {e["base"] for e in entries if list((root / "tests/submissions/strangers" / e["base"]).glob("*.ipynb"))}
    counts = [len(entries), len(notebooks)] + [sum(e["verdict"] == v for e in entries)
                                               for v in ("correct", "wrong", "disputed")]
    counts.append(sum(any("policy_kl from probabilities" in a for a in e.get("also", ())) for e in entries)
                  + sum(e["name"] == "A_policy_kl_from_probs" for e in entries))
    assert [int(x) for x in m.groups()] == counts
