"""h2spec 2.x's ``http2/6.*`` cases, ported: RFC 9113 §6, the frame definitions. Each case
opens a fresh connection (h2spec's handshake: preface, SETTINGS both ways, ACKs), sends
what h2spec sends and judges the answer as h2spec's verifiers do, with RFC 9113's levels
(:mod:`conformance.suite._h2spec_port` says how the three answers are decided):

* **connection error** cases (:data:`CONNECTION_ERRORS`): GOAWAY with the code passes, a
  bare close is non-strict, anything else within the bound fails;
* **stream error** cases (:data:`STREAM_ERRORS`): RST_STREAM with the code on the stream
  passes, a connection error instead is non-strict (§5.4.1's MAY), anything else fails;
* **connection error that h2spec checks as a stream error** (:data:`FRAME_ERRORS`,
  HEADERS padding and RST_STREAM length): GOAWAY passes, RST_STREAM is non-strict;
* **behaviour** cases (PING, SETTINGS ACK and order, flow control, CONTINUATION): one
  function each.

Where a target stream must still be open (or half-closed (remote)) when the offending
frame arrives, the request goes to the probe app with a script that answers only after
1.5 s: h2spec sends to ``/`` and relies on the server being slower than the next frame,
which made those verdicts depend on timing; here they do not.

Where this port departs from h2spec's Go source, the case says so: 6.5/3 (h2spec's frame
header says 9 octets but sends 8), 6.7/4 (h2spec's short PING is also on stream 1, so
PROTOCOL_ERROR answers it as well as FRAME_SIZE_ERROR), 6.10/6 (h2spec's HEADERS lacked
END_HEADERS, so its DATA was the error rather than the CONTINUATION after it). Like
h2spec's client, ours sends no WINDOW_UPDATE of its own (``auto_window=False``), which the
flow-control cases need. Its sixth PRIORITY case (a PRIORITY for an idle stream, then HEADERS on a
lower stream) is h2spec's strict-mode case generic/3.3/5 in h2spec's last release, ported
with generic/*.

========== ===================================================================================
h2spec id  h2spec description
========== ===================================================================================
6.1/1      Sends a DATA frame with 0x0 stream identifier
6.1/2      Sends a DATA frame on the stream that is not in "open" or "half-closed (local)" state
6.1/3      Sends a DATA frame with invalid pad length
6.2/1      Sends a HEADERS frame without the END_HEADERS flag, and a PRIORITY frame
6.2/2      Sends a HEADERS frame to another stream while sending a HEADERS frame
6.2/3      Sends a HEADERS frame with 0x0 stream identifier
6.2/4      Sends a HEADERS frame with invalid pad length
6.3/1      Sends a PRIORITY frame with 0x0 stream identifier
6.3/2      Sends a PRIORITY frame with a length other than 5 octets
6.4/1      Sends a RST_STREAM frame with 0x0 stream identifier
6.4/2      Sends a RST_STREAM frame on a idle stream
6.4/3      Sends a RST_STREAM frame with a length other than 4 octets
6.5/1      Sends a SETTINGS frame with ACK flag and payload
6.5/2      Sends a SETTINGS frame with a stream identifier other than 0x0
6.5/3      Sends a SETTINGS frame with a length other than a multiple of 6 octets
6.5.2/1    SETTINGS_ENABLE_PUSH (0x2): Sends the value other than 0 or 1
6.5.2/2    SETTINGS_INITIAL_WINDOW_SIZE (0x4): Sends the value above the maximum flow control
           window size
6.5.2/3    SETTINGS_MAX_FRAME_SIZE (0x5): Sends the value below the initial value
6.5.2/4    SETTINGS_MAX_FRAME_SIZE (0x5): Sends the value above the maximum allowed frame size
6.5.2/5    Sends a SETTINGS frame with unknown identifier
6.5.3/1    Sends multiple values of SETTINGS_INITIAL_WINDOW_SIZE
6.5.3/2    Sends a SETTINGS frame without ACK flag
6.7/1      Sends a PING frame
6.7/2      Sends a PING frame with ACK
6.7/3      Sends a PING frame with a stream identifier field value other than 0x0
6.7/4      Sends a PING frame with a length field value other than 8
6.8/1      Sends a GOAWAY frame with a stream identifier other than 0x0
6.9/1      Sends a WINDOW_UPDATE frame with a flow control window increment of 0
6.9/2      Sends a WINDOW_UPDATE frame with a flow control window increment of 0 on a stream
6.9/3      Sends a WINDOW_UPDATE frame with a length other than 4 octets
6.9.1/1    Sends SETTINGS frame to set the initial window size to 1 and sends HEADERS frame
6.9.1/2    Sends multiple WINDOW_UPDATE frames increasing the flow control window to above
           2^31-1
6.9.1/3    Sends multiple WINDOW_UPDATE frames increasing the flow control window to above
           2^31-1 on a stream
6.9.2/1    Changes SETTINGS_INITIAL_WINDOW_SIZE after sending HEADERS frame
6.9.2/2    Sends a SETTINGS frame for window size to be negative
6.9.2/3    Sends a SETTINGS_INITIAL_WINDOW_SIZE settings with an exceeded maximum window size
           value
6.10/1     Sends multiple CONTINUATION frames preceded by a HEADERS frame
6.10/2     Sends a CONTINUATION frame followed by any frame other than CONTINUATION
6.10/3     Sends a CONTINUATION frame with 0x0 stream identifier
6.10/4     Sends a CONTINUATION frame preceded by a HEADERS frame with END_HEADERS flag
6.10/5     Sends a CONTINUATION frame preceded by a CONTINUATION frame with END_HEADERS flag
6.10/6     Sends a CONTINUATION frame preceded by a DATA frame
========== ===================================================================================

(every id above is ``http2/`` + the id.)
"""

from __future__ import annotations

import struct

import pytest
from hyperframe.frame import PingFrame

from conformance.h2probe import H2Probe
from conformance.rawh2 import (
    ACK,
    END_HEADERS,
    END_STREAM,
    PADDED,
    ErrorCode,
    FrameType,
    H2Connection,
    Setting,
    error_name,
    settings_payload,
)
from conformance.suite._h2 import (
    ERROR_BOUND,
    expect_connection_error,
    expect_response,
    expect_stream_error,
    expect_usable,
)
from conformance.suite._h2spec_port import (
    Case,
    Sender,
    connection_error_not_reset,
    dummy_block,
    first_data,
    flow_controlled,
    open_slow_stream,
    open_stream,
    params,
    send_settings_list,
    settle,
)
from conformance.verdicts import non_strict

req = pytest.mark.requirement

PROTOCOL = (ErrorCode.PROTOCOL_ERROR,)
FRAME_SIZE = (ErrorCode.FRAME_SIZE_ERROR,)
FLOW_CONTROL = (ErrorCode.FLOW_CONTROL_ERROR,)
MAX_WINDOW = 2**31 - 1
WEIGHT_255 = 0xFF  # h2spec's PriorityParam weight 255 (the octet on the wire: 255)


# --- what the table cases send ----------------------------------------------------------


def data_on_stream_0(conn: H2Connection, h2probe: H2Probe) -> None:
    conn.send_data(0, b"test", end_stream=True)


def data_on_half_closed(conn: H2Connection, h2probe: H2Probe) -> int:
    sid = open_slow_stream(conn, h2probe, "POST", end_stream=True)
    conn.send_data(sid, b"test", end_stream=True)
    return sid


def data_bad_padding(conn: H2Connection, h2probe: H2Probe) -> None:
    sid = open_stream(conn, "POST", end_stream=False, extra=[("content-length", "4")])
    # 5 octets of payload: Pad Length 6, then "Test": the padding cannot fit.
    conn.send_raw(FrameType.DATA, PADDED | END_STREAM, sid, b"\x06Test")


def headers_then_priority(conn: H2Connection, h2probe: H2Probe) -> None:
    sid = open_stream(conn, end_stream=False, end_headers=False)
    conn.send_raw(FrameType.PRIORITY, 0, sid, struct.pack("!IB", 0, WEIGHT_255))
    conn.send_continuation(sid, dummy_block(conn))


def headers_then_other_headers(conn: H2Connection, h2probe: H2Probe) -> None:
    sid = open_stream(conn, end_stream=False, end_headers=False)
    other = conn.new_stream()
    conn.send_headers(other, conn.request_headers())
    conn.send_continuation(sid, dummy_block(conn))


def headers_on_stream_0(conn: H2Connection, h2probe: H2Probe) -> None:
    conn.send_headers(0, conn.request_headers())


def headers_bad_padding(conn: H2Connection, h2probe: H2Probe) -> int:
    sid = conn.new_stream()
    block = conn.encode(conn.request_headers())
    # Pad Length one more than the block: padding would run past the payload.
    conn.send_raw(FrameType.HEADERS, PADDED | END_HEADERS | END_STREAM, sid,
                  bytes([len(block) + 2]) + block, length=len(block) + 1)
    return sid


def priority_on_stream_0(conn: H2Connection, h2probe: H2Probe) -> None:
    conn.send_raw(FrameType.PRIORITY, 0, 0, struct.pack("!IB", 0, WEIGHT_255))


def priority_short(conn: H2Connection, h2probe: H2Probe) -> int:
    sid = open_slow_stream(conn, h2probe)
    conn.send_raw(FrameType.PRIORITY, 0, sid, b"\x80\x00\x00\x01")
    return sid


def rst_on_stream_0(conn: H2Connection, h2probe: H2Probe) -> None:
    conn.send_rst(0, ErrorCode.CANCEL)


def rst_on_idle(conn: H2Connection, h2probe: H2Probe) -> None:
    conn.send_rst(1, ErrorCode.CANCEL)


def rst_short(conn: H2Connection, h2probe: H2Probe) -> int:
    sid = open_slow_stream(conn, h2probe)
    conn.send_raw(FrameType.RST_STREAM, 0, sid, b"\x00\x00\x00")
    return sid


def settings_ack_with_payload(conn: H2Connection, h2probe: H2Probe) -> None:
    conn.send_raw(FrameType.SETTINGS, ACK, 0, b"\x00")


def settings_on_stream_1(conn: H2Connection, h2probe: H2Probe) -> None:
    conn.send_raw(FrameType.SETTINGS, 0, 1,
                  settings_payload([(Setting.MAX_CONCURRENT_STREAMS, 100)]))


def settings_bad_length(conn: H2Connection, h2probe: H2Probe) -> None:
    # One whole setting and two stray octets: 8 octets, not a multiple of 6.
    conn.send_raw(FrameType.SETTINGS, 0, 0,
                  settings_payload([(Setting.MAX_CONCURRENT_STREAMS, 100)]) + b"\x00\x02")


def setting(key: int, value: int) -> Sender:
    """A SETTINGS frame with one (bad) value."""
    def send(conn: H2Connection, h2probe: H2Probe) -> None:
        send_settings_list(conn, [(key, value)])
    send.__name__ = f"setting_{key}_{value}"
    return send


def ping_on_stream_1(conn: H2Connection, h2probe: H2Probe) -> None:
    conn.send_raw(FrameType.PING, 0, 1, bytes(8))


def ping_short(conn: H2Connection, h2probe: H2Probe) -> None:
    conn.send_raw(FrameType.PING, 0, 1, bytes(6))


def goaway_on_stream_1(conn: H2Connection, h2probe: H2Probe) -> None:
    conn.send_raw(FrameType.GOAWAY, 0, 1, bytes(8))


def window_update_0_on_connection(conn: H2Connection, h2probe: H2Probe) -> None:
    conn.send_window_update(0, 0)


def window_update_0_on_stream(conn: H2Connection, h2probe: H2Probe) -> int:
    sid = open_stream(conn, end_stream=False)
    conn.send_window_update(sid, 0)
    return sid


def window_update_short(conn: H2Connection, h2probe: H2Probe) -> None:
    conn.send_raw(FrameType.WINDOW_UPDATE, 0, 0, b"\x00\x00\x01")


def window_overflow_connection(conn: H2Connection, h2probe: H2Probe) -> None:
    conn.send_window_update(0, MAX_WINDOW)
    conn.send_window_update(0, MAX_WINDOW)


def window_overflow_stream(conn: H2Connection, h2probe: H2Probe) -> int:
    sid = open_stream(conn, end_stream=False)
    conn.send_window_update(sid, MAX_WINDOW)
    conn.send_window_update(sid, MAX_WINDOW)
    return sid


def initial_window_too_big(conn: H2Connection, h2probe: H2Probe) -> None:
    conn.send_raw(FrameType.SETTINGS, 0, 0, b"\x00\x04\x80\x00\x00\x00")


def continuation_then_data(conn: H2Connection, h2probe: H2Probe) -> None:
    sid = open_stream(conn, "POST", end_stream=False, end_headers=False)
    conn.send_continuation(sid, dummy_block(conn), end_headers=False)
    conn.send_data(sid, b"test", end_stream=True)


def continuation_on_stream_0(conn: H2Connection, h2probe: H2Probe) -> None:
    open_stream(conn, end_headers=False)
    conn.send_continuation(0, dummy_block(conn))


def continuation_after_end_headers(conn: H2Connection, h2probe: H2Probe) -> None:
    sid = open_stream(conn)
    conn.send_continuation(sid, dummy_block(conn))


def continuation_after_finished_continuation(conn: H2Connection, h2probe: H2Probe) -> None:
    sid = open_stream(conn, end_headers=False)
    conn.send_continuation(sid, dummy_block(conn))
    conn.send_continuation(sid, dummy_block(conn))


def continuation_after_data(conn: H2Connection, h2probe: H2Probe) -> None:
    sid = open_stream(conn, "POST", end_stream=False)
    conn.send_data(sid, b"test", end_stream=True)
    conn.send_continuation(sid, dummy_block(conn))


# --- the tables ---------------------------------------------------------------------------

CONNECTION_ERRORS = [
    Case("http2/6.1/1", "Sends a DATA frame with 0x0 stream identifier",
         req("RFC9113-6.1-1"), data_on_stream_0, PROTOCOL),
    Case("http2/6.1/3", "Sends a DATA frame with invalid pad length",
         req("RFC9113-6.1-3"), data_bad_padding, PROTOCOL),
    Case("http2/6.2/1", "Sends a HEADERS frame without the END_HEADERS flag, and a PRIORITY "
         "frame", req("RFC9113-6.2-1"), headers_then_priority, PROTOCOL),
    Case("http2/6.2/2", "Sends a HEADERS frame to another stream while sending a HEADERS "
         "frame", req("RFC9113-6.2-1"), headers_then_other_headers, PROTOCOL),
    Case("http2/6.2/3", "Sends a HEADERS frame with 0x0 stream identifier",
         req("RFC9113-6.2-2"), headers_on_stream_0, PROTOCOL),
    Case("http2/6.3/1", "Sends a PRIORITY frame with 0x0 stream identifier",
         req("RFC9113-6.3-1"), priority_on_stream_0, PROTOCOL),
    Case("http2/6.4/1", "Sends a RST_STREAM frame with 0x0 stream identifier",
         req("RFC9113-6.4-1"), rst_on_stream_0, PROTOCOL),
    Case("http2/6.4/2", "Sends a RST_STREAM frame on a idle stream",
         req("RFC9113-6.4-2"), rst_on_idle, PROTOCOL),
    Case("http2/6.5/1", "Sends a SETTINGS frame with ACK flag and payload",
         req("RFC9113-6.5-1"), settings_ack_with_payload, FRAME_SIZE),
    Case("http2/6.5/2", "Sends a SETTINGS frame with a stream identifier other than 0x0",
         req("RFC9113-6.5-2"), settings_on_stream_1, PROTOCOL),
    Case("http2/6.5/3", "Sends a SETTINGS frame with a length other than a multiple of 6 "
         "octets", req("RFC9113-6.5-3"), settings_bad_length,
         (ErrorCode.FRAME_SIZE_ERROR, ErrorCode.PROTOCOL_ERROR)),
    Case("http2/6.5.2/1", "SETTINGS_ENABLE_PUSH (0x2): Sends the value other than 0 or 1",
         req("RFC9113-6.5.2-1"), setting(Setting.ENABLE_PUSH, 2), PROTOCOL),
    Case("http2/6.5.2/2", "SETTINGS_INITIAL_WINDOW_SIZE (0x4): Sends the value above the "
         "maximum flow control window size", req("RFC9113-6.5.2-2"),
         setting(Setting.INITIAL_WINDOW_SIZE, 2**31), FLOW_CONTROL),
    Case("http2/6.5.2/3", "SETTINGS_MAX_FRAME_SIZE (0x5): Sends the value below the initial "
         "value", req("RFC9113-6.5.2-3"), setting(Setting.MAX_FRAME_SIZE, 16383), PROTOCOL),
    Case("http2/6.5.2/4", "SETTINGS_MAX_FRAME_SIZE (0x5): Sends the value above the maximum "
         "allowed frame size", req("RFC9113-6.5.2-3"),
         setting(Setting.MAX_FRAME_SIZE, 2**24), PROTOCOL),
    Case("http2/6.7/3", "Sends a PING frame with a stream identifier field value other than "
         "0x0", req("RFC9113-6.7-3"), ping_on_stream_1, PROTOCOL),
    Case("http2/6.7/4", "Sends a PING frame with a length field value other than 8",
         req("RFC9113-6.7-4"), ping_short,
         (ErrorCode.FRAME_SIZE_ERROR, ErrorCode.PROTOCOL_ERROR)),
    Case("http2/6.8/1", "Sends a GOAWAY frame with a stream identifier other than 0x0",
         req("RFC9113-6.8-1"), goaway_on_stream_1, PROTOCOL),
    Case("http2/6.9/1", "Sends a WINDOW_UPDATE frame with a flow control window increment "
         "of 0", req("RFC9113-6.9-1"), window_update_0_on_connection, PROTOCOL),
    Case("http2/6.9/3", "Sends a WINDOW_UPDATE frame with a length other than 4 octets",
         req("RFC9113-6.9-2"), window_update_short, FRAME_SIZE),
    Case("http2/6.9.1/2", "Sends multiple WINDOW_UPDATE frames increasing the flow control "
         "window to above 2^31-1", req("RFC9113-6.9.1-2"), window_overflow_connection,
         FLOW_CONTROL),
    Case("http2/6.9.2/3", "Sends a SETTINGS_INITIAL_WINDOW_SIZE settings with an exceeded "
         "maximum window size value", req("RFC9113-6.9.2-3"), initial_window_too_big,
         FLOW_CONTROL),
    Case("http2/6.10/2", "Sends a CONTINUATION frame followed by any frame other than "
         "CONTINUATION", req("RFC9113-6.10-1"), continuation_then_data, PROTOCOL),
    Case("http2/6.10/3", "Sends a CONTINUATION frame with 0x0 stream identifier",
         req("RFC9113-6.10-2"), continuation_on_stream_0, PROTOCOL),
    Case("http2/6.10/4", "Sends a CONTINUATION frame preceded by a HEADERS frame with "
         "END_HEADERS flag", req("RFC9113-6.10-3"), continuation_after_end_headers, PROTOCOL),
    Case("http2/6.10/5", "Sends a CONTINUATION frame preceded by a CONTINUATION frame with "
         "END_HEADERS flag", req("RFC9113-6.10-3"), continuation_after_finished_continuation,
         PROTOCOL),
    Case("http2/6.10/6", "Sends a CONTINUATION frame preceded by a DATA frame",
         req("RFC9113-6.10-3"), continuation_after_data, PROTOCOL),
]
"""Cases whose answer must be a connection error (h2spec's ``VerifyConnectionError``)."""

STREAM_ERRORS = [
    Case("http2/6.1/2", "Sends a DATA frame on the stream that is not in \"open\" or "
         "\"half-closed (local)\" state", req("RFC9113-6.1-2"), data_on_half_closed,
         (ErrorCode.STREAM_CLOSED,)),
    Case("http2/6.3/2", "Sends a PRIORITY frame with a length other than 5 octets",
         req("RFC9113-6.3-2"), priority_short, FRAME_SIZE),
    Case("http2/6.9/2", "Sends a WINDOW_UPDATE frame with a flow control window increment "
         "of 0 on a stream", req("RFC9113-6.9-1"), window_update_0_on_stream, PROTOCOL),
    Case("http2/6.9.1/3", "Sends multiple WINDOW_UPDATE frames increasing the flow control "
         "window to above 2^31-1 on a stream", req("RFC9113-6.9.1-2"), window_overflow_stream,
         FLOW_CONTROL),
]
"""Cases whose answer must be a stream error (h2spec's ``VerifyStreamError``)."""

FRAME_ERRORS = [
    Case("http2/6.2/4", "Sends a HEADERS frame with invalid pad length",
         req("RFC9113-6.2-3"), headers_bad_padding, PROTOCOL),
    Case("http2/6.4/3", "Sends a RST_STREAM frame with a length other than 4 octets",
         req("RFC9113-6.4-3"), rst_short, FRAME_SIZE),
]
"""Connection errors in RFC 9113 that h2spec verifies as stream errors."""


@pytest.mark.parametrize("case", params(CONNECTION_ERRORS))
def test_connection_error(h2probe: H2Probe, case: Case) -> None:
    """A frame that breaks a frame-level MUST of RFC 9113 §6 ends the connection with the
    error code the section names."""
    conn = h2probe.connect_h2(auto_window=False)
    case.send(conn, h2probe)
    expect_connection_error(conn, case.codes, what=case.what)


@pytest.mark.parametrize("case", params(STREAM_ERRORS))
def test_stream_error(h2probe: H2Probe, case: Case) -> None:
    """A frame that breaks a stream-level MUST of RFC 9113 §6 resets that stream with the
    error code the section names, and only that stream."""
    conn = h2probe.connect_h2(auto_window=False)
    sid = case.send(conn, h2probe)
    assert sid is not None
    expect_stream_error(conn, sid, case.codes, what=case.what)


@pytest.mark.parametrize("case", params(FRAME_ERRORS))
def test_connection_error_not_only_reset(h2probe: H2Probe, case: Case) -> None:
    """A malformed frame on a stream that RFC 9113 makes a connection error: a GOAWAY is
    what §6 asks; a RST_STREAM (what h2spec accepts) leaves a connection whose state the
    bad frame may have corrupted (a header block that was never decoded)."""
    conn = h2probe.connect_h2(auto_window=False)
    sid = case.send(conn, h2probe)
    assert sid is not None
    section = case.requirement.args[0].split("-")[1]
    connection_error_not_reset(conn, sid, case.codes, what=case.what,
                               rfc=f"RFC 9113 §{section}")


# --- behaviour cases ----------------------------------------------------------------------


@req("RFC9113-6.5.2-4")
@pytest.mark.parametrize("case", ["http2/6.5.2/5"])
def test_unknown_setting_ignored(h2probe: H2Probe, case: str) -> None:
    """Sends a SETTINGS frame with unknown identifier: the setting is ignored, so the
    connection still answers a PING (extensions add settings; a peer that chokes on one
    cannot talk to them)."""
    conn = h2probe.connect_h2(auto_window=False)
    send_settings_list(conn, [(0xFF, 1)])
    expect_usable(conn, what="a SETTINGS frame with the unknown identifier 0xff")


@req("RFC9113-6.5.3-2")
@pytest.mark.parametrize("case", ["http2/6.5.3/2"])
def test_settings_acknowledged(h2probe: H2Probe, case: str) -> None:
    """Sends a SETTINGS frame without ACK flag: the server acknowledges it at once (the
    ACK is our only way to know when the server applies the values)."""
    conn = h2probe.connect_h2(auto_window=False)
    settle(conn, [(Setting.ENABLE_PUSH, 0)], what="SETTINGS_ENABLE_PUSH=0 after the handshake")


@req("RFC9113-6.7-1")
@pytest.mark.parametrize("case", ["http2/6.7/1"])
def test_ping_answered(h2probe: H2Probe, case: str) -> None:
    """Sends a PING frame: the answer is a PING with ACK and the same 8 octets (liveness
    and round-trip checks depend on it)."""
    conn = h2probe.connect_h2(auto_window=False)
    assert conn.ping_roundtrip(b"h2spec\x00\x00", timeout=ERROR_BOUND), (
        f"no PING ACK with our payload within {ERROR_BOUND:g} s (RFC 9113 §6.7)")


@req("RFC9113-6.7-2")
@pytest.mark.parametrize("case", ["http2/6.7/2"])
def test_ping_ack_not_answered(h2probe: H2Probe, case: str) -> None:
    """Sends a PING frame with ACK: it is not answered (two endpoints answering ACKs would
    ping-pong for ever). A plain PING sent after it bounds the wait: frames are processed
    in order, so by its ACK any answer to the first would have come."""
    conn = h2probe.connect_h2(auto_window=False)
    conn.send_ping(b"invalid\x00", ack=True)
    conn.send_ping(b"h2spec\x00\x00")
    frames = conn.frames_until(lambda f: isinstance(f, PingFrame) and "ACK" in f.flags
                               and bytes(f.opaque_data) == b"h2spec\x00\x00",
                               ERROR_BOUND, "PING ACK")
    answered = [f for f in frames
                if isinstance(f, PingFrame) and bytes(f.opaque_data) == b"invalid\x00"]
    assert not answered, "the server answered a PING that carried the ACK flag (RFC 9113 §6.7)"


# --- flow control: what the server sends into the window we give it ----------------------

DATA_BOUND = 2.0
"""Seconds the probe app's response gets to start once the window allows it: longer than
:data:`ERROR_BOUND`, since the app runs first."""
SILENCE = pytest.mark.timing_dependent(
    "a server that sends no DATA into the small window within 2 s gets non-strict; one that "
    "does gets pass or fail by the size")

BODY = b"0123456789"
"""The probe app's response body: longer than every window below, so its size shows
which window the server used."""


def respond_stream(conn: H2Connection, h2probe: H2Probe) -> int:
    """A request the probe app answers with :data:`BODY`."""
    return open_stream(conn, extra=h2probe.probe_headers("respond", {"body": BODY}))


def expect_data_within(conn: H2Connection, sid: int, start: int, window: int, *,
                       what: str, silent_ok: str | None = None) -> None:
    """The first DATA after ``conn.received[start]`` is at most ``window`` octets (h2spec:
    exactly ``window``). Nothing in time fails unless ``silent_ok`` says why it may be
    lawful, then it is non-strict."""
    size = first_data(conn, sid, start, DATA_BOUND)
    if size is None:
        if silent_ok:
            non_strict(f"after {what}, no DATA within {DATA_BOUND:g} s: {silent_ok}")
        raise AssertionError(f"after {what}, no DATA within {DATA_BOUND:g} s where the "
                             f"window allowed {window} octet(s) (h2spec expects them)")
    assert size <= window, (
        f"after {what}, the server sent {size} octets of DATA into a {window}-octet window "
        f"(RFC 9113 §6.9.1: MUST NOT exceed the space available)")


SMALL_WINDOW_SILENCE = ("RFC 9113 forbids exceeding the window, it does not oblige a sender "
                        "to fill a 1-octet window; h2spec expects a 1-octet DATA frame")


@req("RFC9113-6.9.1-1")
@SILENCE
@pytest.mark.parametrize("case", ["http2/6.9.1/1"])
def test_initial_window_of_one(h2probe: H2Probe, case: str) -> None:
    """Sends SETTINGS frame to set the initial window size to 1 and sends HEADERS frame:
    the response's first DATA is 1 octet, the window we allowed."""
    conn = h2probe.connect_h2(auto_window=False)
    settle(conn, [(Setting.INITIAL_WINDOW_SIZE, 1)], what="SETTINGS_INITIAL_WINDOW_SIZE=1")
    start = len(conn.received)
    sid = respond_stream(conn, h2probe)
    expect_data_within(conn, sid, start, 1, what="SETTINGS_INITIAL_WINDOW_SIZE=1",
                       silent_ok=SMALL_WINDOW_SILENCE)


@req("RFC9113-6.5.3-1")
@SILENCE
@pytest.mark.parametrize("case", ["http2/6.5.3/1"])
def test_settings_in_order(h2probe: H2Probe, case: str) -> None:
    """Sends multiple values of SETTINGS_INITIAL_WINDOW_SIZE (100, then 1) in one frame:
    processed in order, the last wins, so the response's first DATA is 1 octet; the 10
    octets of the body mean the first value was kept."""
    conn = h2probe.connect_h2(auto_window=False)
    what = "SETTINGS_INITIAL_WINDOW_SIZE=100 then =1 in one frame"
    settle(conn, [(Setting.INITIAL_WINDOW_SIZE, 100), (Setting.INITIAL_WINDOW_SIZE, 1)],
           what=what)
    start = len(conn.received)
    sid = respond_stream(conn, h2probe)
    expect_data_within(conn, sid, start, 1, what=what, silent_ok=SMALL_WINDOW_SILENCE)


@req("RFC9113-6.9.2-1")
@SILENCE
@pytest.mark.parametrize("case", ["http2/6.9.2/1"])
def test_initial_window_change_applies_to_open_stream(h2probe: H2Probe, case: str) -> None:
    """Changes SETTINGS_INITIAL_WINDOW_SIZE after sending HEADERS frame: with the window 0
    the server cannot answer; raising the setting to 1 must grow the open stream's window
    by 1, so one octet of DATA follows."""
    conn = h2probe.connect_h2(auto_window=False)
    settle(conn, [(Setting.INITIAL_WINDOW_SIZE, 0)], what="SETTINGS_INITIAL_WINDOW_SIZE=0")
    sid = respond_stream(conn, h2probe)
    early = flow_controlled(conn, sid)
    assert not early, f"the server sent DATA ({early}) into a window of 0 (RFC 9113 §6.9.1)"
    start = len(conn.received)
    settle(conn, [(Setting.INITIAL_WINDOW_SIZE, 1)], what="SETTINGS_INITIAL_WINDOW_SIZE 0 -> 1")
    expect_data_within(conn, sid, start, 1, what="SETTINGS_INITIAL_WINDOW_SIZE 0 -> 1 on an "
                       "open stream", silent_ok=SMALL_WINDOW_SILENCE)


@req("RFC9113-6.9.2-2")
@SILENCE
@pytest.mark.parametrize("case", ["http2/6.9.2/2"])
def test_negative_window_tracked(h2probe: H2Probe, case: str) -> None:
    """Sends a SETTINGS frame for window size to be negative: window 3, the server sends
    3 octets; the setting drops to 2 (the stream's window is now -1); a WINDOW_UPDATE of 2
    makes it 1, so the next DATA is at most 1 octet. A server that clamped at 0 sends 2."""
    conn = h2probe.connect_h2(auto_window=False)
    settle(conn, [(Setting.INITIAL_WINDOW_SIZE, 3)], what="SETTINGS_INITIAL_WINDOW_SIZE=3")
    sid = respond_stream(conn, h2probe)
    fill_window(conn, sid, 3)
    settle(conn, [(Setting.INITIAL_WINDOW_SIZE, 2)], what="SETTINGS_INITIAL_WINDOW_SIZE 3 -> 2")
    start = len(conn.received)
    conn.send_window_update(sid, 2)
    expect_data_within(conn, sid, start, 1, what="a window of -1 and a WINDOW_UPDATE of 2",
                       silent_ok=SMALL_WINDOW_SILENCE)


def fill_window(conn: H2Connection, sid: int, window: int) -> None:
    """Read until the server has used the ``window`` it had (h2spec: one DATA frame; a
    server may split it). Less in time fails: the window allowed it."""
    try:
        conn.frames_until(lambda f: sum(flow_controlled(conn, sid)) >= window, DATA_BOUND,
                          f"{window} octets of DATA")
    except AssertionError as exc:
        raise AssertionError(f"with a window of {window}, the server did not send {window} "
                             f"octets of DATA: {exc}") from None
    sent = sum(flow_controlled(conn, sid))
    assert sent <= window, (f"the server sent {sent} octets into a {window}-octet window "
                            "(RFC 9113 §6.9.1)")


@req("RFC9113-6.10-4")
@pytest.mark.parametrize("case", ["http2/6.10/1"])
def test_multiple_continuations_accepted(h2probe: H2Probe, case: str) -> None:
    """Sends multiple CONTINUATION frames preceded by a HEADERS frame: the header block
    split over three frames is one request, it is answered, and the connection carries on
    (h2spec checks the response only; a GOAWAY with an error after it means the server
    treated the split block as an error after all)."""
    conn = h2probe.connect_h2(auto_window=False)
    sid = open_stream(conn, end_headers=False)
    conn.send_continuation(sid, dummy_block(conn), end_headers=False)
    conn.send_continuation(sid, dummy_block(conn))
    what = "a header block in HEADERS and two CONTINUATION frames"
    expect_response(conn, sid, what=what)
    usable = conn.ping_roundtrip(timeout=ERROR_BOUND)
    goaway = conn.goaway
    assert goaway is None or goaway.error_code == ErrorCode.NO_ERROR, (
        f"after {what}, the server answered but sent GOAWAY {error_name(goaway.error_code)}")
    assert usable, f"after {what}, the connection no longer answers a PING"
