"""The parts of a request head, each checked on its own (RFC 9112 §3, §5, §6.1-§6.3).

:class:`~.parser.RequestParser` finds a head in the byte stream and runs the state
machine of a request; this module knows what the pieces of a head may look like: the
request-line and its target forms, field lines, and the two framing fields. Every
function raises :class:`~.errors.ProtocolError` with the status to answer.

Clients repeat themselves (the same field names, Host value and URLs on every request),
so field names, Host values and whole request-lines that passed every check are cached
here, process-wide and bounded; a cache hit skips the regular expressions.
"""

from __future__ import annotations

from typing import Final

from .errors import ProtocolError
from .grammar import (
    ABSOLUTE,
    AUTHORITY_FORM,
    HOST,
    NOT_CTL,
    TARGET_CHARS,
    TOKEN,
    VERSION,
)

_COMMON_METHODS: Final = frozenset(
    (b"GET", b"POST", b"PUT", b"DELETE", b"HEAD", b"OPTIONS", b"PATCH")
)
#: The fields the parser itself interprets (framing, connection, expectations).
_FRAMING_FIELDS: Final = frozenset((
    b"host", b"content-length", b"transfer-encoding", b"connection", b"expect",
    b"upgrade", b"te",
))
#: Fields a server acts on besides framing (proxy headers): collected with the framing
#: fields into :attr:`Request.notable`, so a server need not scan every field again.
NOTABLE_FIELDS: Final = _FRAMING_FIELDS | {b"x-forwarded-for", b"x-forwarded-proto"}

#: Content-Length values are bounded so int() never sees absurd input.
_MAX_CL_DIGITS: Final = 18

# Caches of validated input (module docstring).
_CACHE_MAX: Final = 1024
#: Field-name spellings seen before, mapped to their lowercase form.
NAME_CACHE: dict[bytes, bytes] = {}
#: Host values seen before.
HOST_CACHE: set[bytes] = set()
#: Request-lines seen before: (method, target, version, raw_path, query, authority).
RequestLine = tuple[bytes, bytes, bytes, bytes, bytes, bytes | None]
LINE_CACHE: dict[bytes, RequestLine] = {}


def bad(reason: str) -> ProtocolError:
    return ProtocolError(400, reason)


def field_name(name: bytes, colon: bytes) -> bytes:
    """Validate a field name (RFC 9112 §5.1: a token followed by the colon, no
    whitespace between) and return it lowercased; the slow path of the name cache."""
    if not colon or not name:
        if name[:1] in (b" ", b"\t"):
            raise bad("obsolete line folding in the request head")
        raise bad("field line without a name and colon")
    if not TOKEN.fullmatch(name):
        if name[:1] in (b" ", b"\t"):
            raise bad("obsolete line folding in the request head")
        if name[-1:] in (b" ", b"\t"):
            raise bad("whitespace between a field name and the colon")
        raise bad("invalid field name")
    lower = name.lower()
    if len(NAME_CACHE) < _CACHE_MAX:
        NAME_CACHE[name] = lower
    return lower


def check_host(value: bytes) -> None:
    """RFC 9112 §3.2 / RFC 9110 §7.2: a Host value must be uri-host [":" port]."""
    if value not in HOST_CACHE:
        if not HOST.fullmatch(value):
            raise bad("invalid Host header")
        if len(HOST_CACHE) < _CACHE_MAX:
            HOST_CACHE.add(value)


def check_section(section: bytes, lines: list[bytes], what: str) -> None:
    """The byte-level rules of a head or a trailer section, split into ``lines`` on CRLF:
    every CR and LF must belong to a CRLF pair (RFC 9112 §2.2: a bare CR MUST be
    rejected; a bare LF is allowed to be, and is, here), and no control character may
    appear (RFC 9110 §5.5: NUL, CR and LF MUST be rejected; the other CTLs are not
    field-content either)."""
    pairs = len(lines) - 1
    # One pass keeps only the control characters: exactly the CRLFs between the lines.
    if section.translate(None, NOT_CTL) != b"\r\n" * pairs:
        if section.count(b"\n") != pairs or section.count(b"\r") != pairs:
            raise bad(f"bare CR or LF in the {what}")
        raise bad(f"control character in the {what}")


def parse_fields(lines: list[bytes],
                  notable: list[tuple[bytes, bytes]] | None) -> list[tuple[bytes, bytes]]:
    """Field lines → (lowercase name, value trimmed of SP/HTAB) in the client's order
    (RFC 9112 §5); the head's and the trailer section's one loop. With a ``notable``
    list, the fields a server acts on (:data:`NOTABLE_FIELDS`) are also appended to it,
    so nothing needs to scan every field again."""
    fields: list[tuple[bytes, bytes]] = []
    append = fields.append
    cached = NAME_CACHE.get
    for line in lines:
        name, colon, value = line.partition(b":")
        lower = cached(name)
        if lower is None or not colon:
            lower = field_name(name, colon)
        field = (lower, value.strip(b" \t"))
        append(field)
        if notable is not None and lower in NOTABLE_FIELDS:
            notable.append(field)
    return fields


def parse_request_line(line: bytes) -> RequestLine:
    """RFC 9112 §3: method SP request-target SP HTTP-version, each part checked;
    the result is cached (request-lines repeat: the same URLs are asked for again)."""
    parts = line.split(b" ")
    if len(parts) != 3:
        raise bad("request-line is not method SP target SP version")
    method, target, version = parts
    if method not in _COMMON_METHODS and not TOKEN.fullmatch(method):
        raise bad("invalid method")
    if version == b"HTTP/1.1":
        http_version = b"1.1"
    elif version == b"HTTP/1.0":
        http_version = b"1.0"
    elif VERSION.fullmatch(version):
        # RFC 9110 §2.5: a higher minor version of a major version we implement SHOULD be
        # processed as the highest minor version we conform to (HTTP/1.2 as 1.1); 505
        # (§15.6.6) is for a major version we do not implement.
        if version[5:6] != b"1":
            raise ProtocolError(505, "HTTP version not supported")
        http_version = b"1.1"
    else:
        raise bad("invalid HTTP version")
    raw_path, query_string, authority = split_target(method, target)
    result = (method, target, http_version, raw_path, query_string, authority)
    if len(LINE_CACHE) >= _CACHE_MAX:
        LINE_CACHE.clear()
    LINE_CACHE[line] = result
    return result


def split_target(method: bytes, target: bytes) -> tuple[bytes, bytes, bytes | None]:
    """Split a request-target into (raw_path, query_string, authority) by its form
    (RFC 9112 §3.2)."""
    if not TARGET_CHARS.fullmatch(target):
        raise bad("invalid character in the request-target")
    authority: bytes | None = None
    if target[0] == 47:  # "/": origin-form
        path = target
    elif target == b"*":  # asterisk-form, OPTIONS only (§3.2.4)
        if method != b"OPTIONS":
            raise bad("asterisk-form request-target is for OPTIONS only")
        return b"*", b"", None
    elif method == b"CONNECT":  # authority-form, CONNECT only (§3.2.3)
        if not AUTHORITY_FORM.fullmatch(target):
            raise bad("CONNECT needs an authority-form request-target")
        return b"", b"", target
    else:
        match = ABSOLUTE.match(target)
        if match is None:
            raise bad("request-target is not in origin or absolute form")
        rest = target[match.end():]
        cut = len(rest)
        for sep in (b"/", b"?"):
            index = rest.find(sep)
            if 0 <= index < cut:
                cut = index
        authority = rest[:cut]
        # RFC 9110 §4.2.1: an http(s) URI with an empty host MUST be rejected;
        # §4.2.4: userinfo is an error.
        if (not authority or authority[0] == 58 or b"@" in authority
                or not HOST.fullmatch(authority)):
            raise bad("invalid authority in an absolute-form request-target")
        path = rest[cut:]
        if not path or path[0] != 47:
            path = b"/" + path
    if method == b"CONNECT":
        raise bad("CONNECT needs an authority-form request-target")
    question = path.find(b"?")
    if question < 0:
        return path, b"", authority
    return path[:question], path[question + 1:], authority


def parse_content_length(value: bytes, previous: int | None) -> int:
    """RFC 9112 §6.3 item 5, RFC 9110 §8.6: Content-Length is 1*DIGIT; anything else is
    unrecoverable framing. A list of values or a repeated field, even of equal values, is
    refused too: §8.6 lets a recipient "either reject the message as invalid or replace
    that invalid field value with a single instance", and refusing is the reading under
    which no two parties on the path can frame the body differently."""
    if previous is not None:
        raise bad("Content-Length repeated")
    if not value.isdigit():  # bytes.isdigit() is ASCII digits only
        raise bad("Content-Length is a list" if b"," in value else "invalid Content-Length")
    if len(value.lstrip(b"0")) > _MAX_CL_DIGITS:
        raise bad("Content-Length too large")
    return int(value)


def chunked_coding(codings: list[bytes], content_length: int | None,
                   http_version: bytes) -> bool:
    """RFC 9112 §6.1 and §6.3: decide whether a Transfer-Encoding request is
    chunked, or why it is refused."""
    if content_length is not None:
        # §6.3 allows "process with chunked, then close"; refusing is stricter and
        # removes the smuggling ambiguity entirely (§11.2).
        raise bad("both Transfer-Encoding and Content-Length")
    if http_version == b"1.0":
        raise bad("Transfer-Encoding in an HTTP/1.0 request")
    if not codings or codings[-1] != b"chunked":
        raise bad("chunked is not the final transfer coding")
    if codings.count(b"chunked") > 1:
        raise bad("chunked applied more than once")
    if len(codings) > 1:
        raise ProtocolError(501, "unsupported transfer coding")
    return True
