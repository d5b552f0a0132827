"""The cross-server comparison: what it shows, that it is stable, the command around it, and
that its HTML renders in a real browser (headless Chromium) without console errors.

Users read the matrix to pick a server and server authors read the disagreement rows to
find their deviations, so the tests check those against hand-made runs whose verdicts
are known, including hostile text (a server's ``<script>`` must stay text).
"""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import compare
from conformance.report.browser import check_page
from conformance.report.comparison import (
    Column,
    Comparison,
    render_comparison_html,
    render_summary,
    write_comparison,
)
from conformance.report.html import write_html
from conformance.report.json_report import write_json
from conformance.report.model import CaseResult, RequirementInfo, RunReport, ServerInfo
from conformance.verdicts import Verdict

BROKEN = str(Path(__file__).with_name("broken_server.py"))
PAYLOAD = "<script>console.error('injected')</script>"


def req(req_id: str, group: str, level: str = "MUST") -> RequirementInfo:
    return RequirementInfo(id=req_id, group=group, level=level, derived=False,
                           reference="ref", quote="quote", summary=f"summary {PAYLOAD}")


def run(name: str, version: str, verdicts: dict[str, Verdict], message: str = "") -> RunReport:
    groups = {"scope": ("HTTP-008", "HTTP"), "smuggle": ("RFC9112-6.1-3", "RFC9112"),
              "deflate": ("AB-12.1", "AB"), "start": ("LIFE-004", "LIFE")}
    cases = [CaseResult(case_id=f"{key}::test_{key}", title=key,
                        requirement=req(*groups[key]), verdict=verdict, message=message)
             for key, verdict in verdicts.items()]
    return RunReport(server=ServerInfo(name=name, version=version, command="cmd",
                                       advertised={"http.spec_version": "2.3"}),
                     cases=cases, suite_version="0.1.0")


P, F, NA, NS = Verdict.PASS, Verdict.FAIL, Verdict.NOT_APPLICABLE, Verdict.NON_STRICT


def sample() -> Comparison:
    return Comparison([
        Column("alpha", run("alpha", "1.0", {"scope": P, "smuggle": P, "deflate": P,
                                            "start": P})),
        Column("beta", run("beta", "2.0", {"scope": P, "smuggle": F, "deflate": NA,
                                          "start": NS}, message=PAYLOAD)),
        Column("gamma", problem="not run: server 'gamma' is not installed"),
    ], command="python -m conformance compare --servers alpha,beta,gamma",
        python="3.11.7", platform="Linux x86_64")


def test_disagreements_are_the_cases_whose_verdicts_differ():
    rows = sample().disagreements()
    assert [case_id for case_id, _, _ in rows] == [
        "start::test_start", "smuggle::test_smuggle", "deflate::test_deflate"]  # group order
    _, first, results = rows[1]
    assert first.requirement.id == "RFC9112-6.1-3"
    assert [r.verdict if r else None for r in results] == [P, F, None]


def test_summary_states_versions_totals_groups_and_real_disagreements():
    text = render_summary(sample())
    assert "python -m conformance compare --servers alpha,beta,gamma" in text
    assert "| alpha | 1.0 |" in text and "| beta | 2.0 |" in text
    assert "not run: server 'gamma' is not installed" in text
    assert "| beta | 1 | 1 | 1 | 1 | 0 | 66.7 % |" in text  # pass rate leaves n/a out
    assert "| HTTP/1.1 messages (RFC9112) | 1 / 1 | 0 / 1 |  |" in text
    assert "`smuggle::test_smuggle` | RFC9112-6.1-3 (MUST) | PASS | **FAIL** | not run |" \
        in text
    assert "1 more cases differ only in whether they apply" in text
    assert "`deflate::test_deflate`" not in text
    assert PAYLOAD not in text  # markdown escapes what came from a server
    assert render_summary(sample()) == text  # deterministic: no dates, no durations


def test_html_keeps_server_text_inert_and_has_matrix_chart_and_rows():
    page = render_comparison_html(sample())
    assert PAYLOAD not in page
    assert "&lt;script&gt;" in page
    assert 'id="matrix"' in page and "<svg" in page and 'id="disagreements"' in page
    assert 'id="applicability"' in page
    assert "<script" not in page.lower()


def test_compare_from_reports_writes_both_files_and_flags_a_bad_report(tmp_path, capsys):
    alpha, beta = tmp_path / "alpha.json", tmp_path / "beta.json"
    write_json(run("alpha", "1.0", {"scope": P}), alpha)
    write_json(run("beta", "2.0", {"scope": F}), beta)
    out = tmp_path / "out"
    assert compare.main(["--reports", str(alpha), str(beta), "--report-dir", str(out)]) == 0
    assert "FAIL" in (out / "summary.md").read_text()
    assert (out / "comparison.html").exists()
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert compare.main(["--reports", str(alpha), str(broken), "--report-dir",
                         str(out)]) == 1
    assert "not a conformance report" in (out / "summary.md").read_text()
    assert compare.main(["--reports", str(broken), "--report-dir", str(out)]) == 1
    assert "no server produced a report" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--jobs", "0"], ["--servers", "a,a"],
                                  ["--servers", "", "--server-cmd", "nameless"]])
def test_compare_usage_errors_are_one_line(argv, capsys):
    status: object
    try:
        status = compare.main(argv)
    except SystemExit as exc:  # argparse's own errors
        status = exc.code
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err and "Traceback" not in err[-1]


CASES = '''
import pytest

@pytest.mark.requirement("HTTP-030")
def test_one(server):
    pass
'''


def test_compare_runs_each_server_and_reports_one_missing(tmp_path):
    """The whole command: two servers through --server-cmd (a deliberately wrong one, so
    it is quick), one unknown server; progress on stderr, exit 1 for the missing one."""
    (tmp_path / "test_cases.py").write_text(CASES)
    command = f"{sys.executable} {BROKEN} fixed --host {{host}} --port {{port}} --app {{app}}"
    result = subprocess.run(
        [sys.executable, "-m", "conformance", "compare", "--servers", "nosuchserver",
         "--server-cmd", f"first={command}", "--server-cmd", f"second={command}",
         "--workers", "1", "--jobs", "2", "--report-dir", "out",
         "--pytest-args", "test_cases.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 1, result.stderr
    assert "first: started" in result.stderr and "second: complete in" in result.stderr
    assert "nosuchserver: not run: unknown server 'nosuchserver'" in result.stderr
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "| first |" in summary and "| second |" in summary
    assert (tmp_path / "out" / "first.json").exists()
    assert (tmp_path / "out" / "first.log").exists()


# --- in a real browser ----------------------------------------------------------------------


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_comparison_renders_in_chromium_without_console_errors(tmp_path):
    paths = write_comparison(sample(), tmp_path)
    page = check_page(paths["html"], "document.querySelectorAll('#matrix tbody tr').length",
                      screenshot=tmp_path / "comparison.png")
    assert page.title == "ASGI conformance: comparison"
    assert page.console_errors == []
    assert page.query == 4  # one row per requirement group
    width, height = png_size(page.screenshot)
    assert width == 1300 and height > 300


def test_single_run_report_renders_in_chromium_without_console_errors(tmp_path):
    report = run("beta", "2.0", {"scope": P, "smuggle": F}, message=PAYLOAD)
    write_html(report, tmp_path / "beta.html")
    page = check_page(tmp_path / "beta.html", "document.body.innerText.includes('<script>')")
    assert page.console_errors == []
    assert page.query is True  # the payload shows as text, it did not run


def test_the_browser_check_does_see_console_errors(tmp_path):
    """The check above can fail: a page that logs an error and throws is caught."""
    page_path = tmp_path / "bad.html"
    page_path.write_text("<html><head><title>bad</title></head><body>"
                         "<script>console.error('broken'); throw new Error('boom')</script>"
                         "</body></html>")
    page = check_page(page_path)
    assert any("broken" in e for e in page.console_errors)
    assert any("boom" in e for e in page.console_errors)
