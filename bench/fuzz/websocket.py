"""Fuzz target: the WebSocket frame parser and connection state machine
(``reference_server.websocket.frames`` and ``.connection``), with and without
permessage-deflate.

Input: one byte choosing the configuration (message size limit, whether
permessage-deflate was negotiated and with which parameters), one byte choosing where the
stream is cut, then the client's bytes. The stream is fed whole, cut at random places,
and (when short) one byte at a time.

Invariants (RFC 6455, RFC 7692; the contract in ``websocket/connection.py``):

- ``next_event`` never raises: a client's mistake is a :class:`ProtocolFailure` event with
  close code 1002, 1007 or 1009 (§7.4.1), and the close frame that fails the connection is
  the last frame queued (§7.1.7);
- nothing is reported after a CloseReceived or a ProtocolFailure, and a CLOSED
  connection buffers nothing and ignores what is fed;
- a text message is a ``str`` and a binary one ``bytes``, never larger than the limit;
- segmentation independence: the events and the frames the protocol writes (pongs,
  close replies) are the same however the stream is cut, with one known exception: a
  compressed text message whose deflate data is corrupt *and* whose inflated prefix is
  invalid UTF-8 fails with 1002 when the corruption arrives in the same read as the bad
  UTF-8 (zlib discards the output of a call that fails) and with 1007 when the bad UTF-8
  arrives first (§8.1 asks to fail as soon as it is seen). Both fail the connection;
  only the code differs, and only for a message broken twice (the same holds for a
  message over the size limit once inflated, 1009, see the deflate target);
- bounded state: when the connection asks for more bytes it holds at most one frame
  header and one control frame's payload, and the message being reassembled never
  exceeds the message size limit;
- termination: each feed is answered None within a number of calls proportional to the
  bytes fed.
"""

from __future__ import annotations

from typing import Any

from bench.fuzz.common import BYTEWISE_MAX, Input, bytewise, cut
from reference_server.websocket import (
    CLOSED,
    CloseReceived,
    Message,
    PerMessageDeflate,
    Ping,
    Pong,
    ProtocolFailure,
    WebSocketConnection,
)
from reference_server.websocket.frames import (
    MAX_CONTROL_PAYLOAD,
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    RSV1,
    encode_close_payload,
    encode_frame,
    encode_masked_frame,
)

FAILURE_CODES = frozenset((1002, 1007, 1009))
#: Longest frame header (2 bytes, 8 of extended length, 4 of mask) plus the largest
#: control payload: the most a connection waiting for data may hold (module docstring).
MAX_WAITING = 14 + MAX_CONTROL_PAYLOAD
SIZES = (None, 0, 10, 1000, 1 << 16, 1 << 20)
DEFLATES: tuple[dict[str, Any] | None, ...] = (
    None,
    {},
    {"client_no_context_takeover": True},
    {"client_max_window_bits": 9},
    {"client_max_window_bits": 8, "client_no_context_takeover": True},
)

Transcript = tuple[list[Any], bytes]


def message_size(parts: list[Any]) -> int:
    return sum(len(p.encode("utf-8", "surrogatepass")) if isinstance(p, str) else len(p)
               for p in parts)


def run(pieces: list[bytes], max_size: int | None, deflate: dict[str, Any] | None,
        ) -> Transcript:
    conn = WebSocketConnection(
        max_message_size=max_size,
        deflate=None if deflate is None else PerMessageDeflate(**deflate))
    events: list[Any] = []
    output = b""
    for piece in pieces:
        conn.feed(piece)
        budget = 2 * conn.buffered + 8
        for _ in range(budget):
            event = conn.next_event()
            if event is None:
                break
            assert not events or not isinstance(events[-1], CloseReceived | ProtocolFailure), \
                f"{event!r} after {events[-1]!r}"
            if isinstance(event, Message):
                assert isinstance(event.data, str | bytes), event
                if max_size is not None:
                    size = len(event.data.encode() if isinstance(event.data, str)
                               else event.data)
                    assert size <= max_size, f"a {size}-byte message over the limit {max_size}"
            elif isinstance(event, ProtocolFailure):
                assert event.code in FAILURE_CODES, event
                assert conn.state == CLOSED
                # §7.1.7: the failing close frame is the last thing queued (unless we had
                # sent a close already, which this target never does).
                close = encode_frame(OP_CLOSE, encode_close_payload(event.code, event.reason))
                assert (output + conn._out).endswith(close), event
            elif isinstance(event, CloseReceived):
                assert conn.state == CLOSED
            else:
                assert isinstance(event, Ping | Pong), event
            events.append(event)
        else:
            raise AssertionError(f"next_event() did not return None within {budget} calls")
        output += conn.output()
        if conn.state == CLOSED:
            assert conn.buffered == 0, "a CLOSED connection keeps bytes"
        else:
            assert conn.buffered <= MAX_WAITING, \
                f"{conn.buffered} bytes buffered waiting for data (at most {MAX_WAITING})"
        if max_size is not None:
            held = message_size(conn._parts)
            assert held <= max_size, f"{held} bytes of a message held (limit {max_size})"
    if conn.state == CLOSED:
        conn.feed(b"\x81\x80abcd")
        assert conn.next_event() is None and conn.buffered == 0
    return events, output


def same(split: Transcript, whole: Transcript, deflate: bool) -> bool:
    """Equal transcripts, allowing the one known difference (module docstring): the last
    event a 1007 for invalid UTF-8 in one and a 1002 for corrupt deflate data in the
    other, with the same events before it."""
    if split == whole:
        return True
    a, b = split[0], whole[0]
    if not deflate or not a or len(a) != len(b) or a[:-1] != b[:-1]:
        return False
    codes = {e.code for e in (a[-1], b[-1]) if isinstance(e, ProtocolFailure)}
    return codes in ({1007, 1002}, {1009, 1002})


def one_input(data: bytes) -> None:
    source = Input(data)
    config = source.byte()
    max_size = SIZES[config % len(SIZES)]
    deflate = DEFLATES[(config // len(SIZES)) % len(DEFLATES)]
    seed = source.byte()
    stream = source.rest()
    whole = run([stream], max_size, deflate)
    split = run(cut(stream, seed), max_size, deflate)
    compressed = deflate is not None
    assert same(split, whole, compressed), f"cut at random places: {split!r}\nwhole: {whole!r}"
    if len(stream) <= BYTEWISE_MAX:
        single = run(bytewise(stream), max_size, deflate)
        assert same(single, whole, compressed), f"one byte at a time: {single!r}\nwhole: {whole!r}"


def seed_inputs() -> dict[str, bytes]:
    """Valid client streams (masked frames, RFC 6455 §5): messages whole and fragmented,
    control frames between fragments, a compressed message, a close."""
    mask = b"\x12\x34\x56\x78"
    text = encode_masked_frame(OP_TEXT, b"hello", mask)
    binary = encode_masked_frame(OP_BINARY, bytes(range(200)), mask)
    fragmented = (encode_masked_frame(OP_TEXT, "h\u00e9l".encode(), mask, fin=False)
                  + encode_masked_frame(OP_PING, b"p", mask)
                  + encode_masked_frame(OP_CONTINUATION, "lo \u2603".encode(), mask))
    control = (encode_masked_frame(OP_PING, b"ping", mask)
               + encode_masked_frame(OP_PONG, b"", mask))
    close = encode_masked_frame(OP_CLOSE, encode_close_payload(1000, "bye"), mask)
    # "Hello" compressed as RFC 7692 §7.2.3.1 shows it (sync flush, tail removed).
    compressed = encode_masked_frame(OP_TEXT, b"\xf2\x48\xcd\xc9\xc9\x07\x00", mask, rsv=RSV1)
    plain = 2  # SIZES[2] with DEFLATES[0]: a 10-byte limit, no deflate ...
    default = 5  # ... SIZES[5]: 1 MiB, no deflate
    deflated = 5 + len(SIZES)  # 1 MiB, deflate negotiated
    return {
        "text": bytes((default, 3)) + text,
        "binary": bytes((default, 3)) + binary,
        "fragmented": bytes((default, 3)) + fragmented,
        "control": bytes((plain, 3)) + control + text,
        "compressed": bytes((deflated, 3)) + compressed + compressed + close,
        "close": bytes((default, 3)) + text + close,
    }
