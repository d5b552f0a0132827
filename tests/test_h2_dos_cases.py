"""The HTTP/2 denial-of-service cases (conformance/suite/test_h2_dos.py) cannot pass
vacuously: run against a server that never ends an abusive connection and keeps
everything without limit (``tests/broken_h2_server.py hoard``), every case judges, none
passes, none is an error, and each says why in terms of what it measured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
BROKEN = ROOT / "tests" / "broken_h2_server.py"
MODULE = ROOT / "conformance" / "suite" / "test_h2_dos.py"
HOARD_CMD = (f"{sys.executable} {BROKEN} hoard --lifetime 600 "
             "--host {host} --port {port} --app {app}")


@pytest.fixture(scope="module")
def hoard_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run of the module against the hoarding server (about 40 s), in a pytest
    subprocess on this checkout (as tests/test_plugin.py runs the plugin), shared by the
    assertions below."""
    reports = tmp_path_factory.mktemp("h2dos-reports")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(MODULE),
         "--server-cmd", HOARD_CMD, "--server-name", "hoard", "--server-option", "h2c=",
         "--report-dir", str(reports)],
        cwd=ROOT, capture_output=True, text=True, timeout=400, check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)})
    path = reports / "hoard.json"
    assert path.is_file(), result.stdout[-3000:] + result.stderr[-3000:]
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def by_case(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {case["case_id"].split("::", 1)[1]: case for case in report["cases"]}


def test_every_case_judges_and_none_passes(hoard_report):
    cases = by_case(hoard_report)
    assert len(cases) == 10, sorted(cases)
    verdicts = {name: case["verdict"] for name, case in cases.items()}
    assert set(verdicts.values()) == {"non-strict"}, verdicts


def test_floods_are_judged_on_the_offender_or_on_memory(hoard_report):
    """Each flood names the criterion it fell on: the connection was never ended, or
    memory grew (with the queued ACKs, or with a header block kept forever)."""
    for name, case in by_case(hoard_report).items():
        if not name.startswith("test_flood"):
            continue
        message = case["message"]
        assert ("did not end the offending connection" in message
                or "memory grew by" in message), (name, message)
        assert "well-behaved client:" in message, (name, message)
    continuation = by_case(hoard_report)["test_flood_is_survived_and_cut_off"
                                         "[continuation_flood]"]["message"]
    assert "it keeps what it is sent" in continuation


def test_the_bomb_and_the_unread_responses_are_judged_on_what_was_kept(hoard_report):
    cases = by_case(hoard_report)
    assert "did not refuse a header list" in cases["test_hpack_bomb_is_refused"]["message"]
    for variant in ("data_dribble", "internal_buffering"):
        message = cases[f"test_responses_not_taken_are_not_buffered[{variant}]"]["message"]
        assert "memory grew by" in message, message
