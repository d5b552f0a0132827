"""Baselines: the comparison rules, the file format and its errors, and the gate end to end.

A server author's CI relies on three things: a run that matches its baseline is green even
with known failures; any case that gets worse turns it red and names the case; a baseline
that is unreadable or for another server stops the run with one clear line before any
case runs.
"""

from __future__ import annotations

import json

import pytest

from conformance.baseline import Baseline, BaselineError, compare, read_baseline
from conformance.report.json_report import write_json
from conformance.report.model import CaseResult, RequirementInfo, RunReport, ServerInfo
from conformance.verdicts import Verdict
from tests.test_plugin import CASES, broken_cmd
from tests.test_plugin import run as run_plugin

REQ = RequirementInfo(id="HTTP-030", group="HTTP", level="MUST", derived=False,
                      reference="www.rst", quote="q", summary="s")


def result(case_id: str, verdict: Verdict) -> CaseResult:
    return CaseResult(case_id=case_id, title=case_id, requirement=REQ, verdict=verdict)


def baseline(**cases: str) -> Baseline:
    return Baseline(server="srv", cases={k: Verdict(v) for k, v in cases.items()})


@pytest.mark.parametrize(("before", "after", "kind"), [
    ("pass", "fail", "regressions"),
    ("pass", "non-strict", "regressions"),
    ("pass", "error", "regressions"),
    ("fail", "error", "regressions"),
    ("n/a", "fail", "regressions"),
    ("non-strict", "fail", "regressions"),
    ("fail", "pass", "improvements"),
    ("error", "fail", "improvements"),
    ("non-strict", "pass", "improvements"),
    ("pass", "n/a", "other_changes"),
    ("n/a", "pass", "other_changes"),
    ("n/a", "non-strict", "other_changes"),
])
def test_a_verdict_that_moves_is_classified_by_severity(before, after, kind):
    outcome = compare(baseline(a=before), [result("a", Verdict(after))])
    moved = getattr(outcome, kind)
    assert [(c.case_id, c.before.value, c.after.value) for c in moved] == [("a", before, after)]
    others = {"regressions", "improvements", "other_changes"} - {kind}
    assert all(not getattr(outcome, other) for other in others)


@pytest.mark.parametrize(("before", "after", "kind"), [
    ("pass", "non-strict", "other_changes"),
    ("non-strict", "pass", "other_changes"),
    ("pass", "fail", "regressions"),
    ("non-strict", "fail", "regressions"),
])
def test_a_timing_dependent_case_may_alternate_between_pass_and_non_strict(before, after,
                                                                          kind):
    racy = result("a", Verdict(after))
    racy.timing_dependent = "a race"
    outcome = compare(baseline(a=before), [racy])
    assert [c.case_id for c in getattr(outcome, kind)] == ["a"]
    assert outcome.compared == 1
    if kind == "other_changes":
        assert "(timing-dependent verdict)" in "\n".join(outcome.render())


def test_new_missing_and_unchanged_cases_are_counted_not_gated():
    outcome = compare(baseline(a="fail", gone="pass"),
                      [result("a", Verdict.FAIL), result("fresh", Verdict.FAIL)])
    assert outcome.unchanged == 1
    assert outcome.new_cases == [("fresh", Verdict.FAIL)]
    assert outcome.missing_cases == ["gone"]
    assert not outcome.regressions
    text = "\n".join(outcome.render())
    assert "0 regression(s)" in text and "fresh: fail" in text and "gone" in text


def test_baseline_file_round_trips_and_is_stable(tmp_path):
    original = Baseline(server="uvicorn", server_version="1.0", suite_version="0.1.0",
                        cases={"b::t": Verdict.FAIL, "a::t": Verdict.NOT_APPLICABLE})
    path = tmp_path / "base.json"
    original.write(path)
    assert read_baseline(path) == original
    assert path.read_text() == original.to_json()
    assert list(json.loads(path.read_text())["cases"]) == ["a::t", "b::t"]  # sorted


def test_a_json_report_serves_as_a_baseline(tmp_path):
    report = RunReport(server=ServerInfo(name="hyper", version="2", command="c"),
                       cases=[result("x::t", Verdict.NON_STRICT)], suite_version="0.1.0")
    path = tmp_path / "hyper.json"
    write_json(report, path)
    loaded = read_baseline(path)
    assert loaded.server == "hyper" and loaded.cases == {"x::t": Verdict.NON_STRICT}


@pytest.mark.parametrize(("content", "expected"), [
    (None, "no such baseline file"),
    (b"{not json", "unreadable baseline"),
    (b"[1, 2]", "top level is list"),
    (b'{"hello": 1}', "not a baseline"),
    (b'{"kind": "asgi-conformance-baseline", "schema": 99, "server": "s", "cases": {}}',
     "schema 99"),
    (b'{"kind": "asgi-conformance-baseline", "schema": 1, "server": "s", "cases": []}',
     '"cases" object'),
    (b'{"kind": "asgi-conformance-baseline", "schema": 1, "server": "s", '
     b'"cases": {"a": "great"}}', "'great'"),
    (b'{"schema": 1, "server": {}, "cases": [{"case_id": 1}]}', "not a conformance report"),
])
def test_a_bad_baseline_is_one_clear_error_naming_the_file(tmp_path, content, expected):
    path = tmp_path / "base.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(BaselineError) as info:
        read_baseline(path)
    assert str(info.value).startswith(str(path))
    assert expected in str(info.value)


# --- end to end: the gate in a separate pytest process --------------------------------------


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return run_plugin(pytester, "--server-cmd", broken_cmd("fixed"), "--server-name", "mine",
                      "test_cases.py", *args)


def test_the_gate_fails_only_on_regressions(pytester, monkeypatch):
    pytester.makepyfile(test_cases=CASES)
    first = run(pytester, "--write-baseline", "base.json")
    assert first.ret == pytest.ExitCode.TESTS_FAILED  # no baseline yet: a failure fails
    written = json.loads((pytester.path / "base.json").read_text())
    assert written["server"] == "mine"
    assert written["cases"] == {"cases::test_explicit_non_strict": "non-strict",
                                "cases::test_fails": "fail",
                                "cases::test_flips": "pass",
                                "cases::test_harness_bug_is_an_error": "error",
                                "cases::test_not_applicable": "n/a",
                                "cases::test_passes": "pass",
                                "cases::test_racy": "pass",
                                "cases::test_should_failure_is_non_strict": "non-strict"}

    # Known failures and errors, unchanged: green.
    same = run(pytester, "--baseline", "base.json")
    assert same.ret == pytest.ExitCode.OK, same.stdout.str()
    same.stdout.fnmatch_lines(["*0 regression(s)*", "*no case got worse than the baseline*"])

    # pass -> non-strict is a regression, though every case passed in pytest's eyes.
    monkeypatch.setenv("FLIP", "lenient")
    lenient = run(pytester, "--baseline", "base.json", "-k", "flips or passes")
    assert lenient.ret == pytest.ExitCode.TESTS_FAILED, lenient.stdout.str()
    lenient.stdout.fnmatch_lines(["*cases::test_flips: pass -> non-strict*"])

    monkeypatch.setenv("FLIP", "worse")
    worse = run(pytester, "--baseline", "base.json")
    assert worse.ret == pytest.ExitCode.TESTS_FAILED
    # test_racy went pass -> non-strict too, but it is marked timing-dependent: a
    # change to report, not a regression to gate on.
    worse.stdout.fnmatch_lines(["*1 regression(s)*1 other change(s)*",
                                "*cases::test_flips: pass -> fail*",
                                "*cases::test_racy: pass -> non-strict (timing-dependent*",
                                "*got worse than the baseline*"])
    comparison = (pytester.path / "reports" / "mine-baseline.md").read_text()
    assert "cases::test_flips: pass -> fail" in comparison


@pytest.mark.parametrize(("owner", "case", "stream", "line"), [
    ("uvicorn", "cases::test_passes", "stderr",
     "*baseline is for server 'uvicorn', this run is 'mine'*"),
    ("mine", "elsewhere::test_x", "stdout", "*shares no case with this run*"),
], ids=["another-server", "no-shared-case"])
def test_a_baseline_that_cannot_gate_the_run_is_a_usage_error(pytester, owner, case, stream,
                                                              line):
    pytester.makepyfile(test_cases=CASES)
    (pytester.path / "base.json").write_text(
        Baseline(server=owner, cases={case: Verdict.PASS}).to_json())
    result = run(pytester, "--baseline", "base.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    getattr(result, stream).fnmatch_lines([line])
    assert "Traceback" not in result.stderr.str()
    if owner != "mine":  # known before any case runs: nothing ran, no report
        assert not (pytester.path / "reports").exists()


def test_a_failure_outside_the_cases_fails_a_baseline_run(pytester):
    pytester.makepyfile(test_cases=CASES, test_plain="def test_plain():\n    assert False\n")
    assert run(pytester, "--write-baseline", "base.json", "-k", "passes").ret \
        == pytest.ExitCode.OK
    result = run(pytester, "test_plain.py", "--baseline", "base.json", "-k",
                 "passes or plain")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    result.stdout.fnmatch_lines(["*no case got worse than the baseline*"])
