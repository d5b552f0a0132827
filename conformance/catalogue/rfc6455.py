"""The WebSocket opening handshake, server side (RFC 6455 §4.2 and §4.4, the §9.1
extension negotiation), and the permessage-deflate acceptance it may carry (RFC 7692
§7.1): what a server must answer to a good handshake, what it must refuse, and how it
negotiates subprotocols and extensions. Framing after the handshake is Autobahn's
(``catalogue.autobahn``); what the ASGI app sees is ``catalogue.asgi_websocket``.

IDs are ``RFC6455-<section>-<n>`` / ``RFC7692-<section>-<n>``: the n-th item we catalogue
from that section (the first six were catalogued with the ASGI WebSocket cases and keep
their IDs).
"""

from __future__ import annotations

from conformance.catalogue import MUST, RFC6455, RFC7692, Requirement

REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(
        "RFC6455-4.2.2-1", MUST, RFC6455, "4.2.2",
        "|Sec-WebSocket-Accept| header field ... base64-encoded SHA-1 of the concatenation of "
        "the |Sec-WebSocket-Key|",
        "The 101 carries Upgrade: websocket, Connection: Upgrade and the right Accept value.",
    ),
    Requirement(
        "RFC6455-4.2.1-1", MUST, RFC6455, "4.2.1",
        "the server MUST stop processing the client's handshake and return an HTTP response "
        "with an appropriate error code (such as 400 Bad Request)",
        "A malformed opening handshake is not completed (no 101) and never reaches the app "
        "as a websocket connection.",
    ),
    Requirement(
        "RFC6455-4.2.2-2", MUST, RFC6455, "4.2.2 /version/, 4.4",
        "the server MUST abort the WebSocket handshake ... and instead send an appropriate "
        "HTTP error code (such as 426 Upgrade Required) and a |Sec-WebSocket-Version| header",
        "A version other than 13 gets a 4xx (426 suggested) naming Sec-WebSocket-Version "
        "(accepting a registered draft version the server understands, 8, is non-strict: "
        "§4.4).",
    ),
    Requirement(
        "RFC6455-4.2.1-2", MUST, RFC6455, "4.2.1",
        "An |Upgrade| header field containing the value \"websocket\", treated as an ASCII "
        "case-insensitive value ... A |Connection| header field that includes the token",
        "Upgrade/Connection tokens are matched case-insensitively and within lists.",
    ),
    Requirement(
        "RFC6455-4.2.2-3", MUST, RFC6455, "4.2.2 /subprotocol/",
        "Either a single value ... selecting one of the values from the "
        "|Sec-WebSocket-Protocol| field",
        "A subprotocol in the 101 is one the client offered, and a single one.",
    ),
    Requirement(
        "RFC6455-4.2.2-4", MUST, RFC6455, "4.2.2 /subprotocol/, 4.1",
        "The value chosen MUST be derived from the client's handshake, specifically by "
        "selecting one of the values from the |Sec-WebSocket-Protocol| field",
        "An app's subprotocol the client never offered is not put in the 101 (the client "
        "would have to fail the connection): refused or dropped.",
        derived=True,
    ),
    Requirement(
        "RFC6455-9.1-1", MUST, RFC6455, "9.1, 4.2.2 /extensions/",
        "A server MUST NOT respond with any extension not requested by the client",
        "Extensions in the 101 are only ones the client offered.",
    ),
    Requirement(
        "RFC7692-7.1-1", MUST, RFC7692, "7.1, 7.1.1, 7.1.2",
        "the corresponding extension negotiation response to the offer MUST NOT include the "
        "\"client_max_window_bits\" extension parameter",
        "A permessage-deflate acceptance fits the offer: one element, known parameters once, "
        "windows 8..15, requested limits granted, nothing the offer did not allow.",
    ),
)
