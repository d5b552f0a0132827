"""Serving: sockets, the event loop, workers, signals and graceful shutdown.

One worker = one process = one event loop = one lifespan (lifespan.rst). With
``--workers N`` the parent binds the listening socket once and forks N workers that
share it (the kernel spreads connections), then only supervises: it restarts a worker
that dies and forwards SIGTERM/SIGINT.

Shutdown on SIGTERM/SIGINT, in order: stop accepting; close idle connections; let
in-flight requests finish (their connections close after the response) for up to
``timeout_graceful_shutdown`` seconds; close whatever is left and cancel its tasks; run
lifespan shutdown; exit 0 (1 when lifespan shutdown failed).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import ssl
import stat
import sys
import time
from typing import Any

from . import tls
from .asgi import adapt
from .config import Config
from .importer import load_app
from .lifespan import Lifespan
from .logs import configure_logging
from .protocol.h11_connection import H11Connection
from .state import ServerState, error_log

#: Exit code when lifespan startup fails (uvicorn uses the same).
EXIT_STARTUP_FAILED = 3


def run(config: Config) -> int:
    """Serve ``config`` until SIGTERM/SIGINT; return the process exit code."""
    configure_logging(config.log_level, config.access_log)
    sock = bind(config)
    if config.workers > 1:
        return Supervisor(config, sock).run()
    return serve_in_process(config, sock)


def bind(config: Config) -> socket.socket:
    """The listening socket, bound before any worker starts (so ``--workers`` share it
    and a port conflict fails once, clearly)."""
    if config.fd is not None:
        sock = socket.socket(fileno=config.fd)
    elif config.uds:
        path = config.uds
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISSOCK(os.stat(path).st_mode):
                os.unlink(path)  # a stale socket from an earlier run
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(path)
        os.chmod(path, 0o666)
    else:
        family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((config.host, config.port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _new_loop(config: Config) -> asyncio.AbstractEventLoop:
    if config.loop in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if config.loop == "uvloop":
                raise
        else:
            return uvloop.new_event_loop()  # type: ignore[no-any-return, unused-ignore]
    return asyncio.new_event_loop()


def serve_in_process(config: Config, sock: socket.socket) -> int:
    loop = _new_loop(config)
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(Server(config, sock).serve())
    finally:
        with contextlib.suppress(Exception):
            loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        asyncio.set_event_loop(None)


class Server:
    """One worker's event-loop side."""

    def __init__(self, config: Config, sock: socket.socket) -> None:
        self.config = config
        self.sock = sock
        self.stop = asyncio.Event()

    def _signal(self, signum: int) -> None:
        if self.stop.is_set():
            return
        error_log.info("Received %s; shutting down.", signal.Signals(signum).name)
        self.stop.set()

    async def serve(self) -> int:
        config = self.config
        loop = asyncio.get_running_loop()
        app, asgi_version = adapt(load_app(config.app, config.factory))
        state = ServerState(config, app, asgi_version)
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._signal, signum)
        lifespan = Lifespan(app, config.lifespan, state.lifespan_state, asgi_version)
        if not await lifespan.startup():
            return EXIT_STARTUP_FAILED
        if self.stop.is_set():
            await lifespan.shutdown(config.timeout_graceful_shutdown)
            return 0
        context: ssl.SSLContext | None = None
        if config.is_ssl:
            context = tls.create_ssl_context(config)
            tls.prepare(state, context)
        server = await loop.create_server(
            lambda: H11Connection(state), sock=self.sock, ssl=context, backlog=2048)
        self._announce(context is not None)
        await self.stop.wait()
        server.close()
        await self._drain(state)
        ok = await lifespan.shutdown(config.timeout_graceful_shutdown)
        return 0 if ok else 1

    def _announce(self, https: bool) -> None:
        config = self.config
        if config.uds:
            where = f"unix:{config.uds}"
        elif config.fd is not None:
            where = f"fd {config.fd}"
        else:
            sockname = self.sock.getsockname()
            host = f"[{sockname[0]}]" if ":" in sockname[0] else sockname[0]
            where = f"{'https' if https else 'http'}://{host}:{sockname[1]}"
        error_log.info("Serving on %s (pid %d)", where, os.getpid())

    async def _drain(self, state: ServerState) -> None:
        """Graceful shutdown of the connections (module docstring)."""
        state.shutting_down = True
        for conn in list(state.connections):
            conn.shutdown()
        deadline = time.monotonic() + self.config.timeout_graceful_shutdown
        while (state.connections or state.tasks) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if state.connections or state.tasks:
            error_log.warning(
                "Graceful shutdown timed out after %s s: closing %d connection(s).",
                self.config.timeout_graceful_shutdown, len(state.connections))
        for conn in list(state.connections):
            conn.abort()
        for task in list(state.tasks):
            task.cancel()
        if state.tasks:
            await asyncio.wait(list(state.tasks), timeout=1.0)


class Supervisor:
    """The parent of ``--workers N``: forks workers sharing the socket, restarts one that
    dies unexpectedly, forwards SIGTERM/SIGINT and waits for them to finish."""

    #: A worker that dies within this many seconds of starting counts as a crash loop.
    CRASH_WINDOW = 2.0

    def __init__(self, config: Config, sock: socket.socket) -> None:
        self.config = config
        self.sock = sock
        self.workers: dict[int, float] = {}
        self.stopping = False

    def _spawn(self) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            code = 1
            try:
                code = serve_in_process(self.config, self.sock)
            except BaseException as exc:
                error_log.error("Worker %d failed: %s", os.getpid(), exc)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        self.workers[pid] = time.monotonic()
        error_log.info("Started worker %d", pid)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self.stopping = True
        for pid in list(self.workers):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        for _ in range(self.config.workers):
            self._spawn()
        exit_code = 0
        deadline: float | None = None
        while self.workers:
            if self.stopping and deadline is None:
                deadline = time.monotonic() + self.config.timeout_graceful_shutdown + 5.0
            if deadline is not None and time.monotonic() > deadline:
                for pid in list(self.workers):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.1)
                continue
            started = self.workers.pop(pid, None)
            if started is None:
                continue
            code = os.waitstatus_to_exitcode(status)
            if self.stopping:
                if code not in (0, -signal.SIGTERM):
                    exit_code = 1
                continue
            error_log.warning("Worker %d exited with %d", pid, code)
            if code == EXIT_STARTUP_FAILED or time.monotonic() - started < self.CRASH_WINDOW:
                error_log.error("Worker %d failed at startup; stopping.", pid)
                exit_code = code if code > 0 else 1
                self._on_signal(signal.SIGTERM, None)
                continue
            self._spawn()
        self.sock.close()
        return exit_code
