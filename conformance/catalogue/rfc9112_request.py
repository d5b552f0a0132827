"""HTTP/1.1 request-parsing requirements (RFC 9112 §2-§5, with the RFC 9110 rules they
lean on): request-line, request-target forms, versions, Host, field syntax, limits.

IDs are ``RFC9112-<section>-<n>`` (or ``RFC9110-<section>-<n>``, ``RFC6585-<section>-<n>``),
as in ``rfc9112.py``: the n-th item we catalogue from that section.

Many of these rules are SHOULDs in the RFC: "respond with 400" for a message that does not
match the grammar is RFC 9112 §2.2's and §3's SHOULD, so a server that serves such a
request anyway is *non-strict*, not failed. The MUSTs are the ones the RFC spells out:
Host, whitespace before the colon, obs-fold, bare CR, CR/LF/NUL in values, absolute-form,
414 and the 4xx for oversized fields.
"""

from __future__ import annotations

from conformance.catalogue import MAY, MUST, RFC9110, RFC9112, SHOULD, WILL, Requirement

REQUIREMENTS: tuple[Requirement, ...] = (
    # --- RFC 9112 §2.2 Message Parsing ----------------------------------------------------
    Requirement(
        "RFC9112-2.2-1", MAY, RFC9112, "§2.2 Message Parsing",
        "a recipient MAY recognize a single LF as a line terminator and ignore any "
        "preceding CR.",
        "Bare LF line ends are either read as CRLF (the request served as sent) or the "
        "request is rejected with 400; never misread.",
    ),
    Requirement(
        "RFC9112-2.2-2", MUST, RFC9112, "§2.2 Message Parsing",
        "A recipient of such a bare CR MUST consider that element to be invalid or replace "
        "each bare CR with SP before processing the element",
        "A bare CR in the request-line or a field line gets the request rejected, or is "
        "turned into SP: the app never sees a CR.",
    ),
    Requirement(
        "RFC9112-2.2-3", SHOULD, RFC9112, "§2.2 Message Parsing",
        "a server that is expecting to receive and parse a request-line SHOULD ignore at "
        "least one empty line (CRLF) received prior to the request-line.",
        "An empty line before a request-line (first on a connection, or after a POST body) "
        "is skipped and the request served.",
    ),
    Requirement(
        "RFC9112-2.2-4", MUST, RFC9112, "§2.2 Message Parsing",
        "A recipient that receives whitespace between the start-line and the first header "
        "field MUST either reject the message as invalid or consume each "
        "whitespace-preceded line",
        "A whitespace-led line right after the request-line is rejected or ignored whole; "
        "it never becomes a field the app sees.",
    ),
    Requirement(
        "RFC9112-2.2-5", SHOULD, RFC9112, "§2.2 Message Parsing",
        "the server SHOULD respond with a 400 (Bad Request) response and close the "
        "connection.",
        "A request that does not match the HTTP/1.1 grammar (a field name that is no "
        "token, a line without colon) gets 400 and a closed connection.",
    ),
    Requirement(
        "RFC9112-2.2-6", MUST, RFC9112, "§2.2 Message Parsing",
        "A recipient MUST parse an HTTP message as a sequence of octets in an encoding "
        "that is a superset of US-ASCII",
        "The message is the sequence of octets, not the reads TCP delivered it in: a valid "
        "request is served the same however it was cut, and a CRLF split between two reads "
        "is a line end, not a bare LF.",
    ),
    # --- RFC 9112 §2.3 HTTP Version ---------------------------------------------------------
    Requirement(
        "RFC9112-2.3-1", SHOULD, RFC9112, "§2.3 HTTP Version",
        'HTTP-version = HTTP-name "/" DIGIT "." DIGIT; HTTP-name = %s"HTTP". '
        "HTTP-version is case-sensitive.",
        "A version that is not exactly HTTP/DIGIT.DIGIT (http/1.1, HTTP/1, HTTP/01.1, "
        "HTTP/1.10, none) makes the request invalid: 400, never served.",
    ),
    # --- RFC 9112 §3 Request Line -----------------------------------------------------------
    Requirement(
        "RFC9112-3-1", MAY, RFC9112, "§3 Request Line",
        "recipients MAY instead parse on whitespace-delimited word boundaries and, aside "
        "from the CRLF terminator, treat any form of whitespace as the SP separator",
        "Separators other than one SP (double SP, leading or trailing SP, HTAB, VT) are "
        "rejected with 400 or, leniently, parsed on word boundaries; never misread.",
    ),
    Requirement(
        "RFC9112-3-2", MUST, RFC9112, "§3 Request Line",
        "A server that receives a request-target longer than any URI it wishes to parse "
        "MUST respond with a 414 (URI Too Long) status code",
        "A 96 KiB request-target is either served whole or refused with 414; not 400, 431 "
        "or a silent close.",
    ),
    Requirement(
        "RFC9112-3-3", SHOULD, RFC9112, "§3 Request Line",
        "Recipients of an invalid request-line SHOULD respond with either a 400 (Bad "
        "Request) error or a 301 (Moved Permanently) redirect",
        "A method that is no token, or a target with whitespace, controls, non-ASCII or "
        "other bytes URIs exclude, gets 400 (or 301) and never reaches the app.",
    ),
    # --- RFC 9112 §3.2 Request Target and Host ----------------------------------------------
    Requirement(
        "RFC9112-3.2-1", MUST, RFC9112, "§3.2 Request Target",
        "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1 request "
        "message that lacks a Host header field",
        "An HTTP/1.1 request without Host gets 400 and never reaches the app.",
    ),
    Requirement(
        "RFC9112-3.2-2", MUST, RFC9112, "§3.2 Request Target",
        "A server MUST respond with a 400 (Bad Request) status code ... to any request "
        "message that contains more than one Host header field line",
        "A request (HTTP/1.1 or 1.0) with two Host lines, equal or not, gets 400 and never "
        "reaches the app.",
    ),
    Requirement(
        "RFC9112-3.2-3", MUST, RFC9112, "§3.2 Request Target",
        "A server MUST respond with a 400 (Bad Request) status code ... to any request "
        "message that contains ... a Host header field with an invalid field value.",
        "A Host value outside uri-host [ \":\" port ] (space, slash, userinfo, a port "
        "that is not digits, a broken IPv6 literal) gets 400.",
    ),
    Requirement(
        "RFC9112-3.2-4", WILL, RFC9112, "§3.2 Request Target",
        "A client MUST send a Host header field (Section 7.2 of [HTTP]) in all HTTP/1.1 "
        "request messages.",
        "Host is required of HTTP/1.1 requests only: an HTTP/1.0 request without Host is "
        "served.",
    ),
    Requirement(
        "RFC9112-3.2.1-1", SHOULD, RFC9112, "§3.2.1 origin-form",
        "a client MUST send only the absolute path and query components of the target URI "
        "as the request-target.",
        "A target that is neither a path starting with \"/\" nor another form, or that "
        "carries a fragment, gets 400; a path that keeps \"#frag\" is wrong.",
    ),
    Requirement(
        "RFC9112-3.2.1-2", WILL, RFC9112, "§3.2.1 origin-form",
        'origin-form = absolute-path [ "?" query ]',
        'A target starting with "//" is a path, never an authority: the app\'s path is '
        "exactly what was sent.",
    ),
    Requirement(
        "RFC9112-3.2.2-1", MUST, RFC9112, "§3.2.2 absolute-form",
        "A server MUST accept the absolute-form in requests even though most HTTP/1.1 "
        "clients will only send the absolute-form to a proxy.",
        "GET http://host/path HTTP/1.1 is served.",
    ),
    Requirement(
        "RFC9112-3.2.2-2", MUST, RFC9112, "§3.2.2 absolute-form",
        "the origin server MUST ignore the received Host header field (if any) and instead "
        "use the host information of the request-target.",
        "An absolute-form request whose Host differs from the URI's authority is served, "
        "not rejected over the mismatch; the app gets one Host.",
    ),
    Requirement(
        "RFC9112-3.2.3-1", SHOULD, RFC9112, "§3.2.3 authority-form",
        'The "authority-form" of request-target is only used for CONNECT requests',
        "An authority-form target (host:port) with GET is an invalid request-line: 400.",
    ),
    Requirement(
        "RFC9112-3.2.4-1", SHOULD, RFC9112, "§3.2.4 asterisk-form",
        'The "asterisk-form" of request-target is only used for a server-wide OPTIONS '
        "request",
        "An asterisk-form target (*) with GET is an invalid request-line: 400.",
    ),
    Requirement(
        "RFC9112-3.2.4-2", WILL, RFC9112, "§3.2.4 asterisk-form",
        "the client MUST send only \"*\" (%x2A) as the request-target. For example, "
        "OPTIONS * HTTP/1.1",
        "OPTIONS * HTTP/1.1 is a valid request: it is served and the app sees method "
        "OPTIONS.",
    ),
    Requirement(
        "RFC9112-3.3-1", WILL, RFC9112, "§3.3 Reconstructing the Target URI",
        "The target URI is the request-target when the request-target is in absolute-form. "
        "In that case, a server will parse the URI into its generic components",
        "For an absolute-form target the app's path, raw_path and query_string are the "
        "URI's path and query, not the whole URI. Derived: the RFC has the server parse "
        "the URI, but ASGI defines path as the \"HTTP request target excluding any query "
        "string\", which for this form is the whole URI.",
        derived=True,
    ),
    # --- RFC 9112 §5 Field Syntax -----------------------------------------------------------
    Requirement(
        "RFC9112-5.1-1", MUST, RFC9112, "§5.1 Field Line Parsing",
        "A server MUST reject, with a response status code of 400 (Bad Request), any "
        "received request message that contains whitespace between a header field name "
        "and colon.",
        "SP or HTAB between a field name and its colon gets 400; the request never reaches "
        "the app.",
    ),
    Requirement(
        "RFC9112-5.1-2", WILL, RFC9112, "§5.1 Field Line Parsing",
        "The field line value does not include that leading or trailing whitespace: OWS "
        "occurring before the first non-whitespace octet ... or after the last ... is "
        "excluded by parsers",
        "Leading and trailing SP/HTAB around a field value are stripped; inner whitespace "
        "is kept.",
    ),
    Requirement(
        "RFC9112-5.2-1", MUST, RFC9112, "§5.2 Obsolete Line Folding",
        "A server that receives an obs-fold in a request message ... MUST either reject the "
        "message by sending a 400 (Bad Request) ... or replace each received obs-fold with "
        "one or more SP octets",
        "A folded field value gets 400, or reaches the app unfolded with SP; never as two "
        "fields or with the CRLF.",
    ),
    # --- RFC 9110 semantics the parser carries -------------------------------------------------
    Requirement(
        "RFC9110-5.4-1", MUST, RFC9110, "§5.4 Field Limits",
        "A server that receives a request header field line, field value, or set of fields "
        "larger than it wishes to process MUST respond with an appropriate 4xx (Client "
        "Error) status code.",
        "A 96 KiB field or 2000 fields are served whole or refused with a 4xx; never "
        "truncated, dropped or met with a silent close.",
    ),
    Requirement(
        "RFC9110-5.5-1", MUST, RFC9110, "§5.5 Field Values",
        "a recipient of CR, LF, or NUL within a field value MUST either reject the message "
        "or replace each of those characters with SP before further processing",
        "A NUL in a field value gets the request rejected or turned into SP; the app never "
        "sees a NUL.",
    ),
    Requirement(
        "RFC9110-5.5-2", MAY, RFC9110, "§5.5 Field Values",
        "Field values containing other CTL characters are also invalid; however, recipients "
        "MAY retain such characters for the sake of robustness",
        "A field value with a control character (0x01, ESC, DEL) is rejected, or "
        "(leniently) kept byte-exact.",
    ),
    Requirement(
        "RFC9110-5.5-3", SHOULD, RFC9110, "§5.5 Field Values",
        "a recipient SHOULD treat other allowed octets in field content (i.e., obs-text) as "
        "opaque data.",
        "A field value made of every obs-text octet 0x80-0xFF reaches the app byte for "
        "byte.",
    ),
    Requirement(
        "RFC9110-5.5-4", WILL, RFC9110, "§5.5 Field Values",
        "field-content = field-vchar [ 1*( SP / HTAB / field-vchar ) field-vchar ]",
        "HTAB and runs of SP inside a field value are valid: served, the value reaching the "
        "app as sent.",
    ),
    Requirement(
        "RFC9110-6.2-1", SHOULD, RFC9110, "§6.2 Control Data",
        "A server SHOULD send a response version equal to the highest version to which the "
        "server is conformant that has a major version less than or equal to the one "
        "received",
        "Responses to HTTP/1.0 and HTTP/1.1 requests both say HTTP/1.1 in the status line.",
    ),
    Requirement(
        "RFC9110-6.2-2", SHOULD, RFC9110, "§6.2 Control Data",
        "a minor version number higher than what it implements SHOULD process the message "
        "as if it were in the highest minor version within that major version",
        "An HTTP/1.2 request is served as HTTP/1.1 (the app sees "
        'http_version "1.1"), not refused with 505 or 400.',
    ),
    Requirement(
        "RFC9110-6.2-3", MAY, RFC9110, "§6.2 Control Data",
        "A server can send a 505 (HTTP Version Not Supported) response if it wishes, for "
        "any reason, to refuse service of the client's major protocol version.",
        "HTTP/2.0, HTTP/3.0 or HTTP/0.9 in an HTTP/1 request-line is refused, with 505 "
        "for preference, and never served as that version.",
    ),
    Requirement(
        "RFC9110-7.2-1", WILL, RFC9110, "§7.2 Host and :authority",
        'Host = uri-host [ ":" port ]',
        "A Host value the grammar allows (empty, IPv6 literal, IPv4, a name with port) is "
        "accepted and reaches the app unchanged.",
    ),
    Requirement(
        "RFC9110-9.1-1", SHOULD, RFC9110, "§9.1 Methods Overview",
        "An origin server that receives a request method that is unrecognized or not "
        "implemented SHOULD respond with the 501 (Not Implemented) status code.",
        "An extension method (any token: M-SEARCH, BREW...) reaches the app exactly as "
        "sent; a server that will not pass it on answers 501, not 400.",
    ),
    Requirement(
        "RFC6585-5-1", SHOULD, "RFC 6585", "§5 431 Request Header Fields Too Large",
        "The 431 status code indicates that the server is unwilling to process the request "
        "because its header fields are too large.",
        "A server that refuses a request for the size of its fields (one huge field, too "
        "many fields) says so with 431.",
        derived=True,
    ),
)
