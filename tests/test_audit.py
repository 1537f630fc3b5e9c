"""Tests of `autograder audit`: mutant generation, classification, reports, and the suite's score."""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from autograder.audit import OPERATORS, generate_mutants, mutant_files, run_audit
from autograder.audit.mutants import FAMILIES, solution_blocks
from autograder.audit.report import terminal_table
from autograder.cli import main
from autograder.demo.samples import SAMPLES, STUDENT_FILES, materialise, reference_folder

MIN_SCORE = 0.95  # the release bar for the shipped NPG suite


@pytest.fixture(scope="module")
def mutants():
    return generate_mutants()


def _find(mutants, function, original_part, mutated_part):
    found = [m for m in mutants if m.function == function and original_part in m.original
             and mutated_part in m.mutated]
    assert found, f"no mutant of {function} turning {original_part!r} into {mutated_part!r}"
    return found[0]


# ----------------------------------------------------------------------------------------------
# generation
# ----------------------------------------------------------------------------------------------
def test_every_operator_and_student_function_yields_mutants(mutants):
    assert 150 <= len(mutants) <= 600
    assert set(Counter(m.operator for m in mutants)) == set(OPERATORS)
    functions = set()
    for name in STUDENT_FILES:
        functions |= set(solution_blocks((reference_folder() / name).read_text()))
    assert {m.function for m in mutants} == functions
    assert len(functions) == 12


def test_syntax_mutants_change_one_line_inside_the_solution_block_only(mutants):
    for m in [m for m in mutants if FAMILIES[m.operator] == "syntax"][::3]:
        ref = (reference_folder() / m.file).read_text()
        lo, hi = solution_blocks(ref)[m.function]
        assert lo <= m.line <= hi
        old, new = ref.splitlines(), m.source.splitlines()
        assert len(old) == len(new), m.id
        changed = [i + 1 for i, (a, b) in enumerate(zip(old, new)) if a != b]
        assert changed == [m.line], (m.id, changed)
        assert m.original != m.mutated
        ast.parse(m.source)  # every mutant is valid Python


def test_mutants_are_deduplicated(mutants):
    keys = [(m.file, ast.dump(ast.parse(m.source))) for m in mutants]
    assert len(keys) == len(set(keys))
    assert len({m.id for m in mutants}) == len(mutants)


def test_classic_mistakes_are_among_the_mutants(mutants):
    _find(mutants, "kl_divergence", "np.broadcast_arrays(p, q)", "np.broadcast_arrays(q, p)")  # reversed KL
    _find(mutants, "kl_gaussian", "(2.0 * sigma**2)", "(sigma**2)")  # the slide's missing 1/2
    _find(mutants, "npg_direction", "np.linalg.pinv(F, rcond=1e-10, hermitian=True) @ g", "np.linalg.inv(F) @ g")
    _find(mutants, "score_function", "psi = policy.phi - mean_phi[:, None, :]", "psi = policy.phi")
    _find(mutants, "kl_divergence", "terms.sum(axis=-1)", "terms.sum(axis=0)")
    _find(mutants, "fisher_estimate", "psi.T @ psi", "psi @ psi")  # transpose dropped
    _find(mutants, "trust_region_step", "np.sqrt(delta / g_F_g) * v", "delta / g_F_g * v")  # sqrt dropped


def test_precedence_is_kept_when_a_node_is_replaced(mutants):
    # '**' -> '*' inside a product must be parenthesised, or the mutant would be a different program
    m = _find(mutants, "kl_gaussian", "sigma**2", "sigma*2")
    assert "(sigma*2)" in m.mutated or "(sigma * 2)" in m.mutated


def test_mutant_files_rewrite_imports_and_change_one_file(mutants):
    m = next(x for x in mutants if x.file == "npg.py")
    files = mutant_files(m)
    assert set(files) == set(STUDENT_FILES)
    assert "from fisher import" in files["npg.py"] and "from .fisher" not in files["npg.py"]
    assert m.mutated.split("  #")[0].strip() in files["npg.py"]


def test_unknown_operator_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown mutation operator"):
        generate_mutants(operators=["frobnicate"])


# ----------------------------------------------------------------------------------------------
# grading and classification (a handful of mutants with known verdicts)
# ----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_known_mutants_are_classified_and_reported(mutants, tmp_path):
    picks = [
        _find(mutants, "kl_divergence", "np.broadcast_arrays(p, q)", "np.broadcast_arrays(q, p)"),  # killed
        _find(mutants, "npg_direction", "rcond=1e-10", "rcond=2e-10"),  # equivalent
        _find(mutants, "sample_state_actions", 'side="right"', 'side="left"'),  # equivalent (same draws)
    ]
    extra = tmp_path / "wrong"
    materialise(next(s for s in SAMPLES if s.name == "trpo-step"), extra / "trpo-step")
    materialise(SAMPLES[0], extra / "actually-correct")
    out = tmp_path / "report"
    report = run_audit(jobs=2, output=out, extra=extra, mutants=picks)

    by_id = {r.id: r for r in report.results}
    reversed_kl = by_id[picks[0].id]
    assert reversed_kl.status == "killed"
    assert any(k["mistake"] == "reversed_kl" for k in reversed_kl.killed_by)
    assert reversed_kl.names_mistake and "kl_divergence" in reversed_kl.diagnostic
    for pick in picks[1:]:
        r = by_id[pick.id]
        assert r.status == "equivalent", (r.id, r.probe_difference)
        assert r.probes > 50 and r.passed_cases
    assert report.summary()["mutation_score"] == 1.0  # 1 killed, 0 survived, 2 excluded

    extras = {r.file: r for r in report.extras}
    assert extras["trpo-step"].status == "killed"
    assert any(k["mistake"] == "trpo_two_delta" for k in extras["trpo-step"].killed_by)
    assert "2.0 * delta" in extras["trpo-step"].mutated  # the diff against the reference
    assert extras["actually-correct"].status == "equivalent"

    data = json.loads((out / "audit.json").read_text())
    assert data["overall"]["killed"] == 1 and data["overall"]["equivalent"] == 2
    assert {m["id"] for m in data["mutants"]} == {p.id for p in picks}
    assert len(data["extra_submissions"]) == 2
    page = (out / "audit.html").read_text()
    assert "np.broadcast_arrays(q, p)" in page
    assert "<b>100.0%</b>" in page
    table = terminal_table(report)
    assert "kl_divergence" in table and "Mutation score: 100.0%" in table


def test_html_escapes_diffs():
    from autograder.audit.api import AuditReport, MutantResult
    from autograder.audit.report import html_report

    r = MutantResult("x", "kl.py", "kl_divergence", "kl_divergence", "compare", "'<' -> '<='", 1,
                     "if a < b:", "if a <= b: # <script>alert(1)</script>", status="survived")
    page = html_report(AuditReport([r], operators=list(OPERATORS)))
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "if a &lt;= b:" in page


@pytest.mark.slow  # each refused call still spends ~5-7 s of audit setup before it checks its input (27 s here)
def test_cli_rejects_bad_input(tmp_path, capsys):
    assert main(["audit", "--assignment", "npg", "--extra", str(tmp_path / "missing"), "-o", str(tmp_path / "r")]) == 2
    assert "--extra needs a folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["audit", "--assignment", "npg", "--extra", str(tmp_path / "empty"), "-o", str(tmp_path / "r")]) == 2
    assert "no submissions found" in capsys.readouterr().err
    assert main(["audit", "--assignment", "npg", "--function", "no_such_function", "-o", str(tmp_path / "r")]) == 2
    assert "no mutants for function" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert main(["audit", "--assignment", "npg", "--function", "kl_gaussian", "-o", str(tmp_path / "file")]) == 2
    assert "is a file" in capsys.readouterr().err


def test_cli_lists_mutants(capsys):
    assert main(["audit", "--assignment", "npg", "--list", "--function", "kl_gaussian", "--operator", "constant"]) == 0
    out = capsys.readouterr().out
    assert "2.0 -> 1.0" in out and out.strip().endswith("mutants")


# ----------------------------------------------------------------------------------------------
# the release bar: the shipped suite kills >= 95% of the non-equivalent syntax mutants, and every
# survivor of either family is explained in docs/audit-survivors.md
# ----------------------------------------------------------------------------------------------
SURVIVORS_DOC = Path(__file__).resolve().parent.parent / "docs" / "audit-survivors.md"
# The student-mistake operators' bar (issue 11): 59 killed of 59 non-equivalent today; before the
# suite checked arguments after each call, small gradients and CG's tol, 49 of 59 (83.1%).
MIN_STUDENT_SCORE = 0.95


def _documented_ids() -> set[str]:
    return set(re.findall(r"`([a-z_]+\.[a-z_]+:\d+:[a-z_]+:\d+)`", SURVIVORS_DOC.read_text(encoding="utf-8")))


def test_survivors_doc_lists_ids_of_existing_student_mutants(mutants):
    documented = _documented_ids()
    assert len(documented) >= 10
    assert documented <= {m.id for m in mutants}, documented - {m.id for m in mutants}


@pytest.mark.slow
def test_shipped_suite_mutation_score(tmp_path):
    report = run_audit(jobs=2, output=tmp_path)
    assert not report.errors, [(r.id, r.error) for r in report.errors]
    assert Path(tmp_path / "audit.json").exists()
    families = report.family_scores()
    survivors = "\n".join(f"{r.id}: {r.original} -> {r.mutated}" for r in report.survivors)
    syntax = families["syntax"]["mutation_score"]
    assert syntax is not None and syntax >= MIN_SCORE, (
        f"syntax mutation score {syntax:.3f} < {MIN_SCORE}; survivors (see docs/audit-survivors.md):\n{survivors}")
    student = families["student"]["mutation_score"]
    assert student is not None and student >= MIN_STUDENT_SCORE, survivors
    unexplained = {r.id for r in report.survivors} - _documented_ids()
    assert not unexplained, f"survivors not explained in docs/audit-survivors.md: {sorted(unexplained)}"


# ----------------------------------------------------------------------------------------------
# the two operator families in the reports and the gate
# ----------------------------------------------------------------------------------------------
def _two_family_report():
    from autograder.audit.api import AuditReport, MutantResult

    killed = MutantResult("kl.kl_gaussian:94:constant:1.0", "kl.py", "kl_gaussian", "kl_gaussian", "constant",
                          "2.0 -> 1.0", 94, "a", "b", status="killed")
    survived = MutantResult("npg.conjugate_gradient:155:alias:0", "npg.py", "conjugate_gradient",
                            "conjugate_gradient", "alias", "alias instead of a copy", 155, "r = g.copy()", "r = g",
                            status="survived", probe_difference="modifies its argument(s) g in place")
    return AuditReport([killed, survived], operators=list(OPERATORS))


def test_reports_give_a_score_per_operator_family():
    from autograder.audit.report import html_report

    report = _two_family_report()
    families = report.family_scores()
    assert families["syntax"]["killed"] == 1 and families["syntax"]["mutation_score"] == 1.0
    assert families["student"]["survived"] == 1 and families["student"]["mutation_score"] == 0.0
    table = terminal_table(report)
    assert "Mutation score, syntax operators: 100.0% (1 killed" in table
    assert "Mutation score, student-mistake operators: 0.0% (0 killed, 1 survived" in table
    assert "alias (student)" in table and "constant (syntax)" in table
    data = report.to_json()
    assert data["per_family"]["student"]["survived"] == 1
    assert data["operator_families"]["alias"] == "student"
    assert {m["family"] for m in data["mutants"]} == {"syntax", "student"}
    page = html_report(report)
    assert "student-mistake operators: <b>0.0%</b>" in page and "syntax operators: <b>100.0%</b>" in page


def test_fail_under_gates_each_family(monkeypatch, tmp_path, capsys):
    import autograder.audit as audit

    monkeypatch.setattr(audit, "run_audit", lambda *a, **k: _two_family_report())
    assert main(["audit", "--assignment", "npg", "-o", str(tmp_path / "r"), "--fail-under", "0.95"]) == 1
    assert "below 0.95 for the student operators" in capsys.readouterr().err
    assert main(["audit", "--assignment", "npg", "-o", str(tmp_path / "r"), "--fail-under", "0.0"]) == 0


@pytest.mark.slow
def test_a_mutant_that_changes_its_argument_is_killed_by_the_suite(mutants):
    """``r = g`` then ``r -= ...`` in CG: right values, the caller's g corrupted. It survived the
    suite until the suite checked arguments after every call (issue 11); now the suite kills it and
    says why (the probes, which run only for survivors, saw the same change)."""
    alias = next(m for m in mutants if m.id.startswith("npg.conjugate_gradient:") and m.operator == "alias"
                 and m.mutated.startswith("r = g "))
    report = run_audit(jobs=1, mutants=[alias])
    (result,) = report.results
    assert result.status == "killed", (result.status, result.diagnostic)
