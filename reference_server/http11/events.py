"""What the request parser emits.

The parser turns bytes into a short sequence per request: one :class:`Request`, zero or
more :class:`Data`, one :class:`EndOfMessage`. Between requests it answers
:data:`NEED_DATA` (feed me more bytes) or :data:`PAUSED` (a request is complete; the
server must finish the response and call ``start_next_cycle()`` before the next request
is parsed — this is what keeps pipelined responses in order and stops a client from
making us buffer an unbounded number of requests).

The classes use ``__slots__`` and plain attributes: they are created once per request on
the hot path, and the server reads a handful of fields from each.
"""

from __future__ import annotations

from typing import Final


class Request:
    """A request head that passed every RFC 9112 check.

    ``headers`` keeps the client's order and duplicates, names lowercased, values
    trimmed of SP/HTAB (RFC 9112 §5). ``raw_path`` and ``query_string`` split the
    request-target at the first ``?``; they are still percent-encoded. For the
    absolute-form, ``raw_path`` is the path part of the URI (``/`` when empty) and
    ``authority`` holds its authority; for the authority-form (CONNECT) ``raw_path`` is
    empty and ``authority`` is the target; for the asterisk-form ``raw_path`` is ``*``.
    """

    __slots__ = (
        "authority", "chunked", "content_length", "expect_continue", "headers",
        "http_version", "keep_alive", "method", "notable", "query_string", "raw_path",
        "target", "te_trailers", "upgrade",
    )

    def __init__(
        self, *, method: bytes, target: bytes, http_version: bytes,
        headers: list[tuple[bytes, bytes]], raw_path: bytes, query_string: bytes = b"",
        authority: bytes | None = None, content_length: int | None = None,
        chunked: bool = False, keep_alive: bool = True, expect_continue: bool = False,
        upgrade: bytes | None = None, te_trailers: bool = False,
        notable: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        #: The method token, case preserved (methods are case-sensitive, RFC 9110 §9.1).
        self.method = method
        #: The request-target exactly as sent.
        self.target = target
        #: b"1.1" or b"1.0" (HTTP/1.2 to 1.9 are read as 1.1, RFC 9110 §2.5; other major
        #: versions are refused with 505).
        self.http_version = http_version
        self.headers = headers
        self.raw_path = raw_path
        self.query_string = query_string
        self.authority = authority
        #: The body length when framed by Content-Length, else None.
        self.content_length = content_length
        #: True when the body is framed by Transfer-Encoding: chunked.
        self.chunked = chunked
        #: Whether the connection may serve another request after this one
        #: (HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with "keep-alive").
        self.keep_alive = keep_alive
        #: "Expect: 100-continue" was sent with an HTTP/1.1 request (RFC 9110 §10.1.1).
        self.expect_continue = expect_continue
        #: The Upgrade header value when Connection lists "upgrade", else None.
        self.upgrade = upgrade
        #: The client sent "TE: trailers" (it accepts response trailers).
        self.te_trailers = te_trailers
        #: The fields of ``headers`` a server acts on (framing fields and the
        #: X-Forwarded-For/-Proto proxy fields), in order: found while parsing, so a
        #: server checking for proxy headers need not scan every field again.
        self.notable = headers if notable is None else notable

    def __repr__(self) -> str:
        return (f"<Request {self.method.decode('latin-1')} {self.target!r} "
                f"HTTP/{self.http_version.decode('latin-1')}>")


class Data:
    """A piece of the request body (already de-chunked)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __repr__(self) -> str:
        return f"<Data {len(self.data)} B>"


class EndOfMessage:
    """The request body is complete; ``trailers`` holds a chunked body's trailer fields
    (names lowercased), validated like header fields."""

    __slots__ = ("trailers",)

    def __init__(self, trailers: list[tuple[bytes, bytes]] | None = None) -> None:
        self.trailers = trailers or []

    def __repr__(self) -> str:
        return f"<EndOfMessage trailers={len(self.trailers)}>"


class _Sentinel:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: More bytes are needed before the next event.
NEED_DATA: Final = _Sentinel("NEED_DATA")
#: A request is complete; nothing more is parsed until ``start_next_cycle()``.
PAUSED: Final = _Sentinel("PAUSED")

Event = Request | Data | EndOfMessage | _Sentinel
