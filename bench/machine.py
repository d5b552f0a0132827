"""What a benchmark needs from the machine: pinned servers, CPU accounting, one run at a time.

Both drivers (``bench.http_bench``, ``bench.ws_bench``) measure a server pinned to one
core while the load runs on another, and both must know how much CPU the server really
got and how much the hypervisor stole: on a shared VM those, not the servers, can decide
a run. This module holds that machinery:

* :class:`PinnedServer`: a server process started under ``taskset`` on a free port, with
  its output in a log file, waited for (bounded) and checked before it is measured;
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
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, NamedTuple

STARTUP_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
HOST = "127.0.0.1"
# Two benchmarks pinned to the same cores would measure each other: one at a time per machine.
LOCK_PATH = Path(tempfile.gettempdir()) / "asgi-conformance-http-bench.lock"


class ServerFailed(Exception):
    """The server did not start, or did not answer the sanity requests correctly."""


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
    not timed.
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
        return proc_cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        stop_process(self.proc)
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
                    f"error: another http_bench (pid {holder}) is running on this machine; its "
                    f"servers and wrk use the same cores (use --wait-lock SECONDS to queue)",
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
