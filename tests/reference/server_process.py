"""A real ``python -m reference_server`` process for the tests that drive it over sockets
(the WebSocket shell tests, the HTTP/2 real-client tests, the operator features): a free
port, a bounded wait until it listens, its stderr kept in a file, and a stop by PID
(SIGTERM, then SIGKILL)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

#: What most tests want unless they test these: no access-log noise, a quick stop.
QUIET = ("--no-access-log", "--timeout-graceful-shutdown", "3")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``python -m reference_server APP`` on 127.0.0.1 and a free port, with ``options``
    after ``defaults``; run in ``cwd`` (apps written into ``tmp`` are importable too), with
    no ``REFERENCE_SERVER_*`` variable of the test run's environment (a test's server is
    configured by what the test says) and ``env`` on top. Given ``port``, the server is
    expected to listen there without ``--port`` (the test passes it another way)."""

    def __init__(self, tmp: Path, app: str, *options: str, env: dict[str, str] | None = None,
                 port: int | None = None, cwd: Path = REPO,
                 defaults: Sequence[str] = QUIET) -> None:
        self.port = port or free_port()
        self.stderr_path = tmp / f"server-{self.port}.err"
        full_env = {k: v for k, v in os.environ.items()
                    if not k.startswith("REFERENCE_SERVER_")}
        full_env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(tmp)])
        full_env.update(env or {})
        argv = [sys.executable, "-m", "reference_server", app, "--host", "127.0.0.1"]
        if port is None:
            argv += ["--port", str(self.port)]
        with open(self.stderr_path, "w") as stderr:
            self.proc = subprocess.Popen([*argv, *defaults, *options], cwd=cwd, env=full_env,
                                         stdout=subprocess.DEVNULL, stderr=stderr,
                                         stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"server exited: {self.stderr()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        pytest.fail("server did not listen within 15 s")

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def wait_for_log(self, pattern: str, timeout: float = 15) -> re.Match[str]:
        """The first match of ``pattern`` in the server's stderr, waited for."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.stderr())
            if match:
                return match
            time.sleep(0.05)
        pytest.fail(f"{pattern!r} not logged within {timeout} s:\n{self.stderr()}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode
