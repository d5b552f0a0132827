"""Request bodies: http.request events (ASGI www.rst "Request - receive event"), chunked
request bodies (RFC 9112 §7.1) and pipelined requests (RFC 9112 §9.3.2)."""

from __future__ import annotations

import hashlib
import os

import pytest

from conformance.checks import header_values, type_name
from fixtures import typedjson

req = pytest.mark.requirement


def _request_events(call):
    return [e for e in call.received if isinstance(e, dict) and e.get("type") == "http.request"]


def _final_flags(events):
    return [bool(e.get("more_body", False)) for e in events]


@req("HTTP-026")
def test_first_receive_is_http_request(probe):
    """Even a bodiless GET's first receive() is an http.request."""
    _, call = probe.get("/")
    assert call.received, "the app's receive() returned nothing"
    first = call.received[0]
    assert isinstance(first, dict) and first.get("type") == "http.request", (
        f"first event is {first!r}"
    )


@req("HTTP-028")
def test_bodiless_get_is_one_final_event(probe):
    """A GET gives one http.request with an empty body and more_body false or missing."""
    _, call = probe.get("/")
    events = _request_events(call)
    assert len(events) == 1, f"{len(events)} http.request events: {events!r}"
    assert events[0].get("body", b"") == b"", f"body is {events[0].get('body')!r}"
    assert not events[0].get("more_body", False)


@req("HTTP-027")
def test_large_body_concatenates(probe):
    """A 1 MiB Content-Length body arrives whole: the chunks concatenate to what was sent."""
    body = os.urandom(1 << 20)
    response, call = probe.get("/upload", method="POST", scenario="read_body", body=body)
    events = _request_events(call)
    chunks = [e.get("body", b"") for e in events]
    wrong = {i: type_name(c) for i, c in enumerate(chunks) if type(c) is not bytes}
    assert not wrong, f"chunks that are not bytes: {wrong}"
    received = b"".join(chunks)
    assert len(received) == len(body) and received == body, (
        f"the app got {len(received)} bytes (sha256 {hashlib.sha256(received).hexdigest()}), "
        f"the client sent {len(body)} (sha256 {hashlib.sha256(body).hexdigest()})"
    )
    assert response.status == 200


@req("HTTP-028")
def test_only_last_chunk_is_final(probe):
    """Of a large body's http.request events, exactly the last has more_body false."""
    body = os.urandom(256 * 1024)
    _, call = probe.get("/upload", method="POST", scenario="read_body", body=body)
    flags = _final_flags(_request_events(call))
    assert flags, "no http.request events"
    assert flags[-1] is False and all(flags[:-1]), (
        f"more_body flags in order: {flags} (expected True..., False)"
    )


@req("HTTP-027")
def test_trickled_body_concatenates(probe):
    """A body sent in small pieces with pauses reaches the app complete and in order."""
    body = b"".join(bytes([65 + i]) * 100 for i in range(8))
    conn = probe.connect()
    head = probe.request("POST", "/trickle", scenario="read_body", body=b"",
                         headers=[("Content-Length", str(len(body)))], content_length=False)
    conn.send(head)
    conn.send_pieces([body[i:i + 100] for i in range(0, len(body), 100)], pause=0.05)
    response = probe.read(conn)
    call = probe.call()
    received = b"".join(e.get("body", b"") for e in _request_events(call))
    assert received == body, f"the app got {received!r}"
    assert response.status == 200


@req("MAIN-007")
def test_received_events_are_typed_dicts(probe):
    """Every event the app receives is a dict with a str type."""
    _, call = probe.get("/x", method="POST", scenario="read_body", body=b"x" * 5000)
    for event in call.received:
        assert type(event) is dict, f"event is {type_name(event)}"
        assert type(event.get("type")) is str, f"event type is {event.get('type')!r}"


def _chunked(*chunks: bytes, ext: bytes = b"", trailers: bytes = b"") -> bytes:
    out = b"".join(b"%x%s\r\n%s\r\n" % (len(c), ext, c) for c in chunks)
    return out + b"0\r\n" + trailers + b"\r\n"


@req("RFC9112-7.1-1")
def test_chunked_request_body_decoded(probe):
    """A chunked request body is accepted and reaches the app decoded."""
    chunks = (b"hello ", b"chunked ", b"world")
    response, call = probe.get(
        "/chunked", method="POST", scenario="read_body",
        headers=[("Transfer-Encoding", "chunked")], body=_chunked(*chunks),
        content_length=False,
    )
    assert response.status == 200, f"status {response.status}"
    received = b"".join(e.get("body", b"") for e in _request_events(call))
    assert received == b"".join(chunks), f"the app got {received!r}"


@req("HTTP-022")
def test_chunk_extensions_and_trailers_stripped(probe):
    """Chunk extensions and trailer fields never reach the app as body bytes."""
    chunks = (b"abc", b"defgh")
    _, call = probe.get(
        "/chunked", method="POST", scenario="read_body",
        headers=[("Transfer-Encoding", "chunked")],
        body=_chunked(*chunks, ext=b";ext=1", trailers=b"X-Trailer: t\r\n"),
        content_length=False,
    )
    received = b"".join(e.get("body", b"") for e in _request_events(call))
    assert received == b"abcdefgh", f"the app got {received!r}"


@req("RFC9112-9.3-1")
def test_pipelined_requests_answered_in_order(probe):
    """A POST with a body and two GETs sent in one write get three responses, in order."""
    ids = [f"{probe.id}.{n}" for n in range(3)]
    wire = (probe.request("POST", "/one", body=b"payload", probe_id=ids[0])
            + probe.request("GET", "/two", probe_id=ids[1])
            + probe.request("GET", "/three", probe_id=ids[2]))
    conn = probe.connect()
    conn.send(wire)
    responses = conn.read_responses(["POST", "GET", "GET"])
    probe.responded = True
    order = []
    for response in responses:
        scope = typedjson.loads(response.body)["scope"]
        order.append(header_values(scope, b"x-probe-id")[0].decode())
    assert order == ids, f"responses answered requests {order}, sent {ids}"
