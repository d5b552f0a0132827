"""http.disconnect (ASGI www.rst "Disconnect - receive event"): after the response, when
the client goes away, and when it goes away mid-body; then what send() does after the
disconnect (asgi.rst "Error Handling", www.rst 244-253) and whether the app may finish its
cleanup (asgi.rst Overview 82-84).

The app waits with its own bound; the harness gives the server 1 s to deliver the event
(the checklist's threshold) and reads the verdict from the side channel, since the
client is gone by then.
"""

from __future__ import annotations

import time

import pytest

from conformance.checks import assert_not_logged_as_error, version_tuple
from conformance.rawhttp import RawConnection
from conformance.suite._dedicated import wait_app
from conformance.verdicts import not_applicable

req = pytest.mark.requirement

DELIVERY_BOUND = 1.0


def _is_disconnect(event) -> bool:
    return isinstance(event, dict) and event.get("type") == "http.disconnect"


def _got_disconnect(call) -> bool:
    return any(_is_disconnect(e) for e in call.received)


def _wait_until_app_waits(probe, conn, timeout=2.0):
    """Wait until the app has read the whole request and sits in receive()."""
    wait_app(
        probe, conn, "the app read the request",
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
    _wait_until_app_waits(probe, conn)
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
    for the whole body before calling the app, and so never calls it, also complies; the
    case is then n/a, having nothing to judge.)"""
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
        not_applicable("the server never called the app for the truncated request (it "
                       "waits for the whole body first), so what the app is given cannot "
                       "be judged")
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
    _wait_until_app_waits(probe, conn)
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


# --- send() after a disconnect, and the app's cleanup (asgi.rst Error Handling,
# www.rst "Disconnect - receive event" 244-253) ------------------------------------------


def _spec_version(advertised) -> str:
    return advertised.get("http.spec_version") or "2.0"


def _send_after_disconnect(probe, steps_after):
    """A request whose app waits for http.disconnect, which the client then causes by
    closing; ``steps_after`` run after the disconnect. Returns the call once it exited."""
    conn = probe.connect()
    steps = [["receive_body"], ["wait_disconnect", 5.0], *steps_after]
    conn.send(probe.request("GET", "/", scenario="script", args={"steps": steps}))
    _wait_until_app_waits(probe, conn)
    conn.close()
    return probe.wait_for("the app finished after the client's disconnect",
                          lambda c: c.exit is not None and _got_disconnect(c), 3.0)


LATE_RESPONSE = [{"type": "http.response.start", "status": 200, "headers": []},
                 {"type": "http.response.body", "body": b"late"}]


@pytest.fixture
def below_2_4(advertised) -> None:
    version = _spec_version(advertised)
    if version_tuple(version) >= (2, 4):
        not_applicable(f"the server advertises spec_version {version}: from 2.4 send() "
                       "after a disconnect raises (HTTP-050)")


@pytest.fixture
def from_2_4(advertised) -> None:
    version = _spec_version(advertised)
    if version_tuple(version) < (2, 4):
        not_applicable(f"the server advertises spec_version {version} (the OSError came in "
                       "2.4)")


@req("MAIN-018")
def test_send_after_disconnect_is_noop_below_2_4(probe, below_2_4):
    """Below spec_version 2.4 no error condition is specified, so send() after the client
    disconnected returns without raising."""
    call = _send_after_disconnect(probe, [["send", step] for step in LATE_RESPONSE])
    raised = [s for s in call.sends if not s["ok"]]
    assert len(call.sends) == 2, f"the app's sends were not recorded: {call.records}"
    assert not raised, f"send() raised after the disconnect: {raised[0]['error']}"


@req("HTTP-050")
def test_send_after_disconnect_raises_oserror(probe, from_2_4):
    """From spec_version 2.4, send() after the client disconnected raises an OSError
    subclass."""
    call = _send_after_disconnect(probe, [["send", step] for step in LATE_RESPONSE])
    outcome = next((s for s in call.sends if not s["ok"]), None)
    assert outcome is not None, "send() after the disconnect returned without raising " \
                                "(start and body)"
    assert outcome["error"]["is_oserror"], (
        f"send() raised {outcome['error']['type']}, not an OSError subclass "
        f"(ancestry {outcome['error']['mro']})")



def _reraise_after_disconnect(probe, advertised):
    """The app re-raises what send() raised after the disconnect; n/a when send() did not
    raise (nothing for the server to catch)."""
    call = _send_after_disconnect(probe, [["send_or_raise", step] for step in LATE_RESPONSE])
    outcome = next((s for s in call.sends if not s["ok"]), None)
    if outcome is None:
        not_applicable(f"send() after the disconnect did not raise (advertised spec_version "
                       f"{_spec_version(advertised)}), so there is no exception to catch")
    return call, outcome["error"]


def _still_serving(probe, server) -> None:
    assert server.alive(), f"the server exited (status {server.exit_code})"
    follow_up = f"{probe.id}.after"
    with RawConnection(probe.host, probe.port, timeout=2.0) as conn:
        conn.send(probe.request("GET", "/", probe_id=follow_up))
        response = conn.read_response("GET", 2.0)
    assert response.status == 200, f"the next request got {response.status}"


@req("MAIN-019")
def test_send_error_raised_out_of_app_is_ignored(probe, server, advertised):
    """An error send() raised, let out of the application, is caught by the server: it
    keeps running and serves the next request."""
    _reraise_after_disconnect(probe, advertised)
    _still_serving(probe, server)


@req("HTTP-051")
def test_server_catches_its_own_send_error(probe, server, advertised):
    """When the app re-raises the exception send() raised after the disconnect, the
    server catches it: the process survives and the next request gets 200."""
    _reraise_after_disconnect(probe, advertised)
    _still_serving(probe, server)


@req("HTTP-052")
def test_own_send_error_not_logged_as_error(probe, server, advertised):
    """That re-raised exception is not logged as an error: no traceback and no line
    naming its class in the server's output (a heuristic; the follow-up request makes
    sure the server had its chance to log)."""
    mark = server.output_size()
    _, error = _reraise_after_disconnect(probe, advertised)
    _still_serving(probe, server)
    time.sleep(0.1)
    assert_not_logged_as_error(server.output_since(mark), error["type"])


@req("MAIN-023")
def test_app_cleanup_after_disconnect_not_cancelled(probe):
    """After the client disconnects, the app spends 0.3 s on cleanup and then finishes:
    the server does not cancel it the moment the connection is gone."""
    call = _send_after_disconnect(probe, [["sleep", 0.3], ["mark", "cleanup-done"]])
    marks = [r.data.get("name") for r in call.records if r.kind == "mark"]
    assert call.exit and call.exit.get("raised") is None and "cleanup-done" in marks, (
        f"the app was ended during its cleanup: exit {call.exit!r}, marks {marks}")
