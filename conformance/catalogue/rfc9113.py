"""HTTP/2 (RFC 9113) as h2spec 2.x judges it, generic and §3 to §5: starting HTTP/2, frame
format and size, header compression, stream states, identifiers and concurrency, error
handling and extensibility, plus the items h2spec's ``generic/`` cases judge (a server
accepts each valid frame and representation). Frame definitions (§6) and HTTP semantics (§8)
as h2spec's ``http2/6.x`` and ``http2/8.x`` cases judge them are ``catalogue.rfc9113_frames``;
HPACK's ``hpack/`` cases are ``catalogue.rfc7541``.

IDs are ``RFC9113-<section>-<n>`` with RFC 9113's section numbers. h2spec was written
against RFC 7540; where RFC 9113 renumbered, changed or dropped the rule, the item quotes RFC
9113 and its summary says what changed. The ``generic/`` items outside §3 to §5 (a server
accepts DATA, PRIORITY, HPACK representations...) are numbered from 51 so they never clash
with the ``http2/6.x`` and ``hpack/`` items of the same sections; most are *derived*: RFC
9113 defines the frame without a sentence saying "MUST accept", so a server that rejects
one is at worst *non-strict*.
"""

from __future__ import annotations

from conformance.catalogue import MAY, MUST, RFC7541, RFC9113, SHOULD, Requirement

_PREFACE_AND_FRAMES: tuple[Requirement, ...] = (
    Requirement(
        "RFC9113-3.4-1", MUST, RFC9113, "3.4",
        "The server connection preface consists of a potentially empty SETTINGS frame "
        "... that MUST be the first frame the server sends in the HTTP/2 connection",
        "After the client preface the server's first frame is SETTINGS.",
    ),
    Requirement(
        "RFC9113-3.4-2", MUST, RFC9113, "3.4",
        "Clients and servers MUST treat an invalid connection preface as a connection error "
        "of type PROTOCOL_ERROR. A GOAWAY frame ... MAY be omitted in this case",
        "An invalid client preface ends the connection (h2spec: the TCP connection closes; "
        "RFC 7540 §3.5, now §3.4).",
    ),
    Requirement(
        "RFC9113-4.1-1", MUST, RFC9113, "4.1",
        "Implementations MUST ignore and discard frames of unknown types.",
        "A frame of an unknown type is ignored: the connection goes on.",
    ),
    Requirement(
        "RFC9113-4.1-2", MUST, RFC9113, "4.1",
        "Unused flags MUST be ignored on receipt",
        "Flags a frame type does not define are ignored (a PING with them is answered).",
    ),
    Requirement(
        "RFC9113-4.1-3", MUST, RFC9113, "4.1",
        "Reserved: ... the bit MUST remain unset (0x00) when sending and MUST be ignored when "
        "receiving.",
        "The reserved bit of the stream identifier is ignored.",
    ),
    Requirement(
        "RFC9113-4.2-1", MUST, RFC9113, "4.2",
        "All implementations MUST be capable of receiving and minimally processing frames up "
        "to 2^14 octets in length",
        "A DATA frame of SETTINGS_MAX_FRAME_SIZE octets is received and the request answered.",
    ),
    Requirement(
        "RFC9113-4.2-2", MUST, RFC9113, "4.2",
        "An endpoint MUST send an error code of FRAME_SIZE_ERROR if a frame exceeds the size "
        "defined in SETTINGS_MAX_FRAME_SIZE",
        "A DATA frame larger than SETTINGS_MAX_FRAME_SIZE is an error of type "
        "FRAME_SIZE_ERROR (a stream error will do).",
    ),
    Requirement(
        "RFC9113-4.2-3", MUST, RFC9113, "4.2",
        "A frame size error in a frame that could alter the state of the entire connection "
        "MUST be treated as a connection error; this includes any frame carrying a field block",
        "A HEADERS frame larger than SETTINGS_MAX_FRAME_SIZE is a connection error of type "
        "FRAME_SIZE_ERROR.",
    ),
    Requirement(
        "RFC9113-4.3-1", MUST, RFC9113, "4.3",
        "A decoding error in a field block MUST be treated as a connection error of type "
        "COMPRESSION_ERROR.",
        "A header block that does not decode is a connection error of type COMPRESSION_ERROR.",
    ),
    Requirement(
        "RFC9113-4.3-2", MUST, RFC9113, "4.3, 6.10",
        "Field blocks MUST be transmitted as a contiguous sequence of frames ... A receiver "
        "MUST treat the receipt of any other type of frame ... as a connection error",
        "A frame of another type or stream inside a header block is a connection error of type "
        "PROTOCOL_ERROR (the receiver's duty is in RFC 9113 §6.10).",
    ),
)

_STREAMS: tuple[Requirement, ...] = (
    Requirement(
        "RFC9113-5.1-1", MUST, RFC9113, "5.1",
        "Receiving any frame other than HEADERS or PRIORITY on a stream in this state MUST be "
        "treated as a connection error ... of type PROTOCOL_ERROR.",
        "DATA, RST_STREAM, WINDOW_UPDATE or CONTINUATION on an idle stream is a connection "
        "error of type PROTOCOL_ERROR.",
    ),
    Requirement(
        "RFC9113-5.1-2", MUST, RFC9113, "5.1",
        "If an endpoint receives additional frames, other than WINDOW_UPDATE, PRIORITY, or "
        "RST_STREAM, for a stream that is in this state, it MUST respond with a stream error",
        "DATA, HEADERS or CONTINUATION on a half-closed (remote) stream is a stream error of "
        "type STREAM_CLOSED.",
    ),
    Requirement(
        "RFC9113-5.1-3", MAY, RFC9113, "5.1",
        "An endpoint MAY treat receipt of any other type of frame on a closed stream as a "
        "connection error of type STREAM_CLOSED",
        "HEADERS on a closed stream may be an error of type STREAM_CLOSED. RFC 7540 §5.1 made "
        "it a MUST (a stream error after RST_STREAM, a connection error after END_STREAM); RFC "
        "9113 relaxed it to a MAY and asks the receiver to discard such frames.",
    ),
    Requirement(
        "RFC9113-5.1-4", MUST, RFC9113, "5.1, 6.1",
        "If a DATA frame is received whose stream is not in the \"open\" or \"half-closed "
        "(local)\" state, the recipient MUST respond with a stream error of type STREAM_CLOSED.",
        "DATA on a closed stream is a stream error of type STREAM_CLOSED (RFC 9113 §6.1; RFC "
        "7540 §5.1's connection error after END_STREAM is only a MAY in RFC 9113 §5.1).",
    ),
    Requirement(
        "RFC9113-5.1-5", MUST, RFC9113, "5.1, 6.10",
        "A CONTINUATION frame MUST be preceded by a HEADERS, PUSH_PROMISE or CONTINUATION frame "
        "without the END_HEADERS flag set.",
        "A CONTINUATION on a closed stream, with no header block open, is an error of type "
        "PROTOCOL_ERROR (h2spec also accepts STREAM_CLOSED).",
    ),
    Requirement(
        "RFC9113-5.1-6", MUST, RFC9113, "5.1",
        "Note that PRIORITY can be sent and received in any stream state.",
        "PRIORITY on an idle or a closed stream is accepted: the connection goes on.",
        derived=True,
    ),
    Requirement(
        "RFC9113-5.1-7", MUST, RFC9113, "5.1",
        "other than WINDOW_UPDATE, PRIORITY, or RST_STREAM",
        "WINDOW_UPDATE, PRIORITY and RST_STREAM on a half-closed (remote) stream are accepted: "
        "the response still comes, or the connection goes on.",
        derived=True,
    ),
    Requirement(
        "RFC9113-5.1.1-1", MUST, RFC9113, "5.1.1",
        "An endpoint that receives an unexpected stream identifier MUST respond with a "
        "connection error ... of type PROTOCOL_ERROR.",
        "A client stream with an even identifier, or one lower than an earlier stream's, is a "
        "connection error of type PROTOCOL_ERROR.",
    ),
    Requirement(
        "RFC9113-5.1.2-1", MUST, RFC9113, "5.1.2",
        "An endpoint that receives a HEADERS frame that causes its advertised concurrent "
        "stream limit to be exceeded MUST treat this as a stream error",
        "A stream beyond the advertised SETTINGS_MAX_CONCURRENT_STREAMS is a stream error of "
        "type PROTOCOL_ERROR or REFUSED_STREAM.",
    ),
    Requirement(
        "RFC9113-5.3.2-1", MAY, RFC9113, "5.3.2",
        "This update to HTTP/2 deprecates the priority signaling defined in RFC 7540.",
        "A stream that depends on itself: RFC 7540 §5.3.1 required a stream error of type "
        "PROTOCOL_ERROR; RFC 9113 deprecated priority and dropped the rule, so h2spec's "
        "expectation is no longer required.",
    ),
    Requirement(
        "RFC9113-5.4.1-1", MUST, RFC9113, "5.4.1",
        "After sending the GOAWAY frame for an error condition, the endpoint MUST close the "
        "TCP connection.",
        "After a connection error the server closes the TCP connection.",
    ),
    Requirement(
        "RFC9113-5.4.1-2", SHOULD, RFC9113, "5.4.1",
        "An endpoint that encounters a connection error SHOULD first send a GOAWAY frame",
        "A connection error is announced with a GOAWAY before the close (h2spec's strict "
        "case).",
    ),
    Requirement(
        "RFC9113-5.5-1", MUST, RFC9113, "5.5",
        "Implementations MUST discard frames that have unknown or unsupported types.",
        "An unknown extension frame is discarded: the connection goes on.",
    ),
    Requirement(
        "RFC9113-5.5-2", MUST, RFC9113, "5.5",
        "extension frames that appear in the middle of a field block are not permitted; "
        "these MUST be treated as a connection error of type PROTOCOL_ERROR.",
        "An unknown frame inside a header block is a connection error of type PROTOCOL_ERROR.",
    ),
)

_GENERIC: tuple[Requirement, ...] = (
    Requirement(
        "RFC9113-6.1-51", MUST, RFC9113, "6.1",
        "One or more DATA frames are used, for instance, to carry HTTP request or response "
        "content.",
        "A request body in one DATA frame, several, or a padded one is accepted and the "
        "request answered (h2spec generic/3.1).",
        derived=True,
    ),
    Requirement(
        "RFC9113-6.2-51", MUST, RFC9113, "6.2",
        "The HEADERS frame (type=0x01) is used to open a stream ..., and additionally carries "
        "a field block fragment.",
        "A request in a HEADERS frame, padded or with priority fields, is answered (h2spec "
        "generic/3.2).",
        derived=True,
    ),
    Requirement(
        "RFC9113-6.3-51", MUST, RFC9113, "6.3",
        "The PRIORITY frame (type=0x02) is deprecated ... A PRIORITY frame can be sent in any "
        "stream state, including idle or closed streams.",
        "PRIORITY frames of any weight, dependency or exclusivity are accepted, then the "
        "request answered (h2spec generic/3.3).",
        derived=True,
    ),
    Requirement(
        "RFC9113-6.4-51", MUST, RFC9113, "6.4",
        "The RST_STREAM frame (type=0x03) allows for immediate termination of a stream.",
        "RST_STREAM on an open stream is accepted: the connection goes on or closes cleanly "
        "(h2spec generic/3.4).",
        derived=True,
    ),
    Requirement(
        "RFC9113-6.5-51", MUST, RFC9113, "6.5.3",
        "Once all values have been processed, the recipient MUST immediately emit a SETTINGS "
        "frame with the ACK flag set.",
        "A SETTINGS frame with every defined parameter is acknowledged (h2spec generic/3.5).",
    ),
    Requirement(
        "RFC9113-6.7-51", MUST, RFC9113, "6.7",
        "Receivers of a PING frame that does not include an ACK flag MUST send a PING frame "
        "with the ACK flag set in response, with an identical frame payload.",
        "A PING is answered with a PING ACK carrying its payload (h2spec generic/3.7).",
    ),
    Requirement(
        "RFC9113-6.8-51", SHOULD, RFC9113, "6.8",
        "Endpoints SHOULD always send a GOAWAY frame before closing a connection",
        "After the client's GOAWAY (no streams) the server closes the connection, as h2spec "
        "generic/3.8 expects; RFC 9113 asks nothing of the receiver, so at most non-strict.",
    ),
    Requirement(
        "RFC9113-6.9-51", MUST, RFC9113, "6.9",
        "Flow control operates at two levels: on each individual stream and on the entire "
        "connection.",
        "WINDOW_UPDATE on the connection and on an open stream is accepted (h2spec "
        "generic/3.9).",
        derived=True,
    ),
    Requirement(
        "RFC9113-6.10-51", MUST, RFC9113, "6.10",
        "Any number of CONTINUATION frames can be sent, as long as the preceding frame is on "
        "the same stream",
        "A request header block split over HEADERS and one or more CONTINUATION frames is "
        "answered (h2spec generic/3.10).",
        derived=True,
    ),
    Requirement(
        "RFC9113-8.1-51", MUST, RFC9113, "8.1",
        "A server sends an HTTP response on the same stream as the request.",
        "GET, HEAD, POST and POST with trailers are answered on their stream (h2spec "
        "generic/4).",
        derived=True,
    ),
    Requirement(
        "RFC7541-6.1-51", MUST, RFC7541, "6.1",
        "An indexed header field representation identifies an entry in either the static "
        "table or the dynamic table",
        "A request with an indexed field (static index 58) is answered (h2spec generic/5/1).",
        derived=True,
    ),
    Requirement(
        "RFC7541-6.2-51", MUST, RFC7541, "6.2.1, 6.2.2, 6.2.3",
        "A literal header field without indexing representation results in appending a "
        "header field to the decoded header list without altering the dynamic table.",
        "Literal fields with incremental indexing, without indexing and never indexed, with "
        "indexed or new names, Huffman-coded or not, are decoded (h2spec generic/5/2-13).",
        derived=True,
    ),
    Requirement(
        "RFC7541-6.3-51", MUST, RFC7541, "4.2, 6.3",
        "A dynamic table size update signals a change to the size of the dynamic table.",
        "One or two dynamic table size updates at the start of a block are accepted (h2spec "
        "generic/5/14-15).",
        derived=True,
    ),
)

REQUIREMENTS: tuple[Requirement, ...] = _PREFACE_AND_FRAMES + _STREAMS + _GENERIC
