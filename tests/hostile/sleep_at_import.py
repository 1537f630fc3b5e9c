"""Sleep forever at import."""
import time

time.sleep(10**7)


def kl_divergence(p, q):
    return 0.0


kl_bernoulli = kl_gaussian = policy_kl = kl_divergence
