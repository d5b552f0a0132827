"""``python3 -m bench.soak``, run small in the test command so the tool keeps working; the
million-request run and its figures are in bench/README.md ("Wire soak").

A small run against the reference server must pass with every scenario exercised; runs
against deliberately broken servers (tests/broken_server.py) must fail, saying why; bad
arguments get one line, never a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.soak import SCENARIOS, bad_log_lines

ROOT = Path(__file__).resolve().parent.parent
BROKEN = str(Path(__file__).with_name("broken_server.py"))


def soak(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "bench.soak", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_a_small_soak_of_the_reference_server_passes(tmp_path):
    figures = tmp_path / "soak.json"
    result = soak("--requests", "2000", "--warmup", "500", "--connections", "4",
                  "--seconds", "90", "--json", str(figures))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.rstrip().endswith("PASS"), result.stdout
    data = json.loads(figures.read_text())
    assert data["requests"] == 2000 and sum(data["by_kind"].values()) == 2000
    assert set(data["by_kind"]) == set(SCENARIOS), data["by_kind"]
    assert data["errors"] == {} and data["failures"] == []
    assert data["rss_warm_kib"] > 0 and data["rss_end_kib"] > 0
    assert data["server_exit"] == 0


@pytest.mark.parametrize(("mode", "says"), [
    ("fixed", "wrong answer or none"),  # answers every request with the same wrong 200
    ("silent", "wrong answer or none"),  # never answers: every read times out
])
def test_a_soak_of_a_broken_server_fails(mode, says):
    result = soak("--requests", "200", "--warmup", "50", "--connections", "2",
                  "--timeout", "1", "--max-errors", "5", "--seconds", "60",
                  "--server-cmd", f"{sys.executable} {BROKEN} {mode} --host {{host}} "
                                  "--port {port} --app {app}")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL:" in result.stdout and says in result.stdout, result.stdout


@pytest.mark.parametrize("args", [["--requests", "0"], ["--warmup", "10", "--requests", "5"],
                                  ["--seconds", "-1"], ["--server-cmd", "true"],
                                  ["--connections", "x"], ["--json", "/no/such/dir/x.json"]])
def test_bad_arguments_get_one_clear_line(args):
    result = soak(*args)
    assert result.returncode == 2, result
    assert "error:" in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_server_log_lines_that_fail_a_soak():
    log = ("INFO:    started\nWARNING: slow client\nERROR:   Exception in ASGI application\n"
           "Traceback (most recent call last):\n  File x\nValueError: boom\n")
    assert bad_log_lines(log) == ["ERROR:   Exception in ASGI application",
                                  "Traceback (most recent call last):"]
