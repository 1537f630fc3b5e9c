import numpy as np
import utils
from utils import extract_features, compute_fisher_matrix, compute_value_gradient

NUM_FEATURES = 100


def sample(theta, env, N):
    """No policy at all: always action 0, scores all zero."""
    A = int(env.action_space.n)
    G, R = [], []
    counts = np.zeros(A)
    for _ in range(int(N)):
        s, _ = env.reset()
        g, r = [], []
        for _ in range(200):
            s, rew, term, trunc, _ = env.step(0)
            counts[0] += 1
            g.append(np.zeros((np.shape(theta)[0], 1)))
            r.append(float(rew))
            if term or trunc:
                break
        G.append(g); R.append(r)
    utils.STATE["counts"] = counts
    return G, R


def train(N, T, delta, lamb=1e-3):
    """No update at all."""
    utils.STATE["train"] = True
    theta = np.random.rand(NUM_FEATURES, 1)
    out = []
    for _ in range(int(T)):
        grads, rewards = sample(theta, None, N)
        out.append(float(np.mean([np.sum(r) for r in rewards])))
    return theta, out
