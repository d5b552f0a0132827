"""h2spec 2.x's ``http2/8.*`` cases, ported: RFC 9113 §8, HTTP semantics over HTTP/2.
All but one send a *malformed request* (RFC 9113 §8.1.1): frames that are valid HTTP/2 but
a header section, trailer section or body that HTTP/2 forbids. "Malformed requests or
responses that are detected MUST be treated as a stream error of type PROTOCOL_ERROR."

How the answer is judged (:func:`conformance.suite._h2spec_port.stream_error`):

* RST_STREAM PROTOCOL_ERROR on the request's stream: pass;
* GOAWAY PROTOCOL_ERROR (or a close) instead: *non-strict*. h2spec passes it, and RFC 9113
  §5.4.1 permits it ("An endpoint can end a connection at any time. In particular, an
  endpoint MAY choose to treat a stream error as a connection error."), so it cannot be a
  fail; but it is not what §8.1.1 asks either: a client's one bad request takes every
  other stream on the connection down with it, which is why hypercorn #364 (a malformed
  request header answered with GOAWAY for the whole connection) was reported as a bug;
* a 4xx response that ends the stream without RST_STREAM: *non-strict* (§8.1.1: "a server
  MAY send an HTTP response prior to closing or resetting the stream", but the stream error
  is still required; h2spec fails it);
* a 2xx/3xx response (the malformed request reached the application), another error code
  or nothing within the bound: *fail*.

http2/8.2/1 (a PUSH_PROMISE from the client) is a connection error (RFC 9113 §8.4).

Where this port departs from h2spec's Go source: 8.1.2.1/3 sends its trailers with
END_STREAM (h2spec's lacked it, so they were also the error of 8.1/1); 8.1.2.3/7 repeats
``:path`` as its title says (the Go source repeats ``:method`` with the path's value).

================ ================================================================================
h2spec id        h2spec description
================ ================================================================================
8.1/1            Sends a second HEADERS frame without the END_STREAM flag
8.1.2/1          Sends a HEADERS frame that contains the header field name in uppercase letters
8.1.2.1/1        Sends a HEADERS frame that contains a unknown pseudo-header field
8.1.2.1/2        Sends a HEADERS frame that contains the pseudo-header field defined for response
8.1.2.1/3        Sends a HEADERS frame that contains a pseudo-header field as trailers
8.1.2.1/4        Sends a HEADERS frame that contains a pseudo-header field that appears in a
                 header block after a regular header field
8.1.2.2/1        Sends a HEADERS frame that contains the connection-specific header field
8.1.2.2/2        Sends a HEADERS frame that contains the TE header field with any value other
                 than "trailers"
8.1.2.3/1        Sends a HEADERS frame with empty ":path" pseudo-header field
8.1.2.3/2        Sends a HEADERS frame that omits ":method" pseudo-header field
8.1.2.3/3        Sends a HEADERS frame that omits ":scheme" pseudo-header field
8.1.2.3/4        Sends a HEADERS frame that omits ":path" pseudo-header field
8.1.2.3/5        Sends a HEADERS frame with duplicated ":method" pseudo-header field
8.1.2.3/6        Sends a HEADERS frame with duplicated ":scheme" pseudo-header field
8.1.2.3/7        Sends a HEADERS frame with duplicated ":path" pseudo-header field
8.1.2.6/1        Sends a HEADERS frame with the "content-length" header field which does not
                 equal the DATA frame payload length
8.1.2.6/2        Sends a HEADERS frame with the "content-length" header field which does not
                 equal the sum of the multiple DATA frames payload length
8.2/1            Sends a PUSH_PROMISE frame
================ ================================================================================

(every id above is ``http2/`` + the id.)
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest

from conformance.h2probe import H2Probe
from conformance.rawh2 import END_HEADERS, ErrorCode, FrameType, H2Connection
from conformance.suite._h2 import expect_connection_error, expect_stream_error
from conformance.suite._h2spec_port import (
    Case,
    common_headers,
    open_stream,
    params,
)

req = pytest.mark.requirement

Fields = list[tuple[bytes, bytes]]


# --- header sections: h2spec's common request fields, altered --------------------------


def with_fields(*extra: tuple[bytes, bytes]) -> Callable[[Fields], Fields]:
    """The common fields and ``extra`` after them."""
    return lambda fields: [*fields, *extra]


def without(name: bytes) -> Callable[[Fields], Fields]:
    """The common fields without ``name``."""
    return lambda fields: [f for f in fields if f[0] != name]


def emptied(name: bytes) -> Callable[[Fields], Fields]:
    """The common fields with ``name``'s value empty."""
    return lambda fields: [(k, b"" if k == name else v) for k, v in fields]


def repeated(name: bytes) -> Callable[[Fields], Fields]:
    """The common fields and a second ``name`` with the same value."""
    return lambda fields: [*fields, (name, dict(fields)[name])]


def regular_first(fields: Fields) -> Fields:
    """A regular field before the pseudo-header fields."""
    return [(b"x-test", b"ok"), *fields]


def malformed_headers(alter: Callable[[Fields], Fields]) -> Callable[..., int]:
    """A GET whose header section is the common fields altered by ``alter``, then the
    probe's fields (so the evidence shows what the app saw, if it saw anything), in one
    HEADERS frame with END_STREAM."""
    def send(conn: H2Connection, h2probe: H2Probe) -> int:
        sid = conn.new_stream()
        conn.send_headers(sid, [*alter(common_headers(conn)), *h2probe.probe_headers()])
        return sid
    return send


def second_headers_without_end_stream(conn: H2Connection, h2probe: H2Probe) -> int:
    """POST, a DATA frame, then a trailer-like HEADERS without END_STREAM."""
    sid = open_stream(conn, "POST", end_stream=False, extra=h2probe.probe_headers())
    conn.send_data(sid, b"test")
    conn.send_headers(sid, [(b"x-test", b"ok")], end_stream=False)
    return sid


def pseudo_header_in_trailers(conn: H2Connection, h2probe: H2Probe) -> int:
    """POST, a DATA frame, then trailers (with END_STREAM) carrying :method."""
    sid = open_stream(conn, "POST", end_stream=False, extra=h2probe.probe_headers())
    conn.send_data(sid, b"test")
    conn.send_headers(sid, [(b":method", b"POST")])
    return sid


def content_length_mismatch(*chunks: bytes) -> Callable[..., int]:
    """POST with content-length 1, then ``chunks`` as DATA frames, the last ending the
    stream."""
    def send(conn: H2Connection, h2probe: H2Probe) -> int:
        sid = open_stream(conn, "POST", end_stream=False,
                          extra=[("content-length", "1"), *h2probe.probe_headers()])
        for index, chunk in enumerate(chunks):
            conn.send_data(sid, chunk, end_stream=index == len(chunks) - 1)
        return sid
    return send


MALFORMED = [
    Case("http2/8.1/1", "Sends a second HEADERS frame without the END_STREAM flag",
         req("RFC9113-8.1-1"), second_headers_without_end_stream),
    Case("http2/8.1.2/1", "Sends a HEADERS frame that contains the header field name in "
         "uppercase letters", req("RFC9113-8.2.1-1"),
         malformed_headers(with_fields((b"X-TEST", b"ok")))),
    Case("http2/8.1.2.1/1", "Sends a HEADERS frame that contains a unknown pseudo-header "
         "field", req("RFC9113-8.3-1"), malformed_headers(with_fields((b":test", b"ok")))),
    Case("http2/8.1.2.1/2", "Sends a HEADERS frame that contains the pseudo-header field "
         "defined for response", req("RFC9113-8.3-1"),
         malformed_headers(with_fields((b":status", b"200")))),
    Case("http2/8.1.2.1/3", "Sends a HEADERS frame that contains a pseudo-header field as "
         "trailers", req("RFC9113-8.1-2"), pseudo_header_in_trailers),
    Case("http2/8.1.2.1/4", "Sends a HEADERS frame that contains a pseudo-header field that "
         "appears in a header block after a regular header field", req("RFC9113-8.3-2"),
         malformed_headers(regular_first)),
    Case("http2/8.1.2.2/1", "Sends a HEADERS frame that contains the connection-specific "
         "header field", req("RFC9113-8.2.2-1"),
         malformed_headers(with_fields((b"connection", b"keep-alive")))),
    Case("http2/8.1.2.2/2", "Sends a HEADERS frame that contains the TE header field with "
         "any value other than \"trailers\"", req("RFC9113-8.2.2-2"),
         malformed_headers(with_fields((b"trailers", b"test"), (b"te", b"trailers, deflate")))),
    Case("http2/8.1.2.3/1", "Sends a HEADERS frame with empty \":path\" pseudo-header field",
         req("RFC9113-8.3.1-1"), malformed_headers(emptied(b":path"))),
    Case("http2/8.1.2.3/2", "Sends a HEADERS frame that omits \":method\" pseudo-header "
         "field", req("RFC9113-8.3.1-1"), malformed_headers(without(b":method"))),
    Case("http2/8.1.2.3/3", "Sends a HEADERS frame that omits \":scheme\" pseudo-header "
         "field", req("RFC9113-8.3.1-1"), malformed_headers(without(b":scheme"))),
    Case("http2/8.1.2.3/4", "Sends a HEADERS frame that omits \":path\" pseudo-header field",
         req("RFC9113-8.3.1-1"), malformed_headers(without(b":path"))),
    Case("http2/8.1.2.3/5", "Sends a HEADERS frame with duplicated \":method\" pseudo-header "
         "field", req("RFC9113-8.3-3"), malformed_headers(repeated(b":method"))),
    Case("http2/8.1.2.3/6", "Sends a HEADERS frame with duplicated \":scheme\" pseudo-header "
         "field", req("RFC9113-8.3-3"), malformed_headers(repeated(b":scheme"))),
    Case("http2/8.1.2.3/7", "Sends a HEADERS frame with duplicated \":path\" pseudo-header "
         "field", req("RFC9113-8.3-3"), malformed_headers(repeated(b":path"))),
    Case("http2/8.1.2.6/1", "Sends a HEADERS frame with the \"content-length\" header field "
         "which does not equal the DATA frame payload length", req("RFC9113-8.1.1-1"),
         content_length_mismatch(b"test")),
    Case("http2/8.1.2.6/2", "Sends a HEADERS frame with the \"content-length\" header field "
         "which does not equal the sum of the multiple DATA frames payload length",
         req("RFC9113-8.1.1-1"), content_length_mismatch(b"test", b"test")),
]
"""Malformed requests (RFC 9113 §8.1.1): each must be a stream error PROTOCOL_ERROR."""


@pytest.mark.parametrize("case", params(MALFORMED))
def test_malformed_request(h2probe: H2Probe, case: Case) -> None:
    """A malformed request is reset with PROTOCOL_ERROR and never served: HTTP/2's rules on
    fields are "deliberately strict because being permissive can expose implementations"
    to request smuggling (RFC 9113 §8.1.1), and the reset is per stream so that one bad
    request does not cost the connection's other streams."""
    conn = h2probe.connect_h2(auto_window=False)
    sid = case.send(conn, h2probe)
    assert sid is not None
    expect_stream_error(conn, sid, (ErrorCode.PROTOCOL_ERROR,), what=case.what, malformed=True)


@req("RFC9113-8.4-1")
@pytest.mark.parametrize("case", ["http2/8.2/1"])
def test_push_promise_from_client(h2probe: H2Probe, case: str) -> None:
    """Sends a PUSH_PROMISE frame: a client cannot push, so the frame is a connection
    error PROTOCOL_ERROR (it would reserve a stream the server is supposed to own)."""
    conn = h2probe.connect_h2(auto_window=False)
    sid = conn.new_stream()
    promised = conn.new_stream()
    block = conn.encode(common_headers(conn))
    conn.send_raw(FrameType.PUSH_PROMISE, END_HEADERS, sid,
                  struct.pack("!I", promised) + block)
    expect_connection_error(conn, (ErrorCode.PROTOCOL_ERROR,),
                     what="http2/8.2/1 (\"Sends a PUSH_PROMISE frame\")")
