"""HTTP throughput benchmark: the reference server against uvicorn, driven by wrk.

Why this exists: the reference server must not be slower than uvicorn (uvloop + httptools),
and "faster" only means something when both servers are measured the same way on the same
machine in the same minutes. So this script

* serves the very same app (``bench.apps:app``) with every server;
* pins the server to one core and wrk to the other (``taskset``) so the two never compete for
  a CPU and the server is the only thing limited by its core;
* interleaves servers round by round, so slow drift of the machine (thermal, noisy neighbours)
  hits every server alike, and reports medians over the rounds;
* starts a fresh server for every measurement and warms it up before measuring;
* measures wrk's own CPU time: when wrk saturates its core the figures measure wrk, not the
  server, and the script says so;
* records the hypervisor's steal time and foreign work on the pinned cores (``/proc/stat``),
  because on a shared VM they, not the servers, can decide a run — and warns when they do;
* holds a machine-wide lock, so two benchmarks never share the pinned cores.

Usage::

    python3 -m bench.http_bench [--rounds 5] [--duration 10]
        [--scenarios hello-c50,hello-c1,post-c50] [--servers reference,uvicorn] [--json out.json]

Ratios are ``server / baseline`` where the baseline is the last server of ``--servers``
(uvicorn by default). The same name may be listed twice (``--servers uvicorn,uvicorn``) for an
A/A run that shows how noisy the machine is.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

STARTUP_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
WARMUP_SECONDS = 2
WRK_GRACE = 15.0  # seconds wrk may overrun its -d before it is killed
WRK_CPU_WARN = 0.90
HOST = "127.0.0.1"
# Two benchmarks pinned to the same cores would measure each other: one at a time per machine.
LOCK_PATH = Path(tempfile.gettempdir()) / "asgi-conformance-http-bench.lock"

# Command templates; "{port}" is replaced. Each runs with the repository root as cwd.
SERVERS: dict[str, list[str]] = {
    "reference": [
        sys.executable, "-m", "reference_server", "bench.apps:app",
        "--host", HOST, "--port", "{port}",
        "--no-access-log", "--log-level", "warning", "--loop", "uvloop",
    ],
    "reference-asyncio": [
        sys.executable, "-m", "reference_server", "bench.apps:app",
        "--host", HOST, "--port", "{port}",
        "--no-access-log", "--log-level", "warning", "--loop", "asyncio",
    ],
    "uvicorn": [
        sys.executable, "-m", "uvicorn", "bench.apps:app",
        "--host", HOST, "--port", "{port}", "--loop", "uvloop", "--http", "httptools",
        "--no-access-log", "--lifespan", "on", "--log-level", "warning",
    ],
    "uvicorn-h11": [
        sys.executable, "-m", "uvicorn", "bench.apps:app",
        "--host", HOST, "--port", "{port}", "--loop", "uvloop", "--http", "h11",
        "--no-access-log", "--lifespan", "on", "--log-level", "warning",
    ],
    "hypercorn": [
        sys.executable, "-m", "hypercorn", "bench.apps:app",
        "-b", f"{HOST}:{{port}}", "-k", "uvloop", "--log-level", "warning",
    ],
}  # fmt: skip

# The post-c50 request: 12 header fields a browser would send with a fetch() of JSON.
POST_HEADERS: list[tuple[str, str]] = [
    ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
    ("Accept", "application/json, text/plain, */*"),
    ("Accept-Language", "en-GB,en;q=0.9,fr;q=0.8"),
    ("Accept-Encoding", "gzip, deflate, br, zstd"),
    ("Referer", "http://127.0.0.1/app/dashboard?tab=overview"),
    ("Origin", "http://127.0.0.1"),
    ("Cookie", "sessionid=3f9a1c2b7d8e4f60a1b2c3d4e5f60718; csrftoken=Zx8Yw7Vu6Ts5Rq4Po3Nm2Lk1"),
    ("Cache-Control", "no-cache"),
    ("Pragma", "no-cache"),
    ("Sec-Fetch-Mode", "cors"),
    ("Sec-Fetch-Site", "same-origin"),
    ("Content-Type", "application/json"),
]


def make_json_body(size: int = 1024) -> bytes:
    """A JSON document of exactly ``size`` bytes: a list of small records, padded."""
    items: list[dict[str, Any]] = []
    doc = b""
    i = 0
    while True:
        candidate = [*items, {"id": i, "name": f"item-{i}", "tags": ["a", "b"], "v": i * 1.5}]
        encoded = json.dumps({"items": candidate, "pad": ""}, separators=(",", ":")).encode()
        if len(encoded) > size:
            break
        items, doc, i = candidate, encoded, i + 1
    pad = "x" * (size - len(doc))
    doc = json.dumps({"items": items, "pad": pad}, separators=(",", ":")).encode()
    assert len(doc) == size, len(doc)
    return doc


POST_BODY = make_json_body(1024)


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    connections: int
    post: bool = False


SCENARIOS: dict[str, Scenario] = {
    "hello-c50": Scenario("hello-c50", "/", 50),
    "hello-c1": Scenario("hello-c1", "/", 1),
    "post-c50": Scenario("post-c50", "/json", 50, post=True),
}


@dataclass
class WrkResult:
    rps: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int
    wrk_cpu: float  # fraction of one core used by wrk over the run
    server_cpu: float  # fraction of one core used by the server process over the run
    wall_s: float
    steal: float = float("nan")  # hypervisor steal on the server and wrk cores (VM noise)
    foreign: float = float("nan")  # busy time on the server core not spent by the server

    @property
    def rps_per_cpu(self) -> float:
        """Requests per second of server CPU time: far less sensitive to steal than req/s."""
        return self.rps / self.server_cpu if self.server_cpu > 0 else float("nan")


@dataclass
class Measurement:
    round: int
    scenario: str
    server: str
    result: WrkResult | None = None
    error: str | None = None


@dataclass
class Summary:
    scenario: str
    server: str
    runs: int
    rps_median: float
    rps_min: float
    rps_max: float
    p99_ms_median: float
    wrk_cpu_median: float
    server_cpu_median: float
    steal_median: float = float("nan")
    foreign_median: float = float("nan")
    rps_per_cpu_median: float = float("nan")
    errors: int = 0
    warnings: list[str] = field(default_factory=list)


class ServerFailed(Exception):
    """The server did not start, or did not answer the sanity requests correctly."""


class WrkFailed(Exception):
    """wrk exited abnormally or its output could not be parsed."""


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def stop_process(proc: subprocess.Popen[Any], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM the process (by its PID only), then SIGKILL it if it has not exited in time."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)


def tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def proc_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a live process from /proc/<pid>/stat, in seconds."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    # fields[0] is "state" (field 3 of stat); utime and stime are fields 14 and 15.
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_ticks(cpus: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Per-CPU (busy, steal) jiffies from /proc/stat, for the given CPUs."""
    out: dict[int, tuple[int, int]] = {}
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        name, *values = line.split()
        if not name.startswith("cpu") or name == "cpu" or int(name[3:]) not in cpus:
            continue
        v = [int(x) for x in values]
        # user nice system idle iowait irq softirq steal ...
        busy = v[0] + v[1] + v[2] + v[5] + v[6]
        out[int(name[3:])] = (busy, v[7] if len(v) > 7 else 0)
    return out


def single_cpu(spec: str) -> int | None:
    return int(spec) if spec.isdigit() else None


class RunningServer:
    """A server started pinned to one CPU, with its output in a temporary log file."""

    def __init__(self, name: str, cpu: str, cwd: Path, logdir: Path) -> None:
        self.name = name
        self.cpu = single_cpu(cpu)
        self.port = free_port()
        self.log_path = logdir / f"{name.replace('/', '_')}-{self.port}.log"
        argv = [a.replace("{port}", str(self.port)) for a in SERVERS[name]]
        self._log: IO[bytes] = self.log_path.open("wb")
        # A new session keeps a terminal Ctrl-C away from the server: this script stops it.
        self.proc: subprocess.Popen[bytes] = subprocess.Popen(
            ["taskset", "-c", cpu, *argv],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def fail(self, why: str) -> ServerFailed:
        self.stop()
        detail = tail(self.log_path)
        return ServerFailed(f"{self.name}: {why}" + (f"; output: {detail}" if detail else ""))

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while True:
            code = self.proc.poll()
            if code is not None:
                raise self.fail(f"exited with status {code} during startup")
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise self.fail(f"not accepting on {HOST}:{self.port} after {timeout:.0f}s")
            time.sleep(0.05)
        self.sanity_check()

    def sanity_check(self) -> None:
        """One GET / and one POST /json: a server that answers wrongly is not worth timing."""
        try:
            conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
            try:
                conn.request("GET", "/")
                resp = conn.getresponse()
                body = resp.read()
                if resp.status != 200 or body != b"Hello, world!":
                    raise self.fail(f"GET / answered {resp.status} {body[:60]!r}")
                conn.request("POST", "/json", body=POST_BODY, headers=dict(POST_HEADERS))
                resp = conn.getresponse()
                body = resp.read()
                if resp.status != 200 or json.loads(body) != {"ok": True, "n": len(POST_BODY)}:
                    raise self.fail(f"POST /json answered {resp.status} {body[:60]!r}")
            finally:
                conn.close()
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise self.fail(f"sanity request failed: {exc!r}") from exc

    def cpu_seconds(self) -> float | None:
        return proc_cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        stop_process(self.proc)
        self._log.close()


# --------------------------------------------------------------------------- wrk


def lua_long_string(text: str) -> str:
    """Quote ``text`` as a Lua long bracket string that cannot be closed by its content."""
    level = 0
    while "]" + "=" * level + "]" in text:
        level += 1
    eq = "=" * level
    return f"[{eq}[{text}]{eq}]"


def write_post_script(directory: Path) -> Path:
    lines = ['wrk.method = "POST"', f"wrk.body = {lua_long_string(POST_BODY.decode())}"]
    for name, value in POST_HEADERS:
        lines.append(f'wrk.headers["{name}"] = {lua_long_string(value)}')
    path = directory / "post_json.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_RE_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_RE_P99 = re.compile(r"^\s*99%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.M)
_RE_REQUESTS = re.compile(r"^\s*(\d+) requests in", re.M)
_RE_NON2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_RE_SOCKERR = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def parse_wrk(output: str) -> tuple[float, float, int, int, int]:
    """(req/s, p99 in ms, requests, non-2xx responses, socket errors) from ``wrk --latency``."""
    rps = _RE_RPS.search(output)
    p99 = _RE_P99.search(output)
    if rps is None or p99 is None:
        raise WrkFailed("could not parse wrk output: " + " | ".join(output.splitlines()[-6:]))
    requests = _RE_REQUESTS.search(output)
    non2xx = _RE_NON2XX.search(output)
    sockerr = _RE_SOCKERR.search(output)
    return (
        float(rps.group(1)),
        float(p99.group(1)) * _UNITS_MS[p99.group(2)],
        int(requests.group(1)) if requests else 0,
        int(non2xx.group(1)) if non2xx else 0,
        sum(int(g) for g in sockerr.groups()) if sockerr else 0,
    )


def run_wrk(
    url: str, connections: int, duration: int, cpu: str, script: Path | None,
    server: RunningServer | None = None,
) -> WrkResult:  # fmt: skip
    """Run one pinned wrk, bounded in time; its CPU time comes from wait4()'s rusage."""
    argv = ["taskset", "-c", cpu, "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    if script is not None:
        argv += ["-s", str(script)]
    argv.append(url)
    with tempfile.TemporaryFile() as out:
        server_cpu0 = server.cpu_seconds() if server else None
        watched = [c for c in (single_cpu(cpu), server.cpu if server else None) if c is not None]
        ticks0 = cpu_ticks(watched)
        start = time.monotonic()
        # taskset exec()s wrk, so this PID is wrk's and wait4() returns wrk's own rusage.
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        deadline = start + duration + WRK_GRACE
        try:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    proc.returncode = os.waitstatus_to_exitcode(status)
                    break
                if time.monotonic() > deadline:
                    stop_process(proc, timeout=2)
                    raise WrkFailed(f"wrk did not finish within {duration + WRK_GRACE:.0f}s")
                time.sleep(0.05)
        except BaseException:
            stop_process(proc, timeout=2)
            raise
        wall = time.monotonic() - start
        server_cpu1 = server.cpu_seconds() if server else None
        ticks1 = cpu_ticks(watched)
        out.seek(0)
        output = out.read().decode(errors="replace")
    if proc.returncode != 0:
        raise WrkFailed(f"wrk exited with {proc.returncode}: " + output.strip()[-300:])
    rps, p99, requests, non2xx, sockerr = parse_wrk(output)
    server_cpu = (
        (server_cpu1 - server_cpu0) / wall
        if server_cpu0 is not None and server_cpu1 is not None
        else float("nan")
    )
    hz = os.sysconf("SC_CLK_TCK")
    steal = foreign = float("nan")
    if ticks0 and ticks0.keys() == ticks1.keys():
        stolen = sum(ticks1[c][1] - ticks0[c][1] for c in ticks0)
        steal = stolen / hz / wall / len(ticks0)
    if server is not None and server.cpu in ticks0 and server.cpu in ticks1:
        busy = (ticks1[server.cpu][0] - ticks0[server.cpu][0]) / hz / wall
        foreign = max(0.0, busy - server_cpu)
    return WrkResult(
        rps=rps, p99_ms=p99, requests=requests, non_2xx=non2xx, socket_errors=sockerr,
        wrk_cpu=(usage.ru_utime + usage.ru_stime) / wall, server_cpu=server_cpu, wall_s=wall,
        steal=steal, foreign=foreign,
    )  # fmt: skip


# --------------------------------------------------------------------------- driver


def labels_for(names: Sequence[str]) -> list[str]:
    """Distinct labels for possibly repeated server names: uvicorn, uvicorn#2, ..."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out


@contextlib.contextmanager
def started(name: str, cpu: str, cwd: Path, logdir: Path) -> Iterator[RunningServer]:
    server = RunningServer(name, cpu, cwd, logdir)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def measure_one(
    name: str, scenario: Scenario, duration: int, args: argparse.Namespace,
    cwd: Path, workdir: Path, script: Path | None,
) -> WrkResult:  # fmt: skip
    with started(name, args.server_cpu, cwd, workdir) as server:
        url = f"http://{HOST}:{server.port}{scenario.path}"
        run_wrk(url, scenario.connections, WARMUP_SECONDS, args.wrk_cpu, script)
        result = run_wrk(url, scenario.connections, duration, args.wrk_cpu, script, server)
        if server.proc.poll() is not None:
            raise server.fail(f"died during the run (status {server.proc.returncode})")
        return result


def summarize(measurements: list[Measurement], scenarios: list[str], labels: list[str]) -> (
    list[Summary]
):  # fmt: skip
    summaries = []
    for scen in scenarios:
        for label in labels:
            group = [m for m in measurements if m.scenario == scen and m.server == label]
            results = [m.result for m in group if m.result is not None]
            errors = sum(1 for m in group if m.error is not None)
            if not results:
                if group:
                    nan = float("nan")
                    summaries.append(Summary(scen, label, 0, nan, nan, nan, nan, nan, nan, errors))
                continue
            rps = [r.rps for r in results]
            s = Summary(
                scenario=scen, server=label, runs=len(results),
                rps_median=statistics.median(rps), rps_min=min(rps), rps_max=max(rps),
                p99_ms_median=statistics.median(r.p99_ms for r in results),
                wrk_cpu_median=statistics.median(r.wrk_cpu for r in results),
                server_cpu_median=statistics.median(r.server_cpu for r in results),
                steal_median=statistics.median(r.steal for r in results),
                foreign_median=statistics.median(r.foreign for r in results),
                rps_per_cpu_median=statistics.median(r.rps_per_cpu for r in results),
                errors=errors,
            )  # fmt: skip
            hot = max(r.wrk_cpu for r in results)
            if hot > WRK_CPU_WARN:
                s.warnings.append(
                    f"wrk used up to {hot:.0%} of its core: the load generator may be the "
                    "bottleneck, req/s understates the server"
                )
            bad = sum(r.non_2xx for r in results)
            if bad:
                s.warnings.append(f"{bad} non-2xx responses: figures are not comparable")
            if s.steal_median > 0.05 or s.foreign_median > 0.10:
                s.warnings.append(
                    f"noisy machine: median steal {s.steal_median:.0%}, other work on the server "
                    f"core {s.foreign_median:.0%}"
                )
            sockerr = sum(r.socket_errors for r in results)
            if sockerr:
                s.warnings.append(f"{sockerr} socket errors")
            summaries.append(s)
    return summaries


def format_tables(summaries: list[Summary], labels: list[str]) -> str:
    rows = [
        "| scenario | server | runs | req/s (median) | req/s min–max | p99 ms (median) "
        "| req per server CPU-s | wrk CPU | server CPU | steal |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summaries:
        if s.runs == 0:
            rows.append(f"| {s.scenario} | {s.server} | 0 | failed | | | | | | |")
            continue
        rows.append(
            f"| {s.scenario} | {s.server} | {s.runs} | {s.rps_median:,.0f} "
            f"| {s.rps_min:,.0f}–{s.rps_max:,.0f} | {s.p99_ms_median:.2f} "
            f"| {s.rps_per_cpu_median:,.0f} "
            f"| {s.wrk_cpu_median:.0%} | {s.server_cpu_median:.0%} | {s.steal_median:.0%} |"
        )
    out = "\n".join(rows)
    if len(labels) >= 2:
        base = labels[-1]
        ratio_rows = [
            "",
            "| scenario | ratio | req/s ratio (higher is better) | p99 ratio (lower is better) "
            "| req per CPU-s ratio (higher is better) | best-run req/s ratio |",
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
                    f"| {scen} | {label}/{base} | {x.rps_median / b.rps_median:.2f} "
                    f"| {x.p99_ms_median / b.p99_ms_median:.2f} "
                    f"| {x.rps_per_cpu_median / b.rps_per_cpu_median:.2f} "
                    f"| {x.rps_max / b.rps_max:.2f} |"
                )
        out += "\n" + "\n".join(ratio_rows)
    warnings = [f"! {s.scenario}/{s.server}: {w}" for s in summaries for w in s.warnings]
    if warnings:
        out += "\n\n" + "\n".join(warnings)
    return out


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python3 -m bench.http_bench",
        description="wrk benchmark of the reference ASGI server against uvicorn (and others).",
    )
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default: 5)")
    p.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default: 10)")
    p.add_argument(
        "--scenarios", default="hello-c50,hello-c1,post-c50",
        help=f"comma-separated, from: {', '.join(SCENARIOS)}",
    )  # fmt: skip
    p.add_argument(
        "--servers", default="reference,uvicorn",
        help=f"comma-separated, the last is the ratio baseline; from: {', '.join(SERVERS)}",
    )  # fmt: skip
    p.add_argument("--json", type=Path, help="also write every measurement and the summary here")
    p.add_argument(
        "--from-json", type=Path, metavar="FILE",
        help="measure nothing: print the tables of a file written by --json",
    )  # fmt: skip
    p.add_argument("--server-cpu", default="0", help="taskset CPU list for servers (default: 0)")
    p.add_argument("--wrk-cpu", default="1", help="taskset CPU list for wrk (default: 1)")
    p.add_argument(
        "--wait-lock", type=float, default=0.0, metavar="SECONDS",
        help="wait this long for another running http_bench to finish (default: 0, fail)",
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
    return args


def acquire_machine_lock(wait: float) -> IO[str] | None:
    """Hold an exclusive flock for the whole run; None if another benchmark keeps it."""
    handle = LOCK_PATH.open("a+")
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                handle.seek(0)
                holder = handle.read().strip() or "?"
                handle.close()
                print(
                    f"error: another http_bench (pid {holder}) is running on this machine; its "
                    f"servers and wrk use the same cores (use --wait-lock SECONDS to queue)",
                    file=sys.stderr,
                )
                return None
            time.sleep(1)
            continue
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        return handle


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def report_from_json(path: Path) -> int:
    """Re-print the tables of an earlier run (e.g. after the table format changed)."""
    data = json.loads(path.read_text())
    measurements = [
        Measurement(
            round=m["round"], scenario=m["scenario"], server=m["server"],
            result=WrkResult(**m["result"]) if m["result"] else None, error=m["error"],
        )
        for m in data["measurements"]
    ]  # fmt: skip
    labels: list[str] = data["args"]["servers"]
    print(format_tables(summarize(measurements, data["args"]["scenarios"], labels), labels))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.from_json:
        return report_from_json(args.from_json)
    # Servers run in their own sessions, so a SIGTERM to this script (e.g. from `timeout`)
    # must be turned into the same orderly stop as Ctrl-C, or they would outlive it.
    signal.signal(signal.SIGTERM, _terminate)
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            print(f"error: {tool} not found (apt-get install -y wrk util-linux)", file=sys.stderr)
            return 2
    if (os.cpu_count() or 1) < 2:
        print("warning: fewer than 2 CPUs: server and wrk share a core", file=sys.stderr)
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
        return _run(args, cwd)
    finally:
        lock.close()


def _run(args: argparse.Namespace, cwd: Path) -> int:
    labels = labels_for(args.server_list)
    measurements: list[Measurement] = []
    broken: dict[str, str] = {}  # label -> first startup failure; later rounds still retry
    interrupted = False
    total = args.rounds * len(args.scenario_list) * len(labels)
    per_run = args.duration + WARMUP_SECONDS + 2
    print(
        f"{total} runs of ~{per_run}s (~{total * per_run / 60:.1f} min); server on CPU "
        f"{args.server_cpu}, wrk on CPU {args.wrk_cpu}",
        file=sys.stderr,
    )
    with tempfile.TemporaryDirectory(prefix="http_bench-") as tmp:
        workdir = Path(tmp)
        post_script = write_post_script(workdir)
        try:
            for rnd in range(1, args.rounds + 1):
                for scen_name in args.scenario_list:
                    scenario = SCENARIOS[scen_name]
                    script = post_script if scenario.post else None
                    for name, label in zip(args.server_list, labels, strict=True):
                        m = Measurement(rnd, scen_name, label)
                        try:
                            m.result = measure_one(
                                name, scenario, args.duration, args, cwd, workdir, script
                            )
                            r = m.result
                            print(
                                f"round {rnd} {scen_name:<9} {label:<12} {r.rps:>10,.0f} req/s "
                                f"p99 {r.p99_ms:7.2f} ms  wrk CPU {r.wrk_cpu:4.0%}  "
                                f"server CPU {r.server_cpu:4.0%}  steal {r.steal:3.0%}"
                                + (f"  non-2xx {r.non_2xx}" if r.non_2xx else ""),
                                file=sys.stderr,
                            )
                        except (ServerFailed, WrkFailed) as exc:
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
                "rounds": args.rounds, "duration": args.duration,
                "scenarios": args.scenario_list, "servers": labels,
                "server_cpu": args.server_cpu, "wrk_cpu": args.wrk_cpu,
            },
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
