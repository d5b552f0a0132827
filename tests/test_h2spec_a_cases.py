"""The ported h2spec cases (generic, and http2 §3.5 to §5.5) can fail: against the
deliberately broken h2c server none of them passes, none is an error, and the run writes
an h2spec-shaped JUnit file with every case in it."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

BROKEN_H2 = str(Path(__file__).with_name("broken_h2_server.py"))
FAULTS = "lax,no-ping-ack,ping-first,keep-open,wrong-stream,settings-ack-once"
MODULES = "h2spec_generic or h2spec_streams"
CASES = 78
"""h2spec 2.x's generic cases (44) and http2 §3.5 to §5.5 (34)."""


def test_no_h2spec_case_passes_against_a_broken_server(pytester: pytest.Pytester):
    command = (f"{sys.executable} {BROKEN_H2} {FAULTS} --lifetime 300 --host {{host}} "
               "--port {port} --app {app}")
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-k", MODULES, "--server-cmd", command,
        "--server-name", "broken", "--server-option", "h2c=", timeout=300)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = json.loads((pytester.path / "reports" / "broken.json").read_text())
    cases = [c for c in report["cases"] if c["case_id"].startswith(("h2spec_generic::",
                                                                    "h2spec_streams::"))]
    assert len(cases) == CASES
    wrong = [(c["case_id"], c["verdict"], c["message"][:200]) for c in cases
             if c["verdict"] not in ("fail", "non-strict")]
    assert not wrong, wrong
    for case in cases:
        if case["verdict"] == "non-strict":
            assert case["requirement"]["level"] in ("SHOULD", "MAY") \
                or case["requirement"]["derived"], case["case_id"]

    junit = ET.parse(pytester.path / "reports" / "broken.h2spec.xml").getroot()
    names = [case.get("name") for case in junit.iter("testcase")]
    assert len(names) == CASES and names[0] == "generic/1/1" and names[-1] == "http2/5.5/2"
    failures = sum(int(suite.get("failures", "0")) for suite in junit.iter("testsuite"))
    assert failures == sum(c["verdict"] == "fail" for c in cases)
