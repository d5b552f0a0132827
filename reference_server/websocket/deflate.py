"""The permessage-deflate extension (RFC 7692): negotiation and per-message (de)compression.

**Negotiation** (RFC 7692 §5, §7.1). The client offers the extension, perhaps several
times with different parameters, in preference order; the server accepts at most one
offer by answering with a ``Sec-WebSocket-Extensions`` value, or none. An offer with a
parameter the server does not know, a duplicated parameter or an invalid value is
*declined* (§5.1: the server "MUST decline an extension negotiation offer" with such a
parameter), which is not a handshake failure: the next offer may do, and the connection
works uncompressed when none does. The four parameters (§7.1):

- ``server_no_context_takeover``: the client asks the server to reset its compressor after
  every message. We honour it with ``Z_FULL_FLUSH``, which both flushes and forgets the
  history, so the compressor is not reallocated per message.
- ``client_no_context_takeover``: the client announces it will reset its compressor. We
  echo it (allowed by §7.1.1.2) so the client must, and then we reset our decompressor
  after every message, which lets it hold no history between messages.
- ``server_max_window_bits=N`` (8..15): caps the server's LZ77 window. The answer must
  carry a value ≤ N. zlib refuses a raw-deflate *compressor* with an 8-bit window
  (madler/zlib#171: ``deflateInit2`` turns 8 into 9, which would corrupt raw streams, so
  it rejects ``wbits=-8``). ``websockets`` declines such offers. We accept them and answer
  ``server_max_window_bits=8`` honestly: we compress with a 9-bit window and the
  ``Z_HUFFMAN_ONLY`` strategy, which emits literals only — no back-reference at all, so
  no distance can exceed 256 bytes — at the cost of compressing less. (A plain 9-bit
  zlib stream would probably fit too, since zlib never reaches back further than the
  window minus 262 bytes, but that is an implementation detail of zlib, and of zlib-ng
  where Python is linked against it; Huffman-only is valid by construction.)
- ``client_max_window_bits[=N]``: the client can limit its window. With a value we answer
  min(N, our limit); without one we answer our limit when it is below 15. The
  decompressor is sized to what was answered (zlib's *inflate* accepts 8 bits).

**Compression** (RFC 7692 §7.2). A message is compressed as a whole: compress, sync-flush,
then drop the trailing ``00 00 ff ff`` of the empty stored block the flush ends with
(§7.2.1). The receiver appends those four bytes back before inflating the last fragment
(§7.2.2).

**Decompression bombs.** A few KiB of deflate can inflate to gigabytes, so the limit on a
message is applied to the *output*: ``decompressobj.decompress(data, max_length)`` never
produces more than ``max_length`` bytes, and asking for one byte more than allowed tells
a message that fits from one that does not without ever holding the excess.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, Final

#: What a sync flush ends with and what the sender strips (RFC 7692 §7.2.1).
_EMPTY_BLOCK: Final = b"\x00\x00\xff\xff"
#: Valid window-bits values, as the parameter spells them (RFC 7692 §7.1.2: a decimal
#: integer from 8 to 15; leading zeros or signs are not that).
_WINDOW_BITS: Final = {str(bits): bits for bits in range(8, 16)}

_Offer = tuple[str, list[tuple[str, str | None]]]


class DeflateError(Exception):
    """A compressed message could not be inflated (corrupt deflate data)."""


class MessageTooBig(Exception):
    """Inflating a message would exceed the message size limit."""


@dataclass(slots=True)
class DeflateConfig:
    """The server's permessage-deflate policy (a configuration object, not per connection).

    ``server_max_window_bits`` caps our compressor's window (8..15; 8 means Huffman-only
    compression, see the module docstring); ``client_max_window_bits`` is what we ask of
    a client that says it can limit its own window (8..15; 15 asks nothing);
    ``*_no_context_takeover`` force the matching parameter into every answer;
    ``mem_level`` is zlib's memLevel for the compressor (memory per connection);
    ``min_size``: messages shorter than this are sent uncompressed (RSV1 clear).
    """

    enabled: bool = True
    server_max_window_bits: int = 15
    compress_level: int = 6
    min_size: int = 0
    client_max_window_bits: int = 15
    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    mem_level: int = 8

    def __post_init__(self) -> None:
        if not 8 <= self.server_max_window_bits <= 15:
            raise ValueError("server_max_window_bits must be between 8 and 15")
        if not 8 <= self.client_max_window_bits <= 15:
            raise ValueError("client_max_window_bits must be between 8 and 15")
        if not -1 <= self.compress_level <= 9:
            raise ValueError("compress_level must be between -1 and 9")
        if not 1 <= self.mem_level <= 9:
            raise ValueError("mem_level must be between 1 and 9")
        if self.min_size < 0:
            raise ValueError("min_size must be >= 0")


class PerMessageDeflate:
    """The negotiated extension for one connection: its parameters, our compressor (for
    messages we send) and decompressor (for messages the client sends).

    Both zlib objects are created lazily, so a connection that never sends (or never
    receives) a compressed message never pays for that direction's buffers.
    """

    __slots__ = (
        "_compress_level", "_decoder", "_encoder", "_fed", "_flush_mode", "_mem_level", "_params",
        "client_max_window_bits", "client_no_context_takeover", "min_size",
        "server_max_window_bits", "server_no_context_takeover",
    )

    def __init__(
        self,
        *,
        server_no_context_takeover: bool = False,
        client_no_context_takeover: bool = False,
        server_max_window_bits: int = 15,
        client_max_window_bits: int = 15,
        compress_level: int = 6,
        mem_level: int = 8,
        min_size: int = 0,
        response_params: list[tuple[str, str | None]] | None = None,
    ) -> None:
        if not 8 <= server_max_window_bits <= 15 or not 8 <= client_max_window_bits <= 15:
            raise ValueError("window bits must be between 8 and 15")
        self.server_no_context_takeover = server_no_context_takeover
        self.client_no_context_takeover = client_no_context_takeover
        self.server_max_window_bits = server_max_window_bits
        self.client_max_window_bits = client_max_window_bits
        self.min_size = min_size
        self._compress_level = compress_level
        self._mem_level = mem_level
        if response_params is None:
            response_params = []
            if server_no_context_takeover:
                response_params.append(("server_no_context_takeover", None))
            if client_no_context_takeover:
                response_params.append(("client_no_context_takeover", None))
            if server_max_window_bits < 15:
                response_params.append(("server_max_window_bits", str(server_max_window_bits)))
            if client_max_window_bits < 15:
                response_params.append(("client_max_window_bits", str(client_max_window_bits)))
        self._params = response_params
        # Z_FULL_FLUSH = sync flush + forget the history (server_no_context_takeover).
        self._flush_mode = zlib.Z_FULL_FLUSH if server_no_context_takeover else zlib.Z_SYNC_FLUSH
        self._encoder: Any = None
        self._decoder: Any = None
        # Whether the message being inflated has had any input yet.
        self._fed = False

    def __repr__(self) -> str:
        return f"<PerMessageDeflate {self.response_header().decode('ascii')}>"

    def response_header(self) -> bytes:
        """The ``Sec-WebSocket-Extensions`` value of the 101 response (RFC 7692 §5)."""
        parts = ["permessage-deflate"]
        for name, value in self._params:
            parts.append(name if value is None else f"{name}={value}")
        return "; ".join(parts).encode("ascii")

    # -- sending ---------------------------------------------------------------------

    def _new_encoder(self) -> Any:
        bits = self.server_max_window_bits
        if bits == 8:
            # zlib has no raw 8-bit compressor; Huffman-only output never refers back,
            # so it is valid for any window the client allocates (module docstring).
            return zlib.compressobj(self._compress_level, zlib.DEFLATED, -9, self._mem_level,
                                    zlib.Z_HUFFMAN_ONLY)
        return zlib.compressobj(self._compress_level, zlib.DEFLATED, -bits, self._mem_level)

    def compress(self, payload: bytes) -> bytes:
        """Compress one whole message (RFC 7692 §7.2.1): the result, without the final
        ``00 00 ff ff``, is the payload of a frame with RSV1 set."""
        encoder = self._encoder
        if encoder is None:
            encoder = self._encoder = self._new_encoder()
        data: bytes = encoder.compress(payload) + encoder.flush(self._flush_mode)
        if data.endswith(_EMPTY_BLOCK):
            data = data[:-4]
        return data

    # -- receiving -------------------------------------------------------------------

    def decompress(self, data: bytes, final: bool, max_size: int | None) -> bytes:
        """Inflate the next piece of a compressed message; ``final`` marks its last piece.

        ``max_size`` bounds the output of *this call* (the caller passes what is left of
        its message limit); exceeding it raises :class:`MessageTooBig` with at most
        ``max_size + 1`` bytes ever inflated. Corrupt data raises :class:`DeflateError`.
        """
        if final:
            if not data and not self._fed:
                # A compressed message with an empty payload. §7.2.3.6 spells the empty
                # message 0x00, but nothing is unambiguous too, and appending 00 00 ff ff
                # to nothing would leave the inflater inside a stored block's header.
                return b""
            self._fed = False
            data = data + _EMPTY_BLOCK  # RFC 7692 §7.2.2 (a new object: never mutate the caller's)
        elif data:
            self._fed = True
        decoder = self._decoder
        if decoder is None:
            decoder = self._decoder = zlib.decompressobj(wbits=-self.client_max_window_bits)
        try:
            if max_size is None:
                out: bytes = decoder.decompress(data)
            else:
                out = decoder.decompress(data, max_size + 1)
                if len(out) > max_size:
                    self._decoder = None  # its state is mid-message: useless now
                    self._fed = False
                    raise MessageTooBig(f"decompressed message exceeds {max_size} bytes")
        except zlib.error as exc:
            self._decoder = None
            self._fed = False
            raise DeflateError(f"invalid compressed data: {exc}") from exc
        if final and (self.client_no_context_takeover or decoder.eof):
            # No history to keep (§7.1.1.2), or the client ended the stream with a BFINAL
            # block (§7.2.3.4 allows it): the next message starts a fresh one.
            self._decoder = None
        return out


def _accept_offer(params: list[tuple[str, str | None]],
                  config: DeflateConfig) -> PerMessageDeflate | None:
    """The extension for one offer, or None when the offer must be declined."""
    seen: set[str] = set()
    server_nct = client_nct = False
    server_bits: int | None = None
    client_bits: int | None = None
    client_bits_offered = False
    for name, value in params:
        if name in seen:
            return None  # §7: "MUST NOT include ... more than once"; decline
        seen.add(name)
        if name == "server_no_context_takeover":
            if value is not None:
                return None  # §7.1.1.1: no value
            server_nct = True
        elif name == "client_no_context_takeover":
            if value is not None:
                return None  # §7.1.1.2: no value
            client_nct = True
        elif name == "server_max_window_bits":
            if value is None or value not in _WINDOW_BITS:
                return None  # §7.1.2.1: a value 8..15 is required
            server_bits = _WINDOW_BITS[value]
        elif name == "client_max_window_bits":
            client_bits_offered = True
            if value is not None:
                if value not in _WINDOW_BITS:
                    return None  # §7.1.2.2
                client_bits = _WINDOW_BITS[value]
        else:
            return None  # §5.1: unknown parameter; decline

    response: list[tuple[str, str | None]] = []
    server_nct = server_nct or config.server_no_context_takeover
    if server_nct:
        response.append(("server_no_context_takeover", None))
    client_nct = client_nct or config.client_no_context_takeover
    if client_nct:
        response.append(("client_no_context_takeover", None))
    # §7.1.2.1: accepting an offer with server_max_window_bits means answering it with
    # the same or a smaller value; without it we may still announce our own cap.
    limit = config.server_max_window_bits
    if server_bits is not None:
        server_window = min(server_bits, limit)
        response.append(("server_max_window_bits", str(server_window)))
    else:
        server_window = limit
        if limit < 15:
            response.append(("server_max_window_bits", str(limit)))
    # §7.1.2.2: only a client that offered client_max_window_bits may be told a window;
    # one that did not will use up to 15 bits and we must inflate that.
    client_window = 15
    if client_bits_offered:
        client_window = config.client_max_window_bits
        if client_bits is not None:
            client_window = min(client_bits, client_window)
            response.append(("client_max_window_bits", str(client_window)))
        elif client_window < 15:
            response.append(("client_max_window_bits", str(client_window)))
    return PerMessageDeflate(
        server_no_context_takeover=server_nct,
        client_no_context_takeover=client_nct,
        server_max_window_bits=server_window,
        client_max_window_bits=client_window,
        compress_level=config.compress_level,
        mem_level=config.mem_level,
        min_size=config.min_size,
        response_params=response,
    )


def negotiate_deflate(offers: list[_Offer], config: DeflateConfig) -> PerMessageDeflate | None:
    """Accept the first acceptable ``permessage-deflate`` offer (RFC 7692 §5), or None.

    ``offers`` is :attr:`~.handshake.WebSocketOffer.extensions`: names and parameter
    names lowercased, quoted values already unquoted (§7: a quoted value is matched
    after unescaping).
    """
    if not config.enabled:
        return None
    for name, params in offers:
        if name == "permessage-deflate":
            extension = _accept_offer(params, config)
            if extension is not None:
                return extension
    return None
