"""A raw HTTP/1.x client: exact bytes out, strictly judged responses back.

Cases need to send requests no well-behaved client library would produce (bad framing,
odd whitespace, pipelining, half-closes, bytes trickled in pieces) and then judge what
the server answered *byte for byte*. So this client writes exactly the bytes it is given
and parses answers with h11 in the CLIENT role, which is strict about RFC 9112: whatever
h11 rejects is a :class:`MalformedResponse` (a *fail* verdict), and everything received
is kept in a transcript that becomes the case's evidence.

Every wait is bounded. A wait that runs out, or a server that closes or resets the
connection before a response is complete, raises
:class:`~conformance.verdicts.NoResponse`: "no answer" is a verdict on the server, never
a hang and never a harness error.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal

import h11

from conformance.verdicts import NoResponse

__all__ = [
    "Informational",
    "MalformedResponse",
    "NoResponse",
    "RawConnection",
    "Response",
    "exchange",
    "render_transcript",
]

# h11's default (16 KiB) would make *our client* reject a large response head; how large
# a head a server may send is for the cases to judge, so only absurd sizes are refused.
MAX_HEAD_SIZE = 1024 * 1024
RECV_SIZE = 65536
# close() drains what is already readable so the kernel sends FIN, not RST; bounded so a
# server that never stops writing cannot keep us there.
_DRAIN_LIMIT = 1024 * 1024
_EXCERPT = 300

Framing = Literal["content-length", "chunked", "close", "none"]
TranscriptEntry = tuple[str, float, bytes]


class MalformedResponse(AssertionError):
    """h11 rejected the server's bytes: the response violates HTTP/1.1 syntax/framing."""


@dataclass
class Informational:
    """A 1xx response seen before the final one."""

    status: int
    headers: list[tuple[bytes, bytes]]


@dataclass
class Response:
    """A complete response, parsed strictly, with the raw bytes kept as evidence."""

    http_version: str
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    raw_headers: list[tuple[bytes, bytes]]
    body: bytes
    framing: str
    informational: list[Informational] = field(default_factory=list)
    trailers: list[tuple[bytes, bytes]] = field(default_factory=list)
    raw: bytes = b""
    keep_alive: bool = True

    def header(self, name: bytes) -> bytes | None:
        """First value of header ``name`` (case-insensitive), or None."""
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: bytes) -> list[bytes]:
        """Every value of header ``name`` (case-insensitive) in the order sent."""
        wanted = name.lower()
        return [value for key, value in self.headers if key == wanted]


def _excerpt(data: bytes, limit: int = _EXCERPT) -> str:
    """A bounded repr for messages: head and tail, since errors are often at the end."""
    if len(data) <= limit:
        return repr(data)
    half = limit // 2
    return f"{data[:half]!r} ... [{len(data) - 2 * half} bytes] ... {data[-half:]!r}"


def _tokens(headers: list[tuple[bytes, bytes]], name: bytes) -> set[bytes]:
    return {
        token.strip().lower()
        for key, value in headers if key == name
        for token in value.split(b",") if token.strip()
    }


def _framing(method: str, status: int, headers: list[tuple[bytes, bytes]]) -> Framing:
    """How the final response's body was delimited (RFC 9112 §6.3), as h11 applied it."""
    if (method == "HEAD" or status < 200 or status in (204, 304)
            or (method == "CONNECT" and 200 <= status < 300)):
        return "none"
    names = {key for key, _ in headers}
    if b"transfer-encoding" in names:
        return "chunked"  # h11 accepts no other transfer coding
    if b"content-length" in names:
        return "content-length"
    return "close"


def _keep_alive(method: str, http_version: str, status: int, framing: str,
                headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether RFC 9112 §9.3 lets the client send another request on this connection.

    Unlike h11 (which never keeps HTTP/1.0 connections alive), an HTTP/1.0 response with
    ``Connection: keep-alive`` counts as persistent, as §9.3 permits. After a 101 or a
    2xx to CONNECT the connection is no longer HTTP/1.1 at all.
    """
    if framing == "close" or status == 101 or (method == "CONNECT" and 200 <= status < 300):
        return False
    connection = _tokens(headers, b"connection")
    if b"close" in connection:
        return False
    return http_version != "1.0" or b"keep-alive" in connection


class _Parse:
    """One response being parsed by a fresh h11 client connection."""

    def __init__(self, method: str) -> None:
        self.method = method
        self.conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_SIZE)
        # A synthetic request so h11 applies the right framing rules (HEAD, CONNECT).
        # The Upgrade header makes h11 accept a 101, which otherwise it calls a protocol
        # error; whether a 101 was warranted is for the case to judge.
        self.conn.send(h11.Request(method=method, target="/",
                                   headers=[("Host", "x"), ("Upgrade", "x")]))
        self.conn.send(h11.EndOfMessage())
        self.fed = bytearray()
        self.informational: list[Informational] = []
        self.head: h11.Response | h11.InformationalResponse | None = None
        self.body = bytearray()
        self.trailers: list[tuple[bytes, bytes]] = []
        self.done = False

    def feed(self, data: bytes) -> None:
        """Feed bytes (b"" is EOF) and consume events; raises h11.RemoteProtocolError."""
        if data:
            self.fed += data
        self.conn.receive_data(data)
        while not self.done:
            event = self.conn.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.InformationalResponse):
                if event.status_code == 101:  # the connection leaves HTTP: final
                    self.head = event
                    self.done = True
                else:
                    self.informational.append(
                        Informational(event.status_code, list(event.headers)))
            elif isinstance(event, h11.Response):
                self.head = event
                if self.conn.their_state is h11.SWITCHED_PROTOCOL:  # CONNECT 2xx
                    self.done = True
            elif isinstance(event, h11.Data):
                self.body += event.data
            elif isinstance(event, h11.EndOfMessage):
                self.trailers = list(event.headers)
                self.done = True
            elif isinstance(event, h11.ConnectionClosed):
                # h11 only reports this when nothing more is pending; without a final
                # response the caller's completeness check turns it into NoResponse.
                return

    def leftover(self) -> bytes:
        return self.conn.trailing_data[0]

    def response(self) -> Response:
        assert self.head is not None
        leftover = self.leftover()
        raw = bytes(self.fed[:len(self.fed) - len(leftover)])
        head = self.head
        headers = list(head.headers)
        version = head.http_version.decode("ascii", "replace")
        framing = _framing(self.method, head.status_code, headers)
        return Response(
            http_version=version,
            status=head.status_code,
            reason=bytes(head.reason),
            headers=headers,
            raw_headers=head.headers.raw_items(),
            body=bytes(self.body),
            framing=framing,
            informational=self.informational,
            trailers=self.trailers,
            raw=raw,
            keep_alive=_keep_alive(self.method, version, head.status_code, framing, headers),
        )


class RawConnection:
    """One TCP connection to the server under test, keeping a transcript of it.

    ``transcript`` entries are ``(kind, time.monotonic(), data)`` with kind ``"sent"`` or
    ``"recv"``, plus markers with empty data: ``"closed"`` (the peer's FIN), ``"reset"``
    (the peer's RST, or a send refused because the peer is gone) and ``"half-closed"``
    (our own FIN from :meth:`shutdown_write`).
    """

    def __init__(self, host: str, port: int, *, timeout: float = 2.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.transcript: list[TranscriptEntry] = []
        self._sock = socket.create_connection((host, port), timeout=timeout)
        # Exact bytes on the wire, when we say: no Nagle coalescing of pieces.
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.local_port: int = self._sock.getsockname()[1]
        self._buffer = b""  # received, not yet consumed by a parsed response
        self._peer: str | None = None  # "closed" / "reset" once the peer went away
        self._closed = False
        self._write_shut = False
        self.bytes_sent = 0

    # --- sending ----------------------------------------------------------------------

    def send(self, data: bytes, *, record: bool = True) -> None:
        """Send ``data`` exactly, bounded by the connection timeout.

        ``record=False`` keeps the bytes out of the transcript (a flood's megabytes are no
        evidence); :attr:`bytes_sent` counts them either way.

        A server that stops reading until the timeout gets :class:`NoResponse`. A peer
        that already closed or reset the connection is not an error here: the refused
        send is marked ``"reset"`` and the next read judges what the server did.
        """
        self._check_open()
        if self._write_shut:
            raise RuntimeError("send() after shutdown_write(): the harness misused the "
                               "connection")
        view = memoryview(data)
        deadline = time.monotonic() + self.timeout
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NoResponse(self._send_stalled(len(data) - len(view), len(data)))
            self._sock.settimeout(remaining)
            try:
                count = self._sock.send(view)
            except TimeoutError:
                raise NoResponse(
                    self._send_stalled(len(data) - len(view), len(data))) from None
            except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError,
                    ssl.SSLEOFError):  # over TLS, a peer gone mid-record
                self._mark("reset")
                return
            self.bytes_sent += count
            if record:
                self.transcript.append(("sent", time.monotonic(), bytes(view[:count])))
            view = view[count:]

    def _send_stalled(self, done: int, total: int) -> str:
        return (f"the server did not accept the request bytes within {self.timeout:g} s "
                f"({done} of {total} bytes sent)")

    def send_pieces(self, pieces: Iterable[bytes], pause: float = 0.05) -> None:
        """Send each piece with its own send (TCP_NODELAY), pausing between them, so the
        server sees the bytes arrive in separate segments."""
        for index, piece in enumerate(pieces):
            if index:
                time.sleep(pause)
            self.send(piece)

    def shutdown_write(self) -> None:
        """Half-close: send FIN while still reading the server's answer."""
        self._check_open()
        if self._write_shut:
            return
        with contextlib.suppress(OSError):  # the peer is gone; the next read says so
            self._sock.shutdown(socket.SHUT_WR)
        self._write_shut = True
        self.transcript.append(("half-closed", time.monotonic(), b""))

    # --- receiving --------------------------------------------------------------------

    def read_response(self, method: str = "GET", timeout: float | None = None) -> Response:
        """Read the next complete response to a ``method`` request.

        Raises :class:`MalformedResponse` when h11 rejects the bytes and
        :class:`NoResponse` when no complete response arrives within ``timeout``
        (default: the connection's) or the peer closes/resets first.
        """
        self._check_open()
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        parse = _Parse(method)
        pending, self._buffer = self._buffer, b""
        fed_eof = False
        try:
            if pending:
                parse.feed(pending)
            while not parse.done:
                if self._peer is not None:
                    if self._peer == "reset" or fed_eof:
                        raise NoResponse(self._incomplete(parse, limit))
                    fed_eof = True
                    parse.feed(b"")
                    continue
                chunk = self._recv(deadline)
                if chunk is None:
                    raise NoResponse(self._incomplete(parse, limit))
                if chunk:
                    parse.feed(chunk)
        except h11.RemoteProtocolError as exc:
            self._buffer = bytes(parse.fed)
            if fed_eof:  # h11 is complaining that the data stopped, not about syntax
                raise NoResponse(f"{self._incomplete(parse, limit)} ({exc})") from None
            raise MalformedResponse(
                f"malformed response to {method}: h11 rejected it: {exc}; "
                f"received {_excerpt(bytes(parse.fed))}"
            ) from None
        except NoResponse:
            self._buffer = bytes(parse.fed)
            raise
        self._buffer = parse.leftover()
        return parse.response()

    def read_responses(self, methods: Sequence[str],
                       timeout: float | None = None) -> list[Response]:
        """Read pipelined responses, one per method, in order; ``timeout`` is per
        response."""
        return [self.read_response(method, timeout) for method in methods]

    def _incomplete(self, parse: _Parse, limit: float) -> str:
        count = len(parse.fed)
        if self._peer == "reset":
            return (f"connection reset after {count} bytes without a complete response")
        if self._peer == "closed":
            return f"connection closed after {count} bytes without a complete response"
        if count == 0:
            return f"no response in {limit:g} s"
        return f"no complete response in {limit:g} s ({count} bytes received)"

    def recv_raw(self, deadline: float, *, record: bool = True) -> bytes | None:
        """One bounded read of whatever arrives (for clients that parse on their own):
        data, b"" once the peer has gone, None when ``deadline`` passed."""
        return self._recv(deadline, record=record)

    def _recv(self, deadline: float, *, record: bool = True) -> bytes | None:
        """One bounded recv: data, b"" once the peer has gone (marker recorded), or
        None when the deadline passed."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        self._sock.settimeout(remaining)
        try:
            data = self._sock.recv(RECV_SIZE)
        except TimeoutError:
            return None
        except (ConnectionResetError, ConnectionAbortedError, ssl.SSLEOFError):
            self._mark("reset")
            return b""
        if not data:
            self._mark("closed")
            return b""
        if record:
            self.transcript.append(("recv", time.monotonic(), data))
        return data

    def _mark(self, kind: str) -> None:
        if kind in ("closed", "reset"):
            if self._peer is not None and kind == "closed":
                return
            self._peer = kind
        self.transcript.append((kind, time.monotonic(), b""))

    def wait_closed(self, timeout: float | None = None) -> bool:
        """True if the peer closed (FIN or RST) within ``timeout``. Bytes arriving
        meanwhile are kept in the transcript and the unread buffer."""
        if self._peer is not None:
            return True
        if self._closed:
            raise RuntimeError("wait_closed() on a connection the harness closed")
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            chunk = self._recv(deadline)
            if chunk is None:
                return False
            self._buffer += chunk
            if self.peer_closed is not None:
                return True

    @property
    def peer_closed(self) -> str | None:
        """``"closed"`` or ``"reset"`` once the peer was seen to go away, else None."""
        return self._peer

    def unread(self) -> bytes:
        """Bytes received but not consumed by a parsed response."""
        return self._buffer

    # --- closing ----------------------------------------------------------------------

    def close(self) -> None:
        """Orderly close (FIN), idempotent.

        Already-readable bytes are drained first (kept as evidence) because closing a
        socket with unread data makes the kernel send RST, which is :meth:`abort`.
        """
        if self._closed:
            return
        self._closed = True
        try:
            if not self._write_shut:
                self._sock.shutdown(socket.SHUT_WR)
            self._drain()
        except OSError:
            pass
        finally:
            self._sock.close()

    def _drain(self) -> None:
        if self._peer is not None:
            return
        self._sock.setblocking(False)
        drained = 0
        while drained < _DRAIN_LIMIT:
            try:
                data = self._sock.recv(RECV_SIZE)
            except BlockingIOError:
                return
            except (ConnectionResetError, ConnectionAbortedError):
                self._mark("reset")
                return
            if not data:
                self._mark("closed")
                return
            drained += len(data)
            self.transcript.append(("recv", time.monotonic(), data))
            self._buffer += data

    def abort(self) -> None:
        """Close with RST (SO_LINGER on, zero timeout): an abrupt client disconnect."""
        if self._closed:
            return
        self._closed = True
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                  struct.pack("ii", 1, 0))
        finally:
            self._sock.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the connection was already closed by the harness")

    def __enter__(self) -> RawConnection:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # --- evidence ---------------------------------------------------------------------

    def sent_bytes(self) -> bytes:
        return b"".join(data for kind, _, data in self.transcript if kind == "sent")

    def received_bytes(self) -> bytes:
        return b"".join(data for kind, _, data in self.transcript if kind == "recv")

    def __repr__(self) -> str:
        return (f"<RawConnection {self.host}:{self.port} from port {self.local_port}, "
                f"sent {len(self.sent_bytes())} B, received {len(self.received_bytes())} B"
                f"{', peer ' + self._peer if self._peer else ''}>")


def exchange(host: str, port: int, request: bytes, *, method: str = "GET",
             timeout: float = 2.0) -> Response:
    """One connection, one request, one response."""
    with RawConnection(host, port, timeout=timeout) as conn:
        conn.send(request)
        return conn.read_response(method, timeout)


# --- rendering evidence -------------------------------------------------------------------

_MARKERS = {
    "closed": "[connection closed by the server (FIN)]",
    "reset": "[connection reset (RST)]",
    "half-closed": "[client half-closed its side (FIN)]",
}
_SENT_MARKERS = {"half-closed"}


def _escape(data: bytes) -> str:
    """Printable ASCII as is; everything else escaped like repr, with a real line break
    after each visible ``\\n`` so heads read line by line."""
    out: list[str] = []
    for byte in data:
        if byte == 0x0A:
            out.append("\\n\n")
        elif byte == 0x0D:
            out.append("\\r")
        elif byte == 0x09:
            out.append("\\t")
        elif byte == 0x5C:
            out.append("\\\\")
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out)


def _render_side(entries: list[tuple[str, bytes]], limit: int) -> str:
    text = ""
    shown = 0
    skipped = 0
    late_markers: list[str] = []  # markers after the cut, listed after the note
    for kind, data in entries:
        if kind in _MARKERS:
            if skipped:
                late_markers.append(_MARKERS[kind])
            else:
                text += _line_break(text) + _MARKERS[kind] + "\n"
            continue
        taken = data[:max(limit - shown, 0)]
        text += _escape(taken)
        shown += len(taken)
        skipped += len(data) - len(taken)
    if skipped:
        text += _line_break(text) + f"... [{skipped} more bytes]\n"
        text += "".join(marker + "\n" for marker in late_markers)
    return text.rstrip("\n") or "(no bytes)"


def _line_break(text: str) -> str:
    return "\n" if text and not text.endswith("\n") else ""


def render_transcript(transcript: Iterable[TranscriptEntry],
                      limit: int = 4096) -> tuple[str, str]:
    """(sent, received) as readable text for evidence, each truncated to ``limit``
    bytes with "... [N more bytes]"; peer markers appear on the received side."""
    sent: list[tuple[str, bytes]] = []
    received: list[tuple[str, bytes]] = []
    for kind, _, data in transcript:
        if kind == "sent" or kind in _SENT_MARKERS:
            sent.append((kind, data))
        else:
            received.append((kind, data))
    return _render_side(sent, limit), _render_side(received, limit)
