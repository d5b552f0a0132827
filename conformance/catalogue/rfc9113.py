"""HTTP/2 (RFC 9113) as h2spec 2.x judges it, generic and §3 to §5: starting HTTP/2, frame
format and size, header compression, stream states, identifiers and concurrency, error
handling and extensibility. Frame definitions (§6) and HTTP semantics (§8) are
``catalogue.rfc9113_frames``; HPACK is ``catalogue.rfc7541``.

IDs are ``RFC9113-<section>-<n>``. h2spec was written against RFC 7540; where RFC 9113
renumbered or changed the rule, the item quotes RFC 9113 and its summary says what
changed.
"""

from __future__ import annotations

from conformance.catalogue import MUST, RFC9113, Requirement

REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(
        "RFC9113-3.4-1", MUST, RFC9113, "3.4",
        "The server connection preface consists of a potentially empty SETTINGS frame "
        "... that MUST be the first frame the server sends in the HTTP/2 connection",
        "After the client preface the server's first frame is SETTINGS.",
    ),
)
