"""The asyncio shell of HTTP/1.1: socket bytes → sans-I/O core → ASGI request cycles.

:class:`HTTPProtocol` owns one connection. It feeds the :class:`RequestParser`, starts a
:class:`RequestCycle` (one ASGI ``http`` scope and task) per request, and serves requests
strictly one after another: the parser is paused after each request until its response
is complete, which keeps pipelined responses in order (RFC 9112 §9.3.2) and bounds what
a client can make us buffer.

Flow control runs both ways (design notes, "Memory per connection is bounded"):

- reading pauses while the application has not consumed ``flow_high_water`` bytes of
  body, or while pipelined requests wait behind the current one;
- ``send()`` waits while the transport's write buffer is above the high-water mark, so
  a client that does not read cannot make the application fill our memory.

Timers: a request head must arrive within ``timeout_request_head`` (slowloris bound;
408 if part of a head came), an idle keep-alive connection closes after
``timeout_keep_alive``. One timer handle per connection, re-armed per phase.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, cast
from urllib.parse import unquote_to_bytes

from ..asgi import ClientDisconnected, InvalidMessage, Message, event_type
from ..http11 import (
    PAUSED,
    Data,
    EndOfMessage,
    LocalProtocolError,
    ProtocolError,
    Request,
    RequestParser,
)
from ..http11.response import ResponseWriter, error_response
from ..state import ServerState
from ..tls import tls_extension
from ..websocket import HandshakeError, is_websocket_upgrade, parse_offer
from ..websocket.deflate import negotiate_deflate
from .websocket import WebSocketProtocol

_HTTP_SPEC_VERSION = "2.5"
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_DISCONNECT: dict[str, Any] = {"type": "http.disconnect"}
#: Method tokens as the str the scope carries, for the common ones.
_METHODS = {m.encode("ascii"): m for m in
            ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE")}
_HAS_SENDFILE = hasattr(os, "sendfile")
_FILE_CHUNK = 256 * 1024
#: Most request-body bytes discarded after a response so the connection can be reused;
#: beyond this closing is cheaper than reading.
_MAX_DISCARD = 1024 * 1024

#: X-Forwarded-Proto values we understand, as the scheme of the underlying HTTP request
#: (a WebSocket scope turns http/https into ws/wss).
_FORWARDED_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}

# Timer phases.
_NO_TIMER, _HEAD, _IDLE = 0, 1, 2


class HTTPProtocol(asyncio.Protocol):
    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.config = state.config
        self.loop = asyncio.get_running_loop()
        self.parser = RequestParser(state.config.limits)
        self.transport: asyncio.Transport | None = None
        self.cycle: RequestCycle | None = None
        self.client: tuple[str, int] | None = None
        self.server: tuple[str, int | None] | None = None
        self.scheme = "http"
        self.extensions: dict[str, Any] = {}
        self.closed = False
        self.reading_paused = False
        self.writing_paused = False
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_phase = _NO_TIMER
        self._deadline = 0.0
        #: When the timer handle fires (``_timer.when()``, kept to avoid the call).
        self._timer_when = 0.0
        #: The peer may set X-Forwarded-* (decided once per connection).
        self._trust_proxy = False
        self._discarded = 0
        self._access = False
        self._ws = state.config.ws != "none"
        self._deflate_config = state.deflate_config

    # -- connection lifetime -------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only look-alikes.
        transport = cast(asyncio.Transport, transport)
        self.transport = transport
        state = self.state
        state.connections.add(self)
        peer = transport.get_extra_info("peername")
        sock = transport.get_extra_info("sockname")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self.client = (str(peer[0]), int(peer[1]))
        if self.client is not None and state.proxies is not None:
            self._trust_proxy = state.proxies.trusts(self.client[0])
        if isinstance(sock, tuple) and len(sock) >= 2:
            self.server = (str(sock[0]), int(sock[1]))
        elif isinstance(sock, str) and sock:
            self.server = (sock, None)
        extensions: dict[str, Any] = {
            "http.response.trailers": {},
            "http.response.pathsend": {},
            "http.response.early_hint": {},
        }
        if _HAS_SENDFILE:
            extensions["http.response.zerocopysend"] = {}
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            self.scheme = "https"
            extensions["tls"] = tls_extension(ssl_object, state)
        self.extensions = extensions
        transport.set_write_buffer_limits(high=self.config.flow_high_water)
        self._access = state.access_log.isEnabledFor(20)
        if state.config.limit_concurrency is not None and \
                len(state.connections) > state.config.limit_concurrency:
            transport.write(error_response(503, "Service Unavailable",
                                           state.server_header))
            self._close()
            return
        self._arm(_HEAD, self.config.timeout_request_head)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.state.connections.discard(self)
        self._cancel_timer()
        cycle = self.cycle
        if cycle is not None:
            cycle.on_disconnect()
        for waiter in self._drain_waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._drain_waiters.clear()

    def eof_received(self) -> bool | None:
        # The client stopped sending. Like uvicorn and hypercorn we take it as the client
        # leaving: the transport closes, a waiting receive() gets http.disconnect and a
        # later send() raises ClientDisconnected. Returning None closes the transport.
        self.parser.feed(b"")
        return None

    def _close(self) -> None:
        if not self.closed:
            self.closed = True
            self._cancel_timer()
            assert self.transport is not None
            self.transport.close()

    # -- timers ----------------------------------------------------------------------

    # Arming and disarming happen on every request, so they only move a deadline; the
    # one timer handle is rescheduled when it fires early (the deadline moved on) or
    # when the new deadline is earlier than the scheduled one. That keeps call_at()
    # and cancel() off the per-request path.

    def _arm(self, phase: int, delay: float) -> None:
        self._timer_phase = phase
        deadline = self._deadline = self.loop.time() + delay
        timer = self._timer
        if timer is None or self._timer_when > deadline:
            if timer is not None:
                timer.cancel()
            self._timer_when = deadline
            self._timer = self.loop.call_at(deadline, self._on_timeout)

    def _cancel_timer(self) -> None:
        self._timer_phase = _NO_TIMER
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_timeout(self) -> None:
        self._timer = None
        phase = self._timer_phase
        if phase == _NO_TIMER:
            return
        if self.loop.time() < self._deadline:
            self._timer_when = self._deadline
            self._timer = self.loop.call_at(self._deadline, self._on_timeout)
            return
        self._timer_phase = _NO_TIMER
        if self.closed or self.cycle is not None:
            return
        if phase == _HEAD and self.parser.buffered and self.transport is not None:
            # RFC 9110 §15.5.9: 408 tells a client that started a request too slowly
            # that we closed on purpose.
            self.transport.write(error_response(408, "Request Timeout",
                                                self.state.server_header))
        self._close()

    # -- flow control -------------------------------------------------------------------

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        for waiter in self._drain_waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._drain_waiters.clear()

    async def drain(self) -> None:
        if self.writing_paused and not self.closed:
            waiter = self.loop.create_future()
            self._drain_waiters.append(waiter)
            await waiter

    def pause_reading(self) -> None:
        if not self.reading_paused and not self.closed and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.reading_paused and not self.closed and self.transport is not None:
            self.reading_paused = False
            self.transport.resume_reading()

    # -- parsing -------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._timer_phase == _IDLE:
            self._timer_phase = _NO_TIMER
        self.parser.feed(data)
        self._parse()

    def _parse(self) -> None:
        parser = self.parser
        while not self.closed:
            try:
                event = parser.next_event()
            except ProtocolError as exc:
                self._protocol_error(exc)
                return
            # Exact types, cheapest first for the common sequence Request,
            # EndOfMessage, PAUSED (the parser emits no subclasses).
            kind = type(event)
            if kind is Request:
                self._on_request(event)  # type: ignore[arg-type]
            elif kind is EndOfMessage:
                cycle = self.cycle
                if cycle is not None:
                    if cycle.discarding:
                        self._next_cycle()
                        continue
                    cycle.body_done = True
                    if cycle.waiter is not None:
                        cycle._wake()
                # The parser is paused now (it says PAUSED until start_next_cycle()):
                # do what PAUSED asks without asking for it.
                if parser.buffered > self.config.flow_high_water:
                    self.pause_reading()
                return
            elif kind is Data:
                cycle = self.cycle
                data = event.data  # type: ignore[union-attr]
                if cycle is not None and not cycle.discarding:
                    cycle.feed_body(data)
                else:
                    self._discarded += len(data)
                    if self._discarded > _MAX_DISCARD:
                        self._close()
                        return
            elif event is PAUSED:
                if parser.buffered > self.config.flow_high_water:
                    self.pause_reading()
                return
            else:  # NEED_DATA
                if self.cycle is None and parser.buffered and self._timer_phase != _HEAD:
                    self._arm(_HEAD, self.config.timeout_request_head)
                return

    def _protocol_error(self, exc: ProtocolError) -> None:
        """RFC 9112 §11.2: once the framing of a request is in doubt the connection is
        closed; the client gets the status that names the problem when no response is
        in progress."""
        cycle = self.cycle
        if cycle is not None:
            cycle.on_disconnect()
            if cycle.writer.head_sent:
                self._close()
                return
        if self.transport is not None and not self.closed and exc.status:
            self.transport.write(error_response(exc.status, exc.reason,
                                                self.state.server_header))
        self._close()

    def _on_request(self, request: Request) -> None:
        self._timer_phase = _NO_TIMER
        self._discarded = 0
        state = self.state
        raw_path = request.raw_path
        if b"%" in raw_path:
            try:
                path = unquote_to_bytes(raw_path).decode("utf-8")
            except UnicodeDecodeError:
                # www.rst: path has "percent-encoded sequences and UTF-8 byte sequences
                # decoded into characters"; bytes that are not UTF-8 cannot be.
                self._protocol_error(ProtocolError(400, "path is not UTF-8"))
                return
        else:
            path = raw_path.decode("ascii")
        client = self.client
        scheme = self.scheme
        headers = request.headers
        proxies = state.proxies
        if self._trust_proxy and proxies is not None:
            for name, value in request.notable:
                if name == b"x-forwarded-for":
                    host = proxies.client_from(value)
                    if host:
                        client = (host, 0)
                elif name == b"x-forwarded-proto":
                    proto = value.decode("latin-1").split(",")[-1].strip().lower()
                    if proto in _FORWARDED_SCHEMES:
                        scheme = _FORWARDED_SCHEMES[proto]
        if request.upgrade is not None and self._ws and is_websocket_upgrade(request.upgrade):
            self._upgrade(request, path, client, scheme)
            return
        root_path = state.root_path
        scope = {
            "type": "http",
            "asgi": {"version": state.asgi_version, "spec_version": _HTTP_SPEC_VERSION},
            "http_version": "1.1" if request.http_version == b"1.1" else "1.0",
            "server": self.server,
            "client": client,
            "scheme": scheme,
            "method": _METHODS.get(request.method) or request.method.decode("ascii"),
            "root_path": root_path,
            "path": root_path + path if root_path else path,
            "raw_path": raw_path,
            "query_string": request.query_string,
            "headers": headers,
            "state": state.lifespan_state.copy(),
            "extensions": self.extensions.copy(),
        }
        writer = ResponseWriter(request.method, request.http_version,
                                request.keep_alive and not state.shutting_down,
                                request.te_trailers, state.server_header,
                                self.config.date_header)
        cycle = RequestCycle(self, request, scope, writer)
        self.cycle = cycle
        task = cycle.task = self.loop.create_task(cycle.run())
        state.tasks.add(task)  # run() takes itself out when it ends

    def _upgrade(self, request: Request, path: str, client: tuple[str, int] | None,
                 scheme: str) -> None:
        """RFC 6455 §4.2.1: check the opening handshake, then hand the connection over to
        a :class:`WebSocketProtocol` running a ``websocket`` scope (www.rst, WebSocket).
        An invalid handshake gets its error status and the connection closes."""
        state = self.state
        transport = self.transport
        assert transport is not None
        try:
            if request.content_length or request.chunked:
                raise HandshakeError(400, "a WebSocket opening handshake has no body")
            offer = parse_offer(request.method, request.http_version, request.headers)
        except HandshakeError as exc:
            extra = b"".join(name + b": " + value + b"\r\n" for name, value in exc.headers)
            if exc.status == 426:
                # RFC 9110 §15.5.22: a 426 MUST carry the Upgrade the server wants.
                extra += b"upgrade: websocket\r\n"
            transport.write(error_response(exc.status, exc.reason,
                                           state.server_header + extra))
            self._close()
            return
        deflate = negotiate_deflate(offer.extensions, self._deflate_config) \
            if self.config.ws_per_message_deflate else None
        # The handshake has no body: the parser's next event ends the request, and
        # what follows the head already belongs to the WebSocket protocol.
        self.parser.next_event()
        early = self.parser.take_trailing_data()
        root_path = state.root_path
        extensions: dict[str, Any] = {"websocket.http.response": {}}
        if "tls" in self.extensions:
            extensions["tls"] = self.extensions["tls"]
        scope = {
            "type": "websocket",
            "asgi": {"version": state.asgi_version, "spec_version": _HTTP_SPEC_VERSION},
            "http_version": "1.1",
            "scheme": "wss" if scheme == "https" else "ws",
            "server": self.server,
            "client": client,
            "root_path": root_path,
            "path": root_path + path if root_path else path,
            "raw_path": request.raw_path,
            "query_string": request.query_string,
            "headers": request.headers,
            "subprotocols": offer.subprotocols,
            "state": state.lifespan_state.copy(),
            "extensions": extensions,
        }
        ws = WebSocketProtocol(state, transport, scope, offer, deflate, early)
        ws.reading_paused = self.reading_paused
        # This protocol is done with the transport: from now on it talks to ``ws``.
        self.closed = True
        self._cancel_timer()
        state.connections.discard(self)
        state.connections.add(ws)
        transport.set_protocol(ws)
        ws.start()

    def response_complete(self, cycle: RequestCycle) -> None:
        """The current response is on the wire: log it, then reuse or close."""
        if self._access:
            self.state.access_log.info(
                '%s - "%s %s HTTP/%s" %d',
                f"{cycle.scope['client'][0]}:{cycle.scope['client'][1]}"
                if cycle.scope["client"] else "-",
                cycle.scope["method"], cycle.request.target.decode("latin-1"),
                cycle.scope["http_version"], cycle.writer.status)
        if self.closed:
            return
        if not cycle.writer.keep_alive or self.state.shutting_down:
            self._close()
        elif cycle.body_done:
            self._next_cycle()
        elif cycle.request.expect_continue and not cycle.continue_sent:
            # The client may be holding the body back for our 100; it cannot know the
            # body is no longer wanted (RFC 9110 §10.1.1): close instead of guessing.
            self._close()
        else:
            # Read and drop the rest of the body so the connection can be reused.
            cycle.discarding = True
            self.resume_reading()

    def _next_cycle(self) -> None:
        self.cycle = None
        parser = self.parser
        parser.start_next_cycle()
        if self.reading_paused:
            self.resume_reading()
        if parser.buffered:
            self._parse()
            if self.cycle is None and not self.closed:
                if parser.buffered:
                    # Part of the next head is here: the head deadline runs from now.
                    self._arm(_HEAD, self.config.timeout_request_head)
                else:
                    self._arm(_IDLE, self.config.timeout_keep_alive)
        elif not self.closed:
            self._arm(_IDLE, self.config.timeout_keep_alive)

    def shutdown(self) -> None:
        """Graceful shutdown: idle connections close now, busy ones after the response
        in progress (their writer no longer keeps the connection alive)."""
        cycle = self.cycle
        if cycle is None:
            self._close()
        else:
            cycle.writer.keep_alive = False


class RequestCycle:
    """One request: the ASGI scope, receive() and send(), and the application task."""

    __slots__ = (
        "body", "body_done", "body_size", "continue_sent", "discarding", "disconnected",
        "protocol", "request", "response_done", "scope", "task", "waiter", "writer",
    )

    def __init__(self, protocol: HTTPProtocol, request: Request, scope: dict[str, Any],
                 writer: ResponseWriter) -> None:
        self.protocol = protocol
        self.request = request
        self.scope = scope
        self.writer = writer
        self.body: list[bytes] = []
        self.body_size = 0
        self.body_done = False
        self.disconnected = False
        self.response_done = False
        self.continue_sent = False
        self.discarding = False
        self.waiter: asyncio.Future[None] | None = None
        self.task: asyncio.Task[None] | None = None

    # -- events from the connection -----------------------------------------------------

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def feed_body(self, data: bytes) -> None:
        self.body.append(data)
        self.body_size += len(data)
        if self.body_size > self.protocol.config.flow_high_water:
            self.protocol.pause_reading()
        self._wake()

    def on_disconnect(self) -> None:
        self.disconnected = True
        self._wake()

    # -- the ASGI callables ---------------------------------------------------------------

    async def receive(self) -> Message:
        """www.rst, Request/Disconnect: body chunks as ``http.request`` events, then
        ``http.disconnect`` once the response is sent or the client is gone."""
        while True:
            if self.body or (self.body_done and self.body_size >= 0):
                if self.response_done or (self.disconnected and not self.body_done):
                    return dict(_DISCONNECT)
                body = self.body
                data = body[0] if len(body) == 1 else b"".join(body)
                self.body = []
                if self.body_done:
                    self.body_size = -1  # the final http.request has been handed out
                else:
                    self.body_size = 0
                    self.protocol.resume_reading()
                return {"type": "http.request", "body": data, "more_body": not self.body_done}
            if self.response_done or self.disconnected:
                return dict(_DISCONNECT)
            if (not self.body_done and not self.continue_sent
                    and self.request.expect_continue and not self.writer.head_sent):
                # RFC 9110 §10.1.1: the 100 goes out only when the app asks for the body,
                # so an app that refuses the upload never makes the client send it.
                self.continue_sent = True
                transport = self.protocol.transport
                if transport is not None and not self.protocol.closed:
                    transport.write(_CONTINUE)
            waiter = self.protocol.loop.create_future()
            self.waiter = waiter
            await waiter

    async def send(self, message: Message) -> None:
        protocol = self.protocol
        try:
            kind = message["type"]
        except (KeyError, TypeError):
            kind = event_type(message)  # raises the InvalidMessage that says why
        if self.disconnected or protocol.closed:
            if self.response_done:
                return
            raise ClientDisconnected("the client closed the connection")
        writer = self.writer
        if self.response_done and kind.startswith("http.response."):
            # www.rst: after the final body "any further messages on the channel will be
            # ignored".
            return
        try:
            if kind == "http.response.body":
                if (self.request.expect_continue and not self.continue_sent
                        and not self.body_done and not writer.head_sent):
                    # RFC 9110 §10.1.1: answering before the 100 leaves the client free
                    # to send the body or not; the connection cannot be reused safely.
                    writer.keep_alive = False
                data = writer.body(message.get("body", b""), message.get("more_body", False))
            elif kind == "http.response.start":
                writer.start(message["status"], message.get("headers", ()),
                             message.get("trailers", False))
                return
            elif kind == "http.response.trailers":
                data = writer.trailers(message.get("headers", ()),
                                       message.get("more_trailers", False))
            elif kind == "http.response.pathsend":
                await self._pathsend(message)
                return
            elif kind == "http.response.zerocopysend" and _HAS_SENDFILE:
                await self._zerocopysend(message)
                return
            elif kind == "http.response.early_hint":
                data = writer.early_hint(message.get("links", ()))
            else:
                raise InvalidMessage(f"unexpected ASGI event {kind!r} on an http connection")
        except KeyError as exc:
            raise InvalidMessage(f"{kind} event is missing the {exc} key") from None
        except LocalProtocolError as exc:
            raise InvalidMessage(str(exc)) from None
        transport = protocol.transport
        assert transport is not None
        if data:
            transport.write(data)
        if writer.complete and not writer.trailers_pending:  # not writer.expects_more
            self.response_done = True
            if self.waiter is not None:
                self._wake()
            protocol.response_complete(self)
        elif protocol.writing_paused:
            await protocol.drain()
            if self._gone():
                raise ClientDisconnected("the client closed the connection")

    def _gone(self) -> bool:
        """The connection closed under a response still in progress (re-read after an
        await: the state changes while the app waits)."""
        return self.protocol.closed and not self.response_done

    async def _write_body(self, data: bytes, more_body: bool) -> None:
        await self.send({"type": "http.response.body", "body": data, "more_body": more_body})

    async def _pathsend(self, message: Message) -> None:
        """extensions.rst, Path Send: the file's bytes as the (whole) body."""
        path = message.get("path")
        if type(path) is not str or not os.path.isabs(path):
            raise InvalidMessage("http.response.pathsend needs an absolute 'path' str")
        if self.writer.head_sent:
            raise InvalidMessage("http.response.pathsend cannot be mixed with body events")
        loop = self.protocol.loop
        with open(path, "rb") as handle:
            while True:
                chunk = await loop.run_in_executor(None, handle.read, _FILE_CHUNK)
                if not chunk:
                    break
                await self._write_body(chunk, True)
                if self.disconnected:
                    return
        await self._write_body(b"", False)

    async def _zerocopysend(self, message: Message) -> None:
        """extensions.rst, Zero Copy Send: ``file`` from ``offset`` for ``count`` bytes.

        The bytes go through the transport (which may use the kernel's sendfile); the
        framing stays ours, so a zero-copy body is counted like any other."""
        handle = message.get("file")
        try:
            fd = handle.fileno()  # type: ignore[union-attr]
        except (AttributeError, OSError, ValueError) as exc:
            raise InvalidMessage("http.response.zerocopysend needs a real file") from exc
        offset = message.get("offset")
        count = message.get("count")
        more_body = bool(message.get("more_body", False))
        position = os.lseek(fd, 0, os.SEEK_CUR) if offset is None else int(offset)
        remaining = None if count is None else int(count)
        loop = self.protocol.loop
        while remaining is None or remaining > 0:
            size = _FILE_CHUNK if remaining is None else min(_FILE_CHUNK, remaining)
            chunk = await loop.run_in_executor(None, os.pread, fd, size, position)
            if not chunk:
                break
            position += len(chunk)
            if remaining is not None:
                remaining -= len(chunk)
            await self._write_body(chunk, True)
            if self.disconnected:
                return
        if offset is None:
            os.lseek(fd, position, os.SEEK_SET)
        if not more_body:
            await self._write_body(b"", False)

    # -- running the application -----------------------------------------------------------

    async def run(self) -> None:
        state = self.protocol.state
        try:
            app: Any = state.app
            result = await app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            # Raised by our own send() and let through by the app: not a crash
            # (asgi.rst: "an error class that the server catches and ignores").
            return
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                self._abort()
                raise
            state.error_log.error("Exception in ASGI application", exc_info=exc)
            self._abort()
            return
        finally:
            # Cheaper than a done-callback per request (one loop callback less).
            if self.task is not None:
                state.tasks.discard(self.task)
        if result is not None:
            state.error_log.warning("ASGI callable returned a value instead of None: %r",
                                    result)
        if not self.response_done and not self.disconnected:
            if self.writer.head_sent:
                state.error_log.error("ASGI callable returned without completing the response")
            else:
                state.error_log.error("ASGI callable returned without sending a response")
            self._abort()

    def _abort(self) -> None:
        """asgi.rst (Error Handling): the server "must terminate the application instance
        and its associated connection". If nothing reached the wire the client still
        learns what happened: 500."""
        protocol = self.protocol
        if self.response_done or protocol.closed:
            return
        self.response_done = True
        if not self.writer.head_sent and protocol.transport is not None:
            protocol.transport.write(error_response(500, "Internal Server Error",
                                                    protocol.state.server_header))
        if protocol.cycle is self:
            protocol.cycle = None
        protocol._close()
