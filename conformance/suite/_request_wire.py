"""Shared by the request-parsing wire cases (test_wire_request_line.py, test_wire_fields.py):
build a request head byte by byte, send it once, and say what came of it.

A request the server should reject must never reach the app. Every head built here
carries the case's ``x-probe-id``, and the probe writes its call record before it sends
anything, so once the response is in, "no call record for this id" means the app never
ran for that request: no wait is needed to check it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.checks import header_pairs
from conformance.probe import CallView, Probe
from conformance.rawhttp import RawConnection, Response
from conformance.verdicts import NoResponse

CRLF = b"\r\n"
READ_TIMEOUT = 1.0
"""Bound on waiting for an answer: the probe answers at once, so does a rejecting parser."""
CLOSE_TIMEOUT = 0.5
"""Bound on waiting for the server to close after an error response."""


def host_value(probe: Probe) -> bytes:
    return f"{probe.host}:{probe.port}".encode()


def head(
    probe: Probe,
    request_line: bytes,
    *fields: bytes,
    host: bytes | bool = True,
    probe_id: str | None = None,
    eol: bytes = CRLF,
    body: bytes = b"",
) -> bytes:
    """A request head: the request-line as given, ``Host`` (the server's address for
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
    return any(r.kind == "call" for r in probe.log.records(probe_id))


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
    assert outcome.conn.wait_closed(CLOSE_TIMEOUT), (
        f"{what}: answered {outcome.answer()} but kept the connection open "
        f"{CLOSE_TIMEOUT:g} s later"
    )


def _statuses(statuses: tuple[int, ...]) -> str:
    if len(statuses) > 3:
        return f"a {statuses[0] // 100}xx response"
    return " or ".join(str(s) for s in statuses)


CLIENT_ERRORS = tuple(range(400, 500))
