"""The cross-server comparison: several runs side by side, as HTML and as summary.md.

A framework author choosing a server asks "which one does what my app needs"; a server
author asks "where do we differ from the others". Both questions are answered by the
same two views of the runs' JSON reports (:mod:`conformance.report.json_report`):

- a matrix of requirement groups × servers (how much of each group passes), with a
  pass-rate chart drawn as inline SVG;
- the cases where the servers disagree, one row each with every server's verdict.

Both renderings are deterministic for the same verdicts (no dates, no durations, sorted
rows), so a committed ``reports/summary.md`` only changes when a verdict or a version does.
The HTML page is self-contained like the single-run report: inline CSS and SVG, no script.
"""

from __future__ import annotations

import platform
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import conformance
from conformance.report import _markdown_syntax as md
from conformance.report._html_syntax import CSS, badge, esc, verdict_class
from conformance.report._text import plain_value
from conformance.report.model import VERDICT_ORDER, CaseResult, RunReport
from conformance.verdicts import Verdict

GROUP_ORDER = ("MAIN", "HTTP", "LIFE", "WS", "EXT", "H2ASGI", "RFC9112", "RFC9110",
               "RFC6585", "RFC6455", "RFC7692", "AB", "RFC9113", "RFC7540", "RFC7541",
               "RFC8441", "FW")
"""Requirement groups in reading order: ASGI first, then the RFCs (HTTP/1.1, WebSocket and
Autobahn, HTTP/2), frameworks."""

GROUP_NAMES = {
    "MAIN": "ASGI core", "HTTP": "ASGI HTTP", "LIFE": "ASGI lifespan",
    "WS": "ASGI WebSocket", "EXT": "ASGI extensions", "RFC9112": "HTTP/1.1 messages",
    "RFC9110": "HTTP semantics", "RFC6585": "HTTP status codes", "RFC6455": "WebSocket handshake",
    "AB": "Autobahn WebSocket", "FW": "Frameworks", "H2ASGI": "ASGI over HTTP/2",
    "RFC7692": "WebSocket permessage-deflate", "RFC9113": "HTTP/2 (h2spec port, DoS family)",
    "RFC7540": "HTTP/2 h2c upgrade", "RFC7541": "HPACK", "RFC8441": "WebSocket over HTTP/2",
}
_Row = tuple[str, CaseResult, list[CaseResult | None]]
_BAR_COLOURS = {Verdict.PASS: "#2da44e", Verdict.NON_STRICT: "#d4a72c",
                Verdict.FAIL: "#cf222e", Verdict.ERROR: "#8250df",
                Verdict.NOT_APPLICABLE: "#afb8c1"}


@dataclass
class Column:
    """One server of the comparison: its run, or why there is none."""

    name: str
    report: RunReport | None = None
    problem: str = ""
    """Why the run is missing or incomplete (not installed, timed out, harness errors)."""

    @property
    def version(self) -> str:
        return self.report.server.version if self.report else ""

    def verdicts(self) -> dict[str, CaseResult]:
        return {c.case_id: c for c in self.report.cases} if self.report else {}


@dataclass
class Comparison:
    columns: list[Column]
    command: str = ""
    """How the comparison was produced, as the user would retype it."""
    python: str = field(default_factory=lambda: platform.python_version())
    platform: str = field(default_factory=lambda: f"{platform.system()} {platform.machine()}")

    def groups(self) -> list[str]:
        seen = {c.requirement.group for col in self.columns if col.report
                for c in col.report.cases}
        known = [g for g in GROUP_ORDER if g in seen]
        return known + sorted(seen - set(known))

    def group_counts(self, column: Column, group: str) -> Counter[Verdict]:
        if column.report is None:
            return Counter()
        return Counter(c.verdict for c in column.report.cases if c.requirement.group == group)

    def disagreements(self) -> list[_Row]:
        """Cases whose verdict is not the same on every server that ran them."""
        tables = [col.verdicts() for col in self.columns]
        ran = sum(1 for col in self.columns if col.report is not None)
        rows = []
        for case_id in sorted(set().union(*tables)):
            results = [table.get(case_id) for table in tables]
            present = [r for r in results if r is not None]
            # A server without a report is shown as such, not as a disagreement per case.
            if len({r.verdict for r in present}) > 1 or len(present) < ran:
                rows.append((case_id, present[0], results))
        rows.sort(key=lambda row: (_group_rank(row[1].requirement.group), row[0]))
        return rows


def _group_rank(group: str) -> tuple[int, str]:
    return (GROUP_ORDER.index(group) if group in GROUP_ORDER else len(GROUP_ORDER), group)


def pass_rate(counts: Counter[Verdict]) -> float | None:
    """Passed (strictly or not) over judged cases; n/a cases are not judged."""
    judged = sum(n for v, n in counts.items() if v is not Verdict.NOT_APPLICABLE)
    if not judged:
        return None
    return (counts[Verdict.PASS] + counts[Verdict.NON_STRICT]) / judged


def _rate_text(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f} %"


# --- markdown (reports/summary.md) --------------------------------------------------------------


def render_summary(comparison: Comparison) -> str:
    cols = comparison.columns
    parts = [
        "# ASGI server conformance: summary\n",
        f"Generated by `{comparison.command or 'python -m conformance compare'}` with "
        f"asgi-conformance {conformance.__version__} on Python {comparison.python} "
        f"({comparison.platform}). Each server ran the whole suite with the same apps; "
        "`python -m conformance compare` regenerates this file and "
        "`reports/comparison.html` (matrix, chart and every disagreement with its "
        "evidence in the per-server reports).\n",
        "## Servers\n",
        md.table(["server", "version", "asgi.version", "http spec_version",
                  "extensions advertised", "run"],
                 [_server_row(col) for col in cols]) + "\n",
        "## Verdicts\n",
        "Pass rate = (pass + non-strict) / cases judged (n/a cases are not judged). A "
        "failed SHOULD or MAY is non-strict, so every fail is a MUST or WILL.\n",
        md.table(["server", *(v.value for v in VERDICT_ORDER), "pass rate"],
                 [_totals_row(col) for col in cols], numeric_from=1) + "\n",
        "## By requirement group\n",
        "Passed / judged per group (n/a cases are left out).\n",
        md.table(["group", *(col.name for col in cols)],
                 [[f"{GROUP_NAMES.get(g, g)} ({g})",
                   *(_group_cell(comparison.group_counts(col, g)) for col in cols)]
                  for g in comparison.groups()], numeric_from=1) + "\n",
    ]
    rows = comparison.disagreements()
    judged = [row for row in rows if not _applicability_only(row[2])]
    parts.append(f"## Cases where the servers disagree ({len(judged)})\n")
    if len(judged) < len(rows):
        parts.append(f"{len(rows) - len(judged)} more cases differ only in whether they "
                     "apply (pass on the servers that advertise the feature, n/a on the "
                     "others); `comparison.html` lists them too.\n")
    if judged:
        parts.append(md.table(
            ["case", "requirement", *(col.name for col in cols)],
            [[md.code(case_id, in_table=True),
              f"{first.requirement.id} ({first.requirement.level})",
              *(md.verdict_label(r.verdict) if r else "not run" for r in results)]
             for case_id, first, results in judged]) + "\n")
    elif not rows:
        parts.append("None: every case got the same verdict on every server.\n")
    return "\n".join(parts)


def _applicability_only(results: Sequence[CaseResult | None]) -> bool:
    return all(r.verdict in (Verdict.PASS, Verdict.NOT_APPLICABLE)
               for r in results if r is not None)


def _server_row(col: Column) -> list[str]:
    if col.report is None:
        return [col.name, "", "", "", "", col.problem or "no report"]
    advertised = col.report.server.advertised
    extensions = advertised.get("http.extensions") or []
    return [
        col.name, col.version, plain_value(advertised.get("asgi.version")),
        plain_value(advertised.get("http.spec_version")),
        ", ".join(str(e) for e in extensions) or "none",
        col.problem or "complete",
    ]


def _totals_row(col: Column) -> list[str]:
    if col.report is None:
        return [col.name, *("" for _ in VERDICT_ORDER), "–"]
    totals = col.report.totals()
    counts = Counter({v: totals[v.value] for v in VERDICT_ORDER})
    return [col.name, *(str(totals[v.value]) for v in VERDICT_ORDER),
            _rate_text(pass_rate(counts))]


def _group_cell(counts: Counter[Verdict]) -> str:
    judged = sum(n for v, n in counts.items() if v is not Verdict.NOT_APPLICABLE)
    if not counts:
        return ""
    if not judged:
        return "n/a"
    passed = counts[Verdict.PASS] + counts[Verdict.NON_STRICT]
    return f"{passed} / {judged}"


# --- HTML (reports/comparison.html) -------------------------------------------------------------

_EXTRA_CSS = """
table.compare td.cell { text-align: center; }
table.compare td.rate-high { background: #dafbe1; }
table.compare td.rate-mid { background: #fff8c5; }
table.compare td.rate-low { background: #ffebe9; }
table.compare td:first-child { max-width: 28rem; overflow-wrap: anywhere; }
svg.chart text { font: 12px system-ui, sans-serif; fill: #1f2328; }
"""


def render_comparison_html(comparison: Comparison) -> str:
    cols = comparison.columns
    rows = comparison.disagreements()
    judged = [row for row in rows if not _applicability_only(row[2])]
    applicability = [row for row in rows if _applicability_only(row[2])]
    body = "\n".join((
        "<h1>ASGI server conformance: comparison</h1>",
        f"<p>Generated by <code>{esc(comparison.command)}</code> with asgi-conformance "
        f"{esc(conformance.__version__)} on Python {esc(comparison.python)} "
        f"({esc(comparison.platform)}).</p>",
        "<h2>Servers</h2>",
        _html_table(["server", "version", "asgi.version", "http spec_version",
                     "extensions advertised", "run"], [_server_row(c) for c in cols]),
        "<h2>Pass rate</h2>",
        _chart(cols),
        "<h2>Requirement groups × servers</h2>",
        "<p>Passed / judged per group; n/a cases are left out.</p>",
        _matrix(comparison),
        f"<h2>Cases where the servers disagree ({len(judged)})</h2>",
        _disagreement_table(cols, judged, "disagreements") if judged else
        "<p>None: every case got the same verdict on every server.</p>",
        _applicability_section(cols, applicability),
    ))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>ASGI conformance: comparison</title>\n"
        f"<style>{CSS}{_EXTRA_CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _html_table(header: Sequence[str], rows: Iterable[Sequence[str]],
                css_class: str = "") -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>"
                   for row in rows)
    cls = f' class="{css_class}"' if css_class else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _chart(cols: Sequence[Column]) -> str:
    """One stacked bar per server: pass, non-strict, fail, error, n/a, to scale."""
    label_width, bar_width, row_height = 130, 520, 26
    height = row_height * len(cols) + 30
    parts = [f'<svg class="chart" role="img" aria-label="verdicts per server" '
             f'xmlns="http://www.w3.org/2000/svg" width="{label_width + bar_width + 90}" '
             f'height="{height}">']
    for index, col in enumerate(cols):
        y = index * row_height + 4
        parts.append(f'<text x="0" y="{y + 15}">{esc(col.name)}</text>')
        if col.report is None:
            parts.append(f'<text x="{label_width}" y="{y + 15}">{esc(col.problem)}</text>')
            continue
        counts = Counter(c.verdict for c in col.report.cases)
        total = sum(counts.values()) or 1
        x = float(label_width)
        for verdict in (Verdict.PASS, Verdict.NON_STRICT, Verdict.FAIL, Verdict.ERROR,
                        Verdict.NOT_APPLICABLE):
            width = bar_width * counts[verdict] / total
            if width:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="18" '
                    f'fill="{_BAR_COLOURS[verdict]}"><title>{esc(col.name)}: '
                    f'{counts[verdict]} {esc(verdict.value)}</title></rect>')
            x += width
        parts.append(f'<text x="{label_width + bar_width + 6}" y="{y + 15}">'
                     f'{esc(_rate_text(pass_rate(counts)))}</text>')
    legend_y = row_height * len(cols) + 20
    x = label_width
    for verdict, colour in _BAR_COLOURS.items():
        parts.append(f'<rect x="{x}" y="{legend_y - 10}" width="10" height="10" '
                     f'fill="{colour}"/><text x="{x + 14}" y="{legend_y}">'
                     f'{esc(verdict.value)}</text>')
        x += 90
    parts.append("</svg>")
    return "".join(parts)


def _matrix(comparison: Comparison) -> str:
    cols = comparison.columns
    head = "<th>group</th>" + "".join(f"<th>{esc(c.name)}</th>" for c in cols)
    rows = []
    for group in comparison.groups():
        cells = [f"<th>{esc(GROUP_NAMES.get(group, group))} ({esc(group)})</th>"]
        for col in cols:
            counts = comparison.group_counts(col, group)
            rate = pass_rate(counts)
            css = ("" if rate is None else "rate-high" if rate >= 0.95
                   else "rate-mid" if rate >= 0.8 else "rate-low")
            title = ", ".join(f"{n} {v.value}" for v, n in sorted(
                counts.items(), key=lambda item: VERDICT_ORDER.index(item[0])))
            cells.append(f'<td class="cell {css}" title="{esc(title)}">'
                         f"{esc(_group_cell(counts))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table class="compare matrix" id="matrix"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def _applicability_section(cols: Sequence[Column], rows: list[_Row]) -> str:
    if not rows:
        return ""
    return (f"<details><summary>{len(rows)} more cases differ only in whether they apply "
            "(pass where the server advertises the feature, n/a elsewhere)</summary>"
            f"{_disagreement_table(cols, rows, 'applicability')}</details>")


def _disagreement_table(cols: Sequence[Column], rows: list[_Row], table_id: str) -> str:
    head = ("<th>case</th><th>requirement</th>"
            + "".join(f"<th>{esc(c.name)}</th>" for c in cols))
    body = []
    for case_id, first, results in rows:
        req = first.requirement
        cells = [f"<td><code>{esc(case_id)}</code></td>",
                 f'<td title="{esc(req.summary)}">{esc(req.id)} '
                 f'<span class="level">{esc(req.level)}</span></td>']
        for result in results:
            if result is None:
                cells.append('<td class="cell">not run</td>')
                continue
            message = esc(result.message[:400])
            cells.append(f'<td class="cell {verdict_class(result.verdict)}" '
                         f'title="{message}">{badge(result.verdict)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table class="compare" id="{table_id}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def write_comparison(comparison: Comparison, report_dir: Path) -> dict[str, Path]:
    report_dir.mkdir(parents=True, exist_ok=True)
    paths = {"html": report_dir / "comparison.html", "summary": report_dir / "summary.md"}
    paths["html"].write_text(render_comparison_html(comparison), encoding="utf-8")
    paths["summary"].write_text(render_summary(comparison), encoding="utf-8")
    return paths

