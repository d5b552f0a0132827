"""Shared judgements of the HTTP/2 cases (the h2spec port, the ASGI-over-h2 cases and the
h2 denial-of-service family): what "a connection error", "a stream error" and "ignored"
mean, as h2spec's verifiers define them, within a bound.

h2spec's rules, which the port keeps:

* a **connection error** of type X (RFC 9113 §5.4.1) is a GOAWAY with X, or the
  connection closed (h2spec's ``VerifyConnectionError`` accepts a close, since a server
  may close without a GOAWAY after a fatal error: §5.4.1 "SHOULD send a GOAWAY");
* a **stream error** of type X (§5.4.2) is a RST_STREAM with X on that stream, or a
  connection error of type X (§5.4.1 lets an endpoint treat a stream error as a
  connection error: "An endpoint can end a connection at any time");
* a frame the server must **ignore** leaves the connection usable: a PING gets its ACK.

A wrong error code where the RFC names one is a *fail* where the sentence says MUST;
nothing within the bound is a *fail* too (the server ignored what it must treat as an
error). The bound is short (:data:`ERROR_BOUND`): a server that reacts does so at once.
"""

from __future__ import annotations

from collections.abc import Iterable

from conformance.h2probe import H2Probe
from conformance.rawh2 import ErrorSeen, H2Connection, H2Response, error_name
from conformance.verdicts import non_strict

ERROR_BOUND = 1.0
"""Seconds a server gets to react to a protocol error (h2spec's default is 2 s per case;
every server we run reacts within milliseconds)."""


def _codes(codes: int | Iterable[int]) -> tuple[int, ...]:
    return (codes,) if isinstance(codes, int) else tuple(codes)


def _names(codes: tuple[int, ...]) -> str:
    return " or ".join(error_name(c) for c in codes)


def expect_connection_error(conn: H2Connection, codes: int | Iterable[int], *,
                            what: str, timeout: float = ERROR_BOUND) -> ErrorSeen:
    """Pass when the server ends the connection with one of ``codes`` (or closes it);
    fail otherwise, naming ``what`` we sent."""
    wanted = _codes(codes)
    seen = conn.connection_error(timeout=timeout)
    if seen.kind == "closed" or (seen.kind == "goaway" and seen.code in wanted):
        return seen
    if seen.kind == "goaway":
        raise AssertionError(f"after {what}, the server sent GOAWAY {error_name(seen.code or 0)}"
                             f" where a connection error of type {_names(wanted)} is "
                             f"required ({seen.describe()})")
    raise AssertionError(f"after {what}, expected a connection error ({_names(wanted)}), "
                         f"got {seen.describe()} within {timeout:g} s")


def expect_stream_error(conn: H2Connection, stream_id: int, codes: int | Iterable[int], *,
                        what: str, timeout: float = ERROR_BOUND) -> ErrorSeen:
    """Pass when the server resets ``stream_id`` with one of ``codes``, or ends the
    connection with one of them (or closes it)."""
    wanted = _codes(codes)
    seen = conn.stream_error(stream_id, timeout=timeout)
    if seen.kind == "closed" or (seen.kind in ("goaway", "rst_stream") and seen.code in wanted):
        return seen
    if seen.kind in ("goaway", "rst_stream"):
        raise AssertionError(f"after {what}, the server answered {seen.describe()} where a "
                             f"stream error of type {_names(wanted)} is required")
    raise AssertionError(f"after {what}, expected a stream error ({_names(wanted)}) on "
                         f"stream {stream_id}, got {seen.describe()} within {timeout:g} s")


def expect_usable(conn: H2Connection, *, what: str, timeout: float = ERROR_BOUND) -> None:
    """The connection still works after ``what`` (a PING is answered)."""
    if not conn.ping_roundtrip(timeout=timeout):
        closed = conn.peer_closed
        goaway = f"GOAWAY {error_name(conn.goaway.error_code)}" if conn.goaway else None
        reason = goaway or (f"the connection {closed}" if closed else "no PING ACK")
        raise AssertionError(f"after {what}, which the server must ignore or accept, "
                             f"{reason} (within {timeout:g} s)")


def expect_response(conn: H2Connection, stream_id: int, *, what: str,
                    timeout: float = 2.0) -> H2Response:
    """A complete response on ``stream_id``; its status, whatever it is."""
    response = conn.read_stream(stream_id, timeout=timeout)
    if response.reset is not None:
        raise AssertionError(f"after {what}, the server reset stream {stream_id} "
                             f"({error_name(response.reset)}) instead of answering")
    assert response.status is not None, f"after {what}, a response without :status"
    return response


def closed_without_goaway(seen: ErrorSeen, rfc: str) -> None:
    """A connection error ended by a bare close: permitted (the GOAWAY is a SHOULD), but
    said so."""
    if seen.kind == "closed":
        non_strict(f"the server closed the connection without a GOAWAY: {rfc}")


def probe_request(h2probe: H2Probe, conn: H2Connection, method: str = "GET",
                  path: str = "/", *, scenario: str = "echo",
                  args: dict[str, object] | None = None,
                  headers: Iterable[tuple[bytes | str, bytes | str]] = (),
                  body: bytes = b"", end_stream: bool | None = None) -> int:
    """Open a stream to the probe app running ``scenario``; returns the stream id."""
    sid = conn.new_stream()
    fields = conn.request_headers(method, path,
                                  headers=[*h2probe.probe_headers(scenario, args), *headers])
    end = not body if end_stream is None else end_stream
    conn.send_headers(sid, fields, end_stream=end and not body)
    if body:
        conn.send_data(sid, body, end_stream=end)
    return sid
