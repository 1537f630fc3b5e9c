"""Reference solution of the course's CartPole NPG assignment (random-Fourier-feature policies).

A subpackage of its own: it needs scikit-learn and gymnasium, which the tabular homework does not,
so ``solutions/__init__.py`` does not import it (importing them costs about 2 s). Students fill
``utils.py`` and ``train.py``; the course's 2025 handout called them ``npg_utils.py`` and
``train_npg.py``.

``solutions.cartpole.train`` is the function ``train`` (the course's name); the module of the same
name is ``importlib.import_module("solutions.cartpole.train")``.
"""

from .train import ENV_ID, MAX_STEPS, make_env, sample, train
from .utils import (
    NUM_FEATURES,
    compute_action_distribution,
    compute_eta,
    compute_fisher_matrix,
    compute_log_softmax_grad,
    compute_softmax,
    compute_value_gradient,
    extract_features,
)

__all__ = [
    "NUM_FEATURES",
    "ENV_ID",
    "MAX_STEPS",
    "extract_features",
    "compute_softmax",
    "compute_action_distribution",
    "compute_log_softmax_grad",
    "compute_fisher_matrix",
    "compute_value_gradient",
    "compute_eta",
    "make_env",
    "sample",
    "train",
]
