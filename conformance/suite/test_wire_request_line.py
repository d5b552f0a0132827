"""The request-line and message parsing on the wire (RFC 9112 §2-§3, RFC 9110 §6.2 and
§9.1): line ends, methods, separators, request-target forms, versions.

Each case sends a hand-built request head (``_wire.request_head``), mostly on a fresh
connection, and judges the answer and, through the probe id, whether the app ran and what
it saw. A request the server rejects must never reach the app. Much of this is SHOULD in
the RFC ("respond with 400"); where the RFC lets a server choose (a MAY leniency, a
SHOULD), each docstring says which outcomes pass and which are non-strict.
"""

from __future__ import annotations

import re
import time

import pytest

from conformance.suite._wire import (
    CLIENT_ERRORS,
    READ_TIMEOUT,
    assert_rejected,
    assert_served,
    host_value,
    ran,
    send,
)
from conformance.suite._wire import request_head as head
from conformance.verdicts import non_strict

req = pytest.mark.requirement


# --- RFC 9112 §2.2: line ends and empty lines ---------------------------------------------


def _all_bytes_seen(scope) -> list[bytes]:
    """Every byte string derived from the request that the app saw."""
    seen: list[bytes] = []
    for key in ("method", "path"):
        value = scope.get(key)
        if isinstance(value, str):
            seen.append(value.encode("utf-8", "surrogateescape"))
    for key in ("raw_path", "query_string"):
        if isinstance(scope.get(key), bytes):
            seen.append(scope[key])
    for pair in scope.get("headers") or ():
        seen.extend(part for part in pair if isinstance(part, bytes))
    return seen


@req("RFC9112-2.2-3")
def test_empty_line_before_first_request(probe):
    """A CRLF before the first request-line on a connection is skipped and the request
    served (SHOULD: a 400 here is non-strict)."""
    outcome = send(probe, b"\r\n" + head(probe, b"GET /after-crlf HTTP/1.1"))
    assert_served(outcome, "CRLF, then GET /after-crlf HTTP/1.1")
    assert outcome.scope.get("path") == "/after-crlf", outcome.seen()


@req("RFC9112-2.2-3")
def test_empty_line_after_post_body(probe):
    """The case §2.2 names: an old client's extra CRLF after a POST body, before the next
    request on the same connection. Both requests are served (SHOULD: a 400 for the second
    is non-strict)."""
    second_id = f"{probe.id}.second"
    conn = probe.connect()
    conn.send(head(probe, b"POST /first HTTP/1.1", b"Content-Length: 4", body=b"data")
              + b"\r\n"
              + head(probe, b"GET /second HTTP/1.1", probe_id=second_id))
    first = probe.read(conn, "POST")
    assert first.status == 200, f"the POST got {first.status}"
    second = probe.read(conn, "GET", 1.0)
    assert second.status == 200 and ran(probe, second_id), (
        f"the GET after the extra CRLF got {second.status} "
        f"{second.reason.decode('latin-1')}"
        + ("" if ran(probe, second_id) else " and never reached the app")
    )


@req("RFC9112-2.2-6")
def test_request_cut_between_cr_and_lf(probe):
    """A valid request whose every CRLF is cut between two writes (the CR ends one
    segment, the LF opens the next) is served like the same octets sent at once: a parser
    that judges each read on its own takes the LF that opens a read for a bare LF."""
    pieces = re.split(rb"(?<=\r)(?=\n)", head(probe, b"GET /cut HTTP/1.1"))
    conn = probe.connect()
    conn.send_pieces(pieces[:-1])
    time.sleep(0.05)  # the last piece in a segment of its own, too
    outcome = send(probe, pieces[-1], conn=conn)
    assert_served(outcome, f"GET /cut HTTP/1.1 in {len(pieces)} writes, cut inside each CRLF")
    assert outcome.scope.get("path") == "/cut", outcome.seen()


@req("RFC9112-2.2-1")
@pytest.mark.parametrize("where", ["every-line", "one-field-line"])
def test_bare_lf_line_end(probe, where):
    """A bare LF as line end: a server MAY read it as CRLF (then the request is served as
    sent: pass) or treat the head as malformed (400: pass). Misreading it, say a field
    value that swallows the next line, or no answer at all, deviates (MAY: non-strict)."""
    if where == "every-line":
        data = head(probe, b"GET /lf HTTP/1.1", b"X-A: 1", b"X-B: 2", eol=b"\n")
    else:
        data = head(probe, b"GET /lf HTTP/1.1", b"X-A: 1\nX-B: 2")
    outcome = send(probe, data)
    if not outcome.served:
        assert_rejected(outcome, f"bare LF ({where})")
        return
    assert_served(outcome, f"bare LF ({where})")
    got = (outcome.scope.get("path"), outcome.header_values(b"x-a"),
           outcome.header_values(b"x-b"))
    assert got == ("/lf", [b"1"], [b"2"]), (
        f"bare LF ({where}) accepted but misread: {outcome.seen()}"
    )


BARE_CR = {
    "in-target": (b"GET /a\rb HTTP/1.1", ()),
    "after-version": (b"GET / HTTP/1.1\r", ()),
    "in-field-value": (b"GET / HTTP/1.1", (b"X-A: a\rb",)),
    "in-field-name": (b"GET / HTTP/1.1", (b"X-\rA: v",)),
    "before-crlf": (b"GET / HTTP/1.1", (b"X-A: v\r",)),
}


@req("RFC9112-2.2-2")
@pytest.mark.parametrize("where", list(BARE_CR))
def test_bare_cr_never_reaches_app(probe, where):
    """A CR not followed by LF inside the head: the server MUST treat the element as
    invalid (reject: any 4xx, or a close) or replace the CR with SP. Either way the app
    never sees a CR; a CR passed through is how header injection starts."""
    line, fields = BARE_CR[where]
    outcome = send(probe, head(probe, line, *fields))
    if not outcome.served:
        assert_rejected(outcome, f"bare CR {where}", CLIENT_ERRORS, close_ok=True)
        return
    with_cr = [value for value in _all_bytes_seen(outcome.scope) if b"\r" in value]
    assert not with_cr, f"bare CR {where}: the app saw {with_cr!r} ({outcome.seen()})"


@req("RFC9112-2.2-4")
@pytest.mark.parametrize("indent", [b" ", b"\t"], ids=["sp", "htab"])
def test_whitespace_line_after_request_line(probe, indent):
    """A field line starting with whitespace right after the request-line (no field to
    fold into): rejected (a 4xx or a close) or ignored with its continuation lines. It
    must never surface as a field, the app seeing "x-junk" or a name with whitespace."""
    outcome = send(probe, head(probe, b"GET / HTTP/1.1\r\n" + indent + b"X-Junk: 1"))
    if not outcome.served:
        assert_rejected(outcome, "whitespace-led first field line", CLIENT_ERRORS,
                        close_ok=True)
        return
    junk = [pair for pair in outcome.scope.get("headers") or ()
            if b"junk" in bytes(pair[0]).lower() or pair[0][:1] in (b" ", b"\t")]
    assert not junk, f"the whitespace-led line reached the app as {junk!r}"


@req("RFC9112-2.2-5")
@pytest.mark.parametrize(
    "bad_line",
    [b"GE(T / HTTP/1.1", b"GET / HTTP/1.1\r\nX-A : 1"],
    ids=["bad-request-line", "bad-field-line"],
)
def test_malformed_request_closes_connection(probe, bad_line):
    """A malformed request pipelined with a good one: 400, then the connection closes,
    so the good request (whose framing after a broken head nobody can vouch for) is
    never served. SHOULD: serving it is non-strict."""
    second_id = f"{probe.id}.after"
    outcome = send(probe, head(probe, bad_line)
                   + head(probe, b"GET /after HTTP/1.1", probe_id=second_id))
    assert_rejected(outcome, f"{bad_line!r}")
    closed = outcome.conn.wait_closed(0.5)
    assert not ran(probe, second_id), (
        "the request pipelined after the malformed one reached the app"
    )
    assert closed, "the connection stayed open after the 400 for a malformed request"


# --- RFC 9110 §9.1, RFC 9112 §3: methods and separators -----------------------------------


@req("RFC9110-9.1-1")
@pytest.mark.parametrize("method", ["M-SEARCH", "PURGE", "BREW", "A!#$%&'*+-.^_`|~Z"],
                         ids=["m-search", "purge", "brew", "all-tchars"])
def test_extension_method_reaches_app(probe, method):
    """Any token is a method: the app sees an extension method exactly as sent. A server
    that will not pass it on should answer 501 (Not Implemented, pass); a 400 calls a
    valid request malformed (SHOULD: non-strict)."""
    outcome = send(probe, head(probe, method.encode() + b" /m HTTP/1.1"))
    if outcome.status == 501 and not outcome.served:
        return
    assert_served(outcome, f"{method} /m HTTP/1.1")
    assert outcome.scope.get("method") == method, outcome.seen()


@req("RFC9112-3-3")
@pytest.mark.parametrize(
    "method",
    [b"GE(T", b"G@T", b"G,T", b'G"T', b"G{T", b"G\xc9T", b"GE\x00T"],
    ids=["paren", "at", "comma", "quote", "brace", "non-ascii", "nul"],
)
def test_method_not_a_token(probe, method):
    """A method with a byte outside tchar is no method at all: 400, and the app never
    runs (§3 also warns against autocorrecting and processing such a request)."""
    outcome = send(probe, head(probe, method + b" / HTTP/1.1"))
    assert_rejected(outcome, f"method {method!r}")


SEPARATORS = {
    "double-sp": b"GET  / HTTP/1.1",
    "leading-sp": b" GET / HTTP/1.1",
    "trailing-sp": b"GET / HTTP/1.1 ",
    "htab": b"GET\t/ HTTP/1.1",
    "vt": b"GET /\x0bHTTP/1.1",
}


@req("RFC9112-3-1")
@pytest.mark.parametrize("name", list(SEPARATORS))
def test_request_line_separators(probe, name):
    """The grammar wants exactly one SP between method, target and version. Rejecting
    anything else with 400 passes. §3 lets a server parse on whitespace boundaries
    instead (non-strict: lenient parsing is what request smuggling feeds on); it must
    then read exactly GET, / and HTTP/1.1."""
    line = SEPARATORS[name]
    outcome = send(probe, head(probe, line))
    if outcome.served:
        scope = outcome.scope
        parsed = (scope.get("method"), scope.get("path"), scope.get("http_version"))
        assert parsed == ("GET", "/", "1.1"), f"{line!r} misread: {outcome.seen()}"
        non_strict(f"served {line!r}, parsed on whitespace boundaries as §3 permits")
    assert_rejected(outcome, f"request-line {line!r}")


# --- RFC 9112 §3.2: request-target forms ----------------------------------------------------

INVALID_TARGETS = {
    "space": b"/a b",
    "htab": b"/a\tb",
    "nul": b"/a\x00b",
    "ctl": b"/a\x01b",
    "del": b"/a\x7fb",
    "non-ascii": b"/caf\xc3\xa9",
    "quote": b'/a"b',
}


@req("RFC9112-3-3")
@pytest.mark.parametrize("name", list(INVALID_TARGETS))
def test_invalid_target(probe, name):
    """Whitespace, controls, raw non-ASCII bytes and the characters URIs exclude (RFC 3986:
    '"' for one) have no place in a request-target: 400, or a 301 to the properly
    encoded target, and the app never sees it."""
    target = INVALID_TARGETS[name]
    outcome = send(probe, head(probe, b"GET " + target + b" HTTP/1.1"))
    assert_rejected(outcome, f"target {target!r}", (400, 301))


@req("RFC9112-3.2.1-1")
def test_target_without_leading_slash(probe):
    """"abc" is no request-target form (origin-form starts with "/"): 400."""
    outcome = send(probe, head(probe, b"GET abc HTTP/1.1"))
    assert_rejected(outcome, "target 'abc'", (400, 301))


@req("RFC9112-3.2.1-1")
def test_fragment_in_target(probe):
    """A fragment is never part of a request-target: 400 passes; serving the request
    with the fragment cut off is non-strict; an app path that keeps "#frag" is a
    resource that does not exist (SHOULD: non-strict too, with that message)."""
    outcome = send(probe, head(probe, b"GET /p#frag HTTP/1.1"))
    if outcome.served:
        path = outcome.scope.get("path")
        assert path == "/p", f"/p#frag served with the fragment kept: {outcome.seen()}"
        non_strict("served /p#frag as /p (fragment dropped) instead of answering 400: the "
                   "fragment is the client's fault (RFC 9112 §3.2.1: \"a client MUST send "
                   "only the absolute path and query\"), and no sentence makes the server "
                   "refuse it")
    assert_rejected(outcome, "target /p#frag", (400, 301))


@req("RFC9112-3.2.1-2")
def test_double_slash_path_is_a_path(probe):
    """"//evil.example/p" is an origin-form path with an empty first segment, not a
    network-path reference: it is served and the app's path (and raw_path) is exactly
    that, with no authority taken from it."""
    outcome = send(probe, head(probe, b"GET //evil.example/p?q=1 HTTP/1.1"))
    assert_served(outcome, "GET //evil.example/p?q=1")
    scope = outcome.scope
    assert scope.get("path") == "//evil.example/p", outcome.seen()
    assert scope.get("query_string") == b"q=1", outcome.seen()
    assert scope.get("raw_path") in (None, b"//evil.example/p"), outcome.seen()


@req("RFC9112-3.2.2-1")
def test_absolute_form_accepted(probe):
    """GET http://host:port/abs HTTP/1.1 (with a matching Host) is served."""
    target = b"http://" + host_value(probe) + b"/abs"
    outcome = send(probe, head(probe, b"GET " + target + b" HTTP/1.1"))
    assert_served(outcome, f"absolute-form {target!r}")


@req("RFC9112-3.3-1")
@pytest.mark.parametrize(
    ("suffix", "path", "query"),
    [(b"/abs/p%20q", "/abs/p q", b""), (b"/abs?x=1&y", "/abs", b"x=1&y")],
    ids=["path", "path-and-query"],
)
def test_absolute_form_path_and_query(probe, suffix, path, query):
    """For an absolute-form target the app gets the URI's path and query, as for the
    origin-form: an app routing on path must not see "http://host/...". Derived (so
    non-strict when not met): RFC 9112 §3.3 has the server parse the URI into its
    components, but ASGI defines ``path`` as the "HTTP request target excluding any query
    string", which for this form is the whole URI. (Accepting the form at all, a MUST,
    is test_absolute_form_accepted.)"""
    target = b"http://" + host_value(probe) + suffix
    outcome = send(probe, head(probe, b"GET " + target + b" HTTP/1.1"))
    assert_served(outcome, f"absolute-form {target!r}")
    scope = outcome.scope
    raw = suffix.partition(b"?")[0]
    assert (scope.get("path"), scope.get("query_string")) == (path, query), (
        f"the app's path is not the URI's path component ({outcome.seen()}); ASGI's "
        f"definition of path (the request target without the query) allows the whole URI")
    assert scope.get("raw_path") in (None, raw), outcome.seen()


@req("RFC9112-3.2.2-2")
def test_absolute_form_host_mismatch(probe):
    """An origin server ignores Host for an absolute-form target, so a Host that differs
    from the URI's authority is no reason to refuse: served. Whether the app's host field
    is the sent one or rewritten to the URI's is the server's choice; there is one."""
    sent = host_value(probe)
    outcome = send(probe, head(probe, b"GET http://other.example/abs HTTP/1.1"))
    assert_served(outcome, "absolute-form for other.example with Host " + sent.decode())
    hosts = outcome.header_values(b"host")
    assert hosts in ([sent], [b"other.example"]), f"the app saw host {hosts!r}"


@req("RFC9112-3.2.3-1")
def test_authority_form_with_get(probe):
    """host:port is a CONNECT-only target: GET with it is an invalid request-line: 400."""
    outcome = send(probe, head(probe, b"GET " + host_value(probe) + b" HTTP/1.1"))
    assert_rejected(outcome, "GET with an authority-form target", (400, 301))


@req("RFC9112-3.2.4-1")
def test_asterisk_form_with_get(probe):
    """"*" is an OPTIONS-only target: GET * is an invalid request-line: 400."""
    outcome = send(probe, head(probe, b"GET * HTTP/1.1"))
    assert_rejected(outcome, "GET *", (400, 301))


@req("RFC9112-3.2.4-2")
def test_asterisk_form_with_options(probe):
    """OPTIONS * HTTP/1.1 asks about the server as a whole: a valid request, served, the
    app seeing method OPTIONS."""
    outcome = send(probe, head(probe, b"OPTIONS * HTTP/1.1"), method="OPTIONS")
    assert_served(outcome, "OPTIONS *")
    assert outcome.scope.get("method") == "OPTIONS", outcome.seen()


@req("RFC9112-3-2")
@pytest.mark.parametrize("connection", ["fresh", "reused"])
def test_long_target(probe, connection):
    """A 96 KiB request-target, beyond common limits, sent in one write: a server that
    will not parse it MUST say 414 (URI Too Long), not 400 or 431 (which blame the fields)
    or a bare close. Serving it passes too, if the app gets the whole path.

    A short request goes first, as a control: on its own connection ("fresh": the long
    head may well arrive in one read) or on the same keep-alive connection ("reused"). The
    status must not depend on how the bytes were segmented. (The control also puts the
    probe id in the evidence, which is cut after 4 KiB per connection.)"""
    control = probe.connect()
    control.send(head(probe, b"GET /short HTTP/1.1", probe_id=f"{probe.id}.short"))
    first = probe.read(control, "GET", READ_TIMEOUT)
    assert first.status == 200, f"the short control request got {first.status}"
    conn = control if connection == "reused" and first.keep_alive else probe.connect()
    path = "/" + "t" * (96 * 1024)
    outcome = send(probe, head(probe, b"GET " + path.encode() + b" HTTP/1.1"), timeout=2.0,
                   conn=conn)
    if outcome.served:
        assert outcome.scope.get("path") == path, (
            f"the app got a path of {len(outcome.scope.get('path') or '')} characters, "
            f"{len(path)} were sent"
        )
        return
    assert_rejected(outcome, f"a {len(path)}-byte request-target ({connection} connection)",
                    (414,))


# --- RFC 9112 §2.3, RFC 9110 §6.2: versions --------------------------------------------------


@req("RFC9110-6.2-1")
@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_response_version_is_highest_supported(probe, version):
    """The status line says HTTP/1.1 whether the request said 1.0 or 1.1: the server's
    highest version within the request's major (SHOULD: HTTP/1.0 is non-strict)."""
    outcome = send(probe, head(probe, f"GET / HTTP/{version}".encode()))
    assert_served(outcome, f"GET / HTTP/{version}")
    assert outcome.response is not None
    assert outcome.response.http_version == "1.1", (
        f"an HTTP/{version} request got an HTTP/{outcome.response.http_version} response"
    )


@req("RFC9110-6.2-2")
@pytest.mark.parametrize("version", ["1.2"])
def test_higher_minor_version_served_as_1_1(probe, version):
    """HTTP/1.2 is still HTTP/1 syntax: the server processes it as 1.1,
    so it is served and the app sees http_version "1.1" (SHOULD: a 505 or 400, or "1.2"
    passed to the app, is non-strict)."""
    outcome = send(probe, head(probe, f"GET / HTTP/{version}".encode()))
    assert_served(outcome, f"GET / HTTP/{version}")
    assert outcome.scope.get("http_version") == "1.1", outcome.seen()


@req("RFC9110-6.2-3")
@pytest.mark.parametrize("version", ["2.0", "3.0", "0.9"])
def test_unsupported_major_version(probe, version):
    """An HTTP/1 request-line naming another major version: 505 passes; another 4xx
    refuses it too (non-strict: 505 says why); serving it hands the app a request of a
    version the connection does not speak (MAY: non-strict, with that message)."""
    outcome = send(probe, head(probe, f"GET / HTTP/{version}".encode()))
    if outcome.served:
        raise AssertionError(f"HTTP/{version} served: {outcome.seen()}")
    if outcome.status == 505:
        return
    assert_rejected(outcome, f"HTTP/{version}", CLIENT_ERRORS, close_ok=True)
    non_strict(f"HTTP/{version} refused with {outcome.answer()} rather than 505: RFC 9110 "
               f"§6.2 says a server \"can send a 505\" (MAY), and the 4xx refuses it too")


MALFORMED_VERSIONS = {
    "no-minor": b"HTTP/1",
    "lowercase": b"http/1.1",
    "three-parts": b"HTTP/1.1.1",
    "leading-zero": b"HTTP/01.1",
    "two-digit-minor": b"HTTP/1.10",
    "letter": b"HTTP/1.x",
    "wrong-name": b"HTTPS/1.1",
}


@req("RFC9112-2.3-1")
@pytest.mark.parametrize("name", [*MALFORMED_VERSIONS, "missing"])
def test_malformed_version(probe, name):
    """HTTP-version is exactly "HTTP/" DIGIT "." DIGIT, case-sensitive: anything else gets
    400 and the app never runs. A request-line without a version (HTTP/0.9 style "GET /",
    here followed by fields) is no HTTP/1.x request either: 400 or a plain close."""
    missing = name == "missing"
    line = b"GET /" if missing else b"GET / " + MALFORMED_VERSIONS[name]
    outcome = send(probe, head(probe, line))
    assert_rejected(outcome, f"request-line {line!r}", close_ok=missing)
