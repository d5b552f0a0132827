"""h2spec 2.x's ``hpack/*`` cases, ported: header blocks a server's HPACK decoder must
refuse (RFC 7541), each judged as h2spec does.

Every case sends one request whose header block is h2spec's common request fields
(:method, :scheme, :path, :authority) plus one representation that does not decode, on
the first stream of a fresh connection. RFC 9113 §4.3: "A decoding error in a field block
MUST be treated as a connection error of type COMPRESSION_ERROR" (the HPACK state is
corrupt, so no stream-level answer can do). So:

* GOAWAY COMPRESSION_ERROR passes; a close without GOAWAY is non-strict (§5.4.1: the
  GOAWAY is a SHOULD, h2spec passes a close);
* another error code, a RST_STREAM only, or a response (the block was accepted) fails.

hpack/4.2/1 rests on a sentence that binds the encoder; its failure is non-strict (the
requirement is marked derived).

========================= ==========================================================
h2spec id                 h2spec description
========================= ==========================================================
hpack/2.3.3/1             Sends a indexed header field representation with invalid index
hpack/2.3.3/2             Sends a literal header field representation with invalid index
hpack/4.2/1               Sends a dynamic table size update at the end of header block
hpack/5.2/1               Sends a Huffman-encoded string literal representation with
                          padding longer than 7 bits
hpack/5.2/2               Sends a Huffman-encoded string literal representation padded
                          by zero
hpack/5.2/3               Sends a Huffman-encoded string literal representation
                          containing the EOS symbol
hpack/6.1/1               Sends a indexed header field representation with index 0
hpack/6.3/1               Sends a dynamic table size update larger than the value of
                          SETTINGS_HEADER_TABLE_SIZE
========================= ==========================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from _pytest.mark.structures import MarkDecorator

from conformance.h2probe import H2Probe
from conformance.rawh2 import ErrorCode, H2Connection, Setting
from conformance.suite._h2 import expect_connection_error
from conformance.suite._h2spec_port import common_headers

req = pytest.mark.requirement

DEFAULT_TABLE_SIZE = 4096
"""SETTINGS_HEADER_TABLE_SIZE's initial value (RFC 9113 §6.5.2)."""


def table_size_update(size: int) -> bytes:
    """A dynamic table size update (RFC 7541 §6.3): '001' and the size as a 5-bit-prefix
    integer (§5.1)."""
    if size < 31:
        return bytes([0x20 | size])
    out, size = bytearray([0x20 | 31]), size - 31
    while size >= 128:
        out.append(0x80 | (size & 0x7F))
        size >>= 7
    out.append(size)
    return bytes(out)


def oversized_update(conn: H2Connection) -> bytes:
    """One more than the server's SETTINGS_HEADER_TABLE_SIZE, the decoder's limit."""
    limit = conn.server_settings.get(Setting.HEADER_TABLE_SIZE, DEFAULT_TABLE_SIZE)
    return table_size_update(limit + 1)


@dataclass(frozen=True)
class Block:
    """One hpack case: the bad representation (or a function of the connection giving it)
    and whether it goes before the common fields (a table size update must lead)."""

    id: str
    desc: str
    requirement: MarkDecorator
    representation: bytes | Callable[[H2Connection], bytes]
    leading: bool = False

    def block(self, conn: H2Connection) -> bytes:
        rep = (self.representation if isinstance(self.representation, bytes)
               else self.representation(conn))
        fields = conn.encode(common_headers(conn))
        return rep + fields if self.leading else fields + rep


BLOCKS = [
    # Index 70: past the 61 static entries and the one dynamic entry (:authority) our
    # encoder added for this block.
    Block("hpack/2.3.3/1", "Sends a indexed header field representation with invalid index",
          req("RFC7541-2.3.3-1"), b"\xc6"),
    # Literal with incremental indexing, name index 70 (0x3f + 7), empty value.
    Block("hpack/2.3.3/2", "Sends a literal header field representation with invalid index",
          req("RFC7541-2.3.3-1"), b"\x7f\x07\x00"),
    # Size update to 1 after the fields: allowed only at the start of a block.
    Block("hpack/4.2/1", "Sends a dynamic table size update at the end of header block",
          req("RFC7541-4.2-1"), b"\x21"),
    # x-test: test, without indexing; the value's Huffman code ends with a whole 0xff octet.
    Block("hpack/5.2/1", "Sends a Huffman-encoded string literal representation with padding "
          "longer than 7 bits", req("RFC7541-5.2-1"),
          b"\x00\x85\xf2\xb2\x4a\x84\xff\x84\x49\x50\x9f\xff"),
    # The same field, its value padded with 0 bits instead of EOS's 1 bits.
    Block("hpack/5.2/2", "Sends a Huffman-encoded string literal representation padded by "
          "zero", req("RFC7541-5.2-2"), b"\x00\x85\xf2\xb2\x4a\x84\xff\x83\x49\x50\x90"),
    # The same field, EOS (30 one bits) in the middle of the value.
    Block("hpack/5.2/3", "Sends a Huffman-encoded string literal representation containing "
          "the EOS symbol", req("RFC7541-5.2-3"),
          b"\x00\x85\xf2\xb2\x4a\x87\xff\xff\xff\xfd\x25\x42\x7f"),
    Block("hpack/6.1/1", "Sends a indexed header field representation with index 0",
          req("RFC7541-6.1-1"), b"\x80"),
    Block("hpack/6.3/1", "Sends a dynamic table size update larger than the value of "
          "SETTINGS_HEADER_TABLE_SIZE", req("RFC7541-6.3-1"), oversized_update, leading=True),
]


@pytest.mark.parametrize(
    "case", [pytest.param(b, id=b.id, marks=b.requirement) for b in BLOCKS])
def test_hpack_decoding_error(h2probe: H2Probe, case: Block) -> None:
    """A header block that does not decode ends the connection with COMPRESSION_ERROR:
    HPACK state is shared by the whole connection, so after a decoding error neither side
    can trust the next block (RFC 9113 §4.3)."""
    conn = h2probe.connect_h2(auto_window=False)
    conn.send_headers(conn.new_stream(), case.block(conn))
    expect_connection_error(conn, ErrorCode.COMPRESSION_ERROR,
                            what=f"{case.id} (\"{case.desc}\")")
