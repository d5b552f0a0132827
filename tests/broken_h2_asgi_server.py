"""A small ASGI server over h2c (prior knowledge) that is wrong on purpose, for proving
that the ASGI-over-HTTP/2 cases can fail. It really runs the application (the probe app)
once per stream, with the ``h2`` library doing the framing; each fault switch breaks
one thing a case judges. Without faults (``none``) it aims to pass those cases.

    python tests/broken_h2_asgi_server.py FAULTS --host H --port P --app APP

FAULTS is a comma-separated list (``none`` for none):

pseudo           pseudo headers stay in the scope's headers, no host entry is made
no-host          :authority is dropped: no host in the scope (granian #189)
join-cookies     cookie fields are joined with ", " into one entry
http11           http_version "1.1" in h2 scopes
bad-scheme       scheme "https" on h2c
bad-files        pathsend and zerocopysend are advertised but send no bytes
shared-scope     the streams of a connection share one scope dict
serial           the streams of a connection are served one after another
no-disconnect    a client's RST_STREAM never reaches the app (granian #917)
whole-body       the app is called only once the whole request body is in
lose-data        every second DATA frame of a request body is lost
rst-kills        a client's RST_STREAM ends the whole connection
silent-send      send() after the client reset its stream returns silently
buffer           send() never waits for the flow-control window
conn-headers     the app's connection-specific headers go out on h2
cl-mismatch      a body that disagrees with its Content-Length goes out as is
empty-ends       an empty body event ends the response, more_body or not
length-per-event a Content-Length response is reset at its second non-empty body event
                 (the declared length counted as used up by the first)
head-body        HEAD, 204 and 304 responses carry the app's body
no-continue      expect: 100-continue is ignored
trailers-always  trailers are sent without TE: trailers
no-trailers      trailers are advertised but never sent
no-early-hints   early hints are advertised but never sent
no-push          push is advertised but never carried out
push-anyway      PUSH_PROMISE even to a client with ENABLE_PUSH=0
no-goaway        SIGTERM exits at once: no GOAWAY, in-flight streams dropped
ws-broken        RFC 8441 offered, but frames never reach the app, and a close before
                 accept or a denial response is answered 200

An HTTP/1.1 request (no preface) is served minimally (one request per connection), so
the server can also be the main process the harness starts and profiles. It stops by
itself after ``--lifetime`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import importlib
import os
import signal
import struct
import sys
from typing import Any
from urllib.parse import unquote

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
CONNECTION_SPECIFIC = {b"connection", b"keep-alive", b"proxy-connection",
                       b"transfer-encoding", b"upgrade"}
EXTENSIONS: dict[str, dict[str, Any]] = {
    name: {} for name in ("http.response.trailers", "http.response.early_hint",
                          "http.response.push", "http.response.pathsend",
                          "http.response.zerocopysend")}
ENABLE_PUSH = h2.settings.SettingCodes.ENABLE_PUSH
App = Any
FAULTS: set[str] = set()
CONNECTIONS: set[H2Server] = set()


class Stream:
    """One request stream (or RFC 8441 WebSocket) and its application call."""

    def __init__(self, sid: int, scope: dict[str, Any], request: dict[bytes, bytes]) -> None:
        self.sid = sid
        self.scope = scope
        self.request = request
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.reset = False
        self.ended = False
        self.started = False
        self.no_body = False
        self.declared: int | None = None
        self.sent = 0
        self.trailers = False
        self.continued = False
        self.connected = False
        self.accepted = False
        #: A WebSocket denial response's head, until its first body event.
        self.denial: list[tuple[bytes, bytes]] = []
        self.ws_buffer = b""
        self.pending = bytearray()
        self.head: list[tuple[bytes, bytes]] | None = None
        self.end_after = False
        self.draining = False


class H2Server:
    def __init__(self, app: App, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.app, self.reader, self.writer = app, reader, writer
        config = h2.config.H2Configuration(
            client_side=False, header_encoding=None, validate_outbound_headers=False,
            normalize_outbound_headers=False, normalize_inbound_headers=False)
        self.conn = h2.connection.H2Connection(config)
        self.streams: dict[int, Stream] = {}
        self.window = asyncio.Event()
        self.lock = asyncio.Lock()
        self.shared: dict[str, Any] | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.draining = False
        self.data_frames = 0

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data and not self.writer.is_closing():
            self.writer.write(data)

    async def serve(self, first: bytes) -> None:
        self.conn.initiate_connection()
        self.conn.update_settings({h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL: 1})
        self.flush()
        data = first
        while data:
            try:
                events = self.conn.receive_data(data)
            except h2.exceptions.ProtocolError:
                self.flush()
                break
            for event in events:
                self.handle(event)
            self.flush()
            try:
                data = await self.reader.read(65536)
            except OSError:
                break
        for stream in self.streams.values():
            self.disconnect(stream)

    def handle(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RequestReceived):
            if self.draining:
                self.conn.reset_stream(event.stream_id, 7)  # REFUSED_STREAM
                return
            self.start(event.stream_id, list(event.headers or []))
        stream = self.streams.get(getattr(event, "stream_id", 0) or 0)
        if isinstance(event, h2.events.DataReceived):
            self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            self.data_frames += 1
            if stream is not None and not ("lose-data" in FAULTS and self.data_frames % 2 == 0):
                self.data(stream, event.data or b"")
        elif isinstance(event, h2.events.StreamEnded) and stream is not None:
            stream.ended = True
            if "whole-body" in FAULTS and stream.scope["type"] == "http":
                self.spawn(self.run(stream))
            if stream.scope["type"] == "http":
                stream.events.put_nowait({"type": "http.request", "body": b"",
                                          "more_body": False})
        elif isinstance(event, h2.events.StreamReset) and stream is not None:
            if "rst-kills" in FAULTS:
                self.conn.close_connection(2)
                self.flush()
                self.writer.close()
            if "no-disconnect" not in FAULTS:
                self.disconnect(stream)
            else:
                stream.reset = True
        elif isinstance(event, h2.events.WindowUpdated):
            self.window.set()

    def disconnect(self, stream: Stream) -> None:
        stream.reset = True
        kind = "http" if stream.scope["type"] == "http" else "websocket"
        stream.events.put_nowait({"type": f"{kind}.disconnect", "code": 1006})

    def data(self, stream: Stream, data: bytes) -> None:
        if stream.scope["type"] == "http":
            stream.events.put_nowait({"type": "http.request", "body": data,
                                      "more_body": True})
            return
        if "ws-broken" in FAULTS:
            return
        stream.ws_buffer += data
        while len(stream.ws_buffer) >= 6:
            buf = stream.ws_buffer
            length, offset = buf[1] & 0x7F, 2
            if length == 126:
                length, offset = struct.unpack("!H", buf[2:4])[0], 4
            if len(buf) < offset + 4 + length:
                return
            key, payload = buf[offset:offset + 4], buf[offset + 4:offset + 4 + length]
            stream.ws_buffer = buf[offset + 4 + length:]
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
            opcode = buf[0] & 0x0F
            if opcode == 1:
                stream.events.put_nowait({"type": "websocket.receive",
                                          "text": payload.decode()})
            elif opcode == 2:
                stream.events.put_nowait({"type": "websocket.receive", "bytes": payload})
            elif opcode == 8:
                self.disconnect(stream)

    # --- the scope ------------------------------------------------------------------------

    def start(self, sid: int, raw: list[tuple[bytes, bytes]]) -> None:
        request = dict(raw)
        websocket = request.get(b":method") == b"CONNECT" and b":protocol" in request
        target = request.get(b":path", b"/")
        path, _, query = target.partition(b"?")
        scope: dict[str, Any] = {
            "type": "websocket" if websocket else "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1" if "http11" in FAULTS else "2",
            "method": request.get(b":method", b"GET").decode(),
            "scheme": self.scheme(websocket, request),
            "path": unquote(path.decode("latin-1")), "raw_path": path,
            "query_string": query, "root_path": "", "headers": self.headers(raw),
            "client": ("127.0.0.1", 0), "server": ("127.0.0.1", 0),
        }
        if websocket:
            scope["subprotocols"] = []
            scope["extensions"] = {"websocket.http.response": {}}
        else:
            scope["extensions"] = dict(EXTENSIONS)
        if "shared-scope" in FAULTS:
            if self.shared is None:
                self.shared = scope
            else:
                self.shared.update(scope)
                scope = self.shared
        stream = self.streams[sid] = Stream(sid, scope, request)
        if "whole-body" not in FAULTS or websocket:
            self.spawn(self.run(stream))

    @staticmethod
    def scheme(websocket: bool, request: dict[bytes, bytes]) -> str:
        if "bad-scheme" in FAULTS:
            return "https"
        scheme = request.get(b":scheme", b"http").decode()
        return {"http": "ws", "https": "wss"}[scheme] if websocket else scheme

    @staticmethod
    def headers(raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        if "pseudo" in FAULTS:
            return [(k, v) for k, v in raw if k != b"host"]
        regular = [(k, v) for k, v in raw if not k.startswith(b":") and k != b"host"]
        authority = dict(raw).get(b":authority")
        if authority is not None and "no-host" not in FAULTS:
            regular.insert(0, (b"host", authority))
        if "join-cookies" in FAULTS:
            cookies = [v for k, v in regular if k == b"cookie"]
            regular = [(k, v) for k, v in regular if k != b"cookie"]
            if cookies:
                regular.append((b"cookie", b", ".join(cookies)))
        return regular

    # --- the application call -----------------------------------------------------------------

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def run(self, stream: Stream) -> None:
        async def receive() -> dict[str, Any]:
            if (stream.request.get(b"expect") == b"100-continue" and not stream.continued
                    and "no-continue" not in FAULTS and not stream.ended):
                stream.continued = True
                self.conn.send_headers(stream.sid, [(b":status", b"100")])
                self.flush()
            if stream.scope["type"] == "websocket" and not stream.connected:
                stream.connected = True
                return {"type": "websocket.connect"}
            return await stream.events.get()

        async def send(event: dict[str, Any]) -> None:
            await self.send(stream, event)

        try:
            if "shared-scope" in FAULTS:
                # Let the streams that arrive together all start before any app reads its
                # scope: whether the sharing shows must not depend on how the client's
                # frames were split into reads.
                await asyncio.sleep(0.2)
            if "serial" in FAULTS:
                async with self.lock:
                    await self.app(stream.scope, receive, send)
            else:
                await self.app(stream.scope, receive, send)
        except Exception as exc:  # the app's own error: reset the stream
            print(f"broken h2 asgi server: app raised {exc!r}", file=sys.stderr)
            with contextlib.suppress(Exception):
                self.conn.reset_stream(stream.sid, 2)
                self.flush()

    async def send(self, stream: Stream, event: dict[str, Any]) -> None:
        if stream.reset:
            if "silent-send" in FAULTS:
                return
            raise ConnectionResetError("the client reset the stream")
        kind = event["type"]
        if kind == "http.response.start":
            await self.response_start(stream, event)
        elif kind == "http.response.body":
            await self.body(stream, event.get("body", b""), event.get("more_body", False))
        elif kind in ("http.response.pathsend", "http.response.zerocopysend"):
            data = b"" if "bad-files" in FAULTS else self.file_data(event)
            more = event.get("more_body", False) if "file" in event else False
            await self.body(stream, data, more)
        elif kind == "http.response.trailers":
            if "no-trailers" not in FAULTS and (self.te(stream)
                                                or "trailers-always" in FAULTS):
                self.conn.send_headers(stream.sid, event.get("headers", []), end_stream=True)
            else:
                self.end(stream)
        elif kind == "http.response.early_hint":
            if "no-early-hints" not in FAULTS:
                self.conn.send_headers(stream.sid, [(b":status", b"103")] + [
                    (b"link", link) for link in event.get("links", [])])
        elif kind == "http.response.push":
            self.push(stream, event)
        elif kind.startswith("websocket."):
            self.websocket(stream, event)
        self.flush()

    async def response_start(self, stream: Stream, event: dict[str, Any]) -> None:
        status = int(event["status"])
        headers = [(bytes(k).lower(), bytes(v)) for k, v in event.get("headers", [])]
        if "conn-headers" not in FAULTS:
            headers = [(k, v) for k, v in headers if k not in CONNECTION_SPECIFIC]
        lengths = [int(v) for k, v in headers if k == b"content-length"]
        stream.declared = lengths[0] if lengths else None
        stream.trailers = bool(event.get("trailers"))
        stream.no_body = (status in (204, 304) or stream.scope["method"] == "HEAD") \
            and "head-body" not in FAULTS
        stream.started = True
        stream.head = [(b":status", str(status).encode()), *headers]

    def send_head(self, stream: Stream) -> None:
        """The final response header block goes out with the first body (early hints may
        come between the start event and the body)."""
        if stream.head is not None:
            self.conn.send_headers(stream.sid, stream.head)
            stream.head = None

    @staticmethod
    def file_data(event: dict[str, Any]) -> bytes:
        if "path" in event:
            with open(event["path"], "rb") as handle:
                return handle.read()
        handle = event["file"]
        if "offset" in event:
            handle.seek(event["offset"])
        data: bytes = handle.read(event.get("count", -1))
        return data

    def te(self, stream: Stream) -> bool:
        return stream.request.get(b"te") == b"trailers"

    async def body(self, stream: Stream, data: bytes, more: bool) -> None:
        self.send_head(stream)
        if stream.no_body:
            data = b""
        if "empty-ends" in FAULTS and not data:
            more = False
        if "length-per-event" in FAULTS and stream.declared is not None and data:
            if stream.sent:
                self.conn.reset_stream(stream.sid, 2)
                return
            stream.sent = stream.declared - len(data)
        if stream.declared is not None and "cl-mismatch" not in FAULTS:
            data = data[:max(stream.declared - stream.sent, 0)]
        await self.write(stream, data)
        stream.sent += len(data)
        if more:
            return
        if (stream.declared is not None and not stream.no_body and "cl-mismatch" not in FAULTS
                and stream.sent != stream.declared):
            self.conn.reset_stream(stream.sid, 2)
        elif not (stream.trailers and (self.te(stream) or "trailers-always" in FAULTS)):
            self.end(stream)

    def end(self, stream: Stream) -> None:
        if stream.draining:
            stream.end_after = True
        else:
            self.conn.end_stream(stream.sid)

    async def write(self, stream: Stream, data: bytes) -> None:
        """DATA within the peer's window; ``buffer`` leaves that to a task and returns."""
        if "buffer" in FAULTS and data:
            stream.pending += data
            if not stream.draining:
                stream.draining = True
                self.spawn(self.drain(stream))
            return
        await self.write_now(stream, data)

    async def drain(self, stream: Stream) -> None:
        with contextlib.suppress(Exception):
            while stream.pending or not stream.end_after:
                if stream.pending:
                    chunk = bytes(stream.pending)
                    stream.pending.clear()
                    await self.write_now(stream, chunk)
                else:
                    await asyncio.sleep(0.01)
            self.conn.end_stream(stream.sid)
            self.flush()

    async def write_now(self, stream: Stream, data: bytes) -> None:
        while data:
            window = min(self.conn.local_flow_control_window(stream.sid),
                         self.conn.max_outbound_frame_size)
            if window <= 0:
                self.window.clear()
                self.flush()
                await self.window.wait()
                if stream.reset:
                    raise ConnectionResetError("the client reset the stream")
                continue
            self.conn.send_data(stream.sid, data[:window])
            data = data[window:]
        self.flush()

    def push(self, stream: Stream, event: dict[str, Any]) -> None:
        if "no-push" in FAULTS:
            return
        if not self.conn.remote_settings.enable_push:
            if "push-anyway" not in FAULTS:
                return
            self.conn.remote_settings._settings[ENABLE_PUSH] = collections.deque([1])
        promised = self.conn.get_next_available_stream_id()
        authority = stream.request.get(b":authority", b"")
        request = [(b":method", b"GET"), (b":scheme", b"http"), (b":authority", authority),
                   (b":path", event["path"].encode()),
                   *((bytes(k), bytes(v)) for k, v in event.get("headers", []))]
        self.conn.push_stream(stream.sid, promised, request)
        pushed = Stream(promised, dict(stream.scope, path=event["path"], method="GET",
                                       headers=self.headers(request)), dict(request))
        pushed.ended = True
        pushed.events.put_nowait({"type": "http.request", "body": b"", "more_body": False})
        self.streams[promised] = pushed
        self.spawn(self.run(pushed))

    def websocket(self, stream: Stream, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "websocket.accept":
            stream.accepted = True
            self.conn.send_headers(stream.sid, [(b":status", b"200")])
        elif kind == "websocket.http.response.start":
            status = b"200" if "ws-broken" in FAULTS else str(event["status"]).encode()
            stream.denial = [(b":status", status),
                             *((bytes(k), bytes(v)) for k, v in event.get("headers", []))]
        elif kind == "websocket.http.response.body":
            if stream.denial:
                self.conn.send_headers(stream.sid, stream.denial)
                stream.denial = []
            self.conn.send_data(stream.sid, event.get("body", b""),
                                end_stream=not event.get("more_body", False))
        elif kind == "websocket.close" and not stream.accepted:
            status = b"200" if "ws-broken" in FAULTS else b"403"
            self.conn.send_headers(stream.sid, [(b":status", status)], end_stream=True)
        elif kind == "websocket.close":
            self.conn.send_data(stream.sid, b"\x88\x02\x03\xe8", end_stream=True)
        elif kind == "websocket.send":
            text = event.get("text")
            payload, opcode = (text.encode(), 1) if text is not None else (event["bytes"], 2)
            head = bytes([0x80 | opcode]) + (bytes([len(payload)]) if len(payload) < 126
                                             else b"\x7e" + struct.pack("!H", len(payload)))
            self.conn.send_data(stream.sid, head + payload)

    def goaway(self) -> None:
        """A graceful GOAWAY written past h2's state machine (which would refuse to send
        on the streams still in flight after its own close_connection)."""
        self.draining = True
        last = max(self.streams, default=0)
        frame = struct.pack("!I", 8)[1:] + struct.pack("!BBI", 7, 0, 0) \
            + struct.pack("!II", last, 0)
        if not self.writer.is_closing():
            self.writer.write(frame)

    def busy(self) -> bool:
        return any(not t.done() for t in self.tasks)


async def http1(app: App, first: bytes, reader: asyncio.StreamReader,
                writer: asyncio.StreamWriter) -> None:
    """One HTTP/1.1 request, answered with a Content-Length (enough for the profile)."""
    data = first
    while b"\r\n\r\n" not in data:
        more = await reader.read(65536)
        if not more:
            return
        data += more
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    method, target, _ = head[0].split(b" ", 2)
    headers = [tuple(line.split(b":", 1)) for line in head[1:] if b":" in line]
    headers = [(k.strip().lower(), v.strip()) for k, v in headers]
    path, _, query = target.partition(b"?")
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"},
             "http_version": "1.1", "method": method.decode(), "scheme": "http",
             "path": unquote(path.decode("latin-1")), "raw_path": path,
             "query_string": query, "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 0), "server": ("127.0.0.1", 0)}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(event: dict[str, Any]) -> None:
        sent.append(event)

    await app(scope, receive, send)
    start: dict[str, Any] = next((e for e in sent if e["type"] == "http.response.start"),
                                 {"status": 500, "headers": []})
    body = b"".join(e.get("body", b"") for e in sent if e["type"] == "http.response.body")
    lines = [f"HTTP/1.1 {start['status']} X".encode(),
             *(bytes(k) + b": " + bytes(v) for k, v in start.get("headers", [])
               if bytes(k).lower() not in (b"content-length", b"transfer-encoding")),
             b"Content-Length: " + str(len(body)).encode(), b"Connection: close"]
    writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
    await writer.drain()


async def connection(app: App, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
    try:
        first = b""
        while len(first) < len(PREFACE) and PREFACE.startswith(first):
            more = await reader.read(len(PREFACE) - len(first))
            if not more:
                return
            first += more
        if first != PREFACE:
            await http1(app, first, reader, writer)
            return
        server = H2Server(app, reader, writer)
        CONNECTIONS.add(server)
        try:
            await server.serve(first)
        finally:
            CONNECTIONS.discard(server)
    except (OSError, ValueError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def shutdown() -> None:
    """SIGTERM: GOAWAY on every connection, let in-flight streams finish (5 s at most)."""
    if "no-goaway" in FAULTS:
        os._exit(0)
    for server in list(CONNECTIONS):
        server.goaway()
    for _ in range(50):
        if not any(server.busy() for server in CONNECTIONS):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.1)
    os._exit(0)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("faults")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--app", required=True)
    parser.add_argument("--lifetime", type=float, default=600.0)
    args = parser.parse_args()
    FAULTS.update(f for f in args.faults.split(",") if f and f != "none")
    module, _, attr = args.app.partition(":")
    app = getattr(importlib.import_module(module), attr)

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, lambda: asyncio.ensure_future(shutdown()))
    server = await asyncio.start_server(
        lambda r, w: connection(app, r, w), args.host, args.port)
    async with server:
        await asyncio.sleep(args.lifetime)


if __name__ == "__main__":
    sys.path.insert(0, os.getcwd())
    asyncio.run(main())
