"""Header fields over HTTP/2: the request's checked (RFC 9113 §8.2, §8.3), the response's
encoded (RFC 7541).

**Requests.** The ``hpack`` library decodes the block (the dynamic table, Huffman); what
the block *means* is checked here, once, for every stream: field names lowercase and free
of separators, values free of NUL/CR/LF and outer whitespace (§8.2.1), no
connection-specific field (§8.2.2), the pseudo-header fields first, known, single and
complete (§8.3.1), the extended CONNECT of RFC 8441 §4. A violation makes the request
*malformed*, a stream error of type PROTOCOL_ERROR (§8.1.1): :class:`Malformed`.

**Responses.** We encode without the dynamic table: every field is a "literal header
field without indexing" (RFC 7541 §6.2.2), its name taken from the static table when it
is there, ``:status`` fully indexed for the seven statuses the static table has. Such a
block depends on no state, so the same response head always encodes to the same bytes and
is cached (applications send the same few heads); it never needs a table size update
either, whatever SETTINGS_HEADER_TABLE_SIZE the client sets. What it costs, a few bytes
per field against a warm dynamic table, buys a hot path of one dictionary lookup.
"""

from __future__ import annotations

import re
from typing import Any, Final

from ..http11.errors import LocalProtocolError
from ..http11.grammar import TCHAR, TOKEN, check_fields

#: RFC 7541 Appendix A: the static table's names (first index of each) and the fully
#: indexed ``:status`` values.
_STATIC_NAMES: Final = {
    b":authority": 1, b":method": 2, b":path": 4, b":scheme": 6, b":status": 8,
    b"accept-charset": 15, b"accept-encoding": 16, b"accept-language": 17,
    b"accept-ranges": 18, b"accept": 19, b"access-control-allow-origin": 20, b"age": 21,
    b"allow": 22, b"authorization": 23, b"cache-control": 24, b"content-disposition": 25,
    b"content-encoding": 26, b"content-language": 27, b"content-length": 28,
    b"content-location": 29, b"content-range": 30, b"content-type": 31, b"cookie": 32,
    b"date": 33, b"etag": 34, b"expect": 35, b"expires": 36, b"from": 37, b"host": 38,
    b"if-match": 39, b"if-modified-since": 40, b"if-none-match": 41, b"if-range": 42,
    b"if-unmodified-since": 43, b"last-modified": 44, b"link": 45, b"location": 46,
    b"max-forwards": 47, b"proxy-authenticate": 48, b"proxy-authorization": 49,
    b"range": 50, b"referer": 51, b"refresh": 52, b"retry-after": 53, b"server": 54,
    b"set-cookie": 55, b"strict-transport-security": 56, b"transfer-encoding": 57,
    b"user-agent": 58, b"vary": 59, b"via": 60, b"www-authenticate": 61,
}
_STATIC_STATUS: Final = {200: 8, 204: 9, 206: 10, 304: 11, 400: 12, 404: 13, 500: 14}

#: §8.2.2: fields that are about one HTTP/1.1 connection; an h2 message carrying one is
#: malformed, and an application's are dropped from a response.
CONNECTION_SPECIFIC: Final = frozenset(
    (b"connection", b"proxy-connection", b"keep-alive", b"transfer-encoding", b"upgrade"))
#: §8.2.1: a field name is lowercase, with none of 0x00-0x20, 0x41-0x5a, 0x7f-0xff; a
#: colon only as a pseudo-header's first character. (And it is a token: RFC 9110 §5.1.)
_NAME: Final = re.compile(("[" + TCHAR.replace("A-Za-z", "a-z") + "]+").encode("ascii"))
#: §8.2.1: a value has no NUL, CR or LF, and no leading or trailing SP or HTAB.
_BAD_VALUE: Final = re.compile(rb"[\x00\r\n]|^[ \t]|[ \t]$")
_REQUEST_PSEUDO: Final = frozenset((b":method", b":scheme", b":authority", b":path",
                                    b":protocol"))


class Malformed(Exception):
    """The request is malformed (RFC 9113 §8.1.1): a stream error, PROTOCOL_ERROR."""


def _int(value: int, prefix: int, first: int) -> bytes:
    """RFC 7541 §5.1 integer with a ``prefix``-bit prefix, ``first`` the pattern bits."""
    limit = (1 << prefix) - 1
    if value < limit:
        return bytes((first | value,))
    out = bytearray((first | limit,))
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _literal(name: bytes, value: bytes) -> bytes:
    """A literal header field without indexing (§6.2.2), raw (not Huffman) strings."""
    index = _STATIC_NAMES.get(name)
    head = _int(index, 4, 0) if index else b"\x00" + _int(len(name), 7, 0) + name
    return head + _int(len(value), 7, 0) + value


def modifies_table(block: bytes) -> bool:
    """Whether decoding ``block`` may change the HPACK dynamic table (RFC 7541 §6): it
    holds a literal with incremental indexing (``01xxxxxx``) or a table size update
    (``001xxxxx``), or it cannot be walked (the decoder will say what is wrong)."""
    pos = 0
    end = len(block)
    try:
        while pos < end:
            first = block[pos]
            if first & 0x80:  # indexed field: a 7-bit prefix integer
                pos = _skip_int(block, pos, 0x7F)
            elif first & 0xE0:  # 01xxxxxx or 001xxxxx
                return True
            else:  # literal without indexing or never indexed: 4-bit prefix index
                index = first & 0x0F
                pos = _skip_int(block, pos, 0x0F)
                if index == 0:
                    pos = _skip_string(block, pos)
                pos = _skip_string(block, pos)
    except IndexError:
        return True
    return pos != end


def _skip_int(block: bytes, pos: int, mask: int) -> int:
    """The position after the integer whose prefix (``mask`` bits) starts at ``pos``."""
    if block[pos] & mask != mask:
        return pos + 1
    pos += 1
    while block[pos] & 0x80:
        pos += 1
    return pos + 1


def _skip_string(block: bytes, pos: int) -> int:
    """The position after the string literal (§5.2) at ``pos``."""
    length = block[pos] & 0x7F
    if length == 0x7F:
        value, shift = 0x7F, 0
        pos += 1
        while True:
            byte = block[pos]
            value += (byte & 0x7F) << shift
            shift += 7
            pos += 1
            if not byte & 0x80:
                break
        return pos + value
    return pos + 1 + length


def status_field(status: int) -> bytes:
    index = _STATIC_STATUS.get(status)
    if index is not None:
        return bytes((0x80 | index,))
    return _literal(b":status", str(status).encode("ascii"))


def encode(fields: list[tuple[bytes, bytes]]) -> bytes:
    """Regular fields (names already lowercase) as a header block fragment."""
    return b"".join([_literal(name, value) for name, value in fields])


class ResponseHead:
    """An application's ``http.response.start`` checked and encoded for HTTP/2: the block
    (``:status`` and the fields we send), the declared Content-Length, and whether the app
    set Date and Server itself."""

    __slots__ = ("block", "content_length", "has_date", "has_server")

    def __init__(self, block: bytes, content_length: int | None, has_date: bool,
                 has_server: bool) -> None:
        self.block = block
        self.content_length = content_length
        self.has_date = has_date
        self.has_server = has_server


_HEAD_CACHE: dict[tuple[int, tuple[Any, ...]], ResponseHead] = {}
_HEAD_CACHE_MAX: Final = 512
_HEAD_CACHE_FIELDS: Final = 16


def response_head(status: int, headers: Any) -> ResponseHead:
    # The cache lookup is the HTTP/1.1 writer's (http11.response._app_head), written out
    # in both: a shared helper costs each response a call (≈ 1 % of a hello-world
    # request, counted with bench.instructions).
    """Check and encode an application's response head (the HTTP/1.1 writer's rules:
    :func:`~reference_server.http11.grammar.check_fields`), with HTTP/2's own: names
    lowercased (§8.2.1), connection-specific fields dropped (§8.2.2), no Content-Length on
    a 204 (RFC 9110 §8.6). Raises LocalProtocolError (a ValueError) for invalid input."""
    key = None
    if type(headers) is list and len(headers) <= _HEAD_CACHE_FIELDS:
        try:
            key = (status, tuple(headers))
            cached = _HEAD_CACHE.get(key)
        except TypeError:  # [name, value] lists are valid ASGI but not hashable
            key = cached = None
        if cached is not None:
            return cached
    fields = check_fields(headers, "header")
    out = [status_field(status)]
    content_length: int | None = None
    has_date = has_server = False
    for name, value in fields:
        name = name.lower()
        if name in CONNECTION_SPECIFIC or (name == b"te" and value.lower() != b"trailers"):
            continue
        if name == b"content-length":
            if not value.isdigit() or (content_length is not None
                                       and int(value) != content_length):
                raise LocalProtocolError(f"invalid content-length {value!r}")
            if content_length is not None:
                continue
            content_length = int(value)
            if status == 204:
                continue
        elif name == b"date":
            has_date = True
        elif name == b"server":
            has_server = True
        out.append(_literal(name, value))
    head = ResponseHead(b"".join(out), content_length, has_date, has_server)
    if key is not None and len(_HEAD_CACHE) < _HEAD_CACHE_MAX:
        _HEAD_CACHE[key] = head
    return head


def trailer_block(headers: Any) -> bytes:
    """``http.response.trailers`` fields as a block (no pseudo-header, §8.1)."""
    fields = check_fields(headers, "trailer")
    return encode([(name.lower(), value) for name, value in fields
                   if name.lower() not in CONNECTION_SPECIFIC])


class RequestHead:
    """A request's header section, checked: the pseudo-header fields, and the regular
    fields as the ASGI scope carries them (www.rst: ``:authority`` as ``host``, first
    when there was no Host field; Cookie fields kept apart)."""

    __slots__ = ("authority", "content_length", "expect_continue", "fields", "method",
                 "path", "protocol", "scheme", "te_trailers")

    def __init__(self) -> None:
        self.method = b""
        self.scheme = b""
        self.authority: bytes | None = None
        self.path = b""
        self.protocol: bytes | None = None
        self.fields: list[tuple[bytes, bytes]] = []
        self.content_length: int | None = None
        self.te_trailers = False
        self.expect_continue = False

    def copy(self) -> RequestHead:
        """A copy with its own ``fields`` list (the scope's, which the app may change)."""
        head = RequestHead()
        head.method = self.method
        head.scheme = self.scheme
        head.authority = self.authority
        head.path = self.path
        head.protocol = self.protocol
        head.fields = list(self.fields)
        head.content_length = self.content_length
        head.te_trailers = self.te_trailers
        head.expect_continue = self.expect_continue
        return head


def request_head(block: list[tuple[bytes, bytes]], connect_protocol: bool) -> RequestHead:
    """RFC 9113 §8.2 and §8.3.1 (and RFC 8441 §4 when ``connect_protocol``) for a decoded
    request block. Raises :class:`Malformed`."""
    head = RequestHead()
    fields = head.fields
    seen: set[bytes] = set()
    regular = False
    host: bytes | None = None
    for name, value in block:
        if _BAD_VALUE.search(value) is not None:
            raise Malformed(f"invalid value for {name.decode('latin-1')!r}")
        if name[:1] == b":":
            if regular:
                raise Malformed("a pseudo-header field after a regular field")
            if name not in _REQUEST_PSEUDO or (name == b":protocol" and not connect_protocol):
                raise Malformed(f"unknown pseudo-header field {name.decode('latin-1')!r}")
            if name in seen:
                raise Malformed(f"{name.decode('latin-1')} twice")
            seen.add(name)
            if name == b":method":
                head.method = value
            elif name == b":path":
                head.path = value
            elif name == b":scheme":
                head.scheme = value
            elif name == b":authority":
                head.authority = value
            else:
                head.protocol = value
            continue
        regular = True
        if _NAME.fullmatch(name) is None:
            raise Malformed(f"invalid field name {name!r}")
        if name in CONNECTION_SPECIFIC:
            raise Malformed(f"connection-specific field {name.decode('latin-1')!r}")
        if name == b"te":
            if value.lower() != b"trailers":
                raise Malformed("te other than 'trailers'")
            head.te_trailers = True
        elif name == b"content-length":
            # RFC 9110 §8.6 as over HTTP/1.1 (http11.head.parse_content_length): digits,
            # once; a repeated field, even of an equal value, is refused (a MAY).
            if not value.isdigit() or head.content_length is not None:
                raise Malformed("invalid or repeated content-length")
            head.content_length = int(value)
        elif name == b"host":
            if host is not None:
                raise Malformed("two host fields")
            host = value
        elif name == b"expect" and value.lower() == b"100-continue":
            head.expect_continue = True
        fields.append((name, value))
    method = head.method
    if not method:
        raise Malformed("no :method")
    if TOKEN.fullmatch(method) is None:
        raise Malformed(":method is not a token")  # RFC 9110 §9.1: method = token
    if method == b"CONNECT" and head.protocol is None:
        # §8.5: only :method and :authority.
        if head.scheme or head.path or b":path" in seen or b":scheme" in seen:
            raise Malformed("CONNECT with :scheme or :path")
        if not head.authority:
            raise Malformed("CONNECT without :authority")
    else:
        if head.protocol is not None and method != b"CONNECT":
            raise Malformed(":protocol on a request that is not CONNECT")
        if not head.scheme:
            raise Malformed("no :scheme")
        if not head.path:
            raise Malformed("no :path (or an empty one)")
        if head.path[:1] != b"/" and not (head.path == b"*" and method == b"OPTIONS"):
            raise Malformed(":path is not origin-form")
        if head.protocol is not None and head.authority is None:
            raise Malformed("extended CONNECT without :authority")
    authority = head.authority
    if authority is not None:
        if host is None:
            fields.insert(0, (b"host", authority))
        elif host != authority:
            # §8.3.1: a Host that disagrees with :authority; SHOULD be malformed.
            raise Malformed("host differs from :authority")
    return head
