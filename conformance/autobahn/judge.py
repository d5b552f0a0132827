"""Autobahn's verdict rules: from what the client observed to ``behavior`` and
``behaviorClose``, and from those to this suite's verdicts.

The rules are Autobahn's (``case.py``'s ``onConnectionLost`` and the per-case
adjustments), restated:

behavior
    The events received (messages, pings, pongs, timeout markers) must equal one of the
    case's acceptable sequences exactly; the first that matches names the behaviour (OK
    or NON-STRICT). None matching: FAILED, "Actual events differ from any expected."

behaviorClose, in this order of precedence
    * the opening handshake never completed: FAILED;
    * the wrong endpoint sent the first close frame: FAILED;
    * a clean close was required and the closing handshake was not completed with the
      server dropping TCP: UNCLEAN;
    * the server's close frame carried a code the case does not accept: WRONG CODE;
    * the client had to drop TCP itself: FAILED BY CLIENT (RFC 6455 §7.1.1: the server
      SHOULD close the TCP connection first);
    * otherwise OK.

    For the UTF-8 cases a close by the wrong endpoint also fails the behaviour (the
    server never noticed the invalid text); in category 7 a wrong code does.

Mapping onto this suite (see :func:`verdict_of`): OK and INFORMATIONAL pass, NON-STRICT is
*non-strict*, UNIMPLEMENTED is *n/a*, FAILED and UNCLEAN *fail*; WRONG CODE and FAILED BY
CLIENT are shown by Autobahn as near-passes (the RFC's SHOULDs), here *non-strict*. A
case takes the worse of its two verdicts and reports both.

A *fail* must rest on a MUST of RFC 6455, and two of Autobahn's FAILED behaviours do not,
so they are *non-strict* here while Autobahn's own verdict (in ``index.json``) stays
FAILED; :attr:`Outcome.lenient` says why (:func:`suite_reason` words it for the report):

* category 7's rule that a wrong close code fails the behaviour: §5.5.1 requires a Close
  in reply ("MUST send a Close frame in response") but not its code, which the reply
  only "typically echos";
* a case that expects the server to carry on (the client closes at the end) and whose
  events differ from every expected sequence only in data messages: the echo is the
  echo app's, carried by the ASGI mapping (judged strictly by the ASGI WebSocket cases);
  no RFC 6455 sentence obliges an endpoint to echo. Pongs, failing the connection on a
  protocol error and the closing handshake stay strict.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from conformance.autobahn.model import Behavior, Case, Event, PostRule, SendMessage

__all__ = ["CloseFacts", "Judgement", "Observation", "Outcome", "judge", "suite_reason",
           "verdict_of"]


@dataclass
class CloseFacts:
    """How the connection ended, in Autobahn's terms (its protocol's state flags)."""

    was_open: bool = False
    """The opening handshake completed."""
    closed_by_me: bool = False
    """The client sent the first close frame."""
    dropped_by_me: bool = False
    """The client dropped TCP (the server did not within the bound)."""
    failed_by_me: bool = False
    """The client failed the connection (a timer ran out or the server broke a rule)."""
    was_clean: bool = False
    """Close frames went both ways and the server dropped TCP."""
    not_clean_reason: str = ""
    remote_close_code: int | None = None
    remote_close_reason: bytes = b""
    local_close_code: int | None = None


@dataclass
class Observation:
    """Everything a run of one case observed, for judging and as evidence."""

    received: list[Event] = field(default_factory=list)
    close: CloseFacts = field(default_factory=CloseFacts)
    violations: list[str] = field(default_factory=list)
    """Rules the server broke in what it sent (masked frames, bad UTF-8...)."""
    handshake_error: str = ""
    deflate: str | None = None
    """The negotiated permessage-deflate response, None when not negotiated."""
    echo_behavior: Behavior | None = None
    echo_result: str = ""
    tx_frames: dict[int, int] = field(default_factory=dict)
    """Frames the client sent, by opcode (Autobahn's txFrameStats)."""
    info: str = ""


@dataclass
class Outcome:
    behavior: Behavior
    result: str
    behavior_close: Behavior
    result_close: str
    lenient: str = ""
    """Why a FAILED behaviour rests on no MUST of RFC 6455 (Autobahn is stricter than the
    RFC there), which makes it *non-strict* in this suite; empty when it does rest on
    one."""


_WRONG_CODE_REASON = (
    "Autobahn is stricter than RFC 6455 here: Autobahn says FAILED because the server's "
    "close code was {got}, not {codes} (its category-7 rule); RFC 6455 §5.5.1 requires a "
    "Close frame in reply (\"MUST send a Close frame in response\") but not its code: the "
    "reply \"typically echos the status code it received\".")
_ECHO_REASON = (
    "Autobahn is stricter than RFC 6455 here: Autobahn says FAILED because the echoed data "
    "messages differ from what it expects; RFC 6455 obliges no endpoint to echo a message "
    "(the echo is the echo app's, carried by the ASGI mapping, which the ASGI WebSocket "
    "cases judge strictly: websocket.receive WS-029..031, websocket.send WS-032/033); the "
    "pongs and the closing handshake, which RFC 6455 does require, were as expected.")


def _messages_only_differ(case: Case, received: list[Event]) -> bool:
    """Whether ``received`` matches one of the case's expected sequences once data
    messages are left out of both: only the echo differs, not pongs or timeouts."""
    def others(events: list[Event] | tuple[Event, ...]) -> list[Event]:
        return [e for e in events if e.kind != "message"]

    rest = others(received)
    return any(others(events) == rest for _, events in case.outcomes)


def judge(case: Case, seen: Observation) -> Outcome:
    """Autobahn's verdict for ``case`` given what was observed."""
    behavior, result = Behavior.FAILED, "Actual events differ from any expected."
    if case.echo is not None:
        behavior = seen.echo_behavior or Behavior.FAILED
        result = seen.echo_result or "The echo loop did not complete."
    for level, events in case.outcomes:
        if seen.received == list(events):
            behavior, result = level, "Actual events match at least one expected."
            if level is Behavior.NON_STRICT:
                result += " (Autobahn's NON-STRICT alternative)"
            break
    lenient = ""
    if (behavior is Behavior.FAILED and case.echo is None and case.outcomes
            and seen.close.was_open and case.close.closed_by_me
            and _messages_only_differ(case, seen.received)):
        lenient = _ECHO_REASON
    if seen.violations and behavior is not Behavior.UNIMPLEMENTED:
        behavior = Behavior.FAILED
        result = "The server sent what RFC 6455 forbids: " + "; ".join(seen.violations)
        lenient = ""

    close, result_close = _judge_close(case, seen.close, seen.handshake_error)
    expected = case.close
    if (expected.wrong_endpoint_fatal and seen.close.was_open
            and expected.closed_by_me != seen.close.closed_by_me):
        behavior = Behavior.FAILED
        result = ("The connection was closed by the wrong endpoint: the server did not fail "
                  "it on the invalid payload.")
        lenient = ""

    if case.post is PostRule.WRONG_CODE_FAILS and close is Behavior.WRONG_CODE:
        if behavior is not Behavior.FAILED or lenient:
            codes = " or ".join(str(c) for c in expected.codes)
            lenient = " ".join(filter(None, (_WRONG_CODE_REASON.format(
                got=seen.close.remote_close_code, codes=codes), lenient)))
        behavior, result = Behavior.FAILED, result_close
    elif not seen.close.was_open:
        pass  # no handshake, nothing to be informational about: FAILED stands
    elif case.post is PostRule.INFORMATIONAL_ORDER:
        if behavior is Behavior.OK:
            result = "Text message was processed before close."
        elif behavior is Behavior.NON_STRICT:
            result = "Close was processed before text message could be returned."
        else:
            result = "Events: " + _events(seen.received)
        behavior = close = Behavior.INFORMATIONAL
        result_close = _close_summary(seen.close)
        lenient = ""
    elif case.post is PostRule.INFORMATIONAL:
        behavior = close = Behavior.INFORMATIONAL
        result = "Actual events are undefined by the spec."
        result_close = _close_summary(seen.close)
        lenient = ""
    if behavior is Behavior.INFORMATIONAL and seen.violations:
        # Autobahn informs whatever happened; say what our client objected to.
        result += " The client objected to: " + "; ".join(seen.violations)
    elif case.post is PostRule.FRAME_COUNT:
        size = case.auto_fragment
        total = sum(len(a.payload) for a in case.actions if isinstance(a, SendMessage))
        want = {0: total // size, 1: 1 if total % size else 0}
        got = {0: seen.tx_frames.get(0, 0), 1: seen.tx_frames.get(1, 0)}
        if want != got:
            behavior = Behavior.FAILED
            result = f"Frames transmitted {got} does not match what we expected {want}."
            lenient = ""
    return Outcome(behavior, result, close, result_close, lenient)


def _judge_close(case: Case, facts: CloseFacts, handshake_error: str) -> tuple[Behavior, str]:
    expected = case.close
    if not facts.was_open:
        detail = f" ({handshake_error})" if handshake_error else ""
        return Behavior.FAILED, f"The WebSocket opening handshake was never completed!{detail}"
    if expected.closed_by_me != facts.closed_by_me:
        return Behavior.FAILED, "The connection was failed by the wrong endpoint"
    if expected.require_clean and not facts.was_clean:
        reason = f" ({facts.not_clean_reason})" if facts.not_clean_reason else ""
        return Behavior.UNCLEAN, ("The spec requires the connection to be failed cleanly "
                                  f"here{reason}")
    if facts.remote_close_code is not None and facts.remote_close_code not in expected.codes:
        codes = ",".join(str(c) for c in expected.codes)
        return Behavior.WRONG_CODE, (f"The close code should have been {codes} or empty "
                                     f"(got {facts.remote_close_code})")
    if facts.dropped_by_me:
        return Behavior.FAILED_BY_CLIENT, ("It is preferred that the server close the TCP "
                                           "connection")
    return Behavior.OK, "Connection was properly closed"


def _events(events: list[Event]) -> str:
    return "[" + ", ".join(e.render() for e in events) + "]" if events else "[] (nothing)"


def _close_summary(facts: CloseFacts) -> str:
    who = "client" if facts.closed_by_me else "server"
    return (f"closing handshake started by the {who}; server close code "
            f"{facts.remote_close_code}; clean={facts.was_clean}")


# --- this suite's verdicts -------------------------------------------------------------------


class Judgement(enum.IntEnum):
    """Where an Autobahn level lands in this suite, ordered from best to worst."""

    PASS = 0
    NOT_APPLICABLE = 1
    NON_STRICT = 2
    FAIL = 3


_LEVELS = {
    Behavior.OK: Judgement.PASS,
    Behavior.INFORMATIONAL: Judgement.PASS,
    Behavior.NON_STRICT: Judgement.NON_STRICT,
    Behavior.WRONG_CODE: Judgement.NON_STRICT,
    Behavior.FAILED_BY_CLIENT: Judgement.NON_STRICT,
    Behavior.UNIMPLEMENTED: Judgement.NOT_APPLICABLE,
    Behavior.UNCLEAN: Judgement.FAIL,
    Behavior.FAILED: Judgement.FAIL,
}


def verdict_of(outcome: Outcome) -> Judgement:
    """The suite verdict for an outcome: the worse of behaviour and close behaviour.

    UNIMPLEMENTED is n/a whatever the close did, as Autobahn's report shows it (the case
    did not run); otherwise the worse of the two levels wins, a FAILED behaviour counting
    as non-strict when it rests on no MUST (:attr:`Outcome.lenient`)."""
    if outcome.behavior is Behavior.UNIMPLEMENTED:
        return Judgement.NOT_APPLICABLE
    behavior = _LEVELS[outcome.behavior]
    if outcome.behavior is Behavior.FAILED and outcome.lenient:
        behavior = Judgement.NON_STRICT
    return max(behavior, _LEVELS[outcome.behavior_close])


def suite_reason(outcome: Outcome) -> str:
    """Why an outcome is *non-strict* in this suite, naming Autobahn's verdict and the
    RFC 6455 sentence that permits the server's choice; empty for any other verdict."""
    if verdict_of(outcome) is not Judgement.NON_STRICT:
        return ""
    reasons = [outcome.lenient] if outcome.lenient else []
    if outcome.behavior is Behavior.NON_STRICT:
        reasons.append(
            "Autobahn says NON-STRICT: the events match the alternative Autobahn accepts "
            "short of OK (failing the connection on a protocol error before echoing the "
            "valid message sent ahead of it, or on invalid UTF-8 only at the end of the "
            "message): RFC 6455 sets neither the order nor the moment.")
    if outcome.behavior_close is Behavior.WRONG_CODE and not outcome.lenient:
        reasons.append(
            f"Autobahn says WRONG CODE ({outcome.result_close}): RFC 6455 §5.5.1 only says "
            "a reply \"typically echos the status code it received\", and §7.4.1 lets an "
            "endpoint choose the code it fails a connection with.")
    if outcome.behavior_close is Behavior.FAILED_BY_CLIENT:
        reasons.append(
            "Autobahn says FAILED BY CLIENT: after the closing handshake the client dropped "
            "TCP because the server had not within the bound; Autobahn counts it a "
            "near-pass (RFC 6455 §7.1.1: the server SHOULD close the TCP connection first).")
    return " ".join(reasons)
