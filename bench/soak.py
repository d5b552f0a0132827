"""A bounded wire soak of one server process: many mixed requests, then the verdict.

``python3 -m bench.soak`` starts ONE reference server (or any ``--server-cmd``) serving
``bench.apps:app`` and runs ``--requests`` requests against it from ``--connections``
client threads, each running every scenario once, then picking them with its own
seeded random generator, one after another:

- **pipeline**: a batch of 8-64 keep-alive requests (``GET /``, ``POST /json`` with the
  benchmarks' 1 KiB JSON body, ``GET`` of a missing page) in one write, the responses
  read back in order (RFC 9112 §9.3.2), sometimes two batches on one connection;
- **deep**: one pipeline of 256-2048 requests (up to about 1 MB) written before any
  response is read, answered in order;
- **keepalive**: 1-20 requests one after the other on one connection;
- **invalid**: a request RFC 9112 says to refuse (CL and TE together, a bare LF, a bad
  method or chunk size, no Host, a 2.0 version, an overlong request-line or head, an
  unknown transfer coding or expectation): the answer must carry the status the RFCs
  name (400, 414, 417, 431, 501, 505) and the server must close the connection
  (RFC 9112 §11.2: after a framing error nothing that follows can be trusted);
- **bytewise**: a valid request written one byte per segment (TCP_NODELAY);
- **abandon**: a request cut mid-head or mid-body, then FIN or RST;
- **websocket**: the opening handshake on ``/ws``, 1-4 echoed messages (text and
  binary), then the closing handshake (RFC 6455 §7.1.2: the server answers the close
  with the same code and closes TCP), or an abrupt end (mid-frame, or RST).

Every response is parsed strictly (``conformance.rawhttp``, h11) and checked (status and
body, ``bench.http_common``); every wait is bounded (``--timeout`` per read, ``--seconds``
for the whole run, which is then a failure). Progress is printed every
``--progress`` seconds. The run passes when: the server never died, no request got a
wrong or no answer, the server logged no traceback and no ERROR, it exited cleanly on
SIGTERM, and its resident memory (VmRSS) at the end is within ``--rss-slack-mib`` of
what it was after the first ``--warmup`` requests.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import struct
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.http_common import POST_BODY, wrong_answer
from bench.machine import HOST, proc_cpu_seconds
from bench.ws_wire import WsProtocolError, client_frame, handshake, parse_frame, read_message
from conformance.launcher import ServerProcess, ServerStartError
from conformance.rawhttp import MalformedResponse, RawConnection
from conformance.servers import ServerConfigError, parse_template
from conformance.verdicts import NoResponse

#: The reference server as the soak starts it: the access log off (a million lines is
#: not evidence), everything else logged.
DEFAULT_COMMAND = ("{python} -m reference_server {app} --host {host} --port {port} "
                   "--no-access-log --log-level info")
APP = "bench.apps:app"

_GET = b"GET / HTTP/1.1\r\nHost: soak\r\n\r\n"
_POST = (b"POST /json HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\n"
         b"Content-Length: %d\r\n\r\n" % len(POST_BODY)) + POST_BODY
_MISSING = b"GET /missing?x=1 HTTP/1.1\r\nHost: soak\r\n\r\n"
#: (request bytes, method, path) of the valid requests a pipeline mixes.
VALID = ((_GET, "GET", "/"), (_POST, "POST", "/json"), (_MISSING, "GET", "/missing"))

#: Requests the server must refuse, with the status RFC 9112/9110 name for them.
INVALID: tuple[tuple[str, bytes, int], ...] = (
    ("CL and TE", b"POST /json HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),       # §6.3
    ("bare LF", b"GET / HTTP/1.1\nHost: a\r\n\r\n", 400),                      # §2.2
    ("bad method", b"G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),                 # §3
    ("no Host", b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400),                # §3.2
    ("two Hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),       # §3.2
    ("bad Content-Length", b"POST /json HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n"
                           b"\r\n", 400),                                      # §6.3
    ("space before colon", b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),        # §5.1
    ("obs-fold", b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n", 400),     # §5.2
    ("bad chunk size", b"POST /json HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                       b"\r\nzz\r\n", 400),                                    # §7.1
    ("version 2.0", b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),                # §2.3
    ("long request-line", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414),
    ("large head", b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"v" * 70000 + b"\r\n\r\n", 431),
    ("gzip coding", b"POST /json HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked"
                    b"\r\n\r\n", 501),                                         # §6.1
    ("unknown expectation", b"GET / HTTP/1.1\r\nHost: a\r\nExpect: tea\r\n\r\n", 417),
)

SCENARIOS = ("pipeline", "deep", "keepalive", "invalid", "bytewise", "abandon", "websocket")
WEIGHTS = (60, 2, 18, 8, 2, 5, 5)
#: Requests per session, for the scenarios that make more than one (the smallest during
#: the first round of every scenario, so that a short run still tries them all).
SIZES = {"pipeline": (8, 128), "deep": (256, 2048), "keepalive": (1, 20)}


class SoakError(Exception):
    """A wrong answer, or none: one line saying what was sent and what came back."""


class Stats:
    """What the client threads share: counts, errors, and when to stop."""

    def __init__(self, total: int, max_errors: int) -> None:
        self.total = total
        self.max_errors = max_errors
        self.lock = threading.Lock()
        self.done = 0
        self.by_kind: Counter[str] = Counter()
        self.ws_messages = 0
        self.errors: Counter[str] = Counter()
        self.examples: list[str] = []
        self.stop = threading.Event()

    def claim(self, n: int) -> int:
        """Reserve up to ``n`` requests of the total; 0 when it is reached."""
        with self.lock:
            n = min(n, self.total - self.done)
            if n <= 0:
                self.stop.set()
                return 0
            self.done += n
            return n

    def count(self, kind: str, n: int) -> None:
        with self.lock:
            self.by_kind[kind] += n

    def error(self, kind: str, message: str) -> None:
        with self.lock:
            self.errors[kind] += 1
            if len(self.examples) < 20:
                self.examples.append(f"{kind}: {message}")
            if sum(self.errors.values()) >= self.max_errors:
                self.stop.set()


# -- the scenarios ---------------------------------------------------------------------------


def check(method: str, path: str, status: int, body: bytes) -> str | None:
    if path == "/missing":
        return None if status == 404 else f"answered {status} {body[:60]!r}"
    if method == "POST":
        return wrong_answer("/json", status, body)
    return wrong_answer("/", status, body)


def pipeline(rng: random.Random, port: int, n: int, timeout: float,
             sizes: tuple[int, int] = (8, 64)) -> None:
    with RawConnection(HOST, port, timeout=timeout) as conn:
        left = n
        while left:
            size = min(left, rng.randint(*sizes))
            batch = [VALID[rng.choices((0, 1, 2), (70, 25, 5))[0]] for _ in range(size)]
            conn.send(b"".join(raw for raw, _, _ in batch), record=False)
            for _, method, path in batch:
                response = conn.read_response(method)
                wrong = check(method, path, response.status, response.body)
                if wrong:
                    raise SoakError(f"{method} {path} in a pipeline of {size}: {wrong}")
            conn.transcript.clear()
            left -= size


def keepalive(rng: random.Random, port: int, n: int, timeout: float) -> None:
    with RawConnection(HOST, port, timeout=timeout) as conn:
        for _ in range(n):
            raw, method, path = rng.choice(VALID)
            conn.send(raw, record=False)
            response = conn.read_response(method)
            wrong = check(method, path, response.status, response.body)
            if wrong:
                raise SoakError(f"{method} {path} on a keep-alive connection: {wrong}")
        conn.transcript.clear()


def invalid(rng: random.Random, port: int, timeout: float) -> None:
    name, raw, status = rng.choice(INVALID)
    with RawConnection(HOST, port, timeout=timeout) as conn:
        conn.send(raw, record=False)
        response = conn.read_response("GET")
        if response.status != status:
            raise SoakError(f"{name}: answered {response.status}, RFC 9112 asks for {status}")
        if not conn.wait_closed(timeout):
            raise SoakError(f"{name}: the connection stayed open after the {status}")


def bytewise(rng: random.Random, port: int, timeout: float) -> None:
    raw, method, path = VALID[0] if rng.random() < 0.8 else VALID[1]
    with RawConnection(HOST, port, timeout=timeout) as conn:
        conn.send_pieces([raw[i:i + 1] for i in range(len(raw))], pause=0)
        response = conn.read_response(method)
        wrong = check(method, path, response.status, response.body)
        if wrong:
            raise SoakError(f"{method} {path} sent one byte at a time: {wrong}")


def abandon(rng: random.Random, port: int, timeout: float) -> None:
    raw = _POST if rng.random() < 0.6 else _GET
    cut = rng.randint(1, len(raw) - 1)  # mid-head or mid-body
    conn = RawConnection(HOST, port, timeout=timeout)
    conn.send(raw[:cut], record=False)
    if rng.random() < 0.5:
        conn.abort()  # RST
    else:
        conn.close()  # FIN


def websocket(rng: random.Random, port: int, timeout: float) -> int:
    """One session; returns the messages echoed."""
    sock = socket.create_connection((HOST, port), timeout=timeout)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = bytearray(handshake(sock, port, timeout))
        echoed = 0
        for _ in range(rng.randint(1, 4)):
            text = rng.random() < 0.5
            payload = (("é" * rng.randint(0, 100)).encode() if text
                       else rng.randbytes(rng.randint(0, 300)))
            opcode = 0x1 if text else 0x2
            sock.sendall(client_frame(opcode, payload, rng.randbytes(4)))
            got = read_message(sock, buf, time.monotonic() + timeout)
            if got != (opcode, payload):
                raise SoakError(f"websocket echo: sent {opcode} {payload[:20]!r}, "
                                f"got {got[0]} {got[1][:20]!r}")
            echoed += 1
        ending = rng.random()
        if ending < 0.15:  # abandoned mid-frame
            sock.sendall(client_frame(0x2, b"x" * 50)[:rng.randint(1, 20)])
        elif ending < 0.3:  # abandoned with RST
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:  # the closing handshake (RFC 6455 §5.5.1, §7.1.2)
            sock.sendall(client_frame(0x8, (1000).to_bytes(2, "big") + b"bye"))
            close = _read_frame(sock, buf, time.monotonic() + timeout)
            if close.opcode != 0x8 or close.payload[:2] != (1000).to_bytes(2, "big"):
                raise SoakError(f"websocket close answered with opcode {close.opcode} "
                                f"{close.payload[:20]!r}")
            sock.settimeout(timeout)
            if sock.recv(1) != b"":
                raise SoakError("websocket: data after the close frame")
        return echoed
    finally:
        sock.close()


def _read_frame(sock: socket.socket, buf: bytearray, deadline: float) -> Any:
    while True:
        frame = parse_frame(buf)
        if frame is not None:
            del buf[:frame.end]
            return frame
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            raise SoakError("websocket: closed without a close frame")
        buf += chunk


def worker(index: int, seed: int, port: int, stats: Stats, timeout: float) -> None:
    rng = random.Random(seed * 1000 + index)
    # Every scenario once first (so even a short run tries each), then at random.
    first = list(SCENARIOS[index % len(SCENARIOS):] + SCENARIOS[:index % len(SCENARIOS)])
    while not stats.stop.is_set():
        touring = bool(first)
        kind = first.pop(0) if touring else rng.choices(SCENARIOS, WEIGHTS)[0]
        low, high = SIZES.get(kind, (1, 1))
        want = low if touring else rng.randint(low, high)
        n = stats.claim(want)
        if not n:
            return
        try:
            if kind == "pipeline":
                pipeline(rng, port, n, timeout)
            elif kind == "deep":
                pipeline(rng, port, n, timeout, (n, n))
            elif kind == "keepalive":
                keepalive(rng, port, n, timeout)
            elif kind == "invalid":
                invalid(rng, port, timeout)
            elif kind == "bytewise":
                bytewise(rng, port, timeout)
            elif kind == "abandon":
                abandon(rng, port, timeout)
            else:
                echoed = websocket(rng, port, timeout)
                with stats.lock:
                    stats.ws_messages += echoed
        except (SoakError, NoResponse, MalformedResponse, WsProtocolError, OSError) as exc:
            stats.error(kind, f"{type(exc).__name__}: {exc}"[:300])
        except Exception as exc:  # a bug of the soak itself: it must fail the run too
            stats.error(f"{kind} (harness)", f"{type(exc).__name__}: {exc}"[:300])
        stats.count(kind, n)


# -- the run ---------------------------------------------------------------------------------


def rss_kib(pid: int) -> int | None:
    """VmRSS of ``pid`` in KiB (/proc/PID/status), None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def bad_log_lines(text: str) -> list[str]:
    """Lines of the server's log that a clean run never has."""
    return [line for line in text.splitlines()
            if "Traceback" in line or line.startswith(("ERROR", "CRITICAL"))]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python3 -m bench.soak",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1_000_000,
                        help="requests in all (default 1,000,000)")
    parser.add_argument("--warmup", type=int, default=50_000,
                        help="requests before the reference RSS is read (default 50,000)")
    parser.add_argument("--connections", type=int, default=8,
                        help="client threads, each with its own connection (default 8)")
    parser.add_argument("--seconds", type=float, default=900,
                        help="time cap of the whole run; reaching it fails (default 900)")
    parser.add_argument("--timeout", type=float, default=10,
                        help="seconds any one read may wait (default 10)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--rss-slack-mib", type=float, default=5,
                        help="RSS growth allowed after the warm-up (default 5 MiB)")
    parser.add_argument("--progress", type=float, default=10,
                        help="seconds between progress lines (default 10)")
    parser.add_argument("--max-errors", type=int, default=100,
                        help="stop early after this many errors (default 100)")
    parser.add_argument("--server-cmd", default=DEFAULT_COMMAND,
                        help="command template with {app}, {host}, {port} "
                             f"(default: {DEFAULT_COMMAND!r})")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    for name in ("requests", "connections", "max_errors"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("seconds", "timeout", "progress"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name} must be positive")
    if args.warmup < 0 or args.warmup >= args.requests:
        parser.error("--warmup must be at least 0 and less than --requests")
    if args.rss_slack_mib < 0:
        parser.error("--rss-slack-mib must be at least 0")
    if args.json is not None and not args.json.parent.is_dir():
        parser.error(f"--json: no directory {str(args.json.parent)!r}")
    return args


def run(args: argparse.Namespace, say: Callable[[str], None]) -> dict[str, Any]:
    """Start the server, run the soak, stop the server; the figures and the verdict."""
    server = ServerProcess(parse_template(args.server_cmd, "soak"), APP)
    server.start()
    assert server.process is not None
    pid = server.process.pid
    say(f"server pid {pid} on {HOST}:{server.port}: {server.describe()}")
    stats = Stats(args.requests, args.max_errors)
    threads = [threading.Thread(target=worker, daemon=True, name=f"soak-{i}",
                                args=(i, args.seed, server.port, stats, args.timeout))
               for i in range(args.connections)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    rss_warm: int | None = None
    warm_at = 0.0
    capped = died = False
    last = start
    while any(t.is_alive() for t in threads):
        for thread in threads:
            thread.join(0.2)
        now = time.monotonic()
        if rss_warm is None and stats.done >= args.warmup:
            rss_warm, warm_at = rss_kib(pid), now - start
            say(f"warm-up done: {stats.done:,} requests in {warm_at:.1f} s, "
                f"RSS {_mib(rss_warm)}")
        if not server.alive():
            died = True
            stats.stop.set()
        if now - start > args.seconds:
            capped = True
            stats.stop.set()
        if now - last >= args.progress:
            last = now
            say(f"{stats.done:,}/{args.requests:,} requests, {now - start:.0f} s, "
                f"{stats.done / (now - start):,.0f}/s, RSS {_mib(rss_kib(pid))}, "
                f"errors {sum(stats.errors.values())}")
        if (capped or died) and now - start > args.seconds + args.timeout * 2:
            break  # threads stuck past every bound: report rather than wait
    duration = time.monotonic() - start
    client_cpu = time.process_time()
    time.sleep(0.5)  # let the server finish closing the last connections
    rss_end = rss_kib(pid)
    server_cpu = proc_cpu_seconds(pid)
    alive = server.alive()
    exit_code = server.stop()
    log_bad = bad_log_lines(server.stderr_tail(1 << 20) + server.stdout_tail(1 << 20))
    growth = None if rss_warm is None or rss_end is None else (rss_end - rss_warm) / 1024
    failures = []
    if died or not alive:
        failures.append(f"the server died (exit status {exit_code})")
    if capped:
        failures.append(f"the time cap of {args.seconds:g} s was reached")
    if stats.errors:
        failures.append(f"{sum(stats.errors.values())} requests got a wrong answer or none")
    if log_bad:
        failures.append(f"{len(log_bad)} traceback/ERROR lines in the server's log")
    if alive and exit_code not in (0, None):
        failures.append(f"the server exited with status {exit_code} on SIGTERM")
    if growth is None:
        failures.append("RSS could not be read")
    elif growth > args.rss_slack_mib:
        failures.append(f"RSS grew {growth:.1f} MiB after the warm-up "
                        f"(allowed {args.rss_slack_mib:g})")
    return {
        "requests": stats.done, "by_kind": dict(stats.by_kind),
        "websocket_messages": stats.ws_messages, "duration_s": round(duration, 1),
        "rate_per_s": round(stats.done / duration), "warmup_requests": args.warmup,
        "server_cpu_s": None if server_cpu is None else round(server_cpu, 1),
        "client_cpu_s": round(client_cpu, 1),
        "warmup_s": round(warm_at, 1), "rss_warm_kib": rss_warm, "rss_end_kib": rss_end,
        "rss_growth_mib": None if growth is None else round(growth, 2),
        "errors": dict(stats.errors), "error_examples": stats.examples,
        "log_lines": log_bad[:20], "server_exit": exit_code, "failures": failures,
    }


def _mib(kib: int | None) -> str:
    return "?" if kib is None else f"{kib / 1024:.1f} MiB"


def summary(result: dict[str, Any]) -> str:
    lines = [f"requests: {result['requests']:,} in {result['duration_s']} s "
             f"({result['rate_per_s']:,}/s); CPU: server {result['server_cpu_s']} s, "
             f"client {result['client_cpu_s']} s"]
    lines += [f"  {kind:<10} {count:>10,}" for kind, count in
              sorted(result["by_kind"].items(), key=lambda kv: -kv[1])]
    lines.append(f"  websocket messages echoed: {result['websocket_messages']:,}")
    lines.append(f"RSS after warm-up ({result['warmup_requests']:,} requests): "
                 f"{_mib(result['rss_warm_kib'])}; at the end: {_mib(result['rss_end_kib'])}"
                 f" (growth {result['rss_growth_mib']} MiB)")
    lines.append(f"errors: {result['errors'] or 'none'}")
    lines += [f"  {example}" for example in result["error_examples"]]
    lines += [f"  server log: {line}" for line in result["log_lines"]]
    lines.append(f"server exit status on SIGTERM: {result['server_exit']}")
    lines.append("PASS" if not result["failures"] else "FAIL: " + "; ".join(result["failures"]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        result = run(args, lambda line: print(line, flush=True))
    except (ServerConfigError, ServerStartError) as exc:
        print(f"python3 -m bench.soak: error: {exc}", file=sys.stderr)
        return 2
    print(summary(result))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if not result["failures"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
