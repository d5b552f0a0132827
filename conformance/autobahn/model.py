"""The vocabulary of an Autobahn case: verdict levels, observed events, client actions.

Autobahn|Testsuite describes each fuzzing-client case as *what the client does* (a
script of frames, pauses and timers run once the opening handshake is done) and *what it
expects* (one or more acceptable sequences of events, each labelled with the verdict it
earns, and how the connection must end). This module holds those pieces as plain,
immutable data; :mod:`conformance.autobahn.engine` runs them and
:mod:`conformance.autobahn.judge` turns what was observed into Autobahn's two verdicts.

The names follow Autobahn's report vocabulary so results compare case by case with
Autobahn's own ``index.json``: ``behavior`` (did the peer do what the case expects) and
``behaviorClose`` (did the connection end the way RFC 6455 §7 wants).
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "Action",
    "BeginFrame",
    "Behavior",
    "Case",
    "CloseAfter",
    "CloseExpectation",
    "DeflateOffer",
    "EchoLoop",
    "Event",
    "FrameData",
    "KillAfter",
    "Pause",
    "PostRule",
    "SendClose",
    "SendFrame",
    "SendMessage",
    "message",
    "ping",
    "pong",
    "requirement_id",
    "timeout",
]


class Behavior(enum.StrEnum):
    """Autobahn's verdict strings, exactly as its reports spell them."""

    OK = "OK"
    NON_STRICT = "NON-STRICT"
    INFORMATIONAL = "INFORMATIONAL"
    UNIMPLEMENTED = "UNIMPLEMENTED"
    FAILED = "FAILED"
    # close-only levels (behaviorClose)
    WRONG_CODE = "WRONG CODE"
    UNCLEAN = "UNCLEAN"
    FAILED_BY_CLIENT = "FAILED BY CLIENT"


# --- events the client observes ------------------------------------------------------------

EventKind = Literal["message", "ping", "pong", "timeout"]


@dataclass(frozen=True)
class Event:
    """One thing the client saw, as Autobahn records it: a complete data message (with
    its type), a ping, a pong, or a ``timeout`` marker a paused script leaves behind when
    the connection was still open at the end of the pause."""

    kind: EventKind
    payload: bytes = b""
    binary: bool = False
    tag: str = ""

    def render(self, limit: int = 40) -> str:
        if self.kind == "timeout":
            return f"(timeout {self.tag})"
        data = self.payload
        shown = repr(data[:limit]) + (f"…[{len(data)} bytes]" if len(data) > limit else "")
        if self.kind == "message":
            return f"({'binary' if self.binary else 'text'} message {shown})"
        return f"({self.kind} {shown})"


def message(payload: bytes | str, binary: bool = False) -> Event:
    data = payload.encode() if isinstance(payload, str) else payload
    return Event("message", data, binary)


def ping(payload: bytes | str = b"") -> Event:
    return Event("ping", payload.encode() if isinstance(payload, str) else payload)


def pong(payload: bytes | str = b"") -> Event:
    return Event("pong", payload.encode() if isinstance(payload, str) else payload)


def timeout(tag: str) -> Event:
    return Event("timeout", tag=tag)


# --- client actions ------------------------------------------------------------------------


@dataclass(frozen=True)
class SendFrame:
    """Send one frame exactly as described (Autobahn's ``sendFrame``).

    ``payload_len`` repeats ``payload`` up to that many bytes (Autobahn's way of making
    large frames from a short pattern). ``chopsize`` writes the frame's octets in chops of
    that size, each its own TCP write; ``sync`` writes the frame on its own, apart from
    what comes before and after. Frames with neither are coalesced with their neighbours
    into one write, as a reactor writing in one turn does."""

    opcode: int
    payload: bytes = b""
    fin: bool = True
    rsv: int = 0
    payload_len: int | None = None
    chopsize: int | None = None
    sync: bool = False

    def data(self) -> bytes:
        if self.payload_len is None:
            return self.payload
        if not self.payload:
            return b"\x00" * self.payload_len
        repeat = self.payload_len // len(self.payload) + 1
        return (self.payload * repeat)[:self.payload_len]


@dataclass(frozen=True)
class SendMessage:
    """Send a whole data message (Autobahn's ``sendMessage``): one frame, or frames of
    ``fragment_size`` octets (the first text/binary, the rest continuations, FIN on the
    last). Compressed when permessage-deflate is in effect."""

    payload: bytes
    binary: bool = False
    fragment_size: int | None = None


@dataclass(frozen=True)
class BeginFrame:
    """Start one frame announcing ``length`` payload octets whose data follows in pieces
    (:class:`FrameData`), with pauses in between (Autobahn's ``beginMessageFrame``)."""

    opcode: int
    length: int
    fin: bool = False


@dataclass(frozen=True)
class FrameData:
    """The next piece of the frame begun by :class:`BeginFrame` (masked in place)."""

    data: bytes


@dataclass(frozen=True)
class SendClose:
    """Start the closing handshake (Autobahn's ``sendClose``/``sendCloseFrame``): send a
    close frame whose body is the code (none: no code) followed by ``reason``, and enter
    CLOSING. Nothing is checked, so invalid codes and bodies can be sent on purpose."""

    code: int | None = None
    reason: bytes = b""


@dataclass(frozen=True)
class Pause:
    """Let ``delay`` seconds pass while frames keep being received (``continueLater``).
    With a ``tag``, the script continues only if the connection is still OPEN, and then
    records the event ``(timeout tag)`` first, the way Autobahn's 6.4 cases do; without
    a tag it continues unless the connection is gone."""

    delay: float
    tag: str = ""


@dataclass(frozen=True)
class KillAfter:
    """After ``delay`` s, fail the connection if it is still there (``killAfter``): while
    OPEN, start a closing handshake with 1001; while CLOSING, drop TCP."""

    delay: float


@dataclass(frozen=True)
class CloseAfter:
    """After ``delay`` s, start the closing handshake (empty close) if still OPEN
    (``closeAfter``)."""

    delay: float


Action = SendFrame | SendMessage | BeginFrame | FrameData | SendClose | Pause | KillAfter | \
    CloseAfter


# --- expectations --------------------------------------------------------------------------


@dataclass(frozen=True)
class CloseExpectation:
    """How the connection must end (Autobahn's ``expectedClose``).

    ``closed_by_me``: whether the client (True) or the server (False) must send the first
    close frame. ``codes``: close codes the server's close frame may carry (an empty close
    body is always acceptable); the first is what the client closes with when the case
    completes. ``require_clean``: whether the full closing handshake must have happened
    with the server dropping TCP. ``wrong_endpoint_fatal``: the UTF-8 cases make a close
    by the wrong endpoint fail the behaviour too (the server then never noticed the bad
    text)."""

    closed_by_me: bool
    codes: tuple[int, ...]
    require_clean: bool
    wrong_endpoint_fatal: bool = False


NORMAL_CLOSE = CloseExpectation(True, (1000,), True)
"""The client closes with 1000 once the expected events have arrived; cleanly."""
PROTOCOL_ERROR_CLOSE = CloseExpectation(False, (1002,), False)
"""The server must fail the connection (1002, or just drop TCP)."""


class PostRule(enum.Enum):
    """Case-specific adjustments Autobahn makes after its common judging."""

    NONE = "none"
    WRONG_CODE_FAILS = "wrong-code-fails"
    """Category 7: a wrong close code makes the behaviour FAILED, too."""
    INFORMATIONAL_ORDER = "informational-order"
    """7.1.6: both verdicts INFORMATIONAL; the message says whether the text message was
    echoed before the close was processed."""
    INFORMATIONAL = "informational"
    """7.13: what happens is undefined by the spec; both verdicts INFORMATIONAL."""
    FRAME_COUNT = "frame-count"
    """10.1.1: the client's own fragmentation is checked (a harness self-check)."""


@dataclass(frozen=True)
class DeflateOffer:
    """One permessage-deflate offer as Autobahn's ``PerMessageDeflateOffer`` makes it:
    always ``client_no_context_takeover`` and ``client_max_window_bits`` (we accept the
    server asking for either), plus what we request of the server."""

    request_no_context_takeover: bool = False
    request_max_window_bits: int = 0

    def header_value(self) -> str:
        parts = ["permessage-deflate", "client_no_context_takeover", "client_max_window_bits"]
        if self.request_no_context_takeover:
            parts.append("server_no_context_takeover")
        if self.request_max_window_bits:
            parts.append(f"server_max_window_bits={self.request_max_window_bits}")
        return "; ".join(parts)


@dataclass(frozen=True)
class EchoLoop:
    """Categories 9, 12 and 13: send ``count`` messages one at a time, each only after
    the echo of the previous one came back intact, then close normally. The behaviour is
    OK when all echoes arrived within ``wait`` seconds, FAILED at the first wrong echo or
    when time runs out.

    ``payload(i)`` is the i-th message. ``frame`` sends each as one raw frame (chopped in
    ``chopsize`` writes when set); otherwise as a message fragmented in
    ``fragment_size`` frames (``auto_fragment`` for compressed messages: the size of the
    frames the compressed payload is cut into)."""

    count: int
    payload: Callable[[int], bytes]
    binary: bool
    wait: float
    frame: bool = False
    chopsize: int | None = None
    fragment_size: int | None = None
    auto_fragment: int = 0
    text_length: int | None = None
    """For text corpora: the expected length in characters (Autobahn checks length)."""
    full_count: int = 0
    """Autobahn's own count when ``count`` was reduced for the default run."""

    def mismatch(self, expected: bytes, data: bytes, binary: bool) -> str:
        """What is wrong with the echo ``data`` of the message ``expected``, in
        Autobahn's words (type, then length, then content); empty when it is right."""
        want_len = len(expected) if self.binary or self.text_length is None \
            else self.text_length
        got_len = len(data) if binary or self.text_length is None else len(
            data.decode("utf-8", "replace"))
        if binary != self.binary:
            return (f"Echo'ed message type differs from what I sent (got binary {binary}, "
                    f"expected binary {self.binary}).")
        if got_len != want_len:
            return (f"Echo'ed message length differs from what I sent (got length "
                    f"{got_len}, expected length {want_len}).")
        if data != expected:
            return (f"Echo'ed message contents differs from what I sent (got SHA1 "
                    f"{hashlib.sha1(data).hexdigest()}, expected SHA1 "
                    f"{hashlib.sha1(expected).hexdigest()}).")
        return ""


@dataclass(frozen=True)
class Case:
    """One Autobahn case, ready to run."""

    id: str
    requirement: str
    description: str
    expectation: str
    actions: tuple[Action, ...] = ()
    outcomes: tuple[tuple[Behavior, tuple[Event, ...]], ...] = ()
    """The acceptable event sequences in Autobahn's order (OK first, then NON-STRICT)."""
    close: CloseExpectation = NORMAL_CLOSE
    suppress_close: bool = False
    """The case sends its own close frames: the client does not close on completion."""
    post: PostRule = PostRule.NONE
    echo: EchoLoop | None = None
    deflate: tuple[DeflateOffer, ...] = ()
    """permessage-deflate offers (categories 12 and 13); empty: offer nothing."""
    performance: bool = False
    """A heavy load (category 9, and 12/13 with Autobahn's full message counts), run only
    with ``--autobahn-performance``: the client's bounds are longer."""
    auto_fragment: int = 0
    """Autobahn's ``autoFragmentSize`` for :class:`SendMessage` (10.1.1)."""
    timeout: float = 20.0
    """Hard bound on the whole case, whatever the server does."""
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def category(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def timing_dependent(self) -> bool:
        """OK versus NON-STRICT is decided by a race the server does not fully control.

        These are Autobahn's "echo, then fail" cases sent in chops (3.3, 3.4, 4.1.5,
        4.2.5): the valid message and the bad frame arrive in separate TCP writes, and
        whether the app's echo leaves before the connection is failed depends on whether
        the server read the bad frame before its app task ran. A server that echoes from
        a task (every ASGI server) gets either verdict from run to run."""
        chopped = any(isinstance(action, SendFrame) and (action.chopsize or action.sync)
                      for action in self.actions)
        return chopped and any(level is Behavior.NON_STRICT for level, _ in self.outcomes)


_OWN_REQUIREMENT = {"2.10": "AB-2.10", "2.11": "AB-2.10", "7.1.6": "AB-7.1.6"}


def requirement_id(case_id: str) -> str:
    """The catalogued requirement an Autobahn case judges: ``AB-`` plus the Autobahn
    sub-category (``AB-1.1``, ``AB-6.12``), or the category where Autobahn has none
    (``AB-2``), except the cases with a requirement of their own."""
    if case_id in _OWN_REQUIREMENT:
        return _OWN_REQUIREMENT[case_id]
    parts = case_id.split(".")
    return "AB-" + (".".join(parts[:-1]) if len(parts) == 3 else parts[0])
