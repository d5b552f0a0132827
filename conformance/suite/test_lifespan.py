"""The lifespan protocol (ASGI lifespan.rst, version 2.0): startup and shutdown, their
failure messages, state, exceptions, and the order of lifespan events relative to
requests.

Most of these cases need a server process of their own whose lifespan app behaves in a
chosen way (``fixtures.probe:lifespan_app``, configured by ``ASGI_PROBE_LIFESPAN``) and
that the case stops with SIGTERM. Each such *run* is a short script: start, a few
requests, SIGTERM, wait for the exit; all runs of the module are done at once, in
threads, the first time a case needs one, and the cases then judge what each run
recorded (the side channel, the client's view with its times, the exit status and the
server's output). Times are ``time.monotonic()`` on both sides, which on Linux is one
clock for every process.

A server that never calls the app with a lifespan scope (daphne) does not implement the
protocol: its lifespan cases are n/a.
"""

from __future__ import annotations

import concurrent.futures
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from conformance.launcher import ServerProcess
from conformance.probe import Record
from conformance.rawhttp import RawConnection, Response
from conformance.suite._dedicated import (
    Dedicated,
    option_args,
    option_hint,
    read_records,
    suite_spec,
    tail,
)
from conformance.verdicts import NoResponse, harness_error, not_applicable
from fixtures import typedjson
from fixtures.probe import ENV_LIFESPAN, LIFESPAN_ID

req = pytest.mark.requirement

LIFESPAN_APP = "fixtures.probe:lifespan_app"
STARTUP_DELAY = 0.4
SHUTDOWN_DELAY = 0.4
EXIT_BOUND = 3.0
NO_LIFESPAN = ("the server never called the app with a lifespan scope (it does not implement "
               "the lifespan protocol)")
"""How long a run waits for the process to exit after SIGTERM (or after startup.failed)."""


# --- the runs ------------------------------------------------------------------------------


@dataclass
class Run:
    """What one dedicated server process did, as the cases judge it."""

    name: str
    dedicated: Dedicated
    started: bool = False
    records: list[Record] = field(default_factory=list)
    exit_code: int | None = None
    output: str = ""
    responses: dict[str, Response | str] = field(default_factory=dict)
    """Client-side outcome per request label: the response, or why there was none."""
    times: dict[str, float] = field(default_factory=dict)
    """Client-side moments: when a response arrived, when a connection was closed."""
    error: str | None = None

    # --- views on the records ---

    def lifespan_calls(self) -> list[Record]:
        return [r for r in self.records if r.kind == "call"
                and isinstance(r.data.get("scope"), dict)
                and r.data["scope"].get("type") == "lifespan"]

    def lifespan_records(self) -> list[Record]:
        return [r for r in self.records if r.id == LIFESPAN_ID]

    def mark(self, name: str) -> Record | None:
        return next((r for r in self.lifespan_records()
                     if r.kind == "mark" and r.data.get("name") == name), None)

    def lifespan_events(self) -> list[tuple[float, Any]]:
        return [(r.t, r.data["event"]) for r in self.lifespan_records() if r.kind == "receive"]

    def lifespan_sends(self) -> list[dict[str, Any]]:
        return [r.data for r in self.lifespan_records() if r.kind == "send"]

    def http_calls(self) -> list[Record]:
        return [r for r in self.records if r.kind == "call"
                and isinstance(r.data.get("scope"), dict)
                and r.data["scope"].get("type") == "http"]

    def of(self, probe_id: str, kind: str) -> list[Record]:
        return [r for r in self.records if r.id == probe_id and r.kind == kind]

    def has_lifespan(self) -> bool:
        return bool(self.lifespan_calls())

    def lifespan_calls_now(self) -> bool:
        """Whether the log already shows a lifespan call (while the run is going on)."""
        self.records = self.dedicated.records()
        return self.has_lifespan()

    def summary(self) -> str:
        """Evidence for assertion messages: the command, exit, lifespan records, output."""
        lines = [f"run {self.name!r}: {self.dedicated.describe()}",
                 f"started (listening): {self.started}; exit status: {self.exit_code}"]
        if self.dedicated.signalled_at is not None:
            lines.append(f"SIGTERM at t={self.dedicated.signalled_at:.3f}")
        if self.dedicated.exited_at is not None:
            lines.append(f"exit seen at t={self.dedicated.exited_at:.3f}")
        for label, outcome in self.responses.items():
            shown = (f"{outcome.status} {outcome.body[:80]!r}" if isinstance(outcome, Response)
                     else outcome)
            lines.append(f"request {label}: {shown}")
        lines += [f"t={t:.3f} {label}" for label, t in self.times.items()]
        lines.append("lifespan records:")
        lines += [f"  t={r.t:.3f} pid={r.pid} {r.kind} {_short(r.data)}"
                  for r in self.lifespan_records()]
        lines.append("server output:\n" + tail(self.output, 1200))
        return "\n".join(lines)


def _short(data: dict[str, Any]) -> str:
    text = repr(data)
    return text if len(text) <= 300 else text[:300] + "..."


def _request(probe_id: str, steps: list[list[Any]], dedicated: Dedicated,
             method: str = "GET") -> bytes:
    return dedicated.probe(probe_id).request(method, "/", scenario="script",
                                             args={"steps": steps})


def _exchange(run: Run, label: str, steps: list[list[Any]], timeout: float = 3.0,
              conn: RawConnection | None = None) -> Response | None:
    """Send one request and keep the outcome (or why there was none) under ``label``."""
    own = conn is None
    try:
        if conn is None:
            conn = RawConnection(run.dedicated.host, run.dedicated.port, timeout=timeout)
        conn.send(_request(label, steps, run.dedicated))
        response = conn.read_response("GET", timeout)
    except (NoResponse, OSError) as exc:
        run.responses[label] = f"no response: {exc}"
        return None
    finally:
        if own and conn is not None:
            conn.close()
    run.responses[label] = response
    run.times[f"response {label}"] = time.monotonic()
    return response


ECHO = [["receive_body"], ["respond_report", "scope"]]
STATE = [["receive_body"], ["state_report"], ["respond_report", "scope"]]


def _full(run: Run) -> None:
    """Startup delayed, state and a ticker; requests A and B; C in flight and an idle
    keep-alive connection at SIGTERM; shutdown delayed."""
    d = run.dedicated
    if not d.start():
        run.error = f"the server did not start: {d.start_error}"
        return
    run.started = True
    idle = RawConnection(d.host, d.port, timeout=3.0)
    try:
        _exchange(run, "A", STATE, conn=idle)  # the idle connection served A first
        time.sleep(0.25)
        _exchange(run, "B", STATE)
        in_flight = RawConnection(d.host, d.port, timeout=3.0)
        try:
            in_flight.send(d.probe("C").request(
                "GET", "/", scenario="stream",
                args={"chunks": [b"c1;", b"c2;", b"c3;", b"c4"], "pause": 0.15}))
            deadline = time.monotonic() + 2.0
            while not [r for r in d.records() if r.id == "C" and r.kind == "send"]:
                if time.monotonic() > deadline:
                    run.responses["C"] = "the app was not streaming C within 2 s"
                    break
                time.sleep(0.01)
            watcher = threading.Thread(target=idle.wait_closed, args=(EXIT_BOUND + 1,))
            watcher.start()
            d.sigterm()
            try:
                run.responses["C"] = in_flight.read_response("GET", 3.0)
                run.times["response C"] = time.monotonic()
            except NoResponse as exc:
                run.responses["C"] = f"no complete response: {exc}"
            watcher.join(EXIT_BOUND + 2)
        finally:
            in_flight.close()
        closed = [t for kind, t, _ in idle.transcript if kind in ("closed", "reset")]
        if closed:
            run.times["idle connection closed by the server"] = closed[0]
        run.exit_code = d.wait_exit(EXIT_BOUND)
    finally:
        idle.close()


def _startup_failed(run: Run) -> None:
    """startup.failed: the process should exit; a request meanwhile must not be served."""
    d = run.dedicated
    run.started = d.start()
    if run.started:
        _exchange(run, "S", ECHO, timeout=1.5)
        if not run.lifespan_calls_now():
            return  # no lifespan support: nothing to wait for
    run.exit_code = d.wait_exit(EXIT_BOUND)


def _serve_then_stop(run: Run) -> None:
    """Start, one request, SIGTERM, wait for the exit."""
    d = run.dedicated
    if not d.start():
        run.error = f"the server did not start: {d.start_error}"
        return
    run.started = True
    _exchange(run, "R", ECHO)
    run.exit_code = d.terminate(EXIT_BOUND)


def _workers(run: Run) -> None:
    """Two workers: eight requests on fresh connections, then SIGTERM."""
    d = run.dedicated
    if not d.start():
        run.error = f"the server did not start: {d.start_error}"
        return
    run.started = True
    time.sleep(0.3)  # both workers' startups, when the first one listens already
    for index in range(8):
        _exchange(run, f"W{index}", STATE)
    run.exit_code = d.terminate(EXIT_BOUND)


@dataclass(frozen=True)
class Variant:
    name: str
    env: dict[str, Any]
    script: Callable[[Run], None]
    option: tuple[str, str] | None = None  # (feature, value) of a server option it needs


VARIANTS = {
    v.name: v for v in (
        Variant("full", {"state": True, "ticker": True, "startup_delay": STARTUP_DELAY,
                         "shutdown_delay": SHUTDOWN_DELAY, "shutdown_connect": True}, _full),
        Variant("startup-failed", {"startup": "failed", "startup_message": "boom-7f3a"},
                _startup_failed),
        Variant("startup-failed-no-message", {"startup": "failed"}, _startup_failed),
        Variant("shutdown-failed", {"shutdown": "failed", "shutdown_message": "bye-9c"},
                _serve_then_stop),
        Variant("shutdown-failed-no-message", {"shutdown": "failed"}, _serve_then_stop),
        Variant("raise-on-scope", {"raise_on_scope": True}, _serve_then_stop),
        Variant("raise-after-startup", {"startup": "raise"}, _serve_then_stop),
        Variant("invalid-sends", {
            "before_complete": [{"type": "lifespan.bogus"}],
            "after_complete": [{"type": "lifespan.startup.complete"},
                               {"type": "lifespan.shutdown.complete"}],
        }, _serve_then_stop),
        Variant("workers", {"state": True}, _workers, option=("workers", "2")),
    )
}


class Runs:
    """All runs of this module, done together on first use."""

    def __init__(self, config: pytest.Config, factory: pytest.TempPathFactory) -> None:
        self.config = config
        self.factory = factory
        self.runs: dict[str, Run] = {}
        self.skipped: dict[str, str] = {}
        self.main_has_lifespan = False
        self._done = False

    def _execute(self) -> None:
        spec = suite_spec(self.config)
        for variant in VARIANTS.values():
            args: tuple[str, ...] = ()
            if variant.option is not None:
                feature, value = variant.option
                found = option_args(spec, feature, value=value)
                if found is None:
                    self.skipped[variant.name] = (
                        f"needs the server started with {value} {feature}, and the harness "
                        f"knows no such option for server {spec.name!r}"
                        f"{option_hint(feature)}")
                    continue
                args = found
            dedicated = Dedicated(
                spec, LIFESPAN_APP, self.factory.mktemp(f"lifespan-{variant.name}"),
                env={ENV_LIFESPAN: typedjson.dumps(variant.env)}, args=args,
                start_timeout=10.0,
            )
            self.runs[variant.name] = Run(variant.name, dedicated)
        with concurrent.futures.ThreadPoolExecutor(len(self.runs) or 1) as pool:
            futures = {pool.submit(self._one, VARIANTS[name].script, run): name
                       for name, run in self.runs.items()}
            concurrent.futures.wait(futures, timeout=60)

    @staticmethod
    def _one(script: Callable[[Run], None], run: Run) -> None:
        try:
            script(run)
        except Exception as exc:  # the harness broke, not the server: error verdicts
            run.error = f"the run failed: {type(exc).__name__}: {exc}"
        finally:
            run.dedicated.stop()
            run.records = run.dedicated.records()
            run.output = run.dedicated.output()

    def get(self, name: str, main: ServerProcess, *, need_lifespan: bool = True) -> Run:
        """The run ``name``, done (with all others) on first use. ``main`` is the shared
        server: when it ran no lifespan at all, the runs are skipped and every lifespan
        case is n/a at once."""
        if not self._done:
            self._done = True
            self.main_has_lifespan = bool(_lifespan_calls_of(main))
            if self.main_has_lifespan:
                self._execute()
        if not self.main_has_lifespan:
            not_applicable(NO_LIFESPAN)
        if name in self.skipped:
            not_applicable(self.skipped[name])
        run = self.runs[name]
        if run.error:
            harness_error(f"{run.error}\n{run.summary()}")
        if need_lifespan and not run.has_lifespan():
            not_applicable(NO_LIFESPAN)
        return run


@pytest.fixture(scope="module")
def runs(request: pytest.FixtureRequest,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    handle = Runs(request.config, tmp_path_factory)
    yield handle
    for run in handle.runs.values():
        run.dedicated.stop()


def _lifespan_calls_of(server: ServerProcess) -> list[Record]:
    """The shared probe server's lifespan calls (the probe records them without an id)."""
    return [r for r in read_records(server.probe_log_path) if r.kind == "call"
            and _scope_type(r.data.get("scope")) == "lifespan"]


def _main_lifespan_calls(server: ServerProcess) -> list[Record]:
    """:func:`_lifespan_calls_of`, or n/a when there is none."""
    calls = _lifespan_calls_of(server)
    if not calls:
        not_applicable(NO_LIFESPAN)
    return calls


def _scope_type(scope: Any) -> Any:
    return scope.get("type") if isinstance(scope, dict) else None


def _main_lifespan_scope(server: ServerProcess) -> dict[str, Any]:
    scope = _main_lifespan_calls(server)[0].data["scope"]
    assert isinstance(scope, dict), f"the lifespan scope is {type(scope).__name__}"
    return scope


# --- the lifespan scope ----------------------------------------------------------------------


@req("LIFE-001")
def test_lifespan_scope_type_and_version(server):
    """The lifespan scope has type "lifespan" and an asgi dict with a str version."""
    scope = _main_lifespan_scope(server)
    asgi = scope.get("asgi")
    assert scope.get("type") == "lifespan"
    assert isinstance(asgi, dict) and type(asgi.get("version")) is str, (
        f"lifespan scope['asgi'] is {asgi!r}")


@req("LIFE-002")
def test_lifespan_spec_version(server):
    """asgi["spec_version"] of the lifespan scope is "1.0" or "2.0" ("1.0" by the spec's
    default when absent): lifespan has no other version (an HTTP version such as "2.3"
    here is a mix-up)."""
    asgi = _main_lifespan_scope(server).get("asgi") or {}
    version = asgi.get("spec_version", "1.0")
    assert version in ("1.0", "2.0"), f"lifespan spec_version is {version!r}"


@req("LIFE-003")
def test_lifespan_state_starts_empty(server):
    """The lifespan scope's state, when present, is a dict and empty when the app is
    called; n/a when absent (the server does not support state)."""
    scope = _main_lifespan_scope(server)
    if "state" not in scope:
        not_applicable("the lifespan scope carries no state (optional: \"if missing the "
                       "server does not support this feature\")")
    assert type(scope["state"]) is dict and scope["state"] == {}, (
        f"lifespan state at the call is {scope['state']!r}")


@req("LIFE-004")
def test_startup_is_first_and_before_requests(server, runs):
    """The lifespan call's first receive() is lifespan.startup, and it comes before any
    request reaches the app."""
    run = runs.get("full", server)
    events = run.lifespan_events()
    assert events, f"the lifespan call received nothing\n{run.summary()}"
    t_startup, first = events[0]
    assert isinstance(first, dict) and first.get("type") == "lifespan.startup", (
        f"the first lifespan event is {first!r}\n{run.summary()}")
    early = [r for r in run.http_calls() if r.t < t_startup]
    assert not early, (f"{len(early)} request(s) reached the app before lifespan.startup\n"
                       f"{run.summary()}")


@req("LIFE-005")
def test_no_request_before_startup_complete(server, runs):
    """With startup.complete sent 0.4 s late, no request reaches the app (and no response
    comes back) before the app answered lifespan.startup."""
    run = runs.get("full", server)
    answered = run.mark("startup_answer")
    assert answered is not None, f"the app never answered lifespan.startup\n{run.summary()}"
    early = [r for r in run.http_calls() if r.t < answered.t]
    assert not early, (
        f"request(s) {[r.id for r in early]} reached the app {answered.t - early[0].t:.3f} s "
        f"before startup.complete\n{run.summary()}")
    first = run.times.get("response A")
    assert first is None or first >= answered.t, (
        f"the response to A arrived before startup.complete\n{run.summary()}")


@req("LIFE-005")
def test_no_request_served_after_startup_failed(server, runs):
    """After startup.failed the server never serves: the app is not called for a request
    and the client gets no successful response."""
    run = runs.get("startup-failed", server)
    calls = run.http_calls()
    assert not calls, f"the app was called for a request after startup.failed\n{run.summary()}"
    outcome = run.responses.get("S")
    assert not (isinstance(outcome, Response) and outcome.status < 400), (
        f"a request got {outcome.status} after startup.failed\n{run.summary()}")


@req("LIFE-006")
def test_startup_failed_message_and_exit(server, runs):
    """startup.failed("boom-7f3a"): the server prints the message and exits (with a
    non-zero status, so a supervisor sees the failure)."""
    run = runs.get("startup-failed", server)
    assert run.exit_code is not None, (
        f"the server still ran {EXIT_BOUND:g} s after startup.failed\n{run.summary()}")
    assert "boom-7f3a" in run.output, f"the message was not printed\n{run.summary()}"
    assert run.exit_code != 0, f"the server exited with status 0\n{run.summary()}"


@req("LIFE-007")
@pytest.mark.parametrize("phase", ["startup", "shutdown"])
def test_failed_without_message(server, runs, phase):
    """startup.failed / shutdown.failed without the optional message: the server exits as
    with a message, without a KeyError over the missing key."""
    run = runs.get(f"{phase}-failed-no-message", server)
    if phase == "shutdown":
        assert any(s["event"].get("type") == "lifespan.shutdown.failed" for s in
                   run.lifespan_sends()), f"the app never sent shutdown.failed\n{run.summary()}"
    assert run.exit_code is not None, (
        f"the server still ran {EXIT_BOUND:g} s after {phase}.failed\n{run.summary()}")
    assert "KeyError" not in run.output, f"the server tripped over the missing message\n" \
                                         f"{run.summary()}"


@req("LIFE-008")
@pytest.mark.parametrize("aspect", ["listener-closed", "in-flight-finished",
                                    "idle-connection-closed"])
def test_shutdown_after_connections_closed(server, runs, aspect):
    """lifespan.shutdown comes after the server stopped accepting connections and closed
    the active ones. Stopped accepting: a connection the app opens to the server's port in
    its shutdown handler is refused, or at least never answered (a listener left open
    but no longer accepting is within the text). Closed: a request in flight at SIGTERM
    has finished, an idle keep-alive connection is closed."""
    run = runs.get("full", server)
    shutdown = run.mark("shutdown_received")
    assert shutdown is not None, (
        f"the app never received lifespan.shutdown after SIGTERM\n{run.summary()}")
    if aspect == "listener-closed":
        connect = run.mark("shutdown_connect")
        result = connect.data.get("result") if connect else None
        assert isinstance(result, str) and not result.startswith("served"), (
            f"a new connection during lifespan.shutdown: {result}\n{run.summary()}")
    elif aspect == "in-flight-finished":
        ends = [r.t for r in run.of("C", "exit")] + [
            r.t for r in run.of("C", "receive")
            if isinstance(r.data["event"], dict)
            and r.data["event"].get("type") == "http.disconnect"]
        assert ends, f"request C never finished\n{run.summary()}"
        assert min(ends) <= shutdown.t, (
            f"request C was still running {shutdown.t - min(ends):.3f} s into lifespan "
            f"shutdown\n{run.summary()}")
    else:
        closed = run.times.get("idle connection closed by the server")
        assert closed is not None, (
            f"the idle keep-alive connection was never closed\n{run.summary()}")
        assert closed <= shutdown.t, (
            f"the idle connection was closed {closed - shutdown.t:.3f} s after "
            f"lifespan.shutdown was sent\n{run.summary()}")


@req("LIFE-009")
def test_exit_waits_for_shutdown_complete(server, runs):
    """The app takes 0.4 s over its shutdown: the process exits only after the app sent
    shutdown.complete."""
    run = runs.get("full", server)
    done = run.mark("shutdown_done")
    assert done is not None, (
        f"the app's shutdown never finished (lifespan.shutdown not sent, or the call "
        f"was cancelled)\n{run.summary()}")
    exited = run.dedicated.exited_at
    assert exited is not None, f"the process did not exit\n{run.summary()}"
    assert exited >= done.t, (
        f"the process exited {done.t - exited:.3f} s before the app sent "
        f"shutdown.complete\n{run.summary()}")


@req("LIFE-010")
def test_shutdown_failed_message(server, runs):
    """shutdown.failed("bye-9c"): the server prints the message and terminates."""
    run = runs.get("shutdown-failed", server)
    assert any(s["event"].get("type") == "lifespan.shutdown.failed"
               for s in run.lifespan_sends()), f"the app never sent shutdown.failed\n" \
                                               f"{run.summary()}"
    assert run.exit_code is not None, (
        f"the server still ran {EXIT_BOUND:g} s after shutdown.failed\n{run.summary()}")
    assert "bye-9c" in run.output, f"the message was not printed\n{run.summary()}"


@req("LIFE-011")
@pytest.mark.parametrize("variant", ["raise-on-scope", "raise-after-startup"])
def test_lifespan_exception_server_continues(server, runs, variant):
    """An app that raises on the lifespan scope (at once, or after lifespan.startup) does
    not support lifespan: the server carries on and serves requests."""
    run = runs.get(variant, server)
    outcome = run.responses.get("R")
    assert isinstance(outcome, Response) and outcome.status == 200, (
        f"request after the lifespan exception: {outcome if outcome is not None else 'none'}"
        f"\n{run.summary()}")


@req("LIFE-012")
@pytest.mark.parametrize("variant", ["raise-on-scope", "raise-after-startup"])
def test_no_lifespan_events_after_exception(server, runs, variant):
    """After the lifespan call raised, the server sends no more lifespan events: no second
    lifespan call and no lifespan.shutdown on SIGTERM; the process still exits."""
    run = runs.get(variant, server)
    calls = run.lifespan_calls()
    assert len(calls) == 1, f"{len(calls)} lifespan calls\n{run.summary()}"
    shutdowns = [e for _, e in run.lifespan_events()
                 if isinstance(e, dict) and e.get("type") == "lifespan.shutdown"]
    assert not shutdowns, f"lifespan.shutdown was sent\n{run.summary()}"
    assert run.exit_code is not None, (
        f"the server still ran {EXIT_BOUND:g} s after SIGTERM\n{run.summary()}")


def _states(run: Run) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    startup = run.mark("startup_state")
    if startup is None:
        not_applicable("the server gave the lifespan scope no state dict")
    reports = {}
    for label in ("A", "B"):
        found = run.of(label, "state")
        if not found:
            harness_error(f"request {label} recorded no state report\n{run.summary()}")
        reports[label] = found[0].data
    return startup.data, reports["A"], reports["B"]


@req("LIFE-013")
@pytest.mark.parametrize("aspect", ["distinct-dicts", "same-objects", "mutation-not-seen"])
def test_state_is_a_shallow_copy(server, runs, aspect):
    """Each request's state is a shallow copy of the lifespan's: its own dict (distinct from
    the lifespan's and the other request's), holding the very objects startup stored (a
    list appended to by A shows the append to B), and a key A sets is not seen by B."""
    run = runs.get("full", server)
    startup, a, b = _states(run)
    assert a.get("is_dict") and b.get("is_dict"), f"request states: A {a!r}, B {b!r}"
    if aspect == "distinct-dicts":
        ids = {"lifespan": startup["state_id"], "A": a["state_id"], "B": b["state_id"]}
        assert len(set(ids.values())) == 3, f"state dict identities: {ids}"
    elif aspect == "same-objects":
        assert a["obj_id"] == startup["obj_id"] == b["obj_id"], (
            f"state['probe.obj'] is not the object startup stored (ids: startup "
            f"{startup['obj_id']}, A {a['obj_id']}, B {b['obj_id']})")
        assert b["list"] == ["A"], (
            f"B's state['probe.list'] is {b['list']!r}: A's append is not seen, so the "
            f"copy is deeper than shallow")
    else:
        seen = [k for k in b["keys"] if k.startswith("probe.mark.")]
        assert not seen, f"B's state holds keys set by an earlier request: {seen}"


@req("LIFE-014")
@pytest.mark.parametrize("aspect", ["request-keys", "kept-until-shutdown"])
def test_state_untouched_by_server(server, runs, aspect):
    """The server only copies the state: a request's state holds exactly the keys startup
    stored, and at lifespan.shutdown the lifespan's state still holds them."""
    run = runs.get("full", server)
    startup, a, _ = _states(run)
    if aspect == "request-keys":
        assert a["keys"] == startup["keys"], (
            f"request A's state keys {a['keys']} differ from startup's {startup['keys']}")
    else:
        shutdown = run.mark("shutdown_received")
        assert shutdown is not None, f"no lifespan.shutdown\n{run.summary()}"
        kept = shutdown.data.get("state_keys")
        assert kept == startup["keys"], (
            f"at shutdown the lifespan state holds {kept}, startup stored {startup['keys']}")


@req("LIFE-015")
def test_lifespan_per_worker(server, runs):
    """With two worker processes, each runs its own lifespan (two startups, distinct pids)
    and every request is served by a worker whose startup had completed."""
    run = runs.get("workers", server)
    starts = {r.pid: r.t for r in run.lifespan_records()
              if r.kind == "mark" and r.data.get("name") == "startup_answer"}
    assert len(starts) >= 2, (
        f"lifespan startup answered in {len(starts)} process(es) {sorted(starts)} with two "
        f"workers\n{run.summary()}")
    early = [(r.id, r.pid) for r in run.http_calls()
             if r.pid not in starts or r.t < starts[r.pid]]
    assert not early, f"requests served before their worker's startup: {early}"


@req("LIFE-016")
def test_requests_share_the_lifespan_loop(server, runs):
    """Requests run in the event loop the lifespan ran in (the loop id startup stored in
    the state is each request's running loop)."""
    run = runs.get("full", server)
    _, a, b = _states(run)
    assert a.get("loop_match") and b.get("loop_match"), (
        f"a request ran in another event loop than the lifespan (A: {a.get('loop_match')}, "
        f"B: {b.get('loop_match')})")


@req("LIFE-017")
def test_lifespan_scope_lasts(server, runs):
    """The lifespan call lives as long as the loop: a task it started keeps ticking while
    requests are served, and the call is not cancelled before lifespan.shutdown."""
    run = runs.get("full", server)
    _, a, b = _states(run)
    assert b["ticks"] > a["ticks"], (
        f"the lifespan's background task did not tick between requests A and B "
        f"({a['ticks']} then {b['ticks']})")
    shutdown = run.mark("shutdown_received")
    assert shutdown is not None, (
        f"the lifespan call never received lifespan.shutdown\n{run.summary()}")
    assert shutdown.data.get("ticker_running"), "the background task died before shutdown"
    exits = [r.data for r in run.lifespan_records() if r.kind == "exit"]
    assert exits and exits[0].get("raised") is None, (
        f"the lifespan call ended with {exits!r}\n{run.summary()}")


@req("LIFE-018")
@pytest.mark.parametrize(("label", "event_type", "index"), [
    ("unknown-type", "lifespan.bogus", 0),
    ("second-startup-complete", "lifespan.startup.complete", 1),
    ("shutdown-complete-before-shutdown", "lifespan.shutdown.complete", 0),
])
def test_invalid_lifespan_send_raises(server, runs, label, event_type, index):
    """send() raises on an invalid lifespan event: an unknown type, a second
    startup.complete, a shutdown.complete before lifespan.shutdown."""
    run = runs.get("invalid-sends", server)
    outcomes = [s for s in run.lifespan_sends() if s["event"].get("type") == event_type]
    assert len(outcomes) > index, f"the app's send of {event_type} is not recorded\n" \
                                  f"{run.summary()}"
    outcome = outcomes[index]
    assert not outcome["ok"], f"send({outcome['event']!r}) returned without raising"


# --- lifespan facts shared with the main spec -----------------------------------------------


@req("MAIN-001")
def test_one_lifespan_call_per_process(server):
    """The shared probe server called the app with exactly one lifespan scope per
    process."""
    per_pid: dict[int, int] = {}
    for record in _main_lifespan_calls(server):
        per_pid[record.pid] = per_pid.get(record.pid, 0) + 1
    assert all(count == 1 for count in per_pid.values()), f"lifespan calls per pid: {per_pid}"


@req("MAIN-003")
def test_lifespan_scope_is_a_dict(server):
    """The lifespan scope is a dict."""
    call = _main_lifespan_calls(server)[0]
    assert call.data["scope_is_dict"], f"the scope is a {call.data['scope_type']}"


@req("MAIN-005")
def test_lifespan_asgi_version(server):
    """The lifespan scope's asgi dict says version "3.0" for a single-callable app."""
    asgi = _main_lifespan_scope(server).get("asgi")
    assert isinstance(asgi, dict) and asgi.get("version") == "3.0", (
        f"lifespan scope['asgi'] is {asgi!r}")


@req("MAIN-006")
def test_lifespan_spec_version_format(server):
    """The lifespan scope's spec_version, when present, is a "major.minor" str; n/a when
    absent (there is no value whose format could be judged)."""
    asgi = _main_lifespan_scope(server).get("asgi") or {}
    if "spec_version" not in asgi:
        not_applicable("the lifespan scope carries no asgi spec_version")
    value = asgi["spec_version"]
    assert type(value) is str and re.fullmatch(r"\d+\.\d+", value), (
        f"lifespan spec_version is {value!r}")


@req("MAIN-004")
def test_lifespan_scope_type_is_str(server):
    """The lifespan scope's type is exactly a str."""
    value = _main_lifespan_scope(server).get("type")
    assert type(value) is str, f"scope['type'] is {type(value).__name__}"


@req("MAIN-007")
def test_lifespan_events_are_typed_dicts(server):
    """Every event the lifespan call received is a dict with a str type."""
    calls = {r.call for r in _main_lifespan_calls(server)}
    events = [r.data["event"] for r in read_records(server.probe_log_path)
              if r.call in calls and r.kind == "receive"]
    assert events, "the lifespan call received no event"
    wrong = [e for e in events if type(e) is not dict or type(e.get("type")) is not str]
    assert not wrong, f"lifespan events that are not dicts with a str type: {wrong!r}"
