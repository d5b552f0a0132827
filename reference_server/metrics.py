"""Prometheus metrics (``--metrics-host``/``--metrics-port``): one view of all workers.

What is measured (names in :func:`render`): HTTP requests answered and their duration
(a histogram) by status class, open connections, active requests, active WebSocket
sessions, bytes received and sent, and protocol errors by kind (``http1_<status>``: a
request refused before the app saw it; ``h2_<ERROR>``: an HTTP/2 connection error we
sent GOAWAY for; ``websocket_<code>``: a session we closed for a client fault).

Why not ``prometheus_client``'s multiprocess mode: it needs ``PROMETHEUS_MULTIPROC_DIR``
set before the library is imported and a directory of mmap files that someone cleans
(``mark_process_dead`` for every replaced worker, or gauges of dead workers linger), its
live gauges need a per-metric ``multiprocess_mode``, and it would be a new dependency
with a file write on every increment. The supervisor already has a pipe from each worker
(it learns there that a worker retires), so the workers send it their numbers instead:

- each worker counts in plain Python ints (:class:`WorkerMetrics`), only when metrics
  are on: the counting lives in the observed protocol classes (observe.py) and in
  :class:`MeteredProtocol`, which wraps each connection; with metrics off neither
  exists and the request path is untouched;
- every :data:`REPORT_INTERVAL` seconds, and once more when it exits, a worker writes a
  snapshot of its cumulative counters and its current gauges to the pipe as one line of
  JSON, small enough (< PIPE_BUF) that a non-blocking write is all or nothing; a busy
  supervisor costs a worker a skipped report, never a blocked loop;
- the supervisor (:class:`Aggregate`) keeps each live worker's latest snapshot and adds
  the counters of the workers that are gone, so counters never go backwards when a
  worker is replaced (``--limit-max-requests``, SIGHUP, a crash), and the gauges are the
  live workers' sum. It serves the scrape from its own selector loop, no thread.

A single-process server serves the scrape from its event loop, from its live counters.
A scrape sees the workers as of their last report (at most :data:`REPORT_INTERVAL`
seconds old); a killed worker loses what it counted since its last report.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .state import ServerState

#: Seconds between a worker's reports to its supervisor.
REPORT_INTERVAL = 0.5

#: Upper bounds of the duration histogram's buckets (seconds), Prometheus' defaults.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class WorkerMetrics:
    """One worker's counters (cumulative since it started)."""

    def __init__(self) -> None:
        self.requests = [0] * len(CLASSES)
        #: Per class: the count of each bucket (not cumulative) and the +Inf overflow.
        self.buckets = [[0] * (len(BUCKETS) + 1) for _ in CLASSES]
        self.duration_sum = [0.0] * len(CLASSES)
        self.bytes_in = 0
        self.bytes_out = 0
        self.connections_total = 0
        self.errors: dict[str, int] = {}

    def request_done(self, status: int, duration: float) -> None:
        index = min(max(status // 100, 1), 5) - 1
        self.requests[index] += 1
        self.duration_sum[index] += duration
        bucket = 0
        for bound in BUCKETS:
            if duration <= bound:
                break
            bucket += 1
        self.buckets[index][bucket] += 1

    def protocol_error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def snapshot(self, state: ServerState | None) -> dict[str, Any]:
        """Counters, plus the gauges read from the live state."""
        connections = websockets = tasks = 0
        if state is not None:
            connections, websockets = live_connections(state)
            tasks = len(state.tasks)
        return {"requests": self.requests, "buckets": self.buckets,
                "duration_sum": self.duration_sum, "bytes_in": self.bytes_in,
                "bytes_out": self.bytes_out, "connections_total": self.connections_total,
                "errors": self.errors, "open_connections": connections,
                "active_websockets": websockets,
                "active_requests": max(tasks - websockets, 0)}


def live_connections(state: ServerState) -> tuple[int, int]:
    """(open connections, active WebSocket sessions) of one worker."""
    from .protocol.h2_connection import H2Connection
    from .protocol.h2_stream import H2WebSocketStream
    from .protocol.h11_websocket import H11WebSocketTransport

    websockets = 0
    for conn in state.connections:
        if isinstance(conn, H11WebSocketTransport):
            websockets += 1
        elif isinstance(conn, H2Connection):
            websockets += sum(isinstance(s, H2WebSocketStream) for s in conn.streams.values())
    return len(state.connections), websockets


_COUNTERS = ("bytes_in", "bytes_out", "connections_total")
_GAUGES = ("open_connections", "active_websockets", "active_requests")


def empty() -> dict[str, Any]:
    return WorkerMetrics().snapshot(None)


def add(total: dict[str, Any], snap: dict[str, Any], gauges: bool = True) -> None:
    """Add ``snap`` into ``total`` (the gauges too unless ``gauges`` is false)."""
    for i in range(len(CLASSES)):
        total["requests"][i] += snap["requests"][i]
        total["duration_sum"][i] += snap["duration_sum"][i]
        for j in range(len(BUCKETS) + 1):
            total["buckets"][i][j] += snap["buckets"][i][j]
    for key in _COUNTERS:
        total[key] += snap[key]
    for kind, count in snap["errors"].items():
        total["errors"][kind] = total["errors"].get(kind, 0) + count
    if gauges:
        for key in _GAUGES:
            total[key] += snap[key]


def _number(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render(snap: dict[str, Any], workers: int) -> str:
    """The Prometheus text exposition format (version 0.0.4) of ``snap``."""
    out: list[str] = []

    def family(name: str, kind: str, help: str, samples: Iterable[tuple[str, float]]) -> None:
        out.append(f"# HELP {name} {help}")
        out.append(f"# TYPE {name} {kind}")
        out.extend(f"{name}{labels} {_number(value)}" for labels, value in samples)

    p = "reference_server_"
    family(p + "requests_total", "counter", "HTTP requests answered, by status class.",
           ((f'{{status="{c}"}}', snap["requests"][i]) for i, c in enumerate(CLASSES)))
    name = p + "request_duration_seconds"
    out.append(f"# HELP {name} Time from the request head to the response written, by "
               "status class.")
    out.append(f"# TYPE {name} histogram")
    for i, cls in enumerate(CLASSES):
        cumulative = 0
        for j, bound in enumerate((*BUCKETS, None)):
            cumulative += snap["buckets"][i][j]
            le = "+Inf" if bound is None else repr(bound)
            out.append(f'{name}_bucket{{status="{cls}",le="{le}"}} {cumulative}')
        out.append(f'{name}_sum{{status="{cls}"}} {_number(snap["duration_sum"][i])}')
        out.append(f'{name}_count{{status="{cls}"}} {cumulative}')
    family(p + "connections_total", "counter", "Connections accepted.",
           [("", snap["connections_total"])])
    family(p + "open_connections", "gauge", "Connections open now.",
           [("", snap["open_connections"])])
    family(p + "active_requests", "gauge", "HTTP requests whose application is running.",
           [("", snap["active_requests"])])
    family(p + "active_websockets", "gauge", "WebSocket sessions open now.",
           [("", snap["active_websockets"])])
    family(p + "received_bytes_total", "counter", "Bytes received from clients.",
           [("", snap["bytes_in"])])
    family(p + "sent_bytes_total", "counter", "Bytes written to clients.",
           [("", snap["bytes_out"])])
    family(p + "protocol_errors_total", "counter", "Protocol errors, by kind.",
           ((f'{{kind="{_label(kind)}"}}', count)
            for kind, count in sorted(snap["errors"].items())))
    family(p + "workers", "gauge", "Worker processes reporting.", [("", workers)])
    return "\n".join(out) + "\n"


# -- the scrape endpoint: bytes of a request head → bytes of the response ----------------------


def respond(head: bytes, body: Callable[[], str]) -> bytes:
    """The answer to one scrape request (``GET /metrics``; ``/`` too); the connection
    closes after it."""
    line = head.split(b"\r\n", 1)[0].split(b" ")
    if len(line) != 3 or line[0] not in (b"GET", b"HEAD"):
        return _response(405, "text/plain", b"method not allowed\n", head_only=False)
    path = line[1].split(b"?", 1)[0]
    if path not in (b"/metrics", b"/"):
        return _response(404, "text/plain", b"not found; the metrics are at /metrics\n")
    return _response(200, CONTENT_TYPE, body().encode(), head_only=line[0] == b"HEAD")


def _response(status: int, content_type: str, payload: bytes,
              head_only: bool = False) -> bytes:
    reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed"}[status]
    head = (f"HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\n"
            f"content-length: {len(payload)}\r\nconnection: close\r\n\r\n").encode()
    return head if head_only else head + payload


#: A scrape request head larger than this is not a scrape.
MAX_HEAD = 16384


class ScrapeProtocol(asyncio.Protocol):
    """The single-process server's metrics endpoint, on its own event loop."""

    def __init__(self, body: Callable[[], str]) -> None:
        self.body = body
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        if b"\r\n\r\n" in self.buffer or len(self.buffer) > MAX_HEAD:
            self.transport.write(respond(self.buffer, self.body))
            self.transport.close()


# -- wrapping each connection when metrics are on -----------------------------------------------


class MeteredTransport:
    """The transport a protocol sees under :class:`MeteredProtocol`: counts what is
    written, and ``set_protocol`` (the upgrade to WebSocket or HTTP/2) swaps the
    protocol inside the wrapper, so the new one is counted too. Everything else is the
    real transport's."""

    def __init__(self, transport: asyncio.Transport, owner: MeteredProtocol) -> None:
        self._transport = transport
        self._owner = owner

    def write(self, data: Any) -> None:
        self._owner.metrics.bytes_out += len(data)
        self._transport.write(data)

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._owner.inner = protocol  # type: ignore[assignment]

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._owner.inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class MeteredProtocol(asyncio.Protocol):
    """What the event loop sees of a connection when metrics are on: counts bytes in
    and accepted connections, forwards everything to the real protocol."""

    def __init__(self, inner: asyncio.Protocol, metrics: WorkerMetrics) -> None:
        self.inner = inner
        self.metrics = metrics

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.metrics.connections_total += 1
        self.inner.connection_made(
            MeteredTransport(transport, self))  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        self.metrics.bytes_in += len(data)
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


# -- the supervisor's side ---------------------------------------------------------------------


class Aggregate:
    """All workers' numbers, in the supervisor: the latest snapshot of each live worker
    plus the counters of the workers that are gone."""

    def __init__(self) -> None:
        self.live: dict[int, dict[str, Any]] = {}
        self.gone = empty()

    def report(self, pid: int, line: bytes) -> None:
        try:
            snap = json.loads(line)
        except ValueError:
            return
        self.live[pid] = snap

    def worker_gone(self, pid: int) -> None:
        snap = self.live.pop(pid, None)
        if snap is not None:
            add(self.gone, snap, gauges=False)

    def render(self) -> str:
        total = empty()
        add(total, self.gone, gauges=False)
        for snap in self.live.values():
            add(total, snap)
        return render(total, len(self.live))


def encode_report(snap: dict[str, Any]) -> bytes:
    return b"M" + json.dumps(snap, separators=(",", ":")).encode() + b"\n"


def send_report(fd: int, snap: dict[str, Any]) -> None:
    """One report line to the supervisor; skipped when the pipe is full (the next one
    carries the same cumulative counters)."""
    data = encode_report(snap)
    if len(data) > select.PIPE_BUF:
        return  # cannot be written atomically; never happens with the kinds we count
    with contextlib.suppress(BlockingIOError, BrokenPipeError):
        os.write(fd, data)
