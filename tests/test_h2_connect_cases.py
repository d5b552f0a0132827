"""The cases of ``test_h2_connect`` cannot pass vacuously: against a broken h2 server (one
that answers without running the app, and sends its response before its SETTINGS after a
101) each of them fails."""

from __future__ import annotations

from tests.h2_broken_run import h2_verdicts


def test_every_connect_case_fails_against_a_broken_h2_server(pytester):
    verdicts = h2_verdicts(pytester, "test_h2_connect", "lax,upgrade",
                           "--server-option", "h2_tls=--tls {cert} {key}")
    assert len(verdicts) == 3, verdicts
    assert set(verdicts.values()) == {"fail"}, verdicts
