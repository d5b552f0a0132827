"""The HTTP/1.1 transport: socket bytes → sans-I/O parser → one request cycle at a time.

:class:`H11Connection` owns one TCP (or TLS) connection. It feeds the
:class:`~reference_server.http11.RequestParser`, builds each request's scope
(:func:`~.scope.build_scope`) and runs it as a :class:`~.http_cycle.RequestCycle`, for
which it is the :class:`~.transport.HTTPTransport`: it frames the cycle's response
events with a :class:`~reference_server.http11.response.ResponseWriter`. Requests are
served strictly one after another: the parser is paused after each request until its
response is complete, which keeps pipelined responses in order (RFC 9112 §9.3.2) and
bounds what a client can make us buffer.

What is HTTP/1.1's own and lives here rather than in the cycle: ``Expect:
100-continue`` (RFC 9110 §10.1.1), connection reuse (keep-alive, reading and dropping an
unread body so the next request can be parsed), errors answered before any cycle runs
(400, 408, 413, 414, 431, 501, 505, 503 over ``--limit-concurrency``), and the upgrade
to WebSocket (RFC 6455 §4.2), after which :class:`~.h11_websocket.H11WebSocketTransport`
takes the socket over.

Timers: a request head must arrive within ``timeout_request_head`` (slowloris bound;
408 if part of a head came), an idle keep-alive connection closes after
``timeout_keep_alive``. One timer handle per connection, re-armed per phase.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import TYPE_CHECKING, Any, cast

from ..http2.fields import RequestHead
from ..http2.frames import PREFACE
from ..http11 import (
    PAUSED,
    Data,
    EndOfMessage,
    LocalProtocolError,
    ProtocolError,
    Request,
    RequestParser,
)
from ..http11.grammar import list_tokens
from ..http11.response import ResponseWriter
from ..websocket import HandshakeError, is_websocket_upgrade, parse_offer
from ..websocket.deflate import negotiate_deflate
from .flow import FlowControl
from .h2_connection import H2Connection
from .h11_websocket import H11WebSocketTransport
from .http_cycle import RequestCycle
from .scope import METHODS, ConnectionFacts, build_scope, decode_path
from .ws_session import WebSocketSession

if TYPE_CHECKING:
    from ..state import ServerState

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_SWITCH_H2C = b"HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: h2c\r\n\r\n"
#: Most request-body bytes discarded after a response so the connection can be reused;
#: beyond this closing is cheaper than reading.
_MAX_DISCARD = 1024 * 1024

# Timer phases.
_NO_TIMER, _HEAD, _IDLE = 0, 1, 2


class H11Connection(FlowControl):
    """One HTTP/1.1 connection; the :class:`~.transport.HTTPTransport` of its current
    request cycle."""

    def __init__(self, state: ServerState) -> None:
        super().__init__(state)
        self.config = config = state.config
        self.parser = RequestParser(config.limits)
        self.facts: ConnectionFacts | None = None
        #: The request being served and its cycle.
        self.cycle: RequestCycle | None = None
        self.request: Request | None = None
        #: Frames the current response (reset per request).
        self.writer = ResponseWriter(b"GET", b"1.1", False, False, state.server_header,
                                     state.response_date)
        #: A 100 Continue was sent for the current request.
        self._continue_sent = False
        #: The current response is complete and the rest of its body is being dropped.
        self._discarding = False
        self._discarded = 0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_phase = _NO_TIMER
        self._deadline = 0.0
        #: When the timer handle fires (``_timer.when()``, kept to avoid the call).
        self._timer_when = 0.0
        self._access = False
        self._ws = config.ws != "none"
        #: The first bytes have not been seen yet: they may be the HTTP/2 preface (prior
        #: knowledge, RFC 9113 §3.3), on a plaintext connection. What arrived of a
        #: preface split over reads waits in ``_h2_start``.
        self._h2_fresh = config.http2
        self._h2_start = b""

    # -- connection lifetime -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        state = self.state
        state.connections.add(self)
        self.facts = ConnectionFacts(transport, state)
        self.transport.set_write_buffer_limits(high=self.config.flow_high_water)
        over_limit = state.config.limit_concurrency is not None and \
            len(state.connections) > state.config.limit_concurrency
        if self._h2_fresh and self.facts.scheme == "https":
            # TLS: ALPN decides (RFC 9113 §3.2), prior knowledge is for cleartext.
            self._h2_fresh = False
            ssl_object = transport.get_extra_info("ssl_object")
            if ssl_object is not None and ssl_object.selected_alpn_protocol() == "h2":
                if over_limit:
                    self.close()  # no HTTP/1.1 503 on a connection that agreed on h2
                else:
                    self._switch_to_h2(b"")
                return
        self._access = state.access_log.isEnabledFor(20)
        if over_limit:
            self.transport.write(state.error_response(503, "Service Unavailable"))
            self.close()
            return
        self._arm(_HEAD, self.config.timeout_request_head)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._cancel_timer()
        cycle = self.cycle
        if cycle is not None:
            cycle.on_disconnect()
        super().connection_lost(exc)

    def eof_received(self) -> bool | None:
        # The client stopped sending. Like uvicorn and hypercorn we take it as the client
        # leaving: the transport closes, a waiting receive() gets http.disconnect and a
        # later send() raises ClientDisconnected. Returning None closes the transport.
        self.parser.feed(b"")
        return None

    def close(self) -> None:
        if not self.closed:
            self._cancel_timer()
        super().close()

    def shutdown(self) -> None:
        """Graceful shutdown: idle connections close now (unless the worker is retiring),
        busy ones after the response in progress (their writer no longer keeps the
        connection alive)."""
        if self.cycle is not None:
            self.writer.keep_alive = False
        elif not self.state.retiring:
            self.close()
        # Retiring (a worker replaced after --limit-max-requests or SIGHUP): an idle
        # connection stays until its next request, answered with Connection: close, or
        # its head/keep-alive timer; closing it now would drop a request the client may
        # be sending (one it accepted just before the listener closed, or a keep-alive
        # request crossing our FIN).

    # -- timers --------------------------------------------------------------------------

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
        if phase == _HEAD and self.parser.buffered:
            # RFC 9110 §15.5.9: 408 tells a client that started a request too slowly
            # that we closed on purpose.
            self.transport.write(self.state.error_response(408, "Request Timeout"))
        self.close()

    # -- parsing ---------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._h2_fresh:
            data = self._h2_start + data
            if len(data) < 4 and PREFACE.startswith(data):
                self._h2_start = data  # too short to tell
                return
            self._h2_fresh = False
            if data[:4] == b"PRI ":
                self._switch_to_h2(data)
                return
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
                    if self._discarding:
                        self._next_cycle()
                        continue
                    cycle.end_body()
                # The parser is paused now (it says PAUSED until start_next_cycle()):
                # do what PAUSED asks without asking for it.
                if parser.buffered > self.config.flow_high_water:
                    self.pause_reading()
                return
            elif kind is Data:
                cycle = self.cycle
                data = event.data  # type: ignore[union-attr]
                if cycle is not None and not self._discarding:
                    cycle.feed_body(data)
                else:
                    self._discarded += len(data)
                    if self._discarded > _MAX_DISCARD:
                        self.close()
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
            if self.head_sent:
                self.close()
                return
        if not self.closed and exc.status:
            self.transport.write(self.state.error_response(exc.status, exc.reason))
        self.close()

    def _on_request(self, request: Request) -> None:
        self._timer_phase = _NO_TIMER
        self._discarded = 0
        raw_path = request.raw_path
        try:
            # decode_path's common case inlined (one call less per request).
            path = decode_path(raw_path) if b"%" in raw_path else raw_path.decode("ascii")
        except UnicodeDecodeError:
            self._protocol_error(ProtocolError(400, "path is not UTF-8"))
            return
        if request.upgrade is not None:
            if self._ws and is_websocket_upgrade(request.upgrade):
                self._upgrade(request, path)
                return
            if self.config.h2c_upgrade and self._h2c_upgrade(request, path):
                return
        state = self.state
        facts = self.facts
        assert facts is not None
        scope = build_scope(
            "http", state, facts, "1.1" if request.http_version == b"1.1" else "1.0",
            METHODS.get(request.method) or request.method.decode("ascii"), path,
            raw_path, request.query_string, request.headers, request.notable)
        self.request = request
        self.writer.reset(request.method, request.http_version,
                          request.keep_alive and not state.shutting_down, request.te_trailers)
        self._continue_sent = False
        self._discarding = False
        cycle = self.cycle = RequestCycle(state, self, scope)
        # AppInstance.start(), inlined: run() takes its task out of state.tasks itself.
        task = cycle.task = self.loop.create_task(cycle.run())
        state.tasks.add(task)

    def _next_cycle(self) -> None:
        self.cycle = None
        parser = self.parser
        buffered = parser.start_next_cycle()
        if self.reading_paused:
            self.resume_reading()
        if buffered:
            self._parse()
            if self.cycle is None and not self.closed:
                if parser.buffered:
                    # Part of the next head is here: the head deadline runs from now.
                    self._arm(_HEAD, self.config.timeout_request_head)
                else:
                    self._arm(_IDLE, self.config.timeout_keep_alive)
        elif not self.closed:
            self._arm(_IDLE, self.config.timeout_keep_alive)

    # -- the HTTPTransport of the current cycle ----------------------------------------------

    @property
    def head_sent(self) -> bool:
        return self.writer.head_sent

    def want_body(self) -> None:
        request = self.request
        if (request is not None and request.expect_continue and not self._continue_sent
                and not self.head_sent):
            # RFC 9110 §10.1.1: the 100 goes out only when the app asks for the body,
            # so an app that refuses the upload never makes the client send it.
            self._continue_sent = True
            if not self.closed:
                self.transport.write(_CONTINUE)

    def send_start(self, status: Any, headers: Any, trailers: Any) -> None:
        self.writer.start(status, headers, trailers)

    def send_body(self, data: Any, more_body: Any) -> bool:
        writer = self.writer
        request = self.request
        assert request is not None
        if request.expect_continue and not self._continue_sent and not writer.head_sent:
            cycle = self.cycle
            if cycle is not None and not cycle.body_done:
                # RFC 9110 §10.1.1: answering before the 100 leaves the client free to
                # send the body or not; the connection cannot be reused safely.
                writer.keep_alive = False
        data = writer.body(data, more_body)
        if data:
            self.transport.write(data)
        return writer.complete and not writer.trailers_pending

    def send_trailers(self, headers: Any, more_trailers: Any) -> bool:
        writer = self.writer
        data = writer.trailers(headers, more_trailers)
        if data:
            self.transport.write(data)
        return writer.complete and not writer.trailers_pending

    def send_early_hint(self, links: Any) -> None:
        data = self.writer.early_hint(links)
        if data:
            self.transport.write(data)

    def send_push(self, path: Any, headers: Any) -> None:
        raise LocalProtocolError("http.response.push needs HTTP/2 (it is not in this "
                                 "scope's extensions)")

    def finish_response(self) -> None:
        """The current response is on the wire: log it, then reuse or close."""
        cycle = self.cycle
        writer = self.writer
        request = self.request
        assert cycle is not None and request is not None
        if self._access:
            scope = cycle.scope
            client = scope["client"]
            self.state.access_log.info(
                '%s - "%s %s HTTP/%s" %d', f"{client[0]}:{client[1]}" if client else "-",
                scope["method"], request.target.decode("latin-1"), scope["http_version"],
                writer.status)
        if self.closed:
            return
        if not writer.keep_alive or self.state.shutting_down:
            self.close()
        elif cycle.body_done:
            self._next_cycle()
        elif request.expect_continue and not self._continue_sent:
            # The client may be holding the body back for our 100; it cannot know the
            # body is no longer wanted (RFC 9110 §10.1.1): close instead of guessing.
            self.close()
        else:
            # Read and drop the rest of the body so the connection can be reused.
            self._discarding = True
            self.resume_reading()

    def abort_response(self) -> None:
        """If nothing reached the wire the client still learns what happened: 500."""
        if not self.head_sent:
            self.transport.write(self.state.error_response(500, "Internal Server Error"))
        self.cycle = None
        self.close()

    # -- the upgrade to WebSocket -----------------------------------------------------------

    def _upgrade(self, request: Request, path: str) -> None:
        """RFC 6455 §4.2.1: check the opening handshake, then hand the connection over to
        an :class:`H11WebSocketTransport` running a ``websocket`` scope (www.rst,
        WebSocket). An invalid handshake gets its error status and the connection
        closes."""
        state = self.state
        try:
            if request.content_length or request.chunked:
                raise HandshakeError(400, "a WebSocket opening handshake has no body")
            offer = parse_offer(request.method, request.http_version, request.headers)
        except HandshakeError as exc:
            extra = b"".join(name + b": " + value + b"\r\n" for name, value in exc.headers)
            if exc.status == 426:
                # RFC 9110 §15.5.22: a 426 MUST carry the Upgrade the server wants.
                extra += b"upgrade: websocket\r\n"
            self.transport.write(state.error_response(exc.status, exc.reason, extra))
            self.close()
            return
        deflate = negotiate_deflate(offer.extensions, state.deflate_config) \
            if self.config.ws_per_message_deflate else None
        # The handshake has no body: the parser's next event ends the request, and
        # what follows the head already belongs to the WebSocket protocol.
        self.parser.next_event()
        early = self.parser.take_trailing_data()
        assert self.facts is not None
        scope = build_scope("websocket", state, self.facts, "1.1", None, path,
                            request.raw_path, request.query_string, request.headers,
                            request.notable, offer.subprotocols)
        ws = H11WebSocketTransport(state, self.transport, offer.key)
        ws.reading_paused = self.reading_paused
        session = ws.session = WebSocketSession(state, ws, scope, offer.subprotocols,
                                                deflate, early)
        # This connection is done with the transport: from now on it talks to ``ws``.
        self.closed = True
        self._cancel_timer()
        state.connections.discard(self)
        state.connections.add(ws)
        self.transport.set_protocol(ws)
        session.start()

    # -- HTTP/2 ----------------------------------------------------------------------------------

    def _hand_over(self) -> None:
        """This connection is done with the transport (another protocol takes it)."""
        self.closed = True
        self._cancel_timer()
        self.state.connections.discard(self)

    def _switch_to_h2(self, data: bytes) -> H2Connection:
        """HTTP/2 from the first byte (ALPN h2, or the preface on cleartext)."""
        self._hand_over()
        assert self.facts is not None
        conn = H2Connection(self.state, self.transport, self.facts)
        self.transport.set_protocol(conn)
        conn.start(data)
        return conn

    def _h2c_upgrade(self, request: Request, path: str) -> bool:
        """RFC 7540 §3.2: ``Upgrade: h2c`` with one HTTP2-Settings (base64url of a SETTINGS
        payload) on a plaintext request without a body: 101, then the response comes as
        stream 1 of the HTTP/2 connection. Anything else is served as HTTP/1.1 (the
        Upgrade is an offer, RFC 9110 §7.8)."""
        assert self.facts is not None
        upgrade = request.upgrade or b""
        if (self.facts.scheme != "http" or request.content_length or request.chunked
                or b"h2c" not in list_tokens(upgrade)):
            return False
        values = [v for n, v in request.headers if n == b"http2-settings"]
        if len(values) != 1:
            return False
        try:
            settings = base64.urlsafe_b64decode(values[0] + b"=" * (-len(values[0]) % 4))
        except (binascii.Error, ValueError):
            return False
        if len(settings) % 6:
            return False
        self.parser.next_event()  # the EndOfMessage of a request without a body
        early = self.parser.take_trailing_data()
        self.transport.write(_SWITCH_H2C)
        state = self.state
        self._hand_over()
        conn = H2Connection(state, self.transport, self.facts)
        self.transport.set_protocol(conn)
        head = RequestHead()
        head.method = request.method
        head.te_trailers = request.te_trailers
        stream = conn.start(b"", (settings, head))
        if stream is None:
            return True  # invalid HTTP2-Settings: GOAWAY went out, the connection closes
        scope = build_scope(
            "http", state, self.facts, "2",
            METHODS.get(request.method) or request.method.decode("ascii"), path,
            request.raw_path, request.query_string, request.headers, request.notable)
        cycle = stream.cycle = RequestCycle(state, stream, scope)
        cycle.body_done = True
        cycle.start()
        if early:
            conn.data_received(early)
        return True


class ObservedH11Connection(H11Connection):
    """An :class:`H11Connection` that stamps each request's start and counts its body
    bytes for the server's :class:`~reference_server.observe.Observer`, which writes the
    access line (``--access-log-format``), counts the request against
    ``--limit-max-requests`` and into the metrics. The server only uses this class when
    it has an observer, so the plain path pays nothing for these features."""

    def __init__(self, state: ServerState) -> None:
        super().__init__(state)
        self._started = 0.0
        self._sent = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._access = False  # the observer writes the line

    def _on_request(self, request: Request) -> None:
        self._started = self.loop.time()
        self._sent = 0
        super()._on_request(request)

    def send_body(self, data: Any, more_body: Any) -> bool:
        done = super().send_body(data, more_body)
        self._sent += len(data)
        return done

    def finish_response(self) -> None:
        cycle = self.cycle
        request = self.request
        observer = self.state.observer
        if cycle is not None and request is not None and observer is not None:
            scope = cycle.scope
            observer.request_done(scope["client"], scope["method"],
                                  request.target.decode("latin-1"), scope["http_version"],
                                  self.writer.status, self.loop.time() - self._started,
                                  self._sent)
        super().finish_response()

    def abort_response(self) -> None:
        observer = self.state.observer
        if observer is not None and self.cycle is not None:
            observer.request_failed(self.writer.status if self.head_sent else 500,
                                    self.loop.time() - self._started)
        super().abort_response()

    def _protocol_error(self, exc: ProtocolError) -> None:
        observer = self.state.observer
        if observer is not None:
            observer.protocol_error(f"http1_{exc.status}" if exc.status else "http1_close")
        super()._protocol_error(exc)
