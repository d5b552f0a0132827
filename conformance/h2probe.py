"""The probe app over HTTP/2: how the harness makes the server under test speak h2, and a
case's handle on it.

A server speaks h2 to the suite one of two ways, from its option templates
(:attr:`conformance.servers.ServerSpec.options`, or ``--server-option``):

``h2c``     h2c with prior knowledge on its main port (RFC 9113 §3.3), the cheap way, used
            whenever the server has it (hypercorn, granian, gunicorn);
``h2_tls``  h2 over TLS with ALPN (RFC 9113 §3.2), with the harness's test certificate,
            on the main port or on a TLS port of its own (daphne's ``-e ssl:...``).

The h2 process is a second process of the probe app (the session's ``h2`` variant):
started once per worker when the first h2 case asks, restarted after a crash like the
main one. A server with neither option gives *n/a* with the reason
(:meth:`~conformance.servers.ServerSpec.lacks_reason`, or how to give the option).
"""

from __future__ import annotations

import contextlib
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.launcher import ServerProcess, free_port
from conformance.probe import Probe, ProbeLog
from conformance.rawh2 import H2Connection, Mode, NotH2, connect
from conformance.servers import ServerSpec
from conformance.testcert import TEST_CERT, TEST_KEY
from conformance.verdicts import not_applicable

H2_VARIANT = "h2"
OPTION_HINT = ("give it with --server-option 'h2c=ARGS' (h2c with prior knowledge) or "
               "--server-option 'h2_tls=ARGS' (TLS with ALPN h2)")


@dataclass(frozen=True)
class H2Plan:
    """How to start the server under test so that it speaks h2, and where to reach it."""

    mode: Mode
    args: tuple[str, ...]
    tls_port: int | None = None
    """The TLS endpoint's own port, when the option template has ``{tls_port}``."""

    def describe(self) -> str:
        how = "h2c with prior knowledge" if self.mode == "prior" else "TLS with ALPN h2"
        return f"{how} ({' '.join(self.args) or 'the server default'})"


def plan(spec: ServerSpec, workdir: Path, host: str = "127.0.0.1", *,
         tls_only: bool = False) -> H2Plan | str:
    """The server's way to h2 (h2c preferred unless ``tls_only``), or why there is none."""
    args = None if tls_only else spec.option_args("h2c")
    if args is not None:
        return H2Plan("prior", args)
    template = spec.option_template("h2_tls")
    if template is not None:
        cert, key = write_cert(workdir)
        tls_port = free_port(host) if any("{tls_port}" in t for t in template) else None
        tls_args = spec.option_args("h2_tls", cert=str(cert), key=str(key), host=host,
                                    tls_port=str(tls_port or 0))
        assert tls_args is not None
        return H2Plan("tls", tls_args, tls_port)
    reason = spec.lacks_reason("h2")
    if reason:
        return f"{reason}: every HTTP/2 case is n/a"
    if tls_only:
        return (f"the harness knows no option that gives server {spec.name!r} a TLS "
                "listener with ALPN h2 (give it with --server-option 'h2_tls=ARGS')")
    return (f"the harness knows no way to speak HTTP/2 to server {spec.name!r} "
            f"({OPTION_HINT})")


def write_cert(workdir: Path) -> tuple[Path, Path]:
    workdir.mkdir(parents=True, exist_ok=True)
    cert, key = workdir / "h2-cert.pem", workdir / "h2-key.pem"
    cert.write_text(TEST_CERT)
    key.write_text(TEST_KEY)
    return cert, key


@dataclass
class H2Probe(Probe):
    """A case's handle on the probe app over h2: :class:`~conformance.probe.Probe`'s
    waits on what the app recorded, plus h2 connections that become the case's evidence
    (their frame logs)."""

    process: ServerProcess | None = None
    h2: H2Plan | None = None
    recycle: bool = False
    """Set by a case that left the server unable to serve (an attack it has not recovered
    from): the harness restarts the h2 process after the case, outside its verdict."""

    def connect_h2(self, *, handshake: bool = True, settings: dict[int, int] | None = None,
                   timeout: float = 2.0, **options: Any) -> H2Connection:
        """A new h2 connection made the plan's way, registered as evidence; with
        ``handshake`` the SETTINGS exchange is done."""
        assert self.h2 is not None
        mode = self.h2.mode
        port = self.h2.tls_port or self.port
        try:
            conn = connect(self.host, port, mode, timeout=timeout, cadata=TEST_CERT,
                           settings=settings, handshake=False, **options)
        except NotH2 as exc:
            not_applicable(f"the server's h2 listener did not speak h2: {exc}")
        self.connections.append(conn)
        if handshake:
            conn.handshake(settings)
        return conn


def wait_listening(host: str, port: int, timeout: float = 5.0) -> bool:
    """A TLS endpoint of its own may come up a moment after the main port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), 0.5):
            return True
        time.sleep(0.05)
    return False


def h2_probe(process: ServerProcess, log: ProbeLog, h2: H2Plan) -> H2Probe:
    return H2Probe(process.host, process.port, log, process=process, h2=h2)
