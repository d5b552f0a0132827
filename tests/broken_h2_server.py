"""A deliberately broken HTTP/2 "server" for testing the h2 cases: it speaks just enough
h2c (prior knowledge) to be talked to, and is wrong on purpose in the ways its faults
say, so no h2 case can pass against it vacuously. It ignores the app (it answers every
request with a fixed 200) and stops by itself after ``--lifetime`` seconds.

    python tests/broken_h2_server.py FAULTS --host H --port P --app APP

FAULTS is a comma-separated list:

lax            never sends GOAWAY or RST_STREAM and ignores every protocol error: bad
               frames are skipped, bad header blocks still answered
no-ping-ack    does not answer PING
no-settings-ack  does not acknowledge the client's SETTINGS
upgrade        answers ``Upgrade: h2c`` with 101, then sends its response before its
               SETTINGS preface

``--tls CERT KEY`` serves TLS with ALPN h2 instead of cleartext.

Faults for the h2spec generic and http2 §3-§5 cases (the block "h2spec generic/§3-§5
faults" below):

ping-first     sends a PING before its SETTINGS (a wrong server connection preface)
keep-open      keeps the connection open, silent, after an invalid client preface
silent         never answers a request
wrong-stream   answers a request with a bodiless response on the next stream instead
settings-ack-once  acknowledges only the client's first SETTINGS (the handshake's)

Faults for the h2spec port of RFC 9113 §6, §8 and RFC 7541 (tests/test_h2spec_b_cases.py):

goaway-internal     after every frame but SETTINGS and PING, sends GOAWAY INTERNAL_ERROR
                    (last stream 0) and carries on: an error code no case accepts, at once
ack-handshake-only  acknowledges the client's first SETTINGS only (the handshake's)
hoard          never ends a connection however abusive, and keeps everything without
               limit (see HoardConn; for tests/test_h2_dos_cases.py)

An HTTP/1.1 request (no preface) gets the broken HTTP/1.1 answer, so the server can
also stand in for the main process the harness starts.
"""

from __future__ import annotations

import argparse
import contextlib
import queue
import socket
import ssl
import struct
import sys
import threading
import time

from hpack import Decoder, Encoder

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
FIXED_H1 = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nwrong"
DATA, HEADERS, SETTINGS, PING, CONTINUATION = 0x0, 0x1, 0x4, 0x6, 0x9
GOAWAY, INTERNAL_ERROR = 0x7, 0x2


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return struct.pack("!I", len(payload))[1:] + struct.pack("!BBI", kind, flags, stream) \
        + payload


class Conn:
    def __init__(self, sock: socket.socket, faults: set[str]) -> None:
        self.sock = sock
        self.faults = faults
        self.encoder = Encoder()
        self.decoder = Decoder()
        self.buffer = b""
        self.answered: set[int] = set()
        self.settings_seen = 0

    def send(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            self.sock.sendall(data)

    def respond(self, stream: int) -> None:
        if stream in self.answered or stream % 2 == 0:
            return
        self.answered.add(stream)
        block = self.encoder.encode([(b":status", b"200"), (b"content-length", b"5")])
        self.send(frame(HEADERS, 0x4, stream, block) + frame(DATA, 0x1, stream, b"wrong"))

    def serve(self) -> None:
        self.send(frame(SETTINGS, 0, 0, struct.pack("!HI", 3, 100)))
        while True:
            while len(self.buffer) >= 9:
                length = int.from_bytes(self.buffer[:3], "big")
                if len(self.buffer) < 9 + length:
                    break
                kind, flags = self.buffer[3], self.buffer[4]
                stream = int.from_bytes(self.buffer[5:9], "big") & 0x7FFFFFFF
                payload = self.buffer[9:9 + length]
                self.buffer = self.buffer[9 + length:]
                self.handle(kind, flags, stream, payload)
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            self.buffer += data

    def handle(self, kind: int, flags: int, stream: int, payload: bytes) -> None:
        self.handle_lax(kind, flags, stream, payload)
        self.h2spec_b_faults(kind)

    # --- faults of the h2spec port (§6, §8, HPACK): tests/test_h2spec_b_cases.py --------

    def h2spec_b_faults(self, kind: int) -> None:
        if "goaway-internal" in self.faults and kind not in (SETTINGS, PING):
            self.send(frame(GOAWAY, 0, 0, struct.pack("!II", 0, INTERNAL_ERROR)))

    def acks_settings(self) -> bool:
        self.settings_seen += 1
        if "ack-handshake-only" in self.faults and self.settings_seen > 1:
            return False
        return "no-settings-ack" not in self.faults

    # --- end of the h2spec port's faults ------------------------------------------------

    def handle_lax(self, kind: int, flags: int, stream: int, payload: bytes) -> None:
        if kind == SETTINGS and not flags & 0x1:
            if self.acks_settings():
                self.send(frame(SETTINGS, 0x1, 0))
        elif kind == PING and not flags & 0x1 and len(payload) == 8:
            if "no-ping-ack" not in self.faults:
                self.send(frame(PING, 0x1, 0, payload))
        elif kind in (HEADERS, CONTINUATION):
            with contextlib.suppress(Exception):  # lax: a bad block is still answered
                self.decoder.decode(payload)
            if flags & 0x1 or kind == CONTINUATION:
                self.respond(stream)
        elif kind == DATA and flags & 0x1:
            self.respond(stream)


# --- h2spec generic/§3-§5 faults (tests/test_h2spec_a_cases.py) ---------------------------


class H2aFaultyConn(Conn):
    """:class:`Conn` with the faults ``ping-first``, ``silent`` and ``settings-ack-once``."""

    def __init__(self, sock: socket.socket, faults: set[str]) -> None:
        super().__init__(sock, faults)
        self.settings_seen = 0

    def serve(self) -> None:
        if "ping-first" in self.faults:
            self.send(frame(PING, 0, 0, b"notfirst"))
        super().serve()

    def respond(self, stream: int) -> None:
        if "wrong-stream" in self.faults and stream % 2:
            block = self.encoder.encode([(b":status", b"200")])
            self.send(frame(HEADERS, 0x5, stream + 2, block))
        elif "silent" not in self.faults:
            super().respond(stream)

    def handle(self, kind: int, flags: int, stream: int, payload: bytes) -> None:
        if kind == SETTINGS and not flags & 0x1:
            self.settings_seen += 1
            if "settings-ack-once" in self.faults and self.settings_seen > 1:
                return
        super().handle(kind, flags, stream, payload)


def hold_open(sock: socket.socket, limit: float = 10.0) -> None:
    """Read and ignore everything until the client leaves (at most ``limit`` seconds)."""
    deadline = time.monotonic() + limit
    with contextlib.suppress(OSError):
        while time.monotonic() < deadline and sock.recv(65536):
            pass


# --- end of the h2spec generic/§3-§5 faults ---------------------------------------------
# --- hoard: the h2 denial-of-service cases (tests/test_h2_dos_cases.py) ----------------------

try:  # the harness puts the fixtures package on PYTHONPATH
    from fixtures import typedjson
except ImportError:  # pragma: no cover - run by hand
    typedjson = None  # type: ignore[assignment]

HEADERS_END = 0x4


class HoardConn(Conn):
    """``hoard``: never sends GOAWAY or RST_STREAM and never closes, whatever the client
    does, and keeps everything without limit: every frame payload received, every header
    block until it ends (a CONTINUATION flood grows it forever), decoded without a header
    list limit (an HPACK bomb is answered), the whole response a request asks for (the
    probe's ``flood`` steps, made here since the app is not run; the client's flow-control
    window is never consulted), and what it sends, queued without bound for a writer
    thread (PING and SETTINGS ACKs to a client that reads nothing pile up). It answers a
    ``respond`` request with the body asked for, so a well-behaved client is served."""

    def __init__(self, sock: socket.socket, faults: set[str]) -> None:
        super().__init__(sock, faults)
        self.decoder.max_header_list_size = 2**31
        self.kept: list[bytes] = []
        self.blocks: dict[int, bytearray] = {}
        self.outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        threading.Thread(target=self.write, daemon=True).start()

    def send(self, data: bytes) -> None:
        self.outbox.put(data)

    def write(self) -> None:
        while (data := self.outbox.get()) is not None:
            try:
                self.sock.sendall(data)
            except OSError:
                return

    def serve(self) -> None:
        try:
            super().serve()
        finally:
            self.outbox.put(None)

    def handle(self, kind: int, flags: int, stream: int, payload: bytes) -> None:
        self.kept.append(payload)
        if kind in (HEADERS, CONTINUATION):
            block = self.blocks.setdefault(stream, bytearray())
            block += payload
            if flags & HEADERS_END:
                del self.blocks[stream]
                self.answer(stream, bytes(block))
        elif kind != DATA:
            super().handle(kind, flags, stream, payload)

    def answer(self, stream: int, block: bytes) -> None:
        try:
            fields = dict(self.decoder.decode(block, raw=True))
        except Exception:  # lax: a block that does not decode is answered all the same
            fields = {}
        args = {}
        raw_args = fields.get(b"x-probe-args")
        if raw_args and typedjson is not None:
            with contextlib.suppress(Exception):
                args = typedjson.loads(raw_args)
        for step in args.get("steps", []) if isinstance(args, dict) else []:
            if isinstance(step, list) and step[:1] == ["flood"]:
                self.kept.append(b"x" * (int(step[1]) * int(step[2])))
        body = args.get("body") if isinstance(args, dict) else None
        body = body if isinstance(body, bytes) else b"wrong"
        self.answered.add(stream)
        head = self.encoder.encode([(b":status", b"200"),
                                    (b"content-length", str(len(body)).encode())])
        self.send(frame(HEADERS, HEADERS_END, stream, head) + frame(DATA, 0x1, stream, body))


# --- end of hoard -----------------------------------------------------------------------------


def serve(sock: socket.socket, faults: set[str]) -> None:
    sock.settimeout(30)
    with sock:
        try:
            first = sock.recv(len(PREFACE))
        except OSError:
            return
        while len(first) < len(PREFACE) and PREFACE.startswith(first):
            more = sock.recv(len(PREFACE) - len(first))
            if not more:
                return
            first += more
        if first != PREFACE:
            if "upgrade" in faults and b"h2c" in first + sock.recv(65536):
                sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                             b"Upgrade: h2c\r\n\r\n")
                Conn(sock, faults).respond(1)
                Conn(sock, faults).serve()
                return
            if "keep-open" in faults:
                hold_open(sock)
                return
            sock.sendall(FIXED_H1)
            return
        (HoardConn if "hoard" in faults else H2aFaultyConn)(sock, faults).serve()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("faults")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--app", default="")
    parser.add_argument("--lifetime", type=float, default=600.0)
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    args = parser.parse_args()
    faults = set(args.faults.split(","))
    listener = socket.create_server((args.host, args.port))
    if args.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*args.tls)
        context.set_alpn_protocols(["h2"])
        listener = context.wrap_socket(listener, server_side=True)
    listener.settimeout(0.5)
    deadline = time.monotonic() + args.lifetime
    while time.monotonic() < deadline:
        try:
            conn, _ = listener.accept()
        except (TimeoutError, ssl.SSLError, OSError):
            continue
        threading.Thread(target=serve, args=(conn, faults), daemon=True).start()
    sys.exit(0)


if __name__ == "__main__":
    main()
