"""Fuzz target: the WebSocket opening handshake (``reference_server.websocket.handshake``,
RFC 6455 §4.2, RFC 8441 §5 over HTTP/2).

Input: a mode byte, then data.

- **request** (mode 0): the data is an HTTP/1.1 request head; what the request parser
  accepts and marks as an upgrade to websocket goes through :func:`parse_offer`, as the
  server does;
- **fields** (mode 1): the data is field values, one per line, for the handshake's own
  fields (Sec-WebSocket-Key, -Version, -Protocol, -Extensions, Upgrade, Connection),
  the field each goes to chosen by its first byte, added to an otherwise valid
  handshake (so the fuzzer works on the values rather than on getting past the parser);
  the same fields also go through :func:`parse_h2_offer` (RFC 8441);
- **response** (mode 2): the data is the application's ``websocket.accept`` headers and
  subprotocol, rendered by :func:`accept_response`.

Invariants: only :class:`HandshakeError` (400 or 426, the latter with
``Sec-WebSocket-Version: 13``) escapes parsing, and only ValueError escapes rendering;
an accepted offer has a canonical 16-byte key, token subprotocols and token extension
names; negotiation on an accepted offer never raises; the 101 we render is one HTTP head
(CRLF lines, no control characters, one blank line at the end) whose Sec-WebSocket-Accept
is the key's (§4.2.2).
"""

from __future__ import annotations

import base64

from bench.fuzz.common import Input
from reference_server.http11 import ProtocolError, Request, RequestParser
from reference_server.http11.grammar import NOT_CTL, TOKEN_TEXT
from reference_server.websocket import (
    DeflateConfig,
    HandshakeError,
    accept_response,
    accept_value,
    is_websocket_upgrade,
    negotiate_deflate,
    parse_offer,
)
from reference_server.websocket.handshake import WebSocketOffer, parse_h2_offer

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
NAMES = (b"sec-websocket-key", b"sec-websocket-version", b"sec-websocket-protocol",
         b"sec-websocket-extensions", b"upgrade", b"connection", b"host", b"x-other")
BASE = [(b"host", b"example.com"), (b"upgrade", b"websocket"), (b"connection", b"Upgrade"),
        (b"sec-websocket-key", KEY), (b"sec-websocket-version", b"13")]
POLICIES = (DeflateConfig(), DeflateConfig(server_max_window_bits=8, client_max_window_bits=9,
                                           server_no_context_takeover=True))


def check_offer(offer: WebSocketOffer, h2: bool = False) -> None:
    if not h2:
        assert len(base64.b64decode(offer.key, validate=True)) == 16, offer.key
    for protocol in offer.subprotocols:
        assert TOKEN_TEXT.fullmatch(protocol), protocol
    for name, params in offer.extensions:
        assert TOKEN_TEXT.fullmatch(name) and name == name.lower(), name
        for pname, _ in params:
            assert TOKEN_TEXT.fullmatch(pname) and pname == pname.lower(), pname
    for policy in POLICIES:
        negotiate_deflate(offer.extensions, policy)


def check_head(head: bytes) -> None:
    assert head.endswith(b"\r\n\r\n") and head.count(b"\r\n\r\n") == 1, head
    lines = head[:-4].split(b"\r\n")
    for line in lines:
        assert not line.translate(None, NOT_CTL), f"control character in {line!r}"
    for line in lines[1:]:
        name, colon, _ = line.partition(b":")
        assert colon and TOKEN_TEXT.fullmatch(name.decode("latin-1")), line


def offer_of(method: bytes, version: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    try:
        offer = parse_offer(method, version, headers)
    except HandshakeError as exc:
        assert exc.status in (400, 426), exc
        if exc.status == 426:
            assert exc.headers == [(b"sec-websocket-version", b"13")], exc.headers
        return
    check_offer(offer)
    subprotocol = offer.subprotocols[0] if offer.subprotocols else None
    head = accept_response(offer.key, subprotocol=subprotocol, headers=[], extension=None,
                           server_header=b"fuzz", date=None)
    check_head(head)
    assert b"\r\nSec-WebSocket-Accept: " + accept_value(offer.key) + b"\r\n" in head


def request_mode(data: bytes) -> None:
    parser = RequestParser()
    parser.feed(data)
    try:
        event = parser.next_event()
    except ProtocolError:
        return
    if isinstance(event, Request) and is_websocket_upgrade(event.upgrade):
        offer_of(event.method, event.http_version, event.headers)


def fields_mode(data: bytes) -> None:
    headers = list(BASE)
    for line in data.split(b"\n")[:16]:
        if not line:
            continue
        name = NAMES[line[0] % len(NAMES)]
        # The parser hands over values trimmed and free of CR, LF and NUL.
        value = line[1:].replace(b"\r", b"").replace(b"\x00", b"").strip(b" \t")
        if line[0] & 0x80:
            headers = [(n, v) for n, v in headers if n != name]
        headers.append((name, value))
    offer_of(b"GET", b"1.1", headers)
    try:
        h2_offer = parse_h2_offer(headers)
    except HandshakeError as exc:
        assert exc.status in (400, 426), exc
    else:
        check_offer(h2_offer, h2=True)


def response_mode(source: Input) -> None:
    text = source.take(source.choice(16)).decode("latin-1")
    subprotocol = text if source.choice(2) else None
    headers = []
    for line in source.rest().split(b"\n")[:8]:
        name, _, value = line.partition(b":")
        headers.append((name, value))
    try:
        head = accept_response(KEY, subprotocol=subprotocol, headers=headers,
                               extension=b"permessage-deflate", server_header=b"fuzz",
                               date=b"now")
    except ValueError:
        return
    check_head(head)


def one_input(data: bytes) -> None:
    source = Input(data)
    mode = source.choice(3)
    if mode == 0:
        request_mode(source.rest())
    elif mode == 1:
        fields_mode(source.rest())
    else:
        response_mode(source)


def seed_inputs() -> dict[str, bytes]:
    return {
        "request": b"\x00GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
                   b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   b"Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
                   b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate;"
                   b" client_max_window_bits\r\n\r\n",
        "fields": b"\x01\x02chat, superchat\n\x03permessage-deflate; client_max_window_bits=10, "
                  b"permessage-deflate; server_no_context_takeover\n\x03x-ext; a=\"b\"",
        "fields-version": b"\x01\x81\x00 8\n\x06example.com:80",
        "response": b"\x02\x04chat\x01x-header:value\nset-cookie:a=b",
    }
