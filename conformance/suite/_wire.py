"""Shared helpers of the HTTP/1.1 wire cases (``test_wire_*.py``): exact request heads,
chunked bodies, pipelined follow-up requests with their own probe ids, and the checks
"refused and closed" / "served, then the next request served" that most cases end with.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from conformance.probe import Probe, Record
from conformance.rawhttp import RawConnection, Response
from conformance.verdicts import NoResponse

CLOSE_BOUND = 0.5
"""How long a server gets to close a connection it must close (it has already answered)."""
LATE_CALL_GRACE = 0.05
"""How long to wait for a call record of a request that must never reach the app."""


# --- building requests ----------------------------------------------------------------------


def b(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("latin-1")


def head(probe: Probe, *lines: str | bytes, method: str = "POST", target: str = "/",
         pid: str | None = None, scenario: str = "read_body", version: str = "HTTP/1.1",
         args: dict[str, Any] | None = None) -> bytes:
    """A request head with the probe headers and then ``lines`` written exactly as given
    (so a case controls spacing, case, order and repetition of framing fields)."""
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
