"""What a Starlette or FastAPI user relies on a server for (conformance/suite/test_frameworks.py).

Each item is an ASGI (or HTTP) requirement seen through a framework: the spec sentence
that makes it the server's business, and, in the summary, what the framework's user
observes when the server meets it. The level says how much a user relies on it: a JSON
body that does not survive the trip is MUST-level for any API; gzip negotiation is a
SHOULD. IDs are ``FW-`` plus a name, since these are not items of one spec's checklist.
"""

from __future__ import annotations

from conformance.catalogue import ASGI_EXT, ASGI_LIFESPAN, ASGI_WWW, MUST, SHOULD, WILL, Requirement

REQUIREMENTS: tuple[Requirement, ...] = (
    # --- HTTP: what the route sees ---------------------------------------------------------
    Requirement(
        "FW-PATH-PARAMS", WILL, ASGI_WWW, "HTTP Connection Scope: path (103-105)",
        "with percent-encoded sequences and UTF-8 byte sequences decoded into characters",
        "A route's path parameter is the decoded text: /items/caf%C3%A9%20x gives "
        "'café x', and an encoded slash gives '/' (a {name:path} route sees 'a/b').",
    ),
    Requirement(
        "FW-QUERY-PARAMS", WILL, ASGI_WWW, "HTTP Connection Scope: query_string (112-113)",
        "URL portion after the ``?``, percent-encoded.",
        "request.query_params and Query() see repeated keys in order and decoded values "
        "('b%26c' stays the one value 'b&c'), because the server passes the query as sent.",
    ),
    Requirement(
        "FW-JSON-BODY", MUST, ASGI_WWW, "Request - receive event: body (168-170)",
        "If ``more_body`` is set, treat as start of body and concatenate on further chunks.",
        "A 320 KB JSON body (Content-Length or chunked) comes back identical from "
        "request.json() or a pydantic model.",
    ),
    Requirement(
        "FW-JSON-INVALID", WILL, ASGI_WWW, "Response Start - send event: status (203)",
        "``status`` (*int*) -- HTTP status code.",
        "Invalid JSON gets the framework's answer intact: FastAPI's 422 with a "
        "json_invalid detail, the Starlette app's 400 with its detail.",
    ),
    Requirement(
        "FW-MULTIPART", MUST, ASGI_WWW, "Request - receive event (155-158)",
        "the body message serves as a way to stream large incoming HTTP bodies in chunks",
        "An 8 MiB multipart upload (Content-Length or chunked) reaches UploadFile whole: "
        "the size and sha256 the app computes match, and the form field beside it too.",
    ),
    # --- HTTP: what the client gets ---------------------------------------------------------
    Requirement(
        "FW-SSE", MUST, ASGI_WWW, "Response Body - send event (221-223)",
        "Protocol servers must flush any data passed to them into the send buffer before "
        "returning from a send call.",
        "Server-sent events from a StreamingResponse/EventSourceResponse reach the client "
        "one by one: it has the first event while the app still waits to send the next.",
    ),
    Requirement(
        "FW-FILE-RESPONSE", WILL, ASGI_WWW, "Response Body - send event: body (230-232)",
        "Concatenated onto any previous ``body`` values sent in this connection scope.",
        "A FileResponse serves the file's exact bytes with its Content-Length, whichever "
        "way Starlette sends it (body chunks, or pathsend when the server offers it).",
    ),
    Requirement(
        "FW-FILE-RANGE", MUST, "RFC 9110", "15.3.7 206 Partial Content",
        "the server generating the 206 response MUST generate a Content-Range header "
        "field, describing what range of the selected representation is enclosed",
        "A Range request to a FileResponse gets Starlette's 206 with Content-Range and "
        "exactly the requested bytes.",
    ),
    Requirement(
        "FW-FILE-PATHSEND", SHOULD, ASGI_EXT, "Path Send (149-154)",
        "Except for the characteristics of path-send, it should behave the same as "
        "ordinary ``http.response.body``.",
        "Where the server offers http.response.pathsend, FileResponse hands it the path "
        "instead of the bytes, and the client gets the same file (n/a otherwise).",
    ),
    Requirement(
        "FW-BACKGROUND", WILL, ASGI_WWW, "Response Body - send event: more_body (223-224)",
        "If ``more_body`` is set to ``False``, and the server is not expecting *Response "
        "Trailers* this will complete the response.",
        "A background task runs after the response: the client has the response while "
        "the task still waits, and the task's effect shows in a later request.",
    ),
    Requirement(
        "FW-LIFESPAN-STATE", WILL, ASGI_LIFESPAN, "Lifespan State (68-70)",
        "The server will ensure that a *shallow copy* of the namespace is passed into "
        "each subsequent request/response call into the application.",
        "What the lifespan yields is in every request's request.state, and what a request "
        "adds there does not leak into the next; n/a for a server without lifespan state "
        "(an optional feature), judged by its probe app's lifespan scope.",
    ),
    Requirement(
        "FW-GZIP", SHOULD, ASGI_WWW, "Response Start - send event (195-197)",
        "``Content-Encoding``, which the application still controls, and which is the "
        "appropriate place to set ``gzip``",
        "GZipMiddleware's choice reaches the client unchanged: gzip with Content-Encoding "
        "when accepted and over 500 bytes, the plain body otherwise.",
    ),
    Requirement(
        "FW-CORS", MUST, ASGI_WWW, "HTTP Connection Scope; Response Start (98, 119-123, 205-208)",
        "``method`` (*Unicode string*) -- The HTTP method name, uppercased.",
        "Preflight OPTIONS requests reach CORSMiddleware with their Origin and "
        "Access-Control-Request-* headers, and its Access-Control-Allow-* headers reach "
        "the browser.",
    ),
    # --- WebSocket ------------------------------------------------------------------------
    Requirement(
        "FW-WS-MESSAGES", MUST, ASGI_WWW, "WebSocket Receive and Send events (406-437)",
        "Exactly one of ``bytes`` or ``text`` must be non-``None``.",
        "A WebSocket route gets text as text and bytes as bytes and its replies arrive "
        "the same way; receive_json/send_json round-trip.",
    ),
    Requirement(
        "FW-WS-CLOSE-CODE", MUST, ASGI_WWW, "WebSocket Close - send event (491-492)",
        "the server must close the socket with the close code passed in the message",
        "websocket.close(code=4001) reaches the client as close code 4001.",
    ),
    Requirement(
        "FW-WS-CLOSE-REASON", SHOULD, ASGI_WWW, "WebSocket Close - send event: reason (499-500)",
        "``reason`` (*Unicode string*) -- A reason given for the closure, can be any string.",
        "websocket.close(reason='bye') reaches the client as the close reason 'bye' "
        "(spec_version 2.3 and later).",
    ),
    Requirement(
        "FW-WS-DISCONNECT-CODE", WILL, ASGI_WWW, "WebSocket Disconnect - receive event (457-459)",
        "``code`` (*int*) -- The WebSocket close code, as per the WebSocket spec.",
        "A client closing with code 4002 shows up as WebSocketDisconnect.code == 4002 in "
        "the route.",
    ),
    Requirement(
        "FW-WS-DISCONNECT-REASON", SHOULD, ASGI_WWW,
        "WebSocket Disconnect - receive event: reason (461-463)",
        "``reason`` (*Unicode string*) -- A reason given for the disconnect, can be any "
        "string.",
        "A client's close reason shows up as WebSocketDisconnect.reason in the route "
        "(spec_version 2.5 and later).",
    ),
)
