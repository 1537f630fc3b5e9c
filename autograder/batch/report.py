"""The batch report: ``OUTDIR/report.html`` with PNG plots in ``OUTDIR/report/``, readable offline.

Plots (matplotlib, Agg canvas, no pyplot state): the score histogram, the full-marks rate of each
part, the most frequent diagnosed mistakes, and the slowest submissions. Every piece of text that
came from a submission or the export (ids, names, emails, messages) is HTML-escaped.
"""

from __future__ import annotations

import html
import importlib
import io
import statistics
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from ..fileio import write_bytes_atomic, write_text_atomic
from .feedback import FOLDER as FEEDBACK_FOLDER
from .feedback import has_feedback
from .gradebook import FAILED, GRADED, GRADER_ERROR, NOT_GRADABLE, PENDING, SKIPPED, Row
from .similarity import DISCLAIMER, Pair
from .similarity import PAGE as SIMILARITY_PAGE

PLOTS = {
    "score_histogram.png": "Score histogram",
    "part_pass_rate.png": "Full-marks rate per part",
    "mistakes.png": "Most frequent diagnosed mistakes",
    "slowest.png": "Slowest submissions",
}
TOP_MISTAKES = 12
TOP_SLOWEST = 15
FULL_MARKS_SLACK = 1e-6  # a part counts as passed when score >= max - this (scores are rounded sums)


@dataclass(frozen=True)
class PartInfo:
    name: str
    points: float


@dataclass
class ReportContext:
    """What the report says about the batch besides the rows."""

    title: str
    input: str
    kind: str
    isolation: str
    notes: Sequence[str] = ()
    suite: str = "npg"
    duplicates: int = 0
    late_policy: str = ""  # the policy's description, when some submission's lateness is known
    similar_pairs: Optional[Sequence[Pair]] = None  # most similar pairs of student code; None: not computed


def mistake_titles(suite: str) -> dict[str, str]:
    """Readable titles of the suite's catalogued mistakes (empty if the suite has no catalogue)."""
    from ..errors import UserError
    from ..registry import get

    try:
        module = importlib.import_module(f"{get(suite).suite_module}.mistakes")
    except (ImportError, UserError):
        return {}
    catalogue = getattr(module, "MISTAKES", {})
    return {key: getattr(m, "title", key) for key, m in catalogue.items()}


def write_report(outdir: Path, rows: Sequence[Row], parts: Sequence[PartInfo], context: ReportContext) -> Path:
    """Draw the plots and write ``outdir/report.html``; returns its path."""
    folder = Path(outdir) / "report"
    titles = mistake_titles(context.suite)
    figures = {
        "score_histogram.png": _score_histogram(rows, sum(p.points for p in parts)),
        "part_pass_rate.png": _part_pass_rate(rows, parts),
        "mistakes.png": _mistakes(rows, titles),
        "slowest.png": _slowest(rows),
    }
    for name, png in figures.items():
        write_bytes_atomic(folder / name, png)
    path = Path(outdir) / "report.html"
    write_text_atomic(path, render_html(rows, parts, context, titles))
    return path


# -- plots ----------------------------------------------------------------------------------------

def _figure(width: float, height: float):  # noqa: ANN202 -- matplotlib types
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:  # noqa: ANN001
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _no_data(fig, text: str) -> bytes:  # noqa: ANN001
    ax = fig.add_subplot()
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=12, color="#555555")
    return _png(fig)


def _scored(rows: Sequence[Row]) -> list[Row]:
    return [r for r in rows if r.total is not None]


def _score_histogram(rows: Sequence[Row], max_total: float) -> bytes:
    fig = _figure(7.5, 4.0)
    totals = [r.total for r in _scored(rows)]
    if not totals:
        return _no_data(fig, "No submission has a score yet")
    ax = fig.add_subplot()
    top = max(max_total, max(totals)) or 1.0
    ax.hist(totals, bins=20, range=(0.0, top), color="#4c72b0", edgecolor="white")
    mean, median = statistics.fmean(totals), statistics.median(totals)
    ax.axvline(mean, color="#dd8452", linestyle="--", label=f"mean {mean:.1f}")
    ax.axvline(median, color="#55a868", linestyle=":", label=f"median {median:.1f}")
    ax.set_xlabel(f"total score (of {max_total:g})")
    ax.set_ylabel("submissions")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(f"Scores of {len(totals)} submissions")
    ax.legend(loc="upper left")
    return _png(fig)


def _part_pass_rate(rows: Sequence[Row], parts: Sequence[PartInfo]) -> bytes:
    graded = [r for r in rows if r.summary is not None]
    fig = _figure(7.5, 0.35 * len(parts) + 1.4)
    if not graded or not parts:
        return _no_data(fig, "No graded submission yet")
    ax = fig.add_subplot()
    rates = [part_full_marks_rate(graded, p) for p in parts]
    names = [p.name for p in parts]
    positions = range(len(parts))[::-1]
    ax.barh(list(positions), [100 * r for r in rates], color="#55a868")
    for y, rate in zip(positions, rates):
        ax.text(min(100 * rate + 1, 92), y, f"{100 * rate:.0f}%", va="center", fontsize=8)
    ax.set_yticks(list(positions), names, fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"% of {len(graded)} graded submissions with full marks")
    return _png(fig)


def part_full_marks_rate(graded: Sequence[Row], part: PartInfo) -> float:
    """Fraction of ``graded`` rows with all of ``part``'s points."""
    if not graded:
        return 0.0
    return sum(r.part_scores().get(part.name, 0.0) >= part.points - FULL_MARKS_SLACK for r in graded) / len(graded)


def mistake_counts(rows: Sequence[Row]) -> Counter:
    """How many submissions each diagnosed mistake was found in."""
    return Counter(m for r in rows for m in set(r.mistakes))


def _mistakes(rows: Sequence[Row], titles: dict[str, str]) -> bytes:
    counts = mistake_counts(rows).most_common(TOP_MISTAKES)
    fig = _figure(7.5, 0.35 * max(len(counts), 1) + 1.4)
    if not counts:
        return _no_data(fig, "No known mistake was diagnosed")
    ax = fig.add_subplot()
    positions = list(range(len(counts)))[::-1]
    ax.barh(positions, [n for _k, n in counts], color="#c44e52")
    ax.set_yticks(positions, [_short(titles.get(k, k), 48) for k, _n in counts], fontsize=8)
    ax.set_xlabel("submissions")
    ax.xaxis.get_major_locator().set_params(integer=True)
    return _png(fig)


def _slowest(rows: Sequence[Row]) -> bytes:
    timed = sorted((r for r in rows if r.seconds is not None), key=lambda r: -r.seconds)[:TOP_SLOWEST]
    fig = _figure(7.5, 0.3 * max(len(timed), 1) + 1.4)
    if not timed:
        return _no_data(fig, "No graded submission yet")
    ax = fig.add_subplot()
    positions = list(range(len(timed)))[::-1]
    ax.barh(positions, [r.seconds for r in timed], color="#8172b3")
    ax.set_yticks(positions, [_short(r.entry.id, 30) for r in timed], fontsize=8)
    ax.set_xlabel("grading time (s)")
    return _png(fig)


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "\u2026"


# -- HTML -----------------------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1100px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.figures { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; } figure img { max-width: 100%; border: 1px solid #eee; }
.status-graded { color: #2a7a2a; } .status-failed, .status-grader-error { color: #b00020; }
.status-not-gradable { color: #a05a00; } .status-pending, .status-skipped { color: #666; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.5em 1em; }
"""


def render_html(rows: Sequence[Row], parts: Sequence[PartInfo], context: ReportContext,
                titles: Optional[dict[str, str]] = None) -> str:
    """The report page (references the PNGs in ``report/``)."""
    e = html.escape
    titles = titles or {}
    scored = [r.total for r in _scored(rows)]
    graded = [r for r in rows if r.summary is not None]
    max_total = sum(p.points for p in parts)
    statuses = Counter(r.status for r in rows)
    submissions = [r for r in rows if r.status != SKIPPED]  # a loose file in INPUT is no student
    students = sum(max(1, len(r.entry.submitters)) for r in submissions)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(context.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(context.title)}</h1>",
        f"<p>Input: <code>{e(context.input)}</code> ({e(context.kind)}). Generated "
        f"{e(time.strftime('%Y-%m-%d %H:%M'))}. Sandbox: {e(context.isolation)}.</p>",
    ]
    for note in context.notes:
        out.append(f'<p class="note">{e(note)}</p>')
    out.append("<h2>Summary</h2><table>")
    summary = [
        ("Submissions", f"{len(submissions)} ({students} students)"),
        ("Graded", str(statuses[GRADED] + statuses[GRADER_ERROR])),
        ("Not gradable (score 0)", str(statuses[NOT_GRADABLE])),
        ("Failed (rerun to retry)", str(statuses[FAILED])),
        ("Pending (interrupted; rerun to continue)", str(statuses[PENDING])),
        ("Skipped (not submissions)", str(statuses[SKIPPED])),
    ]
    if context.late_policy:
        late = [r for r in rows if r.late is not None and r.late.seconds_late > 0]
        summary.append(("Late submissions", f"{len(late)} ({context.late_policy})"))
    if context.duplicates:
        summary.append(("Same code as another submission (graded once)", str(context.duplicates)))
    if scored:
        summary += [
            ("Mean score", f"{statistics.fmean(scored):.2f} / {max_total:g}"),
            ("Median score", f"{statistics.median(scored):.2f}"),
            ("Standard deviation", f"{statistics.pstdev(scored):.2f}"),
            ("Lowest / highest", f"{min(scored):.2f} / {max(scored):.2f}"),
            ("Full marks", str(sum(t >= max_total - FULL_MARKS_SLACK for t in scored))),
        ]
    out += [f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in summary]
    out.append("</table>")

    out.append('<h2>Plots</h2><div class="figures">')
    for name, caption in PLOTS.items():
        out.append(f'<figure><img src="report/{name}" alt="{e(caption)}"><figcaption>{e(caption)}'
                   "</figcaption></figure>")
    out.append("</div>")

    out.append("<h2>Parts</h2><table><tr><th>part</th><th>points</th><th>mean</th><th>full marks</th></tr>")
    for part in parts:
        mean = statistics.fmean(r.part_scores().get(part.name, 0.0) for r in graded) if graded else 0.0
        rate = part_full_marks_rate(graded, part)
        out.append(f"<tr><td>{e(part.name)}</td><td class=num>{part.points:g}</td><td class=num>{mean:.2f}</td>"
                   f"<td class=num>{100 * rate:.0f}%</td></tr>")
    out.append("</table>")

    counts = mistake_counts(rows).most_common()
    out.append("<h2>Diagnosed mistakes</h2>")
    if counts:
        out.append("<table><tr><th>mistake</th><th>submissions</th><th>which</th></tr>")
        for key, n in counts:
            who = [r.entry.id for r in rows if key in r.mistakes]
            listed = ", ".join(e(i) for i in who[:20]) + (f", ... ({len(who) - 20} more)" if len(who) > 20 else "")
            out.append(f"<tr><td>{e(titles.get(key, key))} <code>{e(key)}</code></td><td class=num>{n}</td>"
                       f"<td>{listed}</td></tr>")
        out.append("</table>")
    else:
        out.append("<p>No known mistake was diagnosed.</p>")

    if context.similar_pairs is not None:
        out.append("<h2>Code similarity</h2>")
        out.append(f'<p class="note">{e(DISCLAIMER)}</p>')
        if context.similar_pairs:
            out.append(f'<p>The {len(context.similar_pairs)} most similar pairs, with the handout excluded; '
                       f'<a href="{SIMILARITY_PAGE}">{SIMILARITY_PAGE}</a> shows each pair side by side with the '
                       "matching regions highlighted.</p><table><tr><th>#</th><th>submissions</th>"
                       "<th>similarity</th><th>of each one's code</th></tr>")
            for n, p in enumerate(context.similar_pairs, start=1):
                out.append(f'<tr><td class=num>{n}</td><td><a href="{SIMILARITY_PAGE}#pair-{n}">{e(p.label_a)} and '
                           f"{e(p.label_b)}</a></td><td class=num>{100 * p.score:.0f}%</td>"
                           f"<td>{100 * p.similarity_a:.0f}% / {100 * p.similarity_b:.0f}%</td></tr>")
            out.append("</table>")
        else:
            out.append("<p>No two submissions share code beyond the handout.</p>")

    problems = [r for r in rows if r.status != GRADED or r.attention]
    if problems:
        out.append("<h2>Needs attention</h2><table><tr><th>submission</th><th>input name</th><th>status</th>"
                   "<th>why</th></tr>")
        for r in problems:
            why = "\n".join(x for x in [r.error, *r.attention] if x)
            out.append(f"<tr><td>{e(r.entry.id)}</td><td>{e(r.entry.name)}</td>"
                       f"<td class=\"{_status_class(r.status)}\">{e(r.status)}</td>"
                       f"<td><pre>{e(_short(why, 600))}</pre></td></tr>")
        out.append("</table>")

    out.append("<h2>All submissions</h2><p>Each id links to the submission's feedback page (HTML; the same in "
               "Markdown next to it), ready to send to its students.</p>"
               "<table><tr><th>submission</th><th>input name</th><th>students</th><th>total</th><th>late</th>"
               "<th>status</th><th>mistakes</th><th>time (s)</th><th>raw</th></tr>")
    for r in rows:
        names = "<br>".join(e(" ".join(x for x in (s.name, f"({s.sid})" if s.sid else "", s.email) if x))
                            for s in r.entry.submitters)
        quoted = urllib.parse.quote(r.entry.id)
        link = (f'<a href="{FEEDBACK_FOLDER}/{quoted}.html">{e(r.entry.id)}</a>' if has_feedback(r) else e(r.entry.id))
        raw = f'<a href="results/{quoted}.json">json</a>' if r.status not in (SKIPPED, PENDING) else ""
        total = "" if r.total is None else f"{r.total:.2f}"
        late = "" if r.late is None else e(r.late.describe())
        seconds = "" if r.seconds is None else f"{r.seconds:.2f}"
        mistakes = ", ".join(e(titles.get(m, m)) for m in r.mistakes)
        out.append(f"<tr><td>{link}</td><td>{e(r.entry.name)}</td><td>{names}</td><td class=num>{total}</td>"
                   f"<td>{late}</td><td class=\"{_status_class(r.status)}\">{e(r.status)}</td><td>{mistakes}</td>"
                   f"<td class=num>{seconds}</td><td>{raw}</td></tr>")
    out.append("</table></body></html>\n")
    return "\n".join(out)


def _status_class(status: str) -> str:
    return "status-" + status.replace(" ", "-")
