"""``autograder audit``: mutation analysis of the grading suite before an assignment is released.

Mutants of every student function of ``solutions/`` are generated from the AST
(:mod:`autograder.audit.mutants`), each is graded by the real pipeline (the sandbox and suite of
``autograder grade``) in parallel, and classified as killed (by which checks, with which
diagnostic), survived, or probably equivalent (identical outputs on extra random probes,
:mod:`autograder.audit.probes`). The report gives the mutation score per part and overall.
"""

from .api import AUDIT_IDENTITY, AUDIT_SECRET, AuditReport, MutantResult, extra_submissions, run_audit
from .mutants import OPERATORS, Mutant, generate_mutants, mutant_files

__all__ = [
    "AUDIT_IDENTITY",
    "AUDIT_SECRET",
    "OPERATORS",
    "AuditReport",
    "Mutant",
    "MutantResult",
    "extra_submissions",
    "generate_mutants",
    "mutant_files",
    "run_audit",
]
