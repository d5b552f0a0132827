"""Serving: sockets, the event loop, workers, signals and graceful shutdown.

One worker = one process = one event loop = one lifespan (lifespan.rst). With
``--workers N`` the parent binds the listening socket once and forks N workers that
share it (the kernel spreads connections), then only supervises: it restarts a worker
that dies, forwards SIGTERM/SIGINT, and on SIGHUP replaces the workers without dropping a
connection (:class:`Supervisor`). ``--limit-max-requests`` and ``--reload`` (reload.py)
also run a supervisor, even for one worker, so a worker that has served its requests is
replaced, and new code gets new workers. A single-process
server (``--workers 1``, no request limit) logs SIGHUP and keeps serving: there is no
parent to hold the socket while a new process starts.

Shutdown on SIGTERM/SIGINT, in order: stop accepting; close idle connections; let
in-flight requests finish (their connections close after the response) for up to
``timeout_graceful_shutdown`` seconds; close whatever is left and cancel its tasks; run
lifespan shutdown; exit 0 (1 when lifespan shutdown failed).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import selectors
import signal
import socket
import ssl
import stat
import sys
import time
from typing import Any

from . import metrics, tls
from .asgi import adapt
from .config import DEFAULT_ACCESS_LOG_FORMAT, Config
from .importer import load_app
from .lifespan import Lifespan
from .logs import apply_log_config, configure_logging
from .observe import Observer
from .protocol.h11_connection import H11Connection, ObservedH11Connection
from .state import ServerState, error_log

#: Exit code when lifespan startup fails (uvicorn uses the same).
EXIT_STARTUP_FAILED = 3
#: What a worker writes to its supervisor pipe when it stops accepting to be replaced
#: (a line; metrics reports are lines starting with b"M").
RETIRING = b"R\n"
#: ... and once it serves (a reload retires the old workers only after this).
READY = b"U\n"


class MetricsBindError(Exception):
    """The metrics listener cannot be bound (one line for the command line)."""


def run(config: Config) -> int:
    """Serve ``config`` until SIGTERM/SIGINT; return the process exit code."""
    configure_logging(config.log_level, config.access_log)
    if config.log_config:
        apply_log_config(config.log_config)
    sock = bind(config)
    metrics_sock = bind_metrics(config)
    if needs_supervisor(config):
        return Supervisor(config, sock, metrics_sock).run()
    return serve_in_process(config, sock, metrics_sock=metrics_sock)


def bind_metrics(config: Config) -> socket.socket | None:
    """The metrics listener (``--metrics-port``), bound before any worker starts."""
    if config.metrics_port is None:
        return None
    host = config.metrics_host
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, config.metrics_port))
        sock.listen(64)
    except OSError as exc:
        sock.close()
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else \
            (exc.strerror or str(exc))
        where = f"[{host}]" if ":" in host else host
        raise MetricsBindError(
            f"cannot serve metrics on {where}:{config.metrics_port}: {reason}") from None
    sock.setblocking(False)
    return sock


def needs_supervisor(config: Config) -> bool:
    """A worker that ends on its own (``--limit-max-requests``) needs a parent to
    replace it; the parent also holds the listening socket meanwhile, so connections
    queue in the backlog instead of being refused."""
    return config.workers > 1 or config.limit_max_requests is not None or config.reload


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
    sock.listen(config.backlog)
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


def serve_in_process(config: Config, sock: socket.socket, notify_fd: int | None = None,
                     metrics_sock: socket.socket | None = None) -> int:
    """Serve in this process. ``notify_fd``: the write end of the pipe to the supervisor
    (None without one: then this process is the whole server, and serves the metrics
    on ``metrics_sock`` itself)."""
    loop = _new_loop(config)
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(
            Server(config, sock, notify_fd, metrics_sock).serve())
    finally:
        with contextlib.suppress(Exception):
            loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        asyncio.set_event_loop(None)


class Server:
    """One worker's event-loop side."""

    def __init__(self, config: Config, sock: socket.socket,
                 notify_fd: int | None = None,
                 metrics_sock: socket.socket | None = None) -> None:
        self.config = config
        self.sock = sock
        self.stop = asyncio.Event()
        self.state: ServerState | None = None
        self.notify_fd = notify_fd
        self.metrics_sock = metrics_sock
        self.metrics = metrics.WorkerMetrics() if config.metrics_port is not None else None
        self._report_timer: asyncio.TimerHandle | None = None
        self._scrape_task: asyncio.Task[Any] | None = None

    def _retire(self, reason: str) -> None:
        """Stop accepting, tell the supervisor (which starts the replacement now, not
        when this worker is gone), finish what is in flight, exit 0. Idle HTTP/1.1
        connections are left to their next request or their timer
        (``state.retiring``), so retiring drops no request."""
        if self.stop.is_set():
            return
        error_log.info("Worker %d retiring (%s); a new worker takes over.", os.getpid(),
                       reason)
        if self.state is not None:
            self.state.retiring = True
            self.state.shutting_down = True
        if self.notify_fd is not None:
            with contextlib.suppress(OSError):
                os.write(self.notify_fd, RETIRING)
        self.stop.set()

    def _hup(self) -> None:
        if self.notify_fd is None:
            error_log.warning(
                "Received SIGHUP: replacing workers needs a supervisor (--workers 2 or more, "
                "--limit-max-requests or --reload); a single-process server keeps serving.")
            return
        self._retire("SIGHUP")

    def _signal(self, signum: int) -> None:
        if self.stop.is_set():
            state = self.state
            if state is not None and state.retiring:
                # Stopped for good while retiring: idle connections need not wait for
                # their next request any more.
                state.retiring = False
                for conn in list(state.connections):
                    if isinstance(conn, H11Connection):
                        conn.shutdown()
            return
        error_log.info("Received %s; shutting down.", signal.Signals(signum).name)
        self.stop.set()

    async def serve(self) -> int:
        config = self.config
        loop = asyncio.get_running_loop()
        app, asgi_version = adapt(load_app(config.app, config.factory))
        state = ServerState(config, app, asgi_version)
        self.state = state
        state.observer = self._observer(state)
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._signal, signum)
        loop.add_signal_handler(signal.SIGHUP, self._hup)
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
        protocol = H11Connection if state.observer is None else ObservedH11Connection
        counters = self.metrics
        if counters is None:
            factory: Any = lambda: protocol(state)  # noqa: E731
        else:
            factory = lambda: metrics.MeteredProtocol(protocol(state), counters)  # noqa: E731
            self._start_metrics(loop, state, counters)
        server = await loop.create_server(factory, sock=self.sock, ssl=context,
                                          backlog=config.backlog)
        self._announce(context is not None)
        if self.notify_fd is not None:
            with contextlib.suppress(OSError):
                os.write(self.notify_fd, READY)
        await self.stop.wait()
        server.close()
        await self._drain(state)
        ok = await lifespan.shutdown(config.timeout_graceful_shutdown)
        if self._report_timer is not None:
            self._report_timer.cancel()
        self._report(final=True)
        return 0 if ok else 1

    def _observer(self, state: ServerState) -> Observer | None:
        """An Observer only when a feature needs one (observe.py)."""
        config = self.config
        custom_line = config.access_log and \
            config.access_log_format != DEFAULT_ACCESS_LOG_FORMAT
        if not custom_line and config.limit_max_requests is None and self.metrics is None:
            return None
        return Observer(state.access_log if config.access_log else None,
                        config.access_log_format, config.limit_max_requests,
                        config.limit_max_requests_jitter, self._budget_spent, self.metrics)

    def _start_metrics(self, loop: asyncio.AbstractEventLoop, state: ServerState,
                       counters: metrics.WorkerMetrics) -> None:
        """Report to the supervisor periodically, or (single process) serve the scrape
        from this loop."""
        if self.notify_fd is not None:
            os.set_blocking(self.notify_fd, False)
            self._report()  # a new worker is in the view from its start
        elif self.metrics_sock is not None:
            def body() -> str:
                return metrics.render(counters.snapshot(state), 1)

            self._scrape_task = loop.create_task(loop.create_server(
                lambda: metrics.ScrapeProtocol(body), sock=self.metrics_sock))

    def _report(self, final: bool = False) -> None:
        """This worker's numbers to the supervisor (metrics.py); re-armed unless final."""
        if self.metrics is None or self.notify_fd is None:
            return
        metrics.send_report(self.notify_fd, self.metrics.snapshot(self.state))
        if not final:
            loop = asyncio.get_running_loop()
            self._report_timer = loop.call_later(metrics.REPORT_INTERVAL, self._report)

    def _budget_spent(self) -> None:
        """``--limit-max-requests`` reached: this worker is replaced by a fresh one."""
        self._retire("--limit-max-requests")

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


#: The signals the supervisor handles (blocked around a fork, see Supervisor._spawn).
_SUPERVISOR_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}


class Supervisor:
    """The parent of the workers: forks them sharing the socket, restarts one that dies
    unexpectedly, replaces one that retires, forwards SIGTERM/SIGINT and waits for them
    to finish.

    Replacing workers without dropping a connection (SIGHUP, ``--limit-max-requests``):
    the listening socket stays open here the whole time, so a connection that arrives
    while no worker accepts waits in the backlog; new workers are forked first, and once
    each says it serves (READY on its pipe) the old ones get SIGHUP, stop accepting,
    finish their requests and exit; a new worker that dies before it serves cancels the
    replacement (the old workers go on). A worker tells
    its supervisor that it retires (on its own, after ``--limit-max-requests``) over a
    pipe, so its replacement starts at once rather than when it has drained.
    """

    #: A worker that dies within this many seconds of starting counts as a crash loop.
    CRASH_WINDOW = 2.0

    def __init__(self, config: Config, sock: socket.socket,
                 metrics_sock: socket.socket | None = None) -> None:
        self.config = config
        self.sock = sock
        self.metrics_sock = metrics_sock
        #: All workers' numbers (metrics.py), when metrics are on.
        self.aggregate = metrics.Aggregate() if metrics_sock is not None else None
        #: Scrape connections being read: socket → what arrived of the request head.
        self.scrapes: dict[socket.socket, bytes] = {}
        #: What arrived of each worker's current line on its pipe.
        self.partial: dict[int, bytes] = {}
        self.workers: dict[int, float] = {}
        self.reload_dirs = config.reload_dirs or [os.getcwd()]
        #: The read end of each worker's pipe, and the worker of each read end.
        self.pipes: dict[int, int] = {}
        self.pipe_owner: dict[int, int] = {}
        #: Workers on their way out (replaced): their exit is not a reason to restart.
        self.retiring: set[int] = set()
        self.stopping = False
        self.reload_requested = False
        #: New workers of a reload that do not serve yet, and the workers they replace.
        self.pending: set[int] = set()
        self.to_retire: list[int] = []
        #: What --reload saw change last (set by the watcher thread).
        self.changed: list[str] = []
        self.selector = selectors.DefaultSelector()

    def _spawn(self) -> int:
        """Fork a worker. The supervisor's signals are blocked from before the fork until
        the new worker is in ``self.workers`` (a SIGTERM handled in between would miss
        it, and it would outlive the supervisor) and, in the worker, until it has its own
        handlers (it must never run the supervisor's)."""
        read_fd, write_fd = os.pipe()
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SUPERVISOR_SIGNALS)
        pid = os.fork()
        if pid == 0:  # the worker
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)  # until the loop handles it
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            os.close(read_fd)
            for fd in self.pipes.values():
                os.close(fd)
            if self.metrics_sock is not None:
                self.metrics_sock.close()
            for scrape in self.scrapes:
                scrape.close()
            code = 1
            try:
                self.selector.close()
                if self.config.reload:
                    from .reload import forget_modules

                    forget_modules(self.reload_dirs)
                code = serve_in_process(self.config, self.sock, write_fd)
            except BaseException as exc:
                error_log.error("Worker %d failed: %s", os.getpid(), exc)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        try:
            os.close(write_fd)
            self.workers[pid] = time.monotonic()
            self.pipes[pid] = read_fd
            self.pipe_owner[read_fd] = pid
            self.selector.register(read_fd, selectors.EVENT_READ)
            error_log.info("Started worker %d", pid)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a SIGTERM now reaches it
        return pid

    def _close_pipe(self, pid: int) -> None:
        """Stop listening to a worker that is gone, after reading what it wrote last
        (its final metrics report may still be in the pipe when waitpid reaps it)."""
        fd = self.pipes.pop(pid, None)
        if fd is not None:
            os.set_blocking(fd, False)
            with contextlib.suppress(OSError):
                while data := os.read(fd, 65536):
                    self._lines(pid, data)
            self.pipe_owner.pop(fd, None)
            self.selector.unregister(fd)
            os.close(fd)
        self.partial.pop(pid, None)
        if self.aggregate is not None:
            self.aggregate.worker_gone(pid)

    def _lines(self, pid: int, data: bytes) -> None:
        """Handle the complete lines a worker wrote: RETIRING, or a metrics report."""
        *lines, rest = (self.partial.get(pid, b"") + data).split(b"\n")
        self.partial[pid] = rest
        for line in lines:
            if line == READY.strip():
                self._ready(pid)
            elif line == RETIRING.strip():
                if pid in self.to_retire:
                    # A reload's new workers are already on their way to replace it.
                    self.to_retire.remove(pid)
                    self.retiring.add(pid)
                elif pid not in self.retiring and not self.stopping:
                    self.retiring.add(pid)
                    self._spawn()
            elif line.startswith(b"M") and self.aggregate is not None:
                self.aggregate.report(pid, line[1:])

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self.stopping = True
        for pid in list(self.workers):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def _on_hup(self, _signum: int, _frame: Any) -> None:
        self.reload_requested = True

    def _reload(self, why: str) -> None:
        """SIGHUP (or a change under --reload), as gunicorn: new workers first; the old
        ones drain and exit once all the new ones serve (:meth:`_ready`). A reload
        during a reload replaces the new workers not yet serving."""
        for pid in self.pending:
            self._retire(pid)
        self.pending.clear()
        old = [pid for pid in self.workers if pid not in self.retiring]
        self.to_retire = old
        error_log.info("%s; starting %d new worker(s), draining %d once they serve.", why,
                       self.config.workers, len(old))
        for _ in range(self.config.workers):
            self.pending.add(self._spawn())

    def _retire(self, pid: int) -> None:
        self.retiring.add(pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGHUP)

    def _ready(self, pid: int) -> None:
        self.pending.discard(pid)
        if not self.pending and self.to_retire:
            for old in self.to_retire:
                if old in self.workers:
                    self._retire(old)
            self.to_retire = []

    def _changed(self, paths: list[str]) -> None:
        """The watcher thread: only a flag (the loop acts on it)."""
        self.changed = paths
        self.reload_requested = True

    def _read_pipes(self, timeout: float) -> None:
        """Wait up to ``timeout`` for the workers' pipes and the metrics listener."""
        for key, _ in self.selector.select(timeout):
            if key.data is not None:
                key.data()
                continue
            fd = int(key.fd)
            pid = self.pipe_owner.get(fd)
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if pid is None:
                continue
            if not data:  # the worker is gone; waitpid will tell how
                self.selector.unregister(fd)
                self.pipe_owner.pop(fd, None)
                self.pipes.pop(pid, None)
                os.close(fd)
                continue
            self._lines(pid, data)

    # -- the metrics listener, served from this loop (no thread: workers are forked) --

    def _accept_scrape(self) -> None:
        assert self.metrics_sock is not None
        try:
            conn, _ = self.metrics_sock.accept()
        except OSError:
            return
        conn.setblocking(False)
        self.scrapes[conn] = b""
        self.selector.register(conn, selectors.EVENT_READ,
                               lambda: self._read_scrape(conn))

    def _read_scrape(self, conn: socket.socket) -> None:
        try:
            data = conn.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        head = self.scrapes[conn] + data
        if data and b"\r\n\r\n" not in head and len(head) <= metrics.MAX_HEAD:
            self.scrapes[conn] = head
            return
        if data:
            assert self.aggregate is not None
            response = metrics.respond(head, self.aggregate.render)
            conn.settimeout(2.0)  # a scraper that does not read is dropped
            with contextlib.suppress(OSError):
                conn.sendall(response)
        self.selector.unregister(conn)
        del self.scrapes[conn]
        conn.close()

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGHUP, self._on_hup)
        if self.metrics_sock is not None:
            self.selector.register(self.metrics_sock, selectors.EVENT_READ,
                                   self._accept_scrape)
        watcher = None
        if self.config.reload:
            from .reload import DEFAULT_EXCLUDE, DEFAULT_INCLUDE, Watcher

            sys.dont_write_bytecode = True  # no .pyc of a file edited within a second
            watcher = Watcher(self.reload_dirs, self.config.reload_includes or DEFAULT_INCLUDE,
                              self.config.reload_excludes or DEFAULT_EXCLUDE, self._changed)
            watcher.start()
            error_log.info("Watching %s for changes (--reload).", ", ".join(self.reload_dirs))
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
            if self.reload_requested:
                self.reload_requested = False
                if not self.stopping:
                    self._reload(f"{', '.join(self.changed)} changed" if self.changed
                                 else "Received SIGHUP")
                    self.changed = []
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                self._read_pipes(0.1)
                continue
            started = self.workers.pop(pid, None)
            if started is None:
                continue
            self._close_pipe(pid)
            code = os.waitstatus_to_exitcode(status)
            if self.stopping:
                if code not in (0, -signal.SIGTERM):
                    exit_code = 1
                continue
            if pid in self.pending:
                # A new worker of a reload died before serving (an edit that does not
                # import, say): the old workers go on; the next change tries again.
                error_log.error("New worker %d exited with %d before serving; the old "
                                "workers keep serving.", pid, code)
                for other in self.pending - {pid}:
                    self._retire(other)
                self.pending.clear()
                self.to_retire = []
                # An old worker that retired meanwhile (--limit-max-requests) was left
                # to the new ones: replace it now.
                serving = [p for p in self.workers if p not in self.retiring]
                for _ in range(self.config.workers - len(serving)):
                    self._spawn()
                continue
            if pid in self.retiring:
                self.retiring.discard(pid)
                if code == 0:
                    error_log.info("Worker %d drained and exited.", pid)
                    continue
                error_log.warning("Retiring worker %d exited with %d", pid, code)
                continue
            if code == 0:
                # It ended on its own without saying it retires: replace it.
                self._spawn()
                continue
            error_log.warning("Worker %d exited with %d", pid, code)
            if code == EXIT_STARTUP_FAILED or time.monotonic() - started < self.CRASH_WINDOW:
                error_log.error("Worker %d failed at startup; stopping.", pid)
                exit_code = code if code > 0 else 1
                self._on_signal(signal.SIGTERM, None)
                continue
            self._spawn()
        if watcher is not None:
            watcher.stop()
        for pid in list(self.pipes):
            self._close_pipe(pid)
        for conn in list(self.scrapes):
            conn.close()
        if self.metrics_sock is not None:
            self.metrics_sock.close()
        self.selector.close()
        self.sock.close()
        return exit_code
