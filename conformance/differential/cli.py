"""``python -m conformance differential``: differential testing of several servers.

Starts every server with the probe app (one process each, restarted if it dies), sends
each generated case to all of them at once, folds disagreements into clusters, shrinks
the clusters' examples, and writes ``differential.json``, ``.md`` and ``.html`` to the
report directory. Generation stops at ``--count`` cases or when 65 % of
``--time-budget`` is spent; shrinking gets the rest, so the report is written within the
budget. ``--baseline`` makes the exit status a CI gate: 1 only when a cluster id not in
the baseline appears.

Exit status: 0 done (no new cluster, when gated), 1 new clusters against the baseline,
2 bad usage (unknown or uninstalled server, bad template, bad argument, unreadable
baseline, a server that does not start).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from itertools import zip_longest
from pathlib import Path
from typing import IO, NoReturn

from conformance.differential import ws
from conformance.differential.cluster import CLASS_ORDER, Cluster, Clusters
from conformance.differential.generate import Case, all_mutation_names, generate
from conformance.differential.report import (
    BaselineError,
    Result,
    ServerRun,
    read_baseline,
    write_baseline,
    write_reports,
)
from conformance.differential.rfc import ruling
from conformance.differential.run import READ_TIMEOUT, Interpretation, Runner, Target
from conformance.differential.shrink import MAX_RUNS, shrink
from conformance.launcher import ServerStartError
from conformance.servers import BUILTIN, ServerConfigError, ServerSpec, parse_template, resolve

PROG = "python -m conformance differential"
DEFAULT_SERVERS = "reference,uvicorn,hypercorn"
GENERATION_SHARE = 0.65
"""Share of the time budget for running cases; the rest is for shrinking."""


class UsageError(Exception):
    """Bad input to the command: one line for the user, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = _Parser(
        prog=PROG,
        description="Send the same mutated HTTP/1.1 requests (and WebSocket frames) to "
                    "several ASGI servers serving the probe app, and report where their "
                    "interpretations differ: REPORT_DIR/differential.{json,md,html}.")
    parser.add_argument("--servers", default=DEFAULT_SERVERS, metavar="LIST",
                        help=f"comma-separated built-in server names (default: "
                             f"{DEFAULT_SERVERS}; known: {', '.join(BUILTIN)})")
    parser.add_argument("--server-cmd", action="append", default=[], metavar="NAME=TEMPLATE",
                        help="add a server by command template with {app}, {host} and "
                             "{port}, as pytest's --server-cmd (repeatable)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    parser.add_argument("--count", type=int, default=None, metavar="N",
                        help="cases to run (default: as many as the time budget allows)")
    parser.add_argument("--time-budget", type=float, default=300.0, metavar="SECONDS",
                        help="bound on the whole run, shrinking included (default 300)")
    parser.add_argument("--protocol", choices=("http", "ws", "both"), default="http",
                        help="HTTP/1.1 requests, WebSocket frames, or both (default http)")
    parser.add_argument("--only", default="", metavar="LIST",
                        help="comma-separated mutation families or names to use (e.g. "
                             "framing,te,cl/plus; WebSocket ones start with ws-); "
                             "default: all (see --list-mutations)")
    parser.add_argument("--list-mutations", action="store_true",
                        help="print every mutation name and the RFC section that decides "
                             "it, then exit")
    parser.add_argument("--report-dir", type=Path, default=Path("reports"), metavar="DIR",
                        help="where the reports go (default: reports)")
    parser.add_argument("--baseline", type=Path, metavar="FILE",
                        help="known cluster ids: exit 1 only if a cluster not listed appears")
    parser.add_argument("--write-baseline", type=Path, metavar="FILE",
                        help="write this run's cluster ids as a baseline file")
    parser.add_argument("--shrink-runs", type=int, default=MAX_RUNS, metavar="N",
                        help=f"re-runs allowed to shrink one cluster (default {MAX_RUNS}; "
                             "0 = no shrinking)")
    parser.add_argument("--read-timeout", type=float, default=READ_TIMEOUT,
                        metavar="SECONDS",
                        help=f"bound on waiting for a server's answer to one case "
                             f"(default {READ_TIMEOUT:g})")
    args = parser.parse_args(argv)
    if args.count is not None and args.count < 1:
        raise UsageError("--count must be at least 1")
    if args.time_budget <= 0 or args.read_timeout <= 0:
        raise UsageError("--time-budget and --read-timeout must be positive")
    if args.shrink_runs < 0:
        raise UsageError("--shrink-runs must not be negative")
    args.only = [item.strip() for item in args.only.split(",") if item.strip()]
    known = mutation_names()
    families = {name.split("/", 1)[0] for name in known}
    unknown = [o for o in args.only if o not in known and o not in families]
    if unknown:
        raise UsageError(f"--only: unknown mutation or family {', '.join(unknown)} "
                         "(--list-mutations lists them)")
    return args


def mutation_names() -> list[str]:
    """Every mutation, HTTP then WebSocket (``ws-`` prefixed, as in the reports)."""
    return all_mutation_names() + [f"ws-{name}" for name in sorted(ws.MUTATIONS)]


def server_specs(servers: str, commands: Sequence[str]) -> list[ServerSpec]:
    """The servers asked for, checked (known, installed, valid templates, names once)."""
    specs: list[ServerSpec] = []
    for name in (n.strip() for n in servers.split(",")):
        if name:
            specs.append(resolve(name, None, None))
    for entry in commands:
        name, sep, template = entry.partition("=")
        if not sep or not name.strip() or not template.strip():
            raise UsageError(f"--server-cmd needs NAME=TEMPLATE, got {entry!r}")
        specs.append(parse_template(template, name.strip()))
    names = [s.name for s in specs]
    if len(specs) < 2:
        raise UsageError("give at least two servers to compare (--servers, --server-cmd)")
    if len(set(names)) != len(names):
        raise UsageError(f"each server name once, got {', '.join(names)}")
    return specs


def cases(protocol: str, seed: int, count: int | None,
          only: Sequence[str] | None = None) -> Iterator[Case]:
    """HTTP and WebSocket cases, interleaved for ``both`` (indices stay unique)."""
    if protocol == "http":
        yield from generate(seed, count, only)
        return
    if protocol == "ws":
        yield from ws.generate(seed, count, only)
        return
    half = None if count is None else count - count // 2
    rest = None if count is None else count // 2
    for index, pair in enumerate(zip_longest(generate(seed, half, only),
                                             ws.generate(seed, rest, only))):
        for offset, case in enumerate(pair):
            if case is not None:
                case.index = 2 * index + offset
                yield case


class Progress:
    """A line on stderr every few seconds: cases run, clusters by class."""

    def __init__(self, stream: IO[str], every: float = 5.0) -> None:
        self.stream = stream
        self.every = every
        self.last = 0.0

    def note(self, text: str) -> None:
        self.stream.write(f"differential: {text}\n")
        self.stream.flush()

    def tick(self, started: float, done: int, clusters: Clusters, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < self.every:
            return
        self.last = now
        counts = ", ".join(f"{kind} {n}" for kind in CLASS_ORDER
                           if (n := sum(c.kind == kind for c in clusters.by_id.values())))
        self.note(f"{done} cases in {now - started:.0f} s, {len(clusters.by_id)} clusters"
                  + (f" ({counts})" if counts else ""))


def run(args: argparse.Namespace, specs: Sequence[ServerSpec], progress: Progress) -> Result:
    started = time.monotonic()
    deadline = started + args.time_budget
    generation_end = started + args.time_budget * GENERATION_SHARE
    workdir = Path(tempfile.mkdtemp(prefix="asgi-differential-"))
    targets = [Target(spec, i, workdir) for i, spec in enumerate(specs)]
    runner: Runner | None = None
    clusters = Clusters()
    result = Result(seed=args.seed, protocol=args.protocol, count=args.count,
                    budget=args.time_budget, clusters=[],
                    servers=[ServerRun(t.name, t.version, t.spec.display_command())
                             for t in targets])
    try:
        for target in targets:
            progress.note(f"starting {target.name} {target.version}")
            try:
                target.start()
            except ServerStartError as exc:
                lines = [line for line in str(exc).splitlines() if line.strip()]
                said = f" (its last words: {lines[-1].strip()})" if len(lines) > 3 else ""
                raise UsageError(lines[0] + said) from None
        runner = Runner(targets, read_timeout=args.read_timeout)
        done = 0
        result.stopped = "count"
        try:
            for case in cases(args.protocol, args.seed, args.count, args.only):
                if time.monotonic() >= generation_end:
                    result.stopped = "budget"
                    break
                clusters.add(case, runner.run(case))
                done += 1
                progress.tick(started, done, clusters)
        except KeyboardInterrupt:
            result.stopped = "interrupted"
        result.cases_run, result.agreed = done, clusters.agreed
        progress.tick(started, done, clusters, force=True)
        ranked = clusters.ranked()
        if result.stopped != "interrupted" and args.shrink_runs:
            try:
                _shrink_all(ranked, runner, deadline, args.shrink_runs, progress)
            except KeyboardInterrupt:
                result.stopped = "interrupted"
        result.clusters = clusters.ranked()
    finally:
        if runner is not None:
            runner.close()
        for target in targets:
            target.stop()
        for server, target in zip(result.servers, targets, strict=True):
            server.crashes = target.crashes
        result.duration = time.monotonic() - started
    return result


class _OutOfTime(Exception):
    pass


def _shrink_all(ranked: Sequence[Cluster], runner: Runner, deadline: float, max_runs: int,
                progress: Progress) -> None:
    """Shrink the clusters, most interesting first, until the budget's end."""
    def bounded(case: Case) -> dict[str, Interpretation]:
        if time.monotonic() >= deadline:
            raise _OutOfTime
        return runner.run(case)

    for index, cluster in enumerate(ranked):
        if time.monotonic() >= deadline:
            progress.note(f"time budget spent: {len(ranked) - index} cluster(s) not shrunk")
            return
        with contextlib.suppress(_OutOfTime):
            shrink(cluster, bounded, max_runs)
        if index % 5 == 4:
            progress.note(f"shrunk {index + 1} of {len(ranked)} clusters")


def new_clusters(clusters: Sequence[Cluster], known: set[str]) -> list[Cluster]:
    """The clusters a baseline does not list: what makes a gated run fail."""
    return [c for c in clusters if c.id not in known]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Ctrl-C or SIGTERM during the run stops it early and still writes the report
    (also when the shell started the command in the background with SIGINT ignored)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _interrupt)
    progress = Progress(sys.stderr)
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        if args.list_mutations:
            for name in mutation_names():
                found = ruling(name)
                print(f"{name:42} {found.reference if found else ''}")
            return 0
        specs = server_specs(args.servers, args.server_cmd)
        known = read_baseline(args.baseline) if args.baseline else None
        result = run(args, specs, progress)
    except (UsageError, ServerConfigError, BaselineError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted while starting the servers; no report", file=sys.stderr)
        return 130
    paths = write_reports(result, args.report_dir)
    if args.write_baseline:
        write_baseline(result, args.write_baseline)
        paths["baseline"] = args.write_baseline
    for cluster in result.clusters:
        print(f"{cluster.kind:9} {cluster.id} {cluster.count:4d} case(s)  "
              f"{' vs '.join('+'.join(g) for g in cluster.groups)}  "
              f"[{', '.join(cluster.families)}]")
    print(f"{result.cases_run} cases, {len(result.clusters)} clusters, "
          f"{result.duration:.0f} s (stopped by {result.stopped})")
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    if known is None:
        return 0
    new = new_clusters(result.clusters, known)
    for cluster in new:
        print(f"new cluster not in the baseline: {cluster.kind} {cluster.id}", file=sys.stderr)
    return 1 if new else 0
