"""The h2spec cases of a run as h2spec's own JUnit file (``h2spec -j FILE``), so our verdicts
can be compared case by case with h2spec's against the same server.

h2spec's reporter (``reporter/junit_report.go``) writes ``<testsuites>``, then one
``<testsuite>`` per section that has cases (``package`` the section id such as
``http2/5.1``, ``id`` the section number, ``name`` "5.1. Stream States", with ``tests``,
``skipped``, ``failures`` and ``errors``), then one ``<testcase>`` per case (``package``,
``classname`` the case's description, ``time``) with a ``<failure>``, ``<skipped>`` or
``<error>`` child. Sections come in h2spec's order (generic, http2, hpack; numeric within),
cases in their sequence.

Ours has the same shape, from our verdicts: *pass* and *non-strict* pass (a non-strict
case says why in ``<system-out>``), *fail* is a ``<failure>``, *n/a* a ``<skipped>``,
*error* an ``<error>``. Each ``<testcase>`` also has a ``name``: the h2spec case id
(``http2/5.1/3``), which h2spec's file leaves implicit in the case's position;
:func:`read_h2spec_junit` recovers it from h2spec's file, so :func:`compare` can set the two
side by side (``python -m conformance.report.h2spec_junit OURS.xml THEIRS.xml``).

A case is an h2spec case when its module is a ``test_h2spec_*.py`` and its pytest param id
is an h2spec id; descriptions and section titles come from the module's ``H2SPEC_CASES``
and ``H2SPEC_SECTIONS`` when it has them (else the case title and the section id).
"""

from __future__ import annotations

import importlib
import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from conformance.report.junit import xml_text
from conformance.report.model import CaseResult, RunReport
from conformance.verdicts import Verdict

_CASE_ID = re.compile(r"(?:.*/)?(?:test_)?(h2spec_\w+?)(?:\.py)?::\w+"
                      r"\[((?:generic|http2|hpack)/[\d.]+/\d+)\]")
SPEC_ORDER = ("generic", "http2", "hpack")
OUTCOMES = ("passed", "failure", "skipped", "error")


@dataclass(frozen=True)
class H2SpecResult:
    """One h2spec case of our run."""

    id: str
    module: str
    case: CaseResult

    @property
    def section(self) -> str:
        return self.id.rsplit("/", 1)[0]

    @property
    def outcome(self) -> str:
        return {Verdict.FAIL: "failure", Verdict.NOT_APPLICABLE: "skipped",
                Verdict.ERROR: "error"}.get(self.case.verdict, "passed")


def h2spec_id(case_id: str) -> tuple[str, str] | None:
    """``(h2spec id, module)`` when ``case_id`` (``h2spec_<x>::test_<y>[<h2spec id>]``, the
    module ``test_h2spec_<x>.py``) is a ported h2spec case, else None."""
    match = _CASE_ID.fullmatch(case_id)
    return (match.group(2), match.group(1)) if match else None


def sort_key(h2spec: str) -> tuple[int, tuple[int, ...], int]:
    """h2spec's order: spec (generic, http2, hpack), section numerically, case number."""
    spec, section, number = h2spec.split("/")
    order = SPEC_ORDER.index(spec) if spec in SPEC_ORDER else len(SPEC_ORDER)
    return order, tuple(int(part) for part in section.split(".")), int(number)


def h2spec_results(report: RunReport) -> list[H2SpecResult]:
    """The run's h2spec cases, in h2spec's order."""
    found = []
    for case in report.cases:
        ids = h2spec_id(case.case_id)
        if ids is not None:
            found.append(H2SpecResult(ids[0], f"test_{ids[1]}", case))
    return sorted(found, key=lambda result: sort_key(result.id))


def _module_tables(modules: set[str]) -> tuple[dict[str, str], dict[str, str]]:
    """``H2SPEC_CASES`` and ``H2SPEC_SECTIONS`` merged over the suite modules that have
    them (a module that does not import leaves the fallbacks)."""
    cases: dict[str, str] = {}
    sections: dict[str, str] = {}
    for module in sorted(modules):
        try:
            loaded = importlib.import_module(f"conformance.suite.{module}")
        except ImportError:
            continue
        cases.update(getattr(loaded, "H2SPEC_CASES", {}))
        sections.update(getattr(loaded, "H2SPEC_SECTIONS", {}))
    return cases, sections


def build_h2spec_junit(report: RunReport) -> ET.Element | None:
    """The ``<testsuites>`` tree, or None when the run has no h2spec case."""
    results = h2spec_results(report)
    if not results:
        return None
    descriptions, titles = _module_tables({result.module for result in results})
    root = ET.Element("testsuites")
    suites: dict[str, ET.Element] = {}
    for result in results:
        suite = suites.get(result.section)
        if suite is None:
            number = result.section.split("/", 1)[1]
            title = titles.get(result.section, result.section)
            suite = ET.SubElement(root, "testsuite", {
                "name": f"{number}. {title}", "package": result.section, "id": number,
                "tests": "0", "skipped": "0", "failures": "0", "errors": "0"})
            suites[result.section] = suite
        _testcase(suite, result, descriptions.get(result.id, result.case.title))
    return root


def _bump(suite: ET.Element, counter: str) -> None:
    suite.set(counter, str(int(suite.get(counter, "0")) + 1))


def _testcase(suite: ET.Element, result: H2SpecResult, description: str) -> None:
    case = result.case
    element = ET.SubElement(suite, "testcase", {
        "package": result.section, "classname": xml_text(description), "name": result.id,
        "time": f"{case.duration:.4f}"})
    _bump(suite, "tests")
    outcome = result.outcome
    message = xml_text(case.message)
    if outcome == "failure":
        _bump(suite, "failures")
        ET.SubElement(element, "failure").text = message
    elif outcome == "skipped":
        _bump(suite, "skipped")
        ET.SubElement(element, "skipped").text = message
    elif outcome == "error":
        _bump(suite, "errors")
        ET.SubElement(element, "error").text = message
    elif case.verdict is Verdict.NON_STRICT:
        ET.SubElement(element, "system-out").text = f"NON-STRICT: {message}"


def write_h2spec_junit(report: RunReport, path: Path) -> bool:
    """Write the file when the run has h2spec cases; whether it did."""
    root = build_h2spec_junit(report)
    if root is None:
        return False
    tree = ET.ElementTree(root)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return True


# --- reading either file back, and comparing --------------------------------------------


def read_h2spec_junit(path: Path) -> dict[str, tuple[str, str]]:
    """h2spec id to ``(outcome, description)`` from a JUnit file of h2spec's or ours.
    h2spec's own file names no case: its id is the section's package and the case's
    position, as h2spec numbers them."""
    table: dict[str, tuple[str, str]] = {}
    for suite in ET.parse(path).getroot().iter("testsuite"):
        package = suite.get("package", "")
        for number, case in enumerate(suite.iter("testcase"), start=1):
            case_id = case.get("name") or f"{package}/{number}"
            outcome = next((child.tag for child in case if child.tag in OUTCOMES[1:]),
                           "passed")
            table[case_id] = (outcome, case.get("classname", ""))
    return table


def compare(ours: Path, theirs: Path) -> list[str]:
    """One line per case whose outcome differs, or that only one file has."""
    mine, other = read_h2spec_junit(ours), read_h2spec_junit(theirs)
    lines = []
    for case_id in sorted(set(mine) | set(other), key=sort_key):
        a, b = mine.get(case_id), other.get(case_id)
        if a is None or b is None or a[0] != b[0]:
            description = (a or b or ("", ""))[1]
            lines.append(f"{case_id}: ours {a[0] if a else '-'}, h2spec {b[0] if b else '-'}"
                         f" ({description})")
    return lines


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m conformance.report.h2spec_junit OURS.xml H2SPEC.xml")
        return 2
    lines = compare(Path(argv[0]), Path(argv[1]))
    print("\n".join(lines) if lines else "every case has the same outcome")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
