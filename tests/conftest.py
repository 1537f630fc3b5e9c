"""Shared builders for the tests of ``solutions/``: MDPs with masked actions and unreachable states."""

from __future__ import annotations

import numpy as np
import pytest

from solutions import LogLinearPolicy, TabularMDP, random_mdp


def _masked_mdp(seed, num_states=5, num_actions=4, num_features=3, gamma=0.9):
    """Random MDP whose policy forbids some actions (each state keeps at least one).

    ``num_features=None`` gives tabular softmax. Masked actions keep their non-zero features, so a
    correct implementation must ignore them through the mask, not through the features.
    """
    rng = np.random.default_rng(seed)
    mdp, policy = random_mdp(rng, num_states, num_actions, num_features, gamma=gamma)
    mask = rng.random((num_states, num_actions)) < 0.6
    mask[np.arange(num_states), rng.integers(num_actions, size=num_states)] = True
    assert (~mask).any(), "the builder must mask at least one action"
    return mdp, LogLinearPolicy(policy.phi, mask)


def _unreachable_mdp(seed, num_states=5, num_actions=3, num_features=None, gamma=0.9):
    """Random MDP whose last state has mu0 = 0 and no incoming transitions, so d(s) = 0 there."""
    rng = np.random.default_rng(seed)
    mdp, policy = random_mdp(rng, num_states, num_actions, num_features, gamma=gamma)
    P = mdp.P.copy()
    P[:, :, -1] = 0.0
    P /= P.sum(axis=-1, keepdims=True)
    mu0 = mdp.mu0.copy()
    mu0[-1] = 0.0
    mu0 /= mu0.sum()
    return TabularMDP(P, mdp.r, gamma, mu0), policy


@pytest.fixture
def masked_mdp():
    """Factory ``masked_mdp(seed, num_states=5, num_actions=4, num_features=3, gamma=0.9)``."""
    return _masked_mdp


@pytest.fixture
def unreachable_mdp():
    """Factory ``unreachable_mdp(seed, num_states=5, num_actions=3, num_features=None, gamma=0.9)``."""
    return _unreachable_mdp
