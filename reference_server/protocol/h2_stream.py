"""An HTTP/2 stream as the transport of one ASGI mapping (RFC 9113 §8; www.rst).

:class:`H2Stream` is the :class:`~.transport.HTTPTransport` of one
:class:`~.http_cycle.RequestCycle`, and :class:`H2WebSocketStream` the
:class:`~.transport.WebSocketTransport` of one :class:`~.ws_session.WebSocketSession`
after an extended CONNECT (RFC 8441): the same mappings the HTTP/1.1 connection runs, so
every ASGI rule (event order, ``http.disconnect``, send after the end raising
``ClientDisconnected``, the app's failure answered with 500 or 1011) is written once.
What is HTTP/2's own lives here: the response head as a HEADERS frame, the body as DATA
within the peer's flow-control windows, trailers as a final HEADERS (only to a client
that sent ``TE: trailers``), 100 and 103 as informational HEADERS, the end of the
stream (END_STREAM, or RST_STREAM when the response cannot end well).

Flow control: what the windows do not let out waits here, one application message at a
time at most, since ``send()`` awaits :meth:`H2StreamBase.drain` while anything waits;
request body credit goes back to the client as the application consumes the body
(:meth:`H2Stream.resume_reading`), so an application that does not read stops its
client and never buffers more than the stream's window.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ..asgi import ClientDisconnected
from ..http2 import frames
from ..http2.fields import (
    CONNECTION_SPECIFIC,
    RequestHead,
    ResponseHead,
    encode,
    response_head,
    status_field,
    trailer_block,
)
from ..http11 import LocalProtocolError
from ..http11.grammar import check_fields, check_links
from .scope import request_target

if TYPE_CHECKING:
    from .h2_connection import H2Connection
    from .http_cycle import RequestCycle
    from .ws_session import WebSocketSession

_CONTINUE_BLOCK = status_field(100)


class H2StreamBase:
    """What both stream transports share: the stream id, the bytes the windows hold
    back, and the flow-control surface of :class:`~.transport.FlowSurface`."""

    def __init__(self, conn: H2Connection, stream_id: int) -> None:
        self.conn = conn
        self.core = conn.core
        self.loop = conn.loop
        self.stream_id = stream_id
        #: The stream is gone (reset, ended, or the connection closed).
        self.closed = False
        self.reading_paused = False
        #: Bytes the windows have not let out yet, and whether END_STREAM follows them.
        self._pending = b""
        self._pending_end = False
        self._waiters: list[asyncio.Future[None]] = []

    @property
    def writing_paused(self) -> bool:
        return bool(self._pending) or self.conn.writing_paused

    async def drain(self) -> None:
        """Wait until what this stream holds back has gone out and the socket takes more
        (or the stream is gone: callers re-check :attr:`closed`)."""
        while not self.closed and (self._pending or self.conn.writing_paused):
            if self._pending:
                waiter = self.loop.create_future()
                self._waiters.append(waiter)
                await waiter
            else:
                await self.conn.drain()

    def pause_reading(self) -> None:
        """Nothing to do: request body credit is given back only as it is consumed."""

    def resume_reading(self) -> None:
        """Overridden where body credit is owed."""

    def _release(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    def _send_data(self, data: bytes, end: bool) -> None:
        """DATA within the windows; what does not fit waits for :meth:`window_opened`."""
        if self._pending:
            self._pending += data
            self._pending_end = end
            return
        sent = self.core.send_data(self.stream_id, data, end)
        if sent < len(data):
            self._pending = data[sent:]
            self._pending_end = end
        self.conn.schedule_flush(sent)

    def window_opened(self) -> None:
        """The peer gave credit: send what waits."""
        pending = self._pending
        if not pending or self.closed:
            return
        sent = self.core.send_data(self.stream_id, pending, self._pending_end)
        if sent:
            self._pending = pending[sent:]
            self.conn.schedule_flush()
            if not self._pending:
                self._release()
                self._sent_all()

    def _sent_all(self) -> None:
        """Everything queued went out (END_STREAM included when it was asked for)."""

    def stream_lost(self) -> None:
        """The stream was reset or the connection is gone."""
        self.closed = True
        self._pending = b""
        self._release()


class H2Stream(H2StreamBase):
    """One request/response exchange over a stream; the transport of its cycle."""

    def __init__(self, conn: H2Connection, stream_id: int, head: RequestHead) -> None:
        super().__init__(conn, stream_id)
        self.request = head
        self.cycle: RequestCycle | None = None
        self._head: ResponseHead | None = None
        self.status = 0
        self.head_sent = False
        #: HEAD, 204, 304: the head ends the stream, body events are swallowed.
        self._no_body = False
        #: Bytes the declared Content-Length still expects (None: not declared).
        self._remaining: int | None = None
        #: The app announced trailers and has not sent them yet.
        self._trailers_owed = False
        #: ... and they go on the wire (the client sent TE: trailers, §8.1).
        self._trailers_on_wire = False
        self._trailer_block = b""
        #: The trailers wait for body bytes the windows hold back.
        self._trailers_waiting = False
        self._body_done = False
        #: The response is complete on the ASGI side.
        self.complete = False
        self._continue_sent = False
        #: Body credit the application consumed that has not been given back yet.
        self.unreturned = 0

    # -- events from the connection --------------------------------------------------------

    def data(self, data: bytes, flow: int) -> None:
        self.unreturned += flow
        assert self.cycle is not None
        self.cycle.feed_body(data)

    def end(self) -> None:
        assert self.cycle is not None
        self.cycle.end_body()

    def resume_reading(self) -> None:
        """The application consumed the body it was given: its credit goes back."""
        if self.unreturned and not self.closed:
            self.core.consumed(self.stream_id, self.unreturned)
            self.unreturned = 0
            self.conn.schedule_flush()

    def stream_lost(self) -> None:
        super().stream_lost()
        if self.cycle is not None:
            self.cycle.on_disconnect()

    def _sent_all(self) -> None:
        if self._trailers_waiting:
            self._trailers_waiting = False
            self.core.send_headers(self.stream_id, self._trailer_block, True)
        if self.complete:
            self.conn.stream_done(self)

    # -- the HTTPTransport of the cycle --------------------------------------------------------

    def want_body(self) -> None:
        """RFC 9110 §10.1.1 over h2: a 100 (an informational HEADERS) when the
        application asks for a body the client holds back."""
        if self.request.expect_continue and not self._continue_sent and not self.head_sent:
            self._continue_sent = True
            if not self.closed:
                self.core.send_headers(self.stream_id, _CONTINUE_BLOCK)
                self.conn.schedule_flush()

    def send_start(self, status: Any, headers: Any, trailers: Any) -> None:
        if self._head is not None:
            raise LocalProtocolError("http.response.start sent twice")
        if type(status) is not int:
            raise LocalProtocolError(f"status must be an int, got {type(status).__name__}")
        if not 200 <= status <= 599:
            raise LocalProtocolError(f"status {status} is not a final status (200-599)")
        head = response_head(status, headers)
        self._head = head
        self.status = status
        self._no_body = self.request.method == b"HEAD" or status in (204, 304)
        self._remaining = head.content_length
        self._trailers_owed = bool(trailers)
        self._trailers_on_wire = bool(trailers) and self.request.te_trailers \
            and not self._no_body

    def _send_head(self, end_stream: bool) -> None:
        head = self._head
        assert head is not None
        self.head_sent = True
        self.core.send_headers(self.stream_id, head.block + self.conn.head_extra(head),
                               end_stream)
        self.conn.schedule_flush()

    def send_body(self, data: Any, more_body: Any) -> bool:
        if type(data) is not bytes:
            raise LocalProtocolError(f"body must be bytes, got {type(data).__name__}")
        if self._head is None:
            raise LocalProtocolError("http.response.body before http.response.start")
        if self._body_done:
            raise LocalProtocolError("response already complete")
        final = not more_body
        if self._no_body:
            if not self.head_sent:
                self._send_head(True)
            return self._end_of_body() if final else False
        remaining = self._remaining
        if remaining is not None:
            if len(data) > remaining:
                # RFC 9110 §8.6: never bytes beyond the declared length. What fits goes
                # out, the stream is reset (§8.1.1), and the app learns why.
                if not self.head_sent:
                    self._send_head(False)
                if remaining:
                    self._send_data(data[:remaining], False)
                self._body_done = self.complete = True
                self._trailers_owed = False
                self.conn.reset_stream(self, frames.INTERNAL_ERROR)
                raise LocalProtocolError(
                    f"body exceeds the declared content-length by {len(data) - remaining} "
                    "bytes")
            remaining -= len(data)
            self._remaining = remaining
            if final and remaining:
                # §8.1.1: the stream cannot end with less than its Content-Length.
                if not self.head_sent:
                    self._send_head(False)
                if data:
                    self._send_data(data, False)
                self._body_done = self.complete = True
                self._trailers_owed = False
                self.conn.reset_stream(self, frames.INTERNAL_ERROR)
                return True
        end = final and not self._trailers_on_wire
        if not self.head_sent:
            self._send_head(end and not data)
            if data:
                self._send_data(data, end)
        elif data or end:
            self._send_data(data, end)
        return self._end_of_body() if final else False

    def _end_of_body(self) -> bool:
        self._body_done = True
        if self._trailers_owed:
            return False  # complete with http.response.trailers
        self.complete = True
        if not self._pending:
            self.conn.stream_done(self)
        return True

    def send_trailers(self, headers: Any, more_trailers: Any) -> bool:
        if not self._trailers_owed:
            raise LocalProtocolError("http.response.trailers without trailers=True in start")
        if not self._body_done:
            raise LocalProtocolError("http.response.trailers before the final body")
        block = trailer_block(headers)
        if more_trailers:
            self._trailer_block += block
            return False
        self._trailers_owed = False
        self.complete = True
        if not self._trailers_on_wire:
            # extensions.rst: trailers only to a client that sent TE: trailers; the
            # stream already ended with the body.
            if not self._pending:
                self.conn.stream_done(self)
            return True
        self._trailer_block += block
        if self._pending:
            self._trailers_waiting = True
        else:
            self.core.send_headers(self.stream_id, self._trailer_block, True)
            self.conn.schedule_flush()
            self.conn.stream_done(self)
        return True

    def send_early_hint(self, links: Any) -> None:
        """RFC 8297 over h2: a 103 HEADERS, before the final head only."""
        items = check_links(links)
        if self.complete:
            raise LocalProtocolError("early hint after the response completed")
        if self.head_sent or not items or self.closed:
            return
        block = status_field(103) + encode([(b"link", link) for link in items])
        self.core.send_headers(self.stream_id, block)
        self.conn.schedule_flush()

    def send_push(self, path: Any, headers: Any) -> None:
        """extensions.rst, HTTP/2 Server Push: a PUSH_PROMISE for a GET of ``path`` with
        this request's ``:scheme`` and ``:authority`` and the app's ``headers``, then that
        request through a new application instance. Nothing when the client refuses
        pushes (SETTINGS_ENABLE_PUSH 0, RFC 9113 §8.4) or the response is over."""
        if type(path) is not str or not path.startswith("/"):
            raise LocalProtocolError("http.response.push needs a 'path' str starting with /")
        fields = [(name.lower(), value) for name, value in check_fields(headers, "header")
                  if name.lower() not in CONNECTION_SPECIFIC and name.lower() != b"host"]
        if self.closed or self.complete:
            return
        self.conn.push(self, path.encode("utf-8"), fields)

    def finish_response(self) -> None:
        """The cycle has its response: log it."""
        self.conn.log_access(self)

    def abort_response(self) -> None:
        """The application failed: a 500 when nothing went out, else RST_STREAM."""
        if self.closed:
            return
        self.complete = self._body_done = True
        if not self.head_sent:
            self._head = self.conn.error_head
            self.status = 500
            self._send_head(False)
            self._send_data(self.conn.error_body, True)
            if not self._pending:
                self.conn.stream_done(self)
        else:
            self.conn.reset_stream(self, frames.INTERNAL_ERROR)


class ObservedH2Stream(H2Stream):
    """An :class:`H2Stream` that stamps its start and counts its body bytes for the
    server's :class:`~reference_server.observe.Observer` (only used when there is one,
    so plain streams pay nothing)."""

    def __init__(self, conn: H2Connection, stream_id: int, head: RequestHead) -> None:
        super().__init__(conn, stream_id, head)
        self.started = conn.loop.time()
        self.sent = 0

    def send_body(self, data: Any, more_body: Any) -> bool:
        done = super().send_body(data, more_body)
        self.sent += len(data)
        return done

    def finish_response(self) -> None:
        # Not H2Stream's: the observer writes the access line (--access-log-format).
        cycle = self.cycle
        observer = self.conn.state.observer
        if cycle is not None and observer is not None:
            scope = cycle.scope
            observer.request_done(scope["client"], scope["method"], request_target(scope),
                                  "2", self.status, self.conn.loop.time() - self.started,
                                  self.sent)

    def abort_response(self) -> None:
        observer = self.conn.state.observer
        if observer is not None and not self.closed:
            observer.request_failed(self.status if self.head_sent else 500,
                                    self.conn.loop.time() - self.started)
        super().abort_response()


class H2WebSocketStream(H2StreamBase):
    """A WebSocket over an extended CONNECT stream (RFC 8441 §5): the 200 response is the
    accept, DATA carries the RFC 6455 frames, END_STREAM is the TCP close of §7.1.1 and
    RST_STREAM (CANCEL) the abort."""

    def __init__(self, conn: H2Connection, stream_id: int) -> None:
        super().__init__(conn, stream_id)
        self.session: WebSocketSession | None = None
        self.head_sent = False
        #: Stream credit of data the session has not taken yet.
        self.unreturned = 0
        self._denial: H2Stream | None = None
        self._ended = False

    # -- events from the connection ------------------------------------------------------------

    def data(self, data: bytes, flow: int) -> None:
        self.unreturned += flow
        if not self.reading_paused:
            self.resume_reading()
        assert self.session is not None
        self.session.feed(data)

    def pause_reading(self) -> None:
        """The application has ``flow_high_water`` bytes of messages it has not received:
        the client's credit is withheld until it has (the stream's window then bounds
        what it can send)."""
        self.reading_paused = True

    def resume_reading(self) -> None:
        self.reading_paused = False
        if self.unreturned and not self.closed:
            self.core.consumed(self.stream_id, self.unreturned)
            self.unreturned = 0
            self.conn.schedule_flush()

    def end(self) -> None:
        """The client ended its side (RFC 8441 §5: the TCP FIN of RFC 6455)."""
        if self.session is not None:
            self.session.lost()

    def shutdown(self) -> None:
        if self.session is not None:
            self.session.shutdown()

    # -- the WebSocketTransport of the session ---------------------------------------------

    def accept(self, subprotocol: str | None, headers: Any,
               extension: bytes | None) -> None:
        if self.closed:
            raise ClientDisconnected("the client closed the connection")
        fields: list[tuple[bytes, bytes]] = []
        if subprotocol is not None:
            fields.append((b"sec-websocket-protocol", subprotocol.encode("ascii")))
        if extension:
            fields.append((b"sec-websocket-extensions", extension))
        head = response_head(200, [*fields, *[
            (n, v) for n, v in _app_fields(headers)
            if n.lower() not in (b"sec-websocket-protocol", b"sec-websocket-extensions",
                                 b"sec-websocket-accept")]])
        block = head.block + self.conn.head_extra(head)
        self.head_sent = True
        self.core.send_headers(self.stream_id, block)
        self.conn.schedule_flush()

    def reject(self, status: int) -> None:
        if self.closed or self.head_sent:
            return
        self.head_sent = True
        head = response_head(status, [(b"content-type", b"text/plain; charset=utf-8")])
        self.core.send_headers(self.stream_id, head.block + self.conn.head_extra(head), True)
        self.conn.schedule_flush()
        self._ended = True
        self.conn.stream_done(self)

    def deny_start(self, status: Any, headers: Any) -> None:
        """The denial response (extensions.rst) is an ordinary response on this stream,
        framed by an :class:`H2Stream` this transport drives (and waits for)."""
        denial = H2Stream(self.conn, self.stream_id, RequestHead())
        denial.send_start(status, headers, False)
        self._denial = denial

    def deny_body(self, data: Any, more_body: Any) -> bool:
        denial = self._denial
        assert denial is not None
        if self.closed:
            raise ClientDisconnected("the client closed the connection")
        self.head_sent = True
        complete = denial.send_body(data, more_body)
        if complete:
            self._ended = True
            if not denial._pending:
                self.conn.stream_done(self)
        return complete

    @property
    def writing_paused(self) -> bool:
        denial = self._denial
        return bool(self._pending) or self.conn.writing_paused or (
            denial is not None and bool(denial._pending))

    async def drain(self) -> None:
        if self._denial is not None:
            await self._denial.drain()
        await super().drain()

    def window_opened(self) -> None:
        denial = self._denial
        if denial is None:
            super().window_opened()
            return
        denial.window_opened()
        if self._ended and not denial._pending:
            self.conn.stream_done(self)

    def _sent_all(self) -> None:
        if self._ended:
            self.conn.stream_done(self)

    def stream_lost(self) -> None:
        super().stream_lost()
        if self._denial is not None:
            self._denial.stream_lost()
        if self.session is not None:
            self.session.lost()

    def write(self, data: bytes) -> None:
        if not self.closed and not self._ended:
            self._send_data(data, False)

    def close(self) -> None:
        """End our side (END_STREAM); the stream closes when the client ends its side."""
        if self.closed or self._ended:
            return
        self._ended = True
        if self.head_sent:
            self._send_data(b"", True)
        if not self._pending:
            self.conn.stream_done(self)  # else once the windows let it all out

    def abort(self) -> None:
        if not self.closed:
            self.conn.reset_stream(self, frames.CANCEL)


def _app_fields(headers: Any) -> list[tuple[bytes, bytes]]:
    """The application's accept headers, checked like any response header."""
    raw: object = headers
    if isinstance(raw, str | bytes):
        raise ValueError("headers must be a sequence of [name, value] pairs")
    return check_fields(headers, "header")
