"""Incremental, fail-fast UTF-8 validation of text messages (RFC 6455 §8.1, RFC 3629).

RFC 6455 §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but finds that
the byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the
WebSocket Connection_." A text message may arrive in many fragments and a fragment in
many reads, so the check has to be incremental, and it should fail *fast*: as soon as
the bytes that make the stream invalid have arrived, not when the message ends. A
server that buffers a 16 MiB message before noticing its first byte was 0xFF wastes
memory, and Autobahn's 6.4.x cases check exactly this timing.

CPython's incremental UTF-8 decoder (``codecs.getincrementaldecoder("utf-8")``) is a C
loop that does almost all of it: it rejects an invalid start byte, a bad continuation
byte, an overlong or out-of-range lead (``E0 80``, ``F0 80``, ``F4 90``) as soon as it
sees them, and holds back an incomplete but still possible sequence at the end of the
input until more arrives. Exhaustively comparing it with the UTF-8 grammar over every
1- to 3-byte prefix finds one gap: a pending ``ED A0``..``ED BF`` (the start of an
encoded UTF-16 surrogate, U+D800-U+DFFF, which RFC 3629 §3 excludes) is held back
instead of rejected, because the decoder only rejects it once the third byte is there.
:class:`Utf8Decoder` closes that gap by looking at the held-back bytes after each
piece; that costs a ``getstate()`` call on the slow path (fragmented or partially
arrived text) only. A complete single-frame text message is checked with one
``bytes.decode`` instead.
"""

from __future__ import annotations

import codecs
from typing import Final

_IncrementalDecoder: Final = codecs.getincrementaldecoder("utf-8")


class Utf8Decoder:
    """Decodes a text message piece by piece; ``decode`` raises UnicodeDecodeError as
    soon as the bytes seen so far cannot begin any valid UTF-8 text."""

    __slots__ = ("_decode", "_getstate")

    def __init__(self) -> None:
        decoder = _IncrementalDecoder("strict")
        self._decode = decoder.decode
        self._getstate = decoder.getstate

    def decode(self, data: bytes, final: bool = False) -> str:
        """Decode the next piece; with ``final`` the message ends here, and a sequence
        still incomplete is an error."""
        text: str = self._decode(data, final)
        if not final:
            pending = self._getstate()[0]
            # A lead byte ED must be followed by 80..9F (RFC 3629 §4: UTF8-3 includes
            # %xED %x80-9F UTF8-tail); A0..BF would encode a surrogate.
            if len(pending) > 1 and pending[0] == 0xED and pending[1] > 0x9F:
                raise UnicodeDecodeError("utf-8", pending, 0, 2, "encoded surrogate")
        return text
