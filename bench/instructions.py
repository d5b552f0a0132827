"""CPU instructions per request, counted by valgrind: a noise-free companion to the wrk runs.

Why this exists: on a shared 2-core VM, two runs of the same server differ by 10-50 %
in req/s (see README.md, "A/A run"), so a 5 % improvement to the hot path cannot be seen
with wrk in any reasonable time. Instructions executed per request can: valgrind's
cachegrind counts them exactly, whatever the hypervisor does, so two versions of the
server (or two servers) can be compared to the percent in a minute.

What is counted: the server's Python code (and the C under it) for one keep-alive
request, in process, with the socket replaced by a fake transport that only counts
writes. The event loop is real (uvloop), so tasks, futures and timers cost what they
cost; the kernel's loopback TCP work (the same for every server) is not counted. Each
measurement runs the driver twice under valgrind, with W warm-up requests and with W+N,
and divides the difference by N, so start-up and imports cancel out.

Scenarios (the same requests as the wrk and WebSocket benchmarks):

- ``get``: ``GET /`` with a Host header, answered "Hello, world!" (``hello-c50``);
- ``post``: ``POST /json`` with the 12 browser-like headers and the 1 KB JSON body of
  ``post-c50``;
- ``ws``: one 16-byte masked text frame in, its echo out, on an open WebSocket
  (``echo-c50``; no compression);
- ``h2``: ``GET /`` over HTTP/2 with prior knowledge, one HEADERS frame per request on
  one connection (the headers h2load sends, HPACK-indexed after the first request),
  answered "Hello, world!" (HEADERS and DATA);
- ``h2-post``: the ``post`` request over HTTP/2 (HEADERS with the 12 headers, one DATA
  frame with the body), as ``h2_bench``'s ``h2-post``.

The ``h2`` scenario also has two protocol-only "servers", without asyncio or ASGI: the
HTTP/2 state machine answering each request with a fixed HEADERS and DATA, either the
reference server's own core (``h2-core``, ``reference_server.http2``) or the ``h2``
library that hypercorn and gunicorn use (``h2-library``). They are the measurement behind
the choice of a core of our own (README, "HTTP/2").

Usage::

    python3 -m bench.instructions                       # reference and uvicorn, all scenarios
    python3 -m bench.instructions --servers reference --scenarios get,post

Needs valgrind (``apt-get install -y valgrind``). Servers: ``reference`` and ``uvicorn``
(httptools for HTTP, its default ``--ws auto`` for WebSocket). Ratios are
``uvicorn / reference`` instructions: above 1 the reference server does less work.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
from typing import Any

from bench.http_bench import POST_HEADERS
from bench.http_common import POST_BODY

SCENARIOS = ("get", "post", "ws", "h2", "h2-post")
SERVERS = ("reference", "uvicorn", "h2-core", "h2-library")
#: The servers each scenario is measured for by default.
DEFAULT_SERVERS = ("reference", "uvicorn")
H2_ONLY = ("h2-core", "h2-library")
WARMUP = 300
MEASURED = 1000
RUN_TIMEOUT = 600.0  # seconds for one valgrind run (≈ 10-30 s on the development VM)

HOST = b"Host: 127.0.0.1:8000\r\n"
GET = b"GET / HTTP/1.1\r\n" + HOST + b"\r\n"
POST = (b"POST /json HTTP/1.1\r\n" + HOST
        + b"".join(f"{name}: {value}\r\n".encode() for name, value in POST_HEADERS)
        + b"Content-Length: %d\r\n\r\n" % len(POST_BODY) + POST_BODY)
UPGRADE = (b"GET /ws HTTP/1.1\r\n" + HOST + b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
_MASK = b"\x11\x22\x33\x44"
_PAYLOAD = b"0123456789abcdef"
WS_FRAME = (bytes([0x81, 0x80 | len(_PAYLOAD)]) + _MASK
            + bytes(b ^ _MASK[i % 4] for i, b in enumerate(_PAYLOAD)))


class FakeTransport:
    """The transport surface both servers use, writes counted and dropped."""

    def __init__(self) -> None:
        self.writes = 0
        self.closed = False
        self.protocol: Any = None

    def write(self, data: bytes) -> None:
        self.writes += 1

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5555), "sockname": ("127.0.0.1", 8000)}.get(
            name, default)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_protocol(self, protocol: Any) -> None:
        self.protocol = protocol

    def get_protocol(self) -> Any:
        return self.protocol


def _protocol(server: str) -> Any:
    from bench.apps import app

    if server == "reference":
        from reference_server.config import Config
        from reference_server.protocol.h11_connection import H11Connection
        from reference_server.state import ServerState

        return H11Connection(ServerState(Config(app="bench.apps:app", access_log=False),
                                        app, "3.0"))
    from uvicorn.config import Config as UvicornConfig
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    from uvicorn.server import ServerState as UvicornState

    config = UvicornConfig(app=app, access_log=False, http="httptools", loop="uvloop",
                           lifespan="off", log_level="warning")
    config.load()
    return HttpToolsProtocol(config, UvicornState(), app_state={})


def _h2_requests(count: int, post: bool = False) -> tuple[bytes, list[bytes]]:
    """The client preface (SETTINGS, and the largest connection window, as h2load opens
    it) and ``count`` requests (stream 1, 3, ...): HEADERS of ``GET /``, or for ``post``
    the HEADERS of ``POST /json`` (the 12 browser-like headers) and one DATA frame with
    the 1 KB body. After the first, the block is the same indexed bytes every time, so
    building the frames costs next to nothing of what is counted."""
    from hpack import Encoder

    from reference_server.http2 import frames as f

    encoder = Encoder()
    if post:
        fields = [(":method", "POST"), (":path", "/json"), (":scheme", "http"),
                  (":authority", "127.0.0.1:8000"),
                  *[(name.lower(), value) for name, value in POST_HEADERS],
                  ("content-length", str(len(POST_BODY)))]
    else:
        fields = [(":method", "GET"), (":path", "/"), (":scheme", "http"),
                  (":authority", "127.0.0.1:8000"), ("user-agent", "h2load nghttp2/1.52.0")]
    first, again = encoder.encode(fields), encoder.encode(fields)
    frames = []
    for i in range(count):
        sid = 2 * i + 1
        block = again if i else first
        if post:
            frames.append(f.frame(f.HEADERS, f.END_HEADERS, sid, block)
                          + f.frame(f.DATA, f.END_STREAM, sid, POST_BODY))
        else:
            frames.append(f.frame(f.HEADERS, f.END_HEADERS | f.END_STREAM, sid, block))
    preface = (f.PREFACE + f.settings({}) + f.window_update(0, f.MAX_WINDOW - f.DEFAULT_WINDOW))
    return preface, frames


def _h2_protocol_only(server: str, count: int) -> None:
    """The ``h2`` scenario for the protocol-only servers (module docstring)."""
    preface, frames = _h2_requests(count)
    head = [(b":status", b"200"), (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", b"13")]
    body = b"Hello, world!"
    answered = 0
    if server == "h2-core":
        from reference_server.http2 import H2Limits, H2Protocol
        from reference_server.http2.connection import RequestReceived
        from reference_server.http2.fields import response_head

        core = H2Protocol(H2Limits(), lambda: 0.0)
        core.initiate()
        core.receive(preface)
        for frame in frames:
            for event in core.receive(frame):
                if type(event) is RequestReceived:
                    block = response_head(200, head[1:]).block
                    core.send_headers(event.stream_id, block)
                    core.send_data(event.stream_id, body, True)
                    answered += 1
            core.data_to_send()
    else:
        from h2.config import H2Configuration
        from h2.connection import H2Connection
        from h2.events import RequestReceived as H2Request

        conn = H2Connection(H2Configuration(client_side=False, header_encoding=None))
        conn.initiate_connection()
        conn.receive_data(preface)
        for frame in frames:
            for h2_event in conn.receive_data(frame):
                if isinstance(h2_event, H2Request):
                    conn.send_headers(h2_event.stream_id, head)
                    conn.send_data(h2_event.stream_id, body, end_stream=True)
                    answered += 1
            conn.data_to_send()
    if answered < count:
        raise SystemExit(f"{server}/h2: {answered} answers for {count} requests")


async def _drive(server: str, scenario: str, count: int) -> None:
    """Serve ``count`` requests (or echoes); fail loudly if any went unanswered."""
    if server in H2_ONLY:
        _h2_protocol_only(server, count)
        return
    protocol = _protocol(server)
    transport = FakeTransport()
    transport.protocol = protocol
    protocol.connection_made(transport)
    data = {"get": GET, "post": POST}.get(scenario)
    if scenario in ("h2", "h2-post"):
        preface, frames = _h2_requests(count, scenario == "h2-post")
        protocol.data_received(preface)
        protocol = transport.protocol
        before = transport.writes
        for frame in frames:
            protocol.data_received(frame)
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            await asyncio.sleep(0)
        answered = transport.writes - before
        if answered < count or transport.closed:
            raise SystemExit(f"{server}/h2: {answered} writes for {count} requests")
        return
    if scenario == "ws":
        protocol.data_received(UPGRADE)
        for _ in range(10):
            await asyncio.sleep(0)
        protocol = transport.protocol
        data = WS_FRAME
    assert data is not None
    before = transport.writes
    for _ in range(count):
        protocol.data_received(data)
        # Three loop turns: the app task starts, runs, and its writes happen.
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
    answered = transport.writes - before
    if answered < count or transport.closed:
        raise SystemExit(f"{server}/{scenario}: {answered} writes for {count} requests"
                         f"{' and the connection closed' if transport.closed else ''}")


def _worker(server: str, scenario: str, count: int) -> None:
    import uvloop

    uvloop.new_event_loop().run_until_complete(_drive(server, scenario, count))


def _count(server: str, scenario: str, requests: int) -> int:
    """Instructions of one worker run under cachegrind."""
    command = ["valgrind", "--tool=cachegrind", "--cache-sim=no",
               "--cachegrind-out-file=/dev/null", sys.executable, "-m", "bench.instructions",
               "_worker", server, scenario, str(requests)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT,
                            env={**os.environ, "PYTHONHASHSEED": "0"}, check=False)
    match = re.search(r"I\s+refs:\s+([\d,]+)", result.stderr)
    if result.returncode != 0 or match is None:
        tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
        raise SystemExit(f"{server}/{scenario}: valgrind run failed (exit "
                         f"{result.returncode}): " + " | ".join(tail))
    return int(match.group(1).replace(",", ""))


def per_request(server: str, scenario: str, measured: int = MEASURED) -> float:
    base = _count(server, scenario, WARMUP)
    full = _count(server, scenario, WARMUP + measured)
    return (full - base) / measured


def measured(server: str, scenario: str) -> bool:
    """uvicorn has no HTTP/2; the protocol-only servers have nothing but HTTP/2."""
    if server in H2_ONLY:
        return scenario == "h2"
    return not (server == "uvicorn" and scenario.startswith("h2"))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["_worker"]:
        _worker(args[1], args[2], int(args[3]))
        return 0
    parser = argparse.ArgumentParser(prog="python3 -m bench.instructions",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", default=",".join(DEFAULT_SERVERS),
                        help="reference, uvicorn (HTTP/1.1 and WebSocket scenarios), "
                             "h2-core, h2-library (h2 only; default: reference,uvicorn)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--requests", type=int, default=MEASURED,
                        help=f"measured requests per run (default {MEASURED})")
    options = parser.parse_args(args)
    servers = [s for s in options.servers.split(",") if s]
    scenarios = [s for s in options.scenarios.split(",") if s]
    unknown = sorted(set(servers) - set(SERVERS)) + sorted(set(scenarios) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown server or scenario: {', '.join(unknown)}")
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install -y valgrind)", file=sys.stderr)
        return 2
    ratio = {"reference", "uvicorn"} <= set(servers)
    print("| scenario | " + " | ".join(f"{s} instr/request" for s in servers)
          + (" | uvicorn/reference |" if ratio else " |"))
    print("|---|" + "---:|" * (len(servers) + ratio))
    for scenario in scenarios:
        counts = {server: per_request(server, scenario, options.requests)
                  for server in servers if measured(server, scenario)}
        cells = [f"{counts[s]:,.0f}" if s in counts else "–" for s in servers]
        if ratio:
            cells.append(f"{counts['uvicorn'] / counts['reference']:.2f}"
                         if "uvicorn" in counts else "–")
        print(f"| {scenario} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
