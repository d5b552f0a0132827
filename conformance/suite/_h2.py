"""Shared judgements of the HTTP/2 cases (the h2spec port, the ASGI-over-h2 cases and the
h2 denial-of-service family): what "a connection error", "a stream error" and "ignored"
mean, within a bound. One policy for every h2 case, so a server gets the same verdict for
the same reaction whichever case provoked it.

A **connection error** of type X (RFC 9113 §5.4.1):

* GOAWAY with X passes;
* GOAWAY with a generic code (PROTOCOL_ERROR, INTERNAL_ERROR) where X is more specific is
  *non-strict*: §5.4 says "a generic error code ... can always be used in place of more
  specific error codes" (h2spec wants X);
* the connection closed without a GOAWAY is *non-strict*: §5.4.1 says the endpoint "SHOULD
  first send a GOAWAY frame" (h2spec passes a bare close);
* GOAWAY with any other code, or nothing within the bound, is a *fail*.

A **stream error** of type X (§5.4.2):

* RST_STREAM with X on that stream passes; with a generic code, *non-strict* (§5.4);
* a connection error instead (GOAWAY with X or a generic code, or a close) is *non-strict*:
  §5.4.1 lets an endpoint "treat a stream error as a connection error", but every other
  stream on the connection is lost for one bad stream (what hypercorn #364 reported for
  malformed request headers); h2spec passes it;
* for a malformed request (§8.1.1, ``malformed=True``) a 4xx that ends the stream without a
  reset is *non-strict* ("a server MAY send an HTTP response prior to closing or resetting
  the stream"), and a 2xx or 3xx is a *fail*: the malformed request was served;
* any other code, or nothing within the bound, is a *fail*.

A frame the server must **ignore** leaves the connection usable: a PING gets its ACK.

The bound is short (:data:`ERROR_BOUND`): a server that reacts does so at once.
"""

from __future__ import annotations

from collections.abc import Iterable

from conformance.probe import Probe
from conformance.rawh2 import ErrorCode, ErrorSeen, H2Connection, H2Response, error_name
from conformance.verdicts import non_strict

ERROR_BOUND = 1.0
"""Seconds a server gets to react to a protocol error (h2spec's default is 2 s per case;
every server we run reacts within milliseconds)."""

SLOW_RESPONSE = 1.5
"""Seconds the probe app waits before answering a :func:`slow_answer` request, so the stream
a case targets is still open (or half-closed (remote)) on the server when the offending
frame arrives, whatever the server's speed."""

GENERIC_CODES = (ErrorCode.PROTOCOL_ERROR, ErrorCode.INTERNAL_ERROR)
GENERIC_CODE_RULE = ('RFC 9113 §5.4: "a generic error code (such as PROTOCOL_ERROR or '
                     'INTERNAL_ERROR) can always be used in place of more specific error codes"')
GOAWAY_RULE = ('RFC 9113 §5.4.1: an endpoint that encounters a connection error "SHOULD '
               'first send a GOAWAY frame"')


def _codes(codes: int | Iterable[int]) -> tuple[int, ...]:
    return (codes,) if isinstance(codes, int) else tuple(codes)


def _names(codes: tuple[int, ...]) -> str:
    return " or ".join(error_name(c) for c in codes)


def judge_code(seen: ErrorSeen, codes: int | Iterable[int], *, what: str, kind: str) -> None:
    """The code of a GOAWAY or RST_STREAM against the wanted ones: one of them passes, a
    generic code in place of a specific one is non-strict (§5.4), another code fails."""
    wanted = _codes(codes)
    if seen.code in wanted:
        return
    if seen.code in GENERIC_CODES:
        non_strict(f"after {what}, the server sent {seen.describe()} where a {kind} of type "
                   f"{_names(wanted)} is asked for: {GENERIC_CODE_RULE}")
    raise AssertionError(f"after {what}, the server sent {seen.describe()} where a {kind} of "
                         f"type {_names(wanted)} is required")


def closed_without_goaway(seen: ErrorSeen, what: str) -> None:
    """A connection error ended by a bare close: permitted, not what §5.4.1 asks."""
    if seen.kind == "closed":
        non_strict(f"after {what}, the server closed the connection without a GOAWAY: "
                   f"{GOAWAY_RULE}")


def expect_connection_error(conn: H2Connection, codes: int | Iterable[int], *,
                            what: str, timeout: float = ERROR_BOUND) -> ErrorSeen:
    """A connection error of one of ``codes`` after ``what`` we sent (see the module
    docstring for the policy); returns what was seen when it passes."""
    wanted = _codes(codes)
    seen = conn.connection_error(timeout=timeout)
    if seen.kind == "goaway":
        judge_code(seen, wanted, what=what, kind="connection error")
        return seen
    closed_without_goaway(seen, what)
    raise AssertionError(f"after {what}, expected a connection error ({_names(wanted)}), "
                         f"got {seen.describe()} within {timeout:g} s")


def expect_stream_error(conn: H2Connection, stream_id: int, codes: int | Iterable[int], *,
                        what: str, malformed: bool = False, timeout: float = ERROR_BOUND,
                        connection_code: int | None = None) -> ErrorSeen:
    """A stream error of one of ``codes`` on ``stream_id`` after ``what`` (see the module
    docstring; ``malformed`` for a malformed request, §8.1.1). ``connection_code``: a
    connection error with this code satisfies the RFC just as well (two rules apply to
    the frame, one asking for each; see the caller)."""
    wanted = _codes(codes)
    seen = conn.stream_error(stream_id, timeout=timeout)
    if seen.kind == "rst_stream":
        judge_code(seen, wanted, what=what, kind="stream error")
        return seen
    if seen.kind == "goaway" and connection_code is not None and seen.code == connection_code:
        return seen
    if seen.kind == "closed" or (seen.kind == "goaway" and seen.code in (
            *wanted, *GENERIC_CODES)):
        how = "closed the connection" if seen.kind == "closed" else f"sent {seen.describe()}"
        report = (" (a malformed request ending the whole connection is what hypercorn #364 "
                  "reported)") if malformed else ""
        non_strict(f"after {what}, the server {how} where RFC 9113 asks for a stream error "
                   f"({_names(wanted)}): §5.4.1 lets an endpoint \"treat a stream error as a "
                   "connection error\", so this is permitted, but every other stream on the "
                   f"connection is lost for one bad stream{report}; h2spec passes it")
    if seen.kind == "goaway":
        raise AssertionError(f"after {what}, the server answered {seen.describe()} where a "
                             f"stream error of type {_names(wanted)} is required")
    if malformed:
        _judge_malformed_answer(conn, stream_id, seen, what)
    raise AssertionError(f"after {what}, expected a stream error ({_names(wanted)}) on "
                         f"stream {stream_id}, got {seen.describe()} within {timeout:g} s")


def _judge_malformed_answer(conn: H2Connection, stream_id: int, seen: ErrorSeen,
                            what: str) -> None:
    response = conn.response(stream_id)
    status = response.status
    if status is None:
        return
    if status >= 400 and response.ended:
        non_strict(f"after {what}, the server answered {status} and ended stream "
                   f"{stream_id} without RST_STREAM: RFC 9113 §8.1.1 lets a server "
                   "\"send an HTTP response prior to closing or resetting the stream\", "
                   "but the malformed request \"MUST be treated as a stream error of type "
                   "PROTOCOL_ERROR\" (h2spec fails this)")
    if status < 400:
        raise AssertionError(f"after {what}, the server served the malformed request with "
                             f"{status} instead of a stream error of type PROTOCOL_ERROR "
                             f"(RFC 9113 §8.1.1); {seen.describe()}")


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


def probe_request(h2probe: Probe, conn: H2Connection, method: str = "GET",
                  path: str = "/", *, scenario: str = "echo",
                  args: dict[str, object] | None = None,
                  headers: Iterable[tuple[bytes | str, bytes | str]] = (),
                  body: bytes = b"", end_stream: bool = True,
                  probe_id: str | None = None) -> int:
    """Open a stream to the probe app running ``scenario`` (recorded under ``probe_id``,
    the probe's own by default): HEADERS, then ``body`` in one DATA frame; ``end_stream``
    False leaves the request open. Returns the stream id."""
    probe_fields = h2probe.probe_headers(scenario, args, probe_id=probe_id)
    return conn.request(method, path, headers=[*probe_fields, *headers], body=body,
                        end_stream=end_stream)


def slow_answer(probe: Probe) -> list[tuple[bytes, bytes]]:
    """Probe headers for a request the app answers only after :data:`SLOW_RESPONSE`."""
    steps = [["sleep", SLOW_RESPONSE],
             ["send", {"type": "http.response.start", "status": 200, "headers": []}],
             ["send", {"type": "http.response.body", "body": b"slow", "more_body": False}]]
    return probe.probe_headers("script", {"steps": steps})
