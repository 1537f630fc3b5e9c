"""Inputs of the CartPole suite: random trajectories, the recording environment, replayed samples.

Public inputs come from ``np.random.default_rng(seed)`` in a way the feedback's snippet repeats
line by line, so a student pastes the snippet and gets the very same arrays. Hidden inputs are
described by their shapes only. :class:`EnvSpec` and :class:`ReplaySpec` are the grader-side
descriptions of ``grading_env.RecordingEnv`` and ``grading_env.ReplaySampler``: the engine sends
them to the sandbox child through the suite's codecs, and the grader replays them itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from ...engine.compare import array_literal  # noqa: F401  (re-exported: the snippets' literal arrays)
from . import grading_env

MAX_STEPS = 200  # the assignment's cap on a trajectory's length
NUM_FEATURES = 100


@dataclass(frozen=True)
class Trajectories:
    """N trajectories of (d, 1) scores and rewards, drawn from one seed as :meth:`snippet` says.

    ``grads[i]`` holds ``lengths[i]`` draws of ``rng.standard_normal((d, 1))`` (trajectory by
    trajectory), then ``rewards[i]`` ``rng.uniform(low, high, size=H_i)``; ``boost`` multiplies the
    scores of the first trajectory (a short trajectory with large scores shows per-step averaging).
    """

    seed: int
    lengths: tuple[int, ...]
    d: int
    boost: float = 1.0
    scale: float = 1.0
    low: float = -2.0
    high: float = 3.0
    hidden: bool = False

    def build(self) -> tuple[list[list[np.ndarray]], list[list[float]]]:
        rng = np.random.default_rng(self.seed)
        grads = [[self.scale * rng.standard_normal((self.d, 1)) for _ in range(H)] for H in self.lengths]
        rewards = [[float(r) for r in rng.uniform(self.low, self.high, size=H)] for H in self.lengths]
        if self.boost != 1.0:
            grads[0] = [self.boost * g for g in grads[0]]
        return grads, rewards

    def describe(self) -> str:
        shape = (f"{len(self.lengths)} trajectories of lengths {list(self.lengths)}, scores of shape ({self.d}, 1), "
                 f"rewards in [{self.low:g}, {self.high:g})")
        return ("a hidden case: " if self.hidden else f"seed {self.seed}: ") + shape

    def snippet(self) -> Optional[str]:
        """The lines that rebuild ``grads`` and ``rewards`` in a notebook; None for a hidden case."""
        if self.hidden:
            return None
        scale = "" if self.scale == 1.0 else f"{self.scale!r} * "
        lines = [
            f"rng = np.random.default_rng({self.seed})",
            f"lengths = {list(self.lengths)}",
            f"grads = [[{scale}rng.standard_normal(({self.d}, 1)) for _ in range(H)] for H in lengths]",
            f"rewards = [list(rng.uniform({self.low!r}, {self.high!r}, size=H)) for H in lengths]",
        ]
        if self.boost != 1.0:
            lines.append(f"grads[0] = [{self.boost!r} * g for g in grads[0]]")
        return "\n".join(lines)


def random_lengths(rng: np.random.Generator, n: int) -> tuple[int, ...]:
    """``n`` trajectory lengths with a 1 and a 200 among them and the rest in 2..199 (a hidden mix)."""
    rest = [int(x) for x in rng.integers(2, MAX_STEPS, size=max(0, n - 2))]
    lengths = [1, MAX_STEPS] + rest
    return tuple(int(x) for x in rng.permutation(lengths)[:n])


# ----------------------------------------------------------------------------------------------
# What crosses to the sandbox child (through the suite's codecs).
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EnvSpec:
    """A ``grading_env.RecordingEnv``: episode e lasts ``lengths[e % len]`` steps and then ends with
    ``terminated``, or ``truncated`` where ``truncated[e % len]`` is 1; ``constant_state`` fixes the state."""

    lengths: tuple[int, ...]
    num_actions: int
    truncated: tuple[int, ...] = (0,)
    constant_state: Optional[tuple[float, ...]] = None

    def kwargs(self) -> dict:
        out: dict = {"lengths": list(self.lengths), "num_actions": self.num_actions,
                     "truncated": list(self.truncated)}
        if self.constant_state is not None:
            out["constant_state"] = np.array(self.constant_state, dtype=float)
        return out

    def length(self, episode: int) -> int:
        return self.lengths[episode % len(self.lengths)]

    def is_truncated(self, episode: int) -> bool:
        return bool(self.truncated[(episode % len(self.lengths)) % len(self.truncated)])

    def states(self, episode: int, actions: Sequence[int]) -> list[np.ndarray]:
        """The states s_0 .. s_H the environment shows in ``episode`` when given ``actions`` (the replay)."""
        if self.constant_state is not None:
            return [np.array(self.constant_state, dtype=float)] * (len(actions) + 1)
        shown = [grading_env.initial_state(episode)]
        for h, a in enumerate(actions):
            shown.append(grading_env.next_state(shown[-1], a, h))
        return shown


@dataclass(frozen=True)
class FeaturesSpec:
    """A ``grading_env.Features``: the handout's ``extract_features`` with the stored W and b."""

    def kwargs(self) -> dict:
        from .features import _weights

        weights, offset = _weights()
        return {"weights": weights, "offset": offset}


@dataclass
class ReplaySpec:
    """A ``grading_env.ReplaySampler``: call t serves ``grading_env.replay(pools[t], theta, N, direction)``."""

    pools: list = field(default_factory=list)
    direction: tuple[float, ...] = ()

    def kwargs(self) -> dict:
        return {"pools": [[grads, rewards] for grads, rewards in self.pools], "direction": list(self.direction)}


@dataclass
class StandInSpec:
    """A ``grading_env.StandIn``: the reference's value for each listed input, the student's own function
    for any other. ``entries = [({argument name: [accepted values]}, value), ...]``."""

    names: tuple[str, ...]
    entries: list = field(default_factory=list)
    defaults: dict = field(default_factory=dict)

    def kwargs(self) -> dict:
        where = {name: i for i, name in enumerate(self.names)}
        return {"entries": [[[[where[n], list(acc)] for n, acc in inputs.items()], value]
                            for inputs, value in self.entries],
                "defaults": [[where[n], v] for n, v in self.defaults.items()], **where}
