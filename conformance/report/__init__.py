"""Reports: one run written four ways from the same :class:`~model.RunReport`.

- JSON (``json_report``): the lossless record, read back by comparison/baseline tools.
- JUnit XML (``junit``): what CI systems ingest to show pass/fail per case.
- Markdown (``markdown``): for terminals, pull requests and issues.
- HTML (``html``): one self-contained page with the evidence folded under each case.
- h2spec JUnit (``h2spec_junit``): a run's h2spec cases only, shaped like h2spec's own
  ``-j`` file, written when the run has any.

No writer imports another: what several of them share lives in modules of its own,
``_text`` (the wording every format uses for the server and the evidence),
``_markdown_syntax`` and ``_html_syntax`` (building blocks the single-run report and the
cross-server ``comparison`` both need).

The plugin calls :func:`write_reports` once per run with :func:`safe_basename` of the
server's name, so runs against different servers can share one report directory.
"""

from __future__ import annotations

import re
from pathlib import Path

from conformance.report.h2spec_junit import write_h2spec_junit
from conformance.report.html import write_html
from conformance.report.json_report import write_json
from conformance.report.junit import write_junit
from conformance.report.markdown import write_markdown
from conformance.report.model import RunReport

__all__ = ["safe_basename", "write_reports"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_MAX_BASENAME = 100


def safe_basename(name: str) -> str:
    """``name`` as a file name that is safe on every platform and in a shell.

    Only ASCII letters, digits and ``._-`` are kept (anything else, path separators
    included, becomes ``-``); a leading ``.`` would hide the file and a leading ``-`` would
    read as an option, so those are dropped; the length is capped well below file-system
    limits; and the result is never empty.
    """
    safe = _UNSAFE.sub("-", name).lstrip(".-")[:_MAX_BASENAME]
    return safe or "server"


def write_reports(report: RunReport, report_dir: Path, basename: str) -> dict[str, Path]:
    """Write every format into ``report_dir`` (created if needed); returns the paths by kind.

    ``basename`` is used as given: callers pass it through :func:`safe_basename`.
    """
    report_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": report_dir / f"{basename}.json",
        "junit": report_dir / f"{basename}.xml",
        "markdown": report_dir / f"{basename}.md",
        "html": report_dir / f"{basename}.html",
    }
    write_json(report, paths["json"])
    write_junit(report, paths["junit"])
    write_markdown(report, paths["markdown"])
    write_html(report, paths["html"])
    h2spec = report_dir / f"{basename}.h2spec.xml"
    if write_h2spec_junit(report, h2spec):
        paths["h2spec"] = h2spec
    return paths
