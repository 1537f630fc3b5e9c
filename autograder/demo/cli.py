"""Grade the shipped sample submissions (a correct one, a notebook, classic mistakes, a broken
file) end to end, each in its own sandbox, and print what the grader found."""

from __future__ import annotations

import argparse

HELP = "grade the shipped sample submissions and show the table"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("samples", nargs="*", help="only these samples (default: all)")
    parser.add_argument("--show", metavar="SAMPLE", help="print the full feedback for one sample")
    parser.add_argument("--assignment", metavar="NAME", help="only this assignment's samples (default: every one's)")


def run(args: argparse.Namespace) -> int:
    from ..engine.results import terminal_report
    from . import demo_samples, header, run_demo

    samples = demo_samples(args.assignment)
    names = args.samples or None
    if args.show and names and args.show not in names:
        names = [*names, args.show]
    unknown = (set(names or ()) | ({args.show} if args.show else set())) - {s.name for s in samples}
    if unknown:
        from ..errors import UserError

        raise UserError(f"unknown sample(s) {', '.join(sorted(unknown))}; choose from "
                        + ", ".join(s.name for s in samples))
    if args.show:
        owners = sorted({s.assignment for s in samples if s.name == args.show})
        if len(owners) > 1:
            from ..errors import UserError

            raise UserError(f"sample {args.show} exists in {' and '.join(owners)}: add --assignment "
                            f"{owners[0]} (or {', '.join(owners[1:])})")
    if args.show and names is None:
        names = [args.show]  # --show one sample: grade that one, not all of them
    print(header())
    rows = run_demo(names, **({"assignment": args.assignment} if args.assignment else {}))
    print("\nEach sample was graded in its own sandbox (sandbox: " + rows[0].report.isolation + ").")
    print("Sample descriptions:")
    for row in rows:
        print(f"  {row.sample.name:<18} {row.sample.description}")
    if args.show:
        for row in rows:
            if row.sample.name == args.show:
                print(f"\nFull feedback for {args.show}:\n")
                print(terminal_report(row.report, verbose=True))
    else:
        example = next((s.name for s in samples if s.expect_mistakes), samples[0].name)
        print(f"\nSee one sample's feedback in full: autograder demo --show {example}")
    return 0
