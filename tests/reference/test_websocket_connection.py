"""The server-side WebSocket state machine (RFC 6455 §5-§8):
``reference_server.websocket.connection``.

Every failure case asserts both the :class:`ProtocolFailure` code and the close frame
queued in ``output()`` (§7.1.7: "_Fail the WebSocket Connection_" sends a close with the
matching status code first).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator

import pytest

from reference_server import websocket as ws
from reference_server.websocket import connection as connection_module
from reference_server.websocket import frames as fr
from reference_server.websocket.utf8 import Utf8Decoder

MASK = b"\x37\xfa\x21\x3d"


# -- helpers ---------------------------------------------------------------------------


def frame(opcode: int, payload: bytes = b"", *, fin: bool = True, rsv: int = 0,
          mask: bytes = MASK, length_bytes: int | None = None) -> bytes:
    """A client frame (masked, §5.1)."""
    return fr.encode_masked_frame(opcode, payload, mask, fin=fin, rsv=rsv,
                               length_bytes=length_bytes)


def text(s: str, **kw: object) -> bytes:
    return frame(fr.OP_TEXT, s.encode(), **kw)  # type: ignore[arg-type]


def drain(conn: ws.WebSocketConnection) -> list[ws.Event]:
    """Every event available now (bounded, so a non-consuming loop fails the test)."""
    events: list[ws.Event] = []
    for _ in range(100_000):
        event = conn.next_event()
        if event is None:
            return events
        events.append(event)
    raise AssertionError("next_event() never returned None")


def run(data: bytes, conn: ws.WebSocketConnection | None = None) -> list[ws.Event]:
    conn = conn or ws.WebSocketConnection()
    conn.feed(data)
    return drain(conn)


def close_frame_code(out: bytes) -> int | None:
    """The status code of the single unmasked close frame ``out`` (None: empty payload)."""
    parsed = fr.parse_header(out)
    assert parsed is not None
    b0, opcode, mask, length, header_length = parsed
    assert b0 == 0x88 and opcode == fr.OP_CLOSE and mask is None
    assert len(out) == header_length + length, "exactly one close frame"
    if length == 0:
        return None
    code: int = struct.unpack("!H", out[header_length:header_length + 2])[0]
    out[header_length + 2:].decode()
    return code


def assert_fails(data: bytes | list[bytes], code: int,
                 conn: ws.WebSocketConnection | None = None) -> ws.ProtocolFailure:
    """Feeding ``data`` (one piece or several) ends in a ProtocolFailure with ``code``,
    and the close frame in output() carries the same code."""
    conn = conn or ws.WebSocketConnection()
    pieces = [data] if isinstance(data, bytes) else data
    events: list[ws.Event] = []
    for piece in pieces:
        conn.feed(piece)
        events += drain(conn)
    assert events, "no event"
    failure = events[-1]
    assert isinstance(failure, ws.ProtocolFailure), events
    assert failure.code == code, failure
    assert conn.state == ws.CLOSED
    assert close_frame_code(conn.output()) == code
    assert conn.next_event() is None
    return failure


@pytest.fixture(params=["accelerated", "pure-python"])
def mask_impl(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run a test with the optional C unmasking and with the pure-Python one."""
    if request.param == "pure-python":
        monkeypatch.setattr(connection_module, "apply_mask", fr.apply_mask_python)
    yield request.param


# -- messages --------------------------------------------------------------------------


@pytest.mark.usefixtures("mask_impl")
@pytest.mark.parametrize("n", [0, 1, 3, 4, 5, 16, 125, 126, 1024, 65535, 65536, 200_000])
def test_text_and_binary_messages_of_every_length_encoding(n: int) -> None:
    data = os.urandom(n)
    s = ("é" * n)[: n // 2 + 1] if n else ""
    conn = ws.WebSocketConnection()
    conn.feed(frame(fr.OP_BINARY, data) + text(s))
    events = drain(conn)
    assert events == [ws.Message(data), ws.Message(s)]
    assert type(events[0].data) is bytes  # type: ignore[union-attr]
    assert conn.output() == b"" and conn.buffered == 0 and conn.state == ws.OPEN


def test_empty_messages_are_messages() -> None:
    assert run(frame(fr.OP_TEXT) + frame(fr.OP_BINARY)) == [ws.Message(""), ws.Message(b"")]


def test_empty_fragmented_message() -> None:
    events = run(frame(fr.OP_TEXT, fin=False) + frame(fr.OP_CONTINUATION, fin=False)
                 + frame(fr.OP_CONTINUATION))
    assert events == [ws.Message("")]


@pytest.mark.usefixtures("mask_impl")
def test_byte_by_byte_feeding() -> None:
    stream = (text("hello") + frame(fr.OP_BINARY, os.urandom(300)) + frame(fr.OP_PING, b"p")
              + text("κόσμε", fin=False) + frame(fr.OP_CONTINUATION, "ü".encode()))
    whole = run(stream)
    conn = ws.WebSocketConnection()
    events = []
    for i in range(len(stream)):
        conn.feed(stream[i:i + 1])
        events += drain(conn)
    assert events == whole
    assert [type(e) for e in events] == [ws.Message, ws.Message, ws.Ping, ws.Message]
    assert events[-1] == ws.Message("κόσμεü")


def test_different_masks_per_frame() -> None:
    events = run(text("abc", mask=b"\x00\x00\x00\x00") + text("abc", mask=b"\xff\xff\xff\xff")
                 + text("abc", mask=os.urandom(4)))
    assert events == [ws.Message("abc")] * 3


def test_message_data_is_immutable_bytes_and_str() -> None:
    [binary, txt] = run(frame(fr.OP_BINARY, b"x" * 1000, fin=False)
                        + frame(fr.OP_CONTINUATION, b"y")
                        + text("t", fin=False) + frame(fr.OP_CONTINUATION, b"u"))
    assert binary == ws.Message(b"x" * 1000 + b"y") and type(binary.data) is bytes  # type: ignore[union-attr]
    assert txt == ws.Message("tu")


# -- fragmentation (§5.4) --------------------------------------------------------------


def test_fragmented_message_with_interleaved_control_frames() -> None:
    # §5.4: "Control frames MAY be injected in the middle of a fragmented message."
    conn = ws.WebSocketConnection()
    conn.feed(frame(fr.OP_TEXT, b"Hel", fin=False) + frame(fr.OP_PING, b"1")
              + frame(fr.OP_CONTINUATION, b"lo", fin=False) + frame(fr.OP_PONG, b"2")
              + frame(fr.OP_PING, b"3") + frame(fr.OP_CONTINUATION, b", world"))
    assert drain(conn) == [ws.Ping(b"1"), ws.Pong(b"2"), ws.Ping(b"3"), ws.Message("Hello, world")]
    # §5.5.2: each ping answered with a pong carrying the same application data.
    assert conn.output() == b"\x8a\x011\x8a\x013"
    assert conn.output() == b""


def test_fragmented_binary_message() -> None:
    parts = [os.urandom(n) for n in (1, 0, 126, 70000, 5)]
    stream = frame(fr.OP_BINARY, parts[0], fin=False)
    for part in parts[1:-1]:
        stream += frame(fr.OP_CONTINUATION, part, fin=False)
    stream += frame(fr.OP_CONTINUATION, parts[-1])
    assert run(stream) == [ws.Message(b"".join(parts))]


def test_continuation_without_a_message_is_1002() -> None:
    assert_fails(frame(fr.OP_CONTINUATION, b"x"), 1002)
    assert_fails(text("a") + frame(fr.OP_CONTINUATION, b"x"), 1002)


@pytest.mark.parametrize("opcode", [fr.OP_TEXT, fr.OP_BINARY])
def test_new_message_inside_a_fragmented_one_is_1002(opcode: int) -> None:
    assert_fails(frame(fr.OP_TEXT, b"a", fin=False) + frame(opcode, b"b"), 1002)


# -- framing errors --------------------------------------------------------------------


def test_unmasked_frame_is_1002() -> None:
    # §5.1: "The server MUST close the connection upon receiving a frame that is not
    # masked ... with a status code of 1002."
    assert_fails(b"\x81\x05hello", 1002)
    assert_fails(b"\x89\x00", 1002)
    assert_fails(b"\x81\x7e\x00\xc8" + bytes(200), 1002)


@pytest.mark.parametrize("rsv", [fr.RSV2, fr.RSV3, fr.RSV2 | fr.RSV3, fr.RSV1 | fr.RSV2])
@pytest.mark.parametrize("opcode", [fr.OP_TEXT, fr.OP_BINARY, fr.OP_PING])
def test_rsv2_rsv3_are_1002(rsv: int, opcode: int) -> None:
    # §5.2: "MUST be 0 unless an extension is negotiated that defines meanings".
    assert_fails(frame(opcode, b"x", rsv=rsv), 1002)


def test_rsv1_without_deflate_is_1002() -> None:
    assert_fails(frame(fr.OP_TEXT, b"x", rsv=fr.RSV1), 1002)
    assert_fails(frame(fr.OP_BINARY, b"x", rsv=fr.RSV1), 1002)


@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF])
def test_reserved_opcodes_are_1002(opcode: int) -> None:
    # §5.2: "If an unknown opcode is received, the receiving endpoint MUST _Fail the
    # WebSocket Connection_."
    failure = assert_fails(frame(opcode, b"x"), 1002)
    assert "opcode" in failure.reason


@pytest.mark.parametrize("opcode", [fr.OP_PING, fr.OP_PONG, fr.OP_CLOSE])
def test_control_frame_over_125_bytes_is_1002(opcode: int) -> None:
    # §5.5: "All control frames MUST have a payload length of 125 bytes or less".
    assert_fails(frame(opcode, b"\x03\xe8" + bytes(124)), 1002)
    # Detected from the header alone.
    assert_fails(frame(opcode, bytes(126))[:8], 1002)


@pytest.mark.parametrize("opcode", [fr.OP_PING, fr.OP_PONG, fr.OP_CLOSE])
def test_fragmented_control_frame_is_1002(opcode: int) -> None:
    # §5.5: "Control frames ... MUST NOT be fragmented."
    assert_fails(frame(opcode, b"", fin=False), 1002)


def test_control_frame_of_125_bytes_is_fine() -> None:
    conn = ws.WebSocketConnection()
    conn.feed(frame(fr.OP_PING, bytes(125)))
    assert drain(conn) == [ws.Ping(bytes(125))]
    assert conn.output() == b"\x8a\x7d" + bytes(125)


def test_64_bit_length_with_msb_set_is_1002() -> None:
    # §5.2: "the most significant bit MUST be 0"; detected from the header alone.
    assert_fails(b"\x82\xff" + struct.pack("!Q", 1 << 63) + MASK, 1002)
    assert_fails(b"\x82\xff" + struct.pack("!Q", (1 << 64) - 1) + MASK, 1002)


@pytest.mark.parametrize("length_bytes, n", [(2, 0), (2, 125), (8, 125), (8, 65535)])
def test_non_minimal_length_is_1002(length_bytes: int, n: int) -> None:
    # §5.2: "the minimal number of bytes MUST be used to encode the length".
    assert_fails(frame(fr.OP_BINARY, bytes(n), length_bytes=length_bytes), 1002)
    assert_fails(frame(fr.OP_TEXT, bytes(n), length_bytes=length_bytes), 1002)


# -- message size (1009) ---------------------------------------------------------------


def test_too_big_detected_from_the_header() -> None:
    # §7.4.1 1009; a 1 GiB frame is refused when its header arrives.
    conn = ws.WebSocketConnection(max_message_size=1000)
    header = frame(fr.OP_BINARY, bytes(1001))[:8]
    assert_fails(header, 1009, conn)
    conn = ws.WebSocketConnection()
    assert_fails(b"\x82\xff" + struct.pack("!Q", 1 << 30) + MASK, 1009, conn)


def test_message_of_exactly_the_limit_is_fine() -> None:
    conn = ws.WebSocketConnection(max_message_size=1000)
    assert run(frame(fr.OP_BINARY, bytes(1000)), conn) == [ws.Message(bytes(1000))]


def test_fragments_sum_against_the_limit() -> None:
    conn = ws.WebSocketConnection(max_message_size=10)
    conn.feed(frame(fr.OP_TEXT, b"12345", fin=False)
              + frame(fr.OP_CONTINUATION, b"12345", fin=False))
    assert drain(conn) == []
    assert_fails(frame(fr.OP_CONTINUATION, b"1")[:6], 1009, conn)


def test_limit_is_per_message() -> None:
    conn = ws.WebSocketConnection(max_message_size=10)
    stream = b"".join(text("0123456789") for _ in range(5))
    assert run(stream, conn) == [ws.Message("0123456789")] * 5


def test_small_limit_disables_the_fast_path_but_works() -> None:
    conn = ws.WebSocketConnection(max_message_size=3)
    assert run(text("abc") + frame(fr.OP_BINARY, b"") + text("é"), conn) == [
        ws.Message("abc"), ws.Message(b""), ws.Message("é")]
    assert_fails(text("abcd"), 1009, conn)


def test_no_limit() -> None:
    conn = ws.WebSocketConnection(max_message_size=None)
    data = os.urandom(17 * 1024 * 1024)
    assert run(frame(fr.OP_BINARY, data), conn) == [ws.Message(data)]


def test_default_limit_is_16_mib() -> None:
    conn = ws.WebSocketConnection()
    assert_fails(frame(fr.OP_BINARY, b"")[:2].replace(b"\x80", b"\xff")
                 + struct.pack("!Q", 16 * 1024 * 1024 + 1) + MASK, 1009, conn)


# -- UTF-8 (§8.1), failing fast ------------------------------------------------------------

#: Autobahn 6.4.x: "κόσμε" followed by an encoded surrogate (ED A0 80), then more text.
KOSME_BAD = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"
#: The index of the byte after which the sequence can no longer be valid UTF-8.
KOSME_FAIL_AT = KOSME_BAD.index(b"\xed\xa0") + 1


@pytest.mark.usefixtures("mask_impl")
def test_invalid_utf8_single_frame_fails_as_soon_as_the_bad_byte_arrives() -> None:
    stream = frame(fr.OP_TEXT, KOSME_BAD)
    header = len(stream) - len(KOSME_BAD)
    conn = ws.WebSocketConnection()
    for i in range(len(stream)):
        conn.feed(stream[i:i + 1])
        events = drain(conn)
        if i < header + KOSME_FAIL_AT:
            assert events == [], i
        else:
            assert [(type(e), e.code) for e in events] == [(ws.ProtocolFailure, 1007)]  # type: ignore[union-attr]
            assert close_frame_code(conn.output()) == 1007
            return
    raise AssertionError("never failed")


@pytest.mark.parametrize("split", range(len(KOSME_BAD) + 1))
def test_invalid_utf8_fails_fast_across_fragments(split: int) -> None:
    # The payload split into two fragments at every offset; the second fragment's bytes
    # arrive one at a time. The failure comes exactly when ED A0 has arrived.
    first = frame(fr.OP_TEXT, KOSME_BAD[:split], fin=False)
    second = frame(fr.OP_CONTINUATION, KOSME_BAD[split:])
    conn = ws.WebSocketConnection()
    conn.feed(first)
    events = drain(conn)
    if split > KOSME_FAIL_AT:
        assert [type(e) for e in events] == [ws.ProtocolFailure]
        assert events[0].code == 1007  # type: ignore[union-attr]
        assert close_frame_code(conn.output()) == 1007
        return
    assert events == []
    header = len(second) - len(KOSME_BAD[split:])
    for i in range(len(second)):
        conn.feed(second[i:i + 1])
        events = drain(conn)
        payload_seen = split + max(0, i + 1 - header)
        if payload_seen <= KOSME_FAIL_AT:
            assert events == [], (split, i)
        else:
            assert [type(e) for e in events] == [ws.ProtocolFailure]
            assert events[0].code == 1007  # type: ignore[union-attr]
            assert close_frame_code(conn.output()) == 1007
            return
    raise AssertionError("never failed")


@pytest.mark.parametrize("bad", [b"\xff", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xf4\x90\x80\x80",
                                 b"\xf8\x88\x80\x80\x80", b"\x80", b"a\xedb"])
def test_invalid_utf8_detected_in_the_first_bytes_of_a_big_frame(bad: bytes) -> None:
    conn = ws.WebSocketConnection()
    stream = frame(fr.OP_TEXT, bad + bytes(100_000))
    assert_fails(stream[:14 + len(bad)], 1007, conn)


def test_truncated_sequence_at_a_fragment_end_is_fine() -> None:
    # "κ" = CE BA split between fragments; "€" = E2 82 AC split twice.
    events = run(frame(fr.OP_TEXT, b"\xce", fin=False)
                 + frame(fr.OP_CONTINUATION, b"\xba\xe2", fin=False)
                 + frame(fr.OP_CONTINUATION, b"\x82", fin=False)
                 + frame(fr.OP_CONTINUATION, b"\xac"))
    assert events == [ws.Message("κ€")]


@pytest.mark.parametrize("tail", [b"\xce", b"\xe2\x82", b"\xf0\x9f\x98"])
def test_truncated_sequence_at_the_message_end_is_1007(tail: bytes) -> None:
    assert_fails(frame(fr.OP_TEXT, b"ok" + tail), 1007)
    assert_fails(frame(fr.OP_TEXT, b"ok", fin=False) + frame(fr.OP_CONTINUATION, tail), 1007)


@pytest.mark.parametrize("payload", [b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xef\xbf\xbe",
                                     b"\xf4\x8f\xbf\xbf", b"\xf0\x90\x80\x80", b"\x7f"])
def test_utf8_boundaries(payload: bytes) -> None:
    try:
        expected = payload.decode()
    except UnicodeDecodeError:
        assert_fails(frame(fr.OP_TEXT, payload), 1007)
        assert_fails(frame(fr.OP_TEXT, payload[:2], fin=False)
                     + frame(fr.OP_CONTINUATION, payload[2:]), 1007)
    else:
        assert run(frame(fr.OP_TEXT, payload)) == [ws.Message(expected)]
        assert run(frame(fr.OP_TEXT, payload[:2], fin=False)
                   + frame(fr.OP_CONTINUATION, payload[2:])) == [ws.Message(expected)]


def test_binary_messages_are_not_utf8_checked() -> None:
    assert run(frame(fr.OP_BINARY, b"\xff\xed\xa0\x80")) == [ws.Message(b"\xff\xed\xa0\x80")]


# -- ping / pong (§5.5.2, §5.5.3) -------------------------------------------------------


def test_ping_is_answered_with_the_same_payload() -> None:
    conn = ws.WebSocketConnection()
    conn.feed(frame(fr.OP_PING, b"hello") + frame(fr.OP_PING))
    assert drain(conn) == [ws.Ping(b"hello"), ws.Ping(b"")]
    assert conn.output() == b"\x8a\x05hello\x8a\x00"


def test_pong_is_reported_not_answered() -> None:
    conn = ws.WebSocketConnection()
    assert run(frame(fr.OP_PONG, b"x"), conn) == [ws.Pong(b"x")]
    assert conn.output() == b""


# -- closing handshake -----------------------------------------------------------------


def test_client_initiated_close() -> None:
    conn = ws.WebSocketConnection()
    conn.feed(frame(fr.OP_CLOSE, b"\x03\xe8bye") + text("ignored"))
    assert drain(conn) == [ws.CloseReceived(1000, "bye")]
    assert conn.state == ws.CLOSED
    assert (conn.close_code, conn.close_reason) == (1000, "bye")
    # §5.5.1: the reply echoes the status code.
    assert conn.output() == b"\x88\x02\x03\xe8"
    assert conn.buffered == 0
    conn.feed(text("after"))
    assert conn.next_event() is None and conn.buffered == 0
    assert conn.send_close() == b""
    with pytest.raises(ws.ConnectionClosedError):
        conn.send_text("x")


def test_close_without_payload_is_1005_and_answered_1000() -> None:
    conn = ws.WebSocketConnection()
    assert run(frame(fr.OP_CLOSE), conn) == [ws.CloseReceived(1005, "")]
    assert close_frame_code(conn.output()) == 1000
    assert conn.close_code == 1005


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012,
                                  1013, 1014, 3000, 3999, 4000, 4999])
def test_close_code_is_echoed(code: int) -> None:
    conn = ws.WebSocketConnection()
    assert run(frame(fr.OP_CLOSE, struct.pack("!H", code) + "é".encode()), conn) == [
        ws.CloseReceived(code, "é")]
    assert close_frame_code(conn.output()) == code


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535])
def test_invalid_close_code_is_1002(code: int) -> None:
    # §7.4: 1005 and 1006 "MUST NOT be set as a status code in a Close control frame".
    assert_fails(frame(fr.OP_CLOSE, struct.pack("!H", code)), 1002)


def test_one_byte_close_payload_is_1002() -> None:
    assert_fails(frame(fr.OP_CLOSE, b"\x03"), 1002)


def test_close_reason_not_utf8_is_1007() -> None:
    assert_fails(frame(fr.OP_CLOSE, b"\x03\xe8\xff"), 1007)
    assert_fails(frame(fr.OP_CLOSE, b"\x03\xe8\xed\xa0\x80"), 1007)


def test_close_in_the_middle_of_a_fragmented_message() -> None:
    conn = ws.WebSocketConnection()
    conn.feed(frame(fr.OP_TEXT, b"part", fin=False) + frame(fr.OP_CLOSE, b"\x03\xe9"))
    assert drain(conn) == [ws.CloseReceived(1001, "")]
    assert close_frame_code(conn.output()) == 1001


def test_server_initiated_close() -> None:
    conn = ws.WebSocketConnection()
    out = conn.send_close(1000, "bye")
    assert out == b"\x88\x05\x03\xe8bye"
    assert conn.state == ws.CLOSING
    assert conn.send_close(1000) == b""  # only one close frame
    with pytest.raises(ws.ConnectionClosedError):
        conn.send_text("x")
    with pytest.raises(ws.ConnectionClosedError):
        conn.send_bytes(b"x")
    with pytest.raises(ws.ConnectionClosedError):
        conn.send_ping()
    # While CLOSING, data frames are dropped (§1.4) and pings not answered (§5.5.1: no
    # frame after our close); the peer's close completes the handshake with no reply.
    conn.feed(text("dropped") + frame(fr.OP_BINARY, b"x" * 300, fin=False)
              + frame(fr.OP_PING, b"p") + frame(fr.OP_CONTINUATION, b"y") + frame(fr.OP_PONG, b"q"))
    assert drain(conn) == [ws.Ping(b"p"), ws.Pong(b"q")]
    assert conn.output() == b""
    conn.feed(frame(fr.OP_CLOSE, b"\x03\xe8"))
    assert drain(conn) == [ws.CloseReceived(1000, "")]
    assert conn.state == ws.CLOSED and conn.output() == b""


def test_closing_still_checks_framing() -> None:
    conn = ws.WebSocketConnection()
    conn.send_close()
    failure = assert_fails_without_close_frame(b"\x81\x01x", conn)
    assert failure.code == 1002


def assert_fails_without_close_frame(data: bytes,
                                     conn: ws.WebSocketConnection) -> ws.ProtocolFailure:
    conn.feed(data)
    events = drain(conn)
    assert len(events) == 1 and isinstance(events[0], ws.ProtocolFailure)
    # We already sent a close: no second one (§5.5.1).
    assert conn.output() == b"" and conn.state == ws.CLOSED
    return events[0]


def test_closing_drops_invalid_utf8_and_big_messages() -> None:
    conn = ws.WebSocketConnection(max_message_size=10)
    conn.send_close()
    conn.feed(frame(fr.OP_TEXT, b"\xff" * 20) + frame(fr.OP_CLOSE, b"\x03\xe8"))
    assert drain(conn) == [ws.CloseReceived(1000, "")]


def test_invalid_close_while_closing() -> None:
    conn = ws.WebSocketConnection()
    conn.send_close(4000)
    assert assert_fails_without_close_frame(frame(fr.OP_CLOSE, b"\x03"), conn).code == 1002


# -- send_* ------------------------------------------------------------------------------


@pytest.mark.parametrize("n, header", [
    (0, b"\x81\x00"), (125, b"\x81\x7d"), (126, b"\x81\x7e\x00\x7e"),
    (65536, b"\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00"),
])
def test_send_text(n: int, header: bytes) -> None:
    conn = ws.WebSocketConnection()
    assert conn.send_text("a" * n) == header + b"a" * n


@pytest.mark.parametrize("n, header", [(0, b"\x82\x00"), (125, b"\x82\x7d"),
                                       (65535, b"\x82\x7e\xff\xff")])
def test_send_bytes(n: int, header: bytes) -> None:
    conn = ws.WebSocketConnection()
    data = os.urandom(n)
    assert conn.send_bytes(data) == header + data
    assert conn.send_bytes(bytearray(data)) == header + data
    assert conn.send_bytes(memoryview(data)) == header + data


def test_send_type_errors() -> None:
    conn = ws.WebSocketConnection()
    with pytest.raises(TypeError):
        conn.send_text(b"x")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        conn.send_bytes("x")  # type: ignore[arg-type]
    with pytest.raises(UnicodeEncodeError):
        conn.send_text("\ud800")


def test_send_ping_and_pong() -> None:
    conn = ws.WebSocketConnection()
    assert conn.send_ping() == b"\x89\x00"
    assert conn.send_ping(b"abc") == b"\x89\x03abc"
    assert conn.send_pong(b"abc") == b"\x8a\x03abc"
    with pytest.raises(ValueError):
        conn.send_ping(bytes(126))
    with pytest.raises(ValueError):
        conn.send_pong(bytes(126))


@pytest.mark.parametrize("code", [0, 999, 1004, 1006, 1015, 1016, 2999, 5000, "1000", 1000.0])
def test_send_close_refuses_codes_we_may_not_send(code: object) -> None:
    conn = ws.WebSocketConnection()
    with pytest.raises(ValueError):
        conn.send_close(code)  # type: ignore[arg-type]
    assert conn.state == ws.OPEN


def test_send_close_1005_sends_no_status() -> None:
    conn = ws.WebSocketConnection()
    with pytest.raises(ValueError):
        conn.send_close(1005, "reason without a code")
    assert conn.send_close(1005) == b"\x88\x00"
    assert conn.state == ws.CLOSING


def test_send_close_reason_limit_counts_utf8_bytes() -> None:
    conn = ws.WebSocketConnection()
    with pytest.raises(ValueError):
        conn.send_close(1000, "é" * 62)  # 124 bytes
    with pytest.raises(ValueError):
        conn.send_close(1000, "x" * 124)
    out = conn.send_close(3000, "é" * 61 + "x")  # 123 bytes: the largest allowed
    assert len(out) == 2 + 125 and close_frame_code(out) == 3000


def test_send_close_after_close_received_returns_nothing() -> None:
    conn = ws.WebSocketConnection()
    run(frame(fr.OP_CLOSE, b"\x03\xe8"), conn)
    conn.output()
    assert conn.send_close(1000) == b""


# -- buffering and state ---------------------------------------------------------------


def test_buffered_counts_unconsumed_bytes() -> None:
    conn = ws.WebSocketConnection()
    stream = frame(fr.OP_BINARY, bytes(1000))
    conn.feed(stream[:5])
    assert conn.next_event() is None and conn.buffered == 5  # header incomplete
    conn.feed(stream[5:500])
    assert conn.next_event() is None
    assert conn.buffered == 0  # the arrived payload was consumed into the message
    conn.feed(stream[500:])
    assert conn.next_event() == ws.Message(bytes(1000)) and conn.buffered == 0


def test_buffered_grows_while_events_are_not_pulled() -> None:
    conn = ws.WebSocketConnection()
    conn.feed(text("a") * 10)
    assert conn.buffered == 70
    conn.next_event()
    assert conn.buffered == 63


def test_partial_control_frame_waits() -> None:
    conn = ws.WebSocketConnection()
    stream = frame(fr.OP_PING, b"12345")
    conn.feed(stream[:-1])
    assert conn.next_event() is None and conn.buffered == len(stream) - 1
    conn.feed(stream[-1:])
    assert conn.next_event() == ws.Ping(b"12345")


def test_failure_drops_the_rest_and_ignores_later_input() -> None:
    conn = ws.WebSocketConnection()
    conn.feed(text("ok") + b"\x81\x01x" + text("never"))
    events = drain(conn)
    assert events[0] == ws.Message("ok") and isinstance(events[1], ws.ProtocolFailure)
    assert len(events) == 2 and conn.buffered == 0
    conn.feed(text("more"))
    assert conn.next_event() is None and conn.buffered == 0
    assert conn.close_code is None


def test_events_compare_and_repr() -> None:
    assert ws.Message("a") == ws.Message("a") and ws.Message("a") != ws.Message(b"a")
    assert ws.Ping(b"") != ws.Pong(b"")
    assert ws.CloseReceived(1000, "") != ws.ProtocolFailure(1000, "")
    assert repr(ws.Message("a")) == "Message(data='a')"
    assert "OPEN" in repr(ws.WebSocketConnection())


# -- the incremental UTF-8 decoder ---------------------------------------------------------

#: RFC 3629 §4: the second byte's range for each lead byte (then 80..BF tails).
_SECOND = {**dict.fromkeys(range(0xC2, 0xE0), (0x80, 0xBF)), 0xE0: (0xA0, 0xBF),
           **dict.fromkeys(range(0xE1, 0xED), (0x80, 0xBF)), 0xED: (0x80, 0x9F),
           0xEE: (0x80, 0xBF), 0xEF: (0x80, 0xBF), 0xF0: (0x90, 0xBF),
           **dict.fromkeys(range(0xF1, 0xF4), (0x80, 0xBF)), 0xF4: (0x80, 0x8F)}


def possible_prefix(seq: bytes) -> bool:
    """Whether ``seq`` (one lead byte and what followed) can still become a valid
    RFC 3629 UTF8-char, or already is one."""
    lead = seq[0]
    if lead < 0x80:
        return len(seq) == 1
    if lead not in _SECOND:
        return False
    size = 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
    if len(seq) > size:
        return False
    if len(seq) > 1:
        low, high = _SECOND[lead]
        if not low <= seq[1] <= high:
            return False
    return all(0x80 <= b <= 0xBF for b in seq[2:])


def test_utf8_decoder_fails_exactly_when_no_completion_is_possible() -> None:
    # Every lead byte with every second byte, and every 3-byte prefix with a valid second
    # byte and a third byte at the edges of the tail range (RFC 3629 §4).
    candidates = [bytes([a]) for a in range(256)]
    candidates += [bytes([a, b]) for a in range(0xC0, 0x100) for b in range(256)]
    candidates += [bytes([a, b, c]) for a in range(0xE0, 0xF5) for b in range(0x80, 0xC0)
                   for c in (0x00, 0x7F, 0x80, 0xBF, 0xC0, 0xFF)]
    for seq in candidates:
        decoder = Utf8Decoder()
        try:
            decoder.decode(b"ok" + seq)
            failed = False
        except UnicodeDecodeError:
            failed = True
        assert failed is not possible_prefix(seq), seq.hex()


def test_utf8_decoder_final() -> None:
    decoder = Utf8Decoder()
    assert decoder.decode(b"\xe2\x82") == ""
    assert decoder.decode(b"\xac", final=True) == "€"
    with pytest.raises(UnicodeDecodeError):
        Utf8Decoder().decode(b"\xe2\x82", final=True)
