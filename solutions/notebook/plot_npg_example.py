# ruff: noqa: F821
import matplotlib.pyplot as plt

mdp_ex, policy_ex = example_mdp()
iterations = 10
thetas_npg = natural_policy_gradient(mdp_ex, policy_ex, np.array([0.0]), 0.01, iterations)
thetas_ga = gradient_ascent(mdp_ex, policy_ex, np.array([0.0]), 20.0, iterations)

fig, axes = plt.subplots(1, 3, figsize=(14, 4))
for label, thetas in (("NPG, delta = 0.01", thetas_npg), ("gradient ascent, step 20", thetas_ga)):
    J = [objective(mdp_ex, policy_ex, t) for t in thetas]
    axes[0].plot(thetas[:, 0], marker=".", label=label)
    axes[1].plot(J, marker=".", label=label)
    axes[2].plot(np.abs(np.diff(thetas[:, 0])), marker=".", label=label)
axes[0].set(xlabel="iteration", ylabel="theta", yscale="symlog", title="theta (the optimum is -inf)")
axes[1].set(xlabel="iteration", ylabel="J(theta)", title="objective J(theta)")
axes[2].set(xlabel="iteration", ylabel="|theta_{i+1} - theta_i|", yscale="log", title="step size")
for ax in axes:
    ax.legend()
fig.tight_layout()
plt.show()
