"""The HTTP/2 denial-of-service family (issue 14): the published attacks on HTTP/2 servers,
each judged on whether the server keeps serving others, keeps its memory bounded and
ends the offending connection.

RFC 9113 §10.5 names the techniques ("Below is a list of known ways that implementations
might be subject to denial-of-service attacks") and sets one rule for all of them:
"Implementations SHOULD track the use of these features and set limits on their use. An
endpoint MAY treat activity that is suspicious as a connection error of type
ENHANCE_YOUR_CALM." No sentence makes a limit a MUST, so every item here is SHOULD: a
server that falls short is *non-strict*, with what was measured, never *fail*.

IDs are ``RFC9113-10.5-<n>`` (the §10.5 list, with the CVE each was published as) and
``RFC9113-10.5.1-<n>`` (field block size: CONTINUATION flood, HPACK bomb).
"""

from __future__ import annotations

from conformance.catalogue import RFC9113, SHOULD, Requirement

REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(
        "RFC9113-10.5-1", SHOULD, RFC9113, "10.5 (CVE-2023-44487)",
        "Implementations SHOULD track the use of these features and set limits on their "
        "use.",
        "Streams opened and at once reset (rapid reset) are limited: the server keeps "
        "serving others, stays bounded in memory and ends the offending connection.",
    ),
    Requirement(
        "RFC9113-10.5-2", SHOULD, RFC9113, "10.5 (CVE-2019-9512)",
        "An endpoint is required to respond to a PING frame.",
        "A PING flood from a client that reads nothing is limited: no unbounded queue of "
        "PING ACKs, the offender's connection ended.",
    ),
    Requirement(
        "RFC9113-10.5-3", SHOULD, RFC9113, "10.5 (CVE-2019-9515)",
        "The SETTINGS frame might also be abused to cause a peer to expend additional "
        "processing time.",
        "A SETTINGS flood (each frame needing an ACK) from a client that reads nothing is "
        "limited and the offender's connection ended.",
    ),
    Requirement(
        "RFC9113-10.5-4", SHOULD, RFC9113, "10.5 (CVE-2019-9514)",
        "An invalid request (or server push) can cause a peer to send RST_STREAM frames "
        "in response.",
        "A flood of invalid requests, each soliciting a RST_STREAM, from a client that "
        "reads nothing is limited and the offender's connection ended.",
    ),
    Requirement(
        "RFC9113-10.5-5", SHOULD, RFC9113, "10.5 (CVE-2019-9518)",
        "Large numbers of small or empty frames can be abused to cause a peer to expend "
        "time processing frame headers.",
        "A flood of empty DATA frames on an open stream is limited and the offender's "
        "connection ended.",
    ),
    Requirement(
        "RFC9113-10.5-6", SHOULD, RFC9113, "10.5 (CVE-2019-9513)",
        "Handling reprioritization with PRIORITY frames can require significant processing "
        "time and can lead to overload if many PRIORITY frames are sent.",
        "A flood of PRIORITY frames reshuffling the dependency tree is limited and the "
        "offender's connection ended.",
    ),
    Requirement(
        "RFC9113-10.5-7", SHOULD, RFC9113, "10.5 (CVE-2019-9511)",
        "Providing tiny increments to flow control in WINDOW_UPDATE frames can cause a "
        "sender to generate a large number of DATA frames.",
        "A client that opens its windows a byte at a time (data dribble) does not make the "
        "server buffer the large responses it asked for: memory stays bounded.",
    ),
    Requirement(
        "RFC9113-10.5-8", SHOULD, RFC9113, "10.5 (CVE-2019-9517)",
        "An endpoint that constructs and remembers frames for sending without considering "
        "TCP limits might be subject to resource exhaustion.",
        "A client that opens the HTTP/2 windows but reads nothing (internal data "
        "buffering) does not make the server buffer the large responses it asked for.",
    ),
    Requirement(
        "RFC9113-10.5.1-1", SHOULD, RFC9113, "10.5.1; 6.10 (CVE-2024-27316)",
        "Since there is no hard limit to the size of a field block, some endpoints could "
        "be forced to commit a large amount of available memory for field blocks.",
        "A header block continued forever (CONTINUATION flood) is cut off: the server "
        "ends the connection instead of accumulating the block.",
    ),
    Requirement(
        "RFC9113-10.5.1-2", SHOULD, RFC9113, "10.5.1; RFC 7541 §7.3 (CVE-2016-6581)",
        "A server that receives a larger field block than it is willing to handle can send "
        "an HTTP 431 (Request Header Fields Too Large) status code",
        "A small header block that decodes to a huge header list (one dynamic-table entry "
        "referenced thousands of times: HPACK bomb) is refused (431, reset or connection "
        "error), not decoded and handed to the app.",
    ),
)
