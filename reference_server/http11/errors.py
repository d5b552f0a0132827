"""Errors of the sans-I/O HTTP/1.1 core.

Two directions, two types (h11 makes the same split):

- :class:`ProtocolError` — the *peer* sent something RFC 9112 forbids. It carries the
  status code the server answers with (400, 413, 414, 431, 501, 505). After a protocol
  error the connection is always closed: once framing is in doubt, nothing after it can
  be trusted (RFC 9112 §11.2, request smuggling).
- :class:`LocalProtocolError` — *our* application asked for something that cannot go on
  the wire (a header value with CR/LF/NUL, a body after a complete response, more bytes
  than its Content-Length). It subclasses ValueError so the ASGI layer can let it
  surface from ``send()`` as the spec asks for invalid events.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """The client violated HTTP/1.1; answer ``status`` and close the connection."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


class LocalProtocolError(ValueError):
    """The application asked for a response that cannot be framed on the wire."""
