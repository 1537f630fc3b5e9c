"""The toolkit is assignment-agnostic (docs/assignments.md): a third, tiny assignment.

``tests/fixtures/tiny_assignment/`` is an authored folder (manifest, a two-function reference with
solution markers, a given ``helpers.py``, public cases, notebook text) with its suite package
``suite/`` inside, registered through ``AUTOGRADER_ASSIGNMENTS``. It is copied into ``tmp_path``
for each test (generating the handout writes the solution notebook into the authored folder).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from autograder import registry
from autograder.cli import main
from autograder.demo.samples import student_source
from autograder.engine.loader import load_submission
from autograder.engine.runner import provided_files
from autograder.engine.sandbox import Limits, Sandbox, SubmissionFiles
from autograder.errors import UserError
from autograder.grade import grade

TINY = Path(__file__).resolve().parent / "fixtures" / "tiny_assignment"
LIMITS = Limits(call_seconds=20.0, submission_seconds=60.0)


def _forget(prefixes: tuple[str, ...], root: Path) -> None:
    for name in [m for m in sys.modules if m.split(".")[0] in prefixes]:
        del sys.modules[name]
    while str(root) in sys.path:
        sys.path.remove(str(root))


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the tiny assignment, registered beside the tabular homework."""
    folder = tmp_path / "tiny_assignment"
    shutil.copytree(TINY, folder, ignore=shutil.ignore_patterns("__pycache__", "*_solution.ipynb"))
    monkeypatch.setenv(registry.ENV_VAR, str(folder))
    _forget(("tiny_assignment",), tmp_path)
    yield folder
    _forget(("tiny_assignment",), tmp_path)


def reference_submission(folder: Path, dest: Path, name: str = "poly.py", text: str | None = None) -> Path:
    """The reference's student file as a student's (``from .helpers`` -> ``from helpers``)."""
    dest.mkdir(parents=True, exist_ok=True)
    source = student_source((folder / "poly.py").read_text(encoding="utf-8"))
    (dest / name).write_text(text if text is not None else source, encoding="utf-8")
    return dest


def scores(report: object) -> dict[str, tuple[float, float]]:
    return report.part_scores()  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------------------------
# the registry
# ----------------------------------------------------------------------------------------------
def test_the_registry_lists_the_reference_and_the_added_folder(tiny: Path) -> None:
    found = registry.assignments()
    assert {"npg", "tiny"} <= set(found)
    assert found["tiny"].folder == tiny.resolve()
    assert found["tiny"].files == ["poly.py"]
    assert found["npg"].files == ["kl.py", "fisher.py", "npg.py"]
    assert [(p.function, p.points) for p in found["tiny"].parts] == [("horner", 6), ("sum_of_squares", 4)]
    # npg's points and dependencies come from its manifest: 100 in all, as the suite had them
    assert sum(p.points for p in found["npg"].parts) == 100
    assert found["npg"].part("natural_policy_gradient").depends_on == ("fisher_information", "trust_region_step")


def test_detect_picks_the_assignment_by_its_file_names_or_says_which_to_choose(tiny: Path) -> None:
    assert registry.detect(["kl.py", "npg.py"]).name == "npg"
    assert registry.detect(["poly.py"]).name == "tiny"
    assert registry.detect(["polynomial.py"]).name == "tiny"  # an accepted alias
    assert registry.detect(["Poly.py"]).name == "tiny"  # a near miss still says which assignment it is
    with pytest.raises(UserError, match="fits no assignment.*--assignment npg.*--assignment tiny"):
        registry.detect(["solution.py"])
    with pytest.raises(UserError, match="fits several assignments"):
        registry.detect(["kl.py", "poly.py"])
    with pytest.raises(UserError, match="several assignments are registered.*npg, tiny"):
        registry.resolve(None)
    with pytest.raises(UserError, match="no assignment named 'nope'; registered: cartpole, npg, tiny"):
        registry.get("nope")


def test_manifest_limits_override_the_engine_defaults(tiny: Path) -> None:
    limits = registry.get("tiny").make_limits(Limits())
    assert limits.call_seconds == pytest.approx(20.0)  # from the manifest
    assert limits.submission_seconds == pytest.approx(Limits().submission_seconds)  # untouched


def test_a_bad_manifest_field_is_a_user_error_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(TINY, folder, ignore=shutil.ignore_patterns("__pycache__"))
    manifest = json.loads((folder / "assignment.json").read_text())
    manifest["parts"][1]["depends_on"] = ["cube"]
    (folder / "assignment.json").write_text(json.dumps(manifest))
    with pytest.raises(UserError, match="sum_of_squares depends on cube, which is not another part"):
        registry.load_assignment(folder)


# ----------------------------------------------------------------------------------------------
# generate and grade
# ----------------------------------------------------------------------------------------------
def test_assign_generates_the_tiny_handout_into_assignments_name(tiny: Path) -> None:
    assert main(["assign", "--assignment", "tiny", "--no-execute"]) == 0
    out = tiny.parent / "assignments" / "tiny"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["README.md", "check.py", "helpers.py", "poly.py", "public_cases.json", "test_public.py", "tiny.ipynb"])
    assert 'raise NotImplementedError("sum_of_squares is not implemented yet")' in (out / "poly.py").read_text()
    from autograder.assign import check_assignment

    assert check_assignment(registry.get("tiny").folder, require_executed=False) == []


def test_a_correct_and_a_wrong_submission_are_graded_by_the_tiny_suite(tiny: Path, tmp_path: Path) -> None:
    report, _ = grade(reference_submission(tiny, tmp_path / "right"))
    assert scores(report) == {"horner": (6.0, 6.0), "sum_of_squares": (4.0, 4.0)}
    assert report.error is None
    wrong = student_source((tiny / "poly.py").read_text()).replace("value = value * x + c", "value = value * x - c")
    report, _ = grade(reference_submission(tiny, tmp_path / "wrong", text=wrong))
    assert scores(report)["horner"] == (0.0, 6.0)
    assert scores(report)["sum_of_squares"] == (4.0, 4.0)


def test_patch_report_seed_and_codec_objects_reach_the_student_code(tiny: Path, tmp_path: Path) -> None:
    """sum_of_squares-uses-square passes only if the patched square recorded the call (``reports``)
    and its first draws are those of numpy and random seeded with the check's seed; a function
    that squares without ``square`` fails that check alone."""
    own = student_source((tiny / "poly.py").read_text()).replace(
        "return float(np.sum(square(np.asarray(values, dtype=float))))",
        "return float(np.sum(np.asarray(values, dtype=float) ** 2))")
    report, _ = grade(reference_submission(tiny, tmp_path / "own", text=own))
    failed = [r.check.name for r in report.results if not r.outcome.passed]
    assert failed == ["sum_of_squares-uses-square"]
    assert "must use the given square" in report.results[-1].outcome.message


def test_the_sandbox_patches_restores_reports_and_seeds(tiny: Path) -> None:
    suite = registry.get("tiny").import_suite()
    CODECS, CountingSquare = suite.CODECS, suite.CountingSquare

    code = ("import numpy as np\nfrom helpers import square\n\n"
            "def use(x):\n    return square(np.asarray(x, dtype=float))\n\n"
            "def original():\n    return float(square.__module__ == 'helpers')\n\n"
            "def draw():\n    return float(np.random.random())\n")
    files = SubmissionFiles({"poly.py": code})
    with Sandbox(files, provided_files("tiny"), LIMITS, codecs=CODECS) as box:
        patched = box.call("poly", "use", [[1.0, 2.0]], patch={"square": CountingSquare()}, seed=7)
        assert patched.ok, patched.error
        np.testing.assert_allclose(patched.value, [1.0, 4.0], rtol=0, atol=0)  # exact: small integers
        calls, draws = patched.reports["square"]
        np.testing.assert_allclose(calls[0], [1.0, 2.0], rtol=0, atol=0)
        np.random.seed(7)
        # the same generator, seeded alike, gives the same double: no tolerance is needed
        np.testing.assert_allclose(draws[0], np.random.random(), rtol=0, atol=0)
        restored = box.call("poly", "original")
        assert restored.ok and float(restored.value) == 1.0  # 0.0 or 1.0 exactly: a flag
        seeded = [box.call("poly", "draw", seed=11).value for _ in range(2)]
        np.testing.assert_allclose(seeded[0], seeded[1], rtol=0, atol=0)
        with pytest.raises(ValueError, match="2\\*\\*32"):
            box.call("poly", "draw", seed=2**40)


def test_codec_objects_cross_as_the_provided_class_and_are_checked_for_changes(tiny: Path) -> None:
    suite = registry.get("tiny").import_suite()
    CODECS, Coefficients = suite.CODECS, suite.Coefficients

    code = ("import numpy as np\n\n"
            "def kind(c):\n"
            "    return float(type(c).__name__ == 'Coefficients' and type(c).__module__ == 'grading_tools')\n\n"
            "def total(c):\n    return float(np.sum(np.asarray(c)))\n\n"
            "def clobber(c):\n    c.values = c.values * 2\n    return 0.0\n")
    with Sandbox(SubmissionFiles({"poly.py": code}), provided_files("tiny"), LIMITS, codecs=CODECS) as box:
        assert float(box.call("poly", "kind", [Coefficients([1.0, 2.0])]).value) == 1.0  # a flag
        np.testing.assert_allclose(box.call("poly", "total", [Coefficients([1.0, 2.0])]).value, 3.0, rtol=1e-15)
        assert box.call("poly", "clobber", [Coefficients([1.0])]).modified == ("c.values",)


def test_nested_lists_of_arrays_and_floats_cross_both_ways(tiny: Path) -> None:
    """CartPole's shape: 30 trajectories x 200 steps of (100, 1) score vectors, and rewards."""
    code = ("def echo(grads, rewards):\n    return grads, rewards\n\n"
            "def count(grads):\n    return [len(g) for g in grads]\n")
    rng = np.random.default_rng(0)
    grads = [[rng.normal(size=(100, 1)) for _ in range(200)] for _ in range(30)]
    rewards = [[float(r) for r in rng.normal(size=200)] for _ in range(30)]
    with Sandbox(SubmissionFiles({"poly.py": code}), provided_files("tiny"), LIMITS) as box:
        result = box.call("poly", "echo", [grads, rewards])
        assert result.ok, result.error
        back_grads, back_rewards = result.value
        assert len(back_grads) == 30 and all(len(t) == 200 for t in back_grads)
        assert back_grads[29][199].shape == (100, 1)
        # bytes travel unchanged (base64 of the float64 buffer): exact equality is the contract
        np.testing.assert_allclose(np.array(back_grads), np.array(grads), rtol=0, atol=0)
        np.testing.assert_allclose(np.array(back_rewards, dtype=float), np.array(rewards), rtol=0, atol=0)
        ragged = box.call("poly", "count", [[[np.zeros((2, 1))] * n for n in (1, 3)]])
        assert [int(n) for n in ragged.value] == [1, 3]


# ----------------------------------------------------------------------------------------------
# accepted file names
# ----------------------------------------------------------------------------------------------
def test_an_alias_file_name_is_graded_and_named_in_the_feedback(tiny: Path, tmp_path: Path) -> None:
    report, _ = grade(reference_submission(tiny, tmp_path / "alias", name="polynomial.py"))
    assert scores(report) == {"horner": (6.0, 6.0), "sum_of_squares": (4.0, 4.0)}
    broken = reference_submission(tiny, tmp_path / "broken", name="polynomial.py", text="def horner(:\n")
    report, _ = grade(broken)
    assert report.score == pytest.approx(0.0)
    assert report.import_failures and report.import_failures[0].startswith("polynomial.py, line 1: SyntaxError")
    assert not any("poly.py" in n for n in report.notes)


@pytest.mark.parametrize("submitted, imported", [("polynomial.py", "poly"), ("poly.py", "polynomial")])
def test_both_import_names_are_the_same_module(tiny: Path, tmp_path: Path, submitted: str, imported: str) -> None:
    code = (f"def same():\n    import poly, polynomial\n    return float(poly is polynomial)\n\n"
            f"def other():\n    import {imported}\n    return float({imported}.__name__ == '{submitted[:-3]}')\n")
    folder = reference_submission(tiny, tmp_path / "sub", name=submitted, text=code)
    submission = load_submission(folder)
    assert submission.assignment == "tiny"
    with Sandbox(submission.sandbox_files(), provided_files("tiny"), LIMITS) as box:
        assert float(box.call("poly", "same").value) == 1.0  # flags: exactly 0.0 or 1.0
        assert float(box.call("poly", "other").value) == 1.0


# ----------------------------------------------------------------------------------------------
# adding a function touches the authored folder and its suite only
# ----------------------------------------------------------------------------------------------
CUBE_SUM = '''

def cube_sum(values):
    """``sum_i values[i]^3`` as a float."""
    # BEGIN SOLUTION
    return float(np.sum(np.asarray(values, dtype=float) ** 3))
    # END SOLUTION
'''
CUBE_CHECKS = '''

_build_without_cube_sum = build


def build(seeds: Seeds) -> Suite:
    suite = _build_without_cube_sum(seeds)
    suite.checks += [
        Check("cube_sum", "cube_sum-example", lambda ctx: _compare(ctx, "cube_sum", 9.0, [1.0, 2.0]), kind="example"),
        Check("cube_sum", "cube_sum-negative", lambda ctx: _compare(ctx, "cube_sum", -7.0, [1.0, -2.0])),
    ]
    return suite
'''


def test_adding_a_function_is_generated_and_graded_from_the_folder_and_suite_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "tiny_plus"  # another package name than the fixture's: a copy works under any name
    shutil.copytree(TINY, folder, ignore=shutil.ignore_patterns("__pycache__", "*_solution.ipynb"))
    manifest = json.loads((folder / "assignment.json").read_text())
    manifest["parts"].append({"function": "cube_sum", "file": "poly.py", "points": 5, "depends_on": []})
    manifest["notebook"]["cells"].insert(3, {"part": "cube_sum"})
    (folder / "assignment.json").write_text(json.dumps(manifest, indent=1))
    (folder / "poly.py").write_text((folder / "poly.py").read_text() + CUBE_SUM)
    (folder / "suite" / "__init__.py").write_text((folder / "suite" / "__init__.py").read_text() + CUBE_CHECKS)
    monkeypatch.setenv(registry.ENV_VAR, str(folder))
    _forget(("tiny_plus",), tmp_path)
    try:
        assert main(["assign", "--assignment", "tiny", "--no-execute"]) == 0
        handout = (tmp_path / "assignments" / "tiny" / "poly.py").read_text()
        assert 'raise NotImplementedError("cube_sum is not implemented yet")' in handout
        report, _ = grade(reference_submission(folder, tmp_path / "right"))
        assert scores(report) == {"horner": (6.0, 6.0), "sum_of_squares": (4.0, 4.0), "cube_sum": (5.0, 5.0)}
        wrong = student_source((folder / "poly.py").read_text()).replace("** 3))", "** 2))")
        report, _ = grade(reference_submission(folder, tmp_path / "wrong", text=wrong))
        assert scores(report)["cube_sum"] == (0.0, 5.0)
        assert report.score == pytest.approx(10.0)
    finally:
        _forget(("tiny_plus",), tmp_path)


# ----------------------------------------------------------------------------------------------
# verbs without input: every assignment (demo, assign) or the flag (bundle, audit)
# ----------------------------------------------------------------------------------------------
def test_demo_runs_every_assignments_samples(tiny: Path, capsys: pytest.CaptureFixture) -> None:
    from autograder.demo import demo_samples, run_demo

    names = [s.name for s in demo_samples()]
    assert names[0] == "correct" and names[-2:] == ["tiny-correct", "tiny-minus"]
    assert [s.name for s in demo_samples("tiny")] == ["tiny-correct", "tiny-minus"]
    rows = run_demo(["tiny-correct", "tiny-minus"], show=False)
    assert [(r.sample.name, r.report.score) for r in rows] == [("tiny-correct", pytest.approx(10.0)),
                                                                ("tiny-minus", pytest.approx(4.0))]


def test_bundle_and_audit_need_the_flag_when_several_assignments_are_registered(
        tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for verb in (["bundle", "-o", str(tmp_path / "autograder.zip")], ["audit", "-o", str(tmp_path / "report")]):
        assert main(verb) == 2  # a UserError, before any work
    assert ("several assignments are registered; say which with --assignment NAME (cartpole, npg, tiny)"
            in capsys.readouterr().err)
    assert not (tmp_path / "autograder.zip").exists() and not (tmp_path / "report").exists()
    # the Python API keeps its default: the assignment authored in the reference package's own folder
    assert registry.default().name == "npg"
    assert [a.name for a in registry.selected(None)][-1] == "tiny"  # assign generates each one
    assert registry.get("tiny").handout == tiny.parent / "assignments" / "tiny"
    assert registry.get("npg").handout == Path(__file__).resolve().parent.parent / "assignments" / "npg"


def test_check_and_batch_find_the_assignment(tiny: Path, tmp_path: Path) -> None:
    from autograder.batch.api import _assignment_of

    # the generated npg handout holds stubs: its public checks fail, and say so (exit status 1)
    assert main(["check", "--assignment", "npg", "kl_divergence"]) == 1
    reference_submission(tiny, tmp_path / "class" / "ada")
    assert _assignment_of(None, tmp_path / "class").name == "tiny"
    assert _assignment_of("npg", tmp_path / "class").name == "npg"


def test_import_messages_name_the_graded_assignments_environment(tiny: Path, tmp_path: Path) -> None:
    manifest = json.loads((tiny / "assignment.json").read_text())
    manifest["environment"] = {"python": "3.10 or newer", "packages": {"numpy": "2.2.6"}, "use_instead": "numpy"}
    (tiny / "assignment.json").write_text(json.dumps(manifest))
    text = "import scipy\nimport no_such_module_anywhere\n" + student_source((tiny / "poly.py").read_text())
    report, _ = grade(reference_submission(tiny, tmp_path / "scipy", text=text))
    lines = [n for n in report.notes if "scipy is not available on the grading server" in n]
    assert lines and "numpy 2.2.6" in lines[0] and "matplotlib" not in lines[0]  # tiny's, not npg's
    assert report.import_failures == ["no_such_module_anywhere is not available on the grading server; use numpy "
                                      "(it has Python 3.10 or newer, its standard library and numpy 2.2.6)"]
    assert not any("scipy 1.15.3" in r.outcome.message for r in report.results)  # npg's environment


def test_batch_grades_a_class_of_the_tiny_assignment(tiny: Path, tmp_path: Path) -> None:
    from autograder.batch import run_batch

    reference_submission(tiny, tmp_path / "class" / "ada")
    wrong = student_source((tiny / "poly.py").read_text()).replace("value = value * x + c", "value = value * x - c")
    reference_submission(tiny, tmp_path / "class" / "bob", name="polynomial.py", text=wrong)
    summary = run_batch(tmp_path / "class", tmp_path / "out", 1, secret=b"tiny secret", progress=None)
    assert [p.name for p in summary.parts] == ["horner", "sum_of_squares"]
    assert {r.entry.id: r.total for r in summary.rows} == {"ada": pytest.approx(10.0), "bob": pytest.approx(4.0)}


def test_grade_says_which_assignments_fit_when_the_input_fits_none(
        tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    reference_submission(tiny, tmp_path / "odd", name="solution.py")
    assert main(["grade", str(tmp_path / "odd")]) == 2
    err = capsys.readouterr().err
    assert "fits no assignment; say which with one of: --assignment cartpole" in err
    assert "--assignment npg" in err and "--assignment tiny" in err
    assert main(["grade", str(reference_submission(tiny, tmp_path / "ok")), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["score"] == pytest.approx(10.0)
