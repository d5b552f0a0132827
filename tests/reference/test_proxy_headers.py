"""Proxy headers end to end through the HTTP protocol (no sockets): X-Forwarded-For and
X-Forwarded-Proto change the scope only when the TCP peer is a trusted proxy.

Operators put the reference server behind nginx or a load balancer and rely on
``scope["client"]`` and ``scope["scheme"]`` naming the real client; anyone else must not
be able to spoof them by sending the same headers.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from reference_server.config import Config
from reference_server.protocol.h11_connection import H11Connection
from reference_server.state import ServerState


class FakeTransport:
    """Just enough of an asyncio transport for one keep-alive request."""

    def __init__(self, peer: str) -> None:
        self.peer = peer
        self.written = b""
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": (self.peer, 40000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default)

    def write(self, data: bytes) -> None:
        self.written += data

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def serve_one(peer: str, extra_headers: bytes, **config: Any) -> dict[str, Any]:
    """Send one GET from ``peer`` with ``extra_headers``; return the scope the app saw."""
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(client=scope["client"], scheme=scope["scheme"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def main() -> None:
        state = ServerState(Config(app="test", access_log=False, **config), app, "3.0")
        protocol = H11Connection(state)
        transport = FakeTransport(peer)
        protocol.connection_made(transport)  # type: ignore[arg-type]
        protocol.data_received(b"GET / HTTP/1.1\r\nHost: example.com\r\n" + extra_headers
                               + b"User-Agent: t\r\n\r\n")
        for _ in range(20):
            if seen:
                break
            await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert transport.written.startswith(b"HTTP/1.1 204 ")

    asyncio.run(main())
    return seen


FORWARDED = b"X-Forwarded-For: 203.0.113.7, 10.0.0.2\r\nX-Forwarded-Proto: https\r\n"


def test_a_trusted_proxy_names_the_client_and_scheme():
    seen = serve_one("127.0.0.1", FORWARDED, forwarded_allow_ips="127.0.0.1, 10.0.0.0/8")
    # 10.0.0.2 is a trusted proxy too: the client is the first untrusted hop from the right.
    assert seen == {"client": ("203.0.113.7", 0), "scheme": "https"}


@pytest.mark.parametrize(("peer", "config"), [
    ("192.0.2.1", {}),                          # not in --forwarded-allow-ips
    ("127.0.0.1", {"proxy_headers": False}),    # --no-proxy-headers
])
def test_anyone_else_cannot_spoof_them(peer, config):
    seen = serve_one(peer, FORWARDED, **config)
    assert seen == {"client": (peer, 40000), "scheme": "http"}


def test_headers_without_proxy_fields_keep_the_peer():
    seen = serve_one("127.0.0.1", b"X-Other: 1\r\nContent-Type: text/plain\r\n")
    assert seen == {"client": ("127.0.0.1", 40000), "scheme": "http"}
