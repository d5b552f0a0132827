"""The plugin end to end, in a separate pytest process run from a scratch directory (as a
server author would run it from their own repo), against deliberately broken servers."""

from __future__ import annotations

import importlib.metadata
import json
import sys
from pathlib import Path
from typing import Any

import pytest

BROKEN = str(Path(__file__).with_name("broken_server.py"))


def broken_cmd(mode: str) -> str:
    return f"{sys.executable} {BROKEN} {mode} --host {{host}} --port {{port}} --app {{app}}"


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=400)


def load_report(pytester: pytest.Pytester, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((pytester.path / "reports" / f"{name}.json").read_text())
    return data


def verdicts(report: dict[str, Any]) -> dict[str, int]:
    return {k: v for k, v in report["totals"].items() if v}


def test_plugin_is_registered_as_pytest11_entry_point():
    names = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="pytest11")}
    assert names.get("asgi_conformance") == "conformance.plugin"


def test_unknown_server_is_a_usage_error(pytester):
    result = run(pytester, "--server=nginx")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown server 'nginx'*--server-cmd*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_template_without_port_is_a_usage_error(pytester):
    result = run(pytester, "--server-cmd", "myserver {app} --host {host}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--server-cmd: the template must contain {port}*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_a_bad_server_option_is_a_usage_error(pytester):
    result = run(pytester, "--server-cmd", "myserver {app} --host {host} --port {port}",
                 "--server-option", "prefix=--root-path {value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--server-option 'prefix=--root-path {value}'*root_path*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


UVICORN_CMD = f"{sys.executable} -m uvicorn {{app}} --host {{host}} --port {{port}}"
ROOT_PATH_CASES = ("-k", "test_configured_root_path or test_path_includes_root_path")


def test_server_options_make_option_cases_apply_to_a_custom_command(pytester):
    """A server run through --server-cmd gets n/a for cases that need an option, with the
    way out in the message; --server-option tells the harness the option and the same
    cases then judge the server (uvicorn: it honours --root-path)."""
    pytest.importorskip("uvicorn")
    plain = run(pytester, "--server-cmd", UVICORN_CMD, "--server-name", "plain",
                *ROOT_PATH_CASES)
    cases = load_report(pytester, "plain")["cases"]
    assert cases and all(c["verdict"] == "n/a" for c in cases), plain.stdout.str()
    assert all("--server-option 'root_path=ARGS'" in c["message"] for c in cases)

    told = run(pytester, "--server-cmd", UVICORN_CMD, "--server-name", "told",
               "--server-option", "root_path=--root-path {value}", *ROOT_PATH_CASES)
    cases = load_report(pytester, "told")["cases"]
    assert len(cases) == 2 and all(c["verdict"] == "pass" for c in cases), told.stdout.str()


def test_server_that_never_listens_fails_fast(pytester):
    result = run(pytester, "--server-cmd", broken_cmd("never-listen"),
                 "--server-start-timeout", "2", "--server-name", "mute")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    output = result.stdout.str()
    assert "did not listen on 127.0.0.1:" in output and "within 2 s" in output
    assert "broken server (never-listen)" in output, "the server's stderr is shown"
    report = load_report(pytester, "mute")
    assert any("did not listen" in e for e in report["session_errors"])


def test_wrong_responses_are_failures_with_evidence(pytester):
    """A server answering every request with the same wrong response: the whole suite
    runs to verdicts (fail, with evidence), none of them an error, none hanging."""
    result = run(pytester, "--server-cmd", broken_cmd("fixed"), "--server-name", "fixed")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = load_report(pytester, "fixed")
    totals = verdicts(report)
    assert totals.get("error", 0) == 0, [c for c in report["cases"] if c["verdict"] == "error"]
    assert totals.get("fail", 0) > 20
    for case in report["cases"]:
        if case["verdict"] == "fail" and case["case_id"].startswith("autobahn::"):
            # WebSocket cases use no probe: their message carries the client's wire log
            assert "wire log" in case["message"], case["case_id"]
        elif case["verdict"] == "fail" and case["case_id"].startswith("frameworks::"):
            # Framework cases talk through httpx and websockets: their message ends with
            # the client log (request and response heads, WebSocket frames)
            assert "client log:" in case["message"], case["case_id"]
        elif case["verdict"] == "fail":
            evidence = case["evidence"]
            assert "x-probe-id" in evidence["sent"], case["case_id"]
            assert case["message"], case["case_id"]
    received = [c["evidence"]["received"] for c in report["cases"] if c["verdict"] == "fail"]
    assert any("wrong" in r for r in received)
    for suffix in ("json", "xml", "md", "html"):
        assert (pytester.path / "reports" / f"fixed.{suffix}").is_file()


def test_closed_connections_are_failures_not_errors(pytester):
    result = run(pytester, "--server-cmd", broken_cmd("close"), "--server-name", "closer",
                 "-k", "scope or response")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = load_report(pytester, "closer")
    assert verdicts(report).get("error", 0) == 0
    assert verdicts(report).get("fail", 0) > 10


def test_fail_on_error_keeps_failures_from_failing_the_run(pytester):
    result = run(pytester, "--server-cmd", broken_cmd("fixed"), "--server-name", "fixed",
                 "--fail-on=error", "-k", "test_status_code_on_the_wire")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*--fail-on=error: * failed case(s) do not fail this run*"])
    assert verdicts(load_report(pytester, "fixed")).get("fail", 0) > 0


def test_fail_on_says_which_verdicts_fail_the_run(pytester):
    """--fail-on=fail: a failed case fails the run; --fail-on=error: only a harness
    error, or a failure outside the conformance cases, does (README, "Exit status")."""
    pytester.makepyfile(test_cases=CASES, test_plain="def test_plain():\n    assert False\n")

    def status(*args: str) -> int:
        return run(pytester, "--server-cmd", broken_cmd("fixed"), "--server-name", "v",
                   *args).ret

    judged = ("-k", "passes or fails or non_strict or applicable")
    assert status("test_cases.py", *judged) == pytest.ExitCode.TESTS_FAILED
    assert status("test_cases.py", "--fail-on=error", *judged) == pytest.ExitCode.OK
    assert status("test_cases.py", "--fail-on=error", "-k", "passes or harness_bug") \
        == pytest.ExitCode.TESTS_FAILED
    assert status("test_cases.py", "test_plain.py", "--fail-on=error", "-k",
                  "passes or fails or plain") == pytest.ExitCode.TESTS_FAILED


def test_crash_is_an_error_on_its_case_and_the_run_goes_on(pytester):
    result = run(pytester, "--server-cmd", broken_cmd("crash-on-3"), "--server-name", "crashy",
                 "--fail-on=error", "-k", "test_status_code_on_the_wire")
    # The harness's first request (the profile) counts: the 2nd case's request crashes it.
    assert result.ret == pytest.ExitCode.TESTS_FAILED, "an error always fails the run"
    report = load_report(pytester, "crashy")
    errors = [c for c in report["cases"] if c["verdict"] == "error"]
    assert len(errors) >= 1
    assert "exited with status 3" in errors[0]["message"]
    assert "crash-on-3: exiting" in errors[0]["evidence"]["server_stderr"]
    judged_after = [c for c in report["cases"] if c["verdict"] == "fail"]
    assert judged_after, "cases after the crash are judged on a restarted server"


CASES = '''
import os
import pytest
from conformance.verdicts import non_strict, not_applicable

@pytest.mark.requirement("HTTP-030")
def test_passes(server):
    pass

@pytest.mark.requirement("HTTP-030")
def test_fails(server):
    assert 1 == 2, "the server said 2"

@pytest.mark.requirement("HTTP-015")
def test_should_failure_is_non_strict(server):
    assert False, "names not lowercased"

@pytest.mark.requirement("HTTP-030")
def test_explicit_non_strict(server):
    non_strict("accepted a lenient form the RFC permits")

@pytest.mark.requirement("HTTP-046")
def test_not_applicable(server):
    not_applicable("server advertised spec_version 2.3; this needs 2.4")

@pytest.mark.requirement("HTTP-030")
def test_harness_bug_is_an_error(server):
    {}["missing"]

@pytest.mark.requirement("HTTP-030")
def test_flips(server):
    if os.environ.get("FLIP") == "lenient":
        non_strict("more lenient than before")
    assert os.environ.get("FLIP") != "worse", "regressed on purpose"

@pytest.mark.requirement("HTTP-030")
@pytest.mark.timing_dependent("a race the server does not control")
def test_racy(server):
    if os.environ.get("FLIP") == "worse":
        non_strict("lost the race this time")
'''
"""Sample conformance cases, one per way a case can end (and two whose verdict an
environment variable moves, for the baseline tests)."""


def test_verdicts_map_onto_pytest_outcomes(pytester):
    pytester.makepyfile(test_cases=CASES)
    result = run(pytester, "--server-cmd", broken_cmd("fixed"), "--server-name", "v", "-v",
                 "test_cases.py")
    result.stdout.fnmatch_lines([
        "*test_passes PASSED*",
        "*test_fails FAILED*",
        "*test_should_failure_is_non_strict NON-STRICT*",
        "*test_explicit_non_strict NON-STRICT*",
        "*test_not_applicable N/A*",
        "*test_harness_bug_is_an_error ERROR*",
    ])
    cases = {c["case_id"].split("::")[1]: c for c in load_report(pytester, "v")["cases"]}
    assert cases["test_passes"]["verdict"] == "pass"
    assert cases["test_fails"]["verdict"] == "fail"
    assert "the server said 2" in cases["test_fails"]["message"]
    assert cases["test_fails"]["message"].endswith(
        '\nrests on ASGI www.rst Response Start - send event (203): '
        '"``status`` (*int*) -- HTTP status code."'), "a fail names the sentence it rests on"
    assert cases["test_should_failure_is_non_strict"]["verdict"] == "non-strict"
    assert cases["test_explicit_non_strict"]["verdict"] == "non-strict"
    assert cases["test_not_applicable"]["verdict"] == "n/a"
    assert "spec_version 2.3" in cases["test_not_applicable"]["message"]
    assert cases["test_harness_bug_is_an_error"]["verdict"] == "error"
    assert "KeyError" in cases["test_harness_bug_is_an_error"]["message"]


@pytest.mark.parametrize(("source", "expected"), [
    ("def test_unnamed(server):\n    pass\n",
     "*test_unnamed: a conformance case must name exactly one*"),
    ("import pytest\n\n@pytest.mark.requirement('HTTP-999')\ndef test_unknown(probe):\n"
     "    pass\n",
     "*requirement 'HTTP-999' is not in the catalogue*"),
], ids=["no-requirement", "unknown-requirement"])
def test_a_case_must_name_a_catalogued_requirement(pytester, source, expected):
    pytester.makepyfile(test_bad=source)
    result = run(pytester, "--server-cmd", broken_cmd("fixed"), "test_bad.py")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines([expected])


def test_plain_tests_are_left_alone(pytester):
    """Installed in a project, the plugin must not touch that project's own tests."""
    pytester.makepyfile(test_mine="def test_mine():\n    assert True\n")
    result = run(pytester)
    result.assert_outcomes(passed=1)
    assert not (pytester.path / "reports").exists()
