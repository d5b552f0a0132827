"""pytest hooks for the Autobahn cases: an Autobahn-style results file, and informational
messages on passing cases.

Registered by :mod:`conformance.plugin` (``pytest_plugins``). Each Autobahn case records
its Autobahn result as the user property ``autobahn`` (see
``conformance/suite/test_autobahn.py``). At the end of a run that executed any, this
module writes ``<report-dir>/<server>-autobahn.json`` in the shape of Autobahn's own
``index.json``::

    {"<agent>": {"1.1.1": {"behavior": "OK", "behaviorClose": "OK", "duration": 2,
                            "remoteCloseCode": 1000, "reportfile": null}, ...}}

so a run compares case by case with Autobahn's reports (the agent is the server's name
in this suite's reports; ``duration`` is in milliseconds; there are no per-case report
files). Under pytest-xdist the controller collects the properties and writes the file.

Autobahn's INFORMATIONAL verdict is a *pass* here; the suite's verdict model carries no
message for a pass, so this module copies the case's information into the pass's
message in the suite's reports.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from conformance.report import safe_basename

PROPERTY = "autobahn"
"""Name of the user property an Autobahn case records its result under."""
_RESULT_PROPERTY = "asgi_conformance"  # conformance.plugin.RESULT_PROPERTY
_SESSION_PLUGIN = "asgi-conformance-session"  # conformance.plugin.PLUGIN_NAME


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(AutobahnResults(config), "asgi-conformance-autobahn")


def _entry(report: pytest.TestReport) -> dict[str, Any] | None:
    for name, value in getattr(report, "user_properties", ()):
        if name == PROPERTY and isinstance(value, dict):
            return value
    return None


def _case_order(case_id: str) -> tuple[int, ...]:
    return tuple(int(part) for part in case_id.split(".") if part.isdigit())


class AutobahnResults:
    """Collects the Autobahn cases' results of one run and writes them out."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.results: dict[str, dict[str, Any]] = {}
        self.path: Path | None = None

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """Outermost wrapper: once the suite has judged the case, an INFORMATIONAL pass
        gets the case's information as its message."""
        report = yield
        entry = _entry(report)
        if entry is None or not entry.get("info"):
            return report
        for name, value in report.user_properties:
            if (name == _RESULT_PROPERTY and isinstance(value, dict)
                    and value.get("verdict") == "pass" and not value.get("message")):
                value["message"] = str(entry["info"])
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        entry = _entry(report)
        if entry is not None and "case" in entry:
            self.results[str(entry["case"])] = entry

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        config = self.config
        if not self.results or hasattr(config, "workerinput"):
            return  # an xdist worker: the controller writes the file
        agent = self._server_name()
        keys = ("behavior", "behaviorClose", "duration", "remoteCloseCode", "reportfile")
        index = {agent: {case: {key: self.results[case].get(key) for key in keys}
                         for case in sorted(self.results, key=_case_order)}}
        directory = Path(config.getoption("--report-dir"))
        if not directory.is_absolute():
            directory = Path(config.invocation_params.dir) / directory
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{safe_basename(agent)}-autobahn.json"
        self.path.write_text(json.dumps(index, indent=3) + "\n")

    def _server_name(self) -> str:
        session = self.config.pluginmanager.get_plugin(_SESSION_PLUGIN)
        spec = getattr(session, "_spec", None)
        name = getattr(spec, "name", None)
        if isinstance(name, str):
            return name
        return str(self.config.getoption("--server-name") or self.config.getoption("--server")
                   or "reference")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.path is None:
            return
        write = terminalreporter.write_line
        terminalreporter.section("autobahn")
        behavior = Counter(str(e.get("behavior")) for e in self.results.values())
        close = Counter(str(e.get("behaviorClose")) for e in self.results.values())
        write(f"{len(self.results)} Autobahn cases; behavior: "
              + ", ".join(f"{n} {k}" for k, n in behavior.most_common()))
        write("behaviorClose: " + ", ".join(f"{n} {k}" for k, n in close.most_common()))
        write(f"Autobahn-style results: {self.path}")
