"""False failures of correct submissions over many submission ids (a script, not a test).

Run: ``python benchmarks/bench_false_failures.py [-n 2000] [-j JOBS] [--start 900000] [--variant NAME]
[--disjoint] [--full] [--json OUT]``

Hidden cases are random MDPs seeded by HMAC(secret, submission id), so a check whose tolerance is
too tight for round-off fails a correct submission for a few ids only. This script grades every
correct submission of the catalogue (``tests/submissions/correct.py``: the reference and its
correct-but-different variants: loops, scipy, float32, rollout sampler, lstsq, a null-space
direction, a relative CG stop, an eigh pseudo-inverse, NPG with its own helpers, numpy's default
pinv cut-off) under the ids ``start .. start + n - 1`` (with ``--disjoint``, variant k under its
own ``n`` ids from ``start + k n``) with the development secret, and prints,
per variant, the ids graded, the false failures (ids below full marks, with the failing checks),
the time taken and the throughput. The exit status is 1 if any id of any variant is below full
marks.

How it grades. A grade is the suite's public checks (their seeds depend on the check's name only)
plus its hidden checks (kind ``"hidden"``: seeded by the secret and the id). Each job takes one
variant and a chunk of ids: it grades the first id with the engine's own
:func:`~autograder.engine.runner.grade_submission` (the whole pipeline, the real score), then runs
the hidden checks of every id of the chunk against one sandbox child forked from the pre-started
worker, exactly as ``grade_submission`` runs them, only without restarting the child and re-running
the id-independent public checks for each id. The first id's hidden verdicts must equal those of
its full grade (else the job reports an error). ``--full`` grades every id with
``grade_submission`` instead (about 8x slower).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 100  # ids per job: a job costs one full grade plus CHUNK hidden-check runs in one child


def _catalogue() -> Any:
    """The correct submissions of ``tests/submissions/correct.py`` (importable from the checkout)."""
    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    from submissions.correct import DIFFERENT

    return DIFFERENT


def variant_names() -> list[str]:
    """Names of the catalogue's correct submissions, in catalogue order."""
    return [spec.name for spec in _catalogue()]


def grade_chunk(variant: str, ids: Sequence[int], full: bool = False) -> dict[str, Any]:
    """Grade correct submission ``variant`` under each submission id in ``ids`` (development secret).

    Returns plain data: ``{"variant", "graded", "failures": {id: [check, ...]}, "seconds",
    "cross_checked", "error"}``; a check is named ``"part: check name"``.
    """
    from autograder.engine.loader import load_submission
    from autograder.engine.runner import grade_submission, load_suite, provided_files, suite_codecs
    from autograder.engine.sandbox import Limits, Sandbox
    from autograder.engine.secret import DEVELOPMENT_SECRET
    from autograder.engine.suite import Context, Seeds

    spec = next(s for s in _catalogue() if s.name == variant)
    from submissions import build  # importable once _catalogue() has put tests/ on the path
    start = time.monotonic()
    out: dict[str, Any] = {"variant": variant, "graded": 0, "failures": {}, "cross_checked": 0, "error": ""}
    with tempfile.TemporaryDirectory(prefix="npg-false-failures-") as tmp:
        submission = load_submission(build(spec, Path(tmp) / variant))

    def full_grade(identity: int) -> tuple[list[str], list[str], float, float]:
        """(failed public checks, failed hidden checks, score, max score) of one whole grade."""
        report = grade_submission(submission, secret=DEVELOPMENT_SECRET, identity=str(identity),
                                  reuse_worker=True)
        failed = [r for r in report.results if not r.outcome.passed]
        public = [f"{r.check.part}: {r.check.name}" for r in failed if r.check.kind != "hidden"]
        hidden = [f"{r.check.part}: {r.check.name}" for r in failed if r.check.kind == "hidden"]
        return public, hidden, report.score, float(report.max_score)

    def record(identity: int, failed: list[str]) -> None:
        out["graded"] += 1
        if failed:
            out["failures"][str(identity)] = failed

    if full:
        for identity in ids:
            public, hidden, _, _ = full_grade(identity)
            record(identity, public + hidden)
        out["cross_checked"] = len(ids)
        out["seconds"] = time.monotonic() - start
        return out

    public, first_hidden, _, _ = full_grade(ids[0])
    # One child for the whole chunk: the per-id budgets of Limits() times the number of ids.
    limits = Limits(submission_seconds=Limits.submission_seconds * len(ids), cpu_seconds=Limits.cpu_seconds * len(ids))
    with Sandbox(submission.sandbox_files(), provided_files("npg"), limits, reuse_worker=True,
                 codecs=suite_codecs("npg")) as box:
        for identity in ids:
            suite = load_suite("npg", Seeds(DEVELOPMENT_SECRET, str(identity)))
            context = Context(box, suite)
            hidden = [f"{c.part}: {c.name}" for c in suite.checks if c.kind == "hidden" and not c.run(context).passed]
            if identity == ids[0]:
                out["cross_checked"] = 1
                if hidden != first_hidden:
                    out["error"] = (f"id {identity}: hidden verdicts differ between the full grade {first_hidden} "
                                    f"and the shared child {hidden}")
            record(identity, public + hidden)
    out["seconds"] = time.monotonic() - start
    return out


def run(variants: Sequence[str], ids: Sequence[int], jobs: int, full: bool = False,
        chunk: int = CHUNK, disjoint: bool = False) -> dict[str, dict[str, Any]]:
    """Grade every variant under every id, ``jobs`` processes in parallel.

    With ``disjoint``, variant number k is graded under ``ids`` shifted by ``k * len(ids)`` instead,
    so that the variants together meet ``len(variants) * len(ids)`` different hidden-case draws.

    Returns ``{variant: {"ids": [first, last], "graded", "failures": {id: [checks]}, "seconds"
    (summed over jobs), "cross_checked", "errors": [...]}}``.
    """
    own = {v: [i + (k * len(ids) if disjoint else 0) for i in ids] for k, v in enumerate(variants)}
    tasks = [(v, own[v][i:i + chunk]) for v in variants for i in range(0, len(ids), chunk)]
    totals = {v: {"ids": [own[v][0], own[v][-1]], "graded": 0, "failures": {}, "seconds": 0.0, "cross_checked": 0,
                  "errors": []} for v in variants}
    # One BLAS thread per worker: the workers are the parallelism (as in autograder batch).
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=context) as pool:
        futures = [pool.submit(grade_chunk, v, chunk_ids, full) for v, chunk_ids in tasks]
        for future in as_completed(futures):
            data = future.result()
            t = totals[data["variant"]]
            t["graded"] += data["graded"]
            t["failures"].update(data["failures"])
            t["seconds"] += data["seconds"]
            t["cross_checked"] += data["cross_checked"]
            if data["error"]:
                t["errors"].append(data["error"])
    return totals


def _table(totals: dict[str, dict[str, Any]], wall: float, jobs: int) -> str:
    lines = [f"{'variant':<18} {'first id':>8} {'ids':>6} {'false failures':>14} {'worker s':>9} {'ids/s/worker':>12}  "
             "failing checks", "-" * 100]
    for name, t in totals.items():
        checks: dict[str, int] = {}
        for failed in t["failures"].values():
            for c in failed:
                checks[c] = checks.get(c, 0) + 1
        where = "; ".join(f"{c} ({k})" for c, k in sorted(checks.items(), key=lambda x: -x[1])) or "-"
        rate = t["graded"] / t["seconds"] if t["seconds"] else 0.0
        lines.append(f"{name:<18} {t['ids'][0]:>8} {t['graded']:>6} {len(t['failures']):>14} "
                     f"{t['seconds']:>9.1f} {rate:>12.1f}  {where}")
        for identity, failed in list(t["failures"].items())[:5]:
            lines.append(f"{'':<18} id {identity}: {', '.join(failed)}")
        if len(t["failures"]) > 5:
            lines.append(f"{'':<18} ... {len(t['failures']) - 5} more ids")
        for error in t["errors"]:
            lines.append(f"{'':<18} ERROR {error}")
    graded = sum(t["graded"] for t in totals.values())
    failed = sum(len(t["failures"]) for t in totals.values())
    lines.append("-" * 100)
    lines.append(f"{graded} grades, {failed} below full marks, in {wall:.1f} s wall with {jobs} jobs "
                 f"({graded / wall:.1f} grades/s)")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="submission ids per variant (default 2000)")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    parser.add_argument("--start", type=int, default=900000, help="first submission id (default 900000)")
    parser.add_argument("--variant", action="append", choices=variant_names(), dest="variants",
                        help="only this correct submission (repeatable; default all)")
    parser.add_argument("--full", action="store_true", help="a whole grade_submission per id (slower)")
    parser.add_argument("--chunk", type=int, default=CHUNK, help=f"ids per job (default {CHUNK})")
    parser.add_argument("--disjoint", action="store_true",
                        help="give each variant its own n ids (start + k n ..): more different MDPs in all")
    parser.add_argument("--json", metavar="OUT", help="also write the per-variant results as JSON")
    args = parser.parse_args(argv)
    if args.n < 1 or args.jobs < 1 or args.chunk < 1:
        parser.error("-n, -j and --chunk must be at least 1")
    variants = args.variants or variant_names()
    ids = list(range(args.start, args.start + args.n))

    t0 = time.perf_counter()
    totals = run(variants, ids, args.jobs, args.full, args.chunk, args.disjoint)
    wall = time.perf_counter() - t0
    last = ids[-1] + (len(ids) * (len(variants) - 1) if args.disjoint else 0)
    print(f"ids {ids[0]}..{last} ({len(ids)} per variant{', disjoint' if args.disjoint else ''}), development secret, "
          f"{'full grades' if args.full else 'public checks once per chunk, hidden checks per id'}")
    print(_table(totals, wall, args.jobs))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}")
    if args.json:
        Path(args.json).write_text(json.dumps({"ids": [ids[0], last], "wall_seconds": round(wall, 2),
                                               "jobs": args.jobs, "full": args.full, "variants": totals},
                                              indent=1), encoding="utf-8")
    bad = any(t["failures"] or t["errors"] for t in totals.values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
