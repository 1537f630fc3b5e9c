"""The CartPole grading suite (autograder/suites/cartpole), run in process on known submissions.

The checks call student functions through a Context; here an in-process stand-in
(``cartpole_submissions.FakeContext``) runs them on the reference with fixture functions swapped
in, and the engine's own scoring rules (``runner._score``) turn outcomes into points. The same
submissions are graded end to end in the sandbox by ``tests/test_cartpole_grade.py``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cartpole_submissions import FIXTURES, grade_in_process, submission_files
from sklearn.kernel_approximation import RBFSampler

from autograder.engine.suite import Seeds
from autograder.registry import get
from autograder.suites import cartpole
from autograder.suites.cartpole import features, grading_env, rollout_checks, utils_checks
from solutions.cartpole import utils as ref

MISTAKES = sorted(p.stem for p in (FIXTURES / "cartpole_mistakes").glob("*.py"))
HARMLESS = sorted(p.stem for p in (FIXTURES / "cartpole_harmless").glob("*.py"))
# The part each mistake is in (the fixture's own function); it may cost its callers' points too.
PART_OF = {
    "action_distribution_wrong_axis": "compute_action_distribution",
    "eta_fisher_not_inverse": "compute_eta",
    "eta_no_guard": "compute_eta",
    "fisher_per_step": "compute_fisher_matrix",
    "score_without_expectation": "compute_log_softmax_grad",
    "softmax_builtin_max": "compute_softmax",
    "softmax_ignores_axis": "compute_softmax",
    "softmax_no_max_shift": "compute_softmax",
    "value_gradient_no_horizon": "compute_value_gradient",
    "value_gradient_total_return": "compute_value_gradient",
}


def part_of(name: str) -> str:
    return PART_OF.get(name) or name.split("_")[0]


# ---------------------------------------------------------------------------------------------
# The grader's own pieces: features without scikit-learn, the reward code, the manifest.
# ---------------------------------------------------------------------------------------------
def test_cached_features_are_scikit_learns_bit_for_bit():
    # The same W, b and the same float operations in the same order: identical to the last bit.
    sampler = RBFSampler(gamma=1, random_state=12345).fit(np.zeros((1, 5)))
    weights, offset = features._weights()
    np.testing.assert_array_equal(weights, sampler.random_weights_)
    np.testing.assert_array_equal(offset, sampler.random_offset_)
    rng = np.random.default_rng(0)
    for num_actions in (1, 2, 3):
        for _ in range(5):
            state = rng.normal(size=4) * [2.4, 3.0, 0.2, 3.0]
            np.testing.assert_array_equal(features.extract_features(state, num_actions),
                                          ref.extract_features(state, num_actions))
            sa = np.c_[np.repeat(state[None, :], num_actions, axis=0), np.arange(num_actions)]
            np.testing.assert_array_equal(features.extract_features(state, num_actions),
                                          sampler.transform(sa).T)


def test_the_suite_imports_neither_scikit_learn_nor_gymnasium():
    code = ("import sys; from autograder.engine.suite import Seeds; from autograder.suites import cartpole; "
            "cartpole.build(Seeds(b'x', 'y')); print(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('sklearn', 'gymnasium', 'scipy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parent.parent)
    assert out.stdout.strip() == "[]"


def test_every_reward_names_its_episode_step_and_action_in_float64_and_float32():
    for episode in range(64):
        for step in (0, 1, 57, 199, 229):
            for action in range(4):
                r = grading_env.reward(episode, step, action)
                assert grading_env.decode_reward(r) == (episode, step, action)
                assert grading_env.decode_reward(np.float32(r)) == (episode, step, action)
    for other in (1.3, 0.5, -2.0, float("nan"), float("inf")):  # not made by reward(): refused
        assert grading_env.decode_reward(other) is None
    # CartPole's constant reward 1 reads as step 0 at every step: out of order from step 1 on
    assert [grading_env.decode_reward(1.0)[1] for _ in range(2)] != [0, 1]


def test_parts_and_points_come_from_the_manifest():
    suite = cartpole.build(Seeds(b"s", "i"))
    suite.validate()
    assert sum(p.points for p in suite.parts) == pytest.approx(100.0, abs=1e-12)
    assert [p.name for p in suite.parts] == [p.function for p in get("cartpole").parts]
    assert {c.kind for c in suite.checks if c.part in ("sample", "train")} == {"random", "hidden"}
    assert set(suite.mistake_titles) >= set(MISTAKES)  # every fixture's mistake has a student-facing title


@pytest.mark.parametrize("identity", ["a", "b", "c"])
def test_graded_eta_cases_keep_the_guard_harmless(identity):
    # g^T F^-1 g >= 1 in every compute_eta case graded by value (public and hidden), where the guard
    # written 1e-5 changes eta by at most 4.5e-6 relative (inside rtol 1e-5): see utils_checks' docstring.
    # The one v_grad = 0 case only asks for a finite eta (any guard > 0 passes, tested below).
    ctx = _Recorder()
    for check in utils_checks.build(Seeds(b"eta", identity)):
        if check.part == "compute_eta" and not check.name.startswith("v_grad = 0"):
            check.run(ctx)
    assert len(ctx.args) == 5
    for _delta, fisher, g in ctx.args:
        assert (g.T @ np.linalg.solve(fisher, g)).item() >= 1.0


class _Recorder:
    """A Context that records the arguments of each call and returns nothing useful."""

    def __init__(self) -> None:
        self.args: list = []

    def call(self, part, *args, **kwargs):
        self.args.append(args)
        from cartpole_submissions import FakeResult

        return FakeResult("exception", error="recorded")


def test_public_snippets_rebuild_the_inputs():
    # The feedback's snippet of a public case, pasted into a notebook, gives the very same arrays.
    suite_checks = utils_checks.build(Seeds(b"s", "i"))
    seen = 0
    for check in suite_checks:
        if check.kind == "hidden":
            continue
        ctx = _Recorder()
        outcome = check.run(ctx)
        snippet = outcome.message.split("Reproduce it in your notebook:\n")[1]
        namespace = {"np": np, "extract_features": ref.extract_features}
        lines = [line.removeprefix("    ") for line in snippet.splitlines()]
        exec("\n".join(lines[:-1]), namespace)  # noqa: S102 - the suite's own snippet
        names = lines[-1][lines[-1].index("(") + 1:-1].split(", ")
        for name, arg in zip(names, ctx.args[0]):
            rebuilt = namespace[name]
            if isinstance(arg, list):
                np.testing.assert_array_equal(np.concatenate([np.ravel(np.asarray(t, dtype=float)) for t in rebuilt]),
                                              np.concatenate([np.ravel(np.asarray(t, dtype=float)) for t in arg]))
            else:
                np.testing.assert_array_equal(np.asarray(rebuilt), np.asarray(arg))
        seen += 1
    assert seen >= 15


# ---------------------------------------------------------------------------------------------
# Submissions: the reference and the harmless variants get full marks, every mistake is named.
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("identity", ["sub-1", pytest.param("sub-2", marks=pytest.mark.slow)])
def test_the_reference_gets_full_marks(identity):
    graded = grade_in_process(submission_files(), identity)
    failed = [r.check.name for r in graded["report"].results if not r.outcome.passed]
    assert not failed
    assert graded["report"].score == pytest.approx(100.0, abs=1e-9)


@pytest.mark.parametrize("identity", ["h-1", pytest.param("h-2", marks=pytest.mark.slow)])
def test_harmless_variants_get_full_marks(identity):
    # the five harmless variants touch five different functions: one submission holds them all
    graded = grade_in_process(submission_files(HARMLESS), identity)
    failed = [(r.check.name, r.outcome.message) for r in graded["report"].results if not r.outcome.passed]
    assert not failed


@pytest.mark.parametrize("name", MISTAKES)
def test_every_mistake_loses_points_in_its_part_with_its_name(name):
    # the checks of the mistake's own part only (the sandboxed grade of every check is in test_cartpole_grade)
    part = part_of(name)
    graded = grade_in_process(submission_files([name]), "m-1", parts={part})
    report = graded["report"]
    got, full = report.part_scores()[part]
    assert got < full - 1.0, f"{name} must lose points in {part}"
    named = [r for r in report.results if r.check.part == part and r.outcome.mistake == name]
    assert named, f"no failing check of {part} names {name}"
    title = cartpole.build(Seeds(b"", "")).mistake_title(name)
    assert title in named[0].outcome.message and name not in named[0].outcome.message


def test_a_submission_for_two_actions_only_loses_at_most_the_stated_share():
    graded = grade_in_process(submission_files(["only_two_actions"]), "two")
    report = graded["report"]
    lost = 100.0 - report.score
    assert 1.0 < lost <= cartpole.TWO_ACTION_SHARE
    failed = {r.check.name for r in report.results if not r.outcome.passed}
    assert all("3 actions" in name for name in failed), failed


def test_train_without_sample_is_named():
    # An inlined rollout loop: train never calls sample, and the feedback says so.
    files = submission_files()
    # train calls its own copy of the rollout loop, bound before the grader replaces `sample`
    files["train.py"] = files["train.py"].replace("grads, rewards = sample(theta, env, N)",
                                                  "grads, rewards = _rollouts(theta, env, N)")
    files["train.py"] += "\n_rollouts = sample\n"
    graded = grade_in_process(files, "inlined", parts={"train"})
    named = [r for r in graded["report"].results if r.outcome.mistake == "train_inlined_sample"]
    assert named and "never called sample" in named[0].outcome.message


def test_train_built_on_a_wrong_fisher_is_not_charged_twice():
    # train is right given the student's own (wrong) compute_fisher_matrix: train keeps its points,
    # compute_fisher_matrix loses its own.
    graded = grade_in_process(submission_files(["fisher_per_step"]), "own", parts={"train", "compute_fisher_matrix"})
    scores = graded["report"].part_scores()
    assert scores["train"][0] == pytest.approx(scores["train"][1], abs=1e-9)
    assert scores["compute_fisher_matrix"][0] < scores["compute_fisher_matrix"][1]


def test_g_test_false_failure_bound_is_the_stated_one():
    assert rollout_checks.FALSE_FAILURE == pytest.approx(1e-6, rel=1e-12)


# ---------------------------------------------------------------------------------------------
# The README's CartPole section says what the code does.
# ---------------------------------------------------------------------------------------------
README = Path(__file__).resolve().parent.parent / "README.md"


def _readme_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## The CartPole assignment")
    return text[start:text.index("\n## ", start + 1)]


def test_readme_table_gives_the_manifests_points_and_the_suites_checks():
    suite = cartpole.build(Seeds(b"readme", "readme"))
    rows = {}
    for line in _readme_section().splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]  # \| is a literal bar
        if len(cells) == 4 and cells[0].startswith("`") and "/" in cells[2]:
            public, hidden = (int(x) for x in cells[2].split("/"))
            rows[cells[0].strip("`")] = (float(cells[1]), public, hidden)
    expected = {}
    for p in suite.parts:
        mine = [c for c in suite.checks if c.part == p.name]
        expected[p.name] = (p.points, sum(c.kind != "hidden" for c in mine), sum(c.kind == "hidden" for c in mine))
    assert rows == expected
    total = f"{len(suite.checks)} checks ({sum(c.kind == 'hidden' for c in suite.checks)} hidden)"
    assert total in _readme_section()


def test_readme_states_the_two_action_share_and_the_g_test():
    section = _readme_section()
    assert f"at most {cartpole.TWO_ACTION_SHARE:g} points" in section
    assert "p < 1e-6" in section and rollout_checks.FALSE_FAILURE == pytest.approx(1e-6, rel=1e-12)
    # every check with three actions is public, so a 2-action-only submission keeps its hidden share
    three = [c for c in cartpole.build(Seeds(b"r", "r")).checks if "3 actions" in c.name]
    assert three and all(c.kind != "hidden" for c in three)


class _SampleRecorder(_Recorder):
    def call(self, part, *args, **kwargs):
        self.args.append((part, args, kwargs))
        from cartpole_submissions import FakeResult

        return FakeResult("exception", error="recorded")


def test_readme_sample_cases_are_the_ones_described():
    ctx = _SampleRecorder()
    for check in rollout_checks.build(Seeds(b"r", "r")):
        if check.part == "sample" and check.kind != "hidden":
            check.run(ctx)
    calls = [(args, kwargs) for part, args, kwargs in ctx.args if part == "sample" and args[0].shape == (100, 1)]
    envs = [args[1] for args, _ in calls]
    assert sorted({min(n, 201) for env in envs for n in env.lengths}) == [1, 3, 5, 12, 37, 200, 201]
    assert {t for env in envs for t in env.truncated} == {0, 1}  # endings by terminated and by truncated
    draws = [args[2] * 200 for args, _ in calls if args[1].constant_state is not None]
    assert draws == [3000] and "3,000 draws" in _readme_section()
    assert all(isinstance(kwargs["patch"]["extract_features"], cartpole.FeaturesSpec) for _, kwargs in calls)


def test_the_graders_extract_features_replaces_the_students_in_sample():
    # the README: the grader's own copy of the given extract_features is patched in while sample runs
    files = submission_files()
    files["utils.py"] += "\n\ndef extract_features(state, num_actions):\n    raise RuntimeError('broken copy')\n"
    graded = grade_in_process(files, "features", parts={"sample"})
    assert not [r.check.name for r in graded["report"].results if not r.outcome.passed]


def test_readme_handout_claims():
    import json

    data = json.loads((Path(__file__).resolve().parent.parent / "assignments" / "cartpole" /
                       "public_cases.json").read_text(encoding="utf-8"))
    with_cases = {c["part"] for c in data["cases"]}
    assert with_cases == {p.name for p in cartpole.PARTS if p.module == "utils"}
    section = _readme_section()
    packages = get("cartpole").raw["environment"]["packages"]
    assert all(f"{name} {version}" in section for name, version in packages.items())
    from autograder.suites.cartpole.samples import SAMPLES

    assert [s.name for s in SAMPLES][0] == "correct" and len(SAMPLES) == 6
    assert "the reference and five classic mistakes" in section


def test_public_checks_read_a_1x1_eta_as_the_grader_does(tmp_path):
    # the harmless eta_inv_array (eta as a 1 x 1 array) passes the handout's check.py as it passes the grader
    import shutil

    handout = Path(__file__).resolve().parent.parent / "assignments" / "cartpole"
    for name in ("check.py", "public_cases.json"):
        shutil.copy(handout / name, tmp_path / name)
    for name, text in submission_files(["eta_inv_array"]).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    out = subprocess.run([sys.executable, "check.py", "compute_eta"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0 and "compute_eta: 2/2 public cases passed [ok]" in out.stdout, out.stdout


@pytest.mark.parametrize("change, key", [
    (("grads, rewards = sample(theta, env, N)", "grads, rewards = sample(theta_start, env, N)"), "train_stale_theta"),
    (("grads, rewards = sample(theta, env, N)", "grads, rewards = sample(theta, env, 10)"), None),
])
def test_train_sampling_with_a_stale_theta_or_another_n_fails(change, key):
    # the grader's samples depend on the theta and N sample gets, so theta_T shows both (issue 13)
    files = submission_files()
    files["train.py"] = files["train.py"].replace(*change).replace(
        "    env.reset(seed=ENV_SEED)\n", "    env.reset(seed=ENV_SEED)\n    theta_start = theta.copy()\n")
    graded = grade_in_process(files, "stale", parts={"train"})
    failed = [r for r in graded["report"].results if not r.outcome.passed]
    assert failed and all(r.check.name.endswith("theta after T updates") for r in failed)
    assert all(r.outcome.mistake == key for r in failed)
    if key is None:
        assert "with N = 10" in failed[0].outcome.message


@pytest.mark.parametrize("identity", ["f32-1", "f32-2"])
def test_a_float32_implementation_of_utils_gets_full_marks(identity):
    # the tolerances' claim (utils_checks): single precision differs by a few float32 ulps, inside them
    utils_parts = {p.name for p in cartpole.PARTS if p.module == "utils"}
    graded = grade_in_process(submission_files(["float32_utils"]), identity, parts=utils_parts)
    assert not [(r.check.name, r.outcome.message) for r in graded["report"].results if not r.outcome.passed]


@pytest.mark.parametrize("fixture, parts", [
    ("softmax_builtin_max", {"compute_action_distribution", "compute_log_softmax_grad"}),  # on their softmax
    ("softmax_no_max_shift", {"compute_action_distribution"}),
])
def test_a_mistake_costs_points_once(fixture, parts):
    # a function that calls another is graded alone: the grader's stand-ins answer for the callee
    graded = grade_in_process(submission_files([fixture]), "once", parts=parts)
    results = graded["report"].results
    assert not [(r.check.name, r.outcome.message) for r in results if not r.outcome.passed]


def test_sample_on_the_students_own_wrong_functions_fails_and_says_which_function_to_fix():
    """``sample`` has no stand-in (its states are random: one would carry the reference's formulas into
    the student's process), so a wrong score or distribution costs ``sample`` too, and its feedback
    names the function to fix (docs/cartpole-design.md, the rule)."""
    graded = grade_in_process(submission_files(["score_without_expectation"]), "own-score", parts={"sample"})
    failed = [r for r in graded["report"].results if not r.outcome.passed]
    assert failed and any("your compute_log_softmax_grad gives there: fix that function" in r.outcome.message
                          for r in failed)
    files = submission_files()  # a wrong but valid pi (twice the logits)
    files["utils.py"] = files["utils.py"].replace("logits = theta.T @ phis  #", "logits = 2.0 * theta.T @ phis  #")
    graded = grade_in_process(files, "own-pi", parts={"sample", "compute_action_distribution"})
    scores = graded["report"].part_scores()
    assert scores["compute_action_distribution"][0] < scores["compute_action_distribution"][1] - 1.0
    g_tests = [r for r in graded["report"].results if "G-test" in r.check.name]
    assert g_tests and all(not r.outcome.passed and "compute_action_distribution" in r.outcome.message
                           for r in g_tests)
