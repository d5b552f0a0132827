"""One case against one server, and what the server made of it, normalised.

For each case and each server: a fresh connection, the case's bytes (in pieces when the
case says so), everything the server answers within a bound, and whether it closed; then
what the probe app recorded for the case's probe id. The two sides become an
:class:`Interpretation` with the noise removed (ports, dates, server headers, the probe
id, the order of differently named fields, partial bodies whose cut depends on timing),
so two servers' interpretations compare equal exactly when they understood the bytes
the same way.

The wire side is parsed leniently (:func:`split_responses`): a server under fuzz may send
garbage, and the point here is to count responses and read their status codes, not to
judge their syntax (the written suite does that with :mod:`conformance.rawhttp`); the raw
bytes are kept as evidence.

Every wait is bounded: the read by ``read_timeout`` (shorter once every expected response
is in and the connection is quiet), the app's records by ``record_timeout``.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from conformance.differential import ws
from conformance.differential.generate import Case, with_probe_id
from conformance.differential.ws import WsMessage
from conformance.launcher import ServerProcess, ServerStartError
from conformance.probe import ProbeLog, Record, group_calls
from conformance.rawhttp import RawConnection
from conformance.servers import ServerSpec
from conformance.verdicts import NoResponse

READ_TIMEOUT = 1.0
"""How long to wait for the server's answer to a case when it may still come."""
SETTLE = 0.15
"""How long the connection must stay quiet once the expected responses are in."""
RECORD_TIMEOUT = 1.0
"""How long to wait, after closing, for the app's calls to finish recording."""
RECORD_GRACE = 0.1
PIECE_PAUSE = 0.02
MAX_EVIDENCE = 2048
APP = "fixtures.probe:app"
_STATUS_LINE = re.compile(rb"HTTP/(\d)\.(\d) (\d{3})(?:[ \t][^\r\n]*)?\r?\n")
_NOISE_HEADERS = frozenset({"x-probe-id"})
_EXACT_REFUSALS = frozenset({400, 413, 414, 431, 501, 505})


@dataclass(frozen=True)
class AppRequest:
    """One request as the app saw it (bytes shown as latin-1 text)."""

    method: str
    path: str
    raw_target: str
    http_version: str
    headers: tuple[tuple[str, str], ...]
    body: str | None
    """The whole body when the app got it all; None when it ended incomplete (how much
    of a partial body arrived depends on timing, not on the server's reading)."""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["headers"] = [list(pair) for pair in self.headers]
        return data


@dataclass(frozen=True)
class Interpretation:
    """What one server made of one case."""

    app: tuple[AppRequest | WsMessage, ...]
    """What the app received: requests (HTTP) or messages (WebSocket)."""
    statuses: tuple[int | str, ...]
    """Status codes of the responses on the wire in order, interim (1xx) ones included;
    for WebSocket, the handshake status then the frames received, summarised."""
    garbage: bool = False
    """Bytes that are not an HTTP/1.x response followed (or came instead)."""
    closed: str = "open"
    """``closed`` (FIN), ``reset`` (RST) or ``open`` when the read ended."""
    crashed: bool = False
    """The server process died during the case (it is restarted for the next one)."""
    raw: str = field(default="", compare=False)
    """What came back, truncated, as latin-1 text: evidence, not compared."""
    protocol: str = field(default="http", compare=False)

    @property
    def settled(self) -> tuple[AppRequest | WsMessage, ...]:
        """The app's requests without those still waiting for their body at the end.

        Whether a server calls the app before a body is complete (most do) or buffers
        it first (daphne) is its choice, and how much of a partial body arrived is
        timing: a request whose body never completed says nothing about how the server
        read the bytes, so it is left out of what is compared."""
        app = list(self.app)
        while app and isinstance(app[-1], AppRequest) and app[-1].body is None:
            app.pop()
        return tuple(app)

    @property
    def complete_requests(self) -> int:
        """How many requests reached the app with their whole body."""
        return sum(1 for seen in self.app
                   if isinstance(seen, AppRequest) and seen.body is not None)

    @property
    def outcome(self) -> str:
        """``accepted`` (the app got a complete request or a message), ``rejected`` (an
        error status or a close, and nothing complete reached the app), ``waiting``
        (no answer yet, the connection open: the server wants more bytes) or
        ``crashed``.

        A server may call the app before the body is all in and refuse the message when
        a later part of it is bad (a chunk line, a trailer): the app then sees a body
        that never completes and the client a 4xx/5xx or a close. That is a refusal,
        not another reading of the message."""
        if self.crashed:
            return "crashed"
        if self.settled:
            return "accepted"
        return "rejected" if self.refused else "waiting"

    @property
    def errored(self) -> bool:
        """An error status on the wire, or a close without any response; for
        WebSocket, also a close frame with an error code (not 1000, §7.4.1)."""
        return any(isinstance(s, int) and s >= 400 for s in self.statuses) or (
            not self.statuses and self.closed != "open") or any(
            isinstance(s, str) and s.startswith("close ") and s not in (
                "close 1000", "close None") for s in self.statuses)

    @property
    def refused(self) -> bool:
        """The server answered an error status or closed the connection (for
        WebSocket: sent a close frame)."""
        return self.closed != "open" or any(
            (isinstance(s, int) and s >= 400) or (isinstance(s, str) and
                                                  s.startswith("close "))
            for s in self.statuses)

    def coarse(self) -> tuple[Any, ...]:
        """What matters for smuggling and desync: the outcome and, when accepted, the
        app's requests. Two servers differing here understood the bytes differently."""
        return (self.outcome, self.settled) if self.outcome == "accepted" \
            else (self.outcome,)

    def fine(self) -> tuple[Any, ...]:
        """The wire side too: status codes, garbage, how the connection ended."""
        final = tuple(s for s in self.statuses
                      if not isinstance(s, int) or not 100 <= s < 200 or s == 101)
        return (*self.coarse(), tuple(_status_class(s) for s in final), self.garbage,
                self.closed != "open")

    def shape(self) -> tuple[Any, ...]:
        """What a reproducer must keep while it shrinks: the outcome, each request's
        method and target and whether its body completed (or each message's kind), and
        the wire statuses. The bodies and fields may shrink; the reason may not change
        (a request line cut to garbage is refused for another reason)."""
        app = tuple((r.method, r.raw_target) if isinstance(r, AppRequest) else (r.kind,)
                    for r in self.settled)
        return (self.outcome, app, *self.fine()[-3:])

    def summary(self) -> str:
        """One line for tables: ``accepted 2 req [200, 200]`` / ``rejected [400] closed``."""
        parts = [self.outcome]
        if self.outcome == "accepted":
            parts.append(f"{len(self.settled)} {'msg' if self.protocol == 'ws' else 'req'}")
        parts.append(str(list(self.statuses)) if self.statuses else "no response")
        if self.garbage:
            parts.append("garbage")
        if self.closed != "open":
            parts.append(self.closed)
        return " ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "summary": self.summary(),
                "app": [r.to_json() for r in self.app], "statuses": list(self.statuses),
                "garbage": self.garbage, "closed": self.closed, "crashed": self.crashed,
                "raw": self.raw}


def _status_class(status: int | str) -> int | str:
    """Statuses compared in the fine key: exact for success and the framing-relevant
    refusals, by class otherwise (a 400 and a 404 are not two interpretations)."""
    if isinstance(status, str) or status < 400 or status in _EXACT_REFUSALS:
        return status
    return f"{status // 100}xx"


# --- the wire side -----------------------------------------------------------------------


@dataclass
class Wire:
    statuses: list[int]
    garbage: bool
    complete: bool
    """Every response that started also ended (nothing half-received)."""


def _head_fields(head: bytes) -> dict[bytes, list[bytes]]:
    fields: dict[bytes, list[bytes]] = {}
    for line in re.split(rb"\r?\n", head)[1:]:
        name, colon, value = line.partition(b":")
        if colon:
            fields.setdefault(name.strip().lower(), []).append(value.strip())
    return fields


def _chunked_end(data: bytes, pos: int) -> int | None:
    """Where a chunked body starting at ``pos`` ends (lenient), or None if incomplete."""
    while True:
        eol = data.find(b"\n", pos)
        if eol < 0:
            return None
        size_text = data[pos:eol].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return None
        pos = eol + 1
        if size == 0:
            while True:  # trailers up to the empty line
                eol = data.find(b"\n", pos)
                if eol < 0:
                    return None
                line, pos = data[pos:eol], eol + 1
                if not line.strip():
                    return pos
        pos += size
        if len(data) < pos + 1:
            return None
        pos = data.find(b"\n", pos)
        if pos < 0:
            return None
        pos += 1


def split_responses(data: bytes) -> Wire:
    """Count the responses in ``data`` and read their status codes, leniently.

    A response is framed as RFC 9112 §6.3 says for a response to a non-HEAD request:
    none for 1xx/204/304, chunked, Content-Length, else up to the close. Anything that
    does not start with a status line is garbage; parsing stops there.
    """
    statuses: list[int] = []
    pos = 0
    while pos < len(data):
        match = _STATUS_LINE.match(data, pos)
        if match is None:
            return Wire(statuses, True, True)
        status = int(match.group(3))
        ends = [i for i in (data.find(b"\r\n\r\n", pos), data.find(b"\n\n", pos)) if i >= 0]
        if not ends:
            return Wire(statuses, False, False)
        end = min(ends)
        head = data[pos:end]
        pos = end + (4 if data[end:end + 4] == b"\r\n\r\n" else 2)
        statuses.append(status)
        fields = _head_fields(head)
        if status == 101:
            return Wire(statuses, False, True)
        if 100 <= status < 200 or status in (204, 304):
            continue
        if b"transfer-encoding" in fields:
            chunk_end = _chunked_end(data, pos)
            if chunk_end is None:
                return Wire(statuses, False, False)
            pos = chunk_end
        elif b"content-length" in fields:
            try:
                length = int(fields[b"content-length"][0])
            except ValueError:
                return Wire(statuses, True, True)
            if len(data) < pos + length:
                return Wire(statuses, False, False)
            pos += length
        else:
            return Wire(statuses, False, True)  # close-delimited: the rest is its body
    return Wire(statuses, False, True)


def read_answer(conn: RawConnection, expected: int, timeout: float = READ_TIMEOUT,
                settle: float = SETTLE) -> bytes:
    """Read what the server answers: until it closes, or the connection has been quiet
    for ``settle`` once ``expected`` complete final responses are in, or ``timeout``."""
    data = b""
    start = time.monotonic()
    deadline = start + timeout
    last = start
    while True:
        wire = split_responses(data)
        finals = sum(1 for s in wire.statuses if not 100 <= s < 200)
        limit = deadline
        if data and wire.complete and (finals >= expected or wire.garbage):
            limit = min(deadline, last + settle)
        chunk = conn.recv_raw(limit)
        if not chunk:  # None: bound reached; b"": the server closed
            return data
        data += chunk
        last = time.monotonic()


# --- the app side ------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("latin-1")
    return "" if value is None else str(value)


def normalise_call(records: Sequence[Record]) -> AppRequest | None:
    """The request of one app call, with the noise removed: the probe id header, the
    order of differently named fields (RFC 9110 §5.3: only the order of same-named
    field lines carries meaning), and a body that ended incomplete."""
    call = next((r for r in records if r.kind == "call"), None)
    if call is None:
        return None
    scope = call.data.get("scope") or {}
    if not isinstance(scope, dict) or scope.get("type") != "http":
        return None  # a lifespan or WebSocket call without an id is not this request
    headers = [(_text(k).lower(), _text(v)) for k, v in scope.get("headers") or []
               if _text(k).lower() not in _NOISE_HEADERS]
    headers.sort(key=lambda pair: pair[0])  # stable: same-named lines keep their order
    body = b""
    complete = False
    for record in records:
        if record.kind != "receive":
            continue
        event = record.data.get("event") or {}
        if event.get("type") == "http.request":
            chunk = event.get("body") or b""
            body += chunk if isinstance(chunk, bytes) else b""
            if not event.get("more_body", False):
                complete = True
    raw_path = scope.get("raw_path")
    query = _text(scope.get("query_string"))
    target = (_text(raw_path) if raw_path is not None else _text(scope.get("path")))
    return AppRequest(
        method=_text(scope.get("method")),
        path=_text(scope.get("path")),
        raw_target=target + ("?" + query if query else ""),
        http_version=_text(scope.get("http_version")),
        headers=tuple(headers),
        body=body.decode("latin-1") if complete else None,
    )


# --- one server --------------------------------------------------------------------------


class Target:
    """One server under test serving the probe app, with its side channel."""

    def __init__(self, spec: ServerSpec, index: int, workdir: Path, *,
                 app: str = APP, start_timeout: float = 15.0) -> None:
        self.spec = spec
        self.name = spec.name
        self.index = index
        self.process = ServerProcess(spec, app, workdir=workdir,
                                     start_timeout=start_timeout, stop_timeout=3.0)
        self.log = ProbeLog(self.process.probe_log_path)
        self.version = spec.version()
        self.crashes = 0

    def start(self) -> None:
        self.process.start()

    def stop(self) -> None:
        self.process.stop()

    def ensure_running(self) -> bool:
        """Restart after a crash; False if that fails too (the case is then an error)."""
        if self.process.alive():
            return False
        self.crashes += 1
        try:
            self.process.stop()
            self.process.start()
        except ServerStartError:
            pass
        return True

    def app_records(self, probe: str, before_none: int) -> list[Record]:
        """Records for ``probe``, plus records without an id that appeared since the case
        started (a request whose probe header the server mangled or dropped)."""
        return self.log.records(probe) + self.log.records(None)[before_none:]

    def run(self, case: Case, attempt: int, *, read_timeout: float = READ_TIMEOUT,
            record_timeout: float = RECORD_TIMEOUT) -> Interpretation:
        if not self.process.alive():
            self.ensure_running()
        probe = with_probe_id(b"@@probe-id@@", attempt, self.index).decode()
        data = with_probe_id(case.data, attempt, self.index)
        before_none = len(self.log.records(None))
        if case.protocol == "ws":
            status, frames, garbage, closed, received = ws.exchange(
                self.process.host, self.process.port, case, probe.encode(), read_timeout,
                SETTLE)
            statuses: tuple[int | str, ...] = (*([status] if status else []), *frames)
        else:
            garbage, closed, received = False, "open", b""
            try:
                with RawConnection(self.process.host, self.process.port,
                                   timeout=read_timeout) as conn:
                    conn.send_pieces(case.pieces(data), pause=PIECE_PAUSE)
                    received = read_answer(conn, case.requests, read_timeout)
                    closed = conn.peer_closed or "open"
            except (NoResponse, OSError):
                closed = "reset"
            wire = split_responses(received)
            statuses, garbage = tuple(wire.statuses), wire.garbage
        # After our close, an app still waiting for body gets http.disconnect and exits.
        # The probe records a call before it sends, so a call not recorded by now (plus
        # a grace for the file write) was never made.
        found, _ = self.log.wait(probe, bool, RECORD_GRACE)
        if found:
            self.log.wait(probe, _all_exited, record_timeout)
        crashed = self.ensure_running()
        records = self.app_records(probe, before_none)
        app: tuple[AppRequest | WsMessage, ...]
        if case.protocol == "ws":
            app = tuple(m for c in group_calls(records) for m in ws.app_messages(c.records))
        else:
            app = tuple(r for r in (normalise_call(c.records) for c in group_calls(records))
                        if r is not None)
        return Interpretation(
            app=app, statuses=statuses, garbage=garbage, closed=closed, crashed=crashed,
            raw=received[:MAX_EVIDENCE].decode("latin-1"), protocol=case.protocol)


def _all_exited(records: Sequence[Record]) -> bool:
    calls = group_calls(records)
    return bool(calls) and all(c.has("exit") for c in calls)


_attempts = itertools.count(1)
_attempt_lock = threading.Lock()


def next_attempt() -> int:
    with _attempt_lock:
        return next(_attempts)


class Runner:
    """Runs cases on every target at once (one thread per server: the waits are I/O)."""

    def __init__(self, targets: Sequence[Target], read_timeout: float = READ_TIMEOUT) -> None:
        self.targets = list(targets)
        self.read_timeout = read_timeout
        self.pool = ThreadPoolExecutor(max_workers=max(1, len(self.targets)))
        self.runs = 0

    def run(self, case: Case) -> dict[str, Interpretation]:
        attempt = next_attempt()
        self.runs += 1
        futures = {t.name: self.pool.submit(t.run, case, attempt,
                                            read_timeout=self.read_timeout)
                   for t in self.targets}
        return {name: future.result() for name, future in futures.items()}

    def close(self) -> None:
        self.pool.shutdown(wait=True)
