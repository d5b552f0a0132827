"""The raw HTTP client, against tiny scripted servers running in threads.

Each server accepts one connection on 127.0.0.1, runs a handler that reads the request
and writes exact bytes, and is always shut down with bounded waits, so a broken client
fails a test instead of hanging the run.
"""

from __future__ import annotations

import itertools
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.rawhttp import (
    MalformedResponse,
    NoResponse,
    RawConnection,
    Response,
    exchange,
    render_transcript,
)

BOUND = 2.0  # every wait in the servers; the tests themselves take far less
SHORT = 0.2  # the client's timeout where a case expects silence

Handler = Callable[["Scripted", socket.socket], None]


class Scripted:
    """A one-connection server: ``handler(server, sock)`` runs in a thread.

    ``stop()`` releases handlers waiting on ``done``, joins the thread and re-raises
    whatever the handler raised, so server-side failures fail the test.
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(BOUND)
        self.port: int = self.listener.getsockname()[1]
        self.done = threading.Event()
        self.seen: dict[str, Any] = {}
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            sock, peer = self.listener.accept()
            self.seen["peer_port"] = peer[1]
            with sock:
                sock.settimeout(BOUND)
                self.handler(self, sock)
        except BaseException as exc:
            self.error = exc

    def stop(self) -> None:
        self.done.set()
        self.listener.close()
        self.thread.join(BOUND)
        assert not self.thread.is_alive(), "the scripted server did not stop"
        if self.error is not None:
            raise self.error

    def connect(self, timeout: float = 1.0) -> RawConnection:
        return RawConnection("127.0.0.1", self.port, timeout=timeout)

    def __enter__(self) -> Scripted:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], Scripted]]:
    servers: list[Scripted] = []

    def start(handler: Handler) -> Scripted:
        servers.append(Scripted(handler))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def read_head(sock: socket.socket, buffer: bytearray | None = None) -> bytes:
    """Read up to and including the blank line ending a request head."""
    data = buffer if buffer is not None else bytearray()
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise EOFError(f"client closed before a full head: {bytes(data)!r}")
        data += chunk
    end = data.index(b"\r\n\r\n") + 4
    head = bytes(data[:end])
    del data[:end]
    return head


def answer(reply: bytes, *, close: bool = False, hold: bool = True) -> Handler:
    """Read one request head, send ``reply``; then close, or hold the connection open
    until the test is over (so a close is never mistaken for the end of the reply)."""

    def handler(server: Scripted, sock: socket.socket) -> None:
        server.seen["request"] = read_head(sock)
        sock.sendall(reply)
        if close:
            sock.shutdown(socket.SHUT_WR)
        elif hold:
            server.done.wait(BOUND)

    return handler


REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def get(serve: Callable[[Handler], Scripted], reply: bytes, method: str = "GET",
        **kwargs: Any) -> Response:
    server = serve(answer(reply, **kwargs))
    with server.connect() as conn:
        conn.send(REQUEST.replace(b"GET", method.encode(), 1))
        response = conn.read_response(method)
        assert conn.unread() == b""
    return response


# --- framing ------------------------------------------------------------------------------


def test_content_length_body(serve):
    """The common case: every field is exposed and raw keeps the exact bytes."""
    reply = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
    response = get(serve, reply)
    assert (response.status, response.reason, response.http_version) == (200, b"OK", "1.1")
    assert response.body == b"hello" and response.framing == "content-length"
    assert response.raw == reply and response.keep_alive
    assert response.header(b"Content-Type") == b"text/plain"
    assert response.raw_headers[0] == (b"Content-Type", b"text/plain")


def test_chunked_body_with_trailers(serve):
    """Chunks are joined into the body; trailer fields are kept apart from headers."""
    reply = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n"
             b"3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nX-Sum: 7\r\n\r\n")
    response = get(serve, reply)
    assert response.body == b"abcdefg" and response.framing == "chunked"
    assert response.trailers == [(b"x-sum", b"7")]
    assert response.raw == reply


def test_close_delimited_body(serve):
    """HTTP/1.0 style: no length, the body ends at the server's FIN; not reusable."""
    server = serve(answer(b"HTTP/1.0 200 OK\r\nServer: old\r\n\r\nuntil the end", close=True))
    with server.connect() as conn:
        conn.send(REQUEST)
        response = conn.read_response()
        assert ("closed", b"") in [(kind, data) for kind, _, data in conn.transcript]
    assert response.body == b"until the end" and response.framing == "close"
    assert response.http_version == "1.0" and not response.keep_alive


def test_head_response_has_no_body_and_pipelines(serve):
    """A HEAD response's Content-Length describes a body that is not sent, so the next
    response starts right after the head."""
    reply = (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
             b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
    server = serve(answer(reply))
    with server.connect() as conn:
        conn.send(REQUEST.replace(b"GET", b"HEAD") + REQUEST)
        head, full = conn.read_responses(["HEAD", "GET"])
    assert head.body == b"" and head.framing == "none"
    assert head.header(b"content-length") == b"5"
    assert full.body == b"hello" and full.framing == "content-length"


@pytest.mark.parametrize("status", [204, 304])
def test_bodiless_statuses(serve, status):
    reply = f"HTTP/1.1 {status} X\r\nContent-Length: 3\r\n\r\n".encode()
    response = get(serve, reply)
    assert response.status == status and response.body == b""
    assert response.framing == "none" and response.keep_alive


def test_bytes_after_a_204_are_left_unread(serve):
    """A body sent after a 204 is not part of it: it stays unread, for cases to judge."""
    server = serve(answer(b"HTTP/1.1 204 No Content\r\n\r\noops"))
    with server.connect() as conn:
        conn.send(REQUEST)
        assert conn.read_response().body == b""
        assert not conn.wait_closed(0.05)
        assert conn.unread() == b"oops"


def test_informational_responses_precede_the_final_one(serve):
    """100 Continue and 103 Early Hints are collected; raw includes them."""
    reply = (b"HTTP/1.1 100 Continue\r\n\r\n"
             b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
             b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    response = get(serve, reply)
    assert [(i.status, i.headers) for i in response.informational] == [
        (100, []), (103, [(b"link", b"</a.css>; rel=preload")])]
    assert response.status == 200 and response.body == b"ok" and response.raw == reply


def test_101_ends_the_http_exchange(serve):
    """After 101 the bytes belong to another protocol: they stay unread."""
    server = serve(answer(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          b"Connection: Upgrade\r\n\r\n\x81\x02hi"))
    with server.connect() as conn:
        conn.send(REQUEST)
        response = conn.read_response()
        assert not conn.wait_closed(0.05)
        assert conn.unread() == b"\x81\x02hi"
    assert response.status == 101 and response.framing == "none"
    assert not response.keep_alive


@pytest.mark.parametrize(("connection", "version", "keep_alive"), [
    (b"close", b"1.1", False),
    (b"Keep-Alive", b"1.0", True),
    (None, b"1.0", False),
])
def test_keep_alive_follows_connection_header(serve, connection, version, keep_alive):
    head = b"HTTP/" + version + b" 200 OK\r\nContent-Length: 0\r\n"
    if connection is not None:
        head += b"Connection: " + connection + b"\r\n"
    assert get(serve, head + b"\r\n").keep_alive is keep_alive


def test_header_lookup_keeps_duplicates_and_raw_case(serve):
    reply = (b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nX-Odd-CASE: v\r\nset-cookie: b=2\r\n"
             b"Content-Length: 0\r\n\r\n")
    response = get(serve, reply)
    assert response.header_values(b"SET-COOKIE") == [b"a=1", b"b=2"]
    assert response.header(b"x-odd-case") == b"v" and response.header(b"missing") is None
    assert (b"X-Odd-CASE", b"v") in response.raw_headers
    assert (b"x-odd-case", b"v") in response.headers


def test_large_head_is_accepted(serve):
    """h11's 16 KiB default would reject this in the client; the size is for cases to
    judge."""
    big = b"x" * 100_000
    response = get(serve, b"HTTP/1.1 200 OK\r\nX-Big: " + big + b"\r\nContent-Length: 0\r\n\r\n")
    assert response.header(b"x-big") == big


def test_exchange_and_local_port(serve):
    """exchange() is one connection for one response; local_port is our side's port."""
    server = serve(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n!"))
    assert exchange("127.0.0.1", server.port, REQUEST).body == b"!"
    assert server.seen["request"] == REQUEST

    server = serve(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
    with server.connect() as conn:
        conn.send(REQUEST)
        conn.read_response()
        assert conn.local_port == server.seen["peer_port"]


# --- pipelining, arbitrary splits ---------------------------------------------------------

PIPELINE: list[tuple[str, bytes]] = [
    ("GET", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"),
    ("HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"),
    ("GET", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2\r\nse\r\n4\r\ncond\r\n0\r\nX-T: 1\r\n\r\n"),
    ("POST", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"),
    ("GET", b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlast"),
]
STREAM = b"".join(reply for _, reply in PIPELINE)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(1, len(STREAM) - 1), max_size=8, unique=True))
def test_pipelined_responses_survive_any_split(cuts):
    """However TCP splits the stream, each response is parsed whole and in order, and
    the raw bytes of all responses add back up to the stream."""
    bounds = [0, *sorted(cuts), len(STREAM)]
    pieces = [STREAM[a:b] for a, b in itertools.pairwise(bounds)]

    def handler(server: Scripted, sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        read_head(sock)
        for piece in pieces:
            sock.sendall(piece)
            time.sleep(0.001)
        server.done.wait(BOUND)

    with Scripted(handler) as server, server.connect() as conn:
        conn.send(REQUEST)
        responses = conn.read_responses([method for method, _ in PIPELINE])
        assert conn.unread() == b""
    assert b"".join(r.raw for r in responses) == STREAM
    assert [r.body for r in responses] == [b"first", b"", b"second", b"", b"last"]
    assert [r.status for r in responses] == [200, 200, 200, 204, 200]
    assert responses[2].trailers == [(b"x-t", b"1")]
    assert [i.status for i in responses[3].informational] == [100]


# --- sending ------------------------------------------------------------------------------


def test_send_pieces_arrive_in_order(serve):
    """Pieces go out as separate sends, in order, and are recorded one by one."""
    pieces = [b"GET / HT", b"TP/1.1\r\nHo", b"st: x\r\n", b"\r\n"]

    def handler(server: Scripted, sock: socket.socket) -> None:
        server.seen["request"] = read_head(sock)
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        server.done.wait(BOUND)

    server = serve(handler)
    with server.connect() as conn:
        conn.send_pieces(pieces, pause=0.01)
        conn.read_response()
        assert [data for kind, _, data in conn.transcript if kind == "sent"] == pieces
        assert conn.sent_bytes() == b"".join(pieces)
    assert server.seen["request"] == b"".join(pieces)


def test_half_close_still_reads_the_answer(serve):
    """After shutdown_write the server sees EOF, and its answer is still read."""

    def handler(server: Scripted, sock: socket.socket) -> None:
        data = bytearray()
        while chunk := sock.recv(4096):
            data += chunk
        server.seen["request"] = bytes(data)
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nbye")

    server = serve(handler)
    with server.connect() as conn:
        conn.send(REQUEST)
        conn.shutdown_write()
        assert conn.read_response().body == b"bye"
        assert "[client half-closed" in render_transcript(conn.transcript)[0]
    assert server.seen["request"] == REQUEST


def test_send_to_a_reset_connection_is_a_marker_not_an_error(serve):
    """A server may reject a request and reset the connection while we still write; the
    verdict comes from reading, not from an exception in send()."""

    def handler(server: Scripted, sock: socket.socket) -> None:
        read_head(sock)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    server = serve(handler)
    with server.connect() as conn:
        conn.send(REQUEST)
        assert conn.wait_closed(1.0)
        conn.send(b"x" * 100_000)
        with pytest.raises(NoResponse, match="reset"):
            conn.read_response()


# --- verdicts -----------------------------------------------------------------------------


@pytest.mark.parametrize(("reply", "reason"), [
    (b"HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n", b"2OO"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", b"zz"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", b"Length: 2"),
    (b"HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n", b"Bad Header"),
])
def test_malformed_response(serve, reply, reason):
    """h11's rejection is a fail verdict whose message shows the offending bytes."""
    server = serve(answer(reply))
    with server.connect() as conn:
        conn.send(REQUEST)
        with pytest.raises(MalformedResponse) as info:
            conn.read_response()
    assert isinstance(info.value, AssertionError)
    assert "h11 rejected" in str(info.value) and repr(reason)[2:-1] in str(info.value)


def test_silence_is_no_response(serve):
    """A server that never answers yields a verdict once the bound runs out."""
    server = serve(answer(b""))
    with server.connect() as conn:
        conn.send(REQUEST)
        with pytest.raises(NoResponse, match=r"no response in 0\.2 s"):
            conn.read_response(timeout=SHORT)


def test_partial_response_then_silence(serve):
    """Bytes that never complete a response are reported, and kept as unread."""
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"
    server = serve(answer(reply))
    with server.connect() as conn:
        conn.send(REQUEST)
        with pytest.raises(NoResponse, match=f"no complete response .*{len(reply)} bytes"):
            conn.read_response(timeout=SHORT)
        assert conn.unread() == reply


def test_close_mid_body_names_the_byte_count(serve):
    """h11's complaint about the EOF becomes a NoResponse, not a MalformedResponse."""
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"
    server = serve(answer(reply, close=True))
    with server.connect() as conn:
        conn.send(REQUEST)
        with pytest.raises(NoResponse, match=f"closed after {len(reply)} bytes"):
            conn.read_response()
        assert conn.unread() == reply


def test_close_without_any_response(serve):
    server = serve(answer(b"", close=True))
    with server.connect() as conn:
        conn.send(REQUEST)
        with pytest.raises(NoResponse, match="closed after 0 bytes"):
            conn.read_response()


def test_reset_mid_response(serve):
    """An RST before the response is complete is a NoResponse marked in the transcript."""

    def handler(server: Scripted, sock: socket.socket) -> None:
        read_head(sock)
        sock.sendall(b"HTTP/1.1 200 OK\r\n")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    server = serve(handler)
    with server.connect() as conn:
        conn.send(REQUEST)
        with pytest.raises(NoResponse, match="reset"):
            conn.read_response()
        assert "reset" in [kind for kind, _, _ in conn.transcript]
        assert conn.peer_closed == "reset"


# --- closing ------------------------------------------------------------------------------


def test_wait_closed_true_when_server_closes(serve):
    """Bytes that arrive while waiting are kept, then the close is seen."""
    server = serve(answer(b"late bytes", close=True))
    with server.connect() as conn:
        conn.send(REQUEST)
        assert conn.wait_closed(1.0)
        assert conn.unread() == b"late bytes"
        assert conn.received_bytes() == b"late bytes"
        assert conn.wait_closed(0)  # stays true


def test_wait_closed_false_when_server_holds(serve):
    server = serve(answer(b""))
    with server.connect() as conn:
        conn.send(REQUEST)
        assert not conn.wait_closed(0.1)


def test_abort_sends_rst(serve):
    """The server sees the abort as a reset (or at least as the end of the stream)."""
    ready = threading.Event()

    def handler(server: Scripted, sock: socket.socket) -> None:
        read_head(sock)
        ready.set()
        try:
            server.seen["recv"] = sock.recv(10)
        except ConnectionResetError as exc:
            server.seen["recv"] = exc

    server = serve(handler)
    conn = server.connect()
    conn.send(REQUEST)
    assert ready.wait(BOUND)
    conn.abort()
    conn.abort()  # idempotent
    server.stop()
    assert isinstance(server.seen["recv"], ConnectionResetError) or server.seen["recv"] == b""


def test_close_is_orderly_and_idempotent(serve):
    """close() sends FIN, not RST, even with unread bytes waiting."""
    ready = threading.Event()

    def handler(server: Scripted, sock: socket.socket) -> None:
        read_head(sock)
        sock.sendall(b"unread")
        ready.set()
        server.seen["recv"] = sock.recv(10)

    server = serve(handler)
    conn = server.connect()
    conn.send(REQUEST)
    assert ready.wait(BOUND)
    time.sleep(0.01)
    conn.close()
    conn.close()
    server.stop()
    assert server.seen["recv"] == b""
    with pytest.raises(RuntimeError):
        conn.send(b"x")


def test_connect_refused_propagates():
    """A refused connection is the harness's problem (server down), not a verdict."""
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(ConnectionRefusedError):
        RawConnection("127.0.0.1", port, timeout=0.5)


# --- evidence -----------------------------------------------------------------------------


def test_render_transcript_escapes_and_breaks_lines():
    transcript = [
        ("sent", 0.0, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("recv", 1.0, b"HTTP/1.1 200 OK\r\n\r\n\x00\xff\t\\"),
        ("closed", 2.0, b""),
    ]
    sent, received = render_transcript(transcript)
    assert sent == "GET / HTTP/1.1\\r\\n\nHost: x\\r\\n\n\\r\\n"
    assert received.splitlines() == [
        "HTTP/1.1 200 OK\\r\\n", "\\r\\n", "\\x00\\xff\\t\\\\",
        "[connection closed by the server (FIN)]",
    ]


def test_render_transcript_truncates_each_side():
    transcript = [("sent", 0.0, b"a" * 10), ("recv", 0.0, b"b" * 6),
                  ("recv", 0.1, b"c" * 6), ("reset", 0.2, b"")]
    sent, received = render_transcript(transcript, limit=8)
    assert sent == "aaaaaaaa\n... [2 more bytes]"
    assert received == "bbbbbbcc\n... [4 more bytes]\n[connection reset (RST)]"
    assert render_transcript([]) == ("(no bytes)", "(no bytes)")
