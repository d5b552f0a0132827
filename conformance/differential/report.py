"""The differential run's reports: ``differential.json``, ``.md`` and ``.html``.

One model (:class:`Result`) and three renderings: JSON for machines and baselines (a
top-level ``clusters`` list, most interesting first, plus the run's metadata), Markdown
for a pull request, and a self-contained HTML page in the comparison page's style
(:mod:`conformance.report._html_syntax`: the same stylesheet and escaping). Bytes from the
wire are shown escaped (``\\r``, ``\\x00``) so a reader sees exactly what was sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.differential.cluster import CLASS_ORDER, Cluster
from conformance.differential.generate import PLACEHOLDER
from conformance.rawhttp import render_transcript
from conformance.report import _markdown_syntax as md
from conformance.report._html_syntax import CSS, esc

KIND = "asgi-conformance-differential"
SCHEMA = 1
BASENAME = "differential"
CLASS_TEXT = {
    "desync": "accepted by several servers, but the app saw different messages "
              "(request count or body): the request smuggling class",
    "crash": "a server process died",
    "divergent": "accepted alike, but the app saw different fields, target or method",
    "split": "some servers refused what others accepted",
    "minor": "every server did the same with the message; the wire answer differs",
}
_CLASS_STYLE = {"desync": "v-fail", "crash": "v-error", "divergent": "v-non-strict",
                "split": "v-non-strict", "minor": "v-na"}


@dataclass
class ServerRun:
    name: str
    version: str
    command: str
    crashes: int = 0
    problem: str = ""


@dataclass
class Result:
    """Everything a differential run found."""

    seed: int
    protocol: str
    servers: list[ServerRun]
    clusters: list[Cluster]
    cases_run: int = 0
    agreed: int = 0
    count: int | None = None
    budget: float | None = None
    duration: float = 0.0
    stopped: str = "count"
    """Why generation ended: ``count`` reached, ``budget`` spent, or ``interrupted``."""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        counts = {kind: sum(c.kind == kind for c in self.clusters) for kind in CLASS_ORDER}
        return {
            "kind": KIND, "schema": SCHEMA, "seed": self.seed, "protocol": self.protocol,
            "count": self.count, "time_budget": self.budget,
            "duration": round(self.duration, 1), "stopped": self.stopped,
            "cases_run": self.cases_run, "cases_agreed": self.agreed,
            "servers": [vars(s) for s in self.servers],
            "classes": counts, "clusters": [c.to_json() for c in self.clusters],
            **self.extra,
        }


def show_bytes(data: bytes | str, limit: int = 4096) -> str:
    """Bytes as readable text (escapes, a line break after each ``\\n``), the probe id
    placeholder shown as ``<probe-id>``."""
    raw = data.encode("latin-1") if isinstance(data, str) else data
    raw = raw.replace(PLACEHOLDER, b"<probe-id>")
    return render_transcript([("sent", 0.0, raw)], limit)[0]


def _servers_text(cluster: Cluster) -> str:
    return " vs ".join(f"{'+'.join(g)} ({label})"
                       for g, label in zip(cluster.groups, cluster.labels, strict=True))


def _strict_text(cluster: Cluster) -> str:
    if cluster.strict is None:
        return "undecided"
    strict = [n for n, ok in cluster.strict_servers().items() if ok]
    return f"{cluster.strict}: " + (", ".join(sorted(strict)) or "none")


# --- Markdown ----------------------------------------------------------------------------


def render_markdown(result: Result) -> str:
    data = result.to_json()
    lines = ["# Differential run", "",
             f"Seed {result.seed}, protocol {result.protocol}, {result.cases_run} cases "
             f"({result.agreed} where every server agreed), {result.duration:.0f} s, "
             f"stopped by {result.stopped}.", ""]
    lines.append(md.table(["server", "version", "crashes"],
                          [[md.escape(s.name), md.escape(s.version), str(s.crashes)]
                           for s in result.servers], numeric_from=2))
    lines += ["", "## Clusters", ""]
    if not result.clusters:
        lines.append("No disagreement found.")
    rows = []
    for rank, cluster in enumerate(result.clusters, 1):
        ruling = cluster.rulings[0].reference if cluster.rulings else ""
        rows.append([str(rank), md.code(cluster.id, True), cluster.kind,
                     md.escape(_servers_text(cluster)), str(cluster.count),
                     md.escape(", ".join(cluster.families)), md.escape(ruling),
                     md.escape(_strict_text(cluster))])
    if rows:
        lines.append(md.table(["#", "id", "class", "servers", "cases", "families", "RFC",
                               "strict reading (servers that follow it)"], rows))
    for rank, (cluster, entry) in enumerate(zip(result.clusters, data["clusters"],
                                                strict=True), 1):
        lines += ["", f"### {rank}. {cluster.kind} `{cluster.id}`", "",
                  f"{CLASS_TEXT[cluster.kind]}. Mutations: "
                  + md.escape(", ".join(cluster.example.mutations))
                  + f"; {cluster.count} case(s).", ""]
        for rule in cluster.rulings:
            lines.append(f"- {md.escape(rule.reference)} ({md.escape(rule.mutation)}, "
                         f"strict: {rule.strict}): \"{md.escape(rule.quote)}\"")
        if entry["differences"]:
            lines.append("- The app's views differ in: "
                         + md.escape("; ".join(entry["differences"])))
        shrunk = "shrunk" if entry["shrunk"] else "not shrunk"
        lines += ["", f"Reproducer ({shrunk}, {cluster.shrink_runs} re-runs):", "",
                  md.fence(show_bytes(entry["reproducer"])), ""]
        lines.append(md.table(["server", "interpretation", "app saw"],
                              [[md.escape(name), md.escape(view["summary"]),
                                md.escape(_app_text(view))]
                               for name, view in entry["views"].items()]))
    return "\n".join(lines) + "\n"


def _app_text(view: dict[str, Any]) -> str:
    parts = []
    for req in view["app"]:
        if "kind" in req:  # a WebSocket message
            parts.append(f"{req['kind']} {req['body'][:60]!r}")
            continue
        body = "incomplete" if req["body"] is None else repr(req["body"])
        parts.append(f"{req['method']} {req['raw_target']} HTTP/{req['http_version']} "
                     f"({len(req['headers'])} fields, body {body})")
    return "; ".join(parts) or "nothing"


# --- HTML --------------------------------------------------------------------------------

_EXTRA_CSS = """
td.bytes { font-family: ui-monospace, monospace; white-space: pre-wrap; }
section.cluster { border-top: 1px solid #d0d7de; margin-top: 1.5rem; }
"""


def render_html(result: Result) -> str:
    data = result.to_json()
    out = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
           "<title>Differential run</title>", f"<style>{CSS}{_EXTRA_CSS}</style></head><body>",
           "<h1>Differential run</h1>", "<dl class='info'>"]
    info = [("seed", str(result.seed)), ("protocol", result.protocol),
            ("cases", f"{result.cases_run} ({result.agreed} agreed)"),
            ("duration", f"{result.duration:.0f} s, stopped by {result.stopped}"),
            ("servers", ", ".join(f"{s.name} {s.version}" for s in result.servers))]
    out += [f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in info]
    out.append("</dl><h2>Clusters</h2>")
    if not result.clusters:
        out.append("<p>No disagreement found.</p>")
    else:
        out.append("<table><thead><tr><th>#</th><th>id</th><th>class</th><th>servers</th>"
                   "<th>cases</th><th>families</th><th>RFC</th><th>strict reading</th>"
                   "</tr></thead><tbody>")
        for rank, cluster in enumerate(result.clusters, 1):
            ruling = cluster.rulings[0].reference if cluster.rulings else ""
            out.append(
                f"<tr><td>{rank}</td><td><a href='#c-{cluster.id}'><code>{cluster.id}</code>"
                f"</a></td><td><span class='badge {_CLASS_STYLE[cluster.kind]}'>"
                f"{esc(cluster.kind)}</span></td><td>{esc(_servers_text(cluster))}</td>"
                f"<td>{cluster.count}</td><td>{esc(', '.join(cluster.families))}</td>"
                f"<td>{esc(ruling)}</td><td>{esc(_strict_text(cluster))}</td></tr>")
        out.append("</tbody></table>")
    for rank, (cluster, entry) in enumerate(zip(result.clusters, data["clusters"],
                                                strict=True), 1):
        out += [f"<section class='cluster' id='c-{cluster.id}'>",
                f"<h3>{rank}. <span class='badge {_CLASS_STYLE[cluster.kind]}'>"
                f"{esc(cluster.kind)}</span> <code>{cluster.id}</code></h3>",
                f"<p>{esc(CLASS_TEXT[cluster.kind])}. Mutations: "
                f"{esc(', '.join(cluster.example.mutations))}; {cluster.count} case(s).</p>"]
        for rule in cluster.rulings:
            out.append(f"<h4>{esc(rule.reference)} ({esc(rule.mutation)}, strict: "
                       f"{esc(rule.strict)})</h4><blockquote>{esc(rule.quote)}"
                       "</blockquote>")
        if entry["differences"]:
            out.append(f"<p>The app's views differ in: "
                       f"{esc('; '.join(entry['differences']))}</p>")
        shrunk = "shrunk" if entry["shrunk"] else "not shrunk"
        out.append(f"<h4>Reproducer ({shrunk}, {cluster.shrink_runs} re-runs)</h4>"
                   f"<pre>{esc(show_bytes(entry['reproducer']))}</pre>")
        out.append("<table><thead><tr><th>server</th><th>interpretation</th>"
                   "<th>app saw</th><th>wire</th></tr></thead><tbody>")
        for name, view in entry["views"].items():
            out.append(f"<tr><td>{esc(name)}</td><td>{esc(view['summary'])}</td>"
                       f"<td>{esc(_app_text(view))}</td>"
                       f"<td class='bytes'>{esc(show_bytes(view['raw'], 600))}</td></tr>")
        out.append("</tbody></table></section>")
    out.append("</body></html>")
    return "\n".join(out)


def write_reports(result: Result, report_dir: Path) -> dict[str, Path]:
    report_dir.mkdir(parents=True, exist_ok=True)
    paths = {ext: report_dir / f"{BASENAME}.{ext}" for ext in ("json", "md", "html")}
    paths["json"].write_text(json.dumps(result.to_json(), indent=1) + "\n", encoding="utf-8")
    paths["md"].write_text(render_markdown(result), encoding="utf-8")
    paths["html"].write_text(render_html(result), encoding="utf-8")
    return paths


# --- baselines ---------------------------------------------------------------------------

BASELINE_KIND = "asgi-conformance-differential-baseline"


class BaselineError(Exception):
    """The baseline file is unusable; the message is for the user as is."""


def write_baseline(result: Result, path: Path) -> None:
    data = {"kind": BASELINE_KIND, "schema": SCHEMA, "seed": result.seed,
            "clusters": {c.id: f"{c.kind}: {_servers_text(c)} [{', '.join(c.families)}]"
                         for c in result.clusters}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def read_baseline(path: Path) -> set[str]:
    """The cluster ids a baseline file lists (written by ``--write-baseline``, or a plain
    JSON list of ids, or a ``differential.json`` report)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"--baseline {path}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise BaselineError(f"--baseline {path}: not JSON: {exc}") from None
    if isinstance(data, list) and all(isinstance(i, str) for i in data):
        return set(data)
    if isinstance(data, dict) and data.get("kind") == BASELINE_KIND \
            and isinstance(data.get("clusters"), dict):
        return set(data["clusters"])
    if isinstance(data, dict) and data.get("kind") == KIND \
            and isinstance(data.get("clusters"), list):
        return {c["id"] for c in data["clusters"] if isinstance(c, dict) and "id" in c}
    raise BaselineError(f"--baseline {path}: not a differential baseline (expected "
                        f"kind {BASELINE_KIND!r}, a list of cluster ids, or a "
                        f"{BASENAME}.json report)")
