"""Sans-I/O HTTP/1.1 request parser (RFC 9112), strict where the RFC allows strictness.

This module runs the state machine of a request (find the head, then the body by its
framing, then trailers); :mod:`.head` checks the pieces of a head and :mod:`.grammar`
holds the ABNF. Bytes go in with :meth:`RequestParser.feed`, events come out of
:meth:`RequestParser.next_event`: one :class:`~.events.Request`, zero or more
:class:`~.events.Data`, one :class:`~.events.EndOfMessage`, then :data:`~.events.PAUSED`
until the server has answered and calls :meth:`RequestParser.start_next_cycle`. Anything
the RFC forbids raises :class:`~.errors.ProtocolError` carrying the status to answer; the
parser then stays broken, because after a framing error nothing that follows on the
connection can be trusted (RFC 9112 §11.2).

Why strict: every leniency in a request parser is a disagreement waiting to happen with a
proxy in front of it, and disagreements about where a request ends are request
smuggling. So a bare LF, whitespace before a colon, obs-fold, both Content-Length and
Transfer-Encoding, or a Content-Length that is not plain digits are all 400s here, as
RFC 9112 permits (§2.2, §5.1, §5.2, §6.1, §6.3).

Why fast: this is the hot path of the reference server, in pure Python. The head is
located with one ``find`` over a bytearray, split once on CRLF, checked for control
characters with one ``bytes.translate`` (Python's ``re`` scans several times slower), and
field names are validated once per distinct spelling (a small cache: clients send the
same dozen names on every request). A request whose only framing field is Host skips the
framing interpretation. Bodies are sliced out of the buffer without copying more than
once. ``python3 -m bench.instructions`` counts what a request costs.
"""

from __future__ import annotations

import re
from typing import Final

from .errors import ProtocolError
from .events import NEED_DATA, PAUSED, Data, EndOfMessage, Event, Request
from .grammar import CHUNK_EXT, HEX, TCHAR, list_tokens
from .head import (
    HOST_CACHE,
    LINE_CACHE,
    bad,
    check_host,
    check_section,
    chunked_coding,
    parse_content_length,
    parse_fields,
    parse_request_line,
)
from .limits import Limits

#: A byte that cannot be part of a method (RFC 9110 §5.6.2 tchar).
_NOT_TCHAR: Final = re.compile(("[^" + TCHAR + "]").encode("ascii"))
#: Longest chunk-size line (size and extensions) we read before giving up.
_MAX_CHUNK_LINE: Final = 4096
#: Chunk sizes are bounded so int() never sees absurd input.
_MAX_CHUNK_DIGITS: Final = 15
# ``Request(method=..., ...)``, without its cost: CPython 3.11 packs the keywords of a
# class call into a dict for ``__init__``; calling ``__init__`` on a bare instance passes
# them on the stack (about 3,500 instructions less per request, bench.instructions).
_new = object.__new__
_init_request = Request.__init__

#: The end of a message without trailers: one shared instance (never mutated).
_END_OF_MESSAGE: Final = EndOfMessage()

# Parser states.
_HEAD: Final = 0
_BODY_LENGTH: Final = 1
_CHUNK_SIZE: Final = 2
_CHUNK_DATA: Final = 3
_CHUNK_END: Final = 4
_TRAILERS: Final = 5
_END: Final = 6
_PAUSED: Final = 7
_ERROR: Final = 8


class RequestParser:
    """Bytes in, events out. One instance per connection.

    Usage::

        parser = RequestParser(Limits())
        parser.feed(data)                 # socket bytes, any split
        while True:
            event = parser.next_event()   # may raise ProtocolError
            if event is NEED_DATA or event is PAUSED:
                break
            ...                           # Request, then Data*, then EndOfMessage
        parser.start_next_cycle()         # after the response, to read the next request
    """

    __slots__ = (
        "_body_seen", "_buf", "_empty_line_skipped", "_eof", "_error", "_limits",
        "_max_body", "_remaining", "_scanned", "_state", "_trailer_fields",
    )

    def __init__(self, limits: Limits | None = None) -> None:
        self._limits = limits or Limits()
        self._max_body = self._limits.max_body
        self._buf = bytearray()
        self._state = _HEAD
        self._eof = False
        self._error: ProtocolError | None = None
        #: Body bytes still expected (Content-Length body or current chunk).
        self._remaining = 0
        #: Body bytes delivered so far (for the max_body limit on chunked bodies).
        self._body_seen = 0
        #: How much of the buffer was already searched for the end of the head.
        self._scanned = 0
        self._trailer_fields: list[tuple[bytes, bytes]] = []
        #: The empty line RFC 9112 §2.2 lets precede this request-line was skipped.
        self._empty_line_skipped = False

    # -- input -------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Append socket bytes. ``b""`` means the client closed its sending side (EOF)."""
        if data:
            self._buf += data
        else:
            self._eof = True

    @property
    def buffered(self) -> int:
        """Bytes fed but not yet consumed (for flow control)."""
        return len(self._buf)

    @property
    def eof(self) -> bool:
        """The client closed its sending side."""
        return self._eof

    def take_trailing_data(self) -> bytes:
        """After an upgrade request, the bytes that followed its head (they belong to
        the new protocol)."""
        data = bytes(self._buf)
        self._buf.clear()
        return data

    def start_next_cycle(self) -> int:
        """The response to the current request is complete; parse the next request.
        Returns :attr:`buffered` (what of the next request is already here), which the
        server asks for at this point anyway.

        Only valid once the request was read to its end (the parser returned PAUSED):
        anything else would let the rest of a body be parsed as a new request.
        """
        if self._state != _PAUSED:
            raise RuntimeError("start_next_cycle() before the request was read to its end")
        self._state = _HEAD
        self._scanned = 0
        self._empty_line_skipped = False
        return len(self._buf)

    # -- output ------------------------------------------------------------------------

    def next_event(self) -> Event:
        state = self._state
        try:
            if state == _HEAD:
                return self._next_head()
            if state == _BODY_LENGTH:
                return self._next_length_data()
            if state == _END:
                self._state = _PAUSED
                return _END_OF_MESSAGE
            if state == _PAUSED:
                return PAUSED
            if state == _ERROR:
                assert self._error is not None
                raise self._error
            return self._next_chunked()
        except ProtocolError as exc:
            self._state = _ERROR
            self._error = exc
            raise

    # -- the head ----------------------------------------------------------------------

    def _next_head(self) -> Event:
        buf = self._buf
        # RFC 9112 §2.2: a server SHOULD ignore at least one empty line received before
        # the request-line (some clients send a CRLF after a POST body). One, and no
        # more: a second is no client's habit but bytes out of step with the framing.
        if buf.startswith(b"\r\n"):
            if self._empty_line_skipped or buf.startswith(b"\r\n", 2):
                raise bad("more than one empty line before the request-line")
            del buf[:2]
            self._scanned = 0
            self._empty_line_skipped = True
        scanned = self._scanned
        end = buf.find(b"\r\n\r\n", scanned - 3 if scanned > 3 else 0)
        if end < 0:
            return self._incomplete_head()
        head_size = end + 4
        if head_size > self._limits.max_head:
            # Too large: 431, or whatever an incomplete prefix of it showed first (a
            # request-line too long is a 414, RFC 9112 §3), as if it had come in pieces.
            raise _prefix_error(buf, 0, end + 3, self._limits) or \
                ProtocolError(431, "request head too large")
        head = bytes(buf[:end])
        del buf[:head_size]
        self._scanned = 0
        lines = head.split(b"\r\n")
        try:
            check_section(head, lines, "request head")
            request = self._request(lines)
        except ProtocolError:
            # The status must not depend on how the head was segmented: had it come in
            # pieces, a prefix could have shown an error first (_prefix_error).
            earlier = _prefix_error(head + b"\r\n\r", 0, end + 3, self._limits)
            if earlier is not None:
                raise earlier from None
            raise
        if self._state == _HEAD:  # no body
            self._state = _END
        return request

    def _incomplete_head(self) -> Event:
        buf = self._buf
        size = len(buf)
        # The new bytes may already show the head is broken (_prefix_error): a bare LF, a
        # request-line too long (RFC 9112 §3: 414 rather than waiting for the end), a
        # head too large, or a first word that is no method (TLS or junk on this port).
        if size > self._scanned:
            error = _prefix_error(buf, self._scanned, size, self._limits)
            if error is not None:
                raise error
            self._scanned = size
        if self._eof and size:
            raise bad("connection closed in the middle of a request head")
        return NEED_DATA

    def _request(self, lines: list[bytes]) -> Request:
        limits = self._limits
        request_line = lines[0]
        if len(request_line) > limits.max_request_line:
            raise ProtocolError(414, "request-line too long")
        if len(lines) - 1 > limits.max_fields:
            raise ProtocolError(431, "too many header fields")
        cached_line = LINE_CACHE.get(request_line)
        if cached_line is None:
            cached_line = parse_request_line(request_line)
        method, target, http_version, raw_path, query_string, authority = cached_line

        notable: list[tuple[bytes, bytes]] = []  # framing and proxy fields
        del lines[0]  # the request-line; the field lines remain
        fields = parse_fields(lines, notable)
        if len(notable) == 1 and notable[0][0] == b"host":
            # The common request: no body, no connection options, only a Host (whose
            # value was most likely seen before: the cache is asked without a call).
            host = notable[0][1]
            if host not in HOST_CACHE:
                check_host(host)
            request = _new(Request)
            _init_request(request, method=method, target=target, http_version=http_version,
                          headers=fields, raw_path=raw_path, query_string=query_string,
                          authority=authority, keep_alive=http_version == b"1.1",
                          notable=notable)
            return request
        content_length: int | None = None
        codings: list[bytes] | None = None
        host_count = 0
        keep_alive = http_version == b"1.1"
        close = False  # "close" wins wherever it appears (RFC 9112 §9.6)
        connection_upgrade = False
        upgrade: bytes | None = None
        expect_continue = False
        te_trailers = False
        for name, value in notable:
            if name == b"host":
                host_count += 1
                check_host(value)
            elif name == b"content-length":
                content_length = parse_content_length(value, content_length)
            elif name == b"transfer-encoding":
                if codings is None:
                    codings = []
                codings += list_tokens(value)
            elif name == b"connection":
                for token in list_tokens(value):
                    if token == b"close":
                        close = True
                    elif token == b"keep-alive":
                        if http_version == b"1.0":
                            keep_alive = True
                    elif token == b"upgrade":
                        connection_upgrade = True
            elif name == b"expect":
                # RFC 9110 §10.1.1: an HTTP/1.0 client cannot expect; ignore it there.
                if http_version == b"1.1":
                    if value.lower() == b"100-continue":
                        expect_continue = True
                    else:
                        raise ProtocolError(417, "unsupported expectation")
            elif name == b"upgrade":
                # RFC 9110 §7.8: a server MUST ignore Upgrade in an HTTP/1.0 request.
                if http_version == b"1.1":
                    upgrade = value
            elif name == b"te":
                # Several TE lines form one list (RFC 9110 §5.3).
                te_trailers = te_trailers or b"trailers" in list_tokens(value)
        # RFC 9112 §3.2: 400 for an HTTP/1.1 request without Host, and for any request
        # with more than one Host field line.
        if close:
            keep_alive = False
        if host_count > 1:
            raise bad("more than one Host header")
        if host_count == 0 and http_version == b"1.1":
            raise bad("missing Host header")

        chunked = False
        if codings is not None:
            chunked = chunked_coding(codings, content_length, http_version)
        if chunked:
            self._state = _CHUNK_SIZE
            self._body_seen = 0
        elif content_length:
            if self._max_body is not None and content_length > self._max_body:
                raise ProtocolError(413, "request body larger than the limit")
            self._remaining = content_length
            self._state = _BODY_LENGTH
        request = _new(Request)
        _init_request(
            request, method=method, target=target, http_version=http_version,
            headers=fields, raw_path=raw_path, query_string=query_string,
            authority=authority, content_length=content_length, chunked=chunked,
            keep_alive=keep_alive, expect_continue=expect_continue,
            upgrade=upgrade if connection_upgrade else None, te_trailers=te_trailers,
            notable=notable,
        )
        return request

    # -- bodies ------------------------------------------------------------------------

    def _next_length_data(self) -> Event:
        buf = self._buf
        size = len(buf)
        if not size:
            if self._eof:
                raise bad("connection closed before the request body was complete")
            return NEED_DATA
        data = self._take_body()
        if not self._remaining:
            self._state = _END
        return Data(data)

    def _take_body(self) -> bytes:
        """Up to ``_remaining`` buffered body bytes (Content-Length body or chunk-data),
        counted off ``_remaining``."""
        buf = self._buf
        remaining = self._remaining
        if len(buf) <= remaining:
            data = bytes(buf)
            buf.clear()
        else:
            data = bytes(buf[:remaining])
            del buf[:remaining]
        self._remaining = remaining - len(data)
        return data

    def _next_chunked(self) -> Event:
        """RFC 9112 §7.1: chunk-size [chunk-ext] CRLF chunk-data CRLF ... last-chunk
        trailer-section CRLF."""
        buf = self._buf
        while True:
            state = self._state
            if state == _CHUNK_SIZE:
                line_end = buf.find(b"\r\n")
                if line_end < 0:
                    if b"\n" in buf or b"\r" in buf[:-1]:
                        raise bad("bare CR or LF in chunk framing")
                    if len(buf) > _MAX_CHUNK_LINE:
                        raise bad("chunk-size line too long")
                    return self._need_body_data()
                line = bytes(buf[:line_end])
                del buf[:line_end + 2]
                self._chunk_size(line)
            elif state == _CHUNK_DATA:
                if not buf:
                    return self._need_body_data()
                data = self._take_body()
                if not self._remaining:
                    self._state = _CHUNK_END
                return Data(data)
            elif state == _CHUNK_END:
                if len(buf) < 2:
                    if buf and buf[0] != 13:
                        raise bad("chunk data longer than its size")
                    return self._need_body_data()
                if buf[0] != 13 or buf[1] != 10:
                    raise bad("chunk data not followed by CRLF")
                del buf[:2]
                self._state = _CHUNK_SIZE
            else:  # _TRAILERS
                return self._trailers()

    def _chunk_size(self, line: bytes) -> None:
        semicolon = line.find(b";")
        if semicolon >= 0:
            size_text = line[:semicolon].rstrip(b" \t")
            if not CHUNK_EXT.fullmatch(line, len(size_text)):
                raise bad("malformed chunk extension")
        else:
            size_text = line
        # chunk-size = 1*HEXDIG (int() alone would also take "+", "_" and spaces).
        # Leading zeros are legal padding; only the value is bounded.
        if not HEX.fullmatch(size_text) or len(size_text.lstrip(b"0")) > _MAX_CHUNK_DIGITS:
            raise bad("invalid chunk size")
        size = int(size_text, 16)
        if size == 0:
            self._state = _TRAILERS
            return
        self._body_seen += size
        if self._max_body is not None and self._body_seen > self._max_body:
            raise ProtocolError(413, "request body larger than the limit")
        self._remaining = size
        self._state = _CHUNK_DATA

    def _trailers(self) -> Event:
        buf = self._buf
        if buf.startswith(b"\r\n"):
            del buf[:2]
            self._state = _PAUSED
            return _END_OF_MESSAGE
        end = buf.find(b"\r\n\r\n")
        max_head = self._limits.max_head
        if end < 0:
            # A bare LF is reported only when it arrived before the section grew too
            # large (the order a byte-by-byte arrival would find them in).
            if (len(buf) >= 2 and buf.count(b"\n") != buf.count(b"\r\n")
                    and _bare_lf(buf, 0, len(buf)) <= max_head):
                raise bad("bare LF in the trailer section")
            if len(buf) > max_head:
                raise ProtocolError(431, "trailer section too large")
            return self._need_body_data()
        if end + 4 > max_head:
            if 0 <= _bare_lf(buf, 0, max_head + 1) <= max_head:
                raise bad("bare LF in the trailer section")
            raise ProtocolError(431, "trailer section too large")
        section = bytes(buf[:end])
        del buf[:end + 4]
        lines = section.split(b"\r\n")
        check_section(section, lines, "trailer section")
        if len(lines) > self._limits.max_fields:
            raise ProtocolError(431, "too many trailer fields")
        trailers = parse_fields(lines, None)
        self._state = _PAUSED
        return EndOfMessage(trailers)

    def _need_body_data(self) -> Event:
        if self._eof:
            raise bad("connection closed before the request body was complete")
        return NEED_DATA


def _bare_lf(buf: bytearray | bytes, start: int, end: int) -> int:
    """The index of the first LF in ``buf[start:end]`` not preceded by a CR, or -1."""
    i = buf.find(b"\n", start, end)
    while i > 0 and buf[i - 1] == 13:
        i = buf.find(b"\n", i + 1, end)
    return i


def _prefix_error(buf: bytearray | bytes, start: int, end: int,
                  limits: Limits) -> ProtocolError | None:
    """The error an incomplete request head ``buf[:end]`` shows, knowing its first
    ``start`` bytes showed none; None when it shows none yet.

    Four things can be told before a head is complete: a bare LF (RFC 9112 §2.2), a
    request-line over the limit (414, §3), a byte that cannot belong to the method
    before its SP (400), a head over the limit (431). When several show in the same
    bytes, the error is the one a byte-by-byte arrival would have met first (the
    shortest prefix showing it; at equal length, in that order), so the status never
    depends on how TCP cut the stream.
    Off the hot path: a head that arrives whole and valid never gets here.
    """
    found: list[tuple[int, int, ProtocolError]] = []  # (prefix length, order, error)
    # A bare LF: the prefix that ends with it.
    scan = start - 1 if start and buf[start - 1] == 13 else start
    if buf.count(b"\n", scan, end) != buf.count(b"\r\n", scan, end):
        lf = _bare_lf(buf, start, end)
        if lf >= 0:
            found.append((lf + 1, 0, bad("bare LF in the request head")))
    # Where the request-line ends, if it does: prefixes shorter than crlf + 2 hold no
    # complete request-line.
    crlf = buf.find(b"\r\n", 0, end)
    line_ends = crlf + 2 if crlf >= 0 else end + 1
    # A request-line too long: a prefix of max_request_line + 2 bytes without CRLF.
    length = limits.max_request_line + 2
    if start < length <= end and length < line_ends:
        found.append((length, 1, ProtocolError(414, "request-line too long")))
    # The method (RFC 9110 §9.1: a token) ends at the first SP; any other byte that is
    # no tchar before it shows the request-line is broken (TLS or junk sent to this
    # port shows at its first byte). A CR first may still be an empty line (§2.2).
    if buf.find(b" ", 0, start) < 0:  # the method was not complete before ``start``
        # (From 0 when the head starts with a CR: it stays undecided for one byte only.)
        other = _NOT_TCHAR.search(buf, 0 if buf[:1] == b"\r" else start, end)
        if other is not None:
            at = other.start()
            if buf[at] == 13 and at == 0:
                if end > 1 and buf[1] != 10:
                    found.append((2, 2, bad("bare CR in the request head")))
            elif buf[at] != 32 or at == 0:
                found.append((at + 1, 2, bad("invalid request-line: the method is not "
                                             "a token")))
    # A head too large.
    if start < limits.max_head <= end:
        found.append((limits.max_head, 3, ProtocolError(431, "request head too large")))
    return min(found, key=lambda item: item[:2])[2] if found else None
