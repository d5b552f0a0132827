"""``python -m conformance servers`` and ``pytest --list-servers``: the named servers, read
from the server table, without starting any."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from conformance.server_list import ServerRow, render, rows, speaks
from conformance.servers import BUILTIN

ROOT = Path(__file__).resolve().parent.parent


def test_speaks_follows_the_server_table():
    assert speaks(BUILTIN["reference"]) == ("HTTP/1.1", "WebSocket", "h2c", "h2 over TLS",
                                            "lifespan")
    assert speaks(BUILTIN["uvicorn"]) == ("HTTP/1.1", "WebSocket", "lifespan")
    assert speaks(BUILTIN["daphne"]) == ("HTTP/1.1", "WebSocket", "h2 over TLS")


def test_a_server_that_is_not_installed_says_so():
    missing = replace(BUILTIN["uvicorn"], name="ghost", module="no_such_module_here_xyz")
    (row,) = rows([missing])
    assert row == ServerRow("ghost", False, "-", ("HTTP/1.1", "WebSocket", "lifespan"))
    assert render([row]).splitlines()[1].split()[:3] == ["ghost", "no", "-"]


def _expected_lines() -> list[str]:
    return render(rows()).splitlines()


def test_command_prints_the_table():
    done = subprocess.run([sys.executable, "-m", "conformance", "servers"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0 and done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines == _expected_lines()
    assert lines[0].split() == ["server", "installed", "version", "speaks"]
    assert [line.split()[0] for line in lines[1:]] == list(BUILTIN)
    reference = next(line for line in lines if line.startswith("reference "))
    assert " yes " in reference and "h2c" in reference


def test_command_rejects_arguments():
    done = subprocess.run([sys.executable, "-m", "conformance", "servers", "--bogus"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == "python -m conformance servers: takes no arguments " \
                                  "(got --bogus)"


def test_pytest_list_servers_prints_and_runs_nothing(pytester):
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--list-servers",
                                           "--server=reference", timeout=120)
    assert result.ret == pytest.ExitCode.OK
    assert result.outlines == _expected_lines()
    assert not (pytester.path / "reports").exists()
