"""Run the public tests of a student's assignment folder, as `python check.py` does there."""

from __future__ import annotations

import argparse

from autograder.check import run_public_checks

HELP = "run a student's public tests (the folder's check.py); exit status 0 when all pass"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", nargs="?", default=None,
                        help="the assignment folder (default: the --assignment's handout, else .)")
    parser.add_argument("parts", nargs="*", help="only these parts (function names)")
    parser.add_argument("--assignment", metavar="NAME",
                        help="check this assignment's generated handout (assignments/NAME)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    folder, parts = args.folder, list(args.parts)
    if args.assignment and folder is not None and not Path(folder).is_dir():
        folder, parts = None, [folder, *parts]  # ``check --assignment npg policy_kl``: a part, not a folder
    if folder is None:
        from autograder.registry import get

        folder = get(args.assignment).handout if args.assignment else "."
    return run_public_checks(folder, parts)
