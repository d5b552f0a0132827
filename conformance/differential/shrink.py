"""Minimal reproducers: shrink a cluster's example while its behaviour holds.

The example that opened a cluster carries the seed request's every header and the
mutation's context; a reader wants the few bytes that make the servers disagree. The
shrinker deletes whole lines first (a header, a chunk, a pipelined request), then ever
smaller byte ranges (delta debugging), re-running each candidate on every server and
keeping it only when the same :class:`~conformance.differential.cluster.Behaviour`
comes back and every server's reading keeps its shape (outcome, the requests' methods
and targets, the wire statuses), so the reproducer shows the same disagreement for the
same reason. The probe id line is never touched: without it the app's records could not
be found. The number of re-runs is bounded; whatever is smallest when the bound is
reached is the reproducer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

from conformance.differential.cluster import Cluster, behaviour
from conformance.differential.generate import PLACEHOLDER, Case
from conformance.differential.run import Interpretation

RunCase = Callable[[Case], dict[str, Interpretation]]
MAX_RUNS = 25


def _protected(data: bytes) -> range:
    """The byte range of the (first) probe id line, which no candidate may cut into."""
    at = data.find(PLACEHOLDER)
    if at < 0:
        return range(0)
    start = data.rfind(b"\n", 0, at) + 1
    end = data.find(b"\n", at)
    return range(start, len(data) if end < 0 else end + 1)


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def line_candidates(data: bytes) -> Iterator[bytes]:
    """``data`` without one line (probe id lines kept), last lines first: trailing
    requests and body lines go before the head."""
    lines = _lines(data)
    for i in reversed(range(len(lines))):
        if PLACEHOLDER in lines[i]:
            continue
        yield b"".join(lines[:i] + lines[i + 1:])


def range_candidates(data: bytes, parts: int) -> Iterator[bytes]:
    """``data`` without one of ``parts`` equal ranges, ranges touching the probe id
    line excluded."""
    keep = _protected(data)
    size = max(1, len(data) // parts)
    for start in range(0, len(data), size):
        end = min(len(data), start + size)
        if keep and start < keep.stop and end > keep.start:
            continue
        yield data[:start] + data[end:]


def shrink(cluster: Cluster, run: RunCase, max_runs: int = MAX_RUNS) -> None:
    """Shrink ``cluster.example`` in place of ``cluster.reproducer`` (bounded re-runs).

    The example is re-run first: a behaviour that does not come back (timing, a flaky
    server) is left unshrunk rather than shrunk towards another behaviour.
    """
    target = cluster.behaviour()
    shapes = {name: view.shape() for name, view in cluster.views.items()}
    runs = 0

    def holds(case: Case) -> dict[str, Interpretation] | None:
        """The new views when the candidate keeps the behaviour and every server's
        :meth:`~conformance.differential.run.Interpretation.shape`."""
        nonlocal runs
        runs += 1
        views = run(case)
        if behaviour(views) != target:
            return None
        if any(view.shape() != shapes.get(name) for name, view in views.items()):
            return None
        return views

    case = cluster.example
    views = holds(case)
    if views is None:
        cluster.shrink_runs = runs
        return
    if case.splits:
        unsplit = replace(case, splits=())
        found = holds(unsplit)
        if found is not None:
            case, views = unsplit, found
    def first_holding(candidates: Iterator[bytes]) -> bool:
        """Take the first candidate that keeps the behaviour; False if none does."""
        nonlocal case, views
        for candidate in candidates:
            if runs >= max_runs:
                return False
            trial = replace(case, data=candidate)
            found = holds(trial)
            if found is not None:
                case, views = trial, found
                return True
        return False

    while runs < max_runs and first_holding(line_candidates(case.data)):
        pass
    parts = 2
    while runs < max_runs and parts <= len(case.data):
        if not first_holding(range_candidates(case.data, parts)):
            parts *= 2
    cluster.reproducer = case.data
    cluster.reproducer_views = views
    cluster.shrink_runs = runs
