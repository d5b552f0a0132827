"""Memory an HTTP/2 connection and a flow-blocked stream hold in the reference server.

``python3 -m bench.h2_memory`` starts the reference server (the bench app, one process)
and measures its resident memory (``VmRSS``) three times:

1. after a warm-up (a few connections opened, used and closed);
2. with ``--connections`` idle HTTP/2 connections open (preface and SETTINGS exchanged,
   no stream): the growth divided by their number is the memory of an idle connection;
3. with, in addition, one connection whose client set SETTINGS_INITIAL_WINDOW_SIZE to 0
   and opened ``--streams`` requests for ``/stream`` (1 MiB each, sent by the app in
   64 KiB chunks): the server answers each with its HEADERS and can send no DATA, so each
   stream holds its application task, its scope and the one chunk ``send()`` is waiting
   to write. The growth divided by the stream count is the memory of a blocked stream.

The server runs with ``--timeout-keep-alive 600`` so that idle connections are not closed
during the measurement (the default, 5 s, would close them: that is the other bound on
what idle connections cost). Every wait is bounded; the server is stopped by PID.
"""

from __future__ import annotations

import argparse
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.http_common import COMMANDS
from bench.machine import HOST, free_port, stop_process

REPO = Path(__file__).resolve().parents[1]
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
WAIT = 20.0


def settings(values: dict[int, int]) -> bytes:
    payload = b"".join(struct.pack(">HI", k, v) for k, v in values.items())
    return struct.pack(">I", len(payload))[1:] + b"\x04\x00" + b"\x00\x00\x00\x00" + payload


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def frames_until(sock: socket.socket, done: Callable[[int, int, int], bool],
                 deadline: float) -> None:
    """Read frames until ``done(kind, flags, stream_id)`` says so, or fail at ``deadline``."""
    buf = b""
    while True:
        while len(buf) >= 9:
            length = int.from_bytes(buf[:3], "big")
            if len(buf) < 9 + length:
                break
            kind, flags = buf[3], buf[4]
            sid = int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
            buf = buf[9 + length:]
            if done(kind, flags, sid):
                return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise SystemExit("timed out waiting for the server's frames")
        sock.settimeout(remaining)
        data = sock.recv(65536)
        if not data:
            raise SystemExit("the server closed a connection")
        buf += data


def open_idle(port: int) -> socket.socket:
    sock = socket.create_connection((HOST, port), timeout=WAIT)
    sock.sendall(PREFACE + settings({}))
    frames_until(sock, lambda kind, flags, sid: kind == 4 and not flags & 1,
                 time.monotonic() + WAIT)
    return sock


def headers_block(path: bytes, authority: bytes) -> bytes:
    """GET ``path``: indexed :method GET (2) and :scheme http (6), literal :path and
    :authority without indexing (RFC 7541 §6.2.2), raw strings."""
    def literal(index: int, value: bytes) -> bytes:
        return bytes((index,)) + bytes((len(value),)) + value
    return b"\x82\x86" + literal(4, path) + literal(1, authority)


def blocked_streams(port: int, count: int) -> socket.socket:
    sock = socket.create_connection((HOST, port), timeout=WAIT)
    sock.sendall(PREFACE + settings({4: 0}))  # SETTINGS_INITIAL_WINDOW_SIZE = 0
    block = headers_block(b"/stream", f"{HOST}:{port}".encode())
    out = b""
    for i in range(count):
        out += struct.pack(">I", len(block))[1:] + b"\x01\x05" + struct.pack(">I", 2 * i + 1)
        out += block
    sock.sendall(out)
    answered: set[int] = set()

    def done(kind: int, flags: int, sid: int) -> bool:
        if kind == 1:
            answered.add(sid)
        if kind == 3:
            raise SystemExit(f"the server reset stream {sid}")
        return len(answered) == count
    frames_until(sock, done, time.monotonic() + WAIT)
    return sock


def settle(pid: int) -> int:
    time.sleep(1.0)
    return rss(pid)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m bench.h2_memory",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--streams", type=int, default=100,
                        help="blocked streams (at most the server's 100 concurrent)")
    args = parser.parse_args(argv)
    port = free_port()
    command = [part.replace("{port}", str(port)) for part in COMMANDS["reference"]]
    command += ["--timeout-keep-alive", "600"]
    proc = subprocess.Popen(command, cwd=REPO, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sockets: list[socket.socket] = []
    try:
        deadline = time.monotonic() + WAIT
        while True:
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.1)
        for _ in range(5):
            open_idle(port).close()
        base = settle(proc.pid)
        sockets = [open_idle(port) for _ in range(args.connections)]
        idle = settle(proc.pid)
        sockets.append(blocked_streams(port, args.streams))
        blocked = settle(proc.pid)
    finally:
        for sock in sockets:
            sock.close()
        stop_process(proc)
    per_conn = (idle - base) / args.connections
    per_stream = (blocked - idle) / args.streams
    mib = 1024 * 1024
    print("| measurement | server RSS | growth | per item |")
    print("|---|---:|---:|---:|")
    print(f"| after warm-up | {base / mib:.1f} MiB | | |")
    print(f"| {args.connections} idle h2 connections | {idle / mib:.1f} MiB | "
          f"{(idle - base) / mib:.1f} MiB | {per_conn / 1024:.1f} KiB per connection |")
    print(f"| + {args.streams} streams blocked on flow control | {blocked / mib:.1f} MiB | "
          f"{(blocked - idle) / mib:.1f} MiB | {per_stream / 1024:.1f} KiB per stream |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
