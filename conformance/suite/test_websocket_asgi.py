"""ASGI WebSocket (www.rst "WebSocket") and the denial-response extension: judged on the
wire (a raw client, :mod:`conformance.rawws`) and on what the probe app recorded (the
scope, every event, what each ``send()`` raised). The RFC 6455 opening handshake itself
is ``test_ws_handshake.py``.

The upgrade request carries the probe headers like an HTTP request: the ``script``
scenario runs the steps a case gives (``["receive"]``, ``["send", event]``,
``["ws_echo", t]``...), so each case states exactly what the app does. Items that depend
on a spec_version are n/a when the websocket scope advertises a lower one (an absent
spec_version means "2.0", www.rst 304-306).
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from conformance.checks import assert_not_logged_as_error
from conformance.probe import CallView, Probe
from conformance.rawws import (
    BINARY,
    CLOSE,
    CONTINUATION,
    PING,
    PONG,
    TEXT,
    Frame,
    RawWebSocket,
    encode_frame,
    handshake_request,
    new_key,
)
from conformance.suite._ws import (
    CLOSE_BOUND,
    WAIT,
    Steps,
    accepted,
    events_of,
    expect_101,
    open_ws,
    require_version,
)
from conformance.verdicts import NoResponse, non_strict, not_applicable
from fixtures.typedjson import Opaque

req = pytest.mark.requirement


# --- helpers --------------------------------------------------------------------------------


def echo_scope(probe: Probe, path: str = "/", **options: Any) -> dict[str, Any]:
    ws, handshake = open_ws(probe, path=path, **options)
    expect_101(handshake)
    ws.close_handshake(1000, timeout=WAIT)
    return probe.call().scope


def wait_events(probe: Probe, kind: str, count: int = 1) -> CallView:
    return probe.wait_for(f"the app received {count} {kind}",
                          lambda v: len(events_of(v, kind)) >= count, timeout=2.0)


# --- scope ----------------------------------------------------------------------------------


@req("WS-004")
def test_scope_type_is_websocket(probe):
    """An upgrade request reaches the app with ``scope["type"] == "websocket"``."""
    scope = echo_scope(probe)
    assert scope.get("type") == "websocket", f"scope type {scope.get('type')!r}"


@req("WS-006")
def test_scope_spec_version(probe):
    """``asgi.spec_version`` is absent or a "2.x" string (the text's list is stale)."""
    asgi = echo_scope(probe).get("asgi") or {}
    value = asgi.get("spec_version")
    assert value is None or (isinstance(value, str) and value.startswith("2.")), \
        f"asgi.spec_version {value!r}"


@req("WS-007")
def test_scope_http_version(probe):
    """An HTTP/1.1 upgrade gives ``http_version`` "1.1" (or no key)."""
    scope = echo_scope(probe)
    assert scope.get("http_version", "1.1") == "1.1", f"http_version {scope['http_version']!r}"


@req("WS-008")
def test_scope_scheme(probe):
    """``scheme`` is "ws" on a plain connection, never empty nor "http"."""
    scope = echo_scope(probe)
    assert scope.get("scheme", "ws") == "ws", f"scheme {scope.get('scheme')!r}"


@req("WS-009")
def test_scope_path_decoded(probe):
    """``path`` is percent-decoded UTF-8, without the query."""
    scope = echo_scope(probe, path="/ws/caf%C3%A9%20x?q=1")
    assert scope.get("path") == "/ws/café x", f"path {scope.get('path')!r}"


@req("WS-010")
def test_scope_raw_path(probe):
    """``raw_path``, when given, is the path's bytes as received (``%2F`` kept); n/a when
    the server gives none (optional, "Some web server implementations may be unable to
    provide this")."""
    scope = echo_scope(probe, path="/ws/a%2Fb?q=1")
    raw = scope.get("raw_path")
    if raw is None:
        not_applicable("the websocket scope carries no raw_path (optional; defaults to None)")
    assert raw == b"/ws/a%2Fb", f"raw_path {raw!r}"


@req("WS-011")
def test_scope_query_string(probe):
    """``query_string`` is the raw bytes after ``?``, not decoded."""
    scope = echo_scope(probe, path="/ws?a=%20&b")
    assert scope.get("query_string") == b"a=%20&b", f"query_string {scope.get('query_string')!r}"


@req("WS-011")
def test_scope_query_string_empty(probe):
    """Without a query, ``query_string`` is ``b""`` (or absent), never None or str."""
    scope = echo_scope(probe, path="/ws")
    assert scope.get("query_string", b"") == b"", f"query_string {scope.get('query_string')!r}"


@req("WS-012")
def test_scope_root_path_default(probe):
    """Without a configured root path, ``root_path`` is absent or ""."""
    scope = echo_scope(probe)
    assert scope.get("root_path", "") == "", f"root_path {scope.get('root_path')!r}"


@req("WS-020")
def test_scope_state_copied_from_lifespan(probe):
    """``state``, when present, is a dict holding what the lifespan startup stored (the
    probe's lifespan stores ``probe.lifespan = "started"``)."""
    scope = echo_scope(probe)
    if "state" not in scope:
        not_applicable("the websocket scope carries no state (no lifespan state support)")
    state = scope["state"]
    assert isinstance(state, dict), f"state is {type(state).__name__}"
    assert state.get("probe.lifespan") == "started", f"state {state!r}"


ORDERED = [(b"X-Order-A", b"1"), (b"X-Dup", b"first"), (b"X-Order-B", b"2"),
           (b"X-Dup", b"second"), (b"X-MiXeD-Case", b"3")]


def _names(scope: dict[str, Any]) -> list[bytes]:
    return [bytes(name) for name, _ in scope.get("headers", [])]


@req("WS-013")
def test_scope_header_order(probe):
    """The upgrade request's header lines keep their order."""
    names = _names(echo_scope(probe, headers=ORDERED))
    mine = [n for n in names if n.startswith((b"x-order", b"x-dup", b"x-mixed"))]
    assert mine == [b"x-order-a", b"x-dup", b"x-order-b", b"x-dup", b"x-mixed-case"], mine


@req("WS-014")
def test_scope_duplicate_headers_kept(probe):
    """Repeated header lines arrive as separate entries, not merged."""
    scope = echo_scope(probe, headers=ORDERED)
    dups = [bytes(v) for n, v in scope.get("headers", []) if bytes(n).lower() == b"x-dup"]
    assert dups == [b"first", b"second"], f"x-dup entries {dups!r}"


@req("WS-015")
def test_scope_header_names_lowercased(probe):
    """Header names in the scope are lowercased."""
    names = _names(echo_scope(probe, headers=ORDERED))
    assert b"x-mixed-case" in names, f"names {names!r}"
    assert all(n == n.lower() for n in names), f"names not lowercased: {names!r}"


@req("WS-017")
def test_scope_client(probe):
    """``client`` is [host, port] of the peer (port an int); n/a when absent (optional,
    defaults to None)."""
    ws, handshake = open_ws(probe)
    expect_101(handshake)
    ws.close_handshake(1000, timeout=WAIT)
    client = probe.call().scope.get("client")
    if client is None:
        not_applicable("the websocket scope carries no client (optional; defaults to None)")
    host, port = client
    assert isinstance(host, str) and isinstance(port, int), f"client {client!r}"
    assert port == ws.local_port, f"client port {port}, the socket's is {ws.local_port}"


@req("WS-018")
def test_scope_server(probe):
    """``server`` is [host, port] of the listening socket (port an int); n/a when absent
    (optional, defaults to None)."""
    server = echo_scope(probe).get("server")
    if server is None:
        not_applicable("the websocket scope carries no server (optional; defaults to None)")
    host, port = server
    assert isinstance(host, str) and isinstance(port, int), f"server {server!r}"
    assert port == probe.port, f"server port {port}, listening on {probe.port}"


@req("WS-019")
def test_scope_subprotocols(probe):
    """Offered subprotocols, from a list and a repeated header, arrive in order."""
    scope = echo_scope(probe, subprotocols=["p1", "p2"],
                       headers=[(b"Sec-WebSocket-Protocol", b"p3")])
    assert list(scope.get("subprotocols", [])) == ["p1", "p2", "p3"], \
        f"subprotocols {scope.get('subprotocols')!r}"


@req("WS-019")
def test_scope_subprotocols_none_offered(probe):
    """With no Sec-WebSocket-Protocol header, ``subprotocols`` is ``[]`` (or absent)."""
    scope = echo_scope(probe)
    assert list(scope.get("subprotocols", [])) == [], \
        f"subprotocols {scope.get('subprotocols')!r} with none offered"


# --- connect, accept, deny --------------------------------------------------------------------


@req("WS-021")
def test_first_event_is_connect(probe):
    """The app's first ``receive()`` returns ``websocket.connect``."""
    _ws, handshake = open_ws(probe)
    expect_101(handshake)
    view = probe.call()
    first = view.received[0] if view.received else None
    assert isinstance(first, dict) and first.get("type") == "websocket.connect", \
        f"first event {first!r}"


@req("WS-022")
def test_handshake_waits_for_accept(probe):
    """The 101 is held until the app accepts: with the app taking 0.3 s, nothing may
    arrive in the first 0.15 s."""
    ws = RawWebSocket(probe.host, probe.port, timeout=2.0)
    probe.connections.append(ws)
    steps: Steps = [["receive", 2.0], ["sleep", 0.3], ["send", {"type": "websocket.accept"}],
             ["ws_echo", 2.0]]
    ws.send(handshake_request("/", host=f"{probe.host}:{probe.port}".encode(), key=new_key(),
                              headers=probe.probe_headers("script", {"steps": steps})))
    time.sleep(0.15)
    early = ws.readable()
    handshake = ws.read_handshake(2.0)
    assert not early, "the server answered the handshake before the app accepted"
    expect_101(handshake)


ENDINGS: dict[str, Steps] = {
    "raises": [["receive", 2.0], ["raise", "probe: dies before accept"]],
    "returns": [["receive", 2.0]],
}


DEAD_APP_BOUND = WAIT
"""How long a server gets to answer the handshake of an app that has already ended (the
checklist's 1 s: daphne, for one, notices a finished app only after ~0.9 s)."""


def _answer_to_dead_app(probe: Probe, ending: str) -> tuple[RawWebSocket, int | str]:
    """The handshake's status when the app ends before accepting, or what happened
    instead: "closed" (TCP closed without an HTTP response) or "nothing" (no answer and
    the connection still open after :data:`DEAD_APP_BOUND`)."""
    ws = RawWebSocket(probe.host, probe.port, timeout=2.0)
    probe.connections.append(ws)
    ws.send(handshake_request("/", host=f"{probe.host}:{probe.port}".encode(), key=new_key(),
                              headers=probe.probe_headers("script",
                                                          {"steps": ENDINGS[ending]})))
    try:
        return ws, ws.read_handshake(DEAD_APP_BOUND).status
    except NoResponse:
        return ws, "nothing" if ws.peer_closed is None else "closed"


@req("WS-022")
def test_no_101_when_app_raises_before_accept(probe):
    """An app that raises before accepting gave no reply: the handshake is never
    completed. Any refusal passes here, even no answer at all within the bound (what the
    client should get, and that the socket is closed, is WS-005's business)."""
    _ws, status = _answer_to_dead_app(probe, "raises")
    assert status != 101, "the handshake was completed although the app raised before " \
        "accepting"


@req("WS-023")
def test_no_receive_before_accept(probe):
    """A frame pipelined after the upgrade request is never delivered before the app
    accepts. (RFC 6455 §4.1 tells clients to wait for the 101, so a server may also
    refuse the request or drop the early frame: only delivery before accept fails.)"""
    ws = RawWebSocket(probe.host, probe.port, timeout=2.0)
    probe.connections.append(ws)
    steps: Steps = [["receive", 2.0], ["receive", 0.3], ["send", {"type": "websocket.accept"}],
                    ["receive", 0.2]]
    ws.send(handshake_request("/", host=f"{probe.host}:{probe.port}".encode(), key=new_key(),
                              headers=probe.probe_headers("script", {"steps": steps}))
            + encode_frame(TEXT, b"early"))
    ws.read_handshake(2.0)
    view = probe.wait_for("the app finished its steps", lambda v: v.exit is not None,
                          timeout=3.0)
    accepted_at = next((r.seq for r in view.records
                        if r.kind == "send" and r.data["event"].get("type") == "websocket.accept"),
                       None)
    early = [r.data["event"] for r in view.records if r.kind == "receive"
             and r.data["event"].get("type") == "websocket.receive"
             and (accepted_at is None or r.seq < accepted_at)]
    assert not early, f"the app received {early!r} before it accepted"


@req("WS-024")
@pytest.mark.parametrize("receive_first", [True, False], ids=["after-connect", "at-once"])
def test_close_before_accept_is_403(probe, receive_first):
    """``websocket.close`` before accept: HTTP 403, no 101, then the connection closes. The
    403 without a 101 is the MUST; a TCP connection left open after it is non-strict:
    "close the connection with a HTTP 403" closes the WebSocket connection by refusing
    it, and HTTP/1.1 keeps a connection after a 4xx unless it says otherwise (the
    denial-response extension, too, only says the server "should" close)."""
    steps = ([["receive", 2.0]] if receive_first else []) + [
        ["send", {"type": "websocket.close", "code": 4001}]]
    ws, handshake = open_ws(probe, steps)
    assert handshake.status == 403, f"a denied handshake got {handshake.status}"
    if not ws.wait_closed(CLOSE_BOUND):
        said = b",".join(handshake.response.header_values(b"connection")
                         if handshake.response is not None else []).lower()
        assert b"close" not in said, (
            f"the 403 said Connection: {said.decode('latin-1')}, yet the connection was "
            f"still open {CLOSE_BOUND:g} s later")
        non_strict(
            f"the 403 refused the WebSocket connection (no 101), as www.rst requires, but "
            f"the TCP connection was still open {CLOSE_BOUND:g} s later; \"close the "
            f"connection with a HTTP 403\" is met by the refusal, and an HTTP/1.1 "
            f"connection may persist after a 4xx that does not say Connection: close")


@req("WS-025")
def test_disconnect_after_denial(probe):
    """After denying, the app's next ``receive()`` returns ``websocket.disconnect``."""
    steps: Steps = [["receive", 2.0], ["send", {"type": "websocket.close"}], ["receive", WAIT]]
    _ws, handshake = open_ws(probe, steps)
    assert handshake.status == 403, f"a denied handshake got {handshake.status}"
    view = probe.wait_for("the app's receive after the denial ended",
                          lambda v: len([r for r in v.records if r.kind in
                                         ("receive", "receive_timeout")]) >= 2, timeout=3.0)
    assert events_of(view, "websocket.disconnect"), \
        f"after the denial the app got {view.received[1:]!r} (or nothing in {WAIT:g} s)"


@req("WS-026")
@pytest.mark.parametrize("chosen", ["superchat", None], ids=["chosen", "none"])
def test_accept_subprotocol(probe, chosen):
    """The accepted subprotocol is the one in the 101; none accepted, no header."""
    _ws, handshake = open_ws(probe, accepted({"subprotocol": chosen}),
                            subprotocols=["chat", "superchat"])
    expect_101(handshake)
    values = handshake.header_values(b"sec-websocket-protocol")
    assert values == ([chosen.encode()] if chosen else []), \
        f"Sec-WebSocket-Protocol in the 101: {values!r}"


@req("WS-027")
def test_accept_headers_in_order(probe):
    """Accept ``headers`` appear in the 101 in order, duplicates kept."""
    extra = [(b"x-a", b"1"), (b"set-cookie", b"a=1"), (b"set-cookie", b"b=2")]
    _ws, handshake = open_ws(probe, accepted({"headers": extra}))
    view = probe.call()
    require_version(view, (2, 1))
    expect_101(handshake)
    mine = [(n, v) for n, v in handshake.headers if n in (b"x-a", b"set-cookie")]
    assert mine == extra, f"accept headers in the 101: {mine!r}"


@req("WS-028")
def test_accept_header_sec_websocket_protocol(probe):
    """An accept header named sec-websocket-protocol is refused or dropped: the 101 never
    carries two Sec-WebSocket-Protocol values."""
    steps = accepted({"subprotocol": "chat", "headers": [(b"sec-websocket-protocol", b"other")]})
    try:
        _ws, handshake = open_ws(probe, steps, subprotocols=["chat"], timeout=WAIT)
        status: int | None = handshake.status
    except NoResponse:
        if probe.connections[-1].peer_closed is None:
            raise
        status = None  # refused by closing the connection
    view = probe.wait_for("the app's accept returned or raised", lambda v: len(v.sends) >= 1)
    failed = [s for s in view.sends if not s["ok"]]
    if status != 101:
        assert failed, f"no 101 ({status or 'TCP close'}) yet send() did not raise"
        return
    values = handshake.header_values(b"sec-websocket-protocol")
    assert values == [b"chat"], f"Sec-WebSocket-Protocol in the 101: {values!r}"


# --- messages -------------------------------------------------------------------------------


@req("WS-029")
def test_receive_text(probe):
    """A text message reaches the app as str in ``text``; ``bytes`` None or absent."""
    ws, handshake = open_ws(probe)
    expect_101(handshake)
    ws.send_frame(TEXT, "héllo".encode())
    assert ws.read_message(WAIT) == (TEXT, "héllo".encode())
    event = events_of(wait_events(probe, "websocket.receive"), "websocket.receive")[0]
    assert event.get("text") == "héllo" and event.get("bytes") is None, f"event {event!r}"


@req("WS-030")
def test_receive_bytes(probe):
    """A binary message reaches the app as bytes; ``text`` None or absent."""
    ws, handshake = open_ws(probe)
    expect_101(handshake)
    ws.send_frame(BINARY, b"\x00\xff")
    assert ws.read_message(WAIT) == (BINARY, b"\x00\xff")
    event = events_of(wait_events(probe, "websocket.receive"), "websocket.receive")[0]
    assert event.get("bytes") == b"\x00\xff" and event.get("text") is None, f"event {event!r}"


@req("WS-031")
@pytest.mark.parametrize(("opcode", "key", "empty"), [(TEXT, "text", ""),
                                                       (BINARY, "bytes", b"")],
                         ids=["text", "bytes"])
def test_receive_empty_message(probe, opcode, key, empty):
    """An empty message is delivered as '' or b'', not dropped and not None."""
    ws, handshake = open_ws(probe)
    expect_101(handshake)
    ws.send_frame(opcode, b"")
    ws.send_frame(TEXT, b"after")
    view = wait_events(probe, "websocket.receive", 2)
    first = events_of(view, "websocket.receive")[0]
    assert first.get(key) == empty, f"the empty message arrived as {first!r}"
    other = "bytes" if key == "text" else "text"
    assert first.get(other) is None, f"both keys set: {first!r}"


@req("WS-032")
@pytest.mark.parametrize(("event", "expected"), [
    ({"text": "x"}, (TEXT, b"x")),
    ({"bytes": b"\x00\x01"}, (BINARY, b"\x00\x01")),
    ({"text": "ünï ✓"}, (TEXT, "ünï ✓".encode())),
], ids=["text", "bytes", "non-ascii"])
def test_send_message(probe, event, expected):
    """``text`` goes out as a text frame, ``bytes`` as binary, content intact."""
    ws, handshake = open_ws(probe, [*accepted(), ["send", {"type": "websocket.send", **event}],
                                    ["ws_echo", 2.0]])
    expect_101(handshake)
    assert ws.read_message(WAIT) == expected


@req("WS-033")
@pytest.mark.parametrize(("event", "expected"), [
    ({"bytes": None, "text": "hi"}, (TEXT, b"hi")),
    ({"text": None, "bytes": b"x"}, (BINARY, b"x")),
    ({"text": ""}, (TEXT, b"")),
    ({"bytes": b""}, (BINARY, b"")),
], ids=["bytes-none", "text-none", "empty-text", "empty-bytes"])
def test_send_one_of_text_bytes(probe, event, expected):
    """The other key may be present as None; empty messages are sent, not dropped."""
    ws, handshake = open_ws(probe, [*accepted(), ["send", {"type": "websocket.send", **event}],
                                    ["send", {"type": "websocket.send", "text": "end"}],
                                    ["ws_echo", 2.0]])
    expect_101(handshake)
    first = ws.read_message(WAIT)
    assert first == expected, f"sent {event!r}, the client got {first!r}"


@req("WS-034")
@pytest.mark.parametrize("event", [{"text": "a", "bytes": b"b"}, {}, {"text": None,
                                                                      "bytes": None}],
                         ids=["both", "neither", "both-none"])
def test_send_both_or_neither_raises(probe, event):
    """A send with both or neither of text/bytes is invalid: ``send()`` raises."""
    _ws, handshake = open_ws(probe, [*accepted(), ["send", {"type": "websocket.send", **event}],
                                    ["ws_echo", 2.0]])
    expect_101(handshake)
    view = probe.wait_for("the app's invalid send returned or raised",
                          lambda v: len(v.sends) >= 2, timeout=2.0)
    assert not view.sends[1]["ok"], f"send({event!r}) did not raise"


@req("WS-035")
def test_send_before_accept_raises(probe):
    """``websocket.send`` before accept raises, and no frame precedes the 101."""
    steps: Steps = [["receive", 2.0], ["send", {"type": "websocket.send", "text": "early"}],
             ["send", {"type": "websocket.accept"}], ["ws_echo", 2.0]]
    _ws, handshake = open_ws(probe, steps)
    view = probe.wait_for("the app sent twice", lambda v: len(v.sends) >= 2, timeout=2.0)
    assert not view.sends[0]["ok"], "send before accept did not raise"
    expect_101(handshake)


# --- disconnect and close -------------------------------------------------------------------


def int_value(value: Any) -> int | None:
    """An int's value, also for an int subclass the probe recorded as an opaque repr
    (an IntEnum such as websockets' ``<CloseCode.NO_STATUS_RCVD: 1005>``): the value is
    judged here, the exact type by WS-036."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, Opaque):
        match = re.fullmatch(r"<[\w.]+: (-?\d+)>", value.repr)
        if match:
            return int(match.group(1))
    return None


def _wait_disconnect(probe: Probe) -> dict[str, Any]:
    view = wait_events(probe, "websocket.disconnect")
    return events_of(view, "websocket.disconnect")[0]


@req("WS-036")
@pytest.mark.parametrize("code", [1000, 1001, 4001])
def test_disconnect_code(probe, code):
    """The client's close code reaches the app as an int. An int subclass with the right
    value (an IntEnum of the server's WebSocket library) is non-strict: comparisons,
    arithmetic and JSON work, but ``type(code) is int`` does not hold and its repr (and
    its str before Python 3.11) is the enum member's name."""
    ws, handshake = open_ws(probe, [*accepted(), ["wait_disconnect", 3.0]])
    expect_101(handshake)
    ws.close_handshake(code, timeout=WAIT)
    event = _wait_disconnect(probe)
    value = event.get("code")
    assert int_value(value) == code, f"the client sent {code}; event {event!r}"
    if type(value) is not int:
        non_strict(f"the code is an int subclass, not an int: {value!r}; its value is the "
                   f"client's close code as www.rst requires, and it behaves as an int "
                   f"everywhere but type() and its repr")


@req("WS-037")
def test_disconnect_code_1005_without_code(probe):
    """A close frame without a code gives the app 1005."""
    ws, handshake = open_ws(probe, [*accepted(), ["wait_disconnect", 3.0]])
    expect_101(handshake)
    ws.close_handshake(None, timeout=WAIT)
    event = _wait_disconnect(probe)
    assert int_value(event.get("code")) == 1005, f"event {event!r}"


@req("WS-038")
def test_disconnect_reason(probe):
    """The client's close reason reaches the app as str."""
    ws, handshake = open_ws(probe, [*accepted(), ["wait_disconnect", 3.0]])
    expect_101(handshake)
    ws.close_handshake(4001, "bye ✓".encode(), timeout=WAIT)
    event = _wait_disconnect(probe)
    require_version(probe.call(), (2, 5))
    assert event.get("reason") == "bye ✓", f"event {event!r}"


@req("WS-038")
def test_disconnect_reason_default(probe):
    """A close without a reason: ``reason``, when present, is "" (a str, never None)."""
    ws, handshake = open_ws(probe, [*accepted(), ["wait_disconnect", 3.0]])
    expect_101(handshake)
    ws.close_handshake(1000, timeout=WAIT)
    event = _wait_disconnect(probe)
    require_version(probe.call(), (2, 5))
    assert event.get("reason", "") == "", f"event {event!r}"


@req("WS-039")
@pytest.mark.parametrize("how", ["tcp-drop", "app-close"])
def test_disconnect_when_connection_lost(probe, how):
    """The app gets ``websocket.disconnect`` after a TCP drop, and after its own close."""
    if how == "tcp-drop":
        ws, handshake = open_ws(probe, [*accepted(), ["wait_disconnect", 3.0]])
        expect_101(handshake)
        ws.close()
    else:
        ws, handshake = open_ws(probe, [*accepted(), ["send", {"type": "websocket.close"}],
                                        ["receive", WAIT]])
        expect_101(handshake)
        frame = ws.read_frame(WAIT)
        assert frame is None or frame.opcode == CLOSE, f"expected a close, got {frame!r}"
        if frame is not None:
            ws.send_frame(CLOSE, frame.payload[:2])
    event = _wait_disconnect(probe)
    assert event.get("type") == "websocket.disconnect"


@req("WS-040")
def test_send_after_close_raises_oserror(probe):
    """After the client closed, ``send()`` raises an OSError subclass."""
    steps = [*accepted(), ["wait_disconnect", 3.0],
             ["send", {"type": "websocket.send", "text": "late"}]]
    ws, handshake = open_ws(probe, steps)
    expect_101(handshake)
    ws.close_handshake(1000, timeout=WAIT)
    view = probe.wait_for("the app's late send returned or raised",
                          lambda v: len(v.sends) >= 2, timeout=3.0)
    require_version(view, (2, 4))
    late = view.sends[1]
    assert not late["ok"], "send() after the client closed did not raise"
    assert late["error"]["is_oserror"], f"it raised {late['error']['type']}, not an OSError"


@req("WS-040")
def test_send_after_own_close_raises_oserror(probe):
    """After the app's own close (closing handshake completed, disconnect received),
    ``send()`` raises an OSError subclass too: the connection is closed either way."""
    steps = [*accepted(), ["send", {"type": "websocket.close", "code": 1000}],
             ["wait_disconnect", 2.0], ["send", {"type": "websocket.send", "text": "late"}]]
    ws, handshake = open_ws(probe, steps)
    expect_101(handshake)
    frame = ws.read_frame(WAIT)
    if frame is not None and frame.opcode == CLOSE:
        ws.send_frame(CLOSE, frame.payload[:2])
    view = probe.wait_for("the app's late send returned or raised",
                          lambda v: len(v.sends) >= 3, timeout=3.0)
    require_version(view, (2, 4))
    late = view.sends[2]
    assert not late["ok"], "send() after the app's own close did not raise"
    assert late["error"]["is_oserror"], \
        f"it raised {late['error']['type']}: {late['error'].get('message')!r}, not an OSError"


@req("WS-041")
def test_reraised_send_error_does_not_hurt_the_server(probe):
    """An app re-raising the send() error: the server survives and serves a new socket."""
    steps = [*accepted(), ["wait_disconnect", 3.0],
             ["send", {"type": "websocket.send", "text": "late"}], ["raise_send_error"]]
    ws, handshake = open_ws(probe, steps)
    expect_101(handshake)
    ws.close_handshake(1000, timeout=WAIT)
    probe.wait_for("the app ended", lambda v: v.exit is not None, timeout=3.0)
    again, second = open_ws(probe)
    expect_101(second)
    again.send_frame(TEXT, b"still here")
    assert again.read_message(WAIT) == (TEXT, b"still here")


@req("WS-042")
def test_reraised_send_error_not_logged_as_error(server, probe):
    """That re-raised send() error is not logged as an error: no traceback and no line
    naming its class in the server's output (a heuristic, as HTTP-052; a second
    connection is served first, so the server had its chance to log)."""
    mark = server.output_size()
    steps = [*accepted(), ["wait_disconnect", 3.0],
             ["send", {"type": "websocket.send", "text": "late"}], ["raise_send_error"]]
    ws, handshake = open_ws(probe, steps)
    expect_101(handshake)
    ws.close_handshake(1000, timeout=WAIT)
    view = probe.wait_for("the app ended", lambda v: v.exit is not None, timeout=3.0)
    late = view.sends[1] if len(view.sends) > 1 else None
    if late is None or late["ok"]:
        require_version(view, (2, 4))
        not_applicable("send() after the close did not raise, so there is nothing to log")
    again, second = open_ws(probe, probe_id=probe.id + "-after")
    expect_101(second)
    again.close_handshake(1000, timeout=WAIT)
    time.sleep(0.1)
    assert_not_logged_as_error(server.output_since(mark), late["error"]["type"])



@req("WS-043")
@pytest.mark.parametrize(("event", "code"), [({"code": 4000}, 4000), ({}, 1000)],
                         ids=["4000", "default"])
def test_close_code_reaches_client(probe, event, code):
    """A close after accept reaches the client with the app's code (1000 without one)."""
    ws, handshake = open_ws(probe, [*accepted(), ["send", {"type": "websocket.close",
                                                           **event}], ["receive", WAIT]])
    expect_101(handshake)
    frame = ws.read_frame(WAIT)
    assert frame is not None and frame.opcode == CLOSE, f"expected a close frame, got {frame!r}"
    assert frame.close_code == code, f"close code {frame.close_code}, expected {code}"


@req("WS-044")
def test_close_reason_reaches_client(probe):
    """The app's close reason reaches the client."""
    ws, handshake = open_ws(probe, [*accepted(), ["send", {"type": "websocket.close",
                                                           "code": 1000, "reason": "bye"}],
                                    ["receive", WAIT]])
    expect_101(handshake)
    frame = ws.read_frame(WAIT)
    require_version(probe.call(), (2, 3))
    assert frame is not None and frame.opcode == CLOSE, f"expected a close frame, got {frame!r}"
    assert frame.close_reason == b"bye", f"close reason {frame.close_reason!r}"


REASON_123 = "é" * 61 + "x"  # 123 bytes of UTF-8, the most a close frame carries


@req("WS-044")
@pytest.mark.parametrize(("reason", "expected"), [(None, b""), (REASON_123,
                                                               REASON_123.encode())],
                         ids=["none", "123-bytes"])
def test_close_reason_edge_cases(probe, reason, expected):
    """``reason=None`` is the default "" (no error); a 123-byte UTF-8 reason, the most a
    close frame can carry with its code, arrives whole."""
    ws, handshake = open_ws(probe, [*accepted(), ["send", {"type": "websocket.close",
                                                           "code": 4002, "reason": reason}],
                                    ["receive", WAIT]])
    expect_101(handshake)
    frame = ws.read_frame(WAIT)
    view = probe.wait_for("the app's close returned or raised", lambda v: len(v.sends) >= 2)
    require_version(view, (2, 3))
    assert view.sends[1]["ok"], f"websocket.close with reason {reason!r} raised " \
        f"{view.sends[1]['error']}"
    assert frame is not None and frame.opcode == CLOSE, f"expected a close frame, got {frame!r}"
    assert (frame.close_code, frame.close_reason) == (4002, expected), \
        f"close frame {frame.close_code} {frame.close_reason!r}, expected 4002 {expected!r}"


# --- ping, fragments, app end ---------------------------------------------------------------


@req("WS-001")
def test_ping_answered_by_server(probe):
    """A ping gets a pong with its payload, and the app sees no event for it."""
    ws, handshake = open_ws(probe)
    expect_101(handshake)
    ws.send_frame(PING, b"probe")
    frame = ws.read_frame(WAIT)
    assert frame is not None and frame.opcode == PONG and frame.payload == b"probe", \
        f"answer to the ping: {frame!r}"
    ws.send_frame(TEXT, b"x")
    assert ws.read_message(WAIT) == (TEXT, b"x")
    view = wait_events(probe, "websocket.receive")
    assert [e.get("type") for e in view.received] == ["websocket.connect",
                                                       "websocket.receive"], view.received


@req("WS-003")
@pytest.mark.parametrize("opcode", [TEXT, BINARY], ids=["text", "bytes"])
def test_fragments_delivered_whole(probe, opcode):
    """Fragments with a ping between them reach the app as one message."""
    ws, handshake = open_ws(probe)
    expect_101(handshake)
    ws.send_frame(opcode, b"he", fin=False)
    ws.send_frame(PING, b"mid")
    ws.send_frame(CONTINUATION, b"llo")
    frames: list[Frame | None] = [ws.read_frame(WAIT)]
    assert frames[0] is not None and frames[0].opcode == PONG, f"got {frames[0]!r} for the ping"
    assert ws.read_message(WAIT) == (opcode, b"hello")
    event = events_of(wait_events(probe, "websocket.receive"), "websocket.receive")[0]
    key = "text" if opcode == TEXT else "bytes"
    assert event.get(key) == ("hello" if opcode == TEXT else b"hello"), f"event {event!r}"


@req("WS-005")
@pytest.mark.parametrize("ending", ["returns", "raises"])
def test_socket_closed_when_app_ends(probe, ending):
    """When the app returns or raises after accepting, the connection is closed: a close
    frame or a TCP close within 1 s. After an exception the conventional code is 1011
    (RFC 6455 §7.4.1: "encountered an unexpected condition that prevented it from
    fulfilling the request"); closing TCP without a close frame is also a pass, since
    §7.1.7 lets an endpoint that fails the connection drop it without the closing
    handshake and the ASGI text only asks that the socket be closed. A close frame with
    another code (1000 claims a normal closure) is non-strict."""
    steps = accepted() + ([["raise", "probe: app dies"]] if ending == "raises" else [])
    ws, handshake = open_ws(probe, steps)
    expect_101(handshake)
    frame = ws.read_frame(WAIT) if not ws.wait_closed(0) else None
    if frame is not None:
        assert frame.opcode == CLOSE, f"expected a close, got {frame!r}"
        if ending == "raises" and frame.close_code not in (1011, None):
            non_strict(f"closed with {frame.close_code} after an app exception (1011 is "
                       "RFC 6455's code for an unexpected condition); www.rst asks only "
                       "that the socket be closed (SHOULD), not with which code")
    else:
        assert ws.wait_closed(0), "the connection stayed open after the app ended"


@req("WS-005")
@pytest.mark.parametrize("ending", ENDINGS)
def test_http_error_when_app_ends_before_accept(probe, ending):
    """An app that raises (or returns) before accepting: the client gets an HTTP error,
    403 (as for a close before accept, WS-024) or 500 (the usual answer to an app
    exception), and the connection is closed."""
    ws, status = _answer_to_dead_app(probe, ending)
    seen = {"closed": "no HTTP response, only a TCP close",
            "nothing": f"nothing, and the connection still open after {DEAD_APP_BOUND:g} s"}
    assert status in (403, 500), \
        f"the app {ending} before accepting; the client got {seen.get(str(status), status)}"
    assert ws.wait_closed(CLOSE_BOUND), f"the connection stayed open after the {status}"


# --- the denial response extension ------------------------------------------------------------


def _denial_advertised(probe: Probe) -> bool:
    """Whether websocket scopes advertise the extension, asked on a connection of its own
    (another probe id, so the case's own call stays the first under the case's id)."""
    probe_id = probe.id + "-ext"
    ws, handshake = open_ws(probe, probe_id=probe_id)
    expect_101(handshake)
    ws.close_handshake(1000, timeout=WAIT)
    views = probe.log.wait(probe_id, lambda records: any(r.kind == "call" for r in records),
                           2.0)[1]
    calls = [r for r in views if r.kind == "call"]
    assert calls, "the app recorded no call for the websocket connection"
    scope = calls[0].data["scope"]
    return "websocket.http.response" in (scope.get("extensions") or {})


@req("EXT-001")
def test_denial_extension_advertisement(probe):
    """If advertised, ``websocket.http.response`` in the scope's extensions is a dict."""
    extensions = echo_scope(probe).get("extensions") or {}
    if "websocket.http.response" not in extensions:
        not_applicable("the websocket scope does not advertise websocket.http.response")
    value = extensions["websocket.http.response"]
    assert isinstance(value, dict), f"extension value {value!r}"


@req("EXT-002")
def test_denial_response(probe):
    """A denial response reaches the client with status, headers in order and body; no
    101; then the connection closes."""
    if not _denial_advertised(probe):
        not_applicable("the websocket scope does not advertise websocket.http.response")
    steps: Steps = [["receive", 2.0],
             ["send", {"type": "websocket.http.response.start", "status": 401,
                       "headers": [(b"www-authenticate", b"Basic"), (b"x-a", b"1"),
                                   (b"content-length", b"4")]}],
             ["send", {"type": "websocket.http.response.body", "body": b"no",
                       "more_body": True}],
             ["send", {"type": "websocket.http.response.body", "body": b"pe"}]]
    ws, handshake = open_ws(probe, steps, timeout=WAIT)
    assert handshake.status == 401 and handshake.response is not None, \
        f"the denial got {handshake.status}"
    names = [n.lower() for n, _ in handshake.response.headers]
    assert b"www-authenticate" in names and b"x-a" in names, f"the app's headers lost: {names}"
    assert names.index(b"www-authenticate") < names.index(b"x-a"), f"header order {names}"
    assert handshake.response.body == b"nope", f"body {handshake.response.body!r}"
    assert ws.wait_closed(CLOSE_BOUND), "the connection stayed open after the denial response"


@req("EXT-003")
def test_denial_response_defaults(probe):
    """The denial messages take http.response defaults: no headers key, no more_body."""
    if not _denial_advertised(probe):
        not_applicable("the websocket scope does not advertise websocket.http.response")
    steps: Steps = [["receive", 2.0],
             ["send", {"type": "websocket.http.response.start", "status": 404}],
             ["send", {"type": "websocket.http.response.body", "body": b"gone"}]]
    _ws, handshake = open_ws(probe, steps)
    assert handshake.status == 404 and handshake.response is not None, \
        f"the denial got {handshake.status}"
    assert handshake.response.body == b"gone", f"body {handshake.response.body!r}"


@req("EXT-004")
def test_nothing_after_denial_start(probe):
    """After the denial start, ``websocket.accept`` raises; the client gets the denial."""
    if not _denial_advertised(probe):
        not_applicable("the websocket scope does not advertise websocket.http.response")
    steps: Steps = [["receive", 2.0],
             ["send", {"type": "websocket.http.response.start", "status": 403,
                       "headers": [(b"content-length", b"2")]}],
             ["send", {"type": "websocket.accept"}],
             ["send", {"type": "websocket.http.response.body", "body": b"no"}]]
    _ws, handshake = open_ws(probe, steps)
    view = probe.wait_for("the app sent three times", lambda v: len(v.sends) >= 3,
                          timeout=2.0)
    assert handshake.status == 403, f"the client got {handshake.status} after a denial start"
    assert not view.sends[1]["ok"], "websocket.accept after the denial start did not raise"


@req("EXT-005")
def test_denial_without_extension_raises(probe):
    """Without the extension advertised, a denial start raises and the client never gets a
    101 (403 or 500)."""
    if _denial_advertised(probe):
        not_applicable("the websocket scope advertises websocket.http.response")
    steps: Steps = [["receive", 2.0],
             ["send", {"type": "websocket.http.response.start", "status": 401}],
             ["send", {"type": "websocket.close"}]]
    _ws, handshake = open_ws(probe, steps)
    view = probe.wait_for("the app sent twice", lambda v: len(v.sends) >= 1, timeout=2.0)
    assert handshake.status != 101, "an unadvertised denial start completed the handshake"
    assert not view.sends[0]["ok"], "an unadvertised websocket.http.response.start did not raise"
    assert handshake.status in (403, 500), \
        f"the client got {handshake.status}, not 403 (the close) or 500 (the error)"
