"""Autobahn's fuzzing-client cases, categories 1-7, 9, 10, 12 and 13, with their IDs.

This module defines the scripted cases (categories 1-7 and 10) and assembles them with
the echo-loop cases of :mod:`conformance.autobahn.echo_cases` (9, 12, 13) in
:func:`all_cases`.

Each case restates one of Autobahn|Testsuite's (0.8.2) case definitions as data: the
client's script, the acceptable event sequences and how the connection must end. IDs,
payloads, frame shapes, chop sizes and expectations are Autobahn's; the waits in the
scripts are Autobahn's too (the engine shortens them, see
:class:`conformance.autobahn.engine.Timing`). Where our definition knowingly differs
from Autobahn's, the note is next to the case:

* 3.6 is described by Autobahn as "Ping with RSV = 6" but sends a binary frame; we send
  what Autobahn sends.
* 9.x, 12.x, 13.x: see :mod:`conformance.autobahn.echo_cases`.

Requirement IDs (:mod:`conformance.catalogue.autobahn`) are ``AB-`` plus the Autobahn
sub-category (``AB-1.1``, ``AB-6.12``), or the category where Autobahn has no
sub-categories (``AB-2``, ``AB-3``, ``AB-5``). Cases Autobahn judges at a softer level
than their neighbours get their own: 2.10/2.11 (``AB-2.10``: a pong for every ping of a
burst, which RFC 6455 §5.5.3 does not require) and 7.1.6 (``AB-7.1.6``, informational).
"""

from __future__ import annotations

import functools

from conformance.autobahn import utf8
from conformance.autobahn.echo_cases import deflate_cases, performance_cases
from conformance.autobahn.model import (
    NORMAL_CLOSE,
    PROTOCOL_ERROR_CLOSE,
    Action,
    BeginFrame,
    Behavior,
    Case,
    CloseAfter,
    CloseExpectation,
    Event,
    FrameData,
    KillAfter,
    Pause,
    PostRule,
    SendClose,
    SendFrame,
    SendMessage,
    message,
    pong,
    requirement_id,
    timeout,
)
from conformance.rawws import BINARY, CLOSE, CONTINUATION, PING, PONG, TEXT

__all__ = ["all_cases", "requirement_id"]

OK, NON_STRICT = Behavior.OK, Behavior.NON_STRICT

def _case(case_id: str, description: str, expectation: str, actions: list[Action], *,
          ok: list[Event] | None = None, non_strict: list[Event] | None = None,
          close: CloseExpectation = NORMAL_CLOSE, post: PostRule = PostRule.NONE,
          suppress_close: bool = False, auto_fragment: int = 0) -> Case:
    outcomes: list[tuple[Behavior, tuple[Event, ...]]] = []
    if ok is not None:
        outcomes.append((OK, tuple(ok)))
    if non_strict is not None:
        outcomes.append((NON_STRICT, tuple(non_strict)))
    return Case(case_id, requirement_id(case_id), description, expectation, tuple(actions),
                tuple(outcomes), close, suppress_close=suppress_close, post=post,
                auto_fragment=auto_fragment)


HELLO = b"Hello, world!"
UTF8_CLOSE = CloseExpectation(False, (1007,), False, wrong_endpoint_fatal=True)

# --- 1 Framing -----------------------------------------------------------------------------


def _framing() -> list[Case]:
    cases = []
    sizes = [0, 125, 126, 127, 128, 65535, 65536, 65536]
    for group, (binary, byte, kind) in enumerate([(False, b"*", "text"),
                                                  (True, b"\xfe", "binary")], 1):
        for index, size in enumerate(sizes, 1):
            chop = 997 if index == 8 else None
            payload = byte * size
            opcode = BINARY if binary else TEXT
            cases.append(_case(
                f"1.{group}.{index}",
                f"Send {kind} message with payload of length {size}"
                + (", written in chops of 997 octets." if chop else "."),
                f"Receive echo'ed {kind} message (with payload as sent). Clean close with "
                "normal code.",
                [SendFrame(opcode, payload, chopsize=chop), KillAfter(10 if size > 128 else 1)],
                ok=[message(payload, binary)]))
    return cases


# --- 2 Pings/Pongs -----------------------------------------------------------------------


def _pings() -> list[Case]:
    pong_expected = "Pong with payload echo'ed is sent in reply to Ping. Clean close with " \
        "normal code."
    cases = [
        _case("2.1", "Send ping without payload.",
              "Pong (with empty payload) is sent in reply to Ping. Clean close with normal "
              "code.", [SendFrame(PING), CloseAfter(1)], ok=[pong(b"")]),
        _case("2.2", "Send ping with small text payload.", pong_expected,
              [SendFrame(PING, HELLO), CloseAfter(1)], ok=[pong(HELLO)]),
        _case("2.3", "Send ping with small binary (non UTF-8) payload.", pong_expected,
              [SendFrame(PING, b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff"), CloseAfter(1)],
              ok=[pong(b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff")]),
        _case("2.4", "Send ping with binary payload of 125 octets.", pong_expected,
              [SendFrame(PING, b"\xfe" * 125), CloseAfter(1)], ok=[pong(b"\xfe" * 125)]),
        _case("2.5", "Send ping with binary payload of 126 octets.",
              "Connection is failed immediately (1002/Protocol Error), since control frames "
              "are only allowed to have payload up to and including 125 octets.",
              [SendFrame(PING, b"\xfe" * 126), KillAfter(1)], ok=[],
              close=PROTOCOL_ERROR_CLOSE),
        _case("2.6", "Send ping with binary payload of 125 octets, send in octet-wise chops.",
              pong_expected + " Implementations must be TCP clean.",
              [SendFrame(PING, b"\xfe" * 125, chopsize=1), CloseAfter(2)],
              ok=[pong(b"\xfe" * 125)]),
        _case("2.7", "Send unsolicited pong without payload. Verify nothing is received.",
              "Nothing. Clean close with normal code.",
              [SendFrame(PONG), SendClose(1000), CloseAfter(1)], ok=[]),
        _case("2.8", "Send unsolicited pong with payload. Verify nothing is received.",
              "Nothing. Clean close with normal code.",
              [SendFrame(PONG, b"unsolicited pong payload"), SendClose(1000), CloseAfter(1)],
              ok=[]),
        _case("2.9", "Send unsolicited pong with payload. Send ping with payload. Verify pong "
              "for ping is received.",
              "Nothing in reply to own Pong, but Pong with payload echo'ed in reply to Ping. "
              "Clean close with normal code.",
              [SendFrame(PONG, b"unsolicited pong payload"), SendFrame(PING, b"ping payload"),
               CloseAfter(1)], ok=[pong(b"ping payload")]),
    ]
    for case_id, chop, how in (("2.10", None, ""), ("2.11", 1, " Send out octets in "
                                                                "octet-wise chops.")):
        payloads = [f"payload-{i}".encode() for i in range(10)]
        cases.append(_case(
            case_id, f"Send 10 Pings with payload.{how}",
            "Pongs for our Pings with all the payloads. Note: this is not required by the "
            "Spec, but we check for this behaviour anyway. Clean close with normal code.",
            [*(SendFrame(PING, p, chopsize=chop) for p in payloads), CloseAfter(3)],
            ok=[pong(p) for p in payloads]))
    return cases


# --- 3 Reserved bits ----------------------------------------------------------------------

_FAIL_NOW = "The connection is failed immediately, since RSV must be 0."
_ECHO_THEN_FAIL = ("Echo for first message is received, but then connection is failed "
                   "immediately, since {why}. The Pong is not received.")


def _reserved_bits() -> list[Case]:
    rsv_why = "RSV must be 0, when no extension defining RSV meaning has been negotiated"

    def echo_then_fail(case_id: str, rsv: int, *, sync: bool = False,
                       chop: int | None = None, how: str = "") -> Case:
        return _case(
            case_id, f"Send small text message, then send again with RSV = {rsv}, then send "
            f"Ping.{how}", _ECHO_THEN_FAIL.format(why=rsv_why),
            [SendFrame(TEXT, HELLO, sync=sync, chopsize=chop),
             SendFrame(TEXT, HELLO, rsv=rsv, sync=sync, chopsize=chop),
             SendFrame(PING, sync=sync, chopsize=chop), KillAfter(1)],
            ok=[message(HELLO)], non_strict=[], close=PROTOCOL_ERROR_CLOSE)

    binary = b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff"
    return [
        _case("3.1", "Send small text message with RSV = 1.",
              f"The connection is failed immediately (1002/protocol error), since {rsv_why}.",
              [SendFrame(TEXT, HELLO, rsv=1), KillAfter(1)], ok=[],
              close=PROTOCOL_ERROR_CLOSE),
        echo_then_fail("3.2", 2),
        echo_then_fail("3.3", 3, sync=True, how=" Octets are sent in frame-wise chops."),
        echo_then_fail("3.4", 4, chop=1, how=" Octets are sent in octet-wise chops."),
        _case("3.5", "Send small binary message with RSV = 5.", _FAIL_NOW,
              [SendFrame(BINARY, binary, rsv=5), KillAfter(1)], ok=[],
              close=PROTOCOL_ERROR_CLOSE),
        # Autobahn describes 3.6 as a ping but sends a binary frame: we send its frame.
        _case("3.6", "Send small binary frame with RSV = 6 (Autobahn's description says "
              "Ping; its frame is binary).", _FAIL_NOW,
              [SendFrame(BINARY, HELLO, rsv=6), KillAfter(1)], ok=[],
              close=PROTOCOL_ERROR_CLOSE),
        _case("3.7", "Send Close with RSV = 7.", _FAIL_NOW,
              [SendFrame(CLOSE, rsv=7), KillAfter(1)], ok=[], close=PROTOCOL_ERROR_CLOSE),
    ]


# --- 4 Opcodes ------------------------------------------------------------------------------


def _opcodes() -> list[Case]:
    cases = []
    for group, (first, kind) in enumerate([(3, "non-control"), (11, "control")], 1):
        ops = list(range(first, first + 5))
        reserved = b"reserved opcode payload"
        cases.append(_case(
            f"4.{group}.1", f"Send frame with reserved {kind} Opcode = {ops[0]}.",
            "The connection is failed immediately.",
            [SendFrame(ops[0]), KillAfter(1)], ok=[], close=PROTOCOL_ERROR_CLOSE))
        cases.append(_case(
            f"4.{group}.2", f"Send frame with reserved {kind} Opcode = {ops[1]} and non-empty "
            "payload.", "The connection is failed immediately.",
            [SendFrame(ops[1], reserved), KillAfter(1)], ok=[], close=PROTOCOL_ERROR_CLOSE))
        why = "reserved opcode frame is used"
        for index, (op, payload, chop) in enumerate(
                [(ops[2], b"", None), (ops[3], HELLO, None), (ops[4], HELLO, 1)], 3):
            how = " Octets are sent in octet-wise chops." if chop else ""
            with_payload = " and non-empty payload" if payload else ""
            cases.append(_case(
                f"4.{group}.{index}", f"Send small text message, then send frame with reserved "
                f"{kind} Opcode = {op}{with_payload}, then send Ping.{how}",
                _ECHO_THEN_FAIL.format(why=why),
                [SendFrame(TEXT, HELLO, chopsize=chop), SendFrame(op, payload, chopsize=chop),
                 SendFrame(PING, chopsize=chop), KillAfter(1)],
                ok=[message(HELLO)], non_strict=[], close=PROTOCOL_ERROR_CLOSE))
    return cases


# --- 5 Fragmentation ----------------------------------------------------------------------


def _fragmentation() -> list[Case]:
    f1, f2 = b"fragment1", b"fragment2"
    chops: list[tuple[str, bool, int | None]] = [
        ("", False, None), (" Octets are sent in frame-wise chops.", True, None),
        (" Octets are sent in octet-wise chops.", False, 1)]

    def frames(how: tuple[str, bool, int | None], *specs: tuple[int, bytes, bool]
               ) -> list[Action]:
        _, sync, chop = how
        return [SendFrame(op, data, fin=fin, sync=sync, chopsize=chop)
                for op, data, fin in specs]

    plain = chops[0]
    no_continue = "The connection is failed immediately, since there is no message to continue."
    cases = [
        _case("5.1", "Send Ping fragmented into 2 fragments.",
              "Connection is failed immediately, since control message MUST NOT be "
              "fragmented.", [*frames(plain, (PING, f1, False), (CONTINUATION, f2, True)),
                              KillAfter(1)], ok=[], close=PROTOCOL_ERROR_CLOSE),
        _case("5.2", "Send Pong fragmented into 2 fragments.",
              "Connection is failed immediately, since control message MUST NOT be "
              "fragmented.", [*frames(plain, (PONG, f1, False), (CONTINUATION, f2, True)),
                              KillAfter(1)], ok=[], close=PROTOCOL_ERROR_CLOSE),
    ]
    for index, opts in enumerate(chops, 3):
        how = opts[0]
        cases.append(_case(
            f"5.{index}", f"Send text Message fragmented into 2 fragments.{how}",
            "Message is processed and echo'ed back to us.",
            [*frames(opts, (TEXT, f1, False), (CONTINUATION, f2, True)), CloseAfter(1)],
            ok=[message(f1 + f2)]))
    for index, opts in enumerate(chops, 6):
        how = opts[0]
        cases.append(_case(
            f"5.{index}", "Send text Message fragmented into 2 fragments, one ping with "
            f"payload in-between.{how}", "A pong is received, then the message is echo'ed "
            "back to us.",
            [*frames(opts, (TEXT, f1, False), (PING, b"ping payload", True),
                     (CONTINUATION, f2, True)), CloseAfter(1)],
            ok=[pong(b"ping payload"), message(f1 + f2)]))
    for base, fin in ((9, True), (12, False)):
        for offset, opts in enumerate(chops):
            how = opts[0]
            cases.append(_case(
                f"5.{base + offset}", "Send unfragmented Text Message after Continuation "
                f"Frame with FIN = {str(fin).lower()}, where there is nothing to continue."
                f"{how or ' Sent in one chop.'}", no_continue,
                [*frames(opts, (CONTINUATION, b"non-continuation payload", fin),
                         (TEXT, HELLO, True)), KillAfter(1)],
                ok=[], close=PROTOCOL_ERROR_CLOSE))
    f3, f4 = b"fragment3", b"fragment4"
    cases.append(_case(
        "5.15", "Send text Message fragmented into 2 fragments, then Continuation Frame with "
        "FIN = false where there is nothing to continue, then unfragmented Text Message, all "
        "sent in one chop.", no_continue,
        [*frames(plain, (TEXT, f1, False), (CONTINUATION, f2, True), (CONTINUATION, f3, False),
                 (TEXT, f4, True)), KillAfter(1)],
        ok=[message(f1 + f2)], non_strict=[], close=PROTOCOL_ERROR_CLOSE))
    for case_id, fin in (("5.16", False), ("5.17", True)):
        cases.append(_case(
            case_id, f"Repeated 2x: Continuation Frame with FIN = {str(fin).lower()} (where "
            "there is nothing to continue), then text Message fragmented into 2 fragments.",
            no_continue,
            [*frames(plain, (CONTINUATION, f1, fin), (TEXT, f2, False), (CONTINUATION, f3, True),
                     (CONTINUATION, f1, fin), (TEXT, f2, False), (CONTINUATION, f3, True)),
             KillAfter(1)], ok=[], close=PROTOCOL_ERROR_CLOSE))
    cases.append(_case(
        "5.18", "Send text Message fragmented into 2 fragments, with both frame opcodes set "
        "to text, sent in one chop.", "The connection is failed immediately, since all data "
        "frames after the initial data frame must have opcode 0.",
        [*frames(plain, (TEXT, f1, False), (TEXT, f2, True)), KillAfter(1)],
        ok=[], close=PROTOCOL_ERROR_CLOSE))
    parts = [f"fragment{i}".encode() for i in range(1, 6)]
    pings = [b"pongme 1!", b"pongme 2!"]
    for case_id, sync in (("5.19", False), ("5.20", True)):
        opts = chops[1] if sync else plain
        cases.append(_case(
            case_id, "A fragmented text message is sent in multiple frames. After sending the "
            "first 2 frames of the text message, a Ping is sent. Then we wait 1s, then we "
            "send 2 more text fragments, another Ping and then the final text fragment. "
            "Everything is legal." + (" All frames are sent with SYNC = True." if sync else ""),
            "The peer immediately answers the first Ping before it has received the last "
            "text message fragment. The peer pong's back the Ping's payload exactly, and "
            "echo's the payload of the fragmented message back to us.",
            [*frames(opts, (TEXT, parts[0], False), (CONTINUATION, parts[1], False),
                     (PING, pings[0], True)),
             Pause(1),
             *frames(opts, (CONTINUATION, parts[2], False), (CONTINUATION, parts[3], False),
                     (PING, pings[1], True), (CONTINUATION, parts[4], True)),
             CloseAfter(1)],
            ok=[pong(pings[0]), pong(pings[1]), message(b"".join(parts))]))
    return cases


# --- 6 UTF-8 handling ---------------------------------------------------------------------

KAPPA = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"
HELLO_UTF8 = "Hello-µ@ßöäüàá-UTF-8!!".encode()


def _utf8() -> list[Case]:
    echoed = "The message is echo'ed back to us."
    invalid = "The connection is failed immediately, since the payload is not valid UTF-8."
    cases = [
        _case("6.1.1", "Send text message of length 0.",
              "A message is echo'ed back to us (with empty payload).",
              [SendFrame(TEXT, b""), CloseAfter(1)], ok=[message(b"")]),
        _case("6.1.2", "Send fragmented text message, 3 fragments each of length 0.",
              "A message is echo'ed back to us (with empty payload).",
              [SendFrame(TEXT, b"", fin=False), SendFrame(CONTINUATION, b"", fin=False),
               SendFrame(CONTINUATION, b""), CloseAfter(1)], ok=[message(b"")]),
        _case("6.1.3", "Send fragmented text message, 3 fragments, first and last of length 0, "
              "middle non-empty.", "A message is echo'ed back to us (with payload = payload "
              "of middle fragment).",
              [SendFrame(TEXT, b"", fin=False),
               SendFrame(CONTINUATION, b"middle frame payload", fin=False),
               SendFrame(CONTINUATION, b""), CloseAfter(1)],
              ok=[message(b"middle frame payload")]),
        _case("6.2.1", f"Send a valid UTF-8 text message in one fragment: {HELLO_UTF8.hex()}.",
              echoed, [SendMessage(HELLO_UTF8), CloseAfter(1)], ok=[message(HELLO_UTF8)]),
        _case("6.2.2", "Send a valid UTF-8 text message in two fragments, fragmented on UTF-8 "
              "code point boundary.", echoed,
              [SendFrame(TEXT, "Hello-µ@ßöä".encode(), fin=False),
               SendFrame(CONTINUATION, "üàá-UTF-8!!".encode()), CloseAfter(1)],
              ok=[message(HELLO_UTF8)]),
        _case("6.2.3", "Send a valid UTF-8 text message in fragments of 1 octet, resulting in "
              "frames ending on positions which are not code point ends.", echoed,
              [SendMessage(HELLO_UTF8, fragment_size=1), CloseAfter(1)],
              ok=[message(HELLO_UTF8)]),
        _case("6.2.4", "Send a valid UTF-8 text message in fragments of 1 octet, resulting in "
              f"frames ending on positions which are not code point ends: {KAPPA.hex()}.",
              echoed, [SendMessage(KAPPA, fragment_size=1), CloseAfter(1)],
              ok=[message(KAPPA)]),
    ]
    bad = KAPPA + b"\xed\xa0\x80" + b"edited"  # a surrogate, invalid at byte 12
    cases += [
        _case("6.3.1", f"Send invalid UTF-8 text message unfragmented: {bad.hex()}.", invalid,
              [SendMessage(bad), KillAfter(1)], ok=[], close=UTF8_CLOSE),
        _case("6.3.2", "Send invalid UTF-8 text message in fragments of 1 octet.", invalid,
              [SendMessage(bad, fragment_size=1), KillAfter(1)], ok=[], close=UTF8_CLOSE),
    ]
    # 6.4: the payload turns invalid at byte 12 (F4 90 80 80 would be U+110000).
    p1, p2, p3 = KAPPA, b"\xf4\x90\x80\x80", b"edited"
    whole = p1 + p2 + p3
    fail_fast = ("The first part is accepted, we expect to time out on the first wait. The "
                 "2nd part should be rejected immediately (fail fast on UTF-8). If we time "
                 "out, we expect the connection is failed at least then, since the complete "
                 "message payload is not valid UTF-8.")
    fast = [timeout("A")]
    late = [timeout("A"), timeout("B")]
    for case_id, (a, b, c) in (("6.4.1", (p1, p2, p3)),
                               ("6.4.2", (whole[:12], whole[12:13], whole[13:]))):
        cases.append(_case(
            case_id, "Send invalid UTF-8 text message in 3 fragments (frames): first valid, "
            "wait, then the fragment making it invalid, wait, then the rest. Parts: "
            f"{a.hex()} | {b.hex()} | {c.hex()}.", fail_fast,
            [SendFrame(TEXT, a, fin=False), Pause(1, "A"), SendFrame(CONTINUATION, b, fin=False),
             Pause(1, "B"), SendFrame(CONTINUATION, c), KillAfter(1)],
            ok=fast, non_strict=late, close=UTF8_CLOSE))
    for case_id, (a, b, c) in (("6.4.3", (p1, p2, p3)),
                               ("6.4.4", (whole[:12], whole[12:13], whole[13:]))):
        cases.append(_case(
            case_id, "Same as 6.4.%s, but the parts are 3 chops of one frame: "
            % ("1" if case_id == "6.4.3" else "2") + f"{a.hex()} | {b.hex()} | {c.hex()}.",
            fail_fast,
            [BeginFrame(TEXT, len(whole)), FrameData(a), Pause(1, "A"), FrameData(b),
             Pause(1, "B"), FrameData(c), SendFrame(CONTINUATION, b""), KillAfter(1)],
            ok=fast, non_strict=late, close=UTF8_CLOSE))
    for group, (title, sequences) in enumerate(utf8.SEQUENCES, utf8.FIRST_SUBCATEGORY):
        for index, (valid, payload) in enumerate(sequences, 1):
            case_id = f"6.{group}.{index}"
            if valid:
                cases.append(_case(
                    case_id, f"{title}: send a text message with payload which is valid UTF-8 "
                    f"in one fragment. Payload: 0x{payload.hex()}", echoed,
                    [SendMessage(payload), KillAfter(0.5)], ok=[message(payload)]))
            else:
                cases.append(_case(
                    case_id, f"{title}: send a text message with payload which is not valid "
                    f"UTF-8 in one fragment. Payload: 0x{payload.hex()}", invalid,
                    [SendMessage(payload), KillAfter(0.5)], ok=[], close=UTF8_CLOSE))
    return cases


# --- 7 Close handling -----------------------------------------------------------------------


def _close() -> list[Case]:
    wrong_code = PostRule.WRONG_CODE_FAILS
    clean = "Clean close with normal code."
    cases = [
        _case("7.1.1", "Send a message followed by a close frame.",
              "Echoed message followed by clean close with normal code.",
              [SendFrame(TEXT, b"Hello World!"), KillAfter(1)], ok=[message(b"Hello World!")],
              post=wrong_code),
        _case("7.1.2", "Send two close frames.", "Clean close with normal code. Second close "
              "frame ignored.", [SendClose(1000), SendFrame(CLOSE), KillAfter(1)], ok=[],
              post=wrong_code, suppress_close=True),
        _case("7.1.3", "Send a ping after close message.", "Clean close with normal code, no "
              "pong.", [SendClose(1000), SendFrame(PING), KillAfter(1)], ok=[],
              post=wrong_code, suppress_close=True),
        _case("7.1.4", "Send text message after sending a close frame.", clean + " Text "
              "message ignored.", [SendClose(1000), SendFrame(TEXT, b"Hello World!"),
                                   KillAfter(1)], ok=[], post=wrong_code, suppress_close=True),
        _case("7.1.5", "Send message fragment1 followed by close then fragment.", clean,
              [SendFrame(TEXT, b"fragment1", fin=False), SendClose(1000),
               SendFrame(CONTINUATION, b"fragment2"), KillAfter(1)], ok=[],
              post=wrong_code, suppress_close=True),
        _case("7.1.6", "Send 256K message followed by close then a ping.",
              "Case outcome depends on implementation defined close behavior. Message and "
              "close frame are sent back to back. If the close frame is processed before the "
              "text message write is complete (as can happen in asynchronous processing "
              "models) the close frame is processed first and the text message may not be "
              "received or may only be partially received.",
              [SendFrame(TEXT, b"BAsd7&jh23", payload_len=256 * 1024),
               SendFrame(TEXT, b"Hello World!"), SendClose(1000), SendFrame(PING),
               KillAfter(1)],
              ok=[message(b"Hello World!")], non_strict=[], suppress_close=True,
              post=PostRule.INFORMATIONAL_ORDER),
    ]
    bodies: list[tuple[str, str, str, int | None, bytes, CloseExpectation]] = [
        ("7.3.1", "Send a close frame with payload length 0 (no close code, no close reason).",
         clean, None, b"", NORMAL_CLOSE),
        ("7.3.2", "Send a close frame with payload length 1.",
         "Clean close with protocol error or drop TCP.", None, b"a",
         CloseExpectation(True, (1002,), False)),
        ("7.3.3", "Send a close frame with payload length 2 (regular close with a code).",
         clean, 1000, b"", NORMAL_CLOSE),
        ("7.3.4", "Send a close frame with close code and close reason.", clean, 1000,
         b"Hello World!", NORMAL_CLOSE),
        ("7.3.5", "Send a close frame with close code and close reason of maximum length "
         "(123).", clean, 1000, b"*" * 123, NORMAL_CLOSE),
        ("7.3.6", "Send a close frame with close code and close reason which is too long "
         "(124) - total frame payload 126 octets.",
         "Clean close with protocol error code or dropped TCP connection.", 1000, b"*" * 124,
         CloseExpectation(True, (1002,), False)),
        ("7.5.1", "Send a close frame with invalid UTF8 payload.",
         "Clean close with protocol error or invalid utf8 code or dropped TCP.", 1000,
         KAPPA + b"\xed\xa0\x80edited", CloseExpectation(True, (1002, 1007), False)),
    ]
    for case_id, description, expectation, code, reason, expected in bodies:
        cases.append(_case(case_id, description, expectation,
                           [SendClose(code, reason), KillAfter(1)], ok=[], close=expected,
                           post=wrong_code, suppress_close=True))
    valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]
    for index, code in enumerate(valid, 1):
        cases.append(_case(f"7.7.{index}", f"Send close with valid close code {code}.",
                           "Clean close with normal or echoed code.",
                           [SendClose(code), KillAfter(1)], ok=[],
                           close=CloseExpectation(True, (1000, code), True), post=wrong_code))
    invalid = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999]
    for index, code in enumerate(invalid, 1):
        cases.append(_case(f"7.9.{index}", f"Send close with invalid close code {code}.",
                           "Clean close with protocol error code or drop TCP.",
                           [SendClose(code), KillAfter(1)], ok=[],
                           close=CloseExpectation(True, (1002,), False), post=wrong_code))
    for index, code in enumerate((5000, 65535), 1):
        cases.append(_case(f"7.13.{index}", f"Send close with close code {code}.",
                           "Actual events are undefined by the spec.",
                           [SendClose(code), KillAfter(1)], ok=[],
                           close=CloseExpectation(True, (1000, code, 1002), False),
                           suppress_close=True, post=PostRule.INFORMATIONAL))
    return cases


# --- 10 Misc ----------------------------------------------------------------------------------


def _misc() -> list[Case]:
    payload = b"*" * 65536
    return [_case("10.1.1", "Send text message with payload of length 65536 auto-fragmented "
                  "with autoFragmentSize = 1300.",
                  "Receive echo'ed text message (with payload as sent and transmitted frame "
                  "counts as expected). Clean close with normal code.",
                  [SendMessage(payload), KillAfter(10)], ok=[message(payload)],
                  auto_fragment=1300, post=PostRule.FRAME_COUNT)]


@functools.cache
def all_cases(performance: bool = False) -> tuple[Case, ...]:
    """Every case in Autobahn's order. Category 9 and Autobahn's full message counts in
    12/13 only with ``performance``."""
    cases = [*_framing(), *_pings(), *_reserved_bits(), *_opcodes(), *_fragmentation(),
             *_utf8(), *_close()]
    if performance:
        cases += performance_cases()
    cases += _misc()
    cases += deflate_cases(performance)
    return tuple(cases)
