"""The sans-I/O HTTP/1.1 request parser, checked against RFC 9112 (HTTP/1.1 message
syntax) and RFC 9110 (HTTP semantics).

Each test names the section it checks. Where the RFC leaves the choice to the server
(e.g. rejecting a bare LF or double SP rather than parsing leniently) the test asserts the
strict behaviour this parser documents, and the comment says that the RFC permits it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pytest

from reference_server.http11 import (
    NEED_DATA,
    PAUSED,
    Data,
    EndOfMessage,
    Event,
    Limits,
    ProtocolError,
    Request,
    RequestParser,
)

# -- helpers ---------------------------------------------------------------------------


def split_at(raw: bytes, indices: Iterable[int] | None) -> list[bytes]:
    """``raw`` cut at the given offsets (out-of-range and repeated offsets are ignored);
    every piece is non-empty, so none of them is mistaken for EOF."""
    if not indices:
        return [raw] if raw else []
    cuts = sorted({i for i in indices if 0 < i < len(raw)})
    pieces = []
    start = 0
    for cut in [*cuts, len(raw)]:
        if cut > start:
            pieces.append(raw[start:cut])
        start = cut
    return pieces


def collect(
    raw: bytes,
    limits: Limits | None = None,
    chunks: Iterable[int] | None = None,
    *,
    eof: bool = False,
) -> tuple[list[Event], ProtocolError | None]:
    """Feed ``raw`` (split at the offsets ``chunks``, then EOF when ``eof``) and collect
    every event, calling ``start_next_cycle()`` on PAUSED (PAUSED itself is recorded).
    After each feed the parser is drained until NEED_DATA. Returns the events and the
    ProtocolError that stopped parsing, if any.

    Each feed allows at most ``len(raw) + 10`` next_event calls: a parser that loops
    without consuming input fails the test instead of hanging it.
    """
    parser = RequestParser(limits)
    events: list[Event] = []
    pieces = split_at(raw, chunks)
    if eof:
        pieces.append(b"")
    budget = len(raw) + 10
    try:
        for piece in pieces:
            parser.feed(piece)
            for _ in range(budget):
                event = parser.next_event()
                if event is NEED_DATA:
                    break
                events.append(event)
                if event is PAUSED:
                    parser.start_next_cycle()
            else:
                raise AssertionError(f"parser did not reach NEED_DATA within {budget} calls")
    except ProtocolError as exc:
        return events, exc
    return events, None


def parse_all(
    raw: bytes,
    limits: Limits | None = None,
    chunks: Iterable[int] | None = None,
    *,
    eof: bool = False,
) -> list[Event]:
    """Like :func:`collect`, but a ProtocolError propagates."""
    events, error = collect(raw, limits, chunks, eof=eof)
    if error is not None:
        raise error
    return events


def message(request_line: bytes, *fields: bytes, body: bytes = b"") -> bytes:
    """A request head made of CRLF-terminated lines, then the blank line, then body."""
    return b"".join(line + b"\r\n" for line in (request_line, *fields)) + b"\r\n" + body


def get(*fields: bytes, target: bytes = b"/", method: bytes = b"GET",
        version: bytes = b"HTTP/1.1", body: bytes = b"") -> bytes:
    """A request with ``Host: example.com`` first, then ``fields``."""
    return message(method + b" " + target + b" " + version, b"Host: example.com", *fields,
                   body=body)


def first_request(raw: bytes, limits: Limits | None = None) -> Request:
    events = parse_all(raw, limits)
    assert events, "no event"
    request = events[0]
    assert isinstance(request, Request), events
    return request


def body_of(events: Sequence[Event]) -> bytes:
    """The concatenated Data of the first request in ``events``."""
    out = b""
    for event in events:
        if isinstance(event, Data):
            out += event.data
        elif isinstance(event, EndOfMessage):
            break
    return out


def end_of(events: Sequence[Event]) -> EndOfMessage:
    for event in events:
        if isinstance(event, EndOfMessage):
            return event
    raise AssertionError(f"no EndOfMessage in {events}")


def assert_status(raw: bytes, status: int | tuple[int, ...], limits: Limits | None = None,
                  chunks: Iterable[int] | None = None, *, eof: bool = False) -> list[Event]:
    """``raw`` must stop the parser with ``status`` (or one of them); returns the events
    delivered before the error."""
    events, error = collect(raw, limits, chunks, eof=eof)
    assert error is not None, f"expected {status}, got events {events}"
    allowed = status if isinstance(status, tuple) else (status,)
    assert error.status in allowed, f"expected {status}, got {error.status}: {error.reason}"
    return events


def assert_complete(raw: bytes, limits: Limits | None = None) -> tuple[Request, bytes]:
    """``raw`` is exactly one complete request; returns it and its body."""
    events = parse_all(raw, limits)
    assert len(events) >= 3, events
    request = events[0]
    assert isinstance(request, Request)
    assert isinstance(events[-2], EndOfMessage), events
    assert events[-1] is PAUSED
    assert all(isinstance(e, Data) for e in events[1:-2]), events
    return request, body_of(events)


# -- the helper itself -----------------------------------------------------------------


def test_split_at():
    assert split_at(b"abcdef", None) == [b"abcdef"]
    assert split_at(b"abcdef", [3, 1, 3, 0, 99]) == [b"a", b"bc", b"def"]
    assert split_at(b"", [1]) == []


def test_parse_all_collects_a_request():
    events = parse_all(get())
    assert [type(e) for e in events[:2]] == [Request, EndOfMessage]
    assert events[2] is PAUSED
    assert len(events) == 3


# -- request-line (RFC 9112 §3) --------------------------------------------------------


def test_simple_get_fields():
    """RFC 9112 §3, §5, §9.3: every field of a plain HTTP/1.1 GET."""
    request, body = assert_complete(
        message(b"GET /index.html?a=1 HTTP/1.1", b"Host: example.com", b"Accept: */*")
    )
    assert request.method == b"GET"
    assert request.target == b"/index.html?a=1"
    assert request.http_version == b"1.1"
    assert request.headers == [(b"host", b"example.com"), (b"accept", b"*/*")]
    assert request.raw_path == b"/index.html"
    assert request.query_string == b"a=1"
    assert request.authority is None
    assert request.content_length is None
    assert request.chunked is False
    assert request.keep_alive is True
    assert request.expect_continue is False
    assert request.upgrade is None
    assert request.te_trailers is False
    assert body == b""


@pytest.mark.parametrize("line", [
    b"GET  / HTTP/1.1",
    b"GET /  HTTP/1.1",
    b"GET / HTTP/1.1 ",
    b" GET / HTTP/1.1",
    b"GET\t/ HTTP/1.1",
    b"GET /\tHTTP/1.1",
    b"GET / HTTP/1.1\t",
    b"GET /",
    b"GET / HTTP/1.1 extra",
    b"GET",
])
def test_request_line_needs_exactly_single_sp(line):
    """RFC 9112 §3: request-line = method SP request-target SP HTTP-version. §3 lets a
    server parse on whitespace instead; this parser is strict (a 400, as §3 allows for
    an invalid request-line)."""
    assert_status(message(line, b"Host: example.com"), 400)


@pytest.mark.parametrize("raw", [
    b"GET / HTTP/1.1\nHost: example.com\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: example.com\n\r\n",
    b"GET / HTTP/1.1\r\nHost: example.com\r\n\n",
    b"GET / HTTP/1.1\nHost: example.com\n\n",
    b"GET / HTTP/1.1\r\nHost: example.com\r\nX: 1\nY: 2\r\n\r\n",
])
def test_bare_lf_in_head(raw):
    """RFC 9112 §2.2: a recipient MAY accept a bare LF as a line terminator; this
    parser rejects it (400), which removes a request-smuggling ambiguity (§11.2)."""
    assert_status(raw, 400)
    assert_status(raw, 400, chunks=range(len(raw)))


@pytest.mark.parametrize("raw", [
    b"GET / HTTP/1.1\rHost: example.com\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: exa\rmple.com\r\n\r\n",
    b"GET / HTTP/1.1\r\nX\r: 1\r\nHost: example.com\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: example.com\r\nX: 1\r\r\n\r\n",
])
def test_bare_cr_in_head(raw):
    """RFC 9112 §2.2: a bare CR MUST make the element invalid or be replaced by SP;
    this parser treats it as invalid (400)."""
    assert_status(raw, 400)


def test_a_leading_empty_line_is_ignored():
    """RFC 9112 §2.2: a server SHOULD ignore at least one empty line (CRLF) received
    before the request-line."""
    request, _ = assert_complete(b"\r\n" + get())
    assert request.method == b"GET"


@pytest.mark.parametrize("prefix", [b"\r\n\r\n", b"\r\n\r\n\r\n"])
@pytest.mark.parametrize("cut", [1, 2, 3, 4])
def test_a_second_leading_empty_line_is_refused(prefix, cut):
    """RFC 9112 §2.2 asks to ignore "at least one" empty line; this parser ignores exactly
    one and refuses a second (400), however the bytes are cut: more is no client's habit
    but bytes out of step with the framing (the strict reading the differential run
    holds the peers to)."""
    raw = prefix + get()
    for chunks in ([cut], range(len(raw))):
        with pytest.raises(ProtocolError) as caught:
            parse_all(raw, chunks=chunks)
        assert caught.value.status == 400


def test_one_empty_line_before_each_pipelined_request():
    """The one empty line is allowed again before the next request on the connection."""
    raw = b"\r\n" + get() + b"\r\n" + get()
    requests = [e for e in parse_all(raw) if isinstance(e, Request)]
    assert len(requests) == 2


@pytest.mark.parametrize("prefix", [b"\r\n"])
@pytest.mark.parametrize("cut", [1, 2, 3, 4, 5])
def test_leading_empty_line_split_anywhere(prefix, cut):
    """RFC 9112 §2.2: the leading empty line is ignored however the bytes arrive; a
    sans-I/O parser must not depend on where the transport cuts the stream (here the
    CRLF itself may be cut between CR and LF)."""
    raw = prefix + get()
    for chunks in ([cut], range(len(raw))):
        events = parse_all(raw, chunks=chunks)
        assert isinstance(events[0], Request)
        assert events[0].raw_path == b"/"
        assert isinstance(events[1], EndOfMessage)


def test_empty_line_after_a_body_before_the_next_request():
    """RFC 9112 §2.2: some clients send an extra CRLF after a POST body; the empty line
    before the next request-line is ignored."""
    raw = get(b"Content-Length: 2", method=b"POST", body=b"hi") + b"\r\n" + get()
    events = parse_all(raw)
    requests = [e for e in events if isinstance(e, Request)]
    assert [r.method for r in requests] == [b"POST", b"GET"]
    assert body_of(events) == b"hi"


@pytest.mark.parametrize("method", [
    b"GE(T", b"GE)T", b"G,T", b"GE/T", b"GE:T", b"G@T", b"GE[T", b"GE\"T", b"G{T", b"GE\x01T",
    b"G\x80T",
])
def test_method_must_be_a_token(method):
    """RFC 9112 §3.1: method = token (RFC 9110 §5.6.2: tchar excludes delimiters)."""
    assert_status(message(method + b" / HTTP/1.1", b"Host: example.com"), 400)


@pytest.mark.parametrize("method", [b"get", b"Post", b"M-SEARCH", b"PROPFIND", b"X!#$%&'*+.^_`|~1"])
def test_any_token_method_is_accepted_and_case_preserved(method):
    """RFC 9112 §3.1 / RFC 9110 §9.1: the method token is case-sensitive; unknown methods
    are still syntactically valid requests."""
    request = first_request(get(method=method))
    assert request.method == method


@pytest.mark.parametrize(("version", "expected"), [(b"HTTP/1.1", b"1.1"), (b"HTTP/1.0", b"1.0")])
def test_supported_versions(version, expected):
    """RFC 9112 §2.3: HTTP/1.1 and HTTP/1.0."""
    assert first_request(get(version=version)).http_version == expected


@pytest.mark.parametrize("version", [b"HTTP/2.0", b"HTTP/0.9", b"HTTP/3.0", b"HTTP/9.9"])
def test_unsupported_major_version_is_505(version):
    """RFC 9110 §15.6.6: 505 when the server does not support the major version; the
    syntax (RFC 9112 §2.3 "HTTP/" DIGIT "." DIGIT) is valid, so not 400."""
    assert_status(get(version=version), 505)


@pytest.mark.parametrize("version", [b"HTTP/1.2", b"HTTP/1.9"])
def test_higher_minor_version(version):
    """RFC 9110 §2.5: a recipient SHOULD process a message with a higher minor version
    (HTTP/1.2) as the highest minor version it implements, so it is served as 1.1 (with
    1.1's keep-alive default), not refused with 505 (found by the differential run)."""
    events, error = collect(get(version=version))
    assert error is None, error
    assert isinstance(events[0], Request)
    assert events[0].http_version == b"1.1"
    assert events[0].keep_alive


@pytest.mark.parametrize("version", [
    b"HTTP/1.1x", b"http/1.1", b"Http/1.1", b"HTTP/11", b"HTTP/1.", b"HTTP/1", b"HTTP/1.1.1",
    b"HTTP/1.10", b"HTTP/a.b", b"HTTP 1.1", b"HTTP/1,1", b"HTTPS/1.1", b"HTTP/\xb9.1",
])
def test_malformed_version_is_400(version):
    """RFC 9112 §2.3: HTTP-version = HTTP-name "/" DIGIT "." DIGIT, HTTP-name is
    case-sensitive "HTTP"; anything else is an invalid request-line (§3: 400)."""
    assert_status(get(version=version), 400)


def test_request_line_limit_boundary():
    """RFC 9112 §3: a server that receives a request-target longer than it wishes to
    parse MUST respond 414; the limit counts the request-line without CRLF."""
    limits = Limits(max_request_line=50)
    prefix, suffix = b"GET /", b" HTTP/1.1"
    ok = prefix + b"a" * (50 - len(prefix) - len(suffix)) + suffix
    assert len(ok) == 50
    request, _ = assert_complete(message(ok, b"Host: example.com"), limits)
    assert len(request.target) == 50 - len(prefix) - len(suffix) + 1
    too_long = prefix + b"a" * (51 - len(prefix) - len(suffix)) + suffix
    assert_status(message(too_long, b"Host: example.com"), 414, limits)
    # Byte by byte, too.
    raw = message(too_long, b"Host: example.com")
    assert_status(raw, 414, limits, chunks=range(len(raw)))
    raw = message(ok, b"Host: example.com")
    assert isinstance(parse_all(raw, limits, chunks=range(len(raw)))[0], Request)


def test_request_line_too_long_default_limit():
    """RFC 9112 §3: 414 with the default limit (8190)."""
    assert_status(get(target=b"/" + b"a" * 9000), 414)


def test_request_line_too_long_is_detected_before_the_crlf():
    """RFC 9112 §3: the 414 is raised while the request-line is still incomplete, so a
    client cannot make the server buffer an unbounded line."""
    parser = RequestParser(Limits())
    parser.feed(b"GET /" + b"a" * 10240)
    with pytest.raises(ProtocolError) as info:
        parser.next_event()
    assert info.value.status == 414


def test_request_line_too_long_in_a_head_that_arrives_whole():
    """RFC 9112 §3: a whole head over the head limit because of its request-line is a
    414, not a 431, however the bytes were segmented."""
    raw = message(b"GET /" + b"t" * 96 * 1024 + b" HTTP/1.1", b"Host: example.com")
    assert_status(raw, 414)
    # A head too large because of its fields stays a 431.
    assert_status(message(b"GET / HTTP/1.1", b"Host: example.com",
                          *[b"x-f%d: %s" % (i, b"v" * 4000) for i in range(40)]), 431)


def test_request_line_too_long_detected_incrementally():
    """RFC 9112 §3: same, when the line arrives in small pieces."""
    parser = RequestParser(Limits(max_request_line=100))
    parser.feed(b"GET /")
    assert parser.next_event() is NEED_DATA
    with pytest.raises(ProtocolError) as info:
        for _ in range(100):
            parser.feed(b"a" * 10)
            assert parser.next_event() is NEED_DATA
    assert info.value.status == 414


# -- request-target (RFC 9112 §3.2) ----------------------------------------------------


@pytest.mark.parametrize(("target", "path", "query"), [
    (b"/a/b?x=1", b"/a/b", b"x=1"),
    (b"/", b"/", b""),
    (b"/?", b"/", b""),
    (b"/a?b?c=d", b"/a", b"b?c=d"),
    (b"/a%20b?q=%2F", b"/a%20b", b"q=%2F"),
    (b"//double/slash", b"//double/slash", b""),
    (b"/p;param:@!$&'()*+,=~-._", b"/p;param:@!$&'()*+,=~-._", b""),
])
def test_origin_form(target, path, query):
    """RFC 9112 §3.2.1: origin-form = absolute-path [ "?" query ]; the query starts after
    the first "?" and may contain more; nothing is percent-decoded."""
    request = first_request(get(target=target))
    assert request.target == target
    assert request.raw_path == path
    assert request.query_string == query
    assert request.authority is None


@pytest.mark.parametrize(("target", "path", "query", "authority"), [
    (b"http://example.com:8080/p?q", b"/p", b"q", b"example.com:8080"),
    (b"http://example.com", b"/", b"", b"example.com"),
    (b"http://example.com/", b"/", b"", b"example.com"),
    (b"http://example.com?x=1", b"/", b"x=1", b"example.com"),
    (b"https://example.com/a/b?c", b"/a/b", b"c", b"example.com"),
    (b"http://[::1]:8000/x", b"/x", b"", b"[::1]:8000"),
    (b"HTTP://Example.COM/x", b"/x", b"", b"Example.COM"),
])
def test_absolute_form(target, path, query, authority):
    """RFC 9112 §3.2.2: a server MUST accept the absolute-form; the authority comes from
    the URI; an empty path is "/" (RFC 9110 §4.2.3)."""
    request = first_request(get(target=target))
    assert request.target == target
    assert request.raw_path == path
    assert request.query_string == query
    assert request.authority == authority


def test_absolute_form_authority_wins_over_host():
    """RFC 9112 §3.2.2: with an absolute-form target the server MUST ignore Host and use
    the target's authority."""
    request = first_request(message(b"GET http://a.example/x HTTP/1.1", b"Host: b.example"))
    assert request.authority == b"a.example"
    assert request.raw_path == b"/x"


@pytest.mark.parametrize("target", [b"http:///x", b"http://", b"http://?q", b"http://:80/"])
def test_absolute_form_with_empty_host_is_rejected(target):
    """RFC 9110 §4.2.1: a sender MUST NOT generate an "http" URI with an empty host; a
    recipient that processes such a URI MUST reject it as invalid (400)."""
    assert_status(get(target=target), 400)


def test_absolute_form_with_userinfo_is_rejected():
    """RFC 9110 §4.2.4: userinfo in an http(s) URI is deprecated; a recipient SHOULD
    treat its presence as an error."""
    assert_status(get(target=b"http://user:pw@example.com/"), 400)


def test_authority_form_for_connect():
    """RFC 9112 §3.2.3: authority-form = uri-host ":" port, only for CONNECT."""
    request = first_request(
        message(b"CONNECT example.com:443 HTTP/1.1", b"Host: example.com:443")
    )
    assert request.method == b"CONNECT"
    assert request.target == b"example.com:443"
    assert request.raw_path == b""
    assert request.query_string == b""
    assert request.authority == b"example.com:443"


@pytest.mark.parametrize("line", [
    b"CONNECT / HTTP/1.1",
    b"CONNECT example.com HTTP/1.1",
    b"CONNECT http://example.com:443/ HTTP/1.1",
    b"GET example.com:443 HTTP/1.1",
    b"POST example.com:80 HTTP/1.1",
])
def test_authority_form_only_with_connect(line):
    """RFC 9112 §3.2.3: authority-form is used only for CONNECT, and a CONNECT target is
    only uri-host ":" port (RFC 9110 §9.3.6)."""
    assert_status(message(line, b"Host: example.com:443"), 400)


def test_asterisk_form_for_options():
    """RFC 9112 §3.2.4: asterisk-form "*" is used only for a server-wide OPTIONS."""
    request = first_request(get(method=b"OPTIONS", target=b"*"))
    assert request.target == b"*"
    assert request.raw_path == b"*"
    assert request.authority is None


@pytest.mark.parametrize("method", [b"GET", b"POST", b"HEAD"])
def test_asterisk_form_only_with_options(method):
    """RFC 9112 §3.2.4: "*" is only for OPTIONS."""
    assert_status(get(method=method, target=b"*"), 400)


@pytest.mark.parametrize("target", [
    b"/a\x01b", b"/a\x7fb", b"/a\x80b", b"/caf\xc3\xa9", b"/\xff", b"/a\tb", b"/a\x00b",
    b"/page#frag", b"/#", b"http://example.com/#x",
])
def test_invalid_target_characters(target):
    """RFC 9112 §3.2 / RFC 3986: the request-target has no CTL, SP, non-ASCII octet, and
    never a fragment (RFC 9110 §7.1); an invalid request-line is a 400 (§3)."""
    assert_status(get(target=target), 400)


@pytest.mark.parametrize("target", [b"a/b", b"example.com/x", b"index.html", b"?x=1", b"%2F"])
def test_target_neither_origin_nor_absolute(target):
    """RFC 9112 §3.2: a GET target is origin-form (starts with "/") or absolute-form."""
    assert_status(get(target=target), 400)


# -- field lines (RFC 9112 §5, RFC 9110 §5) --------------------------------------------


@pytest.mark.parametrize("line", [
    b"bad name: x", b"na(me: x", b"na)me: x", b"na/me: x", b"na\"me: x", b"na[me: x",
    b"na{me: x", b"na@me: x", b"na\x80me: x", b"na\x01me: x",
])
def test_field_name_must_be_a_token(line):
    """RFC 9112 §5 / RFC 9110 §5.1: field-name = token."""
    assert_status(get(line), 400)


@pytest.mark.parametrize("line", [b"Name : x", b"Name\t: x", b"Name  :x"])
def test_whitespace_before_colon(line):
    """RFC 9112 §5.1: no whitespace is allowed between the field name and colon; a
    server MUST reject such a request with 400."""
    assert_status(get(line), 400)


@pytest.mark.parametrize("line", [b": x", b":", b"no-colon-here", b"  : x"])
def test_field_line_without_name_or_colon(line):
    """RFC 9112 §5: field-line = field-name ":" OWS field-value OWS, name non-empty."""
    assert_status(get(line), 400)


@pytest.mark.parametrize("raw", [
    message(b"GET / HTTP/1.1", b"Host: example.com", b"X: a", b" b"),
    message(b"GET / HTTP/1.1", b"Host: example.com", b"X: a", b"\tb"),
    message(b"GET / HTTP/1.1", b"Host: example.com", b"X: a", b" continued: b"),
])
def test_obs_fold_is_rejected(raw):
    """RFC 9112 §5.2: a server that receives obs-fold outside message/http MUST either
    reject it with 400 or replace it with SP; this parser rejects."""
    assert_status(raw, 400)


def test_whitespace_line_before_first_field():
    """RFC 9112 §2.2: whitespace between the start-line and the first field MUST be
    rejected or the whitespace-preceded line ignored; either way this request (whose
    only Host is on that line) is a 400 (§3.2: missing Host)."""
    assert_status(message(b"GET / HTTP/1.1", b" Host: example.com"), 400)


@pytest.mark.parametrize("value", [
    b"a\x00b", b"a\x01b", b"\x08", b"a\x0bb", b"a\x0cb", b"a\x1fb", b"a\x7fb", b"a\rb",
    b"\x00",
])
def test_control_characters_in_value(value):
    """RFC 9110 §5.5: field values are VCHAR / obs-text / SP / HTAB; NUL, CR and LF MUST
    be rejected (or replaced by SP), other CTLs are not field-content. 400 here."""
    assert_status(get(b"X-Test: " + value), 400)


def test_field_value_characters_kept():
    """RFC 9110 §5.5: obs-text (0x80-0xFF) is allowed in values; inner SP and HTAB are
    kept."""
    request = first_request(get(b"X-A: caf\xc3\xa9 \xff\x80", b"X-B: a\tb  c"))
    assert request.headers[1:] == [(b"x-a", b"caf\xc3\xa9 \xff\x80"), (b"x-b", b"a\tb  c")]


@pytest.mark.parametrize(("line", "value"), [
    (b"X: a", b"a"),
    (b"X:a", b"a"),
    (b"X: \t a b \t ", b"a b"),
    (b"X:\t\ta", b"a"),
    (b"X:", b""),
    (b"X:   ", b""),
    (b"X: \t", b""),
    (b"X: \"quoted\" ", b"\"quoted\""),
])
def test_field_value_trimmed_of_ows(line, value):
    """RFC 9112 §5: leading and trailing OWS (SP / HTAB) is not part of the value; an
    empty value is valid (RFC 9110 §5.5: field-value = *field-content)."""
    request = first_request(get(line))
    assert request.headers[1:] == [(b"x", value)]


def test_field_names_lowercased_order_and_duplicates_kept():
    """RFC 9110 §5.1 (names are case-insensitive), §5.3 (order of same-name field lines
    is significant)."""
    request = first_request(get(
        b"X-CuStOm: Value", b"Accept: a", b"ACCEPT: b", b"x-custom: other", b"accept: a",
    ))
    assert request.headers == [
        (b"host", b"example.com"), (b"x-custom", b"Value"), (b"accept", b"a"),
        (b"accept", b"b"), (b"x-custom", b"other"), (b"accept", b"a"),
    ]


# -- limits (RFC 9112 §3, RFC 6585 §5, RFC 9110 §15.5.14) ------------------------------


def test_head_limit_boundary():
    """RFC 6585 §5: 431 when the header section is too large; the limit counts the
    request-line, fields and the blank line."""
    base = get(b"X: ")
    size = len(base) + 20
    raw = get(b"X: " + b"v" * 20)
    assert len(raw) == size
    assert isinstance(first_request(raw, Limits(max_head=size)), Request)
    assert_status(raw, 431, Limits(max_head=size - 1))
    assert_status(raw, 431, Limits(max_head=size - 1), chunks=range(len(raw)))


def test_head_limit_detected_while_incomplete():
    """RFC 6585 §5: the 431 does not wait for the end of an oversized head."""
    parser = RequestParser(Limits(max_head=1000))
    parser.feed(b"GET / HTTP/1.1\r\nHost: example.com\r\n")
    assert parser.next_event() is NEED_DATA
    with pytest.raises(ProtocolError) as info:
        for _ in range(100):
            parser.feed(b"X-Filler: " + b"y" * 40 + b"\r\n")
            assert parser.next_event() is NEED_DATA
    assert info.value.status == 431


def test_head_limit_default():
    """RFC 6585 §5: the default 64 KiB limit."""
    fields = [b"X-%d: %s" % (i, b"v" * 1000) for i in range(70)]
    assert_status(get(*fields), 431)


def test_field_count_limit():
    """RFC 6585 §5: too many fields is also 431."""
    limits = Limits(max_fields=3)
    assert isinstance(first_request(get(b"A: 1", b"B: 2"), limits), Request)
    assert_status(get(b"A: 1", b"B: 2", b"C: 3"), 431, limits)


def test_content_length_over_body_limit():
    """RFC 9110 §15.5.14: 413 Content Too Large, decided from Content-Length before any
    of the body is read (so no Request event)."""
    limits = Limits(max_body=10)
    events = assert_status(get(b"Content-Length: 11", method=b"POST"), 413, limits)
    assert events == []
    request, body = assert_complete(
        get(b"Content-Length: 10", method=b"POST", body=b"0123456789"), limits
    )
    assert request.content_length == 10
    assert body == b"0123456789"


def test_chunked_body_over_limit():
    """RFC 9110 §15.5.14: a chunked body is refused with 413 once it passes the limit;
    what came before was delivered."""
    limits = Limits(max_body=10)
    raw = get(b"Transfer-Encoding: chunked", method=b"POST",
              body=b"5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n")
    events = assert_status(raw, 413, limits)
    assert isinstance(events[0], Request)
    assert body_of(events) == b"hello"
    ok = get(b"Transfer-Encoding: chunked", method=b"POST",
             body=b"5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n")
    assert assert_complete(ok, limits)[1] == b"helloworld"


# -- Host (RFC 9112 §3.2, RFC 9110 §7.2) -----------------------------------------------


def test_missing_host_http11():
    """RFC 9112 §3.2: a server MUST respond 400 to an HTTP/1.1 request without Host."""
    assert_status(message(b"GET / HTTP/1.1", b"Accept: */*"), 400)


def test_missing_host_http11_absolute_form():
    """RFC 9112 §3.2: Host is required in HTTP/1.1 even with an absolute-form target."""
    assert_status(message(b"GET http://example.com/ HTTP/1.1"), 400)


def test_missing_host_http10_is_fine():
    """RFC 9112 §3.2: the Host requirement is for HTTP/1.1 requests."""
    request = first_request(message(b"GET / HTTP/1.0"))
    assert request.http_version == b"1.0"
    assert request.headers == []


@pytest.mark.parametrize("version", [b"HTTP/1.1", b"HTTP/1.0"])
def test_two_host_fields(version):
    """RFC 9112 §3.2: 400 for any request with more than one Host field line."""
    assert_status(get(b"Host: example.com", version=version), 400)
    assert_status(get(b"Host: other.example", version=version), 400)


@pytest.mark.parametrize("value", [b"a b", b"a/b", b"user@a", b"a?b", b"a#b", b"a:b:c\"",
                                   b"[::1", b"a\\b"])
def test_invalid_host_value(value):
    """RFC 9112 §3.2: 400 for a Host field with an invalid value (RFC 9110 §7.2:
    Host = uri-host [ ":" port ])."""
    assert_status(message(b"GET / HTTP/1.1", b"Host: " + value), 400)


@pytest.mark.parametrize("value", [b"example.com", b"example.com:8080", b"127.0.0.1:80",
                                   b"[::1]", b"[::1]:8000", b"xn--caf-dma.example", b"a_b.c"])
def test_valid_host_values(value):
    """RFC 9110 §7.2: reg-name, IPv4 and IP-literal hosts, with an optional port."""
    request = first_request(message(b"GET / HTTP/1.1", b"Host: " + value))
    assert request.headers == [(b"host", value)]


def test_empty_host_value_is_allowed():
    """RFC 9110 §7.2: a client MUST send Host, and sends it with an empty value when the
    target URI has no authority; the empty value is valid."""
    request = first_request(message(b"GET / HTTP/1.1", b"Host:"))
    assert request.headers == [(b"host", b"")]


# -- Content-Length (RFC 9112 §6.2, §6.3; RFC 9110 §8.6) -------------------------------


@pytest.mark.parametrize("value", [
    b"+5", b"-1", b"5 5", b"0x5", b"5.0", b"", b"five", b"5a", b"1e3", b"\xd9\xa5", b"5;",
    b"5,", b",5", b"5, 6", b"5,,6",
])
def test_invalid_content_length(value):
    """RFC 9110 §8.6: Content-Length = 1*DIGIT; RFC 9112 §6.3 (item 5): an invalid
    Content-Length is unrecoverable, a server MUST respond 400."""
    assert_status(get(b"Content-Length: " + value, method=b"POST", body=b"hello"), 400)


@pytest.mark.parametrize("fields", [
    (b"Content-Length: 5", b"Content-Length: 5"),
    (b"Content-Length: 5, 5",),
    (b"Content-Length: 5,5,5",),
    (b"Content-Length: 5", b"Content-Length: 5, 5"),
])
def test_repeated_equal_content_length_refused(fields):
    """RFC 9110 §8.6: a list or repeated fields of identical values MAY be rejected or
    taken as the one value; this parser takes the strict choice and refuses (400), the
    reading the differential run holds the peers to."""
    assert_status(get(*fields, method=b"POST", body=b"hello"), 400)


@pytest.mark.parametrize("fields", [
    (b"Content-Length: 5", b"Content-Length: 6"),
    (b"Content-Length: 5", b"Content-Length: 5, 6"),
])
def test_conflicting_content_length(fields):
    """RFC 9112 §6.3 item 5: differing Content-Length values are unrecoverable: 400."""
    assert_status(get(*fields, method=b"POST", body=b"hello"), 400)


def test_content_length_leading_zeros():
    """RFC 9110 §8.6: 1*DIGIT, so leading zeros are valid digits."""
    request, body = assert_complete(get(b"Content-Length: 0005", method=b"POST", body=b"hello"))
    assert request.content_length == 5
    assert body == b"hello"


@pytest.mark.parametrize("line", [b"Content-Length:5", b"Content-Length: 5 ",
                                  b"Content-Length:\t5\t", b"content-length:  5"])
def test_content_length_surrounding_ows(line):
    """RFC 9112 §5: the OWS around a field value is not part of it, so "5 " is 5."""
    request, body = assert_complete(get(line, method=b"POST", body=b"hello"))
    assert request.content_length == 5
    assert body == b"hello"


def test_content_length_too_many_digits():
    """RFC 9110 §8.6: a recipient must anticipate large values and guard against integer
    overflow; more than 18 digits is refused (400 as invalid, or 413 as too large —
    both are reasonable, the RFC does not pick one)."""
    assert_status(get(b"Content-Length: 1" + b"0" * 19, method=b"POST"), (400, 413))
    assert_status(get(b"Content-Length: " + b"9" * 40, method=b"POST"), (400, 413))


def test_content_length_zero():
    """RFC 9112 §6.2: Content-Length 0 is an empty body."""
    request, body = assert_complete(get(b"Content-Length: 0", method=b"POST"))
    assert request.content_length == 0
    assert body == b""


# -- Transfer-Encoding (RFC 9112 §6.1, §6.3, §7) ---------------------------------------


@pytest.mark.parametrize("value", [b"chunked", b"Chunked", b"CHUNKED", b" chunked "])
def test_chunked(value):
    """RFC 9112 §6.1, §7: transfer-coding names are case-insensitive."""
    request, body = assert_complete(
        get(b"Transfer-Encoding: " + value, method=b"POST", body=b"3\r\nabc\r\n0\r\n\r\n")
    )
    assert request.chunked is True
    assert request.content_length is None
    assert body == b"abc"


@pytest.mark.parametrize("fields", [
    (b"Transfer-Encoding: chunked", b"Content-Length: 3"),
    (b"Content-Length: 3", b"Transfer-Encoding: chunked"),
])
def test_transfer_encoding_and_content_length(fields):
    """RFC 9112 §6.3 item 3: a server MAY reject a request with both TE and CL (it is a
    smuggling signal, §11.2); this parser rejects it with 400."""
    assert_status(get(*fields, method=b"POST", body=b"3\r\nabc\r\n0\r\n\r\n"), 400)


def test_transfer_encoding_in_http10():
    """RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding MUST be treated as
    having faulty framing: 400."""
    assert_status(get(b"Transfer-Encoding: chunked", method=b"POST", version=b"HTTP/1.0",
                      body=b"3\r\nabc\r\n0\r\n\r\n"), 400)


@pytest.mark.parametrize("fields", [
    (b"Transfer-Encoding: gzip, chunked",),
    (b"Transfer-Encoding: deflate, chunked",),
    (b"Transfer-Encoding: gzip", b"Transfer-Encoding: chunked"),
])
def test_unsupported_transfer_coding(fields):
    """RFC 9112 §6.1: a server that receives a transfer coding it does not understand
    SHOULD respond 501."""
    assert_status(get(*fields, method=b"POST", body=b"3\r\nabc\r\n0\r\n\r\n"), 501)


@pytest.mark.parametrize("fields", [
    (b"Transfer-Encoding: chunked, gzip",),
    (b"Transfer-Encoding: chunked", b"Transfer-Encoding: gzip"),
])
def test_chunked_not_last(fields):
    """RFC 9112 §6.3 item 4: if chunked is not the final coding of a request, the server
    MUST respond 400 and close."""
    assert_status(get(*fields, method=b"POST", body=b"3\r\nabc\r\n0\r\n\r\n"), 400)


@pytest.mark.parametrize("value", [b"gzip", b"xchunked", b"chunked;x=1", b"chunke"])
def test_request_transfer_coding_not_ending_in_chunked(value):
    """RFC 9112 §6.3 item 4: if Transfer-Encoding is present in a request and chunked is
    not the final coding, the body length cannot be determined: the server MUST respond
    400 and close."""
    assert_status(get(b"Transfer-Encoding: " + value, method=b"POST", body=b"abc"), 400)


@pytest.mark.parametrize("value", [b"chunked,", b", chunked", b" , chunked , ,"])
def test_transfer_encoding_empty_list_elements(value):
    """RFC 9110 §5.6.1.2: a recipient MUST parse and ignore a reasonable number of empty
    list elements."""
    request, body = assert_complete(
        get(b"Transfer-Encoding: " + value, method=b"POST", body=b"3\r\nabc\r\n0\r\n\r\n")
    )
    assert request.chunked is True
    assert body == b"abc"


def test_identity_transfer_coding():
    """RFC 9112 §6.1: "identity" is no longer a registered coding: either unknown (501,
    §6.1) or chunked-not-final (400, §6.3); the RFC supports both answers."""
    assert_status(get(b"Transfer-Encoding: identity", method=b"POST", body=b"abc"), (400, 501))


@pytest.mark.parametrize("fields", [
    (b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked"),
    (b"Transfer-Encoding: chunked, chunked",),
])
def test_chunked_twice(fields):
    """RFC 9112 §6.1: a sender MUST NOT apply chunked more than once; such framing is
    invalid (400)."""
    assert_status(get(*fields, method=b"POST", body=b"3\r\nabc\r\n0\r\n\r\n"), 400)


def test_empty_transfer_encoding():
    """RFC 9112 §6.1: Transfer-Encoding = #transfer-coding, with chunked final for a
    request (§6.3 item 4); an empty value gives no chunked: 400."""
    assert_status(get(b"Transfer-Encoding:", method=b"POST"), 400)


# -- chunked bodies (RFC 9112 §7.1) ----------------------------------------------------


def chunked(body: bytes) -> bytes:
    return get(b"Transfer-Encoding: chunked", method=b"POST", body=body)


@pytest.mark.parametrize(("body", "expected"), [
    (b"5\r\nhello\r\n0\r\n\r\n", b"hello"),
    (b"a\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),
    (b"A\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),
    (b"0000A\r\n0123456789\r\n000\r\n\r\n", b"0123456789"),
    (b"1\r\na\r\n1\r\nb\r\n2\r\ncd\r\n0\r\n\r\n", b"abcd"),
    (b"0\r\n\r\n", b""),
    (b"10\r\n" + b"x" * 16 + b"\r\n0\r\n\r\n", b"x" * 16),
    (b"5\r\n\r\n\r\n\r\r\n0\r\n\r\n", b"\r\n\r\n\r"),
])
def test_chunk_sizes(body, expected):
    """RFC 9112 §7.1: chunk-size = 1*HEXDIG (either case); the data is opaque."""
    raw = chunked(body)
    _, got = assert_complete(raw)
    assert got == expected
    assert body_of(parse_all(raw, chunks=range(len(raw)))) == expected


@pytest.mark.parametrize("size_line", [
    b"5;name=value", b"5;name=\"quoted value\"", b"5;a;b=c;d=\"e\\\"f\"", b"5 ;name=value",
    b"5; name = value", b"5;name",
])
def test_chunk_extensions_ignored(size_line):
    """RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS
    chunk-ext-val ] ); a recipient MUST ignore unrecognized extensions."""
    _, got = assert_complete(chunked(size_line + b"\r\nhello\r\n0;last=1\r\n\r\n"))
    assert got == b"hello"


@pytest.mark.parametrize("size_line", [b"5;", b"5;=v", b"5;n=\"unterminated", b"5;n=a b",
                                       b"5;n=(x)"])
def test_malformed_chunk_extension(size_line):
    """RFC 9112 §7.1.1: an extension needs a token name and a token or quoted-string
    value."""
    assert_status(chunked(size_line + b"\r\nhello\r\n0\r\n\r\n"), 400)


@pytest.mark.parametrize("body", [
    b"5\r\nhelloX\r\n0\r\n\r\n",
    b"5\r\nhello0\r\n\r\n",
    b"5\r\nhello\r0\r\n\r\n",
    b"3\r\nhello\r\n0\r\n\r\n",
])
def test_missing_crlf_after_chunk_data(body):
    """RFC 9112 §7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF."""
    assert_status(chunked(body), 400)
    raw = chunked(body)
    assert_status(raw, 400, chunks=range(len(raw)))


@pytest.mark.parametrize("size", [b"zz", b"", b"-1", b" 5", b"5 ", b"+5", b"0x5", b"5g",
                                  b"\t5", b"\xff"])
def test_invalid_chunk_size(size):
    """RFC 9112 §7.1: chunk-size = 1*HEXDIG, nothing else on the line but extensions."""
    assert_status(chunked(size + b"\r\nhello\r\n0\r\n\r\n"), 400)


@pytest.mark.parametrize("size", [b"0" * 12 + b"5", b"0" * 15 + b"5"])
def test_chunk_size_leading_zeros(size):
    """RFC 9112 §7.1: chunk-size = 1*HEXDIG, so leading zeros are valid. Some senders
    write sizes zero-padded to a fixed width (16 hex digits is a 64-bit size); a value
    of 5 is not a "large hexadecimal numeral" the RFC lets a recipient refuse."""
    _, got = assert_complete(chunked(size + b"\r\nhello\r\n0\r\n\r\n"))
    assert got == b"hello"


def test_huge_chunk_size():
    """RFC 9112 §7.1: a recipient MUST anticipate large hex numbers and prevent integer
    overflow; more than 16 hex digits is refused (400 invalid or 413 too large)."""
    assert_status(chunked(b"1" + b"0" * 16 + b"\r\nhello\r\n0\r\n\r\n"), (400, 413))
    assert_status(chunked(b"f" * 40 + b"\r\nhello\r\n0\r\n\r\n"), (400, 413))


def test_endless_chunk_extension_is_refused_before_its_crlf():
    """RFC 9112 §7.1.1: a server ought to limit the length of chunk extensions and answer
    an appropriate 4xx; it must not buffer an endless chunk-size line. The RFC names no
    status, so any of the parser's 4xx limit answers is accepted."""
    parser = RequestParser()
    parser.feed(chunked(b"5;ext="))
    assert isinstance(parser.next_event(), Request)
    with pytest.raises(ProtocolError) as info:
        for _ in range(200):
            parser.feed(b"a" * 1024)
            assert parser.next_event() is NEED_DATA
    assert info.value.status in (400, 413, 431)


def test_endless_trailer_section_is_refused():
    """RFC 9112 §7.1.2 / RFC 6585 §5: the trailer section is bounded like the header
    section; an endless one is refused while incomplete (431 for fields too large; the
    RFC does not fix the status, 400/413 are accepted too)."""
    parser = RequestParser(Limits(max_head=4096))
    parser.feed(chunked(b"0\r\n"))
    assert isinstance(parser.next_event(), Request)
    with pytest.raises(ProtocolError) as info:
        for _ in range(200):
            parser.feed(b"x-filler: " + b"y" * 100 + b"\r\n")
            assert parser.next_event() is NEED_DATA
    assert info.value.status in (400, 413, 431)


def test_trailers():
    """RFC 9112 §7.1.2: trailer-section after the last chunk, then CRLF; names are
    lowercased and values trimmed like header fields."""
    raw = chunked(b"5\r\nhello\r\n0\r\nx-t: 1\r\nX-Other:  two words \r\n\r\n")
    events = parse_all(raw)
    assert body_of(events) == b"hello"
    assert end_of(events).trailers == [(b"x-t", b"1"), (b"x-other", b"two words")]
    assert end_of(parse_all(raw, chunks=range(len(raw)))).trailers == [
        (b"x-t", b"1"), (b"x-other", b"two words")]


def test_no_trailers():
    """RFC 9112 §7.1: a message without trailers ends with an empty EndOfMessage."""
    assert end_of(parse_all(chunked(b"0\r\n\r\n"))).trailers == []


@pytest.mark.parametrize("trailer", [
    b"x t: 1", b" x: 1", b"x : 1", b"no-colon", b": 1", b"x: a\x00b", b"x: a\rb", b"x(: 1",
])
def test_trailer_syntax_errors(trailer):
    """RFC 9112 §7.1.2: trailer fields use the field-line syntax of §5."""
    assert_status(chunked(b"5\r\nhello\r\n0\r\n" + trailer + b"\r\n\r\n"), 400)


def test_trailer_obs_fold():
    """RFC 9112 §5.2 applies to the trailer section too."""
    assert_status(chunked(b"0\r\nx: 1\r\n continued\r\n\r\n"), 400)


def test_too_many_trailers():
    """RFC 6585 §5: the field count limit also applies to trailers (431)."""
    limits = Limits(max_fields=3)
    ok = chunked(b"0\r\na: 1\r\nb: 2\r\n\r\n")
    assert end_of(parse_all(ok, limits)).trailers == [(b"a", b"1"), (b"b", b"2")]
    bad = chunked(b"0\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\n\r\n")
    assert_status(bad, 431, limits)


@pytest.mark.parametrize("body", [
    b"5\nhello\r\n0\r\n\r\n",
    b"5\r\nhello\n0\r\n\r\n",
    b"5\r\nhello\r\n0\n\r\n",
    b"5\r\nhello\r\n0\r\n\n",
    b"5\r\nhello\r\n0\r\nx: 1\n\r\n",
    b"5\r\nhello\r\n0\r\nx: 1\r\n\n",
    b"5;a=b\nhello\r\n0\r\n\r\n",
])
def test_bare_lf_in_chunk_framing(body):
    """RFC 9112 §2.2 and §7.1: chunk framing lines end with CRLF; a bare LF is rejected
    (400), never taken as a line end (it would desynchronize from a lenient proxy)."""
    # A valid request follows and there is no EOF: a parser that took the LF as a line
    # end would go on to parse it, so only rejecting the LF gives a 400 here.
    raw = chunked(body) + get()
    assert_status(raw, 400)
    assert_status(raw, 400, chunks=range(len(raw)))
    assert body_of(collect(raw)[0]) in (b"", b"hello")


# -- Expect (RFC 9110 §10.1.1) ---------------------------------------------------------


@pytest.mark.parametrize("value", [b"100-continue", b"100-Continue", b"100-CONTINUE"])
def test_expect_continue(value):
    """RFC 9110 §10.1.1: the 100-continue expectation is case-insensitive."""
    request = first_request(get(b"Expect: " + value, b"Content-Length: 2", method=b"POST"))
    assert request.expect_continue is True


def test_expect_continue_ignored_in_http10():
    """RFC 9110 §10.1.1: a server that receives 100-continue in an HTTP/1.0 request MUST
    ignore that expectation."""
    request = first_request(
        get(b"Expect: 100-continue", b"Content-Length: 2", method=b"POST",
            version=b"HTTP/1.0", body=b"hi")
    )
    assert request.expect_continue is False


@pytest.mark.parametrize("value", [b"foo", b"100-continue-please", b"200-ok"])
def test_unknown_expectation(value):
    """RFC 9110 §10.1.1: a server that receives an expectation other than 100-continue
    MAY respond 417 (Expectation Failed); this parser does."""
    assert_status(get(b"Expect: " + value), 417)


# -- Connection, keep-alive, Upgrade, TE (RFC 9112 §9.3, RFC 9110 §7.6.1, §7.8, §10.1.4)


@pytest.mark.parametrize(("version", "fields", "keep_alive"), [
    (b"HTTP/1.1", (), True),
    (b"HTTP/1.1", (b"Connection: close",), False),
    (b"HTTP/1.1", (b"Connection: Close",), False),
    (b"HTTP/1.1", (b"Connection: keep-alive, close",), False),
    (b"HTTP/1.1", (b"Connection: keep-alive",), True),
    (b"HTTP/1.1", (b"Connection: Keep-Alive", b"Connection: CLOSE"),
     False),
    (b"HTTP/1.1", (b"Connection: upgrade",), True),
    (b"HTTP/1.0", (), False),
    (b"HTTP/1.0", (b"Connection: keep-alive",), True),
    (b"HTTP/1.0", (b"Connection: Keep-Alive",), True),
    (b"HTTP/1.0", (b"Connection: foo, keep-alive",), True),
    (b"HTTP/1.0", (b"Connection: close",), False),
])
def test_keep_alive(version, fields, keep_alive):
    """RFC 9112 §9.3: "close" ends the connection; otherwise HTTP/1.1 persists, and
    HTTP/1.0 persists only with the "keep-alive" option. Options are case-insensitive
    (RFC 9110 §7.6.1)."""
    assert first_request(get(*fields, version=version)).keep_alive is keep_alive


@pytest.mark.parametrize("fields", [
    (b"Connection: close, keep-alive",),
    (b"Connection: keep-alive, close",),
    (b"Connection: close", b"Connection: keep-alive"),
    (b"Connection: keep-alive", b"Connection: close"),
])
def test_close_wins_over_keep_alive_in_http10(fields):
    """RFC 9112 §9.3: 'If the "close" connection option is present, the connection will
    not persist after the current response' is checked first; the HTTP/1.0 keep-alive
    rule only applies otherwise. The order of the options does not matter."""
    assert first_request(get(*fields, version=b"HTTP/1.0")).keep_alive is False


def test_upgrade():
    """RFC 9110 §7.8: Upgrade is only meaningful when Connection lists "upgrade";
    the bytes after the head belong to the new protocol."""
    head = get(b"Connection: Upgrade", b"Upgrade: websocket", b"Sec-WebSocket-Version: 13")
    tail = b"\x81\x85\x00\x00\x00\x00hello\r\n\r\nGET / HTTP/1.1\r\n"
    parser = RequestParser()
    parser.feed(head + tail)
    request = parser.next_event()
    assert isinstance(request, Request)
    assert request.upgrade == b"websocket"
    assert isinstance(parser.next_event(), EndOfMessage)
    assert parser.take_trailing_data() == tail
    assert parser.buffered == 0


def test_upgrade_ignored_in_http10():
    """RFC 9110 §7.8: a server MUST ignore an Upgrade header field received in an
    HTTP/1.0 request."""
    request = first_request(get(b"Connection: Upgrade", b"Upgrade: websocket",
                                version=b"HTTP/1.0"))
    assert request.upgrade is None


@pytest.mark.parametrize(("fields", "upgrade"), [
    ((b"Connection: keep-alive, UPGRADE", b"Upgrade: h2c"), b"h2c"),
    ((b"Upgrade: websocket",), None),
    ((b"Connection: upgrade",), None),
    ((b"Connection: close", b"Upgrade: websocket"), None),
])
def test_upgrade_needs_connection_option(fields, upgrade):
    """RFC 9110 §7.8: a sender of Upgrade MUST also send the "upgrade" connection
    option; without it the Upgrade field is not acted on."""
    assert first_request(get(*fields)).upgrade == upgrade


@pytest.mark.parametrize(("fields", "te_trailers"), [
    ((), False),
    ((b"TE: trailers",), True),
    ((b"TE: Trailers",), True),
    ((b"TE: deflate, trailers",), True),
    ((b"TE: deflate",), False),
    ((b"TE: trailers", b"TE: deflate"), True),
    ((b"TE: deflate", b"TE: trailers"), True),
])
def test_te_trailers(fields, te_trailers):
    """RFC 9110 §10.1.4: TE = #t-codings, "trailers" is one member; several TE field
    lines form one list (RFC 9110 §5.3), so "trailers" on any of them counts."""
    assert first_request(get(*fields, b"Connection: TE")).te_trailers is te_trailers


# -- message body framing (RFC 9112 §6.3) ----------------------------------------------


def test_no_framing_means_no_body():
    """RFC 9112 §6.3 item 6: a request with neither CL nor TE has a zero-length body."""
    events = parse_all(get(method=b"POST"))
    assert isinstance(events[0], Request)
    assert isinstance(events[1], EndOfMessage)
    assert events[2] is PAUSED


def test_get_with_content_length_body():
    """RFC 9110 §9.3.1 / RFC 9112 §6.3 item 5: a GET body framed by CL is read (it must
    be, or its bytes would be parsed as the next request)."""
    request, body = assert_complete(get(b"Content-Length: 4", body=b"abcd"))
    assert request.content_length == 4
    assert body == b"abcd"


def test_body_in_several_data_events():
    """RFC 9112 §6.2: the body is delivered as it arrives; pieces concatenate."""
    parser = RequestParser()
    parser.feed(get(b"Content-Length: 10", method=b"POST"))
    assert isinstance(parser.next_event(), Request)
    assert parser.next_event() is NEED_DATA
    parser.feed(b"0123")
    first = parser.next_event()
    assert isinstance(first, Data)
    assert first.data == b"0123"
    assert parser.next_event() is NEED_DATA
    parser.feed(b"456789GET")
    second = parser.next_event()
    assert isinstance(second, Data)
    assert second.data == b"456789"
    assert isinstance(parser.next_event(), EndOfMessage)
    assert parser.next_event() is PAUSED
    assert parser.buffered == 3


def test_body_split_everywhere():
    """RFC 9112 §6.2: same body whatever the segmentation."""
    raw = get(b"Content-Length: 11", method=b"PUT", body=b"hello world")
    for cut in range(len(raw) + 1):
        assert body_of(parse_all(raw, chunks=[cut])) == b"hello world"


# -- pipelining and the request cycle (RFC 9112 §9.3.2) --------------------------------


def test_pipelined_requests():
    """RFC 9112 §9.3.2: a server MAY process pipelined requests, in order; the parser
    pauses after each until the server calls start_next_cycle()."""
    second = get(target=b"/second")
    parser = RequestParser()
    parser.feed(get(target=b"/first") + second)
    request = parser.next_event()
    assert isinstance(request, Request)
    assert request.raw_path == b"/first"
    assert isinstance(parser.next_event(), EndOfMessage)
    assert parser.next_event() is PAUSED
    assert parser.next_event() is PAUSED
    assert parser.buffered == len(second)
    parser.start_next_cycle()
    request = parser.next_event()
    assert isinstance(request, Request)
    assert request.raw_path == b"/second"
    assert isinstance(parser.next_event(), EndOfMessage)
    assert parser.next_event() is PAUSED
    assert parser.buffered == 0
    parser.start_next_cycle()
    assert parser.next_event() is NEED_DATA


def test_pipelined_bodies():
    """RFC 9112 §6.3, §9.3.2: each request's framing says exactly where the next one
    starts."""
    raw = (get(b"Content-Length: 3", method=b"POST", target=b"/1", body=b"abc")
           + get(b"Transfer-Encoding: chunked", method=b"POST", target=b"/2",
                 body=b"2\r\nde\r\n0\r\nx: y\r\n\r\n")
           + get(target=b"/3"))
    for chunks in (None, range(len(raw))):
        events = parse_all(raw, chunks=chunks)
        paths = [e.raw_path for e in events if isinstance(e, Request)]
        assert paths == [b"/1", b"/2", b"/3"]
        assert sum(1 for e in events if e is PAUSED) == 3
        ends = [e for e in events if isinstance(e, EndOfMessage)]
        assert [e.trailers for e in ends] == [[], [(b"x", b"y")], []]
        assert b"".join(e.data for e in events if isinstance(e, Data)) == b"abcde"


def test_bad_request_after_a_good_one():
    """RFC 9112 §9.3.2 / §11.2: the first request is delivered completely before the
    error in the second is reported."""
    raw = get(b"Content-Length: 2", method=b"POST", body=b"ok") + b"BAD\x01 / HTTP/1.1\r\n\r\n"
    events = assert_status(raw, 400)
    assert isinstance(events[0], Request)
    assert body_of(events) == b"ok"
    assert isinstance(events[-2], EndOfMessage)
    assert events[-1] is PAUSED


def test_error_is_sticky():
    """RFC 9112 §11.2: after a framing error nothing more is parsed; every later call
    raises the same status."""
    parser = RequestParser()
    parser.feed(b"GET  / HTTP/1.1\r\nHost: example.com\r\n\r\n")
    with pytest.raises(ProtocolError) as first:
        parser.next_event()
    assert first.value.status == 400
    for _ in range(3):
        parser.feed(get())
        with pytest.raises(ProtocolError) as again:
            parser.next_event()
        assert again.value.status == 400


def test_error_is_sticky_in_body():
    """RFC 9112 §11.2: the same after a chunked framing error."""
    parser = RequestParser()
    parser.feed(chunked(b"zz\r\n"))
    assert isinstance(parser.next_event(), Request)
    with pytest.raises(ProtocolError):
        parser.next_event()
    parser.feed(b"0\r\n\r\n")
    with pytest.raises(ProtocolError) as again:
        parser.next_event()
    assert again.value.status == 400


# -- end of input (RFC 9112 §8, §9.6) --------------------------------------------------
# RFC 9112 §8: a server that receives an incomplete request MAY send an error response
# before closing; this parser reports such a request as a 400 (never as a complete
# request, which would hand a truncated body to the application).


def test_eof_before_anything():
    """RFC 9112 §9.6: a client closing between requests is a normal close."""
    parser = RequestParser()
    parser.feed(b"")
    assert parser.next_event() is NEED_DATA


def test_eof_between_requests():
    """RFC 9112 §9.6: EOF after a complete request is a normal close: NEED_DATA."""
    events = parse_all(get() + get(), eof=True)
    assert sum(1 for e in events if isinstance(e, Request)) == 2
    parser = RequestParser()
    parser.feed(get())
    parser.feed(b"")
    assert isinstance(parser.next_event(), Request)
    assert isinstance(parser.next_event(), EndOfMessage)
    assert parser.next_event() is PAUSED
    parser.start_next_cycle()
    assert parser.next_event() is NEED_DATA


@pytest.mark.parametrize("raw", [
    b"G",
    b"GET / HTTP/1.1",
    b"GET / HTTP/1.1\r\nHost: example.com\r\n",
    b"GET / HTTP/1.1\r\nHost: example.com\r\n\r",
])
def test_eof_in_head(raw):
    """RFC 9112 §8: a head cut by the close is an incomplete message: 400."""
    assert_status(raw, 400, eof=True)


@pytest.mark.parametrize("body", [
    b"5\r\nhel",
    b"5",
    b"5\r\nhello",
    b"5\r\nhello\r",
    b"5\r\nhello\r\n",
    b"5\r\nhello\r\n0\r\n",
    b"5\r\nhello\r\n0\r\nx: 1\r\n",
    b"5\r\nhello\r\n0\r\n\r",
])
def test_eof_in_chunked_body(body):
    """RFC 9112 §8: a chunked message without its last chunk and trailer section is
    incomplete: 400."""
    assert_status(chunked(body), 400, eof=True)


def test_eof_in_content_length_body():
    """RFC 9112 §8: fewer than Content-Length octets before close is incomplete: 400."""
    events = assert_status(get(b"Content-Length: 10", method=b"POST", body=b"abc"), 400,
                           eof=True)
    assert body_of(events) == b"abc"


# -- the status does not depend on segmentation (found by bench/fuzz/http11.py) --------


@pytest.mark.parametrize(("raw", "limits", "status"), [
    # A first word that is no method, in a head too large: the method shows first
    # (at its SP, byte 16), the size only at byte 48.
    (b"b%20c?x=1&y=%2F HTTP/1.1\r\nHost: localhost:8000\r\nUser-Agent: fuzz\r\n\r\n",
     Limits(max_request_line=32, max_head=48, max_fields=1), 400),
    # A bare LF early in a head that is too large.
    (b"GET / HTTP/1.1\r\nA: 1\nB: " + b"b" * 100 + b"\r\n\r\n", Limits(max_head=64), 400),
    # A bare LF after the head grew too large: the 431 came first.
    (b"GET / HTTP/1.1\r\nB: " + b"b" * 100 + b"\nC: 1\r\n\r\n", Limits(max_head=64), 431),
    # A request-line too long that also holds a control character: the 414 shows
    # before the line is complete, the control character only with the whole head.
    (b"GET /" + b"a" * 40 + b"\x01 HTTP/1.1\r\nHost: a\r\n\r\n", Limits(max_request_line=20),
     414),
    # A method that is no token, and too many fields: the method shows first.
    (b"G(T / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", Limits(max_fields=1), 400),
])
def test_head_error_status_does_not_depend_on_segmentation(raw, limits, status):
    """RFC 9112 §2.2, §3, RFC 6585 §5: a head broken in several ways gets the status of
    the first fault a byte-by-byte arrival meets, whether it arrives whole, in two
    pieces or one byte at a time (it used to get 431 whole and 400 byte by byte)."""
    assert_status(raw, status, limits)
    assert_status(raw, status, limits, chunks=[len(raw) // 2])
    assert_status(raw, status, limits, chunks=range(len(raw)))


@pytest.mark.parametrize(("trailers", "status"), [
    (b"a: 1\nb: " + b"x" * 200 + b"\r\n\r\n", 400),  # bare LF before the limit
    (b"b: " + b"x" * 200 + b"\nc: 1\r\n\r\n", 431),  # bare LF after it
])
def test_trailer_error_status_does_not_depend_on_segmentation(trailers, status):
    """RFC 9112 §2.2, §7.1.2, RFC 6585 §5: the same for a trailer section."""
    raw = chunked(b"0\r\n" + trailers)
    limits = Limits(max_head=100)
    assert_status(raw, status, limits)
    assert_status(raw, status, limits, chunks=range(len(raw)))


def test_a_long_method_is_accepted_however_the_head_arrives():
    """RFC 9110 §9.1: a method is a token, of any length. One of 88 characters used to
    be refused (400) when the head came in pieces, the first 64 bytes holding no SP, and
    accepted when it came whole (found by bench/fuzz/http11.py)."""
    method = b"GET" + b"O" * 85
    raw = get(method=method)
    for chunks in (None, [70], range(len(raw))):
        assert first_request(raw) is not None
        events, error = collect(raw, chunks=chunks)
        assert error is None and isinstance(events[0], Request), (chunks, error)
        assert events[0].method == method


@pytest.mark.parametrize("raw", [b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # TLS
                                 b"GE\x00T / HTTP/1.1\r\n", b"\rGET / HTTP/1.1\r\n"])
def test_junk_before_the_method_is_refused_at_once(raw):
    """RFC 9112 §3: bytes that cannot begin a request-line (a TLS ClientHello on the
    plaintext port, a NUL in the method, a bare CR first) are refused as soon as they
    arrive, without waiting for the rest of a head."""
    parser = RequestParser()
    parser.feed(raw)
    with pytest.raises(ProtocolError) as info:
        parser.next_event()
    assert info.value.status == 400


def test_an_empty_line_before_the_request_line_byte_by_byte():
    """RFC 9112 §2.2: a CRLF before the request-line is ignored, also when its CR arrives
    alone."""
    raw = b"\r\n" + get()
    events, error = collect(raw, chunks=range(len(raw)))
    assert error is None and isinstance(events[0], Request)
