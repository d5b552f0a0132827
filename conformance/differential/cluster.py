"""Signatures of disagreement, clusters of cases that share one, and their ranking.

For one case, the servers are partitioned by their interpretation
(:meth:`~conformance.differential.run.Interpretation.coarse`, then ``fine``). The
*behaviour* of the case is the class of the disagreement plus that partition:

``desync``     servers accepted the bytes but the app saw a different number of
               requests or different bodies: they disagree on where messages end, the
               request smuggling class (RFC 9112 §11.2). Ranked first.
``crash``      a server process died on the bytes.
``divergent``  servers accepted the same messages but the app saw different methods,
               targets, versions or fields.
``split``      some servers refused what others accepted; ranked by how close the
               mutation is to message framing, where leniency turns into desync.
``minor``      no server served the bytes (refused, or still waiting for more), or all
               served them alike, but the wire differs: 400 vs 413 vs 431, a close
               without a response vs a 400, an extra response.

A cluster is one behaviour for one set of mutation families: its id is a hash of both,
so the same disagreement found again (another seed, another day) has the same id, and
a baseline of ids can gate CI.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance.differential import ws
from conformance.differential.generate import PLACEHOLDER, Case
from conformance.differential.rfc import Ruling, rulings, strict_outcome
from conformance.differential.run import Interpretation

CLASS_ORDER = ("desync", "crash", "divergent", "split", "minor")
FRAMING_FAMILIES = frozenset({"framing", "te", "cl", "chunk", "eol", "fold", "trailer",
                              "split", "conn"})
"""Families whose mutations touch where a message ends: a split there is one lenient
server away from a desync, so it ranks above other splits."""

Partition = tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Behaviour:
    """The class of a disagreement and which servers stood together."""

    kind: str
    groups: Partition
    """Servers grouped by interpretation, each group sorted, groups sorted."""
    labels: tuple[str, ...]
    """One label per group: its outcome, or its wire summary for ``minor``."""


def _partition(views: Mapping[str, Interpretation], key: str,
               ) -> tuple[Partition, tuple[str, ...]]:
    groups: dict[Any, list[str]] = {}
    for name, view in views.items():
        groups.setdefault(getattr(view, key)(), []).append(name)
    ordered = sorted(tuple(sorted(names)) for names in groups.values())
    labels = []
    for names in ordered:
        view = views[names[0]]
        labels.append(view.summary() if key == "fine" else view.outcome)
    return tuple(ordered), tuple(labels)


def behaviour(views: Mapping[str, Interpretation]) -> Behaviour | None:
    """The disagreement in one case's interpretations, or None when all agree."""
    coarse, labels = _partition(views, "coarse")
    if len(coarse) > 1:
        firsts = [views[g[0]] for g in coarse]
        accepted = [v for v in views.values() if v.outcome == "accepted"]
        if any(v.crashed for v in firsts):
            kind = "crash"
        elif sum(v.outcome == "accepted" for v in firsts) > 1:
            kind = _accepted_kind(accepted)
        elif accepted:
            kind = "split"
        else:
            kind = "minor"  # refused or waiting alike: no server served the bytes
        return Behaviour(kind, coarse, labels)
    fine, labels = _partition(views, "fine")
    if len(fine) > 1:
        return Behaviour("minor", fine, labels)
    return None


def _bodies(view: Interpretation) -> tuple[str | None, ...]:
    return tuple(getattr(r, "body", None) for r in view.settled)


def _accepted_kind(accepted: Sequence[Interpretation]) -> str:
    """Several different readings that each served something.

    A server whose requests are the start of another's and that then answered an error
    or closed stopped where the other went on (a bad pipelined request it refused, an
    HTTP/1.0 connection it closed): a ``split`` on the later request, not another
    reading. Among the rest, a different number of requests or different bodies is a
    ``desync``; the same messages with other fields, target or method ``divergent``.
    """
    shapes = [_bodies(v) for v in accepted]
    core = [v for v, shape in zip(accepted, shapes, strict=True) if not (
        v.refused and any(len(other) > len(shape) and other[:len(shape)] == shape
                          for other in shapes))]
    if len({_bodies(v) for v in core}) > 1:
        return "desync"
    if len(core) < len(accepted):
        return "split"
    return "divergent"


def differences(views: Mapping[str, Interpretation]) -> list[str]:
    """What differs between the app's views of the servers that served the bytes, one
    short line per item (``request 1 body``, ``request 1 field transfer-encoding``)."""
    served = [v.settled for v in views.values() if v.outcome == "accepted"]
    if len(served) < 2:
        return []
    out: list[str] = []
    if len({len(app) for app in served}) > 1:
        out.append("number of requests/messages: "
                   + " vs ".join(sorted({str(len(app)) for app in served})))
    for index in range(min(len(app) for app in served)):
        items = [app[index] for app in served]
        for attr in ("method", "raw_target", "path", "http_version", "body", "kind"):
            if len({getattr(item, attr, None) for item in items}) > 1:
                out.append(f"request {index + 1} {attr}")
        fields = [dict(_grouped(getattr(item, "headers", ()))) for item in items]
        for name in sorted({n for f in fields for n in f}):
            if len({f.get(name) for f in fields}) > 1:
                out.append(f"request {index + 1} field {name}")
    return out


def _grouped(headers: Sequence[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    grouped: dict[str, tuple[str, ...]] = {}
    for name, value in headers:
        grouped[name] = (*grouped.get(name, ()), value)
    return grouped


def cluster_id(kind: str, families: Sequence[str], groups: Partition) -> str:
    text = json.dumps([kind, list(families), [list(g) for g in groups]])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass
class Cluster:
    id: str
    kind: str
    families: tuple[str, ...]
    groups: Partition
    labels: tuple[str, ...]
    example: Case
    views: dict[str, Interpretation]
    cases: list[int] = field(default_factory=list)
    mutations: set[str] = field(default_factory=set)
    reproducer: bytes | None = None
    """The shrunk bytes (probe id placeholder in place), when shrinking kept the
    behaviour; the example's bytes otherwise."""
    reproducer_views: dict[str, Interpretation] | None = None
    shrink_runs: int = 0

    @property
    def count(self) -> int:
        return len(self.cases)

    @property
    def rulings(self) -> list[Ruling]:
        return rulings(self.example.mutations)

    @property
    def strict(self) -> str | None:
        """What a strict server does with the example (``reject``/``accept``/None)."""
        return strict_outcome(self.example.mutations)

    def strict_servers(self) -> dict[str, bool | None]:
        """Per server: did it do what the strict reading says (None: undecided)."""
        strict = self.strict
        views = self.reproducer_views or self.views
        if strict is None:
            return {name: None for name in views}
        # A message after a pipelined one that was served is refused by an error
        # answer, though the app saw the first: judge the refusal, not the outcome.
        # A server still waiting for the rest of a head has not decided yet. For
        # WebSocket, a valid message followed by a bad frame is delivered and then the
        # connection failed: the close code is not what "accept" is about.
        if strict == "accept" and self.example.protocol == "ws":
            return {name: None if view.outcome == "waiting" else view.outcome == "accepted"
                    for name, view in views.items()}
        if strict == "accept":
            # Accepting is judged on the messages the case holds: an error answer to
            # bytes left over after all of them were served (a body the strict reading
            # does not frame, read as the next request-line) is no refusal of the case.
            # The example's views, since a shrunk reproducer may hold fewer requests.
            wanted = self.example.requests
            return {name: None if view.outcome == "waiting" else
                    view.outcome == "accepted" and (
                        not view.errored or view.complete_requests >= wanted)
                    for name, view in self.views.items()}
        return {name: None if view.outcome == "waiting" else
                view.outcome == "rejected" or view.errored for name, view in views.items()}

    @property
    def interest(self) -> tuple[int, int, int, str]:
        """Sort key, most interesting first: class, framing-related, count, id."""
        framing = 0 if FRAMING_FAMILIES & set(self.families) else 1
        return (CLASS_ORDER.index(self.kind), framing, -self.count, self.id)

    def behaviour(self) -> Behaviour:
        return Behaviour(self.kind, self.groups, self.labels)

    def reproducer_bytes(self) -> bytes:
        """The bytes to send, probe id placeholder in place: the shrunk ones when
        shrinking kept the behaviour, else the example's; for WebSocket, the opening
        handshake then the frames."""
        data = self.reproducer or self.example.data
        return ws.handshake(PLACEHOLDER) + data if self.example.protocol == "ws" else data

    def to_json(self) -> dict[str, Any]:
        views = self.reproducer_views or self.views
        return {
            "id": self.id, "class": self.kind, "families": list(self.families),
            "mutations": sorted(self.mutations), "count": self.count,
            "cases": self.cases[:50],
            "groups": [{"servers": list(g), "interpretation": label}
                       for g, label in zip(self.groups, self.labels, strict=True)],
            "example": {"index": self.example.index, "seed": self.example.seed,
                        "mutations": list(self.example.mutations),
                        "bytes": self.example.data.decode("latin-1"),
                        "splits": list(self.example.splits)},
            "protocol": self.example.protocol,
            "reproducer": self.reproducer_bytes().decode("latin-1"),
            "shrunk": self.reproducer is not None,
            "shrink_runs": self.shrink_runs,
            "views": {name: view.to_json() for name, view in views.items()},
            "differences": differences(views),
            "rfc": [r.to_json() for r in self.rulings],
            "strict": self.strict,
            "strict_servers": self.strict_servers(),
        }


class Clusters:
    """Cases folded into clusters as they come."""

    def __init__(self) -> None:
        self.by_id: dict[str, Cluster] = {}
        self.agreed = 0
        self.seeds: dict[str, Behaviour | None] = {}
        """How the servers disagreed on each seed unmutated (``seed/NAME`` cases)."""

    def add(self, case: Case, views: dict[str, Interpretation]) -> Cluster | None:
        found = behaviour(views)
        if case.families in (("seed",), ("ws-seed",)):
            self.seeds[case.seed] = found
        if found is None:
            self.agreed += 1
            return None
        families = case.families
        if found == self.seeds.get(case.seed):
            # The servers disagree here exactly as on the unmutated seed: the seed's
            # disagreement, not the mutation's (e.g. a trailer merged into the headers,
            # whatever else the case changed).
            families = ("ws-seed",) if case.protocol == "ws" else ("seed",)
        ident = cluster_id(found.kind, families, found.groups)
        cluster = self.by_id.get(ident) or self._covering(found, families)
        if cluster is None:
            cluster = Cluster(ident, found.kind, families, found.groups, found.labels,
                              case, views)
            self.by_id[ident] = cluster
        cluster.cases.append(case.index)
        cluster.mutations.update(case.mutations)
        return cluster

    def _covering(self, found: Behaviour, families: Sequence[str]) -> Cluster | None:
        """A cluster with the same behaviour whose families are a part of ``families``:
        a case with two mutations that behaves like one of them alone belongs there
        (the other mutation is a bystander), the largest such cluster first."""
        matches = [c for c in self.by_id.values()
                   if c.behaviour() == found and set(c.families) < set(families)]
        return max(matches, key=lambda c: (c.count, c.id), default=None)

    def ranked(self) -> list[Cluster]:
        return sorted(self.by_id.values(), key=lambda c: c.interest)

