"""The grader's recording environment and replay sampler, as the sandbox child runs them.

This file is copied into the sandbox beside the student's files (the suite's ``CHILD_FILES``) and
imported there as ``grading_env``; the grader imports the same file to replay what happened. It
needs numpy only.

Nothing recorded in the child is trusted: the student's code runs in the same process and could
edit any record. So every reward *encodes* the episode, the step and the action
(:func:`reward`, decoded by :func:`decode_reward`), and every next state is a deterministic
function of the state and the action (:func:`next_state`). From the ``(grads, rewards)`` that
``sample`` returns, the grader recovers the actions and replays the states in its own process.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

STATE_DIM = 4  # CartPole's observations have 4 numbers
REWARD_GRID = 256  # rewards are multiples of 1/256: exact in float64 and float32
ACTION_SLOT = 64  # reward = (h + 1) + a * 64/256 + (episode mod 64) / 256, so |A| <= 4
STEP_LIMIT = 1000  # an episode stepped this often after it ended stops the call (no endless loop)


# ----------------------------------------------------------------------------------------------
# Dynamics, shared by the child and the grader.
# ----------------------------------------------------------------------------------------------
def initial_state(episode: int) -> np.ndarray:
    """s_0 of episode ``episode`` (0, 1, ...): shape (4,)."""
    e = float(episode)
    return np.array([0.05 * ((episode % 7) - 3), 0.3 * np.sin(e), 0.1 * np.cos(1.7 * e), 0.02 * (episode % 5)])


def next_state(state: np.ndarray, action: int, step: int) -> np.ndarray:
    """s_{h+1} from s_h and a_h (h = ``step``): every component depends on the action or on s_h."""
    s = np.asarray(state, dtype=float)
    a = float(action)
    return np.array([
        0.9 * s[0] + 0.05 * (a - 1.0),
        0.8 * s[1] + 0.1 * np.sin(s[0] + 0.3 * step),
        np.cos(s[2] + 0.3 * a),
        0.5 * s[3] - 0.1 * a + 0.05,
    ])


def reward(episode: int, step: int, action: int) -> float:
    """``r = (h + 1) + a / 4 + (episode mod 64) / 256``: non-constant, and it names (episode, h, a)."""
    return (step + 1) + (action * ACTION_SLOT + episode % ACTION_SLOT) / REWARD_GRID


def decode_reward(r: float) -> Optional[tuple[int, int, int]]:
    """``(episode mod 64, step h, action a)`` of a reward made by :func:`reward`, or None if it is not one."""
    try:
        x = float(r) * REWARD_GRID
    except (TypeError, ValueError):
        return None
    if not np.isfinite(x) or abs(x - round(x)) > 1e-3 or x < REWARD_GRID:
        return None
    k = int(round(x))
    return k % ACTION_SLOT, k // REWARD_GRID - 1, (k % REWARD_GRID) // ACTION_SLOT


# ----------------------------------------------------------------------------------------------
# The handout's features, without scikit-learn.
# ----------------------------------------------------------------------------------------------
def rbf_features(state: Any, num_actions: int, weights: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """``phis`` of shape (d, |A|): column a is ``sqrt(2/d) cos([s, a] W + b)`` with the fitted W (5, d), b (d,).

    scikit-learn's ``RBFSampler.transform`` operations, in its order (as the handout's
    ``extract_features``): the same numbers to the last bit, given its W and b.
    """
    s = np.asarray(state, dtype=float).reshape(1, -1)
    if s.shape[1] + 1 != weights.shape[0]:
        raise ValueError(f"extract_features: a state has {weights.shape[0] - 1} numbers here, got {s.shape[1]}")
    num_actions = int(num_actions)
    sa = np.concatenate([np.repeat(s, num_actions, axis=0), np.arange(num_actions).reshape(-1, 1)], axis=1)
    projection = sa @ weights
    projection += offset
    np.cos(projection, out=projection)
    projection *= np.sqrt(2.0) / np.sqrt(weights.shape[1])
    return projection.T


class Features:
    """The handout's ``extract_features(state, num_actions)``, given W and b: the grader's pristine copy,
    which replaces the student's while their ``sample`` runs (no scikit-learn import, no refitting)."""

    def __init__(self, weights: Any, offset: Any) -> None:
        self.weights = np.asarray(weights, dtype=float)
        self.offset = np.asarray(offset, dtype=float)

    def __call__(self, state: Any, num_actions: Any) -> np.ndarray:
        return rbf_features(state, num_actions, self.weights, self.offset)


# ----------------------------------------------------------------------------------------------
# The environment the student's sample() steps through.
# ----------------------------------------------------------------------------------------------
class _Discrete:
    """gymnasium's ``Discrete(n)`` as far as ``sample`` needs it."""

    def __init__(self, n: int) -> None:
        self.n = int(n)

    def contains(self, x: Any) -> bool:
        return int(x) == x and 0 <= int(x) < self.n


class _Box:
    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape


class RecordingEnv:
    """gymnasium's interface: ``reset() -> (s, info)``, ``step(a) -> (s, r, terminated, truncated, info)``.

    Episode e lasts ``lengths[e % len(lengths)]`` steps, then ends with ``terminated`` (or
    ``truncated`` where ``truncated[e % len]`` is 1). ``constant_state`` (4 numbers) shows the same
    state at every step (for the test of the action distribution). Stepping a finished episode goes
    on (the grader sees the extra steps in the rewards) up to ``STEP_LIMIT`` steps.
    """

    grader_mutable = True  # it counts episodes and steps: its attributes change by design

    def __init__(
        self,
        lengths: Sequence[int],
        num_actions: int,
        truncated: Sequence[int] = (0,),
        constant_state: Optional[Sequence[float]] = None,
    ) -> None:
        self.lengths = [int(n) for n in lengths]
        self.truncated = [bool(t) for t in truncated]
        self.action_space = _Discrete(num_actions)
        self.observation_space = _Box((STATE_DIM,))
        self.constant_state = None if constant_state is None else np.asarray(constant_state, dtype=float).ravel()
        self.episode = -1
        self.step_index = 0
        self.state = np.zeros(STATE_DIM)

    def reset(self, seed: Optional[int] = None, options: Any = None) -> tuple[np.ndarray, dict]:
        self.episode += 1
        self.step_index = 0
        self.state = self._shown(initial_state(self.episode))
        return self.state.copy(), {}

    def _shown(self, state: np.ndarray) -> np.ndarray:
        return self.constant_state.copy() if self.constant_state is not None else state

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self.episode < 0:
            raise RuntimeError("step() was called before reset(): call env.reset() to start each trajectory")
        try:
            a = int(np.asarray(action).reshape(()))
        except (TypeError, ValueError):
            raise ValueError(f"step() needs one integer action, got {action!r}") from None
        if not 0 <= a < self.action_space.n or a != np.asarray(action).reshape(()):
            raise ValueError(f"step() needs an action in 0..{self.action_space.n - 1}, got {action!r}")
        h = self.step_index
        if h >= STEP_LIMIT:
            raise RuntimeError(f"step() was called {STEP_LIMIT} times in one episode: the episode ended long ago "
                               "(stop when terminated or truncated is True, and after 200 steps)")
        r = reward(self.episode, h, a)
        self.state = self._shown(next_state(self.state, a, h))
        self.step_index = h + 1
        i = self.episode % len(self.lengths)
        ended = self.step_index >= self.lengths[i]
        is_truncated = ended and self.truncated[i % len(self.truncated)]
        return self.state.copy(), r, ended and not is_truncated, is_truncated, {}

    def close(self) -> None:
        pass


# ----------------------------------------------------------------------------------------------
# The sampler that replaces the student's sample() while their train() runs.
# ----------------------------------------------------------------------------------------------
def replay(pool: Sequence[Any], theta: Any, N: Any, direction: Sequence[float]) -> tuple[list, list]:
    """What the replay sampler gives for ``sample(theta, env, N)`` from one iteration's ``pool``.

    ``pool = [grads, rewards]`` (lists of trajectories). The answer depends on both arguments, so a
    train that passes a stale theta or another N gets other trajectories (and a wrong update):
    exactly ``N`` trajectories, the pool's in turn (cycling), and every reward shifted by
    ``sin(theta . direction)`` (theta of 100 numbers). Raises ValueError for a theta or N that is not that.
    """
    try:
        t = np.array(theta, dtype=float).ravel()
        n = int(N)
    except (TypeError, ValueError):
        raise ValueError(f"sample(theta, env, N) needs theta of 100 numbers and an integer N; got "
                         f"{type(theta).__name__} and {N!r}") from None
    u = np.asarray(direction, dtype=float).ravel()
    if t.size != u.size or n != N or n < 1:
        raise ValueError(f"sample(theta, env, N) needs theta of shape ({u.size}, 1) and an integer N >= 1; got "
                         f"theta of shape {np.shape(theta)} and N = {N!r}")
    grads, rewards = pool
    shift = float(np.sin(t @ u))
    pick = [i % len(grads) for i in range(n)]
    return ([[np.array(g, dtype=float) for g in grads[i]] for i in pick],
            [[float(r) + shift for r in rewards[i]] for i in pick])


class ReplaySampler:
    """``sample(theta, env, N)`` that serves ``replay(pools[t], theta, N, direction)`` at call t.

    Each call records a copy of the theta it was given and N; ``report()`` returns ``[N of each
    call, theta of each call]`` (plain data the grader reads as untrusted hints for its feedback).
    Calls beyond the last pool get the last one again.
    """

    grader_mutable = True  # it records each call

    def __init__(self, pools: Sequence[Any], direction: Sequence[float]) -> None:
        self.pools = list(pools)
        self.direction = list(direction)
        self.sizes: list = []
        self.thetas: list = []

    def __call__(self, theta: Any, env: Any, N: Any) -> tuple[list, list]:
        self.sizes.append(N if isinstance(N, (int, float)) else -1)
        try:
            self.thetas.append(np.array(theta, dtype=float, copy=True).ravel().tolist())
        except (TypeError, ValueError):
            self.thetas.append([])
        return replay(self.pools[min(len(self.thetas), len(self.pools)) - 1], theta, N, self.direction)

    def report(self) -> list:
        return [list(self.sizes), list(self.thetas)]


# ----------------------------------------------------------------------------------------------
# Stand-ins for the functions a graded function calls (so a mistake costs points in its own part only).
# ----------------------------------------------------------------------------------------------
def _flat(x: Any) -> list:
    """``x`` as a list of flat float vectors, one per top-level item (a list) or one (anything else)."""
    if isinstance(x, (list, tuple)):
        return [np.concatenate([np.asarray(v, dtype=float).ravel() for v in _items(item)] or [np.zeros(0)])
                for item in x]
    return [np.asarray(x, dtype=float).ravel()]


def _items(x: Any) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _same(got: Any, want: Any) -> bool:
    try:
        a, b = _flat(got), _flat(want)
    except (TypeError, ValueError):
        return False
    return len(a) == len(b) and all(u.shape == v.shape and np.allclose(u, v, rtol=1e-9, atol=1e-12)
                                    for u, v in zip(a, b))


class StandIn:
    """A function's stand-in: the reference's values for the inputs a correct caller passes, the
    student's own function (given by the sandbox through :meth:`wrap`) for any other input.

    ``positions`` maps each argument name to its position (names travel as keyword names: the
    sandbox's arguments carry no strings); ``entries = [[inputs, value], ...]`` with
    ``inputs = [[position, [accepted values]], ...]``; ``defaults = [[position, value], ...]``. It
    holds values, no formula: it computes nothing itself.
    """

    def __init__(self, entries: Sequence[Any], defaults: Sequence[Any] = (), **positions: int) -> None:
        self.positions = {str(name): int(i) for name, i in positions.items()}
        self.entries = [([(int(i), list(accepted)) for i, accepted in inputs], value) for inputs, value in entries]
        self.defaults = {int(i): v for i, v in defaults}
        self.own: Any = None

    def wrap(self, original: Any) -> None:
        self.own = original

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        bound = dict(self.defaults)
        bound.update(enumerate(args))
        bound.update((self.positions[k], v) for k, v in kwargs.items() if k in self.positions)
        for inputs, value in self.entries:
            if all(name in bound and any(_same(bound[name], w) for w in accepted) for name, accepted in inputs):
                return np.array(value, dtype=float)
        if self.own is None:
            raise NameError("this function is not defined in your module")
        return self.own(*args, **kwargs)
