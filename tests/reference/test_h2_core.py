"""The sans-I/O HTTP/2 core (reference_server/http2): bytes in, events and bytes out.

Frames are built with hyperframe and header blocks with hpack (the libraries the
conformance client uses), so the core is checked against an independent encoder; what it
sends is parsed back the same way. The clock is a variable the tests move.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from hpack import Decoder, Encoder
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    PushPromiseFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_server.http2 import H2Limits, H2Protocol
from reference_server.http2 import frames as f
from reference_server.http2.connection import (
    ConnectionTerminated,
    DataReceived,
    RequestReceived,
    StreamEnded,
    StreamReset,
    WindowOpened,
)
from reference_server.http2.fields import modifies_table

PREFACE = f.PREFACE + SettingsFrame(0).serialize()
GET = [(":method", "GET"), (":scheme", "http"), (":authority", "example.test"),
       (":path", "/a?b=1")]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def parse(data: bytes) -> list[Frame]:
    frames = []
    while data:
        frame, length = Frame.parse_frame_header(memoryview(data[:9]))
        frame.parse_body(memoryview(data[9:9 + length]))
        frames.append(frame)
        data = data[9 + length:]
    return frames


class Peer:
    """A client: encodes requests, feeds the core, reads back what it sent."""

    def __init__(self, **limits: int) -> None:
        self.clock = Clock()
        self.core = H2Protocol(H2Limits(**limits), self.clock)
        self.core.initiate()
        self.encoder = Encoder()
        self.decoder = Decoder()
        self.events = self.core.receive(PREFACE)

    def feed(self, *frames: Frame | bytes) -> list[object]:
        data = b"".join(x if isinstance(x, bytes) else x.serialize() for x in frames)
        return list(self.core.receive(data))

    def headers(self, sid: int, fields: list[tuple[str, str]], *, end_stream: bool = True,
                ) -> HeadersFrame:
        frame = HeadersFrame(sid, self.encoder.encode(fields))
        frame.flags.add("END_HEADERS")
        if end_stream:
            frame.flags.add("END_STREAM")
        return frame

    def sent(self) -> list[Frame]:
        return parse(self.core.data_to_send())


def rst_codes(frames: list[Frame]) -> list[tuple[int, int]]:
    return [(x.stream_id, x.error_code) for x in frames if isinstance(x, RstStreamFrame)]


def goaway_code(frames: list[Frame]) -> int | None:
    codes = [x.error_code for x in frames if isinstance(x, GoAwayFrame)]
    return codes[-1] if codes else None


def test_preface_answered_with_our_settings() -> None:
    peer = Peer()
    out = peer.sent()
    settings = [x for x in out if isinstance(x, SettingsFrame)]
    assert "ACK" not in settings[0].flags
    assert settings[0].settings[f.MAX_CONCURRENT_STREAMS] == 100
    assert settings[0].settings[f.ENABLE_CONNECT_PROTOCOL] == 1  # RFC 8441 §3
    assert settings[0].settings[f.ENABLE_PUSH] == 0
    assert any("ACK" in x.flags for x in settings), "the client's SETTINGS is acknowledged"
    assert any(isinstance(x, WindowUpdateFrame) and x.stream_id == 0 for x in out)


def test_request_head_becomes_a_scope_ready_head() -> None:
    peer = Peer()
    peer.sent()
    events = peer.feed(peer.headers(1, [*GET, ("cookie", "a=1"), ("cookie", "b=2")]))
    assert len(events) == 1
    event = events[0]
    assert isinstance(event, RequestReceived) and event.end_stream
    head = event.head
    assert (head.method, head.path, head.scheme) == (b"GET", b"/a?b=1", b"http")
    # :authority becomes the first host entry; cookie fields stay apart (HTTP-055).
    assert head.fields == [(b"host", b"example.test"), (b"cookie", b"a=1"),
                           (b"cookie", b"b=2")]


def test_same_events_whatever_the_split() -> None:
    """The same bytes delivered one at a time give the same events."""
    whole = Peer()
    body = DataFrame(1, b"hello")
    body.flags.add("END_STREAM")
    request = whole.headers(1, [*GET[:3], (":path", "/"), ("content-length", "5")],
                            end_stream=False).serialize() + body.serialize()
    expected = [type(e).__name__ for e in whole.feed(request)]
    split = Peer()
    seen: list[str] = []
    for i in range(len(request)):
        seen += [type(e).__name__ for e in split.feed(request[i:i + 1])]
    assert seen == expected == ["RequestReceived", "DataReceived", "StreamEnded"]


@pytest.mark.parametrize("fields", [
    [*GET, ("Upper", "x")],
    [*GET, ("connection", "keep-alive")],
    [*GET, ("te", "gzip")],
    [("x-a", "1"), *GET],
    [*GET[1:]],
    [*GET, (":method", "POST")],
    [*GET, ("x-a", " padded")],
    [*GET, ("host", "other.test")],
    [(":method", "GÉT"), *GET[1:]],
    [(":method", "GE T"), *GET[1:]],
    [*GET, ("content-length", "0"), ("content-length", "0")],
    [*GET, ("content-length", "+0")],
], ids=["uppercase", "connection", "te", "pseudo-after-regular", "no-method", "dup-method",
        "whitespace", "host-differs", "method-not-ascii", "method-not-token",
        "content-length-repeated", "content-length-not-digits"])
def test_malformed_request_is_a_stream_error(fields: list[tuple[str, str]]) -> None:
    """RFC 9113 §8.1.1: RST_STREAM PROTOCOL_ERROR, nothing for the app, the connection
    goes on."""
    peer = Peer()
    peer.sent()
    events = peer.feed(peer.headers(1, fields))
    assert events == []
    assert rst_codes(peer.sent()) == [(1, f.PROTOCOL_ERROR)]
    assert isinstance(peer.feed(peer.headers(3, GET))[0], RequestReceived)


def test_hpack_failure_is_a_compression_error() -> None:
    peer = Peer()
    peer.sent()
    bad = HeadersFrame(1, b"\xff\xff\xff\xff\xff")  # an index far beyond both tables
    bad.flags.add("END_HEADERS")
    bad.flags.add("END_STREAM")
    events = peer.feed(bad)
    assert isinstance(events[-1], ConnectionTerminated)
    assert goaway_code(peer.sent()) == f.COMPRESSION_ERROR
    assert peer.feed(peer.headers(3, GET)) == [], "nothing is read after GOAWAY"


def test_goaway_debug_data_carries_no_address_of_the_server() -> None:
    """RFC 9113 §6.8: GOAWAY's debug data is for diagnostics; an HPACK integer that does
    not end made hpack's message say "from <memory at 0x7f...>", which went to the
    client as is: an address in the server's heap, and text that differed between two
    runs on the same bytes (found by bench/fuzz/h2.py)."""
    peer = Peer()
    peer.sent()
    bad = HeadersFrame(1, b"\x82\xff\xff")  # an indexed field whose integer never ends
    bad.flags.add("END_HEADERS")
    events = peer.feed(bad)
    assert isinstance(events[-1], ConnectionTerminated)
    goaway = [x for x in peer.sent() if isinstance(x, GoAwayFrame)][-1]
    assert goaway.error_code == f.COMPRESSION_ERROR
    assert goaway.additional_data.startswith(b"header block: Unable to decode HPACK integer")
    assert b"0x" not in goaway.additional_data and b"<" not in goaway.additional_data


def test_send_data_respects_the_windows() -> None:
    peer = Peer()
    settings = SettingsFrame(0, settings={f.INITIAL_WINDOW_SIZE: 10})
    peer.feed(settings, peer.headers(1, GET))
    peer.sent()
    assert peer.core.send_data(1, b"x" * 25, True) == 10
    out = [x for x in peer.sent() if isinstance(x, DataFrame)]
    assert [(x.stream_id, len(x.data), "END_STREAM" in x.flags) for x in out] == [
        (1, 10, False)]
    events = peer.feed(WindowUpdateFrame(1, window_increment=100))
    assert any(isinstance(e, WindowOpened) and e.stream_id == 1 for e in events)
    assert peer.core.send_data(1, b"x" * 15, True) == 15
    assert "END_STREAM" in peer.sent()[-1].flags


def test_credit_given_back_as_consumed_in_batches() -> None:
    peer = Peer()
    peer.feed(peer.headers(1, [*GET[:3], (":path", "/")], end_stream=False))
    peer.sent()
    events = peer.feed(DataFrame(1, b"x" * 1000))
    assert [type(e) for e in events] == [DataReceived]
    peer.core.consumed(1, 1000)
    assert not [x for x in peer.sent() if isinstance(x, WindowUpdateFrame)
                and x.stream_id == 1], "small amounts are not acknowledged one by one"
    for _ in range(40):
        peer.feed(DataFrame(1, b"x" * 1000))
        peer.core.consumed(1, 1000)
    updates = [x.window_increment for x in peer.sent()
               if isinstance(x, WindowUpdateFrame) and x.stream_id == 1]
    assert updates and sum(updates) >= 32768


def test_data_beyond_the_stream_window_is_a_flow_control_error() -> None:
    peer = Peer()
    peer.feed(peer.headers(1, [*GET[:3], (":path", "/")], end_stream=False))
    peer.sent()
    for size in (16384, 16384, 16384, 16383):  # the whole 65535 of the window
        assert [type(e) for e in peer.feed(DataFrame(1, b"x" * size))] == [DataReceived]
    assert rst_codes(peer.sent()) == []
    events = peer.feed(DataFrame(1, b"x"))
    assert rst_codes(peer.sent()) == [(1, f.FLOW_CONTROL_ERROR)]
    assert any(isinstance(e, StreamReset) for e in events)


def test_content_length_mismatch_is_malformed() -> None:
    peer = Peer()
    peer.feed(peer.headers(1, [*GET[:3], (":path", "/"), ("content-length", "3")],
                           end_stream=False))
    peer.sent()
    body = DataFrame(1, b"toolong")
    body.flags.add("END_STREAM")
    events = peer.feed(body)
    assert rst_codes(peer.sent()) == [(1, f.PROTOCOL_ERROR)]
    assert [type(e) for e in events] == [StreamReset]


def test_oversized_data_resets_the_stream_and_the_connection_goes_on() -> None:
    """RFC 9113 §4.2: FRAME_SIZE_ERROR on the stream; its payload is skipped."""
    peer = Peer()
    peer.feed(peer.headers(1, [*GET[:3], (":path", "/")], end_stream=False))
    peer.sent()
    big = DataFrame(1, b"x" * 16385).serialize()
    peer.feed(big[:5000])
    peer.feed(big[5000:] + PingFrame(0, b"12345678").serialize())
    out = peer.sent()
    assert rst_codes(out) == [(1, f.FRAME_SIZE_ERROR)]
    assert any(isinstance(x, PingFrame) and "ACK" in x.flags for x in out)


@pytest.mark.parametrize("size", [16385, 70000])
def test_oversized_data_behind_another_frame_resets_only_its_stream(size: int) -> None:
    """The oversized frame's header is read at the frame's own offset in the read buffer,
    wherever it starts, and its whole length is skipped: behind a PING in the same read,
    and with a length whose first octet is not zero, it is still a stream error and the
    frame after it is read (mutation testing found only 16385-byte frames at offsets 0
    and 24 checked, where wrong offset or length arithmetic gives the right answer by
    chance)."""
    peer = Peer()
    peer.feed(peer.headers(1, [*GET[:3], (":path", "/")], end_stream=False))
    peer.sent()
    big = DataFrame(1, b"x" * size).serialize()
    peer.feed(PingFrame(0, b"12345678").serialize() + big[:5000])
    peer.feed(big[5000:] + PingFrame(0, b"87654321").serialize())
    out = peer.sent()
    assert rst_codes(out) == [(1, f.FRAME_SIZE_ERROR)]
    assert goaway_code(out) is None
    acked = [bytes(x.opaque_data) for x in out if isinstance(x, PingFrame) and "ACK" in x.flags]
    assert acked == [b"12345678", b"87654321"]


def test_a_clients_goaway_leaves_its_own_streams_alone() -> None:
    """A client's GOAWAY (RFC 9113 §6.8) only refuses streams *we* would initiate (pushes):
    it is no error, its open request is still answered and the connection is not torn
    down (mutation testing: GOAWAY dispatched to the CONTINUATION handler went unseen)."""
    peer = Peer()
    peer.sent()
    peer.feed(peer.headers(1, [*GET[:3], (":path", "/")], end_stream=False))
    events = peer.feed(GoAwayFrame(0, last_stream_id=0, error_code=f.NO_ERROR))
    assert not any(isinstance(e, ConnectionTerminated) for e in events), events
    assert goaway_code(peer.sent()) is None
    peer.core.send_headers(1, peer.encoder.encode([(":status", "200")]), True)
    assert [x.stream_id for x in peer.sent() if isinstance(x, HeadersFrame)] == [1]


def test_oversized_headers_frame_is_a_connection_error() -> None:
    peer = Peer()
    peer.sent()
    frame = HeadersFrame(1, b"\x82" * 16385)
    frame.flags.add("END_HEADERS")
    assert isinstance(peer.feed(frame)[-1], ConnectionTerminated)
    assert goaway_code(peer.sent()) == f.FRAME_SIZE_ERROR


def test_ping_flood_is_cut_off() -> None:
    peer = Peer(flood_burst=50, flood_rate=10)
    peer.sent()
    events = peer.feed(*[PingFrame(0, b"12345678") for _ in range(50)])
    assert events == []
    assert isinstance(peer.feed(PingFrame(0, b"12345678"))[-1], ConnectionTerminated)
    assert goaway_code(peer.sent()) == f.ENHANCE_YOUR_CALM


def test_pings_at_a_sane_rate_never_are() -> None:
    peer = Peer(flood_burst=50, flood_rate=10)
    for _ in range(500):
        peer.clock.now += 0.2
        assert peer.feed(PingFrame(0, b"12345678")) == []
    assert goaway_code(peer.sent()) is None


def test_continuation_flood_is_cut_off() -> None:
    """CVE-2024-27316: a header block that never ends costs at most the list size."""
    peer = Peer(max_header_list_size=4096)
    peer.sent()
    first = HeadersFrame(1, peer.encoder.encode(GET))
    events = peer.feed(first)
    for _ in range(10):
        events += peer.feed(ContinuationFrame(1, b"\x40\x01a\x01b" * 100))
    assert isinstance(events[-1], ConnectionTerminated)
    assert goaway_code(peer.sent()) == f.ENHANCE_YOUR_CALM


def test_rapid_reset_is_cut_off() -> None:
    """CVE-2023-44487: streams opened and reset before their response."""
    peer = Peer(reset_burst=20, reset_rate=5)
    peer.sent()
    events: list[object] = []
    for i in range(21):
        sid = 2 * i + 1
        events += peer.feed(peer.headers(sid, GET), RstStreamFrame(sid, error_code=8))
    assert isinstance(events[-1], ConnectionTerminated)
    assert goaway_code(peer.sent()) == f.ENHANCE_YOUR_CALM


def test_concurrency_limit_refuses_streams() -> None:
    peer = Peer(max_concurrent_streams=2)
    peer.sent()
    events = peer.feed(*[peer.headers(sid, GET) for sid in (1, 3, 5)])
    assert [e.stream_id for e in events if isinstance(e, RequestReceived)] == [1, 3]
    assert rst_codes(peer.sent()) == [(5, f.REFUSED_STREAM)]


def test_push_only_when_the_client_allows_it() -> None:
    block = Encoder().encode([*GET[:3], (":path", "/style.css")])
    off = Peer()
    off.feed(SettingsFrame(0, settings={f.ENABLE_PUSH: 0}), off.headers(1, GET))
    assert off.core.push(1, block) is None
    on = Peer()
    on.feed(on.headers(1, GET))
    on.sent()
    assert on.core.push(1, block) == 2
    promise = [x for x in on.sent() if isinstance(x, PushPromiseFrame)]
    assert [(x.stream_id, x.promised_stream_id) for x in promise] == [(1, 2)]
    assert on.core.push(2, block) is None, "PUSH_PROMISE only on a client's stream"


def test_trailers_end_the_stream() -> None:
    peer = Peer()
    peer.feed(peer.headers(1, [*GET[:3], (":path", "/")], end_stream=False))
    events = peer.feed(peer.headers(1, [("x-checksum", "1")], end_stream=True))
    assert [type(e) for e in events] == [StreamEnded]


def test_graceful_goaway_names_the_last_stream() -> None:
    peer = Peer()
    peer.feed(peer.headers(1, GET), peer.headers(3, GET))
    peer.sent()
    peer.core.graceful_goaway()
    goaway = [x for x in peer.sent() if isinstance(x, GoAwayFrame)]
    assert [(x.last_stream_id, x.error_code) for x in goaway] == [(3, f.NO_ERROR)]
    assert peer.feed(peer.headers(5, GET)) == [], "streams after GOAWAY are not served"


def test_the_core_imports_no_asyncio() -> None:
    """The h2 layer is sans-I/O: importing it must not pull asyncio in."""
    code = ("import sys, reference_server.http2.connection, reference_server.http2.fields; "
            "sys.exit('asyncio' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.tuples(
    st.sampled_from(["content-length", "x-a", "cookie", "user-agent", ":path"]),
    st.text("abc0123456789", max_size=20), st.booleans()), max_size=6), min_size=1,
    max_size=4))
def test_modifies_table_tells_exactly_when_decoding_changes_the_table(
        requests: list[list[tuple[str, str, bool]]]) -> None:
    """What the request-head cache rests on: a block for which ``modifies_table`` is
    False leaves the decoder's dynamic table as it was."""
    from hpack import NeverIndexedHeaderTuple

    encoder, decoder = Encoder(), Decoder()
    for request in requests:
        fields = [NeverIndexedHeaderTuple(n, v) if secret else (n, v)
                  for n, v, secret in request]
        block = encoder.encode(fields)
        before = list(decoder.header_table.dynamic_entries)
        decoder.decode(block)
        if not modifies_table(block):
            assert list(decoder.header_table.dynamic_entries) == before


def test_modifies_table_on_known_blocks() -> None:
    encoder = Encoder()
    fields = [(":method", "GET"), ("x-custom", "value")]
    assert modifies_table(encoder.encode(fields)), "first time: literals with indexing"
    assert not modifies_table(encoder.encode(fields)), "again: indexed fields only"
    assert not modifies_table(b"\x00\x01a\x01b"), "a literal without indexing, new name"
    assert not modifies_table(b"\x1f\x10\x01b"), "never indexed, index 31 (2-byte prefix)"
    assert modifies_table(b"\x3f\xe1\x1f"), "a dynamic table size update"
    assert modifies_table(b"\x00\x05ab"), "a string running past the block"


def test_end_stream_alone_needs_no_window() -> None:
    """An empty DATA frame with END_STREAM goes out even when the client's SETTINGS
    made the stream's window negative (RFC 9113 §6.9.2)."""
    peer = Peer()
    peer.feed(peer.headers(1, GET))
    peer.sent()
    assert peer.core.send_data(1, b"x" * 100, False) == 100
    peer.feed(SettingsFrame(0, settings={f.INITIAL_WINDOW_SIZE: 10}))
    assert peer.core.window(1) < 0
    assert peer.core.send_data(1, b"", True) == 0
    ends = [x for x in peer.sent() if isinstance(x, DataFrame) and "END_STREAM" in x.flags]
    assert ends and ends[0].data == b""
