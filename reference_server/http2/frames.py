"""HTTP/2 frames on the wire (RFC 9113 §4, §6): the numbers, and the frames we send.

Reading is the connection's (:mod:`.connection` walks the 9-byte headers itself, which is
the hot path); this module holds what both directions name, and renders every frame the
server sends as bytes. Nothing here allocates per frame more than the ``bytes`` it returns.
"""

from __future__ import annotations

import struct
from typing import Final

#: RFC 9113 §3.4: the client connection preface.
PREFACE: Final = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# Frame types (§6).
DATA: Final = 0x0
HEADERS: Final = 0x1
PRIORITY: Final = 0x2
RST_STREAM: Final = 0x3
SETTINGS: Final = 0x4
PUSH_PROMISE: Final = 0x5
PING: Final = 0x6
GOAWAY: Final = 0x7
WINDOW_UPDATE: Final = 0x8
CONTINUATION: Final = 0x9

# Flags (§6).
END_STREAM: Final = 0x1
ACK: Final = 0x1
END_HEADERS: Final = 0x4
PADDED: Final = 0x8
PRIORITY_FLAG: Final = 0x20

# Error codes (§7).
NO_ERROR: Final = 0x0
PROTOCOL_ERROR: Final = 0x1
INTERNAL_ERROR: Final = 0x2
FLOW_CONTROL_ERROR: Final = 0x3
SETTINGS_TIMEOUT: Final = 0x4
STREAM_CLOSED: Final = 0x5
FRAME_SIZE_ERROR: Final = 0x6
REFUSED_STREAM: Final = 0x7
CANCEL: Final = 0x8
COMPRESSION_ERROR: Final = 0x9
CONNECT_ERROR: Final = 0xA
ENHANCE_YOUR_CALM: Final = 0xB
INADEQUATE_SECURITY: Final = 0xC
HTTP_1_1_REQUIRED: Final = 0xD

ERROR_NAMES: Final = {
    0x0: "NO_ERROR", 0x1: "PROTOCOL_ERROR", 0x2: "INTERNAL_ERROR",
    0x3: "FLOW_CONTROL_ERROR", 0x4: "SETTINGS_TIMEOUT", 0x5: "STREAM_CLOSED",
    0x6: "FRAME_SIZE_ERROR", 0x7: "REFUSED_STREAM", 0x8: "CANCEL",
    0x9: "COMPRESSION_ERROR", 0xA: "CONNECT_ERROR", 0xB: "ENHANCE_YOUR_CALM",
    0xC: "INADEQUATE_SECURITY", 0xD: "HTTP_1_1_REQUIRED",
}

# Settings (§6.5.2; RFC 8441 §3 for ENABLE_CONNECT_PROTOCOL).
HEADER_TABLE_SIZE: Final = 0x1
ENABLE_PUSH: Final = 0x2
MAX_CONCURRENT_STREAMS: Final = 0x3
INITIAL_WINDOW_SIZE: Final = 0x4
MAX_FRAME_SIZE: Final = 0x5
MAX_HEADER_LIST_SIZE: Final = 0x6
ENABLE_CONNECT_PROTOCOL: Final = 0x8

#: §6.9.1: the largest window (and window increment) a peer may have.
MAX_WINDOW: Final = 2**31 - 1
#: §6.5.2: the initial flow-control window and the smallest and largest frame sizes.
DEFAULT_WINDOW: Final = 65535
MIN_FRAME_SIZE: Final = 16384
MAX_FRAME_SIZE_LIMIT: Final = 2**24 - 1

#: length (24 bits) and type packed in one word, then flags and stream id.
_HEAD = struct.Struct(">IBI")
_U32 = struct.Struct(">I")
_SETTING = struct.Struct(">HI")


def frame(kind: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    """One frame: the 9-byte header (§4.1) and ``payload``."""
    return _HEAD.pack((len(payload) << 8) | kind, flags, stream_id) + payload


def settings(values: dict[int, int]) -> bytes:
    """A SETTINGS frame (§6.5) with ``values`` in order."""
    return frame(SETTINGS, 0, 0, b"".join(_SETTING.pack(k, v) for k, v in values.items()))


SETTINGS_ACK: Final = frame(SETTINGS, ACK, 0)


def window_update(stream_id: int, increment: int) -> bytes:
    return frame(WINDOW_UPDATE, 0, stream_id, _U32.pack(increment))


def rst_stream(stream_id: int, code: int) -> bytes:
    return frame(RST_STREAM, 0, stream_id, _U32.pack(code))


def goaway(last_stream_id: int, code: int, debug: bytes = b"") -> bytes:
    return frame(GOAWAY, 0, 0, _U32.pack(last_stream_id) + _U32.pack(code) + debug)


def ping_ack(opaque: bytes) -> bytes:
    return frame(PING, ACK, 0, opaque)


def _field_block(kind: int, flags: int, stream_id: int, payload: bytes,
                 max_frame: int) -> bytes:
    """A frame that carries a field block (HEADERS, PUSH_PROMISE) and, when the payload
    does not fit ``max_frame``, the CONTINUATION frames after it (§6.10); END_HEADERS on
    the last."""
    if len(payload) <= max_frame:
        return frame(kind, flags | END_HEADERS, stream_id, payload)
    parts = [frame(kind, flags, stream_id, payload[:max_frame])]
    for pos in range(max_frame, len(payload), max_frame):
        last = pos + max_frame >= len(payload)
        parts.append(frame(CONTINUATION, END_HEADERS if last else 0, stream_id,
                           payload[pos:pos + max_frame]))
    return b"".join(parts)


def headers(stream_id: int, block: bytes, end_stream: bool, max_frame: int) -> bytes:
    """A header block as HEADERS (§6.2), with CONTINUATION frames when it is large."""
    return _field_block(HEADERS, END_STREAM if end_stream else 0, stream_id, block,
                        max_frame)


def push_promise(stream_id: int, promised: int, block: bytes, max_frame: int) -> bytes:
    """PUSH_PROMISE (§6.6), with CONTINUATION frames when the block is large."""
    return _field_block(PUSH_PROMISE, 0, stream_id, _U32.pack(promised) + block, max_frame)


def data(stream_id: int, payload: bytes, end_stream: bool, max_frame: int) -> bytes:
    """``payload`` as DATA frames of at most ``max_frame`` bytes; END_STREAM on the last."""
    if len(payload) <= max_frame:
        return frame(DATA, END_STREAM if end_stream else 0, stream_id, payload)
    parts = []
    view = memoryview(payload)
    for pos in range(0, len(payload), max_frame):
        piece = bytes(view[pos:pos + max_frame])
        last = pos + max_frame >= len(payload)
        parts.append(frame(DATA, END_STREAM if (last and end_stream) else 0, stream_id, piece))
    return b"".join(parts)
