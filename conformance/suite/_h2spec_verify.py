"""h2spec's verifiers (``spec/verifier.go``), judged by RFC 9113, and the shape of a ported
h2spec case.

h2spec ends each case with one verifier; the port keeps each one's acceptance set and its
bound, and adds what RFC 9113 changed since RFC 7540 (which h2spec was written against):

``connection_error``  GOAWAY with one of the codes, or the connection closed (h2spec's
                      ``VerifyConnectionError``).
``stream_error``      RST_STREAM with one of the codes, a GOAWAY with one, or a close
                      (``VerifyStreamError``).
``connection_close``  the TCP connection closes (``VerifyConnectionClose``).
``stream_close``      the stream ends: END_STREAM, or RST_STREAM NO_ERROR
                      (``VerifyStreamClose``).
``headers``           the first HEADERS frame the server sends is on the stream
                      (``VerifyHeadersFrame``: the request was answered).
``ping_ack``          a PING ACK with our payload (``VerifyPingFrameWithAck``; also used
                      where h2spec accepts any PING, ``VerifyEventType(PING)``, since only
                      the ACK shows that our PING, sent after the frame under test, was
                      read).
``ping_or_close``     a PING ACK, or the connection closed
                      (``VerifyPingFrameOrConnectionClose``).

Two departures from h2spec, both from RFC 9113:

* §5.4: "an endpoint MAY use any applicable error code when it detects an error condition;
  a generic error code (such as PROTOCOL_ERROR or INTERNAL_ERROR) can always be used in place
  of more specific error codes". Where h2spec wants a specific code (STREAM_CLOSED,
  FRAME_SIZE_ERROR, COMPRESSION_ERROR) and the server sends a generic one, the case is
  *non-strict*, not *fail*.
* h2spec's ``VerifyConnectionError`` keeps reading after a GOAWAY with a wrong code and
  passes once the connection closes; here a wrong code is judged as sent.

Each ported case is a :class:`H2SpecCase`: the h2spec id (``http2/5.1/3``, the pytest id),
h2spec's description, the requirement it judges and, where RFC 9113 changed h2spec's rule,
what changed (:attr:`H2SpecCase.rfc9113`). A module of h2spec cases exposes
``H2SPEC_CASES`` (id to description) and ``H2SPEC_SECTIONS`` (section id to title), which
the h2spec-shaped JUnit writer (:mod:`conformance.report.h2spec_junit`) reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from hyperframe.frame import (
    DataFrame,
    Frame,
    HeadersFrame,
    PingFrame,
    RstStreamFrame,
    SettingsFrame,
)

from conformance.h2probe import H2Probe
from conformance.rawh2 import (
    DEFAULT_WINDOW,
    ErrorCode,
    H2Connection,
    Setting,
    describe,
)
from conformance.suite._h2 import ERROR_BOUND, slow_answer
from conformance.verdicts import NoResponse

RESPONSE_BOUND = 2.0
"""h2spec's default timeout (``-o 2``): the bound for a response to arrive."""

DUMMY_LENGTH = 4000
"""h2spec's ``--max-header-length`` default: the length of its dummy header values."""
PING_DATA = b"\x00" * 8
"""h2spec's PING payload (``[8]byte{}``)."""


@dataclass(frozen=True)
class H2SpecCase:
    """One h2spec case as ported: its id, description, requirement and 9113 note."""

    id: str
    """h2spec's id, ``<spec>/<section>/<n>``."""
    description: str
    requirement: str
    rfc9113: str = ""
    """What RFC 9113 changed in the rule h2spec checks (empty: nothing)."""
    relaxed: bool = False
    """RFC 9113 relaxed h2spec's rule to a MAY or dropped it: not doing what h2spec
    expects is *non-strict*, for the reason :attr:`rfc9113` gives."""
    timing: str = ""
    """Why the verdict may depend on timing (the ``timing_dependent`` mark)."""

    @property
    def section(self) -> str:
        return self.id.rsplit("/", 1)[0]

    def param(self, *values: Any) -> Any:
        """The case as a ``pytest.param`` with its id and marks."""
        marks = [pytest.mark.requirement(self.requirement)]
        if self.timing:
            marks.append(pytest.mark.timing_dependent(self.timing))
        return pytest.param(self, *values, id=self.id, marks=marks)


def params(cases: Iterable[H2SpecCase]) -> list[Any]:
    return [case.param() for case in cases]


def descriptions(*tables: Iterable[H2SpecCase]) -> dict[str, str]:
    """``H2SPEC_CASES`` of a module: id to description, over all its tables."""
    return {case.id: case.description for table in tables for case in table}


# --- requests ----------------------------------------------------------------------------


def common_headers(h2probe: H2Probe, conn: H2Connection, method: str = "GET",
                   extra: Sequence[tuple[bytes, bytes]] = ()) -> list[tuple[bytes, bytes]]:
    """h2spec's ``CommonHeaders`` (method, scheme, path ``/``, authority) plus the probe's
    headers, so the probe app answers (echo) and records the request."""
    return conn.request_headers(method, "/", headers=[*h2probe.probe_headers(), *extra])


def dummy_headers(count: int, length: int = DUMMY_LENGTH) -> list[tuple[bytes, bytes]]:
    """h2spec's ``DummyHeaders``: ``x-dummy<i>`` fields of ``length`` x's."""
    return [(f"x-dummy{i}".encode(), b"x" * length) for i in range(count)]


def send_request(h2probe: H2Probe, conn: H2Connection, stream_id: int = 1, *,
                 method: str = "GET", end_stream: bool = True, slow: bool = False) -> bytes:
    """HEADERS with the common request on ``stream_id``; returns the block sent. With
    ``slow`` the app answers only after a while (:func:`~conformance.suite._h2.
    slow_answer`), so the stream stays half-closed (remote) while the case acts on it."""
    if slow:
        fields = conn.request_headers(method, "/", headers=slow_answer(h2probe))
    else:
        fields = common_headers(h2probe, conn, method)
    block = conn.encode(fields)
    conn.send_headers(stream_id, block, end_stream=end_stream)
    return block


# --- verifiers ---------------------------------------------------------------------------


def server_preface_first(h2probe: H2Probe) -> None:
    """The first frame after our preface (with SETTINGS_INITIAL_WINDOW_SIZE, as h2spec
    sends it) is the server's SETTINGS, not an ACK: its connection preface."""
    conn = h2probe.connect_h2(handshake=False)
    conn.send_preface({Setting.INITIAL_WINDOW_SIZE: DEFAULT_WINDOW})
    frame = conn.next_frame(RESPONSE_BOUND)
    assert isinstance(frame, SettingsFrame) and "ACK" not in frame.flags, (
        "the server's first frame is "
        + (describe(frame) if frame is not None else "none: it closed the connection")
        + ", not a SETTINGS frame")


def connection_close(conn: H2Connection, *, what: str,
                     timeout: float = RESPONSE_BOUND) -> None:
    """h2spec's ``VerifyConnectionClose``: the server closes the connection in time (what
    it sends before, a GOAWAY or an HTTP/1.1 error response, does not matter)."""
    if not conn.wait_closed(timeout):
        raise AssertionError(f"after {what}, the connection stayed open for {timeout:g} s")


def stream_close(conn: H2Connection, stream_id: int, *, what: str,
                 timeout: float = RESPONSE_BOUND) -> None:
    """h2spec's ``VerifyStreamClose``: the server ends ``stream_id`` (END_STREAM, or
    RST_STREAM NO_ERROR) — the setup of the cases on closed streams."""
    def ended(frame: Frame) -> bool:
        if frame.stream_id != stream_id:
            return False
        if isinstance(frame, DataFrame | HeadersFrame):
            return "END_STREAM" in frame.flags
        return isinstance(frame, RstStreamFrame) and frame.error_code == ErrorCode.NO_ERROR
    conn.frames_until(ended, timeout, f"the end of stream {stream_id} (after {what})")


def headers(conn: H2Connection, stream_id: int, *, what: str,
            timeout: float = RESPONSE_BOUND) -> None:
    """h2spec's ``VerifyHeadersFrame``: the server's first HEADERS is on ``stream_id``."""
    frames = conn.frames_until(lambda f: isinstance(f, HeadersFrame), timeout,
                               f"HEADERS (a response) after {what}")
    got = frames[-1].stream_id
    assert got == stream_id, (f"after {what}, the first HEADERS came on stream {got}, not "
                              f"on stream {stream_id}")


def frame_of(conn: H2Connection, kind: type[Frame], *, what: str,
             timeout: float = RESPONSE_BOUND) -> Frame:
    """h2spec's ``VerifyEventType``: a frame of ``kind`` arrives."""
    return conn.frames_until(lambda f: isinstance(f, kind), timeout,
                             f"{kind.__name__} after {what}")[-1]


def _is_ack(data: bytes) -> Callable[[Frame], bool]:
    return lambda f: (isinstance(f, PingFrame) and "ACK" in f.flags
                      and bytes(f.opaque_data) == data)


def ping_ack(conn: H2Connection, *, what: str, data: bytes = PING_DATA,
             timeout: float = ERROR_BOUND, send: bool = True) -> None:
    """h2spec's ``VerifyPingFrameWithAck``: our PING (sent here unless ``send`` is false)
    is acknowledged, so everything before it was read and accepted."""
    if send:
        conn.send_ping(data)
    conn.frames_until(_is_ack(data), timeout, f"PING ACK after {what}")


def ping_or_close(conn: H2Connection, *, what: str, data: bytes = PING_DATA,
                  timeout: float = ERROR_BOUND) -> None:
    """h2spec's ``VerifyPingFrameOrConnectionClose``: our PING is acknowledged, or the
    server closes the connection."""
    conn.send_ping(data)
    try:
        conn.frames_until(_is_ack(data), timeout, f"PING ACK after {what}")
    except NoResponse:
        if conn.peer_closed:
            return
        raise
