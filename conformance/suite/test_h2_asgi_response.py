"""ASGI over HTTP/2, the response side: headers the app must not decide on h2
(connection-specific fields, RFC 9113 §8.2.2), a Content-Length the body does not match,
bodies that are never sent (HEAD, 204, 304), 100 (Continue), and the extensions over h2
(trailers with TE: trailers, early hints, path send, zero-copy send, server push).

Extension cases are gated on what the server advertises in its *h2* scopes (n/a when it
does not), like the HTTP/1.1 cases of ``test_extensions`` are on its HTTP/1.1 scopes.
"""

from __future__ import annotations

from typing import Any

import pytest
from hyperframe.frame import PushPromiseFrame

from conformance.rawh2 import Setting, error_name
from conformance.suite._events import response_body as _body
from conformance.suite._events import response_start as _start
from conformance.suite._h2_asgi import (
    authority as h2_authority,
)
from conformance.suite._h2_asgi import (
    read_streams,
    require_h2_extension,
    run,
    script,
)
from conformance.verdicts import NoResponse, non_strict
from fixtures import typedjson

req = pytest.mark.requirement

TRAILERS = "http.response.trailers"
EARLY_HINT = "http.response.early_hint"
PATHSEND = "http.response.pathsend"
ZEROCOPY = "http.response.zerocopysend"
PUSH = "http.response.push"


def _respond(events: list[Any]) -> list[list[Any]]:
    return [["receive_body"], *(["send", e] for e in events)]


# --- headers the app does not decide on h2 ----------------------------------------------------

CONNECTION_SPECIFIC = {
    "connection": b"close",
    "keep-alive": b"timeout=5",
    "proxy-connection": b"keep-alive",
    "transfer-encoding": b"chunked",
    "upgrade": b"websocket",
}


@req("H2ASGI-2")
@pytest.mark.parametrize("name", list(CONNECTION_SPECIFIC))
def test_h2_connection_specific_header_dropped(h2probe, name):
    """The app sends a connection-specific header field; the h2 response carries the app's
    body without it. (Resetting the stream rather than sending the app's response is
    non-strict: nothing malformed goes out, but the response is lost.)"""
    field = (name.encode(), CONNECTION_SPECIFIC[name])
    _, _, response = run(h2probe, _respond([_start(200, [field, (b"content-length", b"2")]),
                                            _body(b"ok")]))
    if response.reset is not None:
        non_strict(f"the server reset the stream ({error_name(response.reset)}) instead of "
                   f"sending the response without {name}")
    assert not response.header_values(field[0]), (
        f"{name}: {response.header_values(field[0])} went out in an h2 response")
    assert response.status == 200 and response.body == b"ok", (
        f"the response was {response.status} {response.body!r}")


CHUNKS = [b"a", b"", b"bb", b"", b"", b"ccc", b"d" * 3000, b""]


def _chunked_response(h2probe: Any, fields: list[tuple[bytes, bytes]]) -> None:
    body = b"".join(CHUNKS) + b"end"
    events = [_start(200, fields), *(_body(c, more=True) for c in CHUNKS), _body(b"end")]
    _, _, response = run(h2probe, _respond(events))
    assert response.reset is None, (
        f"the server reset the stream ({error_name(response.reset)}) after "
        f"{len(response.body)} of {len(body)} body bytes")
    assert response.body == body, (
        f"{len(response.body)} body bytes ({response.body[:40]!r}...), not the "
        f"{len(body)} of the concatenated chunks")


@req("HTTP-039")
def test_h2_body_chunks_concatenate(h2probe):
    """Over h2 as over HTTP/1.1 the body events' chunks, empty ones included, reach the
    client concatenated, and an empty chunk ends nothing."""
    _chunked_response(h2probe, [])


@req("HTTP-039")
def test_h2_body_chunks_counted_against_content_length(h2probe):
    """The same chunks under a Content-Length for the whole body: the server counts the
    declared length down across the events (on h2 the length is a field only, RFC 9113
    §8.1.1), so a body sent in pieces is not cut or reset at its second piece."""
    length = len(b"".join(CHUNKS) + b"end")
    _chunked_response(h2probe, [(b"content-length", str(length).encode())])


LENGTH_SHAPES = {
    "long": ([_start(200, [(b"content-length", b"5")]), _body(b"hello world")], 5),
    "short": ([_start(200, [(b"content-length", b"10")]), _body(b"hello")], 10),
}


@req("RFC9110-8.6-3")
@pytest.mark.parametrize("shape", list(LENGTH_SHAPES))
def test_h2_content_length_matches_data(h2probe, shape):
    """The app's body disagrees with its Content-Length (5 declared, 11 sent; 10
    declared, 5 sent). A stream that ends normally carries exactly the declared bytes;
    otherwise the server resets it (RFC 9113 §8.1.1 makes the mismatch malformed)."""
    events, declared = LENGTH_SHAPES[shape]
    _, _, response = run(h2probe, _respond(events))
    if response.reset is not None:
        h2probe.notes.append(f"the server reset the stream ({error_name(response.reset)})")
        return
    lengths = response.header_values(b"content-length")
    if lengths:
        assert len(response.body) == int(lengths[0]), (
            f"Content-Length {lengths[0].decode()} over {len(response.body)} DATA bytes "
            f"({response.body!r}), ended normally")
    assert len(response.body) <= declared, f"{len(response.body)} bytes beyond {declared}"


@req("RFC9110-9.3.2-1")
def test_h2_head_response_has_no_body(h2probe):
    """The app answers HEAD with a body: no DATA payload goes out."""
    _, _, response = run(h2probe, _respond([_start(200, [(b"content-length", b"5")]),
                                            _body(b"hello")]), method="HEAD")
    assert response.status == 200, f"HEAD got {response.status} (reset {response.reset})"
    assert response.body == b"", f"HEAD response body {response.body!r}"


@req("H2ASGI-7")
@pytest.mark.parametrize("status", [204, 304])
def test_h2_no_content_for_204_304(h2probe, status):
    """A 204 or 304 whose app sends a body: the response has no DATA payload."""
    _, _, response = run(h2probe, _respond([_start(status), _body(b"hello")]))
    assert response.status == status, f"got {response.status} (reset {response.reset})"
    assert response.body == b"", f"{status} response with content {response.body!r}"


@req("RFC9110-10.1.1-1")
def test_h2_expect_100_continue(h2probe):
    """HEADERS with expect: 100-continue and no body yet; the app reads the body. The
    server sends a 100 (Continue) HEADERS without END_STREAM (or a final response); the
    body then reaches the app."""
    conn = h2probe.connect_h2()
    sid = script(h2probe, conn, [["receive_body"], ["respond_report", "body"]],
                 method="POST", end_stream=False,
                 headers=[("expect", "100-continue"), ("content-length", "5")])
    try:
        frames = conn.frames_until(lambda f: f.stream_id == sid, 1.0,
                                   "response to expect: 100-continue")
    except NoResponse as exc:
        raise AssertionError(f"no 100 (Continue) nor final response: {exc}") from None
    head = conn.decoded.get(sid, [[]])[0]
    status = dict(head).get(b":status")
    assert status is not None, f"the server's first frame on the stream: {frames[-1]!r}"
    if status == b"100":
        assert "END_STREAM" not in frames[-1].flags, "a 100 (Continue) with END_STREAM"
        conn.send_data(sid, b"hello", end_stream=True)
        response = read_streams(conn, [sid]).responses[sid]
        assert response.status == 200 and _reported_length(response.body) == 5, (
            f"after the 100, the response was {response.status} {response.body[:80]!r}")


def _reported_length(body: bytes) -> object:
    """The body length the probe's ``respond_report body`` answered with."""
    try:
        return typedjson.loads(body)["length"]
    except (ValueError, KeyError, TypeError):
        return None


# --- extensions over h2 ---------------------------------------------------------------------


def _trailer_steps() -> list[list[Any]]:
    return [["receive_body"], ["send", _start(200, [(b"trailer", b"x-checksum")],
                                              trailers=True)],
            ["send", _body(b"data", more=True)], ["send", _body(b"")],
            ["send", {"type": TRAILERS, "headers": [(b"x-checksum", b"abc")]}]]


@req("EXT-025")
def test_h2_trailers_with_te(h2probe):
    """With TE: trailers, the app's trailer fields end the stream in a HEADERS frame after
    the DATA."""
    require_h2_extension(h2probe, TRAILERS)
    _, _, response = run(h2probe, _trailer_steps(), headers=[("te", "trailers")])
    assert response.body == b"data", f"body {response.body!r}"
    assert response.trailers is not None and (b"x-checksum", b"abc") in response.trailers, (
        f"trailers {response.trailers}")


@req("EXT-026")
def test_h2_no_trailers_without_te(h2probe):
    """Without TE: trailers, no trailer fields are sent, and the body is complete."""
    require_h2_extension(h2probe, TRAILERS)
    _, _, response = run(h2probe, _trailer_steps())
    assert response.body == b"data", f"body {response.body!r}"
    assert not response.trailers, f"trailers sent without TE: trailers: {response.trailers}"


LINKS = [b"</style.css>; rel=preload; as=style"]


@req("EXT-021")
def test_h2_early_hint_as_103(h2probe):
    """An early hint goes out as a 103 HEADERS (without END_STREAM) carrying the link,
    before the final response."""
    require_h2_extension(h2probe, EARLY_HINT)
    _, _, response = run(h2probe, _respond([_start(200, [(b"content-length", b"2")]),
                                            {"type": EARLY_HINT, "links": LINKS},
                                            _body(b"ok")]))
    hints = [h for h in response.informational if dict(h).get(b":status") == b"103"]
    assert hints, f"no 103 before the final response ({response.informational})"
    assert dict(hints[0]).get(b"link") == LINKS[0], f"103 fields {hints[0]}"
    assert response.status == 200 and response.body == b"ok"


FILE_DATA = bytes(range(256)) * 8


@req("EXT-017")
def test_h2_pathsend(h2probe):
    """http.response.pathsend over h2 sends the file's exact bytes and ends the stream."""
    require_h2_extension(h2probe, PATHSEND)
    _, _, response = run(h2probe, [["receive_body"], ["send", _start(200)],
                                   ["pathsend", {"data": FILE_DATA}]])
    assert response.body == FILE_DATA, f"{len(response.body)} bytes, not the file's"


@req("EXT-012")
def test_h2_zerocopysend_mixed_with_body(h2probe):
    """Body, zerocopysend, body over h2: exactly those bytes in that order."""
    require_h2_extension(h2probe, ZEROCOPY)
    _, _, response = run(h2probe, [["receive_body"], ["send", _start(200)],
                                   ["send", _body(b"head", more=True)],
                                   ["zerocopysend", {"data": FILE_DATA, "more_body": True}],
                                   ["send", _body(b"tail")], ["files_check"]])
    assert response.body == b"head" + FILE_DATA + b"tail", (
        f"{len(response.body)} bytes: {response.body[:20]!r}...{response.body[-20:]!r}")


# --- server push ----------------------------------------------------------------------------


def _push(h2probe, enable: int) -> tuple[Any, int, list[PushPromiseFrame]]:
    """A response whose app pushes /pushed (with the case's probe id, so the pushed call
    is recorded as the case's) to a client whose ENABLE_PUSH is ``enable``."""
    require_h2_extension(h2probe, PUSH)
    push = {"type": PUSH, "path": "/pushed", "headers": h2probe.probe_headers("echo")}
    conn = h2probe.connect_h2(settings={Setting.ENABLE_PUSH: enable})
    sid = script(h2probe, conn, _respond([_start(200, [(b"content-length", b"2")]), push,
                                          _body(b"ok")]))
    read_streams(conn, [sid], timeout=3.0)
    promises = [f for f in conn.received if isinstance(f, PushPromiseFrame)]
    return conn, sid, promises


def _promised_fields(h2probe) -> tuple[Any, dict[bytes, bytes]]:
    conn, _, promises = _push(h2probe, 1)
    assert promises, "no PUSH_PROMISE for the app's http.response.push (ENABLE_PUSH=1)"
    return conn, dict(conn.decoded[promises[0].promised_stream_id][0])


@req("EXT-007")
def test_h2_push_promise_sent(h2probe):
    """With ENABLE_PUSH=1, http.response.push yields a PUSH_PROMISE for its path."""
    _, fields = _promised_fields(h2probe)
    assert fields.get(b":path") == b"/pushed", f"PUSH_PROMISE fields {fields}"


@req("EXT-008")
def test_h2_pushed_path_served_by_the_app(h2probe):
    """The pushed path is served by a new application call with a GET scope for it."""
    _promised_fields(h2probe)
    calls = h2probe.calls(2, timeout=2.0)
    pushed = [c.scope for c in calls if c.scope.get("path") == "/pushed"]
    assert pushed and pushed[0].get("method") == "GET", (
        f"no GET call for /pushed: {[c.scope.get('path') for c in calls]}")


@req("EXT-009")
def test_h2_push_promise_authority(h2probe):
    """The PUSH_PROMISE's :authority is the triggering request's."""
    _, fields = _promised_fields(h2probe)
    authority = h2_authority(h2probe)
    assert fields.get(b":authority") == authority, f"PUSH_PROMISE fields {fields}"


@req("H2ASGI-8")
def test_h2_no_push_promise_when_disabled(h2probe):
    """With ENABLE_PUSH=0, the app's http.response.push yields no PUSH_PROMISE, and the
    response still arrives."""
    _, _, promises = _push(h2probe, 0)
    assert not promises, f"{len(promises)} PUSH_PROMISE to a client with ENABLE_PUSH=0"
