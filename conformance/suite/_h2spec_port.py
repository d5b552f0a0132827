"""What the h2spec port of RFC 9113 §6, §8 and RFC 7541 shares: the case table shape, the
requests h2spec sends, and the three judgements its verifiers make, with RFC 9113's
levels applied.

h2spec's verdicts are pass or fail; ours have a third answer, *non-strict*, for what RFC
9113 permits but does not ask for. The connection- and stream-error policy every h2 case
shares is :mod:`conformance.suite._h2`'s; the places it makes non-strict:

* a **connection error** ended by a bare close instead of a GOAWAY: RFC 9113 §5.4.1 says
  an endpoint "SHOULD first send a GOAWAY frame", so the close is allowed (h2spec passes
  it) but said so (:func:`~conformance.suite._h2.closed_without_goaway`);
* a **stream error** answered with a connection error (GOAWAY with the right code, or a
  close): h2spec's ``VerifyStreamError`` passes it, since §5.4.1 says "an endpoint MAY
  choose to treat a stream error as a connection error". It is not a fail, but it is not
  what the sentence asks either: every other stream on the connection is lost for one bad
  request (hypercorn #364 was this for malformed request headers). *Non-strict*, with the
  reason;
* a frame-format error that RFC 9113 makes a **connection error** but h2spec checks with
  ``VerifyStreamError`` (HEADERS padding, RST_STREAM length): a RST_STREAM with the
  right code is what h2spec accepts and less than the RFC asks, so *non-strict* too.

Every connection is made with ``auto_window=False``, as h2spec's client, which never sends
WINDOW_UPDATE by itself: a WINDOW_UPDATE of ours that reaches a server after it has closed
makes the server's kernel reset the connection, and the reset can discard the GOAWAY we
have not read yet (a pass turning into a "closed without GOAWAY" by timing).

A malformed request (§8.1.1) may be answered before the stream is reset ("a server MAY
send an HTTP response prior to closing or resetting the stream"): a 4xx that ends the
stream without RST_STREAM is *non-strict*; a 2xx/3xx means the malformed request was
served, a *fail*.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import pytest
from _pytest.mark.structures import MarkDecorator, ParameterSet
from hyperframe.frame import DataFrame, SettingsFrame

from conformance.h2probe import H2Probe
from conformance.rawh2 import (
    FrameType,
    H2Connection,
    error_name,
    settings_payload,
)
from conformance.suite._h2 import ERROR_BOUND, closed_without_goaway, judge_code, slow_answer
from conformance.verdicts import NoResponse, non_strict

Sender = Callable[[H2Connection, H2Probe], int | None]
"""What a table case sends after the handshake; returns the stream it judges, if any."""

DUMMY_VALUE = "x" * 4000
"""h2spec's dummy header value (its default ``--max-header-length``, 4000 octets)."""

@dataclass(frozen=True)
class Case:
    """One ported h2spec case: its id (``http2/6.5.3/2``), h2spec's description, the
    requirement it judges, what it sends and the error codes that answer it."""

    id: str
    desc: str
    requirement: MarkDecorator
    send: Sender
    codes: tuple[int, ...] = ()
    timing: str | None = None

    @property
    def what(self) -> str:
        """The case in a failure message: h2spec's description and id."""
        return f"{self.id} (\"{self.desc}\")"


def params(cases: Iterable[Case]) -> list[ParameterSet]:
    """The table as pytest params: h2spec's id as the param id, the requirement (and a
    timing mark where the verdict depends on timing) as marks."""
    out = []
    for case in cases:
        marks = [case.requirement]
        if case.timing:
            marks.append(pytest.mark.timing_dependent(case.timing))
        out.append(pytest.param(case, id=case.id, marks=marks))
    return out


# --- what h2spec sends ------------------------------------------------------------------


def common_headers(conn: H2Connection, method: str = "GET", *, path: str = "/",
                   extra: Iterable[tuple[str | bytes, str | bytes]] = (),
                   ) -> list[tuple[bytes, bytes]]:
    """h2spec's ``CommonHeaders`` (:method, :scheme, :path, :authority), then ``extra``."""
    return conn.request_headers(method, path, headers=extra)


def open_stream(conn: H2Connection, method: str = "GET", *, end_stream: bool = True,
                end_headers: bool = True,
                extra: Iterable[tuple[str | bytes, str | bytes]] = ()) -> int:
    """A new stream opened with h2spec's common request headers."""
    sid = conn.new_stream()
    conn.send_headers(sid, common_headers(conn, method, extra=extra),
                      end_stream=end_stream, end_headers=end_headers)
    return sid


def open_slow_stream(conn: H2Connection, h2probe: H2Probe, method: str = "GET", *,
                     end_stream: bool = True) -> int:
    """A new stream to the probe app, which answers only after
    :data:`~conformance.suite._h2.SLOW_RESPONSE` seconds: until then the stream stays open
    (or half-closed (remote)) on the server, so the state a case targets does not depend on
    timing."""
    return open_stream(conn, method, end_stream=end_stream,
                       extra=slow_answer(h2probe))


def dummy_block(conn: H2Connection) -> bytes:
    """h2spec's ``DummyHeaders(c, 1)``: one ``x-dummy0`` field of 4000 octets."""
    return conn.encode([("x-dummy0", DUMMY_VALUE)])


def send_settings_list(conn: H2Connection, settings: Sequence[tuple[int, int]]) -> None:
    """A SETTINGS frame with the values in this order, repeats included (a dict cannot
    say "INITIAL_WINDOW_SIZE=100 then =1")."""
    conn.send_raw(FrameType.SETTINGS, 0, 0, settings_payload(settings))


def settle(conn: H2Connection, settings: Sequence[tuple[int, int]], *, what: str) -> None:
    """Send ``settings`` and wait for their ACK (h2spec: ``VerifyEventType(SETTINGS)``);
    no ACK in time is a fail (RFC 9113 §6.5.3: "MUST immediately emit a SETTINGS frame
    with the ACK flag set")."""
    send_settings_list(conn, settings)
    try:
        conn.frames_until(lambda f: isinstance(f, SettingsFrame) and "ACK" in f.flags,
                          ERROR_BOUND, "SETTINGS ACK")
    except NoResponse as exc:
        raise AssertionError(f"{what}: the server did not acknowledge our SETTINGS "
                             f"(RFC 9113 §6.5.3): {exc}") from None


def flow_controlled(conn: H2Connection, stream_id: int, start: int = 0) -> list[int]:
    """Flow-controlled sizes of the non-empty DATA frames on ``stream_id`` among the
    frames read since ``conn.received[start]``."""
    return [f.flow_controlled_length for f in conn.received[start:]
            if isinstance(f, DataFrame) and f.stream_id == stream_id
            and f.flow_controlled_length]


def first_data(conn: H2Connection, stream_id: int, start: int,
               timeout: float = ERROR_BOUND) -> int | None:
    """The flow-controlled size of the first non-empty DATA frame on ``stream_id`` read
    after ``conn.received[start]``; None when none comes in time (or the peer closed)."""
    def seen() -> int | None:
        sizes = flow_controlled(conn, stream_id, start)
        return sizes[0] if sizes else None

    if seen() is None:
        try:
            conn.frames_until(lambda f: seen() is not None, timeout, "DATA")
        except NoResponse:
            return None
    return seen()


# --- judgements ---------------------------------------------------------------------------


def connection_error_not_reset(conn: H2Connection, stream_id: int, codes: Sequence[int], *,
                               what: str, rfc: str) -> None:
    """Where RFC 9113 asks for a connection error but h2spec's verifier also accepts a
    RST_STREAM: the connection error is judged as :func:`~conformance.suite._h2.
    expect_connection_error` does, a RST_STREAM with the right code is non-strict (less
    than ``rfc`` asks, what h2spec accepts)."""
    seen = conn.stream_error(stream_id, timeout=ERROR_BOUND)
    names = " or ".join(error_name(c) for c in codes)
    if seen.kind == "rst_stream" and seen.code in codes:
        non_strict(f"after {what}, the server reset only the stream ({seen.describe()}): "
                   f"{rfc} makes this a connection error of type {names}; h2spec accepts a "
                   "stream error")
    if seen.kind == "goaway":
        judge_code(seen, codes, what=what, kind="connection error")
        return
    closed_without_goaway(seen, what)
    raise AssertionError(f"after {what}, expected a connection error ({names}), got "
                         f"{seen.describe()} within {ERROR_BOUND:g} s")
