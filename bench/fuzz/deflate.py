"""Fuzz target: permessage-deflate (``reference_server.websocket.deflate``, RFC 7692).

Input: a mode byte, a configuration byte, a byte choosing where data is cut, then data.

- **inflate** (mode 0): the data is a client's compressed messages (separated by 0xFF
  0x00 0xFF, a sequence the seeds never hold) fed to :meth:`PerMessageDeflate.decompress`
  piece by piece, as the connection does, with the connection's size allowance;
- **round trip** (mode 1): the data is messages (same separator) that a server-side
  extension compresses and a client-side one (the same class, with the window the server
  was told) inflates again, message after message, with context takeover or not, every
  window size from 8 (Huffman-only, see deflate.py) to 15;
- **negotiate** (mode 2): the data is a ``Sec-WebSocket-Extensions`` offer list, turned
  into offers by the handshake's parser and negotiated against a server policy.

Invariants:

- only :class:`DeflateError` and :class:`MessageTooBig` escape ``decompress``, and no
  call returns more than the allowance it was given (the decompression-bomb defence);
- segmentation independence: a message inflates to the same bytes (or the same error)
  however its compressed data is cut, with one known exception: zlib discards the output
  of a call that fails, and it reads the header of the next deflate block even when the
  output is full, so a message that is both over the limit and corrupt fails with
  MessageTooBig when the excess arrives in an earlier read than the corruption, and with
  DeflateError when they arrive together (the connection closes with 1009 or 1002; the
  websocket target allows the same for 1007); and a second one: with a window under 15
  bits, zlib accepts a back-reference further than the window when its target was
  written by the same call, so a message whose client broke the window it agreed to
  (client_max_window_bits) inflates when it arrives in one read and fails ("invalid
  distance too far back") when cut. Inflating with a 15-bit window always would make
  that consistent (and lenient) at 32 KiB per connection, the memory the operator's
  smaller client_max_window_bits is there to save; the server keeps the saving;
- round trip: what we compress, the peer's inflater restores exactly (RFC 7692 §7.2.1:
  the compressed payload without its 0x00 0x00 0xff 0xff tail), and the window we
  announce is really the largest back-reference used;
- negotiation never raises, accepts only offers it answers, and answers with
  parameters that the client offered or that the policy forces (§7.1), within 8..15.
"""

from __future__ import annotations

import zlib

from bench.fuzz.common import Input, cut
from reference_server.websocket.deflate import (
    DeflateConfig,
    DeflateError,
    MessageTooBig,
    PerMessageDeflate,
    negotiate_deflate,
)
from reference_server.websocket.handshake import _parse_extensions

SEPARATOR = b"\xff\x00\xff"
ALLOWANCES = (None, 0, 1, 100, 4096, 1 << 20)
PARAMS = ("server_no_context_takeover", "client_no_context_takeover",
          "server_max_window_bits", "client_max_window_bits")


def inflate(pieces: list[bytes], allowance: int | None, ext: PerMessageDeflate,
            ) -> tuple[bytes, str | None]:
    """One message's pieces through ``decompress``: its bytes, or the error's name."""
    out = b""
    for i, piece in enumerate(pieces):
        final = i == len(pieces) - 1
        left = None if allowance is None else allowance - len(out)
        try:
            data = ext.decompress(piece, final, left)
        except (DeflateError, MessageTooBig) as exc:
            if "invalid distance too far back" in str(exc):
                return out, "too far back"
            return out, type(exc).__name__
        if left is not None:
            assert len(data) <= left, f"{len(data)} bytes inflated, {left} allowed"
        out += data
    return out, None


def inflate_mode(source: Input, config: int) -> None:
    allowance = ALLOWANCES[config % len(ALLOWANCES)]
    bits = 8 + (config // len(ALLOWANCES)) % 8
    no_context = bool(config & 0x80)
    seed = source.byte()
    messages = source.rest().split(SEPARATOR)

    def run(split: bool) -> list[tuple[bytes, str | None]]:
        ext = PerMessageDeflate(client_max_window_bits=bits,
                                client_no_context_takeover=no_context)
        results = []
        for message in messages:
            pieces = cut(message, seed) if split else [message]
            result = inflate(pieces or [b""], allowance, ext)
            results.append(result)
            if result[1] is not None:
                break  # the connection fails at the first error
        return results

    whole = run(False)
    split = run(True)
    # A piece that fails takes the output of its call with it (zlib discards it), so
    # only the outcome and the output of complete messages must agree.
    errors = [e for _, e in split], [e for _, e in whole]
    if errors[0] != errors[1] and errors[0][-1] == "too far back" and bits < 15:
        return  # the second known exception (module docstring)
    if errors[0] != errors[1]:
        assert errors[0][:-1] == errors[1][:-1], (split, whole)
        last = {"DeflateError" if e == "too far back" else e
                for e in (errors[0][-1], errors[1][-1])}
        assert last == {"MessageTooBig", "DeflateError"}, \
            (split, whole)
    assert [o for o, e in split if e is None] == [o for o, e in whole if e is None], \
        (split, whole)


def round_trip_mode(source: Input, config: int) -> None:
    bits = 8 + config % 8
    server_nct = bool(config & 0x08)
    client_nct = bool(config & 0x10)
    level = (config >> 5) % 10
    seed = source.byte()
    messages = source.rest().split(SEPARATOR)
    server = PerMessageDeflate(server_max_window_bits=bits,
                               server_no_context_takeover=server_nct, compress_level=level)
    # Our inflater in the client's role: it may drop its history after each message only
    # when the sender does (the sender's no_context_takeover is the receiver's).
    client = PerMessageDeflate(client_max_window_bits=bits,
                               client_no_context_takeover=server_nct and client_nct)
    # The client's inflater, as a peer would size it: a window of exactly ``bits``.
    peer = zlib.decompressobj(wbits=-bits)
    for message in messages:
        payload = server.compress(message)
        assert not payload.endswith(b"\x00\x00\xff\xff") or not message, payload
        restored = peer.decompress(payload + b"\x00\x00\xff\xff")
        assert restored == message, "a peer with the announced window inflates otherwise"
        if server_nct:
            peer = zlib.decompressobj(wbits=-bits)
        # The same bytes through our own inflater (as if we were the client), cut.
        out, error = inflate(cut(payload, seed) or [b""], None, client)
        assert error is None and out == message, (error, len(out), len(message))


def negotiate_mode(source: Input, config: int) -> None:
    text = source.rest().decode("latin-1")
    try:
        offers = _parse_extensions(text)
    except ValueError:
        return  # the handshake answers 400 (handshake target)
    policy = DeflateConfig(
        server_max_window_bits=8 + config % 8,
        client_max_window_bits=8 + (config >> 3) % 8,
        server_no_context_takeover=bool(config & 0x40),
        client_no_context_takeover=bool(config & 0x80))
    ext = negotiate_deflate(offers, policy)
    if ext is None:
        return
    answer = _parse_extensions(ext.response_header().decode("ascii"))
    assert len(answer) == 1 and answer[0][0] == "permessage-deflate", answer
    params = dict(answer[0][1])
    assert len(params) == len(answer[0][1]), f"a parameter twice in {answer}"
    offered = [dict(p) for name, p in offers if name == "permessage-deflate"]
    assert offered, "accepted an extension nobody offered"
    for name, value in params.items():
        assert name in PARAMS, name
        if name.endswith("window_bits"):
            assert value is not None and 8 <= int(value) <= 15, (name, value)
        if name == "client_max_window_bits":
            assert any(name in p for p in offered), "client window set without the offer"
    assert 8 <= ext.server_max_window_bits <= policy.server_max_window_bits
    # Round trip with what was agreed: our compressor, an inflater of the agreed size.
    peer = zlib.decompressobj(wbits=-ext.server_max_window_bits)
    for message in (b"abc" * 100, bytes(range(256)) * 4):
        assert peer.decompress(ext.compress(message) + b"\x00\x00\xff\xff") == message


def one_input(data: bytes) -> None:
    source = Input(data)
    mode = source.choice(3)
    config = source.byte()
    if mode == 0:
        inflate_mode(source, config)
    elif mode == 1:
        round_trip_mode(source, config)
    else:
        negotiate_mode(source, config)


def seed_inputs() -> dict[str, bytes]:
    hello = zlib.compressobj(6, zlib.DEFLATED, -15)
    first = hello.compress(b"Hello") + hello.flush(zlib.Z_SYNC_FLUSH)
    second = hello.compress(b"Hello again, Hello") + hello.flush(zlib.Z_SYNC_FLUSH)
    return {
        # RFC 7692 §7.2.3.1 and §7.2.3.2: "Hello" twice, the second referring back.
        "inflate": bytes((0, 5 + 6 * 7, 3)) + first[:-4] + SEPARATOR + second[:-4],
        "inflate-stored": bytes((0, 4, 3)) + b"\x00\x05\x00\xfa\xffHello\x00",
        "round-trip": bytes((1, 7, 3)) + b"Hello" + SEPARATOR + b"Hello, Hello, Hello"
                      + SEPARATOR + bytes(range(256)),
        "round-trip-8": bytes((1, 0x18, 3)) + b"abcabcabc" * 50 + SEPARATOR + b"x",
        "negotiate": bytes((2, 7 + 8 * 7, 0)) + b"permessage-deflate; client_max_window_bits, "
                     b"permessage-deflate; server_max_window_bits=10; "
                     b"server_no_context_takeover",
        "negotiate-quoted": bytes((2, 0, 0)) + b'permessage-deflate; client_max_window_bits="9"',
    }
