"""The NPG homework's grading suite: parts, points and checks.

Points (100 in all) are shared among a part's checks by weight. Kinds of case: the lecture's
example MDP (with the known values of docs/conventions.md), random MDPs with public seeds, hand-made edge cases
(zeros in KL, masked actions, unreachable states, singular F, zero gradient, near-deterministic
policies), and hidden random MDPs seeded from the bundle secret and the submission's identity.
"""

from __future__ import annotations

from ...engine.suite import Part, Seeds, Suite
from . import fisher_checks, kl_checks, npg_checks
from .mistakes import MISTAKES

PARTS = [
    Part("kl_divergence", "kl", 8),
    Part("kl_bernoulli", "kl", 4, depends_on=("kl_divergence",)),
    Part("kl_gaussian", "kl", 4),
    Part("policy_kl", "kl", 10, depends_on=("kl_divergence",)),
    Part("score_function", "fisher", 8),
    Part("fisher_information", "fisher", 12, depends_on=("score_function",)),
    Part("fisher_estimate", "fisher", 6, depends_on=("score_function",)),
    Part("sample_state_actions", "npg", 10),
    Part("npg_direction", "npg", 8),
    Part("trust_region_step", "npg", 10, depends_on=("npg_direction",)),
    Part("conjugate_gradient", "npg", 8),
    Part("natural_policy_gradient", "npg", 12, depends_on=("fisher_information", "trust_region_step")),
]


def build(seeds: Seeds) -> Suite:
    """The NPG suite for one submission (hidden cases depend on ``seeds``)."""
    checks = kl_checks.build(seeds) + fisher_checks.build(seeds) + npg_checks.build(seeds)
    return Suite("npg", list(PARTS), checks, {key: m.title for key, m in MISTAKES.items()})
