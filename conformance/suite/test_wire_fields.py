"""Header fields on the wire (RFC 9112 §3.2 and §5, RFC 9110 §5 and §7.2, RFC 6585 §5):
Host, field-line syntax, what the app sees of field values, and oversized fields.

Each case sends a hand-built request head (``_wire.request_head``), mostly on a fresh
connection, and judges the answer and, through the probe id, whether the app ran and what
it saw. A request the server rejects must never reach the app. Header names arriving
lowercased, in order, duplicates kept and values byte-exact are the ASGI cases'
(test_http_scope.py); these are the wire rules underneath.
"""

from __future__ import annotations

import re

import pytest

from conformance.suite._wire import (
    CLIENT_ERRORS,
    assert_closed,
    assert_rejected,
    assert_served,
    host_value,
    send,
)
from conformance.suite._wire import request_head as head
from conformance.verdicts import non_strict, not_applicable

req = pytest.mark.requirement

GET = b"GET / HTTP/1.1"


# --- Host (RFC 9112 §3.2, RFC 9110 §7.2) -----------------------------------------------------


@req("RFC9112-3.2-1")
def test_http11_without_host(probe):
    """An HTTP/1.1 request without Host: 400, never the app."""
    outcome = send(probe, head(probe, GET, host=False))
    assert_rejected(outcome, "HTTP/1.1 without Host")


@req("RFC9112-3.2-2")
@pytest.mark.parametrize(
    ("version", "second"),
    [("1.1", b"other.example"), ("1.1", None), ("1.0", b"other.example")],
    ids=["differing", "identical", "http10-differing"],
)
def test_two_host_fields(probe, version, second):
    """Two Host lines, even equal ones and even in HTTP/1.0: 400 (which Host a server or
    a proxy in front of it believes is how requests get routed to the wrong place)."""
    line = f"GET / HTTP/{version}".encode()
    outcome = send(probe, head(probe, line, b"Host: " + (second or host_value(probe))))
    assert_rejected(outcome, f"HTTP/{version} with two Host fields")


INVALID_HOSTS = {
    "space": b"a b.example",
    "slash": b"a.example/b",
    "userinfo": b"user@a.example",
    "port-not-digits": b"a.example:xy",
    "two-ports": b"a.example:80:80",
    "unclosed-ipv6": b"[::1",
}


@req("RFC9112-3.2-3")
@pytest.mark.parametrize(("version", "name"), [
    *(("1.1", name) for name in INVALID_HOSTS), ("1.0", "space")
], ids=[*INVALID_HOSTS, "http10-space"])
def test_invalid_host_value(probe, version, name):
    """A Host value outside uri-host [ ":" port ]: 400, in HTTP/1.0 as well."""
    value = INVALID_HOSTS[name]
    outcome = send(probe, head(probe, f"GET / HTTP/{version}".encode(), host=value))
    assert_rejected(outcome, f"HTTP/{version} with Host {value!r}")


VALID_HOSTS = {
    "empty": b"",
    "ipv6-literal": b"[::1]:8000",
    "ipv4": b"127.0.0.1",
    "name-with-port": b"Example.COM:80",
    "idna": b"xn--caf-dma.example",
}


@req("RFC9110-7.2-1")
@pytest.mark.parametrize("name", list(VALID_HOSTS))
def test_valid_host_value(probe, name):
    """Host values the grammar allows (an empty one is what a client sends for a URI
    without authority) are served, and the app sees the value as sent."""
    value = VALID_HOSTS[name]
    outcome = send(probe, head(probe, GET, host=value))
    assert_served(outcome, f"Host: {value.decode()}")
    assert outcome.header_values(b"host") == [value], outcome.seen()


@req("RFC9112-3.2-4")
def test_http10_without_host(probe):
    """Host is an HTTP/1.1 obligation: GET / HTTP/1.0 without Host is served."""
    outcome = send(probe, head(probe, b"GET / HTTP/1.0", host=False))
    assert_served(outcome, "HTTP/1.0 without Host")


# --- Field-line syntax (RFC 9112 §5, §2.2) ---------------------------------------------------


@req("RFC9112-5.1-1")
@pytest.mark.parametrize("space", [b" ", b"\t"], ids=["sp", "htab"])
def test_whitespace_before_colon(probe, space):
    """Whitespace between a field name and its colon: 400. ("Transfer-Encoding : chunked"
    read one way by a proxy and another by the server is a classic smuggling vector.)"""
    outcome = send(probe, head(probe, GET, b"X-A" + space + b": 1"))
    assert_rejected(outcome, f"field line {b'X-A' + space + b': 1'!r}")


@req("RFC9112-5.2-1")
@pytest.mark.parametrize("indent", [b" ", b"\t"], ids=["sp", "htab"])
def test_obs_fold(probe, indent):
    """A folded field value: 400, or the fold replaced by SP so the app sees one field
    "one two" (with one or more SP). Never two fields, never the CRLF."""
    outcome = send(probe, head(probe, GET, b"X-A: one", indent + b"two"))
    if not outcome.served:
        assert_rejected(outcome, "obs-fold")
        return
    value = outcome.field(b"x-a")
    assert isinstance(value, bytes) and re.fullmatch(rb"one +two", value), (
        f"the folded value reached the app as {value!r}"
    )
    stray = [pair for pair in outcome.scope.get("headers") or ()
             if b"two" in bytes(pair[0]).lower()]
    assert not stray, f"the continuation line became a field: {stray!r}"


INVALID_NAMES = {
    "empty": b": v",
    "paren": b"X(A): v",
    "slash": b"X/A: v",
    "at": b"X@A: v",
    "quote": b'X"A: v',
    "non-ascii": b"X\xe9A: v",
    "inner-space": b"X A: v",
    "no-colon": b"X-A v",
}


@req("RFC9112-2.2-5")
@pytest.mark.parametrize("name", list(INVALID_NAMES))
def test_field_name_not_a_token(probe, name):
    """A field line whose name is no token (or that has no colon) does not match the
    grammar: 400 and the connection closed (SHOULD: anything else is non-strict)."""
    line = INVALID_NAMES[name]
    outcome = send(probe, head(probe, GET, line))
    assert_rejected(outcome, f"field line {line!r}")
    assert_closed(outcome, f"field line {line!r}")


@req("RFC9110-5.5-1")
@pytest.mark.parametrize(("line", "replaced"), [
    (b"X-A: a\x00b", (b"a b",)),
    (b"X-A: ab\x00", (b"ab", b"ab ")),
], ids=["inside", "at-end"])
def test_nul_in_field_value(probe, line, replaced):
    """A NUL in a field value: the request is rejected (a 4xx or a close) or the NUL
    becomes SP before the app sees the value. A NUL passed on truncates C strings
    downstream."""
    outcome = send(probe, head(probe, GET, line))
    if not outcome.served:
        assert_rejected(outcome, f"field line {line!r}", CLIENT_ERRORS, close_ok=True)
        return
    with_nul = [pair for pair in outcome.scope.get("headers") or ()
                if any(b"\x00" in bytes(part) for part in pair)]
    assert not with_nul, f"the app saw a NUL: {with_nul!r}"
    assert outcome.field(b"x-a") in replaced, outcome.seen()


@req("RFC9110-5.5-2")
@pytest.mark.parametrize("ctl", [b"\x01", b"\x1b", b"\x7f"], ids=["soh", "esc", "del"])
def test_control_character_in_field_value(probe, ctl):
    """Control characters other than HTAB make a field value invalid: rejecting (a 4xx
    or a close) passes; keeping them byte-exact is the leniency §5.5 allows
    (non-strict); anything else (dropped field, mangled value) deviates."""
    line = b"X-A: a" + ctl + b"b"
    outcome = send(probe, head(probe, GET, line))
    if not outcome.served:
        assert_rejected(outcome, f"field line {line!r}", CLIENT_ERRORS, close_ok=True)
        return
    value = outcome.field(b"x-a")
    assert value in (b"a" + ctl + b"b", b"a b"), f"the app saw x-a {value!r}"
    non_strict(f"served a field value with {ctl!r}; the app saw {value!r}: RFC 9110 §5.5 "
               f"lets recipients retain such characters for the sake of robustness (MAY)")


@req("RFC9110-5.5-4")
def test_whitespace_inside_field_value(probe):
    """HTAB and runs of SP inside a value are field-content: served, byte-exact."""
    outcome = send(probe, head(probe, GET, b"X-A: a\tb  c \t d"))
    assert_served(outcome, "a field value with HTAB and SP inside")
    assert outcome.field(b"x-a") == b"a\tb  c \t d", outcome.seen()


OWS = {
    "both-sides": (b"X-A: \t v  x \t ", b"v  x"),
    "trailing": (b"X-A: v   ", b"v"),
    "tabs": (b"X-A:\t\tv\t", b"v"),
    "only-ows": (b"X-A: \t ", b""),
}


@req("RFC9112-5.1-2")
@pytest.mark.parametrize("name", list(OWS))
def test_ows_trimmed(probe, name):
    """Leading and trailing SP/HTAB are not part of the field value: the app gets the
    value without them, inner whitespace kept."""
    line, expected = OWS[name]
    outcome = send(probe, head(probe, GET, line))
    assert_served(outcome, f"field line {line!r}")
    assert outcome.field(b"x-a") == expected, (
        f"{line!r} reached the app as {outcome.field(b'x-a')!r}, expected {expected!r}"
    )


@req("RFC9110-5.5-3")
def test_obs_text_is_opaque(probe):
    """Every obs-text octet 0x80-0xFF in one value: opaque data, so the app gets them all,
    byte for byte (no decoding, no replacement characters)."""
    value = bytes(range(0x80, 0x100))
    outcome = send(probe, head(probe, GET, b"X-A: " + value))
    assert_served(outcome, "a field value of obs-text")
    assert outcome.field(b"x-a") == value, outcome.seen()


# --- Oversized fields (RFC 9110 §5.4, RFC 6585 §5) -------------------------------------------

BIG_VALUE = b"v" * (96 * 1024)
MANY = 2000


def _oversized(probe, shape):
    if shape == "huge-field":
        data = head(probe, GET, b"X-Big: " + BIG_VALUE)
    else:
        data = head(probe, GET, *(b"X-F%d: %d" % (i, i) for i in range(MANY)))
    return send(probe, data, timeout=2.0)


def _served_whole(outcome, shape):
    if shape == "huge-field":
        value = outcome.field(b"x-big")
        assert value == BIG_VALUE, (
            f"a {len(BIG_VALUE)}-byte field reached the app as {len(value)} bytes"
        )
        return
    fields = [(name, value) for name, value in outcome.scope.get("headers") or ()
              if re.fullmatch(rb"x-f\d+", bytes(name).lower())]
    expected = [(b"x-f%d" % i, b"%d" % i) for i in range(MANY)]
    assert [(bytes(n).lower(), v) for n, v in fields] == expected, (
        f"{MANY} fields were sent, the app saw {len(fields)} of them (or out of order)"
    )


@req("RFC9110-5.4-1")
@pytest.mark.parametrize("shape", ["huge-field", f"{MANY}-fields"])
def test_oversized_fields_refused_with_4xx(probe, shape):
    """One 96 KiB field, or 2000 fields: a server may process them (the app then gets all
    of it) or refuse with a 4xx. Truncating, dropping fields or closing silently leaves
    the client guessing and the server open to smuggling (§5.4 says "ignoring" is unsafe)."""
    outcome = _oversized(probe, shape)
    if outcome.served:
        _served_whole(outcome, shape)
        return
    assert_rejected(outcome, shape, CLIENT_ERRORS)


@req("RFC6585-5-1")
@pytest.mark.parametrize("shape", ["huge-field", f"{MANY}-fields"])
def test_oversized_fields_status_is_431(probe, shape):
    """When a server refuses a request for the size of its fields, 431 is the status that
    says so (a 400 or a bare close is non-strict). A server that serves the request has
    no refusal to judge: n/a (test_oversized_fields_refused_with_4xx judges serving it
    whole)."""
    outcome = _oversized(probe, shape)
    if outcome.served:
        not_applicable(f"the server served the {shape} request ({outcome.answer()}), so "
                       "there is no refusal whose status could be judged")
    assert_rejected(outcome, shape, (431,))
