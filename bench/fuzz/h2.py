"""Fuzz target: the HTTP/2 connection (``reference_server.http2.connection``) and its header
checks (``.fields``), RFC 9113 and RFC 7541.

Input: a configuration byte (limits small enough that the refusal and abuse paths are
reached, or the defaults; whether the connection came through ``Upgrade: h2c``, whose
HTTP2-Settings payload is then read from the input), a byte choosing where reads are
cut, then a program: a
sequence of steps, each either *frames* from the client (type, flags, stream id and
payload chosen by the input; header blocks either raw bytes or fields HPACK-encoded with
a real encoder, so the fuzzer reaches the request checks rather than only the decoder's
errors) or an *action* of the server (answer a stream, give back credit, reset a stream,
push, announce GOAWAY). The client's bytes between two actions are fed whole, cut at
random places, and one byte at a time (when short); the server acts at the same points.
The clock stands still, so the abuse budgets are pure counts.

Invariants (the contract in ``http2/connection.py``):

- ``receive`` never raises: every error becomes RST_STREAM (a stream error) or GOAWAY
  with :class:`ConnectionTerminated` (a connection error, after which input is ignored);
  the server's calls never raise either, and ``upgrade`` raises only
  :class:`H2ConnectionError` (the shell answers it with GOAWAY);
- segmentation independence: the events and the bytes to send are the same however the
  client's bytes are cut;
- bounded state: between reads at most one incomplete frame is buffered (header and
  SETTINGS_MAX_FRAME_SIZE), a header block in progress stays under
  SETTINGS_MAX_HEADER_LIST_SIZE, open streams under SETTINGS_MAX_CONCURRENT_STREAMS
  (plus pushed ones), the memory of closed streams and of request heads bounded;
- flow control: our receive windows never go negative (a peer overrunning one is an
  error, not a negative window).
"""

from __future__ import annotations

from typing import Any

from hpack import Encoder

from bench.fuzz.common import BYTEWISE_MAX, Input, bytewise, cut
from reference_server.http2 import H2Limits, H2Protocol
from reference_server.http2 import frames as f
from reference_server.http2.connection import _CLOSED_MEMORY, _HEAD_CACHE, H2ConnectionError
from reference_server.http2.fields import response_head, trailer_block
from reference_server.http11 import LocalProtocolError

CONFIGS = (
    H2Limits(),
    H2Limits(max_concurrent_streams=2, initial_window=100, connection_window=65535,
             max_header_list_size=300, flood_burst=4, reset_burst=3),
    H2Limits(max_concurrent_streams=1, initial_window=0, max_header_list_size=64,
             flood_burst=1, reset_burst=1),
)
SIDS = (1, 1, 3, 3, 5, 7, 0, 2, 9, 0x7FFFFFFF)
NAMES = (":method", ":path", ":scheme", ":authority", ":protocol", "host", "content-length",
         "te", "connection", "cookie", "x-a", "Upper", "sec-websocket-version", "expect")
VALUES = ("GET", "POST", "CONNECT", "/", "/x?y", "*", "http", "a.example", "websocket", "13",
          "0", "5", "trailers", "100-continue", "", " pad", "a\x00b")
#: A request every path accepts, for the seeds and for steps that want one.
REQUEST = [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "a")]


def frame(kind: int, flags: int, sid: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "big") + bytes((kind, flags)) + sid.to_bytes(4, "big") \
        + payload


def header_block(source: Input, encoder: Encoder) -> bytes:
    """Fields HPACK-encoded by a real encoder. One byte says how: bit 0 starts with a
    valid request's pseudo-headers, bits 1-3 count the fields that follow (each from the
    vocabulary or the input's bytes), bit 4 asks for Huffman strings, bit 5 changes the
    dynamic table's size (bits 6-7) first."""
    how = source.byte()
    fields: list[tuple[bytes, bytes]] = [(n.encode(), v.encode()) for n, v in REQUEST] \
        if how & 1 else []
    for _ in range((how >> 1) & 7):
        pick = source.byte()
        name = NAMES[(pick & 0x7F) % len(NAMES)].encode()
        value = VALUES[source.byte() % len(VALUES)].encode() if pick & 0x80 \
            else source.take(source.choice(12))
        fields.append((name, value))
    if how & 0x20:
        encoder.header_table_size = 32 * (how >> 6)
    return bytes(encoder.encode(fields, huffman=bool(how & 0x10)))


Step = tuple[bytes, int, int]  # the client's bytes, then a server action and its argument


def program(source: Input) -> list[Step]:
    """The input as steps: client bytes, then a server action."""
    encoder = Encoder()
    steps: list[Step] = []
    chunk = bytearray(f.PREFACE if source.choice(8) else b"")
    if source.choice(8):
        chunk += frame(f.SETTINGS, 0, 0, b"")
    while source.more() and len(steps) < 64:
        op = source.byte()
        kind = op & 0x0F
        if kind >= 12:  # a server action ends the step
            steps.append((bytes(chunk), kind - 12, source.byte()))
            chunk = bytearray()
        elif kind == 11:  # raw bytes
            chunk += source.take(source.choice(32))
        else:  # a frame; 10 is an unknown type
            flags = source.byte()
            sid = SIDS[source.choice(len(SIDS))]
            if kind in (f.HEADERS, f.CONTINUATION, f.PUSH_PROMISE) and op & 0x80:
                payload = header_block(source, encoder)
                if kind == f.HEADERS and flags & f.PRIORITY_FLAG:
                    payload = source.take(5).ljust(5, b"\x00") + payload
                if flags & f.PADDED:
                    pad = source.choice(8)
                    payload = bytes((pad,)) + payload + bytes(pad)
            elif op & 0x80:
                payload = source.take((4, 5, 6, 8)[source.choice(4)])  # the usual sizes
            else:
                payload = source.take(source.choice(64))
            chunk += frame(0x16 if kind == 10 else kind, flags, sid, payload)
    steps.append((bytes(chunk), -1, 0))
    return steps


def describe(event: Any) -> tuple[Any, ...]:
    values = [getattr(event, name) for name in type(event).__slots__]
    head = getattr(event, "head", None)
    if head is not None:
        values.append(tuple(getattr(head, name) if name != "fields" else tuple(head.fields)
                            for name in type(head).__slots__))
    return (type(event).__name__, *[v for v in values if v is not head])


def act(conn: H2Protocol, action: int, arg: int) -> None:
    """One of the server's calls, on a stream picked among the open ones."""
    sids = sorted(conn.streams)
    sid = sids[arg % len(sids)] if sids else 1 + 2 * (arg % 4)
    if action == 0:
        conn.send_headers(sid, b"\x88", end_stream=bool(arg & 1))
        conn.send_data(sid, b"x" * (arg * 97 % 70000), end_stream=bool(arg & 2))
    elif action == 1:
        conn.consumed(sid, arg * 1000)
    elif action == 2:
        conn.reset(sid, f.CANCEL)
    else:
        conn.push(sid, b"\x82\x84\x86\x41\x01a")
        conn.graceful_goaway() if arg & 0x80 else None


def run(steps: list[Step], limits: H2Limits, connect: bool, seed: int | None,
        upgrade: bytes | None = None) -> list[tuple[Any, ...]]:
    conn = H2Protocol(limits, lambda: 0.0, connect_protocol=connect)
    conn.initiate()
    if upgrade is not None:
        # Upgrade: h2c (RFC 7540 §3.2): the HTTP2-Settings payload, then stream 1.
        try:
            conn.upgrade(upgrade)
        except H2ConnectionError as exc:
            return [("upgrade refused", exc.code)]
        assert 1 in conn.streams and conn.streams[1].remote_closed
    record: list[tuple[Any, ...]] = [("out", conn.data_to_send())]
    for data, action, arg in steps:
        if seed is None:
            pieces = [data]
        elif seed < 0:
            pieces = bytewise(data)
        else:
            pieces = cut(data, seed)
        for piece in pieces:
            terminated = conn.terminated
            events = conn.receive(piece)
            if terminated:
                assert events == [], "events after the connection was terminated"
            record.extend(describe(e) for e in events)
            check_bounds(conn, limits)
        if action >= 0:
            act(conn, action, arg)
        record.append(("out", conn.data_to_send()))
    # Every byte of output, in order, is what matters; how it was batched is not.
    out = b"".join(r[1] for r in record if r[0] == "out")
    return [r for r in record if r[0] != "out"] + [("all output", out)]


def check_bounds(conn: H2Protocol, limits: H2Limits) -> None:
    if not conn.terminated:
        assert len(conn._buf) < 9 + limits.max_frame_size, f"{len(conn._buf)} bytes buffered"
    assert conn._block_size <= limits.max_header_list_size or conn.terminated, \
        conn._block_size
    assert len(conn.streams) - conn._pushed <= limits.max_concurrent_streams, \
        (len(conn.streams), conn._pushed)
    assert len(conn._closed) <= _CLOSED_MEMORY
    assert len(conn._heads) <= _HEAD_CACHE
    assert conn.recv_window >= 0, conn.recv_window
    for stream in conn.streams.values():
        assert stream.recv_window >= 0, stream.recv_window


def response_checks(source: Input) -> None:
    """The application's response heads and trailers: only LocalProtocolError."""
    headers = [(source.take(source.choice(10)), source.take(source.choice(10)))
               for _ in range(source.choice(4))]
    try:
        response_head(100 + source.choice(500), headers)
        trailer_block(headers)
    except LocalProtocolError:
        pass


def one_input(data: bytes) -> None:
    source = Input(data)
    config = source.byte()
    limits = CONFIGS[config % len(CONFIGS)]
    connect = not config & 0x80
    seed = source.byte()
    if config & 0x40:
        response_checks(source)
    upgrade = source.take(source.choice(32)) if config & 0x20 else None
    steps = program(source)
    whole = run(steps, limits, connect, None, upgrade)
    split = run(steps, limits, connect, seed, upgrade)
    assert split == whole, f"cut at random places:\n{split!r}\nwhole:\n{whole!r}"
    if sum(len(d) for d, _, _ in steps) <= BYTEWISE_MAX:
        single = run(steps, limits, connect, -1, upgrade)
        assert single == whole, f"one byte at a time:\n{single!r}\nwhole:\n{whole!r}"


def seed_inputs() -> dict[str, bytes]:
    """Programs in the input language of :func:`program`."""
    headers = bytes((0x80 | f.HEADERS, f.END_HEADERS | f.END_STREAM, 0, 1))  # GET /, sid 1
    # POST / on stream 3 with content-length: 5 (NAMES[6], VALUES[11]).
    post = bytes((0x80 | f.HEADERS, f.END_HEADERS, 2, 3, 0x80 | 6, 11))
    data = bytes((f.DATA, f.END_STREAM, 2, 5)) + b"hello"
    answer = bytes((12, 2))  # action 0 (answer, END_STREAM on the DATA) on an open stream
    window = bytes((0x80 | f.WINDOW_UPDATE, 0, 6, 0)) + b"\x00\x01\x00\x00"
    ping = bytes((0x80 | f.PING, 0, 6, 3)) + b"12345678"
    rst = bytes((0x80 | f.RST_STREAM, 0, 0, 0)) + b"\x00\x00\x00\x08"
    continuation = bytes((0x80 | f.HEADERS, 0, 0, 1)) \
        + bytes((0x80 | f.CONTINUATION, f.END_HEADERS | f.END_STREAM, 0, 0))
    start = b"\x00\x03\x01\x01"  # defaults, cut at 3 places; preface and SETTINGS
    return {
        "get": start + headers + answer,
        "post": start + post + data + answer,
        "flow": start + window + ping + headers + answer + rst,
        "continuation": start + continuation + answer,
        "small-limits": b"\x01\x03\x01\x01" + headers + post + headers + answer + answer,
        # Upgrade: h2c with HTTP2-Settings INITIAL_WINDOW_SIZE=100, then the answer to
        # stream 1 and a request on stream 3.
        "upgrade": b"\x21\x03\x06\x00\x04\x00\x00\x00\x64\x01\x01" + answer + post + data,
    }
