"""``autograder grade``: grade one submission and write Gradescope results."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence, Union

from ..engine.isolation import Isolation
from ..engine.loader import check_expected_files, load_submission
from ..engine.results import gradescope_results, not_gradable_results
from ..engine.runner import GradeReport, expected_files, grade_submission
from ..engine.sandbox import Limits
from ..engine.secret import resolve_secret
from ..errors import UserError
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
    assignment: Optional[str] = None,
    suite: Optional[str] = None,
    limits: Optional[Limits] = None,
    isolation: Optional[Isolation] = None,
    hide: Sequence[PathLike] = (),
) -> tuple[GradeReport, dict]:
    """Grade a submission (folder, .py files, notebook or .zip).

    ``assignment``: its name (``suite`` is the older name of the same argument); default: the one
    whose files the submission holds (``autograder.registry.detect``). Returns the report and the
    Gradescope results dictionary, which is also written atomically to ``output`` when given.
    ``identity`` (default: the content digest) seeds hidden cases. Raises UserError for input that
    cannot be graded at all (nothing to grade, no file with an expected name, an empty notebook,
    unsafe zip).
    """
    if output is not None:
        _check_output(Path(output))
    from ..registry import assignments, get

    name = assignment or suite
    paths = [submission] if isinstance(submission, (str, Path)) else list(submission)
    if len(paths) == 1:
        names = expected_files(name) if name else sorted({n for a in assignments().values()
                                                          for n in a.accepted_names()})
        _refuse_a_class_folder(Path(paths[0]), names)
    try:
        loaded = load_submission(submission, get(name) if name else None)
        check_expected_files(loaded, expected_files(loaded.assignment))
    except UserError as exc:  # nothing to grade: results.json still says why, as the batch's do
        if output is not None:
            _write(output, not_gradable_results(str(exc)))
        raise
    note = None
    if secret is None:
        secret, note = resolve_secret(secret_file)
    report = grade_submission(
        loaded, secret=secret, identity=identity, suite_name=loaded.assignment, limits=limits, isolation=isolation,
        hide=[Path(p) for p in hide] + ([Path(output).resolve().parent] if output else [])
        + ([Path(secret_file)] if secret_file else [])  # student code must never read the secret
        + ([Path(os.environ["AUTOGRADER_SECRET_FILE"])] if os.environ.get("AUTOGRADER_SECRET_FILE") else []),
    )
    if note:
        report.notes.append(note)
    results = gradescope_results(report)
    if output is not None:
        _write(output, results)
    return report, results


def _refuse_a_class_folder(path: Path, expected: Sequence[str]) -> None:
    """A folder without any expected file whose subfolders hold code is a class, not a submission
    (the loader would grade its loose files and hint nonsense renames). Raises UserError."""
    if not path.is_dir() or any((path / name).is_file() for name in expected):
        return
    students = sorted(c.name for c in path.iterdir() if c.is_dir() and not c.name.startswith((".", "__"))
                      and any(f.suffix in (".py", ".ipynb") for f in c.iterdir() if f.is_file()))
    if students:
        shown = ", ".join(students[:3]) + (", ..." if len(students) > 3 else "")
        raise UserError(f"{path} looks like a class: its subfolders ({shown}) hold submissions. Grade one "
                        f"of them (autograder grade {path / students[0]}), or all with autograder batch {path} "
                        "-o OUTDIR")


def _check_output(path: Path) -> None:
    """Refuse an output path that cannot be the results file, before any grading. Raises UserError."""
    if path.is_dir():
        raise UserError(f"-o {path} is a folder; give the results file, e.g. -o {path / 'results.json'}")
    if not path.parent.is_dir():
        raise UserError(f"-o {path}: the folder {path.parent} does not exist; create it first")


def _write(path: PathLike, results: dict) -> None:
    try:
        write_json_atomic(path, results)
    except OSError as exc:
        raise UserError(f"cannot write {path} ({exc.strerror or exc})") from None
