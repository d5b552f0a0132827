"""ASGI server requirements (asgiref specs, ASGI 3.0, HTTP/WebSocket spec_version 2.5).

IDs follow the project's ASGI checklist. Sections cite the spec file and its heading;
line numbers refer to asgiref commit a7cc976 (asgiref 3.12.1).
"""

from __future__ import annotations

from conformance.catalogue import (
    ASGI_EXT,
    ASGI_LIFESPAN,
    ASGI_MAIN,
    ASGI_TLS,
    ASGI_WWW,
    MAY,
    MUST,
    PROJECT,
    SHOULD,
    WILL,
    Requirement,
)

REQUIREMENTS: tuple[Requirement, ...] = (
    # --- asgi.rst: the main specification -------------------------------------------------
    Requirement(
        "MAIN-001", WILL, ASGI_MAIN, "Applications (175-178)",
        'The application is called once per "connection".',
        "One application call per HTTP request, even on a keep-alive connection.",
    ),
    Requirement(
        "MAIN-003", MUST, ASGI_MAIN, "Applications (181-182)",
        "``scope`` must be a ``dict``.",
        "The scope passed to the application is a dict.",
    ),
    Requirement(
        "MAIN-004", MUST, ASGI_MAIN, "Applications; Protocol Specifications (182, 234-235)",
        "In scopes, the type key must be a Unicode string",
        'scope["type"] is present and is a str.',
    ),
    Requirement(
        "MAIN-005", WILL, ASGI_MAIN, "Applications (183-186)",
        'scope["asgi"] will also be present as a dictionary containing a '
        'scope["asgi"]["version"] key',
        'scope["asgi"] is a dict whose "version" is the str "3.0" for a single-callable app.',
    ),
    Requirement(
        "MAIN-007", WILL, ASGI_MAIN, "Events (131-132)",
        "Each event is a dict with a top-level type key that contains a Unicode string",
        "Every event the app receives is a dict with a str type.",
    ),
    Requirement(
        "MAIN-009", MUST, ASGI_MAIN, "Events (139-150)",
        "they are only allowed to contain the following types",
        "Events hold only bytes, str, 64-bit ints, finite floats, lists, dicts with str "
        "keys, bools and None.",
    ),
    Requirement(
        "MAIN-010", WILL, ASGI_MAIN, "Strings and Unicode (346-351)",
        "all strings are one of the two exact types",
        "Byte strings are exactly bytes (not bytearray or memoryview), text exactly str.",
    ),
    Requirement(
        "MAIN-011", WILL, ASGI_MAIN, "Strings and Unicode (353-354)",
        "All ``dict`` keys mentioned (including those for *scopes* and *events*) are "
        "Unicode strings.",
        "Every key of the scope, of scope['asgi'] and of every event is a str.",
    ),
    Requirement(
        "MAIN-014", SHOULD, ASGI_MAIN, "Error Handling (276-279)",
        "it should raise an exception out of the send awaitable",
        "send() raises on an invalid event: unknown type, missing keys, wrong Python types.",
    ),
    Requirement(
        "MAIN-016", MUST, ASGI_MAIN, "Error Handling (288-291)",
        "must terminate the application instance and its associated connection",
        "An exception escaping the app ends its connection: a 500 if nothing was sent, "
        "otherwise a closed connection that is never reused.",
    ),
    Requirement(
        "MAIN-022", MUST, ASGI_MAIN, "Overview (64-67)",
        "ASGI applications must run as async / await compatible coroutines "
        "(i.e. asyncio-compatible) (on the main thread",
        "The app runs in an asyncio event loop on the main thread.",
    ),
    Requirement(
        "MAIN-002", WILL, ASGI_MAIN, "Applications (163-173)",
        "send: an awaitable callable taking a single event dictionary as a positional "
        "argument",
        "receive() and send(event) return awaitables, and send takes the event "
        "positionally.",
    ),
    Requirement(
        "MAIN-006", MAY, ASGI_MAIN, "Applications (188-190)",
        'There may also be a spec-specific version present as scope["asgi"]["spec_version"]',
        'scope["asgi"]["spec_version"], when present, is a "major.minor" str (n/a when '
        "absent).",
    ),
    Requirement(
        "MAIN-008", SHOULD, ASGI_MAIN, "Protocol Specifications (237-238)",
        "the type should be namespaced as protocol.message_type, where the protocol matches "
        "the scope type",
        "Every event the app receives has a type starting with the scope type and a dot.",
    ),
    Requirement(
        "MAIN-012", SHOULD, ASGI_MAIN, "Applications; Legacy Applications (158-161, 219-222)",
        "servers can easily implement support for it ... and should try to support it.",
        "A legacy two-callable (ASGI 2) application is served with default options.",
    ),
    Requirement(
        "MAIN-013", WILL, ASGI_MAIN, "Legacy Applications (212-213)",
        "The first callable is called when the connection is started, and then the second "
        "callable is called and awaited immediately afterwards.",
        "A legacy app is constructed with the scope, then its instance is awaited at once.",
    ),
    Requirement(
        "MAIN-015", SHOULD, ASGI_MAIN, "Error Handling (284-286)",
        "the presence of additional keys in the event dictionary should not raise an "
        "exception",
        "Events with unknown extra keys are accepted and behave as without them.",
    ),
    Requirement(
        "MAIN-018", SHOULD, ASGI_MAIN, "Error Handling (293-296)",
        "If no error condition is specified, the send awaitable callable should act as a "
        "no-op.",
        "Below HTTP spec_version 2.4, send() after the client disconnected returns without "
        "raising.",
    ),
    Requirement(
        "MAIN-019", SHOULD, ASGI_MAIN, "Error Handling (298-300)",
        "it should be an error class that the server catches and ignores if it is raised "
        "out of the application",
        "A send() error the app lets propagate does not harm the server: it keeps serving.",
    ),
    Requirement(
        "MAIN-020", WILL, ASGI_MAIN, "Extensions (314-315)",
        "an extensions entry in the scope dictionary, which is itself a dict",
        'scope["extensions"], when present, is a dict (n/a when absent).',
    ),
    Requirement(
        "MAIN-021", SHOULD, ASGI_MAIN, "Extensions (318-323)",
        "it should place an entry into the extensions dictionary under the extension's "
        "name, and the value of that entry should itself be a dict",
        "Every advertised extension's value is a dict, and send() raises on the event of "
        "an extension the server does not advertise.",
    ),
    Requirement(
        "MAIN-023", WILL, ASGI_MAIN, "Overview (82-84)",
        "is expected to last the lifetime of that connection plus a little longer if there "
        "is cleanup to do",
        "After the client disconnects, the app may finish its cleanup: it is not cancelled "
        "at once.",
    ),
    # --- www.rst: HTTP connection scope ---------------------------------------------------
    Requirement(
        "HTTP-001", WILL, ASGI_WWW, "HTTP (71-72, 88)",
        "signified to ASGI applications with a ``type`` value of ``http``",
        'A plain HTTP request gives scope["type"] == "http".',
    ),
    Requirement(
        "HTTP-002", WILL, ASGI_WWW, "HTTP Connection Scope (86-143)",
        "The *connection scope* information passed in ``scope`` contains",
        "The keys not marked optional are present: type, asgi.version, http_version, "
        "method, path, query_string, headers.",
    ),
    Requirement(
        "HTTP-003", MAY, ASGI_WWW, "HTTP Connection Scope (92-94)",
        'Optional; if missing assume ``"2.0"``.',
        'asgi["spec_version"], when present, is one of the published versions 2.0 to 2.5.',
    ),
    Requirement(
        "HTTP-004", WILL, ASGI_WWW, "HTTP Connection Scope (96)",
        'One of ``"1.0"``, ``"1.1"`` or ``"2"``.',
        'http_version matches the request line: "1.1" for HTTP/1.1, "1.0" for HTTP/1.0.',
    ),
    Requirement(
        "HTTP-005", WILL, ASGI_WWW, "HTTP Connection Scope (98)",
        "The HTTP method name, uppercased.",
        "method is the request's method token as a str, standard and extension methods alike.",
    ),
    Requirement(
        "HTTP-006", MUST, ASGI_WWW, "HTTP Connection Scope (100-101)",
        'Optional (but must not be empty); default is ``"http"``.',
        'scheme is absent or "http" on a plain connection, and never empty.',
    ),
    Requirement(
        "HTTP-007", WILL, ASGI_WWW, "HTTP Connection Scope (103-105)",
        "with percent-encoded sequences and UTF-8 byte sequences decoded into characters",
        "path is the target without the query, percent-decoded and UTF-8 decoded.",
    ),
    Requirement(
        "HTTP-008", MAY, ASGI_WWW, "HTTP Connection Scope (107-110)",
        "excluding any query string, unmodified from the bytes that were received",
        "raw_path, when provided, is the exact bytes of the target's path, without the query "
        "(n/a when absent).",
    ),
    Requirement(
        "HTTP-009", WILL, ASGI_WWW, "HTTP Connection Scope (112-113)",
        "URL portion after the ``?``, percent-encoded.",
        "query_string is the raw bytes after the first '?', never decoded; b'' without one.",
    ),
    Requirement(
        "HTTP-010", MAY, ASGI_WWW, "HTTP Connection Scope (115-117)",
        'Optional; if missing defaults to ``""``.',
        'root_path is absent or "" when the server is not configured with a root path.',
    ),
    Requirement(
        "HTTP-011", WILL, ASGI_WWW, "WSGI Compatibility (521)",
        "PATH_INFO can be derived by stripping root_path from path",
        "With a configured root_path, path is the full path and includes the root_path.",
        derived=True,
    ),
    Requirement(
        "HTTP-012", WILL, ASGI_WWW, "HTTP Connection Scope (119-121)",
        "An iterable of ``[name, value]`` two-item iterables",
        "headers is an iterable of two-item (name, value) pairs of bytes.",
    ),
    Requirement(
        "HTTP-013", MUST, ASGI_WWW, "HTTP Connection Scope (121-122)",
        "Order of header values must be preserved from the original HTTP request",
        "Values of a repeated header reach the app in the order they were sent.",
    ),
    Requirement(
        "HTTP-014", MUST, ASGI_WWW, "HTTP Connection Scope (122-123)",
        "Duplicates are possible and must be preserved in the message as received.",
        "Repeated header lines reach the app as separate entries, not joined or dropped.",
    ),
    Requirement(
        "HTTP-015", SHOULD, ASGI_WWW, "HTTP Connection Scope (123-124)",
        "Header names should be lowercased, but it is not required",
        "Header names reach the app lowercased.",
    ),
    Requirement(
        "HTTP-017", WILL, ASGI_WWW, "WSGI encoding differences (559-560)",
        "byte strings of the exact byte sequences sent by the client",
        "Header values reach the app byte for byte (only surrounding whitespace may go).",
    ),
    Requirement(
        "HTTP-018", MUST, ASGI_WWW, "HTTP Connection Scope (125-128)",
        "Pseudo headers (present in HTTP/2 and HTTP/3) must be removed; if ``:authority`` "
        "is present its value must be added to the start of the iterable with ``host``",
        "An h2 request's scope has no header named ':...'; its :authority is the one host "
        "entry, first or in place of the host field.",
    ),
    Requirement(
        "HTTP-019", WILL, ASGI_WWW, "HTTP Connection Scope (130-133)",
        "``port`` is the remote port as an integer",
        "client is (remote address as str, remote port as int); n/a when absent.",
    ),
    Requirement(
        "HTTP-020", WILL, ASGI_WWW, "HTTP Connection Scope (135-139)",
        "``host`` is the listening address for this server, and ``port`` is the integer "
        "listening port",
        "server is (listening address as str, listening port as int); n/a when absent.",
    ),
    Requirement(
        "HTTP-021", MAY, ASGI_WWW, "HTTP Connection Scope (141-143)",
        "A copy of the namespace passed into the lifespan corresponding to this request.",
        "When the lifespan scope carried state, every request scope carries a dict state "
        "copied from it.",
    ),
    # --- www.rst: request body -----------------------------------------------------------
    Requirement(
        "HTTP-022", SHOULD, ASGI_WWW, "HTTP Connection Scope (145-147); Request (160-162)",
        "A request with a ``chunked`` encoded body should be automatically de-chunked",
        "A chunked request body reaches the app as the decoded chunk data only.",
    ),
    Requirement(
        "HTTP-023", MAY, ASGI_WWW, "HTTP Connection Scope (148-149)",
        "may be chunked as the server sees fit",
        "A response streamed without Content-Length is framed validly (chunked or "
        "close-delimited) and carries exactly the app's bytes.",
    ),
    Requirement(
        "HTTP-024", MUST, ASGI_WWW, "Response Start - send event (190-192)",
        "You may send a Transfer-Encoding header in this message, but the server must "
        "ignore it.",
        "The app's Transfer-Encoding header never decides the framing: one valid framing "
        "carries exactly the app's body.",
    ),
    Requirement(
        "HTTP-025", WILL, ASGI_WWW, "Response Start - send event (195-197)",
        "this is not the same as Content-Encoding, which the application still controls",
        "The app's Content-Encoding and encoded bytes reach the client unchanged.",
    ),
    Requirement(
        "HTTP-026", WILL, ASGI_WWW, "Request - receive event (155-158)",
        "a trigger to actually run request code",
        "The first receive() of any request, even a bodiless GET, returns http.request.",
    ),
    Requirement(
        "HTTP-027", WILL, ASGI_WWW, "Request - receive event (168-170)",
        "If ``more_body`` is set, treat as start of body and concatenate on further chunks.",
        "The concatenated http.request bodies equal the bytes the client sent.",
    ),
    Requirement(
        "HTTP-028", WILL, ASGI_WWW, "Request - receive event (172-176)",
        "If ``False``, the request is complete and should be processed.",
        "Exactly one http.request has more_body False (or missing), and it is the last.",
    ),
    Requirement(
        "HTTP-029", MAY, ASGI_WWW, "Request - receive event (156-157)",
        "the body message serves as a way to stream large incoming HTTP bodies in chunks",
        "The app gets the first part of a large body before the client has sent the rest.",
    ),
    # --- www.rst: response ----------------------------------------------------------------
    Requirement(
        "HTTP-030", WILL, ASGI_WWW, "Response Start - send event (203)",
        "``status`` (*int*) -- HTTP status code.",
        "The status the app sends is the status on the wire, registered or not.",
    ),
    Requirement(
        "HTTP-031", MUST, ASGI_WWW, "Response Start - send event (207-208)",
        "Order must be preserved in the HTTP response.",
        "Response headers keep the app's order on the wire.",
    ),
    Requirement(
        "HTTP-032", MUST, ASGI_WWW, "HTTP (52-54, 64-66)",
        "preserve headers exactly as they were provided",
        "Repeated response headers (Set-Cookie above all) go out as separate lines, "
        "byte-exact.",
    ),
    Requirement(
        "HTTP-033", WILL, ASGI_WWW, "Response Start - send event (209)",
        "Optional; if missing defaults to an empty list.",
        "A response start without a headers key still produces a valid response.",
    ),
    Requirement(
        "HTTP-034", SHOULD, ASGI_WWW, "Response Start - send event (208-210)",
        "Pseudo headers (present in HTTP/2 and HTTP/3) must not be present.",
        "A response start with a pseudo header makes send() raise, or the header never "
        "reaches the wire.",
        derived=True,
    ),
    Requirement(
        "HTTP-035", SHOULD, ASGI_WWW, "Response Start/Body - send events (201-215)",
        "with wrong Python types for objects (e.g. Unicode strings for HTTP headers)",
        "send() raises on a response event with a str header, str status or str body.",
        derived=True,
    ),
    Requirement(
        "HTTP-037", MUST, ASGI_WWW, "Response Start - send event (212-215)",
        "If True, the server must wait until it receives a http.response.trailers message "
        "after the Response Body event.",
        "With trailers False the response ends at the final body; with True, only after "
        "the trailers message.",
    ),
    Requirement(
        "HTTP-038", MUST, ASGI_WWW, "Response Body - send event (221-223)",
        "Protocol servers must flush any data passed to them into the send buffer before "
        "returning from a send call.",
        "Body bytes reach the client once send() returned, before the next body event.",
    ),
    Requirement(
        "HTTP-039", WILL, ASGI_WWW, "Response Body - send event (230-232)",
        "Concatenated onto any previous ``body`` values sent in this connection scope.",
        "The client receives the concatenation of every body chunk, empty chunks included, "
        "and an empty chunk does not end the response early.",
    ),
    Requirement(
        "HTTP-040", WILL, ASGI_WWW, "Response Body - send event (223-224, 234-238)",
        "If ``more_body`` is set to ``False`` ... this will complete the response.",
        "The final body completes the response on the wire at once, even while the app "
        "keeps running.",
    ),
    Requirement(
        "HTTP-041", WILL, ASGI_WWW, "Response Body - send event (230-238)",
        'Optional; if missing defaults to ``b""``.',
        "A bare http.response.body (no body, no more_body) completes the response with an "
        "empty body.",
    ),
    Requirement(
        "HTTP-042", WILL, ASGI_WWW, "Response Body - send event (236-238)",
        "response will be taken as complete and closed, and any further messages on the "
        "channel will be ignored",
        "A body event after the final one never reaches the wire; the next response on the "
        "connection is intact.",
    ),
    Requirement(
        "HTTP-043", SHOULD, ASGI_WWW, "Response Start - send event (182-183)",
        "Sent by the application to start sending a response to the client.",
        "send() raises on a body before the start and on a second start; the wire never "
        "shows a response the app did not start.",
        derived=True,
    ),
    Requirement(
        "HTTP-044", WILL, ASGI_WWW, "Response Start - send event (182-183)",
        "Needs to be followed by at least one response content message.",
        "An app that sends a start and returns does not leave the client hanging: the "
        "response is completed or the connection closed.",
        derived=True,
    ),
    Requirement(
        "HTTP-045", WILL, ASGI_WWW, "HTTP (83-84)",
        "the connection scope will persist until the response closes from either the "
        "client or server side",
        "A long-polling response (silence, then a stream) is not cut off by the server.",
    ),
    # --- www.rst: disconnect --------------------------------------------------------------
    Requirement(
        "HTTP-046", WILL, ASGI_WWW, "Disconnect - receive event (259-260)",
        "Sent to the application if receive is called after a response has been sent",
        "receive() after the response is complete returns http.disconnect promptly, even "
        "while the client keeps the connection open.",
    ),
    Requirement(
        "HTTP-047", WILL, ASGI_WWW, "Disconnect - receive event (259-262)",
        "or after the HTTP connection has been closed",
        "When the client closes the connection, a waiting receive() returns "
        "http.disconnect promptly.",
    ),
    Requirement(
        "HTTP-048", WILL, ASGI_WWW, "Disconnect - receive event (259-262); Request (172-176)",
        "If ``False``, the request is complete",
        "A client that drops the connection mid-body yields http.disconnect, never a "
        "truncated body passed off as complete.",
        derived=True,
    ),
    Requirement(
        "HTTP-049", WILL, ASGI_WWW, "Disconnect - receive event (259-262)",
        "Sent to the application if receive is called ... after the HTTP connection has "
        "been closed",
        "After http.disconnect, further receive() calls keep returning http.disconnect.",
        derived=True,
    ),
    Requirement(
        "HTTP-050", SHOULD, ASGI_WWW, "Disconnect - receive event (244-247)",
        "If send() is called on a closed connection the server should raise a "
        "server-specific subclass of OSError.",
        "From spec_version 2.4, send() after the client disconnected raises an OSError "
        "subclass.",
    ),
    Requirement(
        "HTTP-051", MUST, ASGI_WWW, "Disconnect - receive event (252-253)",
        "Servers must be prepared to catch this exception if they raised it",
        "When the app re-raises the send() error it got after a disconnect, the server "
        "survives and keeps serving.",
    ),
    Requirement(
        "HTTP-052", SHOULD, ASGI_WWW, "Disconnect - receive event (252-253)",
        "and should not log it as an error in their server logs.",
        "That re-raised send() error is not logged as an error (no traceback naming it).",
    ),
    Requirement(
        "HTTP-053", WILL, ASGI_WWW, "HTTP Connection Scope (78-81)",
        "HTTP connections have a single-request *connection scope*",
        "Each request on a keep-alive connection gets its own call and its own scope.",
    ),
    Requirement(
        "HTTP-054", SHOULD, ASGI_WWW, "HTTP (37-40)",
        "A protocol server should give different scopes to different requests on the same "
        "HTTP/2 connection, and correctly multiplex the responses back",
        "Streams of one h2 connection get their own scopes and are answered independently: "
        "a slow stream does not hold back a fast one.",
    ),
    Requirement(
        "HTTP-055", MUST, ASGI_WWW, "HTTP Connection Scope (121-123); HTTP (56-66)",
        "Duplicates are possible and must be preserved in the message as received.",
        "Two cookie fields of an h2 request reach the app as two entries, not joined.",
    ),
    # --- project robustness requirements ---------------------------------------------------
    # Not in the ASGI text nor a single RFC sentence: what users of any server rely on, in
    # the design's words (design.md "Reference server notes"). IDs 101+ keep them apart from
    # the checklist's numbering; like SHOULD items they can only be non-strict.
    Requirement(
        "HTTP-101", SHOULD, PROJECT, "robustness; RFC 9112 §9.5, RFC 9110 §15.5.9 (408)",
        "Servers will usually have some timeout value beyond which they will no longer "
        "maintain an inactive connection.",
        "A request head that never completes (idle or trickled) does not hold a connection "
        "open for good.",
    ),
    Requirement(
        "HTTP-102", SHOULD, PROJECT, "robustness (flow control); www.rst Response Body "
        "(221-223)",
        "send() waits when the client does not read. Memory per connection is bounded.",
        "send() blocks while the client reads nothing, instead of buffering an unbounded "
        "response.",
    ),
    Requirement(
        "HTTP-103", SHOULD, PROJECT, "robustness (concurrency); asgi.rst Applications "
        "(175-178)",
        'The application is called once per "connection".',
        "Many concurrent keep-alive connections are each served their own, correct "
        "answers.",
    ),
    # --- lifespan.rst ---------------------------------------------------------------------
    Requirement(
        "LIFE-001", WILL, ASGI_LIFESPAN, "Scope (43-46)",
        '``type`` (*Unicode string*) -- ``"lifespan"``.',
        'The lifespan scope has type "lifespan" and an asgi dict with a str version.',
    ),
    Requirement(
        "LIFE-002", MAY, ASGI_LIFESPAN, "Scope (47-48)",
        'The version of this spec being used. Optional; if missing defaults to "1.0".',
        'The lifespan spec_version is absent, "1.0" or "2.0".',
    ),
    Requirement(
        "LIFE-003", WILL, ASGI_LIFESPAN, "Scope (49-51)",
        "An empty namespace where the application can persist state",
        "The lifespan scope's state, when present, is an empty dict at the call (n/a when "
        "absent: the server does not support state).",
    ),
    Requirement(
        "LIFE-004", WILL, ASGI_LIFESPAN, "Startup - receive event (92-97)",
        "Sent to the application when the server is ready to startup and receive "
        "connections, but before it has started to do so.",
        "The first lifespan event is lifespan.startup, before any request reaches the app.",
    ),
    Requirement(
        "LIFE-005", MUST, ASGI_LIFESPAN, "Startup Complete - send event (103-104)",
        "A server must wait for this message before it starts processing connections.",
        "No request reaches the app before startup.complete, and none ever after "
        "startup.failed.",
    ),
    Requirement(
        "LIFE-006", SHOULD, ASGI_LIFESPAN, "Startup Failed - send event (114-115)",
        "If a server sees this it should log/print the message provided and then exit.",
        "On startup.failed the server prints the message and exits with a failure status.",
    ),
    Requirement(
        "LIFE-007", WILL, ASGI_LIFESPAN, "Startup Failed; Shutdown Failed (120, 154)",
        'Optional; if missing defaults to "".',
        "startup.failed and shutdown.failed without a message work as with one.",
    ),
    Requirement(
        "LIFE-008", WILL, ASGI_LIFESPAN, "Shutdown - receive event (126-127)",
        "Sent to the application when the server has stopped accepting connections and "
        "closed all active connections.",
        "lifespan.shutdown comes after the listener is closed and every connection is done.",
    ),
    Requirement(
        "LIFE-009", MUST, ASGI_LIFESPAN, "Shutdown Complete - send event (137-138)",
        "A server must wait for this message before terminating.",
        "The process exits only after the app sent shutdown.complete.",
    ),
    Requirement(
        "LIFE-010", SHOULD, ASGI_LIFESPAN, "Shutdown Failed - send event (148-149)",
        "If a server sees this it should log/print the message provided and then terminate.",
        "On shutdown.failed the server prints the message and terminates.",
    ),
    Requirement(
        "LIFE-011", MUST, ASGI_LIFESPAN, "Scope (53-55)",
        "If an exception is raised when calling the application callable with a "
        "lifespan.startup message or a scope with type lifespan, the server must continue",
        "An app raising on the lifespan scope (at once or after startup) is still served.",
    ),
    Requirement(
        "LIFE-012", MUST, ASGI_LIFESPAN, "Scope (53-55)",
        "the server must continue but not send any lifespan events.",
        "After the lifespan call raised, no more lifespan events: no lifespan.shutdown.",
    ),
    Requirement(
        "LIFE-013", WILL, ASGI_LIFESPAN, "Lifespan State (68-70)",
        "The server will ensure that a *shallow copy* of the namespace is passed into each "
        "subsequent request/response call",
        "Each request gets its own shallow copy of the lifespan state: same objects, own "
        "dict.",
    ),
    Requirement(
        "LIFE-014", WILL, ASGI_LIFESPAN, "Lifespan State (84-85)",
        "the server will not interact with it other than to copy it.",
        "The server adds, removes and clears nothing in the state, up to shutdown.",
    ),
    Requirement(
        "LIFE-015", SHOULD, ASGI_LIFESPAN, "Lifespan Protocol (15-17)",
        "In a multi-process environment there will be lifespan events in each process",
        "With several workers, each runs its lifespan before serving requests.",
    ),
    Requirement(
        "LIFE-016", WILL, ASGI_LIFESPAN, "Lifespan Protocol (18-19)",
        "The important part is that lifespans and requests are run in the same event loop",
        "Requests run in the event loop the lifespan ran in.",
    ),
    Requirement(
        "LIFE-017", WILL, ASGI_LIFESPAN, "Scope (41)",
        "The lifespan scope exists for the duration of the event loop.",
        "The lifespan call (and what it started) lives until lifespan.shutdown.",
    ),
    Requirement(
        "LIFE-018", SHOULD, ASGI_LIFESPAN, "Startup/Shutdown send events (100-154)",
        "it should raise an exception out of the send awaitable",
        "send() raises on an unknown lifespan event, a second startup.complete, or "
        "shutdown.complete before lifespan.shutdown.",
        derived=True,
    ),
    # --- extensions.rst -------------------------------------------------------------------
    Requirement(
        "EXT-011", WILL, ASGI_EXT, "Zero Copy Send (89-97)",
        "ASGI servers that implement this extension will provide "
        "http.response.zerocopysend",
        "zerocopysend is advertised exactly when the server carries out its events.",
    ),
    Requirement(
        "EXT-012", SHOULD, ASGI_EXT, "Zero Copy Send (100-104)",
        "can be mixed with http.response.body. It can also be called multiple times",
        "zerocopysend mixed with body events, several times, sends exactly those bytes.",
    ),
    Requirement(
        "EXT-013", WILL, ASGI_EXT, "Zero Copy Send (114-120)",
        "offset ... specify the offset at which sendfile starts to read data from file",
        "offset and count select the bytes sent; without them, from the file's position to "
        "its end.",
    ),
    Requirement(
        "EXT-014", WILL, ASGI_EXT, "Zero Copy Send (128-130)",
        "ASGI servers are not responsible for closing descriptors.",
        "The server leaves the app's file open after a zerocopysend.",
    ),
    Requirement(
        "EXT-015", WILL, ASGI_EXT, "Zero Copy Send (122-126)",
        "If False, response will be taken as complete and closed",
        "A zerocopysend without more_body completes the response; keep-alive continues.",
    ),
    Requirement(
        "EXT-016", WILL, ASGI_EXT, "Path Send (139-147)",
        "ASGI servers that implement this extension will provide http.response.pathsend",
        "pathsend is advertised exactly when the server carries out its event.",
    ),
    Requirement(
        "EXT-017", SHOULD, ASGI_EXT, "Path Send (149-154)",
        "Except for the characteristics of path-send, it should behave the same as ordinary "
        "http.response.body.",
        "pathsend sends the file's exact bytes, completes the response and keeps the "
        "connection usable.",
    ),
    Requirement(
        "EXT-018", SHOULD, ASGI_EXT, "Path Send (151-152)",
        "cannot be mixed with http.response.body. It can be called just one time in one "
        "response.",
        "send() raises on pathsend after a body, or a second pathsend; the wire is intact.",
        derived=True,
    ),
    Requirement(
        "EXT-019", WILL, ASGI_EXT, "Path Send (163-165)",
        "The ASGI application itself is responsible to send the relevant headers",
        "The app's headers for a pathsend go out unchanged, with one Content-Length.",
    ),
    Requirement(
        "EXT-020", WILL, ASGI_EXT, "Early Hints (177-187)",
        "ASGI servers that implement this extension will allow early hints to be sent. "
        "These servers will provide http.response.early_hint",
        "Advertised, early hints are allowed (send() accepts one, the response completes); "
        "not advertised, no 103 goes out.",
    ),
    Requirement(
        "EXT-021", SHOULD, ASGI_EXT, "Early Hints (201-202)",
        "The ASGI server should then attempt to send an informational response to the "
        "client with the provided links as Link headers.",
        "An early hint goes out as a 103 with one Link header per link, before the final "
        "response.",
    ),
    Requirement(
        "EXT-022", MAY, ASGI_EXT, "Early Hints (202-204)",
        "The server may decide to ignore this message",
        "An advertised early hint the server ignores still does not make send() raise.",
    ),
    Requirement(
        "EXT-023", WILL, ASGI_EXT, "Early Hints (190-192)",
        "can be sent at any time (and multiple times) after the Response Start message but "
        "before the final Response Body message",
        "Early hints after the response start, twice, are accepted by send().",
    ),
    Requirement(
        "EXT-024", WILL, ASGI_EXT, "HTTP Trailers (214-222)",
        "ASGI servers that implement this extension will provide http.response.trailers",
        "trailers is advertised exactly when the server sends the app's trailers.",
    ),
    Requirement(
        "EXT-025", MUST, ASGI_EXT, "HTTP Trailers (224-227); www.rst (212-215)",
        "the server must wait until it receives a http.response.trailers message after "
        "the Response Body event",
        "With trailers=True and TE: trailers, the trailer fields end the chunked body "
        "after the trailers message.",
    ),
    Requirement(
        "EXT-026", WILL, ASGI_EXT, "HTTP Trailers (249-250)",
        "The ASGI server will only send the trailing headers in case the client has sent "
        "the TE: trailers header",
        "Without TE: trailers the response has no trailer fields and send() does not raise.",
    ),
    Requirement(
        "EXT-027", WILL, ASGI_EXT, "HTTP Trailers (242-246)",
        "more_trailers ... Signifies if there is additional content to come",
        "Trailers sent in two messages (more_trailers True, then False) all go out.",
    ),
    Requirement(
        "EXT-028", MAY, ASGI_EXT, "HTTP Trailers (229-231)",
        "The ASGI server is not responsible for validating the Trailer headers provided.",
        "A trailer field the Trailer header did not declare is sent, or at least accepted.",
    ),
    Requirement(
        "EXT-029", MUST, ASGI_TLS, "When to use this extension (35-38)",
        "For non-TLS connections, the ASGI server is forbidden from providing this "
        "extension.",
        'A plain-HTTP scope never advertises the "tls" extension.',
    ),
    Requirement(
        "EXT-030", MUST, ASGI_TLS, "TLS Connection Scope (54-58)",
        "server_cert ... The PEM-encoded conversion of the x509 certificate sent by the "
        "server ... Mandatory.",
        "server_cert is the certificate the server presented, as PEM (n/a when None: the "
        "server is unable to provide it).",
    ),
    Requirement(
        "EXT-031", MUST, ASGI_TLS, "TLS Connection Scope (96-101)",
        "Common values include 0x0303 for TLS 1.2 or 0x0304 for TLS 1.3 ... Mandatory.",
        "tls_version is the negotiated version as an int (0x0303, 0x0304).",
    ),
    Requirement(
        "EXT-032", MUST, ASGI_TLS, "TLS Connection Scope (103-111)",
        "The TLS cipher suite that is being used. This is a 16-bit unsigned integer",
        "cipher_suite is the negotiated suite's IANA number as an int.",
    ),
    Requirement(
        "EXT-033", WILL, ASGI_TLS, "TLS Connection Scope (60-68)",
        "If the client did not provide a client certificate then it will be an empty "
        "iterable.",
        "client_cert_chain is empty (or absent) when the client sent no certificate.",
    ),
    Requirement(
        "EXT-034", MUST, ASGI_TLS, "TLS Connection Scope (70-81)",
        "If the client did not provide a client certificate then it will be None.",
        "client_cert_name is None (or absent) when the client sent no certificate.",
    ),
    Requirement(
        "EXT-035", WILL, ASGI_TLS, "TLS Connection Scope (83-94)",
        "None if a client certificate was provided and successfully verified, or was not "
        "provided.",
        "client_cert_error is None (or absent) when the client sent no certificate.",
    ),
    Requirement(
        "EXT-037", SHOULD, ASGI_EXT, "Debug (255-257)",
        "This extension is not meant to be used in production ... and ASGI servers should "
        "not implement it.",
        "http.response.debug is not advertised.",
    ),
)
