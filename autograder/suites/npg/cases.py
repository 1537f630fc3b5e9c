"""The MDPs the NPG suite grades on: the lecture example, random MDPs, and edge cases.

A :class:`MDPCase` builds its MDP, policy and parameter from a seed with the provided ``mdp.py``
functions only, so a student can rebuild a public case from the snippet in the feedback. Hidden
cases describe themselves by kind and shape, never by seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from solutions.mdp import LogLinearPolicy, TabularMDP, discounted_state_distribution, example_mdp, random_mdp

from ...engine.compare import array_literal
from ...engine.stats import REACHABLE


@dataclass(frozen=True)
class MDPCase:
    """A random MDP (``random_mdp(rng, S, A, k, gamma)``) and ``theta ~ scale * N(0, I)`` from one rng."""

    seed: int
    num_states: int
    num_actions: int
    num_features: Optional[int] = None  # None: tabular softmax
    gamma: float = 0.9
    theta_scale: float = 1.0
    hidden: bool = False

    def build(self) -> tuple[TabularMDP, LogLinearPolicy, np.ndarray]:
        rng = np.random.default_rng(self.seed)
        mdp, policy = random_mdp(rng, self.num_states, self.num_actions, self.num_features, self.gamma)
        theta = self.theta_scale * rng.standard_normal(policy.num_features)
        return mdp, policy, theta

    def second_theta(self) -> np.ndarray:
        """Another parameter for two-parameter functions (policy KL): theta + 0.5 N(0, I)."""
        _, policy, theta = self.build()
        rng = np.random.default_rng(self.seed + 1)
        return theta + 0.5 * rng.standard_normal(policy.num_features)

    @property
    def shape(self) -> str:
        k = self.num_states * self.num_actions if self.num_features is None else self.num_features
        kind = "tabular softmax" if self.num_features is None else "log-linear features"
        return f"S={self.num_states}, A={self.num_actions}, k={k} ({kind}), gamma={self.gamma}"

    def describe(self) -> str:
        if self.hidden:
            return f"a hidden random MDP with {self.shape}"
        return f"random MDP, seed {self.seed}, {self.shape}"

    def snippet(self, call: str) -> Optional[str]:
        """Code that rebuilds this case in the notebook and makes ``call``; None for hidden cases."""
        if self.hidden:
            return None
        k = "None" if self.num_features is None else str(self.num_features)
        return (
            f"rng = np.random.default_rng({self.seed})\n"
            f"mdp, policy = random_mdp(rng, {self.num_states}, {self.num_actions}, num_features={k}, "
            f"gamma={self.gamma})\n"
            f"theta = {self.theta_scale} * rng.standard_normal(policy.num_features)\n"
            f"{call}"
        )


EXAMPLE_SNIPPET = "mdp, policy = example_mdp()\n"


def literal_snippet(build: Callable[[], tuple], call: str, theta_name: str = "theta") -> str:
    """Code that rebuilds a hand-made case (MDP, policy, theta) from arrays, then makes ``call``:
    what a student pastes to reproduce a failed check on an MDP no seed describes."""
    mdp, policy, theta = build()
    return (
        f"P = {array_literal(mdp.P)}\n"
        f"r = {array_literal(mdp.r)}\n"
        f"mdp = TabularMDP(P, r, {float(mdp.gamma)!r}, {array_literal(mdp.mu0)})\n"
        f"policy = LogLinearPolicy({array_literal(policy.phi)}, {array_literal(policy.mask)})\n"
        f"{theta_name} = {array_literal(theta)}\n"
        f"{call}"
    )


def system_snippet(F: np.ndarray, g: np.ndarray, call: str) -> str:
    """Code that rebuilds a linear system (F, g) from arrays, then makes ``call``."""
    return f"F = {array_literal(F)}\ng = {array_literal(g)}\n{call}"


def example(mu0: tuple[float, float] = (0.5, 0.5)) -> tuple[TabularMDP, LogLinearPolicy]:
    return example_mdp(mu0=mu0)


def unreachable_mdp() -> tuple[TabularMDP, LogLinearPolicy, np.ndarray]:
    """Three states; state 2 is never reached from mu0 = (1/2, 1/2, 0) (d(2) = 0), 2 actions, and
    action 1 is masked in state 0 although its features are not zero."""
    P = np.zeros((3, 2, 3))
    P[0, 0] = [0.7, 0.3, 0.0]
    P[0, 1] = [0.0, 0.0, 1.0]  # the masked action would lead to the unreachable state
    P[1, 0] = [0.4, 0.6, 0.0]
    P[1, 1] = [0.9, 0.1, 0.0]
    P[2, 0] = [0.0, 0.0, 1.0]
    P[2, 1] = [0.5, 0.5, 0.0]
    r = np.array([[1.0, 0.0], [0.0, 2.0], [5.0, -1.0]])
    mdp = TabularMDP(P, r, 0.9, np.array([0.5, 0.5, 0.0]))
    phi = np.array(
        [
            [[1.0, 0.0, 0.5], [0.3, 1.0, -0.4]],
            [[0.0, 1.0, 0.2], [1.0, -0.5, 0.0]],
            [[2.0, 0.0, 1.0], [0.0, 2.0, -1.0]],
        ]
    )
    mask = np.array([[True, False], [True, True], [True, True]])
    theta = np.array([0.4, -0.3, 0.8])
    return mdp, LogLinearPolicy(phi, mask), theta


def sampler_mdp() -> tuple[TabularMDP, LogLinearPolicy, np.ndarray]:
    """A chain built so the classic sampler bugs are far from d^theta: mu0 on state 0, which the
    chain leaves at once and rarely revisits (t starting at 1 or states from mu0 are obvious), and
    state 3 reached only after several steps (a missing discount or short horizon is obvious)."""
    S, A = 4, 2
    P = np.zeros((S, A, S))
    P[0, 0] = [0.0, 0.9, 0.1, 0.0]
    P[0, 1] = [0.0, 0.2, 0.8, 0.0]
    P[1, 0] = [0.05, 0.45, 0.5, 0.0]
    P[1, 1] = [0.05, 0.15, 0.3, 0.5]
    P[2, 0] = [0.05, 0.1, 0.45, 0.4]
    P[2, 1] = [0.05, 0.45, 0.1, 0.4]
    P[3, 0] = [0.05, 0.0, 0.15, 0.8]
    P[3, 1] = [0.3, 0.3, 0.0, 0.4]
    r = np.zeros((S, A))
    mdp = TabularMDP(P, r, 0.8, np.array([1.0, 0.0, 0.0, 0.0]))
    rng = np.random.default_rng(7)
    phi = rng.standard_normal((S, A, 3))
    theta = np.array([0.5, -0.5, 0.25])
    return mdp, LogLinearPolicy(phi), theta


def line_mdp() -> tuple[TabularMDP, LogLinearPolicy, np.ndarray]:
    """Six states in a line, mu0 on state 0, gamma = 0.9 (the lecture's): each step moves right
    with a fair chance, so the state tells how many steps the rollout ran. Any error in the
    stopping time (a fixed or uniform horizon, T ~ Geometric(gamma), t starting at 1) moves mass
    between states and the G-test sees it even where random MDPs mix too fast to tell."""
    S, A = 6, 2
    P = np.zeros((S, A, S))
    for s in range(S):
        right = min(s + 1, S - 1)
        P[s, 0, right] += 0.85  # action 0: usually move right
        P[s, 0, s] += 0.15
        P[s, 1, right] += 0.5  # action 1: move right, stay, or go back to the start
        P[s, 1, s] += 0.3
        P[s, 1, 0] += 0.2
    r = np.zeros((S, A))
    mdp = TabularMDP(P, r, 0.9, np.eye(S)[0])
    phi = np.zeros((S, A, 2))
    phi[:, 0, 0] = 1.0
    phi[:, 1, 1] = np.linspace(-1.0, 1.0, S)
    return mdp, LogLinearPolicy(phi), np.array([0.3, 0.8])


def slow_mdp() -> tuple[TabularMDP, LogLinearPolicy, np.ndarray]:
    """gamma = 0.99 and a slow leak: from state 0 the chain reaches the absorbing state 2 through
    state 1 only after ~40 steps, so d^theta needs the whole discounted horizon (mean 99 steps).
    Rollouts capped at some length, or d summed over a few hundred powers of P_pi, move mass
    between the states by far more than sampling noise or a tolerance."""
    S, A = 3, 2
    P = np.zeros((S, A, S))
    P[0, 0] = [0.98, 0.02, 0.0]
    P[0, 1] = [0.97, 0.0, 0.03]
    P[1, 0] = [0.0, 0.9, 0.1]
    P[1, 1] = [0.05, 0.9, 0.05]
    P[2, :, 2] = 1.0
    r = np.array([[0.0, 0.1], [0.5, 0.0], [1.0, 0.8]])
    mdp = TabularMDP(P, r, 0.99, np.eye(S)[0])
    phi = np.zeros((S, A, 3))
    phi[0, 0, 0] = phi[1, 0, 1] = phi[2, 0, 2] = 1.0
    phi[:, 1, 0] = [0.5, -0.5, 0.2]
    return mdp, LogLinearPolicy(phi), np.array([0.4, -0.3, 0.6])


def rare_state_mdp() -> tuple[TabularMDP, LogLinearPolicy, np.ndarray]:
    """A state visited rarely: from state 0 the chain enters state 1 with probability 2e-4 a step
    and leaves it with probability 1/2, so d^theta(1) ~ 4e-4. Its block of F is small but real: a
    Fisher matrix that drops "unvisited" states below a threshold (d < 1e-3) misses it by far
    more than the tolerance (tabular softmax, so F is block diagonal by state)."""
    S, A = 2, 2
    P = np.zeros((S, A, S))
    P[0, :] = [1.0 - 2e-4, 2e-4]
    P[1, :] = [0.5, 0.5]
    r = np.array([[1.0, 0.0], [0.0, 1.0]])
    mdp = TabularMDP(P, r, 0.9, np.eye(S)[0])
    phi = np.eye(S * A).reshape(S, A, S * A)
    return mdp, LogLinearPolicy(phi), np.array([0.3, -0.2, 0.5, -0.4])


def relabelled(build: Callable[[], tuple], seed: int) -> Callable[[], tuple]:
    """The case of ``build`` with its states and actions renamed by random permutations (features,
    mask, rewards, transitions and mu0 move with them): policy KL, F, the gradient and every
    trust-region step are unchanged, since they do not depend on names."""
    def renamed() -> tuple:
        mdp, policy, theta = build()
        rng = np.random.default_rng(seed)
        s = rng.permutation(mdp.num_states)
        a = rng.permutation(mdp.num_actions)
        P = mdp.P[s][:, a][:, :, s]
        new = TabularMDP(P, mdp.r[s][:, a], mdp.gamma, mdp.mu0[s])
        return new, LogLinearPolicy(policy.phi[s][:, a], policy.mask[s][:, a]), theta

    return renamed


def reachable(mdp: TabularMDP, policy: LogLinearPolicy, theta: np.ndarray) -> np.ndarray:
    """States with d^theta(s) > 0 (boolean, shape (S,))."""
    return discounted_state_distribution(mdp, policy.probs(theta)) > REACHABLE
