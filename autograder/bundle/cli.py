"""Build the Gradescope autograder zip (setup.sh, run_autograder, the grader and a hidden-case secret).

Upload the zip in Gradescope (Configure Autograder, Ubuntu 22.04 base image). Keep the secret file
written next to it: TAs need it to reproduce Gradescope's hidden cases locally.
"""

from __future__ import annotations

import argparse

from ..engine.suite import VISIBILITIES

HELP = "build the Gradescope autograder zip"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from . import DEFAULT_SANDBOX_USER

    parser.add_argument("-o", "--output", default="autograder.zip", help="the zip to write (default: autograder.zip)")
    parser.add_argument("--secret-file", help="reuse this secret (keeps the hidden cases of an earlier bundle)")
    parser.add_argument("--secret-out", help="where to write a new secret (default: OUTPUT.secret)")
    parser.add_argument("--assignment", metavar="NAME",
                        help="the assignment to bundle (required when several are registered)")
    parser.add_argument("--call-seconds", type=float, default=None,
                        help="time limit of one call (default: 10, or the manifest's limits)")
    parser.add_argument("--submission-seconds", type=float, default=None,
                        help="time budget for all calls of one submission (default: 120, or the manifest's)")
    parser.add_argument("--memory-mb", type=int, default=None,
                        help="address-space limit of student code in MB (default: 1024, or the manifest's)")
    parser.add_argument("--hidden-visibility", default="after_due_date", choices=VISIBILITIES,
                        help="when students see hidden-case checks (default: after_due_date)")
    parser.add_argument("--max-graded", type=int, default=None, metavar="K",
                        help="rate limit (optional): grade at most K submissions of a student per window; a later "
                             "one keeps the best earlier score and says when the next will be graded")
    parser.add_argument("--window-hours", type=float, default=24.0, metavar="H",
                        help="the rolling window of --max-graded, in hours (default: 24)")
    parser.add_argument("--sandbox-user", default=DEFAULT_SANDBOX_USER,
                        help=f"the unprivileged user setup.sh creates (default: {DEFAULT_SANDBOX_USER})")


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from ..registry import resolve
    from . import build_bundle, bundle_limits

    assignment = resolve(args.assignment)
    given = {"call_seconds": args.call_seconds, "submission_seconds": args.submission_seconds,
             "memory_bytes": None if args.memory_mb is None else args.memory_mb << 20}
    limits = dataclasses.replace(assignment.make_limits(bundle_limits()),
                                 **{k: v for k, v in given.items() if v is not None})
    info = build_bundle(
        args.output,
        secret_file=args.secret_file,
        secret_out=args.secret_out,
        limits=limits,
        suite=assignment.name,
        hidden_visibility=args.hidden_visibility,
        sandbox_user=args.sandbox_user,
        rate_limit=None if args.max_graded is None else (args.max_graded, args.window_hours),
    )
    print(info.message())
    return 0
