"""A real ``python -m reference_server`` process for the tests that drive it over sockets
(the WebSocket shell tests, the HTTP/2 real-client tests): a free port, a bounded wait
until it listens, its stderr kept in a file, and a stop by PID (SIGTERM, then SIGKILL)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``python -m reference_server APP`` on 127.0.0.1 and a free port, with ``options``."""

    def __init__(self, tmp: Path, app: str, *options: str) -> None:
        self.port = free_port()
        self.stderr_path = tmp / f"server-{self.port}.err"
        env = dict(os.environ, PYTHONPATH=str(REPO))
        with open(self.stderr_path, "w") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "reference_server", app, "--host", "127.0.0.1",
                 "--port", str(self.port), "--no-access-log",
                 "--timeout-graceful-shutdown", "3", *options],
                cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=stderr,
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

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode
