"""Reference solution of the natural-policy-gradient homework: it defines correct behaviour.

Never shipped to students: ``autograder assign`` generates their templates from these files by
replacing every ``# BEGIN SOLUTION`` / ``# END SOLUTION`` block with a stub.
"""

from .fisher import fisher_estimate, fisher_information, score_function
from .kl import kl_bernoulli, kl_divergence, kl_gaussian, policy_kl
from .mdp import (
    LogLinearPolicy,
    TabularMDP,
    discounted_state_distribution,
    example_mdp,
    gradient_ascent,
    objective,
    policy_gradient,
    q_values,
    random_mdp,
    state_values,
)
from .npg import (
    conjugate_gradient,
    natural_policy_gradient,
    npg_direction,
    sample_state_actions,
    trust_region_step,
)

__all__ = [
    "TabularMDP",
    "LogLinearPolicy",
    "example_mdp",
    "random_mdp",
    "discounted_state_distribution",
    "state_values",
    "q_values",
    "objective",
    "policy_gradient",
    "gradient_ascent",
    "kl_divergence",
    "kl_bernoulli",
    "kl_gaussian",
    "policy_kl",
    "score_function",
    "fisher_information",
    "fisher_estimate",
    "sample_state_actions",
    "npg_direction",
    "trust_region_step",
    "conjugate_gradient",
    "natural_policy_gradient",
]
