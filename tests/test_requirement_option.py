"""``--requirement ID``: only the cases judging a requirement run; a bad or empty selection
is a one-line usage error, never a traceback or a green run that judged nothing."""

from __future__ import annotations

import json

import pytest

from conformance.case_index import collect_cases
from conformance.selection import SelectionError, parse_requirements


def test_ids_are_repeatable_comma_separated_and_case_insensitive():
    assert parse_requirements(["http-046, MAIN-001", "RFC9112-6.1-1"]) == {
        "HTTP-046", "MAIN-001", "RFC9112-6.1-1"}


@pytest.mark.parametrize(("values", "expected"), [
    (["HTTP-46"], "--requirement 'HTTP-46' is not in the catalogue; close matches: HTTP-046"),
    (["HTTP-046,NOPE-XYZ-QQQ"], "--requirement 'NOPE-XYZ-QQQ' is not in the catalogue; see "
                                "docs/requirements.md for every ID"),
    ([" , "], "--requirement needs a requirement ID, e.g. --requirement HTTP-046"),
])
def test_bad_ids_are_named(values, expected):
    with pytest.raises(SelectionError) as info:
        parse_requirements(values)
    assert str(info.value).startswith(expected)
    assert "\n" not in str(info.value)


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=300)


def test_runs_only_the_cases_judging_the_requirements(pytester):
    """Against the reference server: two small requirements, one of them judged by cases
    in three files (HTTP/1.1, HTTP/2 and lifespan)."""
    result = run(pytester, "--server=reference", "--requirement", "HTTP-046",
                 "--requirement", "main-001")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    index = collect_cases()
    expected = set(index["HTTP-046"]) | set(index["MAIN-001"])
    assert len(expected) >= 3
    report = json.loads((pytester.path / "reports" / "reference.json").read_text())
    assert {c["case_id"] for c in report["cases"]} == expected
    assert {c["requirement"]["id"] for c in report["cases"]} == {"HTTP-046", "MAIN-001"}
    result.stdout.fnmatch_lines([f"*{len(expected)} passed, * deselected*"])


def test_unknown_requirement_is_a_usage_error(pytester):
    result = run(pytester, "--server=reference", "--requirement", "HTTP-46")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --requirement 'HTTP-46' is not in the catalogue; "
                                 "close matches: HTTP-046*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert not (pytester.path / "reports").exists(), "no server started, no report"


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_a_selection_that_leaves_nothing_is_an_error(pytester, workers):
    """Under pytest-xdist the workers collect, so the controller notices (its own hook)."""
    result = run(pytester, "--server=reference", "--requirement", "HTTP-046", "-k", "nomatch",
                 *workers)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    # on stderr as pytest's usage errors are; under xdist in the terminal summary (stdout)
    shown = result.stderr if not workers else result.stdout
    shown.fnmatch_lines(["ERROR: --requirement HTTP-046: no collected case judges "
                         "that requirement*nothing was run"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_a_baseline_is_not_written_from_a_selection(pytester):
    """A baseline written from one requirement's cases would call every other case
    missing at the next gated run: refused before anything runs."""
    result = run(pytester, "--server=reference", "--requirement", "HTTP-046",
                 "--write-baseline", "b.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--write-baseline records every case's verdict" in result.stderr.str()
    assert not (pytester.path / "b.json").exists()
