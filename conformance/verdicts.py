"""Verdicts: what the suite concludes about one case, how a case says it, and the one
function that decides it.

design.md ("Cases and verdicts") defines five outcomes. They are richer than pytest's
pass/fail/skip, so a case expresses them with exceptions and the plugin maps them onto
pytest outcomes:

========== ================================================== ==============================
verdict    meaning                                            pytest outcome
========== ================================================== ==============================
pass       the server does what the requirement asks           passed
fail       it does not (an ``AssertionError`` in the case)     failed
non-strict it deviates in a way the spec permits (a SHOULD/MAY passed, shown as NON-STRICT
           not followed, or a lenient choice the RFC allows)
n/a        the requirement does not apply: the server does     skipped, reason says what the
           not advertise the spec_version or extension         server advertised
error      the harness could not judge: the server crashed,    failed, shown as ERROR
           did not start, or the case itself broke
========== ================================================== ==============================

Only an ``AssertionError`` is a *fail*: any other exception escaping a case means the
harness could not reach a conclusion, which is an *error*. A bounded wait that runs out
raises :class:`NoResponse` (an ``AssertionError``), because "no answer in 2 s" is a
verdict on the server, not a harness fault.

A failed check on a SHOULD, MAY or derived requirement becomes *non-strict*, never
*fail*: the spec allows the server to differ there (asgi-requirements legend). A *fail*
rests on a MUST or WILL, so its message ends with the sentence it rests on.

Why this module holds the decision and nothing else does: design.md asks for "one
function decides the verdict". The pytest side (:mod:`conformance.session`) only turns
what pytest saw into an :class:`Outcome` (:func:`outcome_of`) and notices a crashed
server; :func:`decide` maps (requirement, outcome, crash) to the verdict and its message,
and :func:`run_fails` maps the run's verdicts to the exit status. All three are pure, so
the whole mapping is unit-tested without running pytest in a subprocess
(tests/test_verdicts.py).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NoReturn

import pytest

if TYPE_CHECKING:
    from conformance.catalogue import Requirement


class Verdict(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NON_STRICT = "non-strict"
    NOT_APPLICABLE = "n/a"
    ERROR = "error"

    @property
    def severity(self) -> int:
        """Order used by baselines and summaries: higher is worse."""
        return _SEVERITY[self]

    @property
    def pytest_outcome(self) -> Literal["passed", "failed", "skipped"]:
        """The pytest outcome that shows this verdict (the table above)."""
        return _PYTEST_OUTCOME[self]


_SEVERITY = {
    Verdict.PASS: 0,
    Verdict.NOT_APPLICABLE: 0,
    Verdict.NON_STRICT: 1,
    Verdict.FAIL: 2,
    Verdict.ERROR: 3,
}
_PYTEST_OUTCOME: dict[Verdict, Literal["passed", "failed", "skipped"]] = {
    Verdict.PASS: "passed",
    Verdict.FAIL: "failed",
    Verdict.NON_STRICT: "passed",
    Verdict.NOT_APPLICABLE: "skipped",
    Verdict.ERROR: "failed",
}


class NoResponse(AssertionError):
    """A bounded wait ran out: the server did not answer (a verdict, not a hang)."""


class NonStrict(Exception):
    """Raised by a case whose server made a permitted but lenient choice."""


class HarnessError(Exception):
    """The harness could not run the case (server crashed, could not start, ...)."""


def non_strict(reason: str) -> NoReturn:
    """End the case with the *non-strict* verdict, explaining the lenient choice."""
    raise NonStrict(reason)


def not_applicable(reason: str) -> NoReturn:
    """End the case as *n/a*. The reason must say what the server advertised."""
    pytest.skip(f"n/a: {reason}")


def harness_error(reason: str) -> NoReturn:
    """End the case as *error*: the harness cannot judge it."""
    raise HarnessError(reason)


# --- what happened, and the verdict it gets ---------------------------------------------------


class Phase(enum.StrEnum):
    """The pytest phase an outcome comes from: fixtures (setup) or the case (call)."""

    SETUP = "setup"
    CALL = "call"


class Happened(enum.Enum):
    """How a phase ended."""

    PASSED = "passed"
    ASSERTION_FAILED = "assertion failed"
    """An ``AssertionError`` (a check on the server did not hold)."""
    NON_STRICT = "non-strict"
    """:func:`non_strict`: a lenient choice the case judged permitted."""
    SKIPPED = "skipped"
    """:func:`not_applicable` (or any pytest skip)."""
    HARNESS_ERROR = "harness error"
    """:func:`harness_error`: the case knows it cannot judge."""
    BROKEN = "other exception"
    """Any other exception: the case itself broke."""


@dataclass(frozen=True)
class Outcome:
    """What happened in one phase of a case, as :func:`decide` needs it."""

    phase: Phase
    happened: Happened
    text: str = ""
    """The assertion or exception (``exconly``), the non-strict, skip or harness-error
    reason; empty for a pass."""
    note: str = ""
    """Information to show with a pass (Autobahn's INFORMATIONAL)."""

    @property
    def may_be_crash(self) -> bool:
        """Whether this outcome may be the symptom of a dying server, so worth a short wait
        for the process to exit. An n/a or a non-strict verdict is a judgement already
        made; a pass has nothing to explain."""
        return self.happened in (Happened.ASSERTION_FAILED, Happened.HARNESS_ERROR,
                                 Happened.BROKEN)


def outcome_of(phase: Phase, excinfo: pytest.ExceptionInfo[BaseException] | None, *,
               skipped: bool = False, skip_reason: str = "", note: str = "") -> Outcome:
    """Classify what pytest saw of a phase: its exception (None when it passed) and
    whether pytest reports it as skipped (with the reason)."""
    if excinfo is None:
        return Outcome(phase, Happened.PASSED, note=note)
    if excinfo.errisinstance(NonStrict):
        return Outcome(phase, Happened.NON_STRICT, str(excinfo.value))
    if skipped:
        return Outcome(phase, Happened.SKIPPED, skip_reason)
    if excinfo.errisinstance(AssertionError):
        return Outcome(phase, Happened.ASSERTION_FAILED, excinfo.exconly())
    if excinfo.errisinstance(HarnessError):
        return Outcome(phase, Happened.HARNESS_ERROR, str(excinfo.value))
    return Outcome(phase, Happened.BROKEN, excinfo.exconly())


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    message: str = ""


MESSAGE_LIMIT = 4000
"""Longest message a verdict carries into the reports."""


def clip(text: str, limit: int = MESSAGE_LIMIT) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n... [{len(text) - limit} more]"


def rests_on(requirement: Requirement) -> str:
    """The line that ends a *fail* message: the sentence the fail rests on."""
    return f'\nrests on {requirement.reference}: "{requirement.quote}"'


def decide(requirement: Requirement, outcome: Outcome, crash: str | None) -> Decision | None:
    """The verdict of one phase of a case, or None when the phase has none yet (set-up
    went fine: the case's call decides).

    ``crash`` says that the server process died during the phase; nothing that phase
    saw can then be held against the server, so it is an *error* whatever happened.
    A set-up that did not finish is an *error* too (the case never ran), unless it
    ended as n/a. A failed check is a *fail* only on a strict requirement (MUST or
    WILL, not derived), and then names the sentence it rests on.
    """
    happened = outcome.happened
    if outcome.phase is Phase.SETUP and happened is Happened.PASSED:
        return None
    if crash:
        return Decision(Verdict.ERROR, clip(crash))
    if happened is Happened.SKIPPED:
        return Decision(Verdict.NOT_APPLICABLE, clip(outcome.text))
    if outcome.phase is Phase.SETUP:
        return Decision(Verdict.ERROR, clip("case setup failed: " + outcome.text))
    if happened is Happened.PASSED:
        return Decision(Verdict.PASS, clip(outcome.note))
    if happened is Happened.NON_STRICT:
        return Decision(Verdict.NON_STRICT, clip(outcome.text))
    if happened is Happened.ASSERTION_FAILED:
        if requirement.strict:
            suffix = rests_on(requirement)
            return Decision(Verdict.FAIL,
                            clip(outcome.text, MESSAGE_LIMIT - len(suffix)) + suffix)
        kind = "derived requirement" if requirement.derived else requirement.level
        return Decision(Verdict.NON_STRICT,
                        clip(f"not followed ({kind}, so permitted): {outcome.text}"))
    if happened is Happened.HARNESS_ERROR:
        return Decision(Verdict.ERROR, clip(outcome.text))
    return Decision(Verdict.ERROR, clip("the case could not be judged: " + outcome.text))


# --- the run's exit status ------------------------------------------------------------------

FAILING: dict[str, frozenset[Verdict]] = {
    "fail": frozenset({Verdict.FAIL, Verdict.ERROR}),
    "error": frozenset({Verdict.ERROR}),
}
"""Per ``--fail-on`` value, the verdicts that make the exit status non-zero."""


def run_fails(verdicts: Iterable[Verdict], other_failures: int = 0, *,
              fail_on: str = "fail", regressions: int | None = None) -> bool:
    """Whether the run's exit status is a failure.

    ``other_failures`` counts what failed outside the conformance verdicts (a plain
    test, a teardown, a collection error): it always fails the run. Under
    ``--baseline`` (``regressions`` given, the number of cases worse than their
    baseline) only regressions count; otherwise ``--fail-on`` says which verdicts do.
    """
    if other_failures:
        return True
    if regressions is not None:
        return regressions > 0
    failing = FAILING[fail_on]
    return any(verdict in failing for verdict in verdicts)
