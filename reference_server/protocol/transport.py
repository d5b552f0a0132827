"""The two narrow interfaces between the ASGI mappings and the transports that carry them.

The server separates *what ASGI means* from *how bytes travel* (hypercorn's
``protocol/`` split is the model):

- an **ASGI mapping** speaks ASGI to one application instance:
  :class:`~.http_cycle.RequestCycle` (one ``http`` scope) and
  :class:`~.ws_session.WebSocketSession` (one ``websocket`` scope). It never sees a
  socket, a parser or a frame format of HTTP;
- a **transport** turns bytes into events for a mapping and renders what the mapping
  emits: :class:`~.h11_connection.H11Connection` (an HTTP/1.1 connection, one request at
  a time) and :class:`~.h11_websocket.H11WebSocketTransport` (a connection after the
  RFC 6455 upgrade), and :class:`~.h2_stream.H2Stream` and
  :class:`~.h2_stream.H2WebSocketStream` (one HTTP/2 stream each).

Events flow in both directions:

=============================  ======================  ============================
interface                      transport → mapping     mapping → transport
=============================  ======================  ============================
:class:`HTTPTransport`         ``feed_body(data)``,    ``send_start``, ``send_body``,
                               ``end_body()``,         ``send_trailers``,
                               ``on_disconnect()``     ``send_early_hint``,
                                                       ``send_push``,
                                                       ``want_body``,
                                                       ``finish_response``,
                                                       ``abort_response``
:class:`WebSocketTransport`    ``feed(data)``,         ``accept``, ``reject``,
                               ``lost()``,             ``deny_start``, ``deny_body``,
                               ``shutdown()``          ``write`` (frames), ``close``,
                                                       ``abort``
=============================  ======================  ============================

and both interfaces share the flow-control surface of
:class:`~.flow.FlowControl`: ``closed``, ``writing_paused`` with ``drain()``,
``pause_reading()`` / ``resume_reading()``, and the ``loop``.

The framing decisions stay with the transport (Content-Length or chunked on HTTP/1.1,
DATA frames and END_STREAM on HTTP/2); the ASGI rules stay with the mapping (event
order, ``http.disconnect``, send-after-close raising ``ClientDisconnected``, the app's
failure answered with 500 or 1011). Each interface is a ``typing.Protocol``: a transport
implements it by having the methods, with no base class to inherit.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol


class FlowSurface(Protocol):
    """Backpressure and liveness, as :class:`~.flow.FlowControl` provides them, and the
    event loop the mapping's futures and tasks live on."""

    loop: asyncio.AbstractEventLoop

    #: The connection (or stream) is gone or closing: nothing more can be written.
    closed: bool
    @property
    def writing_paused(self) -> bool:
        """The peer is not reading (or, on HTTP/2, its window is closed): ``send()``
        awaits :meth:`drain` before returning."""
    #: Reading is paused until the application consumes what was read.
    reading_paused: bool

    async def drain(self) -> None: ...

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


class HTTPTransport(FlowSurface, Protocol):
    """What a :class:`~.http_cycle.RequestCycle` needs from the transport carrying its
    request and response.

    The ``send_*`` methods validate and frame one ASGI response event; invalid input
    raises ``LocalProtocolError`` (a ValueError) before anything is written, which the
    cycle turns into the ``InvalidMessage`` that ``send()`` raises (asgi.rst, Error
    Handling).
    """

    @property
    def head_sent(self) -> bool:
        """The response's status line and headers have gone out (a 500 is impossible)."""

    def want_body(self) -> None:
        """The application waits for request body it has not got (HTTP/1.1 answers an
        ``Expect: 100-continue`` now, RFC 9110 §10.1.1)."""

    def send_start(self, status: Any, headers: Any, trailers: Any) -> None:
        """``http.response.start``; may hold the head back until the first body."""

    def send_body(self, data: Any, more_body: Any) -> bool:
        """``http.response.body``; True when the response is complete."""

    def send_trailers(self, headers: Any, more_trailers: Any) -> bool:
        """``http.response.trailers`` (extensions.rst); True when the response is
        complete."""

    def send_early_hint(self, links: Any) -> None:
        """``http.response.early_hint`` (extensions.rst): a 103, where the protocol and
        the client allow one."""

    def send_push(self, path: Any, headers: Any) -> None:
        """``http.response.push`` (extensions.rst, HTTP/2 Server Push): a PUSH_PROMISE and
        a request for ``path`` through the application, where the protocol and the client
        allow it; raises LocalProtocolError where the extension is not offered."""

    def finish_response(self) -> None:
        """The response is complete and the cycle has marked itself done: log it, then
        reuse or close the connection (or end the stream)."""

    def abort_response(self) -> None:
        """The application failed (asgi.rst, Error Handling): a 500 when nothing was
        sent yet, and the connection (or stream) ends."""


class WebSocketTransport(FlowSurface, Protocol):
    """What a :class:`~.ws_session.WebSocketSession` needs from the transport carrying
    its connection. The WebSocket framing (RFC 6455 §5) is the session's: over HTTP/1.1
    and over HTTP/2 (RFC 8441) the same frames travel, only the handshake and the end of
    the connection differ."""

    def accept(self, subprotocol: str | None, headers: Any,
               extension: bytes | None) -> None:
        """Complete the opening handshake (a 101 on HTTP/1.1). Raises ValueError for
        headers that cannot go on the wire, ``ClientDisconnected`` when the peer is gone."""

    def reject(self, status: int) -> None:
        """Answer the handshake with an error response of the server's own (403 for a
        ``websocket.close`` before the accept, 500 for a failed app)."""

    def deny_start(self, status: Any, headers: Any) -> None:
        """``websocket.http.response.start`` (extensions.rst, WebSocket Denial Response)."""

    def deny_body(self, data: Any, more_body: Any) -> bool:
        """``websocket.http.response.body``; True when the denial response is complete.
        Raises ``ClientDisconnected`` when the peer is gone."""

    def write(self, data: bytes) -> None:
        """WebSocket frames, as the session's sans-I/O core rendered them."""

    def close(self) -> None:
        """End the connection once what was written is sent."""

    def abort(self) -> None:
        """End the connection now (the peer stopped answering)."""
