"""HTML report: one self-contained page to open from a CI artifact or attach to an issue.

Self-contained means inline CSS, no fonts, images or scripts from anywhere, so it renders
the same offline, from a zip, or behind a strict Content-Security-Policy. Detail is folded
into ``<details>`` elements, which open without JavaScript.

Every string that came from the server, the command line or the catalogue goes through
:func:`esc`: evidence is whatever bytes the server sent, and a server answering
``<script>`` must not get to run it in the reader's browser.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from pathlib import Path

from conformance.report.markdown import (
    advertised_items,
    duration_text,
    evidence_parts,
    grouped_cases,
    requirement_label,
    totals_by_level,
    visible_controls,
)
from conformance.report.model import VERDICT_ORDER, CaseResult, RunReport
from conformance.verdicts import Verdict

_CSS = """
:root { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; }
body { margin: 2rem auto; max-width: 80rem; padding: 0 1rem; line-height: 1.4; }
h1 { margin-bottom: .25rem; }
dl.info { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dl.info dt { font-weight: 600; } dl.info dd { margin: 0; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 4px; padding: .5rem;
      white-space: pre-wrap; overflow-wrap: anywhere; margin: .25rem 0 .75rem; }
table { border-collapse: collapse; margin: .5rem 0 1.5rem; }
th, td { border: 1px solid #d0d7de; padding: .25rem .5rem; text-align: left;
         vertical-align: top; }
thead th { background: #f6f8fa; }
table.matrix td, table.levels td { text-align: right; min-width: 4rem; }
td.zero { color: #8c959f; }
.v-pass { background: #dafbe1; color: #116329; }
.v-non-strict { background: #fff8c5; color: #7d4e00; }
.v-fail { background: #ffebe9; color: #a40e26; }
.v-na { background: #eaeef2; color: #424a53; }
.v-error { background: #fbefff; color: #6e2fc2; }
.badge { display: inline-block; padding: 0 .4rem; border-radius: 3px; font-weight: 600;
         font-size: .85em; white-space: nowrap; }
.level { font-size: .8em; color: #57606a; }
.bar { display: flex; height: 1.5rem; border: 1px solid #d0d7de; border-radius: 4px;
       overflow: hidden; margin: .5rem 0; }
.bar span { display: block; height: 100%; }
.bar .v-pass { background: #2da44e; } .bar .v-non-strict { background: #d4a72c; }
.bar .v-fail { background: #cf222e; } .bar .v-na { background: #afb8c1; }
.bar .v-error { background: #8250df; }
ul.legend { list-style: none; padding: 0; display: flex; gap: 1rem; flex-wrap: wrap; }
.session-errors { border: 2px solid #cf222e; background: #ffebe9; border-radius: 6px;
                  padding: .5rem 1rem; margin: 1rem 0; }
details summary { cursor: pointer; }
tr.group th { background: #f6f8fa; }
tr.v-fail-row td:first-child, tr.v-error-row td:first-child { border-left: 4px solid #cf222e; }
blockquote { margin: .25rem 0 .75rem; padding-left: .75rem; border-left: 3px solid #d0d7de;
             color: #57606a; }
h4 { margin: .5rem 0 0; font-size: .9em; }
"""


def esc(text: str) -> str:
    """HTML-escape (quotes included, so it is safe in attributes too), with control
    characters made visible rather than left to the browser to drop."""
    return html.escape(visible_controls(text), quote=True)


def verdict_class(verdict: Verdict | str) -> str:
    """CSS class for a verdict: ``n/a`` is not a usable class name, so ``v-na``."""
    value = verdict.value if isinstance(verdict, Verdict) else verdict
    return "v-" + value.replace("/", "")


def badge(verdict: Verdict) -> str:
    return f'<span class="badge {verdict_class(verdict)}">{esc(verdict.value.upper())}</span>'


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
        f"<title>{title}</title>\n<style>{_CSS}</style>\n</head>\n"
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
    rows = "\n".join(_case_rows(grouped_cases(report.cases).items()))
    return (
        '<h2>Cases</h2>\n<table class="cases">\n<thead><tr><th scope="col">verdict</th>'
        '<th scope="col">requirement</th><th scope="col">reference</th>'
        '<th scope="col">case</th><th scope="col">summary</th></tr></thead>\n'
        f"<tbody>\n{rows}\n</tbody>\n</table>"
    )


def _case_rows(groups: Iterable[tuple[str, list[CaseResult]]]) -> list[str]:
    rows: list[str] = []
    for group, cases in groups:
        rows.append(f'<tr class="group"><th colspan="5" scope="rowgroup">{esc(group)}</th></tr>')
        rows.extend(_case_row(case) for case in cases)
    return rows


def _case_row(case: CaseResult) -> str:
    req = case.requirement
    level = f"{req.level}, derived" if req.derived else req.level
    summary = esc(req.summary)
    if case.verdict is not Verdict.PASS:
        summary = _details(case, summary)
    return (
        f'<tr class="{verdict_class(case.verdict)}-row">'
        f"<td>{badge(case.verdict)}</td>"
        f'<td><code>{esc(req.id)}</code> <span class="level">{esc(level)}</span></td>'
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
