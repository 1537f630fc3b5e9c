"""The secret that seeds hidden cases.

Gradescope bundles carry a freshly generated secret; instructors keep a copy so that TAs can
reproduce Gradescope's grades locally (``--secret-file``). Without one, a fixed development secret
is used and the grade says so (hidden cases then differ from Gradescope's).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Optional, Union

from ..errors import UserError

DEVELOPMENT_SECRET = b"npg-autograder development secret (not for real grading)"
# For course staff, not students (the batch's feedback pages leave it out).
DEVELOPMENT_SECRET_NOTE = ("hidden cases use the development secret; pass --secret-file with the bundle's secret "
                           "to reproduce Gradescope's hidden cases")
ENV_FILE = "AUTOGRADER_SECRET_FILE"


def new_secret() -> str:
    """A fresh secret, as 64 hex characters."""
    return secrets.token_hex(32)


def resolve_secret(path: Optional[Union[str, Path]] = None) -> tuple[bytes, Optional[str]]:
    """The secret from ``path`` or ``$AUTOGRADER_SECRET_FILE``; else the development secret.

    Returns ``(secret, note)``; ``note`` is a warning to show when the development secret is used.
    """
    path = path or os.environ.get(ENV_FILE)
    if not path:
        return DEVELOPMENT_SECRET, DEVELOPMENT_SECRET_NOTE
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise UserError(f"cannot read the secret file {path}: {exc.strerror}") from None
    if len(text) < 16:
        raise UserError(f"the secret file {path} holds {len(text)} characters; expected at least 16")
    return text.encode(), None
