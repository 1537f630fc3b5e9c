"""Code similarity across a class, for TAs to look at: it flags pairs, it accuses nobody.

Fingerprints are copydetect's (the MOSS method: Schleimer, Wilkerson and Aiken, "Winnowing: local
algorithms for document fingerprinting", SIGMOD 2003): the code is tokenized with Pygments, every
variable, function and class name becomes one letter (``V``, ``F``, ``O``), strings become ``S``,
comments and whitespace are dropped; the hashes of all k-grams (k = ``NOISE`` characters of that
filtered text) are winnowed with a window of ``GUARANTEE - NOISE + 1``, so any match of at least
``GUARANTEE`` characters is found. Renaming variables, changing comments or moving functions around
changes none of the fingerprints of the code that was kept.

What is compared is the code each student wrote: every ``.py`` file of a submission (the provided
``mdp.py`` excepted) or its notebook's code cells, with every fingerprint of the handout (the stubs
with their signatures and docstrings, and the provided code) removed, so starting from the same
template does not count. For a pair (A, B), ``similarity(A) = matched filtered characters of A /
filtered characters of A`` left after winnowing; a pair is ranked by the mean of both directions.
A submission with less than ``MIN_CODE`` characters of its own (the bare handout) is not compared.
"""

from __future__ import annotations

import html
import io
import itertools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

from ..engine.loader import Submission
from ..fileio import write_text_atomic

NOISE = 25  # k: matches shorter than this many filtered characters are ignored
GUARANTEE = 30  # matches at least this long are always found
MIN_CODE = 200  # a submission with less fingerprinted code than this (filtered characters) is not compared
TOP_PAIRS = 20  # pairs shown in the report and in similarity.html
PAGE = "similarity.html"


@dataclass
class Pair:
    """Two submissions and how much of each one's own code matches the other's."""

    a: str  # entry ids
    b: str
    similarity_a: float  # fraction of A's fingerprinted code found in B
    similarity_b: float
    code_a: str
    code_b: str
    slices_a: list[tuple[int, int]]  # matching regions, character offsets into code_a
    slices_b: list[tuple[int, int]]
    also_a: tuple[str, ...] = ()  # other submissions with exactly A's code (shown with A, not as pairs)
    also_b: tuple[str, ...] = ()

    @property
    def score(self) -> float:
        return (self.similarity_a + self.similarity_b) / 2.0

    @property
    def label_a(self) -> str:
        """A's id, with the submissions whose code is identical to A's: ``a (also c, d: the same code)``."""
        return _label(self.a, self.also_a)

    @property
    def label_b(self) -> str:
        return _label(self.b, self.also_b)


def _label(entry_id: str, also: Sequence[str]) -> str:
    return f"{entry_id} (also {', '.join(also)}: the same code)" if also else entry_id


def student_code(submission: Submission) -> str:
    """The code a submission holds, as one Python text: its .py files by name (the loader has left
    out the given ones), or its notebook's code cells, each under a ``# ---- name`` line."""
    if submission.notebook_cells is not None:
        return "".join(f"# ---- {submission.notebook} cell {i}\n{code.rstrip()}\n\n"
                       for i, code in submission.notebook_cells)
    return "".join(f"# ---- {name}\n{text.rstrip()}\n\n" for name, text in sorted(submission.files.items()))


def handout_code(source_dir: Optional[Path] = None) -> str:
    """What every student starts from: the provided files and the stubs of the student files
    (signatures, docstrings, ``raise NotImplementedError``), rendered from ``solutions/`` as
    ``autograder assign`` renders them, plus the handout notebook's code cells."""
    import solutions

    from ..assign.api import render_assignment

    rendered = render_assignment(source_dir or Path(solutions.__file__).parent)
    files = {name: text for name, text in rendered.files.items() if name.endswith(".py")}
    stubs = Submission("handout", files={name: files[name] for name in rendered.manifest.modules})
    parts = [student_code(stubs)] + [text for name, text in files.items() if name not in stubs.files]
    notebook = rendered.manifest.notebook
    if notebook is not None:
        from ..engine.loader import notebook_code_cells

        parts += [code for _, code in notebook_code_cells(rendered.files[notebook["file"]], notebook["file"])]
    return "\n\n".join(parts)


def _fingerprint(code: str, boilerplate: Sequence[int]):  # noqa: ANN202 -- copydetect's type
    from copydetect import CodeFingerprint

    return CodeFingerprint("submission.py", NOISE, GUARANTEE - NOISE + 1, boilerplate=boilerplate,
                           fp=io.StringIO(code))


def similar_pairs(codes: dict[str, str], handout: str = "", top: Optional[int] = TOP_PAIRS) -> list[Pair]:
    """Every pair of ``codes`` (id -> code) with some shared code not in ``handout``, most similar
    first (``top`` of them; None: all pairs, including those with nothing in common). Submissions
    with identical code count once: one pair names them all (``also_a``), the others pair with the
    first of them only."""
    from copydetect import compare_files

    logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))  # copydetect logs per file
    import numpy as np

    boilerplate = np.array(sorted(_fingerprint(handout, []).hashes) if handout.strip() else [], dtype=np.int64)
    # Identical code is compared once: n copies would otherwise fill the list with n(n-1)/2 pairs at
    # 100% and push every other pair out; they become one pair that names them all.
    same: dict[str, list[str]] = {}
    for key in sorted(codes):
        if codes[key].strip():
            same.setdefault(codes[key], []).append(key)
    prints = {group[0]: _fingerprint(code, boilerplate) for code, group in same.items()}
    prints = {key: fp for key, fp in prints.items() if fp.token_coverage >= MIN_CODE}  # (nearly) the bare handout
    others = {group[0]: tuple(group[1:]) for group in same.values()}
    pairs = []
    for key in sorted(prints):
        if others[key]:
            whole = [(0, len(codes[key]))]
            pairs.append(Pair(key, others[key][0], 1.0, 1.0, codes[key], codes[key], whole, whole,
                              also_a=others[key][1:]))
    for a, b in itertools.combinations(sorted(prints), 2):
        _, (sim_a, sim_b), (slices_a, slices_b) = compare_files(prints[a], prints[b])
        pairs.append(Pair(a, b, float(sim_a), float(sim_b), codes[a], codes[b],
                          _spans(slices_a), _spans(slices_b), others[a], others[b]))
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    return pairs if top is None else [p for p in pairs if p.score > 0][:top]


def _spans(slices) -> list[tuple[int, int]]:  # noqa: ANN001 -- a 2 x N numpy array
    if len(slices) == 0 or len(slices[0]) == 0:
        return []
    return [(int(s), int(e)) for s, e in zip(slices[0], slices[1])]


def _highlight(code: str, spans: Sequence[tuple[int, int]]) -> str:
    out, at = [], 0
    for start, end in sorted(spans):
        start = max(start, at)
        if end <= start:
            continue
        out += [html.escape(code[at:start]), "<mark>", html.escape(code[start:end]), "</mark>"]
        at = end
    out.append(html.escape(code[at:]))
    return "".join(out)


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
pre { background: #f8f8f8; padding: 0.6em; overflow-x: auto; font-size: 0.8em; max-height: 40em; }
mark { background: #ffe08a; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.5em 1em; }
"""

DISCLAIMER = ("High similarity is a reason for a person to look, not evidence of copying: short functions have "
              "few correct forms, students may work from the same lecture code, and the handout's own code is "
              "already excluded. Read the matching regions before drawing any conclusion.")


def render_page(pairs: Sequence[Pair], title: str) -> str:
    """``similarity.html``: each pair's two codes side by side, matching regions highlighted."""
    e = html.escape
    out = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
           f"<title>{e(title)}: code similarity</title><style>{_CSS}</style></head><body>",
           f"<h1>{e(title)}: code similarity</h1>", f'<p class="note">{e(DISCLAIMER)}</p>']
    if not pairs:
        out.append("<p>No two submissions share code beyond the handout.</p>")
    for n, p in enumerate(pairs, start=1):
        out += [f'<h2 id="pair-{n}">{n}. {e(p.label_a)} and {e(p.label_b)}: {100 * p.score:.0f}%</h2>',
                f"<p>{100 * p.similarity_a:.0f}% of {e(p.a)}'s code matches {e(p.b)}'s; "
                f"{100 * p.similarity_b:.0f}% of {e(p.b)}'s matches {e(p.a)}'s.</p>",
                '<div class="pair">',
                f"<div><h3>{e(p.label_a)}</h3><pre>{_highlight(p.code_a, p.slices_a)}</pre></div>",
                f"<div><h3>{e(p.label_b)}</h3><pre>{_highlight(p.code_b, p.slices_b)}</pre></div>",
                "</div>"]
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_similarity(outdir: Path, submissions: dict[str, Submission], title: str,
                     handout: Optional[str] = None, pairs: Optional[Sequence[Pair]] = None) -> list[Pair]:
    """Compare every pair of ``submissions`` (entry id -> submission) and write ``outdir/similarity.html``;
    returns the top pairs (the report lists them). ``pairs``: already computed (``start_similar_pairs``)."""
    if pairs is None:
        pairs = similar_pairs({key: student_code(sub) for key, sub in submissions.items()},
                              handout_code() if handout is None else handout)
    write_text_atomic(Path(outdir) / PAGE, render_page(pairs, title))
    return list(pairs)


def start_similar_pairs(submissions: dict[str, Submission], assignment_folder: Path) -> Callable[[], list[Pair]]:
    """Start ``similar_pairs`` of ``submissions`` against the handout of the assignment authored in
    ``assignment_folder``, in a forked process; return a function that waits for the pairs.

    The comparison needs the code only, not the grades, so a batch runs it while the class is graded
    (tokenizing and comparing every pair is otherwise a few seconds of the parent's time after it).
    The function raises RuntimeError if the process failed or was interrupted.
    """
    import multiprocessing

    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_send_similar_pairs, args=(receive, send, submissions, assignment_folder),
                              daemon=True)
    process.start()
    send.close()

    def wait() -> list[Pair]:
        try:
            kind, value = receive.recv()
        except EOFError:
            raise RuntimeError("the comparison process ended without an answer "
                               f"(exit code {process.exitcode})") from None
        finally:
            receive.close()
            process.join(timeout=5)
        if kind != "pairs":
            raise RuntimeError(value)
        return value

    return wait


def _send_similar_pairs(receive, send, submissions: dict[str, Submission],  # noqa: ANN001
                        assignment_folder: Path) -> None:
    # Hold neither the parent's end of the pipe (if the parent dies, sending fails instead of blocking
    # forever) nor its stdout and stderr (a caller waiting for them to close must not wait for us).
    # Nor any other inherited descriptor, such as the batch's lock on OUTDIR: after a kill -9 of the
    # batch, a rerun must not find OUTDIR locked while this process finishes.
    receive.close()
    import os

    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    keep = send.fileno()
    os.closerange(3, keep)
    os.closerange(keep + 1, 1 << 16)
    try:
        pairs = similar_pairs({key: student_code(sub) for key, sub in submissions.items()},
                              handout_code(assignment_folder))
        send.send(("pairs", pairs))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which notes it
        send.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        send.close()
