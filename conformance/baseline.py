"""Baselines: gate a CI run on regressions, not on a server's known deviations.

A server author whose server fails a few cases on purpose (or for now) still wants a red
build the day a case that passed starts failing. A *baseline* records the verdict every
case got in a run the author accepted; a later run with ``--baseline FILE`` fails only
when a case gets **worse** than its recorded verdict, and reports everything else that
moved (improvements, cases new to the suite, cases missing from the run).

"Worse" follows :attr:`Verdict.severity`: pass and n/a < non-strict < fail < error. So
pass → non-strict is a regression (the server got more lenient), fail → error is one
(the harness can no longer judge it), while pass ↔ n/a is only a change: the server
stopped or started advertising the feature, which is its choice, and so is n/a →
non-strict. A case that was n/a and now fails *is* a regression: the server advertised
a feature it gets wrong.

One exception to "worse": a case marked ``timing_dependent`` (Autobahn's chopped "echo,
then fail" cases) may come out pass or non-strict for the same server depending on a race
between its app task and its reader, so pass ↔ non-strict there is an other change, not a
regression. Otherwise a gate would go red on a coin toss, and authors would learn to
ignore it.

The file is small JSON with sorted keys, so it diffs well in review and does not churn
between runs. ``--baseline`` also accepts a full JSON report (``reports/<server>.json``),
so any earlier run can serve as the baseline.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.report.json_report import read_json
from conformance.report.model import CaseResult
from conformance.verdicts import Verdict

KIND = "asgi-conformance-baseline"
#: The two verdicts a timing-dependent case may alternate between.
_RACY_PAIR = {Verdict.PASS, Verdict.NON_STRICT}
SCHEMA = 1


class BaselineError(ValueError):
    """The baseline cannot be used: unreadable, not a baseline, or for another server."""


@dataclass
class Baseline:
    server: str
    cases: dict[str, Verdict]
    server_version: str = ""
    suite_version: str = ""

    def to_json(self) -> str:
        data = {
            "kind": KIND,
            "schema": SCHEMA,
            "server": self.server,
            "server_version": self.server_version,
            "suite_version": self.suite_version,
            "cases": {case: verdict.value for case, verdict in sorted(self.cases.items())},
        }
        return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def from_results(cls, server: str, results: Iterable[CaseResult], *,
                     server_version: str = "", suite_version: str = "") -> Baseline:
        return cls(server=server, cases={r.case_id: r.verdict for r in results},
                   server_version=server_version, suite_version=suite_version)


def read_baseline(path: Path) -> Baseline:
    """Read a baseline file, or a JSON report used as one.

    Every problem is a :class:`BaselineError` whose message starts with the path and says
    what is wrong, so the plugin can show it as one line.
    """
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"{path}: no such baseline file (write one with "
                            "--write-baseline)") from None
    except (OSError, ValueError) as exc:
        raise BaselineError(f"{path}: unreadable baseline: {type(exc).__name__}: {exc}") \
            from None
    if not isinstance(data, dict):
        raise BaselineError(f"{path}: not a baseline: the top level is "
                            f"{type(data).__name__}, not an object")
    if data.get("kind") == KIND:
        return _parse_baseline(path, data)
    if isinstance(data.get("cases"), list) and "server" in data:
        try:
            report = read_json(path)
        except ValueError as exc:
            raise BaselineError(str(exc)) from None
        return Baseline.from_results(report.server.name, report.cases,
                                     server_version=report.server.version,
                                     suite_version=report.suite_version)
    raise BaselineError(f"{path}: not a baseline or a JSON report of this suite "
                        f"(no \"kind\": \"{KIND}\")")


def _parse_baseline(path: Path, data: Mapping[str, Any]) -> Baseline:
    if data.get("schema") != SCHEMA:
        raise BaselineError(f"{path}: baseline schema {data.get('schema')!r} is not the "
                            f"supported {SCHEMA}; rewrite it with --write-baseline")
    server, cases = data.get("server"), data.get("cases")
    if not isinstance(server, str) or not isinstance(cases, dict):
        raise BaselineError(f"{path}: a baseline needs a \"server\" string and a "
                            "\"cases\" object")
    verdicts: dict[str, Verdict] = {}
    for case, value in cases.items():
        try:
            verdicts[case] = Verdict(value)
        except ValueError:
            allowed = ", ".join(v.value for v in Verdict)
            raise BaselineError(f"{path}: case {case!r} has verdict {value!r}; expected "
                                f"one of {allowed}") from None
    return Baseline(server=server, cases=verdicts,
                    server_version=str(data.get("server_version", "")),
                    suite_version=str(data.get("suite_version", "")))


@dataclass(frozen=True)
class Change:
    case_id: str
    before: Verdict
    after: Verdict
    note: str = ""


@dataclass
class Comparison:
    """How a run's verdicts moved against a baseline."""

    regressions: list[Change] = field(default_factory=list)
    improvements: list[Change] = field(default_factory=list)
    other_changes: list[Change] = field(default_factory=list)
    """Neither better nor worse: pass ↔ n/a, n/a → non-strict, and pass ↔ non-strict on
    a timing-dependent case."""
    new_cases: list[tuple[str, Verdict]] = field(default_factory=list)
    missing_cases: list[str] = field(default_factory=list)
    """In the baseline, not in this run: removed from the suite, or deselected."""
    unchanged: int = 0

    @property
    def compared(self) -> int:
        return (self.unchanged + len(self.regressions) + len(self.improvements)
                + len(self.other_changes))

    def render(self, limit: int = 30) -> list[str]:
        """Lines for the terminal and the baseline report, worst news first."""
        lines = [
            f"{len(self.regressions)} regression(s), {len(self.improvements)} "
            f"improvement(s), {len(self.other_changes)} other change(s), "
            f"{self.unchanged} unchanged; {len(self.new_cases)} case(s) new, "
            f"{len(self.missing_cases)} not run"
        ]
        sections: list[tuple[str, list[str]]] = [
            ("regressed", [f"{c.case_id}: {c.before} -> {c.after}" for c in self.regressions]),
            ("improved", [f"{c.case_id}: {c.before} -> {c.after}"
                          for c in self.improvements]),
            ("changed", [f"{c.case_id}: {c.before} -> {c.after}"
                         + (f" ({c.note})" if c.note else "") for c in self.other_changes]),
            ("new", [f"{case}: {verdict}" for case, verdict in self.new_cases]),
            ("not run (removed from the suite or deselected)", list(self.missing_cases)),
        ]
        for title, entries in sections:
            if not entries:
                continue
            lines.append(f"{title}:")
            lines += [f"  {entry}" for entry in entries[:limit]]
            if len(entries) > limit:
                lines.append(f"  ... and {len(entries) - limit} more")
        return lines


def compare(baseline: Baseline, results: Iterable[CaseResult]) -> Comparison:
    outcome = Comparison()
    seen: set[str] = set()
    for result in sorted(results, key=lambda r: r.case_id):
        seen.add(result.case_id)
        before = baseline.cases.get(result.case_id)
        after = result.verdict
        if before is None:
            outcome.new_cases.append((result.case_id, after))
        elif before == after:
            outcome.unchanged += 1
        elif before is Verdict.NOT_APPLICABLE and after is Verdict.NON_STRICT:
            # A feature newly advertised and implemented leniently: news, not a regression.
            outcome.other_changes.append(Change(result.case_id, before, after))
        elif result.timing_dependent and {before, after} == _RACY_PAIR:
            outcome.other_changes.append(Change(result.case_id, before, after,
                                                "timing-dependent verdict"))
        elif after.severity > before.severity:
            outcome.regressions.append(Change(result.case_id, before, after))
        elif after.severity < before.severity:
            outcome.improvements.append(Change(result.case_id, before, after))
        else:
            outcome.other_changes.append(Change(result.case_id, before, after))
    outcome.missing_cases = sorted(set(baseline.cases) - seen)
    return outcome
