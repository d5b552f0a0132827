"""Property tests of the sans-I/O WebSocket connection (hypothesis).

1. A valid client stream (text, binary and fragmented messages, pings and pongs between
   and inside messages, masked with random keys, compressed or not) gives the events it
   was generated from, and the same events and output however the bytes are split: a
   sans-I/O parser must not depend on segmentation (RFC 6455 §5.4: "intermediaries"
   may re-fragment, and TCP may split anywhere).
2. Arbitrary bytes only ever give the documented event types, never raise, and stop at
   the first CloseReceived or ProtocolFailure (with a 1002/1007/1009 close queued),
   with what the connection buffers bounded: checked by the fuzz target's driver
   (bench/fuzz/websocket.py), the one home of those checks.
3. One-byte mutations of a valid stream give the documented events and failure codes.
"""

from __future__ import annotations

import itertools
import zlib
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.fuzz.websocket import run as drive
from reference_server import websocket as ws
from reference_server.websocket import frames as fr

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

masks = st.binary(min_size=4, max_size=4)
control_payloads = st.binary(max_size=125)


@dataclass
class Item:
    """One thing the client sends: a data message (with its fragment boundaries and the
    control frames injected after given fragments) or a lone control frame."""

    kind: str  # "text", "binary", "ping", "pong"
    data: str | bytes
    cuts: list[int]
    injected: list[tuple[int, int, bytes]]  # (after fragment i, opcode, payload)
    compress: bool


@st.composite
def items(draw: st.DrawFn) -> Item:
    kind = draw(st.sampled_from(["text", "binary", "ping", "pong"]))
    if kind in ("ping", "pong"):
        return Item(kind, draw(control_payloads), [], [], False)
    data: str | bytes
    if kind == "text":
        data = draw(st.text(max_size=300))
        size = len(data.encode())
    else:
        big = st.integers(126, 70_000).map(lambda n: bytes(range(256)) * (n // 256))
        data = draw(st.one_of(st.binary(max_size=300), big))
        size = len(data)
    # Fragment boundaries in the (possibly compressed) payload; positions are taken
    # modulo its size when the stream is built.
    cuts = draw(st.lists(st.integers(0, max(size, 1)), max_size=4))
    injected = draw(st.lists(st.tuples(st.integers(0, 4), st.sampled_from([fr.OP_PING, fr.OP_PONG]),
                                       control_payloads), max_size=3))
    return Item(kind, data, cuts, injected, draw(st.booleans()))


def build(stream_items: list[Item], mask_list: list[bytes], deflate: bool,
          ) -> tuple[bytes, list[ws.Event]]:
    """The client's bytes for ``stream_items`` and the events a server must report."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    out = []
    expected: list[ws.Event] = []
    k = 0

    def mask() -> bytes:
        nonlocal k
        k += 1
        return mask_list[k % len(mask_list)]

    for item in stream_items:
        if item.kind in ("ping", "pong"):
            payload = bytes(item.data)  # type: ignore[arg-type]
            opcode = fr.OP_PING if item.kind == "ping" else fr.OP_PONG
            out.append(fr.encode_masked_frame(opcode, payload, mask()))
            expected.append(ws.Ping(payload) if opcode == fr.OP_PING else ws.Pong(payload))
            continue
        raw = item.data.encode() if isinstance(item.data, str) else item.data
        compressed = deflate and item.compress
        if compressed:
            payload = compressor.compress(raw) + compressor.flush(zlib.Z_SYNC_FLUSH)
            payload = payload[:-4]
        else:
            payload = raw
        cuts = sorted({c % (len(payload) + 1) for c in item.cuts})
        bounds = [0, *cuts, len(payload)]
        fragments = [payload[a:b] for a, b in itertools.pairwise(bounds)]
        for i, fragment in enumerate(fragments):
            first = fr.OP_TEXT if item.kind == "text" else fr.OP_BINARY
            opcode = first if i == 0 else fr.OP_CONTINUATION
            rsv = fr.RSV1 if compressed and i == 0 else 0
            out.append(fr.encode_masked_frame(opcode, fragment, mask(), fin=i == len(fragments) - 1,
                                           rsv=rsv))
            if i < len(fragments) - 1:
                # §5.4: control frames between the fragments of a message.
                for after, control, control_payload in item.injected:
                    if after == i:
                        out.append(fr.encode_masked_frame(control, control_payload, mask()))
                        expected.append(ws.Ping(control_payload) if control == fr.OP_PING
                                        else ws.Pong(control_payload))
        expected.append(ws.Message(item.data))
    return b"".join(out), expected


def new_connection(deflate: bool) -> ws.WebSocketConnection:
    return ws.WebSocketConnection(max_message_size=1 << 20,
                               deflate=ws.PerMessageDeflate() if deflate else None)


def feed_all(conn: ws.WebSocketConnection, pieces: list[bytes]) -> tuple[list[ws.Event], bytes]:
    events: list[ws.Event] = []
    output = b""
    for piece in pieces:
        conn.feed(piece)
        for _ in range(len(piece) + 10):  # bounded: a loop that does not consume fails
            event = conn.next_event()
            if event is None:
                break
            events.append(event)
        else:
            raise AssertionError("next_event() did not return None")
        output += conn.output()
    return events, output


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c for c in cuts if 0 < c < len(data)})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


@SETTINGS
@given(st.lists(items(), min_size=1, max_size=6), st.lists(masks, min_size=1, max_size=4),
       st.booleans(), st.lists(st.integers(0, 200_000), max_size=30), st.booleans())
def test_any_split_gives_the_same_events(stream_items: list[Item], mask_list: list[bytes],
                                          deflate: bool, cuts: list[int], close: bool) -> None:
    stream, expected = build(stream_items, mask_list, deflate)
    if close:
        stream += fr.encode_masked_frame(fr.OP_CLOSE, fr.encode_close_payload(1000, "done"),
                                         mask_list[0])
        expected.append(ws.CloseReceived(1000, "done"))
    whole_events, whole_output = feed_all(new_connection(deflate), [stream])
    assert whole_events == expected
    split_events, split_output = feed_all(new_connection(deflate), split(stream, cuts))
    assert split_events == expected
    assert split_output == whole_output
    # One pong per ping, in order, and the close reply last.
    pongs = b"".join(b"\x8a" + bytes([len(e.payload)]) + e.payload
                     for e in expected if isinstance(e, ws.Ping))
    assert whole_output == pongs + (b"\x88\x02\x03\xe8" if close else b"")


@SETTINGS
@given(st.lists(items(), min_size=1, max_size=4), masks)
def test_byte_by_byte(stream_items: list[Item], mask: bytes) -> None:
    stream, _ = build(stream_items, [mask], False)
    stream = stream[:3000]  # bound the cost of one-byte feeding
    events, _ = feed_all(new_connection(False), [stream[i:i + 1] for i in range(len(stream))])
    whole, _ = feed_all(new_connection(False), [stream])
    assert events == whole


@SETTINGS
@given(st.binary(max_size=2000), st.lists(st.integers(0, 2000), max_size=10), st.booleans(),
       st.sampled_from([None, 0, 10, 1 << 20]))
def test_arbitrary_bytes_never_raise(data: bytes, cuts: list[int], deflate: bool,
                                     max_size: int | None) -> None:
    drive(split(data, cuts), max_size, {} if deflate else None)


@st.composite
def masked_garbage(draw: st.DrawFn) -> bytes:
    """Frames with plausible headers (mask bit set, any opcode and flags) and arbitrary
    payloads: reaches deeper than uniform random bytes."""
    out = b""
    for _ in range(draw(st.integers(1, 5))):
        payload = draw(st.binary(max_size=200))
        first = draw(st.integers(0, 255))
        out += fr.encode_masked_frame(first & 0x0F, payload, draw(masks), fin=bool(first & 0x80),
                                   rsv=first & 0x70)
    return out


@SETTINGS
@given(masked_garbage(), st.lists(st.integers(0, 1200), max_size=10), st.booleans())
def test_plausible_garbage_never_raises(data: bytes, cuts: list[int], deflate: bool) -> None:
    drive(split(data, cuts), 1000, {} if deflate else None)


@SETTINGS
@given(st.lists(items(), min_size=1, max_size=4), masks, st.booleans(), st.data())
def test_one_byte_mutations(stream_items: list[Item], mask: bytes, deflate: bool,
                            data: st.DataObject) -> None:
    stream, _ = build(stream_items, [mask], deflate)
    position = data.draw(st.integers(0, len(stream) - 1))
    value = data.draw(st.integers(0, 255))
    mutated = stream[:position] + bytes([value]) + stream[position + 1:]
    drive([mutated], 1 << 20, {} if deflate else None)
