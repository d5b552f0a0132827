"""h2spec 2.x's ``generic/`` cases, ported (44 cases): a server accepts every valid frame,
request and HPACK representation a client may send.

Sections as in h2spec: 1 starting HTTP/2, 2 streams and multiplexing, 3.x frame
definitions (DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE,
CONTINUATION), 4 HTTP message exchanges and 5 HPACK. Each case sends what h2spec sends and
ends in h2spec's verifier (:mod:`conformance.suite._h2spec_verify`): mostly "the request is
answered" (the first HEADERS the server sends is on our stream) or "our PING is
acknowledged" after the frame under test.

Most of these judge *derived* requirements: RFC 9113 defines the frame or representation
without a sentence saying a server MUST accept it, so a server that rejects one is
*non-strict*, not *fail*. The SETTINGS and PING acknowledgements are MUSTs (RFC 9113 §6.5.3,
§6.7). GOAWAY (generic/3.8) is h2spec's expectation that the server closes after the
client's GOAWAY, which RFC 9113 does not require; its verdict depends on how soon the server
closes, so it is marked timing-dependent.

The RFC 7540 priority fields h2spec sends (generic/2, 3.2, 3.3) are deprecated by RFC 9113
§5.3.2, which still keeps their layout and requires the frames to be accepted (§6.3: "A
PRIORITY frame can be sent in any stream state").
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Callable

import pytest
from hpack.hpack import encode_integer
from hpack.huffman import HuffmanEncoder
from hpack.huffman_constants import REQUEST_CODES, REQUEST_CODES_LENGTH
from hyperframe.frame import DataFrame, SettingsFrame

from conformance.h2probe import H2Probe
from conformance.rawh2 import (
    DEFAULT_WINDOW,
    END_HEADERS,
    END_STREAM,
    PADDED,
    PRIORITY_FLAG,
    ErrorCode,
    FrameType,
    H2Connection,
    Setting,
)
from conformance.suite import _h2spec_verify as verify
from conformance.suite._h2spec_verify import H2SpecCase, descriptions, params

Action = Callable[[H2Probe, H2Connection], None]
"""What a case sends after the handshake (its request on stream 1, or frames)."""

HUFFMAN = HuffmanEncoder(REQUEST_CODES, REQUEST_CODES_LENGTH)
USER_AGENT_INDEX = 58
"""``user-agent`` in the HPACK static table (RFC 7541 Appendix A)."""


# --- requests ---------------------------------------------------------------------------


def get(probe: H2Probe, conn: H2Connection) -> None:
    verify.send_request(probe, conn, 1)


def head(probe: H2Probe, conn: H2Connection) -> None:
    verify.send_request(probe, conn, 1, method="HEAD")


def post(probe: H2Probe, conn: H2Connection) -> None:
    verify.send_request(probe, conn, 1, method="POST", end_stream=False)
    conn.send_data(1, b"test", end_stream=True)


def post_in_two_frames(probe: H2Probe, conn: H2Connection) -> None:
    verify.send_request(probe, conn, 1, method="POST", end_stream=False)
    conn.send_data(1, b"test")
    conn.send_data(1, b"test", end_stream=True)


def post_padded(probe: H2Probe, conn: H2Connection) -> None:
    verify.send_request(probe, conn, 1, method="POST", end_stream=False)
    padding = b"padded"
    conn.send_raw(FrameType.DATA, END_STREAM | PADDED, 1,
                  bytes([len(padding)]) + b"test" + padding)


def post_with_trailers(probe: H2Probe, conn: H2Connection) -> None:
    block = conn.encode(verify.common_headers(probe, conn, "POST", [(b"trailer", b"x-test")]))
    conn.send_headers(1, block, end_stream=False)
    conn.send_data(1, b"test")
    conn.send_headers(1, [(b"x-test", b"ok")])


def get_padded(probe: H2Probe, conn: H2Connection) -> None:
    block = conn.encode(verify.common_headers(probe, conn))
    conn.send_raw(FrameType.HEADERS, END_STREAM | END_HEADERS | PADDED, 1,
                  bytes([8]) + block + bytes(8))


def get_with_priority(probe: H2Probe, conn: H2Connection) -> None:
    block = conn.encode(verify.common_headers(probe, conn))
    conn.send_raw(FrameType.HEADERS, END_STREAM | END_HEADERS | PRIORITY_FLAG, 1,
                  struct.pack("!IB", 0, 255) + block)


def priority_then_get(stream_id: int, **priority: int | bool) -> Action:
    """PRIORITY on ``stream_id`` (``depends_on``, ``weight`` as h2spec's weight + 1,
    ``exclusive``), then the GET on stream 1."""
    def action(probe: H2Probe, conn: H2Connection) -> None:
        conn.send_priority(stream_id, **priority)  # type: ignore[arg-type]
        get(probe, conn)
    return action


def get_window_update(probe: H2Probe, conn: H2Connection) -> None:
    get(probe, conn)
    conn.send_window_update(1, 1)


def continued_get(cuts: tuple[int, ...]) -> Action:
    """The GET's header block cut at ``cuts``: HEADERS, then CONTINUATION frames."""
    def action(probe: H2Probe, conn: H2Connection) -> None:
        block = conn.encode(verify.common_headers(probe, conn))
        bounds = [0, *cuts, len(block)]
        parts = [block[a:b] for a, b in itertools.pairwise(bounds)]
        conn.send_headers(1, parts[0], end_headers=False)
        for index, part in enumerate(parts[1:], start=2):
            conn.send_continuation(1, part, end_headers=index == len(parts))
    return action


# --- HPACK representations (RFC 7541 §6) --------------------------------------------------


def hpack_string(value: bytes, huffman: bool) -> bytes:
    """A string literal (RFC 7541 §5.2), Huffman-coded or not."""
    data = HUFFMAN.encode(value) if huffman else value
    length = encode_integer(len(data), 7)
    if huffman:
        length[0] |= 0x80
    return bytes(length) + data


def literal(pattern: int, prefix_bits: int, name: bytes | int, huffman: bool) -> bytes:
    """A literal field of value ``h2spec`` (RFC 7541 §6.2): ``pattern`` is the first
    byte's representation bits, ``name`` a static index or a new name."""
    if isinstance(name, int):
        head = encode_integer(name, prefix_bits)
        head[0] |= pattern
        return bytes(head) + hpack_string(b"h2spec", huffman)
    return bytes([pattern]) + hpack_string(name, huffman) + hpack_string(b"h2spec", huffman)


INCREMENTAL, WITHOUT_INDEXING, NEVER_INDEXED = (0x40, 6), (0x00, 4), (0x10, 4)


def get_with_field(field: bytes, *, before: bool = False) -> Action:
    """The GET with ``field`` (an HPACK representation) after its fields, or ``before``
    them (a dynamic table size update must come first)."""
    def action(probe: H2Probe, conn: H2Connection) -> None:
        block = conn.encode(verify.common_headers(probe, conn))
        conn.send_headers(1, field + block if before else block + field)
    return action


def size_update(*sizes: int) -> bytes:
    """Dynamic table size updates (RFC 7541 §6.3)."""
    out = b""
    for size in sizes:
        head = encode_integer(size, 5)
        head[0] |= 0x20
        out += bytes(head)
    return out


def _literal_cases(first: int, kind: str, shape: tuple[int, int]) -> list[tuple[H2SpecCase,
                                                                                  Action]]:
    """h2spec generic/5's four cases of one literal kind: indexed or new name, Huffman or
    not (h2spec's descriptions, word for word)."""
    pattern, bits = shape
    rows = []
    variants: list[tuple[str, bytes | int, bool]] = [
        ("indexed name", USER_AGENT_INDEX, False), ("indexed name", USER_AGENT_INDEX, True),
        ("new name", b"x-test", False), ("new name", b"x-test", True)]
    for offset, (label, name, huffman) in enumerate(variants):
        suffix = ""
        if huffman:
            suffix = (" (with Huffman coding)" if kind.endswith("incremental indexing")
                      or (kind.endswith("without indexing") and label == "indexed name")
                      else " (huffman encoded)")
        case = H2SpecCase(f"generic/5/{first + offset}", f"Sends a {kind} - {label}{suffix}",
                          "RFC7541-6.2-51")
        rows.append((case, get_with_field(literal(pattern, bits, name, huffman))))
    return rows


# --- the tables ---------------------------------------------------------------------------

ANSWERED: list[tuple[H2SpecCase, Action]] = [
    (H2SpecCase("generic/3.1/1", "Sends a DATA frame", "RFC9113-6.1-51"), post),
    (H2SpecCase("generic/3.1/2", "Sends multiple DATA frames", "RFC9113-6.1-51"),
     post_in_two_frames),
    (H2SpecCase("generic/3.1/3", "Sends a DATA frame with padding", "RFC9113-6.1-51"),
     post_padded),
    (H2SpecCase("generic/3.2/1", "Sends a HEADERS frame", "RFC9113-6.2-51"), get),
    (H2SpecCase("generic/3.2/2", "Sends a HEADERS frame with padding", "RFC9113-6.2-51"),
     get_padded),
    (H2SpecCase("generic/3.2/3", "Sends a HEADERS frame with priority", "RFC9113-6.2-51"),
     get_with_priority),
    (H2SpecCase("generic/3.3/1", "Sends a PRIORITY frame with priority 1", "RFC9113-6.3-51"),
     priority_then_get(1, weight=1)),
    (H2SpecCase("generic/3.3/2", "Sends a PRIORITY frame with priority 256",
                "RFC9113-6.3-51"), priority_then_get(1, weight=256)),
    (H2SpecCase("generic/3.3/3", "Sends a PRIORITY frame with stream dependency",
                "RFC9113-6.3-51"), priority_then_get(3, depends_on=1, weight=1)),
    (H2SpecCase("generic/3.3/4", "Sends a PRIORITY frame with exclusive", "RFC9113-6.3-51"),
     priority_then_get(1, weight=1, exclusive=True)),
    (H2SpecCase("generic/3.3/5", "Sends a PRIORITY frame for an idle stream, then send a "
                "HEADER frame for a lower stream ID", "RFC9113-6.3-51"),
     priority_then_get(3, weight=256)),
    (H2SpecCase("generic/3.9/2", "Sends a WINDOW_UPDATE frame with stream ID 1",
                "RFC9113-6.9-51"), get_window_update),
    (H2SpecCase("generic/3.10/1", "Sends a CONTINUATION frame", "RFC9113-6.10-51"),
     continued_get((5,))),
    (H2SpecCase("generic/3.10/2", "Sends multiple CONTINUATION frames", "RFC9113-6.10-51"),
     continued_get((5, 10))),
    (H2SpecCase("generic/4/1", "Sends a GET request", "RFC9113-8.1-51"), get),
    (H2SpecCase("generic/4/2", "Sends a HEAD request", "RFC9113-8.1-51"), head),
    (H2SpecCase("generic/4/3", "Sends a POST request", "RFC9113-8.1-51"), post),
    (H2SpecCase("generic/4/4", "Sends a POST request with trailers", "RFC9113-8.1-51"),
     post_with_trailers),
    (H2SpecCase("generic/5/1", "Sends a indexed header field representation",
                "RFC7541-6.1-51"), get_with_field(bytes([0x80 | USER_AGENT_INDEX]))),
    *_literal_cases(2, "literal header field with incremental indexing", INCREMENTAL),
    *_literal_cases(6, "literal header field without indexing", WITHOUT_INDEXING),
    *_literal_cases(10, "literal header field never indexed", NEVER_INDEXED),
    (H2SpecCase("generic/5/14", "Sends a dynamic table size update", "RFC7541-6.3-51"),
     get_with_field(size_update(0), before=True)),
    (H2SpecCase("generic/5/15", "Sends multiple dynamic table size update", "RFC7541-6.3-51"),
     get_with_field(size_update(0, 4096), before=True)),
]


def priority_on_idle(_probe: H2Probe, conn: H2Connection) -> None:
    conn.send_priority(1, weight=256)


def priority_on_closed(probe: H2Probe, conn: H2Connection) -> None:
    get(probe, conn)
    verify.stream_close(conn, 1, what="a GET request")
    conn.send_priority(1, weight=256)


def window_update_on_connection(_probe: H2Probe, conn: H2Connection) -> None:
    conn.send_window_update(0, 1)


PING_ANSWERED: list[tuple[H2SpecCase, Action]] = [
    (H2SpecCase("generic/2/1", "Sends a PRIORITY frame on idle stream", "RFC9113-5.1-6"),
     priority_on_idle),
    (H2SpecCase("generic/2/5", "Sends a PRIORITY frame on closed stream", "RFC9113-5.1-6"),
     priority_on_closed),
    (H2SpecCase("generic/3.9/1", "Sends a WINDOW_UPDATE frame with stream ID 0",
                "RFC9113-6.9-51"), window_update_on_connection),
]


def rst_on_half_closed(probe: H2Probe, conn: H2Connection) -> None:
    get(probe, conn)
    conn.send_rst(1, ErrorCode.CANCEL)


def rst_on_open(probe: H2Probe, conn: H2Connection) -> None:
    verify.send_request(probe, conn, 1, end_stream=False)
    conn.send_rst(1, ErrorCode.CANCEL)


PING_OR_CLOSE: list[tuple[H2SpecCase, Action]] = [
    (H2SpecCase("generic/2/4", "Sends a RST_STREAM frame on half-closed (remote) stream",
                "RFC9113-5.1-7"), rst_on_half_closed),
    (H2SpecCase("generic/3.4/1", "Sends a RST_STREAM frame", "RFC9113-6.4-51"), rst_on_open),
]

WINDOW_OPENED = [
    (H2SpecCase("generic/2/2", "Sends a WINDOW_UPDATE frame on half-closed (remote) stream",
                "RFC9113-5.1-7"), False),
    (H2SpecCase("generic/2/3", "Sends a PRIORITY frame on half-closed (remote) stream",
                "RFC9113-5.1-7"), True),
]
PREFACE = [H2SpecCase("generic/1/1", "Sends a client connection preface", "RFC9113-3.4-1")]
SETTINGS = [H2SpecCase("generic/3.5/1", "Sends a SETTINGS frame", "RFC9113-6.5-51")]
PING = [H2SpecCase("generic/3.7/1", "Sends a PING frame", "RFC9113-6.7-51")]
GOAWAY = [H2SpecCase("generic/3.8/1", "Sends a GOAWAY frame", "RFC9113-6.8-51",
                     timing="whether the server closes after the client's GOAWAY within the "
                            "2 s bound or later")]
ALL_SETTINGS = {
    Setting.HEADER_TABLE_SIZE: 4096, Setting.ENABLE_PUSH: 1,
    Setting.MAX_CONCURRENT_STREAMS: 100, Setting.INITIAL_WINDOW_SIZE: DEFAULT_WINDOW,
    Setting.MAX_FRAME_SIZE: 16384, Setting.MAX_HEADER_LIST_SIZE: 100,
}
"""h2spec's SETTINGS frame: every parameter RFC 7540 defines."""


# --- the cases ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", params(PREFACE))
def test_starting_http2(h2probe, case):
    """The server's first frame after the client preface is its SETTINGS."""
    verify.server_preface_first(h2probe)


@pytest.mark.parametrize(("case", "action"), [case.param(a) for case, a in ANSWERED])
def test_request_answered(h2probe, case, action: Action):
    """A valid request, sent the way the case names (frame kinds, padding, priority,
    CONTINUATION, HPACK representations): the server answers it on stream 1."""
    conn = h2probe.connect_h2()
    action(h2probe, conn)
    verify.headers(conn, 1, what=case.description.lower())


@pytest.mark.parametrize(("case", "action"), [case.param(a) for case, a in PING_ANSWERED])
def test_frame_accepted(h2probe, case, action: Action):
    """A valid frame the server has nothing to answer to: a PING after it is
    acknowledged."""
    conn = h2probe.connect_h2()
    action(h2probe, conn)
    verify.ping_ack(conn, what=case.description.lower())


@pytest.mark.parametrize(("case", "action"), [case.param(a) for case, a in PING_OR_CLOSE])
def test_reset_accepted(h2probe, case, action: Action):
    """Our RST_STREAM on a request: the server goes on (a PING is acknowledged) or closes
    the connection, as h2spec accepts either."""
    conn = h2probe.connect_h2()
    action(h2probe, conn)
    verify.ping_or_close(conn, what=case.description.lower())


@pytest.mark.parametrize(("case", "with_priority"),
                         [case.param(p) for case, p in WINDOW_OPENED])
def test_half_closed_window_update(h2probe, case, with_priority):
    """With our INITIAL_WINDOW_SIZE at 0 the response body cannot start; a WINDOW_UPDATE
    of 1 on the half-closed (remote) stream (after a PRIORITY on it, for generic/2/3) lets
    one octet through: a DATA frame arrives."""
    conn = h2probe.connect_h2()
    conn.send_settings({Setting.INITIAL_WINDOW_SIZE: 0})
    get(h2probe, conn)
    if with_priority:
        conn.send_priority(1, weight=256)
    conn.send_window_update(1, 1)
    verify.frame_of(conn, DataFrame, what=case.description.lower())


@pytest.mark.parametrize("case", params(SETTINGS))
def test_settings_acknowledged(h2probe, case):
    """A SETTINGS frame with every defined parameter is acknowledged."""
    conn = h2probe.connect_h2()
    conn.send_settings(ALL_SETTINGS)
    conn.frames_until(lambda f: isinstance(f, SettingsFrame) and "ACK" in f.flags,
                      verify.RESPONSE_BOUND, "SETTINGS ACK")


@pytest.mark.parametrize("case", params(PING))
def test_ping_acknowledged(h2probe, case):
    """A PING is answered with a PING ACK carrying the same payload."""
    conn = h2probe.connect_h2()
    verify.ping_ack(conn, what="a PING", data=b"h2spec\x00\x00")


@pytest.mark.parametrize("case", params(GOAWAY))
def test_goaway_closes(h2probe, case):
    """After the client's GOAWAY (last stream 0, NO_ERROR, debug data ``h2spec``) and no
    open streams, the server closes the connection."""
    conn = h2probe.connect_h2()
    conn.send_raw(FrameType.GOAWAY, 0, 0,
                  struct.pack("!II", 0, ErrorCode.NO_ERROR) + b"h2spec")
    verify.connection_close(conn, what="the client's GOAWAY")


H2SPEC_CASES = descriptions(
    PREFACE, [row[0] for row in ANSWERED], [row[0] for row in PING_ANSWERED],
    [row[0] for row in PING_OR_CLOSE], [row[0] for row in WINDOW_OPENED], SETTINGS, PING,
    GOAWAY,
)
"""h2spec id to description, for the h2spec-shaped JUnit report."""
H2SPEC_SECTIONS = {
    "generic/1": "Starting HTTP/2",
    "generic/2": "Streams and Multiplexing",
    "generic/3.1": "DATA",
    "generic/3.2": "HEADERS",
    "generic/3.3": "PRIORITY",
    "generic/3.4": "RST_STREAM",
    "generic/3.5": "SETTINGS",
    "generic/3.7": "PING",
    "generic/3.8": "GOAWAY",
    "generic/3.9": "WINDOW_UPDATE",
    "generic/3.10": "CONTINUATION",
    "generic/4": "HTTP Message Exchanges",
    "generic/5": "HPACK",
}
"""h2spec's section titles, for the same report."""
