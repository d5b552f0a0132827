"""The ASGI mappings without a wire: a RequestCycle and a WebSocketSession driven through
fake transports that implement only the narrow interfaces of
``reference_server.protocol.transport``.

This is what an HTTP/2 stream will rely on: everything ASGI asks of the server (www.rst:
event order, ``http.disconnect``, send after close raising an OSError, the app's failure
answered with 500 or 1011, backpressure both ways) is done by the mapping, whatever
carries the bytes. mypy checks that the fakes satisfy the interfaces.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from reference_server.asgi import ClientDisconnected, InvalidMessage
from reference_server.config import Config
from reference_server.http11 import LocalProtocolError
from reference_server.protocol.http_cycle import RequestCycle
from reference_server.protocol.transport import HTTPTransport, WebSocketTransport
from reference_server.protocol.ws_session import WebSocketSession
from reference_server.state import ServerState
from reference_server.websocket.frames import OP_CLOSE, OP_TEXT, encode_masked_frame

App = Callable[[Any, Any, Any], Awaitable[None]]


class FakeFlow:
    """The flow-control surface both interfaces share, recording what was asked."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.closed = False
        self.writing_paused = False
        self.reading_paused = False
        self.calls: list[tuple[Any, ...]] = []
        self._drained = asyncio.Event()

    async def drain(self) -> None:
        self.calls.append(("drain",))
        await self._drained.wait()

    def pause_reading(self) -> None:
        self._reading("pause_reading", paused=True)

    def resume_reading(self) -> None:
        self._reading("resume_reading", paused=False)

    def _reading(self, name: str, *, paused: bool) -> None:
        self.reading_paused = paused
        self.calls.append((name,))

    def names(self) -> list[str]:
        return [call[0] for call in self.calls]


class FakeHTTP(FakeFlow):
    """An HTTPTransport: a response completes on a body event without more_body."""

    def __init__(self) -> None:
        super().__init__()
        self.head_sent = False
        self.refuse: str | None = None

    def want_body(self) -> None:
        self.calls.append(("want_body",))

    def send_start(self, status: Any, headers: Any, trailers: Any) -> None:
        if self.refuse:
            raise LocalProtocolError(self.refuse)
        self.calls.append(("start", status, list(headers), trailers))

    def send_body(self, data: Any, more_body: Any) -> bool:
        self.head_sent = True
        self.calls.append(("body", data, more_body))
        return not more_body

    def send_trailers(self, headers: Any, more_trailers: Any) -> bool:
        self.calls.append(("trailers", list(headers)))
        return not more_trailers

    def send_early_hint(self, links: Any) -> None:
        self.calls.append(("early_hint", list(links)))

    def send_push(self, path: Any, headers: Any) -> None:
        self.calls.append(("push", path))

    def finish_response(self) -> None:
        self.calls.append(("finish",))

    def abort_response(self) -> None:
        self.calls.append(("abort", self.head_sent))
        self.closed = True


class FakeWebSocket(FakeFlow):
    """A WebSocketTransport that keeps what the session wrote."""

    def __init__(self) -> None:
        super().__init__()
        self.written = b""

    def accept(self, subprotocol: str | None, headers: Any, extension: bytes | None) -> None:
        self.calls.append(("accept", subprotocol, list(headers), extension))

    def reject(self, status: int) -> None:
        self.calls.append(("reject", status))

    def deny_start(self, status: Any, headers: Any) -> None:
        self.calls.append(("deny_start", status))

    def deny_body(self, data: Any, more_body: Any) -> bool:
        self.calls.append(("deny_body", data))
        return not more_body

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self._end("close")

    def abort(self) -> None:
        self._end("abort")

    def _end(self, how: str) -> None:
        self.closed = True
        self.calls.append((how,))


def state_for(app: App, **config: Any) -> ServerState:
    return ServerState(Config(app="test", access_log=False, **config), app, "3.0")


async def outcome(send: Any, message: dict[str, Any]) -> str:
    """What ``send(message)`` did: "sent", or the class of what it raised."""
    try:
        await send(message)
    except Exception as exc:
        return type(exc).__name__
    return "sent"


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


def run_until_idle(make: Callable[[], tuple[Any, FakeFlow]]) -> Any:
    """Start a mapping (``make`` runs inside the loop) and let its app run until it
    waits or ends; return the fake transport."""
    async def main() -> FakeFlow:
        _, transport = make()
        await settle()
        return transport

    return asyncio.run(main())


def cycle_for(app: App, **config: Any) -> tuple[RequestCycle, FakeHTTP]:
    transport = FakeHTTP()
    typed: HTTPTransport = transport
    cycle = RequestCycle(state_for(app, **config), typed, {"type": "http"})
    cycle.start()
    return cycle, transport


# --- the http request cycle ----------------------------------------------------------------


def test_body_events_in_order_then_disconnect_after_the_response() -> None:
    """www.rst: the body as http.request events (more_body until the last), then
    http.disconnect once the response is sent."""
    seen: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(await receive())
        seen.append(await receive())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        seen.append(await receive())

    async def main() -> FakeHTTP:
        cycle, transport = cycle_for(app)
        cycle.feed_body(b"a")
        await settle()
        cycle.feed_body(b"b")
        cycle.end_body()
        await settle()
        return transport

    transport = asyncio.run(main())
    assert seen == [{"type": "http.request", "body": b"a", "more_body": True},
                    {"type": "http.request", "body": b"b", "more_body": False},
                    {"type": "http.disconnect"}]
    assert [call for call in transport.calls if call[0] in ("start", "body", "finish")] == [
        ("start", 200, [], False), ("body", b"ok", False), ("finish",)]


def test_the_app_waiting_for_body_is_reported_and_a_disconnect_wakes_it() -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(await receive())
        seen.append(await outcome(send, {"type": "http.response.start", "status": 200,
                                         "headers": []}))

    async def main() -> FakeHTTP:
        cycle, transport = cycle_for(app)
        await settle()
        assert transport.names() == ["want_body"]  # HTTP/1.1 sends its 100 Continue here
        cycle.on_disconnect()
        await settle()
        return transport

    transport = asyncio.run(main())
    # spec_version 2.4: send() on a closed connection raises an OSError subclass.
    assert seen == [{"type": "http.disconnect"}, "ClientDisconnected"]
    assert issubclass(ClientDisconnected, OSError)
    assert "abort" not in transport.names()


def test_body_beyond_the_high_water_mark_pauses_reading_until_received() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(0.01)
        await receive()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body"})

    async def main() -> FakeHTTP:
        cycle, transport = cycle_for(app, flow_high_water=4)
        cycle.feed_body(b"12345")
        assert transport.reading_paused
        await asyncio.sleep(0.05)
        return transport

    assert asyncio.run(main()).names()[:2] == ["pause_reading", "resume_reading"]


def test_send_waits_for_drain_and_raises_when_the_transport_closed_meanwhile() -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        seen.append(await outcome(send, {"type": "http.response.body", "body": b"x",
                                         "more_body": True}))

    async def main() -> None:
        _, transport = cycle_for(app)
        transport.writing_paused = True
        await settle()
        assert transport.names()[-1] == "drain"  # send() is waiting
        transport.closed = True
        transport._drained.set()
        await settle()

    asyncio.run(main())
    assert seen == ["ClientDisconnected"]


@pytest.mark.parametrize("event", [
    {"type": "http.response.body"},                         # refused by the transport
    {"type": "http.response.start"},                        # no status
    {"type": "websocket.send", "text": "x"},                # not an http event
    {"type": "http.request", "body": b""},                  # an event the app receives
    {"type": "http.disconnect"},                            # (both sort before every
    {"no": "type"},                                         # http.response.* kind)
])
def test_invalid_events_raise_invalid_message(event: dict[str, Any]) -> None:
    raised: list[type[BaseException]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        try:
            await send(event)
        except InvalidMessage as exc:
            raised.append(type(exc))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body"})

    async def main() -> None:
        _, transport = cycle_for(app)
        if event == {"type": "http.response.body"}:
            original = transport.send_body

            def refuse_once(data: Any, more_body: Any) -> bool:
                transport.send_body = original  # type: ignore[method-assign]
                raise LocalProtocolError("http.response.body before http.response.start")

            transport.send_body = refuse_once  # type: ignore[method-assign]
        await settle()

    asyncio.run(main())
    assert raised == [InvalidMessage]


def test_pathsend_sends_the_file_then_ends_the_response(tmp_path: Path) -> None:
    """extensions.rst, Path Send: the file's bytes as body events, then the end of the
    response, and send() returns. Mutation testing found the read loop's stop at end of
    file replaceable by an endless loop: the suite only saw its pathsend cases turn
    non-strict (EXT-017 is a SHOULD)."""
    path = tmp_path / "file.bin"
    path.write_bytes(b"x" * 1000)
    returned: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.pathsend", "path": str(path)})
        returned.append("pathsend")

    async def main() -> FakeHTTP:
        _, transport = cycle_for(app)
        for _ in range(200):  # the file is read in an executor: bounded, not timed
            await asyncio.sleep(0.01)
            if returned:
                break
        return transport

    transport = asyncio.run(main())
    assert returned == ["pathsend"], transport.calls
    bodies = [call[1:] for call in transport.calls if call[0] == "body"]
    assert bodies == [(b"x" * 1000, True), (b"", False)]
    assert transport.names()[-1] == "finish"


@pytest.mark.parametrize(("body", "head_sent"), [(False, False), (True, True)])
def test_a_failing_app_aborts_the_response(body: bool, head_sent: bool) -> None:
    """asgi.rst, Error Handling: the transport is told to abort (a 500 when nothing was
    sent, which only it can know how to say)."""
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        if body:
            await send({"type": "http.response.body", "body": b"x", "more_body": True})
        raise RuntimeError("boom")

    assert run_until_idle(lambda: cycle_for(app)).calls[-1] == ("abort", head_sent)


def test_events_after_the_response_are_ignored() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body"})
        await send({"type": "http.response.body", "body": b"late"})

    assert run_until_idle(lambda: cycle_for(app)).names() == ["start", "body", "finish"]


# --- the websocket session ------------------------------------------------------------------


def session_for(app: App, subprotocols: list[str] | None = None,
                early: bytes = b"", **config: Any) -> tuple[WebSocketSession, FakeWebSocket]:
    transport = FakeWebSocket()
    typed: WebSocketTransport = transport
    session = WebSocketSession(state_for(app, ws_ping_interval=None, **config), typed,
                               {"type": "websocket", "client": None, "raw_path": b"/",
                                "query_string": b""}, subprotocols or [], None, early)
    session.start()
    return session, transport


def test_accept_echo_and_the_peer_close() -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(await receive())
        await send({"type": "websocket.accept", "subprotocol": "chat"})
        message = await receive()
        seen.append(message)
        await send({"type": "websocket.send", "text": message["text"]})
        seen.append(await receive())

    async def main() -> FakeWebSocket:
        # A frame sent before the accept is held until the handshake completes.
        session, transport = session_for(app, ["chat"], early=encode_masked_frame(
            OP_TEXT, b"hi", b"abcd"))
        await settle()
        session.feed(encode_masked_frame(OP_CLOSE, b"\x03\xe8", b"abcd"))
        await settle()
        return transport

    transport = asyncio.run(main())
    assert seen == [{"type": "websocket.connect"},
                    {"type": "websocket.receive", "text": "hi"},
                    {"type": "websocket.disconnect", "code": 1000, "reason": ""}]
    assert transport.calls[0] == ("accept", "chat", [], None)
    # Our echo (unmasked, §5.1) and the reply to the peer's close (§5.5.1).
    assert transport.written == b"\x81\x02hi" + b"\x88\x02\x03\xe8"
    assert transport.closed


def test_bytes_piling_up_before_the_accept_pause_reading_until_accepted() -> None:
    """A client that sends frames before the app has accepted (a conforming one does not,
    RFC 6455 §4.1, but the bytes are kept for after the accept) is held back once more
    than ``flow_high_water`` bytes wait: reading pauses, and the held frames reach the
    app after the accept. Mutation testing found the pause taken only at exactly the
    mark, so a client could pile up bytes without bound before the accept."""
    accept = asyncio.Event()
    seen: list[Any] = []
    frame = encode_masked_frame(OP_TEXT, b"x" * 100, b"abcd")  # 106 bytes

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await accept.wait()
        await send({"type": "websocket.accept"})
        for _ in range(11):
            seen.append((await receive())["text"])

    async def main() -> tuple[bool, list[str]]:
        session, transport = session_for(app, flow_high_water=1000)
        await settle()
        for _ in range(11):  # past the 1,000-byte mark at the tenth
            session.feed(frame)
        paused = transport.reading_paused
        accept.set()
        await settle()
        return paused, transport.names()

    paused, names = asyncio.run(main())
    assert paused and "pause_reading" in names, names
    assert names.index("resume_reading") > names.index("pause_reading"), names
    assert seen == ["x" * 100] * 11


def test_close_before_accept_is_a_403_and_the_app_hears_1006() -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.close"})
        seen.append(await receive())
        seen.append(await outcome(send, {"type": "websocket.send", "text": "x"}))

    transport = run_until_idle(lambda: session_for(app))
    assert transport.calls[:2] == [("reject", 403), ("close",)]
    assert seen == [{"type": "websocket.disconnect", "code": 1006, "reason": ""},
                    "ClientDisconnected"]


@pytest.mark.parametrize("accept", [False, True], ids=["before-accept", "after-accept"])
def test_a_failing_app_gets_500_before_the_accept_and_1011_after(accept: bool) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        if accept:
            await send({"type": "websocket.accept"})
        raise RuntimeError("boom")

    transport = run_until_idle(lambda: session_for(app))
    if accept:
        assert transport.written == b"\x88\x02\x03\xf3"  # RFC 6455 §7.4.1: 1011
    else:
        assert ("reject", 500) in transport.calls and transport.written == b""
    assert transport.closed


@pytest.mark.parametrize("event", [
    {"type": "http.response.start", "status": 200},     # an http event (sorts before
    {"type": "websocket.receive", "text": "x"},          # every websocket.* kind the app
    {"type": "websocket.connect"},                       # sends), events the app receives,
    {"type": "websocket.bogus"},                         # one that sorts after them all,
    {"no": "type"},                                      # and none at all
])
def test_invalid_websocket_events_raise_invalid_message(event: dict[str, Any]) -> None:
    """asgi.rst, Error Handling: an event that is not one the app may send raises
    (MAIN-014), before the accept too, and the session goes on: the app can still accept.
    Mutation testing found every kind sorting before ``websocket.accept`` taken for one."""
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        seen.append(await outcome(send, event))
        await send({"type": "websocket.accept"})

    transport = run_until_idle(lambda: session_for(app))
    assert seen == ["InvalidMessage"]
    assert [c[0] for c in transport.calls][:1] == ["accept"], transport.calls


def test_the_denial_response_goes_through_the_transport_then_it_closes() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.http.response.start", "status": 401, "headers": []})
        await send({"type": "websocket.http.response.body", "body": b"no"})

    transport = run_until_idle(lambda: session_for(app))
    assert transport.calls == [("deny_start", 401), ("deny_body", b"no"), ("close",)]


def test_a_lost_peer_is_1006_and_send_raises() -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        seen.append(await receive())
        seen.append(await outcome(send, {"type": "websocket.send", "bytes": b"x"}))

    async def main() -> None:
        session, transport = session_for(app)
        await settle()
        transport.closed = True
        session.lost()
        await settle()

    asyncio.run(main())
    assert seen == [{"type": "websocket.disconnect", "code": 1006, "reason": ""},
                    "ClientDisconnected"]
