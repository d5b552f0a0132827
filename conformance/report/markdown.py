"""Markdown report: the one a server author pastes into an issue or reads in a terminal.

It has to survive whatever the server sent back: every piece of text goes through the
building blocks of :mod:`conformance.report._markdown_syntax` (escaped inline text, code
spans and fences that no content can close early), and the server and evidence are
described in the words of :mod:`conformance.report._text`, shared with the other formats.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from conformance.report._markdown_syntax import code, escape, fence, table, verdict_label
from conformance.report._text import (
    advertised_items,
    duration_text,
    evidence_parts,
    requirement_label,
    totals_by_level,
)
from conformance.report.model import VERDICT_ORDER, CaseResult, RunReport
from conformance.verdicts import Verdict

# --- sections -------------------------------------------------------------------------------


def render_markdown(report: RunReport) -> str:
    """The whole report as one markdown document."""
    sections = [
        _title(report),
        _session_errors(report),
        _run_info(report),
        _totals(report),
        _by_level(report),
        _by_group(report),
        _cases(report),
        _failures(report),
        _lenient(report, Verdict.NON_STRICT, "Non-strict", "lenient choice"),
        _lenient(report, Verdict.NOT_APPLICABLE, "Not applicable", "reason"),
        _server_stderr(report),
    ]
    return "\n\n".join(s for s in sections if s) + "\n"


def write_markdown(report: RunReport, path: Path) -> None:
    path.write_text(render_markdown(report), encoding="utf-8")


def _title(report: RunReport) -> str:
    server = report.server
    return f"# ASGI conformance: {escape(server.name)} {escape(server.version)}".rstrip()


def _session_errors(report: RunReport) -> str:
    """First thing after the title: when these exist the verdicts below are incomplete."""
    if not report.session_errors:
        return ""
    blocks = [fence(error) for error in report.session_errors]
    return "\n\n".join([
        "## Session errors",
        "The run did not complete normally; the verdicts below may be incomplete.",
        *blocks,
    ])


def _run_info(report: RunReport) -> str:
    server = report.server
    lines = [
        f"- **Command:** {code(server.command) or '(none)'}",
        *(f"- **{escape(key)}:** {escape(value)}" for key, value in advertised_items(server)),
        f"- **Run:** {escape(report.started_at or 'unknown date')}, "
        f"took {duration_text(report.duration)}",
    ]
    if report.suite_version:
        lines.append(f"- **Suite version:** {escape(report.suite_version)}")
    return "\n".join(lines)


def _totals(report: RunReport) -> str:
    totals = report.totals()
    rows = [[escape(verdict), str(count)] for verdict, count in totals.items()]
    rows.append(["**total**", f"**{len(report.cases)}**"])
    return "## Totals\n\n" + table(["verdict", "cases"], rows, numeric_from=1)


def _count_rows(counts: dict[str, dict[str, int]]) -> list[list[str]]:
    return [[escape(name), *(str(row.get(v.value, 0)) for v in VERDICT_ORDER),
             str(sum(row.values()))]
            for name, row in counts.items()]


def _count_header(first: str) -> list[str]:
    return [first, *(escape(v.value) for v in VERDICT_ORDER), "total"]


def _by_level(report: RunReport) -> str:
    rows = _count_rows(totals_by_level(report))
    return "## By level\n\n" + table(_count_header("level"), rows, numeric_from=1)


def _by_group(report: RunReport) -> str:
    groups = report.totals_by_group()
    if not groups:
        return "## By group\n\nNo cases were run."
    return "## By group\n\n" + table(_count_header("group"), _count_rows(groups), numeric_from=1)


def _cases(report: RunReport) -> str:
    if not report.cases:
        return "## Cases\n\nNo cases were run."
    parts = ["## Cases"]
    for group, cases in report.cases_by_group().items():
        rows = [[verdict_label(c.verdict), escape(requirement_label(c)),
                 code(c.case_id, in_table=True), escape(c.requirement.summary)]
                for c in cases]
        parts.append(f"### {escape(group)}\n\n"
                     + table(["verdict", "requirement", "case", "summary"], rows))
    return "\n\n".join(parts)


def _failures(report: RunReport) -> str:
    bad = [c for c in report.cases if c.verdict in (Verdict.FAIL, Verdict.ERROR)]
    if not bad:
        return "## Failures and errors\n\nNone."
    return "\n\n".join(["## Failures and errors", *(_failure(report, c) for c in bad)])


_URL_SAFE = "/:#.-_~%?=&+@!$,;*'"
"""What a link's URL keeps as is; the rest (spaces, parentheses, brackets) is %-encoded."""


def _link(text: str, url: str) -> str:
    """``text`` (already escaped) as a link to ``url``; just the text without a URL. The
    URL is percent-encoded so no character of it can end the link early."""
    if not url:
        return text
    return f"[{text}]({quote(url, safe=_URL_SAFE)})"


def _failure(report: RunReport, case: CaseResult) -> str:
    """One failing case in full: enough to reproduce and argue about without the suite."""
    req = case.requirement
    parts = [
        f"### {case.verdict.value.upper()}: {escape(requirement_label(case))} {code(case.case_id)}",
        f"- **Reference:** {escape(req.reference)}\n- **Requirement:** {escape(req.summary)}",
    ]
    url = report.requirement_url(req.id)
    if url:
        parts[1] += f"\n- **Catalogue:** {_link(escape(req.id), url)}"
    if req.quote:
        parts.append(f"> {escape(req.quote)}")
    parts.append("**Message:**\n\n" + fence(case.message or "(no message)"))
    parts.extend(f"**{escape(label)}:**\n\n{fence(text)}"
                 for label, text in evidence_parts(case.evidence))
    return "\n\n".join(parts)


def _lenient(report: RunReport, verdict: Verdict, heading: str, why: str) -> str:
    cases = [c for c in report.cases if c.verdict is verdict]
    if not cases:
        return ""
    rows = [[_link(escape(requirement_label(c)), report.requirement_url(c.requirement.id)
                   if verdict is Verdict.NON_STRICT else ""),
             code(c.case_id, in_table=True), escape(c.message or "(none given)")]
            for c in cases]
    return f"## {heading}\n\n" + table(["requirement", "case", why], rows)


def _server_stderr(report: RunReport) -> str:
    if not report.server.stderr_tail:
        return ""
    return "## Server stderr (tail)\n\n" + fence(report.server.stderr_tail)
