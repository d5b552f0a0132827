"""Start a server under test as a subprocess, know when it is ready, stop it for sure.

The launcher gives every wait a bound: readiness (the port accepts connections), and
stopping (SIGTERM, then SIGKILL of the process group after ``stop_timeout``). The
server's stdout and stderr go to files, never pipes: a pipe nobody drains would block a
chatty server mid-test, and the files give the report the server's own words.

The process is started in its own session so that a server that forks workers can be
killed as a group; the group holds only processes the harness started.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import fixtures
from conformance.servers import ServerSpec
from fixtures.probe import ENV_LOG

FIXTURES_ROOT = str(Path(fixtures.__file__).resolve().parent.parent)


class ServerStartError(Exception):
    """The server did not become ready; the message includes its stderr tail."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (the server binds it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def tail(path: Path, limit: int = 4000) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            data = handle.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace")
    return ("[...]\n" + text) if size > limit else text


class ServerProcess:
    """One server process serving one app; restartable after a crash."""

    def __init__(
        self,
        spec: ServerSpec,
        app: str,
        *,
        host: str = "127.0.0.1",
        start_timeout: float = 15.0,
        stop_timeout: float = 5.0,
        env: Mapping[str, str] | None = None,
        workdir: Path | None = None,
    ) -> None:
        self.spec = spec
        self.app = app
        self.host = host
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.extra_env = dict(env or {})
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="asgi-conformance-"))
        self.port = 0
        self.argv: list[str] = []
        self.generation = 0
        """How many times the process was started; a case compares it to spot a crash."""
        self.process: subprocess.Popen[bytes] | None = None
        slug = app.replace(":", "-").replace("/", "-")
        self.stdout_path = self.workdir / f"{spec.name}-{slug}.stdout.log"
        self.stderr_path = self.workdir / f"{spec.name}-{slug}.stderr.log"
        self.probe_log_path = self.workdir / f"{spec.name}-{slug}.probe.jsonl"

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Start and wait for readiness, or raise :class:`ServerStartError` in the bound."""
        self.port = free_port(self.host)
        self.argv = self.spec.command(app=self.app, host=self.host, port=self.port)
        env = dict(os.environ)
        # The apps live in the fixtures package; make it importable for any server.
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (FIXTURES_ROOT, env.get("PYTHONPATH", "")) if p
        )
        env["PYTHONUNBUFFERED"] = "1"
        env[ENV_LOG] = str(self.probe_log_path)
        env.update(self.extra_env)
        self.probe_log_path.touch()
        banner = f"--- start #{self.generation + 1}: {shlex.join(self.argv)}\n".encode()
        with self.stdout_path.open("ab") as out, self.stderr_path.open("ab") as err:
            err.write(banner)
            err.flush()
            try:
                self.process = subprocess.Popen(
                    self.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    env=env,
                    cwd=str(self.workdir),
                    start_new_session=True,
                )
            except OSError as exc:
                raise ServerStartError(
                    f"cannot run {shlex.join(self.argv)}: {exc.strerror or exc}"
                ) from None
        self.generation += 1
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.start_timeout
        while True:
            code = self.process.poll()
            if code is not None:
                raise ServerStartError(
                    f"server {self.spec.name!r} exited with status {code} before listening "
                    f"on {self.host}:{self.port}\ncommand: {shlex.join(self.argv)}\n"
                    f"stderr:\n{self.stderr_tail()}"
                )
            if self._accepts_connections():
                return
            if time.monotonic() >= deadline:
                self.stop()
                raise ServerStartError(
                    f"server {self.spec.name!r} did not listen on {self.host}:{self.port} "
                    f"within {self.start_timeout:g} s\ncommand: {shlex.join(self.argv)}\n"
                    f"stderr:\n{self.stderr_tail()}"
                )
            time.sleep(0.05)

    def _accepts_connections(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def wait_exit(self, timeout: float) -> int | None:
        """Exit status if the process ends within ``timeout``, else ``None``."""
        if self.process is None:
            return None
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL to the whole group after ``stop_timeout``. Idempotent."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=self.stop_timeout)
        # Workers may outlive their parent: the group is ours alone (new session).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=self.stop_timeout)
        return process.poll()

    # --- evidence ----------------------------------------------------------------------

    def stderr_tail(self, limit: int = 4000) -> str:
        return tail(self.stderr_path, limit)

    def stdout_tail(self, limit: int = 4000) -> str:
        return tail(self.stdout_path, limit)

    def _outputs(self) -> list[Path]:
        return [p for p in (self.stderr_path, self.stdout_path) if p.exists()]

    def output_size(self) -> int:
        """Bytes written so far to stderr and stdout: a mark for :meth:`output_since`."""
        return sum(p.stat().st_size for p in self._outputs())

    def output_since(self, mark: int) -> str:
        """What the server wrote (stderr, then stdout) after :meth:`output_size` gave
        ``mark``: how a case sees what the server logged during it."""
        data = b"".join(p.read_bytes() for p in self._outputs())
        return data[mark:].decode("utf-8", "replace") if mark <= len(data) else ""

    def output_tail(self, limit: int = 4000) -> str:
        """stderr, plus stdout when the server writes its messages there."""
        err = self.stderr_tail(limit)
        out = self.stdout_tail(limit // 2)
        return err + (f"\n[stdout]\n{out}" if out.strip() else "")

    def describe(self) -> str:
        return shlex.join(self.argv) if self.argv else self.spec.display_command()
