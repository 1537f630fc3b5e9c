"""The ``autograder`` command: a thin layer over the Python API.

Each verb lives in its own subpackage, which exposes ``add_arguments(parser)`` and ``run(args)``
in its ``cli`` module; defaults live in the API functions, not here.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from typing import Optional, Sequence

from autograder.errors import UserError
from autograder.fileio import printing_never_fails

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


def build_parser(only: Optional[str] = None) -> argparse.ArgumentParser:
    """The argument parser; with ``only``, just that verb's subcommand (the others are not imported).

    Importing a verb's module can be slow (``assign`` loads nbformat), and ``autograder grade`` runs
    once per submission, so ``main`` imports only the verb it was asked for.
    """
    parser = argparse.ArgumentParser(
        prog="autograder",
        description="Generate, check and grade the natural-policy-gradient homework.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    if only is None or not _add_verbs(sub, [only]):
        _add_verbs(sub, list(COMMANDS))  # all verbs (also when ``only`` is not installed: the error lists them)
    return parser


def _add_verbs(sub: argparse._SubParsersAction, verbs: list[str]) -> int:
    """Register ``verbs`` whose module is installed; return how many were registered."""
    added = 0
    for verb in verbs:
        module_name = COMMANDS[verb]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # verb not installed in this build
            raise
        p = sub.add_parser(verb, help=module.HELP, description=module.__doc__)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
        added += 1
    return added


def _requested_verb(argv: Sequence[str]) -> Optional[str]:
    """The verb ``argv`` asks for, if it is the first argument and a known verb (else None)."""
    return argv[0] if argv and argv[0] in COMMANDS else None


# Options whose value may start with "-" (a negative penalty, a typo): argparse would take
# ``--late-penalty -10%/day`` for two options and say "expected one argument"; glued as
# ``--late-penalty=-10%/day`` the value reaches the verb, which explains what is wrong with it.
VALUE_MAY_START_WITH_DASH = frozenset({"--late-penalty", "--late-cap", "--grace-minutes", "--timeout", "--due",
                                       "--late-due"})


def _glue_dash_values(argv: list[str]) -> list[str]:
    """``argv`` with ``OPTION -VALUE`` written ``OPTION=-VALUE`` for the options above."""
    glued: list[str] = []
    index = 0
    while index < len(argv):
        token = argv[index]
        if token == "--":
            return glued + argv[index:]
        following = argv[index + 1] if index + 1 < len(argv) else ""
        if token in VALUE_MAY_START_WITH_DASH and following.startswith("-") and not following.startswith("--"):
            glued.append(f"{token}={following}")
            index += 2
            continue
        glued.append(token)
        index += 1
    return glued


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (tests, IDEs)
        pass


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``, as the console script does)."""
    from_console = argv is None
    printing_never_fails()
    if from_console:
        from .engine.isolation import private_command_line

        argv = private_command_line(sys.argv[1:])  # under root: no path left in /proc/PID/cmdline
    argv = _glue_dash_values(list(sys.argv[1:] if argv is None else argv))
    verb = _requested_verb(argv)
    parser = build_parser(only=verb)
    args = parser.parse_args(argv)
    if not hasattr(args, "_run"):
        parser.print_help()
        return 2
    try:
        code = int(args._run(args) or 0)
        if from_console:
            # The process exits next: skip the interpreter's final garbage collection of every
            # object the grade made (~30 ms of a ~0.6 s `autograder grade`). Outputs are already
            # written and the sandbox closed; atexit handlers and stream flushing still run.
            gc.freeze()
        return code
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``autograder grade X --json | head``): stop quietly, as Unix tools do.
        # Python would flush stdout again at exit and print a second traceback: point it at /dev/null.
        _silence_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by it
    except UserError as exc:
        print(f"autograder {args.command}: error: {exc}", file=sys.stderr)
        return 2
