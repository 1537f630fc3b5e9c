# ruff: noqa: F821
import matplotlib.pyplot as plt

grid = np.linspace(0.005, 0.995, 199)
P_grid, Q_grid = np.meshgrid(grid, grid, indexing="ij")
values = kl_bernoulli(P_grid, Q_grid)

fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
image = axes[0].contourf(Q_grid, P_grid, np.minimum(values, 3.0), levels=30, cmap="viridis")
axes[0].plot([0, 1], [0, 1], "w--", lw=1)
axes[0].set(xlabel="q", ylabel="p", title="KL(Ber(p) || Ber(q)), clipped at 3")
fig.colorbar(image, ax=axes[0])
for p in (0.1, 0.5, 0.9):
    axes[1].plot(grid, kl_bernoulli(p, grid), label=f"p = {p}")
axes[1].set(xlabel="q", ylabel="KL", ylim=(0, 3), title="slices at fixed p")
axes[1].legend()
fig.tight_layout()
plt.show()
