"""Make the grader's output huge: every call raises a 3 MB exception (results.json must stay small)."""


def _huge(*args, **kwargs):
    raise ValueError("x" * 3_000_000)


kl_divergence = kl_bernoulli = kl_gaussian = policy_kl = _huge
