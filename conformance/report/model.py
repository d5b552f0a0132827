"""The result model every report format is written from.

One :class:`RunReport` per run against one server. It is plain data (dicts, strings,
numbers) so it can cross process boundaries (pytest-xdist workers send each case through
``report.user_properties``) and round-trip through JSON, which is what lets later
tools (comparison, baselines) read a run back without rerunning it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from conformance.verdicts import Verdict

SCHEMA_VERSION = 2
"""2 added ``catalogue_url``; version 1 reports (without it) are still read."""
READABLE_SCHEMAS = frozenset({1, SCHEMA_VERSION})

VERDICT_ORDER: tuple[Verdict, ...] = (
    Verdict.PASS,
    Verdict.NON_STRICT,
    Verdict.FAIL,
    Verdict.NOT_APPLICABLE,
    Verdict.ERROR,
)
LEVEL_ORDER: tuple[str, ...] = ("MUST", "WILL", "SHOULD", "MAY")


@dataclass
class RequirementInfo:
    """A copy of the catalogue entry the case judged, so a report stands on its own."""

    id: str
    group: str
    level: str
    derived: bool
    reference: str
    quote: str
    summary: str


@dataclass
class Evidence:
    """What the harness saw, already rendered as readable, truncated text."""

    sent: str = ""
    received: str = ""
    app_records: str = ""
    server_stderr: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class CaseResult:
    case_id: str
    """Stable name, independent of where the suite is installed: ``module::test[param]``."""
    title: str
    requirement: RequirementInfo
    verdict: Verdict
    message: str = ""
    """Why: the failure, the n/a reason, the lenient choice, or the harness error."""
    duration: float = 0.0
    evidence: Evidence | None = None
    timing_dependent: str = ""
    """Why pass and non-strict may alternate between runs of a correct server (the case's
    ``timing_dependent`` mark); empty for cases whose verdict is deterministic."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaseResult:
        evidence = data.get("evidence")
        return cls(
            case_id=data["case_id"],
            title=data.get("title", ""),
            requirement=RequirementInfo(**data["requirement"]),
            verdict=Verdict(data["verdict"]),
            message=data.get("message", ""),
            duration=float(data.get("duration", 0.0)),
            evidence=Evidence(**evidence) if evidence else None,
            timing_dependent=data.get("timing_dependent", ""),
        )


@dataclass
class ServerInfo:
    name: str
    version: str
    command: str
    advertised: dict[str, Any] = field(default_factory=dict)
    """What the server announced in its scopes: ``asgi.version``, ``http.spec_version``
    (``None`` when absent, which the spec says means "2.0"), ``http.extensions``."""
    stderr_tail: str = ""


@dataclass
class RunReport:
    server: ServerInfo
    cases: list[CaseResult] = field(default_factory=list)
    suite_version: str = ""
    started_at: str = ""
    """ISO 8601, UTC."""
    duration: float = 0.0
    session_errors: list[str] = field(default_factory=list)
    """Problems outside any one case (server would not start, report incomplete...)."""
    catalogue_url: str = ""
    """The requirement catalogue page (``docs/requirements.html``) as a URL, relative to
    the report's directory or absolute; a requirement's entry is ``URL#ID``. Empty when
    the run had no page to link to (:func:`requirement_url`)."""

    def requirement_url(self, requirement_id: str) -> str:
        """Where the catalogue page describes ``requirement_id``, or "" without a page."""
        return f"{self.catalogue_url}#{requirement_id}" if self.catalogue_url else ""

    def totals(self) -> dict[str, int]:
        counts = Counter(case.verdict for case in self.cases)
        return {v.value: counts.get(v, 0) for v in VERDICT_ORDER}

    def totals_by_level(self) -> dict[str, dict[str, int]]:
        table: dict[str, dict[str, int]] = {}
        for level in LEVEL_ORDER:
            counts = Counter(c.verdict for c in self.cases if c.requirement.level == level)
            if counts:
                table[level] = {v.value: counts.get(v, 0) for v in VERDICT_ORDER}
        return table

    def cases_by_group(self) -> dict[str, list[CaseResult]]:
        """Cases by requirement group, groups sorted, cases kept in report order."""
        groups: dict[str, list[CaseResult]] = {}
        for case in self.cases:
            groups.setdefault(case.requirement.group, []).append(case)
        return dict(sorted(groups.items()))

    def totals_by_group(self) -> dict[str, dict[str, int]]:
        groups: dict[str, Counter[Verdict]] = {}
        for case in self.cases:
            groups.setdefault(case.requirement.group, Counter())[case.verdict] += 1
        return {
            group: {v.value: counts.get(v, 0) for v in VERDICT_ORDER}
            for group, counts in sorted(groups.items())
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "suite_version": self.suite_version,
            "started_at": self.started_at,
            "duration": self.duration,
            "server": asdict(self.server),
            "totals": self.totals(),
            "totals_by_level": self.totals_by_level(),
            "session_errors": list(self.session_errors),
            "catalogue_url": self.catalogue_url,
            "cases": [case.to_dict() for case in self.cases],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunReport:
        if data.get("schema") not in READABLE_SCHEMAS:
            raise ValueError(
                f"report schema {data.get('schema')!r} is not a supported one "
                f"({', '.join(map(str, sorted(READABLE_SCHEMAS)))})"
            )
        return cls(
            server=ServerInfo(**data["server"]),
            cases=[CaseResult.from_dict(c) for c in data["cases"]],
            suite_version=data.get("suite_version", ""),
            started_at=data.get("started_at", ""),
            duration=float(data.get("duration", 0.0)),
            session_errors=list(data.get("session_errors", [])),
            catalogue_url=data.get("catalogue_url", ""),
        )
