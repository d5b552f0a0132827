"""Markdown report: the one a server author pastes into an issue or reads in a terminal.

It has to survive whatever the server sent back. Evidence is shown verbatim in fenced code
blocks whose fence is longer than any backtick run inside, so a response containing
````` ``` ````` cannot close the block early; everything outside code is backslash-escaped,
so a case id or reason cannot turn into a link, emphasis or raw HTML.

The small text helpers here (:func:`visible_controls`, :func:`advertised_items`,
:func:`evidence_parts`) are shared with the JUnit and HTML writers so that every format
describes the server and the evidence in the same words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from conformance.report.model import (
    LEVEL_ORDER,
    VERDICT_ORDER,
    CaseResult,
    Evidence,
    RunReport,
    ServerInfo,
)
from conformance.verdicts import Verdict

# --- shared text helpers --------------------------------------------------------------------

_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_NAMED_ESCAPES = {"\r": "\\r", "\x1b": "\\e"}

KNOWN_ADVERTISED = ("asgi.version", "http.spec_version", "http.extensions")
NOT_PROFILED = "unknown (not profiled)"


def visible_controls(text: str) -> str:
    r"""Show control characters and lone surrogates as escapes (``\x00``, ``\r``, ``\udc80``).

    Evidence is about bytes: a raw NUL or ESC would silently vanish or garble a rendered
    page, and a lone surrogate (from undecodable bytes) cannot even be encoded to UTF-8.
    Tabs and newlines are kept, they are what makes the evidence readable.
    """
    return _INVISIBLE.sub(_escape_char, text)


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def advertised_items(server: ServerInfo) -> list[tuple[str, str]]:
    """The advertised values as (key, readable value), the well-known keys first.

    ``http.spec_version`` being ``None`` is meaningful (the spec says assume 2.0), which is
    different from the key missing altogether (the profile request never got an answer).
    """
    advertised = server.advertised
    items = [
        ("asgi.version", _advertised_value(advertised, "asgi.version", "absent")),
        ("http.spec_version",
         _advertised_value(advertised, "http.spec_version", "absent (assume 2.0)")),
        ("http.extensions", _advertised_value(advertised, "http.extensions", "none")),
    ]
    items.extend((key, plain_value(advertised[key]))
                 for key in sorted(advertised) if key not in KNOWN_ADVERTISED)
    return items


def _advertised_value(advertised: dict[str, Any], key: str, when_none: str) -> str:
    if key not in advertised:
        return NOT_PROFILED
    value = advertised[key]
    if value is None or value == []:
        return when_none
    return plain_value(value)


def plain_value(value: Any) -> str:
    """A JSON-ish value as a person would write it (lists comma-separated, no quotes)."""
    if value is None:
        return "absent"
    if isinstance(value, list | tuple):
        return ", ".join(plain_value(v) for v in value) or "none"
    return str(value)


def evidence_parts(evidence: Evidence | None) -> list[tuple[str, str]]:
    """The non-empty pieces of evidence, labelled, in the order a reader needs them."""
    if evidence is None:
        return []
    parts = [
        ("sent", evidence.sent),
        ("received", evidence.received),
        ("app records", evidence.app_records),
        ("server stderr", evidence.server_stderr),
        ("notes", "\n".join(evidence.notes)),
    ]
    return [(label, text) for label, text in parts if text]


def requirement_label(case: CaseResult) -> str:
    """``HTTP-007 (MUST)``, or ``(SHOULD, derived)``: the level says how a failure counts."""
    req = case.requirement
    level = f"{req.level}, derived" if req.derived else req.level
    return f"{req.id} ({level})"


def grouped_cases(cases: Iterable[CaseResult]) -> dict[str, list[CaseResult]]:
    """Cases by requirement group, groups sorted, cases kept in report order."""
    groups: dict[str, list[CaseResult]] = {}
    for case in cases:
        groups.setdefault(case.requirement.group, []).append(case)
    return dict(sorted(groups.items()))


def totals_by_level(report: RunReport) -> dict[str, dict[str, int]]:
    """Every level in LEVEL_ORDER (zeros included, so the table's shape never changes),
    then any level the catalogue does not know, rather than dropping those cases."""
    table = {level: {v.value: 0 for v in VERDICT_ORDER} for level in LEVEL_ORDER}
    for case in report.cases:
        row = table.setdefault(case.requirement.level, {v.value: 0 for v in VERDICT_ORDER})
        row[case.verdict.value] = row.get(case.verdict.value, 0) + 1
    return table


def duration_text(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms"


# --- markdown primitives --------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&#])")
_BACKTICKS = re.compile(r"`+")


def escape(text: str) -> str:
    """Inline text: one line, markdown and HTML punctuation backslash-escaped."""
    one_line = " ".join(visible_controls(text).split())
    return _MD_SPECIAL.sub(r"\\\1", one_line)


def code(text: str, in_table: bool = False) -> str:
    """An inline code span that holds any text. In a table cell a ``|`` must be escaped
    even inside code (GFM splits cells first); elsewhere the backslash would show."""
    content = " ".join(visible_controls(text).split())
    if in_table:
        content = content.replace("|", "\\|")
    if not content:
        return ""
    ticks = "`" * (_longest_backtick_run(content) + 1)
    if content.startswith("`") or content.endswith("`"):
        content = f" {content} "
    return f"{ticks}{content}{ticks}"


def fence(text: str, info: str = "text") -> str:
    """A fenced block showing ``text`` verbatim, whatever backtick runs it contains."""
    body = visible_controls(text).rstrip("\n")
    ticks = "`" * max(3, _longest_backtick_run(body) + 1)
    return f"{ticks}{info}\n{body}\n{ticks}"


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in _BACKTICKS.findall(text)), default=0)


def table(header: Sequence[str], rows: Iterable[Sequence[str]],
          numeric_from: int | None = None) -> str:
    """A GFM table; cells must already be escaped. Columns from ``numeric_from`` on are
    right-aligned so counts line up."""
    aligns = ["---:" if numeric_from is not None and i >= numeric_from else "---"
              for i in range(len(header))]
    lines = [_row(header), _row(aligns)]
    lines.extend(_row(row) for row in rows)
    return "\n".join(lines)


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def verdict_label(verdict: Verdict) -> str:
    """Upper-case, and bold when the verdict needs attention, so it stands out in a list."""
    label = verdict.value.upper()
    return f"**{label}**" if verdict in (Verdict.FAIL, Verdict.ERROR) else label


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
    for group, cases in grouped_cases(report.cases).items():
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
    return "\n\n".join(["## Failures and errors", *(_failure(c) for c in bad)])


def _failure(case: CaseResult) -> str:
    """One failing case in full: enough to reproduce and argue about without the suite."""
    req = case.requirement
    parts = [
        f"### {case.verdict.value.upper()}: {escape(requirement_label(case))} {code(case.case_id)}",
        f"- **Reference:** {escape(req.reference)}\n- **Requirement:** {escape(req.summary)}",
    ]
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
    rows = [[escape(requirement_label(c)), code(c.case_id, in_table=True),
             escape(c.message or "(none given)")] for c in cases]
    return f"## {heading}\n\n" + table(["requirement", "case", why], rows)


def _server_stderr(report: RunReport) -> str:
    if not report.server.stderr_tail:
        return ""
    return "## Server stderr (tail)\n\n" + fence(report.server.stderr_tail)
