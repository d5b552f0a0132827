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

Autobahn's INFORMATIONAL verdict is a *pass* here, with the case's information as its
message: this module answers the plugin's ``pytest_conformance_pass_note`` hook with it,
so the message reaches the report through :func:`conformance.verdicts.decide` like any
other verdict's.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from conformance.report import safe_basename
from conformance.session import report_dir, session_of

PROPERTY = "autobahn"
"""Name of the user property an Autobahn case records its result under."""


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

    def pytest_conformance_pass_note(self, report: pytest.TestReport) -> str | None:
        """An INFORMATIONAL case's information, as its pass's message."""
        entry = _entry(report)
        return str(entry["info"]) if entry is not None and entry.get("info") else None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        entry = _entry(report)
        if entry is not None and "case" in entry:
            self.results[str(entry["case"])] = entry

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        config = self.config
        if not self.results or hasattr(config, "workerinput"):
            return  # an xdist worker: the controller writes the file
        agent = session_of(config).spec.name
        keys = ("behavior", "behaviorClose", "duration", "remoteCloseCode", "reportfile")
        index = {agent: {case: {key: self.results[case].get(key) for key in keys}
                         for case in sorted(self.results, key=_case_order)}}
        directory = report_dir(config)
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{safe_basename(agent)}-autobahn.json"
        self.path.write_text(json.dumps(index, indent=3) + "\n")

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
