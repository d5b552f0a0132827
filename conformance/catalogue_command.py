"""``python -m conformance catalogue``: write (or check) the requirement catalogue page.

The page (:mod:`conformance.report.catalogue_page`) joins three things that live apart:
the catalogue (``conformance/catalogue/``), the cases judging each requirement (pytest's
collection of the suite, :mod:`conformance.case_index`) and the named servers' committed
verdicts (``baselines/<server>.json``, what CI gates on; a server without one is "not
run"). The per-server reports link to it, so it is committed, and ``--check`` lets CI
(and ``tests/test_catalogue_page.py``) notice when a new case, requirement or baseline
has made it stale.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from conformance.baseline import BaselineError, read_baseline
from conformance.case_index import CaseIndexError, collect_cases
from conformance.catalogue import CATALOGUE
from conformance.report.catalogue_page import ServerRecord, render_html, render_markdown
from conformance.servers import BUILTIN

PAGE_NAMES = ("requirements.md", "requirements.html")
STALE_HINT = "run python -m conformance catalogue"


class CatalogueError(Exception):
    """The page cannot be built; the message is one line for the user."""


def server_records(baselines: Path, shown_as: str) -> list[ServerRecord]:
    """Every named server with its committed verdicts, in the server table's order.
    ``shown_as`` is how the baselines directory is named on the page (never absolute)."""
    records = []
    for name in BUILTIN:
        path = baselines / f"{name}.json"
        if not path.is_file():
            records.append(ServerRecord(name))
            continue
        try:
            baseline = read_baseline(path)
        except BaselineError as exc:
            raise CatalogueError(str(exc)) from None
        if baseline.server != name:
            raise CatalogueError(f"{path}: the baseline is for server {baseline.server!r}, "
                                 f"not {name!r}")
        records.append(ServerRecord(name, baseline.server_version, dict(baseline.cases),
                                    f"{shown_as}/{name}.json"))
    return records


def render_pages(baselines: Path, shown_as: str = "baselines",
                 timeout: float | None = None) -> dict[str, str]:
    """File name → content of both pages."""
    servers = server_records(baselines, shown_as)  # a bad baseline fails before collecting
    try:
        cases = collect_cases() if timeout is None else collect_cases(timeout)
    except CaseIndexError as exc:
        raise CatalogueError(str(exc)) from None
    requirements = list(CATALOGUE.values())
    return {
        "requirements.md": render_markdown(requirements, cases, servers),
        "requirements.html": render_html(requirements, cases, servers),
    }


def stale_pages(pages: dict[str, str], out_dir: Path) -> list[str]:
    """The pages whose file in ``out_dir`` is missing or differs from ``pages``."""
    stale = []
    for name, content in pages.items():
        path = out_dir / name
        try:
            current = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            current = None
        if current != content:
            stale.append(name)
    return stale


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m conformance catalogue",
        description="Write the requirement catalogue page (requirements.md and "
                    "requirements.html): every requirement with its level, reference, "
                    "summary, quote, the cases judging it, and the named servers' "
                    "verdicts from their committed baselines.")
    parser.add_argument("--out-dir", default="docs", metavar="DIR",
                        help="where the two pages go (default: docs)")
    parser.add_argument("--baselines", default="baselines", metavar="DIR",
                        help="where the named servers' baselines are (default: baselines)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if the pages in --out-dir are stale")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    out_dir = Path(args.out_dir)
    shown_as = Path(args.baselines).as_posix().rstrip("/") or "."
    if Path(shown_as).is_absolute():
        shown_as = Path(shown_as).name  # the page is committed: no absolute paths
    try:
        pages = render_pages(Path(args.baselines), shown_as)
    except CatalogueError as exc:
        print(f"python -m conformance catalogue: {exc}", file=sys.stderr)
        return 2
    if args.check:
        stale = stale_pages(pages, out_dir)
        if stale:
            print(f"{(out_dir / stale[0]).as_posix()} is stale: {STALE_HINT}", file=sys.stderr)
            return 1
        return 0
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, content in pages.items():
            (out_dir / name).write_text(content, encoding="utf-8")
    except OSError as exc:
        print(f"python -m conformance catalogue: cannot write {out_dir}: {exc.strerror}",
              file=sys.stderr)
        return 2
    print(f"wrote {', '.join((out_dir / n).as_posix() for n in pages)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
