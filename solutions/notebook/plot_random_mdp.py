# ruff: noqa: F821
import matplotlib.pyplot as plt

mdp_r, policy_r = random_mdp(np.random.default_rng(5), 5, 3)
theta_start = np.zeros(policy_r.num_features)
iterations = 20
curves = {
    "NPG, delta = 0.005": natural_policy_gradient(mdp_r, policy_r, theta_start, 0.005, iterations),
    "NPG, delta = 0.01": natural_policy_gradient(mdp_r, policy_r, theta_start, 0.01, iterations),
    "gradient ascent, step 1": gradient_ascent(mdp_r, policy_r, theta_start, 1.0, iterations),
}
V = np.zeros(mdp_r.num_states)
for _ in range(2000):  # value iteration for the optimal value
    V = np.max(mdp_r.r + mdp_r.gamma * mdp_r.P @ V, axis=1)

fig, ax = plt.subplots(figsize=(7, 4))
for label, thetas in curves.items():
    ax.plot([objective(mdp_r, policy_r, t) for t in thetas], label=label)
ax.axhline(float(mdp_r.mu0 @ V), color="k", ls="--", lw=1, label="optimal J")
ax.set(xlabel="iteration", ylabel="J(theta)", title="random MDP (S = 5, A = 3, tabular softmax)")
ax.legend()
fig.tight_layout()
plt.show()
