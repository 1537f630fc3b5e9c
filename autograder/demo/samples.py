"""Sample submissions for ``autograder demo`` and the tests, made from the reference.

A sample is the reference's student files (relative imports made absolute, as in a student's
folder) with text patches that introduce one classic mistake; the notebook sample is the
instructors' solution notebook. Making them from the reference keeps them in step with it: a
patch whose text is no longer found fails loudly. An assignment's samples are the ``SAMPLES`` of
its suite's ``samples`` module (``autograder/suites/<suite>/samples.py``); its student files and
notebook come from its manifest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional


@dataclass(frozen=True)
class Sample:
    name: str
    description: str
    patches: tuple[tuple[str, str, str], ...] = ()  # (file, old text, new text)
    notebook: bool = False
    expect_mistakes: tuple[str, ...] = field(default=())  # catalogue keys the grade should name
    assignment: Optional[str] = None  # its assignment's name (set by ``samples_of``)


def samples_of(assignment: Any) -> tuple[Sample, ...]:
    """The samples of ``assignment`` (an ``autograder.registry.Assignment``): its suite's
    ``samples.SAMPLES``, or none."""
    import dataclasses
    import importlib

    assignment.import_suite()  # an external assignment's folder goes on the path
    try:
        module = importlib.import_module(f"{assignment.suite_module}.samples")
    except ModuleNotFoundError as exc:
        if exc.name and f"{assignment.suite_module}.samples".startswith(exc.name):
            return ()
        raise
    return tuple(dataclasses.replace(s, assignment=assignment.name) for s in getattr(module, "SAMPLES", ()))


def reference_folder(assignment: Optional[str] = None) -> Path:
    """The authored folder of ``assignment`` (default: the reference package's own folder,
    ``solutions/``)."""
    from ..registry import get

    if assignment:
        return get(assignment).folder
    import solutions

    return Path(solutions.__file__).parent


def student_source(text: str) -> str:
    """A reference module as a student's file: ``from .mdp import`` becomes ``from mdp import``."""
    return re.sub(r"^from \.(\w+) import", r"from \1 import", text, flags=re.MULTILINE)


def materialise(sample: Sample, dest: Path) -> Path:
    """Write ``sample`` into the folder ``dest`` (created) and return the path to grade (a sample
    without an assignment is of ``registry.default()``'s)."""
    from ..registry import default, get

    dest.mkdir(parents=True, exist_ok=True)
    assignment = get(sample.assignment) if sample.assignment else default()
    ref = assignment.folder
    if sample.notebook:
        notebook = ref / str((assignment.raw.get("notebook") or {}).get("solution"))
        if not notebook.is_file():
            raise FileNotFoundError(f"{notebook} is missing; run `autograder assign` to build it")
        import nbformat

        nb = nbformat.read(notebook, as_version=4)
        # What students' notebooks often hold: magics and shell lines, which the grader drops.
        magics = "%matplotlib inline\n!pip install --quiet numpy\nimport numpy as np"
        nb.cells.insert(1, nbformat.v4.new_code_cell(magics))
        target = dest / str(assignment.notebook_file)
        target.write_text(nbformat.writes(nb), encoding="utf-8")
        return target
    files = {name: student_source((ref / name).read_text(encoding="utf-8")) for name in assignment.files}
    for name, old, new in sample.patches:
        if old not in files[name]:
            raise RuntimeError(f"sample {sample.name!r}: {old!r} no longer appears in {name}; update the sample")
        files[name] = files[name].replace(old, new, 1)
    for name, text in files.items():
        (dest / name).write_text(text, encoding="utf-8")
    return dest


def __getattr__(name: str) -> Any:
    """``SAMPLES`` and ``STUDENT_FILES``: the tabular homework's, under the names earlier versions
    (and the tests) use (PEP 562: imported on first use, so either module may be imported first)."""
    if name in ("SAMPLES", "STUDENT_FILES"):
        from ..suites.npg import samples

        return getattr(samples, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
