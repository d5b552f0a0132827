"""Shared helpers of the HTTP/1.1 wire cases (``test_wire_*.py``): exact request heads
(built on the probe's request, or byte by byte from the request-line), chunked bodies,
pipelined follow-up requests with their own probe ids, and the checks most cases end with:
"refused and closed", "served, then the next request served", "rejected before the app".

A request the server should reject must never reach the app. Every head built here
carries the case's ``x-probe-id``, and the probe writes its call record before it sends
anything, so once the response is in, "no call record for this id" means the app never
ran for that request (:func:`ran`); :func:`served` still waits a moment, for requests
pipelined behind the one answered.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from conformance.checks import header_pairs
from conformance.probe import CallView, Probe, Record
from conformance.rawhttp import RawConnection, Response
from conformance.verdicts import NoResponse

CRLF = b"\r\n"
READ_TIMEOUT = 1.0
"""Bound on waiting for an answer: the probe answers at once, so does a rejecting parser."""
CLOSE_BOUND = 0.5
"""How long a server gets to close a connection it must close (it has already answered)."""
LATE_CALL_GRACE = 0.05
"""How long to wait for a call record of a request that must never reach the app, once
the answer is in: the probe records the call before the app's first send, so a record
still missing then was never written."""
CLIENT_ERRORS = tuple(range(400, 500))


# --- building requests ----------------------------------------------------------------------


def b(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("latin-1")


def head(probe: Probe, *lines: str | bytes, method: str = "POST", target: str = "/",
         pid: str | None = None, scenario: str = "read_body", version: str = "HTTP/1.1",
         args: dict[str, Any] | None = None) -> bytes:
    """A request head with the probe headers and then ``lines`` written exactly as given
    (so a case controls spacing, case, order and repetition of framing fields); for a
    request-line or Host of the case's own, :func:`request_head`."""
    base = probe.request(method, target, scenario=scenario, args=args, version=version,
                         content_length=False, probe_id=pid)
    return base[:-2] + b"".join(b(line) + b"\r\n" for line in lines) + b"\r\n"


def chunked(*chunks: bytes, ext: bytes = b"", size_format: str = "%x",
            trailers: bytes = b"") -> bytes:
    out = b"".join((size_format % len(c)).encode() + ext + b"\r\n" + c + b"\r\n"
                   for c in chunks)
    return out + b"0" + ext + b"\r\n" + trailers + b"\r\n"


def follow(probe: Probe, name: str = "next") -> tuple[str, bytes]:
    """A second, innocent request with its own probe id, pipelined after the first."""
    pid = f"{probe.id}.{name}"
    return pid, probe.request("GET", f"/{name}", probe_id=pid)


def smuggled(probe: Probe) -> tuple[str, bytes]:
    """A request hidden inside another's body."""
    return follow(probe, "smuggled")


def host_value(probe: Probe) -> bytes:
    return f"{probe.host}:{probe.port}".encode()


def request_head(
    probe: Probe,
    request_line: bytes,
    *fields: bytes,
    host: bytes | bool = True,
    probe_id: str | None = None,
    eol: bytes = CRLF,
    body: bytes = b"",
) -> bytes:
    """A request head byte by byte: the request-line as given, ``Host`` (the server's address for
    True, that value for bytes, none for False), the probe id, then ``fields`` (raw field
    lines without their line end) and the empty line, each line ended by ``eol``."""
    lines = [request_line]
    if host is True:
        lines.append(b"Host: " + host_value(probe))
    elif isinstance(host, bytes):
        lines.append(b"Host: " + host)
    lines.append(b"x-probe-id: " + (probe_id or probe.id).encode())
    lines.extend(fields)
    return eol.join(lines) + eol + eol + body


# --- observing ------------------------------------------------------------------------------


def calls(probe: Probe, pid: str) -> list[Record]:
    return [r for r in probe.log.records(pid) if r.kind == "call"]


def served(probe: Probe, pids: Sequence[str], grace: float = LATE_CALL_GRACE) -> list[str]:
    """The probe ids among ``pids`` that reached the app (waiting ``grace`` for late ones)."""
    deadline = time.monotonic() + grace
    while True:
        hit = [pid for pid in pids if calls(probe, pid)]
        if hit or time.monotonic() >= deadline:
            return hit
        time.sleep(0.01)


def body_events(probe: Probe, pid: str | None = None) -> list[dict[str, Any]]:
    records = probe.log.records(pid or probe.id)
    return [r.data["event"] for r in records if r.kind == "receive"
            and isinstance(r.data.get("event"), dict)
            and r.data["event"].get("type") == "http.request"]


def app_body(probe: Probe, pid: str | None = None) -> tuple[bytes, bool]:
    """(body bytes the app received, whether it got a final http.request)."""
    events = body_events(probe, pid)
    body = b"".join(e.get("body", b"") for e in events if isinstance(e.get("body"), bytes))
    complete = any(not e.get("more_body", False) for e in events)
    return body, complete


def read(probe: Probe, conn: RawConnection, method: str = "POST",
         timeout: float = 2.0) -> Response | None:
    """The next response, or None when the server closed (or stayed silent) instead."""
    try:
        return probe.read(conn, method, timeout=timeout)
    except NoResponse:
        return None


def head_text(response: Response | None, conn: RawConnection | None = None) -> str:
    """The start of a response for messages; without one, why (when ``conn`` is given)."""
    if response is None:
        return silence(conn) if conn is not None else "no response"
    return repr(response.raw[:160])


def assert_refused(probe: Probe, conn: RawConnection, statuses: Sequence[int], *,
                   others: Sequence[str] = (), app_may_start: bool = False,
                   response_required: bool = True) -> Response | None:
    """The request was refused: an error status in ``statuses`` (or, when not
    ``response_required``, a bare close), the connection closed, the request never
    delivered to the app as complete, and none of ``others`` served."""
    response = read(probe, conn)
    expected = "/".join(map(str, statuses))
    if response is not None and response.status not in statuses:
        # Wrong already: say so without waiting for a close, naming what else got in.
        raise AssertionError(
            f"the server answered {response.status}, expected {expected}: "
            f"{head_text(response)}; requests after it that reached the app so far: "
            f"{served(probe, others)}"
        )
    closed = conn.wait_closed(CLOSE_BOUND)
    reached = served(probe, others)
    assert not reached, (
        f"requests sent after the refused one reached the app: {reached} (first response "
        f"{head_text(response)}; then {conn.unread()[:160]!r})"
    )
    assert response is not None or not response_required, (
        f"no {expected} response "
        f"({'connection ' + conn.peer_closed if conn.peer_closed else 'silence'}); "
        f"received {conn.received_bytes()[:200]!r}"
    )
    assert closed, (
        f"the connection stayed open {CLOSE_BOUND:g} s after the "
        f"{response.status if response else 'missing'} response; framing was in doubt, so "
        f"it must close; unread bytes {conn.unread()[:200]!r}"
    )
    if app_may_start:
        body, complete = app_body(probe)
        assert not complete, (
            f"the app was given the refused request as complete (body {body[:80]!r})"
        )
    else:
        assert not calls(probe, probe.id), (
            "the refused request reached the app: the server called it although the "
            "request's framing was refused"
        )
    return response


def assert_served_in_order(probe: Probe, conn: RawConnection, body: bytes,
                           follow_id: str, method: str = "POST") -> None:
    """The first request got a 200 with the app reading exactly ``body``, complete, and
    the pipelined follow-up was answered next."""
    first = read(probe, conn, method)
    assert first is not None, (
        f"no response to a valid request ({conn.peer_closed or 'timeout'}); received "
        f"{conn.received_bytes()[:200]!r}"
    )
    assert first.status == 200, f"the valid request got {first.status}: {head_text(first)}"
    received, complete = app_body(probe)
    assert received == body and complete, (
        f"the app read {received[:80]!r} (complete={complete}), the client sent {body[:80]!r}"
    )
    second = read(probe, conn, "GET", timeout=1.0)
    assert second is not None and second.status == 200, (
        f"the request pipelined after it was not answered ({head_text(second)}); "
        f"unread {conn.unread()[:200]!r}"
    )
    assert served(probe, [follow_id]) == [follow_id], (
        "the response after the first one was not the pipelined request's"
    )


def silence(conn: RawConnection) -> str:
    """Why no response was read, with whatever bytes did arrive."""
    how = f"connection {conn.peer_closed}" if conn.peer_closed else "no complete response"
    return f"no response ({how}); received {conn.received_bytes()[:240]!r}"


def first_head_fields(conn: RawConnection) -> list[tuple[bytes, bytes]]:
    """The field lines of the first response head received, parsed leniently (names
    lowercased): lets a case judge the head even when the body then breaks the framing."""
    head = conn.received_bytes().split(b"\r\n\r\n", 1)[0]
    fields = []
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        fields.append((name.strip().lower(), value.strip()))
    return fields


def assert_not_answered_as_complete(probe: Probe, response: Response | None) -> None:
    """A 2xx for a request whose body cannot have arrived means the server took it as
    complete, unless it is the app's own answer after being told the client was gone."""
    if response is None or not 200 <= response.status < 300:
        return
    _, complete = app_body(probe)
    assert calls(probe, probe.id) and not complete, (
        f"{response.status} for a request whose body never arrived: {head_text(response)}"
    )
    probe.notes.append("the 2xx came from the app, which never got the body as complete")


# --- one request, one outcome (the request-parsing cases) ----------------------------------


def describe_scope(scope: dict[str, Any]) -> str:
    """What the app saw, briefly: the evidence for "it reached the app"."""
    headers: Any
    try:
        headers = [(n, v) for n, v in header_pairs(scope)
                   if not (isinstance(n, bytes) and n.startswith(b"x-probe-"))]
    except AssertionError:
        headers = scope.get("headers")
    parts = [f"{key}={scope.get(key)!r}" for key in
             ("method", "path", "raw_path", "query_string", "http_version")]
    text = ", ".join(parts) + f", headers={headers!r}"
    return text if len(text) <= 600 else text[:600] + "..."


@dataclass
class Outcome:
    """What one request got: the response (None when none came), why none came, and the
    app's call if the server ran the app for it."""

    conn: RawConnection
    response: Response | None
    failure: str
    call: CallView | None

    @property
    def served(self) -> bool:
        return self.call is not None

    @property
    def status(self) -> int | None:
        return self.response.status if self.response is not None else None

    @property
    def scope(self) -> dict[str, Any]:
        assert self.call is not None
        return self.call.scope

    def answer(self) -> str:
        """The response in a few words, for messages."""
        if self.response is None:
            return self.failure
        response = self.response
        return f"{response.status} {response.reason.decode('latin-1')}".rstrip()

    def seen(self) -> str:
        """The answer and, when the app ran, what it saw."""
        text = self.answer()
        if self.call is not None:
            text += f"; the app ran and saw {describe_scope(self.call.scope)}"
        return text

    def header_values(self, name: bytes) -> list[Any]:
        return [value for key, value in header_pairs(self.scope)
                if isinstance(key, bytes) and key.lower() == name]

    def field(self, name: bytes) -> Any:
        """The single value the app saw for field ``name`` (fails if not exactly one)."""
        values = self.header_values(name)
        assert len(values) == 1, (
            f"the app saw {len(values)} {name.decode()} field(s): {values!r}; "
            f"{describe_scope(self.scope)}"
        )
        return values[0]


def send(probe: Probe, data: bytes, *, method: str = "GET", timeout: float = READ_TIMEOUT,
         conn: RawConnection | None = None) -> Outcome:
    """Send ``data`` on a fresh connection (or ``conn``), read one response (bounded) and
    look up whether the app ran for this case's probe id."""
    if conn is None:
        conn = probe.connect()
    conn.send(data)
    response: Response | None = None
    failure = ""
    try:
        response = probe.read(conn, method, timeout)
    except NoResponse as exc:
        failure = str(exc)
    return Outcome(conn, response, failure, app_call(probe))


def app_call(probe: Probe) -> CallView | None:
    """The app's call for this case's probe id, if it has one already."""
    return probe.call() if ran(probe, probe.id) else None


def ran(probe: Probe, probe_id: str) -> bool:
    """Whether the app has a call record for ``probe_id`` (no waiting: see the module
    docstring)."""
    return bool(calls(probe, probe_id))


def assert_served(outcome: Outcome, what: str) -> None:
    """The request was answered with 2xx by the app."""
    assert outcome.response is not None, f"{what}: {outcome.failure}"
    assert outcome.call is not None, (
        f"{what}: the server answered {outcome.answer()} without running the app"
    )
    assert 200 <= outcome.response.status < 300, f"{what}: {outcome.seen()}"


def assert_rejected(outcome: Outcome, what: str, statuses: tuple[int, ...] = (400,),
                    *, close_ok: bool = False) -> None:
    """The request never reached the app and got one of ``statuses`` (or, with
    ``close_ok``, a closed connection without any response)."""
    assert outcome.call is None, (
        f"{what}: the server handed the request to the app ({outcome.seen()})"
    )
    if outcome.response is None:
        assert close_ok and outcome.conn.peer_closed is not None, (
            f"{what}: expected {_statuses(statuses)}, got {outcome.failure}"
            + ("" if outcome.conn.peer_closed else " and the connection is still open")
        )
        return
    assert outcome.response.status in statuses, (
        f"{what}: expected {_statuses(statuses)}, got {outcome.answer()}"
    )


def assert_closed(outcome: Outcome, what: str) -> None:
    """The server closed the connection (within a short bound) after its answer."""
    assert outcome.conn.wait_closed(CLOSE_BOUND), (
        f"{what}: answered {outcome.answer()} but kept the connection open "
        f"{CLOSE_BOUND:g} s later"
    )


def _statuses(statuses: tuple[int, ...]) -> str:
    if len(statuses) > 3:
        return f"a {statuses[0] // 100}xx response"
    return " or ".join(str(s) for s in statuses)
