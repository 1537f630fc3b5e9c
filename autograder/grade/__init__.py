"""``autograder grade``: grade one submission and write Gradescope results."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence, Union

from ..engine.isolation import Isolation
from ..engine.loader import load_submission
from ..engine.results import gradescope_results
from ..engine.runner import DEFAULT_SUITE, GradeReport, grade_submission
from ..engine.sandbox import Limits
from ..engine.secret import resolve_secret
from ..fileio import write_json_atomic

__all__ = ["grade", "GradeReport"]

PathLike = Union[str, Path]


def grade(
    submission: Union[PathLike, Sequence[PathLike]],
    output: Optional[PathLike] = None,
    *,
    secret_file: Optional[PathLike] = None,
    secret: Optional[bytes] = None,
    identity: Optional[str] = None,
    suite: str = DEFAULT_SUITE,
    limits: Optional[Limits] = None,
    isolation: Optional[Isolation] = None,
    hide: Sequence[PathLike] = (),
) -> tuple[GradeReport, dict]:
    """Grade a submission (folder, .py files, notebook or .zip).

    Returns the report and the Gradescope results dictionary, which is also written atomically
    to ``output`` when given. ``identity`` (default: the content digest) seeds hidden cases.
    Raises UserError for input that cannot be graded at all (nothing to grade, unsafe zip).
    """
    loaded = load_submission(submission)
    note = None
    if secret is None:
        secret, note = resolve_secret(secret_file)
    report = grade_submission(
        loaded, secret=secret, identity=identity, suite_name=suite, limits=limits, isolation=isolation,
        hide=[Path(p) for p in hide] + ([Path(output).resolve().parent] if output else [])
        + ([Path(secret_file)] if secret_file else [])  # student code must never read the secret
        + ([Path(os.environ["AUTOGRADER_SECRET_FILE"])] if os.environ.get("AUTOGRADER_SECRET_FILE") else []),
    )
    if note:
        report.notes.append(note)
    results = gradescope_results(report)
    if output is not None:
        write_json_atomic(output, results)
    return report, results
