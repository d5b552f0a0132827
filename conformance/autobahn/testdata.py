"""Payload corpora for the permessage-deflate cases (categories 12 and 13).

Autobahn cuts its compression messages from five files it ships: a large JSON document
(its own report index), Lena as a 512x512 8-bit bitmap, Goethe's Faust from Project
Gutenberg, a large HTML page and a PDF. We do not vendor those (third-party texts and a
picture whose licence is murky); we generate stand-ins of the same kind, the same size
and the same text/binary flag, deterministically, so every run sends the same bytes:

=========================  ======  ==========  =============================================
sub-category               kind    size        stand-in
=========================  ======  ==========  =============================================
12.1 json_data1            text    194,056     a JSON results index (keys repeat, values vary)
12.2 lena512               binary  263,222     a 512x512 8-bit BMP: header, grey palette,
                                               smooth shading with noise
12.3 gutenberg_faust       binary  222,218     German verse in UTF-8, sent as binary
12.4 html_data1            text    263,527     an HTML report page (nested, repetitive)
12.5 ooms                  binary  1,042,328   a PDF: text objects and deflated streams
                                               (incompressible)
=========================  ======  ==========  =============================================

What the cases judge does not depend on the exact bytes: the server must echo each
message intact through its decompressor and compressor, with context takeover across
messages and across window boundaries, which these corpora exercise in the same way
(compressible text, incompressible stretches, long repeats). Text corpora contain
non-ASCII characters, so messages are cut on characters, as Autobahn cuts text.
"""

from __future__ import annotations

import functools
import json
import random
import struct
import zlib
from dataclasses import dataclass

__all__ = ["CORPORA", "Corpus", "corpus"]


@dataclass(frozen=True)
class Corpus:
    key: str
    description: str
    binary: bool
    size: int
    """Size in bytes (Autobahn's file size)."""


CORPORA: tuple[Corpus, ...] = (
    Corpus("json_data1", "Large JSON data file", False, 194056),
    Corpus("lena512", "Lena Picture, Bitmap 512x512 bw", True, 263222),
    Corpus("gutenberg_faust", "Human readable text, Goethe's Faust I (German)", True, 222218),
    Corpus("html_data1", "Large HTML file", False, 263527),
    Corpus("ooms", "A larger PDF", True, 1042328),
)
"""In Autobahn's order: sub-categories 12.1 .. 12.5; 13.x all use json_data1."""


def _fit_text(text: str, size: int) -> str:
    """Cut or repeat ``text`` so that its UTF-8 encoding is exactly ``size`` bytes
    (padding with ASCII spaces when a multi-byte character straddles the end)."""
    while len(text.encode()) < size:
        text += text
    data = text.encode()[:size]
    cut = data.decode("utf-8", "ignore")
    return cut + " " * (size - len(cut.encode()))


_FAUST = ("Habe nun, ach! Philosophie, Juristerei und Medizin, und leider auch Theologie "
          "durchaus studiert, mit heißem Bemühn. Da steh ich nun, ich armer Tor! und bin so "
          "klug als wie zuvor; heiße Magister, heiße Doktor gar, und ziehe schon an die zehen "
          "Jahr herauf, herab und quer und krumm meine Schüler an der Nase herum. Daß wir "
          "nichts wissen können! Das will mir schier das Herz verbrennen. Zwar bin ich "
          "gescheiter als all die Laffen, Doktoren, Magister, Schreiber und Pfaffen; mich "
          "plagen keine Skrupel noch Zweifel, fürchte mich weder vor Hölle noch Teufel. "
          "Nacht Wald Höhle Straße Garten Gretchen Mephistopheles Schülerin Walpurgisnacht "
          "Kerker Studierzimmer Auerbachs Keller Hexenküche Spaziergang Dom Brunnen Zwinger "
          "Geist Erdgeist Wagner Chor der Engel Stimme von oben süß schön Größe übel Äther")
_WORDS = _FAUST.split()


def _verse(rng: random.Random, size: int) -> str:
    lines: list[str] = []
    total = 0
    while total < size:
        if rng.random() < 0.08:
            line = rng.choice(["FAUST:", "MEPHISTOPHELES:", "MARGARETE:", "WAGNER:", "CHOR:"])
        else:
            line = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 9)))
            line = line[0].upper() + line[1:] + rng.choice([",", ".", ";", "!", "?", ""])
        lines.append(line)
        total += len(line.encode()) + 2
    return "\r\n".join(lines)


def _json_index(rng: random.Random, size: int) -> str:
    agents: dict[str, dict[str, dict[str, object]]] = {}
    total = 0
    index = 0
    while total < size:
        agent = f"Agent/{index // 300}.{rng.randint(0, 9)}.{rng.randint(0, 20)} — ünïcödé"
        cases = agents.setdefault(agent, {})
        case_id = f"{rng.randint(1, 13)}.{rng.randint(1, 20)}.{rng.randint(1, 40)}"
        cases[case_id] = {
            "behavior": rng.choice(["OK", "OK", "OK", "NON-STRICT", "FAILED", "INFORMATIONAL"]),
            "behaviorClose": rng.choice(["OK", "OK", "WRONG CODE", "UNCLEAN"]),
            "duration": rng.randint(0, 5000),
            "remoteCloseCode": rng.choice([1000, 1002, 1007, None]),
            "reportfile": f"agent_{index}_case_{case_id.replace('.', '_')}.json",
        }
        index += 1
        total += 190
    return _fit_text(json.dumps(agents, indent=3, ensure_ascii=False, sort_keys=True), size)


def _html(rng: random.Random, size: int) -> str:
    rows = []
    for i in range(size // 120 + 1):
        verdict = rng.choice(["case_ok", "case_ok", "case_non_strict", "case_failed"])
        rows.append(f'  <tr class="agent_case_result_row"><td class="case"><a href="#case_'
                    f'{i}">Case {i % 13}.{i % 7}.{i % 31}</a></td><td class="{verdict}">'
                    f"{rng.choice(['Pass', 'Non-Strict', 'Fail', 'Info'])} – "
                    f"{rng.randint(0, 999)} ms</td></tr>")
    head = ('<!DOCTYPE html>\n<html>\n <head>\n  <meta charset="utf-8" />\n  <style>body '
            "{ background-color: #F4F4F4; color: #333; font-family: Segoe UI,Tahoma,Arial,"
            "Verdana,sans-serif; }</style>\n </head>\n <body>\n  <h1>Autobahn WebSocket "
            "Testsuite Report — Übersicht</h1>\n  <table>\n")
    return _fit_text(head + "\n".join(rows) + "\n  </table>\n </body>\n</html>\n", size)


def _bitmap(rng: random.Random, size: int) -> bytes:
    width = height = 512
    palette = b"".join(bytes([g, g, g, 0]) for g in range(256))
    offset = 14 + 40 + len(palette)
    header = b"BM" + struct.pack("<IHHI", offset + width * height, 0, 0, offset)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 0, width * height,
                       2835, 2835, 256, 256)
    # Smooth shading plus a little noise, row by row (noise: 0..12 around the shade).
    shade = bytes((x * 3) // 8 for x in range(width))
    noise = rng.randbytes(width * height).translate(bytes(b % 13 for b in range(256)))
    pixels = bytearray(width * height)
    for y in range(height):
        base = (y * 255) // height - 6
        row = y * width
        pixels[row:row + width] = bytes((base + s + n) & 0xFF for s, n in
                                        zip(shade, noise[row:row + width], strict=True))
    data = header + info + palette + bytes(pixels)
    return data[:size]


def _pdf(rng: random.Random, size: int) -> bytes:
    parts = [b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"]
    total = len(parts[0])
    number = 1
    while total < size:
        if number % 3:
            text = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(40, 120)))
            stream = zlib.compress(f"BT /F1 10 Tf 72 720 Td ({text}) Tj ET".encode())
        else:
            stream = rng.randbytes(rng.randint(2000, 20000))
        obj = (f"{number} 0 obj\n<< /Length {len(stream)} /Filter /FlateDecode >>\nstream\n"
               .encode() + stream + b"\nendstream\nendobj\n")
        parts.append(obj)
        total += len(obj)
        number += 1
    return b"".join(parts)[:size - 6] + b"%%EOF\n"


@functools.cache
def corpus(key: str) -> bytes | str:
    """The corpus named ``key``: ``str`` for text corpora (cut on characters), ``bytes``
    for binary ones. Generated on first use, identical on every run."""
    spec = next(c for c in CORPORA if c.key == key)
    rng = random.Random(f"autobahn-{key}")
    if key == "json_data1":
        return _json_index(rng, spec.size)
    if key == "html_data1":
        return _html(rng, spec.size)
    if key == "gutenberg_faust":
        return _fit_text(_verse(rng, spec.size), spec.size).encode()
    if key == "lena512":
        return _bitmap(rng, spec.size)
    return _pdf(rng, spec.size)


def cyclic_slice(data: bytes | str, start: int, length: int) -> bytes | str:
    """``length`` items of ``data`` from ``start``, wrapping around (how Autobahn walks
    its corpus from one message to the next)."""
    start %= len(data)
    if start + length <= len(data):
        return data[start:start + length]
    repeated = data * ((start + length) // len(data) + 1)
    return repeated[start:start + length]
