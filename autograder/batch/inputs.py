"""Find a class's submissions and read every one of them into memory before any student code runs.

INPUT is either

* a folder of submissions: each subfolder, ``.zip`` or ``.ipynb`` is one student's submission, its
  id the entry's name (without the suffix); or
* a Gradescope "Export Submissions" zip, or that zip unpacked: ``submission_metadata.yml`` (names,
  SIDs and emails of each submission's submitters) next to one ``submission_<id>/`` folder per
  submission; the id is Gradescope's submission id.

:func:`snapshot` returns one :class:`Entry` per submission holding its code as text (the engine's
loader does the reading, with its size, zip and link checks). Grading works from these private
copies only, so a submission that rewrites its siblings' files (or the export) changes nothing.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Optional, Sequence

from ..engine.loader import MAX_TOTAL_BYTES, MAX_ZIP_RATIO, Submission, check_expected_files, load_submission
from ..errors import UserError

METADATA_NAME = "submission_metadata.yml"
MAX_METADATA_BYTES = 64 << 20
MAX_EXPORT_MEMBERS = 200_000
MAX_EXPORT_BYTES = 4 << 30  # code files unpacked from one export
SUBMISSION_SUFFIXES = (".zip", ".ipynb")  # besides folders: one file that is a whole submission
CODE_SUFFIXES = (".py", ".ipynb", ".zip")  # what the loader can read from a submission folder


@dataclass(frozen=True)
class Submitter:
    """One student behind a submission (Gradescope group submissions have several)."""

    name: str = ""
    sid: str = ""
    email: str = ""


@dataclass
class Entry:
    """One submission of the class, read into memory.

    ``submission`` is None when it cannot be graded at all; ``error`` then says why (the loader's
    message: no code, unsafe zip, not UTF-8, ...).
    """

    id: str  # safe as a file name: results/<id>.json; unique within the batch, stable across runs
    source: str  # where it came from, for messages
    submitters: list[Submitter] = field(default_factory=list)
    gradescope_id: Optional[str] = None  # seeds hidden cases like Gradescope does, when known
    created_at: str = ""
    due_date: str = ""  # from the submission's metadata, when the export gives one (an extension)
    late_due_date: str = ""
    submission: Optional[Submission] = None
    error: Optional[str] = None
    name: str = ""  # the entry's own name in INPUT (folder or file name, or submission_<id>): reverses the id
    skipped: bool = False  # not a submission at all (a loose file in INPUT): listed, never graded

    @property
    def identity(self) -> Optional[str]:
        """The identity that seeds hidden cases: Gradescope's id, else the content digest."""
        if self.gradescope_id is not None:
            return self.gradescope_id
        return self.submission.digest if self.submission is not None else None


@dataclass
class Snapshot:
    """Every submission of INPUT, in memory, in a stable order."""

    kind: str  # "folder" or "gradescope export"
    entries: list[Entry]
    notes: list[str] = field(default_factory=list)


def snapshot(input_path: Path, expected: Sequence[str] = (), assignment: Optional[Any] = None) -> Snapshot:
    """Read every submission of ``input_path`` (folder or Gradescope export) into memory.

    Every entry of INPUT gets an :class:`Entry`: a submission, a submission that cannot be graded
    (``error`` says why: no code, no file named as in ``expected``, unsafe zip, ...), or a loose file
    that is no submission (``skipped``). Raises UserError when INPUT itself is unusable (missing,
    not a folder or zip, bad metadata). ``assignment`` (an ``autograder.registry.Assignment``;
    default: the one each submission's files fit) says which given files and aliases apply.
    """
    input_path = Path(input_path)
    if not input_path.exists():
        raise UserError(f"{input_path}: no such file or folder; give a folder of submissions or a "
                        "Gradescope export zip")
    if input_path.is_file():
        if input_path.suffix.lower() != ".zip":
            raise UserError(f"{input_path}: expected a folder of submissions or a Gradescope export .zip")
        snap = _snapshot_export_zip(input_path, expected, assignment)
    elif (root := find_export_root(input_path)) is not None:
        snap = _snapshot_export_folder(root, str(input_path), expected, assignment)
    else:
        snap = _snapshot_folder(input_path, expected, assignment)
    # Messages name an entry by its place in INPUT ("frank: found KL.py ..."), not by the TA's
    # absolute path: they reach the students' feedback pages and results.
    for entry in snap.entries:
        if entry.error:
            entry.error = _within_input(entry.error, input_path)
        if entry.submission is not None:
            entry.submission.source = _within_input(entry.submission.source, input_path)
            entry.submission.notes = [_within_input(n, input_path) for n in entry.submission.notes]
    return snap


def _within_input(text: str, input_path: Path) -> str:
    for prefix in (f"{input_path}{os.sep}", f"{input_path}:", f"{input_path.resolve()}{os.sep}",
                   f"{input_path.resolve()}:"):
        text = text.replace(prefix, "")
    return text


# -- a folder of submissions ---------------------------------------------------------------------

def _snapshot_folder(folder: Path, expected: Sequence[str] = (), assignment: Optional[Any] = None) -> Snapshot:
    children = sorted(c for c in folder.iterdir() if not c.name.startswith((".", "__MACOSX", "__pycache__")))
    candidates = [c for c in children if c.is_dir() or (c.is_file() and c.suffix.lower() in SUBMISSION_SUFFIXES)]
    loose = [c for c in children if c not in candidates]
    if not candidates:
        if any(c.suffix.lower() == ".py" for c in loose):
            raise UserError(f"{folder}: holds .py files but no submission folders; to grade one submission use "
                            "`autograder grade`, to grade a class put each submission in its own subfolder")
        raise UserError(f"{folder}: no submissions found (expected one subfolder, .zip or .ipynb per student)")
    snap = Snapshot("folder", [])
    ids = make_ids([c.name if c.is_dir() or c in loose else c.stem for c in children], [c.name for c in children])
    for child, entry_id in zip(children, ids):
        name = child.name
        entry = Entry(id=entry_id, source=str(child), name=name)
        if child in loose:
            entry.skipped = True
            entry.error = (f"{name}: a loose file in INPUT, not a submission; each student's submission must be "
                           "its own subfolder, .zip or .ipynb (move it into a folder named after the student)")
        else:
            _load_into(entry, child, expected=expected, assignment=assignment)
        snap.entries.append(entry)
    return snap


def _load_into(entry: Entry, path: Path, shown_as: Optional[tuple[str, str]] = None,
               expected: Sequence[str] = (), assignment: Optional[Any] = None) -> None:
    """Fill ``entry.submission`` (or ``entry.error``) from ``path`` with the engine's loader."""
    try:
        submission = load_submission(path, assignment)
        if shown_as is not None:
            submission.source = submission.source.replace(*shown_as)
        if expected:
            check_expected_files(submission, expected)
        entry.submission = submission
    except UserError as exc:
        message = str(exc)
        entry.error = message.replace(*shown_as) if shown_as else message
    except OSError as exc:  # unreadable file, permissions, vanished during the read
        entry.error = f"{entry.source}: could not be read ({exc.strerror or exc})"
    except Exception as exc:  # noqa: BLE001 - one entry the loader cannot read must not stop the class
        entry.error = f"{entry.source}: could not be read ({type(exc).__name__}: {str(exc)[:200]})"


_UNSAFE = re.compile(r"[^\w.-]+")  # letters of any script are kept: "Chloé" stays "Chloé"
MAX_ID_CHARS = 80


def make_id(name: str) -> str:
    """The file-name-safe id of an entry called ``name``, from the name alone.

    A name that is safe as it is is its own id. Any other name is cleaned (unsafe characters become
    ``_``; Unicode NFC) and gets ``~`` plus 6 hex digits of SHA-256(name): ``a b`` -> ``a_b~c8687a``.
    ``~`` is itself unsafe, so such an id is never another entry's own name. See :func:`make_ids`.
    """
    normal = unicodedata.normalize("NFC", name)
    clean = _UNSAFE.sub("_", normal).strip("._")[:MAX_ID_CHARS] or "submission"
    return clean if clean == name else f"{clean}~{_name_hash(name)}"


def make_ids(names: Sequence[str], originals: Optional[Sequence[str]] = None) -> list[str]:
    """Ids for the entries called ``names`` (``originals``: their full input names, e.g. ``eve.zip``
    for ``eve``; default the names), unique even case-insensitively (macOS and Windows file systems).

    Each id is :func:`make_id` of its name, unless two names give the same id ignoring case (``Eve``
    and ``eve``, or ``eve`` and ``eve.zip``): then every one of them gets ``~`` and a hash of its
    original name (``eve~...``). So an id depends only on its own name and on whether a colliding
    name is present: it never becomes the id of another entry (no order-dependent ``-2`` suffixes,
    which a real folder ``eve-2`` could hold), and the same id always means the same input name.
    """
    originals = list(originals) if originals is not None else list(names)
    ids = [make_id(n) for n in names]
    for width in (6, 12, 64):  # a longer hash only if two 6-digit hashes of different names collide
        groups: dict[str, list[int]] = {}
        for index, entry_id in enumerate(ids):
            groups.setdefault(entry_id.casefold(), []).append(index)
        clashes = [indices for indices in groups.values() if len(indices) > 1]
        if not clashes:
            return ids
        for indices in clashes:
            for index in indices:
                clean = ids[index].split("~")[0]
                ids[index] = f"{clean}~{_name_hash(originals[index], width)}"
    raise UserError(f"two entries of INPUT have the same name: {', '.join(originals)}")


def _name_hash(name: str, width: int = 6) -> str:
    return hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:width]


# -- Gradescope exports --------------------------------------------------------------------------

def find_export_root(folder: Path) -> Optional[Path]:
    """The folder holding ``submission_metadata.yml`` (INPUT itself or its lone subfolder)."""
    if (folder / METADATA_NAME).is_file():
        return folder
    subdirs = [c for c in folder.iterdir() if c.is_dir() and not c.name.startswith((".", "__MACOSX"))]
    if len(subdirs) == 1 and (subdirs[0] / METADATA_NAME).is_file():
        return subdirs[0]
    return None


def parse_metadata(text: str, source: str) -> dict[str, dict[str, Any]]:
    """``submission_metadata.yml`` as ``{"submission_<id>": {"submitters": [...], "created_at": ...}}``.

    Gradescope writes Ruby-style keys with a leading colon (``:submitters:``, ``:name:``); they are
    returned without colons. Unknown Ruby tags (``!ruby/object:...``) are read as plain data.
    """
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    def _plain(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_scalar(node)

    _Loader.add_multi_constructor("!", _plain)
    # Every scalar stays the text Gradescope wrote: an unquoted SID 003003 is not the octal number
    # 1539, a created_at keeps its offset as written, a student called "No" is not False.
    for tag in ("int", "float", "bool", "timestamp"):
        _Loader.add_constructor(f"tag:yaml.org,2002:{tag}", yaml.SafeLoader.construct_scalar)
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 -- a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise UserError(f"{source}: {METADATA_NAME} is not valid YAML ({exc}); export the submissions again") from None
    if not isinstance(data, dict):
        raise UserError(f"{source}: {METADATA_NAME} does not map submissions to their metadata; "
                        "is this a Gradescope 'Export Submissions' zip?")
    return {str(key): _strip_colons(value) for key, value in data.items()}


def _strip_colons(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k).strip(":"): _strip_colons(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_colons(v) for v in value]
    return value


def _submitters(meta: Any) -> list[Submitter]:
    people = meta.get("submitters") if isinstance(meta, dict) else None
    out = []
    for person in people if isinstance(people, list) else []:
        if isinstance(person, dict):
            out.append(Submitter(*(_text(person.get(k)) for k in ("name", "sid", "email"))))
    return out


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


_SUBMISSION_DIR = re.compile(r"^submission_(.+)$")


def _export_entries(
    metadata: dict[str, dict[str, Any]], folders: list[str], label: str
) -> tuple[list[Entry], list[str]]:
    """Entries for an export: every submission named in the metadata or present as a folder."""
    notes = []
    names = list(metadata) + [f for f in folders if f not in metadata]
    extra = [f for f in folders if f not in metadata]
    if extra:
        notes.append(f"{len(extra)} submission folder(s) are not in {METADATA_NAME} (no names): {', '.join(extra[:5])}")
    entries = []
    names = sorted(names, key=_natural_key)
    gradescope_ids = [m.group(1) if (m := _SUBMISSION_DIR.match(name)) else name for name in names]
    for name, gradescope_id, entry_id in zip(names, gradescope_ids, make_ids(gradescope_ids, names)):
        meta = metadata.get(name, {})
        entries.append(Entry(
            id=entry_id,
            source=f"{label}:{name}",
            name=name,
            submitters=_submitters(meta),
            gradescope_id=gradescope_id,
            created_at=_text(meta.get("created_at")) if isinstance(meta, dict) else "",
            due_date=_text(meta.get("due_date")) if isinstance(meta, dict) else "",
            late_due_date=_text(meta.get("late_due_date")) if isinstance(meta, dict) else "",
        ))
        if name not in folders:
            entries[-1].error = f"{label}: the export has no files for {name} (nothing was submitted?)"
    return entries, notes


def _natural_key(name: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


def _snapshot_export_folder(root: Path, label: str, expected: Sequence[str] = (),
                            assignment: Optional[Any] = None) -> Snapshot:
    meta_path = root / METADATA_NAME
    if meta_path.stat().st_size > MAX_METADATA_BYTES:
        raise UserError(f"{meta_path}: larger than {MAX_METADATA_BYTES} bytes; is this a Gradescope export?")
    metadata = parse_metadata(meta_path.read_text(encoding="utf-8"), str(meta_path))
    folders = sorted(c.name for c in root.iterdir() if c.is_dir() and _SUBMISSION_DIR.match(c.name))
    entries, notes = _export_entries(metadata, folders, label)
    for entry in entries:
        if entry.error is None:
            _load_into(entry, root / entry.source.rsplit(":", 1)[1], expected=expected, assignment=assignment)
    return Snapshot("gradescope export", entries, notes)


def _snapshot_export_zip(path: Path, expected: Sequence[str] = (), assignment: Optional[Any] = None) -> Snapshot:
    """Unpack the code files of an export zip into a private folder, read them, remove the folder."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UserError(f"{path}: not a valid zip file ({exc}); download the export again") from None
    with archive, tempfile.TemporaryDirectory(prefix="npg-batch-export-") as tmp:
        members = archive.infolist()
        if len(members) > MAX_EXPORT_MEMBERS:
            raise UserError(f"{path}: {len(members)} files in the export; at most {MAX_EXPORT_MEMBERS} are accepted")
        metas = [m for m in members if PurePosixPath(m.filename).name == METADATA_NAME
                 and "__MACOSX" not in m.filename and not PurePosixPath(m.filename).name.startswith("._")]
        if not metas:
            raise UserError(f"{path}: no {METADATA_NAME} in the zip; give a Gradescope 'Export Submissions' zip, "
                            "or unzip it and give a folder with one subfolder per submission")
        meta_info = min(metas, key=lambda m: len(PurePosixPath(m.filename).parts))
        if meta_info.file_size > MAX_METADATA_BYTES:
            raise UserError(f"{path}: {METADATA_NAME} is larger than {MAX_METADATA_BYTES} bytes")
        metadata = parse_metadata(archive.read(meta_info).decode("utf-8", "replace"), f"{path}:{meta_info.filename}")
        root = PurePosixPath(meta_info.filename).parent
        depth = len(root.parts)
        tmp_root = Path(tmp)
        folders: set[str] = set()
        problems: dict[str, str] = {}
        extracted = 0
        for info in members:
            name = PurePosixPath(info.filename.replace("\\", "/"))
            if name.parts[:depth] != root.parts or len(name.parts) < depth + 2:
                continue
            folder, rest = name.parts[depth], name.parts[depth + 1:]
            if not _SUBMISSION_DIR.match(folder):
                continue
            folders.add(folder)
            if info.is_dir() or not rest[-1].lower().endswith(CODE_SUFFIXES):
                continue  # PDFs, images, ...: the loader would not read them
            problem = _unsafe_member(info, name)
            if problem:
                problems.setdefault(folder, f"{path}:{info.filename}: {problem}")
                continue
            if any(p.startswith(".") or p == "__MACOSX" for p in rest):
                continue
            extracted += info.file_size
            if extracted > MAX_EXPORT_BYTES:
                raise UserError(f"{path}: the export's code files add up to more than {MAX_EXPORT_BYTES} bytes")
            target = tmp_root.joinpath(folder, *rest)
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
        entries, notes = _export_entries(metadata, sorted(folders), str(path))
        shown_as = (str(tmp_root), f"{path}:")
        for entry in entries:
            folder = entry.source.rsplit(":", 1)[1]
            if entry.error is not None:
                continue
            if folder in problems:
                entry.error = problems[folder]
            elif not (tmp_root / folder).is_dir():
                what = assignment.describe_files() if assignment is not None else "the assignment's files"
                entry.error = f"{path}:{folder}: no .py, .ipynb or .zip files; submit {what}"
            else:
                _load_into(entry, tmp_root / folder, shown_as=shown_as, expected=expected, assignment=assignment)
    return Snapshot("gradescope export", entries, notes)


def _unsafe_member(info: zipfile.ZipInfo, name: PurePosixPath) -> Optional[str]:
    """Why a member of an export must not be unpacked (traversal, link, bomb), or None."""
    if name.is_absolute() or ".." in name.parts or (name.parts and ":" in name.parts[0]):
        return "refused an unsafe path (path traversal)"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "refused a symbolic link"
    if info.file_size > MAX_TOTAL_BYTES:
        return f"{info.file_size} bytes is larger than the {MAX_TOTAL_BYTES} byte limit for a submission"
    if info.file_size > (1 << 20) and info.file_size > MAX_ZIP_RATIO * max(1, info.compress_size):
        return "expands too much (zip bomb?)"
    return None
