"""The UTF-8 payloads of Autobahn's cases 6.5 to 6.23.

Autobahn draws them from Markus Kuhn's "UTF-8 decoder capability and stress test"
(https://www.cl.cam.ac.uk/~mgk25/ucs/examples/UTF-8-test.txt): valid sequences at the
edges of each length, sequences that follow the bit pattern but encode code points
beyond U+10FFFF, stray continuation bytes, lonely start bytes, truncated sequences,
impossible bytes, overlong forms, UTF-16 surrogates, and the non-characters and specials
that *are* valid UTF-8 (RFC 3629). Each group is one Autobahn sub-category, numbered
from 6.5 in the order below; each payload one case, numbered from 1, so the IDs match
Autobahn's ("6.12.8" is the run of bytes 0x80..0xBE).

Whether a payload is valid is what RFC 3629 says, which is what a strict decoder
(Python's ``bytes.decode("utf-8")``) answers for a *complete* message; for most groups
it is written out here, and a unit test checks the two agree.
"""

from __future__ import annotations

__all__ = ["SEQUENCES", "is_valid_utf8"]


def is_valid_utf8(data: bytes) -> bool:
    """Whether ``data`` is a complete, valid UTF-8 text (RFC 3629)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _prefixes(text: bytes) -> list[tuple[bool, bytes]]:
    # A prefix that stops inside a code point is not a valid *message*.
    return [(is_valid_utf8(text[:i]), text[:i]) for i in range(1, len(text) + 1)]


def _lonely_starts(first: int, end: int) -> bytes:
    # Every start byte in [first, end) followed by a space (Autobahn stops before end).
    return b"".join(bytes([b, 0x20]) for b in range(first, end))


def _noncharacters() -> list[tuple[bool, bytes]]:
    # U+FFFE, U+FFFF and the last two code points of every plane 1..16: valid UTF-8.
    out = [(True, b"\xef\xbf\xbe"), (True, b"\xef\xbf\xbf")]
    for lead in (0xF0, 0xF1, 0xF2, 0xF3, 0xF4):
        for second in (0x8F, 0x9F, 0xAF, 0xBF):
            if lead == 0xF4 and second != 0x8F:
                continue  # beyond U+10FFFF
            for last in (0xBE, 0xBF):
                seq = bytes([lead, second, 0xBF, last])
                if seq in (b"\xf0\x8f\xbf\xbe", b"\xf0\x8f\xbf\xbf"):
                    continue  # overlong forms of U+FFFE/U+FFFF
                out.append((True, seq))
    return out


_KAPPA = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"  # "κόσμε", Kuhn's sample word
_TRUNCATED = [b"\xc0", b"\xe0\x80", b"\xf0\x80\x80", b"\xf8\x80\x80\x80",
              b"\xfc\x80\x80\x80\x80", b"\xdf", b"\xef\xbf", b"\xf7\xbf\xbf",
              b"\xfb\xbf\xbf\xbf", b"\xfd\xbf\xbf\xbf\xbf"]

SEQUENCES: list[tuple[str, list[tuple[bool, bytes]]]] = [
    ("Some valid UTF-8 sequences", [
        (True, b"hello\x24world"), (True, b"hello\xc2\xa2world"),
        (True, b"hello\xe2\x82\xacworld"), (True, b"hello\xf0\xa4\xad\xa2world"),
        (True, _KAPPA)]),
    ("All prefixes of a valid UTF-8 string that contains multi-byte code points",
     _prefixes(_KAPPA)),
    ("First possible sequence of a certain length", [
        (True, b"\x00"), (True, b"\xc2\x80"), (True, b"\xe0\xa0\x80"),
        (True, b"\xf0\x90\x80\x80")]),
    ("First possible sequence length 5/6 (invalid codepoints)", [
        (False, b"\xf8\x88\x80\x80\x80"), (False, b"\xfc\x84\x80\x80\x80\x80")]),
    ("Last possible sequence of a certain length", [
        (True, b"\x7f"), (True, b"\xdf\xbf"), (True, b"\xef\xbf\xbf"),
        (True, b"\xf4\x8f\xbf\xbf")]),
    ("Last possible sequence length 4/5/6 (invalid codepoints)", [
        (False, b"\xf7\xbf\xbf\xbf"), (False, b"\xfb\xbf\xbf\xbf\xbf"),
        (False, b"\xfd\xbf\xbf\xbf\xbf\xbf")]),
    ("Other boundary conditions", [
        (True, b"\xed\x9f\xbf"), (True, b"\xee\x80\x80"), (True, b"\xef\xbf\xbd"),
        (True, b"\xf4\x8f\xbf\xbf"), (False, b"\xf4\x90\x80\x80")]),
    ("Unexpected continuation bytes", [
        (False, b"\x80"), (False, b"\xbf"), (False, b"\x80\xbf"), (False, b"\x80\xbf\x80"),
        (False, b"\x80\xbf\x80\xbf"), (False, b"\x80\xbf\x80\xbf\x80"),
        (False, b"\x80\xbf\x80\xbf\x80\xbf"), (False, bytes(range(0x80, 0xBF)))]),
    ("Lonely start characters", [
        (False, _lonely_starts(0xC0, 0xDF)), (False, _lonely_starts(0xE0, 0xEF)),
        (False, _lonely_starts(0xF0, 0xF7)), (False, _lonely_starts(0xF8, 0xFB)),
        (False, _lonely_starts(0xFC, 0xFD))]),
    ("Sequences with last continuation byte missing", [(False, t) for t in _TRUNCATED]),
    ("Concatenation of incomplete sequences", [(False, b"".join(_TRUNCATED))]),
    ("Impossible bytes", [(False, b"\xfe"), (False, b"\xff"), (False, b"\xfe\xfe\xff\xff")]),
    ("Examples of an overlong ASCII character", [
        (False, b"\xc0\xaf"), (False, b"\xe0\x80\xaf"), (False, b"\xf0\x80\x80\xaf"),
        (False, b"\xf8\x80\x80\x80\xaf"), (False, b"\xfc\x80\x80\x80\x80\xaf")]),
    ("Maximum overlong sequences", [
        (False, b"\xc1\xbf"), (False, b"\xe0\x9f\xbf"), (False, b"\xf0\x8f\xbf\xbf"),
        (False, b"\xf8\x87\xbf\xbf\xbf"), (False, b"\xfc\x83\xbf\xbf\xbf\xbf")]),
    ("Overlong representation of the NUL character", [
        (False, b"\xc0\x80"), (False, b"\xe0\x80\x80"), (False, b"\xf0\x80\x80\x80"),
        (False, b"\xf8\x80\x80\x80\x80"), (False, b"\xfc\x80\x80\x80\x80\x80")]),
    ("Single UTF-16 surrogates", [
        (False, b"\xed\xa0\x80"), (False, b"\xed\xad\xbf"), (False, b"\xed\xae\x80"),
        (False, b"\xed\xaf\xbf"), (False, b"\xed\xb0\x80"), (False, b"\xed\xbe\x80"),
        (False, b"\xed\xbf\xbf")]),
    ("Paired UTF-16 surrogates", [
        (False, b"\xed\xa0\x80\xed\xb0\x80"), (False, b"\xed\xa0\x80\xed\xbf\xbf"),
        (False, b"\xed\xad\xbf\xed\xb0\x80"), (False, b"\xed\xad\xbf\xed\xbf\xbf"),
        (False, b"\xed\xae\x80\xed\xb0\x80"), (False, b"\xed\xae\x80\xed\xbf\xbf"),
        (False, b"\xed\xaf\xbf\xed\xb0\x80"), (False, b"\xed\xaf\xbf\xed\xbf\xbf")]),
    ("Non-character code points (valid UTF-8)", _noncharacters()),
    ("Unicode specials (i.e. replacement char)", [
        (True, b"\xef\xbf\xb9"), (True, b"\xef\xbf\xba"), (True, b"\xef\xbf\xbb"),
        (True, b"\xef\xbf\xbc"), (True, b"\xef\xbf\xbd"), (True, b"\xef\xbf\xbe"),
        (True, b"\xef\xbf\xbf")]),
]
"""(title, [(valid, payload), ...]) for sub-categories 6.5, 6.6, ... 6.23 in order."""

FIRST_SUBCATEGORY = 5
