"""The WebSocket benchmark's load client: a worker process of ``python3 -m bench.ws_bench``.

A benchmark whose client is slower than the servers measures the client, so the client is
written to cost as little CPU per message as possible: raw sockets, the opening handshake
done once per connection, one masked frame built once and sent again and again, and the
echo recognised by comparing the received bytes with the one expected unmasked server
frame (a full frame parser only runs when that fast path misses: partial reads, pings,
fragments). Each connection is closed-loop: one message in flight, the next sent as soon
as the echo is in. The loop is ``select.epoll`` (or uvloop, ``--client-loop``).

A worker is ``python3 -m bench.ws_bench _worker ...``, started pinned to the client core. It
connects and handshakes its connections, writes "ready" on stdout, and waits for one line
"go T_START T_WARM T_END" (CLOCK_MONOTONIC seconds, shared by all processes of the machine)
on stdin. It sends from T_START, counts echoes from T_WARM to T_END, and writes its counts,
its CPU time over that window and the round-trip latencies into files for the driver.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import contextlib
import json
import os
import resource
import select
import socket
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import NamedTuple, cast

from bench.machine import HOST
from bench.ws_wire import WsProtocolError, client_frame, handshake, parse_frame, server_frame

CLIENT_GRACE = 15.0  # seconds the clients may overrun the end of the window before a kill
READY_TIMEOUT = 20.0  # client processes: start, connect and handshake every connection
CLIENT_LOOPS = ("epoll", "uvloop")


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

    def end_window(self, cpu0: float, w0: float, now: float, count0: int, count: int,
                   sent: Iterable[int]) -> None:
        """Close the measured window that began at ``w0`` with ``cpu0`` and ``count0``:
        ``sent`` holds, per live connection, when its message in flight went out."""
        self.cpu_s = _rusage_cpu() - cpu0
        self.window_s = now - w0
        self.messages = count - count0
        self.warmup_messages = count0
        old = time.perf_counter_ns() - 1_000_000_000
        self.stalled = sum(1 for t in sent if 0 <= t < old)


class Plan(NamedTuple):
    """What every connection of a worker sends and expects, and when (CLOCK_MONOTONIC)."""

    payload: bytes
    frame: bytes  # the masked client message, built once and sent again and again
    expected: bytes  # the unmasked server frame an echo must be, byte for byte
    start: float
    warm: float
    end: float


def make_plan(payload: bytes, start: float, warm: float, end: float) -> Plan:
    return Plan(payload, client_frame(0x1, payload), server_frame(0x1, payload), start, warm, end)


def _rusage_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _unused_recv(n: int) -> bytes:
    raise AssertionError("event on an unknown fd")


def _unused_send(data: bytes) -> None:
    raise AssertionError("send on an unknown fd")


def _epoll_loop(conns: list[_Conn], plan: Plan, lat: array.array[int]) -> WindowStats:
    """Closed loop on raw blocking sockets with level-triggered epoll: the lean client."""
    payload, frame, expected = plan.payload, plan.frame, plan.expected
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
        stats.start_delay_s = monotonic() - plan.start
        for c in conns:
            sent[c.sock.fileno()] = clock()
            c.sock.sendall(frame)
        poll = ep.poll
        measuring = False
        switch = plan.warm
        cpu0 = w0 = 0.0
        count0 = lat_start = 0
        while True:
            events = poll(0.01)
            now = monotonic()
            if now >= switch:
                if measuring:
                    stats.end_window(cpu0, w0, now, count0, count,
                                     [sent[c.sock.fileno()] for c in conns])
                    break
                measuring, switch = True, plan.end
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


def _uvloop_loop(conns: list[_Conn], plan: Plan, lat: array.array[int]) -> WindowStats:
    """The same closed loop on uvloop transports (protocol callbacks instead of epoll)."""
    # Imported here: uvloop is optional, and only this (non-default) loop needs it.
    import uvloop

    payload, frame, expected = plan.payload, plan.frame, plan.expected
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
            if self.sent >= 0 and time.monotonic() < plan.end:
                stats.errors.append(f"connection lost: {exc!r}")
            self.sent = -1

    async def run() -> None:
        loop = asyncio.get_running_loop()
        stats.start_delay_s = time.monotonic() - plan.start
        protocols: list[Echo] = []
        for c in conns:
            c.sock.setblocking(False)
            _, proto = await loop.create_connection(partial(Echo, c), sock=c.sock)
            protocols.append(proto)
        await asyncio.sleep(max(0.0, plan.warm - time.monotonic()))
        cpu0, w0, count0, lat0 = _rusage_cpu(), time.monotonic(), counter[0], len(lat)
        await asyncio.sleep(max(0.0, plan.end - time.monotonic()))
        stats.end_window(cpu0, w0, time.monotonic(), count0, counter[0],
                         [p.sent for p in protocols])
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
    stats = loop(conns, make_plan(payload, t_start, t_warm, t_end), lat)
    Path(f"{args.out}.lat").write_bytes(lat.tobytes())
    Path(f"{args.out}.json").write_text(json.dumps(asdict(stats)))
    for c in conns:
        with contextlib.suppress(OSError):
            c.sock.close()
    return 0
