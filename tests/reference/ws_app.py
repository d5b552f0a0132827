"""A WebSocket test app for the reference server's shell tests, chosen by path.

What the app saw (the disconnect event, what ``send()`` raised) is kept in ``SEEN`` and
served over plain HTTP at ``GET /seen/<key>``, so a test can check the ASGI side after
the WebSocket connection is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

SEEN: dict[str, Any] = {}


def _key(scope: dict[str, Any]) -> str:
    return scope["query_string"].decode() or "default"


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                scope["state"]["greeting"] = "hi"
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "http":
        key = scope["path"].removeprefix("/seen/")
        body = json.dumps(SEEN.get(key)).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})
        return
    path = scope["path"]
    key = _key(scope)
    connect = await receive()
    assert connect == {"type": "websocket.connect"}
    if path == "/echo":
        subprotocol = scope["subprotocols"][0] if scope["subprotocols"] else None
        if key == "slow-accept":  # bytes the client sends meanwhile wait for the accept
            await asyncio.sleep(0.5)
        await send({"type": "websocket.accept", "subprotocol": subprotocol,
                    "headers": [(b"x-echo", b"yes")]})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                SEEN[key] = message
                return
            if message.get("text") == "close-me":
                # If the client closed first, send() raises (spec_version 2.4).
                with contextlib.suppress(OSError):
                    await send({"type": "websocket.close", "code": 4001, "reason": "bye"})
                SEEN[key] = await receive()
                return
            await send({"type": "websocket.send", "text": message.get("text"),
                        "bytes": message.get("bytes")})
    elif path == "/scope":
        await send({"type": "websocket.accept"})
        described = {k: v for k, v in scope.items() if k not in ("headers", "raw_path",
                                                                 "query_string")}
        described["raw_path"] = scope["raw_path"].decode("latin-1")
        described["headers"] = [[n.decode("latin-1"), v.decode("latin-1")]
                                for n, v in scope["headers"]]
        await send({"type": "websocket.send", "text": json.dumps(described)})
        await receive()
    elif path == "/close-before-accept":
        await send({"type": "websocket.close"})
    elif path == "/deny":
        await send({"type": "websocket.http.response.start", "status": 401,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "websocket.http.response.body", "body": b"go away"})
    elif path == "/raise-before-accept":
        raise RuntimeError("boom before accept")
    elif path == "/raise-after-accept":
        await send({"type": "websocket.accept"})
        raise RuntimeError("boom after accept")
    elif path == "/return-after-accept":
        await send({"type": "websocket.accept"})
    elif path == "/bad-subprotocol":
        try:
            await send({"type": "websocket.accept", "subprotocol": "not-offered"})
        except Exception as exc:
            SEEN[key] = type(exc).__name__
            await send({"type": "websocket.close"})
    elif path == "/send-after-close":
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 1000})
        try:
            await send({"type": "websocket.send", "text": "too late"})
        except OSError as exc:
            SEEN[key] = type(exc).__name__
    elif path == "/send-after-disconnect":
        await send({"type": "websocket.accept"})
        message = await receive()
        assert message["type"] == "websocket.disconnect"
        try:
            await send({"type": "websocket.send", "text": "too late"})
        except OSError as exc:
            SEEN[key] = [message, type(exc).__name__]
    elif path == "/never-receive":
        # Accepts and then does not receive: the server must stop reading the socket.
        await send({"type": "websocket.accept"})
        await asyncio.sleep(30)
    elif path == "/flood":
        # Sends without pause: against a client that does not read, send() must wait.
        await send({"type": "websocket.accept"})
        sent = 0
        chunk = b"x" * 65536
        try:
            while sent < 512:
                await send({"type": "websocket.send", "bytes": chunk})
                sent += 1
                SEEN[key] = sent
        except OSError:
            pass
