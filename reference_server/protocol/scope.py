"""Scopes: what a connection knows about itself, and the one function that builds the
``http`` and the ``websocket`` scope from it (www.rst, "HTTP" and "WebSocket").

The two scopes share almost every key (asgi, http_version, scheme, server, client,
root_path, path, raw_path, query_string, headers, state, extensions); they differ in
``method`` (http) and ``subprotocols`` (websocket), and in the scheme's spelling.
Building both in one place keeps them from drifting, and an HTTP/2 stream builds its
scope with the same function from its pseudo-headers.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

from ..tls import tls_extension

if TYPE_CHECKING:
    import asyncio

    from ..state import ServerState

#: www.rst: the HTTP and WebSocket spec version we implement (2.4: send() on a closed
#: connection raises an OSError subclass; 2.5: the reason of a websocket.close).
SPEC_VERSION = "2.5"
#: X-Forwarded-Proto values we understand, as the scheme of the underlying HTTP request
#: (a WebSocket scope turns http/https into ws/wss).
_FORWARDED_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}
#: Method tokens as the str the scope carries, for the common ones (both transports look
#: the request's method up here, and decode the others).
METHODS = {m.encode("ascii"): m for m in
           ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE")}
#: extensions.rst, Zero Copy Send needs the kernel's sendfile (or pread) on a real file.
HAS_SENDFILE = hasattr(os, "sendfile")


class ConnectionFacts:
    """What one connection contributes to every scope on it: the peer, our socket, the
    scheme, and the extensions it offers (extensions.rst, tls.rst)."""

    __slots__ = ("client", "http_extensions", "scheme", "server", "trust_proxy",
                 "ws_extensions")

    def __init__(self, transport: asyncio.BaseTransport, state: ServerState) -> None:
        peer = transport.get_extra_info("peername")
        sock = transport.get_extra_info("sockname")
        self.client: tuple[str, int] | None = None
        self.server: tuple[str, int | None] | None = None
        if isinstance(peer, tuple) and len(peer) >= 2:
            self.client = (str(peer[0]), int(peer[1]))
        if isinstance(sock, tuple) and len(sock) >= 2:
            self.server = (str(sock[0]), int(sock[1]))
        elif isinstance(sock, str) and sock:
            self.server = (sock, None)
        #: The peer may set X-Forwarded-* (decided once per connection).
        self.trust_proxy = (self.client is not None and state.proxies is not None
                            and state.proxies.trusts(self.client[0]))
        self.scheme = "http"
        self.http_extensions: dict[str, Any] = {
            "http.response.trailers": {},
            "http.response.pathsend": {},
            "http.response.early_hint": {},
        }
        if HAS_SENDFILE:
            self.http_extensions["http.response.zerocopysend"] = {}
        self.ws_extensions: dict[str, Any] = {"websocket.http.response": {}}
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            self.scheme = "https"
            self.http_extensions["tls"] = self.ws_extensions["tls"] = \
                tls_extension(ssl_object, state)


def decode_path(raw_path: bytes) -> str:
    """www.rst: ``path`` is the target "with percent-encoded sequences and UTF-8 byte
    sequences decoded into characters". Raises UnicodeDecodeError for bytes that are not
    UTF-8 (the transport answers 400)."""
    if b"%" in raw_path:
        return unquote_to_bytes(raw_path).decode("utf-8")
    return raw_path.decode("ascii")


def request_target(scope: dict[str, Any]) -> str:
    """The request target as the client sent it (raw path, then ``?query`` when there is
    one), for access-log lines: a scope keeps the two apart."""
    target: str = scope["raw_path"].decode("latin-1")
    if scope["query_string"]:
        target += "?" + scope["query_string"].decode("latin-1")
    return target


def build_scope(kind: str, state: ServerState, facts: ConnectionFacts, http_version: str,
                method: str | None, path: str, raw_path: bytes, query_string: bytes,
                headers: list[tuple[bytes, bytes]], proxy_fields: list[tuple[bytes, bytes]],
                subprotocols: list[str] | None = None) -> dict[str, Any]:
    """The ``http`` scope (``kind`` "http", with ``method``) or the ``websocket`` scope
    (``kind`` "websocket", with ``subprotocols``) of one request.

    ``proxy_fields`` holds at least the request's X-Forwarded-For/-Proto fields: from a
    trusted peer they replace ``client`` and ``scheme``. Positional parameters: this runs
    once per request on the hot path."""
    client = facts.client
    scheme = facts.scheme
    if facts.trust_proxy:
        proxies = state.proxies
        assert proxies is not None
        for name, value in proxy_fields:
            if name == b"x-forwarded-for":
                host = proxies.client_from(value)
                if host:
                    client = (host, 0)
            elif name == b"x-forwarded-proto":
                proto = value.decode("latin-1").split(",")[-1].strip().lower()
                if proto in _FORWARDED_SCHEMES:
                    scheme = _FORWARDED_SCHEMES[proto]
    root_path = state.root_path
    scope: dict[str, Any] = {
        "type": kind,
        "asgi": {"version": state.asgi_version, "spec_version": SPEC_VERSION},
        "http_version": http_version,
        "server": facts.server,
        "client": client,
        "scheme": scheme,
        "root_path": root_path,
        "path": root_path + path if root_path else path,
        "raw_path": raw_path,
        "query_string": query_string,
        "headers": headers,
        "state": state.lifespan_state.copy(),
    }
    if kind == "http":
        scope["method"] = method
        scope["extensions"] = facts.http_extensions.copy()
    else:
        scope["scheme"] = "wss" if scheme == "https" else "ws"
        scope["subprotocols"] = subprotocols
        scope["extensions"] = facts.ws_extensions.copy()
    return scope
