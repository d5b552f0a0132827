"""The client's wire log: what it sent and received, with times, as a failure's evidence.

A case can exchange thousands of frames (the echo loops); the log keeps the first
:data:`HEAD` and the last :data:`TAIL` entries and says how many it left out between.
"""

from __future__ import annotations

import time
from collections import deque

__all__ = ["HEAD", "TAIL", "WireLog", "describe"]

HEAD = 60
TAIL = 25


def describe(opcode: int, payload: bytes, fin: bool, rsv: int) -> str:
    """One frame in a line: flags, opcode and the start of its payload."""
    shown = repr(payload[:32]) + (f"…[{len(payload)} bytes]" if len(payload) > 32 else "")
    flags = ("FIN " if fin else "") + (f"RSV={rsv} " if rsv else "")
    return f"{flags}op={opcode:#x} {shown}"


class WireLog:
    """Time-stamped entries (ms since the log was made), head and tail kept."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self._head: list[str] = []
        self._tail: deque[str] = deque(maxlen=TAIL)
        self._count = 0

    def __call__(self, text: str) -> None:
        stamp = f"{(time.monotonic() - self.t0) * 1000:7.1f}ms {text}"
        self._count += 1
        if len(self._head) < HEAD:
            self._head.append(stamp)
        else:
            self._tail.append(stamp)

    def lines(self) -> list[str]:
        """The kept entries, with a line saying how many were left out."""
        skipped = self._count - len(self._head) - len(self._tail)
        middle = [f"... [{skipped} wire events not shown]"] if skipped > 0 else []
        return self._head + middle + list(self._tail)
