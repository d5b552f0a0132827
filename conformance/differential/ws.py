"""WebSocket frames after the handshake: seeds, mutations and one server's reading.

The same idea as HTTP (:mod:`.generate`, :mod:`.run`), one layer up: after an ordinary
opening handshake (RFC 6455 §4.1, carrying the probe id), a sequence of frames built
with :func:`conformance.rawws.encode_frame` from a realistic seed (a text message, a
binary message, a fragmented text message, a ping then a message) with one mutation of
the framing rules of §5 (RSV bits, reserved opcodes, fragmented or oversized control
frames, a missing mask, invalid UTF-8 in text, close codes, interleaved fragments,
lengths in non-minimal form). The probe app's WebSocket ``echo`` scenario is the
mirror: what it received is the ground truth, and what came back (echoed frames, the
close code) is the wire side. Masking keys come from the seeded generator, so the bytes
are deterministic too.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from conformance.differential.generate import Case, select
from conformance.probe import Record
from conformance.rawws import (
    BINARY,
    CLOSE,
    CONTINUATION,
    PING,
    TEXT,
    MalformedFrame,
    RawWebSocket,
    close_payload,
    encode_frame,
    handshake_request,
)
from conformance.verdicts import NoResponse

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
"""RFC 6455 §1.3's sample key: any valid key does, and a fixed one keeps bytes stable."""
PATH = "/ws"


@dataclass(frozen=True)
class WsMessage:
    """One message as the app received it (text, or bytes as latin-1)."""

    kind: str
    body: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Frame:
    """A frame to send, as structure, so mutations can edit one field each."""

    opcode: int
    payload: bytes = b""
    fin: bool = True
    rsv: int = 0
    mask: bool = True
    length: int | None = None
    long_length: bool = False
    raw: bytes | None = None
    """Exact bytes instead of an encoding (for forms encode_frame cannot make)."""

    def encode(self, rng: random.Random) -> bytes:
        if self.raw is not None:
            return self.raw
        key = bytes(rng.randrange(256) for _ in range(4))
        return encode_frame(self.opcode, self.payload, fin=self.fin, rsv=self.rsv,
                            mask=self.mask, key=key, length=self.length,
                            long_length=self.long_length)


def handshake(probe: bytes) -> bytes:
    return handshake_request(PATH, host=b"example.com", key=KEY,
                             headers=[(b"x-probe-id", probe)])


# --- seeds and mutations -----------------------------------------------------------------

SEEDS: dict[str, Callable[[], list[Frame]]] = {
    "text": lambda: [Frame(TEXT, b"hello websocket")],
    "binary": lambda: [Frame(BINARY, b"\x00\x01binary\xff")],
    "fragmented": lambda: [Frame(TEXT, b"frag", fin=False),
                           Frame(CONTINUATION, b"mented text")],
    "ping-text": lambda: [Frame(PING, b"ping"), Frame(TEXT, b"after ping")],
}

Mutation = Callable[[list[Frame], random.Random], bool]
MUTATIONS: dict[str, Mutation] = {}


def _data_frame(frames: Sequence[Frame]) -> Frame:
    return next(f for f in frames if f.opcode in (TEXT, BINARY))


def _on_data(name: str, edit: Callable[[Frame], None]) -> None:
    def apply(frames: list[Frame], rng: random.Random) -> bool:
        edit(_data_frame(frames))
        return True
    MUTATIONS[name] = apply


def _append(name: str, *extra: Frame) -> None:
    def apply(frames: list[Frame], rng: random.Random) -> bool:
        frames.extend(Frame(**asdict(f)) for f in extra)
        return True
    MUTATIONS[name] = apply


def _set(**fields: Any) -> Callable[[Frame], None]:
    def edit(frame: Frame) -> None:
        for key, value in fields.items():
            setattr(frame, key, value)
    return edit


_on_data("rsv/rsv1", _set(rsv=4))
_on_data("rsv/rsv2", _set(rsv=2))
_on_data("rsv/rsv3", _set(rsv=1))
_on_data("opcode/reserved-data", _set(opcode=3))
_on_data("opcode/reserved-control", _set(opcode=0xB))
_on_data("mask/missing", _set(mask=False))
_on_data("length/non-minimal-64", _set(long_length=True))
_on_data("utf8/invalid", _set(opcode=TEXT, payload=b"bad \xff utf8"))
_on_data("utf8/surrogate", _set(opcode=TEXT, payload=b"sur\xed\xa0\x80"))
_on_data("utf8/overlong", _set(opcode=TEXT, payload=b"over\xc0\xaf"))
_on_data("utf8/valid-multibyte", _set(opcode=TEXT, payload="héllo €".encode()))
_append("control/fragmented-ping", Frame(PING, b"p", fin=False))
_append("control/oversized-ping", Frame(PING, b"p" * 126))
_append("control/ping-125", Frame(PING, b"p" * 125))
_append("control/rsv-on-ping", Frame(PING, b"p", rsv=4))
_append("frag/continuation-without-start", Frame(CONTINUATION, b"orphan"))
_append("frag/unfinished-then-text", Frame(TEXT, b"one", fin=False), Frame(TEXT, b"two"))
_append("frag/ping-between", Frame(TEXT, b"a", fin=False), Frame(PING, b"x"),
        Frame(CONTINUATION, b"b"))
_append("frag/split-codepoint", Frame(TEXT, "é".encode()[:1], fin=False),
        Frame(CONTINUATION, "é".encode()[1:]))
_append("frag/invalid-utf8-fragment", Frame(TEXT, b"ok", fin=False),
        Frame(CONTINUATION, b"\xff"))
_append("frag/empty-fragments", Frame(TEXT, b"", fin=False), Frame(CONTINUATION, b""))
for _code in (0, 999, 1000, 1004, 1005, 1006, 1015, 1016, 2999, 3000, 4999, 5000):
    _append(f"close/code-{_code}", Frame(CLOSE, close_payload(_code)))
_append("close/one-byte", Frame(CLOSE, b"\x03"))
_append("close/empty", Frame(CLOSE, b""))
_append("close/invalid-utf8-reason", Frame(CLOSE, close_payload(1000, b"\xff")))
_append("close/then-text", Frame(CLOSE, close_payload(1000)), Frame(TEXT, b"late"))


def _non_minimal_16(frames: list[Frame], rng: random.Random) -> bool:
    """A small payload with the 16-bit length form (§5.2: the minimal number of bytes
    MUST be used to encode the length)."""
    frame = _data_frame(frames)
    key = bytes(rng.randrange(256) for _ in range(4))
    masked = encode_frame(frame.opcode, frame.payload, key=key)[2:]
    frame.raw = bytes([0x80 | frame.opcode, 0x80 | 126]) + struct.pack(
        "!H", len(frame.payload)) + masked
    return True


def _msb_length(frames: list[Frame], rng: random.Random) -> bool:
    """A 64-bit length with its most significant bit set (§5.2: MUST be 0)."""
    frame = _data_frame(frames)
    frame.raw = bytes([0x80 | frame.opcode, 0x80 | 127]) + struct.pack(
        "!Q", (1 << 63) | len(frame.payload)) + b"\x00" * 4 + frame.payload
    return True


MUTATIONS["length/non-minimal-16"] = _non_minimal_16
MUTATIONS["length/msb-set"] = _msb_length


def generate(seed: int, count: int | None = None,
             only: Sequence[str] | None = None) -> Iterator[Case]:
    """WebSocket cases for ``seed``, deterministically (the frames after the handshake
    are the case's bytes; the handshake is added per run with the probe id). ``only``
    restricts the mutations (names or families, with or without the ``ws-`` prefix)."""
    rng = random.Random(f"ws-{seed}")
    wanted = None if not only else [o.removeprefix("ws-") for o in only]
    names = select(MUTATIONS, wanted)
    if not names:
        return
    index = 0
    for seed_name in sorted(SEEDS) if not only else ():  # unmutated first, as for HTTP
        if count is not None and index >= count:
            return
        frames = SEEDS[seed_name]()
        yield Case(index, f"ws-{seed_name}", (f"ws-seed/{seed_name}",),
                   b"".join(frame.encode(rng) for frame in frames),
                   requests=_messages(frames), protocol="ws")
        index += 1
    while count is None or index < count:
        seed_name = rng.choice(sorted(SEEDS))
        frames = SEEDS[seed_name]()
        name = rng.choice(names)
        MUTATIONS[name](frames, rng)
        data = b"".join(frame.encode(rng) for frame in frames)
        yield Case(index, f"ws-{seed_name}", (f"ws-{name}",), data,
                   requests=_messages(frames), protocol="ws")
        index += 1


def _messages(frames: Sequence[Frame]) -> int:
    return sum(f.fin and f.opcode in (TEXT, BINARY, CONTINUATION) for f in frames)


# --- one server's reading ----------------------------------------------------------------


def exchange(host: str, port: int, case: Case, probe: bytes, timeout: float,
             settle: float) -> tuple[int | None, list[str], bool, str, bytes]:
    """Handshake, send the case's frames, read frames until the server's close, TCP
    close, quiet after the expected echoes, or ``timeout``.

    Returns (handshake status, control frames received summarised, garbage, how the
    connection ended, raw bytes received)."""
    received: list[str] = []
    garbage = False
    with RawWebSocket(host, port, timeout=timeout) as sock:
        try:
            sock.send(handshake(probe))
            answer = sock.read_handshake(timeout)
        except (NoResponse, MalformedFrame, AssertionError):
            return None, received, True, sock.peer_closed or "open", sock.received_bytes()
        if answer.status != 101:
            return answer.status, received, False, sock.peer_closed or "open", \
                sock.received_bytes()
        sock.send_pieces(case.pieces(case.data))
        echoes = 0
        while True:
            wait = settle if echoes >= case.requests else timeout
            try:
                frame = sock.read_frame(wait)
            except NoResponse:
                break
            except MalformedFrame as exc:
                received.append(f"malformed: {str(exc).split(':', 1)[0]}")
                garbage = True
                break
            if frame is None:
                break
            if frame.opcode == CLOSE:
                received.append(f"close {frame.close_code}")
                break
            if frame.opcode in (TEXT, BINARY, CONTINUATION):
                # Echoes are the app's doing (its view is compared already), and whether
                # one goes out before a server fails the connection is timing: not kept.
                echoes += frame.fin
                continue
            received.append(f"{frame.opcode:x} {frame.payload[:40].decode('latin-1')!r}")
        return 101, received, garbage, sock.peer_closed or "open", sock.received_bytes()


def app_messages(records: Sequence[Record]) -> tuple[WsMessage, ...]:
    """The messages the app received (``websocket.receive`` events), in order."""
    out = []
    for record in records:
        event = record.data.get("event") if record.kind == "receive" else None
        if isinstance(event, dict) and event.get("type") == "websocket.receive":
            if event.get("text") is not None:
                out.append(WsMessage("text", str(event["text"])))
            else:
                data = event.get("bytes") or b""
                out.append(WsMessage("bytes", bytes(data).decode("latin-1")))
    return tuple(out)

