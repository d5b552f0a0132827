"""What every connection of one server process shares.

One :class:`ServerState` per worker: the configuration, the adapted application, the
lifespan state that gets copied into each scope, the live connections (so shutdown can
reach them), the clock of the Date header and pre-rendered bits of every response.

The connections are typed by what shutdown needs of them (:class:`Connection`), not by
their classes, so this module depends on no protocol module (they all depend on it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any, Protocol

from .asgi import ASGIApp
from .config import Config
from .http11.response import DateCache, error_response
from .proxy import TrustedProxies
from .websocket.deflate import DeflateConfig

if TYPE_CHECKING:
    from .observe import Observer

error_log = logging.getLogger("reference_server.error")
access_log = logging.getLogger("reference_server.access")


class Connection(Protocol):
    """A live connection, as graceful shutdown sees it (HTTP/1.1, an upgraded WebSocket
    connection, an HTTP/2 connection)."""

    def shutdown(self) -> None:
        """Stop taking new requests; finish what is in flight, then close."""

    def abort(self) -> None:
        """Drop the connection now (the grace period is over)."""


class ServerState:
    def __init__(self, config: Config, app: ASGIApp, asgi_version: str) -> None:
        self.config = config
        self.app = app
        self.asgi_version = asgi_version
        #: Filled by lifespan startup; shallow-copied into every request scope
        #: (lifespan.rst, Lifespan State).
        self.lifespan_state: dict[str, Any] = {}
        self.connections: set[Connection] = set()
        #: Running application tasks (requests), awaited or cancelled at shutdown.
        self.tasks: set[asyncio.Task[None]] = set()
        #: TLS facts computed once per process for the tls extension (tls.rst).
        self.tls_server_cert: str | None = None
        self.tls_cipher_ids: dict[str, int] = {}
        #: Set when SIGTERM/SIGINT arrived: finish in-flight requests, accept no more.
        self.shutting_down = False
        #: ... because this worker is being replaced (--limit-max-requests, SIGHUP), not
        #: stopped: idle HTTP/1.1 connections are not closed under the client.
        self.retiring = False
        self.server_header = (b"server: " + config.server_header.encode("latin-1") + b"\r\n"
                              if config.server_header else b"")
        #: The Date header's clock (the sans-I/O core is handed it, never reads one).
        #: Error responses of the server's own always carry a Date; ``response_date`` is
        #: what an application's response gets (None with ``--no-date-header``).
        self.date = DateCache(time.time)
        self.response_date = self.date if config.date_header else None
        self.proxies = TrustedProxies(config.forwarded_allow_ips) if config.proxy_headers \
            else None
        self.root_path = config.root_path
        #: permessage-deflate parameters offered to WebSocket clients (RFC 7692).
        self.deflate_config = DeflateConfig(enabled=config.ws_per_message_deflate)
        self.error_log = error_log
        self.access_log = access_log
        #: Per-request bookkeeping (observe.py), None when no feature needs it: then the
        #: protocols run their plain classes and the request path is unchanged.
        self.observer: Observer | None = None

    def error_response(self, status: int, reason: str = "", extra: bytes = b"") -> bytes:
        """A complete, connection-closing error response of the server's own, with this
        server's Server and Date headers (``extra``: more pre-rendered header lines)."""
        return error_response(status, reason, self.server_header + extra, self.date)
