"""Starting HTTP/2 (RFC 9113 §3): the three ways a client reaches a server's h2, each judged
once on its own (every other h2 case uses the cheapest way the server offers).

* TLS with ALPN ``h2`` (§3.2), the way browsers use;
* prior knowledge on cleartext (§3.3), which the h2 cases use wherever a server has it;
* ``Upgrade: h2c`` (RFC 7540 §3.2). RFC 9113 §3.1 deprecated it ("The "h2c" string was
  previously used as a token for use in the HTTP Upgrade mechanism ... This usage was
  never widely deployed and is deprecated by this document"), and RFC 9110 §7.8 lets a
  server ignore any Upgrade; so a server that does not switch is n/a there, and one that
  switches is held to RFC 7540 §3.2, the text it then implements.
"""

from __future__ import annotations

from conformance.catalogue import MUST, RFC7540, RFC9113, Requirement

REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(
        "RFC9113-3.2-1", MUST, RFC9113, "3.2, 3.4",
        "HTTP/2 over TLS uses the \"h2\" protocol identifier ... Once TLS negotiation is "
        "complete, both the client and the server MUST send a connection preface",
        "After selecting ALPN h2 the server speaks HTTP/2: its preface (SETTINGS) and "
        "answers to requests.",
    ),
    Requirement(
        "RFC9113-3.3-1", MUST, RFC9113, "3.3, 3.4",
        "A client that knows that a server supports HTTP/2 can establish a TCP connection "
        "and send the connection preface ... the server connection preface ... MUST be the "
        "first frame the server sends",
        "h2c with prior knowledge: the preface on a plain connection gets the server's "
        "SETTINGS first, then answers.",
    ),
    Requirement(
        "RFC7540-3.2-1", MUST, RFC7540, "3.2",
        "The first HTTP/2 frame sent by the server MUST be a server connection preface ... "
        "The HTTP/1.1 request that is sent prior to upgrade is assigned a stream identifier "
        "of 1",
        "A server that answers Upgrade: h2c with 101 then speaks h2 and answers the upgraded "
        "request on stream 1 (n/a when it does not switch: RFC 9113 §3.1 deprecates h2c "
        "upgrade).",
    ),
)
