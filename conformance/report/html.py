"""HTML report: one self-contained page to open from a CI artifact or attach to an issue.

Self-contained means inline CSS, no fonts, images or scripts from anywhere, so it renders
the same offline, from a zip, or behind a strict Content-Security-Policy. Detail is folded
into ``<details>`` elements, which open without JavaScript.

Every string that came from the server, the command line or the catalogue goes through
:func:`esc`: evidence is whatever bytes the server sent, and a server answering
``<script>`` must not get to run it in the reader's browser.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from conformance.report._html_syntax import CSS, badge, esc, verdict_class
from conformance.report._text import (
    advertised_items,
    duration_text,
    evidence_parts,
    requirement_label,
    totals_by_level,
)
from conformance.report.model import VERDICT_ORDER, CaseResult, RunReport
from conformance.verdicts import Verdict


def render_html(report: RunReport) -> str:
    """The whole report as one HTML document."""
    title = esc(f"ASGI conformance: {report.server.name} {report.server.version}".strip())
    body = "\n".join(part for part in (
        f"<h1>{title}</h1>",
        _session_errors(report),
        _header(report),
        _totals_bar(report),
        _matrices(report),
        _cases_table(report),
        _server_stderr(report),
    ) if part)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{CSS}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def write_html(report: RunReport, path: Path) -> None:
    path.write_text(render_html(report), encoding="utf-8")


def _session_errors(report: RunReport) -> str:
    """Shown above everything else: when present the verdicts are incomplete."""
    if not report.session_errors:
        return ""
    blocks = "\n".join(f"<pre>{esc(error)}</pre>" for error in report.session_errors)
    return (
        '<section class="session-errors" role="alert">\n<h2>Session errors</h2>\n'
        "<p>The run did not complete normally; the verdicts below may be incomplete.</p>\n"
        f"{blocks}\n</section>"
    )


def _header(report: RunReport) -> str:
    server = report.server
    rows = [("command", f"<code>{esc(server.command) or '(none)'}</code>")]
    rows.extend((key, esc(value)) for key, value in advertised_items(server))
    rows.append(("run", f"{esc(report.started_at or 'unknown date')}, "
                        f"took {esc(duration_text(report.duration))}"))
    if report.suite_version:
        rows.append(("suite version", esc(report.suite_version)))
    items = "\n".join(f"<dt>{esc(key)}</dt><dd>{value}</dd>" for key, value in rows)
    return f'<dl class="info">\n{items}\n</dl>'


def _totals_bar(report: RunReport) -> str:
    """A stacked bar (proportions at a glance) plus a legend with the exact numbers."""
    totals = report.totals()
    total = len(report.cases)
    segments = "".join(
        f'<span class="{verdict_class(v)}" style="width:{100 * n / total:.3f}%" '
        f'title="{esc(v)}: {n}"></span>'
        for v, n in totals.items() if n
    ) if total else ""
    legend = "".join(
        f'<li><span class="badge {verdict_class(v)}">{esc(v)}</span> {n}</li>'
        for v, n in totals.items()
    )
    summary = ", ".join(f"{n} {v}" for v, n in totals.items())
    return (
        f"<h2>Totals</h2>\n<p>{total} case(s): {esc(summary)}</p>\n"
        f'<div class="bar" role="img" aria-label="{esc(summary)}">{segments}</div>\n'
        f'<ul class="legend">{legend}<li><strong>total</strong> {total}</li></ul>'
    )


def _count_table(css_class: str, first: str, counts: dict[str, dict[str, int]]) -> str:
    """Rows × verdict counts; a non-zero cell takes its verdict's colour."""
    head = "".join(f'<th scope="col">{esc(v.value)}</th>' for v in VERDICT_ORDER)
    rows = [_count_row(name, row) for name, row in counts.items()]
    if not rows:
        rows = [f'<tr><td colspan="{len(VERDICT_ORDER) + 2}">No cases were run.</td></tr>']
    body = "\n".join(rows)
    return (
        f'<table class="{css_class}">\n<thead><tr><th scope="col">{esc(first)}</th>{head}'
        f'<th scope="col">total</th></tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>'
    )


def _count_row(name: str, row: dict[str, int]) -> str:
    cells = "".join(_count_cell(v, row.get(v.value, 0)) for v in VERDICT_ORDER)
    return f'<tr><th scope="row">{esc(name)}</th>{cells}<td>{sum(row.values())}</td></tr>'


def _count_cell(verdict: Verdict, count: int) -> str:
    css = verdict_class(verdict) if count else "zero"
    return f'<td class="{css}">{count}</td>'


def _matrices(report: RunReport) -> str:
    return (
        "<h2>By requirement group</h2>\n"
        + _count_table("matrix", "group", report.totals_by_group())
        + "\n<h2>By level</h2>\n"
        + _count_table("levels", "level", totals_by_level(report))
    )


def _cases_table(report: RunReport) -> str:
    if not report.cases:
        return "<h2>Cases</h2>\n<p>No cases were run.</p>"
    rows = "\n".join(_case_rows(report, report.cases_by_group().items()))
    return (
        '<h2>Cases</h2>\n<table class="cases">\n<thead><tr><th scope="col">verdict</th>'
        '<th scope="col">requirement</th><th scope="col">reference</th>'
        '<th scope="col">case</th><th scope="col">summary</th></tr></thead>\n'
        f"<tbody>\n{rows}\n</tbody>\n</table>"
    )


def _case_rows(report: RunReport, groups: Iterable[tuple[str, list[CaseResult]]]
               ) -> list[str]:
    rows: list[str] = []
    for group, cases in groups:
        rows.append(f'<tr class="group"><th colspan="5" scope="rowgroup">{esc(group)}</th></tr>')
        rows.extend(_case_row(case, report.requirement_url(case.requirement.id)
                              if case.verdict in LINKED else "") for case in cases)
    return rows


LINKED = frozenset({Verdict.FAIL, Verdict.ERROR, Verdict.NON_STRICT})
"""Verdicts whose requirement links to the catalogue page: the ones a reader must act on."""


def _case_row(case: CaseResult, url: str = "") -> str:
    """One case; with ``url``, its requirement ID links to the catalogue page's entry."""
    req = case.requirement
    level = f"{req.level}, derived" if req.derived else req.level
    summary = esc(req.summary)
    rid = f'<a href="{esc(url)}">{esc(req.id)}</a>' if url else esc(req.id)
    if case.verdict is not Verdict.PASS:
        summary = _details(case, summary)
    return (
        f'<tr class="{verdict_class(case.verdict)}-row">'
        f"<td>{badge(case.verdict)}</td>"
        f'<td><code>{rid}</code> <span class="level">{esc(level)}</span></td>'
        f"<td>{esc(req.reference)}</td><td><code>{esc(case.case_id)}</code></td>"
        f"<td>{summary}</td></tr>"
    )


def _details(case: CaseResult, summary: str) -> str:
    """What a reader needs to judge a non-pass verdict, folded under the summary."""
    why = {
        Verdict.FAIL: "Failure", Verdict.ERROR: "Harness error",
        Verdict.NON_STRICT: "Lenient choice", Verdict.NOT_APPLICABLE: "Why n/a",
    }.get(case.verdict, "Message")
    parts = [f"<h4>{why}</h4><pre>{esc(case.message or '(no message)')}</pre>"]
    if case.title:
        parts.append(f"<h4>Case</h4><p>{esc(case.title)}</p>")
    if case.requirement.quote:
        parts.append(f"<h4>Spec: {esc(requirement_label(case))}</h4>"
                     f"<blockquote>{esc(case.requirement.quote)}</blockquote>")
    parts.extend(f"<h4>{esc(label)}</h4><pre>{esc(text)}</pre>"
                 for label, text in evidence_parts(case.evidence))
    body = "\n".join(parts)
    return f'<details class="case"><summary>{summary}</summary>\n{body}\n</details>'


def _server_stderr(report: RunReport) -> str:
    if not report.server.stderr_tail:
        return ""
    return (
        '<h2>Server stderr</h2>\n<details class="stderr"><summary>last lines</summary>'
        f"<pre>{esc(report.server.stderr_tail)}</pre></details>"
    )
