"""Request message-body framing on the wire (RFC 9112 §6-§8, RFC 9110 §8.6): what
Content-Length and Transfer-Encoding a server accepts, what it refuses, and the request
smuggling family (§6.1, §6.3, §11.2).

Most cases send a request followed, in the same write, by a second request with its own
probe id: a server that framed the first body right serves the second (or, where the
RFC demands it, closes before it); a server that framed it wrong either serves bytes of
the body as a request or swallows the next request as body. The verdict reads both the
wire and the side channel: which probe ids reached the app, and what body it was given.

Smuggling cases go further and hide a whole request *inside* the first one's body, where
only a server that picks the wrong framing would find it; that hidden request must never
reach the app.
"""

from __future__ import annotations

import gzip
import time

import pytest

from conformance.probe import Probe
from conformance.suite import _wire as w
from conformance.verdicts import non_strict, not_applicable

req = pytest.mark.requirement


# --- Content-Length -------------------------------------------------------------------------


@req("RFC9112-6.3-2")
@pytest.mark.parametrize("line", [
    pytest.param("Content-Length: 005", id="leading-zeros"),
    pytest.param("Content-Length:5", id="no-ows"),
    pytest.param("Content-Length: \t 5 \t", id="ows-around"),
])
def test_valid_content_length_frames_body(probe, line):
    """Content-Length = 1*DIGIT, with the field's optional whitespace around it: leading
    zeros and OWS are valid, so the value frames exactly 5 octets and the pipelined
    request after them is served."""
    follow_id, follow = w.follow(probe)
    conn = probe.connect()
    conn.send(w.head(probe, line) + b"hello" + follow)
    w.assert_served_in_order(probe, conn, b"hello", follow_id)


@req("RFC9112-6.3-4")
@pytest.mark.parametrize("value", [
    pytest.param(b"+5", id="plus"),
    pytest.param(b"-5", id="minus"),
    pytest.param(b"0x5", id="hex"),
    pytest.param(b"5.0", id="decimal-point"),
    pytest.param(b"0_5", id="underscore"),
    pytest.param("\u0665".encode(), id="arabic-indic-digit"),
    pytest.param(b"5 5", id="inner-space"),
    pytest.param(b"", id="empty"),
])
def test_invalid_content_length_refused(probe, value):
    """A Content-Length that is not 1*DIGIT is unrecoverable framing: 400, then close.
    (Each of these is a number to some integer parser: Python's int() takes "+5", "0_5"
    and Unicode digits, C's strtol takes "-5" and "0x5".) Neither the request nor the one
    pipelined after it reaches the app."""
    follow_id, follow = w.follow(probe)
    conn = probe.connect()
    conn.send(w.head(probe, b"Content-Length: " + value) + b"hello" + follow)
    w.assert_refused(probe, conn, (400,), others=[follow_id])


@req("RFC9112-6.3-4")
@pytest.mark.parametrize("lines", [
    pytest.param(["Content-Length: 5, 5"], id="list"),
    pytest.param(["Content-Length: 5,5"], id="list-no-space"),
    pytest.param(["Content-Length: 5", "Content-Length: 5"], id="two-lines"),
])
def test_equal_content_length_values(probe, lines):
    """Equal Content-Length values, as a list or on two lines: RFC 9112 §6.3 processes
    the message with the single value; RFC 9110 §8.6 also lets a recipient reject it.
    Either is a pass: 5 octets of body and the pipelined request served, or 400 and a
    closed connection with nothing served. Anything else mis-frames the stream."""
    follow_id, follow = w.follow(probe)
    conn = probe.connect()
    conn.send(w.head(probe, *lines) + b"hello" + follow)
    first = w.read(probe, conn)
    assert first is not None, w.silence(conn)
    if first.status == 400:
        probe.notes.append("the server refused equal Content-Length values (permitted)")
        assert conn.wait_closed(w.CLOSE_BOUND), "400 for the Content-Length but no close"
        assert not w.served(probe, [probe.id, follow_id]), "a refused request reached the app"
        return
    assert first.status == 200, f"status {first.status}: {w.head_text(first, conn)}"
    received, complete = w.app_body(probe)
    assert received == b"hello" and complete, f"the app read {received!r}"
    second = w.read(probe, conn, "GET")
    assert second is not None and second.status == 200, (
        f"the pipelined request was not answered: {w.head_text(second, conn)}"
    )
    assert w.served(probe, [follow_id]) == [follow_id], "the next response is not its"


@req("RFC9112-6.3-4")
@pytest.mark.parametrize("layout", ["two-lines-0-n", "two-lines-n-0", "list-n-0"])
def test_conflicting_content_lengths_refused(probe, layout):
    """Content-Length values that disagree (0 and the length of a request hidden in the
    body): 400 and close. A server taking the first value serves the hidden request; one
    taking the last swallows the next request as body; neither may reach the app."""
    hidden_id, hidden = w.smuggled(probe)
    follow_id, follow = w.follow(probe)
    n = str(len(hidden))
    lines = {
        "two-lines-0-n": ["Content-Length: 0", f"Content-Length: {n}"],
        "two-lines-n-0": [f"Content-Length: {n}", "Content-Length: 0"],
        "list-n-0": [f"Content-Length: {n}, 0"],
    }[layout]
    conn = probe.connect()
    conn.send(w.head(probe, *lines) + hidden + follow)
    w.assert_refused(probe, conn, (400,), others=[hidden_id, follow_id])


@req("RFC9110-8.6-1")
@pytest.mark.parametrize("value", [
    pytest.param(2**64 + 5, id="2^64+5"),
    pytest.param(2**63 + 5, id="2^63+5"),
    pytest.param(2**128 + 5, id="2^128+5"),
])
def test_huge_content_length_not_wrapped(probe, value):
    """A Content-Length of 2^64+5 is 5 to a parser that wraps at 64 bits (2^63+5 turns
    negative): then "hello" would be the body and the pipelined request served. The
    server may refuse the value (400/413), wait for that many octets or drop the request;
    what it must not do is wrap: the bytes after the head never complete the request nor
    become another one, and a 2xx (the request taken as complete) is only acceptable as
    the app's own answer after it was told the client was gone."""
    follow_id, follow = w.follow(probe)
    conn = probe.connect()
    conn.send(w.head(probe, f"Content-Length: {value}") + b"hello" + follow)
    response = w.read(probe, conn, timeout=0.3)
    probe.notes.append(f"first response: {w.head_text(response, conn)}")
    w.assert_not_answered_as_complete(probe, response)
    served = w.served(probe, [follow_id])
    received, complete = w.app_body(probe)
    assert not complete, f"the app was given a complete body of {len(received)} bytes"
    assert not served, "the request after the body's first 5 octets reached the app"


# --- incomplete bodies ----------------------------------------------------------------------


def _got_disconnect(probe: Probe) -> bool:
    return any(r.kind == "receive" and isinstance(r.data.get("event"), dict)
               and r.data["event"].get("type") == "http.disconnect"
               for r in probe.records())


@req("RFC9112-6.3-5")
@pytest.mark.parametrize("how", ["half-close", "chunked-close", "huge-length-close"])
def test_incomplete_body_never_complete(probe, how):
    """A body cut short by the client (half of a Content-Length body then a half-close; a
    chunked body stopped mid-chunk then a close; a huge Content-Length and no body then a
    close) is incomplete: the app never gets a final http.request and its receive()
    returns http.disconnect within 1 s. (A server that waits for the whole body before
    calling the app, and so never calls it, also complies.) After the half-close the
    server must close its side too."""
    args = {"respond": False, "timeout": 3.0}
    if how == "half-close":
        head = w.head(probe, "Content-Length: 1000", scenario="wait_disconnect", args=args)
        data = b"x" * 500
    elif how == "chunked-close":
        head = w.head(probe, "Transfer-Encoding: chunked", scenario="wait_disconnect",
                     args=args)
        data = b"3e8\r\n" + b"x" * 500
    else:
        head = w.head(probe, f"Content-Length: {2**62}", scenario="wait_disconnect",
                     args=args)
        data = b""
    conn = probe.connect()
    conn.send(head + data)
    called, _ = probe.log.wait(probe.id, lambda recs: any(r.kind == "call" for r in recs),
                               0.3)
    if called:
        time.sleep(0.05)  # let the server hand the app what it has
    if how == "half-close":
        conn.shutdown_write()
        server_closed = conn.wait_closed(w.CLOSE_BOUND)
    else:
        conn.close()
        server_closed = True
    if not called and not w.calls(probe, probe.id):
        assert server_closed, "the server kept the half-closed connection open"
        not_applicable("the server never called the app for the incomplete request (it "
                       "waits for the whole body first), so what the app would be given "
                       "cannot be judged")
    ok, _ = probe.log.wait(probe.id, lambda recs: _got_disconnect(probe), 1.0)
    received, complete = w.app_body(probe)
    assert not complete, (
        f"the app got a final http.request for a truncated body ({len(received)} bytes)"
    )
    assert ok, f"no http.disconnect within 1 s of the client leaving ({how})"
    assert server_closed, (
        f"the server kept the connection open {w.CLOSE_BOUND:g} s after the client's "
        f"half-close left the body incomplete"
    )


# --- chunked --------------------------------------------------------------------------------


@req("RFC9112-7.1-1")
@pytest.mark.parametrize("size_format", [
    pytest.param("%x", id="lowercase"),
    pytest.param("%X", id="uppercase"),
    pytest.param("%08x", id="zero-padded"),
])
def test_chunk_size_hex_forms(probe, size_format):
    """chunk-size is 1*HEXDIG: upper- and lower-case hex and leading zeros all frame the
    chunk (sizes 0x1a, 0xff and 0x1000 here); the pipelined request after the last chunk
    is served."""
    chunks = (b"a" * 0x1A, b"b" * 0xFF, b"c" * 0x1000)
    follow_id, follow = w.follow(probe)
    conn = probe.connect()
    conn.send(w.head(probe, "Transfer-Encoding: chunked")
              + w.chunked(*chunks, size_format=size_format) + follow)
    w.assert_served_in_order(probe, conn, b"".join(chunks), follow_id)


@req("RFC9112-7.1-1")
def test_empty_chunked_body(probe):
    """A chunked body of just the last chunk ("0" CRLF CRLF) is an empty, complete body;
    the pipelined request after it is served."""
    follow_id, follow = w.follow(probe)
    conn = probe.connect()
    conn.send(w.head(probe, "Transfer-Encoding: chunked") + b"0\r\n\r\n" + follow)
    w.assert_served_in_order(probe, conn, b"", follow_id)


@req("RFC9112-7.1-1")
def test_trailer_section_consumed(probe):
    """A trailer section of several fields is part of the chunked message: it is read to
    its empty line, so the pipelined request right after it is served."""
    follow_id, follow = w.follow(probe)
    trailers = b"X-Trailer-One: 1\r\nX-Trailer-Two: two, 2\r\nX-Checksum: abc\r\n"
    conn = probe.connect()
    conn.send(w.head(probe, "Transfer-Encoding: chunked", "Trailer: X-Trailer-One")
              + w.chunked(b"hello ", b"world", trailers=trailers) + follow)
    w.assert_served_in_order(probe, conn, b"hello world", follow_id)


@req("RFC9112-7.1-1")
def test_trailer_section_in_pieces(probe):
    """A trailer section that arrives in two pieces, cut after its first field line, is
    read to its empty line all the same: TCP keeps no message boundaries, so a parser
    that judges an incomplete trailer section as if it were whole (a lone LF counted where
    the CRLF has not arrived yet) rejects a valid request. The second piece goes once the
    app was called (or after 0.3 s, for a server that waits for the whole body)."""
    follow_id, follow = w.follow(probe)
    first_line = b"X-Trailer-One: 1\r\n"
    message = (w.head(probe, "Transfer-Encoding: chunked", "Trailer: X-Trailer-One")
               + w.chunked(b"hello ", b"world",
                           trailers=first_line + b"X-Trailer-Two: 2\r\n") + follow)
    cut = message.index(first_line) + len(first_line)
    conn = probe.connect()
    conn.send(message[:cut])
    probe.log.wait(probe.id, lambda recs: any(r.kind == "call" for r in recs), 0.3)
    conn.send(message[cut:])
    w.assert_served_in_order(probe, conn, b"hello world", follow_id)


_IGNORED = req("RFC9112-7.1.1-1")
_BWS = req("RFC9110-5.6.3-1")


@pytest.mark.parametrize("ext", [
    pytest.param(b";foo=bar", id="token-value", marks=_IGNORED),
    pytest.param(b';foo="a quoted; value"', id="quoted-value", marks=_IGNORED),
    pytest.param(b';foo="esc\\"aped"', id="quoted-pair", marks=_IGNORED),
    pytest.param(b";a=1;b=2;c", id="several", marks=_IGNORED),
    pytest.param(b" ;foo=bar", id="bws-before-semicolon", marks=_BWS),
    pytest.param(b"\t; foo = bar", id="bws-everywhere", marks=_BWS),
])
def test_chunk_extensions_ignored(probe, ext):
    """chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ): every
    shape is ignored, including quoted strings holding ";" or an escaped quote (RFC 9112
    §7.1.1) and the bad whitespace a recipient must parse and remove (RFC 9110 §5.6.3, the
    requirement the two BWS variants name)."""
    follow_id, follow = w.follow(probe)
    conn = probe.connect()
    conn.send(w.head(probe, "Transfer-Encoding: chunked")
              + w.chunked(b"hello", b" world", ext=ext) + follow)
    w.assert_served_in_order(probe, conn, b"hello world", follow_id)


@req("RFC9112-7.1.2-1")
@pytest.mark.parametrize("shape", ["new-field", "same-name-as-header"])
def test_trailers_not_merged_into_headers(probe, shape):
    """Request trailer fields stay out of the scope's headers (ASGI has no way to pass
    request trailers, so a server either drops them or, wrongly, merges them). With a
    header and a trailer of the same name, the scope keeps only the header's value."""
    if shape == "new-field":
        head = w.head(probe, "Transfer-Encoding: chunked", scenario="echo")
        name, expected = b"x-probe-trailer", []
    else:
        head = w.head(probe, "Transfer-Encoding: chunked", "X-Dup: from-header",
                     scenario="echo")
        name, expected = b"x-dup", [b"from-header"]
    trailer = name + b": from-trailer\r\n"
    conn = probe.connect()
    conn.send(head + w.chunked(b"data", trailers=trailer))
    response = w.read(probe, conn)
    assert response is not None and response.status == 200, (
        f"a chunked request with a trailer was not answered: {w.head_text(response, conn)}"
    )
    scope = probe.scope()
    values = [v for k, v in scope.get("headers", []) if k.lower() == name]
    assert values == expected, f"scope headers {name!r}: {values!r} (expected {expected!r})"


@req("RFC9112-7.1-2")
@pytest.mark.parametrize("body", [
    pytest.param(b"0x5\r\nhello\r\n0\r\n\r\n", id="0x-prefix"),
    pytest.param(b"+5\r\nhello\r\n0\r\n\r\n", id="plus"),
    pytest.param(b"-5\r\nhello\r\n0\r\n\r\n", id="minus"),
    pytest.param(b"5 \r\nhello\r\n0\r\n\r\n", id="trailing-space"),
    pytest.param(b" 5\r\nhello\r\n0\r\n\r\n", id="leading-space"),
    pytest.param(b"0_5\r\nhello\r\n0\r\n\r\n", id="underscore"),
    pytest.param(b"g\r\nhello\r\n0\r\n\r\n", id="not-hex"),
    pytest.param(b"\r\nhello\r\n0\r\n\r\n", id="empty-size"),
    pytest.param(b"5\r\nhelloXX\r\n0\r\n\r\n", id="data-overrun"),
    pytest.param(b"5\r\nhello0\r\n\r\n", id="no-crlf-after-data"),
    pytest.param(b"5\nhello\n0\n\n", id="bare-lf"),
])
def test_invalid_chunk_framing_refused(probe, body):
    """A chunk that does not match the grammar is refused (4xx, or a bare close), the
    connection closed, the app never given the body as complete, and the pipelined
    request never served. Recovering a size from "0x5", "+5" or "5 " is what a lenient
    front end may do differently, which is the smuggling gap; the RFC does not spell out
    the refusal, so a lenient server is non-strict."""
    follow_id, follow = w.follow(probe)
    conn = probe.connect()
    conn.send(w.head(probe, "Transfer-Encoding: chunked") + body + follow)
    w.assert_refused(probe, conn, (400, 413, 422), others=[follow_id], app_may_start=True,
                    response_required=False)


@req("RFC9112-7.1-3")
@pytest.mark.parametrize("size", [
    pytest.param(b"10000000000000005", id="2^64+5"),
    pytest.param(b"8000000000000005", id="2^63+5"),
    pytest.param(b"1" + b"0" * 31 + b"5", id="2^128+5"),
])
def test_huge_chunk_size_not_wrapped(probe, size):
    """A chunk-size of 2^64+5 is 5 to a parser that wraps at 64 bits (2^63+5 turns
    negative). The server may refuse it, wait for the data or drop the request; it never
    completes the request from the next bytes (nor answers 2xx as if it had), nor serves
    the one after it."""
    follow_id, follow = w.follow(probe)
    conn = probe.connect()
    conn.send(w.head(probe, "Transfer-Encoding: chunked")
              + size + b"\r\nhello\r\n0\r\n\r\n" + follow)
    response = w.read(probe, conn, timeout=0.3)
    probe.notes.append(f"first response: {w.head_text(response, conn)}")
    w.assert_not_answered_as_complete(probe, response)
    served = w.served(probe, [follow_id])
    received, complete = w.app_body(probe)
    assert not complete, f"the app was given a complete body {received[:40]!r}"
    assert not served, "the request after the chunk reached the app"


# --- Transfer-Encoding ----------------------------------------------------------------------


@req("RFC9112-6.3-3")
@pytest.mark.parametrize("lines", [
    pytest.param(["Transfer-Encoding: chunked, gzip"], id="chunked-gzip"),
    pytest.param(["Transfer-Encoding: chunked", "Transfer-Encoding: gzip"],
                 id="chunked-then-gzip-line"),
    pytest.param(["Transfer-Encoding: gzip"], id="gzip"),
    pytest.param(["Transfer-Encoding: identity"], id="identity"),
    pytest.param(["Transfer-Encoding: chunked, identity"], id="chunked-identity"),
    pytest.param(["Transfer-Encoding: x-custom"], id="unknown"),
])
def test_chunked_not_final_refused(probe, lines):
    """Transfer-Encoding present but chunked not the final coding (two field lines form
    one list; "identity" is no longer a transfer coding): the body length cannot be
    determined, so 400 and close (501 for a coding the server does not know is
    tolerated, RFC 9112 §6.1); the pipelined request is never served and the app is never
    given a body as complete. That the app is not even called is the suite's addition
    (the RFC asks for the 400 and the close): a server that calls it, then refuses, is
    non-strict."""
    follow_id, follow = w.follow(probe)
    conn = probe.connect()
    conn.send(w.head(probe, *lines) + w.chunked(b"hello") + follow)
    response = w.assert_refused(probe, conn, (400, 501), others=[follow_id],
                                app_may_start=True)
    if w.calls(probe, probe.id):
        received, _ = w.app_body(probe)
        non_strict(
            f"the server answered {response.status if response else 'nothing'} and closed "
            f"as RFC 9112 §6.3 requires (\"MUST respond with the 400 (Bad Request) status "
            f"code and then close the connection\"), but it had called the app for the "
            f"refused request first (the app read {received[:40]!r}, never a complete "
            f"body); keeping the app out is the suite's expectation, not the RFC's")


@req("RFC9112-6.1-4")
@pytest.mark.parametrize("coding", ["x-custom", "gzip"])
def test_unknown_transfer_coding_501(probe, coding):
    """A transfer coding before the final chunked that the server does not decode: 501
    (SHOULD). A server that decodes gzip and hands the app the plain bytes passes too.
    Passing the still-encoded bytes to the app as the body, or a 400, is non-strict."""
    plain = b"hello, coded world"
    data = gzip.compress(plain) if coding == "gzip" else plain
    conn = probe.connect()
    conn.send(w.head(probe, f"Transfer-Encoding: {coding}, chunked") + w.chunked(data))
    response = w.read(probe, conn)
    assert response is not None, w.silence(conn)
    if response.status == 501:
        return
    received, complete = w.app_body(probe)
    if response.status == 200 and complete and received == plain:
        probe.notes.append(f"the server decoded {coding}")
        return
    if response.status == 400:
        non_strict(f"400 rather than 501 for the unsupported coding {coding}: RFC 9112 "
                   f"§6.1 says such a server SHOULD respond with 501, and the 400 refuses "
                   f"the request all the same")
    raise AssertionError(
        f"the server answered {response.status} and the app read {received[:60]!r} "
        f"(complete={complete}): the {coding}-coded bytes, not the content"
    )


_CASE = req("RFC9112-7-1")


@pytest.mark.parametrize("line", [
    pytest.param("Transfer-Encoding: Chunked", id="capitalised", marks=_CASE),
    pytest.param("Transfer-Encoding: CHUNKED", id="uppercase", marks=_CASE),
    pytest.param("Transfer-Encoding: \t chunked \t", id="ows", marks=req("RFC9112-5.1-2")),
    pytest.param("TRANSFER-ENCODING: chunked", id="uppercase-name", marks=_CASE),
])
def test_chunked_coding_name_case_insensitive(probe, line):
    """Transfer-coding names are case-insensitive (field names too, and the field's
    surrounding whitespace is not part of its value, RFC 9112 §5.1, the requirement the
    "ows" variant names): each of these is chunked, decoded, and the pipelined request
    after it is served."""
    follow_id, follow = w.follow(probe)
    conn = probe.connect()
    conn.send(w.head(probe, line) + w.chunked(b"hello", b" world") + follow)
    w.assert_served_in_order(probe, conn, b"hello world", follow_id)


@req("RFC9112-6.1-6")
@pytest.mark.parametrize("with_length", [False, True], ids=["te", "te-and-cl"])
def test_transfer_encoding_in_http10(probe, with_length):
    """An HTTP/1.0 request (asking for keep-alive) with Transfer-Encoding, with or without
    Content-Length: the framing is faulty. Whatever the server answers, it closes the
    connection afterwards, and the request pipelined after the body is never served."""
    follow_id, follow = w.follow(probe)
    body = w.chunked(b"hello")
    lines = ["Connection: keep-alive", "Transfer-Encoding: chunked"]
    if with_length:
        lines.append(f"Content-Length: {len(body)}")
    conn = probe.connect()
    conn.send(w.head(probe, *lines, version="HTTP/1.0") + body + follow)
    response = w.read(probe, conn)
    closed = conn.wait_closed(w.CLOSE_BOUND)
    served = w.served(probe, [follow_id])
    assert not served, (
        f"the request after the HTTP/1.0 Transfer-Encoding body was served "
        f"(first response: {w.head_text(response, conn)})"
    )
    assert closed, (
        f"the connection stayed open after {w.head_text(response, conn)}; an HTTP/1.0 message "
        "with Transfer-Encoding must end its connection"
    )


# --- request smuggling ----------------------------------------------------------------------

# Layout (TE.CL): the body is chunked and the one chunk is a whole request; Content-Length
# covers only the chunk-size line. A server framing by Content-Length serves the hidden
# request; one framing by Transfer-Encoding hands it to the app as body bytes and must
# then close, so the request pipelined after the body is never served either.
SMUGGLING = [
    pytest.param(["{cl}", "Transfer-Encoding: chunked"], True, id="cl-then-te"),
    pytest.param(["Transfer-Encoding: chunked", "{cl}"], True, id="te-then-cl"),
    pytest.param(["Content-Length: abc", "Transfer-Encoding: chunked"], True,
                 id="bad-cl-and-te"),
    pytest.param(["{cl}", "Transfer-Encoding:\tchunked"], True, id="te-tab-ows"),
    pytest.param(["{cl}", "Transfer-Encoding:", " chunked"], True, id="te-obs-fold"),
    pytest.param(["{cl}", "Transfer-Encoding: xchunked"], False, id="te-xchunked"),
    pytest.param(["{cl}", "Transfer-Encoding: chunked\x0b"], False, id="te-vtab"),
    pytest.param(["{cl}", 'Transfer-Encoding: "chunked"'], False, id="te-quoted"),
    pytest.param(["{cl}", "Transfer-Encoding: chunked", "Transfer-Encoding: x"], False,
                 id="te-duplicate-lines"),
    pytest.param(["{cl}", "Transfer-Encoding : chunked"], False, id="te-space-before-colon"),
]


@req("RFC9112-6.1-5")
@pytest.mark.parametrize(("lines", "may_process"), SMUGGLING)
def test_content_length_and_transfer_encoding(probe, lines, may_process):
    """Content-Length together with a Transfer-Encoding (plain, or disguised as
    obfuscations front ends are known to read differently): the server refuses it (400,
    or 501 for an unknown coding) or processes it as chunked, and either way closes the
    connection afterwards. Neither the request hidden in the chunk nor the one pipelined
    after the body ever reaches the app. Only a recognisable chunked coding may be
    processed; "xchunked", a quoted or VT-suffixed value, a duplicate TE line making
    chunked non-final and whitespace before the colon (RFC 9112 §5.1: 400) must be
    refused."""
    hidden_id, hidden = w.smuggled(probe)
    follow_id, follow = w.follow(probe)
    size_line = b"%x\r\n" % len(hidden)
    body = size_line + hidden + b"\r\n0\r\n\r\n"
    head = w.head(probe, *[line.replace("{cl}", f"Content-Length: {len(size_line)}")
                          for line in lines])
    conn = probe.connect()
    conn.send(head + body + follow)
    response = w.read(probe, conn)
    allowed = (400, 501, 200) if may_process else (400, 501)
    assert response is None or response.status in allowed, (
        f"the server answered {response.status}, expected one of {allowed}: "
        f"{w.head_text(response, conn)}; smuggled requests that reached the app so far: "
        f"{w.served(probe, [hidden_id, follow_id])}"
    )
    closed = conn.wait_closed(w.CLOSE_BOUND)
    served = w.served(probe, [hidden_id, follow_id])
    assert not served, (
        f"smuggled: {served} reached the app (first response "
        f"{w.head_text(response, conn)}; then {conn.unread()[:160]!r})"
    )
    assert response is not None, w.silence(conn)
    if response.status == 200:
        received, complete = w.app_body(probe)
        assert complete and received == hidden, (
            f"processed, but not as chunked: the app read {received[:60]!r}"
        )
    assert closed, (
        f"the connection stayed open {w.CLOSE_BOUND:g} s after {response.status} to a "
        "request with both Content-Length and Transfer-Encoding"
    )


# --- bodies the framing does not announce ---------------------------------------------------


@req("RFC9112-6.3-6")
def test_request_without_framing_has_empty_body(probe):
    """A POST with neither Content-Length nor Transfer-Encoding has no body: the app gets
    an empty, complete body, and the bytes after the head are the next request, which is
    served. (411 Length Required is allowed for the POST.)"""
    follow_id, follow = w.follow(probe)
    conn = probe.connect()
    conn.send(w.head(probe) + follow)
    first = w.read(probe, conn)
    assert first is not None, w.silence(conn)
    if first.status == 411:
        probe.notes.append("411 Length Required for a POST without a length")
        return
    assert first.status == 200, f"status {first.status}: {w.head_text(first, conn)}"
    received, complete = w.app_body(probe)
    assert received == b"" and complete, (
        f"the app read {received[:80]!r} (complete={complete}) for a body-less POST"
    )
    second = w.read(probe, conn, "GET")
    assert second is not None and second.status == 200, (
        f"the next request was not answered: {w.head_text(second, conn)}"
    )
    assert w.served(probe, [follow_id]) == [follow_id]


@req("RFC9112-9.3-5")
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_unread_body_drained_or_closed(probe, framing):
    """The app answers without reading the request body, and that body is itself a
    request. The server must read (discard) the body or close after its response: either
    the pipelined request is served next, or the connection closes; the request in the
    body never reaches the app."""
    hidden_id, hidden = w.smuggled(probe)
    follow_id, follow = w.follow(probe)
    args = {"read_body": False, "status": 200,
            "headers": [(b"content-length", b"5")], "body": b"early"}
    if framing == "content-length":
        head = w.head(probe, f"Content-Length: {len(hidden)}", scenario="respond", args=args)
        body = hidden
    else:
        head = w.head(probe, "Transfer-Encoding: chunked", scenario="respond", args=args)
        body = w.chunked(hidden)
    conn = probe.connect()
    conn.send(head + body + follow)
    first = w.read(probe, conn)
    assert first is not None and first.body == b"early", (
        f"the app's early response did not arrive: {w.head_text(first, conn)}"
    )
    second = w.read(probe, conn, "GET")
    served = w.served(probe, [hidden_id])
    assert not served, (
        f"the unread body was parsed as a request (next response {w.head_text(second, conn)})"
    )
    if second is None:
        assert conn.peer_closed, "the next request got no answer and the connection is open"
        return
    assert second.status == 200 and w.served(probe, [follow_id]) == [follow_id], (
        f"after the early response the server answered {w.head_text(second, conn)} rather than "
        "the pipelined request"
    )
