"""permessage-deflate (RFC 7692): negotiation, compression, and its use by the connection:
``reference_server.websocket.deflate``."""

from __future__ import annotations

import os
import tracemalloc
import zlib

import pytest

from reference_server.websocket import (
    DeflateConfig,
    DeflateError,
    Message,
    MessageTooBig,
    PerMessageDeflate,
    ProtocolFailure,
    WebSocketConnection,
    negotiate_deflate,
)
from reference_server.websocket.frames import (
    OP_BINARY,
    OP_CONTINUATION,
    OP_PING,
    OP_TEXT,
    RSV1,
    apply_mask_python,
    parse_header,
)
from tests.reference.test_websocket_connection import (
    assert_fails,
    drain,
    frame,
    run,
)

TAIL = b"\x00\x00\xff\xff"
PMD = "permessage-deflate"


def negotiate(*params: tuple[str, str | None], config: DeflateConfig | None = None,
              ) -> PerMessageDeflate | None:
    return negotiate_deflate([(PMD, list(params))], config or DeflateConfig())


def header(*params: tuple[str, str | None], config: DeflateConfig | None = None) -> bytes | None:
    ext = negotiate(*params, config=config)
    return None if ext is None else ext.response_header()


class Client:
    """A client's side of permessage-deflate, with plain zlib (RFC 7692 §7.2)."""

    def __init__(self, wbits: int = 15, no_context_takeover: bool = False) -> None:
        self.wbits = wbits
        self.no_context_takeover = no_context_takeover
        self.encoder = zlib.compressobj(6, zlib.DEFLATED, -wbits)

    def compress(self, data: bytes) -> bytes:
        if self.no_context_takeover:
            self.encoder = zlib.compressobj(6, zlib.DEFLATED, -self.wbits)
        out = self.encoder.compress(data) + self.encoder.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(TAIL)
        return out[:-4]


def server_frame_payload(out: bytes) -> tuple[int, bytes]:
    parsed = parse_header(out)
    assert parsed is not None
    b0, _, mask, length, header_length = parsed
    assert mask is None and len(out) == header_length + length
    return b0, out[header_length:]


# -- negotiation (RFC 7692 §5, §7.1) -----------------------------------------------------


def test_plain_offer() -> None:
    assert header() == b"permessage-deflate"


def test_disabled() -> None:
    assert negotiate(config=DeflateConfig(enabled=False)) is None


def test_other_extensions_ignored() -> None:
    assert negotiate_deflate([("x-webkit-deflate-frame", [])], DeflateConfig()) is None
    assert negotiate_deflate([], DeflateConfig()) is None


def test_first_acceptable_offer_wins() -> None:
    # §5.1: an offer with an unknown parameter is declined; the next one may do.
    ext = negotiate_deflate([
        ("x-other", []),
        (PMD, [("unknown", None)]),
        (PMD, [("server_max_window_bits", "10")]),
        (PMD, []),
    ], DeflateConfig())
    assert ext is not None
    assert ext.response_header() == b"permessage-deflate; server_max_window_bits=10"


@pytest.mark.parametrize("params", [
    [("unknown", None)],
    [("server_no_context_takeover", None), ("server_no_context_takeover", None)],
    [("client_max_window_bits", None), ("client_max_window_bits", "10")],
    [("server_no_context_takeover", "1")],
    [("client_no_context_takeover", "true")],
    [("server_max_window_bits", None)],
    [("server_max_window_bits", "7")],
    [("server_max_window_bits", "16")],
    [("server_max_window_bits", "08")],
    [("server_max_window_bits", "+9")],
    [("client_max_window_bits", "7")],
    [("client_max_window_bits", "abc")],
])
def test_invalid_offers_are_declined(params: list[tuple[str, str | None]]) -> None:
    assert negotiate_deflate([(PMD, params)], DeflateConfig()) is None


def test_no_context_takeover_parameters_are_honoured() -> None:
    ext = negotiate(("server_no_context_takeover", None), ("client_no_context_takeover", None))
    assert ext is not None
    assert ext.server_no_context_takeover and ext.client_no_context_takeover
    assert ext.response_header() == (b"permessage-deflate; server_no_context_takeover; "
                                     b"client_no_context_takeover")


@pytest.mark.parametrize("line, answer", [
    (b"permessage-deflate; server_no_context_takeover; client_no_context_takeover",
     b"permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
    (b"permessage-deflate; server_max_window_bits=10; client_max_window_bits=9",
     b"permessage-deflate; server_max_window_bits=10; client_max_window_bits=9"),
])
def test_offers_parsed_off_the_wire_are_honoured(line: bytes, answer: bytes) -> None:
    """The parameters of a real handshake, not literals: names parsed from a request are
    new string objects, so a parameter compared by identity (``is``) instead of value
    would pass the literal-built tests above and decline every client's offer (found by
    mutation testing, bench/mutation_survivors.md)."""
    from tests.reference.test_websocket_handshake import offer

    offers = offer((b"sec-websocket-extensions", line)).extensions
    ext = negotiate_deflate(offers, DeflateConfig())
    assert ext is not None, f"{line!r} declined"
    assert ext.response_header() == answer


def test_config_can_impose_no_context_takeover() -> None:
    config = DeflateConfig(server_no_context_takeover=True, client_no_context_takeover=True)
    assert header(config=config) == (b"permessage-deflate; server_no_context_takeover; "
                                     b"client_no_context_takeover")


@pytest.mark.parametrize("offered, limit, answered, bits", [
    ("10", 15, b"; server_max_window_bits=10", 10),
    ("15", 15, b"; server_max_window_bits=15", 15),  # echoed: accepting means answering it
    ("14", 12, b"; server_max_window_bits=12", 12),
    ("9", 12, b"; server_max_window_bits=9", 9),
    ("8", 15, b"; server_max_window_bits=8", 8),
    (None, 12, b"; server_max_window_bits=12", 12),
    (None, 15, b"", 15),
])
def test_server_max_window_bits(offered: str | None, limit: int, answered: bytes,
                                bits: int) -> None:
    params = [] if offered is None else [("server_max_window_bits", offered)]
    ext = negotiate(*params, config=DeflateConfig(server_max_window_bits=limit))
    assert ext is not None
    assert ext.response_header() == b"permessage-deflate" + answered
    assert ext.server_max_window_bits == bits


@pytest.mark.parametrize("offered, ours, answered, bits", [
    (None, 15, b"", 15),  # offered without a value: nothing to ask
    (None, 10, b"; client_max_window_bits=10", 10),
    ("12", 15, b"; client_max_window_bits=12", 12),
    ("12", 10, b"; client_max_window_bits=10", 10),
    ("8", 15, b"; client_max_window_bits=8", 8),
])
def test_client_max_window_bits(offered: str | None, ours: int, answered: bytes,
                                bits: int) -> None:
    ext = negotiate(("client_max_window_bits", offered),
                    config=DeflateConfig(client_max_window_bits=ours))
    assert ext is not None
    assert ext.response_header() == b"permessage-deflate" + answered
    assert ext.client_max_window_bits == bits


def test_client_max_window_bits_not_offered_means_15() -> None:
    # §7.1.2.2: a client that did not offer the parameter cannot be limited.
    ext = negotiate(config=DeflateConfig(client_max_window_bits=10))
    assert ext is not None
    assert ext.client_max_window_bits == 15 and ext.response_header() == b"permessage-deflate"


def test_config_carries_over() -> None:
    ext = negotiate(config=DeflateConfig(compress_level=1, min_size=64))
    assert ext is not None and ext.min_size == 64


@pytest.mark.parametrize("kwargs", [
    {"server_max_window_bits": 7}, {"server_max_window_bits": 16},
    {"client_max_window_bits": 7}, {"compress_level": 10}, {"mem_level": 0},
    {"min_size": -1},
])
def test_config_validation(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        DeflateConfig(**kwargs)  # type: ignore[arg-type]


def test_default_response_header_from_attributes() -> None:
    ext = PerMessageDeflate(server_no_context_takeover=True, server_max_window_bits=12,
                            client_max_window_bits=9)
    assert ext.response_header() == (b"permessage-deflate; server_no_context_takeover; "
                                     b"server_max_window_bits=12; client_max_window_bits=9")
    assert "server_max_window_bits=12" in repr(ext)
    with pytest.raises(ValueError):
        PerMessageDeflate(server_max_window_bits=16)


# -- compression round trips (RFC 7692 §7.2) -----------------------------------------------


def client_inflater(ext: PerMessageDeflate) -> zlib._Decompress:
    return zlib.decompressobj(wbits=-ext.server_max_window_bits)


@pytest.mark.parametrize("bits", [8, 9, 12, 15])
def test_compress_is_readable_by_a_client_with_the_negotiated_window(bits: int) -> None:
    ext = PerMessageDeflate(server_max_window_bits=bits)
    inflater = zlib.decompressobj(wbits=-bits)
    corpus = (os.urandom(300) + b"the quick brown fox " * 50) * 20
    for _ in range(3):  # with context takeover: later messages refer to earlier ones
        compressed = ext.compress(corpus)
        assert not compressed.endswith(TAIL)
        assert inflater.decompress(compressed + TAIL) == corpus


def test_window_8_is_huffman_only() -> None:
    # zlib cannot deflate with a 256-byte window; Huffman-only output never refers back,
    # so a client inflating with an 8-bit window reads it.
    ext = negotiate(("server_max_window_bits", "8"))
    assert ext is not None and ext.server_max_window_bits == 8
    data = b"abcdefgh" * 1000
    compressed = ext.compress(data)
    assert len(compressed) < len(data)
    assert zlib.decompressobj(wbits=-8).decompress(compressed + TAIL) == data


def test_context_takeover_shrinks_repeated_messages() -> None:
    ext = PerMessageDeflate()
    data = os.urandom(500)
    first = ext.compress(data)
    second = ext.compress(data)
    assert len(second) < len(first) / 4


def test_server_no_context_takeover_messages_stand_alone() -> None:
    # §7.1.1.1: each message must be decodable by a fresh inflater.
    ext = PerMessageDeflate(server_no_context_takeover=True)
    data = os.urandom(500)
    for _ in range(3):
        compressed = ext.compress(data)
        assert zlib.decompressobj(wbits=-15).decompress(compressed + TAIL) == data


def test_empty_message_round_trip() -> None:
    ext = PerMessageDeflate()
    compressed = ext.compress(b"")
    assert zlib.decompressobj(wbits=-15).decompress(compressed + TAIL) == b""
    assert compressed == b"\x00"  # §7.2.3.6
    server = PerMessageDeflate()
    assert server.decompress(b"\x00", True, None) == b""  # §7.2.3.6: an empty message
    assert server.decompress(b"", True, None) == b""  # an empty payload: empty too
    assert server.decompress(b"", False, None) == b""  # empty fragments ...
    assert server.decompress(b"", True, None) == b""
    assert server.decompress(Client().compress(b"next"), True, None) == b"next"


@pytest.mark.parametrize("bits", [8, 9, 15])
def test_decompress_client_messages(bits: int) -> None:
    ext = PerMessageDeflate(client_max_window_bits=bits)
    client = Client(wbits=max(bits, 9))
    for i in range(3):
        data = b"message %d " % i * 100
        assert ext.decompress(client.compress(data), True, None) == data


def test_decompress_fragment_by_fragment() -> None:
    ext = PerMessageDeflate()
    client = Client()
    data = os.urandom(100) * 50
    compressed = client.compress(data)
    pieces = [compressed[i:i + 7] for i in range(0, len(compressed), 7)]
    out = b"".join(ext.decompress(p, False, None) for p in pieces)
    out += ext.decompress(b"", True, None)
    assert out == data


def test_client_no_context_takeover_resets_the_inflater() -> None:
    ext = PerMessageDeflate(client_no_context_takeover=True)
    client = Client(no_context_takeover=True)
    data = b"repeat me " * 30
    for _ in range(3):
        assert ext.decompress(client.compress(data), True, None) == data
    # With takeover the client's second message refers to the first: a reset inflater
    # cannot read it (which is why we only reset when the client agreed not to).
    takeover = Client()
    takeover.compress(data)
    with pytest.raises(DeflateError):
        ext.decompress(takeover.compress(data), True, None)


def test_bfinal_block_ends_the_context() -> None:
    # §7.2.3.4: a message may end with a BFINAL block; the next one starts afresh.
    ext = PerMessageDeflate()
    for data in (b"first " * 20, b"second " * 20):
        encoder = zlib.compressobj(6, zlib.DEFLATED, -15)
        compressed = encoder.compress(data) + encoder.flush(zlib.Z_FINISH)
        assert ext.decompress(compressed, True, None) == data


def test_corrupt_data_is_a_deflate_error() -> None:
    ext = PerMessageDeflate()
    with pytest.raises(DeflateError):
        ext.decompress(b"\xff\xff\xff\xff", True, None)
    # The inflater was discarded: a good message afterwards works.
    assert ext.decompress(Client().compress(b"ok"), True, None) == b"ok"


def test_max_size_exact_fit_and_one_over() -> None:
    data = os.urandom(1000)
    compressed = Client().compress(data)
    assert PerMessageDeflate().decompress(compressed, True, 1000) == data
    with pytest.raises(MessageTooBig):
        PerMessageDeflate().decompress(compressed, True, 999)


def test_decompression_bomb_is_never_inflated() -> None:
    # 64 MiB of zeros compress to ~64 KiB; the limit stops inflation at 1 MiB + 1 byte.
    encoder = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(1 << 20)
    bomb = b"".join(encoder.compress(chunk) for _ in range(64)) + encoder.flush(zlib.Z_SYNC_FLUSH)
    bomb = bomb[:-4]
    assert len(bomb) < 100_000
    ext = PerMessageDeflate()
    tracemalloc.start()
    try:
        with pytest.raises(MessageTooBig):
            ext.decompress(bomb, True, 1 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


# -- the connection with permessage-deflate -------------------------------------------------


def deflate_conn(max_message_size: int | None = 16 * 1024 * 1024,
                 **kwargs: object) -> WebSocketConnection:
    return WebSocketConnection(max_message_size=max_message_size,
                               deflate=PerMessageDeflate(**kwargs))  # type: ignore[arg-type]


def test_compressed_messages_in() -> None:
    conn = deflate_conn()
    client = Client()
    stream = b"".join(frame(OP_TEXT, client.compress(s.encode()), rsv=RSV1)
                      for s in ("héllo", "héllo", ""))
    stream += frame(OP_BINARY, client.compress(b"\x00\xff" * 300), rsv=RSV1)
    stream += frame(OP_TEXT, b"plain")  # RSV1 clear: an uncompressed message (§6)
    assert run(stream, conn) == [Message("héllo"), Message("héllo"), Message(""),
                                 Message(b"\x00\xff" * 300), Message("plain")]


def test_compressed_fragmented_message_with_interleaved_ping() -> None:
    # RFC 7692 §6.1: RSV1 on the first frame only; the fragments are pieces of one
    # compressed payload.
    conn = deflate_conn()
    data = ("κόσμε " * 200).encode()
    compressed = Client().compress(data)
    a, b, c = compressed[:3], compressed[3:10], compressed[10:]
    stream = (frame(OP_TEXT, a, fin=False, rsv=RSV1) + frame(OP_PING, b"p")
              + frame(OP_CONTINUATION, b, fin=False) + frame(OP_CONTINUATION, c))
    events = []
    for i in range(len(stream)):  # and byte by byte
        conn.feed(stream[i:i + 1])
        events += drain(conn)
    assert [type(e) for e in events] == [type(e) for e in run(stream, deflate_conn())]
    assert events[-1] == Message(data.decode())


def test_rsv1_on_continuation_is_1002() -> None:
    compressed = Client().compress(b"abcdef")
    assert_fails(frame(OP_TEXT, compressed[:2], fin=False, rsv=RSV1)
                 + frame(OP_CONTINUATION, compressed[2:], rsv=RSV1), 1002, deflate_conn())


def test_rsv1_on_control_frame_is_1002() -> None:
    assert_fails(frame(OP_PING, b"", rsv=RSV1), 1002, deflate_conn())


def test_corrupt_compressed_message_is_1002() -> None:
    assert_fails(frame(OP_BINARY, b"\xff\xff\xff", rsv=RSV1), 1002, deflate_conn())


def test_compressed_invalid_utf8_is_1007() -> None:
    assert_fails(frame(OP_TEXT, Client().compress(b"ok\xed\xa0\x80"), rsv=RSV1), 1007,
                 deflate_conn())


def test_compressed_utf8_checked_per_fragment() -> None:
    # The invalid byte is in the first fragment's output: the failure comes before the
    # final fragment arrives.
    compressed = Client().compress(b"\xff" + b"a" * 1000)
    conn = deflate_conn()
    conn.feed(frame(OP_TEXT, compressed[:-1], fin=False, rsv=RSV1))
    events = drain(conn)
    assert [type(e) for e in events] == [ProtocolFailure]
    assert events[0].code == 1007  # type: ignore[union-attr]


def test_decompressed_size_limit_is_1009() -> None:
    conn = deflate_conn(max_message_size=10_000)
    bomb = Client().compress(bytes(1_000_000))
    assert len(bomb) < 10_000
    assert_fails(frame(OP_BINARY, bomb, rsv=RSV1), 1009, conn)


def test_decompressed_size_limit_across_fragments() -> None:
    conn = deflate_conn(max_message_size=1000)
    compressed = Client().compress(bytes(1001))
    assert_fails([frame(OP_BINARY, compressed[:4], fin=False, rsv=RSV1),
                  frame(OP_CONTINUATION, compressed[4:])], 1009, conn)
    conn = deflate_conn(max_message_size=1000)
    compressed = Client().compress(bytes(1000))
    assert run(frame(OP_BINARY, compressed[:4], fin=False, rsv=RSV1)
               + frame(OP_CONTINUATION, compressed[4:]), conn) == [Message(bytes(1000))]


def test_compressed_bomb_in_a_connection_uses_bounded_memory() -> None:
    encoder = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = b"".join(encoder.compress(bytes(1 << 20)) for _ in range(32))
    bomb += encoder.flush(zlib.Z_SYNC_FLUSH)
    conn = deflate_conn(max_message_size=1 << 20)
    tracemalloc.start()
    try:
        assert_fails(frame(OP_BINARY, bomb[:-4], rsv=RSV1), 1009, conn)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


def test_send_compressed() -> None:
    conn = deflate_conn()
    inflater = zlib.decompressobj(wbits=-15)
    for _ in range(2):
        b0, payload = server_frame_payload(conn.send_text("héllo " * 50))
        assert b0 == 0x80 | RSV1 | OP_TEXT
        assert inflater.decompress(payload + TAIL) == ("héllo " * 50).encode()
        b0, payload = server_frame_payload(conn.send_bytes(b"\x01" * 300))
        assert b0 == 0x80 | RSV1 | OP_BINARY
        assert inflater.decompress(payload + TAIL) == b"\x01" * 300


def test_min_size_sends_small_messages_uncompressed() -> None:
    conn = deflate_conn(min_size=10)
    assert conn.send_text("short") == b"\x81\x05short"
    assert conn.send_bytes(b"short") == b"\x82\x05short"
    b0, _ = server_frame_payload(conn.send_text("long enough"))
    assert b0 & RSV1
    # Control frames are never compressed.
    assert conn.send_ping(b"p" * 20) == b"\x89\x14" + b"p" * 20


def test_masked_compressed_frames_with_random_masks() -> None:
    conn = deflate_conn()
    client = Client()
    for _ in range(5):
        data = os.urandom(50) * 3
        compressed = client.compress(data)
        mask = os.urandom(4)
        conn.feed(frame(OP_BINARY, compressed, rsv=RSV1, mask=mask))
        assert drain(conn) == [Message(data)]
    assert apply_mask_python(b"", b"abcd") == b""
