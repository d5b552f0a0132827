"""The machinery of the HTTP/2 denial-of-service cases (:mod:`test_h2_dos`): an attack
on one connection, a well-behaved client on another, the server's memory meanwhile, and
the judgement all of them share.

Every attack is judged on three things, in order of how bad falling short is:

1. **others are still served**: a second, well-behaved connection (the *bystander*)
   asks the probe app for a small response every :data:`BYSTANDER_INTERVAL` seconds
   while the attack runs, and once more after it; each answer must come within
   :data:`BYSTANDER_BOUND`. A server that stops serving everyone has fallen to the attack;
2. **memory stays bounded**: the resident set (``VmRSS`` in ``/proc/<pid>/status``) of
   the server process and its children (gunicorn, hypercorn and granian serve from a
   child) is sampled every :data:`SAMPLE_INTERVAL` seconds; it may grow by at most
   :data:`RSS_BOUND` over its level just before the attack;
3. **the offender is cut off**: the attacking connection gets a GOAWAY (any code;
   ENHANCE_YOUR_CALM is what RFC 9113 §10.5 suggests) or is closed within the attack
   and :data:`END_BOUND` after it. A server that survives without that is *non-strict*.

Every attack is bounded in time (:data:`ATTACK_TIME`) and bytes (:data:`MAX_BYTES`). A
server that stops reading the attacker (TCP backpressure) simply ends the attack early.

The attacking connection is driven raw: flood bytes are built in bulk and sent in large
chunks, and what the server sends back is scanned frame header by frame header
(:class:`FrameScan`) rather than parsed into frame objects, since a flood of PING ACKs
would otherwise cost the harness more than the server. :class:`Offender` reads with
:meth:`~conformance.rawhttp.RawConnection.recv_raw` and sends with ``record=False``: the
bytes of a flood stay out of the connection's transcript (the h2 evidence is the frame
log, where the flood is one summary line).
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.h2probe import H2Probe
from conformance.proctree import descendants
from conformance.rawh2 import FrameType, H2Connection, error_name
from conformance.suite._h2 import probe_request
from conformance.verdicts import NoResponse, harness_error, non_strict

MiB = 1024 * 1024

ATTACK_TIME = 2.5
"""Seconds an attack sends for (less if the server stops reading or cuts it off)."""
MAX_BYTES = 16 * MiB
"""Bytes an attack sends at most."""
CHUNK = 256 * 1024
"""Bytes per send() of a flood: large, so the client is not the bottleneck."""
END_BOUND = 1.5
"""Seconds after the attack the server gets to end the offending connection."""
BYSTANDER_BOUND = 5.0
"""Seconds a well-behaved request may take during or after an attack (generous: the
machine is shared, and a server chewing through a flood may be slow but must answer)."""
BYSTANDER_INTERVAL = 0.3
RSS_BOUND = 64 * MiB
"""Growth of the server's resident memory during one attack that counts as unbounded:
far above what a server with limits needs, far below what buffering a flood takes."""
SAMPLE_INTERVAL = 0.1
KEPT_FLOOR = 4 * MiB
"""For an attack whose bytes a vulnerable server keeps (a header block that never ends),
growth of at least this much and of half the bytes sent means the server keeps them."""
RECOVERY_BOUND = 5.0
"""Seconds a server that stopped answering gets, once the offender has left, to answer
again; past that, the harness restarts the h2 process after the case
(:attr:`~conformance.h2probe.H2Probe.recycle`), so that the next case does not judge the
aftermath of this one."""
BYSTANDER_BODY = b"still serving"


# --- the server's memory ------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """``pid`` and its live descendants (a server may serve from child processes)."""
    return [pid, *descendants(pid)]


def rss_of(pids: Iterable[int]) -> int:
    """Resident memory of ``pids`` together, in bytes (a process gone counts 0)."""
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
                break
    return total


def mib(size: float) -> str:
    return f"{size / MiB:.1f} MiB"


class MemoryWatch:
    """Samples the server's resident memory on a thread until stopped."""

    def __init__(self, pid: int) -> None:
        self.pids = process_tree(pid)
        self.before = rss_of(self.pids)
        self.peak = self.before
        self.last = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="h2dos-rss", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL):
            self.sample()

    def sample(self) -> None:
        self.last = rss_of(self.pids)
        self.peak = max(self.peak, self.last)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(1.0)
        self.sample()

    @property
    def growth(self) -> int:
        return self.peak - self.before

    def describe(self) -> str:
        who = f"{len(self.pids)} processes" if len(self.pids) > 1 else "1 process"
        return (f"server RSS ({who}) {mib(self.before)} before, peak {mib(self.peak)} "
                f"(+{mib(self.growth)}), {mib(self.last)} at the end")


# --- a well-behaved client ----------------------------------------------------------------


class Bystander:
    """A well-behaved client on its own connection: small requests to the probe app, one
    every :data:`BYSTANDER_INTERVAL` s on a thread while an attack runs, each bounded."""

    def __init__(self, h2probe: H2Probe) -> None:
        self.h2probe = h2probe
        self.conn: H2Connection | None = None
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = time.monotonic()

    def ask(self) -> str | None:
        """One request; None when it was answered correctly in time, else what happened
        (and the next request uses a new connection)."""
        started = time.monotonic()
        try:
            if self.conn is None:
                self.conn = self.h2probe.connect_h2(timeout=BYSTANDER_BOUND)
            sid = probe_request(self.h2probe, self.conn, scenario="respond",
                                args={"body": BYSTANDER_BODY, "read_body": False})
            remaining = max(0.1, started + BYSTANDER_BOUND - time.monotonic())
            response = self.conn.read_stream(sid, timeout=remaining)
            if response.status != 200 or response.body != BYSTANDER_BODY:
                error = (f"answered status {response.status}, body {response.body[:40]!r}"
                         + (f", reset {error_name(response.reset)}"
                            if response.reset is not None else ""))
            else:
                self.latencies.append(time.monotonic() - started)
                return None
        except (AssertionError, OSError) as exc:  # NoResponse, MalformedFrame, refused
            error = str(exc).split("\n", 1)[0]
        except BaseException as exc:  # e.g. the n/a of connect_h2, raised on a thread
            error = f"{type(exc).__name__}: {exc}"
        if self.conn is not None:
            self.conn.abort()
            self.conn = None
        return f"at +{started - self._t0:.1f} s: {error}"

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="h2dos-bystander",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            failure = self.ask()
            if failure:
                self.failures.append(failure)
            if self._stop.wait(BYSTANDER_INTERVAL):
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(BYSTANDER_BOUND + 2.0)

    def describe(self) -> str:
        answered = len(self.latencies)
        slowest = f", slowest {max(self.latencies):.2f} s" if self.latencies else ""
        return (f"well-behaved client: {answered} of {answered + len(self.failures)} "
                f"requests answered{slowest}")


@dataclass
class Watch:
    """The bystander and the memory sampler around one attack, and the attacking
    connection once the case has made it (:meth:`attacker`)."""

    h2probe: H2Probe
    memory: MemoryWatch
    bystander: Bystander
    offender: H2Connection | None = None
    after: str | None = None
    """What went wrong with the request after the attack, if anything."""
    recovered: float | None = None
    """When ``after`` failed: seconds until the server answered again once the offender
    had left (None: not within :data:`RECOVERY_BOUND`)."""

    @classmethod
    def begin(cls, h2probe: H2Probe) -> Watch:
        """Baseline memory, then one well-behaved request before the attack (a server
        that does not answer it cannot be judged on surviving the attack)."""
        server = h2probe.process
        if server is None or server.process is None:
            harness_error("the h2 server process is unknown: its memory cannot be read")
        memory = MemoryWatch(server.process.pid)
        bystander = Bystander(h2probe)
        failure = bystander.ask()
        if failure:
            memory.stop()
            raise AssertionError("before any attack, the server did not answer a "
                                 f"well-behaved request ({failure}): still recovering "
                                 "from an earlier case?")
        bystander.latencies.clear()
        bystander.start()
        return cls(h2probe, memory, bystander)

    def attacker(self, **options: Any) -> H2Connection:
        """The attacking connection (``connect_h2`` options), aborted when the watch
        ends."""
        self.offender = self.h2probe.connect_h2(**options)
        return self.offender

    def finish(self) -> None:
        """Stop the bystander; ask once more with the offender still connected (unless
        the server already failed to answer during the attack); abort the offender; and
        if the server is not answering, wait for it to answer again."""
        self.bystander.stop()
        if not self.bystander.failures:
            self.after = self.bystander.ask()
        self._abort()
        if self.after or self.bystander.failures:
            self.recovered = self._recover()
            self.h2probe.recycle = self.recovered is None
        self.memory.stop()

    def _recover(self) -> float | None:
        """Ask until the server answers again, within :data:`RECOVERY_BOUND`."""
        started = time.monotonic()
        while time.monotonic() - started < RECOVERY_BOUND:
            if self.bystander.ask() is None:
                return time.monotonic() - started
            time.sleep(BYSTANDER_INTERVAL)
        return None

    def abandon(self) -> None:
        """Stop everything when the case broke off."""
        self.bystander.stop()
        self._abort()
        self.memory.stop()

    def _abort(self) -> None:
        if self.offender is not None:
            self.offender.abort()

    def failures(self) -> list[str]:
        after = [f"after the attack: {self.after}"] if self.after else []
        return self.bystander.failures + after

    def describe(self) -> str:
        if self.bystander.failures:
            after = "not made"
        else:
            after = "answered" if self.after is None else f"not answered ({self.after})"
        if self.after or self.bystander.failures:
            after += (f"; once the offender had left it answered again after "
                      f"{self.recovered:.1f} s" if self.recovered is not None else
                      f"; once the offender had left it did not answer again within "
                      f"{RECOVERY_BOUND:g} s (the harness restarts it for the next case)")
        return (f"{self.bystander.describe()}, the one after the attack {after}; "
                f"{self.memory.describe()}")


# --- the attacking connection -------------------------------------------------------------


class FrameScan:
    """What the server sent on the attacking connection, by frame header: counts by type,
    the GOAWAY and the RST_STREAM codes. Fed raw bytes; payloads are skipped."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0
        self.counts: Counter[str] = Counter()
        self.resets: Counter[str] = Counter()
        self.goaway: int | None = None
        self.received = 0

    def feed(self, data: bytes) -> None:
        self.received += len(data)
        self._buf += data
        buf, pos = self._buf, self._pos
        while len(buf) - pos >= 9:
            length = int.from_bytes(buf[pos:pos + 3], "big")
            if len(buf) - pos < 9 + length:
                break
            kind = buf[pos + 3]
            payload = pos + 9
            if kind == FrameType.GOAWAY and length >= 8 and self.goaway is None:
                self.goaway = int.from_bytes(buf[payload + 4:payload + 8], "big")
            elif kind == FrameType.RST_STREAM and length >= 4:
                self.resets[error_name(int.from_bytes(buf[payload:payload + 4], "big"))] += 1
            self.counts[_type_name(kind)] += 1
            pos = payload + length
        del buf[:pos]
        self._pos = 0

    def describe(self) -> str:
        if not self.counts:
            return "the server sent nothing on it"
        parts = [f"{count} {name}" for name, count in self.counts.most_common()]
        if self.resets:
            parts.append("resets: " + ", ".join(f"{n}×{c}" for c, n in self.resets.items()))
        return "the server sent " + ", ".join(parts)


def _type_name(kind: int) -> str:
    try:
        return FrameType(kind).name
    except ValueError:
        return f"type 0x{kind:x}"


@dataclass
class Offender:
    """The attacking connection, after its handshake: bulk sends, raw scanning."""

    conn: H2Connection
    scan: FrameScan = field(default_factory=FrameScan)
    sent: int = 0
    units: int = 0
    elapsed: float = 0.0
    stopped: str = ""
    """Why the attack stopped (time, bytes, the server stopped reading, was cut off)."""
    ended_after: float | None = None
    stalled: bool = False
    """The server stopped reading (a send ran out of time)."""
    broken: str | None = None
    """How the socket failed in a way the connection does not mark as the peer's close
    (TLS: an EOF in the middle of a record, raised by send)."""

    def __post_init__(self) -> None:
        self._t0 = time.monotonic()
        # From here on the connection is read raw: what the frame parser had buffered
        # (a partial frame after the handshake) is the scan's first input. A GOAWAY the
        # parser already saw is the connection's ``goaway``.
        self.scan.feed(self.conn.take_unparsed())

    def ended(self) -> str | None:
        """How the server ended the connection so far, or None."""
        if self.scan.goaway is not None:
            return f"GOAWAY {error_name(self.scan.goaway)}"
        if self.conn.goaway is not None:
            return f"GOAWAY {error_name(self.conn.goaway.error_code)}"
        if self.conn.peer_closed:
            return f"the connection {self.conn.peer_closed}"
        return self.broken

    def _note_end(self) -> None:
        if self.ended_after is None and self.ended():
            self.ended_after = time.monotonic() - self._t0

    def send(self, data: bytes, deadline: float) -> bool:
        """Send ``data`` by ``deadline``; False when the server stopped reading (or
        went away), which ends the attack."""
        self.conn.timeout = max(0.05, deadline - time.monotonic())
        before = self.conn.bytes_sent
        try:
            self.conn.send(data, record=False)
        except NoResponse:
            self.stalled = True
            self.stopped = "the server stopped reading (TCP backpressure)"
        except OSError as exc:  # ssl.SSLEOFError and the like: the server went away
            self.broken = f"the connection closed ({type(exc).__name__})"
        self.sent += self.conn.bytes_sent - before
        self._note_end()
        return self.ended() is None and not self.stalled

    def poll(self, timeout: float = 0.0) -> None:
        """Read what the server sent within ``timeout`` (at least what is there now)."""
        deadline = time.monotonic() + max(timeout, 0.001)
        while self.conn.peer_closed is None and self.broken is None:
            try:
                data = self.conn.recv_raw(deadline, record=False)
            except OSError as exc:
                self.broken = f"the connection closed ({type(exc).__name__})"
                break
            if not data:
                break
            self.scan.feed(data)
            if self.scan.goaway is not None:
                break
            if timeout <= 0:
                deadline = time.monotonic() + 0.001
        self._note_end()

    def flood(self, chunks: Iterator[tuple[bytes, int]], *, reads: bool, what: str,
              budget: float = ATTACK_TIME, max_bytes: int = MAX_BYTES) -> None:
        """Send the chunks (bytes, units in them) until the time or byte budget is spent,
        the server stops reading or ends the connection. With ``reads`` the client reads
        between chunks (as a normal client would); without, it reads nothing, so whatever
        the server answers piles up on its side."""
        started = time.monotonic()
        deadline = started + budget
        self.stopped = f"the {budget:g} s budget was spent"
        for chunk, units in chunks:
            if self.sent >= max_bytes:
                self.stopped = f"the {mib(max_bytes)} budget was spent"
                break
            if time.monotonic() >= deadline:
                break
            if not self.send(chunk, deadline):
                break
            self.units += units
            if reads:
                self.poll()
        else:
            self.stopped = "the flood was sent whole"
        if self.ended():
            self.stopped = f"the server ended the connection ({self.ended()})"
        self.elapsed = time.monotonic() - started
        self.conn.frame_log.append(("sent", time.monotonic(), f"[flood: {self.units} {what}, "
                                    f"{mib(self.sent)} in {self.elapsed:.2f} s]"))

    def wait_end(self, bound: float = END_BOUND) -> str | None:
        """Read until the server ends the connection or ``bound`` passes."""
        deadline = time.monotonic() + bound
        while self.ended() is None and time.monotonic() < deadline:
            self.poll(deadline - time.monotonic())
        ended = self.ended()
        if ended:
            self.conn.frame_log.append(("recv", time.monotonic(), f"[{ended}]"))
        return ended

    def describe(self) -> str:
        return (f"sent {mib(self.sent)} in {self.elapsed:.2f} s ({self.stopped}); "
                f"{self.scan.describe()}")


def chunked(units: Iterable[bytes], size: int = CHUNK) -> Iterator[tuple[bytes, int]]:
    """Units of a flood joined into chunks of about ``size`` bytes, with their count."""
    parts: list[bytes] = []
    length = 0
    for unit in units:
        parts.append(unit)
        length += len(unit)
        if length >= size:
            yield b"".join(parts), len(parts)
            parts, length = [], 0
    if parts:
        yield b"".join(parts), len(parts)


def repeated(unit: bytes, size: int = CHUNK) -> Iterator[tuple[bytes, int]]:
    """The same unit over and over, as ready-made chunks (cheap for the client)."""
    count = max(1, size // len(unit))
    chunk = unit * count
    return ((chunk, count) for _ in itertools.count())


# --- judging ------------------------------------------------------------------------------


def survived(watch: Watch, attack: str, kept: int | None = None) -> None:
    """Judgements 1 and 2: others were served during and after the attack, and memory
    stayed within :data:`RSS_BOUND`. ``attack`` says what was done, for the message;
    ``kept``, when given, is the bytes sent that a vulnerable server would keep: memory
    growing with them (:data:`KEPT_FLOOR`, half of them) is unbounded too, whatever our
    byte budget stopped it at."""
    summary = f"{attack}; {watch.describe()}"
    watch.h2probe.notes.append(summary)
    failures = watch.failures()
    assert not failures, (
        f"the server stopped serving a well-behaved client ({len(failures)} requests not "
        f"answered within {BYSTANDER_BOUND:g} s; first: {failures[0]}): {summary}")
    assert watch.memory.growth <= RSS_BOUND, (
        f"the server's memory grew by {mib(watch.memory.growth)} (bound "
        f"{mib(RSS_BOUND)}): {summary}")
    if kept is not None:
        assert watch.memory.growth < max(KEPT_FLOOR, kept / 2), (
            f"the server's memory grew by {mib(watch.memory.growth)} for {mib(kept)} sent: "
            f"it keeps what it is sent, bounded only by what the attacker sends (here "
            f"{mib(kept)}): {summary}")


def cut_off(watch: Watch, offender: Offender, ended: str | None) -> None:
    """Judgement 3: the offending connection was ended (else non-strict)."""
    if ended is None:
        non_strict(f"the server survived but did not end the offending connection within "
                   f"{END_BOUND:g} s of the attack (no GOAWAY, no close): "
                   f"{offender.describe()}; {watch.describe()}")
    when = f" {offender.ended_after:.2f} s into it" if offender.ended_after is not None else ""
    bare = "" if "GOAWAY" in ended else " (without a GOAWAY)"
    watch.h2probe.notes.append(f"the offending connection was ended{when}: {ended}{bare}")


@contextlib.contextmanager
def watching(h2probe: H2Probe) -> Iterator[Watch]:
    """The bystander and the sampler for the ``with`` block (the attack); stopped, and the
    after-attack request made, when the block ends."""
    watch = Watch.begin(h2probe)
    try:
        yield watch
    except BaseException:
        watch.abandon()
        raise
    watch.finish()


def hpack_int(value: int, prefix: int, first: int = 0) -> bytes:
    """An HPACK integer (RFC 7541 §5.1) with an ``prefix``-bit prefix; ``first`` holds the
    bits above the prefix in the first byte."""
    limit = (1 << prefix) - 1
    if value < limit:
        return bytes([first | value])
    out = bytearray([first | limit])
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def never_indexed(name: bytes, value: bytes) -> bytes:
    """A literal field line never indexed, new name (RFC 7541 §6.2.3), no Huffman: it
    leaves both dynamic tables alone, so it can be repeated in any block."""
    return (hpack_int(0, 4, 0x10) + hpack_int(len(name), 7) + name
            + hpack_int(len(value), 7) + value)
