"""Minimal ASGI apps used as benchmark targets.

They are deliberately tiny and pure-stdlib so that the measured cost is the server's
(HTTP parsing, ASGI plumbing, event loop) rather than the application's. Both servers load the
very same module, so any difference in req/s comes from the server.

Routes of ``app``: ``/`` → ``hello`` (GET, plain text), ``/json`` → ``echo_json`` (POST, parses the
JSON body), and the WebSocket route ``/ws`` → ``ws_echo`` (accepts, then sends every message
back unchanged, text as text and bytes as bytes). The lifespan scope is answered so servers
started with ``--lifespan on`` work.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HELLO_BODY = b"Hello, world!"
_HELLO_HEADERS = [
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"content-length", str(len(HELLO_BODY)).encode("ascii")),
]
_NOT_FOUND = b"Not Found"


async def lifespan(scope: Scope, receive: Receive, send: Send) -> None:
    """Acknowledge startup and shutdown; there is no state to set up."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read_body(receive: Receive) -> bytes:
    """Collect the whole request body (it may arrive in several http.request messages)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _respond(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    """GET → 200 ``Hello, world!`` with an explicit content-length."""
    if scope["type"] == "lifespan":
        await lifespan(scope, receive, send)
        return
    await _respond(send, 200, _HELLO_HEADERS, HELLO_BODY)


async def echo_json(scope: Scope, receive: Receive, send: Send) -> None:
    """POST a JSON document → ``{"ok": true, "n": <body length>}``; bad JSON → 400."""
    if scope["type"] == "lifespan":
        await lifespan(scope, receive, send)
        return
    body = await _read_body(receive)
    try:
        json.loads(body)
    except ValueError:
        await _respond(send, 400, [(b"content-length", b"0")], b"")
        return
    out = json.dumps({"ok": True, "n": len(body)}, separators=(",", ":")).encode("ascii")
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(out)).encode("ascii")),
    ]
    await _respond(send, 200, headers, out)


STREAM_CHUNK = 64 * 1024
STREAM_CHUNKS = 16


async def stream(scope: Scope, receive: Receive, send: Send) -> None:
    """GET → 200 with a 1 MiB body sent as 16 chunks of 64 KiB (``bench.h2_memory``: a
    response that a client with a closed flow-control window holds up)."""
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"%d" % (STREAM_CHUNK * STREAM_CHUNKS))]})
    chunk = b"x" * STREAM_CHUNK
    for i in range(STREAM_CHUNKS):
        await send({"type": "http.response.body", "body": chunk,
                    "more_body": i < STREAM_CHUNKS - 1})


async def ws_echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Accept the WebSocket, then echo every message as the same type until the disconnect.

    A text message goes back as text and a binary one as bytes; nothing else is done with it,
    so a WebSocket echo benchmark measures the server's framing and ASGI plumbing.
    """
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "websocket.receive":
            text = message.get("text")
            if text is not None:
                await send({"type": "websocket.send", "text": text})
            else:
                await send({"type": "websocket.send", "bytes": message.get("bytes") or b""})
        elif kind == "websocket.disconnect":
            return


async def _ws_reject(receive: Receive, send: Send) -> None:
    """Close a WebSocket on an unknown path before accepting it (the server answers 403)."""
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.close", "code": 1008})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Route ``/`` to ``hello``, ``/json`` to ``echo_json``, ``/stream`` to ``stream`` and
    the WebSocket ``/ws`` to ``ws_echo``; any other HTTP path is a 404, any other
    WebSocket path is rejected."""
    kind = scope["type"]
    if kind == "lifespan":
        await lifespan(scope, receive, send)
        return
    if kind == "websocket":
        if scope["path"] == "/ws":
            await ws_echo(scope, receive, send)
        else:
            await _ws_reject(receive, send)
        return
    if kind != "http":
        return
    path = scope["path"]
    if path == "/":
        await hello(scope, receive, send)
    elif path == "/json":
        await echo_json(scope, receive, send)
    elif path == "/stream":
        await stream(scope, receive, send)
    else:
        headers = [(b"content-type", b"text/plain"), (b"content-length", b"9")]
        await _respond(send, 404, headers, _NOT_FOUND)
