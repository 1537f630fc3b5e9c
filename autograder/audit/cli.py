"""Audit the grading suite by mutation analysis before releasing the assignment.

Generates mutants of every student function in solutions/ (syntax operators: operator changes,
constants, swapped arguments, dropped terms, axes and transposes, negations, library swaps; and
student-mistake operators: aliasing and in-place updates, threshold guards, early returns, loop
bounds, stale values, confused names, ignored parameters), grades each with the
same sandbox and suite as `autograder grade`, in parallel, and reports which the suite kills,
which survive (with their one-line diff and the cases they passed) and which are probably
equivalent to the reference. Writes OUTDIR/audit.json and OUTDIR/audit.html.
"""

from __future__ import annotations

import argparse
import sys

HELP = "mutation analysis of the grading suite (does it catch wrong solutions?)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .mutants import OPERATORS

    parser.add_argument("-j", "--jobs", type=int, default=None, help="parallel workers (default: number of CPUs)")
    parser.add_argument("-o", "--output", default="report", metavar="OUTDIR",
                        help="folder for audit.json and audit.html (default: report)")
    parser.add_argument("--extra", metavar="FOLDER",
                        help="hand-written wrong submissions: one subfolder (or .zip/.ipynb/.py) each")
    parser.add_argument("--operator", action="append", choices=sorted(OPERATORS), dest="operators",
                        help="only this mutation operator (repeatable)")
    parser.add_argument("--function", action="append", dest="functions", metavar="NAME",
                        help="only mutants of this student function (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit without grading")
    parser.add_argument("--assignment", metavar="NAME",
                        help="the assignment audited (required when several are registered)")
    parser.add_argument("--fail-under", type=float, default=None, metavar="SCORE",
                        help="exit with status 1 if the mutation score of either operator family (syntax, "
                             "student mistakes) is below SCORE (e.g. 0.95)")


def run(args: argparse.Namespace) -> int:
    from ..errors import UserError
    from . import generate_mutants, run_audit
    from .report import terminal_table

    if args.jobs is not None and args.jobs < 1:
        raise UserError(f"-j/--jobs must be at least 1, got {args.jobs}")
    from ..registry import resolve

    chosen = resolve(args.assignment)  # the flag is needed once several assignments are registered
    if args.list:
        try:
            mutants = generate_mutants(chosen.folder, chosen.files, operators=args.operators,
                                       functions=args.functions)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        for m in mutants:
            print(f"{m.id}  [{m.operator}] {m.description}\n    - {m.original}\n    + {m.mutated}")
        print(f"{len(mutants)} mutants")
        return 0

    from ..batch.progress import Progress

    bar: list[Progress] = []

    def progress(done: int, total: int, result: object) -> None:
        # The batch's progress: a redrawn bar on a terminal, a plain line every 10 s in a log or CI.
        if not bar:
            bar.append(Progress(total, sys.stderr))
        while bar[0].done < done:
            bar[0].advance()

    report = run_audit(args.jobs, args.output, args.extra, operators=args.operators, functions=args.functions,
                       progress=progress, assignment=chosen.name)
    if bar:
        bar[0].finish()
    print(terminal_table(report))
    print(f"Reports written to {args.output}/audit.json and {args.output}/audit.html")
    if args.fail_under is not None:
        scores = {family: s["mutation_score"] for family, s in report.family_scores().items()}
        low = [family for family, score in scores.items() if score is None or score < args.fail_under]
        if low or not scores:
            print(f"mutation score below {args.fail_under} for the {', '.join(low) or 'generated'} operators",
                  file=sys.stderr)
            return 1
    return 0
