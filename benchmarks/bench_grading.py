"""Grading speed: ``autograder grade`` side by side with the notebook-execution baseline.

A script, not a test. Run from the repository root::

    python benchmarks/bench_grading.py                   # everything (a few minutes on 2 cores)
    python benchmarks/bench_grading.py --repeats 9       # more repeats per figure
    python benchmarks/bench_grading.py --skip batch,scaling
    python benchmarks/bench_grading.py --only profile    # where the time of one grade goes

Sections (each prints a table; every timing is a median of repeated whole-process runs):

* ``single``: one correct submission (the reference's student files; every part, hidden cases
  included), graded by ``autograder grade`` as a fresh process, against the floor of any isolated
  child (``python -I -c "import numpy"``) and against the execution model of nbgrader and Otter:
  the solution notebook run by nbclient in a fresh kernel (kernel start included), its public
  check cells included, plot cells (tagged "plot") skipped. Both are measured in the same run.
* ``batch``: throughput of ``autograder batch`` on N submissions at ``-j 1`` and ``-j 2``
  (reported as not available while the verb is not installed).
* ``memory``: peak resident memory of the grader process and of the sandbox child.
* ``profile``: where the wall time of one grade goes (imports, isolation probe, child start,
  waiting for the child, grader-side checks, results), from an instrumented in-process grade.
* ``scaling``: the reference's exact Fisher and NPG step as S grows (``bench_reference.py``).

The exit status is 1 if a measured target is missed (a section that did not run misses nothing).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECTIONS = ("single", "batch", "memory", "profile", "scaling")

# Targets (issue 7).
MAX_RATIO_TO_FLOOR = 6.0  # autograder grade vs python -I -c "import numpy"
MIN_SPEEDUP_VS_NBCLIENT = 5.0  # nbclient baseline / autograder grade
MIN_BATCH_RATE = 5.0  # submissions per second at -j 2
MAX_PEAK_MB = 300.0  # grader + one sandbox child


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------
@dataclass
class Target:
    name: str
    value: Optional[float]
    limit: float
    at_most: bool  # True: value <= limit passes; False: value >= limit passes
    unit: str = ""

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "n/a"
        ok = self.value <= self.limit if self.at_most else self.value >= self.limit
        return "PASS" if ok else "FAIL"


def wall(cmd: Sequence[str], *, env: Optional[dict] = None, cwd: Optional[Path] = None,
         check: Callable[[subprocess.CompletedProcess], None] = lambda r: None) -> float:
    """Wall-clock seconds of one whole process; ``check`` validates its result (raises if wrong)."""
    start = time.perf_counter()
    result = subprocess.run(list(cmd), capture_output=True, text=True, env=env, cwd=cwd)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {result.returncode}:\n{result.stderr[-2000:]}")
    check(result)
    return seconds


def spread(times: list[float]) -> str:
    return f"{min(times):.3f}-{max(times):.3f}"


def autograder_command() -> list[str]:
    """The installed ``autograder`` console script next to this Python, else ``python -m autograder``."""
    script = Path(sys.executable).parent / "autograder"
    return [str(script)] if script.exists() else [sys.executable, "-m", "autograder"]


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine_lines() -> list[str]:
    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    import numpy

    from autograder.engine.isolation import detect_isolation

    commit = "?"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=10).stdout.strip() or "?"
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"date: {now}   commit: {commit}",
        f"machine: {cpu}, {os.cpu_count()} CPUs, {memory}, {platform.system()} {platform.release()}",
        f"python {platform.python_version()}, numpy {numpy.__version__}, sandbox: {detect_isolation().name}",
        f"load average at start (1/5/15 min): {load()}",
    ]


def correct_submission(dest: Path) -> Path:
    """The reference's student files (kl.py, fisher.py, npg.py), as a student would submit them."""
    from autograder.demo.samples import SAMPLES, materialise

    sample = next(s for s in SAMPLES if s.name == "correct")
    return materialise(sample, dest)


def full_marks(results_file: Path) -> tuple[float, float, int]:
    data = json.loads(results_file.read_text())
    return data["score"], sum(t["max_score"] for t in data["tests"]), len(data["tests"])


# ----------------------------------------------------------------------------------------------
# Single submission
# ----------------------------------------------------------------------------------------------
BASELINE_SCRIPT = r"""
import sys, nbformat
from nbclient import NotebookClient
path, folder, empty = sys.argv[1], sys.argv[2], sys.argv[3] == "empty"
nb = nbformat.read(path, as_version=4)
nb.cells = [c for c in nb.cells if "plot" not in c.metadata.get("tags", []) and not empty]
NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": folder}}).execute()
passed = failed = 0
for cell in nb.cells:
    if "check" not in cell.metadata.get("tags", []):
        continue
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            failed += 1
        text = out.get("text", "")
        passed += text.count("[ok]")
        failed += text.count("[FAILED]")
print(passed, failed)
"""


def baseline_notebook() -> Optional[tuple[Path, Path]]:
    """The solution notebook and the folder it runs in (its setup cell finds check.py from there)."""
    notebook = ROOT / "solutions" / "npg_solution.ipynb"
    if notebook.exists() and (ROOT / "assignments" / "npg" / "check.py").exists():
        return notebook, notebook.parent
    return None


def single_section(repeats: int, targets: list[Target], tmp: Path) -> None:
    print(f"\n## Single submission, whole process (median of {repeats} rounds; range in brackets)")
    print("(each round runs every command once, in turn, so load from other users hits all of them alike;")
    print(" ratios are medians of the per-round ratios)")
    submission = correct_submission(tmp / "correct")
    results = tmp / "results.json"
    grade_cmd = autograder_command() + ["grade", str(submission), "-o", str(results)]
    floor_cmd = [sys.executable, "-I", "-c", "import numpy"]

    # warm the file cache and the probe cache, and check the grade is right before timing it
    wall(grade_cmd)
    score, max_score, n_tests = full_marks(results)
    if abs(score - max_score) > 0.01:
        raise RuntimeError(f"the correct submission scored {score} / {max_score}: fix the grader before timing it")

    runs: list[tuple[str, Callable[[], float]]] = [
        ("floor", lambda: wall(floor_cmd)),
        ("pass", lambda: wall([sys.executable, "-I", "-c", "pass"])),
        ("grade", lambda: wall(grade_cmd)),
        ("grade-probe", lambda: wall(grade_cmd, env=dict(os.environ, AUTOGRADER_PROBE_CACHE="0"))),
    ]
    names = {
        "floor": 'python -I -c "import numpy" (floor)',
        "pass": 'python -I -c "pass"',
        "grade": f"autograder grade ({n_tests} checks, {score:g}/{max_score:g})",
        "grade-probe": "autograder grade, bwrap probe not cached",
        "nbclient": "nbclient: fresh kernel + notebook + public checks",
        "kernel": "nbclient: fresh kernel, no cell (start + shutdown)",
    }
    found = baseline_notebook()
    counts: list[str] = []
    if found is None:
        print("(nbclient baseline skipped: solutions/npg_solution.ipynb or assignments/npg/check.py is missing)")
    else:
        notebook, folder = found
        base_cmd = [sys.executable, "-c", BASELINE_SCRIPT, str(notebook), str(folder)]

        def keep(result: subprocess.CompletedProcess) -> None:
            counts.append(result.stdout.strip())

        runs.append(("nbclient", lambda: wall(base_cmd + ["full"], check=keep)))
        runs.append(("kernel", lambda: wall(base_cmd + ["empty"])))
    for _, fn in runs:  # one untimed round: caches warm, every command known to work
        fn()
    times: dict[str, list[float]] = {key: [] for key, _ in runs}
    for _ in range(repeats):
        for key, fn in runs:
            times[key].append(fn())
    if counts:
        passed, failed = (int(x) for x in counts[-1].split())
        names["nbclient"] = f"nbclient: fresh kernel + notebook + {passed} public checks"
        if failed:
            print(f"WARNING: {failed} public checks failed in the nbclient baseline")

    def ratio(a: str, b: str) -> float:
        return statistics.median(x / y for x, y in zip(times[a], times[b]))

    print(f"{'run':<58} {'median [s]':>10} {'range [s]':>13} {'x floor':>8}")
    print("-" * 92)
    for key, values in times.items():
        print(f"{names[key]:<58} {statistics.median(values):>10.3f} {spread(values):>13} {ratio(key, 'floor'):>8.1f}")
    print(f"load average after: {load()}")
    speedup = ratio("nbclient", "grade") if "nbclient" in times else None
    if speedup is not None:
        print(f"nbclient baseline / autograder grade: {speedup:.1f}x (the baseline runs the public checks "
              f"only: no hidden cases, no sandbox; plot cells skipped)")
    targets.append(Target("autograder grade / python+numpy start", ratio("grade", "floor"), MAX_RATIO_TO_FLOOR,
                          True, "x"))
    targets.append(Target("nbclient baseline / autograder grade", speedup, MIN_SPEEDUP_VS_NBCLIENT, False, "x"))


# ----------------------------------------------------------------------------------------------
# Batch throughput
# ----------------------------------------------------------------------------------------------
def batch_available() -> bool:
    """Whether the ``batch`` verb is installed (its CLI module exists)."""
    import importlib.util

    try:
        return importlib.util.find_spec("autograder.batch.cli") is not None
    except ModuleNotFoundError:
        return False


def batch_section(count: int, jobs: Sequence[int], targets: list[Target], tmp: Path) -> None:
    print(f"\n## Batch throughput: autograder batch on {count} correct submissions (whole process)")
    name = f"batch at -j 2, submissions/s ({count} submissions)"
    if not batch_available():
        print("not available yet: `autograder batch` (autograder/batch/cli.py) is not installed in this build")
        targets.append(Target(name, None, MIN_BATCH_RATE, False))
        return
    source = correct_submission(tmp / "batch-source")
    folder = tmp / "batch-input"
    for i in range(count):  # distinct digests, so no cache can serve one from another
        dest = folder / f"student_{i:04d}"
        dest.mkdir(parents=True)
        for f in source.iterdir():
            (dest / f.name).write_text(f.read_text() + f"\n# submission {i}\n")
    base = autograder_command() + ["batch", str(folder), "-q"]
    print(f"{'-j':>3} {'wall [s]':>9} {'submissions/s':>14} {'s/submission':>13} {'load after':>16}")
    for j in jobs:
        out = tmp / f"batch-out-{j}"  # a fresh output folder: its results cache starts empty
        try:
            t = wall(base + ["-o", str(out), "-j", str(j)])
        except RuntimeError as exc:
            print(f"autograder batch failed, so no figure: {exc}")
            targets.append(Target(name, None, MIN_BATCH_RATE, False))
            return
        rate = count / t
        print(f"{j:>3} {t:>9.2f} {rate:>14.2f} {t / count:>13.3f} {load():>16}")
        if j == 2:
            targets.append(Target(name, rate, MIN_BATCH_RATE, False))


# ----------------------------------------------------------------------------------------------
# Memory (a harness process grades in-process and reads its own and the child's peaks)
# ----------------------------------------------------------------------------------------------
def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{entry}/stat").read_bytes()
                ppid = int(stat.rsplit(b")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
    found, frontier = [], [pid]
    while frontier:
        for child in children.get(frontier.pop(), []):
            found.append(child)
            frontier.append(child)
    return found


def _vm_hwm_kb(pid: int) -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def memory_harness(submission: str) -> None:
    """Grade ``submission`` in this process; print JSON with the grader's and the child's peak RSS."""
    from autograder.engine import sandbox

    child_peaks: list[int] = []
    kill = sandbox.Sandbox._kill

    def measuring_kill(self: sandbox.Sandbox) -> None:
        if self.proc is not None:  # the child is still alive: read its high-water mark first
            child_peaks.append(max((_vm_hwm_kb(p) for p in [self.proc.pid, *_descendants(self.proc.pid)]), default=0))
        kill(self)

    sandbox.Sandbox._kill = measuring_kill  # type: ignore[method-assign]
    from autograder.cli import main

    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        code = main(["grade", submission])
    print(json.dumps({
        "code": code,
        "grader_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "child_kb": max(child_peaks, default=0),
        "children_rusage_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    }))


def memory_section(repeats: int, targets: list[Target], tmp: Path) -> None:
    print(f"\n## Peak memory (resident set high-water mark, max of {repeats} grades)")
    submission = correct_submission(tmp / "memory")
    runs = []
    for _ in range(repeats):
        result = subprocess.run([sys.executable, __file__, "--harness", "memory", str(submission)],
                                capture_output=True, text=True, check=True)
        runs.append(json.loads(result.stdout.strip().splitlines()[-1]))
    grader = max(r["grader_kb"] for r in runs) / 1024
    child = max(r["child_kb"] for r in runs) / 1024
    rusage = max(r["children_rusage_kb"] for r in runs) / 1024
    print(f"{'process':<52} {'peak [MB]':>10}")
    print("-" * 63)
    print(f"{'grader (autograder grade, in-process)':<52} {grader:>10.1f}")
    print(f"{'sandbox child (python + numpy + student code)':<52} {child:>10.1f}")
    print(f"{'largest reaped child (getrusage RUSAGE_CHILDREN)':<52} {rusage:>10.1f}")
    print(f"{'grader + child':<52} {grader + child:>10.1f}")
    targets.append(Target("grader + child peak memory", grader + child, MAX_PEAK_MB, True, "MB"))


# ----------------------------------------------------------------------------------------------
# Profile: exclusive wall time per phase of one grade
# ----------------------------------------------------------------------------------------------
CHILD_START = "child start (python + numpy, to 'ready')"
CHILD_WAIT = "waiting on child: imports + student calls + IPC"
PHASES = [
    # (label, module, attribute path): time inside, minus time in nested phases
    ("load submission + secret", "autograder.grade", "load_submission"),
    ("load submission + secret", "autograder.grade", "resolve_secret"),
    ("isolation: detect (bwrap probe or cache)", "autograder.engine.runner", "detect_isolation"),
    ("suite: build cases (grader side)", "autograder.engine.runner", "load_suite"),
    ("sandbox: scratch folder + files", "autograder.engine.sandbox", "Sandbox.__init__"),
    (CHILD_START, "autograder.engine.sandbox", "Sandbox._start"),
    (CHILD_WAIT, "autograder.engine.sandbox", "Sandbox._receive"),
    ("sandbox: close (kill, clean up)", "autograder.engine.sandbox", "Sandbox.close"),
    ("checks: grader side (reference, compare, encode)", "autograder.grade", "grade_submission"),
    ("results: Gradescope JSON (unittest runner)", "autograder.grade", "gradescope_results"),
    ("results: terminal report", "autograder.engine.results", "terminal_report"),
]


def profile_harness(submission: str) -> None:
    """Grade ``submission`` through the CLI in this process and print exclusive seconds per phase."""
    start = time.perf_counter()
    import importlib

    import autograder.cli  # noqa: F401  (timed as part of the imports below)
    import autograder.grade.cli  # noqa: F401

    totals: dict[str, float] = {}
    stack: list[list] = []  # [label, started, nested seconds]

    def wrap(label: str, fn: Callable) -> Callable:
        def timed(*args, **kwargs):
            if stack and stack[-1][0] == CHILD_START and label == CHILD_WAIT:
                return fn(*args, **kwargs)  # waiting for 'ready' is part of the child's start
            stack.append([label, time.perf_counter(), 0.0])
            try:
                return fn(*args, **kwargs)
            finally:
                name, started, nested = stack.pop()
                spent = time.perf_counter() - started
                totals[name] = totals.get(name, 0.0) + spent - nested
                if stack:
                    stack[-1][2] += spent

        return timed

    for label, module_name, attr in PHASES:
        owner = importlib.import_module(module_name)
        *path, name = attr.split(".")
        for part in path:
            owner = getattr(owner, part)
        setattr(owner, name, wrap(label, getattr(owner, name)))
    imported = time.perf_counter()
    totals["grader imports (autograder, numpy, gradescope_utils, ...)"] = imported - start

    from autograder.cli import main

    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        code = main(["grade", submission])
    accounted = sum(totals.values())
    totals["other (argparse, printing, ...)"] = time.perf_counter() - start - accounted
    print(json.dumps({"code": code, "phases": totals, "in_process": time.perf_counter() - start}))


def profile_section(repeats: int, tmp: Path) -> None:
    print(f"\n## Where the time of one grade goes (median over {repeats} instrumented runs)")
    submission = correct_submission(tmp / "profile")
    runs = []
    walls = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = subprocess.run([sys.executable, __file__, "--harness", "profile", str(submission)],
                                capture_output=True, text=True, check=True)
        walls.append(time.perf_counter() - t0)
        runs.append(json.loads(result.stdout.strip().splitlines()[-1]))
    labels: list[str] = []
    for run in runs:
        labels += [k for k in run["phases"] if k not in labels]
    whole = statistics.median(walls)
    inside = statistics.median(r["in_process"] for r in runs)
    rows = [(k, statistics.median(r["phases"].get(k, 0.0) for r in runs)) for k in labels]
    rows.append(("interpreter start + exit (whole process - in-process)", whole - inside))
    rows.sort(key=lambda r: -r[1])
    print(f"{'phase':<58} {'median [s]':>10} {'share':>7}")
    print("-" * 77)
    for name, t in rows:
        print(f"{name:<58} {t:>10.3f} {t / whole:>7.0%}")
    print(f"{'whole process (wall)':<58} {whole:>10.3f}")
    print("(exclusive times: a phase excludes the phases nested in it; 'waiting on child' includes the")
    print(" student's code and the pipe round trips, 'checks: grader side' the reference computations)")


# ----------------------------------------------------------------------------------------------
def scaling_section(repeats: int) -> None:
    print()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_reference import scaling_table

    print("## The reference's scaling (benchmarks/bench_reference.py)", end="")
    scaling_table(repeats)


def summary(targets: list[Target]) -> bool:
    print("\n## Targets")
    print(f"{'target':<52} {'value':>9} {'limit':>10}  verdict")
    print("-" * 82)
    ok = True
    for t in targets:
        value = "-" if t.value is None else f"{t.value:.2f}{t.unit}"
        limit = ("<= " if t.at_most else ">= ") + f"{t.limit:g}{t.unit}"
        print(f"{t.name:<52} {value:>9} {limit:>10}  {t.verdict}")
        ok &= t.verdict != "FAIL"
    return ok


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="whole-process runs per figure (default 5)")
    parser.add_argument("--skip", default="", help=f"comma-separated sections to skip: {', '.join(SECTIONS)}")
    parser.add_argument("--only", default="", help="comma-separated sections to run (default: all)")
    parser.add_argument("--batch-count", type=int, default=200, help="submissions in the batch test (default 200)")
    parser.add_argument("--jobs", default="1,2", help="-j values for the batch test (default 1,2)")
    parser.add_argument("--harness", nargs=2, metavar=("KIND", "SUBMISSION"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.harness:
        kind, submission = args.harness
        {"memory": memory_harness, "profile": profile_harness}[kind](submission)
        return 0
    chosen = [s for s in (args.only.split(",") if args.only else SECTIONS) if s]
    skipped = [s for s in args.skip.split(",") if s]
    unknown = set(chosen + skipped) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}; the sections are {', '.join(SECTIONS)}")
    run = [s for s in chosen if s not in skipped]
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    print("# Grading benchmark (benchmarks/bench_grading.py)")
    for line in machine_lines():
        print(line)
    targets: list[Target] = []
    with tempfile.TemporaryDirectory(prefix="npg-bench-") as scratch:
        tmp = Path(scratch)
        if "single" in run:
            single_section(args.repeats, targets, tmp)
        if "batch" in run:
            batch_section(args.batch_count, [int(j) for j in args.jobs.split(",")], targets, tmp)
        if "memory" in run:
            memory_section(max(1, min(args.repeats, 3)), targets, tmp)
        if "profile" in run:
            profile_section(args.repeats, tmp)
        if "scaling" in run:
            scaling_section(max(1, min(args.repeats, 3)))
    ok = summary(targets)
    print(f"\nload average at end: {load()}")
    return 0 if ok else 1


if __name__ == "__main__":
    if shutil.which("bwrap") is None:
        print("note: bubblewrap is not installed; the sandbox runs with weaker isolation", file=sys.stderr)
    sys.exit(main())
