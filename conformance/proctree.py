"""Process trees from ``/proc``: a server may serve from child processes (hypercorn's and
gunicorn's workers), so whatever is measured of it (memory in the h2 flood cases, CPU
time and stopping in ``bench/``) must cover them too. Children are named by (pid,
starttime), so a reused PID is not mistaken for one of them. Linux only, like the rest of
what reads ``/proc``.
"""

from __future__ import annotations

import os
from pathlib import Path


def process_table() -> dict[int, tuple[int, str]]:
    """pid -> (ppid, starttime) for every live process (zombies left out)."""
    table: dict[int, tuple[int, str]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        if fields[0] == "Z":
            continue
        table[int(entry.name)] = (int(fields[1]), fields[19])
    return table


def descendants(pid: int) -> dict[int, str]:
    """Live descendants of ``pid`` as pid -> starttime (to notice PID reuse)."""
    table = process_table()
    children: dict[int, list[int]] = {}
    for child, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(child)
    out: dict[int, str] = {}
    todo = list(children.get(pid, []))
    while todo:
        p = todo.pop()
        out[p] = table[p][1]
        todo.extend(children.get(p, []))
    return out


def alive(pid: int, starttime: str) -> bool:
    """Whether ``pid`` is still the process that started at ``starttime``."""
    entry = process_table().get(pid)
    return entry is not None and entry[1] == starttime
