"""WebSocket echo benchmark: the reference server against uvicorn, driven by a lean raw client.

Why this exists: the reference server must not be slower than uvicorn at WebSockets either,
and for WebSockets there is no ``wrk``: the load client is part of this script. A benchmark
whose client is slower than the servers measures the client, so the client is written to cost
as little CPU per message as possible, and its CPU time is measured and reported with every
figure. It follows the conventions of ``bench.http_bench`` (and reuses its helpers):

* the very same app (``bench.apps:app``, WebSocket route ``/ws`` echoes every message) is
  served by every server;
* the server is pinned to one core and all client processes to the other (``taskset``);
* servers are interleaved round by round and medians over the rounds are reported;
* every measurement gets a fresh server, a correctness check (a text and a binary message must
  come back unchanged with the right opcodes: a server that answers wrongly is reported, not
  timed) and a warm-up on the same connections before the measured window;
* the client processes measure their own CPU time (``getrusage``) over the measured window:
  above 90 % of their core the figures measure the client, and the script says so loudly;
* the server's CPU time (``/proc/<pid>/stat`` of the server and its children) gives messages
  per server CPU-second, and ``/proc/stat`` gives steal and foreign work on the pinned cores;
* the machine-wide lock of ``http_bench`` is taken, so no two benchmarks overlap.

The client: raw sockets, the opening handshake done once per connection (without offering
permessage-deflate, so every server runs uncompressed), one masked frame built once and sent
again and again, and the echo recognised by comparing the received bytes with the one expected
unmasked server frame (a full frame parser only runs when that fast path misses: partial
reads, pings, fragments). Each connection is closed-loop: one message in flight, the next sent
as soon as the echo is in. The event loop is ``select.epoll`` (or uvloop, ``--client-loop``),
and ``--client-procs`` splits the connections over several processes on the client core.

Usage::

    python3 -m bench.ws_bench [--rounds 5] [--duration 10] [--scenarios echo-c1,echo-c50]
        [--servers reference,uvicorn] [--size 16] [--json out.json]

Ratios are ``server / baseline`` where the baseline is the last server of ``--servers``
(uvicorn by default). ``--servers uvicorn,uvicorn`` is an A/A run that shows the noise.
"""

from __future__ import annotations

import argparse
import array
import base64
import contextlib
import hashlib
import importlib.metadata
import json
import os
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, NamedTuple, cast

from bench.http_bench import (
    HOST,
    STOP_TIMEOUT,
    WARMUP_SECONDS,
    RunningServer,
    ServerFailed,
    acquire_machine_lock,
    cpu_ticks,
    free_port,
    labels_for,
    proc_cpu_seconds,
    single_cpu,
    stop_process,
    tail,
)

CLIENT_CPU_WARN = 0.90
CLIENT_GRACE = 15.0  # seconds the clients may overrun the end of the window before a kill
READY_TIMEOUT = 20.0  # client processes: start, connect and handshake every connection
SANITY_TIMEOUT = 5.0
MAX_SIZE = 1 << 20
WS_PATH = "/ws"
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MASK_KEY = b"\x37\xfa\x21\x3d"  # fixed: the frame is built once, masking costs nothing per send

# Command templates; "{port}" is replaced. Each runs with the repository root as cwd.
# The reference server's default --loop is "auto": uvloop when it is installed, as for uvicorn.
SERVERS: dict[str, list[str]] = {
    "reference": [
        sys.executable, "-m", "reference_server", "bench.apps:app",
        "--host", HOST, "--port", "{port}", "--no-access-log", "--log-level", "warning",
    ],
    "uvicorn": [
        sys.executable, "-m", "uvicorn", "bench.apps:app", "--host", HOST, "--port", "{port}",
        "--loop", "uvloop", "--http", "httptools", "--ws", "auto",
        "--no-access-log", "--log-level", "warning",
    ],
    "uvicorn-wsproto": [
        sys.executable, "-m", "uvicorn", "bench.apps:app", "--host", HOST, "--port", "{port}",
        "--loop", "uvloop", "--http", "httptools", "--ws", "wsproto",
        "--no-access-log", "--log-level", "warning",
    ],
    "hypercorn": [
        sys.executable, "-m", "hypercorn", "bench.apps:app",
        "-b", f"{HOST}:{{port}}", "-k", "uvloop", "--log-level", "warning",
    ],
}  # fmt: skip
# The --ws value of the uvicorn entries, resolved to a protocol class at startup and printed.
UVICORN_WS = {"uvicorn": "auto", "uvicorn-wsproto": "wsproto"}
# Distributions whose versions are printed for each server (what the figures are of).
SERVER_PACKAGES = {
    "reference": ["uvloop"],
    "uvicorn": ["uvicorn", "websockets", "uvloop", "httptools"],
    "uvicorn-wsproto": ["uvicorn", "wsproto", "uvloop", "httptools"],
    "hypercorn": ["hypercorn", "wsproto", "uvloop"],
}
CLIENT_LOOPS = ("epoll", "uvloop")


@dataclass(frozen=True)
class Scenario:
    name: str
    connections: int


SCENARIOS: dict[str, Scenario] = {
    "echo-c1": Scenario("echo-c1", 1),
    "echo-c50": Scenario("echo-c50", 50),
}


class ClientFailed(Exception):
    """A client process did not start, connect, or finish in time."""


class WsProtocolError(Exception):
    """The server broke the WebSocket protocol (bad handshake, frame, or echo)."""


# --------------------------------------------------------------------------- WebSocket wire


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


# --------------------------------------------------------------------------- servers


def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (ppid, starttime) for every live process."""
    table: dict[int, tuple[int, str]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        if fields[0] == "Z":
            continue
        table[int(entry.name)] = (int(fields[1]), fields[19])
    return table


def descendants(pid: int) -> dict[int, str]:
    """Live descendants of ``pid`` as pid -> starttime (to notice PID reuse)."""
    table = _process_table()
    children: dict[int, list[int]] = {}
    for child, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(child)
    out: dict[int, str] = {}
    todo = list(children.get(pid, []))
    while todo:
        p = todo.pop()
        out[p] = table[p][1]
        todo.extend(children.get(p, []))
    return out


class WsServer(RunningServer):
    """A server of ``SERVERS`` pinned to one CPU; its sanity check is the WebSocket echo.

    Same life cycle as ``http_bench.RunningServer`` (whose ``wait_ready``, ``fail`` and log
    handling it inherits), but CPU time and stopping cover the whole process tree: hypercorn
    serves from a child process, so the parent's CPU time alone would be nearly zero.
    """

    def __init__(self, name: str, cpu: str, cwd: Path, logdir: Path) -> None:
        # Not super().__init__(): that one takes its command from http_bench.SERVERS.
        self.name = name
        self.cpu = single_cpu(cpu)
        self.port = free_port()
        self.log_path = logdir / f"{name.replace('/', '_')}-{self.port}.log"
        argv = [a.replace("{port}", str(self.port)) for a in SERVERS[name]]
        self._log: IO[bytes] = self.log_path.open("wb")
        self.proc: subprocess.Popen[bytes] = subprocess.Popen(
            ["taskset", "-c", cpu, *argv],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def sanity_check(self) -> None:
        """A fresh connection: text "hello" and binary 00 01 must come back unchanged."""
        try:
            with socket.create_connection((HOST, self.port), timeout=SANITY_TIMEOUT) as sock:
                buf = bytearray(handshake(sock, self.port, SANITY_TIMEOUT))
                for opcode, payload in ((0x1, b"hello"), (0x2, b"\x00\x01")):
                    sock.sendall(client_frame(opcode, payload, os.urandom(4)))
                    got = read_message(sock, buf, time.monotonic() + SANITY_TIMEOUT)
                    if got != (opcode, payload):
                        raise WsProtocolError(
                            f"sent opcode {opcode} {payload!r}, got opcode {got[0]} {got[1]!r}"
                        )
                # Polite close; the answer is not checked (not what is being measured).
                with contextlib.suppress(OSError):
                    sock.sendall(client_frame(0x8, (1000).to_bytes(2, "big")))
                    sock.settimeout(1.0)
                    sock.recv(64)
        except WsProtocolError as exc:
            raise self.fail(f"WebSocket sanity check: {exc}") from exc
        except OSError as exc:
            raise self.fail(f"WebSocket sanity check failed: {exc!r}") from exc

    def cpu_seconds(self) -> float | None:
        """utime + stime of the server and all its descendants."""
        total = proc_cpu_seconds(self.proc.pid)
        if total is None:
            return None
        for pid in descendants(self.proc.pid):
            total += proc_cpu_seconds(pid) or 0.0
        return total

    def stop(self) -> None:
        """SIGTERM/SIGKILL the server by PID, then any of its children left behind."""
        children = descendants(self.proc.pid) if self.proc.poll() is None else {}
        stop_process(self.proc)
        left = {p: st for p, st in children.items() if _alive(p, st)}
        for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, 2.0)):
            if not left:
                break
            for p in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p, sig)
            deadline = time.monotonic() + wait
            while left and time.monotonic() < deadline:
                time.sleep(0.05)
                left = {p: st for p, st in left.items() if _alive(p, st)}
        self._log.close()


def _alive(pid: int, starttime: str) -> bool:
    entry = _process_table().get(pid)
    return entry is not None and entry[1] == starttime


def describe_servers(names: Sequence[str]) -> dict[str, str]:
    """One line per server: versions, and the class uvicorn's ``--ws`` resolves to."""
    out: dict[str, str] = {}
    for name in dict.fromkeys(names):
        parts = []
        for dist in SERVER_PACKAGES.get(name, []):
            try:
                parts.append(f"{dist} {importlib.metadata.version(dist)}")
            except importlib.metadata.PackageNotFoundError:
                parts.append(f"{dist} missing")
        if name.startswith("reference"):
            try:
                rev = subprocess.run(
                    ["git", "describe", "--always", "--dirty"],
                    capture_output=True, text=True, timeout=10, check=False,
                ).stdout.strip()  # fmt: skip
            except (OSError, subprocess.TimeoutExpired):
                rev = ""
            parts.insert(0, f"reference_server at {rev or '?'}")
        if name in UVICORN_WS:
            code = (
                "import sys\nfrom uvicorn.config import WS_PROTOCOLS\n"
                "from uvicorn.importer import import_from_string\n"
                "c = import_from_string(WS_PROTOCOLS[sys.argv[1]])\n"
                "print(c.__module__ + ':' + c.__qualname__)\n"
            )
            try:
                res = subprocess.run(
                    [sys.executable, "-c", code, UVICORN_WS[name]],
                    capture_output=True, text=True, timeout=30, check=False,
                )  # fmt: skip
                resolved = res.stdout.strip() or f"? ({res.stderr.strip()[-120:]})"
            except subprocess.TimeoutExpired:
                resolved = "? (timed out)"
            parts.insert(0, f"--ws {UVICORN_WS[name]} -> {resolved}")
        out[name] = ", ".join(parts)
    return out


# --------------------------------------------------------------------------- client worker
#
# A worker is `python3 -m bench.ws_bench _worker ...`, started pinned to the client core. It
# connects and handshakes its connections, writes "ready" on stdout, and waits for one line
# "go T_START T_WARM T_END" (CLOCK_MONOTONIC seconds, shared by all processes of the machine)
# on stdin. It sends from T_START, counts echoes from T_WARM to T_END, and writes its counts,
# its CPU time over that window and the round-trip latencies into files for the driver.


class _Conn:
    """Client state of one connection; only the slow path (``feed``) uses most of it."""

    __slots__ = ("buf", "frag", "frag_op", "sent", "sock")

    def __init__(self, sock: socket.socket, leftover: bytes) -> None:
        self.sock = sock
        self.buf = bytearray(leftover)
        self.frag: list[bytes] = []
        self.frag_op = 0
        self.sent = 0  # time.perf_counter_ns() of the message in flight

    def feed(self, data: bytes, payload: bytes) -> tuple[int, list[bytes]]:
        """Slow path: parse frames; (echoes completed, control frames to send back)."""
        self.buf += data
        echoes, replies = 0, []
        while (frame := parse_frame(self.buf)) is not None:
            del self.buf[: frame.end]
            if frame.masked or frame.rsv:
                raise WsProtocolError("masked or RSV frame from the server")
            if frame.opcode == 0x9:
                replies.append(client_frame(0xA, frame.payload))
            elif frame.opcode == 0xA:
                pass
            elif frame.opcode == 0x8:
                raise WsProtocolError(f"server closed the connection: {frame.payload[:40]!r}")
            else:
                if frame.opcode != 0x0:
                    self.frag_op = frame.opcode
                self.frag.append(frame.payload)
                if frame.fin:
                    message, self.frag = b"".join(self.frag), []
                    if self.frag_op != 0x1 or message != payload:
                        raise WsProtocolError(f"bad echo: opcode {self.frag_op} {message[:40]!r}")
                    echoes += 1
        return echoes, replies


@dataclass
class WindowStats:
    messages: int = 0
    window_s: float = 0.0
    cpu_s: float = 0.0  # utime + stime of this process over the window
    warmup_messages: int = 0
    start_delay_s: float = 0.0  # how late after T_START the first message went out
    stalled: int = 0  # live connections without an echo in the last second of the window
    errors: list[str] = field(default_factory=list)


def _rusage_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _unused_recv(n: int) -> bytes:
    raise AssertionError("event on an unknown fd")


def _unused_send(data: bytes) -> None:
    raise AssertionError("send on an unknown fd")


def _epoll_loop(
    conns: list[_Conn], payload: bytes, times: tuple[float, float, float], lat: array.array[int]
) -> WindowStats:
    """Closed loop on raw blocking sockets with level-triggered epoll: the lean client."""
    t_start, t_warm, t_end = times
    frame = client_frame(0x1, payload)
    expected = server_frame(0x1, payload)
    bufsize = max(4096, min(len(expected), 1 << 18))
    size = max(c.sock.fileno() for c in conns) + 1
    by_fd: list[_Conn | None] = [None] * size
    # Bound methods per fd, so the fast path does no attribute look-ups.
    recv: list[Callable[[int], bytes]] = [_unused_recv] * size
    send: list[Callable[[bytes], None]] = [_unused_send] * size
    sent = [0] * size
    ep = select.epoll()
    pending: set[int] = set()  # fds whose slow-path buffer holds a partial frame
    stats = WindowStats()
    clock = time.perf_counter_ns
    monotonic = time.monotonic
    lat_append = lat.append
    count = 0
    try:
        for c in conns:
            fd = c.sock.fileno()
            by_fd[fd], recv[fd], send[fd] = c, c.sock.recv, c.sock.sendall
            ep.register(fd, select.EPOLLIN)
            if c.buf:
                pending.add(fd)
        stats.start_delay_s = monotonic() - t_start
        for c in conns:
            sent[c.sock.fileno()] = clock()
            c.sock.sendall(frame)
        poll = ep.poll
        measuring = False
        switch = t_warm
        cpu0 = w0 = 0.0
        count0 = lat_start = 0
        while True:
            events = poll(0.01)
            now = monotonic()
            if now >= switch:
                if measuring:
                    stats.cpu_s = _rusage_cpu() - cpu0
                    stats.window_s = now - w0
                    stats.messages = count - count0
                    stats.warmup_messages = count0
                    old = clock() - 1_000_000_000
                    stats.stalled = sum(1 for c in conns if 0 <= sent[c.sock.fileno()] < old)
                    break
                measuring, switch = True, t_end
                cpu0, w0, count0, lat_start = _rusage_cpu(), now, count, len(lat)
            for fd, _ in events:
                data = recv[fd](bufsize)
                if data == expected and not pending:
                    # Fast path: exactly one whole echo. Time it and send the next message.
                    t = clock()
                    lat_append(t - sent[fd])
                    sent[fd] = t
                    send[fd](frame)
                    count += 1
                    continue
                conn = by_fd[fd]
                assert conn is not None
                try:
                    if not data:
                        raise WsProtocolError("server closed the TCP connection")
                    echoes, replies = conn.feed(data, payload)
                    for r in replies:
                        conn.sock.sendall(r)
                    if echoes:
                        t = clock()
                        lat_append(t - sent[fd])
                        sent[fd] = t
                        conn.sock.sendall(frame)
                        count += echoes
                except (WsProtocolError, OSError) as exc:
                    stats.errors.append(str(exc))
                    ep.unregister(fd)
                    conn.buf.clear()
                    sent[fd] = -1  # dead: not counted as stalled
                if conn.buf:
                    pending.add(fd)
                else:
                    pending.discard(fd)
        del lat[:lat_start]
    finally:
        ep.close()
    return stats


def _uvloop_loop(
    conns: list[_Conn], payload: bytes, times: tuple[float, float, float], lat: array.array[int]
) -> WindowStats:
    """The same closed loop on uvloop transports (protocol callbacks instead of epoll)."""
    t_start, t_warm, t_end = times
    import asyncio

    import uvloop

    frame = client_frame(0x1, payload)
    expected = server_frame(0x1, payload)
    clock = time.perf_counter_ns
    lat_append = lat.append
    stats = WindowStats()
    counter = [0]

    class Echo(asyncio.Protocol):
        def __init__(self, conn: _Conn) -> None:
            self.conn = conn
            self.write: Callable[[bytes], None] = lambda b: None
            self.sent = 0

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            # uvloop's transports implement asyncio.Transport without subclassing it.
            self.transport = cast(asyncio.Transport, transport)
            self.write = self.transport.write
            self.sent = clock()
            self.write(frame)

        def data_received(self, data: bytes) -> None:
            if data == expected and not self.conn.buf:
                t = clock()
                lat_append(t - self.sent)
                self.sent = t
                self.write(frame)
                counter[0] += 1
                return
            try:
                echoes, replies = self.conn.feed(data, payload)
            except WsProtocolError as exc:
                stats.errors.append(str(exc))
                self.sent = -1  # dead: not counted as stalled, nor lost again
                self.transport.abort()
                return
            for r in replies:
                self.write(r)
            if echoes:
                t = clock()
                lat_append(t - self.sent)
                self.sent = t
                self.write(frame)
                counter[0] += echoes

        def connection_lost(self, exc: Exception | None) -> None:
            if self.sent >= 0 and time.monotonic() < t_end:
                stats.errors.append(f"connection lost: {exc!r}")
            self.sent = -1

    async def run() -> None:
        loop = asyncio.get_running_loop()
        stats.start_delay_s = time.monotonic() - t_start
        protocols: list[Echo] = []
        for c in conns:
            c.sock.setblocking(False)
            _, proto = await loop.create_connection(partial(Echo, c), sock=c.sock)
            protocols.append(proto)
        await asyncio.sleep(max(0.0, t_warm - time.monotonic()))
        cpu0, w0, count0, lat0 = _rusage_cpu(), time.monotonic(), counter[0], len(lat)
        await asyncio.sleep(max(0.0, t_end - time.monotonic()))
        stats.cpu_s = _rusage_cpu() - cpu0
        stats.window_s = time.monotonic() - w0
        stats.messages = counter[0] - count0
        stats.warmup_messages = count0
        old = clock() - 1_000_000_000
        stats.stalled = sum(1 for p in protocols if 0 <= p.sent < old)
        del lat[:lat0]

    uvloop.run(run())
    return stats


def _write_line(text: str) -> None:
    os.write(1, (text.replace("\n", " ") + "\n").encode())


def worker_main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="python3 -m bench.ws_bench _worker")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--connections", type=int, required=True)
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--loop", choices=CLIENT_LOOPS, required=True)
    p.add_argument("--out", type=Path, required=True, help="result file prefix")
    args = p.parse_args(argv)
    payload = (b"0123456789abcdef" * (args.size // 16 + 1))[: args.size]
    conns: list[_Conn] = []
    try:
        deadline = time.monotonic() + READY_TIMEOUT - 2
        for _ in range(args.connections):
            remaining = max(0.1, deadline - time.monotonic())
            sock = socket.create_connection((HOST, args.port), timeout=remaining)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            leftover = handshake(sock, args.port, remaining)
            sock.settimeout(None)  # blocking: epoll says when recv() will not block
            conns.append(_Conn(sock, leftover))
    except (OSError, WsProtocolError) as exc:
        _write_line(f"error {len(conns)} of {args.connections} connections open: {exc}")
        return 1
    _write_line("ready")
    ready, _, _ = select.select([sys.stdin], [], [], READY_TIMEOUT + CLIENT_GRACE)
    line = sys.stdin.readline().split() if ready else []
    if len(line) != 4 or line[0] != "go":
        return 1
    t_start, t_warm, t_end = (float(x) for x in line[1:])
    time.sleep(max(0.0, t_start - time.monotonic()))
    lat: array.array[int] = array.array("q")
    loop = _epoll_loop if args.loop == "epoll" else _uvloop_loop
    stats = loop(conns, payload, (t_start, t_warm, t_end), lat)
    Path(f"{args.out}.lat").write_bytes(lat.tobytes())
    Path(f"{args.out}.json").write_text(json.dumps(asdict(stats)))
    for c in conns:
        with contextlib.suppress(OSError):
            c.sock.close()
    return 0


# --------------------------------------------------------------------------- driver side


@dataclass
class WsResult:
    mps: float  # echoes received per second, summed over the client processes
    p50_ms: float
    p99_ms: float
    messages: int
    errors: int
    client_cpu: float  # CPU of the client processes over the window, in cores (rusage)
    client_core: float  # busy fraction of the client core from /proc/stat (nan if several)
    server_cpu: float  # fraction of one core used by the server processes over the window
    wall_s: float
    client_procs: int = 1
    steal: float = float("nan")
    foreign: float = float("nan")
    error_sample: str = ""

    @property
    def mps_per_cpu(self) -> float:
        """Messages per second of server CPU time: far less sensitive to steal than msg/s."""
        return self.mps / self.server_cpu if self.server_cpu > 0 else float("nan")


@dataclass
class Measurement:
    round: int
    scenario: str
    server: str
    result: WsResult | None = None
    error: str | None = None


@dataclass
class Summary:
    scenario: str
    server: str
    runs: int
    mps_median: float
    mps_min: float
    mps_max: float
    p99_ms_median: float
    client_cpu_median: float
    client_cpu_max: float
    client_core_median: float
    server_cpu_median: float
    steal_median: float = float("nan")
    foreign_median: float = float("nan")
    mps_per_cpu_median: float = float("nan")
    errors: int = 0
    warnings: list[str] = field(default_factory=list)


def split_connections(connections: int, procs: int) -> list[int]:
    """Spread ``connections`` over at most ``procs`` processes, as evenly as possible."""
    procs = max(1, min(procs, connections))
    base, extra = divmod(connections, procs)
    return [base + (1 if i < extra else 0) for i in range(procs)]


def _read_line(proc: subprocess.Popen[bytes], deadline: float) -> str:
    """One line from an unbuffered stdout pipe, or '' at EOF / deadline."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    data = b""
    while not data.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").strip()


def _sleep_until(t: float) -> None:
    while (remaining := t - time.monotonic()) > 0:
        time.sleep(min(remaining, 0.5))


def run_clients(
    server: WsServer, connections: int, duration: int, args: argparse.Namespace, workdir: Path,
) -> WsResult:  # fmt: skip
    """Warm up and measure one server with the client processes; everything bounded."""
    shares = split_connections(connections, args.client_procs)
    procs: list[subprocess.Popen[bytes]] = []
    prefixes: list[Path] = []
    logs: list[Path] = []
    try:
        for i, n in enumerate(shares):
            prefix = workdir / f"client-{server.port}-{i}"
            log = prefix.with_suffix(".log")
            prefixes.append(prefix)
            logs.append(log)
            with log.open("wb") as err:
                procs.append(subprocess.Popen(
                    ["taskset", "-c", args.client_cpu, sys.executable, "-m", "bench.ws_bench",
                     "_worker", "--port", str(server.port), "--connections", str(n),
                     "--size", str(args.size), "--loop", args.client_loop, "--out", str(prefix)],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, bufsize=0,
                    start_new_session=True,
                ))  # fmt: skip
        deadline = time.monotonic() + READY_TIMEOUT
        for proc, log in zip(procs, logs, strict=True):
            line = _read_line(proc, deadline)
            if line != "ready":
                why = line or tail(log) or "no answer"
                raise ClientFailed(f"client did not get ready: {why}")
        t_start = time.monotonic() + 0.1
        t_warm = t_start + WARMUP_SECONDS
        t_end = t_warm + duration
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(f"go {t_start} {t_warm} {t_end}\n".encode())
            proc.stdin.flush()
        watched = [c for c in (single_cpu(args.client_cpu), server.cpu) if c is not None]
        _sleep_until(t_warm)
        server_cpu0 = server.cpu_seconds()
        ticks0 = cpu_ticks(watched)
        w0 = time.monotonic()
        _sleep_until(t_end)
        w1 = time.monotonic()
        server_cpu1 = server.cpu_seconds()
        ticks1 = cpu_ticks(watched)
        kill_at = t_end + CLIENT_GRACE
        for proc, log in zip(procs, logs, strict=True):
            try:
                code = proc.wait(timeout=max(0.1, kill_at - time.monotonic()))
            except subprocess.TimeoutExpired as exc:
                raise ClientFailed(f"client did not finish within {CLIENT_GRACE:.0f}s") from exc
            if code != 0:
                raise ClientFailed(f"client exited with {code}: {tail(log)}")
    finally:
        for proc in procs:
            stop_process(proc, timeout=2)
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()
    wall = w1 - w0
    mps = 0.0
    messages = 0
    client_cpu = 0.0
    errors: list[str] = []
    lat = array.array("q")
    for prefix in prefixes:
        try:
            stats = WindowStats(**json.loads(Path(f"{prefix}.json").read_text()))
            lat.frombytes(Path(f"{prefix}.lat").read_bytes())
        except (OSError, ValueError, TypeError) as exc:
            raise ClientFailed(f"unreadable client result: {exc!r}") from exc
        if stats.window_s <= 0:
            raise ClientFailed("client measured an empty window")
        mps += stats.messages / stats.window_s
        messages += stats.messages
        client_cpu += stats.cpu_s / stats.window_s
        errors += stats.errors
        if stats.stalled > 0:
            errors.append(f"{stats.stalled} connection(s) got no echo in the last second")
        if stats.start_delay_s > 1.0:
            errors.append(f"a client started {stats.start_delay_s:.1f}s late")
    if messages == 0:
        raise ClientFailed(
            "no echo received in the measured window" + (f": {errors[0]}" if errors else "")
        )
    ordered = sorted(lat)
    p50 = ordered[len(ordered) // 2] / 1e6
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1e6
    server_cpu = (
        (server_cpu1 - server_cpu0) / wall
        if server_cpu0 is not None and server_cpu1 is not None
        else float("nan")
    )
    hz = os.sysconf("SC_CLK_TCK")
    steal = foreign = client_core = float("nan")
    if ticks0 and ticks0.keys() == ticks1.keys():
        steal = sum(ticks1[c][1] - ticks0[c][1] for c in ticks0) / hz / wall / len(ticks0)
    ccpu = single_cpu(args.client_cpu)
    if ccpu is not None and ccpu in ticks0 and ccpu in ticks1:
        client_core = (ticks1[ccpu][0] - ticks0[ccpu][0]) / hz / wall
    if server.cpu is not None and server.cpu in ticks0 and server.cpu in ticks1:
        busy = (ticks1[server.cpu][0] - ticks0[server.cpu][0]) / hz / wall
        foreign = max(0.0, busy - server_cpu)
    return WsResult(
        mps=mps, p50_ms=p50, p99_ms=p99, messages=messages, errors=len(errors),
        client_cpu=client_cpu, client_core=client_core, server_cpu=server_cpu, wall_s=wall,
        client_procs=len(shares), steal=steal, foreign=foreign,
        error_sample=errors[0] if errors else "",
    )  # fmt: skip


def measure_one(
    name: str, scenario: Scenario, args: argparse.Namespace, cwd: Path, workdir: Path
) -> WsResult:
    server = WsServer(name, args.server_cpu, cwd, workdir)
    try:
        server.wait_ready()  # includes the WebSocket sanity check
        result = run_clients(server, scenario.connections, args.duration, args, workdir)
        if server.proc.poll() is not None:
            raise server.fail(f"died during the run (status {server.proc.returncode})")
        return result
    finally:
        server.stop()


def summarize(measurements: list[Measurement], scenarios: list[str], labels: list[str]) -> (
    list[Summary]
):  # fmt: skip
    summaries = []
    nan = float("nan")
    for scen in scenarios:
        for label in labels:
            group = [m for m in measurements if m.scenario == scen and m.server == label]
            results = [m.result for m in group if m.result is not None]
            failed = sum(1 for m in group if m.error is not None)
            if not results:
                if group:
                    summaries.append(
                        Summary(
                            scen, label, 0, nan, nan, nan, nan, nan, nan, nan, nan, errors=failed
                        )
                    )
                continue
            mps = [r.mps for r in results]
            s = Summary(
                scenario=scen, server=label, runs=len(results),
                mps_median=statistics.median(mps), mps_min=min(mps), mps_max=max(mps),
                p99_ms_median=statistics.median(r.p99_ms for r in results),
                client_cpu_median=statistics.median(r.client_cpu for r in results),
                client_cpu_max=max(r.client_cpu for r in results),
                client_core_median=statistics.median(r.client_core for r in results),
                server_cpu_median=statistics.median(r.server_cpu for r in results),
                steal_median=statistics.median(r.steal for r in results),
                foreign_median=statistics.median(r.foreign for r in results),
                mps_per_cpu_median=statistics.median(r.mps_per_cpu for r in results),
                errors=failed,
            )  # fmt: skip
            if s.client_cpu_max > CLIENT_CPU_WARN:
                s.warnings.append(
                    f"CLIENT SATURATED: the client used up to {s.client_cpu_max:.0%} of its core; "
                    "msg/s measures the client, not the server"
                )
            conn_errors = sum(r.errors for r in results)
            if conn_errors:
                sample = next(r.error_sample for r in results if r.error_sample)
                s.warnings.append(f"{conn_errors} connection errors (e.g. {sample})")
            # Busy time of the client core beyond the client's own CPU time: softirq work and
            # other people's processes (a shared machine), which slow the client's wake-ups.
            client_foreign = max(0.0, s.client_core_median - s.client_cpu_median)
            if s.steal_median > 0.05 or s.foreign_median > 0.10 or client_foreign > 0.15:
                s.warnings.append(
                    f"noisy machine: median steal {s.steal_median:.0%}, other work on the server "
                    f"core {s.foreign_median:.0%}, on the client core {client_foreign:.0%}"
                )
            if failed:
                s.warnings.append(f"{failed} of {len(group)} measurements failed")
            summaries.append(s)
    return summaries


def format_tables(summaries: list[Summary], labels: list[str]) -> str:
    rows = [
        "| scenario | server | runs | msg/s (median) | msg/s min–max | p99 ms (median) "
        "| msg per server CPU-s | client CPU | client core busy | server CPU | steal |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summaries:
        if s.runs == 0:
            rows.append(f"| {s.scenario} | {s.server} | 0 | failed | | | | | | | |")
            continue
        rows.append(
            f"| {s.scenario} | {s.server} | {s.runs} | {s.mps_median:,.0f} "
            f"| {s.mps_min:,.0f}–{s.mps_max:,.0f} | {s.p99_ms_median:.2f} "
            f"| {s.mps_per_cpu_median:,.0f} | {s.client_cpu_median:.0%} "
            f"| {s.client_core_median:.0%} | {s.server_cpu_median:.0%} | {s.steal_median:.0%} |"
        )
    out = "\n".join(rows)
    if len(labels) >= 2:
        base = labels[-1]
        ratio_rows = [
            "",
            "| scenario | ratio | msg/s ratio (higher is better) | p99 ratio (lower is better) "
            "| msg per CPU-s ratio (higher is better) | best-run msg/s ratio |",
            "|---|---|---:|---:|---:|---:|",
        ]
        by_key = {(s.scenario, s.server): s for s in summaries if s.runs}
        for scen in dict.fromkeys(s.scenario for s in summaries):
            b = by_key.get((scen, base))
            for label in labels[:-1]:
                x = by_key.get((scen, label))
                if x is None or b is None:
                    ratio_rows.append(f"| {scen} | {label}/{base} | n/a | n/a | n/a | n/a |")
                    continue
                ratio_rows.append(
                    f"| {scen} | {label}/{base} | {x.mps_median / b.mps_median:.2f} "
                    f"| {x.p99_ms_median / b.p99_ms_median:.2f} "
                    f"| {x.mps_per_cpu_median / b.mps_per_cpu_median:.2f} "
                    f"| {x.mps_max / b.mps_max:.2f} |"
                )
        out += "\n" + "\n".join(ratio_rows)
    warnings = [f"! {s.scenario}/{s.server}: {w}" for s in summaries for w in s.warnings]
    if warnings:
        out += "\n\n" + "\n".join(warnings)
    return out


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python3 -m bench.ws_bench",
        description="WebSocket echo benchmark of the reference ASGI server against uvicorn.",
    )
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default: 5)")
    p.add_argument(
        "--duration", type=int, default=10, help="measured seconds per run (default: 10)"
    )
    p.add_argument(
        "--scenarios", default="echo-c1,echo-c50",
        help=f"comma-separated, from: {', '.join(SCENARIOS)}",
    )  # fmt: skip
    p.add_argument(
        "--servers", default="reference,uvicorn",
        help=f"comma-separated, the last is the ratio baseline; from: {', '.join(SERVERS)}",
    )  # fmt: skip
    p.add_argument("--size", type=int, default=16, help="bytes of every text message (default: 16)")
    p.add_argument(
        "--client-procs", type=int, default=1, metavar="N",
        help="client processes sharing the connections, all on --client-cpu (default: 1)",
    )  # fmt: skip
    p.add_argument(
        "--client-loop", choices=CLIENT_LOOPS, default="epoll",
        help="event loop of the client processes (default: epoll)",
    )  # fmt: skip
    p.add_argument("--json", type=Path, help="also write every measurement and the summary here")
    p.add_argument(
        "--from-json", type=Path, metavar="FILE",
        help="measure nothing: print the tables of a file written by --json",
    )  # fmt: skip
    p.add_argument("--server-cpu", default="0", help="taskset CPU list for servers (default: 0)")
    p.add_argument("--client-cpu", default="1", help="taskset CPU list for the client (default: 1)")
    p.add_argument(
        "--wait-lock", type=float, default=0.0, metavar="SECONDS",
        help="wait this long for another running benchmark to finish (default: 0, fail)",
    )  # fmt: skip
    args = p.parse_args(argv)
    args.scenario_list = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    args.server_list = [s.strip() for s in args.servers.split(",") if s.strip()]
    for s in args.scenario_list:
        if s not in SCENARIOS:
            p.error(f"unknown scenario {s!r}; known: {', '.join(SCENARIOS)}")
    for s in args.server_list:
        if s not in SERVERS:
            p.error(f"unknown server {s!r}; known: {', '.join(SERVERS)}")
    if args.rounds < 1 or args.duration < 1:
        p.error("--rounds and --duration must be at least 1")
    if not 1 <= args.size <= MAX_SIZE:
        p.error(f"--size must be between 1 and {MAX_SIZE}")
    if not 1 <= args.client_procs <= 64:
        p.error("--client-procs must be between 1 and 64")
    return args


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def report_from_json(path: Path) -> int:
    """Re-print the tables of an earlier run."""
    data = json.loads(path.read_text())
    measurements = [
        Measurement(
            round=m["round"], scenario=m["scenario"], server=m["server"],
            result=WsResult(**m["result"]) if m["result"] else None, error=m["error"],
        )
        for m in data["measurements"]
    ]  # fmt: skip
    labels: list[str] = data["args"]["servers"]
    for name, text in data.get("implementations", {}).items():
        print(f"{name}: {text}")
    print(format_tables(summarize(measurements, data["args"]["scenarios"], labels), labels))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_worker"]:
        return worker_main(argv[1:])
    args = parse_args(argv)
    if args.from_json:
        return report_from_json(args.from_json)
    # Servers and clients run in their own sessions, so a SIGTERM to this script must be
    # turned into the same orderly stop as Ctrl-C, or they would outlive it.
    signal.signal(signal.SIGTERM, _terminate)
    if shutil.which("taskset") is None:
        print("error: taskset not found (apt-get install -y util-linux)", file=sys.stderr)
        return 2
    if (os.cpu_count() or 1) < 2:
        print("warning: fewer than 2 CPUs: server and client share a core", file=sys.stderr)
    cwd = Path.cwd()
    if not (cwd / "bench" / "apps.py").is_file():
        print("error: run from the repository root (bench/apps.py not found)", file=sys.stderr)
        return 2
    try:
        lock = acquire_machine_lock(args.wait_lock)
    except KeyboardInterrupt:
        return 130
    if lock is None:
        return 2
    try:
        # The lock file names its holder; say that this one is the WebSocket benchmark.
        lock.seek(0)
        lock.truncate()
        lock.write(f"{os.getpid()} (bench.ws_bench)\n")
        lock.flush()
        return _run(args, cwd)
    finally:
        lock.close()


def _run(args: argparse.Namespace, cwd: Path) -> int:
    labels = labels_for(args.server_list)
    implementations = describe_servers(args.server_list)
    for name, text in implementations.items():
        print(f"{name}: {text}", file=sys.stderr)
    measurements: list[Measurement] = []
    broken: dict[str, str] = {}
    interrupted = False
    total = args.rounds * len(args.scenario_list) * len(labels)
    per_run = args.duration + WARMUP_SECONDS + 2
    print(
        f"{total} runs of ~{per_run}s (~{total * per_run / 60:.1f} min); server on CPU "
        f"{args.server_cpu}, {args.client_procs} client process(es) ({args.client_loop}) on "
        f"CPU {args.client_cpu}; {args.size}-byte text messages, no compression offered",
        file=sys.stderr,
    )
    with tempfile.TemporaryDirectory(prefix="ws_bench-") as tmp:
        workdir = Path(tmp)
        try:
            for rnd in range(1, args.rounds + 1):
                for scen_name in args.scenario_list:
                    scenario = SCENARIOS[scen_name]
                    for name, label in zip(args.server_list, labels, strict=True):
                        m = Measurement(rnd, scen_name, label)
                        try:
                            m.result = r = measure_one(name, scenario, args, cwd, workdir)
                            print(
                                f"round {rnd} {scen_name:<8} {label:<16} {r.mps:>9,.0f} msg/s "
                                f"p99 {r.p99_ms:6.2f} ms  client CPU {r.client_cpu:4.0%} "
                                f"(core {r.client_core:4.0%})  server CPU {r.server_cpu:4.0%}  "
                                f"steal {r.steal:3.0%}"
                                + (f"  errors {r.errors}" if r.errors else ""),
                                file=sys.stderr,
                            )
                            if r.client_cpu > CLIENT_CPU_WARN:
                                print(
                                    f"!!! CLIENT SATURATED: client CPU {r.client_cpu:.0%} > "
                                    f"{CLIENT_CPU_WARN:.0%}: this figure measures the client, "
                                    "not the server (try --client-procs / --client-loop)",
                                    file=sys.stderr,
                                )
                        except (ServerFailed, ClientFailed) as exc:
                            m.error = str(exc)
                            broken.setdefault(label, m.error)
                            print(f"round {rnd} {scen_name} {label}: FAILED: {exc}",
                                  file=sys.stderr)  # fmt: skip
                        measurements.append(m)
        except KeyboardInterrupt:
            interrupted = True
            print("\ninterrupted: servers stopped; summary of the runs so far", file=sys.stderr)
    summaries = summarize(measurements, args.scenario_list, labels)
    print()
    print(format_tables(summaries, labels))
    if args.json:
        payload = {
            "args": {
                "rounds": args.rounds, "duration": args.duration, "size": args.size,
                "scenarios": args.scenario_list, "servers": labels,
                "server_cpu": args.server_cpu, "client_cpu": args.client_cpu,
                "client_procs": args.client_procs, "client_loop": args.client_loop,
            },
            "implementations": implementations,
            "interrupted": interrupted,
            "measurements": [asdict(m) for m in measurements],
            "summary": [asdict(s) for s in summaries],
        }  # fmt: skip
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    if interrupted:
        return 130
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
