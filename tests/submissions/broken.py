"""Broken submissions: each must give a valid Gradescope result with a clear message for the
broken part, while every other part keeps its points."""

from __future__ import annotations

from . import Spec

GAUSS_DEF = "def kl_gaussian(mu1: ArrayLike, mu2: ArrayLike, sigma: ArrayLike) -> np.ndarray:\n"
GAUSS = "return squared_distance / (2.0 * sigma**2)"
EST = "return psi.T @ psi / len(states)"
CG = "    return x\n    # END SOLUTION"
KL_PARTS = ("kl_divergence", "kl_bernoulli", "kl_gaussian", "policy_kl")
NPG_PARTS = ("sample_state_actions", "npg_direction", "trust_region_step", "conjugate_gradient",
             "natural_policy_gradient")

BROKEN = (
    Spec("syntax-error", "kl.py does not parse",
         (("kl.py", "def kl_gaussian(", "def kl_gaussian(:"),),
         lose={p: () for p in KL_PARTS}, mention={"kl_divergence": ("could not be imported", "SyntaxError")}),
    Spec("import-error", "npg.py imports a module that does not exist",
         (("npg.py", "import numpy as np\n", "import numpy as np\nimport numpy_extras_that_do_not_exist\n"),),
         lose={p: () for p in NPG_PARTS},
         # one line naming the module and the environment (autograder/environment.py), not a traceback
         mention={"npg_direction": ("could not be imported",
                                    "numpy_extras_that_do_not_exist is not available on the grading server")}),
    Spec("missing-function", "kl.py has no kl_gaussian",
         (("kl.py", GAUSS_DEF, GAUSS_DEF.replace("kl_gaussian", "kl_gaussian_renamed")),),
         lose={"kl_gaussian": ()}, mention={"kl_gaussian": ("was not found", "kl_gaussian is not defined")}),
    Spec("returns-string", "kl_gaussian returns a string",
         (("kl.py", GAUSS, "return str(squared_distance / (2.0 * sigma**2))"),),
         lose={"kl_gaussian": ()}, mention={"kl_gaussian": ("not a number or a numeric array", "str")}),
    Spec("returns-dict", "fisher_estimate returns a dict",
         (("fisher.py", EST, "return {'F': psi.T @ psi / len(states)}"),),
         lose={"fisher_estimate": ()}, mention={"fisher_estimate": ("not a number or a numeric array", "dict")}),
    Spec("returns-none", "conjugate_gradient forgets to return",
         (("npg.py", CG, "    x = x  # forgot the return\n    # END SOLUTION"),),
         lose={"conjugate_gradient": ()}, mention={"conjugate_gradient": ("returned None", "return statement")}),
    Spec("wrong-shape", "conjugate_gradient returns a column (k, 1)",
         (("npg.py", CG, "    return x[:, None]\n    # END SOLUTION"),),
         lose={"conjugate_gradient": ()}, mention={"conjugate_gradient": ("returned shape", "expected shape")}),
    Spec("nan", "kl_gaussian returns NaN",
         (("kl.py", GAUSS, "return squared_distance * np.nan"),),
         lose={"kl_gaussian": ()}, mention={"kl_gaussian": ("gave a wrong value", "nan")}),
    Spec("exception", "fisher_estimate raises",
         (("fisher.py", EST, "raise RuntimeError('something went wrong here')"),),
         lose={"fisher_estimate": ()},
         mention={"fisher_estimate": ("raised an exception", "RuntimeError: something went wrong here")}),
    Spec("infinite-loop", "kl_gaussian never returns",
         (("kl.py", GAUSS, "while True:\n        pass"),),
         lose={"kl_gaussian": ()}, mention={"kl_gaussian": ("did not finish in time",)}, call_seconds=1.0),
    Spec("huge-output", "kl_gaussian prints 50 MB (and is correct)",
         (("kl.py", GAUSS, "print('x' * 50_000_000)\n    " + GAUSS),)),
    Spec("os-exit", "fisher_estimate calls os._exit(3)",
         (("fisher.py", EST, "import os\n\n    os._exit(3)"),),
         lose={"fisher_estimate": ()}, mention={"fisher_estimate": ("crashed", "os._exit")}),
    Spec("sys-exit-at-import", "npg.py calls sys.exit() when imported",
         (("npg.py", "import numpy as np\n", "import sys\n\nimport numpy as np\n\nsys.exit(0)\n"),),
         lose={p: () for p in NPG_PARTS}, mention={"npg_direction": ("could not be imported", "SystemExit")}),
    Spec("memory-hog", "fisher_estimate allocates 8 GB",
         (("fisher.py", EST, "return np.ones((1 << 30,)) @ np.ones((1 << 30,))"),),
         lose={"fisher_estimate": ()}, mention={"fisher_estimate": ("MemoryError",)}),
)
