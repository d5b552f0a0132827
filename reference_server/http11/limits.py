"""Size limits of the HTTP/1.1 core, with their documented defaults.

Each limit maps to the status RFC 9110/6585 gives for exceeding it:
request-line → 414 URI Too Long, head size or field count → 431 Request Header Fields
Too Large, body → 413 Content Too Large.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    #: Longest request-line (method, target, version) in bytes, CRLF excluded → 414.
    max_request_line: int = 8190
    #: Longest request head (request-line, fields, the blank line) in bytes → 431.
    max_head: int = 65536
    #: Most header fields in one request (also applies to chunked trailers) → 431.
    max_fields: int = 100
    #: Largest request body in bytes; None means unlimited → 413.
    max_body: int | None = None
