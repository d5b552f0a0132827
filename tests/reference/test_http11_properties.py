"""Property tests of the sans-I/O HTTP/1.1 request parser (hypothesis).

1. Valid requests (RFC 9112 §3, §5, §6, §7.1) give the events they were generated from,
   however the bytes are split (a sans-I/O parser must not depend on segmentation).
2. Arbitrary bytes only ever give events or a ProtocolError, and parsing terminates.
3. One-byte mutations of valid requests give events or a ProtocolError with one of the
   statuses the parser documents.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.fuzz.http11 import STATUSES
from bench.fuzz.http11 import run as drive
from reference_server.http11 import (
    PAUSED,
    Data,
    EndOfMessage,
    Event,
    Limits,
    Request,
)
from tests.reference.test_http11_parser import collect, parse_all

# RFC 9110 §5.6.2 tchar.
TCHAR = "!#$%&'*+-.^_`|~" + string.digits + string.ascii_letters
# RFC 3986 pchar without "%" (pct-encoding is generated separately): unreserved,
# sub-delims, ":" and "@"; "/" separates segments.
PATH_CHARS = string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@/"
# RFC 3986 query = *( pchar / "/" / "?" ): a "?" inside the query checks the split at the
# first "?".
QUERY_CHARS = PATH_CHARS + "?"
# RFC 9110 §5.5 field-content octets: VCHAR and obs-text, with SP and HTAB inside.
VALUE_OCTETS = [*range(0x21, 0x7F), *range(0x80, 0x100)]
#: Fields the parser interprets; generated "other" fields avoid them.
FRAMING = {b"host", b"content-length", b"transfer-encoding", b"connection", b"expect",
           b"upgrade", b"te"}

# -- what a request is expected to parse into ------------------------------------------


@dataclass
class Expected:
    method: bytes
    target: bytes
    http_version: bytes
    headers: list[tuple[bytes, bytes]]
    raw_path: bytes
    query_string: bytes
    content_length: int | None
    chunked: bool
    keep_alive: bool
    expect_continue: bool
    te_trailers: bool
    body: bytes
    authority: bytes | None = None
    trailers: list[tuple[bytes, bytes]] = field(default_factory=list)

    def normalized(self) -> tuple[Any, ...]:
        return (
            self.method, self.target, self.http_version, self.headers, self.raw_path,
            self.query_string, self.authority, self.content_length, self.chunked, self.keep_alive,
            self.expect_continue, None, self.te_trailers, self.body, self.trailers,
        )


def split_requests(events: list[Event]) -> list[tuple[Request, bytes, EndOfMessage | None]]:
    """Events → (Request, concatenated body, EndOfMessage or None for a request the
    stream stopped in), checking the event grammar: (Request Data* EndOfMessage
    PAUSED)* and at most one partial request (Request Data*) at the end."""
    out: list[tuple[Request, bytes, EndOfMessage | None]] = []
    i = 0
    while i < len(events):
        request = events[i]
        assert isinstance(request, Request), events
        i += 1
        body = b""
        while i < len(events) and isinstance(events[i], Data):
            data = events[i]
            assert isinstance(data, Data)
            assert data.data, "empty Data event"
            body += data.data
            i += 1
        if i == len(events):
            out.append((request, body, None))
            break
        end = events[i]
        assert isinstance(end, EndOfMessage), events
        i += 1
        assert i < len(events) and events[i] is PAUSED, events
        i += 1
        out.append((request, body, end))
    return out


def normalize(events: list[Event]) -> list[tuple[Any, ...]]:
    """Events of complete requests → one tuple per request (Request fields,
    concatenated body, trailers)."""
    out: list[tuple[Any, ...]] = []
    for request, body, end in split_requests(events):
        assert end is not None, f"request without EndOfMessage: {events}"
        out.append((
            request.method, request.target, request.http_version, request.headers,
            request.raw_path, request.query_string, request.authority,
            request.content_length, request.chunked, request.keep_alive,
            request.expect_continue, request.upgrade, request.te_trailers, body,
            end.trailers,
        ))
    return out


def check_grammar(events: list[Event]) -> None:
    """Events of a possibly interrupted stream: complete requests as in
    :func:`normalize`, then at most one partial request, each body as framed."""
    for request, body, end in split_requests(events):
        if request.content_length is not None:
            assert len(body) <= request.content_length
        if end is None:
            return
        if request.content_length is not None:
            assert len(body) == request.content_length
        if not request.chunked:
            assert end.trailers == []


# -- strategies ------------------------------------------------------------------------


def token(max_size: int = 12) -> st.SearchStrategy[str]:
    return st.text(alphabet=TCHAR, min_size=1, max_size=max_size)


OWS = st.text(alphabet=" \t", max_size=3).map(str.encode)


@st.composite
def field_value(draw: st.DrawFn) -> bytes:
    """A field value: field-content octets with inner SP/HTAB, never starting or ending
    with whitespace (the OWS around it is added by the caller)."""
    words = draw(st.lists(st.lists(st.sampled_from(VALUE_OCTETS), min_size=1, max_size=8)
                          .map(bytes), max_size=4))
    seps = draw(st.lists(st.sampled_from([b" ", b"\t", b"  ", b" \t "]), min_size=len(words),
                         max_size=len(words)))
    return b"".join(sep + word for sep, word in zip(seps, words, strict=True)).lstrip(b" \t")


@st.composite
def field_line(draw: st.DrawFn, names: st.SearchStrategy[str] | None = None,
               ) -> tuple[bytes, tuple[bytes, bytes]]:
    """(raw field line, expected (name, value)) for a non-framing field."""
    name = draw((names or token(16)).map(str.encode)
                .filter(lambda n: n.lower() not in FRAMING))
    value = draw(field_value())
    raw = name + b":" + draw(OWS) + value + draw(OWS)
    return raw, (name.lower(), value)


@st.composite
def chunked_body(draw: st.DrawFn, body: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """RFC 9112 §7.1: ``body`` cut into chunks of random sizes (hex in either case, with
    optional leading zeros and chunk extensions), the last chunk, and a trailer section.
    Returns the wire bytes and the expected trailers."""
    cuts = sorted(set(draw(st.lists(st.integers(1, max(len(body) - 1, 1)), max_size=6))))
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    pieces = [p for p in pieces if p]

    def size_line(n: int) -> bytes:
        digits = format(n, "x")
        if draw(st.booleans()):
            digits = digits.upper()
        digits = "0" * draw(st.integers(0, 3)) + digits
        ext = b""
        for _ in range(draw(st.integers(0, 2))):
            ext += draw(st.sampled_from([b"", b" ", b"\t"])) + b";" + draw(OWS) \
                + draw(token(8)).encode()
            kind = draw(st.sampled_from(["none", "token", "quoted"]))
            if kind != "none":
                ext += draw(OWS) + b"=" + draw(OWS)
            if kind == "token":
                ext += draw(token(8)).encode()
            elif kind == "quoted":
                quoted = draw(st.text(alphabet=string.ascii_letters + " ,;=\\\"", max_size=10))
                ext += b'"' + quoted.replace("\\", "\\\\").replace('"', '\\"').encode() + b'"'
        return digits.encode() + ext + b"\r\n"

    wire = b"".join(size_line(len(p)) + p + b"\r\n" for p in pieces)
    wire += size_line(0)
    trailers = draw(st.lists(field_line(), max_size=3))
    wire += b"".join(raw + b"\r\n" for raw, _ in trailers) + b"\r\n"
    return wire, [expected for _, expected in trailers]


@st.composite
def valid_request(draw: st.DrawFn) -> tuple[bytes, Expected]:
    """A valid request (RFC 9112) and what it must parse into."""
    method = draw(token(12).filter(lambda m: m != "CONNECT")).encode()
    path = b"/" + draw(st.text(alphabet=PATH_CHARS, max_size=20)).encode()
    if draw(st.booleans()):
        path += b"%" + draw(st.sampled_from([b"20", b"2F", b"e9", b"C3"]))
    query = None
    if draw(st.booleans()):
        query = draw(st.text(alphabet=QUERY_CHARS, max_size=20)).encode()
    target = path if query is None else path + b"?" + query
    authority = None
    if draw(st.integers(0, 4)) == 0:
        # RFC 9112 §3.2.2 absolute-form: the path (and query) follow the authority.
        scheme = draw(st.sampled_from([b"http", b"https", b"HTTP"]))
        authority = draw(st.sampled_from([b"example.com", b"a.example:8080", b"[::1]:80",
                                          b"127.0.0.1"]))
        target = scheme + b"://" + authority + target
    version = draw(st.sampled_from([b"1.1", b"1.0"]))

    lines: list[tuple[bytes, tuple[bytes, bytes]]] = draw(st.lists(field_line(), max_size=10))
    if version == b"1.1" or draw(st.booleans()):
        host = draw(st.sampled_from([b"example.com", b"localhost:8000", b"127.0.0.1",
                                     b"[::1]:443", b""]))
        host_name = draw(st.sampled_from([b"Host", b"host", b"HOST"]))
        lines.append((host_name + b":" + draw(OWS) + host + draw(OWS), (b"host", host)))

    connection = draw(st.sampled_from([None, b"close", b"keep-alive", b"Keep-Alive"]))
    if connection is not None:
        lines.append((b"Connection: " + connection, (b"connection", connection)))
    if version == b"1.1":
        keep_alive = connection != b"close"
    else:
        keep_alive = connection is not None and connection.lower() == b"keep-alive"

    expect_continue = False
    if draw(st.booleans()):
        lines.append((b"Expect: 100-continue", (b"expect", b"100-continue")))
        expect_continue = version == b"1.1"
    te_trailers = False
    if draw(st.booleans()):
        lines.append((b"TE: trailers", (b"te", b"trailers")))
        te_trailers = True

    body = draw(st.binary(max_size=300))
    framing = draw(st.sampled_from(["none", "length", "chunked"]))
    if framing == "chunked" and version == b"1.0":
        framing = "length"
    if framing == "none":
        body = b""
    content_length: int | None = None
    wire_body = body
    trailers: list[tuple[bytes, bytes]] = []
    if framing == "length":
        content_length = len(body)
        digits = b"0" * draw(st.integers(0, 2)) + str(len(body)).encode()
        lines.append((b"Content-Length: " + digits, (b"content-length", digits)))
    elif framing == "chunked":
        te = draw(st.sampled_from([b"chunked", b"Chunked"]))
        lines.append((b"Transfer-Encoding: " + te, (b"transfer-encoding", te)))
        wire_body, trailers = draw(chunked_body(body))

    lines = draw(st.permutations(lines))
    head = b"%s %s HTTP/%s\r\n" % (method, target, version)
    head += b"".join(raw + b"\r\n" for raw, _ in lines) + b"\r\n"
    expected = Expected(
        method=method, target=target, http_version=version,
        headers=[e for _, e in lines], raw_path=path,
        query_string=b"" if query is None else query, content_length=content_length,
        chunked=framing == "chunked", keep_alive=keep_alive,
        expect_continue=expect_continue, te_trailers=te_trailers, body=body,
        authority=authority, trailers=trailers,
    )
    # RFC 9112 §2.2: an empty line before the request-line is ignored (one: a second is
    # refused, test_http11_parser.test_a_second_leading_empty_line_is_refused).
    prefix = draw(st.sampled_from([b"", b"", b"", b"\r\n"]))
    return prefix + head + wire_body, expected


pipeline = st.lists(valid_request(), min_size=1, max_size=3).map(
    lambda reqs: (b"".join(raw for raw, _ in reqs), [e for _, e in reqs])
)


def splits(raw: bytes) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(0, len(raw)), max_size=20)


# -- 1. valid requests, any segmentation -----------------------------------------------


@settings(max_examples=200, deadline=None)
@given(pipeline, st.data())
def test_valid_requests_any_split(requests, data):
    """RFC 9112 §3, §5, §6.2, §7.1, §9.3.2: valid (pipelined) requests parse into what
    was generated, and the result does not depend on how the bytes are split."""
    raw, expected = requests
    want = [e.normalized() for e in expected]
    whole = normalize(parse_all(raw, eof=True))
    assert whole == want
    cut = data.draw(splits(raw), label="split indices")
    assert normalize(parse_all(raw, chunks=cut, eof=True)) == want
    if len(raw) <= 600:
        assert normalize(parse_all(raw, chunks=range(len(raw)), eof=True)) == want


# -- 2. arbitrary bytes: events or ProtocolError, and termination ----------------------


def run_arbitrary(raw: bytes, cut: list[int]) -> None:
    """Feed ``raw`` split at ``cut`` then EOF, with the fuzz target's driver
    (bench/fuzz/http11.py): only events or a sticky ProtocolError with a documented
    status may come out, in the event grammar, with bounded buffering and a bounded
    number of next_event calls per feed."""
    cuts = sorted({i for i in cut if 0 < i < len(raw)})
    pieces = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    drive([p for p in pieces if p], Limits())


# Pieces of HTTP syntax, so that random input often gets past the request-line.
FRAGMENTS = [
    b"GET", b"POST", b"CONNECT", b"OPTIONS", b" ", b"  ", b"\t", b"/", b"*", b"?", b"#",
    b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"\r\n", b"\r", b"\n", b"\r\n\r\n", b":",
    b"Host: x", b"Host:", b"Content-Length: ", b"Transfer-Encoding: ", b"chunked",
    b"gzip", b",", b";", b"=", b"\"", b"0", b"5", b"a", b"ffffffffffffffffff", b"hello",
    b"Connection: ", b"close", b"keep-alive", b"upgrade", b"Upgrade: ws", b"Expect: ",
    b"100-continue", b"TE: trailers", b"\x00", b"\x7f", b"\x80", b"\xff",
    b"http://example.com", b"example.com:443",
]
VALID_START = [b"GET / HTTP/1.1\r\n", b"POST /x?y HTTP/1.1\r\nHost: a\r\n",
               b"PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
               b"PUT / HTTP/1.0\r\nContent-Length: 5\r\n\r\n"]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000), st.data())
def test_arbitrary_bytes(raw, data):
    """Any input: events or ProtocolError, never another exception, and termination."""
    run_arbitrary(raw, data.draw(splits(raw), label="split indices"))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(VALID_START), st.binary(max_size=2000), st.data())
def test_arbitrary_bytes_after_a_valid_start(start, rest, data):
    """Same, with a valid request-line (and sometimes head) first."""
    raw = start + rest
    run_arbitrary(raw, data.draw(splits(raw), label="split indices"))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=60).map(b"".join), st.data())
def test_arbitrary_http_fragments(raw, data):
    """Same, with input assembled from pieces of HTTP syntax."""
    run_arbitrary(raw, data.draw(splits(raw), label="split indices"))


# -- 3. mutations of valid requests ----------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(pipeline, st.data())
def test_mutated_requests(requests, data):
    """A flipped, inserted or deleted byte gives valid events or a ProtocolError with a
    documented status; parsed whole or split, with EOF at the end."""
    raw, _ = requests
    op = data.draw(st.sampled_from(["flip", "insert", "delete"]), label="mutation")
    if op == "insert":
        i = data.draw(st.integers(0, len(raw)), label="index")
        byte = data.draw(st.integers(0, 255), label="byte")
        mutated = raw[:i] + bytes([byte]) + raw[i:]
    else:
        i = data.draw(st.integers(0, len(raw) - 1), label="index")
        if op == "delete":
            mutated = raw[:i] + raw[i + 1:]
        else:
            byte = data.draw(st.integers(0, 255).filter(lambda b: b != raw[i]), label="byte")
            mutated = raw[:i] + bytes([byte]) + raw[i + 1:]
    for cut in (None, data.draw(splits(mutated), label="split indices")):
        events, error = collect(mutated, chunks=cut, eof=True)
        check_grammar(events)
        if error is not None:
            assert error.status in STATUSES, error
