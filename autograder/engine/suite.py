"""What a grading suite is made of: parts, checks, seeds, and the context a check runs in.

A suite is a list of :class:`Part` (a student function with its points) and :class:`Check`
(one case: it calls student functions through the :class:`Context` and compares with the
reference, returning an :class:`Outcome`). Checks are built per submission by the suite's
``build(seeds)`` function, so hidden cases can depend on the submission's identity.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np

from .sandbox import CallResult, Sandbox

VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")
# Mistakes the engine itself finds, whatever the suite (key -> the name students read).
ENGINE_MISTAKES = {"modifies_input": "an argument changed in place"}
# Kinds of case: "example" (the lecture's MDP, public), "random" (public seeds), "edge" (public,
# hand-made corner cases), "hidden" (seeds from the bundle secret and the submission's identity).
KINDS = ("example", "random", "edge", "hidden")


@dataclass(frozen=True)
class Part:
    """One student function and its points.

    ``depends_on`` lists the parts a typical solution calls (e.g. ``policy_kl`` calls
    ``kl_divergence``): when both fail, the feedback says to fix the dependency first.
    """

    name: str
    module: str
    points: float
    depends_on: tuple[str, ...] = ()
    function: Optional[str] = None  # defaults to ``name``

    @property
    def func(self) -> str:
        return self.function or self.name


@dataclass
class Outcome:
    """The verdict of a check: ``message`` is what the student reads (input, expected, got,
    tolerance, hint); ``mistake`` names a catalogued mistake when the wrong answer matches one."""

    passed: bool
    message: str = ""
    mistake: Optional[str] = None


@dataclass(frozen=True)
class Check:
    """One graded case of one part."""

    part: str
    name: str
    run: Callable[[Context], Outcome]
    kind: str = "random"
    weight: float = 1.0
    visibility: Optional[str] = None  # default: visible, or after_due_date for hidden cases

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"check {self.name!r}: kind must be one of {KINDS}")
        if self.visibility is not None and self.visibility not in VISIBILITIES:
            raise ValueError(f"check {self.name!r}: visibility must be one of {VISIBILITIES}")

    @property
    def effective_visibility(self) -> str:
        if self.visibility:
            return self.visibility
        return "after_due_date" if self.kind == "hidden" else "visible"


@dataclass
class Suite:
    """``mistake_titles`` maps the catalogue keys that checks report to the names students read."""

    name: str
    parts: list[Part]
    checks: list[Check] = field(default_factory=list)
    mistake_titles: dict[str, str] = field(default_factory=dict)

    def mistake_title(self, key: str) -> str:
        """The student-facing name of mistake ``key`` (never the internal key itself)."""
        return self.mistake_titles.get(key) or ENGINE_MISTAKES.get(key) or "a mistake"

    def part(self, name: str) -> Part:
        for p in self.parts:
            if p.name == name:
                return p
        raise KeyError(name)

    def validate(self) -> None:
        names = {p.name for p in self.parts}
        for c in self.checks:
            if c.part not in names:
                raise ValueError(f"check {c.name!r} belongs to unknown part {c.part!r}")
        for p in self.parts:
            if not any(c.part == p.name for c in self.checks):
                raise ValueError(f"part {p.name!r} has no checks")


class Seeds:
    """Seeds for random cases.

    ``public(name)`` depends on the name only (students can reproduce it); ``hidden(name)`` is
    HMAC-SHA256(secret, identity / name): each submission meets different MDPs, and a regrade of
    the same submission meets the same ones.
    """

    def __init__(self, secret: bytes, identity: str) -> None:
        self.secret = secret
        self.identity = identity

    @staticmethod
    def public(name: str) -> int:
        return int.from_bytes(hashlib.sha256(b"public/" + name.encode()).digest()[:8], "big") >> 1

    def hidden(self, name: str) -> int:
        mac = hmac.new(self.secret, f"{self.identity}/{name}".encode(), hashlib.sha256).digest()
        return int.from_bytes(mac[:8], "big") >> 1


class Context:
    """What a check sees: ``call`` runs a part's student function in the sandbox."""

    def __init__(self, sandbox: Sandbox, suite: Suite) -> None:
        self.sandbox = sandbox
        self.suite = suite
        self.timed_out: dict[str, str] = {}  # part -> the timeout message of its first timed-out call
        # (function, argument) pairs that calls changed in place since the runner last cleared it
        self.modified: list[tuple[str, str]] = []

    def call(
        self,
        part: str,
        *args: Any,
        fvp: Optional[np.ndarray] = None,
        timeout: Optional[float] = None,
        seed: Optional[int] = None,
        patch: Optional[dict[str, Any]] = None,
        **kwargs: Any,
    ) -> CallResult:
        """Call the student's function of ``part`` with plain-data arguments (arrays, numbers,
        nested lists of them, objects of the suite's ``CODECS``, ``RNG(seed)``, ``FVP(F)`` with
        ``fvp=F``).

        ``seed``: the child seeds numpy's global generator and ``random`` with it just before the
        call. ``patch``: ``{global name: object}`` set in the student's module of ``part`` for the
        call (restored after); what each patched object's ``report()`` returns comes back in
        ``CallResult.reports`` (untrusted plain data)."""
        p = self.suite.part(part)
        if part in self.timed_out:
            # One hanging function must not eat the submission's time budget for the other parts.
            return CallResult("timeout", error=f"not run: an earlier call of {p.func} {self.timed_out[part]}")
        result = self.sandbox.call(p.module, p.func, args, kwargs, fvp_matrix=fvp, timeout=timeout, seed=seed,
                                   patch=patch)
        if result.kind == "timeout":
            self.timed_out[part] = result.error
        self.modified += [(p.func, name) for name in result.modified if (p.func, name) not in self.modified]
        return result


def parts_from_manifest(assignment: Any) -> list[Part]:
    """The suite's parts as the assignment's manifest declares them (function, file, points,
    dependencies), in the manifest's order: suites never restate points or dependencies.

    ``assignment`` is an ``autograder.registry.Assignment`` (anything with ``parts`` of ``function``,
    ``module``, ``points`` and ``depends_on``).
    """
    return [Part(p.function, p.module, p.points, tuple(p.depends_on)) for p in assignment.parts]


def transitive_dependencies(suite: Suite, part: str) -> Sequence[str]:
    """Every part that ``part`` depends on, directly or not, nearest first."""
    seen: list[str] = []
    frontier = list(suite.part(part).depends_on)
    while frontier:
        name = frontier.pop(0)
        if name not in seen and any(p.name == name for p in suite.parts):
            seen.append(name)
            frontier.extend(suite.part(name).depends_on)
    return seen
