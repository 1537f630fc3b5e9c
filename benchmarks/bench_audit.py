"""Benchmark of ``autograder audit`` on the whole NPG assignment (a script, not a test).

Run: ``python benchmarks/bench_audit.py [-j JOBS] [-o OUTDIR]``

Generates every mutant of the student functions in ``solutions/``, grades each with the real
sandbox and suite in parallel, probes the survivors, and prints the audit's table, the number of
mutants, the wall-clock time, the throughput, and PASS/FAIL against the target: the whole audit
in under 10 minutes on a 2-core machine. The exit status is 1 if the target is missed.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time

from autograder.audit import generate_mutants, run_audit
from autograder.audit.report import terminal_table

TARGET_SECONDS = 600.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-j", "--jobs", type=int, default=None, help="workers (default: number of CPUs)")
    parser.add_argument("-o", "--output", default=None, help="folder for audit.json / audit.html (default: temp)")
    args = parser.parse_args()
    output = args.output or tempfile.mkdtemp(prefix="bench-audit-")

    t0 = time.perf_counter()
    mutants = generate_mutants()
    generation = time.perf_counter() - t0
    t1 = time.perf_counter()
    report = run_audit(args.jobs, output, mutants=mutants)
    grading = time.perf_counter() - t1
    total = generation + grading

    print(terminal_table(report))
    print()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, sandbox {report.isolation}, {report.jobs} jobs")
    print(f"mutants: {len(mutants)} (generated in {generation:.1f} s)")
    print(f"grading and probing: {grading:.1f} s ({grading / max(1, len(mutants)):.2f} s per mutant wall, "
          f"{len(mutants) / grading:.2f} mutants/s)")
    ok = total < TARGET_SECONDS
    print(f"whole audit: {total:.1f} s  target < {TARGET_SECONDS:.0f} s  {'PASS' if ok else 'FAIL'}")
    print(f"reports: {output}/audit.json, {output}/audit.html")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
