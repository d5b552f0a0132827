"""HTTP items of the ASGI checklist (www.rst) not judged in the other test_http_* files:
root_path with a configured server, the app's Transfer-Encoding and Content-Encoding,
streamed request bodies, invalid and out-of-order response events, flushing, events after
the response, an app that never finishes its response, and long-polling.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import time
from collections.abc import Iterator

import pytest

from conformance.probe import Probe
from conformance.rawhttp import MalformedResponse
from conformance.suite._dedicated import (
    Dedicated,
    adopt_evidence,
    echoed_scope,
    option_args,
    option_hint,
    suite_spec,
    tail,
    wait_app,
)
from conformance.suite._events import response_body as _body
from conformance.suite._events import response_start as _start
from conformance.verdicts import NoResponse, non_strict, not_applicable

req = pytest.mark.requirement


def _script(probe: Probe, steps, method="GET", **kwargs) -> bytes:
    return probe.request(method, "/", scenario="script", args={"steps": steps}, **kwargs)


def _send_and_wait(probe: Probe, steps, until):
    """Send a script request and wait (2 s at most) until the app's record satisfies
    ``until``; the response is left unread, for the case to judge or read as evidence."""
    conn = probe.connect()
    conn.send(_script(probe, steps))
    call = wait_app(probe, conn, "the app's send() returned or raised", until)
    return conn, call


# --- root_path with a configured server (HTTP-010 [cfg], HTTP-011) ---------------------------

ROOT = "/mnt"


@pytest.fixture(scope="module")
def rooted(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dedicated | str]:
    """The server under test started with root_path /mnt, or why it cannot be."""
    spec = suite_spec(request.config)
    args = option_args(spec, "root_path", value=ROOT)
    if args is None:
        yield (f"needs the server configured with a root path, and the harness knows no such "
               f"option for server {spec.name!r}{option_hint('root_path')}")
        return
    dedicated = Dedicated(spec, "fixtures.probe:app", tmp_path_factory.mktemp("root-path"),
                          args=args)
    if not dedicated.start():
        yield f"the server did not start with {' '.join(args)}: {dedicated.start_error}"
        return
    yield dedicated
    dedicated.stop()


def _rooted_scope(request: pytest.FixtureRequest, rooted: Dedicated | str, target: str):
    if isinstance(rooted, str):
        not_applicable(rooted)
    probe = rooted.probe(f"rooted-{time.monotonic_ns()}")
    adopt_evidence(request, probe)
    response = probe.exchange(probe.request("GET", target))
    assert response.status == 200, (
        f"GET {target} with root_path {ROOT}: {response.status} {response.body[:200]!r}\n"
        f"{tail(rooted.output())}")
    return echoed_scope(response)


@req("HTTP-010")
def test_configured_root_path(request, server, rooted):
    """With the server's root-path option set to /mnt, root_path is "/mnt"."""
    scope = _rooted_scope(request, rooted, f"{ROOT}/x")
    assert scope.get("root_path") == ROOT, f"root_path is {scope.get('root_path')!r}"


@req("HTTP-011")
def test_path_includes_root_path(request, server, rooted):
    """With root_path /mnt, path includes the root_path, so that PATH_INFO is path with
    root_path stripped (www.rst 521). A request for /mnt/x may give "/mnt/x" (the target
    is the full path) or "/mnt/mnt/x" (the target is taken as relative to the mount, as a
    prefix-stripping proxy sends it): servers diverge there (checklist I-5) and both keep
    the rule. A path without the root_path ("/x") breaks it."""
    scope = _rooted_scope(request, rooted, f"{ROOT}/x")
    path = scope.get("path")
    root = scope.get("root_path")
    assert isinstance(path, str) and isinstance(root, str) and root, (
        f"path {path!r}, root_path {root!r}")
    assert path.startswith(root) and path.endswith("/x"), (
        f"GET {ROOT}/x gave path {path!r} with root_path {root!r}: stripping root_path "
        f"from path does not give PATH_INFO")


# --- framing headers the app sends (HTTP-024, HTTP-025) -------------------------------------

TE_CASES = {
    "chunked-single-body": ([(b"transfer-encoding", b"chunked")], b"hello"),
    "gzip-no-length": ([(b"transfer-encoding", b"gzip")], b"hello"),
    "length-and-chunked": ([(b"content-length", b"5"), (b"transfer-encoding", b"chunked")],
                           b"hello"),
}


@req("HTTP-024")
@pytest.mark.parametrize("case", list(TE_CASES))
def test_app_transfer_encoding_ignored(probe, case):
    """The app's Transfer-Encoding header is ignored: the response carries exactly one
    valid framing (judged by a strict parser) with exactly the app's body; never both
    Content-Length and Transfer-Encoding, never a coding the server did not apply."""
    headers, body = TE_CASES[case]
    conn = probe.connect()
    conn.send(probe.request("GET", "/", scenario="respond",
                            args={"events": [_start(200, headers), _body(body)]}))
    try:
        response = probe.read(conn, timeout=1.0)
    except MalformedResponse as exc:
        raise AssertionError(
            f"the app's {headers!r} produced an invalid response: {exc}") from None
    te = response.header_values(b"transfer-encoding")
    assert not (te and response.header(b"content-length") is not None), (
        f"the response has Content-Length and Transfer-Encoding {te}")
    assert te in ([], [b"chunked"]), f"Transfer-Encoding on the wire: {te}"
    assert response.status == 200 and response.body == body, (
        f"the app's 200 {body!r} with {headers!r} went out as {response.status} "
        f"{response.body!r}")


@req("HTTP-025")
def test_content_encoding_passes_through(probe):
    """The app's Content-Encoding: gzip and its gzip bytes reach the client unchanged,
    even though the request says Accept-Encoding."""
    payload = gzip.compress(b"content encoding belongs to the app " * 20)
    headers = [(b"content-encoding", b"gzip"), (b"content-type", b"text/plain"),
               (b"content-length", str(len(payload)).encode())]
    response = probe.exchange(probe.request(
        "GET", "/", scenario="respond", headers=[("Accept-Encoding", "gzip, deflate, br")],
        args={"events": [_start(200, headers), _body(payload)]}))
    assert response.header_values(b"content-encoding") == [b"gzip"], (
        f"Content-Encoding on the wire: {response.header_values(b'content-encoding')}")
    assert response.body == payload, (
        f"{len(response.body)} body bytes differ from the app's {len(payload)}")


# --- request body streaming (HTTP-029) --------------------------------------------------------


@req("HTTP-029")
def test_body_streams_before_it_is_complete(probe):
    """Of a 128 KiB body whose second half the client holds back, the app gets a first
    chunk (more_body True) before the rest is sent. Buffering the whole body first is
    allowed (MAY), hence non-strict."""
    half = os.urandom(64 * 1024)
    conn = probe.connect()
    conn.send(probe.request("POST", "/", scenario="read_body", content_length=False,
                            headers=[("Content-Length", str(2 * len(half)))]) + half)
    streamed, _ = probe.log.wait(
        probe.id, lambda recs: any(r.kind == "receive" and r.data["event"].get("more_body")
                                   for r in recs), 0.5)
    conn.send(half)
    response = probe.read(conn, "POST")
    assert response.status == 200
    if not streamed:
        non_strict("the app got no part of the body before all of it had arrived (the "
                   "server buffers request bodies); www.rst offers streaming in chunks but "
                   "does not require it (MAY)")


# --- invalid and out-of-order response events (HTTP-034, 035, 043) ---------------------------


@req("HTTP-034")
def test_pseudo_header_in_response_start(probe):
    """A response start carrying (b":status", b"200") makes send() raise, or the pseudo
    header never reaches the wire."""
    bad = _start(200, [(b":status", b"200"), (b"content-length", b"2")])
    steps = [["receive_body"], ["send", bad], ["send", _body(b"ok")]]
    conn, call = _send_and_wait(probe, steps, lambda c: bool(c.sends))
    if not call.sends[0]["ok"]:
        return
    with contextlib.suppress(NoResponse, MalformedResponse):
        probe.read(conn, timeout=1.0)
    received = conn.received_bytes()
    assert b"\r\n:status" not in received.lower(), (
        f"send() accepted the pseudo header and it went out: {received[:300]!r}")


WRONG_TYPES = {
    "str-header-name": [_start(200, [("x-a", b"1")])],
    "str-header-value": [_start(200, [(b"x-a", "1")])],
    "str-status": [{"type": "http.response.start", "status": "200", "headers": []}],
    "float-status": [{"type": "http.response.start", "status": 200.0, "headers": []}],
    "str-body": [_start(200), {"type": "http.response.body", "body": "text"}],
}


@req("HTTP-035")
@pytest.mark.parametrize("case", list(WRONG_TYPES))
def test_wrong_python_types_raise(probe, case):
    """send() raises on a response event with the wrong Python type: a str header name or
    value, a str or float status, a str body."""
    events = WRONG_TYPES[case]
    bad = events[-1]
    steps = [["receive_body"]] + [["send", e] for e in events]
    conn, call = _send_and_wait(probe, steps,
                                lambda c: any(s["event"] == bad for s in c.sends))
    with contextlib.suppress(NoResponse, MalformedResponse):
        probe.read(conn, timeout=0.2)  # evidence only
    outcome = next(s for s in call.sends if s["event"] == bad)
    assert not outcome["ok"], f"send({bad!r}) returned without raising"


@req("HTTP-043")
def test_body_before_start_raises(probe):
    """A body before any response start makes send() raise, and the client never gets a
    2xx for it (a 500 or a closed connection)."""
    steps = [["receive_body"], ["send", _body(b"oops")]]
    conn, call = _send_and_wait(probe, steps, lambda c: bool(c.sends))
    if call.sends[0]["ok"]:
        with contextlib.suppress(NoResponse, MalformedResponse):
            probe.read(conn, timeout=0.2)  # evidence only
        raise AssertionError("send() accepted a body before the response start")
    try:
        response = probe.read(conn, timeout=1.0)
    except NoResponse:
        response = None
    assert response is None or response.status >= 500, (
        f"the client got {response.status} {response.body!r}")


@req("HTTP-043")
def test_second_start_raises(probe):
    """A second response start makes send() raise, and the wire shows the first response
    only."""
    steps = [["receive_body"], ["send", _start(200, [(b"content-length", b"2")])],
             ["send", _start(201, [(b"content-length", b"3")])], ["send", _body(b"ok")]]
    conn = probe.connect()
    conn.send(_script(probe, steps))
    response = probe.read(conn, timeout=1.0)
    call = probe.wait_for("the app's second start returned or raised",
                          lambda c: len(c.sends) >= 2, 2.0)
    assert not call.sends[1]["ok"], "send() accepted a second response start"
    assert response.status == 200 and response.body == b"ok", (
        f"the wire shows {response.status} {response.body!r}")
    assert b"201" not in conn.received_bytes().split(b"\r\n")[0]


# --- flushing, completion, events after the response (HTTP-038, 042, 044, 045) ---------------


@req("HTTP-038")
def test_body_flushed_when_send_returns(probe):
    """Once send() of a body chunk returned, its bytes reach the client, while the app
    sits 1 s before its next event."""
    steps = [["receive_body"], ["send", _start(200)], ["send", _body(b"A" * 10, more=True)],
             ["sleep", 1.0], ["send", _body(b"")]]
    conn = probe.connect()
    conn.send(_script(probe, steps))
    wait_app(probe, conn, "the app's first body send() returned",
             lambda c: len(c.sends) >= 2 and c.sends[1]["ok"])
    returned = time.monotonic()
    deadline = returned + 0.5
    while b"A" * 10 not in conn.unread() and time.monotonic() < deadline:
        if conn.wait_closed(0.02):
            break
    got = conn.unread()
    conn.abort()
    assert b"A" * 10 in got, (
        f"0.5 s after send() returned, the client has {got[-200:]!r} but not the 10 bytes")


@req("HTTP-042")
def test_body_after_final_is_ignored(probe):
    """A body event after the final one never reaches the wire, and the next response on
    the keep-alive connection is intact. (Whether that send() raises is recorded only:
    the text says "ignored", servers often raise.)"""
    steps = [["receive_body"], ["send", _start(200, [(b"content-length", b"2")])],
             ["send", _body(b"ok")], ["send", _body(b"EXTRA")]]
    conn = probe.connect()
    second = f"{probe.id}.next"
    conn.send(_script(probe, steps) + probe.request("GET", "/next", probe_id=second))
    first = probe.read(conn)
    after = probe.read(conn)
    assert first.body == b"ok", f"first response body {first.body!r}"
    assert b"EXTRA" not in conn.received_bytes(), "the extra body reached the wire"
    scope = echoed_scope(after)
    assert scope.get("path") == "/next", f"second response answers {scope.get('path')!r}"
    call = probe.wait_for("the app's extra send returned or raised",
                          lambda c: len(c.sends) >= 3, 1.0)
    probe.notes.append(f"send() of the extra body: {'ok' if call.sends[2]['ok'] else 'raised'}")


@req("HTTP-044")
def test_start_without_body_does_not_hang(probe):
    """An app that sends a response start and returns without a body: within 1 s the
    server completes the response or closes the connection."""
    steps = [["receive_body"], ["send", _start(200)]]
    conn = probe.connect()
    conn.send(_script(probe, steps))
    try:
        response = probe.read(conn, timeout=1.0)
        probe.notes.append(f"completed: {response.status} {response.framing}")
    except NoResponse as exc:
        assert conn.peer_closed, f"after 1 s the response is incomplete and open: {exc}"


@req("HTTP-045")
def test_long_poll_not_cut(probe):
    """A response that sends its start, stays silent for 1 s, then streams three chunks is
    delivered whole: the server does not cut a long-polling response."""
    steps = [["receive_body"], ["send", _start(200)], ["sleep", 1.0]]
    for chunk in (b"one;", b"two;", b"three"):
        steps += [["send", _body(chunk, more=True)], ["sleep", 0.1]]
    steps.append(["send", _body(b"")])
    conn = probe.connect(timeout=3.0)
    conn.send(_script(probe, steps))
    response = probe.read(conn, timeout=3.0)
    assert response.body == b"one;two;three", f"body {response.body!r}"
