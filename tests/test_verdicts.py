"""The verdict mapping, directly: every way a case can end × every requirement level ×
a crash or none, through the one function that decides (no pytest subprocess)."""

from __future__ import annotations

import pytest

from conformance.catalogue import CATALOGUE, Level, Requirement
from conformance.verdicts import (
    MESSAGE_LIMIT,
    Decision,
    Happened,
    HarnessError,
    NonStrict,
    NoResponse,
    Outcome,
    Phase,
    Verdict,
    decide,
    harness_error,
    non_strict,
    not_applicable,
    outcome_of,
    run_fails,
)


def requirement(level: Level, derived: bool = False) -> Requirement:
    return Requirement(id="T-1", level=level, spec="RFC 6455", section="§5.5.1",
                       quote="The Close frame MAY contain a body", summary="s",
                       derived=derived)


STRICT = [requirement(Level.MUST), requirement(Level.WILL)]
LENIENT = [requirement(Level.SHOULD), requirement(Level.MAY),
           requirement(Level.MUST, derived=True)]
REQUIREMENTS = STRICT + LENIENT
REQ_IDS = ["MUST", "WILL", "SHOULD", "MAY", "derived"]
CRASH = "the server process exited with status 3 during this case"
RESTS_ON = '\nrests on RFC 6455 §5.5.1: "The Close frame MAY contain a body"'

# What happened in the call phase, without a crash: (outcome, decision on a strict
# requirement, decision on a lenient one when it differs). A lenient requirement's kind
# is filled in per requirement below.
CALL = {
    "passed": (Outcome(Phase.CALL, Happened.PASSED), Decision(Verdict.PASS), None),
    "passed-with-note": (Outcome(Phase.CALL, Happened.PASSED, note="INFORMATIONAL: x"),
                         Decision(Verdict.PASS, "INFORMATIONAL: x"), None),
    "assertion": (Outcome(Phase.CALL, Happened.ASSERTION_FAILED, "AssertionError: got 2"),
                  Decision(Verdict.FAIL, "AssertionError: got 2" + RESTS_ON),
                  Decision(Verdict.NON_STRICT,
                           "not followed ({kind}, so permitted): AssertionError: got 2")),
    "non-strict": (Outcome(Phase.CALL, Happened.NON_STRICT, "lenient, as §3 permits"),
                   Decision(Verdict.NON_STRICT, "lenient, as §3 permits"), None),
    "skipped": (Outcome(Phase.CALL, Happened.SKIPPED, "n/a: advertises 2.3"),
                Decision(Verdict.NOT_APPLICABLE, "n/a: advertises 2.3"), None),
    "harness-error": (Outcome(Phase.CALL, Happened.HARNESS_ERROR, "no state report"),
                      Decision(Verdict.ERROR, "no state report"), None),
    "broken": (Outcome(Phase.CALL, Happened.BROKEN, "KeyError: 'x'"),
               Decision(Verdict.ERROR, "the case could not be judged: KeyError: 'x'"), None),
}


def kind_of(req: Requirement) -> str:
    return "derived requirement" if req.derived else req.level.value


@pytest.mark.parametrize("req", REQUIREMENTS, ids=REQ_IDS)
@pytest.mark.parametrize("name", list(CALL))
def test_call_phase_without_a_crash(name, req):
    outcome, strict, lenient = CALL[name]
    expected = strict if req.strict or lenient is None else lenient
    expected = Decision(expected.verdict, expected.message.format(kind=kind_of(req)))
    assert decide(req, outcome, None) == expected


@pytest.mark.parametrize("req", REQUIREMENTS, ids=REQ_IDS)
@pytest.mark.parametrize("name", list(CALL))
def test_a_crash_makes_any_call_an_error(name, req):
    outcome = CALL[name][0]
    assert decide(req, outcome, CRASH) == Decision(Verdict.ERROR, CRASH)
    assert decide(req, outcome, "") == decide(req, outcome, None), "no crash message"


SETUP = {
    "passed": None,
    "skipped": Decision(Verdict.NOT_APPLICABLE, "n/a: no such option"),
    "assertion": Decision(Verdict.ERROR, "case setup failed: AssertionError: boom"),
    "non-strict": Decision(Verdict.ERROR, "case setup failed: lenient"),
    "harness-error": Decision(Verdict.ERROR, "case setup failed: cannot start"),
    "broken": Decision(Verdict.ERROR, "case setup failed: OSError: no port"),
}
SETUP_OUTCOMES = {
    "passed": Outcome(Phase.SETUP, Happened.PASSED),
    "skipped": Outcome(Phase.SETUP, Happened.SKIPPED, "n/a: no such option"),
    "assertion": Outcome(Phase.SETUP, Happened.ASSERTION_FAILED, "AssertionError: boom"),
    "non-strict": Outcome(Phase.SETUP, Happened.NON_STRICT, "lenient"),
    "harness-error": Outcome(Phase.SETUP, Happened.HARNESS_ERROR, "cannot start"),
    "broken": Outcome(Phase.SETUP, Happened.BROKEN, "OSError: no port"),
}


@pytest.mark.parametrize("req", REQUIREMENTS, ids=REQ_IDS)
@pytest.mark.parametrize("name", list(SETUP))
def test_setup_phase(name, req):
    """A set-up that ends short of the case is an error, whatever the requirement (the
    case never judged the server), unless it ends as n/a; one that went fine gives no
    verdict yet, even when a crash is reported (the call will see it)."""
    outcome = SETUP_OUTCOMES[name]
    assert decide(req, outcome, None) == SETUP[name]
    with_crash = decide(req, outcome, CRASH)
    if name == "passed":
        assert with_crash is None
    else:
        assert with_crash == Decision(Verdict.ERROR, CRASH)


def test_a_long_fail_message_keeps_the_sentence_it_rests_on():
    outcome = Outcome(Phase.CALL, Happened.ASSERTION_FAILED, "x" * (2 * MESSAGE_LIMIT))
    decision = decide(STRICT[0], outcome, None)
    assert decision is not None and decision.verdict is Verdict.FAIL
    assert decision.message.endswith(RESTS_ON)
    assert len(decision.message) <= MESSAGE_LIMIT + 40  # the clip note
    assert "more]" in decision.message


def test_other_long_messages_are_clipped():
    outcome = Outcome(Phase.CALL, Happened.NON_STRICT, "y" * (2 * MESSAGE_LIMIT))
    decision = decide(LENIENT[0], outcome, None)
    assert decision is not None
    assert decision.message.startswith("y" * MESSAGE_LIMIT)
    assert decision.message.endswith(f"[{MESSAGE_LIMIT} more]")


def test_every_catalogued_requirement_names_its_sentence_on_a_fail():
    outcome = Outcome(Phase.CALL, Happened.ASSERTION_FAILED, "AssertionError: no")
    for req in CATALOGUE.values():
        decision = decide(req, outcome, None)
        assert decision is not None
        if req.strict:
            assert decision.verdict is Verdict.FAIL
            assert decision.message.endswith(f'rests on {req.reference}: "{req.quote}"')
        else:
            assert decision.verdict is Verdict.NON_STRICT
            assert "rests on" not in decision.message


# --- from what pytest saw to an outcome -------------------------------------------------------


def excinfo_of(raise_it) -> pytest.ExceptionInfo[BaseException]:
    with pytest.raises(BaseException) as info:
        raise_it()
    return info


def fail() -> None:
    raise AssertionError("got 2")


def no_response() -> None:
    raise NoResponse("no response in 2 s")


def broken() -> None:
    raise KeyError("x")


@pytest.mark.parametrize(("raise_it", "skipped", "happened", "text"), [
    (None, False, Happened.PASSED, ""),
    (fail, False, Happened.ASSERTION_FAILED, "AssertionError: got 2"),
    (no_response, False, Happened.ASSERTION_FAILED,
     "conformance.verdicts.NoResponse: no response in 2 s"),
    (lambda: non_strict("lenient"), False, Happened.NON_STRICT, "lenient"),
    (lambda: not_applicable("advertises 2.3"), True, Happened.SKIPPED, "the reason"),
    (lambda: harness_error("no state report"), False, Happened.HARNESS_ERROR,
     "no state report"),
    (broken, False, Happened.BROKEN, "KeyError: 'x'"),
], ids=["passed", "assertion", "no-response", "non-strict", "n/a", "harness", "other"])
def test_outcome_of_classifies_what_pytest_saw(raise_it, skipped, happened, text):
    excinfo = excinfo_of(raise_it) if raise_it else None
    outcome = outcome_of(Phase.CALL, excinfo, skipped=skipped, skip_reason="the reason",
                         note="a note")
    assert outcome.happened is happened
    assert outcome.text == text
    assert outcome.note == ("a note" if happened is Happened.PASSED else "")
    assert outcome.may_be_crash is (happened in (
        Happened.ASSERTION_FAILED, Happened.HARNESS_ERROR, Happened.BROKEN))


def test_a_non_strict_or_harness_error_is_not_a_failed_check():
    assert outcome_of(Phase.CALL, excinfo_of(lambda: non_strict("x"))).happened \
        is Happened.NON_STRICT
    assert not issubclass(NonStrict, AssertionError)
    assert not issubclass(HarnessError, AssertionError)


# --- verdicts shown as pytest outcomes, and the exit status ----------------------------------


def test_each_verdict_has_its_pytest_outcome():
    assert {v: v.pytest_outcome for v in Verdict} == {
        Verdict.PASS: "passed", Verdict.NON_STRICT: "passed", Verdict.FAIL: "failed",
        Verdict.ERROR: "failed", Verdict.NOT_APPLICABLE: "skipped"}


P, F, N, NA, E = (Verdict.PASS, Verdict.FAIL, Verdict.NON_STRICT, Verdict.NOT_APPLICABLE,
                  Verdict.ERROR)


@pytest.mark.parametrize(("verdicts", "other", "fail_on", "regressions", "fails"), [
    ([P, N, NA], 0, "fail", None, False),
    ([P, F], 0, "fail", None, True),
    ([P, E], 0, "fail", None, True),
    ([P, N, NA], 1, "fail", None, True),
    ([P, F, N], 0, "error", None, False),  # a survey: failed cases do not fail the run
    ([P, F, E], 0, "error", None, True),  # a harness error does
    ([P, F], 1, "error", None, True),  # so does a failure outside the verdicts
    ([P, F, E], 0, "fail", 0, False),  # --baseline: only regressions count ...
    ([P, P], 0, "fail", 1, True),  # ... even when everything passed (pass -> non-strict)
    ([P, F, E], 0, "error", 2, True),  # ... whatever --fail-on says
    ([P], 1, "fail", 0, True),  # ... and failures outside the verdicts
    ([], 0, "fail", None, False),
])
def test_run_fails(verdicts, other, fail_on, regressions, fails):
    assert run_fails(verdicts, other, fail_on=fail_on, regressions=regressions) is fails
