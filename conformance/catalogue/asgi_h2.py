"""ASGI over HTTP/2: what the ASGI text and RFC 9113/9110 ask of a server that maps h2
streams onto application calls, beyond the checklist's own [h2] items (HTTP-018, HTTP-054,
HTTP-055 in ``catalogue.asgi``, WS-016 in ``catalogue.asgi_websocket``), which keep their
checklist IDs there. Cases also reuse HTTP/1.1 items whose sentence is the same over h2
(HTTP-004 http_version, HTTP-047 disconnect, HTTP-050 OSError, RFC9110-8.6-3, ...).

IDs: ``H2ASGI-<n>`` for our own items (the RFC sentence they rest on is quoted), the
checklist's IDs for the server-push extension (EXT-007..009), ``RFC8441-<section>-<n>``
for WebSocket over h2 (RFC 8441).
"""

from __future__ import annotations

from conformance.catalogue import (
    ASGI_EXT,
    ASGI_WWW,
    MUST,
    RFC8441,
    RFC9110,
    RFC9113,
    SHOULD,
    WILL,
    Requirement,
)

REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(
        "H2ASGI-1", WILL, ASGI_WWW, "HTTP Connection Scope (100-101)",
        'URL scheme portion (likely ``"http"`` or ``"https"``)',
        "An h2 scope's scheme is the request's :scheme: 'http' on h2c, 'https' over TLS.",
        derived=True,
    ),
    Requirement(
        "H2ASGI-2", MUST, RFC9113, "8.2.2",
        "An endpoint MUST NOT generate an HTTP/2 message containing connection-specific "
        "header fields.",
        "Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding and Upgrade headers "
        "the app sends never reach the h2 wire.",
    ),
    Requirement(
        "H2ASGI-3", WILL, RFC9113, "5.2; ASGI www.rst Response Body (221-223)",
        "A sender MUST NOT send a flow-controlled frame with a length that exceeds the "
        "space available",
        "send() waits for the peer's flow-control window rather than buffering a body "
        "without bound; the rest follows once the window opens.",
        derived=True,
    ),
    Requirement(
        "H2ASGI-4", WILL, RFC9113, "6.4",
        "The RST_STREAM frame ... allows for immediate termination of a stream.",
        "A client's RST_STREAM ends that stream only: the connection and its other streams "
        "carry on.",
        derived=True,
    ),
    Requirement(
        "H2ASGI-5", SHOULD, RFC9113, "6.8",
        "A server that is attempting to gracefully shut down a connection SHOULD send an "
        "initial GOAWAY frame",
        "On SIGTERM the server sends GOAWAY on an open h2 connection before closing it.",
    ),
    Requirement(
        "H2ASGI-6", WILL, RFC9113, "6.8",
        "maintaining the connection in an \"open\" state until all in-progress streams "
        "complete",
        "On SIGTERM a stream the app is still answering is completed, not dropped.",
        derived=True,
    ),
    Requirement(
        "H2ASGI-7", WILL, RFC9110, "6.4.1",
        "All 1xx (Informational), 204 (No Content), and 304 (Not Modified) responses do "
        "not include content.",
        "A 204 or 304 over h2 carries no DATA payload, whatever body the app sends.",
    ),
    Requirement(
        "H2ASGI-8", MUST, RFC9113, "6.6",
        "PUSH_PROMISE MUST NOT be sent if the SETTINGS_ENABLE_PUSH setting of the peer "
        "endpoint is set to 0.",
        "An http.response.push from the app yields no PUSH_PROMISE to a client that "
        "disabled push.",
    ),
    Requirement(
        "EXT-007", SHOULD, ASGI_EXT, "HTTP/2 Server Push (73-74)",
        "The ASGI server should then attempt to send a server push (or push promise) to "
        "the client.",
        "With ENABLE_PUSH=1, http.response.push yields a PUSH_PROMISE for the message's "
        "path with its headers.",
    ),
    Requirement(
        "EXT-008", SHOULD, ASGI_EXT, "HTTP/2 Server Push (74-76)",
        "the server should create a new connection to a new instance of the application "
        "and treat it as if the client had made a request",
        "A pushed path is served by a new application call with a GET scope for it.",
    ),
    Requirement(
        "EXT-009", SHOULD, ASGI_EXT, "HTTP/2 Server Push (78-79)",
        "The ASGI server should set the pseudo ``:authority`` header value to be the same "
        "value as the request that triggered the push promise.",
        "The PUSH_PROMISE's :authority equals the triggering request's.",
    ),
    Requirement(
        "RFC8441-5-1", WILL, RFC8441, "5",
        "the peers should proceed with The WebSocket Protocol [RFC6455] using the HTTP/2 "
        "stream from the CONNECT transaction as if it were the TCP connection referred to "
        "in [RFC6455]",
        "A server offering SETTINGS_ENABLE_CONNECT_PROTOCOL accepts an extended CONNECT "
        "for websocket with :status 200, and WebSocket frames flow in that stream's DATA "
        "(derived: the sentence's \"should\" is not an RFC 2119 keyword, but a server that "
        "advertises RFC 8441 and does not do this has no other way to behave).",
        derived=True,
    ),
)
