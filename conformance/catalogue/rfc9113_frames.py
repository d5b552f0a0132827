"""HTTP/2 (RFC 9113) frame definitions (§6) and HTTP semantics (§8), as h2spec 2.x's
``http2/6.*`` and ``http2/8.*`` cases judge them. §3 to §5 are ``catalogue.rfc9113``;
HPACK is ``catalogue.rfc7541``.

IDs are ``RFC9113-<section>-<n>`` with RFC 9113's section numbers. h2spec was written
against RFC 7540; what RFC 9113 changed for these items:

* renumbering: 7540 §8.1.2 (header fields) is 9113 §8.2, §8.1.2.1 (pseudo-header fields)
  is §8.3, §8.1.2.2 (connection-specific fields) is §8.2.2, §8.1.2.3 (request
  pseudo-header fields) is §8.3.1, §8.1.2.6 (malformed messages) is §8.1.1, and §8.2
  (server push) is §8.4;
* §6.3 PRIORITY and the priority scheme of 7540 §5.3 are deprecated (9113 §5.3.2), but
  the frame's format rules (stream 0, length 5) still bind a receiver;
* uppercase field names: 7540 §8.1.2 said so in a sentence of its own; 9113 folds it into
  §8.2.1's minimal field validation (0x41-0x5a are forbidden in names, MUST be malformed),
  and adds the rules on NUL/CR/LF and surrounding whitespace in values;
* repeated pseudo-header fields are malformed in an explicit sentence of §8.3 (7540 only
  said "exactly one valid value" in §8.1.2.3);
* §8.3.1 ``:authority``/Host: a server SHOULD treat a mismatch as malformed (new);
* TE: unchanged ("MUST NOT contain any value other than trailers"), but it is still a rule
  on the sender; that a receiver treats another value as malformed is derived from §8.2.2;
* §6.5.2 SETTINGS_ENABLE_PUSH: 9113 adds that a server MUST NOT set it to 1 and that for a
  server the setting has no effect; a value other than 0 or 1 is still a connection error.
"""

from __future__ import annotations

from conformance.catalogue import MUST, RFC9113, Requirement


def _item(section: str, n: int, quote: str, summary: str, *, derived: bool = False,
          ) -> Requirement:
    return Requirement(f"RFC9113-{section}-{n}", MUST, RFC9113, section, quote, summary,
                       derived=derived)


REQUIREMENTS: tuple[Requirement, ...] = (
    # --- §6.1 DATA
    _item("6.1", 1, "If a DATA frame is received whose Stream Identifier field is 0x00, the "
          "recipient MUST respond with a connection error of type PROTOCOL_ERROR.",
          "DATA on stream 0 is a connection error PROTOCOL_ERROR."),
    _item("6.1", 2, "If a DATA frame is received whose stream is not in the \"open\" or "
          "\"half-closed (local)\" state, the recipient MUST respond with a stream error of "
          "type STREAM_CLOSED.",
          "DATA on a half-closed (remote) stream is a stream error STREAM_CLOSED."),
    _item("6.1", 3, "If the length of the padding is the length of the frame payload or "
          "greater, the recipient MUST treat this as a connection error of type "
          "PROTOCOL_ERROR.",
          "DATA whose Pad Length is not smaller than its payload is a connection error "
          "PROTOCOL_ERROR."),
    # --- §6.2 HEADERS
    _item("6.2", 1, "A receiver MUST treat the receipt of any other type of frame or a frame "
          "on a different stream as a connection error of type PROTOCOL_ERROR.",
          "A frame other than CONTINUATION for the same stream inside an unfinished header "
          "block is a connection error PROTOCOL_ERROR."),
    _item("6.2", 2, "If a HEADERS frame is received whose Stream Identifier field is 0x00, "
          "the recipient MUST respond with a connection error of type PROTOCOL_ERROR.",
          "HEADERS on stream 0 is a connection error PROTOCOL_ERROR."),
    _item("6.2", 3, "If the length of the padding is the length of the frame payload or "
          "greater, the recipient MUST treat this as a connection error of type "
          "PROTOCOL_ERROR.",
          "HEADERS whose Pad Length is not smaller than its payload is a connection error "
          "PROTOCOL_ERROR (h2spec accepts a stream error)."),
    # --- §6.3 PRIORITY (deprecated in 9113, its format rules still apply)
    _item("6.3", 1, "If a PRIORITY frame is received with a stream identifier of 0x00, the "
          "recipient MUST respond with a connection error of type PROTOCOL_ERROR.",
          "PRIORITY on stream 0 is a connection error PROTOCOL_ERROR (the frame is "
          "deprecated in RFC 9113, the rule is not)."),
    _item("6.3", 2, "A PRIORITY frame with a length other than 5 octets MUST be treated as a "
          "stream error of type FRAME_SIZE_ERROR.",
          "A PRIORITY frame not 5 octets long is a stream error FRAME_SIZE_ERROR."),
    # --- §6.4 RST_STREAM
    _item("6.4", 1, "If a RST_STREAM frame is received with a stream identifier of 0x00, the "
          "recipient MUST treat this as a connection error of type PROTOCOL_ERROR.",
          "RST_STREAM on stream 0 is a connection error PROTOCOL_ERROR."),
    _item("6.4", 2, "If a RST_STREAM frame identifying an idle stream is received, the "
          "recipient MUST treat this as a connection error of type PROTOCOL_ERROR.",
          "RST_STREAM on an idle stream is a connection error PROTOCOL_ERROR."),
    _item("6.4", 3, "A RST_STREAM frame with a length other than 4 octets MUST be treated as "
          "a connection error of type FRAME_SIZE_ERROR.",
          "A RST_STREAM frame not 4 octets long is a connection error FRAME_SIZE_ERROR "
          "(h2spec accepts a stream error)."),
    # --- §6.5 SETTINGS
    _item("6.5", 1, "Receipt of a SETTINGS frame with the ACK flag set and a length field "
          "value other than 0 MUST be treated as a connection error of type "
          "FRAME_SIZE_ERROR.",
          "A SETTINGS ACK with a payload is a connection error FRAME_SIZE_ERROR."),
    _item("6.5", 2, "If an endpoint receives a SETTINGS frame whose Stream Identifier field "
          "is anything other than 0x00, the endpoint MUST respond with a connection error "
          "of type PROTOCOL_ERROR.",
          "SETTINGS on a stream other than 0 is a connection error PROTOCOL_ERROR."),
    _item("6.5", 3, "A SETTINGS frame with a length other than a multiple of 6 octets MUST "
          "be treated as a connection error of type FRAME_SIZE_ERROR.",
          "A SETTINGS frame whose length is not a multiple of 6 is a connection error "
          "(FRAME_SIZE_ERROR; PROTOCOL_ERROR for a badly formed frame also answers it)."),
    _item("6.5.2", 1, "Any value other than 0 or 1 MUST be treated as a connection error of "
          "type PROTOCOL_ERROR.",
          "SETTINGS_ENABLE_PUSH other than 0 or 1 is a connection error PROTOCOL_ERROR."),
    _item("6.5.2", 2, "Values above the maximum flow-control window size of 2^31-1 MUST be "
          "treated as a connection error of type FLOW_CONTROL_ERROR.",
          "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1 is a connection error "
          "FLOW_CONTROL_ERROR."),
    _item("6.5.2", 3, "Values outside this range MUST be treated as a connection error of "
          "type PROTOCOL_ERROR.",
          "SETTINGS_MAX_FRAME_SIZE below 2^14 or above 2^24-1 is a connection error "
          "PROTOCOL_ERROR."),
    _item("6.5.2", 4, "An endpoint that receives a SETTINGS frame with any unknown or "
          "unsupported identifier MUST ignore that setting.",
          "An unknown setting is ignored: the connection stays usable."),
    _item("6.5.3", 1, "The values in the SETTINGS frame MUST be processed in the order they "
          "appear, with no other frame processing between values.",
          "Repeated values in one SETTINGS frame apply in order: the last one wins."),
    _item("6.5.3", 2, "Once all values have been processed, the recipient MUST immediately "
          "emit a SETTINGS frame with the ACK flag set.",
          "A SETTINGS frame without ACK is acknowledged at once."),
    # --- §6.7 PING
    _item("6.7", 1, "Receivers of a PING frame that does not include an ACK flag MUST send a "
          "PING frame with the ACK flag set in response, with an identical frame payload.",
          "A PING is answered with a PING ACK carrying the same 8 octets."),
    _item("6.7", 2, "An endpoint MUST NOT respond to PING frames containing this flag.",
          "A PING with the ACK flag is not answered."),
    _item("6.7", 3, "If a PING frame is received with a Stream Identifier field value other "
          "than 0x00, the recipient MUST respond with a connection error of type "
          "PROTOCOL_ERROR.",
          "PING on a stream other than 0 is a connection error PROTOCOL_ERROR."),
    _item("6.7", 4, "Receipt of a PING frame with a length field value other than 8 MUST be "
          "treated as a connection error of type FRAME_SIZE_ERROR.",
          "A PING not 8 octets long is a connection error (h2spec's frame is also on "
          "stream 1, so PROTOCOL_ERROR answers it too)."),
    # --- §6.8 GOAWAY
    _item("6.8", 1, "An endpoint MUST treat a GOAWAY frame with a stream identifier other "
          "than 0x00 as a connection error of type PROTOCOL_ERROR.",
          "GOAWAY on a stream other than 0 is a connection error PROTOCOL_ERROR."),
    # --- §6.9 WINDOW_UPDATE
    _item("6.9", 1, "A receiver MUST treat the receipt of a WINDOW_UPDATE frame with a "
          "flow-control window increment of 0 as a stream error of type PROTOCOL_ERROR",
          "A zero WINDOW_UPDATE increment is a stream error PROTOCOL_ERROR, a connection "
          "error on stream 0."),
    _item("6.9", 2, "A WINDOW_UPDATE frame with a length other than 4 octets MUST be "
          "treated as a connection error of type FRAME_SIZE_ERROR.",
          "A WINDOW_UPDATE not 4 octets long is a connection error FRAME_SIZE_ERROR."),
    _item("6.9.1", 1, "The sender MUST NOT send a flow-controlled frame with a length that "
          "exceeds the space available in either of the flow-control windows",
          "The server's DATA never exceeds the window we advertised."),
    _item("6.9.1", 2, "If a sender receives a WINDOW_UPDATE that causes a flow-control "
          "window to exceed this maximum, it MUST terminate either the stream or the "
          "connection, as appropriate.",
          "A window pushed above 2^31-1 ends the stream (RST_STREAM) or the connection "
          "(GOAWAY) with FLOW_CONTROL_ERROR."),
    _item("6.9.2", 1, "When the value of SETTINGS_INITIAL_WINDOW_SIZE changes, a receiver "
          "MUST adjust the size of all stream flow-control windows that it maintains",
          "A new SETTINGS_INITIAL_WINDOW_SIZE applies to streams already open."),
    _item("6.9.2", 2, "A sender MUST track the negative flow-control window and MUST NOT "
          "send new flow-controlled frames until it receives WINDOW_UPDATE frames that cause "
          "the flow-control window to become positive.",
          "A window made negative by SETTINGS is tracked: DATA resumes only by what the "
          "WINDOW_UPDATE makes positive."),
    _item("6.9.2", 3, "An endpoint MUST treat a change to SETTINGS_INITIAL_WINDOW_SIZE that "
          "causes any flow-control window to exceed the maximum size as a connection error "
          "of type FLOW_CONTROL_ERROR.",
          "SETTINGS_INITIAL_WINDOW_SIZE of 2^31 is a connection error FLOW_CONTROL_ERROR."),
    # --- §6.10 CONTINUATION
    _item("6.10", 1, "If the END_HEADERS flag is not set, this frame MUST be followed by "
          "another CONTINUATION frame. A receiver MUST treat the receipt of any other type "
          "of frame ... as a connection error",
          "A frame other than CONTINUATION after a CONTINUATION without END_HEADERS is a "
          "connection error PROTOCOL_ERROR."),
    _item("6.10", 2, "If a CONTINUATION frame is received with a Stream Identifier field of "
          "0x00, the recipient MUST respond with a connection error of type PROTOCOL_ERROR.",
          "CONTINUATION on stream 0 is a connection error PROTOCOL_ERROR."),
    _item("6.10", 3, "A CONTINUATION frame MUST be preceded by a HEADERS, PUSH_PROMISE or "
          "CONTINUATION frame without the END_HEADERS flag set. A recipient that observes "
          "violation ... MUST respond with a connection error",
          "A CONTINUATION after a finished header block (or after DATA) is a connection "
          "error PROTOCOL_ERROR."),
    _item("6.10", 4, "Any number of CONTINUATION frames can be sent, as long as the "
          "preceding frame is on the same stream and is a HEADERS ... frame without the "
          "END_HEADERS flag set.",
          "A header block split over HEADERS and several CONTINUATION frames is accepted "
          "and answered.", derived=True),
    # --- §8.1 HTTP message framing
    _item("8.1", 1, "An endpoint that receives a HEADERS frame without the END_STREAM flag "
          "set after receiving the HEADERS frame that opens a request ... MUST treat the "
          "corresponding request ... as malformed.",
          "A second HEADERS without END_STREAM on a request is malformed: stream error "
          "PROTOCOL_ERROR (7540 §8.1)."),
    _item("8.1", 2, "Trailers MUST NOT include pseudo-header fields. An endpoint that "
          "receives pseudo-header fields in trailers MUST treat the request or response as "
          "malformed.",
          "A pseudo-header field in trailers makes the request malformed (7540 §8.1.2.1)."),
    _item("8.1.1", 1, "Malformed requests or responses that are detected MUST be treated as "
          "a stream error of type PROTOCOL_ERROR.",
          "A content-length that differs from the DATA received makes the request "
          "malformed: stream error PROTOCOL_ERROR (7540 §8.1.2.6)."),
    # --- §8.2 HTTP fields (7540 §8.1.2)
    _item("8.2.1", 1, "A field name MUST NOT contain characters in the ranges 0x00-0x20, "
          "0x41-0x5a, or 0x7f-0xff",
          "An uppercase field name makes the request malformed (7540 §8.1.2; 9113 makes it "
          "part of the minimal field validation)."),
    _item("8.2.2", 1, "Any message containing connection-specific header fields MUST be "
          "treated as malformed.",
          "A Connection header field makes the request malformed (7540 §8.1.2.2)."),
    _item("8.2.2", 2, "The only exception to this is the TE header field, which MAY be "
          "present in an HTTP/2 request; when it is, it MUST NOT contain any value other "
          "than \"trailers\".",
          "TE with a value other than \"trailers\" is refused as malformed (derived: the "
          "MUST NOT binds the sender; unchanged from 7540 §8.1.2.2).", derived=True),
    # --- §8.3 HTTP control data (7540 §8.1.2.1, §8.1.2.3)
    _item("8.3", 1, "Endpoints MUST treat a request or response that contains undefined or "
          "invalid pseudo-header fields as malformed.",
          "An unknown pseudo-header field, or :status in a request, makes it malformed."),
    _item("8.3", 2, "Any request or response that contains a pseudo-header field that "
          "appears in a field block after a regular field line MUST be treated as "
          "malformed.",
          "A pseudo-header field after a regular field makes the request malformed."),
    _item("8.3", 3, "A field block for an HTTP request or response that contains a repeated "
          "pseudo-header field name MUST be treated as malformed.",
          "A repeated :method, :scheme or :path makes the request malformed (explicit only "
          "since 9113; 7540 said \"exactly one valid value\")."),
    _item("8.3.1", 1, "All HTTP/2 requests MUST include exactly one valid value for the "
          "\":method\", \":scheme\", and \":path\" pseudo-header fields, unless they are "
          "CONNECT requests.",
          "A request that omits :method, :scheme or :path, or has an empty :path, is "
          "malformed (7540 §8.1.2.3)."),
    # --- §8.4 server push (7540 §8.2)
    _item("8.4", 1, "A client cannot push. Thus, servers MUST treat the receipt of a "
          "PUSH_PROMISE frame as a connection error of type PROTOCOL_ERROR.",
          "A PUSH_PROMISE from the client is a connection error PROTOCOL_ERROR."),
)
