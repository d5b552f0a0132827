"""h2spec 2.x's ``http2/`` cases of RFC 7540 §3.5 to §5.5, ported: the connection preface,
frame format and size, header compression, stream states, identifiers, concurrency,
priority dependencies, connection error handling and extensibility (34 cases).

Each case has h2spec's id as its pytest id and h2spec's description in its table row, sends
what h2spec sends and ends in h2spec's verifier (:mod:`conformance.suite._h2spec_verify`):
which GOAWAY or RST_STREAM code, or a closed connection, within a bound. Where RFC 9113
changed the rule h2spec checks, the row says how and the case judges by RFC 9113:

* §5.1 "closed": RFC 7540 required STREAM_CLOSED errors for frames after RST_STREAM or
  END_STREAM; RFC 9113 keeps that a MUST only for DATA (§6.1, a stream error) and for a
  CONTINUATION without an open block (§6.10, PROTOCOL_ERROR), and makes HEADERS a MAY. A
  server that discards HEADERS on a closed stream is *non-strict*.
* §5.3.1 (7540): a stream depending on itself was a stream error; RFC 9113 §5.3.2
  deprecates priority and no longer has the rule: ignoring it is *non-strict*.
* §5.4: a generic code (PROTOCOL_ERROR, INTERNAL_ERROR) where h2spec wants a specific one
  is *non-strict*.

The client side is :class:`~conformance.rawh2.H2Connection`, which answers SETTINGS and
PING and keeps windows open like h2spec's ``spec.Conn``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest

from conformance.h2probe import H2Probe
from conformance.rawh2 import (
    DEFAULT_MAX_FRAME,
    DEFAULT_WINDOW,
    ErrorCode,
    FrameType,
    H2Connection,
    Setting,
    frame_bytes,
)
from conformance.suite import _h2spec_verify as verify
from conformance.suite._h2 import ERROR_BOUND, expect_connection_error, expect_stream_error
from conformance.suite._h2spec_verify import H2SpecCase, descriptions, params
from conformance.verdicts import non_strict, not_applicable

PROTOCOL = (ErrorCode.PROTOCOL_ERROR,)
STREAM_CLOSED = (ErrorCode.STREAM_CLOSED,)
CLOSED_OR_PROTOCOL = (ErrorCode.STREAM_CLOSED, ErrorCode.PROTOCOL_ERROR)
UNKNOWN_TYPE = 0x16
"""h2spec's unknown frame type (its comment says 255; the bytes say 0x16)."""
CONCURRENCY_CAP = 1000
"""More streams than this is more than a case may open; such a limit gives n/a."""

Sender = Callable[[H2Probe, H2Connection, int], None]
"""What a case sends on a stream after setting the stream up."""


# --- what the cases send ---------------------------------------------------------------


def send_data(_probe: H2Probe, conn: H2Connection, sid: int) -> None:
    conn.send_data(sid, b"test", end_stream=True)


def send_headers(probe: H2Probe, conn: H2Connection, sid: int) -> None:
    verify.send_request(probe, conn, sid)


def send_continuation(probe: H2Probe, conn: H2Connection, sid: int) -> None:
    """A CONTINUATION carrying the common request, no header block open."""
    conn.send_continuation(sid, conn.encode(verify.common_headers(probe, conn)))


def send_dummy_continuation(_probe: H2Probe, conn: H2Connection, sid: int) -> None:
    """h2spec's CONTINUATION with one dummy header field, no header block open."""
    conn.send_continuation(sid, conn.encode(verify.dummy_headers(1)))


def send_rst(_probe: H2Probe, conn: H2Connection, sid: int) -> None:
    conn.send_rst(sid, ErrorCode.CANCEL)


def send_window_update(_probe: H2Probe, conn: H2Connection, sid: int) -> None:
    conn.send_window_update(sid, 100)


def send_priority(_probe: H2Probe, conn: H2Connection, sid: int) -> None:
    conn.send_priority(sid, depends_on=0, weight=256)


def send_other_stream_headers(probe: H2Probe, conn: H2Connection, sid: int) -> None:
    verify.send_request(probe, conn, sid + 2)


def send_unknown_frame(_probe: H2Probe, conn: H2Connection, _sid: int) -> None:
    conn.send_raw(UNKNOWN_TYPE, 0, 0, bytes(8))


# --- 3.5 HTTP/2 connection preface -------------------------------------------------------

PREFACE = (
    H2SpecCase("http2/3.5/1", "Sends client connection preface", "RFC9113-3.4-1",
               rfc9113="RFC 7540 §3.5 is RFC 9113 §3.4; the rule is unchanged"),
)
INVALID_PREFACE = (
    H2SpecCase("http2/3.5/2", "Sends invalid connection preface", "RFC9113-3.4-2",
               rfc9113="RFC 7540 §3.5 is RFC 9113 §3.4; the rule is unchanged"),
)


@pytest.mark.parametrize("case", params(PREFACE))
def test_server_preface(h2probe, case):
    """The server's first frame after the client preface is a SETTINGS frame (not an ACK):
    the server connection preface."""
    verify.server_preface_first(h2probe)


@pytest.mark.parametrize("case", params(INVALID_PREFACE))
def test_invalid_preface(h2probe, case):
    """An invalid preface is a connection error; as the peer is not speaking HTTP/2, h2spec
    only asks that the TCP connection close."""
    conn = h2probe.connect_h2(handshake=False)
    conn.send(b"INVALID CONNECTION PREFACE\r\n\r\n")
    verify.connection_close(conn, what="an invalid connection preface")


# --- 4.1 frame format, 5.5 extending HTTP/2 ------------------------------------------------

IGNORED = (
    (H2SpecCase("http2/4.1/1", "Sends a frame with unknown type", "RFC9113-4.1-1"),
     frame_bytes(UNKNOWN_TYPE, 0, 0, bytes(8)), True),
    (H2SpecCase("http2/4.1/2", "Sends a frame with undefined flag", "RFC9113-4.1-2"),
     frame_bytes(FrameType.PING, 0x16, 0, bytes(8)), False),
    (H2SpecCase("http2/4.1/3", "Sends a frame with reserved field bit", "RFC9113-4.1-3"),
     frame_bytes(FrameType.PING, 0x16, 0, bytes(8), reserved=True), False),
    (H2SpecCase("http2/5.5/1", "Sends an unknown extension frame", "RFC9113-5.5-1"),
     frame_bytes(UNKNOWN_TYPE, 0, 0, bytes(8)), True),
)


@pytest.mark.parametrize(("case", "raw", "then_ping"),
                         [case.param(raw, ping) for case, raw, ping in IGNORED])
def test_frame_ignored(h2probe, case, raw, then_ping):
    """A frame the server must ignore (unknown type) or whose oddity it must ignore
    (unused flags, the reserved bit, both on a PING): a PING sent after it (or the PING
    itself) is acknowledged."""
    conn = h2probe.connect_h2()
    conn.send(raw)
    verify.ping_ack(conn, what=case.description.lower(), send=then_ping)


# --- 4.2 frame size ------------------------------------------------------------------------

MAX_SIZE_DATA = (
    H2SpecCase("http2/4.2/1", "Sends a DATA frame with 2^14 octets in length",
               "RFC9113-4.2-1"),
)
OVERSIZED_DATA = (
    H2SpecCase("http2/4.2/2",
               "Sends a large size DATA frame that exceeds the SETTINGS_MAX_FRAME_SIZE",
               "RFC9113-4.2-2"),
)
OVERSIZED_HEADERS = (
    H2SpecCase("http2/4.2/3",
               "Sends a large size HEADERS frame that exceeds the SETTINGS_MAX_FRAME_SIZE",
               "RFC9113-4.2-3"),
)


def max_frame_size(conn: H2Connection) -> int:
    return conn.server_settings.get(Setting.MAX_FRAME_SIZE, DEFAULT_MAX_FRAME)


@pytest.mark.parametrize("case", params(MAX_SIZE_DATA))
def test_max_size_data(h2probe, case):
    """A POST whose body is one DATA frame of the server's SETTINGS_MAX_FRAME_SIZE is
    answered."""
    conn = h2probe.connect_h2()
    size = max_frame_size(conn)
    if size > DEFAULT_WINDOW:
        not_applicable(f"the server's SETTINGS_MAX_FRAME_SIZE {size} exceeds the initial "
                       "flow-control window, so a frame that size cannot be sent")
    verify.send_request(h2probe, conn, 1, method="POST", end_stream=False)
    conn.send_data(1, b"x" * size, end_stream=True)
    verify.headers(conn, 1, what=f"a {size}-octet DATA frame")


@pytest.mark.parametrize("case", params(OVERSIZED_DATA))
def test_oversized_data(h2probe, case):
    """A DATA frame one octet over SETTINGS_MAX_FRAME_SIZE: FRAME_SIZE_ERROR (a stream
    error is enough: DATA does not alter connection state)."""
    conn = h2probe.connect_h2()
    size = max_frame_size(conn) + 1
    if size > DEFAULT_WINDOW:
        not_applicable(f"the server's SETTINGS_MAX_FRAME_SIZE {size - 1} exceeds the initial "
                       "flow-control window, so a larger frame would be a flow-control error")
    verify.send_request(h2probe, conn, 1, method="POST", end_stream=False)
    conn.send_data(1, b"x" * size, end_stream=True)
    expect_stream_error(conn, 1, (ErrorCode.FRAME_SIZE_ERROR,),
                        what=f"a {size}-octet DATA frame")


@pytest.mark.parametrize("case", params(OVERSIZED_HEADERS))
def test_oversized_headers(h2probe, case):
    """A HEADERS frame over SETTINGS_MAX_FRAME_SIZE (h2spec: dummy header fields of 4000
    octets): a connection error of type FRAME_SIZE_ERROR, as it carries a header block."""
    conn = h2probe.connect_h2()
    limit = max_frame_size(conn)
    fields = verify.common_headers(h2probe, conn)
    count = 5
    while len(conn.encode([*fields, *verify.dummy_headers(count)])) <= limit:
        count += 5
    block = conn.encode([*fields, *verify.dummy_headers(count)])
    conn.send_headers(1, block)
    expect_connection_error(conn, (ErrorCode.FRAME_SIZE_ERROR,),
                            what=f"a {len(block)}-octet HEADERS frame")


# --- 4.3 header compression and decompression ----------------------------------------------

INVALID_BLOCK = (
    H2SpecCase("http2/4.3/1", "Sends invalid header block fragment", "RFC9113-4.3-1"),
)
INTERRUPTED = (
    (H2SpecCase("http2/4.3/2", "Sends a PRIORITY frame while sending the header blocks",
                "RFC9113-4.3-2"), send_priority),
    (H2SpecCase("http2/4.3/3",
                "Sends a HEADERS frame to another stream while sending the header blocks",
                "RFC9113-4.3-2"), send_other_stream_headers),
    (H2SpecCase("http2/5.5/2",
                "Sends an unknown extension frame in the middle of a header block",
                "RFC9113-5.5-2"), send_unknown_frame),
)


@pytest.mark.parametrize("case", params(INVALID_BLOCK))
def test_invalid_header_block(h2probe, case):
    """A literal field with incremental indexing cut off before its name (``0x40`` alone):
    a decoding error, so a connection error of type COMPRESSION_ERROR."""
    conn = h2probe.connect_h2()
    conn.send_headers(1, b"\x40")
    expect_connection_error(conn, (ErrorCode.COMPRESSION_ERROR,),
                            what="a header block that does not decode")


@pytest.mark.parametrize(("case", "interrupt"),
                         [case.param(sender) for case, sender in INTERRUPTED])
def test_interrupted_header_block(h2probe, case, interrupt: Sender):
    """HEADERS without END_HEADERS, another frame, then the CONTINUATION: a header block
    must be contiguous, so a connection error of type PROTOCOL_ERROR."""
    conn = h2probe.connect_h2()
    sent = verify.common_headers(h2probe, conn)
    conn.send_headers(1, conn.encode(sent), end_stream=case.id == "http2/5.5/2",
                      end_headers=False)
    interrupt(h2probe, conn, 1)
    conn.send_continuation(1, conn.encode(verify.dummy_headers(1)))
    expect_connection_error(conn, PROTOCOL, what=case.description.lower())


# --- 5.1 stream states ---------------------------------------------------------------------

IDLE = (
    (H2SpecCase("http2/5.1/1", "idle: Sends a DATA frame", "RFC9113-5.1-1"), send_data),
    (H2SpecCase("http2/5.1/2", "idle: Sends a RST_STREAM frame", "RFC9113-5.1-1"), send_rst),
    (H2SpecCase("http2/5.1/3", "idle: Sends a WINDOW_UPDATE frame", "RFC9113-5.1-1"),
     send_window_update),
    (H2SpecCase("http2/5.1/4", "idle: Sends a CONTINUATION frame", "RFC9113-5.1-1"),
     send_continuation),
)
HALF_CLOSED = (
    (H2SpecCase("http2/5.1/5", "half closed (remote): Sends a DATA frame", "RFC9113-5.1-2"),
     send_data, 1, STREAM_CLOSED),
    (H2SpecCase("http2/5.1/6", "half closed (remote): Sends a HEADERS frame",
                "RFC9113-5.1-2"), send_headers, 1, STREAM_CLOSED),
    (H2SpecCase("http2/5.1/7", "half closed (remote): Sends a CONTINUATION frame",
                "RFC9113-5.1-2"), send_continuation, 1, CLOSED_OR_PROTOCOL),
    (H2SpecCase("http2/5.1.1/3",
                "Sends HEADERS frame with the stream which is in half-closed (remote) state",
                "RFC9113-5.1-2"), send_headers, 5, STREAM_CLOSED),
)
_RELAXED_HEADERS = ("RFC 7540 §5.1 required a STREAM_CLOSED error here; RFC 9113 §5.1 says an "
                    "endpoint MAY treat it as a connection error of type STREAM_CLOSED and "
                    "MUST minimally process and then discard frames on a closed stream")
_DATA_RULE = ("RFC 7540 §5.1's rule moved: RFC 9113 §6.1 still requires a stream error of type "
              "STREAM_CLOSED for DATA on a stream that is not open or half-closed (local)")
_CONTINUATION_RULE = ("RFC 9113 §5.1 relaxed the closed-stream rule, but §6.10 still makes a "
                      "CONTINUATION without an open header block a PROTOCOL_ERROR")
def continuation_rule(send: Sender) -> int | None:
    """For a CONTINUATION without an open header block, RFC 9113 §6.10 ("MUST respond with
    a connection error of type PROTOCOL_ERROR") and §5.1 (a stream error) both apply: a
    connection error of type PROTOCOL_ERROR passes like the stream error h2spec wants."""
    return ErrorCode.PROTOCOL_ERROR if send in (send_continuation, send_dummy_continuation) \
        else None


AFTER_RST = (
    (H2SpecCase("http2/5.1/8", "closed: Sends a DATA frame after sending RST_STREAM frame",
                "RFC9113-5.1-4", rfc9113=_DATA_RULE), send_data, STREAM_CLOSED),
    (H2SpecCase("http2/5.1/9", "closed: Sends a HEADERS frame after sending RST_STREAM frame",
                "RFC9113-5.1-3", rfc9113=_RELAXED_HEADERS, relaxed=True),
     send_headers, STREAM_CLOSED),
    (H2SpecCase("http2/5.1/10",
                "closed: Sends a CONTINUATION frame after sending RST_STREAM frame",
                "RFC9113-5.1-5", rfc9113=_CONTINUATION_RULE),
     send_dummy_continuation, CLOSED_OR_PROTOCOL),
)
AFTER_END_STREAM = (
    (H2SpecCase("http2/5.1/11", "closed: Sends a DATA frame", "RFC9113-5.1-4",
                rfc9113=_DATA_RULE + " (a stream error, where h2spec wants a connection error)"),
     send_data, STREAM_CLOSED, True),
    (H2SpecCase("http2/5.1/12", "closed: Sends a HEADERS frame", "RFC9113-5.1-3",
                rfc9113=_RELAXED_HEADERS, relaxed=True), send_headers, STREAM_CLOSED, False),
    (H2SpecCase("http2/5.1/13", "closed: Sends a CONTINUATION frame", "RFC9113-5.1-5",
                rfc9113=_CONTINUATION_RULE),
     send_dummy_continuation, CLOSED_OR_PROTOCOL, False),
)


@pytest.mark.parametrize(("case", "send"), [case.param(sender) for case, sender in IDLE])
def test_idle_stream(h2probe, case, send: Sender):
    """A frame other than HEADERS or PRIORITY on an idle stream: a connection error of type
    PROTOCOL_ERROR."""
    conn = h2probe.connect_h2()
    send(h2probe, conn, 1)
    expect_connection_error(conn, PROTOCOL, what=case.description)


@pytest.mark.parametrize(("case", "send", "sid", "codes"),
                         [case.param(s, sid, codes) for case, s, sid, codes in HALF_CLOSED])
def test_half_closed_remote(h2probe, case, send: Sender, sid, codes):
    """After a request with END_STREAM the stream is half-closed (remote): a further DATA,
    HEADERS or CONTINUATION on it is a stream error of type STREAM_CLOSED (h2spec also
    accepts PROTOCOL_ERROR for the CONTINUATION, which has no open header block)."""
    conn = h2probe.connect_h2()
    verify.send_request(h2probe, conn, sid, slow=True)  # half-closed (remote) until answered
    send(h2probe, conn, sid)
    expect_stream_error(conn, sid, codes, what=case.description,
                        connection_code=continuation_rule(send))


@pytest.mark.parametrize(("case", "send", "codes"),
                         [case.param(s, codes) for case, s, codes in AFTER_RST])
def test_closed_after_rst(h2probe, case: H2SpecCase, send: Sender, codes):
    """A request without END_STREAM, our RST_STREAM, then another frame on the closed
    stream: h2spec expects a stream error (see each row for what RFC 9113 still requires)."""
    conn = h2probe.connect_h2()
    verify.send_request(h2probe, conn, 1, end_stream=False)
    conn.send_rst(1, ErrorCode.CANCEL)
    send(h2probe, conn, 1)
    judged_by_9113(case, lambda: expect_stream_error(
        conn, 1, codes, what=case.description, connection_code=continuation_rule(send)))


@pytest.mark.parametrize(("case", "send", "codes", "stream_level"),
                         [case.param(s, codes, level)
                          for case, s, codes, level in AFTER_END_STREAM])
def test_closed_after_end_stream(h2probe, case: H2SpecCase, send: Sender, codes,
                                 stream_level):
    """A request answered in full (the stream closed both ways), then another frame on the
    stream: h2spec expects a connection error (see each row for what RFC 9113 requires)."""
    conn = h2probe.connect_h2()
    verify.send_request(h2probe, conn, 1)
    verify.stream_close(conn, 1, what="a GET request")
    send(h2probe, conn, 1)
    if stream_level:
        check = lambda: expect_stream_error(conn, 1, codes, what=case.description)  # noqa: E731
    else:
        check = lambda: expect_connection_error(conn, codes, what=case.description)  # noqa: E731
    judged_by_9113(case, check)


def judged_by_9113(case: H2SpecCase, check: Callable[[], object]) -> None:
    """Run h2spec's verifier; where RFC 9113 relaxed the rule to a MAY, a server that does
    not do what h2spec expects is non-strict, for the reason the row gives."""
    try:
        check()
    except AssertionError as exc:
        if case.relaxed:
            non_strict(f"{exc}: permitted, {case.rfc9113}")
        raise


# --- 5.1.1 stream identifiers, 5.1.2 concurrency ----------------------------------------

IDENTIFIERS = (
    (H2SpecCase("http2/5.1.1/1", "Sends even-numbered stream identifier", "RFC9113-5.1.1-1"),
     (2,)),
    (H2SpecCase("http2/5.1.1/2",
                "Sends stream identifier that is numerically smaller than previous",
                "RFC9113-5.1.1-1"), (5, 3)),
)
CONCURRENCY = (
    H2SpecCase("http2/5.1.2/1", "Sends HEADERS frames that causes their advertised "
               "concurrent stream limit to be exceeded", "RFC9113-5.1.2-1"),
)


@pytest.mark.parametrize(("case", "stream_ids"),
                         [case.param(ids) for case, ids in IDENTIFIERS])
def test_stream_identifier(h2probe, case, stream_ids):
    """Requests on the given streams in order; the last identifier is one a client may not
    use (even, or lower than one already used): a connection error of type PROTOCOL_ERROR."""
    conn = h2probe.connect_h2()
    for sid in stream_ids:
        verify.send_request(h2probe, conn, sid)
    expect_connection_error(conn, PROTOCOL, what=case.description.lower())


@pytest.mark.parametrize("case", params(CONCURRENCY))
def test_concurrency_limit(h2probe, case):
    """With our INITIAL_WINDOW_SIZE at 0 no response can finish, so SETTINGS_MAX_CONCURRENT_
    STREAMS + 1 requests exceed the limit: the last is refused (PROTOCOL_ERROR or
    REFUSED_STREAM). n/a when the server advertises no limit, as h2spec skips it."""
    conn = h2probe.connect_h2()
    limit = conn.server_settings.get(Setting.MAX_CONCURRENT_STREAMS)
    if limit is None:
        not_applicable("the server advertises no SETTINGS_MAX_CONCURRENT_STREAMS (unlimited)")
    if limit > CONCURRENCY_CAP:
        not_applicable(f"the server's SETTINGS_MAX_CONCURRENT_STREAMS {limit} is more streams "
                       f"than a case opens (at most {CONCURRENCY_CAP})")
    conn.send_settings({Setting.INITIAL_WINDOW_SIZE: 0})
    block = conn.encode(verify.common_headers(h2probe, conn))
    last = 1
    for index in range(limit + 1):
        last = 1 + 2 * index
        conn.send_headers(last, block)
    expect_stream_error(conn, last, (ErrorCode.PROTOCOL_ERROR, ErrorCode.REFUSED_STREAM),
                        what=f"{limit + 1} concurrent streams (limit {limit})")


# --- 5.3.1 (RFC 7540) stream dependencies ---------------------------------------------------

_SELF_DEPENDENCY = ("RFC 7540 §5.3.1 made a self-dependency a stream error of type "
                    "PROTOCOL_ERROR; RFC 9113 §5.3.2 deprecates priority signalling and no "
                    "longer has that rule")
SELF_DEPENDENCY = (
    H2SpecCase("http2/5.3.1/1", "Sends HEADERS frame that depends on itself", "RFC9113-5.3.2-1",
               rfc9113=_SELF_DEPENDENCY, relaxed=True),
    H2SpecCase("http2/5.3.1/2", "Sends PRIORITY frame that depend on itself",
               "RFC9113-5.3.2-1", rfc9113=_SELF_DEPENDENCY, relaxed=True),
)


@pytest.mark.parametrize("case", params(SELF_DEPENDENCY))
def test_self_dependency(h2probe, case):
    """Stream 1 made to depend on itself, in a HEADERS frame's priority fields or in a
    PRIORITY frame: h2spec expects a stream error of type PROTOCOL_ERROR."""
    conn = h2probe.connect_h2()
    if case.id.endswith("/1"):
        block = struct.pack("!IB", 1, 255) + conn.encode(verify.common_headers(h2probe, conn))
        conn.send_raw(FrameType.HEADERS, 0x1 | 0x4 | 0x20, 1, block)
    else:
        conn.send_priority(1, depends_on=1, weight=256)
    judged_by_9113(case, lambda: expect_stream_error(conn, 1, PROTOCOL,
                                                     what=case.description.lower()))


# --- 5.4.1 connection error handling --------------------------------------------------------

CONNECTION_ERROR = (
    H2SpecCase("http2/5.4.1/1", "Sends an invalid PING frame for connection close",
               "RFC9113-5.4.1-1"),
    H2SpecCase("http2/5.4.1/2", "Sends an invalid PING frame to receive GOAWAY frame",
               "RFC9113-5.4.1-2"),
)


@pytest.mark.parametrize("case", params(CONNECTION_ERROR))
def test_connection_error_handling(h2probe, case):
    """A PING on stream 3 is a connection error (PROTOCOL_ERROR): the server closes the
    TCP connection (5.4.1/1) and SHOULD send a GOAWAY first (5.4.1/2, one of h2spec's
    strict cases, run only with ``--strict`` there)."""
    conn = h2probe.connect_h2()
    conn.send_raw(FrameType.PING, 0, 3, bytes(8))
    what = "a PING frame on stream 3"
    if case.id.endswith("/1"):
        verify.connection_close(conn, what=what)
        return
    seen = conn.connection_error(timeout=ERROR_BOUND)
    assert seen.kind == "goaway", f"after {what}, no GOAWAY but {seen.describe()}"


H2SPEC_CASES = descriptions(
    PREFACE, INVALID_PREFACE, [row[0] for row in IGNORED], MAX_SIZE_DATA, OVERSIZED_DATA,
    OVERSIZED_HEADERS, INVALID_BLOCK, [row[0] for row in INTERRUPTED],
    [row[0] for row in IDLE], [row[0] for row in HALF_CLOSED], [row[0] for row in AFTER_RST],
    [row[0] for row in AFTER_END_STREAM], [row[0] for row in IDENTIFIERS], CONCURRENCY,
    SELF_DEPENDENCY, CONNECTION_ERROR,
)
"""h2spec id to description, for the h2spec-shaped JUnit report."""
H2SPEC_SECTIONS = {
    "http2/3.5": "HTTP/2 Connection Preface",
    "http2/4.1": "Frame Format",
    "http2/4.2": "Frame Size",
    "http2/4.3": "Header Compression and Decompression",
    "http2/5.1": "Stream States",
    "http2/5.1.1": "Stream Identifiers",
    "http2/5.1.2": "Stream Concurrency",
    "http2/5.3.1": "Stream Dependencies",
    "http2/5.4.1": "Connection Error Handling",
    "http2/5.5": "Extending HTTP/2",
}
"""h2spec's section titles, for the same report."""
