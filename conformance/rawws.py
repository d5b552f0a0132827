"""A raw WebSocket client: any frame out, every frame back, bytes kept as evidence.

WebSocket cases must send what no client library would (unmasked frames, RSV bits with
nothing negotiated, reserved opcodes, fragmented or oversized control frames, invalid
UTF-8 split across fragments, bad close payloads, frames trickled in slices) and judge
the server's answer frame by frame (RFC 6455 §5). :class:`RawWebSocket` extends
:class:`~conformance.rawhttp.RawConnection` (same bounded waits, same transcript), adds
the opening handshake (§4.1) and a frame reader that parses strictly: what the server
sends must itself be valid (unmasked, §5.1; no RSV bit without an extension; control
frames ≤ 125 bytes and unfragmented, §5.5), otherwise :class:`MalformedFrame` — a fail.

A frame that does not come within the bound raises
:class:`~conformance.verdicts.NoResponse`, a verdict like any other.
"""

from __future__ import annotations

import base64
import hashlib
import os
import select
import struct
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from conformance.rawhttp import RawConnection, Response
from conformance.verdicts import NoResponse

__all__ = [
    "BINARY",
    "CLOSE",
    "CONTINUATION",
    "PING",
    "PONG",
    "TEXT",
    "Frame",
    "Handshake",
    "MalformedFrame",
    "RawWebSocket",
    "accept_key",
    "close_payload",
    "encode_frame",
    "handshake_request",
]

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_CONTROL = (CLOSE, PING, PONG)
_MAX_FRAME = 64 * 1024 * 1024  # our own guard against a runaway server


class MalformedFrame(AssertionError):
    """The server sent a frame RFC 6455 forbids a server to send."""


@dataclass
class Frame:
    """One frame as received (payload already unmasked if the server masked it)."""

    opcode: int
    payload: bytes
    fin: bool = True
    rsv: int = 0
    masked: bool = False

    @property
    def close_code(self) -> int | None:
        """The status code of a close frame (None when its payload is empty)."""
        if self.opcode != CLOSE or len(self.payload) < 2:
            return None
        return int(struct.unpack("!H", self.payload[:2])[0])

    @property
    def close_reason(self) -> bytes:
        return self.payload[2:] if self.opcode == CLOSE else b""

    def __repr__(self) -> str:
        bits = f"{'FIN ' if self.fin else ''}{f'RSV={self.rsv} ' if self.rsv else ''}"
        more = "…" if len(self.payload) > 40 else ""
        return f"<Frame {bits}op={self.opcode:#x} {self.payload[:40]!r}{more}>"


@dataclass
class Handshake:
    """The server's answer to the opening handshake: a 101 head parsed here, or any
    other response parsed strictly by the HTTP client (``response``)."""

    status: int
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    head: bytes = b""
    response: Response | None = None

    def header(self, name: bytes) -> bytes | None:
        values = self.header_values(name)
        return b", ".join(values) if values else None

    def header_values(self, name: bytes) -> list[bytes]:
        return [v for n, v in self.headers if n == name]


def accept_key(key: bytes) -> bytes:
    """RFC 6455 §4.2.2 step 5.4: base64(SHA-1(key + GUID))."""
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


def handshake_request(path: str = "/", *, host: bytes | None = b"localhost",
                      key: bytes | None = None, version: bytes | None = b"13",
                      subprotocols: Sequence[str] = (), extensions: bytes | None = None,
                      headers: Iterable[tuple[bytes, bytes]] = (),
                      method: bytes = b"GET", http_version: bytes = b"HTTP/1.1",
                      upgrade: bytes | None = b"websocket",
                      connection: bytes | None = b"Upgrade") -> bytes:
    """An opening handshake (§4.1), every part replaceable or removable (None)."""
    lines = [method + b" " + path.encode("latin-1") + b" " + http_version]
    if host is not None:
        lines.append(b"Host: " + host)
    if upgrade is not None:
        lines.append(b"Upgrade: " + upgrade)
    if connection is not None:
        lines.append(b"Connection: " + connection)
    if key is not None:
        lines.append(b"Sec-WebSocket-Key: " + key)
    if version is not None:
        lines.append(b"Sec-WebSocket-Version: " + version)
    if subprotocols:
        lines.append(b"Sec-WebSocket-Protocol: " + ", ".join(subprotocols).encode())
    if extensions is not None:
        lines.append(b"Sec-WebSocket-Extensions: " + extensions)
    lines.extend(name + b": " + value for name, value in headers)
    return b"\r\n".join(lines) + b"\r\n\r\n"


def new_key() -> bytes:
    return base64.b64encode(os.urandom(16))


def _mask(payload: bytes, key: bytes) -> bytes:
    if not payload:
        return b""
    repeated = (key * (len(payload) // 4 + 1))[:len(payload)]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(repeated, "little")).to_bytes(
        len(payload), "little")


def encode_frame(opcode: int, payload: bytes = b"", *, fin: bool = True, rsv: int = 0,
                 mask: bool = True, key: bytes | None = None,
                 length: int | None = None, long_length: bool = False) -> bytes:
    """A frame exactly as told (§5.2). ``mask`` False sends it unmasked (a client
    MUST mask, so servers must fail that); ``rsv`` sets RSV1..3 (bits 4, 2, 1);
    ``length`` overrides the declared payload length; ``long_length`` uses the 64-bit
    length form even for a small payload (a non-minimal encoding)."""
    declared = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (rsv & 7) << 4 | (opcode & 0x0F)])
    bit = 0x80 if mask else 0
    if long_length or declared > 0xFFFF:
        head += bytes([bit | 127]) + struct.pack("!Q", declared)
    elif declared > 125:
        head += bytes([bit | 126]) + struct.pack("!H", declared)
    else:
        head += bytes([bit | declared])
    if not mask:
        return head + payload
    key = os.urandom(4) if key is None else key
    return head + key + _mask(payload, key)


def close_payload(code: int | None = 1000, reason: bytes = b"") -> bytes:
    return b"" if code is None else struct.pack("!H", code) + reason


class RawWebSocket(RawConnection):
    """A TCP connection that speaks WebSocket by hand (see the module docstring)."""

    def __init__(self, host: str, port: int, *, timeout: float = 2.0,
                 allow_extensions: bool = False) -> None:
        super().__init__(host, port, timeout=timeout)
        #: Frames read so far, in order (evidence for reports).
        self.frames: list[Frame] = []
        #: RSV1 is legal on frames from the server only with a negotiated extension.
        self.allow_extensions = allow_extensions

    def __enter__(self) -> RawWebSocket:
        return self

    # -- handshake -------------------------------------------------------------------

    def open(self, path: str = "/", *, key: bytes | None = None, timeout: float | None = None,
             **options: object) -> Handshake:
        """Send a handshake (``handshake_request`` options) and read the answer."""
        key = new_key() if key is None else key
        self.send(handshake_request(path, key=key, **options))  # type: ignore[arg-type]
        return self.read_handshake(timeout)

    def read_handshake(self, timeout: float | None = None) -> Handshake:
        """Read the answer to a handshake: a 101 head (frames that follow stay buffered)
        or a complete ordinary response."""
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while b"\r\n\r\n" not in self._buffer:
            if self.peer_closed is not None:
                raise NoResponse(f"connection {self.peer_closed} after {len(self._buffer)} "
                                 f"bytes without a handshake response")
            chunk = self._recv(deadline)
            if chunk is None:
                raise NoResponse(f"no handshake response in {limit:g} s")
            self._buffer += chunk
        head, _, rest = self._buffer.partition(b"\r\n\r\n")
        status_line, *lines = head.split(b"\r\n")
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise MalformedFrame(f"not an HTTP status line: {status_line[:80]!r}")
        status = int(parts[1])
        if status != 101:
            return Handshake(status, response=self.read_response("GET", timeout))
        headers = []
        for line in lines:
            name, sep, value = line.partition(b":")
            if not sep:
                raise MalformedFrame(f"malformed header line in the 101: {line[:80]!r}")
            headers.append((name.strip().lower(), value.strip()))
        self._buffer = rest
        return Handshake(101, headers, head + b"\r\n\r\n")

    # -- frames ----------------------------------------------------------------------

    def send_frame(self, opcode: int, payload: bytes = b"", **options: object) -> None:
        self.send(encode_frame(opcode, payload, **options))  # type: ignore[arg-type]

    def read_frame(self, timeout: float | None = None) -> Frame | None:
        """The next frame, or None when the server closed the TCP connection first.
        Raises NoResponse when nothing complete arrives within ``timeout``."""
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            frame = self._parse()
            if frame is not None:
                self.frames.append(frame)
                return frame
            if self.peer_closed is not None:
                return None
            chunk = self._recv(deadline)
            if chunk is None:
                raise NoResponse(f"no complete frame in {limit:g} s "
                                 f"({len(self._buffer)} bytes pending)")
            self._buffer += chunk

    def readable(self) -> bool:
        """Whether received bytes wait to be parsed, or the socket has bytes or the
        peer's close to read right now: a check that never waits."""
        if self._buffer or self.peer_closed is not None:
            return True
        ready, _, _ = select.select([self._sock], [], [], 0)
        return bool(ready)

    def read_message(self, timeout: float | None = None,
                     answer_pings: bool = True) -> tuple[int, bytes] | Frame | None:
        """The next data message ``(opcode, payload)`` reassembled from its fragments,
        answering pings on the way; a close frame is returned as the :class:`Frame`;
        None when TCP closed first."""
        opcode = None
        parts: list[bytes] = []
        while True:
            frame = self.read_frame(timeout)
            if frame is None or frame.opcode == CLOSE:
                return frame
            if frame.opcode == PING:
                if answer_pings:
                    self.send_frame(PONG, frame.payload)
                continue
            if frame.opcode == PONG:
                continue
            if frame.opcode == CONTINUATION:
                if opcode is None:
                    raise MalformedFrame("continuation frame with no message in progress")
            elif opcode is not None:
                raise MalformedFrame("new data frame inside a fragmented message")
            else:
                opcode = frame.opcode
            parts.append(frame.payload)
            if frame.fin:
                return opcode, b"".join(parts)

    def close_handshake(self, code: int | None = 1000, reason: bytes = b"",
                        timeout: float | None = None) -> Frame | None:
        """Send a close frame and read until the server's close (data frames on the
        way are kept in :attr:`frames`); None if TCP closed without one."""
        self.send_frame(CLOSE, close_payload(code, reason))
        while True:
            frame = self.read_frame(timeout)
            if frame is None or frame.opcode == CLOSE:
                return frame

    def _parse(self) -> Frame | None:
        buf = self._buffer
        if len(buf) < 2:
            return None
        b0, b1 = buf[0], buf[1]
        masked = bool(b1 & 0x80)
        length = b1 & 0x7F
        offset = 2
        if length == 126:
            if len(buf) < 4:
                return None
            length = struct.unpack("!H", buf[2:4])[0]
            offset = 4
        elif length == 127:
            if len(buf) < 10:
                return None
            length = struct.unpack("!Q", buf[2:10])[0]
            offset = 10
        if length > _MAX_FRAME:
            raise MalformedFrame(f"the server announced a {length}-byte frame")
        key = b""
        if masked:
            if len(buf) < offset + 4:
                return None
            key = buf[offset:offset + 4]
            offset += 4
        if len(buf) < offset + length:
            return None
        payload = buf[offset:offset + length]
        self._buffer = buf[offset + length:]
        frame = Frame(b0 & 0x0F, _mask(payload, key) if masked else payload,
                      bool(b0 & 0x80), (b0 >> 4) & 7, masked)
        self._check(frame)
        return frame

    def _check(self, frame: Frame) -> None:
        """RFC 6455 rules for what a server sends."""
        if frame.masked:
            raise MalformedFrame(f"§5.1: a server MUST NOT mask its frames: {frame!r}")
        allowed = 4 if self.allow_extensions else 0
        if frame.rsv & ~allowed:
            raise MalformedFrame(f"§5.2: RSV bits set with no extension for them: {frame!r}")
        if frame.opcode in (3, 4, 5, 6, 7) or frame.opcode > 0xA:
            raise MalformedFrame(f"§5.2: reserved opcode from the server: {frame!r}")
        if frame.opcode in _CONTROL and (not frame.fin or len(frame.payload) > 125):
            raise MalformedFrame(f"§5.5: fragmented or oversized control frame: {frame!r}")
