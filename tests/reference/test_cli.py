"""The ``reference-server`` command line: every option reaches its Config field, every
mistake is one line and the documented exit code, and the server actually serves and
stops cleanly when started the way users start it. Also the logging setup it installs."""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from reference_server import __version__
from reference_server.cli import _check_tls, build_parser, main, options_table, parse_args
from reference_server.config import Config
from reference_server.http2.limits import H2Limits
from reference_server.http11.limits import Limits
from reference_server.logs import TRACE, configure_logging

REPO = Path(__file__).resolve().parents[2]
PREFIX = "reference-server: error: "

APP_SOURCE = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b"hello from " + scope["path"].encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

def create_broken():
    raise RuntimeError("database unreachable")
"""


# -- parse_args: defaults and mapping ---------------------------------------------------------


def test_defaults_equal_config_defaults():
    assert parse_args(["pkg.mod:app"]) == Config(app="pkg.mod:app")


MAPPING = [
    (["--factory"], "factory", True),
    (["--host", "0.0.0.0"], "host", "0.0.0.0"),
    (["--host", "::1"], "host", "::1"),
    (["--port", "9000"], "port", 9000),
    (["--port", "0"], "port", 0),
    (["--uds", "/tmp/rs.sock"], "uds", "/tmp/rs.sock"),
    (["--workers", "4"], "workers", 4),
    (["--loop", "asyncio"], "loop", "asyncio"),
    (["--root-path", "/api/v1"], "root_path", "/api/v1"),
    (["--root-path", ""], "root_path", ""),
    (["--no-proxy-headers"], "proxy_headers", False),
    (["--no-proxy-headers", "--proxy-headers"], "proxy_headers", True),
    (["--forwarded-allow-ips", "10.0.0.0/8, 192.168.1.1"], "forwarded_allow_ips",
     "10.0.0.0/8, 192.168.1.1"),
    (["--forwarded-allow-ips", "*"], "forwarded_allow_ips", "*"),
    (["--lifespan", "off"], "lifespan", "off"),
    (["--lifespan", "on"], "lifespan", "on"),
    (["--limit-request-line", "1000"], "limits", Limits(max_request_line=1000)),
    (["--limit-request-head", "4096"], "limits", Limits(max_head=4096)),
    (["--limit-request-fields", "0"], "limits", Limits(max_fields=0)),
    (["--limit-request-body", "1048576"], "limits", Limits(max_body=1048576)),
    (["--limit-request-body", "none"], "limits", Limits(max_body=None)),
    (["--timeout-keep-alive", "2.5"], "timeout_keep_alive", 2.5),
    (["--timeout-request-head", "3"], "timeout_request_head", 3.0),
    (["--timeout-graceful-shutdown", "0"], "timeout_graceful_shutdown", 0.0),
    (["--limit-concurrency", "10"], "limit_concurrency", 10),
    (["--flow-high-water", "1024"], "flow_high_water", 1024),
    (["--no-access-log"], "access_log", False),
    (["--log-level", "debug"], "log_level", "debug"),
    (["--log-level", "TRACE"], "log_level", "trace"),
    (["--server-header", "acme/1.0"], "server_header", "acme/1.0"),
    (["--server-header", ""], "server_header", ""),
    (["--no-server-header"], "server_header", ""),
    (["--no-date-header"], "date_header", False),
    (["--ws", "none"], "ws", "none"),
    (["--ws-max-size", "1024"], "ws_max_size", 1024),
    (["--ws-ping-interval", "5"], "ws_ping_interval", 5.0),
    (["--ws-ping-interval", "none"], "ws_ping_interval", None),
    (["--ws-ping-interval", "0"], "ws_ping_interval", None),
    (["--ws-ping-timeout", "1.5"], "ws_ping_timeout", 1.5),
    (["--ws-ping-timeout", "off"], "ws_ping_timeout", None),
    (["--no-ws-per-message-deflate"], "ws_per_message_deflate", False),
    (["--no-http2"], "http2", False),
    (["--h2c-upgrade"], "h2c_upgrade", True),
    (["--h2-max-concurrent-streams", "7"], "h2_limits", H2Limits(max_concurrent_streams=7)),
    (["--h2-initial-window", "1"], "h2_limits", H2Limits(initial_window=1)),
    (["--h2-connection-window", "65535"], "h2_limits", H2Limits(connection_window=65535)),
    (["--h2-max-frame-size", "16777215"], "h2_limits", H2Limits(max_frame_size=2**24 - 1)),
    (["--h2-max-header-list-size", "1024"], "h2_limits",
     H2Limits(max_header_list_size=1024)),
    (["--h2-flood-burst", "5"], "h2_limits", H2Limits(flood_burst=5)),
    (["--h2-flood-rate", "6"], "h2_limits", H2Limits(flood_rate=6)),
    (["--h2-reset-burst", "8"], "h2_limits", H2Limits(reset_burst=8)),
    (["--h2-reset-rate", "9"], "h2_limits", H2Limits(reset_rate=9)),
    (["--backlog", "16"], "backlog", 16),
    (["--reload"], "reload", True),
    (["--metrics-port", "9100"], "metrics_port", 9100),
    (["--metrics-host", "::1"], "metrics_host", "::1"),
    (["--limit-max-requests", "100"], "limit_max_requests", 100),
    (["--limit-max-requests-jitter", "10"], "limit_max_requests_jitter", 10),
    (["--access-log-format", "%(status)d %(bytes)d"], "access_log_format",
     "%(status)d %(bytes)d"),
]


@pytest.mark.parametrize("argv,field,expected", MAPPING, ids=lambda v: str(v))
def test_option_maps_to_field(argv, field, expected):
    config = parse_args(["m:app", *argv])
    assert getattr(config, field) == expected
    # Nothing else changed.
    default = Config(app="m:app")
    changed = {f.name for f in dataclasses.fields(Config)
               if getattr(config, f.name) != getattr(default, f.name)}
    assert changed <= {field}


def test_options_may_precede_app():
    assert parse_args(["--port", "9001", "m:app"]).port == 9001


def test_fd_maps_to_field():
    with socket.socket() as sock:
        config = parse_args(["m:app", "--fd", str(sock.fileno())])
        assert config.fd == sock.fileno()


def test_ssl_options_map_to_fields(tmp_path):
    cert, key, ca = (tmp_path / name for name in ("cert.pem", "key.pem", "ca.pem"))
    for path in (cert, key, ca):
        path.write_text("not checked by parse_args\n")
    config = parse_args(["m:app", "--ssl-certfile", str(cert), "--ssl-keyfile", str(key),
                         "--ssl-keyfile-password", "s3cret", "--ssl-ca-certs", str(ca)])
    assert (config.ssl_certfile, config.ssl_keyfile, config.ssl_keyfile_password,
            config.ssl_ca_certs) == (str(cert), str(key), "s3cret", str(ca))
    assert config.is_ssl


def test_uvloop_option():
    pytest.importorskip("uvloop")
    assert parse_args(["m:app", "--loop", "uvloop"]).loop == "uvloop"


def test_every_config_field_has_an_option():
    covered = {field for _, field, _ in MAPPING}
    covered |= {"app", "fd", "ssl_certfile", "ssl_keyfile", "ssl_keyfile_password",
                "ssl_ca_certs", "env_file", "log_config",  # test_ops_config
                "reload_dirs", "reload_includes", "reload_excludes"}  # test_reload
    assert covered == {f.name for f in dataclasses.fields(Config)}


@pytest.mark.parametrize("argv", [
    ["--h2-max-frame-size", "16383"], ["--h2-max-frame-size", "16777216"],
    ["--h2-initial-window", "2147483648"], ["--h2-initial-window", "0"],
    ["--h2-connection-window", "1000"], ["--h2-max-concurrent-streams", "0"],
], ids=lambda v: " ".join(v))
def test_h2_limits_outside_what_rfc_9113_allows_are_refused(argv, capsys):
    """RFC 9113 §6.5.2: frame sizes 2^14..2^24-1, windows up to 2^31-1."""
    with pytest.raises(SystemExit) as exc:
        parse_args(["m:app", *argv])
    assert exc.value.code == 2
    assert argv[0] in capsys.readouterr().err


def test_limit_options_cover_every_limit():
    config = parse_args(["m:app", "--limit-request-line", "1", "--limit-request-head", "2",
                         "--limit-request-fields", "3", "--limit-request-body", "4"])
    assert config.limits == Limits(max_request_line=1, max_head=2, max_fields=3, max_body=4)
    unchanged = {f.name for f in dataclasses.fields(Limits)
                 if getattr(config.limits, f.name) == getattr(Limits(), f.name)}
    assert not unchanged


# -- help and version ---------------------------------------------------------------------


def test_every_option_help_states_its_default():
    undocumented = []
    for action in build_parser()._actions:
        if not action.option_strings or action.dest in ("help", "version"):
            continue
        if action.option_strings == ["--no-server-header"]:
            continue  # an alias; --server-header states the default
        if not action.help or "default" not in action.help:
            undocumented.append(action.option_strings[0])
    assert undocumented == []


def test_help_exits_0(capsys):
    with pytest.raises(SystemExit) as info:
        parse_args(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--ws-per-message-deflate", "--no-ws-per-message-deflate",
                   "--no-server-header", "--timeout-graceful-shutdown", "--limit-request-body"):
        assert option in out


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        parse_args(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"reference-server {__version__}"


# -- parse_args: errors ---------------------------------------------------------------------


def error_line(capsys, argv):
    """Run parse_args expecting exit 2; return the single error line."""
    with pytest.raises(SystemExit) as info:
        parse_args(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert lines, "no error message"
    assert "Traceback" not in err
    # At most argparse's one-line usage, then exactly one error line.
    assert len(lines) <= 2, err
    if len(lines) == 2:
        assert lines[0].startswith("usage: reference-server"), err
    assert lines[-1].startswith(PREFIX), err
    return lines[-1]


BAD_VALUES = [
    ([], "APP"),
    (["--port", "70000"], "--port"),
    (["--port", "-1"], "--port"),
    (["--port", "http"], "--port"),
    (["--workers", "0"], "--workers"),
    (["--fd", "-1"], "--fd"),
    (["--loop", "trio"], "--loop"),
    (["--lifespan", "maybe"], "--lifespan"),
    (["--log-level", "verbose"], "--log-level"),
    (["--ws", "wsproto"], "--ws"),
    (["--root-path", "api"], "--root-path"),
    (["--root-path", "/api/"], "--root-path"),
    (["--forwarded-allow-ips", "10.0.0.0/99"], "--forwarded-allow-ips"),
    (["--server-header", "a\x01b"], "--server-header"),
    (["--server-header", "caf\u00e9\u2603"], "--server-header"),
    (["--timeout-keep-alive", "-1"], "--timeout-keep-alive"),
    (["--timeout-request-head", "nan"], "--timeout-request-head"),
    (["--timeout-graceful-shutdown", "soon"], "--timeout-graceful-shutdown"),
    (["--limit-request-line", "0"], "--limit-request-line"),
    (["--limit-request-head", "-5"], "--limit-request-head"),
    (["--limit-request-fields", "-1"], "--limit-request-fields"),
    (["--limit-request-body", "-1"], "--limit-request-body"),
    (["--limit-request-body", "1.5"], "--limit-request-body"),
    (["--limit-concurrency", "0"], "--limit-concurrency"),
    (["--flow-high-water", "0"], "--flow-high-water"),
    (["--ws-max-size", "0"], "--ws-max-size"),
    (["--ws-ping-interval", "-1"], "--ws-ping-interval"),
    (["--ws-ping-timeout", "inf"], "--ws-ping-timeout"),
    (["--bogus"], "--bogus"),
    (["--access-log=yes"], "--access-log"),
]


@pytest.mark.parametrize("argv,mentions", BAD_VALUES, ids=lambda v: str(v))
def test_bad_value_is_a_one_line_usage_error(capsys, argv, mentions):
    app = [] if mentions == "APP" else ["m:app"]
    line = error_line(capsys, [*app, *argv])
    assert mentions in line


def test_uds_with_fd(capsys):
    with socket.socket() as sock:
        line = error_line(capsys, ["m:app", "--uds", "/tmp/x.sock", "--fd", str(sock.fileno())])
    assert line == PREFIX + "--uds and --fd cannot be used together " \
                            "(each names the listening socket)"


def test_fd_not_open(capsys):
    fd = os.open(os.devnull, os.O_RDONLY)
    os.close(fd)
    line = error_line(capsys, ["m:app", "--fd", str(fd)])
    assert line == PREFIX + f"--fd {fd}: not an open file descriptor"


def test_fd_not_a_socket(capsys):
    read_end, write_end = os.pipe()
    try:
        line = error_line(capsys, ["m:app", "--fd", str(read_end)])
    finally:
        os.close(read_end)
        os.close(write_end)
    assert line == PREFIX + f"--fd {read_end}: not a socket"


@pytest.mark.parametrize("option", ["--ssl-keyfile", "--ssl-keyfile-password",
                                    "--ssl-ca-certs"])
def test_ssl_option_without_certfile(capsys, tmp_path, option):
    path = tmp_path / "file.pem"
    path.write_text("x")
    line = error_line(capsys, ["m:app", option, str(path)])
    assert line == PREFIX + f"{option} requires --ssl-certfile"


@pytest.mark.parametrize("option", ["--ssl-certfile", "--ssl-keyfile", "--ssl-ca-certs"])
def test_ssl_file_not_found(capsys, tmp_path, option):
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    missing = tmp_path / "missing.pem"
    argv = ["m:app", option, str(missing)]
    if option != "--ssl-certfile":
        argv += ["--ssl-certfile", str(cert)]
    line = error_line(capsys, argv)
    assert line == PREFIX + f"{option}: file not found: {str(missing)!r}"


def test_ssl_file_is_a_directory(capsys, tmp_path):
    line = error_line(capsys, ["m:app", "--ssl-certfile", str(tmp_path)])
    assert line == PREFIX + f"--ssl-certfile: not a regular file: {str(tmp_path)!r}"


# -- main() in process (it returns before serving in these cases) ----------------------------


@pytest.fixture
def app_dir(tmp_path, monkeypatch):
    """tmp_path with the test app as ``rs_cli_app_<pid>``, as the working directory."""
    name = f"rs_cli_app_{os.getpid()}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(APP_SOURCE))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield tmp_path, name
    for module in set(sys.modules) - before:
        del sys.modules[module]


def test_main_app_not_importable(capsys, app_dir):
    assert main(["rs_no_such_module_xyz:app"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(PREFIX + "Could not import module 'rs_no_such_module_xyz'")
    assert len(err.splitlines()) == 1


def test_main_app_not_callable(capsys, app_dir):
    _, name = app_dir
    assert main([f"{name}:APP_MISSING"]) == 1
    assert capsys.readouterr().err == PREFIX + f"Attribute 'APP_MISSING' not found in " \
                                               f"module '{name}'\n"


def test_main_debug_level_adds_the_traceback(capsys, app_dir):
    tmp_path, _ = app_dir
    (tmp_path / "rs_cli_broken.py").write_text("import rs_missing_dependency_xyz\n")
    assert main(["rs_cli_broken:app", "--log-level", "debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert err.splitlines()[-1] == \
        PREFIX + "Error importing 'rs_cli_broken': No module named 'rs_missing_dependency_xyz'"


def test_main_unloadable_certificate(capsys, app_dir):
    tmp_path, name = app_dir
    cert = tmp_path / "cert.pem"
    cert.write_text("this is not a certificate\n")
    assert main([f"{name}:app", "--ssl-certfile", str(cert)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(PREFIX + "cannot load the TLS certificate/key (a file is not PEM): ")
    assert len(err.splitlines()) == 1


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """A self-signed certificate, its key (plain and encrypted with "pw"), another key."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command")
    directory = tmp_path_factory.mktemp("certs")
    for name in ("a", "b"):
        subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=localhost", "-keyout", str(directory / f"{name}.key"),
                        "-out", str(directory / f"{name}.crt")],
                       check=True, capture_output=True, timeout=30)
    subprocess.run([openssl, "rsa", "-in", str(directory / "a.key"), "-aes256",
                    "-passout", "pass:pw", "-out", str(directory / "a.enc.key")],
                   check=True, capture_output=True, timeout=30)
    return directory


@pytest.mark.parametrize("extra,expected", [
    ([], None),
    (["--ssl-keyfile", "a.enc.key", "--ssl-keyfile-password", "pw"], None),
    (["--ssl-keyfile", "a.enc.key"],
     "the TLS private key is encrypted: give its --ssl-keyfile-password"),
    (["--ssl-keyfile", "a.enc.key", "--ssl-keyfile-password", "wrong"],
     "cannot load the TLS certificate/key (a file is not PEM, or --ssl-keyfile-password "
     "is wrong): "),
    (["--ssl-keyfile", "b.key"], "cannot load the TLS certificate/key: "),
])
def test_tls_check(certs, monkeypatch, extra, expected):
    monkeypatch.chdir(certs)
    key = [] if extra else ["--ssl-keyfile", "a.key"]
    config = parse_args(["m:app", "--ssl-certfile", "a.crt", *key, *extra])
    problem = _check_tls(config)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None
        assert problem.startswith(expected)
        assert "\n" not in problem


def test_main_bad_option_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["m:app", "--port", "x"])
    assert info.value.code == 2


# -- subprocesses: the command as users run it -------------------------------------------------


def _env(tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(tmp_path)])
    env.pop("PYTHONSTARTUP", None)
    return env


def run_cli(tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "reference_server", *args],
                          cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True,
                          timeout=30, stdin=subprocess.DEVNULL)


def test_subprocess_module_not_found(tmp_path):
    proc = run_cli(tmp_path, "nosuchmod:app")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(PREFIX + "Could not import module 'nosuchmod'")


def test_subprocess_import_error_inside_the_app(tmp_path):
    (tmp_path / "brokenapp.py").write_text("import rs_missing_dependency_xyz\n")
    proc = run_cli(tmp_path, "brokenapp:app")
    assert proc.returncode == 1
    assert proc.stderr == PREFIX + \
        "Error importing 'brokenapp': No module named 'rs_missing_dependency_xyz'\n"


def test_subprocess_bad_option(tmp_path):
    proc = run_cli(tmp_path, "m:app", "--workers", "0")
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1] == \
        PREFIX + "argument --workers: must be at least 1, got 0"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_subprocess_failing_factory(tmp_path):
    (tmp_path / "factoryapp.py").write_text(textwrap.dedent(APP_SOURCE))
    proc = run_cli(tmp_path, "factoryapp:create_broken", "--factory",
                   "--port", str(free_port()))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[-1].startswith(
        PREFIX + "App factory 'factoryapp:create_broken' raised RuntimeError: "
                 "database unreachable")


def test_subprocess_address_in_use(tmp_path):
    (tmp_path / "busyapp.py").write_text(textwrap.dedent(APP_SOURCE))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = run_cli(tmp_path, "busyapp:app", "--port", str(port))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[-1] == \
        PREFIX + f"cannot serve on 127.0.0.1:{port}: address already in use"


def _get(port, path="/"):
    """One GET over a fresh connection; the raw response (bounded by socket timeouts)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
        return head + b"\r\n\r\n" + body


def _wait_listening(proc, port, stderr_path):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}:\n{stderr_path.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"server did not listen within 10 s:\n{stderr_path.read_text()}")


@pytest.mark.parametrize("workers", [1, 2])
def test_subprocess_serves_and_stops_on_sigterm(tmp_path, workers):
    (tmp_path / "servedapp.py").write_text(textwrap.dedent(APP_SOURCE))
    port = free_port()
    stderr_path = tmp_path / "stderr.txt"
    with open(stderr_path, "w") as stderr, open(tmp_path / "stdout.txt", "w") as stdout:
        proc = subprocess.Popen(
            [sys.executable, "-m", "reference_server", "servedapp:app", "--port", str(port),
             "--workers", str(workers), "--timeout-graceful-shutdown", "5"],
            cwd=tmp_path, env=_env(tmp_path), stdout=stdout, stderr=stderr,
            stdin=subprocess.DEVNULL)
    try:
        _wait_listening(proc, port, stderr_path)
        response = _get(port, "/probe")
        assert response.startswith(b"HTTP/1.1 200 "), response
        assert response.endswith(b"\r\n\r\nhello from /probe"), response
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0, stderr_path.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    log = stderr_path.read_text()
    assert "Traceback" not in log
    assert "INFO:     " in log


# -- logging ----------------------------------------------------------------------------------


@pytest.fixture
def loggers():
    """The two server loggers, restored after the test."""
    saved = []
    for name in ("reference_server.error", "reference_server.access"):
        logger = logging.getLogger(name)
        saved.append((logger, list(logger.handlers), logger.level, logger.propagate,
                      logger.disabled))
    yield logging.getLogger("reference_server.error"), \
        logging.getLogger("reference_server.access")
    for logger, handlers, level, propagate, disabled in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
        logger.disabled = disabled


def test_logging_format_is_uvicorns(loggers, capsys):
    error, access = loggers
    configure_logging("info", True)
    error.info("Serving on %s", "http://127.0.0.1:8000")
    error.warning("careful")
    access.info('127.0.0.1:5000 - "GET / HTTP/1.1" 200')
    error.debug("not shown")
    assert capsys.readouterr().err.splitlines() == [
        "INFO:     Serving on http://127.0.0.1:8000",
        "WARNING:  careful",
        'INFO:     127.0.0.1:5000 - "GET / HTTP/1.1" 200',
    ]


def test_logging_is_idempotent(loggers, capsys):
    error, access = loggers
    configure_logging("info", True)
    configure_logging("debug", True)
    error.info("once")
    assert capsys.readouterr().err == "INFO:     once\n"
    assert error.isEnabledFor(logging.DEBUG)
    assert len(error.handlers) == len(access.handlers) == 1


def test_trace_level(loggers, capsys):
    error, _ = loggers
    configure_logging("trace", True)
    assert logging.getLevelName(TRACE) == "TRACE"
    error.log(TRACE, "bytes in")
    assert capsys.readouterr().err == "TRACE:    bytes in\n"


def test_access_log_off(loggers, capsys):
    error, access = loggers
    configure_logging("debug", False)
    access.info("request")
    access.error("even this")
    error.info("still here")
    assert capsys.readouterr().err == "INFO:     still here\n"
    assert not access.isEnabledFor(logging.INFO)
    configure_logging("info", True)  # and back on
    assert access.isEnabledFor(logging.INFO)


def test_level_above_info_silences_access_lines(loggers):
    _, access = loggers
    configure_logging("warning", True)
    assert not access.isEnabledFor(logging.INFO)


def test_unknown_log_level(loggers):
    with pytest.raises(ValueError, match="unknown log level 'loud'"):
        configure_logging("loud", True)


def test_readme_lists_every_option_as_help_gives_it() -> None:
    """README's "Every option" table is ``options_table()``: every option of --help, with
    its help and default, so the README cannot miss one or drift from the parser."""
    readme = (REPO / "README.md").read_text()
    start = readme.index("<!-- options:")
    body = readme[readme.index("\n", start) + 1:readme.index("\n<!-- /options -->")]
    assert body == options_table(), (
        'README\'s option table is stale: python3 -c "from reference_server.cli import '
        'options_table; print(options_table())" gives the current one')
    for action in build_parser()._actions:
        for flag in action.option_strings:
            if flag not in ("-h", "--help", "--version"):
                assert f"`{flag}" in body, flag
