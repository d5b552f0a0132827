"""TEMPORARY stub until the report writers land."""
import json
from pathlib import Path

from conformance.report.model import RunReport


def safe_basename(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "-" for c in name) or "server"


def write_reports(report: RunReport, report_dir: Path, basename: str) -> dict[str, Path]:
    report_dir.mkdir(parents=True, exist_ok=True)
    path = report_dir / f"{basename}.json"
    path.write_text(json.dumps(report.to_dict(), indent=2))
    return {"json": path}
