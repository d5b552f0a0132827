"""HPACK (RFC 7541), as h2spec 2.x's ``hpack/*`` cases judge a server's decoder: each is a
header block that does not decode, and RFC 9113 §4.3 says what the server does with it:
"A decoding error in a field block MUST be treated as a connection error of type
COMPRESSION_ERROR." (RFC 7540 §4.3 said the same; RFC 9113 did not change HPACK.)

IDs are ``RFC7541-<section>-<n>``.
"""

from __future__ import annotations

from conformance.catalogue import MUST, RFC7541, Requirement

REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(
        "RFC7541-2.3.3-1", MUST, RFC7541, "2.3.3",
        "Indices strictly greater than the sum of the lengths of both tables MUST be treated "
        "as a decoding error.",
        "An index past the static and dynamic tables is a decoding error: connection error "
        "COMPRESSION_ERROR (RFC 9113 §4.3).",
    ),
    Requirement(
        "RFC7541-4.2-1", MUST, RFC7541, "4.2",
        "This dynamic table size update MUST occur at the beginning of the first header "
        "block following the change to the dynamic table size.",
        "A dynamic table size update after a field representation is refused as a decoding "
        "error (derived: the MUST binds the encoder, 7541 does not name the decoder's "
        "reaction).",
        derived=True,
    ),
    Requirement(
        "RFC7541-5.2-1", MUST, RFC7541, "5.2",
        "A padding strictly longer than 7 bits MUST be treated as a decoding error.",
        "Huffman padding of a whole octet or more is a decoding error: connection error "
        "COMPRESSION_ERROR.",
    ),
    Requirement(
        "RFC7541-5.2-2", MUST, RFC7541, "5.2",
        "A padding not corresponding to the most significant bits of the code for the EOS "
        "symbol MUST be treated as a decoding error.",
        "Huffman padding that is not EOS's leading 1 bits (zeros, say) is a decoding error.",
    ),
    Requirement(
        "RFC7541-5.2-3", MUST, RFC7541, "5.2",
        "A Huffman-encoded string literal containing the EOS symbol MUST be treated as a "
        "decoding error.",
        "A Huffman string that contains the EOS symbol is a decoding error.",
    ),
    Requirement(
        "RFC7541-6.1-1", MUST, RFC7541, "6.1",
        "The index value of 0 is not used. It MUST be treated as a decoding error if found "
        "in an indexed header field representation.",
        "Indexed field 0 is a decoding error: connection error COMPRESSION_ERROR.",
    ),
    Requirement(
        "RFC7541-6.3-1", MUST, RFC7541, "6.3",
        "The new maximum size MUST be lower than or equal to the limit determined by the "
        "protocol using HPACK. A value that exceeds this limit MUST be treated as a "
        "decoding error.",
        "A table size update above the server's SETTINGS_HEADER_TABLE_SIZE is a decoding "
        "error: connection error COMPRESSION_ERROR.",
    ),
)
