"""The committed requirement catalogue page (docs/requirements.{md,html}) and its command.

The page is generated (``python -m conformance catalogue``) and committed, because the
per-server reports link to it: a new case, requirement or baseline must come with the
page regenerated, or this test fails and says how to fix it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conformance.catalogue import CATALOGUE, lookup
from conformance.catalogue_command import PAGE_NAMES, main
from conformance.report.catalogue_page import ServerRecord, render_markdown, server_summary
from conformance.verdicts import Verdict

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both pages regenerated from this checkout into a temporary directory (one pytest
    collection of the suite in a subprocess, about 5 s)."""
    out = tmp_path_factory.mktemp("catalogue")
    assert main(["--out-dir", str(out), "--baselines", str(ROOT / "baselines")]) == 0
    return out


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_committed_page_is_current(generated: Path, name: str) -> None:
    committed = ROOT / "docs" / name
    assert committed.is_file(), f"docs/{name} is missing: run python -m conformance catalogue"
    if committed.read_text(encoding="utf-8") != (generated / name).read_text(encoding="utf-8"):
        pytest.fail(f"docs/{name} is stale: run python -m conformance catalogue")


def test_every_requirement_has_an_anchor_and_its_cases(generated: Path) -> None:
    markdown = (generated / "requirements.md").read_text(encoding="utf-8")
    page = (generated / "requirements.html").read_text(encoding="utf-8")
    ids = _ids(page)
    for req_id in CATALOGUE:
        assert req_id in ids, req_id
        assert f'<a id="{req_id}"></a>' in markdown, req_id
    entry = markdown.split('<a id="HTTP-046"></a>', 1)[1].split("\n### ", 1)[0]
    assert "(WILL)" in entry and lookup("HTTP-046").reference in entry
    assert "`http_disconnect::test_disconnect_after_response`" in entry
    # read from the committed baselines: gunicorn fails it, uvicorn passes it
    assert "uvicorn: pass" in entry and "gunicorn: fail" in entry
    assert "reference: pass" in entry, "the reference server's baseline read too"
    assert "uvicorn-h11: not run" in entry, "no committed baseline: not run"
    assert str(ROOT) not in markdown and str(ROOT) not in page, "no absolute paths"
    assert "(`baselines/uvicorn.json`)" in markdown, "the baselines named, relative"


def test_html_page_nests_and_loads_nothing(generated: Path) -> None:
    from tests.test_report import parse_html

    checker = parse_html((generated / "requirements.html").read_text(encoding="utf-8"))
    assert checker.problems == [] and checker.stack == []
    assert all(link.startswith("#") or link == "requirements.md" for link in checker.links)


def test_check_says_which_file_is_stale(generated: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    for name in PAGE_NAMES:
        (tmp_path / name).write_text((generated / name).read_text(encoding="utf-8"),
                                     encoding="utf-8")
    check = ["--out-dir", str(tmp_path), "--baselines", str(ROOT / "baselines"), "--check"]
    assert main(check) == 0
    page = tmp_path / "requirements.md"
    page.write_text(page.read_text(encoding="utf-8") + "edited\n", encoding="utf-8")
    assert main(check) == 1
    err = capsys.readouterr().err.strip()
    assert err == (f"{(tmp_path / 'requirements.md').as_posix()} is stale: "
                   "run python -m conformance catalogue")


def test_bad_baseline_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "uvicorn.json").write_text("{not json")
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "catalogue", "--out-dir", str(tmp_path / "o"),
         "--baselines", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "uvicorn.json: unreadable baseline" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "o").exists()


def test_server_summary_counts_worst_first() -> None:
    record = ServerRecord("s", "1", {"a": Verdict.PASS, "b": Verdict.FAIL,
                                     "c": Verdict.PASS, "d": Verdict.NOT_APPLICABLE})
    assert server_summary(["a", "c"], record) == ("pass", "pass")
    assert server_summary(["a", "b", "c", "d", "new"], record) == (
        "fail 1, pass 2, n/a 1, not run 1", "fail")
    assert server_summary(["a"], ServerRecord("t")) == ("not run", "not run")


def test_markdown_is_deterministic_and_sorted() -> None:
    reqs = [lookup("HTTP-010"), lookup("MAIN-002"), lookup("HTTP-009")]
    cases = {"HTTP-009": ["x::b", "x::a"]}
    first = render_markdown(reqs, cases, [ServerRecord("s")])
    assert first == render_markdown(list(reversed(reqs)), cases, [ServerRecord("s")])
    assert first.index('id="MAIN-002"') < first.index('id="HTTP-009"') \
        < first.index('id="HTTP-010"'), "groups in reading order, IDs sorted within"
    assert "`x::a`, `x::b`" in first, "cases sorted"


def _ids(page: str) -> set[str]:
    found: set[str] = set()

    class Ids(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.update(v for k, v in attrs if k == "id" and v)

    Ids().feed(page)
    return found
