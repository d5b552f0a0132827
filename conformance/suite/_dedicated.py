"""Server processes of a case's own (lifespan variants, a legacy app, server options),
and small helpers the cases of test_asgi_*, test_lifespan, test_extensions and
test_robustness share.

Most cases share the one server process the plugin starts for the probe app. Some cannot:
lifespan cases need a server whose lifespan app behaves in a chosen way and that they
stop with SIGTERM; [cfg] items of the ASGI checklist (root_path, workers) and the TLS
extension need a server started with an option. This module starts such processes with
the launcher's public API (:class:`~conformance.launcher.ServerProcess`), with the
command-line options those cases need taken from the server's spec (the built-in
servers carry theirs in :data:`conformance.servers.BUILTIN`). A server without one
(``--server-cmd``) gets *n/a* for option-dependent cases unless its options are given
with ``--server-option FEATURE=ARGS``.
"""

from __future__ import annotations

import contextlib
import json
import signal
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance.launcher import ServerProcess, ServerStartError
from conformance.probe import CallView, Probe, ProbeLog, Record
from conformance.rawhttp import RawConnection, Response
from conformance.servers import ServerSpec
from conformance.session import PROBE_KEY, session_of
from conformance.verdicts import NoResponse
from fixtures import typedjson


def suite_spec(config: pytest.Config) -> ServerSpec:
    """The server under test (--server / --server-cmd / --server-option), as the plugin
    resolved it once for the whole run."""
    return session_of(config).spec


def option_args(spec: ServerSpec, feature: str, **values: str) -> tuple[str, ...] | None:
    """The arguments that set ``feature`` on this server, or None when the harness does
    not know the server's option (:meth:`ServerSpec.option_args`)."""
    return spec.option_args(feature, **values)


def option_hint(feature: str) -> str:
    """How a user tells the harness the option an n/a case was missing."""
    return f" (give it with --server-option '{feature}=ARGS')"


def read_records(path: Path) -> list[Record]:
    """Every record in a probe side-channel file, whatever its probe id, in file order."""
    records = []
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except ValueError:
            continue  # a line still being written
        records.append(Record(
            id=raw["id"], call=raw["call"], seq=raw["seq"], pid=raw["pid"], t=raw["t"],
            kind=raw["kind"], data=typedjson.from_jsonable(raw["data"]),
        ))
    return records


@dataclass
class Dedicated:
    """A server process of a case's own, serving ``app`` with ``env`` and ``args``."""

    spec: ServerSpec
    app: str
    workdir: Path
    env: Mapping[str, str] = field(default_factory=dict)
    args: Sequence[str] = ()
    start_timeout: float = 10.0
    process: ServerProcess = field(init=False)
    start_error: str | None = None
    started_at: float = 0.0
    listening_at: float | None = None
    signalled_at: float | None = None
    exited_at: float | None = None

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = ServerProcess(
            self.spec.with_args(self.args), self.app, start_timeout=self.start_timeout,
            stop_timeout=3.0, env=dict(self.env), workdir=self.workdir,
        )

    def start(self) -> bool:
        """Start and wait until it listens; False (with :attr:`start_error`) when it exited
        or did not listen in time, which some cases expect."""
        self.started_at = time.monotonic()
        try:
            self.process.start()
        except ServerStartError as exc:
            self.start_error = str(exc)
            if self.process.exit_code is not None and self.exited_at is None:
                self.exited_at = time.monotonic()
            return False
        self.listening_at = time.monotonic()
        return True

    @property
    def host(self) -> str:
        return self.process.host

    @property
    def port(self) -> int:
        return self.process.port

    def probe(self, probe_id: str | None = None) -> Probe:
        log = ProbeLog(self.process.probe_log_path)
        return Probe(self.host, self.port, log) if probe_id is None else Probe(
            self.host, self.port, log, id=probe_id)

    def records(self) -> list[Record]:
        return read_records(self.process.probe_log_path)

    def output(self) -> str:
        """Everything the server wrote to stderr and stdout."""
        text = ""
        for path in (self.process.stderr_path, self.process.stdout_path):
            with contextlib.suppress(OSError):
                text += path.read_text("utf-8", "replace")
        return text

    def sigterm(self) -> None:
        """Send SIGTERM (once) and note when."""
        proc = self.process.process
        if proc is None or proc.poll() is not None or self.signalled_at is not None:
            return
        self.signalled_at = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)

    def terminate(self, timeout: float = 5.0) -> int | None:
        """SIGTERM, then wait (polling, so :attr:`exited_at` is close to the real exit)
        up to ``timeout``; returns the exit status or None if it is still running."""
        self.sigterm()
        return self.wait_exit(timeout)

    def wait_exit(self, timeout: float) -> int | None:
        proc = self.process.process
        if proc is None:
            return None
        deadline = time.monotonic() + timeout
        while True:
            code = proc.poll()
            if code is not None:
                if self.exited_at is None:
                    self.exited_at = time.monotonic()
                return code
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.01)

    def stop(self) -> None:
        """Make sure the process (group) is gone."""
        self.process.stop()

    def describe(self) -> str:
        return self.process.describe()


@contextlib.contextmanager
def running(dedicated: Dedicated) -> Iterator[Dedicated]:
    """Start it (raising when it does not listen) and stop it afterwards."""
    try:
        if not dedicated.start():
            raise ServerStartError(dedicated.start_error or "did not start")
        yield dedicated
    finally:
        dedicated.stop()


def tail(text: str, limit: int = 1500) -> str:
    return text if len(text) <= limit else "[...]" + text[-limit:]


# --- small judgements shared by these cases ----------------------------------------------------


def echoed_scope(response: Response) -> dict[str, Any]:
    """The scope the probe's echo scenario put in a response body; a body that is not the
    probe's JSON is the server's doing, so a *fail* (AssertionError), not a harness error."""
    try:
        scope = typedjson.loads(response.body)["scope"]
    except (ValueError, KeyError, TypeError):
        raise AssertionError(
            f"the response is not the probe app's answer: {response.status} "
            f"{response.body[:200]!r}") from None
    assert isinstance(scope, dict), f"the echoed scope is {type(scope).__name__}"
    return scope


def wait_app(probe: Probe, conn: RawConnection, what: str,
             until: Callable[[CallView], bool], timeout: float = 2.0) -> CallView:
    """:meth:`Probe.wait_for`, giving up early when the server answered (or closed) while
    the app has no call recorded for the case: it did not run the app, and waiting the
    whole bound would only slow a broken server's run down."""
    deadline = time.monotonic() + timeout
    answered_at: float | None = None
    while True:
        try:
            return probe.wait_for(what, until, timeout=0.05)
        except NoResponse:
            pass
        now = time.monotonic()
        if now >= deadline:
            return probe.wait_for(what, until, timeout=0)
        if answered_at is None and (conn.unread() or conn.wait_closed(0.01)):
            answered_at = now
        if (answered_at is not None and now - answered_at > 0.2
                and not any(r.kind == "call" for r in probe.records())):
            raise NoResponse(f"the server answered {conn.unread()[:120]!r} without running "
                             f"the app, so {what} could not happen")


def adopt_evidence(request: pytest.FixtureRequest, probe: Probe) -> None:
    """Make ``probe`` (on a dedicated server) the case's evidence: its connections' bytes and
    its records appear in the report as a shared-server probe's would."""
    request.node.stash[PROBE_KEY] = probe
