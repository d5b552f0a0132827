"""A deliberately broken HTTP/1.1 server serving an ASGI app, for testing the
differential command. It frames a request body by Content-Length whenever one is
present, even beside ``Transfer-Encoding: chunked`` (RFC 9112 §6.3 says chunked wins, or
the request is refused), and it reads Content-Length the way C's ``strtol(s, 0)`` does:
a leading 0 makes it octal (``011`` is 9 bytes, where RFC 9110 §8.6 says 1*DIGIT,
decimal). So a valid request with ``Content-Length: 011`` gets a shorter body here than
on a conforming server, and the rest is read as a second request: the desync a
differential run must find. And a request offering an Upgrade it does not take gets
an empty body (the octets are read and dropped), as uvicorn with httptools does: the
case in conformance/suite/test_wire_differential.py must fail on it. Its trailer
sections are read and ignored, however malformed, so the trailer case there fails too.
Otherwise it is a plain keep-alive server; it stops by itself after ``--lifetime``
seconds.

    python tests/desync_server.py APP --host H --port P
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
from typing import Any

READ_TIMEOUT = 10.0


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = b""
    while True:
        size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while (await reader.readline()).strip():
                pass  # trailers
            return body
        body += await reader.readexactly(size)
        await reader.readline()


async def serve(app: Any, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                port: int) -> None:
    try:
        while True:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
            line, *fields = head[:-4].split(b"\r\n")
            method, target, version = line.split(b" ", 2)
            headers = [(n.strip().lower(), v.strip())
                       for n, _, v in (f.partition(b":") for f in fields)]
            values = dict(headers)
            if b"upgrade" in values and b"content-length" in values:
                # the third bug: an Upgrade offer it does not take empties the body (the
                # octets are read and dropped), as uvicorn with httptools does
                await reader.readexactly(int(values[b"content-length"]))
                body = b""
            elif b"content-length" in values:  # the bug: Content-Length before chunked
                body = await reader.readexactly(int(values[b"content-length"], 0)
                                                if values[b"content-length"][:1] != b"0"
                                                else int(values[b"content-length"] or b"0", 8))
            elif values.get(b"transfer-encoding", b"").lower() == b"chunked":
                body = await read_chunked(reader)
            else:
                body = b""
            await respond(app, writer, method, target, version, headers, body, port)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
            ValueError, ConnectionError):
        pass
    finally:
        writer.close()


async def respond(app: Any, writer: asyncio.StreamWriter, method: bytes, target: bytes,
                  version: bytes, headers: list[tuple[bytes, bytes]], body: bytes,
                  port: int) -> None:
    path, _, query = target.partition(b"?")
    scope = {"type": "http", "asgi": {"version": "3.0"},
             "http_version": version.decode().removeprefix("HTTP/"),
             "method": method.decode(), "scheme": "http", "path": path.decode("latin-1"),
             "raw_path": path, "query_string": query, "root_path": "",
             "headers": headers, "server": ("127.0.0.1", port), "client": None}
    events = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if events:
            return events.pop()
        await asyncio.sleep(READ_TIMEOUT)
        return {"type": "http.disconnect"}

    async def send(event: dict[str, Any]) -> None:
        sent.append(event)

    await app(scope, receive, send)
    start = next(e for e in sent if e["type"] == "http.response.start")
    content = b"".join(e.get("body", b"") for e in sent if e["type"] == "http.response.body")
    out = [f"HTTP/1.1 {start['status']} OK".encode()]
    out += [name + b": " + value for name, value in start.get("headers", [])
            if name.lower() != b"content-length"]
    out.append(b"content-length: " + str(len(content)).encode())
    writer.write(b"\r\n".join(out) + b"\r\n\r\n" + content)
    await writer.drain()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("app")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--lifetime", type=float, default=120.0)
    args = parser.parse_args()
    module, _, attr = args.app.partition(":")
    app = getattr(importlib.import_module(module), attr)
    server = await asyncio.start_server(
        lambda r, w: serve(app, r, w, args.port), args.host, args.port)
    async with server:
        await asyncio.sleep(args.lifetime)


if __name__ == "__main__":
    asyncio.run(main())
