"""Server selection: names, templates and the errors a user sees."""

from __future__ import annotations

import shlex
import sys

import pytest

from conformance.servers import (
    BUILTIN,
    ServerConfigError,
    parse_server_option,
    parse_template,
    resolve,
)


def test_template_fills_placeholders():
    spec = parse_template("{python} -m myserver {app} --bind {host}:{port} --mod {app_module}")
    argv = spec.command(app="fixtures.probe:app", host="127.0.0.1", port=8123)
    assert argv == [sys.executable, "-m", "myserver", "fixtures.probe:app",
                    "--bind", "127.0.0.1:8123", "--mod", "fixtures.probe"]


@pytest.mark.parametrize("missing", ["app", "host", "port"])
def test_template_missing_placeholder_is_named(missing):
    parts = {"app": "{app}", "host": "--host {host}", "port": "--port {port}"}
    template = "srv " + " ".join(v for k, v in parts.items() if k != missing)
    with pytest.raises(ServerConfigError, match=r"\{" + missing + r"\}"):
        parse_template(template)


def test_template_unknown_placeholder():
    with pytest.raises(ServerConfigError, match=r"unknown placeholder \{workers\}"):
        parse_template("srv {app} {host} {port} {workers}")


def test_template_bad_quoting_and_braces():
    with pytest.raises(ServerConfigError, match="cannot split"):
        parse_template("srv '{app} {host} {port}")
    with pytest.raises(ServerConfigError, match="placeholder syntax"):
        parse_template("srv {app} {host} {port} {")


def test_literal_braces_survive():
    spec = parse_template("srv {app} {host} {port} --json {{}}")
    assert spec.command(app="m:a", host="h", port=1)[-1] == "{}"


def test_unknown_server_lists_known_ones():
    with pytest.raises(ServerConfigError, match=r"unknown server .nginx.*uvicorn"):
        resolve("nginx", None, None)


def test_both_options_rejected():
    with pytest.raises(ServerConfigError, match="not both"):
        resolve("uvicorn", "srv {app} {host} {port}", None)


def test_not_installed_server(monkeypatch):
    spec = BUILTIN["granian"]
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(ServerConfigError, match=r"'granian' is not installed.*pip install"):
        spec.check_installed()


@pytest.mark.parametrize("name", list(BUILTIN))
def test_every_builtin_template_is_valid(name):
    # The same validation a --server-cmd gets: all required placeholders, no unknown ones.
    parse_template(BUILTIN[name].display_command(), name)


# --- --server-option: telling the harness a custom server's options ---------------------


def test_server_options_attach_to_the_spec_and_the_last_one_wins():
    spec = resolve(None, "srv {app} {host} {port}", "mine", [
        "root_path=--prefix {value}",
        "tls=--tls-cert {cert} --tls-key={key}",
        "root_path=--root '{value}'",
    ])
    assert spec.option_template("root_path") == ("--root", "{value}")
    assert spec.option_template("tls") == ("--tls-cert", "{cert}", "--tls-key={key}")
    assert spec.option_template("workers") is None


def test_a_builtin_server_takes_options_too():
    spec = resolve("uvicorn", None, None, ["workers=--workers={value}"])
    assert spec.option_template("workers") == ("--workers={value}",)
    assert spec.argv == BUILTIN["uvicorn"].argv
    # the others stay the server's own
    assert spec.option_template("root_path") == ("--root-path", "{value}")


@pytest.mark.parametrize(("name", "feature", "values", "args"), [
    ("reference", "root_path", {"value": "/mnt"}, ("--root-path", "/mnt")),
    ("granian", "root_path", {"value": "/mnt"}, ("--url-path-prefix", "/mnt")),
    ("hypercorn", "tls", {"cert": "c.pem", "key": "k.pem"},
     ("--certfile", "c.pem", "--keyfile", "k.pem")),
    ("uvicorn-h11", "workers", {"value": "2"}, ("--workers", "2")),
    ("reference", "head_timeout", {"value": "0.5"}, ("--timeout-request-head", "0.5")),
    ("granian", "head_timeout", {"value": "0.5"}, ("--http1-header-read-timeout", "500")),
    ("daphne", "workers", {"value": "2"}, None),
    ("uvicorn", "head_timeout", {"value": "0.5"}, None),
    ("gunicorn", "h2c", {}, ("--http-protocols", "h2,h1", "--http2-cleartext", "both")),
    ("hypercorn", "h2c", {}, ()),
    ("uvicorn", "h2c", {}, None),
    ("daphne", "h2_tls", {"cert": "c.pem", "key": "k.pem", "tls_port": "9", "host": "h"},
     ("-e", "ssl:9:interface=h:privateKey=k.pem:certKey=c.pem")),
])
def test_builtin_servers_carry_their_options(name, feature, values, args):
    assert BUILTIN[name].option_args(feature, **values) == args


def test_a_custom_command_named_like_a_builtin_server_gets_none_of_its_options():
    spec = resolve(None, "srv {app} {host} {port}", "uvicorn")
    assert spec.options == ()
    assert spec.option_args("root_path", value="/mnt") is None


@pytest.mark.parametrize("name", list(BUILTIN))
def test_builtin_option_templates_pass_the_server_option_checks(name):
    for feature, template in BUILTIN[name].options:
        item = f"{feature}={shlex.join(template)}"
        assert parse_server_option(item) == (feature, template)


@pytest.mark.parametrize(("item", "expected"), [
    ("--root-path {value}", "expected FEATURE=ARGS"),
    ("root=--root-path {value}", "expected FEATURE=ARGS with FEATURE one of root_path"),
    ("root_path=--root-path /mnt", r"must contain \{value\}"),
    ("tls=--key {key}", r"must contain \{cert\}"),
    ("workers=-w {count}", r"unknown placeholder \{count\}; known: \{value\}"),
    ("root_path=--root '{value}", "cannot split"),
    ("root_path=--root {value", "placeholder syntax"),
])
def test_a_bad_server_option_is_one_clear_error(item, expected):
    with pytest.raises(ServerConfigError, match=expected):
        resolve(None, "srv {app} {host} {port}", None, [item])


def test_head_timeout_may_be_given_in_milliseconds():
    spec = resolve(None, "srv {app} {host} {port}", None, ["head_timeout=--hdr-ms {value_ms}"])
    assert spec.option_template("head_timeout") == ("--hdr-ms", "{value_ms}")


def test_h2_options_need_no_placeholder_for_h2c_and_a_cert_for_h2_tls():
    spec = resolve(None, "srv {app} {host} {port}", "mine", ["h2c=", "h2_tls=--tls {cert} {key}"])
    assert spec.option_args("h2c") == ()
    assert spec.option_args("h2_tls", cert="c", key="k", tls_port="1", host="h") == (
        "--tls", "c", "k")
    with pytest.raises(ServerConfigError, match=r"must contain \{cert\}"):
        resolve(None, "srv {app} {host} {port}", "mine", ["h2_tls=--tls"])


def test_servers_without_h2_say_why():
    assert "HTTP/2" in (BUILTIN["uvicorn"].lacks_reason("h2") or "")
    assert BUILTIN["hypercorn"].lacks_reason("h2") is None
