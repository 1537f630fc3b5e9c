"""Grade one submission: a folder, .py files, a notebook, or a .zip of either.

Prints a readable summary (points per part, each failed check with its feedback) and writes
Gradescope-format results with -o.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "grade one submission and write Gradescope results.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("submission", nargs="+", help="a folder, .py files, a .ipynb notebook, or a .zip")
    parser.add_argument("-o", "--output", help="write Gradescope results.json here")
    parser.add_argument("--assignment", metavar="NAME",
                        help="the assignment to grade (default: the one whose files the submission holds)")
    parser.add_argument("--secret-file", help="the bundle's secret, to reproduce Gradescope's hidden cases")
    parser.add_argument("--id", dest="identity", help="submission identity for hidden seeds (default: content hash)")
    parser.add_argument("--json", action="store_true", help="print the results JSON instead of the summary")
    parser.add_argument("-v", "--verbose", action="store_true", help="show every failed check's feedback in full")


def run(args: argparse.Namespace) -> int:
    from ..engine.results import terminal_report
    from ..environment import report_differences
    from ..registry import assignments, detect, file_names, get
    from . import grade

    name = args.assignment
    if name is None and len(assignments()) > 1:  # the input's file names decide, or the user must
        name = detect(file_names(Path(p) for p in args.submission)).name
    report_differences(sys.stderr, get(name).manifest_path if name else None)
    report, results = grade(args.submission, args.output, secret_file=args.secret_file, identity=args.identity,
                            assignment=name)
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        print()
    else:
        print(terminal_report(report, verbose=args.verbose))
        print(f"\nGraded in {report.seconds:.2f} s (sandbox: {report.isolation}).")
        if args.output:
            print(f"Results written to {args.output}")
    return 0
