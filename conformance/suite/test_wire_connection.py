"""Connection management on the wire (RFC 9112 §9): persistence, Connection: close,
HTTP/1.0 keep-alive, pipelining, half-closes, and Expect: 100-continue (RFC 9110
§10.1.1).

Whether a request was processed is read from the side channel (its probe id reached the
app or not), whether a connection was closed from the socket (FIN or RST within a short
bound after the response).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from conformance.rawhttp import RawConnection, Response
from conformance.suite import _wire as w
from conformance.verdicts import NoResponse, non_strict
from fixtures import typedjson

req = pytest.mark.requirement


def _tokens(response: Response, name: bytes = b"connection") -> set[bytes]:
    """The response's options in ``name`` (Connection by default), lowercased."""
    return {t.strip().lower() for v in response.header_values(name) for t in v.split(b",")
            if t.strip()}


# --- persistence ----------------------------------------------------------------------------


@req("RFC9112-9.3-2")
@pytest.mark.parametrize("lines", [
    pytest.param([], id="default"),
    pytest.param(["Connection: keep-alive"], id="keep-alive"),
    pytest.param(["Connection: x-hop, keep-alive", "X-Hop: 1"], id="other-options"),
])
def test_http11_persistent_by_default(probe, lines):
    """An HTTP/1.1 connection persists: three requests sent one after another (each after
    the previous response) are all answered on it, none of the responses says close.
    Connection options other than close (a hop-by-hop field name) change nothing."""
    conn = probe.connect()
    for n in range(3):
        pid = f"{probe.id}.{n}"
        conn.send(w.head(probe, *lines, method="GET", pid=pid, scenario="echo"))
        response = w.read(probe, conn, "GET")
        assert response is not None, f"request {n + 1} of 3: {w.silence(conn)}"
        assert response.status == 200 and b"close" not in _tokens(response), (
            f"request {n + 1}: {w.head_text(response, conn)}"
        )
        assert w.served(probe, [pid]) == [pid], f"request {n + 1} did not reach the app"


@req("RFC9112-9.6-1")
@pytest.mark.parametrize("lines", [
    pytest.param(["Connection: close"], id="close"),
    pytest.param(["Connection: Close"], id="capitalised"),
    pytest.param(["Connection: keep-alive, close"], id="keep-alive-and-close"),
    pytest.param(["Connection: x-hop, CLOSE", "X-Hop: 1"], id="among-options"),
    pytest.param(["Connection: keep-alive", "Connection: close"], id="second-line"),
])
def test_connection_close_closes(probe, lines):
    """A request carrying the close option (options are case-insensitive, may share the
    field with others and may come on a second Connection line) gets its response, then
    the server closes the connection."""
    conn = probe.connect()
    conn.send(w.head(probe, *lines, method="GET", scenario="echo"))
    response = w.read(probe, conn, "GET")
    assert response is not None and response.status == 200, w.head_text(response, conn)
    assert conn.wait_closed(w.CLOSE_BOUND), (
        f"the connection was still open {w.CLOSE_BOUND:g} s after the response to a "
        f"request with {lines}"
    )


@req("RFC9112-9.6-2")
def test_connection_close_announced(probe):
    """The response to a Connection: close request carries the close option itself."""
    conn = probe.connect()
    conn.send(w.head(probe, "Connection: close", method="GET", scenario="echo"))
    response = w.read(probe, conn, "GET")
    assert response is not None, w.silence(conn)
    assert b"close" in _tokens(response), (
        f"Connection values in the response: {response.header_values(b'connection')}"
    )


def _first_response_lost(response: Response | None, conn: RawConnection, why: str) -> None:
    """The server kept what the sentence requires (nothing after the first request
    processed) but did not answer that valid request with the app's response: a 4xx
    blaming the bytes the client sent after it, or no response. Non-strict: the sentence
    is about what follows the response, and ``why`` the client should not have sent
    more."""
    if response is not None and response.status == 200:
        return
    non_strict(
        f"the valid first request got {w.head_text(response, conn)} instead of the app's "
        f"response; nothing after it was processed, which is what the RFC requires, and "
        f"{why}, so refusing the extra bytes instead of answering the first request is the "
        f"server's choice")


@req("RFC9112-9.6-3")
def test_no_request_served_after_close(probe):
    """A request pipelined after one carrying Connection: close is not processed: it never
    reaches the app, and no second response is written. (Answering the first request
    with an error instead of the app's response is non-strict: the client should not
    have sent the second.)"""
    follow_id, follow = w.follow(probe)
    conn = probe.connect()
    conn.send(w.head(probe, "Connection: close", method="GET", scenario="echo") + follow)
    response = w.read(probe, conn, "GET")
    conn.wait_closed(w.CLOSE_BOUND)
    served = w.served(probe, [follow_id])
    assert not served, (
        f"the request after Connection: close was served (first response "
        f"{w.head_text(response, conn)}); then {conn.unread()[:160]!r}"
    )
    assert not conn.unread(), f"bytes after the final response: {conn.unread()[:160]!r}"
    _first_response_lost(response, conn, "a client that sends a \"close\" connection "
                         "option MUST NOT send further requests on that connection "
                         "(RFC 9112 §9.6)")


@req("RFC9112-9.6-4")
def test_app_connection_close_header(probe):
    """The app's response carries Connection: close. If that header goes out on the wire
    the server has announced the close, so it must close and serve nothing more; if the
    server replaced it (the framing is the server's business), the connection must then
    behave as its response says and serve the pipelined request."""
    follow_id, follow = w.follow(probe)
    args = {"headers": [(b"connection", b"close"), (b"content-length", b"2")],
            "body": b"ok"}
    conn = probe.connect()
    conn.send(w.head(probe, method="GET", scenario="respond", args=args) + follow)
    response = w.read(probe, conn, "GET")
    assert response is not None and response.body == b"ok", w.head_text(response, conn)
    if b"close" in _tokens(response):
        closed = conn.wait_closed(w.CLOSE_BOUND)
        served = w.served(probe, [follow_id])
        assert not served, "a request was served after a response saying Connection: close"
        assert closed, "the connection stayed open after a response saying Connection: close"
        return
    probe.notes.append("the server did not send the app's Connection: close")
    second = w.read(probe, conn, "GET")
    assert second is not None and w.served(probe, [follow_id]), (
        "the response did not say close, yet the pipelined request was not served "
        f"({conn.peer_closed or 'no answer'})"
    )


@req("RFC9112-9.3-3")
def test_http10_closes_by_default(probe):
    """An HTTP/1.0 request without keep-alive: the response, then the connection closes.
    A request pipelined after it is not served. (Answering the first request with an
    error instead of the app's response is non-strict.)"""
    follow_id, follow = w.follow(probe)
    conn = probe.connect()
    conn.send(w.head(probe, method="GET", scenario="echo", version="HTTP/1.0") + follow)
    response = w.read(probe, conn, "GET")
    closed = conn.wait_closed(w.CLOSE_BOUND)
    served = w.served(probe, [follow_id])
    assert not served, (
        f"a second request was served on an HTTP/1.0 connection without keep-alive "
        f"(first response {w.head_text(response, conn)})"
    )
    assert closed, f"the HTTP/1.0 connection was still open {w.CLOSE_BOUND:g} s later"
    _first_response_lost(response, conn, "an HTTP/1.0 connection without keep-alive "
                         "\"will close after the current response\" (RFC 9112 §9.3): the "
                         "client had no connection to send a second request on")


@req("RFC9112-9.3-4")
def test_http10_keep_alive(probe):
    """HTTP/1.0 with Connection: keep-alive: the server may honour it or not. Honoured,
    the response says keep-alive, has a Content-Length (HTTP/1.0 knows no chunking) and
    the next request is served; not honoured, the connection closes after the response.
    Keeping the connection without saying so leaves an HTTP/1.0 client unable to tell."""
    conn = probe.connect()
    conn.send(w.head(probe, "Connection: keep-alive", method="GET", scenario="echo",
                     version="HTTP/1.0"))
    response = w.read(probe, conn, "GET")
    assert response is not None and response.status == 200, w.head_text(response, conn)
    if b"keep-alive" not in _tokens(response):
        assert conn.wait_closed(w.CLOSE_BOUND), (
            "the response did not say keep-alive, yet the connection stayed open"
        )
        probe.notes.append("HTTP/1.0 keep-alive not honoured: the connection closed")
        return
    assert response.header(b"content-length") is not None, (
        f"keep-alive response to HTTP/1.0 without Content-Length (framing "
        f"{response.framing})"
    )
    pid = f"{probe.id}.second"
    conn.send(w.head(probe, "Connection: keep-alive", method="GET", pid=pid, scenario="echo",
                     version="HTTP/1.0"))
    second = w.read(probe, conn, "GET")
    assert second is not None and w.served(probe, [pid]), (
        f"the response said keep-alive but the next request got {w.head_text(second, conn)} "
        f"({conn.peer_closed or 'open'})"
    )


@req("RFC9112-6.3-9")
@pytest.mark.parametrize("shape", ["streamed", "single-body"])
def test_http10_unframed_response_closes(probe, shape):
    """An HTTP/1.0 client asking for keep-alive, and an app response without
    Content-Length: unless the server computes a length, the body is delimited by the
    close, so the server must close once it is written (or the client waits forever)."""
    if shape == "streamed":
        args: dict[str, Any] = {"chunks": [b"one;", b"two;", b"three"]}
        scenario, expected = "stream", b"one;two;three"
    else:
        args = {"body": b"single body"}
        scenario, expected = "respond", b"single body"
    conn = probe.connect()
    conn.send(w.head(probe, "Connection: keep-alive", method="GET", scenario=scenario,
                     args=args, version="HTTP/1.0"))
    try:
        response = probe.read(conn, "GET", timeout=2.0)
    except NoResponse as exc:
        raise AssertionError(
            f"the response never ended: {exc}; received {conn.received_bytes()[:200]!r}"
        ) from None
    assert response.body == expected, f"body {response.body[:80]!r}"


# --- pipelining -----------------------------------------------------------------------------


@req("RFC9112-9.3-1")
@pytest.mark.parametrize("first", ["slow-stream", "chunked-upload"])
def test_pipelined_responses_not_interleaved(probe, first):
    """Three pipelined requests whose first answer is slow (streamed in pauses) or whose
    first request has a chunked body: the responses come whole and in request order,
    never interleaved, each from its own request."""
    ids = [f"{probe.id}.{n}" for n in range(3)]
    if first == "slow-stream":
        wire = w.head(probe, method="GET", pid=ids[0], scenario="stream",
                      args={"chunks": [b"a" * 100, b"b" * 100, b"c" * 100], "pause": 0.05})
        expected_first = b"a" * 100 + b"b" * 100 + b"c" * 100
    else:
        wire = (w.head(probe, "Transfer-Encoding: chunked", pid=ids[0], scenario="respond",
                       args={"body": b"first"})
                + w.chunked(b"x" * 10, b"y" * 20))
        expected_first = b"first"
    wire += w.head(probe, method="GET", pid=ids[1], scenario="respond",
                   args={"body": b"second"})
    wire += probe.request("GET", "/third", probe_id=ids[2])
    conn = probe.connect()
    conn.send(wire)
    methods = ["GET" if first == "slow-stream" else "POST", "GET", "GET"]
    responses: list[Response] = []
    for n, method in enumerate(methods):
        response = w.read(probe, conn, method, timeout=2.0 if n == 0 else 1.0)
        assert response is not None, (
            f"response {n + 1} of 3 missing ({conn.peer_closed or 'timeout'}); got "
            f"{[r.body[:20] for r in responses]}"
        )
        responses.append(response)
    assert responses[0].body == expected_first, f"first body {responses[0].body[:80]!r}"
    assert responses[1].body == b"second", f"second body {responses[1].body[:80]!r}"
    third = typedjson.loads(responses[2].body)["scope"]
    third_id = [v for k, v in third["headers"] if k == b"x-probe-id"]
    assert third_id == [ids[2].encode()], f"the third response answers {third_id}"


@req("RFC9112-9.3-1")
def test_pipelined_bad_request_after_good(probe):
    """A good request, then one with an invalid Content-Length, then a third, all in one
    write: the good one is answered first (a parse error further down the pipeline does
    not cancel it), then 400, then the connection closes; the bad and the third never
    reach the app."""
    good_id, good = w.follow(probe, "good")
    third_id, third = w.follow(probe, "third")
    bad = w.head(probe, "Content-Length: 5x") + b"hello"
    conn = probe.connect()
    conn.send(good + bad + third)
    first = w.read(probe, conn, "GET")
    assert first is not None and first.status == 200, (
        f"the first response on the connection, the good request's place, was "
        f"{w.head_text(first, conn)}: a response to a later request came first, or none"
    )
    assert w.served(probe, [good_id]) == [good_id], "the good request did not reach the app"
    w.assert_refused(probe, conn, (400,), others=[third_id])


# --- half-close -----------------------------------------------------------------------------


@req("RFC9112-9.6-5")
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_half_close_after_complete_request(probe, method):
    """The client sends a complete request (a POST with its body, or a GET) and
    half-closes (FIN) while it reads; the app answers a moment later. The request is
    complete, so the response is still owed: the server should deliver it (it MAY close
    instead, RFC 9112 §9.5, which loses the response: non-strict)."""
    events = [{"type": "http.response.start", "status": 200, "headers": []},
              {"type": "http.response.body", "body": b"ans", "more_body": True},
              {"type": "http.response.body", "body": b"wer"}]
    body = b"payload" if method == "POST" else b""
    wire = probe.request(method, "/", scenario="respond", body=body,
                         args={"events": events, "pause": 0.1})
    conn = probe.connect()
    conn.send(wire)
    conn.shutdown_write()
    response = w.read(probe, conn, method)
    assert response is not None, f"after the client's half-close: {w.silence(conn)}"
    assert response.status == 200 and response.body == b"answer", (
        w.head_text(response, conn)
    )


# --- Expect: 100-continue -------------------------------------------------------------------


def _await_head(conn: RawConnection, timeout: float) -> bytes:
    """Read until a complete response head has arrived (or the peer closed / timeout);
    the bytes stay in the connection's buffer for the next read_response."""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in conn.unread() and time.monotonic() < deadline:
        if conn.wait_closed(0.02):
            break
    return conn.unread()


@req("RFC9110-10.1.1-1")
@pytest.mark.parametrize("shape", ["content-length", "chunked", "mixed-case"])
def test_expect_100_continue(probe, shape):
    """A request with Expect: 100-continue and a body, whose head alone is sent: the app
    reads the body, so the server must send 100 (Continue) without waiting for the body
    (the expectation is case-insensitive). The client then sends the body and gets the
    final response with the body read whole. An immediate final status instead of the
    100 (417, or any other) is the other answer the MUST allows: non-strict, since the
    app that wanted the body never gets it."""
    expect = "100-Continue" if shape == "mixed-case" else "100-continue"
    if shape == "chunked":
        framing, body = "Transfer-Encoding: chunked", w.chunked(b"hello")
    else:
        framing, body = "Content-Length: 5", b"hello"
    conn = probe.connect()
    conn.send(w.head(probe, framing, f"Expect: {expect}"))
    early = _await_head(conn, 1.0)
    if not early.startswith(b"HTTP/1.1 100"):
        assert early, (
            "neither 100 (Continue) nor a final status within 1 s: the server waits for "
            "the body the client is holding back"
        )
        final = w.read(probe, conn)
        assert final is not None, f"received {early[:160]!r}"
        non_strict(f"{w.head_text(final, conn)} instead of 100 (Continue): an immediate "
                   "final status is one of the two answers RFC 9110 §10.1.1 allows (\"an "
                   "immediate response with a final status code\"), though it costs the "
                   "client its request")
    conn.send(body)
    final = w.read(probe, conn)
    assert final is not None and final.status == 200, w.head_text(final, conn)
    received, complete = w.app_body(probe)
    assert received == b"hello" and complete, f"the app read {received!r}"


@req("RFC9110-10.1.1-2")
def test_expect_ignored_for_http10(probe):
    """HTTP/1.0 has no 1xx responses: Expect: 100-continue from an HTTP/1.0 client is
    ignored, so the response (to head and body sent together) has no 100 before it."""
    conn = probe.connect()
    conn.send(w.head(probe, "Content-Length: 5", "Expect: 100-continue", version="HTTP/1.0")
              + b"hello")
    response = w.read(probe, conn)
    assert response is not None and response.status == 200, w.head_text(response, conn)
    received, complete = w.app_body(probe)
    assert received == b"hello" and complete, f"the app read {received!r}"
    assert not response.informational, (
        f"interim responses sent to an HTTP/1.0 client: "
        f"{[i.status for i in response.informational]}; received "
        f"{conn.received_bytes()[:120]!r}"
    )


@req("RFC9110-10.1.1-3")
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_final_response_after_expect(probe, framing):
    """A client that does not wait for 100 (Continue) sends head and body at once: any
    100 the server sends is followed by the final response, with the body read whole."""
    if framing == "chunked":
        line, body = "Transfer-Encoding: chunked", w.chunked(b"hel", b"lo")
    else:
        line, body = "Content-Length: 5", b"hello"
    conn = probe.connect()
    conn.send(w.head(probe, line, "Expect: 100-continue") + body)
    response = w.read(probe, conn)
    assert response is not None and response.status == 200, (
        f"{w.head_text(response, conn)}; received {conn.received_bytes()[:160]!r}"
    )
    assert all(i.status == 100 for i in response.informational), (
        f"interim statuses {[i.status for i in response.informational]}"
    )
    received, complete = w.app_body(probe)
    assert received == b"hello" and complete, f"the app read {received!r}"


@req("RFC9110-10.1.1-4")
def test_final_status_before_expected_body(probe):
    """Expect: 100-continue, and the app answers without reading the body. The client,
    having no 100, holds its body back; the response must tell it whether the server
    closes (Connection: close, then close) or keeps reading: then the client sends the
    body and a next request, which is served. (A server that sends 100 at once and only
    then runs the app gets the body like any other and is judged the same way.)"""
    follow_id, follow = w.follow(probe)
    args = {"read_body": False, "headers": [(b"content-length", b"5")], "body": b"early"}
    conn = probe.connect()
    conn.send(w.head(probe, "Content-Length: 5", "Expect: 100-continue", scenario="respond",
                     args=args))
    early = _await_head(conn, 1.0)
    if early.startswith(b"HTTP/1.1 100"):
        probe.notes.append("100 (Continue) came first: the body was sent")
        conn.send(b"hello")
    response = w.read(probe, conn)
    assert response is not None and response.body == b"early", (
        f"{w.head_text(response, conn)}; received {conn.received_bytes()[:160]!r}"
    )
    if b"close" in _tokens(response):
        assert conn.wait_closed(w.CLOSE_BOUND), "Connection: close but no close"
        return
    if not early.startswith(b"HTTP/1.1 100"):
        conn.send(b"hello")
    conn.send(follow)
    second = w.read(probe, conn, "GET")
    assert second is not None and w.served(probe, [follow_id]), (
        f"the response did not say close, but after the body the next request got "
        f"{w.head_text(second, conn)} ({conn.peer_closed or 'open'})"
    )


@req("RFC9110-10.1.1-5")
def test_unknown_expectation(probe):
    """An expectation other than 100-continue: 417 (Expectation Failed) is the server's
    option; serving the request as if the field were absent is lenient."""
    conn = probe.connect()
    conn.send(w.head(probe, "Expect: x-probe-expectation", method="GET", scenario="echo"))
    response = w.read(probe, conn, "GET")
    assert response is not None, w.silence(conn)
    if response.status == 417:
        assert not w.calls(probe, probe.id), "417, yet the request reached the app"
        return
    assert response.status == 200, w.head_text(response, conn)
    non_strict("the unknown expectation was ignored and the request served: RFC 9110 "
               "§10.1.1 says a server MAY respond with 417, not that it must")
