"""Benchmark of the reference solution (a script, not a test).

Run: ``python benchmarks/bench_reference.py [--repeats N] [--no-scaling]``

Times, on a tabular random MDP with S = 100 states and A = 10 actions (k = S * A = 1000 parameters):
the exact Fisher matrix, the exact policy gradient, one natural-policy-gradient iteration (Fisher,
gradient, pseudo-inverse, trust-region step), and drawing 10^6 (s, a) pairs with gamma = 0.99.
Each figure is the median of a few repeats after one warm-up call, printed next to its target
with PASS/FAIL. Then a scaling table: one exact Fisher and one NPG step for S = 10 .. 300, A = 10.
The exit status is 1 if any target is missed.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import statistics
import sys
import time
from typing import Callable

import numpy as np

from solutions import (
    fisher_information,
    natural_policy_gradient,
    policy_gradient,
    random_mdp,
    sample_state_actions,
)

NUM_ACTIONS = 10
SCALING_STATES = (10, 30, 100, 200, 300)


def median_time(fn: Callable[[], object], repeats: int) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def tabular_problem(num_states: int, gamma: float = 0.9, seed: int = 0):
    rng = np.random.default_rng(seed)
    mdp, policy = random_mdp(rng, num_states, NUM_ACTIONS, gamma=gamma)
    theta = rng.standard_normal(policy.num_features)
    return mdp, policy, theta


def targets_table(repeats: int) -> bool:
    mdp, policy, theta = tabular_problem(100)
    mdp99, policy99, theta99 = tabular_problem(100, gamma=0.99)
    rng = np.random.default_rng(1)
    rows = [
        ("fisher_information", functools.partial(fisher_information, mdp, policy, theta), 0.5),
        ("policy_gradient", functools.partial(policy_gradient, mdp, policy, theta), 0.5),
        (
            "natural_policy_gradient, 1 iteration",
            functools.partial(natural_policy_gradient, mdp, policy, theta, 0.01, 1),
            0.5,
        ),
        (
            "sample_state_actions, n = 10^6, gamma = 0.99",
            functools.partial(sample_state_actions, mdp99, policy99, theta99, 10**6, rng),
            2.0,
        ),
    ]
    print(f"Targets: tabular random MDP, S = 100, A = {NUM_ACTIONS}, k = 1000; median of {repeats} repeats")
    print(f"{'operation':<46} {'median [s]':>11} {'target [s]':>11}  verdict")
    print("-" * 80)
    all_pass = True
    for name, fn, target in rows:
        t = median_time(fn, repeats)
        ok = t < target
        all_pass &= ok
        print(f"{name:<46} {t:>11.4f} {'< ' + format(target, 'g'):>11}  {'PASS' if ok else 'FAIL'}")
    return all_pass


def scaling_table(repeats: int) -> None:
    print()
    print(f"Scaling: tabular random MDP, A = {NUM_ACTIONS}, k = S * A; median of up to {repeats} repeats")
    print(f"{'S':>5} {'k':>6} {'fisher [s]':>11} {'NPG step [s]':>13} {'repeats':>8}")
    print("-" * 47)
    for num_states in SCALING_STATES:
        mdp, policy, theta = tabular_problem(num_states)
        reps = repeats if num_states <= 100 else 1  # the big cases take seconds each
        t_fisher = median_time(functools.partial(fisher_information, mdp, policy, theta), reps)
        t_step = median_time(functools.partial(natural_policy_gradient, mdp, policy, theta, 0.01, 1), reps)
        print(f"{num_states:>5} {policy.num_features:>6} {t_fisher:>11.4f} {t_step:>13.4f} {reps:>8}")
    print("(an NPG step = exact Fisher + exact gradient + eigendecomposition pseudo-inverse, O(k^3))")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per figure (default 5)")
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling table")
    args = parser.parse_args(argv)
    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs")
    print()
    all_pass = targets_table(args.repeats)
    if not args.no_scaling:
        scaling_table(args.repeats)
    print()
    print("ALL TARGETS MET" if all_pass else "SOME TARGETS MISSED")
    return 0 if all_pass else 1


if __name__ == "__main__":
    sys.exit(main())
