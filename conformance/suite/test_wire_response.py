"""Response framing produced from the app's events (RFC 9112 §6, RFC 9110 §6.6.1, §8.6,
§9.3.2, §15): bodies that must not be sent (HEAD, 204, 304), Content-Length the app gets
wrong, Transfer-Encoding and Connection headers the app should not decide, header bytes
that must never reach the wire, and the Date a server adds.

The app is the probe's ``respond``/``stream`` scenario, told exactly which events to
send. Where a body must not be written, a second request is pipelined behind the first:
stray bytes would be read as the start of the next response, so the strict client
(h11) either rejects them or the next response is not the second request's.
"""

from __future__ import annotations

import email.utils
import re
import time

import pytest

from conformance.rawhttp import MalformedResponse, RawConnection, Response
from conformance.suite import _wire as w
from conformance.suite._events import response_body as _body
from conformance.suite._events import response_start as _start
from conformance.verdicts import NoResponse, non_strict

req = pytest.mark.requirement


def _respond_request(probe, events, *, method: str = "GET", version: str = "HTTP/1.1",
                     pid: str | None = None) -> bytes:
    return w.head(probe, method=method, pid=pid, scenario="respond", version=version,
                  args={"events": events})


def _next_response(probe, conn: RawConnection, follow_id: str, after: str) -> None:
    """The bytes after the first response are exactly the pipelined request's response
    (or nothing, the connection closed): no stray body bytes in between."""
    try:
        second = w.read(probe, conn, "GET", timeout=1.0)
    except MalformedResponse as exc:
        raise AssertionError(
            f"bytes after the {after} do not start a response: {exc}"
        ) from None
    if second is None:
        assert conn.peer_closed and not conn.unread(), (
            f"after the {after}: {conn.unread()[:120]!r} "
            f"({conn.peer_closed or 'connection open, no response'})"
        )
        return
    assert second.status == 200 and w.served(probe, [follow_id]) == [follow_id], (
        f"the response after the {after} is not the pipelined request's: "
        f"{w.head_text(second, conn)}"
    )


# --- bodies that are never sent -------------------------------------------------------------


HEAD_SHAPES = {
    "content-length": [_start(200, [(b"content-length", b"5"), (b"x-probe", b"head")]),
                       _body(b"hello")],
    "no-length": [_start(200, [(b"x-probe", b"head")]), _body(b"hello")],
    "streamed": [_start(200, [(b"x-probe", b"head")]), _body(b"hel", more=True),
                 _body(b"lo", more=True), _body()],
}


@req("RFC9110-9.3.2-1")
@pytest.mark.parametrize("shape", list(HEAD_SHAPES))
def test_head_response_has_no_body(probe, shape):
    """The app answers HEAD as it would GET, body included (with Content-Length, without,
    streamed): the server writes the head only. The pipelined request behind it gets the
    very next response, with no body bytes in between."""
    follow_id, follow = w.follow(probe)
    conn = probe.connect()
    conn.send(_respond_request(probe, HEAD_SHAPES[shape], method="HEAD") + follow)
    response = w.read(probe, conn, "HEAD")
    assert response is not None and response.status == 200, w.head_text(response, conn)
    _next_response(probe, conn, follow_id, "HEAD response")


@req("RFC9110-9.3.2-2")
def test_head_keeps_headers(probe):
    """The headers the app sends for HEAD go out as they would for GET, Content-Length
    included (it says how long the GET body would be)."""
    conn = probe.connect()
    conn.send(_respond_request(probe, HEAD_SHAPES["content-length"], method="HEAD"))
    response = w.read(probe, conn, "HEAD")
    assert response is not None, w.silence(conn)
    assert response.header_values(b"x-probe") == [b"head"], (
        f"x-probe: {response.header_values(b'x-probe')}"
    )
    assert response.header_values(b"content-length") == [b"5"], (
        f"Content-Length: {response.header_values(b'content-length')} (the app sent 5)"
    )


NO_BODY_SHAPES = {
    "204-with-body": [_start(204), _body(b"hello")],
    "204-streamed": [_start(204), _body(b"hel", more=True), _body(b"lo")],
    "304-with-body": [_start(304), _body(b"hello")],
    "304-with-length": [_start(304, [(b"content-length", b"5")]), _body(b"hello")],
}


@req("RFC9112-6.3-7")
@pytest.mark.parametrize("shape", list(NO_BODY_SHAPES))
def test_no_body_after_204_or_304(probe, shape):
    """A 204 or 304 ends at its header section, whatever body the app sends (a 304 may
    keep the Content-Length of the 200 it stands for): the body bytes are never written,
    so the pipelined request behind it gets the very next response."""
    follow_id, follow = w.follow(probe)
    conn = probe.connect()
    conn.send(_respond_request(probe, NO_BODY_SHAPES[shape]) + follow)
    response = w.read(probe, conn, "GET")
    assert response is not None and response.status in (204, 304), w.head_text(response, conn)
    _next_response(probe, conn, follow_id, f"{response.status} response")


@req("RFC9110-8.6-2")
@pytest.mark.parametrize("shape", ["server", "app-set"])
def test_no_content_length_on_204(probe, shape):
    """No Content-Length on a 204: the server adds none for an empty body. One the app set
    and the server passed on is non-strict: the origin server (server and app) broke the
    MUST NOT, but ASGI hands the app's headers through and gives the server no duty to
    drop this one (unlike Transfer-Encoding, which it must ignore)."""
    headers = [(b"content-length", b"0")] if shape == "app-set" else []
    conn = probe.connect()
    conn.send(_respond_request(probe, [_start(204, headers), _body()]))
    response = w.read(probe, conn, "GET")
    assert response is not None and response.status == 204, w.head_text(response, conn)
    values = response.header_values(b"content-length")
    if values and headers and values == [b"0"]:
        non_strict(
            "the 204 carries the Content-Length: 0 the app set; RFC 9110 §8.6 (\"A server "
            "MUST NOT send a Content-Length header field in any response with a status code "
            "of ... 204\") binds the origin server, here server and app together, and ASGI "
            "passes the app's headers through without asking the server to drop this one")
    assert not values, (
        f"204 with Content-Length: {values} "
        f"({'set by the app' if headers else 'added by the server'})"
    )


@req("RFC9112-6.1-3")
@pytest.mark.parametrize("shape", ["streamed", "app-set"])
def test_no_transfer_encoding_on_204(probe, shape):
    """No Transfer-Encoding on a 204: not when the app streams it (more_body without a
    length would make a server chunk), nor when the app sets one itself."""
    if shape == "streamed":
        events = [_start(204), _body(b"", more=True), _body(b"", more=True), _body()]
    else:
        events = [_start(204, [(b"transfer-encoding", b"chunked")]), _body()]
    conn = probe.connect()
    conn.send(_respond_request(probe, events))
    response = w.read(probe, conn, "GET")
    assert response is not None and response.status == 204, w.head_text(response, conn)
    assert response.header(b"transfer-encoding") is None, (
        f"204 with Transfer-Encoding: {response.header_values(b'transfer-encoding')}"
    )


# --- Content-Length the app gets wrong ------------------------------------------------------


@req("RFC9110-8.6-3")
@pytest.mark.parametrize("shape", ["single", "streamed"])
def test_body_beyond_content_length_not_sent(probe, shape):
    """The app declares Content-Length: 5 and sends "hello world". The response carries
    exactly 5 body bytes; the rest is never written (it would be read as the start of
    the next response: the server would be sending a message whose Content-Length it
    knows to be wrong). The server may truncate or abort; the pipelined request then gets
    the next response or the connection closes."""
    if shape == "single":
        events = [_start(200, [(b"content-length", b"5")]), _body(b"hello world")]
    else:
        events = [_start(200, [(b"content-length", b"5")]), _body(b"hello", more=True),
                  _body(b" world")]
    follow_id, follow = w.follow(probe)
    conn = probe.connect()
    conn.send(_respond_request(probe, events) + follow)
    try:
        response = probe.read(conn, "GET", timeout=2.0)
    except NoResponse:
        assert conn.peer_closed and b" world" not in conn.received_bytes(), (
            f"received {conn.received_bytes()[-120:]!r}"
        )
        probe.notes.append("the server aborted the response instead of truncating it")
        return
    assert response.body == b"hello", f"body {response.body!r}"
    _next_response(probe, conn, follow_id, "5-byte body")


@req("RFC9110-8.6-3")
@pytest.mark.parametrize("shape", ["single", "streamed"])
def test_body_short_of_content_length_closes(probe, shape):
    """The app declares Content-Length: 10 and ends after "hello". The server cannot
    complete that message: it must close the connection, so the client sees it
    incomplete, and never write anything else (another response would be read as the
    missing 5 bytes)."""
    if shape == "single":
        events = [_start(200, [(b"content-length", b"10")]), _body(b"hello")]
    else:
        events = [_start(200, [(b"content-length", b"10")]), _body(b"hel", more=True),
                  _body(b"lo")]
    _, follow = w.follow(probe)
    conn = probe.connect()
    conn.send(_respond_request(probe, events) + follow)
    try:
        response: Response | None = probe.read(conn, "GET", timeout=1.0)
    except NoResponse:
        response = None
    if response is not None:
        raise AssertionError(
            f"a complete 10-byte body arrived, {response.body!r}: the server filled the "
            "declared length with other bytes"
        )
    raw = conn.received_bytes()
    tail = raw.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in raw else b""
    assert tail in (b"", b"hello"), f"body bytes on the wire: {tail[:80]!r}"
    assert conn.peer_closed, (
        f"the connection was left open 1 s after the response fell 5 bytes short of its "
        f"Content-Length (received {raw[-60:]!r})"
    )


# --- framing headers the app does not decide ------------------------------------------------


@req("RFC9112-6.1-2")
@pytest.mark.parametrize("shape", ["single", "streamed"])
def test_app_transfer_encoding_not_applied_twice(probe, shape):
    """The app sets Transfer-Encoding: chunked and sends plain body bytes. The server owns
    the framing: the body arrives as "hello", never double-chunked and never as raw bytes
    labelled chunked (which the strict client would reject). Sending nothing and closing
    also avoids a second chunking (noted; ASGI's HTTP-024 judges that choice)."""
    start = _start(200, [(b"transfer-encoding", b"chunked")])
    events = ([start, _body(b"hello")] if shape == "single"
              else [start, _body(b"hel", more=True), _body(b"lo")])
    conn = probe.connect()
    conn.send(_respond_request(probe, events))
    response = w.read(probe, conn, "GET")
    if response is None and conn.peer_closed and not conn.received_bytes():
        probe.notes.append("the server sent nothing for the app's Transfer-Encoding and "
                           "closed")
        return
    assert response is not None, w.silence(conn)
    assert len(response.header_values(b"transfer-encoding")) <= 1, (
        f"Transfer-Encoding lines: {response.header_values(b'transfer-encoding')}"
    )
    assert response.body == b"hello", f"decoded body {response.body[:80]!r}"


@req("RFC9112-6.2-1")
@pytest.mark.parametrize("order", ["cl-first", "te-first"])
def test_no_content_length_with_transfer_encoding(probe, order):
    """The app sets both Content-Length: 5 and Transfer-Encoding: chunked: the response
    never carries both (a recipient would have to guess which frames it). A server that
    refuses to send such a head at all (closing instead) complies here; ASGI's own
    rule that the app's Transfer-Encoding is ignored is judged elsewhere (HTTP-024)."""
    headers = [(b"content-length", b"5"), (b"transfer-encoding", b"chunked")]
    if order == "te-first":
        headers.reverse()
    conn = probe.connect()
    conn.send(_respond_request(probe, [_start(200, headers), _body(b"hello")]))
    response = w.read(probe, conn, "GET")
    names = {name for name, _ in w.first_head_fields(conn)}
    assert not {b"content-length", b"transfer-encoding"} <= names, (
        f"both framing headers sent: {conn.received_bytes()[:200]!r}"
    )
    if response is None and conn.peer_closed and not conn.received_bytes():
        probe.notes.append("the server sent nothing for the contradictory headers and closed")
        return
    assert response is not None, w.silence(conn)
    assert response.body == b"hello", f"body {response.body[:80]!r}"


@req("RFC9112-6.1-1")
def test_app_transfer_encoding_not_sent_to_http10(probe):
    """An app that sets Transfer-Encoding: chunked for an HTTP/1.0 client still gets no
    Transfer-Encoding on the wire: HTTP/1.0 knows no chunking."""
    start = _start(200, [(b"transfer-encoding", b"chunked")])
    conn = probe.connect()
    conn.send(_respond_request(probe, [start, _body(b"hello")], version="HTTP/1.0"))
    response = w.read(probe, conn, "GET")
    codings = [v for n, v in w.first_head_fields(conn) if n == b"transfer-encoding"]
    assert not codings, (
        f"Transfer-Encoding {codings} to HTTP/1.0: {conn.received_bytes()[:200]!r}"
    )
    assert response is not None, w.silence(conn)
    assert response.body == b"hello", f"body {response.body[:80]!r}"


@req("RFC9112-6.3-8")
@pytest.mark.parametrize("shape", ["single-body", "streamed"])
def test_http11_response_length_delimited(probe, shape):
    """An app response without Content-Length to an HTTP/1.1 client (one body event, or
    streamed): the server frames it by Content-Length or chunked, so the connection can
    be reused, rather than by closing it."""
    if shape == "single-body":
        events = [_start(200), _body(b"hello")]
    else:
        events = [_start(200), _body(b"hel", more=True), _body(b"lo", more=True), _body()]
    conn = probe.connect()
    conn.send(_respond_request(probe, events))
    response = w.read(probe, conn, "GET")
    assert response is not None and response.body == b"hello", w.head_text(response, conn)
    assert response.framing in ("content-length", "chunked"), (
        f"framing {response.framing}: the body was delimited by closing the connection"
    )


# --- header bytes that never reach the wire -------------------------------------------------


INJECTIONS = {
    "value-crlf": (b"x-safe", b"a\r\nx-injected: 1"),
    "value-lf": (b"x-safe", b"a\nx-injected: 1"),
    "value-cr": (b"x-safe", b"a\rx-injected: 1"),
    "value-nul": (b"x-safe", b"a\x00b"),
    "name-crlf": (b"x-safe\r\nx-injected", b"1"),
    "name-space": (b"x safe", b"1"),
    "name-colon": (b"x-safe:x-injected", b"1"),
}


@req("RFC9110-2.2-1")
@pytest.mark.parametrize("case", list(INJECTIONS))
def test_header_injection_never_written(probe, case):
    """The app puts CR, LF or NUL (or a space or colon, also outside the token grammar)
    in a response header name or value. Those bytes never reach the wire: no injected
    header line, no NUL, no malformed field line. The server refuses the event (send()
    raising, ASGI's way; the probe then answers with a report) or drops/neutralises the
    header; what the app saw is recorded as evidence."""
    name, value = INJECTIONS[case]
    event = _start(200, [(name, value), (b"content-length", b"2")])
    conn = probe.connect()
    conn.send(w.head(probe, method="GET", scenario="invalid_event", args={"event": event}))
    malformed = None
    try:
        probe.read(conn, "GET", timeout=2.0)
    except NoResponse:
        pass
    except MalformedResponse as exc:
        malformed = str(exc)
    probe.call()  # the app ran and tried the header (else nothing was exercised)
    raw = conn.received_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    lines = re.split(rb"\r\n|\n|\r", head)
    sends = [r.data for r in probe.records() if r.kind == "send"
             and r.data.get("event", {}).get("headers")
             and (name, value) in [tuple(h) for h in r.data["event"]["headers"]]]
    if sends:
        probe.notes.append(f"send() of the bad header: ok={sends[0].get('ok')} "
                           f"{sends[0].get('error', {}).get('type', '')}")
    injected = [ln for ln in lines if ln.lower().startswith(b"x-injected")]
    assert not injected, f"injected header line(s) on the wire: {injected!r}"
    assert b"\x00" not in head, f"NUL written in the response head: {head[:200]!r}"
    assert name not in head or name == b"x-safe", (
        f"the invalid field name {name!r} was written: {head[:200]!r}"
    )
    assert malformed is None, f"the response was malformed: {malformed}"


# --- Date -----------------------------------------------------------------------------------

IMF_FIXDATE = re.compile(
    rb"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov"
    rb"|Dec) \d{4} \d\d:\d\d:\d\d GMT"
)


@req("RFC9110-6.6.1-1")
@pytest.mark.parametrize("source", ["app-200", "app-301", "app-404", "server-400"])
def test_date_header_present(probe, source):
    """A 2xx, 3xx or 4xx response (the app's, without a Date of its own, or the server's
    own 400 for a malformed request) carries a Date in IMF-fixdate form, close to the
    current time. The MUST binds the origin server: the server's own 400 fails without
    one; for the app's responses the origin server is server and app together and ASGI
    says neither must add Date, so a missing one there is non-strict."""
    conn = probe.connect()
    if source == "server-400":
        conn.send(w.head(probe, "Content-Length: x") + b"hello")
    else:
        status = int(source.split("-")[1])
        headers = [(b"content-length", b"0")]
        if status == 301:
            headers.append((b"location", b"/elsewhere"))
        conn.send(_respond_request(probe, [_start(status, headers), _body()]))
    response = w.read(probe, conn, "GET")
    assert response is not None, w.silence(conn)
    dates = response.header_values(b"date")
    if not dates and source != "server-400":
        non_strict(
            f"the app's {response.status} went out without Date; RFC 9110 §6.6.1 (\"An "
            f"origin server with a clock MUST generate a Date header field\") binds the "
            f"origin server, here server and app together, and ASGI does not say which of "
            f"them adds it (the probe app sets none)")
    assert dates, f"{response.status} response without Date: {w.head_text(response, conn)}"
    for value in dates:
        assert IMF_FIXDATE.fullmatch(value), f"Date {value!r} is not an IMF-fixdate"
        when = email.utils.parsedate_to_datetime(value.decode()).timestamp()
        assert abs(when - time.time()) < 3600, f"Date {value!r} is not the current time"


@req("RFC9110-5.3-1")
@pytest.mark.parametrize("field", ["date", "server"])
def test_app_field_not_duplicated(probe, field):
    """When the app sets Date or Server itself (neither is a list field), the response has
    exactly one such field line: the server does not add its default beside it."""
    value = b"Sun, 06 Nov 1994 08:49:37 GMT" if field == "date" else b"probe-app/1.0"
    conn = probe.connect()
    conn.send(_respond_request(probe, [
        _start(200, [(field.encode(), value), (b"content-length", b"0")]), _body()]))
    response = w.read(probe, conn, "GET")
    assert response is not None, w.silence(conn)
    values = response.header_values(field.encode())
    assert len(values) == 1, f"{field} field lines: {values}"
