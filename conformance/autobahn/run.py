"""What one run of an Autobahn case is given and what it gives back.

:class:`Timing` bounds how long the fuzzing client (:mod:`conformance.autobahn.engine`)
waits; :class:`CaseRun` is what a run produced: the case, Autobahn's verdicts, what was
observed and the wire log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.autobahn.judge import Observation, Outcome
from conformance.autobahn.model import Case

__all__ = ["CaseRun", "Timing"]


@dataclass(frozen=True)
class Timing:
    """How long the client waits. Autobahn's own values are given in the case scripts;
    these replace them where only a bound changes, never what is judged:

    * ``reaction`` (Autobahn: ``killAfter``/``closeAfter`` of 0.5-3 s): how long a server
      gets to do what the case expects before the client acts itself. A conforming
      server answers in milliseconds, so this costs time only for servers that do not.
    * ``long_reaction`` (Autobahn: ``killAfter(10)`` after 64 KiB messages).
    * ``pause`` (Autobahn: ``continueLater(1)``, 5.19/5.20 and 6.4.x): long enough for a
      local server to answer a ping mid-message or to fail fast on bad UTF-8.
    * ``close_handshake`` (Autobahn: 1 s) and ``server_drop`` (Autobahn: 1 s): how long
      the server gets to answer our close and to drop TCP after the closing handshake.
    * ``echo_cap``: bound on the echo loops' own deadlines (60-480 s in Autobahn).
    """

    reaction: float = 0.5
    long_reaction: float = 5.0
    pause: float = 0.3
    close_handshake: float = 0.5
    server_drop: float = 0.5
    handshake: float = 2.0
    echo_cap: float = 10.0
    io: float = 5.0

    def timer(self, delay: float) -> float:
        return self.long_reaction if delay >= 10 else self.reaction

    def pause_for(self, delay: float) -> float:
        return min(delay, self.pause)


@dataclass
class CaseRun:
    """The result of running one case."""

    case: Case
    outcome: Outcome
    seen: Observation
    duration_ms: int
    wirelog: list[str] = field(default_factory=list)
    agent: str = ""

    def index_entry(self) -> dict[str, object]:
        """This case's entry in an Autobahn-style ``index.json``."""
        return {
            "behavior": str(self.outcome.behavior),
            "behaviorClose": str(self.outcome.behavior_close),
            "duration": self.duration_ms,
            "remoteCloseCode": self.seen.close.remote_close_code,
            "reportfile": None,
        }
