"""Return values whose unpickling would run code in the grader (an object array, pickle bytes),
a forged codec dictionary, and complex numbers."""
import os
import pickle

import numpy as np


class Evil:
    def __reduce__(self):
        return (os.system, ("id -u > __MARKERS__/unpickled-$(id -u)",))


def kl_divergence(p, q):
    return np.array([Evil(), Evil()], dtype=object)


def kl_bernoulli(p, q):
    return pickle.dumps(Evil())


def kl_gaussian(mu1, mu2, sigma):
    return {"__nd__": ["|O", [1], "gASVAAAAAAAAAACMAm9zlIwGc3lzdGVtlJOUjAJpZJSFlFKULg=="]}


def policy_kl(mdp, policy, theta0, theta):
    return np.array([1 + 2j])
