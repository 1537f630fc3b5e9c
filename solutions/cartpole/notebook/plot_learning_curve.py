# ruff: noqa: F821
import matplotlib.pyplot as plt

np.random.seed(1234)
theta, episode_rewards = train(N=100, T=20, delta=1e-2)

fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(episode_rewards, marker=".")
ax.axhline(200, color="gray", linestyle=":", label="maximum (200 steps)")
ax.set(xlabel="iteration", ylabel="average return", title="NPG on CartPole-v0 (N = 100, delta = 0.01)")
ax.legend()
fig.tight_layout()
plt.show()
