"""Tests of `autograder audit`: mutant generation, classification, reports, and the suite's score."""

from __future__ import annotations

import ast
import json
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


def test_cli_rejects_bad_input(tmp_path, capsys):
    assert main(["audit", "--extra", str(tmp_path / "missing"), "-o", str(tmp_path / "r")]) == 2
    assert "--extra needs a folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["audit", "--extra", str(tmp_path / "empty"), "-o", str(tmp_path / "r")]) == 2
    assert "no submissions found" in capsys.readouterr().err
    assert main(["audit", "--function", "no_such_function", "-o", str(tmp_path / "r")]) == 2
    assert "no mutants for function" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert main(["audit", "--function", "kl_gaussian", "-o", str(tmp_path / "file")]) == 2
    assert "is a file" in capsys.readouterr().err


def test_cli_lists_mutants(capsys):
    assert main(["audit", "--list", "--function", "kl_gaussian", "--operator", "constant"]) == 0
    out = capsys.readouterr().out
    assert "2.0 -> 1.0" in out and out.strip().endswith("mutants")


# ----------------------------------------------------------------------------------------------
# the release bar: the shipped suite kills >= 95% of the non-equivalent generated mutants
# ----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_shipped_suite_mutation_score(tmp_path):
    report = run_audit(jobs=2, output=tmp_path)
    assert not report.errors, [(r.id, r.error) for r in report.errors]
    assert Path(tmp_path / "audit.json").exists()
    survivors = "\n".join(f"{r.id}: {r.original} -> {r.mutated}" for r in report.survivors)
    assert report.score is not None and report.score >= MIN_SCORE, (
        f"mutation score {report.score:.3f} < {MIN_SCORE}; survivors (see docs/audit-survivors.md):\n{survivors}")
