"""Sans-I/O HTTP/1.1 request parser (RFC 9112), strict where the RFC allows strictness.

Bytes go in with :meth:`RequestParser.feed`, events come out of
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
from .limits import Limits

# RFC 9110 §5.6.2: token = 1*tchar.
_TCHAR = rb"!#$%&'*+\-.^_`|~0-9A-Za-z"
_TOKEN: Final = re.compile(rb"[" + _TCHAR + rb"]+")
# Control characters other than HTAB, CR and LF (CR and LF are checked by counting).
# RFC 9110 §5.5: field values are VCHAR / obs-text / SP / HTAB; NUL, CR and LF "MUST"
# be rejected, the other CTLs are not field-content either. Tested with
# ``data.translate(None, _NOT_CTL)``, which keeps only the control characters: a C loop
# several times faster than a regular-expression search over a whole head.
_CTL_BYTES: Final = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_NOT_CTL: Final = bytes(b for b in range(256) if b not in _CTL_BYTES)
# RFC 9112 §3.2 request-target: visible ASCII; a fragment ("#") is never sent (RFC 9110
# §7.1). A "%" not starting a pct-encoded triplet is let through: browsers send
# "/search?q=100%" as typed (WHATWG URL leaves it), it does not touch framing, and
# query_string reaches the app raw anyway.
_TARGET_CHARS: Final = re.compile(rb"[\x21\x22\x24-\x7e]+")
# RFC 3986 §3.1 scheme, followed by "://" (absolute-form with an authority).
_ABSOLUTE: Final = re.compile(rb"[A-Za-z][A-Za-z0-9+\-.]*://")
# RFC 9110 §7.2 Host = uri-host [ ":" port ]; uri-host is an IP-literal, an IPv4
# address or a reg-name (unreserved / pct-encoded / sub-delims). May be empty.
_HOST: Final = re.compile(
    rb"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]*)(?::[0-9]*)?"
)
# RFC 9112 §3.2.3 authority-form (CONNECT): uri-host ":" port.
_AUTHORITY_FORM: Final = re.compile(
    rb"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]+):[0-9]+"
)
# RFC 9112 §2.3 HTTP-version = "HTTP" "/" DIGIT "." DIGIT.
_VERSION: Final = re.compile(rb"HTTP/[0-9]\.[0-9]")
# RFC 9112 §7.1.1 chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
_QUOTED_STRING = rb'"(?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\\[\t\x20-\x7e\x80-\xff])*"'
_CHUNK_EXT: Final = re.compile(
    rb"(?:[ \t]*;[ \t]*[" + _TCHAR + rb"]+"
    rb"(?:[ \t]*=[ \t]*(?:[" + _TCHAR + rb"]+|" + _QUOTED_STRING + rb"))?)*"
)

_HEX: Final = re.compile(rb"[0-9A-Fa-f]+")
_COMMON_METHODS: Final = frozenset(
    (b"GET", b"POST", b"PUT", b"DELETE", b"HEAD", b"OPTIONS", b"PATCH")
)
#: The fields the parser itself interprets (framing, connection, expectations).
_FRAMING_FIELDS: Final = frozenset((
    b"host", b"content-length", b"transfer-encoding", b"connection", b"expect",
    b"upgrade", b"te",
))
#: Fields a server acts on besides framing (proxy headers): collected with the framing
#: fields into :attr:`Request.notable`, so a server need not scan every field again.
_NOTABLE_FIELDS: Final = _FRAMING_FIELDS | {b"x-forwarded-for", b"x-forwarded-proto"}

#: Longest chunk-size line (size and extensions) we read before giving up.
_MAX_CHUNK_LINE: Final = 4096
#: Content-Length and chunk sizes are bounded so int() never sees absurd input.
_MAX_CL_DIGITS: Final = 18
_MAX_CHUNK_DIGITS: Final = 15
# Caches of validated inputs, shared by all parsers of the process. Clients repeat
# themselves (the same field names, Host value and URLs on every request), and a cache
# hit skips the regular expressions. Only input that passed every check is cached, and
# each cache is bounded.
_CACHE_MAX: Final = 1024
#: Field-name spellings seen before, mapped to their lowercase form.
_NAME_CACHE: dict[bytes, bytes] = {}
#: Host values seen before.
_HOST_CACHE: set[bytes] = set()
#: Request-lines seen before: (method, target, version, raw_path, query, authority).
_RequestLine = tuple[bytes, bytes, bytes, bytes, bytes, bytes | None]
_LINE_CACHE: dict[bytes, _RequestLine] = {}

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


def _bad(reason: str) -> ProtocolError:
    return ProtocolError(400, reason)


def _field_name(name: bytes, colon: bytes) -> bytes:
    """Validate a field name (RFC 9112 §5.1: a token followed by the colon, no
    whitespace between) and return it lowercased; the slow path of the name cache."""
    if not colon or not name:
        if name[:1] in (b" ", b"\t"):
            raise _bad("obsolete line folding in the request head")
        raise _bad("field line without a name and colon")
    if not _TOKEN.fullmatch(name):
        if name[:1] in (b" ", b"\t"):
            raise _bad("obsolete line folding in the request head")
        if name[-1:] in (b" ", b"\t"):
            raise _bad("whitespace between a field name and the colon")
        raise _bad("invalid field name")
    lower = name.lower()
    if len(_NAME_CACHE) < _CACHE_MAX:
        _NAME_CACHE[name] = lower
    return lower


def _check_host(value: bytes) -> None:
    """RFC 9112 §3.2 / RFC 9110 §7.2: a Host value must be uri-host [":" port]."""
    if value not in _HOST_CACHE:
        if not _HOST.fullmatch(value):
            raise _bad("invalid Host header")
        if len(_HOST_CACHE) < _CACHE_MAX:
            _HOST_CACHE.add(value)


def _parse_fields(lines: list[bytes]) -> list[tuple[bytes, bytes]]:
    """Field lines → (lowercase name, value trimmed of SP/HTAB) in the client's order
    (RFC 9112 §5)."""
    fields: list[tuple[bytes, bytes]] = []
    append = fields.append
    cached = _NAME_CACHE.get
    for line in lines:
        name, colon, value = line.partition(b":")
        lower = cached(name)
        if lower is None or not colon:
            lower = _field_name(name, colon)
        append((lower, value.strip(b" \t")))
    return fields


def _list_tokens(value: bytes) -> list[bytes]:
    """A comma-separated list's members, lowercased; empty members are dropped as RFC
    9110 §5.6.1 asks of recipients."""
    return [item for item in (part.strip(b" \t").lower() for part in value.split(b","))
            if item]


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
        "_body_seen", "_buf", "_eof", "_error", "_limits", "_max_body", "_remaining",
        "_scanned", "_state", "_trailer_fields",
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

    def start_next_cycle(self) -> None:
        """The response to the current request is complete; parse the next request.

        Only valid once the request was read to its end (the parser returned PAUSED):
        anything else would let the rest of a body be parsed as a new request.
        """
        if self._state != _PAUSED:
            raise RuntimeError("start_next_cycle() before the request was read to its end")
        self._state = _HEAD
        self._scanned = 0

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
        # the request-line (some clients send a CRLF after a POST body).
        while buf.startswith(b"\r\n"):
            del buf[:2]
            self._scanned = 0
        scanned = self._scanned
        end = buf.find(b"\r\n\r\n", scanned - 3 if scanned > 3 else 0)
        if end < 0:
            return self._incomplete_head()
        head_size = end + 4
        if head_size > self._limits.max_head:
            # A head that arrived whole may be too large because of its request-line:
            # that one is named 414 (RFC 9112 §3), whatever the segmentation was.
            if buf.find(b"\r\n", 0, end + 1) > self._limits.max_request_line:
                raise ProtocolError(414, "request-line too long")
            raise ProtocolError(431, "request head too large")
        head = bytes(buf[:end])
        del buf[:head_size]
        self._scanned = 0
        lines = head.split(b"\r\n")
        # Every CR and LF of the head must belong to a CRLF pair (RFC 9112 §2.2: a bare
        # CR MUST be rejected; a bare LF is allowed to be, and is, here).
        pairs = len(lines) - 1
        if head.count(b"\n") != pairs or head.count(b"\r") != pairs:
            raise _bad("bare CR or LF in the request head")
        if head.translate(None, _NOT_CTL):
            raise _bad("control character in the request head")
        request = self._request(lines)
        if self._state == _HEAD:  # no body
            self._state = _END
        return request

    def _incomplete_head(self) -> Event:
        buf = self._buf
        size = len(buf)
        if self._eof:
            if size:
                raise _bad("connection closed in the middle of a request head")
            return NEED_DATA
        if not size:
            return NEED_DATA
        limits = self._limits
        # The new bytes may already show the head is broken: a bare LF, a request-line
        # too long (RFC 9112 §3: 414 rather than waiting for the end), a head too large,
        # or a first word that is no method at all (TLS or junk sent to this port).
        start = self._scanned - 1 if self._scanned and buf[self._scanned - 1] == 13 \
            else self._scanned
        if buf.count(b"\n", start) != buf.count(b"\r\n", start):
            raise _bad("bare LF in the request head")
        self._scanned = size
        line_end = buf.find(b"\r\n")
        if line_end < 0:
            if size > limits.max_request_line + 1:
                raise ProtocolError(414, "request-line too long")
            space = buf.find(b" ", 0, 64)
            if space < 0:
                if size >= 64:
                    raise _bad("invalid request-line: no method in the first 64 bytes")
            elif not _TOKEN.fullmatch(buf, 0, space):
                raise _bad("invalid request-line: the method is not a token")
        elif line_end > limits.max_request_line:
            raise ProtocolError(414, "request-line too long")
        if size >= limits.max_head:
            raise ProtocolError(431, "request head too large")
        return NEED_DATA

    def _request(self, lines: list[bytes]) -> Request:
        limits = self._limits
        request_line = lines[0]
        if len(request_line) > limits.max_request_line:
            raise ProtocolError(414, "request-line too long")
        if len(lines) - 1 > limits.max_fields:
            raise ProtocolError(431, "too many header fields")
        cached_line = _LINE_CACHE.get(request_line)
        if cached_line is None:
            cached_line = self._request_line(request_line)
        method, target, http_version, raw_path, query_string, authority = cached_line

        fields: list[tuple[bytes, bytes]] = []
        append = fields.append
        cached_name = _NAME_CACHE.get
        notable: list[tuple[bytes, bytes]] = []  # framing and proxy fields
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            lower = cached_name(name)
            if lower is None or not colon:
                lower = _field_name(name, colon)
            field = (lower, value.strip(b" \t"))
            append(field)
            if lower in _NOTABLE_FIELDS:
                notable.append(field)
        if len(notable) == 1 and notable[0][0] == b"host":
            # The common request: no body, no connection options, only a Host.
            _check_host(notable[0][1])
            return Request(method, target, http_version, fields, raw_path, query_string,
                           authority, None, False, http_version == b"1.1", False, None,
                           False, notable)
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
                _check_host(value)
            elif name == b"content-length":
                content_length = self._content_length(value, content_length)
            elif name == b"transfer-encoding":
                if codings is None:
                    codings = []
                codings += _list_tokens(value)
            elif name == b"connection":
                for token in _list_tokens(value):
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
                te_trailers = te_trailers or b"trailers" in _list_tokens(value)
        # RFC 9112 §3.2: 400 for an HTTP/1.1 request without Host, and for any request
        # with more than one Host field line.
        if close:
            keep_alive = False
        if host_count > 1:
            raise _bad("more than one Host header")
        if host_count == 0 and http_version == b"1.1":
            raise _bad("missing Host header")

        chunked = False
        if codings is not None:
            chunked = self._transfer_coding(codings, content_length, http_version)
        if chunked:
            self._state = _CHUNK_SIZE
            self._body_seen = 0
        elif content_length:
            if self._max_body is not None and content_length > self._max_body:
                raise ProtocolError(413, "request body larger than the limit")
            self._remaining = content_length
            self._state = _BODY_LENGTH
        return Request(
            method, target, http_version, fields, raw_path, query_string, authority,
            content_length, chunked, keep_alive, expect_continue,
            upgrade if connection_upgrade else None, te_trailers, notable,
        )

    def _request_line(self, line: bytes) -> _RequestLine:
        """RFC 9112 §3: method SP request-target SP HTTP-version, each part checked;
        the result is cached (request-lines repeat: the same URLs are asked for again)."""
        parts = line.split(b" ")
        if len(parts) != 3:
            raise _bad("request-line is not method SP target SP version")
        method, target, version = parts
        if method not in _COMMON_METHODS and not _TOKEN.fullmatch(method):
            raise _bad("invalid method")
        if version == b"HTTP/1.1":
            http_version = b"1.1"
        elif version == b"HTTP/1.0":
            http_version = b"1.0"
        elif _VERSION.fullmatch(version):
            raise ProtocolError(505, "HTTP version not supported")
        else:
            raise _bad("invalid HTTP version")
        raw_path, query_string, authority = self._target(method, target)
        result = (method, target, http_version, raw_path, query_string, authority)
        if len(_LINE_CACHE) >= _CACHE_MAX:
            _LINE_CACHE.clear()
        _LINE_CACHE[line] = result
        return result

    def _target(self, method: bytes, target: bytes) -> tuple[bytes, bytes, bytes | None]:
        """Split a request-target into (raw_path, query_string, authority) by its form
        (RFC 9112 §3.2)."""
        if not _TARGET_CHARS.fullmatch(target):
            raise _bad("invalid character in the request-target")
        authority: bytes | None = None
        if target[0] == 47:  # "/": origin-form
            path = target
        elif target == b"*":  # asterisk-form, OPTIONS only (§3.2.4)
            if method != b"OPTIONS":
                raise _bad("asterisk-form request-target is for OPTIONS only")
            return b"*", b"", None
        elif method == b"CONNECT":  # authority-form, CONNECT only (§3.2.3)
            if not _AUTHORITY_FORM.fullmatch(target):
                raise _bad("CONNECT needs an authority-form request-target")
            return b"", b"", target
        else:
            match = _ABSOLUTE.match(target)
            if match is None:
                raise _bad("request-target is not in origin or absolute form")
            rest = target[match.end():]
            cut = len(rest)
            for sep in (b"/", b"?"):
                index = rest.find(sep)
                if 0 <= index < cut:
                    cut = index
            authority = rest[:cut]
            # RFC 9110 §4.2.1: an http(s) URI with an empty host MUST be rejected;
            # §4.2.4: userinfo is an error.
            if (not authority or authority[0] == 58 or b"@" in authority
                    or not _HOST.fullmatch(authority)):
                raise _bad("invalid authority in an absolute-form request-target")
            path = rest[cut:]
            if not path or path[0] != 47:
                path = b"/" + path
        if method == b"CONNECT":
            raise _bad("CONNECT needs an authority-form request-target")
        question = path.find(b"?")
        if question < 0:
            return path, b"", authority
        return path[:question], path[question + 1:], authority

    def _content_length(self, value: bytes, previous: int | None) -> int:
        """RFC 9112 §6.3: Content-Length is digits; a list of equal values (or equal
        duplicated fields) is one value; anything else is unrecoverable framing."""
        lengths = {item.strip(b" \t") for item in value.split(b",")} if b"," in value \
            else {value}
        length: int | None = previous
        for item in lengths:
            if not item.isdigit():  # bytes.isdigit() is ASCII digits only
                raise _bad("invalid Content-Length")
            if len(item.lstrip(b"0")) > _MAX_CL_DIGITS:
                raise _bad("Content-Length too large")
            number = int(item)
            if length is not None and number != length:
                raise _bad("conflicting Content-Length values")
            length = number
        assert length is not None
        return length

    def _transfer_coding(self, codings: list[bytes], content_length: int | None,
                         http_version: bytes) -> bool:
        """RFC 9112 §6.1 and §6.3: decide whether a Transfer-Encoding request is
        chunked, or why it is refused."""
        if content_length is not None:
            # §6.3 allows "process with chunked, then close"; refusing is stricter and
            # removes the smuggling ambiguity entirely (§11.2).
            raise _bad("both Transfer-Encoding and Content-Length")
        if http_version == b"1.0":
            raise _bad("Transfer-Encoding in an HTTP/1.0 request")
        if not codings or codings[-1] != b"chunked":
            raise _bad("chunked is not the final transfer coding")
        if codings.count(b"chunked") > 1:
            raise _bad("chunked applied more than once")
        if len(codings) > 1:
            raise ProtocolError(501, "unsupported transfer coding")
        return True

    # -- bodies ------------------------------------------------------------------------

    def _next_length_data(self) -> Event:
        buf = self._buf
        size = len(buf)
        if not size:
            if self._eof:
                raise _bad("connection closed before the request body was complete")
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
                        raise _bad("bare CR or LF in chunk framing")
                    if len(buf) > _MAX_CHUNK_LINE:
                        raise _bad("chunk-size line too long")
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
                        raise _bad("chunk data longer than its size")
                    return self._need_body_data()
                if buf[0] != 13 or buf[1] != 10:
                    raise _bad("chunk data not followed by CRLF")
                del buf[:2]
                self._state = _CHUNK_SIZE
            else:  # _TRAILERS
                return self._trailers()

    def _chunk_size(self, line: bytes) -> None:
        semicolon = line.find(b";")
        if semicolon >= 0:
            size_text = line[:semicolon].rstrip(b" \t")
            if not _CHUNK_EXT.fullmatch(line, len(size_text)):
                raise _bad("malformed chunk extension")
        else:
            size_text = line
        # chunk-size = 1*HEXDIG (int() alone would also take "+", "_" and spaces).
        # Leading zeros are legal padding; only the value is bounded.
        if not _HEX.fullmatch(size_text) or len(size_text.lstrip(b"0")) > _MAX_CHUNK_DIGITS:
            raise _bad("invalid chunk size")
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
        if end < 0:
            if len(buf) >= 2 and buf.count(b"\n") != buf.count(b"\r\n"):
                raise _bad("bare LF in the trailer section")
            if len(buf) > self._limits.max_head:
                raise ProtocolError(431, "trailer section too large")
            return self._need_body_data()
        if end + 4 > self._limits.max_head:
            raise ProtocolError(431, "trailer section too large")
        section = bytes(buf[:end])
        del buf[:end + 4]
        lines = section.split(b"\r\n")
        pairs = len(lines) - 1
        if section.count(b"\n") != pairs or section.count(b"\r") != pairs:
            raise _bad("bare CR or LF in the trailer section")
        if section.translate(None, _NOT_CTL):
            raise _bad("control character in the trailer section")
        if len(lines) > self._limits.max_fields:
            raise ProtocolError(431, "too many trailer fields")
        trailers = _parse_fields(lines)
        self._state = _PAUSED
        return EndOfMessage(trailers)

    def _need_body_data(self) -> Event:
        if self._eof:
            raise _bad("connection closed before the request body was complete")
        return NEED_DATA
