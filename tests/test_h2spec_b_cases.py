"""The h2spec port of RFC 9113 §6, §8 and RFC 7541 cannot pass vacuously: run against the
deliberately broken h2c server (tests/broken_h2_server.py), no case passes. A MUST case
fails; a derived one (hpack/4.2/1, http2/8.1.2.2/2) is at best non-strict.

The faults: ``lax`` (no error is ever detected, every request gets a fixed 200 whatever
the window), ``no-ping-ack``, ``ack-handshake-only`` (later SETTINGS are not
acknowledged) and ``goaway-internal`` (every frame but SETTINGS and PING is answered with
GOAWAY INTERNAL_ERROR, a code no case accepts, so most cases end at once rather than after
the error bound).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conformance.catalogue import lookup
from tests.test_plugin import load_report, run

BROKEN_H2 = str(Path(__file__).with_name("broken_h2_server.py"))
FAULTS = "lax,no-ping-ack,ack-handshake-only,goaway-internal"
SUITE = Path(__file__).resolve().parent.parent / "conformance" / "suite"
MODULES = ("test_h2spec_frames.py", "test_h2spec_http.py", "test_h2spec_hpack.py")
CASES = 68
"""h2spec 2.x: 42 cases in http2/6.*, 18 in http2/8.*, 8 in hpack/*."""


def test_no_h2spec_frame_http_or_hpack_case_passes_against_a_broken_server(
        pytester: pytest.Pytester) -> None:
    cmd = (f"{sys.executable} {BROKEN_H2} {FAULTS} --host {{host}} --port {{port}} "
           "--app {app}")
    result = run(pytester, "--server-cmd", cmd, "--server-name", "broken",
                 "--server-option", "h2c=", *(str(SUITE / m) for m in MODULES))
    cases = load_report(pytester, "broken")["cases"]
    assert len(cases) == CASES, result.stdout.str()[-3000:]
    wrong = [f"{c['case_id']}: {c['verdict']} {c['message'][:200]}" for c in cases
             if c["verdict"] not in ("fail", "non-strict")
             or (c["verdict"] == "non-strict" and lookup(c["requirement"]["id"]).strict)]
    assert not wrong, "\n".join(wrong)
