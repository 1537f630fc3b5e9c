"""``autograder bundle``: the Gradescope autograder zip.

The zip holds, at its root, ``setup.sh`` (installs the locked third-party packages into a virtual
environment and creates the unprivileged user that runs student code), an executable
``run_autograder``, ``requirements.in`` (the student environment of the assignment's manifest plus
the grader's needs) and its lock files with hashes, ``requirements-py3.X.txt``; the grader itself
(``autograder/`` and the assignment's authored folder: its reference modules and manifest, under
``solutions/``), a freshly generated hidden-case secret and the bundle's
settings sit in ``grader/``, which is root-only on Gradescope and is put on the grader's path at
run time, so nothing of ours is importable from site-packages.
The instructor keeps a copy of the secret (``autograder.zip.secret``): TAs need it to reproduce
Gradescope's hidden cases with ``autograder grade/batch --secret-file``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from ..engine.sandbox import Limits
from ..engine.secret import new_secret
from ..engine.suite import VISIBILITIES
from ..errors import UserError
from ..fileio import write_text_atomic
from .gradescope import CONFIG_NAME, PRIVATE_DIR, SECRET_NAME

__all__ = ["build_bundle", "BundleInfo", "DEFAULT_SANDBOX_USER", "bundle_limits"]

PathLike = Union[str, Path]
DEFAULT_SANDBOX_USER = "autograder-sandbox"
TEMPLATES = Path(__file__).parent / "templates"
REQUIREMENTS = Path(__file__).parent / "requirements.in"
LOCKS = sorted(Path(__file__).parent.glob("requirements-py3.*.txt"))  # pip-compile --generate-hashes, per Python
# Every entry gets this timestamp, so two bundles with the same secret are byte-identical.
ZIP_TIME = (2024, 1, 1, 0, 0, 0)
PACKAGES = ("autograder", "solutions")
SKIPPED_SUFFIXES = (".pyc", ".ipynb", ".zip", ".secret")


@dataclass(frozen=True)
class BundleInfo:
    """What ``build_bundle`` wrote."""

    output: Path
    secret_file: Path
    secret_reused: bool
    files: tuple[str, ...]
    size: int
    secret_fingerprint: str  # first 12 hex digits of SHA-256(secret): tells bundles apart, reveals nothing

    def message(self) -> str:
        """What to tell the instructor."""
        secret_line = (f"Hidden-case secret reused from {self.secret_file}" if self.secret_reused
                       else f"Hidden-case secret written to {self.secret_file}")
        return "\n".join([
            f"Wrote {self.output} ({len(self.files)} files, {self.size / 1024:.0f} kB).",
            f"{secret_line} (fingerprint {self.secret_fingerprint}).",
            "Keep that file private and safe: it decides the hidden cases. TAs need it to reproduce",
            "Gradescope's grades:  autograder grade SUBMISSION --secret-file "
            f"{self.secret_file} --id <Gradescope submission id>",
            "Rebuilding? Pass --secret-file to keep the same hidden cases (regrades stay reproducible).",
            "Upload the zip in Gradescope: Configure Autograder > Zip file upload (base image Ubuntu 22.04).",
        ])


def bundle_limits(call_seconds: float = 10.0, submission_seconds: float = 120.0, memory_mb: int = 1024) -> Limits:
    """The sandbox limits a bundle applies on Gradescope."""
    return Limits(call_seconds=call_seconds, submission_seconds=submission_seconds, memory_bytes=memory_mb << 20)


def build_bundle(
    output: PathLike = "autograder.zip",
    *,
    secret_file: Optional[PathLike] = None,
    secret_out: Optional[PathLike] = None,
    limits: Optional[Limits] = None,
    hidden_visibility: str = "after_due_date",
    sandbox_user: str = DEFAULT_SANDBOX_USER,
    total_seconds: Optional[int] = None,
    suite: Optional[str] = None,
    rate_limit: Optional[tuple[int, float]] = None,
) -> BundleInfo:
    """Write the Gradescope autograder zip to ``output`` and return what was written.

    ``secret_file``: reuse this secret (same hidden cases as an earlier bundle); otherwise a fresh
    one is generated and written to ``secret_out`` (default ``<output>.secret``), which must not
    exist yet (it may be the only copy of an uploaded bundle's secret). ``limits`` are the sandbox
    limits (default :func:`bundle_limits`); ``total_seconds`` bounds the whole run
    (default: the submission budget + 3 call limits + 60 s). ``hidden_visibility`` is the Gradescope
    visibility of hidden-case tests. ``rate_limit = (K, H)`` grades at most K submissions of a
    student in any H hours (from Gradescope's ``previous_submissions``); a later one is not graded,
    says when the next will be, and keeps the best earlier score. ``suite``: the assignment's name
    (``--assignment``; default: ``registry.default()``, the only registered one or the reference
    package's own). Its manifest's ``limits`` apply to the default limits.
    """
    from ..registry import default, get

    assignment = get(suite) if suite else default()
    suite = assignment.name
    output = Path(output)
    if output.suffix.lower() != ".zip":
        raise UserError(f"{output}: the bundle must be a .zip file (e.g. -o autograder.zip)")
    if hidden_visibility not in VISIBILITIES:
        raise UserError(f"hidden visibility {hidden_visibility!r}: choose one of {', '.join(VISIBILITIES)}")
    if not sandbox_user or not sandbox_user.replace("-", "").replace("_", "").isalnum() or sandbox_user == "root":
        raise UserError(f"sandbox user {sandbox_user!r}: use a plain unprivileged user name such as "
                        f"{DEFAULT_SANDBOX_USER}")
    limits = limits or assignment.make_limits(bundle_limits())
    if limits.call_seconds <= 0 or limits.submission_seconds < limits.call_seconds:
        raise UserError("time limits: need 0 < call seconds <= submission seconds")
    if total_seconds is None:
        total_seconds = int(limits.submission_seconds + 3 * limits.call_seconds + 60)
    if total_seconds < limits.submission_seconds:
        raise UserError(f"total time limit {total_seconds} s is shorter than the submission budget "
                        f"{limits.submission_seconds} s")

    if rate_limit is not None and (int(rate_limit[0]) < 1 or float(rate_limit[1]) <= 0):
        raise UserError(f"rate limit {rate_limit[0]} per {rate_limit[1]} hours: need at least 1 submission "
                        "in a positive number of hours")

    secret, secret_path, reused = _secret(output, secret_file, secret_out)
    # Both hold the secret (the zip carries a copy for the grader): neither may be committed by accident.
    for path in (output, *(() if reused else (secret_path,))):
        _refuse_unignored_in_git(path)
    config = {
        "format": 1,
        "suite": suite,
        "limits": dataclasses.asdict(limits),
        "hidden_visibility": hidden_visibility,
        "sandbox_user": sandbox_user,
        "total_seconds": total_seconds,
        "secret_fingerprint": _fingerprint(secret),
    }
    if rate_limit is not None:
        config["rate_limit"] = {"max_graded": int(rate_limit[0]), "window_hours": float(rate_limit[1])}
    substitutions = {"@TOTAL_SECONDS@": str(total_seconds), "@SANDBOX_USER@": sandbox_user}
    entries: list[tuple[str, bytes, int]] = [
        ("setup.sh", _template("setup.sh", substitutions), 0o755),
        ("run_autograder", _template("run_autograder.sh", substitutions), 0o755),
        ("requirements.in", REQUIREMENTS.read_bytes(), 0o644),
        *((lock.name, lock.read_bytes(), 0o644) for lock in LOCKS),
        (f"{PRIVATE_DIR}/{CONFIG_NAME}", (json.dumps(config, indent=2) + "\n").encode(), 0o600),
        (f"{PRIVATE_DIR}/{SECRET_NAME}", secret.encode() + b"\n", 0o600),
    ]
    for package in PACKAGES:
        for path in _package_files(package, assignment.folder):
            entries.append((f"{PRIVATE_DIR}/{path.as_posix()}", (_project_root() / path).read_bytes(), 0o600))

    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data, mode in entries:
                info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
                info.external_attr = (0o100000 | mode) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data)
        os.chmod(tmp, 0o600)  # the zip holds the secret
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if not reused:
        write_text_atomic(secret_path, secret + "\n", mode=0o600)
    return BundleInfo(output, secret_path, reused, tuple(name for name, _, _ in entries), output.stat().st_size,
                      _fingerprint(secret))


def _secret(output: Path, secret_file: Optional[PathLike], secret_out: Optional[PathLike]) -> tuple[str, Path, bool]:
    if secret_file is not None:
        from ..engine.secret import resolve_secret

        value, _ = resolve_secret(secret_file)
        return value.decode(), Path(secret_file), True
    path = Path(secret_out) if secret_out is not None else output.with_name(output.name + ".secret")
    if path.exists():
        raise UserError(
            f"{path} already exists and may be the only copy of an uploaded bundle's secret. To keep the same "
            f"hidden cases, rebuild with --secret-file {path}; to start afresh, move it away first."
        )
    return new_secret(), path, False


def _refuse_unignored_in_git(path: Path) -> None:
    """Raise UserError if ``path`` lies in a git work tree that does not ignore it.

    ``git add -A`` would then commit the hidden-case secret (in ``<bundle>.secret`` and inside the
    zip). Outside a work tree, or without git, there is nothing to check.
    """
    import shutil
    import subprocess

    git = shutil.which("git")
    folder = path.absolute().parent
    while not folder.is_dir():  # the output folder may not exist yet
        folder = folder.parent
    if git is None:
        return
    top = subprocess.run([git, "-C", str(folder), "rev-parse", "--show-toplevel"], capture_output=True, text=True)
    if top.returncode != 0:
        return  # not in a work tree
    ignored = subprocess.run([git, "-C", str(folder), "check-ignore", "-q", "--", str(path.absolute())],
                             capture_output=True)
    if ignored.returncode == 1:
        root = top.stdout.strip()
        raise UserError(
            f"{path} would be inside the git work tree {root}, which does not ignore it: `git add -A` would "
            f"commit the hidden-case secret it holds. Add '*.secret' and the bundle's name (e.g. '/{path.name}' "
            f"or '*.zip') to {root}/.gitignore, or write the bundle outside the work tree (-o, --secret-out)."
        )


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


def _template(name: str, substitutions: dict[str, str]) -> bytes:
    text = (TEMPLATES / name).read_text(encoding="utf-8")
    for key, value in substitutions.items():
        text = text.replace(key, value)
    leftover = sorted(set(re.findall(r"@[A-Z_]+@", text)))
    if leftover:
        raise RuntimeError(f"template {name}: unfilled placeholders {leftover}")
    return text.replace("\r\n", "\n").encode()


def _project_root() -> Path:
    import autograder

    return Path(autograder.__file__).resolve().parent.parent


def _package_files(package: str, assignment_folder: Optional[Path] = None) -> list[Path]:
    """The files of ``package`` the grader needs, relative to the project root (sorted). Of the
    reference package, its modules, and the manifest and modules of the bundled assignment's folder
    (the package itself or one of its subfolders): no other assignment's manifest goes in."""
    root = _project_root()
    base = root / package
    if not (base / "__init__.py").is_file():
        raise RuntimeError(f"{base} is not a package; build the bundle from the project checkout")
    found = []
    if package == "solutions":  # the reference modules and the manifest (not the notebook or its sources)
        folder = Path(assignment_folder or base).resolve()
        if folder != base.resolve() and base.resolve() not in folder.parents:
            raise UserError(f"{folder}: only an assignment under {base} can be bundled")
        files = {*base.glob("*.py"), *folder.glob("*.py"), folder / "assignment.json"}
        return [p.resolve().relative_to(root.resolve()) for p in sorted(files)]
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or name.endswith(SKIPPED_SUFFIXES):
                continue
            found.append((Path(dirpath) / name).relative_to(root))
    return found
