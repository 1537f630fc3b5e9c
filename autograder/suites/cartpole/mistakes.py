"""The catalogue of known mistakes for the CartPole NPG assignment.

One entry per wrong student version in ``tests/fixtures/cartpole_mistakes/`` (same key as the
file), plus a few more found by writing submissions the way students do. Each check computes what
the plausible mistakes give on its input; when a wrong answer matches one, the feedback names it
(by its title, never by its key) and says what the maths wants instead.
"""

from __future__ import annotations

from ...engine.compare import Mistake

_ENTRIES = [
    # compute_softmax / compute_action_distribution
    ("softmax_builtin_max", "Python's built-in max or sum on an array",
     "max(z) and sum(z) on a (1, |A|) row return the row itself (they iterate over the first axis), so "
     "exp(z - max(z)) / sum(...) is all ones. Use np.max(z, axis=axis, keepdims=True) and "
     "np.sum(e, axis=axis, keepdims=True)."),
    ("softmax_ignores_axis", "the softmax taken over another axis than `axis`",
     "Normalise over the axis you are given: np.max(z, axis=axis, keepdims=True) and "
     "np.sum(e, axis=axis, keepdims=True). On one (1, |A|) row the last axis happens to be right; on "
     "several rows with axis=0 it is not."),
    ("softmax_no_max_shift", "no max-subtraction (exp overflows)",
     "exp(1000) is inf in float64, and inf / inf is nan. Subtract the max along the axis first: "
     "softmax(z) = exp(z - max z) / sum exp(z - max z) is the same function and never overflows."),
    ("action_distribution_wrong_axis", "every probability 1 (the distribution normalised per column)",
     "theta^T phis has shape (1, |A|): one row, one column per action. Normalise over axis 1 (the "
     "actions): compute_softmax(logits, axis=1). Over axis 0 each column is normalised alone and every "
     "probability is 1; a softmax that uses Python's max or sum gives the same ones."),
    ("score_without_expectation", "the score without its - sum_a' pi(a'|s) phi(s, a') term",
     "grad log pi(a|s) = phi(s, a) - sum_a' pi(a'|s) phi(s, a'): subtract the policy-weighted mean "
     "feature, phis @ pi.T (shape (d, 1))."),
    ("score_sign_flipped", "the score with the wrong sign",
     "grad log pi(a|s) = phi(s, a) - sum_a' pi(a'|s) phi(s, a'), not the mean feature minus phi(s, a)."),
    ("score_uniform_expectation", "the mean feature weighted uniformly instead of by pi",
     "The expectation is under the policy: sum_a' pi(a'|s) phi(s, a'), not the plain average of the columns."),
    # compute_fisher_matrix
    ("fisher_per_step", "the Fisher averaged over all steps instead of per trajectory",
     "F = (1/N) sum_i (1/H_i) sum_h g g^T + lamb I: average within each trajectory, then over the N "
     "trajectories. Dividing the sum over all steps by sum_i H_i weighs long trajectories more (the two "
     "agree only when every trajectory has the same length)."),
    ("fisher_ignores_lamb", "the ridge lamb not used (or a fixed one)",
     "Add lamb * I with the lamb you are given: compute_fisher_matrix(grads, lamb) must use its argument."),
    ("fisher_no_mean_over_trajectories", "the Fisher summed over trajectories (no 1/N)",
     "Average the N per-trajectory matrices: F = (1/N) sum_i (1/H_i) sum_h g g^T + lamb I."),
    ("fisher_no_horizon", "the Fisher without the 1/H_i of each trajectory",
     "Each trajectory contributes its mean (1/H_i) sum_h g g^T, not its sum."),
    # compute_value_gradient
    ("value_gradient_no_horizon", "the value gradient without the 1/H_i of each trajectory",
     "grad = (1/N) sum_i (1/H_i) sum_h g_h (sum_{t>=h} r_t - b): divide each trajectory's sum by its length H_i."),
    ("value_gradient_total_return", "the total return at every step instead of the reward-to-go",
     "Weigh g_h by sum_{t>=h} r_t (the rewards from step h on), not by the trajectory's total reward: "
     "np.cumsum(r[::-1])[::-1] gives all of them."),
    ("value_gradient_no_baseline", "no baseline",
     "Subtract the baseline b = (1/N) sum_i sum_t r_{i,t} (the mean total reward of the N trajectories) "
     "from every reward-to-go."),
    ("value_gradient_future_only", "the reward-to-go without the current reward",
     "The reward-to-go of step h includes r_h: sum_{t>=h} r_t, not sum_{t>h} r_t."),
    ("value_gradient_per_step_mean", "the value gradient averaged over all steps instead of per trajectory",
     "grad = (1/N) sum_i (1/H_i) sum_h ...: average within each trajectory, then over trajectories."),
    # compute_eta
    ("eta_fisher_not_inverse", "g^T F g instead of g^T F^{-1} g in the step size",
     "eta = sqrt(delta / (g^T F^{-1} g + 1e-6)): the quadratic form uses the inverse Fisher matrix "
     "(np.linalg.solve(fisher, v_grad)), the same F^{-1} g the update uses."),
    ("eta_no_guard", "no guard in eta's denominator",
     "eta = sqrt(delta / (g^T F^{-1} g + 1e-6)): with a zero gradient (every trajectory equally good) "
     "g^T F^{-1} g = 0, and without the + 1e-6 eta is infinite or the division fails."),
    ("sample_reseeds", "numpy reseeded inside sample",
     "sample draws from numpy's global generator as it finds it: np.random.seed inside sample (per "
     "trajectory or per call) makes every call draw the same actions, whatever seed the caller set."),
    ("eta_missing_sqrt", "a missing square root",
     "eta = sqrt(delta / (g^T F^{-1} g + 1e-6)), so that the step D = eta F^{-1} g has D^T F D = delta."),
    ("eta_plain_norm", "g^T g instead of g^T F^{-1} g in the step size",
     "The trust region is measured with the Fisher matrix: use g^T F^{-1} g, not ||g||^2."),
    ("eta_two_delta", "TRPO's 2 delta",
     "This assignment's trust region is D^T F D <= delta, so eta = sqrt(delta / (g^T F^{-1} g + 1e-6)); "
     "TRPO's 1/2 D^T F D <= delta gives sqrt(2 delta / ...)."),
    # sample
    ("sample_post_step_score", "the score taken at the next state",
     "Compute grad log pi(a_h|s_h) at the state the action was taken in, before env.step(a_h) returns the next state."),
    ("sample_ignores_truncated", "trajectories that go on after `truncated`",
     "env.step returns (state, reward, terminated, truncated, info): stop the trajectory when "
     "terminated or truncated is True. On CartPole-v0 the 200-step cap hides this, not in general."),
    ("sample_greedy_action", "the most likely action instead of a random draw",
     "Draw the action from pi: np.random.choice(|A|, p=pi.ravel()). np.argmax(pi) always takes the same "
     "action and the policy gradient estimate is then biased."),
    ("sample_uniform_actions", "actions drawn uniformly instead of from pi",
     "Draw a ~ pi_theta(.|s): np.random.choice(|A|, p=pi.ravel()) with pi = compute_action_distribution(theta, phis)."),
    ("sample_raw_observations", "the raw observation used as the features",
     "The policy acts on the features phis = extract_features(state, env.action_space.n), shape (100, |A|), "
     "not on the 4 numbers of the observation: theta has shape (100, 1)."),
    ("sample_no_step_cap", "no cap of 200 steps per trajectory",
     "A trajectory has at most 200 steps: stop after 200 steps even if the episode has not ended."),
    # train
    ("train_ignores_lamb", "train does not pass lamb on",
     "Call compute_fisher_matrix(grads, lamb) with train's own lamb: the default 1e-3 is used otherwise."),
    ("train_without_eta", "the update without the step size eta",
     "theta <- theta + eta F^{-1} g with eta = compute_eta(delta, F, g): without eta the step ignores delta."),
    ("train_plain_gradient", "the update along g instead of F^{-1} g",
     "The natural gradient step is eta F^{-1} g (np.linalg.solve(F, g)), not eta g."),
    ("train_stale_theta", "sample called with an old theta",
     "Each iteration samples with the current theta: sample(theta, env, N) after the previous update, not with "
     "theta_0 or a copy taken before the loop."),
    ("train_inlined_sample", "train does not call sample",
     "Get each iteration's trajectories from sample(theta, env, N): the grader replaces sample with its own "
     "trajectories to check each update of train exactly (an inlined rollout loop cannot be checked)."),
]

MISTAKES: dict[str, Mistake] = {key: Mistake(key, title, hint) for key, title, hint in _ENTRIES}


def mistake(key: str) -> Mistake:
    """The catalogue entry ``key`` (KeyError for a typo in the suite)."""
    return MISTAKES[key]
