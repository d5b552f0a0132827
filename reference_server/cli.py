"""The ``reference-server`` command line: options → :class:`Config` → :func:`server.run`.

Why it is strict: a server that starts with a typo'd option, a negative timeout or a
key without its certificate fails later, far from the cause. Every mistake the command
line can see is reported before anything binds, as one line, the way argparse reports
its own errors:

- bad option or value (argparse, or a value check such as a port outside 0..65535):
  usage line plus ``reference-server: error: ...``, exit 2;
- options that contradict each other or name missing files:
  ``reference-server: error: ...``, exit 2;
- an application that cannot be imported: ``reference-server: error: ...``, exit 1,
  no traceback (``--log-level debug`` adds it).

Every option can also come from the environment, as ``REFERENCE_SERVER_<OPTION>``
(uppercased, dashes to underscores: ``--limit-concurrency`` →
``REFERENCE_SERVER_LIMIT_CONCURRENCY``, as uvicorn's ``UVICORN_*``), so a container or a
systemd unit configures the server without a wrapper script. The command line wins over
the environment; on/off options take 1/true/yes/on or 0/false/no/off; a bad value is the
same one-line error, naming the variable. ``--env-file`` is read first, into the process
environment (without overriding what is already set), so it can hold both
``REFERENCE_SERVER_*`` and the application's own variables.

Option names, and defaults where they make sense, are uvicorn's, so a uvicorn command
line mostly works unchanged. The defaults come from :class:`Config` itself so the two
cannot drift apart.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import importlib.util
import math
import os
import ssl
import stat
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from . import __version__
from .config import Config
from .envfile import EnvFileError, load_env_file
from .http2.limits import H2Limits
from .http11.limits import Limits
from .importer import AppImportError, check_app
from .logs import LogConfigError
from .observe import AccessFormatError, check_access_format
from .proxy import TrustedProxies

PROG = "reference-server"

_DEFAULTS = Config(app="")
_LIMITS = Limits()
_H2 = H2Limits()

#: Prefix of the environment variable of each option (``--port`` → REFERENCE_SERVER_PORT).
ENV_PREFIX = "REFERENCE_SERVER_"

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


# -- value types (argparse reports their ArgumentTypeError as "argument --x: ...") ---------


def _int(text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _bounded_int(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = _int(text)
        if value < low or (high is not None and value > high):
            if high is None:
                raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
            raise argparse.ArgumentTypeError(
                f"must be between {low} and {high}, got {value}")
        return value

    parse.__name__ = "integer"  # argparse names the type in some messages
    return parse


_port = _bounded_int(0, 65535)
_positive_int = _bounded_int(1)
_non_negative_int = _bounded_int(0)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number of seconds, got {text!r}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


_DISABLED = ("none", "off")


def _optional_seconds(text: str) -> float | None:
    """Seconds, where ``none``/``off``/``0`` disable the feature (→ None)."""
    if text.strip().lower() in _DISABLED:
        return None
    value = _seconds(text)
    return value if value > 0 else None


def _optional_size(text: str) -> int | None:
    """Bytes, where ``none``/``off`` means unlimited (→ None)."""
    if text.strip().lower() in _DISABLED:
        return None
    return _non_negative_int(text)


def _root_path(text: str) -> str:
    if text and not text.startswith("/"):
        raise argparse.ArgumentTypeError(f"must start with '/', got {text!r}")
    if text.endswith("/"):
        raise argparse.ArgumentTypeError(
            f"must not end with '/' (use '' for no prefix), got {text!r}")
    return text


def _allow_ips(text: str) -> str:
    try:
        TrustedProxies(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _header_value(text: str) -> str:
    try:
        encoded = text.encode("latin-1")
    except UnicodeEncodeError:
        raise argparse.ArgumentTypeError(
            f"must be latin-1 text, got {text!r}") from None
    if any((byte < 0x20 and byte != 0x09) or byte == 0x7F for byte in encoded):
        raise argparse.ArgumentTypeError(f"must not contain control characters, got {text!r}")
    return text.strip()


def _access_format(text: str) -> str:
    try:
        return check_access_format(text)
    except AccessFormatError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _lower(text: str) -> str:
    return text.lower()


def _fmt(value: object, none: str = "none") -> str:
    """A default as shown in --help (``%`` escaped for argparse)."""
    if value is None:
        text = none
    elif isinstance(value, bool):
        text = "on" if value else "off"
    elif value == "":
        text = "''"
    else:
        text = str(value)
    return text.replace("%", "%%")


# -- the parser -----------------------------------------------------------------------------


_FROM_CONFIG = object()


def _option(group: argparse._ActionsContainer, flag: str, help: str, *,
            default: object = _FROM_CONFIG, none: str = "none", **kwargs: Any) -> None:
    """Add ``flag`` with its default shown at the end of its help: the :class:`Config`
    field named after the flag (``--root-path`` → ``root_path``) unless ``default`` is
    given, so the help and the behaviour cannot drift apart. ``none`` is how a None
    default reads."""
    if default is _FROM_CONFIG:
        default = getattr(_DEFAULTS, flag.removeprefix("--").replace("-", "_"))
    group.add_argument(flag, default=default,
                       help=f"{help} (default: {_fmt(default, none)})", **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to render ``--help``)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        usage="%(prog)s [options] APP",
        description="Serve an ASGI application over HTTP/1.1, HTTP/2 and WebSocket.",
        epilog="Example: reference-server myproject.asgi:app --port 8080 --workers 4",
    )
    parser.add_argument(
        "app", metavar="APP",
        help='the application as "module:attribute" (the attribute may be dotted, '
             'e.g. "pkg.main:api.app"); the current directory is on the import path')
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}",
        help="print the version and exit")
    on_off = argparse.BooleanOptionalAction

    app = parser.add_argument_group("application")
    _option(app, "--factory", "treat APP as a factory: call it with no arguments to get "
            "the application", action="store_true")
    _option(app, "--root-path", "ASGI root_path for an application mounted below a URL "
            "prefix, e.g. /api", type=_root_path, metavar="PATH")
    _option(app, "--lifespan", "lifespan protocol: 'on' requires the app to support it, "
            "'auto' carries on if it does not, 'off' never sends it",
            choices=("auto", "on", "off"))

    sock = parser.add_argument_group("socket")
    _option(sock, "--host", "address to bind; use 0.0.0.0 or :: for all interfaces")
    _option(sock, "--port", "TCP port to bind, 0 for any free port", type=_port)
    _option(sock, "--uds", "bind a Unix domain socket at PATH instead of --host/--port",
            metavar="PATH")
    _option(sock, "--fd", "serve an already-bound listening socket from this file "
            "descriptor, e.g. from systemd", type=_non_negative_int)
    _option(sock, "--workers", "number of worker processes sharing the socket; 1 serves "
            "in this process", type=_positive_int, metavar="N")
    _option(sock, "--backlog", "connections the kernel queues before a worker accepts "
            "them (listen() backlog)", type=_positive_int, metavar="N")
    _option(sock, "--limit-max-requests", "a worker serves this many requests, then "
            "finishes what is in flight, exits and is replaced by a fresh one (bounds what "
            "a leaking app accumulates)", none="no limit", type=_positive_int, metavar="N")
    _option(sock, "--limit-max-requests-jitter", "add a random 0..J to each worker's "
            "--limit-max-requests so workers are not all replaced at once",
            type=_non_negative_int, metavar="J")
    _option(sock, "--loop", "event loop: 'auto' uses uvloop when it is installed, else "
            "asyncio", choices=("auto", "asyncio", "uvloop"))

    proxy = parser.add_argument_group("proxy")
    _option(proxy, "--proxy-headers", "take the client address and scheme from "
            "X-Forwarded-For/-Proto when the peer is in --forwarded-allow-ips",
            action=on_off)
    _option(proxy, "--forwarded-allow-ips", "comma-separated IPs or networks (or '*' for "
            "any) whose X-Forwarded-* headers are trusted", type=_allow_ips, metavar="IPS")

    tls = parser.add_argument_group("TLS")
    _option(tls, "--ssl-certfile", "PEM certificate (chain); enables HTTPS",
            metavar="FILE")
    _option(tls, "--ssl-keyfile", "PEM private key, when not in --ssl-certfile",
            metavar="FILE")
    _option(tls, "--ssl-keyfile-password", "password of an encrypted private key",
            metavar="PASSWORD")
    _option(tls, "--ssl-ca-certs", "CA certificates to verify client certificates with; "
            "clients may still connect without one", metavar="FILE")

    limits = parser.add_argument_group("HTTP limits and timeouts")
    _option(limits, "--limit-request-line", "longest request line accepted, else 414",
            default=_LIMITS.max_request_line, type=_positive_int, metavar="BYTES")
    _option(limits, "--limit-request-head", "largest request head (request line and "
            "header fields) accepted, else 431", default=_LIMITS.max_head,
            type=_positive_int, metavar="BYTES")
    _option(limits, "--limit-request-fields", "most header fields (or trailer fields) in "
            "one request, else 431", default=_LIMITS.max_fields, type=_non_negative_int,
            metavar="N")
    _option(limits, "--limit-request-body", "largest request body accepted, else 413; "
            "'none' for no limit", default=_LIMITS.max_body, none="no limit",
            type=_optional_size, metavar="BYTES")
    _option(limits, "--limit-concurrency", "most concurrent connections per worker; more "
            "get 503", none="no limit", type=_positive_int, metavar="N")
    _option(limits, "--flow-high-water", "bytes buffered per connection before send() "
            "waits for the client, and of request body read ahead of the app",
            type=_positive_int, metavar="BYTES")
    _option(limits, "--timeout-keep-alive", "close an idle keep-alive connection after "
            "this long", type=_seconds, metavar="SECONDS")
    _option(limits, "--timeout-request-head", "time a client has to send a complete "
            "request head", type=_seconds, metavar="SECONDS")
    _option(limits, "--timeout-graceful-shutdown", "on SIGTERM/SIGINT, time in-flight "
            "requests get to finish before their connections are closed", type=_seconds,
            metavar="SECONDS")

    resp = parser.add_argument_group("responses and logging")
    _option(resp, "--server-header", "value of the Server response header; '' leaves it "
            "out", type=_header_value, metavar="VALUE")
    resp.add_argument(
        "--no-server-header", dest="server_header", action="store_const", const="",
        help="leave the Server header out (same as --server-header '')")
    _option(resp, "--date-header", "send a Date response header", action=on_off)
    _option(resp, "--access-log", "log one line per request", action=on_off)
    _option(resp, "--access-log-format", "%%-format of an HTTP access-log line with the "
            "fields client, method, path, http_version, status (int), duration (float, "
            "seconds) and bytes (int, response body), e.g. '%%(client)s %%(status)d "
            "%%(duration).3f'", type=_access_format, metavar="FORMAT")
    _option(resp, "--log-level", "least severe messages logged", type=_lower,
            choices=LOG_LEVELS)
    _option(resp, "--log-config", "logging configuration applied over the defaults: "
            ".json or .yaml/.yml (dictConfig; YAML needs PyYAML), else INI (fileConfig)",
            metavar="FILE")

    metrics = parser.add_argument_group(
        "metrics", "Prometheus text format at /metrics on a listener of its own, one view "
        "of all workers (requests and durations by status class, connections, active "
        "requests and WebSocket sessions, bytes, protocol errors).")
    _option(metrics, "--metrics-port", "serve metrics on this port; unset: no metrics",
            none="off", type=_port, metavar="PORT")
    _option(metrics, "--metrics-host", "address of the metrics listener", metavar="HOST")

    dev = parser.add_argument_group(
        "development", "--reload needs the reload extra: pip install "
        "'asgi-conformance[reload]' (watchfiles).")
    _option(dev, "--reload", "start new workers when a watched file changes (the old ones "
            "drain; an edit that fails to import keeps them)", action=on_off)
    _option(dev, "--reload-dir", "directory to watch, repeatable", default=None,
            none="the current directory", action="append", dest="reload_dirs",
            metavar="DIR")
    _option(dev, "--reload-include", "glob of file names that trigger a reload, "
            "repeatable", default=None, none="*.py", action="append",
            dest="reload_includes", metavar="GLOB")
    _option(dev, "--reload-exclude", "glob of file or directory names to ignore, "
            "repeatable", default=None, none=".*, *.py[cod], *.sw?, *~, __pycache__",
            action="append", dest="reload_excludes", metavar="GLOB")

    conf = parser.add_argument_group(
        "configuration",
        f"Every option can also be set as an environment variable {ENV_PREFIX}<OPTION> "
        f"(e.g. {ENV_PREFIX}WORKERS=4, {ENV_PREFIX}ACCESS_LOG=false); the command line "
        "wins.")
    _option(conf, "--env-file", "dotenv file (KEY=value lines) loaded into the environment "
            "before the options are read; variables already set win", metavar="FILE")

    h2 = parser.add_argument_group(
        "HTTP/2", "HTTP/2 is served over TLS when ALPN picks h2, and on plaintext "
        "connections that open with the HTTP/2 preface (prior knowledge). Limits are "
        "advertised in SETTINGS; a client over a budget gets GOAWAY ENHANCE_YOUR_CALM.")
    _option(h2, "--http2", "serve HTTP/2 (hypercorn: always on; gunicorn: "
            "--http-protocols h2,h1; granian: --http auto)", action=on_off)
    _option(h2, "--h2c-upgrade", "also switch plaintext HTTP/1.1 requests with 'Upgrade: "
            "h2c' to HTTP/2 (RFC 7540 §3.2; deprecated by RFC 9113, and a way around "
            "proxies' access rules, hence off)", action=on_off)
    _option(h2, "--h2-max-concurrent-streams", "streams a client may have open at once; "
            "more are refused", default=_H2.max_concurrent_streams, type=_positive_int,
            metavar="N")
    _option(h2, "--h2-initial-window", "request body bytes a stream may send ahead of the "
            "app reading them", default=_H2.initial_window,
            type=_bounded_int(1, 2**31 - 1), metavar="BYTES")
    _option(h2, "--h2-connection-window", "request body bytes all streams of a connection "
            "may have in flight", default=_H2.connection_window,
            type=_bounded_int(65535, 2**31 - 1), metavar="BYTES")
    _option(h2, "--h2-max-frame-size", "largest frame payload accepted",
            default=_H2.max_frame_size, type=_bounded_int(16384, 2**24 - 1), metavar="BYTES")
    _option(h2, "--h2-max-header-list-size", "largest request header section (decoded, and "
            "encoded); beyond it the connection ends", default=_H2.max_header_list_size,
            type=_bounded_int(1024), metavar="BYTES")
    _option(h2, "--h2-flood-burst", "PING, SETTINGS, PRIORITY, WINDOW_UPDATE or empty "
            "frames a client may send in a burst, per kind", default=_H2.flood_burst,
            type=_positive_int, metavar="N")
    _option(h2, "--h2-flood-rate", "... and per second after the burst",
            default=_H2.flood_rate, type=_positive_int, metavar="N")
    _option(h2, "--h2-reset-burst", "streams a client may reset before their response "
            "(rapid reset, CVE-2023-44487) in a burst", default=_H2.reset_burst,
            type=_positive_int, metavar="N")
    _option(h2, "--h2-reset-rate", "... and per second after the burst",
            default=_H2.reset_rate, type=_positive_int, metavar="N")

    ws = parser.add_argument_group("WebSocket")
    _option(ws, "--ws", "WebSocket support: 'auto' accepts upgrades, 'none' refuses them",
            choices=("auto", "none"))
    _option(ws, "--ws-max-size", "largest WebSocket message accepted", type=_positive_int,
            metavar="BYTES")
    _option(ws, "--ws-ping-interval", "send a ping after this long; 'none' or 0 disables "
            "pings", type=_optional_seconds, metavar="SECONDS")
    _option(ws, "--ws-ping-timeout", "close the connection when a ping gets no pong within "
            "this long; 'none' or 0 waits forever", type=_optional_seconds,
            metavar="SECONDS")
    _option(ws, "--ws-per-message-deflate", "offer the permessage-deflate compression "
            "extension", action=on_off)
    return parser


# -- checks argparse cannot express ---------------------------------------------------------


def options_table() -> str:
    """Every option of ``--help`` as a Markdown table, by group: README's "Every option"
    block is this text (``tests/reference/test_cli.py`` fails when they differ), so the
    README's table is as complete as ``--help`` by construction. Regenerate it with
    ``python3 -c "from reference_server.cli import options_table; print(options_table())"``."""
    parser = build_parser()
    rows = ["| option | what it does (default) |", "|---|---|"]
    for group in parser._action_groups:
        actions = [a for a in group._group_actions
                   if a.option_strings and a.help != argparse.SUPPRESS
                   and not isinstance(a, argparse._HelpAction | argparse._VersionAction)]
        if not actions:
            continue
        rows.append(f"| **{group.title}** | |")
        for action in actions:
            metavar = action.metavar or (action.dest.upper() if action.nargs != 0 else "")
            if action.choices is not None and action.metavar is None:
                metavar = "{" + ",".join(str(c) for c in action.choices) + "}"
            flags = ", ".join(f"`{flag}{f' {metavar}' if metavar and action.nargs != 0 else ''}`"
                              for flag in action.option_strings)
            text = (action.help or "") % {"prog": PROG, "default": action.default}
            rows.append(f"| {flags} | {text.replace('|', chr(92) + '|')} |")
    return "\n".join(rows)


def _fail(message: str) -> NoReturn:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _check_file(option: str, path: str | None) -> None:
    if path is None:
        return
    if not os.path.exists(path):
        _fail(f"{option}: file not found: {path!r}")
    if not os.path.isfile(path):
        _fail(f"{option}: not a regular file: {path!r}")
    if not os.access(path, os.R_OK):
        _fail(f"{option}: file not readable: {path!r}")


def _validate(args: argparse.Namespace) -> None:
    if args.uds is not None and args.fd is not None:
        _fail("--uds and --fd cannot be used together (each names the listening socket)")
    if args.uds is not None and not args.uds:
        _fail("--uds: the socket path must not be empty")
    if args.fd is not None:
        try:
            mode = os.fstat(args.fd).st_mode
        except OSError:
            _fail(f"--fd {args.fd}: not an open file descriptor")
        if not stat.S_ISSOCK(mode):
            _fail(f"--fd {args.fd}: not a socket")
    if args.ssl_certfile is None:
        for option, value in (("--ssl-keyfile", args.ssl_keyfile),
                              ("--ssl-keyfile-password", args.ssl_keyfile_password),
                              ("--ssl-ca-certs", args.ssl_ca_certs)):
            if value is not None:
                _fail(f"{option} requires --ssl-certfile")
    _check_file("--ssl-certfile", args.ssl_certfile)
    _check_file("--ssl-keyfile", args.ssl_keyfile)
    _check_file("--ssl-ca-certs", args.ssl_ca_certs)
    _check_file("--log-config", args.log_config)
    if args.reload:
        from .reload import ReloadUnavailable, require_watchfiles

        try:
            require_watchfiles()
        except ReloadUnavailable as exc:
            _fail(str(exc))
        for directory in args.reload_dirs or ():
            if not os.path.isdir(directory):
                _fail(f"--reload-dir: not a directory: {directory!r}")
    elif args.reload_dirs or args.reload_includes or args.reload_excludes:
        _fail("--reload-dir, --reload-include and --reload-exclude need --reload")
    if args.metrics_port is not None and args.uds is None and args.fd is None and \
            args.metrics_port == args.port and args.port != 0 and \
            args.metrics_host == args.host:
        _fail("--metrics-port must differ from --port")
    if args.loop == "uvloop" and importlib.util.find_spec("uvloop") is None:
        _fail("--loop uvloop: uvloop is not installed (pip install uvloop)")


# -- the environment ----------------------------------------------------------------------------


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def env_name(flag: str) -> str:
    """``--limit-concurrency`` → ``REFERENCE_SERVER_LIMIT_CONCURRENCY``."""
    return ENV_PREFIX + flag.removeprefix("--").upper().replace("-", "_")


def _env_value(action: argparse.Action, name: str, text: str) -> object:
    """``text`` converted as the option's own argument would be; a bad value is a
    one-line error naming the variable."""
    if isinstance(action, argparse._StoreTrueAction | argparse.BooleanOptionalAction):
        word = text.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        _fail(f"{name}: expected one of {'/'.join(_TRUE)} or {'/'.join(_FALSE)}, "
              f"got {text!r}")
    if isinstance(action, argparse._AppendAction):
        # A repeatable option: comma-separated values.
        items = [item.strip() for item in text.split(",") if item.strip()]
        return [_env_value(_Single(action), name, item) for item in items]
    value: object = text
    if action.type is not None:
        try:
            value = action.type(text)  # type: ignore[operator]
        except (argparse.ArgumentTypeError, ValueError) as exc:
            _fail(f"{name}: {exc}")
    if action.choices is not None and value not in action.choices:
        _fail(f"{name}: invalid choice {text!r} (choose from "
              f"{', '.join(map(repr, action.choices))})")
    return value


class _Single(argparse.Action):
    """One value of a repeatable option, checked like the option's own."""

    def __init__(self, action: argparse.Action) -> None:
        super().__init__(action.option_strings, action.dest, type=action.type,  # type: ignore[arg-type]
                         choices=action.choices)


def apply_environment(parser: argparse.ArgumentParser,
                      environ: dict[str, str] | os._Environ[str]) -> None:
    """Make each ``REFERENCE_SERVER_<OPTION>`` set in ``environ`` the default of its
    option, so the command line still wins."""
    for action in parser._actions:
        if not action.option_strings or action.dest in ("help", "version"):
            continue
        flag = action.option_strings[0]
        if flag == "--no-server-header":
            continue  # an alias of --server-header ''
        name = env_name(flag)
        text = environ.get(name)
        if text is not None:
            action.default = _env_value(action, name, text)


def _load_env_file(argv: list[str]) -> None:
    """``--env-file`` (or REFERENCE_SERVER_ENV_FILE) into ``os.environ`` before the
    options are read, so the file can set REFERENCE_SERVER_* too."""
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    pre.add_argument("--env-file")
    known, _ = pre.parse_known_args(argv)
    path = known.env_file if known.env_file is not None else \
        os.environ.get(env_name("--env-file"))
    if not path:
        return
    _check_file("--env-file", path)
    try:
        values = load_env_file(path)
    except EnvFileError as exc:
        _fail(str(exc))
    for key, value in values.items():
        os.environ.setdefault(key, value)


def parse_args(argv: Sequence[str] | None = None) -> Config:
    """Parse ``argv`` (default ``sys.argv[1:]``), with the environment's
    ``REFERENCE_SERVER_*`` variables as defaults, into a :class:`Config`.

    Exits 2 with a one-line message on any invalid option, variable or combination.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    _load_env_file(argv)
    parser = build_parser()
    apply_environment(parser, os.environ)
    args = parser.parse_args(argv)
    _validate(args)
    # Every Config field but the limits is an option of the same name.
    options = {field.name: getattr(args, field.name) for field in dataclasses.fields(Config)
               if field.name not in ("limits", "h2_limits")}
    for name in ("reload_dirs", "reload_includes", "reload_excludes"):
        options[name] = list(options[name] or ())
    return Config(
        limits=Limits(
            max_request_line=args.limit_request_line,
            max_head=args.limit_request_head,
            max_fields=args.limit_request_fields,
            max_body=args.limit_request_body,
        ),
        h2_limits=H2Limits(**{field.name: getattr(args, "h2_" + field.name)
                              for field in dataclasses.fields(H2Limits)}),
        **options,
    )


# -- running --------------------------------------------------------------------------------


def _error(message: str, code: int) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def _app_error(exc: AppImportError, config: Config) -> int:
    if config.log_level in ("debug", "trace") and exc.__cause__ is not None:
        traceback.print_exception(exc.__cause__, file=sys.stderr)
    return _error(str(exc), 1)


def _where(config: Config) -> str:
    if config.uds:
        return f"unix:{config.uds}"
    if config.fd is not None:
        return f"fd {config.fd}"
    host = f"[{config.host}]" if ":" in config.host else config.host
    return f"{host}:{config.port}"


class _KeyIsEncrypted(Exception):
    pass


def _no_password() -> str:
    # Without this, OpenSSL would prompt on the terminal for the key's password.
    raise _KeyIsEncrypted


def _check_tls(config: Config) -> str | None:
    """Load the certificate and key once, so a wrong password or a key that does not
    match the certificate is reported before binding (and not once per worker)."""
    from . import tls

    assert config.ssl_certfile is not None
    password = config.ssl_keyfile_password
    try:
        probe = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        probe.load_cert_chain(config.ssl_certfile, config.ssl_keyfile,
                              password if password is not None else _no_password)
        tls.create_ssl_context(config)
    except _KeyIsEncrypted:
        return "the TLS private key is encrypted: give its --ssl-keyfile-password"
    except (ssl.SSLError, OSError, ValueError) as exc:
        hint = ""
        if "PEM lib" in str(exc):
            hint = (" (a file is not PEM, or --ssl-keyfile-password is wrong)"
                    if password is not None else " (a file is not PEM)")
        return f"cannot load the TLS certificate/key{hint}: {exc}"
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``reference-server`` and ``python -m reference_server``."""
    config = parse_args(argv)
    try:
        # Import check before binding: a clear error, fast. The worker imports again
        # (a no-op in this process; with --workers the parent keeps a copy, as uvicorn).
        # A factory is not called here, so it runs once per worker only.
        check_app(config.app, config.factory)
    except AppImportError as exc:
        return _app_error(exc, config)
    if config.is_ssl:
        problem = _check_tls(config)
        if problem is not None:
            return _error(problem, 2)

    from . import server  # not at import time: parse_args users need no asyncio stack

    try:
        return server.run(config)
    except AppImportError as exc:  # the worker's own load_app (e.g. a failing factory)
        return _app_error(exc, config)
    except LogConfigError as exc:
        return _error(str(exc), 2)
    except server.MetricsBindError as exc:
        return _error(str(exc), 1)
    except OSError as exc:
        if config.log_level in ("debug", "trace"):
            traceback.print_exception(exc, file=sys.stderr)
        reason = exc.strerror or str(exc)
        if exc.errno == errno.EADDRINUSE:
            reason = "address already in use"
        return _error(f"cannot serve on {_where(config)}: {reason}", 1)
    except KeyboardInterrupt:
        return 130

