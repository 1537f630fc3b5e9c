"""Grade a whole class: INPUT is a folder of submissions (one subfolder, .zip or .ipynb per
student) or a Gradescope "Export Submissions" zip.

Writes OUTDIR/grades.csv (one row per student; every entry of INPUT is graded or listed with the
reason it was not), OUTDIR/feedback/<id>.md and .html (a page per submission to send to its
students), OUTDIR/canvas.csv and OUTDIR/gradescope_scores.csv (to upload), OUTDIR/results/<id>.json
(Gradescope format), OUTDIR/report.html (with plots in OUTDIR/report/) and OUTDIR/similarity.html
(the most similar pairs of code, for a person to look at: it accuses nobody). With --due and
--late-penalty, late submissions are penalised (the raw score is kept). Submissions are graded in
parallel, each in its own sandbox; results are cached in OUTDIR/cache/, so after an interruption the
same command continues where it stopped, and a rerun on unchanged input grades nothing.
"""

from __future__ import annotations

import argparse
import sys

HELP = "grade a folder of submissions or a Gradescope export into a gradebook and a report"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="a folder of submissions, or a Gradescope export .zip")
    parser.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="where to write the results")
    parser.add_argument("--assignment", metavar="NAME",
                        help="the assignment graded (default: the one whose files the submissions hold)")
    parser.add_argument("-j", "--jobs", type=int, default=None, help="parallel grades (default: all cores)")
    parser.add_argument("--secret-file", help="the bundle's secret, to reproduce Gradescope's hidden cases")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="time limit for one submission's calls (default: the engine's, 120 s)")
    parser.add_argument("--regrade", action="store_true", help="ignore cached results and grade everything again")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    parser.add_argument("--canvas-key", choices=("sid", "email"), default="sid",
                        help="how canvas.csv identifies students: SIS User ID = sid (default), SIS Login ID = email")
    parser.add_argument("--canvas-assignment", metavar="COLUMN", default=None,
                        help="the assignment's column in Canvas, as Canvas exports it, e.g. 'NPG homework (1234)' "
                             "(default: the assignment's title)")
    parser.add_argument("--no-similarity", dest="similarity", action="store_false",
                        help="skip the code-similarity report (similarity.html)")
    late = parser.add_argument_group("lateness (from each submission's created_at in a Gradescope export)")
    late.add_argument("--due", metavar="TIME", help="the due date with its UTC offset, e.g. 2026-11-20T23:59-08:00")
    late.add_argument("--late-due", metavar="TIME", help="the late due date: later submissions get no credit")
    late.add_argument("--late-penalty", metavar="POLICY", default="none",
                      help="none (default), or a percentage of the maximum points per started day or hour "
                           "late: 10%%/day, 2%%/hour")
    late.add_argument("--late-cap", metavar="PERCENT", help="the largest penalty, e.g. 50%% (default 100%%)")
    late.add_argument("--grace-minutes", type=float, default=0.0, metavar="MIN",
                      help="submissions at most this late count as on time (default 0)")


def run(args: argparse.Namespace) -> int:
    from ..engine.sandbox import Limits
    from ..errors import UserError
    from . import run_batch
    from .gradebook import FAILED, NOT_GRADABLE, PENDING, SKIPPED
    from .lateness import LatePolicy
    from .progress import format_duration

    if args.jobs is not None and args.jobs < 1:
        raise UserError(f"-j {args.jobs}: the number of jobs must be at least 1")
    limits = None
    if args.timeout is not None:
        if args.timeout <= 0:
            raise UserError(f"--timeout {args.timeout}: must be a positive number of seconds")
        limits = Limits(submission_seconds=args.timeout)
    policy = LatePolicy.parse(args.late_penalty, args.late_cap, args.grace_minutes, args.due, args.late_due)
    canvas = {"canvas_assignment": args.canvas_assignment} if args.canvas_assignment else {}
    from ..environment import report_differences
    from ..registry import get

    report_differences(sys.stderr, get(args.assignment).manifest_path if args.assignment else None)
    summary = run_batch(args.input, args.output, args.jobs, secret_file=args.secret_file, limits=limits,
                        suite=args.assignment, regrade=args.regrade, progress=None if args.quiet else sys.stderr,
                        late_policy=policy,
                        canvas_key=args.canvas_key, similarity=args.similarity, **canvas)
    totals = [r.total for r in summary.rows if r.total is not None]
    max_total = sum(p.points for p in summary.parts)
    entries = len(summary.rows)
    submissions = entries - summary.count(SKIPPED)
    done = submissions - summary.count(PENDING)
    print(f"{entries} entries in INPUT, {submissions} of them submissions; {done} of {submissions} done: "
          f"{summary.graded} graded now, {summary.cached} from the cache, in {format_duration(summary.seconds)} "
          f"(sandbox: {summary.isolation}, {summary.jobs} job(s)).")
    if summary.duplicates:
        print(f"{summary.duplicates} submission(s) have the same code as another one: graded once, "
              "each keeps its own row.")
    if summary.graded:
        print(f"Grading rate: {summary.rate:.2f} submissions/s.")
    if totals:
        print(f"Mean score {sum(totals) / len(totals):.2f} / {max_total:g} over {len(totals)} submissions.")
    for status, advice in ((NOT_GRADABLE, "nothing gradable; scored 0"), (FAILED, "the grader failed; rerun to retry"),
                           (PENDING, "not graded yet; run the same command again to continue"),
                           (SKIPPED, "not submissions; listed with the reason, no score")):
        rows = [r for r in summary.rows if r.status == status]
        if rows:
            print(f"{len(rows)} {status}: {advice}:")
            for r in rows[:20]:
                first = r.error.splitlines()[0] if r.error else status
                name = r.entry.name or r.entry.id
                print(f"  {first}" if name in first else f"  {name}: {first}")
            if len(rows) > 20:
                print(f"  ... and {len(rows) - 20} more (see grades.csv and the report)")
    similar = summary.similar_pairs
    if similar:
        top = similar[0]
        print(f"Most similar code: {top.label_a} and {top.label_b} ({100 * top.score:.0f}%); {len(similar)} pair(s) in "
              "similarity.html, for a person to look at (similarity is not proof of copying).")
    for warning in summary.warnings:  # printed even with -q: each may make a grade or an upload wrong
        print(f"Warning: {warning}", file=sys.stderr)
    late = [r for r in summary.rows if r.late is not None and r.late.seconds_late > 0]
    if late:
        print(f"{len(late)} late submission(s) ({policy.describe()}); grades.csv has the raw total next to the total.")
    uploads = "and canvas.csv, gradescope_scores.csv for upload" if summary.uploads_written else \
        "no upload files until every submission is graded"
    print(f"Wrote {summary.grades_csv} ({uploads}), {summary.results_dir}/, "
          f"feedback pages in {summary.outdir / 'feedback'}/ and {summary.report_html}")
    if summary.interrupted:
        print("Interrupted: everything graded so far is kept; run the same command again to continue.",
              file=sys.stderr)
        return 130
    return 1 if summary.count(FAILED) else 0
