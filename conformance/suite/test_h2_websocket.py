"""WebSocket over HTTP/2 (RFC 8441) with the ASGI WebSocket mapping, when the server
offers it: SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 in its SETTINGS, then an extended CONNECT
(:method CONNECT, :protocol websocket, sec-websocket-version 13; no key, no Upgrade)
answered with :status 200, and WebSocket frames in the stream's DATA frames.

A server that does not send the setting gets n/a: a client must not send an extended
CONNECT without it (RFC 8441 §3).
"""

from __future__ import annotations

import struct
import time
from typing import Any

import pytest
from hyperframe.frame import DataFrame

from conformance.rawh2 import H2Connection, H2Response, Setting
from conformance.rawws import TEXT, encode_frame
from conformance.suite._h2_asgi import authority as h2_authority
from conformance.suite._h2_asgi import header_values, read_streams
from conformance.verdicts import NoResponse, not_applicable

req = pytest.mark.requirement


def _open(h2probe, steps: list[list[Any]] | None = None) -> tuple[H2Connection, int]:
    """An h2 connection to a server offering RFC 8441 (else n/a) and an extended CONNECT
    for the probe's WebSocket ``echo`` (or ``script`` with ``steps``)."""
    conn = h2probe.connect_h2()
    offered = conn.server_settings.get(Setting.ENABLE_CONNECT_PROTOCOL)
    if offered != 1:
        not_applicable(f"the server does not offer RFC 8441 (SETTINGS_ENABLE_CONNECT_PROTOCOL "
                       f"{offered if offered is not None else 'not sent'})")
    probe = (h2probe.probe_headers("script", {"steps": steps}) if steps is not None
             else h2probe.probe_headers())
    fields = conn.request_headers("CONNECT", "/ws", protocol="websocket",
                                  headers=[(b"sec-websocket-version", b"13"), *probe])
    sid = conn.new_stream()
    conn.send_headers(sid, fields, end_stream=False)
    return conn, sid


def _response_head(conn: H2Connection, sid: int, timeout: float = 2.0) -> H2Response:
    """The response header block of the CONNECT stream (the stream stays open)."""
    conn.frames_until(lambda f: f.stream_id == sid and (f.stream_id in conn.decoded
                                                        or "END_STREAM" in f.flags),
                      timeout, "a response to the extended CONNECT")
    block = (conn.decoded.get(sid) or [[]])[0]
    return H2Response(sid, headers=block)


def _ws_payload(data: bytes) -> list[tuple[int, bytes]]:
    """Unmasked server WebSocket frames in ``data`` (small frames; enough for an echo)."""
    frames = []
    while len(data) >= 2:
        length, offset = data[1] & 0x7F, 2
        if length == 126:
            length, offset = struct.unpack("!H", data[2:4])[0], 4
        if len(data) < offset + length:
            break
        frames.append((data[0] & 0x0F, data[offset:offset + length]))
        data = data[offset + length:]
    return frames


def _echoed(conn: H2Connection, sid: int, timeout: float = 2.0) -> list[tuple[int, bytes]]:
    """The WebSocket frames that arrive in the stream's DATA within ``timeout``."""
    data = b""
    deadline = time.monotonic() + timeout
    while not _ws_payload(data) and time.monotonic() < deadline:
        try:
            frame = conn.next_frame(max(deadline - time.monotonic(), 0.0))
        except NoResponse:
            break
        if frame is None:
            break
        if isinstance(frame, DataFrame) and frame.stream_id == sid:
            data += bytes(frame.data)
    return _ws_payload(data)


@req("RFC8441-5-1")
def test_h2_websocket_echo(h2probe):
    """An extended CONNECT for websocket is accepted with :status 200, and a text frame
    sent in DATA comes back from the probe's echo in DATA."""
    conn, sid = _open(h2probe)
    head = _response_head(conn, sid)
    assert head.status == 200, f"the extended CONNECT got {head.headers}"
    conn.send_data(sid, encode_frame(TEXT, b"hello over h2"))
    frames = _echoed(conn, sid)
    assert frames and frames[0] == (TEXT, b"hello over h2"), f"WebSocket frames {frames}"


def _ws_scope(h2probe) -> dict[str, Any]:
    conn, sid = _open(h2probe)
    head = _response_head(conn, sid)
    assert head.status == 200, f"the extended CONNECT got {head.headers}"
    scope: dict[str, Any] = h2probe.call().scope
    return scope


@req("WS-016")
def test_h2_websocket_pseudo_headers_removed(h2probe):
    """The WebSocket scope of an extended CONNECT has no pseudo header (:protocol
    included) and its :authority as the one host entry, first."""
    scope = _ws_scope(h2probe)
    authority = h2_authority(h2probe)
    headers = [(bytes(k), bytes(v)) for k, v in scope.get("headers", [])]
    pseudo = [k for k, _ in headers if k.startswith(b":")]
    assert not pseudo, f"pseudo headers in the WebSocket scope: {pseudo}"
    assert header_values(scope, b"host") == [authority], f"headers {headers[:4]}"
    assert headers[0] == (b"host", authority), f"host is not first: {headers[:3]}"


@req("WS-007")
def test_h2_websocket_http_version(h2probe):
    """A WebSocket over h2 has scope type "websocket" and http_version "2"."""
    scope = _ws_scope(h2probe)
    assert scope.get("type") == "websocket", f"scope type {scope.get('type')!r}"
    assert scope.get("http_version") == "2", f"http_version {scope.get('http_version')!r}"


@req("WS-024")
def test_h2_websocket_close_before_accept_is_403(h2probe):
    """The app closes before accepting: the extended CONNECT gets :status 403."""
    conn, sid = _open(h2probe, [["receive"], ["send", {"type": "websocket.close"}]])
    try:
        response = read_streams(conn, [sid], timeout=2.0).responses[sid]
    except NoResponse:
        response = _response_head(conn, sid, 0.1)
    assert response.status == 403, (
        f"a close before accept got {response.status} (reset {response.reset})")


@req("EXT-002")
def test_h2_websocket_denial_response(h2probe):
    """The app denies the extended CONNECT with its own response (extensions.rst,
    WebSocket Denial Response): the stream carries that status, the app's headers in
    order and its body, then ends; never a 200 (which would be the accept, RFC 8441 §5)."""
    steps: list[list[Any]] = [["receive", 2.0],
             ["send", {"type": "websocket.http.response.start", "status": 401,
                       "headers": [(b"www-authenticate", b"Basic"), (b"x-a", b"1"),
                                   (b"content-length", b"4")]}],
             ["send", {"type": "websocket.http.response.body", "body": b"no",
                       "more_body": True}],
             ["send", {"type": "websocket.http.response.body", "body": b"pe"}]]
    conn, sid = _open(h2probe, steps)
    try:
        response = read_streams(conn, [sid], timeout=2.0).responses[sid]
    except NoResponse:
        response = _response_head(conn, sid, 0.1)
    extensions = h2probe.call().scope.get("extensions") or {}
    if "websocket.http.response" not in extensions:
        not_applicable("the websocket scope does not advertise websocket.http.response")
    assert response.status == 401, (
        f"the denial got {response.status} (reset {response.reset})")
    names = [bytes(n).lower() for n, _ in response.headers if not bytes(n).startswith(b":")]
    assert b"www-authenticate" in names and b"x-a" in names, f"the app's headers lost: {names}"
    assert names.index(b"www-authenticate") < names.index(b"x-a"), f"header order {names}"
    assert response.body == b"nope", f"body {response.body!r}"
    assert response.ended, "the stream did not end after the denial response"
