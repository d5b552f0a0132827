"""The server side of an HTTP/2 connection, sans I/O (RFC 9113, RFC 7541, RFC 8441).

:class:`H2Protocol` is fed the bytes the client sends (:meth:`~H2Protocol.receive`) and
returns what they mean as events; the server's side of the conversation is method calls
(:meth:`~H2Protocol.send_headers`, :meth:`~H2Protocol.send_data`, ...), and every byte to
write collects in :meth:`~H2Protocol.data_to_send`. It never touches a socket, a clock of
its own or asyncio: the asyncio shell (``reference_server.protocol.h2_connection``) runs
it, as the HTTP/1.1 parser and the WebSocket core are run.

What it owns:

- **framing** (§4): frame headers read in place, frames over our SETTINGS_MAX_FRAME_SIZE
  refused before they are buffered, unknown types ignored, header blocks reassembled from
  HEADERS and CONTINUATION (§6.10) with nothing allowed in between;
- **streams** (§5.1): the states, ids only increasing, frames on idle and closed streams
  told apart (a stream we reset may still receive what the client sent before it knew;
  one the client closed may not), the concurrency limit (REFUSED_STREAM), PRIORITY checked
  and otherwise ignored (RFC 9113 deprecates the scheme, §5.3.2);
- **errors** (§5.4): a stream error resets one stream, a connection error sends GOAWAY
  with the code that names it and ends the connection;
- **flow control** (§5.2, §6.9) both ways: what we send never exceeds the peer's
  windows (:meth:`~H2Protocol.send_data` takes what fits and says how much); a stream's
  receive window is given back only as the application consumes the body
  (:meth:`~H2Protocol.consumed`), so an application that does not read stops its client;
  the connection's is given back as the bytes arrive, since every stream is bounded;
- **fields**: the request head decoded (the ``hpack`` library) and checked (:mod:`.fields`);
- **the abuse budgets** of :mod:`.limits`: GOAWAY with ENHANCE_YOUR_CALM (§10.5).

Errors map to codes exactly as RFC 9113 names them, since the conformance suite (and any
client debugging against us) reads the code.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from typing import Final

from hpack import Decoder
from hpack.exceptions import HPACKError, OversizedHeaderListError

from . import frames as f
from .fields import Malformed, RequestHead, modifies_table, request_head
from .limits import H2Limits

_U32 = struct.Struct(">I")
_SETTING = struct.Struct(">HI")

# Why a recently closed stream is closed: it decides what a late frame on it means (§5.1).
_RESET_BY_US: Final = 0    # the client may not know yet: its frames are discarded
_RESET_BY_PEER: Final = 1  # the client knows: more frames are a STREAM_CLOSED error
_FINISHED: Final = 2       # both sides ended the stream: likewise
#: Closed streams remembered for that purpose; older ones count as _FINISHED.
_CLOSED_MEMORY: Final = 256
#: RFC 7541 §6.1 "indexed header field" with an index below 127: one byte, 0x80-0xFE.
#: ``block.translate(None, _ONE_BYTE_INDEXED)`` is empty for a block of only those.
_ONE_BYTE_INDEXED: Final = bytes(range(0x80, 0xFF))
#: Request heads cached per connection (see ``H2Protocol._decode``).
_HEAD_CACHE: Final = 32
#: An object's default repr in an exception message (hpack writes "from <memory at
#: 0x7f...>" when an integer does not decode): the GOAWAY's debug data would hand the
#: client an address of the server's heap, and would differ from run to run.
_OBJECT_REPR: Final = re.compile(r" (?:from )?<[^<>]* at 0x[0-9a-fA-F]+>")


class H2ConnectionError(Exception):
    """A connection error: GOAWAY with ``code``, then the connection ends."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class H2StreamError(Exception):
    """A stream error (§5.4.2): RST_STREAM with ``code`` on ``stream_id``."""

    def __init__(self, stream_id: int, code: int, reason: str) -> None:
        super().__init__(reason)
        self.stream_id = stream_id
        self.code = code
        self.reason = reason


# -- events ------------------------------------------------------------------------------------


class RequestReceived:
    """A request's header section: a new stream, and the application's scope."""

    __slots__ = ("end_stream", "head", "stream_id")

    def __init__(self, stream_id: int, head: RequestHead, end_stream: bool) -> None:
        self.stream_id = stream_id
        self.head = head
        self.end_stream = end_stream


class DataReceived:
    """Request body on a stream. ``flow`` is what it cost the stream's window (padding
    included); give it back with :meth:`H2Protocol.consumed` once the app has the data."""

    __slots__ = ("data", "flow", "stream_id")

    def __init__(self, stream_id: int, data: bytes, flow: int) -> None:
        self.stream_id = stream_id
        self.data = data
        self.flow = flow


class StreamEnded:
    """The client's side of the stream ended (END_STREAM; trailers are dropped, as ASGI
    has no request trailers)."""

    __slots__ = ("stream_id",)

    def __init__(self, stream_id: int) -> None:
        self.stream_id = stream_id


class StreamReset:
    """The stream is gone: the client reset it, or we did (a stream error)."""

    __slots__ = ("code", "stream_id")

    def __init__(self, stream_id: int, code: int) -> None:
        self.stream_id = stream_id
        self.code = code


class WindowOpened:
    """The peer gave send credit: on one stream, or (``stream_id`` 0) on the connection
    or to every stream (a larger SETTINGS_INITIAL_WINDOW_SIZE)."""

    __slots__ = ("stream_id",)

    def __init__(self, stream_id: int) -> None:
        self.stream_id = stream_id


class GoAwayReceived:
    """The client is leaving: no new streams will come."""

    __slots__ = ("code", "last_stream_id")

    def __init__(self, last_stream_id: int, code: int) -> None:
        self.last_stream_id = last_stream_id
        self.code = code


class ConnectionTerminated:
    """We sent GOAWAY for a connection error: write what is queued, then close."""

    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


Event = (RequestReceived | DataReceived | StreamEnded | StreamReset | WindowOpened
         | GoAwayReceived | ConnectionTerminated)


class Stream:
    """One stream's flow-control and state bookkeeping."""

    __slots__ = ("expected_length", "local_closed", "pushed", "received_length",
                 "recv_window", "remote_closed", "send_window", "unacked")

    def __init__(self, send_window: int, recv_window: int) -> None:
        #: The client sent END_STREAM (half-closed remote).
        self.remote_closed = False
        #: We sent END_STREAM (half-closed local).
        self.local_closed = False
        self.send_window = send_window
        #: Credit the client still has on this stream.
        self.recv_window = recv_window
        #: Bytes the application consumed that we have not given back yet.
        self.unacked = 0
        #: The request's Content-Length, checked against its DATA (§8.1.1).
        self.expected_length: int | None = None
        self.received_length = 0
        #: A stream we opened with PUSH_PROMISE.
        self.pushed = False


class _Bucket:
    """A token bucket: ``burst`` frames, refilled at ``rate`` per second."""

    __slots__ = ("burst", "last", "rate", "tokens")

    def __init__(self, burst: int, rate: int, now: float) -> None:
        self.burst = burst
        self.rate = rate
        self.tokens = float(burst)
        self.last = now

    def take(self, now: float) -> bool:
        tokens = self.tokens - 1.0
        if tokens < 0.0:
            tokens = min(self.burst, tokens + (now - self.last) * self.rate)
            self.last = now
            if tokens < 0.0:
                return False
        self.tokens = tokens
        return True


class H2Protocol:
    """One HTTP/2 connection, server side."""

    def __init__(self, limits: H2Limits, clock: Callable[[], float], *,
                 connect_protocol: bool = True) -> None:
        self.limits = limits
        self.clock = clock
        #: RFC 8441: we accept extended CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL).
        self.connect_protocol = connect_protocol
        self.streams: dict[int, Stream] = {}
        self._closed: dict[int, int] = {}
        self.highest_stream = 0
        self._next_push = 2
        #: Streams in :attr:`streams` we opened (they do not count against the client's
        #: concurrency limit).
        self._pushed = 0
        self._out: list[bytes] = []
        self._buf = bytearray()
        self._events: list[Event] = []
        self._preface = True
        #: Bytes still to drop of an oversized DATA frame's payload.
        self._skip = 0
        self._settings_seen = False
        self.decoder = Decoder(max_header_list_size=limits.max_header_list_size)
        #: Request heads of blocks that did not touch the dynamic table (``_decode``).
        self._heads: dict[bytes, RequestHead] = {}
        self._cacheable = False
        # The peer's settings (what we may send).
        self.peer_initial_window = f.DEFAULT_WINDOW
        self.peer_max_frame = f.MIN_FRAME_SIZE
        self.peer_push = True
        self.peer_max_streams: int | None = None
        self.send_window = f.DEFAULT_WINDOW
        # Ours.
        self.recv_window = limits.connection_window
        self._conn_unacked = 0
        #: A header block in progress: (stream id, flags, parts, size, pending error).
        self._block_stream = 0
        self._block_flags = 0
        self._block_parts: list[bytes] = []
        self._block_size = 0
        self._block_error: H2StreamError | None = None
        #: GOAWAY sent: no new streams are taken.
        self.goaway_sent = False
        #: GOAWAY received: the client opens no more streams and wants no pushes.
        self.goaway_received = False
        #: A connection error ended the conversation: input is ignored.
        self.terminated = False
        now = clock()
        self._flood = {kind: _Bucket(limits.flood_burst, limits.flood_rate, now)
                       for kind in ("ping", "settings", "priority", "empty", "window")}
        self._resets = _Bucket(limits.reset_burst, limits.reset_rate, now)
        self._errors = _Bucket(limits.reset_burst, limits.reset_rate, now)

    # -- starting ------------------------------------------------------------------------------

    def initiate(self) -> None:
        """Our connection preface: SETTINGS (§3.4), and the larger connection window."""
        limits = self.limits
        values = {f.MAX_CONCURRENT_STREAMS: limits.max_concurrent_streams,
                  f.MAX_HEADER_LIST_SIZE: limits.max_header_list_size,
                  f.ENABLE_PUSH: 0}
        if limits.initial_window != f.DEFAULT_WINDOW:
            values[f.INITIAL_WINDOW_SIZE] = limits.initial_window
        if limits.max_frame_size != f.MIN_FRAME_SIZE:
            values[f.MAX_FRAME_SIZE] = limits.max_frame_size
        if self.connect_protocol:
            values[f.ENABLE_CONNECT_PROTOCOL] = 1
        self._out.append(f.settings(values))
        if limits.connection_window > f.DEFAULT_WINDOW:
            self._out.append(f.window_update(0, limits.connection_window - f.DEFAULT_WINDOW))

    def upgrade(self, settings_payload: bytes) -> None:
        """The client came through ``Upgrade: h2c`` (RFC 7540 §3.2): its HTTP2-Settings
        apply (a ConnectionError if they are invalid), and its request is stream 1,
        half-closed (remote)."""
        if len(settings_payload) % 6:
            raise H2ConnectionError(f.PROTOCOL_ERROR, "HTTP2-Settings is not a SETTINGS payload")
        self._apply_settings(settings_payload)
        stream = self.streams[1] = Stream(self.peer_initial_window, self.limits.initial_window)
        stream.remote_closed = True
        self.highest_stream = 1

    # -- input ---------------------------------------------------------------------------------

    def receive(self, data: bytes) -> list[Event]:
        """Bytes from the client; the events they complete."""
        if self.terminated:
            return []
        buf = self._buf
        buf += data
        events = self._events = []
        pos = 0
        try:
            if self._preface:
                if len(buf) < 24:
                    if f.PREFACE[:len(buf)] != buf:
                        raise H2ConnectionError(f.PROTOCOL_ERROR, "invalid connection preface")
                    return events
                if buf[:24] != f.PREFACE:
                    raise H2ConnectionError(f.PROTOCOL_ERROR, "invalid connection preface")
                self._preface = False
                pos = 24
            if self._skip:
                pos = self._skipped(buf)
            max_frame = self.limits.max_frame_size
            end = len(buf)
            while end - pos >= 9:
                length = (buf[pos] << 16) | (buf[pos + 1] << 8) | buf[pos + 2]
                if length > max_frame:
                    pos = self._oversized(buf, pos, length)
                    continue
                start = pos + 9
                if end - start < length:
                    break
                kind = buf[pos + 3]
                flags = buf[pos + 4]
                sid = _U32.unpack_from(buf, pos + 5)[0] & 0x7FFFFFFF
                payload = bytes(buf[start:start + length])
                pos = start + length
                try:
                    self._frame(kind, flags, sid, payload)
                except H2StreamError as exc:
                    self._stream_error(exc)
            del buf[:pos]
        except H2ConnectionError as exc:
            self.terminate(exc.code, exc.reason)
            events.append(ConnectionTerminated(exc.code, exc.reason))
        return events

    def _oversized(self, buf: bytearray, pos: int, length: int) -> int:
        """§4.2: a frame over our SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR: a
        connection error for frames that carry connection state, a stream error for a DATA
        frame, whose payload is then skipped as it arrives (never buffered)."""
        kind = buf[pos + 3]
        sid = _U32.unpack_from(buf, pos + 5)[0] & 0x7FFFFFFF
        what = f"a {length}-byte frame (SETTINGS_MAX_FRAME_SIZE is {self.limits.max_frame_size})"
        if kind != f.DATA or sid == 0 or self._block_stream or sid not in self.streams:
            raise H2ConnectionError(f.FRAME_SIZE_ERROR, what)
        self.recv_window -= length
        if self.recv_window < 0:
            raise H2ConnectionError(f.FLOW_CONTROL_ERROR, "DATA beyond the connection window")
        self._give_connection_credit(length)
        self._stream_error(H2StreamError(sid, f.FRAME_SIZE_ERROR, what))
        self._skip = length
        return self._skipped(buf, pos + 9)

    def _skipped(self, buf: bytearray, pos: int = 0) -> int:
        """Drop what arrived of a skipped payload; the position after it."""
        take = min(self._skip, len(buf) - pos)
        self._skip -= take
        return pos + take

    def _frame(self, kind: int, flags: int, sid: int, payload: bytes) -> None:
        if not self._settings_seen:
            # §3.4: the preface's SETTINGS frame comes first.
            if kind != f.SETTINGS or flags & f.ACK:
                raise H2ConnectionError(f.PROTOCOL_ERROR, "the preface is not followed by "
                                                        "SETTINGS")
            self._settings_seen = True
        if self._block_stream and kind != f.CONTINUATION:
            raise H2ConnectionError(f.PROTOCOL_ERROR,
                                  "a frame inside a header block (§6.10)")
        if kind == f.DATA:
            self._data(flags, sid, payload)
        elif kind == f.HEADERS:
            self._headers(flags, sid, payload)
        elif kind == f.WINDOW_UPDATE:
            self._window_update(sid, payload)
        elif kind == f.SETTINGS:
            self._settings(flags, sid, payload)
        elif kind == f.RST_STREAM:
            self._rst_stream(sid, payload)
        elif kind == f.PING:
            self._ping(flags, sid, payload)
        elif kind == f.PRIORITY:
            self._priority(sid, payload)
        elif kind == f.CONTINUATION:
            self._continuation(flags, sid, payload)
        elif kind == f.GOAWAY:
            self._goaway(sid, payload)
        elif kind == f.PUSH_PROMISE:
            raise H2ConnectionError(f.PROTOCOL_ERROR, "PUSH_PROMISE from a client (§8.4)")
        else:
            # §4.1: unknown types are ignored; they still cost the empty-frame budget.
            self._budget("empty")

    def _budget(self, kind: str) -> None:
        if not self._flood[kind].take(self.clock()):
            raise H2ConnectionError(f.ENHANCE_YOUR_CALM, f"too many {kind} frames")

    @staticmethod
    def _unpad(flags: int, payload: bytes) -> tuple[bytes, int]:
        """The payload without its padding (§6.1, §6.2), and the pad length field's cost."""
        if not flags & f.PADDED:
            return payload, 0
        if not payload:
            raise H2ConnectionError(f.FRAME_SIZE_ERROR, "PADDED frame without a pad length")
        pad = payload[0]
        if pad >= len(payload):
            raise H2ConnectionError(f.PROTOCOL_ERROR, "padding as long as the payload")
        return payload[1:len(payload) - pad], pad + 1

    def _closed_reason(self, sid: int) -> int | None:
        """None for an idle stream; otherwise why the (closed) stream closed."""
        if sid > self.highest_stream:
            return None
        return self._closed.get(sid, _FINISHED)

    # -- DATA --------------------------------------------------------------------------------

    def _data(self, flags: int, sid: int, payload: bytes) -> None:
        if sid == 0:
            raise H2ConnectionError(f.PROTOCOL_ERROR, "DATA on stream 0")
        size = len(payload)
        self.recv_window -= size
        if self.recv_window < 0:
            raise H2ConnectionError(f.FLOW_CONTROL_ERROR, "DATA beyond the connection window")
        self._give_connection_credit(size)
        data, _ = self._unpad(flags, payload)
        stream = self.streams.get(sid)
        if stream is None or stream.remote_closed:
            if stream is None and (sid % 2 == 0 or self._closed_reason(sid) is None):
                raise H2ConnectionError(f.PROTOCOL_ERROR, f"DATA on idle stream {sid}")
            if stream is None and self._closed.get(sid) == _RESET_BY_US:
                return
            raise H2StreamError(sid, f.STREAM_CLOSED, "DATA after END_STREAM")
        stream.recv_window -= size
        if stream.recv_window < 0:
            raise H2StreamError(sid, f.FLOW_CONTROL_ERROR, "DATA beyond the stream window")
        end = bool(flags & f.END_STREAM)
        if not data and not end:
            self._budget("empty")
        stream.received_length += len(data)
        expected = stream.expected_length
        if expected is not None and (stream.received_length > expected
                                     or (end and stream.received_length != expected)):
            raise H2StreamError(sid, f.PROTOCOL_ERROR, "DATA disagrees with content-length")
        events = self._events
        if data:
            events.append(DataReceived(sid, data, size))
        elif size:
            self.consumed(sid, size)  # only padding: nothing for the app to consume
        if end:
            stream.remote_closed = True
            events.append(StreamEnded(sid))
            self._maybe_close(sid, stream)

    def _give_connection_credit(self, size: int) -> None:
        self._conn_unacked += size
        if self._conn_unacked >= self.limits.connection_window // 2:
            self._out.append(f.window_update(0, self._conn_unacked))
            self.recv_window += self._conn_unacked
            self._conn_unacked = 0

    def consumed(self, sid: int, size: int) -> None:
        """The application took ``size`` bytes of the stream's body: credit to give back
        (in batches of half the window; none once the client has ended the stream)."""
        stream = self.streams.get(sid)
        if stream is None or stream.remote_closed:
            return
        stream.unacked += size
        if stream.unacked >= self.limits.initial_window // 2:
            self._out.append(f.window_update(sid, stream.unacked))
            stream.recv_window += stream.unacked
            stream.unacked = 0

    # -- HEADERS and CONTINUATION ------------------------------------------------------------------

    def _headers(self, flags: int, sid: int, payload: bytes) -> None:
        if sid == 0:
            raise H2ConnectionError(f.PROTOCOL_ERROR, "HEADERS on stream 0")
        if sid % 2 == 0:
            raise H2ConnectionError(f.PROTOCOL_ERROR, f"HEADERS on even stream {sid}")
        block, _ = self._unpad(flags, payload)
        error = None
        if flags & f.PRIORITY_FLAG:
            if len(block) < 5:
                raise H2ConnectionError(f.FRAME_SIZE_ERROR, "HEADERS too short for PRIORITY")
            if _U32.unpack_from(block)[0] & 0x7FFFFFFF == sid:
                # §5.3.1: a stream cannot depend on itself.
                error = H2StreamError(sid, f.PROTOCOL_ERROR, "stream depends on itself")
            block = block[5:]
        stream = self.streams.get(sid)
        if stream is None and sid <= self.highest_stream:
            reason = self._closed.get(sid)
            if reason is None:
                # §5.1.1: ids only increase; a lower one was implicitly closed unused.
                raise H2ConnectionError(f.PROTOCOL_ERROR, f"stream id {sid} is not increasing")
            if reason == _RESET_BY_PEER:
                # §5.1: after the client's RST_STREAM, a stream error (once the block is
                # decoded: the HPACK state is the connection's).
                error = H2StreamError(sid, f.STREAM_CLOSED, "HEADERS after RST_STREAM")
            elif reason != _RESET_BY_US:
                raise H2ConnectionError(f.STREAM_CLOSED, f"HEADERS on closed stream {sid}")
        elif stream is not None and stream.remote_closed:
            error = H2StreamError(sid, f.STREAM_CLOSED, "HEADERS after END_STREAM")
        if flags & f.END_HEADERS:
            self._block(sid, flags, block, error)
        else:
            self._block_stream = sid
            self._block_flags = flags
            self._block_parts = [block]
            self._block_size = len(block)
            self._block_error = error
            self._check_block_size()
            if not block:
                self._budget("empty")

    def _continuation(self, flags: int, sid: int, payload: bytes) -> None:
        if not self._block_stream or sid != self._block_stream:
            raise H2ConnectionError(f.PROTOCOL_ERROR, "CONTINUATION without its HEADERS")
        self._block_parts.append(payload)
        self._block_size += len(payload)
        self._check_block_size()
        if not payload and not flags & f.END_HEADERS:
            self._budget("empty")
        if flags & f.END_HEADERS:
            block = b"".join(self._block_parts)
            self._block_stream = 0
            self._block_parts = []
            self._block(sid, self._block_flags, block, self._block_error)

    def _check_block_size(self) -> None:
        if self._block_size > self.limits.max_header_list_size:
            # CVE-2024-27316: a block that never ends. The HPACK state needs the whole
            # block, so the connection ends (§10.5.1).
            raise H2ConnectionError(f.ENHANCE_YOUR_CALM, "header block too large")

    def _block(self, sid: int, flags: int, block: bytes, error: H2StreamError | None) -> None:
        """A complete header block: decode it (always: the HPACK state is the
        connection's), then open the stream, take its trailers, or refuse it."""
        cached = self._heads.get(block)
        fields = cached.fields if cached is not None else self._decode(block)
        if error is not None:
            raise error
        end_stream = bool(flags & f.END_STREAM)
        stream = self.streams.get(sid)
        if stream is not None:
            self._trailers(sid, stream, fields, end_stream)
            return
        if sid <= self.highest_stream:
            return  # a stream we reset: the client sent this before it knew
        self.highest_stream = sid
        if self.goaway_sent:
            return  # §6.8: streams above the GOAWAY's last id are ignored
        if len(self.streams) - self._pushed >= self.limits.max_concurrent_streams:
            self._closed[sid] = _RESET_BY_US
            raise H2StreamError(sid, f.REFUSED_STREAM, "too many concurrent streams")
        if cached is not None:
            head = cached.copy()
        else:
            try:
                head = request_head(fields, self.connect_protocol)
            except Malformed as exc:
                self._closed[sid] = _RESET_BY_US
                raise H2StreamError(sid, f.PROTOCOL_ERROR, str(exc)) from None
            if self._cacheable and len(self._heads) < _HEAD_CACHE:
                self._heads[block] = head.copy()
        if end_stream and head.content_length:
            self._closed[sid] = _RESET_BY_US
            raise H2StreamError(sid, f.PROTOCOL_ERROR, "content-length without DATA")
        stream = self.streams[sid] = Stream(self.peer_initial_window,
                                            self.limits.initial_window)
        stream.expected_length = head.content_length
        stream.remote_closed = end_stream
        self._events.append(RequestReceived(sid, head, end_stream))

    def _decode(self, block: bytes) -> list[tuple[bytes, bytes]]:
        """HPACK-decode ``block``. A block that adds nothing to the dynamic table (only
        indexed fields and literals without indexing: what a client sends for a request
        it repeats) leaves the table as it was, so the request head it decodes to may be
        cached until a block that does change the table: the next identical block then
        costs a dictionary lookup."""
        self._cacheable = not block.translate(None, _ONE_BYTE_INDEXED) \
            or not modifies_table(block)
        if not self._cacheable:
            self._heads.clear()
        try:
            return self.decoder.decode(block, raw=True)  # type: ignore[return-value]
        except OversizedHeaderListError:
            raise H2ConnectionError(f.ENHANCE_YOUR_CALM, "header list too large") from None
        except (HPACKError, IndexError, ValueError, UnicodeDecodeError) as exc:
            reason = _OBJECT_REPR.sub("", str(exc))
            raise H2ConnectionError(f.COMPRESSION_ERROR, f"header block: {reason}") from None

    def _trailers(self, sid: int, stream: Stream, fields: list[tuple[bytes, bytes]],
                  end_stream: bool) -> None:
        """§8.1: a second header section ends the stream and carries no pseudo-header."""
        if not end_stream:
            raise H2StreamError(sid, f.PROTOCOL_ERROR, "trailers without END_STREAM")
        for name, _ in fields:
            if name[:1] == b":":
                raise H2StreamError(sid, f.PROTOCOL_ERROR, "a pseudo-header in trailers")
        expected = stream.expected_length
        if expected is not None and stream.received_length != expected:
            raise H2StreamError(sid, f.PROTOCOL_ERROR, "DATA disagrees with content-length")
        stream.remote_closed = True
        self._events.append(StreamEnded(sid))
        self._maybe_close(sid, stream)

    # -- control frames ----------------------------------------------------------------------------

    def _priority(self, sid: int, payload: bytes) -> None:
        if sid == 0:
            raise H2ConnectionError(f.PROTOCOL_ERROR, "PRIORITY on stream 0")
        self._budget("priority")
        if len(payload) != 5:
            raise H2StreamError(sid, f.FRAME_SIZE_ERROR, "PRIORITY is not 5 bytes")
        if _U32.unpack_from(payload)[0] & 0x7FFFFFFF == sid:
            raise H2StreamError(sid, f.PROTOCOL_ERROR, "stream depends on itself")

    def _rst_stream(self, sid: int, payload: bytes) -> None:
        if sid == 0:
            raise H2ConnectionError(f.PROTOCOL_ERROR, "RST_STREAM on stream 0")
        if len(payload) != 4:
            raise H2ConnectionError(f.FRAME_SIZE_ERROR, "RST_STREAM is not 4 bytes")
        stream = self.streams.pop(sid, None)
        if stream is None:
            if sid % 2 == 1 and sid > self.highest_stream:
                raise H2ConnectionError(f.PROTOCOL_ERROR, f"RST_STREAM on idle stream {sid}")
            return
        self._forget(stream)
        if not stream.local_closed and not self._resets.take(self.clock()):
            raise H2ConnectionError(f.ENHANCE_YOUR_CALM, "too many streams reset")
        self._remember(sid, _RESET_BY_PEER)
        self._events.append(StreamReset(sid, _U32.unpack(payload)[0]))

    def _settings(self, flags: int, sid: int, payload: bytes) -> None:
        if sid != 0:
            raise H2ConnectionError(f.PROTOCOL_ERROR, "SETTINGS on a stream")
        if flags & f.ACK:
            if payload:
                raise H2ConnectionError(f.FRAME_SIZE_ERROR, "SETTINGS ACK with a payload")
            return
        if len(payload) % 6:
            raise H2ConnectionError(f.FRAME_SIZE_ERROR, "SETTINGS length not a multiple of 6")
        self._budget("settings")
        self._apply_settings(payload)
        self._out.append(f.SETTINGS_ACK)

    def _apply_settings(self, payload: bytes) -> None:
        for pos in range(0, len(payload) - len(payload) % 6, 6):
            key, value = _SETTING.unpack_from(payload, pos)
            if key == f.INITIAL_WINDOW_SIZE:
                if value > f.MAX_WINDOW:
                    raise H2ConnectionError(f.FLOW_CONTROL_ERROR,
                                          "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1")
                delta = value - self.peer_initial_window
                self.peer_initial_window = value
                for stream in self.streams.values():
                    stream.send_window += delta
                    if stream.send_window > f.MAX_WINDOW:
                        raise H2ConnectionError(f.FLOW_CONTROL_ERROR, "a window above 2^31-1")
                if delta > 0:
                    self._events.append(WindowOpened(0))
            elif key == f.MAX_FRAME_SIZE:
                if not f.MIN_FRAME_SIZE <= value <= f.MAX_FRAME_SIZE_LIMIT:
                    raise H2ConnectionError(f.PROTOCOL_ERROR, "invalid SETTINGS_MAX_FRAME_SIZE")
                self.peer_max_frame = value
            elif key == f.ENABLE_PUSH:
                if value > 1:
                    raise H2ConnectionError(f.PROTOCOL_ERROR, "invalid SETTINGS_ENABLE_PUSH")
                self.peer_push = value == 1
            elif key == f.MAX_CONCURRENT_STREAMS:
                self.peer_max_streams = value
            elif key == f.ENABLE_CONNECT_PROTOCOL and value > 1:
                raise H2ConnectionError(f.PROTOCOL_ERROR,
                                      "invalid SETTINGS_ENABLE_CONNECT_PROTOCOL")
            # HEADER_TABLE_SIZE: our encoder never uses the dynamic table; others: ignored.

    def _ping(self, flags: int, sid: int, payload: bytes) -> None:
        if sid != 0:
            raise H2ConnectionError(f.PROTOCOL_ERROR, "PING on a stream")
        if len(payload) != 8:
            raise H2ConnectionError(f.FRAME_SIZE_ERROR, "PING is not 8 bytes")
        if flags & f.ACK:
            return
        self._budget("ping")
        self._out.append(f.ping_ack(payload))

    def _goaway(self, sid: int, payload: bytes) -> None:
        if sid != 0:
            raise H2ConnectionError(f.PROTOCOL_ERROR, "GOAWAY on a stream")
        if len(payload) < 8:
            raise H2ConnectionError(f.FRAME_SIZE_ERROR, "GOAWAY shorter than 8 bytes")
        self.goaway_received = True
        last, code = struct.unpack_from(">II", payload)
        self._events.append(GoAwayReceived(last & 0x7FFFFFFF, code))

    def _window_update(self, sid: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise H2ConnectionError(f.FRAME_SIZE_ERROR, "WINDOW_UPDATE is not 4 bytes")
        self._budget("window")
        increment = _U32.unpack(payload)[0] & 0x7FFFFFFF
        if sid == 0:
            if increment == 0:
                raise H2ConnectionError(f.PROTOCOL_ERROR, "WINDOW_UPDATE of 0")
            self.send_window += increment
            if self.send_window > f.MAX_WINDOW:
                raise H2ConnectionError(f.FLOW_CONTROL_ERROR,
                                      "connection window above 2^31-1")
            self._events.append(WindowOpened(0))
            return
        stream = self.streams.get(sid)
        if stream is None:
            if sid % 2 == 1 and sid > self.highest_stream:
                raise H2ConnectionError(f.PROTOCOL_ERROR, f"WINDOW_UPDATE on idle stream {sid}")
            return
        if increment == 0:
            raise H2StreamError(sid, f.PROTOCOL_ERROR, "WINDOW_UPDATE of 0")
        stream.send_window += increment
        if stream.send_window > f.MAX_WINDOW:
            raise H2StreamError(sid, f.FLOW_CONTROL_ERROR, "stream window above 2^31-1")
        self._events.append(WindowOpened(sid))

    # -- errors and closing --------------------------------------------------------------------

    def _stream_error(self, exc: H2StreamError) -> None:
        """A stream error of the client's making. Each costs the reset budget: a client
        that makes us reset streams faster than that (CVE-2019-9514) is cut off."""
        if not self._errors.take(self.clock()):
            raise H2ConnectionError(f.ENHANCE_YOUR_CALM, "too many stream errors")
        self._reset(exc.stream_id, exc.code)

    def _reset(self, sid: int, code: int) -> None:
        self._out.append(f.rst_stream(sid, code))
        stream = self.streams.pop(sid, None)
        self._forget(stream)
        self._remember(sid, _RESET_BY_US)
        if stream is not None:
            self._events.append(StreamReset(sid, code))

    def _forget(self, stream: Stream | None) -> None:
        if stream is not None and stream.pushed:
            self._pushed -= 1

    def _remember(self, sid: int, reason: int) -> None:
        closed = self._closed
        closed[sid] = reason
        if len(closed) > _CLOSED_MEMORY:
            del closed[next(iter(closed))]

    def _maybe_close(self, sid: int, stream: Stream) -> None:
        if stream.local_closed and stream.remote_closed:
            del self.streams[sid]
            self._forget(stream)
            self._remember(sid, _FINISHED)

    def terminate(self, code: int, reason: str = "") -> None:
        """A connection error (or the end of a shutdown): GOAWAY with ``code``; nothing
        more is read."""
        if not self.terminated:
            self.terminated = True
            self.goaway_sent = True
            self._out.append(f.goaway(self.highest_stream, code, reason.encode()[:256]))

    def graceful_goaway(self) -> None:
        """Graceful shutdown (§6.8): GOAWAY NO_ERROR with the last stream we will serve;
        the streams in flight go on."""
        if not self.goaway_sent:
            self.goaway_sent = True
            self._out.append(f.goaway(self.highest_stream, f.NO_ERROR))

    def reset(self, sid: int, code: int) -> None:
        """End a stream from our side (the application failed after the head went out,
        or the stream is abandoned)."""
        if sid in self.streams:
            self._events = []
            self._reset(sid, code)
            self._events = []

    # -- output ----------------------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        out = self._out
        if not out:
            return b""
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        return data

    def window(self, sid: int) -> int:
        """What may be sent on ``sid`` now (0 for a stream that is gone)."""
        stream = self.streams.get(sid)
        if stream is None:
            return 0
        return min(stream.send_window, self.send_window)

    def send_headers(self, sid: int, block: bytes, end_stream: bool = False) -> None:
        stream = self.streams.get(sid)
        if stream is None or stream.local_closed:
            return
        self._out.append(f.headers(sid, block, end_stream, self.peer_max_frame))
        if end_stream:
            stream.local_closed = True
            self._maybe_close(sid, stream)

    def send_data(self, sid: int, data: bytes, end_stream: bool) -> int:
        """Send what the windows allow of ``data`` (END_STREAM only with the last byte);
        return how many bytes went."""
        stream = self.streams.get(sid)
        if stream is None or stream.local_closed:
            return len(data)
        size = len(data)
        room = min(stream.send_window, self.send_window)
        if size > room and size:  # an empty DATA (END_STREAM alone) needs no window
            if room <= 0:
                return 0
            data = data[:room]
            size = room
            end_stream = False
        stream.send_window -= size
        self.send_window -= size
        self._out.append(f.data(sid, data, end_stream, self.peer_max_frame))
        if end_stream:
            stream.local_closed = True
            self._maybe_close(sid, stream)
        return size

    def push(self, sid: int, block: bytes) -> int | None:
        """PUSH_PROMISE on ``sid`` for the request ``block`` (§8.4); the promised stream's
        id, or None when the client does not take pushes now."""
        stream = self.streams.get(sid)
        if (stream is None or stream.pushed or stream.local_closed or not self.peer_push
                or self.goaway_received or self.goaway_sent):
            return None
        if self.peer_max_streams is not None and self._pushed >= self.peer_max_streams:
            return None
        promised = self._next_push
        self._next_push += 2
        self._out.append(f.push_promise(sid, promised, block, self.peer_max_frame))
        child = self.streams[promised] = Stream(self.peer_initial_window,
                                                self.limits.initial_window)
        child.remote_closed = True
        child.pushed = True
        self._pushed += 1
        return promised
