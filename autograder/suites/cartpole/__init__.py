"""The CartPole NPG assignment's grading suite: checks by the formulas, never by the learning curve.

Parts and points come from the manifest ``solutions/cartpole/assignment.json``. Every function is
graded alone on inputs CartPole itself never produces (docs/cartpole-design.md): ``utils.py``'s
six functions by value against the reference (:mod:`.utils_checks`), ``sample`` through the
grader's recording environment and ``train`` step by step on the grader's samples
(:mod:`.rollout_checks`). Public cases have seeds derived from their names; hidden cases from
``Seeds.hidden`` (the bundle secret and the submission's identity).

Only |A| = 3 cases are public checks of |A| != 2, so a submission whose functions work for
CartPole's 2 actions only loses their share and nothing more (:data:`TWO_ACTION_SHARE` points,
``tests/test_cartpole_suite.py`` grades such a submission).
"""

from __future__ import annotations

from pathlib import Path

from ...engine.sandbox import Codec
from ...engine.suite import Part, Seeds, Suite, parts_from_manifest
from ...registry import get
from . import rollout_checks, utils_checks
from .cases import EnvSpec, FeaturesSpec, ReplaySpec, StandInSpec
from .mistakes import MISTAKES

# Grader-side modules copied into the sandbox beside the student's files (imported there by stem).
CHILD_FILES = [Path(__file__).with_name("grading_env.py")]
CODECS = [
    Codec(type=EnvSpec, module="grading_env", cls="RecordingEnv", kwargs=EnvSpec.kwargs),
    Codec(type=ReplaySpec, module="grading_env", cls="ReplaySampler", kwargs=ReplaySpec.kwargs),
    Codec(type=FeaturesSpec, module="grading_env", cls="Features", kwargs=FeaturesSpec.kwargs),
    Codec(type=StandInSpec, module="grading_env", cls="StandIn", kwargs=StandInSpec.kwargs),
]
TWO_ACTION_SHARE = 8.3  # points a submission correct for |A| = 2 only loses at most (tested)


PARTS: list[Part] = parts_from_manifest(get("cartpole"))  # points and dependencies: the manifest's


def build(seeds: Seeds) -> Suite:
    """The CartPole suite for one submission (hidden cases depend on ``seeds``)."""
    checks = utils_checks.build(seeds) + rollout_checks.build(seeds)
    return Suite("cartpole", list(PARTS), checks, {key: m.title for key, m in MISTAKES.items()})
