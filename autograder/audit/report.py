"""The audit's outputs: a terminal table, ``audit.json`` and a self-contained ``audit.html``."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Optional

from ..fileio import write_json_atomic, write_text_atomic
from .api import FAMILY_TITLES, AuditReport, MutantResult
from .mutants import FAMILIES, OPERATORS

__all__ = ["terminal_table", "write_reports", "html_report"]


def _pct(x: Optional[float]) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _table(title: str, rows: dict[str, dict[str, Any]], total: dict[str, Any]) -> list[str]:
    head = f"{title:<26} {'mutants':>7} {'killed':>6} {'surv.':>5} {'equiv.':>6} {'err':>3} {'score':>7} {'named':>7}"
    lines = [head, "-" * len(head)]
    for name, s in list(rows.items()) + [("all", total)]:
        if name == "all":
            lines.append("-" * len(head))
        lines.append(f"{name:<26} {s['mutants']:>7} {s['killed']:>6} {s['survived']:>5} {s['equivalent']:>6} "
                     f"{s['error']:>3} {_pct(s['mutation_score']):>7} {_pct(s['named_mistake_share']):>7}")
    return lines


def terminal_table(report: AuditReport, survivors: int = 50) -> str:
    """Per part and per operator: mutants, killed, survived, equivalent, score, named-mistake share;
    then each survivor's one-line diff and the cases it passed."""
    total = report.summary()
    lines = _table("part", report.by("part"), total)
    lines.append("")
    lines += _table("operator", {f"{name} ({FAMILIES[name]})": s for name, s in report.by("operator").items()}, total)
    lines.append("")
    lines += _table("operator family", {FAMILY_TITLES[f]: s for f, s in report.family_scores().items()}, total)
    lines.append("")
    lines.append("score = killed / (killed + survived), equivalent mutants excluded; named = share of killed "
                 "mutants whose feedback names a catalogued mistake.")
    if report.extras:
        lines.append("")
        lines.append(f"Hand-written wrong submissions ({len(report.extras)}):")
        for r in report.extras:
            lines.append(f"  {r.status:<10} {r.file}: {r.diagnostic or r.error or r.probe_difference}"[:160])
    surv = report.survivors
    if surv:
        lines.append("")
        lines.append(f"Survivors ({len(surv)}):")
        for r in surv[:survivors]:
            lines.append(f"  {r.id}  [{r.operator}] {r.description}")
            lines.append(f"    - {r.original}")
            lines.append(f"    + {r.mutated}")
            lines.append(f"    passed {len(r.passed_cases)} cases of {r.part}; probes: {r.probe_difference}")
        if len(surv) > survivors:
            lines.append(f"  ... {len(surv) - survivors} more in the JSON/HTML report")
    for r in report.errors:
        lines.append(f"ERROR {r.id}: {r.error}")
    lines.append("")
    for family, s in report.family_scores().items():
        lines.append(f"Mutation score, {FAMILY_TITLES[family]}: {_pct(s['mutation_score'])} ({s['killed']} killed, "
                     f"{s['survived']} survived, {s['equivalent']} probably equivalent, of {s['mutants']} mutants)")
    lines.append(f"Mutation score: {_pct(total['mutation_score'])} ({total['killed']} killed, {total['survived']} "
                 f"survived, {total['equivalent']} probably equivalent, of {total['mutants']} mutants) in "
                 f"{report.seconds:.1f} s with {report.jobs} jobs (sandbox: {report.isolation or '-'}).")
    return "\n".join(lines)


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
pre{background:#f6f8fa;padding:6px;margin:2px 0;white-space:pre-wrap}
.del{color:#b31d28}.add{color:#22863a}
.killed{color:#22863a}.survived{color:#b31d28;font-weight:bold}.equivalent{color:#6f42c1}.error{color:#e36209}
details{margin:4px 0}summary{cursor:pointer}
"""


def _summary_table(title: str, rows: dict[str, dict[str, Any]], total: dict[str, Any]) -> str:
    e = html.escape
    out = [f"<table><tr><th>{e(title)}</th><th>mutants</th><th>killed</th><th>survived</th><th>equivalent</th>"
           "<th>errors</th><th>score</th><th>named mistake</th></tr>"]
    for name, s in list(rows.items()) + [("all", total)]:
        out.append(f"<tr><td>{e(name)}</td><td>{s['mutants']}</td><td>{s['killed']}</td><td>{s['survived']}</td>"
                   f"<td>{s['equivalent']}</td><td>{s['error']}</td><td>{_pct(s['mutation_score'])}</td>"
                   f"<td>{_pct(s['named_mistake_share'])}</td></tr>")
    out.append("</table>")
    return "\n".join(out)


def _mutant_block(r: MutantResult) -> str:
    e = html.escape
    diff = (f"<pre><span class='del'>- {e(r.original)}</span>\n<span class='add'>+ {e(r.mutated)}</span></pre>"
            if r.original or r.mutated else "")
    detail = []
    if r.status == "killed":
        checks = "".join(f"<li>[{e(k['part'])}] {e(k['check'])}"
                         + (f" &mdash; mistake <code>{e(k['mistake'])}</code>" if k.get("mistake") else "")
                         + "</li>" for k in r.killed_by)
        detail.append(f"<p>Killed by {len(r.killed_by)} check(s):</p><ul>{checks}</ul>")
        detail.append(f"<pre>{e(r.diagnostic)}</pre>")
    elif r.status in ("survived", "equivalent"):
        cases = "".join(f"<li>{e(c)}</li>" for c in r.passed_cases)
        detail.append(f"<p>Passed every check; the cases of {e(r.part)}:</p><ul>{cases}</ul>")
        probe = (f"identical to the reference on all {r.probes} probes" if r.status == "equivalent"
                 else f"differs on a probe: {r.probe_difference}")
        detail.append(f"<p>Extra probes: {e(probe)}</p>")
    if r.error:
        detail.append(f"<p class='error'>{e(r.error)}</p>")
    label = f"<span class='{e(r.status)}'>{e(r.status)}</span> <code>{e(r.id)}</code> [{e(r.operator)}] " \
            f"{e(r.description)}"
    is_open = " open" if r.status == "survived" else ""
    return f"<details{is_open}><summary>{label}</summary>{diff}{''.join(detail)}</details>"


def html_report(report: AuditReport) -> str:
    """The audit as one self-contained HTML page (every diff and message escaped)."""
    e = html.escape
    total = report.summary()
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Mutation audit of the NPG suite</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Mutation audit of the NPG grading suite</h1>",
        f"<p>Mutation score <b>{_pct(total['mutation_score'])}</b>: {total['killed']} killed, {total['survived']} "
        f"survived, {total['equivalent']} probably equivalent, {total['error']} errors, of {total['mutants']} "
        f"generated mutants. {_pct(total['named_mistake_share'])} of killed mutants get feedback naming a "
        f"catalogued mistake. {report.seconds:.1f} s with {report.jobs} jobs (sandbox: {e(report.isolation)}).</p>",
        "<p>" + "; ".join(f"{e(FAMILY_TITLES[f])}: <b>{_pct(s['mutation_score'])}</b> ({s['killed']} killed, "
                          f"{s['survived']} survived, {s['equivalent']} probably equivalent)"
                          for f, s in report.family_scores().items()) + "</p>",
        "<h2>Per operator family</h2>",
        _summary_table("family", {FAMILY_TITLES[f]: s for f, s in report.family_scores().items()}, total),
        "<h2>Per part</h2>", _summary_table("part", report.by("part"), total),
        "<h2>Per operator</h2>",
        _summary_table("operator", {f"{name} ({FAMILIES[name]})": s for name, s in report.by("operator").items()},
                       total),
        "<ul>" + "".join(f"<li><code>{e(k)}</code> ({e(FAMILIES[k])}): {e(v)}</li>" for k, v in OPERATORS.items()
                         if k in report.operators) + "</ul>",
    ]
    survivors = report.survivors
    parts.append(f"<h2>Survivors ({len(survivors)})</h2>")
    parts += [_mutant_block(r) for r in survivors] or ["<p>None.</p>"]
    if report.extras:
        parts.append(f"<h2>Hand-written wrong submissions ({len(report.extras)})</h2>")
        parts += [_mutant_block(r) for r in report.extras]
    parts.append("<h2>All mutants</h2>")
    for part, rows in _group(report.results).items():
        parts.append(f"<h3>{e(part)}</h3>")
        parts += [_mutant_block(r) for r in rows]
    parts.append("</body></html>")
    return "\n".join(parts)


def _group(results: list[MutantResult]) -> dict[str, list[MutantResult]]:
    out: dict[str, list[MutantResult]] = {}
    for r in results:
        out.setdefault(r.part, []).append(r)
    return out


def write_reports(report: AuditReport, folder: Path) -> tuple[Path, Path]:
    """Write ``folder/audit.json`` and ``folder/audit.html`` atomically; return their paths."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        from ..errors import UserError

        raise UserError(f"{folder} is a file; -o needs a folder for audit.json and audit.html")
    json_path, html_path = folder / "audit.json", folder / "audit.html"
    write_json_atomic(json_path, report.to_json())
    write_text_atomic(html_path, html_report(report), mode=0o644)  # a report to open, not a secret
    return json_path, html_path
