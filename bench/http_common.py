"""What the HTTP benchmarks share: the servers' commands, the request body, the right answers.

``bench.http_bench`` (HTTP/1.1, wrk) and ``bench.h2_bench`` (HTTP/2, h2load) load the same
app (``bench.apps:app``) with the same requests, and check every server with the same two
requests before timing it; each picks its servers from :data:`COMMANDS`. ``bench.instructions``
replays the same POST body.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from bench.apps import HELLO_BODY
from bench.machine import HOST

# Command templates; "{port}" is replaced. Each runs with the repository root as cwd.
COMMANDS: dict[str, list[str]] = {
    "reference": [
        sys.executable, "-m", "reference_server", "bench.apps:app",
        "--host", HOST, "--port", "{port}",
        "--no-access-log", "--log-level", "warning", "--loop", "uvloop",
    ],
    "reference-asyncio": [
        sys.executable, "-m", "reference_server", "bench.apps:app",
        "--host", HOST, "--port", "{port}",
        "--no-access-log", "--log-level", "warning", "--loop", "asyncio",
    ],
    "uvicorn": [
        sys.executable, "-m", "uvicorn", "bench.apps:app",
        "--host", HOST, "--port", "{port}", "--loop", "uvloop", "--http", "httptools",
        "--no-access-log", "--lifespan", "on", "--log-level", "warning",
    ],
    "uvicorn-h11": [
        sys.executable, "-m", "uvicorn", "bench.apps:app",
        "--host", HOST, "--port", "{port}", "--loop", "uvloop", "--http", "h11",
        "--no-access-log", "--lifespan", "on", "--log-level", "warning",
    ],
    # h2c (prior knowledge) and HTTP/1.1 on the same port by default; one worker process.
    "hypercorn": [
        sys.executable, "-m", "hypercorn", "bench.apps:app",
        "-b", f"{HOST}:{{port}}", "-k", "uvloop", "--log-level", "warning",
    ],
    # gunicorn 27's ASGI worker (one by default) with its pure-Python HTTP/1.1 parser
    # (its default is the gunicorn_h1c C parser whenever that package is installed), HTTP/2
    # offered first and h2c accepted both with prior knowledge and by upgrade.
    "gunicorn": [
        sys.executable, "-m", "gunicorn", "-k", "asgi", "--http-parser", "python",
        "--http-protocols", "h2,h1", "--http2-cleartext", "both",
        "--bind", f"{HOST}:{{port}}", "--log-level", "warning", "bench.apps:app",
    ],
    # Rust (hyper); --http auto answers HTTP/1.1 and h2c with prior knowledge; one worker.
    "granian": [
        sys.executable, "-m", "granian", "--interface", "asgi", "--http", "auto",
        "--host", HOST, "--port", "{port}", "--log-level", "warning", "bench.apps:app",
    ],
}  # fmt: skip


def commands(*names: str) -> dict[str, list[str]]:
    """The command templates of ``names``, in that order (a benchmark's known servers)."""
    return {name: COMMANDS[name] for name in names}


def make_json_body(size: int = 1024) -> bytes:
    """A JSON document of exactly ``size`` bytes: a list of small records, padded."""
    items: list[dict[str, Any]] = []
    doc = b""
    i = 0
    while True:
        candidate = [*items, {"id": i, "name": f"item-{i}", "tags": ["a", "b"], "v": i * 1.5}]
        encoded = json.dumps({"items": candidate, "pad": ""}, separators=(",", ":")).encode()
        if len(encoded) > size:
            break
        items, doc, i = candidate, encoded, i + 1
    pad = "x" * (size - len(doc))
    doc = json.dumps({"items": items, "pad": pad}, separators=(",", ":")).encode()
    assert len(doc) == size, len(doc)
    return doc


# The body of every POST /json: 1 KB of JSON, which the app parses.
POST_BODY = make_json_body(1024)


def wrong_answer(path: str, status: int, body: bytes) -> str | None:
    """What is wrong with the app's answer to the sanity request of ``path`` (``GET /``
    or ``POST /json`` with :data:`POST_BODY`), or None when it is right."""
    if path == "/":
        right = status == 200 and body == HELLO_BODY
    else:
        try:
            right = status == 200 and json.loads(body) == {"ok": True, "n": len(POST_BODY)}
        except ValueError:
            right = False
    return None if right else f"answered {status} {body[:60]!r}"
