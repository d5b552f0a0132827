"""The reference server's own choices in serving HTTP, end to end over real sockets: what
no RFC fixes (how much unread body it reads away to keep a connection, when a slow head is
cut off, which credit it gives back over HTTP/2, its Server field), so the conformance
suite cannot fail a server for them, yet operators rely on them. Each test names the
mutation-testing survivor it was written for (bench/mutation_survivors.md).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hyperframe.frame import DataFrame, RstStreamFrame, WindowUpdateFrame

from conformance.rawh2 import Setting
from conformance.rawh2 import connect as h2_connect
from tests.reference.server_process import ServerProcess

APP = "tests.reference.h2_app:app"


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("http"), APP)
    yield srv
    assert srv.stop() == 0, srv.stderr()
    assert "Traceback" not in srv.stderr(), srv.stderr()


def read_response(sock: socket.socket) -> bytes:
    """One Content-Length response (head and body) off ``sock``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.lower().split(b"\r\n")
                  if line.startswith(b"content-length:"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, f"closed inside the body: {head!r}"
        body += chunk
    return head + b"\r\n\r\n" + body


def test_an_unread_body_is_read_away_and_the_connection_kept(http_server: ServerProcess) -> None:
    """An app that answers without reading a 200 KB request body: the server reads the
    body away (up to 1 MiB; beyond that closing is cheaper) and serves the next request
    on the same connection (RFC 9112 §9.3 persistence; §9.6 would allow a close, which
    costs the client a new connection). Mutation testing found the 1 MiB bound shrinkable
    to 2 KiB unnoticed."""
    body = b"x" * 200_000
    with socket.create_connection(("127.0.0.1", http_server.port), timeout=5) as sock:
        sock.sendall(b"POST /no-read HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n"
                     % len(body) + body)
        first = read_response(sock)
        assert first.startswith(b"HTTP/1.1 200 "), first
        assert b"connection: close" not in first.lower(), first
        sock.sendall(b"GET /again HTTP/1.1\r\nHost: t\r\n\r\n")
        second = read_response(sock)
    assert second.startswith(b"HTTP/1.1 200 "), second
    assert json.loads(second.partition(b"\r\n\r\n")[2])["path"] == "/again"


def test_a_head_started_on_a_kept_connection_gets_the_head_timeout(tmp_path: Path) -> None:
    """After a first request, a second head that starts and stalls is cut off by
    --timeout-request-head, not left to the (here much longer) --timeout-keep-alive: the
    slow-loris bound holds on reused connections too. Mutation testing found the switch
    from the idle timer to the head timer removable, with only a non-strict verdict in
    the suite (timeouts are configuration there)."""
    srv = ServerProcess(tmp_path, APP, "--timeout-request-head", "0.5",
                        "--timeout-keep-alive", "60")
    try:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
            sock.sendall(b"GET /first HTTP/1.1\r\nHost: t\r\n\r\n")
            assert read_response(sock).startswith(b"HTTP/1.1 200 ")
            sock.sendall(b"GET /second HTTP/1.1\r\nHost: t\r\n")
            sock.settimeout(15)
            rest = b""
            try:
                while chunk := sock.recv(65536):
                    rest += chunk
            except TimeoutError:
                pytest.fail("the stalled head was not cut off within 15 s (head timeout "
                            f"0.5 s, keep-alive 60 s); read {rest!r}")
    finally:
        assert srv.stop() == 0, srv.stderr()


def test_a_trickled_head_is_cut_off_by_the_head_timeout(tmp_path: Path) -> None:
    """A slow loris: a head that grows by a byte every 0.2 s never completes, and
    --timeout-request-head bounds the whole head, not the gap between two bytes, so the
    server answers 408 and closes (RFC 9110 §15.5.9). Mutation testing found each byte
    able to restart the timer; the suite only rates that non-strict (timeouts are
    configuration)."""
    srv = ServerProcess(tmp_path, APP, "--timeout-request-head", "0.5")
    try:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ")
            sock.settimeout(0.2)
            answer, reset = b"", False
            for _ in range(50):  # 10 s of trickling at most
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    try:
                        sock.sendall(b"a")
                    except OSError:  # closed between our wait and our byte
                        reset = True
                        break
                    continue
                except ConnectionResetError:  # our byte met the close: the 408 may be lost
                    reset = True
                    break
                if not chunk:
                    break
                answer += chunk
            else:
                pytest.fail(f"the trickled head was not cut off in 10 s; read {answer!r}")
        assert answer.startswith(b"HTTP/1.1 408 ") or (reset and not answer), answer
    finally:
        assert srv.stop() == 0, srv.stderr()


def test_h2_responses_carry_the_server_field(http_server: ServerProcess, tmp_path: Path) -> None:
    """Over HTTP/2 as over HTTP/1.1 a response carries ``server: reference-server``
    unless --no-server-header is given (RFC 9110 §10.2.4 lets an origin server send it).
    Mutation testing found the h2 field's condition invertible unnoticed: no Server by
    default, an empty one with the option."""
    conn = h2_connect("127.0.0.1", http_server.port, timeout=5)
    try:
        response = conn.read_stream(conn.request("GET", "/"))
    finally:
        conn.abort()
    assert response.header_values(b"server") == [b"reference-server"], response
    quiet = ServerProcess(tmp_path, APP, "--no-server-header")
    try:
        conn = h2_connect("127.0.0.1", quiet.port, timeout=5)
        try:
            response = conn.read_stream(conn.request("GET", "/"))
        finally:
            conn.abort()
    finally:
        assert quiet.stop() == 0, quiet.stderr()
    assert response.status == 200 and response.header_values(b"server") == [], response


def test_h2_request_body_credit_is_given_back_whole(http_server: ServerProcess) -> None:
    """The server gives a stream's receive window back for exactly the body bytes the app
    took, in batches of at least half the initial window (RFC 9113 §6.9: a receiver
    that does not return what it consumed shrinks the sender's window for good). Two
    DATA frames of 16,384 bytes, the second sent after the app has had time to take the
    first: the stream's WINDOW_UPDATE is for 32,768. Mutation testing found one byte
    lost per credit return (a slow leak that ends a long upload's stream)."""
    conn = h2_connect("127.0.0.1", http_server.port, timeout=5)
    try:
        sid = conn.new_stream()
        conn.send_headers(sid, conn.request_headers("POST", "/upload"), end_stream=False)
        conn.send_data(sid, b"a" * 16_384)
        time.sleep(0.3)  # the app takes the first frame on its own (not a timing check)
        conn.send_data(sid, b"b" * 16_384)
        conn.frames_until(lambda f: isinstance(f, WindowUpdateFrame) and f.stream_id == sid,
                          5, "a WINDOW_UPDATE for the stream")
        conn.send_data(sid, b"", end_stream=True)
        response = conn.read_stream(sid)
    finally:
        conn.abort()
    increments = [f.window_increment for f in conn.received
                  if isinstance(f, WindowUpdateFrame) and f.stream_id == sid]
    assert increments == [32_768], conn.frame_log
    assert response.status == 200
    assert len(json.loads(response.body)["body"]) == 32_768
    assert not [f for f in conn.received if isinstance(f, DataFrame) and f.stream_id != sid]


def test_h2_body_beyond_content_length_tells_the_app_by_how_much(
        http_server: ServerProcess) -> None:
    """An app that sends 11 bytes under ``content-length: 5`` over h2: the head and the 5
    declared bytes go out, the stream is reset (RFC 9113 §8.1.1), and the app's send()
    raises an error that says by how many bytes it overran, which is what its author
    needs to fix it. Mutation testing found the count in that message computable wrongly,
    and the declared bytes left unsent before the reset, both unnoticed (the suite
    accepts a reset whatever came before it)."""
    conn = h2_connect("127.0.0.1", http_server.port, timeout=5)
    try:
        sid = conn.request("GET", "/too-long")
        error = conn.stream_error(sid, timeout=5)
        response = conn.read_stream(conn.request("GET", "/seen/too-long"))
    finally:
        conn.abort()
    assert error.kind == "rst_stream", error.describe()
    head = conn.decoded.get(sid)
    assert head and dict(head[0]).get(b":status") == b"200", conn.frame_log
    sent = b"".join(f.data for f in conn.received
                    if isinstance(f, DataFrame) and f.stream_id == sid)
    assert sent == b"hello", conn.frame_log
    assert json.loads(response.body) == (
        "InvalidMessage: body exceeds the declared content-length by 6 bytes")


def test_h2_500_for_a_failed_app_ends_its_stream(tmp_path: Path) -> None:
    """The app raises before responding to a request whose body is still coming: over
    h2 the server answers 500 (asgi.rst, Error Handling) with END_STREAM, and the stream
    is then done: the client is told to stop sending with RST_STREAM NO_ERROR (RFC 9113
    §8.1 lets a server do so; the reference server does, as for any early response).
    Mutation testing found the stream left open after the 500 unnoticed."""
    srv = ServerProcess(tmp_path, APP)
    try:
        conn = h2_connect("127.0.0.1", srv.port, timeout=5)
        try:
            sid = conn.new_stream()
            conn.send_headers(sid, conn.request_headers("POST", "/raise"), end_stream=False)
            response = conn.read_stream(sid)
            conn.frames_until(lambda f: isinstance(f, RstStreamFrame) and f.stream_id == sid,
                              5, "RST_STREAM NO_ERROR after the 500")
        finally:
            conn.abort()
    finally:
        assert srv.stop() == 0, srv.stderr()
    assert response.status == 500, response
    reset = next(f for f in conn.received if isinstance(f, RstStreamFrame))
    assert reset.error_code == 0, conn.frame_log
    assert "the app fails before its response" in srv.stderr()


def test_h2_path_that_is_not_utf8_gets_a_whole_400(http_server: ServerProcess) -> None:
    """A :path whose percent-decoding is not UTF-8 cannot become the scope's ``path``
    (www.rst: "decoded from UTF-8"), so the reference server answers 400 itself, over h2
    as over HTTP/1.1, and the answer ends its stream. Mutation testing found the 400 able
    to leave the stream open (the client waits for a body that never ends) unnoticed."""
    conn = h2_connect("127.0.0.1", http_server.port, timeout=5)
    try:
        response = conn.read_stream(conn.request("GET", "/%ff%fe"))
    finally:
        conn.abort()
    assert response.status == 400, response
    assert response.body == b"path is not UTF-8\n", response


def test_h2_streamed_response_through_a_window_of_ten_bytes(
        http_server: ServerProcess) -> None:
    """A response streamed in several body events to a client whose stream window is 10
    bytes: each send() waits for the window (RFC 9113 §6.9), the client opens it a
    little at a time, and the whole body arrives; meanwhile the server keeps answering
    on another connection. Mutation testing found the wait for the window able to turn
    into a loop that never yields once the window opened, freezing the whole server,
    which the suite saw only as a flaky failure."""
    conn = h2_connect("127.0.0.1", http_server.port, timeout=5,
                      settings={Setting.INITIAL_WINDOW_SIZE: 10})
    try:
        sid = conn.request("GET", "/stream")
        expected = b"".join(b"chunk %d\n" % n * 10 for n in range(3)) + b"end\n"
        for _ in range(2 * (len(expected) // 10 + 1)):  # a DATA frame may carry less
            if sid in conn.ended_streams:
                break
            conn.frames_until(lambda f: isinstance(f, DataFrame) and f.stream_id == sid, 5,
                              "the next 10 bytes of the streamed response")
            conn.send_window_update(sid, 10)
        response = conn.read_stream(sid)
        other = h2_connect("127.0.0.1", http_server.port, timeout=5)
        try:
            assert other.read_stream(other.request("GET", "/other")).status == 200
        finally:
            other.abort()
    finally:
        conn.abort()
    assert response.body == expected, response


def test_h2_idle_connection_closes_after_the_keep_alive_timeout(tmp_path: Path) -> None:
    """An h2 connection with no stream open for --timeout-keep-alive gets GOAWAY NO_ERROR
    and is closed (RFC 9113 §6.8 graceful close; the same bound as an idle HTTP/1.1
    connection), so idle clients cannot hold connections for ever. Mutation testing found
    the idle deadline pushable past any wait unnoticed by the suite."""
    srv = ServerProcess(tmp_path, APP, "--timeout-keep-alive", "1.5")
    try:
        conn = h2_connect("127.0.0.1", srv.port, timeout=5)
        try:
            assert conn.read_stream(conn.request("GET", "/")).status == 200
            error = conn.connection_error(timeout=10)
        finally:
            conn.abort()
    finally:
        assert srv.stop() == 0, srv.stderr()
    assert error.kind == "goaway" and error.code == 0, error.describe()
