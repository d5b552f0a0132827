"""Random HTTP/2 conversations against the whole server stack, in process.

Each trial opens a connection (the HTTP/1.1 connection detects the preface and hands
over, as on a socket), feeds it a random but mostly well-formed sequence of frames
(requests for the bench app's routes, extended CONNECTs, DATA, RST_STREAM, WINDOW_UPDATE,
SETTINGS that shrink or grow windows, PINGs, odd frames) split at random read boundaries,
with random event-loop turns in between, then loses the connection. Whatever the client
does, nothing may escape the protocol callbacks, no callback or task may fail, and the
server may log no error: bad input is answered with HTTP/2 errors, never a traceback.
Seeded, so a failure reproduces; bounded (a few hundred trials, a few seconds).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import MutableMapping
from typing import Any

import pytest
from hpack import Encoder

from bench.apps import app
from bench.instructions import FakeTransport
from reference_server.config import Config
from reference_server.http2 import frames as f
from reference_server.protocol.h11_connection import H11Connection
from reference_server.state import ServerState

TRIALS = 150


def conversation(rng: random.Random) -> bytes:
    """A client's bytes: mostly what a client may send (new streams in increasing order,
    frames on the streams it opened), now and then a frame that is not."""
    encoder = Encoder()
    out = [f.PREFACE, f.settings({f.INITIAL_WINDOW_SIZE: rng.choice([0, 10, 65535])})]
    opened: list[int] = []

    def some_stream() -> int:
        if opened and rng.random() < 0.9:
            return rng.choice(opened)
        return rng.choice([1, 2, 3, 5, 7, 99])

    for _ in range(rng.randrange(1, 16)):
        kind = rng.choice(["headers", "headers", "data", "data", "data", "rst", "window",
                           "settings", "ping", "odd"])
        if kind == "headers":
            sid = 2 * len(opened) + 1 if rng.random() < 0.9 else some_stream()
            opened.append(sid)
            method = rng.choice(["GET", "POST", "POST", "HEAD", "CONNECT"])
            fields = [(":method", method), (":scheme", "http"),
                      (":path", rng.choice(["/", "/json", "/json", "/stream", "/ws", "/x"])),
                      (":authority", "x")]
            if method == "CONNECT" and rng.random() < 0.7:
                fields += [(":protocol", "websocket"), ("sec-websocket-version", "13")]
            if rng.random() < 0.3:
                fields.append(("content-length", str(rng.randrange(0, 20))))
            end = f.END_STREAM if method in ("GET", "HEAD") and rng.random() < 0.8 else 0
            out.append(f.frame(f.HEADERS, f.END_HEADERS | end, sid, encoder.encode(fields)))
        elif kind == "data":
            out.append(f.frame(f.DATA, rng.choice([0, f.END_STREAM, f.END_STREAM]),
                               some_stream(), b'{"a": 1}'[:rng.randrange(0, 9)]))
        elif kind == "rst":
            out.append(f.rst_stream(some_stream(), f.CANCEL))
        elif kind == "window":
            out.append(f.window_update(rng.choice([0, some_stream()]),
                                       rng.randrange(1, 100000)))
        elif kind == "settings":
            out.append(f.settings({f.INITIAL_WINDOW_SIZE: rng.randrange(0, 70000)}))
        elif kind == "ping":
            out.append(f.frame(f.PING, 0, 0, bytes(8)))
        else:
            out.append(f.frame(rng.choice([f.PRIORITY, f.CONTINUATION, f.GOAWAY, 0x16]),
                               0, some_stream(), bytes(rng.randrange(0, 9))))
    return b"".join(out)


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.parametrize("seed", range(4))
def test_random_conversations_never_break_the_server(seed: int) -> None:
    rng = random.Random(seed)
    failures: list[dict[str, Any]] = []
    logged = Collect()
    error_log = logging.getLogger("reference_server.error")
    error_log.addHandler(logged)

    async def trials() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _, context: failures.append(context))
        state = ServerState(Config(app="bench.apps:app", access_log=False), app, "3.0")
        for _ in range(TRIALS):
            transport = FakeTransport()
            connection = H11Connection(state)
            transport.protocol = connection
            connection.connection_made(transport)  # type: ignore[arg-type]
            data = conversation(rng)
            pos = 0
            while pos < len(data):
                step = rng.randrange(1, 60)
                transport.protocol.data_received(data[pos:pos + step])
                pos += step
                for _ in range(rng.randrange(0, 4)):
                    await asyncio.sleep(0)
            for _ in range(20):
                await asyncio.sleep(0)
            transport.protocol.connection_lost(None)
            for _ in range(10):
                await asyncio.sleep(0)
        await asyncio.wait_for(asyncio.gather(*state.tasks, return_exceptions=True), 10)

    try:
        asyncio.run(asyncio.wait_for(trials(), 60))
    finally:
        error_log.removeHandler(logged)
    assert not failures, [str(c.get("exception") or c.get("message"))[:200]
                          for c in failures[:3]]
    assert not logged.records, [r.getMessage()[:200] for r in logged.records[:3]]


def h2c_upgrade(asgi_app: Any, http2_settings: bytes, turns: int = 1) -> tuple[bytes, bool]:
    """An ``Upgrade: h2c`` GET with this HTTP2-Settings value fed to a connection of a
    server started with --h2c-upgrade, ``turns`` event-loop turns given to what follows;
    returns what the server wrote and whether it closed the connection."""
    written: list[bytes] = []

    class Transport(FakeTransport):
        def write(self, data: bytes) -> None:
            written.append(data)

    async def upgrade() -> bool:
        state = ServerState(Config(app="bench.apps:app", access_log=False, h2c_upgrade=True),
                            asgi_app, "3.0")
        transport = Transport()
        connection = H11Connection(state)
        transport.protocol = connection
        connection.connection_made(transport)  # type: ignore[arg-type]
        connection.data_received(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, "
                                 b"HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: "
                                 + http2_settings + b"\r\n\r\n")
        for _ in range(turns):
            await asyncio.sleep(0)
        return transport.closed

    closed = asyncio.run(asyncio.wait_for(upgrade(), 10))
    return b"".join(written), closed


def test_invalid_http2_settings_in_an_upgrade_end_the_connection_cleanly() -> None:
    """``Upgrade: h2c`` whose HTTP2-Settings carries a value SETTINGS may not (an initial
    window above 2^31-1): the 101, then GOAWAY FLOW_CONTROL_ERROR and the close, no
    traceback (RFC 9113 §6.5.2; RFC 7540 §3.2.1)."""
    import base64

    settings = base64.urlsafe_b64encode(
        f.settings({f.INITIAL_WINDOW_SIZE: 2**31})[9:]).rstrip(b"=")
    out, closed = h2c_upgrade(app, settings)
    assert closed, "the connection stayed open"
    assert out.startswith(b"HTTP/1.1 101 ")
    goaway = out[out.index(b"\r\n\r\n") + 4:]
    frames = []
    while goaway:
        length = int.from_bytes(goaway[:3], "big")
        frames.append((goaway[3], goaway[9:9 + length]))
        goaway = goaway[9 + length:]
    codes = [int.from_bytes(p[4:8], "big") for kind, p in frames if kind == f.GOAWAY]
    assert codes == [f.FLOW_CONTROL_ERROR], frames


def test_an_upgraded_request_is_served_once_over_http2() -> None:
    """``Upgrade: h2c`` with valid HTTP2-Settings: the 101, then the request is served as
    stream 1 of the HTTP/2 connection, by one app call, and nothing HTTP/1.1 follows the
    101 (RFC 7540 §3.2). (Mutation survivor m086, bench/mutation_survivors.md: the
    upgrade reported "not taken" and the request was also served over HTTP/1.1.)"""
    calls: list[str] = []

    async def counting_app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        calls.append(scope["http_version"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"once"})

    out, _ = h2c_upgrade(counting_app, b"", turns=20)
    assert out.startswith(b"HTTP/1.1 101 "), out[:80]
    assert calls == ["2"], calls
    assert b"HTTP/1.1 200" not in out and b"once" in out
