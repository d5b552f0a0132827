"""Wire cases found by differential testing (``python -m conformance differential``):
disagreements between servers that an RFC sentence decides and that no other written
case covered, turned into cases that judge one server on their own.

Where a cluster came from is named in each case's docstring (its mutation family), so
the differential report and the suite can be read side by side.
"""

from __future__ import annotations

import pytest

from conformance.suite import _wire as w
from conformance.verdicts import non_strict

req = pytest.mark.requirement


@req("RFC9112-6.3-2")
@pytest.mark.parametrize("offer", [
    pytest.param(["Connection: Upgrade", "Upgrade: frob/1"], id="unknown-protocol"),
    pytest.param(["Connection: keep-alive, Upgrade", "Upgrade: frob/1, other/2"],
                 id="two-unknown-protocols"),
])
def test_upgrade_not_taken_keeps_the_body(probe, offer):
    """A request offering an Upgrade to a protocol the server does not speak is an
    ordinary request once the server ignores the offer (RFC 9110 §7.8: "A server MAY
    ignore a received Upgrade header field"): its Content-Length frames its body (RFC
    9112 §6.3), which reaches the app whole, and the request pipelined after it is served
    next. A server that hands the app an empty body and drops the octets has read a
    different message than the client sent (differential cluster: ``upgrade``, uvicorn
    with httptools). Refusing the offer outright (4xx) instead is non-strict: nothing
    forbids it, nothing asks for it."""
    follow_id, follow = w.follow(probe)
    conn = probe.connect()
    conn.send(w.head(probe, *offer, "Content-Length: 5") + b"hello" + follow)
    first = w.read(probe, conn)
    if first is not None and 400 <= first.status < 500 and not w.ran(probe, probe.id):
        non_strict(f"the Upgrade offer was refused ({w.head_text(first)}) rather than "
                   "ignored (RFC 9110 §7.8 lets a server ignore it)")
    assert first is not None, w.silence(conn)
    assert first.status == 200, f"the request got {w.head_text(first, conn)}"
    received, complete = w.app_body(probe)
    assert received == b"hello" and complete, (
        f"the app read {received[:80]!r} (complete={complete}) of a 5-octet body the "
        "Content-Length framed: the Upgrade offer changed how the body was read"
    )
    second = w.read(probe, conn, "GET", timeout=1.0)
    assert second is not None and second.status == 200, (
        f"the request pipelined after it was not answered ({w.head_text(second)}); "
        f"unread {conn.unread()[:200]!r}"
    )
    assert w.served(probe, [follow_id]) == [follow_id], (
        "the response after the first one was not the pipelined request's"
    )


@req("RFC9112-5.1-1")
@pytest.mark.parametrize("trailer", [
    pytest.param(b"X-Trailer : a", id="space"),
    pytest.param(b"X-Trailer\t: a", id="tab"),
])
def test_trailer_whitespace_before_colon_refused(probe, trailer):
    """A trailer field is a field line like any header (RFC 9112 §7.1.2: trailer-section
    = *( field-line CRLF )), so whitespace between its name and the colon makes the
    request one the server MUST reject with 400 (RFC 9112 §5.1), even though the body
    before it was fine (differential cluster: ``trailer``, served by daphne and gunicorn,
    answered 200 by granian). The app may have started on the body, but never gets it as
    complete, and the request pipelined after it is never served."""
    follow_id, follow = w.follow(probe)
    conn = probe.connect()
    conn.send(w.head(probe, "Transfer-Encoding: chunked")
              + w.chunked(b"hello", trailers=trailer + b"\r\n") + follow)
    w.assert_refused(probe, conn, (400,), others=[follow_id], app_may_start=True)
