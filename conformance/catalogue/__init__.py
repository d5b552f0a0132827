"""The requirement catalogue: every conformance case judges exactly one of these.

A requirement is a sentence of a specification that a server can be held to, with the
level the spec gives it. ASGI items keep the IDs of the project's ASGI checklist
(``MAIN-014``, ``HTTP-007``...); RFC items are named after their section, h2spec style
(``RFC9112-6.1-1`` is the first item we catalogue from RFC 9112 section 6.1).

Levels follow the checklist's legend: MUST, SHOULD and MAY as in RFC 2119; WILL for
statements of what the server does or what a key holds ("``path`` is ... decoded"),
which apps rely on and which therefore fail like a MUST. ``derived`` marks items the
text implies without saying outright; like SHOULD and MAY they can only ever be
*non-strict*, never *fail*.

The texts are paraphrased with short quotes, so the suite runs without the spec files.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Level(enum.StrEnum):
    MUST = "MUST"
    WILL = "WILL"
    SHOULD = "SHOULD"
    MAY = "MAY"

    @property
    def strict(self) -> bool:
        """Whether a failed check is a *fail* (MUST, WILL) rather than *non-strict*."""
        return self in (Level.MUST, Level.WILL)


@dataclass(frozen=True)
class Requirement:
    id: str
    level: Level
    spec: str
    """Document the requirement comes from, e.g. ``"ASGI www.rst"`` or ``"RFC 9112"``."""
    section: str
    """Section (and for the ASGI text, line numbers in asgiref's copy)."""
    quote: str
    """A short quote of the spec's own words."""
    summary: str
    """What is required, in our words: the line a report shows."""
    derived: bool = False

    @property
    def group(self) -> str:
        """Report group: the ID prefix (``HTTP``, ``MAIN``, ``RFC9112``...)."""
        return self.id.split("-", 1)[0]

    @property
    def strict(self) -> bool:
        return self.level.strict and not self.derived

    @property
    def reference(self) -> str:
        return f"{self.spec} {self.section}"


MUST, WILL, SHOULD, MAY = Level.MUST, Level.WILL, Level.SHOULD, Level.MAY

# The documents requirements come from (``Requirement.spec``), named once.
ASGI_MAIN = "ASGI asgi.rst"
ASGI_WWW = "ASGI www.rst"
ASGI_LIFESPAN = "ASGI lifespan.rst"
ASGI_EXT = "ASGI extensions.rst"
ASGI_TLS = "ASGI tls.rst"
PROJECT = "asgi-conformance (project requirement)"
RFC6455 = "RFC 6455"
RFC7692 = "RFC 7692"
RFC9110 = "RFC 9110"
RFC9112 = "RFC 9112"
RFC9113 = "RFC 9113"
RFC7540 = "RFC 7540"
RFC7541 = "RFC 7541"
RFC8441 = "RFC 8441"


# Requirement groups (``Requirement.group``), shared by every page that lists them: the
# comparison and the catalogue page (python -m conformance catalogue).
GROUP_ORDER = ("MAIN", "HTTP", "LIFE", "WS", "EXT", "H2ASGI", "RFC9112", "RFC9110",
               "RFC6585", "RFC6455", "RFC7692", "AB", "RFC9113", "RFC7540", "RFC7541",
               "RFC8441", "FW")
"""Requirement groups in reading order: ASGI first, then the RFCs (HTTP/1.1, WebSocket and
Autobahn, HTTP/2), frameworks."""

GROUP_NAMES = {
    "MAIN": "ASGI core", "HTTP": "ASGI HTTP", "LIFE": "ASGI lifespan",
    "WS": "ASGI WebSocket", "EXT": "ASGI extensions", "RFC9112": "HTTP/1.1 messages",
    "RFC9110": "HTTP semantics", "RFC6585": "HTTP status codes", "RFC6455": "WebSocket handshake",
    "AB": "Autobahn WebSocket", "FW": "Frameworks", "H2ASGI": "ASGI over HTTP/2",
    "RFC7692": "WebSocket permessage-deflate", "RFC9113": "HTTP/2 (h2spec port, DoS family)",
    "RFC7540": "HTTP/2 h2c upgrade", "RFC7541": "HPACK", "RFC8441": "WebSocket over HTTP/2",
}

class UnknownRequirement(LookupError):
    pass


def _build() -> dict[str, Requirement]:
    from conformance.catalogue import (
        asgi,
        asgi_h2,
        asgi_websocket,
        autobahn,
        frameworks,
        h2_dos,
        rfc6455,
        rfc7541,
        rfc9112,
        rfc9112_request,
        rfc9113,
        rfc9113_connect,
        rfc9113_frames,
    )

    table: dict[str, Requirement] = {}
    for module in (asgi, asgi_websocket, rfc9112, rfc9112_request, autobahn, rfc6455,
                   frameworks, rfc9113, rfc9113_connect, rfc9113_frames, rfc7541, asgi_h2,
                   h2_dos):
        for req in module.REQUIREMENTS:
            if req.id in table:
                raise ValueError(f"duplicate requirement id {req.id}")
            table[req.id] = req
    return table


CATALOGUE: dict[str, Requirement] = _build()


def lookup(req_id: str) -> Requirement:
    try:
        return CATALOGUE[req_id]
    except KeyError:
        raise UnknownRequirement(req_id) from None
