"""The assignment's random Fourier features, computed by the grader without scikit-learn.

The handout's ``extract_features(state, |A|)`` is scikit-learn's ``RBFSampler(gamma=1,
random_state=12345)`` fitted to rows ``[s, a]`` of width 5 (CartPole's 4 numbers and the action):
``phi(s, a) = sqrt(2 / d) cos([s, a] W + b)`` with W of shape (5, 100) and b of shape (100,) drawn
at fit time. Those two arrays are stored here (``rbf_features.npz``); the grader computes the same
numbers, in the same order of operations (``grading_env.rbf_features``), without importing
scikit-learn (about 2 s and 120 MB). The same W and b go to the sandbox (``cases.FeaturesSpec``):
while the student's ``sample`` runs, its ``extract_features`` is the grader's pristine copy.
``tests/test_cartpole_suite.py`` checks them bit for bit against scikit-learn;
``python -m autograder.suites.cartpole.features`` rewrites the file (needs scikit-learn).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from . import grading_env

WEIGHTS_FILE = Path(__file__).with_name("rbf_features.npz")
STATE_DIM = 4


@functools.cache
def _weights() -> tuple[np.ndarray, np.ndarray]:
    with np.load(WEIGHTS_FILE, allow_pickle=False) as data:
        return data["random_weights"], data["random_offset"]


def extract_features(state: np.ndarray, num_actions: int) -> np.ndarray:
    """``phis`` of shape (100, |A|): column a is ``sqrt(2/100) cos([s, a] W + b)``, s of shape (4,)."""
    weights, offset = _weights()
    return grading_env.rbf_features(state, num_actions, weights, offset)


def write_weights() -> None:
    """Fit the course's sampler to width 5 and store its W and b (run when scikit-learn changes them)."""
    from sklearn.kernel_approximation import RBFSampler

    sampler = RBFSampler(gamma=1, random_state=12345).fit(np.zeros((1, STATE_DIM + 1)))
    np.savez(WEIGHTS_FILE, random_weights=sampler.random_weights_, random_offset=sampler.random_offset_)


if __name__ == "__main__":
    write_weights()
