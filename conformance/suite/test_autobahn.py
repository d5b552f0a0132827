"""Autobahn|Testsuite's WebSocket cases (RFC 6455, RFC 7692), run natively.

Autobahn|Testsuite's fuzzing client is the standard WebSocket conformance check; here
its cases run inside this suite (:mod:`conformance.autobahn`), one pytest case per
Autobahn case, with Autobahn's IDs as the parameter ids (``test_framing[1.1.1]``,
``test_utf8[6.4.3]``, ``test_deflate_payloads[12.1.1]``). Each names the requirement of
its Autobahn sub-category (:mod:`conformance.catalogue.autobahn`).

The server under test serves ``fixtures.ws_echo:app``, which accepts every WebSocket and
echoes each message as it came. A case plays Autobahn's script against it and judges,
as Autobahn does, two things: ``behavior`` (the events received: echoed messages, pongs,
the timing of a failure) and ``behaviorClose`` (who started the closing handshake, with
which code, whether it was clean). Mapping onto this suite's verdicts:

============================  ===============================================
Autobahn                      verdict
============================  ===============================================
OK                            pass
NON-STRICT                    non-strict (an alternative Autobahn accepts)
INFORMATIONAL                 pass, the information in the case's message
UNIMPLEMENTED                 n/a (the server did not negotiate permessage-deflate)
FAILED, UNCLEAN               fail (non-strict for SHOULD/MAY requirements, and where
                              Autobahn is stricter than RFC 6455: a FAILED that rests
                              only on the close code of category 7, or only on the
                              echoed messages; see :mod:`conformance.autobahn.judge`)
WRONG CODE, FAILED BY CLIENT  non-strict (the RFC's SHOULDs on the close code and on
                              the server closing TCP first)
============================  ===============================================

A non-strict verdict's message starts with why the RFC permits it, naming Autobahn's
verdict; ``<server>-autobahn.json`` keeps Autobahn's own verdicts unchanged.

A case takes the worse of its two verdicts; failures show both, what was expected,
what was received and the client's wire log (frames sent and received, with times).

Category 9 (limits/performance, messages up to 16 MiB) runs only with
``--autobahn-performance``, which also restores Autobahn's 1000 messages per
permessage-deflate case (the default run sends 2-32). Every wait is bounded: Autobahn's
reaction timers (0.5-3 s; 10 s after 64 KiB messages) are 0.5 s here (5 s), its 1 s
pauses 0.3 s, its close-handshake and TCP-drop bounds (1 s) 0.5 s (see
:class:`conformance.autobahn.engine.Timing`); a conforming server answers in
milliseconds, so only a server that does not do what a case expects waits them out.

Results also go to ``reports/<server>-autobahn.json`` in the shape of Autobahn's
``index.json``.
"""

from __future__ import annotations

import pytest

from conformance.autobahn.cases import all_cases
from conformance.autobahn.engine import CaseRun, run_case
from conformance.autobahn.judge import Judgement, suite_reason, verdict_of
from conformance.autobahn.model import Behavior, Case, Event
from conformance.autobahn.results import PROPERTY
from conformance.plugin import serve_app
from conformance.verdicts import non_strict, not_applicable

ECHO_APP = "fixtures.ws_echo:app"
_MESSAGE_LIMIT = 3600  # the report clips messages at 4000 characters


@pytest.fixture
def server(request: pytest.FixtureRequest):
    """The server under test serving the echo app (started once per run through the
    plugin's session, restarted after a crash). It takes the name of the plugin's
    ``server`` fixture, which makes these conformance cases with crash detection."""
    return serve_app(request, ECHO_APP)


def _categories(*names: str):
    def mark(function):
        function.autobahn_categories = names
        return function
    return mark


def _marks(case: Case) -> list[pytest.MarkDecorator]:
    marks = [pytest.mark.requirement(case.requirement)]
    if case.timing_dependent:
        marks.append(pytest.mark.timing_dependent(
            "OK or NON-STRICT depends on whether the app's echo leaves before the server "
            "reads the bad frame sent in a later chop"))
    return marks


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    categories = getattr(metafunc.function, "autobahn_categories", None)
    if categories is None or "case" not in metafunc.fixturenames:
        return
    performance = bool(metafunc.config.getoption("--autobahn-performance"))
    params = [pytest.param(case, id=case.id, marks=_marks(case))
              for case in all_cases(performance) if case.category in categories]
    metafunc.parametrize("case", params)


# --- the cases ------------------------------------------------------------------------------


@_categories("1")
def test_framing(server, case, record_property):
    """Autobahn 1 (framing): text and binary messages of every payload-length encoding are
    echoed intact (RFC 6455 §5.2)."""
    _judge(_run(server, case, record_property))


@_categories("2")
def test_pings(server, case, record_property):
    """Autobahn 2 (pings/pongs): pings get pongs with their payload, unsolicited pongs
    nothing, an oversized ping fails the connection (RFC 6455 §5.5.2, §5.5.3)."""
    _judge(_run(server, case, record_property))


@_categories("3")
def test_reserved_bits(server, case, record_property):
    """Autobahn 3 (reserved bits): RSV bits with no extension fail the connection
    (RFC 6455 §5.2)."""
    _judge(_run(server, case, record_property))


@_categories("4")
def test_opcodes(server, case, record_property):
    """Autobahn 4 (opcodes): reserved opcodes fail the connection (RFC 6455 §5.2)."""
    _judge(_run(server, case, record_property))


@_categories("5")
def test_fragmentation(server, case, record_property):
    """Autobahn 5 (fragmentation): fragments are reassembled with control frames between
    them; broken fragmentation fails the connection (RFC 6455 §5.4)."""
    _judge(_run(server, case, record_property))


@_categories("6")
def test_utf8(server, case, record_property):
    """Autobahn 6 (UTF-8 handling): valid text is echoed however it is fragmented;
    invalid text fails the connection with 1007, preferably at once (RFC 6455 §8.1)."""
    _judge(_run(server, case, record_property))


@_categories("7")
def test_close(server, case, record_property):
    """Autobahn 7 (close handling): the closing handshake, close payloads and codes
    (RFC 6455 §5.5.1, §7.4)."""
    _judge(_run(server, case, record_property))


@_categories("9", "10")
def test_limits_and_misc(server, case, record_property):
    """Autobahn 10 (misc: a 64 KiB message in 1300-byte fragments is echoed, RFC 6455
    §5.4) and, with --autobahn-performance, 9 (limits/performance: large and many messages
    are echoed in time; RFC 6455 §10.4 lets servers limit sizes). One test function, as
    category 9 alone would be an empty one in the default run."""
    _judge(_run(server, case, record_property))


@_categories("12")
def test_deflate_payloads(server, case, record_property):
    """Autobahn 12 (permessage-deflate, payloads): compressed messages of many sizes and
    kinds are echoed intact (RFC 7692 §7.2); n/a when deflate is not negotiated."""
    _judge(_run(server, case, record_property))


@_categories("13")
def test_deflate_parameters(server, case, record_property):
    """Autobahn 13 (permessage-deflate, parameters): context takeover and window-size
    offers are accepted validly and honoured (RFC 7692 §7.1); n/a when deflate is not
    negotiated."""
    _judge(_run(server, case, record_property))


# --- running and judging --------------------------------------------------------------------


def _run(server, case: Case, record_property) -> CaseRun:
    run = run_case(case, server.host, server.port)
    entry = {"case": case.id, **run.index_entry(), "info": _info(run)}
    record_property(PROPERTY, entry)
    return run


def _info(run: CaseRun) -> str:
    outcome = run.outcome
    if Behavior.INFORMATIONAL not in (outcome.behavior, outcome.behavior_close):
        return ""
    return (f"Autobahn {run.case.id} INFORMATIONAL: {outcome.result} Close: "
            f"{outcome.result_close}. Received: {_events(run.seen.received)}")


def _judge(run: CaseRun) -> None:
    """Turn Autobahn's verdicts into this suite's (see the module docstring)."""
    judgement = verdict_of(run.outcome)
    if judgement is Judgement.PASS:
        return
    if judgement is Judgement.NOT_APPLICABLE:
        offered = ", ".join(o.header_value() for o in run.case.deflate)
        not_applicable(f"the server did not negotiate permessage-deflate: its 101 carried no "
                       f"permessage-deflate in Sec-WebSocket-Extensions (offered: {offered})")
    message = _evidence(run)
    if judgement is Judgement.NON_STRICT:
        non_strict(f"{suite_reason(run.outcome)}\n{message}")
    raise AssertionError(message)


def _events(events: list[Event]) -> str:
    if not events:
        return "[] (nothing)"
    shown = [e.render() for e in events[:12]]
    more = f", … {len(events) - 12} more" if len(events) > 12 else ""
    return "[" + ", ".join(shown) + more + "]"


def _evidence(run: CaseRun) -> str:
    case, outcome, seen = run.case, run.outcome, run.seen
    facts = seen.close
    lines = [
        f"Autobahn {case.id}: behavior {outcome.behavior} ({outcome.result}); "
        f"behaviorClose {outcome.behavior_close} ({outcome.result_close})",
        f"case: {case.description}",
        f"expected: {case.expectation}",
    ]
    if case.outcomes:
        lines.append("expected events: " + " | ".join(
            f"{level}: {_events(list(events))}" for level, events in case.outcomes))
    lines.append(f"received events: {_events(seen.received)}")
    expected = case.close
    lines.append(
        f"close: expected {'client' if expected.closed_by_me else 'server'} to close first, "
        f"code {' or '.join(map(str, expected.codes))} or none"
        f"{', cleanly' if expected.require_clean else ''}; got closed_by_client="
        f"{facts.closed_by_me}, server close code {facts.remote_close_code} "
        f"(reason {facts.remote_close_reason[:60]!r}), clean={facts.was_clean}"
        f"{f' ({facts.not_clean_reason})' if facts.not_clean_reason else ''}, "
        f"client dropped TCP={facts.dropped_by_me}")
    if seen.handshake_error:
        lines.append(f"handshake: {seen.handshake_error}")
    if case.deflate:
        lines.append(f"permessage-deflate: {seen.deflate or 'not negotiated'}")
    head = "\n".join(lines)
    wire = "wire log (client's view):\n" + "\n".join(run.wirelog)
    room = _MESSAGE_LIMIT - len(head)
    if len(wire) > room:
        wire = wire[:room // 2] + "\n    …\n" + wire[-(room // 2):]
    return head + "\n" + wire
