"""Checks of ``train.py``: ``sample`` through a recording environment, ``train`` step by step.

``sample(theta, env, N)`` runs in the sandbox on the grader's ``grading_env.RecordingEnv``
(docs/cartpole-design.md section 2). Nothing the child records is trusted: each reward names its
episode, step and action, so the returned ``(grads, rewards)`` alone give the grader the actions;
it replays the states in its own process and checks, per trajectory, a fresh episode, the rewards
in order, the length (the episode's own, cut at 200 steps, nothing after ``terminated`` or
``truncated``), and every score at the state *before* the step for the action taken. Actions must
be drawn from pi: a G-test on a constant state (|A| = 3 public, |A| = 2 hidden) at p < 1e-6, so a
correct sampler fails it with probability at most 1e-6 per check (``engine/stats.g_test``).

``train(N, T, delta, lamb)`` runs with the module's ``sample`` replaced by the grader's
``grading_env.ReplaySampler`` after ``np.random.seed(seed)``: its trajectories depend on the theta
and N it gets (``grading_env.replay``), so theta_T is right only if every call got the previous
update and N. ``compute_fisher_matrix``, ``compute_value_gradient`` and ``compute_eta`` are replaced
by stand-ins (``grading_env.StandIn``) that hold the reference's values for the inputs a correct
train passes and call the student's own function for any other: train is graded alone, and a
wrong util costs points in its own part only (docs/cartpole-design.md). The sampler's report
(which theta and N each call got) is untrusted: it words the feedback only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from solutions.cartpole import utils as ref

from ...engine.compare import Tolerance, call_failure, diagnose, format_value, matrix_tolerance, mismatch
from ...engine.stats import g_test
from ...engine.suite import Check, Context, Outcome, Seeds
from . import grading_env
from .cases import MAX_STEPS, NUM_FEATURES, EnvSpec, FeaturesSpec, ReplaySpec, StandInSpec, Trajectories
from .features import extract_features
from .mistakes import mistake

FALSE_FAILURE = 1e-6  # per G-test: the probability that a correct sampler fails it
SAMPLE_SECONDS = 20.0  # one call of sample or train (the course's refitting features cost 1.3 ms a step)
NEVER = MAX_STEPS + 30  # an episode "that never ends" ends after 230 steps: a missing cap shows, nothing hangs
# While sample runs, its extract_features is the grader's pristine copy (given code, as mdp.py for the
# tabular homework): the course's features, bit for bit, without scikit-learn's 2 s import in the sandbox.
PRISTINE_FEATURES = {"extract_features": FeaturesSpec()}
# A score phi(s, a) - E[phi] cancels: its float32 error is relative to the features, |phi| <= sqrt(2 / d).
SCORE_TOL = matrix_tolerance(np.array(np.sqrt(2.0 / NUM_FEATURES)))


# ----------------------------------------------------------------------------------------------
# sample
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SampleCase:
    env: EnvSpec
    N: int
    theta_seed: int
    seed: int  # np.random.seed in the child before the call
    theta_scale: float = 0.5
    hidden: bool = False

    def theta(self) -> np.ndarray:
        return self.theta_scale * np.random.default_rng(self.theta_seed).standard_normal((NUM_FEATURES, 1))

    def describe(self) -> str:
        ends = []
        for e, length in enumerate(self.env.lengths):
            ends.append("never (within 200 steps)" if length > MAX_STEPS else
                        f"{length} step{'s' if length > 1 else ''} then "
                        f"{'truncated' if self.env.is_truncated(e) else 'terminated'}")
        what = (f"sample(theta, env, N={self.N}) with theta of shape ({NUM_FEATURES}, 1) and the grader's "
                f"recording environment with {self.env.num_actions} actions, 4-number states and non-constant "
                f"rewards; its episodes, in turn, end: {'; '.join(ends)}")
        return ("a hidden case: " if self.hidden else f"np.random.seed({self.seed}); ") + what


@dataclass
class Rollouts:
    """What a sample call returned, validated and decoded: per trajectory its episode, actions and scores."""

    episodes: list[int]
    actions: list[list[int]]
    scores: list[np.ndarray]  # (H_i, d)


def _as_rollouts(value: Any, case: SampleCase, inputs: str) -> tuple[Optional[Rollouts], Optional[Outcome]]:
    """Read ``(grads, rewards)``; decode each reward into (episode, step, action); check the lengths."""
    def fail(text: str, key: Optional[str] = None) -> tuple[None, Outcome]:
        message = f"Your sample {text}\nInput: {inputs}"
        if key is not None:
            m = mistake(key)
            message += f"\nLikely mistake: {m.title}. {m.hint}"
        return None, Outcome(False, message, key)

    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, list) for v in value)):
        return fail(f"must return a pair (grads, rewards) of lists; it returned {format_value(value)}.")
    grads, rewards = value
    if len(grads) != case.N or len(rewards) != case.N:
        return fail(f"returned {len(grads)} lists of scores and {len(rewards)} lists of rewards; expected N = "
                    f"{case.N} of each (one per trajectory).")
    out = Rollouts([], [], [])
    for i, (g, r) in enumerate(zip(grads, rewards)):
        r, g = _numbers(r), _numbers(g)
        if r is None or g is None:
            return fail(f"returned grads[{i}] or rewards[{i}] that are not numbers or arrays of numbers.")
        r = r.ravel()
        if len(r) == 0 or len(g) != len(r) or g.size != len(r) * NUM_FEATURES:
            return fail(f"returned {len(g)} scores in grads[{i}] (shape {g.shape}) and {len(r)} rewards in "
                        f"rewards[{i}]; expected one score of shape ({NUM_FEATURES}, 1) and one reward per step, "
                        "at least one step.")
        decoded = [grading_env.decode_reward(x) for x in r]
        if any(d is None for d in decoded):
            h = next(k for k, d in enumerate(decoded) if d is None)
            return fail(f"returned rewards[{i}][{h}] = {r[h]!r}, which is not a reward the environment gave: keep "
                        "env.step's rewards as they are, one per step.")
        episode = decoded[0][0]
        if any(d[0] != episode for d in decoded):
            return fail(f"mixed the steps of several episodes in trajectory {i}: call env.reset() once at the start "
                        "of each trajectory, and not in between.")
        if episode != i % grading_env.ACTION_SLOT:  # every case has N < 64: the episode number is unambiguous
            return fail(f"returned as trajectory {i} the steps of episode {episode}: trajectory i is the i-th episode "
                        "since sample was called (one env.reset() per trajectory, in order, none skipped).")
        steps = [d[1] for d in decoded]
        if steps != list(range(len(r))):
            return fail(f"returned the rewards of trajectory {i} out of order or with steps missing (step numbers "
                        f"{steps[:8]}{'...' if len(steps) > 8 else ''}): append each env.step reward, in order.")
        actions = [d[2] for d in decoded]
        if max(actions) >= case.env.num_actions:
            return fail("took an action outside 0..|A|-1.")
        length, H = case.env.length(episode), len(r)
        want = min(length, MAX_STEPS)
        if H > want:
            if length > MAX_STEPS:
                return fail(f"returned a trajectory of {H} steps; at most 200 steps per trajectory.",
                            "sample_no_step_cap")
            if case.env.is_truncated(episode):
                return fail(f"went on after the episode was truncated: trajectory {i} has {H} steps, the environment "
                            f"said truncated=True after step {length}.", "sample_ignores_truncated")
            return fail(f"went on after the episode terminated: trajectory {i} has {H} steps, the environment said "
                        f"terminated=True after step {length}; stop when terminated or truncated is True.")
        if H < want:
            ended = "after 200 steps (the cap)" if length >= MAX_STEPS else f"after {length} steps"
            return fail(f"stopped trajectory {i} after {H} steps; the episode ended {ended}. Stop when terminated "
                        "or truncated is True, or after 200 steps, not before.")
        out.episodes.append(episode)
        out.actions.append(actions)
        out.scores.append(g.reshape(H, NUM_FEATURES))
    return out, None


def _check_scores(ctx: Context, rollouts: Rollouts, case: SampleCase, theta: np.ndarray, inputs: str) -> Outcome:
    """Every grads[i][h] must be the reference score at s_h (replayed) for the action a_h (decoded).

    Scores that are wrong only because the student's own compute_log_softmax_grad is pass with a
    note (that mistake costs points in its own part): the first wrong step and up to
    ``OWN_PROBES - 1`` others must then equal what the student's function gives there.
    """
    A = case.env.num_actions
    for i, (episode, actions, scores) in enumerate(zip(rollouts.episodes, rollouts.actions, rollouts.scores)):
        states = case.env.states(episode, actions)
        cache: dict[tuple, np.ndarray] = {}

        def score(state: np.ndarray, a: int, cache: dict = cache) -> np.ndarray:
            key = (state.tobytes(), a)
            if key not in cache:
                cache[key] = ref.compute_log_softmax_grad(theta, extract_features(state, A), a)[:, 0]
            return cache[key]

        expected = np.array([score(states[h], a) for h, a in enumerate(actions)])
        tol = SCORE_TOL
        for h in range(len(actions)):
            if tol.close(scores[h], expected[h]):
                continue
            own = _own_scores_note(ctx, rollouts, case, theta, tol, (i, h))
            post_step = score(states[h + 1], actions[h])
            found = diagnose(scores[h], [(mistake("sample_post_step_score"), post_step)], tol)
            return mismatch(
                "sample", inputs, expected[h].reshape(-1, 1), scores[h].reshape(-1, 1), tol, found,
                detail=f"grads[{i}][{h}] is the score of step {h} of trajectory {i}: grad log pi(a_{h}|s_{h}) at "
                       f"the state s_{h} the action a_{h} = {actions[h]} was taken in (the grader replays the states "
                       "and reads the actions from the rewards)." + own,
            )
    return Outcome(True)


def _own_scores_note(ctx: Context, rollouts: Rollouts, case: SampleCase, theta: np.ndarray, tol: Tolerance,
                     first: tuple[int, int]) -> str:
    """A note for the feedback when the first wrong score equals the student's own compute_log_softmax_grad
    there: it explains the mismatch, it never passes the check (sample is compared with the reference)."""
    i, h = first
    actions = rollouts.actions[i]
    state = case.env.states(rollouts.episodes[i], actions[:h])[h]
    result = ctx.call("compute_log_softmax_grad", theta, extract_features(state, case.env.num_actions), actions[h])
    own = _numbers(result.value) if result.ok else None
    if own is None or own.size != NUM_FEATURES or not tol.close(rollouts.scores[i][h], own.ravel()):
        return ""
    return (" This score is what your compute_log_softmax_grad gives there: fix that function (its own part shows "
            "how), and sample passes too.")


def _numbers(value: Any) -> Optional[np.ndarray]:
    """``value`` as a float array, or None when the child's value is not numbers of one shape."""
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError, OverflowError):
        return None


def _probe_raw_observations(ctx: Context, case: SampleCase) -> bool:
    """After sample failed with theta of shape (100, 1): does it run with a theta of 4 numbers and return
    scores of shape (4, 1)? Then it uses the raw observation as its features."""
    probe = ctx.call("sample", np.full((4, 1), 0.1), EnvSpec((3,), 2), 1, seed=case.seed, timeout=SAMPLE_SECONDS,
                     patch=PRISTINE_FEATURES)
    if not probe.ok or not (isinstance(probe.value, list) and len(probe.value) == 2):
        return False
    try:
        first = _numbers(probe.value[0][0][0])
    except (TypeError, IndexError, KeyError):
        return False
    return first is not None and first.size == 4


def _sample_failure(ctx: Context, case: SampleCase, result: Any, inputs: str) -> Outcome:
    """The feedback for a sample call that raised: when sample runs with a theta of 4 numbers (the raw
    observation as features), the exception's last line and that diagnosis, not a traceback."""
    if result.kind == "exception" and _probe_raw_observations(ctx, case):
        m = mistake("sample_raw_observations")
        last = (result.error or "").strip().splitlines()[-1:] or [""]
        return Outcome(False, f"Your sample raised an exception with theta of shape ({NUM_FEATURES}, 1): {last[0]}\n"
                       f"Input: {inputs}\nIt runs with a theta of 4 numbers and returns scores of shape (4, 1): its "
                       f"features are the 4 numbers of the observation.\nLikely mistake: {m.title}. {m.hint}", m.key)
    return call_failure(result, "sample", inputs)


def _sampled(ctx: Context, case: SampleCase, theta: np.ndarray,
             inputs: str) -> tuple[Optional[Rollouts], Optional[Outcome]]:
    """Call the student's ``sample`` on ``case`` (the grader's features patched in) and read its
    trajectories: ``(rollouts, None)``, or ``(None, the failed outcome)``."""
    result = ctx.call("sample", theta, case.env, case.N, seed=case.seed, timeout=SAMPLE_SECONDS,
                      patch=PRISTINE_FEATURES)
    if not result.ok:
        return None, _sample_failure(ctx, case, result, inputs)
    return _as_rollouts(result.value, case, inputs)


def _check_sample(case: SampleCase) -> Callable[[Context], Outcome]:
    def run(ctx: Context) -> Outcome:
        theta = case.theta()
        inputs = case.describe()
        rollouts, failure = _sampled(ctx, case, theta, inputs)
        if failure is not None:
            return failure
        assert rollouts is not None
        return _check_scores(ctx, rollouts, case, theta, inputs)

    return run


def _check_action_distribution(case: SampleCase) -> Callable[[Context], Outcome]:
    """A G-test of the actions taken in one constant state against pi(.|s), at p < FALSE_FAILURE."""
    def run(ctx: Context) -> Outcome:
        theta = case.theta()
        inputs = case.describe()
        rollouts, failure = _sampled(ctx, case, theta, inputs)
        if failure is not None:
            return failure
        assert rollouts is not None and case.env.constant_state is not None
        A = case.env.num_actions
        pi = ref.compute_action_distribution(theta, extract_features(np.array(case.env.constant_state), A)).ravel()
        counts = np.bincount(np.concatenate([np.asarray(a) for a in rollouts.actions]), minlength=A).astype(float)
        test = g_test(counts, pi)
        if test.p_value >= FALSE_FAILURE:
            return _same_draws(ctx, case, rollouts, inputs) or _check_scores(ctx, rollouts, case, theta, inputs)
        found = None
        if counts[int(np.argmax(pi))] == counts.sum():
            found = mistake("sample_greedy_action")
        elif g_test(counts, np.full(A, 1.0 / A)).p_value > 1e-3:
            found = mistake("sample_uniform_actions")
        lines = [
            "Your sample does not draw its actions from pi(.|s).",
            f"Input: {inputs}",
            f"Every state is the same, so every action is a draw from pi = {format_value(pi)}.",
            f"Expected frequencies: {format_value(pi)}",
            f"Got:                  {format_value(counts / counts.sum())} ({int(counts.sum())} actions)",
            f"G-test: G = {test.statistic:.1f} with {test.df} degrees of freedom, p = {test.p_value:.2e} < "
            f"{FALSE_FAILURE:g} (a correct sampler fails this test with probability at most 1e-6).",
        ]
        if found is not None:
            lines.append(f"Likely mistake: {found.title}. {found.hint}")
        return Outcome(False, "\n".join(lines), found.key if found else None)

    return run


def _same_draws(ctx: Context, case: SampleCase, rollouts: Rollouts, inputs: str) -> Optional[Outcome]:
    """A failure if sample, called again after ``np.random.seed(seed + 1)``, takes exactly the same actions.

    Two honest runs of N * 200 draws under different seeds agree with probability at most
    max(pi)^(N * 200) (< 1e-300 here): only a sampler that reseeds numpy itself repeats them."""
    again = ctx.call("sample", case.theta(), case.env, case.N, seed=case.seed + 1, timeout=SAMPLE_SECONDS,
                     patch=PRISTINE_FEATURES)
    if not again.ok:
        return _sample_failure(ctx, case, again, inputs)
    second, failure = _as_rollouts(again.value, case, inputs)
    if failure is not None:
        return failure
    assert second is not None
    if second.actions != rollouts.actions:
        return None
    m = mistake("sample_reseeds")
    return Outcome(False, f"Your sample took exactly the same {sum(map(len, rollouts.actions))} actions after "
                   f"np.random.seed({case.seed}) and after np.random.seed({case.seed + 1}).\nInput: {inputs}\n"
                   f"Likely mistake: {m.title}. {m.hint}", m.key)


def _theta_for(state: np.ndarray, target: np.ndarray) -> np.ndarray:
    """A theta (100, 1) with pi(.|state) = target: the least-norm solution of phis^T theta = log(target)."""
    phis = extract_features(state, len(target))
    return np.linalg.lstsq(phis.T, np.log(target), rcond=None)[0].reshape(-1, 1)


@dataclass(frozen=True)
class GTestCase(SampleCase):
    target: tuple[float, ...] = ()

    def theta(self) -> np.ndarray:
        assert self.env.constant_state is not None
        return _theta_for(np.array(self.env.constant_state), np.array(self.target))


def _sample_checks(seeds: Seeds) -> list[Check]:
    p = Seeds.public
    checks = [
        Check("sample", "2 actions: lengths 5, 1, 37, never ending, exactly 200; truncated or terminated",
              _check_sample(SampleCase(EnvSpec((5, 1, 37, NEVER, MAX_STEPS), 2, truncated=(0, 0, 1, 1, 0)), 5,
                       p("sample/2/theta") % 2**32, p("sample/2") % 2**32)), kind="random"),
        Check("sample", "3 actions: lengths 12 (truncated), 3, never ending", _check_sample(
            SampleCase(EnvSpec((12, 3, NEVER), 3, truncated=(1, 0, 0)), 3, p("sample/3/theta") % 2**32,
                       p("sample/3") % 2**32)), kind="random", weight=0.5),
        Check("sample", "3 actions in one constant state: actions drawn from pi (G-test)", _check_action_distribution(
            GTestCase(EnvSpec((NEVER,), 3, truncated=(1,), constant_state=(0.02, -0.1, 0.03, 0.2)), 15, 0,
                      p("sample/g3") % 2**32, target=(0.15, 0.5, 0.35))), kind="random", weight=0.5),
    ]
    rng = np.random.default_rng(seeds.hidden("sample/rollout"))
    lengths = (int(rng.integers(2, 40)), 1, NEVER, int(rng.integers(40, MAX_STEPS)))
    checks.append(Check("sample", "hidden case: 2 actions, episodes of several lengths", _check_sample(
        SampleCase(EnvSpec(lengths, 2, truncated=tuple(int(x) for x in rng.integers(0, 2, size=4))), 4,
                   int(rng.integers(2**32)), int(rng.integers(2**32)), hidden=True)), kind="hidden"))
    rng = np.random.default_rng(seeds.hidden("sample/g2"))
    state = tuple(float(x) for x in np.round(rng.normal(scale=0.1, size=4), 4))
    first = float(np.round(rng.uniform(0.2, 0.4), 3))
    checks.append(Check("sample", "hidden case: 2 actions in one constant state (G-test)", _check_action_distribution(
        GTestCase(EnvSpec((NEVER,), 2, truncated=(1,), constant_state=state), 10, 0, int(rng.integers(2**32)),
                  hidden=True, target=(first, 1.0 - first))), kind="hidden"))
    return checks


# ----------------------------------------------------------------------------------------------
# train
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainCase:
    N: int
    T: int
    delta: float
    lamb: Optional[float]  # None: train is called without it (its default, 1e-3, applies)
    seed: int  # np.random.seed in the child: theta_0 = np.random.rand(100, 1)
    data_seed: int
    hidden: bool = False

    def pools(self) -> list[tuple[list, list]]:
        """Iteration t's pool: N + 2 trajectories (a train that asks for more than N gets others)."""
        rng = np.random.default_rng(self.data_seed)
        out = []
        for _ in range(self.T):
            lengths = tuple(int(x) for x in rng.integers(1, 60, size=self.N + 2))
            out.append(Trajectories(int(rng.integers(2**32)), lengths, NUM_FEATURES, scale=0.1, low=0.0,
                                    high=2.0).build())
        return out

    def direction(self) -> np.ndarray:
        """The replay's theta direction: rewards shift by sin(theta . u) (see ``grading_env.replay``)."""
        return np.random.default_rng(self.data_seed + 1).standard_normal(NUM_FEATURES) * 2.0

    def lamb_used(self) -> float:
        return 1e-3 if self.lamb is None else self.lamb

    def chain(self, lamb: Optional[float] = None, kind: str = "reference", thetas: Optional[list] = None,
              sizes: Optional[list] = None) -> tuple[list[np.ndarray], list[tuple[list, list]]]:
        """theta_0 .. theta_T of a train doing ``kind`` updates (see :func:`_update`) and the samples each
        iteration got: theta_0 = np.random.rand(100, 1) after the seed, sample(theta_t, env, N) each time
        (or sample(thetas[t], env, sizes[t]) when the student's train passed those)."""
        lamb = self.lamb_used() if lamb is None else lamb
        if thetas is None and sizes is None:
            return _chain(self, lamb, kind)
        return self._chain(lamb, kind, thetas, sizes)

    def _chain(self, lamb: float, kind: str, thetas: Optional[list], sizes: Optional[list] = None
               ) -> tuple[list[np.ndarray], list]:
        theta = np.random.RandomState(self.seed).rand(NUM_FEATURES, 1)
        path, served = [theta], []
        for t, pool in enumerate(self.pools()):
            given = theta if thetas is None else thetas[t]
            grads, rewards = grading_env.replay(pool, given, self.N if sizes is None else sizes[t], self.direction())
            served.append((grads, rewards))
            theta = theta + _update(grads, rewards, self.delta, lamb, kind)
            path.append(theta)
        return path, served

    def args(self) -> tuple:
        return (self.N, self.T, self.delta) if self.lamb is None else (self.N, self.T, self.delta, self.lamb)

    def describe(self) -> str:
        call = ", ".join(repr(a) for a in self.args())
        what = (f"train({call}) with sample replaced by the grader's: sample(theta, env, N) gives N trajectories "
                f"(scores of shape ({NUM_FEATURES}, 1), non-constant rewards) that depend on the theta and N it gets, "
                "and compute_fisher_matrix, compute_value_gradient and compute_eta give the reference's values for "
                "the inputs a correct train passes them")
        return ("a hidden case: " if self.hidden else f"np.random.seed({self.seed}); ") + what


@functools.lru_cache(maxsize=64)
def _chain(case: TrainCase, lamb: float, kind: str) -> tuple[list[np.ndarray], list[tuple[list, list]]]:
    """``case.chain(lamb, kind)``, computed once per grade (each train check asks for it several times)."""
    return case._chain(lamb, kind, None)


def _update(grads: list, rewards: list, delta: float, lamb: float, kind: str = "reference") -> np.ndarray:
    """One iteration's update from its samples: ``reference``: eta F^{-1} g; ``no_eta``: F^{-1} g;
    ``plain``: eta g (F, g and eta the reference's)."""
    F = ref.compute_fisher_matrix(grads, lamb)
    g = ref.compute_value_gradient(grads, rewards)
    eta = ref.compute_eta(delta, F, g)
    direction = np.linalg.solve(F, g)
    return {"reference": eta * direction, "no_eta": direction, "plain": eta * g}[kind]


def _stand_ins(case: TrainCase) -> dict:
    """The replay sampler and stand-ins for the three utils train calls: for the samples of the
    reference chain (each with its own lamb), the reference's F, g and eta; any other input goes to
    the student's own function. So train is graded alone: a wrong Fisher costs points in its part only."""
    _, served = case.chain()
    lamb = case.lamb_used()
    fisher, vgrad, eta = [], [], []
    for grads, rewards in served:
        F = ref.compute_fisher_matrix(grads, lamb)
        g = ref.compute_value_gradient(grads, rewards)
        fisher.append(({"grads": [grads], "lamb": [lamb]}, F))
        vgrad.append(({"grads": [grads], "rewards": [rewards]}, g))
        eta.append(({"delta": [case.delta], "fisher": [F], "v_grad": [g]}, ref.compute_eta(case.delta, F, g)))
    return {
        "sample": ReplaySpec(case.pools(), tuple(float(x) for x in case.direction())),
        "compute_fisher_matrix": StandInSpec(("grads", "lamb"), fisher, {"lamb": 1e-3}),
        "compute_value_gradient": StandInSpec(("grads", "rewards"), vgrad),
        "compute_eta": StandInSpec(("delta", "fisher", "v_grad"), eta),
    }


class _TrainRun:
    """One call of the student's train per case, shared by the case's two checks."""

    def __init__(self, case: TrainCase) -> None:
        self.case = case
        self.result: Any = None

    def get(self, ctx: Context) -> Any:
        if self.result is None:
            c = self.case
            self.result = ctx.call("train", *c.args(), seed=c.seed, patch=_stand_ins(c), timeout=SAMPLE_SECONDS)
        return self.result


def _train_value(run: _TrainRun, ctx: Context) -> tuple[Optional[tuple[np.ndarray, np.ndarray]], Optional[Outcome]]:
    case = run.case
    result = run.get(ctx)
    inputs = case.describe()
    if not result.ok:
        return None, call_failure(result, "train", inputs)
    value = result.value
    if not (isinstance(value, list) and len(value) == 2):
        return None, Outcome(False, f"Your train must return a pair (theta, returns); it returned "
                             f"{format_value(value)}.\nInput: {inputs}")
    theta, returns = _numbers(value[0]), _numbers(value[1])
    if theta is None or returns is None:
        return None, Outcome(False, f"Your train returned something that is not numbers.\nInput: {inputs}")
    if theta.size != NUM_FEATURES:
        return None, Outcome(False, f"Your train returned theta of shape {theta.shape}; expected ({NUM_FEATURES}, 1)."
                             f"\nInput: {inputs}")
    return (theta.reshape(NUM_FEATURES, 1), returns), None


def _reported_calls(result: Any, case: TrainCase) -> Optional[tuple[list[int], list[np.ndarray]]]:
    """The replay sampler's report, (N of each call, theta of each call as (100, 1)), or None if it
    does not read as such: it comes from the child, so it words the feedback and is never trusted."""
    report = (getattr(result, "reports", None) or {}).get("sample")
    try:
        sizes, thetas = report
        sizes = [int(n) for n in sizes]
        thetas = [np.asarray(t, dtype=float).reshape(NUM_FEATURES, 1) for t in thetas]
    except (TypeError, ValueError):
        return None
    return sizes, thetas


def _chain_detail(case: TrainCase, report: Optional[tuple[list[int], list[np.ndarray]]], path: list) -> str:
    """What the sampler saw, against the chain a correct train makes: theta_t, then theta_t + its update."""
    if report is None:
        return ""
    sizes, thetas = report
    if not thetas:
        return " Your train never called sample: get each iteration's trajectories from sample(theta, env, N)."
    notes = []
    wrong = [(t, n) for t, n in enumerate(sizes) if n != case.N]
    if wrong:
        notes.append(f"Your train called sample(theta, env, N) with N = {wrong[0][1]} in iteration {wrong[0][0]}; "
                     f"pass N = {case.N} through: sample gives back exactly N trajectories.")
    if len(thetas) != case.T:
        notes.append(f"Your train called sample {len(thetas)} times; expected T = {case.T} (once per iteration).")
    if not np.allclose(thetas[0], path[0], rtol=1e-12, atol=0):
        notes.append("The first theta your train gave sample is not np.random.rand(100, 1) (drawn first, right "
                     "after the seed): start from theta = np.random.rand(100, 1).")
    else:
        stale = [t for t in range(1, min(len(thetas), case.T)) if np.allclose(thetas[t], path[0], rtol=1e-12, atol=0)]
        if stale:
            notes.append(f"Your train gave sample the starting theta again in iteration {stale[0]}: each iteration "
                         "samples with the theta of the previous update (the grader's samples depend on it).")
    return (" " + " ".join(notes)) if notes else ""


def _check_train_update(run: _TrainRun) -> Callable[[Context], Outcome]:
    def run_check(ctx: Context) -> Outcome:
        case = run.case
        value, failure = _train_value(run, ctx)
        if failure is not None:
            return failure
        assert value is not None
        theta, _ = value
        inputs = case.describe()
        path, _ = case.chain()
        expected = path[-1] - path[0]
        got = theta - path[0]
        tol = matrix_tolerance(expected)
        if tol.close(got, expected):
            return Outcome(True)
        detail = ("theta_T - theta_0 is the sum of the T updates eta F^{-1} g, each computed from the trajectories "
                  "sample(theta_t, env, N) gave in iteration t (theta_0 = np.random.rand(100, 1) after the seed)."
                  + _chain_detail(case, _reported_calls(run.get(ctx), case), path))
        candidates = [(mistake("train_without_eta"), case.chain(kind="no_eta")[0][-1] - path[0]),
                      (mistake("train_plain_gradient"), case.chain(kind="plain")[0][-1] - path[0])]
        if case.lamb is not None and case.lamb != 1e-3:
            candidates.insert(0, (mistake("train_ignores_lamb"), case.chain(lamb=1e-3)[0][-1] - path[0]))
        candidates.append((mistake("train_stale_theta"), case.chain(thetas=[path[0]] * case.T)[0][-1] - path[0]))
        report = _reported_calls(run.get(ctx), case)
        if report is not None and not report[1]:
            candidates = [(mistake("train_inlined_sample"), got)]
        found = diagnose(got, candidates, tol)
        return mismatch("train", inputs, expected, got, tol, found, detail=detail)

    return run_check


def _mean_returns(served: list) -> np.ndarray:
    return np.array([np.mean([np.sum(r) for r in rewards]) for _, rewards in served])


def _check_train_returns(run: _TrainRun) -> Callable[[Context], Outcome]:
    def run_check(ctx: Context) -> Outcome:
        case = run.case
        value, failure = _train_value(run, ctx)
        if failure is not None:
            return failure
        assert value is not None
        _, returns = value
        expected = _mean_returns(case.chain()[1])
        tol = Tolerance(rtol=1e-5, atol=1e-8)
        if returns.shape == expected.shape and tol.close(returns, expected):
            return Outcome(True)
        # Right for the trajectories sample actually gave (the thetas and N your train passed; its updates
        # are the other check's): only when the report names T calls, each with a theta of 100 numbers.
        report = _reported_calls(run.get(ctx), case)
        if report is not None and len(report[1]) == case.T and all(n >= 1 for n in report[0]):
            own = _mean_returns(case.chain(thetas=report[1], sizes=report[0])[1])
            if returns.shape == own.shape and tol.close(returns, own):
                return Outcome(True, "Right for the trajectories sample gave your train (its updates are graded in "
                                     "the other check).")
        return mismatch("train", case.describe(), expected, returns, tol,
                        detail="The second value train returns lists, for each iteration t, the mean total reward of "
                               "the N trajectories sampled with theta_t.")

    return run_check


def _train_checks(seeds: Seeds) -> list[Check]:
    p = Seeds.public
    rng = np.random.default_rng(seeds.hidden("train"))
    cases = [
        ("N = 3, T = 2, delta = 0.02, lamb not given (1e-3)",
         TrainCase(3, 2, 0.02, None, p("train/default") % 2**32, p("train/default/data") % 2**32)),
        ("N = 4, T = 3, delta = 0.01, lamb = 0.5",
         TrainCase(4, 3, 0.01, 0.5, p("train/lamb") % 2**32, p("train/lamb/data") % 2**32)),
        ("hidden case: N = 3, T = 3",
         TrainCase(3, 3, float(rng.uniform(0.005, 0.05)), float(rng.uniform(0.05, 1.0)), int(rng.integers(2**32)),
                   int(rng.integers(2**32)), hidden=True)),
    ]
    checks = []
    for name, case in cases:
        run = _TrainRun(case)
        kind = "hidden" if case.hidden else "random"
        checks.append(Check("train", f"{name}: theta after T updates", _check_train_update(run), kind=kind))
        checks.append(Check("train", f"{name}: the mean return of each iteration", _check_train_returns(run),
                            kind=kind, weight=0.5))
    return checks


def build(seeds: Seeds) -> list[Check]:
    """The checks of ``sample`` and ``train`` (public and hidden cases)."""
    return _sample_checks(seeds) + _train_checks(seeds)
