"""Fuzz target: the HTTP/1.1 request parser and chunked decoder (``reference_server.http11``).

Input: one byte choosing the limits (the defaults, or small ones so the 413/414/431 paths
are reached with short inputs), one byte choosing where the stream is cut, then the
client's bytes. The stream is parsed whole, cut at random places, and (when short) one
byte at a time, each followed by EOF; after each request the parser is told the response
is done (``start_next_cycle``), as the server does.

Invariants (RFC 9112; the parser's contract in ``http11/parser.py``):

- only :class:`~reference_server.http11.ProtocolError` escapes ``next_event``, with one of
  the statuses the parser documents, and it is sticky: the next call raises it again;
- the events follow the grammar (Request, Data*, EndOfMessage, PAUSED)*, a body framed by
  Content-Length has exactly that length, no body exceeds ``max_body``, and no request
  that passed carries a control character in a field value or a field name that is not
  lowercase (what the server and the app rely on: RFC 9110 §5.5, §5.1);
- segmentation independence: the requests, bodies, trailers and the error (its status)
  are the same however the stream is cut;
- bounded state: after the parser asks for more data, what it buffers is under
  ``max_head`` (or the chunk-size line limit), whatever was fed;
- termination: each feed is answered NEED_DATA within a number of calls proportional to
  the bytes buffered.
"""

from __future__ import annotations

from typing import Any

from bench.fuzz.common import BYTEWISE_MAX, Input, bytewise, cut
from reference_server.http11 import (
    NEED_DATA,
    PAUSED,
    Data,
    EndOfMessage,
    Limits,
    ProtocolError,
    Request,
    RequestParser,
)
from reference_server.http11.grammar import NOT_CTL
from reference_server.http11.parser import _CHUNK_SIZE, _HEAD, _MAX_CHUNK_LINE, _TRAILERS

#: Every status the parser documents (errors.py; 417 for an unknown expectation).
STATUSES = frozenset((400, 413, 414, 417, 431, 501, 505))

LIMITS = (
    Limits(),
    Limits(max_request_line=64, max_head=256, max_fields=4, max_body=64),
    Limits(max_request_line=32, max_head=48, max_fields=1, max_body=0),
    Limits(max_request_line=200, max_head=400, max_fields=8, max_body=1000),
)

Transcript = tuple[list[list[Any]], int | None]


def describe(request: Request) -> tuple[Any, ...]:
    return (request.method, request.target, request.http_version, tuple(request.headers),
            request.raw_path, request.query_string, request.authority,
            request.content_length, request.chunked, request.keep_alive,
            request.expect_continue, request.upgrade, request.te_trailers)


def check_request(request: Request) -> None:
    """What a request that passed every check must look like."""
    assert request.http_version in (b"1.0", b"1.1"), request
    assert not (request.chunked and request.content_length is not None), request
    for name, value in request.headers:
        assert name == name.lower() and name and b":" not in name, (name, value)
        assert not value.translate(None, NOT_CTL), f"control character in {name!r}: {value!r}"
        assert value == value.strip(b" \t"), (name, value)


def run(pieces: list[bytes], limits: Limits) -> Transcript:
    """Feed ``pieces`` then EOF; the requests seen (head, body, trailers or None when the
    stream stopped inside it) and the error status, if any."""
    parser = RequestParser(limits)
    # What the parser may hold when it asks for more, by state: less than a head, a
    # chunk-size line, a trailer section; nothing (or a CR) inside a body.
    bounds = {_HEAD: limits.max_head - 1, _CHUNK_SIZE: _MAX_CHUNK_LINE,
              _TRAILERS: limits.max_head}
    requests: list[list[Any]] = []
    error: ProtocolError | None = None
    for piece in [*pieces, b""]:
        parser.feed(piece)
        budget = 3 * parser.buffered + 8
        for _ in range(budget):
            try:
                event = parser.next_event()
            except ProtocolError as exc:
                error = exc
                break
            if event is NEED_DATA:
                break
            if event is PAUSED:
                assert requests and requests[-1][2] is not None, "PAUSED before EndOfMessage"
                parser.start_next_cycle()
            elif isinstance(event, Request):
                assert not requests or requests[-1][2] is not None, "Request inside a request"
                check_request(event)
                requests.append([describe(event), b"", None])
            elif isinstance(event, Data):
                assert requests and requests[-1][2] is None, "Data outside a request"
                assert event.data, "empty Data event"
                requests[-1][1] += event.data
            elif isinstance(event, EndOfMessage):
                assert requests and requests[-1][2] is None, "EndOfMessage outside a request"
                requests[-1][2] = tuple(event.trailers)
            else:
                raise AssertionError(f"unexpected event {event!r}")
        else:
            raise AssertionError(f"no NEED_DATA within {budget} calls: the parser loops")
        if error is not None:
            break
        bound = bounds.get(parser._state, 1)
        assert parser.buffered <= bound, \
            f"{parser.buffered} bytes buffered waiting for data (limit {bound})"
    for head, body, trailers in requests:
        content_length = head[7]
        if content_length is not None:
            assert len(body) <= content_length, (head, len(body))
            if trailers is not None:
                assert len(body) == content_length, (head, len(body))
        if limits.max_body is not None:
            assert len(body) <= limits.max_body, (head, len(body))
    if error is not None:
        assert error.status in STATUSES, f"undocumented status {error.status}: {error}"
        try:
            parser.next_event()
        except ProtocolError as again:
            assert again.status == error.status, (again, error)
        else:
            raise AssertionError("next_event() after a ProtocolError did not raise")
    return requests, None if error is None else error.status


def one_input(data: bytes) -> None:
    source = Input(data)
    limits = LIMITS[source.choice(len(LIMITS))]
    seed = source.byte()
    stream = source.rest()
    whole = run([stream] if stream else [], limits)
    split = run(cut(stream, seed), limits)
    assert split == whole, f"cut at random places: {split!r}\nwhole: {whole!r}"
    if len(stream) <= BYTEWISE_MAX:
        single = run(bytewise(stream), limits)
        assert single == whole, f"one byte at a time: {single!r}\nwhole: {whole!r}"


def seed_inputs() -> dict[str, bytes]:
    """Valid requests (RFC 9112 §3, §6, §7.1) under the default limits, cut at one place."""
    requests = {
        "get": b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
        "get-query": b"GET /a/b%20c?x=1&y=%2F HTTP/1.1\r\nHost: localhost:8000\r\n"
                     b"User-Agent: fuzz\r\nAccept: */*\r\n\r\n",
        "post-length": b"POST /json HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                       b"Content-Length: 11\r\n\r\n{\"a\": [1]}\n",
        "post-chunked": b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                        b"5\r\nhello\r\n6;ext=1;q=\"x y\"\r\n world\r\n0\r\n"
                        b"Trailer-One: 1\r\nTrailer-Two: two\r\n\r\n",
        "pipeline": b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
                    b"POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
                    b"GET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        "http10": b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                  b"PUT /x HTTP/1.0\r\nContent-Length: 2\r\n\r\nok",
        "absolute": b"GET http://example.com:8080/p?q HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
        "connect": b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
        "options": b"OPTIONS * HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
        "upgrade": b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                   b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   b"Sec-WebSocket-Version: 13\r\n\r\n",
        "expect": b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTE: trailers\r\n"
                  b"Content-Length: 1\r\n\r\nx",
        "crlf-prefix": b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    }
    return {name: b"\x00\x03" + raw for name, raw in requests.items()}
