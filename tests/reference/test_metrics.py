"""Metrics (reference_server/metrics.py): the exposition format, the aggregation across
workers, the real server with --metrics-port (one process, two workers, workers replaced)
and a real Prometheus server scraping it (Debian's ``prometheus``, started here on
127.0.0.1 with a temporary configuration and storage, stopped by PID)."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from reference_server import metrics
from tests.reference.server_process import ServerProcess, free_port

REPO = Path(__file__).resolve().parents[2]

APP = """
import os

async def app(scope, receive, send):
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        while (await receive())["type"] != "websocket.disconnect":
            pass
        return
    if scope["type"] != "http":
        return
    if scope["path"] == "/fail":
        raise RuntimeError("boom")
    body = f"pid={os.getpid()}".encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
"""

SAMPLE = re.compile(r'([a-z_]+)(\{[^}]*\})? (\S+)')


def parse(text: str) -> dict[str, float]:
    """``name{labels}`` → value, checking each line is a comment or a sample."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.fullmatch(r"# (HELP|TYPE) [a-z_]+ .+", line), line
            continue
        match = SAMPLE.fullmatch(line)
        assert match, line
        values[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return values


# -- units ----------------------------------------------------------------------------------


def test_worker_metrics_buckets_and_classes():
    worker = metrics.WorkerMetrics()
    worker.request_done(200, 0.004)
    worker.request_done(204, 0.005)   # on a bound: that bucket (le is <=)
    worker.request_done(404, 0.3)
    worker.request_done(503, 99.0)    # beyond every bound: +Inf only
    worker.protocol_error("http1_400")
    values = parse(metrics.render(worker.snapshot(None), 1))
    assert values['reference_server_requests_total{status="2xx"}'] == 2
    assert values['reference_server_request_duration_seconds_bucket{status="2xx",le="0.005"}'] == 2
    assert values['reference_server_request_duration_seconds_bucket{status="4xx",le="0.25"}'] == 0
    assert values['reference_server_request_duration_seconds_bucket{status="4xx",le="0.5"}'] == 1
    assert values['reference_server_request_duration_seconds_bucket{status="5xx",le="10.0"}'] == 0
    assert values['reference_server_request_duration_seconds_bucket{status="5xx",le="+Inf"}'] == 1
    assert values['reference_server_request_duration_seconds_count{status="5xx"}'] == 1
    assert values['reference_server_request_duration_seconds_sum{status="5xx"}'] == 99.0
    assert values['reference_server_protocol_errors_total{kind="http1_400"}'] == 1
    assert values["reference_server_workers"] == 1


def test_histogram_buckets_are_cumulative_and_end_with_count():
    worker = metrics.WorkerMetrics()
    for duration in (0.001, 0.02, 0.02, 0.7, 3.0, 30.0):
        worker.request_done(200, duration)
    values = parse(metrics.render(worker.snapshot(None), 1))
    name = "reference_server_request_duration_seconds_bucket"
    counts = [values[f'{name}{{status="2xx",le="{le}"}}']
              for le in [repr(b) for b in metrics.BUCKETS] + ["+Inf"]]
    assert counts == sorted(counts) and counts[-1] == 6
    assert values['reference_server_request_duration_seconds_count{status="2xx"}'] == 6


def test_promtool_accepts_the_exposition():
    """promtool comes with Debian's prometheus package (.ci/run installs it)."""
    assert shutil.which("promtool"), "promtool missing: apt-get install prometheus"
    worker = metrics.WorkerMetrics()
    worker.request_done(200, 0.1)
    worker.protocol_error('odd"kind\\')
    proc = subprocess.run(["promtool", "check", "metrics"],
                          input=metrics.render(worker.snapshot(None), 1), text=True,
                          capture_output=True, timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_aggregate_keeps_counters_of_gone_workers_and_gauges_of_live_ones():
    aggregate = metrics.Aggregate()
    for pid, requests, connections in ((1, 3, 2), (2, 4, 1)):
        worker = metrics.WorkerMetrics()
        for _ in range(requests):
            worker.request_done(200, 0.01)
        worker.bytes_in = 100 * pid
        snap = worker.snapshot(None)
        snap["open_connections"] = connections
        aggregate.report(pid, metrics.encode_report(snap)[1:].strip())
    values = parse(aggregate.render())
    assert values['reference_server_requests_total{status="2xx"}'] == 7
    assert values["reference_server_open_connections"] == 3
    assert values["reference_server_received_bytes_total"] == 300
    aggregate.worker_gone(1)
    values = parse(aggregate.render())
    assert values['reference_server_requests_total{status="2xx"}'] == 7
    assert values["reference_server_open_connections"] == 1
    assert values["reference_server_workers"] == 1
    aggregate.report(2, b"not json")  # ignored, the last good report stands
    assert parse(aggregate.render())["reference_server_received_bytes_total"] == 300


def test_report_fits_in_one_atomic_pipe_write():
    worker = metrics.WorkerMetrics()
    for kind in [f"http1_{s}" for s in (400, 408, 413, 414, 431, 501, 505)] + \
            [f"h2_{n}" for n in ("PROTOCOL_ERROR", "FLOW_CONTROL_ERROR", "FRAME_SIZE_ERROR",
                                 "COMPRESSION_ERROR", "ENHANCE_YOUR_CALM")] + \
            [f"websocket_{c}" for c in (1002, 1007, 1009, 1011)]:
        worker.protocol_error(kind)
    for status in (101, 200, 302, 404, 500):
        worker.request_done(status, 1.0)
    assert len(metrics.encode_report(worker.snapshot(None))) < 4096


def test_respond():
    body = lambda: "x 1\n"  # noqa: E731
    ok = metrics.respond(b"GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n", body)
    assert ok.startswith(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4")
    assert ok.endswith(b"\r\n\r\nx 1\n")
    assert metrics.respond(b"GET /other HTTP/1.1\r\n\r\n", body).startswith(b"HTTP/1.1 404")
    assert metrics.respond(b"POST /metrics HTTP/1.1\r\n\r\n", body).startswith(
        b"HTTP/1.1 405")
    assert metrics.respond(b"HEAD /metrics HTTP/1.1\r\n\r\n", body).endswith(b"\r\n\r\n")


# -- the real server ----------------------------------------------------------------------------


class Server(ServerProcess):
    """``metricsapp:app`` from ``tmp`` with a metrics listener on a port of its own."""

    def __init__(self, tmp: Path, *args: str) -> None:
        (tmp / "metricsapp.py").write_text(APP)
        self.metrics_port = free_port()
        super().__init__(tmp, "metricsapp:app", "--metrics-port", str(self.metrics_port),
                         *args, cwd=tmp, defaults=("--no-access-log",
                                                   "--timeout-graceful-shutdown", "5"))

    def scrape(self) -> dict[str, float]:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
            return parse(response.read().decode())

    def wait_for(self, condition, what: str, timeout: float = 15) -> dict[str, float]:
        """Scrape until ``condition(values)`` holds (the workers report every 0.5 s)."""
        deadline = time.monotonic() + timeout
        values: dict[str, float] = {}
        while time.monotonic() < deadline:
            values = self.scrape()
            if condition(values):
                return values
            time.sleep(0.1)
        pytest.fail(f"{what} not seen within {timeout} s: {values}")


def _exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
        return data


def _get(port: int, path: str = "/") -> bytes:
    return _exchange(port, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                     .encode())


OK = 'reference_server_requests_total{status="2xx"}'
ERR = 'reference_server_requests_total{status="5xx"}'
BAD = 'reference_server_protocol_errors_total{kind="http1_400"}'


def test_process_single_worker_live_gauges(tmp_path):
    server = Server(tmp_path)
    try:
        for _ in range(3):
            assert _get(server.port).startswith(b"HTTP/1.1 200 ")
        assert _get(server.port, "/fail").startswith(b"HTTP/1.1 500 ")
        ws = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        ws.sendall(f"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: "
                   f"Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                   .encode())
        assert ws.recv(4096).startswith(b"HTTP/1.1 101 ")
        values = server.scrape()
        assert values[OK] == 3 and values[ERR] == 1
        assert values["reference_server_active_websockets"] == 1
        assert values["reference_server_open_connections"] == 1
        assert values["reference_server_connections_total"] >= 5
        assert values["reference_server_received_bytes_total"] > 0
        assert values["reference_server_sent_bytes_total"] > 0
        ws.close()
        server.wait_for(lambda v: v["reference_server_active_websockets"] == 0,
                        "the WebSocket session ending")
    finally:
        assert server.stop() == 0


def test_process_two_workers_add_up(tmp_path):
    """Requests spread over two workers (and workers replaced after 7 requests each)
    appear once each in one view."""
    server = Server(tmp_path, "--workers", "2", "--limit-max-requests", "7")
    try:
        pids = set()
        for _ in range(30):
            response = _get(server.port)
            assert response.startswith(b"HTTP/1.1 200 ")
            pids.add(response.rsplit(b"pid=", 1)[1])
        assert _exchange(server.port, b"GET / HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 400")
        assert len(pids) >= 4  # replaced workers' counts must not be lost
        values = server.wait_for(
            lambda v: v[OK] >= 30 and v.get(BAD, 0) >= 1 and v["reference_server_workers"] == 2,
            "30 requests, one 400, and two workers (replacements done)")
        assert values[OK] == 30 and values[BAD] == 1
        assert values["reference_server_workers"] == 2
        assert values['reference_server_request_duration_seconds_count{status="2xx"}'] == 30
    finally:
        assert server.stop() == 0


def test_process_metrics_port_in_use_is_one_line(tmp_path):
    (tmp_path / "metricsapp.py").write_text(APP)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(tmp_path)]))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "reference_server", "metricsapp:app", "--port",
             str(free_port()), "--metrics-port", str(port)], cwd=tmp_path, env=env,
            capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1
    assert proc.stderr == ("reference-server: error: cannot serve metrics on "
                           f"127.0.0.1:{port}: address already in use\n")


# -- a real Prometheus ---------------------------------------------------------------------------


def _query(port: int, expr: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as response:
        payload = json.load(response)
    assert payload["status"] == "success", payload
    return payload["data"]["result"]  # type: ignore[no-any-return]


def test_real_prometheus_scrapes_the_server(tmp_path):
    """Prometheus scrapes the two-worker server every second; its HTTP API then has
    ``up`` = 1 for the target and the request count the server answered."""
    prometheus = shutil.which("prometheus")
    assert prometheus, "Debian's prometheus package is needed (.ci/run installs it)"
    server = Server(tmp_path, "--workers", "2")
    prom_port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: reference\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{server.metrics_port}']\n")
    log = tmp_path / "prometheus.log"
    with open(log, "w") as out:
        prom = subprocess.Popen(
            [prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{prom_port}"],
            cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        for _ in range(12):
            assert _get(server.port).startswith(b"HTTP/1.1 200 ")
        deadline = time.monotonic() + 60
        up: list[dict[str, Any]] = []
        count: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            assert prom.poll() is None, log.read_text()[-2000:]
            try:
                up = _query(prom_port, 'up{job="reference"}')
                count = _query(prom_port, 'sum(reference_server_requests_total{status="2xx"})')
            except OSError:
                time.sleep(0.5)
                continue
            if up and up[0]["value"][1] == "1" and count and float(count[0]["value"][1]) >= 12:
                break
            time.sleep(0.5)
        assert up and up[0]["value"][1] == "1", (up, log.read_text()[-2000:])
        assert count and float(count[0]["value"][1]) == 12, count
    finally:
        prom.send_signal(signal.SIGTERM)
        try:
            prom.wait(timeout=20)
        except subprocess.TimeoutExpired:
            prom.kill()
            prom.wait(timeout=10)
        assert server.stop() == 0
