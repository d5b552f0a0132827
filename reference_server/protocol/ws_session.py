"""One ASGI ``websocket`` scope: the session between a WebSocket peer and the application,
independent of the transport (www.rst, "WebSocket"; extensions.rst, "WebSocket Denial
Response").

A transport (:class:`~.transport.WebSocketTransport`: the HTTP/1.1 connection after its
upgrade today, an HTTP/2 stream after an extended CONNECT next) feeds the session the
bytes that follow the handshake and tells it when the peer is gone; the session runs the
RFC 6455 framing in its sans-I/O core (``reference_server.websocket``) and maps it to
ASGI:

- the application gets ``websocket.connect`` first and the handshake is completed only
  by its ``websocket.accept``; ``websocket.close`` before that is answered 403, the
  denial-response events answer with the application's own HTTP response, and an app
  that fails or returns before deciding gets 500;
- messages become ``websocket.receive`` (text or bytes, empty ones included); the
  client's close, a protocol failure or a lost connection become one
  ``websocket.disconnect`` with the close code (1005 when the client's close carried
  none, 1006 when the connection dropped without a close frame);
- ``send()`` after the connection is closed raises :class:`ClientDisconnected`, an
  ``OSError`` subclass (spec_version 2.4); an invalid event raises
  :class:`InvalidMessage`; an exception escaping the app after the accept closes with
  1011.

Flow control both ways keeps memory per connection bounded: reading pauses while the
application has not received ``flow_high_water`` bytes of messages, and ``send()``
waits while the transport's write buffer is above its high-water mark. Pings go out
every ``ws_ping_interval`` seconds; a pong that does not come within
``ws_ping_timeout`` closes the connection (1011), so dead peers do not hold sockets.
"""

from __future__ import annotations

import asyncio
import collections
from typing import TYPE_CHECKING, Any

from ..asgi import ClientDisconnected, InvalidMessage, Message, event_type
from ..http11 import LocalProtocolError
from ..websocket import (
    OPEN,
    CloseReceived,
    ConnectionClosedError,
    Pong,
    ProtocolFailure,
    WebSocketConnection,
)
from ..websocket import Message as WSMessage
from ..websocket.deflate import PerMessageDeflate
from .instance import AppInstance
from .scope import request_target

if TYPE_CHECKING:
    from ..state import ServerState
    from .transport import WebSocketTransport

_CONNECT: dict[str, Any] = {"type": "websocket.connect"}
#: Seconds we wait for the client's close frame after sending ours (RFC 6455 §7.1.1:
#: the server closes TCP once the handshake is done, or when it stops waiting).
CLOSE_TIMEOUT = 10.0
#: Close code when the server goes away (RFC 6455 §7.4.1: "going away, such as a
#: server going down").
_GOING_AWAY = 1001
#: Close code for "the server met an unexpected condition" (RFC 6455 §7.4.1).
_INTERNAL_ERROR = 1011

# Handshake phases (the ASGI side).
_CONNECTING, _ACCEPTED, _DENYING, _DONE = range(4)


class WebSocketSession(AppInstance):
    """One WebSocket connection's application instance and its ASGI events."""

    def __init__(self, state: ServerState, transport: WebSocketTransport,
                 scope: dict[str, Any], subprotocols: list[str],
                 deflate: PerMessageDeflate | None, early_data: bytes) -> None:
        AppInstance.__init__(self, state, scope)
        self.config = config = state.config
        self.transport = transport
        self.loop = transport.loop
        #: The subprotocols the client offered (an accept may only pick one of them).
        self.subprotocols = subprotocols
        self.deflate = deflate
        self.conn = WebSocketConnection(max_message_size=config.ws_max_size, deflate=deflate)
        self.phase = _CONNECTING
        #: The application has been given (or will be given next) websocket.disconnect.
        self.disconnect_code: int | None = None
        self.disconnect_reason = ""
        self.connect_sent = False
        self.messages: collections.deque[Message] = collections.deque()
        self.queued_bytes = 0
        #: Bytes that arrived before the accept (a client may pipeline its first frames).
        self._early = bytearray(early_data)
        #: The denial response's head has gone out (a 500 is no longer possible).
        self._denial_sent = False
        self._timer: asyncio.TimerHandle | None = None
        self._ping_due = False

    def _log_handshake(self, status: int) -> None:
        """One access-log line per WebSocket handshake, when it is decided (101 accepted,
        403 closed before the accept, the denial response's status, 500)."""
        log = self.state.access_log
        if log.isEnabledFor(20):
            scope = self.scope
            client = scope["client"]
            log.info('%s - "WebSocket %s" %d', f"{client[0]}:{client[1]}" if client else "-",
                     request_target(scope), status)

    # -- events from the transport --------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Bytes from the peer."""
        if self.phase == _ACCEPTED:
            self.conn.feed(data)
            self._process()
        elif self.phase == _CONNECTING:
            self._early += data
            if len(self._early) > self.config.flow_high_water:
                self.transport.pause_reading()
        # While denying or done, input is dropped: the connection is about to close.

    def lost(self) -> None:
        """The peer went away without a close frame (a half-close or a lost
        connection): 1006."""
        self._cancel_timer()
        self._set_disconnect(1006, "")
        self._close_transport()

    def shutdown(self) -> None:
        """Graceful server shutdown: 1001 to open connections; a handshake still waiting
        for the application finishes on its own (the drain loop waits for it)."""
        if self.phase == _ACCEPTED:
            self._start_close(_GOING_AWAY, "server shutdown")

    # -- the sans-I/O core's events -----------------------------------------------------

    def _process(self) -> None:
        conn = self.conn
        while True:
            event = conn.next_event()
            if event is None:
                break
            if isinstance(event, WSMessage):
                data = event.data
                if type(data) is str:
                    message: Message = {"type": "websocket.receive", "text": data}
                else:
                    message = {"type": "websocket.receive", "bytes": data}
                self.queued_bytes += len(data)
                self.messages.append(message)
                if self.queued_bytes > self.config.flow_high_water:
                    self.transport.pause_reading()
            elif isinstance(event, CloseReceived | ProtocolFailure):
                # The peer's close (§5.5.1: our reply is in the core's output) or a
                # protocol failure (§7.1.7: our close with the failure code is): write
                # it, then the server closes TCP first (§7.1.1).
                self._flush()
                self._set_disconnect(event.code, event.reason)
                self._close_transport()
                break
            elif isinstance(event, Pong):
                self._ping_due = False
            # Ping: the core has queued the pong already.
        self._flush()
        self._wake()

    def _flush(self) -> None:
        out = self.conn.output()
        if out and not self.transport.closed:
            self.transport.write(out)

    def _set_disconnect(self, code: int, reason: str) -> None:
        if self.disconnect_code is None:
            self.disconnect_code = code
            self.disconnect_reason = reason
        self._wake()

    def _close_transport(self) -> None:
        if not self.transport.closed:
            self._cancel_timer()
            self.transport.close()

    # -- timers: keep-alive pings and the closing handshake --------------------------------

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _schedule_ping(self) -> None:
        interval = self.config.ws_ping_interval
        if interval:
            self._timer = self.loop.call_later(interval, self._on_ping_timer)

    def _on_ping_timer(self) -> None:
        self._timer = None
        if self.transport.closed or self.conn.state != OPEN:
            return
        if self._ping_due:
            # The previous ping went unanswered for ws_ping_timeout seconds.
            self._fail(_INTERNAL_ERROR, "keepalive ping timeout")
            return
        self.transport.write(self.conn.send_ping(b""))
        timeout = self.config.ws_ping_timeout
        if timeout:
            self._ping_due = True
            self._timer = self.loop.call_later(timeout, self._on_ping_timer)
        else:
            self._schedule_ping()

    def _start_close(self, code: int, reason: str) -> None:
        """Send our close frame and wait (bounded) for the client's."""
        if self.transport.closed or self.conn.state != OPEN:
            return
        self.transport.write(self.conn.send_close(code, reason))
        self._wait_for_close()

    def _wait_for_close(self) -> None:
        self._cancel_timer()
        self._timer = self.loop.call_later(CLOSE_TIMEOUT, self._on_close_timeout)

    def _on_close_timeout(self) -> None:
        self._timer = None
        if not self.transport.closed:
            self._set_disconnect(1006, "")
            self.transport.abort()

    def _fail(self, code: int, reason: str) -> None:
        """Close right away with ``code`` (no waiting for the client's reply)."""
        observer = self.state.observer
        if observer is not None:
            observer.protocol_error(f"websocket_{code}")
        if not self.transport.closed and self.conn.state == OPEN:
            self.transport.write(self.conn.send_close(code, reason))
        self._set_disconnect(code, reason)
        self._close_transport()

    # -- the ASGI callables -------------------------------------------------------------

    async def receive(self) -> Message:
        if not self.connect_sent:
            self.connect_sent = True
            return dict(_CONNECT)
        while True:
            messages = self.messages
            if messages:
                message = messages.popleft()
                self.queued_bytes -= len(message.get("text") or message.get("bytes") or b"")
                if self.transport.reading_paused and \
                        self.queued_bytes <= self.config.flow_high_water // 2:
                    self.transport.resume_reading()
                return message
            if self.disconnect_code is not None:
                return {"type": "websocket.disconnect", "code": self.disconnect_code,
                        "reason": self.disconnect_reason}
            waiter = self.waiter = self.loop.create_future()
            await waiter

    async def send(self, message: Message) -> None:
        kind = event_type(message)
        phase = self.phase
        if kind == "websocket.send":
            if phase != _ACCEPTED:
                if phase == _CONNECTING:
                    raise InvalidMessage("websocket.send before websocket.accept")
                raise ClientDisconnected("the WebSocket connection is closed")
            transport = self.transport
            if transport.closed or self.conn.state != OPEN:
                raise ClientDisconnected("the WebSocket connection is closed")
            # www.rst, Send: exactly one of ``bytes`` and ``text``.
            text = message.get("text")
            data = message.get("bytes")
            try:
                if text is not None:
                    if data is not None:
                        raise InvalidMessage("websocket.send has both 'text' and 'bytes'")
                    if type(text) is not str:
                        raise InvalidMessage("websocket.send 'text' must be a str")
                    frame = self.conn.send_text(text)
                elif data is not None:
                    if not isinstance(data, bytes | bytearray | memoryview):
                        raise InvalidMessage("websocket.send 'bytes' must be bytes")
                    frame = self.conn.send_bytes(bytes(data))
                else:
                    raise InvalidMessage("websocket.send needs 'text' or 'bytes'")
            except ConnectionClosedError:
                raise ClientDisconnected("the WebSocket connection is closed") from None
            transport.write(frame)
            if transport.writing_paused:
                await transport.drain()
            return
        if kind == "websocket.accept":
            if phase != _CONNECTING:
                if self.transport.closed:
                    raise ClientDisconnected("the WebSocket connection is closed")
                raise InvalidMessage("websocket.accept after the handshake was decided")
            self._accept(message)
            return
        if kind == "websocket.close":
            self._close_event(message)
            return
        if kind in ("websocket.http.response.start", "websocket.http.response.body"):
            await self._deny(kind, message)
            return
        raise InvalidMessage(f"unexpected ASGI event {kind!r} on a websocket connection")

    def _accept(self, message: Message) -> None:
        subprotocol = message.get("subprotocol")
        if subprotocol is not None:
            if type(subprotocol) is not str:
                raise InvalidMessage("websocket.accept 'subprotocol' must be a str")
            if subprotocol not in self.subprotocols:
                # RFC 6455 §4.2.2: the selected subprotocol MUST be one the client sent
                # (a client fails the connection otherwise, §4.1).
                raise InvalidMessage(
                    f"websocket.accept subprotocol {subprotocol!r} was not offered by the "
                    f"client (offered: {self.subprotocols})")
        try:
            self.transport.accept(
                subprotocol, message.get("headers") or (),
                self.deflate.response_header() if self.deflate else None)
        except ValueError as exc:
            raise InvalidMessage(f"websocket.accept: {exc}") from None
        self.phase = _ACCEPTED
        self._log_handshake(101)
        self._schedule_ping()
        if self._early:
            early = bytes(self._early)
            self._early.clear()
            self.conn.feed(early)
            self._process()
        self.transport.resume_reading()

    def _close_event(self, message: Message) -> None:
        code = message.get("code", 1000)
        reason = message.get("reason") or ""
        if type(code) is not int:
            raise InvalidMessage("websocket.close 'code' must be an int")
        if type(reason) is not str:
            raise InvalidMessage("websocket.close 'reason' must be a str")
        phase = self.phase
        transport = self.transport
        if phase == _CONNECTING:
            # www.rst, Close: before the accept the server "must close the connection
            # with a HTTP 403 error code (Forbidden), and not complete the handshake".
            self.phase = _DONE
            self._log_handshake(403)
            transport.reject(403)
            self._set_disconnect(1006, "")
            self._close_transport()
            return
        if phase != _ACCEPTED or transport.closed or self.conn.state != OPEN:
            raise ClientDisconnected("the WebSocket connection is closed")
        try:
            frame = self.conn.send_close(code, reason)
        except ValueError as exc:
            raise InvalidMessage(f"websocket.close: {exc}") from None
        transport.write(frame)
        self._wait_for_close()

    async def _deny(self, kind: str, message: Message) -> None:
        """extensions.rst, WebSocket Denial Response: an HTTP response instead of the
        handshake, after which the connection closes."""
        phase = self.phase
        if phase == _ACCEPTED:
            raise InvalidMessage(f"{kind} after websocket.accept")
        if phase == _DONE:
            raise ClientDisconnected("the WebSocket connection is closed")
        transport = self.transport
        try:
            if kind == "websocket.http.response.start":
                if phase == _DENYING:
                    raise InvalidMessage("websocket.http.response.start sent twice")
                status = message["status"]
                transport.deny_start(status, message.get("headers", ()))
                self.phase = _DENYING
                self._log_handshake(status)
                return
            if phase != _DENYING:
                raise InvalidMessage(
                    "websocket.http.response.body before websocket.http.response.start")
            complete = transport.deny_body(message.get("body", b""),
                                           message.get("more_body", False))
        except KeyError as exc:
            raise InvalidMessage(f"{kind} event is missing the {exc} key") from None
        except LocalProtocolError as exc:
            raise InvalidMessage(str(exc)) from None
        self._denial_sent = True
        if complete:
            self.phase = _DONE
            self._set_disconnect(1006, "")
            self._close_transport()
        elif transport.writing_paused:
            await transport.drain()

    # -- running the application ------------------------------------------------------------

    def _app_returned(self) -> None:
        if self.phase in (_CONNECTING, _DENYING):
            self.state.error_log.error("ASGI callable returned without completing the "
                                       "WebSocket handshake")
            self._abort()
            return
        self._end_after_app()

    def _app_left(self) -> None:
        self._end_after_app()

    def _end_after_app(self) -> None:
        """The app is done: an open connection gets a normal close (www.rst: "if the
        application dies the socket should be closed")."""
        if self.transport.closed:
            return
        if self.phase == _ACCEPTED:
            if self.conn.state == OPEN:
                self._start_close(1000, "")
        else:
            self._close_transport()

    def _abort(self) -> None:
        """asgi.rst, Error Handling: 500 while the handshake is undecided (nothing of the
        denial response sent yet), 1011 after the accept, a plain close otherwise."""
        if self.transport.closed:
            return
        phase = self.phase
        if phase == _CONNECTING or (phase == _DENYING and not self._denial_sent):
            self.phase = _DONE
            self._log_handshake(500)
            self.transport.reject(500)
            self._close_transport()
        elif phase == _ACCEPTED:
            self._fail(_INTERNAL_ERROR, "")
        else:
            self._close_transport()
