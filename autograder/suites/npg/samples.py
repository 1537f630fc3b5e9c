"""The NPG homework's sample submissions for ``autograder demo`` and the tests: the reference's
student files with text patches that introduce one classic mistake (see
:mod:`autograder.demo.samples`)."""

from __future__ import annotations

import dataclasses

from ...demo.samples import Sample
from ...registry import get

STUDENT_FILES = tuple(get("npg").files)  # from the manifest: ("kl.py", "fisher.py", "npg.py")

SAMPLES = (
    Sample("correct", "the reference solution as kl.py, fisher.py, npg.py"),
    Sample("notebook", "the solution notebook (magics, plots and check cells included)", notebook=True),
    Sample("reversed-kl", "kl_divergence computes KL(q || p)",
           (("kl.py", "p, q = np.broadcast_arrays(p, q)", "p, q = np.broadcast_arrays(q, p)"),),
           expect_mistakes=("reversed_kl",)),
    Sample("slide-gaussian", "kl_gaussian copies the slide (no 1/2)",
           (("kl.py", "return squared_distance / (2.0 * sigma**2)", "return squared_distance / sigma**2"),),
           expect_mistakes=("gaussian_missing_half",)),
    Sample("no-baseline-score", "score_function returns phi (no baseline)",
           (("fisher.py", "psi = policy.phi - mean_phi[:, None, :]", "psi = policy.phi + 0.0 * mean_phi[:, None, :]"),),
           expect_mistakes=("score_without_baseline",)),
    Sample("mu0-sampler", "sample_state_actions draws states from mu0",
           (("npg.py", "d = discounted_state_distribution(mdp, pi)\n    # Inverse", "d = mdp.mu0\n    # Inverse"),),
           expect_mistakes=("sampler_mu0_only",)),
    Sample("inv-not-pinv", "npg_direction uses inv instead of pinv",
           (("npg.py", "return np.linalg.pinv(F, rcond=1e-10, hermitian=True) @ g", "return np.linalg.inv(F) @ g"),),
           expect_mistakes=("inv_on_singular",)),
    Sample("trpo-step", "trust_region_step uses TRPO's 2 delta",
           (("npg.py", "return np.sqrt(delta / g_F_g) * v", "return np.sqrt(2.0 * delta / g_F_g) * v"),),
           expect_mistakes=("trpo_two_delta",)),
    Sample("syntax-error", "kl.py does not parse; fisher.py and npg.py still earn their points",
           (("kl.py", "def kl_gaussian(", "def kl_gaussian(:"),)),
)
SAMPLES = tuple(dataclasses.replace(s, assignment="npg") for s in SAMPLES)
