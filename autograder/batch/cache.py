"""The per-submission result cache: ``OUTDIR/cache/<key>.json``, written atomically after each grade.

The key is a SHA-256 over everything a grade depends on: the submission's content digest, the
identity that seeds its hidden cases, a fingerprint of the secret (never the secret itself), the
suite, the limits, and a fingerprint of the grader's own code (engine, suites, reference solution)
so that a changed grader regrades instead of serving stale results.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import platform
from pathlib import Path
from typing import Any, Optional

from ..engine.sandbox import Limits
from ..fileio import write_json_atomic

CACHE_FORMAT = 1


@functools.cache
def grader_fingerprint() -> str:
    """SHA-256 of the grading code (engine, suites, solutions) and the numeric stack's versions."""
    import numpy

    import autograder
    import solutions

    h = hashlib.sha256(f"{CACHE_FORMAT}/{numpy.__version__}/{platform.python_version()}".encode())
    package = Path(autograder.__file__).parent
    folders = [package / "engine", package / "suites", Path(solutions.__file__).parent]
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            h.update(str(path.relative_to(folder.parent)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def cache_key(digest: str, identity: str, secret: bytes, suite: str, limits: Limits) -> str:
    """The cache key of one grade (hex SHA-256)."""
    parts = {
        "format": CACHE_FORMAT,
        "digest": digest,
        "identity": identity,
        "secret": hashlib.sha256(b"npg-batch-secret/" + secret).hexdigest(),
        "suite": suite,
        "limits": dataclasses.asdict(limits),
        "grader": grader_fingerprint(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


class Cache:
    """Graded results by key, in ``folder``; unreadable or foreign entries count as missing."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def get(self, key: str) -> Optional[dict[str, Any]]:
        """The cached entry for ``key``, or None (missing, torn, or not ours)."""
        try:
            data = json.loads(self.path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("key") != key or not _valid(data):
            return None
        return data

    def put(self, key: str, entry: dict[str, Any]) -> None:
        """Store ``entry`` (with its key inside) atomically."""
        write_json_atomic(self.path(key), {**entry, "key": key})


def _valid(data: dict[str, Any]) -> bool:
    summary = data.get("summary")
    return (
        isinstance(data.get("results"), dict)
        and isinstance(summary, dict)
        and isinstance(summary.get("score"), (int, float))
        and isinstance(summary.get("parts"), list)
    )
