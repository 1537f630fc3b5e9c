"""Sample submissions for ``autograder demo`` and the tests, made from the reference.

A sample is the reference's student files (relative imports made absolute, as in a student's
folder) with text patches that introduce one classic mistake; the notebook sample is the
instructors' solution notebook. Making them from the reference keeps them in step with it: a
patch whose text is no longer found fails loudly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

STUDENT_FILES = ("kl.py", "fisher.py", "npg.py")


@dataclass(frozen=True)
class Sample:
    name: str
    description: str
    patches: tuple[tuple[str, str, str], ...] = ()  # (file, old text, new text)
    notebook: bool = False
    expect_mistakes: tuple[str, ...] = field(default=())  # catalogue keys the grade should name


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


def reference_folder() -> Path:
    import solutions

    return Path(solutions.__file__).parent


def student_source(text: str) -> str:
    """A reference module as a student's file: ``from .mdp import`` becomes ``from mdp import``."""
    return re.sub(r"^from \.(\w+) import", r"from \1 import", text, flags=re.MULTILINE)


def materialise(sample: Sample, dest: Path) -> Path:
    """Write ``sample`` into the folder ``dest`` (created) and return the path to grade."""
    dest.mkdir(parents=True, exist_ok=True)
    ref = reference_folder()
    if sample.notebook:
        notebook = ref / "npg_solution.ipynb"
        if not notebook.exists():
            raise FileNotFoundError(f"{notebook} is missing; run `autograder assign` to build it")
        import nbformat

        nb = nbformat.read(notebook, as_version=4)
        # What students' notebooks often hold: magics and shell lines, which the grader drops.
        magics = "%matplotlib inline\n!pip install --quiet numpy\nimport numpy as np"
        nb.cells.insert(1, nbformat.v4.new_code_cell(magics))
        target = dest / "npg.ipynb"
        target.write_text(nbformat.writes(nb), encoding="utf-8")
        return target
    files = {name: student_source((ref / name).read_text(encoding="utf-8")) for name in STUDENT_FILES}
    for name, old, new in sample.patches:
        if old not in files[name]:
            raise RuntimeError(f"sample {sample.name!r}: {old!r} no longer appears in {name}; update the sample")
        files[name] = files[name].replace(old, new, 1)
    for name, text in files.items():
        (dest / name).write_text(text, encoding="utf-8")
    return dest
