"""``--reload`` (reference_server/reload.py): the filters, the command line, and the real
server picking up an edit of its application, keeping the old code through an edit that
does not import. Servers on 127.0.0.1, waits bounded, stopped by PID."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reference_server.cli import parse_args
from reference_server.reload import DEFAULT_EXCLUDE, DEFAULT_INCLUDE, PathFilter
from tests.reference.server_process import ServerProcess

REPO = Path(__file__).resolve().parents[2]
PREFIX = "reference-server: error: "

APP = """
MESSAGE = {message!r}

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = MESSAGE.encode()
    await send({{"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]}})
    await send({{"type": "http.response.body", "body": body}})
"""


def test_path_filter_defaults(tmp_path):
    keep = PathFilter([str(tmp_path)], DEFAULT_INCLUDE, DEFAULT_EXCLUDE)
    assert keep(None, str(tmp_path / "app.py"))
    assert keep(None, str(tmp_path / "pkg" / "mod.py"))
    assert not keep(None, str(tmp_path / "app.pyc"))
    assert not keep(None, str(tmp_path / "__pycache__" / "app.cpython-311.py"))
    assert not keep(None, str(tmp_path / ".venv" / "lib" / "x.py"))
    assert not keep(None, str(tmp_path / ".app.py.swp"))
    assert not keep(None, str(tmp_path / "notes.txt"))


def test_path_filter_custom(tmp_path):
    keep = PathFilter([str(tmp_path)], ["*.py", "*.html"], ["generated"])
    assert keep(None, str(tmp_path / "templates" / "index.html"))
    assert not keep(None, str(tmp_path / "generated" / "models.py"))
    # Excludes apply below the watched directory only: its own name does not count.
    inside = PathFilter([str(tmp_path / "generated")], ["*.py"], ["generated"])
    assert inside(None, str(tmp_path / "generated" / "models.py"))


def test_reload_options(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("REFERENCE_SERVER_"):
            monkeypatch.delenv(name)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    config = parse_args(["m:app", "--reload", "--reload-dir", str(tmp_path / "a"),
                         "--reload-dir", str(tmp_path / "b"), "--reload-include", "*.html",
                         "--reload-exclude", "tmp*"])
    assert config.reload and config.reload_dirs == [str(tmp_path / "a"), str(tmp_path / "b")]
    assert (config.reload_includes, config.reload_excludes) == (["*.html"], ["tmp*"])
    monkeypatch.setenv("REFERENCE_SERVER_RELOAD", "yes")
    monkeypatch.setenv("REFERENCE_SERVER_RELOAD_DIR", f"{tmp_path / 'a'},{tmp_path / 'b'}")
    config = parse_args(["m:app"])
    assert config.reload and config.reload_dirs == [str(tmp_path / "a"), str(tmp_path / "b")]


@pytest.mark.parametrize("argv,message", [
    (["--reload-dir", "."], "--reload-dir, --reload-include and --reload-exclude need --reload"),
    (["--reload", "--reload-dir", "/nonexistent-rs-dir"],
     "--reload-dir: not a directory: '/nonexistent-rs-dir'"),
])
def test_reload_option_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        parse_args(["m:app", *argv])
    assert exc.value.code == 2
    assert capsys.readouterr().err == PREFIX + message + "\n"


def _env(*paths: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFERENCE_SERVER_")}
    env["PYTHONPATH"] = os.pathsep.join([str(p) for p in paths] + [str(REPO)])
    return env


def test_reload_without_watchfiles_is_one_line(tmp_path):
    """A ``watchfiles`` that cannot be imported (a stub first on the path) stands for
    the extra not being installed."""
    stub = tmp_path / "stub" / "watchfiles"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("raise ImportError('No module named watchfiles')\n")
    (tmp_path / "rapp.py").write_text(APP.format(message="x"))
    proc = subprocess.run(
        [sys.executable, "-m", "reference_server", "rapp:app", "--reload"], cwd=tmp_path,
        env=_env(tmp_path / "stub", tmp_path), capture_output=True, text=True, timeout=30,
        stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert proc.stderr == PREFIX + ("--reload needs watchfiles: pip install "
                                    "'asgi-conformance[reload]' (or pip install watchfiles)\n")


def _get(port: int) -> bytes | None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
    except OSError:
        return None
    return data.partition(b"\r\n\r\n")[2] if data.startswith(b"HTTP/1.1 200 ") else None


def _wait_body(port: int, expected: bytes, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    body = None
    while time.monotonic() < deadline:
        body = _get(port)
        if body == expected:
            return
        time.sleep(0.1)
    pytest.fail(f"expected {expected!r}, got {body!r} within {timeout} s:\n{log.read_text()}")


def test_process_reload_picks_up_an_edit(tmp_path):
    """Edit the app: the new text is served. Break it: the old text goes on being served
    and the failure is logged. Fix it: served again. A file outside --reload-include
    changes nothing."""
    app_dir = tmp_path / "src"
    app_dir.mkdir()
    app_file = app_dir / "rapp.py"
    app_file.write_text(APP.format(message="first version"))
    server = ServerProcess(tmp_path, "rapp:app", "--reload", "--reload-dir", str(app_dir),
                           cwd=app_dir, defaults=("--no-access-log",
                                                  "--timeout-graceful-shutdown", "5"))
    port, log = server.port, server.stderr_path
    try:
        _wait_body(port, b"first version", log)
        server.wait_for_log(r"Watching .* for changes", 30)
        app_file.write_text(APP.format(message="second"))
        _wait_body(port, b"second", log)
        app_file.write_text(APP.format(message="broken") + "\nthis is not python(\n")
        server.wait_for_log(r"New worker \d+ exited with 1 before serving; the old workers "
                            r"keep", 30)
        assert _get(port) == b"second"
        app_file.write_text(APP.format(message="fixed again"))
        _wait_body(port, b"fixed again", log)
        (app_dir / "notes.txt").write_text("not code")
        app_file.write_text(APP.format(message="last"))
        _wait_body(port, b"last", log)
        assert server.proc.poll() is None
    finally:
        code = server.stop()
    assert code == 0, log.read_text()
    assert "notes.txt" not in log.read_text()  # not a *.py file: no reload for it
    assert "Traceback" not in log.read_text()
