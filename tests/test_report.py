"""The report writers: JSON round-trip, JUnit for CI, markdown and HTML for people.

The sample report holds every verdict and level, and evidence built to break naive
writers: an HTML payload, backtick runs longer than a markdown fence, NUL and other
control bytes (illegal in XML 1.0), a lone surrogate and non-ASCII text.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conformance.report import safe_basename, write_reports
from conformance.report.html import render_html, write_html
from conformance.report.json_report import read_json, write_json
from conformance.report.junit import write_junit
from conformance.report.markdown import render_markdown, write_markdown
from conformance.report.model import (
    CaseResult,
    Evidence,
    RequirementInfo,
    RunReport,
    ServerInfo,
)
from conformance.verdicts import Verdict

PAYLOAD = "<script>alert(1)</script>"
BACKTICKS = "a ````` five-backtick run"
CONTROL = "nul\x00 bell\x07 esc\x1b vt\x0b ff\x0c end"
UNICODE = "héllo wörld — 日本語 ✓"


def requirement(req_id: str, level: str, derived: bool = False) -> RequirementInfo:
    return RequirementInfo(
        id=req_id, group=req_id.split("-", 1)[0], level=level, derived=derived,
        reference=f"ASGI www.rst {req_id.lower()}",
        quote=f"quote for {req_id}: ``path`` is <b>decoded</b>",
        summary=f"summary of {req_id} | with a pipe and *stars*",
    )


def case(case_id: str, req: RequirementInfo, verdict: Verdict, message: str = "",
         evidence: Evidence | None = None) -> CaseResult:
    return CaseResult(case_id=case_id, title=f"title of {case_id}", requirement=req,
                      verdict=verdict, message=message, duration=0.25, evidence=evidence)


def sample_report() -> RunReport:
    fail_evidence = Evidence(
        sent="GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        received=f"HTTP/1.1 200 OK\r\n\r\n{PAYLOAD} {BACKTICKS}",
        app_records=f"app saw {CONTROL}",
        server_stderr=f"stderr {UNICODE}",
        notes=["first note", "lone surrogate \udc80 here"],
    )
    error_evidence = Evidence(server_stderr="Traceback: server crashed ERROR-EVIDENCE")
    cases = [
        case("http_scope::test_path", requirement("HTTP-001", "MUST"), Verdict.PASS),
        case("http_scope::test_method[GET]", requirement("HTTP-002", "MUST"), Verdict.FAIL,
             f"path was not decoded {PAYLOAD}", fail_evidence),
        case("app_errors::test_crash", requirement("MAIN-003", "WILL"), Verdict.ERROR,
             "server crashed", error_evidence),
        case("http_response::test_date", requirement("RFC9112-6.1-1", "SHOULD"),
             Verdict.NON_STRICT, "no Date header LENIENT-REASON"),
        case("http_scope::test_state", requirement("HTTP-009", "MAY"), Verdict.NOT_APPLICABLE,
             "server advertises spec_version 2.0 NA-REASON"),
        case("http_scope::test_derived", requirement("HTTP-010", "SHOULD", derived=True),
             Verdict.NON_STRICT, "derived lenient"),
        case("http_scope::test_will", requirement("HTTP-011", "WILL"), Verdict.PASS),
        case("http_scope::test_may", requirement("HTTP-012", "MAY"), Verdict.PASS),
    ]
    return RunReport(
        server=ServerInfo(
            name="uvicorn", version="0.30.1", command=f"uvicorn {{app}} --port 8000 {PAYLOAD}",
            advertised={"asgi.version": "3.0", "http.spec_version": None,
                        "http.extensions": ["http.response.trailers"]},
            stderr_tail=f"INFO started {UNICODE}",
        ),
        cases=cases, suite_version="0.1.0", started_at="2024-05-01T12:00:00+00:00",
        duration=3.5, session_errors=["worker gw1 crashed SESSION-ERROR"],
    )


def empty_report() -> RunReport:
    return RunReport(server=ServerInfo(name="empty", version="", command=""))


@pytest.fixture
def report() -> RunReport:
    return sample_report()


# --- JSON -----------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [sample_report, empty_report])
def test_json_round_trips(tmp_path: Path, make) -> None:
    original = make()
    path = tmp_path / "r.json"
    write_json(original, path)
    assert read_json(path).to_dict() == original.to_dict()


def test_json_is_stable_sorted_utf8(tmp_path: Path, report: RunReport) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    write_json(report, first)
    write_json(sample_report(), second)
    assert first.read_bytes() == second.read_bytes()
    text = first.read_bytes().decode("utf-8")
    assert text.startswith('{\n  "cases": [\n    {\n      "case_id"') and text.endswith("}\n")
    unsorted: list[list[str]] = []

    def check_order(pairs: list[tuple[str, object]]) -> dict[str, object]:
        keys = [k for k, _ in pairs]
        if keys != sorted(keys):
            unsorted.append(keys)
        return dict(pairs)

    data = json.loads(text, object_pairs_hook=check_order)
    assert unsorted == []
    assert data["totals"] == report.totals()


def test_json_keeps_non_ascii_readable_and_escapes_surrogates(tmp_path: Path,
                                                              report: RunReport) -> None:
    path = tmp_path / "r.json"
    write_json(report, path)
    text = path.read_text(encoding="utf-8")
    assert UNICODE in text
    assert "lone surrogate \\udc80 here" in text
    assert read_json(path).cases[1].evidence == report.cases[1].evidence


@pytest.mark.parametrize("content", [
    b"not json at all",
    b"\xff\xfe\x00garbage",
    b"[1, 2, 3]",
    b'{"schema": 99, "server": {}, "cases": []}',
    b'{"schema": 1, "cases": []}',
    b'{"schema": 1, "server": {"name": "x", "version": "1", "command": "c"}, "cases": 5}',
    b'{"schema": 1, "server": {"name": 7, "version": "1", "command": "c"}, "cases": []}',
    b'{"schema": 1, "server": {"name": "x", "version": "1", "command": "c", "bogus": 1},'
    b' "cases": []}',
])
def test_read_json_rejects_garbage(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"not a conformance report") as info:
        read_json(path)
    assert str(info.value).startswith(f"{path}: not a conformance report: ")


def test_read_json_rejects_mistyped_case(tmp_path: Path, report: RunReport) -> None:
    data = report.to_dict()
    data["cases"][2]["requirement"]["derived"] = "yes"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=re.escape("cases[2].requirement.derived")):
        read_json(path)


def test_read_json_rejects_bad_verdict_and_missing_file(tmp_path: Path,
                                                        report: RunReport) -> None:
    data = report.to_dict()
    data["cases"][0]["verdict"] = "maybe"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=re.escape(str(path))):
        read_json(path)
    missing = tmp_path / "missing.json"
    with pytest.raises(ValueError, match=re.escape(str(missing))):
        read_json(missing)


# --- JUnit ----------------------------------------------------------------------------------


def junit_tree(tmp_path: Path, report: RunReport) -> tuple[bytes, ET.Element]:
    path = tmp_path / "r.xml"
    write_junit(report, path)
    raw = path.read_bytes()
    return raw, ET.fromstring(raw)


def test_junit_counts_match_totals(tmp_path: Path, report: RunReport) -> None:
    _, root = junit_tree(tmp_path, report)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    totals = report.totals()
    assert suite.get("name") == "asgi-conformance[uvicorn]"
    assert suite.get("tests") == str(len(report.cases))
    assert suite.get("failures") == str(totals["fail"]) == "1"
    assert suite.get("errors") == str(totals["error"]) == "1"
    assert suite.get("skipped") == str(totals["n/a"]) == "1"
    assert float(suite.get("time", "")) == pytest.approx(3.5)
    testcases = suite.findall("testcase")
    assert len(testcases) == len(report.cases)
    assert len(suite.findall("testcase/failure")) == totals["fail"]
    assert len(suite.findall("testcase/error")) == totals["error"]
    assert len(suite.findall("testcase/skipped")) == totals["n/a"]


def test_junit_case_details(tmp_path: Path, report: RunReport) -> None:
    _, root = junit_tree(tmp_path, report)
    by_name = {tc.get("name"): tc for tc in root.iter("testcase")}
    failed = by_name["http_scope::test_method[GET]"]
    assert failed.get("classname") == "HTTP.http_scope"
    assert float(failed.get("time", "")) == pytest.approx(0.25)
    props = {p.get("name"): p.get("value") for p in failed.iter("property")}
    assert props == {"requirement": "HTTP-002", "level": "MUST", "derived": "false",
                     "reference": "ASGI www.rst http-002", "verdict": "fail"}
    failure = failed.find("failure")
    assert failure is not None and failure.text is not None
    assert failure.get("message") == f"path was not decoded {PAYLOAD}"
    assert PAYLOAD in failure.text and BACKTICKS in failure.text
    assert "nul bell esc vt ff end" in failure.text, "illegal XML characters are stripped"
    assert "Host: x" in (failed.findtext("system-out") or "")
    error = by_name["app_errors::test_crash"].find("error")
    assert error is not None and "ERROR-EVIDENCE" in (error.text or "")
    skipped = by_name["http_scope::test_state"].find("skipped")
    assert skipped is not None and "NA-REASON" in skipped.get("message", "")
    lenient = by_name["http_response::test_date"]
    assert lenient.find("failure") is None and lenient.find("skipped") is None
    assert "LENIENT-REASON" in (lenient.findtext("system-out") or "")
    assert "NON-STRICT" in (lenient.findtext("system-out") or "")


def test_junit_suite_properties_and_output(tmp_path: Path, report: RunReport) -> None:
    _, root = junit_tree(tmp_path, report)
    suite = root.find("testsuite")
    assert suite is not None
    props = {p.get("name"): p.get("value") for p in suite.findall("properties/property")}
    assert props["server.name"] == "uvicorn"
    assert props["server.version"] == "0.30.1"
    assert props["server.command"] == report.server.command
    assert props["advertised.asgi.version"] == "3.0"
    assert props["advertised.http.spec_version"] == "absent (assume 2.0)"
    assert props["advertised.http.extensions"] == "http.response.trailers"
    assert "SESSION-ERROR" in (suite.findtext("system-err") or "")


def test_junit_has_no_illegal_xml_characters(tmp_path: Path, report: RunReport) -> None:
    raw, _ = junit_tree(tmp_path, report)
    text = raw.decode("utf-8")
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", text)
    assert UNICODE in text


def test_junit_empty_report(tmp_path: Path) -> None:
    _, root = junit_tree(tmp_path, empty_report())
    suite = root.find("testsuite")
    assert suite is not None
    assert [suite.get(k) for k in ("tests", "failures", "errors", "skipped")] == ["0"] * 4
    assert suite.findall("testcase") == []


# --- markdown -------------------------------------------------------------------------------


def test_markdown_summary_tables(report: RunReport) -> None:
    text = render_markdown(report)
    assert text.startswith("# ASGI conformance: uvicorn 0.30.1\n")
    assert "| pass | 3 |" in text and "| fail | 1 |" in text and "| error | 1 |" in text
    assert "| non-strict | 2 |" in text and "| n/a | 1 |" in text
    assert "| **total** | **8** |" in text
    for row in ("| MUST | 1 | 0 | 1 | 0 | 0 | 2 |", "| WILL | 1 | 0 | 0 | 0 | 1 | 2 |",
                "| SHOULD | 0 | 2 | 0 | 0 | 0 | 2 |", "| MAY | 1 | 0 | 0 | 1 | 0 | 2 |"):
        assert row in text
    assert "| HTTP | 3 | 1 | 1 | 1 | 0 | 6 |" in text
    assert "absent (assume 2.0)" in text
    assert "http.response.trailers" in text


def test_markdown_session_errors_come_first(report: RunReport) -> None:
    text = render_markdown(report)
    assert text.index("SESSION-ERROR") < text.index("## Totals")


def test_markdown_failures_carry_evidence(report: RunReport) -> None:
    text = render_markdown(report)
    failures = text[text.index("## Failures and errors"):]
    assert "HTTP-002 (MUST)" in failures and "MAIN-003 (WILL)" in failures
    assert "ASGI www.rst http-002" in failures
    assert "GET / HTTP/1.1\\r" in failures
    assert PAYLOAD in failures and BACKTICKS in failures
    assert "ERROR-EVIDENCE" in failures
    assert "app saw nul\\x00 bell\\x07 esc\\e vt\\x0b ff\\x0c end" in failures
    assert "lone surrogate \\udc80 here" in failures
    assert "\x00" not in text


def test_markdown_fence_outlasts_backtick_runs(report: RunReport) -> None:
    text = render_markdown(report)
    lines = text.splitlines()
    payload_line = next(i for i, line in enumerate(lines) if BACKTICKS in line)
    opening = next(line for line in reversed(lines[:payload_line]) if line.startswith("```"))
    fence = re.match(r"`+", opening)
    assert fence is not None and len(fence.group()) > 5
    closing = next(line for line in lines[payload_line:] if line.startswith("```"))
    assert closing == fence.group()


def test_markdown_lists_lenient_and_na_with_reasons(report: RunReport) -> None:
    text = render_markdown(report)
    assert "## Non-strict" in text and "LENIENT-REASON" in text
    assert "(SHOULD, derived)" in text
    assert "## Not applicable" in text and "NA-REASON" in text


def test_markdown_escapes_table_text(report: RunReport) -> None:
    text = render_markdown(report)
    assert "summary of HTTP-001 \\| with a pipe and \\*stars\\*" in text
    outside_code = re.sub(r"`+[^`]*`+", "", text.split("## Failures and errors")[0])
    assert "<script>" not in outside_code


def test_markdown_empty_report(tmp_path: Path) -> None:
    path = tmp_path / "r.md"
    write_markdown(empty_report(), path)
    text = path.read_text(encoding="utf-8")
    assert "No cases were run." in text and "| **total** | **0** |" in text
    assert "Session errors" not in text


# --- HTML -----------------------------------------------------------------------------------

VOID = {"meta", "br", "hr", "img", "input", "link", "wbr", "col", "source"}


class Checker(HTMLParser):
    """Records resources the page would load and checks that elements nest properly."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.links: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.links.extend(v or "" for k, v in attrs if k in ("src", "href"))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(page: str) -> Checker:
    checker = Checker()
    checker.feed(page)
    checker.close()
    return checker


@pytest.mark.parametrize("make", [sample_report, empty_report])
def test_html_parses_and_is_self_contained(make) -> None:
    page = render_html(make())
    checker = parse_html(page)
    assert checker.problems == [] and checker.stack == []
    assert not any(link.startswith(("http://", "https://", "//")) for link in checker.links)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert 'table class="matrix"' in page
    assert "\x00" not in page


def test_html_escapes_payload(report: RunReport) -> None:
    page = render_html(report)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    assert [tag for tag, _ in parse_html(page).tags if tag == "script"] == []


def test_html_content(report: RunReport) -> None:
    page = render_html(report)
    checker = parse_html(page)
    text = "".join(checker.text)
    assert "uvicorn" in text and "0.30.1" in text and "absent (assume 2.0)" in text
    assert text.index("SESSION-ERROR") < text.index("By requirement group")
    details = [a for tag, a in checker.tags if tag == "details" and a.get("class") == "case"]
    not_passed = [c for c in report.cases if c.verdict is not Verdict.PASS]
    assert len(details) == len(not_passed) == 5
    for needle in ("LENIENT-REASON", "NA-REASON", "ERROR-EVIDENCE", BACKTICKS, UNICODE,
                   "nul\\x00 bell\\x07", "quote for HTTP-002", "ASGI www.rst http-002"):
        assert needle in text
    assert PAYLOAD in text, "the payload shows as text once the escapes are decoded"
    classes = [a.get("class") or "" for tag, a in checker.tags if tag == "td"]
    assert {"v-pass", "v-fail", "v-error", "v-non-strict", "v-na", "zero"} <= set(classes)


def test_html_written_as_utf8(tmp_path: Path, report: RunReport) -> None:
    path = tmp_path / "r.html"
    write_html(report, path)
    assert UNICODE in path.read_text(encoding="utf-8")


# --- write_reports / safe_basename ----------------------------------------------------------


def test_write_reports_writes_every_format(tmp_path: Path, report: RunReport) -> None:
    directory = tmp_path / "nested" / "reports"
    paths = write_reports(report, directory, "uvicorn")
    assert paths == {
        "json": directory / "uvicorn.json", "junit": directory / "uvicorn.xml",
        "markdown": directory / "uvicorn.md", "html": directory / "uvicorn.html",
    }
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths.values())
    assert read_json(paths["json"]).to_dict() == report.to_dict()
    ET.parse(paths["junit"])


def test_write_reports_empty_report(tmp_path: Path) -> None:
    paths = write_reports(empty_report(), tmp_path, safe_basename("empty"))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths.values())


@pytest.mark.parametrize(("name", "expected"), [
    ("uvicorn", "uvicorn"),
    ("my server/1.0", "my-server-1.0"),
    ("hyper_corn-0.17.x", "hyper_corn-0.17.x"),
    ("a\\b:c*d?", "a-b-c-d-"),
    ("../../etc/passwd", "etc-passwd"),
    ("-rf", "rf"),
    ("sérvér", "s-rv-r"),
    ("", "server"),
    ("...", "server"),
    ("日本", "server"),
])
def test_safe_basename(name: str, expected: str) -> None:
    assert safe_basename(name) == expected


def test_safe_basename_is_bounded() -> None:
    assert 0 < len(safe_basename("x" * 1000)) <= 100


# --- links to the requirement catalogue page ------------------------------------------------

PAGE = "../docs/requirements.html"


def linked_report() -> RunReport:
    report = sample_report()
    report.catalogue_url = PAGE
    return report


def test_markdown_links_failed_and_non_strict_cases_to_the_catalogue() -> None:
    text = render_markdown(linked_report())
    failures = text[text.index("## Failures and errors"):text.index("## Non-strict")]
    assert f"- **Catalogue:** [HTTP-002]({PAGE}#HTTP-002)" in failures
    assert f"[MAIN-003]({PAGE}#MAIN-003)" in failures, "errors link too"
    lenient = text[text.index("## Non-strict"):text.index("## Not applicable")]
    assert f"[RFC9112-6.1-1 (SHOULD)]({PAGE}#RFC9112-6.1-1)" in lenient
    assert f"({PAGE}#HTTP-001)" not in text, "a pass does not link"
    assert f"({PAGE}#HTTP-009)" not in text, "an n/a does not link"
    assert "Catalogue:" not in render_markdown(sample_report()), "no page, no link"


def test_markdown_link_url_cannot_break_out() -> None:
    report = linked_report()
    report.catalogue_url = "docs dir/page (1).html"
    text = render_markdown(report)
    assert "[HTTP-002](docs%20dir/page%20%281%29.html#HTTP-002)" in text


def test_html_links_failed_and_non_strict_cases_to_the_catalogue() -> None:
    page = render_html(linked_report())
    hrefs = [a.get("href") for tag, a in parse_html(page).tags if tag == "a"]
    assert sorted(h for h in hrefs if h) == sorted(
        f"{PAGE}#{rid}" for rid in ("HTTP-002", "MAIN-003", "RFC9112-6.1-1", "HTTP-010"))
    assert [tag for tag, _ in parse_html(render_html(sample_report())).tags if tag == "a"] == []


def test_json_keeps_the_catalogue_url_and_reads_schema_1(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    write_json(linked_report(), path)
    data = json.loads(path.read_text())
    assert data["schema"] == 2 and data["catalogue_url"] == PAGE
    assert read_json(path).requirement_url("HTTP-046") == f"{PAGE}#HTTP-046"
    del data["catalogue_url"]
    data["schema"] = 1
    path.write_text(json.dumps(data))
    assert read_json(path).catalogue_url == ""


def test_the_default_link_reaches_the_committed_page_from_reports() -> None:
    """For this repository's reports/ the link is ../docs/requirements.html, and the page
    there has the anchor."""
    from conformance.session import CATALOGUE_PAGE, catalogue_url

    root = Path(__file__).resolve().parent.parent
    url = catalogue_url(None, root / "reports")
    assert url == PAGE
    assert 'id="HTTP-046"' in (root / "reports" / url).resolve().read_text(encoding="utf-8")
    assert (root / "docs" / "requirements.html") == CATALOGUE_PAGE
    assert catalogue_url("", root / "reports") == "", "'' turns links off"
    assert catalogue_url("https://example.org/r.html", root) == "https://example.org/r.html"
    assert catalogue_url(None, root, page=root / "no-such-page.html") == ""
