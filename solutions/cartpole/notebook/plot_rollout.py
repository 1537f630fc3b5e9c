# ruff: noqa: F821
import matplotlib.pyplot as plt

env = make_env()
state, _ = env.reset(seed=0)
states = [state]
for _ in range(MAX_STEPS):
    pi = compute_action_distribution(theta, extract_features(state, env.action_space.n))
    state, _, terminated, truncated, _ = env.step(int(np.random.choice(env.action_space.n, p=pi.ravel())))
    states.append(state)
    if terminated or truncated:
        break
states = np.array(states)

fig, (ax_cart, ax_trace) = plt.subplots(2, 1, figsize=(9, 6), gridspec_kw={"height_ratios": [1.2, 1]})
pole = 1.0  # drawn length of the pole
frames = list(range(0, len(states), 20)) + [len(states) - 1]
for k, step in enumerate(frames):
    x, _, angle, _ = states[step]
    shade = plt.cm.Blues(0.3 + 0.7 * k / max(1, len(frames) - 1))
    ax_cart.add_patch(plt.Rectangle((x - 0.25, -0.15), 0.5, 0.3, color=shade))
    ax_cart.plot([x, x + pole * np.sin(angle)], [0.15, 0.15 + pole * np.cos(angle)], color=shade, linewidth=3)
ax_cart.axhline(-0.15, color="black", linewidth=1)
ax_cart.set(xlim=(-2.4, 2.4), ylim=(-0.4, 1.3), aspect="equal", yticks=[],
            title=f"cart and pole every 20 steps ({len(states) - 1} steps in all)")
ax_trace.plot(states[:, 0], label="cart position x")
ax_trace.plot(np.degrees(states[:, 2]), label="pole angle (degrees)")
ax_trace.set(xlabel="step")
ax_trace.legend()
fig.tight_layout()
plt.show()
