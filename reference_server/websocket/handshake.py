"""The WebSocket opening handshake, server side (RFC 6455 §4.2), on parsed HTTP/1.1 heads.

The HTTP/1.1 parser has already checked the request's syntax (RFC 9112) and tells us,
through ``Request.upgrade``, that ``Connection`` lists ``upgrade``; this module decides
whether the request is a *valid WebSocket* opening handshake and builds the 101 answer.

Three steps, because the ASGI application sits between them:

1. :func:`parse_offer` checks §4.2.1 and extracts what the application and the
   extension negotiation need (key, subprotocols, extension offers). A bad handshake
   raises :class:`HandshakeError` carrying the status: 426 with
   ``Sec-WebSocket-Version: 13`` for a version we do not speak (§4.2.2, §4.4), 400 for
   everything else (§4.2.1: "return an HTTP response with an appropriate error code
   (such as 400 Bad Request)"). The application never sees such a request.
2. The application answers ``websocket.accept`` (with perhaps a subprotocol and
   headers) or ``websocket.close``; the shell negotiates permessage-deflate
   (``deflate.negotiate_deflate``) on the offers.
3. :func:`accept_response` renders the ``101 Switching Protocols`` response (§4.2.2
   step 5), refusing application headers that could break the response and dropping
   those that would contradict the handshake.

Strictness: the key must be the canonical base64 of exactly 16 bytes, list headers must
follow their ABNF (§4.3, §9.1, with RFC 9110 §5.6.1's list rules: empty elements are
ignored, OWS around commas allowed). A header that is syntactically broken is a 400, not
something to guess around: a client that cannot spell its offer cannot be trusted to
speak the protocol it offers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from ..http11.grammar import QUOTED_STRING_TEXT, TOKEN_TEXT, check_fields, split_list

#: RFC 6455 §1.3: the GUID concatenated to the key.
GUID: Final = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#: The only version we speak (RFC 6455 §4.1, §11.6).
VERSION: Final = b"13"

_UNESCAPE: Final = re.compile(r"\\(.)", re.DOTALL)
#: RFC 4648 §4 base64 of 16 bytes: 22 characters then "==".
_KEY: Final = re.compile(rb"[A-Za-z0-9+/]{22}==")

#: Response headers the handshake owns; the application's copies are dropped
#: (RFC 6455 §4.2.2 step 5 defines them; a second Sec-WebSocket-Accept or Upgrade
#: would make the client fail the connection).
_HANDSHAKE_FIELDS: Final = frozenset((
    b"upgrade", b"connection", b"sec-websocket-accept", b"sec-websocket-protocol",
    b"sec-websocket-extensions",
))

_Params = list[tuple[str, str | None]]


class HandshakeError(Exception):
    """The upgrade request is not a valid opening handshake (RFC 6455 §4.2.1)."""

    def __init__(self, status: int, reason: str,
                 headers: list[tuple[bytes, bytes]] | None = None) -> None:
        super().__init__(f"{status}: {reason}")
        #: 400, or 426 for a bad or missing Sec-WebSocket-Version.
        self.status = status
        #: Short human text, e.g. "missing Sec-WebSocket-Key".
        self.reason = reason
        #: Extra response headers (``sec-websocket-version: 13`` with a 426).
        self.headers: list[tuple[bytes, bytes]] = headers if headers is not None else []


def is_websocket_upgrade(upgrade: bytes | None) -> bool:
    """Whether the Upgrade header value lists the ``websocket`` protocol (RFC 6455 §4.2.1
    item 3: "treated as an ASCII case-insensitive value"; RFC 9110 §7.8: a list)."""
    if not upgrade:
        return False
    return any(item.lower() == b"websocket" for item in split_list(upgrade))


@dataclass(slots=True)
class WebSocketOffer:
    """What a valid opening handshake asks for."""

    #: Sec-WebSocket-Key value as sent.
    key: bytes
    #: Sec-WebSocket-Protocol tokens in the client's order of preference (§4.2.1 item 8),
    #: all header lines merged.
    subprotocols: list[str] = field(default_factory=list)
    #: Sec-WebSocket-Extensions offers in order (§9.1): (name lowercased,
    #: [(parameter lowercased, value or None)]), quoted-string values unquoted.
    extensions: list[tuple[str, _Params]] = field(default_factory=list)


def _skip_ows(text: str, pos: int) -> int:
    """The position after any SP/HTAB at ``pos`` (OWS, RFC 9110 §5.6.3)."""
    end = len(text)
    while pos < end and text[pos] in " \t":
        pos += 1
    return pos


def _parse_extensions(text: str) -> list[tuple[str, _Params]]:
    """Parse one Sec-WebSocket-Extensions line (RFC 6455 §9.1 ABNF, implied LWS):

        extension-list = 1#extension
        extension = extension-token *( ";" extension-param )
        extension-param = token [ "=" (token | quoted-string) ]

    Raises ValueError on a syntax error.
    """
    out: list[tuple[str, _Params]] = []
    pos = _skip_ows(text, 0)
    end = len(text)
    while pos < end:
        if text[pos] == ",":  # an empty list element (RFC 9110 §5.6.1)
            pos = _skip_ows(text, pos + 1)
            continue
        m = TOKEN_TEXT.match(text, pos)
        if m is None:
            raise ValueError(f"expected an extension name at {pos}")
        name = m.group().lower()
        params: _Params = []
        pos = _skip_ows(text, m.end())
        while pos < end and text[pos] == ";":
            pos = _skip_ows(text, pos + 1)
            m = TOKEN_TEXT.match(text, pos)
            if m is None:
                raise ValueError(f"expected a parameter name at {pos}")
            pname = m.group().lower()
            pos = _skip_ows(text, m.end())
            value: str | None = None
            if pos < end and text[pos] == "=":
                pos = _skip_ows(text, pos + 1)
                m = TOKEN_TEXT.match(text, pos)
                if m is not None:
                    value = m.group()
                else:
                    q = QUOTED_STRING_TEXT.match(text, pos)
                    if q is None:
                        raise ValueError(f"expected a token or quoted-string at {pos}")
                    value = _UNESCAPE.sub(r"\1", q.group(1))
                    # §9.1: "the value after quoted-string unescaping MUST conform to
                    # the 'token' ABNF".
                    if TOKEN_TEXT.fullmatch(value) is None:
                        raise ValueError(f"quoted parameter value {value!r} is not a token")
                    m = q
                pos = _skip_ows(text, m.end())
            params.append((pname, value))
        out.append((name, params))
        if pos < end:
            if text[pos] != ",":
                raise ValueError(f"expected ',' or ';' at {pos}")
            pos = _skip_ows(text, pos + 1)
    return out


def _bad(reason: str) -> HandshakeError:
    return HandshakeError(400, reason)


def parse_offer(method: bytes, http_version: bytes,
                headers: list[tuple[bytes, bytes]]) -> WebSocketOffer:
    """Check an upgrade request against RFC 6455 §4.2.1 and return what it offers.

    ``headers`` as the HTTP/1.1 parser gives them: names lowercased, values trimmed,
    order and duplicates kept. Raises :class:`HandshakeError`.
    """
    # §4.2.1 item 1: "An HTTP/1.1 or higher GET request".
    if method != b"GET":
        raise _bad("the opening handshake must be a GET request")
    if http_version != b"1.1":
        raise _bad("the opening handshake requires HTTP/1.1")
    host = False
    upgrade: list[bytes] = []
    connection: list[bytes] = []
    keys: list[bytes] = []
    versions: list[bytes] = []
    protocols: list[bytes] = []
    extensions: list[bytes] = []
    for name, value in headers:
        if name[:4] == b"sec-":
            if name == b"sec-websocket-key":
                keys.append(value)
            elif name == b"sec-websocket-version":
                versions.append(value)
            elif name == b"sec-websocket-protocol":
                protocols.append(value)
            elif name == b"sec-websocket-extensions":
                extensions.append(value)
        elif name == b"host":
            host = True
        elif name == b"upgrade":
            upgrade.append(value)
        elif name == b"connection":
            connection.append(value)
    # Item 2.
    if not host:
        raise _bad("missing Host")
    # Items 3 and 4 (the shell checks them too, before calling us; a direct caller may not).
    if not is_websocket_upgrade(b",".join(upgrade)):
        raise _bad("Upgrade does not list websocket")
    if not any(item.lower() == b"upgrade" for item in split_list(b",".join(connection))):
        raise _bad("Connection does not list upgrade")
    # Item 6 and §4.2.2 /version/: an unknown version is a 426 with the versions we speak.
    if versions != [VERSION]:
        reason = ("missing Sec-WebSocket-Version" if not versions
                  else "unsupported Sec-WebSocket-Version "
                  + ", ".join(v.decode("latin-1") for v in versions))
        raise HandshakeError(426, reason, [(b"sec-websocket-version", VERSION)])
    # Item 5: base64 of exactly 16 bytes; one field, since a list would not be a key.
    if not keys:
        raise _bad("missing Sec-WebSocket-Key")
    if len(keys) > 1:
        raise _bad("more than one Sec-WebSocket-Key")
    key = keys[0]
    if _KEY.fullmatch(key) is None:
        raise _bad("Sec-WebSocket-Key is not the base64 of 16 bytes")
    try:
        raw = base64.b64decode(key, validate=True)
    except binascii.Error as exc:  # pragma: no cover - the regex rules this out
        raise _bad("Sec-WebSocket-Key is not valid base64") from exc
    if base64.b64encode(raw) != key:
        # Non-zero padding bits: decodable, but not what any encoder produces.
        raise _bad("Sec-WebSocket-Key is not canonical base64")
    subprotocols, offers = _protocols_and_extensions(protocols, extensions)
    return WebSocketOffer(key=key, subprotocols=subprotocols, extensions=offers)


def parse_h2_offer(headers: list[tuple[bytes, bytes]]) -> WebSocketOffer:
    """The opening handshake of RFC 8441 §4-5 (an extended CONNECT with ``:protocol``
    websocket, already checked by the HTTP/2 layer): the request carries no
    Sec-WebSocket-Key, Upgrade or Connection; Sec-WebSocket-Version, -Protocol and
    -Extensions mean what they mean on HTTP/1.1 (§5.1). Raises :class:`HandshakeError`."""
    versions: list[bytes] = []
    protocols: list[bytes] = []
    extensions: list[bytes] = []
    for name, value in headers:
        if name == b"sec-websocket-version":
            versions.append(value)
        elif name == b"sec-websocket-protocol":
            protocols.append(value)
        elif name == b"sec-websocket-extensions":
            extensions.append(value)
    if versions != [VERSION]:
        raise HandshakeError(426 if versions else 400, "Sec-WebSocket-Version is not 13",
                             [(b"sec-websocket-version", VERSION)])
    subprotocols, offers = _protocols_and_extensions(protocols, extensions)
    return WebSocketOffer(key=b"", subprotocols=subprotocols, extensions=offers)


def _protocols_and_extensions(protocols: list[bytes], extensions: list[bytes],
                              ) -> tuple[list[str], list[tuple[str, _Params]]]:
    """Sec-WebSocket-Protocol and -Extensions of an offer, parsed (§4.2.1 items 8-9)."""
    # Item 8: Sec-WebSocket-Protocol-Client = 1#token (§4.3).
    subprotocols: list[str] = []
    for value in protocols:
        for item in split_list(value):
            text = item.decode("latin-1")
            if TOKEN_TEXT.fullmatch(text) is None:
                raise _bad(f"invalid subprotocol {text!r} in Sec-WebSocket-Protocol")
            subprotocols.append(text)
    # Item 9 and §9.1.
    offers: list[tuple[str, _Params]] = []
    for value in extensions:
        try:
            offers.extend(_parse_extensions(value.decode("latin-1")))
        except ValueError as exc:
            raise _bad(f"malformed Sec-WebSocket-Extensions: {exc}") from None
    return subprotocols, offers


def accept_value(key: bytes) -> bytes:
    """``Sec-WebSocket-Accept`` for ``key`` (RFC 6455 §4.2.2 step 5.4): the base64 of the
    SHA-1 of the key, as sent, followed by the GUID."""
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


def accept_response(
    key: bytes,
    *,
    subprotocol: str | None,
    headers: Iterable[tuple[bytes, bytes]],
    extension: bytes | None,
    server_header: bytes | None,
    date: bytes | None,
) -> bytes:
    """The whole ``101 Switching Protocols`` response (RFC 6455 §4.2.2 step 5).

    ``headers`` are the application's (the ASGI ``websocket.accept`` event's): a sequence
    of [name, value] byte-string pairs, validated like any response header (ValueError
    on a non-bytes item, a name that is not a token, a control character in a value).
    Those that would contradict the handshake are dropped. ``server_header`` and
    ``date`` are values; they are left out when the application set the same field.
    """
    if subprotocol is not None and (
            type(subprotocol) is not str or TOKEN_TEXT.fullmatch(subprotocol) is None):
        # §4.3: Sec-WebSocket-Protocol-Server = token.
        raise ValueError(f"subprotocol must be a token, got {subprotocol!r}")
    raw: object = headers
    if isinstance(raw, str | bytes):
        raise ValueError("headers must be a sequence of [name, value] pairs")
    # LocalProtocolError is a ValueError: the shell lets it surface from send().
    fields = check_fields(headers, "header")
    lines = [
        b"HTTP/1.1 101 Switching Protocols\r\n"
        b"Upgrade: websocket\r\n"
        b"Connection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept_value(key) + b"\r\n"
    ]
    if subprotocol is not None:
        lines.append(b"Sec-WebSocket-Protocol: " + subprotocol.encode("ascii") + b"\r\n")
    if extension:
        lines.append(b"Sec-WebSocket-Extensions: " + extension + b"\r\n")
    names = {name.lower() for name, _ in fields}
    lines.extend(name + b": " + value + b"\r\n" for name, value in fields
                 if name.lower() not in _HANDSHAKE_FIELDS)
    if server_header is not None and b"server" not in names:
        lines.append(b"server: " + server_header + b"\r\n")
    if date is not None and b"date" not in names:
        lines.append(b"date: " + date + b"\r\n")
    lines.append(b"\r\n")
    return b"".join(lines)
