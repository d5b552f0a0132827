"""The HTTP grammar, written once (RFC 9110 §5, RFC 9112), as h11 keeps its ``_abnf.py``.

The request parser, the response writer and the WebSocket handshake all read and write
HTTP fields; each used to carry its own copy of the token rule and the control-character
check, and copies drift. Everything here is a compiled pattern, a translate table or a
small pure function, so importing it costs nothing on the hot path and an HTTP/2 layer
can use the same definitions.

Why translate tables and not only regular expressions: ``data.translate(None, KEEP)``
deletes every byte in ``KEEP`` in one C loop, so "does this head contain a control
character" is one call that scans the bytes once; Python's ``re`` is several times slower
per byte on a whole head.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

from .errors import LocalProtocolError

# --- tokens and quoted strings (RFC 9110 §5.6.2, §5.6.4) -------------------------------------

#: tchar, as the inside of a character class (the same text serves bytes and str patterns).
TCHAR: Final = r"!#$%&'*+\-.^_`|~0-9A-Za-z"
#: token = 1*tchar (bytes): field names, methods, transfer codings, chunk extensions.
TOKEN: Final = re.compile(("[" + TCHAR + "]+").encode("ascii"))
#: The same token rule over str (WebSocket subprotocols and extension parameters, which
#: the handshake reads as latin-1 text).
TOKEN_TEXT: Final = re.compile("[" + TCHAR + "]+")
#: quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE, with qdtext = HTAB / SP /
#: %x21 / %x23-5B / %x5D-7E / obs-text and quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ).
_QDTEXT: Final = r"\t \x21\x23-\x5b\x5d-\x7e\x80-\xff"
_QUOTED_PAIR: Final = r"\\[\t \x21-\x7e\x80-\xff]"
QUOTED_STRING: Final = re.compile(f'"(?:[{_QDTEXT}]|{_QUOTED_PAIR})*"'.encode("latin-1"))
#: The quoted-string over str, its content captured (group 1) for unescaping.
QUOTED_STRING_TEXT: Final = re.compile(f'"((?:[{_QDTEXT}]|{_QUOTED_PAIR})*)"')

# --- control characters (RFC 9110 §5.5, RFC 9112 §2.2) ---------------------------------------

#: Every control character but HTAB (RFC 9110 §5.5: NUL, CR and LF MUST be rejected in
#: field values; the other CTLs are not field-content either). In a received head CR and
#: LF may appear only as the CRLF that ends each line.
_CTL_NO_HTAB: Final = bytes([*range(0x00, 0x09), *range(0x0A, 0x20), 0x7F])
#: ``section.translate(None, NOT_CTL)`` keeps only the control characters but HTAB: for
#: a section of ``n`` CRLF-separated lines that must be exactly ``b"\r\n" * (n - 1)``.
NOT_CTL: Final = bytes(b for b in range(256) if b not in _CTL_NO_HTAB)


def bad_field_value(value: bytes) -> bool:
    """Whether ``value`` holds a byte no field value may carry on the wire (any control
    character but HTAB: CR, LF and NUL would be response splitting)."""
    return bool(value.translate(None, NOT_CTL))


# --- lists (RFC 9110 §5.6.1) ----------------------------------------------------------------


def split_list(value: bytes) -> list[bytes]:
    """The members of a comma-separated list, OWS stripped; empty members are dropped, as
    §5.6.1 asks of recipients."""
    return [item for item in (part.strip(b" \t") for part in value.split(b",")) if item]


def list_tokens(value: bytes) -> list[bytes]:
    """:func:`split_list`, lowercased: for lists of case-insensitive tokens (Connection,
    Transfer-Encoding, TE, Upgrade)."""
    return [item.lower() for item in split_list(value)]


# --- request-line and fields (RFC 9112 §3, §5, §7; RFC 9110 §7.2) ----------------------------

#: RFC 9112 §3.2 request-target: visible ASCII; a fragment ("#") is never sent (RFC 9110
#: §7.1). A "%" not starting a pct-encoded triplet is let through: browsers send
#: "/search?q=100%" as typed (WHATWG URL leaves it), it does not touch framing, and
#: query_string reaches the app raw anyway.
TARGET_CHARS: Final = re.compile(rb"[\x21\x22\x24-\x7e]+")
#: RFC 3986 §3.1 scheme followed by "://" (absolute-form with an authority).
ABSOLUTE: Final = re.compile(rb"[A-Za-z][A-Za-z0-9+\-.]*://")
#: RFC 9110 §7.2 Host = uri-host [ ":" port ]; uri-host is an IP-literal, an IPv4 address
#: or a reg-name (unreserved / pct-encoded / sub-delims). May be empty.
_REG_NAME: Final = rb"\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]"
HOST: Final = re.compile(rb"(?:" + _REG_NAME + rb"*)(?::[0-9]*)?")
#: RFC 9112 §3.2.3 authority-form (CONNECT): uri-host ":" port.
AUTHORITY_FORM: Final = re.compile(rb"(?:" + _REG_NAME + rb"+):[0-9]+")
#: RFC 9112 §2.3 HTTP-version = "HTTP" "/" DIGIT "." DIGIT.
VERSION: Final = re.compile(rb"HTTP/[0-9]\.[0-9]")
#: RFC 9112 §7.1.1 chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ),
#: chunk-ext-val = token / quoted-string.
CHUNK_EXT: Final = re.compile(
    rb"(?:[ \t]*;[ \t]*" + TOKEN.pattern
    + rb"(?:[ \t]*=[ \t]*(?:" + TOKEN.pattern + rb"|" + QUOTED_STRING.pattern + rb"))?)*"
)
#: chunk-size = 1*HEXDIG.
HEX: Final = re.compile(rb"[0-9A-Fa-f]+")

# --- fields we send ---------------------------------------------------------------------------

#: Field names an application sent before that passed the token check (applications send
#: the same few names on every response; bounded).
_VALID_NAMES: set[bytes] = set()
_VALID_NAMES_MAX: Final = 1024


def check_links(links: Any) -> list[bytes]:
    """The ``links`` of an ``http.response.early_hint`` event (extensions.rst): byte
    strings that can go on the wire as Link field values. Raises LocalProtocolError."""
    try:
        items = list(links)
    except TypeError as exc:
        raise LocalProtocolError("early hint links must be an iterable of bytes") from exc
    for link in items:
        if type(link) is not bytes or bad_field_value(link):
            raise LocalProtocolError(f"invalid early hint link {link!r}")
    return items


def check_fields(headers: Iterable[Any] | None, what: str) -> list[tuple[bytes, bytes]]:
    """Validate an ASGI header iterable for the wire: [name, value] pairs of ``bytes``,
    a token name (RFC 9110 §5.1) and a value free of control characters but HTAB (§5.5).
    ``what`` names the fields in the error ("header", "trailer"). Raises
    :class:`LocalProtocolError` (a ValueError, so ``send()`` can let it surface)."""
    if headers is None:
        return []
    out: list[tuple[bytes, bytes]] = []
    try:
        for pair in headers:
            name, value = pair
            if type(name) is not bytes or type(value) is not bytes:
                raise LocalProtocolError(
                    f"{what} names and values must be bytes, got "
                    f"{type(name).__name__}/{type(value).__name__}")
            if name not in _VALID_NAMES:
                if TOKEN.fullmatch(name) is None:
                    raise LocalProtocolError(f"invalid {what} name {name!r}")
                if len(_VALID_NAMES) < _VALID_NAMES_MAX:
                    _VALID_NAMES.add(name)
            if bad_field_value(value):
                raise LocalProtocolError(f"invalid {what} value for {name!r}: {value!r}")
            out.append((name, value))
    except (TypeError, ValueError) as exc:
        if isinstance(exc, LocalProtocolError):
            raise
        raise LocalProtocolError(f"{what} must be an iterable of [name, value] pairs") from exc
    return out
