"""The server side of a WebSocket connection after the handshake (RFC 6455 §5-§8), sans I/O.

Bytes from the client go in with :meth:`WebSocketConnection.feed`; whole messages and
control events come out of :meth:`~WebSocketConnection.next_event`. What the server
application sends is turned into frames by ``send_*``, which *return* the bytes; what
the protocol itself must answer (pongs, the reply to a close, the close that fails a
misbehaving peer) is queued and collected with :meth:`~WebSocketConnection.output`. The
asyncio shell does the writing, the timeouts and the TCP close. (h11 and the
``websockets`` library's sans-I/O layer make the same split.)

States::

    OPEN ──send_close()──▶ CLOSING ──peer's close──▶ CLOSED
      │                                                ▲
      └──peer's close (reply queued) / protocol failure┘

Events are whole messages, reassembled from fragments (§5.4) and decompressed
(RFC 7692), because that is what ASGI delivers (``websocket.receive`` carries a complete
``text`` or ``bytes``). Control frames may arrive between the fragments of a message
(§5.4: "Control frames MAY be injected in the middle of a fragmented message") and are
reported at once.

Failing the connection (§7.1.7). Anything the client gets wrong yields one
:class:`ProtocolFailure`, queues a close frame with the matching code (1002 protocol
error, 1007 invalid payload data, 1009 message too big; §7.4.1) unless we already sent
one, and moves to CLOSED; the shell then writes :meth:`output` and closes TCP. Nothing
after a failure is parsed: once framing is in doubt, nothing that follows can be trusted.

Why our own core and not ``websockets.protocol``: ``websockets`` is a client/server library
whose sans-I/O ``Protocol`` parses frames with generator coroutines (a generator resume
per read per frame part), builds a ``Frame`` dataclass per frame and reports frames, not
messages; reassembly happens in its I/O layer. A server whose hot path is "a small
masked frame in, one message out" pays for all of that per message (measured: about
4.8 µs to turn a 16-byte text frame into a ``Frame`` with ``receive_data`` and
``events_received``, against about 1 µs here to a decoded :class:`Message`). Here the hot path is
a handful of byte reads on a ``bytearray`` with no intermediate object (see
:meth:`WebSocketConnection.next_event`); everything unusual (fragments, partial frames,
compression, control frames, errors) takes a general path written for clarity.

Fail fast. Limits are enforced from frame headers, before payloads arrive: a 1 GiB frame
is refused when its 10-byte header is read. A data frame whose payload has only partly
arrived is consumed piece by piece, so a text message's UTF-8 is checked as its bytes
arrive (§8.1; Autobahn 6.4.x) and memory holds each byte once (in the message being
reassembled) rather than twice.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

from .deflate import DeflateError, MessageTooBig, PerMessageDeflate
from .frames import (
    FIN,
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    RSV1,
    RSV2,
    RSV3,
    apply_mask,
    close_code_valid,
    encode_close_payload,
    encode_frame,
    frame_header,
    length_error,
    parse_header,
    rotate_mask,
)
from .utf8 import Utf8Decoder

# Connection states.
#: Data flows both ways.
OPEN: Final = 1
#: We sent a close frame and wait for the peer's (§7.1.2); incoming data is dropped.
CLOSING: Final = 2
#: The closing handshake completed, or the connection failed: nothing more is parsed
#: or may be sent; the shell closes TCP (§7.1.1: the server closes it first).
CLOSED: Final = 3

# Close codes (RFC 6455 §7.4.1).
NORMAL_CLOSURE: Final = 1000
PROTOCOL_ERROR: Final = 1002
NO_STATUS: Final = 1005
INVALID_DATA: Final = 1007
MESSAGE_TOO_BIG: Final = 1009

_DEFAULT_MAX: Final = 16 * 1024 * 1024

# Header tables for the send path: a small message is one lookup and one concatenation.
_TEXT_HEADERS: Final = [bytes((FIN | OP_TEXT, n)) for n in range(126)]
_BINARY_HEADERS: Final = [bytes((FIN | OP_BINARY, n)) for n in range(126)]


class ConnectionClosedError(Exception):
    """Data was sent on a connection that is no longer OPEN (the shell raises the ASGI
    ``OSError`` subclass for it: asgi www.rst, spec_version 2.5)."""


# -- events ------------------------------------------------------------------------------


class _Event:
    __slots__: ClassVar[tuple[str, ...]] = ()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"


class Message(_Event):
    """A complete data message: ``str`` for text (valid UTF-8, §8.1), ``bytes`` for
    binary; reassembled from its fragments and decompressed."""

    __slots__ = ("data",)

    def __init__(self, data: str | bytes) -> None:
        self.data = data


class Ping(_Event):
    """The peer sent a ping (§5.5.2). Informational: the pong with the same payload is
    already queued in :meth:`WebSocketConnection.output` (while OPEN; after we sent a
    close we send nothing more, §5.5.1)."""

    __slots__ = ("payload",)

    def __init__(self, payload: bytes) -> None:
        self.payload = payload


class Pong(_Event):
    """The peer sent a pong (§5.5.3), solicited or not."""

    __slots__ = ("payload",)

    def __init__(self, payload: bytes) -> None:
        self.payload = payload


class CloseReceived(_Event):
    """The peer's close frame (§5.5.1): ``code`` is 1005 when it carried no status.
    Unless we had sent a close already, the reply (echoing the code, or 1000 for 1005)
    is queued in :meth:`WebSocketConnection.output`. The state is now CLOSED."""

    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


class ProtocolFailure(_Event):
    """The peer broke the protocol: "_Fail the WebSocket Connection_" (§7.1.7). A close
    frame with ``code`` is queued in :meth:`WebSocketConnection.output` (unless we had
    sent one); the state is now CLOSED and the shell should close TCP."""

    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


Event = Message | Ping | Pong | CloseReceived | ProtocolFailure


class WebSocketConnection:
    """One WebSocket connection, server side, from the first frame to the TCP close.

    ``max_message_size`` bounds a message's payload (the sum of its fragments, and its
    size after decompression); None means no limit. ``deflate`` is the negotiated
    permessage-deflate extension, if any.
    """

    __slots__ = (
        "_buf", "_deflate", "_fast", "_fast_ok", "_fin", "_mask", "_max", "_msg_deflated",
        "_msg_op", "_msg_size", "_msg_wire", "_offset", "_out", "_parts", "_remaining",
        "_utf8", "close_code", "close_reason", "state",
    )

    def __init__(self, *, max_message_size: int | None = _DEFAULT_MAX,
                 deflate: PerMessageDeflate | None = None) -> None:
        #: OPEN, CLOSING or CLOSED.
        self.state = OPEN
        #: The peer's close code once its close frame arrived (1005: none given).
        self.close_code: int | None = None
        #: The peer's close reason once its close frame arrived.
        self.close_reason = ""
        self._buf = bytearray()
        self._out = b""
        self._max = max_message_size
        self._deflate = deflate
        # The hot path in next_event() handles a whole small frame that is a whole
        # message; it is valid when no message or frame is in progress, the state is
        # OPEN, and any 16-bit length is within the limit. _fast caches that condition.
        self._fast_ok = max_message_size is None or max_message_size >= 0xFFFF
        self._fast = self._fast_ok
        # The message in progress: its opcode (0 when none), whether it is compressed,
        # its size on the wire and after decompression, its pieces so far, and the
        # incremental UTF-8 decoder of a text message.
        self._msg_op = 0
        self._msg_deflated = False
        self._msg_wire = 0
        self._msg_size = 0
        self._parts: list[Any] = []
        self._utf8: Utf8Decoder | None = None
        # The data frame whose payload is being consumed: bytes still to come (-1 when
        # at a frame boundary), its masking key, the offset reached, and its FIN bit.
        self._remaining = -1
        self._mask = b""
        self._offset = 0
        self._fin = False

    def __repr__(self) -> str:
        state = {OPEN: "OPEN", CLOSING: "CLOSING", CLOSED: "CLOSED"}[self.state]
        return f"<WebSocketConnection {state} buffered={len(self._buf)}>"

    # -- input -----------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Bytes received from the client. Ignored once CLOSED."""
        if self.state != CLOSED:
            self._buf += data

    @property
    def buffered(self) -> int:
        """Bytes fed and not yet consumed (for the shell's read backpressure)."""
        return len(self._buf)

    def output(self) -> bytes:
        """Frames the protocol itself wants written (pongs, close replies, the close of a
        failed connection), oldest first; cleared by the call."""
        out = self._out
        if out:
            self._out = b""
        return out

    def next_event(self) -> Event | None:
        """The next event, or None when more bytes are needed (or the state is CLOSED)."""
        if self._fast:
            # The hot path: an unfragmented, uncompressed, masked text or binary frame
            # that has fully arrived (§5.2), read with direct byte indexing. Anything
            # else falls through to the general path, which re-reads the header.
            buf = self._buf
            n = len(buf)
            if n < 2:
                return None  # not even a frame header's first two bytes
            if n > 5:
                b0 = buf[0]
                if b0 == 0x81 or b0 == 0x82:  # FIN, no RSV bit, text or binary
                    # The payload length, negative when the MASK bit is clear or the
                    # frame is not for this path, and where the payload starts (after
                    # the length and the 4-byte mask).
                    length = buf[1] - 0x80
                    if length < 126:
                        start = 6
                    elif length == 126 and n > 7:
                        length = (buf[2] << 8) | buf[3]
                        start = 8
                        if length < 126:
                            length = -1  # not minimal (§5.2): the general path fails it
                    else:
                        length = -1  # a 64-bit length or an incomplete header
                    if length >= 0 and n >= start + length:
                        end = start + length
                        payload = apply_mask(buf[start:end], buf[start - 4:start]) \
                            if length else b""
                        del buf[:end]
                        if b0 == 0x82:
                            return Message(payload)
                        try:
                            return Message(payload.decode())
                        except UnicodeDecodeError:
                            return self._fail(INVALID_DATA, "invalid UTF-8 in a text message")
        return self._next_general()

    def _next_general(self) -> Event | None:
        buf = self._buf
        while self.state != CLOSED:
            if self._remaining >= 0:
                if self._remaining and not buf:
                    return None
                event = self._consume_payload()
                if event is not None:
                    return event
                continue
            header = parse_header(buf)
            if header is None:
                return None
            b0, opcode, mask, length, header_length = header
            # §5.1: "The server MUST close the connection upon receiving a frame that is
            # not masked."
            if mask is None:
                return self._fail(PROTOCOL_ERROR, "client frame not masked")
            # §5.2: RSV1-3 "MUST be 0 unless an extension is negotiated that defines
            # meanings"; permessage-deflate defines RSV1 only (RFC 7692 §6).
            if b0 & (RSV2 | RSV3):
                return self._fail(PROTOCOL_ERROR, "reserved bit RSV2 or RSV3 set")
            error = length_error(buf[1], length)
            if error is not None:
                return self._fail(PROTOCOL_ERROR, error)
            fin = b0 & FIN
            if opcode & 0x8:
                # Control frames (§5.5).
                if opcode > OP_PONG:
                    return self._fail(PROTOCOL_ERROR, f"reserved opcode {opcode:#x}")
                if not fin:
                    return self._fail(PROTOCOL_ERROR, "fragmented control frame")  # §5.5
                if length > 125:
                    return self._fail(PROTOCOL_ERROR, "control frame payload over 125 bytes")
                if b0 & RSV1:
                    # RFC 7692 §6.1: RSV1 is for the first frame of a data message.
                    return self._fail(PROTOCOL_ERROR, "RSV1 set on a control frame")
                end = header_length + length
                if len(buf) < end:
                    return None  # at most 139 bytes: wait for the whole frame
                payload = apply_mask(buf[header_length:end], mask) if length else b""
                del buf[:end]
                return self._control(opcode, payload)
            # Data frames (§5.6).
            if opcode > OP_BINARY:
                return self._fail(PROTOCOL_ERROR, f"reserved opcode {opcode:#x}")
            if opcode == OP_CONTINUATION:
                if not self._msg_op:
                    return self._fail(PROTOCOL_ERROR, "continuation frame without a message "
                                                      "in progress")  # §5.4
                if b0 & RSV1:
                    return self._fail(PROTOCOL_ERROR, "RSV1 set on a continuation frame")
            else:
                if self._msg_op:
                    # §5.4: the fragments of one message are not interleaved with another.
                    return self._fail(PROTOCOL_ERROR, "new data frame while a fragmented "
                                                      "message is in progress")
                if b0 & RSV1 and self._deflate is None:
                    return self._fail(PROTOCOL_ERROR, "RSV1 set without permessage-deflate")
                self._msg_op = opcode
                self._msg_deflated = bool(b0 & RSV1)
                self._msg_wire = self._msg_size = 0
            if self.state == OPEN:
                wire = self._msg_wire + length
                if self._max is not None and wire > self._max:
                    # §7.4.1 1009, before the payload arrives.
                    return self._fail(MESSAGE_TOO_BIG, f"message exceeds {self._max} bytes")
                self._msg_wire = wire
                if opcode and fin and not self._msg_deflated and len(buf) >= header_length + length:
                    # A whole unfragmented message that arrived at once.
                    end = header_length + length
                    payload = apply_mask(buf[header_length:end], mask) if length else b""
                    del buf[:end]
                    self._msg_op = 0
                    self._fast = self._fast_ok
                    if opcode == OP_BINARY:
                        return Message(payload)
                    try:
                        return Message(payload.decode())
                    except UnicodeDecodeError:
                        return self._fail(INVALID_DATA, "invalid UTF-8 in a text message")
                if opcode == OP_TEXT:
                    self._utf8 = Utf8Decoder()
            del buf[:header_length]
            self._fast = False
            self._remaining = length
            self._mask = mask
            self._offset = 0
            self._fin = bool(fin)
        return None

    def _consume_payload(self) -> Event | None:
        """Consume what has arrived of the current data frame's payload: unmask it,
        inflate it, check its UTF-8, keep it. Returns the message when this completes
        it, a failure, or None."""
        buf = self._buf
        remaining = self._remaining
        take = min(remaining, len(buf))
        offset = self._offset
        piece = apply_mask(buf[:take], rotate_mask(self._mask, offset)) if take else b""
        del buf[:take]
        remaining -= take
        self._offset = offset + take
        self._remaining = remaining if remaining else -1
        last = not remaining and self._fin
        if self.state != OPEN:
            # CLOSING: §1.4, after sending a close we only wait for the peer's; the
            # data is discarded, but the frames are still parsed to find that close.
            if last:
                self._end_message()
            return None
        data: bytes = piece
        if self._msg_deflated:
            deflate = self._deflate
            assert deflate is not None
            allowance = None if self._max is None else self._max - self._msg_size
            try:
                data = deflate.decompress(piece, last, allowance)
            except MessageTooBig:
                return self._fail(MESSAGE_TOO_BIG, f"message exceeds {self._max} bytes "
                                                   "once decompressed")
            except DeflateError:
                return self._fail(PROTOCOL_ERROR, "invalid compressed data")
            self._msg_size += len(data)
        if self._msg_op == OP_TEXT:
            utf8 = self._utf8
            assert utf8 is not None
            try:
                text = utf8.decode(data, last)
            except UnicodeDecodeError:
                return self._fail(INVALID_DATA, "invalid UTF-8 in a text message")  # §8.1
            if text:
                self._parts.append(text)
            if last:
                message = Message("".join(self._parts))
                self._end_message()
                return message
        else:
            if data:
                self._parts.append(data)
            if last:
                message = Message(b"".join(self._parts))
                self._end_message()
                return message
        return None

    def _end_message(self) -> None:
        self._msg_op = 0
        self._parts = []
        self._utf8 = None
        self._fast = self._fast_ok and self.state == OPEN

    def _control(self, opcode: int, payload: bytes) -> Event:
        if opcode == OP_PING:
            # §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame
            # in response ... [with] the "Application data" of the Ping frame."
            if self.state == OPEN:
                self._out += encode_frame(OP_PONG, payload)
            return Ping(payload)
        if opcode == OP_PONG:
            return Pong(payload)
        # OP_CLOSE (§5.5.1): no payload, or a 2-byte code and a UTF-8 reason.
        n = len(payload)
        if n == 0:
            code, reason = NO_STATUS, ""
        elif n == 1:
            return self._fail(PROTOCOL_ERROR, "close frame with a 1-byte payload")
        else:
            code = (payload[0] << 8) | payload[1]
            if not close_code_valid(code):
                return self._fail(PROTOCOL_ERROR, f"invalid close code {code}")  # §7.4
            try:
                reason = payload[2:].decode()
            except UnicodeDecodeError:
                return self._fail(INVALID_DATA, "close reason is not UTF-8")  # §5.5.1
        self.close_code = code
        self.close_reason = reason
        if self.state == OPEN:
            # §5.5.1: "the endpoint MUST send a Close frame in response ... typically
            # echoing the status code it received".
            reply = NORMAL_CLOSURE if code == NO_STATUS else code
            self._out += encode_frame(OP_CLOSE, encode_close_payload(reply))
        self._closed()
        return CloseReceived(code, reason)

    def _fail(self, code: int, reason: str) -> ProtocolFailure:
        """_Fail the WebSocket Connection_ (§7.1.7): send a close with ``code`` if we have
        not sent one yet, and stop processing input."""
        if self.state == OPEN:
            self._out += encode_frame(OP_CLOSE, encode_close_payload(code, reason))
        self._closed()
        return ProtocolFailure(code, reason)

    def _closed(self) -> None:
        self.state = CLOSED
        self._fast = False
        self._buf.clear()
        self._parts = []
        self._utf8 = None
        self._remaining = -1

    # -- output ----------------------------------------------------------------------

    def send_text(self, text: str) -> bytes:
        """One unmasked text frame with FIN (§5.6), compressed when permessage-deflate
        was negotiated and the message is at least ``min_size`` bytes. Raises
        :class:`ConnectionClosedError` when not OPEN, UnicodeEncodeError (a ValueError)
        for text with lone surrogates."""
        if self.state != OPEN:
            raise ConnectionClosedError("the WebSocket connection is closing or closed")
        if type(text) is not str:
            raise TypeError(f"text must be str, got {type(text).__name__}")
        return self._data_frame(OP_TEXT, text.encode(), _TEXT_HEADERS)

    def send_bytes(self, data: bytes | bytearray | memoryview) -> bytes:
        """One unmasked binary frame with FIN, compressed like :meth:`send_text`."""
        if self.state != OPEN:
            raise ConnectionClosedError("the WebSocket connection is closing or closed")
        if type(data) is not bytes:
            raw: object = data
            if not isinstance(raw, bytearray | memoryview):
                raise TypeError(f"data must be bytes, got {type(raw).__name__}")
            data = bytes(raw)
        return self._data_frame(OP_BINARY, data, _BINARY_HEADERS)

    def _data_frame(self, opcode: int, data: bytes, small_headers: list[bytes]) -> bytes:
        """One unmasked FIN frame of ``opcode``: compressed with RSV1 when deflate is
        negotiated and the message is large enough, else with a pre-built header when
        the payload is under 126 bytes."""
        deflate = self._deflate
        if deflate is not None and len(data) >= deflate.min_size:
            data = deflate.compress(data)
            return frame_header(FIN | RSV1 | opcode, len(data)) + data
        n = len(data)
        if n < 126:
            return small_headers[n] + data
        return frame_header(FIN | opcode, n) + data

    def send_ping(self, payload: bytes = b"") -> bytes:
        """A ping frame (§5.5.2); ValueError when the payload is over 125 bytes."""
        return self._control_frame(OP_PING, payload, "ping")

    def send_pong(self, payload: bytes = b"") -> bytes:
        """An unsolicited pong (§5.5.3: a unidirectional heartbeat)."""
        return self._control_frame(OP_PONG, payload, "pong")

    def _control_frame(self, opcode: int, payload: bytes, what: str) -> bytes:
        if self.state != OPEN:
            raise ConnectionClosedError("the WebSocket connection is closing or closed")
        if len(payload) > 125:  # §5.5: "All control frames MUST have a payload length of
            raise ValueError(f"a {what} payload is at most 125 bytes")  # 125 bytes or less"
        return encode_frame(opcode, bytes(payload))

    def send_close(self, code: int = NORMAL_CLOSURE, reason: str = "") -> bytes:
        """Start the closing handshake (§7.1.2): a close frame, state OPEN → CLOSING.
        Returns b"" when the state is not OPEN (a close was sent or received already).

        ValueError for a code we may not send (1000-1003, 1007-1014, 3000-4999 are
        valid; 1005 means "no status code" and sends an empty payload) or a reason over
        123 UTF-8 bytes (§5.5.1: the payload of a control frame is at most 125 bytes).
        """
        if type(code) is not int or not (close_code_valid(code) or code == NO_STATUS):
            raise ValueError(f"invalid close code {code!r}")
        if type(reason) is not str:
            raise ValueError(f"close reason must be str, got {type(reason).__name__}")
        raw = reason.encode()
        if len(raw) > 123:
            raise ValueError("close reason longer than 123 bytes once UTF-8 encoded")
        if code == NO_STATUS and raw:
            raise ValueError("a close reason needs a status code (not 1005)")
        if self.state != OPEN:
            return b""
        self.state = CLOSING
        self._fast = False
        payload = b"" if code == NO_STATUS else code.to_bytes(2, "big") + raw
        return encode_frame(OP_CLOSE, payload)
