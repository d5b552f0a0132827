"""The WebSocket wire as the benchmark's client needs it (RFC 6455).

Frames built and parsed by hand, the opening handshake and a blocking read of one whole
message: enough for ``bench.ws_bench`` to check a server's echo (its sanity check) and
for its load client (``bench.ws_client``) to run without a WebSocket library, whose
per-message cost would be measured instead of the server's. The client never offers
permessage-deflate, so a server that answers with an extension is broken here.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import time
from typing import NamedTuple

from bench.machine import HOST

WS_PATH = "/ws"
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MASK_KEY = b"\x37\xfa\x21\x3d"  # fixed: the frame is built once, masking costs nothing per send


class WsProtocolError(Exception):
    """The server broke the WebSocket protocol (bad handshake, frame, or echo)."""


def accept_value(key: bytes) -> str:
    """The Sec-WebSocket-Accept a server must answer for ``key`` (RFC 6455 §4.2.2)."""
    return base64.b64encode(hashlib.sha1(key + WS_GUID).digest()).decode("ascii")


def _length_bytes(n: int, mask_bit: int) -> bytes:
    if n < 126:
        return bytes([mask_bit | n])
    if n < 1 << 16:
        return bytes([mask_bit | 126]) + n.to_bytes(2, "big")
    return bytes([mask_bit | 127]) + n.to_bytes(8, "big")


def _mask(payload: bytes, key: bytes) -> bytes:
    if not payload:
        return b""
    repeated = (key * (len(payload) // 4 + 1))[: len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
        len(payload), "big"
    )


def client_frame(opcode: int, payload: bytes, key: bytes = MASK_KEY) -> bytes:
    """A single-frame (FIN) client message, masked with ``key`` as clients must."""
    return bytes([0x80 | opcode]) + _length_bytes(len(payload), 0x80) + key + _mask(payload, key)


def server_frame(opcode: int, payload: bytes) -> bytes:
    """The unmasked single-frame message a server sends: what an echo must look like."""
    return bytes([0x80 | opcode]) + _length_bytes(len(payload), 0) + payload


class Frame(NamedTuple):
    fin: bool
    rsv: int
    opcode: int
    masked: bool
    payload: bytes
    end: int  # offset just after the frame in the buffer it was parsed from


def parse_frame(buf: bytes | bytearray, pos: int = 0) -> Frame | None:
    """Parse one frame at ``buf[pos:]``; None while it is incomplete."""
    avail = len(buf) - pos
    if avail < 2:
        return None
    b0, b1 = buf[pos], buf[pos + 1]
    n, i = b1 & 0x7F, pos + 2
    if n == 126:
        if avail < 4:
            return None
        n, i = int.from_bytes(buf[i : i + 2], "big"), i + 2
    elif n == 127:
        if avail < 10:
            return None
        n, i = int.from_bytes(buf[i : i + 8], "big"), i + 8
    masked = bool(b1 & 0x80)
    key = b""
    if masked:
        if len(buf) < i + 4:
            return None
        key, i = bytes(buf[i : i + 4]), i + 4
    if len(buf) < i + n:
        return None
    payload = bytes(buf[i : i + n])
    if masked:
        payload = _mask(payload, key)
    return Frame(bool(b0 & 0x80), b0 & 0x70, b0 & 0x0F, masked, payload, i + n)


def handshake(sock: socket.socket, port: int, timeout: float) -> bytes:
    """Send the opening handshake (no extensions offered) and check the 101 answer.

    Returns the bytes received after the response head (normally none). Raises
    ``WsProtocolError`` describing what the server answered instead.
    """
    key = base64.b64encode(os.urandom(16))
    sock.settimeout(timeout)
    sock.sendall(
        b"GET " + WS_PATH.encode() + b" HTTP/1.1\r\n"
        b"Host: " + f"{HOST}:{port}".encode() + b"\r\n"
        b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    data = b""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in data:
        if len(data) > 65536 or time.monotonic() > deadline:
            raise WsProtocolError(f"no complete handshake response: {data[:80]!r}")
        try:
            chunk = sock.recv(65536)
        except TimeoutError as exc:
            raise WsProtocolError(
                f"no complete handshake response within {timeout:.0f}s (got {data[:80]!r})"
            ) from exc
        if not chunk:
            raise WsProtocolError(f"connection closed during the handshake after {data[:80]!r}")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or parts[1] != "101":
        raise WsProtocolError(
            f"answered the WebSocket upgrade with {status_line!r} instead of 101 "
            f"(no WebSocket support?); body {rest[:60]!r}"
        )
    if headers.get("upgrade", "").lower() != "websocket":
        raise WsProtocolError(f"101 without 'Upgrade: websocket': {headers}")
    if headers.get("sec-websocket-accept") != accept_value(key):
        raise WsProtocolError(f"wrong Sec-WebSocket-Accept {headers.get('sec-websocket-accept')!r}")
    if "sec-websocket-extensions" in headers:
        raise WsProtocolError(
            f"extension {headers['sec-websocket-extensions']!r} accepted but none was offered"
        )
    return rest


def read_message(sock: socket.socket, buf: bytearray, deadline: float) -> tuple[int, bytes]:
    """Read one whole data message (reassembling fragments); (opcode, payload)."""
    opcode: int | None = None
    parts: list[bytes] = []
    while True:
        frame = parse_frame(buf)
        if frame is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WsProtocolError(f"no complete frame in time (have {bytes(buf[:40])!r})")
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(65536)
            except TimeoutError as exc:
                raise WsProtocolError(f"no echo in time (have {bytes(buf[:40])!r})") from exc
            if not chunk:
                raise WsProtocolError("connection closed instead of an echo")
            buf += chunk
            continue
        del buf[: frame.end]
        if frame.masked:
            raise WsProtocolError("server frame is masked")
        if frame.rsv:
            raise WsProtocolError(f"RSV bits {frame.rsv:#x} set without a negotiated extension")
        if frame.opcode == 0x8:
            raise WsProtocolError(f"server closed the WebSocket: {frame.payload[:60]!r}")
        if frame.opcode in (0x9, 0xA):  # ping / pong: answer pings, skip both
            if frame.opcode == 0x9:
                sock.sendall(client_frame(0xA, frame.payload))
            continue
        if opcode is None:
            opcode = frame.opcode
        parts.append(frame.payload)
        if frame.fin:
            return opcode, b"".join(parts)
