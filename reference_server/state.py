"""What every connection of one server process shares.

One :class:`ServerState` per worker: the configuration, the adapted application, the
lifespan state that gets copied into each scope, the live connections (so shutdown can
reach them) and pre-rendered bits of every response.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from .asgi import ASGIApp
from .config import Config
from .proxy import TrustedProxies
from .websocket.deflate import DeflateConfig

if TYPE_CHECKING:
    from .protocol.http import HTTPProtocol
    from .protocol.websocket import WebSocketProtocol

error_log = logging.getLogger("reference_server.error")
access_log = logging.getLogger("reference_server.access")


class ServerState:
    def __init__(self, config: Config, app: ASGIApp, asgi_version: str) -> None:
        self.config = config
        self.app = app
        self.asgi_version = asgi_version
        #: Filled by lifespan startup; shallow-copied into every request scope
        #: (lifespan.rst, Lifespan State).
        self.lifespan_state: dict[str, Any] = {}
        self.connections: set[HTTPProtocol | WebSocketProtocol] = set()
        #: Running application tasks (requests), awaited or cancelled at shutdown.
        self.tasks: set[asyncio.Task[None]] = set()
        #: TLS facts computed once per process for the tls extension (tls.rst).
        self.tls_server_cert: str | None = None
        self.tls_cipher_ids: dict[str, int] = {}
        #: Set when SIGTERM/SIGINT arrived: finish in-flight requests, accept no more.
        self.shutting_down = False
        self.server_header = (b"server: " + config.server_header.encode("latin-1") + b"\r\n"
                              if config.server_header else b"")
        self.proxies = TrustedProxies(config.forwarded_allow_ips) if config.proxy_headers \
            else None
        self.root_path = config.root_path
        #: permessage-deflate parameters offered to WebSocket clients (RFC 7692).
        self.deflate_config = DeflateConfig(enabled=config.ws_per_message_deflate)
        self.error_log = error_log
        self.access_log = access_log
