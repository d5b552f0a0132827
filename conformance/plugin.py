"""The pytest plugin (entry point ``pytest11: asgi_conformance``): what the suite adds to
pytest, and nothing else.

After ``pip install asgi-conformance`` it is active in every pytest run, but it stays
out of the way until asked: the suite runs when ``--server`` or ``--server-cmd`` is
given (or when the suite's own files are collected). Given one of those options and no
explicit test paths, pytest collects the installed suite instead of the current
directory, so a server author can run ``pytest --server-cmd "..."`` from their own repo.

What the plugin adds to pytest:

* options to choose the server and where reports go, checked up front (unknown name,
  server not installed, template without ``{app}``/``{host}``/``{port}``, a bad
  ``--server-option`` or ``--baseline`` are usage errors with one clear line, not
  tracebacks). The server is resolved here, once, into the session's
  :attr:`~conformance.session.ConformanceSession.spec`, which cases read;
* fixtures: ``server`` (the running server process for the probe app, restarted after a
  crash), ``probe`` (a case's handle on the probe app, see :mod:`conformance.probe`),
  ``h2probe`` (the same over HTTP/2, see :mod:`conformance.h2probe`) and ``advertised``
  (what the server advertised in its scopes);
* the requirement check at collection: a case must carry exactly one
  ``@pytest.mark.requirement("ID")`` naming a catalogued requirement; and
  ``--requirement ID`` (:mod:`conformance.selection`), which deselects the cases judging
  any other requirement;
* ``--list-servers``, which prints the server table (:mod:`conformance.server_list`) and
  exits, as ``--markers`` does;
* a hook, ``pytest_conformance_pass_note``, through which a plugin gives a passing case a
  message (the Autobahn cases' INFORMATIONAL results, :mod:`conformance.autobahn.results`).

The rest (server processes, judging each case with
:func:`conformance.verdicts.decide`, evidence, reports, ``--fail-on`` and ``--baseline``,
the terminal summary) is the session's work, in :mod:`conformance.session`: like
pytest-xdist's ``plugin.py`` and ``dsession.py``, this module stays a short list of
options, hooks and fixtures, and the state of a run lives on one object.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.h2probe import H2Probe, h2_probe
from conformance.launcher import ServerProcess
from conformance.probe import Probe
from conformance.selection import SelectionError, nothing_selected, parse_requirements
from conformance.servers import ServerConfigError, resolve
from conformance.session import (
    PLUGIN_NAME,
    PROBE_APP,
    PROBE_KEY,
    SERVER_KEY,
    ConformanceSession,
    is_case,
    load_baseline,
    requirement_of,
    session_of,
)
from conformance.verdicts import not_applicable

SUITE_DIR = Path(__file__).resolve().parent / "suite"
SELECTED_KEY = pytest.StashKey[frozenset[str] | None]()
"""The requirements ``--requirement`` selects (None: every case)."""
EMPTY_SELECTION_KEY = pytest.StashKey[str]()
"""Set on the xdist controller when the workers collected no case for ``--requirement``."""
pytest_plugins = ["conformance.autobahn.results"]  # the Autobahn results file (index.json)


class Hooks:
    """The hooks this plugin adds to pytest (``pytest_addhooks``)."""

    @pytest.hookspec(firstresult=True)
    def pytest_conformance_pass_note(
        self, item: pytest.Item, report: pytest.TestReport
    ) -> str | None:
        """A message for a case that passed (the suite's verdict model carries none
        otherwise): information the case recorded that a reader of the report wants,
        such as Autobahn's INFORMATIONAL results. Called for the call phase of a case that
        raised nothing; the first answer that is not None is the pass's message."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(Hooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("asgi-conformance", "ASGI server conformance suite")
    group.addoption(
        "--server", default=None, metavar="NAME",
        help="server under test: reference (default), uvicorn, uvicorn-h11, hypercorn, "
             "daphne, granian, gunicorn (--list-servers says which are installed)",
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
        "--requirement", action="append", default=None, metavar="ID[,ID...]",
        help="run only the cases that judge these catalogued requirements (repeatable, "
             "or comma-separated; e.g. --requirement HTTP-046); see docs/requirements.md",
    )
    group.addoption(
        "--list-servers", action="store_true", default=False,
        help="list the named servers (installed here or not, version, what each speaks) "
             "and exit without running anything",
    )
    group.addoption(
        "--catalogue-url", default=None, metavar="URL",
        help="where the reports link each failed or non-strict case's requirement "
             "(URL#ID); default: the checkout's docs/requirements.html relative to "
             "--report-dir when it exists, else no links; '' turns links off",
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


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """``--list-servers``: print the server table and exit, as ``--markers`` does; no
    server is resolved, so it works whatever is installed."""
    if not config.getoption("--list-servers"):
        return None
    from conformance.server_list import render, rows

    print(render(rows()))
    return 0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "requirement(id): the catalogued requirement this conformance case judges"
    )
    config.addinivalue_line(
        "markers", "timing_dependent(reason): pass and non-strict may alternate between runs "
        "of a correct server; a baseline does not count that flip as a regression"
    )
    # Resolved once, here, also when no server is named (the suite's own files collected
    # directly run against the default, reference): the session, the cases
    # (conformance.suite._dedicated.suite_spec) and the reports all read this spec.
    try:
        spec = resolve(config.getoption("--server"), config.getoption("--server-cmd"),
                       config.getoption("--server-name"),
                       config.getoption("--server-option") or ())
    except ServerConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    try:
        values = config.getoption("--requirement")
        config.stash[SELECTED_KEY] = parse_requirements(values) if values else None
    except SelectionError as exc:
        raise pytest.UsageError(str(exc)) from None
    if values and config.getoption("--write-baseline"):
        # A baseline records every case; one written from a selection would make every
        # other case "missing" at the next gated run.
        raise pytest.UsageError("--write-baseline records every case's verdict; run it "
                                "without --requirement")
    explicit = (config.getoption("--server") is not None
                or config.getoption("--server-cmd") is not None)
    if explicit and config.args_source != pytest.Config.ArgsSource.ARGS:
        # No paths on the command line: run the installed suite, wherever we are.
        config.args = [str(SUITE_DIR)]
    session = ConformanceSession(config, spec, load_baseline(config, spec))
    config.pluginmanager.register(session, PLUGIN_NAME)


@pytest.hookimpl(trylast=True)  # after -k and -m, so "nothing left" counts them too
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--requirement``: keep only the cases judging the named requirements. A selection
    that keeps nothing is a usage error, here or (under pytest-xdist, where the workers
    collect) on the controller in :func:`pytest_xdist_node_collection_finished`."""
    selected = config.stash.get(SELECTED_KEY, None)
    if not selected:
        return
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        judges = is_case(item) and requirement_of(item).id in selected
        (kept if judges else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    if not kept and not hasattr(config, "workerinput"):
        raise pytest.UsageError(nothing_selected(selected))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    config = node.config
    selected = config.stash.get(SELECTED_KEY, None)
    if selected and not ids:
        config.stash[EMPTY_SELECTION_KEY] = nothing_selected(selected)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    message = session.config.stash.get(EMPTY_SELECTION_KEY, None)
    if message is not None:
        session.config.get_terminal_writer().line(f"ERROR: {message}", red=True)
        session.exitstatus = pytest.ExitCode.USAGE_ERROR


@pytest.hookimpl(wrapper=True)
def pytest_pycollect_makeitem(
    collector: pytest.Collector, name: str, obj: object
) -> Any:
    result = yield
    items = result if isinstance(result, list) else [result]
    for item in items:
        if isinstance(item, pytest.Function) and is_case(item):
            requirement_of(item)
    return result


# --- fixtures ------------------------------------------------------------------------------


def serve_app(request: pytest.FixtureRequest, app: str) -> ServerProcess:
    """The server under test serving ``app`` (``module:attribute``) for this case.

    One process per app for the whole run, restarted after a crash within the restart
    budget. Recording it on the case makes the case crash-aware: a server that dies
    during the case turns the verdict into an error. A fixture of a case that needs
    another app than the probe (the Autobahn echo app, the framework apps) calls this.
    """
    process = session_of(request.config).server_for(app)
    request.node.stash[SERVER_KEY] = (process, process.generation)
    return process


@pytest.fixture
def server(request: pytest.FixtureRequest) -> ServerProcess:
    """The server under test, serving the probe app (started once, restarted on crash)."""
    return serve_app(request, PROBE_APP)


@pytest.fixture
def probe(request: pytest.FixtureRequest, server: ServerProcess) -> Iterator[Probe]:
    """This case's handle on the probe app: requests, connections, what the app saw."""
    session = session_of(request.config)
    handle = Probe(server.host, server.port, session.logs[PROBE_APP])
    request.node.stash[PROBE_KEY] = handle
    yield handle
    for conn in handle.connections:
        conn.close()


@pytest.fixture
def h2probe(request: pytest.FixtureRequest) -> Iterator[H2Probe]:
    """This case's handle on the probe app over HTTP/2 (:mod:`conformance.h2probe`); n/a
    when the server does not speak h2 or the harness knows no way to make it."""
    target = session_of(request.config).h2_target()
    if isinstance(target, str):
        not_applicable(target)
    process, log, plan = target
    request.node.stash[SERVER_KEY] = (process, process.generation)
    handle = h2_probe(process, log, plan)
    request.node.stash[PROBE_KEY] = handle
    yield handle
    for conn in handle.connections:
        conn.close()
    if handle.recycle:
        session_of(request.config).recycle(process)


@pytest.fixture
def advertised(request: pytest.FixtureRequest, server: ServerProcess) -> dict[str, Any]:
    """What the server advertised in its scopes (spec_version, extensions)."""
    return dict(session_of(request.config).server_info)
