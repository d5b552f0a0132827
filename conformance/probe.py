"""The harness side of the probe: read its side channel, build its requests.

:class:`ProbeLog` tails the JSON-lines file the probe app (``fixtures.probe``) writes.
:class:`Probe` is what a case holds: its own probe id, request builders that select a
scenario, connections whose bytes become evidence, and bounded waits on what the app
recorded. A wait that runs out raises :class:`~conformance.verdicts.NoResponse`
naming what the app never saw.
"""

from __future__ import annotations

import itertools
import json
import os
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.rawhttp import RawConnection, Response
from conformance.verdicts import HarnessError, NoResponse
from fixtures import typedjson
from fixtures.probe import HEADER_ARGS, HEADER_ID, HEADER_SCENARIO

RECORD_TIMEOUT = 2.0
"""How long to wait for the app to record something the server should deliver."""
RECORD_GRACE = 0.2
"""How long to wait for a call record once the response is already in: the probe writes
its records before it sends, so a record still missing then was never written."""


@dataclass
class Record:
    id: str | None
    call: str
    seq: int
    pid: int
    t: float
    kind: str
    data: dict[str, Any]

    def render(self) -> str:
        return f"[{self.call} #{self.seq} {self.kind}] {self.data!r}"


class ProbeLog:
    """Incremental reader of the side-channel file, indexed by probe id."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = b""
        self._by_id: dict[str | None, list[Record]] = {}

    def poll(self) -> None:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except FileNotFoundError:
            return
        if not data:
            return
        self._offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            if not line.strip():
                continue
            raw = json.loads(line)
            record = Record(
                id=raw["id"], call=raw["call"], seq=raw["seq"], pid=raw["pid"], t=raw["t"],
                kind=raw["kind"], data=typedjson.from_jsonable(raw["data"]),
            )
            self._by_id.setdefault(record.id, []).append(record)

    def records(self, probe_id: str | None) -> list[Record]:
        self.poll()
        return list(self._by_id.get(probe_id, ()))

    def wait(
        self,
        probe_id: str | None,
        until: Callable[[list[Record]], bool],
        timeout: float,
    ) -> tuple[bool, list[Record]]:
        """Poll until ``until(records)`` holds or ``timeout`` passes; never blocks longer."""
        deadline = time.monotonic() + timeout
        while True:
            records = self.records(probe_id)
            if until(records):
                return True, records
            if time.monotonic() >= deadline:
                return False, records
            time.sleep(0.01)


@dataclass
class CallView:
    """Everything the probe recorded about one application call."""

    call: str
    records: list[Record]

    def _first(self, kind: str) -> Record | None:
        return next((r for r in self.records if r.kind == kind), None)

    @property
    def scope(self) -> dict[str, Any]:
        record = self._first("call")
        if record is None:
            raise HarnessError(f"call {self.call} has no call record")
        scope = record.data["scope"]
        assert isinstance(scope, dict), f"the scope is not a dict but {type(scope).__name__}"
        return scope

    @property
    def info(self) -> dict[str, Any]:
        record = self._first("call")
        return record.data if record else {}

    @property
    def received(self) -> list[Any]:
        return [r.data["event"] for r in self.records if r.kind == "receive"]

    @property
    def sends(self) -> list[dict[str, Any]]:
        return [r.data for r in self.records if r.kind == "send"]

    @property
    def exit(self) -> dict[str, Any] | None:
        record = self._first("exit")
        return record.data if record else None

    def has(self, kind: str) -> bool:
        return self._first(kind) is not None


_counter = itertools.count(1)


def new_probe_id(prefix: str = "") -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"{prefix}{worker}-{next(_counter)}-{uuid.uuid4().hex[:6]}"


HeaderLike = tuple[str | bytes, str | bytes]


def _b(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("latin-1")


@dataclass
class Probe:
    """A case's handle on the probe app served by the server under test."""

    host: str
    port: int
    log: ProbeLog
    id: str = field(default_factory=new_probe_id)
    connections: list[RawConnection] = field(default_factory=list)
    responded: bool = False
    notes: list[str] = field(default_factory=list)

    # --- building requests ---------------------------------------------------------------

    def probe_headers(
        self, scenario: str = "echo", args: dict[str, Any] | None = None,
        probe_id: str | None = None,
    ) -> list[tuple[bytes, bytes]]:
        headers = [(HEADER_ID, (probe_id or self.id).encode())]
        if scenario != "echo":
            headers.append((HEADER_SCENARIO, scenario.encode()))
        if args:
            headers.append((HEADER_ARGS, typedjson.dumps(args).encode()))
        return headers

    def request(
        self,
        method: str = "GET",
        target: str | bytes = "/",
        *,
        scenario: str = "echo",
        args: dict[str, Any] | None = None,
        headers: Iterable[HeaderLike] = (),
        body: bytes = b"",
        version: str = "HTTP/1.1",
        host: bool = True,
        content_length: bool | None = None,
        probe_id: str | None = None,
    ) -> bytes:
        """Exact request bytes: request line, Host, probe headers, ``headers``, body.

        ``content_length`` defaults to "when there is a body"; pass False when the
        headers already frame the body (chunked) and True to force ``Content-Length: 0``.
        """
        lines = [b" ".join((method.encode(), _b(target), version.encode()))]
        if host:
            lines.append(b"Host: " + f"{self.host}:{self.port}".encode())
        lines += [name + b": " + value
                  for name, value in self.probe_headers(scenario, args, probe_id)]
        lines += [_b(name) + b": " + _b(value) for name, value in headers]
        if content_length if content_length is not None else bool(body):
            lines.append(b"Content-Length: " + str(len(body)).encode())
        return b"\r\n".join(lines) + b"\r\n\r\n" + body

    # --- talking -------------------------------------------------------------------------

    def connect(self, timeout: float = 2.0) -> RawConnection:
        """A raw connection whose transcript becomes this case's evidence."""
        conn = RawConnection(self.host, self.port, timeout=timeout)
        self.connections.append(conn)
        return conn

    def read(self, conn: RawConnection, method: str = "GET",
             timeout: float | None = None) -> Response:
        response = conn.read_response(method, timeout)
        self.responded = True
        return response

    def exchange(self, request: bytes, *, method: str = "GET",
                 timeout: float | None = None) -> Response:
        """Send one request on a fresh connection and read its response."""
        conn = self.connect()
        conn.send(request)
        return self.read(conn, method, timeout)

    def get(self, target: str | bytes = "/", **kwargs: Any) -> tuple[Response, CallView]:
        """Send a request (``kwargs`` as :meth:`request`) and return the response and
        what the app recorded about it."""
        method = kwargs.pop("method", "GET")
        response = self.exchange(self.request(method, target, **kwargs), method=method)
        return response, self.call()

    # --- observing -------------------------------------------------------------------------

    def records(self) -> list[Record]:
        return self.log.records(self.id)

    def calls(self, count: int = 1, timeout: float | None = None) -> list[CallView]:
        """Wait for ``count`` application calls carrying this probe's id."""
        if timeout is None:
            timeout = RECORD_GRACE if self.responded else RECORD_TIMEOUT

        def enough(records: list[Record]) -> bool:
            return sum(r.kind == "call" for r in records) >= count

        ok, records = self.log.wait(self.id, enough, timeout)
        self._check_probe_errors(records)
        views = group_calls(records)
        if not ok:
            raise NoResponse(
                f"the app recorded {len(views)} call(s) for this case, expected {count} "
                f"within {timeout:g} s: the server did not run the app for the request"
            )
        return views

    def call(self, timeout: float | None = None) -> CallView:
        return self.calls(1, timeout)[0]

    def scope(self, timeout: float | None = None) -> dict[str, Any]:
        return self.call(timeout).scope

    def wait_for(
        self, what: str, until: Callable[[CallView], bool], timeout: float = RECORD_TIMEOUT,
    ) -> CallView:
        """Wait until the (first) call satisfies ``until``; ``what`` names the expectation
        in the failure message ("the app received http.disconnect")."""

        if self.responded:
            self.calls(1)  # a response without a call record: the app never ran; say so now

        def ready(records: list[Record]) -> bool:
            views = group_calls(records)
            return bool(views) and until(views[0])

        ok, records = self.log.wait(self.id, ready, timeout)
        self._check_probe_errors(records)
        views = group_calls(records)
        if not ok:
            if not views:
                raise NoResponse(f"the app was never called, so {what} could not happen")
            raise NoResponse(f"not within {timeout:g} s: {what}")
        return views[0]

    def _check_probe_errors(self, records: Sequence[Record]) -> None:
        for record in records:
            if record.kind == "probe_error":
                raise HarnessError(f"the probe app rejected the case's request: {record.data}")


def group_calls(records: Iterable[Record]) -> list[CallView]:
    """The records of each application call, calls in the order they started."""
    calls: dict[str, list[Record]] = {}
    for record in records:
        calls.setdefault(record.call, []).append(record)
    views = [CallView(call, recs) for call, recs in calls.items()]
    views.sort(key=lambda v: min(r.t for r in v.records))
    return [v for v in views if v.has("call")]
