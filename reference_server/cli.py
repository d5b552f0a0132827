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

Option names, and defaults where they make sense, are uvicorn's, so a uvicorn command
line mostly works unchanged. The defaults come from :class:`Config` itself so the two
cannot drift apart.
"""

from __future__ import annotations

import argparse
import errno
import importlib.util
import math
import os
import ssl
import stat
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import NoReturn

from . import __version__
from .config import Config
from .http11.limits import Limits
from .importer import AppImportError, check_app
from .proxy import TrustedProxies

PROG = "reference-server"

_DEFAULTS = Config(app="")
_LIMITS = Limits()

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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to render ``--help``)."""
    d = _DEFAULTS
    parser = argparse.ArgumentParser(
        prog=PROG,
        usage="%(prog)s [options] APP",
        description="Serve an ASGI application over HTTP/1.1 and WebSocket.",
        epilog="Example: reference-server myproject.asgi:app --port 8080 --workers 4",
    )
    parser.add_argument(
        "app", metavar="APP",
        help='the application as "module:attribute" (the attribute may be dotted, '
             'e.g. "pkg.main:api.app"); the current directory is on the import path')
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}",
        help="print the version and exit")

    app = parser.add_argument_group("application")
    app.add_argument(
        "--factory", action="store_true", default=d.factory,
        help="treat APP as a factory: call it with no arguments to get the application "
             f"(default: {_fmt(d.factory)})")
    app.add_argument(
        "--root-path", type=_root_path, default=d.root_path, metavar="PATH",
        help="ASGI root_path for an application mounted below a URL prefix, e.g. /api "
             f"(default: {_fmt(d.root_path)})")
    app.add_argument(
        "--lifespan", choices=("auto", "on", "off"), default=d.lifespan,
        help="lifespan protocol: 'on' requires the app to support it, 'auto' carries on "
             f"if it does not, 'off' never sends it (default: {_fmt(d.lifespan)})")

    sock = parser.add_argument_group("socket")
    sock.add_argument(
        "--host", default=d.host,
        help=f"address to bind; use 0.0.0.0 or :: for all interfaces "
             f"(default: {_fmt(d.host)})")
    sock.add_argument(
        "--port", type=_port, default=d.port,
        help=f"TCP port to bind, 0 for any free port (default: {_fmt(d.port)})")
    sock.add_argument(
        "--uds", default=d.uds, metavar="PATH",
        help="bind a Unix domain socket at PATH instead of --host/--port "
             f"(default: {_fmt(d.uds)})")
    sock.add_argument(
        "--fd", type=_non_negative_int, default=d.fd,
        help="serve an already-bound listening socket from this file descriptor, e.g. "
             f"from systemd (default: {_fmt(d.fd)})")
    sock.add_argument(
        "--workers", type=_positive_int, default=d.workers, metavar="N",
        help="number of worker processes sharing the socket; 1 serves in this process "
             f"(default: {_fmt(d.workers)})")
    sock.add_argument(
        "--loop", choices=("auto", "asyncio", "uvloop"), default=d.loop,
        help="event loop: 'auto' uses uvloop when it is installed, else asyncio "
             f"(default: {_fmt(d.loop)})")

    proxy = parser.add_argument_group("proxy")
    proxy.add_argument(
        "--proxy-headers", action=argparse.BooleanOptionalAction, default=d.proxy_headers,
        help="take the client address and scheme from X-Forwarded-For/-Proto when the "
             f"peer is in --forwarded-allow-ips (default: {_fmt(d.proxy_headers)})")
    proxy.add_argument(
        "--forwarded-allow-ips", type=_allow_ips, default=d.forwarded_allow_ips,
        metavar="IPS",
        help="comma-separated IPs or networks (or '*' for any) whose X-Forwarded-* "
             f"headers are trusted (default: {_fmt(d.forwarded_allow_ips)})")

    tls = parser.add_argument_group("TLS")
    tls.add_argument(
        "--ssl-certfile", default=d.ssl_certfile, metavar="FILE",
        help="PEM certificate (chain); enables HTTPS (default: none)")
    tls.add_argument(
        "--ssl-keyfile", default=d.ssl_keyfile, metavar="FILE",
        help="PEM private key, when not in --ssl-certfile (default: none)")
    tls.add_argument(
        "--ssl-keyfile-password", default=d.ssl_keyfile_password, metavar="PASSWORD",
        help="password of an encrypted private key (default: none)")
    tls.add_argument(
        "--ssl-ca-certs", default=d.ssl_ca_certs, metavar="FILE",
        help="CA certificates to verify client certificates with; clients may still "
             "connect without one (default: none)")

    limits = parser.add_argument_group("HTTP limits and timeouts")
    limits.add_argument(
        "--limit-request-line", type=_positive_int, default=_LIMITS.max_request_line,
        metavar="BYTES",
        help="longest request line accepted, else 414 "
             f"(default: {_fmt(_LIMITS.max_request_line)})")
    limits.add_argument(
        "--limit-request-head", type=_positive_int, default=_LIMITS.max_head,
        metavar="BYTES",
        help="largest request head (request line and header fields) accepted, else 431 "
             f"(default: {_fmt(_LIMITS.max_head)})")
    limits.add_argument(
        "--limit-request-fields", type=_non_negative_int, default=_LIMITS.max_fields,
        metavar="N",
        help="most header fields (or trailer fields) in one request, else 431 "
             f"(default: {_fmt(_LIMITS.max_fields)})")
    limits.add_argument(
        "--limit-request-body", type=_optional_size, default=_LIMITS.max_body,
        metavar="BYTES",
        help="largest request body accepted, else 413; 'none' for no limit "
             f"(default: {_fmt(_LIMITS.max_body, 'no limit')})")
    limits.add_argument(
        "--limit-concurrency", type=_positive_int, default=d.limit_concurrency,
        metavar="N",
        help="most concurrent connections per worker; more get 503 "
             f"(default: {_fmt(d.limit_concurrency, 'no limit')})")
    limits.add_argument(
        "--flow-high-water", type=_positive_int, default=d.flow_high_water,
        metavar="BYTES",
        help="bytes buffered per connection before send() waits for the client, and of "
             f"request body read ahead of the app (default: {_fmt(d.flow_high_water)})")
    limits.add_argument(
        "--timeout-keep-alive", type=_seconds, default=d.timeout_keep_alive,
        metavar="SECONDS",
        help="close an idle keep-alive connection after this long "
             f"(default: {_fmt(d.timeout_keep_alive)})")
    limits.add_argument(
        "--timeout-request-head", type=_seconds, default=d.timeout_request_head,
        metavar="SECONDS",
        help="time a client has to send a complete request head "
             f"(default: {_fmt(d.timeout_request_head)})")
    limits.add_argument(
        "--timeout-graceful-shutdown", type=_seconds, default=d.timeout_graceful_shutdown,
        metavar="SECONDS",
        help="on SIGTERM/SIGINT, time in-flight requests get to finish before their "
             f"connections are closed (default: {_fmt(d.timeout_graceful_shutdown)})")

    resp = parser.add_argument_group("responses and logging")
    resp.add_argument(
        "--server-header", type=_header_value, default=d.server_header, metavar="VALUE",
        help="value of the Server response header; '' leaves it out "
             f"(default: {_fmt(d.server_header)})")
    resp.add_argument(
        "--no-server-header", dest="server_header", action="store_const", const="",
        help="leave the Server header out (same as --server-header '')")
    resp.add_argument(
        "--date-header", action=argparse.BooleanOptionalAction, default=d.date_header,
        help=f"send a Date response header (default: {_fmt(d.date_header)})")
    resp.add_argument(
        "--access-log", action=argparse.BooleanOptionalAction, default=d.access_log,
        help=f"log one line per request (default: {_fmt(d.access_log)})")
    resp.add_argument(
        "--log-level", type=_lower, choices=LOG_LEVELS, default=d.log_level,
        help=f"least severe messages logged (default: {_fmt(d.log_level)})")

    ws = parser.add_argument_group("WebSocket")
    ws.add_argument(
        "--ws", choices=("auto", "none"), default=d.ws,
        help="WebSocket support: 'auto' accepts upgrades, 'none' refuses them "
             f"(default: {_fmt(d.ws)})")
    ws.add_argument(
        "--ws-max-size", type=_positive_int, default=d.ws_max_size, metavar="BYTES",
        help=f"largest WebSocket message accepted (default: {_fmt(d.ws_max_size)})")
    ws.add_argument(
        "--ws-ping-interval", type=_optional_seconds, default=d.ws_ping_interval,
        metavar="SECONDS",
        help="send a ping after this long; 'none' or 0 disables pings "
             f"(default: {_fmt(d.ws_ping_interval)})")
    ws.add_argument(
        "--ws-ping-timeout", type=_optional_seconds, default=d.ws_ping_timeout,
        metavar="SECONDS",
        help="close the connection when a ping gets no pong within this long; 'none' or 0 "
             f"waits forever (default: {_fmt(d.ws_ping_timeout)})")
    ws.add_argument(
        "--ws-per-message-deflate", action=argparse.BooleanOptionalAction,
        default=d.ws_per_message_deflate,
        help="offer the permessage-deflate compression extension "
             f"(default: {_fmt(d.ws_per_message_deflate)})")
    return parser


# -- checks argparse cannot express ---------------------------------------------------------


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
    if args.loop == "uvloop" and importlib.util.find_spec("uvloop") is None:
        _fail("--loop uvloop: uvloop is not installed (pip install uvloop)")


def parse_args(argv: Sequence[str] | None = None) -> Config:
    """Parse ``argv`` (default ``sys.argv[1:]``) into a :class:`Config`.

    Exits 2 with a one-line message on any invalid option or combination.
    """
    args = build_parser().parse_args(None if argv is None else list(argv))
    _validate(args)
    return Config(
        app=args.app,
        factory=args.factory,
        host=args.host,
        port=args.port,
        uds=args.uds,
        fd=args.fd,
        workers=args.workers,
        loop=args.loop,
        root_path=args.root_path,
        proxy_headers=args.proxy_headers,
        forwarded_allow_ips=args.forwarded_allow_ips,
        ssl_certfile=args.ssl_certfile,
        ssl_keyfile=args.ssl_keyfile,
        ssl_keyfile_password=args.ssl_keyfile_password,
        ssl_ca_certs=args.ssl_ca_certs,
        lifespan=args.lifespan,
        limits=Limits(
            max_request_line=args.limit_request_line,
            max_head=args.limit_request_head,
            max_fields=args.limit_request_fields,
            max_body=args.limit_request_body,
        ),
        timeout_keep_alive=args.timeout_keep_alive,
        timeout_request_head=args.timeout_request_head,
        timeout_graceful_shutdown=args.timeout_graceful_shutdown,
        limit_concurrency=args.limit_concurrency,
        flow_high_water=args.flow_high_water,
        access_log=args.access_log,
        log_level=args.log_level,
        server_header=args.server_header,
        date_header=args.date_header,
        ws=args.ws,
        ws_max_size=args.ws_max_size,
        ws_ping_interval=args.ws_ping_interval,
        ws_ping_timeout=args.ws_ping_timeout,
        ws_per_message_deflate=args.ws_per_message_deflate,
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
    except OSError as exc:
        if config.log_level in ("debug", "trace"):
            traceback.print_exception(exc, file=sys.stderr)
        reason = exc.strerror or str(exc)
        if exc.errno == errno.EADDRINUSE:
            reason = "address already in use"
        return _error(f"cannot serve on {_where(config)}: {reason}", 1)
    except KeyboardInterrupt:
        return 130

