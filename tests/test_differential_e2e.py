"""The differential command end to end: the reference server beside a deliberately
broken one (tests/desync_server.py reads ``Content-Length: 011`` as octal and honours
Content-Length over chunked). The run must find the desync, shrink it to the bytes that
matter, write its reports, and gate on a baseline."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

DESYNC = Path(__file__).with_name("desync_server.py")
ROOT = Path(__file__).resolve().parent.parent


def differential(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "conformance", "differential", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT)


def test_desync_is_found_shrunk_reported_and_gated(tmp_path: Path):
    unrelated = tmp_path / "baseline.json"
    unrelated.write_text('["000000000000"]')
    written = tmp_path / "written.json"
    result = differential(
        "--servers", "reference",
        "--server-cmd", f"desync={{python}} {DESYNC} {{app}} --host {{host}} --port {{port}}",
        "--only", "cl/leading-zero,framing/cl-te", "--count", "6", "--seed", "5",
        "--shrink-runs", "12", "--read-timeout", "0.5", "--time-budget", "60",
        "--report-dir", str(tmp_path), "--baseline", str(unrelated),
        "--write-baseline", str(written))
    assert result.returncode == 1, result.stderr  # new clusters against the baseline
    assert "new cluster not in the baseline" in result.stderr
    assert "cases in" in result.stderr  # progress on stderr
    data = json.loads((tmp_path / "differential.json").read_text())
    assert data["cases_run"] == 6 and {s["name"] for s in data["servers"]} == {
        "reference", "desync"}
    desync = [c for c in data["clusters"] if c["class"] == "desync"]
    assert desync, data["clusters"]
    cluster = desync[0]
    assert sorted(map(tuple, (g["servers"] for g in cluster["groups"]))) == [
        ("desync",), ("reference",)]
    assert cluster["shrunk"]
    assert "Content-Length: 011" in cluster["reproducer"]
    assert len(cluster["reproducer"]) < len(cluster["example"]["bytes"])
    assert cluster["views"]["reference"]["app"][-1]["body"] == "hello=world"
    assert cluster["views"]["desync"]["app"][-1]["body"] == "hello=wor"
    # CL+TE: the reference refuses it (RFC 9112 §6.1), the broken server serves it.
    splits = [c for c in data["clusters"] if c["class"] == "split"
              and "framing/cl-te" in c["mutations"]]
    assert splits and splits[0]["strict_servers"] == {"reference": True, "desync": False}
    assert all((tmp_path / f"differential.{ext}").stat().st_size for ext in ("md", "html"))
    # The written baseline lists every cluster: gated on it, the same run passes.
    known = set(json.loads(written.read_text())["clusters"])
    assert known == {c["id"] for c in data["clusters"]}


def test_a_server_that_does_not_start_is_a_clear_error(tmp_path: Path):
    result = differential(
        "--servers", "reference", "--server-cmd",
        "broken={python} -c 'import sys; sys.exit(3)' {app} {host} {port}",
        "--count", "1", "--report-dir", str(tmp_path), timeout=60)
    assert result.returncode == 2
    assert "server 'broken' exited with status 3" in result.stderr
    assert "Traceback" not in result.stderr


def test_sigterm_stops_the_run_and_still_writes_the_report(tmp_path: Path):
    command = [sys.executable, "-m", "conformance", "differential", "--servers", "reference",
               "--server-cmd", "again={python} -m reference_server {app} --host {host} "
               "--port {port}", "--time-budget", "120", "--report-dir", str(tmp_path)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        for line in process.stderr:  # the first progress line: cases are running
            if "cases in" in line:
                break
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    data = json.loads((tmp_path / "differential.json").read_text())
    assert data["stopped"] == "interrupted" and data["cases_run"] >= 1


def test_the_written_differential_cases_fail_on_the_broken_server(
        pytester: pytest.Pytester):
    """conformance/suite/test_wire_differential.py's cases, run against the broken server
    (which empties the body of a request offering an Upgrade it does not take, and
    ignores its trailer section): every one fails, with the evidence in its message."""
    command = f"{sys.executable} {DESYNC} {{app}} --host {{host}} --port {{port}}"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--server-cmd", command, "--server-name", "desync",
        "-k", "wire_differential", timeout=120)
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") == 4 and not outcomes.get("passed"), outcomes
    result.stdout.fnmatch_lines(["*the app read b'' (complete=True) of a 5-octet body*",
                                 "*the server answered 200, expected 400*"])
