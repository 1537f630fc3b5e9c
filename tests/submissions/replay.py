"""The replay attack of issue 11: a submission that implements nothing and returns, call by call,
the expected values of the public checks (what the visible feedback prints to earlier, probing
submissions; here at full precision, which is stronger than the printed 8 digits)."""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

import numpy as np

from . import InProcessContext, Spec, build

_TEMPLATE = '''"""Replays recorded answers by call order (no implementation)."""
import base64
import json
import zlib

import numpy as np

_DATA = json.loads(zlib.decompress(base64.b64decode({data!r})))
_COUNT = {{}}


def _next(name):
    values = _DATA.get(name) or [0.0]
    i = _COUNT.get(name, 0)
    _COUNT[name] = i + 1
    value = values[min(i, len(values) - 1)]
    if name == "sample_state_actions":
        return np.asarray(value[0], dtype=np.int64), np.asarray(value[1], dtype=np.int64)
    return np.asarray(value, dtype=float)

'''


def record_public_answers(root: Path, secret: bytes, identity: str) -> dict[str, list]:
    """``{function: [answers in call order]}`` for the public checks (the reference's answers)."""
    from autograder.engine.suite import Seeds
    from autograder.suites.npg import build as build_suite

    suite = build_suite(Seeds(secret, identity))
    context = InProcessContext(build(Spec("reference", "the reference"), root / "reference"), suite)
    answers: dict[str, list] = {}
    original = context.call

    def recording(part: str, *args: object, **kwargs: object) -> object:
        result = original(part, *args, **kwargs)
        if result.ok:
            value = result.value
            plain = [np.asarray(v).tolist() for v in value] if isinstance(value, list) else np.asarray(value).tolist()
            answers.setdefault(suite.part(part).func, []).append(plain)
        return result

    context.call = recording  # type: ignore[method-assign]
    for check in suite.checks:
        if check.kind != "hidden":
            check.run(context)
    return answers


def replay_submission(root: Path, answers: dict[str, list]) -> Path:
    """A folder with kl.py, fisher.py and npg.py whose functions replay ``answers``."""
    from autograder.suites.npg import PARTS

    folder = root / "replay"
    folder.mkdir(parents=True, exist_ok=True)
    for module in ("kl", "fisher", "npg"):
        # Only this module's answers, compressed: an attacker keeps files small (the loader takes at
        # most MAX_SOURCE_CHARS of Python a file).
        mine = {f: v for f, v in answers.items() if any(p.func == f and p.module == module for p in PARTS)}
        text = _TEMPLATE.format(data=base64.b64encode(zlib.compress(json.dumps(mine).encode(), 9)).decode())
        for part in PARTS:
            if part.module == module:
                text += f"\ndef {part.func}(*args, **kwargs):\n    return _next({part.func!r})\n\n"
        (folder / f"{module}.py").write_text(text, encoding="utf-8")
    return folder
