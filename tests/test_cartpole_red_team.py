"""What the red team found in the CartPole suite, each a class of attack made impossible.

The attacks are in ``tests/submissions/cartpole_redteam/<name>/`` as the red team wrote them. Each
test grades one (only the parts it attacks, in process with the FakeContext of
``cartpole_submissions``, which keeps the student's modules, and so their state, between calls
like the sandbox child) and asserts what the attack gained before no longer comes. The engine's
order (hidden checks after every visible one) is checked on the runner itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cartpole_submissions import grade_in_process

from autograder.engine import runner
from autograder.engine.suite import Check, Outcome, Suite
from autograder.registry import get

REDTEAM = Path(__file__).parent / "submissions" / "cartpole_redteam"


def attack(name: str) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted((REDTEAM / name).glob("*.py"))}


def graded(name: str, parts: set[str]):
    return grade_in_process(attack(name), "red-team", parts=parts)["report"]


def results(report, part: str) -> list:
    return [r for r in report.results if r.check.part == part]


def test_degenerate_utils_earn_their_callers_nothing():
    # a01: uniform softmax, F = I, g = 0, eta = 0 and a sample built on them got sample's 18 points
    # as "right for your own compute_log_softmax_grad" (and 50/100 in all)
    report = graded("a01-degenerate-chain", {"sample", "compute_fisher_matrix", "compute_value_gradient",
                                             "compute_eta"})
    scores = report.part_scores()
    for part in ("sample", "compute_fisher_matrix", "compute_value_gradient", "compute_eta"):
        assert scores[part][0] == pytest.approx(0.0, abs=1e-9), part  # exact sums of zero scores
    assert not any("your own" in r.outcome.message for r in report.results if r.outcome.passed)


@pytest.mark.slow  # > 10 s: every sample check in process
def test_utils_that_change_after_sample_and_train_ran_gain_nothing():
    # a02: correct utils until sample or train has run, then echoing what the grader's probes need
    # (100/100 with a sampler that always takes action 0 and a train that never updates)
    scores = graded("a02-stateful-echo", {"sample", "train"}).part_scores()
    assert scores["sample"][0] == pytest.approx(0.0, abs=1e-9)
    assert scores["train"][0] < scores["train"][1] / 2


@pytest.mark.parametrize(("name", "said"), [("a05-stale-theta", "starting theta again"),
                                             ("a06-wrong-N", "pass N = ")])
def test_train_must_chain_its_thetas_and_pass_n_through(name, said):
    # a05 (sample(theta_0, ...) every iteration) and a06 (sample(theta, env, 1)) got 12/12
    report = graded(name, {"train"})
    updates = [r for r in results(report, "train") if "theta after T updates" in r.check.name]
    assert updates and not any(r.outcome.passed for r in updates)
    assert any(said in r.outcome.message for r in updates)


@pytest.mark.parametrize(("name", "part"), [("a04-report-crash", "train"),
                                             ("a09-ragged-own", "compute_action_distribution")])
def test_malformed_values_from_the_child_are_failed_checks_not_grader_errors(name, part):
    # a04 (a ragged theta appended to the replay sampler's record) and a09 (a ragged distribution)
    # made grader-side np.asarray raise: "Autograder failed on this check (not your fault)"
    report = graded(name, {part, "sample"})  # in process, a suite error would raise here
    mine = results(report, part)
    assert not all(r.outcome.passed for r in mine)
    assert all(r.outcome.message.strip() for r in mine if not r.outcome.passed)


@pytest.mark.slow  # > 10 s: every sample check in process
def test_a_sampler_cannot_skip_the_episodes_that_would_expose_it():
    # a08: a sampler that ignores truncated and the 200 cap reset past the episodes whose schedule
    # (read from the env object) would show it: 7.88 / 18. Trajectory i must be episode i.
    report = graded("a08-cherry-pick", {"sample"})
    got, full = report.part_scores()["sample"]
    assert got == pytest.approx(0.0, abs=1e-9)
    assert any("trajectory i is the i-th episode" in r.outcome.message for r in results(report, "sample"))


def test_hidden_checks_run_after_every_visible_one(monkeypatch, tmp_path):
    # a07: hidden inputs stored by the student's code and raised in a later visible check reached
    # the visible feedback. The runner now runs hidden checks last; results keep the suite's order.
    from autograder.engine.loader import load_submission

    ran: list[str] = []

    def check(name: str, kind: str) -> Check:
        return Check("compute_softmax", name, lambda ctx: ran.append(name) or Outcome(True), kind=kind)

    real_load = runner.load_suite

    def load(name, seeds):
        suite = real_load(name, seeds)
        checks = [check("h1", "hidden"), check("v1", "random"), check("h2", "hidden"), check("v2", "edge")]
        return Suite(suite.name, [p for p in suite.parts if p.name == "compute_softmax"], checks,
                     suite.mistake_titles)

    monkeypatch.setattr(runner, "load_suite", load)
    (tmp_path / "utils.py").write_text("def compute_softmax(logits, axis):\n    return logits\n")
    (tmp_path / "train.py").write_text("")
    report = runner.grade_submission(load_submission(tmp_path, assignment=get("cartpole")), secret=b"order",
                                     suite_name="cartpole")
    assert ran == ["v1", "v2", "h1", "h2"]
    assert [r.check.name for r in report.results] == ["h1", "v1", "h2", "v2"]
