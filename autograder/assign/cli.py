"""Regenerate assignments/ from solutions/ (templates, notebook, public tests, solution notebook).

With --check, generate nothing: compare assignments/ (and the solution notebook) with what the
reference would generate, print a diff summary, and exit 1 if anything is stale.
"""

from __future__ import annotations

import argparse
import sys

from autograder.assign.api import check_assignment, generate_assignment

HELP = "generate the student assignment from the reference solution (--check: fail if stale)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if assignments/ is stale")
    parser.add_argument("--assignment", metavar="NAME",
                        help="only this registered assignment (default: every registered one)")
    parser.add_argument(
        "--source", default=None, help="an authored folder with assignment.json (default: the registered assignments')"
    )
    parser.add_argument("--out", default=None, help="assignment folder (default: assignments/<name>; with one "
                                                    "assignment only)")
    parser.add_argument(
        "--no-execute", action="store_true", help="do not run the solution notebook (it is written without outputs)"
    )


def run(args: argparse.Namespace) -> int:
    from autograder.errors import UserError
    from autograder.registry import selected

    sources = [args.source] if args.source else [a.folder for a in selected(args.assignment)]
    if args.out and len(sources) > 1:
        raise UserError("--out names one folder: give --assignment NAME (or --source) too")
    if args.check:
        problems = [p for source in sources for p in check_assignment(source, args.out)]
        if problems:
            print(f"assignments are stale ({len(problems)} difference(s)); run `autograder assign`:", file=sys.stderr)
            for p in problems:
                print(f"- {p}", file=sys.stderr)
            return 1
        print("assignments are up to date")
        return 0
    for source in sources:
        result = generate_assignment(source, args.out, execute=not args.no_execute)
        print(f"wrote {result.out_dir} ({len(result.files)} files)")
        if result.solution_notebook is not None:
            state = "executed" if result.executed else "NOT executed"
            print(f"wrote {result.solution_notebook} ({state})")
    return 0
