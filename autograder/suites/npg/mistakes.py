"""The catalogue of known mistakes for the NPG homework.

Each check computes, next to the reference value, what each plausible mistake would have given
on the same input; when a wrong answer matches one, the feedback names it and says what the maths
wants instead.
"""

from __future__ import annotations

from ...engine.compare import Mistake

_ENTRIES = [
    # KL divergences
    ("reversed_kl", "reversed KL",
     "You computed KL(q || p). KL(p || q) = sum_x p(x) log(p(x) / q(x)): the expectation is over p, "
     "the first argument."),
    ("log_base_2", "log base 2", "Use the natural log (np.log), not np.log2: KL is measured in nats here."),
    ("no_zero_log_zero", "no 0 log 0 = 0 convention",
     "Terms with p(x) = 0 contribute 0. Computing 0 * log(0 / q) gives nan; guard them, e.g. "
     "np.where(p > 0, p * (np.log(p) - np.log(q)), 0.0)."),
    ("gaussian_missing_half", "the slide's missing 1/2 (lecture erratum 1)",
     "KL(N(mu1, s^2 I) || N(mu2, s^2 I)) = ||mu1 - mu2||^2 / (2 s^2); the slide drops the 1/2."),
    ("sigma_not_squared", "sigma instead of sigma^2",
     "sigma is the standard deviation: divide by 2 sigma^2, not 2 sigma."),
    ("kl_weighted_by_new_policy", "per-state KL weighted by pi_theta (lecture erratum 3)",
     "The policy KL is KL(pi_theta0(.|s) || pi_theta(.|s)), an expectation over pi_theta0; the "
     "worked example on the slide weights by pi_theta by mistake."),
    ("weighted_by_d_theta", "weighting by d^theta instead of d^theta0",
     "d_KL(theta0, theta) averages over the OLD policy's discounted state distribution d^{theta0}."),
    ("uniform_state_weights", "uniform state weighting instead of d",
     "States are weighted by the discounted state distribution d(s), not equally."),
    ("mu0_state_weights", "mu0 weighting instead of d",
     "States are weighted by the discounted state distribution d(s) = (1 - gamma) sum_t gamma^t "
     "Pr(s_t = s), not by the initial distribution mu0."),
    ("kl_from_underflowing_probs", "probabilities that underflow to 0 (inf instead of a finite KL)",
     "At |theta| ~ 1e3, pi_theta(a|s) = exp(logit - logsumexp) underflows to 0 where pi_theta0(a|s) > 0, so "
     "KL(pi_theta0 || pi_theta) from probabilities is inf, yet log pi_theta(a|s) is finite (about -1e3) and so "
     "is the KL. Compute log pi with a log-softmax (z - max z - log sum exp(z - max z)) and sum "
     "pi_theta0 (log pi_theta0 - log pi_theta)."),
    ("missing_one_minus_gamma", "missing (1 - gamma)",
     "d(s) = (1 - gamma) sum_t gamma^t Pr(s_t = s) is normalised (it sums to 1): the factor "
     "(1 - gamma) is missing."),
    # Score and Fisher
    ("score_without_baseline", "the score without its baseline term",
     "For a log-linear policy grad log pi(a|s) = phi(s, a) - sum_a' pi(a'|s) phi(s, a'): subtract "
     "the policy-weighted mean feature."),
    ("score_nonzero_masked", "a non-zero score for a disallowed action",
     "Actions that are not allowed are never taken: their score is defined as 0 here."),
    ("fisher_not_weighted_by_pi", "Fisher not weighted by pi",
     "F = sum_s d(s) sum_a pi(a|s) psi psi^T: each action's outer product is weighted by pi(a|s)."),
    ("fisher_centred", "a centred sampled Fisher",
     "The sampled Fisher is the mean of psi psi^T; do not subtract the sample mean of psi (the score "
     "already has mean zero under pi)."),
    ("fisher_n_minus_1", "n - 1 instead of n",
     "The sampled Fisher divides by n, the number of samples, not n - 1."),
    # Sampling
    ("sampler_t_starts_at_1", "t starting at 1",
     "T ~ Geometric(1 - gamma) on {0, 1, 2, ...}: Pr(T = t) = (1 - gamma) gamma^t includes t = 0, "
     "the initial state."),
    ("sampler_mu0_only", "states drawn from mu0 (no rollout)",
     "States come from the discounted distribution d^theta: roll out the policy for a random "
     "Geometric(1 - gamma) number of steps."),
    ("sampler_no_discount", "missing discount (a fixed or uniform horizon)",
     "Stop each rollout at T ~ Geometric(1 - gamma) (or draw from d^theta exactly); a fixed horizon "
     "or a uniform t does not give d^theta."),
    ("sampler_wrong_horizon", "the wrong stopping time (T ~ Geometric(gamma))",
     "Stop at T ~ Geometric(1 - gamma): Pr(T = t) = (1 - gamma) gamma^t, mean gamma / (1 - gamma) steps. "
     "numpy's rng.geometric(p) counts trials until the first success (values 1, 2, ...): use "
     "rng.geometric(1 - gamma) - 1."),
    ("sampler_other_gamma", "a discount other than mdp.gamma",
     "Stop at T ~ Geometric(1 - gamma) with the MDP's own discount, mdp.gamma: a global gamma from another "
     "cell, or a fixed 0.9, gives the discounted distribution of another MDP."),
    ("sampler_uniform_actions", "actions not drawn from pi_theta",
     "Draw a ~ pi_theta(.|s) at the sampled state."),
    # NPG direction and step
    ("plain_gradient", "g instead of F^+ g",
     "The natural gradient direction is F^+ g (the Fisher pseudo-inverse times g), not g."),
    ("inv_on_singular", "inv instead of pinv on a singular F",
     "F is singular for tabular softmax; np.linalg.inv/solve fail or blow up there. Use the "
     "pseudo-inverse (np.linalg.pinv, or lstsq)."),
    ("ignores_damping", "ignoring damping",
     "With damping > 0 the direction is (F + damping I)^{-1} g."),
    ("trpo_two_delta", "TRPO's 2*delta",
     "This course's trust region is D^T F D <= delta, so D = sqrt(delta / (g^T F^+ g)) F^+ g. TRPO "
     "writes 1/2 D^T F D <= delta and gets sqrt(2 delta / ...): not this convention."),
    ("missing_sqrt", "a missing square root",
     "The step size is sqrt(delta / (g^T F^+ g)); without the square root D^T F D != delta."),
    ("small_gradient_no_step", "no step for a small but non-zero gradient",
     "D = 0 only when g^T F^+ g = 0. A guard such as np.allclose(g, 0) or norm(g) < 1e-8 also stops for a "
     "small gradient, yet the step sqrt(delta / (g^T F^+ g)) F^+ g does not depend on the size of g "
     "(scaling g by any c > 0 gives the same step): test g^T F^+ g > 0 instead."),
    ("euclidean_norm", "the Euclidean norm instead of the F-norm",
     "Scale F^+ g so that D^T F D = delta (the Fisher norm), not so that ||D||^2 = delta or with g^T g."),
    ("fixed_ridge", "a fixed ridge (F + eps I) instead of F^+",
     "Adding eps I to F 'for stability' changes the step once F's eigenvalues are no longer large against eps "
     "(F shrinks as the policy becomes deterministic): F^+ g is then no longer the direction and D^T F D falls "
     "short of delta. Use the pseudo-inverse (np.linalg.pinv or lstsq) with no added ridge."),
    ("no_zero_guard", "no guard for a zero gradient",
     "When g^T F^+ g = 0 (zero gradient) the step is D = 0; dividing by it gives nan."),
    ("steepest_descent", "steepest descent instead of CG",
     "Conjugate gradient updates the search direction p = r + (r_new^T r_new / r^T r) p; using p = r "
     "is steepest descent and converges much more slowly."),
    ("fisher_computed_once", "F computed once instead of every iteration",
     "Recompute F(theta_i) (and grad J(theta_i)) at every iterate."),
    ("gradient_computed_once", "the gradient computed once instead of every iteration",
     "Recompute grad J(theta_i) at every iterate."),
    ("trajectory_without_theta0", "a trajectory without theta0",
     "Return iterations + 1 rows: theta_0 first, then each update."),
]

MISTAKES: dict[str, Mistake] = {key: Mistake(key, title, hint) for key, title, hint in _ENTRIES}


def mistake(key: str) -> Mistake:
    """The catalogue entry ``key`` (KeyError for a typo in the suite)."""
    return MISTAKES[key]
