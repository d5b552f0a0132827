"""The WebSocket transport of an upgraded HTTP/1.1 connection (RFC 6455 §4).

Once :class:`~.h11_connection.H11Connection` has checked an opening handshake, it hands
the socket over (``transport.set_protocol``) to an :class:`H11WebSocketTransport`, the
:class:`~.transport.WebSocketTransport` of one :class:`~.ws_session.WebSocketSession`.
What is HTTP/1.1's own stays here: the ``101 Switching Protocols`` response (§4.2.2),
error and denial responses framed as HTTP/1.1 responses, and the end of the session as
the end of the TCP connection (§7.1.1: the server closes it first).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ..asgi import ClientDisconnected
from ..http11.response import ResponseWriter
from ..websocket import accept_response
from .flow import FlowControl

if TYPE_CHECKING:
    from ..state import ServerState
    from .ws_session import WebSocketSession


class H11WebSocketTransport(FlowControl):
    """An upgraded connection, carrying one WebSocket session."""

    def __init__(self, state: ServerState, transport: asyncio.BaseTransport,
                 key: bytes) -> None:
        super().__init__(state, transport)
        #: Sec-WebSocket-Key of the handshake (the 101 answers it).
        self.key = key
        self.session: WebSocketSession | None = None
        self._denial: ResponseWriter | None = None

    # -- asyncio callbacks: events for the session ------------------------------------------

    def data_received(self, data: bytes) -> None:
        assert self.session is not None
        self.session.feed(data)

    def eof_received(self) -> bool | None:
        # A half-close is the client going away (no close frame came first): 1006.
        assert self.session is not None
        self.session.lost()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.session is not None:
            self.session.lost()
        super().connection_lost(exc)

    def shutdown(self) -> None:
        if self.session is not None:
            self.session.shutdown()

    # -- the WebSocketTransport of the session -----------------------------------------------

    def accept(self, subprotocol: str | None, headers: Any,
               extension: bytes | None) -> None:
        state = self.state
        server_header = state.config.server_header
        date = state.response_date
        response = accept_response(
            self.key, subprotocol=subprotocol, headers=headers, extension=extension,
            server_header=server_header.encode("latin-1") if server_header else None,
            date=date.value() if date is not None else None)
        if self.closed:
            raise ClientDisconnected("the client closed the connection")
        self.transport.write(response)

    def reject(self, status: int) -> None:
        if not self.closed:
            self.transport.write(self.state.error_response(status))

    def deny_start(self, status: Any, headers: Any) -> None:
        state = self.state
        writer = ResponseWriter(b"GET", b"1.1", False, False, state.server_header,
                                state.response_date)
        writer.start(status, headers)
        self._denial = writer

    def deny_body(self, data: Any, more_body: Any) -> bool:
        writer = self._denial
        assert writer is not None
        out = writer.body(data, more_body)
        if self.closed:
            raise ClientDisconnected("the client closed the connection")
        if out:
            self.transport.write(out)
        return writer.complete

    def write(self, data: bytes) -> None:
        if not self.closed:
            self.transport.write(data)
