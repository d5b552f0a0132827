"""The raw WebSocket client: exact frames out, strict parsing of what a server sends."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from conformance.rawws import (
    BINARY,
    CLOSE,
    CONTINUATION,
    PING,
    TEXT,
    MalformedFrame,
    RawWebSocket,
    accept_key,
    close_payload,
    encode_frame,
    handshake_request,
)
from conformance.verdicts import NoResponse

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="


def unmask(frame: bytes) -> tuple[int, int, bytes]:
    """(first byte, declared length, unmasked payload) of a masked client frame."""
    length = frame[1] & 0x7F
    offset = 2
    if length == 126:
        length, offset = struct.unpack("!H", frame[2:4])[0], 4
    elif length == 127:
        length, offset = struct.unpack("!Q", frame[2:10])[0], 10
    key = frame[offset:offset + 4]
    data = frame[offset + 4:]
    return frame[0], length, bytes(b ^ key[i % 4] for i, b in enumerate(data))


def test_accept_key_matches_rfc_example() -> None:
    """RFC 6455 §1.3's worked example."""
    assert accept_key(KEY) == b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536])
def test_masked_frame_round_trip(size: int) -> None:
    payload = bytes(range(256)) * (size // 256 + 1)
    payload = payload[:size]
    first, length, data = unmask(encode_frame(BINARY, payload, key=b"\x01\x02\x03\x04"))
    assert first == 0x82 and length == size and data == payload


def test_frame_options_are_exact() -> None:
    assert encode_frame(TEXT, b"hi", mask=False) == b"\x81\x02hi"
    assert encode_frame(TEXT, b"hi", fin=False, rsv=4, mask=False) == b"\x41\x02hi"
    assert encode_frame(PING, b"", mask=False, long_length=True) == \
        b"\x89\x7f" + b"\x00" * 8
    assert encode_frame(TEXT, b"", mask=False, length=200) == b"\x81\x7e\x00\xc8"


def test_handshake_request_parts_can_be_removed() -> None:
    request = handshake_request("/chat", key=KEY, version=None, connection=None,
                                subprotocols=["a", "b"])
    assert request.startswith(b"GET /chat HTTP/1.1\r\nHost: localhost\r\n")
    assert b"Sec-WebSocket-Version" not in request and b"Connection" not in request
    assert b"Sec-WebSocket-Protocol: a, b\r\n" in request
    assert request.endswith(b"\r\n\r\n")


def test_handshake_request_without_host() -> None:
    request = handshake_request("/", key=KEY, host=None)
    assert request.startswith(b"GET / HTTP/1.1\r\nUpgrade: websocket\r\n")
    assert b"Host" not in request


@pytest.fixture
def fake_server() -> Iterator[tuple[int, list[bytes]]]:
    """A one-shot TCP server: answers the first request with the bytes put in the list."""
    replies: list[bytes] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(5)

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            for reply in replies:
                conn.sendall(reply)
            with contextlib.suppress(OSError):
                conn.recv(65536)  # until the client goes

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], replies
    listener.close()
    thread.join(timeout=5)


HEAD_101 = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")


def test_handshake_and_fragmented_message(fake_server: tuple[int, list[bytes]]) -> None:
    port, replies = fake_server
    replies.append(HEAD_101 + b"\x01\x03abc" + b"\x89\x01p" + b"\x80\x02de"
                   + b"\x88\x02\x03\xe8")
    with RawWebSocket("127.0.0.1", port) as ws:
        handshake = ws.open("/", key=KEY)
        assert handshake.status == 101
        assert handshake.header(b"sec-websocket-accept") == accept_key(KEY)
        assert ws.read_message() == (TEXT, b"abcde")
        closing = ws.read_message()
        assert not isinstance(closing, tuple) and closing is not None
        assert closing.opcode == CLOSE and closing.close_code == 1000
        assert [f.opcode for f in ws.frames] == [TEXT, PING, CONTINUATION, CLOSE]


@pytest.mark.parametrize("bad", [
    b"\x81\x82abcd\x00\x00",      # masked by the server (§5.1)
    b"\xc1\x01x",                  # RSV1 with no extension
    b"\x83\x00",                   # reserved opcode
    b"\x09\x00",                   # fragmented ping
    b"\x89\x7e\x00\x7e" + b"x" * 126,  # control frame over 125 bytes
])
def test_frames_a_server_must_not_send(fake_server: tuple[int, list[bytes]],
                                       bad: bytes) -> None:
    port, replies = fake_server
    replies.append(HEAD_101 + bad)
    with RawWebSocket("127.0.0.1", port) as ws:
        ws.open("/", key=KEY)
        with pytest.raises(MalformedFrame):
            ws.read_frame()


def test_non_101_answer_is_an_ordinary_response(fake_server: tuple[int, list[bytes]]) -> None:
    port, replies = fake_server
    replies.append(b"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n"
                   b"Content-Length: 0\r\n\r\n")
    with RawWebSocket("127.0.0.1", port) as ws:
        handshake = ws.open("/", key=KEY, version=b"8")
        assert handshake.status == 426
        assert handshake.response is not None
        assert handshake.response.header(b"sec-websocket-version") == b"13"


def test_missing_frame_is_a_bounded_verdict(fake_server: tuple[int, list[bytes]]) -> None:
    port, replies = fake_server
    replies.append(HEAD_101 + b"\x81\x05ab")  # a frame that never completes
    with RawWebSocket("127.0.0.1", port, timeout=0.3) as ws:
        ws.open("/", key=KEY)
        with pytest.raises(NoResponse):
            ws.read_frame()


def test_close_payload() -> None:
    assert close_payload(1000, b"ok") == b"\x03\xe8ok"
    assert close_payload(None) == b""
