"""The launcher: readiness within a bound, stderr kept, stopping for sure, crashes seen."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from conformance.launcher import ServerProcess, ServerStartError, free_port, tail
from conformance.servers import ServerSpec

BROKEN = str(Path(__file__).with_name("broken_server.py"))

LISTENER = (
    "import signal, socket, sys, time\n"
    "if 'ignore-term' in sys.argv: signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "s = socket.create_server((sys.argv[1], int(sys.argv[2])))\n"
    "print('listening', flush=True)\n"
    "sys.stderr.write('ready on %s\\n' % sys.argv[2]); sys.stderr.flush()\n"
    "end = time.monotonic() + 60\n"
    "while time.monotonic() < end: time.sleep(0.05)\n"
)


def spec(*argv: str, name: str = "test") -> ServerSpec:
    return ServerSpec(name, tuple(argv))


@pytest.fixture
def processes():
    started: list[ServerProcess] = []
    yield started
    for process in started:
        process.stop()


def test_ready_server_accepts_connections(processes, tmp_path):
    process = ServerProcess(spec("{python}", "-c", LISTENER, "{host}", "{port}"), "m:app",
                            workdir=tmp_path)
    processes.append(process)
    process.start()
    assert process.alive()
    with socket.create_connection((process.host, process.port), timeout=2):
        pass
    assert f"ready on {process.port}" in process.stderr_tail()
    assert "listening" in process.stdout_tail()


def test_exit_before_listening_reports_status_and_stderr(processes, tmp_path):
    script = "import sys; sys.stderr.write('cannot import app\\n'); sys.exit(7)"
    process = ServerProcess(spec("{python}", "-c", script, "{app}", "{host}", "{port}"),
                            "m:app", workdir=tmp_path)
    processes.append(process)
    with pytest.raises(ServerStartError, match=r"(?s)exited with status 7.*cannot import app"):
        process.start()


def test_never_listening_fails_within_the_bound(processes, tmp_path):
    process = ServerProcess(
        spec(sys.executable, BROKEN, "never-listen", "--host", "{host}", "--port", "{port}",
             "--app", "{app}", "--lifetime", "30"),
        "m:app", start_timeout=1.0, stop_timeout=1.0, workdir=tmp_path,
    )
    processes.append(process)
    with pytest.raises(ServerStartError, match=r"(?s)did not listen .* within 1 s.*never-listen"):
        process.start()
    assert not process.alive(), "a server that never became ready must be stopped"


def test_missing_executable_is_a_start_error(tmp_path):
    process = ServerProcess(spec("/nonexistent/server", "{app}", "{host}", "{port}"), "m:app",
                            workdir=tmp_path)
    with pytest.raises(ServerStartError, match="cannot run"):
        process.start()


def test_stop_escalates_to_sigkill(processes, tmp_path):
    process = ServerProcess(
        spec("{python}", "-c", LISTENER, "{host}", "{port}", "ignore-term"), "m:app",
        stop_timeout=0.5, workdir=tmp_path,
    )
    processes.append(process)
    process.start()
    code = process.stop()
    assert code == -9 and not process.alive()
    assert process.stop() == -9  # idempotent


def test_crash_is_visible_and_restart_starts_a_new_generation(processes, tmp_path):
    process = ServerProcess(spec("{python}", "-c", LISTENER, "{host}", "{port}"), "m:app",
                            workdir=tmp_path)
    processes.append(process)
    process.start()
    assert process.generation == 1
    assert process.process is not None
    process.process.kill()
    assert process.wait_exit(2.0) is not None and not process.alive()
    process.stop()  # what the session does after a crash
    process.start()
    assert process.alive() and process.generation == 2
    assert process.stderr_tail().count("--- start #") == 2


def test_probe_log_env_and_pythonpath(processes, tmp_path):
    script = (
        "import os, socket, sys, time, fixtures.probe\n"
        "open(os.environ['ASGI_PROBE_LOG'], 'a').write('hello\\n')\n"
        "s = socket.create_server((sys.argv[1], int(sys.argv[2])))\n"
        "time.sleep(30)\n"
    )
    process = ServerProcess(spec("{python}", "-c", script, "{host}", "{port}"), "m:app",
                            workdir=tmp_path)
    processes.append(process)
    process.start()
    assert process.probe_log_path.read_text() == "hello\n"


def test_free_port_is_bindable():
    port = free_port()
    with socket.create_server(("127.0.0.1", port)):
        pass


def test_tail_truncates(tmp_path):
    path = tmp_path / "log"
    path.write_text("x" * 100 + "END")
    assert tail(path, 10).endswith("END") and tail(path, 10).startswith("[...]")
    assert tail(tmp_path / "missing") == ""
