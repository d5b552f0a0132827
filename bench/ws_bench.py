"""WebSocket echo benchmark: the reference server against uvicorn, driven by a lean raw client.

Why this exists: the reference server must not be slower than uvicorn at WebSockets either,
and for WebSockets there is no ``wrk``: the load client is part of this script. A benchmark
whose client is slower than the servers measures the client, so the client is written to cost
as little CPU per message as possible, and its CPU time is measured and reported with every
figure. It follows the conventions of ``bench.http_bench`` and shares its driver
(``bench.driver``, ``bench.machine``):

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

The client (``bench.ws_client``, on the wire of ``bench.ws_wire``): raw sockets, the opening
handshake done once per connection (without offering permessage-deflate, so every server runs
uncompressed), one masked frame built once and sent again and again, and the echo recognised
by comparing the received bytes with the one expected unmasked server frame (a full frame
parser only runs when that fast path misses: partial reads, pings, fragments). Each connection
is closed-loop: one message in flight, the next sent as soon as the echo is in. The event loop
is ``select.epoll`` (or uvloop, ``--client-loop``), and ``--client-procs`` splits the
connections over several processes on the client core. This module is the driver's side:
the servers, starting the clients and reading their figures.

Usage::

    python3 -m bench.ws_bench [--rounds 5] [--duration 10] [--scenarios echo-c1,echo-c50]
        [--servers reference,uvicorn] [--size 16] [--json out.json]

Ratios are ``server / baseline`` where the baseline is the last server of ``--servers``
(uvicorn by default). ``--servers uvicorn,uvicorn`` is an A/A run that shows the noise.
"""

from __future__ import annotations

import argparse
import array
import contextlib
import json
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.driver import WARMUP_SECONDS, Bench, Summary, noisy_machine, per_cpu, percentile
from bench.machine import (
    HOST,
    MeasurementFailed,
    PinnedServer,
    core_busy,
    cpu_shares,
    cpu_snapshot,
    single_cpu,
    stop_process,
    tail,
)
from bench.ws_client import (
    CLIENT_GRACE,
    CLIENT_LOOPS,
    READY_TIMEOUT,
    WindowStats,
    worker_main,
)
from bench.ws_wire import WsProtocolError, client_frame, handshake, read_message

CLIENT_CPU_WARN = 0.90
SANITY_TIMEOUT = 5.0
MAX_SIZE = 1 << 20

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


@dataclass(frozen=True)
class Scenario:
    name: str
    connections: int


SCENARIOS: dict[str, Scenario] = {
    "echo-c1": Scenario("echo-c1", 1),
    "echo-c50": Scenario("echo-c50", 50),
}


class ClientFailed(MeasurementFailed):
    """A client process did not start, connect, or finish in time."""


# --------------------------------------------------------------------------- servers


class WsServer(PinnedServer):
    """A server of ``SERVERS`` pinned to one CPU; its sanity check is the WebSocket echo."""

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


def uvicorn_ws_protocol(ws: str) -> str:
    """The protocol class uvicorn's ``--ws`` value resolves to in this environment."""
    code = (
        "import sys\nfrom uvicorn.config import WS_PROTOCOLS\n"
        "from uvicorn.importer import import_from_string\n"
        "c = import_from_string(WS_PROTOCOLS[sys.argv[1]])\n"
        "print(c.__module__ + ':' + c.__qualname__)\n"
    )
    try:
        res = subprocess.run(
            [sys.executable, "-c", code, ws], capture_output=True, text=True, timeout=30,
            check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return "? (timed out)"
    return res.stdout.strip() or f"? ({res.stderr.strip()[-120:]})"


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
        return per_cpu(self.mps, self.server_cpu)


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
    server: PinnedServer, connections: int, duration: int, args: argparse.Namespace, workdir: Path,
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
        before = cpu_snapshot(server, watched)
        w0 = time.monotonic()
        _sleep_until(t_end)
        w1 = time.monotonic()
        after = cpu_snapshot(server, watched)
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
    p50 = percentile(ordered, 0.50) / 1e6
    p99 = percentile(ordered, 0.99) / 1e6
    cpu = cpu_shares(before, after, wall, server.cpu)
    client_core = core_busy(before, after, single_cpu(args.client_cpu), wall)
    return WsResult(
        mps=mps, p50_ms=p50, p99_ms=p99, messages=messages, errors=len(errors),
        client_cpu=client_cpu, client_core=client_core, server_cpu=cpu.server, wall_s=wall,
        client_procs=len(shares), steal=cpu.steal, foreign=cpu.foreign,
        error_sample=errors[0] if errors else "",
    )  # fmt: skip




# --------------------------------------------------------------------------- the benchmark


class WsBench(Bench[WsResult]):
    """Echoed messages per second, per scenario and server."""

    name = "ws_bench"
    description = "WebSocket echo benchmark of the reference ASGI server against uvicorn."
    scenarios = SCENARIOS
    servers = SERVERS
    default_scenarios = "echo-c1,echo-c50"
    duration_help = "measured seconds per run (default: 10)"
    load_cpu = ("--client-cpu", "taskset CPU list for the client (default: 1)")
    wait_help = "wait this long for another running benchmark to finish (default: 0, fail)"
    json_options = ("rounds", "duration", "size", "scenarios", "servers", "server_cpu",
                    "client_cpu", "client_procs", "client_loop")

    tools, install = ("taskset",), "util-linux"
    load = "client"
    lock_note = " (bench.ws_bench)"
    server_type = WsServer
    server_packages = SERVER_PACKAGES

    result_type = WsResult
    rate, unit = "mps", "msg"
    load_columns = (("client CPU", "client_cpu"), ("client core busy", "client_core"))
    maxima = ("client_cpu",)
    problem = ("errors", "errors")
    progress_widths = (8, 16, 9, 6)

    @classmethod
    def add_options(cls, p: argparse.ArgumentParser) -> None:
        p.add_argument("--size", type=int, default=16,
                       help="bytes of every text message (default: 16)")
        p.add_argument(
            "--client-procs", type=int, default=1, metavar="N",
            help="client processes sharing the connections, all on --client-cpu (default: 1)",
        )  # fmt: skip
        p.add_argument("--client-loop", choices=CLIENT_LOOPS, default="epoll",
                       help="event loop of the client processes (default: epoll)")

    @classmethod
    def check_options(cls, p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
        if not 1 <= args.size <= MAX_SIZE:
            p.error(f"--size must be between 1 and {MAX_SIZE}")
        if not 1 <= args.client_procs <= 64:
            p.error("--client-procs must be between 1 and 64")

    def describe_server(self, name: str) -> list[str]:
        """The versions, and the class uvicorn's ``--ws`` resolves to."""
        parts = super().describe_server(name)
        if name in UVICORN_WS:
            parts.insert(0, f"--ws {UVICORN_WS[name]} -> {uvicorn_ws_protocol(UVICORN_WS[name])}")
        return parts

    def plan(self) -> str:
        args = self.args
        return (
            f"{args.client_procs} client process(es) ({args.client_loop}) on "
            f"CPU {args.client_cpu}; {args.size}-byte text messages, no compression offered"
        )

    def load_server(self, server: PinnedServer, scenario: str, workdir: Path) -> WsResult:
        """The clients' warm-up and measured window (the server's wait_ready() included
        the WebSocket sanity check)."""
        connections = SCENARIOS[scenario].connections
        return run_clients(server, connections, self.args.duration, self.args, workdir)

    def load_figures(self, result: WsResult) -> str:
        return f"client CPU {result.client_cpu:4.0%} (core {result.client_core:4.0%})"

    def progress(self, rnd: int, scenario: str, label: str, r: WsResult) -> None:
        super().progress(rnd, scenario, label, r)
        if r.client_cpu > CLIENT_CPU_WARN:
            print(
                f"!!! CLIENT SATURATED: client CPU {r.client_cpu:.0%} > "
                f"{CLIENT_CPU_WARN:.0%}: this figure measures the client, "
                "not the server (try --client-procs / --client-loop)",
                file=sys.stderr,
            )

    @classmethod
    def warnings(cls, s: Summary, results: list[WsResult], measured: int) -> list[str]:
        out = []
        hot = s.figures["client_cpu_max"]
        if hot > CLIENT_CPU_WARN:
            out.append(f"CLIENT SATURATED: the client used up to {hot:.0%} of its core; "
                       "msg/s measures the client, not the server")
        conn_errors = sum(r.errors for r in results)
        if conn_errors:
            sample = next(r.error_sample for r in results if r.error_sample)
            out.append(f"{conn_errors} connection errors (e.g. {sample})")
        # Busy time of the client core beyond the client's own CPU time: softirq work and
        # other people's processes (a shared machine), which slow the client's wake-ups.
        client = s.figures["client_core_median"] - s.figures["client_cpu_median"]
        out += noisy_machine(s, max(0.0, client))
        if s.errors:
            out.append(f"{s.errors} of {measured} measurements failed")
        return out


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_worker"]:
        return worker_main(argv[1:])
    return WsBench.main(argv)


if __name__ == "__main__":
    sys.exit(main())
