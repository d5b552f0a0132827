"""Verdicts: what the suite concludes about one case, and how a case says it.

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
*fail*: the spec allows the server to differ there (asgi-requirements legend).
"""

from __future__ import annotations

import enum
from typing import NoReturn

import pytest


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


_SEVERITY = {
    Verdict.PASS: 0,
    Verdict.NOT_APPLICABLE: 0,
    Verdict.NON_STRICT: 1,
    Verdict.FAIL: 2,
    Verdict.ERROR: 3,
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
