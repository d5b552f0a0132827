"""HTTP/1.1 wire requirements (RFC 9112, HTTP/1.1 message syntax; RFC 9110 semantics).

IDs are ``RFC9112-<section>-<n>``: the n-th item we catalogue from that section.
"""

from __future__ import annotations

from conformance.catalogue import Level, Requirement

_RFC = "RFC 9112"

REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(
        "RFC9112-6.1-1", Level.MUST, _RFC, "§6.1 Transfer-Encoding",
        "A server MUST NOT send a response containing Transfer-Encoding unless the "
        "corresponding request indicates HTTP/1.1 (or later minor revisions).",
        "A response to an HTTP/1.0 request is never chunked; without a length it is "
        "close-delimited.",
    ),
    Requirement(
        "RFC9112-6.3-1", Level.MUST, _RFC, "§6.3 Message Body Length",
        "If a valid Content-Length header field is present without Transfer-Encoding, its "
        "decimal value defines the expected message body length in octets.",
        "A response whose app set Content-Length carries exactly that many body bytes and "
        "no Transfer-Encoding.",
    ),
    Requirement(
        "RFC9112-7.1-1", Level.MUST, _RFC, "§7.1 Chunked Transfer Coding",
        "A recipient MUST be able to parse and decode the chunked transfer coding.",
        "A chunked request body (with chunk extensions and trailer fields) is accepted and "
        "decoded.",
    ),
    Requirement(
        "RFC9112-9.3-1", Level.MUST, _RFC, "§9.3.2 Pipelining",
        "it MUST send the corresponding responses in the same order that the requests were "
        "received.",
        "Pipelined requests on one connection are all answered, in order.",
    ),
)
