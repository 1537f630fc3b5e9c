"""``autograder assign``: generated templates, notebook and public tests, staleness and atomicity."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder.assign import check_assignment, generate_assignment, parse_markers
from autograder.assign.manifest import load_manifest
from autograder.assign.notebook import rewrite_relative_imports
from autograder.cli import main
from autograder.errors import UserError

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "solutions"
ASSIGNMENT = REPO / "assignments" / "npg"
TINY = Path(__file__).resolve().parent / "fixtures" / "tiny_assignment"
NPG_PARTS = [p.function for p in load_manifest(SOLUTIONS).parts]
# Solution lines shorter than this ("break", "return x") are too generic to be evidence of a leak.
MIN_LEAK_LENGTH = 12


def copy_source(src: Path, tmp_path: Path) -> Path:
    """A scratch copy of a reference folder (generation writes the solution notebook into it)."""
    dest = tmp_path / "src" / src.name
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def generate_copy(src: Path, tmp_path: Path) -> tuple[Path, Path]:
    source = copy_source(src, tmp_path)
    out = tmp_path / "assignments" / load_manifest(source).name
    generate_assignment(source, out, execute=False)
    return source, out


def put_back_reference(source: Path, folder: Path) -> None:
    """Replace the student templates in ``folder`` by the reference modules (imports rewritten)."""
    for file in load_manifest(source).modules:
        text = (source / file).read_text(encoding="utf-8")
        (folder / file).write_text(rewrite_relative_imports(text), encoding="utf-8")


def run_python(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=folder, capture_output=True, text=True, timeout=300, check=False)


def normalised(line: str) -> str:
    return " ".join(line.split())


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def npg_copy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The NPG assignment generated from a scratch copy of solutions/ (without running the notebook)."""
    return generate_copy(SOLUTIONS, tmp_path_factory.mktemp("npg"))


# ----------------------------------------------------------------------------------------------
# The checked-in assignment.
# ----------------------------------------------------------------------------------------------
def test_assign_check_passes_on_main(capsys: pytest.CaptureFixture) -> None:
    assert check_assignment(SOLUTIONS, ASSIGNMENT) == []
    assert main(["assign", "--check", "--source", str(SOLUTIONS), "--out", str(ASSIGNMENT)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_every_registered_handout_is_up_to_date(capsys: pytest.CaptureFixture) -> None:
    # `autograder assign --check` with no --assignment checks them all (CartPole's handout once
    # lacked the shared grading_stats.py that the npg one had)
    assert main(["assign", "--check"]) == 0, capsys.readouterr()
    assert "up to date" in capsys.readouterr().out


def test_no_solution_line_appears_in_assignments() -> None:
    manifest = load_manifest(SOLUTIONS)
    solution: set[str] = set()
    given: set[str] = set()
    for file in manifest.modules + manifest.given:
        src = parse_markers(SOLUTIONS / file)
        inside = {normalised(line) for line in src.solution_lines()}
        solution |= inside
        given |= {normalised(line) for line in src.lines} - inside
    leaks_possible = {s for s in solution - given if len(s) >= MIN_LEAK_LENGTH and not s.startswith("#")}
    assert len(leaks_possible) > 30  # the comparison has teeth
    found = []
    for path in sorted(ASSIGNMENT.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        if path.suffix == ".ipynb":
            nb = nbformat.read(path, as_version=4)
            lines = [line for cell in nb.cells for line in cell.source.splitlines()]
        elif path.suffix == ".json":
            text = json.dumps(json.loads(path.read_text(encoding="utf-8")), indent=0)
            lines = [line for item in text.splitlines() for line in item.encode().decode("unicode_escape").splitlines()]
        else:
            lines = path.read_text(encoding="utf-8").splitlines()
        found += [f"{path.name}: {line.strip()}" for line in lines if normalised(line) in leaks_possible]
    assert found == []


def test_solution_notebook_is_checked_in_executed_with_plots() -> None:
    nb = nbformat.read(SOLUTIONS / "npg_solution.ipynb", as_version=4)
    nbformat.validate(nb)
    plots = [c for c in nb.cells if "plot" in c.metadata.get("tags", [])]
    assert len(plots) == 3
    for cell in plots:
        assert any("image/png" in o.get("data", {}) for o in cell.outputs), cell.id
    assert not any(o.get("output_type") == "error" for c in nb.cells if c.cell_type == "code" for o in c.outputs)


# ----------------------------------------------------------------------------------------------
# Templates and public tests.
# ----------------------------------------------------------------------------------------------
def test_generated_copy_matches_checked_in_assignment(npg_copy: tuple[Path, Path]) -> None:
    _, out = npg_copy
    for name in ["kl.py", "fisher.py", "npg.py", "mdp.py", "check.py", "test_public.py", "README.md", "npg.ipynb"]:
        assert (out / name).read_text(encoding="utf-8") == (ASSIGNMENT / name).read_text(encoding="utf-8"), name
    assert (out / "mdp.py").read_bytes() == (SOLUTIONS / "mdp.py").read_bytes()


def test_templates_keep_signatures_and_docstrings_and_stub_every_part(npg_copy: tuple[Path, Path]) -> None:
    source, out = npg_copy
    import ast

    for file in ["kl.py", "fisher.py", "npg.py"]:
        ref = {n.name: n for n in ast.parse((source / file).read_text()).body if isinstance(n, ast.FunctionDef)}
        tpl_text = (out / file).read_text()
        assert "from ." not in tpl_text and "BEGIN SOLUTION" not in tpl_text
        tpl = {n.name: n for n in ast.parse(tpl_text).body if isinstance(n, ast.FunctionDef)}
        assert set(tpl) == set(ref)
        for name, node in ref.items():
            assert ast.get_docstring(tpl[name]) == ast.get_docstring(node)
            assert ast.dump(tpl[name].args) == ast.dump(node.args)
            if name in NPG_PARTS:
                last = ast.unparse(tpl[name].body[-1])
                assert last == f"raise NotImplementedError('{name} is not implemented yet')"


def test_templates_import_cleanly_and_every_part_raises(npg_copy: tuple[Path, Path]) -> None:
    _, out = npg_copy
    script = (
        "import json, check\n"
        "out = {cid: [check.run_case(cid).status, check.run_case(cid).message] for cid in check.case_ids()}\n"
        "print(json.dumps(out))\n"
    )
    proc = run_python(out, "-c", script)
    assert proc.returncode == 0, proc.stderr
    outcomes = json.loads(proc.stdout)
    assert {cid.rsplit("-", 1)[0] for cid in outcomes} == set(NPG_PARTS)
    for cid, (status, message) in outcomes.items():
        assert status == "not implemented", (cid, message)
        assert f"{cid.rsplit('-', 1)[0]} is not implemented yet" in message


def test_public_tests_fail_on_templates_with_readable_messages(npg_copy: tuple[Path, Path]) -> None:
    _, out = npg_copy
    proc = run_python(out, "check.py")
    assert proc.returncode == 1
    assert "kl_divergence: not implemented yet" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    proc = run_python(out, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_public.py")
    assert proc.returncode == 1
    assert "passed" not in proc.stdout.splitlines()[-1]


def test_public_tests_pass_with_the_reference_bodies(tmp_path: Path) -> None:
    source, out = generate_copy(SOLUTIONS, tmp_path)
    put_back_reference(source, out)
    proc = run_python(out, "check.py")
    assert proc.returncode == 0, proc.stdout
    assert f"{len(NPG_PARTS)} of {len(NPG_PARTS)} parts pass" in proc.stdout
    proc = run_python(out, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_public.py")
    assert proc.returncode == 0, proc.stdout


def test_public_tests_catch_a_known_mistake_with_input_expected_got_tolerance(tmp_path: Path) -> None:
    source, out = generate_copy(SOLUTIONS, tmp_path)
    put_back_reference(source, out)
    kl = (out / "kl.py").read_text()
    kl = kl.replace("return squared_distance / (2.0 * sigma**2)", "return squared_distance / sigma**2")
    (out / "kl.py").write_text(kl)
    proc = run_python(out, "check.py", "kl_gaussian")
    assert proc.returncode == 1
    for needle in [
        "FAIL kl_gaussian-1",
        "mu1 = [0.0, 0.0]",
        "expected: 2.5",
        "got:      5.",
        "rtol=1e-05, atol=1e-08",
        "kl_gaussian(np.array([0.0, 0.0]), np.array([1.0, 2.0]), 1.0)",
    ]:
        assert needle in proc.stdout


def test_public_data_holds_the_spec_table_values() -> None:
    data = json.loads((ASSIGNMENT / "public_cases.json").read_text())
    by_desc = {(c["part"], c["description"]): c for c in data["cases"]}
    F0 = by_desc[("fisher_information", "lecture example, theta = 0")]["expected"]["$array"]
    np.testing.assert_allclose(F0, [[0.0210084]], rtol=1e-5)
    kl01 = by_desc[("policy_kl", "lecture example, theta0 = 0, theta = 1")]["expected"]
    np.testing.assert_allclose(kl01, 0.01009366, rtol=1e-5)
    assert data["generated_by"].startswith("autograder assign")
    assert all(c["rtol"] == 1e-5 and c["atol"] == 1e-8 for c in data["cases"])


def test_notebook_structure_and_tags(npg_copy: tuple[Path, Path]) -> None:
    _, out = npg_copy
    nb = nbformat.read(out / "npg.ipynb", as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].metadata["tags"] == ["setup"] and "from mdp import *" in code[0].source
    assert "import check" not in code[0].source  # the grader runs setup without check.py
    solution = [c for c in code if "solution" in c.metadata.get("tags", [])]
    assert [c.metadata["autograder"]["part"] for c in solution] == NPG_PARTS
    for cell in solution:
        name = cell.metadata["autograder"]["part"]
        assert cell.source.startswith(f"def {name}(") and '"""' in cell.source
        assert f'raise NotImplementedError("{name} is not implemented yet")' in cell.source
    checks = [c for c in code if "check" in c.metadata.get("tags", [])]
    assert [re.search(r'check\.run\("(\w+)", globals\(\)\)', c.source).group(1) for c in checks] == NPG_PARTS
    assert len([c for c in code if "plot" in c.metadata.get("tags", [])]) == 3
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for erratum in ["drops the $1/2$", "weighted by $\\pi_{\\theta_0}$", "$d^{\\pi_{\\theta_i}}$", "Fischer"]:
        assert erratum in markdown
    assert all(c.outputs == [] for c in code)


def test_grader_cells_define_every_part_without_check_or_plot_cells(npg_copy: tuple[Path, Path]) -> None:
    """The grader runs every code cell except check/plot: that must define all parts (in a fresh process)."""
    source, _ = npg_copy
    nb = nbformat.read(source / "npg_solution.ipynb", as_version=4)
    graded = [
        c.source for c in nb.cells if c.cell_type == "code" and not {"check", "plot"} & set(c.metadata.get("tags", []))
    ]
    scratch = source.parent / "grader_scratch"
    scratch.mkdir()
    shutil.copy(source / "mdp.py", scratch / "mdp.py")
    (scratch / "cells.json").write_text(json.dumps(graded))
    script = (
        "import json\nns = {}\n"
        "for src in json.load(open('cells.json')):\n    exec(compile(src, 'cell', 'exec'), ns)\n"
        f"print(all(callable(ns.get(n)) for n in {NPG_PARTS!r}))\n"
        "mdp, policy = ns['example_mdp']()\n"
        "print(ns['natural_policy_gradient'](mdp, policy, [0.0], 0.01, 2).shape)\n"
    )
    proc = run_python(scratch, "-c", script)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "(3,", "1)"]


# ----------------------------------------------------------------------------------------------
# Staleness, markers and atomic writes.
# ----------------------------------------------------------------------------------------------
def test_check_reports_stale_files_with_a_diff_summary(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    source, out = generate_copy(SOLUTIONS, tmp_path)
    (out / "kl.py").write_text((out / "kl.py").read_text().replace("Discrete KL", "Discrete  KL"))
    (out / "notes.txt").write_text("stray")
    problems = check_assignment(source, out)
    assert any("kl.py: stale" in p and "1 line(s) to add, 1 to remove" in p for p in problems)
    assert any("notes.txt: not generated" in p for p in problems)
    assert main(["assign", "--check", "--source", str(source), "--out", str(out)]) == 1
    assert "kl.py: stale" in capsys.readouterr().err


def test_check_reports_a_changed_reference(tmp_path: Path) -> None:
    source, out = generate_copy(SOLUTIONS, tmp_path)
    md = source / "notebook" / "kl_divergence.md"
    md.write_text(md.read_text() + "\nOne more sentence.\n")
    problems = check_assignment(source, out)
    assert any("npg.ipynb: stale" in p for p in problems)
    assert any("npg_solution.ipynb: stale" in p for p in problems)


BAD_MARKERS = [
    (
        "nested",
        "    # END SOLUTION\n",
        "",
        r"kl\.py:\d+: nested BEGIN SOLUTION \(the previous BEGIN SOLUTION opened at line \d+\)",
        "    # BEGIN SOLUTION\n    p, q = np.broadcast_arrays(p, q)\n",
        "    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n",
    ),
    (
        "unclosed",
        None,
        None,
        r"kl\.py:\d+: BEGIN SOLUTION is never closed",
        "    return float(max(d0 @ per_state, 0.0))\n    # END SOLUTION\n",
        "    return float(max(d0 @ per_state, 0.0))\n",
    ),
    (
        "unopened",
        None,
        None,
        r"kl\.py:\d+: END SOLUTION without a matching BEGIN SOLUTION",
        "    # BEGIN SOLUTION\n    return kl_divergence",
        "    return kl_divergence",
    ),
    (
        "unknown",
        None,
        None,
        r"kl\.py:\d+: unknown marker '# BEGIN ANSWER'",
        "    # BEGIN SOLUTION\n    return kl_divergence",
        "    # BEGIN ANSWER\n    # END ANSWER\n    # BEGIN SOLUTION\n    return kl_divergence",
    ),
]


@pytest.mark.parametrize("kind, _a, _b, pattern, old, new", BAD_MARKERS, ids=[b[0] for b in BAD_MARKERS])
def test_bad_markers_name_file_and_line_and_leave_assignments_untouched(
    tmp_path: Path, kind: str, _a: object, _b: object, pattern: str, old: str, new: str
) -> None:
    source, out = generate_copy(SOLUTIONS, tmp_path)
    before = snapshot(out.parent)
    solution_nb = (source / "npg_solution.ipynb").read_bytes()
    kl = source / "kl.py"
    text = kl.read_text()
    assert old in text
    kl.write_text(text.replace(old, new, 1))
    with pytest.raises(UserError, match=pattern) as info:
        generate_assignment(source, out, execute=False)
    line = int(re.search(r"kl\.py:(\d+):", str(info.value)).group(1))
    assert re.match(r"\s*#\s*(BEGIN|END)", kl.read_text().splitlines()[line - 1])
    assert snapshot(out.parent) == before
    assert (source / "npg_solution.ipynb").read_bytes() == solution_nb
    assert main(["assign", "--source", str(source), "--out", str(out), "--no-execute"]) == 2


def test_a_failing_reference_leaves_assignments_untouched(tmp_path: Path) -> None:
    source, out = generate_copy(SOLUTIONS, tmp_path)
    before = snapshot(out.parent)
    npg = source / "npg.py"
    npg.write_text(npg.read_text().replace("return np.sqrt(delta / g_F_g) * v", "raise RuntimeError('boom')"))
    with pytest.raises(UserError, match="trust_region_step.*the reference raised RuntimeError: boom"):
        generate_assignment(source, out, execute=False)
    assert snapshot(out.parent) == before


# ----------------------------------------------------------------------------------------------
# The mechanism is generic: a second, tiny assignment.
# ----------------------------------------------------------------------------------------------
def test_tiny_assignment_generates_the_same_way(tmp_path: Path) -> None:
    source, out = generate_copy(TINY, tmp_path)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["README.md", "check.py", "grading_stats.py", "helpers.py", "poly.py", "public_cases.json", "test_public.py",
         "tiny.ipynb"]
    )
    poly = (out / "poly.py").read_text()
    assert "from helpers import square" in poly
    assert "    total = 0.0  # start from the highest coefficient\n" in poly  # the prompt, uncommented
    assert "value * x + c" not in poly and "BEGIN" not in poly
    assert 'raise NotImplementedError("sum_of_squares is not implemented yet")' in poly
    assert "| `horner` | `poly.py` |" in (out / "README.md").read_text()
    nb = nbformat.read(out / "tiny.ipynb", as_version=4)
    nbformat.validate(nb)
    assert [c.metadata.get("tags") for c in nb.cells if c.cell_type == "code"] == [
        ["setup"],
        ["solution"],
        ["check"],
        ["solution"],
        ["check"],
        ["plot"],
    ]
    assert check_assignment(source, out, require_executed=False) == []
    proc = run_python(out, "check.py")
    assert proc.returncode == 1 and "horner: not implemented yet" in proc.stdout
    put_back_reference(source, out)
    proc = run_python(out, "check.py")
    assert proc.returncode == 0, proc.stdout
    solution_nb = nbformat.read(source / "tiny_solution.ipynb", as_version=4)
    horner_cell = next(c for c in solution_nb.cells if c.metadata.get("autograder", {}).get("part") == "horner")
    assert "# BEGIN SOLUTION" in horner_cell.source and "total = 0.0" not in horner_cell.source


def test_manifest_and_part_mismatches_are_user_errors(tmp_path: Path) -> None:
    source = copy_source(TINY, tmp_path)
    manifest = json.loads((source / "assignment.json").read_text())
    manifest["parts"] = manifest["parts"][:1]
    manifest["notebook"]["cells"] = [c for c in manifest["notebook"]["cells"] if c.get("part") != "sum_of_squares"]
    (source / "assignment.json").write_text(json.dumps(manifest))
    with pytest.raises(UserError, match="sum_of_squares has a solution block but is not a part"):
        generate_assignment(source, tmp_path / "out", execute=False)
    with pytest.raises(UserError, match="no assignment manifest"):
        generate_assignment(tmp_path, tmp_path / "out", execute=False)


# ----------------------------------------------------------------------------------------------
# Executing notebooks (needs nbclient and ipykernel, the test extra).
# ----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_solution_notebook_executes_top_to_bottom_with_an_image_per_plot(tmp_path: Path) -> None:
    source = copy_source(SOLUTIONS, tmp_path)
    out = tmp_path / "assignments" / "npg"
    result = generate_assignment(source, out, execute=True)
    assert result.executed
    nb = nbformat.read(source / "npg_solution.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)
    assert not any(o.get("output_type") == "error" for c in code for o in c.outputs)
    plots = [c for c in code if "plot" in c.metadata["tags"]]
    assert len(plots) == 3
    for cell in plots:
        assert any("image/png" in o.get("data", {}) for o in cell.outputs), cell.id
    for cell in code:
        if "check" in cell.metadata["tags"]:
            text = "".join(o.get("text", "") for o in cell.outputs)
            assert "[ok]" in text and "FAIL" not in text, text
    assert check_assignment(source, out) == []
