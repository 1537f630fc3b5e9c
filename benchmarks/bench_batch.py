"""Benchmark of ``autograder batch`` (a script, not a test).

Run: ``python benchmarks/bench_batch.py [-n 200] [--jobs 1 2] [--target 5]``

Makes N synthetic submissions from ``autograder.demo.samples`` (cycling through the samples:
correct, notebook, classic mistakes, a syntax error), each made unique by a comment so that no
two share a cache entry, then grades them with ``run_batch`` at each ``--jobs`` into a fresh
output folder and prints submissions/s. A last run on the unchanged input measures the cached
rerun, which must grade nothing. The exit status is 1 if the best rate misses ``--target``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from autograder.batch import run_batch
from autograder.demo.samples import SAMPLES, materialise


def make_class(folder: Path, n: int) -> Path:
    """``n`` unique submissions in ``folder/student_XXX`` (one subfolder, or a notebook, each)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        sample = SAMPLES[i % len(SAMPLES)]
        dest = folder / f"student_{i:03d}"
        path = materialise(sample, dest)
        marker = f"# submission {i} ({sample.name})\n"
        if path.suffix == ".ipynb":
            notebook = json.loads(path.read_text(encoding="utf-8"))
            cell = next(c for c in notebook["cells"]
                        if c["cell_type"] == "code" and "solution" in c["metadata"].get("tags", []))
            source = cell["source"]
            cell["source"] = [marker, *source] if isinstance(source, list) else marker + source
            path.write_text(json.dumps(notebook), encoding="utf-8")
        else:
            kl = path / "kl.py"
            kl.write_text(kl.read_text(encoding="utf-8") + marker, encoding="utf-8")
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="number of submissions (default 200)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="job counts to measure (default 1 2)")
    parser.add_argument("--target", type=float, default=5.0, help="submissions/s to reach (default 5)")
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, {args.n} submissions")
    best = 0.0
    with tempfile.TemporaryDirectory(prefix="npg-bench-batch-") as tmp:
        class_folder = make_class(Path(tmp) / "class", args.n)
        for jobs in args.jobs:
            out = Path(tmp) / f"out-j{jobs}"
            t0 = time.monotonic()
            summary = run_batch(class_folder, out, jobs, progress=None)
            wall = time.monotonic() - t0
            graded = summary.graded
            rate = graded / wall
            best = max(best, rate)
            isolation = summary.isolation
            print(f"-j {jobs}: graded {graded} in {wall:6.1f} s wall = {rate:5.2f} submissions/s "
                  f"(grading phase {summary.rate:.2f}/s; sandbox {isolation})")
        t0 = time.monotonic()
        again = run_batch(class_folder, Path(tmp) / f"out-j{args.jobs[-1]}", args.jobs[-1], progress=None)
        print(f"rerun on unchanged input: graded {again.graded}, {again.cached} from the cache, "
              f"{time.monotonic() - t0:.1f} s (snapshot, gradebook and report)")
    verdict = "PASS" if best >= args.target else "FAIL"
    print(f"best {best:.2f} submissions/s (target >= {args.target:g}): {verdict}")
    return 0 if best >= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
