"""ASGI server requirements (asgiref specs, ASGI 3.0, HTTP/WebSocket spec_version 2.5).

IDs follow the project's ASGI checklist. Sections cite the spec file and its heading;
line numbers refer to asgiref commit a7cc976 (asgiref 3.12.1).
"""

from __future__ import annotations

from conformance.catalogue import Level, Requirement

MUST, WILL, SHOULD, MAY = Level.MUST, Level.WILL, Level.SHOULD, Level.MAY

_MAIN = "ASGI asgi.rst"
_WWW = "ASGI www.rst"

REQUIREMENTS: tuple[Requirement, ...] = (
    # --- asgi.rst: the main specification -------------------------------------------------
    Requirement(
        "MAIN-001", WILL, _MAIN, "Applications (175-178)",
        'The application is called once per "connection".',
        "One application call per HTTP request, even on a keep-alive connection.",
    ),
    Requirement(
        "MAIN-003", MUST, _MAIN, "Applications (181-182)",
        "``scope`` must be a ``dict``.",
        "The scope passed to the application is a dict.",
    ),
    Requirement(
        "MAIN-004", MUST, _MAIN, "Applications; Protocol Specifications (182, 234-235)",
        "In scopes, the type key must be a Unicode string",
        'scope["type"] is present and is a str.',
    ),
    Requirement(
        "MAIN-005", WILL, _MAIN, "Applications (183-186)",
        'scope["asgi"] will also be present as a dictionary containing a '
        'scope["asgi"]["version"] key',
        'scope["asgi"] is a dict whose "version" is the str "3.0" for a single-callable app.',
    ),
    Requirement(
        "MAIN-007", WILL, _MAIN, "Events (131-132)",
        "Each event is a dict with a top-level type key that contains a Unicode string",
        "Every event the app receives is a dict with a str type.",
    ),
    Requirement(
        "MAIN-009", MUST, _MAIN, "Events (139-150)",
        "they are only allowed to contain the following types",
        "Events hold only bytes, str, 64-bit ints, finite floats, lists, dicts with str "
        "keys, bools and None.",
    ),
    Requirement(
        "MAIN-010", WILL, _MAIN, "Strings and Unicode (346-351)",
        "all strings are one of the two exact types",
        "Byte strings are exactly bytes (not bytearray or memoryview), text exactly str.",
    ),
    Requirement(
        "MAIN-011", WILL, _MAIN, "Strings and Unicode (353-354)",
        "All ``dict`` keys mentioned (including those for *scopes* and *events*) are "
        "Unicode strings.",
        "Every key of the scope, of scope['asgi'] and of every event is a str.",
    ),
    Requirement(
        "MAIN-014", SHOULD, _MAIN, "Error Handling (276-279)",
        "it should raise an exception out of the send awaitable",
        "send() raises on an invalid event: unknown type, missing keys, wrong Python types.",
    ),
    Requirement(
        "MAIN-016", MUST, _MAIN, "Error Handling (288-291)",
        "must terminate the application instance and its associated connection",
        "An exception escaping the app ends its connection: a 500 if nothing was sent, "
        "otherwise a closed connection that is never reused.",
    ),
    Requirement(
        "MAIN-022", MUST, _MAIN, "Overview (64-67)",
        "ASGI applications must run as async / await compatible coroutines "
        "(i.e. asyncio-compatible) (on the main thread",
        "The app runs in an asyncio event loop on the main thread.",
    ),
    # --- www.rst: HTTP connection scope ---------------------------------------------------
    Requirement(
        "HTTP-001", WILL, _WWW, "HTTP (71-72, 88)",
        "signified to ASGI applications with a ``type`` value of ``http``",
        'A plain HTTP request gives scope["type"] == "http".',
    ),
    Requirement(
        "HTTP-002", WILL, _WWW, "HTTP Connection Scope (86-143)",
        "The *connection scope* information passed in ``scope`` contains",
        "The keys not marked optional are present: type, asgi.version, http_version, "
        "method, path, query_string, headers.",
    ),
    Requirement(
        "HTTP-003", MAY, _WWW, "HTTP Connection Scope (92-94)",
        'Optional; if missing assume ``"2.0"``.',
        'asgi["spec_version"], when present, is one of the published versions 2.0 to 2.5.',
    ),
    Requirement(
        "HTTP-004", WILL, _WWW, "HTTP Connection Scope (96)",
        'One of ``"1.0"``, ``"1.1"`` or ``"2"``.',
        'http_version matches the request line: "1.1" for HTTP/1.1, "1.0" for HTTP/1.0.',
    ),
    Requirement(
        "HTTP-005", WILL, _WWW, "HTTP Connection Scope (98)",
        "The HTTP method name, uppercased.",
        "method is the request's method token as a str, standard and extension methods alike.",
    ),
    Requirement(
        "HTTP-006", MUST, _WWW, "HTTP Connection Scope (100-101)",
        'Optional (but must not be empty); default is ``"http"``.',
        'scheme is absent or "http" on a plain connection, and never empty.',
    ),
    Requirement(
        "HTTP-007", WILL, _WWW, "HTTP Connection Scope (103-105)",
        "with percent-encoded sequences and UTF-8 byte sequences decoded into characters",
        "path is the target without the query, percent-decoded and UTF-8 decoded.",
    ),
    Requirement(
        "HTTP-008", MAY, _WWW, "HTTP Connection Scope (107-110)",
        "excluding any query string, unmodified from the bytes that were received",
        "raw_path, when provided, is the exact bytes of the target's path, without the query.",
    ),
    Requirement(
        "HTTP-009", WILL, _WWW, "HTTP Connection Scope (112-113)",
        "URL portion after the ``?``, percent-encoded.",
        "query_string is the raw bytes after the first '?', never decoded; b'' without one.",
    ),
    Requirement(
        "HTTP-010", MAY, _WWW, "HTTP Connection Scope (115-117)",
        'Optional; if missing defaults to ``""``.',
        'root_path is absent or "" when the server is not configured with a root path.',
    ),
    Requirement(
        "HTTP-012", WILL, _WWW, "HTTP Connection Scope (119-121)",
        "An iterable of ``[name, value]`` two-item iterables",
        "headers is an iterable of two-item (name, value) pairs of bytes.",
    ),
    Requirement(
        "HTTP-013", MUST, _WWW, "HTTP Connection Scope (121-122)",
        "Order of header values must be preserved from the original HTTP request",
        "Values of a repeated header reach the app in the order they were sent.",
    ),
    Requirement(
        "HTTP-014", MUST, _WWW, "HTTP Connection Scope (122-123)",
        "Duplicates are possible and must be preserved in the message as received.",
        "Repeated header lines reach the app as separate entries, not joined or dropped.",
    ),
    Requirement(
        "HTTP-015", SHOULD, _WWW, "HTTP Connection Scope (123-124)",
        "Header names should be lowercased, but it is not required",
        "Header names reach the app lowercased.",
    ),
    Requirement(
        "HTTP-017", WILL, _WWW, "WSGI encoding differences (559-560)",
        "byte strings of the exact byte sequences sent by the client",
        "Header values reach the app byte for byte (only surrounding whitespace may go).",
    ),
    Requirement(
        "HTTP-019", WILL, _WWW, "HTTP Connection Scope (130-133)",
        "``port`` is the remote port as an integer",
        "client is (remote address as str, remote port as int), or absent.",
    ),
    Requirement(
        "HTTP-020", WILL, _WWW, "HTTP Connection Scope (135-139)",
        "``host`` is the listening address for this server, and ``port`` is the integer "
        "listening port",
        "server is (listening address as str, listening port as int), or absent.",
    ),
    Requirement(
        "HTTP-021", MAY, _WWW, "HTTP Connection Scope (141-143)",
        "A copy of the namespace passed into the lifespan corresponding to this request.",
        "When the lifespan scope carried state, every request scope carries a dict state "
        "copied from it.",
    ),
    # --- www.rst: request body -----------------------------------------------------------
    Requirement(
        "HTTP-022", SHOULD, _WWW, "HTTP Connection Scope (145-147); Request (160-162)",
        "A request with a ``chunked`` encoded body should be automatically de-chunked",
        "A chunked request body reaches the app as the decoded chunk data only.",
    ),
    Requirement(
        "HTTP-023", MAY, _WWW, "HTTP Connection Scope (148-149)",
        "may be chunked as the server sees fit",
        "A response streamed without Content-Length is framed validly (chunked or "
        "close-delimited) and carries exactly the app's bytes.",
    ),
    Requirement(
        "HTTP-026", WILL, _WWW, "Request - receive event (155-158)",
        "a trigger to actually run request code",
        "The first receive() of any request, even a bodiless GET, returns http.request.",
    ),
    Requirement(
        "HTTP-027", WILL, _WWW, "Request - receive event (168-170)",
        "If ``more_body`` is set, treat as start of body and concatenate on further chunks.",
        "The concatenated http.request bodies equal the bytes the client sent.",
    ),
    Requirement(
        "HTTP-028", WILL, _WWW, "Request - receive event (172-176)",
        "If ``False``, the request is complete and should be processed.",
        "Exactly one http.request has more_body False (or missing), and it is the last.",
    ),
    # --- www.rst: response ----------------------------------------------------------------
    Requirement(
        "HTTP-030", WILL, _WWW, "Response Start - send event (203)",
        "``status`` (*int*) -- HTTP status code.",
        "The status the app sends is the status on the wire, registered or not.",
    ),
    Requirement(
        "HTTP-031", MUST, _WWW, "Response Start - send event (207-208)",
        "Order must be preserved in the HTTP response.",
        "Response headers keep the app's order on the wire.",
    ),
    Requirement(
        "HTTP-032", MUST, _WWW, "HTTP (52-54, 64-66)",
        "preserve headers exactly as they were provided",
        "Repeated response headers (Set-Cookie above all) go out as separate lines, "
        "byte-exact.",
    ),
    Requirement(
        "HTTP-033", WILL, _WWW, "Response Start - send event (209)",
        "Optional; if missing defaults to an empty list.",
        "A response start without a headers key still produces a valid response.",
    ),
    Requirement(
        "HTTP-039", WILL, _WWW, "Response Body - send event (230-232)",
        "Concatenated onto any previous ``body`` values sent in this connection scope.",
        "The client receives the concatenation of every body chunk, empty chunks included, "
        "and an empty chunk does not end the response early.",
    ),
    Requirement(
        "HTTP-040", WILL, _WWW, "Response Body - send event (223-224, 234-238)",
        "If ``more_body`` is set to ``False`` ... this will complete the response.",
        "The final body completes the response on the wire at once, even while the app "
        "keeps running.",
    ),
    Requirement(
        "HTTP-041", WILL, _WWW, "Response Body - send event (230-238)",
        'Optional; if missing defaults to ``b""``.',
        "A bare http.response.body (no body, no more_body) completes the response with an "
        "empty body.",
    ),
    # --- www.rst: disconnect --------------------------------------------------------------
    Requirement(
        "HTTP-046", WILL, _WWW, "Disconnect - receive event (259-260)",
        "Sent to the application if receive is called after a response has been sent",
        "receive() after the response is complete returns http.disconnect promptly, even "
        "while the client keeps the connection open.",
    ),
    Requirement(
        "HTTP-047", WILL, _WWW, "Disconnect - receive event (259-262)",
        "or after the HTTP connection has been closed",
        "When the client closes the connection, a waiting receive() returns "
        "http.disconnect promptly.",
    ),
    Requirement(
        "HTTP-048", WILL, _WWW, "Disconnect - receive event (259-262); Request (172-176)",
        "If ``False``, the request is complete",
        "A client that drops the connection mid-body yields http.disconnect, never a "
        "truncated body passed off as complete.",
        derived=True,
    ),
    Requirement(
        "HTTP-049", WILL, _WWW, "Disconnect - receive event (259-262)",
        "Sent to the application if receive is called ... after the HTTP connection has "
        "been closed",
        "After http.disconnect, further receive() calls keep returning http.disconnect.",
        derived=True,
    ),
    Requirement(
        "HTTP-053", WILL, _WWW, "HTTP Connection Scope (78-81)",
        "HTTP connections have a single-request *connection scope*",
        "Each request on a keep-alive connection gets its own call and its own scope.",
    ),
)
