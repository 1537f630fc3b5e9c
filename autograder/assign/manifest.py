"""The assignment manifest: ``assignment.json`` in the reference folder.

It names the given files, the parts students implement (a function in a module), where the public
cases are defined, the students' README, and the notebook's cells in order::

    {
      "name": "npg",                       # the folder created under assignments/
      "title": "Natural policy gradient",
      "given": ["mdp.py"],                 # copied as they are (students may read, not edit)
      "environment": {"python": "3.10 or newer", "packages": {"numpy": "2.2.6"}, "use_instead": "numpy"},
                                           # what student code may import (autograder.environment)
      "suite": "npg", "reference": "solutions",   # the grading suite package, the reference package
      "aliases": {},                       # accepted file name -> the expected student file
      "parts": [{"function": "kl_divergence", "file": "kl.py", "points": 8, "depends_on": [],
                 "markdown": "notebook/kl_divergence.md"}],
      "limits": {},                        # overrides of the sandbox limits (engine.sandbox.Limits)
      "public_cases": "public_cases.py",   # defines FIXTURES and CASES (see autograder.assign.cases)
      "readme": "notebook/README.md",      # "{{parts}}": a table of the parts; "{{environment}}": the above
      "notebook": {
        "file": "npg.ipynb",               # in the assignment folder
        "solution": "npg_solution.ipynb",  # in the reference folder, executed
        "cells": [{"markdown": "notebook/intro.md"}, {"part": "kl_divergence"},
                  {"plot": "notebook/plot_kl.py", "markdown": "notebook/plot_kl.md"}]
      }
    }

All paths are relative to the reference folder. ``docs/assignments.md`` describes every field;
:mod:`autograder.registry` reads the grading ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from autograder.environment import StudentEnvironment, parse_environment
from autograder.errors import UserError

MANIFEST_NAME = "assignment.json"


@dataclass(frozen=True)
class Part:
    """One function students implement."""

    function: str
    file: str
    markdown: Optional[str] = None

    @property
    def module(self) -> str:
        return Path(self.file).stem


@dataclass
class Manifest:
    """A parsed and validated ``assignment.json``."""

    source_dir: Path
    name: str
    title: str
    given: list[str]
    parts: list[Part]
    public_cases: str
    readme: Optional[str] = None
    notebook: Optional[dict] = None
    environment: Optional[StudentEnvironment] = None
    raw: dict = field(default_factory=dict)

    @property
    def modules(self) -> list[str]:
        """The student files, in the order their parts first appear."""
        out: list[str] = []
        for p in self.parts:
            if p.file not in out:
                out.append(p.file)
        return out

    def path(self, rel: str) -> Path:
        return self.source_dir / rel

    def part(self, function: str) -> Part:
        for p in self.parts:
            if p.function == function:
                return p
        raise KeyError(function)


def load_manifest(source_dir: Path) -> Manifest:
    """Read and check ``source_dir/assignment.json``; raise UserError naming what is wrong."""
    source_dir = Path(source_dir)
    path = source_dir / MANIFEST_NAME
    if not path.is_file():
        raise UserError(f"{path}: no assignment manifest here (run from the repository root, or pass --source DIR)")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from exc

    def need(key: str, kind: type) -> object:
        if not isinstance(raw.get(key), kind):
            raise UserError(f"{path}: '{key}' must be a {kind.__name__}")
        return raw[key]

    name = str(need("name", str))
    parts_raw = need("parts", list)
    parts: list[Part] = []
    for i, p in enumerate(parts_raw):  # type: ignore[arg-type]
        if not isinstance(p, dict) or not isinstance(p.get("function"), str) or not isinstance(p.get("file"), str):
            raise UserError(f"{path}: parts[{i}] needs 'function' and 'file' strings")
        parts.append(Part(p["function"], p["file"], p.get("markdown")))
    if len({p.function for p in parts}) != len(parts):
        raise UserError(f"{path}: a function is listed twice in 'parts'")
    manifest = Manifest(
        source_dir=source_dir,
        name=name,
        title=str(raw.get("title", name)),
        given=list(raw.get("given", [])),
        parts=parts,
        public_cases=str(need("public_cases", str)),
        readme=raw.get("readme"),
        notebook=raw.get("notebook"),
        raw=raw,
    )
    from autograder.registry import load_assignment

    load_assignment(source_dir)  # the grading fields (points, dependencies, aliases, limits) are checked there
    if "environment" in raw:
        local = [Path(f).stem for f in manifest.given + manifest.modules]
        manifest.environment = parse_environment(raw["environment"], str(path), local)
    referenced = manifest.given + manifest.modules + [manifest.public_cases]
    referenced += [p.markdown for p in parts if p.markdown]
    if manifest.readme:
        referenced.append(manifest.readme)
    if manifest.notebook is not None:
        cells = manifest.notebook.get("cells")
        if not isinstance(cells, list) or not isinstance(manifest.notebook.get("file"), str):
            raise UserError(f"{path}: 'notebook' needs 'file' and a list of 'cells'")
        seen: list[str] = []
        for i, cell in enumerate(cells):
            keys = set(cell) & {"markdown", "part", "plot"}
            if not keys:
                raise UserError(f"{path}: notebook cells[{i}] needs 'markdown', 'part' or 'plot'")
            if "part" in cell:
                if cell["part"] not in {p.function for p in parts}:
                    raise UserError(f"{path}: notebook cells[{i}]: unknown part {cell['part']!r}")
                seen.append(cell["part"])
            referenced += [cell[k] for k in ("markdown", "plot") if k in cell]
        missing = [p.function for p in parts if p.function not in seen]
        if missing or len(seen) != len(set(seen)):
            raise UserError(f"{path}: every part must appear once in the notebook cells (check {missing or seen})")
    for rel in referenced:
        if not (source_dir / rel).is_file():
            raise UserError(f"{path}: {rel} is listed but {source_dir / rel} does not exist")
    return manifest
