"""The WebSocket frame format (RFC 6455 §5.2), masking (§5.3) and close payloads (§5.5.1,
§7.4): ``reference_server.websocket.frames``."""

from __future__ import annotations

import os
import struct

import pytest

from reference_server.websocket import frames as fr


def xor_reference(data: bytes, mask: bytes) -> bytes:
    """§5.3 literally: "octet i of the transformed data is the XOR of octet i of the
    original data with octet at index i modulo 4 of the masking key"."""
    return bytes(b ^ mask[i % 4] for i, b in enumerate(data))


# -- masking (§5.3) ----------------------------------------------------------------------


@pytest.mark.parametrize("n", [*range(0, 18), 125, 126, 1023, 1024, 1025, 65536])
def test_python_mask_matches_the_rfc_definition(n: int) -> None:
    data = os.urandom(n)
    mask = os.urandom(4)
    assert fr.apply_mask_python(data, mask) == xor_reference(data, mask)
    assert fr.apply_mask_python(bytearray(data), bytearray(mask)) == xor_reference(data, mask)


@pytest.mark.parametrize("n", [0, 1, 5, 16, 1024])
def test_accelerated_mask_agrees_with_python(n: int) -> None:
    data = os.urandom(n)
    mask = os.urandom(4)
    assert fr.apply_mask(data, mask) == fr.apply_mask_python(data, mask)
    assert type(fr.apply_mask(bytearray(data), mask)) is bytes


def test_masking_is_an_involution() -> None:
    data = os.urandom(333)
    mask = os.urandom(4)
    assert fr.apply_mask_python(fr.apply_mask_python(data, mask), mask) == data


def test_mask_with_zero_bytes_at_the_edges() -> None:
    # Leading/trailing zero octets are where an integer round trip could lose bytes.
    data = b"\x00\x00abc\x00\x00"
    assert fr.apply_mask_python(data, b"\x00\x00\x00\x00") == data
    mask = b"\xff\x00\x00\xff"
    assert fr.apply_mask_python(data, mask) == xor_reference(data, mask)


@pytest.mark.parametrize("offset", range(9))
def test_rotate_mask_unmasks_a_piece_starting_mid_payload(offset: int) -> None:
    data = os.urandom(20)
    mask = os.urandom(4)
    masked = xor_reference(data, mask)
    assert fr.apply_mask_python(masked[offset:], fr.rotate_mask(mask, offset)) == data[offset:]


# -- parsing (§5.2) ----------------------------------------------------------------------


@pytest.mark.parametrize("n, header_length", [(0, 6), (125, 6), (126, 8), (65535, 8),
                                              (65536, 14)])
def test_parse_header_lengths(n: int, header_length: int) -> None:
    mask = b"\x01\x02\x03\x04"
    frame = fr.encode_masked_frame(fr.OP_BINARY, bytes(n), mask)
    assert fr.parse_header(frame) == (fr.FIN | fr.OP_BINARY, fr.OP_BINARY, mask, n, header_length)
    assert fr.length_error(frame[1], n) is None


def test_parse_header_needs_the_whole_header() -> None:
    frame = fr.encode_masked_frame(fr.OP_TEXT, bytes(70000), b"abcd")
    for cut in range(14):
        assert fr.parse_header(frame[:cut]) is None
    assert fr.parse_header(frame[:14]) is not None


def test_parse_header_unmasked_frame() -> None:
    assert fr.parse_header(b"\x81\x05hello") == (0x81, fr.OP_TEXT, None, 5, 2)
    assert fr.parse_header(b"\x82\x7e\x01\x00") == (0x82, fr.OP_BINARY, None, 256, 4)


def test_parse_header_keeps_the_first_byte_bits() -> None:
    frame = fr.encode_masked_frame(fr.OP_TEXT, b"x", b"abcd", fin=False, rsv=fr.RSV1 | 0x20 | 0x10)
    b0, opcode, _, _, _ = fr.parse_header(frame)  # type: ignore[misc]
    assert b0 == 0x71 and opcode == fr.OP_TEXT


def test_length_error_msb_of_64_bit_length() -> None:
    # §5.2: "the most significant bit MUST be 0".
    header = b"\x82\xff" + struct.pack("!Q", 1 << 63)
    parsed = fr.parse_header(header + b"abcd")
    assert parsed is not None and parsed[3] == 1 << 63
    assert "most significant bit" in (fr.length_error(header[1], 1 << 63) or "")


@pytest.mark.parametrize("length_bytes, n", [(2, 0), (2, 125), (8, 125), (8, 65535)])
def test_length_error_non_minimal_encoding(length_bytes: int, n: int) -> None:
    # §5.2: "the minimal number of bytes MUST be used to encode the length".
    frame = fr.encode_masked_frame(fr.OP_BINARY, bytes(n), b"abcd", length_bytes=length_bytes)
    parsed = fr.parse_header(frame)
    assert parsed is not None and parsed[3] == n
    assert "minimal" in (fr.length_error(frame[1], n) or "")


# -- serialising ---------------------------------------------------------------------------


@pytest.mark.parametrize("n, prefix", [
    (0, b"\x82\x00"), (125, b"\x82\x7d"), (126, b"\x82\x7e\x00\x7e"),
    (65535, b"\x82\x7e\xff\xff"), (65536, b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00"),
])
def test_encode_frame_uses_the_minimal_length(n: int, prefix: bytes) -> None:
    payload = os.urandom(n)
    frame = fr.encode_frame(fr.OP_BINARY, payload)
    assert frame == prefix + payload  # unmasked: a server MUST NOT mask (§5.1)


def test_encode_frame_flags() -> None:
    assert fr.encode_frame(fr.OP_TEXT, b"a", fin=False) == b"\x01\x01a"
    assert fr.encode_frame(fr.OP_TEXT, b"a", rsv1=True) == b"\xc1\x01a"
    assert fr.encode_frame(fr.OP_CONTINUATION, b"") == b"\x80\x00"
    assert fr.encode_frame(fr.OP_PING, b"p") == b"\x89\x01p"
    assert fr.encode_frame(fr.OP_PONG, b"") == b"\x8a\x00"
    assert fr.encode_frame(fr.OP_CLOSE, b"\x03\xe8") == b"\x88\x02\x03\xe8"


def test_frame_header_for_first_bytes_outside_the_table() -> None:
    assert fr.frame_header(0x01, 3) == b"\x01\x03"
    assert fr.frame_header(fr.FIN | fr.RSV1 | fr.OP_TEXT, 200) == b"\xc1\x7e\x00\xc8"


def test_encode_masked_frame_round_trip() -> None:
    payload = os.urandom(300)
    mask = os.urandom(4)
    frame = fr.encode_masked_frame(fr.OP_BINARY, payload, mask)
    parsed = fr.parse_header(frame)
    assert parsed is not None
    _, _, key, n, header_length = parsed
    assert key == mask and n == 300
    assert fr.apply_mask_python(frame[header_length:], mask) == payload


def test_encode_masked_frame_requires_a_4_byte_key() -> None:
    with pytest.raises(ValueError):
        fr.encode_masked_frame(fr.OP_TEXT, b"", b"abc")


# -- close payloads (§5.5.1, §7.4) -------------------------------------------------------


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012,
                                  1013, 1014, 3000, 3999, 4000, 4999])
def test_valid_close_codes(code: int) -> None:
    assert fr.close_code_valid(code)


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000,
                                  65535])
def test_invalid_close_codes(code: int) -> None:
    # 1004 reserved; 1005, 1006, 1015 "MUST NOT be set as a status code in a Close
    # control frame" (§7.4.1); 0-999 and 1016-2999 are not for use (§7.4.2).
    assert not fr.close_code_valid(code)


def test_encode_close_payload() -> None:
    assert fr.encode_close_payload(None) == b""
    assert fr.encode_close_payload(1000) == b"\x03\xe8"
    assert fr.encode_close_payload(4001, "héllo") == b"\x0f\xa1" + "héllo".encode()


def test_accelerator_flag_is_boolean() -> None:
    assert isinstance(fr.ACCELERATED, bool)
