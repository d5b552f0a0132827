"""Runs one Autobahn case against a server: the fuzzing client, in our words.

The client behaves as Autobahn's fuzzing client does (AutobahnPython's WebSocket client
protocol with ``failByDrop`` off, as the testsuite configures it for spec conformance):

* it opens the connection (:mod:`conformance.autobahn.handshake`);
* it plays the case's script (:mod:`conformance.autobahn.model` actions), coalescing
  plain frames written in one go into one TCP write and giving ``sync`` frames and chops
  writes of their own;
* meanwhile it reads every frame the server sends: data messages are reassembled
  (decompressed when deflate is in effect, text checked as UTF-8), pings are answered
  with pongs, and messages, pings and pongs are recorded as events; after each event,
  once the events match the case's expectation, it starts the closing handshake with the
  case's close code (Autobahn's ``finishWhenDone``);
* it answers a server's close frame with a close 1000 and then waits for the server to
  drop TCP; when it started the closing handshake itself, it waits for the server's close
  and then for the drop; a server that does not in time is dropped (``droppedByMe``);
* timers: ``KillAfter`` fails the connection (a 1001 close while open, a TCP drop while
  closing), ``CloseAfter`` starts an empty close, ``Pause`` resumes the script.

What the server sends is checked as a client must (RFC 6455 §5: unmasked frames, RSV
bits only for a negotiated extension, control frames short and whole, no frame after its
close, valid close codes and UTF-8 close reasons, text messages valid UTF-8). A breach is
recorded as a violation, which fails the behaviour, and the client fails the connection
as Autobahn's would (a close 1002/1007 while open, a drop while closing).

Waits are Autobahn's, shortened where only a bound changes (:class:`Timing`, in
:mod:`conformance.autobahn.run` with :class:`CaseRun`, the result; both importable from
here). The wire log (:mod:`conformance.autobahn.wirelog`) is a failure's evidence.
"""

from __future__ import annotations

import os
import struct
import time
from collections import deque

from conformance.autobahn.deflate import DeflateError, DeflateSession
from conformance.autobahn.handshake import HandshakeFailed, open_handshake
from conformance.autobahn.judge import Observation, judge
from conformance.autobahn.model import (
    Action,
    BeginFrame,
    Behavior,
    Case,
    CloseAfter,
    EchoLoop,
    Event,
    FrameData,
    KillAfter,
    Pause,
    SendClose,
    SendFrame,
    SendMessage,
)
from conformance.autobahn.run import CaseRun, Timing
from conformance.autobahn.wirelog import WireLog, describe
from conformance.rawws import (
    BINARY,
    CLOSE,
    CONTINUATION,
    PING,
    PONG,
    TEXT,
    Frame,
    MalformedFrame,
    RawWebSocket,
    encode_frame,
)
from conformance.verdicts import NoResponse

__all__ = ["CaseRun", "Timing", "run_case"]

ALLOWED_CLOSE_CODES = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011})
"""Codes below 3000 an endpoint may send (RFC 6455 §7.4.1); 3000-4999 are also allowed,
everything else (0-999, 1004-1006, 1012-2999 unregistered here, 5000+) is not. Autobahn's
client uses this set; 1012-1014, registered after RFC 6455, it also refuses."""

SYNC_GAP = 0.0001
"""The breath between writes that must not coalesce (Autobahn re-enters its reactor,
reading what arrived meanwhile)."""


def run_case(case: Case, host: str, port: int, timing: Timing | None = None) -> CaseRun:
    """Run ``case`` against the server at ``host:port`` and judge it."""
    return _Client(case, host, port, timing or Timing()).run()


class _Client:
    def __init__(self, case: Case, host: str, port: int, timing: Timing) -> None:
        self.case = case
        self.host = host
        self.port = port
        self.timing = timing
        self.seen = Observation()
        self.facts = self.seen.close
        self.state = "CONNECTING"
        self.conn: RawWebSocket | None = None
        self.log = WireLog()
        self.timers: dict[str, float] = {}
        self.script: deque[Action] = deque(case.actions)
        self.resume_tag: str | None = None
        self.pending = bytearray()
        self.got_close = False
        self.message_opcode: int | None = None
        self.message_compressed = False
        self.message_parts: list[bytes] = []
        self.frame_key = b""
        self.frame_offset = 0
        self.deflate: DeflateSession | None = None
        self.echo_index = 0
        self.echo_expected = b""
        self.agent = ""
        self.t_open = 0.0

    # --- the run ------------------------------------------------------------------------

    def run(self) -> CaseRun:
        try:
            self._open()
            if self.state == "OPEN":
                self._on_open()
                self._loop()
        finally:
            if self.conn is not None:
                self.conn.close()
        duration = 0
        if self.facts.was_open:
            duration = round((time.monotonic() - self.t_open) * 1000)
        outcome = judge(self.case, self.seen)
        return CaseRun(self.case, outcome, self.seen, duration, self.log.lines(), self.agent)

    def _open(self) -> None:
        case = self.case
        io = self.timing.io * (6 if case.performance else 1)
        conn = RawWebSocket(self.host, self.port, timeout=io,
                            allow_extensions=bool(case.deflate))
        self.conn = conn
        try:
            opened = open_handshake(conn, case, self.timing.handshake, self.log)
        except HandshakeFailed as exc:
            self.seen.handshake_error = str(exc)
            self.log(f"opening handshake failed: {exc}")
            self.state = "CLOSED"
            return
        self.agent, agreement = opened.agent, opened.agreement
        if agreement is not None:
            self.deflate = DeflateSession(agreement)
            self.seen.deflate = agreement.response
            self.log(f"RX 101, permessage-deflate agreed: {agreement.response}")
        else:
            self.log("RX 101" + (" (permessage-deflate not accepted)" if case.deflate else ""))
        self.state = "OPEN"
        self.facts.was_open = True
        self.t_open = time.monotonic()

    def _on_open(self) -> None:
        echo = self.case.echo
        if echo is not None:
            if self.case.deflate and self.deflate is None:
                self.seen.echo_behavior = Behavior.UNIMPLEMENTED
                self.seen.echo_result = ("The server did not accept any permessage-deflate "
                                         "offer.")
                self._send_close(1000)
                self._flush()
                return
            self.seen.echo_behavior = Behavior.FAILED
            wait = min(echo.wait, self.timing.echo_cap * (5 if self.case.performance else 1))
            self.seen.echo_result = f"Case did not finish within {wait:g} seconds."
            self.timers["close_after"] = time.monotonic() + wait
            self._echo_send()
            self._flush()
            return
        self._continue_script()

    def _loop(self) -> None:
        conn = self.conn
        assert conn is not None
        hard = time.monotonic() + self.case.timeout
        while self.state != "CLOSED":
            now = time.monotonic()
            if now >= hard:
                self.log(f"case bound of {self.case.timeout:g} s reached: dropping TCP")
                self.facts.not_clean_reason = self.facts.not_clean_reason or "case bound reached"
                self._drop()
                break
            due = sorted((t, name) for name, t in self.timers.items() if t <= now)
            if due:
                for _, name in due:
                    if self.state == "CLOSED":
                        break
                    if self.timers.pop(name, None) is not None:
                        self._fire(name)
                self._flush()
                continue
            wait = min([hard, *self.timers.values()]) - now
            try:
                frame = conn.read_frame(timeout=max(wait, 0.0))
            except NoResponse:
                continue
            except MalformedFrame as exc:
                self._violation(str(exc), 1002)
                self._flush()
                continue
            if frame is None:
                self._tcp_closed()
                break
            self._on_frame(frame)
            self._flush()

    # --- sending --------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        """Write now (after anything pending), as its own TCP write."""
        self._flush()
        if self.state != "CLOSED" and data:
            self._send(data)

    def _send(self, data: bytes) -> None:
        assert self.conn is not None
        try:
            self.conn.send(data)
        except NoResponse as exc:
            self.seen.violations.append(f"the server stopped reading: {exc}")
            self.log(f"send stalled: {exc}; dropping TCP")
            self._drop()

    def _flush(self) -> None:
        if self.pending and self.state != "CLOSED":
            data = bytes(self.pending)
            self.pending.clear()
            self._send(data)
        self.pending.clear()

    def _frame(self, opcode: int, payload: bytes = b"", *, fin: bool = True, rsv: int = 0,
               chopsize: int | None = None, sync: bool = False, note: str = "") -> None:
        data = encode_frame(opcode, payload, fin=fin, rsv=rsv)
        self.seen.tx_frames[opcode] = self.seen.tx_frames.get(opcode, 0) + 1
        extra = f" [chops of {chopsize}]" if chopsize else (" [sync]" if sync else "")
        self.log(f"TX {describe(opcode, payload, fin, rsv)}{extra}{note}")
        if chopsize:
            self._flush()
            for start in range(0, len(data), chopsize):
                if self.state == "CLOSED":
                    return
                self._send(data[start:start + chopsize])
                self._poll(SYNC_GAP)
        elif sync:
            self._write(data)
            self._poll(SYNC_GAP)
        else:
            self.pending += data

    def _poll(self, wait: float) -> None:
        """Read what the server sent meanwhile, as a reactor does between queued writes:
        a server that fails the connection halfway through our chops is heard before
        our further writes make its kernel reset the connection. Replies go to the
        pending buffer, so they never land inside a frame being chopped."""
        assert self.conn is not None
        time.sleep(wait)
        while self.state != "CLOSED" and self.conn.readable():
            try:
                frame = self.conn.read_frame(timeout=0.001)
            except NoResponse:
                return  # only part of a frame so far
            except MalformedFrame as exc:
                self._violation(str(exc), 1002)
                continue
            if frame is None:
                self._tcp_closed()
                return
            self._on_frame(frame)

    def _send_message(self, payload: bytes, binary: bool, fragment_size: int | None) -> None:
        opcode = BINARY if binary else TEXT
        data, rsv, note = payload, 0, ""
        if self.deflate is not None:
            data, rsv = self.deflate.compress(payload), 4
            note = f" (deflated from {len(payload)} bytes)"
        size = fragment_size or self.case.auto_fragment
        if not size or len(data) <= size:
            self._frame(opcode, data, rsv=rsv, note=note)
            return
        chunks = [data[i:i + size] for i in range(0, len(data), size)]
        for index, chunk in enumerate(chunks):
            self._frame(opcode if index == 0 else CONTINUATION, chunk,
                        fin=index == len(chunks) - 1, rsv=rsv if index == 0 else 0,
                        note=note if index == 0 else "")

    def _send_close(self, code: int | None, reason: bytes = b"", *, reply: bool = False) -> None:
        """Autobahn's sendCloseFrame: only while OPEN; enters CLOSING."""
        if self.state != "OPEN":
            return
        payload = (b"" if code is None else struct.pack("!H", code)) + reason
        self._frame(CLOSE, payload)
        self.state = "CLOSING"
        self.facts.closed_by_me = not reply
        self.facts.local_close_code = code
        if not reply:
            self.timers["close_handshake"] = time.monotonic() + self.timing.close_handshake

    def _drop(self) -> None:
        """Drop TCP ourselves (Autobahn's dropConnection)."""
        if self.state == "CLOSED":
            return
        self.pending.clear()
        self.facts.dropped_by_me = True
        self.state = "CLOSED"
        self.log("TCP dropped by the client")
        assert self.conn is not None
        self.conn.close()

    # --- the script -------------------------------------------------------------------------

    def _continue_script(self) -> None:
        while self.script and self.state != "CLOSED":
            action = self.script.popleft()
            if isinstance(action, Pause):
                self._flush()
                self.resume_tag = action.tag
                self.timers["resume"] = time.monotonic() + self.timing.pause_for(action.delay)
                self.log(f"pause {self.timing.pause_for(action.delay):g} s"
                         + (f" (then timeout {action.tag})" if action.tag else ""))
                return
            self._act(action)
        self._flush()

    def _act(self, action: Action) -> None:
        if isinstance(action, SendFrame):
            self._frame(action.opcode, action.data(), fin=action.fin, rsv=action.rsv,
                        chopsize=action.chopsize, sync=action.sync)
        elif isinstance(action, SendMessage):
            self._send_message(action.payload, action.binary, action.fragment_size)
        elif isinstance(action, SendClose):
            self._send_close(action.code, action.reason)
        elif isinstance(action, BeginFrame):
            self.frame_key = os.urandom(4)
            self.frame_offset = 0
            head = encode_frame(action.opcode, b"\x00" * action.length, fin=action.fin,
                                key=self.frame_key)[:-action.length or None]
            self.seen.tx_frames[action.opcode] = self.seen.tx_frames.get(action.opcode, 0) + 1
            self.log(f"TX frame head {'FIN ' if action.fin else ''}op={action.opcode:#x} "
                     f"announcing {action.length} bytes")
            self._write(head)
        elif isinstance(action, FrameData):
            offset = self.frame_offset
            key = (self.frame_key * ((offset + len(action.data)) // 4 + 2))[offset:]
            masked = bytes(b ^ k for b, k in zip(action.data, key, strict=False))
            self.frame_offset += len(action.data)
            self.log(f"TX frame data {action.data!r}")
            self._write(masked)
        elif isinstance(action, KillAfter):
            self.timers["kill"] = time.monotonic() + self.timing.timer(action.delay)
        elif isinstance(action, CloseAfter):
            self.timers["close_after"] = time.monotonic() + self.timing.timer(action.delay)

    def _fire(self, name: str) -> None:
        if name == "resume":
            tag = self.resume_tag
            if tag:
                if self.state != "OPEN":
                    self.log(f"pause over, connection no longer open: script stops ({tag})")
                    self.script.clear()
                    return
                self._record(Event("timeout", tag=tag), finish=False)
            self._continue_script()
        elif name == "kill":
            self.log("killAfter fired")
            self.facts.failed_by_me = True
            if self.state == "OPEN":
                self._send_close(1001, b"Going Away")
            else:
                self._drop()
        elif name == "close_after":
            self.log("closeAfter fired")
            self._send_close(None)
        elif name == "close_handshake":
            self.log("no close frame from the server in time: dropping TCP")
            self.facts.was_clean = False
            self.facts.not_clean_reason = "peer did not respond (in time) in closing handshake"
            self._drop()
        elif name == "server_drop":
            self.log("the server did not drop TCP after the closing handshake: dropping it")
            if self.facts.closed_by_me:
                self.facts.was_clean = False
                self.facts.not_clean_reason = "server did not drop TCP connection (in time)"
            self._drop()

    # --- receiving ---------------------------------------------------------------------------

    def _record(self, event: Event, finish: bool = True) -> None:
        self.seen.received.append(event)
        if finish:
            self._finish_when_done()

    def _finish_when_done(self) -> None:
        """Autobahn's finishWhenDone: close once the events match every expectation."""
        case = self.case
        if case.echo is not None:
            return
        if any(self.seen.received != list(events) for _, events in case.outcomes):
            return
        if case.close.closed_by_me and not case.suppress_close:
            self._send_close(case.close.codes[0])

    def _violation(self, what: str, code: int) -> None:
        """The server broke a rule: fail the connection as Autobahn's client does."""
        self.seen.violations.append(what)
        self.log(f"violation: {what}")
        self.facts.failed_by_me = True
        if self.state == "OPEN":
            self._send_close(code)
        else:
            self._drop()

    def _on_frame(self, frame: Frame) -> None:
        self.log(f"RX {describe(frame.opcode, frame.payload, frame.fin, frame.rsv)}")
        if self.got_close:
            self._violation(f"a frame after the server's close frame: {frame!r} (§5.5.1)", 1002)
            return
        if frame.opcode in (CLOSE, PING, PONG):
            if frame.rsv:
                self._violation(f"RSV bits on a control frame: {frame!r} (RFC 7692 §6)", 1002)
                return
            if frame.opcode == PING:
                self._record(Event("ping", frame.payload), finish=False)
                if self.state == "OPEN":
                    self._frame(PONG, frame.payload)
                self._finish_when_done()
            elif frame.opcode == PONG:
                self._record(Event("pong", frame.payload))
            else:
                self._on_close(frame)
            return
        self._on_data(frame)

    def _on_data(self, frame: Frame) -> None:
        if frame.opcode == CONTINUATION:
            if self.message_opcode is None:
                self._violation("a continuation frame with no message to continue (§5.4)", 1002)
                return
            if frame.rsv:
                self._violation(f"RSV1 on a continuation frame: {frame!r} (RFC 7692 §6)", 1002)
                return
        else:
            if self.message_opcode is not None:
                self._violation("a new data frame inside a fragmented message (§5.4)", 1002)
                return
            self.message_opcode = frame.opcode
            self.message_compressed = bool(frame.rsv & 4)
            if self.message_compressed and self.deflate is None:
                self._violation(f"RSV1 without permessage-deflate: {frame!r} (§5.2)", 1002)
                return
        self.message_parts.append(frame.payload)
        if not frame.fin:
            return
        opcode, data = self.message_opcode, b"".join(self.message_parts)
        compressed = self.message_compressed
        self.message_opcode, self.message_parts, self.message_compressed = None, [], False
        if compressed:
            assert self.deflate is not None
            try:
                data = self.deflate.decompress(data)
            except DeflateError as exc:
                self._violation(str(exc), 1002)
                return
        binary = opcode == BINARY
        if not binary:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as exc:
                self._violation(f"a text message that is not UTF-8 ({exc}) (§8.1)", 1007)
                return
        if self.case.echo is not None:
            self._record(Event("message", b"" if len(data) > 4096 else data, binary),
                         finish=False)
            self._echo_received(data, binary)
        else:
            self._record(Event("message", data, binary))

    def _on_close(self, frame: Frame) -> None:
        payload = frame.payload
        self.got_close = True
        if len(payload) == 1:
            self._violation("a close frame with a 1-byte body (§5.5.1)", 1002)
            return
        code = frame.close_code
        if code is not None and not (code in ALLOWED_CLOSE_CODES or 3000 <= code <= 4999):
            self._violation(f"close code {code}, which may not be sent (§7.4)", 1002)
            return
        try:
            frame.close_reason.decode("utf-8")
        except UnicodeDecodeError:
            self._violation("a close reason that is not UTF-8 (§5.5.1)", 1007)
            return
        self.facts.remote_close_code = code
        self.facts.remote_close_reason = frame.close_reason
        self.facts.was_clean = True
        if self.state == "CLOSING":
            self.timers.pop("close_handshake", None)
        elif self.state == "OPEN":
            self._send_close(1000, reply=True)
        self.timers["server_drop"] = time.monotonic() + self.timing.server_drop

    def _tcp_closed(self) -> None:
        assert self.conn is not None
        how = self.conn.peer_closed or "closed"
        self.log(f"TCP {how} by the server")
        if self.state == "OPEN":
            self.facts.was_clean = False
            self.facts.not_clean_reason = ("peer dropped the TCP connection without previous "
                                           "WebSocket closing handshake")
        elif self.state == "CLOSING" and not self.got_close:
            self.facts.was_clean = False
            self.facts.not_clean_reason = ("peer dropped the TCP connection without "
                                           "answering the close frame")
        self.state = "CLOSED"

    # --- echo loops (categories 9, 12, 13) ------------------------------------------------------

    def _echo_send(self) -> None:
        echo = self.case.echo
        assert echo is not None
        payload = echo.payload(self.echo_index)
        self.echo_index += 1
        self.echo_expected = payload
        if echo.frame:
            self._frame(BINARY if echo.binary else TEXT, payload, chopsize=echo.chopsize)
        else:
            self._send_message(payload, echo.binary, echo.fragment_size)

    def _echo_received(self, data: bytes, binary: bool) -> None:
        echo: EchoLoop | None = self.case.echo
        assert echo is not None
        kind = "binary" if echo.binary else "text"
        problem = echo.mismatch(self.echo_expected, data, binary)
        if problem:
            self.seen.echo_behavior = Behavior.FAILED
            self.seen.echo_result = f"Message {self.echo_index} of {echo.count}: {problem}"
            self._send_close(1000)
        elif self.echo_index < echo.count:
            self._echo_send()
        else:
            self.seen.echo_behavior = Behavior.OK
            self.seen.echo_result = (f"Ok, received all {echo.count} echo'ed {kind} messages "
                                     f"in time.")
            self._send_close(1000)
