"""Sans-I/O HTTP/1.1 response framing (RFC 9112 §6, §7; RFC 9110 §6.4.1, §8.6, §15).

The ASGI application describes a response as events (a start with status and headers,
then body pieces, then perhaps trailers); :class:`ResponseWriter` turns them into bytes
and decides the *framing*, which the application never controls:

- **Content-Length** when the application sets one (we count the bytes and refuse more)
  or when the whole body arrives in the first body event (we compute it).
- **chunked** when the length is unknown and the client speaks HTTP/1.1, or when
  trailers were asked for and the client accepts them (``TE: trailers``).
- **close-delimited** when the length is unknown and the client speaks HTTP/1.0, which
  cannot parse chunked (RFC 9112 §6.1: "A server MUST NOT send a response containing
  Transfer-Encoding unless the corresponding request indicates HTTP/1.1").
- **no body** for HEAD, 204 and 304 (RFC 9110 §6.4.1), whatever the app sends.

A ``Transfer-Encoding`` set by the app is dropped: www.rst says "the server must ignore
it", and trusting it would let an app desynchronise the client's framing. A
``Connection`` header from the app is replaced by the server's own, honouring ``close``.

The head is held back until the first body event (www.rst allows it: servers "need not
flush ... until the first Response Body event"), so the common start+body pair goes out
in one write with an exact Content-Length, and an app that fails between the two can
still get a clean 500.

Invalid input from the app raises :class:`LocalProtocolError` (a ValueError), which the
ASGI layer lets surface from ``send()`` (asgi.rst, Error Handling).
"""

from __future__ import annotations

from collections.abc import Callable
from email.utils import formatdate
from http import HTTPStatus
from typing import Any

from .errors import LocalProtocolError
from .grammar import check_fields, check_links

_STATUS_LINES: dict[int, bytes] = {}


def status_line(status: int) -> bytes:
    """``HTTP/1.1 <status> <reason>\\r\\n``. We answer HTTP/1.0 requests with HTTP/1.1 too
    (RFC 9112 §2.3: the highest version we conform to with the request's major version);
    the framing, not the label, is what adapts to a 1.0 client."""
    line = _STATUS_LINES.get(status)
    if line is None:
        try:
            reason = HTTPStatus(status).phrase.encode("ascii")
        except ValueError:
            reason = b""
        line = b"HTTP/1.1 %d %s\r\n" % (status, reason)
        if len(_STATUS_LINES) < 1024:
            _STATUS_LINES[status] = line
    return line


class DateCache:
    """The ``date`` header line, rebuilt at most once a second (RFC 9110 §6.6.1: an origin
    server with a clock MUST send Date). Formatting it per request would cost more than
    the rest of a hello-world response.

    The clock is given, not read: this module does no I/O, and a test can hand it a fake
    clock (the server passes ``time.time``)."""

    __slots__ = ("_clock", "_line", "_second")

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._second = -1
        self._line = b""

    def line(self) -> bytes:
        """The header line: ``date: <IMF-fixdate>`` and CRLF."""
        now = self._clock()
        second = int(now)
        if second != self._second:
            self._second = second
            self._line = b"date: " + formatdate(now, usegmt=True).encode("ascii") + b"\r\n"
        return self._line

    def value(self) -> bytes:
        """The IMF-fixdate alone (for heads rendered elsewhere, such as the 101)."""
        return self.line()[6:-2]


# Framing modes.
_UNDECIDED, _LENGTH, _CHUNKED, _CLOSE, _NOBODY, _AWAIT_TRAILERS = range(6)


#: What an application's ``http.response.start`` contributes to the head: the status line
#: and its header lines rendered (framing and hop-by-hop fields taken out), the
#: Content-Length it declared, whether it set Date and Server, and whether it asked for
#: ``Connection: close``.
_AppHead = tuple[bytes, int | None, bool, bool, bool]
#: Heads seen before, keyed by (status, headers as a tuple). Most applications answer
#: with the same few header lists over and over; a hit skips validation and rendering.
#: Only heads that passed validation are stored, and the cache stops growing when full
#: (applications whose headers vary per response just take the slow path).
_HEAD_CACHE: dict[tuple[int, tuple[Any, ...]], _AppHead] = {}
_HEAD_CACHE_MAX = 512
_HEAD_CACHE_FIELDS = 16


def _app_head(status: int, headers: Any) -> _AppHead:
    key = None
    if type(headers) is list and len(headers) <= _HEAD_CACHE_FIELDS:
        try:
            key = (status, tuple(headers))
            cached = _HEAD_CACHE.get(key)
        except TypeError:  # [name, value] lists are valid ASGI but not hashable
            key = cached = None
        if cached is not None:
            return cached
    fields = check_fields(headers, "header")
    lines = [status_line(status)]
    content_length: int | None = None
    has_date = has_server = close = False
    for name, value in fields:
        lname = name.lower()
        if lname == b"content-length":
            if not value.isdigit() or (content_length is not None
                                       and int(value) != content_length):
                raise LocalProtocolError(f"invalid content-length {value!r}")
            if content_length is not None:
                continue  # an identical duplicate: send it once
            content_length = int(value)
            if status == 204:
                continue  # RFC 9110 §8.6: MUST NOT send Content-Length in a 204
        elif lname == b"transfer-encoding":
            continue  # www.rst: "the server must ignore it"; we frame ourselves
        elif lname == b"connection":
            if b"close" in value.lower():
                close = True
            continue
        elif lname == b"date":
            has_date = True
        elif lname == b"server":
            has_server = True
        lines.append(name + b": " + value + b"\r\n")
    result = (b"".join(lines), content_length, has_date, has_server, close)
    if key is not None and len(_HEAD_CACHE) < _HEAD_CACHE_MAX:
        _HEAD_CACHE[key] = result
    return result


class ResponseWriter:
    """Frames the responses of one connection, one at a time.

    ``method`` and ``http_version`` are the request's; ``keep_alive`` says whether the
    request allows the connection to be reused; ``te_trailers`` whether the client
    accepts trailers. ``extra`` is pre-rendered header lines the server adds (server
    header), ``date`` the clock's date line to add when the app sends no Date (None: no
    Date header). :meth:`reset` starts the next response on the same connection (as
    h11 keeps one ``Connection`` across request cycles): a method call costs a keep-alive
    request far less than a new object.
    """

    __slots__ = (
        "_date", "_extra", "_head", "_head_only", "_mode", "_remaining",
        "_send_trailers", "_status", "_trailer_buf", "complete", "head_sent", "http10",
        "keep_alive", "started", "trailers_pending",
    )

    def __init__(self, method: bytes, http_version: bytes, keep_alive: bool,
                 te_trailers: bool = False, extra: bytes = b"",
                 date: DateCache | None = None) -> None:
        self._extra = extra
        self._date = date
        self.reset(method, http_version, keep_alive, te_trailers)

    def reset(self, method: bytes, http_version: bytes, keep_alive: bool,
              te_trailers: bool) -> None:
        """Forget the previous response; frame the next one, to this request."""
        self.http10 = http_version == b"1.0"
        self._head_only = method == b"HEAD"
        self.keep_alive = keep_alive
        self._send_trailers = te_trailers and not self.http10
        self._mode = _UNDECIDED
        self._remaining = 0
        #: Status line and header lines (the app's, Date, Server) once started.
        self._head = b""
        self._status = 0
        self._trailer_buf = b""
        #: http.response.start was accepted.
        self.started = False
        #: The status line and headers have been handed out for writing.
        self.head_sent = False
        #: The response is complete on the wire (trailers may still be expected on the
        #: ASGI side when the client did not ask for them; see :attr:`trailers_pending`).
        self.complete = False
        #: The app announced trailers and has not sent them yet.
        self.trailers_pending = False

    @property
    def status(self) -> int:
        return self._status

    def start(self, status: Any, headers: Any, trailers: bool = False) -> None:
        """Accept ``http.response.start``; nothing is written until the first body."""
        if self.started:
            raise LocalProtocolError("http.response.start sent twice")
        if type(status) is not int:
            raise LocalProtocolError(f"status must be an int, got {type(status).__name__}")
        # 1xx are informational and have their own event (early hints); 101 is the
        # WebSocket layer's business. A final response is 200-599 (RFC 9110 §15).
        if not 200 <= status <= 599:
            raise LocalProtocolError(f"status {status} is not a final status (200-599)")
        head, content_length, has_date, has_server, close = _app_head(status, headers)
        self.started = True
        self._status = status
        if close:
            self.keep_alive = False
        if self._date is not None and not has_date:
            head += self._date.line()
        if self._extra and not has_server:
            head += self._extra
        self._head = head
        self.trailers_pending = bool(trailers)
        if self._head_only or status in (204, 304):
            self._mode = _NOBODY
        elif trailers and self._send_trailers and content_length is None:
            self._mode = _CHUNKED
        elif content_length is not None:
            self._mode = _LENGTH
            self._remaining = content_length
            if trailers:
                self._send_trailers = False  # a Content-Length body cannot carry trailers
        elif trailers:
            self._send_trailers = False

    def _render_head(self, framing: bytes) -> bytes:
        self.head_sent = True
        if not self.keep_alive:
            return b"".join((self._head, b"connection: close\r\n", framing, b"\r\n"))
        if self.http10:
            return b"".join((self._head, b"connection: keep-alive\r\n", framing, b"\r\n"))
        return b"".join((self._head, framing, b"\r\n"))

    def body(self, data: Any, more_body: Any = False) -> bytes:
        """Accept ``http.response.body``; return the bytes to write (maybe empty)."""
        if type(data) is not bytes:
            raise LocalProtocolError(f"body must be bytes, got {type(data).__name__}")
        if not self.started:
            raise LocalProtocolError("http.response.body before http.response.start")
        if self.complete or (self.trailers_pending and self._mode == _AWAIT_TRAILERS):
            raise LocalProtocolError("response already complete")
        final = not more_body
        mode = self._mode
        if final and not self.head_sent:
            # The whole body in one event, the common case: head and body in one write.
            if mode == _LENGTH and len(data) == self._remaining:
                self._remaining = 0
                self.complete = True
                return self._render_head(b"") + data
            if mode == _UNDECIDED:
                self._mode = _LENGTH
                self._remaining = 0
                self.complete = True
                return self._render_head(b"content-length: %d\r\n" % len(data)) + data
        if mode == _UNDECIDED:
            if not self.http10:
                self._mode = _CHUNKED
                head = self._render_head(b"transfer-encoding: chunked\r\n")
            else:
                self._mode = _CLOSE
                self.keep_alive = False
                head = self._render_head(b"")
            return head + self._frame(data, final)
        head = b"" if self.head_sent else self._render_head(
            b"transfer-encoding: chunked\r\n" if mode == _CHUNKED else b"")
        return head + self._frame(data, final)

    def _frame(self, data: bytes, final: bool) -> bytes:
        mode = self._mode
        if mode == _LENGTH:
            remaining = self._remaining - len(data)
            if remaining < 0:
                raise LocalProtocolError(
                    f"body exceeds the declared content-length by {-remaining} bytes")
            self._remaining = remaining
            if final:
                if remaining:
                    # The app declared more than it sent: the client cannot tell the
                    # response ended, so the connection must close (RFC 9112 §8).
                    self.keep_alive = False
                self.complete = True
            return data
        if mode == _CHUNKED:
            out = b"%x\r\n%s\r\n" % (len(data), data) if data else b""
            if final:
                if self.trailers_pending and self._send_trailers:
                    self._mode = _AWAIT_TRAILERS  # waiting for http.response.trailers
                    return out
                out += b"0\r\n\r\n"
                self.complete = True
            return out
        if mode == _NOBODY:
            if final:
                self.complete = True
            return b""
        # _CLOSE: the end of the body is the end of the connection.
        if final:
            self.complete = True
        return data

    def trailers(self, headers: Any, more_trailers: Any = False) -> bytes:
        """Accept ``http.response.trailers`` (extensions.rst, HTTP Trailers)."""
        if not self.trailers_pending:
            raise LocalProtocolError("http.response.trailers without trailers=True in start")
        if not (self.complete or self._mode == _AWAIT_TRAILERS):
            raise LocalProtocolError("http.response.trailers before the final body")
        fields = check_fields(headers, "trailer")
        if self._mode != _AWAIT_TRAILERS:
            # Trailers were not requested by the client (or cannot be sent): the body
            # already ended on the wire; swallow them (extensions.rst: "only send the
            # trailing headers in case the client has sent the TE: trailers header").
            if not more_trailers:
                self.trailers_pending = False
            return b""
        self._trailer_buf += b"".join(name + b": " + value + b"\r\n" for name, value in fields)
        if more_trailers:
            return b""  # all trailer messages go into the one trailer section
        self.trailers_pending = False
        self._mode = _CHUNKED
        self.complete = True
        return b"0\r\n" + self._trailer_buf + b"\r\n"

    def early_hint(self, links: Any) -> bytes:
        """``http.response.early_hint`` → a 103 response (RFC 8297), or nothing when the
        client speaks HTTP/1.0 (RFC 9110 §15.2: no 1xx to a 1.0 client) or the final head
        has already gone out."""
        items = check_links(links)
        if self.complete:
            raise LocalProtocolError("early hint after the response completed")
        if self.http10 or self.head_sent or not items:
            return b""
        return (b"HTTP/1.1 103 Early Hints\r\n"
                + b"".join(b"link: " + link + b"\r\n" for link in items) + b"\r\n")


def error_response(status: int, reason: str = "", extra: bytes = b"",
                   date: DateCache | None = None) -> bytes:
    """A complete, connection-closing error response the server sends on its own
    (parse errors, app failures before a response started). ``extra`` is pre-rendered
    header lines (the Server header); ``date`` the clock for the Date header."""
    body = (reason or HTTPStatus(status).phrase).encode("ascii", "replace") + b"\n"
    return (status_line(status) + b"content-type: text/plain; charset=utf-8\r\n"
            + b"content-length: %d\r\n" % len(body) + b"connection: close\r\n"
            + (date.line() if date is not None else b"") + extra + b"\r\n" + body)
