"""Robustness any server can be judged on: a request head that never completes, a huge
Content-Length with no body, a client that never reads a large response, and many
connections at once.

These are slow by nature, so each keeps its waits short and bounded and runs its
connections side by side. Three of them are project requirements (HTTP-101..103 in the
catalogue: no ASGI or RFC sentence makes them a MUST), judged SHOULD, so a server that
falls short is non-strict with the evidence; the huge Content-Length case is HTTP-048.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from conformance.rawhttp import RawConnection
from conformance.suite._dedicated import (
    Dedicated,
    echoed_scope,
    option_args,
    suite_spec,
    wait_app,
)
from conformance.verdicts import NoResponse, not_applicable

req = pytest.mark.requirement

HEAD_TIMEOUT = 1.0
"""The request-head timeout the harness sets on servers whose option it knows."""
HEAD_BOUND_CONFIGURED = HEAD_TIMEOUT + 1.5
HEAD_BOUND_DEFAULT = 3.0
"""How long a server with its default configuration gets to close an incomplete head."""


# --- an incomplete request head (HTTP-101) ----------------------------------------------------


@pytest.fixture(scope="module")
def head_timeout_server(request: pytest.FixtureRequest,
                        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dedicated | None]:
    """The server with a 1 s request-head timeout when the harness knows its option, else
    None (the shared server, with its defaults, is used)."""
    spec = suite_spec(request.config)
    args = option_args(spec, "head_timeout", value=str(HEAD_TIMEOUT))
    if args is None:
        yield None
        return
    dedicated = Dedicated(spec, "fixtures.probe:app", tmp_path_factory.mktemp("head-timeout"),
                          args=args)
    if not dedicated.start():
        yield None
        return
    yield dedicated
    dedicated.stop()


@req("HTTP-101")
def test_incomplete_head_is_closed(probe, head_timeout_server):
    """Two clients start a request head and never finish it: one goes silent, the other
    trickles a header byte every 0.25 s (slow loris). The server closes both connections
    within its head timeout (set to 1 s where the harness knows the option; otherwise the
    server's default, given 3 s). Timeouts are configuration, hence SHOULD."""
    if head_timeout_server is not None:
        host, port = head_timeout_server.host, head_timeout_server.port
        bound = HEAD_BOUND_CONFIGURED
        setting = f"configured with {' '.join(head_timeout_server.args)}"
    else:
        host, port, bound = probe.host, probe.port, HEAD_BOUND_DEFAULT
        setting = "default configuration (the harness knows no head-timeout option)"
    partial = (b"GET / HTTP/1.1\r\nHost: " + f"{host}:{port}".encode() + b"\r\n"
               + b"x-probe-id: " + probe.id.encode() + b"\r\nX-Slow: ")
    idle = RawConnection(host, port, timeout=1.0)
    slow = RawConnection(host, port, timeout=1.0)
    probe.connections += [idle, slow]
    idle.send(partial)
    slow.send(partial)
    started = time.monotonic()
    closed: dict[str, float] = {}
    while time.monotonic() - started < bound and len(closed) < 2:
        for name, conn in (("idle", idle), ("trickling", slow)):
            if name not in closed and conn.wait_closed(0.01):
                closed[name] = time.monotonic() - started
        if "trickling" not in closed:
            slow.send(b"a")
        time.sleep(0.23)
    summary = ", ".join(f"{k} closed after {v:.2f} s" for k, v in closed.items()) or "none"
    assert len(closed) == 2, (
        f"after {bound:g} s ({setting}), connections with an incomplete head closed: "
        f"{summary}")
    assert not probe.records(), "the app was called for an incomplete request head"


# --- a huge Content-Length and no body (HTTP-048) ---------------------------------------------


def _final_request(event) -> bool:
    return (isinstance(event, dict) and event.get("type") == "http.request"
            and not event.get("more_body", False))


@req("HTTP-048")
def test_huge_content_length_then_client_leaves(probe):
    """A POST declaring 10^12 body bytes sends none and the client leaves: the app (if the
    server called it at all, rather than rejecting the length, e.g. 413) sees
    http.disconnect within 1 s and never a final http.request passing off the missing
    body as complete. A server that never calls the app leaves nothing to judge: n/a."""
    conn = probe.connect()
    conn.send(probe.request("POST", "/", scenario="wait_disconnect", content_length=False,
                            args={"respond": False, "timeout": 3.0},
                            headers=[("Content-Length", str(10**12))]))
    called, _ = probe.log.wait(probe.id, lambda recs: any(r.kind == "call" for r in recs), 0.5)
    answered = conn.wait_closed(0.05) or bool(conn.unread())
    conn.close()
    if not called:
        time.sleep(0.2)
        events = [r.data["event"] for r in probe.records() if r.kind == "receive"]
        assert not any(_final_request(e) for e in events), (
            f"a final http.request for a body never sent: {events!r}")
        not_applicable("the app was not called ("
                       + ("the server answered or closed: " + repr(conn.unread()[:100])
                          if answered else "the server waits for the body first")
                       + "), so what the app is given cannot be judged")
    call = probe.wait_for("the app received http.disconnect within 1 s of the client leaving",
                          lambda c: any(isinstance(e, dict) and e.get("type") ==
                                        "http.disconnect" for e in c.received), 1.0)
    finals = [e for e in call.received if _final_request(e)]
    assert not finals, f"the app got a final http.request for a body never sent: {finals!r}"


# --- a client that never reads (HTTP-102) -------------------------------------------------------

FLOOD_CHUNKS = 48
FLOOD_SIZE = 1024 * 1024
FLOOD_LIMIT = 24
"""Chunks (MiB) whose send() may complete while the client reads nothing: far above what
kernel socket buffers on loopback take, far below the whole response."""


@req("HTTP-102")
def test_send_waits_for_a_client_that_does_not_read(probe):
    """The app sends a 48 MiB response in 1 MiB chunks to a client that reads nothing:
    send() blocks once the socket buffers are full, instead of the server buffering the
    whole response in memory (at most 24 of the chunks may be accepted)."""
    conn = probe.connect()
    conn.send(probe.request("GET", "/", scenario="script", args={"steps": [
        ["receive_body"], ["send", {"type": "http.response.start", "status": 200,
                                    "headers": [(b"content-type", b"application/octet-stream")]}],
        ["flood", FLOOD_CHUNKS, FLOOD_SIZE]]}))

    def sent() -> int:
        return sum(r.kind == "flood" and r.data.get("ok") for r in probe.records())

    wait_app(probe, conn, "the app started its response", lambda call: bool(call.sends))
    deadline = time.monotonic() + 2.0
    count, stable_since = sent(), time.monotonic()
    while time.monotonic() < deadline and count < FLOOD_LIMIT:
        time.sleep(0.05)
        now = sent()
        if now != count:
            count, stable_since = now, time.monotonic()
        elif count and time.monotonic() - stable_since >= 0.3:
            break
    conn.abort()  # the client leaves without reading; the app's sends end
    probe.notes.append(f"send() returned for {count} of {FLOOD_CHUNKS} MiB chunks")
    assert count > 0, "the app's first body chunk was never accepted"
    assert count < FLOOD_LIMIT, (
        f"send() returned for {count} of the {FLOOD_CHUNKS} 1 MiB chunks while the client "
        "read nothing: the server buffers the response in memory")


# --- many connections at once (HTTP-103) ----------------------------------------------------------

CONNECTIONS = 200
ROUNDS = 2


@req("HTTP-103")
def test_many_concurrent_keep_alive_connections(probe):
    """200 keep-alive connections are open at once, each sends a request, then a second
    one on the same connection: every request gets a 200 answering it (the probe echoes
    the request's own id). Loopback only, bounded to a few seconds."""
    conns: list[RawConnection] = []
    failures: list[str] = []
    started = time.monotonic()
    try:
        for _ in range(CONNECTIONS):
            conns.append(RawConnection(probe.host, probe.port, timeout=5.0))
        for round_ in range(ROUNDS):
            ids = [f"{probe.id}.{index}.{round_}" for index in range(len(conns))]
            for conn, probe_id in zip(conns, ids, strict=True):
                conn.send(probe.request("GET", f"/c{round_}", probe_id=probe_id))
            for index, (conn, probe_id) in enumerate(zip(conns, ids, strict=True)):
                remaining = max(0.1, started + 8.0 - time.monotonic())
                try:
                    response = conn.read_response("GET", remaining)
                except NoResponse as exc:
                    failures.append(f"connection {index} round {round_}: {exc}")
                    continue
                if response.status != 200:
                    failures.append(f"connection {index} round {round_}: {response.status}")
                    continue
                try:
                    scope = echoed_scope(response)
                except AssertionError as exc:
                    failures.append(f"connection {index} round {round_}: {exc}")
                    continue
                got = [v for k, v in scope.get("headers", []) if k == b"x-probe-id"]
                if got != [probe_id.encode()]:
                    failures.append(f"connection {index} round {round_}: answered {got}")
    finally:
        for conn in conns:
            conn.close()
    elapsed = time.monotonic() - started
    probe.notes.append(f"{len(conns)} connections, {ROUNDS} rounds in {elapsed:.2f} s")
    assert not failures, (f"{len(failures)} of {CONNECTIONS * ROUNDS} requests failed; first: "
                          + "; ".join(failures[:5]))
