"""Atomic file writes: every output of the toolkit is complete or absent, never half-written."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional, Union

PathLike = Union[str, Path]


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_bytes_atomic(path: PathLike, data: bytes, mode: Optional[int] = None) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, fsync, rename.

    ``mode``: the file's permission bits (default: what ``open()`` would give, 0o666 less the umask;
    0o600 for secrets).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _default_mode() if mode is None else mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_text_atomic(path: PathLike, text: str, mode: Optional[int] = None) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`write_bytes_atomic`)."""
    write_bytes_atomic(path, text.encode("utf-8"), mode)


def write_json_atomic(path: PathLike, data: Any, mode: Optional[int] = None) -> None:
    """Write ``data`` as indented JSON to ``path`` atomically (see :func:`write_bytes_atomic`)."""
    write_text_atomic(path, json.dumps(data, indent=2) + "\n", mode)


def printing_never_fails() -> None:
    """Make ``print`` to stdout and stderr write what their encoding cannot hold (a lone surrogate
    from a student's exception message) as backslash escapes instead of raising."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):  # not a TextIOWrapper (a test's stand-in)
            pass
