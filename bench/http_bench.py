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

The rounds, tables, JSON and lock are the shared driver's (``bench.driver``,
``bench.machine``); this module is the HTTP part: the servers, the requests, and wrk.

Usage::

    python3 -m bench.http_bench [--rounds 5] [--duration 10]
        [--scenarios hello-c50,hello-c1,post-c50] [--servers reference,uvicorn] [--json out.json]

Ratios are ``server / baseline`` where the baseline is the last server of ``--servers``
(uvicorn by default). The same name may be listed twice (``--servers uvicorn,uvicorn``) for an
A/A run that shows how noisy the machine is.
"""

from __future__ import annotations

import http.client
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.driver import WARMUP_SECONDS, Bench, Summary, noisy_machine, per_cpu
from bench.http_common import POST_BODY, commands, wrong_answer
from bench.machine import HOST, MeasurementFailed, PinnedServer, run_load

WRK_GRACE = 15.0  # seconds wrk may overrun its -d before it is killed
WRK_CPU_WARN = 0.90

SERVERS = commands("reference", "reference-asyncio", "uvicorn", "uvicorn-h11", "hypercorn")

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
        return per_cpu(self.rps, self.server_cpu)


class WrkFailed(MeasurementFailed):
    """wrk's output could not be parsed."""


# --------------------------------------------------------------------------- server


class HttpServer(PinnedServer):
    """A server of ``SERVERS``; its sanity check is one GET / and one POST /json."""

    def sanity_check(self) -> None:
        """One GET / and one POST /json: a server that answers wrongly is not worth timing."""
        try:
            conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
            try:
                for method, path, body in (("GET", "/", None), ("POST", "/json", POST_BODY)):
                    headers = dict(POST_HEADERS) if body else {}
                    conn.request(method, path, body=body, headers=headers)
                    resp = conn.getresponse()
                    wrong = wrong_answer(path, resp.status, resp.read())
                    if wrong:
                        raise self.fail(f"{method} {path} {wrong}")
            finally:
                conn.close()
        except (OSError, http.client.HTTPException) as exc:
            raise self.fail(f"sanity request failed: {exc!r}") from exc


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
    server: PinnedServer | None = None,
) -> WrkResult:  # fmt: skip
    """Run one pinned wrk, bounded in time; its CPU time comes from wait4()'s rusage."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    if script is not None:
        argv += ["-s", str(script)]
    argv.append(url)
    run = run_load(argv, cpu, duration + WRK_GRACE, server)
    rps, p99, requests, non2xx, sockerr = parse_wrk(run.output)
    return WrkResult(
        rps=rps, p99_ms=p99, requests=requests, non_2xx=non2xx, socket_errors=sockerr,
        wrk_cpu=run.load_cpu, server_cpu=run.shares.server, wall_s=run.wall,
        steal=run.shares.steal, foreign=run.shares.foreign,
    )  # fmt: skip


# --------------------------------------------------------------------------- the benchmark


class HttpBench(Bench[WrkResult]):
    """Requests per second under wrk, per scenario and server."""

    name = "http_bench"
    description = "wrk benchmark of the reference ASGI server against uvicorn (and others)."
    scenarios = SCENARIOS
    default_scenarios = "hello-c50,hello-c1,post-c50"
    servers = SERVERS
    duration_help = "seconds per wrk run (default: 10)"
    load_cpu = ("--wrk-cpu", "taskset CPU list for wrk (default: 1)")
    wait_help = "wait this long for another running http_bench to finish (default: 0, fail)"
    json_options = ("rounds", "duration", "scenarios", "servers", "server_cpu", "wrk_cpu")

    tools = ("wrk", "taskset")
    install = "wrk util-linux"
    load = "wrk"
    lock_note = " (bench.http_bench)"
    server_type = HttpServer

    result_type = WrkResult
    rate, unit = "rps", "req"
    load_columns = (("wrk CPU", "wrk_cpu"),)
    problem = ("non-2xx", "non_2xx")
    progress_widths = (9, 12, 10, 7)

    def plan(self) -> str:
        return f"wrk on CPU {self.args.wrk_cpu}"

    def prepare(self, workdir: Path) -> None:
        self.post_script = write_post_script(workdir)

    def load_server(self, server: PinnedServer, scenario: str, workdir: Path) -> WrkResult:
        """A warm-up wrk run, then the measured one."""
        scen, cpu = SCENARIOS[scenario], self.args.wrk_cpu
        script = self.post_script if scen.post else None
        url = f"http://{HOST}:{server.port}{scen.path}"
        run_wrk(url, scen.connections, WARMUP_SECONDS, cpu, script)
        return run_wrk(url, scen.connections, self.args.duration, cpu, script, server)

    def load_figures(self, result: WrkResult) -> str:
        return f"wrk CPU {result.wrk_cpu:4.0%}"

    @classmethod
    def warnings(cls, s: Summary, results: list[WrkResult], measured: int) -> list[str]:
        out = []
        hot = max(r.wrk_cpu for r in results)
        if hot > WRK_CPU_WARN:
            out.append(f"wrk used up to {hot:.0%} of its core: the load generator may be the "
                       "bottleneck, req/s understates the server")
        bad = sum(r.non_2xx for r in results)
        if bad:
            out.append(f"{bad} non-2xx responses: figures are not comparable")
        out += noisy_machine(s)
        sockerr = sum(r.socket_errors for r in results)
        if sockerr:
            out.append(f"{sockerr} socket errors")
        return out


def main(argv: Sequence[str] | None = None) -> int:
    return HttpBench.main(argv)


if __name__ == "__main__":
    sys.exit(main())
