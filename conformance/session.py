"""The conformance session: everything one run of the suite does between pytest's hooks.

:mod:`conformance.plugin` is what pytest loads: options, the hooks that must be
module-level, fixtures. It resolves the server once (``pytest_configure``) and registers
one :class:`ConformanceSession`, which owns the run's state and its work:

* the server processes (one per app, started on first use, restarted after a crash
  within ``--max-restarts``) and the profile of what the server advertises;
* judging each case: it turns what pytest saw into an
  :class:`~conformance.verdicts.Outcome`, notices a server that died during the case,
  and lets :func:`~conformance.verdicts.decide` give the verdict; then it attaches the
  evidence and shows the verdict as a pytest outcome;
* at the end: the reports, ``--write-baseline``, the ``--baseline`` comparison, the exit
  status (:func:`~conformance.verdicts.run_fails`) and the terminal summary.

The split follows pytest-xdist's (``plugin.py`` of options and hooks, the session logic in
``dsession.py``): the plugin stays a readable list of what the suite adds to pytest, and
the session's state lives on one object instead of module globals. Under pytest-xdist
each worker has its own session, which judges its cases and ships each verdict to the
controller in ``report.user_properties``; the controller's session writes the reports.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import signal
import tempfile
import time
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import pytest

import conformance
from conformance import catalogue, h2probe
from conformance.baseline import Baseline, BaselineError, Comparison, compare, read_baseline
from conformance.h2probe import H2Plan
from conformance.launcher import ServerProcess, ServerStartError
from conformance.probe import Probe, ProbeLog, new_probe_id
from conformance.rawh2 import H2Connection
from conformance.rawhttp import RawConnection, render_transcript
from conformance.report import model, safe_basename, write_reports
from conformance.servers import ServerSpec
from conformance.verdicts import (
    HarnessError,
    Phase,
    Verdict,
    clip,
    decide,
    outcome_of,
    run_fails,
)
from fixtures import typedjson

PROBE_APP = "fixtures.probe:app"
CASE_FIXTURES = frozenset({"server", "probe", "h2probe"})
"""A test that uses any of these is a conformance case and must name a requirement."""
RESULT_PROPERTY = "asgi_conformance"
"""The user property a judged case carries its :class:`~conformance.report.model.CaseResult`
under (how xdist workers hand verdicts to the controller)."""
SERVER_PROPERTY = "asgi_conformance_server"
PLUGIN_NAME = "asgi-conformance-session"

PROBE_KEY = pytest.StashKey[Probe]()
SERVER_KEY = pytest.StashKey[tuple[ServerProcess, int]]()


def session_of(config: pytest.Config) -> ConformanceSession:
    """The run's session (registered by the plugin in ``pytest_configure``)."""
    plugin = config.pluginmanager.get_plugin(PLUGIN_NAME)
    assert isinstance(plugin, ConformanceSession)
    return plugin


def option_path(config: pytest.Config, option: str) -> Path | None:
    """A path option, relative to where pytest was invoked."""
    value = config.getoption(option)
    if value is None:
        return None
    path = Path(value)
    return path if path.is_absolute() else Path(config.invocation_params.dir) / path


def report_dir(config: pytest.Config) -> Path:
    """Where this run's reports go (``--report-dir``)."""
    path = option_path(config, "--report-dir")
    assert path is not None  # the option has a default
    return path


CATALOGUE_PAGE = Path(conformance.__file__).resolve().parent.parent / "docs" / "requirements.html"
"""The requirement catalogue page of the checkout the suite runs from (``python -m
conformance catalogue``); an installed wheel has none."""


def catalogue_url(option: str | None, reports: Path, page: Path = CATALOGUE_PAGE) -> str:
    """The catalogue page as the reports link it (``--catalogue-url``): the option's value
    when given ("" turns links off); else the checkout's page relative to the report
    directory (``../docs/requirements.html`` for this repository's ``reports/``), so the
    link works in the checkout and in a copy of both directories; else no links."""
    if option is not None:
        return option
    if not page.is_file():
        return ""
    try:
        return Path(os.path.relpath(page, reports.resolve())).as_posix()
    except ValueError:  # another drive (Windows): no relative path exists
        return page.as_uri()


def load_baseline(config: pytest.Config, spec: ServerSpec) -> Baseline | None:
    """Read ``--baseline`` before any case runs, so a bad file costs nothing."""
    path = option_path(config, "--baseline")
    if path is None or hasattr(config, "workerinput"):
        return None
    try:
        baseline = read_baseline(path)
    except BaselineError as exc:
        raise pytest.UsageError(str(exc)) from None
    if baseline.server != spec.name:
        raise pytest.UsageError(
            f"{path}: the baseline is for server {baseline.server!r}, this run is "
            f"{spec.name!r} (use that server's baseline, or --server-name to name a "
            "--server-cmd server)"
        )
    return baseline


def is_case(item: pytest.Item) -> bool:
    return bool(CASE_FIXTURES & set(getattr(item, "fixturenames", ())))


def requirement_of(item: pytest.Item) -> catalogue.Requirement:
    """The one catalogued requirement an item names, or a collection error."""
    own = [m for m in item.own_markers if m.name == "requirement"]
    markers = own or list(item.iter_markers("requirement"))[:1]
    if len(markers) != 1:
        raise pytest.Collector.CollectError(
            f"{item.nodeid}: a conformance case must name exactly one requirement with "
            f"@pytest.mark.requirement('ID'); it names {len(markers)}"
        )
    args = markers[0].args
    if len(args) != 1 or not isinstance(args[0], str):
        raise pytest.Collector.CollectError(
            f"{item.nodeid}: @pytest.mark.requirement takes one requirement ID string"
        )
    try:
        return catalogue.lookup(args[0])
    except catalogue.UnknownRequirement:
        raise pytest.Collector.CollectError(
            f"{item.nodeid}: requirement {args[0]!r} is not in the catalogue "
            "(conformance/catalogue)"
        ) from None


def case_id(item: pytest.Item) -> str:
    """``module::test[param]``: stable whether the suite runs from a checkout or
    site-packages, and whatever the rootdir."""
    path = Path(str(getattr(item, "path", "") or item.nodeid.split("::")[0]))
    stem = path.stem.removeprefix("test_")
    return f"{stem}::{item.name}"


class ConformanceSession:
    """Per-run state: the server processes, verdicts collected, reports written."""

    def __init__(self, config: pytest.Config, spec: ServerSpec,
                 baseline: Baseline | None = None) -> None:
        self.config = config
        self.spec = spec
        """The server under test, resolved once from the options (``pytest_configure``)."""
        self.baseline = baseline
        self.comparison: Comparison | None = None
        self.servers: dict[str, ServerProcess] = {}
        self.logs: dict[str, ProbeLog] = {}
        self.results: list[model.CaseResult] = []
        self.other_failures = 0
        """Failed reports that carry no verdict: plain tests, teardowns, collection."""
        self.server_info: dict[str, Any] = {}
        self.session_errors: list[str] = []
        self.restarts = 0
        self.started_at = datetime.datetime.now(datetime.UTC)
        self.t0 = time.monotonic()
        self.report_paths: dict[str, Path] = {}
        self._h2_plan: H2Plan | str | None = None
        self._h2_failed: dict[str, str] = {}
        self._report: model.RunReport | None = None

    # --- servers ---------------------------------------------------------------------------

    def _abort(self, message: str) -> NoReturn:
        self.session_errors.append(message)
        pytest.exit(f"asgi-conformance: {message}", returncode=pytest.ExitCode.INTERRUPTED)

    def server_for(self, app: str, variant: str = "", args: Sequence[str] = ()
                   ) -> ServerProcess:
        """The server serving ``app``, started once and restarted after a crash. A
        ``variant`` is a second process for the same app started with ``args`` (the h2
        listener); a variant that does not start raises :class:`ServerStartError` for its
        cases to report, while the main process not starting ends the run."""
        key = f"{app}#{variant}" if variant else app
        process = self.servers.get(key)
        if process is None:
            spec = self.spec.with_args(args) if args else self.spec
            process = ServerProcess(
                spec, app, start_timeout=self.config.getoption("--server-start-timeout")
            )
            self.servers[key] = process
            self.logs[key] = ProbeLog(process.probe_log_path)
            self._start(process, fatal=not variant)
            if app == PROBE_APP and not variant:
                self._profile(process, self.logs[key])
            elif not self.server_info:
                self.server_info = {"command": process.describe()}
        elif not process.alive():
            if self.restarts >= self.config.getoption("--max-restarts"):
                self._abort(
                    f"server {self.spec.name!r} crashed again and the restart budget "
                    f"(--max-restarts) is spent\nstderr:\n{process.output_tail()}"
                )
            self.restarts += 1
            process.stop()
            self._start(process, fatal=not variant)
        return process

    def h2_target(self) -> tuple[ServerProcess, ProbeLog, H2Plan] | str:
        """The probe app served over h2 (see :mod:`conformance.h2probe`), started on first
        use; or why the server cannot be reached over h2 (the cases' n/a reason)."""
        if self._h2_plan is None:
            workdir = Path(tempfile.mkdtemp(prefix="asgi-conformance-h2-"))  # its cert
            self._h2_plan = h2probe.plan(self.spec, workdir)
        if isinstance(self._h2_plan, str):
            return self._h2_plan
        key = f"{PROBE_APP}#{h2probe.H2_VARIANT}"
        if key in self._h2_failed:
            raise HarnessError(self._h2_failed[key])
        try:
            process = self.server_for(PROBE_APP, h2probe.H2_VARIANT, self._h2_plan.args)
        except ServerStartError as exc:
            self._h2_failed[key] = (f"the server did not start with "
                                    f"{self._h2_plan.describe()}: {exc}")
            raise HarnessError(self._h2_failed[key]) from None
        tls_port = self._h2_plan.tls_port
        if tls_port and not h2probe.wait_listening(process.host, tls_port):
            raise HarnessError(f"the server's TLS endpoint did not listen on port {tls_port}")
        return process, self.logs[key], self._h2_plan

    def recycle(self, process: ServerProcess) -> None:
        """Restart a variant process a case left unable to serve (an h2 flood it has not
        recovered from), after that case's verdict and outside the restart budget, which
        is for crashes; the next case starts from a fresh server."""
        process.stop()
        with contextlib.suppress(ServerStartError):  # the next case's server_for says so
            process.start()

    def _start(self, process: ServerProcess, fatal: bool = True) -> None:
        try:
            process.start()
        except ServerStartError as exc:
            if fatal:
                self._abort(str(exc))
            raise

    def _profile(self, process: ServerProcess, log: ProbeLog) -> None:
        """Ask the probe for a scope once: what the server advertises (spec_version,
        extensions) is part of every report and gates n/a verdicts."""
        info: dict[str, Any] = {"command": process.describe()}
        probe = Probe(process.host, process.port, log, id=new_probe_id("profile-"))
        try:
            with RawConnection(process.host, process.port, timeout=5.0) as conn:
                conn.send(probe.request("GET", "/"))
                response = conn.read_response("GET", 5.0)
            scope = typedjson.loads(response.body)["scope"]
            asgi = scope.get("asgi", {})
            info["asgi.version"] = asgi.get("version")
            info["http.spec_version"] = asgi.get("spec_version")
            info["http.extensions"] = sorted(str(k) for k in (scope.get("extensions") or {}))
        except Exception as exc:  # a broken server still gets a report
            info["profile_error"] = f"{type(exc).__name__}: {exc}"[:300]
        self.server_info = info

    # --- judging -----------------------------------------------------------------------------

    def judge(self, item: pytest.Item, call: pytest.CallInfo[None],
              report: pytest.TestReport) -> model.CaseResult | None:
        """The case's result for this phase (set-up or call), or None when the phase gives
        no verdict. The verdict itself is :func:`~conformance.verdicts.decide`'s."""
        if report.when not in ("setup", "call"):
            return None
        phase = Phase(report.when)
        note = ""
        if phase is Phase.CALL and call.excinfo is None:
            note = self.config.hook.pytest_conformance_pass_note(item=item, report=report) or ""
            probe = item.stash.get(PROBE_KEY, None)
            if not note and probe is not None and probe.notes:
                note = "; ".join(probe.notes)  # what the case measured (e.g. the h2 floods)
        outcome = outcome_of(phase, call.excinfo, skipped=report.skipped,
                             skip_reason=_skip_reason(report) if report.skipped else "",
                             note=note)
        crash = self._crash_during(item, wait=outcome.may_be_crash) \
            if phase is Phase.CALL else None
        requirement = requirement_of(item)
        decision = decide(requirement, outcome, crash)
        if decision is None:
            return None
        evidence = None
        if decision.verdict in (Verdict.FAIL, Verdict.ERROR, Verdict.NON_STRICT):
            evidence = self._evidence(item)
        return model.CaseResult(
            case_id=case_id(item),
            title=_title(item),
            requirement=model.RequirementInfo(
                id=requirement.id, group=requirement.group, level=requirement.level.value,
                derived=requirement.derived, reference=requirement.reference,
                quote=requirement.quote, summary=requirement.summary,
            ),
            verdict=decision.verdict,
            message=decision.message,
            duration=report.duration,
            evidence=evidence,
            timing_dependent=_timing_dependent(item),
        )

    def _crash_during(self, item: pytest.Item, wait: bool) -> str | None:
        """The crash message when the server died during ``item``, else None.

        Only a case whose outcome may be a crash's symptom (``wait``) waits a moment for a
        dying process; any other case just looks, so the suite pays no wait per case. A
        crash a passing case missed is found when the next case starts the server."""
        entry = item.stash.get(SERVER_KEY, None)
        if entry is None:
            return None
        process, generation = entry
        if process.generation != generation:
            return None
        code = process.exit_code
        if code is None and wait and item.stash.get(PROBE_KEY, None):
            # The case may have just killed it: give a dying process a moment.
            code = process.wait_exit(0.2)
        if code is None:
            return None
        return (f"the server process exited with status {code} during this case "
                f"(it will be restarted for the next case)")

    def _evidence(self, item: pytest.Item) -> model.Evidence:
        evidence = model.Evidence()
        probe = item.stash.get(PROBE_KEY, None)
        if probe is not None:
            sent_parts, received_parts = [], []
            for index, conn in enumerate(probe.connections, 1):
                if isinstance(conn, H2Connection):
                    sent = conn.render_frames()
                    received = ("(HTTP/2: the frames of both directions are listed in order "
                                "under sent, → ours, ← the server's)")
                else:
                    sent, received = render_transcript(conn.transcript)
                label = f"--- connection {index} (client port {conn.local_port})"
                sent_parts.append(f"{label}\n{sent}")
                received_parts.append(f"{label}\n{received}")
            evidence.sent = "\n".join(sent_parts)
            evidence.received = "\n".join(received_parts)
            records = probe.records()
            lines = [r.render() for r in records]
            evidence.app_records = clip("\n".join(lines), 8000) if lines else (
                f"(the app recorded nothing for probe id {probe.id})"
            )
            evidence.notes = list(probe.notes)
        entry = item.stash.get(SERVER_KEY, None)
        if entry is not None:
            evidence.server_stderr = entry[0].output_tail(3000)
        return evidence

    # --- hooks ------------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if not is_case(item):
            return report
        result = self.judge(item, call, report)
        if result is None:
            return report
        shown = result.verdict.pytest_outcome
        if report.outcome != shown and shown in ("passed", "failed"):
            # A non-strict verdict from a failed check passes; an error from a crash
            # during a passing or n/a case fails, with the crash as its message.
            report.outcome = shown
            report.longrepr = result.message if shown == "failed" else None
        report.user_properties.append((RESULT_PROPERTY, result.to_dict()))
        report.user_properties.append((SERVER_PROPERTY, dict(self.server_info)))
        return report

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        limit = float(self.config.getoption("--case-timeout"))
        if not is_case(item) or not hasattr(signal, "SIGALRM") or limit <= 0:
            return (yield)

        def on_alarm(signum: int, frame: Any) -> None:
            raise HarnessError(f"the case was still running after {limit:g} s "
                               "(--case-timeout): a wait without a bound")

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, limit)
        try:
            return (yield)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    def pytest_report_teststatus(
        self, report: pytest.TestReport, config: pytest.Config
    ) -> tuple[str, str, str] | None:
        verdict = _verdict_of(report)
        if verdict is Verdict.NON_STRICT:
            return "non-strict", "N", "NON-STRICT"
        if verdict is Verdict.ERROR and report.when == "call":
            return "error", "E", "ERROR"
        if verdict is Verdict.NOT_APPLICABLE:
            return "skipped", "s", "N/A"
        return None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        judged = False
        for name, value in report.user_properties:
            if name == RESULT_PROPERTY and isinstance(value, dict):
                self.results.append(model.CaseResult.from_dict(value))
                judged = True
            elif name == SERVER_PROPERTY and isinstance(value, dict) and value:
                self.server_info = value
        if report.failed and not judged:
            self.other_failures += 1

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.other_failures += 1

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        for process in self.servers.values():
            process.stop()
        if hasattr(self.config, "workerinput"):
            return  # xdist worker: the controller writes the report
        if not (self.results or self.session_errors):
            return
        self._write_reports()
        self._write_baseline()
        session.exitstatus = self._exit_status(session.exitstatus)

    def _exit_status(self, exitstatus: int) -> int:
        """The run's exit status: pytest's, except that a run that :func:`run_fails` does
        not fail (``--fail-on=error`` with only failed cases, ``--baseline`` without a
        regression) is green, and a regression is red even when every case passed."""
        regressions = None
        if self.baseline is not None:
            comparison = self._compare_to_baseline(self.baseline)
            if self.results and self.baseline.cases and comparison.compared == 0:
                self.session_errors.append("the baseline shares no case with this run")
                return pytest.ExitCode.USAGE_ERROR
            regressions = len(comparison.regressions)
        fails = run_fails((r.verdict for r in self.results), self.other_failures,
                          fail_on=self.config.getoption("--fail-on"), regressions=regressions)
        if fails and regressions:
            return pytest.ExitCode.TESTS_FAILED
        if not fails and exitstatus == pytest.ExitCode.TESTS_FAILED:
            return pytest.ExitCode.OK
        return exitstatus

    def _write_baseline(self) -> None:
        path = option_path(self.config, "--write-baseline")
        if path is None or not self.results:
            return
        spec = self.spec
        Baseline.from_results(spec.name, self.results, server_version=spec.version(),
                              suite_version=conformance.__version__).write(path)
        self.report_paths["baseline written"] = path

    def _compare_to_baseline(self, baseline: Baseline) -> Comparison:
        """Compare the run with ``--baseline`` and write the comparison next to the
        reports."""
        comparison = compare(baseline, self.results)
        self.comparison = comparison
        lines = comparison.render(limit=200)
        path = report_dir(self.config) / f"{safe_basename(self.spec.name)}-baseline.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f"# Baseline comparison: {self.spec.name}\n\nBaseline: "
            f"`{self.config.getoption('--baseline')}` ({baseline.server} "
            f"{baseline.server_version}, suite {baseline.suite_version})\n\n```\n"
            + "\n".join(lines) + "\n```\n", encoding="utf-8")
        self.report_paths["baseline comparison"] = path
        return comparison

    def _write_reports(self) -> None:
        spec = self.spec
        info = dict(self.server_info)
        command = str(info.pop("command", spec.display_command()))
        stderr = "".join(p.output_tail(4000) for p in self.servers.values())
        report = model.RunReport(
            server=model.ServerInfo(
                name=spec.name, version=spec.version(), command=command,
                advertised=info, stderr_tail=stderr,
            ),
            cases=sorted(self.results, key=lambda c: c.case_id),
            suite_version=conformance.__version__,
            started_at=self.started_at.isoformat(timespec="seconds"),
            duration=round(time.monotonic() - self.t0, 3),
            session_errors=list(self.session_errors),
            catalogue_url=catalogue_url(self.config.getoption("--catalogue-url"),
                                        report_dir(self.config)),
        )
        self.report_paths = write_reports(report, report_dir(self.config),
                                          safe_basename(spec.name))
        self._report = report

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        report = self._report
        if report is None:
            return
        write = terminalreporter.write_line
        terminalreporter.section("asgi-conformance")
        server = report.server
        write(f"server: {server.name} {server.version}: {server.command}")
        advertised = ", ".join(f"{k}={v!r}" for k, v in server.advertised.items())
        write(f"advertised: {advertised or 'nothing (no profile)'}")
        write("verdicts: " + ", ".join(f"{n} {v}" for v, n in report.totals().items()))
        for kind, path in self.report_paths.items():
            write(f"{kind} report: {path}")
        if self.comparison is not None:
            baseline = self.config.getoption("--baseline")
            terminalreporter.section(f"asgi-conformance baseline: {baseline}")
            for line in self.comparison.render():
                write(line)
            if self.results and self.baseline and self.baseline.cases \
                    and self.comparison.compared == 0:
                write(f"{baseline}: the baseline shares no case with this run: is it for "
                      "this suite and server?", red=True)
            elif self.comparison.regressions:
                write(f"{len(self.comparison.regressions)} case(s) got worse than the "
                      "baseline: this run fails", red=True)
            else:
                write("no case got worse than the baseline", green=True)
            return
        failed = sum(r.verdict is Verdict.FAIL for r in self.results)
        if self.config.getoption("--fail-on") == "error" and failed:
            write(f"--fail-on=error: {failed} failed case(s) do not fail this run; "
                  "harness errors would")


def _verdict_of(report: pytest.TestReport) -> Verdict | None:
    for name, value in getattr(report, "user_properties", ()):
        if name == RESULT_PROPERTY and isinstance(value, dict):
            return Verdict(value["verdict"])
    return None


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr or "")


def _title(item: pytest.Item) -> str:
    doc = getattr(getattr(item, "function", None), "__doc__", None) or ""
    return doc.strip().splitlines()[0] if doc.strip() else item.name


def _timing_dependent(item: pytest.Item) -> str:
    mark = item.get_closest_marker("timing_dependent")
    if mark is None:
        return ""
    return str(mark.args[0]) if mark.args else "the verdict depends on timing"
