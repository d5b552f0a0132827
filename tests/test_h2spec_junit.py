"""The h2spec-shaped JUnit file: h2spec's layout and order, our verdicts, case ids that
line up with h2spec's own file."""

from __future__ import annotations

from pathlib import Path

from conformance.report import write_reports
from conformance.report.h2spec_junit import (
    build_h2spec_junit,
    compare,
    h2spec_id,
    read_h2spec_junit,
)
from conformance.report.model import CaseResult, RequirementInfo, RunReport, ServerInfo
from conformance.verdicts import Verdict

REQ = RequirementInfo("RFC9113-5.1-1", "RFC9113", "MUST", False, "RFC 9113 5.1", "q", "s")


def case(case_id: str, verdict: Verdict, message: str = "") -> CaseResult:
    return CaseResult(case_id, "title", REQ, verdict, message, 0.01)


def report(*cases: CaseResult) -> RunReport:
    return RunReport(ServerInfo("srv", "1", "cmd"), list(cases))


RUN = report(
    case("h2spec_streams::test_idle_stream[http2/5.1/2]", Verdict.FAIL, "no GOAWAY"),
    case("h2spec_streams::test_idle_stream[http2/5.1/1]", Verdict.PASS),
    case("h2spec_generic::test_request_answered[generic/3.10/1]", Verdict.NON_STRICT, "why"),
    case("h2spec_generic::test_request_answered[generic/3.9/2]", Verdict.NOT_APPLICABLE, "n/a"),
    case("h2spec_other::test_x[hpack/4.2/1]", Verdict.ERROR, "broke"),
    case("wire_fields::test_y[http2/5.1/9]", Verdict.FAIL),
)


def test_recognises_h2spec_cases_by_their_id():
    assert h2spec_id("h2spec_frames::test_a[http2/6.5.3/2]") == ("http2/6.5.3/2",
                                                                  "h2spec_frames")
    assert h2spec_id("wire_fields::test_y[http2/5.1/9]") is None
    assert h2spec_id("h2spec_streams::test_x[plain]") is None


def test_layout_order_and_outcomes():
    root = build_h2spec_junit(RUN)
    assert root is not None and root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("package") for s in suites] == [
        "generic/3.9", "generic/3.10", "http2/5.1", "hpack/4.2"]
    streams = suites[2]
    assert streams.get("name") == "5.1. Stream States" and streams.get("id") == "5.1"
    assert (streams.get("tests"), streams.get("failures")) == ("2", "1")
    first, second = streams.findall("testcase")
    assert first.get("name") == "http2/5.1/1" and first.get("classname") == (
        "idle: Sends a DATA frame")
    assert list(first) == [] and second.find("failure") is not None
    assert suites[0].find("testcase/skipped") is not None
    assert suites[0].get("skipped") == "1"
    assert suites[1].findtext("testcase/system-out") == "NON-STRICT: why"
    assert suites[3].get("errors") == "1" and suites[3].find("testcase/error") is not None
    assert [c.get("classname") for c in suites[3]] == ["title"]  # no table: the title


def test_written_beside_the_other_reports_only_when_there_are_h2spec_cases(tmp_path):
    paths = write_reports(RUN, tmp_path, "srv")
    assert paths["h2spec"] == tmp_path / "srv.h2spec.xml"
    assert "h2spec" not in write_reports(report(RUN.cases[-1]), tmp_path / "x", "srv")


H2SPEC_OWN = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="5.1. Stream States" package="http2/5.1" id="5.1" tests="2" skipped="0"
             failures="0" errors="0">
    <testcase package="http2/5.1" classname="idle: Sends a DATA frame" time="0.0010"></testcase>
    <testcase package="http2/5.1" classname="idle: Sends a RST_STREAM frame" time="0.0010">
    </testcase>
  </testsuite>
</testsuites>
"""


def test_compare_with_h2spec_own_file(tmp_path: Path):
    theirs = tmp_path / "h2spec.xml"
    theirs.write_text(H2SPEC_OWN)
    write_reports(RUN, tmp_path, "ours")
    ours = tmp_path / "ours.h2spec.xml"
    assert read_h2spec_junit(theirs)["http2/5.1/2"] == ("passed",
                                                       "idle: Sends a RST_STREAM frame")
    lines = compare(ours, theirs)
    assert any(line.startswith("http2/5.1/2: ours failure, h2spec passed") for line in lines)
    assert not any(line.startswith("http2/5.1/1:") for line in lines)
    assert any(line.startswith("generic/3.9/2: ours skipped, h2spec -") for line in lines)
