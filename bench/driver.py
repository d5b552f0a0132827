"""The driver the benchmarks share: command line, interleaved rounds, summary, tables, JSON.

``bench.http_bench`` (wrk as the load), ``bench.h2_bench`` (h2load) and ``bench.ws_bench``
(its own WebSocket client) answer the same question the same way, so everything but the
load lives here once:

* the command line all accept (rounds, duration, scenarios, servers, ratio baselines, JSON
  in and out, pinning, the lock), each benchmark adding its own options;
* the rounds: for every round, scenario and server (in that nesting, so servers alternate
  within a round) a fresh server is measured; a server that fails is reported in one line
  and the others still run; Ctrl-C or SIGTERM stops the running processes and prints the
  summary of the runs so far;
* the versions of what is measured (the servers' distributions, the reference server's
  commit), printed before the rounds and recorded;
* the summary per scenario and server (medians over the rounds) and its Markdown tables:
  one row per server, then ``server / baseline`` ratios (the baseline is the last server
  listed, plus the benchmark's other peers present, or those of ``--baseline``), then the
  warnings;
* ``--json`` (every measurement and the summary) and ``--from-json`` (re-print the tables).

A benchmark is a subclass of :class:`Bench`: it names its figures (the rate it measures,
what its load costs), loads one running server in one scenario, and says what in its
figures deserves a warning.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from bench.machine import MeasurementFailed, PinnedServer, ServerFailed, acquire_machine_lock

WARMUP_SECONDS = 2


class Result(Protocol):
    """What the driver reads of every benchmark's result of one measurement."""

    p99_ms: float
    server_cpu: float
    steal: float


R = TypeVar("R", bound=Result)

_STATISTICS: dict[str, Callable[[list[float]], float]] = {
    "median": statistics.median, "min": min, "max": max}


@dataclass
class Measurement(Generic[R]):
    round: int
    scenario: str
    server: str
    result: R | None = None
    error: str | None = None


@dataclass
class Summary:
    """One scenario and server over the rounds.

    ``figures`` holds, in the order of the tables, the median, min and max of the
    benchmark's rate (``rps_median``, ...), the medians of p99, of what the load cost, of
    the server's CPU share, steal and foreign work, and of the rate per server CPU-second;
    ``--json`` records them as fields of the summary, between ``runs`` and ``errors``.
    """

    scenario: str
    server: str
    runs: int
    figures: dict[str, float]
    errors: int = 0
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "server": self.server, "runs": self.runs,
                **self.figures, "errors": self.errors, "warnings": self.warnings}


def per_cpu(rate: float, server_cpu: float) -> float:
    """A rate per second of server CPU time: far less sensitive to steal than the rate."""
    return rate / server_cpu if server_cpu > 0 else float("nan")


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of an ascending sequence (``fraction`` 0.99 for p99)."""
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def labels_for(names: Sequence[str]) -> list[str]:
    """Distinct labels for possibly repeated server names: uvicorn, uvicorn#2, ..."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out


def noisy_machine(s: Summary, client_foreign: float | None = None) -> list[str]:
    """The warning that the machine, not the servers, may have decided these figures: the
    hypervisor stole time, or other work ran on the server's (or the client's) core."""
    steal, foreign = s.figures["steal_median"], s.figures["foreign_median"]
    text = (f"noisy machine: median steal {steal:.0%}, other work on the server "
            f"core {foreign:.0%}")
    noisy = steal > 0.05 or foreign > 0.10
    if client_foreign is not None:
        text += f", on the client core {client_foreign:.0%}"
        noisy = noisy or client_foreign > 0.15
    return [text] if noisy else []


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


class Bench(ABC, Generic[R]):
    """One benchmark: what it measures per server, and how its figures are shown.

    The class attributes name the benchmark's command line, tools and figures; the
    abstract methods are what differs between an HTTP and a WebSocket measurement.
    """

    # --- the command line ---------------------------------------------------------------

    name: ClassVar[str]
    """The module in ``bench`` (``python3 -m bench.NAME``), also naming temporary dirs."""
    description: ClassVar[str]
    scenarios: ClassVar[Mapping[str, object]]
    servers: ClassVar[Mapping[str, Sequence[str]]]
    """Server name -> command template (``{port}`` is replaced; run from the repo root)."""
    default_servers: ClassVar[str] = "reference,uvicorn"
    peers: ClassVar[tuple[str, ...]] = ()
    """Servers that are ratio baselines too whenever they are listed (besides the last)."""
    server_packages: ClassVar[Mapping[str, Sequence[str]]] = {}
    """Server name -> distributions whose versions are printed and recorded with the run."""
    default_scenarios: ClassVar[str]
    duration_help: ClassVar[str]
    load_cpu: ClassVar[tuple[str, str]]
    """The option pinning the load, and its help."""
    wait_help: ClassVar[str]
    json_options: ClassVar[tuple[str, ...]]
    """The options ``--json`` records, in order."""

    # --- the machine --------------------------------------------------------------------

    tools: ClassVar[tuple[str, ...]]
    install: ClassVar[str]
    """The Debian packages that bring ``tools``, for the error message."""
    load: ClassVar[str]
    """What shares the server's core on a one-CPU machine (``wrk``, ``client``)."""
    lock_note: ClassVar[str] = ""
    server_type: ClassVar[type[PinnedServer]]

    # --- the figures --------------------------------------------------------------------

    result_type: ClassVar[type[Any]]
    """The result dataclass, also to read measurements back from ``--json`` files."""
    rate: ClassVar[str]
    """The result's rate attribute (``rps``, ``mps``); the summary has its median, min,
    max and ``<rate>_per_cpu`` median."""
    unit: ClassVar[str]
    """What the rate counts (``req``, ``msg``), in the tables' headings."""
    load_columns: ClassVar[tuple[tuple[str, str], ...]]
    """(heading, result attribute) of what the load cost, shown by their medians."""
    maxima: ClassVar[tuple[str, ...]] = ()
    """Result attributes whose maximum the summary keeps too (``<name>_max``)."""
    problem: ClassVar[tuple[str, str]]
    """(word, result attribute) of the count of bad answers, shown when not zero."""
    progress_widths: ClassVar[tuple[int, int, int, int]]
    """Widths of scenario, server, rate and p99 in the progress lines."""

    def __init__(self, args: argparse.Namespace, cwd: Path) -> None:
        self.args = args
        self.cwd = cwd
        self.labels = labels_for(args.server_list)
        self.implementations: dict[str, str] = {}

    # --- what each benchmark provides ---------------------------------------------------

    @classmethod
    def add_options(cls, p: argparse.ArgumentParser) -> None:
        """The benchmark's own options (after --servers)."""

    @classmethod
    def check_options(cls, p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
        """Refuse values of the benchmark's own options (``p.error``)."""

    @abstractmethod
    def plan(self) -> str:
        """How the load runs, for the line printed before the rounds."""

    def prepare(self, workdir: Path) -> None:
        """Set up what every measurement of the run uses (before the first round)."""

    @abstractmethod
    def load_server(self, server: PinnedServer, scenario: str, workdir: Path) -> R:
        """Warm up and measure a running server; raise :class:`MeasurementFailed` when
        there is no figure."""

    @abstractmethod
    def load_figures(self, result: R) -> str:
        """What the load cost in one measurement, for its progress line."""

    def json_extra(self) -> dict[str, Any]:
        """Anything else ``--json`` records, after the options."""
        return {"implementations": self.implementations} if self.implementations else {}

    def describe_server(self, name: str) -> list[str]:
        """What a server's figures are of: the versions of its ``server_packages``, and the
        commit of the reference server."""
        parts = []
        for dist in self.server_packages.get(name, []):
            try:
                parts.append(f"{dist} {importlib.metadata.version(dist)}")
            except importlib.metadata.PackageNotFoundError:
                parts.append(f"{dist} missing")
        if name.startswith("reference"):
            try:
                rev = subprocess.run(
                    ["git", "describe", "--always", "--dirty"],
                    capture_output=True, text=True, timeout=10, check=False,
                ).stdout.strip()  # fmt: skip
            except (OSError, subprocess.TimeoutExpired):
                rev = ""
            parts.insert(0, f"reference_server at {rev or '?'}")
        return parts

    def describe(self) -> dict[str, str]:
        """One line per server listed (see :meth:`describe_server`); none without
        ``server_packages``."""
        if not self.server_packages:
            return {}
        return {name: ", ".join(self.describe_server(name))
                for name in dict.fromkeys(self.args.server_list)}

    @classmethod
    def failed_summary(cls, scenario: str, label: str, errors: int) -> Summary:
        """The summary of a scenario and server without a single figure."""
        return Summary(scenario, label, 0, dict.fromkeys(cls.figure_names(), float("nan")),
                       errors)

    @classmethod
    @abstractmethod
    def warnings(cls, s: Summary, results: list[R], measured: int) -> list[str]:
        """What in the figures of ``s`` (``results`` of ``measured`` attempts) a reader
        must know before believing them."""

    # --- the command line ---------------------------------------------------------------

    @classmethod
    def parse_args(cls, argv: Sequence[str] | None) -> argparse.Namespace:
        p = argparse.ArgumentParser(prog=f"python3 -m bench.{cls.name}",
                                    description=cls.description)
        p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default: 5)")
        p.add_argument("--duration", type=int, default=10, help=cls.duration_help)
        p.add_argument("--scenarios", default=cls.default_scenarios,
                       help=f"comma-separated, from: {', '.join(cls.scenarios)}")
        peers = "".join(f", and {name} whenever listed" for name in cls.peers)
        p.add_argument("--servers", default=cls.default_servers,
                       help=f"comma-separated (default: {cls.default_servers}); the last is "
                       f"the ratio baseline{peers}; from: {', '.join(cls.servers)}")
        p.add_argument("--baseline", metavar="LABELS",
                       help="comma-separated servers (labels, e.g. uvicorn#2) every other server "
                       "is compared with, one ratio row each (default: the last server"
                       f"{peers})")
        cls.add_options(p)
        p.add_argument("--json", type=Path,
                       help="also write every measurement and the summary here")
        p.add_argument("--from-json", type=Path, metavar="FILE",
                       help="measure nothing: print the tables of a file written by --json")
        p.add_argument("--server-cpu", default="0",
                       help="taskset CPU list for servers (default: 0)")
        p.add_argument(cls.load_cpu[0], default="1", help=cls.load_cpu[1])
        p.add_argument("--wait-lock", type=float, default=0.0, metavar="SECONDS",
                       help=cls.wait_help)
        args = p.parse_args(argv)
        args.scenario_list = [s.strip() for s in args.scenarios.split(",") if s.strip()]
        args.server_list = [s.strip() for s in args.servers.split(",") if s.strip()]
        for s in args.scenario_list:
            if s not in cls.scenarios:
                p.error(f"unknown scenario {s!r}; known: {', '.join(cls.scenarios)}")
        for s in args.server_list:
            if s not in cls.servers:
                p.error(f"unknown server {s!r}; known: {', '.join(cls.servers)}")
        if args.rounds < 1 or args.duration < 1:
            p.error("--rounds and --duration must be at least 1")
        labels = labels_for(args.server_list)
        if not labels:
            p.error("--servers names no server")
        if args.baseline is None:
            args.baseline_list = cls.baselines_for(labels)
        else:
            args.baseline_list = [s.strip() for s in args.baseline.split(",") if s.strip()]
            for b in args.baseline_list:
                if b not in labels:
                    p.error(f"--baseline {b!r} is not a label of --servers ({', '.join(labels)})")
        cls.check_options(p, args)
        return args

    @classmethod
    def baselines_for(cls, labels: Sequence[str]) -> list[str]:
        """The default ratio baselines: the last server, then the ``peers`` listed."""
        return list(dict.fromkeys([labels[-1], *(p for p in cls.peers if p in labels)]))

    # --- summaries and tables -----------------------------------------------------------

    @classmethod
    def figure_names(cls) -> list[str]:
        """The names of a summary's figures, in the order of the tables."""
        rate = cls.rate
        names = [f"{rate}_median", f"{rate}_min", f"{rate}_max", "p99_ms_median"]
        for _, attr in cls.load_columns:
            names += [f"{attr}_median", *([f"{attr}_max"] if attr in cls.maxima else [])]
        return [*names, "server_cpu_median", "steal_median", "foreign_median",
                f"{rate}_per_cpu_median"]

    @classmethod
    def summarize(cls, measurements: list[Measurement[R]], scenarios: list[str],
                  labels: list[str]) -> list[Summary]:
        summaries = []
        for scen in scenarios:
            for label in labels:
                group = [m for m in measurements if m.scenario == scen and m.server == label]
                if group:
                    summaries.append(cls.summary(scen, label, group))
        return summaries

    @classmethod
    def summary(cls, scenario: str, label: str, group: list[Measurement[R]]) -> Summary:
        """Medians over the rounds (and the rate's range), with the warnings they need."""
        results = [m.result for m in group if m.result is not None]
        errors = sum(1 for m in group if m.error is not None)
        if not results:
            return cls.failed_summary(scenario, label, errors)
        figures = {}
        for name in cls.figure_names():
            attr, _, statistic = name.rpartition("_")
            figures[name] = _STATISTICS[statistic]([getattr(r, attr) for r in results])
        s = Summary(scenario, label, len(results), figures, errors)
        s.warnings.extend(cls.warnings(s, results, len(group)))
        return s

    @classmethod
    def format_tables(cls, summaries: list[Summary], labels: list[str],
                      baselines: Sequence[str] | None = None) -> str:
        u = cls.unit
        headings = [f"{u}/s (median)", f"{u}/s min–max", "p99 ms (median)",
                    f"{u} per server CPU-s", *(h for h, _ in cls.load_columns), "server CPU",
                    "steal"]
        rows = ["| scenario | server | runs | " + " | ".join(headings) + " |",
                "|---|---|---:|" + "---:|" * len(headings)]
        for s in summaries:
            if s.runs == 0:
                rows.append(f"| {s.scenario} | {s.server} | 0 | failed |"
                            + " |" * (len(headings) - 1))
                continue
            rows.append(f"| {s.scenario} | {s.server} | {s.runs} | "
                        + " | ".join(cls._cells(s)) + " |")
        out = "\n".join(rows)
        if len(labels) >= 2:
            out += "\n" + "\n".join(cls._ratio_rows(summaries, labels,
                                                     baselines or cls.baselines_for(labels)))
        warnings = [f"! {s.scenario}/{s.server}: {w}" for s in summaries for w in s.warnings]
        if warnings:
            out += "\n\n" + "\n".join(warnings)
        return out

    @classmethod
    def _cells(cls, s: Summary) -> list[str]:
        f, rate = s.figures, cls.rate
        return [f"{f[rate + '_median']:,.0f}", f"{f[rate + '_min']:,.0f}–{f[rate + '_max']:,.0f}",
                f"{f['p99_ms_median']:.2f}", f"{f[rate + '_per_cpu_median']:,.0f}",
                *(f"{f[a + '_median']:.0%}" for _, a in cls.load_columns),
                f"{f['server_cpu_median']:.0%}", f"{f['steal_median']:.0%}"]

    @classmethod
    def _ratio_rows(cls, summaries: list[Summary], labels: list[str],
                    baselines: Sequence[str]) -> list[str]:
        """Per scenario and baseline, every other server against that baseline."""
        u = cls.unit
        rows = [
            "",
            f"| scenario | ratio | {u}/s ratio (higher is better) | p99 ratio (lower is better) "
            f"| {u} per CPU-s ratio (higher is better) | best-run {u}/s ratio |",
            "|---|---|---:|---:|---:|---:|",
        ]
        by_key = {(s.scenario, s.server): s for s in summaries if s.runs}
        for scen in dict.fromkeys(s.scenario for s in summaries):
            for base in baselines:
                b = by_key.get((scen, base))
                for label in labels:
                    if label == base:
                        continue
                    x = by_key.get((scen, label))
                    if x is None or b is None:
                        rows.append(f"| {scen} | {label}/{base} | n/a | n/a | n/a | n/a |")
                        continue
                    ratios = [f"{xv / bv:.2f}" for xv, bv in zip(cls._rates(x), cls._rates(b),
                                                                   strict=True)]
                    rows.append(f"| {scen} | {label}/{base} | " + " | ".join(ratios) + " |")
        return rows

    @classmethod
    def _rates(cls, s: Summary) -> tuple[float, float, float, float]:
        """(median rate, median p99, median rate per server CPU-second, best rate)."""
        f, rate = s.figures, cls.rate
        return (f[rate + "_median"], f["p99_ms_median"], f[rate + "_per_cpu_median"],
                f[rate + "_max"])

    @classmethod
    def report_from_json(cls, path: Path) -> int:
        """Re-print the tables of an earlier run (e.g. after the table format changed)."""
        data = json.loads(path.read_text())
        measurements = [
            Measurement(
                round=m["round"], scenario=m["scenario"], server=m["server"],
                result=cls.result_type(**m["result"]) if m["result"] else None,
                error=m["error"],
            )
            for m in data["measurements"]
        ]  # fmt: skip
        labels: list[str] = data["args"]["servers"]
        for name, text in data.get("implementations", {}).items():
            print(f"{name}: {text}")
        print(cls.format_tables(cls.summarize(measurements, data["args"]["scenarios"], labels),
                                labels, data["args"].get("baselines")))
        return 0

    # --- a run --------------------------------------------------------------------------

    @classmethod
    def main(cls, argv: Sequence[str] | None) -> int:
        args = cls.parse_args(argv)
        if args.from_json:
            return cls.report_from_json(args.from_json)
        # Servers (and clients) run in their own sessions, so a SIGTERM to this script
        # (e.g. from `timeout`) must be turned into the same orderly stop as Ctrl-C, or
        # they would outlive it.
        signal.signal(signal.SIGTERM, _terminate)
        for tool in cls.tools:
            if shutil.which(tool) is None:
                print(f"error: {tool} not found (apt-get install -y {cls.install})",
                      file=sys.stderr)
                return 2
        if (os.cpu_count() or 1) < 2:
            print(f"warning: fewer than 2 CPUs: server and {cls.load} share a core",
                  file=sys.stderr)
        cwd = Path.cwd()
        if not (cwd / "bench" / "apps.py").is_file():
            print("error: run from the repository root (bench/apps.py not found)",
                  file=sys.stderr)
            return 2
        try:
            lock = acquire_machine_lock(args.wait_lock, cls.lock_note)
        except KeyboardInterrupt:
            return 130
        if lock is None:
            return 2
        try:
            return cls(args, cwd).run()
        finally:
            lock.close()

    def run(self) -> int:
        args, labels = self.args, self.labels
        measurements: list[Measurement[R]] = []
        broken: dict[str, str] = {}  # label -> first startup failure; later rounds still retry
        interrupted = False
        self.implementations = self.describe()
        for name, text in self.implementations.items():
            print(f"{name}: {text}", file=sys.stderr)
        total = args.rounds * len(args.scenario_list) * len(labels)
        per_run = args.duration + WARMUP_SECONDS + 2
        print(
            f"{total} runs of ~{per_run}s (~{total * per_run / 60:.1f} min); server on CPU "
            f"{args.server_cpu}, {self.plan()}",
            file=sys.stderr,
        )
        with tempfile.TemporaryDirectory(prefix=f"{self.name}-") as tmp:
            workdir = Path(tmp)
            self.prepare(workdir)
            try:
                for rnd in range(1, args.rounds + 1):
                    for scen_name in args.scenario_list:
                        for name, label in zip(args.server_list, labels, strict=True):
                            measurements.append(self._measure(rnd, scen_name, name, label,
                                                              workdir, broken))
            except KeyboardInterrupt:
                interrupted = True
                print("\ninterrupted: servers stopped; summary of the runs so far",
                      file=sys.stderr)
        summaries = self.summarize(measurements, args.scenario_list, labels)
        print()
        print(self.format_tables(summaries, labels, args.baseline_list))
        if args.json:
            payload = {
                "args": {**{key: self._option(key) for key in self.json_options},
                         "baselines": args.baseline_list},
                **self.json_extra(),
                "interrupted": interrupted,
                "measurements": [asdict(m) for m in measurements],
                "summary": [s.as_json() for s in summaries],
            }
            args.json.write_text(json.dumps(payload, indent=2) + "\n")
        if interrupted:
            return 130
        return 1 if broken else 0

    def _measure(self, rnd: int, scenario: str, name: str, label: str, workdir: Path,
                 broken: dict[str, str]) -> Measurement[R]:
        """One fresh server, measured and stopped; a failure is recorded, not raised."""
        m: Measurement[R] = Measurement(rnd, scenario, label)
        try:
            server = self.server_type(name, self.servers[name], self.args.server_cpu,
                                      self.cwd, workdir)
            m.result = measure_server(server, partial(self.load_server, scenario=scenario,
                                                      workdir=workdir))
            self.progress(rnd, scenario, label, m.result)
        except (ServerFailed, MeasurementFailed) as exc:
            m.error = str(exc)
            broken.setdefault(label, m.error)
            print(f"round {rnd} {scenario} {label}: FAILED: {exc}", file=sys.stderr)
        return m

    def progress(self, rnd: int, scenario: str, label: str, r: R) -> None:
        """One measurement as it happens (stderr)."""
        ws, wl, wr, wp = self.progress_widths
        word, attr = self.problem
        count = getattr(r, attr)
        print(
            f"round {rnd} {scenario:<{ws}} {label:<{wl}} {getattr(r, self.rate):>{wr},.0f} "
            f"{self.unit}/s p99 {r.p99_ms:{wp}.2f} ms  {self.load_figures(r)}  "
            f"server CPU {r.server_cpu:4.0%}  steal {r.steal:3.0%}"
            + (f"  {word} {count}" if count else ""),
            file=sys.stderr,
        )

    def _option(self, key: str) -> Any:
        """An option as ``--json`` records it: the lists parsed, the servers labelled."""
        if key == "scenarios":
            return self.args.scenario_list
        if key == "servers":
            return self.labels
        return getattr(self.args, key)


def measure_server(server: PinnedServer, load: Callable[[PinnedServer], R]) -> R:
    """Wait for a started server, load it, and stop it whatever happens.

    A server that died during the run is a failure, not a figure.
    """
    try:
        server.wait_ready()
        result = load(server)
        if server.proc.poll() is not None:
            raise server.fail(f"died during the run (status {server.proc.returncode})")
        return result
    finally:
        server.stop()
