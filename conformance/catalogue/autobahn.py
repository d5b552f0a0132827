"""WebSocket requirements as Autobahn|Testsuite groups them (RFC 6455, RFC 7692).

One requirement per Autobahn sub-category (``AB-1.1`` text framing, ``AB-6.12``
unexpected continuation bytes...), or per category where Autobahn has none (``AB-2``,
``AB-3``, ``AB-5``), each tied to the RFC section the cases exercise. IDs match the
case IDs of :mod:`conformance.autobahn.cases`, so ``AB-6.12`` is judged by cases
6.12.1-6.12.8.

Levels follow how Autobahn judges and what the RFC requires:

* MUST where Autobahn's best outcome is OK and the RFC says MUST; the cases may still
  end *non-strict* where Autobahn accepts a NON-STRICT alternative (e.g. failing the
  connection before echoing the valid message that preceded a bad frame).
* The quote is the sentence a *fail* rests on. Where Autobahn is stricter than RFC 6455
  the case is *non-strict* (:mod:`conformance.autobahn.judge`): the echo itself (RFC
  6455 obliges no endpoint to echo; the echo app's messages are the ASGI mapping's,
  judged in ``catalogue.asgi_websocket``) and the code of a Close sent in reply. So the
  echo and close categories (1, 6.1, 6.2, the valid UTF-8 groups, 7) quote the closing
  handshake's MUST, which is what can fail there besides the frames the server sends
  (those failures name their own section).
* SHOULD where the RFC leaves it open: a pong for *every* ping of a burst (§5.5.3 lets
  an endpoint answer only the latest, Autobahn's 2.10/2.11 note "not required by the
  Spec"), and category 9 (§10.4 lets a server limit message sizes).
* MAY where Autobahn's only outcome is INFORMATIONAL (7.1.6, 7.13): the spec leaves the
  behaviour undefined, so these never fail.
* permessage-deflate (12, 13) is optional: the cases are *n/a* when the server does not
  negotiate it (Autobahn's UNIMPLEMENTED) and MUST be right when it does.
"""

from __future__ import annotations

from conformance.catalogue import MAY, MUST, RFC6455, RFC7692, SHOULD, Requirement

_UTF8_FAIL = ("When an endpoint is to interpret a byte stream as UTF-8 but finds that the "
              "byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail "
              "the WebSocket Connection_.")
_CLOSE_REPLY = ("If an endpoint receives a Close frame and did not previously send a Close "
                "frame, the endpoint MUST send a Close frame in response.")
_TEXT = "The \"Payload data\" is text data encoded as UTF-8. ... " + _CLOSE_REPLY
_ECHO_NOTE = (" (A missing or different echo is non-strict: RFC 6455 obliges no echo; the "
              "closing handshake can fail.)")

_UTF8_GROUPS: list[tuple[str, bool | None, str]] = [
    ("6.5", True, "Some valid UTF-8 sequences"),
    ("6.6", None, "All prefixes of a valid UTF-8 string with multi-byte code points"),
    ("6.7", True, "First possible sequence of each length"),
    ("6.8", False, "First possible 5- and 6-byte sequences (code points beyond U+10FFFF)"),
    ("6.9", True, "Last possible sequence of each length"),
    ("6.10", False, "Last possible 4-, 5- and 6-byte sequences (beyond U+10FFFF)"),
    ("6.11", None, "Other boundary conditions (U+D7FF, U+E000, U+FFFD, U+10FFFF, U+110000)"),
    ("6.12", False, "Unexpected continuation bytes"),
    ("6.13", False, "Lonely start bytes"),
    ("6.14", False, "Sequences with the last continuation byte missing"),
    ("6.15", False, "Concatenation of incomplete sequences"),
    ("6.16", False, "Impossible bytes (FE, FF)"),
    ("6.17", False, "Overlong encodings of an ASCII character"),
    ("6.18", False, "Maximum overlong sequences"),
    ("6.19", False, "Overlong encodings of NUL"),
    ("6.20", False, "Single UTF-16 surrogates"),
    ("6.21", False, "Paired UTF-16 surrogates"),
    ("6.22", True, "Non-character code points (valid UTF-8)"),
    ("6.23", True, "Unicode specials such as the replacement character (valid UTF-8)"),
]


def _utf8_requirement(sub: str, valid: bool | None, title: str) -> Requirement:
    if valid is True:
        return Requirement(
            f"AB-{sub}", MUST, RFC6455, "§5.6 Data Frames; §5.5.1 Close", _TEXT,
            f"{title}: a text message with these valid UTF-8 payloads is accepted and "
            "echoed intact." + _ECHO_NOTE)
    if valid is False:
        return Requirement(
            f"AB-{sub}", MUST, RFC6455, "§8.1 Handling Errors in UTF-8-Encoded Data", _UTF8_FAIL,
            f"{title}: a text message carrying them is not valid UTF-8, so the server fails "
            "the connection (1007 or a TCP drop), never passing it to the app.")
    return Requirement(
        f"AB-{sub}", MUST, RFC6455, "§5.6 Data Frames; §8.1", _UTF8_FAIL,
        f"{title}: the valid payloads are echoed, the invalid ones fail the connection "
        "(1007 or a TCP drop).")


_PERFORMANCE: list[tuple[str, str]] = [
    ("9.1", "Text messages of 64 KiB to 16 MiB in one frame are echoed whole."),
    ("9.2", "Binary messages of 64 KiB to 16 MiB in one frame are echoed whole."),
    ("9.3", "A 4 MiB text message in fragments of 64 B to 4 MiB is echoed whole."),
    ("9.4", "A 4 MiB binary message in fragments of 64 B to 4 MiB is echoed whole."),
    ("9.5", "A 1 MiB text frame arriving in TCP chops of 64-2048 octets is echoed whole."),
    ("9.6", "A 1 MiB binary frame arriving in TCP chops of 64-2048 octets is echoed whole."),
    ("9.7", "1000 text messages of 0-4096 bytes, one after the other, are all echoed in "
            "time."),
    ("9.8", "1000 binary messages of 0-4096 bytes, one after the other, are all echoed in "
            "time."),
]

_DEFLATE_PAYLOADS: list[tuple[str, str]] = [
    ("12.1", "large JSON text"),
    ("12.2", "a 512x512 8-bit bitmap (binary)"),
    ("12.3", "German verse in UTF-8, sent as binary"),
    ("12.4", "a large HTML page (text)"),
    ("12.5", "a PDF, mostly incompressible (binary)"),
]

_DEFLATE_PARAMS: list[tuple[str, str]] = [
    ("13.1", "the default offer (client_no_context_takeover, client_max_window_bits)"),
    ("13.2", "an offer requesting server_no_context_takeover"),
    ("13.3", "an offer requesting server_max_window_bits=9"),
    ("13.4", "an offer requesting server_max_window_bits=15"),
    ("13.5", "an offer requesting server_no_context_takeover and server_max_window_bits=9"),
    ("13.6", "an offer requesting server_no_context_takeover and server_max_window_bits=15"),
    ("13.7", "three offers in order of preference (no context takeover with 9 window bits, "
             "no context takeover, default)"),
]

REQUIREMENTS: tuple[Requirement, ...] = (
    # --- 1 Framing -----------------------------------------------------------------------
    Requirement(
        "AB-1.1", MUST, RFC6455, "§5.2 Base Framing Protocol; §5.5.1 Close",
        "Payload length: 7 bits, 7+16 bits, or 7+64 bits ... " + _CLOSE_REPLY,
        "Text messages of 0 to 65536 bytes (every length encoding, and a frame written in "
        "997-byte chops) are echoed intact; the close is clean." + _ECHO_NOTE,
    ),
    Requirement(
        "AB-1.2", MUST, RFC6455, "§5.2 Base Framing Protocol; §5.5.1 Close",
        "Payload length: 7 bits, 7+16 bits, or 7+64 bits ... " + _CLOSE_REPLY,
        "Binary messages of 0 to 65536 bytes (every length encoding, and a frame written "
        "in 997-byte chops) are echoed intact; the close is clean." + _ECHO_NOTE,
    ),
    # --- 2 Pings/Pongs -------------------------------------------------------------------
    Requirement(
        "AB-2", MUST, RFC6455, "§5.5 Control Frames; §5.5.2 Ping; §5.5.3 Pong",
        "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response, "
        "unless it already received a Close frame.",
        "A ping (up to 125 bytes, even trickled octet by octet) gets a pong with the same "
        "payload; an unsolicited pong gets nothing; a 126-byte ping fails the connection.",
    ),
    Requirement(
        "AB-2.10", SHOULD, RFC6455, "§5.5.3 Pong",
        "the endpoint MAY elect to send a Pong frame for only the most recently processed "
        "Ping frame.",
        "A burst of 10 pings gets 10 pongs with their payloads in order (Autobahn checks it; "
        "the RFC allows answering only the latest, so a miss is non-strict).",
    ),
    # --- 3 Reserved bits -----------------------------------------------------------------
    Requirement(
        "AB-3", MUST, RFC6455, "§5.2 Base Framing Protocol (RSV1, RSV2, RSV3)",
        "If a nonzero value is received and none of the negotiated extensions defines the "
        "meaning of such a nonzero value, the receiving endpoint MUST _Fail the WebSocket "
        "Connection_.",
        "A frame with RSV bits set and no extension negotiated fails the connection "
        "(1002 or a TCP drop); nothing after it is answered.",
    ),
    # --- 4 Opcodes ---------------------------------------------------------------------------
    Requirement(
        "AB-4.1", MUST, RFC6455, "§5.2 Base Framing Protocol (Opcode)",
        "If an unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket "
        "Connection_.",
        "A frame with a reserved non-control opcode (3-7) fails the connection; nothing "
        "after it is answered.",
    ),
    Requirement(
        "AB-4.2", MUST, RFC6455, "§5.2 Base Framing Protocol (Opcode)",
        "If an unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket "
        "Connection_.",
        "A frame with a reserved control opcode (11-15) fails the connection; nothing after "
        "it is answered.",
    ),
    # --- 5 Fragmentation ----------------------------------------------------------------
    Requirement(
        "AB-5", MUST, RFC6455, "§5.4 Fragmentation",
        "Control frames (see Section 5.5) MAY be injected in the middle of a fragmented "
        "message. Control frames themselves MUST NOT be fragmented.",
        "Fragmented messages are reassembled (pings between fragments answered at once); "
        "fragmented control frames, continuations with nothing to continue and a new "
        "message inside a fragmented one fail the connection.",
    ),
    # --- 6 UTF-8 handling ---------------------------------------------------------------
    Requirement(
        "AB-6.1", MUST, RFC6455, "§5.6 Data Frames; §5.4 Fragmentation; §5.5.1 Close",
        _CLOSE_REPLY,
        "Empty text messages, also as three empty fragments or with only the middle "
        "fragment non-empty, are echoed." + _ECHO_NOTE,
    ),
    Requirement(
        "AB-6.2", MUST, RFC6455, "§5.6 Data Frames; §5.5.1 Close", _TEXT,
        "Valid UTF-8 text is echoed whole, whether a fragment boundary falls between or "
        "inside code points." + _ECHO_NOTE,
    ),
    Requirement(
        "AB-6.3", MUST, RFC6455, "§8.1 Handling Errors in UTF-8-Encoded Data", _UTF8_FAIL,
        "A text message with a UTF-16 surrogate in it, whole or in 1-byte fragments, fails "
        "the connection (1007 or a TCP drop).",
    ),
    Requirement(
        "AB-6.4", MUST, RFC6455, "§8.1 Handling Errors in UTF-8-Encoded Data", _UTF8_FAIL,
        "Text turning invalid mid-message fails the connection; at once on the offending "
        "fragment or chop is OK, only at the end of the message is non-strict.",
    ),
    *(_utf8_requirement(sub, valid, title) for sub, valid, title in _UTF8_GROUPS),
    # --- 7 Close handling ---------------------------------------------------------------
    Requirement(
        "AB-7.1", MUST, RFC6455, "§5.5.1 Close", _CLOSE_REPLY,
        "The server answers a close with a close (1000) and drops TCP; frames after the "
        "client's close (a second close, a ping, text, the rest of a fragmented message) "
        "are ignored. (Another code in the reply is non-strict: the reply only "
        "\"typically echos the status code it received\".)",
    ),
    Requirement(
        "AB-7.1.6", MAY, RFC6455, "§5.5.1 Close",
        "An endpoint MAY delay sending a Close frame until its current message is sent",
        "A 256 KiB message, a short one, then close and ping: whether the messages are "
        "echoed before the close is the server's choice (informational).",
    ),
    Requirement(
        "AB-7.3", MUST, RFC6455, "§5.5.1 Close; §5.5 Control Frames", _CLOSE_REPLY,
        "A close with no body, a code, or a code and a reason of up to 123 bytes is answered "
        "cleanly with 1000; a 1-byte body or a 126-byte payload gets 1002 or a TCP drop "
        "(another code in the reply is non-strict).",
    ),
    Requirement(
        "AB-7.5", MUST, RFC6455, "§5.5.1 Close; §8.1", _CLOSE_REPLY,
        "A close whose reason is not valid UTF-8 gets 1002 or 1007, or a TCP drop "
        "(another code in the reply is non-strict).",
    ),
    Requirement(
        "AB-7.7", MUST, RFC6455, "§5.5.1 Close; §7.4.1 Defined Status Codes; §7.4.2 Reserved "
        "Status Code Ranges", _CLOSE_REPLY,
        "A close with a valid code (1000-1003, 1007-1011, 3000-4999) is answered cleanly "
        "with 1000 or the same code (another code is non-strict).",
    ),
    Requirement(
        "AB-7.9", MUST, RFC6455, "§5.5.1 Close; §7.4.1; §7.4.2 Reserved Status Code Ranges",
        _CLOSE_REPLY,
        "A close with a code no endpoint may send (0, 999, 1004-1006, 1016, 1100, 2000, "
        "2999) gets 1002 or a TCP drop (another code in the reply is non-strict: RFC 6455 "
        "names none a server must answer it with).",
    ),
    Requirement(
        "AB-7.13", MAY, RFC6455, "§7.4.2 Reserved Status Code Ranges",
        "Status codes in the range 0-999 are not used.",
        "A close with code 5000 or 65535, which the RFC does not define: whatever the "
        "server does is recorded (informational).",
    ),
    # --- 9 Limits/Performance (opt-in) -------------------------------------------------
    *(Requirement(
        f"AB-{sub}", SHOULD, RFC6455, "§10.4 Implementation-Specific Limits",
        "implementations SHOULD impose implementation-specific limits on frame sizes and the "
        "total message size after reassembly from multiple frames.",
        f"{summary} A server may set its own size limits, so a refusal is non-strict.",
    ) for sub, summary in _PERFORMANCE),
    # --- 10 Misc -----------------------------------------------------------------------------
    Requirement(
        "AB-10.1", MUST, RFC6455, "§5.4 Fragmentation",
        "Clients and servers MUST support receiving both fragmented and unfragmented messages.",
        "A 64 KiB text message in 1300-byte fragments (51 frames) is echoed whole.",
    ),
    # --- 12, 13 permessage-deflate ------------------------------------------------------------
    *(Requirement(
        f"AB-{sub}", MUST, RFC7692, "§7.2.1 Compression; §7.2.2 Decompression",
        "Append 4 octets of 0x00 0x00 0xff 0xff to the tail end of the payload of the "
        "message. Decompress the resulting data using DEFLATE.",
        f"With permessage-deflate negotiated, compressed messages cut from {what}, 16 B to "
        "128 KiB, whole or in frames of 256 B-32 KiB, are echoed intact (n/a without "
        "deflate).",
    ) for sub, what in _DEFLATE_PAYLOADS),
    *(Requirement(
        f"AB-{sub}", MUST, RFC7692, "§7.1.1, §7.1.2 Context Takeover and Window Bits",
        "A server accepts an extension negotiation offer with this parameter by including "
        "the \"server_max_window_bits\" extension parameter in the extension negotiation "
        "response",
        f"Given {what}, the server accepts one validly and its compressed echoes honour "
        "the agreed context takeover and window sizes (n/a without deflate).",
    ) for sub, what in _DEFLATE_PARAMS),
)
