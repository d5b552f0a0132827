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
  (``echo-c50``; no compression).

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

SCENARIOS = ("get", "post", "ws")
SERVERS = ("reference", "uvicorn")
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


async def _drive(server: str, scenario: str, count: int) -> None:
    """Serve ``count`` requests (or echoes); fail loudly if any went unanswered."""
    protocol = _protocol(server)
    transport = FakeTransport()
    transport.protocol = protocol
    protocol.connection_made(transport)
    data = {"get": GET, "post": POST}.get(scenario)
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


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["_worker"]:
        _worker(args[1], args[2], int(args[3]))
        return 0
    parser = argparse.ArgumentParser(prog="python3 -m bench.instructions",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", default=",".join(SERVERS))
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
    print("| scenario | " + " | ".join(f"{s} instr/request" for s in servers)
          + (" | uvicorn/reference |" if set(servers) == set(SERVERS) else " |"))
    print("|---|" + "---:|" * (len(servers) + (set(servers) == set(SERVERS))))
    for scenario in scenarios:
        counts = {server: per_request(server, scenario, options.requests)
                  for server in servers}
        cells = [f"{counts[s]:,.0f}" for s in servers]
        if set(servers) == set(SERVERS):
            cells.append(f"{counts['uvicorn'] / counts['reference']:.2f}")
        print(f"| {scenario} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
