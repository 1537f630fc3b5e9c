"""Grade validity against code nobody here wrote (issue 11): no free points, inputs unchanged,
each NPG step judged where it is taken, metamorphic relations that no fixed threshold can dodge."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from submissions import build
from submissions.replay import record_public_answers, replay_submission

from autograder.grade import grade
from autograder.suites.npg import npg_checks

SECRET = b"test-secret"


def test_replaying_public_answers_earns_nothing(tmp_path: Path) -> None:
    """A submission that returns, call by call, every public check's expected value passes the
    public checks but no hidden one: its parts' public points are withheld and it scores ~0
    (the former rule, which only guarded the lecture example, gave it 54.6 / 100)."""
    answers = record_public_answers(tmp_path, SECRET, "replay-target")
    report, results = grade(replay_submission(tmp_path, answers), secret=SECRET, identity="replay-attacker")
    public = [r for r in report.results if r.check.kind != "hidden"]
    assert sum(r.outcome.passed for r in public) >= len(public) * 0.8  # the replay does pass the public checks
    assert not any(r.outcome.passed for r in report.results if r.check.kind == "hidden")
    assert report.score <= 1.0
    assert results["score"] <= 1.0


def _system(seed: int, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """A random MDP's exact F and g (log-linear features; F positive definite)."""
    from autograder.suites.npg import cases
    from solutions.fisher import fisher_information
    from solutions.mdp import policy_gradient

    mdp, policy, theta = cases.MDPCase(seed, 4, 3, num_features=k).build()
    return fisher_information(mdp, policy, theta), policy_gradient(mdp, policy, theta)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_step_judge_accepts_correct_steps_however_computed(seed: int) -> None:
    """The reference step, one from numpy's default pinv, and one computed in float32 are all
    trust-region steps (their backward errors are ~1e-16 and ~1e-7 of ||F||, within STEP_ETA = 1e-3)."""
    from solutions.npg import trust_region_step

    F, g = _system(seed)
    delta = 0.05
    v = np.linalg.pinv(F) @ g
    single = np.linalg.pinv(F.astype(np.float32)) @ g.astype(np.float32)
    steps = [trust_region_step(F, g, delta), np.sqrt(delta / (g @ v)) * v,
             (np.sqrt(np.float32(delta) / (g.astype(np.float32) @ single)) * single).astype(float)]
    for D in steps:
        assert npg_checks._judge_step(F, g, delta, D, rounding=0.0) is None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_step_judge_rejects_the_mistakes(seed: int) -> None:
    """TRPO's 2 delta, a missing square root, the plain gradient, no step for a non-zero gradient and
    a step against g each break F D = s g or D^T F D = delta by order 1, far outside the tolerance."""
    from solutions.npg import trust_region_step

    F, g = _system(seed)
    delta = 0.05
    D = trust_region_step(F, g, delta)
    v = np.linalg.pinv(F) @ g
    wrong = {"trpo": np.sqrt(2.0) * D, "no sqrt": delta / (g @ v) * v, "plain gradient": np.sqrt(delta / (g @ g)) * g,
             "no step": np.zeros_like(g), "downhill": -D}
    for name, step in wrong.items():
        assert npg_checks._judge_step(F, g, delta, step, rounding=0.0) is not None, name


def test_step_judge_is_invariant_to_the_size_of_g() -> None:
    """The step does not depend on the scale of g: scaled by 1e-12 or 1e12, the same D passes,
    and D = 0 fails (an np.allclose(g, 0) guard)."""
    from solutions.npg import trust_region_step

    F, g = _system(4)
    D = trust_region_step(F, g, 0.05)
    for c in npg_checks.SCALES:
        assert npg_checks._judge_step(F, c * g, 0.05, D, rounding=0.0) is None
        assert npg_checks._judge_step(F, c * g, 0.05, np.zeros_like(g), rounding=0.0) is not None


def test_child_reports_arguments_changed_in_place() -> None:
    """The child's snapshot names an aliased array (theta = theta0; theta += D) and a changed
    attribute of the MDP, and nothing for an untouched argument."""
    import importlib.util
    import sys

    import solutions.mdp
    from autograder.engine import child

    spec = importlib.util.spec_from_file_location("mdp", solutions.mdp.__file__)
    module = importlib.util.module_from_spec(spec)
    saved = sys.modules.get("mdp")
    sys.modules["mdp"] = module
    try:
        spec.loader.exec_module(module)
        mdp, policy = module.example_mdp()
    finally:
        if saved is None:
            sys.modules.pop("mdp", None)
        else:
            sys.modules["mdp"] = saved

    def npg(mdp: object, policy: object, theta0: np.ndarray, delta: float) -> np.ndarray:
        theta = theta0
        theta += 1.0
        mdp.r[0, 0] = 5.0
        return theta

    theta0 = np.zeros(1)
    named = child._argument_names(npg, [mdp, policy, theta0, 0.1], {})
    before = [(name, child._snapshot(value)) for name, value in named]
    npg(mdp, policy, theta0, 0.1)
    changed = [c for (name, value), (_, snap) in zip(named, before) for c in child._changes(name, value, snap)]
    assert changed == ["mdp.r", "theta0"]


def test_late_due_date_decides_when_hidden_checks_appear(tmp_path: Path) -> None:
    """Gradescope shows after_due_date tests after the late due date when one is set."""
    import json
    from datetime import datetime, timezone

    from autograder.bundle.gradescope import read_metadata

    path = tmp_path / "submission_metadata.json"
    path.write_text(json.dumps({"id": 5, "assignment": {"due_date": "2024-03-08T23:59:00Z",
                                                         "late_due_date": "2024-03-10T23:59:00Z"}}))
    assert read_metadata(path).last_due_date == datetime(2024, 3, 10, 23, 59, tzinfo=timezone.utc)
    path.write_text(json.dumps({"id": 5, "assignment": {"due_date": "2024-03-08T23:59:00Z"}}))
    assert read_metadata(path).last_due_date == datetime(2024, 3, 8, 23, 59, tzinfo=timezone.utc)


def test_students_summary_says_nothing_from_hidden_checks(tmp_path: Path) -> None:
    """Before hidden checks are shown, the summary counts public checks only, names no mistake
    found by a hidden check, says how many hidden checks ran, and uses student-facing names."""
    from submissions.wrong import WRONG

    from autograder.engine.results import gradescope_results, summary_text

    spec = next(s for s in WRONG if "sampler_t_starts_at_1" in s.lose.get("sample_state_actions", ()))
    report, _ = grade(build(spec, tmp_path / spec.name), secret=SECRET, identity="summary")
    hidden = [r for r in report.results if r.check.kind == "hidden"]
    hidden_only = {r.outcome.mistake for r in hidden} - {r.outcome.mistake for r in report.results
                                                         if r.check.kind != "hidden"}
    # make one hidden check report a mistake no public check reports
    hidden[0].outcome.mistake = "fisher_centred"
    text = summary_text(report, hidden_shown=False)
    assert f"{len(hidden)} hidden checks run; shown after the due date" in text
    assert "sampler_t_starts_at_1" not in text and "t starting at 1" in text
    assert "centred" not in text and not any(report.suite.mistake_title(m) in text for m in hidden_only if m)
    public = sum(r.check.part == "sample_state_actions" and r.check.kind != "hidden" for r in report.results)
    assert f"/{public} public checks passed" in text
    assert "centred" in summary_text(report, hidden_shown=True)
    assert gradescope_results(report)["output"] == text


def test_handout_states_the_rules() -> None:
    """The students' README says up front: arguments unchanged (with the alias example), no size
    thresholds, and public points counting in proportion to hidden checks."""
    text = (Path(__file__).resolve().parent.parent / "assignments" / "npg" / "README.md").read_text(encoding="utf-8")
    rules = text.split("## What to implement")[0]
    for words in ("Do not change your arguments", "theta0.copy()", "No thresholds on sizes", "No free points",
                  "in proportion to that part's hidden checks"):
        assert words in rules, words


def test_default_pinv_passes_the_npg_case_that_failed_end_to_end(tmp_path: Path) -> None:
    """Id 900035 with the development secret: numpy's default pinv cut-off drifts from the
    reference's trajectory (first differing iterate t = 4, |theta| ~ 63), yet every step it takes is
    a correct trust-region step at its own iterate; judged step by step it passes."""
    from submissions import run_in_process
    from submissions.correct import DIFFERENT

    from autograder.engine.secret import DEVELOPMENT_SECRET

    spec = next(s for s in DIFFERENT if s.name == "pinv-default")
    failures = run_in_process(build(spec, tmp_path / spec.name), DEVELOPMENT_SECRET, "900035")
    assert not failures, "\n".join(f"{part}: {check}\n{outcome.message}" for part, check, outcome in failures)


def test_visible_dependency_notes_count_public_checks_only(tmp_path: Path) -> None:
    """A visible check's 'fix the part it calls first' note counts that part's public checks only;
    a hidden check's note may count them all."""
    from submissions.independent import STRANGERS_WRONG

    spec = next(s for s in STRANGERS_WRONG if s.name == "stranger-m01_tr_allclose_guard")
    report, _ = grade(build(spec, tmp_path / spec.name), secret=SECRET, identity="notes")
    notes = [(r.check.kind, line) for r in report.results if not r.outcome.passed
             for line in r.outcome.message.splitlines() if line.startswith("Note: your trust_region_step")]
    visible = [line for kind, line in notes if kind != "hidden"]
    assert visible and all(" public checks; " in line for line in visible)
    public = sum(r.check.part == "trust_region_step" and r.check.kind != "hidden" for r in report.results)
    assert all(line.split(" of ")[1].startswith(f"{public} public") for line in visible)
