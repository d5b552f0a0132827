"""Autobahn's echo-loop cases: categories 9 (limits/performance) and 12, 13
(permessage-deflate), with their IDs.

Each of these sends messages one at a time and expects each echoed intact before the
next (:class:`conformance.autobahn.model.EchoLoop`); the scripted cases of the other
categories are in :mod:`conformance.autobahn.cases`, which assembles them all. Where our
definition knowingly differs from Autobahn's (0.8.2):

* 9.x: Autobahn checks the echo's type and length only ("FIXME: check actual content");
  we check the content as well.
* 12.x/13.x: the corpora are generated stand-ins (:mod:`conformance.autobahn.testdata`),
  and the default run sends a few messages per case instead of 1000 (``--autobahn-
  performance`` sends Autobahn's 1000), which keeps each case's observable the same
  (every echo intact with context takeover across messages) at a fraction of the time.
"""

from __future__ import annotations

from collections.abc import Callable

from conformance.autobahn import testdata
from conformance.autobahn.model import Case, DeflateOffer, EchoLoop, requirement_id

__all__ = ["DEFAULT_MESSAGE_BUDGET", "DEFLATE_PARAMS", "MSG_SIZES", "deflate_cases",
           "performance_cases"]


def _constant(payload: bytes) -> Callable[[int], bytes]:
    """The same message every time (category 9)."""
    return lambda _index: payload


# --- 9 Limits/Performance (opt-in) -------------------------------------------------------

_K, _M = 2**10, 2**20


def _repeat(pattern: bytes, size: int) -> bytes:
    return (pattern * (size // len(pattern) + 1))[:size]


def performance_cases() -> list[Case]:
    cases = []
    text_pattern, binary_pattern = b"BAsd7&jh23", b"\x00\xfe\x23\xfa\xf0"
    sizes = [(64 * _K, "64k"), (256 * _K, "256k"), (1 * _M, "1M"), (4 * _M, "4M"),
             (8 * _M, "8M"), (16 * _M, "16M")]
    waits = {"1": [10, 10, 100, 100, 100, 100], "2": [10, 10, 10, 10, 100, 100]}
    for group, binary, pattern in (("1", False, text_pattern), ("2", True, binary_pattern)):
        kind = "binary" if binary else "text"
        for index, (size, label) in enumerate(sizes, 1):
            payload = _repeat(pattern, size)
            cases.append(_perf_case(
                f"9.{group}.{index}", f"Send {kind} message with payload of length {label}.",
                f"Receive echo'ed {kind} message (with payload as sent).",
                EchoLoop(1, _constant(payload), binary, waits[group][index - 1],
                         frame=True)))
    frags = [(64, "64"), (256, "256"), (1 * _K, "1k"), (4 * _K, "4k"), (16 * _K, "16k"),
             (64 * _K, "64k"), (256 * _K, "256k"), (1 * _M, "1M"), (4 * _M, "4M")]
    for group, binary in (("3", False), ("4", True)):
        kind = "binary" if binary else "text"
        for index, (frag, label) in enumerate(frags, 1):
            byte = b"\xfe" if binary and index == 1 else b"*"
            payload = byte * (4 * _M)
            cases.append(_perf_case(
                f"9.{group}.{index}", f"Send fragmented {kind} message with message payload "
                f"of length 4M, sent out in fragments of {label}.",
                f"Receive echo'ed {kind} message (with payload as sent).",
                EchoLoop(1, _constant(payload), binary, 100, fragment_size=frag)))
    for group, binary, pattern in (("5", False, text_pattern), ("6", True, binary_pattern)):
        kind = "binary" if binary else "text"
        payload = _repeat(pattern, 1 * _M)
        for index, chop in enumerate([64, 128, 256, 512, 1024, 2048], 1):
            cases.append(_perf_case(
                f"9.{group}.{index}", f"Send {kind} message with payload of length 1M, sent "
                f"out data in chops of {chop} octets.",
                f"Receive echo'ed {kind} message (with payload as sent).",
                EchoLoop(1, _constant(payload), binary, 1000, frame=True, chopsize=chop)))
    for group, binary in (("7", False), ("8", True)):
        kind = "binary" if binary else "text"
        for index, (size, wait) in enumerate([(0, 60), (16, 60), (64, 60), (256, 120),
                                              (1024, 240), (4096, 480)], 1):
            payload = (b"\xfe" if binary else b"*") * size
            cases.append(_perf_case(
                f"9.{group}.{index}", f"Send 1000 {kind} messages of payload size {size} to "
                "measure implementation/network RTT (round trip time) / latency.",
                f"Receive echo'ed {kind} messages (with payload as sent). Timeout case after "
                f"{wait} secs.",
                EchoLoop(1000, _constant(payload), binary, wait, frame=True)))
    return cases


def _perf_case(case_id: str, description: str, expectation: str, echo: EchoLoop) -> Case:
    return Case(case_id, requirement_id(case_id), description, expectation, echo=echo,
                performance=True, timeout=echo.wait + 10)


# --- 12, 13 permessage-deflate ----------------------------------------------------------------

MSG_SIZES = [
    (16, 1000, 60, 0), (64, 1000, 60, 0), (256, 1000, 120, 0), (1024, 1000, 240, 0),
    (4096, 1000, 480, 0), (8192, 1000, 480, 0), (16384, 1000, 480, 0), (32768, 1000, 480, 0),
    (65536, 1000, 480, 0), (131072, 1000, 480, 0), (8192, 1000, 480, 256),
    (16384, 1000, 480, 256), (32768, 1000, 480, 256), (65536, 1000, 480, 256),
    (131072, 1000, 480, 256), (131072, 1000, 480, 1024), (131072, 1000, 480, 4096),
    (131072, 1000, 480, 32768),
]
"""(message size, Autobahn's message count, its time bound in s, auto-fragment size)."""

DEFAULT_MESSAGE_BUDGET = 256 * 1024
"""Payload bytes per deflate case in the default run (at least 2 messages, at most 32)."""

DEFLATE_PARAMS: list[tuple[str, tuple[DeflateOffer, ...]]] = [
    ("server accepts (requestNoContextTakeover, requestMaxWindowBits): [(False, 0)]",
     (DeflateOffer(),)),
    ("server accepts [(True, 0)]", (DeflateOffer(True, 0),)),
    ("server accepts [(False, 9)]", (DeflateOffer(False, 9),)),
    ("server accepts [(False, 15)]", (DeflateOffer(False, 15),)),
    ("server accepts [(True, 9)]", (DeflateOffer(True, 9),)),
    ("server accepts [(True, 15)]", (DeflateOffer(True, 15),)),
    ("server accepts [(True, 9), (True, 0), (False, 0)]",
     (DeflateOffer(True, 9), DeflateOffer(True, 0), DeflateOffer())),
]
"""Sub-categories 13.1-13.7: the client's offers (and what Autobahn's server side would
accept, for the description)."""


def _message_count(size: int, full: int, performance: bool) -> int:
    if performance:
        return full
    return min(full, 32, max(2, DEFAULT_MESSAGE_BUDGET // size))


def _deflate_case(case_id: str, corpus: testdata.Corpus, row: tuple[int, int, int, int],
                  offers: tuple[DeflateOffer, ...], offer_text: str, performance: bool) -> Case:
    size, full, wait, fragment = row
    count = _message_count(size, full, performance)

    def payload(index: int, key: str = corpus.key, size: int = size) -> bytes:
        # The corpus is generated on first use, not when the cases are collected.
        piece = testdata.cyclic_slice(testdata.corpus(key), index * size, size)
        return piece.encode() if isinstance(piece, str) else piece

    echo = EchoLoop(count, payload, corpus.binary, wait, auto_fragment=fragment,
                    text_length=None if corpus.binary else size, full_count=full)
    reduced = "" if count == full else f" (Autobahn sends {full}; this run sends {count})"
    return Case(
        case_id, requirement_id(case_id),
        f"Send {count} compressed messages each of payload size {size}, auto-fragment to "
        f"{fragment} octets{reduced}. Use permessage-deflate {offer_text}. Corpus: "
        f"{corpus.description} stand-in ({'binary' if corpus.binary else 'utf8'}, "
        f"{corpus.size} bytes).",
        f"Receive echo'ed messages (with payload as sent). Timeout case after {wait} secs.",
        echo=echo, deflate=offers, auto_fragment=fragment, performance=performance,
        timeout=(wait + 10) if performance else 30.0)


def deflate_cases(performance: bool) -> list[Case]:
    cases = []
    default = (DeflateOffer(),)
    for group, corpus in enumerate(testdata.CORPORA, 1):
        for index, row in enumerate(MSG_SIZES, 1):
            cases.append(_deflate_case(f"12.{group}.{index}", corpus, row, default,
                                       "default offer", performance))
    json_corpus = testdata.CORPORA[0]
    for group, (accepts, offers) in enumerate(DEFLATE_PARAMS, 1):
        text = ("client offers (requestNoContextTakeover, requestMaxWindowBits): "
                + str([(o.request_no_context_takeover, o.request_max_window_bits)
                       for o in offers]) + f" / {accepts}")
        for index, row in enumerate(MSG_SIZES, 1):
            cases.append(_deflate_case(f"13.{group}.{index}", json_corpus, row, offers, text,
                                       performance))
    return cases
