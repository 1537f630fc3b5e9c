"""The CartPole assignment's sample submissions for ``autograder demo`` and the tests: the
reference's ``utils.py`` and ``train.py`` with text patches that introduce one classic mistake
(see :mod:`autograder.demo.samples`)."""

from __future__ import annotations

import dataclasses

from ...demo.samples import Sample

SAMPLES = (
    Sample("correct", "the reference solution as utils.py, train.py"),
    Sample("builtin-max", "compute_softmax uses Python's max and sum",
           (("utils.py", "shifted = z - np.max(z, axis=axis, keepdims=True)", "shifted = z - max(z)"),
            ("utils.py", "return e / np.sum(e, axis=axis, keepdims=True)", "return e / sum(e)")),
           expect_mistakes=("softmax_builtin_max",)),
    Sample("per-step-fisher", "compute_fisher_matrix averages over all steps, not per trajectory",
           (("utils.py", "per_trajectory = [G.T @ G / G.shape[0] for G in scores]\n"
                         "    return np.mean(per_trajectory, axis=0) + lamb * np.eye(d)",
             "steps = np.concatenate(scores)\n    return steps.T @ steps / len(steps) + lamb * np.eye(d)"),),
           expect_mistakes=("fisher_per_step",)),
    Sample("no-horizon", "compute_value_gradient without 1/H_i",
           (("utils.py", "per_trajectory.append(G.T @ (reward_to_go - baseline) / G.shape[0])",
             "per_trajectory.append(G.T @ (reward_to_go - baseline))"),),
           expect_mistakes=("value_gradient_no_horizon",)),
    Sample("ignores-truncated", "sample stops on terminated only",
           (("train.py", "if terminated or truncated:", "if terminated:"),),
           expect_mistakes=("sample_ignores_truncated",)),
    Sample("train-ignores-lamb", "train calls compute_fisher_matrix(grads) without lamb",
           (("train.py", "fisher = compute_fisher_matrix(grads, lamb)", "fisher = compute_fisher_matrix(grads)"),),
           expect_mistakes=("train_ignores_lamb",)),
)
SAMPLES = tuple(dataclasses.replace(s, assignment="cartpole") for s in SAMPLES)
