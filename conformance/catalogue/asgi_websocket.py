"""ASGI WebSocket requirements (www.rst "WebSocket") and the denial-response extension
(extensions.rst "Websocket Denial Response"). The RFC 6455 opening-handshake rules the
server side must follow are in ``catalogue.rfc6455``.

IDs follow the project's ASGI checklist (``WS-0xx``, ``EXT-00x``). Line numbers refer to
asgiref's copy of the spec (spec_version 2.5).
"""

from __future__ import annotations

from conformance.catalogue import ASGI_EXT, ASGI_WWW, MAY, MUST, SHOULD, WILL, Requirement

REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(
        "WS-001", SHOULD, ASGI_WWW, "WebSocket (281-282)",
        "WebSocket protocol servers should handle PING/PONG messages themselves",
        "A client ping is answered with a pong carrying its payload; the app sees no event.",
    ),
    Requirement(
        "WS-003", SHOULD, ASGI_WWW, "WebSocket (284-285)",
        "should handle message fragmentation themselves, and deliver complete messages",
        "A message sent in fragments (with a ping between them) reaches the app as one.",
    ),
    Requirement(
        "WS-004", WILL, ASGI_WWW, "WebSocket (287-288, 300)",
        "signified to ASGI applications with a type value of websocket",
        "An upgrade request gives the app a scope whose type is 'websocket'.",
    ),
    Requirement(
        "WS-005", SHOULD, ASGI_WWW, "WebSocket (294-295)",
        "if the application dies the socket should be closed, and vice-versa",
        "When the app returns or raises after accepting, the connection is closed.",
    ),
    Requirement(
        "WS-006", MAY, ASGI_WWW, "WebSocket Connection Scope (304-306)",
        "spec_version ... Optional; if missing assume \"2.0\"",
        "asgi.spec_version is absent or a 2.x version string.",
    ),
    Requirement(
        "WS-007", WILL, ASGI_WWW, "WebSocket Connection Scope (308-309)",
        "http_version ... One of \"1.1\" or \"2\". Optional; if missing default is \"1.1\"",
        "An HTTP/1.1 upgrade gives http_version '1.1' (or no key).",
    ),
    Requirement(
        "WS-008", MUST, ASGI_WWW, "WebSocket Connection Scope (311-312)",
        "scheme ... Optional (but must not be empty); default is \"ws\"",
        "scheme is 'ws' on a plain connection (or absent), never empty or 'http'.",
    ),
    Requirement(
        "WS-009", WILL, ASGI_WWW, "WebSocket Connection Scope (314-316)",
        "path ... with percent escapes decoded into UTF-8 code points",
        "path is the percent-decoded path of the upgrade request, without the query.",
    ),
    Requirement(
        "WS-010", MAY, ASGI_WWW, "WebSocket Connection Scope (318-321)",
        "raw_path ... excluding any query string, unmodified from the bytes",
        "raw_path, when provided, is the path's bytes as received, without the query "
        "(n/a when absent).",
    ),
    Requirement(
        "WS-011", WILL, ASGI_WWW, "WebSocket Connection Scope (323-324)",
        "query_string ... URL portion after the ?",
        "query_string is the raw bytes after '?', never decoded; b'' without one.",
    ),
    Requirement(
        "WS-012", MAY, ASGI_WWW, "WebSocket Connection Scope (326-328)",
        "root_path ... Optional; if missing defaults to empty string",
        'root_path is absent or "" when the server is not configured with a root path.',
    ),
    Requirement(
        "WS-013", SHOULD, ASGI_WWW, "WebSocket Connection Scope (332-333)",
        "Order should be preserved from the original HTTP request",
        "The upgrade request's header lines reach the app in their order.",
    ),
    Requirement(
        "WS-014", MUST, ASGI_WWW, "WebSocket Connection Scope (333-334)",
        "duplicates are possible and must be preserved in the message as received",
        "Repeated header lines reach the app as separate entries, not merged.",
    ),
    Requirement(
        "WS-015", SHOULD, ASGI_WWW, "WebSocket Connection Scope (334-335)",
        "Header names should be lowercased",
        "Header names in the scope are lowercased.",
    ),
    Requirement(
        "WS-016", MUST, ASGI_WWW, "WebSocket Connection Scope (336-339)",
        "Pseudo headers (present in HTTP/2 and HTTP/3) must be removed; if ``:authority`` "
        "is present its value must be added to the start of the iterable with ``host``",
        "A WebSocket over h2 (RFC 8441) scope has no ':...' header and its :authority is "
        "the one host entry.",
    ),
    Requirement(
        "WS-017", WILL, ASGI_WWW, "WebSocket Connection Scope (341-344)",
        "client (Iterable[Unicode string, int]) -- A two-item iterable of [host, port]",
        "client, when present, is [host str, port int] of the peer (n/a when absent).",
    ),
    Requirement(
        "WS-018", WILL, ASGI_WWW, "WebSocket Connection Scope (346-350)",
        "server ... Either a two-item iterable of [host, port], where host is the listening "
        "address for this server, and port is the integer listening port",
        "server, when present, is [host str, port int] of the listening socket (n/a when "
        "absent).",
    ),
    Requirement(
        "WS-019", WILL, ASGI_WWW, "WebSocket Connection Scope (352-353)",
        "subprotocols ... Subprotocols the client advertised",
        "subprotocols lists the offered subprotocols in order, from one or more headers.",
    ),
    Requirement(
        "WS-020", MAY, ASGI_WWW, "WebSocket Connection Scope (355-357)",
        "state ... A copy of the namespace passed into the lifespan",
        "When the lifespan scope carried state, websocket scopes carry a dict copied from it.",
    ),
    Requirement(
        "WS-021", WILL, ASGI_WWW, "Connect - receive event (363-364, 375)",
        "Sent to the application when the client initially opens a connection",
        "The app's first receive() on a websocket scope returns websocket.connect.",
    ),
    Requirement(
        "WS-022", MUST, ASGI_WWW, "Connect - receive event (368-370)",
        "must ... not complete the handshake until it gets a reply",
        "The 101 is sent only after the app accepts, however long the app takes.",
    ),
    Requirement(
        "WS-023", MUST, ASGI_WWW, "Connect - receive event (366-368)",
        "must be responded to with either an Accept message or a Close message before "
        "the socket will pass websocket.receive messages",
        "A frame the client sends early is not delivered before the app accepts.",
    ),
    Requirement(
        "WS-024", MUST, ASGI_WWW, "Connect, Close (370-371, 486-489)",
        "the server must close the connection with a HTTP 403 error code (Forbidden), and "
        "not complete the WebSocket handshake",
        "A close before accept gives the client an HTTP 403 and no 101 (a TCP connection "
        "left open after the 403 is non-strict).",
    ),
    Requirement(
        "WS-025", SHOULD, ASGI_WWW, "Disconnect - receive event (444-446)",
        "Sent to the application when either connection to the client is lost",
        "After a denial, the app's next receive() returns websocket.disconnect.",
        derived=True,
    ),
    Requirement(
        "WS-026", WILL, ASGI_WWW, "Accept - send event (385-386)",
        "subprotocol ... The subprotocol the server wishes to accept",
        "The accepted subprotocol is the only one in the 101; none accepted, none sent.",
    ),
    Requirement(
        "WS-027", MUST, ASGI_WWW, "Accept - send event (388-396)",
        "Order must be preserved in the HTTP response ... Added in spec version 2.1",
        "Accept headers appear in the 101 in order, duplicates kept (spec_version >= 2.1).",
    ),
    Requirement(
        "WS-028", SHOULD, ASGI_WWW, "Accept - send event (392-396)",
        "Must not include a header named sec-websocket-protocol",
        "A sec-websocket-protocol accept header makes send() raise or is dropped; never two.",
        derived=True,
    ),
    Requirement(
        "WS-029", WILL, ASGI_WWW, "Receive - receive event (412-414)",
        "text ... The message content, if it was text mode, or None",
        "A text message reaches the app as str in 'text', with 'bytes' None or absent.",
    ),
    Requirement(
        "WS-030", WILL, ASGI_WWW, "Receive - receive event (408-410)",
        "bytes ... The message content, if it was binary mode, or None",
        "A binary message reaches the app as bytes in 'bytes', with 'text' None or absent.",
    ),
    Requirement(
        "WS-031", MUST, ASGI_WWW, "Receive - receive event (416-417)",
        "Exactly one of bytes or text must be non-None",
        "Empty text and empty binary messages arrive as '' and b'', not dropped or None.",
    ),
    Requirement(
        "WS-032", WILL, ASGI_WWW, "Send - send event (429-433)",
        "Binary message content, or None / Text message content, or None",
        "send text goes out as a text frame, bytes as a binary frame, content intact.",
    ),
    Requirement(
        "WS-033", WILL, ASGI_WWW, "Send - send event (435-436)",
        "Sent by the application to send a data message to the client. ... Exactly one of "
        "bytes or text must be non-None. One or both keys may be present",
        "The other key may be None; empty text and empty bytes are sent, not dropped.",
    ),
    Requirement(
        "WS-034", SHOULD, ASGI_WWW, "Send - send event (435-436)",
        "Exactly one of bytes or text must be non-None",
        "A send with both or neither of text/bytes raises.",
        derived=True,
    ),
    Requirement(
        "WS-035", SHOULD, ASGI_WWW, "Connect - receive event (366-368)",
        "must be responded to with either an Accept message or a Close message",
        "websocket.send before accept raises; the client never gets a frame without a 101.",
        derived=True,
    ),
    Requirement(
        "WS-036", WILL, ASGI_WWW, "Disconnect - receive event (457-459)",
        "code (int) -- The WebSocket close code, as per the WebSocket spec",
        "The client's close code reaches the app as an int in websocket.disconnect.",
    ),
    Requirement(
        "WS-037", SHOULD, ASGI_WWW, "Disconnect - receive event (457-459)",
        "If no code was received in the frame from the client, the server should set this "
        "to 1005",
        "A close frame without a code gives the app code 1005.",
    ),
    Requirement(
        "WS-038", WILL, ASGI_WWW, "Disconnect - receive event (461-463)",
        "reason ... can be any string. Optional; if missing or None default is empty string",
        "The client's close reason reaches the app as str (spec_version >= 2.5).",
    ),
    Requirement(
        "WS-039", WILL, ASGI_WWW, "Disconnect - receive event (444-446)",
        "when either connection to the client is lost, either from the client closing the "
        "connection, the server closing the connection, or loss of the socket",
        "The app gets websocket.disconnect after a TCP drop and after its own close.",
    ),
    Requirement(
        "WS-040", SHOULD, ASGI_WWW, "Send - send event (469-472)",
        "If send() is called on a closed connection the server should raise a "
        "server-specific subclass of OSError",
        "send() after the client closed raises an OSError subclass (spec_version >= 2.4).",
    ),
    Requirement(
        "WS-041", MUST, ASGI_WWW, "Send - send event (477-478)",
        "Servers must be prepared to catch this exception if they raised it",
        "An app re-raising the send() error does not take the server down.",
    ),
    Requirement(
        "WS-042", SHOULD, ASGI_WWW, "Send - send event (477-478)",
        "and should not log it as an error in their server logs",
        "The send() error an app re-raises is not logged as an error (a stderr heuristic).",
    ),
    Requirement(
        "WS-043", MUST, ASGI_WWW, "Close - send event (491-492, 496-497)",
        "the server must close the socket with the close code passed in the message (or "
        "1000 if none is specified)",
        "A close after accept reaches the client with the app's code, or 1000 without one.",
    ),
    Requirement(
        "WS-044", WILL, ASGI_WWW, "Close - send event (499-501)",
        "reason ... can be any string. Optional; if missing or None default is empty string",
        "The app's close reason reaches the client (spec_version >= 2.3).",
    ),
    Requirement(
        "EXT-001", WILL, ASGI_EXT, "Websocket Denial Response (23-31)",
        "will provide websocket.http.response in the extensions part of the scope",
        "Whether websocket scopes advertise the denial-response extension (a dict).",
    ),
    Requirement(
        "EXT-002", SHOULD, ASGI_EXT, "Websocket Denial Response (33-36)",
        "the server should send a HTTP response and then close the connection",
        "A denial response reaches the client with its status, headers and body; no 101.",
    ),
    Requirement(
        "EXT-003", WILL, ASGI_EXT, "Websocket Denial Response (38-41)",
        "This will allow the ASGI Framework to send HTTP response messages ... with a "
        "structure that matches the http.response.start and http.response.body messages",
        "The denial messages take http.response defaults (no headers key, no more_body).",
    ),
    Requirement(
        "EXT-004", SHOULD, ASGI_EXT, "Websocket Denial Response (34-35)",
        "These messages cannot be followed by any other websocket messages",
        "After a denial start, websocket.accept raises and the wire is unaffected.",
        derived=True,
    ),
    Requirement(
        "EXT-005", SHOULD, ASGI_EXT, "Websocket Denial Response (23-31)",
        "will provide websocket.http.response in the extensions part of the scope",
        "Without the extension advertised, a denial start raises; the client never gets 101.",
        derived=True,
    ),
)
