"""Markdown building blocks that hold any text: escaped inline text, code spans, fences, tables.

The single-run report (:mod:`conformance.report.markdown`) and the comparison's
``summary.md`` (:mod:`conformance.report.comparison`) both put server output into
Markdown; they share these so that neither writer imports the other.

Evidence is shown verbatim in fenced code blocks whose fence is longer than any backtick
run inside, so a response containing ````` ``` ````` cannot close the block early;
everything outside code is backslash-escaped, so a case id or reason cannot turn into a
link, emphasis or raw HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from conformance.report._text import visible_controls
from conformance.verdicts import Verdict

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
