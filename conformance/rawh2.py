"""A raw HTTP/2 client: any frame out, every frame back, bounded waits, frames as evidence.

The h2 twin of :mod:`~conformance.rawhttp` and :mod:`~conformance.rawws`. HTTP/2 cases
must send what no client library would (frames on stream 0 that need a stream, even
stream ids, bad padding, oversized frames, frames on closed streams, HPACK blocks that
do not decode) and judge the server frame by frame. Framing uses ``hyperframe`` and header
compression ``hpack`` (the python-hyper libraries ``h2`` is built on); where a frame is
invalid on purpose, :func:`frame_bytes` writes its 9-byte header by hand.

:class:`H2Connection` extends :class:`~conformance.rawhttp.RawConnection` (same bounded
sends and reads, same transcript) and connects three ways (:func:`connect`):

``prior``    h2c with prior knowledge: the connection preface on a plain TCP connection
             (RFC 9113 §3.3).
``upgrade``  h2c through ``Upgrade: h2c`` on an HTTP/1.1 request (RFC 7540 §3.2; RFC 9113
             §3.1 deprecates it, but servers still answer it): the 101, then the
             response to that request on stream 1.
``tls``      TLS with ALPN ``h2`` (RFC 9113 §3.2) against the harness's test certificate.

What the server sends is parsed strictly: a frame longer than the SETTINGS_MAX_FRAME_SIZE
we advertised, a header block interrupted by another frame, a block that does not decode,
or a frame on stream 0 that needs a stream is :class:`MalformedFrame` (an AssertionError,
so a *fail*: RFC 9113 holds servers to the same framing). The client answers the
server's SETTINGS and PING and, unless told not to, keeps both flow-control windows open,
so a case sees the server's behaviour rather than our own stalls.

Waits are bounded. :meth:`H2Connection.next_frame` returns None once the peer has closed;
a wait that runs out raises :class:`~conformance.verdicts.NoResponse`, a verdict like any
other. The h2spec-style verdict helpers (:meth:`H2Connection.connection_error`,
:meth:`H2Connection.stream_error`) return what happened as an :class:`ErrorSeen`.
"""

from __future__ import annotations

import base64
import enum
import ssl
import struct
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from hpack import Decoder, Encoder, HPACKError
from hyperframe.exceptions import HyperframeError
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    ExtensionFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    PushPromiseFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)

from conformance.rawhttp import RawConnection
from conformance.verdicts import NoResponse

__all__ = [
    "PREFACE",
    "ErrorCode",
    "ErrorSeen",
    "FrameType",
    "H2Connection",
    "H2Response",
    "MalformedFrame",
    "NotH2",
    "Setting",
    "connect",
    "frame_bytes",
    "settings_payload",
]

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
"""The client connection preface (RFC 9113 §3.4), sent before the first SETTINGS."""

DEFAULT_WINDOW = 65_535
DEFAULT_MAX_FRAME = 16_384
HEADER_SIZE = 9
Mode = Literal["prior", "upgrade", "tls"]


class FrameType(enum.IntEnum):
    """Frame type codes (RFC 9113 §6, RFC 7838 for ALTSVC)."""

    DATA = 0x0
    HEADERS = 0x1
    PRIORITY = 0x2
    RST_STREAM = 0x3
    SETTINGS = 0x4
    PUSH_PROMISE = 0x5
    PING = 0x6
    GOAWAY = 0x7
    WINDOW_UPDATE = 0x8
    CONTINUATION = 0x9


class ErrorCode(enum.IntEnum):
    """Error codes of RST_STREAM and GOAWAY (RFC 9113 §7)."""

    NO_ERROR = 0x0
    PROTOCOL_ERROR = 0x1
    INTERNAL_ERROR = 0x2
    FLOW_CONTROL_ERROR = 0x3
    SETTINGS_TIMEOUT = 0x4
    STREAM_CLOSED = 0x5
    FRAME_SIZE_ERROR = 0x6
    REFUSED_STREAM = 0x7
    CANCEL = 0x8
    COMPRESSION_ERROR = 0x9
    CONNECT_ERROR = 0xA
    ENHANCE_YOUR_CALM = 0xB
    INADEQUATE_SECURITY = 0xC
    HTTP_1_1_REQUIRED = 0xD


class Setting(enum.IntEnum):
    """SETTINGS parameters (RFC 9113 §6.5.2; RFC 8441 §3 for ENABLE_CONNECT_PROTOCOL)."""

    HEADER_TABLE_SIZE = 0x1
    ENABLE_PUSH = 0x2
    MAX_CONCURRENT_STREAMS = 0x3
    INITIAL_WINDOW_SIZE = 0x4
    MAX_FRAME_SIZE = 0x5
    MAX_HEADER_LIST_SIZE = 0x6
    ENABLE_CONNECT_PROTOCOL = 0x8


# Flags, by the frames that define them (RFC 9113 §6).
END_STREAM = 0x1
ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20


def error_name(code: int) -> str:
    try:
        return ErrorCode(code).name
    except ValueError:
        return f"0x{code:x}"


class MalformedFrame(AssertionError):
    """The server sent something RFC 9113 or RFC 7541 forbids a server to send."""


class NotH2(Exception):
    """The server did not agree to speak HTTP/2 this way (no ALPN h2, no 101 to h2c): the
    case that needed it cannot judge, which the suite reports as n/a."""


def frame_bytes(frame_type: int, flags: int, stream_id: int, payload: bytes = b"", *,
                reserved: bool = False, length: int | None = None) -> bytes:
    """One frame exactly as given, valid or not: ``length`` overrides the length field
    (a frame that lies about its size), ``reserved`` sets the reserved bit R of the
    stream identifier (RFC 9113 §4.1)."""
    size = len(payload) if length is None else length
    stream = (stream_id & 0x7FFFFFFF) | (0x80000000 if reserved else 0)
    return struct.pack("!I", size)[1:] + struct.pack("!BBI", frame_type, flags, stream) + payload


def settings_payload(settings: dict[int, int] | Iterable[tuple[int, int]]) -> bytes:
    items = settings.items() if isinstance(settings, dict) else settings
    return b"".join(struct.pack("!HI", key, value) for key, value in items)


def describe(frame: Frame) -> str:
    """One line per frame for evidence: type, stream, flags and what matters in it."""
    name = type(frame).__name__.replace("Frame", "").upper()
    if isinstance(frame, ExtensionFrame):
        name = f"type=0x{frame.type:x}"
    flags = ",".join(sorted(frame.flags))
    text = f"{name} stream={frame.stream_id}" + (f" [{flags}]" if flags else "")
    if isinstance(frame, GoAwayFrame):
        text += (f" last={frame.last_stream_id} {error_name(frame.error_code)}"
                 + (f" {frame.additional_data[:80]!r}" if frame.additional_data else ""))
    elif isinstance(frame, RstStreamFrame):
        text += f" {error_name(frame.error_code)}"
    elif isinstance(frame, SettingsFrame) and frame.settings:
        text += " " + ", ".join(f"{_setting_name(k)}={v}" for k, v in frame.settings.items())
    elif isinstance(frame, WindowUpdateFrame):
        text += f" +{frame.window_increment}"
    elif isinstance(frame, DataFrame):
        text += f" {len(frame.data)} B"
    return text


def _setting_name(key: int) -> str:
    try:
        return Setting(key).name
    except ValueError:
        return f"0x{key:x}"


@dataclass
class ErrorSeen:
    """How the server reacted where a case expected an error (h2spec's verdict shape)."""

    kind: Literal["goaway", "rst_stream", "closed", "timeout"]
    code: int | None = None
    stream_id: int | None = None
    frames: list[str] = field(default_factory=list)
    """What else arrived while waiting, as :func:`describe` lines."""

    def describe(self) -> str:
        if self.kind == "goaway":
            what = f"GOAWAY {error_name(self.code or 0)}"
        elif self.kind == "rst_stream":
            what = f"RST_STREAM {error_name(self.code or 0)} on stream {self.stream_id}"
        elif self.kind == "closed":
            what = "the connection closed"
        else:
            what = "nothing (timeout)"
        seen = "; frames: " + ", ".join(self.frames[-6:]) if self.frames else ""
        return what + seen


@dataclass
class H2Response:
    """One stream's answer: the response header block(s), body and trailers."""

    stream_id: int
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    informational: list[list[tuple[bytes, bytes]]] = field(default_factory=list)
    body: bytes = b""
    trailers: list[tuple[bytes, bytes]] | None = None
    reset: int | None = None
    """The RST_STREAM error code, when the server reset the stream."""
    ended: bool = False
    """END_STREAM arrived."""

    @property
    def status(self) -> int | None:
        value = self.header(b":status")
        return int(value) if value is not None and value.isdigit() else None

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def header_values(self, name: bytes) -> list[bytes]:
        return [value for key, value in self.headers if key == name]


class H2Connection(RawConnection):
    """One HTTP/2 connection to the server under test (see the module docstring)."""

    def __init__(self, host: str, port: int, *, timeout: float = 2.0,
                 auto_window: bool = True, max_frame_size: int = DEFAULT_MAX_FRAME) -> None:
        super().__init__(host, port, timeout=timeout)
        self.mode: Mode = "prior"
        self.alpn: str | None = None
        self.encoder = Encoder()
        self.decoder = Decoder()
        self.auto_window = auto_window
        self._consumed: dict[int, int] = {}  # flow-controlled bytes not yet given back
        self.max_frame_size = max_frame_size
        """Ours, as we advertise it; a larger frame from the server is malformed."""
        self.server_settings: dict[int, int] = {}
        self.frame_log: list[tuple[str, float, str]] = []
        """``("sent"|"recv", time, description)`` per frame: the readable evidence."""
        self.received: list[Frame] = []
        """Every frame read, in order (including those the waits skipped over)."""
        self._pending: list[Frame] = []  # read but not yet returned by next_frame
        self._rbuf = b""
        self._block: tuple[int, list[bytes], Frame] | None = None  # open header block
        self.decoded: dict[int, list[list[tuple[bytes, bytes]]]] = {}
        """Decoded header blocks by stream (HEADERS) or promised stream (PUSH_PROMISE)."""
        self.responses: dict[int, H2Response] = {}
        """Each stream's answer so far, assembled as its frames arrive (whoever reads
        them), so no wait loses another stream's frames."""
        self.ended_streams: list[int] = []
        """Stream ids in the order they ended (END_STREAM or RST_STREAM)."""
        self.settings_acked = 0
        """SETTINGS ACKs received (for the SETTINGS frames we sent, :attr:`settings_sent`)."""
        self.settings_sent = 0
        self.peer_settings_seen = False
        self.next_stream_id = 1
        self.goaway: GoAwayFrame | None = None

    # --- connecting -------------------------------------------------------------------

    def use_tls(self, cafile_data: str | None, server_hostname: str = "127.0.0.1") -> None:
        """Wrap the socket in TLS offering ALPN ``h2`` only; :class:`NotH2` when the server
        selects no protocol or another one."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if cafile_data:
            context.load_verify_locations(cadata=cafile_data)
        else:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        context.set_alpn_protocols(["h2"])
        self._sock.settimeout(self.timeout)
        try:
            self._sock = context.wrap_socket(self._sock, server_hostname=server_hostname)
        except (ssl.SSLError, OSError) as exc:
            raise NotH2(f"the TLS handshake failed: {exc}") from None
        self.mode = "tls"
        self.alpn = self._sock.selected_alpn_protocol()
        if self.alpn != "h2":
            raise NotH2(f"the server selected ALPN {self.alpn!r}, not 'h2'")

    def upgrade(self, path: str = "/", headers: Sequence[tuple[bytes, bytes]] = (),
                settings: dict[int, int] | None = None, authority: str | None = None,
                ) -> H2Response:
        """``Upgrade: h2c`` on a GET (RFC 7540 §3.2): read the 101, send the preface and
        return the response to the upgraded request (stream 1). :class:`NotH2` when the
        server answers with anything but 101."""
        payload = settings_payload(settings or {})
        lines = [f"GET {path} HTTP/1.1".encode(),
                 b"Host: " + (authority or f"{self.host}:{self.port}").encode(),
                 b"Connection: Upgrade, HTTP2-Settings",
                 b"Upgrade: h2c",
                 b"HTTP2-Settings: " + base64.urlsafe_b64encode(payload).rstrip(b"="),
                 *(name + b": " + value for name, value in headers)]
        self.send(b"\r\n".join(lines) + b"\r\n\r\n")
        self._log("sent", "HTTP/1.1 GET " + path + " with Upgrade: h2c, HTTP2-Settings")
        head = self._read_http1_head()
        self._log("recv", "HTTP/1.1 " + head.split(b"\r\n", 1)[0].decode("latin-1"))
        if not head.startswith((b"HTTP/1.1 101", b"HTTP/1.0 101")):
            status_line = head.split(b"\r\n", 1)[0][:80]
            raise NotH2(f"the server answered Upgrade: h2c with {status_line!r}, not 101")
        self.mode = "upgrade"
        self.next_stream_id = 3
        self.send_preface()
        return self.read_stream(1)

    def _read_http1_head(self) -> bytes:
        deadline = time.monotonic() + self.timeout
        while b"\r\n\r\n" not in self._rbuf:
            chunk = self._recv(deadline)
            if chunk is None:
                raise NoResponse(f"no answer to the Upgrade: h2c request in {self.timeout:g} s")
            if not chunk:
                raise NotH2("the server closed the connection on Upgrade: h2c")
            self._rbuf += chunk
        head, self._rbuf = self._rbuf.split(b"\r\n\r\n", 1)
        return head

    def send_preface(self, settings: dict[int, int] | None = None) -> None:
        """The client preface and our SETTINGS (RFC 9113 §3.4)."""
        self.send(PREFACE)
        self.send_settings(settings or {})

    def handshake(self, settings: dict[int, int] | None = None) -> None:
        """Preface, our SETTINGS, the server's SETTINGS (answered with an ACK) and the ACK
        of ours, as h2spec's handshake does; frames arriving meanwhile stay queued."""
        self.send_preface(settings)
        self.wait_settings_ack()

    def wait_settings_ack(self, timeout: float | None = None) -> None:
        """Wait until the server's SETTINGS arrived (and were acknowledged by us) and every
        SETTINGS we sent was acknowledged; other frames stay queued for the case."""
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        kept: list[Frame] = []
        while not (self.peer_settings_seen and self.settings_acked >= self.settings_sent):
            frame = self._read_frame(deadline)
            if frame is None:
                self._pending[:0] = kept
                what = ("ACK of our SETTINGS" if self.peer_settings_seen
                        else "server SETTINGS")
                if self.peer_closed:
                    raise NoResponse(f"the connection closed before the {what}")
                raise NoResponse(f"no {what} within {limit:g} s")
            if not isinstance(frame, SettingsFrame):
                kept.append(frame)
        self._pending[:0] = kept

    # --- sending ----------------------------------------------------------------------

    def send_frame(self, frame: Frame) -> None:
        self._log("sent", describe(frame))
        self.send(frame.serialize())

    def send_raw(self, frame_type: int, flags: int, stream_id: int, payload: bytes = b"",
                 **options: Any) -> None:
        """A frame exactly as given (:func:`frame_bytes`), valid or not."""
        try:
            name = FrameType(frame_type).name
        except ValueError:
            name = f"type=0x{frame_type:x}"
        self._log("sent", f"{name} stream={stream_id} flags=0x{flags:x} {len(payload)} B"
                          + (f" {options}" if options else ""))
        self.send(frame_bytes(frame_type, flags, stream_id, payload, **options))

    def send_settings(self, settings: dict[int, int] | None = None, *, ack: bool = False,
                      ) -> None:
        frame = SettingsFrame(0, settings=dict(settings or {}))
        if ack:
            frame.flags.add("ACK")
        else:
            self.settings_sent += 1
        self.send_frame(frame)

    def encode(self, headers: Iterable[tuple[bytes | str, bytes | str]]) -> bytes:
        """A header block from our encoder (its dynamic table is the connection's)."""
        return bytes(self.encoder.encode([(_b(k), _b(v)) for k, v in headers]))

    def request_headers(self, method: str = "GET", path: str = "/", *,
                        scheme: str | None = None, authority: str | None = None,
                        protocol: str | None = None,
                        headers: Iterable[tuple[bytes | str, bytes | str]] = (),
                        ) -> list[tuple[bytes, bytes]]:
        """The four request pseudo-header fields (RFC 9113 §8.3.1), ``:protocol`` for an
        extended CONNECT (RFC 8441 §4), then ``headers``."""
        pseudo = [(b":method", method.encode()),
                  (b":scheme", (scheme or ("https" if self.mode == "tls" else "http")).encode()),
                  (b":authority", (authority or f"{self.host}:{self.port}").encode()),
                  (b":path", path.encode())]
        if protocol is not None:
            pseudo.append((b":protocol", protocol.encode()))
        return pseudo + [(_b(k), _b(v)) for k, v in headers]

    def new_stream(self) -> int:
        stream_id = self.next_stream_id
        self.next_stream_id += 2
        return stream_id

    def send_headers(self, stream_id: int, headers: Iterable[tuple[bytes | str, bytes | str]]
                     | bytes, *, end_stream: bool = True, end_headers: bool = True) -> None:
        """HEADERS with a header list (encoded here) or a ready block (bytes, sent as is)."""
        block = headers if isinstance(headers, bytes) else self.encode(headers)
        flags = (END_STREAM if end_stream else 0) | (END_HEADERS if end_headers else 0)
        self._log("sent", f"HEADERS stream={stream_id} flags=0x{flags:x} {len(block)} B")
        self.send(frame_bytes(FrameType.HEADERS, flags, stream_id, block))

    def send_continuation(self, stream_id: int, block: bytes, *, end_headers: bool = True,
                          ) -> None:
        self.send_raw(FrameType.CONTINUATION, END_HEADERS if end_headers else 0, stream_id,
                      block)

    def send_data(self, stream_id: int, data: bytes, *, end_stream: bool = False) -> None:
        self.send_raw(FrameType.DATA, END_STREAM if end_stream else 0, stream_id, data)

    def send_rst(self, stream_id: int, code: int = ErrorCode.CANCEL) -> None:
        self.send_raw(FrameType.RST_STREAM, 0, stream_id, struct.pack("!I", code))

    def send_ping(self, data: bytes = b"h2probe!", *, ack: bool = False) -> None:
        self.send_raw(FrameType.PING, ACK if ack else 0, 0, data)

    def send_window_update(self, stream_id: int, increment: int) -> None:
        self.send_raw(FrameType.WINDOW_UPDATE, 0, stream_id, struct.pack("!I", increment))

    def send_goaway(self, last_stream_id: int = 0, code: int = ErrorCode.NO_ERROR) -> None:
        self.send_raw(FrameType.GOAWAY, 0, 0, struct.pack("!II", last_stream_id, code))

    def send_priority(self, stream_id: int, depends_on: int = 0, weight: int = 16,
                      exclusive: bool = False) -> None:
        dep = depends_on | (0x80000000 if exclusive else 0)
        self.send_raw(FrameType.PRIORITY, 0, stream_id, struct.pack("!IB", dep, weight - 1))

    def request(self, method: str = "GET", path: str = "/", *,
                headers: Iterable[tuple[bytes | str, bytes | str]] = (), body: bytes = b"",
                end_stream: bool = True, stream_id: int | None = None, **pseudo: Any) -> int:
        """Open a stream with a request (HEADERS, then one DATA if there is a body) and
        return its id; ``end_stream`` False leaves the request open."""
        sid = self.new_stream() if stream_id is None else stream_id
        self.send_headers(sid, self.request_headers(method, path, headers=headers, **pseudo),
                          end_stream=end_stream and not body)
        if body:
            self.send_data(sid, body, end_stream=end_stream)
        return sid

    # --- receiving --------------------------------------------------------------------

    def next_frame(self, timeout: float | None = None) -> Frame | None:
        """The next frame, None once the peer has closed; :class:`NoResponse` when none
        comes within ``timeout`` (default: the connection's)."""
        if self._pending:
            return self._pending.pop(0)
        limit = self.timeout if timeout is None else timeout
        frame = self._read_frame(time.monotonic() + limit)
        if frame is None and not self.peer_closed:
            raise NoResponse(f"no frame from the server within {limit:g} s")
        return frame

    def frames_until(self, done: Callable[[Frame], bool], timeout: float | None = None,
                     what: str = "the expected frame") -> list[Frame]:
        """Frames read until one satisfies ``done`` (included); NoResponse naming ``what``
        when the bound passes or the connection closes first."""
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        frames: list[Frame] = []
        while True:
            remaining = deadline - time.monotonic()
            try:
                frame = self.next_frame(max(remaining, 0.0))
            except NoResponse:
                raise NoResponse(f"no {what} within {limit:g} s"
                                 + _seen(frames)) from None
            if frame is None:
                raise NoResponse(f"the connection closed before {what}" + _seen(frames))
            frames.append(frame)
            if done(frame):
                return frames

    def read_stream(self, stream_id: int, timeout: float | None = None) -> H2Response:
        """Stream ``stream_id``'s answer once it ended (END_STREAM) or was reset. A
        GOAWAY that excludes the stream, or a close, is NoResponse naming it."""
        return self.read_streams([stream_id], timeout)[stream_id]

    def read_streams(self, stream_ids: Iterable[int], timeout: float | None = None,
                     ) -> dict[int, H2Response]:
        """The answers of all ``stream_ids`` once each ended or was reset (frames of any
        stream read meanwhile go to their own stream's answer)."""
        wanted = list(stream_ids)
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit

        def pending() -> list[int]:
            return [sid for sid in wanted if sid not in self.ended_streams]

        while pending():
            try:
                frame = self.next_frame(max(deadline - time.monotonic(), 0.0))
            except NoResponse:
                statuses = {sid: self.response(sid).status for sid in pending()}
                raise NoResponse(f"no complete response on stream(s) {pending()} within "
                                 f"{limit:g} s (status so far {statuses})") from None
            if frame is None:
                raise NoResponse(f"the connection closed before stream(s) {pending()} "
                                 "ended" + self._goaway_note())
            if isinstance(frame, GoAwayFrame):
                lost = [sid for sid in pending() if sid > frame.last_stream_id]
                if lost:
                    raise NoResponse(f"GOAWAY {error_name(frame.error_code)} (last stream "
                                     f"{frame.last_stream_id}) before stream(s) {lost} were "
                                     "answered")
        return {sid: self.response(sid) for sid in wanted}

    def response(self, stream_id: int) -> H2Response:
        """Stream ``stream_id``'s answer as far as it has arrived."""
        return self.responses.setdefault(stream_id, H2Response(stream_id))

    def connection_error(self, timeout: float | None = None) -> ErrorSeen:
        """Wait for the server to end the connection (h2spec's VerifyConnectionError):
        a GOAWAY, or a close. The result says which, with the code."""
        return self._wait_error(None, timeout)

    def stream_error(self, stream_id: int, timeout: float | None = None) -> ErrorSeen:
        """Wait for RST_STREAM on ``stream_id``, or a connection error (h2spec's
        VerifyStreamError accepts either)."""
        return self._wait_error(stream_id, timeout)

    def _wait_error(self, stream_id: int | None, timeout: float | None) -> ErrorSeen:
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        seen: list[str] = []
        while True:
            try:
                frame = self.next_frame(max(deadline - time.monotonic(), 0.0))
            except NoResponse:
                return ErrorSeen("timeout", frames=seen)
            except MalformedFrame as exc:
                seen.append(f"malformed: {exc}")
                continue
            if frame is None:
                if self.goaway is not None:
                    return ErrorSeen("goaway", self.goaway.error_code, frames=seen)
                return ErrorSeen("closed", frames=seen)
            if isinstance(frame, GoAwayFrame):
                return ErrorSeen("goaway", frame.error_code, frames=seen)
            if (isinstance(frame, RstStreamFrame) and stream_id is not None
                    and frame.stream_id == stream_id):
                return ErrorSeen("rst_stream", frame.error_code, frame.stream_id, frames=seen)
            seen.append(describe(frame))

    def ping_roundtrip(self, data: bytes = b"stillok!", timeout: float | None = None) -> bool:
        """Whether the connection is still usable: a PING gets its ACK in time (h2spec's
        check that a frame was ignored)."""
        self.send_ping(data)
        try:
            self.frames_until(lambda f: isinstance(f, PingFrame) and "ACK" in f.flags
                              and bytes(f.opaque_data) == data, timeout, "PING ACK")
        except NoResponse:
            return False
        return True

    def _goaway_note(self) -> str:
        if self.goaway is None:
            return ""
        return f" (after GOAWAY {error_name(self.goaway.error_code)})"

    # --- framing ----------------------------------------------------------------------

    def _read_frame(self, deadline: float) -> Frame | None:
        """Read and check one frame (None: the peer closed or the deadline passed)."""
        while True:
            frame = self._parse_buffered()
            if frame is not None:
                return frame
            if self.peer_closed:
                return None
            chunk = self._recv(deadline)
            if chunk is None:
                return None
            self._rbuf += chunk

    def _parse_buffered(self) -> Frame | None:
        if not self.received and self._rbuf.startswith(b"HTTP/1."):
            line = self._rbuf.split(b"\r\n", 1)[0][:80]
            self._rbuf = b""
            raise MalformedFrame(f"the server answered in HTTP/1.x ({line!r}), not HTTP/2 "
                                 "frames")
        while len(self._rbuf) >= HEADER_SIZE:
            length = int.from_bytes(self._rbuf[:3], "big")
            if length > self.max_frame_size:
                self._rbuf = b""
                raise MalformedFrame(
                    f"the server sent a {length}-byte frame (type 0x{self._rbuf[3:4].hex()}), "
                    f"larger than our SETTINGS_MAX_FRAME_SIZE {self.max_frame_size} "
                    "(RFC 9113 §4.2)")
            if len(self._rbuf) < HEADER_SIZE + length:
                return None
            header = memoryview(self._rbuf[:HEADER_SIZE])
            body = self._rbuf[HEADER_SIZE:HEADER_SIZE + length]
            self._rbuf = self._rbuf[HEADER_SIZE + length:]
            try:
                frame, _ = Frame.parse_frame_header(header, strict=False)
                frame.parse_body(memoryview(body))
            except (HyperframeError, ValueError, struct.error) as exc:
                raise MalformedFrame(f"the server sent a frame hyperframe rejects: {exc} "
                                     f"(header {bytes(header).hex()})") from None
            self.received.append(frame)
            self._log("recv", describe(frame))
            self._check(frame)
            self._react(frame)
            return frame
        return None

    def _check(self, frame: Frame) -> None:
        """Header blocks are contiguous and decode (RFC 9113 §4.3, §6.10)."""
        if self._block is not None and not isinstance(frame, ContinuationFrame):
            raise MalformedFrame(f"{describe(frame)} interrupted the header block of "
                                 f"stream {self._block[0]} (RFC 9113 §6.10)")
        if isinstance(frame, HeadersFrame | PushPromiseFrame):
            self._block = (frame.stream_id, [bytes(frame.data)], frame)
        elif isinstance(frame, ContinuationFrame):
            if self._block is None or self._block[0] != frame.stream_id:
                raise MalformedFrame(f"{describe(frame)} without an open header block")
            self._block[1].append(bytes(frame.data))
        if self._block is not None and "END_HEADERS" in frame.flags:
            stream_id, parts, first = self._block
            self._block = None
            try:
                headers = self.decoder.decode(b"".join(parts), raw=True)
            except HPACKError as exc:
                raise MalformedFrame(f"the server's header block on stream {stream_id} does "
                                     f"not decode: {exc} (RFC 7541)") from None
            key = first.promised_stream_id if isinstance(first, PushPromiseFrame) else stream_id
            block = [(bytes(k), bytes(v)) for k, v in headers]
            self.decoded.setdefault(key, []).append(block)
            if isinstance(first, HeadersFrame):
                self._absorb_block(stream_id, block, "END_STREAM" in first.flags)

    def _react(self, frame: Frame) -> None:
        """What any well-behaved client does at once: ACK SETTINGS and PING, keep windows
        open, remember the GOAWAY."""
        if isinstance(frame, SettingsFrame) and "ACK" not in frame.flags:
            self.server_settings.update(frame.settings)
            self.peer_settings_seen = True
            self.send_settings(ack=True)
        elif isinstance(frame, SettingsFrame):
            self.settings_acked += 1
        elif isinstance(frame, PingFrame) and "ACK" not in frame.flags:
            self.send_ping(bytes(frame.opaque_data), ack=True)
        elif isinstance(frame, GoAwayFrame):
            self.goaway = frame
        elif isinstance(frame, DataFrame):
            self.response(frame.stream_id).body += bytes(frame.data)
            if "END_STREAM" in frame.flags:
                self._ended(frame.stream_id)
            if self.auto_window and frame.flow_controlled_length:
                self._replenish(frame)
        elif isinstance(frame, RstStreamFrame):
            self.response(frame.stream_id).reset = frame.error_code
            self._ended(frame.stream_id)

    def _absorb_block(self, stream_id: int, block: list[tuple[bytes, bytes]],
                      end_stream: bool) -> None:
        """A complete header block of a stream: informational (1xx), the response head,
        or trailers, in that order (RFC 9113 §8.1)."""
        response = self.response(stream_id)
        status = dict(block).get(b":status", b"")
        if not response.headers and status.startswith(b"1") and len(status) == 3:
            response.informational.append(block)
        elif not response.headers:
            response.headers = block
        else:
            response.trailers = block
        if end_stream:
            self._ended(stream_id)

    def _ended(self, stream_id: int) -> None:
        response = self.response(stream_id)
        if response.reset is None:
            response.ended = True
        if stream_id not in self.ended_streams:
            self.ended_streams.append(stream_id)

    def _replenish(self, frame: DataFrame) -> None:
        """Give back window once half of the initial window is consumed, as real clients
        do (nghttp2, h2): small responses then cause no WINDOW_UPDATE at all, which
        matters for error cases, since a frame of ours that reaches a server after it
        closed makes its kernel reset the connection, and a reset can discard the GOAWAY
        we have not read yet."""
        threshold = DEFAULT_WINDOW // 2
        size = frame.flow_controlled_length
        self._consumed[0] = self._consumed.get(0, 0) + size
        if self._consumed[0] >= threshold:
            self.send_window_update(0, self._consumed.pop(0))
        if "END_STREAM" in frame.flags:
            self._consumed.pop(frame.stream_id, None)
            return
        consumed = self._consumed.get(frame.stream_id, 0) + size
        if consumed >= threshold:
            self.send_window_update(frame.stream_id, consumed)
            consumed = 0
        self._consumed[frame.stream_id] = consumed

    def send(self, data: bytes, *, record: bool = True) -> None:
        if self.peer_closed is None:
            super().send(data, record=record)

    def take_unparsed(self) -> bytes:
        """The bytes read but not parsed into frames yet, handed over to a caller that
        reads the connection raw from here on (:meth:`recv_raw`)."""
        data, self._rbuf = self._rbuf, b""
        return data

    def _log(self, direction: str, text: str) -> None:
        self.frame_log.append((direction, time.monotonic(), text))

    def render_frames(self, limit: int = 60) -> str:
        """The frame log as ``→``/``←`` lines (the last ``limit``), for a report."""
        lines = [("→ " if direction == "sent" else "← ") + text
                 for direction, _, text in self.frame_log]
        if len(lines) > limit:
            lines = [f"[{len(lines) - limit} earlier frames]", *lines[-limit:]]
        return "\n".join(lines)


def _seen(frames: list[Frame]) -> str:
    return "; got " + ", ".join(describe(f) for f in frames[-6:]) if frames else ""


def _b(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode("latin-1")


def connect(host: str, port: int, mode: Mode = "prior", *, timeout: float = 2.0,
            cadata: str | None = None, settings: dict[int, int] | None = None,
            handshake: bool = True, **options: Any) -> H2Connection:
    """An HTTP/2 connection made ``mode``'s way; with ``handshake`` the SETTINGS exchange
    is done (for ``upgrade``, use :meth:`H2Connection.upgrade` instead)."""
    conn = H2Connection(host, port, timeout=timeout, **options)
    try:
        if mode == "tls":
            conn.use_tls(cadata)
        if handshake and mode != "upgrade":
            conn.handshake(settings)
    except BaseException:
        conn.abort()
        raise
    return conn

