"""HTTP/2 throughput benchmark: the reference server against gunicorn and hypercorn, by h2load.

Why this exists: the reference server's HTTP/2 is meant to serve at least 2x the requests
per second of gunicorn's ASGI worker and 5x hypercorn's, with a p99 no worse than either's.
This script measures that the way ``bench.http_bench`` measures HTTP/1.1, and shares its
driver (``bench.driver``, ``bench.machine``) and its requests (``bench.http_common``):

* the very same app (``bench.apps:app``) is served by every server, over h2c (cleartext
  HTTP/2 with prior knowledge: the connection starts with the HTTP/2 preface, no upgrade);
* the server is pinned to one core and h2load (one thread) to the other (``taskset``);
* servers are interleaved round by round and medians over the rounds are reported;
* every measurement gets a fresh server and a check that it answers ``GET /`` and
  ``POST /json`` correctly over h2c (with curl, so the judge is not the load tool): a
  server that does not speak h2c is reported in one line, not timed, and the others run;
* h2load runs in its duration mode (``-D``) after its own warm-up (``--warm-up-time``) on
  the same connections; the server's and h2load's CPU time are read at the edges of the
  measured window, which h2load announces on its output;
* requests per second come from h2load's summary, the p99 latency from its per-request
  log (``--log-file``), since the summary only has min, max, mean and sd.

Usage::

    python3 -m bench.h2_bench [--rounds 5] [--duration 10] [--scenarios h2-hello,h2-post]
        [--servers reference,granian,hypercorn,gunicorn] [--baseline LABELS] [--json out.json]

Ratios are ``server / baseline`` against the last server of ``--servers`` (gunicorn by
default) and against hypercorn too whenever it is listed; ``--baseline`` names others.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from bench.driver import (
    WARMUP_SECONDS,
    Bench,
    Summary,
    noisy_machine,
    per_cpu,
    percentile,
)
from bench.http_common import POST_BODY, commands, wrong_answer
from bench.machine import HOST, MeasurementFailed, PinnedServer, run_load

H2LOAD_GRACE = 15.0  # seconds h2load may overrun its warm-up and -D before it is killed
H2LOAD_CPU_WARN = 0.90
SANITY_TIMEOUT = 5.0
# What h2load prints (and flushes) when its measured window begins and ends.
WINDOW = ("Main benchmark duration is started", "Main benchmark duration is over")

# hypercorn ends a connection after 1000 requests by default and h2load does not open a
# new one, so its connections would die one after the other during the run: the file
# lifts that cap (see it); hypercorn-default is the plain command, to show the effect.
HYPERCORN_CONFIG = "bench/hypercorn_h2.toml"
SERVERS = {
    **commands("reference", "granian"),
    "hypercorn": [*commands("hypercorn")["hypercorn"], "--config", HYPERCORN_CONFIG],
    **commands("gunicorn"),
    "hypercorn-default": commands("hypercorn")["hypercorn"],
}
# Distributions whose versions are printed with the run (hypercorn and gunicorn speak
# HTTP/2 through the h2 package).
SERVER_PACKAGES = {
    "reference": ["uvloop"],
    "granian": ["granian"],
    "hypercorn": ["hypercorn", "h2", "uvloop"],
    "gunicorn": ["gunicorn", "h2"],
    "hypercorn-default": ["hypercorn", "h2", "uvloop"],
}
# Answers during less than this share of the measured window: connections went quiet.
ANSWERING_WARN = 0.90


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    connections: int
    streams: int  # concurrent streams per connection (h2load -m)
    post: bool = False


SCENARIOS: dict[str, Scenario] = {
    "h2-hello": Scenario("h2-hello", "/", 10, 10),
    "h2-post": Scenario("h2-post", "/json", 10, 10, post=True),
}


@dataclass
class H2Result:
    rps: float
    p99_ms: float  # from the per-request log
    requests: int  # done in the measured window
    succeeded: int
    failed: int  # h2load counts non-2xx/3xx answers here too; errored is a subset
    errored: int  # reset streams and network failures
    timeouts: int
    status_2xx: int
    status_3xx: int
    status_4xx: int
    status_5xx: int
    min_ms: float  # h2load's "time for request" line
    mean_ms: float
    max_ms: float
    sd_ms: float
    h2load_cpu: float  # fraction of one core used by h2load over the measured window
    server_cpu: float  # fraction of one core used by the server processes over the window
    wall_s: float
    answering_s: float  # from the first logged answer's end to the last one's
    steal: float = float("nan")  # hypervisor steal on the server and h2load cores
    foreign: float = float("nan")  # busy time on the server core not spent by the server

    @property
    def rps_per_cpu(self) -> float:
        return per_cpu(self.rps, self.server_cpu)

    @property
    def non_2xx(self) -> int:
        return self.status_3xx + self.status_4xx + self.status_5xx


class H2loadFailed(MeasurementFailed):
    """h2load's output could not be parsed, or no request was completed."""


# --------------------------------------------------------------------------- server


class H2Server(PinnedServer):
    """A server of ``SERVERS``; its sanity check is GET / and POST /json over h2c."""

    def sanity_check(self) -> None:
        """GET / and POST /json with curl over h2c with prior knowledge: a server that does
        not speak h2c, or answers wrongly, is not worth timing."""
        for method, path in (("GET", "/"), ("POST", "/json")):
            body = POST_BODY if method == "POST" else None
            try:
                res = subprocess.run(curl_command(self.port, path, body is not None),
                                     input=body or b"", capture_output=True,
                                     timeout=SANITY_TIMEOUT + 5, check=False)
            except subprocess.TimeoutExpired as exc:
                raise self.fail(f"h2c {method} {path}: curl did not finish") from exc
            if res.returncode != 0:
                why = res.stderr.decode(errors="replace").strip() or f"status {res.returncode}"
                raise self.fail(f"h2c {method} {path} failed: {why}")
            answer, _, tail = res.stdout.rpartition(b"\n")
            status, _, version = tail.decode(errors="replace").partition(" ")
            if version != "2":
                raise self.fail(f"h2c {method} {path} was answered in HTTP/{version}")
            wrong = wrong_answer(path, int(status or 0), answer)
            if wrong:
                raise self.fail(f"h2c {method} {path} {wrong}")


def curl_command(port: int, path: str, post: bool) -> list[str]:
    """curl for one sanity request over h2c; prints the body, a newline, status and version
    (a POST reads its body from stdin)."""
    argv = ["curl", "--silent", "--show-error", "--http2-prior-knowledge",
            "--max-time", f"{SANITY_TIMEOUT:.0f}", "--write-out", "\\n%{http_code} %{http_version}"]
    if post:
        argv += ["--header", "content-type: application/json", "--data-binary", "@-"]
    return [*argv, f"http://{HOST}:{port}{path}"]


# --------------------------------------------------------------------------- h2load


def h2load_command(url: str, scen: Scenario, duration: int, log: Path,
                   body: Path | None) -> list[str]:
    """One h2load thread, its warm-up then ``duration`` measured seconds, every request
    logged; ``http://`` means h2c with prior knowledge."""
    argv = ["h2load", "--threads=1", f"--clients={scen.connections}",
            f"--max-concurrent-streams={scen.streams}", f"--duration={duration}",
            f"--warm-up-time={WARMUP_SECONDS}", f"--log-file={log}"]
    if body is not None:
        argv += [f"--data={body}", "--header=content-type: application/json"]
    return [*argv, url]


class H2loadFigures(NamedTuple):
    """What h2load's summary says of the measured window."""

    protocol: str  # "h2c"; empty when no connection got that far
    rps: float
    requests: int  # done
    succeeded: int
    failed: int
    errored: int
    timeouts: int
    status: tuple[int, int, int, int]  # 2xx, 3xx, 4xx, 5xx
    request_ms: tuple[float, float, float, float]  # min, max, mean, sd


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
_DURATION = r"([\d.]+)(us|ms|s)"
_RE_PROTOCOL = re.compile(r"^Application protocol: (\S+)", re.M)
_RE_FINISHED = re.compile(r"^finished in [\d.]+(?:us|ms|s), ([\d.]+) req/s", re.M)
_RE_REQUESTS = re.compile(
    r"^requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, "
    r"(\d+) errored, (\d+) timeout", re.M)
_RE_STATUS = re.compile(r"^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", re.M)
_RE_REQUEST_TIME = re.compile(r"^time for request:\s+" + r"\s+".join([_DURATION] * 4), re.M)


def parse_h2load(output: str) -> H2loadFigures:
    """The figures of h2load's summary; :class:`H2loadFailed` when one is missing.

    The status code counts include answers to requests of the warm-up, so they may exceed
    ``requests``; they are only read for answers other than 2xx.
    """
    found = [r.search(output) for r in (_RE_FINISHED, _RE_REQUESTS, _RE_STATUS, _RE_REQUEST_TIME)]
    finished, requests, status, request_time = found
    if finished is None or requests is None or status is None or request_time is None:
        raise H2loadFailed("could not parse h2load output: "
                           + " | ".join(output.strip().splitlines()[-6:]))
    protocol = _RE_PROTOCOL.search(output)
    times = request_time.groups()
    ms = [float(times[i]) * _UNITS_MS[times[i + 1]] for i in range(0, 8, 2)]
    done, succeeded, failed, errored, timeouts = (int(g) for g in requests.groups())
    s2, s3, s4, s5 = (int(g) for g in status.groups())
    return H2loadFigures(
        protocol=protocol.group(1) if protocol else "", rps=float(finished.group(1)),
        requests=done, succeeded=succeeded, failed=failed, errored=errored, timeouts=timeouts,
        status=(s2, s3, s4, s5), request_ms=(ms[0], ms[1], ms[2], ms[3]),
    )  # fmt: skip


class RequestLog(NamedTuple):
    """What h2load's per-request log says of the measured window."""

    p99_ms: float
    requests: int  # completed requests logged
    answering_s: float  # from the end of the first logged response to the end of the last


def read_request_log(text: str) -> RequestLog:
    """The p99 latency, and how long answers kept coming, from an h2load ``--log-file``.

    Its rows are tab-separated: start time (µs since the epoch), status, µs until the end
    of the response, maybe more columns later. Failed streams (status -1) are left out,
    and so is a line that is not such a row. A status of 0 (a few requests in flight when
    the window opened, whose status h2load did not record) is a completed request, and
    counts. ``answering_s`` close to the window's length means the server answered all
    along; much shorter, that its connections went quiet (closed, or stalled) early.
    """
    durations = []
    ends = []
    for line in text.splitlines():
        fields = line.split("\t")
        try:
            if len(fields) >= 3 and int(fields[1]) >= 0:
                durations.append(int(fields[2]))
                ends.append(int(fields[0]) + durations[-1])
        except ValueError:
            continue
    if not durations:
        return RequestLog(float("nan"), 0, 0.0)
    durations.sort()
    return RequestLog(percentile(durations, 0.99) / 1000.0, len(durations),
                      (max(ends) - min(ends)) / 1e6)


def judge(f: H2loadFigures) -> None:
    """Raise :class:`H2loadFailed` when the run has no figure to report: no request
    succeeded (a server that does not speak h2c ends here), or the protocol was not h2c.
    Some failed requests among successful ones are a warning, not a failure."""
    if f.requests == 0 or f.succeeded == 0:
        why = (f"{f.requests} requests done, {f.succeeded} succeeded, {f.failed} failed "
               f"({f.errored} errored)")
        raise H2loadFailed(f"h2load completed no request successfully ({why})"
                           + ("" if f.protocol else "; no connection reached HTTP/2"))
    if f.protocol != "h2c":
        raise H2loadFailed(f"h2load spoke {f.protocol!r}, not h2c")


def run_h2load(
    url: str, scen: Scenario, duration: int, cpu: str, server: PinnedServer, log: Path,
    body: Path | None,
) -> H2Result:  # fmt: skip
    """One pinned h2load run: its warm-up, then the measured window; bounded in time."""
    argv = h2load_command(url, scen, duration, log, body)
    try:
        run = run_load(argv, cpu, WARMUP_SECONDS + duration + H2LOAD_GRACE, server, WINDOW)
        log_text = log.read_text(errors="replace") if log.exists() else ""
    finally:
        log.unlink(missing_ok=True)
    f = parse_h2load(run.output)
    judge(f)
    answers = read_request_log(log_text)
    if answers.requests == 0:
        raise H2loadFailed("h2load's request log is empty")
    return H2Result(
        rps=f.rps, p99_ms=answers.p99_ms, requests=f.requests, succeeded=f.succeeded,
        failed=f.failed, errored=f.errored, timeouts=f.timeouts, status_2xx=f.status[0],
        status_3xx=f.status[1], status_4xx=f.status[2], status_5xx=f.status[3],
        min_ms=f.request_ms[0], max_ms=f.request_ms[1], mean_ms=f.request_ms[2],
        sd_ms=f.request_ms[3], h2load_cpu=run.load_cpu, server_cpu=run.shares.server,
        wall_s=run.wall, answering_s=answers.answering_s, steal=run.shares.steal,
        foreign=run.shares.foreign,
    )  # fmt: skip


def h2load_version() -> str:
    try:
        res = subprocess.run(["h2load", "--version"], capture_output=True, text=True,
                             timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return res.stdout.strip() or "?"


# --------------------------------------------------------------------------- the benchmark


class H2Bench(Bench[H2Result]):
    """Requests per second over h2c under h2load, per scenario and server."""

    name = "h2_bench"
    description = ("h2load benchmark (HTTP/2 over cleartext, prior knowledge) of the reference "
                   "ASGI server against gunicorn, hypercorn and granian.")
    scenarios = SCENARIOS
    default_scenarios = "h2-hello,h2-post"
    servers = SERVERS
    default_servers = "reference,granian,hypercorn,gunicorn"
    peers = ("hypercorn",)
    server_packages = SERVER_PACKAGES
    duration_help = "measured seconds per h2load run, after its warm-up (default: 10)"
    load_cpu = ("--h2load-cpu", "taskset CPU list for h2load (default: 1)")
    wait_help = "wait this long for another running benchmark to finish (default: 0, fail)"
    json_options = ("rounds", "duration", "scenarios", "servers", "server_cpu", "h2load_cpu")

    tools = ("h2load", "curl", "taskset")
    install = "nghttp2-client curl util-linux"
    load = "h2load"
    lock_note = " (bench.h2_bench)"
    server_type = H2Server

    result_type = H2Result
    rate, unit = "rps", "req"
    load_columns = (("h2load CPU", "h2load_cpu"),)
    maxima = ("h2load_cpu",)
    problem = ("failed", "failed")
    progress_widths = (8, 9, 7, 7)

    def describe(self) -> dict[str, str]:
        return {**super().describe(), "h2load": h2load_version()}

    def plan(self) -> str:
        return (f"h2load on CPU {self.args.h2load_cpu}, h2c with prior knowledge, "
                f"{WARMUP_SECONDS}s warm-up on the measured connections")

    def prepare(self, workdir: Path) -> None:
        self.post_body = workdir / "post.json"
        self.post_body.write_bytes(POST_BODY)

    def load_server(self, server: PinnedServer, scenario: str, workdir: Path) -> H2Result:
        """h2load's warm-up and measured window (wait_ready() did the h2c sanity check)."""
        scen = SCENARIOS[scenario]
        return run_h2load(f"http://{HOST}:{server.port}{scen.path}", scen, self.args.duration,
                          self.args.h2load_cpu, server, workdir / f"h2load-{server.port}.log",
                          self.post_body if scen.post else None)

    def load_figures(self, result: H2Result) -> str:
        return f"h2load CPU {result.h2load_cpu:4.0%}"

    @classmethod
    def warnings(cls, s: Summary, results: list[H2Result], measured: int) -> list[str]:
        out = []
        hot = s.figures["h2load_cpu_max"]
        if hot > H2LOAD_CPU_WARN:
            out.append(f"h2load used up to {hot:.0%} of its core: the load generator may be "
                       "the bottleneck, req/s understates the server")
        quiet = [r for r in results if r.answering_s < ANSWERING_WARN * r.wall_s]
        if quiet:
            worst = min(quiet, key=lambda r: r.answering_s / r.wall_s)
            out.append(f"answers came during only {worst.answering_s:.1f}s of a "
                       f"{worst.wall_s:.1f}s window ({len(quiet)} of {len(results)} runs): the "
                       "server closed or stalled connections and h2load does not reconnect, "
                       "so req/s understates it")
        failed = sum(r.failed for r in results)
        if failed:
            errored = sum(r.errored for r in results)
            out.append(f"{failed} failed requests ({errored} errored: reset streams, network "
                       "failures): figures are not comparable")
        timeouts = sum(r.timeouts for r in results)
        if timeouts:
            out.append(f"{timeouts} timed-out requests: figures are not comparable")
        bad = sum(r.non_2xx for r in results)
        if bad:
            out.append(f"{bad} non-2xx responses: figures are not comparable")
        out += noisy_machine(s)
        if s.errors:
            out.append(f"{s.errors} of {measured} measurements failed")
        return out


def main(argv: Sequence[str] | None = None) -> int:
    return H2Bench.main(argv)


if __name__ == "__main__":
    sys.exit(main())
