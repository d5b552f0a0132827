"""What every report format says, in the same words.

The Markdown, HTML and JUnit writers describe the same server and the same evidence; these
helpers hold the wording and the ordering they share, so that no writer imports another
and the formats cannot drift apart. Nothing here knows any markup.
"""

from __future__ import annotations

import re
from typing import Any

from conformance.report.model import (
    LEVEL_ORDER,
    VERDICT_ORDER,
    CaseResult,
    Evidence,
    RunReport,
    ServerInfo,
)

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
