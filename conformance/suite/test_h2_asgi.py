"""ASGI over HTTP/2, the request side: the scope an h2 stream gets (http_version, scheme,
pseudo headers and host, cookie fields), one application call and one scope per stream,
streams answered independently, request bodies streamed as DATA arrives, http.disconnect
when the client resets a stream and send() after that, and graceful shutdown (GOAWAY,
in-flight streams completed) on a server process of the case's own.

Public faults these cases catch where still present: ``host`` missing from h2 scopes
(granian #189, HTTP-018) and a client's RST_STREAM never reaching the app as
http.disconnect (granian #917, HTTP-047).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from hyperframe.frame import GoAwayFrame

from conformance import h2probe as h2plan
from conformance.checks import version_tuple
from conformance.probe import Probe, ProbeLog
from conformance.rawh2 import ErrorCode, H2Connection, Setting, error_name
from conformance.session import PROBE_APP
from conformance.suite._dedicated import Dedicated, adopt_evidence, suite_spec
from conformance.suite._events import response_body as _body
from conformance.suite._events import response_start as _start
from conformance.suite._h2 import expect_usable
from conformance.suite._h2_asgi import (
    DELIVERY_BOUND,
    got_disconnect,
    h2_spec_version,
    header_values,
    read_streams,
    read_whole_request,
    received,
    run,
    script,
)
from conformance.suite._h2_asgi import (
    authority as h2_authority,
)
from conformance.verdicts import NoResponse, non_strict, not_applicable
from fixtures import typedjson

req = pytest.mark.requirement

ECHO: list[list[Any]] = [["receive_body"], ["respond_report", "scope"]]


def _echo_scope(h2probe, **request: Any) -> dict[str, Any]:
    """The scope the app saw for one h2 request (from the side channel)."""
    _, _, response = run(h2probe, ECHO, **request)
    assert response.status == 200, f"the echo request got {response.status}"
    scope: dict[str, Any] = h2probe.call().scope
    return scope


# --- the scope ------------------------------------------------------------------------------


@req("HTTP-004")
def test_h2_http_version(h2probe):
    """A request over h2 has http_version "2"."""
    scope = _echo_scope(h2probe)
    assert scope.get("http_version") == "2", f"http_version {scope.get('http_version')!r}"


@req("H2ASGI-1")
def test_h2_scheme(h2probe):
    """scheme follows the request's :scheme: "http" on h2c, "https" over TLS (absent
    means "http", which is right only on h2c)."""
    expected = "https" if h2probe.h2.mode == "tls" else "http"
    scope = _echo_scope(h2probe)
    assert scope.get("scheme", "http") == expected, (
        f"scheme {scope.get('scheme', '(absent)')!r} for :scheme {expected}")


@req("HTTP-018")
@pytest.mark.parametrize("host_field", [False, True], ids=["authority", "authority+host"])
def test_h2_pseudo_headers_removed_host_from_authority(h2probe, host_field):
    """No header of the scope is a pseudo header; :authority becomes the one host entry:
    first in the list when the request had no host field, or in place of the host field
    (which, RFC 9113 §8.3.1, must equal :authority)."""
    authority = h2_authority(h2probe)
    extra = [(b"host", authority)] if host_field else []
    scope = _echo_scope(h2probe, headers=extra)
    headers = [(bytes(k), bytes(v)) for k, v in scope.get("headers", [])]
    pseudo = [k for k, _ in headers if k.startswith(b":")]
    assert not pseudo, f"pseudo headers in the scope: {pseudo}"
    hosts = header_values(scope, b"host")
    assert hosts == [authority], f"host entries {hosts} for :authority {authority!r}"
    if not host_field:
        assert headers[0] == (b"host", authority), (
            f"host is not at the start of the headers: {headers[:3]}")


@req("HTTP-055")
def test_h2_cookie_fields_stay_separate(h2probe):
    """Two cookie fields (RFC 9113 §8.2.3 lets an h2 client split Cookie) reach the app as
    two entries in order: www.rst 64-69 keeps headers "exactly as they were provided" and
    leaves joining to the app. Joined with "; " is non-strict: RFC 9113 §8.2.3 asks for
    exactly that join "before being passed into ... a generic HTTP server application",
    so the two texts disagree; any other shape (dropped, joined otherwise) fails."""
    scope = _echo_scope(h2probe, headers=[("cookie", "a=1"), ("cookie", "b=2")])
    cookies = header_values(scope, b"cookie")
    if cookies == [b"a=1; b=2"]:
        non_strict("the two cookie fields reach the app joined with '; ' (RFC 9113 §8.2.3's "
                   "join for a generic server application; ASGI www.rst 64-69 asks to "
                   "preserve them as received)")
    assert cookies == [b"a=1", b"b=2"], f"cookie entries {cookies}"


# --- streams: one call and one scope each, answered independently ---------------------------


@req("MAIN-001")
def test_h2_one_call_per_stream(h2probe):
    """Three concurrent streams of one connection are three application calls, each with
    its own stream's path."""
    conn = h2probe.connect_h2()
    paths = ["/one", "/two", "/three"]
    sids = [script(h2probe, conn, ECHO, path=p) for p in paths]
    streams = read_streams(conn, sids)
    statuses = [streams.responses[s].status for s in sids]
    assert statuses == [200, 200, 200], f"statuses {statuses}"
    calls = h2probe.calls(3)
    seen = sorted(c.scope.get("path") for c in calls)
    assert len(calls) == 3 and seen == sorted(paths), (
        f"{len(calls)} call(s) with paths {seen} for streams {paths}")


@req("HTTP-054")
def test_h2_streams_get_their_own_scope(h2probe):
    """A key the app sets in one stream's scope does not show in a later stream's scope on
    the same connection."""
    conn = h2probe.connect_h2()
    first = script(h2probe, conn, [["receive_body"], ["scope_set", "probe.shared", True],
                                   ["mark", "set"], ["sleep", 0.5],
                                   ["respond_report", "scope"]], path="/first")
    h2probe.wait_for("the first stream's app set its scope key",
                     lambda c: any(r.kind == "mark" for r in c.records), 2.0)
    second = script(h2probe, conn, ECHO, path="/second")
    read_streams(conn, [first, second])
    calls = {c.scope.get("path"): c for c in h2probe.calls(2)}
    assert "/second" in calls, f"no call for the second stream: {sorted(calls)}"
    assert "probe.shared" not in calls["/second"].scope, (
        "the second stream's scope carries the key the first stream's app set: the "
        "streams share one scope")


@req("HTTP-054")
def test_h2_slow_stream_does_not_hold_fast(h2probe):
    """/slow (the app sleeps 1 s) opened before /fast on one connection: /fast is answered
    first, and each response is its own stream's."""
    conn = h2probe.connect_h2()
    slow = script(h2probe, conn, [["receive_body"], ["sleep", 1.0],
                                  ["respond_report", "scope"]], path="/slow")
    fast = script(h2probe, conn, ECHO, path="/fast")
    streams = read_streams(conn, [slow, fast], timeout=4.0)
    for sid, path in ((slow, "/slow"), (fast, "/fast")):
        body = streams.responses[sid].body
        try:
            answered = typedjson.loads(body)["scope"]["path"]
        except (ValueError, KeyError, TypeError):
            answered = body[:80]
        assert answered == path, f"stream {sid} ({path}) was answered with {answered!r}"
    assert streams.ended == [fast, slow], (
        f"/fast (stream {fast}) ended after /slow (stream {slow}): the slow stream held "
        "it back")


# --- request bodies -------------------------------------------------------------------------


@req("HTTP-029")
def test_h2_body_streamed_as_data_arrives(h2probe):
    """The first DATA frame reaches the app (more_body True) before the client sends the
    second."""
    conn = h2probe.connect_h2()
    sid = script(h2probe, conn, [["receive_body"], ["respond_report", "body"]],
                 method="POST", body=b"first", end_stream=False)
    try:
        h2probe.wait_for("the app received the first DATA frame as http.request",
                         lambda c: bool(received(c, "http.request")), DELIVERY_BOUND)
    finally:
        conn.send_data(sid, b"second", end_stream=True)
    chunks = received(h2probe.call(), "http.request")
    assert chunks[0].get("body") == b"first" and chunks[0].get("more_body"), (
        f"the first http.request was {chunks[0]!r}")


@req("HTTP-027")
def test_h2_body_over_data_frames(h2probe):
    """A body in three DATA frames and an empty END_STREAM one: the app's http.request
    bodies concatenate to exactly those bytes."""
    parts = [b"a" * 1000, b"b" * 20000, b"c"]
    conn = h2probe.connect_h2()
    sid = script(h2probe, conn, [["receive_body"], ["respond_report", "body"]],
                 method="POST", body=parts[0], end_stream=False)
    for part in parts[1:]:
        for start in range(0, len(part), 16384):
            conn.send_data(sid, part[start:start + 16384])
    conn.send_data(sid, b"", end_stream=True)
    conn.read_stream(sid, timeout=3.0)
    body = b"".join(e.get("body", b"") for e in received(h2probe.call(), "http.request"))
    assert body == b"".join(parts), f"the app got {len(body)} bytes of {len(b''.join(parts))}"


# --- flow control ---------------------------------------------------------------------------

FLOOD_CHUNKS, FLOOD_SIZE, WINDOW = 64, 16384, 16384


@req("H2ASGI-3")
@pytest.mark.timing_dependent("counts the app's sends that returned 1 s into a stalled window")
def test_h2_send_waits_for_flow_control(h2probe):
    """A client that opens a 16 KiB stream window and sends no WINDOW_UPDATE: the app's
    1 MiB of body sends do not all return (the server waits for the window instead of
    buffering); once the client opens the windows the whole body arrives."""
    conn = h2probe.connect_h2(settings={Setting.INITIAL_WINDOW_SIZE: WINDOW},
                              auto_window=False)
    sid = script(h2probe, conn, [["receive_body"], ["send", _start(200)],
                                 ["flood", FLOOD_CHUNKS, FLOOD_SIZE]])
    time.sleep(1.0)
    done = sum(r.kind == "flood" and r.data.get("ok") for r in h2probe.records())
    conn.auto_window = True
    total = FLOOD_CHUNKS * FLOOD_SIZE
    conn.send_window_update(0, total)
    conn.send_window_update(sid, total)
    response = conn.read_stream(sid, timeout=5.0)
    assert len(response.body) == total, (
        f"{len(response.body)} of {total} body bytes after the windows opened")
    assert done < FLOOD_CHUNKS, (
        f"all {FLOOD_CHUNKS} sends of {FLOOD_SIZE} bytes returned while the client's window "
        f"allowed {WINDOW}: the server buffers the body without bound")


# --- the client resets a stream ---------------------------------------------------------------


def _reset_while_waiting(h2probe, steps: list[list[Any]], *, body: bytes = b"",
                         complete: bool = True) -> tuple[H2Connection, int]:
    """Open a stream whose app runs ``steps``, wait until the app has the request (all of
    it, or its first part), then RST_STREAM (CANCEL) it."""
    conn = h2probe.connect_h2()
    sid = script(h2probe, conn, steps, method="POST" if body else "GET", body=body,
                 end_stream=complete)
    ready = read_whole_request if complete else (lambda c: bool(received(c, "http.request")))
    h2probe.wait_for("the app received the request", ready, 2.0)
    time.sleep(0.1)
    conn.send_rst(sid, ErrorCode.CANCEL)
    return conn, sid


WAIT_STEPS: dict[str, list[list[Any]]] = {
    "before-response": [["receive_body"], ["wait_disconnect", 5.0]],
    # an SSE-like stream: the response started, the app blocks until the client leaves
    "while-streaming": [["receive_body"], ["send", _start(200)],
                        ["send", _body(b"event: 1\n\n", more=True)],
                        ["wait_disconnect", 5.0]],
}


@req("HTTP-047")
@pytest.mark.parametrize("when", list(WAIT_STEPS))
def test_h2_rst_stream_gives_disconnect(h2probe, when):
    """The app waits in receive() after the whole request, before responding or with a
    streamed response under way; the client resets the stream (keeping the connection):
    receive() returns http.disconnect within 1 s (granian #917)."""
    _reset_while_waiting(h2probe, WAIT_STEPS[when])
    h2probe.wait_for("the app received http.disconnect within 1 s of the RST_STREAM",
                     got_disconnect, DELIVERY_BOUND)


@req("HTTP-048")
def test_h2_rst_stream_mid_body(h2probe):
    """The client resets the stream after part of its body: the app gets http.disconnect,
    never a final http.request passing the part off as the whole."""
    conn = h2probe.connect_h2()
    sid = script(h2probe, conn, [["receive_body"], ["wait_disconnect", 5.0]], method="POST",
                 body=b"part", end_stream=False)
    called, _ = h2probe.log.wait(h2probe.id, lambda recs: any(r.kind == "receive"
                                                              for r in recs), 1.0)
    conn.send_rst(sid, ErrorCode.CANCEL)
    if not called:
        not_applicable("the server did not call the app before the request body was "
                       "complete, so what the app is given for a reset stream cannot be "
                       "judged")
    call = h2probe.wait_for("the app received http.disconnect within 1 s of the RST_STREAM",
                            got_disconnect, DELIVERY_BOUND)
    finals = [e for e in received(call, "http.request") if not e.get("more_body", False)]
    assert not finals, f"the app got a final http.request for a reset stream: {finals}"


@req("H2ASGI-4")
def test_h2_rst_stream_spares_the_connection(h2probe):
    """Resetting one stream leaves the connection and another stream in flight on it
    alone: the other stream is answered, PING still works."""
    conn, _ = _reset_while_waiting(h2probe, [["receive_body"], ["wait_disconnect", 5.0]])
    other = script(h2probe, conn, ECHO, path="/other")
    response = conn.read_stream(other, timeout=2.0)
    assert response.status == 200 and response.reset is None, (
        f"the other stream got {response.status} (reset {response.reset})")
    expect_usable(conn, what="a RST_STREAM from the client")


@req("HTTP-050")
def test_h2_send_after_reset_raises_oserror(h2probe):
    """From spec_version 2.4 (as the h2 scope advertises it), the app's send() after the
    client reset its stream raises an OSError subclass. The app sends 0.6 s after the
    reset whether or not it was told of the disconnect."""
    version = h2_spec_version(h2probe)
    if version_tuple(version) < (2, 4):
        not_applicable(f"the server's h2 scopes advertise spec_version {version} (the "
                       "OSError came in 2.4)")
    _reset_while_waiting(h2probe, [["receive_body"], ["sleep", 0.7],
                                   ["send", _start(200)], ["send", _body(b"late")]])
    call = h2probe.wait_for("the app's sends after the reset returned or raised",
                            lambda c: len(c.sends) >= 2 or any(not s["ok"] for s in c.sends),
                            3.0)
    outcome = next((s for s in call.sends if not s["ok"]), None)
    assert outcome is not None, "send() after the RST_STREAM returned without raising"
    assert outcome["error"]["is_oserror"], (
        f"send() raised {outcome['error']['type']}, not an OSError subclass")


# --- graceful shutdown (a server of the case's own) --------------------------------------------

INFLIGHT_SLEEP = 1.0


@dataclass
class Shutdown:
    """What one SIGTERM during an in-flight h2 stream showed."""

    probe: Probe
    conn: H2Connection
    stream_id: int
    goaway: GoAwayFrame | None = None
    status: int | None = None
    body: bytes = b""
    problem: str | None = None
    notes: list[str] = field(default_factory=list)


def _shutdown_run(dedicated: Dedicated, plan: h2plan.H2Plan) -> Shutdown:
    probe = h2plan.h2_probe(dedicated.process, ProbeLog(dedicated.process.probe_log_path),
                            plan)
    conn = probe.connect_h2()
    sid = script(probe, conn, [["receive_body"], ["sleep", INFLIGHT_SLEEP],
                               ["send", _start(200, [(b"content-length", b"4")])],
                               ["send", _body(b"done")]], path="/inflight")
    result = Shutdown(probe, conn, sid)
    try:
        probe.wait_for("the app received the in-flight request", read_whole_request, 3.0)
    except NoResponse as exc:
        result.problem = str(exc)
        return result
    dedicated.sigterm()
    try:
        response = conn.read_stream(sid, timeout=INFLIGHT_SLEEP + 3.0)
        result.status, result.body = response.status, response.body
        if response.reset is not None:
            result.problem = f"the stream was reset ({error_name(response.reset)})"
    except NoResponse as exc:
        result.problem = str(exc)
    deadline = time.monotonic() + 1.0
    while conn.goaway is None and not conn.peer_closed and time.monotonic() < deadline:
        with contextlib.suppress(NoResponse):
            conn.next_frame(0.1)
    result.goaway = conn.goaway
    return result


@pytest.fixture(scope="module")
def shutdown(request: pytest.FixtureRequest, tmp_path_factory) -> Any:
    """One dedicated h2 server, one in-flight stream, one SIGTERM; both shutdown cases
    judge the same run (or the reason it could not be made). The cases also take
    ``h2probe``: n/a at once for a server without h2."""
    spec = suite_spec(request.config)
    workdir = tmp_path_factory.mktemp("h2-shutdown")
    plan = h2plan.plan(spec, workdir)
    if isinstance(plan, str):
        return plan
    dedicated = Dedicated(spec, PROBE_APP, workdir, args=plan.args)
    if not dedicated.start():
        return f"the dedicated h2 server did not start: {dedicated.start_error}"
    try:
        return _shutdown_run(dedicated, plan)
    finally:
        dedicated.terminate(3.0)
        dedicated.stop()


def _shutdown_result(request: pytest.FixtureRequest, shutdown: Any) -> Shutdown:
    if isinstance(shutdown, str):
        not_applicable(shutdown)
    adopt_evidence(request, shutdown.probe)
    return shutdown  # type: ignore[no-any-return]


@req("H2ASGI-5")
def test_h2_goaway_on_graceful_shutdown(request, h2probe, shutdown):
    """SIGTERM while an h2 connection is open: the server sends GOAWAY before closing."""
    result = _shutdown_result(request, shutdown)
    assert result.goaway is not None, (
        f"no GOAWAY after SIGTERM (connection {result.conn.peer_closed or 'still open'})")


@req("H2ASGI-6")
def test_h2_inflight_stream_completed_on_shutdown(request, h2probe, shutdown):
    """SIGTERM while the app is still answering a stream (it sleeps 1 s): the stream is
    completed with the app's response, not dropped."""
    result = _shutdown_result(request, shutdown)
    assert result.problem is None, f"the in-flight stream was not completed: {result.problem}"
    assert result.status == 200 and result.body == b"done", (
        f"the in-flight stream got {result.status} {result.body!r}")
