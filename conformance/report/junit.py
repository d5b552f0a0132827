"""JUnit XML report: the format CI systems (GitLab, Jenkins, GitHub test reporters) ingest.

JUnit only knows passed / failure / error / skipped, so the five verdicts are mapped:
*fail* is a ``<failure>``, *error* an ``<error>``, *n/a* a ``<skipped>``, and *non-strict*
passes (the spec permits it) with a ``<system-out>`` saying what the lenient choice was.
The counts on ``<testsuite>`` therefore equal the report's totals for fail, error and n/a.

The layout stays within the common schema (testsuites > testsuite > testcase), plus the
testcase-level ``<properties>`` pytest's own junitxml writes and CI tools accept.
Evidence is raw server output: characters XML 1.0 cannot carry (most C0 controls, lone
surrogates) are stripped, otherwise the whole file would be rejected by the CI parser.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from conformance.report._text import advertised_items, evidence_parts
from conformance.report.model import CaseResult, Evidence, RunReport
from conformance.verdicts import Verdict

SUITE_NAME = "asgi-conformance"
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_MESSAGE_LIMIT = 500


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids (they cannot even be escaped)."""
    return _ILLEGAL_XML.sub("", text)


def _sub(parent: ET.Element, tag: str, text: str = "", **attrs: str) -> ET.Element:
    """A child element whose text and attributes are all made XML-safe, so no code path
    can forget to clean what came from the server."""
    element = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrs.items()})
    if text:
        element.text = xml_text(text)
    return element


def _properties(parent: ET.Element, items: list[tuple[str, str]]) -> None:
    props = _sub(parent, "properties")
    for name, value in items:
        _sub(props, "property", name=name, value=value)


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def build_junit(report: RunReport) -> ET.Element:
    """The ``<testsuites>`` tree for ``report`` (separate from writing, for testing)."""
    totals = report.totals()
    duration = report.duration or sum(c.duration for c in report.cases)
    counts = {
        "tests": str(len(report.cases)),
        "failures": str(totals[Verdict.FAIL.value]),
        "errors": str(totals[Verdict.ERROR.value]),
        "skipped": str(totals[Verdict.NOT_APPLICABLE.value]),
        "time": _seconds(duration),
    }
    root = ET.Element("testsuites", {"name": SUITE_NAME, **counts})
    suite_attrs = {"name": f"{SUITE_NAME}[{report.server.name}]", **counts}
    if report.started_at:
        suite_attrs["timestamp"] = report.started_at
    suite = _sub(root, "testsuite", **suite_attrs)
    _properties(suite, _suite_properties(report))
    for case in report.cases:
        _testcase(suite, case)
    _suite_output(suite, report)
    return root


def _suite_properties(report: RunReport) -> list[tuple[str, str]]:
    server = report.server
    items = [
        ("server.name", server.name),
        ("server.version", server.version),
        ("server.command", server.command),
        ("suite.version", report.suite_version),
    ]
    items.extend((f"advertised.{key}", value) for key, value in advertised_items(server))
    if report.session_errors:
        items.append(("session_errors", str(len(report.session_errors))))
    return items


def _suite_output(suite: ET.Element, report: RunReport) -> None:
    """Session errors and the server's stderr belong to no single case: they go in the
    suite's ``<system-err>``, which every JUnit consumer shows next to the suite."""
    chunks = [f"session error: {error}" for error in report.session_errors]
    if report.server.stderr_tail:
        chunks.append("server stderr (tail):\n" + report.server.stderr_tail)
    if chunks:
        _sub(suite, "system-err", "\n\n".join(chunks))


def case_classname(case: CaseResult) -> str:
    """``<group>.<module>``: CI tools split classname on dots into a tree, which gives
    requirement group, then the suite module, then the case."""
    module = case.case_id.split("::", 1)[0]
    return f"{case.requirement.group}.{module}"


def _testcase(suite: ET.Element, case: CaseResult) -> None:
    element = _sub(suite, "testcase", classname=case_classname(case), name=case.case_id,
                   time=_seconds(case.duration))
    req = case.requirement
    _properties(element, [
        ("requirement", req.id),
        ("level", req.level),
        ("derived", "true" if req.derived else "false"),
        ("reference", req.reference),
        ("verdict", case.verdict.value),
    ])
    _outcome(element, case)


def _outcome(element: ET.Element, case: CaseResult) -> None:
    evidence = evidence_text(case.evidence)
    headline = _headline(case.message)
    if case.verdict is Verdict.FAIL:
        _sub(element, "failure", _join(case.message, evidence), message=headline, type="fail")
    elif case.verdict is Verdict.ERROR:
        _sub(element, "error", _join(case.message, evidence), message=headline, type="error")
    elif case.verdict is Verdict.NOT_APPLICABLE:
        _sub(element, "skipped", message=f"n/a: {case.message}" if case.message else "n/a")
    if case.verdict is Verdict.NON_STRICT:
        lenient = f"NON-STRICT (passes; the spec permits this): {case.message}"
        _sub(element, "system-out", _join(lenient, evidence))
    elif case.verdict in (Verdict.FAIL, Verdict.ERROR) and evidence:
        _sub(element, "system-out", evidence)


def _headline(message: str) -> str:
    """The ``message`` attribute is what CI lists show in one line: the first line only."""
    first = message.strip().splitlines()[0] if message.strip() else "(no message)"
    return first if len(first) <= _MESSAGE_LIMIT else first[:_MESSAGE_LIMIT] + "..."


def _join(*chunks: str) -> str:
    return "\n\n".join(c for c in chunks if c)


def evidence_text(evidence: Evidence | None) -> str:
    """All evidence as one labelled plain-text block."""
    return "\n\n".join(f"--- {label} ---\n{text.rstrip()}"
                       for label, text in evidence_parts(evidence))


def write_junit(report: RunReport, path: Path) -> None:
    tree = ET.ElementTree(build_junit(report))
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
