"""The HTTP/2 transport: socket bytes → the sans-I/O :class:`~reference_server.http2.
H2Protocol` → one ASGI mapping per stream.

An :class:`H2Connection` takes a socket over from the HTTP/1.1 connection that accepted
it, in one of three ways (RFC 9113 §3): TLS that negotiated ``h2`` by ALPN; a plaintext
connection whose first bytes are the connection preface ("prior knowledge", §3.3); or an
HTTP/1.1 request with ``Upgrade: h2c`` (RFC 7540 §3.2, answered 101, its request served
as stream 1). From then on this class does only asyncio's part: it feeds the core, turns
its events into calls on the streams' mappings (:mod:`.h2_stream`), and writes what the
core has to send, once per event-loop iteration (a burst of streams answered together is
one write).

Shutdown (§6.8): GOAWAY with the last stream id; the streams in flight finish (within
``timeout_graceful_shutdown``, the server's drain loop); then the connection closes. An
idle connection (no stream) closes after ``timeout_keep_alive`` with GOAWAY NO_ERROR.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..http2 import frames
from ..http2.connection import (
    ConnectionTerminated,
    DataReceived,
    GoAwayReceived,
    H2ConnectionError,
    H2Protocol,
    RequestReceived,
    StreamEnded,
    StreamReset,
    WindowOpened,
)
from ..http2.fields import RequestHead, ResponseHead, encode, response_head
from ..websocket import HandshakeError
from ..websocket.deflate import negotiate_deflate
from ..websocket.handshake import parse_h2_offer
from .flow import FlowControl
from .h2_stream import H2Stream, H2StreamBase, H2WebSocketStream, ObservedH2Stream
from .http_cycle import RequestCycle
from .scope import METHODS, ConnectionFacts, build_scope, decode_path, request_target
from .ws_session import WebSocketSession

if TYPE_CHECKING:
    from ..state import ServerState


class H2Connection(FlowControl):
    """One HTTP/2 connection and its streams."""

    def __init__(self, state: ServerState, transport: asyncio.BaseTransport,
                 facts: ConnectionFacts) -> None:
        super().__init__(state, transport)
        config = state.config
        self.config = config
        self.facts = facts
        self.core = H2Protocol(config.h2_limits, self.loop.time,
                               connect_protocol=config.ws != "none")
        self.streams: dict[int, H2StreamBase] = {}
        self._flush_scheduled = False
        self._unflushed = 0
        self._high_water = config.flow_high_water
        self._access = state.access_log.isEnabledFor(20)
        #: With an observer (observe.py) streams stamp and count, and it logs.
        self._stream_class = H2Stream
        if state.observer is not None:
            self._stream_class = ObservedH2Stream
            self._access = False
        self._date_value = b""
        self._date_field = b""
        server = config.server_header
        self._server_field = encode([(b"server", server.encode("latin-1"))]) if server \
            else b""
        body = b"Internal Server Error\n"
        self.error_head = response_head(500, [(b"content-type", b"text/plain; charset=utf-8"),
                                              (b"content-length", b"%d" % len(body))])
        self.error_body = body
        self._idle_timer: asyncio.TimerHandle | None = None
        self._idle_deadline = 0.0
        #: The http extensions of this connection's scopes: the HTTP/1.1 set, and server
        #: push while the client allows it (extensions.rst, "HTTP/2 Server Push").
        self._extensions = dict(facts.http_extensions)

    # -- taking the socket over ---------------------------------------------------------------

    def start(self, data: bytes = b"", upgrade: tuple[bytes, RequestHead] | None = None,
              ) -> H2Stream | None:
        """Send our preface, then read what already arrived. ``upgrade``: the client came
        through ``Upgrade: h2c`` with these HTTP2-Settings, and its request (whose 101
        went out) is stream 1, returned for its cycle."""
        self.state.connections.add(self)
        self.core.initiate()
        stream = None
        if upgrade is not None:
            settings, head = upgrade
            try:
                self.core.upgrade(settings)
            except H2ConnectionError as exc:
                # HTTP2-Settings with a value SETTINGS may not carry: the connection
                # error it would be in a SETTINGS frame (RFC 9113 §6.5.2).
                self.core.terminate(exc.code, exc.reason)
                self.flush()
                self.close()
                return None
            stream = self._stream_class(self, 1, head)
            self.streams[1] = stream
        else:
            self._arm_idle()
        if data:
            self.data_received(data)
        else:
            self.flush()
        return stream

    # -- asyncio callbacks ---------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        events = self.core.receive(data)
        streams = self.streams
        for event in events:
            kind = type(event)
            if kind is RequestReceived:
                self._request(event)  # type: ignore[arg-type]
            elif kind is DataReceived:
                stream = streams.get(event.stream_id)  # type: ignore[union-attr]
                if stream is not None:
                    stream.data(event.data, event.flow)  # type: ignore[union-attr, attr-defined]
                else:
                    self.core.consumed(event.stream_id, event.flow)  # type: ignore[union-attr]
            elif kind is StreamEnded:
                stream = streams.get(event.stream_id)  # type: ignore[union-attr]
                if stream is not None:
                    stream.end()  # type: ignore[attr-defined]
            elif kind is StreamReset:
                stream = streams.pop(event.stream_id, None)  # type: ignore[union-attr]
                if stream is not None:
                    stream.stream_lost()
                    self._maybe_idle()
            elif kind is WindowOpened:
                sid = event.stream_id  # type: ignore[union-attr]
                if sid:
                    stream = streams.get(sid)
                    if stream is not None:
                        stream.window_opened()
                else:
                    for stream in list(streams.values()):
                        stream.window_opened()
            elif kind is GoAwayReceived:
                if not streams:
                    self.flush()
                    self.close()
                    return
            elif kind is ConnectionTerminated:
                if self.state.observer is not None:
                    self.state.observer.protocol_error(
                        "h2_" + frames.ERROR_NAMES.get(event.code, "UNKNOWN"))  # type: ignore[union-attr]
                self.flush()
                self._lose_streams()
                self.close()
                return
        self.flush()

    def pause_writing(self) -> None:
        """The client is not reading: stop reading it too, so that it cannot make us
        answer (and buffer) more requests, PING ACKs or SETTINGS ACKs meanwhile (the
        HTTP/1.1 connection gets the same from serving one request at a time)."""
        super().pause_writing()
        if not self.closed:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        super().resume_writing()
        if not self.closed:
            self.transport.resume_reading()

    def eof_received(self) -> bool | None:
        # The client stopped sending: like HTTP/1.1, the client is gone.
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._cancel_idle()
        self._lose_streams()
        super().connection_lost(exc)

    def _lose_streams(self) -> None:
        streams = list(self.streams.values())
        self.streams.clear()
        for stream in streams:
            stream.stream_lost()

    def shutdown(self) -> None:
        """Graceful shutdown: GOAWAY, WebSocket sessions told (1001), in-flight streams
        finish; the connection closes when the last one is done."""
        self.core.graceful_goaway()
        for stream in list(self.streams.values()):
            if isinstance(stream, H2WebSocketStream):
                stream.shutdown()
        self.flush()
        if not self.streams:
            self.close()

    # -- writing -------------------------------------------------------------------------------

    def schedule_flush(self, size: int = 0) -> None:
        """Write what the core has queued at the end of this loop iteration (streams
        answered together go out in one write), or now when ``size`` more bytes make it
        more than the write buffer's high-water mark: an application sending in a loop
        that never yields would otherwise queue without bound before
        :attr:`writing_paused` could tell it to wait (CVE-2019-9517)."""
        self._unflushed += size
        if self._unflushed > self._high_water:
            self.flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        self._flush_scheduled = False
        self._unflushed = 0
        data = self.core.data_to_send()
        if data and not self.closed:
            self.transport.write(data)

    # -- what the streams ask of the connection ----------------------------------------------------

    def head_extra(self, head: ResponseHead) -> bytes:
        """The Date and Server fields the server adds to a response head."""
        extra = b""
        date = self.state.response_date
        if date is not None and not head.has_date:
            value = date.value()
            if value != self._date_value:
                self._date_value = value
                self._date_field = encode([(b"date", value)])
            extra = self._date_field
        if self._server_field and not head.has_server:
            extra += self._server_field
        return extra

    def stream_done(self, stream: H2StreamBase) -> None:
        """The stream's response has gone out whole: forget it. A client still sending
        its request is told to stop (RST_STREAM NO_ERROR, RFC 9113 §8.1)."""
        sid = stream.stream_id
        if self.streams.get(sid) is stream:
            del self.streams[sid]
            if sid in self.core.streams:
                self.core.reset(sid, frames.NO_ERROR)
            self.schedule_flush()
            self._maybe_idle()

    def reset_stream(self, stream: H2StreamBase, code: int) -> None:
        """End a stream now with RST_STREAM ``code``."""
        sid = stream.stream_id
        if self.streams.get(sid) is stream:
            del self.streams[sid]
        self.core.reset(sid, code)
        stream.stream_lost()
        self.schedule_flush()
        self._maybe_idle()

    def log_access(self, stream: H2Stream) -> None:
        if self._access and stream.cycle is not None:
            scope = stream.cycle.scope
            client = scope["client"]
            self.state.access_log.info(
                '%s - "%s %s HTTP/2" %d', f"{client[0]}:{client[1]}" if client else "-",
                scope["method"], request_target(scope), stream.status)

    # -- idle connections ------------------------------------------------------------------------

    def _arm_idle(self) -> None:
        self._idle_deadline = self.loop.time() + self.config.timeout_keep_alive
        if self._idle_timer is None:
            self._idle_timer = self.loop.call_at(self._idle_deadline, self._on_idle)

    def _maybe_idle(self) -> None:
        if not self.streams:
            if self.core.goaway_sent or self.core.goaway_received:
                self.flush()
                self.close()
            else:
                self._arm_idle()

    def _cancel_idle(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def _on_idle(self) -> None:
        self._idle_timer = None
        if self.closed or self.streams:
            return
        if self.loop.time() < self._idle_deadline:
            self._idle_timer = self.loop.call_at(self._idle_deadline, self._on_idle)
            return
        self.core.graceful_goaway()
        self.flush()
        self.close()

    # -- a new stream ------------------------------------------------------------------------------

    def _request(self, event: RequestReceived) -> None:
        head = event.head
        sid = event.stream_id
        if head.method == b"CONNECT" and head.protocol is not None:
            self._extended_connect(sid, head, event.end_stream)
            return
        self._serve(sid, head, event.end_stream)

    def _serve(self, sid: int, head: RequestHead, end_stream: bool) -> None:
        """Run a request's cycle on stream ``sid``."""
        state = self.state
        stream = self._stream_class(self, sid, head)
        self.streams[sid] = stream
        if head.method == b"CONNECT":
            raw_path, query = b"", b""
        else:
            raw_path, _, query = head.path.partition(b"?")
        try:
            path = decode_path(raw_path)
        except UnicodeDecodeError:
            stream.send_start(400, [(b"content-type", b"text/plain; charset=utf-8")], False)
            stream.send_body(b"path is not UTF-8\n", False)
            return
        scope = build_scope("http", state, self.facts, "2",
                            METHODS.get(head.method) or head.method.decode("ascii"), path,
                            raw_path, query, head.fields, head.fields)
        if self.core.peer_push:
            scope["extensions"]["http.response.push"] = {}
        cycle = stream.cycle = RequestCycle(state, stream, scope)
        if end_stream:
            cycle.body_done = True
        cycle.start()

    def push(self, parent: H2Stream, path: bytes, fields: list[tuple[bytes, bytes]]) -> None:
        """A server push from ``parent``'s application (extensions.rst): PUSH_PROMISE with
        the parent's ``:scheme`` and ``:authority``, then the promised request served by a
        new application instance as if the client had sent it."""
        request = parent.request
        scheme = request.scheme or self.facts.scheme.encode("ascii")
        authority = request.authority
        if authority is None:
            authority = next((v for n, v in request.fields if n == b"host"), b"")
        block = encode([(b":method", b"GET"), (b":scheme", scheme),
                        (b":authority", authority), (b":path", path), *fields])
        promised = self.core.push(parent.stream_id, block)
        if promised is None:
            return
        head = RequestHead()
        head.method = b"GET"
        head.scheme = scheme
        head.authority = authority
        head.path = path
        head.fields = [(b"host", authority), *fields]
        self._serve(promised, head, True)
        self.schedule_flush()

    def _extended_connect(self, sid: int, head: RequestHead, end_stream: bool) -> None:
        """RFC 8441 §4: a WebSocket over this stream, as the same session the HTTP/1.1
        upgrade runs."""
        state = self.state
        stream = H2WebSocketStream(self, sid)
        self.streams[sid] = stream
        try:
            if head.protocol != b"websocket":
                raise HandshakeError(501, f"unknown :protocol {head.protocol!r}")
            if end_stream:
                raise HandshakeError(400, "an extended CONNECT cannot end the stream")
            offer = parse_h2_offer(head.fields)
        except HandshakeError as exc:
            stream.reject(exc.status)
            return
        raw_path, _, query = head.path.partition(b"?")
        try:
            path = decode_path(raw_path)
        except UnicodeDecodeError:
            stream.reject(400)
            return
        deflate = negotiate_deflate(offer.extensions, state.deflate_config) \
            if self.config.ws_per_message_deflate else None
        scope = build_scope("websocket", state, self.facts, "2", None, path, raw_path, query,
                            head.fields, head.fields, offer.subprotocols)
        session = stream.session = WebSocketSession(state, stream, scope, offer.subprotocols,
                                                    deflate, b"")
        session.start()


__all__ = ["H2Connection", "RequestCycle"]
