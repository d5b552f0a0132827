"""Response framing of the sans-I/O core: what reaches the wire for each ASGI event
sequence, checked with h11 in client mode as an independent parser."""

from __future__ import annotations

import time

import h11
import pytest

from reference_server.http11.errors import LocalProtocolError
from reference_server.http11.response import (
    DateCache,
    ResponseWriter,
    error_response,
    status_line,
)

#: The clock the server hands the core (tests that need a fixed time give their own).
CLOCK = DateCache(time.time)


def writer(method=b"GET", version=b"1.1", keep_alive=True, te_trailers=False, **kw):
    kw.setdefault("date", CLOCK)
    return ResponseWriter(method, version, keep_alive, te_trailers, **kw)


def parse(wire: bytes, method: bytes = b"GET", version: bytes = b"1.1"):
    """Parse ``wire`` as the response to a ``method`` request with h11; return
    (response, body, trailers, ended_cleanly)."""
    conn = h11.Connection(h11.CLIENT)
    headers = [(b"host", b"x")]
    if version == b"1.0":
        conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method=method, target=b"/", headers=headers,
                          http_version=version.decode()))
    conn.send(h11.EndOfMessage())
    conn.receive_data(wire)
    conn.receive_data(b"")
    response, body, trailers, ended = None, b"", [], False
    while True:
        event = conn.next_event()
        if isinstance(event, h11.Response):
            response = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            trailers = list(event.headers)
            ended = True
        elif event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed):
            break
        if ended:
            break
    return response, body, trailers, ended


def header(response, name: bytes):
    return [v for n, v in response.headers if n == name]


def test_single_body_gets_content_length():
    w = writer()
    w.start(200, [(b"content-type", b"text/plain")])
    wire = w.body(b"hello", False)
    assert w.complete and w.keep_alive
    response, body, _, ended = parse(wire)
    assert response.status_code == 200 and body == b"hello" and ended
    assert header(response, b"content-length") == [b"5"]
    assert header(response, b"date") and not header(response, b"transfer-encoding")


def test_head_is_held_until_the_first_body():
    w = writer()
    w.start(200, [])
    assert not w.head_sent
    assert w.body(b"x", False).startswith(b"HTTP/1.1 200 OK\r\n")


def test_streamed_body_is_chunked_for_http11():
    w = writer()
    w.start(200, [])
    wire = w.body(b"ab", True) + w.body(b"", True) + w.body(b"cd", True) + w.body(b"", False)
    response, body, _, ended = parse(wire)
    assert header(response, b"transfer-encoding") == [b"chunked"]
    assert body == b"abcd" and ended and w.keep_alive


def test_streamed_body_to_http10_is_close_delimited():
    """RFC 9112 §6.1: no Transfer-Encoding to an HTTP/1.0 client."""
    w = writer(version=b"1.0")
    w.start(200, [])
    wire = w.body(b"ab", True) + w.body(b"cd", False)
    assert b"transfer-encoding" not in wire.lower()
    assert not w.keep_alive and wire.endswith(b"\r\n\r\nabcd")


def test_http10_keep_alive_is_announced():
    w = writer(version=b"1.0")
    w.start(200, [])
    wire = w.body(b"ok", False)
    assert b"connection: keep-alive\r\n" in wire and w.keep_alive


def test_app_content_length_is_enforced():
    w = writer()
    w.start(200, [(b"content-length", b"4")])
    w.body(b"ab", True)
    with pytest.raises(LocalProtocolError):
        w.body(b"cde", True)


def test_short_body_closes_the_connection():
    w = writer()
    w.start(200, [(b"content-length", b"4")])
    w.body(b"ab", False)
    assert w.complete and not w.keep_alive


def test_app_transfer_encoding_is_ignored():
    """www.rst: "You may send a Transfer-Encoding header in this message, but the server
    must ignore it"."""
    w = writer()
    w.start(200, [(b"transfer-encoding", b"chunked")])
    wire = w.body(b"raw", False)
    response, body, _, _ = parse(wire)
    assert body == b"raw" and header(response, b"transfer-encoding") == []


@pytest.mark.parametrize("method,status", [(b"HEAD", 200), (b"GET", 204), (b"GET", 304)])
def test_bodiless_responses_send_no_body(method, status):
    w = writer(method=method)
    w.start(status, [(b"content-length", b"5")] if status != 204 else [])
    wire = w.body(b"hello", False)
    assert not wire.endswith(b"hello") and w.complete
    response, body, _, ended = parse(wire, method=method)
    assert response.status_code == status and body == b"" and ended


def test_204_never_carries_content_length():
    w = writer()
    w.start(204, [(b"content-length", b"0")])
    assert b"content-length" not in w.body(b"", False)


@pytest.mark.parametrize("headers", [
    [(b"x-a", b"1\r\nx-injected: 1")],
    [(b"x-a", b"a\nb")],
    [(b"x-a", b"a\x00b")],
    [(b"x a", b"1")],
    [(b":status", b"200")],
    [("x-a", "1")],
    [(b"x-a", "1")],
    [(b"x-a",)],
    "not a list of pairs",
])
def test_invalid_headers_are_refused(headers):
    with pytest.raises(LocalProtocolError):
        writer().start(200, headers)


@pytest.mark.parametrize("status", ["200", 200.0, 99, 101, 600, None])
def test_invalid_status_is_refused(status):
    with pytest.raises(LocalProtocolError):
        writer().start(status, [])


def test_order_and_duplicates_are_kept():
    w = writer()
    w.start(200, [(b"x-a", b"1"), (b"set-cookie", b"a=1"), (b"x-a", b"3"),
                  (b"set-cookie", b"b=2")])
    wire = w.body(b"", False)
    lines = [line for line in wire.split(b"\r\n") if line[:2] in (b"x-", b"se")]
    assert lines == [b"x-a: 1", b"set-cookie: a=1", b"x-a: 3", b"set-cookie: b=2"]


def test_app_date_and_server_headers_win():
    w = writer(extra=b"server: ref\r\n")
    w.start(200, [(b"date", b"yesterday"), (b"server", b"mine")])
    wire = w.body(b"", False).lower()
    assert wire.count(b"date:") == 1 and wire.count(b"server:") == 1


def test_app_connection_close_closes():
    w = writer()
    w.start(200, [(b"connection", b"close")])
    wire = w.body(b"", False)
    assert not w.keep_alive and wire.count(b"connection:") == 1


def test_not_keep_alive_request_gets_connection_close():
    w = writer(keep_alive=False)
    w.start(200, [])
    assert b"connection: close\r\n" in w.body(b"", False)


def test_trailers_sent_when_client_accepts_them():
    w = writer(te_trailers=True)
    w.start(200, [(b"trailer", b"x-checksum")], trailers=True)
    wire = w.body(b"data", False)
    assert not w.complete and w.trailers_pending
    wire += w.trailers([(b"x-checksum", b"abc")], False)
    assert w.complete and not w.trailers_pending
    _response, body, trailers, ended = parse(wire)
    assert body == b"data" and trailers == [(b"x-checksum", b"abc")] and ended


def test_trailers_swallowed_when_client_did_not_ask():
    """extensions.rst: trailers only "in case the client has sent the TE: trailers
    header"; the response still completes at the final body on the wire."""
    w = writer(te_trailers=False)
    w.start(200, [], trailers=True)
    wire = w.body(b"data", False)
    assert w.complete and w.trailers_pending
    assert w.trailers([(b"x-checksum", b"abc")], False) == b""
    assert not w.trailers_pending
    _response, body, trailers, ended = parse(wire)
    assert body == b"data" and trailers == [] and ended


def test_trailers_without_announcement_are_refused():
    w = writer(te_trailers=True)
    w.start(200, [])
    w.body(b"", False)
    with pytest.raises(LocalProtocolError):
        w.trailers([], False)


def test_several_trailer_messages_make_one_section():
    w = writer(te_trailers=True)
    w.start(200, [], trailers=True)
    wire = w.body(b"d", False) + w.trailers([(b"x-a", b"1")], True)
    wire += w.trailers([(b"x-b", b"2")], False)
    _, _, trailers, ended = parse(wire)
    assert trailers == [(b"x-a", b"1"), (b"x-b", b"2")] and ended


def test_body_after_completion_is_refused():
    w = writer()
    w.start(200, [])
    w.body(b"", False)
    with pytest.raises(LocalProtocolError):
        w.body(b"more", False)


def test_body_must_be_bytes():
    w = writer()
    w.start(200, [])
    for bad in ("str", bytearray(b"x"), memoryview(b"x"), None):
        with pytest.raises(LocalProtocolError):
            w.body(bad, False)


def test_early_hint_before_the_head():
    w = writer()
    w.start(200, [])
    hint = w.early_hint([b"</style.css>; rel=preload; as=style"])
    assert hint.startswith(b"HTTP/1.1 103 Early Hints\r\n")
    assert b"link: </style.css>; rel=preload; as=style\r\n" in hint
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method="GET", target="/", headers=[("host", "x")]))
    conn.send(h11.EndOfMessage())
    conn.receive_data(hint + w.body(b"ok", False))
    assert isinstance(conn.next_event(), h11.InformationalResponse)
    final = conn.next_event()
    assert isinstance(final, h11.Response)
    assert final.status_code == 200


def test_no_early_hint_to_http10():
    """RFC 9110 §15.2: a server MUST NOT send a 1xx response to an HTTP/1.0 client."""
    w = writer(version=b"1.0")
    w.start(200, [])
    assert w.early_hint([b"</a>; rel=preload"]) == b""


def test_status_lines():
    assert status_line(404) == b"HTTP/1.1 404 Not Found\r\n"
    assert status_line(299) == b"HTTP/1.1 299 \r\n"


def test_error_response_is_complete_and_closing():
    response, body, _, ended = parse(error_response(431, "too many fields", date=CLOCK))
    assert response.status_code == 431 and body == b"too many fields\n" and ended
    assert header(response, b"connection") == [b"close"]
    assert header(response, b"date")


class FakeClock:
    """A clock the test moves by hand, counting how often it is read."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now


def test_the_date_comes_from_the_clock_it_is_given():
    """The core reads no clock of its own: the Date header is the given clock's time
    (RFC 9110 §6.6.1 IMF-fixdate), re-rendered only when the second changes."""
    clock = FakeClock(784111777.25)  # Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example)
    dates = DateCache(clock)
    assert dates.line() == b"date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
    clock.now += 0.5
    assert dates.value() == b"Sun, 06 Nov 1994 08:49:37 GMT"
    clock.now += 1
    assert dates.value() == b"Sun, 06 Nov 1994 08:49:38 GMT"
    assert clock.reads == 3
    w = writer(date=dates)
    w.start(200, [])
    response, _, _, _ = parse(w.body(b"x"))
    assert header(response, b"date") == [b"Sun, 06 Nov 1994 08:49:38 GMT"]


# --- the head cache: repeated header lists skip validation, never its verdict -----------


def test_a_repeated_head_renders_the_same_bytes_each_time():
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"2"),
               (b"connection", b"close"), (b"x-cache-test", b"1")]
    wires = []
    for _ in range(3):
        w = writer(date=None)
        w.start(200, headers)
        wires.append(w.body(b"ok"))
        assert not w.keep_alive  # the cached "connection: close" still applies
    assert wires[0] == wires[1] == wires[2]
    response, body, _, _ = parse(wires[0])
    assert response.status_code == 200 and body == b"ok"


def test_a_cached_head_does_not_vouch_for_different_headers():
    good = [(b"x-cache-test", b"fine")]
    writer().start(200, good)
    writer().start(200, good)  # now cached
    with pytest.raises(LocalProtocolError):
        writer().start(200, [(b"x-cache-test", b"bad\r\nx-injected: 1")])
    with pytest.raises(LocalProtocolError):
        writer().start(200, [(b"x-cache-test", "fine")])  # str, not bytes


def test_list_pairs_and_other_iterables_take_the_uncached_path():
    for headers in ([[b"x-a", b"1"]], ((b"x-a", b"1"),), iter([(b"x-a", b"1")])):
        w = writer(date=None)
        w.start(200, headers)
        assert b"x-a: 1\r\n" in w.body(b"")


def test_a_cached_content_length_is_counted_per_response():
    headers = [(b"content-length", b"5")]
    first = writer()
    first.start(200, headers)
    assert first.body(b"hello").endswith(b"hello")
    second = writer()
    second.start(200, headers)
    with pytest.raises(LocalProtocolError):
        second.body(b"too long")
