"""The servers under test: how to start each one with an app on a host and port.

A server is a command template. Placeholders are filled per launch:

``{app}``         the app as ``module:attribute`` (e.g. ``fixtures.probe:app``)
``{host}``        the address to listen on (always loopback)
``{port}``        a free TCP port chosen by the harness
``{python}``      the interpreter running the suite (optional)
``{app_module}``, ``{app_attr}``  the two halves of ``{app}`` (optional)

Each named server also carries its option templates (``ServerSpec.options``): how to
start it with a root path, several workers, TLS or a request-head timeout, which some
cases need. ``--server-option FEATURE=ARGS`` gives them for any other server, or
overrides a named server's.

Named servers are run with the suite's own interpreter (``{python} -m ...``) so the
server and the suite see the same installed packages. ``--server-cmd`` takes any
template; it must contain ``{app}``, ``{host}`` and ``{port}``, since a command that
ignores them would serve something else, somewhere else.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shlex
import string
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace

REQUIRED_PLACEHOLDERS = frozenset({"app", "host", "port"})
KNOWN_PLACEHOLDERS = REQUIRED_PLACEHOLDERS | {"python", "app_module", "app_attr"}


class ServerConfigError(Exception):
    """The server selection is unusable; the message is meant for the user as is."""


@dataclass(frozen=True)
class ServerSpec:
    name: str
    argv: tuple[str, ...]
    """The command template, one token per argument."""
    module: str | None = None
    """Module that must be importable for the server to be installed."""
    distribution: str | None = None
    """Distribution to read the version from."""
    install_hint: str = ""
    summary: str = ""
    options: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Option templates: (feature, argument tokens with placeholders, see
    :data:`OPTION_FEATURES`). They tell the harness how to start this server with a root
    path, TLS, several workers, a request-head timeout or HTTP/2; cases needing a feature
    without one are n/a. A built-in server carries its own (from its ``--help``);
    ``--server-option`` adds to them or overrides them."""
    lacks: tuple[tuple[str, str], ...] = ()
    """Features the server is known not to have, with why (from its documentation): the
    n/a reason its cases give instead of "the harness knows no option"."""

    def option_template(self, feature: str) -> tuple[str, ...] | None:
        for name, template in self.options:
            if name == feature:
                return template
        return None

    def lacks_reason(self, feature: str) -> str | None:
        return dict(self.lacks).get(feature)

    def option_args(self, feature: str, **values: str) -> tuple[str, ...] | None:
        """The arguments that start this server with ``feature`` set to ``values`` (the
        placeholders of :data:`OPTION_FEATURES`; ``value_ms`` is derived from ``value``),
        or None when the server has no option template for it."""
        template = self.option_template(feature)
        if template is None:
            return None
        if any("{value_ms}" in token for token in template):
            values = {"value_ms": str(round(float(values["value"]) * 1000)), **values}
        return tuple(part.format(**values) for part in template)

    def with_args(self, args: Sequence[str]) -> ServerSpec:
        """The same command with ``args`` inserted before the app argument (click- and
        argparse-based servers alike accept options there), or before the option that
        introduces it (``--app {app}``)."""
        argv = list(self.argv)
        at = next((i for i, token in enumerate(argv) if "{app}" in token), len(argv))
        if 0 < at < len(argv) and argv[at] == "{app}" and argv[at - 1].startswith("-"):
            at -= 1
        return replace(self, argv=tuple(argv[:at]) + tuple(args) + tuple(argv[at:]))

    def command(self, *, app: str, host: str, port: int) -> list[str]:
        module, _, attr = app.partition(":")
        values = {
            "app": app,
            "host": host,
            "port": str(port),
            "python": sys.executable,
            "app_module": module,
            "app_attr": attr or "app",
        }
        return [token.format(**values) for token in self.argv]

    def display_command(self) -> str:
        return shlex.join(self.argv)

    def version(self) -> str:
        if self.distribution is None:
            return "unknown"
        try:
            return importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            return "unknown"

    def check_installed(self) -> None:
        if self.module is None:
            return
        try:
            found = importlib.util.find_spec(self.module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            hint = f" ({self.install_hint})" if self.install_hint else ""
            raise ServerConfigError(
                f"server {self.name!r} is not installed: module {self.module!r} cannot be "
                f"imported by {sys.executable}{hint}"
            )


_SERVERS_EXTRA = "or pip install 'asgi-conformance[servers]'"
# Options several built-in servers share, spelled as their --help does.
_ROOT_PATH = ("root_path", ("--root-path", "{value}"))
_WORKERS = ("workers", ("--workers", "{value}"))
_SSL_CERTFILE = ("tls", ("--ssl-certfile", "{cert}", "--ssl-keyfile", "{key}"))
_CERTFILE = ("--certfile", "{cert}", "--keyfile", "{key}")

_UVICORN = ServerSpec(
    "uvicorn",
    ("{python}", "-m", "uvicorn", "{app}", "--host", "{host}", "--port", "{port}",
     "--lifespan", "auto", "--log-level", "warning"),
    module="uvicorn",
    distribution="uvicorn",
    install_hint=f"pip install 'uvicorn[standard]' {_SERVERS_EXTRA}",
    summary="uvicorn with its default HTTP implementation (httptools when installed)",
    options=(_ROOT_PATH, _WORKERS, _SSL_CERTFILE),
    lacks=(("h2", "uvicorn does not implement HTTP/2 (its --http choices are h11 and "
                  "httptools)"),),
)

BUILTIN: dict[str, ServerSpec] = {
    spec.name: spec
    for spec in (
        ServerSpec(
            "reference",
            ("{python}", "-m", "reference_server", "{app}", "--host", "{host}",
             "--port", "{port}"),
            module="reference_server.__main__",
            distribution="asgi-conformance",
            install_hint="the reference server ships with asgi-conformance",
            summary="this project's asyncio reference server",
            # HTTP/2 is on by default (prior knowledge and ALPN); the h2c Upgrade is
            # off by default and turned on so that its case is judged.
            options=(_ROOT_PATH, _WORKERS, _SSL_CERTFILE,
                     ("head_timeout", ("--timeout-request-head", "{value}")),
                     ("h2c", ("--h2c-upgrade",)),
                     ("h2_tls", _SSL_CERTFILE[1])),
        ),
        _UVICORN,
        replace(
            _UVICORN, name="uvicorn-h11",
            argv=(*_UVICORN.argv[:-2], "--http", "h11", *_UVICORN.argv[-2:]),
            install_hint=f"pip install uvicorn {_SERVERS_EXTRA}",
            summary="uvicorn with its h11 HTTP implementation",
        ),
        ServerSpec(
            "hypercorn",
            ("{python}", "-m", "hypercorn", "--bind", "{host}:{port}", "{app}"),
            module="hypercorn",
            distribution="hypercorn",
            install_hint=f"pip install hypercorn {_SERVERS_EXTRA}",
            summary="hypercorn (asyncio worker)",
            # h2c (prior knowledge and Upgrade) is on by default; ALPN h2 on TLS.
            options=(_ROOT_PATH, _WORKERS, ("tls", _CERTFILE), ("h2c", ()),
                     ("h2_tls", _CERTFILE)),
        ),
        ServerSpec(
            "daphne",
            ("{python}", "-m", "daphne", "-b", "{host}", "-p", "{port}", "{app}"),
            module="daphne",
            distribution="daphne",
            install_hint=f"pip install daphne {_SERVERS_EXTRA}",
            summary="daphne (Twisted)",
            lacks=(("lifespan", "daphne does not implement the ASGI lifespan protocol"),),
            # HTTP/2 only over TLS (Twisted's ALPN), on a second, TLS endpoint.
            options=(_ROOT_PATH,
                     ("h2_tls", ("-e", "ssl:{tls_port}:interface={host}:privateKey={key}:"
                                 "certKey={cert}"))),
        ),
        ServerSpec(
            "granian",
            ("{python}", "-m", "granian", "--interface", "asgi", "--host", "{host}",
             "--port", "{port}", "--log-level", "warning", "{app}"),
            module="granian",
            distribution="granian",
            install_hint=f"pip install granian {_SERVERS_EXTRA}",
            summary="granian (Rust HTTP stack) with its ASGI interface",
            options=(("root_path", ("--url-path-prefix", "{value}")), _WORKERS,
                     ("tls", ("--ssl-certificate", "{cert}", "--ssl-keyfile", "{key}")),
                     ("head_timeout", ("--http1-header-read-timeout", "{value_ms}")),
                     # --http auto (the default) serves h2c with prior knowledge and
                     # offers h2 over ALPN.
                     ("h2c", ("--http", "auto")),
                     ("h2_tls", ("--http", "auto", "--ssl-certificate", "{cert}",
                                 "--ssl-keyfile", "{key}"))),
        ),
        ServerSpec(
            "gunicorn",
            # --http-parser python: gunicorn's default ("auto") switches to the
            # gunicorn_h1c C parser whenever that package happens to be installed, and
            # the two parsers judge requests differently (trailing OWS, chunk
            # extensions, Host); the named server is the one `pip install gunicorn`
            # gives, whatever else the machine has.
            ("{python}", "-m", "gunicorn", "-k", "asgi", "--http-parser", "python",
             "--bind", "{host}:{port}", "--log-level", "warning", "{app}"),
            module="gunicorn.asgi",
            distribution="gunicorn",
            install_hint=f"pip install 'gunicorn>=27' {_SERVERS_EXTRA}",
            summary="gunicorn's ASGI worker (-k asgi, gunicorn 27 or later, pure-Python parser)",
            options=(_ROOT_PATH, _WORKERS, ("tls", _CERTFILE),
                     ("h2c", ("--http-protocols", "h2,h1", "--http2-cleartext", "both")),
                     ("h2_tls", ("--http-protocols", "h2,h1", *_CERTFILE))),
        ),
    )
}


def _split_checked(text: str, known: Sequence[str], where: str,
                   ) -> tuple[tuple[str, ...], set[str]]:
    """Split ``text`` like a shell would and check its ``{placeholders}`` against
    ``known``; return the tokens and the placeholders used, or a ServerConfigError
    prefixed with ``where``."""
    try:
        argv = tuple(shlex.split(text))
    except ValueError as exc:
        raise ServerConfigError(f"{where}: cannot split {text!r}: {exc}") from None
    seen: set[str] = set()
    for token in argv:
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(token) if f is not None]
        except ValueError as exc:
            raise ServerConfigError(
                f"{where}: bad placeholder syntax in {token!r}: {exc} "
                "(write a literal brace as {{ or }})"
            ) from None
        for field_name in fields:
            if field_name not in known:
                raise ServerConfigError(
                    f"{where}: unknown placeholder {{{field_name}}}; known: "
                    + ", ".join(f"{{{k}}}" for k in known))
            seen.add(field_name)
    return argv, seen


def parse_template(template: str, name: str = "custom") -> ServerSpec:
    """Turn a ``--server-cmd`` string into a spec, or explain what is wrong with it."""
    argv, seen = _split_checked(template, sorted(KNOWN_PLACEHOLDERS), "--server-cmd")
    if not argv:
        raise ServerConfigError("--server-cmd is empty")
    missing = REQUIRED_PLACEHOLDERS - seen
    if missing:
        raise ServerConfigError(
            "--server-cmd: the template must contain "
            + ", ".join(f"{{{k}}}" for k in sorted(missing))
            + f" (got {template!r}); the harness chooses the app, host and port"
        )
    return ServerSpec(name=name, argv=argv, summary="custom command (--server-cmd)")


#: Features a ``--server-option`` can configure, with the placeholders its arguments may
#: use; the first is required (the value is the point of the option).
OPTION_FEATURES: dict[str, tuple[str, ...]] = {
    "root_path": ("value",),            # the ASGI root_path, e.g. /mnt
    "workers": ("value",),              # number of worker processes
    "tls": ("cert", "key"),             # PEM certificate and key files
    "head_timeout": ("value", "value_ms"),  # seconds (or ms) to receive a request head
    # HTTP/2: h2c with prior knowledge on the main port (no arguments when the server does
    # it by default: --server-option 'h2c='), and h2 over TLS with ALPN. A TLS listener
    # on a port of its own says so with {tls_port} (and may use {host}).
    "h2c": (),
    "h2_tls": ("cert", "key", "tls_port", "host"),
}


def parse_server_option(item: str) -> tuple[str, tuple[str, ...]]:
    """``FEATURE=ARGS`` (ARGS split like a shell would) → (feature, argument tokens), or
    a :class:`ServerConfigError` that says what is wrong."""
    feature, equals, args = item.partition("=")
    feature = feature.strip()
    known = ", ".join(OPTION_FEATURES)
    if not equals or feature not in OPTION_FEATURES:
        raise ServerConfigError(
            f"--server-option {item!r}: expected FEATURE=ARGS with FEATURE one of {known}, "
            "e.g. --server-option 'root_path=--root-path {value}'")
    allowed = OPTION_FEATURES[feature]
    argv, seen = _split_checked(args, allowed, f"--server-option {item!r}")
    if allowed and allowed[0] not in seen and not (
            feature == "head_timeout" and "value_ms" in seen):
        raise ServerConfigError(
            f"--server-option {item!r}: the arguments must contain {{{allowed[0]}}}")
    return feature, argv


def resolve(name: str | None, template: str | None, custom_name: str | None,
            options: Sequence[str] = ()) -> ServerSpec:
    """The server the user asked for, checked: known name, installed, valid template and
    ``--server-option`` items, which override the server's own option templates (a later
    item for the same feature wins)."""
    parsed = dict(parse_server_option(item) for item in options)
    spec = _resolve_server(name, template, custom_name)
    if not parsed:
        return spec
    return replace(spec, options=tuple({**dict(spec.options), **parsed}.items()))


def _resolve_server(name: str | None, template: str | None,
                    custom_name: str | None) -> ServerSpec:
    if template is not None:
        if name is not None:
            raise ServerConfigError("give either --server or --server-cmd, not both")
        return parse_template(template, custom_name or "custom")
    chosen = name or "reference"
    spec = BUILTIN.get(chosen)
    if spec is None:
        raise ServerConfigError(
            f"unknown server {chosen!r}; known: {', '.join(BUILTIN)} "
            "(use --server-cmd for any other server)"
        )
    spec.check_installed()
    return spec
