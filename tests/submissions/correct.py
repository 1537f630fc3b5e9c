"""Correct-but-different submissions: each must get full marks. If one loses points, the suite is
wrong (a too tight tolerance, a representation compared instead of the maths), not the student."""

from __future__ import annotations

from . import Spec

DIFFERENT = (
    Spec("reference", "the reference solution itself"),
    Spec("loops", "every function with Python loops instead of vectorised numpy", folder="different/loops"),
    Spec("scipy", "scipy.special.rel_entr for KL, scipy.linalg (pinvh, lstsq, solve) for the NPG direction",
         folder="different/scipy"),
    Spec("float32", "single precision everywhere, numpy's default pinv cut-off", folder="different/float32"),
    Spec("rollout-sampler", "rollouts stopped at T ~ Geometric(1 - gamma), vectorised, instead of exact d",
         folder="different/rollout"),
    Spec("lstsq", "np.linalg.lstsq instead of pinv", folder="different/lstsq"),
    Spec("null-space", "a solution of F v = g with a null-space component (not the minimum-norm one)",
         folder="different/nullspace"),
    Spec("cg-relative-stop", "CG stops on the relative residual norm ||r|| <= tol ||g||",
         folder="different/cg_stop"),
    Spec("eigh-pinv", "the pseudo-inverse from np.linalg.eigh", folder="different/eigh"),
    Spec("npg-own-helpers", "NPG with its own gradient (from its score) and its own step, via npg_direction",
         folder="different/npg_helpers"),
    Spec("pinv-default", "np.linalg.pinv(F) with numpy's default cut-off", folder="different/pinv_default"),
)
