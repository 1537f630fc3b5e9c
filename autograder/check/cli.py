"""Run the public tests of a student's assignment folder, as `python check.py` does there."""

from __future__ import annotations

import argparse

from autograder.check import run_public_checks

HELP = "run a student's public tests (the folder's check.py); exit status 0 when all pass"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", nargs="?", default=".", help="the assignment folder (default: .)")
    parser.add_argument("parts", nargs="*", help="only these parts (function names)")


def run(args: argparse.Namespace) -> int:
    return run_public_checks(args.folder, args.parts)
