"""Server selection: names, templates and the errors a user sees."""

from __future__ import annotations

import sys

import pytest

from conformance.servers import BUILTIN, ServerConfigError, parse_template, resolve


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
