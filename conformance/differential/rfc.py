"""Which RFC sentence decides a mutation, and what the strict reading of it is.

A cluster of differing interpretations is only actionable when someone can say which
server is right. For most mutations an RFC sentence decides it; this table maps a
mutation (by its full name, else by its family) to the catalogue requirement that holds
the sentence (:mod:`conformance.catalogue`, the one home of the quotes) or, where only
the grammar decides, to the ABNF rule, plus the *strict* outcome: what the strictest
server the RFC permits does with the message (``reject`` or ``accept``). A server is
"strict" on a cluster when its outcome is the strict one; the reference server aims to
be strict everywhere the RFC allows strictness.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from conformance.catalogue import UnknownRequirement, lookup

REJECT = "reject"
ACCEPT = "accept"


@dataclass(frozen=True)
class Ruling:
    """The RFC's word on one mutation."""

    mutation: str
    reference: str
    """Document and section, e.g. ``RFC 9112 §6.3 (rule 5)``."""
    quote: str
    strict: str
    """``reject`` or ``accept``: what the strictest conforming server does."""
    requirement: str | None = None
    """Catalogue requirement id, when the catalogue holds the sentence."""

    def to_json(self) -> dict[str, str | None]:
        return {"mutation": self.mutation, "requirement": self.requirement,
                "reference": self.reference, "quote": self.quote, "strict": self.strict}


# key (mutation name or family) -> (catalogue id or (reference, grammar quote), strict)
_TABLE: dict[str, tuple[str | tuple[str, str], str]] = {
    "eol/bare-lf-one": ("RFC9112-2.2-1", REJECT),
    "eol/bare-lf-all": ("RFC9112-2.2-1", REJECT),
    "eol/lf-cr": ("RFC9112-2.2-2", REJECT),
    "eol/bare-cr": ("RFC9112-2.2-2", REJECT),
    "eol/cr-in-value": ("RFC9110-5.5-1", REJECT),
    "eol/leading-crlf": ("RFC9112-2.2-3", ACCEPT),
    "eol/leading-two-crlf": ("RFC9112-2.2-3", REJECT),
    "eol/leading-lf": ("RFC9112-2.2-1", REJECT),
    "ws/space-before-colon": ("RFC9112-5.1-1", REJECT),
    "ws/tab-before-colon": ("RFC9112-5.1-1", REJECT),
    "ws/no-space-after-colon": ("RFC9112-5.1-2", ACCEPT),
    "ws/trailing-space-value": ("RFC9112-5.1-2", ACCEPT),
    "ws/space-in-name": (("RFC 9110 §5.1", "field-name = token"), REJECT),
    "ws/leading-space-first-header": ("RFC9112-2.2-4", REJECT),
    "ws": ("RFC9112-3-3", REJECT),  # whitespace in the request line
    "case": (("RFC 9110 §5.1", "Field names are case-insensitive"), ACCEPT),
    "fold": ("RFC9112-5.2-1", REJECT),
    "framing/cl-cl-same": ("RFC9112-6.3-4", REJECT),
    "framing/cl-cl-differ": ("RFC9112-6.3-4", REJECT),
    "framing/cl-te": ("RFC9112-6.1-5", REJECT),
    "framing/te-cl": ("RFC9112-6.1-5", REJECT),
    "te/te-te": (("RFC 9112 §6.1", "A sender MUST NOT apply the chunked transfer coding "
                  "more than once to a message body"), REJECT),
    "te/identity-then-chunked": ("RFC9112-6.1-4", REJECT),
    "te/gzip-chunked": ("RFC9112-6.1-4", REJECT),
    "te/capitalised": ("RFC9112-7-1", ACCEPT),
    "te/http10-chunked": ("RFC9112-6.1-6", REJECT),
    "te/name-space-colon": ("RFC9112-5.1-1", REJECT),
    "te/name-underscore": (("RFC 9110 §5.1", "field-name = token"), ACCEPT),
    "te/leading-space": ("RFC9112-5.1-2", ACCEPT),
    "te/tab-ows": ("RFC9112-5.1-2", ACCEPT),
    "te/comma-empty": (("RFC 9110 §5.6.1", "a recipient MUST parse and ignore a "
                        "reasonable number of empty list elements"), ACCEPT),
    "te": ("RFC9112-6.3-3", REJECT),
    "cl/short": ("RFC9112-6.3-2", ACCEPT),
    "cl/long": ("RFC9112-6.3-5", ACCEPT),
    "cl/on-get": ("RFC9112-6.3-2", ACCEPT),
    "cl/list-same": ("RFC9112-6.3-4", REJECT),
    "cl/list-same-space": ("RFC9112-6.3-4", REJECT),
    "cl/leading-zero": (("RFC 9110 §8.6", "Content-Length = 1*DIGIT"), ACCEPT),
    "cl/huge": ("RFC9110-8.6-1", REJECT),
    "cl": ("RFC9112-6.3-4", REJECT),
    "chunk/ext": ("RFC9112-7.1.1-1", ACCEPT),
    "chunk/space-before-ext": (("RFC 9112 §7.1.1", "chunk-ext = *( BWS \";\" BWS "
                                "chunk-ext-name [ BWS \"=\" BWS chunk-ext-val ] )"), ACCEPT),
    "chunk/ext-quoted": ("RFC9112-7.1.1-1", ACCEPT),
    "chunk/last-chunk-ext": ("RFC9112-7.1.1-1", ACCEPT),
    "chunk/leading-zeros": ("RFC9112-7.1-2", ACCEPT),
    "chunk/last-chunk-zeros": ("RFC9112-7.1-2", ACCEPT),
    "chunk/uppercase": ("RFC9112-7.1-2", ACCEPT),
    "chunk/huge": ("RFC9112-7.1-3", REJECT),
    "chunk/overflow-wraps": ("RFC9112-7.1-3", REJECT),
    "chunk": ("RFC9112-7.1-2", REJECT),
    "trailer/obs-fold": ("RFC9112-5.2-1", REJECT),
    "trailer/no-colon": (("RFC 9112 §5", "field-line = field-name \":\" OWS field-value "
                          "OWS"), REJECT),
    "trailer/space-before-colon": ("RFC9112-5.1-1", REJECT),
    "trailer": ("RFC9112-7.1.2-1", ACCEPT),
    "ctl/nul-in-value": ("RFC9110-5.5-1", REJECT),
    "ctl/high-byte-in-value": ("RFC9110-5.5-3", ACCEPT),
    "ctl/utf8-in-value": ("RFC9110-5.5-3", ACCEPT),
    "ctl/del-in-value": ("RFC9110-5.5-2", REJECT),
    "ctl/vtab-in-value": ("RFC9110-5.5-2", REJECT),
    "ctl/formfeed-in-value": ("RFC9110-5.5-2", REJECT),
    "ctl/colon-in-name": (("RFC 9112 §5", "field-line = field-name \":\" OWS "
                           "field-value OWS"), ACCEPT),
    "ctl": (("RFC 9110 §5.1", "field-name = token"), REJECT),
    "target/absolute-form": ("RFC9112-3.2.2-1", ACCEPT),
    "target/absolute-form-other-host": ("RFC9112-3.2.2-2", ACCEPT),
    "target/absolute-form-https": ("RFC9112-3.2.2-1", ACCEPT),
    "target/authority-form": ("RFC9112-3.2.3-1", REJECT),
    "target/asterisk": ("RFC9112-3.2.4-1", REJECT),
    "target/double-slash": ("RFC9112-3.2.1-2", ACCEPT),
    "target/dot-segments": ("RFC9112-3.2.1-2", ACCEPT),
    "target/encoded-slash": ("RFC9112-3.2.1-2", ACCEPT),
    "target/empty-query": ("RFC9112-3.2.1-2", ACCEPT),
    "target/percent-nul": ("RFC9112-3.2.1-2", ACCEPT),
    "target": ("RFC9112-3-3", REJECT),
    "host/duplicate-same": ("RFC9112-3.2-2", REJECT),
    "host/duplicate-differ": ("RFC9112-3.2-2", REJECT),
    "host/absolute-form-mismatch": ("RFC9112-3.2.2-2", ACCEPT),
    "host/http10-missing": ("RFC9112-3.2-1", ACCEPT),
    "host/missing": ("RFC9112-3.2-1", REJECT),
    "host/empty": ("RFC9110-7.2-1", ACCEPT),
    "host": ("RFC9112-3.2-3", REJECT),
    "version/http10": ("RFC9112-2.3-1", ACCEPT),
    "version/http12": ("RFC9110-6.2-2", ACCEPT),
    "version/http20": ("RFC9110-6.2-3", REJECT),
    "version/http30": ("RFC9110-6.2-3", REJECT),
    "version": ("RFC9112-2.3-1", REJECT),
    "method/unknown": ("RFC9110-9.1-1", ACCEPT),
    "method/connect": ("RFC9112-3.2.3-1", REJECT),
    "method/lowercase": (("RFC 9110 §9.1", "The method token is case-sensitive"), ACCEPT),
    "method": ("RFC9112-3-3", REJECT),
    "expect/unknown": ("RFC9110-10.1.1-5", REJECT),
    "expect/100-continue-http10": ("RFC9110-10.1.1-2", ACCEPT),
    "expect": ("RFC9110-10.1.1-1", ACCEPT),
    "upgrade/websocket-no-key": (("RFC 6455 §4.2.1", "If the server, while reading the "
                                  "handshake, finds that the client did not send a handshake "
                                  "that matches the description below ... the server MUST "
                                  "stop processing the client's handshake and return an HTTP "
                                  "response with an appropriate error code (such as 400 Bad "
                                  "Request)."), REJECT),
    "upgrade": (("RFC 9110 §7.8", "A server MAY ignore a received Upgrade header field"),
                ACCEPT),
    "conn/close-then-pipelined": ("RFC9112-9.6-3", ACCEPT),
    "conn/http10-keep-alive-pipelined": ("RFC9112-9.3-4", ACCEPT),
    "conn": (("RFC 9110 §7.6.1", "Connection = #connection-option"), ACCEPT),
    "seed": (("RFC 9112 §3", "request-line = method SP request-target SP HTTP-version"),
             ACCEPT),
    "split": (("RFC 9112 §2.1", "A recipient MUST parse an HTTP message as a sequence of "
               "octets"), ACCEPT),
}


# WebSocket mutations (``ws-`` prefixed in cases). A mutation of the seed's data frame
# decides whether the message may reach the app; one that appends frames after it leaves
# the message deliverable (the difference then shows in the close code on the wire).
_FRAME_5_5 = ("RFC 6455 §5.5", "All control frames MUST have a payload length of 125 "
              "bytes or less and MUST NOT be fragmented.")
_TABLE.update({
    "ws-rsv": ("AB-3", REJECT),
    "ws-opcode": ("AB-4.1", REJECT),
    "ws-mask": (("RFC 6455 §5.1", "The server MUST close the connection upon receiving "
                 "a frame that is not masked."), REJECT),
    "ws-utf8/valid-multibyte": ("AB-6.3", ACCEPT),
    "ws-utf8": ("AB-6.3", REJECT),
    "ws-length": (("RFC 6455 §5.2", "the minimal number of bytes MUST be used to encode "
                   "the length ... the most significant bit MUST be 0"), REJECT),
    "ws-control": (_FRAME_5_5, ACCEPT),
    "ws-frag": ("AB-5", ACCEPT),
    "ws-close": ("AB-7.9", ACCEPT),
    "ws-seed": (("RFC 6455 §5.6", "Data frames (e.g., non-control frames) are identified "
                 "by opcodes where the most significant bit of the opcode is 0."), ACCEPT),
})


def ruling(mutation: str) -> Ruling | None:
    """The ruling for ``mutation`` (full name first, then its family), or None."""
    entry = _TABLE.get(mutation) or _TABLE.get(mutation.split("/", 1)[0])
    if entry is None:
        return None
    source, strict = entry
    if isinstance(source, tuple):
        return Ruling(mutation, source[0], source[1], strict)
    try:
        req = lookup(source)
    except UnknownRequirement:
        return None
    return Ruling(mutation, f"{req.spec} {req.section}", req.quote, strict, req.id)


def rulings(mutations: Iterable[str]) -> list[Ruling]:
    return [r for r in (ruling(m) for m in mutations) if r is not None]


def strict_outcome(mutations: Iterable[str]) -> str | None:
    """What a strict server does with a message carrying all of ``mutations``: rejected
    when any one of them must be; accepted when every one is decided as acceptable;
    None when some mutation is not decided by the table."""
    found = [ruling(m) for m in mutations]
    if any(r is not None and r.strict == REJECT for r in found):
        return REJECT
    if found and all(r is not None for r in found):
        return ACCEPT
    return None
