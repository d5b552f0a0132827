"""``python -m conformance compare``: run the suite against several servers, report side by side.

Each server runs in its own pytest process, exactly as ``pytest --server=NAME`` would
(same report files in the same directory), so a comparison is nothing more than the
runs a user could make by hand plus :mod:`conformance.report.comparison` over their JSON
reports. That keeps one source of truth: a case judged in a comparison is judged by the
same code as in a single run, and ``--reports`` can rebuild the comparison from runs made
earlier (or elsewhere) without running anything.

A server that is not installed or whose run breaks does not stop the others: its column
says why, and the command exits non-zero at the end so CI notices.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from conformance.report import safe_basename
from conformance.report.comparison import Column, Comparison, write_comparison
from conformance.report.json_report import read_json
from conformance.servers import BUILTIN, ServerConfigError, parse_template, resolve

DEFAULT_SERVERS = ("reference", "uvicorn", "hypercorn", "daphne", "granian", "gunicorn")
_PERCENT = re.compile(rb"\[\s*(\d+)%\]\s*$")


@dataclass
class Run:
    """One server's pytest run: its command, outcome and where its output went."""

    name: str
    argv: list[str]
    log: Path
    report: Path
    returncode: int | None = None
    seconds: float = 0.0
    percent: int = 0
    timed_out: bool = False


def pytest_argv(name: str, template: str | None, report_dir: Path, workers: int,
                extra: Sequence[str]) -> list[str]:
    """The pytest command line for one server: the same a user would type."""
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
            "--fail-on=error", f"--report-dir={report_dir}"]
    if template is None:
        argv.append(f"--server={name}")
    else:
        argv += ["--server-cmd", template, "--server-name", name]
    if workers > 1:
        argv += ["-n", str(workers)]
    return argv + list(extra)


def execute(run: Run, timeout: float, on_progress: Callable[[Run], None]) -> None:
    """Run one server's suite, following pytest's ``[ 42%]`` markers for progress.

    The output goes to ``run.log`` as it comes, so a broken run can be read afterwards.
    A run still going after ``timeout`` seconds is killed (its process group, so the
    server it started goes too) and marked timed out.
    """
    started = time.monotonic()
    with run.log.open("wb") as log:
        process = subprocess.Popen(run.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        timer = threading.Timer(timeout, _kill_group, (process, run))
        timer.start()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                log.write(line)
                match = _PERCENT.search(line)
                if match:
                    run.percent = int(match.group(1))
                    on_progress(run)
            run.returncode = process.wait()
        finally:
            timer.cancel()
    run.seconds = time.monotonic() - started


def _kill_group(process: subprocess.Popen[bytes], run: Run) -> None:
    run.timed_out = True
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


class Progress:
    """One status line on a terminal, plain lines every 25 % otherwise."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.lock = threading.Lock()
        self.running: dict[str, Run] = {}
        self.shown: dict[str, int] = {}

    def start(self, run: Run) -> None:
        with self.lock:
            self.running[run.name] = run
            self.note(f"{run.name}: started")

    def update(self, run: Run) -> None:
        with self.lock:
            if self.tty:
                status = "  ".join(f"{r.name} {r.percent:3d}%" for r in self.running.values())
                self.stream.write(f"\r{status}\x1b[K")
                self.stream.flush()
            elif run.percent >= self.shown.get(run.name, 0) + 25:
                self.shown[run.name] = run.percent - run.percent % 25
                self.note(f"{run.name}: {run.percent}%")

    def finish(self, run: Run, outcome: str) -> None:
        with self.lock:
            self.running.pop(run.name, None)
            self.note(f"{run.name}: {outcome} in {run.seconds:.0f} s")

    def note(self, text: str) -> None:
        prefix = "\r\x1b[K" if self.tty else ""
        self.stream.write(f"{prefix}{text}\n")
        self.stream.flush()


def run_all(servers: Sequence[tuple[str, str | None]], report_dir: Path, *, jobs: int,
            workers: int, timeout: float, extra: Sequence[str],
            progress: Progress) -> list[Column]:
    """Run every server (``jobs`` at a time) and return the columns in the given order."""
    columns = {name: Column(name) for name, _ in servers}
    runs: list[Run] = []
    for name, template in servers:
        try:
            if template is None:
                resolve(name, None, None)
            else:
                parse_template(template, name)
        except ServerConfigError as exc:
            columns[name].problem = f"not run: {exc}"
            progress.note(f"{name}: not run: {exc}")
            continue
        base = safe_basename(name)
        runs.append(Run(name, pytest_argv(name, template, report_dir, workers, extra),
                        log=report_dir / f"{base}.log", report=report_dir / f"{base}.json"))
    report_dir.mkdir(parents=True, exist_ok=True)
    pending = list(runs)
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if not pending:
                    return
                run = pending.pop(0)
            _run_one(run, columns[run.name], timeout, progress)

    threads = [threading.Thread(target=worker) for _ in range(max(1, min(jobs, len(runs))))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [columns[name] for name, _ in servers]


def _run_one(run: Run, column: Column, timeout: float, progress: Progress) -> None:
    if run.report.exists():
        run.report.unlink()  # never mistake an old report for this run's
    progress.start(run)
    execute(run, timeout, progress.update)
    if run.timed_out:
        column.problem = f"timed out after {timeout:g} s (log: {run.log})"
    elif run.returncode not in (0, 1):
        column.problem = (f"pytest exited with status {run.returncode}: harness errors or "
                          f"a broken run (log: {run.log})")
    try:
        column.report = read_json(run.report)
    except ValueError as exc:
        column.problem = column.problem or f"no usable report: {exc}"
    if column.report is not None and column.report.session_errors and not column.problem:
        column.problem = "session errors: " + "; ".join(column.report.session_errors)[:300]
    progress.finish(run, column.problem or "complete")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m conformance compare",
        description="Run the conformance suite against several ASGI servers and write one "
                    "comparison: REPORT_DIR/comparison.html and REPORT_DIR/summary.md, beside "
                    "each server's own reports.",
    )
    parser.add_argument(
        "--servers", default=",".join(DEFAULT_SERVERS), metavar="LIST",
        help=f"comma-separated built-in server names (default: {','.join(DEFAULT_SERVERS)}; "
             f"known: {', '.join(BUILTIN)})")
    parser.add_argument(
        "--server-cmd", action="append", default=[], metavar="NAME=TEMPLATE",
        help="add a server by command template, as pytest's --server-cmd (repeatable)")
    parser.add_argument("--report-dir", default="reports", type=Path, metavar="DIR",
                        help="where every report goes (default: reports)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="servers run at the same time (default 1)")
    parser.add_argument("--workers", type=int, default=2, metavar="N",
                        help="pytest-xdist workers per server run (default 2; 1 = no xdist)")
    parser.add_argument("--timeout", type=float, default=600.0, metavar="SECONDS",
                        help="bound on one server's run (default 600)")
    parser.add_argument(
        "--reports", nargs="+", type=Path, metavar="JSON",
        help="do not run anything: compare these JSON reports written by earlier runs")
    parser.add_argument(
        "--screenshot", action="store_true",
        help="also open comparison.html in headless Chromium, check it renders without "
             "console errors and save REPORT_DIR/comparison.png")
    parser.add_argument(
        "--pytest-args", default="", metavar="ARGS",
        help="extra pytest arguments for every run, as one string (e.g. \"-k wire\")")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.workers < 1 or args.timeout <= 0:
        parser.error("--jobs and --workers must be at least 1 and --timeout positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.reports:
        columns = _columns_from_reports(args.reports)
    else:
        servers: list[tuple[str, str | None]] = [
            (name.strip(), None) for name in args.servers.split(",") if name.strip()]
        for entry in args.server_cmd:
            name, sep, template = entry.partition("=")
            if not sep or not name.strip() or not template.strip():
                print(f"compare: --server-cmd needs NAME=TEMPLATE, got {entry!r}",
                      file=sys.stderr)
                return 2
            servers.append((name.strip(), template))
        names = [name for name, _ in servers]
        if not servers or len(set(names)) != len(names):
            print("compare: give at least one server, each name once", file=sys.stderr)
            return 2
        columns = run_all(servers, args.report_dir, jobs=args.jobs, workers=args.workers,
                          timeout=args.timeout, extra=shlex.split(args.pytest_args),
                          progress=Progress(sys.stderr))
    if not any(col.report for col in columns):
        print("compare: no server produced a report; nothing to compare", file=sys.stderr)
        return 1
    # The command that regenerates these results (also when built from --reports), so
    # the committed summary reads the same however it was produced.
    command = "python -m conformance compare --servers " + ",".join(c.name for c in columns)
    paths = write_comparison(Comparison(columns, command=command), args.report_dir)
    for col in columns:
        totals = col.report.totals() if col.report else {}
        counts = ", ".join(f"{n} {v}" for v, n in totals.items() if n)
        print(f"{col.name} {col.version}: {counts or col.problem}"
              + (f" ({col.problem})" if col.report and col.problem else ""))
    status = 1 if any(col.problem for col in columns) else 0
    if args.screenshot:
        paths["screenshot"] = args.report_dir / "comparison.png"
        if not _screenshot(paths["html"], paths["screenshot"]):
            status = 1
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    return status


def _screenshot(html: Path, png: Path) -> bool:
    from conformance.report.browser import BrowserError, check_page

    try:
        page = check_page(html, "document.querySelector('#matrix') !== null", screenshot=png,
                          max_height=2200)
    except (BrowserError, OSError, TimeoutError) as exc:
        print(f"compare: --screenshot: {exc}", file=sys.stderr)
        return False
    for error in page.console_errors:
        print(f"compare: comparison.html in Chromium: {error}", file=sys.stderr)
    if page.query is not True:
        print("compare: comparison.html in Chromium: no matrix rendered", file=sys.stderr)
    return page.query is True and not page.console_errors


def _columns_from_reports(paths: Sequence[Path]) -> list[Column]:
    columns = []
    for path in paths:
        try:
            report = read_json(path)
        except ValueError as exc:
            columns.append(Column(path.stem, problem=str(exc)))
            continue
        columns.append(Column(report.server.name, report=report,
                              problem="; ".join(report.session_errors)))
    return columns
