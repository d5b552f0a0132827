"""Operations options of the reference server: REFERENCE_SERVER_* environment variables,
--env-file, --log-config, --access-log-format, --limit-max-requests(-jitter), --backlog
and SIGHUP. The unit tests check parsing and errors; the process tests start the real
server (``python -m reference_server``) on 127.0.0.1 and stop it by PID, with bounded waits."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from reference_server.cli import env_name, parse_args
from reference_server.config import DEFAULT_ACCESS_LOG_FORMAT
from reference_server.envfile import EnvFileError, parse_env
from reference_server.logs import LogConfigError, apply_log_config
from tests.reference.server_process import ServerProcess, free_port

REPO = Path(__file__).resolve().parents[2]
PREFIX = "reference-server: error: "

APP = """
import asyncio, os

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    qs = scope["query_string"].decode()
    if qs.startswith("sleep="):
        open("slow-started", "w").close()
        await asyncio.sleep(float(qs[6:]))
    body = f"pid={os.getpid()} greeting={os.environ.get('GREETING', '-')}".encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
"""


@pytest.fixture(autouse=True)
def _clean_env():
    """No REFERENCE_SERVER_* from outside; what --env-file loads is undone after."""
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith("REFERENCE_SERVER_"):
            del os.environ[name]
    yield
    os.environ.clear()
    os.environ.update(saved)


# -- environment variables ----------------------------------------------------------------


def test_env_name():
    assert env_name("--limit-concurrency") == "REFERENCE_SERVER_LIMIT_CONCURRENCY"


def test_environment_sets_options(monkeypatch):
    monkeypatch.setenv("REFERENCE_SERVER_PORT", "9001")
    monkeypatch.setenv("REFERENCE_SERVER_ACCESS_LOG", "no")
    monkeypatch.setenv("REFERENCE_SERVER_FACTORY", "TRUE")
    monkeypatch.setenv("REFERENCE_SERVER_LOOP", "asyncio")
    monkeypatch.setenv("REFERENCE_SERVER_H2_MAX_FRAME_SIZE", "20000")
    monkeypatch.setenv("REFERENCE_SERVER_LIMIT_REQUEST_BODY", "none")
    config = parse_args(["m:app"])
    assert (config.port, config.access_log, config.factory, config.loop) == \
        (9001, False, True, "asyncio")
    assert config.h2_limits.max_frame_size == 20000
    assert config.limits.max_body is None


def test_command_line_wins_over_environment(monkeypatch):
    monkeypatch.setenv("REFERENCE_SERVER_PORT", "9001")
    monkeypatch.setenv("REFERENCE_SERVER_ACCESS_LOG", "0")
    config = parse_args(["m:app", "--port", "9002", "--access-log"])
    assert (config.port, config.access_log) == (9002, True)


@pytest.mark.parametrize("name,value,mentions", [
    ("REFERENCE_SERVER_PORT", "70000", "must be between 0 and 65535"),
    ("REFERENCE_SERVER_PORT", "http", "expected an integer"),
    ("REFERENCE_SERVER_ACCESS_LOG", "maybe", "expected one of"),
    ("REFERENCE_SERVER_LOOP", "trio", "invalid choice"),
    ("REFERENCE_SERVER_ACCESS_LOG_FORMAT", "%(nope)s", "unknown field 'nope'"),
])
def test_bad_environment_value_is_one_line_naming_the_variable(monkeypatch, capsys, name,
                                                               value, mentions):
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exc:
        parse_args(["m:app"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(PREFIX + name + ": ")
    assert mentions in err


# -- --env-file -----------------------------------------------------------------------------


def test_parse_env():
    text = textwrap.dedent("""\
        # a comment

        PLAIN=value
        export EXPORTED = spaced value   # trailing comment
        SINGLE='literal \\n # kept'
        DOUBLE="line\\nnext \\"q\\""
        EMPTY=
        HASH=a#b
        """)
    assert parse_env(text) == {
        "PLAIN": "value", "EXPORTED": "spaced value", "SINGLE": "literal \\n # kept",
        "DOUBLE": 'line\nnext "q"', "EMPTY": "", "HASH": "a#b"}


@pytest.mark.parametrize("line,mentions", [
    ("not a pair", "expected NAME=value"),
    ("1BAD=x", "expected NAME=value"),
    ("A='open", "unterminated single-quoted"),
    ('A="open', "unterminated double-quoted"),
    ('A="x" junk', "unexpected text"),
    ('A="\\q"', "unknown escape"),
])
def test_parse_env_errors_name_the_line(line, mentions):
    with pytest.raises(EnvFileError) as exc:
        parse_env("OK=1\n" + line + "\n", "F")
    assert str(exc.value).startswith("F:2: ") and mentions in str(exc.value)


def test_env_file_sets_options_without_overriding_the_environment(tmp_path, monkeypatch):
    env = tmp_path / "server.env"
    env.write_text("REFERENCE_SERVER_PORT=9100\nREFERENCE_SERVER_WORKERS=3\n"
                   "RS_TEST_APP_SETTING=from-file\n")
    monkeypatch.setenv("REFERENCE_SERVER_WORKERS", "2")
    monkeypatch.delenv("RS_TEST_APP_SETTING", raising=False)
    config = parse_args(["m:app", "--env-file", str(env)])
    assert (config.port, config.workers, config.env_file) == (9100, 2, str(env))
    assert os.environ["RS_TEST_APP_SETTING"] == "from-file"


def test_env_file_errors(tmp_path, capsys):
    bad = tmp_path / "bad.env"
    bad.write_text("GOOD=1\noops\n")
    for argv, mentions in ((["--env-file", str(bad)], f"--env-file {bad}:2: expected"),
                           (["--env-file", str(tmp_path / "none.env")], "file not found")):
        with pytest.raises(SystemExit) as exc:
            parse_args(["m:app", *argv])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and mentions in err, err


# -- --access-log-format and --log-config ----------------------------------------------------


def test_access_log_format_errors(capsys):
    for fmt, mentions in (("%(client)s %(agent)s", "unknown field 'agent'"),
                          ("%(status)d %", "not a valid %-format")):
        with pytest.raises(SystemExit):
            parse_args(["m:app", "--access-log-format", fmt])
        err = capsys.readouterr().err
        assert mentions in err and "argument --access-log-format" in err


def test_default_access_format_is_todays_line():
    fields = {"client": "1.2.3.4:5", "method": "GET", "path": "/a?b", "http_version": "1.1",
              "status": 200, "duration": 0.5, "bytes": 3}
    assert DEFAULT_ACCESS_LOG_FORMAT % fields == '1.2.3.4:5 - "GET /a?b HTTP/1.1" 200'


@pytest.fixture
def restore_loggers():
    names = ("reference_server.error", "reference_server.access", "rs_test")
    saved = [(logging.getLogger(n), list(logging.getLogger(n).handlers),
              logging.getLogger(n).level, logging.getLogger(n).propagate) for n in names]
    yield
    for logger, handlers, level, propagate in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
        logger.disabled = False


def _dict_config(path: Path) -> dict[str, object]:
    return {"version": 1, "disable_existing_loggers": False,
            "formatters": {"plain": {"format": "CUSTOM %(name)s %(message)s"}},
            "handlers": {"file": {"class": "logging.FileHandler", "filename": str(path),
                                  "formatter": "plain"}},
            "loggers": {"rs_test": {"handlers": ["file"], "level": "INFO"}}}


@pytest.mark.parametrize("kind", ["json", "yaml", "ini"])
def test_log_config_kinds(tmp_path, restore_loggers, kind):
    out = tmp_path / "out.log"
    conf = tmp_path / f"log.{kind}"
    if kind == "json":
        conf.write_text(json.dumps(_dict_config(out)))
    elif kind == "yaml":
        import yaml  # type: ignore[import-untyped, unused-ignore]
        conf.write_text(yaml.safe_dump(_dict_config(out)))
    else:
        conf.write_text(textwrap.dedent(f"""\
            [loggers]
            keys=root,rs_test
            [handlers]
            keys=file
            [formatters]
            keys=plain
            [logger_root]
            handlers=
            [logger_rs_test]
            handlers=file
            level=INFO
            qualname=rs_test
            [handler_file]
            class=FileHandler
            args=({str(out)!r},)
            formatter=plain
            [formatter_plain]
            format=CUSTOM %(name)s %(message)s
            """))
    apply_log_config(str(conf))
    logging.getLogger("rs_test").info("hello")
    for handler in logging.getLogger("rs_test").handlers:
        handler.flush()
    assert out.read_text() == "CUSTOM rs_test hello\n"


def test_log_config_errors(tmp_path, restore_loggers):
    broken = tmp_path / "log.json"
    broken.write_text("{not json")
    with pytest.raises(LogConfigError) as exc:
        apply_log_config(str(broken))
    assert str(exc.value).startswith(f"--log-config {broken}: cannot apply it: ")
    bad = tmp_path / "log.ini"
    bad.write_text("[loggers]\nkeys=nothing\n")
    with pytest.raises(LogConfigError):
        apply_log_config(str(bad))


# -- the real server ----------------------------------------------------------------------------


class Server(ServerProcess):
    """``python -m reference_server opsapp:app`` in ``tmp`` with ``args``, ``env`` and none
    of the usual quiet defaults (the options under test include them)."""

    def __init__(self, tmp: Path, *args: str, env: dict[str, str] | None = None,
                 port: int | None = None) -> None:
        (tmp / "opsapp.py").write_text(APP)
        super().__init__(tmp, "opsapp:app", *args, env=env, port=port, cwd=tmp, defaults=())


def _request(conn: socket.socket, path: str = "/") -> tuple[bytes, bytes]:
    """One GET on ``conn``; (head, body). Bounded by the socket timeout."""
    conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError("closed mid-body")
        body += chunk
    return head, body


def _get(port: int, path: str = "/") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
        head, body = _request(conn, path)
    assert head.startswith(b"HTTP/1.1 200 "), head
    return body


def _pid(body: bytes) -> int:
    return int(re.search(rb"pid=(\d+)", body).group(1))  # type: ignore[union-attr]


def test_process_env_and_env_file(tmp_path):
    """The env file sets the port (a REFERENCE_SERVER_* variable) and the app's own
    variable; the environment sets the access-log format."""
    port = free_port()
    (tmp_path / "prod.env").write_text(
        f"REFERENCE_SERVER_PORT={port}\nGREETING='hello env'\n")
    server = Server(tmp_path, "--env-file", "prod.env", port=port,
                    env={"REFERENCE_SERVER_ACCESS_LOG_FORMAT": "LINE %(status)d %(path)s"})
    try:
        assert _get(port).endswith(b"greeting=hello env")
        server.wait_for_log(r"INFO:     LINE 200 /\n")
    finally:
        assert server.stop() == 0


def test_process_access_log_format_fields(tmp_path):
    fmt = ("%(client)s|%(method)s|%(path)s|%(http_version)s|%(status)d|%(duration).6f|"
           "%(bytes)d")
    server = Server(tmp_path, "--access-log-format", fmt)
    try:
        body = _get(server.port, "/x?sleep=0.01")
        match = server.wait_for_log(
            r"127\.0\.0\.1:\d+\|GET\|/x\?sleep=0\.01\|1\.1\|200\|(\d+\.\d{6})\|(\d+)\n")
        assert int(match.group(2)) == len(body)
        assert float(match.group(1)) >= 0.01
    finally:
        assert server.stop() == 0


def test_process_log_config(tmp_path):
    out = tmp_path / "access.log"
    conf = tmp_path / "logging.json"
    conf.write_text(json.dumps({
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"f": {"format": "ACCESS %(message)s"}},
        "handlers": {"h": {"class": "logging.FileHandler", "filename": str(out),
                           "formatter": "f"}},
        "loggers": {"reference_server.access": {"handlers": ["h"], "level": "INFO",
                                                "propagate": False}}}))
    server = Server(tmp_path, "--log-config", str(conf))
    try:
        _get(server.port, "/logged")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "/logged" not in out.read_text():
            time.sleep(0.05)
        assert re.fullmatch(r'ACCESS 127\.0\.0\.1:\d+ - "GET /logged HTTP/1\.1" 200\n',
                            out.read_text())
        assert "/logged" not in server.stderr()  # the file replaced our stderr handler
    finally:
        assert server.stop() == 0


def test_process_bad_log_config_is_one_line(tmp_path):
    conf = tmp_path / "logging.yaml"
    conf.write_text("version: [unclosed\n")
    (tmp_path / "opsapp.py").write_text(APP)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(tmp_path)]))
    proc = subprocess.run(
        [sys.executable, "-m", "reference_server", "opsapp:app", "--port", str(free_port()),
         "--log-config", str(conf)], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=30, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith(PREFIX + f"--log-config {conf}: cannot apply it: ")


def test_process_backlog_reaches_listen(tmp_path):
    """`ss` shows a listening socket's backlog as its Send-Q."""
    server = Server(tmp_path, "--backlog", "7")
    try:
        out = subprocess.run(["ss", "-Hltn", f"sport = :{server.port}"], capture_output=True,
                             text=True, timeout=10).stdout
        assert out.split()[:3] == ["LISTEN", "0", "7"], out
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize("workers", [1, 2])
def test_process_limit_max_requests_replaces_workers_without_dropping(tmp_path, workers):
    """Every request answered 200 while workers retire after 3 (+0..1) requests each and
    the supervisor starts replacements."""
    server = Server(tmp_path, "--workers", str(workers), "--limit-max-requests", "3",
                    "--limit-max-requests-jitter", "1", "--no-access-log")
    try:
        pids = [_pid(_get(server.port)) for _ in range(16)]
        # The budget is when a worker starts retiring: a request on a connection it
        # accepted just before may still be its own (served, not dropped), so a worker
        # serves 3 to 5 here and 16 requests need at least 3 workers.
        assert len(set(pids)) >= 3, pids
        if workers == 1:
            assert all(pids.count(pid) >= 3 for pid in set(pids) - {pids[-1]}), pids
        server.wait_for_log(r"Worker \d+ drained and exited")
        assert "Traceback" not in server.stderr()
    finally:
        assert server.stop() == 0


# -- SIGHUP ----------------------------------------------------------------------------------


def test_process_sighup_replaces_workers_without_dropping(tmp_path):
    """A slow request in flight across SIGHUP and a keep-alive connection used before and
    after it both get their responses; new connections reach new workers; the server
    keeps serving and stops cleanly."""
    server = Server(tmp_path, "--workers", "2", "--no-access-log",
                    "--timeout-keep-alive", "30")
    try:
        server.wait_for_log(r"Serving on (.|\n)*Serving on")
        old_pids = {int(pid) for pid in re.findall(r"Started worker (\d+)", server.stderr())}
        assert len(old_pids) == 2
        assert _pid(_get(server.port)) in old_pids
        keep = socket.create_connection(("127.0.0.1", server.port), timeout=20)
        _, body = _request(keep)
        keep_pid = _pid(body)
        slow: dict[str, bytes] = {}

        def slow_request() -> None:
            with socket.create_connection(("127.0.0.1", server.port), timeout=20) as conn:
                slow["head"], slow["body"] = _request(conn, "/?sleep=1.5")

        thread = threading.Thread(target=slow_request)
        thread.start()
        deadline = time.monotonic() + 15
        while not (tmp_path / "slow-started").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert (tmp_path / "slow-started").exists()
        server.proc.send_signal(signal.SIGHUP)
        started = server.wait_for_log(r"starting 2 new worker\(s\), draining (\d+)")
        assert int(started.group(1)) == 2
        new_pids: set[int] = set()
        deadline = time.monotonic() + 15
        while not new_pids and time.monotonic() < deadline:
            pid = _pid(_get(server.port))
            if pid not in old_pids:
                new_pids.add(pid)
        assert new_pids, "no new worker answered"
        # The old workers retire once both new ones serve; the kept connection's worker
        # then stays up for it (its keep-alive timeout is 30 s).
        server.wait_for_log(r"Worker \d+ retiring \(SIGHUP\)(.|\n)*"
                            r"Worker \d+ retiring \(SIGHUP\)")
        thread.join(timeout=20)
        assert slow["head"].startswith(b"HTTP/1.1 200 ")
        assert _pid(slow["body"]) in old_pids  # served by an old worker, while draining
        head, body = _request(keep)  # the kept connection: its old worker still answers
        assert head.startswith(b"HTTP/1.1 200 ") and _pid(body) == keep_pid
        assert b"connection: close" in head.lower()  # ... and then lets it go
        keep.close()
        server.wait_for_log(r"Worker \d+ drained and exited(.|\n)*"
                            r"Worker \d+ drained and exited")
        after = {_pid(_get(server.port)) for _ in range(6)}
        assert not after & old_pids, (after, old_pids)
    finally:
        assert server.stop() == 0
    assert "Traceback" not in server.stderr()


def test_process_sighup_single_process_keeps_serving(tmp_path):
    server = Server(tmp_path, "--no-access-log")
    try:
        pid = _pid(_get(server.port))
        server.proc.send_signal(signal.SIGHUP)
        server.wait_for_log("Received SIGHUP: replacing workers needs a supervisor")
        assert _pid(_get(server.port)) == pid == server.proc.pid
    finally:
        assert server.stop() == 0


def test_process_sigterm_while_retiring_closes_idle_connections(tmp_path):
    """SIGTERM after SIGHUP: an old worker kept up by an idle keep-alive connection
    (which retiring leaves open) stops for good, closing it, rather than waiting for the
    keep-alive timeout (60 s here) or the grace period (30 s)."""
    server = Server(tmp_path, "--workers", "2", "--no-access-log", "--timeout-keep-alive",
                    "60", "--timeout-graceful-shutdown", "30")
    try:
        server.wait_for_log(r"Serving on (.|\n)*Serving on")
        keep = socket.create_connection(("127.0.0.1", server.port), timeout=20)
        _request(keep)
        server.proc.send_signal(signal.SIGHUP)
        server.wait_for_log(r"Worker \d+ retiring \(SIGHUP\)(.|\n)*"
                            r"Worker \d+ retiring \(SIGHUP\)")
        server.proc.send_signal(signal.SIGTERM)
        assert keep.recv(1) == b""  # closed by the server (bounded by the 20 s timeout)
        keep.close()
        assert server.proc.wait(timeout=20) == 0, server.stderr()
    finally:
        server.stop()
