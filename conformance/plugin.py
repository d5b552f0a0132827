"""The pytest plugin (entry point ``pytest11: asgi_conformance``).

After ``pip install asgi-conformance`` it is active in every pytest run, but it stays
out of the way until asked: the suite runs when ``--server`` or ``--server-cmd`` is
given (or when the suite's own files are collected). Given one of those options and no
explicit test paths, pytest collects the installed suite instead of the current
directory, so a server author can run ``pytest --server-cmd "..."`` from their own repo.

What the plugin adds to pytest:

* options to choose the server and where reports go, checked up front (unknown name,
  server not installed, template without ``{app}``/``{host}``/``{port}`` are usage
  errors with one clear line, not tracebacks);
* fixtures: ``server`` (the running server process for the probe app, restarted after a
  crash) and ``probe`` (a case's handle on the probe app, see :mod:`conformance.probe`);
* the requirement check at collection: a case must carry exactly one
  ``@pytest.mark.requirement("ID")`` naming a catalogued requirement;
* verdicts (:mod:`conformance.verdicts`) mapped onto pytest outcomes, with evidence;
* the reports (JSON, JUnit XML, Markdown, HTML) written at the end of the session;
* ``--fail-on``: which verdicts make the exit status non-zero;
* ``--baseline``/``--write-baseline``: gate on regressions only (:mod:`conformance.baseline`).
"""

from __future__ import annotations

import datetime
import signal
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

import conformance
from conformance import catalogue
from conformance.baseline import Baseline, BaselineError, Comparison, compare, read_baseline
from conformance.launcher import ServerProcess, ServerStartError
from conformance.probe import Probe, ProbeLog, new_probe_id
from conformance.rawhttp import RawConnection, render_transcript
from conformance.report import model, safe_basename, write_reports
from conformance.servers import ServerConfigError, ServerSpec, resolve
from conformance.verdicts import HarnessError, NonStrict, Verdict
from fixtures import typedjson

SUITE_DIR = Path(__file__).resolve().parent / "suite"
PROBE_APP = "fixtures.probe:app"
CASE_FIXTURES = frozenset({"server", "probe"})
"""A test that uses any of these is a conformance case and must name a requirement."""
RESULT_PROPERTY = "asgi_conformance"
SERVER_PROPERTY = "asgi_conformance_server"
PLUGIN_NAME = "asgi-conformance-session"
pytest_plugins = ["conformance.autobahn.results"]  # the Autobahn results file (index.json)

PROBE_KEY = pytest.StashKey[Probe]()
SERVER_KEY = pytest.StashKey[tuple[ServerProcess, int]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("asgi-conformance", "ASGI server conformance suite")
    group.addoption(
        "--server", default=None, metavar="NAME",
        help="server under test: reference (default), uvicorn, uvicorn-h11, hypercorn, "
             "daphne, granian",
    )
    group.addoption(
        "--server-cmd", default=None, metavar="TEMPLATE",
        help="command template for any other server; must contain {app}, {host} and "
             "{port}; may use {python}, {app_module}, {app_attr}",
    )
    group.addoption(
        "--server-name", default=None, metavar="NAME",
        help="name of the --server-cmd server in reports (default: custom)",
    )
    group.addoption(
        "--server-option", action="append", default=None, metavar="FEATURE=ARGS",
        help="how to start the server with a feature some cases need (repeatable): "
             "root_path=ARGS with {value}, workers=ARGS with {value}, tls=ARGS with {cert} "
             "and {key}, head_timeout=ARGS with {value} (s) or {value_ms}; e.g. "
             "'root_path=--root-path {value}'. Overrides the built-in table",
    )
    group.addoption(
        "--report-dir", default="reports", metavar="DIR",
        help="where the JSON, JUnit XML, Markdown and HTML reports go (default: reports/)",
    )
    group.addoption(
        "--fail-on", default="fail", choices=("fail", "error"),
        help="exit non-zero on any failed case (fail, the default) or only when the "
             "harness could not judge a case (error): use 'error' to survey a server "
             "with known deviations without a red build",
    )
    group.addoption(
        "--baseline", default=None, metavar="FILE",
        help="judge the run against a baseline (or an earlier JSON report): exit non-zero "
             "only when a case gets worse than its recorded verdict; improvements, new "
             "and missing cases are reported (overrides --fail-on)",
    )
    group.addoption(
        "--write-baseline", default=None, metavar="FILE",
        help="write this run's verdicts as a baseline file for later --baseline runs",
    )
    group.addoption(
        "--server-start-timeout", default=15.0, type=float, metavar="SECONDS",
        help="bound on a server's start-up before the session fails (default 15)",
    )
    group.addoption(
        "--max-restarts", default=5, type=int, metavar="N",
        help="how many crashes of the server are restarted before the session stops "
             "(default 5; each crash is an error verdict on the case it happened in)",
    )
    group.addoption(
        "--case-timeout", default=60.0, type=float, metavar="SECONDS",
        help="safety net: a case still running after this is an error (default 60)",
    )
    group.addoption(
        "--autobahn-performance", action="store_true", default=False,
        help="also run Autobahn's category 9 (limits/performance, messages up to 16 MiB) "
             "and Autobahn's full 1000 messages per permessage-deflate case (slow)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "requirement(id): the catalogued requirement this conformance case judges"
    )
    config.addinivalue_line(
        "markers", "timing_dependent(reason): pass and non-strict may alternate between runs "
        "of a correct server; a baseline does not count that flip as a regression"
    )
    explicit = (config.getoption("--server") is not None
                or config.getoption("--server-cmd") is not None)
    spec: ServerSpec | None = None
    if explicit:
        try:
            spec = _resolve(config)
        except ServerConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
        if config.args_source != pytest.Config.ArgsSource.ARGS:
            # No paths on the command line: run the installed suite, wherever we are.
            config.args = [str(SUITE_DIR)]
    baseline = _load_baseline(config, spec)
    config.pluginmanager.register(ConformanceSession(config, spec, baseline), PLUGIN_NAME)


def _option_path(config: pytest.Config, option: str) -> Path | None:
    value = config.getoption(option)
    if value is None:
        return None
    path = Path(value)
    return path if path.is_absolute() else Path(config.invocation_params.dir) / path


def _load_baseline(config: pytest.Config, spec: ServerSpec | None) -> Baseline | None:
    """Read ``--baseline`` before any case runs, so a bad file costs nothing."""
    path = _option_path(config, "--baseline")
    if path is None or hasattr(config, "workerinput"):
        return None
    try:
        baseline = read_baseline(path)
    except BaselineError as exc:
        raise pytest.UsageError(str(exc)) from None
    if spec is not None and baseline.server != spec.name:
        raise pytest.UsageError(
            f"{path}: the baseline is for server {baseline.server!r}, this run is "
            f"{spec.name!r} (use that server's baseline, or --server-name to name a "
            "--server-cmd server)"
        )
    return baseline


def _resolve(config: pytest.Config) -> ServerSpec:
    return resolve(
        config.getoption("--server"),
        config.getoption("--server-cmd"),
        config.getoption("--server-name"),
        config.getoption("--server-option") or (),
    )


def _is_case(item: pytest.Item) -> bool:
    return bool(CASE_FIXTURES & set(getattr(item, "fixturenames", ())))


def _requirement_of(item: pytest.Item) -> catalogue.Requirement:
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


@pytest.hookimpl(wrapper=True)
def pytest_pycollect_makeitem(
    collector: pytest.Collector, name: str, obj: object
) -> Any:
    result = yield
    items = result if isinstance(result, list) else [result]
    for item in items:
        if isinstance(item, pytest.Function) and _is_case(item):
            _requirement_of(item)
    return result


def case_id(item: pytest.Item) -> str:
    """``module::test[param]``: stable whether the suite runs from a checkout or
    site-packages, and whatever the rootdir."""
    path = Path(str(getattr(item, "path", "") or item.nodeid.split("::")[0]))
    stem = path.stem.removeprefix("test_")
    return f"{stem}::{item.name}"


class ConformanceSession:
    """Per-run state: the server processes, verdicts collected, reports written."""

    def __init__(self, config: pytest.Config, spec: ServerSpec | None,
                 baseline: Baseline | None = None) -> None:
        self.config = config
        self._spec = spec
        self.baseline = baseline
        self.comparison: Comparison | None = None
        self.servers: dict[str, ServerProcess] = {}
        self.logs: dict[str, ProbeLog] = {}
        self.results: list[model.CaseResult] = []
        self.server_info: dict[str, Any] = {}
        self.session_errors: list[str] = []
        self.restarts = 0
        self.started_at = datetime.datetime.now(datetime.UTC)
        self.t0 = time.monotonic()
        self.failed_reports = 0
        self.failed_cases = 0
        self.failed_judged = 0
        """Failed pytest reports of conformance cases (fail or error verdicts)."""
        self.report_paths: dict[str, Path] = {}

    # --- servers ---------------------------------------------------------------------------

    @property
    def spec(self) -> ServerSpec:
        if self._spec is None:
            try:
                spec = _resolve(self.config)
            except ServerConfigError as exc:
                self._abort(str(exc))
            self._spec = spec
        return self._spec

    def _abort(self, message: str) -> NoReturn:
        self.session_errors.append(message)
        pytest.exit(f"asgi-conformance: {message}", returncode=pytest.ExitCode.INTERRUPTED)

    def server_for(self, app: str) -> ServerProcess:
        process = self.servers.get(app)
        if process is None:
            process = ServerProcess(
                self.spec, app, start_timeout=self.config.getoption("--server-start-timeout")
            )
            self.servers[app] = process
            self._start(process)
            self.logs[app] = ProbeLog(process.probe_log_path)
            if app == PROBE_APP:
                self._profile(process, self.logs[app])
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
            self._start(process)
        return process

    def _start(self, process: ServerProcess) -> None:
        try:
            process.start()
        except ServerStartError as exc:
            self._abort(str(exc))

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

    def advertised_http_spec_version(self) -> str | None:
        value = self.server_info.get("http.spec_version")
        return value if isinstance(value, str) else None

    # --- judging -----------------------------------------------------------------------------

    def judge(self, item: pytest.Item, call: pytest.CallInfo[None],
              report: pytest.TestReport) -> model.CaseResult | None:
        requirement = _requirement_of(item)
        verdict: Verdict | None = None
        message = ""
        excinfo = call.excinfo
        if report.when == "setup":
            if report.passed:
                return None
            if report.skipped:
                verdict, message = Verdict.NOT_APPLICABLE, _skip_reason(report)
            else:
                verdict = Verdict.ERROR
                message = "case setup failed: " + (excinfo.exconly() if excinfo else "")
        elif report.when == "call":
            # Only a failure or a harness error may be the symptom of a dying server; an n/a
            # (a skip) or an explicit non-strict verdict is a judgement already made.
            judged_wrong = excinfo is not None and not excinfo.errisinstance(
                (NonStrict, pytest.skip.Exception))
            crash = self._crash_during(item, judged_wrong=judged_wrong)
            if crash:
                verdict, message = Verdict.ERROR, crash
            elif excinfo is None:
                verdict = Verdict.PASS
            elif excinfo.errisinstance(NonStrict):
                verdict, message = Verdict.NON_STRICT, str(excinfo.value)
            elif report.skipped:
                verdict, message = Verdict.NOT_APPLICABLE, _skip_reason(report)
            elif excinfo.errisinstance(AssertionError):
                text = excinfo.exconly()
                if requirement.strict:
                    verdict, message = Verdict.FAIL, text
                else:
                    verdict = Verdict.NON_STRICT
                    kind = "derived requirement" if requirement.derived else requirement.level
                    message = f"not followed ({kind}, so permitted): {text}"
            elif excinfo.errisinstance(HarnessError):
                verdict, message = Verdict.ERROR, str(excinfo.value)
            else:
                verdict = Verdict.ERROR
                message = "the case could not be judged: " + excinfo.exconly()
        if verdict is None:
            return None
        evidence = None
        if verdict in (Verdict.FAIL, Verdict.ERROR, Verdict.NON_STRICT):
            evidence = self._evidence(item)
        return model.CaseResult(
            case_id=case_id(item),
            title=_title(item),
            requirement=model.RequirementInfo(
                id=requirement.id, group=requirement.group, level=requirement.level.value,
                derived=requirement.derived, reference=requirement.reference,
                quote=requirement.quote, summary=requirement.summary,
            ),
            verdict=verdict,
            message=_clip(message, 4000),
            duration=report.duration,
            evidence=evidence,
            timing_dependent=_timing_dependent(item),
        )

    def _crash_during(self, item: pytest.Item, judged_wrong: bool) -> str | None:
        """An error message when the server died during ``item``, else None.

        Only a case that did not pass waits a moment for a dying process (its failure
        may be the crash); a passing case just looks, so the suite pays no wait per case.
        A crash a passing case missed is found when the next case starts the server."""
        entry = item.stash.get(SERVER_KEY, None)
        if entry is None:
            return None
        process, generation = entry
        if process.generation != generation:
            return None
        code = process.exit_code
        if code is None:
            # The case may have just killed it: give a dying process a moment.
            code = process.wait_exit(0.2) \
                if judged_wrong and item.stash.get(PROBE_KEY, None) else None
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
                sent, received = render_transcript(conn.transcript)
                label = f"--- connection {index} (client port {conn.local_port})"
                sent_parts.append(f"{label}\n{sent}")
                received_parts.append(f"{label}\n{received}")
            evidence.sent = "\n".join(sent_parts)
            evidence.received = "\n".join(received_parts)
            records = probe.records()
            lines = [r.render() for r in records]
            evidence.app_records = _clip("\n".join(lines), 8000) if lines else (
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
        if not _is_case(item):
            return report
        result = self.judge(item, call, report)
        if result is None:
            return report
        if result.verdict is Verdict.NON_STRICT:
            report.outcome = "passed"
            report.longrepr = None
        elif result.verdict is Verdict.ERROR and report.outcome != "failed":
            report.outcome = "failed"
            report.longrepr = result.message
        report.user_properties.append((RESULT_PROPERTY, result.to_dict()))
        report.user_properties.append((SERVER_PROPERTY, dict(self.server_info)))
        return report

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        limit = float(self.config.getoption("--case-timeout"))
        if not _is_case(item) or not hasattr(signal, "SIGALRM") or limit <= 0:
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
        if report.failed:
            self.failed_reports += 1
        for name, value in report.user_properties:
            if name == RESULT_PROPERTY and isinstance(value, dict):
                result = model.CaseResult.from_dict(value)
                self.results.append(result)
                if report.failed and result.verdict is Verdict.FAIL:
                    self.failed_cases += 1
                if report.failed and result.verdict in (Verdict.FAIL, Verdict.ERROR):
                    self.failed_judged += 1
            elif name == SERVER_PROPERTY and isinstance(value, dict) and value:
                self.server_info = value

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        for process in self.servers.values():
            process.stop()
        if hasattr(self.config, "workerinput"):
            return  # xdist worker: the controller writes the report
        if self._spec is None or not (self.results or self.session_errors):
            return
        self._write_reports()
        self._write_baseline()
        if self.baseline is not None:
            session.exitstatus = self._gate_on_baseline(self.baseline, session.exitstatus)
        elif (self.config.getoption("--fail-on") == "error"
                and session.exitstatus == pytest.ExitCode.TESTS_FAILED
                and self.failed_reports == self.failed_cases):
            session.exitstatus = pytest.ExitCode.OK

    def _write_baseline(self) -> None:
        path = _option_path(self.config, "--write-baseline")
        if path is None or not self.results:
            return
        spec = self.spec
        Baseline.from_results(spec.name, self.results, server_version=spec.version(),
                              suite_version=conformance.__version__).write(path)
        self.report_paths["baseline written"] = path

    def _gate_on_baseline(self, baseline: Baseline, exitstatus: int) -> int:
        """The run's exit status under ``--baseline``: red only on a regression (or on a
        failure outside the conformance cases, or a baseline that matches nothing)."""
        comparison = compare(baseline, self.results)
        self.comparison = comparison
        lines = comparison.render(limit=200)
        path = Path(self.config.getoption("--report-dir"))
        if not path.is_absolute():
            path = Path(self.config.invocation_params.dir) / path
        path = path / f"{safe_basename(self.spec.name)}-baseline.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f"# Baseline comparison: {self.spec.name}\n\nBaseline: "
            f"`{self.config.getoption('--baseline')}` ({baseline.server} "
            f"{baseline.server_version}, suite {baseline.suite_version})\n\n```\n"
            + "\n".join(lines) + "\n```\n", encoding="utf-8")
        self.report_paths["baseline comparison"] = path
        if self.results and baseline.cases and comparison.compared == 0:
            self.session_errors.append("the baseline shares no case with this run")
            return pytest.ExitCode.USAGE_ERROR
        if comparison.regressions:
            return pytest.ExitCode.TESTS_FAILED
        if exitstatus == pytest.ExitCode.TESTS_FAILED \
                and self.failed_reports == self.failed_judged:
            return pytest.ExitCode.OK
        return exitstatus

    def _write_reports(self) -> None:
        spec = self._spec
        assert spec is not None
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
        )
        directory = Path(self.config.getoption("--report-dir"))
        if not directory.is_absolute():
            directory = Path(self.config.invocation_params.dir) / directory
        self.report_paths = write_reports(report, directory, safe_basename(spec.name))
        self._report = report

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        report: model.RunReport | None = getattr(self, "_report", None)
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
        elif self.config.getoption("--fail-on") == "error" and self.failed_cases:
            write(f"--fail-on=error: {self.failed_cases} failed case(s) do not fail this run; "
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


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n... [{len(text) - limit} more]"



# --- fixtures ------------------------------------------------------------------------------


def _session(config: pytest.Config) -> ConformanceSession:
    plugin = config.pluginmanager.get_plugin(PLUGIN_NAME)
    assert isinstance(plugin, ConformanceSession)
    return plugin


def serve_app(request: pytest.FixtureRequest, app: str) -> ServerProcess:
    """The server under test serving ``app`` (``module:attribute``) for this case.

    One process per app for the whole run, restarted after a crash within the restart
    budget. Recording it on the case makes the case crash-aware: a server that dies
    during the case turns the verdict into an error. A fixture of a case that needs
    another app than the probe (the Autobahn echo app, the framework apps) calls this.
    """
    process = _session(request.config).server_for(app)
    request.node.stash[SERVER_KEY] = (process, process.generation)
    return process


@pytest.fixture
def server(request: pytest.FixtureRequest) -> ServerProcess:
    """The server under test, serving the probe app (started once, restarted on crash)."""
    return serve_app(request, PROBE_APP)


@pytest.fixture
def probe(request: pytest.FixtureRequest, server: ServerProcess) -> Iterator[Probe]:
    """This case's handle on the probe app: requests, connections, what the app saw."""
    session = _session(request.config)
    handle = Probe(server.host, server.port, session.logs[PROBE_APP])
    request.node.stash[PROBE_KEY] = handle
    yield handle
    for conn in handle.connections:
        conn.close()


@pytest.fixture
def advertised(request: pytest.FixtureRequest, server: ServerProcess) -> dict[str, Any]:
    """What the server advertised in its scopes (spec_version, extensions)."""
    return dict(_session(request.config).server_info)
