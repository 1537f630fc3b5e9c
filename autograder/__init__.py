"""The NPG homework autograder: generate assignments, grade submissions safely, build bundles.

The public API, one function per CLI verb (imported lazily, so ``autograder grade`` stays fast)::

    from autograder import grade_submission, run_batch, build_bundle, run_audit, generate_assignment

(``autograder.grade`` is the subpackage of the ``grade`` verb; its function is ``autograder.grade.grade``.)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# name -> module that defines it
_EXPORTS = {
    "run_batch": "autograder.batch",
    "build_bundle": "autograder.bundle",
    "run_audit": "autograder.audit",
    "generate_assignment": "autograder.assign",
    "check_assignment": "autograder.assign",
    "run_public_checks": "autograder.check",
    "run_demo": "autograder.demo",
    "load_submission": "autograder.engine.loader",
    "grade_submission": "autograder.engine.runner",
    "gradescope_results": "autograder.engine.results",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'autograder' has no attribute {name!r}")
