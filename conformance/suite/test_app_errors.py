"""What the server does when the app misbehaves (asgi.rst "Error Handling"): invalid
events given to send(), and exceptions escaping the app."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from conformance.rawhttp import MalformedResponse
from conformance.suite._events import response_start as _start
from conformance.verdicts import NoResponse

req = pytest.mark.requirement


INVALID_EVENTS: dict[str, list[dict[str, Any]]] = {
    "unknown-type": [{"type": "http.bogus"}],
    "start-without-status": [{"type": "http.response.start", "headers": []}],
    "str-header": [{"type": "http.response.start", "status": 200,
                    "headers": [("x-a", "1")]}],
    "str-status": [{"type": "http.response.start", "status": "200", "headers": []}],
    "str-body": [_start(200), {"type": "http.response.body", "body": "text"}],
}


@req("MAIN-014")
@pytest.mark.parametrize("name", list(INVALID_EVENTS))
def test_invalid_event_raises(probe, name):
    """send() raises on an invalid event instead of accepting it."""
    events = INVALID_EVENTS[name]
    steps = [["receive_body"]] + [["send", e] for e in events]
    steps += [["send", {"type": "http.response.body", "body": b"fallback"}]]
    conn = probe.connect()
    conn.send(probe.request("GET", "/", scenario="script", args={"steps": steps}))
    with contextlib.suppress(NoResponse, MalformedResponse):
        probe.read(conn)  # evidence only: what the client gets here is not judged
    bad = events[-1]
    call = probe.wait_for(
        "the app's send() of the invalid event returned or raised",
        lambda c: any(s["event"] == bad for s in c.sends), 2.0,
    )
    outcome = next(s for s in call.sends if s["event"] == bad)
    assert not outcome["ok"], f"send({bad!r}) returned without raising"


@req("MAIN-016")
def test_exception_before_response(probe):
    """An exception before any send gives a 5xx response or a closed connection."""
    conn = probe.connect()
    conn.send(probe.request("GET", "/", scenario="raise_before"))
    try:
        response = probe.read(conn, timeout=2.0)
    except NoResponse as exc:
        assert conn.wait_closed(0.5), f"no response and the connection is still open: {exc}"
        return
    assert response.status >= 500, f"the app raised, yet the server answered {response.status}"


@req("MAIN-016")
def test_exception_after_response_start(probe):
    """An exception mid-response ends the connection; the partial response is never
    completed as if the app had finished."""
    conn = probe.connect()
    conn.send(probe.request("GET", "/", scenario="raise_after"))
    try:
        response = probe.read(conn, timeout=2.0)
    except NoResponse as exc:
        assert conn.wait_closed(0.5), f"the response stalled on an open connection: {exc}"
        return
    assert response.framing == "close", (
        f"the server completed a {response.framing}-framed response with body "
        f"{response.body!r} after the app raised"
    )
    assert conn.wait_closed(0.5), "the connection stays open after the app raised"
