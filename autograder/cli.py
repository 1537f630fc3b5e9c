"""The ``autograder`` command: a thin layer over the Python API.

Each verb lives in its own subpackage, which exposes ``add_arguments(parser)`` and ``run(args)``
in its ``cli`` module; defaults live in the API functions, not here.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Optional, Sequence

from autograder.errors import UserError

# verb -> module with add_arguments(parser) and run(args) -> int, and a one-line HELP
COMMANDS = {
    "assign": "autograder.assign.cli",
    "check": "autograder.check.cli",
    "grade": "autograder.grade.cli",
    "demo": "autograder.demo.cli",
    "batch": "autograder.batch.cli",
    "bundle": "autograder.bundle.cli",
    "audit": "autograder.audit.cli",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autograder",
        description="Generate, check and grade the natural-policy-gradient homework.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for verb, module_name in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # verb not installed in this build
            raise
        p = sub.add_parser(verb, help=module.HELP, description=module.__doc__)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "_run"):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except UserError as exc:
        print(f"autograder {args.command}: error: {exc}", file=sys.stderr)
        return 2
