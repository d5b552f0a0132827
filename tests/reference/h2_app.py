"""The app behind tests/reference/test_h2_clients.py: real HTTP/2 clients talk to it.

Pure stdlib. By path:

- any HTTP request not listed below: a JSON echo of what the scope said (http_version,
  method, scheme, path, query string, whether the ``tls`` extension is there) and the
  body received, so a client's answer proves what the server saw;
- ``GET /page?KEY``: the HTML page that headless Chromium loads; its script reads the
  navigation's ``nextHopProtocol``, does a WebSocket round trip to ``/ws?KEY`` on the
  same origin, writes the results into the DOM (``#result``) and POSTs them to
  ``/report?KEY``;
- ``POST /report?KEY``: keeps the page's results under ``SEEN["report:KEY"]``;
- ``GET /seen/<key>``: ``SEEN[key]`` as JSON (null when absent);
- ``/no-read``: ``{}`` without reading the request body (the server discards it);
- ``/stream``: three body events of 80 bytes and a last one, ``end``;
- ``/raise``: the app raises before responding, without reading the body (a 500);
- ``/too-long``: a body of 11 bytes under ``content-length: 5``; the exception ``send()``
  raised is kept under ``SEEN["too-long"]``;
- WebSocket ``/ws?KEY``: records the websocket scope's http_version, scheme, the tls
  extension's presence, the client port and the offered extensions under
  ``SEEN["ws:KEY"]``, accepts, and echoes each text message prefixed with ``echo:``.

KEY is the query string ("default" when empty); the client port tells whether two
requests came over one connection.
"""

from __future__ import annotations

import json
from typing import Any

SEEN: dict[str, Any] = {}

PAGE = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>h2 clients</title></head>
<body><pre id="result">pending</pre>
<script>
const out = {};
let finished = false;
function done(extra) {
  if (finished) return;
  finished = true;
  Object.assign(out, extra);
  document.getElementById('result').textContent = JSON.stringify(out);
  fetch('/report' + location.search, {method: 'POST', body: JSON.stringify(out)})
    .catch(() => {});
}
try {
  const nav = performance.getEntriesByType('navigation')[0];
  out.navigation = nav ? nav.nextHopProtocol : null;
  const ws = new WebSocket('wss://' + location.host + '/ws' + location.search);
  ws.onopen = () => { out.extensions = ws.extensions; ws.send('hello over h2'); };
  ws.onmessage = (event) => { out.echo = event.data; ws.close(1000, 'done'); };
  ws.onerror = () => { out.error = 'websocket error'; };
  ws.onclose = (event) => done({close_code: event.code});
  setTimeout(() => done({timeout: true}), 30000);
} catch (err) {
  done({exception: String(err)});
}
</script></body></html>
"""


def _key(scope: dict[str, Any]) -> str:
    return scope["query_string"].decode("latin-1") or "default"


def _client_port(scope: dict[str, Any]) -> int | None:
    client = scope.get("client")
    return client[1] if client else None


async def _body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _respond(send: Any, body: bytes, content_type: bytes = b"application/json",
                   status: int = 200) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        else:
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _websocket(scope: dict[str, Any], receive: Any, send: Any) -> None:
    connect = await receive()
    assert connect["type"] == "websocket.connect"
    offered = [v.decode("latin-1") for n, v in scope["headers"]
               if n == b"sec-websocket-extensions"]
    record: dict[str, Any] = {
        "http_version": scope["http_version"], "scheme": scope["scheme"],
        "path": scope["path"], "tls": "tls" in scope.get("extensions", {}),
        "client_port": _client_port(scope), "offered_extensions": offered, "received": []}
    SEEN["ws:" + _key(scope)] = record
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            record["disconnect_code"] = message.get("code")
            return
        text = message.get("text")
        if text is not None:
            record["received"].append(text)
            await send({"type": "websocket.send", "text": "echo:" + text})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] == "websocket":
        await _websocket(scope, receive, send)
        return
    path = scope["path"]
    if path == "/no-read":
        await _respond(send, b"{}")
        return
    if path == "/stream":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        for n in range(3):
            await send({"type": "http.response.body", "body": b"chunk %d\n" % n * 10,
                        "more_body": True})
        await send({"type": "http.response.body", "body": b"end\n"})
        return
    if path == "/raise":
        raise RuntimeError("the app fails before its response (a test of the 500)")
    if path == "/too-long":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"5")]})
        try:
            await send({"type": "http.response.body", "body": b"hello world"})
        except Exception as exc:  # what the server tells the app
            SEEN["too-long"] = f"{type(exc).__name__}: {exc}"
        return
    body = await _body(receive)
    if path == "/page":
        await _respond(send, PAGE, b"text/html; charset=utf-8")
    elif path == "/hint" and "http.response.early_hint" in scope.get("extensions", {}):
        await send({"type": "http.response.early_hint",
                    "links": [b"</style.css>; rel=preload; as=style"]})
        await _respond(send, b"{}")
    elif path == "/push" and "http.response.push" in scope.get("extensions", {}):
        await send({"type": "http.response.push", "path": "/pushed",
                    "headers": [(b"accept", b"text/plain")]})
        await _respond(send, b"{}")
    elif path == "/report" and scope["method"] == "POST":
        SEEN["report:" + _key(scope)] = {"result": json.loads(body),
                                         "http_version": scope["http_version"],
                                         "client_port": _client_port(scope)}
        await _respond(send, b"{}")
    elif path.startswith("/seen/"):
        await _respond(send, json.dumps(SEEN.get(path.removeprefix("/seen/"))).encode())
    else:
        echoed = {
            "http_version": scope["http_version"],
            "method": scope["method"],
            "scheme": scope["scheme"],
            "path": path,
            "query_string": scope["query_string"].decode("latin-1"),
            "tls": "tls" in scope.get("extensions", {}),
            "client_port": _client_port(scope),
            "body": body.decode("latin-1"),
        }
        await _respond(send, json.dumps(echoed).encode())
