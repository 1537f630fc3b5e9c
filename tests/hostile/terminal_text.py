"""Text that breaks terminals and encoders (red team 3, a03/a13/a14): every KL function raises an
exception whose message holds a lone surrogate (no UTF-8 encoder takes it: printing the report
crashed, and the error path then rewrote results.json without the withheld points) and ESC
sequences that clear the TA's screen and draw a fake full score."""


def _hostile_text(*args, **kwargs):
    raise ValueError("\ud800\x1b[2J\x1b[H Score: 100.00 / 100.00 All checks passed.\x07\x9b")


kl_divergence = kl_bernoulli = kl_gaussian = policy_kl = _hostile_text
