"""``autograder check``: run a student's public tests (the generated ``check.py``) in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Optional, Sequence, Union

from autograder.errors import UserError

__all__ = ["run_public_checks"]


def run_public_checks(
    folder: Union[str, os.PathLike[str]] = ".",
    parts: Sequence[str] = (),
    *,
    python: Optional[str] = None,
    timeout: Optional[float] = 600.0,
) -> int:
    """Run ``python check.py [PART ...]`` in ``folder`` and return its exit status (0: all pass).

    Student code runs in a child process, never in this one; its output goes to our stdout/stderr.
    """
    folder = Path(folder)
    script = folder / "check.py"
    if not folder.exists():
        raise UserError(f"{folder}: no such folder; pass the assignment folder (e.g. assignments/npg)")
    if not folder.is_dir():
        raise UserError(f"{folder}: not a folder; pass the assignment folder (e.g. assignments/npg), "
                        "the one with check.py")
    if not script.is_file():
        raise UserError(
            f"{folder}: no check.py here; pass the assignment folder (e.g. assignments/npg), "
            "the one with check.py and public_cases.json"
        )
    cmd = [python or sys.executable, "check.py", *parts]
    try:
        return subprocess.run(cmd, cwd=folder, timeout=timeout, check=False).returncode
    except subprocess.TimeoutExpired as exc:
        raise UserError(f"the public checks did not finish within {timeout:g} s (an infinite loop?)") from exc
