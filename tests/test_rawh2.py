"""The raw HTTP/2 client against scripted servers: frames are written exactly as asked,
what the server sends is parsed strictly, and every wait ends within its bound."""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
from collections.abc import Callable, Iterator

import h2.config
import h2.connection
import h2.events
import pytest
from hpack import Encoder

from conformance import rawh2
from conformance.h2probe import write_cert
from conformance.rawh2 import (
    PREFACE,
    ErrorCode,
    FrameType,
    H2Connection,
    MalformedFrame,
    NotH2,
    frame_bytes,
)
from conformance.testcert import TEST_CERT
from conformance.verdicts import NoResponse

Script = Callable[[socket.socket], None]


@pytest.fixture
def scripted() -> Iterator[Callable[[Script], int]]:
    """Start a one-connection server running ``script`` on the accepted socket; returns
    its port."""
    listeners: list[socket.socket] = []
    threads: list[threading.Thread] = []

    def start(script: Script) -> int:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)

        def run() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(5)
                with contextlib.suppress(OSError):
                    script(conn)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        threads.append(thread)
        return int(listener.getsockname()[1])

    yield start
    for listener in listeners:
        listener.close()
    for thread in threads:
        thread.join(5)


def read_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            break
        data += chunk
    return data


def h2_server(sock: socket.socket, respond: bool = True) -> None:
    """A real (h2 library) server answering every request with 200 "ok"."""
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    while True:
        data = sock.recv(65536)
        if not data:
            return
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.RequestReceived) and respond:
                conn.send_headers(event.stream_id, [(":status", "200"), ("x-a", "1")])
                conn.send_data(event.stream_id, b"ok", end_stream=True)
        sock.sendall(conn.data_to_send())


def test_frame_bytes_writes_any_header():
    raw = frame_bytes(FrameType.DATA, 0x1, 0, b"abc", reserved=True, length=9)
    assert raw[:3] == b"\x00\x00\x09"
    assert raw[3:5] == b"\x00\x01"
    assert struct.unpack("!I", raw[5:9])[0] == 0x80000000
    assert raw[9:] == b"abc"


def test_request_and_response_against_the_h2_library(scripted):
    port = scripted(h2_server)
    conn = rawh2.connect("127.0.0.1", port)
    sid = conn.request("GET", "/", headers=[("x-probe-id", "t")])
    response = conn.read_stream(sid)
    assert (response.status, response.body, response.header(b"x-a")) == (200, b"ok", b"1")
    assert conn.peer_settings_seen and conn.settings_acked == 1
    assert conn.ping_roundtrip()
    lines = conn.render_frames()
    assert "→ SETTINGS stream=0" in lines and "← DATA stream=1 [END_STREAM] 2 B" in lines
    conn.close()


def test_the_server_preface_can_be_read_frame_by_frame(scripted):
    port = scripted(h2_server)
    conn = rawh2.connect("127.0.0.1", port, handshake=False)
    conn.send_preface()
    first = conn.next_frame()
    assert type(first).__name__ == "SettingsFrame"
    conn.wait_settings_ack()  # the server's SETTINGS was already read: no second wait
    conn.close()


def _after_preface(payload: bytes) -> Script:
    def script(sock: socket.socket) -> None:
        read_exactly(sock, len(PREFACE) + 9)
        sock.sendall(frame_bytes(FrameType.SETTINGS, 0, 0) + payload)
        sock.recv(65536)
    return script


def test_an_oversized_frame_is_malformed(scripted):
    port = scripted(_after_preface(frame_bytes(FrameType.DATA, 0, 1, b"x" * 20000)))
    conn = rawh2.connect("127.0.0.1", port, handshake=False)
    conn.send_preface()
    with pytest.raises(MalformedFrame, match="larger than our SETTINGS_MAX_FRAME_SIZE"):
        for _ in range(3):
            conn.next_frame(timeout=2)
    conn.abort()


def test_an_interrupted_header_block_is_malformed(scripted):
    block = Encoder().encode([(b":status", b"200")])
    interleaved = (frame_bytes(FrameType.HEADERS, 0, 1, block[:1])
                   + frame_bytes(FrameType.DATA, 0, 1, b"x"))
    port = scripted(_after_preface(interleaved))
    conn = rawh2.connect("127.0.0.1", port, handshake=False)
    conn.send_preface()
    with pytest.raises(MalformedFrame, match="interrupted the header block"):
        for _ in range(3):
            conn.next_frame(timeout=2)
    conn.abort()


@pytest.mark.parametrize(("payload", "kind", "code"), [
    (frame_bytes(FrameType.GOAWAY, 0, 0, struct.pack("!II", 0, ErrorCode.PROTOCOL_ERROR)),
     "goaway", ErrorCode.PROTOCOL_ERROR),
    (frame_bytes(FrameType.RST_STREAM, 0, 1, struct.pack("!I", ErrorCode.STREAM_CLOSED)),
     "rst_stream", ErrorCode.STREAM_CLOSED),
])
def test_stream_error_reports_what_the_server_did(scripted, payload, kind, code):
    port = scripted(_after_preface(payload))
    conn = rawh2.connect("127.0.0.1", port, handshake=False)
    conn.send_preface()
    seen = conn.stream_error(1, timeout=2)
    assert (seen.kind, seen.code) == (kind, code)
    assert rawh2.error_name(code) in seen.describe()
    conn.abort()


def test_a_close_and_a_silence_are_verdicts_not_hangs(scripted):
    port = scripted(lambda sock: read_exactly(sock, len(PREFACE) + 9))
    conn = rawh2.connect("127.0.0.1", port, handshake=False)
    conn.send_preface()
    assert conn.connection_error(timeout=2).kind == "closed"
    conn.abort()

    port = scripted(lambda sock: (read_exactly(sock, len(PREFACE) + 9), sock.recv(10)))
    conn = H2Connection("127.0.0.1", port, timeout=0.3)
    conn.send_preface()
    with pytest.raises(NoResponse, match=r"no server SETTINGS within 0\.3 s"):
        conn.wait_settings_ack()
    conn.abort()


def test_upgrade_refused_is_not_h2(scripted):
    def script(sock: socket.socket) -> None:
        sock.recv(65536)
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        sock.recv(10)
    port = scripted(script)
    conn = H2Connection("127.0.0.1", port)
    with pytest.raises(NotH2, match="not 101"):
        conn.upgrade()
    conn.abort()


def test_tls_without_alpn_h2_is_not_h2(scripted, tmp_path):


    cert, key = write_cert(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.set_alpn_protocols(["http/1.1"])

    def script(sock: socket.socket) -> None:
        with context.wrap_socket(sock, server_side=True) as tls:
            tls.recv(10)
    port = scripted(script)
    conn = H2Connection("127.0.0.1", port)
    with pytest.raises(NotH2, match="ALPN"):
        conn.use_tls(TEST_CERT)
    conn.abort()


def test_an_http1_answer_to_the_preface_is_named_as_such(scripted):
    port = scripted(_after_preface_raw(b"HTTP/1.1 400 Bad Request\r\n\r\n"))
    conn = rawh2.connect("127.0.0.1", port, handshake=False)
    conn.send_preface()
    with pytest.raises(MalformedFrame, match=r"answered in HTTP/1\.x"):
        conn.next_frame(timeout=2)
    conn.abort()


def _after_preface_raw(payload: bytes) -> Script:
    def script(sock: socket.socket) -> None:
        read_exactly(sock, len(PREFACE) + 9)
        sock.sendall(payload)
        sock.recv(65536)
    return script


def test_frames_read_by_any_wait_stay_with_their_stream(scripted):
    """A wait for one stream (or for any frame) keeps other streams' frames: their
    answers are assembled as the frames arrive, and the order streams ended is kept."""
    port = scripted(h2_server)
    conn = rawh2.connect("127.0.0.1", port)
    first = conn.request("GET", "/a")
    second = conn.request("GET", "/b")
    conn.frames_until(lambda f: f.stream_id == second and "END_STREAM" in f.flags)
    responses = conn.read_streams([first, second])
    assert [responses[sid].status for sid in (first, second)] == [200, 200]
    assert responses[second].body == b"ok" and responses[first].body == b"ok"
    assert conn.ended_streams == [first, second]
    conn.close()
