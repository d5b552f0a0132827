"""What a benchmark needs from the machine: pinned servers, CPU accounting, one run at a time.

The drivers (``bench.http_bench``, ``bench.h2_bench``, ``bench.ws_bench``) measure a
server pinned to one core while the load runs on another, and all must know how much CPU
the server really got and how much the hypervisor stole: on a shared VM those, not the
servers, can decide a run. This module holds that machinery:

* :class:`PinnedServer`: a server process started under ``taskset`` on a free port, with
  its output in a log file, waited for (bounded) and checked before it is measured; its
  CPU time and its stopping cover its child processes (hypercorn, gunicorn and granian
  serve from workers);
* :func:`run_load`: an external load generator (``wrk``, ``h2load``) pinned to the other
  core, bounded in time, with its own CPU time and the server's over the measured window;
* CPU time of a process from ``/proc/<pid>/stat`` and per-core busy and steal time from
  ``/proc/stat``, turned into the shares of a measured window (:func:`cpu_shares`);
* the machine-wide lock that keeps two benchmarks off the same pinned cores.

A server's child processes, which its CPU time and its stopping must cover too, are
found by :mod:`conformance.proctree` (the h2 flood cases measure memory the same way).
Every wait is bounded and every process is stopped by its PID only.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, NamedTuple

from conformance.proctree import alive, descendants

STARTUP_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
HOST = "127.0.0.1"
# Two benchmarks pinned to the same cores would measure each other: one at a time per machine.
LOCK_PATH = Path(tempfile.gettempdir()) / "asgi-conformance-http-bench.lock"


class ServerFailed(Exception):
    """The server did not start, or did not answer the sanity requests correctly."""


class MeasurementFailed(Exception):
    """The load (wrk, h2load, the WebSocket clients) failed: this measurement has no figures."""


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def stop_process(proc: subprocess.Popen[Any], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM the process (by its PID only), then SIGKILL it if it has not exited in time."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)


def tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def single_cpu(spec: str) -> int | None:
    return int(spec) if spec.isdigit() else None


class PinnedServer:
    """A server started pinned to one CPU, with its output in a temporary log file.

    ``command`` is the server's argv with ``{port}`` where the port goes; it runs with
    ``cwd`` (the repository root) as working directory. Subclasses say what answer proves
    the server works (:meth:`sanity_check`): a server that answers wrongly is reported,
    not timed. CPU time and stopping cover the whole process tree: hypercorn, gunicorn and
    granian serve from child processes, so the parent's CPU time alone would be nearly zero.
    """

    def __init__(self, name: str, command: Sequence[str], cpu: str, cwd: Path,
                 logdir: Path) -> None:
        self.name = name
        self.cpu = single_cpu(cpu)
        self.port = free_port()
        self.log_path = logdir / f"{name.replace('/', '_')}-{self.port}.log"
        argv = [a.replace("{port}", str(self.port)) for a in command]
        self._log: IO[bytes] = self.log_path.open("wb")
        # A new session keeps a terminal Ctrl-C away from the server: the driver stops it.
        self.proc: subprocess.Popen[bytes] = subprocess.Popen(
            ["taskset", "-c", cpu, *argv],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def fail(self, why: str) -> ServerFailed:
        self.stop()
        detail = tail(self.log_path)
        return ServerFailed(f"{self.name}: {why}" + (f"; output: {detail}" if detail else ""))

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while True:
            code = self.proc.poll()
            if code is not None:
                raise self.fail(f"exited with status {code} during startup")
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise self.fail(f"not accepting on {HOST}:{self.port} after {timeout:.0f}s")
            time.sleep(0.05)
        self.sanity_check()

    def sanity_check(self) -> None:
        raise NotImplementedError

    def cpu_seconds(self) -> float | None:
        """utime + stime of the server and all its descendants."""
        total = proc_cpu_seconds(self.proc.pid)
        if total is None:
            return None
        for pid in descendants(self.proc.pid):
            total += proc_cpu_seconds(pid) or 0.0
        return total

    def stop(self) -> None:
        """SIGTERM/SIGKILL the server by PID, then any of its children left behind."""
        children = descendants(self.proc.pid) if self.proc.poll() is None else {}
        stop_process(self.proc)
        left = {p: st for p, st in children.items() if alive(p, st)}
        for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, 2.0)):
            if not left:
                break
            for p in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p, sig)
            deadline = time.monotonic() + wait
            while left and time.monotonic() < deadline:
                time.sleep(0.05)
                left = {p: st for p, st in left.items() if alive(p, st)}
        self._log.close()


# --------------------------------------------------------------------------- CPU accounting


def proc_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a live process from /proc/<pid>/stat, in seconds."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    # fields[0] is "state" (field 3 of stat); utime and stime are fields 14 and 15.
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_ticks(cpus: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Per-CPU (busy, steal) jiffies from /proc/stat, for the given CPUs."""
    out: dict[int, tuple[int, int]] = {}
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        name, *values = line.split()
        if not name.startswith("cpu") or name == "cpu" or int(name[3:]) not in cpus:
            continue
        v = [int(x) for x in values]
        # user nice system idle iowait irq softirq steal ...
        busy = v[0] + v[1] + v[2] + v[5] + v[6]
        out[int(name[3:])] = (busy, v[7] if len(v) > 7 else 0)
    return out


class CpuSnapshot(NamedTuple):
    """The counters at one edge of a measured window."""

    server_seconds: float | None
    ticks: dict[int, tuple[int, int]]


def cpu_snapshot(server: PinnedServer | None, cpus: Sequence[int]) -> CpuSnapshot:
    return CpuSnapshot(server.cpu_seconds() if server else None, cpu_ticks(cpus))


class CpuShares(NamedTuple):
    """Fractions of one core over a window."""

    server: float  # CPU time the server process(es) got
    steal: float  # hypervisor steal, averaged over the watched cores (VM noise)
    foreign: float  # busy time on the server core not spent by the server


def core_busy(before: CpuSnapshot, after: CpuSnapshot, cpu: int | None, wall: float) -> float:
    """Busy fraction of ``cpu`` between the snapshots (nan when it was not watched)."""
    if cpu is None or cpu not in before.ticks or cpu not in after.ticks:
        return float("nan")
    return (after.ticks[cpu][0] - before.ticks[cpu][0]) / os.sysconf("SC_CLK_TCK") / wall


def cpu_shares(before: CpuSnapshot, after: CpuSnapshot, wall: float,
               server_cpu: int | None) -> CpuShares:
    s0, s1 = before.server_seconds, after.server_seconds
    server = (s1 - s0) / wall if s0 is not None and s1 is not None else float("nan")
    steal = foreign = float("nan")
    t0, t1 = before.ticks, after.ticks
    if t0 and t0.keys() == t1.keys():
        steal = sum(t1[c][1] - t0[c][1] for c in t0) / os.sysconf("SC_CLK_TCK") / wall / len(t0)
    busy = core_busy(before, after, server_cpu, wall)
    if not math.isnan(busy):
        foreign = max(0.0, busy - server)
    return CpuShares(server, steal, foreign)


# --------------------------------------------------------------------------- the load


class LoadRun(NamedTuple):
    """What :func:`run_load` saw of one run of a load generator."""

    output: str  # stdout and stderr, interleaved
    wall: float  # seconds of the measured window
    load_cpu: float  # fraction of one core the load generator used over the window
    shares: CpuShares  # the server's share, steal and foreign work over the window


def run_load(
    argv: Sequence[str], cpu: str, timeout: float, server: PinnedServer | None = None,
    window: tuple[str, str] | None = None,
) -> LoadRun:  # fmt: skip
    """Run a load generator pinned with ``taskset -c cpu``, killed after ``timeout`` s.

    The measured window is the process's whole life, or, with ``window=(start, end)``,
    the time between the output lines containing ``start`` and ``end`` (a tool that warms
    up by itself and says when its measurement begins and ends, like h2load). The load's
    CPU time is its ``wait4()`` rusage over its life, or ``/proc/<pid>/stat`` read at the
    window's edges; ``taskset`` exec()s the tool, so the PID is the tool's. The output is
    read as it comes. A non-zero exit status, a missing window or the timeout raise
    :class:`MeasurementFailed`.
    """
    tool = Path(argv[0]).name
    watched = [c for c in (single_cpu(cpu), server.cpu if server else None) if c is not None]
    start = time.monotonic()
    before = cpu_snapshot(server, watched) if window is None else None
    after: CpuSnapshot | None = None
    t0 = t1 = start
    load0 = load1 = 0.0
    proc = subprocess.Popen(["taskset", "-c", cpu, *argv], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    output = bytearray()
    scanned = 0  # output before this offset has been looked at for the window's markers
    deadline = start + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise MeasurementFailed(f"{tool} did not finish within {timeout:.0f}s")
            if not select.select([fd], [], [], min(remaining, 1.0))[0]:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            output += chunk
            end = output.rfind(b"\n") + 1
            if window is None or end <= scanned:
                continue
            lines = output[scanned:end].decode(errors="replace")
            scanned = end
            if before is None and window[0] in lines:
                t0, before = time.monotonic(), cpu_snapshot(server, watched)
                load0 = proc_cpu_seconds(proc.pid) or 0.0
            if before is not None and after is None and window[1] in lines:
                t1, after = time.monotonic(), cpu_snapshot(server, watched)
                load1 = proc_cpu_seconds(proc.pid) or 0.0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() > deadline:
                raise MeasurementFailed(f"{tool} did not exit within {timeout:.0f}s")
            time.sleep(0.02)
    except BaseException:
        stop_process(proc, timeout=2)
        raise
    finally:
        proc.stdout.close()
    text = output.decode(errors="replace")
    if proc.returncode != 0:
        raise MeasurementFailed(f"{tool} exited with {proc.returncode}: " + text.strip()[-300:])
    if window is None:
        t1, after = time.monotonic(), cpu_snapshot(server, watched)
        load1 = usage.ru_utime + usage.ru_stime
    if before is None or after is None:
        assert window is not None  # without a window both edges are taken here
        missing = window[0] if before is None else window[1]
        raise MeasurementFailed(f"{tool} never printed {missing!r}: " + text.strip()[-300:])
    wall = t1 - t0
    if wall <= 0:
        raise MeasurementFailed(f"{tool} measured an empty window")
    shares = cpu_shares(before, after, wall, server.cpu if server else None)
    return LoadRun(text, wall, (load1 - load0) / wall, shares)


# --------------------------------------------------------------------------- the lock


def acquire_machine_lock(wait: float, holder_note: str = "") -> IO[str] | None:
    """Hold an exclusive flock for the whole run; None if another benchmark keeps it.

    The lock file names its holder: this process's PID, then ``holder_note``.
    """
    handle = LOCK_PATH.open("a+")
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                handle.seek(0)
                holder = handle.read().strip() or "?"
                handle.close()
                print(
                    f"error: another benchmark (pid {holder}) is running on this machine; its "
                    f"servers and load use the same cores (use --wait-lock SECONDS to queue)",
                    file=sys.stderr,
                )
                return None
            time.sleep(1)
            continue
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}{holder_note}\n")
        handle.flush()
        return handle
