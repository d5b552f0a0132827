"""http.disconnect (ASGI www.rst "Disconnect - receive event"): after the response, when
the client goes away, and when it goes away mid-body.

The app waits with its own bound; the harness gives the server 1 s to deliver the event
(the checklist's threshold) and reads the verdict from the side channel, since the
client is gone by then.
"""

from __future__ import annotations

import time

import pytest

req = pytest.mark.requirement

DELIVERY_BOUND = 1.0


def _is_disconnect(event) -> bool:
    return isinstance(event, dict) and event.get("type") == "http.disconnect"


def _got_disconnect(call) -> bool:
    return any(_is_disconnect(e) for e in call.received)


def _wait_until_app_waits(probe, timeout=2.0):
    """Wait until the app has read the whole request and sits in receive()."""
    probe.wait_for(
        "the app read the request",
        lambda call: any(isinstance(e, dict) and e.get("type") == "http.request"
                         and not e.get("more_body", False) for e in call.received),
        timeout,
    )
    time.sleep(0.1)


@req("HTTP-046")
def test_disconnect_after_response(probe):
    """receive() after the response is sent returns http.disconnect while the client
    keeps the connection open."""
    conn = probe.connect()
    conn.send(probe.request("GET", "/", scenario="wait_disconnect", args={"timeout": 5.0}))
    response = probe.read(conn)
    assert response.status == 200
    probe.wait_for("the app received http.disconnect within 1 s of its response",
                   _got_disconnect, DELIVERY_BOUND)


@req("HTTP-047")
@pytest.mark.parametrize("how", ["close", "reset"])
def test_disconnect_when_client_leaves(probe, how):
    """A client that closes (FIN) or resets (RST) the connection while the app waits
    makes the app's receive() return http.disconnect."""
    conn = probe.connect()
    conn.send(probe.request("GET", "/", scenario="wait_disconnect",
                            args={"respond": False, "timeout": 5.0}))
    _wait_until_app_waits(probe)
    if how == "close":
        conn.close()
    else:
        conn.abort()
    probe.wait_for(f"the app received http.disconnect within 1 s of the client's {how}",
                   _got_disconnect, DELIVERY_BOUND)


@req("HTTP-048")
def test_disconnect_mid_body(probe):
    """A client that leaves after half of its declared body yields http.disconnect, never
    a final http.request passing off the truncated body as complete. (A server that waits
    for the whole body before calling the app, and so never calls it, also complies.)"""
    conn = probe.connect()
    conn.send(probe.request("POST", "/", scenario="wait_disconnect",
                            args={"respond": False, "timeout": 5.0},
                            headers=[("Content-Length", "1000")], content_length=False)
              + b"x" * 500)
    time.sleep(0.5)  # time for the server to call the app with what it has
    conn.close()
    called, records = probe.log.wait(
        probe.id,
        lambda recs: any(r.kind == "receive" and _is_disconnect(r.data["event"])
                         for r in recs),
        DELIVERY_BOUND,
    )
    calls = [r for r in records if r.kind == "call"]
    if not calls:
        probe.notes.append("the server never called the app for the truncated request")
        return
    received = [r.data["event"] for r in records if r.kind == "receive"]
    finals = [e for e in received if isinstance(e, dict)
              and e.get("type") == "http.request" and not e.get("more_body", False)]
    assert not finals, f"the app got a final http.request for a truncated body: {finals!r}"
    assert called, f"no http.disconnect within 1 s of the client leaving; got {received!r}"


@req("HTTP-049")
def test_disconnect_repeats(probe):
    """After http.disconnect, three more receive() calls each return http.disconnect."""
    conn = probe.connect()
    conn.send(probe.request("GET", "/", scenario="wait_disconnect",
                            args={"respond": False, "timeout": 5.0, "extra_receives": 3,
                                  "extra_timeout": 1.0}))
    _wait_until_app_waits(probe)
    conn.close()

    def settled(call) -> bool:
        done = [e for e in call.received if _is_disconnect(e)]
        return len(done) >= 4 or call.has("receive_timeout") or call.exit is not None

    call = probe.wait_for("the app finished its receive() calls after the disconnect",
                          settled, DELIVERY_BOUND + 3 * 1.0 + 0.5)
    after = call.received[[_is_disconnect(e) for e in call.received].index(True):]
    assert not call.has("receive_timeout"), (
        f"a receive() after http.disconnect blocked for 1 s; events after it: {after!r}"
    )
    assert len(after) == 4 and all(_is_disconnect(e) for e in after), (
        f"events from the first disconnect on: {after!r}"
    )
