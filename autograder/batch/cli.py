"""Grade a whole class: INPUT is a folder of submissions (one subfolder, .zip or .ipynb per
student) or a Gradescope "Export Submissions" zip.

Writes OUTDIR/grades.csv (one row per student), OUTDIR/results/<id>.json (Gradescope format) and
OUTDIR/report.html (with plots in OUTDIR/report/). Submissions are graded in parallel, each in
its own sandbox; results are cached in OUTDIR/cache/, so after an interruption the same command
continues where it stopped, and a rerun on unchanged input grades nothing.
"""

from __future__ import annotations

import argparse
import sys

HELP = "grade a folder of submissions or a Gradescope export into a gradebook and a report"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="a folder of submissions, or a Gradescope export .zip")
    parser.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="where to write the results")
    parser.add_argument("-j", "--jobs", type=int, default=None, help="parallel grades (default: all cores)")
    parser.add_argument("--secret-file", help="the bundle's secret, to reproduce Gradescope's hidden cases")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="time limit for one submission's calls (default: the engine's, 120 s)")
    parser.add_argument("--regrade", action="store_true", help="ignore cached results and grade everything again")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")


def run(args: argparse.Namespace) -> int:
    from ..engine.sandbox import Limits
    from ..errors import UserError
    from . import run_batch
    from .gradebook import FAILED, NOT_GRADABLE, PENDING
    from .progress import format_duration

    if args.jobs is not None and args.jobs < 1:
        raise UserError(f"-j {args.jobs}: the number of jobs must be at least 1")
    limits = None
    if args.timeout is not None:
        if args.timeout <= 0:
            raise UserError(f"--timeout {args.timeout}: must be a positive number of seconds")
        limits = Limits(submission_seconds=args.timeout)
    from ..environment import report_differences

    report_differences(sys.stderr)
    summary = run_batch(args.input, args.output, args.jobs, secret_file=args.secret_file, limits=limits,
                        regrade=args.regrade, progress=None if args.quiet else sys.stderr)
    totals = [r.total for r in summary.rows if r.total is not None]
    max_total = sum(p.points for p in summary.parts)
    done = len(summary.rows) - summary.count(PENDING)
    print(f"{done} of {len(summary.rows)} submissions done: {summary.graded} graded now, {summary.cached} from the "
          f"cache, in {format_duration(summary.seconds)} (sandbox: {summary.isolation}, {summary.jobs} job(s)).")
    if summary.graded:
        print(f"Grading rate: {summary.rate:.2f} submissions/s.")
    if totals:
        print(f"Mean score {sum(totals) / len(totals):.2f} / {max_total:g} over {len(totals)} submissions.")
    for status, advice in ((NOT_GRADABLE, "nothing gradable; scored 0"), (FAILED, "the grader failed; rerun to retry"),
                           (PENDING, "not graded yet; run the same command again to continue")):
        n = summary.count(status)
        if n:
            print(f"{n} {status}: {advice} (see the report).")
    print(f"Wrote {summary.grades_csv}, {summary.results_dir}/ and {summary.report_html}")
    if summary.interrupted:
        print("Interrupted: everything graded so far is kept; run the same command again to continue.",
              file=sys.stderr)
        return 130
    return 1 if summary.count(FAILED) else 0
