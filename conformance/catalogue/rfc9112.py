"""HTTP/1.1 wire requirements (RFC 9112, HTTP/1.1 message syntax; RFC 9110 semantics).

This module holds message-body framing (RFC 9112 §6-§8), connection management (§9)
and the RFC 9110 items they lean on: Content-Length semantics (§8.6), HEAD (§9.3.2),
Expect (§10.1.1), Date (§6.6.1) and what a server may generate (§2.2, §5.3).
Request-line, field syntax and Host (RFC 9112 §2-§5) live in ``rfc9112_request``.

IDs are ``RFC9112-<section>-<n>`` / ``RFC9110-<section>-<n>``: the n-th item we
catalogue from that section.
"""

from __future__ import annotations

from conformance.catalogue import MAY, MUST, RFC9110, RFC9112, SHOULD, WILL, Requirement

REQUIREMENTS: tuple[Requirement, ...] = (
    # --- RFC 9112 §6.1 Transfer-Encoding --------------------------------------------------
    Requirement(
        "RFC9112-6.1-1", MUST, RFC9112, "§6.1 Transfer-Encoding",
        "A server MUST NOT send a response containing Transfer-Encoding unless the "
        "corresponding request indicates HTTP/1.1 (or later minor revisions).",
        "A response to an HTTP/1.0 request is never chunked; without a length it is "
        "close-delimited.",
    ),
    Requirement(
        "RFC9112-6.1-2", MUST, RFC9112, "§6.1 Transfer-Encoding",
        "A sender MUST NOT apply the chunked transfer coding more than once to a message "
        "body",
        "An app's own Transfer-Encoding: chunked header never makes the server chunk an "
        "unchunked body twice or label raw bytes as chunked: the body arrives intact.",
    ),
    Requirement(
        "RFC9112-6.1-3", MUST, RFC9112, "§6.1 Transfer-Encoding",
        "A server MUST NOT send a Transfer-Encoding header field in any response with a "
        "status code of 1xx (Informational) or 204 (No Content).",
        "A 204 response carries no Transfer-Encoding, even when the app streams it or sets "
        "one.",
    ),
    Requirement(
        "RFC9112-6.1-4", SHOULD, RFC9112, "§6.1 Transfer-Encoding",
        "A server that receives a request message with a transfer coding it does not "
        "understand SHOULD respond with 501 (Not Implemented).",
        "A request whose body carries a transfer coding the server does not decode (before "
        "a final chunked) gets 501, not its still-encoded bytes passed off as the body.",
    ),
    Requirement(
        "RFC9112-6.1-5", MUST, RFC9112, "§6.1 Transfer-Encoding",
        "Regardless, the server MUST close the connection after responding to such a "
        "request to avoid the potential attacks.",
        "A request with both Content-Length and Transfer-Encoding is refused or processed "
        "as chunked, and either way the connection is closed: nothing after it is served.",
    ),
    Requirement(
        "RFC9112-6.1-6", MUST, RFC9112, "§6.1 Transfer-Encoding",
        "MUST treat the message as if the framing is faulty, even if a Content-Length is "
        "present, and close the connection after processing the message.",
        "An HTTP/1.0 request with Transfer-Encoding ends its connection: bytes after it are "
        "never served as another request.",
    ),
    # --- RFC 9112 §6.2 Content-Length -----------------------------------------------------
    Requirement(
        "RFC9112-6.2-1", MUST, RFC9112, "§6.2 Content-Length",
        "A sender MUST NOT send a Content-Length header field in any message that contains "
        "a Transfer-Encoding header field.",
        "A response never carries both Content-Length and Transfer-Encoding, even when the "
        "app set both.",
    ),
    # --- RFC 9112 §6.3 Message Body Length ------------------------------------------------
    Requirement(
        "RFC9112-6.3-1", WILL, RFC9112, "§6.3 Message Body Length",
        "If a valid Content-Length header field is present without Transfer-Encoding, its "
        "decimal value defines the expected message body length in octets.",
        "A response whose app set Content-Length carries exactly that many body bytes and "
        "no Transfer-Encoding.",
    ),
    Requirement(
        "RFC9112-6.3-2", MUST, RFC9112, "§6.3 Message Body Length (rule 6); RFC 9110 §8.6",
        "its decimal value defines the expected message body length in octets",
        "A request Content-Length of plain digits (leading zeros and surrounding OWS "
        "included) frames exactly that many body octets; what follows is the next request.",
    ),
    Requirement(
        "RFC9112-6.3-3", MUST, RFC9112, "§6.3 Message Body Length (rule 4)",
        "the chunked transfer coding is not the final encoding ... the server MUST respond "
        "with the 400 (Bad Request) status code and then close the connection.",
        "A request whose Transfer-Encoding does not end in chunked is refused (400; 501 for "
        "an unknown coding is tolerated) and the connection closed; the app is never given "
        "its body (an app called before the refusal is non-strict: the RFC asks only for "
        "the 400 and the close).",
    ),
    Requirement(
        "RFC9112-6.3-4", MUST, RFC9112, "§6.3 Message Body Length (rule 5)",
        "If the unrecoverable error is in a request message, the server MUST respond with a "
        "400 (Bad Request) status code and then close the connection.",
        "An invalid Content-Length (not digits, or disagreeing values) gets 400 and a "
        "closed connection; a list of equal values is processed as that one value, or "
        "refused the same way (RFC 9110 §8.6).",
    ),
    Requirement(
        "RFC9112-6.3-5", MUST, RFC9112, "§6.3 Message Body Length (rule 6)",
        "If the sender closes the connection ... before the indicated number of octets are "
        "received, the recipient MUST consider the message to be incomplete",
        "A request body cut short by the client's close is never delivered as complete: "
        "the app sees http.disconnect, and the server closes its side (n/a for what the app "
        "sees when the server never called it).",
    ),
    Requirement(
        "RFC9112-6.3-6", WILL, RFC9112, "§6.3 Message Body Length (rule 7)",
        "If this is a request message and none of the above are true, then the message "
        "body length is zero (no message body is present).",
        "A request with neither Content-Length nor Transfer-Encoding has an empty body: "
        "the next bytes are the next request (411 Length Required is also allowed).",
    ),
    Requirement(
        "RFC9112-6.3-7", WILL, RFC9112, "§6.3 Message Body Length (rule 1)",
        "any response with a 1xx (Informational), 204 (No Content), or 304 (Not Modified) "
        "status code is always terminated by the first empty line after the header fields",
        "204 and 304 responses end at their header section: body bytes the app sends are "
        "never written, so the next response on the connection parses cleanly.",
    ),
    Requirement(
        "RFC9112-6.3-8", SHOULD, RFC9112, "§6.3 Message Body Length",
        "a server SHOULD generate encoding or length-delimited messages whenever possible.",
        "A response to HTTP/1.1 is framed by Content-Length or chunked, not by closing the "
        "connection, even when the app gives no Content-Length.",
    ),
    Requirement(
        "RFC9112-6.3-9", WILL, RFC9112, "§6.3 Message Body Length (rule 8)",
        "the message body length is determined by the number of octets received prior to "
        "the server closing the connection.",
        "A response sent without a length (HTTP/1.0, no Content-Length) is ended by "
        "closing the connection, even when the client asked for keep-alive.",
    ),
    # --- RFC 9112 §7 Transfer Codings -----------------------------------------------------
    Requirement(
        "RFC9112-7-1", WILL, RFC9112, "§7 Transfer Codings",
        "All transfer-coding names are case-insensitive",
        "Transfer-Encoding: Chunked / CHUNKED (and with surrounding OWS) is chunked: the "
        "body is decoded.",
    ),
    Requirement(
        "RFC9112-7.1-1", MUST, RFC9112, "§7.1 Chunked Transfer Coding",
        "A recipient MUST be able to parse and decode the chunked transfer coding.",
        "A chunked request body (with chunk extensions and trailer fields) is accepted and "
        "decoded.",
    ),
    Requirement(
        "RFC9112-7.1-2", MUST, RFC9112, "§7.1 Chunked Transfer Coding; §11.2",
        "chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF; chunk-size = 1*HEXDIG",
        "A chunked body that breaks the grammar (size not plain hex, data overrunning its "
        "size, no CRLF after the data) is refused, never guessed at: guessing is how "
        "request smuggling starts (§11.2).",
        derived=True,
    ),
    Requirement(
        "RFC9112-7.1-3", MUST, RFC9112, "§7.1 Chunked Transfer Coding",
        "recipients MUST anticipate potentially large hexadecimal numerals and prevent "
        "parsing errors due to integer conversion overflows",
        "A chunk size beyond 64 bits is refused or waited for, never wrapped into a small "
        "number that re-frames the rest of the stream.",
    ),
    Requirement(
        "RFC9112-7.1.1-1", MUST, RFC9112, "§7.1.1 Chunk Extensions",
        "A recipient MUST ignore unrecognized chunk extensions.",
        "Chunk extensions of every grammatical shape (token or quoted values, several) are "
        "ignored and the body decoded (BWS around ';' and '=': RFC9110-5.6.3-1).",
    ),
    Requirement(
        "RFC9112-7.1.2-1", MUST, RFC9112, "§7.1.2 Chunked Trailer Section",
        "A recipient MUST NOT merge a received trailer field into the header section unless "
        "its corresponding header field definition explicitly permits",
        "Request trailer fields never appear among the scope's headers.",
    ),
    # --- RFC 9112 §9 Connection Management ------------------------------------------------
    Requirement(
        "RFC9112-9.3-1", MUST, RFC9112, "§9.3.2 Pipelining",
        "it MUST send the corresponding responses in the same order that the requests were "
        "received.",
        "Pipelined requests on one connection are all answered, in order.",
    ),
    Requirement(
        "RFC9112-9.3-2", SHOULD, RFC9112, "§9.3 Persistence",
        "HTTP implementations SHOULD support persistent connections.",
        "An HTTP/1.1 connection stays open after a response (whatever other Connection "
        "options the request lists) and serves the next request.",
    ),
    Requirement(
        "RFC9112-9.3-3", WILL, RFC9112, "§9.3 Persistence",
        "If the received protocol is HTTP/1.0 ... otherwise, the connection will close "
        "after the current response.",
        "An HTTP/1.0 request without keep-alive gets its response and then the connection "
        "closes: a request pipelined after it is not served (a 4xx in place of the app's "
        "response, blaming the pipelined bytes, is non-strict).",
    ),
    Requirement(
        "RFC9112-9.3-4", MAY, RFC9112, "§9.3 Persistence",
        'the "keep-alive" connection option is present ... and the recipient wishes to '
        'honor the HTTP/1.0 "keep-alive" mechanism, the connection will persist',
        "An HTTP/1.0 keep-alive request either gets a length-delimited response saying "
        "Connection: keep-alive on a connection that stays usable, or a closed connection.",
    ),
    Requirement(
        "RFC9112-9.3-5", MUST, RFC9112, "§9.3 Persistence",
        "A server MUST read the entire request message body or close the connection after "
        "sending its response",
        "When the app answers without reading the body, the server drains the body or "
        "closes: the body's bytes are never parsed as the next request.",
    ),
    Requirement(
        "RFC9112-9.6-1", MUST, RFC9112, "§9.6 Tear-down",
        'A server that receives a "close" connection option MUST initiate closure of the '
        "connection ... after it sends the final response",
        "Connection: close (in any case, among other options, or on a second Connection "
        "line) makes the server close the connection after its response.",
    ),
    Requirement(
        "RFC9112-9.6-2", SHOULD, RFC9112, "§9.6 Tear-down",
        'The server SHOULD send a "close" connection option in its final response on that '
        "connection.",
        "The response to a Connection: close request says Connection: close.",
    ),
    Requirement(
        "RFC9112-9.6-3", MUST, RFC9112, "§9.6 Tear-down",
        "The server MUST NOT process any further requests received on that connection.",
        "A request pipelined after one carrying Connection: close never reaches the app "
        "(a 4xx in place of the first response, blaming the request the client should not "
        "have sent, is non-strict).",
    ),
    Requirement(
        "RFC9112-9.6-4", MUST, RFC9112, "§9.6 Tear-down",
        'A server that sends a "close" connection option MUST initiate closure of the '
        "connection ... after it sends the response containing",
        "When a response goes out with Connection: close (the app's header passed through), "
        "the server closes and serves nothing more on that connection.",
    ),
    Requirement(
        "RFC9112-9.6-5", SHOULD, RFC9112, "§9.5 Failures and Timeouts; §9.6 Tear-down",
        "Implementations SHOULD constantly monitor open connections for a received closure "
        "signal and respond to it as appropriate",
        "A client that half-closes after a complete request still gets the response: its "
        "FIN ends its sending, not the exchange (servers MAY close instead).",
        derived=True,
    ),
    # --- RFC 9110 -------------------------------------------------------------------------
    Requirement(
        "RFC9110-5.6.3-1", MUST, RFC9110, "§5.6.3 Whitespace; RFC 9112 §7.1.1",
        "A recipient MUST parse for such bad whitespace and remove it before interpreting "
        "the protocol element.",
        "Bad whitespace (BWS) around the ';' and '=' of a chunk extension is parsed and "
        "removed: the extension is ignored and the body decoded, never refused as malformed.",
    ),
    Requirement(
        "RFC9110-2.2-1", MUST, RFC9110, "§2.2 Requirements Notation; §5.5 Field Values",
        "A sender MUST NOT generate protocol elements that do not match the grammar defined "
        "by the corresponding ABNF rules.",
        "A response header name or value from the app containing CR, LF or NUL is never "
        "written: no header can be injected (send() raising is the ASGI way to refuse it).",
    ),
    Requirement(
        "RFC9110-5.3-1", MUST, RFC9110, "§5.3 Field Order",
        "a sender MUST NOT generate multiple field lines with the same name in a message "
        "... unless that field's definition allows",
        "When the app sets Date or Server itself, the response carries that one field "
        "line, not the app's plus the server's default.",
    ),
    Requirement(
        "RFC9110-6.6.1-1", MUST, RFC9110, "§6.6.1 Date",
        "An origin server with a clock MUST generate a Date header field in all 2xx "
        "(Successful), 3xx (Redirection), and 4xx (Client Error) responses",
        "2xx, 3xx and 4xx responses carry one Date in IMF-fixdate form: the server's own "
        "(its 400) must; on the app's, the server adding Date is non-strict (the origin "
        "server is server and app together, and ASGI assigns Date to neither).",
    ),
    Requirement(
        "RFC9110-8.6-1", MUST, RFC9110, "§8.6 Content-Length",
        "a recipient MUST anticipate potentially large decimal numerals and prevent parsing "
        "errors due to integer conversion overflows",
        "A Content-Length beyond 2^63 is refused (400/413) or waited for, never wrapped "
        "into a small length that turns the body into a request.",
    ),
    Requirement(
        "RFC9110-8.6-2", MUST, RFC9110, "§8.6 Content-Length",
        "A server MUST NOT send a Content-Length header field in any response with a status "
        "code of 1xx (Informational) or 204 (No Content).",
        "A 204 response carries no Content-Length added by the server; one the app set and "
        "the server passed on is non-strict (ASGI hands the app's headers through).",
    ),
    Requirement(
        "RFC9110-8.6-3", MUST, RFC9110, "§8.6 Content-Length",
        "a sender MUST NOT forward a message with a Content-Length header field value that "
        "is known to be incorrect",
        "When the app's body disagrees with its Content-Length, the server never writes a "
        "message that length misdescribes: it closes rather than start another response "
        "inside a short body, and never writes bytes beyond a long one.",
    ),
    Requirement(
        "RFC9110-9.3.2-1", MUST, RFC9110, "§9.3.2 HEAD",
        "The HEAD method is identical to GET except that the server MUST NOT send content "
        "in the response.",
        "A HEAD response carries no body bytes, whatever body the app sends.",
    ),
    Requirement(
        "RFC9110-9.3.2-2", SHOULD, RFC9110, "§9.3.2 HEAD",
        "The server SHOULD send the same header fields in response to a HEAD request as it "
        "would have sent if the request method had been GET.",
        "A HEAD response keeps the app's headers, its Content-Length included.",
    ),
    Requirement(
        "RFC9110-10.1.1-1", MUST, RFC9110, "§10.1.1 Expect",
        "an origin server MUST send either: an immediate response with a final status "
        "code ... or an immediate 100 (Continue) response",
        "Expect: 100-continue on a request with a body gets a 100 (Continue) before the "
        "client sends the body, when the app reads it; then the final response.",
    ),
    Requirement(
        "RFC9110-10.1.1-2", MUST, RFC9110, "§10.1.1 Expect",
        "A server that receives a 100-continue expectation in an HTTP/1.0 request MUST "
        "ignore that expectation.",
        "An HTTP/1.0 request with Expect: 100-continue gets no 1xx response.",
    ),
    Requirement(
        "RFC9110-10.1.1-3", MUST, RFC9110, "§10.1.1 Expect",
        "A server that sends a 100 (Continue) response MUST ultimately send a final status "
        "code",
        "After any 100 (Continue), the final response follows on the same connection.",
    ),
    Requirement(
        "RFC9110-10.1.1-4", SHOULD, RFC9110, "§10.1.1 Expect",
        "A server that responds with a final status code before reading the entire request "
        "content SHOULD indicate whether it intends to close the connection",
        "Answered before its expected body was read, the client is told Connection: close, "
        "or the connection goes on reading the body and then serves the next request.",
    ),
    Requirement(
        "RFC9110-10.1.1-5", MAY, RFC9110, "§10.1.1 Expect",
        "A server that receives an Expect field value containing a member other than "
        "100-continue MAY respond with a 417 (Expectation Failed) status code",
        "An unknown expectation gets 417 (processing the request as if it were absent is "
        "the lenient choice).",
    ),
)
