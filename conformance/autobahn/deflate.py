"""The client side of permessage-deflate (RFC 7692), as Autobahn's 12.x/13.x cases use it.

The client offers one or more parameter sets (:class:`~conformance.autobahn.model.
DeflateOffer`); the server accepts one of them in its 101 response, or none. What the
server answered is checked against RFC 7692 §7.1 (a parameter the client did not offer,
a window outside 8..15, a requested ``server_no_context_takeover`` or
``server_max_window_bits`` left out of the acceptance) and then fixes both directions:

* our messages are compressed with a window of ``client_max_window_bits`` (15 if the
  server did not limit it) and with a fresh compressor per message when the server asked
  for ``client_no_context_takeover``;
* the server's messages are decompressed with a window of ``server_max_window_bits`` and
  a fresh decompressor per message when ``server_no_context_takeover`` was agreed, so a
  server that refers back into earlier messages further than it agreed to is caught
  (zlib refuses the distance; within one message zlib cannot tell).

Per RFC 7692 §7.2.1 a compressed message is the DEFLATE stream of the message flushed
with a sync flush, minus the trailing ``00 00 ff ff``; §7.2.2 appends it back to
decompress. Only the first frame of a compressed message carries RSV1 (§6).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

from conformance.autobahn.model import DeflateOffer

__all__ = [
    "DeflateError",
    "DeflateSession",
    "NegotiationError",
    "accept_response",
    "offer_header",
    "parse_extensions",
]

TAIL = b"\x00\x00\xff\xff"
NAME = "permessage-deflate"


class NegotiationError(Exception):
    """The server's Sec-WebSocket-Extensions answer is not a valid acceptance."""


class DeflateError(Exception):
    """A compressed message from the server cannot be decompressed."""


def offer_header(offers: tuple[DeflateOffer, ...]) -> bytes:
    """The Sec-WebSocket-Extensions value offering each parameter set, in order."""
    return ", ".join(offer.header_value() for offer in offers).encode("ascii")


def parse_extensions(values: list[bytes]) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Parse Sec-WebSocket-Extensions values (RFC 6455 §9.1) into
    ``[(name, [(param, value or None), ...]), ...]``; values may be quoted."""
    parsed: list[tuple[str, list[tuple[str, str | None]]]] = []
    for raw in values:
        text = raw.decode("latin-1")
        for item in _split(text, ","):
            parts = [p.strip() for p in _split(item, ";")]
            if not parts or not parts[0]:
                continue
            params: list[tuple[str, str | None]] = []
            for part in parts[1:]:
                if not part:
                    continue
                key, sep, value = part.partition("=")
                val: str | None = value.strip() if sep else None
                if val is not None and len(val) >= 2 and val[0] == val[-1] == '"':
                    val = val[1:-1]
                params.append((key.strip().lower(), val))
            parsed.append((parts[0].lower(), params))
    return parsed


def _split(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside double quotes."""
    out: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == sep and not quoted:
            out.append("".join(current))
            current = []
        else:
            current.append(char)
    out.append("".join(current))
    return out


@dataclass(frozen=True)
class Agreement:
    """The parameters in effect after the server accepted an offer."""

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int = 15
    client_max_window_bits: int = 15
    response: str = ""


def _bits(name: str, value: str | None) -> int:
    if value is None or not value.isdigit() or not 8 <= int(value) <= 15 or value != str(
            int(value)):
        raise NegotiationError(f"{name}={value!r}: RFC 7692 §7.1.2 requires a value 8..15")
    return int(value)


def accept_response(offers: tuple[DeflateOffer, ...], header_values: list[bytes]
                    ) -> Agreement | None:
    """Check the server's extension answer against our offers: None when it accepted
    none (no permessage-deflate in the response), the agreement when it accepted one,
    :class:`NegotiationError` when the answer is not a valid acceptance."""
    extensions = parse_extensions(header_values)
    if not extensions:
        return None
    if not offers:
        raise NegotiationError("the server answered with extensions that were not offered "
                               "(RFC 6455 §9.1)")
    if len(extensions) != 1 or extensions[0][0] != NAME:
        names = ", ".join(name for name, _ in extensions)
        raise NegotiationError(f"the server accepted extensions we did not offer as such: "
                               f"{names} (RFC 6455 §9.1)")
    seen: dict[str, str | None] = {}
    for key, value in extensions[0][1]:
        if key in seen:
            raise NegotiationError(f"parameter {key} given twice (RFC 7692 §7.1)")
        seen[key] = value
    agreement: dict[str, Any] = {}
    for key, value in seen.items():
        if key == "server_no_context_takeover" or key == "client_no_context_takeover":
            if value is not None:
                raise NegotiationError(f"{key} takes no value (RFC 7692 §7.1.1)")
            agreement[key] = True
        elif key == "server_max_window_bits":
            agreement[key] = _bits(key, value)
        elif key == "client_max_window_bits":
            # We always offer client_max_window_bits, so the server may set it; a value
            # is required in a response (RFC 7692 §7.1.2.2).
            agreement[key] = _bits(key, value)
        else:
            raise NegotiationError(f"unknown parameter {key!r} (RFC 7692 §7.1)")
    # The answer must fit one of the offers: what we requested of the server it must
    # have granted (server_no_context_takeover included, server_max_window_bits at most
    # the requested value), RFC 7692 §7.1.1.1 and §7.1.2.1.
    fits = [offer for offer in offers
            if (not offer.request_no_context_takeover
                or agreement.get("server_no_context_takeover"))
            and (not offer.request_max_window_bits
                 or agreement.get("server_max_window_bits", 16) <= offer.request_max_window_bits)]
    if not fits:
        raise NegotiationError("the response accepts none of the offers: a requested "
                               "server_no_context_takeover or server_max_window_bits is "
                               "missing or larger (RFC 7692 §7.1.1.1, §7.1.2.1)")
    response = b", ".join(header_values).decode("latin-1")
    return Agreement(response=response, **agreement)


class DeflateSession:
    """Compressor and decompressor for one connection under an :class:`Agreement`."""

    def __init__(self, agreement: Agreement) -> None:
        self.agreement = agreement
        self._compressor: Any = None
        self._decompressor: Any = None

    def _new_compressor(self) -> Any:
        bits = self.agreement.client_max_window_bits
        if bits == 8:
            # zlib cannot deflate with a 256-byte window; Huffman-only output never
            # refers back at all, which keeps within any window.
            return zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -9, 8,
                                    zlib.Z_HUFFMAN_ONLY)
        return zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -bits)

    def compress(self, payload: bytes) -> bytes:
        """One message's compressed payload (RFC 7692 §7.2.1)."""
        if self._compressor is None or self.agreement.client_no_context_takeover:
            self._compressor = self._new_compressor()
        data = self._compressor.compress(payload) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
        if data.endswith(TAIL):
            data = data[:-4]
        return data or b"\x00"

    def decompress(self, data: bytes) -> bytes:
        """One message from the server (RFC 7692 §7.2.2)."""
        if self._decompressor is None or self.agreement.server_no_context_takeover:
            self._decompressor = zlib.decompressobj(-self.agreement.server_max_window_bits)
        try:
            out: bytes = self._decompressor.decompress(data + TAIL)
        except zlib.error as exc:
            raise DeflateError(f"the server's compressed message does not inflate: {exc}"
                               ) from None
        if self._decompressor.eof:
            # A final deflate block ended the stream: the next message starts a new one.
            self._decompressor = None
        return out
