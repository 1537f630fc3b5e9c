"""Memory and speed of grading one correct submission, whole-process (a script, not a test).

Run: ``python benchmarks/bench_grade_memory.py [--assignment npg|cartpole] [--repeats N]
[--isolation bwrap|user|none]``

Each repeat starts a fresh Python process that loads the reference submission (the assignment's
"correct" demo sample), grades every part including the hidden cases, and writes results.json,
exactly what ``autograder grade --assignment NAME`` does. This script measures, per repeat:

* wall time of the whole process (interpreter start, imports, sandbox start-up, all checks, JSON);
* peak RSS of the grader process itself (``getrusage(RUSAGE_SELF)``), and
* peak RSS of its largest descendant, the sandboxed student process (``getrusage(RUSAGE_CHILDREN)``
  in the grader, after the sandbox has been reaped).

Their sum bounds the peak memory of the grade. Targets: the tabular homework (issue 4, Gradescope's
default container has 768 MB and 0.5 vCPU) under 300 MB in total and under 2 s here; the CartPole
assignment (issue 13: 6,000 rollout steps and a training loop run in the sandbox) under 500 MB and
under 20 s. Exit status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"npg": (300.0, 2.0), "cartpole": (500.0, 20.0)}  # assignment -> (MB, seconds)

_MEASURE = r"""
import json, resource, sys, time
start = time.monotonic()
from autograder.grade import grade
report, results = grade(sys.argv[1], sys.argv[2], secret=b"benchmark-secret", assignment=sys.argv[3])
seconds = time.monotonic() - start
kb = 1024.0
print(json.dumps({
    "score": report.score, "max_score": report.max_score, "checks": len(report.results),
    "hidden_checks": sum(r.check.kind == "hidden" for r in report.results),
    "isolation": report.isolation, "grade_seconds": seconds,
    "grader_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / kb,
    "child_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / kb,
}))
"""


def measure_once(submission: Path, output: Path, assignment: str) -> dict:
    """Grade ``submission`` in a fresh process; return its figures and the whole-process wall time."""
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", _MEASURE, str(submission), str(output), assignment],
                          capture_output=True, text=True, check=False)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"the grading process failed:\n{proc.stderr}")
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    figures["wall_seconds"] = wall
    figures["total_mb"] = figures["grader_mb"] + figures["child_mb"]
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", choices=sorted(TARGETS), default="npg", help="which assignment (default npg)")
    parser.add_argument("--repeats", type=int, default=5, help="fresh processes to time (default 5)")
    parser.add_argument("--isolation", choices=("bwrap", "user", "none"), help="force a sandbox mode")
    args = parser.parse_args()
    if args.isolation:
        os.environ["AUTOGRADER_ISOLATION"] = args.isolation
    from autograder.demo.samples import materialise, samples_of
    from autograder.registry import get

    MEMORY_TARGET_MB, TIME_TARGET_S = TARGETS[args.assignment]
    correct = next(s for s in samples_of(get(args.assignment)) if s.name == "correct")
    with tempfile.TemporaryDirectory() as tmp:
        submission = materialise(correct, Path(tmp) / "submission")
        runs = [measure_once(submission, Path(tmp) / "results.json", args.assignment)
                for _ in range(max(1, args.repeats))]
        json.loads((Path(tmp) / "results.json").read_text())  # the results file is valid JSON
    first = runs[0]
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f}; sandbox: {first['isolation']}")
    print(f"Graded {args.assignment}'s correct sample: {first['score']:.1f}/{first['max_score']:.0f}, "
          f"{first['checks']} checks ({first['hidden_checks']} hidden), {len(runs)} fresh processes.")
    wall = statistics.median(r["wall_seconds"] for r in runs)
    grade_s = statistics.median(r["grade_seconds"] for r in runs)
    grader = max(r["grader_mb"] for r in runs)
    child = max(r["child_mb"] for r in runs)
    total = max(r["total_mb"] for r in runs)
    print(f"  wall time, whole process (median): {wall:6.2f} s   (grade() alone {grade_s:.2f} s; "
          f"min {min(r['wall_seconds'] for r in runs):.2f} s, max {max(r['wall_seconds'] for r in runs):.2f} s)")
    print(f"  peak RSS of the grader:            {grader:6.1f} MB")
    print(f"  peak RSS of the sandboxed child:   {child:6.1f} MB")
    ok_memory = total < MEMORY_TARGET_MB
    ok_time = wall < TIME_TARGET_S
    print(f"  total (grader + child):            {total:6.1f} MB   target < {MEMORY_TARGET_MB:.0f} MB: "
          f"{'PASS' if ok_memory else 'FAIL'}")
    print(f"  wall time target < {TIME_TARGET_S:.0f} s: {'PASS' if ok_time else 'FAIL'}")
    return 0 if ok_memory and ok_time else 1


if __name__ == "__main__":
    sys.exit(main())
