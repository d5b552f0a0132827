"""Responses built from the app's events (ASGI www.rst "Response Start" and "Response
Body") and their framing on the wire (RFC 9112 §6)."""

from __future__ import annotations

import pytest

from conformance.suite._events import response_body as _body
from conformance.suite._events import response_start as _start
from conformance.verdicts import NoResponse

req = pytest.mark.requirement


def _respond(probe, events, *, method="GET", version="HTTP/1.1", **args):
    return probe.exchange(
        probe.request(method, "/", scenario="respond", version=version,
                      args={"events": events, **args}),
        method=method,
    )


@req("HTTP-030")
@pytest.mark.parametrize("status", [200, 201, 299, 404, 418, 451, 503, 599])
def test_status_code_on_the_wire(probe, status):
    """The app's status is the status line's, registered or not."""
    response = _respond(probe, [_start(status, [(b"content-length", b"2")]), _body(b"ok")])
    assert response.status == status


@req("HTTP-031")
def test_response_header_order_kept(probe):
    """The app's headers keep their order on the wire."""
    headers = [(b"x-a", b"1"), (b"x-b", b"2"), (b"x-a", b"3"), (b"x-c", b"4")]
    response = _respond(probe, [_start(200, [*headers, (b"content-length", b"0")]), _body()])
    seen = [(n, v) for n, v in response.headers if n in (b"x-a", b"x-b", b"x-c")]
    assert seen == headers, f"on the wire: {seen}"


@req("HTTP-032")
def test_repeated_response_headers_kept(probe):
    """Two Set-Cookie and two X-Dup headers go out as four byte-exact lines."""
    headers = [(b"set-cookie", b"a=1; Path=/"), (b"x-dup", b"x"),
               (b"set-cookie", b"b=2; HttpOnly"), (b"x-dup", b"y")]
    response = _respond(probe, [_start(200, [*headers, (b"content-length", b"0")]), _body()])
    assert response.header_values(b"set-cookie") == [b"a=1; Path=/", b"b=2; HttpOnly"]
    assert response.header_values(b"x-dup") == [b"x", b"y"]


@req("HTTP-033")
def test_start_without_headers_key(probe):
    """A response start with no headers key still gives a valid response."""
    response = _respond(probe, [_start(200, headers=None), _body(b"fine")])
    assert response.status == 200 and response.body == b"fine"


@req("HTTP-039")
def test_body_chunks_concatenate(probe):
    """Body chunks, empty ones included, concatenate; an empty chunk ends nothing."""
    pieces = [b"a", b"", b"bb", b"", b"", b"ccc", b"d" * 3000, b""]
    events = [_start(200)] + [_body(p, more=True) for p in pieces] + [_body(b"end")]
    response = _respond(probe, events)
    assert response.body == b"".join(pieces) + b"end", f"body {response.body[:80]!r}..."


@req("HTTP-041")
def test_bare_body_event_completes(probe):
    """A bare {"type": "http.response.body"} ends the response with an empty body."""
    response = _respond(probe, [_start(200), {"type": "http.response.body"}])
    assert response.status == 200 and response.body == b""


@req("HTTP-040")
def test_final_body_completes_while_app_runs(probe):
    """The response is complete on the wire as soon as the final body is sent, though the
    app keeps running for 3 s more."""
    conn = probe.connect()
    conn.send(probe.request("GET", "/", scenario="respond", args={
        "events": [_start(200), _body(b"done", more=True), _body(b"!")], "linger": 3.0}))
    try:
        response = probe.read(conn, timeout=1.0)
    except NoResponse as exc:
        raise NoResponse(f"the response was not complete 1 s after the final body: {exc}") from None
    assert response.body == b"done!"


@req("HTTP-023")
def test_streamed_response_framing(probe):
    """A response streamed without Content-Length is validly framed with the exact bytes."""
    chunks = [b"first;", b"second;", b"third"]
    response = probe.exchange(probe.request("GET", "/", scenario="stream",
                                            args={"chunks": chunks, "pause": 0.02}))
    assert response.framing in ("chunked", "close"), f"framing {response.framing}"
    assert response.body == b"".join(chunks)


@req("RFC9112-6.3-1")
def test_content_length_frames_response(probe):
    """With the app's Content-Length, the body is exactly that long and not chunked."""
    response = _respond(probe, [_start(200, [(b"content-length", b"11")]),
                                _body(b"hello", more=True), _body(b" world")])
    assert response.framing == "content-length", f"framing {response.framing}"
    assert response.header_values(b"content-length") == [b"11"]
    assert response.header(b"transfer-encoding") is None
    assert response.body == b"hello world"


@req("RFC9112-6.1-1")
def test_no_chunking_for_http10(probe):
    """An HTTP/1.0 request's streamed response carries no Transfer-Encoding."""
    chunks = [b"one;", b"two;", b"three"]
    response = probe.exchange(probe.request("GET", "/", scenario="stream", version="HTTP/1.0",
                                            args={"chunks": chunks}))
    assert response.header(b"transfer-encoding") is None, (
        f"Transfer-Encoding: {response.header(b'transfer-encoding')!r} sent to HTTP/1.0"
    )
    assert response.body == b"".join(chunks)
