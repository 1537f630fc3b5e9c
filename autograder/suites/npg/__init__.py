"""The NPG homework's grading suite: checks, mistakes, and how its objects reach the sandbox.

Parts, points (100 in all) and dependencies come from the assignment's manifest
(``solutions/assignment.json``); a part's points are shared among its checks by weight. Kinds of
case: the lecture's example MDP (with the known values of docs/conventions.md), random MDPs with
public seeds, hand-made edge cases (zeros in KL, masked actions, unreachable states, singular F,
zero gradient, near-deterministic policies), and hidden random MDPs seeded from the bundle secret
and the submission's identity.

This module imports only what the grader needs before the sandbox starts (the parts and
``CHILD_FILES``); the checks and the reference are imported by :func:`build`, while the sandbox's
child starts, and ``CODECS`` on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...engine.suite import Part, Seeds, Suite, parts_from_manifest
from ...registry import get

ASSIGNMENT = "npg"
PARTS: list[Part] = parts_from_manifest(get(ASSIGNMENT))
CHILD_FILES: list[Path] = []  # the given mdp.py is the only grader file the child needs


def build(seeds: Seeds) -> Suite:
    """The NPG suite for one submission (hidden cases depend on ``seeds``)."""
    from . import fisher_checks, kl_checks, npg_checks
    from .mistakes import MISTAKES

    checks = kl_checks.build(seeds) + fisher_checks.build(seeds) + npg_checks.build(seeds)
    return Suite("npg", list(PARTS), checks, {key: m.title for key, m in MISTAKES.items()})


def _codecs() -> list:
    """TabularMDP and LogLinearPolicy cross to the child as the given ``mdp.py``'s classes."""
    from solutions.mdp import LogLinearPolicy, TabularMDP

    from ...engine.sandbox import Codec

    return [
        Codec(TabularMDP, "mdp", "TabularMDP",
              lambda m: {"P": m.P, "r": m.r, "gamma": float(m.gamma), "mu0": m.mu0}),
        Codec(LogLinearPolicy, "mdp", "LogLinearPolicy", lambda p: {"phi": p.phi, "mask": p.mask}),
    ]


def __getattr__(name: str) -> Any:
    """``CODECS`` on first use (PEP 562): it imports the reference, which ``build`` imports anyway."""
    if name == "CODECS":
        codecs = _codecs()
        globals()["CODECS"] = codecs
        return codecs
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
